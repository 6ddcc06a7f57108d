/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "k8s_runtime.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Real files are far smaller (a config.json with a seccomp profile is tens
 * of kilobytes, a CNI cache entry a few) and a few levels deep; the bounds
 * keep a damaged or hostile file from costing memory or, through json-glib's
 * recursive parser, the stack.
 */
#define CONFIG_MAX_BYTES (4 * 1024 * 1024)
#define CNI_MAX_BYTES (1024 * 1024)
#define JSON_MAX_DEPTH 32

const char *const k8s_runtime_default_state_dirs[] = {
	"/run/containerd",		      /* containerd */
	"/run/containers/storage",	      /* CRI-O (containers/storage runroot) */
	"/run/k3s/containerd",		      /* k3s, rke2 */
	"/var/snap/microk8s/common/run/containerd", /* microk8s */
	NULL,
};

/* Where containerd keeps bundles: the v2 shims, then the v1 linux runtime (containerd < 1.4). */
static const char *const containerd_task_dirs[] = {
	"io.containerd.runtime.v2.task",
	"io.containerd.runtime.v1.linux",
};

#define CONTAINERD_K8S_NAMESPACE "k8s.io"

/* containerd's CRI plugin annotations. */
#define CTRD_TYPE "io.kubernetes.cri.container-type"
#define CTRD_SANDBOX_ID "io.kubernetes.cri.sandbox-id"
#define CTRD_POD_NAME "io.kubernetes.cri.sandbox-name"
#define CTRD_POD_NAMESPACE "io.kubernetes.cri.sandbox-namespace"
#define CTRD_POD_UID "io.kubernetes.cri.sandbox-uid"
#define CTRD_CONTAINER_NAME "io.kubernetes.cri.container-name"
#define CTRD_IMAGE "io.kubernetes.cri.image-name"

/* CRI-O's own annotations, and the kubelet's labels it copies into annotations. */
#define CRIO_TYPE "io.kubernetes.cri-o.ContainerType"
#define CRIO_CONTAINER_ID "io.kubernetes.cri-o.ContainerID"
#define CRIO_SANDBOX_ID "io.kubernetes.cri-o.SandboxID"
#define CRIO_IMAGE_NAME "io.kubernetes.cri-o.ImageName"
#define CRIO_IMAGE "io.kubernetes.cri-o.Image"
#define CRIO_LABELS "io.kubernetes.cri-o.Labels"
#define CRIO_METADATA "io.kubernetes.cri-o.Metadata"
#define CRIO_KUBE_NAME "io.kubernetes.cri-o.KubeName"   /* sandboxes: the pod name */
#define CRIO_NAMESPACE "io.kubernetes.cri-o.Namespace"  /* sandboxes: the pod namespace */
#define CRIO_IP_PREFIX "io.kubernetes.cri-o.IP"	/* IP.0, IP.1; plain IP before CRI-O 1.16 */
#define KUBE_POD_NAME "io.kubernetes.pod.name"
#define KUBE_POD_NAMESPACE "io.kubernetes.pod.namespace"
#define KUBE_POD_UID "io.kubernetes.pod.uid"
#define KUBE_CONTAINER_NAME "io.kubernetes.container.name"

#define CNI_CACHE_KIND "cniCacheV1"

static void set_err(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
	va_list ap;

	if (!err || !err_len)
		return;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

int k8s_parse_ip(const char *text, struct k8s_ip *ip)
{
	char buf[INET6_ADDRSTRLEN + 8];
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);

	memset(ip, 0, sizeof(*ip));
	if (len == 0 || len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (slash) {
		char *end;
		long prefix = strtol(slash + 1, &end, 10);

		if (end == slash + 1 || *end || prefix < 0 || prefix > 128)
			return -EINVAL;
	}
	if (inet_pton(AF_INET, buf, ip->addr) == 1)
		ip->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, ip->addr) == 1)
		ip->family = AF_INET6;
	else
		return -EINVAL;
	return 0;
}

/* ---- reading and parsing JSON files safely ---- */

/*
 * Reads regular file @path, at most @max bytes, into a NUL-terminated
 * buffer. Returns 0, -EFBIG when larger, or -errno.
 */
