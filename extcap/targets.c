/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "targets.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "elf_symbols.h"
#include "go_binary.h"
#include "log.h"
#include "tls_stacks.h"

struct target_registry {
	GPtrArray *files;   /* struct target_file *, index = cookie */
	GHashTable *seen;   /* "dev:ino" of every file looked at -> cookie + 1, 0: not a target */
};

/* Library directories searched at start, so the system libssl is probed before first use. */
static const char *const system_lib_dirs[] = {
	"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
	"/lib/aarch64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib",
	"/usr/local/lib", "/usr/local/lib64",
};

struct name_rule {
	const char *pattern; /* fnmatch() pattern on the file name */
	enum target_kind kind;
};

/*
 * Files looked for on disk at start, before any process maps them. Any
 * other mapped shared object is identified by the functions it defines.
 */
static const struct name_rule name_rules[] = {
	{ "libssl.so*", TARGET_TLS_LIBRARY },	  /* OpenSSL, BoringSSL */
	{ "libgnutls.so*", TARGET_TLS_LIBRARY },
	{ "libnspr4.so*", TARGET_TLS_LIBRARY },	  /* NSS's I/O layer: PR_Read/PR_Write */
	{ "ld-linux*.so*", TARGET_DYNAMIC_LINKER },
	{ "ld-musl-*.so*", TARGET_DYNAMIC_LINKER },
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

/* Writes the registry key ("dev:ino") of the file @st describes. */
static void identity_key(const struct stat *st, char *key, size_t len)
{
	snprintf(key, len, "%lu:%lu", (unsigned long)st->st_dev, (unsigned long)st->st_ino);
}

/* Returns a registry key for a file, or false when it cannot be stat'ed. */
static bool file_key(const char *path, char *key, size_t len, struct stat *st)
{
	if (stat(path, st) || !S_ISREG(st->st_mode))
		return false;
	identity_key(st, key, len);
	return true;
}

/* What a scan learns about one file mapped by a process. */
struct candidate {
	const char *path; /* openable by tlsdump */
	const char *name; /* file name as the process knows it */
	struct stat st;
	pid_t pid;	  /* 0: found on disk */
};

/* Adds a target for @c to the registry, reports it and returns it. */
static struct target_file *add_target(struct target_registry *reg, const struct candidate *c,
				      enum target_kind kind, enum tlsdump_library library,
				      const char *version, const char *key, target_found_fn found,
				      void *ctx)
{
	struct target_file *file = g_new0(struct target_file, 1);

	file->cookie = reg->files->len;
	file->kind = kind;
	file->library = library;
	g_strlcpy(file->path, c->path, sizeof(file->path));
	g_strlcpy(file->name, c->name, sizeof(file->name));
	g_strlcpy(file->version, version, sizeof(file->version));
	if (library == TLSDUMP_LIB_GO)
		snprintf(file->libname, sizeof(file->libname), "go %.28s",
			 version[0] ? version : "(version unknown)");
	else
		snprintf(file->libname, sizeof(file->libname), "%.20s%s%.10s", c->name,
			 version[0] ? " " : "", version);
	file->dev = c->st.st_dev;
	file->ino = c->st.st_ino;
	file->first_pid = c->pid;
	g_ptr_array_add(reg->files, file);
	g_hash_table_replace(reg->seen, g_strdup(key), GUINT_TO_POINTER(file->cookie + 1));
	if (kind == TARGET_GO_BINARY)
		log_info("target %u: Go program %s (%s) in pid %d", file->cookie, c->name, version,
			 c->pid);
	else
		log_info("target %u: %s %s%s(%s) seen in pid %d", file->cookie,
			 kind == TARGET_DYNAMIC_LINKER ? "dynamic linker" : tls_stack_name(library),
			 version, version[0] ? " " : "", c->path, c->pid);
	found(file, ctx);
	/* Its path vanished with its process before the probes went on: the
	 * next process mapping the same file gets another try. */
	if (file->attach_error == -ENOENT)
		g_hash_table_remove(reg->seen, key);
	return file;
}

/*
 * Returns true the first time the file of @key is looked at, and marks it
 * seen; afterwards false, with *@file its target (NULL: not a target).
 */
static bool first_look(struct target_registry *reg, const char *key, struct target_file **file)
{
	gpointer value = NULL;

	if (g_hash_table_lookup_extended(reg->seen, key, NULL, &value)) {
		*file = value ? g_ptr_array_index(reg->files, GPOINTER_TO_UINT(value) - 1) : NULL;
		return false;
	}
	g_hash_table_insert(reg->seen, g_strdup(key), NULL);
	return true;
}

/*
 * Looks at a shared object: the dynamic linker by its name, a TLS stack by
 * the functions it defines (whatever its name: a libnode.so with OpenSSL
 * inside counts). Each file is examined once. Returns its target or NULL.
 */
static struct target_file *consider_file(struct target_registry *reg, const struct candidate *c,
					 target_found_fn found, void *ctx)
{
	const struct name_rule *rule = match_name(c->name);
	struct target_file *file;
	struct tls_stack_id id;
	char key[64];

	identity_key(&c->st, key, sizeof(key));
	if (!first_look(reg, key, &file))
		return file;
	if (rule && rule->kind == TARGET_DYNAMIC_LINKER)
		return add_target(reg, c, TARGET_DYNAMIC_LINKER, TLSDUMP_LIB_UNKNOWN, "", key,
				  found, ctx);
	if (tls_stack_identify(c->path, &id))
		return NULL;
	return add_target(reg, c, TARGET_TLS_LIBRARY, id.library, id.version, key, found, ctx);
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

/* Tells whether the executable @path is a Go program using crypto/tls; logs why not if broken. */
static bool is_go_tls_program(const char *path, pid_t pid, char *version, size_t version_len)
{
	struct go_binary *gb;
	struct go_func fn;
	char why[256];
	bool tls;
	int err = go_binary_open(path, &gb, why, sizeof(why));

	if (err) {
		if (err != -ENODATA)
			log_warn("pid %d: skipping its executable: %s", pid, why);
		return false;
	}
	tls = !go_binary_find_func(gb, "crypto/tls.(*Conn).Read", &fn);
	g_strlcpy(version, go_binary_version(gb) ? go_binary_version(gb) : "", version_len);
	go_binary_close(gb);
	return tls;
}

/*
 * Looks at the executable of @pid: a Go program with crypto/tls, or a
 * program with a TLS library linked in statically (node, envoy), is a
 * target of its own. Each executable file is examined once. Returns its
 * target or NULL.
 */
static struct target_file *consider_executable(struct target_registry *reg, pid_t pid,
					       target_found_fn found, void *ctx)
{
	char exe[64], key[64], link[PATH_MAX], target_path[PATH_MAX];
	struct candidate c = { .path = target_path, .name = "", .pid = pid };
	struct target_file *file;
	struct tls_stack_id id;
	ssize_t n;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	if (!file_key(exe, key, sizeof(key), &c.st))
		return NULL;
	if (!first_look(reg, key, &file))
		return file;
	/*
	 * Attach by the file's path seen through the process's root: it stays
	 * valid after a short-lived process exits. /proc/PID/exe (valid while
	 * the process lives) serves when the file was deleted or replaced.
	 */
	g_strlcpy(target_path, exe, sizeof(target_path));
	n = readlink(exe, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = '\0';
		c.name = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
		stable_path(pid, link, &c.st, target_path, sizeof(target_path));
	}
	if (is_go_tls_program(exe, pid, id.version, sizeof(id.version)))
		return add_target(reg, &c, TARGET_GO_BINARY, TLSDUMP_LIB_GO, id.version, key,
				  found, ctx);
	if (tls_stack_identify(exe, &id))
		return NULL;
	return add_target(reg, &c, TARGET_TLS_LIBRARY, id.library, id.version, key, found, ctx);
}

/* Tells whether @path is on an overlay file system (a container's root, usually). */
static bool on_overlay(const char *path)
{
	struct statfs fs;

	return !statfs(path, &fs) && fs.f_type == OVERLAYFS_SUPER_MAGIC;
}

/* Undoes mountinfo's octal escapes (\040 for a space) of @s in place. */
static void unescape_mountinfo(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] && s[3]) {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/*
 * Looks for @rel in the layers an overlay's super options @super name
 * (upperdir first, then each lowerdir in order) and puts the first match's
 * identity into @st. Returns true when found.
 */
static bool find_in_layers(const char *super, const char *rel, struct stat *st)
{
	static const char *const keys[] = { "upperdir=", "lowerdir=" };
	char **opts = g_strsplit(super, ",", -1);
	bool found = false;

	for (size_t k = 0; k < G_N_ELEMENTS(keys) && !found; k++) {
		for (char **o = opts; *o && !found; o++) {
			char **dirs;

			if (!g_str_has_prefix(*o, keys[k]))
				continue;
			dirs = g_strsplit(*o + strlen(keys[k]), ":", -1);
			for (char **d = dirs; *d && !found; d++) {
				char layer_file[PATH_MAX * 2];
				struct stat lst;

				unescape_mountinfo(*d);
				snprintf(layer_file, sizeof(layer_file), "%s%s", *d, rel);
				if (!stat(layer_file, &lst) && S_ISREG(lst.st_mode)) {
					st->st_dev = lst.st_dev;
					st->st_ino = lst.st_ino;
					found = true;
				}
			}
			g_strfreev(dirs);
		}
	}
	g_strfreev(opts);
	return found;
}

/*
 * For @path (as process @pid sees it) on an overlay mount, puts into @st
 * the identity of the layer file behind it: upperdir if copied up, else the
 * first lowerdir holding it. An overlay reports its own device for every
 * container, but uprobes go to the layer file, which the containers of one
 * image share: keyed by it, that file is one target. Leaves @st alone
 * otherwise.
 */
static void overlay_layer_identity(pid_t pid, const char *path, struct stat *st)
{
	char mountinfo[64], line[8192], best_dirs[8192] = "", best_mp[PATH_MAX] = "";
	FILE *f;

	snprintf(mountinfo, sizeof(mountinfo), "/proc/%d/mountinfo", pid);
	f = fopen(mountinfo, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char mp[PATH_MAX], fstype[64], super[8192];
		const char *sep = strstr(line, " - ");
		size_t mp_len;

		/* id parent major:minor root MOUNTPOINT ... - FSTYPE SOURCE SUPEROPTS */
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
		    sscanf(sep + 3, "%63s %*s %8191s", fstype, super) != 2 || strcmp(fstype, "overlay"))
			continue;
		unescape_mountinfo(mp);
		mp_len = strcmp(mp, "/") ? strlen(mp) : 0;
		if (strncmp(path, mp, mp_len) || (path[mp_len] != '/' && path[mp_len]) ||
		    (best_mp[0] && mp_len < strlen(best_mp)))
			continue;
		g_strlcpy(best_mp, mp_len ? mp : "", sizeof(best_mp));
		if (!best_mp[0])
			g_strlcpy(best_mp, "/", sizeof(best_mp));
		g_strlcpy(best_dirs, super, sizeof(best_dirs));
	}
	fclose(f);
	if (best_dirs[0])
		find_in_layers(best_dirs, path + (strcmp(best_mp, "/") ? strlen(best_mp) : 0), st);
}

/* Appends @file's cookie to @cookies (when both are given and it is not there yet). */
static void note_target(GArray *cookies, const struct target_file *file)
{
	if (!cookies || !file)
		return;
	for (guint i = 0; i < cookies->len; i++)
		if (g_array_index(cookies, uint32_t, i) == file->cookie)
			return;
	g_array_append_val(cookies, file->cookie);
}

int targets_scan_pid_list(struct target_registry *reg, pid_t pid, target_found_fn found,
			  void *ctx, GArray *cookies)
{
	char maps_path[64], line[PATH_MAX + 256], last[PATH_MAX] = "";
	FILE *maps;

	snprintf(maps_path, sizeof(maps_path), "/proc/%d/maps", pid);
	maps = fopen(maps_path, "re");
	if (!maps)
		return -errno;
	note_target(cookies, consider_executable(reg, pid, found, ctx));
	while (fgets(line, sizeof(line), maps)) {
		char *path = strchr(line, '/');
		char host_path[PATH_MAX + 64];
		struct candidate c = { .path = host_path, .pid = pid };

		if (!path)
			continue;
		path[strcspn(path, "\n")] = '\0';
		/* Consecutive mappings of one file: look at it once. */
		if (!strcmp(path, last))
			continue;
		g_strlcpy(last, path, sizeof(last));
		c.name = strrchr(path, '/') + 1;
		/* Shared objects only: the executable was looked at above. */
		if (!strstr(c.name, ".so"))
			continue;
		/* The path is in the process's mount namespace: reach it through its
		 * root, or directly when it is the same file here (outlives the process). */
		snprintf(host_path, sizeof(host_path), "/proc/%d/root%s", pid, path);
		if (stat(host_path, &c.st) || !S_ISREG(c.st.st_mode))
			continue;
		stable_path(pid, path, &c.st, host_path, sizeof(host_path));
		if (on_overlay(host_path))
			overlay_layer_identity(pid, path, &c.st);
		note_target(cookies, consider_file(reg, &c, found, ctx));
	}
	fclose(maps);
	return 0;
}

int targets_scan_pid(struct target_registry *reg, pid_t pid, target_found_fn found, void *ctx)
{
	return targets_scan_pid_list(reg, pid, found, ctx, NULL);
}

/*
 * Registers the files of @dir whose names the rules know, and those of its
 * subdirectories down to @depth more levels (Debian's BoringSSL lives in
 * .../android/).
 */
static void scan_dir(struct target_registry *reg, const char *dir, int depth,
		     target_found_fn found, void *ctx)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		struct candidate c = { .path = path, .name = de->d_name };

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		/* The real file is in the directory too, under its own name. */
		if (de->d_type == DT_LNK)
			continue;
		if (de->d_type == DT_DIR) {
			if (depth > 0)
				scan_dir(reg, path, depth - 1, found, ctx);
			continue;
		}
		if (!match_name(de->d_name) || stat(path, &c.st) || !S_ISREG(c.st.st_mode))
			continue;
		consider_file(reg, &c, found, ctx);
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
		scan_dir(reg, system_lib_dirs[i], 1, found, ctx);
	return (int)reg->files->len;
}
