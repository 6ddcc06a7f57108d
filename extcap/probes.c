/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "probes.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <glib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf_symbols.h"
#include "openssl_sites.h"
#include "go_probes.h"
#include "log.h"
#include "tlsdump.skel.h"

#define DEFAULT_KERNEL_BTF "/sys/kernel/btf/vmlinux"
#define TRACEFS "/sys/kernel/tracing"

struct probes {
	struct tlsdump_bpf *skel;
	GPtrArray *links; /* struct bpf_link *, destroyed on detach */
};

/* Which files a probe spec applies to. */
enum spec_family {
	FAMILY_OPENSSL, /* OpenSSL and BoringSSL: the same API */
	FAMILY_GNUTLS,
	FAMILY_NSPR,
	FAMILY_DYNAMIC_LINKER,
};

/* One probed function: its entry program and whether its return is probed too. */
struct probe_spec {
	enum spec_family family;
	const char *symbol;
	size_t entry_prog_offset; /* offsetof(struct tlsdump_bpf, progs.X) */
	bool probe_return;
	bool wrapper; /* a public read/write wrapper, replaced by the internal function when found */
	const char *unless; /* skipped when the file defines this function (it does the work) */
};

#define PROG(name) offsetof(struct tlsdump_bpf, progs.name)

static const struct probe_spec probe_specs[] = {
	{ FAMILY_OPENSSL, "SSL_read", PROG(ssl_read_enter), true, true, NULL },
	{ FAMILY_OPENSSL, "SSL_write", PROG(ssl_write_enter), true, true, NULL },
	{ FAMILY_OPENSSL, "SSL_read_ex", PROG(ssl_read_ex_enter), true, true, NULL },
	{ FAMILY_OPENSSL, "SSL_write_ex", PROG(ssl_write_ex_enter), true, true, NULL },
	{ FAMILY_OPENSSL, "SSL_write_ex2", PROG(ssl_write_ex2_enter), true, true, NULL },
	{ FAMILY_OPENSSL, "SSL_free", PROG(ssl_free_enter), false, false, NULL },
	/* ssize_t f(gnutls_session_t, void *, size_t[, ...]): SSL_read's shape. */
	{ FAMILY_GNUTLS, "gnutls_record_recv", PROG(ssl_read_enter), true, false, NULL },
	{ FAMILY_GNUTLS, "gnutls_record_recv_seq", PROG(ssl_read_enter), true, false, NULL },
	/* gnutls_record_send jumps to gnutls_record_send2: probing both would
	 * see one call twice. */
	{ FAMILY_GNUTLS, "gnutls_record_send2", PROG(ssl_write_enter), true, false, NULL },
	{ FAMILY_GNUTLS, "gnutls_record_send", PROG(ssl_write_enter), true, false,
	  "gnutls_record_send2" },
	{ FAMILY_GNUTLS, "gnutls_deinit", PROG(ssl_free_enter), false, false, NULL },
	/* PRInt32 f(PRFileDesc *, void *, PRInt32[, ...]) on any NSPR descriptor;
	 * the probes keep only the SSL-layered ones. */
	{ FAMILY_NSPR, "PR_Read", PROG(nspr_read_enter), true, false, NULL },
	{ FAMILY_NSPR, "PR_Recv", PROG(nspr_read_enter), true, false, NULL },
	{ FAMILY_NSPR, "PR_Write", PROG(nspr_write_enter), true, false, NULL },
	{ FAMILY_NSPR, "PR_Send", PROG(nspr_write_enter), true, false, NULL },
	{ FAMILY_NSPR, "PR_Writev", PROG(nspr_writev_enter), true, false, NULL },
	{ FAMILY_NSPR, "PR_Close", PROG(ssl_free_enter), false, false, NULL },
	{ FAMILY_DYNAMIC_LINKER, "_dl_debug_state", PROG(dl_debug_state_enter), false, false, NULL },
};

/* Returns the spec family probing @file. */
static enum spec_family file_family(const struct target_file *file)
{
	if (file->kind == TARGET_DYNAMIC_LINKER)
		return FAMILY_DYNAMIC_LINKER;
	switch (file->library) {
	case TLSDUMP_LIB_GNUTLS:
		return FAMILY_GNUTLS;
	case TLSDUMP_LIB_NSS:
		return FAMILY_NSPR;
	default:
		return FAMILY_OPENSSL;
	}
}

