/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "capture.h"

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <sys/epoll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "pcapng.h"
#include "probes.h"
#include "procinfo.h"
#include "record.h"
#include "held_frames.h"
#include "frame_comment.h"
#include "k8s_capture.h"
#include "target_report.h"
#include "targets.h"
#include "tlsdump.h"
#include "wire.h"

#define POLL_TIMEOUT_MS 100
/*
 * Ring bytes taken per drain before the merge queue and the output get
 * their turn. libbpf drains until the ring is empty, which producers
 * faster than the output never let happen: the queue then grew without
 * bound and nothing was written.
 */
#define DRAIN_BUDGET_BYTES (16u << 20)
/* on_data_event()'s way to end a drain early (any negative value stops libbpf). */
#define DRAIN_PAUSED (-EAGAIN)
/* Keep an exited process's metadata this long: its last frames may still be queued. */
#define PROCINFO_GRACE_NS (10ULL * 1000000000ULL)
/* Longest a probe handler runs after the capture is told to stop (a 16 MiB copy). */
#define QUIESCE_WAIT_US 20000
/*
 * How long frames without a tuple wait for their socket (held_frames.h),
 * from their timestamp: expired before the wire is serviced, so with the
 * 100 ms poll they still reach the merge queue inside its 300 ms delay.
 */
#define HELD_FRAMES_MAX_AGE_NS (150ULL * 1000000ULL)

/* What user space tracks per connection: expected offsets and the resolved role. */
struct conn_track {
	uint64_t next_offset[2];
	uint8_t role;
};

struct capture {
	const struct tlsdump_options *opts;
	enum record_label label;
	FILE *out;
	struct pcapng_writer *writer;
	int plaintext_if;
	struct probes *probes;
	struct target_registry *targets;
	struct procinfo_cache *procs;
	struct wire *wire;
	bool released_elsewhere; /* a child detaches the probes and closes the packet sources */
	uint64_t oldest_write_ns;   /* last scan of the writes in flight (monotonic), 0: none */
	uint64_t hold_scanned_ns;   /* when that scan ran */
	GHashTable *conns; /* conn_id -> struct conn_track * */
	struct held_frames *held; /* frames waiting for their connection's socket */
	struct k8s_capture *k8s;  /* pod names and selection; NULL until the probes load */
	GString *comment;	  /* the frame comment being built (Kubernetes) */
	struct frame_comments *comments; /* process groups of frame comments */
	uint64_t mono_to_real_ns;
	uint64_t drain_ns;	  /* CLOCK_MONOTONIC when the current ring drain began */
	size_t drain_left;	  /* ring bytes the current drain may still take */
	uint64_t start_real_ns;
	uint64_t frames;
	uint64_t bytes;
	uint64_t gap_bytes;
	int write_error;
};

static volatile sig_atomic_t stop_requested;
static char output_buffer[1 << 20];

static void request_stop(int sig)
{
	stop_requested = 1;
}

static uint64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void install_signal_handlers(void)
{
	struct sigaction sa = { .sa_handler = request_stop };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* A closed fifo or pipe must be an EPIPE we can handle, not a silent death. */
	signal(SIGPIPE, SIG_IGN);
}

static struct conn_track *conn_track_get(struct capture *cap, uint64_t conn_id)
{
	struct conn_track *ct = g_hash_table_lookup(cap->conns, GSIZE_TO_POINTER(conn_id));

	if (!ct) {
		ct = g_new0(struct conn_track, 1);
		g_hash_table_insert(cap->conns, GSIZE_TO_POINTER(conn_id), ct);
	}
	return ct;
}

/* Tells whether @port is in the kernel's range for automatically bound ports. */
static bool ephemeral_port(uint16_t port)
{
	static unsigned int low, high;

	if (!high) {
		FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");

		if (!f || fscanf(f, "%u %u", &low, &high) != 2) {
			low = 32768; /* the kernel's default */
			high = 60999;
		}
		if (f)
			fclose(f);
	}
	return port >= low && port <= high;
}

/*
 * The kernel knows the role only for connections it saw being set up. For
 * older ones, a local port that has a listener means we are the server.
 */
static uint8_t resolve_role(struct capture *cap, const struct tls_data_event *e,
			    struct conn_track *ct)
{
	int listening;

