/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Helpers shared by the Go analysis tests. */
#ifndef TLSDUMP_TEST_GO_COMMON_H
#define TLSDUMP_TEST_GO_COMMON_H

#include <stdio.h>
#include <stdlib.h>

#include "../check.h"

/* Reads the whole file at @path into a malloc'ed buffer. Returns it and sets *@len, or NULL. */
static inline unsigned char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
		goto out;
	buf = malloc(size ? size : 1);
	if (buf && fread(buf, 1, size, f) != (size_t)size) {
		free(buf);
		buf = NULL;
	}
	*len = size;
out:
	fclose(f);
	return buf;
}

/* xorshift64*: deterministic, seedable random numbers for fuzzing. */
static inline unsigned long long fuzz_rand(unsigned long long *state)
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ULL;
}

#endif /* TLSDUMP_TEST_GO_COMMON_H */
