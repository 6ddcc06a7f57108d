/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Frames of connections whose socket is not known yet. A TLS library that
 * writes into a memory BIO (node) makes no socket syscall inside its calls,
 * so its first frames come without a tuple; the application's flush right
 * after a write names the socket (CTL_EVENT_CONN_BOUND). Those frames wait
 * here, in order, until then or until they are too old to wait longer.
 */
#ifndef TLSDUMP_HELD_FRAMES_H
#define TLSDUMP_HELD_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tlsdump.h"

struct held_frames;

/* Called with each frame leaving, tuple filled in when it became known. */
typedef void (*held_emit_fn)(const struct tls_data_event *e, size_t size, void *ctx);

/* Returns an empty set of held frames. */
struct held_frames *held_frames_new(void);

/* Frees @h and any frames still held (call held_frames_expire(.., all) first); accepts NULL. */
void held_frames_free(struct held_frames *h);

/*
 * Emits @e through @emit now (tuple filled in if its connection's is known)
 * or holds it: when it lacks a tuple, or earlier frames of its connection
 * are held. @now_ns: CLOCK_MONOTONIC.
 */
void held_frames_offer(struct held_frames *h, const struct tls_data_event *e, size_t size,
		       uint64_t now_ns, held_emit_fn emit, void *ctx);

/* Records @b's tuple for its connection and emits the frames held for it, filled in. */
void held_frames_bind(struct held_frames *h, const struct conn_bound_event *b, held_emit_fn emit,
		      void *ctx);

/*
 * Emits, without a tuple, the frames of connections that waited longer than
 * @max_age_ns (all of them when @all). Returns how many frames left.
 */
unsigned held_frames_expire(struct held_frames *h, uint64_t now_ns, uint64_t max_age_ns, bool all,
			    held_emit_fn emit, void *ctx);

#endif /* TLSDUMP_HELD_FRAMES_H */
