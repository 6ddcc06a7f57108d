/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "targets.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "elf_symbols.h"
#include "go_binary.h"
#include "log.h"

struct target_registry {
	GPtrArray *files;   /* struct target_file *, index = cookie */
	GHashTable *seen;   /* "dev:ino" of every file looked at, target or not */
};

/* Library directories searched at start, so the system libssl is probed before first use. */
static const char *const system_lib_dirs[] = {
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu",
	"/usr/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
	"/usr/local/lib", "/usr/local/lib64",
};

struct name_rule {
	const char *pattern; /* fnmatch() pattern on the file name */
	enum target_kind kind;
	enum tlsdump_library library;
};

static const struct name_rule name_rules[] = {
	{ "libssl.so*", TARGET_TLS_LIBRARY, TLSDUMP_LIB_OPENSSL },
	{ "ld-linux*.so*", TARGET_DYNAMIC_LINKER, TLSDUMP_LIB_UNKNOWN },
	{ "ld-musl-*.so*", TARGET_DYNAMIC_LINKER, TLSDUMP_LIB_UNKNOWN },
};

struct target_registry *targets_new(void)
{
	struct target_registry *reg = g_new0(struct target_registry, 1);

	reg->files = g_ptr_array_new_with_free_func(g_free);
	reg->seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	return reg;
}

void targets_free(struct target_registry *reg)
{
	if (!reg)
		return;
	g_ptr_array_free(reg->files, TRUE);
	g_hash_table_destroy(reg->seen);
	g_free(reg);
}

struct target_file *targets_get(struct target_registry *reg, uint32_t cookie)
{
	return cookie < reg->files->len ? g_ptr_array_index(reg->files, cookie) : NULL;
}

uint32_t targets_count(const struct target_registry *reg)
{
	return reg->files->len;
}

static const struct name_rule *match_name(const char *name)
{
	for (size_t i = 0; i < G_N_ELEMENTS(name_rules); i++)
		if (!fnmatch(name_rules[i].pattern, name, 0))
			return &name_rules[i];
	return NULL;
}

/* Reads the OpenSSL version from libcrypto next to @ssl_path ("3.0.19"), or leaves "". */
static void openssl_version(const char *ssl_path, char *out, size_t out_len)
{
	char crypto_path[PATH_MAX], banner[128];
	const char *base = strrchr(ssl_path, '/');
	const char *suffix;

	out[0] = '\0';
	if (!base || !(suffix = strstr(base, "libssl")))
		return;
	snprintf(crypto_path, sizeof(crypto_path), "%.*slibcrypto%s", (int)(suffix - ssl_path),
		 ssl_path, suffix + strlen("libssl"));
	if (elf_find_version_banner(crypto_path, "OpenSSL ", banner, sizeof(banner)) &&
	    elf_find_version_banner(ssl_path, "OpenSSL ", banner, sizeof(banner)))
		return;
	/* "OpenSSL 3.0.19 27 Jan 2026": the second word is the version. */
	if (sscanf(banner, "OpenSSL %31s", out) != 1)
		out[0] = '\0';
}

/* Returns a registry key for a file, or false when it cannot be stat'ed. */
static bool file_key(const char *path, char *key, size_t len, struct stat *st)
{
	if (stat(path, st) || !S_ISREG(st->st_mode))
		return false;
	snprintf(key, len, "%lu:%lu", (unsigned long)st->st_dev, (unsigned long)st->st_ino);
	return true;
}

/*
 * Registers @path (openable from here) if it is a target file not seen yet,
 * and reports it. @name is the file name used for matching.
 */
static void consider_file(struct target_registry *reg, const char *path, const char *name,
			  pid_t pid, target_found_fn found, void *ctx)
{
	const struct name_rule *rule = match_name(name);
	struct target_file *file;
	struct stat st;
	char key[64];

	if (!rule || !file_key(path, key, sizeof(key), &st) || g_hash_table_contains(reg->seen, key))
		return;
	g_hash_table_add(reg->seen, g_strdup(key));

	file = g_new0(struct target_file, 1);
	file->cookie = reg->files->len;
	file->kind = rule->kind;
	file->library = rule->library;
	g_strlcpy(file->path, path, sizeof(file->path));
	g_strlcpy(file->name, name, sizeof(file->name));
	file->dev = st.st_dev;
	file->ino = st.st_ino;
	file->first_pid = pid;
	if (rule->kind == TARGET_TLS_LIBRARY)
		openssl_version(path, file->version, sizeof(file->version));
	snprintf(file->libname, sizeof(file->libname), "%.20s%s%.10s", name,
		 file->version[0] ? " " : "", file->version);
	g_ptr_array_add(reg->files, file);
	log_info("target %u: %s (%s%s%s) seen in pid %d", file->cookie, path, name,
		 file->version[0] ? " " : "", file->version, pid);
	found(file, ctx);
}

/*
 * Chooses the path to attach to for @path as process @pid sees it (@st: the
 * file's identity). The same path in our namespace, when it is the same
 * file, outlives the process; /proc/PID/root/... works for containers while
 * the process lives. Leaves @out unchanged when neither is the file.
 */
