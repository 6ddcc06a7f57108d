/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pcapng writer round trip: write a file with every block type, read it back
 * with a minimal parser of our own, then with tshark and capinfos. Also checks
 * the size limit and that stream errors surface and stick.
 *
 * Exit status: 0 pass, 1 fail, 77 skip (tshark/capinfos missing; the checks
 * that need no Wireshark tool still ran and passed).
 */
#include "pcapng.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"


#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define LINKTYPE_ETHERNET 1
#define LINKTYPE_UPPER_PDU 252
#define TS_BASE 1700000000123456789ull

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 1u
#define BT_ISB 5u
#define BT_EPB 6u
#define BT_DSB 10u

struct expected_packet {
	int if_id;
	uint64_t ts;
	uint8_t *data;
	uint32_t len;
	enum pcapng_direction dir;
	const char *comments[4];
	size_t n_comments;
};

enum { PKT_COMMENTED, PKT_ETHER, PKT_BIG, PKT_BOUNDARY, PKT_BARE, N_PACKETS };

static struct expected_packet packets[N_PACKETS];

static const char keylog[] =
	"CLIENT_RANDOM 0102030405060708091011121314151617181920212223242526272829303132 "
	"aabbccddeeff00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff001122334455"
	"66778899\n"; /* odd length on purpose: the block must pad it */

