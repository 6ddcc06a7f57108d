/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The API server client against tests/lib/fake_apiserver.py: peers named by
 * IP from (paginated) lists and from watches, the history across IP reuse,
 * token rotation, 410 Gone and re-lists, an untrusted server, and stops that
 * stay prompt when the server hangs or dies. What the client must notice is
 * polled for with a deadline; sleeps only give it time to get into a state.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "k8s_api.h"
#include "log.h"

#include "../check.h"

#define PYTHON "/usr/bin/python3"
#define SEC 1000000000ULL
/* For what the client must notice; generous for valgrind, polls end early. */
#define DEADLINE_S 20
/*
 * How long k8s_api_stop() may take, whatever the server is doing: "about a
 * second" promised, a quarter checked (it takes a millisecond; a stop that
 * waited for the client's next timer would take up to a second), all of it
 * under valgrind.
 */
#define STOP_LIMIT_NS (under_valgrind() ? SEC : SEC / 4)
#define ROTATED_TOKEN "rotated-token-2"

/* The fake server: a child process, commands on its stdin, replies on its stdout. */
static struct {
	pid_t pid;
	FILE *in;
	int out;
	char buf[1 << 16];
	size_t len;
} fake = { .pid = -1, .out = -1 };

/* Clients still running, stopped by cleanup() if a REQUIRE ends the test early. */
static struct k8s_api *running[8];

static char work_dir[PATH_MAX], creds_dir[PATH_MAX + 16], log_path[PATH_MAX + 16];
static char url[256], untrusted_ca[PATH_MAX];

static bool under_valgrind(void)
{
	const char *preload = getenv("LD_PRELOAD");

	return preload && strstr(preload, "vgpreload");
}

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static uint64_t real_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}

/* Reads one line of the fake's stdout; false on EOF or after @timeout_s. */
static bool fake_read_line(char *line, size_t size, int timeout_s)
{
	uint64_t deadline = mono_ns() + (uint64_t)timeout_s * SEC;

	for (;;) {
		char *nl = memchr(fake.buf, '\n', fake.len);
		struct pollfd pfd = { .fd = fake.out, .events = POLLIN };
		uint64_t now = mono_ns();
		ssize_t got;
		int ready;

		if (nl) {
			size_t n = (size_t)(nl - fake.buf);

			snprintf(line, size, "%.*s", (int)n, fake.buf);
			memmove(fake.buf, nl + 1, fake.len - n - 1);
			fake.len -= n + 1;
			return true;
		}
		if (now >= deadline || fake.len == sizeof(fake.buf))
			return false;
		ready = poll(&pfd, 1, (int)((deadline - now) / 1000000) + 1);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			return false;
		got = read(fake.out, fake.buf + fake.len, sizeof(fake.buf) - fake.len);
		if (got <= 0)
			return false;
		fake.len += (size_t)got;
	}
}

