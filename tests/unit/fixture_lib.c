/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A shared library with known functions: the fixture for test_elf_symbols. */
#include <stddef.h>

const char fixture_banner[] = "FixtureLib notaversion, FixtureLib 1.2.3 (test build)";
/* Bare versions as GnuTLS keeps its own: only the one standing alone is a version. */
const char fixture_versions[] = "see 7.0.1 below\0" "7.8.9x\0" "7.10.2";

__attribute__((noinline)) int fixture_alpha(int x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) long fixture_beta(long a, long b)
{
	return a ^ (b << 2);
}

/* Only in .symtab: exported functions are in .dynsym too, this one is not. */
__attribute__((noinline, visibility("hidden"))) int fixture_hidden(int x)
{
	return x - 7;
}

void *fixture_hidden_address(void)
{
	return (void *)fixture_hidden;
}
