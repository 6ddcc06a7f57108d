/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kubernetes metadata from pcapng packet comments: the extcap writes one
 * opt_comment per group (process, container, pod, peer), each a list of
 * `Key: value` lines (docs/record-format.md). This file picks the keys the
 * dissector shows as fields out of those lines. It has no Wireshark
 * dependency so the tests and the fuzz pass can drive it directly.
 */
#ifndef TLSDUMP_META_H
#define TLSDUMP_META_H

#include <stddef.h>

/* The keys the dissector knows, in the order it shows them. */
enum tlsdump_meta_key {
	TLSDUMP_META_NAMESPACE,	     /* PodNamespace */
	TLSDUMP_META_POD,	     /* PodName */
	TLSDUMP_META_POD_UID,	     /* PodUID */
	TLSDUMP_META_NODE,	     /* NodeName */
	TLSDUMP_META_CONTAINER,	     /* ContainerName */
	TLSDUMP_META_CONTAINER_ID,   /* ContainerId */
	TLSDUMP_META_IMAGE,	     /* ContainerImage */
	TLSDUMP_META_PEER_NAMESPACE, /* PeerNamespace */
	TLSDUMP_META_PEER_POD,	     /* PeerPod */
	TLSDUMP_META_PEER_SERVICE,   /* PeerService */
	TLSDUMP_META_COUNT,
};

/*
 * Longest value taken, in bytes. Kubernetes names are at most 253 bytes and
 * image references rarely pass a few hundred; a longer line is not ours or
 * is damaged, and is ignored rather than shown cut.
 */
#define TLSDUMP_META_MAX_VALUE 1024

/* One value: @len bytes at @ptr, inside the text given to the parser. */
struct tlsdump_meta_value {
	const char *ptr;
	size_t len;
};

/* The values found so far; ptr NULL for a key not seen. */
struct tlsdump_meta {
	struct tlsdump_meta_value v[TLSDUMP_META_COUNT];
};

/* Returns the comment key of @key ("PodNamespace", ...), or NULL when out of range. */
const char *tlsdump_meta_key_name(enum tlsdump_meta_key key);

/* Clears @m: no key seen. */
void tlsdump_meta_init(struct tlsdump_meta *m);

/*
 * Reads the `Key: value` lines of one comment, @text of @len bytes (need not
 * be NUL terminated), into @m. Lines end with LF, CRLF or the end of the
 * text. A line counts when it starts with a known key, exactly and in its
 * case, followed by a colon; blanks around the value are dropped. Values
 * already in @m stay (the first occurrence wins, across comments too); empty
 * values and values longer than TLSDUMP_META_MAX_VALUE are ignored; other
 * lines are skipped. The values found point into @text. Returns how many
 * keys this call set.
 */
unsigned tlsdump_meta_parse(struct tlsdump_meta *m, const char *text, size_t len);

#endif /* TLSDUMP_META_H */
