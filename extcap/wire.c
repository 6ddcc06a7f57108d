/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "wire.h"

#include <errno.h>
#include <glib.h>
#include <string.h>
#include <time.h>

#include "keylog.h"
#include "log.h"
#include "merge_queue.h"
#include "packets.h"

/*
 * How long a block waits for earlier ones: the ring buffer consumer runs at
 * least every 100 ms and pcap hands over packets every 20 ms.
 */
#define MERGE_DELAY_NS (300ULL * 1000000ULL)
/* Past this much queued data, blocks leave early rather than exhaust memory. */
#define MERGE_MAX_BYTES (256ULL << 20)
#define FLOW_IDLE_NS (120ULL * 1000000000ULL)
#define DLT_RAW_LINUX 12
#define LINKTYPE_RAW 101

struct wire_source_counts {
	uint64_t written;
	uint64_t filtered; /* packets of connections where no TLS was seen */
};

struct wire {
	struct pcapng_writer *w;
	bool all_tcp;
	enum flow_selection selection;
	struct packet_sources *sources; /* NULL when --packets off */
	int first_if;			/* pcapng interface id of source 0 */
	struct wire_source_counts *counts;
	struct flow_table *flows;
	struct keylog *keylog;
	struct merge_queue *queue;
	uint64_t queued_bytes;
	uint64_t last_expire_ns;
	wire_packet_comment_fn packet_comment; /* names the pods of packets, or NULL */
	void *packet_comment_ctx;
};

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

int wire_open(const struct tlsdump_options *opts, struct wire **out)
{
	struct wire *wire = g_new0(struct wire, 1);
	int err;

	wire->all_tcp = opts->packets_mode == PACKETS_ALL;
	bool process_filter = opts->n_pids || opts->comm[0] || opts->k8s_namespace ||
			      opts->k8s_pod || opts->k8s_container;

	/* With a process (or pod) filter, only the connections of those processes. */
	wire->selection = wire->all_tcp ? SELECT_ALL : process_filter ? SELECT_PLAINTEXT : SELECT_TLS;
	wire->flows = flow_table_new();
	wire->keylog = keylog_new(opts->tls_keylog);
	wire->queue = merge_queue_new();
	if (opts->packets_mode != PACKETS_OFF) {
		err = packet_sources_open(opts->packet_interfaces, opts->capture_filter,
					  &wire->sources);
		if (err)
			goto fail;
		wire->counts = g_new0(struct wire_source_counts,
				      packet_sources_count(wire->sources));
	}
	*out = wire;
	return 0;
fail:
	wire_close(wire);
	return err;
}

int wire_start(struct wire *wire, struct pcapng_writer *w)
{
	wire->w = w;
	for (int i = 0; wire->sources && i < packet_sources_count(wire->sources); i++) {
		struct packet_source_info info = packet_sources_info(wire->sources, i);
		char *desc = g_strdup_printf("Original packets on %s (libpcap)", info.name);
		int linktype = info.linktype == DLT_RAW_LINUX ? LINKTYPE_RAW : info.linktype;
		int id = pcapng_add_interface(w, (uint16_t)linktype, info.name, desc, info.snaplen);

		g_free(desc);
		if (id < 0)
			return id;
		if (i == 0)
			wire->first_if = id;
	}
	return 0;
}

static void queue_item(struct wire *wire, struct merge_item *item, struct tcp_flow *flow)
{
	item->owner = flow;
	if (flow)
		flow->queued++;
	wire->queued_bytes += item->len;
	merge_queue_push(wire->queue, item);
}

void wire_add_plaintext(struct wire *wire, struct merge_item *item,
			const struct tcp_endpoint *local, const struct tcp_endpoint *remote)
{
	/* Queued even without packets: frames from several CPUs' ring order
	 * are not quite in time order. */
	if (local->family)
		flow_note_plaintext(flow_get(wire->flows, local, remote, item->ts_ns));
	queue_item(wire, item, NULL);
}

void wire_set_packet_comments(struct wire *wire, wire_packet_comment_fn fn, void *ctx)
{
	wire->packet_comment = fn;
	wire->packet_comment_ctx = ctx;
}

void wire_add_keylog_line(struct wire *wire, const char *line)
{
	keylog_set_active(wire->keylog);
	keylog_add_line(wire->keylog, line);
}

int wire_poll_fds(const struct wire *wire, int *fds, int max)
{
	int n = 0;

	for (int i = 0; wire->sources && i < packet_sources_count(wire->sources) && n < max; i++)
		fds[n++] = packet_sources_fd(wire->sources, i);
	return n;
}

static void on_packet(const struct captured_packet *pkt, void *ctx)
{
	struct wire *wire = ctx;
	struct merge_item *item;

	char comment[1024] = "";

	if (!pkt->flow && !wire->all_tcp)
		return;
	if (pkt->flow && wire->packet_comment)
		wire->packet_comment(&pkt->src, &pkt->dst, pkt->ts_ns, comment, sizeof(comment),
				     wire->packet_comment_ctx);
	item = merge_item_new(pkt->ts_ns, wire->first_if + pkt->source, pkt->direction, pkt->data,
			      pkt->len, comment[0] ? comment : NULL);
	queue_item(wire, item, pkt->flow);
}

