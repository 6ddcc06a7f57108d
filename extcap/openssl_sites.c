/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "openssl_sites.h"

#include <capstone/capstone.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "disasm.h"
#include "elf_symbols.h"

/* The wrappers call the internal function within their first instructions. */
#define WRAPPER_SCAN_BYTES 96

/*
 * Returns the file offset of the first direct call in the function at file
 * offset @func of @fd, or 0. Disassembling at the file offset works because
 * rel32 calls stay within one segment, where offsets and addresses differ by
 * a constant.
 */
static uint64_t first_call_target(int fd, uint64_t func)
{
	uint8_t code[WRAPPER_SCAN_BYTES];
	uint64_t target = 0;
	ssize_t n = pread(fd, code, sizeof(code), (off_t)func);
	cs_insn *insn;
	csh cs;
	size_t count;

	if (n <= 0 || cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return 0;
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	count = cs_disasm(cs, code, (size_t)n, func, 0, &insn);
	for (size_t i = 0; i < count && !target; i++) {
		const cs_x86 *x86 = &insn[i].detail->x86;

		if (insn[i].id == X86_INS_CALL && x86->op_count == 1 &&
		    x86->operands[0].type == X86_OP_IMM)
			target = (uint64_t)x86->operands[0].imm;
		else if (insn[i].id == X86_INS_RET || insn[i].id == X86_INS_JMP)
			break;
	}
	cs_free(insn, count);
	cs_close(&cs);
	return target;
}

static bool starts_emulated(int fd, uint64_t func)
{
	uint8_t code[16];
	ssize_t n = pread(fd, code, sizeof(code), (off_t)func);

	return n > 0 && disasm_probe_cost(DISASM_ARCH_X86_64, code, (size_t)n, NULL) ==
				DISASM_PROBE_EMULATED;
}

/* Finds the internal function both wrappers call first. Returns its offset or 0. */
static uint64_t common_target(int fd, uint64_t plain, uint64_t ex, const char *what,
			      struct openssl_sites *sites)
{
	uint64_t a = plain ? first_call_target(fd, plain) : 0;
	uint64_t b = ex ? first_call_target(fd, ex) : 0;

	if (!a || a != b) {
		snprintf(sites->reason, sizeof(sites->reason),
			 "the %s wrappers do not call one common function", what);
		return 0;
	}
	if (!starts_emulated(fd, a)) {
		snprintf(sites->reason, sizeof(sites->reason),
			 "the internal %s function does not start with an emulated instruction",
			 what);
		return 0;
	}
	return a;
}

int openssl_find_sites(const char *path, struct openssl_sites *sites)
{
	struct elf_symbol_query q[] = {
		{ .name = "SSL_read" },	    { .name = "SSL_read_ex" },
		{ .name = "SSL_write" },    { .name = "SSL_write_ex" },
		{ .name = "SSL_write_ex2" },
	};
	int fd, found;

	memset(sites, 0, sizeof(*sites));
#if !defined(__x86_64__)
	snprintf(sites->reason, sizeof(sites->reason), "only analysed on x86-64");
	return -ENOENT;
#endif
	found = elf_find_functions(path, q, 5);
	if (found < 4 || !q[0].file_offset || !q[1].file_offset || !q[2].file_offset ||
	    !q[3].file_offset) {
		snprintf(sites->reason, sizeof(sites->reason), "no SSL_read_ex/SSL_write_ex");
		return -ENOENT;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(sites->reason, sizeof(sites->reason), "cannot open: %s", strerror(errno));
		return -ENOENT;
	}
	sites->read_internal = common_target(fd, q[0].file_offset, q[1].file_offset, "read", sites);
	if (sites->read_internal)
		sites->write_internal =
			common_target(fd, q[2].file_offset, q[3].file_offset, "write", sites);
	close(fd);
	/* SSL_write_ex2 added a flags argument before `written` (OpenSSL 3.3). */
	sites->write_has_flags = q[4].file_offset != 0;
	if (!sites->read_internal || !sites->write_internal) {
		sites->read_internal = sites->write_internal = 0;
		return -ENOENT;
	}
	return 0;
}
