/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Wireshark dissector for tlsdump plaintext frames: Exported PDU frames named
 * "tlsdump" whose data is a tlsdump header (docs/record-format.md) and the
 * plaintext one process read from or wrote to a TLS connection.
 *
 * The plugin reassembles each direction of each connection itself: it frames
 * HTTP/1.x messages and HTTP/2 frames (tlsdump-framing.c) and hands Wireshark's
 * http and http2 dissectors only complete units, from the first pass on, with
 * can_desegment = 0. Every decision (what each frame dissects, which request
 * a response answers) is taken on the first pass and stored with the frame,
 * so later passes and the GUI replay exactly the same calls.
 */
#define WS_BUILD_DLL
#include <wireshark.h>
#include <epan/packet.h>
#include <epan/epan.h>
#include <epan/charsets.h>
#include <epan/expert.h>
#include <epan/conversation.h>
#include <epan/proto_data.h>
#include <epan/exceptions.h>
#include <epan/show_exception.h>
#include <epan/dissectors/packet-tcp.h>
#include <wsutil/pint.h>
#include <wiretap/wtap.h>

#include <string.h>

#include "record.h"
#include "tlsdump-framing.h"
#include "tlsdump-meta.h"

#ifndef VERSION
#define VERSION "0.1.0"
#endif

WS_DLL_PUBLIC_DEF const gchar plugin_version[] = VERSION;
WS_DLL_PUBLIC_DEF const int plugin_want_major = WIRESHARK_VERSION_MAJOR;
WS_DLL_PUBLIC_DEF const int plugin_want_minor = WIRESHARK_VERSION_MINOR;

WS_DLL_PUBLIC void plugin_register(void);

void proto_register_tlsdump(void);
void proto_reg_handoff_tlsdump(void);

/*
 * A message larger than this is dissected truncated and the rest of it shown
 * as continuation data: reassembly keeps a copy of every message, and a
 * multi-gigabyte download must not take the whole file's memory twice.
 */
#define TLSDUMP_MAX_MESSAGE (32u * 1024 * 1024)
/* Bytes kept while looking for a message boundary after lost bytes. */
#define TLSDUMP_MAX_RESYNC_TAIL (1u << 20)
/* Key of this dissection's per-packet note that the Kubernetes fields are in the tree. */
#define TLSDUMP_PROTO_K8S_DONE 1
/* CONVERSATION_LOG ids of tlsdump connections start here ("td"). */
#define TLSDUMP_CONV_ID_BASE 0x74640000u

static int proto_tlsdump = -1;

static int hf_tlsdump_magic = -1;
static int hf_tlsdump_version = -1;
static int hf_tlsdump_dir = -1;
static int hf_tlsdump_hdr_len = -1;
static int hf_tlsdump_flags = -1;
static int hf_tlsdump_flags_gap = -1;
static int hf_tlsdump_flags_capped = -1;
static int hf_tlsdump_flags_no_tuple = -1;
static int hf_tlsdump_flags_call_start = -1;
static int hf_tlsdump_flags_call_end = -1;
static int hf_tlsdump_role = -1;
static int hf_tlsdump_lib = -1;
static int hf_tlsdump_pid = -1;
static int hf_tlsdump_tid = -1;
static int hf_tlsdump_len = -1;
static int hf_tlsdump_conn = -1;
static int hf_tlsdump_offset = -1;
static int hf_tlsdump_gap = -1;
static int hf_tlsdump_call_len = -1;
static int hf_tlsdump_comm = -1;
static int hf_tlsdump_libname = -1;
static int hf_tlsdump_hdr_extra = -1;
static int hf_tlsdump_payload = -1;
static int hf_tlsdump_tcp_stream = -1;
static int hf_tlsdump_app = -1;
static int hf_tlsdump_response_in = -1;
static int hf_tlsdump_request_in = -1;
static int hf_tlsdump_time = -1;
static int hf_tlsdump_h2_streamid = -1;
static int hf_tlsdump_reassembled_in = -1;
static int hf_tlsdump_reassembled_len = -1;
static int hf_tlsdump_segment = -1;
static int hf_tlsdump_skipped = -1;
static int hf_tlsdump_encrypted_in = -1;
static int hf_tlsdump_no_plaintext = -1;
static int hf_tlsdump_plaintext_frames = -1;
static int hf_tlsdump_plaintext_in = -1;
static int hf_tlsdump_k8s_namespace = -1;
static int hf_tlsdump_k8s_pod = -1;
static int hf_tlsdump_k8s_pod_uid = -1;
static int hf_tlsdump_k8s_node = -1;
static int hf_tlsdump_k8s_container = -1;
static int hf_tlsdump_k8s_container_id = -1;
static int hf_tlsdump_k8s_image = -1;
static int hf_tlsdump_k8s_peer_namespace = -1;
static int hf_tlsdump_k8s_peer_pod = -1;
static int hf_tlsdump_k8s_peer_service = -1;

/* The field of each comment key (tlsdump-meta.h), in display order. */
static int *const hf_tlsdump_k8s[TLSDUMP_META_COUNT] = {
	[TLSDUMP_META_NAMESPACE] = &hf_tlsdump_k8s_namespace,
	[TLSDUMP_META_POD] = &hf_tlsdump_k8s_pod,
	[TLSDUMP_META_POD_UID] = &hf_tlsdump_k8s_pod_uid,
	[TLSDUMP_META_NODE] = &hf_tlsdump_k8s_node,
	[TLSDUMP_META_CONTAINER] = &hf_tlsdump_k8s_container,
	[TLSDUMP_META_CONTAINER_ID] = &hf_tlsdump_k8s_container_id,
	[TLSDUMP_META_IMAGE] = &hf_tlsdump_k8s_image,
	[TLSDUMP_META_PEER_NAMESPACE] = &hf_tlsdump_k8s_peer_namespace,
	[TLSDUMP_META_PEER_POD] = &hf_tlsdump_k8s_peer_pod,
	[TLSDUMP_META_PEER_SERVICE] = &hf_tlsdump_k8s_peer_service,
};

static gint ett_tlsdump = -1;
static gint ett_tlsdump_flags = -1;
static gint ett_tlsdump_reassembled = -1;
static gint ett_tlsdump_tcp = -1;
static gint ett_tlsdump_k8s = -1;

static expert_field ei_tlsdump_truncated = EI_INIT;
static expert_field ei_tlsdump_bad_magic = EI_INIT;
static expert_field ei_tlsdump_bad_version = EI_INIT;
static expert_field ei_tlsdump_bad_hdr_len = EI_INIT;
static expert_field ei_tlsdump_bad_payload_len = EI_INIT;
static expert_field ei_tlsdump_bad_dir = EI_INIT;
static expert_field ei_tlsdump_gap = EI_INIT;
static expert_field ei_tlsdump_capped = EI_INIT;
static expert_field ei_tlsdump_offset = EI_INIT;
static expert_field ei_tlsdump_midstream = EI_INIT;
static expert_field ei_tlsdump_skipped = EI_INIT;
static expert_field ei_tlsdump_not_http = EI_INIT;
static expert_field ei_tlsdump_too_long = EI_INIT;
static expert_field ei_tlsdump_lost_request = EI_INIT;
static expert_field ei_tlsdump_h2_restart = EI_INIT;
static expert_field ei_tlsdump_no_plaintext = EI_INIT;

/* Fields of other protocols added hidden, looked up at handoff. */
static int hf_tcp_stream = -1;
static int hf_tcp_port = -1;
static int hf_tcp_srcport = -1;
static int hf_tcp_dstport = -1;
static int proto_tcp = -1;

static dissector_handle_t tlsdump_handle;
static dissector_handle_t tlsdump_post_handle;
static dissector_handle_t http_handle;
static dissector_handle_t http2_handle;
static heur_dissector_list_t tls_heur_list;

static const value_string tlsdump_dir_vals[] = {
	{ TLSDUMP_DIR_READ, "read" },
	{ TLSDUMP_DIR_WRITE, "write" },
	{ 0, NULL }
};

static const value_string tlsdump_role_vals[] = {
	{ TLSDUMP_ROLE_UNKNOWN, "unknown" },
	{ TLSDUMP_ROLE_CLIENT, "client" },
	{ TLSDUMP_ROLE_SERVER, "server" },
	{ 0, NULL }
};

static const value_string tlsdump_lib_vals[] = {
	{ TLSDUMP_LIB_UNKNOWN, "unknown" },
	{ TLSDUMP_LIB_OPENSSL, "OpenSSL" },
	{ TLSDUMP_LIB_BORINGSSL, "BoringSSL" },
	{ TLSDUMP_LIB_GO, "Go crypto/tls" },
	{ TLSDUMP_LIB_GNUTLS, "GnuTLS" },
	{ TLSDUMP_LIB_NSS, "NSS" },
	{ 0, NULL }
};

enum tlsdump_app {
	APP_UNKNOWN,
	APP_HTTP1,
	APP_HTTP2,
	APP_OTHER,
};

static const value_string tlsdump_app_vals[] = {
	{ APP_UNKNOWN, "not yet known" },
	{ APP_HTTP1, "HTTP/1.x" },
	{ APP_HTTP2, "HTTP/2" },
	{ APP_OTHER, "other" },
	{ 0, NULL }
};

/* What one direction's parser is doing. */
enum dir_mode {
	MODE_DETECT,	  /* protocol unknown, at a message boundary */
	MODE_RESYNC,	  /* after lost bytes: looking for a message boundary */
	MODE_FRAME,	  /* framing HTTP/1.x messages or HTTP/2 frames */
	MODE_OTHER,	  /* not HTTP: every frame to heuristics or data */
	MODE_UNTIL_CLOSE, /* HTTP/1.x body delimited by connection close */
};

enum unit_kind {
	UNIT_HTTP1,   /* one complete HTTP/1.x message */
	UNIT_HTTP2,   /* complete HTTP/2 frames (and/or the preface) */
	UNIT_OTHER,   /* unknown protocol: heuristics, else data */
	UNIT_BODY,    /* continuation of a body not given to http */
	UNIT_SKIPPED, /* bytes skipped: lost sync or not HTTP where HTTP was */
};

/* A range of plaintext handed to one sub-dissector call. */
typedef struct {
	guint8 kind;	   /* enum unit_kind */
	gboolean truncated; /* message cut at TLSDUMP_MAX_MESSAGE */
	const guint8 *data; /* reassembled copy, or NULL: this frame's payload at off */
	guint32 off;
	guint32 len;
	wmem_array_t *segments; /* guint32 frame numbers, for reassembled units */
} tlsdump_unit_t;

/* A request/response link shown on one frame. */
typedef struct {
	gboolean this_is_request; /* show response_in; else request_in and time */
	guint32 other;		  /* frame number of the other side, 0 if unknown */
	nstime_t delta;
	gboolean h2;
	guint32 stream_id;
	gboolean lost_request; /* a response to a request lost with missing bytes */
} tlsdump_pair_t;

/*
 * What the capture holds about one real TCP connection: kept with its TCP
 * conversation, filled on the first pass by the encrypted packets (the
 * postdissector) and by the plaintext frames that travelled on it.
 */
typedef struct {
	guint32 first_tls_frame;       /* first packet dissected as TLS, 0: none yet */
	guint32 plaintext_frames;      /* tlsdump frames of this connection */
	guint32 first_plaintext_frame; /* 0: none yet */
} tlsdump_tcp_info_t;

/* Everything the first pass decided about one frame. */
typedef struct _tlsdump_conn tlsdump_conn_t;

typedef struct {
	guint32 num;
	tlsdump_conn_t *conn;
	guint32 conv_id;
	guint8 app;	      /* enum tlsdump_app at this frame */
	wmem_array_t *units; /* tlsdump_unit_t */
	wmem_list_t *pairs;  /* tlsdump_pair_t */
	guint32 reassembled_in;
	gboolean carried;    /* some bytes are dissected in a later frame */
	guint64 lost;	      /* bytes lost before this frame */
	gboolean offset_jump;
	guint64 expected_offset;
	gboolean midstream;
	gboolean h2_restart;
	guint32 skipped;
	gboolean not_http;   /* bytes where HTTP was expected were not HTTP */
	gboolean has_tcp_stream;
	guint32 tcp_stream;
	gboolean synth_ports; /* no addresses: give sub-dissectors a direction */
	guint8 dir;	      /* record direction */
} tlsdump_frame_t;