static struct bpf_program *spec_program(struct probes *p, const struct probe_spec *spec)
{
	return *(struct bpf_program **)((char *)p->skel + spec->entry_prog_offset);
}

/* libbpf's own messages are diagnostics: they go to the log, never to stderr. */
static int libbpf_to_log(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum log_level our_level = level == LIBBPF_WARN ? LOG_LEVEL_WARNING : LOG_LEVEL_DEBUG;
	char *text = g_strdup_vprintf(fmt, ap);
	char **lines = g_strsplit(text, "\n", -1);

	/* The verifier log arrives as one multi-line message. */
	for (char **line = lines; *line; line++)
		if (**line)
			log_msg(our_level, "libbpf: %s", *line);
	g_strfreev(lines);
	g_free(text);
	return 0;
}

static int ensure_tracefs(void)
{
	struct stat st;

	if (!stat(TRACEFS "/events", &st) || !stat("/sys/kernel/debug/tracing/events", &st))
		return 0;
	if (mount("nodev", TRACEFS, "tracefs", 0, NULL))
		return -errno;
	log_info("mounted tracefs on " TRACEFS);
	return 0;
}

static void set_tunables(struct tlsdump_bpf *skel, const struct tlsdump_options *opts)
{
	uint64_t ring_bytes = 1 << 20;

	/* The kernel wants a power of two: round the requested size up. */
	while (ring_bytes < ((uint64_t)opts->ring_buffer_mb << 20))
		ring_bytes <<= 1;

	skel->rodata->self_tgid = (uint32_t)getpid();
	skel->rodata->filter_pids = opts->n_pids > 0;
	skel->rodata->filter_comm = opts->comm[0] != '\0';
	skel->rodata->filter_cgroups = opts->k8s_namespace || opts->k8s_pod || opts->k8s_container;
	memcpy((char *)skel->rodata->target_comm, opts->comm, sizeof(opts->comm));
	skel->rodata->max_bytes_per_call = opts->max_bytes_per_call;
	/* Wake the consumer once an eighth of the ring is filled, at most every MiB. */
	skel->rodata->wakeup_bytes = ring_bytes / 8 < (1 << 20) ? ring_bytes / 8 : (1 << 20);
	bpf_map__set_max_entries(skel->maps.events, (uint32_t)ring_bytes);
}

static int fill_target_pids(struct tlsdump_bpf *skel, const struct tlsdump_options *opts)
{
	int fd = bpf_map__fd(skel->maps.target_pids);
	uint8_t one = 1;

	for (size_t i = 0; i < opts->n_pids; i++) {
		uint32_t pid = opts->pids[i];

		if (bpf_map_update_elem(fd, &pid, &one, BPF_ANY))
			return -errno;
	}
	return 0;
}

int probes_load(const struct tlsdump_options *opts, struct probes **out)
{
	const char *btf = opts->btf_path ? opts->btf_path : DEFAULT_KERNEL_BTF;
	LIBBPF_OPTS(bpf_object_open_opts, open_opts);
	struct probes *p;
	int err;

	libbpf_set_print(libbpf_to_log);
	if (geteuid() != 0) {
		log_fatal("missing privileges: eBPF capture needs root (CAP_BPF, CAP_PERFMON and "
			  "CAP_SYS_ADMIN)");
		return -EPERM;
	}
	if (access(btf, R_OK)) {
		err = -errno;
		log_fatal("no BTF: cannot read kernel type information %s: %s (a kernel built "
			  "with CONFIG_DEBUG_INFO_BTF is needed, or --btf FILE)",
			  btf, strerror(-err));
		return err;
	}
	if (opts->btf_path)
		open_opts.btf_custom_path = opts->btf_path;

	p = g_new0(struct probes, 1);
	p->links = g_ptr_array_new();
	p->skel = tlsdump_bpf__open_opts(&open_opts);
	if (!p->skel) {
		err = -errno;
		log_fatal("cannot open BPF object: %s", strerror(-err));
		goto fail;
	}
	set_tunables(p->skel, opts);
	err = tlsdump_bpf__load(p->skel);
	if (err) {
		log_fatal("cannot load BPF programs: %s%s", strerror(-err),
			  err == -EPERM ? " (missing privileges?)" :
			  opts->btf_path ? " (is --btf a valid BTF file for this kernel?)" : "");
		goto fail;
	}
	err = fill_target_pids(p->skel, opts);
	if (err) {
		log_fatal("cannot set target pids: %s", strerror(-err));
		goto fail;
	}
	*out = p;
	return 0;
fail:
	probes_destroy(p);
	return err;
}

