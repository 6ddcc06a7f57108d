#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""tlsdump benchmarks: overhead against peers, per-call probe cost, attach cost.

Run on demand as root (never in CI); it installs what it needs with apt-get.

    tests/bench/bench.py [all|nginx|micro|attach] [options]

nginx   nginx over TLS on loopback (2 workers, 1 KiB and 64 KiB bodies) loaded
        by wrk (2 threads, 50 keep-alive connections), one cell per tracer,
        alternating untraced / tlsdump / sslsniff-bpfcc / bpftrace / untraced
        so drift shows. One table: requests/s and ratio to the untraced cells of
        the same run, completeness (plaintext bytes the tracer accounted for vs
        bytes served and received), drops, the tracer's CPU seconds and peak
        RSS, the nginx workers' CPU, and which targets tlsdump missed.
micro   ns per TLS call of a hot SSL_write/SSL_read loop (tests/bench/ssl_loop.c)
        with no probe and with tlsdump, over a memory BIO pair and an AF_UNIX
        socketpair, plus reference probes at the entry and at an emulated
        instruction, and the tax tlsdump's syscall tracepoints put on a plain
        write(2).
attach  time from starting tlsdump to its "capturing" log line, on an idle
        machine and with 200 extra processes (100 Python processes linking
        libssl, 100 sleep).

Only ratios measured in one run mean anything; see docs/benchmarks.md.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT_TLSDUMP = os.path.join(ROOT, "build", "extcap", "tlsdump")
CACHE_DIR = "/var/tmp/tlsdump-bench"
TRACEFS = "/sys/kernel/tracing"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Debian packages the benchmarks use (tlsdump's own build dependencies come
# from packaging/deps.sh). Kernel headers for bcc are fetched separately.
APT_PACKAGES = ["nginx-light", "wrk", "bpfcc-tools", "bpftrace", "bpftool", "openssl", "gcc",
                "libssl-dev", "binutils", "procps"]

# Targets of the issue, checked in the nginx table for tlsdump's cells.
TARGET_RATIO = {"1k": 0.55, "64k": 0.50}
TARGET_COMPLETENESS = 0.9999  # the in-flight requests at wrk's stop blur the last 0.01%

BODIES = {"1k": 1024, "64k": 65536}
# Tracers of the nginx benchmark, in the order their cells alternate with untraced ones.
TRACERS = ("tlsdump", "tlsdump-nopkt", "sslsniff", "bpftrace")
# Seconds to wait before a measurement for other engineers' tracers to go (--max-wait).
QUIET_WAIT = 300


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# ---------------------------------------------------------------------------
# Processes: everything started here is tracked and ended by pid at exit.

class Procs:
    """Children started by the benchmark; kill_all() ends the ones still running."""

    def __init__(self):
        self.live = []

    def spawn(self, args, *, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
              env=None, cpu=None, cwd=None):
        def child_setup():
            # A child must obey SIGINT even if we were started with it ignored.
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            if cpu is not None:
                os.sched_setaffinity(0, {cpu})
        p = subprocess.Popen(args, stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL,
                             env=env, cwd=cwd, preexec_fn=child_setup, start_new_session=True)
        self.live.append(p)
        return p

    def reap(self, p, timeout):
        """Waits for @p at most @timeout s. Returns (exit status, rusage) or (None, None)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            except ChildProcessError:
                return p.returncode, None
            if pid == p.pid:
                p.returncode = os.waitstatus_to_exitcode(status)
                if p in self.live:
                    self.live.remove(p)
                return p.returncode, ru
            if time.monotonic() >= deadline:
                return None, None
            time.sleep(0.02)

    def stop(self, p, sig=signal.SIGINT, timeout=30.0):
        """Sends @sig, then SIGTERM and SIGKILL if needed. Returns (status, rusage)."""
        for s, t in ((sig, timeout), (signal.SIGTERM, 10.0), (signal.SIGKILL, 10.0)):
            try:
                os.kill(p.pid, s)
            except ProcessLookupError:
                pass
            status, ru = self.reap(p, t)
            if status is not None:
                return status, ru
            log(f"pid {p.pid} ({shlex.join(p.args[:2])}) ignored signal {s}")
        return None, None

    def kill_all(self):
        for p in list(self.live):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)  # its own session: only what it started
                except (ProcessLookupError, PermissionError):
                    pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.live.clear()


PROCS = Procs()


def run(args, timeout=600, check=True, **kw):
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise BenchError(f"{shlex.join(args)} failed ({r.returncode}): {r.stderr.strip()[-2000:]}")
    return r


def proc_cpu(pid):
    """CPU seconds (user + system) of process @pid so far, 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return 0.0


def system_busy():
    """CPU seconds the whole machine spent in user and system mode so far."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2]) / CLK_TCK


def rusage_cpu(ru):
    return ru.ru_utime + ru.ru_stime if ru else 0.0


def bpf_perf_links():
    """Everything `bpftool perf show` lists: which process holds which
    uprobe, kprobe or tracepoint with a BPF program on it."""
    r = subprocess.run(["bpftool", "perf", "show", "-j"], capture_output=True, text=True)
    try:
        return json.loads(r.stdout) if r.returncode == 0 else []
    except ValueError:
        return []


def _tag(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f"{pid}:{f.read().strip()}"
    except OSError:
        return None


def foreign_probes(ours=(), links=None):
    """"pid:comm" of the processes this run did not start that have uprobes on
    our private libssl copy (any path under CACHE_DIR): another tracer that
    would fire in our nginx, wrk or ssl_loop."""
    found = set()
    for e in bpf_perf_links() if links is None else links:
        pid = e.get("pid")
        if pid in ours or pid == os.getpid():
            continue
        where = e.get("filename", "") if e.get("fd_type") in ("uprobe", "uretprobe") else \
            e.get("tracepoint", "") if e.get("fd_type") == "tracepoint" else ""
        # bcc names tracefs uprobe events after the path, '/' and '-' made '_'.
        if CACHE_DIR in where or CACHE_DIR.replace("/", "_").replace("-", "_") in where:
            tag = _tag(pid)
            if tag:
                found.add(tag)
    return sorted(found)


def foreign_syscall_tracers(ours=()):
    """"pid:comm" of other processes with BPF programs on syscall tracepoints:
    they tax every read/write on the machine, ours included, in every cell."""
    found = set()
    for e in bpf_perf_links():
        if e.get("pid") not in ours and e.get("fd_type") == "tracepoint" and \
                e.get("tracepoint", "").startswith("sys_enter_"):
            tag = _tag(e["pid"])
            if tag:
                found.add(tag)
    return sorted(found)


def machine_busy(window=1.0):
    """CPUs the machine kept busy (user + system) over the next @window s."""
    b0 = system_busy()
    time.sleep(window)
    return (system_busy() - b0) / window


def wait_until_quiet(ours, limit, max_busy=0.3):
    """Waits up to @limit s until no other TLS tracer runs and the machine is
    idle (at most @max_busy CPUs busy): other engineers share it. Returns the
    foreign tracers still there (empty when quiet) and the last busy level."""
    start = time.monotonic()
    while True:
        found = foreign_probes(ours)
        busy = machine_busy()
        waited = time.monotonic() - start
        # A foreign tracer probes our processes too: wait long for it. A busy
        # machine only adds noise: wait a minute at most.
        if not found and (busy <= max_busy or waited >= min(limit, 60)):
            return found, busy
        if waited >= limit:
            return found, busy
        time.sleep(0.5)


def count_perf_fds(pid):
    n = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if "perf_event" in os.readlink(f"/proc/{pid}/fd/{fd}"):
                    n += 1
            except OSError:
                pass
    except OSError:
        return -1
    return n


# ---------------------------------------------------------------------------
# Setup: packages and bcc's kernel headers.

def ensure_packages(skip):
    missing = []
    for p in APT_PACKAGES:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True, text=True)
        if "ok installed" not in r.stdout:
            missing.append(p)
    if not missing:
        return
    if skip:
        raise BenchError(f"missing packages: {' '.join(missing)} (run without --skip-install)")
    log(f"installing {' '.join(missing)}")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-qq"], env=env)
    run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + missing, env=env)


def bcc_kernel_headers():
    """A header tree bcc can compile against on this kernel, built once into CACHE_DIR.

    Debian ships no headers for the running kernel: take the distribution's
    amd64 headers (build tree and common sources merged into one directory)
    and turn __compiletime_assert into a no-op under __BPF_TRACING__, which
    clang otherwise trips over in min() (docs/benchmarks.md)."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    deps = run(["apt-cache", "depends", "linux-headers-amd64"]).stdout
    m = re.search(r"Depends: (linux-headers-\S+-amd64)", deps)
    if not m:
        run(["apt-get", "update", "-qq"], env=env)
        deps = run(["apt-cache", "depends", "linux-headers-amd64"]).stdout
        m = re.search(r"Depends: (linux-headers-\S+-amd64)", deps)
        if not m:
            raise BenchError("cannot find Debian's linux-headers-*-amd64 package")
    arch_pkg = m.group(1)
    merged = os.path.join(CACHE_DIR, "kheaders", arch_pkg)
    if os.path.exists(os.path.join(merged, ".ready")):
        return merged
    m = re.search(r"Depends: (linux-headers-\S+-common)\b",
                  run(["apt-cache", "depends", arch_pkg]).stdout)
    if not m:
        raise BenchError(f"cannot find the -common package of {arch_pkg}")
    common_pkg = m.group(1)
    log(f"preparing kernel headers for bcc from {arch_pkg} and {common_pkg}")
    work = tempfile.mkdtemp(prefix="kheaders-", dir="/var/tmp")
    os.chmod(work, 0o755)  # apt's download sandbox user must be able to write there
    try:
        run(["apt-get", "download", "-qq", arch_pkg, common_pkg], cwd=work, env=env)
        root = os.path.join(work, "root")
        for deb in sorted(os.listdir(work)):
            if deb.endswith(".deb"):
                run(["dpkg-deb", "-x", os.path.join(work, deb), root])
        src = os.path.join(root, "usr", "src")
        tmp = merged + ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        # common first, then the arch tree on top (include/generated, .config).
        for d in sorted(os.listdir(src), key=lambda n: not n.endswith("-common")):
            run(["cp", "-a", os.path.join(src, d) + "/.", tmp])
        ct = os.path.join(tmp, "include", "linux", "compiler_types.h")
        with open(ct) as f:
            text = f.read()
        patched = text.replace("#ifdef __OPTIMIZE__\n# define __compiletime_assert",
                               "#if defined(__OPTIMIZE__) && !defined(__BPF_TRACING__)\n"
                               "# define __compiletime_assert", 1)
        if patched == text:
            raise BenchError(f"{ct}: __compiletime_assert definition not found")
        with open(ct, "w") as f:
            f.write(patched)
        open(os.path.join(tmp, ".ready"), "w").close()
        shutil.rmtree(merged, ignore_errors=True)
        os.rename(tmp, merged)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return merged


def build_tlsdump_rev(rev):
    """Builds tlsdump at git revision @rev of this repository into CACHE_DIR
    (a binary that stays put while the work tree changes). Returns its path."""
    sha = run(["git", "-C", ROOT, "rev-parse", "--verify", rev + "^{commit}"]).stdout.strip()
    src = os.path.join(CACHE_DIR, f"src-{sha[:12]}")
    exe = os.path.join(src, "build", "extcap", "tlsdump")
    if os.access(exe, os.X_OK):
        return exe
    log(f"building tlsdump {sha[:12]} in {src}")
    shutil.rmtree(src, ignore_errors=True)
    os.makedirs(src)
    archive = subprocess.Popen(["git", "-C", ROOT, "archive", sha], stdout=subprocess.PIPE)
    run(["tar", "-x", "-C", src], stdin=archive.stdout)
    archive.wait()
    run(["cmake", "-S", src, "-B", os.path.join(src, "build"), "-DCMAKE_BUILD_TYPE=RelWithDebInfo"])
    run(["cmake", "--build", os.path.join(src, "build"), "-j", str(os.cpu_count()),
         "--target", "tlsdump"], timeout=1800)
    with open(os.path.join(os.path.dirname(exe), "COMMIT"), "w") as f:
        f.write(sha[:12] + "\n")
    return exe


def private_libssl(workdir):
    """A byte-identical copy of the system libssl in @workdir/lib, which nginx,
    wrk and ssl_loop load through LD_LIBRARY_PATH. Uprobes belong to an inode:
    tracers that other users left attached to the system copy (an extcap
    whose Wireshark died, say) do not fire in our processes, and any tracer
    that does hook the copy is seen by foreign_probes(). Returns the
    environment to run them with and the copy's path."""
    libdir = os.path.join(workdir, "lib")
    os.makedirs(libdir, exist_ok=True)
    src = libssl_path()
    dst = os.path.join(libdir, os.path.basename(src))
    shutil.copy2(src, dst)
    return dict(os.environ, LD_LIBRARY_PATH=libdir), dst


def libssl_path():
    out = run(["ldd", shutil.which("nginx") or "/usr/sbin/nginx"]).stdout
    m = re.search(r"libssl\.so\.\S+ => (\S+)", out)
    if not m:
        raise BenchError("nginx does not link libssl")
    return os.path.realpath(m.group(1))


def make_cert(d):
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout", key, "-out", cert])
    return cert, key


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pkg_version(p):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", p], capture_output=True, text=True)
    return r.stdout.strip() or "?"


def machine_description(tlsdump):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    os_name = "?"
    if os.path.exists("/etc/os-release"):
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    os_name = line.split("=", 1)[1].strip().strip('"')
    version = subprocess.run([tlsdump, "--version"], capture_output=True,
                             text=True).stdout.strip().splitlines()
    commit = "?"
    if os.path.realpath(tlsdump).startswith(ROOT + os.sep):
        commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                                capture_output=True, text=True).stdout.strip() or "?"
    elif os.path.exists(os.path.join(os.path.dirname(os.path.realpath(tlsdump)), "COMMIT")):
        with open(os.path.join(os.path.dirname(os.path.realpath(tlsdump)), "COMMIT")) as f:
            commit = f.read().strip()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1048576, 1),
        "kernel": platform.release(),
        "os": os_name,
        "tlsdump": f"{version[0] if version else 'tlsdump'} at {tlsdump} (git {commit})",
        "versions": {p: pkg_version(p) for p in ("libssl3", "nginx-light", "wrk", "bpfcc-tools",
                                                 "bpftrace")},
    }