	if (e->role)
		ct->role = e->role;
	if (ct->role || !e->family)
		return ct->role;
	listening = proc_tcp_port_listening(e->pid, e->local_port);
	if (listening >= 0) {
		ct->role = listening ? TLSDUMP_ROLE_SERVER : TLSDUMP_ROLE_CLIENT;
		return ct->role;
	}
	/* The process is gone: the side with the ephemeral port is the client. */
	if (ephemeral_port(e->local_port) && !ephemeral_port(e->remote_port))
		ct->role = TLSDUMP_ROLE_CLIENT;
	else if (ephemeral_port(e->remote_port) && !ephemeral_port(e->local_port))
		ct->role = TLSDUMP_ROLE_SERVER;
	/* Most likely a host process: look for a listener in our namespace. */
	else if (proc_tcp_port_listening(getpid(), e->local_port) > 0)
		ct->role = TLSDUMP_ROLE_SERVER;
	else if (proc_tcp_port_listening(getpid(), e->remote_port) > 0)
		ct->role = TLSDUMP_ROLE_CLIENT;
	return ct->role;
}

/* Fills the record's tuple, turning IPv4-mapped IPv6 addresses back into IPv4. */
static void set_tuple(struct tlsdump_record *rec, const struct tls_data_event *e)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	rec->family = e->family;
	rec->local_port = e->local_port;
	rec->remote_port = e->remote_port;
	if (e->family == AF_INET6 && !memcmp(e->local_addr, v4mapped, 12) &&
	    !memcmp(e->remote_addr, v4mapped, 12)) {
		rec->family = AF_INET;
		memcpy(rec->local_addr, e->local_addr + 12, 4);
		memcpy(rec->remote_addr, e->remote_addr + 12, 4);
		return;
	}
	memcpy(rec->local_addr, e->local_addr, 16);
	memcpy(rec->remote_addr, e->remote_addr, 16);
}

static void endpoints_of(const struct tlsdump_record *rec, struct tcp_endpoint *local,
			 struct tcp_endpoint *remote)
{
	memset(local, 0, sizeof(*local));
	memset(remote, 0, sizeof(*remote));
	local->family = remote->family = (uint8_t)rec->family;
	memcpy(local->addr, rec->local_addr, sizeof(local->addr));
	memcpy(remote->addr, rec->remote_addr, sizeof(remote->addr));
	local->port = rec->local_port;
	remote->port = rec->remote_port;
}

/*
 * Returns the comment of a frame of @e (toward @remote): the process group,
 * then on Kubernetes its pod, container and peer (WIRE_COMMENT_SEPARATOR
 * between groups). Valid until the next frame.
 */
static const char *frame_comment(struct capture *cap, const struct tls_data_event *e,
				 const struct tcp_endpoint *remote)
{
	const struct procinfo *info = procinfo_get(cap->procs, e->pid);
	const char *process = frame_comments_process(cap->comments, info, e->tid, e->comm,
						     sizeof(e->comm));

	if (!cap->k8s)
		return process;
	g_string_assign(cap->comment, process);
	k8s_capture_frame_comment(cap->k8s, e->cgroup_id, (pid_t)e->pid, remote,
				  e->ts_ns + cap->mono_to_real_ns, cap->comment);
	return cap->comment->str;
}

