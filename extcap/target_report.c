/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "target_report.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "procinfo.h"
#include "tls_stacks.h"

#define ROW_FORMAT "%-8s %-16s %-10s %-10s %-8s %s\n"

/* Prints @file's row and its detail line: the method hooked, or why not. */
static void print_target(FILE *out, const char *pid, const char *comm,
			 const struct target_file *file)
{
	bool hooked = g_str_has_prefix(file->status, "hooked ");
	const char *detail = file->status;

	if (hooked)
		detail += strlen("hooked ");
	else if (g_str_has_prefix(detail, "skipped: "))
		detail += strlen("skipped: ");
	fprintf(out, ROW_FORMAT, pid, comm, tls_stack_name(file->library),
		file->version[0] ? file->version : "-", hooked ? "hooked" : "skipped", file->path);
	fprintf(out, "%-8s %s: %s\n", "", hooked ? "method" : "reason",
		detail[0] ? detail : "not attached");
}

/* Lists @pid's TLS targets; marks them in @listed. Returns false when the process is gone. */
static bool report_pid(FILE *out, struct target_registry *reg, pid_t pid, bool say_none,
		       target_found_fn found, void *ctx, GHashTable *listed)
{
	GArray *cookies = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	char pid_text[16], comm[32];
	int shown = 0;

	if (targets_scan_pid_list(reg, pid, found, ctx, cookies)) {
		g_array_free(cookies, TRUE);
		return false;
	}
	snprintf(pid_text, sizeof(pid_text), "%d", pid);
	if (proc_comm(pid, comm, sizeof(comm)))
		g_strlcpy(comm, "?", sizeof(comm));
	for (guint i = 0; i < cookies->len; i++) {
		const struct target_file *file =
			targets_get(reg, g_array_index(cookies, uint32_t, i));

		/* The dynamic linker is plumbing (it reports dlopen), not TLS. */
		if (!file || file->kind == TARGET_DYNAMIC_LINKER)
			continue;
		print_target(out, pid_text, comm, file);
		g_hash_table_add(listed, GUINT_TO_POINTER(file->cookie + 1));
		shown++;
	}
	if (!shown && say_none) {
		fprintf(out, ROW_FORMAT, pid_text, comm, "-", "-", "none", "-");
		fprintf(out, "%-8s reason: maps no TLS library and has no TLS linked in\n", "");
	}
	g_array_free(cookies, TRUE);
	return true;
}

void target_report_print(FILE *out, struct target_registry *reg, const GArray *pids,
			 target_found_fn found, void *ctx)
{
	GHashTable *listed = g_hash_table_new(g_direct_hash, g_direct_equal);

	fprintf(out, ROW_FORMAT, "PID", "COMM", "LIBRARY", "VERSION", "STATUS", "FILE");
	if (pids) {
		for (guint i = 0; i < pids->len; i++) {
			pid_t pid = g_array_index(pids, pid_t, i);

			if (!report_pid(out, reg, pid, true, found, ctx, listed))
				fprintf(stderr, "tlsdump: pid %d: no such process\n", pid);
		}
	} else {
		DIR *proc = opendir("/proc");
		struct dirent *de;

		while (proc && (de = readdir(proc))) {
			char *end;
			long pid = strtol(de->d_name, &end, 10);

			if (!*end && pid > 0)
				report_pid(out, reg, (pid_t)pid, false, found, ctx, listed);
		}
		if (proc)
			closedir(proc);
		targets_scan_all(reg, found, ctx);
	}
	for (uint32_t cookie = 0; cookie < targets_count(reg); cookie++) {
		const struct target_file *file = targets_get(reg, cookie);

		if (file->kind != TARGET_DYNAMIC_LINKER &&
		    !g_hash_table_contains(listed, GUINT_TO_POINTER(cookie + 1)))
			print_target(out, "-", "-", file);
	}
	g_hash_table_destroy(listed);
}
