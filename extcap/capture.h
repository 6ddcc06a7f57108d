/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The capture: probes -> ring buffers -> tlsdump records -> pcapng, until a
 * signal, the duration limit, or the reader going away.
 */
#ifndef TLSDUMP_CAPTURE_H
#define TLSDUMP_CAPTURE_H

#include "options.h"

/*
 * Runs a capture as @opts describe. Returns 0 after a clean stop (signal,
 * duration, closed fifo), or -errno after printing one fatal line.
 */
int capture_run(const struct tlsdump_options *opts);

/*
 * Discovers and attaches targets like a capture would, then prints what was
 * hooked and what was skipped, one line per file, to stdout. Returns 0 or -errno.
 */
int capture_list_targets(const struct tlsdump_options *opts);

#endif /* TLSDUMP_CAPTURE_H */