/* Writes the frame of one plaintext chunk (held_emit_fn). */
static void write_data_event(const struct tls_data_event *e, size_t size, void *ctx)
{
	struct capture *cap = ctx;
	struct tlsdump_record rec = { 0 };
	struct target_file *file;
	struct conn_track *ct;
	struct tcp_endpoint local, remote;
	struct merge_item *item;
	uint8_t dir = e->direction & 1;
	size_t encoded_size;
	long len;

	ct = conn_track_get(cap, e->conn_id);
	rec.direction = dir;
	rec.role = resolve_role(cap, e, ct);
	file = targets_get(cap->targets, e->lib_cookie);
	rec.library = file ? file->library : TLSDUMP_LIB_UNKNOWN;
	if (file)
		g_strlcpy(rec.libname, file->libname, sizeof(rec.libname));
	rec.pid = e->pid;
	rec.tid = e->tid;
	rec.conn_id = e->conn_id;
	rec.stream_offset = e->stream_offset;
	rec.call_len = e->call_len;
	memcpy(rec.comm, e->comm, sizeof(rec.comm));
	set_tuple(&rec, e);
	if (e->stream_offset > ct->next_offset[dir]) {
		rec.gap = e->stream_offset - ct->next_offset[dir];
		rec.flags |= TLSDUMP_FLAG_GAP;
		cap->gap_bytes += rec.gap;
	}
	ct->next_offset[dir] = e->stream_offset + e->len;
	if (e->flags & TLS_EVENT_CALL_START)
		rec.flags |= TLSDUMP_FLAG_CALL_START;
	if (e->flags & TLS_EVENT_CALL_END)
		rec.flags |= TLSDUMP_FLAG_CALL_END;
	if (e->flags & TLS_EVENT_CAPPED)
		rec.flags |= TLSDUMP_FLAG_CAPPED;
	rec.payload = e->data;
	rec.payload_len = e->len;

	endpoints_of(&rec, &local, &remote);
	/* Encoded straight into the queued block: the payload is copied once here. */
	encoded_size = record_encoded_size(&rec, cap->label);
	item = merge_item_new(e->ts_ns + cap->mono_to_real_ns, cap->plaintext_if,
			      dir == TLSDUMP_DIR_READ ? PCAPNG_DIR_INBOUND : PCAPNG_DIR_OUTBOUND,
			      NULL, (uint32_t)encoded_size, frame_comment(cap, e, &remote));
	len = record_encode(&rec, cap->label, item->data, encoded_size);
	if (len < 0) {
		log_warn("cannot encode a frame of %u bytes: %s", e->len, strerror((int)-len));
		merge_item_free(item);
		return;
	}
	item->len = (uint32_t)len;
	wire_add_plaintext(cap->wire, item, &local, &remote);
	cap->frames++;
	cap->bytes += e->len;
}

static int on_data_event(void *ctx, void *data, size_t size)
{
	struct capture *cap = ctx;
	const struct tls_data_event *e = data;

	if (size < sizeof(*e) || e->len > size - sizeof(*e))
		return 0; /* cannot happen with our own probes; never trust it blindly */
	held_frames_offer(cap->held, e, size, cap->drain_ns, write_data_event, cap);
	if (size >= cap->drain_left) {
		cap->drain_left = 0;
		return DRAIN_PAUSED; /* this event is consumed; the rest waits */
	}
	cap->drain_left -= size;
	return 0;
}

/*
 * Takes up to DRAIN_BUDGET_BYTES of plaintext (and all control events) from
 * the rings. Returns 1 when data was left behind, 0 when the rings are
 * empty, or -errno.
 */
static int drain_rings(struct capture *cap, struct ring_buffer *rb)
{
	int err;

	cap->drain_ns = clock_ns(CLOCK_MONOTONIC);
	cap->drain_left = DRAIN_BUDGET_BYTES;
	err = ring_buffer__consume(rb);
	if (err == DRAIN_PAUSED)
		return 1;
	return err < 0 ? err : 0;
}

static void attach_found_file(struct target_file *file, void *ctx)
{
	struct capture *cap = ctx;

	probes_attach_file(cap->probes, file);
}

/* Turns a secret from Go's writeKeyLog into an NSS key log line for the wire side. */
static void add_keylog_event(struct capture *cap, const struct keylog_event *e)
{
	GString *line = g_string_new(NULL);

	g_string_append_len(line, e->label, MIN(e->label_len, KEYLOG_LABEL_MAX));
	g_string_append_c(line, ' ');
	for (int i = 0; i < KEYLOG_RANDOM_LEN; i++)
		g_string_append_printf(line, "%02x", e->client_random[i]);
	g_string_append_c(line, ' ');
	for (uint32_t i = 0; i < MIN(e->secret_len, KEYLOG_SECRET_MAX); i++)
		g_string_append_printf(line, "%02x", e->secret[i]);
	wire_add_keylog_line(cap->wire, line->str);
	g_string_free(line, TRUE);
}

