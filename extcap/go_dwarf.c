/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "go_dwarf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <dwarf.h>
#include <libdwarf.h>

/* Bounds the walk on a hostile file: a real Go program has well under a million top-level DIEs. */
#define MAX_DIES (1u << 26)

/*
 * libdwarf 0.x dropped the access argument of dwarf_init_b() and the error
 * argument of dwarf_finish(); 0.9 replaced dwarf_next_cu_header_d() by _e().
 * Debian 12 ships 20210528, which predates all three and defines no
 * DW_LIBDWARF_VERSION_MAJOR.
 */
#ifdef DW_LIBDWARF_VERSION_MAJOR
#define dw_init(fd, dbg, err) dwarf_init_b(fd, DW_GROUPNUMBER_ANY, NULL, NULL, dbg, err)
#define dw_finish(dbg) dwarf_finish(dbg)
#else
#define dw_init(fd, dbg, err)                                                                      \
	dwarf_init_b(fd, DW_DLC_READ, DW_GROUPNUMBER_ANY, NULL, NULL, dbg, err)
#define dw_finish(dbg) dwarf_finish(dbg, NULL)
#endif

/*
 * Advances to the next compilation unit and returns its DIE: DW_DLV_OK,
 * _NO_ENTRY or _ERROR. Every out argument gets storage: libdwarf 2.x
 * dereferences some of them unconditionally.
 */
static int next_cu(Dwarf_Debug dbg, Dwarf_Die *cu, Dwarf_Error *err)
{
	Dwarf_Unsigned length = 0, abbrev = 0, typeoff = 0, next = 0;
	Dwarf_Half version = 0, addr_size = 0, off_size = 0, ext_size = 0, cu_type = 0;
	Dwarf_Sig8 sig;
#if defined(DW_LIBDWARF_VERSION_MAJOR) && \
	(DW_LIBDWARF_VERSION_MAJOR > 0 || DW_LIBDWARF_VERSION_MINOR >= 9)
	return dwarf_next_cu_header_e(dbg, true, cu, &length, &version, &abbrev, &addr_size,
				      &off_size, &ext_size, &sig, &typeoff, &next, &cu_type, err);
#else
	int ret = dwarf_next_cu_header_d(dbg, true, &length, &version, &abbrev, &addr_size,
					 &off_size, &ext_size, &sig, &typeoff, &next, &cu_type,
					 err);

	if (ret != DW_DLV_OK)
		return ret;
	return dwarf_siblingof_b(dbg, NULL, true, cu, err);
#endif
}

static void set_err(char *err, size_t len, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || !len)
		return;
	n = snprintf(err, len, "%s: ", path);
	if (n < 0 || (size_t)n >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, len - n, fmt, ap);
	va_end(ap);
}

/* Reads DW_AT_data_member_location when it is a constant. Returns true and sets *@off. */
static bool member_location(Dwarf_Die die, int64_t *off)
{
	Dwarf_Attribute attr;
	Dwarf_Unsigned u;
	Dwarf_Signed s;
	Dwarf_Error err = NULL;
	Dwarf_Half form;
	bool ok = false;

	if (dwarf_attr(die, DW_AT_data_member_location, &attr, &err) != DW_DLV_OK) {
		if (err)
			dwarf_dealloc_error(NULL, err);
		return false;
	}
	if (dwarf_whatform(attr, &form, &err) == DW_DLV_OK) {
		if (form == DW_FORM_sdata) {
			if (dwarf_formsdata(attr, &s, &err) == DW_DLV_OK && s >= 0) {
				*off = s;
				ok = true;
			}
		} else if (form == DW_FORM_udata || form == DW_FORM_data1 ||
			   form == DW_FORM_data2 || form == DW_FORM_data4 ||
			   form == DW_FORM_data8) {
			if (dwarf_formudata(attr, &u, &err) == DW_DLV_OK && u <= INT64_MAX) {
				*off = (int64_t)u;
				ok = true;
			}
		}
	}
	if (err)
		dwarf_dealloc_error(NULL, err);
	dwarf_dealloc_attribute(attr);
	return ok;
}

