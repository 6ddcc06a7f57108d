/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "go_binary.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Caps on counts read from the file: far above any real program (Kubernetes: ~150k functions). */
#define MAX_FUNCS	(1u << 22)
#define MAX_SEGMENTS	64
#define MAX_RELOCS	(1u << 24)
#define VERSION_MAX	128

#define PCLN_MAGIC_1_2	0xfffffffbu
#define PCLN_MAGIC_1_16	0xfffffffau
#define PCLN_MAGIC_1_18	0xfffffff0u
#define PCLN_MAGIC_1_20	0xfffffff1u

static const char buildinfo_magic[14] = "\xff Go buildinf:";

struct segment {
	uint64_t vaddr, memsz, offset, filesz;	/* filesz clamped to what the file holds */
	uint32_t flags;
};

struct reloc {
	uint64_t offset, addend;
};

/* A located function table; all pointers are into the image and bounded by @size from @base. */
struct pclntab {
	enum go_pclntab_format format;
	const uint8_t *base;
	uint64_t size;
	uint64_t vaddr;		/* where @base is loaded */
	unsigned int ptrsize;
	uint64_t nfunc;
	uint64_t text_start;	/* 1.18+: entries are offsets from it */
	uint64_t ftab;		/* offset of the (entry, funcoff) pairs */
	unsigned int field;	/* size of one pair member */
	uint64_t funcdata;	/* funcoff is relative to this offset */
	uint64_t names, names_end;	/* nameoff is relative to @names */
	uint64_t *entries;	/* nfunc + 1 validated entry addresses */
};

struct go_binary {
	uint8_t *image;
	size_t size;
	bool mapped;
	Elf *elf;
	char name[256];

	enum go_arch arch;
	unsigned int ptrsize;
	bool pie;
	struct segment seg[MAX_SEGMENTS];
	size_t nseg;

	Elf_Scn *symtab;
	size_t symtab_link;
	bool has_symtab;

	struct reloc *relocs;	/* RELATIVE relocations sorted by offset, built on demand */
	size_t nrelocs;
	bool relocs_loaded;

	char version[VERSION_MAX];
	struct pclntab pcln;
};

static void set_err(char *err, size_t len, const char *name, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || !len)
		return;
	n = snprintf(err, len, "%s: ", name);
	if (n < 0 || (size_t)n >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, len - n, fmt, ap);
	va_end(ap);
}

static uint64_t rd32(const uint8_t *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
}

static uint64_t rd(const uint8_t *p, unsigned int n)
{
	return n == 8 ? rd32(p) | rd32(p + 4) << 32 : rd32(p);
}

