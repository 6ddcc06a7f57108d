/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "k8s_meta.h"

#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "k8s_cgroup.h"
#include "k8s_runtime.h"
#include "log.h"

#define DEFAULT_RECHECK_US (1000 * 1000)
/*
 * A container whose config.json stays unreadable (docker: no annotations; a
 * damaged file) is given up on after this many looks, so it costs nothing
 * afterwards; what the cgroup path told is kept.
 */
#define MAX_LOOKS 30
#define SWEEP_US (10 * 1000 * 1000)
#define PID_TTL_US (10 * 1000 * 1000)
#define MAX_CGROUP_RECORDS 65536

/* What is known about one container (or one pod's own cgroup). */
struct entry {
	struct k8s_workload w;
	enum k8s_runtime hint; /* from the cgroup path */
	bool complete;	       /* nothing more to look up */
	int looks;
	int64_t checked_us;    /* last look at the runtime state, 0: never */
};

/* A cgroup id seen: the container it holds, or NULL when its path is outside pods. */
struct cgroup_rec {
	struct entry *e;
};

struct pid_rec {
	struct entry *e; /* NULL: not in a pod */
	int64_t checked_us;
};

/* A CRI-O container looked at for pod IPs. */
struct crio_rec {
	struct k8s_workload *pod; /* NULL: not a sandbox, or unreadable */
	unsigned int n_ips;
	struct k8s_ip ips[K8S_MAX_IPS];
};

struct k8s_meta {
	char **state_dirs;
	char *cni_dir;
	char *proc_root;
	uint64_t recheck_us;
	struct k8s_cgroup_index *cg; /* NULL: no cgroup v2 hierarchy (pure v1) */
	bool has_v1;		     /* v1 hierarchies exist: /proc/PID/cgroup may tell more */
	struct k8s_workload outside; /* the answer for everything not in a pod */

	GHashTable *entries;   /* "c/<id>" or "p/<uid>" -> struct entry * */
	GHashTable *by_cgroup; /* uint64_t * -> struct cgroup_rec * (key after it) */
	GHashTable *by_pid;    /* pid -> struct pid_rec * */
	GHashTable *pods;      /* uid, or "ns/name" without one -> struct k8s_workload * */
	GHashTable *by_ip;     /* struct k8s_ip * -> struct k8s_workload * (in pods) */
	GHashTable *crio_seen; /* id -> struct crio_rec * */
	uint64_t ip_signature; /* of the directories the IP table was built from */
	int64_t ip_checked_us;
	int64_t swept_us;
};

/* ---- construction ---- */

/* Tells whether this host has cgroup v1 hierarchies (pure v1 or hybrid). */
static bool proc_self_has_v1(void)
{
	char *text = NULL, **lines;
	bool v1 = false;

	if (!g_file_get_contents("/proc/self/cgroup", &text, NULL, NULL))
		return true; /* unknown: keep the /proc/PID/cgroup fallback */
	lines = g_strsplit(text, "\n", -1);
	for (char **l = lines; *l; l++)
		if (**l && strncmp(*l, "0::", 3))
			v1 = true;
	g_strfreev(lines);
	g_free(text);
	return v1;
}

static guint ip_hash(gconstpointer p)
{
	const struct k8s_ip *ip = p;
	guint h = (guint)ip->family;

	for (size_t i = 0; i < sizeof(ip->addr); i++)
		h = h * 31 + ip->addr[i];
	return h;
}

static gboolean ip_equal(gconstpointer a, gconstpointer b)
{
	const struct k8s_ip *x = a, *y = b;

	return x->family == y->family && !memcmp(x->addr, y->addr, sizeof(x->addr));
}

static void node_name(const struct k8s_meta_config *cfg, char *out, size_t len)
{
	const char *env = getenv("NODE_NAME");
	char host[HOST_NAME_MAX + 1];

	if (cfg && cfg->node_name)
		g_strlcpy(out, cfg->node_name, len);
	else if (env && *env)
		g_strlcpy(out, env, len);
	else if (!gethostname(host, sizeof(host))) {
		host[sizeof(host) - 1] = '\0';
		g_strlcpy(out, host, len);
	}
}