static int on_ctl_event(void *ctx, void *data, size_t size)
{
	struct capture *cap = ctx;
	const struct ctl_event *e = data;

	if (size < sizeof(*e))
		return 0;
	switch (e->type) {
	case CTL_EVENT_EXEC:
		if (size >= sizeof(struct exec_event)) {
			const struct exec_event *x = data;

			procinfo_exec(cap->procs, x->pid, x->filename, x->args,
				      MIN(x->args_len, EXEC_ARGS_MAX));
			if (cap->k8s)
				k8s_capture_on_exec(cap->k8s, cap->probes, x->pid, x->cgroup_id);
		}
		targets_scan_pid(cap->targets, e->pid, attach_found_file, cap);
		break;
	case CTL_EVENT_LIBS_CHANGED:
		targets_scan_pid(cap->targets, e->pid, attach_found_file, cap);
		break;
	case CTL_EVENT_EXIT:
		procinfo_exited(cap->procs, e->pid, clock_ns(CLOCK_MONOTONIC));
		break;
	case CTL_EVENT_KEYLOG:
		if (size >= sizeof(struct keylog_event))
			add_keylog_event(cap, data);
		break;
	case CTL_EVENT_CONN_BOUND:
		if (size >= sizeof(struct conn_bound_event))
			held_frames_bind(cap->held, data, write_data_event, cap);
		break;
	}
	return 0;
}

/* How long Wireshark has to open its end of the fifo. */
#define FIFO_OPEN_TIMEOUT_MS 30000

/*
 * Opens the extcap fifo for writing without blocking forever: a reader that
 * never comes (Wireshark gone) must not leave tlsdump attached for good.
 * Returns the stream, or NULL with errno set.
 */
static FILE *open_fifo(const char *path)
{
	for (int waited = 0; waited < FIFO_OPEN_TIMEOUT_MS && !stop_requested; waited += 10) {
		int fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);

		if (fd >= 0) {
			/* Blocking writes from here on: back-pressure, not EAGAIN. */
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
			return fdopen(fd, "wb");
		}
		if (errno != ENXIO) /* ENXIO: no reader yet */
			return NULL;
		usleep(10000);
	}
	errno = stop_requested ? EINTR : ETIMEDOUT;
	return NULL;
}

static int open_output(struct capture *cap)
{
	const char *path = cap->opts->output;
	int err;

	if (!strcmp(path, "-")) {
		cap->out = stdout;
	} else {
		cap->out = cap->opts->extcap ? open_fifo(path) : fopen(path, "wb");
		if (!cap->out) {
			err = -errno;

			log_fatal("cannot open %s %s: %s", cap->opts->extcap ? "fifo" : "output file",
				  path, strerror(-err));
			return err;
		}
	}
	/* glibc ignores a size without a buffer: give it one that outlives the stream. */
	setvbuf(cap->out, output_buffer, _IOFBF, sizeof(output_buffer));
	cap->writer = pcapng_open(cap->out, "tlsdump " TLSDUMP_VERSION);
	if (!cap->writer)
		return -errno;
	cap->plaintext_if = pcapng_add_interface(cap->writer, LINKTYPE_WIRESHARK_UPPER_PDU,
						 "tlsdump", "TLS plaintext (eBPF uprobes)", 262144);
	if (cap->plaintext_if < 0)
		return cap->plaintext_if;
	err = wire_start(cap->wire, cap->writer);
	if (err)
		return err;
	/* Let the reader see the headers at once, even before the first frame. */
	return pcapng_flush(cap->writer);
}

static void write_statistics(struct capture *cap, const uint64_t stats[STAT_MAX])
{
	struct pcapng_stats isb = {
		.start_ns = cap->start_real_ns,
		.end_ns = clock_ns(CLOCK_REALTIME),
		.received = cap->frames,
		.dropped = stats[STAT_LOST_EVENTS] + stats[STAT_FAULT_EVENTS],
	};
	char comment[256];

	snprintf(comment, sizeof(comment),
		 "Plaintext frames: %llu (%llu bytes)\nLost in ring buffer: %llu frames "
		 "(%llu bytes)\nUnreadable user buffers: %llu frames (%llu bytes)\n"
		 "Bytes missing before frames (gaps): %llu",
		 (unsigned long long)cap->frames, (unsigned long long)cap->bytes,
		 (unsigned long long)stats[STAT_LOST_EVENTS],
		 (unsigned long long)stats[STAT_LOST_BYTES],
		 (unsigned long long)stats[STAT_FAULT_EVENTS],
		 (unsigned long long)stats[STAT_FAULT_BYTES], (unsigned long long)cap->gap_bytes);
	isb.comment = comment;
	if (!cap->write_error)
		pcapng_write_stats(cap->writer, cap->plaintext_if, &isb);
}