static int read_bounded(const char *path, size_t max, char **out, size_t *out_len)
{
	/* O_NONBLOCK: a FIFO planted in place of the file must not hang us. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	size_t len = 0;
	ssize_t n = 0;
	char *buf;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		return -EFBIG;
	}
	buf = g_malloc(max + 2);
	/* Read up to one byte past the limit: the file may have grown since fstat(). */
	while (len <= max && (n = read(fd, buf + len, max + 1 - len)) > 0)
		len += n;
	close(fd);
	if (n < 0 || len > max) {
		int ret = n < 0 ? -errno : -EFBIG;

		g_free(buf);
		return ret;
	}
	buf[len] = '\0';
	*out = buf;
	*out_len = len;
	return 0;
}

/* Tells whether no array or object in @json nests deeper than @max_depth. */
static bool depth_ok(const char *json, size_t len, int max_depth)
{
	bool in_string = false;
	int depth = 0;

	for (size_t i = 0; i < len; i++) {
		char c = json[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max_depth)
				return false;
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return true;
}

/*
 * Parses @json into @parser and returns its root object, or NULL with
 * *@ret and @err set.
 */
static JsonObject *parse_object(JsonParser *parser, const char *json, size_t len, size_t max,
				const char *what, int *ret, char *err, size_t err_len)
{
	GError *error = NULL;
	JsonNode *root;

	if (len > max) {
		*ret = -EFBIG;
		set_err(err, err_len, "%s: %zu bytes, more than %zu", what, len, max);
		return NULL;
	}
	if (!depth_ok(json, len, JSON_MAX_DEPTH)) {
		*ret = -EINVAL;
		set_err(err, err_len, "%s: nested deeper than %d levels", what, JSON_MAX_DEPTH);
		return NULL;
	}
	if (!json_parser_load_from_data(parser, json, (gssize)len, &error)) {
		*ret = -EINVAL;
		set_err(err, err_len, "%s: %s", what, error->message);
		g_error_free(error);
		return NULL;
	}
	root = json_parser_get_root(parser);
	if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
		*ret = -EINVAL;
		set_err(err, err_len, "%s: not a JSON object", what);
		return NULL;
	}
	return json_node_get_object(root);
}

/*
 * Gets string member @key of @obj. Returns 0 with *@value set; -ENOENT when
 * absent or null; -EINVAL (and @err) when of another type.
 */
static int get_string(JsonObject *obj, const char *key, const char **value, char *err,
		      size_t err_len)
{
	JsonNode *node = obj ? json_object_get_member(obj, key) : NULL;

	*value = NULL;
	if (!node || JSON_NODE_HOLDS_NULL(node))
		return -ENOENT;
	if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING) {
		set_err(err, err_len, "%s is not a string", key);
		return -EINVAL;
	}
	*value = json_node_get_string(node);
	return 0;
}

enum field_kind {
	FIELD_NAME,  /* Kubernetes object names: [A-Za-z0-9._-] */
	FIELD_ID,    /* container and sandbox ids */
	FIELD_UID,   /* pod UIDs: hex and dashes */
	FIELD_IMAGE, /* image references: printable, no spaces; cut when too long */
};

static bool name_char(char c)
{
	return g_ascii_isalnum(c) || c == '.' || c == '-' || c == '_';
}

/*
 * Copies @value, checked as a @kind, into @dst (@size bytes). Values end up
 * in pcapng comments as "Key: value" lines, so control characters (a line
 * break would forge a key) are refused everywhere. Returns 0 or -EINVAL.
 */
static int copy_field(char *dst, size_t size, const char *value, enum field_kind kind,
		      const char *key, char *err, size_t err_len)
{
	size_t len = strlen(value);

	for (size_t i = 0; i < len; i++) {
		char c = value[i];
		bool ok;

		switch (kind) {
		case FIELD_UID:
			ok = g_ascii_isxdigit(c) || c == '-';
			break;
		case FIELD_IMAGE:
			ok = c > ' ' && c < 0x7f;
			break;
		default:
			ok = name_char(c);
			break;
		}
		if (!ok) {
			set_err(err, err_len, "%s: unexpected character 0x%02x", key,
				(unsigned char)c);
			return -EINVAL;
		}
	}
	if (kind == FIELD_ID && len && !k8s_valid_container_id(value)) {
		set_err(err, err_len, "%s: not a container id", key);
		return -EINVAL;
	}
	if (len >= size) {
		if (kind != FIELD_IMAGE) {
			set_err(err, err_len, "%s: %zu characters, more than %zu", key, len,
				size - 1);
			return -EINVAL;
		}
		/* An image reference has no length limit; its start says the most. */
		snprintf(dst, size, "%.*s...", (int)(size - 4), value);
		return 0;
	}
	memcpy(dst, value, len + 1);
	return 0;
}

