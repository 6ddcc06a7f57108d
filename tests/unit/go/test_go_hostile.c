/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * go_binary and disasm on synthetic input, no Go toolchain needed:
 *   - hand-built ELF files carrying each function table layout (Go 1.2,
 *     1.16, 1.18, 1.20), both build info formats, PIE relocations, a table
 *     found only by its magic, and an ABI wrapper: every lookup must give
 *     the addresses the builder laid out;
 *   - the same files damaged one field at a time: each must fail cleanly
 *     with the documented error;
 *   - truncations and random bytes (deterministic seeds), and random code
 *     for the disassembler: no crash, no read out of bounds (run it under
 *     ASan: cmake -DCMAKE_C_FLAGS=-fsanitize=address,undefined).
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "disasm.h"
#include "go_binary.h"
#include "go_dwarf.h"
#include "test_go_common.h"

#define BASE		0x400000ull
#define TEXT_OFF	0x1000
#define TEXT_SIZE	0x100
#define RO_OFF		0x2000
#define RO_SIZE		0x1000
#define DATA_OFF	0x3000
#define DATA_SIZE	0x200
#define SHSTR_OFF	0x3200
#define SHDR_OFF	0x3300
#define RELA_OFF	0x3600
#define IMG_SIZE	0x3800
#define MAX_RELA	((IMG_SIZE - RELA_OFF) / sizeof(Elf64_Rela))

#define FUNCID_WRAPPER	21	/* Go 1.17 - 1.22 */

/* Random mutants per table layout; raise it for a longer run (-DFUZZ_ITERATIONS=300000). */
#ifndef FUZZ_ITERATIONS
#define FUZZ_ITERATIONS 3000
#endif

enum { BI_NONE, BI_INLINE, BI_POINTER };

struct synth {
	enum go_pclntab_format format;	/* GO_PCLNTAB_NONE: no table */
	const char *section;		/* table section name; NULL: none, found by its magic */
	bool pie;			/* ET_DYN, RW table segment like .data.rel.ro */
	bool relocate;			/* pointers left 0 in the file, values in RELA addends */
	int buildinfo;
	const char *version;
};

struct image {
	uint8_t b[IMG_SIZE];
	/* Where the builder put things, for the damage tests. */
	size_t pcln_hdr_words, names, ftab, funcs, func_size, field;
	size_t nrela;
};

/* Functions laid out in .text: {name, offset, size, funcID}; the last is an ABI wrapper. */
static const struct {
	const char *name;
	uint32_t off, size;
	uint8_t funcid;
} funcs[] = {
	{ "main.alpha", 0x00, 0x40, 0 },
	{ "main.beta", 0x40, 0x20, 0 },
	{ "crypto/tls.(*Conn).Read", 0x60, 0x60, 0 },
	{ "main.alpha", 0xc0, 0x20, FUNCID_WRAPPER },
};

#define NFUNCS (sizeof(funcs) / sizeof(funcs[0]))
#define TEXT_END 0xe0

