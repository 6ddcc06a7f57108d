/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pcapng writer. Blocks are assembled one after another in one buffer and
 * written a batch at a time (and on pcapng_flush()), so a block that is
 * refused (too large, option too long) leaves nothing behind in the stream,
 * a reader never sees a half-built block because of our own validation, and
 * a frame's bytes are copied once on their way to the kernel.
 */
#include "pcapng.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_ISB 0x00000005u
#define BT_EPB 0x00000006u
#define BT_DSB 0x0000000Au

#define BYTE_ORDER_MAGIC 0x1A2B3C4Du
#define SECRETS_TLS_KEY_LOG 0x544c534bu

#define OPT_ENDOFOPT 0
#define OPT_COMMENT 1
#define SHB_USERAPPL 4
#define IF_NAME 2
#define IF_DESCRIPTION 3
#define IF_TSRESOL 9
#define EPB_FLAGS 2
#define ISB_STARTTIME 2
#define ISB_ENDTIME 3
#define ISB_IFRECV 4
#define ISB_IFDROP 5
#define ISB_OSDROP 7
#define ISB_USRDELIV 8

/* Blocks gathered before they are written to the stream's file. */
#define OUT_BATCH (1u << 20)

/* Option values carry a 16-bit length. */
#define OPT_MAX_LEN 0xffffu

struct pcapng_writer {
	FILE *out;
	int err;	/* first stream error (-errno), sticky */
	uint32_t n_if;	/* interfaces described so far in this section */
	uint8_t *buf;	/* OUT_BATCH + PCAPNG_MAX_BLOCK_SIZE bytes: finished blocks, then
			 * the block being built */
	size_t block;	/* where the block being built starts in buf */
	size_t len;	/* bytes used in buf */
	bool overflow;	/* the block being built does not fit */
	bool bad_opt;	/* an option value was longer than 65535 bytes */
};

static size_t pad4(size_t n)
{
	return (n + 3) & ~(size_t)3;
}

static void put(struct pcapng_writer *w, const void *data, size_t len)
{
	size_t padded = pad4(len);

	if (w->overflow || padded > PCAPNG_MAX_BLOCK_SIZE - (w->len - w->block)) {
		w->overflow = true;
		return;
	}
	if (len)
		memcpy(w->buf + w->len, data, len);
	memset(w->buf + w->len + len, 0, padded - len);
	w->len += padded;
}

static void put_u32(struct pcapng_writer *w, uint32_t v)
{
	put(w, &v, sizeof(v));
}

/* pcapng splits 64-bit timestamps into high and low 32-bit words. */
static void put_ts(struct pcapng_writer *w, uint64_t ts)
{
	put_u32(w, (uint32_t)(ts >> 32));
	put_u32(w, (uint32_t)ts);
}

static void put_opt(struct pcapng_writer *w, uint16_t code, const void *data, size_t len)
{
	uint16_t hdr[2] = { code, (uint16_t)len };

	if (len > OPT_MAX_LEN) {
		w->bad_opt = true;
		return;
	}
	put(w, hdr, sizeof(hdr));
	put(w, data, len);
}

static void put_opt_str(struct pcapng_writer *w, uint16_t code, const char *s)
{
	if (s && *s)
		put_opt(w, code, s, strlen(s));
}

static void put_opt_u64(struct pcapng_writer *w, uint16_t code, uint64_t v)
{
	put_opt(w, code, &v, sizeof(v));
}

static void put_opt_ts(struct pcapng_writer *w, uint16_t code, uint64_t ts)
{
	uint32_t v[2] = { (uint32_t)(ts >> 32), (uint32_t)ts };

	put_opt(w, code, v, sizeof(v));
}

static void put_opt_end(struct pcapng_writer *w)
{
	put_opt(w, OPT_ENDOFOPT, NULL, 0);
}

/* Starts a block of @type; the total length is filled in by block_end(). */
static void block_begin(struct pcapng_writer *w, uint32_t type)
{
	w->block = w->len;
	w->overflow = false;
	w->bad_opt = false;
	put_u32(w, type);
	put_u32(w, 0);
}

/*
 * Writes the finished blocks to the stream's file, after whatever stdio
 * still holds: stdio's own buffer would only add a copy of every byte.
 * Returns 0 or the sticky stream error.
 */
static int write_out(struct pcapng_writer *w)
{
	size_t n = w->block, done = 0;
	int fd = fileno(w->out);

	w->len -= n;
	w->block = 0;
	if (w->err || !n)
		return w->err;
	errno = 0;
	if (fd < 0 || fflush(w->out)) {
		/* stdio may fail without errno (e.g. a stream in error state). */
		w->err = errno ? -errno : -EIO;
		return w->err;
	}
	while (done < n) {
		ssize_t r = write(fd, w->buf + done, n - done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			w->err = r < 0 ? -errno : -EIO;
			return w->err;
		}
		done += (size_t)r;
	}
	return 0;
}

/*
 * Closes the block with its trailing length and queues it for the stream.
 * Returns 0, -E2BIG, -EINVAL (option too long) or the sticky stream error;
 * on any error nothing of this block reaches the stream.
 */
