/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Known answers of the packet comment parser behind the tlsdump.k8s.* fields
 * (dissector/tlsdump-meta.c): the comment groups the extcap writes, and the
 * forms it must survive (CRLF, no final line end, duplicates, empty and
 * overlong values, look-alike keys). The fuzz pass (fuzz_decoders) covers
 * random input.
 */
#include <string.h>

#include "check.h"
#include "tlsdump-meta.h"

/* Whether key @k holds exactly @want (NULL: not set). */
static int has(const struct tlsdump_meta *m, enum tlsdump_meta_key k, const char *want)
{
	if (!want)
		return m->v[k].ptr == NULL;
	return m->v[k].ptr && m->v[k].len == strlen(want) &&
	       memcmp(m->v[k].ptr, want, m->v[k].len) == 0;
}

static unsigned parse(struct tlsdump_meta *m, const char *text)
{
	return tlsdump_meta_parse(m, text, strlen(text));
}

static void test_groups(void)
{
	struct tlsdump_meta m;

	tlsdump_meta_init(&m);
	CHECK(parse(&m, "PID: 1\nThreadId: 2\nComm: curl\nCmd: curl -k\nExe: /usr/bin/curl\n") == 0,
	      "process keys are not ours");
	CHECK(parse(&m, "ContainerName: web\nContainerId: abc123\n"
			"ContainerImage: reg.example/shop/web:1.2\n") == 3, "container group");
	CHECK(parse(&m, "PodName: web-1\nPodNamespace: shop\nPodUID: 1-2-3\nNodeName: n1\n") == 4,
	      "pod group");
	CHECK(parse(&m, "PeerPod: pay-1\nPeerNamespace: shop\nPeerService: payments\n") == 3,
	      "peer group");
	CHECK(has(&m, TLSDUMP_META_CONTAINER, "web"), "ContainerName");
	CHECK(has(&m, TLSDUMP_META_CONTAINER_ID, "abc123"), "ContainerId");
	CHECK(has(&m, TLSDUMP_META_IMAGE, "reg.example/shop/web:1.2"), "colons in a value");
	CHECK(has(&m, TLSDUMP_META_POD, "web-1"), "PodName");
	CHECK(has(&m, TLSDUMP_META_NAMESPACE, "shop"), "PodNamespace");
	CHECK(has(&m, TLSDUMP_META_POD_UID, "1-2-3"), "PodUID");
	CHECK(has(&m, TLSDUMP_META_NODE, "n1"), "NodeName");
	CHECK(has(&m, TLSDUMP_META_PEER_POD, "pay-1"), "PeerPod");
	CHECK(has(&m, TLSDUMP_META_PEER_NAMESPACE, "shop"), "PeerNamespace");
	CHECK(has(&m, TLSDUMP_META_PEER_SERVICE, "payments"), "PeerService");
}

static void test_line_ends(void)
{
	struct tlsdump_meta m;
	static const char text[] = "PodName: a\r\nPodNamespace: b\r\n\r\nNodeName: c";

	tlsdump_meta_init(&m);
	CHECK(parse(&m, text) == 3, "CRLF lines and a last line without end");
	CHECK(has(&m, TLSDUMP_META_POD, "a") && has(&m, TLSDUMP_META_NAMESPACE, "b") &&
		      has(&m, TLSDUMP_META_NODE, "c"),
	      "CR or missing line end kept in a value");

	/* The length bounds the text: nothing after it is read. */
	tlsdump_meta_init(&m);
	CHECK(tlsdump_meta_parse(&m, "PodName: abcdef", 12) == 1 &&
		      has(&m, TLSDUMP_META_POD, "abc"),
	      "text not cut at its length");
	tlsdump_meta_init(&m);
	CHECK(tlsdump_meta_parse(&m, NULL, 0) == 0 && tlsdump_meta_parse(&m, "", 0) == 0,
	      "empty text");
}

static void test_first_wins(void)
{
	struct tlsdump_meta m;

	tlsdump_meta_init(&m);
	CHECK(parse(&m, "PodName: first\nPodName: second\n") == 1, "duplicate in one comment");
	CHECK(parse(&m, "PodName: third\nPodNamespace: ns\n") == 1, "duplicate in a later comment");
	CHECK(has(&m, TLSDUMP_META_POD, "first"), "the first occurrence wins");
	CHECK(has(&m, TLSDUMP_META_NAMESPACE, "ns"), "other keys of the later comment count");
}

static void test_ignored(void)
{
	struct tlsdump_meta m;
	char line[64 + TLSDUMP_META_MAX_VALUE + 2];
	size_t n;

	tlsdump_meta_init(&m);
	CHECK(parse(&m, "podname: a\nPodName : b\n PodName: c\nPodNameX: d\nPod: e\n"
			"PodName\nno colon\n: f\n") == 0,
	      "look-alike keys");
	CHECK(parse(&m, "PodName:\nPodName: \t \r\n") == 0, "empty values");
	CHECK(parse(&m, "PodName:x y \t\n") == 1 && has(&m, TLSDUMP_META_POD, "x y"),
	      "no blank after the colon; inner blank kept, trailing ones dropped");

	/* One byte over the limit: ignored, so a later value can still win. */
	n = (size_t)snprintf(line, sizeof(line), "ContainerImage: ");
	memset(line + n, 'i', TLSDUMP_META_MAX_VALUE + 1);
	line[n + TLSDUMP_META_MAX_VALUE + 1] = '\0';
	CHECK(parse(&m, line) == 0 && has(&m, TLSDUMP_META_IMAGE, NULL), "overlong value taken");
	line[n + TLSDUMP_META_MAX_VALUE] = '\0';
	CHECK(parse(&m, line) == 1 && m.v[TLSDUMP_META_IMAGE].len == TLSDUMP_META_MAX_VALUE,
	      "value of the maximum length not taken");
}

static void test_key_names(void)
{
	CHECK(strcmp(tlsdump_meta_key_name(TLSDUMP_META_NAMESPACE), "PodNamespace") == 0, "name");
	CHECK(strcmp(tlsdump_meta_key_name(TLSDUMP_META_PEER_SERVICE), "PeerService") == 0, "name");
	CHECK(tlsdump_meta_key_name(TLSDUMP_META_COUNT) == NULL, "name out of range");
}

int main(void)
{
	test_groups();
	test_line_ends();
	test_first_wins();
	test_ignored();
	test_key_names();
	return check_exit_status("test_meta");
}