static void w32(uint8_t *p, uint64_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static void w64(uint8_t *p, uint64_t v)
{
	w32(p, v);
	w32(p + 4, v >> 32);
}

static void add_rela(struct image *img, uint64_t where, uint64_t value)
{
	Elf64_Rela r = { .r_offset = where, .r_info = ELF64_R_INFO(0, R_X86_64_RELATIVE),
			 .r_addend = (int64_t)value };

	if (img->nrela < MAX_RELA)
		memcpy(img->b + RELA_OFF + img->nrela++ * sizeof(r), &r, sizeof(r));
}

/* Writes pointer @value at image offset @off, or 0 there and a relocation. */
static void put_ptr(struct image *img, const struct synth *s, size_t off, uint64_t value)
{
	bool reloc = s->relocate && s->pie;

	w64(img->b + off, reloc ? 0 : value);
	if (reloc)
		add_rela(img, BASE + off, value);
}

static size_t align8(size_t v)
{
	return (v + 7) & ~(size_t)7;
}

/* Lays out the function table at RO_OFF in the format of @s. */
static void build_pclntab(struct image *img, const struct synth *s)
{
	static const uint32_t magic[] = {
		[GO_PCLNTAB_1_2] = 0xfffffffb, [GO_PCLNTAB_1_16] = 0xfffffffa,
		[GO_PCLNTAB_1_18] = 0xfffffff0, [GO_PCLNTAB_1_20] = 0xfffffff1,
	};
	uint8_t *t = img->b + RO_OFF;
	bool modern = s->format >= GO_PCLNTAB_1_18;
	size_t nwords = s->format == GO_PCLNTAB_1_2 ? 1 : modern ? 8 : 7;
	size_t names, n, i, pos, nameoff[NFUNCS];
	uint64_t text = BASE + TEXT_OFF;

	w32(t, magic[s->format]);
	t[6] = 1;
	t[7] = 8;
	w64(t + 8, NFUNCS);
	img->pcln_hdr_words = nwords;
	img->field = modern ? 4 : 8;
	img->func_size = 48;

	if (s->format == GO_PCLNTAB_1_2) {
		/* ftab at 16, then a uint32 file table offset, the records, the names. */
		img->ftab = 16;
		img->funcs = align8(img->ftab + (2 * NFUNCS + 1) * 8 + 4);
		names = img->funcs + NFUNCS * img->func_size;
	} else {
		names = 8 + nwords * 8;
	}
	pos = names;
	for (i = 0; i < NFUNCS; i++) {
		n = strlen(funcs[i].name) + 1;
		memcpy(t + pos, funcs[i].name, n);
		nameoff[i] = pos - (s->format == GO_PCLNTAB_1_2 ? 0 : names);
		pos += n;
	}
	img->names = names;
	if (s->format != GO_PCLNTAB_1_2) {
		size_t sub = align8(pos);	/* cutab = filetab = pctab = functab: empty */

		w64(t + 8 + 8, 0);					/* nfiles */
		if (modern) {
			w64(t + 8 + 3 * 8, names);
			for (i = 4; i < 8; i++)
				w64(t + 8 + i * 8, sub);
			if (s->relocate && s->pie) {
				w64(t + 8 + 2 * 8, 0);
				add_rela(img, BASE + RO_OFF + 8 + 2 * 8, text);
			} else {
				w64(t + 8 + 2 * 8, text);
			}
		} else {
			w64(t + 8 + 2 * 8, names);
			for (i = 3; i < 7; i++)
				w64(t + 8 + i * 8, sub);
		}
		img->ftab = sub;
		img->funcs = sub + (2 * NFUNCS + 1) * img->field + 4;
		img->funcs = align8(img->funcs);
	}
	/* funcoff is relative to the table start (1.2) or to the function table (1.16+). */
	for (i = 0; i <= NFUNCS; i++) {
		size_t e = img->ftab + 2 * i * img->field;
		uint64_t entry = i < NFUNCS ? funcs[i].off : TEXT_END;
		size_t rec = img->funcs + i * img->func_size;
		uint64_t funcoff = rec - (s->format == GO_PCLNTAB_1_2 ? 0 : img->ftab);

		if (modern) {
			w32(t + e, entry);
			if (i < NFUNCS)
				w32(t + e + 4, funcoff);
		} else {
			put_ptr(img, s, RO_OFF + e, text + entry);
			if (i < NFUNCS)
				w64(t + e + 8, funcoff);
		}
		if (i == NFUNCS)
			break;
		if (modern)
			w32(t + rec, entry);
		else
			put_ptr(img, s, RO_OFF + rec, text + entry);
		w32(t + rec + img->field, nameoff[i]);
		t[rec + img->field + 32 + (s->format >= GO_PCLNTAB_1_20 ? 4 : 0)] = funcs[i].funcid;
	}
}

static void build_buildinfo(struct image *img, const struct synth *s)
{
	static const char magic[] = "\xff Go buildinf:";
	uint8_t *d = img->b + DATA_OFF;
	size_t n = strlen(s->version);

	memcpy(d, magic, 14);
	d[14] = 8;
	if (s->buildinfo == BI_INLINE) {
		d[15] = 2;
		d[32] = n;	/* a one-byte varint */
		memcpy(d + 33, s->version, n);
		return;
	}
	/* Pointer format: offset 16 points to a string header {data, len} at 0x40. */
	put_ptr(img, s, DATA_OFF + 16, BASE + DATA_OFF + 0x40);
	put_ptr(img, s, DATA_OFF + 0x40, BASE + DATA_OFF + 0x80);
	w64(d + 0x48, n);
	memcpy(d + 0x80, s->version, n);
}

static void build(struct image *img, const struct synth *s)
{
	static const char shstr[] = "\0.text\0.gopclntab\0.go.buildinfo\0.shstrtab\0.rela.dyn\0"
				    ".data.rel.ro\0.data.rel.ro.gopclntab\0";
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img->b;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img->b + sizeof(*eh));
	Elf64_Shdr sh[6];
	size_t i, nsh = 0;

	memset(img, 0, sizeof(*img));
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = s->pie ? ET_DYN : ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = BASE + TEXT_OFF;
	eh->e_phoff = sizeof(*eh);
	eh->e_shoff = SHDR_OFF;
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = 3;
	eh->e_shentsize = sizeof(Elf64_Shdr);

	ph[0] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_X, .p_offset = 0,
			      .p_vaddr = BASE, .p_paddr = BASE, .p_filesz = TEXT_OFF + TEXT_SIZE,
			      .p_memsz = TEXT_OFF + TEXT_SIZE, .p_align = 0x1000 };
	ph[1] = (Elf64_Phdr){ .p_type = PT_LOAD,
			      .p_flags = PF_R | (s->pie ? PF_W : 0),
			      .p_offset = RO_OFF,
			      .p_vaddr = BASE + RO_OFF,
			      .p_paddr = BASE + RO_OFF,
			      .p_filesz = RO_SIZE,
			      .p_memsz = RO_SIZE,
			      .p_align = 0x1000 };
	ph[2] = (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = PF_R | PF_W, .p_offset = DATA_OFF,
			      .p_vaddr = BASE + DATA_OFF, .p_paddr = BASE + DATA_OFF,
			      .p_filesz = DATA_SIZE, .p_memsz = DATA_SIZE, .p_align = 0x1000 };

	/* .text: INT3 filler, a stack-check prologue and returns in main.alpha. */
	memset(img->b + TEXT_OFF, 0xcc, TEXT_SIZE);
	memcpy(img->b + TEXT_OFF, "\x49\x3b\x66\x10\x76\x08\x48\x83\xec\x18\xc3", 11);
	img->b[TEXT_OFF + 0x3f] = 0xc3;

	if (s->format != GO_PCLNTAB_NONE)
		build_pclntab(img, s);
	if (s->buildinfo != BI_NONE)
		build_buildinfo(img, s);
	memcpy(img->b + SHSTR_OFF, shstr, sizeof(shstr));

	memset(sh, 0, sizeof(sh));
	nsh = 1;
	sh[nsh++] = (Elf64_Shdr){ .sh_name = 1, .sh_type = SHT_PROGBITS,
				  .sh_flags = SHF_ALLOC | SHF_EXECINSTR, .sh_addr = BASE + TEXT_OFF,
				  .sh_offset = TEXT_OFF, .sh_size = TEXT_SIZE, .sh_addralign = 32 };
	if (s->section) {
		const char *hit = memmem(shstr, sizeof(shstr), s->section, strlen(s->section) + 1);

		sh[nsh++] = (Elf64_Shdr){ .sh_name = hit ? (Elf64_Word)(hit - shstr) : 0,
					  .sh_type = SHT_PROGBITS, .sh_flags = SHF_ALLOC,
					  .sh_addr = BASE + RO_OFF, .sh_offset = RO_OFF,
					  .sh_size = RO_SIZE, .sh_addralign = 32 };
	}
	if (s->buildinfo != BI_NONE)
		sh[nsh++] = (Elf64_Shdr){ .sh_name = 18, .sh_type = SHT_PROGBITS,
					  .sh_flags = SHF_ALLOC | SHF_WRITE,
					  .sh_addr = BASE + DATA_OFF, .sh_offset = DATA_OFF,
					  .sh_size = DATA_SIZE, .sh_addralign = 16 };
	eh->e_shstrndx = nsh;
	sh[nsh++] = (Elf64_Shdr){ .sh_name = 32, .sh_type = SHT_STRTAB, .sh_offset = SHSTR_OFF,
				  .sh_size = sizeof(shstr), .sh_addralign = 1 };
	if (img->nrela)
		sh[nsh++] = (Elf64_Shdr){ .sh_name = 42, .sh_type = SHT_RELA, .sh_flags = SHF_ALLOC,
					  .sh_offset = RELA_OFF,
					  .sh_size = img->nrela * sizeof(Elf64_Rela),
					  .sh_entsize = sizeof(Elf64_Rela), .sh_addralign = 8 };
	eh->e_shnum = nsh;
	for (i = 0; i < nsh; i++)
		memcpy(img->b + SHDR_OFF + i * sizeof(sh[0]), &sh[i], sizeof(sh[0]));
}

