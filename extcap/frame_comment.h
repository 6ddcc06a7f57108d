/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The process group of a plaintext frame's comment (PID, ThreadId, Comm,
 * Cmd, Exe). A busy connection sends thousands of frames a second from one
 * thread, all with the same group: it is formatted once per thread and
 * process generation and kept in a small direct-mapped cache.
 */
#ifndef TLSDUMP_FRAME_COMMENT_H
#define TLSDUMP_FRAME_COMMENT_H

#include <stddef.h>
#include <stdint.h>

#include "procinfo.h"

struct frame_comments;

/* Returns an empty cache. */
struct frame_comments *frame_comments_new(void);

/* Frees the cache; accepts NULL. */
void frame_comments_free(struct frame_comments *fc);

/*
 * Returns the process group for thread @tid of @info's process named @comm
 * (@comm_len bytes, NUL-padded). Valid until the next call. Control
 * characters in the names become spaces: a process must not be able to
 * forge lines or groups (PodName: ...) in its own frames' comments.
 */
const char *frame_comments_process(struct frame_comments *fc, const struct procinfo *info,
				   uint32_t tid, const char *comm, size_t comm_len);

#endif /* TLSDUMP_FRAME_COMMENT_H */
