/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * extcap/k8s_cgroup.c: cgroup paths of every kubelet layout (cgroupfs and
 * systemd drivers; v1, v2, hybrid; containerd, CRI-O, docker) parsed into
 * pod and container; the cgroup v2 mount found in mountinfo; the path picked
 * from /proc/PID/cgroup; and the id -> path index checked against stat()
 * over a scratch tree standing in for the v2 mount.
 *
 * Usage: test_k8s_cgroup <fixtures dir>
 */
#include <linux/magic.h>
#include <sys/vfs.h>

#include "k8s_cgroup.h"
#include "test_k8s_common.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

struct parse_case {
	const char *path;
	int ret;
	const char *uid;
	enum k8s_qos qos;
	const char *container_id;
	enum k8s_runtime runtime;
};

static const struct parse_case parse_cases[] = {
	/* cgroupfs driver (v1 controller paths and v2 alike), containerd or docker: bare ids */
	{ "/kubepods/pod" POD1_UID "/" C1_ID, 0, POD1_UID, K8S_QOS_GUARANTEED, C1_ID,
	  K8S_RUNTIME_UNKNOWN },
	{ "/kubepods/burstable/pod" POD1_UID "/" C1_ID, 0, POD1_UID, K8S_QOS_BURSTABLE, C1_ID,
	  K8S_RUNTIME_UNKNOWN },
	{ "/kubepods/besteffort/pod" POD1_UID "/" C1_ID, 0, POD1_UID, K8S_QOS_BESTEFFORT, C1_ID,
	  K8S_RUNTIME_UNKNOWN },
	/* cgroupfs driver, CRI-O */
	{ "/kubepods/burstable/pod" POD2_UID "/crio-" C2_ID, 0, POD2_UID, K8S_QOS_BURSTABLE, C2_ID,
	  K8S_RUNTIME_CRIO },
	{ .path = "/kubepods/burstable/pod" POD2_UID "/crio-conmon-" C2_ID, .ret = -ENOENT },
	/* systemd driver, containerd */
	{ "/kubepods.slice/kubepods-pod" POD1_UID_ ".slice/cri-containerd-" C1_ID ".scope", 0,
	  POD1_UID, K8S_QOS_GUARANTEED, C1_ID, K8S_RUNTIME_CONTAINERD },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD1_UID_
	  ".slice/cri-containerd-" C1_ID ".scope",
	  0, POD1_UID, K8S_QOS_BURSTABLE, C1_ID, K8S_RUNTIME_CONTAINERD },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD1_UID_
	  ".slice/cri-containerd-" C1_ID ".scope",
	  0, POD1_UID, K8S_QOS_BESTEFFORT, C1_ID, K8S_RUNTIME_CONTAINERD },
	/* systemd driver, CRI-O; conmon's scope sits next to the container's */
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD2_UID_
	  ".slice/crio-" C2_ID ".scope",
	  0, POD2_UID, K8S_QOS_BURSTABLE, C2_ID, K8S_RUNTIME_CRIO },
	{ .path = "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD2_UID_
	  ".slice/crio-conmon-" C2_ID ".scope", .ret = -ENOENT },
	{ "/kubepods.slice/kubepods-pod" POD2_UID_ ".slice/crio-" C2_ID ".scope", 0, POD2_UID,
	  K8S_QOS_GUARANTEED, C2_ID, K8S_RUNTIME_CRIO },
	/* systemd driver, docker (cri-dockerd) */
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD1_UID_
	  ".slice/docker-" ID64 ".scope",
	  0, POD1_UID, K8S_QOS_BESTEFFORT, ID64, K8S_RUNTIME_DOCKER },
	/* no fixed prefix: kind's kubelet.slice, a relative v1 path, a cgroup namespace's view */
	{ "/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/"
	  "kubelet-kubepods-besteffort-pod" POD1_UID_ ".slice/cri-containerd-" C1_ID ".scope",
	  0, POD1_UID, K8S_QOS_BESTEFFORT, C1_ID, K8S_RUNTIME_CONTAINERD },
	{ "kubepods/besteffort/pod" POD1_UID "/" C1_ID, 0, POD1_UID, K8S_QOS_BESTEFFORT, C1_ID,
	  K8S_RUNTIME_UNKNOWN },
	{ "/kubelet/kubepods/burstable/pod" POD1_UID "/" C1_ID "/", 0, POD1_UID,
	  K8S_QOS_BURSTABLE, C1_ID, K8S_RUNTIME_UNKNOWN },
	/* cgroups below the container's belong to it */
	{ "/kubepods.slice/kubepods-pod" POD1_UID_ ".slice/cri-containerd-" C1_ID
	  ".scope/init.scope",
	  0, POD1_UID, K8S_QOS_GUARANTEED, C1_ID, K8S_RUNTIME_CONTAINERD },
	{ "/kubepods/besteffort/pod" POD1_UID "/" C1_ID "/a/b", 0, POD1_UID, K8S_QOS_BESTEFFORT,
	  C1_ID, K8S_RUNTIME_UNKNOWN },
	/* the pod's own cgroup: a pod, no container */
	{ "/kubepods/burstable/pod" POD1_UID, 0, POD1_UID, K8S_QOS_BURSTABLE, "",
	  K8S_RUNTIME_UNKNOWN },
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" POD2_UID_ ".slice", 0,
	  POD2_UID, K8S_QOS_BESTEFFORT, "", K8S_RUNTIME_UNKNOWN },
	/* static pods: the UID is an md5 hash without dashes */
	{ "/kubepods/burstable/pod3f2e1d0c9b8a79685746352413021f0e/" C1_ID, 0,
	  "3f2e1d0c9b8a79685746352413021f0e", K8S_QOS_BURSTABLE, C1_ID, K8S_RUNTIME_UNKNOWN },
	{ "/kubepods.slice/kubepods-pod3f2e1d0c9b8a79685746352413021f0e.slice/cri-containerd-" C1_ID
	  ".scope",
	  0, "3f2e1d0c9b8a79685746352413021f0e", K8S_QOS_GUARANTEED, C1_ID,
	  K8S_RUNTIME_CONTAINERD },
	/* a node in a pod (kind on Kubernetes): the innermost pod is the workload */
	{ "/kubepods/besteffort/pod" POD2_UID "/" C2_ID "/kubelet/kubepods/burstable/pod" POD1_UID
	  "/" C1_ID,
	  0, POD1_UID, K8S_QOS_BURSTABLE, C1_ID, K8S_RUNTIME_UNKNOWN },
	/* an unknown unit in a pod's slice: the pod, no container */
	{ "/kubepods.slice/kubepods-pod" POD1_UID_ ".slice/something.scope", 0, POD1_UID,
	  K8S_QOS_GUARANTEED, "", K8S_RUNTIME_UNKNOWN },
	/* not pods */
	{ .path = "/", .ret = -ENOENT },
	{ .path = "", .ret = -ENOENT },
	{ .path = "/system.slice/containerd.service", .ret = -ENOENT },
	{ .path = "/user.slice/user-1000.slice/session-3.scope", .ret = -ENOENT },
	{ .path = "/kubepods", .ret = -ENOENT },
	{ .path = "/kubepods/burstable", .ret = -ENOENT },
	{ .path = "/kubepods.slice/kubepods-burstable.slice", .ret = -ENOENT },
	{ .path = "/machine.slice/machine-libpod_pod_" ID64 ".slice/libpod-" ID64 ".scope",
	  .ret = -ENOENT },
	{ .path = "/system.slice/docker-" ID64 ".scope", .ret = -ENOENT },
	{ .path = "/kubepods/podnot-a-uid/" C1_ID, .ret = -ENOENT },
	/* malformed UIDs: wrong separator positions, a short group, non-hex */
	{ .path = "/kubepods/pod6f1c2b3a1-d2e-4f5a-9b8c-7d6e5f4a3b2c/" C1_ID, .ret = -ENOENT },
	{ .path = "/kubepods/pod6f1c2b3a-1d2e-4f5a-9b8c-7d6e5f4a3b2/" C1_ID, .ret = -ENOENT },
	{ .path = "/kubepods/pod6f1c2b3a-1d2e-4f5a-9b8c-7d6e5f4a3b2g/" C1_ID, .ret = -ENOENT },
	{ .path = "/kubepods.slice/kubepods-pod" POD1_UID_ "x.slice/cri-containerd-" C1_ID ".scope",
	  .ret = -ENOENT },
};

