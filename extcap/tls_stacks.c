/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "tls_stacks.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "elf_symbols.h"

enum {
	SYM_SSL_READ,
	SYM_SSL_WRITE,
	SYM_BORINGSSL_ONLY,
	SYM_GNUTLS_RECV,
	SYM_GNUTLS_SEND,
	SYM_NSPR_READ,
	SYM_NSPR_WRITE,
	SYM_COUNT,
};

static const char *const identifying_symbols[SYM_COUNT] = {
	[SYM_SSL_READ] = "SSL_read",
	[SYM_SSL_WRITE] = "SSL_write",
	/* A BoringSSL API OpenSSL never had: tells the two apart without a banner. */
	[SYM_BORINGSSL_ONLY] = "SSL_CTX_set_grease_enabled",
	[SYM_GNUTLS_RECV] = "gnutls_record_recv",
	[SYM_GNUTLS_SEND] = "gnutls_record_send",
	[SYM_NSPR_READ] = "PR_Read",
	[SYM_NSPR_WRITE] = "PR_Write",
};

/*
 * Copies into @out the version a sibling library of @path announces: the
 * file named @sibling in the same directory, searched for @prefix. Returns
 * 0 or -ENOENT.
 */
static int sibling_banner(const char *path, const char *sibling, const char *prefix, char *out,
			  size_t out_len)
{
	const char *slash = strrchr(path, '/');
	char sibling_path[4096];

	if (!slash)
		return -ENOENT;
	snprintf(sibling_path, sizeof(sibling_path), "%.*s/%s", (int)(slash - path), path, sibling);
	return elf_find_version_banner(sibling_path, prefix, out, out_len);
}

/* "OpenSSL 3.0.19 27 Jan 2026" -> "3.0.19": in the file itself, or in libcrypto beside a libssl. */
static void openssl_version(const char *path, char *out, size_t out_len)
{
	const char *base = strrchr(path, '/');
	const char *suffix = base ? strstr(base, "libssl") : NULL;
	char banner[128], crypto[64];

	if (elf_find_version(path, "OpenSSL ", ELF_VERSION_STRING_START, banner, sizeof(banner))) {
		if (!suffix)
			return;
		snprintf(crypto, sizeof(crypto), "libcrypto%s", suffix + strlen("libssl"));
		if (sibling_banner(path, crypto, "OpenSSL ", banner, sizeof(banner)))
			return;
	}
	if (sscanf(banner, "OpenSSL %31s", out) != 1)
		out[0] = '\0';
	(void)out_len;
}

/* NSPR carries no NSS version: libnss3 beside it says "Version: NSS 3.87.1". */
static void nss_version(const char *path, char *out, size_t out_len)
{
	char banner[128];

	if (!sibling_banner(path, "libnss3.so", "Version: NSS ", banner, sizeof(banner)) &&
	    sscanf(banner, "Version: NSS %31s", out) == 1)
		return;
	out[0] = '\0';
	(void)out_len;
}

int tls_stack_identify(const char *path, struct tls_stack_id *out)
{
	struct elf_symbol_query q[SYM_COUNT];
	int found;

	memset(out, 0, sizeof(*out));
	for (int i = 0; i < SYM_COUNT; i++)
		q[i] = (struct elf_symbol_query){ .name = identifying_symbols[i] };
	found = elf_find_functions(path, q, SYM_COUNT);
	if (found < 0)
		return found;
	if (q[SYM_SSL_READ].file_offset && q[SYM_SSL_WRITE].file_offset) {
		out->library = q[SYM_BORINGSSL_ONLY].file_offset ? TLSDUMP_LIB_BORINGSSL :
								   TLSDUMP_LIB_OPENSSL;
		/* BoringSSL has no version numbers: it is a moving tree. */
		if (out->library == TLSDUMP_LIB_OPENSSL)
			openssl_version(path, out->version, sizeof(out->version));
		return 0;
	}
	if (q[SYM_GNUTLS_RECV].file_offset && q[SYM_GNUTLS_SEND].file_offset) {
		out->library = TLSDUMP_LIB_GNUTLS;
		/* gnutls_check_version()'s answer, a bare "3.7.9" in .rodata. */
		elf_find_version(path, "3.", ELF_VERSION_STRING_START | ELF_VERSION_DIGITS_ONLY,
				 out->version, sizeof(out->version));
		return 0;
	}
	if (q[SYM_NSPR_READ].file_offset && q[SYM_NSPR_WRITE].file_offset) {
		out->library = TLSDUMP_LIB_NSS;
		nss_version(path, out->version, sizeof(out->version));
		return 0;
	}
	return -ENOENT;
}

const char *tls_stack_name(enum tlsdump_library library)
{
	switch (library) {
	case TLSDUMP_LIB_OPENSSL:
		return "openssl";
	case TLSDUMP_LIB_BORINGSSL:
		return "boringssl";
	case TLSDUMP_LIB_GO:
		return "go";
	case TLSDUMP_LIB_GNUTLS:
		return "gnutls";
	case TLSDUMP_LIB_NSS:
		return "nss";
	default:
		return "unknown";
	}
}
