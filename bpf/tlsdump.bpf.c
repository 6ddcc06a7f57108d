// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tlsdump probes: plaintext of TLS library calls, tagged with the socket the
 * call used.
 *
 * Connection identity without kprobes: while a thread is inside a TLS call,
 * the syscall tracepoints it hits (read, write, recvfrom, ...) name the fd;
 * the fd leads to the struct sock through current->files, read with CO-RE.
 * The TLS object -> connection mapping is kept so calls served from the
 * library's own buffer (no syscall) are attributed correctly, and dropped on
 * close(fd) and SSL_free(), never on a timer.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "tlsdump.h"

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6
#define S_IFMT 00170000
#define S_IFSOCK 0140000
#define TCP_SYN_SENT 2
#define TCP_SYN_RECV 3
#define TCP_CLOSE 7

char LICENSE[] SEC("license") = "GPL";

/* Tunables, set by user space before load. */
const volatile bool filter_pids = false;
const volatile bool filter_comm = false;
const volatile bool filter_cgroups = false; /* --namespace/--pod/--container */
const volatile char target_comm[TLSDUMP_TASK_COMM_LEN] = {};
const volatile __u64 max_bytes_per_call = 0; /* 0: no cap */
const volatile __u64 wakeup_bytes = 1 << 20;
/* tlsdump itself: its own TLS (the Kubernetes API client) is never captured. */
const volatile __u32 self_tgid = 0;

__u64 next_conn_id = 0;
/* Set by user space when the capture ends: probes go quiet before the final drain. */
volatile bool capture_stopping = false;


struct conn_key {
	__u32 tgid;
	__u32 pad;
	__u64 ssl;
};

struct conn_state {
	__u64 conn_id;
	__u64 offset[2]; /* next stream offset per direction */
	__u64 write_retry_ns; /* entry of the first write attempt that moved nothing (WANT_WRITE) */
	__u64 closed_ns;      /* close() of its socket; calls entered before still belong here */
	__u64 sk;
	__u64 file;	/* struct file * of fd: the same pointer later means the same socket */
	__s32 fd;
	__u8 family;
	__u8 role;
	__u16 local_port;
	__u16 remote_port;
	__u8 local_addr[16];
	__u8 remote_addr[16];
};

/* active_call.fd before the call's first socket syscall, and after one on a non-TCP socket. */
#define FD_NO_SOCKET -1
#define FD_OTHER_SOCKET -2

struct fd_key {
	__u32 tgid;
	__s32 fd;
};

/*
 * One slot per thread and direction, kept between calls (idle: depth and
 * entry_ns 0) and deleted when the thread exits. LRU: threads that never
 * exit cleanly cannot fill it; the slot of a call in progress was just used.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, __u64);
	__type(value, struct active_call);
} active_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct conn_key);
	__type(value, struct conn_state);
} ssl_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct fd_key);
	__type(value, __u64);
} fd_ssl SEC(".maps");

/* Role of a TCP socket from its state transitions: SYN_SENT client, SYN_RECV server. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u8);
} sock_roles SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} target_pids SEC(".maps");

/* cgroup v2 ids of the selected Kubernetes workloads, kept up to date by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, __u8);
} target_cgroups SEC(".maps");

/*
 * A TLS write that moved plaintext without any socket syscall: the library
 * wrote its records into a memory BIO (node's), and the application sends
 * them from the same thread right after. Keyed by thread.
 */
struct bio_flush {
	__u64 ssl;
	__u64 min_bytes; /* the records are at least the plaintext plus a header */
	__u64 ts_ns;
};

/* How soon after the TLS write its records must be sent to be taken as its flush. */
#define BIO_FLUSH_WINDOW_NS (20 * 1000 * 1000)

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct bio_flush);
} bio_flushes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 << 20); /* resized by user space before load */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} ctl_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} stats SEC(".maps");

/* Header of the chunks being emitted, kept off the 512-byte stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tls_data_event);
} event_template SEC(".maps");

static __always_inline void stat_add(__u32 idx, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += n;
}

static __always_inline bool process_selected(__u32 tgid)
{
	char comm[TLSDUMP_TASK_COMM_LEN];
	bool comm_match = true;

	if (tgid == self_tgid)
		return false;
	if (filter_cgroups) {
		__u64 cgroup_id = bpf_get_current_cgroup_id();

		/* Kubernetes selections narrow the process selection, whatever -p/-c say. */
		if (!bpf_map_lookup_elem(&target_cgroups, &cgroup_id))
			return false;
	}
	if (!filter_pids && !filter_comm)
		return true;
	if (filter_pids && bpf_map_lookup_elem(&target_pids, &tgid))
		return true;
	if (!filter_comm)
		return false;
	bpf_get_current_comm(comm, sizeof(comm));
	for (int i = 0; i < TLSDUMP_TASK_COMM_LEN; i++) {
		if (comm[i] != target_comm[i]) {
			comm_match = false;
			break;
		}
		if (!comm[i])
			break;
	}
	return comm_match;
}

