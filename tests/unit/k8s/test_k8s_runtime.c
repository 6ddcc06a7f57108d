/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * extcap/k8s_runtime.c: containerd and CRI-O bundle config.json files and
 * libcni's result cache, as fixtures/ holds them, found in scratch state
 * directories; and the same files damaged (truncated at every length, bytes
 * flipped, wrong types, missing or oversized fields, deep nesting, huge
 * files, FIFOs), which must be refused with a message, never crash.
 *
 * Usage: test_k8s_runtime <fixtures dir>
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include "k8s_runtime.h"
#include "test_k8s_common.h"

#define CRIO_CONFIG "crio/overlay-containers/%s/userdata/config.json"

/* Returns @text with the first occurrence of @from replaced by @to (g_free). */
static char *replace(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);

	REQUIRE(at, "fixture lacks %s", from);
	return g_strdup_printf("%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
}

static bool ip_is(const struct k8s_ip *ip, const char *text)
{
	struct k8s_ip want;

	return !k8s_parse_ip(text, &want) && ip->family == want.family &&
	       !memcmp(ip->addr, want.addr, sizeof(want.addr));
}

static int parse_text(enum k8s_runtime rt, const char *text, const char *id,
		      struct k8s_container_info *info, char *err, size_t err_len)
{
	err[0] = '\0';
	return k8s_runtime_parse_config(rt, text, strlen(text), id, info, err, err_len);
}

static void test_parse_ip(void)
{
	struct k8s_ip ip;
	static const uint8_t v4[16] = { 10, 1, 2, 3 };

	CHECK(!k8s_parse_ip("10.1.2.3/24", &ip) && ip.family == AF_INET &&
		      !memcmp(ip.addr, v4, 16),
	      "v4 with prefix");
	CHECK(!k8s_parse_ip("10.1.2.3", &ip) && ip.family == AF_INET, "v4");
	CHECK(!k8s_parse_ip("fd00:10:244:1::9/64", &ip) && ip.family == AF_INET6 &&
		      ip.addr[0] == 0xfd && ip.addr[15] == 9,
	      "v6 with prefix");
	CHECK(!k8s_parse_ip("::1", &ip) && ip.family == AF_INET6 && ip.addr[15] == 1, "v6");
	CHECK(k8s_parse_ip("", &ip) == -EINVAL, "empty");
	CHECK(k8s_parse_ip("10.1.2.3/", &ip) == -EINVAL, "empty prefix");
	CHECK(k8s_parse_ip("10.1.2.3/129", &ip) == -EINVAL, "prefix 129");
	CHECK(k8s_parse_ip("10.1.2.3/2x", &ip) == -EINVAL, "prefix 2x");
	CHECK(k8s_parse_ip("10.1.2.300", &ip) == -EINVAL, "octet 300");
	CHECK(k8s_parse_ip("pod.example", &ip) == -EINVAL, "a name");
	CHECK(k8s_parse_ip("fe80::1%eth0", &ip) == -EINVAL, "zone index");
}