static void test_parse(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct k8s_cgroup_info info;
		int ret = k8s_cgroup_parse(c->path, &info);

		CHECK(ret == c->ret, "%s: returned %d, want %d", c->path, ret, c->ret);
		if (ret || c->ret)
			continue;
		CHECK(!strcmp(info.pod_uid, c->uid), "%s: uid %s", c->path, info.pod_uid);
		CHECK(info.qos == c->qos, "%s: qos %s", c->path, k8s_qos_name(info.qos));
		CHECK(!strcmp(info.container_id, c->container_id), "%s: container %s", c->path,
		      info.container_id);
		CHECK(info.runtime == c->runtime, "%s: runtime %d", c->path, info.runtime);
	}
	CHECK(k8s_cgroup_parse(NULL, &(struct k8s_cgroup_info){ 0 }) == -ENOENT, "NULL path");

	/* A container id longer than 64 characters is no container id. */
	{
		struct k8s_cgroup_info info;
		const char *p = "/kubepods/pod" POD1_UID "/" ID64 "0";

		CHECK(k8s_cgroup_parse(p, &info) == 0 && !info.container_id[0],
		      "65-char leaf taken as a container: %s", info.container_id);
	}
	CHECK(k8s_valid_container_id(C1_ID) && k8s_valid_container_id("tlsdump-test.1"),
	      "valid ids refused");
	CHECK(!k8s_valid_container_id("..") && !k8s_valid_container_id("a/b") &&
		      !k8s_valid_container_id("") && !k8s_valid_container_id(ID64 "0"),
	      "invalid ids accepted");
	CHECK(!strcmp(k8s_runtime_name(K8S_RUNTIME_CRIO), "cri-o") &&
		      !strcmp(k8s_runtime_name(K8S_RUNTIME_UNKNOWN), ""),
	      "runtime names");
}