static __always_inline void emit_ctl(__u32 type, __u32 pid)
{
	struct ctl_event *e = bpf_ringbuf_reserve(&ctl_events, sizeof(*e), 0);

	if (!e) {
		stat_add(STAT_CTL_LOST, 1);
		return;
	}
	e->type = type;
	e->pid = pid;
	bpf_ringbuf_submit(e, 0);
}

/* Returns the open file behind @fd of the current process, or NULL. */
static __always_inline struct file *file_of_fd(int fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds;
	struct file *file;

	if (!fdt || fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]))
		return NULL;
	return file;
}

/*
 * Returns the struct sock behind @file if it is a TCP socket, else NULL;
 * *@socket tells whether @file is a socket at all.
 */
static __always_inline struct sock *sock_of_file(struct file *file, bool *socket_fd)
{
	struct socket *socket;
	struct sock *sk;

	*socket_fd = false;
	if (!file)
		return NULL;
	if ((BPF_CORE_READ(file, f_inode, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	*socket_fd = true;
	socket = BPF_CORE_READ(file, private_data);
	sk = BPF_CORE_READ(socket, sk);
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != IPPROTO_TCP)
		return NULL;
	return sk;
}

/* Returns the struct sock behind @fd of the current process if it is a TCP socket, else NULL. */
static __always_inline struct sock *tcp_sock_of_fd(int fd)
{
	bool socket_fd;

	return sock_of_file(file_of_fd(fd), &socket_fd);
}

static __always_inline void read_tuple(struct sock *sk, struct conn_state *cs)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	cs->local_port = BPF_CORE_READ(sk, __sk_common.skc_num);
	cs->remote_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	if (family == AF_INET) {
		cs->family = AF_INET;
		bpf_core_read(cs->local_addr, 4, &sk->__sk_common.skc_rcv_saddr);
		bpf_core_read(cs->remote_addr, 4, &sk->__sk_common.skc_daddr);
	} else if (family == AF_INET6) {
		cs->family = AF_INET6;
		bpf_core_read(cs->local_addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(cs->remote_addr, 16, &sk->__sk_common.skc_v6_daddr);
	}
	__u64 key = (__u64)sk;
	__u8 *role = bpf_map_lookup_elem(&sock_roles, &key);
	cs->role = role ? *role : 0;
}

/*
 * Tells user space the socket of a connection whose earlier frames went out
 * without one (a memory BIO's; see struct bio_flush).
 */
static __always_inline void announce_bound(__u32 tgid, const struct conn_state *cs)
{
	struct conn_bound_event *e = bpf_ringbuf_reserve(&ctl_events, sizeof(*e), 0);

	if (!e) {
		stat_add(STAT_CTL_LOST, 1);
		return;
	}
	e->type = CTL_EVENT_CONN_BOUND;
	e->pid = tgid;
	e->conn_id = cs->conn_id;
	e->family = cs->family;
	e->role = cs->role;
	e->local_port = cs->local_port;
	e->remote_port = cs->remote_port;
	e->pad = 0;
	__builtin_memcpy(e->local_addr, cs->local_addr, 16);
	__builtin_memcpy(e->remote_addr, cs->remote_addr, 16);
	bpf_ringbuf_submit(e, 0);
}

/* Remembers that @fd of @tgid belongs to TLS object @ssl: its close() ends the connection. */
static __always_inline void remember_fd(__u32 tgid, int fd, __u64 ssl)
{
	struct fd_key fk = { .tgid = tgid, .fd = fd };

	bpf_map_update_elem(&fd_ssl, &fk, &ssl, BPF_ANY);
}

/*
 * A connection seen so far without a socket learns it (@sk, @fd): its id
 * and offsets stay, and user space fills in the frames it already has.
 */
static __always_inline void bind_socket(__u32 tgid, __u64 ssl, struct conn_state *cs,
					struct sock *sk, int fd, __u64 file)
{
	cs->sk = (__u64)sk;
	cs->fd = fd;
	cs->file = file;
	read_tuple(sk, cs);
	announce_bound(tgid, cs);
	remember_fd(tgid, fd, ssl);
}

/*
 * Returns the connection of (@tgid, @call->ssl), creating or refreshing it
 * from the socket the call used. NULL only if the map update failed.
 */
static __always_inline struct conn_state *resolve_conn(__u32 tgid, struct active_call *call)
{
	struct conn_key key = { .tgid = tgid, .ssl = call->ssl };
	struct conn_state *cs = bpf_map_lookup_elem(&ssl_conns, &key);
	struct conn_state fresh = {};

	/* A call entered after the socket was closed starts a new connection. */
	if (cs && cs->closed_ns && call->entry_ns > cs->closed_ns)
		cs = NULL;
	if (cs && (!call->sk || cs->sk == call->sk)) {
		/* The same socket through another descriptor (a dup): follow it. */
		if (call->sk && call->fd >= 0 && (cs->fd != call->fd || cs->file != call->file)) {
			cs->fd = call->fd;
			cs->file = call->file;
		}
		return cs;
	}
	/* First call with a syscall on a connection seen before. */
	if (cs && !cs->sk) {
		bind_socket(tgid, call->ssl, cs, (struct sock *)call->sk, call->fd, call->file);
		return cs;
	}
	/* New connection, or the TLS object now runs on another socket. */
	fresh.conn_id = __sync_fetch_and_add(&next_conn_id, 1) + 1;
	fresh.fd = call->fd;
	fresh.sk = call->sk;
	fresh.file = call->file;
	if (call->sk)
		read_tuple((struct sock *)call->sk, &fresh);
	bpf_map_update_elem(&ssl_conns, &key, &fresh, BPF_ANY);
	if (call->fd >= 0)
		remember_fd(tgid, call->fd, call->ssl);
	return bpf_map_lookup_elem(&ssl_conns, &key);
}

struct emit_ctx {
	__u64 buf;	 /* user address of the plaintext */
	__u64 emit_len;	 /* bytes to emit (call length, or the cap) */
	bool capped;
};

/*
 * Wakes the consumer when the unread data crosses a multiple of
 * wakeup_bytes with this record (@rec_bytes, header included), never for
 * each record: a wake-up is an interrupt (under a hypervisor, an exit), and
 * a consumer slow to wake would otherwise be sent one per record. Records
 * reserved at once on two CPUs may both miss a crossing; the next multiple
 * or the consumer's poll timeout catches up.
 */
static __always_inline __u64 wakeup_flags(__u64 rec_bytes)
{
	__u64 avail = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);

	if (avail < rec_bytes || !wakeup_bytes)
		return BPF_RB_NO_WAKEUP;
	return avail / wakeup_bytes != (avail - rec_bytes) / wakeup_bytes ? BPF_RB_FORCE_WAKEUP
									  : BPF_RB_NO_WAKEUP;
}

/*
 * Emits bytes [@done, @done + @len) of the call in a ring record sized for
 * @cap payload bytes. A constant @cap per call site lets the verifier bound
 * the copy and keeps small calls from taking a full chunk of ring space.
 */
static __always_inline void emit_sized(struct emit_ctx *ec, __u64 done, __u32 len, const __u32 cap)
{
	__u32 zero = 0;
	struct tls_data_event *tmpl = bpf_map_lookup_elem(&event_template, &zero);
	struct tls_data_event *e;
	__u64 copy_len;

	if (!tmpl)
		return;
	e = bpf_ringbuf_reserve(&events, sizeof(*e) + cap, 0);
	if (!e) {
		stat_add(STAT_LOST_EVENTS, 1);
		stat_add(STAT_LOST_BYTES, len);
		return;
	}
	__builtin_memcpy(e, tmpl, sizeof(*e));
	e->stream_offset = tmpl->stream_offset + done;
	e->len = len;
	e->flags = 0;
	if (done == 0)
		e->flags |= TLS_EVENT_CALL_START;
	if (done + len >= ec->emit_len) {
		e->flags |= TLS_EVENT_CALL_END;
		if (ec->capped)
			e->flags |= TLS_EVENT_CAPPED;
	}
	/* The caller already bounded len, but the compiler drops checks it can
	 * prove; the verifier must see this one right before the copy. */
	copy_len = len;
	barrier_var(copy_len);
	if (copy_len > cap || bpf_probe_read_user(e->data, copy_len, (void *)(ec->buf + done))) {
		bpf_ringbuf_discard(e, BPF_RB_NO_WAKEUP);
		stat_add(STAT_FAULT_EVENTS, 1);
		stat_add(STAT_FAULT_BYTES, len);
		return;
	}
	bpf_ringbuf_submit(e, wakeup_flags(sizeof(*e) + cap + BPF_RINGBUF_HDR_SZ));
}

static long emit_chunk(__u32 index, void *data)
{
	struct emit_ctx *ec = data;
	__u64 done = (__u64)index * TLSDUMP_CHUNK_MAX;
	__u64 left;
	__u32 len;

	if (done >= ec->emit_len)
		return 1;
	left = ec->emit_len - done;
	len = left > TLSDUMP_CHUNK_MAX ? TLSDUMP_CHUNK_MAX : (__u32)left;
	if (len <= 128)
		emit_sized(ec, done, len, 128);
	else if (len <= 512)
		emit_sized(ec, done, len, 512);
	else if (len <= 2048)
		emit_sized(ec, done, len, 2048);
	else if (len <= 4096)
		emit_sized(ec, done, len, 4096);
	else if (len <= 8192)
		emit_sized(ec, done, len, 8192);
	else if (len <= 16384) /* a full TLS record's worth: common, and half a 32 KiB slot */
		emit_sized(ec, done, len, 16384);
	else
		emit_sized(ec, done, len, TLSDUMP_CHUNK_MAX);
	return 0;
}

/* Tells whether a call of @kind sends (1) or receives (0). */
static __always_inline __u8 kind_direction(__u32 kind)
{
	return kind == TLS_CALL_READ || kind == TLS_CALL_READ_EX ? 0 : 1;
}

/*
 * Key of a thread's call in flight in direction @dir. A thread can be in a
 * read and a write at once: node answers from callbacks run inside
 * SSL_read, and its SSL_write there is a call of its own. The thread id
 * (below 2^22) leaves bit 31 free for the direction.
 */
static __always_inline __u64 call_key(__u64 id, __u8 dir)
{
	return dir ? id | (1ULL << 31) : id;
}

static __always_inline int enter_call(struct pt_regs *ctx, enum tls_call_kind kind, void *ssl,
				      const void *buf, void *len_ptr)
{
	__u64 id = call_key(bpf_get_current_pid_tgid(), kind_direction(kind));
	__u64 sp = PT_REGS_SP(ctx);
	struct active_call *cur = bpf_map_lookup_elem(&active_calls, &id);
	struct active_call call = {};

	if (capture_stopping)
		return 0;
	if (cur && cur->depth && sp < cur->sp) {
		/* Called from inside a probed call: the outermost call reports. */
		cur->depth++;
		return 0;
	}
	if (!process_selected(id >> 32))
		return 0;
	call.ssl = (__u64)ssl;
	call.buf = (__u64)buf;
	call.len_ptr = (__u64)len_ptr;
	call.sp = sp;
	call.entry_ns = bpf_ktime_get_ns();
	call.kind = kind;
	call.depth = 1;
	call.cookie = bpf_get_attach_cookie(ctx);
	call.fd = FD_NO_SOCKET;
	/* The thread's slot from an earlier call is overwritten in place, which
	 * costs a fraction of a hash update plus a delete per call. */
	if (cur)
		*cur = call;
	else
		bpf_map_update_elem(&active_calls, &id, &call, BPF_ANY);
	return 0;
}

/* Returns the bytes a finished call transferred, or 0 when it failed or moved nothing. */
static __always_inline __u64 call_result(struct pt_regs *ctx, struct active_call *call)
{
	int rc = (int)PT_REGS_RC(ctx);
	__u64 n = 0;

	switch (call->kind) {
	case TLS_CALL_READ:
	case TLS_CALL_WRITE:
	case TLS_CALL_WRITEV:
		return rc > 0 ? (__u64)rc : 0;
	default:
		if (rc != 1 || !call->len_ptr)
			return 0;
		bpf_probe_read_user(&n, sizeof(n), (void *)call->len_ptr);
		return n;
	}
}

/*
 * Emits the @n bytes a finished call (@call) moved, on the connection of
 * (@tgid, call->ssl), as chunks in the ring buffer. @dir: 0 read, 1 write.
 * Also records the connection when @n is 0 (a failed call still named its
 * socket).
 */
static __always_inline int emit_call(struct active_call *call, __u64 n, __u8 dir)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, zero = 0;
	struct tls_data_event *tmpl;
	struct conn_state *cs;
	struct emit_ctx ec = {};

	cs = resolve_conn(tgid, call);
	if (!cs)
		return 0;
	if (!n) {
		/* A non-blocking write that must be retried may already have sent
		 * records: its data belongs to the time of the first attempt. */
		if (dir && !cs->write_retry_ns)
			cs->write_retry_ns = call->entry_ns;
		return 0;
	}
	/* A library call (Go's have no depth) that touched no socket at all. */
	if (dir && !cs->sk && call->depth && call->fd == FD_NO_SOCKET) {
		struct bio_flush flush = { .ssl = call->ssl, .min_bytes = n + 5,
					   .ts_ns = bpf_ktime_get_ns() };

		bpf_map_update_elem(&bio_flushes, &id, &flush, BPF_ANY);
	}
	tmpl = bpf_map_lookup_elem(&event_template, &zero);
	if (!tmpl)
		return 0;

	/* Plaintext exists before a write's records hit the wire and after a
	 * read's arrived: stamp writes at entry and reads at return. */
	tmpl->ts_ns = !dir ? bpf_ktime_get_ns() : cs->write_retry_ns ?: call->entry_ns;
	if (dir)
		cs->write_retry_ns = 0;
	tmpl->conn_id = cs->conn_id;
	tmpl->stream_offset = cs->offset[dir & 1];
	tmpl->call_len = n;
	tmpl->cgroup_id = bpf_get_current_cgroup_id();
	tmpl->pid = tgid;
	tmpl->tid = (__u32)id;
	tmpl->lib_cookie = call->cookie;
	tmpl->direction = dir;
	tmpl->role = cs->role;
	tmpl->family = cs->family;
	tmpl->local_port = cs->local_port;
	tmpl->remote_port = cs->remote_port;
	__builtin_memcpy(tmpl->local_addr, cs->local_addr, 16);
	__builtin_memcpy(tmpl->remote_addr, cs->remote_addr, 16);
	bpf_get_current_comm(tmpl->comm, sizeof(tmpl->comm));
	/* The offset moves by the whole call even if some of it is capped or lost,
	 * so user space sees exactly how many bytes are missing. */
	cs->offset[dir & 1] += n;

	ec.buf = call->buf;
	ec.emit_len = n;
	if (max_bytes_per_call && n > max_bytes_per_call) {
		ec.emit_len = max_bytes_per_call;
		ec.capped = true;
	}
	bpf_loop((ec.emit_len + TLSDUMP_CHUNK_MAX - 1) / TLSDUMP_CHUNK_MAX, emit_chunk, &ec, 0);
	return 0;
}

