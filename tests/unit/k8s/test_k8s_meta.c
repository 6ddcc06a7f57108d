/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * extcap/k8s_meta.c over a scratch node: a cgroup tree standing in for the
 * v2 mount (ids are the directories' inode numbers, as on cgroup2), the
 * runtimes' state directories, the CNI cache and a fake /proc. Checks the
 * process, IP and filter lookups, the recheck of a container whose
 * config.json comes late, the /proc/PID/cgroup fallback, the pcapng
 * comments, and that a host without Kubernetes answers "not in a pod".
 *
 * Usage: test_k8s_meta <fixtures dir>
 */
#include <arpa/inet.h>
#include <sys/socket.h>

#include "k8s_meta.h"
#include "k8s_runtime.h"
#include "test_k8s_common.h"

#define POD5_UID "5e5e5e5e-0000-4111-8222-933344445555"
#define C5_ID "c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5"
#define DOCKER_ID "d0c4e7aa11223344556677889900aabbccddeeff00112233445566778899aabb"
#define RECHECK_MS 300

#define POD1_DIR \
	"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD1_UID_ ".slice"
#define C1_DIR POD1_DIR "/cri-containerd-" C1_ID ".scope"
#define S1_DIR POD1_DIR "/cri-containerd-" S1_ID ".scope"
#define POD2_DIR "kubepods/burstable/pod" POD2_UID
#define C2_DIR POD2_DIR "/crio-" C2_ID
#define S2_DIR POD2_DIR "/crio-" S2_ID
#define CONMON_DIR POD2_DIR "/crio-conmon-" C2_ID
#define POD4_DIR "kubepods.slice/kubepods-pod3c2b1a09_8f7e_4d6c_b5a4_938271605f4e.slice"
#define D4_DIR POD4_DIR "/docker-" DOCKER_ID ".scope"
#define POD5_DIR "kubepods/besteffort/pod" POD5_UID
#define C5_DIR POD5_DIR "/" C5_ID
#define TASKS "containerd/io.containerd.runtime.v2.task/k8s.io/"
#define CRIO "crio/overlay-containers/"

struct node {
	char *root, *cg, *ctrd, *crio, *cni, *proc;
	const char *dirs[3];
	struct k8s_meta *m;
};

static void make_node(struct node *n)
{
	struct k8s_meta_config cfg = { 0 };
	const char *const cg_dirs[] = { C1_DIR "/sub", S1_DIR, C2_DIR, S2_DIR, CONMON_DIR,
					D4_DIR, C5_DIR, "system.slice/sshd.service" };

	n->root = scratch_dir("k8s-node");
	n->cg = g_build_filename(n->root, "cgroup", NULL);
	n->ctrd = g_build_filename(n->root, "containerd", NULL);
	n->crio = g_build_filename(n->root, "crio", NULL);
	n->cni = g_build_filename(n->root, "cni", NULL);
	n->proc = g_build_filename(n->root, "proc", NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(cg_dirs); i++)
		mkdirs(n->cg, cg_dirs[i]);
	install_fixture(n->root, TASKS C1_ID "/config.json", "containerd_container.json");
	install_fixture(n->root, TASKS S1_ID "/config.json", "containerd_sandbox.json");
	install_fixture(n->root, CRIO C2_ID "/userdata/config.json", "crio_container.json");
	install_fixture(n->root, CRIO S2_ID "/userdata/config.json", "crio_sandbox.json");
	install_fixture(n->cni, "cbr0-" S1_ID "-eth0", "cni_bridge_v4.json");
	install_fixture(n->cni, "cbr0-" S4_ID "-eth0", "cni_dualstack.json");
	/* pid 4242: a v1 (hybrid, cgroupfs driver) view of container 1; 4243: no pod. */
	{
		const char *a = "12:pids:/kubepods/besteffort/pod" POD1_UID "/" C1_ID "\n"
				"1:name=systemd:/system.slice/containerd.service\n"
				"0::/system.slice/containerd.service\n";
		const char *b = "1:name=systemd:/user.slice\n0::/user.slice/session-1.scope\n";

		write_file(n->proc, "4242/cgroup", a, strlen(a));
		write_file(n->proc, "4243/cgroup", b, strlen(b));
	}
	n->dirs[0] = n->ctrd;
	n->dirs[1] = n->crio;
	n->dirs[2] = NULL;
	cfg.runtime_state_dirs = n->dirs;
	cfg.cni_cache_dir = n->cni;
	cfg.node_name = "test-node";
	cfg.cgroup_root = n->cg;
	cfg.proc_root = n->proc;
	cfg.recheck_ms = RECHECK_MS;
	n->m = k8s_meta_new(&cfg);
	REQUIRE(n->m, "k8s_meta_new");
}

static void free_node(struct node *n)
{
	k8s_meta_free(n->m);
	g_free(n->cg);
	g_free(n->ctrd);
	g_free(n->crio);
	g_free(n->cni);
	g_free(n->proc);
	scratch_done(n->root);
}

static void wait_recheck(void)
{
	g_usleep((RECHECK_MS + 100) * 1000);
}

static void test_processes(struct node *n)
{
	const struct k8s_workload *w, *w2;

	w = k8s_meta_for_process(n->m, ino_of(n->cg, C1_DIR), 0);
	CHECK(w->in_pod, "container 1 not in a pod");
	CHECK(!strcmp(w->pod_name, "web-0") && !strcmp(w->pod_namespace, "default") &&
		      !strcmp(w->pod_uid, POD1_UID),
	      "container 1 pod %s/%s %s", w->pod_namespace, w->pod_name, w->pod_uid);
	CHECK(!strcmp(w->container_name, "nginx") && !strcmp(w->container_id, C1_ID) &&
		      !strcmp(w->image, "docker.io/library/nginx:1.25"),
	      "container 1: %s %s %s", w->container_name, w->container_id, w->image);
	CHECK(!strcmp(w->runtime, "containerd") && !strcmp(w->node, "test-node"),
	      "runtime %s node %s", w->runtime, w->node);
	/* A cgroup below the container's is the same container, the same record. */
	w2 = k8s_meta_for_process(n->m, ino_of(n->cg, C1_DIR "/sub"), 0);
	CHECK(w2 == w, "nested cgroup gave another record");
	CHECK(k8s_meta_for_process(n->m, ino_of(n->cg, C1_DIR), 0) == w, "cache hit differs");

	w = k8s_meta_for_process(n->m, ino_of(n->cg, C2_DIR), 0);
	CHECK(w->in_pod && !strcmp(w->container_name, "api") && !strcmp(w->pod_namespace, "shop") &&
		      !strcmp(w->runtime, "cri-o") && !strcmp(w->image, "quay.io/shop/api:v2.3.1"),
	      "CRI-O container: %s %s %s", w->container_name, w->pod_namespace, w->runtime);

	w = k8s_meta_for_process(n->m, ino_of(n->cg, S1_DIR), 0);
	CHECK(w->in_pod && !w->container_name[0] && !strcmp(w->pod_name, "web-0") &&
		      !strcmp(w->container_id, S1_ID),
	      "sandbox: %s %s", w->pod_name, w->container_id);

	/* docker: no names in its bundle; the pod's names come from the CNI cache. */
	w = k8s_meta_for_process(n->m, ino_of(n->cg, D4_DIR), 0);
	CHECK(w->in_pod && !strcmp(w->pod_uid, POD4_UID) && !strcmp(w->container_id, DOCKER_ID) &&
		      !strcmp(w->runtime, "docker") && !w->container_name[0],
	      "docker container: %s %s %s", w->pod_uid, w->container_id, w->runtime);
	CHECK(!strcmp(w->pod_name, "coredns-5d78c9869d-abcde") &&
		      !strcmp(w->pod_namespace, "kube-system"),
	      "docker pod from CNI: %s/%s", w->pod_namespace, w->pod_name);

	/* The pod's own cgroup. */
	w = k8s_meta_for_process(n->m, ino_of(n->cg, POD2_DIR), 0);
	CHECK(w->in_pod && !w->container_id[0] && !strcmp(w->pod_uid, POD2_UID) &&
		      !strcmp(w->pod_name, "api-7d4b9c-x2x9z"),
	      "pod cgroup: %s %s", w->pod_uid, w->pod_name);

	/* Not pods. */
	w = k8s_meta_for_process(n->m, ino_of(n->cg, "system.slice/sshd.service"), 0);
	CHECK(!w->in_pod && !strcmp(w->node, "test-node"), "sshd in a pod");
	CHECK(!k8s_meta_for_process(n->m, ino_of(n->cg, CONMON_DIR), 0)->in_pod, "conmon in a pod");
	CHECK(!k8s_meta_for_process(n->m, ino_of(n->cg, "."), 0)->in_pod, "root in a pod");
	CHECK(!k8s_meta_for_process(n->m, 0, 0)->in_pod, "nothing in a pod");
	CHECK(!k8s_meta_for_process(n->m, UINT64_MAX - 1, 0)->in_pod, "unknown id in a pod");
}

/* The fallback for hosts where the v2 id does not tell: /proc/PID/cgroup. */
static void test_pid_fallback(struct node *n)
{
	const struct k8s_workload *w;

	w = k8s_meta_for_process(n->m, 0, 4242);
	CHECK(w->in_pod && !strcmp(w->container_name, "nginx"), "pid 4242 (v1 path): %s",
	      w->container_name);
	/* An id the index does not know sends us to /proc too. */
	w = k8s_meta_for_process(n->m, UINT64_MAX - 2, 4242);
	CHECK(w->in_pod && !strcmp(w->container_name, "nginx"), "unknown id, pid 4242");
	CHECK(!k8s_meta_for_process(n->m, 0, 4243)->in_pod, "pid 4243 in a pod");
	CHECK(!k8s_meta_for_process(n->m, 0, 4244)->in_pod, "missing pid in a pod");
}

/* Returns @text with every @from replaced by @to (g_free). */
static char *replace_all(const char *text, const char *from, const char *to)
{
	char **parts = g_strsplit(text, from, -1);
	char *out = g_strjoinv(to, parts);

	g_strfreev(parts);
	return out;
}

/* A container seen before its config.json is written is looked at again later. */
static void test_late_config(struct node *n)
{
	const struct k8s_workload *w = k8s_meta_for_process(n->m, ino_of(n->cg, C5_DIR), 0);
	char *text, *a, *b, *c;

	CHECK(w->in_pod && !strcmp(w->pod_uid, POD5_UID) && !strcmp(w->container_id, C5_ID) &&
		      !w->pod_name[0] && !w->runtime[0],
	      "late container before its config: %s %s", w->pod_uid, w->pod_name);
	text = fixture("containerd_container.json", NULL);
	a = replace_all(text, POD1_UID, POD5_UID);
	b = replace_all(a, "\"web-0\"", "\"late-0\"");
	c = replace_all(b, "\"nginx\"", "\"worker\"");
	write_file(n->root, TASKS C5_ID "/config.json", c, strlen(c));
	/* Within the recheck interval the miss stands... */
	CHECK(k8s_meta_for_process(n->m, ino_of(n->cg, C5_DIR), 0) == w && !w->pod_name[0],
	      "looked again too soon");
	wait_recheck();
	/* ...after it, the same record is completed in place. */
	CHECK(k8s_meta_for_process(n->m, ino_of(n->cg, C5_DIR), 0) == w, "record replaced");
	CHECK(!strcmp(w->pod_name, "late-0") && !strcmp(w->container_name, "worker") &&
		      !strcmp(w->runtime, "containerd"),
	      "late container after its config: %s %s %s", w->pod_name, w->container_name,
	      w->runtime);
	g_free(c);
	g_free(b);
	g_free(a);
	g_free(text);
}

static const struct k8s_workload *pod_for(struct node *n, const char *text)
{
	struct k8s_ip ip;

	REQUIRE(!k8s_parse_ip(text, &ip), "bad test IP %s", text);
	return k8s_meta_pod_for_ip(n->m, ip.family, ip.addr);
}

static void test_ips(struct node *n)
{
	const struct k8s_workload *w;
	uint8_t mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 244, 1, 5 };
	uint8_t v4_dirty[16] = { 10, 244, 1, 5, 0xde, 0xad };
	char *path;

	w = pod_for(n, "10.244.1.5");
	CHECK(w && w->in_pod && !strcmp(w->pod_name, "web-0") && !strcmp(w->pod_uid, POD1_UID) &&
		      !w->container_name[0] && !strcmp(w->node, "test-node"),
	      "10.244.1.5 -> %s", w ? w->pod_name : "(null)");
	CHECK(k8s_meta_pod_for_ip(n->m, AF_INET6, mapped) == w, "v4-mapped v6");
	CHECK(k8s_meta_pod_for_ip(n->m, AF_INET, v4_dirty) == w, "bytes past the v4 address");
	w = pod_for(n, "fd00:10:244:1::9");
	CHECK(w && !strcmp(w->pod_name, "coredns-5d78c9869d-abcde"), "v6 -> %s",
	      w ? w->pod_name : "(null)");
	CHECK(pod_for(n, "10.244.1.9") == w, "dual stack v4");
	/* CRI-O's sandbox annotations. */
	w = pod_for(n, "10.85.0.7");
	CHECK(w && !strcmp(w->pod_name, "api-7d4b9c-x2x9z") && !strcmp(w->pod_namespace, "shop"),
	      "CRI-O IP -> %s", w ? w->pod_name : "(null)");
	CHECK(pod_for(n, "fd00:10:85::7") == w, "CRI-O v6");
	CHECK(!pod_for(n, "10.9.9.9"), "remote IP found");
	CHECK(!k8s_meta_pod_for_ip(n->m, AF_UNIX, mapped), "AF_UNIX");

	/* Pods come and go: a new cache file, a removed one. */
	install_fixture(n->cni, "legacy-" S5_ID "-eth0", "cni_legacy_020.json");
	path = g_build_filename(n->cni, "cbr0-" S1_ID "-eth0", NULL);
	REQUIRE(!g_unlink(path), "unlink %s", path);
	g_free(path);
	wait_recheck();
	w = pod_for(n, "10.22.0.4");
	CHECK(w && !strcmp(w->pod_name, "old-1") && !strcmp(w->pod_namespace, "legacy"),
	      "new pod's IP -> %s", w ? w->pod_name : "(null)");
	CHECK(!pod_for(n, "10.244.1.5"), "released IP still found");
}

