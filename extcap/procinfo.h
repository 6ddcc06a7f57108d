/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What tlsdump knows about the processes behind its frames: command line and
 * executable, read from /proc while the process is alive and kept a little
 * after it exits, because its last frames are often written after that.
 */
#ifndef TLSDUMP_PROCINFO_H
#define TLSDUMP_PROCINFO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct procinfo {
	pid_t pid;
	char *cmdline; /* arguments joined by spaces; "" when unreadable */
	char *exe;     /* /proc/PID/exe target; "" when unreadable */
	uint64_t exited_ns; /* CLOCK_MONOTONIC of the exit, 0 while alive */
	uint64_t generation; /* unique in the cache, new whenever cmdline or exe may change */
};

struct procinfo_cache;

/* Returns an empty cache, or NULL with errno set. */
struct procinfo_cache *procinfo_cache_new(void);

/* Frees the cache; accepts NULL. */
void procinfo_cache_free(struct procinfo_cache *cache);

/* Returns what is known of @pid, reading /proc on first use. Never NULL. */
const struct procinfo *procinfo_get(struct procinfo_cache *cache, pid_t pid);

/*
 * Records an exec of @pid: re-reads /proc, and where the process is already
 * gone takes the command line from @args (@args_len bytes, NUL separated)
 * and the executable from @filename, as captured at the exec.
 */
void procinfo_exec(struct procinfo_cache *cache, pid_t pid, const char *filename,
		   const char *args, size_t args_len);

/* Marks @pid as exited at @now_ns; procinfo_expire() drops it later. */
void procinfo_exited(struct procinfo_cache *cache, pid_t pid, uint64_t now_ns);

/* Drops processes that exited more than @grace_ns before @now_ns. */
void procinfo_expire(struct procinfo_cache *cache, uint64_t now_ns, uint64_t grace_ns);

/*
 * Reads @pid's name (/proc/PID/comm, newline dropped) into @out. Returns 0,
 * or -errno when the process is gone (@out is then "").
 */
int proc_comm(pid_t pid, char *out, size_t out_len);

/*
 * Tells whether a TCP socket listens on @port in @pid's network namespace
 * (/proc/PID/net/tcp and tcp6). Returns 1, 0, or -errno.
 */
int proc_tcp_port_listening(pid_t pid, uint16_t port);

#endif /* TLSDUMP_PROCINFO_H */
