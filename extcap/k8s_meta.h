/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Node-local Kubernetes metadata for the capture: which pod and container a
 * process (by cgroup id) belongs to, which local pod owns an IP, and which
 * cgroups hold the workloads a user asked to capture. Everything comes from
 * the node itself (cgroups, the runtime's state directories, the CNI cache),
 * never from the network, so lookups are cheap enough for the event path
 * and work without credentials. Off Kubernetes every lookup answers "not in
 * a pod" quickly. Not thread-safe: one capture loop owns it.
 */
#ifndef TLSDUMP_K8S_META_H
#define TLSDUMP_K8S_META_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct k8s_meta_config {
	const char *const *runtime_state_dirs; /* NULL: k8s_runtime_default_state_dirs */
	const char *cni_cache_dir;	       /* NULL: /var/lib/cni/results */
	const char *node_name;		       /* NULL: $NODE_NAME, else the host name */
	const char *cgroup_root;	       /* NULL: the cgroup v2 mount, found by type */
	const char *proc_root;		       /* NULL: /proc */
	unsigned int recheck_ms;	       /* 0: 1000; how soon a miss is looked at again */
};

struct k8s_workload {
	bool in_pod;
	char node[64];
	char pod_name[254];
	char pod_namespace[64];
	char pod_uid[40];
	char container_name[254];
	char container_id[65];
	char image[256];
	char runtime[16]; /* "containerd", "cri-o", "docker", or "" */
};

struct k8s_meta;

/* Returns a metadata cache; @cfg may be NULL. Never NULL (aborts on out of memory). */
struct k8s_meta *k8s_meta_new(const struct k8s_meta_config *cfg);

/* Frees the cache and every workload it returned; accepts NULL. */
void k8s_meta_free(struct k8s_meta *m);

/*
 * Returns what runs in cgroup @cgroup_id (0: unknown), with /proc/@pid/cgroup
 * as the fallback where the v2 id does not tell (pure v1 and hybrid hosts).
 * Cached per cgroup id; a container whose runtime state is not there yet is
 * looked at again after recheck_ms. Never NULL, never blocks on the network;
 * the result lives until k8s_meta_free() and may be completed in place.
 */
const struct k8s_workload *k8s_meta_for_process(struct k8s_meta *m, uint64_t cgroup_id, pid_t pid);

/*
 * Returns the local pod owning IP @addr (@family AF_INET: the first 4 bytes;
 * v4-mapped IPv6 counts as IPv4), from the CNI cache and CRI-O's IP
 * annotations, or NULL. The pod-level result (no container) lives until
 * k8s_meta_free().
 */
const struct k8s_workload *k8s_meta_pod_for_ip(struct k8s_meta *m, int family,
					       const uint8_t addr[16]);

/*
 * Appends to @ids_out (uint64_t) the cgroup v2 id of every cgroup, as of
 * now, of the containers whose namespace, pod and container name match
 * @ns, @pod and @container (fnmatch patterns; NULL or "" matches any). With
 * no container pattern the pods' own cgroups count too. Call again to pick up
 * workloads started since. Returns the number appended, or -errno
 * (-EOPNOTSUPP: no cgroup v2 hierarchy to filter on).
 */
int k8s_meta_matching_cgroups(struct k8s_meta *m, const char *ns, const char *pod,
			      const char *container, GArray *ids_out);

/*
 * Tells whether @w's namespace, pod and container name match @ns, @pod and
 * @container (fnmatch patterns; NULL or "" matches any).
 */
bool k8s_workload_matches(const struct k8s_workload *w, const char *ns, const char *pod,
			  const char *container);

/*
 * Appends to @comments_out (char *, g_free) the pcapng comments describing
 * @w, one per group of "Key: value" lines: the container (ContainerName,
 * ContainerId, ContainerImage), then the pod (PodName, PodNamespace, PodUID,
 * NodeName). Nothing for a workload outside pods; empty values are left out.
 */
void k8s_format_comments(const struct k8s_workload *w, GPtrArray *comments_out);

#endif /* TLSDUMP_K8S_META_H */