/*
 * Looks @key up in each object of @sources (NULL entries skipped) and copies
 * the first string found into @dst. Returns 0, -ENOENT when no source has
 * it, or -EINVAL.
 */
static int take(char *dst, size_t size, JsonObject *const *sources, size_t n_sources,
		const char *const *keys, enum field_kind kind, char *err, size_t err_len)
{
	for (size_t i = 0; i < n_sources; i++) {
		const char *value;
		int ret;

		if (!sources[i] || !keys[i])
			continue;
		ret = get_string(sources[i], keys[i], &value, err, err_len);
		if (ret == -ENOENT || (ret == 0 && !value[0]))
			continue;
		if (ret)
			return ret;
		return copy_field(dst, size, value, kind, keys[i], err, err_len);
	}
	return -ENOENT;
}

/* take() from a single object. */
static int take1(char *dst, size_t size, JsonObject *obj, const char *key,
		 enum field_kind kind, char *err, size_t err_len)
{
	return take(dst, size, &obj, 1, &key, kind, err, err_len);
}

static int parse_type(JsonObject *ann, const char *key, struct k8s_container_info *out,
		      char *err, size_t err_len)
{
	const char *value;
	int ret = get_string(ann, key, &value, err, err_len);

	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	if (!strcmp(value, "sandbox"))
		out->type = K8S_CONTAINER_SANDBOX;
	else if (!strcmp(value, "container"))
		out->type = K8S_CONTAINER_WORKLOAD;
	else {
		set_err(err, err_len, "%s: unexpected value", key);
		return -EINVAL;
	}
	return 0;
}

/* Makes a missing required field an error naming it; passes others through. */
static int required(int ret, const char *key, char *err, size_t err_len)
{
	if (ret == -ENOENT) {
		set_err(err, err_len, "no %s annotation", key);
		return -ENODATA;
	}
	return ret;
}

static int parse_containerd(JsonObject *ann, const char *id, struct k8s_container_info *out,
			    char *err, size_t err_len)
{
	int ret;

	if (!json_object_has_member(ann, CTRD_TYPE) &&
	    !json_object_has_member(ann, CTRD_POD_NAME)) {
		set_err(err, err_len, "no Kubernetes (CRI) annotations");
		return -ENODATA;
	}
	if ((ret = parse_type(ann, CTRD_TYPE, out, err, err_len)))
		return ret;
	ret = take1(out->pod_name, sizeof(out->pod_name), ann, CTRD_POD_NAME, FIELD_NAME, err,
		    err_len);
	if ((ret = required(ret, CTRD_POD_NAME, err, err_len)))
		return ret;
	ret = take1(out->pod_namespace, sizeof(out->pod_namespace), ann, CTRD_POD_NAMESPACE,
		    FIELD_NAME, err, err_len);
	if ((ret = required(ret, CTRD_POD_NAMESPACE, err, err_len)))
		return ret;
	/* sandbox-uid came with containerd 1.5. */
	ret = take1(out->pod_uid, sizeof(out->pod_uid), ann, CTRD_POD_UID, FIELD_UID, err, err_len);
	if (ret && ret != -ENOENT)
		return ret;
	ret = take1(out->sandbox_id, sizeof(out->sandbox_id), ann, CTRD_SANDBOX_ID, FIELD_ID, err,
		    err_len);
	if (ret && ret != -ENOENT)
		return ret;
	if (out->type != K8S_CONTAINER_SANDBOX) {
		ret = take1(out->container_name, sizeof(out->container_name), ann,
			    CTRD_CONTAINER_NAME, FIELD_NAME, err, err_len);
		if ((ret = required(ret, CTRD_CONTAINER_NAME, err, err_len)))
			return ret;
	}
	ret = take1(out->image, sizeof(out->image), ann, CTRD_IMAGE, FIELD_IMAGE, err, err_len);
	if (ret && ret != -ENOENT)
		return ret;
	/* containerd names the bundle directory after the container: no id annotation. */
	if (id)
		g_strlcpy(out->container_id, id, sizeof(out->container_id));
	else if (out->type == K8S_CONTAINER_SANDBOX)
		g_strlcpy(out->container_id, out->sandbox_id, sizeof(out->container_id));
	return 0;
}

