#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e stacks (4): NSS (I/O through libnspr4.so: PR_Read/PR_Write/PR_Send/PR_Recv
and PR_Writev on file descriptors with the SSL layer pushed).

What the NSS tools call (seen with uprobes on libnspr4.so):
* tstclnt reads the request file with PR_Read and writes what it receives
  to stdout with PR_Write: both on plain NSPR file descriptors; it sends with
  PR_Send (retried while the handshake would block: the failed calls carry
  no data) and receives with PR_Recv, on the SSL socket;
* selfserv reads with PR_Read on the SSL socket and answers a GET with one
  PR_Writev of three buffers (header, the request echoed, "EOF").

Tests:
* tstclnt to `openssl s_server -www` (system libssl, captured before issue
  #6, so its frames are an oracle): tstclnt's frames (library NSS, library
  name libnspr4.so..., role client) hold exactly the request once and the
  response it printed, on one connection with the 5-tuple s_server saw;
  the request file and stdout (plain NSPR descriptors) give no frame;
* selfserv answering curl (system libssl): selfserv's frames (role server)
  hold curl's request and the response curl received, written by PR_Writev;
* tstclnt to selfserv, both NSS, in one capture, while a Python ctypes
  client of plain NSPR sockets (PR_Write, PR_Send, PR_Read, PR_Recv on a TCP
  socket without SSL layer) talks to an echo server: both TLS ends are
  captured and mirror each other; the plain NSPR traffic is not reported.
