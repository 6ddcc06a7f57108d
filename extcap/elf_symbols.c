/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "elf_symbols.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <unistd.h>

/* Opens @path as an ELF file. Returns the descriptor and sets *@elf, or -errno / -ENOEXEC. */
static int elf_open(const char *path, Elf **elf)
{
	int fd;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOEXEC;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!*elf || elf_kind(*elf) != ELF_K_ELF) {
		elf_end(*elf);
		close(fd);
		return -ENOEXEC;
	}
	return fd;
}

static void elf_close(int fd, Elf *elf)
{
	elf_end(elf);
	close(fd);
}

/*
 * Converts virtual address @vaddr to a file offset through the executable
 * PT_LOAD segment containing it. Returns 0 when no segment holds it.
 */
static uint64_t vaddr_to_offset(Elf *elf, uint64_t vaddr)
{
	size_t nphdr, i;
	GElf_Phdr phdr;

	if (elf_getphdrnum(elf, &nphdr))
		return 0;
	for (i = 0; i < nphdr; i++) {
		if (!gelf_getphdr(elf, i, &phdr) || phdr.p_type != PT_LOAD || !(phdr.p_flags & PF_X))
			continue;
		if (vaddr >= phdr.p_vaddr && vaddr < phdr.p_vaddr + phdr.p_memsz)
			return vaddr - phdr.p_vaddr + phdr.p_offset;
	}
	return 0;
}

/* Resolves still-missing @queries from one symbol table section. Returns how many it found. */
static int scan_symtab(Elf *elf, Elf_Scn *scn, GElf_Shdr *shdr, struct elf_symbol_query *queries,
		       size_t n)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t count, i, q;
	int found = 0;

	if (!data || !shdr->sh_entsize || shdr->sh_type == SHT_NOBITS)
		return 0;
	count = data->d_size / shdr->sh_entsize;
	for (i = 0; i < count; i++) {
		GElf_Sym sym;
		const char *name;

		if (!gelf_getsym(data, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
		    sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		name = elf_strptr(elf, shdr->sh_link, sym.st_name);
		if (!name)
			continue;
		for (q = 0; q < n; q++) {
			if (queries[q].file_offset || strcmp(queries[q].name, name))
				continue;
			queries[q].file_offset = vaddr_to_offset(elf, sym.st_value);
			queries[q].size = sym.st_size;
			if (queries[q].file_offset)
				found++;
		}
	}
	return found;
}

int elf_find_functions(const char *path, struct elf_symbol_query *queries, size_t n)
{
	static const Elf64_Word order[] = { SHT_DYNSYM, SHT_SYMTAB };
	Elf *elf;
	int fd, found = 0;
	size_t q, pass;

	for (q = 0; q < n; q++)
		queries[q].file_offset = queries[q].size = 0;
	fd = elf_open(path, &elf);
	if (fd < 0)
		return fd;
	for (pass = 0; pass < 2 && (size_t)found < n; pass++) {
		Elf_Scn *scn = NULL;

		while ((scn = elf_nextscn(elf, scn))) {
			GElf_Shdr shdr;

			if (gelf_getshdr(scn, &shdr) && shdr.sh_type == order[pass])
				found += scan_symtab(elf, scn, &shdr, queries, n);
		}
	}
	if (elf_errno()) {
		/* A section table libelf could not read: the file is damaged. */
		found = found ? found : -ENOEXEC;
	}
	elf_close(fd, elf);
	return found;
}

/* Tells whether the string at @s (up to @end) is made of digits and dots only. */
static bool only_version_chars(const char *s, const char *end)
{
	for (; s < end && *s; s++)
		if ((*s < '0' || *s > '9') && *s != '.')
			return false;
	return s < end;
}

/*
 * Returns the first @prefix in [@buf, @buf + @len) followed by a digit and
 * meeting @flags (enum elf_version_flag), or NULL.
 */
static const char *find_banner(const char *buf, size_t len, const char *prefix, unsigned flags)
{
	size_t plen = strlen(prefix);
	const char *end = buf + len, *hit = buf;

	while ((hit = memmem(hit, end - hit, prefix, plen))) {
		if (hit + plen < end && hit[plen] >= '0' && hit[plen] <= '9' &&
		    (!(flags & ELF_VERSION_STRING_START) || hit == buf || hit[-1] == '\0') &&
		    (!(flags & ELF_VERSION_DIGITS_ONLY) || only_version_chars(hit + plen, end)))
			return hit;
		hit += plen;
	}
	return NULL;
}

int elf_find_version(const char *path, const char *prefix, unsigned flags, char *out,
		     size_t out_len)
{
	Elf_Scn *scn = NULL;
	Elf *elf;
	int fd, err = -ENOENT;

	fd = elf_open(path, &elf);
	if (fd < 0)
		return fd;
	while (err == -ENOENT && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;
		const char *hit, *end;
		size_t len;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_PROGBITS ||
		    !(shdr.sh_flags & SHF_ALLOC) || (shdr.sh_flags & (SHF_WRITE | SHF_EXECINSTR)))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf)
			continue;
		hit = find_banner(data->d_buf, data->d_size, prefix, flags);
		if (!hit)
			continue;
		end = (const char *)data->d_buf + data->d_size;
		len = strnlen(hit, end - hit);
		if (len >= out_len)
			len = out_len - 1;
		memcpy(out, hit, len);
		out[len] = '\0';
		err = 0;
	}
	elf_close(fd, elf);
	return err;
}

int elf_find_version_banner(const char *path, const char *prefix, char *out, size_t out_len)
{
	return elf_find_version(path, prefix, 0, out, out_len);
}