static void check_match(struct node *n, const char *ns, const char *pod, const char *container,
			const char *const *dirs, size_t n_dirs)
{
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	uint64_t want[16];
	int ret = k8s_meta_matching_cgroups(n->m, ns, pod, container, ids);

	REQUIRE(n_dirs <= G_N_ELEMENTS(want), "too many dirs");
	for (size_t i = 0; i < n_dirs; i++)
		want[i] = ino_of(n->cg, dirs[i]);
	CHECK(ret == (int)n_dirs && same_ids(ids, want, n_dirs), "match %s/%s/%s: %d ids, want %zu",
	      ns ? ns : "*", pod ? pod : "*", container ? container : "*", ret, n_dirs);
	g_array_free(ids, TRUE);
}

static void test_matching(struct node *n)
{
	static const char *const all[] = { POD1_DIR, C1_DIR,   C1_DIR "/sub", S1_DIR,
					   POD2_DIR, C2_DIR,   S2_DIR,	      POD4_DIR,
					   D4_DIR,   POD5_DIR, C5_DIR };
	static const char *const web[] = { POD1_DIR, C1_DIR, C1_DIR "/sub", S1_DIR };
	static const char *const nginx[] = { C1_DIR, C1_DIR "/sub" };
	static const char *const shop[] = { POD2_DIR, C2_DIR, S2_DIR };
	static const char *const coredns[] = { POD4_DIR, D4_DIR };

	check_match(n, NULL, NULL, NULL, all, G_N_ELEMENTS(all));
	check_match(n, "", "", "", all, G_N_ELEMENTS(all));
	check_match(n, "default", "web-*", NULL, web, G_N_ELEMENTS(web));
	check_match(n, "default", "web-0", "nginx", nginx, G_N_ELEMENTS(nginx));
	check_match(n, NULL, NULL, "ngi?x", nginx, G_N_ELEMENTS(nginx));
	check_match(n, "shop", NULL, NULL, shop, G_N_ELEMENTS(shop));
	check_match(n, "kube-system", "coredns-*", NULL, coredns, G_N_ELEMENTS(coredns));
	check_match(n, "nope", NULL, NULL, NULL, 0);
	check_match(n, "default", "web-0", "redis", NULL, 0);
}

