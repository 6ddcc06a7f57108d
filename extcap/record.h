/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The tlsdump record: what one plaintext frame carries from the extcap to the
 * dissector. docs/record-format.md is the normative description; this header
 * is its C form, shared by extcap/ (writer) and dissector/ (reader).
 */
#ifndef TLSDUMP_RECORD_H
#define TLSDUMP_RECORD_H

#include <stddef.h>
#include <stdint.h>

#define TLSDUMP_RECORD_MAGIC "TLSD"
#define TLSDUMP_RECORD_VERSION 1
#define TLSDUMP_RECORD_HDR_LEN 104
#define TLSDUMP_COMM_LEN 16
#define TLSDUMP_LIBNAME_LEN 32
/* Largest plaintext carried by one frame; keeps blocks far below dumpcap's 256 KiB. */
#define TLSDUMP_MAX_FRAME_PAYLOAD 65536

/* Field offsets within the tlsdump header (all integers big-endian). */
enum tlsdump_record_offset {
	TLSDUMP_OFF_MAGIC = 0,
	TLSDUMP_OFF_VERSION = 4,
	TLSDUMP_OFF_DIRECTION = 5,
	TLSDUMP_OFF_HDR_LEN = 6,
	TLSDUMP_OFF_FLAGS = 8,
	TLSDUMP_OFF_ROLE = 10,
	TLSDUMP_OFF_LIBRARY = 11,
	TLSDUMP_OFF_PID = 12,
	TLSDUMP_OFF_TID = 16,
	TLSDUMP_OFF_PAYLOAD_LEN = 20,
	TLSDUMP_OFF_CONN_ID = 24,
	TLSDUMP_OFF_STREAM_OFFSET = 32,
	TLSDUMP_OFF_GAP = 40,
	TLSDUMP_OFF_CALL_LEN = 48,
	TLSDUMP_OFF_COMM = 56,
	TLSDUMP_OFF_LIBNAME = 72,
};

enum tlsdump_direction {
	TLSDUMP_DIR_READ = 0,
	TLSDUMP_DIR_WRITE = 1,
};

enum tlsdump_role {
	TLSDUMP_ROLE_UNKNOWN = 0,
	TLSDUMP_ROLE_CLIENT = 1,
	TLSDUMP_ROLE_SERVER = 2,
};

enum tlsdump_library {
	TLSDUMP_LIB_UNKNOWN = 0,
	TLSDUMP_LIB_OPENSSL = 1,
	TLSDUMP_LIB_BORINGSSL = 2,
	TLSDUMP_LIB_GO = 3,
	TLSDUMP_LIB_GNUTLS = 4,
	TLSDUMP_LIB_NSS = 5,
};

enum tlsdump_record_flag {
	TLSDUMP_FLAG_GAP = 0x0001,
	TLSDUMP_FLAG_CAPPED = 0x0002,
	TLSDUMP_FLAG_NO_TUPLE = 0x0004,
	TLSDUMP_FLAG_CALL_START = 0x0008,
	TLSDUMP_FLAG_CALL_END = 0x0010,
};

/* Exported PDU (LINKTYPE_WIRESHARK_UPPER_PDU) tags used by tlsdump. */
enum exported_pdu_tag {
	EXP_PDU_TAG_END = 0,
	EXP_PDU_TAG_DISSECTOR_NAME = 12,
	EXP_PDU_TAG_IPV4_SRC = 20,
	EXP_PDU_TAG_IPV4_DST = 21,
	EXP_PDU_TAG_IPV6_SRC = 22,
	EXP_PDU_TAG_IPV6_DST = 23,
	EXP_PDU_TAG_PORT_TYPE = 24,
	EXP_PDU_TAG_SRC_PORT = 25,
	EXP_PDU_TAG_DST_PORT = 26,
	EXP_PDU_TAG_P2P_DIRECTION = 35,
};
#define EXP_PDU_PORT_TYPE_TCP 2
#define LINKTYPE_WIRESHARK_UPPER_PDU 252

/* One plaintext frame, host byte order; record_encode() serialises it. */
struct tlsdump_record {
	uint8_t direction; /* enum tlsdump_direction */
	uint8_t role;      /* enum tlsdump_role */
	uint8_t library;   /* enum tlsdump_library */
	uint16_t flags;    /* enum tlsdump_record_flag */
	uint32_t pid;
	uint32_t tid;
	uint64_t conn_id;
	uint64_t stream_offset;
	uint64_t gap;
	uint64_t call_len;
	char comm[TLSDUMP_COMM_LEN];
	char libname[TLSDUMP_LIBNAME_LEN];
	/* Connection 5-tuple of the process's socket; family 0 when unknown. */
	int family; /* AF_INET, AF_INET6 or 0 */
	uint8_t local_addr[16];
	uint8_t remote_addr[16];
	uint16_t local_port;
	uint16_t remote_port;
	const uint8_t *payload;
	uint32_t payload_len;
};

enum record_label {
	RECORD_LABEL_TLSDUMP, /* dissector "tlsdump", tlsdump header present */
	RECORD_LABEL_HTTP,    /* dissector "http", plaintext only */
};

/*
 * Returns the number of bytes record_encode() needs for @rec.
 */
size_t record_encoded_size(const struct tlsdump_record *rec, enum record_label label);

/*
 * Serialises @rec (Exported PDU tags, tlsdump header unless @label is HTTP,
 * payload) into @out of @out_len bytes. Returns the bytes written, -ENOSPC
 * when @out is too small, or -EINVAL for a payload over
 * TLSDUMP_MAX_FRAME_PAYLOAD, a direction other than read/write or an unknown
 * label. A family other than AF_INET/AF_INET6 is written as "no tuple".
 */
long record_encode(const struct tlsdump_record *rec, enum record_label label, uint8_t *out,
		   size_t out_len);

/*
 * Parses the tlsdump header at @buf of @len bytes (after the Exported PDU
 * tags) into @rec; payload points into @buf. Returns 0, or -EINVAL when the
 * header is malformed (bad magic, version, lengths).
 */
int record_decode_header(const uint8_t *buf, size_t len, struct tlsdump_record *rec);

#endif /* TLSDUMP_RECORD_H */