/*
 * Parses the JSON object held in string annotation @key (CRI-O stores its
 * labels and metadata so) into @parser. Returns the object, or NULL when
 * absent; sets *@ret on a malformed one.
 */
static JsonObject *nested_object(JsonParser *parser, JsonObject *ann, const char *key,
				 int *ret, char *err, size_t err_len)
{
	const char *text;
	int r = get_string(ann, key, &text, err, err_len);

	if (r == -ENOENT)
		return NULL;
	if (r) {
		*ret = r;
		return NULL;
	}
	return parse_object(parser, text, strlen(text), CONFIG_MAX_BYTES, key, ret, err, err_len);
}

static int parse_crio_ips(JsonObject *ann, struct k8s_container_info *out, char *err,
			  size_t err_len)
{
	for (int i = -1; i < K8S_MAX_IPS && out->n_ips < K8S_MAX_IPS; i++) {
		char key[64];
		const char *value;
		int ret;

		if (i < 0)
			snprintf(key, sizeof(key), "%s", CRIO_IP_PREFIX);
		else
			snprintf(key, sizeof(key), "%s.%d", CRIO_IP_PREFIX, i);
		ret = get_string(ann, key, &value, err, err_len);
		if (ret == -ENOENT || (!ret && !value[0])) /* "": host network */
			continue;
		if (ret)
			return ret;
		if (k8s_parse_ip(value, &out->ips[out->n_ips])) {
			set_err(err, err_len, "%s: not an IP address", key);
			return -EINVAL;
		}
		/* CRI-O before 1.16 wrote IP, later IP.0 too: keep one of each. */
		if (i == 0 && out->n_ips == 1 &&
		    !memcmp(&out->ips[0], &out->ips[1], sizeof(out->ips[0])))
			continue;
		out->n_ips++;
	}
	return 0;
}

static int parse_crio(JsonObject *ann, const char *id, struct k8s_container_info *out,
		      char *err, size_t err_len)
{
	JsonParser *labels_parser = json_parser_new(), *meta_parser = json_parser_new();
	JsonObject *labels, *meta = NULL;
	int ret = 0;

	if (!json_object_has_member(ann, CRIO_TYPE) &&
	    !json_object_has_member(ann, KUBE_POD_NAME)) {
		set_err(err, err_len, "no Kubernetes (CRI-O) annotations");
		ret = -ENODATA;
		goto cleanup;
	}
	if ((ret = parse_type(ann, CRIO_TYPE, out, err, err_len)))
		goto cleanup;
	labels = nested_object(labels_parser, ann, CRIO_LABELS, &ret, err, err_len);
	if (ret)
		goto cleanup;
	{
		/* The kubelet's labels copied as annotations, the Labels JSON, sandbox keys. */
		JsonObject *const src[] = { ann, labels, ann };
		const char *const name_keys[] = { KUBE_POD_NAME, KUBE_POD_NAME, CRIO_KUBE_NAME };
		const char *const ns_keys[] = { KUBE_POD_NAMESPACE, KUBE_POD_NAMESPACE,
						CRIO_NAMESPACE };
		const char *const uid_keys[] = { KUBE_POD_UID, KUBE_POD_UID, NULL };
		bool sandbox = out->type == K8S_CONTAINER_SANDBOX;

		ret = take(out->pod_name, sizeof(out->pod_name), src, sandbox ? 3 : 2, name_keys,
			   FIELD_NAME, err, err_len);
		if ((ret = required(ret, KUBE_POD_NAME, err, err_len)))
			goto cleanup;
		ret = take(out->pod_namespace, sizeof(out->pod_namespace), src, sandbox ? 3 : 2,
			   ns_keys, FIELD_NAME, err, err_len);
		if ((ret = required(ret, KUBE_POD_NAMESPACE, err, err_len)))
			goto cleanup;
		ret = take(out->pod_uid, sizeof(out->pod_uid), src, 2, uid_keys, FIELD_UID, err,
			   err_len);
		if (ret && ret != -ENOENT)
			goto cleanup;
	}
	if (out->type != K8S_CONTAINER_SANDBOX) {
		/* Metadata is {"name":..., "attempt":...} for containers. */
		meta = nested_object(meta_parser, ann, CRIO_METADATA, &ret, err, err_len);
		if (ret)
			goto cleanup;
		{
			JsonObject *const src[] = { ann, labels, meta };
			const char *const keys[] = { KUBE_CONTAINER_NAME, KUBE_CONTAINER_NAME,
						     "name" };

			ret = take(out->container_name, sizeof(out->container_name), src, 3, keys,
				   FIELD_NAME, err, err_len);
			if ((ret = required(ret, KUBE_CONTAINER_NAME, err, err_len)))
				goto cleanup;
		}
	}
	{
		JsonObject *const src[] = { ann, ann };
		const char *const keys[] = { CRIO_IMAGE_NAME, CRIO_IMAGE };

		ret = take(out->image, sizeof(out->image), src, 2, keys, FIELD_IMAGE, err, err_len);
		if (ret && ret != -ENOENT)
			goto cleanup;
	}
	ret = take1(out->sandbox_id, sizeof(out->sandbox_id), ann, CRIO_SANDBOX_ID, FIELD_ID, err,
		    err_len);
	if (ret && ret != -ENOENT)
		goto cleanup;
	ret = take1(out->container_id, sizeof(out->container_id), ann, CRIO_CONTAINER_ID,
		    FIELD_ID, err, err_len);
	if (ret && ret != -ENOENT)
		goto cleanup;
	if (id && out->container_id[0] && strcmp(id, out->container_id)) {
		set_err(err, err_len, "%s %s differs from the directory's id", CRIO_CONTAINER_ID,
			out->container_id);
		ret = -EINVAL;
		goto cleanup;
	}
	if (id)
		g_strlcpy(out->container_id, id, sizeof(out->container_id));
	ret = parse_crio_ips(ann, out, err, err_len);
cleanup:
	g_object_unref(meta_parser);
	g_object_unref(labels_parser);
	return ret;
}

