/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The contract between the probes (tlsdump.bpf.c) and user space: the events
 * they emit through the ring buffers and the tunables set before load.
 * Fixed-width types only, no pointers; variable payload last.
 */
#ifndef TLSDUMP_BPF_H
#define TLSDUMP_BPF_H

#ifndef __VMLINUX_H__
#include <linux/types.h> /* user space; the BPF side has vmlinux.h */
#endif

#define TLSDUMP_TASK_COMM_LEN 16

/* A TLS call's plaintext is cut into chunks of at most this many bytes. */
#define TLSDUMP_CHUNK_MAX 32768

/* Kind of TLS call, one per probed function signature. */
enum tls_call_kind {
	TLS_CALL_READ = 0,	  /* int SSL_read(SSL *, void *, int) */
	TLS_CALL_WRITE = 1,	  /* int SSL_write(SSL *, const void *, int) */
	TLS_CALL_READ_EX = 2,	  /* int SSL_read_ex(SSL *, void *, size_t, size_t *readbytes) */
	TLS_CALL_WRITE_EX = 3,	  /* int SSL_write_ex(SSL *, const void *, size_t, size_t *written) */
	TLS_CALL_WRITE_EX2 = 4,	  /* int SSL_write_ex2(SSL *, const void *, size_t, uint64_t, size_t *) */
	TLS_CALL_WRITEV = 5,	  /* PRInt32 PR_Writev(PRFileDesc *, const PRIOVec *, PRInt32 n, ...) */
};

/*
 * A TLS call in progress, keyed by thread (library calls) or goroutine (Go).
 * User space reads it too: the oldest write in progress holds the output.
 * entry_ns 0: an idle slot (a thread's slot outlives its calls).
 */
struct active_call {
	__u64 ssl;	/* TLS object: SSL *, or *tls.Conn */
	__u64 buf;
	__u64 len_ptr;	/* size_t * of the _ex functions; len(b) for Go; iovec count */
	__u64 sp;	/* stack pointer at entry: tells nesting from a stale entry */
	__u64 sk;	/* struct sock * of the first socket syscall in the call */
	__u64 file;	/* struct file * of that syscall's fd */
	__u64 entry_ns;	/* CLOCK_MONOTONIC when the call started */
	__u32 kind;	/* enum tls_call_kind */
	__u32 depth;	/* nested probed calls (SSL_write_ex -> SSL_write_ex2) */
	__u32 cookie;
	__s32 fd;
};

enum tls_event_flag {
	TLS_EVENT_CALL_START = 0x01, /* first chunk of the call */
	TLS_EVENT_CALL_END = 0x02,   /* last chunk of the call */
	TLS_EVENT_CAPPED = 0x04,     /* max_bytes_per_call cut the call after this chunk */
};

/*
 * One chunk of plaintext from one TLS call. The ring buffer record is
 * sizeof(struct tls_data_event) + a size class >= len; data[] holds len bytes.
 */
struct tls_data_event {
	__u64 ts_ns;		/* CLOCK_MONOTONIC: a write's entry, a read's return */
	__u64 conn_id;		/* unique per (process, TLS object, socket) in this capture */
	__u64 stream_offset;	/* offset of data[0] in this direction of the connection */
	__u64 call_len;		/* bytes the call transferred in total */
	__u64 cgroup_id;	/* cgroup v2 id of the process */
	__u32 pid;		/* tgid */
	__u32 tid;
	__u32 len;		/* bytes in data[] */
	__u32 lib_cookie;	/* index of the probed library in user space's table */
	__u8 direction;		/* 0 read, 1 write (record.h's enum tlsdump_direction) */
	__u8 role;		/* 0 unknown, 1 client, 2 server */
	__u8 family;		/* AF_INET, AF_INET6, or 0 when the socket is unknown */
	__u8 flags;		/* enum tls_event_flag */
	__u16 local_port;	/* host byte order */
	__u16 remote_port;	/* host byte order */
	__u8 local_addr[16];	/* IPv4 in the first 4 bytes */
	__u8 remote_addr[16];
	char comm[TLSDUMP_TASK_COMM_LEN];
	__u8 data[];
};

