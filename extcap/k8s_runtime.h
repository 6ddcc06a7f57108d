/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the container runtime keeps on the node about each container, read
 * without talking to it or to the API server:
 *   containerd  <state>/io.containerd.runtime.v2.task/<namespace>/<id>/config.json
 *   CRI-O       <state>/overlay-containers/<id>/userdata/config.json
 * (OCI runtime specs whose annotations carry pod and container names), and
 * the CNI plugins' result cache <dir>/<network>-<sandbox id>-<ifname>, which
 * maps pod IPs to pods. Everything here is parsed defensively: the files are
 * bounded in size and nesting, every field is type- and length-checked, and
 * a bad file is rejected with a message instead of half-read.
 */
#ifndef TLSDUMP_K8S_RUNTIME_H
#define TLSDUMP_K8S_RUNTIME_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "k8s_cgroup.h"

#define K8S_MAX_IPS 4

struct k8s_ip {
	int family;	   /* AF_INET or AF_INET6 */
	uint8_t addr[16];  /* AF_INET: the 4 bytes first, the rest zero */
};

enum k8s_container_type {
	K8S_CONTAINER_UNKNOWN,
	K8S_CONTAINER_SANDBOX,	 /* the pod's infrastructure ("pause") container */
	K8S_CONTAINER_WORKLOAD,	 /* a container of the pod spec */
};

struct k8s_container_info {
	enum k8s_runtime runtime;
	enum k8s_container_type type;
	char container_id[65];
	char container_name[254]; /* "" for a sandbox */
	char image[256];	  /* cut with "..." when longer */
	char pod_name[254];
	char pod_namespace[64];
	char pod_uid[40];	  /* "" when the runtime does not record it (old containerd) */
	char sandbox_id[65];
	unsigned int n_ips;	  /* CRI-O records the pod IPs (IP.0, IP.1) */
	struct k8s_ip ips[K8S_MAX_IPS];
};

/* A container found in the runtime state directories. */
struct k8s_runtime_ref {
	enum k8s_runtime runtime;
	char id[65];
};

struct k8s_cni_entry {
	char sandbox_id[65]; /* "containerId": the pod sandbox */
	char pod_name[254];
	char pod_namespace[64];
	char pod_uid[40];    /* "" when the runtime did not pass K8S_POD_UID */
	unsigned int n_ips;
	struct k8s_ip ips[K8S_MAX_IPS];
};

/* The state directories searched when none are configured (NULL-terminated). */
extern const char *const k8s_runtime_default_state_dirs[];

/* The CNI result cache directory used when none is configured. */
#define K8S_CNI_DEFAULT_CACHE_DIR "/var/lib/cni/results"

/*
 * Reads an IP address, with or without a "/prefix" suffix, into @ip.
 * Returns 0 or -EINVAL.
 */
int k8s_parse_ip(const char *text, struct k8s_ip *ip);

/*
 * Parses the config.json (@len bytes at @json) of container @id written by
 * @runtime (K8S_RUNTIME_CONTAINERD or K8S_RUNTIME_CRIO) into @out. Returns 0;
 * -ENODATA when it carries no Kubernetes annotations (a plain container) or
 * lacks a required one; -EINVAL or -EFBIG for a malformed or oversized file.
 * On error @err (@err_len bytes) says why.
 */
int k8s_runtime_parse_config(enum k8s_runtime runtime, const char *json, size_t len,
			     const char *id, struct k8s_container_info *out, char *err,
			     size_t err_len);

/*
 * Finds container @id in @state_dirs (NULL: the defaults) and parses its
 * config.json. @hint narrows the search to one runtime's layout
 * (K8S_RUNTIME_UNKNOWN or K8S_RUNTIME_DOCKER: both). containerd namespaces
 * are searched k8s.io first. Returns 0, -ENOENT when no runtime knows @id,
 * or an error of k8s_runtime_parse_config().
 */
int k8s_runtime_find(const char *const *state_dirs, enum k8s_runtime hint, const char *id,
		     struct k8s_container_info *out, char *err, size_t err_len);

/*
 * Appends to @refs_out (struct k8s_runtime_ref) every container with a
 * config.json in @state_dirs (NULL: the defaults) of runtime @which
 * (K8S_RUNTIME_UNKNOWN: all). Returns the number appended.
 */
int k8s_runtime_list(const char *const *state_dirs, enum k8s_runtime which, GArray *refs_out);

/*
 * Parses one CNI result cache file (libcni's "cniCacheV1") into @out.
 * Returns 0; -ENODATA when it is not a Kubernetes pod's (no K8S_POD_* args)
 * or has no IP; -EINVAL or -EFBIG when malformed. On error @err says why.
 */
int k8s_cni_parse(const char *json, size_t len, struct k8s_cni_entry *out, char *err,
		  size_t err_len);

/*
 * Parses every file in CNI cache directory @dir (NULL: the default) and
 * appends the pods' entries to @entries_out (struct k8s_cni_entry); other
 * and broken files are skipped. Returns the number appended, or -errno when
 * the directory cannot be read (-ENOENT: no CNI on this node).
 */
int k8s_cni_scan(const char *dir, GArray *entries_out);

#endif /* TLSDUMP_K8S_RUNTIME_H */