/* Fills the queries on struct @type whose DIE is @die. Returns how many it resolved. */
static int scan_members(Dwarf_Debug dbg, Dwarf_Die die, const char *type,
			struct go_member_query *q, size_t n, size_t *budget)
{
	Dwarf_Error err = NULL;
	Dwarf_Die child = NULL, next;
	int found = 0, ret;

	ret = dwarf_child(die, &child, &err);
	while (ret == DW_DLV_OK && *budget) {
		Dwarf_Half tag;
		char *name;
		size_t i;

		(*budget)--;
		if (dwarf_tag(child, &tag, &err) == DW_DLV_OK && tag == DW_TAG_member &&
		    dwarf_diename(child, &name, &err) == DW_DLV_OK) {
			for (i = 0; i < n; i++) {
				if (q[i].offset != GO_OFFSET_UNKNOWN || strcmp(q[i].type, type) ||
				    strcmp(q[i].member, name))
					continue;
				if (member_location(child, &q[i].offset))
					found++;
			}
		}
		if (err) {
			dwarf_dealloc_error(dbg, err);
			err = NULL;
		}
		ret = dwarf_siblingof_b(dbg, child, true, &next, &err);
		dwarf_dealloc_die(child);
		child = next;
	}
	if (err)
		dwarf_dealloc_error(dbg, err);
	return found;
}

/* Returns true when some query names struct type @name. */
static bool wanted(const char *name, const struct go_member_query *q, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (q[i].offset == GO_OFFSET_UNKNOWN && !strcmp(q[i].type, name))
			return true;
	}
	return false;
}

int go_dwarf_members(const char *path, struct go_member_query *queries, size_t n, char *err,
		     size_t err_len)
{
	Dwarf_Debug dbg = NULL;
	Dwarf_Error derr = NULL;
	Dwarf_Die cu;
	size_t i, budget = MAX_DIES;
	int fd, ret, found = 0;

	for (i = 0; i < n; i++)
		queries[i].offset = GO_OFFSET_UNKNOWN;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		set_err(err, err_len, path, "%s", strerror(-ret));
		return ret;
	}
	ret = dw_init(fd, &dbg, &derr);
	if (ret != DW_DLV_OK) {
		if (ret == DW_DLV_ERROR) {
			set_err(err, err_len, path, "libdwarf: %s", dwarf_errmsg(derr));
			dwarf_dealloc_error(dbg, derr);
		} else {
			set_err(err, err_len, path, "no DWARF (stripped)");
		}
		close(fd);
		return ret == DW_DLV_NO_ENTRY ? -ENODATA : -ENOEXEC;
	}
	ret = 0;
	while ((size_t)found < n && budget) {
		Dwarf_Die child = NULL, next;
		int r = next_cu(dbg, &cu, &derr);

		if (r == DW_DLV_ERROR) {
			set_err(err, err_len, path, "libdwarf: %s", dwarf_errmsg(derr));
			dwarf_dealloc_error(dbg, derr);
			ret = -ENOEXEC;
			break;
		}
		if (r != DW_DLV_OK)
			break;
		r = dwarf_child(cu, &child, &derr);
		while (r == DW_DLV_OK && budget) {
			Dwarf_Half tag;
			char *name;

			budget--;
			if (dwarf_tag(child, &tag, &derr) == DW_DLV_OK &&
			    tag == DW_TAG_structure_type &&
			    dwarf_diename(child, &name, &derr) == DW_DLV_OK &&
			    wanted(name, queries, n))
				found += scan_members(dbg, child, name, queries, n, &budget);
			if (derr) {
				dwarf_dealloc_error(dbg, derr);
				derr = NULL;
			}
			r = dwarf_siblingof_b(dbg, child, true, &next, &derr);
			dwarf_dealloc_die(child);
			child = next;
		}
		if (derr) {
			dwarf_dealloc_error(dbg, derr);
			derr = NULL;
		}
		dwarf_dealloc_die(cu);
	}
	dw_finish(dbg);
	close(fd);
	return ret ? ret : found;
}

