#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers of the e2e tests of the other TLS stacks (test_stacks_*.py); stdlib only.

Not a test itself (ctest skips test_*_lib.py). It builds on
tests/lib/tlsdump_e2e.py and tlsdump_pcapng.py and adds the peers of issue #6,
all from Debian packages:

* BoringSSL: `bssl-tool` (android-libboringssl-tool), linked to
  /usr/lib/x86_64-linux-gnu/android/libssl.so.0;
* OpenSSL linked into an executable: /usr/bin/node (v20, OpenSSL 3.0.x inside);
* GnuTLS: wget, gnutls-cli, gnutls-serv (gnutls-bin), libgnutls.so.30;
* NSS: tstclnt, selfserv, certutil (libnss3-tools), I/O through libnspr4.so.

StacksTest: E2ETest plus servers of those stacks on free ports, an NSS
database, a Python client that imports ssl late (LATE_CLIENT), a client of
plain (non-TLS) NSPR sockets (NSPR_PLAIN_CLIENT), `--list-targets` parsing,
and frame checks shared by the tests.

main(TOOLS) exits 77 (skipped) when not root or when a tool is missing, and
says which (and its Debian package).
"""

import base64
import json
import os
import re
import shutil
import socket
import subprocess
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "lib"))
if "--lib" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--lib") + 1])
import tlsdump_e2e as e2e  # noqa: E402
import tlsdump_pcapng as pcapng  # noqa: E402

# tool -> Debian package, for the skip message.
PACKAGES = {
    "bssl-tool": "android-libboringssl-tool",
    "node": "nodejs (with its own OpenSSL linked in, e.g. nodesource's 20.x)",
    "wget": "wget",
    "gnutls-cli": "gnutls-bin",
    "gnutls-serv": "gnutls-bin",
    "tstclnt": "libnss3-tools",
    "selfserv": "libnss3-tools",
    "certutil": "libnss3-tools",
    "unshare": "util-linux",
    "mount": "mount",
}

# A TLS record header (handshake, alert, change cipher spec, application data;
# versions 3.1..3.4): plaintext HTTP never holds bytes 0x14..0x17, so finding
# one in a frame means a lower layer's ciphertext was captured.
TLS_RECORD_RE = re.compile(rb"[\x14-\x17]\x03[\x01-\x04]")


def main(tools):
    """Exits 77 when not root (e2e.main says so) or when one of @tools is missing (or
    node, if needed, uses the shared libssl instead of its own OpenSSL)."""
    if os.geteuid() == 0:
        missing = [t for t in tools if not shutil.which(t)]
        if missing:
            print("SKIP: this test needs %s" % ", ".join(
                "%s (Debian package %s)" % (t, PACKAGES.get(t, t)) for t in missing))
            sys.exit(e2e.SKIP)
        if "node" in tools and node_shared_openssl():
            print("SKIP: this node uses the shared libssl (node_shared_openssl); the test needs "
                  "a node with OpenSSL linked in (e.g. nodesource's nodejs 20)")
            sys.exit(e2e.SKIP)
    e2e.main()


def node_shared_openssl():
    """True if node was built to use the system's libssl instead of its own OpenSSL."""
    out = subprocess.run(["node", "-p", "process.config.variables.node_shared_openssl"],
                         capture_output=True, text=True, timeout=30).stdout.strip()
    return out == "true"


