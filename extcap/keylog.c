/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "keylog.h"

#include <errno.h>
#include <glib.h>
#include <stdio.h>
#include <string.h>

/* Which secrets of a connection are known, as bits. */
enum secret_bit {
	SECRET_CLIENT_RANDOM = 1 << 0,		/* TLS 1.2 master secret */
	SECRET_CLIENT_HANDSHAKE = 1 << 1,
	SECRET_SERVER_HANDSHAKE = 1 << 2,
	SECRET_CLIENT_TRAFFIC_0 = 1 << 3,
	SECRET_SERVER_TRAFFIC_0 = 1 << 4,
	SECRET_OTHER = 1 << 5,			/* EXPORTER_SECRET, EARLY_* ... */
};
#define SECRETS_TLS13 (SECRET_CLIENT_HANDSHAKE | SECRET_SERVER_HANDSHAKE | \
		       SECRET_CLIENT_TRAFFIC_0 | SECRET_SERVER_TRAFFIC_0)

static const struct {
	const char *label;
	unsigned int bit;
} labels[] = {
	{ "CLIENT_RANDOM", SECRET_CLIENT_RANDOM },
	{ "CLIENT_HANDSHAKE_TRAFFIC_SECRET", SECRET_CLIENT_HANDSHAKE },
	{ "SERVER_HANDSHAKE_TRAFFIC_SECRET", SECRET_SERVER_HANDSHAKE },
	{ "CLIENT_TRAFFIC_SECRET_0", SECRET_CLIENT_TRAFFIC_0 },
	{ "SERVER_TRAFFIC_SECRET_0", SECRET_SERVER_TRAFFIC_0 },
	{ "EXPORTER_SECRET", SECRET_OTHER },
	{ "CLIENT_EARLY_TRAFFIC_SECRET", SECRET_OTHER },
	{ "EARLY_EXPORTER_SECRET", SECRET_OTHER },
};

struct keylog {
	char *path;
	long offset;	     /* bytes of the tailed file consumed */
	GString *partial;    /* a line not yet terminated */
	GHashTable *lines;   /* every line seen, to drop repeats */
	GHashTable *secrets; /* client random (64 hex chars) -> enum secret_bit mask */
	GString *pending;    /* lines for the next Decryption Secrets Block */
	bool active;
};

struct keylog *keylog_new(const char *path)
{
	struct keylog *kl = g_new0(struct keylog, 1);

	kl->path = g_strdup(path);
	kl->partial = g_string_new(NULL);
	kl->lines = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	kl->secrets = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	kl->pending = g_string_new(NULL);
	kl->active = path != NULL;
	return kl;
}

void keylog_free(struct keylog *kl)
{
	if (!kl)
		return;
	g_free(kl->path);
	g_string_free(kl->partial, TRUE);
	g_hash_table_destroy(kl->lines);
	g_hash_table_destroy(kl->secrets);
	g_string_free(kl->pending, TRUE);
	g_free(kl);
}

static bool is_hex(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!g_ascii_isxdigit(s[i]))
			return false;
	return true;
}

int keylog_add_line(struct keylog *kl, const char *line)
{
	char **f = g_strsplit(line, " ", -1);
	unsigned int bit = 0;
	char *random;
	int ret = -EINVAL;

	if (g_strv_length(f) != 3 || strlen(f[1]) != 2 * TLS_RANDOM_LEN ||
	    !is_hex(f[1], strlen(f[1])) || !*f[2] || !is_hex(f[2], strlen(f[2])))
		goto out;
	for (size_t i = 0; i < G_N_ELEMENTS(labels); i++)
		if (!strcmp(f[0], labels[i].label))
			bit = labels[i].bit;
	if (!bit)
		goto out;
	ret = 0;
	if (g_hash_table_contains(kl->lines, line))
		goto out;
	g_hash_table_add(kl->lines, g_strdup(line));
	random = g_ascii_strdown(f[1], -1);
	bit |= GPOINTER_TO_UINT(g_hash_table_lookup(kl->secrets, random));
	g_hash_table_replace(kl->secrets, random, GUINT_TO_POINTER(bit));
	g_string_append_printf(kl->pending, "%s\n", line);
	ret = 1;
out:
	g_strfreev(f);
	return ret;
}

int keylog_poll_file(struct keylog *kl)
{
	char buf[65536];
	size_t n;
	int added = 0;
	FILE *f;

	if (!kl->path)
		return 0;
	f = fopen(kl->path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno; /* the program has not created it yet */
	if (fseek(f, 0, SEEK_END) == 0 && ftell(f) < kl->offset) {
		kl->offset = 0; /* truncated and rewritten: start over */
		g_string_truncate(kl->partial, 0);
	}
	fseek(f, kl->offset, SEEK_SET);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		kl->offset += (long)n;
		for (size_t i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				g_string_append_c(kl->partial, buf[i]);
				continue;
			}
			g_strstrip(kl->partial->str);
			if (keylog_add_line(kl, kl->partial->str) == 1)
				added++;
			g_string_truncate(kl->partial, 0);
		}
	}
	fclose(f);
	return added;
}

char *keylog_take_pending(struct keylog *kl, size_t *len)
{
	char *out;

	if (!kl->pending->len)
		return NULL;
	*len = kl->pending->len;
	out = g_strndup(kl->pending->str, kl->pending->len);
	g_string_truncate(kl->pending, 0);
	return out;
}

bool keylog_complete(const struct keylog *kl, const uint8_t client_random[TLS_RANDOM_LEN])
{
	char hex[2 * TLS_RANDOM_LEN + 1];
	unsigned int bits;

	for (int i = 0; i < TLS_RANDOM_LEN; i++)
		snprintf(hex + 2 * i, 3, "%02x", client_random[i]);
	bits = GPOINTER_TO_UINT(g_hash_table_lookup(kl->secrets, hex));
	return (bits & SECRET_CLIENT_RANDOM) || (bits & SECRETS_TLS13) == SECRETS_TLS13;
}

bool keylog_active(const struct keylog *kl)
{
	return kl->active;
}

void keylog_set_active(struct keylog *kl)
{
	kl->active = true;
}
