/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "packets.h"

#include <arpa/inet.h>
#include <errno.h>
#include <glib.h>
#include <pcap/pcap.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pcapng.h"

/* Leaves room for the Enhanced Packet Block around the data (dumpcap's 256 KiB limit). */
#define PACKET_SNAPLEN (PCAPNG_MAX_BLOCK_SIZE - 4096)
/* pcap hands over packets at least this often (ms), so ordering delays stay short. */
#define PCAP_TIMEOUT_MS 20
#define PCAP_BUFFER_BYTES (32 << 20)
/* Copies of one packet on two interfaces arrive microseconds apart; a real
 * TCP retransmission comes no sooner than the 200 ms minimum RTO. */
#define DEDUP_WINDOW_NS (5ULL * 1000000ULL)
/*
 * Packet bytes read from one source per dispatch: the caller's loop comes
 * back at once while the source is readable, and in between drains the
 * plaintext ring. Smaller than the ring's share (capture.c), so that a
 * consumer short of CPU lets the kernel drop packets (counted) rather than
 * plaintext.
 */
#define DISPATCH_BUDGET_BYTES (4u << 20)
/*
 * A source is read to its end before the next one: the other copy of a
 * packet may come thousands of packets later, so a set keeps four and
 * replaces its oldest (one slot per hash lost copies to collisions).
 */
#define DEDUP_SLOTS 16384
#define DEDUP_WAYS 4

#define LINKTYPE_NULL 0
#define LINKTYPE_ETHERNET 1
#define LINKTYPE_RAW 101
#define LINKTYPE_LINUX_SLL 113
#define LINKTYPE_LINUX_SLL2 276
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define IPPROTO_TCP_NUM 6

struct dedup_slot {
	uint64_t hash;
	uint64_t ts_ns;
};

struct packet_source {
	pcap_t *pcap;
	char *name;
	int linktype;
	uint64_t duplicates;
};

struct packet_sources {
	GPtrArray *sources; /* struct packet_source * */
	struct dedup_slot dedup[DEDUP_SLOTS];
	/* dispatch context */
	struct flow_table *flows;
	const struct keylog *kl;
	packet_fn fn;
	void *ctx;
	int current;
	int delivered;
	uint64_t read_bytes; /* by the current source in this dispatch */
};

static void source_free(gpointer p)
{
	struct packet_source *src = p;

	if (src->pcap)
		pcap_close(src->pcap);
	g_free(src->name);
	g_free(src);
}

static int open_source(const char *name, const char *filter, struct packet_source **out)
{
	char errbuf[PCAP_ERRBUF_SIZE] = "";
	struct packet_source *src = g_new0(struct packet_source, 1);
	char *any_filter = NULL;
	struct bpf_program prog;
	int err;

	src->name = g_strdup(name);
	src->pcap = pcap_create(name, errbuf);
	if (!src->pcap)
		goto pcap_error;
	pcap_set_snaplen(src->pcap, PACKET_SNAPLEN);
	pcap_set_timeout(src->pcap, PCAP_TIMEOUT_MS);
	pcap_set_buffer_size(src->pcap, PCAP_BUFFER_BYTES);
	pcap_set_tstamp_precision(src->pcap, PCAP_TSTAMP_PRECISION_NANO);
	err = pcap_activate(src->pcap);
	if (err < 0) {
		g_strlcpy(errbuf, pcap_geterr(src->pcap), sizeof(errbuf));
		goto pcap_error;
	}
	/*
	 * LINUX_SLL2 names the interface of each packet on "any" (older libpcap
	 * lacks it). Before the filter: it is compiled for the link type.
	 */
	if (!strcmp(name, "any") && !pcap_set_datalink(src->pcap, LINKTYPE_LINUX_SLL2))
		/*
		 * "any" sees each loopback packet twice, sent and received (the
		 * loopback device is ifindex 1 in every namespace), and libpcap
		 * drops the sent copy after the kernel copied it into the ring:
		 * the kernel filter drops it before the copy.
		 */
		any_filter = g_strdup_printf("(%s) and not (ifindex 1 and outbound)", filter);
	err = pcap_compile(src->pcap, &prog, any_filter ? any_filter : filter, 1,
			   PCAP_NETMASK_UNKNOWN);
	g_free(any_filter);
	if (err) {
		log_fatal("invalid capture filter \"%s\": %s", filter, pcap_geterr(src->pcap));
		source_free(src);
		return -EINVAL;
	}
	err = pcap_setfilter(src->pcap, &prog);
	pcap_freecode(&prog);
	if (err || pcap_setnonblock(src->pcap, 1, errbuf)) {
		g_strlcpy(errbuf, pcap_geterr(src->pcap), sizeof(errbuf));
		goto pcap_error;
	}
	src->linktype = pcap_datalink(src->pcap);
	*out = src;
	return 0;
pcap_error:
	log_fatal("cannot capture packets on %s: %s", name, errbuf);
	source_free(src);
	return -ENODEV;
}