/* A request waiting for its response. */
typedef struct {
	tlsdump_frame_t *frame;
	guint32 num;
	nstime_t ts;
	gboolean lost; /* stands for requests lost with missing bytes */
	gboolean head;
	gboolean connect;
	guint8 resp_dir; /* HTTP/2: record direction its response comes in */
	gboolean answered;
} tlsdump_req_t;

/* Bytes of one direction not yet handed to a sub-dissector. */
typedef struct {
	guint8 *data;
	guint32 len;
	guint32 cap;
	guint32 earlier_len; /* leading bytes from earlier frames */
	guint32 cur_start;   /* payload offset of the first byte from this frame */
	wmem_array_t *frames; /* tlsdump_frame_t * of earlier frames with bytes here */
} tlsdump_pending_t;

typedef struct {
	gboolean seen;
	guint64 next_offset;
	guint8 mode; /* enum dir_mode */
	tlsdump_pending_t pending;
	struct tlsdump_h1 *h1;
	struct tlsdump_h2 h2;
	gboolean over_long;	 /* current message passed TLSDUMP_MAX_MESSAGE */
	guint32 complete_len;	 /* HTTP/2: pending bytes that are whole frames */
	guint8 last_kind;	 /* enum tlsdump_h1_kind of the last message */
} tlsdump_dir_t;

struct _tlsdump_conn {
	guint32 conv_id;
	guint8 app;     /* enum tlsdump_app */
	gint req_dir;   /* record direction carrying requests, -1 unknown */
	tlsdump_dir_t dir[2];
	wmem_list_t *h1_queue;	/* tlsdump_req_t *, oldest first */
	wmem_map_t *h2_streams; /* stream id -> tlsdump_req_t * */
	dissector_handle_t app_handle; /* set by a heuristic dissector that wants more */
	gboolean has_tcp_stream;
	guint32 tcp_stream;
	tlsdump_tcp_info_t *tcp_info; /* of the real TCP connection, when known */
};

typedef struct {
	guint32 pid;
	guint64 conn_id;
} tlsdump_conn_key_t;

/* One parsed tlsdump header. */
typedef struct {
	guint8 version;
	guint8 dir;
	guint16 hdr_len;
	guint16 flags;
	guint8 role;
	guint8 lib;
	guint32 pid;
	guint32 tid;
	guint32 payload_len;
	guint64 conn_id;
	guint64 offset;
	guint64 gap;
	guint64 call_len;
	const guint8 *comm;
} tlsdump_hdr_t;

static wmem_map_t *tlsdump_conns;
static guint32 tlsdump_next_conv_id;
/* The file comes from tlsdump: it has a tlsdump frame or interface. */
static gboolean tlsdump_in_file;
static gboolean tlsdump_interfaces_checked;

/* State of the frame being analysed on the first pass. */
typedef struct {
	packet_info *pinfo;
	tlsdump_conn_t *conn;
	tlsdump_dir_t *dir;
	guint8 dirno;
	tlsdump_frame_t *frame;
} tlsdump_ctx_t;

static guint tlsdump_conn_hash(gconstpointer k)
{
	const tlsdump_conn_key_t *key = (const tlsdump_conn_key_t *)k;

	return g_int64_hash(&key->conn_id) ^ key->pid;
}

static gboolean tlsdump_conn_equal(gconstpointer a, gconstpointer b)
{
	const tlsdump_conn_key_t *ka = (const tlsdump_conn_key_t *)a;
	const tlsdump_conn_key_t *kb = (const tlsdump_conn_key_t *)b;

	return ka->pid == kb->pid && ka->conn_id == kb->conn_id;
}

static void tlsdump_init(void)
{
	tlsdump_next_conv_id = TLSDUMP_CONV_ID_BASE;
	tlsdump_in_file = FALSE;
	tlsdump_interfaces_checked = FALSE;
}

/* ---- pending bytes ---------------------------------------------------- */

static void pending_append(tlsdump_pending_t *p, const guint8 *data, guint32 len, gint64 rec_off)
{
	if (!len)
		return;
	if (p->len + len > p->cap) {
		guint32 cap = p->cap ? p->cap : 1024;

		while (cap < p->len + len)
			cap *= 2;
		p->data = (guint8 *)wmem_realloc(wmem_file_scope(), p->data, cap);
		p->cap = cap;
	}
	if (rec_off < 0) {
		/* Re-fed bytes from earlier frames always come before this frame's. */
		p->earlier_len += len;
	} else if (p->len == p->earlier_len) {
		p->cur_start = (guint32)rec_off;
	}
	memcpy(p->data + p->len, data, len);
	p->len += len;
}

static void pending_clear(tlsdump_pending_t *p)
{
	p->len = 0;
	p->earlier_len = 0;
	p->cur_start = 0;
	p->frames = NULL;
}

/* Frees a direction's pending bytes: after lost bytes they can never complete. */
static void pending_drop(tlsdump_pending_t *p)
{
	wmem_free(wmem_file_scope(), p->data);
	p->data = NULL;
	p->cap = 0;
	pending_clear(p);
}

static void add_pair(tlsdump_frame_t *f, gboolean this_is_request, guint32 other,
		     const nstime_t *delta, gboolean h2, guint32 stream_id, gboolean lost)
{
	tlsdump_pair_t *pr = wmem_new0(wmem_file_scope(), tlsdump_pair_t);

	pr->this_is_request = this_is_request;
	pr->other = other;
	if (delta)
		pr->delta = *delta;
	pr->h2 = h2;
	pr->stream_id = stream_id;
	pr->lost_request = lost;
	if (!f->pairs)
		f->pairs = wmem_list_new(wmem_file_scope());
	wmem_list_append(f->pairs, pr);
}

/* Links request @req (seen earlier) with the response dissected in this frame. */
static void pair_response(tlsdump_ctx_t *ctx, tlsdump_req_t *req, gboolean final, gboolean h2,
			  guint32 stream_id)
{
	nstime_t delta;

	if (req->lost) {
		add_pair(ctx->frame, FALSE, 0, NULL, h2, stream_id, TRUE);
		return;
	}
	nstime_delta(&delta, &ctx->pinfo->abs_ts, &req->ts);
	add_pair(ctx->frame, FALSE, req->num, &delta, h2, stream_id, FALSE);
	if (final)
		add_pair(req->frame, TRUE, ctx->pinfo->num, NULL, h2, stream_id, FALSE);
}

static tlsdump_req_t *new_request(tlsdump_ctx_t *ctx)
{
	tlsdump_req_t *req = wmem_new0(wmem_file_scope(), tlsdump_req_t);

	req->frame = ctx->frame;
	req->num = ctx->pinfo->num;
	req->ts = ctx->pinfo->abs_ts;
	return req;
}

/* ---- HTTP/1.x pairing --------------------------------------------------- */

static void h1_message_done(tlsdump_ctx_t *ctx, enum tlsdump_h1_kind kind, unsigned status,
			    const char *method)
{
	tlsdump_conn_t *conn = ctx->conn;

	ctx->dir->last_kind = (guint8)kind;
	if (kind == TLSDUMP_H1_REQUEST) {
		tlsdump_req_t *req = new_request(ctx);

		req->head = strcmp(method, "HEAD") == 0;
		req->connect = strcmp(method, "CONNECT") == 0;
		wmem_list_append(conn->h1_queue, req);
		if (conn->req_dir < 0)
			conn->req_dir = ctx->dirno;
	} else if (kind == TLSDUMP_H1_RESPONSE) {
		wmem_list_frame_t *head = wmem_list_head(conn->h1_queue);
		tlsdump_req_t *req = head ? (tlsdump_req_t *)wmem_list_frame_data(head) : NULL;
		/* 1xx but 101 precede the final response to the same request. */
		gboolean final = !(status >= 100 && status < 200 && status != 101);

		if (conn->req_dir < 0)
			conn->req_dir = !ctx->dirno;
		if (!req)
			return;
		pair_response(ctx, req, final, FALSE, 0);
		if (final)
			wmem_list_remove_frame(conn->h1_queue, head);
	}
}

/* Tells the response framer what the oldest unanswered request was. */
static void h1_prepare_response(tlsdump_ctx_t *ctx)
{
	wmem_list_frame_t *head = wmem_list_head(ctx->conn->h1_queue);
	tlsdump_req_t *req = head ? (tlsdump_req_t *)wmem_list_frame_data(head) : NULL;

	ctx->dir->h1->answers_head = req && req->head;
	ctx->dir->h1->answers_connect = req && req->connect;
}

/* ---- HTTP/2 pairing ----------------------------------------------------- */

static void h2_frames_done(tlsdump_ctx_t *ctx, const guint8 *buf, guint32 len)
{
	tlsdump_conn_t *conn = ctx->conn;
	guint32 pos = 0;

	if (len >= TLSDUMP_H2_PREFACE_LEN && memcmp(buf, TLSDUMP_H2_PREFACE, TLSDUMP_H2_PREFACE_LEN) == 0) {
		pos = TLSDUMP_H2_PREFACE_LEN;
		if (conn->req_dir < 0)
			conn->req_dir = ctx->dirno;
	}
	while (len - pos >= TLSDUMP_H2_FRAME_HDR_LEN) {
		struct tlsdump_h2_frame f;
		const guint8 *pl = buf + pos + TLSDUMP_H2_FRAME_HDR_LEN;
		tlsdump_req_t *req;

		tlsdump_h2_frame_header(buf + pos, &f);
		if (len - pos - TLSDUMP_H2_FRAME_HDR_LEN < f.length)
			break;
		pos += TLSDUMP_H2_FRAME_HDR_LEN + f.length;
		if (f.type == TLSDUMP_H2_HEADERS && f.stream_id) {
			req = (tlsdump_req_t *)wmem_map_lookup(conn->h2_streams, GUINT_TO_POINTER(f.stream_id));
			if (!req) {
				/* Only the requesting side opens a stream, when that side is known. */
				if (conn->req_dir >= 0 && conn->req_dir != ctx->dirno)
					continue;
				req = new_request(ctx);
				req->resp_dir = !ctx->dirno;
				wmem_map_insert(conn->h2_streams, GUINT_TO_POINTER(f.stream_id), req);
			} else if (!req->answered && req->resp_dir == ctx->dirno && req->num != ctx->pinfo->num) {
				gboolean final = !tlsdump_h2_headers_informational(pl, f.length, f.flags);

				pair_response(ctx, req, final, TRUE, f.stream_id);
				req->answered = final;
			}
		} else if (f.type == TLSDUMP_H2_PUSH_PROMISE && f.length >= 4) {
			guint32 pad = (f.flags & TLSDUMP_H2_FLAG_PADDED) ? 1 : 0;
			guint32 promised;

			if (f.length < pad + 4)
				continue;
			promised = pntoh32(pl + pad) & 0x7fffffffu;
			req = new_request(ctx);
			/* A pushed response comes from the side that promised it. */
			req->resp_dir = ctx->dirno;
			wmem_map_insert(conn->h2_streams, GUINT_TO_POINTER(promised), req);
		}
	}
}

/* ---- units -------------------------------------------------------------- */

static tlsdump_unit_t *add_unit(tlsdump_ctx_t *ctx, guint8 kind)
{
	tlsdump_unit_t u;

	memset(&u, 0, sizeof(u));
	u.kind = kind;
	if (!ctx->frame->units)
		ctx->frame->units = wmem_array_new(wmem_file_scope(), sizeof(tlsdump_unit_t));
	wmem_array_append(ctx->frame->units, &u, 1);
	return (tlsdump_unit_t *)wmem_array_index(ctx->frame->units,
						  wmem_array_get_count(ctx->frame->units) - 1);
}

/* Adds @len bytes of this frame's payload at @off as a unit of @kind. */
static void add_range_unit(tlsdump_ctx_t *ctx, guint8 kind, guint32 off, guint32 len)
{
	tlsdump_unit_t *u;

	if (!len)
		return;
	/* Merge with the previous unit when both are plain ranges of the same kind. */
	if (ctx->frame->units && (kind == UNIT_BODY || kind == UNIT_SKIPPED || kind == UNIT_OTHER)) {
		guint n = wmem_array_get_count(ctx->frame->units);
		tlsdump_unit_t *last = (tlsdump_unit_t *)wmem_array_index(ctx->frame->units, n - 1);

		if (last->kind == kind && !last->data && last->off + last->len == off) {
			last->len += len;
			return;
		}
	}
	u = add_unit(ctx, kind);
	u->off = off;
	u->len = len;
	if (kind == UNIT_SKIPPED)
		ctx->frame->skipped += len;
}