int k8s_runtime_parse_config(enum k8s_runtime runtime, const char *json, size_t len,
			     const char *id, struct k8s_container_info *out, char *err,
			     size_t err_len)
{
	JsonParser *parser = json_parser_new();
	JsonObject *root, *ann;
	JsonNode *node;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	out->runtime = runtime;
	if (id && !k8s_valid_container_id(id)) {
		set_err(err, err_len, "not a container id");
		ret = -EINVAL;
		goto cleanup;
	}
	root = parse_object(parser, json, len, CONFIG_MAX_BYTES, "config.json", &ret, err, err_len);
	if (!root)
		goto cleanup;
	node = json_object_get_member(root, "annotations");
	if (!node || JSON_NODE_HOLDS_NULL(node)) {
		set_err(err, err_len, "config.json has no annotations");
		ret = -ENODATA;
		goto cleanup;
	}
	if (!JSON_NODE_HOLDS_OBJECT(node)) {
		set_err(err, err_len, "config.json: annotations is not an object");
		ret = -EINVAL;
		goto cleanup;
	}
	ann = json_node_get_object(node);
	switch (runtime) {
	case K8S_RUNTIME_CONTAINERD:
		ret = parse_containerd(ann, id, out, err, err_len);
		break;
	case K8S_RUNTIME_CRIO:
		ret = parse_crio(ann, id, out, err, err_len);
		break;
	default:
		set_err(err, err_len, "no parser for runtime %d", runtime);
		ret = -EINVAL;
		break;
	}
cleanup:
	if (ret) {
		memset(out, 0, sizeof(*out));
		out->runtime = runtime;
	}
	g_object_unref(parser);
	return ret;
}

/* ---- finding containers in the state directories ---- */

static int load_config(const char *path, enum k8s_runtime runtime, const char *id,
		       struct k8s_container_info *out, char *err, size_t err_len)
{
	char *buf;
	size_t len;
	int ret = read_bounded(path, CONFIG_MAX_BYTES, &buf, &len);

	if (ret) {
		if (ret != -ENOENT && ret != -ENOTDIR)
			set_err(err, err_len, "%s: %s", path, g_strerror(-ret));
		return ret == -ENOTDIR ? -ENOENT : ret;
	}
	ret = k8s_runtime_parse_config(runtime, buf, len, id, out, err, err_len);
	if (ret && err && err_len) {
		char *msg = g_strdup(err);

		set_err(err, err_len, "%s: %s", path, msg);
		g_free(msg);
	}
	g_free(buf);
	return ret;
}

