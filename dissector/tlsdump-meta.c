/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Kubernetes metadata from pcapng packet comments (see tlsdump-meta.h). */
#include "tlsdump-meta.h"

#include <string.h>

static const char *const key_names[TLSDUMP_META_COUNT] = {
	[TLSDUMP_META_NAMESPACE] = "PodNamespace",
	[TLSDUMP_META_POD] = "PodName",
	[TLSDUMP_META_POD_UID] = "PodUID",
	[TLSDUMP_META_NODE] = "NodeName",
	[TLSDUMP_META_CONTAINER] = "ContainerName",
	[TLSDUMP_META_CONTAINER_ID] = "ContainerId",
	[TLSDUMP_META_IMAGE] = "ContainerImage",
	[TLSDUMP_META_PEER_NAMESPACE] = "PeerNamespace",
	[TLSDUMP_META_PEER_POD] = "PeerPod",
	[TLSDUMP_META_PEER_SERVICE] = "PeerService",
};

const char *tlsdump_meta_key_name(enum tlsdump_meta_key key)
{
	if ((unsigned)key >= TLSDUMP_META_COUNT)
		return NULL;
	return key_names[key];
}

void tlsdump_meta_init(struct tlsdump_meta *m)
{
	memset(m, 0, sizeof(*m));
}

static int is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* Returns the key named by the @len bytes at @name, or TLSDUMP_META_COUNT. */
static enum tlsdump_meta_key find_key(const char *name, size_t len)
{
	unsigned k;

	for (k = 0; k < TLSDUMP_META_COUNT; k++)
		if (strlen(key_names[k]) == len && memcmp(key_names[k], name, len) == 0)
			return (enum tlsdump_meta_key)k;
	return TLSDUMP_META_COUNT;
}

/* Takes one line (without its LF) into @m. Returns 1 when it set a key. */
static unsigned parse_line(struct tlsdump_meta *m, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	const char *v, *end = line + len;
	enum tlsdump_meta_key key;

	if (!colon)
		return 0;
	key = find_key(line, (size_t)(colon - line));
	if (key == TLSDUMP_META_COUNT || m->v[key].ptr)
		return 0;
	for (v = colon + 1; v < end && is_blank(*v); v++)
		;
	while (end > v && is_blank(end[-1]))
		end--;
	if (end == v || (size_t)(end - v) > TLSDUMP_META_MAX_VALUE)
		return 0;
	m->v[key].ptr = v;
	m->v[key].len = (size_t)(end - v);
	return 1;
}

unsigned tlsdump_meta_parse(struct tlsdump_meta *m, const char *text, size_t len)
{
	const char *p = text, *end = text + len;
	unsigned set = 0;

	if (!text)
		return 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl : end;

		set += parse_line(m, p, (size_t)(eol - p));
		p = nl ? nl + 1 : end;
	}
	return set;
}
