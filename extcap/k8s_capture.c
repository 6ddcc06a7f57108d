/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "k8s_capture.h"

#include <errno.h>
#include <string.h>

#include "k8s_api.h"
#include "k8s_meta.h"
#include "log.h"
#include "wire.h"

struct k8s_capture {
	const struct tlsdump_options *opts;
	struct k8s_meta *meta;
	struct k8s_api *api;	  /* NULL: no API server, no remote peer names */
	char **state_dirs;	  /* NULL: k8s_meta's defaults */
	GHashTable *selected;	  /* cgroup ids already in the kernel's filter */
};

/* Joins the comma separated directory lists of both runtimes; NULL when neither is set. */
static char **runtime_dirs(const struct tlsdump_options *opts)
{
	GPtrArray *dirs = g_ptr_array_new();
	const char *lists[] = { opts->k8s_containerd_state, opts->k8s_crio_state };

	for (size_t i = 0; i < G_N_ELEMENTS(lists); i++) {
		char **parts = lists[i] ? g_strsplit(lists[i], ",", -1) : NULL;

		for (char **d = parts; d && *d; d++)
			if (**d)
				g_ptr_array_add(dirs, g_strdup(g_strstrip(*d)));
		g_strfreev(parts);
	}
	if (!dirs->len) {
		g_ptr_array_free(dirs, TRUE);
		return NULL;
	}
	g_ptr_array_add(dirs, NULL);
	return (char **)g_ptr_array_free(dirs, FALSE);
}

struct k8s_capture *k8s_capture_new(const struct tlsdump_options *opts)
{
	struct k8s_capture *k = g_new0(struct k8s_capture, 1);
	struct k8s_meta_config cfg = { 0 };
	char why[256] = "";

	k->opts = opts;
	k->state_dirs = runtime_dirs(opts);
	cfg.runtime_state_dirs = (const char *const *)k->state_dirs;
	cfg.cni_cache_dir = opts->k8s_cni_cache;
	cfg.node_name = opts->k8s_node_name;
	k->meta = k8s_meta_new(&cfg);
	k->selected = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
	/* In a cluster or pointed at a server: peer names. Elsewhere, quietly none. */
	if (opts->k8s_api || g_getenv("KUBERNETES_SERVICE_HOST")) {
		struct k8s_api_config api_cfg = { .server = opts->k8s_api,
						   .credentials_dir = opts->k8s_credentials };

		k->api = k8s_api_start(&api_cfg, why, sizeof(why));
		if (!k->api)
			log_warn("Kubernetes API server not used: %s", why);
	}
	return k;
}

void k8s_capture_free(struct k8s_capture *k)
{
	if (!k)
		return;
	k8s_api_stop(k->api);
	k8s_meta_free(k->meta);
	g_strfreev(k->state_dirs);
	g_hash_table_destroy(k->selected);
	g_free(k);
}

bool k8s_capture_selecting(const struct k8s_capture *k)
{
	return k->opts->k8s_namespace || k->opts->k8s_pod || k->opts->k8s_container;
}

/* Adds @cgroup_id to the kernel's filter once. */
static void select_cgroup(struct k8s_capture *k, struct probes *p, uint64_t cgroup_id)
{
	int err;

	if (g_hash_table_contains(k->selected, &cgroup_id))
		return;
	err = probes_select_cgroup(p, cgroup_id);
	if (err) {
		log_warn("cannot select cgroup %llu: %s", (unsigned long long)cgroup_id,
			 strerror(-err));
		return;
	}
	g_hash_table_add(k->selected, g_memdup2(&cgroup_id, sizeof(cgroup_id)));
	log_info("selected cgroup %llu", (unsigned long long)cgroup_id);
}

int k8s_capture_select_running(struct k8s_capture *k, struct probes *p)
{
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(uint64_t));
	int n = k8s_meta_matching_cgroups(k->meta, k->opts->k8s_namespace, k->opts->k8s_pod,
					  k->opts->k8s_container, ids);

	if (n == -EOPNOTSUPP)
		log_fatal("--namespace/--pod/--container need the cgroup v2 hierarchy, which this "
			  "host does not mount");
	for (guint i = 0; n >= 0 && i < ids->len; i++)
		select_cgroup(k, p, g_array_index(ids, uint64_t, i));
	g_array_free(ids, TRUE);
	return n;
}