struct k8s_meta *k8s_meta_new(const struct k8s_meta_config *cfg)
{
	struct k8s_meta *m = g_new0(struct k8s_meta, 1);
	const char *const *dirs = cfg && cfg->runtime_state_dirs ? cfg->runtime_state_dirs
								 : k8s_runtime_default_state_dirs;

	m->state_dirs = g_strdupv((char **)dirs);
	m->cni_dir = g_strdup(cfg && cfg->cni_cache_dir ? cfg->cni_cache_dir
							: K8S_CNI_DEFAULT_CACHE_DIR);
	m->proc_root = g_strdup(cfg && cfg->proc_root ? cfg->proc_root : "/proc");
	m->recheck_us = cfg && cfg->recheck_ms ? (uint64_t)cfg->recheck_ms * 1000
					       : DEFAULT_RECHECK_US;
	m->cg = k8s_cgroup_index_new(cfg ? cfg->cgroup_root : NULL);
	if (m->cg)
		k8s_cgroup_index_set_min_refresh(m->cg, m->recheck_us);
	m->has_v1 = proc_self_has_v1();
	node_name(cfg, m->outside.node, sizeof(m->outside.node));

	m->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	m->by_cgroup = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
	m->by_pid = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	m->pods = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	m->by_ip = g_hash_table_new_full(ip_hash, ip_equal, g_free, NULL);
	m->crio_seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);

	if (m->cg)
		log_info("kubernetes: cgroup v2 hierarchy at %s, node %s",
			 k8s_cgroup_index_root(m->cg), m->outside.node);
	else
		log_info("kubernetes: no cgroup v2 hierarchy; pods found through /proc/PID/cgroup");
	return m;
}

void k8s_meta_free(struct k8s_meta *m)
{
	if (!m)
		return;
	g_hash_table_destroy(m->crio_seen);
	g_hash_table_destroy(m->by_ip);
	g_hash_table_destroy(m->pods);
	g_hash_table_destroy(m->by_pid);
	g_hash_table_destroy(m->by_cgroup);
	g_hash_table_destroy(m->entries);
	k8s_cgroup_index_free(m->cg);
	g_free(m->proc_root);
	g_free(m->cni_dir);
	g_strfreev(m->state_dirs);
	g_free(m);
}

/* ---- pods and IPs ---- */

/* Returns the pod-level workload for a pod, creating it; fills names it lacked. */
static struct k8s_workload *upsert_pod(struct k8s_meta *m, const char *ns, const char *name,
				       const char *uid)
{
	char *key = uid && *uid ? g_ascii_strdown(uid, -1) : g_strdup_printf("%s/%s", ns, name);
	struct k8s_workload *pod = g_hash_table_lookup(m->pods, key);

	if (!pod) {
		pod = g_new0(struct k8s_workload, 1);
		pod->in_pod = true;
		g_strlcpy(pod->node, m->outside.node, sizeof(pod->node));
		if (uid && *uid)
			g_strlcpy(pod->pod_uid, key, sizeof(pod->pod_uid));
		g_hash_table_insert(m->pods, key, pod);
	} else {
		g_free(key);
	}
	if (!pod->pod_name[0] && name)
		g_strlcpy(pod->pod_name, name, sizeof(pod->pod_name));
	if (!pod->pod_namespace[0] && ns)
		g_strlcpy(pod->pod_namespace, ns, sizeof(pod->pod_namespace));
	return pod;
}

static void add_ip(struct k8s_meta *m, GHashTable *table, const struct k8s_ip *ip,
		   struct k8s_workload *pod)
{
	/*
	 * A cache file left behind by a failed CNI DEL can name an IP given
	 * to a newer pod since; the first source (CNI before CRI-O, then
	 * directory order) wins, and the clash is logged.
	 */
	struct k8s_workload *had = g_hash_table_lookup(table, ip);

	if (had) {
		if (had != pod)
			log_debug("kubernetes: IP claimed by pods %s/%s and %s/%s",
				  had->pod_namespace, had->pod_name, pod->pod_namespace,
				  pod->pod_name);
		return;
	}
	g_hash_table_insert(table, g_memdup2(ip, sizeof(*ip)), pod);
}

/*
 * Mixes the modification times of the directories the IP table comes from.
 * Files are only ever added and removed there (a new sandbox has a new id,
 * so a new cache file name), which is what a directory's mtime follows.
 */