static const struct pcapng_stats stats = {
	.start_ns = TS_BASE - 1000000000ull,
	.end_ns = TS_BASE + 5000000000ull,
	.received = 4, /* packets on interface 0 */
	.dropped = 7,
	.comment = "lost 1234 bytes",
};

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint16_t rd16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t rd_ts(const uint8_t *p)
{
	return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

/* A exported PDU frame handed to Wireshark's "data" dissector, @len bytes. */
static uint8_t *make_upper_pdu(uint32_t len, uint8_t seed)
{
	static const uint8_t tags[] = { 0, 12, 0, 4, 'd', 'a', 't', 'a', 0, 0, 0, 0 };
	uint8_t *p = malloc(len);
	uint32_t i;

	REQUIRE(p && len >= sizeof(tags), "malloc %u", len);
	memcpy(p, tags, sizeof(tags));
	for (i = sizeof(tags); i < len; i++)
		p[i] = (uint8_t)(i * 31 + seed);
	return p;
}

/* A broadcast Ethernet frame with the local experimental ethertype. */
static uint8_t *make_ether(uint32_t len)
{
	uint8_t *p = calloc(1, len);

	REQUIRE(p && len >= 14, "calloc %u", len);
	memset(p, 0xff, 6);
	memcpy(p + 6, "\x02\x00\x00\x00\x00\x01\x88\xb5", 8);
	memcpy(p + 14, "tlsdump", 7);
	return p;
}

static void setup_packets(void)
{
	packets[PKT_COMMENTED] = (struct expected_packet){
		.if_id = 0, .ts = TS_BASE, .len = 45, .dir = PCAPNG_DIR_OUTBOUND,
		.comments = { "PID: 4242", "Comm: curl", "Cmd: curl https://example.com/" },
		.n_comments = 3,
	};
	packets[PKT_ETHER] = (struct expected_packet){
		.if_id = 1, .ts = TS_BASE + 1, .len = 60, .dir = PCAPNG_DIR_INBOUND,
		.comments = { "on the Ethernet interface" }, .n_comments = 1,
	};
	packets[PKT_BIG] = (struct expected_packet){
		.if_id = 0, .ts = TS_BASE + 1000, .len = 200 * 1024 + 3, .dir = PCAPNG_DIR_INBOUND,
		.comments = { "big" }, .n_comments = 1,
	};
	/* Exactly PCAPNG_MAX_BLOCK_SIZE: 32 bytes of EPB framing, no options. */
	packets[PKT_BOUNDARY] = (struct expected_packet){
		.if_id = 0, .ts = TS_BASE + 2000, .len = PCAPNG_MAX_BLOCK_SIZE - 32,
		.dir = PCAPNG_DIR_UNKNOWN,
	};
	packets[PKT_BARE] = (struct expected_packet){
		.if_id = 0, .ts = TS_BASE + 3000, .len = 13, .dir = PCAPNG_DIR_OUTBOUND,
	};
	packets[PKT_COMMENTED].data = make_upper_pdu(packets[PKT_COMMENTED].len, 1);
	packets[PKT_ETHER].data = make_ether(packets[PKT_ETHER].len);
	packets[PKT_BIG].data = make_upper_pdu(packets[PKT_BIG].len, 2);
	packets[PKT_BOUNDARY].data = make_upper_pdu(packets[PKT_BOUNDARY].len, 3);
	packets[PKT_BARE].data = make_upper_pdu(packets[PKT_BARE].len, 4);
}

static int write_packet(struct pcapng_writer *w, const struct expected_packet *p)
{
	return pcapng_write_packet(w, p->if_id, p->ts, p->data, p->len, p->dir, p->comments,
				   p->n_comments);
}

static void write_file(FILE *f)
{
	struct pcapng_writer *w = pcapng_open(f, "tlsdump unit test");
	static char long_comment[70000];
	const char *too_long[] = { "fine", long_comment };
	uint8_t *huge = make_upper_pdu(256 * 1024 + 1, 5);
	long pos;
	int ret;
	size_t i;

	REQUIRE(w, "pcapng_open: %s", strerror(errno));
	ret = pcapng_add_interface(w, LINKTYPE_UPPER_PDU, "tlsdump", "TLS plaintext", 262144);
	CHECK(ret == 0, "first interface id %d", ret);
	ret = pcapng_add_interface(w, LINKTYPE_ETHERNET, "eth0", "Ethernet test interface", 65535);
	CHECK(ret == 1, "second interface id %d", ret);

	for (i = 0; i < N_PACKETS; i++) {
		ret = write_packet(w, &packets[i]);
		CHECK(ret == 0, "packet %zu (%u bytes): %d", i, packets[i].len, ret);
		if (i != PKT_COMMENTED)
			continue;

		/* Refused blocks must leave no trace in the stream. */
		pos = ftell(f);
		ret = pcapng_write_packet(w, 0, TS_BASE, huge, 256 * 1024 + 1,
					  PCAPNG_DIR_INBOUND, NULL, 0);
		CHECK(ret == -E2BIG, "packet over 256 KiB: %d", ret);
		/* Data alone fits; with the EPB framing (no options) it is 4 bytes over. */
		ret = pcapng_write_packet(w, 0, TS_BASE, huge, PCAPNG_MAX_BLOCK_SIZE - 28,
					  PCAPNG_DIR_UNKNOWN, NULL, 0);
		CHECK(ret == -E2BIG, "block of 256 KiB + 4: %d", ret);
		ret = pcapng_write_packet(w, 0, TS_BASE, huge, PCAPNG_MAX_BLOCK_SIZE - 32,
					  PCAPNG_DIR_INBOUND, packets[0].comments, 1);
		CHECK(ret == -E2BIG, "boundary packet plus a comment: %d", ret);
		memset(long_comment, 'x', sizeof(long_comment) - 1);
		ret = pcapng_write_packet(w, 0, TS_BASE, huge, 10, PCAPNG_DIR_INBOUND, too_long, 2);
		CHECK(ret == -EINVAL, "comment over 65535 bytes: %d", ret);
		ret = pcapng_write_packet(w, 2, TS_BASE, huge, 10, PCAPNG_DIR_INBOUND, NULL, 0);
		CHECK(ret == -EINVAL, "unknown interface: %d", ret);
		ret = pcapng_write_packet(w, 0, TS_BASE, huge, 10, 3, NULL, 0);
		CHECK(ret == -EINVAL, "bad direction: %d", ret);
		ret = pcapng_write_stats(w, 5, &stats);
		CHECK(ret == -EINVAL, "stats for unknown interface: %d", ret);
		CHECK(ftell(f) == pos, "refused blocks wrote %ld bytes", ftell(f) - pos);
	}
	ret = pcapng_write_tls_keylog(w, keylog, strlen(keylog));
	CHECK(ret == 0, "pcapng_write_tls_keylog: %d", ret);
	ret = pcapng_write_stats(w, 0, &stats);
	CHECK(ret == 0, "pcapng_write_stats: %d", ret);
	ret = pcapng_flush(w);
	CHECK(ret == 0, "pcapng_flush: %d", ret);
	pcapng_close(w);
	free(huge);
}

struct opt {
	uint16_t code;
	uint16_t len;
	const uint8_t *val;
};

/*
 * Splits the options at @p (@len bytes, up to the trailing block length) into
 * @opts. Returns how many, checking padding and the final opt_endofopt.
 */
static size_t parse_opts(const uint8_t *p, size_t len, struct opt *opts, size_t max,
			 const char *what)
{
	size_t off = 0, n = 0;

	if (!len)
		return 0;
	for (;;) {
		REQUIRE(off + 4 <= len, "%s: option header beyond block", what);
		REQUIRE(n < max, "%s: too many options", what);
		opts[n].code = rd16(p + off);
		opts[n].len = rd16(p + off + 2);
		opts[n].val = p + off + 4;
		off += 4 + pad4(opts[n].len);
		REQUIRE(off <= len, "%s: option %u beyond block", what, opts[n].code);
		if (opts[n].code == 0)
			break;
		n++;
	}
	CHECK(opts[n].len == 0, "%s: opt_endofopt length %u", what, opts[n].len);
	CHECK(off == len, "%s: %zu bytes after opt_endofopt", what, len - off);
	return n;
}

static bool opt_is_str(const struct opt *o, uint16_t code, const char *s)
{
	return o->code == code && o->len == strlen(s) && !memcmp(o->val, s, o->len);
}

static void check_padding(const uint8_t *p, size_t len, const char *what)
{
	size_t i;

	for (i = len; i < pad4(len); i++)
		CHECK(p[i] == 0, "%s: padding byte %zu is %#x", what, i, p[i]);
}

static void check_shb(const uint8_t *b, size_t len)
{
	struct opt o[8];
	size_t n;

	REQUIRE(len >= 28, "SHB too short: %zu", len);
	CHECK(rd32(b + 8) == 0x1A2B3C4D, "byte-order magic %#x", rd32(b + 8));
	CHECK(rd16(b + 12) == 1 && rd16(b + 14) == 0, "version %u.%u", rd16(b + 12), rd16(b + 14));
	CHECK(rd64(b + 16) == UINT64_MAX, "section length %llu", (unsigned long long)rd64(b + 16));
	n = parse_opts(b + 24, len - 28, o, 8, "SHB");
	CHECK(n == 1 && opt_is_str(&o[0], 4, "tlsdump unit test"),
	      "shb_userappl missing (%zu options)", n);
}

static void check_idb(const uint8_t *b, size_t len, uint16_t linktype, uint32_t snaplen,
		      const char *name, const char *descr)
{
	struct opt o[8];
	size_t n;

	REQUIRE(len >= 20, "IDB too short: %zu", len);
	CHECK(rd16(b + 8) == linktype, "%s: link type %u", name, rd16(b + 8));
	CHECK(rd16(b + 10) == 0, "%s: reserved %u", name, rd16(b + 10));
	CHECK(rd32(b + 12) == snaplen, "%s: snaplen %u", name, rd32(b + 12));
	n = parse_opts(b + 16, len - 20, o, 8, "IDB");
	REQUIRE(n == 3, "%s: %zu IDB options", name, n);
	CHECK(opt_is_str(&o[0], 2, name), "%s: if_name", name);
	CHECK(opt_is_str(&o[1], 3, descr), "%s: if_description", name);
	CHECK(o[2].code == 9 && o[2].len == 1 && o[2].val[0] == 9, "%s: if_tsresol", name);
	check_padding(o[2].val, 1, "if_tsresol");
}

static void check_epb(const uint8_t *b, size_t len, const struct expected_packet *p, size_t idx)
{
	struct opt o[8];
	size_t n, i, nc = 0, nflags = 0;

	REQUIRE(len >= 32, "EPB %zu too short: %zu", idx, len);
	CHECK(rd32(b + 8) == (uint32_t)p->if_id, "EPB %zu: interface %u", idx, rd32(b + 8));
	CHECK(rd_ts(b + 12) == p->ts, "EPB %zu: timestamp %llu", idx,
	      (unsigned long long)rd_ts(b + 12));
	CHECK(rd32(b + 20) == p->len, "EPB %zu: captured length %u", idx, rd32(b + 20));
	CHECK(rd32(b + 24) == p->len, "EPB %zu: original length %u", idx, rd32(b + 24));
	REQUIRE(28 + pad4(p->len) + 4 <= len, "EPB %zu: data beyond block", idx);
	CHECK(!memcmp(b + 28, p->data, p->len), "EPB %zu: data differs", idx);
	check_padding(b + 28, p->len, "EPB data");
	n = parse_opts(b + 28 + pad4(p->len), len - 32 - pad4(p->len), o, 8, "EPB");
	for (i = 0; i < n; i++) {
		if (o[i].code == 1) {
			CHECK(nc < p->n_comments && opt_is_str(&o[i], 1, p->comments[nc]),
			      "EPB %zu: comment %zu", idx, nc);
			nc++;
		} else if (o[i].code == 2) {
			CHECK(o[i].len == 4 && rd32(o[i].val) == (uint32_t)p->dir,
			      "EPB %zu: epb_flags %#x", idx, rd32(o[i].val));
			nflags++;
		} else {
			CHECK(0, "EPB %zu: unexpected option %u", idx, o[i].code);
		}
	}
	CHECK(nc == p->n_comments, "EPB %zu: %zu comments, want %zu", idx, nc, p->n_comments);
	CHECK(nflags == (p->dir != PCAPNG_DIR_UNKNOWN), "EPB %zu: %zu epb_flags", idx, nflags);
	CHECK(n || len == 32 + pad4(p->len), "EPB %zu: option-less block has %zu extra bytes", idx,
	      len - 32 - pad4(p->len));
}

static void check_dsb(const uint8_t *b, size_t len)
{
	size_t klen = strlen(keylog);

	REQUIRE(len >= 20, "DSB too short: %zu", len);
	CHECK(rd32(b + 8) == 0x544c534b, "secrets type %#x", rd32(b + 8));
	CHECK(rd32(b + 12) == klen, "secrets length %u", rd32(b + 12));
	REQUIRE(len == 20 + pad4(klen), "DSB length %zu", len);
	CHECK(!memcmp(b + 16, keylog, klen), "key log differs");
	check_padding(b + 16, klen, "DSB");
}

static void check_isb(const uint8_t *b, size_t len)
{
	struct opt o[8];
	size_t n;

	REQUIRE(len >= 24, "ISB too short: %zu", len);
	CHECK(rd32(b + 8) == 0, "ISB interface %u", rd32(b + 8));
	CHECK(rd_ts(b + 12) == stats.end_ns, "ISB timestamp");
	n = parse_opts(b + 20, len - 24, o, 8, "ISB");
	REQUIRE(n == 5, "%zu ISB options", n);
	CHECK(o[0].code == 2 && o[0].len == 8 && rd_ts(o[0].val) == stats.start_ns,
	      "isb_starttime");
	CHECK(o[1].code == 3 && o[1].len == 8 && rd_ts(o[1].val) == stats.end_ns, "isb_endtime");
	CHECK(o[2].code == 4 && o[2].len == 8 && rd64(o[2].val) == 4, "isb_ifrecv");
	CHECK(o[3].code == 5 && o[3].len == 8 && rd64(o[3].val) == 7, "isb_ifdrop");
	CHECK(opt_is_str(&o[4], 1, stats.comment), "ISB opt_comment");
}

/* Walks every block of @path, checking framing and then content. */
static void parse_file(const char *path)
{
	static const uint32_t want_types[] = { BT_SHB, BT_IDB, BT_IDB, BT_EPB, BT_EPB, BT_EPB,
					       BT_EPB, BT_EPB, BT_DSB, BT_ISB };
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long size;
	size_t off = 0, nblocks = 0, npkt = 0;

	REQUIRE(f, "open %s: %s", path, strerror(errno));
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	buf = malloc(size);
	REQUIRE(buf && fread(buf, 1, size, f) == (size_t)size, "read %s", path);
	fclose(f);

	while (off < (size_t)size) {
		const uint8_t *b = buf + off;
		uint32_t type, len;

		REQUIRE(off + 12 <= (size_t)size, "block header at %zu beyond file", off);
		type = rd32(b);
		len = rd32(b + 4);
		REQUIRE(len >= 12 && len % 4 == 0 && off + len <= (size_t)size,
			"block at %zu: length %u", off, len);
		CHECK(len <= PCAPNG_MAX_BLOCK_SIZE, "block at %zu: %u bytes", off, len);
		CHECK(rd32(b + len - 4) == len, "block at %zu: trailing length %u, leading %u",
		      off, rd32(b + len - 4), len);
		REQUIRE(nblocks < ARRAY_SIZE(want_types), "extra block %#x", type);
		REQUIRE(type == want_types[nblocks], "block %zu: type %#x, want %#x", nblocks, type,
			want_types[nblocks]);
		switch (nblocks) {
		case 0:
			check_shb(b, len);
			break;
		case 1:
			check_idb(b, len, LINKTYPE_UPPER_PDU, 262144, "tlsdump", "TLS plaintext");
			break;
		case 2:
			check_idb(b, len, LINKTYPE_ETHERNET, 65535, "eth0",
				  "Ethernet test interface");
			break;
		default:
			if (type == BT_EPB) {
				check_epb(b, len, &packets[npkt], npkt);
				npkt++;
			} else if (type == BT_DSB) {
				check_dsb(b, len);
			} else {
				check_isb(b, len);
			}
		}
		off += len;
		nblocks++;
	}
	CHECK(nblocks == ARRAY_SIZE(want_types), "%zu blocks", nblocks);
	free(buf);
}

/* Runs @cmd and returns its whole stdout (caller frees); sets *@status. */
static char *run(const char *cmd, int *status)
{
	FILE *p = popen(cmd, "r");
	size_t len = 0, cap = 4096, n;
	char *out = malloc(cap);

	REQUIRE(p && out, "popen %s", cmd);
	while ((n = fread(out + len, 1, cap - len - 1, p)) > 0) {
		len += n;
		if (cap - len < 2) {
			cap *= 2;
			out = realloc(out, cap);
			REQUIRE(out, "realloc");
		}
	}
	out[len] = 0;
	*status = pclose(p);
	return out;
}

static bool have_tool(const char *name)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

static void check_tshark(const char *path)
{
	/* One line per frame, comments joined with ';'; newlines print as \n. */
	static const char *const want[] = {
		"1|0|tlsdump|PID: 4242;Comm: curl;Cmd: curl https://example.com/"
		"|0|0x00000002|45|data",
		"2|1|eth0|on the Ethernet interface|1|0x00000001|60|",
		"3|0|tlsdump|big|1|0x00000001|204803|data",
		"4|0|tlsdump||||262112|data",
		"5|0|tlsdump||0|0x00000002|13|data",
	};
	char cmd[8192], *out, *line, *save = NULL;
	size_t n = 0;
	int status;

	snprintf(cmd, sizeof(cmd),
		 "tshark -n -r '%s' -T fields -E separator='|' -E occurrence=a -E aggregator=';' "
		 "-e frame.number -e frame.interface_id -e frame.interface_name -e frame.comment "
		 "-e frame.p2p_dir -e frame.packet_flags_direction -e frame.len "
		 "-e exported_pdu.prot_name 2>&1",
		 path);
	out = run(cmd, &status);
	CHECK(status == 0, "tshark exit status %d:\n%s", status, out);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* tshark warns about running as root; that is not a frame. */
		if (!strncmp(line, "Running as user", 15))
			continue;
		CHECK(n < ARRAY_SIZE(want) && !strcmp(line, want[n]),
		      "tshark line %zu:\n  got  %s\n  want %s", n + 1, line,
		      n < ARRAY_SIZE(want) ? want[n] : "(nothing)");
		n++;
	}
	CHECK(n == ARRAY_SIZE(want), "tshark printed %zu frames", n);
	free(out);
}

