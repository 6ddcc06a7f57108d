/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A small pcapng writer: one function per block type. libpcap 1.10 cannot
 * write pcapng, and dumpcap needs every block below 256 KiB, so tlsdump
 * writes its own. Little-endian host byte order, as pcapng allows.
 */
#ifndef TLSDUMP_PCAPNG_H
#define TLSDUMP_PCAPNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* dumpcap rejects larger blocks ("Frame too long"). */
#define PCAPNG_MAX_BLOCK_SIZE 262144

enum pcapng_direction {
	PCAPNG_DIR_UNKNOWN = 0,
	PCAPNG_DIR_INBOUND = 1,
	PCAPNG_DIR_OUTBOUND = 2,
};

struct pcapng_writer;

struct pcapng_stats {
	uint64_t start_ns;	/* isb_starttime; 0 to omit */
	uint64_t end_ns;	/* isb_endtime and block timestamp */
	uint64_t received;	/* isb_ifrecv */
	uint64_t dropped;	/* isb_ifdrop */
	bool has_os_stats;	/* write the two below too */
	uint64_t os_dropped;	/* isb_osdrop: dropped by the kernel */
	uint64_t delivered;	/* isb_usrdeliv: delivered to the file */
	const char *comment;	/* opt_comment or NULL */
};

/*
 * Creates a writer on @out (not closed by the writer) and writes the Section
 * Header Block naming @app (shb_userappl). Returns NULL and sets errno on
 * failure.
 */
struct pcapng_writer *pcapng_open(FILE *out, const char *app);

/*
 * Writes an Interface Description Block with nanosecond timestamps.
 * Returns the new interface id (>= 0) or -errno.
 */
int pcapng_add_interface(struct pcapng_writer *w, uint16_t linktype, const char *name,
			 const char *description, uint32_t snaplen);

/*
 * Writes an Enhanced Packet Block on @if_id at @ts_ns (ns since the epoch)
 * with @comments (@n_comments strings, each one opt_comment) and @dir as
 * epb_flags. Returns 0, -E2BIG when the block would exceed
 * PCAPNG_MAX_BLOCK_SIZE, or -errno from the stream.
 */
int pcapng_write_packet(struct pcapng_writer *w, int if_id, uint64_t ts_ns, const void *data,
			uint32_t len, enum pcapng_direction dir, const char *const *comments,
			size_t n_comments);

/*
 * Writes a Decryption Secrets Block holding a TLS key log (NSS format).
 * Returns 0 or -errno.
 */
int pcapng_write_tls_keylog(struct pcapng_writer *w, const char *keylog, size_t len);

/*
 * Writes an Interface Statistics Block for @if_id. Returns 0 or -errno.
 */
int pcapng_write_stats(struct pcapng_writer *w, int if_id, const struct pcapng_stats *stats);

/*
 * Flushes buffered blocks to the stream. Returns 0 or -errno (-EPIPE when the
 * reader went away).
 */
int pcapng_flush(struct pcapng_writer *w);

/* Writes blocks not yet flushed and frees the writer (does not close the
 * stream); accepts NULL. */
void pcapng_close(struct pcapng_writer *w);

#endif /* TLSDUMP_PCAPNG_H */