static uint64_t ip_sources_signature(struct k8s_meta *m)
{
	uint64_t sig = 1469598103934665603ULL;
	struct stat st;

	for (int i = -1; i < 0 || m->state_dirs[i]; i++) {
		char path[PATH_MAX];
		uint64_t v = 0;

		if (i < 0)
			g_strlcpy(path, m->cni_dir, sizeof(path));
		else
			snprintf(path, sizeof(path), "%s/overlay-containers", m->state_dirs[i]);
		/* The inode too: a directory removed and made again within a tick. */
		if (!stat(path, &st))
			v = (uint64_t)st.st_mtim.tv_sec * 1000000000ULL + st.st_mtim.tv_nsec +
			    st.st_ino;
		sig = (sig ^ v) * 1099511628211ULL;
	}
	return sig;
}

/* Reads the CRI-O containers not looked at yet, for their sandboxes' IPs. */
static void scan_crio(struct k8s_meta *m, GHashTable *table)
{
	GArray *refs = g_array_new(FALSE, FALSE, sizeof(struct k8s_runtime_ref));
	GHashTable *present = g_hash_table_new(g_str_hash, g_str_equal);
	GHashTableIter it;
	gpointer key, value;

	k8s_runtime_list((const char *const *)m->state_dirs, K8S_RUNTIME_CRIO, refs);
	for (guint i = 0; i < refs->len; i++) {
		struct k8s_runtime_ref *ref = &g_array_index(refs, struct k8s_runtime_ref, i);
		struct crio_rec *rec = g_hash_table_lookup(m->crio_seen, ref->id);

		g_hash_table_add(present, ref->id);
		if (!rec) {
			struct k8s_container_info info;

			rec = g_new0(struct crio_rec, 1);
			/* The IPs are on the sandbox; its containers repeat them. */
			if (!k8s_runtime_find((const char *const *)m->state_dirs, K8S_RUNTIME_CRIO,
					      ref->id, &info, NULL, 0) &&
			    info.type == K8S_CONTAINER_SANDBOX && info.n_ips) {
				rec->pod = upsert_pod(m, info.pod_namespace, info.pod_name,
						      info.pod_uid);
				rec->n_ips = info.n_ips;
				memcpy(rec->ips, info.ips, sizeof(rec->ips));
			}
			g_hash_table_insert(m->crio_seen, g_strdup(ref->id), rec);
		}
		for (unsigned int j = 0; rec->pod && j < rec->n_ips; j++)
			add_ip(m, table, &rec->ips[j], rec->pod);
	}
	/* Forget removed containers, so a recreated id is read again. */
	g_hash_table_iter_init(&it, m->crio_seen);
	while (g_hash_table_iter_next(&it, &key, &value))
		if (!g_hash_table_contains(present, key))
			g_hash_table_iter_remove(&it);
	g_hash_table_destroy(present);
	g_array_free(refs, TRUE);
}

/*
 * Rebuilds the IP table when its sources changed, looking at most once per
 * recheck interval (one stat() per directory when nothing changed).
 */
static void refresh_ips(struct k8s_meta *m, int64_t now)
{
	GArray *cni;
	GHashTable *table;
	uint64_t sig;

	if (m->ip_checked_us && (uint64_t)(now - m->ip_checked_us) < m->recheck_us)
		return;
	m->ip_checked_us = now;
	sig = ip_sources_signature(m);
	if (sig == m->ip_signature)
		return;
	m->ip_signature = sig;

	table = g_hash_table_new_full(ip_hash, ip_equal, g_free, NULL);
	cni = g_array_new(FALSE, FALSE, sizeof(struct k8s_cni_entry));
	k8s_cni_scan(m->cni_dir, cni);
	for (guint i = 0; i < cni->len; i++) {
		struct k8s_cni_entry *e = &g_array_index(cni, struct k8s_cni_entry, i);
		struct k8s_workload *pod = upsert_pod(m, e->pod_namespace, e->pod_name, e->pod_uid);

		for (unsigned int j = 0; j < e->n_ips; j++)
			add_ip(m, table, &e->ips[j], pod);
	}
	g_array_free(cni, TRUE);
	scan_crio(m, table);
	g_hash_table_destroy(m->by_ip);
	m->by_ip = table;
}