int probes_attach_kernel(struct probes *p)
{
	struct bpf_program *progs[] = {
		p->skel->progs.sys_enter_read,	   p->skel->progs.sys_enter_write,
		p->skel->progs.sys_enter_readv,	   p->skel->progs.sys_enter_writev,
		p->skel->progs.sys_enter_recvfrom, p->skel->progs.sys_enter_sendto,
		p->skel->progs.sys_enter_recvmsg,  p->skel->progs.sys_enter_sendmsg,
		p->skel->progs.sys_enter_close,	   p->skel->progs.inet_sock_set_state,
		p->skel->progs.sched_process_exec, p->skel->progs.sched_process_exit,
	};
	int err = ensure_tracefs();

	if (err) {
		log_fatal("tracefs is not mounted and mounting it on " TRACEFS " failed: %s",
			  strerror(-err));
		return err;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(progs); i++) {
		struct bpf_link *link = bpf_program__attach(progs[i]);

		if (!link) {
			err = -errno;
			log_fatal("cannot attach %s: %s", bpf_program__section_name(progs[i]),
				  strerror(-err));
			return err;
		}
		g_ptr_array_add(p->links, link);
	}
	return 0;
}

/* Returns the return program matching entry program @prog: reads and writes are tracked apart. */
static struct bpf_program *exit_program_of(struct probes *p, const struct bpf_program *prog)
{
	bool read = prog == p->skel->progs.ssl_read_enter ||
		    prog == p->skel->progs.ssl_read_ex_enter || prog == p->skel->progs.nspr_read_enter;

	return read ? p->skel->progs.ssl_read_exit : p->skel->progs.ssl_write_exit;
}

/*
 * Attaches @prog at @offset of @file (and the return program of its direction when
 * @with_return). Returns 0 or -errno; on failure nothing stays attached.
 */
static int attach_site(struct probes *p, struct target_file *file, struct bpf_program *prog,
		       uint64_t offset, bool with_return)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uopts, .bpf_cookie = file->cookie);
	struct bpf_link *entry, *ret = NULL;
	int err;

	entry = bpf_program__attach_uprobe_opts(prog, -1, file->path, offset, &uopts);
	if (!entry)
		return -errno;
	if (with_return) {
		uopts.retprobe = true;
		ret = bpf_program__attach_uprobe_opts(exit_program_of(p, prog), -1, file->path,
						      offset, &uopts);
		if (!ret) {
			err = -errno;
			bpf_link__destroy(entry);
			return err;
		}
	}
	g_ptr_array_add(p->links, entry);
	if (ret)
		g_ptr_array_add(p->links, ret);
	return 0;
}

/*
 * Probes ssl_read_internal/ssl_write_internal instead of the four public
 * wrappers when they can be found (see openssl_sites.h). Returns true when
 * both are attached.
 */
static bool attach_openssl_internals(struct probes *p, struct target_file *file, GString *hooked)
{
	struct openssl_sites sites;
	struct bpf_program *write_prog;
	int err;

	if (openssl_find_sites(file->path, &sites)) {
		log_info("target %u: probing the public functions: %s", file->cookie,
			 sites.reason);
		return false;
	}
	/* Both have the _ex signature: (ssl, buf, num, [flags,] size_t *done). */
	write_prog = sites.write_has_flags ? p->skel->progs.ssl_write_ex2_enter :
					     p->skel->progs.ssl_write_ex_enter;
	err = attach_site(p, file, p->skel->progs.ssl_read_ex_enter, sites.read_internal, true);
	if (err)
		return false;
	err = attach_site(p, file, write_prog, sites.write_internal, true);
	if (err) {
		/* The read site stays attached: the public functions would duplicate it. */
		log_warn("cannot attach ssl_write_internal in %s: %s", file->path,
			 strerror(-err));
		return false;
	}
	g_string_append_printf(hooked, "ssl_read_internal@%#lx,ssl_write_internal@%#lx",
			       (unsigned long)sites.read_internal,
			       (unsigned long)sites.write_internal);
	return true;
}

