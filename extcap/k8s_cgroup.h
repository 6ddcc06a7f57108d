/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Kubernetes pods and containers as the kernel sees them: cgroups. The
 * kubelet gives each pod a cgroup named after its UID (pod<UID> with the
 * cgroupfs driver, kubepods-...-pod<UID_>.slice with the systemd driver) and
 * the runtime gives each container a child cgroup named after its id. The
 * BPF side tags events with bpf_get_current_cgroup_id(), which is the inode
 * number of the cgroup v2 directory; this module maps such ids back to paths
 * and paths to {pod UID, QoS class, container id, runtime}.
 *
 * Works on cgroup v2, v1 and hybrid hosts. On a pure v1 host the v2 id is
 * the same (root) id for every process, so callers fall back to
 * /proc/PID/cgroup (k8s_cgroup_read_pid).
 */
#ifndef TLSDUMP_K8S_CGROUP_H
#define TLSDUMP_K8S_CGROUP_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum k8s_runtime {
	K8S_RUNTIME_UNKNOWN, /* a bare <id> leaf: containerd or docker with cgroupfs */
	K8S_RUNTIME_CONTAINERD,
	K8S_RUNTIME_CRIO,
	K8S_RUNTIME_DOCKER,
};

enum k8s_qos {
	K8S_QOS_GUARANTEED, /* pod cgroup directly under kubepods */
	K8S_QOS_BURSTABLE,
	K8S_QOS_BESTEFFORT,
};

struct k8s_cgroup_info {
	char pod_uid[40];	   /* with dashes, as the API server writes it */
	enum k8s_qos qos;
	char container_id[65];	   /* "" for the pod's own cgroup */
	enum k8s_runtime runtime;  /* K8S_RUNTIME_UNKNOWN when the leaf does not tell */
};

/* Tells whether @s is a container id: [A-Za-z0-9][A-Za-z0-9_.-]*, 64 chars at most. */
bool k8s_valid_container_id(const char *s);

/* Returns "containerd", "cri-o", "docker" or "" (unknown). */
const char *k8s_runtime_name(enum k8s_runtime runtime);

/* Returns "guaranteed", "burstable" or "besteffort". */
const char *k8s_qos_name(enum k8s_qos qos);

/*
 * Parses a cgroup path (any prefix; v1 or v2 layout, cgroupfs or systemd
 * driver) into @info. Components below the container's own cgroup belong to
 * that container. Returns 0, or -ENOENT when the path is not in a pod or is
 * a runtime helper's cgroup (crio-conmon-<id>).
 */
int k8s_cgroup_parse(const char *path, struct k8s_cgroup_info *info);

/*
 * Finds the cgroup v2 mount point in a mountinfo file (@mountinfo NULL:
 * /proc/self/mountinfo) by filesystem type. Returns 0 and fills @out, or
 * -ENOENT (pure cgroup v1 host) or another -errno.
 */
int k8s_cgroup_find_v2_mount(const char *mountinfo, char *out, size_t out_len);

/*
 * Picks, from the text of a /proc/PID/cgroup file, the path that tells most:
 * the v2 ("0::") path if it lies in a pod, else a v1 path that does (hybrid
 * and pure v1 hosts), else the v2 path, else the name=systemd path. Returns
 * 0 and fills @out, or -ENOENT when the text has no usable line.
 */
int k8s_cgroup_pick_path(const char *proc_cgroup_text, char *out, size_t out_len);

/*
 * Reads <@proc_root>/PID/cgroup (@proc_root NULL: /proc) and picks a path as
 * k8s_cgroup_pick_path() does. Returns 0, or -errno (-ENOENT: process gone).
 */
int k8s_cgroup_read_pid(const char *proc_root, pid_t pid, char *out, size_t out_len);

/*
 * The id -> path index of a cgroup v2 hierarchy. Paths are relative to the
 * mount ("/" is the root, "/kubepods/..." below it), as in /proc/PID/cgroup.
 */
struct k8s_cgroup_index;

/*
 * Returns an index over the cgroup v2 hierarchy mounted at @root (NULL: find
 * it in /proc/self/mountinfo), not walked yet; NULL with errno ENOENT when
 * there is no cgroup v2 mount.
 */
struct k8s_cgroup_index *k8s_cgroup_index_new(const char *root);

/* Frees the index; accepts NULL. */
void k8s_cgroup_index_free(struct k8s_cgroup_index *idx);

/* Returns the mount point the index walks. */
const char *k8s_cgroup_index_root(const struct k8s_cgroup_index *idx);

/* Sets how long a lookup miss waits after a walk before walking again (default 1 s). */
void k8s_cgroup_index_set_min_refresh(struct k8s_cgroup_index *idx, uint64_t usec);

/* Walks the hierarchy now. Returns the number of cgroups found, or -errno. */
int k8s_cgroup_index_refresh(struct k8s_cgroup_index *idx);

/*
 * Returns the path of cgroup @id, or NULL. A miss asks the kernel by file
 * handle (real cgroup2 mount, CAP_DAC_READ_SEARCH) and else walks the
 * hierarchy again, at most once per refresh interval. The string lives until
 * the next walk.
 */
const char *k8s_cgroup_index_lookup(struct k8s_cgroup_index *idx, uint64_t id);

/* Calls @fn for every indexed cgroup (walking first if never walked). */
void k8s_cgroup_index_foreach(struct k8s_cgroup_index *idx,
			      void (*fn)(uint64_t id, const char *path, void *ctx), void *ctx);

/*
 * Appends to @ids_out (uint64_t) the id of every cgroup, after a fresh walk,
 * that belongs to pod @pod_uid (dashes or underscores) and container
 * @container_id; NULL matches any, but not both NULL. The pod's own cgroup
 * matches only when @container_id is NULL. Returns the number appended, or
 * -errno.
 */
int k8s_cgroup_ids_matching(struct k8s_cgroup_index *idx, const char *pod_uid,
			    const char *container_id, GArray *ids_out);

#endif /* TLSDUMP_K8S_CGROUP_H */