const struct k8s_workload *k8s_meta_pod_for_ip(struct k8s_meta *m, int family,
					       const uint8_t addr[16])
{
	static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	struct k8s_ip key = { .family = family };

	if (family == AF_INET)
		memcpy(key.addr, addr, 4);
	else if (family == AF_INET6 && !memcmp(addr, v4_mapped, sizeof(v4_mapped))) {
		key.family = AF_INET;
		memcpy(key.addr, addr + 12, 4);
	} else if (family == AF_INET6)
		memcpy(key.addr, addr, 16);
	else
		return NULL;
	refresh_ips(m, g_get_monotonic_time());
	return g_hash_table_lookup(m->by_ip, &key);
}

/* ---- containers ---- */

static struct entry *entry_for(struct k8s_meta *m, const struct k8s_cgroup_info *ci)
{
	char *key = ci->container_id[0] ? g_strconcat("c/", ci->container_id, NULL)
					: g_strconcat("p/", ci->pod_uid, NULL);
	struct entry *e = g_hash_table_lookup(m->entries, key);

	if (e) {
		g_free(key);
		return e;
	}
	e = g_new0(struct entry, 1);
	e->w.in_pod = true;
	e->hint = ci->runtime;
	g_strlcpy(e->w.node, m->outside.node, sizeof(e->w.node));
	g_strlcpy(e->w.pod_uid, ci->pod_uid, sizeof(e->w.pod_uid));
	g_strlcpy(e->w.container_id, ci->container_id, sizeof(e->w.container_id));
	g_strlcpy(e->w.runtime, k8s_runtime_name(ci->runtime), sizeof(e->w.runtime));
	g_hash_table_insert(m->entries, key, e);
	return e;
}

/* Fills pod names from what the CNI cache or another container told about the pod. */
static void names_from_pod(struct k8s_meta *m, struct entry *e, int64_t now)
{
	struct k8s_workload *pod;
	char *uid;

	if (e->w.pod_name[0])
		return;
	refresh_ips(m, now);
	uid = g_ascii_strdown(e->w.pod_uid, -1);
	pod = g_hash_table_lookup(m->pods, uid);
	g_free(uid);
	if (pod && pod->pod_name[0]) {
		g_strlcpy(e->w.pod_name, pod->pod_name, sizeof(e->w.pod_name));
		g_strlcpy(e->w.pod_namespace, pod->pod_namespace, sizeof(e->w.pod_namespace));
	}
}

/* Looks at the runtime state for @e, unless complete or looked at recently. */
static void refresh_entry(struct k8s_meta *m, struct entry *e, int64_t now)
{
	struct k8s_container_info info;
	char err[320] = "";
	int ret;

	if (e->complete || (e->checked_us && (uint64_t)(now - e->checked_us) < m->recheck_us))
		return;
	e->checked_us = now;
	e->looks++;
	if (!e->w.container_id[0]) {
		/* A pod's own cgroup: only the pod's names to find. */
		names_from_pod(m, e, now);
		e->complete = e->w.pod_name[0] || e->looks >= MAX_LOOKS;
		return;
	}
	ret = k8s_runtime_find((const char *const *)m->state_dirs, e->hint, e->w.container_id,
			       &info, err, sizeof(err));
	if (ret) {
		if (ret != -ENOENT && ret != -ENODATA && e->looks == 1)
			log_warn("kubernetes: container %s: %s", e->w.container_id, err);
		names_from_pod(m, e, now);
		e->complete = e->looks >= MAX_LOOKS;
		return;
	}
	if (info.pod_uid[0] && g_ascii_strcasecmp(info.pod_uid, e->w.pod_uid))
		log_warn("kubernetes: container %s: runtime says pod %s, cgroup says %s",
			 e->w.container_id, info.pod_uid, e->w.pod_uid);
	g_strlcpy(e->w.pod_name, info.pod_name, sizeof(e->w.pod_name));
	g_strlcpy(e->w.pod_namespace, info.pod_namespace, sizeof(e->w.pod_namespace));
	g_strlcpy(e->w.container_name, info.container_name, sizeof(e->w.container_name));
	g_strlcpy(e->w.image, info.image, sizeof(e->w.image));
	g_strlcpy(e->w.runtime, k8s_runtime_name(info.runtime), sizeof(e->w.runtime));
	upsert_pod(m, info.pod_namespace, info.pod_name, e->w.pod_uid);
	e->complete = true;
}