/* NSPR's struct PRIOVec { char *iov_base; int iov_len; }. */
struct nspr_iovec {
	__u64 base;
	__s32 len;
	__s32 pad;
};

/* Pieces of a gathered write reported; selfserv writes 3. */
#define WRITEV_MAX_PIECES 8

struct writev_ctx {
	struct active_call piece; /* the call, with buf moved to each piece in turn */
	__u64 iovecs;		  /* user address of the PRIOVec array */
	__u64 count;		  /* entries in it */
	__u64 left;		  /* bytes of the call not emitted yet */
};

/* bpf_loop callback: emits piece @index of a gathered write (struct writev_ctx). */
static long emit_writev_piece(__u32 index, void *data)
{
	struct writev_ctx *wc = data;
	struct nspr_iovec iov;
	__u64 len;

	if (index >= wc->count || !wc->left ||
	    bpf_probe_read_user(&iov, sizeof(iov), (void *)(wc->iovecs + index * sizeof(iov))))
		return 1;
	len = iov.len > 0 ? (__u64)iov.len : 0;
	if (len > wc->left)
		len = wc->left;
	wc->piece.buf = iov.base;
	emit_call(&wc->piece, len, 1);
	wc->left -= len;
	return 0;
}

/*
 * Emits the @n bytes a PR_Writev (@call) sent, piece by piece, in iovec
 * order. A loop callback: one copy of emit_call() for the verifier to walk,
 * not one per piece.
 */