/*
 * Records in reassembled unit @u the frames its bytes came from, and tells
 * those frames where they were dissected.
 */
static void take_segments(tlsdump_ctx_t *ctx, tlsdump_unit_t *u, const tlsdump_pending_t *p,
			  gboolean with_current)
{
	guint32 me = ctx->pinfo->num;

	u->segments = wmem_array_new(wmem_file_scope(), sizeof(guint32));
	if (p->frames) {
		guint i, n = wmem_array_get_count(p->frames);

		for (i = 0; i < n; i++) {
			tlsdump_frame_t *f = *(tlsdump_frame_t **)wmem_array_index(p->frames, i);

			wmem_array_append_one(u->segments, f->num);
			if (!f->reassembled_in)
				f->reassembled_in = me;
		}
	}
	if (with_current)
		wmem_array_append_one(u->segments, me);
}

/*
 * Turns the first @upto pending bytes of the current direction into a unit of
 * @kind. Bytes that all came from this frame stay a range of its payload; any
 * from earlier frames make a reassembled copy.
 */
static void flush_pending(tlsdump_ctx_t *ctx, guint8 kind, guint32 upto, gboolean truncated)
{
	tlsdump_pending_t *p = &ctx->dir->pending;
	tlsdump_unit_t *u;
	guint32 rest;

	if (upto == 0)
		return;
	if (kind == UNIT_SKIPPED)
		ctx->frame->skipped += upto;
	if (p->earlier_len == 0) {
		u = add_unit(ctx, kind);
		u->off = p->cur_start;
		u->len = upto;
	} else {
		u = add_unit(ctx, kind);
		u->data = (const guint8 *)wmem_memdup(wmem_file_scope(), p->data, upto);
		u->len = upto;
		take_segments(ctx, u, p, upto > p->earlier_len);
	}
	u->truncated = truncated;

	rest = p->len - upto;
	if (rest)
		memmove(p->data, p->data + upto, rest);
	if (upto >= p->earlier_len) {
		p->cur_start += upto - p->earlier_len;
		p->earlier_len = 0;
	} else {
		p->earlier_len -= upto;
	}
	p->len = rest;
	if (p->earlier_len == 0)
		p->frames = NULL;
}

static void remember_frame(tlsdump_ctx_t *ctx, tlsdump_pending_t *p)
{
	if (!p->frames)
		p->frames = wmem_array_new(wmem_file_scope(), sizeof(tlsdump_frame_t *));
	wmem_array_append_one(p->frames, ctx->frame);
}

/* ---- the first pass ----------------------------------------------------- */

static void process_bytes(tlsdump_ctx_t *ctx, const guint8 *data, guint32 len, gint64 rec_off);

static void enter_app(tlsdump_conn_t *conn, tlsdump_dir_t *dir)
{
	switch (conn->app) {
	case APP_HTTP1:
		if (!dir->h1)
			dir->h1 = wmem_new0(wmem_file_scope(), struct tlsdump_h1);
		tlsdump_h1_reset(dir->h1);
		dir->mode = MODE_FRAME;
		break;
	case APP_HTTP2:
		tlsdump_h2_reset(&dir->h2, FALSE);
		dir->complete_len = 0;
		dir->mode = MODE_FRAME;
		break;
	case APP_OTHER:
		dir->mode = MODE_OTHER;
		break;
	default:
		dir->mode = MODE_DETECT;
		break;
	}
}

/* Re-feeds bytes taken out of the pending buffer (from earlier frames). */
static void refeed(tlsdump_ctx_t *ctx, const guint8 *data, guint32 len, guint32 earlier_len,
		   guint32 cur_start)
{
	if (earlier_len)
		process_bytes(ctx, data, earlier_len, -1);
	if (len > earlier_len)
		process_bytes(ctx, data + earlier_len, len - earlier_len, cur_start);
}

/* Detaches the pending bytes (into packet scope) so they can be fed again. */
static guint8 *take_pending(tlsdump_ctx_t *ctx, guint32 *len, guint32 *earlier_len,
			    guint32 *cur_start)
{
	tlsdump_pending_t *p = &ctx->dir->pending;
	guint8 *copy = (guint8 *)wmem_memdup(ctx->pinfo->pool, p->data, p->len);

	*len = p->len;
	*earlier_len = p->earlier_len;
	*cur_start = p->cur_start;
	p->len = p->earlier_len = p->cur_start = 0;
	return copy;
}

/* Switches the whole connection away from HTTP/1.x after a 101 or a CONNECT tunnel. */
static void h1_switch(tlsdump_ctx_t *ctx, gboolean to_h2)
{
	tlsdump_conn_t *conn = ctx->conn;
	int d;

	conn->app = to_h2 ? APP_HTTP2 : APP_OTHER;
	for (d = 0; d < 2; d++) {
		tlsdump_dir_t *dir = &conn->dir[d];

		if (dir != ctx->dir)
			pending_clear(&dir->pending);
		enter_app(conn, dir);
		/* After "Upgrade: h2c" the client opens HTTP/2 with the preface. */
		if (to_h2 && d == conn->req_dir)
			tlsdump_h2_reset(&dir->h2, TRUE);
	}
}

static void frame_h1(tlsdump_ctx_t *ctx, const guint8 *data, guint32 len, gint64 rec_off)
{
	tlsdump_dir_t *dir = ctx->dir;
	tlsdump_pending_t *p = &dir->pending;
	guint32 pos = 0;

	while (pos < len && dir->mode == MODE_FRAME) {
		enum tlsdump_h1_event ev;
		guint32 n;

		if (p->len == 0 && !dir->over_long && dir->h1->state == TLSDUMP_H1_ST_START) {
			/* Empty lines between messages belong to no message. */
			while (pos < len && (data[pos] == '\r' || data[pos] == '\n'))
				pos++;
			if (pos == len)
				break;
			h1_prepare_response(ctx);
		}
		n = (guint32)tlsdump_h1_feed(dir->h1, data + pos, len - pos, &ev);
		if (dir->over_long) {
			if (rec_off >= 0)
				add_range_unit(ctx, UNIT_BODY, (guint32)rec_off + pos, n);
		} else {
			pending_append(p, data + pos, n, rec_off >= 0 ? rec_off + pos : -1);
		}
		pos += n;

		if (ev == TLSDUMP_H1_EV_END || ev == TLSDUMP_H1_EV_UNTIL_CLOSE) {
			struct tlsdump_h1 *h = dir->h1;
			/* The framer has reset for the next message; these survive in done_*. */
			enum tlsdump_h1_kind kind = h->done_kind;
			unsigned status = h->done_status;

			if (!dir->over_long)
				flush_pending(ctx, UNIT_HTTP1, p->len, FALSE);
			dir->over_long = FALSE;
			h1_message_done(ctx, kind, status, h->done_method);
			if (ev == TLSDUMP_H1_EV_UNTIL_CLOSE) {
				dir->mode = MODE_UNTIL_CLOSE;
			} else if (h->done_switched) {
				/* The rest of this frame belongs to the new protocol. */
				h1_switch(ctx, status == 101 && h->done_upgrade_h2c);
				break;
			}
		} else if (ev == TLSDUMP_H1_EV_ERROR) {
			flush_pending(ctx, UNIT_SKIPPED, p->len, FALSE);
			dir->over_long = FALSE;
			dir->mode = MODE_RESYNC;
			ctx->frame->not_http = TRUE;
		} else if (!dir->over_long && p->len > TLSDUMP_MAX_MESSAGE) {
			flush_pending(ctx, UNIT_HTTP1, p->len, TRUE);
			dir->over_long = TRUE;
		}
	}
	if (pos < len)
		process_bytes(ctx, data + pos, len - pos, rec_off >= 0 ? rec_off + pos : -1);
}

static void frame_h2(tlsdump_ctx_t *ctx, const guint8 *data, guint32 len, gint64 rec_off)
{
	tlsdump_dir_t *dir = ctx->dir;
	tlsdump_pending_t *p = &dir->pending;
	guint32 pos = 0;

	while (pos < len && dir->mode == MODE_FRAME) {
		enum tlsdump_h2_event ev;
		guint32 n = (guint32)tlsdump_h2_feed(&dir->h2, data + pos, len - pos, &ev);

		pending_append(p, data + pos, n, rec_off >= 0 ? rec_off + pos : -1);
		pos += n;
		if (ev == TLSDUMP_H2_EV_END) {
			dir->complete_len = p->len;
		} else if (ev == TLSDUMP_H2_EV_ERROR) {
			guint32 whole = dir->complete_len;

			if (whole) {
				h2_frames_done(ctx, p->data, whole);
				flush_pending(ctx, UNIT_HTTP2, whole, FALSE);
			}
			flush_pending(ctx, UNIT_SKIPPED, p->len, FALSE);
			dir->complete_len = 0;
			dir->mode = MODE_RESYNC;
			ctx->frame->not_http = TRUE;
		}
	}
	if (pos < len)
		process_bytes(ctx, data + pos, len - pos, rec_off >= 0 ? rec_off + pos : -1);
}

/* Hands the whole HTTP/2 frames gathered so far to one unit. */
static void h2_flush_complete(tlsdump_ctx_t *ctx)
{
	tlsdump_dir_t *dir = ctx->dir;
	guint32 whole = dir->complete_len;

	if (!whole)
		return;
	h2_frames_done(ctx, dir->pending.data, whole);
	flush_pending(ctx, UNIT_HTTP2, whole, FALSE);
	dir->complete_len = 0;
}

static void detect(tlsdump_ctx_t *ctx, const guint8 *data, guint32 len, gint64 rec_off)
{
	tlsdump_conn_t *conn = ctx->conn;
	tlsdump_dir_t *dir = ctx->dir;
	tlsdump_pending_t *p = &dir->pending;
	const guint8 *buf = data;
	guint32 blen = len, plen, earlier, cur;
	guint8 *old;
	enum tlsdump_detect d;

	if (p->len) {
		guint8 *tmp = (guint8 *)wmem_alloc(ctx->pinfo->pool, p->len + len);

		memcpy(tmp, p->data, p->len);
		memcpy(tmp + p->len, data, len);
		buf = tmp;
		blen = p->len + len;
	}
	d = tlsdump_detect(buf, blen);
	if (d == TLSDUMP_DETECT_MORE) {
		pending_append(p, data, len, rec_off);
		return;
	}
	if (d == TLSDUMP_DETECT_HTTP1)
		conn->app = APP_HTTP1;
	else if (d == TLSDUMP_DETECT_HTTP2)
		conn->app = APP_HTTP2;
	else
		conn->app = APP_OTHER;
	enter_app(conn, dir);
	if (conn->app == APP_HTTP2 && blen >= TLSDUMP_H2_PREFACE_LEN &&
	    memcmp(buf, TLSDUMP_H2_PREFACE, TLSDUMP_H2_PREFACE_LEN) == 0)
		tlsdump_h2_reset(&dir->h2, TRUE);

	old = take_pending(ctx, &plen, &earlier, &cur);
	if (conn->app == APP_OTHER) {
		/* Undecided bytes of earlier frames go with this frame's to the heuristics. */
		if (plen) {
			tlsdump_unit_t *u = add_unit(ctx, UNIT_OTHER);

			u->data = (const guint8 *)wmem_memdup(wmem_file_scope(), buf, blen);
			u->len = blen;
			take_segments(ctx, u, p, TRUE);
			p->frames = NULL;
		} else if (rec_off >= 0) {
			add_range_unit(ctx, UNIT_OTHER, (guint32)rec_off, len);
		}
		return;
	}
	refeed(ctx, old, plen, earlier, cur);
	process_bytes(ctx, data, len, rec_off);
}

