#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A TLS peer for the e2e tests: Python's ssl module (Debian's libssl.so.3).

Every byte the peer sends or receives through TLS is also saved to files, so
a test can compare the capture with what the peers really saw.

Server: HTTP/1.1 with keep-alive, one thread per connection. --host unix:PATH
listens on a Unix socket instead (port 0; connections are named unixN).
    tls_peer.py server --cert C --key K [--host 127.0.0.1] --port-file F --log-dir D
  writes its port to F once listening; for each connection, once it closes,
  D/server-<client port>-{sent,recv}.bin and D/server-<client port>.json
  ({pid, local, remote}). Paths:
    /bytes/N            body of N random bytes, headers and body in one sendall()
    /bytes/N?split=1    headers in one sendall(), the N-byte body in another
    anything else       a short text body
  Runs until killed.

Client: one connection, actions in order, then close.
    tls_peer.py client --host H --port P --out PREFIX [--recv-size N] ACTION...
  ACTION is
    get:PATH        send a GET request (one sendall()), read the whole response
    post:TOTAL      send a POST /sink request of exactly TOTAL bytes, random body
                    (one sendall())
    pause:FILE      create FILE.paused, wait until FILE exists (at most 120 s)
    sleep:SECONDS   sleep (e.g. to stay alive until tlsdump handled the events)
  writes PREFIX-{sent,recv}.bin and PREFIX.json ({pid, local, remote, bodies})
  at the end; PREFIX.json.connected as soon as it is connected.

