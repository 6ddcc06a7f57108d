// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Hot loop for the per-call probe cost micro-benchmark (bench.py micro).
 *
 * One process holds both ends of a TLS 1.3 connection and alternates
 * SSL_write() on the client with SSL_read() on the server, SIZE bytes each,
 * the two functions tlsdump probes in nginx and wrk. It prints the median over
 * batches of the wall time per TLS call (one SSL_write or one SSL_read).
 *
 * Transports:
 *   bio        - BIO_new_bio_pair(): no syscall at all, so the cost is the
 *                library plus the probes (tlsdump captures the data but knows
 *                no connection tuple);
 *   socketpair - an AF_UNIX stream socketpair: one read()/write() syscall per
 *                TLS call, which also fires tlsdump's syscall tracepoints (no
 *                TCP tuple either);
 *   syscall    - no TLS: write(1 byte) to /dev/null, the tax tlsdump's
 *                system-wide sys_enter_write tracepoint puts on every process.
 *
 * Usage: ssl_loop MODE SIZE ITERATIONS CERT KEY
 * Output: one line "mode=M size=N calls=C ns_per_call=X min=Y max=Z".
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCHES 20
#define MAX_SIZE 16384

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "ssl_loop: %s failed\n", what);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Drives both handshakes until both ends are done; the transport must not block. */
static void handshake(SSL *client, SSL *server)
{
	int c = 0, s = 0;

	for (int round = 0; round < 1000 && (c != 1 || s != 1); round++) {
		if (c != 1)
			c = SSL_do_handshake(client);
		if (s != 1)
			s = SSL_do_handshake(server);
	}
	if (c != 1 || s != 1)
		die("handshake");
}

static void set_blocking(int fd, int blocking)
{
	int fl = fcntl(fd, F_GETFL);

	fcntl(fd, F_SETFL, blocking ? fl & ~O_NONBLOCK : fl | O_NONBLOCK);
}

/* Returns the nanoseconds @iters write+read pairs took. */
static uint64_t tls_batch(SSL *client, SSL *server, unsigned char *buf, unsigned char *rbuf,
			  int size, long iters)
{
	uint64_t t0 = now_ns();

	for (long i = 0; i < iters; i++) {
		if (SSL_write(client, buf, size) != size)
			die("SSL_write");
		for (int got = 0; got < size;) {
			int n = SSL_read(server, rbuf + got, size - got);

			if (n <= 0)
				die("SSL_read");
			got += n;
		}
	}
	return now_ns() - t0;
}

static uint64_t syscall_batch(int fd, unsigned char *buf, long iters)
{
	uint64_t t0 = now_ns();

	for (long i = 0; i < iters; i++)
		if (write(fd, buf, 1) != 1)
			die("write");
	return now_ns() - t0;
}

int main(int argc, char **argv)
{
	static unsigned char buf[MAX_SIZE], rbuf[MAX_SIZE];
	uint64_t per_call[BATCHES];
	SSL_CTX *cctx = NULL, *sctx = NULL;
	SSL *client = NULL, *server = NULL;
	const char *mode;
	long iters, batch;
	int size, calls_per_iter = 2, devnull = -1;

	if (argc != 6) {
		fprintf(stderr, "usage: ssl_loop bio|socketpair|syscall SIZE ITERATIONS CERT KEY\n");
		return 2;
	}
	mode = argv[1];
	size = atoi(argv[2]);
	iters = atol(argv[3]);
	if (size <= 0 || size > MAX_SIZE || iters < BATCHES) {
		fprintf(stderr, "ssl_loop: SIZE must be 1..%d and ITERATIONS >= %d\n", MAX_SIZE,
			BATCHES);
		return 2;
	}
	memset(buf, 'x', sizeof(buf));
	batch = iters / BATCHES;

	if (!strcmp(mode, "syscall")) {
		devnull = open("/dev/null", O_WRONLY);
		if (devnull < 0)
			die("open /dev/null");
		calls_per_iter = 1;
		syscall_batch(devnull, buf, batch); /* warm-up */
		for (int b = 0; b < BATCHES; b++)
			per_call[b] = syscall_batch(devnull, buf, batch) / (uint64_t)batch;
		goto report;
	}

	sctx = SSL_CTX_new(TLS_server_method());
	cctx = SSL_CTX_new(TLS_client_method());
	if (!sctx || !cctx)
		die("SSL_CTX_new");
	if (SSL_CTX_use_certificate_file(sctx, argv[4], SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(sctx, argv[5], SSL_FILETYPE_PEM) != 1)
		die("loading the certificate");
	/* Tickets would sit unread in the client's inbound buffer: send none. */
	SSL_CTX_set_num_tickets(sctx, 0);
	SSL_CTX_set_min_proto_version(cctx, TLS1_3_VERSION);
	client = SSL_new(cctx);
	server = SSL_new(sctx);
	if (!client || !server)
		die("SSL_new");
	SSL_set_connect_state(client);
	SSL_set_accept_state(server);

	if (!strcmp(mode, "bio")) {
		BIO *cb, *sb;

		/* Room for one full record plus its overhead in each direction. */
		if (!BIO_new_bio_pair(&cb, 65536, &sb, 65536))
			die("BIO_new_bio_pair");
		SSL_set_bio(client, cb, cb);
		SSL_set_bio(server, sb, sb);
		handshake(client, server);
	} else if (!strcmp(mode, "socketpair")) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			die("socketpair");
		set_blocking(sv[0], 0);
		set_blocking(sv[1], 0);
		SSL_set_fd(client, sv[0]);
		SSL_set_fd(server, sv[1]);
		handshake(client, server);
		set_blocking(sv[0], 1);
		set_blocking(sv[1], 1);
	} else {
		fprintf(stderr, "ssl_loop: unknown mode %s\n", mode);
		return 2;
	}

	tls_batch(client, server, buf, rbuf, size, batch); /* warm-up */
	for (int b = 0; b < BATCHES; b++)
		per_call[b] =
			tls_batch(client, server, buf, rbuf, size, batch) / (uint64_t)(2 * batch);

report:
	qsort(per_call, BATCHES, sizeof(per_call[0]), cmp_u64);
	printf("mode=%s size=%d calls=%ld ns_per_call=%llu min=%llu max=%llu\n", mode, size,
	       (long)(BATCHES * batch * calls_per_iter),
	       (unsigned long long)((per_call[BATCHES / 2 - 1] + per_call[BATCHES / 2]) / 2),
	       (unsigned long long)per_call[0], (unsigned long long)per_call[BATCHES - 1]);
	SSL_free(client);
	SSL_free(server);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	if (devnull >= 0)
		close(devnull);
	return 0;
}