static void report_summary(struct capture *cap, const uint64_t stats[STAT_MAX])
{
	uint64_t lost = stats[STAT_LOST_EVENTS] + stats[STAT_FAULT_EVENTS];
	uint64_t lost_bytes = stats[STAT_LOST_BYTES] + stats[STAT_FAULT_BYTES];
	char line[256];

	snprintf(line, sizeof(line),
		 "%llu frames (%llu bytes) captured, %llu frames (%llu bytes) lost",
		 (unsigned long long)cap->frames, (unsigned long long)cap->bytes,
		 (unsigned long long)lost, (unsigned long long)lost_bytes);
	log_info("%s", line);
	/* Wireshark shows extcap stderr as an error: there, speak only of losses. */
	if (!cap->opts->extcap || lost)
		fprintf(stderr, "tlsdump: %s\n", line);
}

/*
 * Tells whether the reader of a pipe or fifo output went away. Without this a
 * quiet capture would notice only at its next frame.
 */
static bool output_closed(struct capture *cap)
{
	struct pollfd pfd = { .fd = fileno(cap->out), .events = 0 };

	return poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLERR | POLLHUP));
}

/* A write blocked longer than this no longer holds the output back. */
#define MAX_WRITE_HOLD_NS (5ULL * 1000000000ULL)
/* Well below the merge delay (wire.c): see inflight_write_hold(). */
#define HOLD_RESCAN_NS (100ULL * 1000000ULL)

/*
 * Returns the realtime entry of the oldest TLS write still in progress, or 0.
 * Its frames will be stamped with that time, so nothing later may be written
 * before them.
 */
static uint64_t inflight_write_hold(struct capture *cap)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	uint64_t oldest;

	/*
	 * The scan reads every call in flight (Go keeps a Read pending on each
	 * idle connection): at most every HOLD_RESCAN_NS. A write entered since
	 * the last scan is younger than the merge delay, so nothing it must
	 * precede could be written before the next scan sees it.
	 */
	if (now - cap->hold_scanned_ns >= HOLD_RESCAN_NS) {
		cap->oldest_write_ns = probes_oldest_write_ns(cap->probes);
		cap->hold_scanned_ns = now;
	}
	oldest = cap->oldest_write_ns;
	if (!oldest || now - oldest > MAX_WRITE_HOLD_NS)
		return 0;
	return oldest + cap->mono_to_real_ns;
}

/* One epoll set for the ring buffers and the packet sources. Returns the fd or -errno. */
static int make_epoll(struct capture *cap, struct ring_buffer *rb)
{
	int epfd = epoll_create1(EPOLL_CLOEXEC);
	int fds[16], n;

	if (epfd < 0)
		return -errno;
	fds[0] = ring_buffer__epoll_fd(rb);
	n = 1 + wire_poll_fds(cap->wire, fds + 1, 15);
	for (int i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.fd = fds[i] };

		if (fds[i] >= 0 && epoll_ctl(epfd, EPOLL_CTL_ADD, fds[i], &ev)) {
			int err = -errno;

			close(epfd);
			return err;
		}
	}
	return epfd;
}

static int poll_loop(struct capture *cap, struct ring_buffer *rb)
{
	struct epoll_event events[16];
	uint64_t deadline = 0;
	bool more = false;
	int epfd, err = 0;

	epfd = make_epoll(cap, rb);
	if (epfd < 0) {
		log_fatal("cannot set up epoll: %s", strerror(-epfd));
		return epfd;
	}
	if (cap->opts->duration_s > 0)
		deadline = clock_ns(CLOCK_MONOTONIC) + (uint64_t)(cap->opts->duration_s * 1e9);
	while (!stop_requested && !cap->write_error) {
		/* No wait while the last drain left data behind. */
		if (epoll_wait(epfd, events, 16, more ? 0 : POLL_TIMEOUT_MS) < 0 && errno != EINTR) {
			err = -errno;
			log_fatal("waiting for events failed: %s", strerror(-err));
			break;
		}
		/* Probes do not wake us for every event: drain what is there. */
		err = drain_rings(cap, rb);
		if (err < 0 && !cap->write_error) {
			log_fatal("reading the ring buffer failed: %s", strerror(-err));
			break;
		}
		more = err > 0;
		err = 0;
		held_frames_expire(cap->held, clock_ns(CLOCK_MONOTONIC), HELD_FRAMES_MAX_AGE_NS,
				   false, write_data_event, cap);
		if (!cap->write_error)
			cap->write_error = wire_service(cap->wire, inflight_write_hold(cap), false);
		if (!cap->write_error)
			cap->write_error = pcapng_flush(cap->writer);
		if (deadline && clock_ns(CLOCK_MONOTONIC) >= deadline)
			break;
		if (output_closed(cap)) {
			log_info("the reader closed the output: stopping");
			cap->write_error = -EPIPE;
		}
		procinfo_expire(cap->procs, clock_ns(CLOCK_MONOTONIC), PROCINFO_GRACE_NS);
	}
	close(epfd);
	return err;
}

