/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Struct member offsets a Go TLS probe needs, read from the binary's DWARF
 * (libdwarf) when it has some, otherwise taken from a table keyed by Go
 * version. Sources of the table's numbers: docs/go.md.
 */
#ifndef TLSDUMP_GO_DWARF_H
#define TLSDUMP_GO_DWARF_H

#include <stddef.h>
#include <stdint.h>

#include "go_binary.h"

#define GO_OFFSET_UNKNOWN (-1)

/* Byte offsets of members within their struct; GO_OFFSET_UNKNOWN when not found. */
struct go_offsets {
	int64_t g_goid;		/* runtime.g.goid (int64) */
	int64_t tls_conn_conn;	/* crypto/tls.Conn.conn: net.Conn interface {itab, data} */
	int64_t tcpconn_conn;	/* net.TCPConn.conn: the embedded net.conn */
	int64_t conn_fd;	/* net.conn.fd: *net.netFD */
	int64_t netfd_pfd;	/* net.netFD.pfd: internal/poll.FD */
	int64_t pfd_sysfd;	/* internal/poll.FD.Sysfd: int, the socket descriptor */
	int64_t netfd_laddr;	/* net.netFD.laddr: net.Addr interface */
	int64_t netfd_raddr;	/* net.netFD.raddr: net.Addr interface */
	int64_t tcpaddr_ip;	/* net.TCPAddr.IP: []byte {ptr, len, cap} */
	int64_t tcpaddr_port;	/* net.TCPAddr.Port: int */
};

struct go_member_query {
	const char *type;	/* DWARF type name: "runtime.g", "internal/poll.FD" */
	const char *member;	/* member name: "goid" */
	int64_t offset;		/* out: offset, or GO_OFFSET_UNKNOWN */
};

/*
 * Looks up each of @n @queries among the struct types in the DWARF of the ELF
 * file at @path. Returns the number found (>= 0); -ENODATA when the file has
 * no DWARF (stripped); -ENOEXEC when libdwarf cannot read it; -errno when it
 * cannot be opened. Writes a message to @err (@err_len bytes, may be NULL)
 * on error.
 */
int go_dwarf_members(const char *path, struct go_member_query *queries, size_t n, char *err,
		     size_t err_len);

/*
 * Fills every field of @out from the DWARF of @path. Returns 0 when all were
 * found, -ENOENT when some are GO_OFFSET_UNKNOWN, or an error of
 * go_dwarf_members().
 */
int go_dwarf_offsets(const char *path, struct go_offsets *out, char *err, size_t err_len);

/*
 * Fills @out from the built-in table for Go 1.@minor on @arch. Returns 0, or
 * -ENOENT when the table does not cover that version or architecture (every
 * field is then GO_OFFSET_UNKNOWN).
 */
int go_offsets_from_table(int minor, enum go_arch arch, struct go_offsets *out);

/* Returns the Go versions the table covers, as 1.@*first - 1.@*last. */
void go_offsets_table_range(int *first, int *last);

#endif /* TLSDUMP_GO_DWARF_H */
