#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e (j): losses are reported and accounted for.

With --ring-buffer-mb 1, a Python server answers with 64 MiB in a single
sendall() (one SSL_write_ex far larger than the ring). The peers get a
process name of their own and tlsdump captures only that name (-c), so
nothing else on the host enters the accounting:

* captured bytes + lost bytes (stderr summary) == every byte the peers moved;
* per stream: payload + gaps + bytes missing at the end == bytes moved, and
  every captured frame is byte-exact at its stream offset;
* GAP (0x0001) is set exactly on frames with a gap;
* the ISB's ifdrop equals the lost frames of the summary, its comment gives
  the lost bytes;
* if anything was lost (expected on any machine with a 1 MiB ring): the
  summary line says so with a non-zero count, ifdrop > 0, and frames after a
  loss in the middle of a stream carry GAP.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
if "--lib" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--lib") + 1])
import tlsdump_e2e as e2e  # noqa: E402
import tlsdump_pcapng as pcapng  # noqa: E402

SIZE = 64 * e2e.MiB
COMM = "tlsd-e2e-drops"


class Drops(e2e.E2ETest):
    def test_small_ring_burst(self):
        cap = self.start_tlsdump("--ring-buffer-mb", "1", "-c", COMM)
        server = self.python_server(comm=COMM)
        client = self.python_client(server.port, ["get:/bytes/%d?split=1" % SIZE, "get:/after"],
                                    comm=COMM)
        srv = self.server_conn(server, client.info["local"][1])
        cap.stop()
        frames = cap.frames()
        self.assertEqual(client.info["bodies"][0], SIZE)
        nframes, nbytes, lost, lost_bytes = cap.summary()
        self.assertEqual(nframes, len(frames))
        self.assertEqual(nbytes, sum(len(f.payload) for f in frames))
        self.assertEqual({f.comm for f in frames}, {COMM})

        moved = {(client.pid, pcapng.DIR_WRITE): client.info["sent"],
                 (client.pid, pcapng.DIR_READ): client.info["recv"],
                 (server.pid, pcapng.DIR_WRITE): srv["sent"],
                 (server.pid, pcapng.DIR_READ): srv["recv"]}
        total = sum(len(d) for d in moved.values())
        self.assertEqual(nbytes + lost_bytes, total,
                         "captured %d + lost %d bytes != %d bytes moved by the peers"
                         % (nbytes, lost_bytes, total))

        missing_total = 0
        mid_stream_gaps = 0
        by_key = pcapng.streams(frames)
        for (pid, direction), data in moved.items():
            what = "pid %d %s" % (pid, pcapng.DIR_NAMES[direction])
            ss = [s for s in by_key.values()
                  if s.key[1] == direction and s.frames[0].pid == pid]
            self.assertLessEqual(len(ss), 1, what)
            if not ss:
                missing_total += len(data)  # the whole stream was lost
                continue
            s = ss[0]
            self.assertEqual(s.overlaps, [], what)
            for f in s.frames:
                self.assertEqual(f.payload, data[f.stream_offset:f.stream_offset + len(f.payload)],
                                 "%s: bytes of %r" % (what, f))
            lead = s.start  # lost before the first captured frame
            self.assertEqual(s.frames[0].gap, lead, "%s: the first frame's gap" % what)
            gaps = s.gap_bytes + lead
            tail = len(data) - s.end
            self.assertGreaterEqual(tail, 0, what)
            self.assertEqual(len(s.data) + gaps + tail, len(data), what)
            self.assertEqual(sum(f.gap for f in s.frames), gaps, what)
            missing_total += gaps + tail
            mid_stream_gaps += len(s.gaps) + (1 if lead else 0)
        self.assertEqual(missing_total, lost_bytes, "bytes missing from the streams == lost bytes")

        isb = cap.statistics()
        self.assertEqual(isb.ifdrop, lost)
        self.assertEqual(isb.ifrecv, len(frames))
        self.assertTrue(any("(%d bytes)" % lost_bytes in c for c in isb.comments), isb.comments)

        print("\n  captured %d frames (%d bytes), lost %d frames (%d bytes), %d gaps"
              % (nframes, nbytes, lost, lost_bytes, mid_stream_gaps), file=sys.stderr)
        if lost:
            line = next(l for l in cap.stderr.splitlines() if e2e.SUMMARY_RE.search(l))
            self.assertRegex(line, r"[1-9]\d* frames \(\d+ bytes\) lost")
            self.assertGreater(isb.ifdrop, 0)
            if mid_stream_gaps:
                self.assertTrue(any(f.flags & pcapng.FLAG_GAP for f in frames))
            # The capture goes on after a loss: the request after the burst is there.
            self.assertTrue(any(b"GET /after" in f.payload for f in frames))
        else:
            self.assertEqual(missing_total, 0)
        self.assert_tshark_agrees(cap.out, frames)


if __name__ == "__main__":
    e2e.main()