int packet_sources_open(const char *interfaces, const char *user_filter,
			struct packet_sources **out)
{
	struct packet_sources *ps = g_new0(struct packet_sources, 1);
	char **names = g_strsplit(interfaces && *interfaces ? interfaces : "any", ",", -1);
	char *filter = user_filter && *user_filter ? g_strdup_printf("tcp and (%s)", user_filter)
						   : g_strdup("tcp");
	int err = 0;

	ps->sources = g_ptr_array_new_with_free_func(source_free);
	for (char **name = names; *name && !err; name++) {
		struct packet_source *src;

		g_strstrip(*name);
		if (!**name)
			continue;
		err = open_source(*name, filter, &src);
		if (!err)
			g_ptr_array_add(ps->sources, src);
	}
	g_strfreev(names);
	g_free(filter);
	if (err) {
		packet_sources_close(ps);
		return err;
	}
	*out = ps;
	return 0;
}

int packet_sources_count(const struct packet_sources *ps)
{
	return (int)ps->sources->len;
}

struct packet_source_info packet_sources_info(const struct packet_sources *ps, int i)
{
	const struct packet_source *src = g_ptr_array_index(ps->sources, i);

	return (struct packet_source_info){ src->name, src->linktype, PACKET_SNAPLEN };
}

int packet_sources_fd(const struct packet_sources *ps, int i)
{
	const struct packet_source *src = g_ptr_array_index(ps->sources, i);

	return pcap_get_selectable_fd(src->pcap);
}

/* Finds the network layer: returns its ethertype and sets *@l3, or 0 when unknown. */
static uint16_t network_layer(int linktype, const uint8_t *p, uint32_t len, uint32_t *l3,
			      int *direction)
{
	uint16_t type;

	*direction = PCAPNG_DIR_UNKNOWN;
	switch (linktype) {
	case LINKTYPE_LINUX_SLL2:
		if (len < 20)
			return 0;
		/* packet type 4 = outgoing; 0-3 = to us, broadcast, multicast, other host */
		*direction = p[10] == 4 ? PCAPNG_DIR_OUTBOUND : PCAPNG_DIR_INBOUND;
		*l3 = 20;
		return (uint16_t)(p[0] << 8 | p[1]);
	case LINKTYPE_LINUX_SLL:
		if (len < 16)
			return 0;
		*direction = (p[0] << 8 | p[1]) == 4 ? PCAPNG_DIR_OUTBOUND : PCAPNG_DIR_INBOUND;
		*l3 = 16;
		return (uint16_t)(p[14] << 8 | p[15]);
	case LINKTYPE_ETHERNET:
		if (len < 14)
			return 0;
		*l3 = 14;
		type = (uint16_t)(p[12] << 8 | p[13]);
		if (type == ETHERTYPE_VLAN && len >= 18) {
			*l3 = 18;
			type = (uint16_t)(p[16] << 8 | p[17]);
		}
		return type;
	case LINKTYPE_RAW:
	case 12: /* DLT_RAW on Linux */
		*l3 = 0;
		if (len < 1)
			return 0;
		return (p[0] >> 4) == 4 ? ETHERTYPE_IPV4 : (p[0] >> 4) == 6 ? ETHERTYPE_IPV6 : 0;
	default:
		return 0;
	}
}

