/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Message framing for the tlsdump dissector: where HTTP/1.x messages and
 * HTTP/2 frames begin and end in one direction of a plaintext stream.
 *
 * The plugin decides every message boundary itself and hands Wireshark's
 * http/http2 dissectors only complete units. That keeps reassembly, pipelined
 * pairing and the restart after lost bytes independent of those dissectors'
 * preferences. This file has no Wireshark dependency so the unit tests and
 * the fuzz pass can drive it directly.
 */
#ifndef TLSDUMP_FRAMING_H
#define TLSDUMP_FRAMING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest start line, header line or chunk-size line accepted. */
#define TLSDUMP_H1_MAX_LINE 16384
#define TLSDUMP_H2_PREFACE "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define TLSDUMP_H2_PREFACE_LEN 24
#define TLSDUMP_H2_FRAME_HDR_LEN 9

enum tlsdump_h1_kind {
	TLSDUMP_H1_NONE = 0,
	TLSDUMP_H1_REQUEST = 1,
	TLSDUMP_H1_RESPONSE = 2,
	/* "PRI * HTTP/2.0": the HTTP/2 connection preface. */
	TLSDUMP_H1_H2_PREFACE = 3,
};

/*
 * Classifies the complete line @line of @len bytes (without its line end).
 * Returns the kind of start line it is, or TLSDUMP_H1_NONE. On a request
 * line, copies the method (NUL terminated, truncated to @method_size - 1)
 * into @method when it is not NULL; on a status line stores the code in
 * @status when it is not NULL.
 */
enum tlsdump_h1_kind tlsdump_h1_start_line(const uint8_t *line, size_t len, char *method,
					   size_t method_size, unsigned *status);

enum tlsdump_h1_state {
	TLSDUMP_H1_ST_START,	   /* waiting for a start line */
	TLSDUMP_H1_ST_HEADERS,	   /* header lines until the empty line */
	TLSDUMP_H1_ST_BODY,	   /* Content-Length body: `remaining` bytes */
	TLSDUMP_H1_ST_CHUNK_SIZE,  /* chunk-size line */
	TLSDUMP_H1_ST_CHUNK_DATA,  /* chunk data: `remaining` bytes */
	TLSDUMP_H1_ST_CHUNK_END,   /* the CRLF after chunk data */
	TLSDUMP_H1_ST_TRAILERS,	   /* trailer lines until the empty line */
	TLSDUMP_H1_ST_UNTIL_CLOSE, /* body delimited by connection close */
};

enum tlsdump_h1_event {
	TLSDUMP_H1_EV_NONE,	   /* all bytes consumed, message goes on */
	TLSDUMP_H1_EV_END,	   /* a message ended at the returned offset */
	TLSDUMP_H1_EV_UNTIL_CLOSE, /* headers done, body runs to connection close */
	TLSDUMP_H1_EV_ERROR,	   /* bytes at the returned offset are not HTTP/1.x */
};

/* Incremental HTTP/1.x framer for one direction of one connection. */
struct tlsdump_h1 {
	enum tlsdump_h1_state state;
	enum tlsdump_h1_kind kind; /* kind of the current message */
	uint64_t remaining;
	unsigned status;
	char method[24];
	bool chunked;
	bool has_length;
	uint64_t content_length;
	bool upgrade_h2c;	/* "Upgrade: h2c" seen in this message */
	/* Set by the caller before a response starts: what it answers. */
	bool answers_head;
	bool answers_connect;
	bool switched;		/* 101, or 2xx to CONNECT: the connection changes protocol */
	/* The message that just ended (EV_END) or whose headers ended (EV_UNTIL_CLOSE). */
	enum tlsdump_h1_kind done_kind;
	unsigned done_status;
	char done_method[24];
	bool done_switched;
	bool done_upgrade_h2c;
	uint8_t line[TLSDUMP_H1_MAX_LINE];
	size_t line_len;
	bool line_cr;		/* last byte stored in `line` was CR */
};

/* Resets @p to wait for a start line. */
void tlsdump_h1_reset(struct tlsdump_h1 *p);

/*
 * Feeds @len bytes of the stream to @p. Returns how many bytes were consumed
 * and stores in @ev what happened at that point: EV_END (a message ended
 * exactly there), EV_UNTIL_CLOSE (the header block ended and the body runs to
 * the connection's close), EV_ERROR (the byte there cannot continue an
 * HTTP/1.x message; @p is reset) or EV_NONE (all @len bytes consumed). The
 * caller feeds the rest after handling the event.
 */
size_t tlsdump_h1_feed(struct tlsdump_h1 *p, const uint8_t *data, size_t len,
		       enum tlsdump_h1_event *ev);