/* Returns the entry for cgroup @path, or NULL when it is not in a pod. */
static struct entry *entry_for_path(struct k8s_meta *m, const char *path, int64_t now)
{
	struct k8s_cgroup_info ci;
	struct entry *e;

	if (k8s_cgroup_parse(path, &ci))
		return NULL;
	e = entry_for(m, &ci);
	refresh_entry(m, e, now);
	return e;
}

static void remember_cgroup(struct k8s_meta *m, uint64_t id, struct entry *e)
{
	struct cgroup_rec *rec = g_new0(struct cgroup_rec, 1);
	uint64_t *key = g_new(uint64_t, 1);

	/* Ids are never reused, but the table should not grow without bound. */
	if (g_hash_table_size(m->by_cgroup) >= MAX_CGROUP_RECORDS)
		g_hash_table_remove_all(m->by_cgroup);
	*key = id;
	rec->e = e;
	g_hash_table_replace(m->by_cgroup, key, rec);
}

static gboolean pid_expired(gpointer key, gpointer value, gpointer user_data)
{
	const struct pid_rec *rec = value;

	return *(const int64_t *)user_data - rec->checked_us > PID_TTL_US;
}

/* Drops old per-pid answers now and then: pids are reused. */
static void sweep(struct k8s_meta *m, int64_t now)
{
	if (now - m->swept_us < SWEEP_US)
		return;
	m->swept_us = now;
	g_hash_table_foreach_remove(m->by_pid, pid_expired, &now);
}

/* The v2 id of the cgroup at @path (relative to the mount), or 0. */
static uint64_t cgroup_id_of(struct k8s_meta *m, const char *path)
{
	char full[PATH_MAX];
	struct stat st;

	snprintf(full, sizeof(full), "%s%s", k8s_cgroup_index_root(m->cg), path);
	return stat(full, &st) ? 0 : st.st_ino;
}

const struct k8s_workload *k8s_meta_for_process(struct k8s_meta *m, uint64_t cgroup_id, pid_t pid)
{
	int64_t now = g_get_monotonic_time();
	struct cgroup_rec *rec = NULL;
	struct pid_rec *prec;
	char path[PATH_MAX];
	struct entry *e;

	sweep(m, now);
	if (cgroup_id && m->cg) {
		rec = g_hash_table_lookup(m->by_cgroup, &cgroup_id);
		if (!rec) {
			const char *p = k8s_cgroup_index_lookup(m->cg, cgroup_id);

			if (p) {
				remember_cgroup(m, cgroup_id, entry_for_path(m, p, now));
				rec = g_hash_table_lookup(m->by_cgroup, &cgroup_id);
			}
		}
		if (rec && rec->e) {
			refresh_entry(m, rec->e, now);
			return &rec->e->w;
		}
		/* Outside pods in v2; without v1 hierarchies nothing else can tell. */
		if (rec && !m->has_v1)
			return &m->outside;
	}
	if (pid <= 0)
		return &m->outside;
	prec = g_hash_table_lookup(m->by_pid, GINT_TO_POINTER(pid));
	if (prec && (uint64_t)(now - prec->checked_us) < m->recheck_us) {
		if (prec->e)
			refresh_entry(m, prec->e, now);
		return prec->e ? &prec->e->w : &m->outside;
	}
	e = NULL;
	if (!k8s_cgroup_read_pid(m->proc_root, pid, path, sizeof(path)))
		e = entry_for_path(m, path, now);
	/* A cgroup too new for the index: remember it by id when the id is its own. */
	if (e && cgroup_id && m->cg && !rec && cgroup_id_of(m, path) == cgroup_id)
		remember_cgroup(m, cgroup_id, e);
	if (!prec) {
		prec = g_new0(struct pid_rec, 1);
		g_hash_table_insert(m->by_pid, GINT_TO_POINTER(pid), prec);
	}
	prec->e = e;
	prec->checked_us = now;
	return e ? &e->w : &m->outside;
}

/* ---- the kernel filter ---- */

struct pod_cgroup {
	uint64_t id;
	struct k8s_cgroup_info info;
};

static void collect_pod_cgroups(uint64_t id, const char *path, void *ctx)
{
	struct pod_cgroup pc = { .id = id };

	if (!k8s_cgroup_parse(path, &pc.info))
		g_array_append_val((GArray *)ctx, pc);
}