static int open_image(const struct image *img, size_t len, struct go_binary **gb, char *err,
		      size_t err_len)
{
	return go_binary_open_mem(img->b, len, "synthetic", gb, err, err_len);
}

/* A well-formed synthetic binary must give back exactly what the builder laid out. */
static void check_valid(const struct synth *s, const char *what)
{
	static struct image img;
	struct go_binary *gb;
	struct go_func fn;
	char err[256] = "";
	size_t i;
	int ret;

	build(&img, s);
	ret = open_image(&img, sizeof(img.b), &gb, err, sizeof(err));
	CHECK(ret == 0, "%s: open: %d %s", what, ret, err);
	if (ret)
		return;
	CHECK(go_binary_pclntab_format(gb) == s->format, "%s: format %d", what,
	      go_binary_pclntab_format(gb));
	CHECK(go_binary_is_pie(gb) == s->pie, "%s: pie", what);
	CHECK(!go_binary_has_symtab(gb), "%s: symtab", what);
	if (s->buildinfo != BI_NONE)
		CHECK(go_binary_version(gb) && !strcmp(go_binary_version(gb), s->version),
		      "%s: version %s", what, go_binary_version(gb));
	else
		CHECK(!go_binary_version(gb), "%s: version", what);
	CHECK(go_binary_func_count(gb) == NFUNCS, "%s: %zu functions", what,
	      go_binary_func_count(gb));
	for (i = 0; i < NFUNCS; i++) {
		const char *name;

		ret = go_binary_func_at(gb, i, &name, &fn);
		CHECK(!ret && !strcmp(name, funcs[i].name), "%s: function %zu: %d %s", what, i, ret,
		      ret ? "" : name);
		CHECK(!ret && fn.vaddr == BASE + TEXT_OFF + funcs[i].off &&
			      fn.size == funcs[i].size &&
			      fn.file_offset == TEXT_OFF + funcs[i].off &&
			      fn.source == GO_FUNC_PCLNTAB,
		      "%s: function %zu at %#" PRIx64 " size %#" PRIx64 " offset %#" PRIx64, what,
		      i, fn.vaddr, fn.size, fn.file_offset);
	}
	CHECK(go_binary_func_at(gb, NFUNCS, &(const char *){ NULL }, &fn) == -ERANGE, "%s: range",
	      what);
	/* main.alpha has an ABI wrapper after it: the body must win. */
	CHECK(!go_binary_find_func(gb, "main.alpha", &fn) && fn.vaddr == BASE + TEXT_OFF,
	      "%s: main.alpha at %#" PRIx64, what, fn.vaddr);
	CHECK(!go_binary_find_func(gb, "crypto/tls.(*Conn).Read", &fn) &&
		      fn.vaddr == BASE + TEXT_OFF + 0x60 && fn.size == 0x60,
	      "%s: Read", what);
	CHECK(go_binary_find_func(gb, "main.gamma", &fn) == -ENOENT, "%s: gamma", what);
	CHECK(go_binary_bytes(gb, BASE + TEXT_OFF, 11) &&
		      !memcmp(go_binary_bytes(gb, BASE + TEXT_OFF, 11), img.b + TEXT_OFF, 11),
	      "%s: bytes", what);
	CHECK(!go_binary_bytes(gb, BASE + TEXT_OFF + TEXT_SIZE - 4, 8), "%s: bytes past end", what);
	CHECK(!go_binary_bytes(gb, UINT64_MAX - 2, 8), "%s: wrapping read", what);
	go_binary_close(gb);
}

