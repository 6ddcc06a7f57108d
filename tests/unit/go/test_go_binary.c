/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * go_binary, disasm and go_dwarf against real Go binaries built by
 * build_fixtures.sh, each fact checked against a source independent of the
 * code under test:
 *   version              `go env GOVERSION`
 *   function addresses   `go tool objdump` (for a stripped binary: of its
 *   and return offsets   unstripped twin, whose code is identical)
 *   file offsets         the instruction bytes objdump prints, read back
 *                        from the file at the computed offset
 *   .gopclntab           every function of the table against .symtab
 *   struct offsets       the compiler's -asmhdr layout and reflect
 * then fuzzes the real binaries (truncations, random bytes in .gopclntab).
 *
 * Usage: test_go_binary FIXTURE_DIR
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "disasm.h"
#include "go_binary.h"
#include "go_dwarf.h"
#include "test_go_common.h"

#define MAX_LINES 4096
#define MAX_OBJ_FUNCS 8

struct obj_line {
	uint64_t addr;
	uint8_t bytes[16];
	size_t nbytes;
	char mnemonic[24];
};

struct obj_func {
	char name[160];
	struct obj_line *lines;
	size_t nlines;
};

struct objdump {
	struct obj_func funcs[MAX_OBJ_FUNCS];
	size_t nfuncs;
};

static const char *const probed[] = {
	"crypto/tls.(*Conn).Read",
	"crypto/tls.(*Conn).Write",
	"crypto/tls.(*Config).writeKeyLog",
	"runtime.casgstatus",
};

#define NPROBED (sizeof(probed) / sizeof(probed[0]))

static const struct variant {
	const char *name, *twin;
	bool stripped, pie;
} variants[] = {
	{ "normal", "normal", false, false },
	{ "stripped", "normal", true, false },
	{ "pie", "pie", false, true },
	{ "pie-stripped", "pie", true, true },
	{ "extpie", "extpie", false, true },
	{ "extpie-stripped", "extpie", true, true },
};

static const char *fixtures;
static char go_version[64];

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Parses `go tool objdump` output. Returns 0, or -1 when the file is missing. */
static int parse_objdump(const char *path, struct objdump *od)
{
	char line[512];
	FILE *f = fopen(path, "r");
	struct obj_func *cur = NULL;

	memset(od, 0, sizeof(*od));
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		struct obj_line l = { 0 };
		char hex[64], *sb;
		size_t i;

		if (!strncmp(line, "TEXT ", 5)) {
			cur = od->nfuncs < MAX_OBJ_FUNCS ? &od->funcs[od->nfuncs++] : NULL;
			if (!cur)
				continue;
			sb = strstr(line + 5, "(SB)");
			if (sb)
				*sb = '\0';
			snprintf(cur->name, sizeof(cur->name), "%.159s", line + 5);
			cur->lines = calloc(MAX_LINES, sizeof(*cur->lines));
			continue;
		}
		if (!cur || !cur->lines || cur->nlines >= MAX_LINES)
			continue;
		if (sscanf(line, " %*s %" SCNx64 " %63s %23s", &l.addr, hex, l.mnemonic) != 3)
			continue;
		for (i = 0; hex[2 * i] && hex[2 * i + 1] && i < sizeof(l.bytes); i++)
			l.bytes[i] = hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]);
		l.nbytes = i;
		cur->lines[cur->nlines++] = l;
	}
	fclose(f);
	return 0;
}

static void free_objdump(struct objdump *od)
{
	size_t i;

	for (i = 0; i < od->nfuncs; i++)
		free(od->funcs[i].lines);
}

static const struct obj_func *obj_find(const struct objdump *od, const char *name)
{
	size_t i;

	for (i = 0; i < od->nfuncs; i++) {
		if (!strcmp(od->funcs[i].name, name))
			return &od->funcs[i];
	}
	return NULL;
}

