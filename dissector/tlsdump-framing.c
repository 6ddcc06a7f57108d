/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Message framing for the tlsdump dissector; see tlsdump-framing.h.
 */
#include "tlsdump-framing.h"

#include <string.h>

static bool is_upper_method_char(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

static bool is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* Matches "HTTP/1.x" (or "HTTP/2.0" when @allow_h2) at @p; @len bytes available. */
static bool match_version(const uint8_t *p, size_t len, bool allow_h2)
{
	if (len != 8 || memcmp(p, "HTTP/", 5) != 0 || p[6] != '.' || !is_digit(p[7]))
		return false;
	if (p[5] == '1')
		return true;
	return allow_h2 && p[5] == '2' && p[7] == '0';
}

enum tlsdump_h1_kind tlsdump_h1_start_line(const uint8_t *line, size_t len, char *method,
					   size_t method_size, unsigned *status)
{
	size_t i, sp1, sp2;

	/* Status line: HTTP/1.x SP 3DIGIT [SP reason] */
	if (len >= 12 && memcmp(line, "HTTP/", 5) == 0) {
		if (!match_version(line, 8, false) || line[8] != ' ' || !is_digit(line[9]) ||
		    !is_digit(line[10]) || !is_digit(line[11]))
			return TLSDUMP_H1_NONE;
		if (len > 12 && line[12] != ' ')
			return TLSDUMP_H1_NONE;
		for (i = 13; i < len; i++) {
			/* reason-phrase: HTAB, SP, VCHAR, obs-text */
			if (line[i] != '\t' && (line[i] < 0x20 || line[i] == 0x7f))
				return TLSDUMP_H1_NONE;
		}
		if (status)
			*status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
		return TLSDUMP_H1_RESPONSE;
	}

	/*
	 * Request line: method SP request-target SP HTTP-version. Methods are
	 * limited to upper-case names: every registered one is, and it keeps
	 * text in a body from passing for a request after lost bytes.
	 */
	for (sp1 = 0; sp1 < len && is_upper_method_char(line[sp1]); sp1++)
		;
	if (sp1 == 0 || sp1 > 20 || sp1 >= len || line[sp1] != ' ')
		return TLSDUMP_H1_NONE;
	for (sp2 = sp1 + 1; sp2 < len && line[sp2] > 0x20 && line[sp2] != 0x7f; sp2++)
		;
	if (sp2 == sp1 + 1 || sp2 >= len || line[sp2] != ' ')
		return TLSDUMP_H1_NONE;
	if (!match_version(line + sp2 + 1, len - sp2 - 1, true))
		return TLSDUMP_H1_NONE;
	if (line[sp2 + 6] == '2') {
		if (sp1 == 3 && memcmp(line, "PRI", 3) == 0 && sp2 == 5 && line[4] == '*')
			return TLSDUMP_H1_H2_PREFACE;
		return TLSDUMP_H1_NONE;
	}
	if (method && method_size) {
		size_t n = sp1 < method_size - 1 ? sp1 : method_size - 1;

		memcpy(method, line, n);
		method[n] = '\0';
	}
	return TLSDUMP_H1_REQUEST;
}

void tlsdump_h1_reset(struct tlsdump_h1 *p)
{
	bool head = p->answers_head, connect = p->answers_connect;

	memset(p, 0, offsetof(struct tlsdump_h1, line));
	p->answers_head = head;
	p->answers_connect = connect;
	p->line_len = 0;
	p->line_cr = false;
}

static void begin_message(struct tlsdump_h1 *p)
{
	p->state = TLSDUMP_H1_ST_START;
	p->kind = TLSDUMP_H1_NONE;
	p->remaining = 0;
	p->status = 0;
	p->method[0] = '\0';
	p->chunked = false;
	p->has_length = false;
	p->content_length = 0;
	p->upgrade_h2c = false;
	p->switched = false;
}

/* Keeps what the caller needs to know about the message that just ended. */
static void message_done(struct tlsdump_h1 *p)
{
	p->done_kind = p->kind;
	p->done_status = p->status;
	memcpy(p->done_method, p->method, sizeof(p->done_method));
	p->done_switched = p->switched;
	p->done_upgrade_h2c = p->upgrade_h2c;
}

static bool ascii_ieq(const uint8_t *a, size_t alen, const char *b)
{
	size_t i, blen = strlen(b);

	if (alen != blen)
		return false;
	for (i = 0; i < alen; i++) {
		uint8_t c = a[i];

		if (c >= 'A' && c <= 'Z')
			c = c - 'A' + 'a';
		if (c != (uint8_t)b[i])
			return false;
	}
	return true;
}

/* Whether the comma-separated list @v (@len bytes) holds the token @tok. */
static bool list_has_token(const uint8_t *v, size_t len, const char *tok, bool last_only)
{
	size_t i = 0;
	bool found = false;

	while (i < len) {
		size_t s, e;

		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		s = i;
		while (i < len && v[i] != ',')
			i++;
		e = i;
		while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
			e--;
		/* Drop transfer-coding parameters ("chunked;foo=bar" is not valid, but be lenient). */
		for (size_t k = s; k < e; k++) {
			if (v[k] == ';') {
				e = k;
				break;
			}
		}
		if (e > s) {
			found = ascii_ieq(v + s, e - s, tok);
			if (found && !last_only)
				return true;
		}
	}
	return found;
}

/* Returns false when the line is not a valid header field line. */
static bool parse_header_line(struct tlsdump_h1 *p, const uint8_t *line, size_t len)
{
	size_t colon, vs, ve;

	if (len && (line[0] == ' ' || line[0] == '\t'))
		return p->state == TLSDUMP_H1_ST_HEADERS; /* obs-fold continuation */
	for (colon = 0; colon < len && line[colon] != ':'; colon++) {
		uint8_t c = line[colon];

		/* field-name is a token */
		if (c <= 0x20 || c >= 0x7f || strchr("\"(),/;<=>?@[\\]{}", c))
			return false;
	}
	if (colon == 0 || colon == len)
		return false;
	for (vs = colon + 1; vs < len && (line[vs] == ' ' || line[vs] == '\t'); vs++)
		;
	for (ve = len; ve > vs && (line[ve - 1] == ' ' || line[ve - 1] == '\t'); ve--)
		;
	if (p->state != TLSDUMP_H1_ST_HEADERS)
		return true; /* trailers carry no framing */

	if (ascii_ieq(line, colon, "content-length")) {
		uint64_t v = 0;
		size_t i;

		if (vs == ve)
			return false;
		for (i = vs; i < ve; i++) {
			if (line[i] == ',') /* "5, 5": repeated identical values */
				break;
			if (!is_digit(line[i]) || v > (UINT64_MAX - 9) / 10)
				return false;
			v = v * 10 + (line[i] - '0');
		}
		if (p->has_length && p->content_length != v)
			return false;
		p->has_length = true;
		p->content_length = v;
	} else if (ascii_ieq(line, colon, "transfer-encoding")) {
		p->chunked = list_has_token(line + vs, ve - vs, "chunked", true);
	} else if (ascii_ieq(line, colon, "upgrade")) {
		if (list_has_token(line + vs, ve - vs, "h2c", false))
			p->upgrade_h2c = true;
	}
	return true;
}

/* Decides what follows the header block. Returns the event to report. */
static enum tlsdump_h1_event end_of_headers(struct tlsdump_h1 *p)
{
	if (p->kind == TLSDUMP_H1_RESPONSE) {
		bool informational = p->status >= 100 && p->status < 200;

		if (p->status == 101) {
			p->switched = true;
			return TLSDUMP_H1_EV_END;
		}
		if (p->answers_connect && p->status >= 200 && p->status < 300) {
			p->switched = true;
			return TLSDUMP_H1_EV_END;
		}
		if (informational || p->answers_head || p->status == 204 || p->status == 304)
			return TLSDUMP_H1_EV_END;
	}
	/* Transfer-Encoding overrides Content-Length (RFC 9112 6.3). */
	if (p->chunked) {
		p->state = TLSDUMP_H1_ST_CHUNK_SIZE;
		return TLSDUMP_H1_EV_NONE;
	}
	if (p->has_length) {
		if (p->content_length == 0)
			return TLSDUMP_H1_EV_END;
		p->state = TLSDUMP_H1_ST_BODY;
		p->remaining = p->content_length;
		return TLSDUMP_H1_EV_NONE;
	}
	if (p->kind == TLSDUMP_H1_REQUEST)
		return TLSDUMP_H1_EV_END;
	p->state = TLSDUMP_H1_ST_UNTIL_CLOSE;
	return TLSDUMP_H1_EV_UNTIL_CLOSE;
}

static bool parse_chunk_size(const uint8_t *line, size_t len, uint64_t *size)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		uint8_t c = line[i];
		unsigned d;

		if (is_digit(c))
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			break;
		if (v > (UINT64_MAX >> 4))
			return false;
		v = (v << 4) | d;
	}
	if (i == 0)
		return false;
	/* Then optional whitespace and chunk extensions. */
	if (i < len && line[i] != ';' && line[i] != ' ' && line[i] != '\t')
		return false;
	*size = v;
	return true;
}