static void test_mountinfo(void)
{
	static const struct {
		const char *file;
		int ret;
		const char *mount;
	} cases[] = {
		{ "mountinfo_hybrid.txt", 0, "/sys/fs/cgroup/unified" },
		{ "mountinfo_v2.txt", 0, "/sys/fs/cgroup" },
		{ "mountinfo_v1.txt", -ENOENT, NULL },
		/* the hierarchy's root mount beats a bind mount of a subtree; \040 is a space */
		{ "mountinfo_escaped.txt", 0, "/host/sys/fs/cgroup v2" },
	};
	char out[PATH_MAX];

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *path = g_build_filename(fixture_dir, cases[i].file, NULL);
		int ret = k8s_cgroup_find_v2_mount(path, out, sizeof(out));

		CHECK(ret == cases[i].ret, "%s: returned %d", cases[i].file, ret);
		if (!ret && cases[i].mount)
			CHECK(!strcmp(out, cases[i].mount), "%s: found %s", cases[i].file, out);
		g_free(path);
	}
	CHECK(k8s_cgroup_find_v2_mount("/nonexistent/mountinfo", out, sizeof(out)) == -ENOENT,
	      "missing file");
	{
		char *path = g_build_filename(fixture_dir, "mountinfo_hybrid.txt", NULL);

		CHECK(k8s_cgroup_find_v2_mount(path, out, 8) == -ENAMETOOLONG, "short buffer");
		g_free(path);
	}

	/* This host: whatever is found must really be a cgroup2 file system. */
	if (!k8s_cgroup_find_v2_mount(NULL, out, sizeof(out))) {
		struct statfs sfs;

		CHECK(!statfs(out, &sfs) && sfs.f_type == CGROUP2_SUPER_MAGIC,
		      "%s is not a cgroup2 mount", out);
	}
}

