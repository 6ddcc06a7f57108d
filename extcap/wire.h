/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The wire side of a capture: original packets of the TLS connections (or of
 * all TCP), TLS secrets, and the time ordering of everything written. Each
 * plaintext frame and packet waits in a merge queue until no earlier block
 * can still arrive, and a connection's packets wait for its secrets.
 */
#ifndef TLSDUMP_WIRE_H
#define TLSDUMP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "merge_queue.h"
#include "options.h"
#include "pcapng.h"
#include "tcp_flows.h"

struct wire;

/*
 * Opens the packet sources @opts asks for. Returns 0 and sets *@out, or
 * -errno after a fatal line (bad interface or filter): before any output.
 */
int wire_open(const struct tlsdump_options *opts, struct wire **out);

/* Writes the packet sources' interface descriptions to @w, which all later output goes to. */
int wire_start(struct wire *wire, struct pcapng_writer *w);

/*
 * Queues a plaintext frame (@item, from merge_item_new(), filled in; the
 * wire owns it from now on) of the connection @local <-> @remote (family
 * 0: unknown) for ordered output.
 */
void wire_add_plaintext(struct wire *wire, struct merge_item *item,
			const struct tcp_endpoint *local, const struct tcp_endpoint *remote);

/*
 * Writes into @out the comment of a packet from @src to @dst at @ts_ns
 * (realtime), groups separated by WIRE_COMMENT_SEPARATOR, or "" for none.
 */
typedef void (*wire_packet_comment_fn)(const struct tcp_endpoint *src,
				       const struct tcp_endpoint *dst, uint64_t ts_ns, char *out,
				       size_t out_len, void *ctx);

/*
 * Separates the groups of a comment (process, container, pod, peer): each
 * group becomes an opt_comment of its own.
 */
#define WIRE_COMMENT_SEPARATOR '\x1e'
/* Groups written as opt_comments of one block; more stay joined in the last. */
#define WIRE_MAX_COMMENTS 8

/* Names the pods of original packets through @fn from now on. */
void wire_set_packet_comments(struct wire *wire, wire_packet_comment_fn fn, void *ctx);

/* Adds one TLS key log line from a probe (e.g. Go's writeKeyLog). */
void wire_add_keylog_line(struct wire *wire, const char *line);

/* Returns the fds to wait on (packet sources); fills up to @max of them. */
int wire_poll_fds(const struct wire *wire, int *fds, int max);

/*
 * Reads packets and secrets, writes secrets, and writes every queued block
 * whose time has come (all of them when @final). A block waits at least the
 * merge delay, and while a write call that started before it (@hold_ns,
 * realtime; 0: none) may still bring an earlier-stamped frame. Returns 0 or
 * the writer's -errno.
 */
int wire_service(struct wire *wire, uint64_t hold_ns, bool final);

/* Writes an Interface Statistics Block for each packet interface. */
void wire_write_statistics(struct wire *wire, uint64_t start_ns, uint64_t end_ns);

/* Frees everything; accepts NULL. */
void wire_close(struct wire *wire);

#endif /* TLSDUMP_WIRE_H */
