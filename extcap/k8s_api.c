/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "k8s_api.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#ifndef TLSDUMP_VERSION
#define TLSDUMP_VERSION "dev"
#endif

#define DEFAULT_CREDENTIALS_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define NSEC_PER_SEC 1000000000ULL
#define USEC_PER_SEC 1000000LL

/* Owners kept per address: a node's pod churn within HISTORY_KEEP_NS, bounded. */
#define HISTORY_SPANS 16
/* Frames are named soon after they are captured; older history only costs memory. */
#define HISTORY_KEEP_NS (6 * 3600 * NSEC_PER_SEC)
#define PRUNE_INTERVAL_US (60 * USEC_PER_SEC)

/* Addresses per object: a dual-stack pod or service has two. */
#define OBJECT_IPS 4
#define LIST_PAGE_SIZE 500
#define CONNECT_TIMEOUT_MS 5000
#define LIST_TIMEOUT_S 60
/* A list page that trickles slower than 1 byte/s for this long is dead. */
#define LIST_STALL_S 20
/* The server ends a watch after this (client-go picks 5 to 10 minutes)... */
#define WATCH_SECONDS 300
/* ...and the client ends it when the server did not. */
#define WATCH_GRACE_S 30
/* A watch that lasted this long worked, even if nothing changed. */
#define WATCH_HEALTHY_US (5 * USEC_PER_SEC)
#define BACKOFF_MIN_US (500 * 1000)
#define BACKOFF_MAX_US (30 * USEC_PER_SEC)
/* Largest list page or watch event accepted; pages hold LIST_PAGE_SIZE objects. */
#define BODY_MAX (64u << 20)
#define TOKEN_MAX (64 << 10)

#ifndef CURL_WRITEFUNC_ERROR /* before curl 7.87 */
#define CURL_WRITEFUNC_ERROR 0xFFFFFFFF
#endif

struct ip_key {
	uint8_t family; /* 4 or 6 */
	uint8_t addr[16];
};

/* One owner's tenure of an address: [from_ns, to_ns), to_ns 0 while it lasts. */
struct span {
	struct k8s_ip_owner owner;
	char uid[40];
	uint64_t from_ns;
	uint64_t to_ns;
};

/* A pod or a service as last seen: who it is and the addresses it holds. */
struct ip_object {
	struct k8s_ip_owner owner;
	char uid[40];
	uint64_t created_ns; /* metadata.creationTimestamp; 0 if unknown */
	unsigned n_ips;
	struct ip_key ips[OBJECT_IPS];
};

/* An EndpointSlice: the service it belongs to and the pods it lists ("ns/name"). */
struct slice {
	char *service;
	GPtrArray *pods;
};

struct k8s_api;
struct watch;

/* One API resource the client lists and watches. */
struct resource {
	const char *name; /* in log messages */
	const char *path;
	/* Records @item (a list item or a watch event's object) under @key. */
	void (*apply)(struct k8s_api *api, struct watch *w, const char *key, JsonObject *item);
	/* Undoes what apply() recorded for @value, just before @value is freed. */
	void (*forget)(struct k8s_api *api, void *value);
	GDestroyNotify free_value;
};

/* The list-then-watch loop of one resource. */
struct watch {
	struct k8s_api *api;
	const struct resource *res;
	CURL *easy; /* the request in flight, or NULL */
	struct curl_slist *headers;
	bool listing;           /* easy is a list page, else a watch */
	GByteArray *body;       /* a list page; a watch's unfinished line */
	char error[CURL_ERROR_SIZE];
	char *rv;               /* resourceVersion to watch from; NULL: list first */
	char *continue_token;   /* the next list page's */
	GHashTable *objects;    /* "ns/name" -> res->apply()'s value */
	GHashTable *listed;     /* keys seen by the list in progress */
	gint64 next_attempt_us; /* CLOCK_MONOTONIC; used while easy is NULL */
	gint64 started_us;
	unsigned failures;      /* consecutive errors, for the backoff */
	unsigned quick_ends;    /* consecutive watches that ended without progress */
	unsigned events;        /* in the current watch, bookmarks included */
	bool auth_retried;      /* a 401 was already retried with a re-read token */
	bool gone;              /* the watch reported 410: list again */
	bool bad_event;         /* the watch sent something unusable */
};

enum { W_PODS, W_SERVICES, W_SLICES, N_WATCHES };

struct k8s_api {
	char *server;
	char *token_path;
	char *ca_path;
	CURLM *multi;
	GThread *thread;
	gint stopping;
	gint64 last_prune_us;
	GRand *rand; /* the thread's own: g_random_*() shares one behind a lock */
	struct watch watches[N_WATCHES];
	/* "ns/pod" -> GPtrArray of service names, one per EndpointSlice listing the pod. */
	GHashTable *pod_services;

	/* Guards history, all that lookups read; not a GMutex, which race checkers cannot see. */
	pthread_mutex_t lock;
	GHashTable *history; /* struct ip_key * -> GArray of struct span, oldest first */
};

static uint64_t realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec;
}