/*
 * Handles one complete line (without its line end) in the current state.
 * Returns the event it causes.
 */
static enum tlsdump_h1_event handle_line(struct tlsdump_h1 *p, const uint8_t *line, size_t len)
{
	uint64_t size;

	switch (p->state) {
	case TLSDUMP_H1_ST_START:
		p->kind = tlsdump_h1_start_line(line, len, p->method, sizeof(p->method), &p->status);
		if (p->kind != TLSDUMP_H1_REQUEST && p->kind != TLSDUMP_H1_RESPONSE)
			return TLSDUMP_H1_EV_ERROR;
		p->state = TLSDUMP_H1_ST_HEADERS;
		return TLSDUMP_H1_EV_NONE;
	case TLSDUMP_H1_ST_HEADERS:
		if (len == 0)
			return end_of_headers(p);
		return parse_header_line(p, line, len) ? TLSDUMP_H1_EV_NONE : TLSDUMP_H1_EV_ERROR;
	case TLSDUMP_H1_ST_CHUNK_SIZE:
		if (!parse_chunk_size(line, len, &size))
			return TLSDUMP_H1_EV_ERROR;
		if (size == 0) {
			p->state = TLSDUMP_H1_ST_TRAILERS;
		} else {
			p->state = TLSDUMP_H1_ST_CHUNK_DATA;
			p->remaining = size;
		}
		return TLSDUMP_H1_EV_NONE;
	case TLSDUMP_H1_ST_CHUNK_END:
		if (len != 0)
			return TLSDUMP_H1_EV_ERROR;
		p->state = TLSDUMP_H1_ST_CHUNK_SIZE;
		return TLSDUMP_H1_EV_NONE;
	case TLSDUMP_H1_ST_TRAILERS:
		if (len == 0)
			return TLSDUMP_H1_EV_END;
		return parse_header_line(p, line, len) ? TLSDUMP_H1_EV_NONE : TLSDUMP_H1_EV_ERROR;
	default:
		return TLSDUMP_H1_EV_ERROR;
	}
}

