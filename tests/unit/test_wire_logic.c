/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The decisions behind original-packet capture, without libpcap: output
 * order (merge_queue), TLS secrets (keylog) and which connections' packets
 * are kept and when (tcp_flows).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keylog.h"
#include "merge_queue.h"
#include "tcp_flows.h"

#include "check.h"

#define SEC 1000000000ULL
#define RANDOM_HEX "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20"

static void test_merge_order(void)
{
	static const uint64_t ts[] = { 50, 10, 30, 10, 70, 20, 10, 60, 40, 30 };
	struct merge_queue *q = merge_queue_new();
	uint64_t last_ts = 0;
	int last_if = -1;

	/* if_id records the arrival order so ties can be checked. */
	for (int i = 0; i < 10; i++)
		merge_queue_push(q, merge_item_new(ts[i], i, 0, "x", 1, i % 2 ? "c" : NULL));
	CHECK(merge_queue_length(q) == 10, "length %zu", merge_queue_length(q));
	for (int i = 0; i < 10; i++) {
		struct merge_item *item = merge_queue_pop(q);

		CHECK(item && item->ts_ns >= last_ts, "out of order at %d", i);
		if (item && item->ts_ns == last_ts)
			CHECK(item->if_id > last_if, "tie at ts %lu broke arrival order",
			      (unsigned long)item->ts_ns);
		CHECK(item && ts[item->if_id] == item->ts_ns, "item carries wrong data");
		last_ts = item ? item->ts_ns : last_ts;
		last_if = item ? item->if_id : last_if;
		merge_item_free(item);
	}
	CHECK(merge_queue_pop(q) == NULL, "queue not empty");
	merge_queue_push(q, merge_item_new(1, 0, 0, NULL, 0, NULL));
	merge_queue_free(q); /* frees what is left */
}

/* Pushes and pops interleaved at random keep (ts, arrival) order across heap growth. */
static void test_merge_order_random(void)
{
	struct merge_queue *q = merge_queue_new();
	uint64_t last_ts = 0, state = 12345;
	int last_if = -1, pushed = 0, popped = 0;

	for (int round = 0; round < 20000; round++) {
		state = state * 6364136223846793005ULL + 1442695040888963407ULL;
		if ((state >> 33) % 3 != 0 || !merge_queue_length(q)) {
			/* Timestamps never below what already left, as the wire guarantees. */
			uint64_t ts = last_ts + (state >> 40) % 64;

			merge_queue_push(q, merge_item_new(ts, pushed++, 0, NULL, 0, NULL));
		} else {
			struct merge_item *item = merge_queue_pop(q);

			CHECK(item && (item->ts_ns > last_ts ||
				       (item->ts_ns == last_ts && item->if_id > last_if)),
			      "pop %d out of order", popped);
			last_ts = item->ts_ns;
			last_if = item->if_id;
			popped++;
			merge_item_free(item);
		}
	}
	CHECK(merge_queue_length(q) == (size_t)(pushed - popped), "length %zu, expected %d",
	      merge_queue_length(q), pushed - popped);
	merge_queue_free(q);
}

