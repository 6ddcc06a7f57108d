/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Go crypto/tls probes, included by tlsdump.bpf.c (they share its maps and
 * its emission path).
 *
 * Never a uretprobe on Go code: goroutine stacks move, and a hijacked return
 * address crashes the program. The entry is a plain uprobe (on the prologue's
 * stack-check branch when the kernel can emulate it) and every return
 * instruction gets one too. In-flight calls are keyed by goroutine, never by
 * thread: a goroutine can block in Read and resume on another thread.
 */

struct go_call_key {
	__u32 tgid;
	__u32 pad;
	__u64 goid;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32); /* target cookie */
	__type(value, struct go_config);
} go_configs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct go_call_key);
	__type(value, struct active_call);
} go_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct keylog_event);
} keylog_scratch SEC(".maps");

/*
 * A context field read the compiler may not merge with its siblings: the
 * verifier only accepts context loads at constant offsets.
 */
#define CTX_FIELD(ctx, field) (*(volatile __u64 *)&(ctx)->field)

#if defined(__TARGET_ARCH_x86)
/* ABIInternal integer registers, in argument order. */
static __always_inline __u64 go_reg_arg(struct pt_regs *ctx, int i)
{
	switch (i) {
	case 0: return CTX_FIELD(ctx, ax);
	case 1: return CTX_FIELD(ctx, bx);
	case 2: return CTX_FIELD(ctx, cx);
	case 3: return CTX_FIELD(ctx, di);
	case 4: return CTX_FIELD(ctx, si);
	case 5: return CTX_FIELD(ctx, r8);
	case 6: return CTX_FIELD(ctx, r9);
	case 7: return CTX_FIELD(ctx, r10);
	default: return CTX_FIELD(ctx, r11);
	}
}

/* The current goroutine's g: R14 under ABIInternal, thread-local -8(FS) before. */
static __always_inline __u64 go_g(struct pt_regs *ctx, const struct go_config *cfg)
{
	struct task_struct *task;
	__u64 g = 0;

	if (cfg->register_abi)
		return CTX_FIELD(ctx, r14);
	task = (struct task_struct *)bpf_get_current_task();
	bpf_probe_read_user(&g, sizeof(g), (void *)(BPF_CORE_READ(task, thread.fsbase) - 8));
	return g;
}
#define GO_SP(ctx) CTX_FIELD(ctx, sp)
#elif defined(__TARGET_ARCH_arm64)
static __always_inline __u64 go_reg_arg(struct pt_regs *ctx, int i)
{
	return i < 16 ? ctx->regs[i & 15] : 0;
}

/* arm64 keeps g in R28 under both ABIs. */
static __always_inline __u64 go_g(struct pt_regs *ctx, const struct go_config *cfg)
{
	return ctx->regs[28];
}
#define GO_SP(ctx) ((ctx)->sp)
#else
#error "tlsdump: Go probes support x86 and arm64"
#endif

/*
 * Returns integer argument @i (or, at a return, result @i after @nargs
 * argument words) under the binary's ABI. ABI0 keeps everything on the
 * stack above the return address.
 */
static __always_inline __u64 go_stack_arg(struct pt_regs *ctx, int i)
{
	__u64 v = 0;

	bpf_probe_read_user(&v, sizeof(v), (void *)(GO_SP(ctx) + 8 + 8 * i));
	return v;
}

/* @i must be a constant: registers are read at fixed context offsets. */
static __always_inline __u64 go_arg(struct pt_regs *ctx, const struct go_config *cfg, int i)
{
	return cfg->register_abi ? go_reg_arg(ctx, i) : go_stack_arg(ctx, i);
}

static __always_inline bool go_call_key_of(struct pt_regs *ctx, const struct go_config *cfg,
					   struct go_call_key *key)
{
	__u64 g = go_g(ctx, cfg);

	key->tgid = bpf_get_current_pid_tgid() >> 32;
	key->pad = 0;
	key->goid = 0;
	return g && !bpf_probe_read_user(&key->goid, sizeof(key->goid), (void *)(g + cfg->g_goid));
}

static __always_inline const struct go_config *go_config_of(struct pt_regs *ctx)
{
	__u32 cookie = bpf_get_attach_cookie(ctx);

	return bpf_map_lookup_elem(&go_configs, &cookie);
}

/* Reads the socket descriptor behind a *tls.Conn whose conn is a *net.TCPConn; -1 otherwise. */
static __always_inline int go_conn_fd(const struct go_config *cfg, __u64 tls_conn)
{
	__u64 data = 0, netfd = 0;
	__s64 sysfd = -1;

	if (bpf_probe_read_user(&data, sizeof(data), (void *)(tls_conn + cfg->tls_conn_conn + 8)) ||
	    !data ||
	    bpf_probe_read_user(&netfd, sizeof(netfd), (void *)(data + cfg->tcpconn_netfd)) ||
	    !netfd ||
	    bpf_probe_read_user(&sysfd, sizeof(sysfd), (void *)(netfd + cfg->netfd_sysfd)))
		return -1;
	return sysfd >= 0 && sysfd < (1 << 30) ? (int)sysfd : -1;
}