size_t tlsdump_h1_feed(struct tlsdump_h1 *p, const uint8_t *data, size_t len,
		       enum tlsdump_h1_event *ev)
{
	size_t i = 0;

	*ev = TLSDUMP_H1_EV_NONE;
	while (i < len) {
		if (p->state == TLSDUMP_H1_ST_UNTIL_CLOSE)
			return len;
		if (p->state == TLSDUMP_H1_ST_BODY || p->state == TLSDUMP_H1_ST_CHUNK_DATA) {
			uint64_t n = len - i;

			if (n > p->remaining)
				n = p->remaining;
			i += n;
			p->remaining -= n;
			if (p->remaining == 0) {
				if (p->state == TLSDUMP_H1_ST_CHUNK_DATA) {
					p->state = TLSDUMP_H1_ST_CHUNK_END;
				} else {
					*ev = TLSDUMP_H1_EV_END;
					message_done(p);
					begin_message(p);
					p->answers_head = p->answers_connect = false;
					return i;
				}
			}
			continue;
		}

		/* Line states: collect up to LF. */
		uint8_t c = data[i];

		if (c == '\n') {
			size_t n = p->line_len;
			enum tlsdump_h1_event e;

			if (n && p->line[n - 1] == '\r')
				n--;
			i++;
			p->line_len = 0;
			e = handle_line(p, p->line, n);
			if (e == TLSDUMP_H1_EV_ERROR) {
				*ev = e;
				begin_message(p);
				return i;
			}
			if (e == TLSDUMP_H1_EV_END || e == TLSDUMP_H1_EV_UNTIL_CLOSE) {
				*ev = e;
				message_done(p);
				if (e == TLSDUMP_H1_EV_END) {
					begin_message(p);
					p->answers_head = p->answers_connect = false;
				}
				return i;
			}
			continue;
		}
		if (p->line_len >= TLSDUMP_H1_MAX_LINE) {
			*ev = TLSDUMP_H1_EV_ERROR;
			begin_message(p);
			p->line_len = 0;
			return i;
		}
		/* A start line is printable text; stop early on binary garbage. */
		if (p->state == TLSDUMP_H1_ST_START && c != '\r' && (c < 0x20 || c == 0x7f)) {
			*ev = TLSDUMP_H1_EV_ERROR;
			begin_message(p);
			p->line_len = 0;
			return i;
		}
		p->line[p->line_len++] = c;
		i++;
	}
	return i;
}