static void test_comments(struct node *n)
{
	GPtrArray *c = g_ptr_array_new_with_free_func(g_free);
	const struct k8s_workload *w = k8s_meta_for_process(n->m, ino_of(n->cg, C1_DIR), 0);

	k8s_format_comments(w, c);
	CHECK(c->len == 2, "container: %u comments", c->len);
	if (c->len == 2) {
		CHECK(!strcmp(g_ptr_array_index(c, 0),
			      "ContainerName: nginx\nContainerId: " C1_ID
			      "\nContainerImage: docker.io/library/nginx:1.25"),
		      "container group:\n%s", (char *)g_ptr_array_index(c, 0));
		CHECK(!strcmp(g_ptr_array_index(c, 1),
			      "PodName: web-0\nPodNamespace: default\nPodUID: " POD1_UID
			      "\nNodeName: test-node"),
		      "pod group:\n%s", (char *)g_ptr_array_index(c, 1));
	}
	g_ptr_array_set_size(c, 0);

	/* docker: an id but no name or image; empty lines are left out. */
	k8s_format_comments(k8s_meta_for_process(n->m, ino_of(n->cg, D4_DIR), 0), c);
	CHECK(c->len == 2 && !strcmp(g_ptr_array_index(c, 0), "ContainerId: " DOCKER_ID),
	      "docker container group: %s", c->len ? (char *)g_ptr_array_index(c, 0) : "");
	g_ptr_array_set_size(c, 0);

	/* A pod found by IP: the pod group only. */
	k8s_format_comments(pod_for(n, "10.85.0.7"), c);
	CHECK(c->len == 1 &&
		      g_str_has_prefix(g_ptr_array_index(c, 0), "PodName: api-7d4b9c-x2x9z\n"),
	      "pod by IP: %u comments", c->len);
	g_ptr_array_set_size(c, 0);

	k8s_format_comments(k8s_meta_for_process(n->m, 0, 0), c);
	k8s_format_comments(NULL, c);
	CHECK(c->len == 0, "outside pods: %u comments", c->len);
	g_ptr_array_free(c, TRUE);
}