static gint ns_order(gconstpointer a, gconstpointer b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	bool kx = !strcmp(x, CONTAINERD_K8S_NAMESPACE), ky = !strcmp(y, CONTAINERD_K8S_NAMESPACE);

	if (kx != ky)
		return kx ? -1 : 1;
	return strcmp(x, y);
}

/* Returns the subdirectory names of @path (sorted by @order, if given). */
static GPtrArray *subdirs(const char *path, GCompareFunc order)
{
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	DIR *d = opendir(path);
	struct dirent *de;

	if (!d)
		return names;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN)
			continue;
		g_ptr_array_add(names, g_strdup(de->d_name));
	}
	closedir(d);
	if (order)
		g_ptr_array_sort(names, order);
	return names;
}

/*
 * Keeps the most telling outcome of several attempts in *@best: success,
 * else the first real error (with its message), else "not found".
 */
static void keep_result(int *best, int ret, const char *err, char *best_err, size_t err_len)
{
	if (*best == 0)
		return;
	if (ret == 0 || *best == -ENOENT) {
		*best = ret;
		if (ret && err && best_err)
			g_strlcpy(best_err, err, err_len);
	}
}

/* Tries @path as container @id's config.json; a success fills @out. */
static void try_config(const char *path, enum k8s_runtime runtime, const char *id,
		       struct k8s_container_info *out, int *best, char *err, size_t err_len)
{
	struct k8s_container_info info;
	char msg[256] = "";
	int ret = load_config(path, runtime, id, &info, msg, sizeof(msg));

	if (!ret)
		*out = info;
	keep_result(best, ret, msg, err, err_len);
}

/* Searches every containerd namespace (k8s.io first) under state directory @dir. */
static void find_containerd(const char *dir, const char *id, struct k8s_container_info *out,
			    int *best, char *err, size_t err_len)
{
	char path[PATH_MAX];

	for (size_t t = 0; t < G_N_ELEMENTS(containerd_task_dirs) && *best; t++) {
		GPtrArray *ns;

		snprintf(path, sizeof(path), "%s/%s", dir, containerd_task_dirs[t]);
		ns = subdirs(path, ns_order);
		for (guint i = 0; i < ns->len && *best; i++) {
			snprintf(path, sizeof(path), "%s/%s/%s/%s/config.json", dir,
				 containerd_task_dirs[t], (char *)g_ptr_array_index(ns, i), id);
			try_config(path, K8S_RUNTIME_CONTAINERD, id, out, best, err, err_len);
		}
		g_ptr_array_free(ns, TRUE);
	}
}

int k8s_runtime_find(const char *const *state_dirs, enum k8s_runtime hint, const char *id,
		     struct k8s_container_info *out, char *err, size_t err_len)
{
	char path[PATH_MAX];
	int best = -ENOENT;

	memset(out, 0, sizeof(*out));
	if (!k8s_valid_container_id(id)) {
		set_err(err, err_len, "not a container id");
		return -EINVAL;
	}
	if (!state_dirs)
		state_dirs = k8s_runtime_default_state_dirs;
	for (size_t d = 0; state_dirs[d] && best; d++) {
		if (hint != K8S_RUNTIME_CRIO)
			find_containerd(state_dirs[d], id, out, &best, err, err_len);
		if (hint == K8S_RUNTIME_CONTAINERD || !best)
			continue;
		snprintf(path, sizeof(path), "%s/overlay-containers/%s/userdata/config.json",
			 state_dirs[d], id);
		try_config(path, K8S_RUNTIME_CRIO, id, out, &best, err, err_len);
	}
	return best;
}

static void add_refs(const char *dir, enum k8s_runtime runtime, GArray *refs_out)
{
	GPtrArray *ids = subdirs(dir, NULL);

	for (guint i = 0; i < ids->len; i++) {
		struct k8s_runtime_ref ref = { .runtime = runtime };
		const char *id = g_ptr_array_index(ids, i);

		if (!k8s_valid_container_id(id))
			continue;
		g_strlcpy(ref.id, id, sizeof(ref.id));
		g_array_append_val(refs_out, ref);
	}
	g_ptr_array_free(ids, TRUE);
}