/*
 * Returns true when @len bytes at file offset @off of @path equal @want.
 * @words: @want is a 32-bit word as objdump prints arm64 code, most
 * significant byte first.
 */
static bool file_has(const char *path, uint64_t off, const uint8_t *want, size_t len, bool words)
{
	uint8_t buf[16], le[16];
	FILE *f = fopen(path, "rb");
	size_t i;
	bool same;

	if (!f || len > sizeof(buf) || (words && len != 4)) {
		if (f)
			fclose(f);
		return false;
	}
	for (i = 0; i < len; i++)
		le[i] = words ? want[len - 1 - i] : want[i];
	same = !fseek(f, (long)off, SEEK_SET) && fread(buf, 1, len, f) == len &&
	       !memcmp(buf, le, len);
	fclose(f);
	return same;
}

static void check_function(struct go_binary *gb, const char *bin, const struct variant *v,
			   const struct obj_func *of, const char *name)
{
	enum disasm_arch darch = go_binary_arch(gb) == GO_ARCH_ARM64 ? DISASM_ARCH_ARM64 :
								       DISASM_ARCH_X86_64;
	uint32_t rets[64];
	struct disasm_result res = { .returns = rets, .returns_cap = 64 };
	const struct obj_line *first, *last;
	const uint8_t *code;
	struct go_func fn;
	size_t i, nret = 0, j;
	uint64_t end;

	CHECK(!go_binary_find_func(gb, name, &fn), "%s: %s not found", bin, name);
	if (!of || !of->nlines) {
		CHECK(of, "%s: %s missing from the objdump", bin, name);
		return;
	}
	first = &of->lines[0];
	last = &of->lines[of->nlines - 1];
	end = last->addr + last->nbytes;
	CHECK(fn.source == (v->stripped ? GO_FUNC_PCLNTAB : GO_FUNC_SYMTAB), "%s: %s: source %d",
	      bin, name, fn.source);
	CHECK(fn.vaddr == first->addr, "%s: %s at %#" PRIx64 ", objdump %#" PRIx64, bin, name,
	      fn.vaddr, first->addr);
	CHECK(file_has(bin, fn.file_offset, first->bytes, first->nbytes,
		       darch == DISASM_ARCH_ARM64),
	      "%s: %s: file offset %#" PRIx64 " does not hold the first instruction", bin, name,
	      fn.file_offset);
	if (v->stripped)
		CHECK(fn.size >= end - first->addr && fn.size - (end - first->addr) < 64,
		      "%s: %s: size %#" PRIx64 " vs symbol %#" PRIx64, bin, name, fn.size,
		      end - first->addr);
	else
		CHECK(fn.size == end - first->addr,
		      "%s: %s: size %#" PRIx64 " vs objdump %#" PRIx64, bin, name, fn.size,
		      end - first->addr);

	code = go_binary_bytes(gb, fn.vaddr, fn.size);
	CHECK(code, "%s: %s: code not in the file", bin, name);
	if (!code)
		return;
	CHECK(!disasm_analyze(darch, code, fn.size, &res), "%s: %s: disasm failed", bin, name);
	/* arm64: capstone 4 lacks the LSE atomics some functions use; harmless at fixed width. */
	CHECK(darch == DISASM_ARCH_ARM64 || res.skipped == 0, "%s: %s: %zu bytes skipped", bin,
	      name, res.skipped);
	for (i = 0; i < of->nlines; i++) {
		if (strcmp(of->lines[i].mnemonic, "RET"))
			continue;
		for (j = 0; j < res.n_returns && j < 64; j++) {
			if (fn.vaddr + rets[j] == of->lines[i].addr)
				break;
		}
		CHECK(j < res.n_returns, "%s: %s: RET at %#" PRIx64 " not found", bin, name,
		      of->lines[i].addr);
		nret++;
	}
	CHECK(nret && res.n_returns == nret, "%s: %s: %zu returns, objdump %zu", bin, name,
	      res.n_returns, nret);

	/* The entry site must be an instruction of the listing: a branch, or the entry. */
	for (i = 0; i < of->nlines && of->lines[i].addr != fn.vaddr + res.entry_site; i++)
		;
	CHECK(i < of->nlines, "%s: %s: entry site +%u is not an instruction", bin, name,
	      res.entry_site);
	if (i < of->nlines && res.entry_site) {
		const char *m = of->lines[i].mnemonic;

		CHECK(res.entry_cost == DISASM_PROBE_EMULATED, "%s: %s: entry cost %d", bin, name,
		      res.entry_cost);
		CHECK(darch == DISASM_ARCH_ARM64 ? m[0] == 'B' : m[0] == 'J',
		      "%s: %s: entry site +%u is %s", bin, name, res.entry_site, m);
		CHECK(res.entry_site <= (darch == DISASM_ARCH_ARM64 ? 16u : 20u),
		      "%s: %s: entry site +%u too far", bin, name, res.entry_site);
	}
	CHECK(disasm_probe_cost(darch, code + res.entry_site, fn.size - res.entry_site, NULL) ==
		      res.entry_cost,
	      "%s: %s: entry cost mismatch", bin, name);
	if (!strcmp(name, "crypto/tls.(*Conn).Read"))
		printf("  %-24s %-24s %#-9" PRIx64 " off %#-9" PRIx64
		       " %zu returns, entry site +%u\n",
		       strrchr(bin, '/') + 1, name, fn.vaddr, fn.file_offset, res.n_returns,
		       res.entry_site);
}