/* Returns 0 when every pid given with -p exists, else -ESRCH after a fatal line. */
static int check_pids(const struct tlsdump_options *opts)
{
	for (size_t i = 0; i < opts->n_pids; i++) {
		if (kill(opts->pids[i], 0) && errno == ESRCH) {
			log_fatal("no process with pid %d", opts->pids[i]);
			return -ESRCH;
		}
	}
	return 0;
}

static int start_probes(struct capture *cap)
{
	int err = check_pids(cap->opts);

	if (err)
		return err;
	err = probes_load(cap->opts, &cap->probes);
	if (err)
		return err;
	/* Packet sources too: a bad interface or filter fails before the output exists. */
	err = wire_open(cap->opts, &cap->wire);
	if (err)
		return err;
	cap->k8s = k8s_capture_new(cap->opts);
	wire_set_packet_comments(cap->wire, k8s_capture_packet_comment, cap->k8s);
	if (k8s_capture_selecting(cap->k8s)) {
		err = k8s_capture_select_running(cap->k8s, cap->probes);
		if (err < 0)
			return err;
		log_info("Kubernetes selection: %d cgroups", err);
	}
	err = probes_attach_kernel(cap->probes);
	if (err)
		return err;
	log_info("tracepoints attached; looking for TLS libraries and programs");
	targets_scan_all(cap->targets, attach_found_file, cap);
	return 0;
}

/*
 * Detaching waits out an RCU grace period per probe: seconds on a busy host
 * with many targets. The probes are already silent (quiesced) and the output
 * complete, so a child does it while this process exits at once: whoever
 * waits for tlsdump (Wireshark, a script) is not kept waiting.
 */
static void detach_in_background(struct capture *cap)
{
	pid_t parent = getpid();
	pid_t child = fork();

	if (child < 0)
		return; /* capture_free() detaches here, slowly */
	if (child == 0) {
		/* Hold no pipe or terminal open for the reader. */
		for (int fd = 0; fd <= 2; fd++)
			close(fd);
		setsid();
		/* Closing first would leave the last references, and the wait, to
		 * the parent's exit: let it go, then release them here. */
		while (getppid() == parent)
			usleep(10000);
		wire_close(cap->wire);
		probes_destroy(cap->probes);
		_exit(0);
	}
	/* Our references close on exit without waiting: the child holds the last ones. */
	cap->released_elsewhere = true;
}

static void close_output(struct capture *cap)
{
	pcapng_close(cap->writer);
	cap->writer = NULL;
	if (cap->out && cap->out != stdout)
		fclose(cap->out);
	else if (cap->out)
		fflush(cap->out);
	cap->out = NULL;
}

static void capture_free(struct capture *cap)
{
	if (!cap->released_elsewhere) {
		wire_close(cap->wire);
		probes_destroy(cap->probes);
	}
	close_output(cap);
	targets_free(cap->targets);
	procinfo_cache_free(cap->procs);
	if (cap->conns)
		g_hash_table_destroy(cap->conns);
	held_frames_free(cap->held);
	k8s_capture_free(cap->k8s);
	g_string_free(cap->comment, TRUE);
	frame_comments_free(cap->comments);
}