static void list_containerd(const char *dir, GArray *refs_out)
{
	char path[PATH_MAX];

	for (size_t t = 0; t < G_N_ELEMENTS(containerd_task_dirs); t++) {
		GPtrArray *ns;

		snprintf(path, sizeof(path), "%s/%s", dir, containerd_task_dirs[t]);
		ns = subdirs(path, ns_order);
		for (guint i = 0; i < ns->len; i++) {
			snprintf(path, sizeof(path), "%s/%s/%s", dir, containerd_task_dirs[t],
				 (char *)g_ptr_array_index(ns, i));
			add_refs(path, K8S_RUNTIME_CONTAINERD, refs_out);
		}
		g_ptr_array_free(ns, TRUE);
	}
}

int k8s_runtime_list(const char *const *state_dirs, enum k8s_runtime which, GArray *refs_out)
{
	guint first = refs_out->len;
	char path[PATH_MAX];

	if (!state_dirs)
		state_dirs = k8s_runtime_default_state_dirs;
	for (size_t d = 0; state_dirs[d]; d++) {
		if (which != K8S_RUNTIME_CRIO)
			list_containerd(state_dirs[d], refs_out);
		if (which != K8S_RUNTIME_CONTAINERD) {
			snprintf(path, sizeof(path), "%s/overlay-containers", state_dirs[d]);
			add_refs(path, K8S_RUNTIME_CRIO, refs_out);
		}
	}
	return (int)(refs_out->len - first);
}

/* ---- the CNI result cache ---- */

/* Reads the IPs of a CNI result: "ips" (spec 0.3 on) or "ip4"/"ip6" (0.2). */
static int parse_cni_ips(JsonObject *result, struct k8s_cni_entry *out, char *err,
			 size_t err_len)
{
	JsonNode *node = json_object_get_member(result, "ips");

	if (node && JSON_NODE_HOLDS_ARRAY(node)) {
		JsonArray *ips = json_node_get_array(node);

		for (guint i = 0; i < json_array_get_length(ips) && out->n_ips < K8S_MAX_IPS; i++) {
			JsonNode *e = json_array_get_element(ips, i);
			const char *addr;

			if (!JSON_NODE_HOLDS_OBJECT(e)) {
				set_err(err, err_len, "result.ips[%u] is not an object", i);
				return -EINVAL;
			}
			if (get_string(json_node_get_object(e), "address", &addr, err, err_len)) {
				set_err(err, err_len, "result.ips[%u].address is not a string", i);
				return -EINVAL;
			}
			if (k8s_parse_ip(addr, &out->ips[out->n_ips])) {
				set_err(err, err_len, "result.ips[%u].address: not an IP address",
					i);
				return -EINVAL;
			}
			out->n_ips++;
		}
	} else if (node && !JSON_NODE_HOLDS_NULL(node)) {
		set_err(err, err_len, "result.ips is not an array");
		return -EINVAL;
	}
	for (int v = 0; v < 2 && out->n_ips < K8S_MAX_IPS; v++) {
		JsonNode *legacy = json_object_get_member(result, v ? "ip6" : "ip4");
		const char *addr;

		if (!legacy || !JSON_NODE_HOLDS_OBJECT(legacy))
			continue;
		if (get_string(json_node_get_object(legacy), "ip", &addr, err, err_len) ||
		    k8s_parse_ip(addr, &out->ips[out->n_ips])) {
			set_err(err, err_len, "result.%s.ip: not an IP address", v ? "ip6" : "ip4");
			return -EINVAL;
		}
		out->n_ips++;
	}
	return 0;
}