enum tlsdump_find tlsdump_h1_find_start(const uint8_t *buf, size_t len, enum tlsdump_h1_kind want,
					size_t *off)
{
	size_t start = 0;

	while (start < len) {
		const uint8_t *nl = memchr(buf + start, '\n', len - start);
		size_t end, n;
		enum tlsdump_h1_kind k;

		if (!nl) {
			/* An unfinished last line may still become a start line. */
			*off = (len - start > TLSDUMP_H1_MAX_LINE) ? len : start;
			return TLSDUMP_FIND_MORE;
		}
		end = (size_t)(nl - buf);
		n = end - start;
		if (n && buf[end - 1] == '\r')
			n--;
		k = tlsdump_h1_start_line(buf + start, n, NULL, 0, NULL);
		if ((k == TLSDUMP_H1_REQUEST || k == TLSDUMP_H1_RESPONSE) &&
		    (want == TLSDUMP_H1_NONE || want == k)) {
			*off = start;
			return TLSDUMP_FIND_FOUND;
		}
		start = end + 1;
	}
	*off = len;
	return TLSDUMP_FIND_MORE;
}

void tlsdump_h2_frame_header(const uint8_t *p, struct tlsdump_h2_frame *f)
{
	f->length = ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
	f->type = p[3];
	f->flags = p[4];
	f->stream_id = (((uint32_t)p[5] << 24) | ((uint32_t)p[6] << 16) | ((uint32_t)p[7] << 8) |
			p[8]) & 0x7fffffffu;
}

bool tlsdump_h2_frame_plausible(const struct tlsdump_h2_frame *f)
{
	/*
	 * Larger frames need a SETTINGS_MAX_FRAME_SIZE few peers announce, and
	 * the cap bounds how long a false candidate in binary DATA can hold up
	 * the search while its "frame" fills.
	 */
	if (f->length > 16384)
		return false;
	switch (f->type) {
	case TLSDUMP_H2_DATA:
		return f->stream_id && !(f->flags & ~0x09);
	case TLSDUMP_H2_HEADERS:
		return f->stream_id && !(f->flags & ~0x2d);
	case TLSDUMP_H2_PRIORITY:
		return f->stream_id && f->length == 5 && !f->flags;
	case TLSDUMP_H2_RST_STREAM:
		return f->stream_id && f->length == 4 && !f->flags;
	case TLSDUMP_H2_SETTINGS:
		return !f->stream_id && f->length % 6 == 0 && !(f->flags & ~0x01) &&
		       !((f->flags & 0x01) && f->length);
	case TLSDUMP_H2_PUSH_PROMISE:
		return f->stream_id && f->length >= 4 && !(f->flags & ~0x0c);
	case TLSDUMP_H2_PING:
		return !f->stream_id && f->length == 8 && !(f->flags & ~0x01);
	case TLSDUMP_H2_GOAWAY:
		return !f->stream_id && f->length >= 8 && !f->flags;
	case TLSDUMP_H2_WINDOW_UPDATE:
		return f->length == 4 && !f->flags;
	default:
		/* CONTINUATION cannot start a resynchronised stream; unknown types are too weak. */
		return false;
	}
}