static void resync(tlsdump_ctx_t *ctx, const guint8 *data, guint32 len, gint64 rec_off)
{
	tlsdump_conn_t *conn = ctx->conn;
	tlsdump_dir_t *dir = ctx->dir;
	tlsdump_pending_t *p = &dir->pending;
	const guint8 *buf = data;
	guint32 blen = len, tail = p->len;
	size_t off1 = 0, off2 = 0, off;
	enum tlsdump_find r1 = TLSDUMP_FIND_MORE, r2 = TLSDUMP_FIND_MORE;
	gboolean found, is_h2 = FALSE;

	if (tail) {
		guint8 *tmp = (guint8 *)wmem_alloc(ctx->pinfo->pool, tail + len);

		memcpy(tmp, p->data, tail);
		memcpy(tmp + tail, data, len);
		buf = tmp;
		blen = tail + len;
	}
	if (conn->app != APP_HTTP2) {
		enum tlsdump_h1_kind want = TLSDUMP_H1_NONE;

		if (conn->req_dir >= 0)
			want = conn->req_dir == ctx->dirno ? TLSDUMP_H1_REQUEST : TLSDUMP_H1_RESPONSE;
		r1 = tlsdump_h1_find_start(buf, blen, want, &off1);
	} else {
		off1 = blen;
	}
	if (conn->app != APP_HTTP1)
		r2 = tlsdump_h2_find_start(buf, blen, &off2);
	else
		off2 = blen;

	if (r1 == TLSDUMP_FIND_FOUND && (r2 != TLSDUMP_FIND_FOUND || off1 <= off2)) {
		found = TRUE;
		off = off1;
	} else if (r2 == TLSDUMP_FIND_FOUND) {
		found = TRUE;
		is_h2 = TRUE;
		off = off2;
	} else {
		found = FALSE;
		off = MIN(off1, off2);
	}

	if (!found) {
		/* Keep what may still begin a message; the rest of this frame is skipped. */
		guint32 keep_from = (guint32)off;

		if (blen - keep_from > TLSDUMP_MAX_RESYNC_TAIL)
			keep_from = blen - TLSDUMP_MAX_RESYNC_TAIL;
		if (keep_from < tail) {
			/* Part of the old tail stays: drop only its head. */
			memmove(p->data, p->data + keep_from, tail - keep_from);
			p->len = p->earlier_len = tail - keep_from;
			if (rec_off >= 0)
				p->cur_start = (guint32)rec_off;
			pending_append(p, data, len, rec_off);
		} else {
			guint32 skip = keep_from - tail;

			pending_clear(p);
			if (rec_off >= 0)
				add_range_unit(ctx, UNIT_SKIPPED, (guint32)rec_off, skip);
			pending_append(p, data + skip, len - skip, rec_off >= 0 ? rec_off + skip : -1);
		}
		return;
	}

	/* A boundary at @off of tail + data. */
	if (conn->app == APP_UNKNOWN)
		conn->app = is_h2 ? APP_HTTP2 : APP_HTTP1;
	enter_app(conn, dir);
	if (is_h2 && blen - off >= TLSDUMP_H2_PREFACE_LEN &&
	    memcmp(buf + off, TLSDUMP_H2_PREFACE, TLSDUMP_H2_PREFACE_LEN) == 0)
		tlsdump_h2_reset(&dir->h2, TRUE);
	if (off < tail) {
		guint32 keep = tail - (guint32)off;
		guint8 *old = (guint8 *)wmem_memdup(ctx->pinfo->pool, p->data + off, keep);
		wmem_array_t *frames = p->frames;

		pending_clear(p);
		p->frames = frames; /* the kept bytes still come from those frames */
		process_bytes(ctx, old, keep, -1);
		process_bytes(ctx, data, len, rec_off);
	} else {
		guint32 skip = (guint32)off - tail;

		pending_clear(p);
		if (rec_off >= 0)
			add_range_unit(ctx, UNIT_SKIPPED, (guint32)rec_off, skip);
		process_bytes(ctx, data + skip, len - skip, rec_off >= 0 ? rec_off + skip : -1);
	}
}

/*
 * Feeds @len plaintext bytes of the current direction to whatever its mode
 * asks. @rec_off is their offset in this frame's payload, or -1 for bytes of
 * earlier frames being fed again.
 */
static void process_bytes(tlsdump_ctx_t *ctx, const guint8 *data, guint32 len, gint64 rec_off)
{
	tlsdump_dir_t *dir = ctx->dir;

	if (!len)
		return;
	switch (dir->mode) {
	case MODE_DETECT:
		if (ctx->conn->app != APP_UNKNOWN) {
			enter_app(ctx->conn, dir);
			/*
			 * The other direction found HTTP/2 first (a server sends its
			 * SETTINGS without waiting for the client's preface): this
			 * direction's first bytes may still be the client preface.
			 */
			if (ctx->conn->app == APP_HTTP2 &&
			    memcmp(data, TLSDUMP_H2_PREFACE, MIN(len, TLSDUMP_H2_PREFACE_LEN)) == 0)
				tlsdump_h2_reset(&dir->h2, TRUE);
			process_bytes(ctx, data, len, rec_off);
			return;
		}
		detect(ctx, data, len, rec_off);
		return;
	case MODE_RESYNC:
		resync(ctx, data, len, rec_off);
		return;
	case MODE_FRAME:
		if (ctx->conn->app == APP_HTTP1)
			frame_h1(ctx, data, len, rec_off);
		else
			frame_h2(ctx, data, len, rec_off);
		return;
	case MODE_OTHER:
		if (rec_off >= 0) {
			add_range_unit(ctx, UNIT_OTHER, (guint32)rec_off, len);
		} else {
			tlsdump_unit_t *u = add_unit(ctx, UNIT_OTHER);

			u->data = (const guint8 *)wmem_memdup(wmem_file_scope(), data, len);
			u->len = len;
		}
		return;
	case MODE_UNTIL_CLOSE:
		if (rec_off >= 0)
			add_range_unit(ctx, UNIT_BODY, (guint32)rec_off, len);
		return;
	}
}

/*
 * Bytes of this direction went missing before this frame: what was pending
 * can never complete, pairing must skip the messages that were lost, and the
 * parser restarts at the next message boundary.
 */
static void handle_discontinuity(tlsdump_ctx_t *ctx)
{
	tlsdump_conn_t *conn = ctx->conn;
	tlsdump_dir_t *dir = ctx->dir;
	gint kind = TLSDUMP_H1_NONE;

	pending_drop(&dir->pending);
	dir->over_long = FALSE;
	dir->complete_len = 0;

	if (conn->req_dir >= 0)
		kind = conn->req_dir == ctx->dirno ? TLSDUMP_H1_REQUEST : TLSDUMP_H1_RESPONSE;
	else
		kind = dir->last_kind;

	if (conn->app == APP_HTTP1 && dir->seen) {
		if (kind == TLSDUMP_H1_REQUEST) {
			/* At least one request was (partly) lost; its response will come. */
			tlsdump_req_t *req = new_request(ctx);

			req->lost = TRUE;
			wmem_list_append(conn->h1_queue, req);
		} else if (kind == TLSDUMP_H1_RESPONSE) {
			/* The oldest outstanding request's response was (partly) lost. */
			wmem_list_frame_t *head = wmem_list_head(conn->h1_queue);

			if (head)
				wmem_list_remove_frame(conn->h1_queue, head);
		}
	}

	switch (conn->app) {
	case APP_HTTP2:
		/*
		 * HPACK indexes the dynamic table from the newest entry, so a
		 * fresh decoder agrees with the sender on every entry added
		 * from here on and fails (rather than guesses) on older ones.
		 * A new conversation gives http2 fresh decoders for both
		 * directions.
		 */
		conn->conv_id = tlsdump_next_conv_id++;
		ctx->frame->h2_restart = TRUE;
		/* The other direction's framing is intact: only its decoder restarts. */
		dir->mode = MODE_RESYNC;
		break;
	case APP_OTHER:
	case APP_UNKNOWN:
		dir->mode = conn->app == APP_OTHER ? MODE_OTHER : MODE_RESYNC;
		break;
	case APP_HTTP1:
		if (dir->mode != MODE_UNTIL_CLOSE) {
			dir->mode = MODE_RESYNC;
			if (dir->h1)
				tlsdump_h1_reset(dir->h1);
		}
		break;
	}
}

static tlsdump_conn_t *get_conn(const tlsdump_hdr_t *hdr)
{
	tlsdump_conn_key_t key = { hdr->pid, hdr->conn_id };
	tlsdump_conn_t *conn = (tlsdump_conn_t *)wmem_map_lookup(tlsdump_conns, &key);

	if (!conn) {
		tlsdump_conn_key_t *k = wmem_new(wmem_file_scope(), tlsdump_conn_key_t);

		*k = key;
		conn = wmem_new0(wmem_file_scope(), tlsdump_conn_t);
		conn->conv_id = tlsdump_next_conv_id++;
		conn->req_dir = -1;
		conn->h1_queue = wmem_list_new(wmem_file_scope());
		conn->h2_streams = wmem_map_new(wmem_file_scope(), g_direct_hash, g_direct_equal);
		wmem_map_insert(tlsdump_conns, k, conn);
	}
	/* The role says which side sends requests; content decides when it is unknown. */
	if (conn->req_dir < 0 && hdr->role == TLSDUMP_ROLE_CLIENT)
		conn->req_dir = TLSDUMP_DIR_WRITE;
	else if (conn->req_dir < 0 && hdr->role == TLSDUMP_ROLE_SERVER)
		conn->req_dir = TLSDUMP_DIR_READ;
	return conn;
}

static tlsdump_tcp_info_t *tcp_info_get(conversation_t *conv, gboolean create)
{
	tlsdump_tcp_info_t *info =
		(tlsdump_tcp_info_t *)conversation_get_proto_data(conv, proto_tlsdump);

	if (!info && create) {
		info = wmem_new0(wmem_file_scope(), tlsdump_tcp_info_t);
		conversation_add_proto_data(conv, proto_tlsdump, info);
	}
	return info;
}

/* Counts a plaintext frame (number @num) on the TCP connection of @info. */
static void tcp_info_count_plaintext(tlsdump_tcp_info_t *info, guint32 num)
{
	if (!info->plaintext_frames++)
		info->first_plaintext_frame = num;
}

/* Finds (or starts) the real TCP conversation of the frame's addresses. */
static void find_tcp_stream(packet_info *pinfo, tlsdump_conn_t *conn)
{
	conversation_t *conv;
	struct tcp_analysis *tcpd;

	if (conn->has_tcp_stream || pinfo->ptype != PT_TCP || pinfo->src.type == AT_NONE ||
	    pinfo->dst.type == AT_NONE)
		return;
	conv = find_conversation(pinfo->num, &pinfo->src, &pinfo->dst, CONVERSATION_TCP,
				 pinfo->srcport, pinfo->destport, 0);
	if (!conv)
		conv = conversation_new(pinfo->num, &pinfo->src, &pinfo->dst, CONVERSATION_TCP,
					pinfo->srcport, pinfo->destport, 0);
	tcpd = get_tcp_conversation_data(conv, pinfo);
	if (tcpd) {
		conn->has_tcp_stream = TRUE;
		conn->tcp_stream = tcpd->stream;
		conn->tcp_info = tcp_info_get(conv, TRUE);
	}
}

static tlsdump_frame_t *analyse(packet_info *pinfo, const tlsdump_hdr_t *hdr,
				const guint8 *payload)
{
	tlsdump_frame_t *frame = wmem_new0(wmem_file_scope(), tlsdump_frame_t);
	tlsdump_ctx_t ctx;
	tlsdump_conn_t *conn = get_conn(hdr);
	tlsdump_dir_t *dir = &conn->dir[hdr->dir];
	guint64 expected = dir->seen ? dir->next_offset + hdr->gap : hdr->gap;
	gboolean discontinuity = FALSE;

	frame->num = pinfo->num;
	frame->conn = conn;
	frame->dir = hdr->dir;

	ctx.pinfo = pinfo;
	ctx.conn = conn;
	ctx.dir = dir;
	ctx.dirno = hdr->dir;
	ctx.frame = frame;

	find_tcp_stream(pinfo, conn);
	frame->has_tcp_stream = conn->has_tcp_stream;
	frame->tcp_stream = conn->tcp_stream;
	tlsdump_in_file = TRUE;
	if (conn->tcp_info)
		tcp_info_count_plaintext(conn->tcp_info, pinfo->num);

	frame->lost = hdr->gap;
	if (!dir->seen && hdr->offset > hdr->gap) {
		/* The capture began after this direction had carried data. */
		frame->midstream = TRUE;
		discontinuity = TRUE;
	} else if (hdr->offset != expected) {
		frame->offset_jump = TRUE;
		frame->expected_offset = expected;
		if (hdr->offset > expected)
			frame->lost += hdr->offset - expected;
		discontinuity = TRUE;
	}
	if (frame->lost)
		discontinuity = TRUE;

	/* The whole payload and the earlier frames waiting with it are the new pending state. */
	if (dir->pending.len)
		dir->pending.earlier_len = dir->pending.len;
	if (discontinuity) {
		if (!dir->seen && conn->app == APP_UNKNOWN)
			dir->mode = MODE_RESYNC;
		else
			handle_discontinuity(&ctx);
	}
	dir->seen = TRUE;
	dir->next_offset = hdr->offset + hdr->payload_len;

	process_bytes(&ctx, payload, hdr->payload_len, 0);
	if (dir->mode == MODE_FRAME && conn->app == APP_HTTP2)
		h2_flush_complete(&ctx);

	/* Bytes of this frame still waiting: they will be dissected later. */
	if (dir->pending.len > dir->pending.earlier_len) {
		frame->carried = TRUE;
		remember_frame(&ctx, &dir->pending);
	}
	frame->conv_id = conn->conv_id;
	frame->app = conn->app;
	frame->synth_ports = pinfo->src.type == AT_NONE && pinfo->dst.type == AT_NONE;
	return frame;
}