static void test_containerd(void)
{
	struct k8s_container_info info;
	char err[256];
	char *text = fixture("containerd_container.json", NULL);
	int ret = parse_text(K8S_RUNTIME_CONTAINERD, text, C1_ID, &info, err, sizeof(err));

	CHECK(ret == 0, "containerd container: %d %s", ret, err);
	CHECK(info.runtime == K8S_RUNTIME_CONTAINERD && info.type == K8S_CONTAINER_WORKLOAD,
	      "runtime %d type %d", info.runtime, info.type);
	CHECK(!strcmp(info.container_id, C1_ID), "id %s", info.container_id);
	CHECK(!strcmp(info.container_name, "nginx"), "name %s", info.container_name);
	CHECK(!strcmp(info.image, "docker.io/library/nginx:1.25"), "image %s", info.image);
	CHECK(!strcmp(info.pod_name, "web-0"), "pod %s", info.pod_name);
	CHECK(!strcmp(info.pod_namespace, "default"), "namespace %s", info.pod_namespace);
	CHECK(!strcmp(info.pod_uid, POD1_UID), "uid %s", info.pod_uid);
	CHECK(!strcmp(info.sandbox_id, S1_ID), "sandbox %s", info.sandbox_id);
	CHECK(info.n_ips == 0, "containerd records no IP");
	g_free(text);

	text = fixture("containerd_sandbox.json", NULL);
	ret = parse_text(K8S_RUNTIME_CONTAINERD, text, S1_ID, &info, err, sizeof(err));
	CHECK(ret == 0, "containerd sandbox: %d %s", ret, err);
	CHECK(info.type == K8S_CONTAINER_SANDBOX, "type %d", info.type);
	CHECK(!info.container_name[0], "sandbox named %s", info.container_name);
	CHECK(!strcmp(info.container_id, S1_ID) && !strcmp(info.sandbox_id, S1_ID), "sandbox ids");
	CHECK(!strcmp(info.image, "registry.k8s.io/pause:3.9"), "image %s", info.image);
	CHECK(!strcmp(info.pod_name, "web-0") && !strcmp(info.pod_uid, POD1_UID), "sandbox pod");
	/* Without the directory's id, a sandbox is named by its sandbox-id. */
	ret = parse_text(K8S_RUNTIME_CONTAINERD, text, NULL, &info, err, sizeof(err));
	CHECK(ret == 0 && !strcmp(info.container_id, S1_ID), "sandbox without id: %s",
	      info.container_id);
	g_free(text);

	/* containerd before 1.5: no sandbox-uid; still a pod container. */
	text = fixture("containerd_container.json", NULL);
	{
		char *old = replace(text, "io.kubernetes.cri.sandbox-uid", "x-uid");

		ret = parse_text(K8S_RUNTIME_CONTAINERD, old, C1_ID, &info, err, sizeof(err));
		CHECK(ret == 0 && !info.pod_uid[0] && !strcmp(info.pod_name, "web-0"),
		      "no sandbox-uid: %d %s", ret, err);
		g_free(old);
	}
	g_free(text);

	text = fixture("plain_container.json", NULL);
	ret = parse_text(K8S_RUNTIME_CONTAINERD, text, C1_ID, &info, err, sizeof(err));
	CHECK(ret == -ENODATA && err[0], "plain container: %d", ret);
	CHECK(!info.pod_name[0] && !info.container_id[0], "a refused file leaves fields filled");
	g_free(text);
}

static void test_crio(void)
{
	struct k8s_container_info info;
	char err[256];
	char *text = fixture("crio_container.json", NULL);
	int ret = parse_text(K8S_RUNTIME_CRIO, text, C2_ID, &info, err, sizeof(err));

	CHECK(ret == 0, "cri-o container: %d %s", ret, err);
	CHECK(info.runtime == K8S_RUNTIME_CRIO && info.type == K8S_CONTAINER_WORKLOAD, "type %d",
	      info.type);
	CHECK(!strcmp(info.container_id, C2_ID), "id %s", info.container_id);
	CHECK(!strcmp(info.container_name, "api"), "name %s", info.container_name);
	CHECK(!strcmp(info.image, "quay.io/shop/api:v2.3.1"), "image %s", info.image);
	CHECK(!strcmp(info.pod_name, "api-7d4b9c-x2x9z"), "pod %s", info.pod_name);
	CHECK(!strcmp(info.pod_namespace, "shop"), "namespace %s", info.pod_namespace);
	CHECK(!strcmp(info.pod_uid, POD2_UID), "uid %s", info.pod_uid);
	CHECK(!strcmp(info.sandbox_id, S2_ID), "sandbox %s", info.sandbox_id);
	CHECK(info.n_ips == 1 && ip_is(&info.ips[0], "10.85.0.7"), "ips %u", info.n_ips);
	/* The id annotation alone names the container when the caller has none. */
	ret = parse_text(K8S_RUNTIME_CRIO, text, NULL, &info, err, sizeof(err));
	CHECK(ret == 0 && !strcmp(info.container_id, C2_ID), "id from annotation");
	/* A directory whose id disagrees with the annotation is suspicious. */
	ret = parse_text(K8S_RUNTIME_CRIO, text, C1_ID, &info, err, sizeof(err));
	CHECK(ret == -EINVAL && strstr(err, "differs"), "id mismatch: %d %s", ret, err);
	g_free(text);

	text = fixture("crio_sandbox.json", NULL);
	ret = parse_text(K8S_RUNTIME_CRIO, text, S2_ID, &info, err, sizeof(err));
	CHECK(ret == 0, "cri-o sandbox: %d %s", ret, err);
	CHECK(info.type == K8S_CONTAINER_SANDBOX && !info.container_name[0], "sandbox %d %s",
	      info.type, info.container_name);
	CHECK(info.n_ips == 2 && ip_is(&info.ips[0], "10.85.0.7") &&
		      ip_is(&info.ips[1], "fd00:10:85::7"),
	      "dual-stack ips: %u", info.n_ips);
	CHECK(!strcmp(info.image, "registry.k8s.io/pause:3.9"), "image fallback %s", info.image);
	g_free(text);

	/* Pod identity only in the Labels JSON, the name in Metadata, the old single IP. */
	text = fixture("crio_container_labels_only.json", NULL);
	ret = parse_text(K8S_RUNTIME_CRIO, text, C3_ID, &info, err, sizeof(err));
	CHECK(ret == 0, "labels only: %d %s", ret, err);
	CHECK(!strcmp(info.pod_name, "cache-0") && !strcmp(info.pod_namespace, "shop") &&
		      !strcmp(info.pod_uid, POD2_UID),
	      "labels pod %s/%s %s", info.pod_namespace, info.pod_name, info.pod_uid);
	CHECK(!strcmp(info.container_name, "redis"), "metadata name %s", info.container_name);
	CHECK(!strcmp(info.image, "docker.io/library/redis:7"), "image %s", info.image);
	CHECK(info.n_ips == 1 && ip_is(&info.ips[0], "10.85.0.9"), "plain IP");
	g_free(text);

	/* Old and new IP annotations naming the same address count once. */
	text = fixture("crio_sandbox.json", NULL);
	{
		char *both = replace(text, "\"io.kubernetes.cri-o.IP.1\": \"fd00:10:85::7\"",
				     "\"io.kubernetes.cri-o.IP\": \"10.85.0.7\"");

		ret = parse_text(K8S_RUNTIME_CRIO, both, S2_ID, &info, err, sizeof(err));
		CHECK(ret == 0 && info.n_ips == 1, "IP and IP.0 alike: %d, %u ips", ret,
		      info.n_ips);
		g_free(both);
	}
	g_free(text);

	text = fixture("plain_container.json", NULL);
	CHECK(parse_text(K8S_RUNTIME_CRIO, text, C2_ID, &info, err, sizeof(err)) == -ENODATA,
	      "plain container as CRI-O");
	CHECK(parse_text(K8S_RUNTIME_DOCKER, text, C2_ID, &info, err, sizeof(err)) == -EINVAL,
	      "no parser for docker");
	g_free(text);
}