/* Checks that each of @needles occurs in @hay, in order. */
static void check_in_order(const char *hay, const char *const *needles, size_t n, const char *tool)
{
	const char *p = hay;
	size_t i;

	for (i = 0; i < n; i++) {
		const char *hit = strstr(p, needles[i]);

		CHECK(hit, "%s output lacks \"%s\" (in order):\n%s", tool, needles[i], hay);
		if (hit)
			p = hit + strlen(needles[i]);
	}
}

static void check_capinfos(const char *path)
{
	/* 4.0 does not print ISB counters; the stat entry count shows the ISB was read. */
	static const char *const want[] = {
		"Number of packets:   5",
		"Capture application: tlsdump unit test",
		"Number of interfaces in file: 2",
		"Interface #0 info:",
		"Name = tlsdump",
		"Description = TLS plaintext",
		"Encapsulation = Wireshark Upper PDU export (155 - wireshark-upper-pdu)",
		"Capture length = 262144",
		"Time precision = nanoseconds (9)",
		"Number of stat entries = 1",
		"Number of packets = 4",
		"Interface #1 info:",
		"Name = eth0",
		"Description = Ethernet test interface",
		"Encapsulation = Ethernet (1 - ether)",
		"Capture length = 65535",
		"Number of stat entries = 0",
		"Number of packets = 1",
		"Number of decryption secrets in file: 1",
	};
	char cmd[8192], *out;
	int status;

	snprintf(cmd, sizeof(cmd), "capinfos '%s' 2>&1", path);
	out = run(cmd, &status);
	CHECK(status == 0, "capinfos exit status %d:\n%s", status, out);
	check_in_order(out, want, ARRAY_SIZE(want), "capinfos");
	free(out);
}