/* Attaches the probes of a Go executable (see go_probes.h). Returns sites attached or -errno. */
static int attach_go(struct probes *p, struct target_file *file)
{
	struct bpf_program *progs[] = {
		[GO_SITE_READ_ENTER] = p->skel->progs.go_read_enter,
		[GO_SITE_READ_RETURN] = p->skel->progs.go_read_return,
		[GO_SITE_WRITE_ENTER] = p->skel->progs.go_write_enter,
		[GO_SITE_WRITE_RETURN] = p->skel->progs.go_write_return,
		[GO_SITE_KEYLOG] = p->skel->progs.go_write_key_log,
	};
	struct go_probe_plan plan;
	int err, attached = 0;

	err = go_plan_probes(file->path, &plan);
	if (err) {
		snprintf(file->status, sizeof(file->status), "skipped: %.150s", plan.reason);
		return err;
	}
	/* The configuration must be in place before the first probe can fire. */
	if (bpf_map_update_elem(bpf_map__fd(p->skel->maps.go_configs), &file->cookie,
				&plan.config, BPF_ANY)) {
		err = -errno;
		snprintf(file->status, sizeof(file->status), "skipped: %s", strerror(-err));
		return err;
	}
	for (size_t i = 0; i < plan.n_sites; i++) {
		err = attach_site(p, file, progs[plan.sites[i].kind], plan.sites[i].file_offset,
				  false);
		if (err) {
			log_warn("cannot attach a Go probe at %#lx in %s: %s",
				 (unsigned long)plan.sites[i].file_offset, file->path,
				 strerror(-err));
			continue;
		}
		attached++;
	}
	snprintf(file->status, sizeof(file->status),
		 "hooked crypto/tls Read/Write%s: %d probes (%s ABI, offsets from %s)",
		 plan.sites[plan.n_sites - 1].kind == GO_SITE_KEYLOG ? " and writeKeyLog" : "",
		 attached, plan.config.register_abi ? "register" : "stack", plan.offsets_source);
	return attached ? attached : err;
}

/* Returns the file offset @queries found for @symbol, or 0. */
static uint64_t found_offset(const struct elf_symbol_query *queries, size_t n, const char *symbol)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(queries[i].name, symbol))
			return queries[i].file_offset;
	return 0;
}

int probes_attach_file(struct probes *p, struct target_file *file)
{
	struct elf_symbol_query queries[G_N_ELEMENTS(probe_specs)];
	enum spec_family family = file_family(file);
	size_t n = 0, i;
	int found, attached = 0, err = 0;
	bool internals = false;
	GString *hooked = g_string_new(NULL);

	if (file->kind == TARGET_GO_BINARY) {
		attached = attach_go(p, file);
		err = attached < 0 ? attached : 0;
		attached = attached < 0 ? 0 : attached;
		goto out;
	}
	for (i = 0; i < G_N_ELEMENTS(probe_specs); i++)
		if (probe_specs[i].family == family)
			queries[n++] = (struct elf_symbol_query){ .name = probe_specs[i].symbol };
	found = elf_find_functions(file->path, queries, n);
	if (found <= 0) {
		err = found < 0 ? found : -ENOENT;
		snprintf(file->status, sizeof(file->status), "skipped: %s",
			 found == -ENOEXEC ? "not a valid ELF file" :
			 found < 0	   ? strerror(-found) :
					     "none of the probed functions is defined");
		goto out;
	}
	if (file->library == TLSDUMP_LIB_OPENSSL) {
		internals = attach_openssl_internals(p, file, hooked);
		attached += internals ? 2 : 0;
	}
	for (i = 0; i < G_N_ELEMENTS(probe_specs); i++) {
		const struct probe_spec *spec = &probe_specs[i];
		uint64_t offset;

		if (spec->family != family)
			continue;
		offset = found_offset(queries, n, spec->symbol);
		if (!offset || (internals && spec->wrapper) ||
		    (spec->unless && found_offset(queries, n, spec->unless)))
			continue;
		err = attach_site(p, file, spec_program(p, spec), offset, spec->probe_return);
		if (err) {
			log_warn("cannot attach %s in %s: %s", spec->symbol, file->path,
				 strerror(-err));
			continue;
		}
		g_string_append_printf(hooked, "%s%s", attached ? "," : "", spec->symbol);
		attached++;
	}
	if (attached)
		snprintf(file->status, sizeof(file->status), "hooked %.140s", hooked->str);
	else
		snprintf(file->status, sizeof(file->status), "skipped: attach failed: %s",
			 strerror(-err));
out:
	file->probes_attached = attached;
	file->attach_error = attached ? 0 : err;
	log_info("target %u %s: %s", file->cookie, file->path, file->status);
	g_string_free(hooked, TRUE);
	return attached ? attached : err;
}

