/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Go executables seen from outside: whether an ELF file is a Go program, the
 * toolchain version it was built with (.go.buildinfo), and where its
 * functions are (the ELF symbol table when present, otherwise the runtime's
 * own function table, .gopclntab, which survives `-ldflags "-s -w"`).
 *
 * Every read is bounds-checked against the file: a truncated or hostile file
 * gives an error, never a crash. See docs/go.md.
 */
#ifndef TLSDUMP_GO_BINARY_H
#define TLSDUMP_GO_BINARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct go_binary;

enum go_arch {
	GO_ARCH_UNKNOWN = 0,
	GO_ARCH_AMD64,
	GO_ARCH_ARM64,
	GO_ARCH_386,
	GO_ARCH_ARM,
};

/* Layout of the function table, named after the first Go release using it. */
enum go_pclntab_format {
	GO_PCLNTAB_NONE = 0,
	GO_PCLNTAB_1_2,		/* magic 0xfffffffb, Go 1.2 - 1.15 */
	GO_PCLNTAB_1_16,	/* magic 0xfffffffa, Go 1.16 - 1.17 */
	GO_PCLNTAB_1_18,	/* magic 0xfffffff0, Go 1.18 - 1.19 */
	GO_PCLNTAB_1_20,	/* magic 0xfffffff1, Go 1.20 and later (layout of 1.18) */
};

/* Where a function's address came from. */
enum go_func_source {
	GO_FUNC_SYMTAB = 1,	/* ELF .symtab (not stripped) */
	GO_FUNC_PCLNTAB,	/* Go function table */
};

struct go_func {
	uint64_t vaddr;		/* entry point, link-time virtual address */
	uint64_t file_offset;	/* file offset of the entry: what a uprobe attach takes */
	/*
	 * Bytes from the entry: the symbol size, or for .gopclntab the distance
	 * to the next function (may include a few bytes of alignment padding,
	 * INT3 on amd64, zero words on arm64).
	 */
	uint64_t size;
	enum go_func_source source;
};

/*
 * Opens the ELF file at @path and finds its Go tables. Returns 0 and sets
 * *@out; -errno when the file cannot be opened or mapped; -ENOEXEC when it is
 * not a readable ELF file or its Go tables are malformed; -ENODATA when it is
 * an ELF file but not a Go program; -ENOTSUP for a big-endian Go binary.
 * On error, writes a message naming @path and the cause to @err (@err_len
 * bytes, may be NULL).
 */
int go_binary_open(const char *path, struct go_binary **out, char *err, size_t err_len);

/* Same as go_binary_open() for an in-memory image (copied); @name labels messages. */
int go_binary_open_mem(const void *image, size_t len, const char *name, struct go_binary **out,
		       char *err, size_t err_len);

/* Unmaps and frees @gb; accepts NULL. */
void go_binary_close(struct go_binary *gb);

/*
 * Returns the Go version string from .go.buildinfo ("go1.19.8",
 * "go1.21rc2", "devel go1.22-abcdef ..."), or NULL when the binary has none
 * (Go < 1.13, or a damaged section).
 */
const char *go_binary_version(const struct go_binary *gb);

/*
 * Parses go_binary_version() into @minor and @patch (go1.<minor>.<patch>;
 * patch 0 for "go1.21rc2" and "go1.20"). Returns 0, or -ENOENT when there is
 * no version or it does not start with "go1.".
 */
int go_binary_version_number(const struct go_binary *gb, int *minor, int *patch);

/* Returns the target architecture (ELF e_machine). */
enum go_arch go_binary_arch(const struct go_binary *gb);

/* Returns true when the file is ET_DYN (PIE): it is loaded at a random base. */
bool go_binary_is_pie(const struct go_binary *gb);

/* Returns true when the file has a .symtab section with defined functions. */
bool go_binary_has_symtab(const struct go_binary *gb);

/* Returns the layout of the function table found, or GO_PCLNTAB_NONE. */
enum go_pclntab_format go_binary_pclntab_format(const struct go_binary *gb);

/*
 * Returns true when Go functions take arguments in registers (ABIInternal):
 * amd64 from Go 1.17, arm64 from Go 1.18. The version comes from
 * .go.buildinfo, or, without it, from the function table format (an
 * approximation documented in docs/go.md).
 */
bool go_binary_register_abi(const struct go_binary *gb);

/*
 * Finds the function named @name ("crypto/tls.(*Conn).Read"): in .symtab
 * first, then in .gopclntab. Returns 0 and fills @fn, or -ENOENT.
 *
 * From Go 1.17, a function called across ABIs also has a small ABI wrapper.
 * .symtab names the ABIInternal symbol @name and the ABI0 one @name".abi0";
 * .gopclntab names both @name and this picks the body, not the wrapper. The
 * two agree for Go functions (the body is ABIInternal); for an assembly
 * function, .symtab gives its ABIInternal wrapper and .gopclntab its body.
 */
int go_binary_find_func(const struct go_binary *gb, const char *name, struct go_func *fn);

/*
 * Finds the function named @name in .gopclntab only (the body, not an ABI
 * wrapper): the table the Go runtime itself relies on, so it cannot be wrong
 * for a program that runs, unlike a damaged .symtab. Returns 0 or -ENOENT.
 */
int go_binary_find_func_pclntab(const struct go_binary *gb, const char *name, struct go_func *fn);

/* Returns the number of functions in .gopclntab (0 when it was not found). */
size_t go_binary_func_count(const struct go_binary *gb);

/*
 * Returns the @i'th function of .gopclntab (in address order): 0, @name
 * pointing into the mapped file (valid until go_binary_close()), and @fn
 * filled; -ERANGE when @i is out of range.
 */
int go_binary_func_at(const struct go_binary *gb, size_t i, const char **name, struct go_func *fn);

/*
 * Returns a pointer to the @len file-backed bytes at virtual address @vaddr
 * (valid until go_binary_close()), or NULL when any of them is outside the
 * file's loadable segments.
 */
const uint8_t *go_binary_bytes(const struct go_binary *gb, uint64_t vaddr, size_t len);

#endif /* TLSDUMP_GO_BINARY_H */