/* ---- header ------------------------------------------------------------- */

static int * const tlsdump_flag_fields[] = {
	&hf_tlsdump_flags_gap,
	&hf_tlsdump_flags_capped,
	&hf_tlsdump_flags_no_tuple,
	&hf_tlsdump_flags_call_start,
	&hf_tlsdump_flags_call_end,
	NULL
};

/*
 * Adds the tlsdump header to @tree and fills @hdr. Returns FALSE, with an
 * expert info saying why, when the frame must be rejected
 * (docs/record-format.md: magic, version, header length, payload length).
 * Reads only bytes it has checked are there, so a short frame never throws.
 */
static gboolean dissect_header(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree,
			       proto_item *ti, tlsdump_hdr_t *hdr)
{
	guint32 avail = tvb_captured_length(tvb);
	guint32 v;
	proto_item *it;

	memset(hdr, 0, sizeof(*hdr));
	if (avail < TLSDUMP_OFF_FLAGS || tvb_memeql(tvb, 0, (const guint8 *)TLSDUMP_RECORD_MAGIC, 4) != 0) {
		if (avail >= 4 && tvb_memeql(tvb, 0, (const guint8 *)TLSDUMP_RECORD_MAGIC, 4) != 0) {
			it = proto_tree_add_item(tree, hf_tlsdump_magic, tvb, 0, 4, ENC_ASCII);
			expert_add_info(pinfo, it, &ei_tlsdump_bad_magic);
		} else {
			expert_add_info_format(pinfo, ti, &ei_tlsdump_truncated,
					       "tlsdump header truncated: %u of %u bytes", avail,
					       TLSDUMP_RECORD_HDR_LEN);
		}
		return FALSE;
	}
	proto_tree_add_item(tree, hf_tlsdump_magic, tvb, TLSDUMP_OFF_MAGIC, 4, ENC_ASCII);
	it = proto_tree_add_item_ret_uint(tree, hf_tlsdump_version, tvb, TLSDUMP_OFF_VERSION, 1,
					  ENC_BIG_ENDIAN, &v);
	hdr->version = (guint8)v;
	if (hdr->version != TLSDUMP_RECORD_VERSION) {
		expert_add_info_format(pinfo, it, &ei_tlsdump_bad_version,
				       "Unknown tlsdump header version %u (this dissector reads %u)",
				       hdr->version, TLSDUMP_RECORD_VERSION);
		return FALSE;
	}
	if (avail < TLSDUMP_RECORD_HDR_LEN) {
		expert_add_info_format(pinfo, ti, &ei_tlsdump_truncated,
				       "tlsdump header truncated: %u of %u bytes", avail,
				       TLSDUMP_RECORD_HDR_LEN);
		return FALSE;
	}
	proto_tree_add_item_ret_uint(tree, hf_tlsdump_dir, tvb, TLSDUMP_OFF_DIRECTION, 1,
				     ENC_BIG_ENDIAN, &v);
	hdr->dir = (guint8)v;
	it = proto_tree_add_item_ret_uint(tree, hf_tlsdump_hdr_len, tvb, TLSDUMP_OFF_HDR_LEN, 2,
					  ENC_BIG_ENDIAN, &v);
	hdr->hdr_len = (guint16)v;
	if (hdr->hdr_len < TLSDUMP_RECORD_HDR_LEN || hdr->hdr_len > avail) {
		expert_add_info_format(pinfo, it, &ei_tlsdump_bad_hdr_len,
				       "Header length %u: must be at least %u and within the %u-byte frame",
				       hdr->hdr_len, TLSDUMP_RECORD_HDR_LEN, avail);
		return FALSE;
	}
	hdr->flags = tvb_get_ntohs(tvb, TLSDUMP_OFF_FLAGS);
	proto_tree_add_bitmask(tree, tvb, TLSDUMP_OFF_FLAGS, hf_tlsdump_flags, ett_tlsdump_flags,
			       tlsdump_flag_fields, ENC_BIG_ENDIAN);
	proto_tree_add_item_ret_uint(tree, hf_tlsdump_role, tvb, TLSDUMP_OFF_ROLE, 1, ENC_BIG_ENDIAN,
				     &v);
	hdr->role = (guint8)v;
	proto_tree_add_item_ret_uint(tree, hf_tlsdump_lib, tvb, TLSDUMP_OFF_LIBRARY, 1,
				     ENC_BIG_ENDIAN, &v);
	hdr->lib = (guint8)v;
	proto_tree_add_item_ret_uint(tree, hf_tlsdump_pid, tvb, TLSDUMP_OFF_PID, 4, ENC_BIG_ENDIAN,
				     &hdr->pid);
	proto_tree_add_item_ret_uint(tree, hf_tlsdump_tid, tvb, TLSDUMP_OFF_TID, 4, ENC_BIG_ENDIAN,
				     &hdr->tid);
	it = proto_tree_add_item_ret_uint(tree, hf_tlsdump_len, tvb, TLSDUMP_OFF_PAYLOAD_LEN, 4,
					  ENC_BIG_ENDIAN, &hdr->payload_len);
	proto_tree_add_item_ret_uint64(tree, hf_tlsdump_conn, tvb, TLSDUMP_OFF_CONN_ID, 8,
				       ENC_BIG_ENDIAN, &hdr->conn_id);
	proto_tree_add_item_ret_uint64(tree, hf_tlsdump_offset, tvb, TLSDUMP_OFF_STREAM_OFFSET, 8,
				       ENC_BIG_ENDIAN, &hdr->offset);
	proto_tree_add_item_ret_uint64(tree, hf_tlsdump_gap, tvb, TLSDUMP_OFF_GAP, 8, ENC_BIG_ENDIAN,
				       &hdr->gap);
	proto_tree_add_item_ret_uint64(tree, hf_tlsdump_call_len, tvb, TLSDUMP_OFF_CALL_LEN, 8,
				       ENC_BIG_ENDIAN, &hdr->call_len);
	proto_tree_add_item_ret_string(tree, hf_tlsdump_comm, tvb, TLSDUMP_OFF_COMM, TLSDUMP_COMM_LEN,
				       ENC_UTF_8, pinfo->pool, &hdr->comm);
	proto_tree_add_item(tree, hf_tlsdump_libname, tvb, TLSDUMP_OFF_LIBNAME, TLSDUMP_LIBNAME_LEN,
			    ENC_UTF_8);
	/* Fields appended by a later writer of the same version. */
	if (hdr->hdr_len > TLSDUMP_RECORD_HDR_LEN)
		proto_tree_add_item(tree, hf_tlsdump_hdr_extra, tvb, TLSDUMP_RECORD_HDR_LEN,
				    hdr->hdr_len - TLSDUMP_RECORD_HDR_LEN, ENC_NA);

	if (hdr->payload_len != avail - hdr->hdr_len ||
	    tvb_reported_length(tvb) != avail) {
		expert_add_info_format(pinfo, it, &ei_tlsdump_bad_payload_len,
				       "Payload length %u, but %u bytes follow the header",
				       hdr->payload_len, tvb_reported_length(tvb) - hdr->hdr_len);
		return FALSE;
	}
	if (hdr->dir > TLSDUMP_DIR_WRITE) {
		expert_add_info_format(pinfo, ti, &ei_tlsdump_bad_dir, "Unknown direction %u",
				       hdr->dir);
		return FALSE;
	}
	proto_item_append_text(ti, ", %s (pid %u, tid %u), conn %" PRIu64 ", %s, %s",
			       hdr->comm, hdr->pid, hdr->tid, hdr->conn_id,
			       val_to_str_const(hdr->dir, tlsdump_dir_vals, "?"),
			       val_to_str_const(hdr->role, tlsdump_role_vals, "unknown"));
	return TRUE;
}

/* ---- display (every pass) ----------------------------------------------- */

static void call_sub(dissector_handle_t handle, tvbuff_t *tvb, packet_info *pinfo,
		     proto_tree *tree)
{
	/* Units are complete: a sub-dissector must not ask for more. */
	pinfo->can_desegment = 0;
	pinfo->desegment_offset = 0;
	pinfo->desegment_len = 0;
	TRY {
		call_dissector(handle, tvb, pinfo, tree);
	}
	CATCH_NONFATAL_ERRORS {
		show_exception(tvb, pinfo, tree, EXCEPT_CODE, GET_MESSAGE);
	}
	ENDTRY;
}

/*
 * HTTP/1.x warns of plain HTTP on TCP port 443 unless a "tls" layer sits
 * below it. This plaintext did come out of TLS, so the port type is hidden
 * for the call: the warning would be false, and the plaintext's conversation
 * is not found by ports anyway.
 */
static void call_http(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree)
{
	port_type saved = pinfo->ptype;

	pinfo->ptype = PT_NONE;
	call_sub(http_handle, tvb, pinfo, tree);
	pinfo->ptype = saved;
}

static void call_other(tlsdump_conn_t *conn, tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree)
{
	if (conn->app_handle) {
		call_sub(conn->app_handle, tvb, pinfo, tree);
		return;
	}
#if WIRESHARK_VERSION_MAJOR == 4 && WIRESHARK_VERSION_MINOR < 2
	/*
	 * The "tls" heuristic list holds the dissectors that recognise
	 * application data inside TLS; in 4.0 and 4.1 they take a pointer
	 * to the handle to use from then on.
	 */
	if (tls_heur_list) {
		heur_dtbl_entry_t *hdtbl_entry;
		dissector_handle_t app_handle = NULL;
		volatile gboolean found = FALSE;

		TRY {
			found = dissector_try_heuristic(tls_heur_list, tvb, pinfo, tree, &hdtbl_entry,
							&app_handle);
		}
		CATCH_NONFATAL_ERRORS {
			show_exception(tvb, pinfo, tree, EXCEPT_CODE, GET_MESSAGE);
			found = TRUE;
		}
		ENDTRY;
		if (found) {
			if (app_handle && !PINFO_FD_VISITED(pinfo))
				conn->app_handle = app_handle;
			return;
		}
	}
#endif
	col_append_sep_fstr(pinfo->cinfo, COL_INFO, " ", "[%u bytes of unrecognised plaintext]",
			    tvb_reported_length(tvb));
	call_data_dissector(tvb, pinfo, tree);
}

static void add_reassembly_tree(tvbuff_t *tvb, proto_tree *tree, const tlsdump_unit_t *u)
{
	proto_item *it;
	proto_tree *rt;
	guint i, n;

	it = proto_tree_add_uint(tree, hf_tlsdump_reassembled_len, tvb, 0, u->len, u->len);
	proto_item_set_generated(it);
	rt = proto_item_add_subtree(it, ett_tlsdump_reassembled);
	n = wmem_array_get_count(u->segments);
	for (i = 0; i < n; i++) {
		it = proto_tree_add_uint(rt, hf_tlsdump_segment, tvb, 0, 0,
					 *(guint32 *)wmem_array_index(u->segments, i));
		proto_item_set_generated(it);
	}
}