struct bad_case {
	const char *name;
	enum k8s_runtime rt;
	const char *fixture;
	const char *from, *to; /* the damage: a replacement in the fixture */
	int ret;
	const char *err_has;   /* a word the message must hold */
};

static const struct bad_case bad_cases[] = {
	{ "annotations an array", K8S_RUNTIME_CONTAINERD, "containerd_container.json",
	  "\"annotations\": {", "\"annotations\": [], \"x\": {", -EINVAL, "annotations" },
	{ "annotations null", K8S_RUNTIME_CONTAINERD, "containerd_container.json",
	  "\"annotations\": {", "\"annotations\": null, \"x\": {", -ENODATA, "annotations" },
	{ "no annotations", K8S_RUNTIME_CRIO, "crio_container.json", "\"annotations\"",
	  "\"notations\"", -ENODATA, "annotations" },
	{ "pod name a number", K8S_RUNTIME_CONTAINERD, "containerd_container.json",
	  "\"io.kubernetes.cri.sandbox-name\": \"web-0\"", "\"io.kubernetes.cri.sandbox-name\": 7",
	  -EINVAL, "sandbox-name" },
	{ "container name an object", K8S_RUNTIME_CRIO, "crio_container.json",
	  "\"io.kubernetes.container.name\": \"api\"", "\"io.kubernetes.container.name\": {}",
	  -EINVAL, "container.name" },
	{ "unknown container type", K8S_RUNTIME_CONTAINERD, "containerd_container.json",
	  "container-type\": \"container\"", "container-type\": \"vm\"", -EINVAL,
	  "container-type" },
	{ "no namespace", K8S_RUNTIME_CONTAINERD, "containerd_container.json",
	  "io.kubernetes.cri.sandbox-namespace", "x-namespace", -ENODATA, "sandbox-namespace" },
	{ "no container name", K8S_RUNTIME_CONTAINERD, "containerd_container.json",
	  "io.kubernetes.cri.container-name", "x-name", -ENODATA, "container-name" },
	{ "empty pod name", K8S_RUNTIME_CONTAINERD, "containerd_container.json",
	  "\"io.kubernetes.cri.sandbox-name\": \"web-0\"",
	  "\"io.kubernetes.cri.sandbox-name\": \"\"",
	  -ENODATA, "sandbox-name" },
	{ "line break in a name", K8S_RUNTIME_CONTAINERD, "containerd_container.json",
	  "\"nginx\"", "\"ng\\nPodName: evil\"", -EINVAL, "container-name" },
	{ "space in an image", K8S_RUNTIME_CONTAINERD, "containerd_container.json",
	  "nginx:1.25", "nginx:1.25 x", -EINVAL, "image-name" },
	{ "bad uid", K8S_RUNTIME_CONTAINERD, "containerd_container.json", "6f1c2b3a-1d2e",
	  "6f1c2b3a-zzze", -EINVAL, "sandbox-uid" },
	{ "sandbox id a path", K8S_RUNTIME_CRIO, "crio_container.json",
	  "\"io.kubernetes.cri-o.SandboxID\": \"", "\"io.kubernetes.cri-o.SandboxID\": \"../",
	  -EINVAL,
	  "SandboxID" },
	{ "bad IP", K8S_RUNTIME_CRIO, "crio_container.json", "\"10.85.0.7\"", "\"10.85.0.700\"",
	  -EINVAL, "IP.0" },
	{ "labels not JSON", K8S_RUNTIME_CRIO, "crio_container.json",
	  "\"io.kubernetes.cri-o.Labels\": \"{", "\"io.kubernetes.cri-o.Labels\": \"{{", -EINVAL,
	  "Labels" },
	{ "labels a list", K8S_RUNTIME_CRIO, "crio_container_labels_only.json",
	  "\"io.kubernetes.cri-o.Labels\": \"{",
	  "\"io.kubernetes.cri-o.Labels\": \"[1]\", \"x\": \"{",
	  -EINVAL, "Labels" },
	{ "root an array", K8S_RUNTIME_CONTAINERD, "containerd_container.json", "{", "[{", -EINVAL,
	  NULL },
	{ "invalid UTF-8", K8S_RUNTIME_CONTAINERD, "containerd_container.json", "web-0",
	  "web-\xff\xfe", -EINVAL, NULL },
};