static void test_keylog_lines(void)
{
	struct keylog *kl = keylog_new(NULL);
	uint8_t random[TLS_RANDOM_LEN];
	size_t len = 0;
	char *pending;

	for (int i = 0; i < TLS_RANDOM_LEN; i++)
		random[i] = (uint8_t)(i + 1);
	CHECK(!keylog_active(kl), "active without a source");
	CHECK(keylog_add_line(kl, "# comment") == -EINVAL, "comment accepted");
	CHECK(keylog_add_line(kl, "CLIENT_RANDOM 0102 abcd") == -EINVAL, "short random accepted");
	CHECK(keylog_add_line(kl, "BOGUS_LABEL " RANDOM_HEX " abcd") == -EINVAL,
	      "unknown label accepted");
	CHECK(keylog_add_line(kl, "CLIENT_HANDSHAKE_TRAFFIC_SECRET " RANDOM_HEX " zz") == -EINVAL,
	      "non-hex secret accepted");
	CHECK(keylog_add_line(kl, "CLIENT_HANDSHAKE_TRAFFIC_SECRET " RANDOM_HEX " aa") == 1,
	      "valid line refused");
	CHECK(keylog_add_line(kl, "CLIENT_HANDSHAKE_TRAFFIC_SECRET " RANDOM_HEX " aa") == 0,
	      "repeat not recognised");
	CHECK(!keylog_complete(kl, random), "complete with one TLS 1.3 secret");
	keylog_add_line(kl, "SERVER_HANDSHAKE_TRAFFIC_SECRET " RANDOM_HEX " bb");
	keylog_add_line(kl, "CLIENT_TRAFFIC_SECRET_0 " RANDOM_HEX " cc");
	CHECK(!keylog_complete(kl, random), "complete with three TLS 1.3 secrets");
	keylog_add_line(kl, "SERVER_TRAFFIC_SECRET_0 " RANDOM_HEX " dd");
	CHECK(keylog_complete(kl, random), "not complete with all four TLS 1.3 secrets");
	pending = keylog_take_pending(kl, &len);
	CHECK(pending && len == strlen(pending) && strstr(pending, "SERVER_TRAFFIC_SECRET_0"),
	      "pending lines missing");
	CHECK(pending && !strstr(pending, "BOGUS"), "malformed line passed on");
	free(pending);
	CHECK(keylog_take_pending(kl, &len) == NULL, "pending not emptied");
	keylog_free(kl);
}

static void test_keylog_file(void)
{
	char path[256];
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	struct keylog *kl;
	uint8_t random[TLS_RANDOM_LEN];
	FILE *f;

	for (int i = 0; i < TLS_RANDOM_LEN; i++)
		random[i] = (uint8_t)(i + 1);
	snprintf(path, sizeof(path), "%s/test_keylog_%d.txt", tmp, (int)getpid());
	remove(path);
	kl = keylog_new(path);
	CHECK(keylog_active(kl), "a file source is not active");
	CHECK(keylog_poll_file(kl) == 0, "missing file is an error");
	f = fopen(path, "w");
	fputs("CLIENT_RANDOM " RANDOM_HEX " 00ff\nCLIENT_RAN", f);
	fflush(f);
	CHECK(keylog_poll_file(kl) == 1, "first line not read");
	CHECK(keylog_complete(kl, random), "TLS 1.2 CLIENT_RANDOM not complete");
	/* The half line is finished later, as a program appends. */
	fputs("DOM " RANDOM_HEX " 11ee\n", f);
	fclose(f);
	CHECK(keylog_poll_file(kl) == 1, "completed line not read");
	CHECK(keylog_poll_file(kl) == 0, "a line read twice");
	keylog_free(kl);
	remove(path);
}

static struct tcp_endpoint ep(uint8_t last, uint16_t port)
{
	struct tcp_endpoint e = { .family = 2, .port = port };

	e.addr[0] = 127;
	e.addr[3] = last;
	return e;
}