static void test_valid_layouts(void)
{
	static const enum go_pclntab_format formats[] = {
		GO_PCLNTAB_1_2, GO_PCLNTAB_1_16, GO_PCLNTAB_1_18, GO_PCLNTAB_1_20,
	};
	static const char *const sections[] = { ".gopclntab", ".data.rel.ro.gopclntab",
						".data.rel.ro", NULL };
	size_t f, p, pie;
	char what[160];

	for (f = 0; f < 4; f++) {
		for (p = 0; p < 4; p++) {
			for (pie = 0; pie < 3; pie++) {
				struct synth s = {
					.format = formats[f], .section = sections[p],
					.pie = pie > 0, .relocate = pie == 2,
					.buildinfo = f < 2 ? BI_POINTER : BI_INLINE,
					.version = f < 2 ? "go1.16.15" : "go1.20.14",
				};

				snprintf(what, sizeof(what), "format %d in %s, %s", formats[f],
					 sections[p] ? sections[p] : "no section",
					 pie == 2 ? "PIE with relocations"
					 : pie	  ? "PIE"
						  : "static");
				check_valid(&s, what);
			}
		}
	}
}

static void test_versions_and_abi(void)
{
	static const struct {
		const char *version;
		int minor, patch;
		bool amd64_regabi;
	} cases[] = {
		{ "go1.16.15", 16, 15, false }, { "go1.17", 17, 0, true },
		{ "go1.21rc2", 21, 0, true },   { "devel go1.23-abcdef Tue", 23, 0, true },
	};
	static struct image img;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct synth s = { .format = GO_PCLNTAB_1_18, .section = ".gopclntab",
				   .buildinfo = BI_INLINE, .version = cases[i].version };
		struct go_binary *gb;
		int minor = -1, patch = -1;

		build(&img, &s);
		if (open_image(&img, sizeof(img.b), &gb, NULL, 0)) {
			CHECK(0, "%s: open", cases[i].version);
			continue;
		}
		CHECK(!go_binary_version_number(gb, &minor, &patch) && minor == cases[i].minor &&
			      patch == cases[i].patch,
		      "%s: %d.%d", cases[i].version, minor, patch);
		CHECK(go_binary_register_abi(gb) == cases[i].amd64_regabi, "%s: ABI",
		      cases[i].version);
		CHECK(go_binary_arch(gb) == GO_ARCH_AMD64, "arch");
		go_binary_close(gb);
	}
}

/* Damages one field of a valid Go 1.18 image and expects @want from go_binary_open_mem(). */
typedef void (*damage_fn)(struct image *img);

static void damage_nfunc_zero(struct image *img) { w64(img->b + RO_OFF + 8, 0); }
static void damage_nfunc_huge(struct image *img) { w64(img->b + RO_OFF + 8, 1ull << 40); }
static void damage_nfunc_past(struct image *img) { w64(img->b + RO_OFF + 8, 600); }
static void damage_quantum(struct image *img) { img->b[RO_OFF + 6] = 3; }
static void damage_ptrsize(struct image *img) { img->b[RO_OFF + 7] = 4; }
static void damage_pad(struct image *img) { img->b[RO_OFF + 4] = 1; }
static void damage_magic(struct image *img) { img->b[RO_OFF] = 0xf5; }
static void damage_text_start(struct image *img) { w64(img->b + RO_OFF + 24, 0x1000); }
static void damage_names_off(struct image *img) { w64(img->b + RO_OFF + 32, 0xfffff); }
static void damage_order(struct image *img) { w64(img->b + RO_OFF + 40, 0x10); }
static void damage_ftab_off(struct image *img) { w64(img->b + RO_OFF + 64, RO_SIZE - 8); }

static void damage_unsorted(struct image *img)
{
	w32(img->b + RO_OFF + img->ftab + 2 * 4 * 2, 0x08); /* third entry before the second */
}

static void damage_entry_past_text(struct image *img)
{
	w32(img->b + RO_OFF + img->ftab + 2 * 4 * NFUNCS, 0x10000);
}

static void damage_funcoff(struct image *img)
{
	w32(img->b + RO_OFF + img->ftab + 4, 0xfffffff0);
}

