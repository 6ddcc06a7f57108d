/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Original packets: libpcap handles on the chosen network interfaces, each
 * packet deduplicated (the same wire packet seen on two interfaces) and
 * attributed to its TCP flow.
 */
#ifndef TLSDUMP_PACKETS_H
#define TLSDUMP_PACKETS_H

#include <stdbool.h>
#include <stdint.h>

#include "tcp_flows.h"

struct packet_sources;

/* A captured packet, handed to the consumer. */
struct captured_packet {
	int source;		/* index of the packet source (its pcapng interface) */
	uint64_t ts_ns;		/* realtime */
	const uint8_t *data;
	uint32_t len;		/* captured length */
	int direction;		/* enum pcapng_direction, from the link layer when known */
	struct tcp_flow *flow;	/* NULL when not TCP over IP */
	struct tcp_endpoint src, dst; /* of a TCP segment (when flow is set) */
};

typedef void (*packet_fn)(const struct captured_packet *pkt, void *ctx);

struct packet_source_info {
	const char *name;	/* interface name */
	int linktype;		/* DLT / LINKTYPE */
	uint32_t snaplen;
};

/*
 * Opens a capture on each interface of comma separated @interfaces ("any":
 * all) with filter "tcp" and @user_filter (may be NULL), non-blocking, with
 * nanosecond timestamps. Returns 0 and sets *@out, or -errno after a fatal
 * line naming the interface or the filter.
 */
int packet_sources_open(const char *interfaces, const char *user_filter,
			struct packet_sources **out);

/* Returns how many sources there are. */
int packet_sources_count(const struct packet_sources *ps);

/* Describes source @i. */
struct packet_source_info packet_sources_info(const struct packet_sources *ps, int i);

/* Returns the selectable fd of source @i, for poll/epoll. */
int packet_sources_fd(const struct packet_sources *ps, int i);

/*
 * Reads what is available on every source, up to a few MiB each (poll the
 * sources' fds for the rest) unless @to_end, attributing TCP packets to
 * flows of @flows (noting their payload, with @kl for ClientHellos) and
 * calling @fn for each packet that is not a duplicate. Returns packets
 * delivered.
 */
int packet_sources_dispatch(struct packet_sources *ps, struct flow_table *flows,
			    const struct keylog *kl, packet_fn fn, void *ctx, bool to_end);

struct packet_source_stats {
	uint64_t received;	/* seen by the kernel filter (pcap ps_recv) */
	uint64_t kernel_dropped; /* ps_drop + ps_ifdrop */
	uint64_t duplicates;	/* the same packet seen again, dropped by tlsdump */
};

/* Reads the counters of source @i. */
void packet_sources_stats(struct packet_sources *ps, int i, struct packet_source_stats *out);

/*
 * Compiles @filter as the packet sources would (ANDed with tcp). Returns 0,
 * or -EINVAL with pcap's message in @err.
 */
int packet_filter_check(const char *filter, char *err, size_t err_len);

/* Closes every source; accepts NULL. */
void packet_sources_close(struct packet_sources *ps);

#endif /* TLSDUMP_PACKETS_H */
