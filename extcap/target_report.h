/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `tlsdump --list-targets`: what each process runs of TLS, and what tlsdump
 * hooked of it or why it could not.
 */
#ifndef TLSDUMP_TARGET_REPORT_H
#define TLSDUMP_TARGET_REPORT_H

#include <stdio.h>

#include <glib.h>

#include "targets.h"

/*
 * Scans the processes in @pids (pid_t; NULL: every process, then the
 * system library directories), registering and attaching through @found as
 * a capture would, and prints one row per process and TLS target to @out,
 * then the targets no listed process maps (PID "-").
 */
void target_report_print(FILE *out, struct target_registry *reg, const GArray *pids,
			 target_found_fn found, void *ctx);

#endif /* TLSDUMP_TARGET_REPORT_H */