static void set_why(char *why, size_t why_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_why(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !why_len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

/* --- JSON access that tolerates missing and mistyped members --- */

static JsonNode *member(JsonObject *o, const char *name)
{
	return o ? json_object_get_member(o, name) : NULL;
}

static JsonObject *member_object(JsonObject *o, const char *name)
{
	JsonNode *n = member(o, name);

	return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static JsonArray *member_array(JsonObject *o, const char *name)
{
	JsonNode *n = member(o, name);

	return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : NULL;
}

static const char *member_string(JsonObject *o, const char *name)
{
	JsonNode *n = member(o, name);

	return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
		       ? json_node_get_string(n)
		       : NULL;
}

static gint64 member_int(JsonObject *o, const char *name)
{
	JsonNode *n = member(o, name);

	return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_INT64
		       ? json_node_get_int(n)
		       : 0;
}

static bool member_bool(JsonObject *o, const char *name)
{
	JsonNode *n = member(o, name);

	return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_BOOLEAN &&
	       json_node_get_boolean(n);
}

static JsonObject *array_object(JsonArray *a, guint i)
{
	JsonNode *n = json_array_get_element(a, i);

	return JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : NULL;
}

static const char *array_string(JsonArray *a, guint i)
{
	JsonNode *n = json_array_get_element(a, i);

	return JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
		       ? json_node_get_string(n)
		       : NULL;
}

/* Parses @len bytes of JSON into @parser; returns the root object or NULL. */
static JsonObject *parse_object(JsonParser *parser, const char *data, size_t len)
{
	JsonNode *root;

	if (!json_parser_load_from_data(parser, data, (gssize)len, NULL))
		return NULL;
	root = json_parser_get_root(parser);
	return root && JSON_NODE_HOLDS_OBJECT(root) ? json_node_get_object(root) : NULL;
}

/* Returns the "message" of a Status in an error response, or "" (caller frees). */
static char *status_message(const GByteArray *body)
{
	JsonParser *parser = json_parser_new();
	JsonObject *status = parse_object(parser, (const char *)body->data, body->len);
	const char *msg = member_string(status, "message");
	char *out = g_strndup(msg ? msg : "", 200);

	g_object_unref(parser);
	return out;
}

/* --- the address history --- */

static guint ip_key_hash(gconstpointer p)
{
	const uint8_t *b = p;
	guint h = 2166136261u;

	for (size_t i = 0; i < sizeof(struct ip_key); i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

static gboolean ip_key_equal(gconstpointer a, gconstpointer b)
{
	return memcmp(a, b, sizeof(struct ip_key)) == 0;
}

/* Fills @key from an address of @family (IPv4-mapped IPv6 becomes IPv4); false for others. */
static bool ip_key_set(struct ip_key *key, int family, const uint8_t *addr)
{
	memset(key, 0, sizeof(*key));
	if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)addr)) {
		family = AF_INET;
		addr += 12;
	}
	if (family == AF_INET) {
		key->family = 4;
		memcpy(key->addr, addr, 4);
	} else if (family == AF_INET6) {
		key->family = 6;
		memcpy(key->addr, addr, 16);
	} else {
		return false;
	}
	return true;
}

static bool span_is(const struct span *s, const struct ip_object *obj)
{
	return !strcmp(s->uid, obj->uid) && !strcmp(s->owner.kind, obj->owner.kind) &&
	       !strcmp(s->owner.namespace_, obj->owner.namespace_) &&
	       !strcmp(s->owner.name, obj->owner.name);
}

/* The span holding @ip now, or NULL. Only the newest span can be open. Caller holds the lock. */
static struct span *open_span(struct k8s_api *api, const struct ip_key *ip)
{
	GArray *spans = g_hash_table_lookup(api->history, ip);
	struct span *last;

	if (!spans || !spans->len)
		return NULL;
	last = &g_array_index(spans, struct span, spans->len - 1);
	return last->to_ns ? NULL : last;
}

/*
 * Records that @obj holds @ip as of @now_ns, ending the tenure of anyone else
 * who held it. Caller holds the lock.
 */
static void history_open(struct k8s_api *api, const struct ip_key *ip, const struct ip_object *obj,
			 uint64_t now_ns)
{
	GArray *spans = g_hash_table_lookup(api->history, ip);
	/*
	 * An object seen late (the first list, a slow watch) held its address
	 * since it was created, as far as anyone can tell...
	 */
	uint64_t from = obj->created_ns && obj->created_ns < now_ns ? obj->created_ns : now_ns;
	struct span *last, s = { 0 };

	if (!spans) {
		spans = g_array_new(FALSE, FALSE, sizeof(struct span));
		g_hash_table_insert(api->history, g_memdup2(ip, sizeof(*ip)), spans);
	}
	if (spans->len) {
		last = &g_array_index(spans, struct span, spans->len - 1);
		if (!last->to_ns && span_is(last, obj)) {
			last->owner = obj->owner; /* the service may have changed */
			return;
		}
		if (!last->to_ns)
			last->to_ns = MAX(now_ns, last->from_ns);
		/* ...but not before its previous owner let it go. */
		from = MAX(from, last->to_ns);
	}
	if (spans->len == HISTORY_SPANS)
		g_array_remove_index(spans, 0);
	s.owner = obj->owner;
	g_strlcpy(s.uid, obj->uid, sizeof(s.uid));
	s.from_ns = from;
	g_array_append_val(spans, s);
}

/* Ends @obj's tenure of @ip at @now_ns if it still holds it. Caller holds the lock. */
static void history_close(struct k8s_api *api, const struct ip_key *ip, const struct ip_object *obj,
			  uint64_t now_ns)
{
	struct span *s = open_span(api, ip);

	if (s && span_is(s, obj))
		s->to_ns = MAX(now_ns, s->from_ns);
}

/* Drops tenures that ended more than HISTORY_KEEP_NS ago, and addresses left with none. */
static void history_prune(struct k8s_api *api, uint64_t now_ns)
{
	GHashTableIter iter;
	gpointer value;

	pthread_mutex_lock(&api->lock);
	g_hash_table_iter_init(&iter, api->history);
	while (g_hash_table_iter_next(&iter, NULL, &value)) {
		GArray *spans = value;

		for (guint i = spans->len; i-- > 0;) {
			const struct span *s = &g_array_index(spans, struct span, i);

			if (s->to_ns && s->to_ns + HISTORY_KEEP_NS < now_ns)
				g_array_remove_index(spans, i);
		}
		if (!spans->len)
			g_hash_table_iter_remove(&iter);
	}
	pthread_mutex_unlock(&api->lock);
}

bool k8s_api_lookup_ip(struct k8s_api *api, int family, const uint8_t addr[16],
		       uint64_t realtime_ns, struct k8s_ip_owner *out)
{
	struct ip_key key;
	GArray *spans;
	bool found = false;

	if (!api || !addr || !ip_key_set(&key, family, addr))
		return false;
	pthread_mutex_lock(&api->lock);
	spans = g_hash_table_lookup(api->history, &key);
	for (guint i = spans ? spans->len : 0; i-- > 0;) {
		const struct span *s = &g_array_index(spans, struct span, i);

		if (s->from_ns <= realtime_ns && (!s->to_ns || realtime_ns < s->to_ns)) {
			if (out)
				*out = s->owner;
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&api->lock);
	return found;
}

/* --- pods and services: objects that hold addresses --- */

static void ip_object_add_ip(struct ip_object *obj, const char *text)
{
	uint8_t addr[16];
	struct ip_key key;
	int family = AF_INET;

	/* Headless services say "None"; anything else unparsable is skipped alike. */
	if (!text || obj->n_ips == OBJECT_IPS)
		return;
	if (inet_pton(AF_INET, text, addr) != 1) {
		family = AF_INET6;
		if (inet_pton(AF_INET6, text, addr) != 1)
			return;
	}
	ip_key_set(&key, family, addr);
	for (unsigned i = 0; i < obj->n_ips; i++)
		if (ip_key_equal(&obj->ips[i], &key))
			return;
	obj->ips[obj->n_ips++] = key;
}

static bool ip_object_has(const struct ip_object *obj, const struct ip_key *ip)
{
	for (unsigned i = 0; i < obj->n_ips; i++)
		if (ip_key_equal(&obj->ips[i], ip))
			return true;
	return false;
}

static uint64_t parse_timestamp(const char *text)
{
	GDateTime *dt = text ? g_date_time_new_from_iso8601(text, NULL) : NULL;
	gint64 unix_s;
	uint64_t ns;

	if (!dt)
		return 0;
	unix_s = g_date_time_to_unix(dt);
	ns = unix_s > 0 ? (uint64_t)unix_s * NSEC_PER_SEC +
				  (uint64_t)g_date_time_get_microsecond(dt) * 1000
			: 0;
	g_date_time_unref(dt);
	return ns;
}

static struct ip_object *ip_object_new(const char *kind, JsonObject *meta)
{
	struct ip_object *obj = g_new0(struct ip_object, 1);
	const char *name = member_string(meta, "name");
	const char *ns = member_string(meta, "namespace");
	const char *uid = member_string(meta, "uid");

	g_strlcpy(obj->owner.kind, kind, sizeof(obj->owner.kind));
	g_strlcpy(obj->owner.name, name ? name : "", sizeof(obj->owner.name));
	g_strlcpy(obj->owner.namespace_, ns ? ns : "", sizeof(obj->owner.namespace_));
	g_strlcpy(obj->uid, uid ? uid : "", sizeof(obj->uid));
	obj->created_ns = parse_timestamp(member_string(meta, "creationTimestamp"));
	return obj;
}

/* Stores @obj under @key, moving the history from what the object held to what it holds. */
static void ip_object_store(struct k8s_api *api, struct watch *w, const char *key,
			    struct ip_object *obj)
{
	const struct ip_object *old = g_hash_table_lookup(w->objects, key);
	uint64_t now = realtime_ns();

	pthread_mutex_lock(&api->lock);
	for (unsigned i = 0; old && i < old->n_ips; i++)
		if (!ip_object_has(obj, &old->ips[i]))
			history_close(api, &old->ips[i], old, now);
	for (unsigned i = 0; i < obj->n_ips; i++)
		history_open(api, &obj->ips[i], obj, now);
	pthread_mutex_unlock(&api->lock);
	g_hash_table_replace(w->objects, g_strdup(key), obj);
}

static void ip_object_forget(struct k8s_api *api, void *value)
{
	const struct ip_object *obj = value;
	uint64_t now = realtime_ns();

	pthread_mutex_lock(&api->lock);
	for (unsigned i = 0; i < obj->n_ips; i++)
		history_close(api, &obj->ips[i], obj, now);
	pthread_mutex_unlock(&api->lock);
}

/* The service that selects pod @key, or "" if none. */
static const char *pod_service(struct k8s_api *api, const char *key)
{
	GPtrArray *services = g_hash_table_lookup(api->pod_services, key);

	return services && services->len ? g_ptr_array_index(services, 0) : "";
}

static void apply_pod(struct k8s_api *api, struct watch *w, const char *key, JsonObject *item)
{
	JsonObject *status = member_object(item, "status");
	struct ip_object *obj = ip_object_new("pod", member_object(item, "metadata"));
	const struct ip_object *old = g_hash_table_lookup(w->objects, key);
	const char *phase = member_string(status, "phase");
	JsonArray *ips = member_array(status, "podIPs");

	/*
	 * A host-network pod has its node's address, which is not its own to
	 * name; a finished pod's address is free for the next pod even though
	 * its status still shows it.
	 */
	if (member_bool(member_object(item, "spec"), "hostNetwork") ||
	    (phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"))))
		ips = NULL;
	else if (!ips || !json_array_get_length(ips))
		ip_object_add_ip(obj, member_string(status, "podIP"));
	for (guint i = 0; ips && i < json_array_get_length(ips); i++)
		ip_object_add_ip(obj, member_string(array_object(ips, i), "ip"));

	g_strlcpy(obj->owner.service, pod_service(api, key), sizeof(obj->owner.service));
	/* See refresh_pod_service(): a pod keeps its last service while it lives. */
	if (!obj->owner.service[0] && old && !strcmp(old->uid, obj->uid))
		g_strlcpy(obj->owner.service, old->owner.service, sizeof(obj->owner.service));
	ip_object_store(api, w, key, obj);
}

static void apply_service(struct k8s_api *api, struct watch *w, const char *key, JsonObject *item)
{
	JsonObject *spec = member_object(item, "spec");
	struct ip_object *obj = ip_object_new("service", member_object(item, "metadata"));
	JsonArray *ips = member_array(spec, "clusterIPs");

	g_strlcpy(obj->owner.service, obj->owner.name, sizeof(obj->owner.service));
	for (guint i = 0; ips && i < json_array_get_length(ips); i++)
		ip_object_add_ip(obj, array_string(ips, i));
	if (!ips || !json_array_get_length(ips))
		ip_object_add_ip(obj, member_string(spec, "clusterIP"));
	ip_object_store(api, w, key, obj);
}

/* --- EndpointSlices: which service selects which pod --- */

static void slice_free(gpointer p)
{
	struct slice *s = p;

	g_free(s->service);
	g_ptr_array_unref(s->pods);
	g_free(s);
}

static void slice_ref_pods(struct k8s_api *api, const struct slice *s)
{
	for (guint i = 0; i < s->pods->len; i++) {
		const char *pod = g_ptr_array_index(s->pods, i);
		GPtrArray *services = g_hash_table_lookup(api->pod_services, pod);

		if (!services) {
			services = g_ptr_array_new_with_free_func(g_free);
			g_hash_table_insert(api->pod_services, g_strdup(pod), services);
		}
		g_ptr_array_add(services, g_strdup(s->service));
	}
}

static void slice_unref_pods(struct k8s_api *api, const struct slice *s)
{
	for (guint i = 0; i < s->pods->len; i++) {
		const char *pod = g_ptr_array_index(s->pods, i);
		GPtrArray *services = g_hash_table_lookup(api->pod_services, pod);

		for (guint j = 0; services && j < services->len; j++) {
			if (!strcmp(g_ptr_array_index(services, j), s->service)) {
				g_ptr_array_remove_index(services, j);
				break;
			}
		}
		if (services && !services->len)
			g_hash_table_remove(api->pod_services, pod);
	}
}

/*
 * Brings pod @key's service up to date in its current tenures. A pod that no
 * slice lists any more keeps its last service: a terminating pod leaves its
 * slices before it is deleted, and its history should still name the service.
 */
static void refresh_pod_service(struct k8s_api *api, const char *key)
{
	struct ip_object *obj = g_hash_table_lookup(api->watches[W_PODS].objects, key);
	const char *service = pod_service(api, key);

	if (!obj || !service[0] || !strcmp(obj->owner.service, service))
		return;
	g_strlcpy(obj->owner.service, service, sizeof(obj->owner.service));
	pthread_mutex_lock(&api->lock);
	for (unsigned i = 0; i < obj->n_ips; i++) {
		struct span *s = open_span(api, &obj->ips[i]);

		if (s && span_is(s, obj))
			g_strlcpy(s->owner.service, service, sizeof(s->owner.service));
	}
	pthread_mutex_unlock(&api->lock);
}

static void refresh_slice_pods(struct k8s_api *api, const struct slice *s)
{
	for (guint i = 0; i < s->pods->len; i++)
		refresh_pod_service(api, g_ptr_array_index(s->pods, i));
}

static void apply_slice(struct k8s_api *api, struct watch *w, const char *key, JsonObject *item)
{
	JsonObject *meta = member_object(item, "metadata");
	JsonObject *labels = member_object(meta, "labels");
	const char *service = member_string(labels, "kubernetes.io/service-name");
	const char *ns = member_string(meta, "namespace");
	JsonArray *endpoints = member_array(item, "endpoints");
	struct slice *s = g_new0(struct slice, 1), *old = g_hash_table_lookup(w->objects, key);

	s->service = g_strdup(service ? service : "");
	s->pods = g_ptr_array_new_with_free_func(g_free);
	/* Slices without the label are not a service's (custom controllers). */
	for (guint i = 0; s->service[0] && endpoints && i < json_array_get_length(endpoints); i++) {
		JsonObject *ref = member_object(array_object(endpoints, i), "targetRef");
		const char *kind = member_string(ref, "kind");
		const char *name = member_string(ref, "name");
		const char *ref_ns = member_string(ref, "namespace");

		if (!ref_ns)
			ref_ns = ns ? ns : "";
		if (kind && !strcmp(kind, "Pod") && name)
			g_ptr_array_add(s->pods, g_strdup_printf("%s/%s", ref_ns, name));
	}
	if (old)
		slice_unref_pods(api, old);
	slice_ref_pods(api, s);
	if (old)
		refresh_slice_pods(api, old);
	refresh_slice_pods(api, s);
	g_hash_table_replace(w->objects, g_strdup(key), s);
}

static void slice_forget(struct k8s_api *api, void *value)
{
	slice_unref_pods(api, value);
	refresh_slice_pods(api, value);
}

static const struct resource resources[N_WATCHES] = {
	[W_PODS] = { "pods", "/api/v1/pods", apply_pod, ip_object_forget, g_free },
	[W_SERVICES] = { "services", "/api/v1/services", apply_service, ip_object_forget, g_free },
	[W_SLICES] = { "endpointslices", "/apis/discovery.k8s.io/v1/endpointslices", apply_slice,
		       slice_forget, slice_free },
};

/* --- lists and watches --- */

/* Returns "namespace/name" of an object (caller frees), or NULL without a name. */
static char *object_key(JsonObject *item)
{
	JsonObject *meta = member_object(item, "metadata");
	const char *ns = member_string(meta, "namespace");
	const char *name = member_string(meta, "name");

	return name ? g_strdup_printf("%s/%s", ns ? ns : "", name) : NULL;
}

static void forget(struct k8s_api *api, struct watch *w, const char *key)
{
	void *value = g_hash_table_lookup(w->objects, key);

	if (!value)
		return;
	w->res->forget(api, value);
	g_hash_table_remove(w->objects, key);
}

/* Starts the next list from its first page. */
static void restart_list(struct watch *w)
{
	g_clear_pointer(&w->rv, g_free);
	g_clear_pointer(&w->continue_token, g_free);
	g_hash_table_remove_all(w->listed);
}

/* Applies a list page. Returns false if the page is unusable. */
static bool list_page_done(struct k8s_api *api, struct watch *w)
{
	JsonParser *parser = json_parser_new();
	JsonObject *root = parse_object(parser, (const char *)w->body->data, w->body->len);
	JsonObject *meta = member_object(root, "metadata");
	JsonArray *items = member_array(root, "items");
	const char *rv = member_string(meta, "resourceVersion");
	const char *next = member_string(meta, "continue");
	GHashTableIter iter;
	GPtrArray *gone;
	gpointer key;

	if (!items || !rv || !rv[0]) {
		g_object_unref(parser);
		return false;
	}
	for (guint i = 0; i < json_array_get_length(items); i++) {
		JsonObject *item = array_object(items, i);
		char *key = item ? object_key(item) : NULL;

		if (!key)
			continue;
		w->res->apply(api, w, key, item);
		g_hash_table_add(w->listed, key);
	}
	g_clear_pointer(&w->continue_token, g_free);
	if (next && next[0]) {
		w->continue_token = g_strdup(next);
		g_object_unref(parser);
		return true;
	}

	/* The last page: what the list did not show is gone (events missed while not watching). */
	gone = g_ptr_array_new_with_free_func(g_free);
	g_hash_table_iter_init(&iter, w->objects);
	while (g_hash_table_iter_next(&iter, &key, NULL))
		if (!g_hash_table_contains(w->listed, key))
			g_ptr_array_add(gone, g_strdup(key));
	for (guint i = 0; i < gone->len; i++)
		forget(api, w, g_ptr_array_index(gone, i));
	log_info("k8s: listed %u %s at resourceVersion %s (%u gone since the last list)",
		 g_hash_table_size(w->objects), w->res->name, rv, gone->len);
	g_ptr_array_unref(gone);
	g_hash_table_remove_all(w->listed);
	w->rv = g_strdup(rv);
	g_object_unref(parser);
	return true;
}

/* Applies one watch event line. Returns false to end the watch (w->gone tells why). */
static bool watch_event(struct k8s_api *api, struct watch *w, const char *line, size_t len)
{
	JsonParser *parser = json_parser_new();
	JsonObject *event = parse_object(parser, line, len);
	const char *type = member_string(event, "type");
	JsonObject *obj = member_object(event, "object");
	const char *rv = member_string(member_object(obj, "metadata"), "resourceVersion");
	char *key = NULL;
	bool ok = true;

	if (!type || !obj) {
		log_warn("k8s: watch of %s: unusable event: %.*s", w->res->name, (int)MIN(len, 200),
			 line);
		w->bad_event = true;
		ok = false;
	} else if (!strcmp(type, "ERROR")) {
		/* A Status; 410: the resourceVersion is older than the server's history. */
		if (member_int(obj, "code") == 410) {
			w->gone = true;
		} else {
			log_warn("k8s: watch of %s: error %" G_GINT64_FORMAT ": %s", w->res->name,
				 member_int(obj, "code"), member_string(obj, "message"));
			w->bad_event = true;
		}
		ok = false;
	} else {
		w->events++;
		if (rv && rv[0]) {
			g_free(w->rv);
			w->rv = g_strdup(rv);
		}
		key = object_key(obj);
		if (key && (!strcmp(type, "ADDED") || !strcmp(type, "MODIFIED")))
			w->res->apply(api, w, key, obj);
		else if (key && !strcmp(type, "DELETED"))
			forget(api, w, key);
		/* BOOKMARK only moves the resourceVersion on. */
	}
	g_free(key);
	g_object_unref(parser);
	return ok;
}

static size_t on_data(char *data, size_t size, size_t nmemb, void *user)
{
	struct watch *w = user;
	size_t n = size * nmemb, start = 0;
	long code = 0;

	if (w->body->len + n > BODY_MAX) {
		log_warn("k8s: %s: response larger than %u bytes", w->res->name, BODY_MAX);
		return CURL_WRITEFUNC_ERROR;
	}
	g_byte_array_append(w->body, (const guint8 *)data, (guint)n);
	curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &code);
	if (w->listing || code != 200)
		return n;

	/* A watch streams one JSON event per line. */
	for (;;) {
		const guint8 *line = w->body->data + start;
		const guint8 *nl = memchr(line, '\n', w->body->len - start);

		if (!nl)
			break;
		start = (size_t)(nl - w->body->data) + 1;
		if (nl > line && !watch_event(w->api, w, (const char *)line, (size_t)(nl - line)))
			return CURL_WRITEFUNC_ERROR;
	}
	g_byte_array_remove_range(w->body, 0, (guint)start);
	return n;
}

/* Wipes and frees a token from read_token(); accepts NULL. */
static void token_free(char *token)
{
	if (!token)
		return;
	explicit_bzero(token, TOKEN_MAX + 1);
	g_free(token);
}

/*
 * Reads the service account token; it rotates, so before every request.
 * Returns it (free with token_free()) or NULL with errno set.
 */
static char *read_token(const char *path)
{
	char *token = g_malloc(TOKEN_MAX + 1);
	ssize_t n = -1;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, token, TOKEN_MAX + 1);
		err = errno;
		close(fd);
		errno = err;
	}
	if (n < 0) {
		err = errno;
		g_free(token);
		errno = err;
		return NULL;
	}
	if (n > TOKEN_MAX) {
		g_free(token);
		errno = EFBIG;
		return NULL;
	}
	token[n] = '\0';
	g_strstrip(token);
	/* Control characters would end the Authorization header early. */
	for (const char *c = token; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			n = -1;
	if (!token[0] || n < 0) {
		err = token[0] ? EINVAL : ENODATA;
		token_free(token);
		errno = err;
		return NULL;
	}
	return token;
}

/* The @n-th delay of a backoff, with jitter so that restarted clients do not call in step. */
static gint64 backoff_us(struct watch *w, unsigned n)
{
	gint64 delay = MIN(BACKOFF_MIN_US << MIN(n, 10u), BACKOFF_MAX_US);

	return delay * 3 / 4 + g_rand_int_range(w->api->rand, 0, (gint32)(delay / 2) + 1);
}

/* Schedules the next request of @w after an error: later and later while errors go on. */
static void retry_later(struct watch *w)
{
	w->next_attempt_us = g_get_monotonic_time() + backoff_us(w, w->failures++);
}

/*
 * Schedules the next request of @w after a watch ended or expired (410): at
 * once, unless watches keep ending without progress, which a server that
 * ends them all at once would otherwise turn into a busy loop.
 */
static void retry_now(struct watch *w, bool progress)
{
	gint64 delay = 0;

	w->quick_ends = progress ? 0 : w->quick_ends + 1;
	if (w->quick_ends > 1)
		delay = backoff_us(w, w->quick_ends - 2);
	w->next_attempt_us = g_get_monotonic_time() + delay;
}

static void start_request(struct k8s_api *api, struct watch *w)
{
	GString *url = g_string_new(api->server);
	char *token = read_token(api->token_path), *auth, *escaped;
	CURL *easy = NULL;

	if (!token) {
		log_warn("k8s: cannot read the token %s: %s", api->token_path, g_strerror(errno));
		goto fail;
	}
	easy = curl_easy_init();
	if (!easy)
		goto fail;

	w->listing = !w->rv;
	g_string_append(url, w->res->path);
	if (w->listing) {
		g_string_append_printf(url, "?limit=%d", LIST_PAGE_SIZE);
		if (w->continue_token) {
			escaped = curl_easy_escape(easy, w->continue_token, 0);
			g_string_append_printf(url, "&continue=%s", escaped);
			curl_free(escaped);
		} else {
			g_hash_table_remove_all(w->listed);
		}
	} else {
		escaped = curl_easy_escape(easy, w->rv, 0);
		g_string_append_printf(url,
				       "?watch=1&resourceVersion=%s&allowWatchBookmarks=true"
				       "&timeoutSeconds=%d",
				       escaped, WATCH_SECONDS);
		curl_free(escaped);
	}

	auth = g_strconcat("Authorization: Bearer ", token, NULL);
	w->headers = curl_slist_append(NULL, auth);
	w->headers = curl_slist_append(w->headers, "Accept: application/json");
	explicit_bzero(auth, strlen(auth));
	g_free(auth);

	g_byte_array_set_size(w->body, 0);
	w->error[0] = '\0';
	w->events = 0;
	w->gone = w->bad_event = false;
	w->started_us = g_get_monotonic_time();
	curl_easy_setopt(easy, CURLOPT_URL, url->str);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, w);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, w->headers);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "tlsdump/" TLSDUMP_VERSION);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, w);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, w->error);
	/* The bearer token goes to the cluster's own server only. */
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(easy, CURLOPT_CAINFO, api->ca_path);
	curl_easy_setopt(easy, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)CONNECT_TIMEOUT_MS);
	/* A peer that vanished without closing: keepalive notices before the timeout. */
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPIDLE, 30L);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPINTVL, 10L);
	/* Cleaning up must not wait for a slow DNS resolver thread when stopping. */
	curl_easy_setopt(easy, CURLOPT_QUICK_EXIT, 1L);
	if (w->listing) {
		curl_easy_setopt(easy, CURLOPT_TIMEOUT, (long)LIST_TIMEOUT_S);
		curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, (long)LIST_STALL_S);
	} else {
		/* Quiet watches are normal: no low-speed limit, only the two timeouts. */
		curl_easy_setopt(easy, CURLOPT_TIMEOUT, (long)(WATCH_SECONDS + WATCH_GRACE_S));
	}
	if (curl_multi_add_handle(api->multi, easy) != CURLM_OK)
		goto fail;
	w->easy = easy;
	log_debug("k8s: %s %s", w->listing ? "list" : "watch", url->str);
	token_free(token);
	g_string_free(url, TRUE);
	return;