static __always_inline int emit_writev(struct active_call *call, __u64 n)
{
	struct writev_ctx wc = { .piece = *call, .iovecs = call->buf, .count = call->len_ptr,
				 .left = n };

	bpf_loop(WRITEV_MAX_PIECES, emit_writev_piece, &wc, 0);
	if (wc.left) {
		/* More pieces than reported (or unreadable): counted, and the
		 * stream offset moves so the next frame shows the gap. */
		struct conn_state *cs = resolve_conn(bpf_get_current_pid_tgid() >> 32, call);

		stat_add(STAT_LOST_BYTES, wc.left);
		if (cs)
			cs->offset[1] += wc.left;
	}
	return 0;
}

/* The return of a probed call in direction @dir (0 read, 1 write). */
static __always_inline int exit_call(struct pt_regs *ctx, __u8 dir)
{
	__u64 id = call_key(bpf_get_current_pid_tgid(), dir);
	struct active_call *cur = bpf_map_lookup_elem(&active_calls, &id);
	struct active_call call;

	if (!cur || !cur->depth)
		return 0;
	if (cur->depth > 1) {
		cur->depth--;
		return 0;
	}
	call = *cur;
	/* The slot stays for the thread's next call (deleted at thread exit). */
	cur->depth = 0;
	cur->entry_ns = 0;
	if (capture_stopping)
		return 0;
	/* Only writes gather (PR_Writev): @dir is a constant, so read exits
	 * carry no writev code for the verifier to walk. */
	if (dir && call.kind == TLS_CALL_WRITEV)
		return emit_writev(&call, call_result(ctx, &call));
	return emit_call(&call, call_result(ctx, &call), dir);
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_enter, void *ssl, void *buf, int num)
{
	return enter_call(ctx, TLS_CALL_READ, ssl, buf, NULL);
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_enter, void *ssl, const void *buf, int num)
{
	return enter_call(ctx, TLS_CALL_WRITE, ssl, buf, NULL);
}