static void test_pick_path(void)
{
	static const char *const pod_v2 =
		"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD2_UID_
		".slice/crio-" C2_ID ".scope";
	static const char *const pod_v1 = "/kubepods/besteffort/pod" POD1_UID "/" C1_ID;
	static const struct {
		const char *name, *text;
		int ret;
		const char *want;
	} cases[] = {
		{ "pure v2",
		  "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD2_UID_
		  ".slice/crio-" C2_ID ".scope\n",
		  0, pod_v2 },
		{ "hybrid, systemd driver: the v2 path",
		  "12:pids:/kubepods.slice/kubepods-burstable.slice/"
		  "kubepods-burstable-pod" POD2_UID_ ".slice/crio-" C2_ID ".scope\n"
		  "1:name=systemd:/kubepods.slice/kubepods-burstable.slice/"
		  "kubepods-burstable-pod" POD2_UID_ ".slice/crio-" C2_ID ".scope\n"
		  "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" POD2_UID_
		  ".slice/crio-" C2_ID ".scope\n",
		  0, pod_v2 },
		{ "hybrid, cgroupfs driver, runtime outside the unified hierarchy",
		  "12:pids:/kubepods/besteffort/pod" POD1_UID "/" C1_ID "\n"
		  "4:memory:/kubepods/besteffort/pod" POD1_UID "/" C1_ID "\n"
		  "1:name=systemd:/system.slice/containerd.service\n"
		  "0::/system.slice/containerd.service\n",
		  0, pod_v1 },
		{ "pure v1", "11:cpu,cpuacct:/kubepods/besteffort/pod" POD1_UID "/" C1_ID "\n"
			     "1:name=systemd:/kubepods/besteffort/pod" POD1_UID "/" C1_ID "\n",
		  0, pod_v1 },
		{ "pure v1, not a pod: name=systemd",
		  "3:cpu:/\n1:name=systemd:/user.slice/user-0.slice\n", 0,
		  "/user.slice/user-0.slice" },
		{ "hybrid, not a pod: the v2 path", "3:memory:/foo\n0::/init.scope\n", 0,
		  "/init.scope" },
		{ "deleted cgroup",
		  "0::/kubepods/besteffort/pod" POD1_UID "/" C1_ID " (deleted)\n", 0, pod_v1 },
		{ "no newline at the end", "0::/kubepods/besteffort/pod" POD1_UID "/" C1_ID, 0,
		  pod_v1 },
		{ "conmon is no pod",
		  "0::/kubepods/burstable/pod" POD2_UID "/crio-conmon-" C2_ID "\n", 0,
		  "/kubepods/burstable/pod" POD2_UID "/crio-conmon-" C2_ID },
		{ "empty", "", -ENOENT, NULL },
		{ "garbage", "no colons here\n:\n", -ENOENT, NULL },
	};
	char out[PATH_MAX];

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		int ret = k8s_cgroup_pick_path(cases[i].text, out, sizeof(out));

		CHECK(ret == cases[i].ret, "%s: returned %d", cases[i].name, ret);
		if (!ret && cases[i].want)
			CHECK(!strcmp(out, cases[i].want), "%s: picked %s", cases[i].name, out);
	}
	CHECK(k8s_cgroup_pick_path(cases[0].text, out, 16) == -ENAMETOOLONG, "short buffer");
}

static void test_read_pid(void)
{
	char *proc = scratch_dir("k8s-proc");
	char out[PATH_MAX];
	const char *text = "4:memory:/kubepods/besteffort/pod" POD1_UID "/" C1_ID "\n0::/\n";

	write_file(proc, "4242/cgroup", text, strlen(text));
	CHECK(!k8s_cgroup_read_pid(proc, 4242, out, sizeof(out)) &&
		      !strcmp(out, "/kubepods/besteffort/pod" POD1_UID "/" C1_ID),
	      "fake proc: %s", out);
	CHECK(k8s_cgroup_read_pid(proc, 4243, out, sizeof(out)) == -ENOENT, "gone process");
	CHECK(k8s_cgroup_read_pid(NULL, 0, out, sizeof(out)) == -EINVAL, "pid 0");
	/* The real /proc: this process has some cgroup. */
	CHECK(!k8s_cgroup_read_pid(NULL, getpid(), out, sizeof(out)) && out[0] == '/',
	      "own cgroup: %s", out);
	scratch_done(proc);
}

struct count_ctx {
	int n;
	bool root_seen;
};

static void count_cb(uint64_t id, const char *path, void *ctx)
{
	struct count_ctx *c = ctx;

	c->n++;
	c->root_seen |= !strcmp(path, "/");
}