enum ctl_event_type {
	CTL_EVENT_EXEC = 1,	/* a process called execve: look for TLS libraries */
	CTL_EVENT_LIBS_CHANGED = 2, /* the dynamic linker changed a link map (dlopen) */
	CTL_EVENT_EXIT = 3,	/* a process (thread group) exited */
	CTL_EVENT_KEYLOG = 4,	/* struct keylog_event: a TLS secret from Go's writeKeyLog */
	CTL_EVENT_CONN_BOUND = 5, /* struct conn_bound_event: a memory-BIO connection's socket */
};

/* Control events: small, on their own ring so data pressure never loses them. */
struct ctl_event {
	__u32 type;
	__u32 pid;
};

#define EXEC_FILENAME_MAX 256
#define EXEC_ARGS_MAX 512

/*
 * A process called execve: what it runs, read at the exec itself, so frames
 * of a process that is gone before user space looks still name it.
 */
struct exec_event {
	__u32 type;		/* CTL_EVENT_EXEC */
	__u32 pid;
	__u32 filename_len;	/* bytes in filename, NUL included */
	__u32 args_len;		/* bytes in args: NUL-separated arguments */
	__u64 cgroup_id;	/* cgroup v2 id: a new container's process may need selecting */
	char filename[EXEC_FILENAME_MAX];
	char args[EXEC_ARGS_MAX];
};

/*
 * A connection whose TLS library writes into a memory BIO (node) made no
 * socket syscall inside its calls; the application's flush right after a
 * write named the socket. Frames already emitted for conn_id lack the
 * tuple given here.
 */
struct conn_bound_event {
	__u32 type;		/* CTL_EVENT_CONN_BOUND */
	__u32 pid;
	__u64 conn_id;
	__u8 family;
	__u8 role;
	__u16 local_port;
	__u16 remote_port;
	__u16 pad;
	__u8 local_addr[16];
	__u8 remote_addr[16];
};

#define KEYLOG_LABEL_MAX 48
#define KEYLOG_RANDOM_LEN 32
#define KEYLOG_SECRET_MAX 64

/* One NSS key log line, in parts: label, client random, secret. */
struct keylog_event {
	__u32 type;		/* CTL_EVENT_KEYLOG */
	__u32 pid;
	__u32 label_len;
	__u32 secret_len;
	char label[KEYLOG_LABEL_MAX];
	__u8 client_random[KEYLOG_RANDOM_LEN];
	__u8 secret[KEYLOG_SECRET_MAX];
};

/*
 * Where a Go binary keeps what the probes read, per probed file (key: the
 * target's cookie). Offsets come from DWARF, or a table by Go version for
 * stripped binaries (extcap/go_dwarf.c).
 */
struct go_config {
	__u32 register_abi;	/* 1: ABIInternal (arguments in registers), 0: ABI0 (stack) */
	__s32 g_goid;		/* runtime.g.goid */
	__s32 tls_conn_conn;	/* crypto/tls.Conn.conn, a net.Conn interface {itab, data} */
	__s32 tcpconn_netfd;	/* net.TCPConn -> its conn.fd (*net.netFD) */
	__s32 netfd_sysfd;	/* net.netFD -> pfd.Sysfd (the socket descriptor) */
};

/* Indexes of the per-CPU counters in the "stats" map. */
enum tlsdump_stat {
	STAT_LOST_EVENTS = 0,	/* chunks that found the ring buffer full */
	STAT_LOST_BYTES = 1,	/* plaintext bytes in those chunks */
	STAT_FAULT_EVENTS = 2,	/* chunks whose user buffer could not be read */
	STAT_FAULT_BYTES = 3,
	STAT_CTL_LOST = 4,	/* control events lost */
	STAT_MAX = 5,
};

#endif /* TLSDUMP_BPF_H */
