#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e (i): --max-bytes-per-call.

With --max-bytes-per-call 100, a 1000-byte SSL_write_ex becomes one frame of
100 bytes (the call's first 100) with CAPPED (0x0002), CALL_START and
CALL_END and call length 1000; the next frame of that direction starts at
offset 1000 and shows the 900 missing bytes as its gap with GAP (0x0001).
Every other call is cut the same way, and payload + gaps account for every
byte the peers moved. Capped bytes are not counted as lost.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
if "--lib" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--lib") + 1])
import tlsdump_e2e as e2e  # noqa: E402
import tlsdump_pcapng as pcapng  # noqa: E402

CAP = 100
COMM = "tlsd-e2e-cap"  # the peers' process name: -c keeps other traffic out


class PerCallCap(e2e.E2ETest):
    def test_cap_100(self):
        server = self.python_server(comm=COMM)
        cap = self.start_tlsdump("--max-bytes-per-call", str(CAP), "-c", COMM)
        client = self.python_client(server.port, ["post:1000", "get:/hi", "get:/bytes/8000"],
                                    comm=COMM)
        srv = self.server_conn(server, client.info["local"][1])
        cap.stop()
        frames = cap.frames()
        sent = client.info["sent"]
        self.assertEqual(len(sent[:sent.index(b"GET /hi")]), 1000)

        cw = self.stream_of(frames, client.pid, pcapng.DIR_WRITE)
        first, second = cw.frames[0], cw.frames[1]
        self.assertEqual((first.stream_offset, len(first.payload), first.call_len, first.gap),
                         (0, CAP, 1000, 0), first)
        self.assertEqual(first.payload, sent[:CAP])
        self.assertEqual(first.flags & ~pcapng.FLAG_NO_TUPLE,
                         pcapng.FLAG_CAPPED | pcapng.FLAG_CALL_START | pcapng.FLAG_CALL_END, first)
        self.assertEqual((second.stream_offset, second.gap), (1000, 1000 - CAP), second)
        self.assertTrue(second.flags & pcapng.FLAG_GAP, second)
        self.assertFalse(second.flags & pcapng.FLAG_CAPPED, "the GET is shorter than the cap")
        self.assertEqual(second.payload, sent[1000:1000 + len(second.payload)])
        self.assertEqual(cw.gaps[0], (CAP, 1000 - CAP))

        # Every stream of both peers: frames are the first CAP bytes of each call,
        # and payload + gaps + what is missing at the end == what the peer moved.
        expected = {(client.pid, pcapng.DIR_WRITE): sent,
                    (client.pid, pcapng.DIR_READ): client.info["recv"],
                    (server.pid, pcapng.DIR_WRITE): srv["sent"],
                    (server.pid, pcapng.DIR_READ): srv["recv"]}
        for (pid, direction), data in expected.items():
            s = self.stream_of(frames, pid, direction)
            what = "pid %d %s" % (pid, pcapng.DIR_NAMES[direction])
            self.assertEqual(s.start, 0, what)
            self.assertEqual(s.overlaps, [], what)
            for f in s.frames:
                self.assertLessEqual(len(f.payload), CAP, f)
                self.assertEqual(f.payload, data[f.stream_offset:f.stream_offset + len(f.payload)],
                                 "%s: bytes of %r" % (what, f))
                self.assertEqual(bool(f.flags & pcapng.FLAG_CAPPED), f.call_len > CAP, f)
                self.assertEqual(len(f.payload), min(f.call_len, CAP), f)
            last = s.frames[-1]
            tail = last.call_len - len(last.payload)
            self.assertEqual(len(s.data) + s.gap_bytes + tail, len(data), what)
            self.assertEqual(sum(f.gap for f in s.frames), s.gap_bytes, what)

        nframes, nbytes, lost, lost_bytes = cap.summary()
        self.assertEqual((lost, lost_bytes), (0, 0), "capped bytes are not lost")
        self.assertEqual(cap.statistics().ifdrop, 0)
        self.assert_tshark_agrees(cap.out, frames)

    def test_cap_spanning_frames(self):
        """A cap above the frame size: the call's first 40000 bytes in several frames,
        CAPPED only on the last, the rest (60000) as the next frame's gap."""
        cap_bytes = 40000
        server = self.python_server(comm=COMM)
        cap = self.start_tlsdump("--max-bytes-per-call", str(cap_bytes), "-c", COMM)
        client = self.python_client(server.port, ["get:/bytes/100000?split=1", "get:/next"],
                                    comm=COMM)
        srv = self.server_conn(server, client.info["local"][1])
        cap.stop()
        frames = cap.frames()
        sw = self.stream_of(frames, server.pid, pcapng.DIR_WRITE)
        call = [f for f in sw.frames if f.call_len == 100000]
        self.assertGreater(len(call), 1, sw.frames)
        body_at = len(srv["sent"][:srv["sent"].index(b"\r\n\r\n") + 4])
        self.assertEqual(call[0].stream_offset, body_at)
        self.assertEqual(b"".join(f.payload for f in call),
                         srv["sent"][body_at:body_at + cap_bytes])
        for i, f in enumerate(call):
            last = i == len(call) - 1
            self.assertEqual(bool(f.flags & pcapng.FLAG_CAPPED), last, f)
            self.assertEqual(bool(f.flags & pcapng.FLAG_CALL_END), last, f)
            self.assertEqual(bool(f.flags & pcapng.FLAG_CALL_START), i == 0, f)
        after = sw.frames[sw.frames.index(call[-1]) + 1]
        self.assertEqual((after.stream_offset, after.gap),
                         (body_at + 100000, 100000 - cap_bytes), after)
        self.assertTrue(after.flags & pcapng.FLAG_GAP)
        self.assertEqual(after.payload, srv["sent"][body_at + 100000:][:len(after.payload)])
        self.assertEqual(cap.summary()[2:], (0, 0), "capped bytes are not lost")
        self.assert_tshark_agrees(cap.out, frames)


if __name__ == "__main__":
    e2e.main()