def free_port():
    """A TCP port free on all addresses, IPv4 and IPv6 (servers here bind the wildcard)."""
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", 0))
    except OSError:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("0.0.0.0", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def listening(port, pid):
    """True if process @pid has a socket listening on TCP @port (from /proc/net/tcp{,6}
    and its file descriptors: no connection is made, a one-shot server would take a
    probe for its client)."""
    inodes = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in e2e.read_text(name).splitlines()[1:]:
            cols = line.split()
            if len(cols) > 9 and cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:
                inodes.add("socket:[%s]" % cols[9])
    if not inodes:
        return False
    fd_dir = "/proc/%d/fd" % pid
    try:
        fds = os.listdir(fd_dir)
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(os.path.join(fd_dir, fd)) in inodes:
                return True
        except OSError:
            pass
    return False


def mapped_files(pid):
    """Paths of the files @pid maps (/proc/PID/maps), in order, without duplicates."""
    out = []
    for line in e2e.read_text("/proc/%d/maps" % pid).splitlines():
        cols = line.split(None, 5)
        if len(cols) == 6 and cols[5].startswith("/") and cols[5] not in out:
            out.append(cols[5])
    return out


def mapped_file(pid, basename_prefix):
    """The file @pid maps whose name starts with @basename_prefix, or None."""
    for path in mapped_files(pid):
        if os.path.basename(path).startswith(basename_prefix):
            return path
    return None


def system_libssl():
    """Directory of the system libssl.so.3 and libcrypto.so.3 (as Python's _ssl finds them)."""
    for d in ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
              "/usr/lib64", "/usr/lib"):
        if os.path.exists(os.path.join(d, "libssl.so.3")) and \
                os.path.exists(os.path.join(d, "libcrypto.so.3")):
            return d
    raise AssertionError("no libssl.so.3 + libcrypto.so.3 in the system library directories")


def node_openssl_version():
    """process.versions.openssl of /usr/bin/node without a suffix: "3.0.19"."""
    out = subprocess.run(["node", "-p", "process.versions.openssl"], capture_output=True,
                         text=True, timeout=30, check=True).stdout.strip()
    return re.match(r"\d+\.\d+\.\d+", out).group(0)


# A TLS client in Python that imports ssl only after a delay, then makes one
# HTTP/1.1 request to 127.0.0.1:PORT and reads the response (Content-Length).
# argv: PORT PATH OUT DELAY [SETTLE] (SETTLE: seconds between the import and the
# connection, 0 by default: the first write follows the import at once).
# Writes OUT.json: pid, local, remote, sent and recv (base64), ssl_imported_late
# (ssl was not loaded before the delay), and the libssl/libcrypto files it
# mapped (from /proc/self/maps, while connected).
LATE_CLIENT = r"""
import base64, json, os, socket, sys, time
port, path, out, delay = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
settle = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
late = "ssl" not in sys.modules and "_ssl" not in sys.modules
time.sleep(delay)
import ssl
time.sleep(settle)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
raw = socket.create_connection(("127.0.0.1", port), timeout=30)
conn = ctx.wrap_socket(raw, server_hostname="localhost")
req = b"GET %s HTTP/1.1\r\nHost: localhost:%d\r\nUser-Agent: late-client\r\n\r\n" % (path.encode(), port)
conn.sendall(req)
got = b""
while True:
    d = conn.recv(65536)
    if not d:
        break
    got += d
    head, sep, body = got.partition(b"\r\n\r\n")
    if sep:
        n = [int(l.split(b":", 1)[1]) for l in head.split(b"\r\n")
             if l.lower().startswith(b"content-length:")]
        if n and len(body) >= n[0]:
            break
maps = sorted({l.split(None, 5)[5] for l in open("/proc/self/maps").read().splitlines()
               if len(l.split(None, 5)) == 6 and ("/libssl" in l or "/libcrypto" in l)})
info = {"pid": os.getpid(), "local": list(conn.getsockname()[:2]),
        "remote": list(conn.getpeername()[:2]), "sent": base64.b64encode(req).decode(),
        "recv": base64.b64encode(got).decode(), "ssl_imported_late": late, "maps": maps}
conn.close()
with open(out + ".json.tmp", "w") as f:
    json.dump(info, f)
os.rename(out + ".json.tmp", out + ".json")
"""