/* Reads the K8S_POD_* pairs of "cniArgs": [[key, value], ...]. */
static int parse_cni_args(JsonArray *args, struct k8s_cni_entry *out, char *err, size_t err_len)
{
	static const struct {
		const char *key;
		size_t offset, size;
		enum field_kind kind;
	} fields[] = {
		{ "K8S_POD_NAMESPACE", offsetof(struct k8s_cni_entry, pod_namespace),
		  sizeof(((struct k8s_cni_entry *)0)->pod_namespace), FIELD_NAME },
		{ "K8S_POD_NAME", offsetof(struct k8s_cni_entry, pod_name),
		  sizeof(((struct k8s_cni_entry *)0)->pod_name), FIELD_NAME },
		{ "K8S_POD_UID", offsetof(struct k8s_cni_entry, pod_uid),
		  sizeof(((struct k8s_cni_entry *)0)->pod_uid), FIELD_UID },
	};

	for (guint i = 0; i < json_array_get_length(args); i++) {
		JsonNode *pair = json_array_get_element(args, i);
		JsonArray *kv;
		JsonNode *k, *v;

		if (!JSON_NODE_HOLDS_ARRAY(pair) ||
		    json_array_get_length(kv = json_node_get_array(pair)) != 2) {
			set_err(err, err_len, "cniArgs[%u] is not a [key, value] pair", i);
			return -EINVAL;
		}
		k = json_array_get_element(kv, 0);
		v = json_array_get_element(kv, 1);
		if (!JSON_NODE_HOLDS_VALUE(k) || json_node_get_value_type(k) != G_TYPE_STRING ||
		    !JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING) {
			set_err(err, err_len, "cniArgs[%u] is not a pair of strings", i);
			return -EINVAL;
		}
		for (size_t f = 0; f < G_N_ELEMENTS(fields); f++) {
			int ret;

			if (strcmp(json_node_get_string(k), fields[f].key))
				continue;
			ret = copy_field((char *)out + fields[f].offset, fields[f].size,
					 json_node_get_string(v), fields[f].kind, fields[f].key,
					 err, err_len);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int k8s_cni_parse(const char *json, size_t len, struct k8s_cni_entry *out, char *err,
		  size_t err_len)
{
	JsonParser *parser = json_parser_new();
	JsonObject *root;
	JsonNode *node;
	const char *value;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	root = parse_object(parser, json, len, CNI_MAX_BYTES, "CNI cache", &ret, err, err_len);
	if (!root)
		goto cleanup;
	if (get_string(root, "kind", &value, NULL, 0) || strcmp(value, CNI_CACHE_KIND)) {
		set_err(err, err_len, "not a %s file", CNI_CACHE_KIND);
		ret = -ENODATA;
		goto cleanup;
	}
	ret = take1(out->sandbox_id, sizeof(out->sandbox_id), root, "containerId", FIELD_ID, err,
		    err_len);
	if ((ret = required(ret, "containerId", err, err_len)))
		goto cleanup;
	node = json_object_get_member(root, "cniArgs");
	if (!node || JSON_NODE_HOLDS_NULL(node)) {
		set_err(err, err_len, "no cniArgs: not a pod's network");
		ret = -ENODATA;
		goto cleanup;
	}
	if (!JSON_NODE_HOLDS_ARRAY(node)) {
		set_err(err, err_len, "cniArgs is not an array");
		ret = -EINVAL;
		goto cleanup;
	}
	if ((ret = parse_cni_args(json_node_get_array(node), out, err, err_len)))
		goto cleanup;
	if (!out->pod_name[0] || !out->pod_namespace[0]) {
		set_err(err, err_len, "no K8S_POD_NAME/K8S_POD_NAMESPACE: not a pod's network");
		ret = -ENODATA;
		goto cleanup;
	}
	node = json_object_get_member(root, "result");
	if (node && JSON_NODE_HOLDS_OBJECT(node)) {
		if ((ret = parse_cni_ips(json_node_get_object(node), out, err, err_len)))
			goto cleanup;
	} else if (node && !JSON_NODE_HOLDS_NULL(node)) {
		set_err(err, err_len, "result is not an object");
		ret = -EINVAL;
		goto cleanup;
	}
	if (!out->n_ips) {
		set_err(err, err_len, "no IP address in the result");
		ret = -ENODATA;
	}
cleanup:
	if (ret)
		memset(out, 0, sizeof(*out));
	g_object_unref(parser);
	return ret;
}

int k8s_cni_scan(const char *dir, GArray *entries_out)
{
	guint first = entries_out->len;
	struct dirent *de;
	DIR *d;

	if (!dir)
		dir = K8S_CNI_DEFAULT_CACHE_DIR;
	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		struct k8s_cni_entry entry;
		char path[PATH_MAX], *buf;
		size_t len;

		if (de->d_name[0] == '.' || (de->d_type != DT_REG && de->d_type != DT_UNKNOWN))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (read_bounded(path, CNI_MAX_BYTES, &buf, &len))
			continue;
		if (!k8s_cni_parse(buf, len, &entry, NULL, 0))
			g_array_append_val(entries_out, entry);
		g_free(buf);
	}
	closedir(d);
	return (int)(entries_out->len - first);
}
