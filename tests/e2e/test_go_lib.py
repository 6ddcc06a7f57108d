#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers of the Go crypto/tls e2e tests (test_go_*.py); stdlib only.

Not a test itself (run as a script it only says so and exits 0; ctest skips
test_*_lib.py). It builds on tests/lib/tlsdump_e2e.py and tlsdump_pcapng.py:

* go_build(): builds tests/e2e/go_fixture (an HTTPS server and client using
  only Go's standard library, net/http with HTTP/2) with the installed `go`,
  offline (GOPROXY=off, no modules), in one of several VARIANTS (normal,
  stripped, PIE, ...). Binaries are cached in $TLSDUMP_GO_CACHE, else
  $TMPDIR/tlsdump-go-cache, keyed by the fixture sources, the toolchain and
  the flags, so only the first test pays for a build;
* GoTest: E2ETest plus a copy of a binary under a name of its own (its comm),
  the server and client of the fixture, and waiting for tlsdump's log to say
  it hooked that file (probes attach per file: the client, run later, is the
  same file as the server, so even a short client run is captured);
* HTTP/2 and HTTP/1.1 parsers for rebuilt plaintext streams.

main() exits 77 (skipped) when not root or when `go` is missing.
"""

import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "lib"))
if "--lib" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--lib") + 1])
import tlsdump_e2e as e2e  # noqa: E402
import tlsdump_pcapng as pcapng  # noqa: E402

FIXTURE = os.path.join(_HERE, "go_fixture")
CACHE = os.environ.get("TLSDUMP_GO_CACHE") or os.path.join(tempfile.gettempdir(),
                                                            "tlsdump-go-cache")

# name -> go build flags. The first three are the issue's; the last one is a
# gcc-linked stripped PIE (.gopclntab merged into .data.rel.ro, found by magic).
VARIANTS = {
    "normal": [],
    "stripped": ["-ldflags", "-s -w"],
    "pie": ["-buildmode=pie"],
    "pie-ext-stripped": ["-buildmode=pie", "-ldflags", "-s -w -linkmode=external"],
}

STOP_TIMEOUT = 120
SETTLE = 0.5
LINGER = 0.3

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_DATA, H2_HEADERS, H2_SETTINGS, H2_CONTINUATION = 0, 1, 4, 9
H2_END_STREAM, H2_PADDED, H2_PRIORITY = 0x1, 0x8, 0x20

# "target N PATH: hooked ..." / "target N PATH: skipped: ..."
STATUS_RE = re.compile(r"^\S+ \w+: target (\d+) (.+?): ((?:hooked|skipped).*)$", re.M)
GO_TARGET_RE = re.compile(r"^\S+ \w+: target (\d+): Go program (.+) \((.*)\) in pid (\d+)$", re.M)


def main():
    if os.geteuid() == 0 and not shutil.which("go"):
        print("SKIP: the Go e2e tests need the go toolchain (Debian package golang-go)")
        sys.exit(e2e.SKIP)
    e2e.main()


def go_env():
    """Environment of `go build`: offline, caches under CACHE, no user config."""
    env = dict(os.environ)
    env.update(GOCACHE=os.path.join(CACHE, "gocache"), GOPATH=os.path.join(CACHE, "gopath"),
               GOPROXY="off", GOFLAGS="", GO111MODULE="on", GOWORK="off", GOENV="off",
               GOTOOLCHAIN="local", GOTELEMETRY="off")
    env.setdefault("HOME", CACHE)
    return env


@functools.lru_cache(maxsize=None)
def go_version():
    """`go env GOVERSION`, e.g. go1.19.8 (cached: `go` itself is a Go program with
    crypto/tls, so running it during a capture would make tlsdump hook it too)."""
    out = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, timeout=60,
                         env=go_env(), check=True)
    return out.stdout.strip()


def go_minor():
    """The toolchain's release without the patch level, e.g. go1.19."""
    return re.match(r"go1\.\d+", go_version()).group(0)


def go_build(variant):
    """Path of the fixture built as @variant (cached)."""
    flags = VARIANTS[variant]
    h = hashlib.sha256()
    for name in sorted(os.listdir(FIXTURE)):
        if name.endswith((".go", ".mod")):
            h.update(name.encode() + b"\0" + e2e.read_bytes(os.path.join(FIXTURE, name)) + b"\0")
    ver = subprocess.run(["go", "version"], capture_output=True, text=True, timeout=60,
                         env=go_env(), check=True).stdout
    h.update(ver.encode() + b"\0" + "\0".join(flags).encode())
    os.makedirs(os.path.join(CACHE, "bin"), exist_ok=True)
    out = os.path.join(CACHE, "bin", "%s-%s" % (variant, h.hexdigest()[:16]))
    if os.path.exists(out):
        return out
    with open(os.path.join(CACHE, "build.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(out):
            return out
        tmp = out + ".tmp%d" % os.getpid()
        proc = subprocess.run(["go", "build", "-trimpath", *flags, "-o", tmp, "."], cwd=FIXTURE,
                              capture_output=True, text=True, timeout=600, env=go_env())
        if proc.returncode:
            raise AssertionError("go build %s failed:\n%s%s" % (" ".join(flags), proc.stdout,
                                                                 proc.stderr))
        os.replace(tmp, out)
        # Older builds of this variant (earlier fixture sources or toolchains).
        for name in os.listdir(os.path.join(CACHE, "bin")):
            old = os.path.join(CACHE, "bin", name)
            if re.fullmatch(re.escape(variant) + r"-[0-9a-f]{16}", name) and old != out:
                try:
                    os.unlink(old)
                except OSError:
                    pass
    return out


# --- HTTP/2 ---------------------------------------------------------------

class H2Frame:
    def __init__(self, offset, ftype, flags, sid, payload):
        self.offset, self.type, self.flags, self.sid, self.payload = (offset, ftype, flags, sid,
                                                                      payload)

    @property
    def data(self):
        """The data of a DATA frame without padding."""
        if self.type != H2_DATA:
            raise ValueError("not a DATA frame")
        if self.flags & H2_PADDED:
            pad = self.payload[0]
            return self.payload[1:len(self.payload) - pad]
        return self.payload

    def __repr__(self):
        return "<H2 type=%d flags=0x%x sid=%d len=%d @%d>" % (self.type, self.flags, self.sid,
                                                             len(self.payload), self.offset)


def h2_frames(data, client_side):
    """Parses a rebuilt HTTP/2 byte stream (@client_side: the client's writes, which
    start with the connection preface); returns ([H2Frame], leftover bytes).
    Raises AssertionError when the stream is not HTTP/2."""
    pos = 0
    if client_side:
        if not data.startswith(H2_PREFACE):
            raise AssertionError("client stream does not start with the HTTP/2 preface: %r"
                                 % data[:40])
        pos = len(H2_PREFACE)
    frames = []
    while pos + 9 <= len(data):
        length = int.from_bytes(data[pos:pos + 3], "big")
        ftype, flags = data[pos + 3], data[pos + 4]
        sid = int.from_bytes(data[pos + 5:pos + 9], "big") & 0x7FFFFFFF
        if ftype > 9 or length > (1 << 24):
            raise AssertionError("not an HTTP/2 frame at offset %d: %r" % (pos, data[pos:pos + 20]))
        if pos + 9 + length > len(data):
            break
        frames.append(H2Frame(pos, ftype, flags, sid, data[pos + 9:pos + 9 + length]))
        pos += 9 + length
    if not client_side and frames and frames[0].type != H2_SETTINGS:
        raise AssertionError("server stream does not start with SETTINGS: %r" % frames[0])
    return frames, data[pos:]


def h2_bodies(frames):
    """{stream id: concatenated DATA payloads} (streams with DATA only)."""
    out = {}
    for f in frames:
        if f.type == H2_DATA and f.sid:
            out[f.sid] = out.get(f.sid, b"") + f.data
    return out


# --- HTTP/1.1 -------------------------------------------------------------

def h1_messages(data):
    """Splits an HTTP/1.1 byte stream into [(start line, {header: value}, body)];
    Content-Length and chunked bodies. Raises AssertionError on malformed input."""
    out = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\r\n\r\n", pos)
        if end < 0:
            raise AssertionError("incomplete HTTP/1.1 header at offset %d: %r"
                                 % (pos, data[pos:pos + 80]))
        lines = data[pos:end].decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        pos = end + 4
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                eol = data.find(b"\r\n", pos)
                if eol < 0:
                    raise AssertionError("incomplete chunk size at offset %d" % pos)
                size = int(data[pos:eol].split(b";")[0], 16)
                pos = eol + 2
                if size == 0:
                    tend = data.find(b"\r\n\r\n", pos - 2)
                    if tend < 0:
                        raise AssertionError("incomplete chunked trailer at offset %d" % pos)
                    pos = tend + 4
                    break
                body += data[pos:pos + size]
                pos += size + 2
        else:
            n = int(headers.get("content-length", "0"))
            body = data[pos:pos + n]
            if len(body) != n:
                raise AssertionError("body of %d bytes, Content-Length %d" % (len(body), n))
            pos += n
        out.append((lines[0], headers, body))
    return out


# --- the test base class --------------------------------------------------

class GoTest(e2e.E2ETest):
    """E2ETest with the Go fixture."""

    def go_binary(self, variant, name):
        """A copy of the fixture built as @variant, named @name (its comm: at most
        15 characters), in the work directory; returns its real path."""
        self.assertLessEqual(len(name), 15, "comm names are at most 15 characters")
        try:
            built = go_build(variant)
        except AssertionError as e:
            if variant == "pie-ext-stripped" and not shutil.which("gcc"):
                self.skipTest("external linking needs gcc")
            raise e
        go_version()
        path = os.path.realpath(self.path(name))
        shutil.copy(built, path)
        os.chmod(path, 0o755)
        return path

    def go_server(self, binary, name="goserver"):
        """Starts `binary server`; returns a Peer with .port and .echo_log."""
        cert, key = self.cert()
        port_file = self.path(name + ".port")
        echo_log = self.path(name + "-echo.jsonl")
        p = self.spawn([binary, "server", "-cert", cert, "-key", key, "-port-file", port_file,
                        "-log", echo_log], name)

        def port():
            if p.poll() is not None:
                raise AssertionError("%s exited with %d: %s" % (
                    name, p.returncode, e2e.read_text(self.path(name + ".err"))))
            return os.path.exists(port_file) and e2e.read_text(port_file)
        self.addCleanup(self.kill_proc, p)  # before E2ETest's cleanup, which may give up
        return e2e.Peer(p, name, port=int(e2e.wait_for(port, 20, name + " to listen")),
                        echo_log=echo_log, binary=binary)

    @staticmethod
    def kill_proc(p):
        if p.poll() is None:
            p.kill()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                pass

    def stop_capture(self, cap, settle=SETTLE):
        """Waits @settle s, then SIGINT, exit code 0.

        The wait: a write is captured when its call returns, which can be after
        its peer already read the bytes (the goroutine's thread not yet
        scheduled again on a busy host); stopping at once could miss that frame.
        The timeout: detaching uprobes waits for RCU grace periods; with several
        Go programs hooked (18 probes each) on a busy host, tlsdump takes many
        seconds to exit after its output is complete."""
        time.sleep(settle)
        return cap.stop(timeout=STOP_TIMEOUT)

    def echo_log(self, server):
        """The server's echo log: [{remote, proto, body, marker}]."""
        return [json.loads(l) for l in e2e.read_text(server.echo_log).splitlines() if l.strip()]

    def go_client(self, binary, port, actions, h1=False, name="goclient", timeout=60,
                  extra=(), linger=LINGER):
        """Runs `binary client` against 127.0.0.1:@port; returns its Peer with .results
        (one dict per request: action, status, proto, local, len, sha256, body, sent).

        The client keeps its connections open for @linger s after the last
        response: when it exits at once, Go's HTTP/2 server closes the connection
        while its writer goroutine may still be returning from the Write of that
        response, and tlsdump then loses the frame's connection (see
        test_go_write_after_close.py); that bug has its own test."""
        out = self.path(name + ".jsonl")
        argv = [binary, "client", "-base", "https://127.0.0.1:%d" % port, "-out", out,
                "-linger", "%dms" % int(linger * 1000), *(["-h1"] if h1 else []), *extra,
                *actions]
        p = self.spawn(argv, name)
        self.wait_proc(p, name, timeout)
        peer = e2e.Peer(p, name, argv=argv)
        peer.results = [json.loads(l) for l in e2e.read_text(out).splitlines() if l.strip()]
        for r in peer.results:
            self.assertEqual(r["status"], 200, "%s: %r" % (name, r))
            r["local_addr"] = split_addr(r["local"])
        return peer

    def go_status(self, cap, binary):
        """tlsdump's status line for the file @binary ("hooked ..." or "skipped: ..."),
        or None while it has not logged one."""
        for m in STATUS_RE.finditer(e2e.read_text(cap.log)):
            if m.group(2) == binary:
                return m.group(3)
        return None

    def wait_hooked(self, cap, binary, timeout=20):
        """Waits until tlsdump logs that it hooked crypto/tls in @binary; returns the
        status ("hooked crypto/tls Read/Write and writeKeyLog: N probes (...)")."""
        def hooked():
            if cap.proc.poll() is not None:
                raise AssertionError("tlsdump exited with %d\n%s" % (cap.proc.returncode,
                                                                      cap.diagnostics()))
            st = self.go_status(cap, binary)
            if st is not None and not st.startswith("hooked crypto/tls"):
                raise AssertionError("tlsdump did not hook %s: %s\n%s" % (binary, st,
                                                                           cap.diagnostics()))
            return st
        return e2e.wait_for(hooked, timeout, "tlsdump to hook %s\n%s" % (binary,
                                                                           cap.diagnostics()))

    def go_target(self, cap, binary):
        """(name, version, pid) of tlsdump's 'Go program' log line for @binary's name."""
        name = os.path.basename(binary)
        for m in GO_TARGET_RE.finditer(e2e.read_text(cap.log)):
            if m.group(2) == name:
                return m.group(2), m.group(3), int(m.group(4))
        return None

    def conn_streams(self, frames, pid):
        """{conn id: {DIR_READ: Stream, DIR_WRITE: Stream}} of process @pid."""
        out = {}
        for (conn, direction), s in pcapng.streams(self.only(frames, pid)).items():
            out.setdefault(conn, {})[direction] = s
        return out

    def assert_go_frames(self, frames, comm, role, local, remote, what):
        """Library Go, the libname 'go ' + the toolchain's version (go1.19.8 on Debian
        12), @comm, @role
        and the 5-tuple seen from the process for each of @frames."""
        self.assertTrue(frames, "%s: no frame" % what)
        version = go_version()
        for f in frames:
            self.assertEqual(f.library, pcapng.LIB_GO, "%s: library of %r" % (what, f))
            # "go go1.19.8" with Debian 12's toolchain: the version of the binary.
            self.assertEqual(f.libname, "go " + version, "%s: libname" % what)
            self.assertEqual(f.comm, comm, "%s: comm of %r" % (what, f))
            self.assertEqual(f.role, role, "%s: role of %r (%s)" % (what, f, f.role_name))
            self.assertEqual(f.flags & pcapng.FLAG_GAP, 0, "%s: gap in %r" % (what, f))
        self.assert_tuple(frames, local, remote, what)


def split_addr(s):
    """'127.0.0.1:1234' -> ('127.0.0.1', 1234)."""
    host, _, port = s.rpartition(":")
    return (host.strip("[]"), int(port))


def big_body(seed, size):
    """The fixture's /big?size=&seed= body: sha256(seed ":" i) for i = 0, 1, ..."""
    out = bytearray()
    i = 0
    while len(out) < size:
        out += hashlib.sha256(("%s:%d" % (seed, i)).encode()).digest()
        i += 1
    return bytes(out[:size])


if __name__ == "__main__":
    print("test_go_lib.py: helpers of the test_go_*.py e2e tests, not a test")