/* A dead reader must surface as -EPIPE at flush, and stay. */
static void check_epipe(void)
{
	struct pcapng_writer *w;
	int fds[2], ret;
	FILE *f;

	REQUIRE(pipe(fds) == 0, "pipe: %s", strerror(errno));
	close(fds[0]);
	f = fdopen(fds[1], "wb");
	REQUIRE(f, "fdopen: %s", strerror(errno));
	w = pcapng_open(f, "epipe");
	REQUIRE(w, "pcapng_open on a pipe: %s", strerror(errno));
	ret = pcapng_flush(w);
	CHECK(ret == -EPIPE, "flush to a closed pipe: %d", ret);
	ret = pcapng_add_interface(w, LINKTYPE_UPPER_PDU, "tlsdump", NULL, 0);
	CHECK(ret == -EPIPE, "add_interface after EPIPE: %d", ret);
	ret = pcapng_flush(w);
	CHECK(ret == -EPIPE, "second flush after EPIPE: %d", ret);
	pcapng_close(w);
	fclose(f);
}

/* fwrite errors (here through a small buffer to /dev/full) must stick. */
static void check_enospc(void)
{
	struct pcapng_writer *w;
	uint8_t data[4096] = { 0 };
	FILE *f = fopen("/dev/full", "wb");
	int ret, i, first = 0;

	if (!f) {
		fprintf(stderr, "note: no /dev/full, ENOSPC check skipped\n");
		return;
	}
	setvbuf(f, NULL, _IOFBF, 512);
	w = pcapng_open(f, "enospc");
	REQUIRE(w || errno == ENOSPC, "pcapng_open on /dev/full: %s", strerror(errno));
	if (w) {
		ret = pcapng_add_interface(w, LINKTYPE_UPPER_PDU, "tlsdump", NULL, 0);
		/* Blocks reach stdio a batch (1 MiB) at a time: the error shows then. */
		for (i = 0; i < 1024 && !first; i++)
			first = pcapng_write_packet(w, 0, 0, data, sizeof(data), 0, NULL, 0);
		CHECK(first == -ENOSPC, "write to /dev/full: %d (interface %d)", first, ret);
		ret = pcapng_write_tls_keylog(w, "x", 1);
		CHECK(ret == -ENOSPC, "keylog after ENOSPC: %d", ret);
		ret = pcapng_flush(w);
		CHECK(ret == -ENOSPC, "flush after ENOSPC: %d", ret);
		pcapng_close(w);
	}
	fclose(f);
}