fail:
	if (easy)
		curl_easy_cleanup(easy);
	g_clear_pointer(&w->headers, curl_slist_free_all);
	token_free(token);
	g_string_free(url, TRUE);
	retry_later(w);
}

static void end_request(struct k8s_api *api, struct watch *w)
{
	curl_multi_remove_handle(api->multi, w->easy);
	curl_easy_cleanup(w->easy);
	w->easy = NULL;
	g_clear_pointer(&w->headers, curl_slist_free_all);
}

/* Decides what follows a finished request of @w. */
static void request_done(struct k8s_api *api, struct watch *w, CURLcode result)
{
	const char *what = w->listing ? "list" : "watch";
	bool progress = w->events || g_get_monotonic_time() - w->started_us >= WATCH_HEALTHY_US;
	long code = 0;
	char *msg;

	curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &code);
	end_request(api, w);
	if (code == 200 || code == 410)
		w->auth_retried = false;

	if (w->gone || code == 410) {
		/* Events were missed: only a new list tells what changed meanwhile. */
		log_info("k8s: %s of %s: resourceVersion expired (410), listing again", what,
			 w->res->name);
		restart_list(w);
		w->failures = 0;
		retry_now(w, progress);
	} else if (code == 401) {
		/* The token may have rotated since it was read: one prompt retry re-reads it. */
		log_warn("k8s: %s of %s: 401 Unauthorized%s", what, w->res->name,
			 w->auth_retried ? "" : ", retrying with the token re-read");
		if (w->listing)
			restart_list(w);
		if (w->auth_retried) {
			retry_later(w);
		} else {
			w->auth_retried = true;
			w->next_attempt_us = g_get_monotonic_time();
		}
	} else if (code != 200 && code != 0) {
		msg = status_message(w->body);
		log_warn("k8s: %s of %s: HTTP %ld %s", what, w->res->name, code, msg);
		g_free(msg);
		if (w->listing)
			restart_list(w);
		retry_later(w);
	} else if (w->listing) {
		if (result == CURLE_OK && list_page_done(api, w)) {
			/* The next page, or the watch. */
			w->failures = 0;
			w->next_attempt_us = g_get_monotonic_time();
		} else {
			const char *why = w->error[0] ? w->error : curl_easy_strerror(result);

			log_warn("k8s: list of %s: %s", w->res->name,
				 result != CURLE_OK ? why : "unusable response");
			restart_list(w);
			retry_later(w);
		}
	} else if (code == 200) {
		/* The server ends every watch in time; a watch that worked resumes at once. */
		log_debug("k8s: watch of %s ended after %u events: %s", w->res->name, w->events,
			  result == CURLE_OK ? "by the server"
			  : w->error[0]	     ? w->error
					     : curl_easy_strerror(result));
		if (w->bad_event) {
			retry_later(w);
		} else {
			w->failures = 0;
			retry_now(w, progress);
		}
	} else {
		/* No response at all: the server is unreachable or TLS failed. */
		log_warn("k8s: %s of %s: %s", what, w->res->name,
			 w->error[0] ? w->error : curl_easy_strerror(result));
		retry_later(w);
	}
}

