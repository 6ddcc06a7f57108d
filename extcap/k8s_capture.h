/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The Kubernetes side of a capture: the pod and container names written on
 * plaintext frames and original packets, the peer's pod or service, and the
 * --namespace/--pod/--container selection kept in the kernel's cgroup map.
 * Node-local metadata (k8s_meta) answers on the event path; the API server
 * (k8s_api), when there is one, is only ever read from its history.
 */
#ifndef TLSDUMP_K8S_CAPTURE_H
#define TLSDUMP_K8S_CAPTURE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "options.h"
#include "probes.h"
#include "tcp_flows.h"

struct k8s_capture;

/* Returns the capture's Kubernetes context for @opts; never NULL. Off Kubernetes it only costs lookups that miss. */
struct k8s_capture *k8s_capture_new(const struct tlsdump_options *opts);

/* Frees @k (stops the API watcher); accepts NULL. */
void k8s_capture_free(struct k8s_capture *k);

/* Tells whether --namespace, --pod or --container narrow the capture. */
bool k8s_capture_selecting(const struct k8s_capture *k);

/*
 * Puts the cgroups of the selected workloads running now into the probes'
 * filter. Returns how many, or -errno (fatal line printed: the selection
 * cannot work on this host).
 */
int k8s_capture_select_running(struct k8s_capture *k, struct probes *p);

/* A process @pid started in cgroup @cgroup_id: lets it through the filter if it is selected. */
void k8s_capture_on_exec(struct k8s_capture *k, struct probes *p, pid_t pid, uint64_t cgroup_id);

/*
 * Appends to @comment the groups naming the workload of the process (@pid
 * in @cgroup_id) and the peer at @remote (family 0: unknown) at @ts_ns
 * (realtime), each group preceded by WIRE_COMMENT_SEPARATOR.
 */
void k8s_capture_frame_comment(struct k8s_capture *k, uint64_t cgroup_id, pid_t pid,
			       const struct tcp_endpoint *remote, uint64_t ts_ns, GString *comment);

/* wire_packet_comment_fn: the local pod of a packet's addresses, and its peer. */
void k8s_capture_packet_comment(const struct tcp_endpoint *src, const struct tcp_endpoint *dst,
				uint64_t ts_ns, char *out, size_t out_len, void *ctx);

#endif /* TLSDUMP_K8S_CAPTURE_H */
