#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A fake Kubernetes API server for tests (stdlib only; run with /usr/bin/python3).

It serves, over HTTPS with a CA of its own (made with the openssl command at
start) and a bearer token it checks (401 otherwise), the collections that
tlsdump's API client lists and watches, in the real server's JSON shapes:

    GET /api/v1/pods
    GET /api/v1/services
    GET /apis/discovery.k8s.io/v1/endpointslices

A list takes limit= and continue= (a page holds at most --page-size items, so
pagination can be tested with the client's usual limit) and returns
metadata.resourceVersion. ?watch=1&resourceVersion=RV streams, chunked, one
JSON event per line: the events after RV (ADDED, MODIFIED, DELETED), BOOKMARKs
with allowWatchBookmarks=true, and ends after timeoutSeconds=. A watch from a
resourceVersion older than a lost ("silent") change gets an ERROR event with
code 410, as the real server does once its history is compacted.

Command line:

    fake_apiserver.py [--host 127.0.0.1] [--port 0] [--token TOKEN]
                      [--credentials-dir DIR] [--cert-dir DIR]
                      [--page-size N] [--bookmark-interval SECONDS] [--verbose]

--credentials-dir writes DIR/token, DIR/ca.crt and DIR/namespace as in a pod's
service account volume; --cert-dir keeps the keys and certificates there
(default: a temporary directory removed at exit). When ready it prints one
JSON line on stdout:

    {"ready": true, "url": "https://127.0.0.1:PORT", "port": PORT,
     "ca": ".../ca.crt", "untrusted_ca": ".../other-ca.crt", "token": "..."}

untrusted_ca is a CA with the same name but another key, for testing that a
client verifies the server.

Control protocol: one JSON object per line on stdin, one JSON reply per line on
stdout, {"ok": true, ...} or {"ok": false, "error": "..."}. EOF on stdin or
SIGTERM stops the server.

    {"op": "pod", "namespace": NS, "name": N, "ips": [IP, ...],
     "hostNetwork": false, "phase": "Running", "labels": {...}}
        creates or replaces a pod (an ADDED or MODIFIED event)
    {"op": "service", "namespace": NS, "name": N, "clusterIPs": [IP or "None", ...]}
    {"op": "endpointslice", "namespace": NS, "name": N, "service": SVC,
     "endpoints": [{"addresses": [IP, ...], "pod": POD_NAME}, ...]}
    {"op": "put", "object": {...}}
        any Pod, Service or EndpointSlice object, as JSON
    {"op": "delete", "kind": "Pod" | "Service" | "EndpointSlice", "namespace": NS, "name": N}
        Mutations reply {"ok": true, "resourceVersion": "RV"}. With "silent": true
        the change makes no watch event (as if it were lost); watches from an
        older resourceVersion then get 410.
    {"op": "rotate_token", "token": T}
        only T is accepted from now on; open watches are closed so that clients
        reconnect with whatever token they have
    {"op": "gone", "resource": "pods" | "services" | "endpointslices" | null, "mode": "http" | "event"}
        closes the open watches of the resource (null: all); the next watch of
        each gets 410 Gone, as the HTTP status (http) or as an ERROR event in a
        200 stream (event, the real server's way)
    {"op": "close_watches"}
        ends every open watch normally (clients watch again)
    {"op": "stats"}
        {"ok": true, "lists": {"pods": N, ...}, "watches": {"pods": N, ...},
         "requests": N, "unauthorized": N, "tls_errors": N, "open_watches": N,
         "resourceVersion": "RV"}
    {"op": "stop"}

From Python, in-process:

    srv = FakeApiServer(credentials_dir=d)
    info = srv.start()                       # the dict printed above
    srv.command({"op": "pod", "name": "a", "ips": ["10.1.0.1"]})
    srv.stop()
"""

import argparse
import copy
import http.server
import ipaddress
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

# resource -> (path, kind, apiVersion, list kind)
RESOURCES = {
    "pods": ("/api/v1/pods", "Pod", "v1", "PodList"),
    "services": ("/api/v1/services", "Service", "v1", "ServiceList"),
    "endpointslices": ("/apis/discovery.k8s.io/v1/endpointslices", "EndpointSlice",
                       "discovery.k8s.io/v1", "EndpointSliceList"),
}
KIND_RESOURCE = {kind: res for res, (_, kind, _, _) in RESOURCES.items()}
PATH_RESOURCE = {path: res for res, (path, _, _, _) in RESOURCES.items()}

OPENSSL_CNF = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = {san}
authorityKeyIdentifier = keyid
"""


def _openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_certs(cert_dir, host):
    """Writes ca.crt, server.crt/.key (signed by ca) and other-ca.crt into cert_dir."""
    san = ["DNS:localhost", "DNS:kubernetes.default.svc", "IP:127.0.0.1", "IP:::1"]
    try:
        san.append("IP:%s" % ipaddress.ip_address(host))
    except ValueError:
        san.append("DNS:" + host)
    with open(os.path.join(cert_dir, "openssl.cnf"), "w") as f:
        f.write(OPENSSL_CNF.format(san=", ".join(san)))
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    for name in ("ca", "other-ca"):
        _openssl("req", "-config", "openssl.cnf", "-x509", *ec, "-days", "2",
                 "-subj", "/CN=fake-apiserver-ca", "-extensions", "ca",
                 "-keyout", name + ".key", "-out", name + ".crt", cwd=cert_dir)
    _openssl("req", "-config", "openssl.cnf", "-new", *ec, "-subj", "/CN=kube-apiserver",
             "-keyout", "server.key", "-out", "server.csr", cwd=cert_dir)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-set_serial", "0x%x" % secrets.randbits(63), "-days", "2",
             "-extfile", "openssl.cnf", "-extensions", "server", "-out", "server.crt",
             cwd=cert_dir)


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class State:
    """The objects, their event history and the knobs; one condition guards all."""

    def __init__(self, token, page_size, bookmark_interval):
        self.cond = threading.Condition()
        self.token = token
        self.page_size = page_size
        self.bookmark_interval = bookmark_interval
        self.rv = 1000
        self.objects = {r: {} for r in RESOURCES}    # (ns, name) -> object
        self.events = {r: [] for r in RESOURCES}     # (rv, type, object)
        self.compacted = {r: 0 for r in RESOURCES}   # watches from before this get 410
        self.generation = {r: 0 for r in RESOURCES}  # bumped to end open watches
        self.gone = {r: None for r in RESOURCES}     # 410 mode for the next watch
        self.snapshots = {}                          # continue token -> (rv, items left)
        self.stopping = False
        self.stats = {"lists": {r: 0 for r in RESOURCES}, "watches": {r: 0 for r in RESOURCES},
                      "requests": 0, "unauthorized": 0, "tls_errors": 0, "open_watches": 0}

    def _record(self, res, type_, obj, silent):
        if silent:
            self.compacted[res] = self.rv
        else:
            self.events[res].append((self.rv, type_, copy.deepcopy(obj)))
        self.cond.notify_all()

    def put(self, obj, silent=False):
        res = KIND_RESOURCE[obj["kind"]]
        obj = copy.deepcopy(obj)
        meta = obj.setdefault("metadata", {})
        meta.setdefault("namespace", "default")
        key = (meta["namespace"], meta["name"])
        with self.cond:
            self.rv += 1
            old = self.objects[res].get(key)
            old_meta = old["metadata"] if old else {}
            meta.setdefault("uid", old_meta.get("uid") or str(uuid.uuid4()))
            meta.setdefault("creationTimestamp", old_meta.get("creationTimestamp") or now_rfc3339())
            meta["resourceVersion"] = str(self.rv)
            self.objects[res][key] = obj
            self._record(res, "MODIFIED" if old else "ADDED", obj, silent)
            return self.rv

    def delete(self, kind, namespace, name, silent=False):
        res = KIND_RESOURCE[kind]
        with self.cond:
            obj = self.objects[res].pop((namespace or "default", name))
            self.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self._record(res, "DELETED", obj, silent)
            return self.rv

    def pod_uid(self, namespace, name):
        with self.cond:
            pod = self.objects["pods"].get((namespace, name))
            return pod["metadata"]["uid"] if pod else None

    def end_watches(self, resources, gone=None):
        with self.cond:
            for r in resources:
                self.generation[r] += 1
                if gone:
                    self.gone[r] = gone
            self.cond.notify_all()

    def count(self, name, res=None):
        with self.cond:
            if res:
                self.stats[name][res] += 1
            else:
                self.stats[name] += 1


def make_pod(cmd):
    ips = cmd.get("ips", [])
    status_ = {"phase": cmd.get("phase", "Running"), "hostIP": cmd.get("hostIP", "192.0.2.1"),
               "podIPs": [{"ip": ip} for ip in ips]}
    if ips:
        status_["podIP"] = ips[0]
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": cmd["name"], "namespace": cmd.get("namespace", "default"),
                         "labels": cmd.get("labels", {})},
            "spec": {"hostNetwork": bool(cmd.get("hostNetwork", False)),
                     "nodeName": cmd.get("nodeName", "node-1"),
                     "containers": [{"name": "main", "image": "busybox"}]},
            "status": status_}


