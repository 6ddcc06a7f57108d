# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared harness of the e2e tests (stdlib only; run with Debian's /usr/bin/python3).

A test script:

    import tlsdump_e2e as e2e
    class T(e2e.E2ETest):
        def test_x(self):
            srv = self.python_server()
            cap = self.start_tlsdump()          # waits for "capturing" in its log
            cli = self.python_client(srv.port, ["get:/"])
            cap.stop()                          # SIGINT, expects exit 0
            frames = cap.frames()               # decoded with tlsdump_pcapng
            ...
    if __name__ == "__main__":
        e2e.main()

Command line of every script: --binary PATH_TO_TLSDUMP [--lib DIR] [unittest args].
Exits 77 (skipped) when not root. Set TLSDUMP_E2E_KEEP=1 to keep the work
directories (their paths are printed).
"""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

import tlsdump_pcapng as pcapng

SKIP = 77
PYTHON = "/usr/bin/python3"  # Debian's, linked to the system libssl.so.3
E2E_DIR = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
TLS_PEER = os.path.join(E2E_DIR, "tls_peer.py")
TOOLS = ["openssl", "curl", "tshark", "setpriv", PYTHON]
BINARY = None
KEEP = bool(os.environ.get("TLSDUMP_E2E_KEEP"))
SUMMARY_RE = re.compile(r"(\d+) frames \((\d+) bytes\) captured, (\d+) frames \((\d+) bytes\) lost")
# tshark's warning when run as root; any other stderr line is an error.
# The second: a system-wide tlsdump (README's install) next to the test's
# personal copy; the personal one is used.
TSHARK_BENIGN_STDERR = re.compile(
    r'^Running as user "root" and group "root"\. This could be dangerous\.$'
    r'|.*Cannot store interface .*/extcap/tlsdump, already loaded as personal plugin')

MiB = 1 << 20


def main():
    """Parses --binary/--lib, skips unless root, checks the tools, runs unittest."""
    global BINARY
    ap = argparse.ArgumentParser(add_help=False)
    ap.add_argument("--binary", required=True)
    ap.add_argument("--lib")
    args, rest = ap.parse_known_args()
    if os.geteuid() != 0:
        print("SKIP: the e2e tests load eBPF probes and need root")
        sys.exit(SKIP)
    BINARY = os.path.abspath(args.binary)
    if not os.access(BINARY, os.X_OK):
        sys.exit("ERROR: tlsdump binary %s is not executable" % BINARY)
    missing = [t for t in TOOLS if not shutil.which(t)]
    if missing:
        sys.exit("ERROR: the e2e tests need %s (Debian packages openssl, curl, tshark, "
                 "util-linux, python3)" % ", ".join(missing))
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


def wait_for(cond, timeout, what, interval=0.05):
    """Polls @cond until it returns a true value (returned); fails after @timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %g s waiting for %s" % (timeout, what))
        time.sleep(interval)


