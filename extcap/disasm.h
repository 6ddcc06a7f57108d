/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Probe sites inside a function, found by disassembling it with capstone:
 * every return instruction (Go code must never get a uretprobe: goroutine
 * stacks move, so returns are probed with plain uprobes), and a cheaper
 * equivalent of the entry for Go's stack-check prologue. amd64 and arm64.
 */
#ifndef TLSDUMP_DISASM_H
#define TLSDUMP_DISASM_H

#include <stddef.h>
#include <stdint.h>

enum disasm_arch {
	DISASM_ARCH_X86_64 = 1,
	DISASM_ARCH_ARM64,
};

/*
 * What a uprobe on an instruction costs, after the kernel's instruction
 * analysis (arch/x86/kernel/uprobes.c: branch_setup_xol_ops(),
 * push_setup_xol_ops(); arch/arm64/kernel/probes/decode-insn.c:
 * arm_probe_decode_insn()).
 */
enum disasm_probe_cost {
	DISASM_PROBE_REJECTED = 0, /* does not decode, or the kernel refuses a uprobe on it */
	DISASM_PROBE_STEPPED,	   /* copied out of line and single-stepped: a second trap */
	DISASM_PROBE_EMULATED,	   /* emulated in the kernel: one trap, no single-step */
};

struct disasm_result {
	uint32_t *returns;	/* in: room for @returns_cap offsets (may be NULL when 0) */
	size_t returns_cap;
	size_t n_returns; /* out: return instructions found; > returns_cap: array too small */
	/*
	 * out: bytes that did not decode and were stepped over. On amd64,
	 * non-zero means a data island or a decoder gap, and returns after it
	 * were found by resynchronising byte by byte: treat them with
	 * suspicion. On arm64 (fixed width, no resynchronisation) it counts
	 * words capstone 4 does not know, such as the LSE atomics (CASAL,
	 * LDADDAL) Go emits; zero words, Go's padding, are not counted.
	 */
	size_t skipped;
	/*
	 * out: offset of the first instruction a probe standing for the entry
	 * can go on: the stack-check branch of Go's prologue when it is
	 * emulated and only scratch registers and flags were written before
	 * it, else 0. A probe there sees the arguments exactly as at the
	 * entry; like the entry, it runs again when the stack grows
	 * (morestack restarts the function).
	 */
	uint32_t entry_site;
	enum disasm_probe_cost entry_cost;	/* out: cost of a probe at entry_site */
};

/*
 * Disassembles the function at @code (@len bytes) and fills @res with the
 * offsets, from @code, of its return instructions (amd64 RET / RET imm16;
 * arm64 RET, RETAA, RETAB) and its entry probe site. Bytes that do not decode
 * are skipped (one byte on amd64, one word on arm64) and counted. Returns 0,
 * -EINVAL for a bad argument, or -ENOMEM.
 */
int disasm_analyze(enum disasm_arch arch, const void *code, size_t len, struct disasm_result *res);

/*
 * Classifies the instruction at the start of @code (@len bytes available)
 * by the cost of a uprobe on it. Stores its length in *@insn_len (0 when it
 * does not decode) when @insn_len is not NULL.
 */
enum disasm_probe_cost disasm_probe_cost(enum disasm_arch arch, const void *code, size_t len,
					 size_t *insn_len);

#endif /* TLSDUMP_DISASM_H */