# A client of plain NSPR sockets (no SSL layer) through ctypes, talking to a
# plain TCP echo server of its own (a thread, Python sockets). It sends MARKER
# lines with PR_Write and PR_Send and reads the echo with PR_Read and PR_Recv.
# argv: MARKER OUT. Writes OUT.json: pid, sent, recv, local, remote.
NSPR_PLAIN_CLIENT = r"""
import ctypes, json, os, socket, struct, sys, threading
marker, out = sys.argv[1].encode(), sys.argv[2]
lsock = socket.socket()
lsock.bind(("127.0.0.1", 0))
lsock.listen(1)
port = lsock.getsockname()[1]
def echo():
    c, _ = lsock.accept()
    while True:
        d = c.recv(4096)
        if not d:
            break
        c.sendall(d)
    c.close()
threading.Thread(target=echo, daemon=True).start()
nspr = ctypes.CDLL("libnspr4.so")
vp, i32, u32 = ctypes.c_void_p, ctypes.c_int32, ctypes.c_uint32
nspr.PR_OpenTCPSocket.restype = vp
nspr.PR_OpenTCPSocket.argtypes = [ctypes.c_int]
nspr.PR_Connect.argtypes = [vp, vp, u32]
nspr.PR_Write.argtypes = nspr.PR_Read.argtypes = [vp, vp, i32]
nspr.PR_Send.argtypes = nspr.PR_Recv.argtypes = [vp, vp, i32, ctypes.c_int, u32]
nspr.PR_Close.argtypes = [vp]
NO_TIMEOUT = 0xFFFFFFFF
fd = nspr.PR_OpenTCPSocket(socket.AF_INET)
assert fd, "PR_OpenTCPSocket"
# PRNetAddr.inet: family (host order), port and address (network order); 112 bytes in all.
addr = ctypes.create_string_buffer(struct.pack("=HH4s", socket.AF_INET, socket.htons(port),
                                               socket.inet_aton("127.0.0.1")), 112)
assert nspr.PR_Connect(fd, addr, NO_TIMEOUT) == 0, "PR_Connect"
a, b = marker + b"-PR_Write\n", marker + b"-PR_Send\n"
assert nspr.PR_Write(fd, a, len(a)) == len(a), "PR_Write"
assert nspr.PR_Send(fd, b, len(b), 0, NO_TIMEOUT) == len(b), "PR_Send"
buf = ctypes.create_string_buffer(4096)
got = b""
while len(got) < len(a) + len(b):
    n = nspr.PR_Recv(fd, buf, 4096, 0, NO_TIMEOUT) if got else nspr.PR_Read(fd, buf, 4096)
    if n <= 0:
        break
    got += buf.raw[:n]
nspr.PR_Close(fd)
with open(out + ".json", "w") as f:
    json.dump({"pid": os.getpid(), "sent": (a + b).decode(), "recv": got.decode()}, f)
"""

# --list-targets (issue #6 format): a header, then per process and TLS target
# one row (FILE last) and an indented detail line ("method: ..." when hooked,
# "reason: ..." when skipped). PID and COMM are "-" for a file on disk mapped
# by no process. COMM is matched lazily up to LIBRARY, which is one of a fixed
# set, so a process name with spaces does not shift the columns.
LIST_HEADER_RE = re.compile(r"^PID\s+COMM\s+LIBRARY\s+VERSION\s+STATUS\s+FILE\s*$")
LIST_ROW_RE = re.compile(r"^(\d+|-)\s+(.*?)\s+(openssl|boringssl|gnutls|nss|go)\s+(\S+)\s+"
                         r"(hooked|skipped)\s+(\S.*)$")
LIBRARIES = ("openssl", "boringssl", "gnutls", "nss", "go")


