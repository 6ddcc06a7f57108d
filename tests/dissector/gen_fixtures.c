/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Writes the dissector's golden capture files with the project's own writer
 * (extcap/pcapng.c, extcap/record.c), deterministically: fixed timestamps,
 * one millisecond apart, fixed pids and connection ids.
 *
 *   gen_fixtures DIR              writes every fixture into DIR
 *   gen_fixtures --fuzz SEED N F  writes N random and mutated frames into F
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "pcapng.h"
#include "record.h"

#define T0_NS 1700000000000000000ull /* 2023-11-14T22:13:20Z */
#define STEP_NS 1000000ull	     /* 1 ms between frames */

struct fixture {
	FILE *fp;
	struct pcapng_writer *w;
	int if_id;
	uint64_t ts;
	bool label_http; /* frames for the http dissector, as tlsdump --label-http */
	/* opt_comment options of the packets written until changed (fx_comments()). */
	const char *const *comments;
	size_t n_comments;
};

struct conn {
	uint64_t id;
	uint32_t pid;
	uint32_t tid;
	uint8_t role;
	const char *comm;
	int family; /* AF_INET or 0 (no tuple) */
	const char *local, *remote;
	uint16_t lport, rport;
	uint64_t off[2]; /* next stream offset per direction */
};

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "gen_fixtures: %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static void fx_open(struct fixture *fx, const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fx->fp = fopen(path, "wb");
	if (!fx->fp)
		fail("cannot create", path);
	fx->w = pcapng_open(fx->fp, "tlsdump gen_fixtures");
	if (!fx->w)
		fail("cannot start pcapng", path);
	fx->if_id = pcapng_add_interface(fx->w, LINKTYPE_WIRESHARK_UPPER_PDU, "tlsdump",
					 "TLS plaintext", 262144);
	if (fx->if_id < 0)
		fail("cannot add interface to", path);
	fx->ts = T0_NS;
	fx->label_http = false;
	fx->comments = NULL;
	fx->n_comments = 0;
}

/* Puts the @n strings of @comments on the packets written from now on. */
static void fx_comments(struct fixture *fx, const char *const *comments, size_t n)
{
	fx->comments = comments;
	fx->n_comments = n;
}

static void fx_close(struct fixture *fx)
{
	if (pcapng_flush(fx->w) < 0)
		fail("cannot flush", "fixture");
	pcapng_close(fx->w);
	fclose(fx->fp);
}

/* Writes already encoded frame bytes as one packet. */
static void fx_raw(struct fixture *fx, const uint8_t *buf, size_t len, uint8_t dir)
{
	int err = pcapng_write_packet(fx->w, fx->if_id, fx->ts, buf, (uint32_t)len,
				      dir == TLSDUMP_DIR_READ ? PCAPNG_DIR_INBOUND : PCAPNG_DIR_OUTBOUND,
				      fx->comments, fx->n_comments);

	if (err < 0) {
		errno = -err;
		fail("cannot write packet to", "fixture");
	}
	fx->ts += STEP_NS;
}

static void fill_record(struct tlsdump_record *r, struct conn *c, uint8_t dir, const void *data,
			size_t len, uint64_t gap)
{
	memset(r, 0, sizeof(*r));
	r->direction = dir;
	r->role = c->role;
	r->library = TLSDUMP_LIB_OPENSSL;
	r->flags = TLSDUMP_FLAG_CALL_START | TLSDUMP_FLAG_CALL_END;
	r->pid = c->pid;
	r->tid = c->tid;
	r->conn_id = c->id;
	r->stream_offset = c->off[dir] + gap;
	r->gap = gap;
	r->call_len = len;
	snprintf(r->comm, sizeof(r->comm), "%s", c->comm);
	snprintf(r->libname, sizeof(r->libname), "libssl.so.3");
	r->family = c->family;
	if (c->family == AF_INET) {
		inet_pton(AF_INET, c->local, r->local_addr);
		inet_pton(AF_INET, c->remote, r->remote_addr);
		r->local_port = c->lport;
		r->remote_port = c->rport;
	}
	r->payload = data;
	r->payload_len = (uint32_t)len;
	c->off[dir] = r->stream_offset + len;
}

/* Encodes and writes one plaintext frame of @c, @gap bytes after the last one. */
static void emit_gap(struct fixture *fx, struct conn *c, uint8_t dir, const void *data, size_t len,
		     uint64_t gap)
{
	struct tlsdump_record r;
	uint8_t *buf;
	long n;

	enum record_label label = fx->label_http ? RECORD_LABEL_HTTP : RECORD_LABEL_TLSDUMP;

	fill_record(&r, c, dir, data, len, gap);
	buf = malloc(record_encoded_size(&r, label));
	if (!buf)
		exit(1);
	n = record_encode(&r, label, buf, record_encoded_size(&r, label));
	if (n < 0) {
		errno = (int)-n;
		fail("cannot encode record for", "fixture");
	}
	fx_raw(fx, buf, (size_t)n, dir);
	free(buf);
}

static void emit(struct fixture *fx, struct conn *c, uint8_t dir, const void *data, size_t len)
{
	emit_gap(fx, c, dir, data, len, 0);
}

static void emit_str(struct fixture *fx, struct conn *c, uint8_t dir, const char *s)
{
	emit(fx, c, dir, s, strlen(s));
}

/* Writes @s in pieces cut after each offset in @cuts (ascending, 0-terminated). */
static void emit_split(struct fixture *fx, struct conn *c, uint8_t dir, const void *data,
		       size_t len, const size_t *cuts)
{
	const uint8_t *p = data;
	size_t start = 0;

	for (; *cuts; cuts++) {
		emit(fx, c, dir, p + start, *cuts - start);
		start = *cuts;
	}
	emit(fx, c, dir, p + start, len - start);
}

#define W TLSDUMP_DIR_WRITE
#define R TLSDUMP_DIR_READ

static struct conn client_conn(uint64_t id)
{
	struct conn c = {
		.id = id, .pid = 4242, .tid = 4243, .role = TLSDUMP_ROLE_CLIENT, .comm = "curl",
		.family = AF_INET, .local = "10.0.0.1", .remote = "93.184.216.34",
		.lport = (uint16_t)(40000 + id), .rport = 443,
	};
	return c;
}

