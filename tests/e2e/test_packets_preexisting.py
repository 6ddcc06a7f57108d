#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e packets (3): a TLS connection opened before the capture started.

A Python keep-alive client connects to a Python server and makes one request,
then waits; tlsdump starts; the client makes two more requests and closes.
The connection's packets after the start are in the file (no SYN, no
ClientHello: the flow is recognised from its TLS records or its plaintext)
with the ports of its plaintext frames, without a hole from the first
captured byte to the FIN, once each, in time order, and ordered with the
plaintext: the client's first write frame precedes every client payload
packet, its read frames follow the ciphertext they come from.

Once with the defaults, once with a process filter (-p CLIENT_PID: only the
selected processes' connections).
"""
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_packets_lib as lib  # noqa: E402
from test_packets_lib import e2e, pcapng  # noqa: E402


class PacketsPreexisting(lib.PacketsTest):
    def run_scenario(self, *tlsdump_args, pid_filter=False):
        server = self.python_server()
        go = self.path("go")
        client = self.python_client(server.port, ["get:/first", "pause:" + go, "get:/second",
                                                  "get:/bytes/40000"], wait=False)
        e2e.wait_for(lambda: os.path.exists(go + ".paused") or client.proc.poll() is not None,
                     30, "the client's first request")
        self.assertIsNone(client.proc.poll(), "client exited early: %s"
                          % e2e.read_text(self.path("pyclient.err")))
        args = list(tlsdump_args)
        if pid_filter:
            args += ["-p", str(client.pid)]
        cap = self.start_tlsdump(*args)
        # Another connection during the capture: with -p it is someone else's.
        other = self.python_client(server.port, ["get:/other"], name="other")
        open(go, "w").close()
        self.finish_client(client)
        self.server_conn(server, client.info["local"][1])
        self.settle()
        cap.stop()
        capture, frames, segs = self.read_capture(cap)
        self.assert_time_ordered(capture)
        self.assert_no_duplicates(segs)

        local, remote = tuple(client.info["local"]), ("127.0.0.1", server.port)
        cf = self.only(frames, client.pid)
        self.assertTrue(cf, "no plaintext frame of the client")
        self.assert_tuple(cf, local, remote, "client")
        for f in frames:
            self.assertNotIn(b"/first", f.payload, "the request made before the capture")
        conn_frames = self.frames_between(frames, local, remote)

        conn = lib.between(segs, local, remote)
        self.assertTrue(conn, "no packet of the connection opened before the capture (%s -> %s); "
                        "capture:\n%s" % (local, remote, pcapng.summary(capture)))
        self.assert_no_duplicate_segments(conn, "pre-existing connection")
        self.assertFalse([s for s in conn if s.flags & lib.SYN], "a SYN of a connection opened "
                         "before the capture")
        self.assertFalse([s for s in conn if lib.is_client_hello(s)])
        c2s = [s for s in conn if s.src == local]
        s2c = [s for s in conn if s.src == remote]
        # Ports: those of the plaintext frames (both ends of every frame).
        for f in conn_frames:
            self.assertIn((f.src, f.dst), ((local, remote), (remote, local)))
        # Complete from the first captured payload byte to the FIN, both directions.
        for name, d in (("client", c2s), ("server", s2c)):
            data = [s for s in d if s.payload]
            fins = [s for s in d if s.flags & lib.FIN]
            self.assertTrue(data and fins, "%s: payload packets %d, FIN %d" % (name, len(data), len(fins)))
            base = min(data, key=lambda s: (s.seq - data[0].seq) & 0xFFFFFFFF).seq
            end = 0
            for s in sorted(data, key=lambda s: (s.seq - base) & 0xFFFFFFFF):
                a = (s.seq - base) & 0xFFFFFFFF
                self.assertLessEqual(a, end, "%s: hole before %r" % (name, s))
                end = max(end, a + len(s.payload))
            self.assertEqual(end, (fins[0].seq - base) & 0xFFFFFFFF, "%s: bytes up to the FIN" % name)
        # The client sends nothing between the pause and its write of /second.
        writes = sorted((f for f in cf if f.direction == pcapng.DIR_WRITE), key=lambda f: f.stream_offset)
        self.assertTrue(writes[0].payload.startswith(b"GET /second "), writes[0])
        first_data = [s for s in c2s if s.payload][0]
        self.assertLess(writes[0].packet.index, first_data.index,
                        "the write frame of GET /second (frame %d) must precede the first client "
                        "payload packet %r" % (writes[0].packet.index + 1, first_data))
        # Reads follow the ciphertext.
        read_total = 0
        for f in sorted((f for f in cf if f.direction == pcapng.DIR_READ), key=lambda f: f.packet.index):
            read_total += len(f.payload)
            arrived = sum(len(s.payload) for s in s2c if s.index < f.packet.index)
            self.assertGreaterEqual(arrived, read_total, "read frame %d" % (f.packet.index + 1))

        # tshark sees the same packets with these ports.
        n = len(self.tshark_rows(cap.out, ["frame.number"], "tcp.srcport == %d && tcp.dstport == %d "
                                 "&& !exported_pdu" % (local[1], remote[1])))
        self.assertEqual(n, len(c2s), "tshark's count of client packets")

        # The other connection, made during the capture.
        olocal = tuple(other.info["local"])
        oconn = lib.between(segs, olocal, remote)
        if pid_filter:
            self.assertEqual(oconn, [], "packets of a process not selected with -p")
        else:
            self.check_connection(segs, olocal, remote, self.frames_between(frames, olocal, remote),
                                  "other connection")
        return capture

    def test_preexisting(self):
        self.run_scenario()

    def test_preexisting_with_pid_filter(self):
        self.run_scenario(pid_filter=True)


if __name__ == "__main__":
    e2e.main()