static void damage_record_entry(struct image *img)
{
	w32(img->b + RO_OFF + img->funcs + img->func_size, 0x44);
}

static void damage_nameoff(struct image *img)
{
	w32(img->b + RO_OFF + img->funcs + 4, 0x7fffffff);
}

static void damage_name_unterminated(struct image *img)
{
	size_t end = (img->b[RO_OFF + 40] | img->b[RO_OFF + 41] << 8);	/* cutab offset */

	memset(img->b + RO_OFF + img->names, 'x', end - img->names);
}

static void damage_section_outside(struct image *img)
{
	Elf64_Shdr *sh = (Elf64_Shdr *)(img->b + SHDR_OFF) + 2;	/* .gopclntab */

	sh->sh_offset = 0x7ffffff0;
}

static void damage_buildinfo_len(struct image *img) { img->b[DATA_OFF + 32] = 0xff; }
static void damage_buildinfo_varint(struct image *img) { memset(img->b + DATA_OFF + 32, 0x80, 48); }
static void damage_buildinfo_text(struct image *img) { img->b[DATA_OFF + 34] = 0x01; }
static void damage_buildinfo_endian(struct image *img) { img->b[DATA_OFF + 15] = 3; }
static void damage_elf_magic(struct image *img) { img->b[1] = 'X'; }
static void damage_phoff(struct image *img) { ((Elf64_Ehdr *)img->b)->e_phoff = 0x7ffffff0; }

static void damage_no_go(struct image *img)
{
	Elf64_Shdr *sh = (Elf64_Shdr *)(img->b + SHDR_OFF) + 2;	/* .gopclntab */

	memset(img->b + RO_OFF, 0, RO_SIZE);
	memset(img->b + DATA_OFF, 0, DATA_SIZE);
	sh->sh_name = 0;
}

static void test_damaged(void)
{
	static const struct {
		const char *what;
		damage_fn fn;
		int want;
	} cases[] = {
		{ "no functions", damage_nfunc_zero, -ENOEXEC },
		{ "2^40 functions", damage_nfunc_huge, -ENOEXEC },
		{ "function table past the section", damage_nfunc_past, -ENOEXEC },
		{ "PC quantum 3", damage_quantum, -ENOEXEC },
		{ "pointer size 4 in a 64-bit file", damage_ptrsize, -ENOEXEC },
		{ "non-zero padding", damage_pad, -ENOEXEC },
		{ "unknown magic", damage_magic, -ENOEXEC },
		{ "textStart outside .text", damage_text_start, -ENOEXEC },
		{ "name table out of bounds", damage_names_off, -ENOEXEC },
		{ "subtables out of order", damage_order, -ENOEXEC },
		{ "function table at the end", damage_ftab_off, -ENOEXEC },
		{ "entries unsorted", damage_unsorted, -ENOEXEC },
		{ "end entry past .text", damage_entry_past_text, -ENOEXEC },
		{ "record offset out of bounds", damage_funcoff, -ENOEXEC },
		{ "record entry mismatch", damage_record_entry, -ENOEXEC },
		{ "name offset out of bounds", damage_nameoff, -ENOEXEC },
		{ "names without NUL", damage_name_unterminated, -ENOEXEC },
		{ ".gopclntab outside the file", damage_section_outside, -ENOEXEC },
		{ "version longer than the section", damage_buildinfo_len, -ENOEXEC },
		{ "endless varint", damage_buildinfo_varint, -ENOEXEC },
		{ "control character in version", damage_buildinfo_text, -ENOEXEC },
		{ "big-endian build info", damage_buildinfo_endian, -ENOTSUP },
		{ "not ELF", damage_elf_magic, -ENOEXEC },
		{ "program headers outside the file", damage_phoff, -ENOEXEC },
		{ "no Go tables", damage_no_go, -ENODATA },
	};
	static struct image img;
	struct synth s = { .format = GO_PCLNTAB_1_18, .section = ".gopclntab",
			   .buildinfo = BI_INLINE, .version = "go1.19.8" };
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct go_binary *gb = (struct go_binary *)&img;
		char err[256] = "";
		int ret;

		build(&img, &s);
		cases[i].fn(&img);
		ret = open_image(&img, sizeof(img.b), &gb, err, sizeof(err));
		CHECK(ret == cases[i].want && !gb && err[0], "%s: %d (want %d) \"%s\"",
		      cases[i].what, ret, cases[i].want, err);
		if (!ret)
			go_binary_close(gb);
	}
}

/* The old pointer format: a dangling pointer must be refused, not followed. */
static void test_buildinfo_pointers(void)
{
	static struct image img;
	struct synth s = { .format = GO_PCLNTAB_1_16, .section = ".gopclntab",
			   .buildinfo = BI_POINTER, .version = "go1.16.15" };
	struct go_binary *gb;
	int ret;

	build(&img, &s);
	w64(img.b + DATA_OFF + 16, 0xdead0000);
	ret = open_image(&img, sizeof(img.b), &gb, NULL, 0);
	CHECK(ret == -ENOEXEC, "dangling build info pointer: %d", ret);
	build(&img, &s);
	w64(img.b + DATA_OFF + 0x48, 1u << 20);
	ret = open_image(&img, sizeof(img.b), &gb, NULL, 0);
	CHECK(ret == -ENOEXEC, "huge version length: %d", ret);
}