def read_text(path):
    try:
        with open(path, "r", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class Peer:
    """A spawned peer: proc, port (servers), files."""

    def __init__(self, proc, name, **kw):
        self.proc = proc
        self.name = name
        self.pid = proc.pid
        self.__dict__.update(kw)


class Tlsdump:
    """A running `tlsdump -w FILE` with an info log."""

    def __init__(self, test, args, out, name):
        self.test = test
        self.out = out
        self.log = test.path(name + ".log")
        self.argv = [BINARY, "-w", out, "--log-file", self.log, "--log-level", "info", *args]
        self.proc = test.spawn(self.argv, name)
        self.errfile = test.path(name + ".err")
        self.rc = None

    @property
    def pid(self):
        return self.proc.pid

    @property
    def stderr(self):
        return read_text(self.errfile)

    def diagnostics(self):
        return "command: %s\nstderr:\n%s\nlog:\n%s" % (" ".join(self.argv), self.stderr,
                                                      read_text(self.log)[-4000:])

    def wait_capturing(self, timeout=30):
        def ready():
            if "capturing" in read_text(self.log):
                return True
            if self.proc.poll() is not None:
                raise AssertionError("tlsdump exited with %d before capturing\n%s"
                                     % (self.proc.returncode, self.diagnostics()))
            return False
        wait_for(ready, timeout, "tlsdump to log 'capturing'\n" + self.diagnostics())
        return self

    def stop(self, sig=signal.SIGINT, timeout=30, expect_rc=0):
        """Sends @sig, waits for the exit; checks the exit code unless @expect_rc is None."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("tlsdump did not stop within %d s after signal %d\n%s"
                                 % (timeout, sig, self.diagnostics()))
        if expect_rc is not None:
            self.test.assertEqual(self.rc, expect_rc, "tlsdump exit code\n" + self.diagnostics())
        return self.rc

    def wait(self, timeout=60):
        try:
            self.rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("tlsdump did not exit within %d s\n%s"
                                 % (timeout, self.diagnostics()))
        return self.rc

    def summary(self):
        """(frames, bytes, lost frames, lost bytes) from the stderr summary line."""
        m = SUMMARY_RE.search(self.stderr)
        if not m:
            raise AssertionError("no summary line on stderr\n" + self.diagnostics())
        return tuple(int(x) for x in m.groups())

    def capture(self):
        try:
            return pcapng.read_pcapng(self.out)
        except pcapng.FormatError as e:
            raise AssertionError("%s is not a valid pcapng file: %s" % (self.out, e))

    def statistics(self):
        """The Interface Statistics Block of the plaintext interface (exactly one)."""
        isbs = pcapng.plaintext_statistics(self.capture())
        if len(isbs) != 1:
            raise AssertionError("%d ISB for the plaintext interface in %s"
                                 % (len(isbs), self.out))
        return isbs[0]

    def frames(self):
        """Decodes and checks every frame of the output (check_frame rules)."""
        cap = self.capture()
        try:
            frames = pcapng.tlsdump_frames(cap)
        except pcapng.FormatError as e:
            raise AssertionError("%s: %s" % (self.out, e))
        problems = [p for f in frames for p in pcapng.check_frame(f)]
        if problems:
            raise AssertionError("malformed frames in %s:\n%s" % (self.out, "\n".join(problems[:20])))
        return frames


class E2ETest(unittest.TestCase):
    """Base class: a work directory, spawned processes killed at the end, helpers."""

    maxDiff = 4000

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="tlsdump-e2e-%s-" % self._testMethodName)
        os.chmod(self.dir, 0o755)
        self.procs = []
        self.addCleanup(self._cleanup)
        if KEEP:
            print("\n  work directory: %s" % self.dir, file=sys.stderr)

    def _cleanup(self):
        for p in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(5)
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, *names):
        return os.path.join(self.dir, *names)

    def spawn(self, argv, name, stdin=subprocess.DEVNULL, stdout=None, env=None, **kw):
        """Starts @argv with stdout/stderr in NAME.out/NAME.err of the work directory."""
        out = stdout if stdout is not None else open(self.path(name + ".out"), "wb")
        err = open(self.path(name + ".err"), "wb")
        try:
            p = subprocess.Popen(argv, stdin=stdin, stdout=out, stderr=err, env=env, **kw)
        finally:
            if stdout is None:
                out.close()
            err.close()
        self.procs.append(p)
        return p

    def wait_proc(self, p, name, timeout=60, expect_rc=0):
        try:
            rc = p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s did not finish within %d s\nstderr:\n%s"
                                 % (name, timeout, read_text(self.path(name + ".err"))))
        if expect_rc is not None:
            self.assertEqual(rc, expect_rc, "%s exit code; stderr:\n%s"
                             % (name, read_text(self.path(name + ".err"))))
        return rc

    # --- tlsdump ---------------------------------------------------------

    def start_tlsdump(self, *args, out="capture.pcapng", name="tlsdump", wait=True):
        t = Tlsdump(self, list(args), self.path(out) if out != "-" else out, name)
        if wait:
            t.wait_capturing()
        return t

    # --- TLS peers -------------------------------------------------------

    def cert(self):
        """A self-signed certificate for CN=localhost in the work directory: (cert, key)."""
        cert, key = self.path("cert.pem"), self.path("key.pem")
        if not os.path.exists(cert):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out",
                            cert, "-days", "2", "-subj", "/CN=localhost"],
                           check=True, capture_output=True, timeout=30)
        return cert, key

    def python_server(self, host="127.0.0.1", name="pyserver", comm=None):
        """Starts tls_peer.py server; returns a Peer with .port and .log_dir."""
        cert, key = self.cert()
        log_dir = self.path(name + "-conns")
        os.makedirs(log_dir, exist_ok=True)
        port_file = self.path(name + ".port")
        p = self.spawn([PYTHON, TLS_PEER, "server", "--cert", cert, "--key", key, "--host", host,
                        "--port-file", port_file, "--log-dir", log_dir]
                       + (["--comm", comm] if comm else []), name)

        def port():
            if p.poll() is not None:
                raise AssertionError("%s exited: %s" % (name, read_text(self.path(name + ".err"))))
            return os.path.exists(port_file) and read_text(port_file)
        return Peer(p, name, port=int(wait_for(port, 20, name + " to listen")), log_dir=log_dir,
                    host=host)

    def server_conn(self, server, client_port, timeout=60):
        """What @server saw on the connection from @client_port (once it closed).

        @client_port may also be the name of a Unix socket connection (unixN)."""
        prefix = os.path.join(server.log_dir, "server-%s" % client_port)
        wait_for(lambda: os.path.exists(prefix + ".json"), timeout,
                 "%s to finish the connection from port %s" % (server.name, client_port))
        info = json.loads(read_text(prefix + ".json"))
        info["sent"] = read_bytes(prefix + "-sent.bin")
        info["recv"] = read_bytes(prefix + "-recv.bin")
        return info

    def python_client(self, port, actions, host="127.0.0.1", name="pyclient", wait=True,
                      timeout=60, recv_size=None, comm=None):
        """Runs tls_peer.py client; with @wait, returns its Peer with .info (json, sent, recv)."""
        out = self.path(name)
        argv = [PYTHON, TLS_PEER, "client", "--host", host, "--port", str(port), "--out", out]
        if recv_size:
            argv += ["--recv-size", str(recv_size)]
        if comm:
            argv += ["--comm", comm]
        p = self.spawn(argv + list(actions), name)
        peer = Peer(p, name, out=out)
        if wait:
            self.finish_client(peer, timeout)
        return peer

    def finish_client(self, peer, timeout=60):
        self.wait_proc(peer.proc, peer.name, timeout)
        peer.info = json.loads(read_text(peer.out + ".json"))
        peer.info["sent"] = read_bytes(peer.out + "-sent.bin")
        peer.info["recv"] = read_bytes(peer.out + "-recv.bin")
        return peer

    def openssl_server(self, host="127.0.0.1", name="s_server"):
        """Starts `openssl s_server -www` on an ephemeral port; returns a Peer with .port."""
        cert, key = self.cert()
        accept = "[%s]:0" % host if ":" in host else "%s:0" % host
        p = self.spawn(["openssl", "s_server", "-accept", accept, "-cert", cert, "-key", key,
                        "-www"], name)

        def port():
            if p.poll() is not None:
                raise AssertionError("s_server exited: %s" % read_text(self.path(name + ".err")))
            m = re.search(r"^ACCEPT .*:(\d+)$", read_text(self.path(name + ".out")), re.M)
            return m and int(m.group(1))
        return Peer(p, name, port=wait_for(port, 20, "s_server to listen"), host=host)

    def curl(self, url, *extra, name="curl", timeout=30, binary="curl"):
        """Runs curl (OpenSSL backend) to @url; returns a Peer with .body, .headers, .argv.

        @binary may be a renamed copy (see renamed_curl()) to give it its own comm."""
        body, headers = self.path(name + ".body"), self.path(name + ".headers")
        argv = [binary, "-sS", "-k", "--http1.1", "--max-time", str(timeout), "-o", body,
                "-D", headers, *extra, url]
        p = self.spawn(argv, name)
        self.wait_proc(p, name, timeout + 5)
        return Peer(p, name, argv=argv, body=read_bytes(body), headers=read_bytes(headers))

    def renamed_curl(self, comm):
        """A copy of /usr/bin/curl named @comm (its process name), so a capture can
        select it with -c @comm whatever else runs on the host."""
        path = self.path(comm)
        shutil.copy(shutil.which("curl"), path)
        return path

    # --- tshark ----------------------------------------------------------

    def tshark(self, *args, timeout=120, env=None):
        """Runs tshark; checks exit code 0 and a clean stderr; returns stdout."""
        proc = subprocess.run(["tshark", *args], capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL, env=env)
        noise = [l for l in proc.stderr.splitlines() if l and not TSHARK_BENIGN_STDERR.match(l)]
        self.assertEqual(proc.returncode, 0, "tshark %s failed:\n%s" % (" ".join(args), proc.stderr))
        self.assertFalse(noise, "tshark %s complained:\n%s" % (" ".join(args), proc.stderr))
        return proc.stdout

    def tshark_fields(self, path, fields, dfilter=None, extra=()):
        """Rows of -T fields output (first occurrence of each field) of file @path."""
        args = ["-r", path, "-T", "fields", "-E", "occurrence=f"]
        for f in fields:
            args += ["-e", f]
        if dfilter:
            args += ["-Y", dfilter]
        out = self.tshark(*args, *extra)
        return [line.split("\t") for line in out.splitlines()]

    def tshark_count(self, path, dfilter=None):
        """Frames tshark shows of @path matching @dfilter (all frames without it)."""
        return len(self.tshark_fields(path, ["frame.number"], dfilter))

    def tshark_plaintext_count(self, path, dfilter=None):
        """Plaintext (Exported PDU) frames tshark shows, optionally also matching @dfilter."""
        return self.tshark_count(path, "exported_pdu" + (" && (%s)" % dfilter if dfilter else ""))

    def assert_tshark_agrees(self, path, frames):
        """tshark reads @path without error and sees the same frames, tags and directions."""
        rows = self.tshark_fields(path, [
            "frame.number", "frame.len", "frame.packet_flags_direction", "frame.p2p_dir",
            "exported_pdu.prot_name", "exported_pdu.ipv4_src", "exported_pdu.ipv4_dst",
            "exported_pdu.ipv6_src", "exported_pdu.ipv6_dst", "exported_pdu.src_port",
            "exported_pdu.dst_port", "exported_pdu.p2p_dir"], "exported_pdu")
        self.assertEqual(len(rows), len(frames),
                         "tshark counts %d plaintext frames, the parser %d" % (len(rows), len(frames)))
        # Every frame is either a plaintext frame or on another interface (original packets).
        capture = pcapng.read_pcapng(path)
        self.assertEqual(self.tshark_count(path), len(capture.packets),
                         "tshark counts all frames like the parser")
        for row, f in zip(rows, frames):
            (num, flen, pflags, p2p, prot, v4s, v4d, v6s, v6d, sport, dport, epdir) = row
            where = "frame %s" % num
            self.assertEqual(int(num), f.packet.index + 1, where)
            self.assertEqual(int(flen), f.packet.caplen, where)
            self.assertEqual(int(pflags, 16) & 3, f.packet.direction, where)
            self.assertEqual(prot, f.dissector, where)
            src = v4s or v6s or None
            dst = v4d or v6d or None
            self.assertEqual(src, str(f.src_ip) if f.src_ip is not None else None, where)
            self.assertEqual(dst, str(f.dst_ip) if f.dst_ip is not None else None, where)
            self.assertEqual(int(sport) if sport else None, f.src_port, where)
            self.assertEqual(int(dport) if dport else None, f.dst_port, where)
            self.assertEqual(int(epdir) if epdir else None, f.p2p_dir, where)
            self.assertEqual(int(p2p) if p2p else None, f.p2p_dir, where)
        return rows

    # --- frame helpers ---------------------------------------------------

    def only(self, frames, pid):
        """The frames of process @pid."""
        return [f for f in frames if f.pid == pid]

    def stream_of(self, frames, pid, direction):
        """The single Stream of @pid in @direction; fails if there is none or several."""
        ss = [s for s in pcapng.streams(self.only(frames, pid)).values() if s.key[1] == direction]
        self.assertEqual(len(ss), 1, "streams of pid %d, direction %s: %s\nframes: %s"
                         % (pid, pcapng.DIR_NAMES[direction], ss, self.only(frames, pid)[:20]))
        return ss[0]

    def assert_stream(self, stream, expected, what):
        """@stream holds exactly @expected from offset 0, without gap."""
        self.assertEqual(stream.start, 0, "%s: first captured offset" % what)
        self.assertEqual(stream.gaps, [], "%s: gaps" % what)
        self.assertEqual(stream.overlaps, [], "%s: overlaps" % what)
        if stream.data != expected:
            n = next((i for i, (a, b) in enumerate(zip(stream.data, expected)) if a != b),
                     min(len(stream.data), len(expected)))
            self.fail("%s: captured %d bytes, expected %d; first difference at offset %d: "
                      "%r vs %r" % (what, len(stream.data), len(expected), n,
                                    stream.data[n:n + 40], expected[n:n + 40]))

    def assert_causal(self, written, read, what):
        """No byte is read before its write began: for every byte, the timestamp of the
        frame that read it >= that of the frame that wrote it (writes are stamped at
        call entry, reads at return). @written and @read are Streams of the two peers."""
        import bisect
        starts = [f.stream_offset for f in written.frames]
        for r in read.frames:
            if not r.payload:
                continue
            lo = bisect.bisect_right(starts, r.stream_offset) - 1
            hi = bisect.bisect_right(starts, r.stream_offset + len(r.payload) - 1) - 1
            for w in written.frames[max(lo, 0):hi + 1]:
                if w.packet.ts_ns > r.packet.ts_ns:
                    self.fail("%s: %r read at %d, but %r was written at %d (%d ns later)"
                              % (what, r, r.packet.ts_ns, w, w.packet.ts_ns,
                                 w.packet.ts_ns - r.packet.ts_ns))

    def assert_tuple(self, frames, local, remote, what):
        """Every frame has the process's @local and @remote (ip, port)."""
        for f in frames:
            self.assertEqual((f.local, f.remote), (tuple(local), tuple(remote)),
                             "%s: 5-tuple of %r" % (what, f))
