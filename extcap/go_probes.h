/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where and how to probe one Go executable: crypto/tls.(*Conn).Read and
 * Write at a cheap entry site and at every return instruction, writeKeyLog
 * at its entry, and the offsets the probes read (struct go_config).
 */
#ifndef TLSDUMP_GO_PROBES_H
#define TLSDUMP_GO_PROBES_H

#include <stddef.h>
#include <stdint.h>

#include "tlsdump.h"

#define GO_MAX_SITES 64

enum go_site_kind {
	GO_SITE_READ_ENTER,
	GO_SITE_READ_RETURN,
	GO_SITE_WRITE_ENTER,
	GO_SITE_WRITE_RETURN,
	GO_SITE_KEYLOG,
};

struct go_site {
	enum go_site_kind kind;
	uint64_t file_offset;
};

struct go_probe_plan {
	struct go_config config;
	struct go_site sites[GO_MAX_SITES];
	size_t n_sites;
	char offsets_source[32];	/* "DWARF" or "table for go1.N" */
	char reason[192];		/* why the binary cannot be probed */
};

/*
 * Analyses the Go executable at @path for probing on this machine's
 * architecture. Returns 0 with @plan filled, or -errno with @plan->reason
 * naming the cause (not Go, other architecture, function or offset missing,
 * too many returns).
 */
int go_plan_probes(const char *path, struct go_probe_plan *plan);

#endif /* TLSDUMP_GO_PROBES_H */
