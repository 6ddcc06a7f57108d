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

test_blocked_write_order: the same properties when a server write blocks
for 1.5 s on a client that does not read.

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

    def test_blocked_write_order(self):
        """A server write that blocks (the client reads only 1.5 s after its request):
        the plaintext of that write is stamped when the call was entered, long before
        it returns; the file must stay in time order and the write frame must still
        precede the packets that carry its bytes."""
        pysrv = self.python_server("127.0.0.1")
        cap = self.start_tlsdump()
        script = (
            "import socket, ssl, sys, time\n"
            "ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)\n"
            "ctx.check_hostname = False\n"
            "ctx.verify_mode = ssl.CERT_NONE\n"
            "raw = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=30)\n"
            "raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)\n"
            "c = ctx.wrap_socket(raw, server_hostname='localhost')\n"
            "print('%s %d' % c.getsockname(), flush=True)\n"
            "c.sendall(b'GET /bytes/4000000 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n')\n"
            "time.sleep(1.5)\n"
            "n = 0\n"
            "while n < 4000000:\n"
            "    d = c.recv(65536)\n"
            "    if not d: break\n"
            "    n += len(d)\n"
            "c.close()\n")
        p = self.spawn([e2e.PYTHON, "-c", script, str(pysrv.port)], "slowreader")
        self.wait_proc(p, "slowreader", 40)
        ip, port = e2e.read_text(self.path("slowreader.out")).split()[:2]
        local = (ip, int(port))
        self.server_conn(pysrv, local[1])
        self.settle()
        cap.stop()
        capture, frames, segs = self.read_capture(cap)
        remote = ("127.0.0.1", pysrv.port)
        fr = self.frames_between(frames, local, remote)
        self.assert_time_ordered(capture, [f.packet for f in fr] +
                                 [s.packet for s in lib.between(segs, local, remote)],
                                 "the slow reader's connection")
        self.assert_time_ordered(capture)
        self.check_connection(segs, local, remote, fr, "slow reader")

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
