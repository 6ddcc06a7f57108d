/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * TLS secrets in NSS key log format ("LABEL <client_random hex> <secret hex>"),
 * from any source (a tailed SSLKEYLOGFILE, Go's writeKeyLog probe). Secrets
 * go into the capture as Decryption Secrets Blocks; the packet path asks
 * whether a connection's secrets are complete before releasing its packets.
 */
#ifndef TLSDUMP_KEYLOG_H
#define TLSDUMP_KEYLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TLS_RANDOM_LEN 32

struct keylog;

/* Returns an empty key log; @path (may be NULL) is a file to tail for new lines. */
struct keylog *keylog_new(const char *path);

/* Frees the key log; accepts NULL. */
void keylog_free(struct keylog *kl);

/*
 * Adds one NSS key log line (without newline). Returns 1 if it was new and
 * valid, 0 if already known, -EINVAL if malformed (comments and blank lines
 * too: they carry no secret).
 */
int keylog_add_line(struct keylog *kl, const char *line);

/* Reads lines appended to the tailed file since the last call. Returns lines added or -errno. */
int keylog_poll_file(struct keylog *kl);

/*
 * Takes the lines added since the last call, newline separated, for one
 * Decryption Secrets Block. Returns a g_malloc'd string (caller frees) or
 * NULL when nothing is new.
 */
char *keylog_take_pending(struct keylog *kl, size_t *len);

/*
 * Tells whether the secrets for @client_random suffice to decrypt the whole
 * connection: CLIENT_RANDOM (TLS 1.2), or both handshake and both traffic
 * secrets (TLS 1.3).
 */
bool keylog_complete(const struct keylog *kl, const uint8_t client_random[TLS_RANDOM_LEN]);

/* Tells whether any source of secrets is configured (a file, or a probe feeding lines). */
bool keylog_active(const struct keylog *kl);

/* Marks the key log active though no file is tailed (a probe will feed it). */
void keylog_set_active(struct keylog *kl);

#endif /* TLSDUMP_KEYLOG_H */