static void test_malformed(void)
{
	struct k8s_container_info info;
	char err[256];
	int ret;

	for (size_t i = 0; i < G_N_ELEMENTS(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		char *text = fixture(c->fixture, NULL), *bad = replace(text, c->from, c->to);

		ret = parse_text(c->rt, bad, NULL, &info, err, sizeof(err));
		CHECK(ret == c->ret, "%s: returned %d (%s), want %d", c->name, ret, err, c->ret);
		CHECK(err[0] && (!c->err_has || strstr(err, c->err_has)), "%s: message \"%s\"",
		      c->name, err);
		CHECK(!info.pod_name[0] && !info.container_name[0], "%s: fields left filled",
		      c->name);
		g_free(bad);
		g_free(text);
	}

	/* Non-objects and empty input. */
	CHECK(parse_text(K8S_RUNTIME_CONTAINERD, "", NULL, &info, err, sizeof(err)) == -EINVAL,
	      "empty text");
	CHECK(parse_text(K8S_RUNTIME_CONTAINERD, "42", NULL, &info, err, sizeof(err)) == -EINVAL,
	      "a number");
	CHECK(parse_text(K8S_RUNTIME_CONTAINERD, "{}", NULL, &info, err, sizeof(err)) == -ENODATA,
	      "an empty object");
	CHECK(parse_text(K8S_RUNTIME_CONTAINERD, "{\"annotations\":{}}", C1_ID, &info, err,
			 sizeof(err)) == -ENODATA,
	      "no CRI annotations");
	CHECK(parse_text(K8S_RUNTIME_CONTAINERD, "{\"annotations\":{}}", "../../etc", &info, err,
			 sizeof(err)) == -EINVAL,
	      "id with a path");

	/* Oversized fields: names are refused, an image is cut. */
	{
		char *text = fixture("containerd_container.json", NULL);
		char *long_name = g_strnfill(300, 'a'), *long_image = g_strnfill(400, 'i');
		char *to = g_strdup_printf("\"io.kubernetes.cri.sandbox-name\": \"%s\"", long_name);
		char *bad = replace(text, "\"io.kubernetes.cri.sandbox-name\": \"web-0\"", to);

		ret = parse_text(K8S_RUNTIME_CONTAINERD, bad, C1_ID, &info, err, sizeof(err));
		CHECK(ret == -EINVAL && strstr(err, "300"), "300-char pod name: %d %s", ret, err);
		g_free(bad);
		g_free(to);
		to = g_strdup_printf("\"docker.io/%s\"", long_image);
		bad = replace(text, "\"docker.io/library/nginx:1.25\"", to);
		ret = parse_text(K8S_RUNTIME_CONTAINERD, bad, C1_ID, &info, err, sizeof(err));
		CHECK(ret == 0 && strlen(info.image) == sizeof(info.image) - 1 &&
			      g_str_has_prefix(info.image, "docker.io/iii") &&
			      g_str_has_suffix(info.image, "..."),
		      "long image: %d %zu", ret, strlen(info.image));
		g_free(bad);
		g_free(to);
		to = g_strdup_printf("\"io.kubernetes.cri.container-name\": \"%s\"", long_name);
		bad = replace(text, "\"io.kubernetes.cri.container-name\": \"nginx\"", to);
		CHECK(parse_text(K8S_RUNTIME_CONTAINERD, bad, C1_ID, &info, err, sizeof(err)) ==
			      -EINVAL,
		      "300-char container name");
		g_free(bad);
		g_free(to);
		g_free(long_image);
		g_free(long_name);
		g_free(text);
	}

	/* Nesting deep enough to exhaust a recursive parser's stack. */
	{
		size_t depth = 200000;
		GString *deep = g_string_new("{\"annotations\":");

		for (size_t i = 0; i < depth; i++)
			g_string_append_c(deep, '[');
		ret = parse_text(K8S_RUNTIME_CONTAINERD, deep->str, NULL, &info, err, sizeof(err));
		CHECK(ret == -EINVAL && strstr(err, "nested"), "deep nesting: %d %s", ret, err);
		g_string_free(deep, TRUE);
		/* Brackets inside strings are no nesting. */
		ret = parse_text(K8S_RUNTIME_CONTAINERD,
				 "{\"annotations\":{\"x\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
				 "[[[[[[[[[[[[[[\\\"[[[[[\"}}",
				 NULL, &info, err, sizeof(err));
		CHECK(ret == -ENODATA, "brackets in a string: %d %s", ret, err);
	}

	/* Too big, whatever it holds. */
	{
		size_t len = 5 * 1024 * 1024;
		char *big = g_malloc(len + 1);

		memset(big, ' ', len);
		big[0] = '{';
		big[len - 1] = '}';
		big[len] = '\0';
		ret = k8s_runtime_parse_config(K8S_RUNTIME_CRIO, big, len, NULL, &info, err,
					       sizeof(err));
		CHECK(ret == -EFBIG, "5 MiB config: %d", ret);
		g_free(big);
	}

	/* Truncated at every length, and bytes flipped: refused or parsed, never a crash. */
	{
		size_t len;
		char *text = fixture("crio_container.json", &len);
		int accepted = 0;

		for (size_t cut = 0; cut < len - 2; cut += 3) {
			ret = k8s_runtime_parse_config(K8S_RUNTIME_CRIO, text, cut, C2_ID, &info,
						       err, sizeof(err));
			accepted += ret == 0;
			CHECK(ret == 0 || err[0], "cut at %zu: no message", cut);
		}
		CHECK(!accepted, "%d truncated files accepted", accepted);
		ret = k8s_runtime_parse_config(K8S_RUNTIME_CRIO, text, len / 2, C2_ID, &info, err,
					       sizeof(err));
		CHECK(ret == -EINVAL, "half a file: %d", ret);

		g_random_set_seed(7);
		for (int round = 0; round < 2000; round++) {
			char *copy = g_memdup2(text, len + 1);

			for (int k = 0; k < 4; k++) {
				gint32 at = g_random_int_range(0, (gint32)len);

				copy[at] = (char)g_random_int_range(0, 256);
			}
			k8s_runtime_parse_config(K8S_RUNTIME_CRIO, copy, len, C2_ID, &info, err,
						 sizeof(err));
			g_free(copy);
		}
		g_free(text);
	}
	/* No error buffer: still refused. */
	CHECK(k8s_runtime_parse_config(K8S_RUNTIME_CRIO, "{", 1, NULL, &info, NULL, 0) == -EINVAL,
	      "NULL error buffer");
}

static void test_cni(void)
{
	struct k8s_cni_entry e;
	char err[256] = "";
	size_t len;
	char *text = fixture("cni_bridge_v4.json", &len);
	int ret = k8s_cni_parse(text, len, &e, err, sizeof(err));

	CHECK(ret == 0, "bridge v4: %d %s", ret, err);
	CHECK(!strcmp(e.sandbox_id, S1_ID), "sandbox %s", e.sandbox_id);
	CHECK(!strcmp(e.pod_namespace, "default") && !strcmp(e.pod_name, "web-0") &&
		      !strcmp(e.pod_uid, POD1_UID),
	      "pod %s/%s %s", e.pod_namespace, e.pod_name, e.pod_uid);
	CHECK(e.n_ips == 1 && ip_is(&e.ips[0], "10.244.1.5"), "ips %u", e.n_ips);
	g_free(text);

	text = fixture("cni_dualstack.json", &len);
	ret = k8s_cni_parse(text, len, &e, err, sizeof(err));
	CHECK(ret == 0 && e.n_ips == 2 && ip_is(&e.ips[0], "10.244.1.9") &&
		      ip_is(&e.ips[1], "fd00:10:244:1::9") && e.ips[1].family == AF_INET6,
	      "dual stack: %d %u", ret, e.n_ips);
	CHECK(!strcmp(e.pod_name, "coredns-5d78c9869d-abcde") && !strcmp(e.pod_uid, POD4_UID),
	      "dual stack pod %s", e.pod_name);
	g_free(text);

	text = fixture("cni_legacy_020.json", &len);
	ret = k8s_cni_parse(text, len, &e, err, sizeof(err));
	CHECK(ret == 0 && e.n_ips == 1 && ip_is(&e.ips[0], "10.22.0.4") && !e.pod_uid[0] &&
		      !strcmp(e.pod_name, "old-1"),
	      "0.2.0 result: %d %s", ret, err);
	g_free(text);

	text = fixture("cni_not_pod.json", &len);
	ret = k8s_cni_parse(text, len, &e, err, sizeof(err));
	CHECK(ret == -ENODATA && strstr(err, "cniArgs"), "no cniArgs: %d %s", ret, err);
	g_free(text);

	text = fixture("cni_bridge_v4.json", &len);
	{
		static const struct {
			const char *name, *from, *to;
			int ret;
		} cases[] = {
			{ "wrong kind", "cniCacheV1", "cniCacheV2", -ENODATA },
			{ "kind a number", "\"cniCacheV1\"", "1", -ENODATA },
			{ "no containerId", "\"containerId\"", "\"containerID\"", -ENODATA },
			{ "containerId a path", "\"containerId\": \"", "\"containerId\": \"/",
			  -EINVAL },
			{ "cniArgs an object", "\"cniArgs\": [", "\"cniArgs\": {}, \"x\": [",
			  -EINVAL },
			{ "a triple in cniArgs", "[\n      \"IgnoreUnknown\",\n      \"1\"\n    ]",
			  "[\"IgnoreUnknown\", \"1\", \"2\"]", -EINVAL },
			{ "a number in cniArgs", "\"K8S_POD_NAME\",\n      \"web-0\"",
			  "\"K8S_POD_NAME\", 5", -EINVAL },
			{ "no pod name", "K8S_POD_NAME", "K8S_POD_NAMX", -ENODATA },
			{ "a line break in the pod name", "\"web-0\"", "\"web\\n0\"", -EINVAL },
			{ "address a number", "\"10.244.1.5/24\"", "17", -EINVAL },
			{ "address not an IP", "\"10.244.1.5/24\"", "\"10.244.1/24\"", -EINVAL },
			{ "ips an object", "\"ips\": [", "\"ips\": {}, \"x\": [", -EINVAL },
			{ "no ips", "\"ips\"", "\"pis\"", -ENODATA },
			{ "result a string", "\"result\": {", "\"result\": \"\", \"x\": {",
			  -EINVAL },
		};

		for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
			char *bad = replace(text, cases[i].from, cases[i].to);

			err[0] = '\0';
			ret = k8s_cni_parse(bad, strlen(bad), &e, err, sizeof(err));
			CHECK(ret == cases[i].ret && err[0], "%s: %d (%s), want %d", cases[i].name,
			      ret, err, cases[i].ret);
			CHECK(!e.pod_name[0] && !e.n_ips, "%s: fields left filled", cases[i].name);
			g_free(bad);
		}
		{
			char *name = g_strnfill(300, 'p');
			char *to = g_strdup_printf("\"%s\"", name);
			char *bad = replace(text, "\"web-0\"", to);

			CHECK(k8s_cni_parse(bad, strlen(bad), &e, err, sizeof(err)) == -EINVAL,
			      "300-char pod name");
			g_free(bad);
			g_free(to);
			g_free(name);
		}
		for (size_t cut = 0; cut < len - 2; cut += 5)
			CHECK(k8s_cni_parse(text, cut, &e, err, sizeof(err)) != 0,
			      "cut at %zu accepted", cut);
	}
	g_free(text);
}

