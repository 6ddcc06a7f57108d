#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e: Go crypto/tls HTTP/2 (and HTTP/1.1) pairing in the dissector.

A small net/http program (written and built here with the installed `go`,
offline) is both an HTTPS server (HTTP/2 through ServeTLS) and a client. The
server starts first and keeps running; once tlsdump logs that it hooked
crypto/tls in that file, the client (the same file, so its probes are
already attached) makes GET and POST requests over one HTTP/2 connection,
first one after the other, then several at once, so streams interleave; then
the same over HTTP/1.1.

Read with the built plugin (tshark as nobody, two passes), on both the client's
and the server's side: every request has tlsdump.response_in and every
response tlsdump.request_in, pointing at each other, by HTTP/2 stream id; and
the DATA frames of each stream, put together from tlsdump.payload by offset,
are the body the server made for the path the dissector shows for that stream.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_dissector_lib as lib  # noqa: E402
from test_dissector_lib import e2e  # noqa: E402

COMM = "tlsd-dis-go"
CACHE = os.environ.get("TLSDUMP_GO_CACHE") or os.path.join(tempfile.gettempdir(),
                                                            "tlsdump-go-cache")
FIELDS = ["frame.number", "tlsdump.pid", "tlsdump.conn", "tlsdump.dir", "tlsdump.app",
          "tlsdump.streamid", "tlsdump.response_in", "tlsdump.request_in",
          "http2.headers.path", "http2.headers.status", "http.request.uri",
          "http.response.code"]

# Paths: /size/N/NAME returns N bytes: the path repeated. POST bodies are echoed
# in the X-Got header only.
SEQUENTIAL = ["/size/100/first", "/size/70000/second", "/size/1000000/third"]
CONCURRENT = ["/size/5000/c%d" % i for i in range(6)] + ["/size/300000/c-big"]
POST = "/size/2000/posted"

GO_PROGRAM = r'''
package main

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
)

func body(path string) []byte {
	size, _ := strconv.Atoi(strings.Split(path, "/")[2])
	return bytes.Repeat([]byte(path), size/len(path)+1)[:size]
}

func serve(cert, key, portFile string) {
	c, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		panic(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			in, _ := io.ReadAll(r.Body)
			w.Header().Set("X-Got", strconv.Itoa(len(in)))
			w.Write(body(r.URL.Path))
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{c}},
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	os.WriteFile(portFile+".tmp", []byte(port), 0644)
	os.Rename(portFile+".tmp", portFile)
	panic(srv.ServeTLS(ln, "", ""))
}

func fetch(cl *http.Client, base, method, path string) {
	var in io.Reader
	if method == "POST" {
		in = bytes.NewReader(bytes.Repeat([]byte("p"), 3000))
	}
	req, err := http.NewRequest(method, base+path, in)
	if err != nil {
		panic(err)
	}
	resp, err := cl.Do(req)
	if err != nil {
		panic(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		panic(err)
	}
	if !bytes.Equal(b, body(path)) {
		panic("wrong body for " + path)
	}
	fmt.Println(resp.Proto, method, path, len(b))
}

func client(base string, h2 bool, sequential, concurrent []string, post string) {
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		ForceAttemptHTTP2: h2,
	}
	if !h2 {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	cl := &http.Client{Transport: tr}
	for _, p := range sequential {
		fetch(cl, base, "GET", p)
	}
	fetch(cl, base, "POST", post)
	if h2 {
		var wg sync.WaitGroup
		for _, p := range concurrent {
			wg.Add(1)
			go func(p string) {
				defer wg.Done()
				fetch(cl, base, "GET", p)
			}(p)
		}
		wg.Wait()
	}
	tr.CloseIdleConnections()
}

func main() {
	switch os.Args[1] {
	case "server":
		serve(os.Args[2], os.Args[3], os.Args[4])
	case "client":
		// client BASE h2|h1 POST SEQ,... CONC,...
		client(os.Args[2], os.Args[3] == "h2", strings.Split(os.Args[5], ","),
			strings.Split(os.Args[6], ","), os.Args[4])
	}
}
'''