/* A request whose header block is split mid-line over three frames. */
static void fixture_split_request(const char *dir)
{
	struct fixture fx;
	struct conn c = client_conn(1);
	static const char req[] = "GET /split/path?x=1 HTTP/1.1\r\n"
				  "Host: example.com\r\n"
				  "User-Agent: tlsdump-test\r\n"
				  "Accept: */*\r\n"
				  "\r\n";
	const size_t cuts[] = { 9, 40, 0 }; /* inside the path; inside "Host:" line */

	fx_open(&fx, dir, "http1_split_request.pcapng");
	emit_split(&fx, &c, W, req, strlen(req), cuts);
	emit_str(&fx, &c, R, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello");
	fx_close(&fx);
}

/* A 20000-byte body over eleven frames, then a chunked body with split chunk lines. */
static void fixture_body_many_frames(const char *dir)
{
	struct fixture fx;
	struct conn c = client_conn(2);
	char hdr[256], *body;
	size_t i, n, body_len = 20000;

	fx_open(&fx, dir, "http1_body_many_frames.pcapng");
	emit_str(&fx, &c, W, "GET /big HTTP/1.1\r\nHost: example.com\r\n\r\n");
	body = malloc(body_len);
	for (i = 0; i < body_len; i++)
		body[i] = (char)('a' + i % 26);
	n = (size_t)snprintf(hdr, sizeof(hdr),
			     "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
			     "Content-Length: %zu\r\n\r\n", body_len);
	/* Header plus the first 1000 body bytes, then ten frames of 1900 bytes. */
	{
		char *first = malloc(n + 1000);

		memcpy(first, hdr, n);
		memcpy(first + n, body, 1000);
		emit(&fx, &c, R, first, n + 1000);
		free(first);
	}
	for (i = 1000; i < body_len; i += 1900)
		emit(&fx, &c, R, body + i, body_len - i < 1900 ? body_len - i : 1900);
	free(body);

	emit_str(&fx, &c, W, "GET /chunked HTTP/1.1\r\nHost: example.com\r\n\r\n");
	emit_str(&fx, &c, R, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
			     "Content-Type: text/plain\r\n\r\n9\r\nchunk-");
	emit_str(&fx, &c, R, "one\r\n1");		/* chunk-size line split */
	emit_str(&fx, &c, R, "0\r\n0123456789abcdef\r");	/* 0x10 bytes, CRLF split */
	emit_str(&fx, &c, R, "\n0\r\n\r\n");
	fx_close(&fx);
}

/* Pipelined requests (one frame), responses two-in-one, a HEAD answered with Content-Length. */
static void fixture_pipelined(const char *dir)
{
	struct fixture fx;
	/* Role unknown and no addresses: requests and responses told apart by content. */
	struct conn c = {
		.id = 3, .pid = 5151, .tid = 5151, .role = TLSDUMP_ROLE_UNKNOWN, .comm = "pipeline",
		.family = 0,
	};

	fx_open(&fx, dir, "http1_pipelined.pcapng");
	emit_str(&fx, &c, W, "GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n"
			     "HEAD /b HTTP/1.1\r\nHost: example.com\r\n\r\n"
			     "POST /c HTTP/1.1\r\nHost: example.com\r\nContent-Length: 8\r\n\r\nabc");
	emit_str(&fx, &c, W, "=1234GET /d HTTP/1.1\r\nHost: example.com\r\n\r\n");
	emit_str(&fx, &c, R, "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA");
	/* The HEAD response announces 1000 bytes it does not carry. */
	emit_str(&fx, &c, R, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"
			     "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nC!"
			     "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n");
	fx_close(&fx);
}

/* HTTP/2 frame header: length, type, flags, stream id. */
static size_t h2_frame(uint8_t *p, uint32_t len, uint8_t type, uint8_t flags, uint32_t sid)
{
	p[0] = (uint8_t)(len >> 16);
	p[1] = (uint8_t)(len >> 8);
	p[2] = (uint8_t)len;
	p[3] = type;
	p[4] = flags;
	p[5] = (uint8_t)(sid >> 24);
	p[6] = (uint8_t)(sid >> 16);
	p[7] = (uint8_t)(sid >> 8);
	p[8] = (uint8_t)sid;
	return 9;
}

static size_t h2_put(uint8_t *p, uint8_t type, uint8_t flags, uint32_t sid, const void *pl,
		     size_t len)
{
	size_t n = h2_frame(p, (uint32_t)len, type, flags, sid);

	memcpy(p + n, pl, len);
	return n + len;
}

#define H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

/*
 * Writes an HTTP/2 exchange: two requests, the second one's header block
 * referring to dynamic table entries the first one added (HPACK state across
 * frames); a DATA frame split in two frames and a HEADERS frame whose 9-byte
 * frame header is split between two frames.
 */
static void h2_exchange(struct fixture *fx, struct conn *c)
{
	uint8_t buf[512];
	size_t n;
	/* :method GET, :scheme https, :path /, :authority example.com (indexed, ->62),
	 * user-agent tlsdump-test (indexed, ->62, authority ->63) */
	static const uint8_t req1[] = {
		0x82, 0x87, 0x84,
		0x41, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm',
		0x7a, 12, 't', 'l', 's', 'd', 'u', 'm', 'p', '-', 't', 'e', 's', 't',
	};
	/* :method GET, :scheme https, :path /second (indexed: path 62, ua 63, authority 64),
	 * then :authority = dynamic 64, user-agent = dynamic 63 */
	static const uint8_t req2[] = {
		0x82, 0x87,
		0x44, 7, '/', 's', 'e', 'c', 'o', 'n', 'd',
		0xc0, 0xbf,
	};
	/* :status 200, content-type text/plain (indexed ->62), content-length 11 (not indexed) */
	static const uint8_t resp1[] = {
		0x88,
		0x5f, 10, 't', 'e', 'x', 't', '/', 'p', 'l', 'a', 'i', 'n',
		0x0f, 0x0d, 2, '1', '1',
	};
	/* :status 200, content-type = dynamic 62 */
	static const uint8_t resp2[] = { 0x88, 0xbe };
	static const uint8_t settings[] = { 0x00, 0x03, 0x00, 0x00, 0x00, 0x64 }; /* MAX_CONCURRENT 100 */

	/* Client: preface, SETTINGS, HEADERS stream 1 in one frame. */
	memcpy(buf, H2_PREFACE, 24);
	n = 24;
	n += h2_put(buf + n, 0x4, 0, 0, settings, sizeof(settings));
	n += h2_put(buf + n, 0x1, 0x05, 1, req1, sizeof(req1));
	emit(fx, c, W, buf, n);

	/* Server: SETTINGS, SETTINGS ACK. */
	n = h2_put(buf, 0x4, 0, 0, settings, sizeof(settings));
	n += h2_put(buf + n, 0x4, 0x01, 0, NULL, 0);
	emit(fx, c, R, buf, n);

	/* Client: SETTINGS ACK. */
	n = h2_put(buf, 0x4, 0x01, 0, NULL, 0);
	emit(fx, c, W, buf, n);

	/* Server: HEADERS stream 1 and the first 4 bytes of an 11-byte DATA frame... */
	n = h2_put(buf, 0x1, 0x04, 1, resp1, sizeof(resp1));
	n += h2_put(buf + n, 0x0, 0x01, 1, "hello world", 11);
	emit(fx, c, R, buf, n - 7);
	/* ...and its other 7 bytes. */
	emit(fx, c, R, buf + n - 7, 7);

	/* Client: HEADERS stream 3, its frame header split after 5 bytes. */
	n = h2_put(buf, 0x1, 0x05, 3, req2, sizeof(req2));
	emit(fx, c, W, buf, 5);
	emit(fx, c, W, buf + 5, n - 5);

	/* Server: HEADERS + DATA stream 3 in one frame. */
	n = h2_put(buf, 0x1, 0x04, 3, resp2, sizeof(resp2));
	n += h2_put(buf + n, 0x0, 0x01, 3, "second", 6);
	emit(fx, c, R, buf, n);
}

static void fixture_h2(const char *dir)
{
	struct fixture fx;
	struct conn c = client_conn(4);

	fx_open(&fx, dir, "http2.pcapng");
	h2_exchange(&fx, &c);
	fx_close(&fx);
}

/*
 * HTTP/2 seen by the server (role server): it sends its SETTINGS before it
 * reads the client's preface, so the response direction is seen first, and
 * the preface then arrives split over two reads.
 */
static void fixture_h2_server_first(const char *dir)
{
	struct fixture fx;
	struct conn c = {
		.id = 11, .pid = 4300, .tid = 4300, .role = TLSDUMP_ROLE_SERVER, .comm = "nginx",
		.family = AF_INET, .local = "10.0.0.2", .remote = "10.0.0.9",
		.lport = 443, .rport = 50000,
	};
	uint8_t buf[512];
	size_t n;
	/* :method GET, :scheme https, :path /, :authority example.com */
	static const uint8_t req1[] = {
		0x82, 0x87, 0x84, 0x41, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm',
	};
	/* :method GET, :scheme https, :path /index.html, :authority = dynamic 62 */
	static const uint8_t req2[] = { 0x82, 0x87, 0x85, 0xbe };
	static const uint8_t resp[] = { 0x88 };
	static const uint8_t settings[] = { 0x00, 0x03, 0x00, 0x00, 0x00, 0x64 };

	fx_open(&fx, dir, "http2_server_first.pcapng");
	/* Server: SETTINGS before anything was read. */
	n = h2_put(buf, 0x4, 0, 0, settings, sizeof(settings));
	emit(&fx, &c, W, buf, n);
	/* Client: the preface in two reads, then SETTINGS and HEADERS stream 1. */
	memcpy(buf, H2_PREFACE, 24);
	n = 24;
	n += h2_put(buf + n, 0x4, 0, 0, settings, sizeof(settings));
	n += h2_put(buf + n, 0x1, 0x05, 1, req1, sizeof(req1));
	emit(&fx, &c, R, buf, 10);
	emit(&fx, &c, R, buf + 10, n - 10);
	/* Server: SETTINGS ACK, HEADERS + DATA stream 1. */
	n = h2_put(buf, 0x4, 0x01, 0, NULL, 0);
	n += h2_put(buf + n, 0x1, 0x04, 1, resp, sizeof(resp));
	n += h2_put(buf + n, 0x0, 0x01, 1, "one", 3);
	emit(&fx, &c, W, buf, n);
	/* Client: SETTINGS ACK, HEADERS stream 3. */
	n = h2_put(buf, 0x4, 0x01, 0, NULL, 0);
	n += h2_put(buf + n, 0x1, 0x05, 3, req2, sizeof(req2));
	emit(&fx, &c, R, buf, n);
	/* Server: HEADERS + DATA stream 3. */
	n = h2_put(buf, 0x1, 0x04, 3, resp, sizeof(resp));
	n += h2_put(buf + n, 0x0, 0x01, 3, "three", 5);
	emit(&fx, &c, W, buf, n);
	fx_close(&fx);
}

/* ---- original packets: raw IPv4/TCP on an interface of their own ---------- */

#define LINKTYPE_RAW_IP 101
#define TH_FIN 0x01
#define TH_SYN 0x02
#define TH_PSH 0x08
#define TH_ACK 0x10

/* One TCP connection's original packets. */
struct tcp_flow {
	const char *cli, *srv;
	uint16_t cport, sport;
	uint32_t seq[2]; /* next sequence number: [0] client, [1] server */
};

static void put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

/* Writes one IPv4/TCP packet of @f on interface @if_id (checksums left 0). */
static void fx_tcp(struct fixture *fx, int if_id, struct tcp_flow *f, bool from_client,
		   uint8_t flags, const void *data, size_t len)
{
	uint8_t pkt[2048];
	int me = from_client ? 0 : 1;
	int err;

	if (len > sizeof(pkt) - 40)
		exit(1);
	memset(pkt, 0, 40);
	pkt[0] = 0x45;
	put16(pkt + 2, (uint32_t)(40 + len));
	pkt[6] = 0x40; /* DF */
	pkt[8] = 64;
	pkt[9] = 6;
	inet_pton(AF_INET, from_client ? f->cli : f->srv, pkt + 12);
	inet_pton(AF_INET, from_client ? f->srv : f->cli, pkt + 16);
	put16(pkt + 20, from_client ? f->cport : f->sport);
	put16(pkt + 22, from_client ? f->sport : f->cport);
	put32(pkt + 24, f->seq[me]);
	if (flags & TH_ACK)
		put32(pkt + 28, f->seq[!me]);
	pkt[32] = 5 << 4;
	pkt[33] = flags;
	put16(pkt + 34, 65535);
	memcpy(pkt + 40, data, len);
	f->seq[me] += (uint32_t)len + ((flags & (TH_SYN | TH_FIN)) ? 1 : 0);
	err = pcapng_write_packet(fx->w, if_id, fx->ts, pkt, (uint32_t)(40 + len),
				  from_client ? PCAPNG_DIR_OUTBOUND : PCAPNG_DIR_INBOUND, fx->comments,
				  fx->n_comments);
	if (err < 0) {
		errno = -err;
		fail("cannot write packet to", "fixture");
	}
	fx->ts += STEP_NS;
}

static void tcp_handshake(struct fixture *fx, int if_id, struct tcp_flow *f)
{
	fx_tcp(fx, if_id, f, true, TH_SYN, NULL, 0);
	fx_tcp(fx, if_id, f, false, TH_SYN | TH_ACK, NULL, 0);
	fx_tcp(fx, if_id, f, true, TH_ACK, NULL, 0);
}

static void tcp_close(struct fixture *fx, int if_id, struct tcp_flow *f)
{
	fx_tcp(fx, if_id, f, true, TH_FIN | TH_ACK, NULL, 0);
	fx_tcp(fx, if_id, f, false, TH_FIN | TH_ACK, NULL, 0);
	fx_tcp(fx, if_id, f, true, TH_ACK, NULL, 0);
}

/* A minimal TLS 1.2 ClientHello record (one cipher suite, no extensions). */
static size_t tls_client_hello(uint8_t *p)
{
	static const uint8_t body[] = {
		0x03, 0x03,					/* client_version */
		1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, /* random */
		17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
		0,						/* session id */
		0x00, 0x02, 0xc0, 0x2f,				/* cipher suites */
		0x01, 0x00,					/* compression: null */
	};
	size_t hs = 4 + sizeof(body);

	p[0] = 22; /* handshake */
	p[1] = 0x03;
	p[2] = 0x01;
	put16(p + 3, (uint32_t)hs);
	p[5] = 1; /* client_hello */
	p[6] = 0;
	put16(p + 7, sizeof(body));
	memcpy(p + 9, body, sizeof(body));
	return 5 + hs;
}

/* A TLS 1.2 ServerHello record choosing that suite. */
static size_t tls_server_hello(uint8_t *p)
{
	static const uint8_t body[] = {
		0x03, 0x03,
		32, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17,
		16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1,
		0,
		0xc0, 0x2f,
		0x00,
	};
	size_t hs = 4 + sizeof(body);

	p[0] = 22;
	p[1] = 0x03;
	p[2] = 0x03;
	put16(p + 3, (uint32_t)hs);
	p[5] = 2; /* server_hello */
	p[6] = 0;
	put16(p + 7, sizeof(body));
	memcpy(p + 9, body, sizeof(body));
	return 5 + hs;
}

/* An application data record of @len opaque bytes. */
static size_t tls_app_data(uint8_t *p, size_t len, uint8_t fill)
{
	p[0] = 23;
	p[1] = 0x03;
	p[2] = 0x03;
	put16(p + 3, (uint32_t)len);
	memset(p + 5, fill, len);
	return 5 + len;
}

/*
 * The encrypted side next to the plaintext: connection A (TLS, plaintext
 * captured), connection B (TLS, no plaintext: a process tlsdump did not
 * capture) and connection C (plain HTTP, no TLS), with the packets on a
 * raw-IP interface and A's plaintext frames between them.
 */
static void write_tcp_link(struct fixture *fx, int ip_if)
{
	struct tcp_flow a = { "10.0.0.1", "93.184.216.34", 40100, 443, { 1000, 5000 } };
	struct tcp_flow b = { "10.0.0.1", "93.184.216.34", 40200, 443, { 2000, 6000 } };
	struct tcp_flow h = { "10.0.0.1", "93.184.216.34", 40300, 80, { 3000, 7000 } };
	struct conn c = client_conn(0);
	static const char req[] = "GET /a HTTP/1.1\r\nHost: example.com\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	uint8_t rec[512];

	c.lport = 40100;
	/* A: handshake, request (plaintext written just before its record), response. */
	tcp_handshake(fx, ip_if, &a);
	fx_tcp(fx, ip_if, &a, true, TH_PSH | TH_ACK, rec, tls_client_hello(rec));
	fx_tcp(fx, ip_if, &a, false, TH_PSH | TH_ACK, rec, tls_server_hello(rec));
	emit_str(fx, &c, W, req);
	fx_tcp(fx, ip_if, &a, true, TH_PSH | TH_ACK, rec, tls_app_data(rec, sizeof(req) + 16, 0xaa));

	/* B meanwhile: handshake and data both ways, never any plaintext. */
	tcp_handshake(fx, ip_if, &b);
	fx_tcp(fx, ip_if, &b, true, TH_PSH | TH_ACK, rec, tls_client_hello(rec));
	fx_tcp(fx, ip_if, &b, false, TH_PSH | TH_ACK, rec, tls_server_hello(rec));
	fx_tcp(fx, ip_if, &b, true, TH_PSH | TH_ACK, rec, tls_app_data(rec, 40, 0xbb));
	fx_tcp(fx, ip_if, &b, false, TH_PSH | TH_ACK, rec, tls_app_data(rec, 60, 0xcc));

	/* A: the response record, then its plaintext read. */
	fx_tcp(fx, ip_if, &a, false, TH_PSH | TH_ACK, rec, tls_app_data(rec, sizeof(resp) + 16, 0xdd));
	emit_str(fx, &c, R, resp);

	/* C: plain HTTP, not TLS: no tlsdump fields. */
	tcp_handshake(fx, ip_if, &h);
	fx_tcp(fx, ip_if, &h, true, TH_PSH | TH_ACK, req, strlen(req));
	fx_tcp(fx, ip_if, &h, false, TH_PSH | TH_ACK, resp, strlen(resp));

	tcp_close(fx, ip_if, &a);
	tcp_close(fx, ip_if, &b);
	tcp_close(fx, ip_if, &h);
}

static void fixture_tcp_link(const char *dir, const char *name, bool label_http)
{
	struct fixture fx;
	int ip_if;

	fx_open(&fx, dir, name);
	fx.label_http = label_http;
	ip_if = pcapng_add_interface(fx.w, LINKTYPE_RAW_IP, "eth0", "Original packets on eth0",
				     262144);
	if (ip_if < 0)
		fail("cannot add interface to", name);
	write_tcp_link(&fx, ip_if);
	fx_close(&fx);
}

/*
 * The same packets in a capture that does not come from tlsdump (no tlsdump
 * interface, no plaintext): the plugin adds nothing to them.
 */
static void fixture_tls_only(const char *dir)
{
	struct fixture fx = { 0 };
	struct tcp_flow b = { "10.0.0.1", "93.184.216.34", 40200, 443, { 2000, 6000 } };
	uint8_t rec[512];
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, "tls_only.pcapng");
	fx.fp = fopen(path, "wb");
	if (!fx.fp)
		fail("cannot create", path);
	fx.w = pcapng_open(fx.fp, "tlsdump gen_fixtures");
	if (!fx.w)
		fail("cannot start pcapng", path);
	fx.if_id = pcapng_add_interface(fx.w, LINKTYPE_RAW_IP, "eth0", "eth0", 262144);
	if (fx.if_id < 0)
		fail("cannot add interface to", path);
	fx.ts = T0_NS;
	tcp_handshake(&fx, fx.if_id, &b);
	fx_tcp(&fx, fx.if_id, &b, true, TH_PSH | TH_ACK, rec, tls_client_hello(rec));
	fx_tcp(&fx, fx.if_id, &b, false, TH_PSH | TH_ACK, rec, tls_server_hello(rec));
	fx_tcp(&fx, fx.if_id, &b, true, TH_PSH | TH_ACK, rec, tls_app_data(rec, 40, 0xbb));
	tcp_close(&fx, fx.if_id, &b);
	fx_close(&fx);
}

