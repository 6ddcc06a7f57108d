/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Target discovery: which library files on this host (and in its containers)
 * carry a TLS implementation or the dynamic linker. Probes attach once per
 * file (device + inode), which covers every process mapping it, now or later.
 */
#ifndef TLSDUMP_TARGETS_H
#define TLSDUMP_TARGETS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <glib.h>

#include "record.h"

enum target_kind {
	TARGET_TLS_LIBRARY, /* uprobes on the TLS read/write functions (a library, or an
			     * executable with one linked in) */
	TARGET_DYNAMIC_LINKER, /* uprobe on _dl_debug_state: tells us about dlopen */
	TARGET_GO_BINARY, /* a Go executable with crypto/tls */
};

struct target_file {
	uint32_t cookie;		/* index in the registry; travels with each event */
	enum target_kind kind;
	enum tlsdump_library library;	/* the TLS stack (TLS libraries and Go programs) */
	char path[PATH_MAX];		/* path openable by tlsdump (through /proc/PID/root) */
	char name[64];			/* file name, e.g. libssl.so.3 */
	char version[32];		/* library version, "" when unknown */
	char libname[TLSDUMP_LIBNAME_LEN]; /* name and version as written into records */
	dev_t dev;
	ino_t ino;
	pid_t first_pid;		/* a process seen mapping it; 0 if found on disk */
	int attach_error;		/* 0, or -errno of the failed attach */
	int probes_attached;		/* how many functions carry a probe */
	char status[160];		/* why it was skipped, or what was hooked */
};

struct target_registry;

/* Called for each file the registry had not seen; its return value is ignored. */
typedef void (*target_found_fn)(struct target_file *file, void *ctx);

/* Returns an empty registry. Never NULL (aborts on out of memory, as glib does). */
struct target_registry *targets_new(void);

/* Frees the registry; accepts NULL. */
void targets_free(struct target_registry *reg);

/*
 * Looks at the libraries mapped by @pid (/proc/PID/maps) and reports each new
 * target file to @found. Returns 0, or -errno when the process is gone.
 */
int targets_scan_pid(struct target_registry *reg, pid_t pid, target_found_fn found, void *ctx);

/*
 * Like targets_scan_pid, and appends to @cookies (uint32_t) the cookie of
 * every target @pid maps or runs, new or known before.
 */
int targets_scan_pid_list(struct target_registry *reg, pid_t pid, target_found_fn found,
			  void *ctx, GArray *cookies);

/*
 * Scans every process, then the system library directories (so a process
 * started later with the system libssl is covered from its first call).
 * Returns the number of target files known afterwards.
 */
int targets_scan_all(struct target_registry *reg, target_found_fn found, void *ctx);

/* Returns the file with @cookie, or NULL. */
struct target_file *targets_get(struct target_registry *reg, uint32_t cookie);

/* Returns how many files the registry holds; cookies run from 0 to this - 1. */
uint32_t targets_count(const struct target_registry *reg);

#endif /* TLSDUMP_TARGETS_H */
