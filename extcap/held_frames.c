/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "held_frames.h"

#include <glib.h>
#include <string.h>

/* What is known of one connection that needed holding. */
struct held_conn {
	GQueue frames;		 /* GBytes of struct tls_data_event + payload, oldest first */
	uint64_t since_ns;	 /* timestamp of the oldest frame held */
	uint64_t settled_ns;	 /* when it was bound or gave up (0: neither yet) */
	bool bound;		 /* the tuple below is known */
	bool gave_up;		 /* frames waited in vain once: the next ones do not wait */
	struct conn_bound_event tuple;
};

/* How long a bound (or given up) connection is remembered once nothing waits. */
#define SETTLED_KEEP_NS (2ULL * 1000000000ULL)

struct held_frames {
	GHashTable *conns; /* conn_id -> struct held_conn */
};

static void held_conn_free(gpointer data)
{
	struct held_conn *c = data;

	g_queue_clear_full(&c->frames, (GDestroyNotify)g_bytes_unref);
	g_free(c);
}

struct held_frames *held_frames_new(void)
{
	struct held_frames *h = g_new0(struct held_frames, 1);

	h->conns = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, held_conn_free);
	return h;
}

void held_frames_free(struct held_frames *h)
{
	if (!h)
		return;
	g_hash_table_destroy(h->conns);
	g_free(h);
}

static struct held_conn *lookup(struct held_frames *h, uint64_t conn_id)
{
	return g_hash_table_lookup(h->conns, &conn_id);
}

/* Returns the state of @conn_id, created empty if needed. */
static struct held_conn *lookup_or_add(struct held_frames *h, uint64_t conn_id)
{
	struct held_conn *c = lookup(h, conn_id);
	uint64_t *key;

	if (c)
		return c;
	key = g_memdup2(&conn_id, sizeof(conn_id));
	c = g_new0(struct held_conn, 1);
	g_queue_init(&c->frames);
	g_hash_table_insert(h->conns, key, c);
	return c;
}

/* Emits @e, with @c's tuple when @e has none and @c knows it. */
static void emit_filled(const struct held_conn *c, const struct tls_data_event *e, size_t size,
			held_emit_fn emit, void *ctx)
{
	struct tls_data_event *copy;

	if (e->family || !c || !c->bound) {
		emit(e, size, ctx);
		return;
	}
	copy = g_memdup2(e, size);
	copy->family = c->tuple.family;
	copy->role = c->tuple.role;
	copy->local_port = c->tuple.local_port;
	copy->remote_port = c->tuple.remote_port;
	memcpy(copy->local_addr, c->tuple.local_addr, sizeof(copy->local_addr));
	memcpy(copy->remote_addr, c->tuple.remote_addr, sizeof(copy->remote_addr));
	emit(copy, size, ctx);
	g_free(copy);
}

/* Emits every frame @c holds, oldest first. */
static void release(struct held_conn *c, held_emit_fn emit, void *ctx)
{
	GBytes *frame;

	while ((frame = g_queue_pop_head(&c->frames))) {
		gsize size;
		const struct tls_data_event *e = g_bytes_get_data(frame, &size);

		emit_filled(c, e, size, emit, ctx);
		g_bytes_unref(frame);
	}
}

void held_frames_offer(struct held_frames *h, const struct tls_data_event *e, size_t size,
		       uint64_t now_ns, held_emit_fn emit, void *ctx)
{
	struct held_conn *c = lookup(h, e->conn_id);

	/* Frames with their tuple and nothing held before them go straight through. */
	if ((e->family || (c && (c->bound || c->gave_up))) && (!c || g_queue_is_empty(&c->frames))) {
		emit_filled(c, e, size, emit, ctx);
		return;
	}
	c = lookup_or_add(h, e->conn_id);
	/* Age from the frame's own time: it also waited in the ring. */
	if (g_queue_is_empty(&c->frames))
		c->since_ns = MIN(e->ts_ns, now_ns);
	g_queue_push_tail(&c->frames, g_bytes_new(e, size));
}

void held_frames_bind(struct held_frames *h, const struct conn_bound_event *b, held_emit_fn emit,
		      void *ctx)
{
	struct held_conn *c = lookup_or_add(h, b->conn_id);

	c->bound = true;
	c->tuple = *b;
	c->settled_ns = 0; /* set by the next expiry pass */
	release(c, emit, ctx);
}

unsigned held_frames_expire(struct held_frames *h, uint64_t now_ns, uint64_t max_age_ns, bool all,
			    held_emit_fn emit, void *ctx)
{
	GHashTableIter iter;
	struct held_conn *c;
	unsigned left = 0;

	g_hash_table_iter_init(&iter, h->conns);
	while (g_hash_table_iter_next(&iter, NULL, (gpointer *)&c)) {
		if (g_queue_is_empty(&c->frames)) {
			/* Frames the kernel sent before it knew the socket may still be
			 * in the ring: a settled connection is kept a while, then
			 * forgotten (later frames carry their tuple). */
			if ((c->bound || c->gave_up) && !c->settled_ns)
				c->settled_ns = now_ns;
			else if (c->settled_ns && now_ns - c->settled_ns > SETTLED_KEEP_NS)
				g_hash_table_iter_remove(&iter);
			continue;
		}
		if (!all && now_ns - c->since_ns < max_age_ns)
			continue;
		left += g_queue_get_length(&c->frames);
		release(c, emit, ctx);
		c->gave_up = true;
	}
	return left;
}