/* ---- Kubernetes metadata in packet comments ------------------------------ */

/* One opt_comment per group, as the extcap writes them (docs/record-format.md). */
static const char k8s_proc_a[] = "PID: 4242\nThreadId: 4243\nComm: curl\n"
				 "Cmd: curl https://payments.shop.svc/\nExe: /usr/bin/curl\n";
static const char k8s_container_a[] =
	"ContainerName: web\n"
	"ContainerId: 3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00112233445566778899\n"
	"ContainerImage: registry.example.com/shop/frontend:1.4.2\n";
static const char k8s_pod_a[] = "PodName: frontend-7d9c5-x2x4k\nPodNamespace: shop\n"
				"PodUID: 6f1b2c3d-0000-4a5b-8c9d-0123456789ab\nNodeName: node-1\n";
/* The same group with CRLF line ends and none after the last line. */
static const char k8s_pod_a_crlf[] = "PodName: frontend-7d9c5-x2x4k\r\nPodNamespace: shop\r\n"
				     "PodUID: 6f1b2c3d-0000-4a5b-8c9d-0123456789ab\r\nNodeName: node-1";
static const char k8s_peer_a[] = "PeerPod: payments-5f6d7-abcde\nPeerNamespace: shop\n"
				 "PeerService: payments\n";