/* Returns true when [@off, @off + @len) lies within [0, @size). */
static bool in_bounds(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

/* Returns the loadable segment holding the @len file-backed bytes at @vaddr, or NULL. */
static const struct segment *seg_of(const struct go_binary *gb, uint64_t vaddr, uint64_t len)
{
	size_t i;

	for (i = 0; i < gb->nseg; i++) {
		const struct segment *s = &gb->seg[i];

		if (vaddr >= s->vaddr && in_bounds(vaddr - s->vaddr, len, s->filesz))
			return s;
	}
	return NULL;
}

const uint8_t *go_binary_bytes(const struct go_binary *gb, uint64_t vaddr, size_t len)
{
	const struct segment *s = seg_of(gb, vaddr, len);

	return s ? gb->image + s->offset + (vaddr - s->vaddr) : NULL;
}

/* Returns true when @vaddr is inside an executable segment (@end: may equal its end). */
static bool in_text(const struct go_binary *gb, uint64_t vaddr, bool end)
{
	size_t i;

	for (i = 0; i < gb->nseg; i++) {
		const struct segment *s = &gb->seg[i];

		if ((s->flags & PF_X) && vaddr >= s->vaddr &&
		    (vaddr - s->vaddr < s->filesz || (end && vaddr - s->vaddr == s->filesz)))
			return true;
	}
	return false;
}

static int reloc_cmp(const void *a, const void *b)
{
	const struct reloc *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Collects the RELATIVE relocations of every SHT_RELA section, sorted. Returns 0 or -ENOMEM. */
static int load_relocs(struct go_binary *gb)
{
	Elf_Scn *scn = NULL;
	size_t cap = 0;
	unsigned int relative = gb->arch == GO_ARCH_ARM64 ? R_AARCH64_RELATIVE : R_X86_64_RELATIVE;

	gb->relocs_loaded = true;
	if (gb->arch != GO_ARCH_AMD64 && gb->arch != GO_ARCH_ARM64)
		return 0;	/* 32-bit targets use REL: the addend is in place */
	while ((scn = elf_nextscn(gb->elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;
		size_t i, n;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_RELA || !shdr.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		n = data->d_size / shdr.sh_entsize;
		for (i = 0; i < n && gb->nrelocs < MAX_RELOCS; i++) {
			GElf_Rela rela;

			if (!gelf_getrela(data, i, &rela) || GELF_R_TYPE(rela.r_info) != relative)
				continue;
			if (gb->nrelocs == cap) {
				size_t ncap = cap ? cap * 2 : 1024;
				struct reloc *r = realloc(gb->relocs, ncap * sizeof(*r));

				if (!r)
					return -ENOMEM;
				gb->relocs = r;
				cap = ncap;
			}
			gb->relocs[gb->nrelocs].offset = rela.r_offset;
			gb->relocs[gb->nrelocs].addend = rela.r_addend;
			gb->nrelocs++;
		}
	}
	if (gb->nrelocs)
		qsort(gb->relocs, gb->nrelocs, sizeof(*gb->relocs), reloc_cmp);
	return 0;
}

/*
 * Reads the pointer stored at @vaddr. In a PIE, the file may hold 0 there and
 * the value in a RELATIVE relocation's addend: that is used then. Returns 0
 * and sets *@out (possibly 0), or -EFAULT when @vaddr is not in the file.
 */
static int read_addr(struct go_binary *gb, uint64_t vaddr, uint64_t *out)
{
	const uint8_t *p = go_binary_bytes(gb, vaddr, gb->ptrsize);
	size_t lo = 0, hi;

	if (!p)
		return -EFAULT;
	*out = rd(p, gb->ptrsize);
	if (*out || !gb->pie)
		return 0;
	if (!gb->relocs_loaded && load_relocs(gb))
		return 0;
	hi = gb->nrelocs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (gb->relocs[mid].offset < vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < gb->nrelocs && gb->relocs[lo].offset == vaddr)
		*out = gb->relocs[lo].addend;
	return 0;
}

/* Reads an unsigned LEB128 varint from [*@p, @end). Returns 0, or -1 when it is cut or too long. */
static int uvarint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	unsigned int shift;

	*out = 0;
	for (shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t b = *(*p)++;

		*out |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return 0;
	}
	return -1;
}

/* Copies a version string of @len bytes at @s into gb->version. Returns 0 or -ENOEXEC. */
static int set_version(struct go_binary *gb, const uint8_t *s, uint64_t len)
{
	uint64_t i;

	if (!len || len >= sizeof(gb->version))
		return -ENOEXEC;
	for (i = 0; i < len; i++) {
		if (s[i] < 0x20 || s[i] > 0x7e)
			return -ENOEXEC;
	}
	memcpy(gb->version, s, len);
	gb->version[len] = '\0';
	return 0;
}

/*
 * Parses a build info header at @hdr (@avail bytes, loaded at @vaddr): Go
 * 1.18+ keeps the version inline as a varint-prefixed string at offset 32;
 * older toolchains store at offset 16 a pointer to a Go string header
 * {data pointer, length}. Returns 0 or -ENOEXEC.
 */
static int parse_buildinfo(struct go_binary *gb, const uint8_t *hdr, uint64_t avail, uint64_t vaddr)
{
	unsigned int ptrsize, flags;
	uint64_t str, len, hdr_vaddr;
	const uint8_t *lp;

	if (avail < 32)
		return -ENOEXEC;
	ptrsize = hdr[14];
	flags = hdr[15];
	if (flags & 1)
		return -ENOTSUP;	/* big-endian */
	if (flags & 2) {
		const uint8_t *p = hdr + 32, *end = hdr + avail;

		if (uvarint(&p, end, &len) || len > (uint64_t)(end - p))
			return -ENOEXEC;
		return set_version(gb, p, len);
	}
	if (ptrsize != gb->ptrsize)
		return -ENOEXEC;
	if (read_addr(gb, vaddr + 16, &hdr_vaddr) || !hdr_vaddr ||
	    read_addr(gb, hdr_vaddr, &str) || !str)
		return -ENOEXEC;
	lp = go_binary_bytes(gb, hdr_vaddr + ptrsize, ptrsize);
	if (!lp)
		return -ENOEXEC;
	len = rd(lp, ptrsize);
	if (len >= sizeof(gb->version) || !go_binary_bytes(gb, str, len))
		return -ENOEXEC;
	return set_version(gb, go_binary_bytes(gb, str, len), len);
}

/* Finds a section by name. Returns it and fills @shdr, or NULL. */
static Elf_Scn *find_section(struct go_binary *gb, const char *name, GElf_Shdr *shdr)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(gb->elf, &shstrndx))
		return NULL;
	while ((scn = elf_nextscn(gb->elf, scn))) {
		const char *n;

		if (!gelf_getshdr(scn, shdr))
			continue;
		n = elf_strptr(gb->elf, shstrndx, shdr->sh_name);
		if (n && !strcmp(n, name))
			return scn;
	}
	return NULL;
}

/* Returns the file bytes of a section with its size in *@len, or NULL (NOBITS, outside the file). */
static const uint8_t *section_bytes(const struct go_binary *gb, const GElf_Shdr *shdr,
				    uint64_t *len)
{
	if (shdr->sh_type == SHT_NOBITS || !in_bounds(shdr->sh_offset, shdr->sh_size, gb->size))
		return NULL;
	*len = shdr->sh_size;
	return gb->image + shdr->sh_offset;
}

/*
 * Finds the version: .go.buildinfo, or the magic at a 16-byte boundary of a
 * writable segment (files without section headers). No build info is not an
 * error; a damaged one is.
 */
static int find_buildinfo(struct go_binary *gb, char *err, size_t err_len)
{
	GElf_Shdr shdr;
	const uint8_t *p;
	uint64_t len;
	size_t i;
	int ret;

	if (find_section(gb, ".go.buildinfo", &shdr) && (p = section_bytes(gb, &shdr, &len)) &&
	    len >= sizeof(buildinfo_magic) &&
	    !memcmp(p, buildinfo_magic, sizeof(buildinfo_magic))) {
		ret = parse_buildinfo(gb, p, len, shdr.sh_addr);
		if (ret)
			set_err(err, err_len, gb->name, ret == -ENOTSUP ?
				"big-endian Go binaries are not supported" :
				".go.buildinfo: malformed version field");
		return ret;
	}
	for (i = 0; i < gb->nseg; i++) {
		const struct segment *s = &gb->seg[i];
		uint64_t off;

		if (!(s->flags & PF_W))
			continue;
		for (off = (16 - (s->vaddr & 15)) & 15; in_bounds(off, 32, s->filesz); off += 16) {
			p = gb->image + s->offset + off;
			if (memcmp(p, buildinfo_magic, sizeof(buildinfo_magic)))
				continue;
			if (!parse_buildinfo(gb, p, s->filesz - off, s->vaddr + off))
				return 0;
		}
	}
	return 0;
}

/*
 * Validates a function table candidate at @p (@avail bytes up to the end of
 * its section or segment, loaded at @vaddr) and fills gb->pcln. Returns 0 or
 * -ENOEXEC with the reason in @why.
 */
static int parse_pclntab(struct go_binary *gb, const uint8_t *p, uint64_t avail, uint64_t vaddr,
			 const char **why)
{
	struct pclntab t = { .base = p, .size = avail, .vaddr = vaddr };
	uint64_t hdr[8], i, prev = 0;
	unsigned int nwords, w;
	uint32_t magic;

	*why = "header too short";
	if (avail < 16)
		return -ENOEXEC;
	magic = rd32(p);
	switch (magic) {
	case PCLN_MAGIC_1_2:
		t.format = GO_PCLNTAB_1_2;
		nwords = 1;
		break;
	case PCLN_MAGIC_1_16:
		t.format = GO_PCLNTAB_1_16;
		nwords = 7;
		break;
	case PCLN_MAGIC_1_18:
	case PCLN_MAGIC_1_20:
		t.format = magic == PCLN_MAGIC_1_18 ? GO_PCLNTAB_1_18 : GO_PCLNTAB_1_20;
		nwords = 8;
		break;
	default:
		*why = "unknown magic";
		return -ENOEXEC;
	}
	t.ptrsize = p[7];
	*why = "bad header (padding, PC quantum or pointer size)";
	if (p[4] || p[5] || (p[6] != 1 && p[6] != 2 && p[6] != 4) || t.ptrsize != gb->ptrsize)
		return -ENOEXEC;
	*why = "header too short";
	if (!in_bounds(8, (uint64_t)nwords * t.ptrsize, avail))
		return -ENOEXEC;
	for (w = 0; w < nwords; w++)
		hdr[w] = rd(p + 8 + w * t.ptrsize, t.ptrsize);
	t.nfunc = hdr[0];
	*why = "function count out of range";
	if (!t.nfunc || t.nfunc > MAX_FUNCS)
		return -ENOEXEC;

	switch (t.format) {
	case GO_PCLNTAB_1_2:
		t.ftab = 8 + t.ptrsize;
		t.field = t.ptrsize;
		t.funcdata = 0;
		t.names = 0;
		t.names_end = avail;
		break;
	case GO_PCLNTAB_1_16:
		/* nfunc, nfiles, funcnametab, cutab, filetab, pctab, functab */
		t.names = hdr[2];
		t.names_end = hdr[3];
		t.ftab = t.funcdata = hdr[6];
		t.field = t.ptrsize;
		break;
	default:
		/* nfunc, nfiles, textStart, funcnametab, cutab, filetab, pctab, functab */
		t.names = hdr[3];
		t.names_end = hdr[4];
		t.ftab = t.funcdata = hdr[7];
		t.field = 4;
		t.text_start = hdr[2];
		if (!t.text_start && read_addr(gb, vaddr + 8 + 2 * t.ptrsize, &t.text_start))
			t.text_start = 0;
		*why = "textStart outside the executable segments";
		if (!in_text(gb, t.text_start, false))
			return -ENOEXEC;
		break;
	}
	if (t.format != GO_PCLNTAB_1_2) {
		/* The linker writes the subtables in header order. */
		*why = "subtable offsets out of order or out of bounds";
		for (w = t.format == GO_PCLNTAB_1_16 ? 3 : 4; w < nwords; w++) {
			if (hdr[w] < hdr[w - 1])
				return -ENOEXEC;
		}
		if (t.names < 8 + (uint64_t)nwords * t.ptrsize || t.names >= t.names_end ||
		    t.ftab >= avail)
			return -ENOEXEC;
	}
	*why = "function table out of bounds";
	if (!in_bounds(t.ftab, (2 * t.nfunc + 1) * t.field, avail))
		return -ENOEXEC;

	t.entries = calloc(t.nfunc + 1, sizeof(*t.entries));
	if (!t.entries) {
		*why = "out of memory";
		return -ENOMEM;
	}
	for (i = 0; i <= t.nfunc; i++) {
		const uint8_t *e = p + t.ftab + 2 * i * t.field;
		uint64_t entry = rd(e, t.field), funcoff, fentry, nameoff;
		const uint8_t *f;

		if (t.format >= GO_PCLNTAB_1_18)
			entry += t.text_start;
		else if (!entry && read_addr(gb, vaddr + t.ftab + 2 * i * t.field, &entry))
			entry = 0;
		*why = "function entries not sorted or outside the executable segments";
		if (entry < prev || !in_text(gb, entry, i == t.nfunc))
			goto bad;
		t.entries[i] = prev = entry;
		if (i == t.nfunc)
			break;
		/* _func: entry (uintptr; uint32 offset in 1.18+), then int32 nameoff */
		funcoff = rd(e + t.field, t.field);
		*why = "function record out of bounds";
		if (funcoff > avail - t.funcdata ||
		    !in_bounds(t.funcdata + funcoff, t.field + 4, avail))
			goto bad;
		f = p + t.funcdata + funcoff;
		fentry = rd(f, t.field);
		if (t.format >= GO_PCLNTAB_1_18)
			fentry += t.text_start;
		else if (!fentry && read_addr(gb, vaddr + t.funcdata + funcoff, &fentry))
			fentry = 0;
		*why = "function record does not match the function table";
		if (fentry != entry)
			goto bad;
		nameoff = rd32(f + t.field);
		*why = "function name out of bounds";
		if (nameoff >= t.names_end - t.names ||
		    !memchr(p + t.names + nameoff, '\0', t.names_end - t.names - nameoff))
			goto bad;
	}
	gb->pcln = t;
	return 0;
bad:
	free(t.entries);
	return -ENOEXEC;
}

/* Scans @len bytes at @p (loaded at @vaddr) for a valid function table. Returns 0 or -ENOENT. */
static int scan_pclntab(struct go_binary *gb, const uint8_t *p, uint64_t len, uint64_t vaddr)
{
	static const uint8_t pattern[] = { 0xff, 0xff, 0xff, 0x00, 0x00 };
	const uint8_t *hit = p, *end = p + len;
	const char *why;

	while ((hit = memmem(hit, end - hit, pattern, sizeof(pattern)))) {
		uint64_t off = hit - p;

		hit++;
		if (!off || ((vaddr + off - 1) & 3))
			continue;
		off--;
		if (p[off] != 0xfb && p[off] != 0xfa && p[off] != 0xf0 && p[off] != 0xf1)
			continue;
		if (!parse_pclntab(gb, p + off, len - off, vaddr + off, &why))
			return 0;
	}
	return -ENOENT;
}

/*
 * Finds .gopclntab: by section name (".gopclntab", or ".data.rel.ro.gopclntab"
 * in a PIE), else by its magic inside .data.rel.ro (externally linked PIE),
 * else in any non-executable segment. Returns 0 (found or not), or -ENOEXEC
 * when a named section is damaged.
 */
static int find_pclntab(struct go_binary *gb, char *err, size_t err_len)
{
	static const char *const names[] = { ".gopclntab", ".data.rel.ro.gopclntab" };
	GElf_Shdr shdr;
	const uint8_t *p;
	const char *why;
	uint64_t len;
	size_t i;
	int ret;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!find_section(gb, names[i], &shdr))
			continue;
		p = section_bytes(gb, &shdr, &len);
		if (!p) {
			set_err(err, err_len, gb->name, "%s: outside the file", names[i]);
			return -ENOEXEC;
		}
		ret = parse_pclntab(gb, p, len, shdr.sh_addr, &why);
		if (ret)
			set_err(err, err_len, gb->name, "%s: %s", names[i], why);
		return ret;
	}
	/* Scanning data for the table is slow on big non-Go programs (node:
	 * 30 ms, on the exec path of short-lived processes): only a binary
	 * with Go build information is worth it. */
	if (!gb->version[0])
		return 0;
	if (find_section(gb, ".data.rel.ro", &shdr) && (p = section_bytes(gb, &shdr, &len)) &&
	    !scan_pclntab(gb, p, len, shdr.sh_addr))
		return 0;
	for (i = 0; i < gb->nseg; i++) {
		const struct segment *s = &gb->seg[i];

		if (!(s->flags & PF_X) &&
		    !scan_pclntab(gb, gb->image + s->offset, s->filesz, s->vaddr))
			return 0;
	}
	return 0;
}

