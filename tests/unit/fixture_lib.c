/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A shared library with known functions: the fixture for test_elf_symbols. */
#include <stddef.h>

const char fixture_banner[] = "FixtureLib notaversion, FixtureLib 1.2.3 (test build)";

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