static int block_end(struct pcapng_writer *w)
{
	uint32_t total;
	int err;

	if (!w->bad_opt)
		put_u32(w, 0); /* the trailing length, filled in below */
	err = w->bad_opt ? -EINVAL : w->overflow ? -E2BIG : w->err;
	if (err) {
		w->len = w->block; /* forget it */
		return err;
	}
	total = (uint32_t)(w->len - w->block);
	memcpy(w->buf + w->block + 4, &total, sizeof(total));
	memcpy(w->buf + w->len - 4, &total, sizeof(total));
	w->block = w->len;
	return w->len >= OUT_BATCH ? write_out(w) : 0;
}

struct pcapng_writer *pcapng_open(FILE *out, const char *app)
{
	struct pcapng_writer *w;
	uint32_t bom = BYTE_ORDER_MAGIC;
	uint16_t version[2] = { 1, 0 };
	int64_t section_len = -1; /* unknown: we stream */
	int err;

	if (!out) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->out = out;
	w->buf = malloc(OUT_BATCH + PCAPNG_MAX_BLOCK_SIZE);
	if (!w->buf) {
		err = ENOMEM;
		goto cleanup;
	}

	block_begin(w, BT_SHB);
	put_u32(w, bom);
	put(w, version, sizeof(version));
	put(w, &section_len, sizeof(section_len));
	put_opt_str(w, SHB_USERAPPL, app);
	put_opt_end(w);
	err = -block_end(w);
	if (err)
		goto cleanup;
	return w;

cleanup:
	pcapng_close(w);
	errno = err;
	return NULL;
}

int pcapng_add_interface(struct pcapng_writer *w, uint16_t linktype, const char *name,
			 const char *description, uint32_t snaplen)
{
	uint16_t lt[2] = { linktype, 0 };
	uint8_t tsresol = 9; /* 10^-9 s: timestamps are ns since the epoch */
	int err;

	if (w->n_if >= INT32_MAX)
		return -ENOSPC;
	block_begin(w, BT_IDB);
	put(w, lt, sizeof(lt));
	put_u32(w, snaplen);
	put_opt_str(w, IF_NAME, name);
	put_opt_str(w, IF_DESCRIPTION, description);
	put_opt(w, IF_TSRESOL, &tsresol, sizeof(tsresol));
	put_opt_end(w);
	err = block_end(w);
	if (err)
		return err;
	return (int)w->n_if++;
}

int pcapng_write_packet(struct pcapng_writer *w, int if_id, uint64_t ts_ns, const void *data,
			uint32_t len, enum pcapng_direction dir, const char *const *comments,
			size_t n_comments)
{
	uint32_t flags = (uint32_t)dir; /* bits 0-1: inbound/outbound */
	size_t i;

	if (if_id < 0 || (uint32_t)if_id >= w->n_if || (unsigned int)dir > PCAPNG_DIR_OUTBOUND ||
	    (len && !data) || (n_comments && !comments))
		return -EINVAL;
	/* Check before copying: a refused packet must cost nothing. */
	if (len > PCAPNG_MAX_BLOCK_SIZE)
		return -E2BIG;

	block_begin(w, BT_EPB);
	put_u32(w, (uint32_t)if_id);
	put_ts(w, ts_ns);
	put_u32(w, len); /* captured */
	put_u32(w, len); /* original */
	put(w, data, len);
	for (i = 0; i < n_comments; i++)
		put_opt_str(w, OPT_COMMENT, comments[i]);
	if (dir != PCAPNG_DIR_UNKNOWN)
		put_opt(w, EPB_FLAGS, &flags, sizeof(flags));
	if (n_comments || dir != PCAPNG_DIR_UNKNOWN)
		put_opt_end(w);
	return block_end(w);
}

int pcapng_write_tls_keylog(struct pcapng_writer *w, const char *keylog, size_t len)
{
	if (len && !keylog)
		return -EINVAL;
	if (len > PCAPNG_MAX_BLOCK_SIZE)
		return -E2BIG;

	block_begin(w, BT_DSB);
	put_u32(w, SECRETS_TLS_KEY_LOG);
	put_u32(w, (uint32_t)len);
	put(w, keylog, len);
	return block_end(w);
}

int pcapng_write_stats(struct pcapng_writer *w, int if_id, const struct pcapng_stats *stats)
{
	if (if_id < 0 || (uint32_t)if_id >= w->n_if || !stats)
		return -EINVAL;

	block_begin(w, BT_ISB);
	put_u32(w, (uint32_t)if_id);
	put_ts(w, stats->end_ns);
	if (stats->start_ns)
		put_opt_ts(w, ISB_STARTTIME, stats->start_ns);
	put_opt_ts(w, ISB_ENDTIME, stats->end_ns);
	put_opt_u64(w, ISB_IFRECV, stats->received);
	put_opt_u64(w, ISB_IFDROP, stats->dropped);
	if (stats->has_os_stats) {
		put_opt_u64(w, ISB_OSDROP, stats->os_dropped);
		put_opt_u64(w, ISB_USRDELIV, stats->delivered);
	}
	put_opt_str(w, OPT_COMMENT, stats->comment);
	put_opt_end(w);
	return block_end(w);
}

int pcapng_flush(struct pcapng_writer *w)
{
	if (write_out(w))
		return w->err;
	errno = 0;
	if (fflush(w->out)) {
		w->err = errno ? -errno : -EIO;
		return w->err;
	}
	return 0;
}

void pcapng_close(struct pcapng_writer *w)
{
	if (!w)
		return;
	if (w->buf)
		write_out(w); /* blocks not flushed yet still reach the file */
	free(w->buf);
	free(w);
}