/* The index over a scratch tree shaped like a node's v2 hierarchy. */
static void test_index(void)
{
	char *root = scratch_dir("k8s-cgroup");
	const char *pod1 = "kubepods/burstable/pod" POD1_UID;
	const char *pod2 = "kubepods.slice/kubepods-besteffort.slice/"
			   "kubepods-besteffort-pod" POD2_UID_ ".slice";
	char *c1 = g_strdup_printf("%s/%s", pod1, C1_ID);
	char *c1_nested = g_strdup_printf("%s/%s/nested", pod1, C1_ID);
	char *s1 = g_strdup_printf("%s/%s", pod1, S1_ID);
	char *c2 = g_strdup_printf("%s/crio-%s.scope", pod2, C2_ID);
	char *conmon = g_strdup_printf("%s/crio-conmon-%s.scope", pod2, C2_ID);
	uint64_t i_pod1 = mkdirs(root, pod1), i_c1 = mkdirs(root, c1),
		 i_c1n = mkdirs(root, c1_nested), i_s1 = mkdirs(root, s1),
		 i_pod2 = mkdirs(root, pod2), i_c2 = mkdirs(root, c2);
	uint64_t i_sys = mkdirs(root, "system.slice/containerd.service");
	struct k8s_cgroup_index *idx;
	struct count_ctx count = { 0 };
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	char *link;
	const char *p;
	int n;

	mkdirs(root, conmon);
	/* Files and symlinks are no cgroups, and the walk must not follow a link. */
	write_file(root, "kubepods/cgroup.procs", "", 0);
	link = g_build_filename(root, "kubepods/loop", NULL);
	REQUIRE(!symlink(root, link), "symlink");
	g_free(link);

	idx = k8s_cgroup_index_new(root);
	REQUIRE(idx, "index_new(%s)", root);
	CHECK(!strcmp(k8s_cgroup_index_root(idx), root), "root %s", k8s_cgroup_index_root(idx));
	n = k8s_cgroup_index_refresh(idx);
	/* root, kubepods, burstable, pod1, c1, nested, s1, kubepods.slice, besteffort slice, pod2,
	 * c2, conmon, system.slice, containerd.service */
	CHECK(n == 14, "walk found %d cgroups, want 14", n);
	k8s_cgroup_index_foreach(idx, count_cb, &count);
	CHECK(count.n == n && count.root_seen, "foreach saw %d, root %d", count.n, count.root_seen);

	p = k8s_cgroup_index_lookup(idx, ino_of(root, "."));
	CHECK(p && !strcmp(p, "/"), "root id -> %s", p ? p : "(null)");
	p = k8s_cgroup_index_lookup(idx, i_c1);
	CHECK(p && !strcmp(p + 1, c1) && p[0] == '/', "c1 id -> %s", p ? p : "(null)");
	p = k8s_cgroup_index_lookup(idx, i_c2);
	CHECK(p && !strcmp(p + 1, c2), "c2 id -> %s", p ? p : "(null)");
	p = k8s_cgroup_index_lookup(idx, i_sys);
	CHECK(p && !strcmp(p, "/system.slice/containerd.service"), "sys id -> %s",
	      p ? p : "(null)");

	/* A cgroup made after the walk: not seen until the refresh interval allows a walk. */
	{
		uint64_t i_new;

		k8s_cgroup_index_set_min_refresh(idx, 3600ULL * 1000 * 1000);
		i_new = mkdirs(root, "kubepods/besteffort/pod" POD4_UID "/" S4_ID);
		CHECK(!k8s_cgroup_index_lookup(idx, i_new), "miss answered inside the interval");
		k8s_cgroup_index_set_min_refresh(idx, 0);
		p = k8s_cgroup_index_lookup(idx, i_new);
		CHECK(p && !strcmp(p, "/kubepods/besteffort/pod" POD4_UID "/" S4_ID),
		      "new cgroup -> %s", p ? p : "(null)");
		CHECK(!k8s_cgroup_index_lookup(idx, UINT64_MAX), "unknown id found");
	}

	/* Every cgroup of pod 1: its own, its containers' and what lies below them. */
	n = k8s_cgroup_ids_matching(idx, POD1_UID, NULL, ids);
	{
		const uint64_t want[] = { i_pod1, i_c1, i_c1n, i_s1 };

		CHECK(n == 4 && same_ids(ids, want, 4), "pod1 matched %d ids", n);
		for (guint i = 1; i < ids->len; i++)
			CHECK(g_array_index(ids, uint64_t, i - 1) < g_array_index(ids, uint64_t, i),
			      "ids not sorted");
	}
	/* The UID as systemd writes it works as well. */
	g_array_set_size(ids, 0);
	n = k8s_cgroup_ids_matching(idx, POD1_UID_, NULL, ids);
	CHECK(n == 4, "pod1 (underscores) matched %d", n);
	/* One container: itself and below, not the pod or its sandbox. */
	g_array_set_size(ids, 0);
	n = k8s_cgroup_ids_matching(idx, NULL, C1_ID, ids);
	{
		const uint64_t want[] = { i_c1, i_c1n };

		CHECK(n == 2 && same_ids(ids, want, 2), "c1 matched %d ids", n);
	}
	/* CRI-O's pod: conmon's scope is left out. */
	g_array_set_size(ids, 0);
	n = k8s_cgroup_ids_matching(idx, POD2_UID, NULL, ids);
	{
		const uint64_t want[] = { i_pod2, i_c2 };

		CHECK(n == 2 && same_ids(ids, want, 2), "pod2 matched %d ids", n);
	}
	/* Appends after what the array held. */
	n = k8s_cgroup_ids_matching(idx, POD2_UID, C2_ID, ids);
	CHECK(n == 1 && ids->len == 3 && g_array_index(ids, uint64_t, 2) == i_c2,
	      "append: %d, len %u", n, ids->len);
	CHECK(k8s_cgroup_ids_matching(idx, NULL, NULL, ids) == -EINVAL, "no filter accepted");
	CHECK(k8s_cgroup_ids_matching(idx, "not-a-uid", NULL, ids) == -EINVAL, "bad uid accepted");

	/* A removed cgroup leaves the index at the next walk. */
	{
		char *gone = g_build_filename(root, c1_nested, NULL);

		REQUIRE(!g_rmdir(gone), "rmdir %s", gone);
		g_free(gone);
		n = k8s_cgroup_index_refresh(idx);
		/* + besteffort, pod4, its sandbox; - nested */
		CHECK(n == 16, "after rmdir %d cgroups, want 16", n);
		g_array_set_size(ids, 0);
		CHECK(k8s_cgroup_ids_matching(idx, NULL, C1_ID, ids) == 1,
		      "removed cgroup matched");
	}
	k8s_cgroup_index_free(idx);
	k8s_cgroup_index_free(NULL);

	/* A root that is not there: the index exists, walks fail cleanly. */
	idx = k8s_cgroup_index_new("/nonexistent/cgroup");
	REQUIRE(idx, "index over a missing root");
	CHECK(k8s_cgroup_index_refresh(idx) == -ENOENT, "walk of a missing root");
	CHECK(!k8s_cgroup_index_lookup(idx, 1), "lookup in a missing root");
	k8s_cgroup_index_free(idx);

	g_array_free(ids, TRUE);
	g_free(c1);
	g_free(c1_nested);
	g_free(s1);
	g_free(c2);
	g_free(conmon);
	scratch_done(root);
}

