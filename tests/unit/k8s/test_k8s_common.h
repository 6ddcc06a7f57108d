/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What the Kubernetes metadata tests share: the fixtures' ids, and scratch
 * directory trees standing in for a node's cgroup hierarchy, runtime state
 * and CNI cache. Scratch trees go under $TMPDIR (the build tree under ctest)
 * and are removed when the test passes.
 */
#ifndef TLSDUMP_TEST_K8S_COMMON_H
#define TLSDUMP_TEST_K8S_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../check.h"

/* The ids in fixtures/ (see the files). */
#define POD1_UID "6f1c2b3a-1d2e-4f5a-9b8c-7d6e5f4a3b2c"
#define POD1_UID_ "6f1c2b3a_1d2e_4f5a_9b8c_7d6e5f4a3b2c"
#define POD2_UID "0b9e8d7c-6a5b-4c3d-8e2f-1a0b9c8d7e6f"
#define POD2_UID_ "0b9e8d7c_6a5b_4c3d_8e2f_1a0b9c8d7e6f"
#define POD4_UID "3c2b1a09-8f7e-4d6c-b5a4-938271605f4e"
#define S1_ID "8d45af51c25902c39a579d1b60738182d0670cb00e0ac6f7cdf648d50d3f9347"
#define C1_ID "454e61a0dab08cf26fc86a9ce002c9f1addd82259abc4191bd0debdce5afb163"
#define S2_ID "ffef6824a162b37177e4ed1f6b6f4561724475180cf326c2a07ba4b5f044ec94"
#define C2_ID "6b66866c3e47985162bb58d2b2aedb933e574a7742166fbd4bbfff3fe1f478fa"
#define C3_ID "409e6ac6dca6f5e18ddc4b5f55d74572d38f04239d3eb9e1dc226986d8c94afc"
#define S4_ID "71b9f090e236bee180864ccd209932f3799b4e479bee7626b041adbbb9fa83fc"
#define S5_ID "c38cd01fc2bc0d1e86f991a8750878f4d5c1f2f0435103a16b9c6ddf13b6fd1a"

static const char *fixture_dir = "fixtures";

/* Returns fixture @name's contents (g_free), or exits: a missing fixture is a broken test. */
static inline char *fixture(const char *name, size_t *len)
{
	char *path = g_build_filename(fixture_dir, name, NULL), *text = NULL;
	gsize n = 0;

	REQUIRE(g_file_get_contents(path, &text, &n, NULL), "cannot read fixture %s", path);
	g_free(path);
	if (len)
		*len = n;
	return text;
}

/* Creates a scratch directory under $TMPDIR and returns its path (g_free). */
static inline char *scratch_dir(const char *tag)
{
	char *tmpl = g_strdup_printf("%s/%s-XXXXXX", g_get_tmp_dir(), tag);

	REQUIRE(g_mkdtemp(tmpl), "mkdtemp %s: %s", tmpl, strerror(errno));
	return tmpl;
}

/* Creates directory @root/@rel with its parents; returns its inode number. */
static inline uint64_t mkdirs(const char *root, const char *rel)
{
	char *path = g_build_filename(root, rel, NULL);
	struct stat st;

	REQUIRE(!g_mkdir_with_parents(path, 0755), "mkdir %s: %s", path, strerror(errno));
	REQUIRE(!stat(path, &st), "stat %s", path);
	g_free(path);
	return st.st_ino;
}

/* Returns the inode number of @root/@rel. */
static inline uint64_t ino_of(const char *root, const char *rel)
{
	char *path = g_build_filename(root, rel, NULL);
	struct stat st;

	REQUIRE(!stat(path, &st), "stat %s: %s", path, strerror(errno));
	g_free(path);
	return st.st_ino;
}

/* Writes @len bytes of @data to @root/@rel, creating the parents. */
static inline void write_file(const char *root, const char *rel, const char *data, size_t len)
{
	char *path = g_build_filename(root, rel, NULL), *dir = g_path_get_dirname(path);

	REQUIRE(!g_mkdir_with_parents(dir, 0755), "mkdir %s", dir);
	REQUIRE(g_file_set_contents(path, data, (gssize)len, NULL), "write %s", path);
	g_free(dir);
	g_free(path);
}

/* Copies fixture @name to @root/@rel. */
static inline void install_fixture(const char *root, const char *rel, const char *name)
{
	size_t len;
	char *text = fixture(name, &len);

	write_file(root, rel, text, len);
	g_free(text);
}

static inline void remove_tree(const char *path)
{
	GDir *d = g_dir_open(path, 0, NULL);
	const char *name;

	if (d) {
		while ((name = g_dir_read_name(d))) {
			char *child = g_build_filename(path, name, NULL);

			if (g_file_test(child, G_FILE_TEST_IS_DIR) &&
			    !g_file_test(child, G_FILE_TEST_IS_SYMLINK))
				remove_tree(child);
			else
				g_unlink(child);
			g_free(child);
		}
		g_dir_close(d);
	}
	g_rmdir(path);
}

/* Removes a scratch tree unless a check failed (then it stays for a look). */
static inline void scratch_done(char *dir)
{
	if (!failures)
		remove_tree(dir);
	else
		fprintf(stderr, "scratch tree kept: %s\n", dir);
	g_free(dir);
}

/* Tells whether @ids (uint64_t) holds exactly the @n ids of @want, in any order. */
static inline bool same_ids(GArray *ids, const uint64_t *want, size_t n)
{
	if (ids->len != n)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (guint j = 0; j < ids->len; j++)
			found |= g_array_index(ids, uint64_t, j) == want[i];
		if (!found)
			return false;
	}
	return true;
}

#endif /* TLSDUMP_TEST_K8S_COMMON_H */
