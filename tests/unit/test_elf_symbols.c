/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * elf_find_functions() against the loader: the file offset it computes for a
 * function must be where the dynamic linker mapped that function from.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf_symbols.h"

#include "check.h"

/* Returns the file offset @addr was mapped from (per /proc/self/maps), or 0. */
static uint64_t mapped_file_offset(const void *addr)
{
	char line[512];
	FILE *maps = fopen("/proc/self/maps", "r");
	uint64_t result = 0;

	while (maps && fgets(line, sizeof(line), maps)) {
		unsigned long start, end, off;

		if (sscanf(line, "%lx-%lx %*s %lx", &start, &end, &off) == 3 &&
		    (uintptr_t)addr >= start && (uintptr_t)addr < end)
			result = (uintptr_t)addr - start + off;
	}
	if (maps)
		fclose(maps);
	return result;
}

/* Returns 1 when @len bytes at file offset @off of @path equal @mem. */
static int file_bytes_equal(const char *path, uint64_t off, const void *mem, size_t len)
{
	unsigned char buf[64];
	FILE *f = fopen(path, "rb");
	int same;

	if (!f || fseek(f, (long)off, SEEK_SET) || fread(buf, 1, len, f) != len) {
		if (f)
			fclose(f);
		return 0;
	}
	fclose(f);
	same = !memcmp(buf, mem, len);
	return same;
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f || fwrite(data, 1, len, f) != len) {
		perror(path);
		exit(1);
	}
	fclose(f);
}

static void test_against_loader(const char *lib)
{
	struct elf_symbol_query q[] = {
		{ .name = "fixture_alpha" }, { .name = "fixture_beta" },
		{ .name = "fixture_hidden" }, { .name = "no_such_function" },
	};
	void *handle = dlopen(lib, RTLD_NOW);
	void *(*hidden_address)(void);
	void *alpha, *beta, *hidden;
	int found;

	CHECK(handle != NULL, "dlopen %s: %s", lib, dlerror());
	if (!handle)
		return;
	alpha = dlsym(handle, "fixture_alpha");
	beta = dlsym(handle, "fixture_beta");
	hidden_address = (void *(*)(void))dlsym(handle, "fixture_hidden_address");
	hidden = hidden_address();

	found = elf_find_functions(lib, q, 4);
	CHECK(found == 3, "found %d symbols, want 3", found);
	CHECK(q[0].file_offset == mapped_file_offset(alpha), "alpha at %#lx, loader says %#lx",
	      (unsigned long)q[0].file_offset, (unsigned long)mapped_file_offset(alpha));
	CHECK(q[1].file_offset == mapped_file_offset(beta), "beta at %#lx, loader says %#lx",
	      (unsigned long)q[1].file_offset, (unsigned long)mapped_file_offset(beta));
	CHECK(q[2].file_offset == mapped_file_offset(hidden), "hidden at %#lx, loader says %#lx",
	      (unsigned long)q[2].file_offset, (unsigned long)mapped_file_offset(hidden));
	CHECK(q[0].size > 0 && q[1].size > 0, "sizes %lu %lu", (unsigned long)q[0].size,
	      (unsigned long)q[1].size);
	CHECK(q[3].file_offset == 0, "a missing symbol got offset %#lx",
	      (unsigned long)q[3].file_offset);
	CHECK(file_bytes_equal(lib, q[0].file_offset, alpha, 16),
	      "the file bytes at alpha's offset differ from its code in memory");
	CHECK(file_bytes_equal(lib, q[1].file_offset, beta, 16),
	      "the file bytes at beta's offset differ from its code in memory");
	dlclose(handle);
}

static void test_version_banner(const char *lib)
{
	char banner[64];
	int err = elf_find_version_banner(lib, "FixtureLib ", banner, sizeof(banner));

	/* The first "FixtureLib " is not followed by a digit: it must be skipped. */
	CHECK(err == 0 && !strcmp(banner, "FixtureLib 1.2.3 (test build)"), "err %d banner '%s'",
	      err, err ? "" : banner);
	err = elf_find_version_banner(lib, "NoSuchBanner ", banner, sizeof(banner));
	CHECK(err == -ENOENT, "missing banner gave %d", err);
	/* A banner must start a string when asked: "FixtureLib 1.2.3" follows ", ". */
	err = elf_find_version(lib, "FixtureLib ", ELF_VERSION_STRING_START, banner, sizeof(banner));
	CHECK(err == -ENOENT, "mid-string banner accepted: %d '%s'", err, err ? "" : banner);
	/* "7.0.1" is inside a sentence and "7.8.9x" has a letter: "7.10.2" is the version. */
	err = elf_find_version(lib, "7.", ELF_VERSION_STRING_START | ELF_VERSION_DIGITS_ONLY, banner,
			       sizeof(banner));
	CHECK(err == 0 && !strcmp(banner, "7.10.2"), "err %d version '%s'", err,
	      err ? "" : banner);
}

static void test_bad_files(const char *lib, const char *tmpdir)
{
	struct elf_symbol_query q[] = { { .name = "fixture_alpha" } };
	char truncated[4096], text[4096];
	unsigned char head[200];
	FILE *f = fopen(lib, "rb");
	int err;

	CHECK(f && fread(head, 1, sizeof(head), f) == sizeof(head), "cannot read %s", lib);
	if (f)
		fclose(f);
	snprintf(truncated, sizeof(truncated), "%s/truncated.so", tmpdir);
	write_file(truncated, head, sizeof(head));
	snprintf(text, sizeof(text), "%s/text.so", tmpdir);
	write_file(text, "not an ELF file\n", 16);

	err = elf_find_functions("/nonexistent/libssl.so.3", q, 1);
	CHECK(err == -ENOENT, "nonexistent file gave %d", err);
	err = elf_find_functions(text, q, 1);
	CHECK(err == -ENOEXEC, "text file gave %d", err);
	err = elf_find_functions(truncated, q, 1);
	CHECK(err == -ENOEXEC || err == 0, "truncated file gave %d", err);
	CHECK(q[0].file_offset == 0, "truncated file produced an offset");
	remove(truncated);
	remove(text);
}

int main(int argc, char **argv)
{
	const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	if (argc != 2) {
		fprintf(stderr, "usage: %s FIXTURE_LIBRARY\n", argv[0]);
		return 1;
	}
	test_against_loader(argv[1]);
	test_version_banner(argv[1]);
	test_bad_files(argv[1], tmpdir);
	return check_exit_status("test_elf_symbols");
}
