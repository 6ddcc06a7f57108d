/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Which TLS implementation an ELF file carries, told by the functions it
 * defines rather than by its name: a statically linked OpenSSL inside an
 * executable (node, envoy) counts as much as libssl.so.3.
 */
#ifndef TLSDUMP_TLS_STACKS_H
#define TLSDUMP_TLS_STACKS_H

#include "record.h"

struct tls_stack_id {
	enum tlsdump_library library;
	char version[32]; /* "3.0.19", "" when unknown */
};

/*
 * Identifies the TLS stack whose read/write functions @path defines.
 * Returns 0 and fills @out, -ENOENT when it defines none, -ENOEXEC when it
 * is not a valid ELF file, or -errno when it cannot be read.
 */
int tls_stack_identify(const char *path, struct tls_stack_id *out);

/* Returns the lower-case name of @library for reports ("openssl", "go", ...). */
const char *tls_stack_name(enum tlsdump_library library);

#endif /* TLSDUMP_TLS_STACKS_H */