# ---------------------------------------------------------------------------
# Servers under test. Each gives: start(), stop(), url(body), worker_pids(),
# rotate_log() -> per-request (bytes received, bytes sent) of the traffic since
# the last rotation.

class NginxServer:
    name = "nginx"

    def __init__(self, workdir, cert, key, env, workers=2):
        self.dir = os.path.join(workdir, "nginx")
        self.env = env
        self.port = free_port()
        self.workers = workers
        self.cert, self.key = cert, key
        self.proc = None
        self.rotation = 0

    def _write_files(self):
        www = os.path.join(self.dir, "www")
        os.makedirs(www, exist_ok=True)
        os.makedirs(os.path.join(self.dir, "logs"), exist_ok=True)
        line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_" + b"\n"
        for name, size in BODIES.items():
            with open(os.path.join(www, name), "wb") as f:
                f.write((line * (size // len(line) + 1))[:size])
        conf = f"""
worker_processes {self.workers};
daemon off;
master_process on;
user root;
pid {self.dir}/nginx.pid;
error_log {self.dir}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
    log_format bench '$request_length $bytes_sent $status';
    access_log {self.dir}/logs/access.log bench buffer=256k flush=1s;
    client_body_temp_path {self.dir}/tmp_body;
    proxy_temp_path {self.dir}/tmp_proxy;
    fastcgi_temp_path {self.dir}/tmp_fcgi;
    uwsgi_temp_path {self.dir}/tmp_uwsgi;
    scgi_temp_path {self.dir}/tmp_scgi;
    default_type application/octet-stream;
    keepalive_timeout 300s;
    keepalive_requests 10000000;
    open_file_cache max=16 inactive=600s;
    open_file_cache_valid 600s;
    server {{
        listen 127.0.0.1:{self.port} ssl;
        ssl_certificate {self.cert};
        ssl_certificate_key {self.key};
        root {www};
        location / {{ }}
    }}
}}
"""
        with open(os.path.join(self.dir, "nginx.conf"), "w") as f:
            f.write(conf)

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        self._write_files()
        conf = os.path.join(self.dir, "nginx.conf")
        run(["nginx", "-t", "-p", self.dir, "-c", conf, "-e", f"{self.dir}/logs/error.log"])
        self.proc = PROCS.spawn(["nginx", "-p", self.dir, "-c", conf,
                                 "-e", f"{self.dir}/logs/error.log"], env=self.env)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError(f"nginx exited: see {self.dir}/logs/error.log")
            if len(self.worker_pids()) == self.workers:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    self._check_private_lib()
                    return
                except OSError:
                    pass
            time.sleep(0.1)
        raise BenchError("nginx did not start")

    def _check_private_lib(self):
        lib = self.env.get("LD_LIBRARY_PATH")
        for pid in self.worker_pids():
            with open(f"/proc/{pid}/maps") as f:
                if lib and lib not in f.read():
                    raise BenchError(f"nginx worker {pid} did not load the libssl in {lib}")

    def worker_pids(self):
        pids = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if self.proc and ppid == self.proc.pid:
                pids.append(int(d))
        return pids

    def url(self, body):
        return f"https://127.0.0.1:{self.port}/{body}"

    def rotate_log(self):
        """Closes the current access log. Returns [(request bytes, response bytes)]."""
        cur = os.path.join(self.dir, "logs", "access.log")
        self.rotation += 1
        old = f"{cur}.{self.rotation}"
        if not os.path.exists(cur):
            open(cur, "a").close()
        os.rename(cur, old)
        os.kill(self.proc.pid, signal.SIGUSR1)  # reopen: workers flush buffers into the old file
        deadline = time.monotonic() + 10
        while not os.path.exists(cur) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # both workers reopen after the master
        entries = []
        with open(old) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2:
                    entries.append((int(parts[0]), int(parts[1])))
        os.unlink(old)
        return entries

    def stop(self):
        if self.proc:
            PROCS.stop(self.proc, signal.SIGTERM, 10)
            self.proc = None


GO_SERVER_SOURCE = r"""
// The Go column's server: net/http over crypto/tls (HTTP/1.1, GOMAXPROCS=2),
// serving the benchmark bodies. It counts the plaintext bytes its *tls.Conn
// Read and Write moved (the bytes tlsdump must capture on the server side);
// SIGUSR1 writes "read written requests" since the last signal to STATS.
package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"sync/atomic"
	"syscall"
)

var readBytes, writtenBytes, requests int64

type countingConn struct{ net.Conn }

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	atomic.AddInt64(&readBytes, int64(n))
	return n, err
}

func (c countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	atomic.AddInt64(&writtenBytes, int64(n))
	return n, err
}

type countingListener struct{ net.Listener }

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c}, nil
}

func main() {
	runtime.GOMAXPROCS(2)
	port, cert, key, www, stats := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5]
	bodies := map[string][]byte{}
	for _, name := range os.Args[6:] {
		b, err := os.ReadFile(www + "/" + name)
		if err != nil {
			panic(err)
		}
		bodies["/"+name] = b
	}
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		panic(err)
	}
	// Counting above crypto/tls: the wrapper sees the plaintext *tls.Conn moves.
	tl := tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{pair},
		NextProtos: []string{"http/1.1"}})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		atomic.AddInt64(&requests, 1)
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(body)
	})
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	go func() {
		for range sig {
			line := fmt.Sprintf("%d %d %d\n", atomic.SwapInt64(&readBytes, 0),
				atomic.SwapInt64(&writtenBytes, 0), atomic.SwapInt64(&requests, 0))
			os.WriteFile(stats+".tmp", []byte(line), 0o644)
			os.Rename(stats+".tmp", stats)
		}
	}()
	panic(http.Serve(countingListener{tl}, handler))
}
"""


class GoServer:
    """The Go column: a net/http HTTPS server (crypto/tls compiled in, which
    tlsdump probes in the executable) with the same bodies as nginx. One
    process; its plaintext byte counts stand in for nginx's access log."""
    name = "go"

    def __init__(self, workdir, cert, key, env, workers=1):
        self.dir = os.path.join(workdir, "goserver")
        self.env = env
        self.port = free_port()
        self.cert, self.key = cert, key
        self.proc = None
        self.stats = os.path.join(self.dir, "stats")
        self.binary = os.path.join(self.dir, "tlsdump-bench-go")

    def _build(self):
        www = os.path.join(self.dir, "www")
        os.makedirs(www, exist_ok=True)
        line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_" + b"\n"
        for name, size in BODIES.items():
            with open(os.path.join(www, name), "wb") as f:
                f.write((line * (size // len(line) + 1))[:size])
        src = os.path.join(self.dir, "main.go")
        with open(src, "w") as f:
            f.write(GO_SERVER_SOURCE)
        env = dict(os.environ, GOCACHE=os.path.join(self.dir, "gocache"),
                   GOPATH=os.path.join(self.dir, "gopath"),
                   GO111MODULE="off", HOME=os.environ.get("HOME", self.dir))
        run(["go", "build", "-o", self.binary, src], env=env, timeout=600)
        return www

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        www = self._build()
        self.proc = PROCS.spawn([self.binary, str(self.port), self.cert, self.key, www,
                                 self.stats] + list(BODIES), env=self.env)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BenchError("the Go server exited")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise BenchError("the Go server did not start")

    def worker_pids(self):
        return [self.proc.pid] if self.proc else []

    def url(self, body):
        return f"https://127.0.0.1:{self.port}/{body}"

    def rotate_log(self):
        """Ends the counting period. Returns [(bytes read, bytes written)] of the server."""
        if os.path.exists(self.stats):
            os.unlink(self.stats)
        os.kill(self.proc.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.stats) and time.monotonic() < deadline:
            time.sleep(0.02)
        with open(self.stats) as f:
            read, written, _requests = (int(x) for x in f.read().split())
        return [(read, written)]

    def stop(self):
        if self.proc:
            PROCS.stop(self.proc, signal.SIGTERM, 10)
            self.proc = None


SERVERS = {"nginx": NginxServer, "go": GoServer}


# ---------------------------------------------------------------------------
# Tracers. start() returns when the probes are attached; stop() returns a dict
# with bytes accounted per pid, bytes copied, drops, CPU and RSS.

class Untraced:
    name = "untraced"
    proc = None

    def start(self, workdir, ctx):
        pass

    def stop(self):
        return {}


class Tlsdump:
    def __init__(self, binary, extra_args, wrap=()):
        self.binary = binary
        self.extra = list(extra_args)
        self.wrap = list(wrap)
        self.name = " ".join(self.wrap + ["tlsdump"] + self.extra)
        self.proc = None

    def start(self, workdir, ctx):
        self.out = os.path.join(workdir, "capture.pcapng")
        self.logf = os.path.join(workdir, "tlsdump.log")
        self.errf = os.path.join(workdir, "tlsdump.err")
        for f in (self.out, self.logf):
            if os.path.exists(f):
                os.unlink(f)
        with open(self.errf, "w") as err:
            self.proc = PROCS.spawn(self.wrap + [self.binary, "-w", self.out, "--log-file",
                                                 self.logf, "--log-level", "info"] + self.extra,
                                    stderr=err)
        wait_for_log_line(self.proc, self.logf, "capturing", 60, self.errf)

    def stop(self):
        status, ru = PROCS.stop(self.proc, signal.SIGINT, 120)
        with open(self.errf) as f:
            err = f.read()
        m = re.search(r"(\d+) frames \((\d+) bytes\) captured, (\d+) frames \((\d+) bytes\) lost",
                      err)
        if status != 0 or not m:
            raise BenchError(f"tlsdump ended with {status}: {err.strip()[-1000:]}")
        walk = walk_pcapng(self.out)
        file_size = os.path.getsize(self.out)
        os.unlink(self.out)
        return {
            "file_bytes": file_size,
            "packet_frames": walk["packet_frames"],
            "packet_drops": walk["packet_drops"],
            "bytes_by_pid": walk["bytes_by_pid"],
            "copied_by_pid": walk["bytes_by_pid"],
            "drop_events": int(m.group(3)),
            "drop_bytes": int(m.group(4)),
            "gap_bytes": walk["gap_bytes"],
            "summary_bytes": int(m.group(2)),
            "cpu_total": rusage_cpu(ru),
            "rss_mb": ru.ru_maxrss / 1024 if ru else 0,
        }


class Sslsniff:
    """bcc's sslsniff as Debian ships it; --max-buffer-size 16384 so that every
    nginx/wrk call (at most one 16 KiB TLS record) fits in one event."""
    name = "sslsniff"
    EVENT = re.compile(r"^(READ/RECV|WRITE/SEND) +\d+\.\d{9} +(\S+) +(\d+) +(\d+) *$")
    TRUNC = re.compile(r"^----- END DATA \(TRUNCATED, (\d+) bytes lost\) -----$")

    def __init__(self, kernel_headers, libssl):
        self.kheaders = kernel_headers
        self.lib = libssl
        self.proc = None

    def start(self, workdir, ctx):
        self.outf = os.path.join(workdir, "sslsniff.out")
        self.errf = os.path.join(workdir, "sslsniff.err")
        env = dict(os.environ, BCC_KERNEL_SOURCE=self.kheaders)
        with open(self.outf, "w") as out, open(self.errf, "w") as err:
            self.proc = PROCS.spawn(["/usr/sbin/sslsniff-bpfcc", "--max-buffer-size", "16384",
                                     "--extra-lib", f"openssl:{self.lib}"],
                                    stdout=out, stderr=err, env=env)
        wait_for_perf_fds(self.proc, 120, self.errf)

    def stop(self):
        status, ru = PROCS.stop(self.proc, signal.SIGINT, 60)
        remove_bcc_leftovers(self.proc.pid)
        by_pid, copied, pending = {}, {}, None
        with open(self.outf, errors="replace") as f:
            for line in f:
                if line.startswith(("READ/RECV", "WRITE/SEND")):
                    m = self.EVENT.match(line.rstrip("\n"))
                    if m:
                        pid, n = int(m.group(3)), int(m.group(4))
                        by_pid[pid] = by_pid.get(pid, 0) + n
                        copied[pid] = copied.get(pid, 0) + n
                        pending = pid
                        continue
                if line.startswith("----- END DATA (TRUNCATED") and pending is not None:
                    m = self.TRUNC.match(line.rstrip("\n"))
                    if m:
                        copied[pending] -= int(m.group(1))
        with open(self.errf, errors="replace") as f:
            err = f.read()
        lost = sum(int(x) for x in re.findall(r"Possibly lost (\d+) samples", err))
        os.unlink(self.outf)
        return {"bytes_by_pid": by_pid, "copied_by_pid": copied, "drop_events": lost,
                "cpu_total": rusage_cpu(ru), "rss_mb": ru.ru_maxrss / 1024 if ru else 0}


class Bpftrace:
    """A bpftrace one-liner printing each call's length and its first
    BPFTRACE_STRLEN (64) bytes: bpftrace 0.17 cannot copy more per event."""
    name = "bpftrace"
    COPY_LIMIT = 64

    def __init__(self, libssl):
        self.lib = libssl
        self.proc = None

    def program(self):
        L = self.lib
        return (f"uprobe:{L}:SSL_read,uprobe:{L}:SSL_write {{ @b[tid] = arg1; }} "
                f"uretprobe:{L}:SSL_read,uretprobe:{L}:SSL_write /@b[tid]/ {{ "
                f"if (retval > 0) {{ "
                f"printf(\"%d %d %r\\n\", pid, retval, buf(@b[tid], retval)); }} "
                f"delete(@b[tid]); }}")

    def start(self, workdir, ctx):
        self.outf = os.path.join(workdir, "bpftrace.out")
        self.errf = os.path.join(workdir, "bpftrace.err")
        with open(self.errf, "w") as err:
            self.proc = PROCS.spawn(["bpftrace", "-B", "full", "-o", self.outf,
                                     "-e", self.program()], stderr=err)
        wait_for_perf_fds(self.proc, 60, self.errf)

    def stop(self):
        status, ru = PROCS.stop(self.proc, signal.SIGINT, 60)
        by_pid, copied, lost = {}, {}, 0
        with open(self.outf, errors="replace") as f:
            for line in f:
                parts = line.split(" ", 2)
                if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
                    pid, n = int(parts[0]), int(parts[1])
                    by_pid[pid] = by_pid.get(pid, 0) + n
                    copied[pid] = copied.get(pid, 0) + min(n, self.COPY_LIMIT)
                else:
                    m = re.search(r"Lost (\d+) events", line)
                    if m:
                        lost += int(m.group(1))
        with open(self.errf, errors="replace") as f:
            lost += sum(int(x) for x in re.findall(r"Lost (\d+) events", f.read()))
        os.unlink(self.outf)
        return {"bytes_by_pid": by_pid, "copied_by_pid": copied, "drop_events": lost,
                "cpu_total": rusage_cpu(ru), "rss_mb": ru.ru_maxrss / 1024 if ru else 0}


def wait_for_log_line(proc, path, text, timeout, errf):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{proc.args[0]} exited ({proc.returncode}): {read_tail(errf)}")
        try:
            with open(path) as f:
                if text in f.read():
                    return
        except OSError:
            pass
        time.sleep(0.02)
    raise BenchError(f"no '{text}' in {path} after {timeout} s")


def wait_for_perf_fds(proc, timeout, errf):
    """Waits until @proc holds perf event fds (its uprobes and output buffers)
    and their number has not changed for 1.5 s: the tracer is attached."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{proc.args[0]} exited ({proc.returncode}): {read_tail(errf)}")
        n = count_perf_fds(proc.pid)
        if n != last:
            last, since = n, time.monotonic()
        elif n > 0 and time.monotonic() - since >= 1.5:
            return
        time.sleep(0.1)
    raise BenchError(f"{proc.args[0]} did not attach within {timeout} s: {read_tail(errf)}")


def read_tail(path, n=1500):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-n:].strip()
    except OSError:
        return ""


def walk_pcapng(path):
    """Streams a tlsdump pcapng, reading only the first bytes of each block
    (docs/record-format.md). Returns plaintext bytes per pid and gap bytes of
    the Upper PDU interface, and frames, bytes and drops (isb_ifdrop) of the
    original-packet interfaces."""
    by_pid, gaps, frames = {}, 0, 0
    pkt_frames, pkt_bytes, pkt_drops, pt_drops = 0, 0, 0, 0
    linktypes = []
    with open(path, "rb", buffering=1 << 20) as f:
        head = f.read(12)
        if len(head) < 12 or struct.unpack("<I", head[:4])[0] != 0x0A0D0D0A:
            raise BenchError(f"{path}: not a pcapng file")
        e = "<" if struct.unpack("<I", head[8:12])[0] == 0x1A2B3C4D else ">"
        f.seek(0)
        while True:
            h = f.read(8)
            if len(h) < 8:
                break
            btype, blen = struct.unpack(e + "II", h)
            if blen < 12:
                raise BenchError(f"{path}: bad block length {blen}")
            if btype == 0x0A0D0D0A:
                linktypes = []
            if btype not in (1, 5, 6):
                f.seek(blen - 8, 1)
                continue
            want = min(blen - 8, 20 + 512)
            body = f.read(want)
            f.seek(blen - 8 - want, 1)
            if btype == 1:  # Interface Description Block
                linktypes.append(struct.unpack(e + "H", body[:2])[0])
                continue
            iface = struct.unpack(e + "I", body[:4])[0]
            plaintext = iface < len(linktypes) and linktypes[iface] == 252
            if btype == 5:  # Interface Statistics Block: look for isb_ifdrop
                off = 12
                while off + 4 <= len(body):
                    code, olen = struct.unpack(e + "HH", body[off:off + 4])
                    if code == 0:
                        break
                    if code == 5 and olen == 8:
                        n = struct.unpack(e + "Q", body[off + 4:off + 12])[0]
                        if plaintext:
                            pt_drops += n
                        else:
                            pkt_drops += n
                    off += 4 + ((olen + 3) & ~3)
                continue
            caplen = struct.unpack(e + "I", body[12:16])[0]
            if not plaintext:
                pkt_frames += 1
                pkt_bytes += caplen
                continue
            data = body[20:20 + min(caplen, 512)]
            off = 0
            while off + 4 <= len(data):
                tag, tlen = struct.unpack(">HH", data[off:off + 4])
                off += 4 + tlen  # values are not padded
                if tag == 0:
                    break
            hdr = data[off:off + 48]
            if hdr[:4] != b"TLSD":
                raise BenchError(f"{path}: plaintext frame {frames} has no tlsdump header")
            pid = struct.unpack(">I", hdr[12:16])[0]
            plen = struct.unpack(">I", hdr[20:24])[0]
            gaps += struct.unpack(">Q", hdr[40:48])[0]
            by_pid[pid] = by_pid.get(pid, 0) + plen
            frames += 1
    return {"bytes_by_pid": by_pid, "gap_bytes": gaps, "frames": frames,
            "plaintext_isb_drops": pt_drops, "packet_frames": pkt_frames,
            "packet_bytes": pkt_bytes, "packet_drops": pkt_drops}


# ---------------------------------------------------------------------------
# nginx benchmark.

WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d bytes=%d duration_us=%d errors=%d\\n",
    summary.requests, summary.bytes, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


def run_wrk(url, duration, workdir, env, threads=2, conns=50):
    script = os.path.join(workdir, "done.lua")
    with open(script, "w") as f:
        f.write(WRK_SCRIPT)
    outf = os.path.join(workdir, "wrk.out")
    with open(outf, "w") as out:
        p = PROCS.spawn(["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}s", "-s", script, url],
                        stdout=out, stderr=subprocess.STDOUT, env=env)
    return p, outf


def finish_wrk(p, outf, duration):
    status, ru = PROCS.reap(p, duration + 60)
    if status is None:
        PROCS.stop(p, signal.SIGKILL, 5)
        raise BenchError("wrk did not finish")
    text = read_tail(outf, 5000)
    m = re.search(r"BENCH requests=(\d+) bytes=(\d+) duration_us=(\d+) errors=(\d+)", text)
    if status != 0 or not m:
        raise BenchError(f"wrk failed ({status}): {text}")
    return {"requests": int(m.group(1)), "bytes": int(m.group(2)),
            "duration": int(m.group(3)) / 1e6, "errors": int(m.group(4)),
            "cpu": rusage_cpu(ru)}


def nginx_cell(server, tracer, body, duration, workdir, retries):
    """One measurement: a tracer attached (or none) while wrk loads the server."""
    for attempt in range(retries + 1):
        ours = {p.pid for p in PROCS.live}
        foreign, busy_before = wait_until_quiet(ours, QUIET_WAIT)
        syscall_tracers = foreign_syscall_tracers(ours)
        server.rotate_log()  # drop anything before this cell
        tracer.start(workdir, None)
        workers = server.worker_pids()
        tpid = tracer.proc.pid if tracer.proc else None
        w0 = {pid: proc_cpu(pid) for pid in workers}
        t0 = proc_cpu(tpid) if tpid else 0.0
        busy0 = system_busy()
        p, outf = run_wrk(server.url(body), duration, workdir, server.env)
        wrk_pid = p.pid
        wrk = finish_wrk(p, outf, duration)
        busy1 = system_busy()
        workers_cpu = sum(proc_cpu(pid) - w0[pid] for pid in workers)
        t1 = proc_cpu(tpid) if tpid else 0.0
        foreign += [f for f in foreign_probes({pp.pid for pp in PROCS.live}) if f not in foreign]
        time.sleep(0.5)  # nginx finalizes the requests wrk left in flight
        entries = server.rotate_log()
        res = tracer.stop()
        if not foreign or attempt == retries:
            break
        log(f"  other tracers ran during the cell ({', '.join(foreign)}): measuring again")
    req_bytes = sum(e[0] for e in entries)
    resp_bytes = sum(e[1] for e in entries)
    server_side = req_bytes + resp_bytes          # nginx read + wrote
    client_side = wrk["bytes"] + req_bytes        # wrk read (its count) + wrote (nginx read it)
    cell = {
        "body": body, "tracer": tracer.name, "rps": wrk["requests"] / wrk["duration"],
        "requests": wrk["requests"], "wrk_errors": wrk["errors"],
        "log_requests": len(entries),
        "expected_bytes": server_side + client_side,
        "workers_cpu": workers_cpu, "wrk_cpu": wrk["cpu"],
        "others_cpu": max(0.0, (busy1 - busy0) - workers_cpu - wrk["cpu"] - (t1 - t0)),
        "foreign_tracers": foreign, "busy_before": busy_before,
        "syscall_tracers": syscall_tracers,
    }
    if res:
        pids = set(workers) | {wrk_pid}
        cell["captured_bytes"] = sum(v for k, v in res["bytes_by_pid"].items() if k in pids)
        cell["copied_bytes"] = sum(v for k, v in res["copied_by_pid"].items() if k in pids)
        cell["other_pid_bytes"] = sum(v for k, v in res["bytes_by_pid"].items() if k not in pids)
        cell["drop_events"] = res["drop_events"]
        cell["drop_bytes"] = res.get("drop_bytes")
        cell["tracer_cpu"] = res["cpu_total"] - t0  # from wrk's start to the tracer's exit
        cell["tracer_rss_mb"] = res["rss_mb"]
        for k in ("packet_drops", "packet_frames", "file_bytes", "gap_bytes"):
            if k in res:
                cell[k] = res[k]
        cell["completeness"] = cell["captured_bytes"] / cell["expected_bytes"]
        cell["copied"] = cell["copied_bytes"] / cell["expected_bytes"]
    return cell


def bench_nginx(args, workdir, cert, key, results):
    env, libssl = private_libssl(workdir)
    tracers = {
        "untraced": Untraced(),
        "tlsdump": Tlsdump(args.tlsdump, shlex.split(args.tlsdump_args),
                           shlex.split(args.tlsdump_wrap)),
        "tlsdump-nopkt": Tlsdump(args.tlsdump, shlex.split(args.tlsdump_args) + ["--packets=off"],
                                 shlex.split(args.tlsdump_wrap)),
        "sslsniff": None, "bpftrace": Bpftrace(libssl),
    }
    if "--packets=" not in run([args.tlsdump, "--help"], check=False).stdout:
        args.tracers = [t for t in args.tracers if t != "tlsdump-nopkt"]
    order = [t for t in TRACERS if t in args.tracers]
    if "sslsniff" in order:
        tracers["sslsniff"] = Sslsniff(bcc_kernel_headers(), libssl)
    server = SERVERS[args.server](workdir, cert, key, env)
    server.start()
    cells = []
    try:
        for body in args.bodies:
            log(f"{server.name} {body}: warm-up")
            p, outf = run_wrk(server.url(body), 3, workdir, env)
            finish_wrk(p, outf, 3)
            seq = (["untraced"] + order) * args.rounds + ["untraced"]
            for name in seq:
                log(f"{server.name} {body}: {name} ({args.duration} s)")
                cell = nginx_cell(server, tracers[name], body, args.duration, workdir,
                                  args.retries)
                cells.append(cell)
                log("  " + cell_brief(cell))
    finally:
        server.stop()
    results["nginx"] = {"server": server.name, "duration": args.duration,
                        "rounds": args.rounds, "cells": cells,
                        "tlsdump_args": args.tlsdump_args}
    return cells


def cell_brief(c):
    s = f"{c['rps']:.0f} req/s"
    if "captured_bytes" in c:
        s += (f", {100 * c['completeness']:.2f}% complete, drops {c['drop_events']}, "
              f"CPU {c['tracer_cpu']:.2f} s vs nginx {c['workers_cpu']:.2f} s")
    if c["foreign_tracers"]:
        s += f", other tracers: {', '.join(c['foreign_tracers'])}"
    return s


def summarize_nginx(cells):
    """Collapses cells into one row per (body, tracer) with ratios to untraced."""
    rows = []
    bodies = list(dict.fromkeys(c["body"] for c in cells))
    for body in bodies:
        base = [c["rps"] for c in cells if c["body"] == body and c["tracer"] == "untraced"]
        base_rps = statistics.mean(base) if base else float("nan")
        for tracer in dict.fromkeys(c["tracer"] for c in cells if c["body"] == body):
            cs = [c for c in cells if c["body"] == body and c["tracer"] == tracer]
            row = {"body": body, "tracer": tracer, "n": len(cs),
                   "rps": statistics.mean(c["rps"] for c in cs),
                   "rps_all": [round(c["rps"]) for c in cs],
                   "workers_cpu": statistics.mean(c["workers_cpu"] for c in cs),
                   "others_cpu": statistics.mean(c["others_cpu"] for c in cs),
                   "foreign": sorted({f for c in cs for f in c["foreign_tracers"]})}
            row["ratio"] = row["rps"] / base_rps
            if tracer != "untraced":
                row["completeness"] = min(c["completeness"] for c in cs)
                row["copied"] = min(c["copied"] for c in cs)
                row["drops"] = sum(c["drop_events"] for c in cs)
                row["drop_bytes"] = sum(c["drop_bytes"] or 0 for c in cs) \
                    if any(c["drop_bytes"] is not None for c in cs) else None
                row["tracer_cpu"] = statistics.mean(c["tracer_cpu"] for c in cs)
                row["tracer_rss_mb"] = max(c["tracer_rss_mb"] for c in cs)
                if any("packet_drops" in c for c in cs):
                    row["packet_drops"] = sum(c.get("packet_drops", 0) for c in cs)
                    row["packet_frames"] = sum(c.get("packet_frames", 0) for c in cs)
            if "tlsdump" in tracer.split():
                missed = []
                if row["completeness"] < TARGET_COMPLETENESS:
                    missed.append("completeness")
                if row["drops"]:
                    missed.append("drops")
                if row["ratio"] < TARGET_RATIO.get(body, 0.5):
                    missed.append(f"ratio < {TARGET_RATIO.get(body, 0.5):.2f}")
                if row["tracer_cpu"] >= row["workers_cpu"]:
                    missed.append("CPU >= the server's")
                row["targets"] = "met" if not missed else "MISSED: " + ", ".join(missed)
            rows.append(row)
    return rows


def fmt_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def table_nginx(rows, server="nginx"):
    head = ("| body | tracer | requests/s | ratio | completeness | bytes copied | drops "
            f"| tracer CPU s | tracer peak RSS | {server} workers CPU s | other CPU s | targets |")
    out = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        if r["tracer"] == "untraced":
            rps = " / ".join(f"{x:,}" for x in r["rps_all"])
            cells = [r["body"], "untraced", f"{r['rps']:,.0f} ({rps})", "1.00", "", "", "", "",
                     "", f"{r['workers_cpu']:.1f}", f"{r['others_cpu']:.1f}", ""]
        else:
            drops = f"{r['drops']:,}"
            if r.get("drop_bytes"):
                drops += f" ({fmt_bytes(r['drop_bytes'])})"
            if r.get("packet_frames"):
                drops += (f"; packets: {r['packet_drops']:,} dropped, "
                          f"{r['packet_frames']:,} written")
            cells = [r["body"], r["tracer"], f"{r['rps']:,.0f}", f"{r['ratio']:.2f}",
                     f"{100 * r['completeness']:.2f}%", f"{100 * r['copied']:.2f}%", drops,
                     f"{r['tracer_cpu']:.1f}", f"{r['tracer_rss_mb']:.0f} MiB",
                     f"{r['workers_cpu']:.1f}", f"{r['others_cpu']:.1f}", r.get("targets", "")]
        if r["foreign"]:
            cells[-1] = (cells[-1] + " (other tracers ran: noisy)").strip()
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


# ---------------------------------------------------------------------------
# Micro-benchmark: ns per TLS call.

def build_ssl_loop(workdir):
    exe = os.path.join(workdir, "ssl_loop")
    run(["cc", "-O2", "-Wall", "-o", exe, os.path.join(HERE, "ssl_loop.c"), "-lssl", "-lcrypto"])
    return exe


def ssl_loop(exe, mode, size, iters, cert, key, env, repeat=3):
    """ns per call: the lowest of @repeat ssl_loop runs (other load on the
    machine only ever adds time)."""
    return min(ssl_loop_quiet(exe, mode, size, iters, cert, key, env) for _ in range(repeat))


def ssl_loop_quiet(exe, mode, size, iters, cert, key, env, attempts=4):
    """ns per call of one ssl_loop run, repeated while another tracer (which
    would probe this loop's libssl too) showed up during it."""
    for attempt in range(attempts):
        ours = {p.pid for p in PROCS.live}
        wait_until_quiet(ours, min(QUIET_WAIT, 120))
        ns = ssl_loop_once(exe, mode, size, iters, cert, key, env)
        foreign = foreign_probes(ours)
        if not foreign:
            return ns
        log(f"  other tracers ran during ssl_loop {mode} {size} ({', '.join(foreign)}): again")
    return ns


def ssl_loop_once(exe, mode, size, iters, cert, key, env):
    p = PROCS.spawn([exe, mode, str(size), str(iters), cert, key], stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE, cpu=os.cpu_count() - 1, env=env)
    try:
        out, err = p.communicate(timeout=300)
    finally:
        if p in PROCS.live:
            PROCS.live.remove(p)
    m = re.search(r"ns_per_call=(\d+)", out.decode())
    if p.returncode != 0 or not m:
        raise BenchError(f"ssl_loop {mode} {size} failed: {err.decode().strip()}")
    return int(m.group(1))


def tracefs_append(name, line):
    """Appends one command to a tracefs control file (no seek: tracefs refuses it)."""
    fd = os.open(os.path.join(TRACEFS, name), os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def remove_bcc_leftovers(pid):
    """bcc registers its uprobes in tracefs as ..._bcc_<pid>; a tracer that had
    to be killed leaves them there: remove those of @pid."""
    try:
        with open(os.path.join(TRACEFS, "uprobe_events")) as f:
            events = [l.split()[0].split(":", 1)[1] for l in f if l.strip()]
    except OSError:
        return
    for ev in events:
        if ev.endswith(f"_bcc_{pid}"):
            try:
                tracefs_append("uprobe_events", f"-:{ev}")
            except OSError:
                pass


class TracefsProbes:
    """Plain kernel uprobe events (no BPF, an ftrace record per hit) on
    SSL_write and SSL_read, in a private tracefs instance: the reference for
    what the probed instruction costs, independent of tlsdump."""
    GROUP = "tlsdump_bench"

    def __init__(self, libssl):
        self.lib = libssl
        self.inst = os.path.join(TRACEFS, "instances", self.GROUP)
        self.events = []

    @staticmethod
    def symbol_offsets(lib):
        """Returns {symbol: (file offset of the entry, file offset of the first
        call within 0x40 bytes, or None)} for SSL_read and SSL_write of @lib."""
        segs = []
        for line in run(["readelf", "-lW", lib]).stdout.splitlines():
            f = line.split()
            if f and f[0] == "LOAD":
                segs.append((int(f[2], 16), int(f[1], 16), int(f[4], 16)))  # vaddr, off, filesz

        def file_offset(vaddr):
            for seg_vaddr, seg_off, size in segs:
                if seg_vaddr <= vaddr < seg_vaddr + size:
                    return vaddr - seg_vaddr + seg_off
            raise BenchError(f"{lib}: address {vaddr:#x} is in no LOAD segment")

        syms = {}
        for line in run(["nm", "-D", "--defined-only", lib]).stdout.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[2].split("@")[0] in ("SSL_read", "SSL_write"):
                syms[parts[2].split("@")[0]] = int(parts[0], 16)
        res = {}
        for name, addr in syms.items():
            dis = run(["objdump", "-d", f"--start-address={addr:#x}",
                       f"--stop-address={addr + 0x40:#x}", lib]).stdout
            call = None
            for line in dis.splitlines():
                m = re.match(r"\s*([0-9a-f]+):\s+(?:[0-9a-f]{2} )+\s*call\b", line)
                if m:
                    call = file_offset(int(m.group(1), 16))
                    break
            res[name] = (file_offset(addr), call)
        return res

    def setup(self, kinds):
        if not os.path.isdir(os.path.join(TRACEFS, "events")):
            run(["mount", "-t", "tracefs", "nodev", TRACEFS])
        offs = self.symbol_offsets(self.lib)
        os.makedirs(self.inst, exist_ok=True)
        for name, (entry, call) in offs.items():
            for kind in kinds:
                if kind == "entry":
                    spec = f"p:{self.GROUP}/{name}_entry {self.lib}:{entry:#x}"
                elif kind == "call":
                    if call is None:
                        raise BenchError(f"no call instruction near the start of {name}")
                    spec = f"p:{self.GROUP}/{name}_call {self.lib}:{call:#x}"
                else:
                    spec = f"r:{self.GROUP}/{name}_ret {self.lib}:{entry:#x}"
                tracefs_append("uprobe_events", spec)
                self.events.append(spec.split()[0].split(":")[1])
        return offs

    def enable(self, kinds, on):
        for ev in self.events:
            if ev.rsplit("_", 1)[1] in kinds:
                with open(os.path.join(self.inst, "events", ev, "enable"), "w") as f:
                    f.write("1" if on else "0")

    def teardown(self):
        for ev in self.events:
            try:
                with open(os.path.join(self.inst, "events", ev, "enable"), "w") as f:
                    f.write("0")
            except OSError:
                pass
        for ev in self.events:
            try:
                tracefs_append("uprobe_events", f"-:{ev}")
            except OSError:
                pass
        self.events = []
        try:
            os.rmdir(self.inst)
        except OSError:
            pass


def bench_micro(args, workdir, cert, key, results):
    exe = build_ssl_loop(workdir)
    env, libssl = private_libssl(workdir)
    sizes = args.micro_sizes
    combos = [(m, s) for m in ("bio", "socketpair") for s in sizes] + [("syscall", 1)]
    iters = args.micro_iterations

    def pass_all():
        return {(m, s): ssl_loop(exe, m, s, iters if m != "syscall" else iters * 10, cert, key, env)
                for m, s in combos}

    log("micro: no probe")
    base1 = pass_all()
    log("micro: tlsdump attached")
    td = Tlsdump(args.tlsdump, shlex.split(args.tlsdump_args))
    # tlsdump hooks a library through a process that maps it, by that
    # process's /proc/PID/root: a long-lived one must hold the copy (each
    # ssl_loop may exit before the attach is done).
    anchor = PROCS.spawn(["/usr/bin/python3", "-c", "import ssl, time; time.sleep(3600)"],
                         env=env)
    td.start(workdir, None)
    try:
        deadline = time.monotonic() + 60
        while not any(e.get("pid") == td.proc.pid and e.get("fd_type") == "uretprobe"
                      and libssl in e.get("filename", "") for e in bpf_perf_links()):
            if time.monotonic() > deadline:
                raise BenchError(f"tlsdump did not hook {libssl}")
            time.sleep(0.2)
        traced = pass_all()
    finally:
        tres = td.stop()
        PROCS.stop(anchor, signal.SIGKILL, 5)
    log("micro: no probe again")
    base2 = pass_all()

    # Reference probes on SSL_write and SSL_read themselves, over the memory BIO.
    ref = {}
    tp = TracefsProbes(libssl)
    try:
        offs = tp.setup(("entry", "call", "ret"))
        ref_size = sizes[0]
        for label, kinds in (("entry", ("entry",)), ("call", ("call",)),
                             ("entry+ret", ("entry", "ret"))):
            tp.enable(kinds, True)
            try:
                ref[label] = ssl_loop(exe, "bio", ref_size, iters, cert, key, env)
            finally:
                tp.enable(kinds, False)
        ref["none"] = ssl_loop(exe, "bio", ref_size, iters, cert, key, env)
    finally:
        tp.teardown()
    rows = []
    for m, s in combos:
        b = (base1[(m, s)] + base2[(m, s)]) / 2
        rows.append({"mode": m, "size": s, "base": b, "base_runs": [base1[(m, s)], base2[(m, s)]],
                     "tlsdump": traced[(m, s)], "delta": traced[(m, s)] - b})
    results["micro"] = {"rows": rows, "iterations": iters, "tlsdump_drops": tres["drop_events"],
                        "tlsdump_drop_bytes": tres["drop_bytes"],
                        "reference": {"size": sizes[0], "ns": ref,
                                      "sites": {k: [hex(v[0]), hex(v[1]) if v[1] else None]
                                                for k, v in offs.items()}}}
    return results["micro"]


def table_micro(micro):
    out = ["| transport | bytes per call | no probe (ns/call) | tlsdump (ns/call) | "
           "tlsdump cost (ns/call) |", "|---|---|---|---|---|"]
    names = {"bio": "memory BIO pair (no syscall, no tuple)",
             "socketpair": "AF_UNIX socketpair (1 syscall per call, no TCP tuple)",
             "syscall": "no TLS: write(2) of 1 byte to /dev/null"}
    for r in micro["rows"]:
        out.append(f"| {names[r['mode']]} | {r['size']} | {r['base']:,.0f} "
                   f"({' / '.join(f'{x:,}' for x in r['base_runs'])}) | {r['tlsdump']:,} | "
                   f"{r['delta']:,.0f} |")
    out.append("")
    out.append(f"tlsdump dropped {micro['tlsdump_drops']:,} frames "
               f"({fmt_bytes(micro['tlsdump_drop_bytes'] or 0)}) during its pass.")
    ref = micro["reference"]
    out.append("")
    sites = ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in ref["sites"].items())
    out.append(f"Reference, memory BIO, {ref['size']} bytes per call: plain kernel uprobe events "
               "(tracefs, no BPF program) on both SSL_write and SSL_read "
               f"(file offsets of entry/first call: {sites}).")
    out.append("")
    out.append("| probe | ns/call | cost (ns/call) |")
    out.append("|---|---|---|")
    base = ref["ns"]["none"]
    labels = {"none": "no probe", "entry": "uprobe at entry (`sub`: single-stepped)",
              "call": "uprobe at the first `call` (emulated)",
              "entry+ret": "uprobe at entry + uretprobe"}
    for k in ("none", "entry", "call", "entry+ret"):
        out.append(f"| {labels[k]} | {ref['ns'][k]:,} | {ref['ns'][k] - base:,} |")
    return "\n".join(out)


# ---------------------------------------------------------------------------
# Attach cost.

def spawn_population(n_ssl, n_plain):
    procs = []
    for _ in range(n_ssl):
        procs.append(PROCS.spawn(["/usr/bin/python3", "-c",
                                  "import ssl, time; time.sleep(600)"]))
    for _ in range(n_plain):
        procs.append(PROCS.spawn(["sleep", "600"]))
    deadline = time.monotonic() + 120
    for p in procs[:n_ssl]:
        while True:
            try:
                with open(f"/proc/{p.pid}/maps") as f:
                    if "libssl" in f.read():
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise BenchError("the Python processes did not load libssl in time")
            time.sleep(0.05)
    return procs


def time_tlsdump_start(args, workdir):
    logf = os.path.join(workdir, "attach.log")
    errf = os.path.join(workdir, "attach.err")
    out = os.path.join(workdir, "attach.pcapng")
    for f in (logf, out):
        if os.path.exists(f):
            os.unlink(f)
    t0 = time.time()
    with open(errf, "w") as err:
        p = PROCS.spawn([args.tlsdump, "-w", out, "--log-file", logf, "--log-level", "info"]
                        + shlex.split(args.tlsdump_args), stderr=err)
    wait_for_log_line(p, logf, "capturing", 120, errf)
    t_stop = time.time()
    status, ru = PROCS.stop(p, signal.SIGINT, 60)
    t_end = time.time()
    # tlsdump exits at once and leaves the uprobe detach to a child (the
    # kernel's grace periods take seconds); the next start would wait for it
    # in the kernel, so it is timed here and awaited.
    released = wait_released(args.tlsdump, 120)
    with open(logf) as f:
        text = f.read()
    m = re.search(r"^(\d+\.\d+) info: capturing \((\d+) target files\)", text, re.M)
    if not m:
        raise BenchError(f"no capturing line in {logf}")
    # BPF load and kernel-side attach happen before the first target is seen;
    # scanning /proc and attaching the uprobes after.
    first = re.search(r"^(\d+\.\d+) info: target \d+: ", text, re.M)
    t_first = float(first.group(1)) if first else float(m.group(1))
    os.unlink(out)
    return {"to_capturing": float(m.group(1)) - t0, "targets": int(m.group(2)),
            "load": t_first - t0, "discover_attach": float(m.group(1)) - t_first,
            "stop": t_end - t_stop, "released": released - t_stop, "cpu": rusage_cpu(ru),
            "status": status}


def wait_released(binary, timeout):
    """Waits until no process runs @binary (tlsdump's background detach
    child); returns when it was last seen, as time.time()."""
    real = os.path.realpath(binary)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = False
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                if os.path.realpath(f"/proc/{d}/exe") == real:
                    alive = True
                    break
            except OSError:
                pass
        if not alive:
            return time.time()
        time.sleep(0.02)
    raise BenchError(f"a {binary} process was still running {timeout} s after SIGINT")


def bench_attach(args, workdir, results):
    rows = []
    for label, n_ssl, n_plain in (("idle machine", 0, 0),
                                  ("+100 python3 with libssl, +100 sleep", 100, 100)):
        pop = spawn_population(n_ssl, n_plain) if n_ssl + n_plain else []
        try:
            nprocs = sum(1 for d in os.listdir("/proc") if d.isdigit())
            runs = []
            for _ in range(args.attach_runs):
                wait_until_quiet({p.pid for p in PROCS.live}, min(QUIET_WAIT, 120))
                runs.append(time_tlsdump_start(args, workdir))
        finally:
            for p in pop:
                PROCS.stop(p, signal.SIGKILL, 5)
        rows.append({"label": label, "processes": nprocs, "runs": runs,
                     "median": statistics.median(r["to_capturing"] for r in runs),
                     "min": min(r["to_capturing"] for r in runs),
                     "released_median": statistics.median(r["released"] for r in runs),
                     "max": max(r["to_capturing"] for r in runs),
                     "stop_median": statistics.median(r["stop"] for r in runs),
                     "load_median": statistics.median(r["load"] for r in runs),
                     "discover_median": statistics.median(r["discover_attach"] for r in runs),
                     "discover_max": max(r["discover_attach"] for r in runs),
                     "cpu_median": statistics.median(r["cpu"] for r in runs),
                     "targets": runs[0]["targets"]})
        log(f"attach, {label}: {rows[-1]['median'] * 1000:.0f} ms to capturing")
    results["attach"] = rows
    return rows


def table_attach(rows):
    out = ["| machine | processes | target files | start to \"capturing\" (median, min-max) | "
           "of which BPF load + kernel attach (median) | /proc scan + uprobes (median, max) | "
           "SIGINT to exit (median) | SIGINT to probes detached, in a child (median) | "
           "tlsdump CPU s (median) |", "|---" * 9 + "|"]
    for r in rows:
        out.append(f"| {r['label']} | {r['processes']} | {r['targets']} | "
                   f"{r['median'] * 1000:,.0f} ms "
                   f"({r['min'] * 1000:,.0f}-{r['max'] * 1000:,.0f}) | "
                   f"{r['load_median'] * 1000:,.0f} ms | {r['discover_median'] * 1000:,.0f} ms "
                   f"({r['discover_max'] * 1000:,.0f}) | "
                   f"{r['stop_median'] * 1000:,.0f} ms | "
                   f"{r.get('released_median', 0) * 1000:,.0f} ms | {r['cpu_median']:.2f} |")
    return "\n".join(out)


# ---------------------------------------------------------------------------

def machine_block(m):
    v = m["versions"]
    return (f"{m['date']}: {m['nproc']} vCPU {m['cpu']}, {m['memory_gib']} GiB, kernel "
            f"{m['kernel']}, {m['os']}; libssl3 {v['libssl3']}, nginx-light {v['nginx-light']}, "
            f"wrk {v['wrk']}, bpfcc-tools {v['bpfcc-tools']}, bpftrace {v['bpftrace']}; "
            f"{m['tlsdump']}")


def report(results):
    parts = ["Machine: " + machine_block(results["machine"])]
    res = sorted({t for c in results.get("nginx", {}).get("cells", [])
                  for t in c.get("syscall_tracers", [])})
    if res:
        parts.append(f"\nOther processes had BPF programs on syscall tracepoints during the "
                     f"nginx cells (not started by this run): {', '.join(res)}. They tax every "
                     "read/write of nginx and wrk in every cell, untraced ones included.")
    if "nginx" in results:
        n = results["nginx"]
        parts.append(f"\n### {n['server']} over TLS, wrk -t2 -c50 -d{n['duration']}s, "
                     f"{n['rounds']} round(s), ratios to the untraced cells of this run\n")
        parts.append(table_nginx(summarize_nginx(n["cells"]), n["server"]))
    if "micro" in results:
        parts.append(f"\n### Per-call cost, {results['micro']['iterations']:,} write+read pairs "
                     "per run, median of 20 batches, lowest of 3 runs\n")
        parts.append(table_micro(results["micro"]))
    if "attach" in results:
        parts.append("\n### Attach cost\n")
        parts.append(table_attach(results["attach"]))
    return "\n".join(parts) + "\n"


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", nargs="?", default="all", choices=("all", "nginx", "micro", "attach"))
    ap.add_argument("--tlsdump", default=DEFAULT_TLSDUMP,
                    help="tlsdump binary (default: %(default)s)")
    ap.add_argument("--rev", help="build and measure tlsdump at this git revision instead "
                    "(into " + CACHE_DIR + ")")
    ap.add_argument("--tlsdump-args", default="", help="extra tlsdump options, e.g. "
                    "'--ring-buffer-mb 128'")
    ap.add_argument("--tlsdump-wrap", default="", help="command prefix for tlsdump in the "
                    "nginx cells, e.g. 'chrt -f 10'")
    ap.add_argument("--server", default="nginx", choices=sorted(SERVERS))
    ap.add_argument("--duration", type=int, default=10, help="seconds of wrk per cell (default 10)")
    ap.add_argument("--quick", action="store_true", help="3 s cells, fewer iterations")
    ap.add_argument("--rounds", type=int, default=1,
                    help="times the tracer sequence repeats between untraced cells")
    ap.add_argument("--bodies", default="1k,64k", help="comma list of 1k, 64k")
    ap.add_argument("--tracers", default=",".join(TRACERS),
                    help="comma list of %(default)s (tlsdump-nopkt: --packets=off)")
    ap.add_argument("--retries", type=int, default=1,
                    help="re-measure a cell during which another tracer ran (default 1)")
    ap.add_argument("--micro-sizes", default="64,1024,16384")
    ap.add_argument("--micro-iterations", type=int, default=20000)
    ap.add_argument("--attach-runs", type=int, default=5)
    ap.add_argument("--max-wait", type=int, default=QUIET_WAIT,
                    help="seconds to wait before each cell for other tracers to end and "
                    "the machine to calm down (default %(default)s)")
    ap.add_argument("--skip-install", action="store_true", help="do not apt-get install")
    ap.add_argument("--json", help="also write the raw results here")
    ap.add_argument("--markdown", help="also write the tables here")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args(argv)
    a.bodies = [b for b in a.bodies.split(",") if b]
    a.tracers = [t for t in a.tracers.split(",") if t]
    a.micro_sizes = [int(s) for s in a.micro_sizes.split(",")]
    for b in a.bodies:
        if b not in BODIES:
            ap.error(f"unknown body {b}")
    for t in a.tracers:
        if t not in TRACERS:
            ap.error(f"unknown tracer {t}")
    if a.quick:
        a.duration = min(a.duration, 3)
        a.micro_iterations = min(a.micro_iterations, 4000)
        a.attach_runs = min(a.attach_runs, 2)
    return a


def main(argv):
    global QUIET_WAIT
    args = parse_args(argv)
    QUIET_WAIT = args.max_wait
    if os.geteuid() != 0:
        print("bench.py: run as root (eBPF, nginx on loopback, apt-get)", file=sys.stderr)
        return 2
    if args.rev:
        try:
            args.tlsdump = build_tlsdump_rev(args.rev)
        except BenchError as e:
            print(f"bench.py: {e}", file=sys.stderr)
            return 1
    if not os.access(args.tlsdump, os.X_OK):
        print(f"bench.py: no tlsdump binary at {args.tlsdump}: build it first "
              "(cmake -S . -B build && cmake --build build)", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    os.makedirs(CACHE_DIR, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="run-", dir=CACHE_DIR)
    os.chmod(workdir, 0o755)
    results = {}
    try:
        ensure_packages(args.skip_install)
        results["machine"] = machine_description(args.tlsdump)
        cert, key = make_cert(workdir)
        if args.what in ("all", "nginx"):
            bench_nginx(args, workdir, cert, key, results)
        if args.what in ("all", "micro"):
            bench_micro(args, workdir, cert, key, results)
        if args.what in ("all", "attach"):
            bench_attach(args, workdir, results)
    except (BenchError, subprocess.TimeoutExpired) as e:
        print(f"bench.py: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench.py: interrupted", file=sys.stderr)
        return 130
    finally:
        PROCS.kill_all()
        if args.json and results:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=1, default=str)
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            log(f"work directory kept: {workdir}")
    text = report(results)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