static void check_open_errors(void)
{
	static char app[70000];
	FILE *f = tmpfile();

	REQUIRE(f, "tmpfile: %s", strerror(errno));
	memset(app, 'a', sizeof(app) - 1);
	errno = 0;
	CHECK(!pcapng_open(f, app) && errno == EINVAL, "open with a 70000-byte shb_userappl: %s",
	      strerror(errno));
	CHECK(ftell(f) == 0, "refused SHB wrote %ld bytes", ftell(f));
	fclose(f);
	pcapng_close(NULL);
}

int main(void)
{
	const char *tmpdir = getenv("TMPDIR");
	char path[4096];
	bool tools;
	size_t i;
	FILE *f;
	int fd;

	signal(SIGPIPE, SIG_IGN); /* as the extcap does: EPIPE instead of death */
	setup_packets();
	snprintf(path, sizeof(path), "%s/tlsdump-test-pcapng-XXXXXX", tmpdir ? tmpdir : "/tmp");
	fd = mkstemp(path);
	REQUIRE(fd >= 0, "mkstemp %s: %s", path, strerror(errno));
	f = fdopen(fd, "wb");
	REQUIRE(f, "fdopen: %s", strerror(errno));
	write_file(f);
	REQUIRE(fclose(f) == 0, "fclose: %s", strerror(errno));

	parse_file(path);
	tools = have_tool("tshark") && have_tool("capinfos");
	if (tools) {
		check_tshark(path);
		check_capinfos(path);
	}
	check_epipe();
	check_enospc();
	check_open_errors();

	for (i = 0; i < N_PACKETS; i++)
		free(packets[i].data);
	if (failures) {
		fprintf(stderr, "test_pcapng: %d check(s) failed; file kept: %s\n", failures, path);
		return 1;
	}
	unlink(path);
	if (!tools) {
		fprintf(stderr, "test_pcapng: SKIP tshark/capinfos checks (not installed)\n");
		return 77;
	}
	printf("test_pcapng: all checks passed\n");
	return 0;
}
