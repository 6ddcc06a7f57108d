#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e packets (4): --tls-keylog, tshark decrypts the original packets.

curl with SSLKEYLOGFILE against `openssl s_server -www`, TLS 1.3 and TLS 1.2
(--tls-max 1.2); tlsdump tails the key log with --tls-keylog:

* the file holds Decryption Secrets Blocks (type TLSK) with the connection's
  client random, before the server's first packet after the ClientHello;
  capinfos counts them;
* tshark (no key log preference of its own) decrypts the packets on "any":
  http.request with curl's URI and User-Agent on interface "any"; the
  decrypted request and response bytes equal curl's plaintext frames, each
  write frame precedes the packet carrying its first byte and each read frame
  follows the packet carrying its last byte; time order.

Without --tls-keylog (curl still writes its key log) there is no DSB and no
http.request on "any": the positive checks can fail. The key log file is
created by curl after tlsdump started; a key log that already holds older
lines works too.
"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_packets_lib as lib  # noqa: E402
from test_packets_lib import e2e, pcapng  # noqa: E402


class PacketsKeylog(lib.PacketsTest):
    def capture_curl(self, tls_max, keylog_arg, prefill=False):
        server = self.openssl_server("127.0.0.1")
        keys = self.path("keys.txt")
        if prefill:
            # Lines of an earlier, unrelated connection.
            with open(keys, "w") as f:
                f.write("CLIENT_RANDOM %s %s\n" % ("ab" * 32, "cd" * 48))
        args = ["--tls-keylog", keys] if keylog_arg else []
        cap = self.start_tlsdump(*args)
        extra = ["-A", "tlsdump-keylog-%s" % tls_max]
        if tls_max:
            extra += ["--tls-max", tls_max]
        uri = "/keylog-%s" % (tls_max or "default")
        curl = self.curl_in([], "https://127.0.0.1:%d%s" % (server.port, uri), *extra,
                            env=dict(os.environ, SSLKEYLOGFILE=keys))
        self.settle()
        cap.stop()
        self.assertTrue(os.path.exists(keys) and os.path.getsize(keys), "curl wrote no key log")
        capture, frames, segs = self.read_capture(cap)
        mine = self.only(frames, curl.pid)
        self.assertTrue(mine, "no plaintext frame of curl")
        local, remote = mine[0].local, ("127.0.0.1", server.port)
        self.assert_tuple(mine, local, remote, "curl")
        return cap, capture, frames, segs, curl, mine, local, remote, uri, keys

    def check_decrypted(self, tls_max, prefill=False):
        (cap, capture, frames, segs, curl, mine, local, remote, uri,
         keys) = self.capture_curl(tls_max, True, prefill)
        self.assert_time_ordered(capture)
        self.assert_no_duplicates(segs)
        hello = self.check_connection(segs, local, remote, mine, "curl")

        # Decryption Secrets Blocks: the connection's secrets, before the server's reply.
        self.assertTrue(capture.secrets, "no Decryption Secrets Block")
        rnd = lib.client_random(hello).hex()
        holding = [b for b in capture.secrets if rnd.encode() in b.data.lower()]
        self.assertTrue(holding, "no DSB holds client random %s; DSBs: %r"
                        % (rnd, [b.data[:200] for b in capture.secrets]))
        for b in capture.secrets:
            self.assertEqual(b.secrets_type, lib.DSB_TLS_KEYLOG)
        key_lines = {l.strip() for l in e2e.read_text(keys).splitlines() if rnd in l.lower()}
        dsb_lines = {l.strip() for b in capture.secrets for l in b.data.decode().splitlines()}
        self.assertTrue(key_lines, "the key log has no line for %s" % rnd)
        self.assertLessEqual(key_lines, dsb_lines, "key log lines of the connection missing in the DSBs")
        if tls_max == "1.2":
            self.assertTrue(any(l.startswith("CLIENT_RANDOM ") for l in key_lines))
        else:
            self.assertTrue(any(l.startswith("CLIENT_TRAFFIC_SECRET_0 ") for l in key_lines))
        reply = [s for s in lib.between(segs, local, remote)
                 if s.src == remote and s.payload and s.index > hello.index][0]
        self.assertLess(capture.blocks.index(holding[0]), capture.blocks.index(reply.packet),
                        "the DSB with the connection's secrets must precede the server's first "
                        "payload packet after the ClientHello (frame %d)" % reply.number)
        self.assertGreaterEqual(self.capinfos_secrets(cap.out), 1, "capinfos: decryption secrets")

        # tshark decrypts on "any".
        rows = self.tshark_rows(cap.out, ["frame.number", "frame.interface_name",
                                          "http.request.uri", "http.user_agent", "tcp.srcport"],
                                "http.request", extra=lib.TSHARK_NO_KEYLOG_PREF)
        on_any = [r for r in rows if r["frame.interface_name"] == "any"
                  and r["tcp.srcport"] == str(local[1])]
        self.assertEqual(len(on_any), 1, "decrypted http.request on 'any' from port %d: %s"
                         % (local[1], rows))
        request = b"".join(f.payload for f in sorted(
            (f for f in mine if f.direction == pcapng.DIR_WRITE), key=lambda f: f.stream_offset))
        self.assertTrue(request.startswith(("GET %s HTTP/1.1\r\n" % uri).encode()), request[:80])
        self.assertEqual(on_any[0]["http.request.uri"], uri)
        self.assertIn(("\r\nUser-Agent: %s\r\n" % on_any[0]["http.user_agent"]).encode(), request)
        self.assertEqual(on_any[0]["http.user_agent"], "tlsdump-keylog-%s" % tls_max)
        # Byte-exact and ordered.
        c2s, s2c = self.assert_precise_order(cap.out, segs, mine, local, remote, "curl",
                                             extra=lib.TSHARK_NO_KEYLOG_PREF)
        self.assertIn(request, c2s)
        self.assertIn(curl.headers + curl.body, s2c)

    def test_tls13(self):
        self.check_decrypted("")

    def test_tls12(self):
        self.check_decrypted("1.2")

    def test_tls13_keylog_with_older_lines(self):
        self.check_decrypted("", prefill=True)

    def test_connection_without_secrets_still_written(self):
        """With --tls-keylog, a connection whose secrets never come (a Python client
        does not write a key log) is held at most a while, then written whole."""
        pysrv = self.python_server()
        keys = self.path("keys.txt")
        cap = self.start_tlsdump("--tls-keylog", keys)
        client = self.python_client(pysrv.port, ["get:/no-secrets", "get:/bytes/10000"])
        self.server_conn(pysrv, client.info["local"][1])
        self.settle(3)  # past the wait for secrets
        cap.stop()
        capture, frames, segs = self.read_capture(cap)
        self.assert_time_ordered(capture)
        self.assert_no_duplicates(segs)
        local, remote = tuple(client.info["local"]), ("127.0.0.1", pysrv.port)
        self.check_connection(segs, local, remote, self.frames_between(frames, local, remote),
                              "python connection without secrets")

    def test_stop_while_waiting_for_secrets(self):
        """Stopping while a connection's packets wait for secrets that never come
        writes them all (no loss at the end of the capture)."""
        pysrv = self.python_server()
        keys = self.path("keys.txt")
        cap = self.start_tlsdump("--tls-keylog", keys)
        client = self.python_client(pysrv.port, ["get:/stop-waiting"])
        self.server_conn(pysrv, client.info["local"][1])
        self.settle(0.4)  # the packets reached libpcap; their 2 s wait is not over
        cap.stop()
        capture, frames, segs = self.read_capture(cap)
        self.assert_time_ordered(capture)
        local, remote = tuple(client.info["local"]), ("127.0.0.1", pysrv.port)
        self.check_connection(segs, local, remote, self.frames_between(frames, local, remote),
                              "connection held for secrets at stop")
        for if_id, ifc in lib.packet_interfaces(capture):
            self.assert_isb(capture, if_id, ifc.name)

    def test_without_keylog_no_decryption(self):
        cap, capture, frames, segs, curl, mine, local, remote, uri, keys = self.capture_curl("", False)
        self.check_connection(segs, local, remote, mine, "curl")
        self.assertEqual(capture.secrets, [], "DSBs without --tls-keylog")
        self.assertEqual(self.capinfos_secrets(cap.out), 0)
        rows = self.tshark_rows(cap.out, ["frame.number", "frame.interface_name",
                                          "http.request.uri"], "http.request",
                                extra=lib.TSHARK_NO_KEYLOG_PREF)
        self.assertEqual([r for r in rows if r["frame.interface_name"] != "tlsdump"], [],
                         "http.request decoded from packets without secrets")
        # The key log exists and would decrypt them: the negative result means something.
        rows = self.tshark_rows(cap.out, ["frame.number", "frame.interface_name"], "http.request",
                                extra=["-o", "tls.keylog_file:" + keys])
        self.assertTrue([r for r in rows if r["frame.interface_name"] == "any"],
                        "tshark cannot decrypt the packets even with curl's key log")


if __name__ == "__main__":
    e2e.main()
