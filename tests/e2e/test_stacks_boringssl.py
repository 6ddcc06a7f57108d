#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e stacks (1): BoringSSL, shared (Debian's android libssl.so.0, used by bssl-tool).

* client: `bssl-tool client -connect 127.0.0.1:PORT` sends an HTTP request
  read from stdin to the Python tls_peer server and prints the response. Its
  frames (comm bssl-tool, library BoringSSL, library name libssl.so.0...,
  role client) hold exactly the request (write) and the response (read), as
  the server logged them, with the connection's 5-tuple: local port = the
  client port the server saw, remote = the server's port, 127.0.0.1;
* server: `bssl-tool server -www` (binds the IPv6 wildcard: its socket is
  IPv4-mapped, reported as IPv4) answers curl (system libssl). Its frames
  (role server) hold the response curl received (write) and the start of
  curl's request (read: -www reads only "GET " before answering), with the
  5-tuple mirroring curl's.

No frame carries ciphertext (a TLS record header).
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_stacks_lib as lib  # noqa: E402
from test_stacks_lib import pcapng  # noqa: E402

LOCALHOST = "127.0.0.1"


class BoringSSL(lib.StacksTest):
    def test_bssl_client(self):
        server = self.python_server(LOCALHOST)
        request = b"GET /bssl-client?x=1 HTTP/1.1\r\nHost: localhost\r\nUser-Agent: bssl\r\n\r\n"
        req_file = self.write("bssl-client.request", request)
        cap = self.start_tlsdump()
        # stdin EOF: bssl-tool shuts the socket down for writing; the server then
        # sees EOF after the request and closes, and the client exits.
        client = self.run_peer(["bssl-tool", "client", "-connect", "%s:%d" % (LOCALHOST, server.port)],
                               "bssl-client", stdin=req_file)
        srv = self.only_server_conn(server)
        cap.stop()
        frames = cap.frames()

        # The oracle: what the server logged, and what bssl-tool printed.
        self.assertEqual(srv["recv"], request, "the server got the request")
        self.assertTrue(srv["sent"].startswith(b"HTTP/1.1 200 OK\r\n"), srv["sent"][:80])
        self.assertEqual(client.out, srv["sent"], "bssl-tool printed the server's response")
        client_port = srv["remote"][1]

        wr, rd = self.conn_of(frames, client.pid, "bssl-tool client")
        self.assert_stream(wr, request, "the request bssl-tool wrote")
        self.assert_stream(rd, srv["sent"], "the response bssl-tool read")
        self.assert_write_calls(wr, [len(request)], "bssl-tool client")
        mine = self.only(frames, client.pid)
        self.assert_meta(mine, "bssl-tool", pcapng.LIB_BORINGSSL, "libssl.so.0", pcapng.ROLE_CLIENT,
                         "bssl-tool client")
        self.assert_tuple(mine, (LOCALHOST, client_port), (LOCALHOST, server.port), "bssl-tool client")
        for f in wr.frames:
            self.assertEqual((f.src, f.dst), ((LOCALHOST, client_port), (LOCALHOST, server.port)), f)
        for f in rd.frames:
            self.assertEqual((f.src, f.dst), ((LOCALHOST, server.port), (LOCALHOST, client_port)), f)

        # The server's side (system OpenSSL, captured before issue #6 too).
        sr = self.stream_of(frames, server.pid, pcapng.DIR_READ)
        self.assert_stream(sr, request, "the request the server read")
        self.assert_causal(wr, sr, "bssl-tool -> server")
        self.assert_causal(self.stream_of(frames, server.pid, pcapng.DIR_WRITE), rd,
                           "server -> bssl-tool")
        self.assert_no_ciphertext(mine, "bssl-tool client")
        self.assert_tshark_agrees(cap.out, frames)

    def test_bssl_server(self):
        server = self.bssl_server()
        cap = self.start_tlsdump()
        curl = self.curl("https://%s:%d/bssl-server" % (LOCALHOST, server.port), "-A", "tlsdump-stacks")
        self.wait_proc(server.proc, server.name, 20)  # one connection, then it exits
        cap.stop()
        frames = cap.frames()

        request = lib.expect_http_get("/bssl-server", server.port)
        self.assertTrue(curl.headers.startswith(b"HTTP/1.0 200 OK\r\n"), curl.headers[:80])
        self.assertIn(b"Version: TLSv1.3", curl.body, "bssl-tool -www describes the connection")

        # curl (system libssl): works before issue #6 and gives the oracle.
        cw, cr = self.conn_of(frames, curl.pid, "curl")
        self.assert_stream(cw, request, "curl's request")
        self.assert_stream(cr, curl.headers + curl.body, "the response curl read")
        curl_port = cw.first.local[1]
        self.assert_tuple(self.only(frames, curl.pid), (LOCALHOST, curl_port),
                          (LOCALHOST, server.port), "curl")

        sw, sr = self.conn_of(frames, server.pid, "bssl-tool server")
        self.assert_stream(sw, curl.headers + curl.body, "the response bssl-tool server wrote")
        # -www reads the first bytes ("GET ") and answers without reading the rest.
        self.assert_stream(sr, sr.data, "what bssl-tool server read")
        self.assertTrue(sr.data.startswith(b"GET ") and request.startswith(sr.data),
                        "bssl-tool server read %r, not a prefix of %r" % (sr.data, request))
        mine = self.only(frames, server.pid)
        self.assert_meta(mine, "bssl-tool", pcapng.LIB_BORINGSSL, "libssl.so.0", pcapng.ROLE_SERVER,
                         "bssl-tool server")
        # Its socket is IPv4-mapped IPv6 (dual-stack listener): reported as IPv4.
        self.assert_tuple(mine, (LOCALHOST, server.port), (LOCALHOST, curl_port), "bssl-tool server")
        self.assert_causal(cw, sr, "curl -> bssl-tool")
        self.assert_causal(sw, cr, "bssl-tool -> curl")
        self.assert_no_ciphertext(mine, "bssl-tool server")
        self.assert_tshark_agrees(cap.out, frames)


if __name__ == "__main__":
    lib.main(["bssl-tool"])
