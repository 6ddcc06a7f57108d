/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "go_probes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "disasm.h"
#include "go_binary.h"
#include "go_dwarf.h"

#if defined(__x86_64__)
#define HOST_GO_ARCH GO_ARCH_AMD64
#define HOST_DISASM_ARCH DISASM_ARCH_X86_64
#elif defined(__aarch64__)
#define HOST_GO_ARCH GO_ARCH_ARM64
#define HOST_DISASM_ARCH DISASM_ARCH_ARM64
#endif

static int add_site(struct go_probe_plan *plan, enum go_site_kind kind, uint64_t offset)
{
	if (plan->n_sites >= GO_MAX_SITES) {
		snprintf(plan->reason, sizeof(plan->reason), "more than %d probe sites",
			 GO_MAX_SITES);
		return -E2BIG;
	}
	plan->sites[plan->n_sites].kind = kind;
	plan->sites[plan->n_sites].file_offset = offset;
	plan->n_sites++;
	return 0;
}

/*
 * Adds the entry site (the emulated stack-check branch when there is one)
 * and, when @ret_kind is not -1, every return instruction of function @name.
 */
static int plan_function(struct go_binary *gb, const char *name, enum go_site_kind entry_kind,
			 int ret_kind, struct go_probe_plan *plan)
{
	uint32_t returns[GO_MAX_SITES];
	struct disasm_result res = { .returns = returns, .returns_cap = GO_MAX_SITES };
	const uint8_t *code;
	struct go_func fn;
	int err;

	/* .gopclntab first: a damaged .symtab could put a probe mid-instruction. */
	if (go_binary_find_func_pclntab(gb, name, &fn) && go_binary_find_func(gb, name, &fn)) {
		snprintf(plan->reason, sizeof(plan->reason), "no function %s", name);
		return -ENOENT;
	}
	code = go_binary_bytes(gb, fn.vaddr, fn.size);
	err = code ? disasm_analyze(HOST_DISASM_ARCH, code, fn.size, &res) : -ENOEXEC;
	if (err || res.n_returns > GO_MAX_SITES || (ret_kind >= 0 && !res.n_returns)) {
		snprintf(plan->reason, sizeof(plan->reason), "cannot analyse %s (%s)", name,
			 err ? strerror(-err) : "its return instructions");
		return err ? err : -ENOEXEC;
	}
	err = add_site(plan, entry_kind,
		       fn.file_offset +
			       (res.entry_cost == DISASM_PROBE_EMULATED ? res.entry_site : 0));
	for (size_t i = 0; !err && ret_kind >= 0 && i < res.n_returns; i++)
		err = add_site(plan, (enum go_site_kind)ret_kind, fn.file_offset + returns[i]);
	return err;
}

/* Fills the offsets the probes read: DWARF when present, the version table otherwise. */
static int plan_offsets(const char *path, struct go_binary *gb, struct go_probe_plan *plan)
{
	struct go_offsets off;
	char msg[160];
	int minor, patch;

	if (!go_dwarf_offsets(path, &off, msg, sizeof(msg))) {
		snprintf(plan->offsets_source, sizeof(plan->offsets_source), "DWARF");
	} else if (!go_binary_version_number(gb, &minor, &patch) &&
		   !go_offsets_from_table(minor, go_binary_arch(gb), &off)) {
		snprintf(plan->offsets_source, sizeof(plan->offsets_source), "table for go1.%d",
			 minor);
	} else {
		snprintf(plan->reason, sizeof(plan->reason),
			 "no struct offsets: no DWARF and Go version %s is not in the table",
			 go_binary_version(gb) ? go_binary_version(gb) : "(unknown)");
		return -ENOENT;
	}
	plan->config.register_abi = go_binary_register_abi(gb);
	plan->config.g_goid = (int32_t)off.g_goid;
	plan->config.tls_conn_conn = (int32_t)off.tls_conn_conn;
	plan->config.tcpconn_netfd = (int32_t)(off.tcpconn_conn + off.conn_fd);
	plan->config.netfd_sysfd = (int32_t)(off.netfd_pfd + off.pfd_sysfd);
	return 0;
}

int go_plan_probes(const char *path, struct go_probe_plan *plan)
{
	struct go_binary *gb;
	int err;

	memset(plan, 0, sizeof(*plan));
	err = go_binary_open(path, &gb, plan->reason, sizeof(plan->reason));
	if (err)
		return err;
#ifndef HOST_GO_ARCH
	snprintf(plan->reason, sizeof(plan->reason), "Go probes are not supported on this host");
	err = -ENOTSUP;
#else
	if (go_binary_arch(gb) != HOST_GO_ARCH) {
		snprintf(plan->reason, sizeof(plan->reason), "built for another architecture");
		err = -ENOEXEC;
	}
	if (!err)
		err = plan_offsets(path, gb, plan);
	if (!err)
		err = plan_function(gb, "crypto/tls.(*Conn).Read", GO_SITE_READ_ENTER,
				    GO_SITE_READ_RETURN, plan);
	if (!err)
		err = plan_function(gb, "crypto/tls.(*Conn).Write", GO_SITE_WRITE_ENTER,
				    GO_SITE_WRITE_RETURN, plan);
	/* The key log is a bonus: plaintext works without it. */
	if (!err && plan_function(gb, "crypto/tls.(*Config).writeKeyLog", GO_SITE_KEYLOG, -1,
				  plan))
		plan->reason[0] = '\0';
#endif
	go_binary_close(gb);
	return err;
}