/* Notes whether .symtab holds defined functions. */
static void find_symtab(struct go_binary *gb)
{
	Elf_Scn *scn = NULL;

	while ((scn = elf_nextscn(gb->elf, scn))) {
		GElf_Shdr shdr;
		Elf_Data *data;
		size_t i, n;

		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_SYMTAB || !shdr.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		n = data->d_size / shdr.sh_entsize;
		for (i = 0; i < n; i++) {
			GElf_Sym sym;

			if (gelf_getsym(data, i, &sym) && GELF_ST_TYPE(sym.st_info) == STT_FUNC &&
			    sym.st_shndx != SHN_UNDEF && sym.st_value) {
				gb->symtab = scn;
				gb->symtab_link = shdr.sh_link;
				gb->has_symtab = true;
				return;
			}
		}
	}
}

/* Reads the ELF and program headers. Returns 0, -ENOEXEC or -ENOTSUP. */
static int read_headers(struct go_binary *gb, char *err, size_t err_len)
{
	GElf_Ehdr ehdr;
	size_t nphdr, i;

	gb->elf = elf_memory((char *)gb->image, gb->size);
	if (!gb->elf || elf_kind(gb->elf) != ELF_K_ELF || !gelf_getehdr(gb->elf, &ehdr)) {
		set_err(err, err_len, gb->name, "not an ELF file");
		return -ENOEXEC;
	}
	if (ehdr.e_ident[EI_DATA] != ELFDATA2LSB) {
		set_err(err, err_len, gb->name, "big-endian ELF files are not supported");
		return -ENOTSUP;
	}
	gb->ptrsize = ehdr.e_ident[EI_CLASS] == ELFCLASS64 ? 8 : 4;
	gb->pie = ehdr.e_type == ET_DYN;
	switch (ehdr.e_machine) {
	case EM_X86_64:
		gb->arch = GO_ARCH_AMD64;
		break;
	case EM_AARCH64:
		gb->arch = GO_ARCH_ARM64;
		break;
	case EM_386:
		gb->arch = GO_ARCH_386;
		break;
	case EM_ARM:
		gb->arch = GO_ARCH_ARM;
		break;
	default:
		gb->arch = GO_ARCH_UNKNOWN;
	}
	if (elf_getphdrnum(gb->elf, &nphdr)) {
		set_err(err, err_len, gb->name, "unreadable program headers");
		return -ENOEXEC;
	}
	for (i = 0; i < nphdr && gb->nseg < MAX_SEGMENTS; i++) {
		struct segment *s = &gb->seg[gb->nseg];
		GElf_Phdr phdr;

		if (!gelf_getphdr(gb->elf, i, &phdr) || phdr.p_type != PT_LOAD)
			continue;
		s->vaddr = phdr.p_vaddr;
		s->memsz = phdr.p_memsz;
		s->offset = phdr.p_offset;
		s->flags = phdr.p_flags;
		/* A truncated file keeps only the bytes it has. */
		s->filesz = phdr.p_offset >= gb->size ? 0 : phdr.p_filesz;
		if (s->filesz > gb->size - phdr.p_offset)
			s->filesz = gb->size - phdr.p_offset;
		if (s->filesz > s->memsz)
			s->filesz = s->memsz;
		if (!s->filesz || s->vaddr + s->filesz < s->vaddr)
			continue;	/* nothing in the file (.bss), or wraps around */
		gb->nseg++;
	}
	if (!gb->nseg) {
		set_err(err, err_len, gb->name, "no loadable segment");
		return -ENOEXEC;
	}
	return 0;
}