/* Returns the verdict on the earliest queued block. */
static enum flow_verdict head_verdict(struct wire *wire, struct merge_item *head, uint64_t now,
				      bool final)
{
	if (!head->owner)
		return VERDICT_EMIT;
	return flow_verdict(head->owner, head->ts_ns, now, wire->selection, wire->keylog, final);
}

/*
 * Splits @joined (groups separated by WIRE_COMMENT_SEPARATOR; may be NULL)
 * in place into @out, one opt_comment each; past WIRE_MAX_COMMENTS the rest
 * stays in the last. Returns how many.
 */
static size_t split_comments(char *joined, const char *out[WIRE_MAX_COMMENTS])
{
	size_t n = 0;

	if (!joined)
		return 0;
	out[n++] = joined;
	for (char *p = joined; n < WIRE_MAX_COMMENTS; n++) {
		p = strchr(p, WIRE_COMMENT_SEPARATOR);
		if (!p)
			break;
		*p++ = '\0';
		out[n] = p;
	}
	return n;
}

static int flush_queue(struct wire *wire, uint64_t hold_ns, bool final)
{
	uint64_t now = realtime_ns();
	struct merge_item *head;
	int err = 0;

	while (!err && (head = merge_queue_peek(wire->queue))) {
		bool pressed = wire->queued_bytes > MERGE_MAX_BYTES;
		enum flow_verdict v;

		if (!final && !pressed &&
		    (head->ts_ns + MERGE_DELAY_NS > now || (hold_ns && head->ts_ns >= hold_ns)))
			break;
		v = head_verdict(wire, head, now, final || pressed);
		if (v == VERDICT_WAIT)
			break;
		merge_queue_pop(wire->queue);
		wire->queued_bytes -= head->len;
		if (head->owner)
			((struct tcp_flow *)head->owner)->queued--;
		if (v == VERDICT_EMIT) {
			const char *comments[WIRE_MAX_COMMENTS];
			size_t n = split_comments(head->comment, comments);

			err = pcapng_write_packet(wire->w, head->if_id, head->ts_ns, head->data,
						  head->len, head->direction, comments, n);
			if (!err && head->owner)
				wire->counts[head->if_id - wire->first_if].written++;
		} else if (head->owner) {
			wire->counts[head->if_id - wire->first_if].filtered++;
		}
		merge_item_free(head);
	}
	return err;
}

static int write_secrets(struct wire *wire)
{
	size_t len;
	char *lines;
	int err;

	if (keylog_poll_file(wire->keylog) < 0)
		log_warn("cannot read the TLS key log file");
	lines = keylog_take_pending(wire->keylog, &len);
	if (!lines)
		return 0;
	/* Written at once: a Decryption Secrets Block has no timestamp, it only
	 * has to come before the packets it decrypts, which are still queued. */
	err = pcapng_write_tls_keylog(wire->w, lines, len);
	g_free(lines);
	return err;
}

int wire_service(struct wire *wire, uint64_t hold_ns, bool final)
{
	uint64_t now = realtime_ns();
	int err;

	if (wire->sources)
		packet_sources_dispatch(wire->sources, wire->flows, wire->keylog, on_packet, wire,
					final);
	err = write_secrets(wire);
	if (!err)
		err = flush_queue(wire, hold_ns, final);
	if (now - wire->last_expire_ns > 1000000000ULL) {
		flow_table_expire(wire->flows, now, FLOW_IDLE_NS);
		wire->last_expire_ns = now;
	}
	return err;
}

void wire_write_statistics(struct wire *wire, uint64_t start_ns, uint64_t end_ns)
{
	for (int i = 0; wire->sources && i < packet_sources_count(wire->sources); i++) {
		struct packet_source_stats st;
		struct pcapng_stats isb = { .start_ns = start_ns, .end_ns = end_ns };
		char comment[256];

		packet_sources_stats(wire->sources, i, &st);
		isb.received = st.received;
		isb.dropped = st.kernel_dropped;
		isb.has_os_stats = true;
		isb.os_dropped = st.kernel_dropped;
		isb.delivered = wire->counts[i].written;
		snprintf(comment, sizeof(comment),
			 "Packets received: %llu\nDropped by the kernel: %llu\n"
			 "Duplicates removed by tlsdump: %llu\n"
			 "Not written (no TLS on the connection): %llu\nWritten: %llu",
			 (unsigned long long)st.received, (unsigned long long)st.kernel_dropped,
			 (unsigned long long)st.duplicates,
			 (unsigned long long)wire->counts[i].filtered,
			 (unsigned long long)wire->counts[i].written);
		isb.comment = comment;
		pcapng_write_stats(wire->w, wire->first_if + i, &isb);
	}
}

void wire_close(struct wire *wire)
{
	if (!wire)
		return;
	packet_sources_close(wire->sources);
	merge_queue_free(wire->queue);
	flow_table_free(wire->flows);
	keylog_free(wire->keylog);
	g_free(wire->counts);
	g_free(wire);
}