static void stable_path(pid_t pid, const char *path, const struct stat *st, char *out,
			size_t len)
{
	char candidate[PATH_MAX + 64];
	struct stat cst;

	if (!stat(path, &cst) && cst.st_dev == st->st_dev && cst.st_ino == st->st_ino) {
		g_strlcpy(out, path, len);
		return;
	}
	snprintf(candidate, sizeof(candidate), "/proc/%d/root%s", pid, path);
	if (!stat(candidate, &cst) && cst.st_dev == st->st_dev && cst.st_ino == st->st_ino)
		g_strlcpy(out, candidate, len);
}

/*
 * Looks at the executable of @pid: a Go program with crypto/tls is a target
 * of its own (its TLS stack is compiled in). Each executable file is
 * examined once.
 */
static void consider_executable(struct target_registry *reg, pid_t pid, target_found_fn found,
				void *ctx)
{
	char exe[64], key[64], msg[256];
	struct target_file *file;
	struct go_binary *gb;
	struct go_func fn;
	struct stat st;
	ssize_t n;
	int err;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	if (!file_key(exe, key, sizeof(key), &st) || g_hash_table_contains(reg->seen, key))
		return;
	g_hash_table_add(reg->seen, g_strdup(key));
	err = go_binary_open(exe, &gb, msg, sizeof(msg));
	if (err) {
		if (err != -ENODATA)
			log_warn("pid %d: skipping its executable: %s", pid, msg);
		return;
	}
	if (go_binary_find_func(gb, "crypto/tls.(*Conn).Read", &fn)) {
		go_binary_close(gb);
		return;
	}
	file = g_new0(struct target_file, 1);
	file->cookie = reg->files->len;
	file->kind = TARGET_GO_BINARY;
	file->library = TLSDUMP_LIB_GO;
	/*
	 * Attach by the file's path seen through the process's root: it stays
	 * valid after a short-lived process exits. /proc/PID/exe (valid while
	 * the process lives) serves when the file was deleted or replaced.
	 */
	g_strlcpy(file->path, exe, sizeof(file->path));
	n = readlink(exe, msg, sizeof(msg) - 1);
	if (n > 0) {
		msg[n] = '\0';
		g_strlcpy(file->name, strrchr(msg, '/') ? strrchr(msg, '/') + 1 : msg,
			  sizeof(file->name));
		stable_path(pid, msg, &st, file->path, sizeof(file->path));
	}
	g_strlcpy(file->version, go_binary_version(gb) ? go_binary_version(gb) : "",
		  sizeof(file->version));
	snprintf(file->libname, sizeof(file->libname), "go %.28s",
		 file->version[0] ? file->version : "(version unknown)");
	file->dev = st.st_dev;
	file->ino = st.st_ino;
	file->first_pid = pid;
	go_binary_close(gb);
	g_ptr_array_add(reg->files, file);
	log_info("target %u: Go program %s (%s) in pid %d", file->cookie, file->name,
		 file->version, pid);
	found(file, ctx);
}

int targets_scan_pid(struct target_registry *reg, pid_t pid, target_found_fn found, void *ctx)
{
	char maps_path[64], line[PATH_MAX + 256], last[PATH_MAX] = "";
	FILE *maps;

	snprintf(maps_path, sizeof(maps_path), "/proc/%d/maps", pid);
	maps = fopen(maps_path, "re");
	if (!maps)
		return -errno;
	consider_executable(reg, pid, found, ctx);
	while (fgets(line, sizeof(line), maps)) {
		char *path = strchr(line, '/');
		char *name, host_path[PATH_MAX + 64];
		struct stat st;

		if (!path)
			continue;
		path[strcspn(path, "\n")] = '\0';
		/* Consecutive mappings of one file: look at it once. */
		if (!strcmp(path, last))
			continue;
		g_strlcpy(last, path, sizeof(last));
		name = strrchr(path, '/') + 1;
		if (!match_name(name))
			continue;
		/* The path is in the process's mount namespace: reach it through its
		 * root, or directly when it is the same file here (outlives the process). */
		snprintf(host_path, sizeof(host_path), "/proc/%d/root%s", pid, path);
		if (!stat(host_path, &st))
			stable_path(pid, path, &st, host_path, sizeof(host_path));
		consider_file(reg, host_path, name, pid, found, ctx);
	}
	fclose(maps);
	return 0;
}

static void scan_dir(struct target_registry *reg, const char *dir, target_found_fn found, void *ctx)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[PATH_MAX];

		if (!match_name(de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		consider_file(reg, path, de->d_name, 0, found, ctx);
	}
	closedir(d);
}

int targets_scan_all(struct target_registry *reg, target_found_fn found, void *ctx)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;

	if (proc) {
		while ((de = readdir(proc))) {
			char *end;
			long pid = strtol(de->d_name, &end, 10);

			if (*end || pid <= 0)
				continue;
			targets_scan_pid(reg, (pid_t)pid, found, ctx);
		}
		closedir(proc);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(system_lib_dirs); i++)
		scan_dir(reg, system_lib_dirs[i], found, ctx);
	return (int)reg->files->len;
}