/* Finishes opening @gb, whose image is set. Frees it on error. */
static int finish_open(struct go_binary *gb, struct go_binary **out, char *err, size_t err_len)
{
	int ret;

	ret = read_headers(gb, err, err_len);
	if (!ret)
		ret = find_buildinfo(gb, err, err_len);
	if (!ret)
		ret = find_pclntab(gb, err, err_len);
	if (!ret) {
		find_symtab(gb);
		if (!gb->version[0] && gb->pcln.format == GO_PCLNTAB_NONE) {
			set_err(err, err_len, gb->name,
				"not a Go program (no .go.buildinfo, no .gopclntab)");
			ret = -ENODATA;
		}
	}
	if (ret) {
		go_binary_close(gb);
		return ret;
	}
	*out = gb;
	return 0;
}

static struct go_binary *alloc_binary(const char *name)
{
	struct go_binary *gb = calloc(1, sizeof(*gb));

	if (gb)
		snprintf(gb->name, sizeof(gb->name), "%s", name ? name : "(memory)");
	return gb;
}

int go_binary_open(const char *path, struct go_binary **out, char *err, size_t err_len)
{
	struct go_binary *gb;
	struct stat st;
	void *map;
	int fd, ret;

	*out = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOEXEC;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		set_err(err, err_len, path, "%s", strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		close(fd);
		set_err(err, err_len, path, "%s", strerror(-ret));
		return ret;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)sizeof(Elf32_Ehdr)) {
		close(fd);
		set_err(err, err_len, path, "not an ELF file");
		return -ENOEXEC;
	}
	/* Private and writable so libelf may convert in place; the file never changes. */
	map = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	ret = map == MAP_FAILED ? -errno : 0;
	close(fd);
	if (ret) {
		set_err(err, err_len, path, "mmap: %s", strerror(-ret));
		return ret;
	}
	gb = alloc_binary(path);
	if (!gb) {
		munmap(map, st.st_size);
		return -ENOMEM;
	}
	gb->image = map;
	gb->size = st.st_size;
	gb->mapped = true;
	return finish_open(gb, out, err, err_len);
}

