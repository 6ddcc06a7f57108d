#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e stacks (2): OpenSSL linked into an executable (/usr/bin/node v20 exports
SSL_read/SSL_write itself and maps no libssl).

* clients: a `node -e` tls.connect client (raw HTTP/1.1 request written
  in the secureConnect callback, connection ended once the response is
  complete) and a `node -e` https.get client (agent: false) each make one
  request to the Python tls_peer server. Their frames (comm node, library
  OpenSSL, library name "node <OpenSSL version>", e.g. "node 3.0.19", role
  client) hold exactly the request and the response the server logged, with
  the connection's 5-tuple (local port = the client port the server saw).
  An idle node process runs from before the capture, so /usr/bin/node is a
  target from the start and the short clients do not race its discovery
  (test_stacks_discovery covers a node started during the capture);
* server: a `node -e` https server answers curl (system libssl): its frames
  (role server) hold curl's request (read) and the response curl received
  (write), with the 5-tuple mirroring curl's.
"""
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_stacks_lib as lib  # noqa: E402
from test_stacks_lib import pcapng  # noqa: E402

LOCALHOST = "127.0.0.1"


class Node(lib.StacksTest):
    def node_libname(self):
        version = lib.node_openssl_version()

        def ok(libname):
            return "node" in libname and re.search(r"(^|\D)%s($|\D)" % re.escape(version), libname)
        return ok

    def check_client(self, frames, pid, server, srv, what):
        """@pid's frames: exactly what the server logged, node, OpenSSL, role client."""
        client_addr = (LOCALHOST, srv["remote"][1])
        wr, rd = self.conn_of(frames, pid, what)
        self.assert_stream(wr, srv["recv"], "the request %s wrote" % what)
        self.assert_stream(rd, srv["sent"], "the response %s read" % what)
        mine = self.only(frames, pid)
        self.assert_meta(mine, "node", pcapng.LIB_OPENSSL, self.node_libname(), pcapng.ROLE_CLIENT,
                         what)
        self.assert_tuple(mine, client_addr, (LOCALHOST, server.port), what)
        self.assert_causal(wr, self.stream_of(frames, server.pid, pcapng.DIR_READ), what + " -> server")
        self.assert_causal(self.stream_of(frames, server.pid, pcapng.DIR_WRITE), rd, "server -> " + what)
        self.assert_no_ciphertext(mine, what)

    def test_node_https_client(self):
        server = self.python_server(LOCALHOST)
        self.node_idle()
        cap = self.start_tlsdump()
        client = self.node_https_client(server.port, "/node-https?q=2")
        srv = self.only_server_conn(server)
        cap.stop()
        frames = cap.frames()

        info = client.info
        self.assertEqual((info["pid"], info["status"]), (client.pid, 200))
        self.assertEqual(info["body"], "hello from tls_peer, you asked for /node-https\n")
        self.assertTrue(srv["recv"].startswith(b"GET /node-https?q=2 HTTP/1.1\r\n"), srv["recv"])
        self.assertIn(b"\r\nConnection: close\r\n", srv["recv"])
        self.assertEqual(tuple(srv["remote"]), tuple(info["local"]))
        self.check_client(frames, client.pid, server, srv, "node https.get")
        self.assert_tshark_agrees(cap.out, frames)

    def test_node_tls_client(self):
        server = self.python_server(LOCALHOST)
        self.node_idle()
        cap = self.start_tlsdump()
        client = self.node_client(server.port, "/node-client?q=1")
        srv = self.only_server_conn(server)
        cap.stop()
        frames = cap.frames()

        info = client.info
        self.assertEqual(info["pid"], client.pid)
        self.assertEqual(srv["recv"], info["sent"], "the server got node's request")
        self.assertEqual(srv["sent"], info["recv"], "node got the server's response")
        self.assertTrue(info["recv"].startswith(b"HTTP/1.1 200 OK\r\n"), info["recv"][:80])
        self.assertEqual(tuple(srv["remote"]), tuple(info["local"]))
        self.check_client(frames, client.pid, server, srv, "node tls.connect")
        # One SSL_write: the request, written in the secureConnect callback.
        self.assert_write_calls(self.stream_of(frames, client.pid, pcapng.DIR_WRITE),
                                [len(info["sent"])], "node tls.connect")
        self.assert_tshark_agrees(cap.out, frames)

    def test_node_server(self):
        libname = self.node_libname()
        server = self.node_server()
        self.assertIsNone(lib.mapped_file(server.pid, "libssl"), "node maps no libssl")
        cap = self.start_tlsdump()
        curl = self.curl("https://%s:%d/curl-to-node" % (LOCALHOST, server.port), "-A", "tlsdump-stacks")
        cap.stop()
        frames = cap.frames()

        request = lib.expect_http_get("/curl-to-node", server.port)
        response = curl.headers + curl.body
        self.assertTrue(curl.headers.startswith(b"HTTP/1.1 200 OK\r\n"), curl.headers[:80])
        self.assertEqual(curl.body, b"node says hello to /curl-to-node\n")

        # curl (system libssl): works before issue #6 and gives the oracle.
        cw, cr = self.conn_of(frames, curl.pid, "curl")
        self.assert_stream(cw, request, "curl's request")
        self.assert_stream(cr, response, "the response curl read")
        curl_port = cw.first.local[1]

        sw, sr = self.conn_of(frames, server.pid, "node server")
        self.assert_stream(sr, request, "the request node read")
        self.assert_stream(sw, response, "the response node wrote")
        mine = self.only(frames, server.pid)
        self.assert_meta(mine, "node", pcapng.LIB_OPENSSL, libname, pcapng.ROLE_SERVER, "node server")
        self.assert_tuple(mine, (LOCALHOST, server.port), (LOCALHOST, curl_port), "node server")
        self.assert_causal(cw, sr, "curl -> node")
        self.assert_causal(sw, cr, "node -> curl")
        self.assert_no_ciphertext(mine, "node server")
        self.assert_tshark_agrees(cap.out, frames)


if __name__ == "__main__":
    lib.main(["node"])