/* FNV-1a over @len bytes, continuing from @h. */
static uint64_t fnv1a(uint64_t h, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

/*
 * Tells whether the packet with @hash was seen within the window, and
 * remembers it. A direct-mapped table: a collision only forgets an entry.
 */
static bool seen_recently(struct packet_sources *ps, uint64_t hash, uint64_t ts_ns)
{
	struct dedup_slot *set = &ps->dedup[hash % (DEDUP_SLOTS / DEDUP_WAYS) * DEDUP_WAYS];
	struct dedup_slot *oldest = set;

	for (int i = 0; i < DEDUP_WAYS; i++) {
		/* Either copy may be handled first: compare the distance, not the order. */
		uint64_t apart = ts_ns > set[i].ts_ns ? ts_ns - set[i].ts_ns : set[i].ts_ns - ts_ns;

		if (set[i].hash == hash && apart < DEDUP_WINDOW_NS)
			return true;
		if (set[i].ts_ns < oldest->ts_ns)
			oldest = &set[i];
	}
	oldest->hash = hash;
	oldest->ts_ns = ts_ns;
	return false;
}

/*
 * Parses IP and TCP. Fills the endpoints, payload and the identity hash (IP
 * fields that do not change between interfaces, the TCP header and the
 * payload length). Returns false for anything but TCP over IP.
 */
static bool parse_tcp(const uint8_t *p, uint32_t len, uint16_t ethertype,
		      struct tcp_endpoint *src, struct tcp_endpoint *dst, const uint8_t **payload,
		      uint32_t *payload_len, uint64_t *hash)
{
	uint32_t ip_hdr, ip_total, tcp_hdr;
	uint64_t h = 0xcbf29ce484222325ULL;

	memset(src, 0, sizeof(*src));
	memset(dst, 0, sizeof(*dst));
	if (ethertype == ETHERTYPE_IPV4) {
		if (len < 20 || (p[0] >> 4) != 4 || p[9] != IPPROTO_TCP_NUM)
			return false;
		ip_hdr = (p[0] & 0x0f) * 4u;
		ip_total = (uint32_t)(p[2] << 8 | p[3]);
		if (ip_hdr < 20 || ip_hdr > len)
			return false;
		src->family = dst->family = 2; /* AF_INET */
		memcpy(src->addr, p + 12, 4);
		memcpy(dst->addr, p + 16, 4);
		h = fnv1a(h, p, 8);	  /* version .. fragment offset, not TTL/checksum */
		h = fnv1a(h, p + 12, 8);  /* addresses */
	} else if (ethertype == ETHERTYPE_IPV6) {
		if (len < 40 || (p[0] >> 4) != 6 || p[6] != IPPROTO_TCP_NUM)
			return false;
		ip_hdr = 40;
		ip_total = 40 + (uint32_t)(p[4] << 8 | p[5]);
		src->family = dst->family = 10; /* AF_INET6 */
		memcpy(src->addr, p + 8, 16);
		memcpy(dst->addr, p + 24, 16);
		h = fnv1a(h, p, 6);	  /* version, class, label, payload length */
		h = fnv1a(h, p + 8, 32);
	} else {
		return false;
	}
	/* GSO packets captured on loopback may claim length 0. */
	if (ip_total < ip_hdr || ip_total > len)
		ip_total = len;
	if (ip_total < ip_hdr + 20)
		return false;
	tcp_hdr = (p[ip_hdr + 12] >> 4) * 4u;
	if (tcp_hdr < 20 || ip_hdr + tcp_hdr > ip_total)
		return false;
	src->port = (uint16_t)(p[ip_hdr] << 8 | p[ip_hdr + 1]);
	dst->port = (uint16_t)(p[ip_hdr + 2] << 8 | p[ip_hdr + 3]);
	*payload = p + ip_hdr + tcp_hdr;
	*payload_len = ip_total - ip_hdr - tcp_hdr;
	h = fnv1a(h, p + ip_hdr, tcp_hdr);
	*hash = fnv1a(h, (const uint8_t *)payload_len, sizeof(*payload_len));
	return true;
}

static void on_pcap_packet(u_char *user, const struct pcap_pkthdr *hdr, const u_char *bytes)
{
	struct packet_sources *ps = (struct packet_sources *)user;
	struct packet_source *src = g_ptr_array_index(ps->sources, ps->current);
	struct captured_packet pkt = {
		.source = ps->current,
		.ts_ns = (uint64_t)hdr->ts.tv_sec * 1000000000ULL + (uint64_t)hdr->ts.tv_usec,
		.data = bytes,
		.len = hdr->caplen,
	};
	struct tcp_endpoint s = { 0 }, d = { 0 };
	const uint8_t *payload;
	uint32_t l3 = 0, payload_len;
	uint64_t hash;
	uint16_t ethertype = network_layer(src->linktype, bytes, hdr->caplen, &l3, &pkt.direction);

	ps->read_bytes += hdr->caplen;
	if (ethertype && parse_tcp(bytes + l3, hdr->caplen - l3, ethertype, &s, &d, &payload,
				   &payload_len, &hash)) {
		if (seen_recently(ps, hash, pkt.ts_ns)) {
			src->duplicates++;
			return;
		}
		pkt.flow = flow_get(ps->flows, &s, &d, pkt.ts_ns);
		pkt.src = s;
		pkt.dst = d;
		flow_note_payload(pkt.flow, payload, payload_len, ps->kl, pkt.ts_ns);
	}
	ps->fn(&pkt, ps->ctx);
	ps->delivered++;
}

int packet_sources_dispatch(struct packet_sources *ps, struct flow_table *flows,
			    const struct keylog *kl, packet_fn fn, void *ctx, bool to_end)
{
	ps->flows = flows;
	ps->kl = kl;
	ps->fn = fn;
	ps->ctx = ctx;
	ps->delivered = 0;
	for (guint i = 0; i < ps->sources->len; i++) {
		struct packet_source *src = g_ptr_array_index(ps->sources, i);
		int n;

		ps->current = (int)i;
		ps->read_bytes = 0;
		/* Non-blocking: returns when the buffer is empty, or at the budget. */
		do {
			n = pcap_dispatch(src->pcap, 256, on_pcap_packet, (u_char *)ps);
		} while (n > 0 && (to_end || ps->read_bytes < DISPATCH_BUDGET_BYTES));
		if (n == PCAP_ERROR)
			log_warn("reading packets on %s failed: %s", src->name,
				 pcap_geterr(src->pcap));
	}
	return ps->delivered;
}

void packet_sources_stats(struct packet_sources *ps, int i, struct packet_source_stats *out)
{
	struct packet_source *src = g_ptr_array_index(ps->sources, i);
	struct pcap_stat st = { 0 };

	memset(out, 0, sizeof(*out));
	if (!pcap_stats(src->pcap, &st)) {
		out->received = st.ps_recv;
		out->kernel_dropped = (uint64_t)st.ps_drop + st.ps_ifdrop;
	}
	out->duplicates = src->duplicates;
}

int packet_filter_check(const char *filter, char *err, size_t err_len)
{
	char *full = g_strdup_printf("tcp and (%s)", filter);
	pcap_t *dead = pcap_open_dead(LINKTYPE_LINUX_SLL2, PACKET_SNAPLEN);
	struct bpf_program prog;
	int ret = 0;

	if (!dead) {
		g_free(full);
		return 0; /* cannot check here: the capture itself will */
	}
	if (pcap_compile(dead, &prog, full, 1, PCAP_NETMASK_UNKNOWN)) {
		g_strlcpy(err, pcap_geterr(dead), err_len);
		ret = -EINVAL;
	} else {
		pcap_freecode(&prog);
	}
	pcap_close(dead);
	g_free(full);
	return ret;
}

void packet_sources_close(struct packet_sources *ps)
{
	if (!ps)
		return;
	g_ptr_array_free(ps->sources, TRUE);
	g_free(ps);
}
