/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "k8s_cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif
/* The file handle type kernfs (cgroup2) uses: 8 bytes, the cgroup id. */
#define FILEID_KERNFS 0xfe

#define DEFAULT_MIN_REFRESH_US (1000 * 1000)
/* Bounds for the walk: real hierarchies are a few levels deep, a few thousand wide. */
#define WALK_MAX_DEPTH 64
#define WALK_MAX_CGROUPS (1 << 20)
#define PROC_CGROUP_MAX (64 * 1024)

const char *k8s_runtime_name(enum k8s_runtime runtime)
{
	switch (runtime) {
	case K8S_RUNTIME_CONTAINERD:
		return "containerd";
	case K8S_RUNTIME_CRIO:
		return "cri-o";
	case K8S_RUNTIME_DOCKER:
		return "docker";
	default:
		return "";
	}
}

const char *k8s_qos_name(enum k8s_qos qos)
{
	switch (qos) {
	case K8S_QOS_BURSTABLE:
		return "burstable";
	case K8S_QOS_BESTEFFORT:
		return "besteffort";
	default:
		return "guaranteed";
	}
}

/* ---- path parsing ---- */

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && !memcmp(s + len - n, suffix, n);
}

/*
 * Reads a pod UID of @len chars at @s: 36 chars with '-' or '_' (systemd
 * escapes dashes) between the groups, or 32 hex digits (static pods, whose
 * UID is a hash). Writes it with dashes into @out.
 */
static bool parse_uid(const char *s, size_t len, char out[40])
{
	if (len == 36) {
		for (size_t i = 0; i < len; i++) {
			bool sep = i == 8 || i == 13 || i == 18 || i == 23;

			if (sep ? (s[i] != '-' && s[i] != '_') : !g_ascii_isxdigit(s[i]))
				return false;
			out[i] = sep ? '-' : s[i];
		}
	} else if (len == 32) {
		for (size_t i = 0; i < len; i++) {
			if (!g_ascii_isxdigit(s[i]))
				return false;
			out[i] = s[i];
		}
	} else {
		return false;
	}
	out[len] = '\0';
	return true;
}

/* QoS from the text before the pod's name ("burstable", "kubepods-burstable", ...). */
static enum k8s_qos qos_from(const char *s, size_t len)
{
	if (has_suffix(s, len, "burstable"))
		return K8S_QOS_BURSTABLE;
	if (has_suffix(s, len, "besteffort"))
		return K8S_QOS_BESTEFFORT;
	return K8S_QOS_GUARANTEED;
}

/*
 * Tells whether component @c (@len chars; @parent/@plen the one above it) is
 * a pod's cgroup, and fills the UID and QoS class:
 *   cgroupfs: pod<UID> (QoS from the parent: burstable, besteffort)
 *   systemd:  <prefix>-pod<UID_>.slice (QoS from the prefix)
 */
static bool parse_pod_component(const char *c, size_t len, const char *parent, size_t plen,
				struct k8s_cgroup_info *info)
{
	static const size_t uid_lens[] = { 36, 32 };

	if (len > 3 && !memcmp(c, "pod", 3) && parse_uid(c + 3, len - 3, info->pod_uid)) {
		info->qos = qos_from(parent, plen);
		return true;
	}
	if (!has_suffix(c, len, ".slice"))
		return false;
	len -= strlen(".slice");
	for (size_t i = 0; i < G_N_ELEMENTS(uid_lens); i++) {
		size_t ulen = uid_lens[i];

		if (len < ulen + 4 || memcmp(c + len - ulen - 4, "-pod", 4))
			continue;
		if (parse_uid(c + len - ulen, ulen, info->pod_uid)) {
			info->qos = qos_from(c, len - ulen - 4);
			return true;
		}
	}
	return false;
}