/* A node's state directories in a scratch tree: containerd's and CRI-O's. */
static void test_find(void)
{
	char *root = scratch_dir("k8s-state");
	char *ctrd = g_build_filename(root, "containerd", NULL);
	char *crio = g_build_filename(root, "crio", NULL);
	const char *const dirs[] = { ctrd, crio, NULL };
	const char *task = "io.containerd.runtime.v2.task";
	const char *docker_id = "d0c4e7aa11223344556677889900aabbccddeeff00112233445566778899aabb";
	struct k8s_container_info info;
	GArray *refs = g_array_new(FALSE, FALSE, sizeof(struct k8s_runtime_ref));
	char err[512], rel[512];
	int ret;

	/* The same id in two namespaces: k8s.io is searched first. */
	snprintf(rel, sizeof(rel), "containerd/%s/default/%s/config.json", task, C1_ID);
	install_fixture(root, rel, "plain_container.json");
	snprintf(rel, sizeof(rel), "containerd/%s/k8s.io/%s/config.json", task, C1_ID);
	install_fixture(root, rel, "containerd_container.json");
	snprintf(rel, sizeof(rel), "containerd/%s/k8s.io/%s/config.json", task, S1_ID);
	install_fixture(root, rel, "containerd_sandbox.json");
	snprintf(rel, sizeof(rel), "containerd/%s/moby/%s/config.json", task, docker_id);
	install_fixture(root, rel, "plain_container.json");
	snprintf(rel, sizeof(rel), CRIO_CONFIG, C2_ID);
	install_fixture(root, rel, "crio_container.json");
	snprintf(rel, sizeof(rel), CRIO_CONFIG, S2_ID);
	install_fixture(root, rel, "crio_sandbox.json");
	snprintf(rel, sizeof(rel), CRIO_CONFIG, C3_ID);
	install_fixture(root, rel, "crio_container_labels_only.json");

	ret = k8s_runtime_find(dirs, K8S_RUNTIME_UNKNOWN, C1_ID, &info, err, sizeof(err));
	CHECK(ret == 0 && info.runtime == K8S_RUNTIME_CONTAINERD &&
		      !strcmp(info.container_name, "nginx"),
	      "containerd C1: %d %s", ret, err);
	ret = k8s_runtime_find(dirs, K8S_RUNTIME_CONTAINERD, S1_ID, &info, err, sizeof(err));
	CHECK(ret == 0 && info.type == K8S_CONTAINER_SANDBOX, "containerd S1: %d %s", ret, err);
	CHECK(k8s_runtime_find(dirs, K8S_RUNTIME_CRIO, C1_ID, &info, err, sizeof(err)) == -ENOENT,
	      "CRI-O hint found a containerd container");
	ret = k8s_runtime_find(dirs, K8S_RUNTIME_UNKNOWN, C2_ID, &info, err, sizeof(err));
	CHECK(ret == 0 && info.runtime == K8S_RUNTIME_CRIO && !strcmp(info.container_name, "api"),
	      "CRI-O C2: %d %s", ret, err);
	CHECK(k8s_runtime_find(dirs, K8S_RUNTIME_CONTAINERD, C2_ID, &info, err, sizeof(err)) ==
		      -ENOENT,
	      "containerd hint found a CRI-O container");
	ret = k8s_runtime_find(dirs, K8S_RUNTIME_DOCKER, docker_id, &info, err, sizeof(err));
	CHECK(ret == -ENODATA, "docker's bundle without annotations: %d", ret);
	CHECK(k8s_runtime_find(dirs, K8S_RUNTIME_UNKNOWN, "feedface", &info, err, sizeof(err)) ==
		      -ENOENT,
	      "unknown id");
	CHECK(k8s_runtime_find(dirs, K8S_RUNTIME_UNKNOWN, "../../etc", &info, err, sizeof(err)) ==
		      -EINVAL,
	      "id with a path");

	/* Damaged files on disk: refused with the path in the message. */
	{
		/* Ids need not be 64 hex digits: runtimes accept shorter names. */
		const char *broken = "b0b0b0b0-broken", *huge = "e0e0e0e0-huge";
		const char *fifo = "f1f0f1f0-fifo";
		size_t len;
		char *text = fixture("crio_container.json", &len), *path, *big;

		snprintf(rel, sizeof(rel), CRIO_CONFIG, broken);
		write_file(root, rel, text, len / 3);
		ret = k8s_runtime_find(dirs, K8S_RUNTIME_CRIO, broken, &info, err, sizeof(err));
		CHECK(ret == -EINVAL && strstr(err, broken), "truncated on disk: %d %s", ret, err);

		big = g_malloc0(5 * 1024 * 1024);
		snprintf(rel, sizeof(rel), CRIO_CONFIG, huge);
		write_file(root, rel, big, 5 * 1024 * 1024);
		ret = k8s_runtime_find(dirs, K8S_RUNTIME_CRIO, huge, &info, err, sizeof(err));
		CHECK(ret == -EFBIG && strstr(err, huge), "huge on disk: %d %s", ret, err);
		g_free(big);

		/* A FIFO would block a plain open(): must be refused at once. */
		snprintf(rel, sizeof(rel), "crio/overlay-containers/%s/userdata", fifo);
		mkdirs(root, rel);
		path = g_strdup_printf("%s/%s/config.json", root, rel);
		REQUIRE(!mkfifo(path, 0600), "mkfifo %s", path);
		ret = k8s_runtime_find(dirs, K8S_RUNTIME_CRIO, fifo, &info, err, sizeof(err));
		CHECK(ret == -EINVAL, "FIFO: %d", ret);
		g_free(path);
		g_free(text);
	}

	ret = k8s_runtime_list(dirs, K8S_RUNTIME_UNKNOWN, refs);
	CHECK(ret == 10 && refs->len == 10, "listed %d, want 4 containerd + 6 CRI-O", ret);
	g_array_set_size(refs, 0);
	ret = k8s_runtime_list(dirs, K8S_RUNTIME_CONTAINERD, refs);
	CHECK(ret == 4, "listed %d containerd", ret);
	for (guint i = 0; i < refs->len; i++)
		CHECK(g_array_index(refs, struct k8s_runtime_ref, i).runtime ==
			      K8S_RUNTIME_CONTAINERD,
		      "runtime of ref %u", i);
	/* k8s.io's first. */
	CHECK(refs->len && (!strcmp(g_array_index(refs, struct k8s_runtime_ref, 0).id, C1_ID) ||
			    !strcmp(g_array_index(refs, struct k8s_runtime_ref, 0).id, S1_ID)),
	      "k8s.io listed first");

	/* This host's default directories: whatever is there, no crash. */
	ret = k8s_runtime_find(NULL, K8S_RUNTIME_UNKNOWN, C1_ID, &info, err, sizeof(err));
	CHECK(ret <= 0, "defaults: %d", ret);

	g_array_free(refs, TRUE);
	g_free(ctrd);
	g_free(crio);
	scratch_done(root);
}

