/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "procinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CMDLINE_MAX 4096

struct procinfo_cache {
	GHashTable *by_pid; /* pid -> struct procinfo * */
	uint64_t next_generation;
};

static void procinfo_free(gpointer p)
{
	struct procinfo *info = p;

	g_free(info->cmdline);
	g_free(info->exe);
	g_free(info);
}

struct procinfo_cache *procinfo_cache_new(void)
{
	struct procinfo_cache *cache = g_new0(struct procinfo_cache, 1);

	cache->by_pid = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, procinfo_free);
	return cache;
}

void procinfo_cache_free(struct procinfo_cache *cache)
{
	if (!cache)
		return;
	g_hash_table_destroy(cache->by_pid);
	g_free(cache);
}

/* Joins NUL-separated arguments with spaces (a trailing NUL ends the last one). */
static char *join_args(const char *args, size_t n)
{
	char *out = g_malloc(n + 1);

	/* Not g_strndup(): it would stop at the first separator. */
	memcpy(out, args, n);
	out[n] = '\0';

	while (n > 0 && out[n - 1] == '\0')
		n--;
	for (size_t i = 0; i < n; i++)
		if (out[i] == '\0' || out[i] == '\n')
			out[i] = ' ';
	out[n] = '\0';
	return out;
}

static char *read_cmdline(pid_t pid)
{
	char path[64], buf[CMDLINE_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return g_strdup("");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 0 ? join_args(buf, (size_t)n) : g_strdup("");
}

static char *read_exe(pid_t pid)
{
	char path[64], target[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, target, sizeof(target) - 1);
	if (n <= 0)
		return g_strdup("");
	target[n] = '\0';
	return g_strdup(target);
}

static struct procinfo *load(struct procinfo_cache *cache, pid_t pid)
{
	struct procinfo *info = g_new0(struct procinfo, 1);

	info->pid = pid;
	info->generation = ++cache->next_generation;
	info->cmdline = read_cmdline(pid);
	info->exe = read_exe(pid);
	g_hash_table_replace(cache->by_pid, GINT_TO_POINTER(pid), info);
	return info;
}

const struct procinfo *procinfo_get(struct procinfo_cache *cache, pid_t pid)
{
	struct procinfo *info = g_hash_table_lookup(cache->by_pid, GINT_TO_POINTER(pid));

	return info ? info : load(cache, pid);
}

void procinfo_exec(struct procinfo_cache *cache, pid_t pid, const char *filename,
		   const char *args, size_t args_len)
{
	struct procinfo *info = load(cache, pid);

	if (!info->cmdline[0] && args_len) {
		g_free(info->cmdline);
		info->cmdline = join_args(args, args_len);
	}
	if (!info->exe[0] && filename && filename[0]) {
		g_free(info->exe);
		info->exe = g_strdup(filename);
	}
	info->generation = ++cache->next_generation;
}

void procinfo_exited(struct procinfo_cache *cache, pid_t pid, uint64_t now_ns)
{
	struct procinfo *info = g_hash_table_lookup(cache->by_pid, GINT_TO_POINTER(pid));

	if (info)
		info->exited_ns = now_ns;
}

static gboolean expired(gpointer key, gpointer value, gpointer user_data)
{
	const struct procinfo *info = value;
	const uint64_t *cutoff = user_data;

	return info->exited_ns && info->exited_ns < *cutoff;
}

void procinfo_expire(struct procinfo_cache *cache, uint64_t now_ns, uint64_t grace_ns)
{
	uint64_t cutoff = now_ns > grace_ns ? now_ns - grace_ns : 0;

	g_hash_table_foreach_remove(cache->by_pid, expired, &cutoff);
}

/* Scans one /proc/PID/net/tcp* table for a LISTEN (0A) socket on @port. Returns 1, 0 or -errno. */
static int table_has_listener(const char *path, uint16_t port)
{
	char line[512];
	FILE *f = fopen(path, "re");
	int found = 0;

	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f)) {
		char local[128];
		unsigned int lport, state;

		if (sscanf(line, " %*u: %127[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", local, &lport,
			   &state) == 3)
			found = lport == port && state == 0x0A;
	}
	fclose(f);
	return found;
}

int proc_comm(pid_t pid, char *out, size_t out_len)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	out[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(out, (int)out_len, f))
		out[0] = '\0';
	fclose(f);
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

int proc_tcp_port_listening(pid_t pid, uint16_t port)
{
	char path[64];
	int v4, v6;

	snprintf(path, sizeof(path), "/proc/%d/net/tcp", pid);
	v4 = table_has_listener(path, port);
	if (v4 > 0)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/net/tcp6", pid);
	v6 = table_has_listener(path, port);
	if (v6 >= 0)
		return v6;
	return v4 < 0 ? v4 : 0;
}