#define FIELD(name) offsetof(struct go_offsets, name)

static const struct {
	const char *type, *member;
	size_t field;
} offset_fields[] = {
	{ "runtime.g", "goid", FIELD(g_goid) },
	{ "crypto/tls.Conn", "conn", FIELD(tls_conn_conn) },
	{ "net.TCPConn", "conn", FIELD(tcpconn_conn) },
	{ "net.conn", "fd", FIELD(conn_fd) },
	{ "net.netFD", "pfd", FIELD(netfd_pfd) },
	{ "internal/poll.FD", "Sysfd", FIELD(pfd_sysfd) },
	{ "net.netFD", "laddr", FIELD(netfd_laddr) },
	{ "net.netFD", "raddr", FIELD(netfd_raddr) },
	{ "net.TCPAddr", "IP", FIELD(tcpaddr_ip) },
	{ "net.TCPAddr", "Port", FIELD(tcpaddr_port) },
};

#define NFIELDS (sizeof(offset_fields) / sizeof(offset_fields[0]))

static void set_unknown(struct go_offsets *out)
{
	size_t i;

	for (i = 0; i < NFIELDS; i++)
		*(int64_t *)((char *)out + offset_fields[i].field) = GO_OFFSET_UNKNOWN;
}

int go_dwarf_offsets(const char *path, struct go_offsets *out, char *err, size_t err_len)
{
	struct go_member_query q[NFIELDS];
	size_t i;
	int ret;

	set_unknown(out);
	for (i = 0; i < NFIELDS; i++) {
		q[i].type = offset_fields[i].type;
		q[i].member = offset_fields[i].member;
	}
	ret = go_dwarf_members(path, q, NFIELDS, err, err_len);
	if (ret < 0)
		return ret;
	for (i = 0; i < NFIELDS; i++)
		*(int64_t *)((char *)out + offset_fields[i].field) = q[i].offset;
	if ((size_t)ret < NFIELDS) {
		set_err(err, err_len, path, "%zu of %zu struct members not in DWARF", NFIELDS - ret,
			NFIELDS);
		return -ENOENT;
	}
	return 0;
}

/*
 * Offsets for stripped binaries, 64-bit targets (amd64 and arm64 lay these
 * structs out identically). Sources, per field, in docs/go.md; Go 1.19 is
 * checked against DWARF and the compiler's own layout by tests/unit/go.
 * runtime.g.goid moves to 160 in Go 1.23 (g.syscallbp), which is why the
 * table stops at 1.22.
 */
static const struct {
	int first, last;
	struct go_offsets o;
} offset_table[] = {
	{ 17, 22, {
		.g_goid = 152,
		.tls_conn_conn = 0,
		.tcpconn_conn = 0,
		.conn_fd = 0,
		.netfd_pfd = 0,
		.pfd_sysfd = 16,
		.netfd_laddr = 96,
		.netfd_raddr = 112,
		.tcpaddr_ip = 0,
		.tcpaddr_port = 24,
	} },
};

int go_offsets_from_table(int minor, enum go_arch arch, struct go_offsets *out)
{
	size_t i;

	set_unknown(out);
	if (arch != GO_ARCH_AMD64 && arch != GO_ARCH_ARM64)
		return -ENOENT;
	for (i = 0; i < sizeof(offset_table) / sizeof(offset_table[0]); i++) {
		if (minor >= offset_table[i].first && minor <= offset_table[i].last) {
			*out = offset_table[i].o;
			return 0;
		}
	}
	return -ENOENT;
}

void go_offsets_table_range(int *first, int *last)
{
	*first = offset_table[0].first;
	*last = offset_table[sizeof(offset_table) / sizeof(offset_table[0]) - 1].last;
}