def expected_body(path):
    size = int(path.split("/")[2])
    return (path.encode() * (size // len(path) + 1))[:size]


def go_build(out):
    src = os.path.join(os.path.dirname(out), "gosrc")
    os.makedirs(src, exist_ok=True)
    with open(os.path.join(src, "main.go"), "w") as f:
        f.write(GO_PROGRAM)
    env = dict(os.environ, GOCACHE=os.path.join(CACHE, "gocache"),
               GOPATH=os.path.join(CACHE, "gopath"), GOPROXY="off", GOFLAGS="",
               GO111MODULE="off", GOENV="off", GOTOOLCHAIN="local", GOTELEMETRY="off")
    env.setdefault("HOME", CACHE)
    proc = subprocess.run(["go", "build", "-o", out, "main.go"], cwd=src, env=env,
                          capture_output=True, text=True, timeout=600)
    if proc.returncode:
        raise AssertionError("go build failed:\n%s%s" % (proc.stdout, proc.stderr))


class DissectorGo(lib.DissectorTest):
    def test_go_http2_pairing(self):
        if not shutil.which("go"):
            self.skipTest("no go toolchain (Debian package golang-go)")
        binary = self.path(COMM)
        go_build(binary)
        cert, key = self.cert()
        cap = self.capture("-c", COMM, "--packets", "off")
        port_file = self.path("go-server.port")
        server = self.spawn([binary, "server", cert, key, port_file], "go-server")

        def port():
            if server.poll() is not None:
                raise AssertionError("Go server exited: %s"
                                     % e2e.read_text(self.path("go-server.err")))
            return os.path.exists(port_file) and int(e2e.read_text(port_file))
        port = e2e.wait_for(port, 30, "the Go server to listen")
        # Probes attach per file: once the server's file is hooked, a client run
        # of the same file is captured from its first byte.
        hooked = re.compile(r"^.*%s: hooked crypto/tls.*$" % re.escape(COMM), re.M)
        e2e.wait_for(lambda: hooked.search(e2e.read_text(cap.log)), self.START_TIMEOUT,
                     "tlsdump to log that it hooked crypto/tls in %s\n%s"
                     % (binary, cap.diagnostics()))
        base = "https://127.0.0.1:%d" % port
        clients = {}
        for proto in ("h2", "h1"):
            name = "go-client-" + proto
            p = self.spawn([binary, "client", base, proto, POST, ",".join(SEQUENTIAL),
                            ",".join(CONCURRENT)], name)
            self.wait_proc(p, name, 60)
            clients[proto] = p.pid
            out = e2e.read_text(self.path(name + ".out"))
            want = "HTTP/2.0" if proto == "h2" else "HTTP/1.1"
            self.assertTrue(out and all(l.startswith(want + " ") for l in out.splitlines()),
                            "%s client:\n%s" % (proto, out))
        self.stop_capture(cap)

        sel = " || ".join("tlsdump.pid == %d" % p for p in (server.pid, *clients.values()))
        rows = self.plugin_fields(cap.out, FIELDS, "tlsdump && (%s)" % sel)
        streams = self.plaintext_streams(cap.out, sel)
        conns = {}
        for r in rows:
            conns.setdefault((r.num("tlsdump.pid"), r.num("tlsdump.conn")), []).append(r)
        READ, WRITE = 0, 1
        h2_requests = SEQUENTIAL + [POST] + CONCURRENT
        h1_requests = SEQUENTIAL + [POST]
        found = {"h2": 0, "h1": 0}
        for (pid, conn), r in sorted(conns.items()):
            is_client = pid in clients.values()
            proto = [k for k, v in clients.items() if v == pid][0] if is_client else None
            apps = {x.num("tlsdump.app") for x in r}
            if not is_client:
                proto = "h2" if 2 in apps else "h1"
            found[proto] += 1
            what = "%s %s pid %d conn %d" % ("client" if is_client else "server", proto, pid,
                                              conn)
            expect = h2_requests if proto == "h2" else h1_requests
            self.assertEqual(apps, {2} if proto == "h2" else {1}, "%s: tlsdump.app" % what)
            reqs = self.pairs(r, "request")
            resps = self.pairs(r, "response")
            self.assertEqual(len(reqs), len(expect), "%s: requests with response_in: %s"
                             % (what, reqs))
            self.assertEqual(sorted((o, sid, f) for f, sid, o in reqs), sorted(resps),
                             "%s: response_in and request_in must point at each other" % what)
            req_dir = WRITE if is_client else READ
            by_num = {x.num("frame.number"): x for x in r}
            for f, sid, o in reqs:
                self.assertEqual(by_num[f].num("tlsdump.dir"), req_dir, "%s frame %d" % (what, f))
                self.assertEqual(by_num[o].num("tlsdump.dir"), 1 - req_dir,
                                 "%s frame %d" % (what, o))
            if proto == "h1":
                self.assertEqual([u for x in r for u in x.get("http.request.uri", [])],
                                 h1_requests, what)
                continue
            # Each request's stream, and the path the dissector decoded for it.
            path_of = {}
            for x in r:
                sids = [sid for f, sid, o in reqs if f == x.num("frame.number")]
                paths = x.get("http2.headers.path", [])
                if sids:
                    self.assertEqual(len(paths), len(sids), "%s frame %s: paths %s, streams %s"
                                     % (what, x.first("frame.number"), paths, sids))
                    path_of.update(zip(sids, paths))
            self.assertEqual(sorted(path_of.values()), sorted(h2_requests), what)
            # The server's DATA frames per stream: the body made for that path.
            sent = streams[(pid, conn, READ if is_client else WRITE)]
            bodies = lib.h2_bodies(sent, False)
            for sid, path in path_of.items():
                body = bodies.get(sid, b"")
                self.assertTrue(body == expected_body(path),
                                "%s: stream %d (%s): %d bytes of DATA, expected %d"
                                % (what, sid, path, len(body), len(expected_body(path))))
        self.assertEqual(found, {"h2": 2, "h1": 2}, "connections (client and server side)")


if __name__ == "__main__":
    lib.main()