/* This host, with the default configuration: not a Kubernetes node. */
static void test_off_kubernetes(void)
{
	int64_t start = g_get_monotonic_time();
	struct k8s_meta *m;
	const struct k8s_workload *w;
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	uint8_t lo[16] = { 127, 0, 0, 1 };
	int ret;

	if (g_file_test("/run/containerd/io.containerd.runtime.v2.task/k8s.io",
			G_FILE_TEST_IS_DIR) ||
	    g_file_test("/var/lib/kubelet", G_FILE_TEST_IS_DIR)) {
		printf("this host runs Kubernetes: off-Kubernetes checks skipped\n");
		g_array_free(ids, TRUE);
		return;
	}
	g_setenv("NODE_NAME", "env-node", TRUE);
	m = k8s_meta_new(NULL);
	w = k8s_meta_for_process(m, 0, getpid());
	CHECK(!w->in_pod && !strcmp(w->node, "env-node"), "this process in a pod; node %s",
	      w->node);
	{
		char path[PATH_MAX], mount[PATH_MAX], full[PATH_MAX * 2];
		char *text = NULL;
		struct stat st;

		/* Its real cgroup v2 id, where there is one. */
		if (!k8s_cgroup_find_v2_mount(NULL, mount, sizeof(mount)) &&
		    g_file_get_contents("/proc/self/cgroup", &text, NULL, NULL)) {
			char *line = strstr(text, "0::");

			if (line && sscanf(line + 3, "%4095[^\n]", path) == 1) {
				snprintf(full, sizeof(full), "%s%s", mount, path);
				if (!stat(full, &st))
					CHECK(!k8s_meta_for_process(m, st.st_ino, getpid())->in_pod,
					      "own cgroup %s in a pod", path);
			}
		}
		g_free(text);
	}
	CHECK(!k8s_meta_pod_for_ip(m, AF_INET, lo), "127.0.0.1 is a pod");
	/* Other tests on this host may run kubelet-style containers meanwhile: no count. */
	ret = k8s_meta_matching_cgroups(m, NULL, NULL, NULL, ids);
	CHECK(ret >= 0 || ret == -EOPNOTSUPP, "matching on this host: %d", ret);
	CHECK(k8s_meta_matching_cgroups(m, "no-such-namespace-here", NULL, NULL, ids) == 0 ||
		      ret == -EOPNOTSUPP,
	      "a namespace nobody uses matched");
	k8s_meta_free(m);
	g_unsetenv("NODE_NAME");
	/* "Quickly": generous for valgrind. */
	CHECK(g_get_monotonic_time() - start < 5 * 1000 * 1000,
	      "off-Kubernetes lookups took %lld us", (long long)(g_get_monotonic_time() - start));

	/* A configured hierarchy that is not there: no answers, no trouble. */
	{
		struct k8s_meta_config cfg = { .cgroup_root = "/nonexistent/cgroup",
					       .cni_cache_dir = "/nonexistent/cni",
					       .node_name = "n" };
		const char *const none[] = { "/nonexistent/state", NULL };

		cfg.runtime_state_dirs = none;
		m = k8s_meta_new(&cfg);
		CHECK(!k8s_meta_for_process(m, 12345, 0)->in_pod, "missing hierarchy");
		CHECK(k8s_meta_matching_cgroups(m, NULL, NULL, NULL, ids) == -ENOENT,
		      "matching in a missing hierarchy");
		k8s_meta_free(m);
	}
	k8s_meta_free(NULL);
	g_array_free(ids, TRUE);
}

int main(int argc, char **argv)
{
	struct node n;

	if (argc > 1)
		fixture_dir = argv[1];
	make_node(&n);
	test_processes(&n);
	test_pid_fallback(&n);
	test_late_config(&n);
	test_ips(&n);
	test_matching(&n);
	test_comments(&n);
	free_node(&n);
	test_off_kubernetes();
	return check_exit_status("test_k8s_meta");
}