int go_binary_open_mem(const void *image, size_t len, const char *name, struct go_binary **out,
		       char *err, size_t err_len)
{
	struct go_binary *gb;

	*out = NULL;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOEXEC;
	if (len < sizeof(Elf32_Ehdr)) {
		set_err(err, err_len, name ? name : "(memory)", "not an ELF file");
		return -ENOEXEC;
	}
	gb = alloc_binary(name);
	if (!gb)
		return -ENOMEM;
	gb->image = malloc(len);
	if (!gb->image) {
		free(gb);
		return -ENOMEM;
	}
	memcpy(gb->image, image, len);
	gb->size = len;
	return finish_open(gb, out, err, err_len);
}

void go_binary_close(struct go_binary *gb)
{
	if (!gb)
		return;
	elf_end(gb->elf);
	if (gb->mapped)
		munmap(gb->image, gb->size);
	else
		free(gb->image);
	free(gb->pcln.entries);
	free(gb->relocs);
	free(gb);
}

const char *go_binary_version(const struct go_binary *gb)
{
	return gb->version[0] ? gb->version : NULL;
}

int go_binary_version_number(const struct go_binary *gb, int *minor, int *patch)
{
	const char *v = strstr(gb->version, "go1.");
	char *end;
	long mi, pa = 0;

	if (!v)
		return -ENOENT;
	mi = strtol(v + 4, &end, 10);
	if (end == v + 4 || mi < 0 || mi > 1000)
		return -ENOENT;
	if (*end == '.') {
		pa = strtol(end + 1, &end, 10);
		if (pa < 0 || pa > 1000)
			pa = 0;
	}
	*minor = mi;
	*patch = pa;
	return 0;
}

