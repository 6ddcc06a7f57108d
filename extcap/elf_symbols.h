/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ELF symbol lookup for uprobes: a function's file offset (what the kernel's
 * uprobe API takes) from .dynsym or .symtab, via libelf.
 */
#ifndef TLSDUMP_ELF_SYMBOLS_H
#define TLSDUMP_ELF_SYMBOLS_H

#include <stddef.h>
#include <stdint.h>

struct elf_symbol_query {
	const char *name;	/* function name, without version suffix */
	uint64_t file_offset;	/* out: file offset of the first instruction; 0 when absent */
	uint64_t size;		/* out: st_size */
};

/*
 * Looks up each of @n @queries in the ELF file at @path (defined functions
 * only, .dynsym first, then .symtab). Returns the number of symbols found
 * (>= 0), -ENOEXEC when @path is not a readable ELF file (truncated or
 * malformed), or -errno when it cannot be opened.
 */
int elf_find_functions(const char *path, struct elf_symbol_query *queries, size_t n);

/*
 * Finds a string starting with @prefix and a decimal digit (a version banner
 * such as "OpenSSL 3.0.19 27 Jan 2026") in the allocated read-only data of @path and
 * copies the NUL-terminated string starting there into @out (@out_len
 * bytes). Returns 0, -ENOENT, or -errno / -ENOEXEC as above.
 */
int elf_find_version_banner(const char *path, const char *prefix, char *out, size_t out_len);

enum elf_version_flag {
	/* The hit starts a string (follows a NUL): "enable OpenSSL 3.0 legacy
	 * provider" is not OpenSSL's banner. */
	ELF_VERSION_STRING_START = 1,
	/* Only digits and dots follow @prefix: a bare "3.7.9". */
	ELF_VERSION_DIGITS_ONLY = 2,
};

/* Like elf_find_version_banner, with @flags (enum elf_version_flag) narrowing the match. */
int elf_find_version(const char *path, const char *prefix, unsigned flags, char *out,
		     size_t out_len);

#endif /* TLSDUMP_ELF_SYMBOLS_H */
