/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Encoder and header decoder for the tlsdump record (docs/record-format.md):
 * Exported PDU tags, then the tlsdump header, then the plaintext.
 */
#include "record.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#define TLV_HDR_LEN 4
#define DISSECTOR_TLSDUMP "tlsdump"
#define DISSECTOR_HTTP "http"

/* Exported PDU P2P direction values (Wireshark's P2P_DIR_SENT/RECV). */
#define EXP_PDU_P2P_SENT 0
#define EXP_PDU_P2P_RECV 1

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, (uint32_t)(v >> 32));
	put_be32(p + 4, (uint32_t)v);
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)get_be16(p) << 16 | get_be16(p + 2);
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static const char *dissector_name(enum record_label label)
{
	return label == RECORD_LABEL_HTTP ? DISSECTOR_HTTP : DISSECTOR_TLSDUMP;
}

/*
 * Returns the address length for @family, or 0 when the tuple is unknown.
 * Any family other than IPv4/IPv6 counts as unknown: losing the addresses is
 * better than losing the plaintext.
 */
static size_t addr_len(int family)
{
	switch (family) {
	case AF_INET:
		return 4;
	case AF_INET6:
		return 16;
	default:
		return 0;
	}
}

static size_t tags_size(const struct tlsdump_record *rec, enum record_label label)
{
	size_t alen = addr_len(rec->family);
	size_t n = TLV_HDR_LEN + strlen(dissector_name(label));

	/* Ports without addresses would invent a connection: both or neither. */
	if (alen)
		n += 2 * (TLV_HDR_LEN + alen) + 3 * (TLV_HDR_LEN + 4);
	n += TLV_HDR_LEN + 4; /* P2P direction */
	n += TLV_HDR_LEN;     /* end of tags */
	return n;
}

size_t record_encoded_size(const struct tlsdump_record *rec, enum record_label label)
{
	size_t n = tags_size(rec, label) + rec->payload_len;

	if (label == RECORD_LABEL_TLSDUMP)
		n += TLSDUMP_RECORD_HDR_LEN;
	return n;
}

static uint8_t *put_tlv(uint8_t *p, uint16_t tag, const void *val, uint16_t len)
{
	put_be16(p, tag);
	put_be16(p + 2, len);
	if (len)
		memcpy(p + TLV_HDR_LEN, val, len);
	return p + TLV_HDR_LEN + len;
}

static uint8_t *put_tlv_u32(uint8_t *p, uint16_t tag, uint32_t v)
{
	uint8_t be[4];

	put_be32(be, v);
	return put_tlv(p, tag, be, sizeof(be));
}

static uint8_t *encode_tags(const struct tlsdump_record *rec, enum record_label label, uint8_t *p)
{
	const char *name = dissector_name(label);
	size_t alen = addr_len(rec->family);
	bool sent = rec->direction == TLSDUMP_DIR_WRITE;
	/* Source and destination follow the data, not the connection. */
	const uint8_t *src = sent ? rec->local_addr : rec->remote_addr;
	const uint8_t *dst = sent ? rec->remote_addr : rec->local_addr;
	uint16_t sport = sent ? rec->local_port : rec->remote_port;
	uint16_t dport = sent ? rec->remote_port : rec->local_port;

	/* Unpadded: Wireshark reads the name as a NUL-padded string of tag length. */
	p = put_tlv(p, EXP_PDU_TAG_DISSECTOR_NAME, name, (uint16_t)strlen(name));
	if (alen) {
		bool v4 = alen == 4;
		uint16_t n = (uint16_t)alen;

		p = put_tlv(p, v4 ? EXP_PDU_TAG_IPV4_SRC : EXP_PDU_TAG_IPV6_SRC, src, n);
		p = put_tlv(p, v4 ? EXP_PDU_TAG_IPV4_DST : EXP_PDU_TAG_IPV6_DST, dst, n);
		p = put_tlv_u32(p, EXP_PDU_TAG_PORT_TYPE, EXP_PDU_PORT_TYPE_TCP);
		p = put_tlv_u32(p, EXP_PDU_TAG_SRC_PORT, sport);
		p = put_tlv_u32(p, EXP_PDU_TAG_DST_PORT, dport);
	}
	p = put_tlv_u32(p, EXP_PDU_TAG_P2P_DIRECTION, sent ? EXP_PDU_P2P_SENT : EXP_PDU_P2P_RECV);
	return put_tlv(p, EXP_PDU_TAG_END, NULL, 0);
}

/*
 * Copies a C string into a fixed field of @len bytes, NUL padded. Keeps at
 * least one NUL so a reader can use the field as a C string.
 */
static void put_fixed_str(uint8_t *p, const char *s, size_t len)
{
	size_t n = strnlen(s, len - 1);

	memcpy(p, s, n);
	memset(p + n, 0, len - n);
}