enum go_arch go_binary_arch(const struct go_binary *gb)
{
	return gb->arch;
}

bool go_binary_is_pie(const struct go_binary *gb)
{
	return gb->pie;
}

bool go_binary_has_symtab(const struct go_binary *gb)
{
	return gb->has_symtab;
}

enum go_pclntab_format go_binary_pclntab_format(const struct go_binary *gb)
{
	return gb->pcln.format;
}

bool go_binary_register_abi(const struct go_binary *gb)
{
	int minor, patch;

	if (go_binary_version_number(gb, &minor, &patch)) {
		/* Go >= 1.13 always has build info: without it, only the 1.18+ table format tells. */
		minor = gb->pcln.format >= GO_PCLNTAB_1_18 ? 18 : 0;
	}
	if (gb->arch == GO_ARCH_AMD64)
		return minor >= 17;
	if (gb->arch == GO_ARCH_ARM64)
		return minor >= 18;
	return false;
}

/* Converts @vaddr to a file offset through its executable segment. Returns 0 when none holds it. */
static uint64_t text_offset(const struct go_binary *gb, uint64_t vaddr)
{
	size_t i;

	for (i = 0; i < gb->nseg; i++) {
		const struct segment *s = &gb->seg[i];

		if ((s->flags & PF_X) && vaddr >= s->vaddr && vaddr - s->vaddr < s->filesz)
			return s->offset + (vaddr - s->vaddr);
	}
	return 0;
}