/*
 * Every .gopclntab function must sit where .symtab puts it: under its name,
 * or, for the ABI0 half of a function with an ABI wrapper, under name.abi0.
 */
static void check_table_vs_symtab(struct go_binary *gb, const char *bin)
{
	size_t i, n = go_binary_func_count(gb), matched = 0;

	for (i = 0; i < n; i++) {
		struct go_func pf, sf, abi0;
		char abi0_name[512];
		const char *name;

		if (go_binary_func_at(gb, i, &name, &pf)) {
			CHECK(0, "%s: function %zu unreadable", bin, i);
			continue;
		}
		if (go_binary_find_func(gb, name, &sf) || sf.source != GO_FUNC_SYMTAB)
			continue;
		snprintf(abi0_name, sizeof(abi0_name), "%s.abi0", name);
		if (sf.vaddr != pf.vaddr && !go_binary_find_func(gb, abi0_name, &abi0) &&
		    abi0.source == GO_FUNC_SYMTAB)
			sf = abi0;
		matched++;
		CHECK(sf.vaddr == pf.vaddr, "%s: %s: .symtab %#" PRIx64 ", .gopclntab %#" PRIx64,
		      bin, name, sf.vaddr, pf.vaddr);
		CHECK(sf.file_offset == pf.file_offset, "%s: %s: file offsets differ", bin, name);
		CHECK(sf.size <= pf.size && pf.size - sf.size < 64, "%s: %s: sizes %#" PRIx64
		      " vs %#" PRIx64, bin, name, sf.size, pf.size);
	}
	CHECK(n > 1000 && matched * 100 >= n * 95, "%s: %zu of %zu table functions in .symtab", bin,
	      matched, n);
}

/* Reads the value of "#define <name> <n>" from an asm header dump. Returns it or -1. */
static int64_t asm_define(const char *path, const char *name)
{
	char line[256], want[128];
	FILE *f = fopen(path, "r");
	int64_t value = -1;

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "#define %s ", name);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, want, strlen(want))) {
			value = strtoll(line + strlen(want), NULL, 10);
			break;
		}
	}
	fclose(f);
	return value;
}

/* Reads "<type> <member> <n>" from the reflect dump. Returns the offset or -1. */
static int64_t reflect_offset(const char *path, const char *type, const char *member)
{
	char line[256], t[128], m[64];
	FILE *f = fopen(path, "r");
	long long value;
	int64_t found = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%127s %63s %lld", t, m, &value) == 3 && !strcmp(t, type) &&
		    !strcmp(m, member))
			found = value;
	}
	fclose(f);
	return found;
}