enum tlsdump_find {
	TLSDUMP_FIND_FOUND,	/* a boundary at *off */
	TLSDUMP_FIND_MORE,	/* none yet; keep bytes from *off for the next try */
};

/*
 * Looks for an HTTP/1.x start line beginning a line in @buf: a request line
 * when @want is REQUEST, a status line for RESPONSE, either for NONE. A line
 * at offset 0 counts too. Returns FOUND with its offset in @off, or MORE with
 * the offset from which bytes must be kept (an unfinished last line).
 */
enum tlsdump_find tlsdump_h1_find_start(const uint8_t *buf, size_t len, enum tlsdump_h1_kind want,
					size_t *off);

/* One parsed HTTP/2 frame header. */
struct tlsdump_h2_frame {
	uint32_t length;
	uint8_t type;
	uint8_t flags;
	uint32_t stream_id;
};

enum {
	TLSDUMP_H2_DATA = 0x0,
	TLSDUMP_H2_HEADERS = 0x1,
	TLSDUMP_H2_PRIORITY = 0x2,
	TLSDUMP_H2_RST_STREAM = 0x3,
	TLSDUMP_H2_SETTINGS = 0x4,
	TLSDUMP_H2_PUSH_PROMISE = 0x5,
	TLSDUMP_H2_PING = 0x6,
	TLSDUMP_H2_GOAWAY = 0x7,
	TLSDUMP_H2_WINDOW_UPDATE = 0x8,
	TLSDUMP_H2_CONTINUATION = 0x9,
};
#define TLSDUMP_H2_FLAG_END_STREAM 0x01
#define TLSDUMP_H2_FLAG_END_HEADERS 0x04
#define TLSDUMP_H2_FLAG_PADDED 0x08
#define TLSDUMP_H2_FLAG_PRIORITY 0x20

/* Decodes the 9-byte frame header at @p. */
void tlsdump_h2_frame_header(const uint8_t *p, struct tlsdump_h2_frame *f);

/*
 * Whether @f is a frame header a conforming peer could send (known type,
 * defined flags only, stream id and length rules of RFC 9113, at most the
 * default maximum frame size of 16384 bytes). Used only to
 * find a boundary after lost bytes, never to reject frames in sync.
 */
bool tlsdump_h2_frame_plausible(const struct tlsdump_h2_frame *f);

/*
 * Looks for the start of an HTTP/2 frame in @buf after lost bytes: an offset
 * from which plausible frame headers tile the data, at least two complete
 * frames, or one ending exactly at @len. Returns FOUND with the offset in
 * @off, or MORE with the offset from which bytes must be kept.
 */
enum tlsdump_find tlsdump_h2_find_start(const uint8_t *buf, size_t len, size_t *off);

enum tlsdump_h2_event {
	TLSDUMP_H2_EV_NONE,  /* all bytes consumed, inside a frame */
	TLSDUMP_H2_EV_END,   /* a frame (or the preface) ended at the returned offset */
	TLSDUMP_H2_EV_ERROR, /* the connection preface was expected but is not there */
};

/* Incremental HTTP/2 framer for one direction of one connection. */
struct tlsdump_h2 {
	bool expect_preface; /* client side from stream offset 0 */
	size_t preface_got;
	uint8_t hdr[TLSDUMP_H2_FRAME_HDR_LEN];
	size_t hdr_got;
	uint32_t remaining;
	bool in_payload;
};

void tlsdump_h2_reset(struct tlsdump_h2 *p, bool expect_preface);

/* Same contract as tlsdump_h1_feed(), for HTTP/2 frames. */
size_t tlsdump_h2_feed(struct tlsdump_h2 *p, const uint8_t *data, size_t len,
		       enum tlsdump_h2_event *ev);

/*
 * Whether the first HEADERS frame payload @p of @len bytes (flags @flags)
 * carries an informational (1xx) :status. Looks only at a first header field
 * that is a literal :status; anything else counts as final.
 */
bool tlsdump_h2_headers_informational(const uint8_t *p, size_t len, uint8_t flags);

enum tlsdump_detect {
	TLSDUMP_DETECT_MORE,  /* not enough bytes to tell */
	TLSDUMP_DETECT_HTTP1, /* a request or status line */
	TLSDUMP_DETECT_HTTP2, /* the connection preface or HTTP/2 frames */
	TLSDUMP_DETECT_OTHER, /* neither */
};

/*
 * Tells the protocol of a direction from its first bytes @buf (@len bytes,
 * starting at a message boundary). Returns MORE while the bytes could still
 * begin an HTTP message but do not yet prove it.
 */
enum tlsdump_detect tlsdump_detect(const uint8_t *buf, size_t len);

#endif /* TLSDUMP_FRAMING_H */