def make_service(cmd):
    ips = cmd.get("clusterIPs", [])
    spec = {"type": "ClusterIP", "clusterIPs": ips,
            "ports": [{"name": "https", "port": 443, "protocol": "TCP"}],
            "selector": cmd.get("selector", {})}
    if ips:
        spec["clusterIP"] = ips[0]
    return {"kind": "Service", "apiVersion": "v1",
            "metadata": {"name": cmd["name"], "namespace": cmd.get("namespace", "default")},
            "spec": spec}


def make_slice(cmd, state):
    ns = cmd.get("namespace", "default")
    endpoints = []
    for ep in cmd.get("endpoints", []):
        e = {"addresses": ep["addresses"], "conditions": {"ready": True}}
        if ep.get("pod"):
            e["targetRef"] = {"kind": "Pod", "namespace": ns, "name": ep["pod"]}
            uid = state.pod_uid(ns, ep["pod"])
            if uid:
                e["targetRef"]["uid"] = uid
        endpoints.append(e)
    family = "IPv6" if any(":" in a for e in endpoints for a in e["addresses"]) else "IPv4"
    return {"kind": "EndpointSlice", "apiVersion": "discovery.k8s.io/v1",
            "metadata": {"name": cmd["name"], "namespace": ns,
                         "labels": {"kubernetes.io/service-name": cmd["service"]}},
            "addressType": family, "endpoints": endpoints,
            "ports": [{"name": "https", "port": 443, "protocol": "TCP"}]}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-apiserver"

    def setup(self):
        # TLS here, in the request's thread: a client that stalls the
        # handshake must not stall accepting the others.
        self.request.settimeout(10)
        # Headers and body are separate writes: without this, delayed ACKs add 40 ms.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self.request = self.server.ssl_context.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError):
            self.server.state.count("tls_errors")
            raise
        super().setup()

    def finish(self):
        try:
            super().finish()
        finally:
            self.request.close()

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("fake_apiserver: %s\n" % (fmt % args))

    def send_json(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def send_event(self, type_, obj):
        self.send_chunk(json.dumps({"type": type_, "object": obj}).encode() + b"\n")

    def do_GET(self):
        st = self.server.state
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        st.count("requests")
        with st.cond:
            authorized = self.headers.get("Authorization") == "Bearer " + st.token
        if not authorized:
            st.count("unauthorized")
            self.send_json(401, status(401, "Unauthorized", "Unauthorized"))
            return
        res = PATH_RESOURCE.get(url.path)
        if not res:
            self.send_json(404, status(404, "NotFound",
                                       "the server could not find the requested resource"))
        elif query.get("watch") in ("1", "true"):
            self.watch(res, query)
        else:
            self.list(res, query)

    def list(self, res, query):
        st = self.server.state
        st.count("lists", res)
        _, _, api_version, list_kind = RESOURCES[res]
        limit = int(query.get("limit") or 0)
        page = min(limit, st.page_size) if limit and st.page_size else (limit or st.page_size)
        with st.cond:
            if query.get("continue"):
                snapshot = st.snapshots.pop(query["continue"], None)
                if snapshot is None:
                    self.send_json(410, status(410, "Expired", "the continue token has expired"))
                    return
                rv, items = snapshot
            else:
                rv = st.rv
                items = [copy.deepcopy(o) for _, o in sorted(st.objects[res].items())]
                for item in items:  # list items carry no kind, as from the real server
                    item.pop("kind", None)
                    item.pop("apiVersion", None)
            meta = {"resourceVersion": str(rv)}
            if page and len(items) > page:
                token = secrets.token_urlsafe(12)
                st.snapshots[token] = (rv, items[page:])
                meta["continue"] = token
                meta["remainingItemCount"] = len(items) - page
                items = items[:page]
        self.send_json(200, {"kind": list_kind, "apiVersion": api_version, "metadata": meta,
                             "items": items})

    def watch(self, res, query):
        st = self.server.state
        st.count("watches", res)
        _, kind, api_version, _ = RESOURCES[res]
        since = query.get("resourceVersion", "")
        since = int(since) if since.isdigit() and since != "0" else None
        timeout = float(query.get("timeoutSeconds") or 1800)
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        backlog = []
        with st.cond:
            gone, st.gone[res] = st.gone[res], None
            if not gone and since is not None and since < st.compacted[res]:
                gone = "event"
            generation = st.generation[res]
            events = st.events[res]
            if since is None:  # "any": the current state as ADDED events first
                backlog = [("ADDED", copy.deepcopy(o)) for _, o in sorted(st.objects[res].items())]
                index, last_rv = len(events), st.rv
            else:
                index = next((i for i, e in enumerate(events) if e[0] > since), len(events))
                last_rv = since
        if gone == "http":
            self.send_json(410, status(410, "Expired", "too old resource version"))
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        with st.cond:
            st.stats["open_watches"] += 1
        try:
            if gone:
                self.send_event("ERROR", status(410, "Expired", "too old resource version"))
            else:
                self.stream(res, kind, api_version, backlog, index, last_rv, generation,
                            timeout, bookmarks)
            self.send_chunk(b"")
        except OSError:
            self.close_connection = True
        finally:
            with st.cond:
                st.stats["open_watches"] -= 1

    def stream(self, res, kind, api_version, backlog, index, last_rv, generation, timeout,
               bookmarks):
        st = self.server.state
        for type_, obj in backlog:
            self.send_event(type_, obj)
        deadline = time.monotonic() + timeout
        next_bookmark = time.monotonic() + st.bookmark_interval
        while True:
            with st.cond:
                events = st.events[res]
                while (index >= len(events) and generation == st.generation[res]
                       and not st.stopping):
                    wake = min(deadline, next_bookmark) if bookmarks else deadline
                    if wake <= time.monotonic():
                        break
                    st.cond.wait(wake - time.monotonic())
                pending, index = events[index:], len(events)
                ended = generation != st.generation[res] or st.stopping
            for rv, type_, obj in pending:
                self.send_event(type_, obj)
                last_rv = rv
            now = time.monotonic()
            if ended or now >= deadline:
                return
            if bookmarks and now >= next_bookmark:
                # Only as far as this watch has seen: a lost event stays lost.
                self.send_event("BOOKMARK", {"kind": kind, "apiVersion": api_version,
                                             "metadata": {"resourceVersion": str(last_rv)}})
                next_bookmark = now + st.bookmark_interval


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)


