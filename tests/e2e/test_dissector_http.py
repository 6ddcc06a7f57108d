#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e: HTTP/1.1 and HTTP/2 through `tshark -i tlsdump`, read with the built plugin.

nginx (Debian's, from a temporary prefix: its own config, self-signed
certificate, `listen 127.0.0.1:PORT ssl http2`) serves files of known content,
one of 5 MiB. curl fetches them all over one connection with --http1.1, then
over one connection with --http2, while `tshark -i tlsdump` captures (the
extcap from a temporary HOME). nginx and curl run as copies named tlsd-dis-web,
selected with the extcap's comm option, so both sides are captured and nothing
else on the host is.

Then tshark with the freshly built plugin (as nobody, see test_dissector_lib.py),
two passes:
* every request (curl's writes, nginx's reads) has tlsdump.response_in, every
  response tlsdump.request_in, the two pointing at each other, for HTTP/1.1
  (in order) and HTTP/2 (by stream id);
* the plaintext put together from tlsdump.payload by tlsdump.offset, per
  connection and direction, holds the files exactly: HTTP/1.1 responses
  parsed, HTTP/2 DATA frames concatenated per stream; nginx wrote exactly what
  curl read.
"""
import os
import shutil
import socket
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_dissector_lib as lib  # noqa: E402
from test_dissector_lib import e2e  # noqa: E402

COMM = "tlsd-dis-web"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PAIR_FIELDS = ["frame.number", "tlsdump.pid", "tlsdump.conn", "tlsdump.dir",
               "tlsdump.streamid", "tlsdump.response_in", "tlsdump.request_in",
               "tlsdump.reassembled.length", "http.request.uri", "http.response.code",
               "http2.type", "http2.headers.path", "http2.headers.status"]

NGINX_CONF = """
daemon off;
master_process on;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 64; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/tmp-body;
    proxy_temp_path {d}/tmp-proxy;
    fastcgi_temp_path {d}/tmp-fastcgi;
    uwsgi_temp_path {d}/tmp-uwsgi;
    scgi_temp_path {d}/tmp-scgi;
    default_type application/octet-stream;
    keepalive_requests 1000;
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        root {d}/html;
    }}
}}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class DissectorHttp(lib.DissectorTest):
    def files(self):
        """name -> content of the files nginx serves."""
        html = self.path("nginx", "html")
        os.makedirs(html)
        files = {
            "small.txt": b"hello from nginx\n",
            "mid.txt": b"".join(b"line %06d of a text file\n" % i for i in range(3000)),
            "big.bin": os.urandom(5 * e2e.MiB),
            "empty.txt": b"",
        }
        for name, data in files.items():
            with open(os.path.join(html, name), "wb") as f:
                f.write(data)
            os.chmod(os.path.join(html, name), 0o644)
        for d in (self.path("nginx"), html):
            os.chmod(d, 0o755)
        return files

    def start_nginx(self):
        """nginx (a copy named COMM) on a free port; returns (master Peer, worker pid)."""
        cert, key = self.cert()
        d = self.path("nginx")
        binary = self.path(COMM)
        shutil.copy(NGINX, binary)
        for attempt in range(5):
            port = free_port()
            conf = os.path.join(d, "nginx.conf")
            with open(conf, "w") as f:
                f.write(NGINX_CONF.format(d=d, port=port, cert=cert, key=key))
            name = "nginx%d" % attempt
            p = self.spawn([binary, "-p", d, "-c", conf, "-e", os.path.join(d, "error.log")],
                           name)

            def up():
                if p.poll() is not None:
                    return "exited"
                try:
                    socket.create_connection(("127.0.0.1", port), 1).close()
                    return "up"
                except OSError:
                    return None
            state = e2e.wait_for(up, 30, "nginx to listen on %d" % port)
            if state == "up":
                break
            err = e2e.read_text(os.path.join(d, "error.log"))
            if "Address already in use" not in err:
                self.fail("nginx exited:\n%s\n%s" % (e2e.read_text(self.path(name + ".err")), err))
        else:
            self.fail("nginx found no free port")

        def worker():
            try:
                kids = e2e.read_text("/proc/%d/task/%d/children" % (p.pid, p.pid)).split()
            except OSError:
                return None
            return int(kids[0]) if kids else None
        return e2e.Peer(p, "nginx", port=port), e2e.wait_for(worker, 10, "nginx's worker")

    def run_curl(self, name, proto, urls, binary):
        argv = [binary, "-sS", "-k", proto, "--max-time", "60"]
        for i, u in enumerate(urls):
            argv += ["-o", self.path("%s-%d.body" % (name, i)), u]
        p = self.spawn(argv, name)
        self.wait_proc(p, name, 90)
        return p.pid

    def check_pairs(self, rows, what, n):
        """@n requests in @rows (one side of one connection) each linked with its response."""
        reqs = self.pairs(rows, "request")
        resps = self.pairs(rows, "response")
        self.assertEqual(len(reqs), n, "%s: requests with tlsdump.response_in: %s" % (what, reqs))
        self.assertEqual(len(resps), n, "%s: responses with tlsdump.request_in: %s"
                         % (what, resps))
        self.assertEqual(sorted((o, sid, f) for f, sid, o in reqs), sorted(resps),
                         "%s: response_in and request_in must point at each other" % what)
        return reqs

    def test_http1_http2_nginx(self):
        if not os.access(NGINX, os.X_OK):
            self.skipTest("nginx is not installed (Debian package nginx-light)")
        files = self.files()
        server, worker = self.start_nginx()
        curl = self.path("curl-bin")
        os.makedirs(curl)
        curl = os.path.join(curl, COMM)
        shutil.copy(shutil.which("curl"), curl)
        order = ["small.txt", "big.bin", "mid.txt", "empty.txt", "small.txt"]
        urls = ["https://127.0.0.1:%d/%s" % (server.port, n) for n in order]
        pids = {}

        def traffic():
            pids["h1"] = self.run_curl("curl-h1", "--http1.1", urls, curl)
            pids["h2"] = self.run_curl("curl-h2", "--http2", urls, curl)
        out, log = self.tshark_capture("web", ["comm:" + COMM, "packetinterfaces:lo"], traffic)
        for name, pid in pids.items():
            for i, n in enumerate(order):
                self.assertEqual(e2e.read_bytes(self.path("curl-%s-%d.body" % (name, i))),
                                 files[n], "curl %s got %s" % (name, n))

        # The plaintext as the dissector shows it, by offset.
        sel = " || ".join("tlsdump.pid == %d" % p for p in (pids["h1"], pids["h2"], worker))
        streams = self.plaintext_streams(out, sel)
        conns = {}
        for (pid, conn, d), data in streams.items():
            conns.setdefault((pid, conn), {})[d] = data
        h1 = [c for c in conns if c[0] == pids["h1"]]
        h2 = [c for c in conns if c[0] == pids["h2"]]
        self.assertEqual((len(h1), len(h2)), (1, 1), "curl connections: %s" % sorted(conns))
        server_conns = [c for c in conns if c[0] == worker]
        self.assertEqual(len(server_conns), 2, "nginx's connections: %s" % sorted(conns))
        READ, WRITE = 0, 1

        # HTTP/1.1: requests in order, responses carry the files.
        c1 = conns[h1[0]]
        reqs = lib.h1_messages(c1[WRITE])
        self.assertEqual([m[0] for m in reqs], ["GET /%s HTTP/1.1" % n for n in order])
        resps = lib.h1_messages(c1[READ])
        self.assertEqual([m[0].split(" ")[1] for m in resps], ["200"] * len(order))
        for (line, headers, body), n in zip(resps, order):
            self.assertTrue(body == files[n], "HTTP/1.1 body of %s: %d bytes, expected %d"
                            % (n, len(body), len(files[n])))
        # HTTP/2: DATA frames by stream, streams in request order.
        c2 = conns[h2[0]]
        sids = [sid for t, fl, sid, pl in lib.h2_frames(c2[WRITE], True) if t == lib.H2_HEADERS]
        self.assertEqual(len(sids), len(order), "HTTP/2 requests: streams %s" % sids)
        bodies = lib.h2_bodies(c2[READ], False)
        for sid, n in zip(sids, order):
            body = bodies.get(sid, b"")
            self.assertTrue(body == files[n], "HTTP/2 stream %d (%s): %d bytes, expected %d"
                            % (sid, n, len(body), len(files[n])))
        # nginx's side: it wrote what curl read, and read what curl wrote.
        for client in (c1, c2):
            match = [c for c in server_conns if conns[c].get(WRITE) == client[READ]]
            self.assertEqual(len(match), 1, "nginx connection that wrote curl's reads")
            got = conns[match[0]].get(READ, b"")
            self.assertTrue(client[WRITE].startswith(got) and len(got) > 0,
                            "nginx read %d bytes of curl's %d" % (len(got), len(client[WRITE])))
            client["server"] = match[0]

        # Pairing, both sides, two passes.
        rows = self.plugin_fields(out, PAIR_FIELDS, "tlsdump && (%s)" % sel)

        def side(pid, conn):
            return [r for r in rows if (r.num("tlsdump.pid"), r.num("tlsdump.conn")) == (pid, conn)]
        for label, client, conn in (("HTTP/1.1", c1, h1[0]), ("HTTP/2", c2, h2[0])):
            for who, key in (("curl", conn), ("nginx", client["server"])):
                what = "%s %s" % (label, who)
                r = side(*key)
                links = self.check_pairs(r, what, len(order))
                # Requests come from curl's writes, nginx's reads.
                req_dir = WRITE if who == "curl" else READ
                by_num = {x.num("frame.number"): x for x in r}
                for f, sid, o in links:
                    self.assertEqual(by_num[f].num("tlsdump.dir"), req_dir, "%s frame %d" % (what, f))
                if label == "HTTP/2":
                    self.assertEqual(sorted(sid for f, sid, o in links), sorted(sids),
                                     "%s: paired streams" % what)
                else:
                    self.assertEqual([u for x in r for u in x.get("http.request.uri", [])],
                                     ["/" + n for n in order], what)
        # The 5 MiB HTTP/1.1 response went to http in one piece, put together by
        # the plugin (HTTP/2 goes frame by frame).
        biggest = max([n for x in side(*h1[0]) for n in x.nums("tlsdump.reassembled.length")]
                      or [0])
        self.assertGreaterEqual(biggest, len(files["big.bin"]), "largest reassembled message")


if __name__ == "__main__":
    lib.main()