/* Truncations at every few bytes and random bytes: never a crash, and a consistent result. */
static void fuzz_images(void)
{
	static const enum go_pclntab_format formats[] = {
		GO_PCLNTAB_1_2, GO_PCLNTAB_1_16, GO_PCLNTAB_1_18, GO_PCLNTAB_1_20,
	};
	static struct image img, mut;
	unsigned long long rng = 0x2545f4914f6cdd1dULL;
	size_t f, len, iter, opened = 0, total = 0;

	for (f = 0; f < 4; f++) {
		struct synth s = { .format = formats[f],
				   .section = f & 1 ? NULL : ".gopclntab",
				   .pie = f >= 2,
				   .relocate = f == 3,
				   .buildinfo = f < 2 ? BI_POINTER : BI_INLINE,
				   .version = "go1.19.8" };

		build(&img, &s);
		for (len = 0; len <= sizeof(img.b); len += 3) {
			struct go_binary *gb;

			total++;
			if (open_image(&img, len, &gb, NULL, 0))
				continue;
			opened++;
			go_binary_close(gb);
		}
		for (iter = 0; iter < FUZZ_ITERATIONS; iter++) {
			struct go_binary *gb;
			size_t n, i;

			mut = img;
			for (n = 1 + fuzz_rand(&rng) % 6; n; n--) {
				/* Mostly in the tables, sometimes anywhere (headers included). */
				size_t at = iter % 4 ? RO_OFF + fuzz_rand(&rng) % 0x200 :
						       fuzz_rand(&rng) % sizeof(mut.b);

				mut.b[at] = iter % 3 ? (uint8_t)fuzz_rand(&rng) : mut.b[at] ^ 0x80;
			}
			total++;
			if (open_image(&mut, sizeof(mut.b), &gb, NULL, 0))
				continue;
			opened++;
			for (i = 0; i < go_binary_func_count(gb); i++) {
				struct go_func fn;
				const char *name;

				if (!go_binary_func_at(gb, i, &name, &fn)) {
					CHECK(strlen(name) < RO_SIZE, "runaway name");
					CHECK(fn.vaddr + fn.size <= BASE + TEXT_OFF + TEXT_SIZE,
					      "function outside .text");
				}
			}
			go_binary_find_func(gb, "crypto/tls.(*Conn).Read", &(struct go_func){ 0 });
			go_binary_version(gb);
			go_binary_close(gb);
		}
	}
	printf("fuzzed %zu damaged images, %zu still opened\n", total, opened);
}

/* Non-ELF and tiny inputs, through the file API too. */
static void test_files(void)
{
	static const char garbage[] = "\x7f" "ELF but not really an ELF header at all";
	char path[] = "/tmp/tlsdump-go-XXXXXX", dir[512], err[256];
	const char *tmp = getenv("TMPDIR");
	struct go_binary *gb;
	struct go_offsets off;
	int fd, ret;

	ret = go_binary_open("/nonexistent/go-binary", &gb, err, sizeof(err));
	CHECK(ret == -ENOENT && strstr(err, "/nonexistent/go-binary"), "missing file: %d %s", ret,
	      err);
	ret = go_binary_open("/", &gb, err, sizeof(err));
	CHECK(ret == -ENOEXEC, "directory: %d", ret);
	CHECK(go_binary_open_mem(garbage, 3, NULL, &gb, NULL, 0) == -ENOEXEC, "3 bytes");
	CHECK(go_binary_open_mem(garbage, sizeof(garbage), NULL, &gb, NULL, 0) == -ENOEXEC,
	      "bad header");
	go_binary_close(NULL);

	if (tmp) {
		snprintf(dir, sizeof(dir), "%s/tlsdump-go-XXXXXX", tmp);
		fd = mkstemp(dir);
	} else {
		fd = mkstemp(path);
		snprintf(dir, sizeof(dir), "%s", path);
	}
	CHECK(fd >= 0, "mkstemp");
	if (fd < 0)
		return;
	CHECK(write(fd, garbage, sizeof(garbage)) == sizeof(garbage), "write");
	close(fd);
	ret = go_binary_open(dir, &gb, err, sizeof(err));
	CHECK(ret == -ENOEXEC, "garbage file: %d", ret);
	ret = go_dwarf_offsets(dir, &off, err, sizeof(err));
	CHECK(ret < 0 && off.g_goid == GO_OFFSET_UNKNOWN, "DWARF of garbage: %d", ret);
	ret = go_dwarf_offsets("/nonexistent/go-binary", &off, err, sizeof(err));
	CHECK(ret == -ENOENT, "DWARF of a missing file: %d", ret);
	unlink(dir);
}

static void test_table(void)
{
	struct go_offsets o;
	int first, last;

	go_offsets_table_range(&first, &last);
	CHECK(first == 17 && last == 22, "table range 1.%d - 1.%d", first, last);
	CHECK(!go_offsets_from_table(19, GO_ARCH_AMD64, &o) && o.g_goid == 152 &&
		      o.pfd_sysfd == 16 && o.netfd_raddr == 112,
	      "table for 1.19");
	CHECK(!go_offsets_from_table(22, GO_ARCH_ARM64, &o), "table for 1.22 arm64");
	CHECK(go_offsets_from_table(23, GO_ARCH_AMD64, &o) == -ENOENT &&
		      o.g_goid == GO_OFFSET_UNKNOWN,
	      "no table for 1.23");
	CHECK(go_offsets_from_table(16, GO_ARCH_AMD64, &o) == -ENOENT, "no table for 1.16");
	CHECK(go_offsets_from_table(19, GO_ARCH_386, &o) == -ENOENT, "no table for 386");
}