static gpointer run(gpointer data)
{
	struct k8s_api *api = data;

	while (!g_atomic_int_get(&api->stopping)) {
		gint64 now = g_get_monotonic_time();
		int timeout_ms = 1000, running, left;
		CURLMsg *msg;

		for (int i = 0; i < N_WATCHES; i++) {
			struct watch *w = &api->watches[i];

			if (!w->easy && now >= w->next_attempt_us)
				start_request(api, w);
			if (!w->easy) {
				gint64 wait_ms = (w->next_attempt_us - now + 999) / 1000;

				timeout_ms = (int)CLAMP(wait_ms, 0, timeout_ms);
			}
		}
		if (now - api->last_prune_us >= PRUNE_INTERVAL_US) {
			history_prune(api, realtime_ns());
			api->last_prune_us = now;
		}
		/* k8s_api_stop() wakes this up: no transfer outlives a stop. */
		curl_multi_poll(api->multi, NULL, 0, timeout_ms, NULL);
		curl_multi_perform(api->multi, &running);
		while ((msg = curl_multi_info_read(api->multi, &left))) {
			struct watch *w = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&w);
			request_done(api, w, msg->data.result);
		}
	}
	return NULL;
}

/* Returns the server's URL (caller frees), or NULL with @why set. */
static char *server_url(const char *server, char *why, size_t why_len)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	char *url;

	if (server) {
		if (g_ascii_strncasecmp(server, "https://", 8) || !server[8]) {
			set_why(why, why_len, "API server %s: not an https:// URL", server);
			return NULL;
		}
		url = g_strdup(server);
	} else if (!host || !host[0]) {
		set_why(why, why_len, "not in a Kubernetes cluster (no KUBERNETES_SERVICE_HOST)");
		return NULL;
	} else {
		/* An IPv6 service address needs brackets in a URL. */
		url = g_strdup_printf(strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host,
				      port && port[0] ? port : "443");
	}
	while (url[strlen(url) - 1] == '/')
		url[strlen(url) - 1] = '\0';
	return url;
}