/* A container id as runtimes accept it: [A-Za-z0-9][A-Za-z0-9_.-]*, at most 64 chars. */
static bool valid_id(const char *s, size_t len)
{
	if (len == 0 || len > 64 || !g_ascii_isalnum(s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!g_ascii_isalnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

bool k8s_valid_container_id(const char *s)
{
	return s && valid_id(s, strlen(s));
}

struct leaf_rule {
	const char *prefix, *suffix;
	enum k8s_runtime runtime;
	bool helper; /* a runtime helper's cgroup, not the container's */
};

/* First match wins: conmon before crio, scopes before bare names. */
static const struct leaf_rule leaf_rules[] = {
	{ "crio-conmon-", ".scope", K8S_RUNTIME_CRIO, true },
	{ "crio-conmon-", "", K8S_RUNTIME_CRIO, true },
	{ "cri-containerd-", ".scope", K8S_RUNTIME_CONTAINERD, false },
	{ "crio-", ".scope", K8S_RUNTIME_CRIO, false },
	{ "docker-", ".scope", K8S_RUNTIME_DOCKER, false },
	{ "crio-", "", K8S_RUNTIME_CRIO, false },
};

/*
 * Reads the container leaf below a pod's cgroup into @info. Returns 0,
 * 0 with no container id for a leaf that names none, or -ENOENT for a
 * runtime helper.
 */
static int parse_leaf(const char *c, size_t len, struct k8s_cgroup_info *info)
{
	for (size_t i = 0; i < G_N_ELEMENTS(leaf_rules); i++) {
		const struct leaf_rule *r = &leaf_rules[i];
		size_t plen = strlen(r->prefix), slen = strlen(r->suffix);

		if (len <= plen + slen || memcmp(c, r->prefix, plen) ||
		    !has_suffix(c, len, r->suffix))
			continue;
		if (!valid_id(c + plen, len - plen - slen))
			continue;
		if (r->helper)
			return -ENOENT;
		memcpy(info->container_id, c + plen, len - plen - slen);
		info->container_id[len - plen - slen] = '\0';
		info->runtime = r->runtime;
		return 0;
	}
	/* A bare id: containerd or docker with the cgroupfs driver. */
	if (!has_suffix(c, len, ".scope") && !has_suffix(c, len, ".slice") && valid_id(c, len)) {
		memcpy(info->container_id, c, len);
		info->container_id[len] = '\0';
	}
	return 0;
}

int k8s_cgroup_parse(const char *path, struct k8s_cgroup_info *info)
{
	const char *comp[WALK_MAX_DEPTH * 2];
	size_t clen[G_N_ELEMENTS(comp)];
	size_t n = 0;
	ssize_t pod = -1;

	memset(info, 0, sizeof(*info));
	if (!path)
		return -ENOENT;
	for (const char *p = path; *p && n < G_N_ELEMENTS(comp);) {
		const char *end = strchrnul(p, '/');

		if (end > p) {
			comp[n] = p;
			clen[n++] = end - p;
		}
		p = *end ? end + 1 : end;
	}
	/*
	 * The innermost pod wins: a node running in a pod (kind, nested
	 * clusters) has the inner kubelet's hierarchy inside the outer one.
	 */
	for (size_t i = 0; i < n; i++) {
		struct k8s_cgroup_info tmp = { 0 };

		if (parse_pod_component(comp[i], clen[i], i ? comp[i - 1] : "", i ? clen[i - 1] : 0,
					&tmp)) {
			*info = tmp;
			pod = i;
		}
	}
	if (pod < 0)
		return -ENOENT;
	if ((size_t)pod + 1 < n && parse_leaf(comp[pod + 1], clen[pod + 1], info)) {
		memset(info, 0, sizeof(*info));
		return -ENOENT;
	}
	return 0;
}

/* ---- mountinfo and /proc/PID/cgroup ---- */

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape_octal(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

int k8s_cgroup_find_v2_mount(const char *mountinfo, char *out, size_t out_len)
{
	FILE *f = fopen(mountinfo ? mountinfo : "/proc/self/mountinfo", "re");
	char *line = NULL, *fallback = NULL;
	size_t cap = 0;
	int ret = -ENOENT;

	if (!f)
		return -errno;
	while (getline(&line, &cap, f) > 0) {
		/* id parent maj:min root mountpoint options [optional...] - fstype source super */
		gchar **tok = g_strsplit_set(g_strchomp(line), " ", -1);
		guint ntok = g_strv_length(tok), sep;

		for (sep = 6; sep < ntok && strcmp(tok[sep], "-"); sep++)
			;
		if (sep + 1 < ntok && !strcmp(tok[sep + 1], "cgroup2")) {
			unescape_octal(tok[4]);
			/*
			 * A mount of the hierarchy's root sees every cgroup;
			 * bind mounts of a subtree (containers) are second best.
			 */
			if (!strcmp(tok[3], "/")) {
				if (g_strlcpy(out, tok[4], out_len) < out_len)
					ret = 0;
				else
					ret = -ENAMETOOLONG;
				g_strfreev(tok);
				break;
			}
			if (!fallback)
				fallback = g_strdup(tok[4]);
		}
		g_strfreev(tok);
	}
	if (ret == -ENOENT && fallback)
		ret = g_strlcpy(out, fallback, out_len) < out_len ? 0 : -ENAMETOOLONG;
	g_free(fallback);
	free(line);
	fclose(f);
	return ret;
}

static int copy_path(const char *path, size_t len, char *out, size_t out_len)
{
	if (len >= out_len)
		return -ENAMETOOLONG;
	memcpy(out, path, len);
	out[len] = '\0';
	return 0;
}

int k8s_cgroup_pick_path(const char *text, char *out, size_t out_len)
{
	/* Candidates in order of preference, as (start, length) into @text. */
	enum { V2_POD, V1_POD, V2, V1_SYSTEMD, N_PICKS };
	const char *pick[N_PICKS] = { 0 };
	size_t pick_len[N_PICKS] = { 0 };

	for (const char *line = text; line && *line;) {
		const char *eol = strchrnul(line, '\n');
		const char *c1 = memchr(line, ':', eol - line);
		const char *c2 = c1 ? memchr(c1 + 1, ':', eol - c1 - 1) : NULL;

		if (c2) {
			bool v2 = c1 - line == 1 && line[0] == '0' && c2 == c1 + 1;
			const char *path = c2 + 1;
			size_t len = eol - path;
			struct k8s_cgroup_info info;
			char *copy;
			int pod;

			/* A cgroup removed under a live (zombie) process reads "... (deleted)". */
			if (has_suffix(path, len, " (deleted)"))
				len -= strlen(" (deleted)");
			copy = g_strndup(path, len);
			pod = k8s_cgroup_parse(copy, &info) == 0;
			g_free(copy);
			if (v2 && pod && !pick[V2_POD])
				pick[V2_POD] = path, pick_len[V2_POD] = len;
			else if (!v2 && pod && !pick[V1_POD])
				pick[V1_POD] = path, pick_len[V1_POD] = len;
			if (v2 && !pick[V2])
				pick[V2] = path, pick_len[V2] = len;
			if (!v2 && c2 - c1 - 1 == 12 && !memcmp(c1 + 1, "name=systemd", 12))
				pick[V1_SYSTEMD] = path, pick_len[V1_SYSTEMD] = len;
		}
		line = *eol ? eol + 1 : NULL;
	}
	for (int i = 0; i < N_PICKS; i++)
		if (pick[i])
			return copy_path(pick[i], pick_len[i], out, out_len);
	return -ENOENT;
}

int k8s_cgroup_read_pid(const char *proc_root, pid_t pid, char *out, size_t out_len)
{
	char path[PATH_MAX];
	char *buf;
	size_t len = 0;
	ssize_t n;
	int fd, ret;

	if (pid <= 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/%d/cgroup", proc_root ? proc_root : "/proc", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	buf = g_malloc(PROC_CGROUP_MAX + 1);
	/* procfs files report size 0: read until EOF. */
	while (len < PROC_CGROUP_MAX && (n = read(fd, buf + len, PROC_CGROUP_MAX - len)) > 0)
		len += n;
	ret = n < 0 ? -errno : 0;
	close(fd);
	buf[len] = '\0';
	if (!ret)
		ret = k8s_cgroup_pick_path(buf, out, out_len);
	g_free(buf);
	return ret;
}

/* ---- the id -> path index ---- */

struct cg_entry {
	uint64_t id; /* the hash key points here */
	char path[];
};

struct k8s_cgroup_index {
	char *root;
	GHashTable *by_id; /* uint64_t * -> struct cg_entry * */
	bool walked;
	int64_t last_walk_us;
	uint64_t min_refresh_us;
	bool handles;	   /* root is a cgroup2 mount and open_by_handle_at may work */
	int root_fd;	   /* for open_by_handle_at; -1 until first needed */
};

static GHashTable *new_table(void)
{
	return g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL, g_free);
}

static void add_entry(GHashTable *t, uint64_t id, const char *path)
{
	size_t len = strlen(path);
	struct cg_entry *e = g_malloc(sizeof(*e) + len + 1);

	e->id = id;
	memcpy(e->path, path, len + 1);
	g_hash_table_replace(t, &e->id, e);
}

struct k8s_cgroup_index *k8s_cgroup_index_new(const char *root)
{
	struct k8s_cgroup_index *idx;
	char found[PATH_MAX];
	struct statfs sfs;

	if (!root) {
		int err = k8s_cgroup_find_v2_mount(NULL, found, sizeof(found));

		if (err) {
			errno = -err;
			return NULL;
		}
		root = found;
	}
	idx = g_new0(struct k8s_cgroup_index, 1);
	idx->root = g_strdup(root);
	/* "/a/b/" and "/a/b" name the same mount; readlink() gives the latter. */
	while (strlen(idx->root) > 1 && idx->root[strlen(idx->root) - 1] == '/')
		idx->root[strlen(idx->root) - 1] = '\0';
	idx->by_id = new_table();
	idx->min_refresh_us = DEFAULT_MIN_REFRESH_US;
	idx->handles = !statfs(idx->root, &sfs) && sfs.f_type == CGROUP2_SUPER_MAGIC;
	idx->root_fd = -1;
	return idx;
}

void k8s_cgroup_index_free(struct k8s_cgroup_index *idx)
{
	if (!idx)
		return;
	if (idx->root_fd >= 0)
		close(idx->root_fd);
	g_hash_table_destroy(idx->by_id);
	g_free(idx->root);
	g_free(idx);
}

const char *k8s_cgroup_index_root(const struct k8s_cgroup_index *idx)
{
	return idx->root;
}

void k8s_cgroup_index_set_min_refresh(struct k8s_cgroup_index *idx, uint64_t usec)
{
	idx->min_refresh_us = usec;
}

/*
 * Adds directory @fd (whose path is @path, relative to the mount) and every
 * directory below it to @t. Takes ownership of @fd.
 */
static void walk(GHashTable *t, int fd, GString *path, int depth)
{
	size_t base = path->len;
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (fstat(fd, &st) || g_hash_table_size(t) >= WALK_MAX_CGROUPS) {
		close(fd);
		return;
	}
	add_entry(t, st.st_ino, path->len ? path->str : "/");
	if (depth >= WALK_MAX_DEPTH || !(d = fdopendir(fd))) {
		close(fd);
		return;
	}
	while ((de = readdir(d))) {
		int child;

		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		/* O_NOFOLLOW|O_DIRECTORY: plain files and symlinks fail here (DT_UNKNOWN). */
		child = openat(dirfd(d), de->d_name,
			       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (child < 0)
			continue; /* removed meanwhile, or not a directory */
		g_string_append_c(path, '/');
		g_string_append(path, de->d_name);
		walk(t, child, path, depth + 1);
		g_string_truncate(path, base);
	}
	closedir(d);
}

int k8s_cgroup_index_refresh(struct k8s_cgroup_index *idx)
{
	int fd = open(idx->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	GString *path;
	GHashTable *t;

	idx->walked = true;
	idx->last_walk_us = g_get_monotonic_time();
	if (fd < 0)
		return -errno;
	t = new_table();
	path = g_string_sized_new(256);
	walk(t, fd, path, 0);
	g_string_free(path, TRUE);
	/* Replace, not merge: ids of removed cgroups go, and ids are never reused. */
	g_hash_table_destroy(idx->by_id);
	idx->by_id = t;
	return (int)g_hash_table_size(t);
}

/*
 * Asks the kernel for the path of cgroup @id: on cgroup2 the file handle of
 * a directory is its id. Needs CAP_DAC_READ_SEARCH; returns false when
 * unavailable (and stops trying when it never will be).
 */
static bool lookup_by_handle(struct k8s_cgroup_index *idx, uint64_t id)
{
	_Alignas(struct file_handle) char buf[sizeof(struct file_handle) + sizeof(id)];
	struct file_handle *fh = (struct file_handle *)buf;
	char link[64], target[PATH_MAX];
	size_t rlen = strlen(idx->root);
	ssize_t n;
	int fd;

	if (idx->root_fd < 0)
		idx->root_fd = open(idx->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (idx->root_fd < 0) {
		idx->handles = false;
		return false;
	}
	fh->handle_bytes = sizeof(id);
	fh->handle_type = FILEID_KERNFS;
	memcpy(fh->f_handle, &id, sizeof(id));
	fd = open_by_handle_at(idx->root_fd, fh, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EPERM || errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL)
			idx->handles = false;
		return false;
	}
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	close(fd);
	if (n <= 0)
		return false;
	target[n] = '\0';
	/* The directory must lie under our mount (and still exist). */
	if (has_suffix(target, n, " (deleted)") || strncmp(target, idx->root, rlen))
		return false;
	if (target[rlen] == '\0') {
		add_entry(idx->by_id, id, "/");
		return true;
	}
	if (rlen == 1 && target[0] == '/') /* mounted at / (a test chroot) */
		rlen = 0;
	if (target[rlen] != '/')
		return false;
	add_entry(idx->by_id, id, target + rlen);
	return true;
}

const char *k8s_cgroup_index_lookup(struct k8s_cgroup_index *idx, uint64_t id)
{
	struct cg_entry *e = g_hash_table_lookup(idx->by_id, &id);
	int64_t now;

	if (e)
		return e->path;
	if (idx->handles && lookup_by_handle(idx, id))
		return ((struct cg_entry *)g_hash_table_lookup(idx->by_id, &id))->path;
	now = g_get_monotonic_time();
	if (idx->walked && (uint64_t)(now - idx->last_walk_us) < idx->min_refresh_us)
		return NULL;
	if (k8s_cgroup_index_refresh(idx) < 0)
		return NULL;
	e = g_hash_table_lookup(idx->by_id, &id);
	return e ? e->path : NULL;
}

void k8s_cgroup_index_foreach(struct k8s_cgroup_index *idx,
			      void (*fn)(uint64_t id, const char *path, void *ctx), void *ctx)
{
	GHashTableIter it;
	gpointer value;

	if (!idx->walked)
		k8s_cgroup_index_refresh(idx);
	g_hash_table_iter_init(&it, idx->by_id);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const struct cg_entry *e = value;

		fn(e->id, e->path, ctx);
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int k8s_cgroup_ids_matching(struct k8s_cgroup_index *idx, const char *pod_uid,
			    const char *container_id, GArray *ids_out)
{
	char uid[40] = "";
	GHashTableIter it;
	gpointer value;
	guint first = ids_out->len;
	int ret;

	if (!pod_uid && !container_id)
		return -EINVAL;
	if (pod_uid && !parse_uid(pod_uid, strlen(pod_uid), uid))
		return -EINVAL;
	ret = k8s_cgroup_index_refresh(idx);
	if (ret < 0)
		return ret;
	g_hash_table_iter_init(&it, idx->by_id);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		const struct cg_entry *e = value;
		struct k8s_cgroup_info info;

		if (k8s_cgroup_parse(e->path, &info))
			continue;
		if (pod_uid && g_ascii_strcasecmp(info.pod_uid, uid))
			continue;
		if (container_id && strcmp(info.container_id, container_id))
			continue;
		g_array_append_val(ids_out, e->id);
	}
	/* Sorted, so callers and tests see a stable order. */
	if (ids_out->len > first)
		qsort(&g_array_index(ids_out, uint64_t, first), ids_out->len - first,
		      sizeof(uint64_t), cmp_u64);
	return (int)(ids_out->len - first);
}