SEC("uprobe")
int BPF_KPROBE(ssl_read_ex_enter, void *ssl, void *buf, size_t num, size_t *readbytes)
{
	return enter_call(ctx, TLS_CALL_READ_EX, ssl, buf, readbytes);
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_ex_enter, void *ssl, const void *buf, size_t num, size_t *written)
{
	return enter_call(ctx, TLS_CALL_WRITE_EX, ssl, buf, written);
}

SEC("uprobe")
int BPF_KPROBE(ssl_write_ex2_enter, void *ssl, const void *buf, size_t num, __u64 flags,
	       size_t *written)
{
	return enter_call(ctx, TLS_CALL_WRITE_EX2, ssl, buf, written);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_read_exit)
{
	return exit_call(ctx, 0);
}

SEC("uretprobe")
int BPF_KRETPROBE(ssl_write_exit)
{
	return exit_call(ctx, 1);
}

/* void SSL_free(SSL *ssl): the TLS object is gone, and so is its connection. */
SEC("uprobe")
int BPF_KPROBE(ssl_free_enter, void *ssl)
{
	struct conn_key key = { .tgid = bpf_get_current_pid_tgid() >> 32, .ssl = (__u64)ssl };

	bpf_map_delete_elem(&ssl_conns, &key);
	return 0;
}