static void test_flows(void)
{
	/* A ClientHello: handshake record, type 1, version, then the random. */
	uint8_t hello[64] = { 0x16, 0x03, 0x01, 0x00, 0x3b, 0x01, 0x00, 0x00, 0x37, 0x03, 0x03 };
	const uint8_t http[] = "GET / HTTP/1.1\r\n";
	struct flow_table *t = flow_table_new();
	struct tcp_endpoint c = ep(1, 40000), s = ep(2, 443), o = ep(3, 80);
	struct keylog *kl = keylog_new(NULL);
	struct tcp_flow *f, *g;
	uint64_t now = 100 * SEC;

	for (int i = 0; i < TLS_RANDOM_LEN; i++)
		hello[11 + i] = (uint8_t)(i + 1);
	f = flow_get(t, &c, &s, now);
	CHECK(flow_get(t, &s, &c, now) == f, "reverse direction is another flow");
	CHECK(f->cls == FLOW_UNKNOWN, "new flow classified");
	CHECK(flow_verdict(f, now, now, SELECT_TLS, kl, false) == VERDICT_WAIT,
	      "unclassified packet not held");
	CHECK(flow_verdict(f, now, now + FLOW_CLASSIFY_WAIT_NS + 1, SELECT_TLS, kl, false) == VERDICT_DROP,
	      "unclassified packet held forever");
	CHECK(flow_verdict(f, now, now, SELECT_ALL, kl, false) == VERDICT_EMIT,
	      "all-TCP mode held a packet");

	flow_note_payload(f, hello, sizeof(hello), kl, now);
	CHECK(f->cls == FLOW_TLS && f->client_hello_seen, "ClientHello not recognised");
	CHECK(!memcmp(f->client_random, hello + 11, TLS_RANDOM_LEN), "wrong client random");
	CHECK(f->secrets_deadline_ns == 0, "waits for secrets without a key log source");
	CHECK(flow_verdict(f, now, now, SELECT_TLS, kl, false) == VERDICT_EMIT,
	      "TLS packet not emitted");
	CHECK(flow_verdict(f, now, now, SELECT_PLAINTEXT, kl, false) == VERDICT_WAIT,
	      "plaintext selection kept a flow without plaintext");
	flow_note_plaintext(f);
	CHECK(flow_verdict(f, now, now, SELECT_PLAINTEXT, kl, false) == VERDICT_EMIT,
	      "plaintext selection dropped a flow with plaintext");

	/* Non-TLS payload: dropped, unless plaintext shows it is an older TLS connection. */
	g = flow_get(t, &c, &o, now);
	flow_note_payload(g, http, sizeof(http) - 1, kl, now);
	CHECK(g->cls == FLOW_OTHER, "HTTP flow not classified as other");
	CHECK(flow_verdict(g, now, now, SELECT_TLS, kl, false) == VERDICT_DROP, "HTTP kept");
	flow_note_plaintext(g);
	CHECK(flow_verdict(g, now, now, SELECT_TLS, kl, false) == VERDICT_EMIT,
	      "flow with plaintext dropped");

	/* With a key log source, a connection waits for its secrets, then goes. */
	keylog_set_active(kl);
	g = flow_get(t, &s, &o, now);
	flow_note_payload(g, hello, sizeof(hello), kl, now);
	CHECK(g->secrets_deadline_ns == now + FLOW_SECRETS_WAIT_NS, "no secrets deadline");
	CHECK(flow_verdict(g, now, now + 1, SELECT_TLS, kl, false) == VERDICT_WAIT,
	      "released before its secrets");
	keylog_add_line(kl, "CLIENT_RANDOM " RANDOM_HEX " 00");
	CHECK(flow_verdict(g, now, now + 2, SELECT_TLS, kl, false) == VERDICT_EMIT,
	      "held after its secrets arrived");
	g->secrets_deadline_ns = now + 5;
	keylog_free(kl);
	kl = keylog_new(NULL);
	keylog_set_active(kl);
	CHECK(flow_verdict(g, now, now + 10, SELECT_TLS, kl, false) == VERDICT_EMIT,
	      "held past the secrets deadline");
	CHECK(flow_table_size(t) == 3, "flows %zu", flow_table_size(t));
	f->queued = 1;
	flow_table_expire(t, now + 1000 * SEC, SEC);
	CHECK(flow_table_size(t) == 1, "expiry kept %zu flows (want only the queued one)",
	      flow_table_size(t));
	keylog_free(kl);
	flow_table_free(t);
}

int main(void)
{
	test_merge_order();
	test_merge_order_random();
	test_keylog_lines();
	test_keylog_file();
	test_flows();
	return check_exit_status("test_wire_logic");
}
