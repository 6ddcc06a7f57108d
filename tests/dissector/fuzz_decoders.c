/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz pass over the pure C decoders the dissector side relies on: the record
 * header decoder (extcap/record.c), the plugin's HTTP/1.x and HTTP/2 framing
 * (dissector/tlsdump-framing.c) and its packet comment parser
 * (dissector/tlsdump-meta.c). Random and mutated inputs, checked
 * invariants; built with AddressSanitizer and UBSan when the compiler has
 * them, so an out-of-bounds read fails the run.
 *
 *   fuzz_decoders [ITERATIONS [SEED]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "record.h"
#include "tlsdump-framing.h"
#include "tlsdump-meta.h"

static uint64_t rng_state = 1;

static uint32_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static unsigned failures;

#define CHECK(cond, ...)                                                                     \
	do {                                                                                 \
		if (!(cond)) {                                                               \
			fprintf(stderr, "fuzz_decoders: " __VA_ARGS__);                      \
			fputc('\n', stderr);                                                 \
			failures++;                                                          \
		}                                                                            \
	} while (0)

static const char *const text_seeds[] = {
	"GET /index.html HTTP/1.1\r\nHost: example.com\r\nContent-Length: 4\r\n\r\nbody",
	"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4;ext=1\r\nabcd\r\n0\r\nX-T: 1\r\n\r\n",
	"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
	"HTTP/1.0 200 OK\r\n\r\nclose delimited",
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
	"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
	"POST / HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n",
	"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
	"HTTP/1.1 200 OK\r\n Folded: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
};

static void mutate(uint8_t *buf, size_t len)
{
	unsigned k;

	for (k = rnd() % 6; k && len; k--) {
		switch (rnd() % 3) {
		case 0:
			buf[rnd() % len] = (uint8_t)rnd();
			break;
		case 1:
			buf[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
			break;
		default:
			buf[rnd() % len] = "\r\n :0\x00\xff"[rnd() % 7];
			break;
		}
	}
}

static void fuzz_record(void)
{
	struct tlsdump_record r, out;
	uint8_t payload[300], frame[1024];
	long n;
	size_t tags, len, i;

	memset(&r, 0, sizeof(r));
	r.direction = (uint8_t)(rnd() % 2);
	r.role = (uint8_t)(rnd() % 3);
	r.family = rnd() % 2 ? AF_INET : 0;
	r.conn_id = rnd();
	r.payload_len = rnd() % sizeof(payload);
	for (i = 0; i < r.payload_len; i++)
		payload[i] = (uint8_t)rnd();
	r.payload = payload;
	n = record_encode(&r, RECORD_LABEL_TLSDUMP, frame, sizeof(frame));
	CHECK(n > 0, "record_encode failed: %ld", n);
	if (n <= 0)
		return;
	tags = (size_t)n - TLSDUMP_RECORD_HDR_LEN - r.payload_len;

	/* The untouched header decodes to what was encoded. */
	CHECK(record_decode_header(frame + tags, (size_t)n - tags, &out) == 0 &&
		      out.payload_len == r.payload_len && out.conn_id == r.conn_id,
	      "valid record did not decode");

	/* Mutated, cut, or random: must never read outside, and stay consistent. */
	len = (size_t)n - tags;
	switch (rnd() % 3) {
	case 0:
		mutate(frame + tags, TLSDUMP_RECORD_HDR_LEN);
		break;
	case 1:
		len = rnd() % (len + 1);
		break;
	default:
		for (i = 0; i < len; i++)
			frame[tags + i] = (uint8_t)rnd();
		if (rnd() % 2)
			memcpy(frame + tags, TLSDUMP_RECORD_MAGIC, 4);
		break;
	}
	/* A heap copy of exactly @len bytes lets ASan see any overread. */
	{
		uint8_t *copy = malloc(len ? len : 1);

		memcpy(copy, frame + tags, len);
		if (record_decode_header(copy, len, &out) == 0) {
			CHECK(out.payload >= copy && out.payload + out.payload_len == copy + len,
			      "decoded payload outside the buffer");
			CHECK(out.comm[TLSDUMP_COMM_LEN - 1] == 0 &&
				      out.libname[TLSDUMP_LIBNAME_LEN - 1] == 0,
			      "strings not terminated");
		}
		free(copy);
	}
}

static void fuzz_h1(void)
{
	struct tlsdump_h1 *p = calloc(1, sizeof(*p));
	uint8_t buf[1024];
	size_t len = 0, pos = 0, off;
	unsigned k, pieces = 1 + rnd() % 4;

	for (k = 0; k < pieces; k++) {
		const char *s = text_seeds[rnd() % (sizeof(text_seeds) / sizeof(text_seeds[0]))];
		size_t sl = strlen(s);

		if (len + sl > sizeof(buf))
			break;
		memcpy(buf + len, s, sl);
		len += sl;
	}
	mutate(buf, len);
	tlsdump_h1_reset(p);
	p->answers_head = rnd() % 4 == 0;
	while (pos < len) {
		size_t chunk = 1 + rnd() % (len - pos);
		uint8_t *piece = malloc(chunk);
		size_t done = 0;

		memcpy(piece, buf + pos, chunk);
		while (done < chunk) {
			enum tlsdump_h1_event ev;
			size_t n = tlsdump_h1_feed(p, piece + done, chunk - done, &ev);

			CHECK(n <= chunk - done, "h1 consumed more than given");
			CHECK(n > 0 || ev == TLSDUMP_H1_EV_ERROR, "h1 made no progress");
			if (n == 0)
				n = 1; /* a caller resynchronises past the byte */
			done += n;
			if (ev == TLSDUMP_H1_EV_UNTIL_CLOSE)
				tlsdump_h1_reset(p);
		}
		free(piece);
		pos += chunk;
	}
	free(p);

	(void)tlsdump_h1_find_start(buf, len, (enum tlsdump_h1_kind)(rnd() % 3), &off);
	CHECK(off <= len, "h1_find_start offset out of range");
	(void)tlsdump_detect(buf, len);
}

static void fuzz_h2(void)
{
	struct tlsdump_h2 p;
	uint8_t buf[512];
	size_t len = rnd() % sizeof(buf), pos = 0, i, off;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(rnd() % 4 ? rnd() % 16 : rnd());
	if (rnd() % 2 && len >= 24)
		memcpy(buf, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	tlsdump_h2_reset(&p, rnd() % 2);
	while (pos < len) {
		enum tlsdump_h2_event ev;
		size_t n = tlsdump_h2_feed(&p, buf + pos, len - pos, &ev);

		CHECK(n <= len - pos, "h2 consumed more than given");
		CHECK(n > 0 || ev == TLSDUMP_H2_EV_ERROR, "h2 made no progress");
		pos += n ? n : 1;
	}
	{
		uint8_t *copy = malloc(len ? len : 1);

		memcpy(copy, buf, len);
		if (tlsdump_h2_find_start(copy, len, &off) == TLSDUMP_FIND_FOUND)
			CHECK(off < len, "h2_find_start found past the end");
		CHECK(off <= len, "h2_find_start offset out of range");
		(void)tlsdump_h2_headers_informational(copy, len, (uint8_t)rnd());
		(void)tlsdump_detect(copy, len);
		free(copy);
	}
}

static const char *const comment_seeds[] = {
	"PID: 4242\nThreadId: 4243\nComm: curl\nCmd: curl https://x/\nExe: /usr/bin/curl",
	"ContainerName: web\nContainerId: 3f4e5d6c\nContainerImage: reg.example/a/b:1\n",
	"PodName: frontend-1\r\nPodNamespace: shop\r\nPodUID: 6f1b-2c3d\r\nNodeName: node-1\r\n",
	"PeerPod: payments-1\nPeerNamespace: shop\nPeerService: payments",
	"PodName:\nPodName: \t\r\nPodName:x\npodname: y\n PodName: z\nPodNameX: w\n",
	"PeerService: a:b:c\r\r\n\n\nNodeName:\t n \t",
	"no colon here\n:\n::\nPodName",
};

static int meta_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void fuzz_meta(void)
{
	char buf[4096];
	size_t len = 0;
	unsigned k, pieces = 1 + rnd() % 5;
	struct tlsdump_meta m;
	char *copy;

	for (k = 0; k < pieces; k++) {
		size_t sl, take;

		if (rnd() % 8 == 0) {
			/* A long line: maybe just within TLSDUMP_META_MAX_VALUE, maybe beyond. */
			static const char key[] = "ContainerImage: ";

			take = TLSDUMP_META_MAX_VALUE - 2 + rnd() % 5;
			if (len + sizeof(key) - 1 + take + 1 > sizeof(buf))
				break;
			memcpy(buf + len, key, sizeof(key) - 1);
			len += sizeof(key) - 1;
			memset(buf + len, 'a' + (int)(rnd() % 26), take);
			len += take;
			buf[len++] = '\n';
			continue;
		}
		if (rnd() % 6 == 0) {
			take = rnd() % 64;
			if (len + take > sizeof(buf))
				break;
			for (size_t b = 0; b < take; b++)
				buf[len + b] = (char)rnd();
			len += take;
			continue;
		}
		{
			const char *s = comment_seeds[rnd() % (sizeof(comment_seeds) /
							       sizeof(comment_seeds[0]))];

			sl = strlen(s);
			/* From anywhere in the seed to anywhere after: cut lines, no line end. */
			take = sl - (rnd() % 3 ? 0 : rnd() % (sl + 1));
			if (len + take > sizeof(buf))
				break;
			memcpy(buf + len, s + (sl - take), take);
			len += take;
		}
	}
	mutate((uint8_t *)buf, len);

	/* Exactly @len bytes on the heap, not NUL terminated: ASan sees any overread. */
	copy = malloc(len ? len : 1);
	memcpy(copy, buf, len);
	tlsdump_meta_init(&m);
	(void)tlsdump_meta_parse(&m, copy, len);
	for (k = 0; k < TLSDUMP_META_COUNT; k++) {
		const struct tlsdump_meta_value *v = &m.v[k];

		if (!v->ptr)
			continue;
		CHECK(v->ptr >= copy && v->ptr + v->len <= copy + len,
		      "meta value outside the text");
		CHECK(v->len > 0 && v->len <= TLSDUMP_META_MAX_VALUE, "meta value length %zu",
		      v->len);
		if (v->len)
			CHECK(!meta_blank(v->ptr[0]) && !meta_blank(v->ptr[v->len - 1]),
			      "meta value not trimmed");
		CHECK(!memchr(v->ptr, '\n', v->len), "meta value spans lines");
		/* The line starts with the key and a colon. */
		{
			const char *name = tlsdump_meta_key_name((enum tlsdump_meta_key)k);
			size_t nl = strlen(name);
			const char *line = v->ptr;

			while (line > copy && line[-1] != '\n')
				line--;
			CHECK((size_t)(v->ptr - line) > nl && memcmp(line, name, nl) == 0 &&
				      line[nl] == ':',
			      "meta value not after its key %s", name);
		}
	}
	/* The first occurrence wins: the same text again changes nothing. */
	CHECK(tlsdump_meta_parse(&m, copy, len) == 0, "meta value replaced by a later one");
	free(copy);
}

int main(int argc, char **argv)
{
	unsigned long iterations = argc > 1 ? strtoul(argv[1], NULL, 0) : 200000;
	unsigned long i;

	if (argc > 2)
		rng_state = strtoull(argv[2], NULL, 0) | 1;
	for (i = 0; i < iterations; i++) {
		fuzz_record();
		fuzz_h1();
		fuzz_h2();
		fuzz_meta();
	}
	printf("fuzz_decoders: %lu iterations, %u failures\n", iterations, failures);
	return failures ? 1 : 0;
}
