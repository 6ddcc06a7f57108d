#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e packets (1): original packets of TLS connections over loopback.

curl against `openssl s_server -www`, a Python client against a Python server
(IPv4) and one over [::1], captured with the defaults (--packets tls,
--packet-interfaces any):

* the file has the plaintext interface "tlsdump" (link type 252) and one
  packet interface "any";
* each connection is on the wire completely (SYN, SYN-ACK, FINs, every
  sequence number) and no packet is written twice;
* tshark finds each connection's ClientHello on "any" with the addresses and
  ports of the connection's plaintext frames (and, with the tlsdump dissector
  installed, the same tcp.stream);
* all frames of the file are in time order; each connection's plaintext
  frames lie between its ClientHello and first FIN, reads after enough
  ciphertext arrived; for curl (its key log given to tshark only, not to
  tlsdump) each write frame precedes the packet that carries its first byte
  and each read frame follows the packet that carries its last byte.

test_large_transfer_order: the same properties with an 8 MiB response and a
2 MiB request.

test_default_interface_is_linux_sll2: the "any" interface has link type
LINUX_SLL2 (276).
"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_packets_lib as lib  # noqa: E402
from test_packets_lib import e2e, pcapng  # noqa: E402

ANY_LINKTYPES = [lib.LINKTYPE_LINUX_SLL2, lib.LINKTYPE_LINUX_SLL]


class PacketsLoopback(lib.PacketsTest):
    def test_loopback_connections(self):
        s_server = self.openssl_server("127.0.0.1")
        pysrv = self.python_server("127.0.0.1")
        pysrv6 = self.python_server("::1", name="pyserver6")
        keys = self.path("curl-keys.txt")
        cap = self.start_tlsdump()
        curl = self.curl_in([], "https://127.0.0.1:%d/packets-loopback" % s_server.port, "-A",
                         "tlsdump-packets", env=dict(os.environ, SSLKEYLOGFILE=keys))
        client = self.python_client(pysrv.port, ["get:/loop-py", "get:/bytes/20000"])
        self.server_conn(pysrv, client.info["local"][1])
        client6 = self.python_client(pysrv6.port, ["get:/loop-py6"], host="::1", name="pyclient6")
        self.server_conn(pysrv6, client6.info["local"][1])
        self.settle()
        cap.stop()
        capture, frames, segs = self.read_capture(cap)

        self.assert_interfaces(capture, [("any", ANY_LINKTYPES)])
        self.assert_time_ordered(capture)
        self.assert_no_duplicates(segs)

        conns = []
        # curl: its own frames give the 5-tuple.
        mine = self.only(frames, curl.pid)
        self.assertTrue(mine, "no plaintext frame of curl (pid %d)" % curl.pid)
        curl_local = mine[0].local
        server = ("127.0.0.1", s_server.port)
        self.assert_tuple(mine, curl_local, server, "curl")
        conns.append(("curl", curl_local, server, mine))
        # Python clients and servers: both sides have frames.
        for what, c, srv in (("python", client, pysrv), ("python over ::1", client6, pysrv6)):
            local, remote = tuple(c.info["local"]), (srv.host, srv.port)
            cf = self.only(frames, c.pid)
            sf = [f for f in self.only(frames, srv.pid) if f.remote == local]
            self.assertTrue(cf and sf, "%s: frames of client %d, of server %d" % (what, len(cf), len(sf)))
            self.assert_tuple(cf, local, remote, what + " client")
            self.assert_tuple(sf, remote, local, what + " server")
            conns.append((what, local, remote, cf + sf))

        for what, local, remote, fr in conns:
            with self.subTest(connection=what):
                self.check_connection(segs, local, remote, fr, what)
                for s in lib.between(segs, local, remote):
                    self.assertEqual(s.iface.name, "any", "%s: %r" % (what, s))

        self.tshark_check_tuples(cap.out, conns, ["any"])
        # curl's key log goes to tshark only: exact placement of its frames.
        self.assertTrue(os.path.exists(keys), "curl wrote no key log")
        self.assert_precise_order(cap.out, segs, mine, curl_local, server, "curl",
                                  extra=["-o", "tls.keylog_file:" + keys])

    def test_large_transfer_order(self):
        """An 8 MiB response and a 2 MiB request: many packets and plaintext frames
        interleaved; time order, no duplicate, complete, reads after their ciphertext."""
        pysrv = self.python_server("127.0.0.1")
        cap = self.start_tlsdump()
        client = self.python_client(pysrv.port, ["get:/bytes/%d" % (8 << 20), "post:%d" % (2 << 20)])
        self.server_conn(pysrv, client.info["local"][1])
        self.settle()
        cap.stop()
        capture, frames, segs = self.read_capture(cap)
        self.assert_time_ordered(capture)
        self.assert_no_duplicates(segs)
        local, remote = tuple(client.info["local"]), ("127.0.0.1", pysrv.port)
        fr = self.frames_between(frames, local, remote)
        self.check_connection(segs, local, remote, fr, "large transfer")
        self.assert_stream(self.stream_of(fr, client.pid, pcapng.DIR_READ), client.info["recv"],
                           "client read")

    def test_default_interface_is_linux_sll2(self):
        s_server = self.openssl_server("127.0.0.1")
        cap = self.start_tlsdump()
        self.curl("https://127.0.0.1:%d/sll2" % s_server.port)
        self.settle()
        cap.stop()
        capture = cap.capture()
        ifs = lib.packet_interfaces(capture)
        self.assertEqual([(ifc.name, ifc.linktype) for _, ifc in ifs],
                         [("any", lib.LINKTYPE_LINUX_SLL2)],
                         "packet interfaces (name, link type) with the default "
                         "--packet-interfaces any")


if __name__ == "__main__":
    e2e.main()