static const char k8s_proc_b[] = "PID: 777\nThreadId: 777\nComm: batch\n";
static const char k8s_pod_b[] = "ContainerName: job\nPodName: batch-29110\nPodNamespace: default\n"
				"NodeName: node-1\n";

/*
 * Kubernetes metadata on both kinds of frame: connection A (TLS, plaintext
 * captured) from pod shop/frontend to the payments service, its original
 * packets with the container, pod and peer groups and its plaintext with the
 * process, container and pod groups; connection B (TLS, no plaintext) of
 * pod default/batch; a malformed plaintext frame of B's process; and plain
 * HTTP connection C whose packets carry comments that are not ours, or ours
 * garbled: keys in another case or with blanks, empty and overlong values,
 * duplicates (the first wins), CRLF, a value that is not UTF-8.
 */
static void fixture_k8s(const char *dir)
{
	struct fixture fx;
	struct tcp_flow a = { "10.1.0.5", "10.2.0.9", 40100, 443, { 1000, 5000 } };
	struct tcp_flow b = { "10.1.0.7", "93.184.216.34", 40200, 443, { 2000, 6000 } };
	struct tcp_flow h = { "10.1.0.8", "10.2.0.10", 40300, 80, { 3000, 7000 } };
	struct conn c = client_conn(0);
	struct conn cb = client_conn(1);
	static const char req[] = "GET /pay HTTP/1.1\r\nHost: payments\r\n\r\n";
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	const char *a_pkt[] = { k8s_container_a, k8s_pod_a, k8s_peer_a };
	const char *a_pkt_crlf[] = { k8s_container_a, k8s_pod_a_crlf, k8s_peer_a };
	const char *a_plain[] = { k8s_proc_a, k8s_container_a, k8s_pod_a };
	const char *b_pkt[] = { k8s_pod_b };
	const char *b_plain[] = { k8s_proc_b, k8s_pod_b };
	const char *not_ours[] = { "PID: 1\nComm: sshd\n", "a note: not metadata" };
	static char overlong[2100];
	const char *garbled[] = {
		NULL, "PodName: third\r\nPodNamespace: a:b\r\n\r\nContainerImage: short",
	};
	const char *not_utf8[] = { "PeerService: caf\xc3\nPeerPod: ok\n" };
	uint8_t rec[512];
	int ip_if;

	/* An overlong image line between keys in the wrong form, then the real key twice. */
	{
		static const char head[] = "podname: lower case key\nPodName : blank before colon\n"
					   "PodNameX: longer key\n PodName: leading blank\nPodName:\n"
					   "PodName: \t \r\nContainerImage: ";
		static const char tail[] = "\nPodName:first  value \t\r\nPodName: second\n\n";
		size_t hl = strlen(head), xl = sizeof(overlong) - hl - sizeof(tail);

		memcpy(overlong, head, hl);
		memset(overlong + hl, 'x', xl);
		memcpy(overlong + hl + xl, tail, sizeof(tail));
		garbled[0] = overlong;
	}

	fx_open(&fx, dir, "k8s.pcapng");
	ip_if = pcapng_add_interface(fx.w, LINKTYPE_RAW_IP, "eth0", "Original packets on eth0",
				     262144);
	if (ip_if < 0)
		fail("cannot add interface to", "k8s.pcapng");
	c.pid = 4242;
	c.lport = a.cport;
	c.local = a.cli;
	c.remote = a.srv;

	fx_comments(&fx, a_pkt, 3);
	fx_tcp(&fx, ip_if, &a, true, TH_SYN, NULL, 0);
	fx_comments(&fx, a_pkt_crlf, 3);
	fx_tcp(&fx, ip_if, &a, false, TH_SYN | TH_ACK, NULL, 0);
	fx_comments(&fx, a_pkt, 3);
	fx_tcp(&fx, ip_if, &a, true, TH_ACK, NULL, 0);
	fx_tcp(&fx, ip_if, &a, true, TH_PSH | TH_ACK, rec, tls_client_hello(rec));
	fx_tcp(&fx, ip_if, &a, false, TH_PSH | TH_ACK, rec, tls_server_hello(rec));
	fx_comments(&fx, a_plain, 3);
	emit_str(&fx, &c, W, req);
	fx_comments(&fx, a_pkt, 3);
	fx_tcp(&fx, ip_if, &a, true, TH_PSH | TH_ACK, rec,
	       tls_app_data(rec, sizeof(req) + 16, 0xaa));

	fx_comments(&fx, b_pkt, 1);
	tcp_handshake(&fx, ip_if, &b);
	fx_tcp(&fx, ip_if, &b, true, TH_PSH | TH_ACK, rec, tls_client_hello(rec));

	fx_comments(&fx, a_pkt, 3);
	fx_tcp(&fx, ip_if, &a, false, TH_PSH | TH_ACK, rec,
	       tls_app_data(rec, sizeof(resp) + 16, 0xdd));
	fx_comments(&fx, a_plain, 3);
	emit_str(&fx, &c, R, resp);

	/* B's process: a plaintext frame whose header is damaged (bad magic). */
	{
		struct tlsdump_record r;
		uint8_t buf[512];
		size_t size;

		cb.pid = 777;
		fill_record(&r, &cb, W, req, strlen(req), 0);
		size = record_encoded_size(&r, RECORD_LABEL_TLSDUMP);
		if (record_encode(&r, RECORD_LABEL_TLSDUMP, buf, sizeof(buf)) < 0)
			exit(1);
		memcpy(buf + size - TLSDUMP_RECORD_HDR_LEN - r.payload_len, "TLSX", 4);
		fx_comments(&fx, b_plain, 2);
		fx_raw(&fx, buf, size, W);
	}

	fx_comments(&fx, not_ours, 2);
	tcp_handshake(&fx, ip_if, &h);
	fx_comments(&fx, garbled, 2);
	fx_tcp(&fx, ip_if, &h, true, TH_PSH | TH_ACK, req, strlen(req));
	fx_comments(&fx, not_utf8, 1);
	fx_tcp(&fx, ip_if, &h, false, TH_PSH | TH_ACK, resp, strlen(resp));
	fx_comments(&fx, NULL, 0);
	tcp_close(&fx, ip_if, &h);

	fx_comments(&fx, a_pkt, 3);
	tcp_close(&fx, ip_if, &a);
	fx_comments(&fx, b_pkt, 1);
	tcp_close(&fx, ip_if, &b);
	fx_close(&fx);
}

