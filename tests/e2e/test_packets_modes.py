#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e packets (6): --packets off | tls (default) | all.

During each capture: curl to `openssl s_server -www` (TLS) and two plain TCP
connections on loopback, one carrying a line of text each way and one that
connects and closes without payload.

* off: the file has only the plaintext interface (no packet interface, no
  packet EPB, one ISB), curl's plaintext is there;
* tls (default, and given explicitly): the TLS connection's packets, none of
  either plain TCP connection; the ISB comment counts packets not written;
* all: the TLS connection and both plain TCP connections, complete.

test_unknown_interface: --packet-interfaces naming a missing interface fails
with an error naming it.

test_tls_slow_handshake: in tls mode, a TLS connection whose ClientHello
comes 2 s after connect() is written whole, SYN included.
"""
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_packets_lib as lib  # noqa: E402
from test_packets_lib import e2e, pcapng  # noqa: E402

ANY_LINKTYPES = [lib.LINKTYPE_LINUX_SLL2, lib.LINKTYPE_LINUX_SLL]


class PacketsModes(lib.PacketsTest):
    def run_mode(self, *args, time_order=True):
        s_server = self.openssl_server("127.0.0.1")
        plain = self.plain_server("127.0.0.1")
        cap = self.start_tlsdump(*args)
        curl = self.curl("https://127.0.0.1:%d/mode" % s_server.port)
        talk = self.plain_client(plain.port, "PLAIN-TCP hello from tlsdump test", name="talk")
        self.assertEqual(talk.reply, "PLAIN-REPLY PLAIN-TCP hello from tlsdump test")
        empty = self.plain_client(plain.port, "", name="empty")
        self.settle(1.5)  # longer than tlsdump's wait to classify a flow
        cap.stop()
        capture, frames, segs = self.read_capture(cap)
        if time_order:
            self.assert_time_ordered(capture)
        self.assert_no_duplicates(segs)
        mine = self.only(frames, curl.pid)
        self.assertTrue(mine, "no plaintext frame of curl")
        tls = (mine[0].local, ("127.0.0.1", s_server.port), mine)
        server = ("127.0.0.1", plain.port)
        return capture, frames, segs, tls, (talk.local, server), (empty.local, server)

    def test_off(self):
        # Without packets nothing is merged: plaintext frames keep the ring buffer's order.
        capture, frames, segs, tls, talk, empty = self.run_mode("--packets", "off",
                                                                time_order=False)
        self.assertEqual([(i.name, i.linktype) for i in capture.interfaces],
                         [("tlsdump", pcapng.LINKTYPE_WIRESHARK_UPPER_PDU)],
                         "interfaces with --packets off")
        self.assertEqual(segs, [])
        self.assertEqual(len(capture.statistics), 1, "one ISB (plaintext) with --packets off")
        self.assertEqual(capture.statistics[0].interface_id, 0)

    def check_tls_mode(self, *args):
        capture, frames, segs, tls, talk, empty = self.run_mode(*args)
        self.assert_interfaces(capture, [("any", ANY_LINKTYPES)])
        self.check_connection(segs, tls[0], tls[1], tls[2], "TLS connection")
        self.assertEqual(lib.between(segs, *talk), [], "plain TCP connection with payload "
                         "written in tls mode")
        self.assertEqual(lib.between(segs, *empty), [], "plain TCP connection without payload "
                         "written in tls mode")
        isb = self.assert_isb(capture, lib.packet_interfaces(capture)[0][0], "any")
        m = re.search(r"Not written \(no TLS on the connection\): (\d+)", "\n".join(isb.comments))
        self.assertTrue(m, isb.comments)
        # At least the two plain connections' packets (3+ each for the handshakes alone).
        self.assertGreaterEqual(int(m.group(1)), 6, isb.comments)

    def test_tls_default(self):
        self.check_tls_mode()

    def test_tls_explicit(self):
        self.check_tls_mode("--packets", "tls")

    def test_all(self):
        capture, frames, segs, tls, talk, empty = self.run_mode("--packets", "all")
        self.assert_interfaces(capture, [("any", ANY_LINKTYPES)])
        self.check_connection(segs, tls[0], tls[1], tls[2], "TLS connection")
        for what, (c, s) in (("plain TCP with payload", talk), ("plain TCP without payload", empty)):
            with self.subTest(connection=what):
                self.assertTrue(lib.between(segs, c, s), "%s: no packet in --packets all" % what)
                self.assert_no_duplicate_segments(lib.between(segs, c, s), what)
                self.assert_complete(segs, c, s, what)
        payload = b"".join(x.payload for x in lib.between(segs, *talk) if x.src == talk[0])
        self.assertEqual(payload, b"PLAIN-TCP hello from tlsdump test\n")
        self.assert_isb(capture, lib.packet_interfaces(capture)[0][0], "any")

    def test_tls_slow_handshake(self):
        """tls mode: a TLS connection whose client waits 2 s between connect() and its
        ClientHello is a connection where TLS was seen: all its packets, SYN included."""
        pysrv = self.python_server()
        cap = self.start_tlsdump()
        script = (
            "import socket, ssl, sys, time\n"
            "raw = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=30)\n"
            "print('%s %d' % raw.getsockname(), flush=True)\n"
            "time.sleep(2)\n"
            "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\n"
            "ctx.check_hostname = False\n"
            "ctx.verify_mode = ssl.CERT_NONE\n"
            "c = ctx.wrap_socket(raw, server_hostname='localhost')\n"
            "c.sendall(b'GET /slow HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n"
            "data = c.recv(65536)\n"
            "c.close()\n")
        p = self.spawn([e2e.PYTHON, "-c", script, str(pysrv.port)], "slowclient")
        self.wait_proc(p, "slowclient", 30)
        ip, port = e2e.read_text(self.path("slowclient.out")).split()[:2]
        local = (ip, int(port))
        self.server_conn(pysrv, local[1])
        self.settle()
        cap.stop()
        capture, frames, segs = self.read_capture(cap)
        remote = ("127.0.0.1", pysrv.port)
        fr = self.frames_between(frames, local, remote)
        self.assertTrue(fr, "no plaintext frame of the slow client")
        self.check_connection(segs, local, remote, fr, "TLS connection with a late ClientHello")

    def test_unknown_interface(self):
        """--packet-interfaces with an interface that does not exist: an error that names
        it, a non-zero exit, at once."""
        t = self.start_tlsdump("--packet-interfaces", "tdpknosuch0", wait=False)
        rc = t.wait(60)
        self.assertNotEqual(rc, 0, "tlsdump accepted a missing interface\n" + t.diagnostics())
        self.assertIn("tdpknosuch0", t.stderr, t.diagnostics())


if __name__ == "__main__":
    e2e.main()