void probes_quiesce(struct probes *p)
{
	p->skel->bss->capture_stopping = true;
}

#define DETACH_THREADS 16

struct detach_work {
	GPtrArray *links;
	gint next; /* index of the next link to destroy */
};

static gpointer detach_worker(gpointer data)
{
	struct detach_work *work = data;
	gint i;

	while ((i = g_atomic_int_add(&work->next, 1)) < (gint)work->links->len)
		bpf_link__destroy(g_ptr_array_index(work->links, i));
	return NULL;
}

/*
 * Detaches every probe. Slow (the kernel waits for an RCU grace period per
 * probe), so done in parallel.
 */
static void probes_detach(struct probes *p)
{
	struct detach_work work = { .links = p->links, .next = 0 };
	GThread *threads[DETACH_THREADS];
	guint n = MIN(DETACH_THREADS, p->links->len);

	/* Each detach waits out a grace period; in parallel they share them. */
	for (guint t = 0; t < n; t++)
		threads[t] = g_thread_new("detach", detach_worker, &work);
	for (guint t = 0; t < n; t++)
		g_thread_join(threads[t]);
	g_ptr_array_set_size(p->links, 0);
}

int probes_ring_fd(struct probes *p, bool ctl)
{
	return bpf_map__fd(ctl ? p->skel->maps.ctl_events : p->skel->maps.events);
}

/* Returns the oldest entry_ns of the write calls in @map_fd (keys of @key_size bytes), or 0. */
static uint64_t oldest_write_in(int map_fd, size_t key_size)
{
	uint8_t key[32], next[32];
	struct active_call call;
	uint64_t oldest = 0;
	void *prev = NULL;

	while (!bpf_map_get_next_key(map_fd, prev, next)) {
		memcpy(key, next, key_size);
		prev = key;
		if (bpf_map_lookup_elem(map_fd, key, &call) || !call.entry_ns ||
		    call.kind == TLS_CALL_READ || call.kind == TLS_CALL_READ_EX)
			continue;
		if (!oldest || call.entry_ns < oldest)
			oldest = call.entry_ns;
	}
	return oldest;
}

uint64_t probes_oldest_write_ns(struct probes *p)
{
	uint64_t a = oldest_write_in(bpf_map__fd(p->skel->maps.active_calls), sizeof(uint64_t));
	uint64_t b = oldest_write_in(bpf_map__fd(p->skel->maps.go_calls), 16);

	return !a ? b : !b ? a : MIN(a, b);
}

int probes_select_cgroup(struct probes *p, uint64_t cgroup_id)
{
	uint8_t one = 1;

	return bpf_map_update_elem(bpf_map__fd(p->skel->maps.target_cgroups), &cgroup_id, &one,
				   BPF_ANY) ? -errno : 0;
}

void probes_read_stats(struct probes *p, uint64_t out[STAT_MAX])
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(p->skel->maps.stats);
	uint64_t *values;

	memset(out, 0, sizeof(uint64_t) * STAT_MAX);
	if (ncpu <= 0)
		return;
	values = g_new0(uint64_t, ncpu);
	for (uint32_t key = 0; key < STAT_MAX; key++) {
		if (bpf_map_lookup_elem(fd, &key, values))
			continue;
		for (int cpu = 0; cpu < ncpu; cpu++)
			out[key] += values[cpu];
	}
	g_free(values);
}

void probes_destroy(struct probes *p)
{
	if (!p)
		return;
	if (p->links) {
		probes_detach(p);
		g_ptr_array_free(p->links, TRUE);
	}
	tlsdump_bpf__destroy(p->skel);
	g_free(p);
}