/*
 * Resolves the call's socket from the *tls.Conn. Done at entry: by the time a
 * Write returns, another goroutine may have closed the connection (Sysfd -1)
 * or the descriptor may even be reused.
 */
static __always_inline void go_resolve_socket(const struct go_config *cfg, struct active_call *call)
{
	struct sock *sk;

	call->fd = go_conn_fd(cfg, call->ssl);
	sk = call->fd >= 0 ? tcp_sock_of_fd(call->fd) : NULL;
	call->sk = (__u64)sk;
	if (!sk)
		call->fd = -1;
}

/* func (c *Conn) Read(b []byte) (int, error) / Write: receiver, b.ptr, b.len. */
static __always_inline int go_enter(struct pt_regs *ctx, enum tls_call_kind kind)
{
	const struct go_config *cfg = go_config_of(ctx);
	struct active_call call = {};
	struct go_call_key key;

	if (!cfg || capture_stopping || !process_selected(bpf_get_current_pid_tgid() >> 32) ||
	    !go_call_key_of(ctx, cfg, &key))
		return 0;
	call.ssl = go_arg(ctx, cfg, 0);
	call.buf = go_arg(ctx, cfg, 1);
	call.len_ptr = go_arg(ctx, cfg, 2); /* len(b): bounds the result */
	call.entry_ns = bpf_ktime_get_ns();
	call.kind = kind;
	call.cookie = bpf_get_attach_cookie(ctx);
	go_resolve_socket(cfg, &call);
	/* Entering again (the prologue restarts after a stack growth) just refreshes it. */
	bpf_map_update_elem(&go_calls, &key, &call, BPF_ANY);
	return 0;
}

static __always_inline int go_return(struct pt_regs *ctx, __u8 dir)
{
	const struct go_config *cfg = go_config_of(ctx);
	struct active_call *cur, call;
	struct go_call_key key;
	__u64 n;

	if (!cfg || !go_call_key_of(ctx, cfg, &key))
		return 0;
	cur = bpf_map_lookup_elem(&go_calls, &key);
	if (!cur)
		return 0;
	call = *cur;
	bpf_map_delete_elem(&go_calls, &key);
	if (capture_stopping)
		return 0;
	/* Results follow the receiver and the slice (3 words) under ABI0. */
	n = cfg->register_abi ? go_reg_arg(ctx, 0) : go_stack_arg(ctx, 4);
	/* A Read may return data together with an error: n counts. */
	if ((__s64)n <= 0 || n > call.len_ptr)
		n = 0;
	/* A connection set up during the call (first Read dials lazily) is known now. */
	if (!call.sk)
		go_resolve_socket(cfg, &call);
	return emit_call(&call, n, dir);
}

SEC("uprobe")
int go_read_enter(struct pt_regs *ctx)
{
	return go_enter(ctx, TLS_CALL_READ);
}

SEC("uprobe")
int go_write_enter(struct pt_regs *ctx)
{
	return go_enter(ctx, TLS_CALL_WRITE);
}

SEC("uprobe")
int go_read_return(struct pt_regs *ctx)
{
	return go_return(ctx, 0);
}

SEC("uprobe")
int go_write_return(struct pt_regs *ctx)
{
	return go_return(ctx, 1);
}

/*
 * func (c *Config) writeKeyLog(label string, clientRandom, secret []byte) error
 * Called for every handshake secret, KeyLogWriter or not.
 */
SEC("uprobe")
int go_write_key_log(struct pt_regs *ctx)
{
	const struct go_config *cfg = go_config_of(ctx);
	struct keylog_event *e;
	__u32 zero = 0;
	__u64 label, label_len, random, random_len, secret, secret_len;

	if (!cfg || capture_stopping || !process_selected(bpf_get_current_pid_tgid() >> 32))
		return 0;
	label = go_arg(ctx, cfg, 1);
	label_len = go_arg(ctx, cfg, 2);
	random = go_arg(ctx, cfg, 3);
	random_len = go_arg(ctx, cfg, 4);
	secret = go_arg(ctx, cfg, 6);
	secret_len = go_arg(ctx, cfg, 7);
	if (random_len != KEYLOG_RANDOM_LEN || !label_len || label_len > KEYLOG_LABEL_MAX ||
	    !secret_len || secret_len > KEYLOG_SECRET_MAX)
		return 0;
	e = bpf_map_lookup_elem(&keylog_scratch, &zero);
	if (!e)
		return 0;
	e->type = CTL_EVENT_KEYLOG;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->label_len = label_len;
	e->secret_len = secret_len;
	/* Checked above, but the verifier must see the bound on the register it copies with. */
	barrier_var(label_len);
	barrier_var(secret_len);
	if (label_len > KEYLOG_LABEL_MAX || secret_len > KEYLOG_SECRET_MAX ||
	    bpf_probe_read_user(e->label, label_len, (void *)label) ||
	    bpf_probe_read_user(e->client_random, KEYLOG_RANDOM_LEN, (void *)random) ||
	    bpf_probe_read_user(e->secret, secret_len, (void *)secret))
		return 0;
	if (bpf_ringbuf_output(&ctl_events, e, sizeof(*e), 0))
		stat_add(STAT_CTL_LOST, 1);
	return 0;
}