static void dissect_units(tvbuff_t *payload_tvb, packet_info *pinfo, proto_tree *root,
			  proto_item *ti, proto_tree *tt, const tlsdump_frame_t *frame)
{
	guint i, n = frame->units ? wmem_array_get_count(frame->units) : 0;
	guint32 saved_srcport = pinfo->srcport, saved_destport = pinfo->destport;
	gboolean write = frame->dir == TLSDUMP_DIR_WRITE;

	if (!n)
		return;
	/*
	 * The plaintext's own conversation: http and http2 keep their state
	 * (HPACK tables, pending requests) there, apart from any decrypted
	 * copy of the same TCP connection.
	 */
	conversation_set_elements_by_id(pinfo, CONVERSATION_LOG, frame->conv_id);
	/* Without addresses, ports are all http2 has to tell the two directions apart. */
	if (frame->synth_ports) {
		pinfo->srcport = write ? 1 : 2;
		pinfo->destport = write ? 2 : 1;
	}
	for (i = 0; i < n; i++) {
		const tlsdump_unit_t *u = (const tlsdump_unit_t *)wmem_array_index(frame->units, i);
		tvbuff_t *ut;

		if (u->data) {
			ut = tvb_new_child_real_data(payload_tvb, u->data, u->len, u->len);
			add_new_data_source(pinfo, ut, "Reassembled plaintext");
			if (u->segments)
				add_reassembly_tree(ut, tt, u);
		} else {
			ut = tvb_new_subset_length(payload_tvb, u->off, u->len);
		}
		/* Several messages in one frame: keep each one's Info text. */
		if (i)
			col_set_fence(pinfo->cinfo, COL_INFO);
		if (u->truncated)
			expert_add_info_format(pinfo, ti, &ei_tlsdump_too_long,
					       "Message larger than %u bytes: dissected truncated",
					       TLSDUMP_MAX_MESSAGE);
		switch (u->kind) {
		case UNIT_HTTP1:
			call_http(ut, pinfo, root);
			break;
		case UNIT_HTTP2:
			call_sub(http2_handle, ut, pinfo, root);
			break;
		case UNIT_OTHER:
			call_other(frame->conn, ut, pinfo, root);
			break;
		case UNIT_BODY:
			col_append_sep_fstr(pinfo->cinfo, COL_INFO, " ",
					    "[Continuation of an HTTP body, %u bytes]", u->len);
			call_data_dissector(ut, pinfo, root);
			break;
		case UNIT_SKIPPED:
			col_append_sep_fstr(pinfo->cinfo, COL_INFO, " ",
					    "[%u bytes skipped to the next message boundary]", u->len);
			call_data_dissector(ut, pinfo, root);
			break;
		}
	}
	pinfo->srcport = saved_srcport;
	pinfo->destport = saved_destport;
}

static void add_analysis(tvbuff_t *tvb, packet_info *pinfo, proto_item *ti, proto_tree *tt,
			 const tlsdump_hdr_t *hdr, const tlsdump_frame_t *frame)
{
	proto_item *it;
	wmem_list_frame_t *lf;

	it = proto_tree_add_uint(tt, hf_tlsdump_app, tvb, 0, 0, frame->app);
	proto_item_set_generated(it);
	if (frame->has_tcp_stream) {
		it = proto_tree_add_uint(tt, hf_tlsdump_tcp_stream, tvb, 0, 0, frame->tcp_stream);
		proto_item_set_generated(it);
		/* So "tcp.stream == N" also selects this connection's plaintext. */
		if (hf_tcp_stream > 0) {
			it = proto_tree_add_uint(tt, hf_tcp_stream, tvb, 0, 0, frame->tcp_stream);
			proto_item_set_hidden(it);
		}
		if (frame->conn->tcp_info && frame->conn->tcp_info->first_tls_frame) {
			/* A link to the encrypted packets (known on the first pass too). */
			it = proto_tree_add_uint(tt, hf_tlsdump_encrypted_in, tvb, 0, 0,
						 frame->conn->tcp_info->first_tls_frame);
			proto_item_set_generated(it);
		}
		if (hf_tcp_srcport > 0 && hf_tcp_dstport > 0 && hf_tcp_port > 0) {
			it = proto_tree_add_uint(tt, hf_tcp_srcport, tvb, 0, 0, pinfo->srcport);
			proto_item_set_hidden(it);
			it = proto_tree_add_uint(tt, hf_tcp_dstport, tvb, 0, 0, pinfo->destport);
			proto_item_set_hidden(it);
			it = proto_tree_add_uint(tt, hf_tcp_port, tvb, 0, 0, pinfo->srcport);
			proto_item_set_hidden(it);
			it = proto_tree_add_uint(tt, hf_tcp_port, tvb, 0, 0, pinfo->destport);
			proto_item_set_hidden(it);
		}
	}

	if (frame->lost) {
		expert_add_info_format(pinfo, ti, &ei_tlsdump_gap,
				       "%" PRIu64 " plaintext bytes lost before this frame", frame->lost);
		col_prepend_fstr(pinfo->cinfo, COL_INFO, "[%" PRIu64 " bytes lost] ", frame->lost);
	}
	if (frame->offset_jump)
		expert_add_info_format(pinfo, ti, &ei_tlsdump_offset,
				       "Stream offset %" PRIu64 " where %" PRIu64 " was expected",
				       hdr->offset, frame->expected_offset);
	if (frame->midstream)
		expert_add_info_format(pinfo, ti, &ei_tlsdump_midstream,
				       "Capture starts %" PRIu64 " bytes into this direction of the connection",
				       hdr->offset);
	if (hdr->flags & TLSDUMP_FLAG_CAPPED)
		expert_add_info(pinfo, ti, &ei_tlsdump_capped);
	if (frame->h2_restart)
		expert_add_info(pinfo, ti, &ei_tlsdump_h2_restart);
	if (frame->not_http)
		expert_add_info(pinfo, ti, &ei_tlsdump_not_http);
	if (frame->skipped) {
		it = proto_tree_add_uint(tt, hf_tlsdump_skipped, tvb, 0, 0, frame->skipped);
		proto_item_set_generated(it);
		expert_add_info_format(pinfo, it, &ei_tlsdump_skipped,
				       "%u bytes skipped while looking for the next message boundary",
				       frame->skipped);
	}
	if (frame->reassembled_in) {
		it = proto_tree_add_uint(tt, hf_tlsdump_reassembled_in, tvb, 0, 0,
					 frame->reassembled_in);
		proto_item_set_generated(it);
	}
	for (lf = frame->pairs ? wmem_list_head(frame->pairs) : NULL; lf; lf = wmem_list_frame_next(lf)) {
		const tlsdump_pair_t *pr = (const tlsdump_pair_t *)wmem_list_frame_data(lf);

		if (pr->h2) {
			it = proto_tree_add_uint(tt, hf_tlsdump_h2_streamid, tvb, 0, 0, pr->stream_id);
			proto_item_set_generated(it);
		}
		if (pr->lost_request) {
			expert_add_info(pinfo, ti, &ei_tlsdump_lost_request);
		} else if (pr->this_is_request) {
			it = proto_tree_add_uint(tt, hf_tlsdump_response_in, tvb, 0, 0, pr->other);
			proto_item_set_generated(it);
		} else {
			it = proto_tree_add_uint(tt, hf_tlsdump_request_in, tvb, 0, 0, pr->other);
			proto_item_set_generated(it);
			it = proto_tree_add_time(tt, hf_tlsdump_time, tvb, 0, 0, &pr->delta);
			proto_item_set_generated(it);
		}
	}
}

/* ---- Kubernetes metadata (every frame, from its comments) -------------- */

/*
 * The frame's pcapng block: the one edited in the GUI when its comments were
 * changed, else the one read from the file. NULL when there is none.
 */
static wtap_block_t frame_block(packet_info *pinfo)
{
	if (pinfo->fd->has_modified_block)
		return epan_get_modified_block(pinfo->epan, pinfo->fd);
	return pinfo->rec ? pinfo->rec->block : NULL;
}

/*
 * Whether @tree wants the Kubernetes fields: it is shown, or a filter, a
 * column or -T fields refers to one of them. Spares parsing every frame's
 * comments when nothing asks for them.
 */
static gboolean k8s_wanted(proto_tree *tree)
{
	guint i;

	for (i = 0; i < TLSDUMP_META_COUNT; i++)
		if (proto_field_is_referenced(tree, *hf_tlsdump_k8s[i]))
			return TRUE;
	return FALSE;
}

/* Appends "WHAT NS/NAME" (either may be NULL) to a summary, after @sep. */
static void append_k8s_name(wmem_strbuf_t *label, const char **sep, const char *what,
			    const char *ns, const char *name)
{
	wmem_strbuf_append_printf(label, "%s%s %s%s%s", *sep, what, ns ? ns : "",
				  ns && name ? "/" : "", name ? name : "");
	*sep = ", ";
}

/*
 * Adds a "Kubernetes" subtree to @tree with a field for each key of
 * tlsdump-meta.h the frame's comments carry (the first occurrence of a key
 * wins), once per dissection of a frame: the tlsdump dissector puts it in its
 * own tree, the postdissector on any other frame. Adds nothing when no key is
 * there, or when nothing wants the fields (k8s_wanted()).
 */
static void add_k8s(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree)
{
	struct tlsdump_meta m;
	const char *val[TLSDUMP_META_COUNT];
	wtap_block_t block;
	wmem_strbuf_t *label;
	proto_tree *st;
	proto_item *ti, *it;
	const char *sep = ": ";
	guint i, n, found = 0;

	if (!k8s_wanted(tree) ||
	    p_get_proto_data(pinfo->pool, pinfo, proto_tlsdump, TLSDUMP_PROTO_K8S_DONE))
		return;
	p_add_proto_data(pinfo->pool, pinfo, proto_tlsdump, TLSDUMP_PROTO_K8S_DONE,
			 GUINT_TO_POINTER(1));
	block = frame_block(pinfo);
	n = block ? wtap_block_count_option(block, OPT_COMMENT) : 0;
	if (!n)
		return;
	tlsdump_meta_init(&m);
	for (i = 0; i < n; i++) {
		char *comment = NULL;

		if (wtap_block_get_nth_string_option_value(block, OPT_COMMENT, i, &comment) ==
			    WTAP_OPTTYPE_SUCCESS && comment)
			found += tlsdump_meta_parse(&m, comment, strlen(comment));
	}
	if (!found)
		return;
	/* Comments are meant to be UTF-8, but nothing checked that: replace what is not. */
	for (i = 0; i < TLSDUMP_META_COUNT; i++)
		val[i] = m.v[i].ptr ? (const char *)get_utf_8_string(pinfo->pool,
								      (const guint8 *)m.v[i].ptr,
								      (gint)m.v[i].len)
				    : NULL;

	/* "Kubernetes: pod NS/POD, container C, peer NS/POD, service S" */
	label = wmem_strbuf_new(pinfo->pool, "Kubernetes");
	if (val[TLSDUMP_META_POD] || val[TLSDUMP_META_NAMESPACE])
		append_k8s_name(label, &sep, val[TLSDUMP_META_POD] ? "pod" : "namespace",
				val[TLSDUMP_META_NAMESPACE], val[TLSDUMP_META_POD]);
	if (val[TLSDUMP_META_CONTAINER])
		append_k8s_name(label, &sep, "container", NULL, val[TLSDUMP_META_CONTAINER]);
	if (val[TLSDUMP_META_PEER_POD] || val[TLSDUMP_META_PEER_NAMESPACE])
		append_k8s_name(label, &sep, val[TLSDUMP_META_PEER_POD] ? "peer" : "peer namespace",
				val[TLSDUMP_META_PEER_NAMESPACE], val[TLSDUMP_META_PEER_POD]);
	if (val[TLSDUMP_META_PEER_SERVICE])
		append_k8s_name(label, &sep, "service", NULL, val[TLSDUMP_META_PEER_SERVICE]);

	st = proto_tree_add_subtree(tree, tvb, 0, 0, ett_tlsdump_k8s, &ti,
				    wmem_strbuf_get_str(label));
	proto_item_set_generated(ti);
	for (i = 0; i < TLSDUMP_META_COUNT; i++) {
		if (!val[i])
			continue;
		it = proto_tree_add_string(st, *hf_tlsdump_k8s[i], tvb, 0, 0, val[i]);
		proto_item_set_generated(it);
	}
}