enum tlsdump_find tlsdump_h2_find_start(const uint8_t *buf, size_t len, size_t *off)
{
	size_t i;

	for (i = 0; i < len; i++) {
		size_t pos = i;
		unsigned complete = 0;
		bool undecided = false, bad = false;

		/* The client preface is a boundary of its own. */
		if (len - i >= TLSDUMP_H2_PREFACE_LEN &&
		    memcmp(buf + i, TLSDUMP_H2_PREFACE, TLSDUMP_H2_PREFACE_LEN) == 0) {
			*off = i;
			return TLSDUMP_FIND_FOUND;
		}
		while (complete < 2) {
			struct tlsdump_h2_frame f;

			if (len - pos < TLSDUMP_H2_FRAME_HDR_LEN) {
				undecided = pos != len || complete == 0;
				break;
			}
			tlsdump_h2_frame_header(buf + pos, &f);
			if (!tlsdump_h2_frame_plausible(&f) && !(complete && f.type == TLSDUMP_H2_CONTINUATION)) {
				bad = true;
				break;
			}
			if (len - pos - TLSDUMP_H2_FRAME_HDR_LEN < f.length) {
				undecided = true;
				break;
			}
			pos += TLSDUMP_H2_FRAME_HDR_LEN + f.length;
			complete++;
		}
		if (bad)
			continue;
		if (complete >= 2 || (complete == 1 && pos == len && !undecided)) {
			*off = i;
			return TLSDUMP_FIND_FOUND;
		}
		if (undecided) {
			*off = i;
			return TLSDUMP_FIND_MORE;
		}
	}
	*off = len;
	return TLSDUMP_FIND_MORE;
}

void tlsdump_h2_reset(struct tlsdump_h2 *p, bool expect_preface)
{
	memset(p, 0, sizeof(*p));
	p->expect_preface = expect_preface;
}

size_t tlsdump_h2_feed(struct tlsdump_h2 *p, const uint8_t *data, size_t len,
		       enum tlsdump_h2_event *ev)
{
	size_t i = 0;

	*ev = TLSDUMP_H2_EV_NONE;
	while (i < len) {
		if (p->expect_preface) {
			size_t n = TLSDUMP_H2_PREFACE_LEN - p->preface_got;

			if (n > len - i)
				n = len - i;
			if (memcmp(data + i, TLSDUMP_H2_PREFACE + p->preface_got, n) != 0) {
				*ev = TLSDUMP_H2_EV_ERROR;
				tlsdump_h2_reset(p, false);
				return i;
			}
			p->preface_got += n;
			i += n;
			if (p->preface_got == TLSDUMP_H2_PREFACE_LEN) {
				p->expect_preface = false;
				p->preface_got = 0;
				*ev = TLSDUMP_H2_EV_END;
				return i;
			}
			continue;
		}
		if (!p->in_payload) {
			size_t n = TLSDUMP_H2_FRAME_HDR_LEN - p->hdr_got;

			if (n > len - i)
				n = len - i;
			memcpy(p->hdr + p->hdr_got, data + i, n);
			p->hdr_got += n;
			i += n;
			if (p->hdr_got == TLSDUMP_H2_FRAME_HDR_LEN) {
				struct tlsdump_h2_frame f;

				tlsdump_h2_frame_header(p->hdr, &f);
				p->hdr_got = 0;
				p->remaining = f.length;
				p->in_payload = true;
			}
		}
		if (p->in_payload) {
			size_t n = len - i;

			if (n > p->remaining)
				n = p->remaining;
			i += n;
			p->remaining -= n;
			if (p->remaining == 0) {
				p->in_payload = false;
				*ev = TLSDUMP_H2_EV_END;
				return i;
			}
		}
	}
	return i;
}

