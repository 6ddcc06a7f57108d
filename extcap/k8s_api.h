/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Peer names from the Kubernetes API server: which pod or service had an IP
 * address at a given time. A thread of its own lists and then watches pods,
 * services and EndpointSlices, and keeps a time-stamped history per address,
 * because the cluster reuses addresses and frames are named after they were
 * captured. Lookups only read that history: they never wait on the network.
 */
#ifndef TLSDUMP_K8S_API_H
#define TLSDUMP_K8S_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct k8s_api_config {
	/* "https://host:port"; NULL: from KUBERNETES_SERVICE_HOST/_PORT */
	const char *server;
	/* token, ca.crt; NULL: /var/run/secrets/kubernetes.io/serviceaccount */
	const char *credentials_dir;
};

struct k8s_ip_owner {
	char kind[16]; /* "pod" or "service" */
	char name[254];
	char namespace_[64];
	/* pods: a service selecting it via EndpointSlices, "" if none; services: its own name */
	char service[254];
};

struct k8s_api;

/*
 * Starts the watcher; returns NULL (and a reason in @why, errno set) when not
 * in a cluster or credentials missing: the caller then runs without peer
 * names. Never waits for the server: an unreachable one only means empty lookups.
 */
struct k8s_api *k8s_api_start(const struct k8s_api_config *cfg, char *why, size_t why_len);

/*
 * Who had @addr at @realtime_ns (CLOCK_REALTIME ns), from the time-stamped
 * history; false if unknown. @family is AF_INET (address in the first 4 bytes
 * of @addr) or AF_INET6 (IPv4-mapped addresses are looked up as IPv4).
 * Thread-safe, O(1)-ish, never waits on the network.
 */
bool k8s_api_lookup_ip(struct k8s_api *api, int family, const uint8_t addr[16],
		       uint64_t realtime_ns, struct k8s_ip_owner *out);

/* Stops the thread promptly (even mid-request/watch) and frees; accepts NULL. */
void k8s_api_stop(struct k8s_api *api);

#endif /* TLSDUMP_K8S_API_H */