static void test_cni_scan(void)
{
	char *dir = scratch_dir("k8s-cni");
	GArray *entries = g_array_new(FALSE, FALSE, sizeof(struct k8s_cni_entry));
	char *big = g_malloc0(2 * 1024 * 1024);
	int ret, pods = 0;

	install_fixture(dir, "cbr0-" S1_ID "-eth0", "cni_bridge_v4.json");
	install_fixture(dir, "cbr0-" S4_ID "-eth0", "cni_dualstack.json");
	install_fixture(dir, "legacy-" S5_ID "-eth0", "cni_legacy_020.json");
	install_fixture(dir, "default-cnitool-77383ca0a0715733ca6f-eth0", "cni_not_pod.json");
	write_file(dir, "garbage-eth0", "{\"kind\":", 8);
	write_file(dir, "huge-eth0", big, 2 * 1024 * 1024);
	mkdirs(dir, "a-directory");
	ret = k8s_cni_scan(dir, entries);
	CHECK(ret == 3 && entries->len == 3, "scan found %d, want 3", ret);
	for (guint i = 0; i < entries->len; i++) {
		const struct k8s_cni_entry *e = &g_array_index(entries, struct k8s_cni_entry, i);

		pods += !strcmp(e->pod_name, "web-0") + !strcmp(e->pod_name, "old-1") +
			!strcmp(e->pod_name, "coredns-5d78c9869d-abcde");
	}
	CHECK(pods == 3, "scan pods %d", pods);
	CHECK(k8s_cni_scan("/nonexistent/cni", entries) == -ENOENT, "missing directory");
	g_free(big);
	g_array_free(entries, TRUE);
	scratch_done(dir);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		fixture_dir = argv[1];
	test_parse_ip();
	test_containerd();
	test_crio();
	test_malformed();
	test_cni();
	test_find();
	test_cni_scan();
	return check_exit_status("test_k8s_runtime");
}
