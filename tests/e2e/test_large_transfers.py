#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e (c): large transfers are captured whole and byte-exact.

* an 8 MiB response body: the client's read frames, ordered by stream
  offset, rebuild exactly what the client received, without a gap;
* one 16 MiB SSL_write_ex (a Python server's sendall() of the body): it
  arrives whole, split across frames of at most 65536 plaintext bytes, all
  with call length 16 MiB, CALL_START on the first and CALL_END on the last,
  contiguous, byte-exact;
* an 8 MiB upload in one sendall() (SSL_write_ex retried after WANT_WRITE):
  captured once, byte-exact.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
if "--lib" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--lib") + 1])
import tlsdump_e2e as e2e  # noqa: E402
import tlsdump_pcapng as pcapng  # noqa: E402

MiB = e2e.MiB
COMM = "tlsd-e2e-large"


class LargeTransfers(e2e.E2ETest):
    def transfer(self, path):
        return self.transfer_actions(["get:" + path])

    def transfer_actions(self, actions):
        # Peers with a process name of their own and -c: a lossless capture
        # whatever else runs on the host.
        server = self.python_server(comm=COMM)
        cap = self.start_tlsdump("-c", COMM)
        client = self.python_client(server.port, actions, comm=COMM)
        srv = self.server_conn(server, client.info["local"][1])
        cap.stop()
        frames = cap.frames()
        _, _, lost, _ = cap.summary()
        self.assertEqual(lost, 0, "frames lost: this test needs a lossless capture\n"
                         + cap.diagnostics())
        return server, client, srv, cap, frames

    def check_frame_sizes(self, frames):
        for f in frames:
            self.assertLessEqual(len(f.payload), pcapng.TLSDUMP_MAX_FRAME_PAYLOAD, f)
            self.assertLessEqual(f.packet.caplen, 262144, f)

    def test_8mib_response(self):
        server, client, srv, cap, frames = self.transfer("/bytes/%d" % (8 * MiB))
        self.assertEqual(client.info["bodies"], [8 * MiB])
        cr = self.stream_of(frames, client.pid, pcapng.DIR_READ)
        self.assert_stream(cr, client.info["recv"], "client read (8 MiB response)")
        sw = self.stream_of(frames, server.pid, pcapng.DIR_WRITE)
        self.assert_stream(sw, srv["sent"], "server write (8 MiB response)")
        self.check_frame_sizes(frames)
        self.assertEqual(self.tshark_plaintext_count(cap.out), len(frames))

    def test_16mib_single_write(self):
        size = 16 * MiB
        server, client, srv, cap, frames = self.transfer("/bytes/%d?split=1" % size)
        self.assertEqual(client.info["bodies"], [size])
        sw = self.stream_of(frames, server.pid, pcapng.DIR_WRITE)
        self.assert_stream(sw, srv["sent"], "server write")
        body = srv["sent"][-size:]

        call = [f for f in sw.frames if f.call_len == size]
        self.assertGreater(len(call), 1, "a 16 MiB call must span several frames")
        self.assertEqual(b"".join(f.payload for f in call), body, "the 16 MiB call's bytes")
        offset = call[0].stream_offset
        self.assertEqual(offset, len(srv["sent"]) - size)
        for i, f in enumerate(call):
            self.assertEqual(f.stream_offset, offset, "frames of the call are contiguous")
            offset += len(f.payload)
            self.assertEqual(bool(f.flags & pcapng.FLAG_CALL_START), i == 0, f)
            self.assertEqual(bool(f.flags & pcapng.FLAG_CALL_END), i == len(call) - 1, f)
            self.assertFalse(f.flags & (pcapng.FLAG_GAP | pcapng.FLAG_CAPPED), f)
            self.assertEqual(f.gap, 0)
        self.check_frame_sizes(frames)

        cr = self.stream_of(frames, client.pid, pcapng.DIR_READ)
        self.assert_stream(cr, client.info["recv"], "client read")
        # All frames of the call share the time the call began: before any read of it.
        self.assertEqual({f.packet.ts_ns for f in call}, {call[0].packet.ts_ns})
        self.assert_causal(sw, cr, "server -> client")

        # tshark reads every frame; the frame lengths agree with the parser.
        rows = self.tshark_fields(cap.out, ["frame.number", "frame.len"], "exported_pdu")
        self.assertEqual([int(r[1]) for r in rows], [f.packet.caplen for f in frames])

    def test_8mib_upload(self):
        """One 8 MiB sendall() on a socket with a timeout: Python retries SSL_write_ex on
        WANT_WRITE with the same buffer; the bytes appear exactly once."""
        server, client, srv, cap, frames = self.transfer_actions(["post:%d" % (8 * MiB),
                                                                  "get:/after-upload"])
        cw = self.stream_of(frames, client.pid, pcapng.DIR_WRITE)
        self.assert_stream(cw, client.info["sent"], "client write (8 MiB upload)")
        sr = self.stream_of(frames, server.pid, pcapng.DIR_READ)
        self.assert_stream(sr, srv["recv"], "server read (8 MiB upload)")
        self.assertTrue(any(f.call_len == 8 * MiB for f in cw.frames), "one call of 8 MiB")
        # (The timestamps of such a retried write: test_write_timestamps.py.)
        self.check_frame_sizes(frames)


if __name__ == "__main__":
    e2e.main()