/* NSPR's PRDescType of an I/O layer pushed onto a descriptor, as NSS's SSL layer is. */
#define PR_DESC_LAYERED 4

/*
 * Tells whether the NSPR descriptor @fd is a layer with an identity of its
 * own (SSL's, or an application's layer above it): only those carry
 * plaintext; PR_Read/PR_Write on plain sockets and files do not.
 * struct PRFileDesc { const PRIOMethods *methods; ...; PRDescIdentity
 * identity at +40 }, and PRIOMethods starts with its PRDescType. NSPR has
 * kept this layout since 1998: it is its ABI.
 */
static __always_inline bool nspr_fd_is_layered(const void *fd)
{
	__u64 methods = 0;
	__s32 file_type = 0, identity = 0;

	if (bpf_probe_read_user(&methods, sizeof(methods), fd) || !methods ||
	    bpf_probe_read_user(&file_type, sizeof(file_type), (void *)methods) ||
	    bpf_probe_read_user(&identity, sizeof(identity), (const char *)fd + 40))
		return false;
	return file_type == PR_DESC_LAYERED && identity > 0;
}

/*
 * Counts a probed call we do not report as nested in the thread's current
 * one, so that its return does not end the outer call. Returns true when it
 * was nested.
 */
static __always_inline bool nest_in_current_call(struct pt_regs *ctx, __u8 dir)
{
	__u64 id = call_key(bpf_get_current_pid_tgid(), dir);
	struct active_call *cur = bpf_map_lookup_elem(&active_calls, &id);

	if (!cur || !cur->depth || PT_REGS_SP(ctx) >= cur->sp)
		return false;
	cur->depth++;
	return true;
}

/* PRInt32 PR_Read(PRFileDesc *, void *, PRInt32), and PR_Recv(..., flags, timeout). */
SEC("uprobe")
int BPF_KPROBE(nspr_read_enter, void *fd, void *buf, int amount)
{
	if (!nspr_fd_is_layered(fd))
		return nest_in_current_call(ctx, 0), 0;
	return enter_call(ctx, TLS_CALL_READ, fd, buf, NULL);
}

/* PRInt32 PR_Write(PRFileDesc *, const void *, PRInt32), and PR_Send(..., flags, timeout). */
SEC("uprobe")
int BPF_KPROBE(nspr_write_enter, void *fd, const void *buf, int amount)
{
	if (!nspr_fd_is_layered(fd))
		return nest_in_current_call(ctx, 1), 0;
	return enter_call(ctx, TLS_CALL_WRITE, fd, buf, NULL);
}