Both modes take --comm NAME: set the process name (/proc/self/comm) first,
so a capture can select the peer with tlsdump -c NAME.
"""

import argparse
import json
import os
import socket
import ssl
import sys
import threading
import time


def write_file(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.rename(tmp, path)


def write_json(path, obj):
    write_file(path, json.dumps(obj).encode())


def addr(sockaddr):
    if isinstance(sockaddr, (str, bytes)):  # AF_UNIX
        return [sockaddr if isinstance(sockaddr, str) else sockaddr.decode(), 0]
    return [sockaddr[0], sockaddr[1]]


class Recorder:
    """Wraps an SSLSocket, keeping every byte it moves."""

    def __init__(self, sock, recv_size=65536):
        self.sock = sock
        self.recv_size = recv_size
        self.sent = bytearray()
        self.recv = bytearray()
        self.pending = bytearray()

    def sendall(self, data):
        self.sock.sendall(data)
        self.sent += data

    def fill(self):
        data = self.sock.recv(self.recv_size)
        if data:
            self.recv += data
            self.pending += data
        return bool(data)

    def read_until(self, marker):
        """Returns the bytes up to and including @marker, or None at EOF."""
        while marker not in self.pending:
            if not self.fill():
                return None
        i = self.pending.index(marker) + len(marker)
        out = bytes(self.pending[:i])
        del self.pending[:i]
        return out

    def read_exact(self, n):
        while len(self.pending) < n:
            if not self.fill():
                raise EOFError("connection closed with %d of %d bytes" % (len(self.pending), n))
        out = bytes(self.pending[:n])
        del self.pending[:n]
        return out


def content_length(head):
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            return int(v.strip())
    return 0


def serve_connection(conn, peer, log_dir, key):
    local = addr(conn.getsockname())
    rec = Recorder(conn)
    try:
        while True:
            head = rec.read_until(b"\r\n\r\n")
            if head is None:
                break
            rec.read_exact(content_length(head))
            target = head.split(b" ", 2)[1].decode()
            path, _, query = target.partition("?")
            if path.startswith("/bytes/"):
                body = os.urandom(int(path[len("/bytes/"):]))
            else:
                body = b"hello from tls_peer, you asked for " + path.encode() + b"\n"
            resp_head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(body))
            if query == "split=1":
                rec.sendall(resp_head)
                rec.sendall(body)
            else:
                rec.sendall(resp_head + body)
    except (OSError, EOFError) as e:
        sys.stderr.write("tls_peer server: connection from %s: %s\n" % (peer, e))
    finally:
        prefix = os.path.join(log_dir, "server-%s" % key)
        write_file(prefix + "-sent.bin", bytes(rec.sent))
        write_file(prefix + "-recv.bin", bytes(rec.recv))
        write_json(prefix + ".json", {"pid": os.getpid(), "local": local, "remote": peer})
        conn.close()


def run_server(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    if args.host.startswith("unix:"):
        lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lsock.bind(args.host[len("unix:"):])
        port = 0
    else:
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        lsock = socket.socket(family, socket.SOCK_STREAM)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsock.bind((args.host, 0))
        port = lsock.getsockname()[1]
    lsock.listen(64)
    write_file(args.port_file, str(port).encode())
    unix_conns = 0
    while True:
        raw, peer = lsock.accept()
        peer = addr(peer)
        if raw.family == socket.AF_UNIX:
            key = "unix%d" % unix_conns
            unix_conns += 1
        else:
            key = str(peer[1])
        try:
            conn = ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError) as e:
            sys.stderr.write("tls_peer server: handshake with %s failed: %s\n" % (peer, e))
            raw.close()
            continue
        threading.Thread(target=serve_connection, args=(conn, peer, args.log_dir, key),
                         daemon=True).start()


def run_client(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if args.host.startswith("unix:"):
        raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        raw.settimeout(120)
        raw.connect(args.host[len("unix:"):])
    else:
        raw = socket.create_connection((args.host, args.port), timeout=120)
    conn = ctx.wrap_socket(raw, server_hostname="localhost")
    info = {"pid": os.getpid(), "local": addr(conn.getsockname()),
            "remote": addr(conn.getpeername()), "bodies": []}
    write_json(args.out + ".json.connected", info)
    rec = Recorder(conn, args.recv_size)
    host = b"localhost:%d" % args.port
    for action in args.actions:
        kind, _, arg = action.partition(":")
        if kind == "pause":
            write_file(arg + ".paused", b"")
            deadline = time.monotonic() + 120
            while not os.path.exists(arg):
                if time.monotonic() > deadline:
                    sys.exit("tls_peer client: %s did not appear" % arg)
                time.sleep(0.05)
            continue
        if kind == "sleep":
            time.sleep(float(arg))
            continue
        if kind == "get":
            req = b"GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: tls_peer\r\n\r\n" % (arg.encode(), host)
        elif kind == "post":
            head = (b"POST /sink HTTP/1.1\r\nHost: %s\r\nUser-Agent: tls_peer\r\n"
                    b"Content-Length: %%d\r\n\r\n" % host)
            total = int(arg)
            body_len = 0
            for _ in range(4):  # the length's digits change the header's length
                body_len = max(0, total - len(head % body_len))
            req = head % body_len + os.urandom(body_len)
            if len(req) != total:
                sys.exit("tls_peer client: cannot build a %d-byte request" % total)
        else:
            sys.exit("tls_peer client: unknown action %r" % action)
        rec.sendall(req)
        resp_head = rec.read_until(b"\r\n\r\n")
        if resp_head is None:
            sys.exit("tls_peer client: connection closed before the response")
        info["bodies"].append(len(rec.read_exact(content_length(resp_head))))
    conn.close()
    write_file(args.out + "-sent.bin", bytes(rec.sent))
    write_file(args.out + "-recv.bin", bytes(rec.recv))
    write_json(args.out + ".json", info)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    s = sub.add_parser("server")
    s.add_argument("--cert", required=True)
    s.add_argument("--key", required=True)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port-file", required=True)
    s.add_argument("--log-dir", required=True)
    s.add_argument("--comm")
    c = sub.add_parser("client")
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--recv-size", type=int, default=65536)
    c.add_argument("--comm")
    c.add_argument("actions", nargs="+")
    args = ap.parse_args()
    if args.comm:
        with open("/proc/self/comm", "w") as f:
            f.write(args.comm)
    if args.mode == "server":
        run_server(args)
    else:
        run_client(args)


if __name__ == "__main__":
    main()