static uint8_t *encode_header(const struct tlsdump_record *rec, uint8_t *p)
{
	uint16_t flags = (uint16_t)(rec->flags & ~TLSDUMP_FLAG_NO_TUPLE);

	/* Derived flags describe this frame's bytes, so the caller cannot contradict them. */
	if (!addr_len(rec->family))
		flags |= TLSDUMP_FLAG_NO_TUPLE;
	if (rec->gap)
		flags |= TLSDUMP_FLAG_GAP;

	memcpy(p + TLSDUMP_OFF_MAGIC, TLSDUMP_RECORD_MAGIC, 4);
	p[TLSDUMP_OFF_VERSION] = TLSDUMP_RECORD_VERSION;
	p[TLSDUMP_OFF_DIRECTION] = rec->direction;
	put_be16(p + TLSDUMP_OFF_HDR_LEN, TLSDUMP_RECORD_HDR_LEN);
	put_be16(p + TLSDUMP_OFF_FLAGS, flags);
	p[TLSDUMP_OFF_ROLE] = rec->role;
	p[TLSDUMP_OFF_LIBRARY] = rec->library;
	put_be32(p + TLSDUMP_OFF_PID, rec->pid);
	put_be32(p + TLSDUMP_OFF_TID, rec->tid);
	put_be32(p + TLSDUMP_OFF_PAYLOAD_LEN, rec->payload_len);
	put_be64(p + TLSDUMP_OFF_CONN_ID, rec->conn_id);
	put_be64(p + TLSDUMP_OFF_STREAM_OFFSET, rec->stream_offset);
	put_be64(p + TLSDUMP_OFF_GAP, rec->gap);
	put_be64(p + TLSDUMP_OFF_CALL_LEN, rec->call_len);
	put_fixed_str(p + TLSDUMP_OFF_COMM, rec->comm, TLSDUMP_COMM_LEN);
	put_fixed_str(p + TLSDUMP_OFF_LIBNAME, rec->libname, TLSDUMP_LIBNAME_LEN);
	return p + TLSDUMP_RECORD_HDR_LEN;
}

long record_encode(const struct tlsdump_record *rec, enum record_label label, uint8_t *out,
		   size_t out_len)
{
	size_t need;
	uint8_t *p;

	/* A bigger frame breaks the promise the dissector and dumpcap rely on. */
	if (rec->payload_len > TLSDUMP_MAX_FRAME_PAYLOAD || (rec->payload_len && !rec->payload) ||
	    rec->direction > TLSDUMP_DIR_WRITE ||
	    (label != RECORD_LABEL_TLSDUMP && label != RECORD_LABEL_HTTP))
		return -EINVAL;
	need = record_encoded_size(rec, label);
	if (!out || out_len < need)
		return -ENOSPC;

	p = encode_tags(rec, label, out);
	if (label == RECORD_LABEL_TLSDUMP)
		p = encode_header(rec, p);
	if (rec->payload_len)
		memcpy(p, rec->payload, rec->payload_len);
	return (long)need;
}

int record_decode_header(const uint8_t *buf, size_t len, struct tlsdump_record *rec)
{
	uint16_t hdr_len;
	uint32_t payload_len;

	memset(rec, 0, sizeof(*rec));
	/* Every v1 field must be readable before any is trusted. */
	if (!buf || len < TLSDUMP_RECORD_HDR_LEN)
		return -EINVAL;
	if (memcmp(buf + TLSDUMP_OFF_MAGIC, TLSDUMP_RECORD_MAGIC, 4) ||
	    buf[TLSDUMP_OFF_VERSION] != TLSDUMP_RECORD_VERSION ||
	    buf[TLSDUMP_OFF_DIRECTION] > TLSDUMP_DIR_WRITE)
		return -EINVAL;
	hdr_len = get_be16(buf + TLSDUMP_OFF_HDR_LEN);
	payload_len = get_be32(buf + TLSDUMP_OFF_PAYLOAD_LEN);
	/* A longer header is a newer writer appending fields: skip them. */
	if (hdr_len < TLSDUMP_RECORD_HDR_LEN || hdr_len > len || payload_len != len - hdr_len)
		return -EINVAL;

	rec->direction = buf[TLSDUMP_OFF_DIRECTION];
	rec->flags = get_be16(buf + TLSDUMP_OFF_FLAGS);
	rec->role = buf[TLSDUMP_OFF_ROLE];
	rec->library = buf[TLSDUMP_OFF_LIBRARY];
	rec->pid = get_be32(buf + TLSDUMP_OFF_PID);
	rec->tid = get_be32(buf + TLSDUMP_OFF_TID);
	rec->conn_id = get_be64(buf + TLSDUMP_OFF_CONN_ID);
	rec->stream_offset = get_be64(buf + TLSDUMP_OFF_STREAM_OFFSET);
	rec->gap = get_be64(buf + TLSDUMP_OFF_GAP);
	rec->call_len = get_be64(buf + TLSDUMP_OFF_CALL_LEN);
	/* Terminated even when a foreign writer filled the whole field. */
	memcpy(rec->comm, buf + TLSDUMP_OFF_COMM, TLSDUMP_COMM_LEN - 1);
	memcpy(rec->libname, buf + TLSDUMP_OFF_LIBNAME, TLSDUMP_LIBNAME_LEN - 1);
	rec->payload = buf + hdr_len;
	rec->payload_len = payload_len;
	return 0;
}