void k8s_capture_on_exec(struct k8s_capture *k, struct probes *p, pid_t pid, uint64_t cgroup_id)
{
	const struct k8s_workload *w;

	if (!k8s_capture_selecting(k) || !cgroup_id || g_hash_table_contains(k->selected, &cgroup_id))
		return;
	w = k8s_meta_for_process(k->meta, cgroup_id, pid);
	if (w->in_pod && k8s_workload_matches(w, k->opts->k8s_namespace, k->opts->k8s_pod,
					      k->opts->k8s_container))
		select_cgroup(k, p, cgroup_id);
}

/* Appends a "Key: value" line to @group when @value is set. */
static void add_line(GString *group, const char *key, const char *value)
{
	if (value && *value)
		g_string_append_printf(group, "%s%s: %s", group->len ? "\n" : "", key, value);
}

/* Returns the pod of this node that owns @addr, or NULL. */
static const struct k8s_workload *local_pod_of(struct k8s_capture *k,
					       const struct tcp_endpoint *addr)
{
	return addr->family ? k8s_meta_pod_for_ip(k->meta, addr->family, addr->addr) : NULL;
}

/*
 * Appends the peer group of @addr at @ts_ns to @comment, when anything
 * knows it. @pod: local_pod_of(@addr), which the caller has already.
 */
static void append_peer(struct k8s_capture *k, const struct tcp_endpoint *addr,
			const struct k8s_workload *pod, uint64_t ts_ns, GString *comment)
{
	struct k8s_ip_owner owner;
	GString *group;

	if (!addr->family)
		return;
	group = g_string_new(NULL);
	if (pod) {
		add_line(group, "PeerPod", pod->pod_name);
		add_line(group, "PeerNamespace", pod->pod_namespace);
	}
	if (k->api && k8s_api_lookup_ip(k->api, addr->family, addr->addr, ts_ns, &owner)) {
		if (!pod && !strcmp(owner.kind, "pod"))
			add_line(group, "PeerPod", owner.name);
		if (!pod)
			add_line(group, "PeerNamespace", owner.namespace_);
		add_line(group, "PeerService", owner.service);
	}
	if (group->len)
		g_string_append_printf(comment, "%c%s", WIRE_COMMENT_SEPARATOR, group->str);
	g_string_free(group, TRUE);
}

/* Appends @w's groups (container, pod) to @comment. */
static void append_workload(const struct k8s_workload *w, GString *comment)
{
	GPtrArray *groups = g_ptr_array_new_with_free_func(g_free);

	k8s_format_comments(w, groups);
	for (guint i = 0; i < groups->len; i++)
		g_string_append_printf(comment, "%c%s", WIRE_COMMENT_SEPARATOR,
				       (const char *)g_ptr_array_index(groups, i));
	g_ptr_array_free(groups, TRUE);
}

void k8s_capture_frame_comment(struct k8s_capture *k, uint64_t cgroup_id, pid_t pid,
			       const struct tcp_endpoint *remote, uint64_t ts_ns, GString *comment)
{
	append_workload(k8s_meta_for_process(k->meta, cgroup_id, pid), comment);
	append_peer(k, remote, local_pod_of(k, remote), ts_ns, comment);
}

void k8s_capture_packet_comment(const struct tcp_endpoint *src, const struct tcp_endpoint *dst,
				uint64_t ts_ns, char *out, size_t out_len, void *ctx)
{
	struct k8s_capture *k = ctx;
	const struct k8s_workload *pod = local_pod_of(k, src);
	GString *comment = g_string_new(NULL);

	/* The sender's pod when it is local, else the receiver's; the other end is the peer. */
	if (pod) {
		append_workload(pod, comment);
		append_peer(k, dst, local_pod_of(k, dst), ts_ns, comment);
	} else if ((pod = local_pod_of(k, dst))) {
		append_workload(pod, comment);
		append_peer(k, src, NULL, ts_ns, comment);
	}
	/* Groups start with a separator; the first needs none. */
	g_strlcpy(out, comment->len ? comment->str + 1 : "", out_len);
	g_string_free(comment, TRUE);
}
