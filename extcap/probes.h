/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kernel side as seen from user space: loading the BPF skeleton with the
 * capture's tunables, attaching tracepoints, and attaching uprobes to each
 * target file once.
 */
#ifndef TLSDUMP_PROBES_H
#define TLSDUMP_PROBES_H

#include <stdint.h>

#include "options.h"
#include "targets.h"
#include "tlsdump.h"

struct probes;

/*
 * Checks privileges and BTF, opens the skeleton, sets its tunables from
 * @opts and loads it. Returns 0 and sets *@out, or -errno after printing one
 * fatal line naming the cause.
 */
int probes_load(const struct tlsdump_options *opts, struct probes **out);

/* Attaches the syscall, socket and scheduler tracepoints. Returns 0 or -errno (fatal line printed). */
int probes_attach_kernel(struct probes *p);

/*
 * Attaches the uprobes @file needs (TLS functions, or _dl_debug_state).
 * Records the outcome in @file->status. Returns the number of probed
 * functions, or -errno when none could be attached.
 */
int probes_attach_file(struct probes *p, struct target_file *file);

/* Makes every probe a no-op from now on (instant, unlike detaching). */
void probes_quiesce(struct probes *p);

/* Returns the fd of the data (@ctl false) or control ring buffer. */
int probes_ring_fd(struct probes *p, bool ctl);

/* Returns the CLOCK_MONOTONIC entry of the oldest write call in progress, or 0. */
uint64_t probes_oldest_write_ns(struct probes *p);

/*
 * Lets the processes of cgroup @cgroup_id through the Kubernetes selection
 * (--namespace/--pod/--container). Returns 0 or -errno.
 */
int probes_select_cgroup(struct probes *p, uint64_t cgroup_id);

/* Sums the per-CPU counters into @out (STAT_MAX entries). */
void probes_read_stats(struct probes *p, uint64_t out[STAT_MAX]);

/* Detaches and unloads; accepts NULL. */
void probes_destroy(struct probes *p);

#endif /* TLSDUMP_PROBES_H */