static int dissect_tlsdump(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data _U_)
{
	proto_item *ti;
	proto_tree *tt;
	tlsdump_hdr_t hdr;
	tlsdump_frame_t *frame;
	tvbuff_t *payload_tvb;
	gboolean header_ok;

	col_set_str(pinfo->cinfo, COL_PROTOCOL, "tlsdump");
	col_clear(pinfo->cinfo, COL_INFO);
	ti = proto_tree_add_item(tree, proto_tlsdump, tvb, 0, -1, ENC_NA);
	tt = proto_item_add_subtree(ti, ett_tlsdump);

	header_ok = dissect_header(tvb, pinfo, tt, ti, &hdr);
	add_k8s(tvb, pinfo, tt);
	if (!header_ok) {
		col_set_str(pinfo->cinfo, COL_INFO, "[Malformed tlsdump header]");
		return tvb_captured_length(tvb);
	}
	payload_tvb = tvb_new_subset_length(tvb, hdr.hdr_len, hdr.payload_len);
	if (hdr.payload_len)
		proto_tree_add_item(tt, hf_tlsdump_payload, tvb, hdr.hdr_len, hdr.payload_len, ENC_NA);

	frame = (tlsdump_frame_t *)p_get_proto_data(wmem_file_scope(), pinfo, proto_tlsdump, 0);
	if (!frame) {
		if (PINFO_FD_VISITED(pinfo))
			return tvb_captured_length(tvb);
		frame = analyse(pinfo, &hdr, tvb_get_ptr(payload_tvb, 0, hdr.payload_len));
		p_add_proto_data(wmem_file_scope(), pinfo, proto_tlsdump, 0, frame);
	}

	dissect_units(payload_tvb, pinfo, tree, ti, tt, frame);
	add_analysis(tvb, pinfo, ti, tt, &hdr, frame);
	if (!frame->units) {
		if (frame->carried)
			col_append_sep_str(pinfo->cinfo, COL_INFO, " ",
					   "[tlsdump segment of a reassembled PDU]");
		else if (!hdr.payload_len)
			col_append_sep_str(pinfo->cinfo, COL_INFO, " ", "[No plaintext]");
	}
	return tvb_captured_length(tvb);
}

/* ---- the encrypted packets' side ---------------------------------------- */

/*
 * Whether this file comes from tlsdump: it holds a tlsdump frame (seen so far:
 * the whole file from the second pass on) or an interface named "tlsdump"
 * (the plaintext interface, written before the first packet). Other captures
 * get no tlsdump fields on their TLS packets.
 */
static gboolean capture_from_tlsdump(packet_info *pinfo)
{
	guint32 i;

	if (tlsdump_in_file || tlsdump_interfaces_checked)
		return tlsdump_in_file;
	tlsdump_interfaces_checked = TRUE;
	for (i = 0; i < 64; i++) {
		const char *name = epan_get_interface_name(pinfo->epan, i);

		if (!name || strcmp(name, "unknown") == 0)
			break;
		if (strcmp(name, "tlsdump") == 0) {
			tlsdump_in_file = TRUE;
			break;
		}
	}
	return tlsdump_in_file;
}

/*
 * Whether the tlsdump dissector ran on this frame: "tlsdump" in its layers
 * other than the last one, which is this postdissector's own.
 */
static gboolean tlsdump_dissected(packet_info *pinfo)
{
	wmem_list_frame_t *lf, *last = wmem_list_tail(pinfo->layers);

	for (lf = wmem_list_head(pinfo->layers); lf && lf != last; lf = wmem_list_frame_next(lf))
		if (GPOINTER_TO_INT(wmem_list_frame_data(lf)) == proto_tlsdump)
			return TRUE;
	return FALSE;
}

/*
 * Postdissector, second part: on the packets of a real TCP connection, shows
 * whether the capture holds plaintext of it. A connection where TLS was seen
 * but no plaintext frame gets tlsdump.no_plaintext on all its packets: the
 * traffic tlsdump did not decrypt (a library or a process not captured).
 *
 * The first pass records which packet was the connection's first TLS one;
 * the plaintext frames count themselves in analyse(). A connection's handshake
 * comes before its first plaintext frame, so the answer is final only from
 * the second pass on (tshark -2, the GUI once the file is loaded).
 */
static int dissect_tlsdump_tcp(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree,
			       void *data _U_)
{
	conversation_t *conv;
	tlsdump_tcp_info_t *info;
	proto_item *ti, *it;
	proto_tree *st;
	gboolean is_tls;

	if (pinfo->ptype != PT_TCP || proto_tcp <= 0)
		return 0;
	if (!proto_is_frame_protocol(pinfo->layers, "tcp")) {
		/*
		 * Plaintext labelled for another dissector (tlsdump --label-http)
		 * counts for its connection like a tlsdump frame.
		 */
		if (!PINFO_FD_VISITED(pinfo) && pinfo->src.type != AT_NONE &&
		    proto_is_frame_protocol(pinfo->layers, "exported_pdu") &&
		    !tlsdump_dissected(pinfo)) {
			conv = find_conversation(pinfo->num, &pinfo->src, &pinfo->dst,
						 CONVERSATION_TCP, pinfo->srcport, pinfo->destport, 0);
			if (conv && conversation_get_proto_data(conv, proto_tcp)) {
				tcp_info_count_plaintext(tcp_info_get(conv, TRUE), pinfo->num);
			}
		}
		return 0;
	}
	conv = find_conversation(pinfo->num, &pinfo->src, &pinfo->dst, CONVERSATION_TCP,
				 pinfo->srcport, pinfo->destport, 0);
	/* Only the TCP dissector's own conversations: those have its data. */
	if (!conv || !conversation_get_proto_data(conv, proto_tcp))
		return 0;
	is_tls = proto_is_frame_protocol(pinfo->layers, "tls");
	info = tcp_info_get(conv, is_tls && !PINFO_FD_VISITED(pinfo));
	if (!info)
		return 0;
	if (is_tls && !info->first_tls_frame && !PINFO_FD_VISITED(pinfo))
		info->first_tls_frame = pinfo->num;
	if ((!info->first_tls_frame && !info->plaintext_frames) || !capture_from_tlsdump(pinfo))
		return 0;
	/* "No plaintext" is only known once every frame was seen: say nothing
	 * on the first pass rather than something a later frame disproves. */
	if (!info->plaintext_frames && !PINFO_FD_VISITED(pinfo))
		return 0;

	if (info->plaintext_frames) {
		st = proto_tree_add_subtree_format(tree, tvb, 0, 0, ett_tlsdump_tcp, &ti,
						   "tlsdump: %u plaintext frame%s of this connection, first in frame %u",
						   info->plaintext_frames,
						   info->plaintext_frames == 1 ? "" : "s",
						   info->first_plaintext_frame);
	} else {
		st = proto_tree_add_subtree(tree, tvb, 0, 0, ett_tlsdump_tcp, &ti,
					    "tlsdump: no plaintext of this TLS connection in the capture");
		it = proto_tree_add_item(st, hf_tlsdump_no_plaintext, tvb, 0, 0, ENC_NA);
		proto_item_set_generated(it);
		if (pinfo->num == info->first_tls_frame)
			expert_add_info(pinfo, it, &ei_tlsdump_no_plaintext);
	}
	proto_item_set_generated(ti);
	it = proto_tree_add_uint(st, hf_tlsdump_plaintext_frames, tvb, 0, 0, info->plaintext_frames);
	proto_item_set_generated(it);
	if (info->first_plaintext_frame) {
		it = proto_tree_add_uint(st, hf_tlsdump_plaintext_in, tvb, 0, 0,
					 info->first_plaintext_frame);
		proto_item_set_generated(it);
	}
	return tvb_captured_length(tvb);
}

/*
 * The postdissector, called on every frame: the Kubernetes fields of frames
 * the tlsdump dissector did not see (the original packets, plaintext labelled
 * for http), then the encrypted packets' link to their plaintext.
 */
static int dissect_tlsdump_post(tvbuff_t *tvb, packet_info *pinfo, proto_tree *tree, void *data)
{
	add_k8s(tvb, pinfo, tree);
	return dissect_tlsdump_tcp(tvb, pinfo, tree, data);
}

/* ---- registration ------------------------------------------------------- */