/* Sends a command (JSON, printf-style) and returns the parsed reply; REQUIREs "ok". */
static JsonParser *fake_cmd(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static JsonParser *fake_cmd(const char *fmt, ...)
{
	static char reply[1 << 16];
	JsonParser *parser = json_parser_new();
	char cmd[4096];
	JsonNode *root;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	REQUIRE(fake.pid > 0, "the fake server is not running (for %s)", cmd);
	fprintf(fake.in, "%s\n", cmd);
	fflush(fake.in);
	REQUIRE(fake_read_line(reply, sizeof(reply), DEADLINE_S), "no reply to %s", cmd);
	REQUIRE(json_parser_load_from_data(parser, reply, -1, NULL), "bad reply %s", reply);
	root = json_parser_get_root(parser);
	REQUIRE(JSON_NODE_HOLDS_OBJECT(root) &&
			json_object_get_boolean_member_with_default(json_node_get_object(root),
								    "ok", FALSE),
		"%s -> %s", cmd, reply);
	return parser;
}

#define FAKE_DO(...) g_object_unref(fake_cmd(__VA_ARGS__))

/* A counter of the fake's: @name, or @name within @group ("lists", "watches"). */
static gint64 fake_stat(const char *group, const char *name)
{
	JsonParser *parser = fake_cmd("{\"op\":\"stats\"}");
	JsonObject *o = json_node_get_object(json_parser_get_root(parser));
	gint64 value;

	if (group)
		o = json_object_get_object_member(o, group);
	value = json_object_get_int_member(o, name);
	g_object_unref(parser);
	return value;
}

/* Polls until the fake's counter exceeds @than. Returns whether it did in time. */
static bool wait_stat_above(const char *group, const char *name, gint64 than)
{
	uint64_t deadline = mono_ns() + DEADLINE_S * SEC;

	do {
		if (fake_stat(group, name) > than)
			return true;
		usleep(20000);
	} while (mono_ns() < deadline);
	return false;
}

static void fake_start(void)
{
	char certs[PATH_MAX + 8], line[4096];
	JsonParser *parser = json_parser_new();
	JsonObject *info;
	int in[2], out[2];

	snprintf(certs, sizeof(certs), "%s/certs", work_dir);
	REQUIRE(!pipe2(in, O_CLOEXEC) && !pipe2(out, O_CLOEXEC), "pipe2: %s", strerror(errno));
	fake.pid = fork();
	REQUIRE(fake.pid >= 0, "fork: %s", strerror(errno));
	if (fake.pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		execl(PYTHON, PYTHON, FAKE_APISERVER, "--credentials-dir", creds_dir, "--cert-dir",
		      certs, "--page-size", "2", "--bookmark-interval", "0.5", (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	fake.in = fdopen(in[1], "w");
	fake.out = out[0];
	REQUIRE(fake.in, "fdopen: %s", strerror(errno));
	/* Key generation takes a moment. */
	REQUIRE(fake_read_line(line, sizeof(line), 60), "%s did not start", FAKE_APISERVER);
	REQUIRE(json_parser_load_from_data(parser, line, -1, NULL), "bad start line %s", line);
	info = json_node_get_object(json_parser_get_root(parser));
	g_strlcpy(url, json_object_get_string_member(info, "url"), sizeof(url));
	g_strlcpy(untrusted_ca, json_object_get_string_member(info, "untrusted_ca"),
		  sizeof(untrusted_ca));
	g_object_unref(parser);
}

static void fake_kill(void)
{
	if (fake.pid <= 0)
		return;
	kill(fake.pid, SIGKILL);
	waitpid(fake.pid, NULL, 0);
	fake.pid = -1;
	fclose(fake.in);
	close(fake.out);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void cleanup(void)
{
	for (size_t i = 0; i < G_N_ELEMENTS(running); i++)
		k8s_api_stop(running[i]);
	fake_kill();
	log_close();
	if (failures || getenv("TLSDUMP_TEST_KEEP"))
		fprintf(stderr, "test_k8s_api: kept %s (client log: %s)\n", work_dir, log_path);
	else if (work_dir[0])
		nftw(work_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Writes @dir/@name atomically (as the kubelet replaces a token). */
static void write_file(const char *dir, const char *name, const char *text)
{
	char *path = g_build_filename(dir, name, NULL);
	GError *err = NULL;

	REQUIRE(g_file_set_contents(path, text, -1, &err), "%s: %s", path, err->message);
	g_free(path);
}

static bool lookup_at(struct k8s_api *api, const char *ip, uint64_t t, struct k8s_ip_owner *out)
{
	int family = strchr(ip, ':') ? AF_INET6 : AF_INET;
	uint8_t addr[16] = { 0 };

	REQUIRE(inet_pton(family, ip, addr) == 1, "bad address %s", ip);
	return k8s_api_lookup_ip(api, family, addr, t, out);
}

/*
 * Polls until @ip belongs to @name now (NULL: to nobody), and, unless
 * @service is NULL, with that service. Returns whether it did in time.
 */
static bool wait_owner(struct k8s_api *api, const char *ip, const char *name, const char *service)
{
	uint64_t deadline = mono_ns() + DEADLINE_S * SEC;
	struct k8s_ip_owner o;
	bool found;

	do {
		found = lookup_at(api, ip, real_ns(), &o);
		if (!name && !found)
			return true;
		if (name && found && !strcmp(o.name, name) &&
		    (!service || !strcmp(o.service, service)))
			return true;
		usleep(20000);
	} while (mono_ns() < deadline);
	return false;
}

#define CHECK_OWNER(api, ip, t, kind, ns, name, service) \
	check_owner(__LINE__, api, ip, t, kind, ns, name, service)

static void check_owner(int line, struct k8s_api *api, const char *ip, uint64_t t,
			const char *kind, const char *ns, const char *name, const char *service)
{
	struct k8s_ip_owner o;
	bool found = lookup_at(api, ip, t, &o);

	CHECK(found && !strcmp(o.kind, kind) && !strcmp(o.namespace_, ns) &&
		      !strcmp(o.name, name) && !strcmp(o.service, service),
	      "line %d: %s: want %s %s/%s service \"%s\"; got %s %s/%s service \"%s\"", line, ip,
	      kind, ns, name, service, found ? o.kind : "nothing", found ? o.namespace_ : "",
	      found ? o.name : "", found ? o.service : "");
}

static struct k8s_api *start(const char *server, const char *dir)
{
	struct k8s_api_config cfg = { .server = server, .credentials_dir = dir };
	uint64_t t0 = mono_ns();
	struct k8s_api *api;
	char why[256] = "";

	api = k8s_api_start(&cfg, why, sizeof(why));
	REQUIRE(api, "k8s_api_start(%s, %s): %s", server ? server : "(env)", dir, why);
	CHECK(mono_ns() - t0 < SEC / 2, "k8s_api_start waited %.3f s", (mono_ns() - t0) / 1e9);
	for (size_t i = 0; i < G_N_ELEMENTS(running); i++) {
		if (!running[i]) {
			running[i] = api;
			return api;
		}
	}
	REQUIRE(false, "more clients than running[] holds");
	return NULL;
}

static void stop_promptly(struct k8s_api *api, const char *what)
{
	uint64_t t0 = mono_ns(), took;

	for (size_t i = 0; i < G_N_ELEMENTS(running); i++)
		if (running[i] == api)
			running[i] = NULL;
	k8s_api_stop(api);
	took = mono_ns() - t0;
	log_info("test: k8s_api_stop (%s) took %.3f s", what, took / 1e9);
	CHECK(took < STOP_LIMIT_NS, "k8s_api_stop (%s) took %.3f s", what, took / 1e9);
}

/* No cluster, no credentials, no https: NULL and a reason, at once. */
static void test_not_in_cluster(void)
{
	char dir[PATH_MAX + 8], why[256];
	struct k8s_api_config cfg = { .server = "https://127.0.0.1:1", .credentials_dir = dir };
	struct k8s_api *api;

	log_info("test: %s", __func__);
	snprintf(dir, sizeof(dir), "%s/nocreds", work_dir);
	REQUIRE(!mkdir(dir, 0700), "mkdir %s: %s", dir, strerror(errno));

	why[0] = '\0';
	errno = 0;
	api = k8s_api_start(&cfg, why, sizeof(why));
	CHECK(!api && errno, "started without a token (errno %d)", errno);
	CHECK(strstr(why, "token"), "reason without a token: \"%s\"", why);

	write_file(dir, "token", " \n");
	why[0] = '\0';
	api = k8s_api_start(&cfg, why, sizeof(why));
	CHECK(!api && strstr(why, "token"), "empty token: started or reason \"%s\"", why);

	write_file(dir, "token", "some-token\n");
	why[0] = '\0';
	api = k8s_api_start(&cfg, why, sizeof(why));
	CHECK(!api && strstr(why, "ca.crt"), "no ca.crt: started or reason \"%s\"", why);

	write_file(dir, "ca.crt", "not a certificate\n");
	cfg.server = NULL;
	why[0] = '\0';
	api = k8s_api_start(&cfg, why, sizeof(why));
	CHECK(!api && strstr(why, "KUBERNETES_SERVICE_HOST"), "no env: started or reason \"%s\"",
	      why);
	why[0] = '\0';
	api = k8s_api_start(NULL, why, sizeof(why));
	CHECK(!api && strstr(why, "KUBERNETES_SERVICE_HOST"), "defaults: started or reason \"%s\"",
	      why);

	cfg.server = "http://127.0.0.1:1";
	why[0] = '\0';
	api = k8s_api_start(&cfg, why, sizeof(why));
	CHECK(!api && strstr(why, "https"), "plain http: started or reason \"%s\"", why);
	CHECK(!k8s_api_start(&cfg, NULL, 0), "started without a reason buffer");

	/* Credentials but nobody listening: starts, knows nothing, stops at once. */
	api = start("https://127.0.0.1:1", dir);
	CHECK(!lookup_at(api, "10.1.0.1", real_ns(), NULL), "an address known without a server");
	stop_promptly(api, "nobody listening");
	k8s_api_stop(NULL);
}

static void populate(void)
{
	FAKE_DO("{\"op\":\"pod\",\"name\":\"web-1\",\"ips\":[\"10.1.0.1\"]}");
	FAKE_DO("{\"op\":\"pod\",\"name\":\"dual\",\"ips\":[\"10.1.0.2\",\"fd00::2\"]}");
	FAKE_DO("{\"op\":\"pod\",\"namespace\":\"kube-system\",\"name\":\"hostnet\","
		"\"ips\":[\"192.0.2.10\"],\"hostNetwork\":true}");
	FAKE_DO("{\"op\":\"pod\",\"name\":\"done\",\"ips\":[\"10.1.0.9\"],"
		"\"phase\":\"Succeeded\"}");
	FAKE_DO("{\"op\":\"service\",\"name\":\"web\",\"clusterIPs\":[\"10.96.0.10\"]}");
	FAKE_DO("{\"op\":\"service\",\"name\":\"headless\",\"clusterIPs\":[\"None\"]}");
	FAKE_DO("{\"op\":\"endpointslice\",\"name\":\"web-abc\",\"service\":\"web\","
		"\"endpoints\":[{\"addresses\":[\"10.1.0.1\"],\"pod\":\"web-1\"}]}");
}

/* What the first (paginated) lists show; what they must not. */
static void test_listed(struct k8s_api *api)
{
	uint64_t now;

	log_info("test: %s", __func__);
	REQUIRE(wait_owner(api, "10.1.0.1", "web-1", "web"), "web-1 not resolved from the list");
	REQUIRE(wait_owner(api, "10.96.0.10", "web", NULL), "service web not resolved");
	REQUIRE(wait_owner(api, "fd00::2", "dual", NULL), "dual's IPv6 address not resolved");
	now = real_ns();
	CHECK_OWNER(api, "10.1.0.1", now, "pod", "default", "web-1", "web");
	CHECK_OWNER(api, "::ffff:10.1.0.1", now, "pod", "default", "web-1", "web");
	CHECK_OWNER(api, "10.1.0.2", now, "pod", "default", "dual", "");
	CHECK_OWNER(api, "fd00::2", now, "pod", "default", "dual", "");
	CHECK_OWNER(api, "10.96.0.10", now, "service", "default", "web", "web");
	CHECK(!lookup_at(api, "192.0.2.10", now, NULL), "a host-network pod named its node's IP");
	CHECK(!lookup_at(api, "10.1.0.9", now, NULL), "a finished pod still holds its address");
	CHECK(!lookup_at(api, "10.200.0.1", now, NULL), "an unknown address resolved");
	CHECK(!lookup_at(api, "10.1.0.1", now - 3600 * SEC, NULL),
	      "web-1 named an hour before it was created");
	CHECK(!k8s_api_lookup_ip(api, AF_UNIX, (const uint8_t[16]){ 10, 1, 0, 1 }, now, NULL),
	      "a lookup with a bad family succeeded");
	/* 4 pods in pages of 2: the first list took two requests. */
	CHECK(fake_stat("lists", "pods") >= 2, "pods list not paginated: %" G_GINT64_FORMAT,
	      fake_stat("lists", "pods"));
}

/* Watch events: a new pod, its service (after it), deletion and address reuse. */
static void test_watch_and_reuse(struct k8s_api *api)
{
	uint64_t before_delete;

	log_info("test: %s", __func__);
	FAKE_DO("{\"op\":\"pod\",\"name\":\"p-new\",\"ips\":[\"10.1.0.3\"]}");
	CHECK(wait_owner(api, "10.1.0.3", "p-new", ""), "added pod not resolved");
	FAKE_DO("{\"op\":\"service\",\"name\":\"api\",\"clusterIPs\":[\"10.96.0.20\"]}");
	FAKE_DO("{\"op\":\"endpointslice\",\"name\":\"api-xyz\",\"service\":\"api\","
		"\"endpoints\":[{\"addresses\":[\"10.1.0.3\"],\"pod\":\"p-new\"}]}");
	CHECK(wait_owner(api, "10.1.0.3", "p-new", "api"), "added pod's service not resolved");
	CHECK(wait_owner(api, "10.96.0.20", "api", "api"), "added service not resolved");

	before_delete = real_ns();
	FAKE_DO("{\"op\":\"delete\",\"kind\":\"Pod\",\"name\":\"p-new\"}");
	CHECK(wait_owner(api, "10.1.0.3", NULL, NULL), "deleted pod still resolved now");
	CHECK_OWNER(api, "10.1.0.3", before_delete, "pod", "default", "p-new", "api");

	FAKE_DO("{\"op\":\"pod\",\"name\":\"p-reuse\",\"ips\":[\"10.1.0.3\"]}");
	CHECK(wait_owner(api, "10.1.0.3", "p-reuse", NULL), "pod reusing an address not resolved");
	CHECK_OWNER(api, "10.1.0.3", real_ns(), "pod", "default", "p-reuse", "");
	CHECK_OWNER(api, "10.1.0.3", before_delete, "pod", "default", "p-new", "api");

	FAKE_DO("{\"op\":\"delete\",\"kind\":\"Service\",\"name\":\"api\"}");
	CHECK(wait_owner(api, "10.96.0.20", NULL, NULL), "deleted service still resolved");
}

/*
 * The token rotates. When the file changes first, the next requests carry the
 * new token (it is read before each); when the server changes first, the
 * client fails with 401 until the file changes, then recovers.
 */
static void test_token_rotation(struct k8s_api *api, struct k8s_api *other)
{
	gint64 rejected = fake_stat(NULL, "unauthorized");

	log_info("test: %s", __func__);
	write_file(creds_dir, "token", ROTATED_TOKEN "\n");
	FAKE_DO("{\"op\":\"rotate_token\",\"token\":\"" ROTATED_TOKEN "\"}");
	FAKE_DO("{\"op\":\"pod\",\"name\":\"rotated-1\",\"ips\":[\"10.1.0.7\"]}");
	CHECK(wait_owner(api, "10.1.0.7", "rotated-1", NULL), "no watch after the token changed");
	CHECK(wait_owner(other, "10.1.0.7", "rotated-1", NULL), "second client: no watch either");
	CHECK(fake_stat(NULL, "unauthorized") == rejected, "a stale token was sent");

	FAKE_DO("{\"op\":\"rotate_token\",\"token\":\"" ROTATED_TOKEN "-b\"}");
	/* 2 clients x 3 watches x (a request + the prompt retry): all now wait to retry. */
	CHECK(wait_stat_above(NULL, "unauthorized", rejected + 11), "old token not retried");
	FAKE_DO("{\"op\":\"pod\",\"name\":\"rotated-2\",\"ips\":[\"10.1.0.4\"]}");
	write_file(creds_dir, "token", ROTATED_TOKEN "-b\n");
	CHECK(wait_owner(api, "10.1.0.4", "rotated-2", NULL),
	      "no recovery after the token file changed");
	CHECK(wait_owner(other, "10.1.0.4", "rotated-2", NULL), "second client did not recover");
}

/* 410 Gone: the client lists again and the list's truth replaces what it had. */
static void test_gone(struct k8s_api *api, struct k8s_api *other)
{
	gint64 pod_lists = fake_stat("lists", "pods"), service_lists;
	uint64_t before = real_ns();

	log_info("test: %s", __func__);
	/* Changes whose events are lost: only a new list shows them. */
	FAKE_DO("{\"op\":\"delete\",\"kind\":\"Pod\",\"name\":\"web-1\",\"silent\":true}");
	FAKE_DO("{\"op\":\"pod\",\"name\":\"silent-new\",\"ips\":[\"10.1.0.5\"],\"silent\":true}");
	FAKE_DO("{\"op\":\"gone\",\"resource\":\"pods\",\"mode\":\"http\"}");
	CHECK(wait_stat_above("lists", "pods", pod_lists), "no list after a 410 response");
	CHECK(wait_owner(api, "10.1.0.5", "silent-new", NULL), "re-list missed an added pod");
	CHECK(wait_owner(api, "10.1.0.1", NULL, NULL), "re-list missed a deleted pod");
	CHECK_OWNER(api, "10.1.0.1", before, "pod", "default", "web-1", "web");
	CHECK(wait_owner(other, "10.1.0.5", "silent-new", NULL), "second client: no re-list");

	/* The real server's way: 200 and an ERROR event with code 410. */
	pod_lists = fake_stat("lists", "pods");
	service_lists = fake_stat("lists", "services");
	FAKE_DO("{\"op\":\"service\",\"name\":\"silent-svc\",\"clusterIPs\":[\"10.96.0.30\"],"
		"\"silent\":true}");
	FAKE_DO("{\"op\":\"gone\",\"resource\":null,\"mode\":\"event\"}");
	CHECK(wait_stat_above("lists", "services", service_lists), "no list after a 410 event");
	CHECK(wait_stat_above("lists", "pods", pod_lists), "no pods list after a 410 event");
	CHECK(wait_owner(api, "10.96.0.30", "silent-svc", "silent-svc"),
	      "re-list missed an added service");

	/* And watching goes on from the new lists. */
	FAKE_DO("{\"op\":\"pod\",\"name\":\"after-410\",\"ips\":[\"10.1.0.6\"]}");
	CHECK(wait_owner(api, "10.1.0.6", "after-410", NULL), "no watch after the re-list");
	CHECK(wait_owner(other, "10.1.0.6", "after-410", NULL), "second client: no watch after");
	CHECK_OWNER(api, "10.1.0.3", real_ns(), "pod", "default", "p-reuse", "");
}

/* A server whose certificate ca.crt did not sign is never told anything. */
static void test_untrusted_server(void)
{
	char dir[PATH_MAX + 16], *pem = NULL;
	gint64 tls_errors = fake_stat(NULL, "tls_errors");
	struct k8s_api *api;

	log_info("test: %s", __func__);
	snprintf(dir, sizeof(dir), "%s/untrusted", work_dir);
	REQUIRE(!mkdir(dir, 0700), "mkdir %s: %s", dir, strerror(errno));
	REQUIRE(g_file_get_contents(untrusted_ca, &pem, NULL, NULL), "cannot read %s",
		untrusted_ca);
	write_file(dir, "ca.crt", pem);
	write_file(dir, "token", ROTATED_TOKEN "-b");
	g_free(pem);

	api = start(url, dir);
	CHECK(wait_stat_above(NULL, "tls_errors", tls_errors), "the client never tried the server");
	CHECK(!lookup_at(api, "10.1.0.6", real_ns(), NULL), "names from an unverified server");
	stop_promptly(api, "untrusted server");
}

/* A server that hangs (stopped) or dies (killed) stalls neither lookups nor stops. */
static void test_server_hangs_and_dies(struct k8s_api *api, struct k8s_api *other)
{
	struct k8s_api *connecting;
	uint64_t t0, now = real_ns();

	log_info("test: %s", __func__);
	REQUIRE(!kill(fake.pid, SIGSTOP), "SIGSTOP: %s", strerror(errno));
	/* The kernel still accepts its connections: this client hangs in TLS handshakes. */
	connecting = start(url, creds_dir);
	usleep(300000);

	t0 = mono_ns();
	for (int i = 0; i < 1000; i++)
		lookup_at(api, "10.1.0.6", now, NULL);
	CHECK(mono_ns() - t0 < SEC / 5, "1000 lookups took %.3f s while the server hangs",
	      (mono_ns() - t0) / 1e9);
	CHECK_OWNER(api, "10.1.0.6", now, "pod", "default", "after-410", "");
	stop_promptly(connecting, "mid-handshake with a hung server");
	stop_promptly(api, "watching a hung server");

	fake_kill();
	/* Time to see the connections reset and to start retrying; not a check. */
	usleep(300000);
	CHECK_OWNER(other, "10.1.0.6", real_ns(), "pod", "default", "after-410", "");
	CHECK_OWNER(other, "10.96.0.10", real_ns(), "service", "default", "web", "web");
	stop_promptly(other, "server killed");
}

int main(void)
{
	static const char *const proxies[] = { "http_proxy", "https_proxy", "HTTPS_PROXY",
					       "all_proxy", "ALL_PROXY" };
	char *openssl = g_find_program_in_path("openssl");
	const char *tmp = getenv("TMPDIR");
	struct k8s_api *api, *from_env;
	char port[16];

	if (access(PYTHON, X_OK) || !openssl) {
		printf("test_k8s_api: skipped: needs %s and openssl\n", PYTHON);
		g_free(openssl);
		return 77;
	}
	g_free(openssl);
	signal(SIGPIPE, SIG_IGN);
	/* The client must reach 127.0.0.1 itself, and be outside any cluster to begin with. */
	for (size_t i = 0; i < G_N_ELEMENTS(proxies); i++)
		unsetenv(proxies[i]);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");

	snprintf(work_dir, sizeof(work_dir), "%s/test_k8s_api.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	REQUIRE(mkdtemp(work_dir), "mkdtemp %s: %s", work_dir, strerror(errno));
	atexit(cleanup);
	snprintf(creds_dir, sizeof(creds_dir), "%s/serviceaccount", work_dir);
	snprintf(log_path, sizeof(log_path), "%s/client.log", work_dir);
	REQUIRE(!log_open(log_path, LOG_LEVEL_DEBUG), "cannot open %s", log_path);

	test_not_in_cluster();

	fake_start();
	populate();
	/*
	 * The second client finds the server as in a pod: from the environment, set
	 * while no client runs (curl reads it: getenv races with setenv).
	 */
	snprintf(port, sizeof(port), "%s", strrchr(url, ':') + 1);
	setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", port, 1);
	from_env = start(NULL, creds_dir);
	api = start(url, creds_dir);

	test_listed(api);
	test_listed(from_env);
	test_watch_and_reuse(api);
	test_token_rotation(api, from_env);
	test_gone(api, from_env);
	test_untrusted_server();
	test_server_hangs_and_dies(api, from_env);
	return check_exit_status("test_k8s_api");
}