static void api_free(struct k8s_api *api)
{
	for (int i = 0; i < N_WATCHES; i++) {
		struct watch *w = &api->watches[i];

		if (w->easy)
			end_request(api, w);
		if (w->objects)
			g_hash_table_destroy(w->objects);
		if (w->listed)
			g_hash_table_destroy(w->listed);
		if (w->body)
			g_byte_array_unref(w->body);
		g_free(w->rv);
		g_free(w->continue_token);
	}
	if (api->multi)
		curl_multi_cleanup(api->multi);
	if (api->pod_services)
		g_hash_table_destroy(api->pod_services);
	if (api->history)
		g_hash_table_destroy(api->history);
	pthread_mutex_destroy(&api->lock);
	if (api->rand)
		g_rand_free(api->rand);
	g_free(api->server);
	g_free(api->token_path);
	g_free(api->ca_path);
	g_free(api);
	curl_global_cleanup();
}

struct k8s_api *k8s_api_start(const struct k8s_api_config *cfg, char *why, size_t why_len)
{
	const char *dir = cfg && cfg->credentials_dir ? cfg->credentials_dir
						      : DEFAULT_CREDENTIALS_DIR;
	struct k8s_api *api;
	GError *err = NULL;
	char *server, *token;
	int saved = 0;

	server = server_url(cfg ? cfg->server : NULL, why, why_len);
	if (!server) {
		errno = ENOENT;
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		set_why(why, why_len, "cannot initialize libcurl");
		g_free(server);
		errno = ENOMEM;
		return NULL;
	}
	api = g_new0(struct k8s_api, 1);
	api->server = server;
	api->token_path = g_build_filename(dir, "token", NULL);
	api->ca_path = g_build_filename(dir, "ca.crt", NULL);
	pthread_mutex_init(&api->lock, NULL);