static bool matches(const char *pattern, const char *value)
{
	return !pattern || !*pattern || !fnmatch(pattern, value, 0);
}

bool k8s_workload_matches(const struct k8s_workload *w, const char *ns, const char *pod,
			  const char *container)
{
	return matches(ns, w->pod_namespace) && matches(pod, w->pod_name) &&
	       matches(container, w->container_name);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int k8s_meta_matching_cgroups(struct k8s_meta *m, const char *ns, const char *pod,
			      const char *container, GArray *ids_out)
{
	int64_t now = g_get_monotonic_time();
	GHashTable *matched_pods;
	GArray *found;
	guint first = ids_out->len;
	int ret;

	if (!m->cg)
		return -EOPNOTSUPP;
	ret = k8s_cgroup_index_refresh(m->cg);
	if (ret < 0)
		return ret;
	found = g_array_new(FALSE, FALSE, sizeof(struct pod_cgroup));
	k8s_cgroup_index_foreach(m->cg, collect_pod_cgroups, found);
	refresh_ips(m, now);
	matched_pods = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (guint i = 0; i < found->len; i++) {
		struct pod_cgroup *pc = &g_array_index(found, struct pod_cgroup, i);
		struct entry *e;

		if (!pc->info.container_id[0])
			continue;
		e = entry_for(m, &pc->info);
		refresh_entry(m, e, now);
		if (!k8s_workload_matches(&e->w, ns, pod, container))
			continue;
		g_array_append_val(ids_out, pc->id);
		g_hash_table_add(matched_pods, g_ascii_strdown(pc->info.pod_uid, -1));
	}
	/* A pod's own cgroup, when the whole pod is wanted. */
	for (guint i = 0; (!container || !*container) && i < found->len; i++) {
		struct pod_cgroup *pc = &g_array_index(found, struct pod_cgroup, i);
		char *uid = g_ascii_strdown(pc->info.pod_uid, -1);
		struct k8s_workload *w = g_hash_table_lookup(m->pods, uid);

		if (!pc->info.container_id[0] &&
		    (g_hash_table_contains(matched_pods, uid) ||
		     (w && matches(ns, w->pod_namespace) && matches(pod, w->pod_name)) ||
		     ((!ns || !*ns) && (!pod || !*pod))))
			g_array_append_val(ids_out, pc->id);
		g_free(uid);
	}
	g_hash_table_destroy(matched_pods);
	g_array_free(found, TRUE);
	if (ids_out->len > first)
		qsort(&g_array_index(ids_out, uint64_t, first), ids_out->len - first,
		      sizeof(uint64_t), cmp_u64);
	return (int)(ids_out->len - first);
}

/* ---- pcapng comments ---- */

struct comment_line {
	const char *key;
	size_t offset;
};

#define LINE(key, field) { key, offsetof(struct k8s_workload, field) }

static const struct comment_line container_lines[] = {
	LINE("ContainerName", container_name),
	LINE("ContainerId", container_id),
	LINE("ContainerImage", image),
};

static const struct comment_line pod_lines[] = {
	LINE("PodName", pod_name),
	LINE("PodNamespace", pod_namespace),
	LINE("PodUID", pod_uid),
	LINE("NodeName", node),
};

static void add_group(const struct k8s_workload *w, const struct comment_line *lines, size_t n,
		      GPtrArray *out)
{
	GString *s = g_string_new(NULL);

	for (size_t i = 0; i < n; i++) {
		const char *value = (const char *)w + lines[i].offset;

		if (!*value)
			continue;
		if (s->len)
			g_string_append_c(s, '\n');
		g_string_append_printf(s, "%s: %s", lines[i].key, value);
	}
	if (s->len)
		g_ptr_array_add(out, g_string_free(s, FALSE));
	else
		g_string_free(s, TRUE);
}

void k8s_format_comments(const struct k8s_workload *w, GPtrArray *comments_out)
{
	if (!w || !w->in_pod)
		return;
	/* The node alone does not make a container group. */
	if (w->container_name[0] || w->container_id[0])
		add_group(w, container_lines, G_N_ELEMENTS(container_lines), comments_out);
	add_group(w, pod_lines, G_N_ELEMENTS(pod_lines), comments_out);
}