class FakeApiServer:
    """The server, usable in-process; main() wraps it in the stdin/stdout protocol."""

    def __init__(self, host="127.0.0.1", port=0, token=None, credentials_dir=None,
                 cert_dir=None, page_size=0, bookmark_interval=1.0, verbose=False):
        self.host, self.port = host, port
        self.credentials_dir = credentials_dir
        self.cert_dir, self.own_cert_dir = cert_dir, cert_dir is None
        self.verbose = verbose
        self.state = State(token or secrets.token_urlsafe(32), page_size, bookmark_interval)
        self.httpd = None
        self.thread = None

    def start(self):
        if self.own_cert_dir:
            self.cert_dir = tempfile.mkdtemp(prefix="fake-apiserver-")
        else:
            os.makedirs(self.cert_dir, exist_ok=True)
        make_certs(self.cert_dir, self.host)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.path.join(self.cert_dir, "server.crt"),
                            os.path.join(self.cert_dir, "server.key"))
        server_class = Server
        if ":" in self.host:
            server_class = type("Server6", (Server,), {"address_family": socket.AF_INET6})
        self.httpd = server_class((self.host, self.port), Handler)
        self.httpd.ssl_context = ctx
        self.httpd.state = self.state
        self.httpd.verbose = self.verbose
        self.port = self.httpd.server_address[1]
        if self.credentials_dir:
            os.makedirs(self.credentials_dir, exist_ok=True)
            shutil.copyfile(self.ca, os.path.join(self.credentials_dir, "ca.crt"))
            self.write_token(self.state.token)
            with open(os.path.join(self.credentials_dir, "namespace"), "w") as f:
                f.write("default")
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self.info()

    @property
    def url(self):
        host = "[%s]" % self.host if ":" in self.host else self.host
        return "https://%s:%d" % (host, self.port)

    @property
    def ca(self):
        return os.path.join(self.cert_dir, "ca.crt")

    def info(self):
        return {"ready": True, "url": self.url, "port": self.port, "ca": self.ca,
                "untrusted_ca": os.path.join(self.cert_dir, "other-ca.crt"),
                "token": self.state.token}

    def write_token(self, token):
        """Replaces credentials_dir/token atomically, as the kubelet does."""
        path = os.path.join(self.credentials_dir, "token")
        with open(path + ".new", "w") as f:
            f.write(token)
        os.replace(path + ".new", path)

    def command(self, cmd):
        """Runs one control command (see the module's documentation); returns the reply."""
        st = self.state
        op = cmd.get("op")
        silent = bool(cmd.get("silent"))
        try:
            if op == "pod":
                return {"ok": True, "resourceVersion": str(st.put(make_pod(cmd), silent))}
            if op == "service":
                return {"ok": True, "resourceVersion": str(st.put(make_service(cmd), silent))}
            if op == "endpointslice":
                return {"ok": True,
                        "resourceVersion": str(st.put(make_slice(cmd, st), silent))}
            if op == "put":
                return {"ok": True, "resourceVersion": str(st.put(cmd["object"], silent))}
            if op == "delete":
                rv = st.delete(cmd["kind"], cmd.get("namespace"), cmd["name"], silent)
                return {"ok": True, "resourceVersion": str(rv)}
            if op == "rotate_token":
                with st.cond:
                    st.token = cmd["token"]
                st.end_watches(RESOURCES)
                return {"ok": True}
            if op == "gone":
                res = cmd.get("resource")
                if res is not None and res not in RESOURCES:
                    raise KeyError(res)
                st.end_watches([res] if res else RESOURCES, gone=cmd.get("mode", "event"))
                return {"ok": True}
            if op == "close_watches":
                st.end_watches(RESOURCES)
                return {"ok": True}
            if op == "stats":
                with st.cond:
                    return {"ok": True, "resourceVersion": str(st.rv), **copy.deepcopy(st.stats)}
            if op == "stop":
                return {"ok": True}
            return {"ok": False, "error": "unknown op %r" % (op,)}
        except (KeyError, ValueError, TypeError) as e:
            return {"ok": False, "error": "%s: %r" % (type(e).__name__, e)}

    def stop(self):
        with self.state.cond:
            self.state.stopping = True
            self.state.cond.notify_all()
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
        if self.own_cert_dir and self.cert_dir:
            shutil.rmtree(self.cert_dir, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description="Fake Kubernetes API server for tests.")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token")
    ap.add_argument("--credentials-dir")
    ap.add_argument("--cert-dir")
    ap.add_argument("--page-size", type=int, default=0)
    ap.add_argument("--bookmark-interval", type=float, default=1.0)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()

    srv = FakeApiServer(args.host, args.port, args.token, args.credentials_dir, args.cert_dir,
                        args.page_size, args.bookmark_interval, args.verbose)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        print(json.dumps(srv.start()), flush=True)
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                cmd = json.loads(line)
                reply = srv.command(cmd) if isinstance(cmd, dict) else {"ok": False,
                                                                       "error": "not an object"}
            except ValueError as e:
                cmd, reply = {}, {"ok": False, "error": "bad JSON: %s" % e}
            print(json.dumps(reply), flush=True)
            if cmd.get("op") == "stop":
                break
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