/* Looks @name up in .symtab. Returns 0 and fills @fn, or -ENOENT. */
static int find_in_symtab(const struct go_binary *gb, const char *name, struct go_func *fn)
{
	Elf_Data *data;
	GElf_Shdr shdr;
	size_t i, n;

	if (!gb->has_symtab || !gelf_getshdr(gb->symtab, &shdr))
		return -ENOENT;
	data = elf_getdata(gb->symtab, NULL);
	if (!data || !shdr.sh_entsize)
		return -ENOENT;
	n = data->d_size / shdr.sh_entsize;
	for (i = 0; i < n; i++) {
		GElf_Sym sym;
		uint64_t off;
		const char *s;

		if (!gelf_getsym(data, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
		    sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		s = elf_strptr(gb->elf, gb->symtab_link, sym.st_name);
		if (!s || strcmp(s, name))
			continue;
		off = text_offset(gb, sym.st_value);
		if (!off)
			continue;
		fn->file_offset = off;
		fn->vaddr = sym.st_value;
		fn->size = sym.st_size;
		fn->source = GO_FUNC_SYMTAB;
		return 0;
	}
	return -ENOENT;
}

int go_binary_func_at(const struct go_binary *gb, size_t i, const char **name, struct go_func *fn)
{
	const struct pclntab *t = &gb->pcln;
	const uint8_t *e, *f;

	if (i >= t->nfunc)
		return -ERANGE;
	/* Bounds were checked for every entry when the table was opened. */
	e = t->base + t->ftab + 2 * i * t->field;
	f = t->base + t->funcdata + rd(e + t->field, t->field);
	*name = (const char *)t->base + t->names + rd32(f + t->field);
	fn->vaddr = t->entries[i];
	fn->size = t->entries[i + 1] - t->entries[i];
	fn->file_offset = text_offset(gb, fn->vaddr);
	fn->source = GO_FUNC_PCLNTAB;
	return 0;
}

size_t go_binary_func_count(const struct go_binary *gb)
{
	return gb->pcln.nfunc;
}

/*
 * Returns the funcID byte of table function @i (0 for an ordinary function),
 * or 0x100 when the record is too short to hold one. Its offset: after the
 * entry and eight int32 fields, plus startLine from Go 1.20.
 */
static unsigned int func_id(const struct pclntab *t, size_t i)
{
	const uint8_t *e = t->base + t->ftab + 2 * i * t->field;
	uint64_t at = t->funcdata + rd(e + t->field, t->field) + t->field + 8 * 4;

	if (t->format == GO_PCLNTAB_1_2)
		return 0;
	if (t->format >= GO_PCLNTAB_1_20)
		at += 4;
	return in_bounds(at, 1, t->size) ? t->base[at] : 0x100;
}

int go_binary_find_func_pclntab(const struct go_binary *gb, const char *name, struct go_func *fn)
{
	unsigned int best_id = ~0u;
	struct go_func f;
	size_t i;

	/*
	 * Since Go 1.17 a function called across ABIs has a wrapper of the same
	 * name in the table. Wrappers carry funcID_wrapper, the last funcID of
	 * every release: the lowest funcID is the body.
	 */
	for (i = 0; i < gb->pcln.nfunc; i++) {
		unsigned int id;
		const char *n;

		if (go_binary_func_at(gb, i, &n, &f) || strcmp(n, name) || !f.file_offset)
			continue;
		id = func_id(&gb->pcln, i);
		if (id < best_id) {
			*fn = f;
			best_id = id;
		}
	}
	return best_id == ~0u ? -ENOENT : 0;
}

int go_binary_find_func(const struct go_binary *gb, const char *name, struct go_func *fn)
{
	if (!find_in_symtab(gb, name, fn))
		return 0;
	return go_binary_find_func_pclntab(gb, name, fn);
}
