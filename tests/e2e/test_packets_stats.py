#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e packets (7): Interface Statistics Blocks of the packet interfaces.

For each packet interface exactly one ISB, after every EPB of the file, with
isb_ifrecv, isb_ifdrop, isb_osdrop, isb_usrdeliv (option 8) and a comment;
isb_usrdeliv equals the number of EPBs on that interface, the comment's
counts agree with the options (Written = usrdeliv, Packets received =
ifrecv, received >= written + not written + duplicates), start/end times
enclose the interface's packets. The plaintext interface keeps its own ISB
(ifrecv = plaintext frames).

Modes: default (tls), --packets all; and --packet-interfaces any,lo, where
each loopback packet reaches tlsdump twice: it is written once (on one of
the two interfaces) and the duplicates are counted.
"""
import os
import re
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_packets_lib as lib  # noqa: E402
from test_packets_lib import e2e, pcapng  # noqa: E402


def comment_count(isb, label):
    m = re.search(r"^%s: (\d+)$" % re.escape(label), "\n".join(isb.comments), re.M)
    return int(m.group(1)) if m else None


class PacketsStats(lib.PacketsTest):
    def run_capture(self, *args):
        s_server = self.openssl_server("127.0.0.1")
        pysrv = self.python_server("127.0.0.1")
        plain = self.plain_server("127.0.0.1")
        cap = self.start_tlsdump(*args)
        curl = self.curl("https://127.0.0.1:%d/stats" % s_server.port)
        client = self.python_client(pysrv.port, ["get:/stats", "get:/bytes/100000"])
        self.server_conn(pysrv, client.info["local"][1])
        self.plain_client(plain.port, "plain line")
        self.settle(1.5)
        cap.stop()
        capture, frames, segs = self.read_capture(cap)
        self.check_statistics(capture, frames)
        return cap, capture, frames, segs, curl, client, s_server, pysrv

    def check_statistics(self, capture, frames):
        ifs = lib.packet_interfaces(capture)
        self.assertTrue(ifs, "no packet interface")
        last_epb = max(p.offset for p in capture.packets)
        for if_id, ifc in ifs:
            isb = self.assert_isb(capture, if_id, ifc.name)
            self.assertGreater(isb.offset, last_epb, "%s: ISB before the last EPB" % ifc.name)
            usrdeliv = lib.isb_u64(isb, lib.ISB_USRDELIV)
            ifrecv = lib.isb_u64(isb, lib.ISB_IFRECV)
            written = comment_count(isb, "Written")
            received = comment_count(isb, "Packets received")
            filtered = comment_count(isb, "Not written (no TLS on the connection)")
            dups = comment_count(isb, "Duplicates removed by tlsdump")
            kdrop = comment_count(isb, "Dropped by the kernel")
            self.assertIsNotNone(written, "%s: ISB comment %r" % (ifc.name, isb.comments))
            self.assertEqual(written, usrdeliv, ifc.name)
            if received is not None:
                self.assertEqual(received, ifrecv, ifc.name)
            if kdrop is not None:
                self.assertEqual(kdrop, lib.isb_u64(isb, lib.ISB_OSDROP), ifc.name)
            self.assertGreaterEqual(ifrecv, usrdeliv + (filtered or 0) + (dups or 0),
                                    "%s: received < written + not written + duplicates: %r"
                                    % (ifc.name, isb.comments))
            mine = [p for p in capture.packets if p.interface_id == if_id]
            if mine and isb.starttime is not None and isb.endtime is not None:
                start = ifc.ts_to_ns(isb.starttime)
                end = ifc.ts_to_ns(isb.endtime)
                self.assertLessEqual(start, mine[0].ts_ns, "%s: isb_starttime" % ifc.name)
                self.assertGreaterEqual(end, mine[-1].ts_ns, "%s: isb_endtime" % ifc.name)
        plain = pcapng.plaintext_statistics(capture)
        self.assertEqual(len(plain), 1, "ISBs of the plaintext interface")
        self.assertEqual(plain[0].ifrecv, len(frames))

    def test_default(self):
        cap, capture, frames, segs, *_ = self.run_capture()
        isb = [s for s in capture.statistics if s.interface_id == lib.packet_interfaces(capture)[0][0]][0]
        self.assertGreater(comment_count(isb, "Not written (no TLS on the connection)") or 0, 0,
                           "the plain TCP connection's packets are counted as not written: %r"
                           % isb.comments)

    def test_all(self):
        self.run_capture("--packets", "all")

    def test_overlapping_interfaces_dedup(self):
        cap, capture, frames, segs, curl, client, s_server, pysrv = self.run_capture(
            "--packet-interfaces", "any,lo")
        self.assert_interfaces(capture, [("any", [lib.LINKTYPE_LINUX_SLL2, lib.LINKTYPE_LINUX_SLL]),
                                         ("lo", [lib.LINKTYPE_ETHERNET])])
        self.assert_time_ordered(capture)
        self.assert_no_duplicates(segs, "the file (any + lo)")
        local, remote = tuple(client.info["local"]), ("127.0.0.1", pysrv.port)
        conn = lib.between(segs, local, remote)
        self.check_connection(segs, local, remote, self.frames_between(frames, local, remote),
                              "python connection on any + lo")
        mine = self.only(frames, curl.pid)
        self.check_connection(segs, mine[0].local, ("127.0.0.1", s_server.port), mine,
                              "curl on any + lo")
        dups = sum(comment_count(s, "Duplicates removed by tlsdump") or 0
                   for s in capture.statistics if s.interface_id != 0)
        self.assertGreaterEqual(dups, len(conn), "duplicates counted in the ISB comments")


if __name__ == "__main__":
    e2e.main()
