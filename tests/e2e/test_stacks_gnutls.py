#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e stacks (3): GnuTLS (libgnutls.so.30): wget, gnutls-cli, gnutls-serv.

* wget (Debian builds it +ssl/gnutls) and gnutls-cli (request on stdin) to
  the Python tls_peer server: their frames (library GnuTLS, library name
  libgnutls.so.30..., role client) hold exactly the request and the
  response the server logged, with the 5-tuple the server saw;
* gnutls-serv --http answers curl (system libssl): its frames (role server)
  hold curl's request (read) and the response curl received (write).

Each byte once: gnutls_record_send() is a tail call to gnutls_record_send2()
(through the PLT), so a probe on both would report every write twice. The
write stream of each connection must be exactly what was sent, in exactly
the calls the program made (wget: one call with the whole request,
gnutls-cli: one with the stdin line, gnutls-serv: one with the response).
"""
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_stacks_lib as lib  # noqa: E402
from test_stacks_lib import e2e, pcapng  # noqa: E402

LOCALHOST = "127.0.0.1"
GNUTLS = "libgnutls.so.30"


def clean_env():
    """The environment without proxy settings (wget and curl would obey them)."""
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}


class GnuTLS(lib.StacksTest):
    def check_client(self, frames, pid, comm, server, srv, what):
        """@pid's frames: exactly the request and the response @srv (python_server's log
        of the connection) saw, one write call, GnuTLS, role client, the 5-tuple."""
        client_addr = (LOCALHOST, srv["remote"][1])
        wr, rd = self.conn_of(frames, pid, what)
        self.assert_stream(wr, srv["recv"], "the request %s wrote" % what)
        self.assert_stream(rd, srv["sent"], "the response %s read" % what)
        self.assert_write_calls(wr, [len(srv["recv"])], what)
        mine = self.only(frames, pid)
        self.assert_meta(mine, comm, pcapng.LIB_GNUTLS, GNUTLS, pcapng.ROLE_CLIENT, what)
        self.assert_tuple(mine, client_addr, (LOCALHOST, server.port), what)
        for f in wr.frames:
            self.assertEqual((f.src, f.dst), (client_addr, (LOCALHOST, server.port)), f)
        self.assert_causal(wr, self.stream_of(frames, server.pid, pcapng.DIR_READ), what + " -> server")
        self.assert_causal(self.stream_of(frames, server.pid, pcapng.DIR_WRITE), rd, "server -> " + what)
        self.assert_no_ciphertext(mine, what)

    def test_wget(self):
        version = self.run_peer(["wget", "--version"], "wget-version").out
        self.assertIn(b"+ssl/gnutls", version, "this wget is not built with GnuTLS")
        server = self.python_server(LOCALHOST)
        cap = self.start_tlsdump()
        body = self.path("wget.body")
        wget = self.run_peer(["wget", "--no-config", "-q", "--no-check-certificate", "-O", body,
                              "https://%s:%d/wget-path?n=1" % (LOCALHOST, server.port)],
                             "wget", env=clean_env())
        srv = self.only_server_conn(server)
        cap.stop()
        frames = cap.frames()

        self.assertTrue(srv["recv"].startswith(b"GET /wget-path?n=1 HTTP/1.1\r\n"), srv["recv"])
        self.assertIn(b"User-Agent: Wget/", srv["recv"])
        self.assertTrue(srv["sent"].endswith(e2e.read_bytes(body)), "wget saved the body")
        self.check_client(frames, wget.pid, "wget", server, srv, "wget")
        self.assert_tshark_agrees(cap.out, frames)

    def test_gnutls_cli(self):
        server = self.python_server(LOCALHOST)
        request = b"GET /gnutls-cli HTTP/1.1\r\nHost: localhost\r\nUser-Agent: gnutls-cli\r\n\r\n"
        req_file = self.write("gnutls-cli.request", request)
        cap = self.start_tlsdump()
        # At the end of stdin gnutls-cli closes its sending side (gnutls_bye
        # SHUT_WR); the server answers, sees the end and closes; gnutls-cli exits.
        cli = self.run_peer(["gnutls-cli", "--insecure", "-p", str(server.port), LOCALHOST],
                            "gnutls-cli", stdin=req_file)
        srv = self.only_server_conn(server)
        cap.stop()
        frames = cap.frames()

        self.assertEqual(srv["recv"], request, "the server got the request")
        self.assertIn(srv["sent"], cli.out, "gnutls-cli printed the response")
        self.check_client(frames, cli.pid, "gnutls-cli", server, srv, "gnutls-cli")
        self.assert_tshark_agrees(cap.out, frames)

    def test_gnutls_serv(self):
        data = b"hello from the httpdata file of gnutls-serv\n"
        server = self.gnutls_server(self.write("httpdata", data))
        cap = self.start_tlsdump()
        curl = self.curl("https://%s:%d/gnutls-serv" % (LOCALHOST, server.port), "-A", "tlsdump-stacks")
        cap.stop()
        frames = cap.frames()

        request = lib.expect_http_get("/gnutls-serv", server.port)
        response = self.gnutls_response(data)
        self.assertEqual(curl.headers + curl.body, response, "what curl received")

        # curl (system libssl): works before issue #6 and gives the oracle.
        cw, cr = self.conn_of(frames, curl.pid, "curl")
        self.assert_stream(cw, request, "curl's request")
        self.assert_stream(cr, response, "the response curl read")
        curl_port = cw.first.local[1]

        sw, sr = self.conn_of(frames, server.pid, "gnutls-serv")
        self.assert_stream(sr, request, "the request gnutls-serv read")
        self.assert_stream(sw, response, "the response gnutls-serv wrote")
        self.assert_write_calls(sw, [len(response)], "gnutls-serv")
        mine = self.only(frames, server.pid)
        self.assert_meta(mine, "gnutls-serv", pcapng.LIB_GNUTLS, GNUTLS, pcapng.ROLE_SERVER,
                         "gnutls-serv")
        self.assert_tuple(mine, (LOCALHOST, server.port), (LOCALHOST, curl_port), "gnutls-serv")
        self.assert_causal(cw, sr, "curl -> gnutls-serv")
        self.assert_causal(sw, cr, "gnutls-serv -> curl")
        self.assert_no_ciphertext(mine, "gnutls-serv")
        self.assert_tshark_agrees(cap.out, frames)


if __name__ == "__main__":
    lib.main(["wget", "gnutls-cli", "gnutls-serv"])