class StacksTest(e2e.E2ETest):
    """E2ETest plus the peers of the other TLS stacks."""

    # --- processes -------------------------------------------------------

    def run_peer(self, argv, name, stdin=None, timeout=30, expect_rc=0, env=None):
        """Runs @argv to its end (stdin from the file @stdin, else /dev/null); returns a Peer
        with .out (its stdout bytes)."""
        f = open(stdin, "rb") if stdin else subprocess.DEVNULL
        try:
            p = self.spawn(argv, name, stdin=f, env=env)
        finally:
            if stdin:
                f.close()
        self.wait_proc(p, name, timeout, expect_rc)
        return e2e.Peer(p, name, argv=argv, out=e2e.read_bytes(self.path(name + ".out")))

    def start_listening(self, make_argv, name, timeout=20, tries=3):
        """Starts the server make_argv(port) on a free port and waits until it listens;
        tries again on another port if it exits first (the port was taken meanwhile)."""
        for attempt in range(tries):
            port = free_port()
            argv = make_argv(port)
            p = self.spawn(argv, name)

            def ready():
                if p.poll() is not None:
                    return "exited"
                return listening(port, p.pid)
            state = e2e.wait_for(ready, timeout, "%s to listen on port %d" % (name, port))
            if state is True:
                return e2e.Peer(p, name, port=port, argv=argv)
            err = e2e.read_text(self.path(name + ".err"))
            if attempt == tries - 1:
                raise AssertionError("%s exited with %s before listening on %d: %s\nstderr:\n%s"
                                     % (name, p.returncode, port, " ".join(argv), err))
        raise AssertionError("unreachable")

    def write(self, name, data):
        path = self.path(name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    # --- servers of each stack --------------------------------------------

    def key_and_cert(self):
        """One PEM file with the key and the certificate (bssl-tool server -key)."""
        path = self.path("key-and-cert.pem")
        if not os.path.exists(path):
            cert, key = self.cert()
            self.write("key-and-cert.pem", e2e.read_bytes(key) + e2e.read_bytes(cert))
        return path

    def bssl_server(self, name="bssl-server", loop=False):
        """`bssl-tool server -www` (BoringSSL): answers a GET with its connection details.
        It binds the IPv6 wildcard (dual stack); without @loop it serves one connection."""
        key = self.key_and_cert()
        return self.start_listening(
            lambda port: ["bssl-tool", "server", "-accept", str(port), "-key", key, "-www"]
            + (["-loop"] if loop else []), name)

    def gnutls_server(self, httpdata, name="gnutls-serv"):
        """`gnutls-serv --http` answering every GET with the file @httpdata as the body of
        an HTTP/1.0 response (see gnutls_response()); binds 0.0.0.0 and [::]."""
        cert, key = self.cert()
        return self.start_listening(
            lambda port: ["gnutls-serv", "--http", "--httpdata", httpdata, "-p", str(port),
                          "--x509certfile", cert, "--x509keyfile", key,
                          "--disable-client-cert", "--quiet"], name)

    @staticmethod
    def gnutls_response(body):
        """What gnutls-serv --http --httpdata F sends (F holding @body), byte for byte."""
        return (b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body)) + body

    def nss_db(self):
        """An NSS database (sql:DIR, empty password) holding a self-signed EC certificate
        and key for CN=localhost, nickname "server". Returns "sql:DIR"."""
        d = self.path("nssdb")
        if not os.path.isdir(d):
            os.makedirs(d)
            noise = self.write("nss-noise", os.urandom(2048))
            for argv in (["certutil", "-N", "-d", "sql:" + d, "--empty-password"],
                         ["certutil", "-S", "-d", "sql:" + d, "-n", "server", "-s", "CN=localhost",
                          "-x", "-t", "CT,CT,CT", "-k", "ec", "-q", "nistp256", "-z", noise,
                          "-v", "24", "-8", "localhost,127.0.0.1"]):
                proc = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                                      stdin=subprocess.DEVNULL)
                self.assertEqual(proc.returncode, 0, "%s:\n%s%s" % (" ".join(argv), proc.stdout,
                                                                   proc.stderr))
        return "sql:" + d

    def selfserv(self, name="selfserv"):
        """NSS's `selfserv` with the EC certificate of nss_db(). It answers a GET with an
        HTTP/1.0 response echoing the request (one PR_Writev) and closes; binds the IPv6
        wildcard (dual stack)."""
        db = self.nss_db()
        return self.start_listening(
            lambda port: ["selfserv", "-d", db, "-p", str(port), "-e", "server"], name)

    def tstclnt(self, port, request, name="tstclnt", timeout=30):
        """NSS's `tstclnt` to 127.0.0.1:@port sending @request from a file (-A: with a pipe
        on stdin it spins on POLLHUP and never exits), server certificate not checked (-o).
        Prints what it receives on stdout (.out); exits when the server closes."""
        req = self.write(name + ".request", request)
        return self.run_peer(["tstclnt", "-h", "127.0.0.1", "-p", str(port), "-d", self.nss_db(),
                              "-o", "-A", req], name, timeout=timeout)

    def node_server(self, name="node-server"):
        """A node https server (OpenSSL linked into /usr/bin/node) on 127.0.0.1: every
        request gets a text body naming its path."""
        cert, key = self.cert()
        port_file = self.path(name + ".port")
        code = r"""
const https = require('https'), fs = require('fs');
const [cert, key, portFile] = process.argv.slice(1);
const srv = https.createServer({cert: fs.readFileSync(cert), key: fs.readFileSync(key)}, (req, res) => {
  res.setHeader('Content-Type', 'text/plain');
  res.end('node says hello to ' + req.url + '\n');
});
srv.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(portFile + '.tmp', String(srv.address().port));
  fs.renameSync(portFile + '.tmp', portFile);
});
"""
        p = self.spawn(["node", "-e", code, cert, key, port_file], name)

        def port():
            if p.poll() is not None:
                raise AssertionError("%s exited: %s" % (name, e2e.read_text(self.path(name + ".err"))))
            return os.path.exists(port_file) and e2e.read_text(port_file)
        return e2e.Peer(p, name, port=int(e2e.wait_for(port, 20, name + " to listen")))

    def node_idle(self, name="node-idle"):
        """A node process doing nothing: started before a capture, it makes /usr/bin/node a
        target from the start (probes attach per file), so a short node client run later
        does not race the discovery of the executable."""
        ready = self.path(name + ".ready")
        p = self.spawn(["node", "-e", "require('fs').writeFileSync(process.argv[1], 'ok'); "
                        "setInterval(() => {}, 1000);", ready], name)
        e2e.wait_for(lambda: os.path.exists(ready) or p.poll() is not None, 20, name + " to start")
        self.assertIsNone(p.poll(), "%s exited: %s" % (name, e2e.read_text(self.path(name + ".err"))))
        return e2e.Peer(p, name)

    def node_https_client(self, port, path, name="node-https", timeout=30):
        """A node https.get client (agent: false, so "Connection: close") to
        127.0.0.1:@port@path. Returns its Peer with .info (pid, status, local, body)."""
        out = self.path(name + ".json")
        code = r"""
const https = require('https'), fs = require('fs');
const [port, path, out] = process.argv.slice(1);
const req = https.get({host: '127.0.0.1', port: +port, path, agent: false, rejectUnauthorized: false,
                       headers: {'User-Agent': 'node-stacks'}}, res => {
  const chunks = [];
  res.on('data', d => chunks.push(d));
  res.on('end', () => fs.writeFileSync(out, JSON.stringify({pid: process.pid, status: res.statusCode,
    local: [req.socket.localAddress, req.socket.localPort], body: Buffer.concat(chunks).toString()})));
});
req.on('error', e => { console.error(e); process.exit(2); });
"""
        peer = self.run_peer(["node", "-e", code, str(port), path, out], name, timeout=timeout)
        peer.info = json.loads(e2e.read_text(out))
        return peer

    def node_client(self, port, path, name="node-client", timeout=30):
        """A node tls.connect client: one HTTP/1.1 request to 127.0.0.1:@port, reads the
        response (Content-Length), then ends the connection. Returns its Peer with .info
        (pid, local, remote, sent, recv as bytes)."""
        out = self.path(name)
        code = r"""
const tls = require('tls'), fs = require('fs');
const [port, path, out] = process.argv.slice(1);
const req = 'GET ' + path + ' HTTP/1.1\r\nHost: localhost\r\nUser-Agent: node-stacks\r\n\r\n';
let got = Buffer.alloc(0);
const s = tls.connect({host: '127.0.0.1', port: +port, rejectUnauthorized: false}, () => s.write(req));
s.on('data', d => {
  got = Buffer.concat([got, d]);
  const end = got.indexOf('\r\n\r\n');
  if (end < 0) return;
  const m = /content-length: *(\d+)/i.exec(got.subarray(0, end).toString());
  if (m && got.length >= end + 4 + +m[1]) {
    fs.writeFileSync(out + '.json', JSON.stringify({pid: process.pid,
      local: [s.localAddress, s.localPort], remote: [s.remoteAddress, s.remotePort],
      sent: Buffer.from(req).toString('base64'), recv: got.toString('base64')}));
    s.end();
  }
});
s.on('error', e => { console.error(e); process.exit(2); });
"""
        peer = self.run_peer(["node", "-e", code, str(port), path, out], name, timeout=timeout)
        peer.info = self.load_info(out + ".json")
        return peer

    def load_info(self, path):
        """A client's json (pid, local, remote, sent/recv in base64) with bytes decoded."""
        info = json.loads(e2e.read_text(path))
        for k in ("sent", "recv"):
            if k in info:
                info[k] = base64.b64decode(info[k])
        return info

    def late_client(self, port, path, name="late-client", delay=0.5, settle=0.0, env=None,
                    wrap=None, wait=True, timeout=60):
        """Starts LATE_CLIENT (Debian's python3) against 127.0.0.1:@port: ssl imported after
        @delay s, connected @settle s later; @wrap(argv) may wrap the command line (it must
        exec the client so the pid stays the same)."""
        out = self.path(name)
        argv = [e2e.PYTHON, "-c", LATE_CLIENT, str(port), path, out, str(delay), str(settle)]
        if wrap:
            argv = wrap(argv)
        p = self.spawn(argv, name, env=env)
        peer = e2e.Peer(p, name, argv=argv, out=out)
        if wait:
            self.finish_late_client(peer, timeout)
        return peer

    def finish_late_client(self, peer, timeout=60):
        self.wait_proc(peer.proc, peer.name, timeout)
        peer.info = self.load_info(peer.out + ".json")
        return peer

    def only_server_conn(self, server, timeout=30):
        """The single connection @server (python_server) logged: its info (see server_conn)."""
        def one():
            names = [n for n in os.listdir(server.log_dir) if n.endswith(".json")]
            return names if names else None
        names = e2e.wait_for(one, timeout, "%s to log a connection" % server.name)
        self.assertEqual(len(names), 1, "connections of %s: %s" % (server.name, names))
        port = names[0][len("server-"):-len(".json")]
        return self.server_conn(server, int(port))

    # --- tlsdump --list-targets --------------------------------------------

    def list_targets(self, *args, name="list"):
        """Runs `tlsdump --list-targets`; returns ([row dict], text for messages).
        A row: pid (int or None for "-"), comm, library, version, status, file, detail."""
        log = self.path(name + ".log")
        argv = [e2e.BINARY, "--list-targets", "--log-file", log, "--log-level", "info", *args]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        what = "%s\nstdout:\n%s\nstderr:\n%s\nlog:\n%s" % (" ".join(argv), proc.stdout[-6000:],
                                                          proc.stderr, e2e.read_text(log)[-3000:])
        self.assertEqual(proc.returncode, 0, what)
        self.assertEqual(proc.stderr, "", what)
        lines = proc.stdout.splitlines()
        self.assertTrue(lines and LIST_HEADER_RE.match(lines[0]), "header line\n" + what)
        body = lines[1:]
        self.assertEqual(len(body) % 2, 0, "two lines per target\n" + what)
        rows = []
        for first, second in zip(body[0::2], body[1::2]):
            m = LIST_ROW_RE.match(first)
            self.assertTrue(m, "row %r\n%s" % (first, what))
            self.assertTrue(second[:1].isspace() and second.strip(),
                            "detail line %r after %r\n%s" % (second, first, what))
            pid, comm, library, version, status, path = m.groups()
            rows.append(dict(pid=None if pid == "-" else int(pid), comm=comm, library=library,
                             version=version, status=status, file=path.strip(),
                             detail=second.strip(), line=first))
        for r in rows:
            if r["status"] == "hooked":
                self.assertRegex(r["detail"], r"^method: \S", "%s\n%s" % (r["line"], what))
            else:
                self.assertRegex(r["detail"], r"^reason: \S", "%s\n%s" % (r["line"], what))
            if r["pid"] is None:
                self.assertEqual(r["comm"], "-", "%s\n%s" % (r["line"], what))
        return rows, what

    # --- frame checks -----------------------------------------------------

    def conn_of(self, frames, pid, what):
        """(write Stream, read Stream) of the single connection of @pid."""
        mine = self.only(frames, pid)
        self.assertTrue(mine, "%s: no frame of pid %d; frames:\n%s"
                        % (what, pid, "\n".join(repr(f) for f in frames[:40])))
        conns = {f.conn_id for f in mine}
        self.assertEqual(len(conns), 1, "%s: connections of pid %d: %s\n%s"
                         % (what, pid, sorted(conns), "\n".join(repr(f) for f in mine[:40])))
        return (self.stream_of(frames, pid, pcapng.DIR_WRITE),
                self.stream_of(frames, pid, pcapng.DIR_READ))

    def assert_meta(self, frames, comm, library, libname, role, what):
        """Every frame in @frames has @comm, @library, a library name accepted by
        @libname (a prefix, or a predicate), @role, no gap/cap and a known 5-tuple."""
        self.assertTrue(frames, what + ": no frames")
        for f in frames:
            self.assertEqual(f.dissector, "tlsdump", f)
            self.assertEqual(f.comm, comm, "%s: comm of %r" % (what, f))
            self.assertEqual(f.library, library, "%s: library of %r (libname %r)"
                             % (what, f, f.libname))
            ok = libname(f.libname) if callable(libname) else f.libname.startswith(libname)
            self.assertTrue(ok, "%s: library name %r of %r" % (what, f.libname, f))
            self.assertEqual(f.role, role, "%s: role %s of %r" % (what, f.role_name, f))
            self.assertFalse(f.flags & (pcapng.FLAG_GAP | pcapng.FLAG_CAPPED |
                                        pcapng.FLAG_NO_TUPLE), "%s: flags of %r" % (what, f))
            self.assertEqual(f.comment_fields.get("PID"), str(f.pid), f)
            self.assertEqual(f.comment_fields.get("Comm"), comm, f)

    def assert_write_calls(self, stream, sizes, what):
        """The writes of @stream were calls of exactly @sizes bytes, in order, each captured
        once (a library function calling another hooked one must not double the data)."""
        calls = [f.call_len for f in stream.frames if f.flags & pcapng.FLAG_CALL_START]
        self.assertEqual(calls, list(sizes), "%s: write calls %s" % (what, stream.frames))

    def assert_no_ciphertext(self, frames, what):
        """No frame carries a TLS record header: the layer below the TLS API (the socket,
        NSPR's lower layer, a BIO) is not captured."""
        for f in frames:
            m = TLS_RECORD_RE.search(f.payload)
            if m:
                self.fail("%s: TLS record header %r at offset %d of %r: ciphertext captured"
                          % (what, m.group(0), m.start(), f))


def expect_http_get(path, port, agent="tlsdump-stacks"):
    """The request `curl -A agent --http1.1 https://127.0.0.1:port/path` sends."""
    return (b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: %s\r\nAccept: */*\r\n\r\n"
            % (path.encode(), port, agent.encode()))


if __name__ == "__main__":
    print("test_stacks_lib.py holds helpers of the test_stacks_*.py tests; nothing to run.")
