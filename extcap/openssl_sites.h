/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cheaper probe sites for OpenSSL. The public SSL_read/SSL_write begin with
 * `sub $N,%rsp`, which a uprobe must single-step (~9 us a hit here); both
 * they and the _ex variants are thin wrappers around ssl_read_internal /
 * ssl_write_internal, which begin with `push`, which the kernel emulates
 * (<1 us). The internal functions are not exported: they are found as the
 * common call target of the wrappers, and used only when everything checks.
 */
#ifndef TLSDUMP_OPENSSL_SITES_H
#define TLSDUMP_OPENSSL_SITES_H

#include <stdbool.h>
#include <stdint.h>

struct openssl_sites {
	uint64_t read_internal;	 /* file offset of ssl_read_internal, 0 if not found */
	uint64_t write_internal; /* file offset of ssl_write_internal, 0 if not found */
	/* OpenSSL 3.3+ (SSL_write_ex2): ssl_write_internal(s, buf, num, flags, written) */
	bool write_has_flags;
	char reason[128];	 /* why the sites were not used, for --list-targets */
};

/*
 * Looks for the internal read/write functions of the libssl at @path (x86-64
 * only): each must be the first direct call target of both the plain and the
 * _ex wrapper, and start with an instruction the kernel emulates. Returns 0
 * when both were found, or -ENOENT with @sites->reason set.
 */
int openssl_find_sites(const char *path, struct openssl_sites *sites);

#endif /* TLSDUMP_OPENSSL_SITES_H */
