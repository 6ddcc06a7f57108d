/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * held_frames: frames without a tuple wait for their connection's socket,
 * in order, and never longer than asked.
 */
#include <string.h>
#include <sys/socket.h>

#include "check.h"
#include "held_frames.h"

#define MS 1000000ULL

/* What came out, in order: stream offsets and ports. */
struct sink {
	int n;
	uint64_t offsets[16];
	uint16_t local_ports[16];
	uint8_t families[16];
};

static void collect(const struct tls_data_event *e, size_t size, void *ctx)
{
	struct sink *s = ctx;

	CHECK(size == sizeof(*e) + e->len, "frame of %zu bytes for len %u", size, e->len);
	CHECK(!memcmp(e->data, "abcd", e->len), "payload changed");
	if (s->n < 16) {
		s->offsets[s->n] = e->stream_offset;
		s->local_ports[s->n] = e->local_port;
		s->families[s->n] = e->family;
	}
	s->n++;
}

/* Offers one 4-byte frame of @conn at @offset, with a tuple when @port. */
static void offer(struct held_frames *h, uint64_t conn, uint64_t offset, uint16_t port,
		  uint64_t now, struct sink *s)
{
	struct {
		struct tls_data_event e;
		char data[4];
	} f = { .e = { .ts_ns = now, .conn_id = conn, .stream_offset = offset, .len = 4 } };

	memcpy(f.data, "abcd", 4);
	if (port) {
		f.e.family = AF_INET;
		f.e.local_port = port;
	}
	held_frames_offer(h, &f.e, sizeof(f.e) + 4, now, collect, s);
}

static void bind_conn(struct held_frames *h, uint64_t conn, uint16_t port, struct sink *s)
{
	struct conn_bound_event b = { .type = CTL_EVENT_CONN_BOUND, .conn_id = conn,
				      .family = AF_INET, .role = 1, .local_port = port };

	held_frames_bind(h, &b, collect, s);
}

static void test_tupled_frames_pass(void)
{
	struct held_frames *h = held_frames_new();
	struct sink s = { 0 };

	offer(h, 1, 0, 443, 0, &s);
	CHECK(s.n == 1 && s.local_ports[0] == 443, "a frame with its tuple waits: %d out", s.n);
	held_frames_free(h);
}

static void test_held_until_bound_in_order(void)
{
	struct held_frames *h = held_frames_new();
	struct sink s = { 0 };

	offer(h, 7, 0, 0, 0, &s);
	offer(h, 7, 4, 0, 1 * MS, &s);
	/* The socket is known in the kernel now, before user space hears of it. */
	offer(h, 7, 8, 5555, 2 * MS, &s);
	CHECK(s.n == 0, "%d frames left before their connection was bound", s.n);
	offer(h, 8, 0, 0, 2 * MS, &s); /* another connection, unbound */
	bind_conn(h, 7, 5555, &s);
	REQUIRE(s.n == 3, "bind released %d frames, not 3", s.n);
	for (int i = 0; i < 3; i++) {
		CHECK(s.offsets[i] == (uint64_t)i * 4, "frame %d has offset %llu", i,
		      (unsigned long long)s.offsets[i]);
		CHECK(s.local_ports[i] == 5555 && s.families[i] == AF_INET,
		      "frame %d: port %u family %u", i, s.local_ports[i], s.families[i]);
	}
	/* After the bind, a late frame without a tuple gets the known one at once. */
	offer(h, 7, 12, 0, 3 * MS, &s);
	CHECK(s.n == 4 && s.local_ports[3] == 5555, "late frame: %d out, port %u", s.n,
	      s.local_ports[3]);
	held_frames_free(h);
}

static void test_expiry(void)
{
	struct held_frames *h = held_frames_new();
	struct sink s = { 0 };

	offer(h, 3, 0, 0, 100 * MS, &s);
	offer(h, 4, 0, 0, 200 * MS, &s);
	CHECK(held_frames_expire(h, 240 * MS, 150 * MS, false, collect, &s) == 0 && s.n == 0,
	      "frames younger than the limit left: %d", s.n);
	CHECK(held_frames_expire(h, 260 * MS, 150 * MS, false, collect, &s) == 1 && s.n == 1,
	      "the old frame did not leave alone: %d", s.n);
	CHECK(s.families[0] == 0, "an expired frame got a tuple");
	/* Its connection gave up: later frames pass straight through. */
	offer(h, 3, 4, 0, 270 * MS, &s);
	CHECK(s.n == 2, "a frame of a connection that gave up waits again");
	CHECK(held_frames_expire(h, 270 * MS, 150 * MS, true, collect, &s) == 1 && s.n == 3,
	      "the final flush left %d frames behind", 3 - s.n);
	held_frames_free(h);
}

int main(void)
{
	test_tupled_frames_pass();
	test_held_until_bound_in_order();
	test_expiry();
	return check_exit_status("test_held_frames");
}