/* Known encodings: returns, prologue entry sites and kernel emulation classes. */
static void test_disasm_known(void)
{
	/* amd64: Go prologue, RET, RET imm16, a data byte, bnd RET, int3 padding. */
	static const uint8_t x86[] = {
		0x49, 0x3b, 0x66, 0x10,			/* 0: cmp rsp, [r14+0x10] */
		0x0f, 0x86, 0x10, 0x00, 0x00, 0x00,	/* 4: jbe +0x10 */
		0x48, 0x83, 0xec, 0x18,			/* 10: sub rsp, 0x18 */
		0xc3,					/* 14: ret */
		0xc2, 0x08, 0x00,			/* 15: ret 8 */
		0x0f, 0x0b,				/* 18: ud2 */
		0xf2, 0xc3,				/* 20: bnd ret */
		0xcb,					/* 22: retf: not a return here */
		0xcc, 0xcc,				/* 23: int3 padding */
	};
	/* amd64, large frame: lea r12, [rsp-0x100]; cmp r12, [r14+0x10]; jbe. */
	static const uint8_t x86_big[] = {
		0x4c, 0x8d, 0xa4, 0x24, 0x00, 0xff, 0xff, 0xff,
		0x4d, 0x3b, 0x66, 0x10,
		0x76, 0x02,
		0xc3, 0xcc,
	};
	/* amd64, no stack check: mov rax, [rsp] writes an argument register. */
	static const uint8_t x86_plain[] = { 0x48, 0x8b, 0x04, 0x24, 0x74, 0x00, 0xc3 };
	/* arm64: MOVD 16(g), R16; CMP R16, RSP; BLS; RET; RETAA; zero padding; RET x1. */
	static const uint32_t arm[] = {
		0xf9400b90, 0xeb3063ff, 0x54000069, 0xd65f03c0, 0xd65f0bff, 0x00000000,
		0xd65f0020,
	};
	uint32_t rets[8];
	struct disasm_result r = { .returns = rets, .returns_cap = 8 };
	static const struct {
		enum disasm_arch arch;
		const char *bytes;
		size_t len;
		enum disasm_probe_cost want;
	} costs[] = {
		{ DISASM_ARCH_X86_64, "\x0f\x86\x10\x00\x00\x00", 6, DISASM_PROBE_EMULATED },
		{ DISASM_ARCH_X86_64, "\x76\x02", 2, DISASM_PROBE_EMULATED },
		{ DISASM_ARCH_X86_64, "\x66\x0f\x86\x10\x00", 5, DISASM_PROBE_REJECTED },
		{ DISASM_ARCH_X86_64, "\xe8\x00\x00\x00\x00", 5, DISASM_PROBE_EMULATED },
		{ DISASM_ARCH_X86_64, "\xeb\xfe", 2, DISASM_PROBE_EMULATED },
		{ DISASM_ARCH_X86_64, "\x55", 1, DISASM_PROBE_EMULATED },
		{ DISASM_ARCH_X86_64, "\x41\x55", 2, DISASM_PROBE_EMULATED },
		{ DISASM_ARCH_X86_64, "\x48\x55", 2, DISASM_PROBE_STEPPED },
		{ DISASM_ARCH_X86_64, "\x90", 1, DISASM_PROBE_EMULATED },
		{ DISASM_ARCH_X86_64, "\x0f\x1f\x00", 3, DISASM_PROBE_EMULATED },
		{ DISASM_ARCH_X86_64, "\x0f\x1f\x44\x00\x00", 5, DISASM_PROBE_EMULATED },
		{ DISASM_ARCH_X86_64, "\xc3", 1, DISASM_PROBE_STEPPED },
		{ DISASM_ARCH_X86_64, "\x49\x3b\x66\x10", 4, DISASM_PROBE_STEPPED },
		{ DISASM_ARCH_X86_64, "\xcc", 1, DISASM_PROBE_REJECTED },
		{ DISASM_ARCH_X86_64, "\x0f\x0b", 2, DISASM_PROBE_REJECTED },
		{ DISASM_ARCH_X86_64, "\x0f", 1, DISASM_PROBE_REJECTED },
		{ DISASM_ARCH_ARM64, "\x69\x00\x00\x54", 4, DISASM_PROBE_EMULATED }, /* b.ls */
		{ DISASM_ARCH_ARM64, "\xc0\x03\x5f\xd6", 4, DISASM_PROBE_EMULATED }, /* ret */
		{ DISASM_ARCH_ARM64, "\x00\x00\x00\x94", 4, DISASM_PROBE_EMULATED }, /* bl */
		{ DISASM_ARCH_ARM64, "\x90\x0b\x40\xf9", 4, DISASM_PROBE_STEPPED },  /* ldr */
		{ DISASM_ARCH_ARM64, "\x1f\x20\x03\xd5", 4, DISASM_PROBE_STEPPED },  /* nop */
		{ DISASM_ARCH_ARM64, "\x40\x00\x00\x58", 4, DISASM_PROBE_REJECTED }, /* ldr lit */
		{ DISASM_ARCH_ARM64, "\x01\x7c\x5f\xc8", 4, DISASM_PROBE_REJECTED }, /* ldxr */
		{ DISASM_ARCH_ARM64, "\x01\x00\x00\xd4", 4, DISASM_PROBE_REJECTED }, /* svc */
		{ DISASM_ARCH_ARM64, "\x00\x42\x3b\xd5", 4, DISASM_PROBE_REJECTED }, /* mrs */
		{ DISASM_ARCH_ARM64, "\x00\x00", 2, DISASM_PROBE_REJECTED },
	};
	size_t i;
	int ret;

	ret = disasm_analyze(DISASM_ARCH_X86_64, x86, sizeof(x86), &r);
	CHECK(!ret && r.n_returns == 3 && rets[0] == 14 && rets[1] == 15 && rets[2] == 20,
	      "amd64 returns: %d %zu", ret, r.n_returns);
	CHECK(r.entry_site == 4 && r.entry_cost == DISASM_PROBE_EMULATED && r.skipped == 0,
	      "amd64 entry site %u cost %d skipped %zu", r.entry_site, r.entry_cost, r.skipped);
	ret = disasm_analyze(DISASM_ARCH_X86_64, x86_big, sizeof(x86_big), &r);
	CHECK(!ret && r.entry_site == 12 && r.n_returns == 1 && rets[0] == 14,
	      "amd64 big frame: entry %u", r.entry_site);
	ret = disasm_analyze(DISASM_ARCH_X86_64, x86_plain, sizeof(x86_plain), &r);
	CHECK(!ret && r.entry_site == 0 && r.entry_cost == DISASM_PROBE_STEPPED,
	      "amd64 without stack check: entry %u", r.entry_site);
	ret = disasm_analyze(DISASM_ARCH_ARM64, arm, sizeof(arm), &r);
	CHECK(!ret && r.n_returns == 3 && rets[0] == 12 && rets[1] == 16 && rets[2] == 24,
	      "arm64 returns: %zu", r.n_returns);
	CHECK(r.entry_site == 8 && r.entry_cost == DISASM_PROBE_EMULATED,
	      "arm64 entry site %u", r.entry_site);
	/* Too small an array: the count still tells how many there are. */
	r.returns_cap = 1;
	ret = disasm_analyze(DISASM_ARCH_X86_64, x86, sizeof(x86), &r);
	CHECK(!ret && r.n_returns == 3 && rets[0] == 14, "capped returns");
	r.returns_cap = 8;
	/* A data island: amd64 resynchronises and counts the bytes. */
	{
		/* 0x06 and 0x07 (push/pop es) do not exist in 64-bit mode. */
		static const uint8_t island[] = { 0xc3, 0x06, 0x07, 0xc3 };

		ret = disasm_analyze(DISASM_ARCH_X86_64, island, sizeof(island), &r);
		CHECK(!ret && r.n_returns == 2 && rets[0] == 0 && rets[1] == 3 && r.skipped == 2,
		      "data island: %zu returns, %zu skipped", r.n_returns, r.skipped);
	}
	CHECK(disasm_analyze(7, x86, sizeof(x86), &r) == -EINVAL, "bad arch");
	CHECK(disasm_analyze(DISASM_ARCH_X86_64, NULL, 4, &r) == -EINVAL, "NULL code");
	CHECK(!disasm_analyze(DISASM_ARCH_ARM64, arm, 3, &r) && r.n_returns == 0 && r.skipped == 3,
	      "short arm64");
	for (i = 0; i < sizeof(costs) / sizeof(costs[0]); i++) {
		size_t n;

		CHECK(disasm_probe_cost(costs[i].arch, costs[i].bytes, costs[i].len, &n) ==
			      costs[i].want,
		      "cost of case %zu", i);
	}
}

static void fuzz_disasm(void)
{
	static uint8_t code[4096];
	unsigned long long rng = 0x853c49e6748fea9bULL;
	uint32_t rets[16];
	size_t iter, i;

	for (iter = 0; iter < 400; iter++) {
		struct disasm_result r = { .returns = rets, .returns_cap = 16 };
		size_t len = fuzz_rand(&rng) % sizeof(code);
		enum disasm_arch arch = iter & 1 ? DISASM_ARCH_ARM64 : DISASM_ARCH_X86_64;

		for (i = 0; i < len; i++)
			code[i] = (uint8_t)fuzz_rand(&rng);
		CHECK(!disasm_analyze(arch, code, len, &r), "random code");
		for (i = 0; i < r.n_returns && i < 16; i++)
			CHECK(rets[i] < len, "return past the end");
		CHECK(r.entry_site < len || !len, "entry past the end");
		disasm_probe_cost(arch, code, len, NULL);
	}
}

int main(void)
{
	test_valid_layouts();
	test_versions_and_abi();
	test_damaged();
	test_buildinfo_pointers();
	test_files();
	test_table();
	test_disasm_known();
	fuzz_images();
	fuzz_disasm();
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("all checks passed\n");
	return 0;
}