/* PRInt32 PR_Writev(PRFileDesc *, const PRIOVec *iov, PRInt32 iov_size, PRIntervalTime). */
SEC("uprobe")
int BPF_KPROBE(nspr_writev_enter, void *fd, const void *iov, int iov_size)
{
	if (!nspr_fd_is_layered(fd))
		return nest_in_current_call(ctx, 1), 0;
	return enter_call(ctx, TLS_CALL_WRITEV, fd, iov, (void *)(long)iov_size);
}

/* void _dl_debug_state(void): the dynamic linker changed the link map (startup, dlopen). */
SEC("uprobe")
int BPF_KPROBE(dl_debug_state_enter)
{
	emit_ctl(CTL_EVENT_LIBS_CHANGED, bpf_get_current_pid_tgid() >> 32);
	return 0;
}

/*
 * The first socket write of a thread after a TLS write into a memory BIO
 * (see struct bio_flush) sends that write's records: it names the
 * connection's socket. Binds it and tells user space, whose frames of the
 * connection so far lack the tuple.
 */
static __always_inline void bind_bio_flush(__u64 id, int fd, __u64 len)
{
	struct bio_flush *flush = bpf_map_lookup_elem(&bio_flushes, &id);
	struct conn_key key = { .tgid = id >> 32 };
	struct conn_state *cs;
	struct file *file;
	struct sock *sk;
	bool socket_fd;

	if (!flush)
		return;
	key.ssl = flush->ssl;
	if (bpf_ktime_get_ns() - flush->ts_ns > BIO_FLUSH_WINDOW_NS ||
	    (len && len < flush->min_bytes)) {
		bpf_map_delete_elem(&bio_flushes, &id);
		return;
	}
	file = file_of_fd(fd);
	sk = sock_of_file(file, &socket_fd);
	/* A pipe or file write (a log line): the flush may still come. */
	if (!sk && !socket_fd)
		return;
	/* The socket of another TLS object: that one's flush, ours may follow. */
	if (sk) {
		struct fd_key fk = { .tgid = key.tgid, .fd = fd };
		__u64 *owner = bpf_map_lookup_elem(&fd_ssl, &fk);

		if (owner && *owner != key.ssl)
			return;
	}
	bpf_map_delete_elem(&bio_flushes, &id);
	/* TLS over another kind of socket (AF_UNIX): it has no tuple to give. */
	if (!sk)
		return;
	cs = bpf_map_lookup_elem(&ssl_conns, &key);
	if (cs && !cs->sk)
		bind_socket(key.tgid, key.ssl, cs, sk, fd, (__u64)file);
}

/*
 * Any socket syscall made inside a TLS call names the call's socket.
 * @write_len: for a write outside TLS calls, the bytes it sends (0:
 * unknown, as for writev), to recognise a memory BIO's flush.
 */
static __always_inline int note_call_fd(struct trace_event_raw_sys_enter *ctx, bool is_write,
					__u64 write_len)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 key = call_key(id, is_write);
	struct active_call *call = bpf_map_lookup_elem(&active_calls, &key);
	struct conn_key ck = { .tgid = id >> 32 };
	int fd = (int)ctx->args[0];
	struct conn_state *cs;
	struct file *file;
	struct sock *sk;
	bool socket_fd;

	if (call && !call->depth)
		call = NULL; /* the thread's idle slot */
	/* A write outside any TLS write may flush an earlier one's records. */
	if (is_write && !call)
		bind_bio_flush(id, fd, write_len);
	/*
	 * Only a call of the syscall's own direction: a write made inside a
	 * read (node's callbacks run inside SSL_read) may go to any connection.
	 * A TLS read reads its socket, a TLS write writes it.
	 */
	if (!call || call->fd >= 0)
		return 0;
	file = file_of_fd(fd);
	if (!file)
		return 0;
	/* The same open file as the connection's last call: its socket is
	 * known, which spares the walk to the sock on nearly every call. */
	ck.ssl = call->ssl;
	cs = bpf_map_lookup_elem(&ssl_conns, &ck);
	if (cs && cs->sk && cs->fd == fd && cs->file == (__u64)file && !cs->closed_ns) {
		call->fd = fd;
		call->sk = cs->sk;
		call->file = cs->file;
		return 0;
	}
	sk = sock_of_file(file, &socket_fd);
	if (!sk) {
		if (socket_fd)
			call->fd = FD_OTHER_SOCKET;
		return 0;
	}
	call->fd = fd;
	call->sk = (__u64)sk;
	call->file = (__u64)file;
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_read")
int sys_enter_read(struct trace_event_raw_sys_enter *ctx) { return note_call_fd(ctx, false, 0); }
SEC("tracepoint/syscalls/sys_enter_write")
int sys_enter_write(struct trace_event_raw_sys_enter *ctx) { return note_call_fd(ctx, true, ctx->args[2]); }
SEC("tracepoint/syscalls/sys_enter_readv")
int sys_enter_readv(struct trace_event_raw_sys_enter *ctx) { return note_call_fd(ctx, false, 0); }
SEC("tracepoint/syscalls/sys_enter_writev")
int sys_enter_writev(struct trace_event_raw_sys_enter *ctx) { return note_call_fd(ctx, true, 0); }
SEC("tracepoint/syscalls/sys_enter_recvfrom")
int sys_enter_recvfrom(struct trace_event_raw_sys_enter *ctx) { return note_call_fd(ctx, false, 0); }
SEC("tracepoint/syscalls/sys_enter_sendto")
int sys_enter_sendto(struct trace_event_raw_sys_enter *ctx) { return note_call_fd(ctx, true, ctx->args[2]); }
SEC("tracepoint/syscalls/sys_enter_recvmsg")
int sys_enter_recvmsg(struct trace_event_raw_sys_enter *ctx) { return note_call_fd(ctx, false, 0); }
SEC("tracepoint/syscalls/sys_enter_sendmsg")
int sys_enter_sendmsg(struct trace_event_raw_sys_enter *ctx) { return note_call_fd(ctx, true, 0); }