static void capture_init(struct capture *cap, const struct tlsdump_options *opts)
{
	memset(cap, 0, sizeof(*cap));
	cap->opts = opts;
	cap->label = opts->label_http ? RECORD_LABEL_HTTP : RECORD_LABEL_TLSDUMP;
	cap->targets = targets_new();
	cap->procs = procinfo_cache_new();
	cap->conns = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
	cap->held = held_frames_new();
	cap->comment = g_string_new(NULL);
	cap->comments = frame_comments_new();
	cap->mono_to_real_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
	cap->start_real_ns = clock_ns(CLOCK_REALTIME);
}

int capture_run(const struct tlsdump_options *opts)
{
	struct ring_buffer *rb = NULL;
	uint64_t stats[STAT_MAX] = { 0 };
	struct capture cap;
	int err;

	capture_init(&cap, opts);
	install_signal_handlers();
	/* Probes first: a capture that cannot work should fail before the fifo is opened. */
	err = start_probes(&cap);
	if (err)
		goto cleanup;
	err = open_output(&cap);
	if (err) {
		if (err == -EPIPE)
			err = 0; /* the reader left before we started: a normal stop */
		goto cleanup;
	}
	rb = ring_buffer__new(probes_ring_fd(cap.probes, true), on_ctl_event, &cap, NULL);
	if (!rb || ring_buffer__add(rb, probes_ring_fd(cap.probes, false), on_data_event, &cap)) {
		err = -errno;
		log_fatal("cannot set up the ring buffer reader: %s", strerror(-err));
		goto cleanup;
	}
	log_info("capturing (%u target files)", targets_count(cap.targets));
	err = poll_loop(&cap, rb);

	/* Silence the probes, let handlers in flight finish, take what they left. */
	probes_quiesce(cap.probes);
	usleep(QUIESCE_WAIT_US);
	while (!cap.write_error && drain_rings(&cap, rb) > 0)
		;
	if (!cap.write_error)
		held_frames_expire(cap.held, 0, 0, true, write_data_event, &cap);
	if (!cap.write_error)
		cap.write_error = wire_service(cap.wire, 0, true);
	probes_read_stats(cap.probes, stats);
	write_statistics(&cap, stats);
	if (!cap.write_error)
		wire_write_statistics(cap.wire, cap.start_real_ns, clock_ns(CLOCK_REALTIME));
	if (!cap.write_error)
		cap.write_error = pcapng_flush(cap.writer);
	report_summary(&cap, stats);
	if (cap.write_error && cap.write_error != -EPIPE && !err) {
		log_fatal("cannot write %s: %s", opts->output, strerror(-cap.write_error));
		err = cap.write_error;
	}
	/* The reader gets its end of file now; detaching takes a while longer. */
	close_output(&cap);
	detach_in_background(&cap);
cleanup:
	ring_buffer__free(rb);
	capture_free(&cap);
	return err;
}

/* Tells whether /proc/@pid/comm is @comm. */
static bool comm_is(pid_t pid, const char *comm)
{
	char buf[32];

	return !proc_comm(pid, buf, sizeof(buf)) && !strcmp(buf, comm);
}

/* Returns the processes -p and -c select (the union, as the capture does), or NULL for all. */
static GArray *selected_pids(const struct tlsdump_options *opts)
{
	GArray *pids;
	DIR *proc;
	struct dirent *de;

	if (!opts->n_pids && !opts->comm[0])
		return NULL;
	pids = g_array_new(FALSE, FALSE, sizeof(pid_t));
	for (size_t i = 0; i < opts->n_pids; i++) {
		pid_t pid = (pid_t)opts->pids[i];

		g_array_append_val(pids, pid);
	}
	if (!opts->comm[0] || !(proc = opendir("/proc")))
		return pids;
	while ((de = readdir(proc))) {
		pid_t pid = (pid_t)atoi(de->d_name);

		if (pid > 0 && comm_is(pid, opts->comm))
			g_array_append_val(pids, pid);
	}
	closedir(proc);
	return pids;
}

int capture_list_targets(const struct tlsdump_options *opts)
{
	struct capture cap;
	GArray *pids;
	int err;

	capture_init(&cap, opts);
	err = check_pids(opts);
	if (!err)
		err = probes_load(opts, &cap.probes);
	if (err)
		goto cleanup;
	pids = selected_pids(opts);
	target_report_print(stdout, cap.targets, pids, attach_found_file, &cap);
	if (pids)
		g_array_free(pids, TRUE);
cleanup:
	capture_free(&cap);
	return err;
}