/* The real v2 hierarchy, read-only: the root and this process's own cgroup. */
static void test_real_hierarchy(void)
{
	struct k8s_cgroup_index *idx = k8s_cgroup_index_new(NULL);
	char own[PATH_MAX], full[PATH_MAX * 2], *text = NULL;
	struct stat st;
	const char *p;

	if (!idx) {
		printf("no cgroup v2 mount: real hierarchy not checked\n");
		return;
	}
	REQUIRE(!stat(k8s_cgroup_index_root(idx), &st), "stat the v2 mount");
	p = k8s_cgroup_index_lookup(idx, st.st_ino);
	CHECK(p && !strcmp(p, "/"), "v2 root (id %llu) -> %s", (unsigned long long)st.st_ino,
	      p ? p : "(null)");
	/* The "0::" line names this process's v2 cgroup. */
	if (g_file_get_contents("/proc/self/cgroup", &text, NULL, NULL)) {
		char *line = strstr(text, "0::");

		if (line && (line == text || line[-1] == '\n')) {
			sscanf(line + 3, "%4095[^\n]", own);
			snprintf(full, sizeof(full), "%s%s", k8s_cgroup_index_root(idx),
				 strcmp(own, "/") ? own : "");
			if (!stat(full, &st)) {
				p = k8s_cgroup_index_lookup(idx, st.st_ino);
				CHECK(p && !strcmp(p, own), "own cgroup %s -> %s", own,
				      p ? p : "(null)");
			}
		}
		g_free(text);
	}
	k8s_cgroup_index_free(idx);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		fixture_dir = argv[1];
	test_parse();
	test_mountinfo();
	test_pick_path();
	test_read_pid();
	test_index();
	test_real_hierarchy();
	return check_exit_status("test_k8s_cgroup");
}
