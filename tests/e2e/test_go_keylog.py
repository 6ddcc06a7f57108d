#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e Go (5): the Go key log (writeKeyLog probe) decrypts the original packets.

A Go net/http server and client (tests/e2e/go_fixture) over HTTP/2, captured
with the default --packets tls and -c, without --tls-keylog and without any
SSLKEYLOGFILE: the secrets come from the probe on
crypto/tls.(*Config).writeKeyLog, which Go calls for every handshake even
without a KeyLogWriter. The client also writes Go's own key log (KeyLogWriter,
-keylog), the oracle.

* capinfos counts decryption secrets >= 1; the Decryption Secrets Blocks are
  NSS key log lines (type TLSK) and hold every line Go's own key log has for
  the connection (TLS 1.3: the four traffic secrets; TLS 1.2: CLIENT_RANDOM);
* tshark, with no key log file of its own, decrypts the original packets of
  the Go connection: HTTP/2 HEADERS (`http2.type == 1`) on interface "any",
  the request's :path from the client's port, the :status 200 response from
  the server's port.
"""
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_go_lib as lib  # noqa: E402
from test_go_lib import e2e, pcapng  # noqa: E402

DSB_TLS_KEYLOG = 0x544C534B  # "TLSK"
TSHARK_NO_KEYLOG_PREF = ["-o", "tls.keylog_file:"]
TLS13_LABELS = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "SERVER_HANDSHAKE_TRAFFIC_SECRET",
                "CLIENT_TRAFFIC_SECRET_0", "SERVER_TRAFFIC_SECRET_0"}


class GoKeylog(lib.GoTest):
    def capinfos_secrets(self, path):
        out = subprocess.run(["capinfos", path], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, "capinfos: %s" % out.stderr)
        m = re.search(r"Number of decryption secrets in file:\s*(\d+)", out.stdout)
        return int(m.group(1)) if m else 0

    def check_keylog(self, comm, tls12):
        binary = self.go_binary("normal", comm)
        server = self.go_server(binary)
        cap = self.start_tlsdump("-c", comm)  # --packets tls is the default
        status = self.wait_hooked(cap, binary)
        self.assertIn("and writeKeyLog", status)
        keys = self.path("go-keylog.txt")
        marker = "keylog-%s-%d" % (comm, os.getpid())
        client = self.go_client(binary, server.port, ["get:/hello?marker=" + marker],
                                extra=["-keylog", keys] + (["-tls12"] if tls12 else []))
        self.assertEqual(client.results[0]["proto"], "HTTP/2.0")
        self.stop_capture(cap)
        capture = cap.capture()
        frames = cap.frames()
        local = client.results[0]["local_addr"]
        mine = self.only(frames, client.pid)
        self.assert_go_frames(mine, comm, pcapng.ROLE_CLIENT, local, ("127.0.0.1", server.port),
                              "client")

        # Secrets: DSBs with every line of Go's own key log.
        go_lines = {l.strip() for l in e2e.read_text(keys).splitlines() if l.strip()}
        labels = {l.split()[0] for l in go_lines}
        self.assertEqual(labels, {"CLIENT_RANDOM"} if tls12 else TLS13_LABELS,
                         "Go's own key log (oracle): %s" % go_lines)
        self.assertTrue(capture.secrets, "no Decryption Secrets Block\n" + cap.diagnostics())
        for b in capture.secrets:
            self.assertEqual(b.secrets_type, DSB_TLS_KEYLOG)
        dsb_lines = {l.strip() for b in capture.secrets for l in b.data.decode().splitlines()}
        self.assertLessEqual(go_lines, dsb_lines,
                             "Go's key log lines missing from the DSBs: %s"
                             % sorted(go_lines - dsb_lines))
        self.assertGreaterEqual(self.capinfos_secrets(cap.out), 1, "capinfos: decryption secrets")

        # tshark decrypts the original packets on "any" with the DSBs alone.
        self.assertIn("any", [i.name for i in capture.interfaces], "packet interface 'any'")
        rows = self.tshark_fields(cap.out, ["frame.number", "frame.interface_name", "tcp.srcport",
                                            "tcp.dstport", "http2.headers.path",
                                            "http2.headers.status"],
                                  'http2.type == 1 && frame.interface_name == "any"',
                                  extra=TSHARK_NO_KEYLOG_PREF)
        self.assertTrue(rows, "no decrypted HTTP/2 HEADERS on 'any'\n" + cap.diagnostics())
        requests = [r for r in rows if r[2] == str(local[1]) and r[3] == str(server.port)]
        responses = [r for r in rows if r[2] == str(server.port) and r[3] == str(local[1])]
        self.assertEqual([r[4] for r in requests], ["/hello?marker=" + marker],
                         "decrypted request HEADERS: %s" % rows)
        self.assertIn("200", [r[5] for r in responses], "decrypted response HEADERS: %s" % rows)

    def test_tls13(self):
        self.check_keylog("gotls-keylog13", tls12=False)

    def test_tls12(self):
        self.check_keylog("gotls-keylog12", tls12=True)


if __name__ == "__main__":
    lib.main()
