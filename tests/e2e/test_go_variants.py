#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e Go (1): a Go HTTPS server and client (net/http, crypto/tls) built three
ways, both sides captured.

For each variant of tests/e2e/go_fixture (normal; stripped, -ldflags "-s -w";
PIE, -buildmode=pie; and a gcc-linked stripped PIE): a server of that
binary, tlsdump -c NAME (the server started before the capture for some
variants, found at start by the /proc scan, after it for the others, found by
its exec), tlsdump logs "Go program NAME (goVERSION) in pid P" and "hooked
crypto/tls ...". Then the same file runs as client twice, once HTTP/1.1 and
once HTTP/2 (ALPN), each a GET and a POST. For every connection:

* client and server frames: library Go (header byte 11 = 3), libname
  "go go1.19..." (the toolchain's `go env GOVERSION`), comm = the binary's
  name, role client/server, the 5-tuple seen from each side (the client's
  local address from Go's own httptrace, the server's listen port as the
  client's remote port), no gap;
* the four streams are complete from offset 0 and agree across processes
  (client write == server read, server write == client read);
* the plaintext is what the programs sent: HTTP/1.1 request lines, bodies
  and responses; HTTP/2 preface, HEADERS and DATA with the request body and
  the response bodies the client printed.
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_go_lib as lib  # noqa: E402
from test_go_lib import e2e, pcapng  # noqa: E402


class GoVariants(lib.GoTest):
    def check_variant(self, variant, comm, server_first):
        binary = self.go_binary(variant, comm)
        server = None
        if server_first:
            server = self.go_server(binary)
        cap = self.start_tlsdump("-c", comm, "--packets", "off")
        if not server_first:
            server = self.go_server(binary)
        status = self.wait_hooked(cap, binary)
        self.assertRegex(status, r"^hooked crypto/tls Read/Write and writeKeyLog: \d+ probes")
        target = self.go_target(cap, binary)
        self.assertEqual(target, (comm, lib.go_version(), server.pid),
                         "the 'Go program' log line\n" + cap.diagnostics())

        tag = "%s-%d" % (variant, os.getpid())
        c1 = self.go_client(binary, server.port, ["get:/hello?marker=h1-" + tag,
                                                  "post:/echo:h1-body-" + tag], h1=True,
                            name="client-h1")
        c2 = self.go_client(binary, server.port, ["get:/hello?marker=h2-" + tag,
                                                  "post:/echo:h2-body-" + tag], name="client-h2")
        self.assertEqual([r["proto"] for r in c1.results], ["HTTP/1.1"] * 2)
        self.assertEqual([r["proto"] for r in c2.results], ["HTTP/2.0"] * 2)
        self.stop_capture(cap)
        frames = cap.frames()
        self.assertEqual(cap.summary()[2:], (0, 0), "nothing lost")
        # -c selected exactly the three processes of this binary.
        self.assertEqual({f.pid for f in frames}, {server.pid, c1.pid, c2.pid},
                         "pids of the frames (server %d, clients %d %d)"
                         % (server.pid, c1.pid, c2.pid))
        srv_addr = ("127.0.0.1", server.port)
        for client, h2 in ((c1, False), (c2, True)):
            what = "%s %s" % (variant, client.name)
            local = client.results[0]["local_addr"]
            self.assertEqual({r["local_addr"] for r in client.results}, {local},
                             "%s: one connection for both requests" % what)
            cf = self.only(frames, client.pid)
            sf = [f for f in self.only(frames, server.pid) if f.remote == local]
            self.assert_go_frames(cf, comm, pcapng.ROLE_CLIENT, local, srv_addr, what + " client")
            self.assert_go_frames(sf, comm, pcapng.ROLE_SERVER, srv_addr, local, what + " server")
            cw = self.stream_of(cf, client.pid, pcapng.DIR_WRITE)
            cr = self.stream_of(cf, client.pid, pcapng.DIR_READ)
            sw = self.stream_of(sf, server.pid, pcapng.DIR_WRITE)
            sr = self.stream_of(sf, server.pid, pcapng.DIR_READ)
            self.assertNotEqual(cw.key[0], sr.key[0], "client and server have their own conn ids")
            self.assert_stream(cw, cw.data, what + " client write")
            self.assert_stream(cr, cr.data, what + " client read")
            self.assert_stream(sr, cw.data, what + " server read == client write")
            self.assert_stream(sw, cr.data, what + " server write == client read")
            if h2:
                self.check_h2(cw.data, cr.data, client, tag, what)
            else:
                self.check_h1(cw.data, cr.data, client, server, tag, what)

    def check_h1(self, sent, received, client, server, tag, what):
        reqs = lib.h1_messages(sent)
        self.assertEqual([r[0] for r in reqs], ["GET /hello?marker=h1-%s HTTP/1.1" % tag,
                                                "POST /echo HTTP/1.1"], what)
        self.assertEqual(reqs[0][1]["host"], "127.0.0.1:%d" % server.port, what)
        self.assertEqual(reqs[1][2], ("h1-body-" + tag).encode(), what)
        resps = lib.h1_messages(received)
        self.assertEqual([r[0] for r in resps], ["HTTP/1.1 200 OK"] * 2, what)
        self.assertEqual([r[2].decode() for r in resps], [r["body"] for r in client.results], what)

    def check_h2(self, sent, received, client, tag, what):
        self.assertTrue(sent.startswith(lib.H2_PREFACE), "%s: preface" % what)
        out, rest = lib.h2_frames(sent, True)
        inc, rest2 = lib.h2_frames(received, False)
        self.assertEqual((rest, rest2), (b"", b""), "%s: streams end on a frame boundary" % what)
        self.assertEqual(len({f.sid for f in out if f.type == lib.H2_HEADERS}), 2,
                         "%s: two requests (HEADERS): %s" % (what, out))
        self.assertIn(("h2-body-" + tag).encode(), lib.h2_bodies(out).values(), what)
        self.assertEqual(sorted(lib.h2_bodies(inc).values()),
                         sorted(r["body"].encode() for r in client.results),
                         "%s: response bodies" % what)
        self.assertEqual(client.results[0]["body"], "hello from go HTTP/2.0 h2-" + tag)

    def test_normal(self):
        self.check_variant("normal", "gotls-normal", server_first=True)

    def test_stripped(self):
        self.check_variant("stripped", "gotls-stripped", server_first=False)

    def test_pie(self):
        self.check_variant("pie", "gotls-pie", server_first=True)

    def test_pie_external_stripped(self):
        self.check_variant("pie-ext-stripped", "gotls-piextstr", server_first=False)


if __name__ == "__main__":
    lib.main()