No NSS frame carries a TLS record header (the lower layer's ciphertext).
"""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_stacks_lib as lib  # noqa: E402
from test_stacks_lib import e2e, pcapng  # noqa: E402

LOCALHOST = "127.0.0.1"
NSPR = "libnspr4.so"


class NSS(lib.StacksTest):
    def check_tstclnt(self, frames, client, request, response, server_port, what="tstclnt"):
        """tstclnt's frames: exactly @request (one call) and @response, NSS, role client,
        one connection to @server_port. Returns (write, read) streams and its local port."""
        wr, rd = self.conn_of(frames, client.pid, what)
        self.assert_stream(wr, request, "the request %s wrote" % what)
        self.assert_stream(rd, response, "the response %s read" % what)
        self.assert_write_calls(wr, [len(request)], what)
        mine = self.only(frames, client.pid)
        self.assert_meta(mine, "tstclnt", pcapng.LIB_NSS, NSPR, pcapng.ROLE_CLIENT, what)
        local = wr.first.local
        self.assertEqual(local[0], LOCALHOST)
        self.assertNotEqual(local[1], server_port)
        self.assert_tuple(mine, local, (LOCALHOST, server_port), what)
        self.assert_no_ciphertext(mine, what)
        return wr, rd, local[1]

    def check_selfserv_wrote(self, frames, server, what="selfserv"):
        ws = [f for f in self.only(frames, server.pid) if f.direction == pcapng.DIR_WRITE]
        self.assertTrue(ws, "%s: no write frame: selfserv sends its response with one "
                        "PR_Writev (3 buffers) on the SSL socket" % what)

    def test_tstclnt(self):
        server = self.openssl_server(LOCALHOST)
        request = b"GET /tstclnt HTTP/1.0\r\nHost: localhost\r\nUser-Agent: tstclnt\r\n\r\n"
        self.nss_db()  # certutil runs before the capture
        cap = self.start_tlsdump()
        client = self.tstclnt(server.port, request)
        cap.stop()
        frames = cap.frames()

        response = client.out
        self.assertTrue(response.startswith(b"HTTP/1.0 200 ok\r\n"), response[:80])
        # s_server (system libssl, captured before issue #6): the oracle.
        sw, sr = self.conn_of(frames, server.pid, "s_server")
        self.assert_stream(sr, request, "the request s_server read")
        self.assert_stream(sw, response, "the response s_server wrote (tstclnt printed it)")
        client_addr = sr.first.remote

        wr, rd, port = self.check_tstclnt(frames, client, request, response, server.port)
        self.assertEqual(port, client_addr[1], "tstclnt's port as s_server saw it")
        self.assert_causal(wr, sr, "tstclnt -> s_server")
        self.assert_causal(sw, rd, "s_server -> tstclnt")
        self.assert_tshark_agrees(cap.out, frames)

    def test_selfserv(self):
        server = self.selfserv()
        cap = self.start_tlsdump()
        curl = self.curl("https://%s:%d/selfserv" % (LOCALHOST, server.port), "-A", "tlsdump-stacks")
        cap.stop()
        frames = cap.frames()

        request = lib.expect_http_get("/selfserv", server.port)
        response = curl.headers + curl.body
        self.assertTrue(curl.headers.startswith(b"HTTP/1.0 200 OK\r\nServer: Generic Web Server\r\n"),
                        curl.headers[:80])
        self.assertTrue(curl.body.startswith(request) and curl.body.endswith(b"EOF\r\n\r\n\r\n"),
                        "selfserv echoes the request: %r" % curl.body)

        # curl (system libssl): works before issue #6 and gives the oracle.
        cw, cr = self.conn_of(frames, curl.pid, "curl")
        self.assert_stream(cw, request, "curl's request")
        self.assert_stream(cr, response, "the response curl read")
        curl_port = cw.first.local[1]

        self.check_selfserv_wrote(frames, server)
        sw, sr = self.conn_of(frames, server.pid, "selfserv")
        self.assert_stream(sr, request, "the request selfserv read")
        self.assert_stream(sw, response, "the response selfserv wrote (one PR_Writev)")
        mine = self.only(frames, server.pid)
        self.assert_meta(mine, "selfserv", pcapng.LIB_NSS, NSPR, pcapng.ROLE_SERVER, "selfserv")
        # Dual-stack listener: an IPv4-mapped socket, reported as IPv4.
        self.assert_tuple(mine, (LOCALHOST, server.port), (LOCALHOST, curl_port), "selfserv")
        self.assert_causal(cw, sr, "curl -> selfserv")
        self.assert_causal(sw, cr, "selfserv -> curl")
        self.assert_no_ciphertext(mine, "selfserv")
        self.assert_tshark_agrees(cap.out, frames)

    def test_tstclnt_selfserv_and_plain_nspr(self):
        server = self.selfserv()
        request = b"GET /nss-both-ends HTTP/1.0\r\nHost: localhost\r\n\r\n"
        marker = "plain-nspr-%d" % os.getpid()
        cap = self.start_tlsdump()
        plain = self.spawn([e2e.PYTHON, "-c", lib.NSPR_PLAIN_CLIENT, marker, self.path("plain")],
                           "plain-nspr")
        client = self.tstclnt(server.port, request)
        self.wait_proc(plain, "plain-nspr", 30)
        cap.stop()
        frames = cap.frames()

        # The plain NSPR client did talk (through libnspr4, as the NSS tools do).
        info = json.loads(e2e.read_text(self.path("plain.json")))
        self.assertEqual(info["recv"], info["sent"])
        self.assertIn(marker + "-PR_Send", info["sent"])
        self.assertEqual(self.only(frames, plain.pid), [],
                         "frames of the plain NSPR socket client (pid %d)" % plain.pid)
        self.assertEqual([f for f in frames if marker.encode() in f.payload], [],
                         "frames holding the plain NSPR traffic")

        response = client.out
        self.assertTrue(response.startswith(b"HTTP/1.0 200 OK\r\n") and request in response,
                        response[:200])
        wr, rd, port = self.check_tstclnt(frames, client, request, response, server.port)
        self.check_selfserv_wrote(frames, server)
        sw, sr = self.conn_of(frames, server.pid, "selfserv")
        self.assert_stream(sr, request, "the request selfserv read")
        self.assert_stream(sw, response, "the response selfserv wrote")
        mine = self.only(frames, server.pid)
        self.assert_meta(mine, "selfserv", pcapng.LIB_NSS, NSPR, pcapng.ROLE_SERVER, "selfserv")
        self.assert_tuple(mine, (LOCALHOST, server.port), (LOCALHOST, port), "selfserv")
        self.assertNotEqual(wr.key[0], sw.key[0], "each side has its connection id")
        self.assert_causal(wr, sr, "tstclnt -> selfserv")
        self.assert_causal(sw, rd, "selfserv -> tstclnt")
        self.assert_no_ciphertext(mine, "selfserv")
        self.assert_tshark_agrees(cap.out, frames)


if __name__ == "__main__":
    lib.main(["tstclnt", "selfserv", "certutil"])