bool tlsdump_h2_headers_informational(const uint8_t *p, size_t len, uint8_t flags)
{
	size_t i = 0, pad = 0;
	uint8_t b, vlen_byte;

	if (flags & TLSDUMP_H2_FLAG_PADDED) {
		if (len < 1)
			return false;
		pad = p[0];
		i = 1;
	}
	if (flags & TLSDUMP_H2_FLAG_PRIORITY)
		i += 5;
	if (i + pad >= len)
		return false;
	len -= pad;
	/* Skip dynamic table size updates (001xxxxx) at the block start. */
	while (i < len && (p[i] & 0xe0) == 0x20) {
		if ((p[i] & 0x1f) == 0x1f) {
			i++;
			while (i < len && (p[i] & 0x80))
				i++;
		}
		i++;
	}
	if (i >= len)
		return false;
	b = p[i];
	/* Literal whose name is static index 8 (":status"): with, without or never indexing. */
	if (b != 0x48 && b != 0x08 && b != 0x18)
		return false;
	if (i + 2 >= len)
		return false;
	vlen_byte = p[i + 1];
	if ((vlen_byte & 0x7f) == 0)
		return false;
	if (vlen_byte & 0x80) /* Huffman: '1' is the 5-bit code 00001 */
		return (p[i + 2] >> 3) == 0x01;
	return p[i + 2] == '1';
}

enum tlsdump_detect tlsdump_detect(const uint8_t *buf, size_t len)
{
	size_t n = len < TLSDUMP_H2_PREFACE_LEN ? len : TLSDUMP_H2_PREFACE_LEN;
	const uint8_t *nl;
	size_t i;

	if (len == 0)
		return TLSDUMP_DETECT_MORE;
	if (memcmp(buf, TLSDUMP_H2_PREFACE, n) == 0)
		return len >= TLSDUMP_H2_PREFACE_LEN ? TLSDUMP_DETECT_HTTP2 : TLSDUMP_DETECT_MORE;

	/* A server speaks first with a SETTINGS frame. */
	if (len >= TLSDUMP_H2_FRAME_HDR_LEN) {
		struct tlsdump_h2_frame f;

		tlsdump_h2_frame_header(buf, &f);
		if (f.type == TLSDUMP_H2_SETTINGS && tlsdump_h2_frame_plausible(&f) &&
		    !(f.flags & 0x01))
			return TLSDUMP_DETECT_HTTP2;
	} else if (buf[0] == 0 && (len < 4 || buf[3] == TLSDUMP_H2_SETTINGS)) {
		return TLSDUMP_DETECT_MORE;
	}

	nl = memchr(buf, '\n', len);
	if (nl) {
		size_t l = (size_t)(nl - buf);

		if (l && buf[l - 1] == '\r')
			l--;
		switch (tlsdump_h1_start_line(buf, l, NULL, 0, NULL)) {
		case TLSDUMP_H1_REQUEST:
		case TLSDUMP_H1_RESPONSE:
			return TLSDUMP_DETECT_HTTP1;
		default:
			return TLSDUMP_DETECT_OTHER;
		}
	}
	/* Without a line end yet: could this still be a start line? */
	if (len > TLSDUMP_H1_MAX_LINE)
		return TLSDUMP_DETECT_OTHER;
	for (i = 0; i < len; i++) {
		if (buf[i] != '\r' && (buf[i] < 0x20 || buf[i] == 0x7f))
			return TLSDUMP_DETECT_OTHER;
	}
	if (buf[0] != 'H' && !is_upper_method_char(buf[0]))
		return TLSDUMP_DETECT_OTHER;
	return TLSDUMP_DETECT_MORE;
}