static void check_offsets(const char *bin, const char *arch, const struct variant *v, int minor)
{
	static const struct {
		const char *type, *member, *asm_name;
		size_t field;
	} fields[] = {
		{ "runtime.g", "goid", "g_goid", offsetof(struct go_offsets, g_goid) },
		{ "crypto/tls.Conn", "conn", "Conn_conn",
		  offsetof(struct go_offsets, tls_conn_conn) },
		{ "net.TCPConn", "conn", "TCPConn_conn",
		  offsetof(struct go_offsets, tcpconn_conn) },
		{ "net.conn", "fd", "conn_fd", offsetof(struct go_offsets, conn_fd) },
		{ "net.netFD", "pfd", "netFD_pfd", offsetof(struct go_offsets, netfd_pfd) },
		{ "internal/poll.FD", "Sysfd", "FD_Sysfd", offsetof(struct go_offsets, pfd_sysfd) },
		{ "net.netFD", "laddr", "netFD_laddr", offsetof(struct go_offsets, netfd_laddr) },
		{ "net.netFD", "raddr", "netFD_raddr", offsetof(struct go_offsets, netfd_raddr) },
		{ "net.TCPAddr", "IP", "TCPAddr_IP", offsetof(struct go_offsets, tcpaddr_ip) },
		{ "net.TCPAddr", "Port", "TCPAddr_Port",
		  offsetof(struct go_offsets, tcpaddr_port) },
	};
	struct go_offsets dw, table;
	char asm_path[512], reflect_path[512], err[512] = "";
	int ret, tret;
	size_t i;

	snprintf(asm_path, sizeof(asm_path), "%s/asm-%s.txt", fixtures, arch);
	snprintf(reflect_path, sizeof(reflect_path), "%s/reflect-%s.txt", fixtures, arch);
	ret = go_dwarf_offsets(bin, &dw, err, sizeof(err));
	tret = go_offsets_from_table(minor, !strcmp(arch, "arm64") ? GO_ARCH_ARM64 : GO_ARCH_AMD64,
				     &table);
	if (v->stripped) {
		/* gcc's start files bring a little DWARF into an externally linked binary. */
		CHECK((ret == -ENODATA || ret == -ENOENT) && dw.g_goid == GO_OFFSET_UNKNOWN,
		      "%s: go_dwarf_offsets on a stripped binary: %d", bin, ret);
		return;
	}
	CHECK(ret == 0, "%s: go_dwarf_offsets: %d %s", bin, ret, err);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		int64_t d = *(const int64_t *)((const char *)&dw + fields[i].field);
		int64_t t = *(const int64_t *)((const char *)&table + fields[i].field);
		int64_t a = asm_define(asm_path, fields[i].asm_name);
		int64_t r = reflect_offset(reflect_path, fields[i].type, fields[i].member);

		CHECK(d >= 0 && d == a, "%s: %s.%s: DWARF %" PRId64 ", compiler %" PRId64, bin,
		      fields[i].type, fields[i].member, d, a);
		/* reflect runs on the host only; runtime.g is out of its reach. */
		CHECK(r < 0 || d == r, "%s: %s.%s: DWARF %" PRId64 ", reflect %" PRId64, bin,
		      fields[i].type, fields[i].member, d, r);
		CHECK(tret || d == t, "%s: %s.%s: DWARF %" PRId64 ", table %" PRId64, bin,
		      fields[i].type, fields[i].member, d, t);
	}
}