	/* Checked now so that a node outside any cluster says why at once. */
	token = read_token(api->token_path);
	if (!token) {
		saved = errno;
		set_why(why, why_len, "no service account token: %s: %s", api->token_path,
			g_strerror(saved));
		goto fail;
	}
	token_free(token);
	if (access(api->ca_path, R_OK)) {
		saved = errno;
		set_why(why, why_len, "no cluster CA certificate: %s: %s", api->ca_path,
			g_strerror(saved));
		goto fail;
	}

	api->multi = curl_multi_init();
	if (!api->multi) {
		saved = ENOMEM;
		set_why(why, why_len, "cannot initialize libcurl");
		goto fail;
	}
	api->history = g_hash_table_new_full(ip_key_hash, ip_key_equal, g_free,
					     (GDestroyNotify)g_array_unref);
	api->pod_services = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						  (GDestroyNotify)g_ptr_array_unref);
	api->last_prune_us = g_get_monotonic_time();
	api->rand = g_rand_new();
	for (int i = 0; i < N_WATCHES; i++) {
		struct watch *w = &api->watches[i];

		w->api = api;
		w->res = &resources[i];
		w->body = g_byte_array_new();
		w->objects = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
						   resources[i].free_value);
		w->listed = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	}

	api->thread = g_thread_try_new("k8s-api", run, api, &err);
	if (!api->thread) {
		saved = EAGAIN;
		set_why(why, why_len, "cannot start the API server thread: %s", err->message);
		g_error_free(err);
		goto fail;
	}
	log_info("k8s: watching the API server %s", api->server);
	return api;

fail:
	api_free(api);
	errno = saved;
	return NULL;
}

void k8s_api_stop(struct k8s_api *api)
{
	if (!api)
		return;
	g_atomic_int_set(&api->stopping, 1);
	curl_multi_wakeup(api->multi);
	g_thread_join(api->thread);
	api_free(api);
}
