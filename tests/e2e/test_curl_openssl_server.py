#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e (a): curl against `openssl s_server -www`.

curl's request (write, role client) and the server's response (read) are
captured byte-exact with the connection's real 5-tuple (the server port is the
remote port of curl's frames), curl's pid/tid/comm, the OpenSSL library, and
the process comment (PID, Comm, Cmd, Exe); s_server's side (it uses an SSL
BIO, i.e. OpenSSL's internal read/write functions) with role server and the
mirrored 5-tuple; tshark reads the file and sees the same frames, addresses,
ports and directions.
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
if "--lib" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--lib") + 1])
import tlsdump_e2e as e2e  # noqa: E402
import tlsdump_pcapng as pcapng  # noqa: E402


class CurlOpensslServer(e2e.E2ETest):
    def test_curl_request_and_response(self):
        server = self.openssl_server("127.0.0.1")
        t0 = time.time_ns()
        cap = self.start_tlsdump()
        curl = self.curl("https://127.0.0.1:%d/e2e-a" % server.port, "-A", "tlsdump-e2e")
        cap.stop()
        t1 = time.time_ns()

        frames = cap.frames()
        mine = self.only(frames, curl.pid)
        self.assertTrue(mine, "no frame of curl (pid %d); capture:\n%s"
                        % (curl.pid, pcapng.summary(cap.capture())))

        # Bytes: the exact request curl wrote and the exact response it read.
        request = (b"GET /e2e-a HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: tlsdump-e2e\r\n"
                   b"Accept: */*\r\n\r\n" % server.port)
        wr = self.stream_of(frames, curl.pid, pcapng.DIR_WRITE)
        rd = self.stream_of(frames, curl.pid, pcapng.DIR_READ)
        self.assert_stream(wr, request, "curl's request")
        self.assertTrue(curl.headers.startswith(b"HTTP/1.0 200 ok\r\n"), curl.headers[:80])
        self.assert_stream(rd, curl.headers + curl.body, "the response curl read")
        self.assertEqual(wr.key[0], rd.key[0], "request and response on one connection id")

        # 5-tuple: the server port is the remote port; the local port is curl's.
        local_ports = {f.local[1] for f in mine}
        self.assertEqual(len(local_ports), 1, mine)
        local_port = local_ports.pop()
        self.assertNotEqual(local_port, server.port)
        self.assert_tuple(mine, ("127.0.0.1", local_port), ("127.0.0.1", server.port), "curl")
        for f in wr.frames:
            self.assertEqual((f.src, f.dst), (("127.0.0.1", local_port), ("127.0.0.1", server.port)))
            self.assertEqual((f.p2p_dir, f.packet.direction), (0, pcapng.EPB_DIR_OUTBOUND))
        for f in rd.frames:
            self.assertEqual((f.src, f.dst), (("127.0.0.1", server.port), ("127.0.0.1", local_port)))
            self.assertEqual((f.p2p_dir, f.packet.direction), (1, pcapng.EPB_DIR_INBOUND))

        # Process metadata.
        cmd = " ".join(curl.argv)
        for f in mine:
            self.assertEqual(f.dissector, "tlsdump")
            self.assertEqual(f.role, pcapng.ROLE_CLIENT, f)
            self.assertEqual(f.comm, "curl")
            self.assertEqual(f.tid, curl.pid)
            self.assertEqual(f.library, pcapng.LIB_OPENSSL)
            self.assertTrue(f.libname.startswith("libssl.so"), f.libname)
            self.assertFalse(f.flags & (pcapng.FLAG_GAP | pcapng.FLAG_CAPPED | pcapng.FLAG_NO_TUPLE))
            self.assertTrue(t0 <= f.packet.ts_ns <= t1, "timestamp %d outside [%d, %d]"
                            % (f.packet.ts_ns, t0, t1))
            self.assertIn("PID: %d" % curl.pid, f.comment.split("\n"))
            meta = f.comment_fields
            self.assertEqual(meta.get("PID"), str(curl.pid))
            self.assertEqual(meta.get("ThreadId"), str(curl.pid))
            self.assertEqual(meta.get("Comm"), "curl")
            self.assertEqual(meta.get("Cmd"), cmd)
            self.assertEqual(meta.get("Exe"), os.path.realpath("/usr/bin/curl"))
        # Each call here fits one frame: call length == payload, start and end flags.
        for f in mine:
            self.assertEqual(f.call_len, len(f.payload), f)
            self.assertEqual(f.flags & (pcapng.FLAG_CALL_START | pcapng.FLAG_CALL_END),
                             pcapng.FLAG_CALL_START | pcapng.FLAG_CALL_END, f)

        # The server's side (s_server -www reads and writes through an SSL BIO,
        # which calls OpenSSL's internal functions, not SSL_read/SSL_write).
        sframes = self.only(frames, server.pid)
        self.assertTrue(sframes, "no frame of s_server (pid %d)" % server.pid)
        self.assert_stream(self.stream_of(frames, server.pid, pcapng.DIR_READ), request,
                           "the request s_server read")
        self.assert_stream(self.stream_of(frames, server.pid, pcapng.DIR_WRITE),
                           curl.headers + curl.body, "the response s_server wrote")
        self.assert_tuple(sframes, ("127.0.0.1", server.port), ("127.0.0.1", local_port),
                          "s_server")
        for f in sframes:
            self.assertEqual(f.role, pcapng.ROLE_SERVER, f)
            self.assertEqual(f.comm, "openssl", f)
            self.assertEqual(f.library, pcapng.LIB_OPENSSL)
        self.assert_causal(wr, self.stream_of(frames, server.pid, pcapng.DIR_READ), "request")
        self.assert_causal(self.stream_of(frames, server.pid, pcapng.DIR_WRITE), rd, "response")

        # Statistics: ISB and the summary line agree with the frames.
        isb = cap.statistics()
        self.assertEqual(isb.ifrecv, len(frames))
        ts = [f.packet.ts_raw for f in frames]
        self.assertTrue(isb.starttime <= min(ts) <= max(ts) <= isb.endtime,
                        "ISB start/end %s..%s around the frames %d..%d"
                        % (isb.starttime, isb.endtime, min(ts), max(ts)))
        nframes, nbytes, lost, lost_bytes = cap.summary()
        self.assertEqual((nframes, nbytes), (len(frames), sum(len(f.payload) for f in frames)))
        # Unfiltered: other TLS traffic on the host may be captured (or lost) too.
        self.assertEqual(isb.ifdrop, lost)

        # tshark: same frames, tags and directions; the comment is there.
        self.assert_tshark_agrees(cap.out, frames)
        self.assertEqual(self.tshark_plaintext_count(cap.out, 'frame.comment contains "PID: %d\\n"' % curl.pid),
                         len(mine))
        rows = self.tshark_fields(cap.out, ["exported_pdu.src_port", "exported_pdu.dst_port"],
                                  'frame.comment contains "Comm: curl" && exported_pdu.p2p_dir == 0')
        self.assertIn([str(local_port), str(server.port)], rows)


if __name__ == "__main__":
    e2e.main()