/* Mutates copies of @bin and checks that opening and using them never crashes. */
static void fuzz_binary(const char *bin, unsigned long long seed)
{
	static const uint8_t magic[] = { 0xf0, 0xff, 0xff, 0xff, 0x00, 0x00 };
	size_t len, pcln, i, iter, opened = 0;
	unsigned char *orig = read_file(bin, &len), *img, *hit;
	unsigned long long rng = seed;

	CHECK(orig, "%s: unreadable", bin);
	if (!orig)
		return;
	img = malloc(len);
	hit = memmem(orig, len, magic, sizeof(magic));
	CHECK(img && hit, "%s: no .gopclntab magic", bin);
	if (!img || !hit) {
		free(img);
		free(orig);
		return;
	}
	pcln = hit - orig;
	for (iter = 0; iter < 160; iter++) {
		struct go_binary *gb;
		size_t use = len, n;
		char err[256];

		memcpy(img, orig, len);
		if (iter < 40) {
			/* Truncated: across the whole file, then densely around .gopclntab. */
			use = iter < 20 ? len * iter / 20 : pcln + (fuzz_rand(&rng) % 4096);
		} else {
			/* Random bytes: the header (iterations 40-79) or anywhere in the table. */
			for (n = 1 + fuzz_rand(&rng) % 8; n; n--) {
				size_t at = pcln + (iter < 80 ? fuzz_rand(&rng) % 72 :
								 fuzz_rand(&rng) % (1 << 20));

				if (at < len)
					img[at] = (uint8_t)fuzz_rand(&rng);
			}
		}
		if (go_binary_open_mem(img, use, bin, &gb, err, sizeof(err)))
			continue;
		opened++;
		n = go_binary_func_count(gb);
		for (i = 0; i < n; i += 1 + n / 64) {
			struct go_func fn;
			const char *name;

			if (go_binary_func_at(gb, i, &name, &fn))
				continue;
			CHECK(strlen(name) < (1 << 20), "%s: runaway name", bin);
			if (fn.size < (1 << 20) && go_binary_bytes(gb, fn.vaddr, fn.size)) {
				struct disasm_result res = { 0 };

				disasm_analyze(
					go_binary_arch(gb) == GO_ARCH_ARM64 ? DISASM_ARCH_ARM64
									    : DISASM_ARCH_X86_64,
					go_binary_bytes(gb, fn.vaddr, fn.size), fn.size, &res);
			}
		}
		for (i = 0; i < NPROBED; i++) {
			struct go_func fn;

			go_binary_find_func(gb, probed[i], &fn);
		}
		go_binary_close(gb);
	}
	printf("  fuzzed %s: %zu of 160 mutants still opened\n", strrchr(bin, '/') + 1, opened);
	free(img);
	free(orig);
}

/*
 * Truncated and damaged copies of @bin on disk (go_binary_open() maps files,
 * libdwarf reads them): errors, never a crash.
 */
static void fuzz_files(const char *bin, unsigned long long seed)
{
	static const size_t cuts[] = { 0, 1, 63, 64, 4096, 65536 };
	unsigned long long rng = seed;
	size_t len, iter, use;
	unsigned char *orig = read_file(bin, &len), *img;
	char path[600], err[256];

	CHECK(orig, "%s: unreadable", bin);
	if (!orig)
		return;
	img = malloc(len);
	snprintf(path, sizeof(path), "%s.fuzz", bin);
	for (iter = 0; img && iter < 24; iter++) {
		struct go_offsets off;
		struct go_binary *gb;
		FILE *f;

		memcpy(img, orig, len);
		use = len;
		if (iter < sizeof(cuts) / sizeof(cuts[0]))
			use = cuts[iter];
		else if (iter < 16)
			use = len * (iter - 5) / 11; /* cuts through every part of the file */
		else
			for (size_t n = 0; n < 64; n++) /* random bytes in the second half: DWARF */
				img[len / 2 + fuzz_rand(&rng) % (len / 2)] =
					(uint8_t)fuzz_rand(&rng);
		f = fopen(path, "wb");
		if (!f || fwrite(img, 1, use, f) != use) {
			CHECK(0, "%s: cannot write", path);
			if (f)
				fclose(f);
			break;
		}
		fclose(f);
		if (!go_binary_open(path, &gb, err, sizeof(err)))
			go_binary_close(gb);
		go_dwarf_offsets(path, &off, err, sizeof(err));
	}
	remove(path);
	free(img);
	free(orig);
}

