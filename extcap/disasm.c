/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "disasm.h"

#include <capstone/capstone.h>
#include <errno.h>
#include <stdbool.h>
#include <string.h>

/* Instructions examined for the entry site: Go's stack check is at most four long. */
#define ENTRY_WINDOW 6

/* The kernel's x86_nops[] for 64-bit (arch/x86/include/asm/nops.h, BYTES_NOP1..8). */
static const uint8_t x86_nops[9][8] = {
	[1] = { 0x90 },
	[2] = { 0x66, 0x90 },
	[3] = { 0x0f, 0x1f, 0x00 },
	[4] = { 0x0f, 0x1f, 0x40, 0x00 },
	[5] = { 0x0f, 0x1f, 0x44, 0x00, 0x00 },
	[6] = { 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 },
	[7] = { 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 },
	[8] = { 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
};

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool is_legacy_prefix(uint8_t b)
{
	switch (b) {
	case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
	case 0x2e: case 0x36: case 0x3e: case 0x26: case 0x64: case 0x65:
		return true;
	}
	return false;
}

/*
 * Mirrors arch_uprobe_analyze_insn() on x86-64 for one decoded instruction
 * @b of @n bytes: branch_setup_xol_ops() emulates NOPs, JMP/CALL rel and
 * Jcc (refusing a 0x66 prefix), push_setup_xol_ops() emulates PUSH reg
 * (optionally REX 0x41); everything else is stepped. The instructions the
 * kernel refuses outright (good_insns_64) are approximated by the few that
 * trap or do I/O.
 */
static enum disasm_probe_cost x86_cost(const uint8_t *b, size_t n)
{
	size_t i = 0, prefixes;
	bool p66 = false;
	uint8_t rex = 0, op;

	if (n <= 8 && n < sizeof(x86_nops) / sizeof(x86_nops[0]) && !memcmp(b, x86_nops[n], n))
		return DISASM_PROBE_EMULATED;
	while (i < n && is_legacy_prefix(b[i]))
		p66 |= b[i++] == 0x66;
	prefixes = i;
	if (i < n && (b[i] & 0xf0) == 0x40)
		rex = b[i++];
	if (i >= n)
		return DISASM_PROBE_REJECTED;
	op = b[i];
	switch (op) {
	case 0x90:	/* prefix* + nop */
		return DISASM_PROBE_EMULATED;
	case 0xeb: case 0xe9: case 0xe8:
		return p66 ? DISASM_PROBE_REJECTED : DISASM_PROBE_EMULATED;
	case 0x0f:
		if (i + 1 < n && (b[i + 1] & 0xf0) == 0x80)	/* Jcc rel32 */
			return p66 ? DISASM_PROBE_REJECTED : DISASM_PROBE_EMULATED;
		if (i + 1 < n && b[i + 1] == 0x0b)		/* UD2 */
			return DISASM_PROBE_REJECTED;
		return DISASM_PROBE_STEPPED;
	case 0xcc: case 0xcd: case 0xce: case 0xcf: case 0xf1: case 0xf4:
	case 0x6c: case 0x6d: case 0x6e: case 0x6f:
	case 0xe4: case 0xe5: case 0xe6: case 0xe7:
	case 0xec: case 0xed: case 0xee: case 0xef:
		return DISASM_PROBE_REJECTED;
	}
	if (op >= 0x70 && op <= 0x7f)	/* Jcc rel8 */
		return p66 ? DISASM_PROBE_REJECTED : DISASM_PROBE_EMULATED;
	if (op >= 0x50 && op <= 0x57 && !prefixes && (!rex || rex == 0x41))
		return DISASM_PROBE_EMULATED;
	return DISASM_PROBE_STEPPED;
}

/* Mirrors arm_probe_decode_insn() (uprobes take no literal-load simulation). */
static enum disasm_probe_cost arm64_cost(uint32_t w)
{
	if ((w & 0xff000010) == 0x54000000 ||	/* B.cond */
	    (w & 0x7e000000) == 0x34000000 ||	/* CBZ, CBNZ */
	    (w & 0x7e000000) == 0x36000000 ||	/* TBZ, TBNZ */
	    (w & 0x1f000000) == 0x10000000 ||	/* ADR, ADRP */
	    (w & 0x7c000000) == 0x14000000 ||	/* B, BL */
	    (w & 0xfffffc1f) == 0xd61f0000 ||	/* BR */
	    (w & 0xfffffc1f) == 0xd63f0000 ||	/* BLR */
	    (w & 0xfffffc1f) == 0xd65f0000)	/* RET */
		return DISASM_PROBE_EMULATED;
	if ((w & 0x3b000000) == 0x18000000 ||	/* load literal: reads PC-relative */
	    (w & 0x3f000000) == 0x08000000)	/* exclusive load/store */
		return DISASM_PROBE_REJECTED;
	if ((w & 0x1c000000) == 0x14000000) {	/* branch, exception, system class */
		if ((w & 0xfffff01f) == 0xd503201f) {	/* HINT: NOP, PAC*SP, BTI steppable */
			uint32_t hint = (w >> 5) & 0x7f;

			return hint == 0 || hint == 0x19 || hint == 0x1b || (hint & 0x79) == 0x20 ?
				DISASM_PROBE_STEPPED : DISASM_PROBE_REJECTED;
		}
		if ((w & 0xfe000000) == 0xd6000000 ||	/* other branches (PAC, ERET) */
		    (w & 0xff000000) == 0xd4000000 ||	/* exception generation */
		    (w & 0xfff8f01f) == 0xd500401f ||	/* MSR (immediate) */
		    (w & 0xffd00000) == 0xd5100000)	/* MSR, MRS (register) */
			return DISASM_PROBE_REJECTED;
	}
	return DISASM_PROBE_STEPPED;
}

static bool arm64_is_return(uint32_t w)
{
	return (w & 0xfffffc1f) == 0xd65f0000 || w == 0xd65f0bff || w == 0xd65f0fff;
}

/*
 * Returns true for an instruction of Go's amd64 stack-check prologue that
 * writes only flags or R12/R13 (scratch in ABIInternal, never arguments):
 * CMPQ SP|R12, 16|24(R14); LEAQ -n(SP), R12; MOVQ SP, R12; SUBQ $n, R12;
 * and ENDBR64, which writes nothing (cgo code).
 */
static bool x86_prologue_safe(const uint8_t *b, size_t n)
{
	if (n == 4 && b[0] == 0xf3 && b[1] == 0x0f && b[2] == 0x1e && b[3] == 0xfa)
		return true;
	if (n == 4 && (b[0] == 0x49 || b[0] == 0x4d) && b[1] == 0x3b && b[2] == 0x66 &&
	    (b[3] == 0x10 || b[3] == 0x18))
		return true;
	if ((n == 5 || n == 8) && b[0] == 0x4c && b[1] == 0x8d && b[2] == (n == 5 ? 0x64 : 0xa4) &&
	    b[3] == 0x24)
		return true;
	if (n == 3 && b[0] == 0x49 && b[1] == 0x89 && b[2] == 0xe4)
		return true;
	if ((n == 7 || n == 4) && b[0] == 0x49 && b[1] == (n == 7 ? 0x81 : 0x83) && b[2] == 0xec)
		return true;
	return false;
}

/*
 * Same for arm64, where R16/R17 are the prologue's scratch registers and
 * R0-R15 carry arguments: MOVD 16|24(g), R16|R17 (g is R28); CMP (flags
 * only, destination ZR); ADD/SUB $n, RSP|Rx, R16|R17.
 */
static bool arm64_prologue_safe(uint32_t w)
{
	uint32_t rd = w & 0x1f, top = w >> 24;

	if ((w & 0xffc003e0) == 0xf9400380 &&
	    (((w >> 10) & 0xfff) == 2 || ((w >> 10) & 0xfff) == 3) && (rd == 16 || rd == 17))
		return true;
	if (rd == 31 && (top == 0xeb || top == 0xf1 || top == 0x6b || top == 0x71 ||
			 top == 0xab || top == 0xb1 || top == 0x2b || top == 0x31))
		return true;
	if ((top == 0x91 || top == 0xd1) && (rd == 16 || rd == 17))
		return true;
	return false;
}

static int open_handle(enum disasm_arch arch, csh *h)
{
	cs_err err;

	if (arch == DISASM_ARCH_X86_64)
		err = cs_open(CS_ARCH_X86, CS_MODE_64, h);
	else if (arch == DISASM_ARCH_ARM64)
		err = cs_open(CS_ARCH_ARM64, CS_MODE_ARM, h);
	else
		return -EINVAL;
	return err == CS_ERR_OK ? 0 : err == CS_ERR_MEM ? -ENOMEM : -EINVAL;
}

enum disasm_probe_cost disasm_probe_cost(enum disasm_arch arch, const void *code, size_t len,
					 size_t *insn_len)
{
	enum disasm_probe_cost cost = DISASM_PROBE_REJECTED;
	const uint8_t *p = code;
	uint64_t addr = 0;
	size_t left = len;
	cs_insn *insn;
	csh h;

	if (insn_len)
		*insn_len = 0;
	if (!code || open_handle(arch, &h))
		return DISASM_PROBE_REJECTED;
	insn = cs_malloc(h);
	if (insn && cs_disasm_iter(h, &p, &left, &addr, insn)) {
		cost = arch == DISASM_ARCH_ARM64 ? arm64_cost(rd32(insn->bytes)) :
						   x86_cost(insn->bytes, insn->size);
		if (insn_len)
			*insn_len = insn->size;
	}
	cs_free(insn, 1);
	cs_close(&h);
	return cost;
}

static void add_return(struct disasm_result *res, uint64_t off)
{
	if (res->n_returns < res->returns_cap)
		res->returns[res->n_returns] = (uint32_t)off;
	res->n_returns++;
}

int disasm_analyze(enum disasm_arch arch, const void *code, size_t len, struct disasm_result *res)
{
	const uint8_t *start = code, *p = code;
	bool arm64 = arch == DISASM_ARCH_ARM64, entry_open = true;
	size_t left = len, count = 0;
	uint64_t addr = 0;
	cs_insn *insn;
	csh h;
	int ret;

	if (!res || (!code && len) || (res->returns_cap && !res->returns) || len > UINT32_MAX)
		return -EINVAL;
	res->n_returns = res->skipped = 0;
	res->entry_site = 0;
	res->entry_cost = DISASM_PROBE_REJECTED;
	ret = open_handle(arch, &h);
	if (ret)
		return ret;
	insn = cs_malloc(h);
	if (!insn) {
		cs_close(&h);
		return -ENOMEM;
	}
	while (left >= (arm64 ? 4u : 1u)) {
		uint64_t off = p - start;
		enum disasm_probe_cost cost;
		bool safe;

		if (!cs_disasm_iter(h, &p, &left, &addr, insn)) {
			/* Data or padding: step over the smallest unit and resynchronise. */
			size_t step = arm64 ? 4 : 1;

			if (arm64 && arm64_is_return(rd32(start + off)))
				add_return(res, off); /* PAC returns capstone 4 may not know */
			/* Go pads arm64 functions with zero words: not worth reporting. */
			if (!arm64 || rd32(start + off))
				res->skipped += step;
			p = start + off + step;
			left = len - off - step;
			addr = off + step;
			entry_open = false;
			continue;
		}
		if (arm64) {
			uint32_t w = rd32(insn->bytes);

			if (arm64_is_return(w))
				add_return(res, off);
			cost = arm64_cost(w);
			safe = arm64_prologue_safe(w);
		} else {
			if (insn->id == X86_INS_RET)
				add_return(res, off);
			cost = x86_cost(insn->bytes, insn->size);
			safe = x86_prologue_safe(insn->bytes, insn->size);
		}
		if (count == 0)
			res->entry_cost = cost;
		if (entry_open && cost == DISASM_PROBE_EMULATED) {
			res->entry_site = (uint32_t)off;
			res->entry_cost = cost;
			entry_open = false;
		} else if (!safe || count + 1 >= ENTRY_WINDOW) {
			entry_open = false;
		}
		count++;
	}
	res->skipped += left;	/* an arm64 tail shorter than a word */
	cs_free(insn, 1);
	cs_close(&h);
	return 0;
}