/* Lost bytes in an HTTP/1.1 response body and in an HTTP/2 request. */
static void fixture_gap(const char *dir)
{
	struct fixture fx;
	struct conn c = client_conn(5);
	struct conn h2 = client_conn(6);
	char hdr[128], body[3000];
	size_t i, n;

	for (i = 0; i < sizeof(body); i++)
		body[i] = (i % 50 == 49) ? '\n' : (char)('0' + i % 10);

	fx_open(&fx, dir, "gap.pcapng");
	emit_str(&fx, &c, W, "GET /one HTTP/1.1\r\nHost: example.com\r\n\r\n");
	emit_str(&fx, &c, R, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
	emit_str(&fx, &c, W, "GET /two HTTP/1.1\r\nHost: example.com\r\n\r\n");
	n = (size_t)snprintf(hdr, sizeof(hdr), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n\r\n",
			     sizeof(body));
	{
		char first[2048];

		memcpy(first, hdr, n);
		memcpy(first + n, body, 1000);
		emit(&fx, &c, R, first, n + 1000);
	}
	/* 1000 body bytes lost; the frame after the gap carries the body's last 1000. */
	emit_gap(&fx, &c, R, body + 2000, 1000, 1000);
	emit_str(&fx, &c, W, "GET /three HTTP/1.1\r\nHost: example.com\r\n\r\n");
	emit_str(&fx, &c, R, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nthird");

	/* HTTP/2: a normal exchange on stream 1, then a lost request on stream 3. */
	{
		uint8_t buf[256];
		static const uint8_t req[] = { 0x82, 0x87, 0x84, 0x41, 1, 'h' };
		static const uint8_t lost_req[] = { 0x82, 0x87, 0x44, 4, '/', 'l', 'o', 's' };
		/* Only static table and literals: decodable by a fresh HPACK decoder. */
		static const uint8_t req5[] = {
			0x82, 0x87, 0x04, 5, '/', 'f', 'i', 'v', 'e', 0x01, 1, 'h',
		};
		static const uint8_t resp[] = { 0x88 };

		memcpy(buf, H2_PREFACE, 24);
		n = 24;
		n += h2_put(buf + n, 0x4, 0, 0, NULL, 0);
		n += h2_put(buf + n, 0x1, 0x05, 1, req, sizeof(req));
		emit(&fx, &h2, W, buf, n);
		n = h2_put(buf, 0x4, 0, 0, NULL, 0);
		n += h2_put(buf + n, 0x1, 0x05, 1, resp, sizeof(resp));
		emit(&fx, &h2, R, buf, n);
		/* The first 10 bytes of the stream 3 HEADERS frame are lost. */
		n = h2_put(buf, 0x1, 0x05, 3, lost_req, sizeof(lost_req));
		n += h2_put(buf + n, 0x1, 0x05, 5, req5, sizeof(req5));
		emit_gap(&fx, &h2, W, buf + 10, n - 10, 10);
		n = h2_put(buf, 0x1, 0x05, 3, resp, sizeof(resp));
		n += h2_put(buf + n, 0x1, 0x05, 5, resp, sizeof(resp));
		emit(&fx, &h2, R, buf, n);
	}
	fx_close(&fx);
}

/* An HTTP/1.1 -> HTTP/2 upgrade (h2c), and a connection that is not HTTP. */
static void fixture_upgrade_other(const char *dir)
{
	struct fixture fx;
	struct conn c = client_conn(8);
	struct conn smtp = client_conn(9);
	uint8_t buf[256];
	size_t n;
	static const char upgrade[] = "HTTP/1.1 101 Switching Protocols\r\n"
				      "Connection: Upgrade\r\nUpgrade: h2c\r\n\r\n";
	static const uint8_t resp[] = { 0x88 };

	fx_open(&fx, dir, "upgrade_other.pcapng");
	emit_str(&fx, &c, W, "GET /up HTTP/1.1\r\nHost: example.com\r\n"
			     "Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
			     "HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n");
	/* 101, then in the same frame the server's SETTINGS and stream 1's response. */
	n = strlen(upgrade);
	memcpy(buf, upgrade, n);
	n += h2_put(buf + n, 0x4, 0, 0, NULL, 0);
	n += h2_put(buf + n, 0x1, 0x04, 1, resp, sizeof(resp));
	n += h2_put(buf + n, 0x0, 0x01, 1, "up!", 3);
	emit(&fx, &c, R, buf, n);
	memcpy(buf, H2_PREFACE, 24);
	n = 24 + h2_put(buf + 24, 0x4, 0, 0, NULL, 0);
	emit(&fx, &c, W, buf, n);

	emit_str(&fx, &smtp, R, "220 mail.example.com ESMTP\r\n");
	emit_str(&fx, &smtp, W, "EHLO client.example.com\r\n");
	fx_close(&fx);
}

/*
 * Malformed headers: each frame is a valid record from the writer with one
 * defect put in afterwards, then a valid frame to show dissection goes on.
 */
static void fixture_malformed(const char *dir)
{
	struct fixture fx;
	struct conn c = client_conn(7);
	static const char msg[] = "GET /ok HTTP/1.1\r\nHost: example.com\r\n\r\n";
	struct tlsdump_record r;
	uint8_t buf[512];
	size_t size, tags;
	int defect;

	fx_open(&fx, dir, "malformed.pcapng");
	for (defect = 0; defect < 7; defect++) {
		struct conn tmp = c;
		uint8_t *h;

		fill_record(&r, &tmp, W, msg, strlen(msg), 0);
		size = record_encoded_size(&r, RECORD_LABEL_TLSDUMP);
		if (record_encode(&r, RECORD_LABEL_TLSDUMP, buf, sizeof(buf)) < 0)
			exit(1);
		tags = size - TLSDUMP_RECORD_HDR_LEN - r.payload_len;
		h = buf + tags;
		switch (defect) {
		case 0: /* bad magic */
			memcpy(h, "TLSX", 4);
			break;
		case 1: /* unknown version */
			h[TLSDUMP_OFF_VERSION] = 9;
			break;
		case 2: /* header length below 104 */
			h[TLSDUMP_OFF_HDR_LEN] = 0;
			h[TLSDUMP_OFF_HDR_LEN + 1] = 50;
			break;
		case 3: /* header length beyond the frame */
			h[TLSDUMP_OFF_HDR_LEN] = 0x10;
			h[TLSDUMP_OFF_HDR_LEN + 1] = 0;
			break;
		case 4: /* payload length larger than what follows */
			h[TLSDUMP_OFF_PAYLOAD_LEN + 3] += 1;
			break;
		case 5: /* header cut after 20 bytes */
			size = tags + 20;
			break;
		case 6: /* unknown direction */
			h[TLSDUMP_OFF_DIRECTION] = 7;
			break;
		}
		fx_raw(&fx, buf, size, W);
	}
	emit_str(&fx, &c, W, msg);
	emit_str(&fx, &c, R, "HTTP/1.1 204 No Content\r\n\r\n");
	fx_close(&fx);
}

/* ---- fuzz input ---------------------------------------------------------- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	/* xorshift64*: deterministic for a seed, no libc state. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

#define SEED(s) { s, sizeof(s) - 1 }
static const struct {
	const char *data;
	size_t len;
} fuzz_seeds[] = {
	SEED("GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
	SEED("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"),
	SEED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
	SEED("POST /x HTTP/1.1\r\nContent-Length: 100\r\n\r\n"),
	SEED("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n"),
	SEED(H2_PREFACE),
	SEED("\x00\x00\x00\x04\x00\x00\x00\x00\x00"),
	SEED("\x00\x00\x05\x01\x05\x00\x00\x00\x01\x82\x87\x84\xbe\xc0"),
	SEED("\x00\x00\x04\x00\x01\x00\x00\x00\x01" "abcd"),
	SEED("CONNECT a:443 HTTP/1.1\r\n\r\n"),
	SEED("HEAD / HTTP/1.1\r\n\r\n"),
	SEED("HTTP/1.1 200 OK\r\n\r\nuntil close"),
};

/*
 * Writes a random packet comment into @buf (@cap bytes, NUL terminated):
 * pieces of the Kubernetes groups cut anywhere, random bytes, overlong lines.
 */
static void fuzz_comment(char *buf, size_t cap)
{
	static const char *const seeds[] = {
		k8s_proc_a, k8s_container_a, k8s_pod_a, k8s_pod_a_crlf, k8s_peer_a, k8s_pod_b,
		"PodName:\nPodName: \t\r\npodname: x\n PodName: y\nPodName: \xc3\n",
	};
	size_t len = 0;
	unsigned k, pieces = 1 + rnd() % 4;

	for (k = 0; k < pieces; k++) {
		const char *s = seeds[rnd() % (sizeof(seeds) / sizeof(seeds[0]))];
		size_t sl = strlen(s), from = rnd() % 3 ? 0 : rnd() % (sl + 1);
		size_t take = rnd() % 4 ? sl - from : rnd() % (sl - from + 1);

		if (rnd() % 8 == 0) {
			/* Random bytes (no NUL: it would end the string), or a long line. */
			bool line = rnd() % 2;

			take = line ? 900 + rnd() % 300 : rnd() % 100;
			if (len + take + 1 > cap)
				break;
			if (line)
				memcpy(buf + len, "ContainerImage: ", 16);
			for (size_t b = line ? 16 : 0; b < take; b++)
				buf[len + b] = line ? 'i' : (char)(1 + rnd() % 255);
			len += take;
			continue;
		}
		if (len + take + 1 > cap)
			break;
		memcpy(buf + len, s + from, take);
		len += take;
	}
	for (k = rnd() % 4; k && len; k--)
		buf[rnd() % len] = (char)(1 + rnd() % 255);
	buf[len] = '\0';
}

static void fuzz(uint64_t seed, unsigned count, const char *path)
{
	struct fixture fx = { 0 };
	struct conn conns[4];
	/* Original packets of two of those connections, with comments too. */
	struct tcp_flow flows[2] = {
		{ "10.0.0.1", "93.184.216.34", 40100, 443, { 1000, 5000 } },
		{ "10.0.0.1", "93.184.216.34", 40102, 443, { 2000, 6000 } },
	};
	char comment_buf[3][4096];
	const char *comments[3] = { comment_buf[0], comment_buf[1], comment_buf[2] };
	int ip_if;
	unsigned i;

	rng_state = seed ? seed : 1;
	fx.fp = fopen(path, "wb");
	if (!fx.fp)
		fail("cannot create", path);
	fx.w = pcapng_open(fx.fp, "tlsdump fuzz");
	fx.if_id = pcapng_add_interface(fx.w, LINKTYPE_WIRESHARK_UPPER_PDU, "tlsdump", NULL, 262144);
	ip_if = pcapng_add_interface(fx.w, LINKTYPE_RAW_IP, "eth0", NULL, 262144);
	if (fx.if_id < 0 || ip_if < 0)
		fail("cannot add interface to", path);
	fx.ts = T0_NS;
	for (i = 0; i < 4; i++) {
		conns[i] = client_conn(100 + i);
		conns[i].role = (uint8_t)(i % 3);
		if (i == 3)
			conns[i].family = 0;
	}

	for (i = 0; i < count; i++) {
		struct conn *c = &conns[rnd() % 4];
		uint8_t dir8 = (uint8_t)(rnd() % 2);
		uint8_t payload[4096], frame[8192];
		size_t plen = 0, size, tags;
		struct tlsdump_record r;
		unsigned k, pieces = 1 + rnd() % 4;

		/* Comments on a third of the frames, Kubernetes groups or garbage. */
		if (rnd() % 3 == 0) {
			unsigned n = 1 + rnd() % 3;

			for (k = 0; k < n; k++)
				fuzz_comment(comment_buf[k], sizeof(comment_buf[k]));
			fx_comments(&fx, comments, n);
		} else {
			fx_comments(&fx, NULL, 0);
		}
		if (rnd() % 8 == 0) {
			/* An original packet: the postdissector reads its comments. */
			struct tcp_flow *f = &flows[rnd() % 2];
			uint8_t rec[512];

			fx_tcp(&fx, ip_if, f, rnd() % 2, TH_PSH | TH_ACK, rec,
			       tls_app_data(rec, rnd() % 400, (uint8_t)rnd()));
			continue;
		}

		/* Payload: pieces of seeds, random bytes, cut anywhere. */
		for (k = 0; k < pieces; k++) {
			unsigned which = rnd() % (sizeof(fuzz_seeds) / sizeof(fuzz_seeds[0]));
			const char *s = fuzz_seeds[which].data;
			size_t sl = fuzz_seeds[which].len;
			size_t from = rnd() % 3 ? 0 : rnd() % sl;
			size_t take = sl - from;

			if (rnd() % 5 == 0) {
				take = rnd() % 200;
				for (size_t b = 0; b < take && plen + b < sizeof(payload); b++)
					payload[plen + b] = (uint8_t)rnd();
			} else {
				if (plen + take > sizeof(payload))
					take = sizeof(payload) - plen;
				memcpy(payload + plen, s + from, take);
			}
			plen += take;
			if (plen > sizeof(payload))
				plen = sizeof(payload);
		}
		for (k = rnd() % 4; k; k--) /* point mutations */
			if (plen)
				payload[rnd() % plen] = (uint8_t)rnd();

		fill_record(&r, c, dir8, payload, plen, rnd() % 8 == 0 ? rnd() % 5000 : 0);
		if (rnd() % 16 == 0)
			r.stream_offset = ((uint64_t)rnd() << 32) | rnd();
		size = record_encoded_size(&r, RECORD_LABEL_TLSDUMP);
		if (record_encode(&r, RECORD_LABEL_TLSDUMP, frame, sizeof(frame)) < 0)
			continue;
		tags = size - TLSDUMP_RECORD_HDR_LEN - r.payload_len;
		/* Header mutations: any byte, or a cut anywhere. */
		if (rnd() % 6 == 0)
			frame[tags + rnd() % TLSDUMP_RECORD_HDR_LEN] = (uint8_t)rnd();
		if (rnd() % 10 == 0)
			size = tags + rnd() % (size - tags + 1);
		fx_raw(&fx, frame, size, dir8);
	}
	fx_close(&fx);
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "--fuzz") == 0) {
		fuzz(strtoull(argv[2], NULL, 0), (unsigned)strtoul(argv[3], NULL, 0), argv[4]);
		return 0;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR | --fuzz SEED COUNT FILE\n", argv[0]);
		return 2;
	}
	fixture_split_request(argv[1]);
	fixture_body_many_frames(argv[1]);
	fixture_pipelined(argv[1]);
	fixture_h2(argv[1]);
	fixture_gap(argv[1]);
	fixture_malformed(argv[1]);
	fixture_upgrade_other(argv[1]);
	fixture_h2_server_first(argv[1]);
	fixture_tcp_link(argv[1], "tcp_link.pcapng", false);
	/* The same with the plaintext labelled for http (tlsdump --label-http). */
	fixture_tcp_link(argv[1], "tcp_link_label_http.pcapng", true);
	fixture_tls_only(argv[1]);
	fixture_k8s(argv[1]);
	return 0;
}
