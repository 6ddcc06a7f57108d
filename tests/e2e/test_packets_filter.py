#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e packets (5): the capture filter (-f, --extcap-capture-filter).

Two TLS servers on two ports (openssl s_server -www on A, Python on B), curl
to A and a Python client to B during the capture:

* -f "port A": every packet of the file has port A, the connection to A is
  complete, the one to B has plaintext frames but no packet;
* -f "port A or udp": the filter is ANDed with tcp, UDP datagrams sent to a
  loopback port meanwhile are not in the file;
* tshark -i tlsdump -f "port A" (the extcap path, --extcap-capture-filter):
  the same selection in tshark's file;
* an invalid filter stops tlsdump with an error naming the filter, at once,
  and Wireshark's filter check (--extcap-capture-filter without --capture)
  does not call it valid.
"""
import os
import socket
import subprocess
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_packets_lib as lib  # noqa: E402
from test_packets_lib import e2e, pcapng  # noqa: E402


class PacketsFilter(lib.PacketsTest):
    def two_servers(self):
        return self.openssl_server("127.0.0.1"), self.python_server("127.0.0.1")

    def traffic(self, s_server, pysrv):
        curl = self.curl("https://127.0.0.1:%d/filter-a" % s_server.port)
        client = self.python_client(pysrv.port, ["get:/filter-b"])
        self.server_conn(pysrv, client.info["local"][1])
        return curl, client

    def check_selection(self, frames, segs, s_server, pysrv, curl, client, what):
        for s in segs:
            self.assertIn(s_server.port, (s.src[1], s.dst[1]),
                          "%s: packet without port %d: %r" % (what, s_server.port, s))
        mine = self.only(frames, curl.pid)
        self.assertTrue(mine, "%s: no plaintext frame of curl" % what)
        self.check_connection(segs, mine[0].local, ("127.0.0.1", s_server.port), mine,
                              what + ": curl to port A")
        b_frames = self.only(frames, client.pid)
        self.assertTrue(b_frames, "%s: no plaintext frame of the connection to port B" % what)
        self.assertEqual(lib.with_port(segs, pysrv.port), [],
                         "%s: packets of the connection to port B" % what)

    def test_port_filter(self):
        s_server, pysrv = self.two_servers()
        cap = self.start_tlsdump("-f", "port %d" % s_server.port)
        curl, client = self.traffic(s_server, pysrv)
        self.settle()
        cap.stop()
        capture, frames, segs = self.read_capture(cap)
        self.assert_time_ordered(capture)
        self.assert_no_duplicates(segs)
        self.check_selection(frames, segs, s_server, pysrv, curl, client, "-f 'port A'")
        for if_id, ifc in lib.packet_interfaces(capture):
            self.assert_isb(capture, if_id, ifc.name)

    def test_filter_is_anded_with_tcp(self):
        s_server, pysrv = self.two_servers()
        udp_port = lib.free_port()
        cap = self.start_tlsdump("-f", "port %d or udp" % s_server.port)
        curl, client = self.traffic(s_server, pysrv)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            for _ in range(5):
                u.sendto(b"not tcp", ("127.0.0.1", udp_port))
        finally:
            u.close()
        self.settle()
        cap.stop()
        capture, frames, segs = self.read_capture(cap)  # fails on any non-TCP packet
        self.check_selection(frames, segs, s_server, pysrv, curl, client, "-f 'port A or udp'")

    def test_tshark_capture_filter(self):
        s_server, pysrv = self.two_servers()
        home = self.path("home")
        extcap_dir = os.path.join(home, ".config", "wireshark", "extcap")
        os.makedirs(extcap_dir)
        calls = self.path("invocations.log")
        wrapper = os.path.join(extcap_dir, "tlsdump")
        with open(wrapper, "w") as f:
            f.write('#!/bin/sh\necho "$*" >> %s\nexec %s "$@"\n' % (calls, e2e.BINARY))
        os.chmod(wrapper, 0o755)
        env = dict(os.environ, HOME=home)
        env.pop("XDG_CONFIG_HOME", None)
        log, out = self.path("extcap.log"), self.path("tshark.pcapng")
        duration = 15
        p = self.spawn(["tshark", "-i", "tlsdump", "-f", "port %d" % s_server.port, "-a",
                        "duration:%d" % duration, "-w", out, "-o",
                        "extcap.tlsdump.logfile:" + log, "-o", "extcap.tlsdump.loglevel:info"],
                       "tshark", env=env)
        e2e.wait_for(lambda: "capturing" in e2e.read_text(log) or p.poll() is not None,
                     lib.START_TIMEOUT, "the extcap to log 'capturing'")
        self.assertIsNone(p.poll(), "tshark exited early: %s" % e2e.read_text(self.path("tshark.err")))
        curl, client = self.traffic(s_server, pysrv)
        self.wait_proc(p, "tshark", duration + 90)
        invocations = [l for l in e2e.read_text(calls).splitlines() if "--capture" in l]
        self.assertEqual(len(invocations), 1, invocations)
        self.assertIn("--extcap-capture-filter port %d" % s_server.port, invocations[0])
        capture = pcapng.read_pcapng(out)
        frames = pcapng.tlsdump_frames(capture)
        segs, other = lib.wire_packets(capture)
        self.assertEqual(other, [])
        self.assertTrue([ifc for _, ifc in lib.packet_interfaces(capture) if ifc.name == "any"],
                        "tshark's file has no packet interface 'any': %s"
                        % [(i.name, i.linktype) for i in capture.interfaces])
        self.assert_time_ordered(capture)
        self.assert_no_duplicates(segs)
        self.check_selection(frames, segs, s_server, pysrv, curl, client, "tshark -f 'port A'")

    def test_invalid_filter(self):
        t = self.start_tlsdump("-f", "port nonsense((", wait=False)
        rc = t.wait(60)
        self.assertNotEqual(rc, 0, "tlsdump accepted an invalid capture filter")
        self.assertIn("port nonsense((", t.stderr + e2e.read_text(t.log), t.diagnostics())

    def test_extcap_filter_check(self):
        """Wireshark checks a capture filter with `--extcap-interface tlsdump
        --extcap-capture-filter F`: no output means valid, any output is the error."""
        def check(flt):
            p = subprocess.run([e2e.BINARY, "--extcap-interface", "tlsdump",
                                "--extcap-capture-filter", flt], capture_output=True, text=True,
                               timeout=20)
            return p.stdout
        self.assertEqual(check("port 443"), "", "a valid filter must give no output")
        self.assertNotEqual(check("port nonsense(("), "",
                            "an invalid filter (it fails the capture: see test_invalid_filter) "
                            "must not be reported valid (no output)")


if __name__ == "__main__":
    e2e.main()