static void check_binary(const char *arch, const struct variant *v)
{
	char bin[512], twin[512], err[512] = "";
	struct go_binary *gb;
	struct objdump od;
	int minor = 0, patch = 0, ret;
	size_t i;

	snprintf(bin, sizeof(bin), "%s/%s-%s", fixtures, v->name, arch);
	snprintf(twin, sizeof(twin), "%s/%s-%s.objdump", fixtures, v->twin, arch);
	if (!strncmp(v->name, "extpie", 6) && access(bin, F_OK))
		return;	/* no gcc: no externally linked fixture */
	ret = go_binary_open(bin, &gb, err, sizeof(err));
	CHECK(ret == 0, "%s: open: %d %s", bin, ret, err);
	if (ret)
		return;
	CHECK(go_binary_version(gb) && !strcmp(go_binary_version(gb), go_version),
	      "%s: version %s, go env GOVERSION %s", bin, go_binary_version(gb), go_version);
	CHECK(!go_binary_version_number(gb, &minor, &patch), "%s: version number", bin);
	CHECK(go_binary_arch(gb) == (!strcmp(arch, "arm64") ? GO_ARCH_ARM64 : GO_ARCH_AMD64),
	      "%s: arch %d", bin, go_binary_arch(gb));
	CHECK(go_binary_is_pie(gb) == v->pie, "%s: pie %d", bin, go_binary_is_pie(gb));
	CHECK(go_binary_has_symtab(gb) == !v->stripped, "%s: symtab %d", bin,
	      go_binary_has_symtab(gb));
	CHECK(go_binary_pclntab_format(gb) == (minor >= 20 ? GO_PCLNTAB_1_20 :
					       minor >= 18 ? GO_PCLNTAB_1_18 :
					       minor >= 16 ? GO_PCLNTAB_1_16 : GO_PCLNTAB_1_2),
	      "%s: pclntab format %d for go1.%d", bin, go_binary_pclntab_format(gb), minor);
	CHECK(go_binary_register_abi(gb) == (minor >= (!strcmp(arch, "arm64") ? 18 : 17)),
	      "%s: register ABI", bin);
	CHECK(!parse_objdump(twin, &od), "%s: no objdump", twin);
	for (i = 0; i < NPROBED; i++)
		check_function(gb, bin, v, obj_find(&od, probed[i]), probed[i]);
	if (!v->stripped)
		check_table_vs_symtab(gb, bin);
	free_objdump(&od);
	go_binary_close(gb);
	check_offsets(bin, arch, v, minor);
}

int main(int argc, char **argv)
{
	static const char *const archs[] = { "amd64", "arm64" };
	char path[512];
	FILE *f;
	size_t a, i;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FIXTURE_DIR\n", argv[0]);
		return 1;
	}
	fixtures = argv[1];
	snprintf(path, sizeof(path), "%s/version.txt", fixtures);
	f = fopen(path, "r");
	if (!f || !fgets(go_version, sizeof(go_version), f)) {
		fprintf(stderr, "%s: missing (run build_fixtures.sh)\n", path);
		return 1;
	}
	fclose(f);
	go_version[strcspn(go_version, "\n")] = '\0';
	printf("fixtures built by %s\n", go_version);
	for (a = 0; a < 2; a++) {
		for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++)
			check_binary(archs[a], &variants[i]);
	}
	for (a = 0; a < 2; a++) {
		snprintf(path, sizeof(path), "%s/pie-stripped-%s", fixtures, archs[a]);
		fuzz_binary(path, 0x9e3779b97f4a7c15ULL + a);
		snprintf(path, sizeof(path), "%s/normal-%s", fixtures, archs[a]);
		fuzz_files(path, 0x6a09e667f3bcc909ULL + a);
	}
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("all checks passed\n");
	return 0;
}