void proto_register_tlsdump(void)
{
	static hf_register_info hf[] = {
		{ &hf_tlsdump_magic,
		  { "Magic", "tlsdump.magic", FT_STRING, BASE_NONE, NULL, 0x0,
		    "Record magic, \"TLSD\"", HFILL } },
		{ &hf_tlsdump_version,
		  { "Version", "tlsdump.version", FT_UINT8, BASE_DEC, NULL, 0x0,
		    "Record format version", HFILL } },
		{ &hf_tlsdump_dir,
		  { "Direction", "tlsdump.dir", FT_UINT8, BASE_DEC, VALS(tlsdump_dir_vals), 0x0,
		    "Whether the process read or wrote this plaintext", HFILL } },
		{ &hf_tlsdump_hdr_len,
		  { "Header length", "tlsdump.hdr_len", FT_UINT16, BASE_DEC, NULL, 0x0,
		    "Bytes from the magic to the first plaintext byte", HFILL } },
		{ &hf_tlsdump_flags,
		  { "Flags", "tlsdump.flags", FT_UINT16, BASE_HEX, NULL, 0x0, NULL, HFILL } },
		{ &hf_tlsdump_flags_gap,
		  { "Gap", "tlsdump.flags.gap", FT_BOOLEAN, 16, NULL, TLSDUMP_FLAG_GAP,
		    "Bytes were lost before this frame", HFILL } },
		{ &hf_tlsdump_flags_capped,
		  { "Capped", "tlsdump.flags.capped", FT_BOOLEAN, 16, NULL, TLSDUMP_FLAG_CAPPED,
		    "The per-call byte cap cut this TLS call", HFILL } },
		{ &hf_tlsdump_flags_no_tuple,
		  { "No tuple", "tlsdump.flags.no_tuple", FT_BOOLEAN, 16, NULL, TLSDUMP_FLAG_NO_TUPLE,
		    "The connection's addresses are unknown", HFILL } },
		{ &hf_tlsdump_flags_call_start,
		  { "Call start", "tlsdump.flags.call_start", FT_BOOLEAN, 16, NULL,
		    TLSDUMP_FLAG_CALL_START, "First frame of a TLS call", HFILL } },
		{ &hf_tlsdump_flags_call_end,
		  { "Call end", "tlsdump.flags.call_end", FT_BOOLEAN, 16, NULL, TLSDUMP_FLAG_CALL_END,
		    "Last frame of a TLS call", HFILL } },
		{ &hf_tlsdump_role,
		  { "Role", "tlsdump.role", FT_UINT8, BASE_DEC, VALS(tlsdump_role_vals), 0x0,
		    "Whether the process is the TLS client or server", HFILL } },
		{ &hf_tlsdump_lib,
		  { "Library", "tlsdump.lib", FT_UINT8, BASE_DEC, VALS(tlsdump_lib_vals), 0x0,
		    "TLS library the plaintext was taken from", HFILL } },
		{ &hf_tlsdump_pid,
		  { "Process ID", "tlsdump.pid", FT_UINT32, BASE_DEC, NULL, 0x0,
		    "Process (thread group) id on the capturing host", HFILL } },
		{ &hf_tlsdump_tid,
		  { "Thread ID", "tlsdump.tid", FT_UINT32, BASE_DEC, NULL, 0x0, NULL, HFILL } },
		{ &hf_tlsdump_len,
		  { "Payload length", "tlsdump.len", FT_UINT32, BASE_DEC, NULL, 0x0,
		    "Plaintext bytes in this frame", HFILL } },
		{ &hf_tlsdump_conn,
		  { "Connection", "tlsdump.conn", FT_UINT64, BASE_DEC, NULL, 0x0,
		    "Connection id, unique within the capture", HFILL } },
		{ &hf_tlsdump_offset,
		  { "Stream offset", "tlsdump.offset", FT_UINT64, BASE_DEC, NULL, 0x0,
		    "Offset of this frame's first byte in its direction of the connection", HFILL } },
		{ &hf_tlsdump_gap,
		  { "Gap", "tlsdump.gap", FT_UINT64, BASE_DEC, NULL, 0x0,
		    "Plaintext bytes of this direction lost just before this frame", HFILL } },
		{ &hf_tlsdump_call_len,
		  { "Call length", "tlsdump.call_len", FT_UINT64, BASE_DEC, NULL, 0x0,
		    "Bytes the TLS call returned in total", HFILL } },
		{ &hf_tlsdump_comm,
		  { "Command", "tlsdump.comm", FT_STRINGZPAD, BASE_NONE, NULL, 0x0,
		    "Process name", HFILL } },
		{ &hf_tlsdump_libname,
		  { "Library name", "tlsdump.libname", FT_STRINGZPAD, BASE_NONE, NULL, 0x0,
		    "Library file and version", HFILL } },
		{ &hf_tlsdump_hdr_extra,
		  { "Unknown header fields", "tlsdump.hdr_extra", FT_BYTES, BASE_NONE, NULL, 0x0,
		    "Header bytes past the fields this dissector knows", HFILL } },
		{ &hf_tlsdump_payload,
		  { "Plaintext", "tlsdump.payload", FT_BYTES, BASE_NONE, NULL, 0x0,
		    "The plaintext bytes of this frame", HFILL } },
		{ &hf_tlsdump_tcp_stream,
		  { "TCP stream index", "tlsdump.tcp_stream", FT_UINT32, BASE_DEC, NULL, 0x0,
		    "tcp.stream of the connection this plaintext travelled on", HFILL } },
		{ &hf_tlsdump_app,
		  { "Application protocol", "tlsdump.app", FT_UINT8, BASE_DEC, VALS(tlsdump_app_vals),
		    0x0, "Protocol recognised in the plaintext of this connection", HFILL } },
		{ &hf_tlsdump_response_in,
		  { "Response in frame", "tlsdump.response_in", FT_FRAMENUM, BASE_NONE,
		    FRAMENUM_TYPE(FT_FRAMENUM_RESPONSE), 0x0,
		    "The response to the request in this frame", HFILL } },
		{ &hf_tlsdump_request_in,
		  { "Request in frame", "tlsdump.request_in", FT_FRAMENUM, BASE_NONE,
		    FRAMENUM_TYPE(FT_FRAMENUM_REQUEST), 0x0,
		    "The request this frame's response answers", HFILL } },
		{ &hf_tlsdump_time,
		  { "Time since request", "tlsdump.time", FT_RELATIVE_TIME, BASE_NONE, NULL, 0x0,
		    "Time from the request's frame to this response's frame", HFILL } },
		{ &hf_tlsdump_h2_streamid,
		  { "HTTP/2 stream", "tlsdump.streamid", FT_UINT32, BASE_DEC, NULL, 0x0,
		    "HTTP/2 stream of the request/response pair", HFILL } },
		{ &hf_tlsdump_reassembled_in,
		  { "Reassembled in frame", "tlsdump.reassembled_in", FT_FRAMENUM, BASE_NONE, NULL,
		    0x0, "Frame where this frame's remaining bytes were dissected", HFILL } },
		{ &hf_tlsdump_reassembled_len,
		  { "Reassembled length", "tlsdump.reassembled.length", FT_UINT32, BASE_DEC, NULL,
		    0x0, "Bytes of a message or frames put together from several frames", HFILL } },
		{ &hf_tlsdump_segment,
		  { "Frame", "tlsdump.reassembled.segment", FT_FRAMENUM, BASE_NONE, NULL, 0x0,
		    "A frame carrying part of the reassembled bytes", HFILL } },
		{ &hf_tlsdump_skipped,
		  { "Skipped bytes", "tlsdump.skipped", FT_UINT32, BASE_DEC, NULL, 0x0,
		    "Bytes not dissected while looking for a message boundary", HFILL } },
		{ &hf_tlsdump_encrypted_in,
		  { "Encrypted packets from frame", "tlsdump.encrypted_in", FT_FRAMENUM, BASE_NONE,
		    NULL, 0x0,
		    "First packet of this connection dissected as TLS (normally its ClientHello)",
		    HFILL } },
		{ &hf_tlsdump_no_plaintext,
		  { "No plaintext captured", "tlsdump.no_plaintext", FT_NONE, BASE_NONE, NULL, 0x0,
		    "A TLS connection of which the capture holds no tlsdump plaintext frame",
		    HFILL } },
		{ &hf_tlsdump_plaintext_frames,
		  { "Plaintext frames", "tlsdump.plaintext_frames", FT_UINT32, BASE_DEC, NULL, 0x0,
		    "tlsdump plaintext frames of this TCP connection in the capture", HFILL } },
		{ &hf_tlsdump_plaintext_in,
		  { "Plaintext from frame", "tlsdump.plaintext_in", FT_FRAMENUM, BASE_NONE, NULL,
		    0x0, "First tlsdump plaintext frame of this TCP connection", HFILL } },
		{ &hf_tlsdump_k8s_namespace,
		  { "Namespace", "tlsdump.k8s.namespace", FT_STRING, BASE_NONE, NULL, 0x0,
		    "Namespace of the pod at the local end (comment key PodNamespace)",
		    HFILL } },
		{ &hf_tlsdump_k8s_pod,
		  { "Pod", "tlsdump.k8s.pod", FT_STRING, BASE_NONE, NULL, 0x0,
		    "Pod at the local end: the captured process's (comment key PodName)", HFILL } },
		{ &hf_tlsdump_k8s_pod_uid,
		  { "Pod UID", "tlsdump.k8s.pod_uid", FT_STRING, BASE_NONE, NULL, 0x0,
		    "UID of the pod at the local end (comment key PodUID)", HFILL } },
		{ &hf_tlsdump_k8s_node,
		  { "Node", "tlsdump.k8s.node", FT_STRING, BASE_NONE, NULL, 0x0,
		    "Kubernetes node the capture ran on (comment key NodeName)", HFILL } },
		{ &hf_tlsdump_k8s_container,
		  { "Container", "tlsdump.k8s.container", FT_STRING, BASE_NONE, NULL, 0x0,
		    "Container at the local end (comment key ContainerName)", HFILL } },
		{ &hf_tlsdump_k8s_container_id,
		  { "Container ID", "tlsdump.k8s.container_id", FT_STRING, BASE_NONE, NULL, 0x0,
		    "Runtime id of the container (comment key ContainerId)", HFILL } },
		{ &hf_tlsdump_k8s_image,
		  { "Image", "tlsdump.k8s.image", FT_STRING, BASE_NONE, NULL, 0x0,
		    "Image of the container (comment key ContainerImage)", HFILL } },
		{ &hf_tlsdump_k8s_peer_namespace,
		  { "Peer namespace", "tlsdump.k8s.peer_namespace", FT_STRING, BASE_NONE, NULL, 0x0,
		    "Namespace of the pod or service at the other end (comment key PeerNamespace)",
		    HFILL } },
		{ &hf_tlsdump_k8s_peer_pod,
		  { "Peer pod", "tlsdump.k8s.peer_pod", FT_STRING, BASE_NONE, NULL, 0x0,
		    "Pod at the other end of the connection (comment key PeerPod)", HFILL } },
		{ &hf_tlsdump_k8s_peer_service,
		  { "Peer service", "tlsdump.k8s.peer_service", FT_STRING, BASE_NONE, NULL, 0x0,
		    "Service whose address the connection went to (comment key PeerService)",
		    HFILL } },
	};
	static gint *ett[] = {
		&ett_tlsdump,
		&ett_tlsdump_flags,
		&ett_tlsdump_reassembled,
		&ett_tlsdump_tcp,
		&ett_tlsdump_k8s,
	};
	static ei_register_info ei[] = {
		{ &ei_tlsdump_truncated,
		  { "tlsdump.truncated", PI_MALFORMED, PI_ERROR, "tlsdump header truncated",
		    EXPFILL } },
		{ &ei_tlsdump_bad_magic,
		  { "tlsdump.bad_magic", PI_MALFORMED, PI_ERROR, "Not a tlsdump header: bad magic",
		    EXPFILL } },
		{ &ei_tlsdump_bad_version,
		  { "tlsdump.bad_version", PI_MALFORMED, PI_ERROR, "Unknown tlsdump header version",
		    EXPFILL } },
		{ &ei_tlsdump_bad_hdr_len,
		  { "tlsdump.bad_hdr_len", PI_MALFORMED, PI_ERROR, "Bad tlsdump header length",
		    EXPFILL } },
		{ &ei_tlsdump_bad_payload_len,
		  { "tlsdump.bad_len", PI_MALFORMED, PI_ERROR,
		    "Payload length does not match the frame", EXPFILL } },
		{ &ei_tlsdump_bad_dir,
		  { "tlsdump.bad_dir", PI_MALFORMED, PI_ERROR, "Unknown direction", EXPFILL } },
		{ &ei_tlsdump_gap,
		  { "tlsdump.gap.lost", PI_SEQUENCE, PI_WARN,
		    "Plaintext bytes lost before this frame", EXPFILL } },
		{ &ei_tlsdump_capped,
		  { "tlsdump.capped", PI_SEQUENCE, PI_NOTE,
		    "The per-call byte cap cut this TLS call; the rest counts as the next frame's gap",
		    EXPFILL } },
		{ &ei_tlsdump_offset,
		  { "tlsdump.offset.unexpected", PI_SEQUENCE, PI_WARN, "Unexpected stream offset",
		    EXPFILL } },
		{ &ei_tlsdump_midstream,
		  { "tlsdump.midstream", PI_SEQUENCE, PI_NOTE,
		    "Capture starts in the middle of this direction", EXPFILL } },
		{ &ei_tlsdump_skipped,
		  { "tlsdump.skipped.expert", PI_SEQUENCE, PI_NOTE,
		    "Bytes skipped while looking for the next message boundary", EXPFILL } },
		{ &ei_tlsdump_not_http,
		  { "tlsdump.not_http", PI_PROTOCOL, PI_WARN,
		    "Bytes where an HTTP message was expected are not HTTP; parsing restarts at the next message boundary",
		    EXPFILL } },
		{ &ei_tlsdump_too_long,
		  { "tlsdump.too_long", PI_UNDECODED, PI_WARN, "Message too large to reassemble",
		    EXPFILL } },
		{ &ei_tlsdump_lost_request,
		  { "tlsdump.lost_request", PI_SEQUENCE, PI_NOTE,
		    "Response to a request lost with missing bytes", EXPFILL } },
		{ &ei_tlsdump_h2_restart,
		  { "tlsdump.h2_restart", PI_SEQUENCE, PI_NOTE,
		    "HTTP/2 decoding restarted after lost bytes: header fields that refer to older compression state cannot be decoded",
		    EXPFILL } },
		{ &ei_tlsdump_no_plaintext,
		  { "tlsdump.no_plaintext.expert", PI_UNDECODED, PI_NOTE,
		    "TLS connection without plaintext in the capture: tlsdump did not capture its process or library",
		    EXPFILL } },
	};
	expert_module_t *expert_tlsdump;

	proto_tlsdump = proto_register_protocol("tlsdump TLS plaintext", "tlsdump", "tlsdump");
	proto_register_field_array(proto_tlsdump, hf, array_length(hf));
	proto_register_subtree_array(ett, array_length(ett));
	expert_tlsdump = expert_register_protocol(proto_tlsdump);
	expert_register_field_array(expert_tlsdump, ei, array_length(ei));

	tlsdump_handle = register_dissector("tlsdump", dissect_tlsdump, proto_tlsdump);
	tlsdump_post_handle = create_dissector_handle(dissect_tlsdump_post, proto_tlsdump);
	register_postdissector(tlsdump_post_handle);
	tlsdump_conns = wmem_map_new_autoreset(wmem_epan_scope(), wmem_file_scope(), tlsdump_conn_hash,
					       tlsdump_conn_equal);
	register_init_routine(tlsdump_init);
}

void proto_reg_handoff_tlsdump(void)
{
	/* "http-over-tls" marks the conversation as HTTPS (https:// in full URIs). */
	http_handle = find_dissector("http-over-tls");
	if (!http_handle)
		http_handle = find_dissector_add_dependency("http", proto_tlsdump);
	http2_handle = find_dissector_add_dependency("http2", proto_tlsdump);
	tls_heur_list = find_heur_dissector_list("tls");
	hf_tcp_stream = proto_registrar_get_id_byname("tcp.stream");
	hf_tcp_port = proto_registrar_get_id_byname("tcp.port");
	hf_tcp_srcport = proto_registrar_get_id_byname("tcp.srcport");
	hf_tcp_dstport = proto_registrar_get_id_byname("tcp.dstport");
	proto_tcp = proto_get_id_by_filter_name("tcp");
}

void plugin_register(void)
{
	static proto_plugin plug_tlsdump;

	plug_tlsdump.register_protoinfo = proto_register_tlsdump;
	plug_tlsdump.register_handoff = proto_reg_handoff_tlsdump;
	proto_register_plugin(&plug_tlsdump);
}