/*
 * close(fd) ends the connection of the TLS object that used fd. The state
 * stays, marked: a call still in flight on another thread (Go: a Write
 * returning after another goroutine closed the conn) reports on it.
 */
SEC("tracepoint/syscalls/sys_enter_close")
int sys_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	struct fd_key fk = { .tgid = bpf_get_current_pid_tgid() >> 32, .fd = (int)ctx->args[0] };
	__u64 *ssl = bpf_map_lookup_elem(&fd_ssl, &fk);
	struct conn_key key = { .tgid = fk.tgid };
	struct conn_state *cs;

	if (!ssl)
		return 0;
	key.ssl = *ssl;
	cs = bpf_map_lookup_elem(&ssl_conns, &key);
	if (cs)
		cs->closed_ns = bpf_ktime_get_ns();
	bpf_map_delete_elem(&fd_ssl, &fk);
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(inet_sock_set_state, const struct sock *sk, int oldstate, int newstate)
{
	__u64 key = (__u64)sk;
	__u8 role;

	if (newstate == TCP_SYN_SENT)
		role = 1; /* connect(): client */
	else if (newstate == TCP_SYN_RECV)
		role = 2; /* accepted: server */
	else if (newstate == TCP_CLOSE) {
		bpf_map_delete_elem(&sock_roles, &key);
		return 0;
	} else
		return 0;
	bpf_map_update_elem(&sock_roles, &key, &role, BPF_ANY);
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct exec_event);
} exec_scratch SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int sched_process_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 arg_start, arg_end, args_len;
	struct exec_event *e;
	__u32 zero = 0;
	long n;

	e = bpf_map_lookup_elem(&exec_scratch, &zero);
	if (!e)
		return 0;
	e->type = CTL_EVENT_EXEC;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->cgroup_id = bpf_get_current_cgroup_id();
	n = bpf_probe_read_kernel_str(e->filename, sizeof(e->filename),
				      (void *)ctx + (ctx->__data_loc_filename & 0xFFFF));
	e->filename_len = n > 0 ? n : 0;
	if (n <= 0)
		e->filename[0] = '\0';
	/* The new program's arguments sit on its fresh stack. */
	arg_start = BPF_CORE_READ(task, mm, arg_start);
	arg_end = BPF_CORE_READ(task, mm, arg_end);
	args_len = arg_end > arg_start ? arg_end - arg_start : 0;
	if (args_len > EXEC_ARGS_MAX)
		args_len = EXEC_ARGS_MAX;
	barrier_var(args_len);
	if (args_len > EXEC_ARGS_MAX || bpf_probe_read_user(e->args, args_len, (void *)arg_start))
		args_len = 0;
	e->args_len = args_len;
	if (bpf_ringbuf_output(&ctl_events, e, sizeof(*e), 0))
		stat_add(STAT_CTL_LOST, 1);
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int sched_process_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();

	if ((__u32)id == (id >> 32))
		emit_ctl(CTL_EVENT_EXIT, id >> 32);
	bpf_map_delete_elem(&active_calls, &id);
	id = call_key(id, 1);
	bpf_map_delete_elem(&active_calls, &id);
	return 0;
}

#include "go_tls.bpf.h"
