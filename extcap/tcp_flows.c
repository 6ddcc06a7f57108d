/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tcp_flows.h"

#include <glib.h>
#include <string.h>

#define TLS_RECORD_HEADER_LEN 5
#define TLS_MAX_RECORD_LEN (16384 + 2048)
#define TLS_CONTENT_HANDSHAKE 0x16
#define TLS_HANDSHAKE_CLIENT_HELLO 0x01

struct flow_table {
	GHashTable *flows; /* struct tcp_flow * (key is its endpoints) */
};

static int endpoint_cmp(const struct tcp_endpoint *x, const struct tcp_endpoint *y)
{
	int c = memcmp(x->addr, y->addr, sizeof(x->addr));

	if (c)
		return c;
	return (int)x->port - (int)y->port;
}

static guint flow_hash(gconstpointer p)
{
	const struct tcp_flow *f = p;
	guint h = f->a.port * 31u + f->b.port;

	for (size_t i = 0; i < sizeof(f->a.addr); i++)
		h = h * 131u + f->a.addr[i] * 7u + f->b.addr[i];
	return h;
}

static gboolean flow_equal(gconstpointer p, gconstpointer q)
{
	const struct tcp_flow *x = p, *y = q;

	return x->a.family == y->a.family && !endpoint_cmp(&x->a, &y->a) &&
	       !endpoint_cmp(&x->b, &y->b);
}

struct flow_table *flow_table_new(void)
{
	struct flow_table *t = g_new0(struct flow_table, 1);

	t->flows = g_hash_table_new_full(flow_hash, flow_equal, g_free, NULL);
	return t;
}

void flow_table_free(struct flow_table *t)
{
	if (!t)
		return;
	g_hash_table_destroy(t->flows);
	g_free(t);
}

struct tcp_flow *flow_get(struct flow_table *t, const struct tcp_endpoint *x,
			  const struct tcp_endpoint *y, uint64_t now_ns)
{
	struct tcp_flow probe = { 0 }, *f;

	if (endpoint_cmp(x, y) <= 0) {
		probe.a = *x;
		probe.b = *y;
	} else {
		probe.a = *y;
		probe.b = *x;
	}
	f = g_hash_table_lookup(t->flows, &probe);
	if (!f) {
		f = g_memdup2(&probe, sizeof(probe));
		g_hash_table_add(t->flows, f);
	}
	f->last_seen_ns = now_ns;
	return f;
}

/* Tells whether @p starts with a plausible TLS record header. */
static bool tls_record_start(const uint8_t *p, size_t len)
{
	unsigned int rec_len;

	if (len < TLS_RECORD_HEADER_LEN)
		return false;
	rec_len = (unsigned int)p[3] << 8 | p[4];
	/* content type 20-24, major version 3, minor 0-4 (SSL 3.0 to TLS 1.3) */
	return p[0] >= 0x14 && p[0] <= 0x18 && p[1] == 0x03 && p[2] <= 0x04 && rec_len > 0 &&
	       rec_len <= TLS_MAX_RECORD_LEN;
}

void flow_note_payload(struct tcp_flow *f, const uint8_t *payload, size_t len,
		       const struct keylog *kl, uint64_t now_ns)
{
	if (!len)
		return;
	if (tls_record_start(payload, len)) {
		f->cls = FLOW_TLS;
	} else if (f->cls == FLOW_UNKNOWN && !f->plaintext_seen) {
		/* Mid-record segments of an older TLS connection look like this
		 * too: plaintext on the flow can still turn it into TLS. */
		f->cls = FLOW_OTHER;
	}
	/* record header (5) + handshake type (1) + length (3) + version (2) + random (32) */
	if (!f->client_hello_seen && len >= 43 && tls_record_start(payload, len) &&
	    payload[0] == TLS_CONTENT_HANDSHAKE && payload[5] == TLS_HANDSHAKE_CLIENT_HELLO) {
		f->client_hello_seen = true;
		memcpy(f->client_random, payload + 11, TLS_RANDOM_LEN);
		if (kl && keylog_active(kl))
			f->secrets_deadline_ns = now_ns + FLOW_SECRETS_WAIT_NS;
	}
}

void flow_note_plaintext(struct tcp_flow *f)
{
	f->plaintext_seen = true;
	f->cls = FLOW_TLS;
}

enum flow_verdict flow_verdict(struct tcp_flow *f, uint64_t packet_ts_ns, uint64_t now_ns,
			       enum flow_selection sel, const struct keylog *kl, bool final)
{
	bool selected = sel == SELECT_ALL || (sel == SELECT_TLS && f->cls == FLOW_TLS) ||
			(sel == SELECT_PLAINTEXT && f->plaintext_seen);

	if (!selected) {
		if (final || (sel == SELECT_TLS && f->cls == FLOW_OTHER))
			return VERDICT_DROP;
		return now_ns < packet_ts_ns + FLOW_CLASSIFY_WAIT_NS ? VERDICT_WAIT : VERDICT_DROP;
	}
	if (f->secrets_deadline_ns && !final) {
		/* Wireshark needs the secrets before the ServerHello: hold the rest of
		 * the connection until they are written, or until it is too late. */
		if (kl && keylog_complete(kl, f->client_random))
			f->secrets_deadline_ns = 0;
		else if (now_ns < f->secrets_deadline_ns)
			return VERDICT_WAIT;
		else
			f->secrets_deadline_ns = 0;
	}
	return VERDICT_EMIT;
}

static gboolean flow_idle(gpointer key, gpointer value, gpointer user_data)
{
	const struct tcp_flow *f = key;
	const uint64_t *cutoff = user_data;

	return !f->queued && f->last_seen_ns < *cutoff;
}

void flow_table_expire(struct flow_table *t, uint64_t now_ns, uint64_t idle_ns)
{
	uint64_t cutoff = now_ns > idle_ns ? now_ns - idle_ns : 0;

	g_hash_table_foreach_remove(t->flows, flow_idle, &cutoff);
}

size_t flow_table_size(const struct flow_table *t)
{
	return g_hash_table_size(t->flows);
}
