/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TCP connections seen on the wire, and whether TLS runs on them. A flow is
 * TLS when a TLS record starts one of its segments or when tlsdump captured
 * plaintext on its 5-tuple (which also covers connections opened before the
 * capture, whose segments may all start mid-record).
 */
#ifndef TLSDUMP_TCP_FLOWS_H
#define TLSDUMP_TCP_FLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keylog.h"

enum flow_class {
	FLOW_UNKNOWN, /* no payload seen yet, or payload that proves nothing */
	FLOW_TLS,
	FLOW_OTHER,   /* payload that is not TLS, and no plaintext */
};

enum flow_verdict {
	VERDICT_EMIT,
	VERDICT_DROP,
	VERDICT_WAIT, /* not decided yet: keep the packet (and everything after it) queued */
};

struct tcp_endpoint {
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t addr[16];
	uint16_t port;
};

struct tcp_flow {
	struct tcp_endpoint a, b;	/* canonical order: a < b */
	enum flow_class cls;
	bool plaintext_seen;
	bool client_hello_seen;
	uint8_t client_random[TLS_RANDOM_LEN];
	uint64_t secrets_deadline_ns;	/* 0: not waiting for secrets */
	uint64_t last_seen_ns;
	unsigned int queued;		/* packets of this flow waiting in the merge queue */
};

struct flow_table;

/* How long a connection's packets may wait for its TLS secrets. */
#define FLOW_SECRETS_WAIT_NS (2ULL * 1000000000ULL)
/*
 * How long a packet of an unclassified flow may wait for a verdict: a slow
 * handshake, or (with a process filter) a quiet client's first plaintext.
 * Everything written after it waits as long, so keep it short.
 */
#define FLOW_CLASSIFY_WAIT_NS (3ULL * 1000000000ULL)

/* Returns an empty table. */
struct flow_table *flow_table_new(void);

/* Frees the table; accepts NULL. */
void flow_table_free(struct flow_table *t);

/* Returns the flow between @x and @y (either order), creating it when absent. */
struct tcp_flow *flow_get(struct flow_table *t, const struct tcp_endpoint *x,
			  const struct tcp_endpoint *y, uint64_t now_ns);

/*
 * Looks at a segment's payload: TLS record headers classify the flow, a
 * ClientHello gives the client random and, when @kl is active, makes the
 * flow wait for its secrets.
 */
void flow_note_payload(struct tcp_flow *f, const uint8_t *payload, size_t len,
		       const struct keylog *kl, uint64_t now_ns);

/* Records that plaintext was captured on this flow: it is TLS. */
void flow_note_plaintext(struct tcp_flow *f);

enum flow_selection {
	SELECT_TLS,	  /* flows where TLS was seen */
	SELECT_PLAINTEXT, /* flows where plaintext was captured (a process filter is on) */
	SELECT_ALL,	  /* every TCP flow */
};

/*
 * Decides what to do with a queued packet of @f at @now_ns; @final decides
 * everything (end of capture: no waiting).
 */
enum flow_verdict flow_verdict(struct tcp_flow *f, uint64_t packet_ts_ns, uint64_t now_ns,
			       enum flow_selection sel, const struct keylog *kl, bool final);

/* Forgets flows idle for longer than @idle_ns with no queued packets. */
void flow_table_expire(struct flow_table *t, uint64_t now_ns, uint64_t idle_ns);

/* Returns the number of flows in the table. */
size_t flow_table_size(const struct flow_table *t);

#endif /* TLSDUMP_TCP_FLOWS_H */
