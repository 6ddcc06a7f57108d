#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e packets (2): original packets over a veth pair to a test network namespace.

The test creates a namespace and a veth pair with one end in the root
namespace (10.231.77.1/30) and the other in the new namespace
(10.231.77.2/30); TLS servers (openssl s_server -www, Python) listen on the
root end, clients (curl, Python) run in the namespace. tlsdump runs in the
root namespace and sees the packets on the root end:

* default (--packet-interfaces any): the connections are on "any", complete,
  each wire packet once, the ClientHello's 5-tuple is that of the plaintext
  frames, plaintext frames inside the ClientHello..FIN window, time order;
  the direction flags say which packets the root end sent and received;
* --packet-interfaces <root end>: exactly that packet interface (Ethernet),
  the same properties; a loopback TLS connection made meanwhile has
  plaintext frames but no packets;
* --packet-interfaces <root end>,lo: one packet interface each; the veth
  connection only on the veth end, the loopback one only on lo; one ISB per
  interface whose usrdeliv is its packet count.
"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_packets_lib as lib  # noqa: E402
from test_packets_lib import e2e, pcapng  # noqa: E402

ANY_LINKTYPES = [lib.LINKTYPE_LINUX_SLL2, lib.LINKTYPE_LINUX_SLL]


class PacketsVeth(lib.PacketsTest):
    def setUp(self):
        super().setUp()
        self.veth = lib.Veth(self).create()
        self.s_server = self.openssl_server(self.veth.root_addr)
        self.pysrv = self.python_server(self.veth.root_addr)

    def veth_traffic(self, tag):
        """curl and a Python client in the namespace; returns [(what, client, server, frames
        getter)] once both connections are closed."""
        ns = self.veth.exec_argv([])
        curl = self.curl_in(ns, "https://%s:%d/veth-%s" % (self.veth.root_addr,
                                                          self.s_server.port, tag),
                            "-A", "tlsdump-packets-veth")
        client = self.python_client_in(ns, self.pysrv.port, ["get:/veth-py", "get:/bytes/30000"],
                                       host=self.veth.root_addr)
        self.server_conn(self.pysrv, client.info["local"][1])
        return curl, client

    def connections(self, frames, curl, client):
        conns = []
        mine = self.only(frames, curl.pid)
        self.assertTrue(mine, "no plaintext frame of curl (pid %d) in the namespace" % curl.pid)
        server = (self.veth.root_addr, self.s_server.port)
        self.assertEqual(mine[0].local[0], self.veth.ns_addr, "curl's local address")
        self.assert_tuple(mine, mine[0].local, server, "curl")
        conns.append(("curl", mine[0].local, server, mine))
        local = tuple(client.info["local"])
        self.assertEqual(local[0], self.veth.ns_addr)
        remote = (self.veth.root_addr, self.pysrv.port)
        cf = self.only(frames, client.pid)
        sf = [f for f in self.only(frames, self.pysrv.pid) if f.remote == local]
        self.assertTrue(cf and sf, "python: frames of client %d, of server %d" % (len(cf), len(sf)))
        self.assert_tuple(cf, local, remote, "python client")
        self.assert_tuple(sf, remote, local, "python server")
        conns.append(("python", local, remote, cf + sf))
        return conns

    def check_all(self, cap, capture, frames, segs, conns, iface, ifaces):
        self.assert_time_ordered(capture)
        self.assert_no_duplicates(segs)
        for what, local, remote, fr in conns:
            with self.subTest(connection=what):
                self.check_connection(segs, local, remote, fr, what)
                for s in lib.between(segs, local, remote):
                    self.assertEqual(s.iface.name, iface, "%s: %r" % (what, s))
        self.tshark_check_tuples(cap.out, conns, ifaces)

    def test_any(self):
        cap = self.start_tlsdump()
        curl, client = self.veth_traffic("any")
        self.settle()
        cap.stop()
        capture, frames, segs = self.read_capture(cap)
        self.assert_interfaces(capture, [("any", ANY_LINKTYPES)])
        conns = self.connections(frames, curl, client)
        self.check_all(cap, capture, frames, segs, conns, "any", ["any"])
        # On "any" the link header tells what the root end sent and received.
        for what, local, remote, _ in conns:
            for s in lib.between(segs, local, remote):
                want = (pcapng.EPB_DIR_OUTBOUND if s.src[0] == self.veth.root_addr
                        else pcapng.EPB_DIR_INBOUND)
                self.assertEqual(s.packet.direction, want, "%s: epb_flags direction of %r (SLL "
                                 "packet type %s)" % (what, s, s.pkttype))

    def test_one_interface(self):
        lo_server = self.openssl_server("127.0.0.1", name="s_server_lo")
        cap = self.start_tlsdump("--packet-interfaces", self.veth.root_if)
        curl, client = self.veth_traffic("one")
        lo_curl = self.curl("https://127.0.0.1:%d/veth-lo" % lo_server.port, name="curl_lo")
        self.settle()
        cap.stop()
        capture, frames, segs = self.read_capture(cap)
        self.assert_interfaces(capture, [(self.veth.root_if, [lib.LINKTYPE_ETHERNET])])
        conns = self.connections(frames, curl, client)
        self.check_all(cap, capture, frames, segs, conns, self.veth.root_if, [self.veth.root_if])
        # Nothing but the veth subnet on that interface.
        for s in segs:
            self.assertEqual({s.src[0], s.dst[0]}, {self.veth.root_addr, self.veth.ns_addr}, s)
        # The loopback connection: plaintext yes, packets no.
        self.assertTrue(self.only(frames, lo_curl.pid), "no plaintext frame of the loopback curl")
        self.assertEqual(lib.with_port(segs, lo_server.port), [],
                         "packets of the loopback connection with --packet-interfaces %s"
                         % self.veth.root_if)
        self.assert_isb(capture, lib.packet_interfaces(capture)[0][0], self.veth.root_if)

    def test_two_interfaces(self):
        lo_server = self.openssl_server("127.0.0.1", name="s_server_lo")
        cap = self.start_tlsdump("--packet-interfaces", "%s,lo" % self.veth.root_if)
        curl, client = self.veth_traffic("two")
        lo_curl = self.curl("https://127.0.0.1:%d/veth-lo" % lo_server.port, name="curl_lo")
        self.settle()
        cap.stop()
        capture, frames, segs = self.read_capture(cap)
        self.assert_interfaces(capture, [(self.veth.root_if, [lib.LINKTYPE_ETHERNET]),
                                         ("lo", [lib.LINKTYPE_ETHERNET])])
        conns = self.connections(frames, curl, client)
        lo_frames = self.only(frames, lo_curl.pid)
        self.assertTrue(lo_frames, "no plaintext frame of the loopback curl")
        lo_conn = ("loopback curl", lo_frames[0].local, ("127.0.0.1", lo_server.port), lo_frames)
        self.assert_time_ordered(capture)
        self.assert_no_duplicates(segs)
        for what, local, remote, fr in conns + [lo_conn]:
            iface = "lo" if what == "loopback curl" else self.veth.root_if
            with self.subTest(connection=what):
                self.check_connection(segs, local, remote, fr, what)
                for s in lib.between(segs, local, remote):
                    self.assertEqual(s.iface.name, iface, "%s: %r" % (what, s))
        self.tshark_check_tuples(cap.out, conns, [self.veth.root_if])
        self.tshark_check_tuples(cap.out, [lo_conn], ["lo"])
        for if_id, ifc in lib.packet_interfaces(capture):
            self.assert_isb(capture, if_id, ifc.name)


if __name__ == "__main__":
    e2e.main()
