#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e (b): Python client and Python server (ssl module: SSL_read_ex/SSL_write_ex).

Both ends of one connection are captured: the server's frames have role
server, the client's role client, each with its own 5-tuple seen from its
side; the four streams are byte-identical to what the peers saw
(client write == server read, server write == client read), and no byte is
read (by timestamp) before it was written.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
if "--lib" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--lib") + 1])
import tlsdump_e2e as e2e  # noqa: E402
import tlsdump_pcapng as pcapng  # noqa: E402


class PythonBothSides(e2e.E2ETest):
    def test_both_sides(self):
        server = self.python_server("127.0.0.1")
        cap = self.start_tlsdump()
        client = self.python_client(server.port, ["get:/hello", "post:3000", "get:/bytes/20000",
                                                  "get:/bytes/100000?split=1", "get:/bye"])
        srv = self.server_conn(server, client.info["local"][1])
        cap.stop()
        frames = cap.frames()

        # What the peers saw agrees with itself (sanity of the oracle).
        self.assertEqual(client.info["sent"], srv["recv"])
        self.assertEqual(srv["sent"], client.info["recv"])

        cw = self.stream_of(frames, client.pid, pcapng.DIR_WRITE)
        cr = self.stream_of(frames, client.pid, pcapng.DIR_READ)
        sw = self.stream_of(frames, server.pid, pcapng.DIR_WRITE)
        sr = self.stream_of(frames, server.pid, pcapng.DIR_READ)
        self.assert_stream(cw, client.info["sent"], "client write")
        self.assert_stream(sr, srv["recv"], "server read")
        self.assert_stream(sw, srv["sent"], "server write")
        self.assert_stream(cr, client.info["recv"], "client read")
        self.assertEqual(cw.data, sr.data, "client write == server read")
        self.assertEqual(sw.data, cr.data, "server write == client read")
        # Timestamps: a write is stamped when the call began, a read when it
        # returned, so nothing is read before it was written.
        self.assert_causal(cw, sr, "client -> server")
        self.assert_causal(sw, cr, "server -> client")

        # One connection id per side, different between the sides.
        self.assertEqual(cw.key[0], cr.key[0])
        self.assertEqual(sw.key[0], sr.key[0])
        self.assertNotEqual(cw.key[0], sw.key[0])

        cframes = self.only(frames, client.pid)
        sframes = self.only(frames, server.pid)
        client_addr = tuple(client.info["local"])
        server_addr = ("127.0.0.1", server.port)
        self.assertEqual(tuple(srv["remote"]), client_addr)
        self.assert_tuple(cframes, client_addr, server_addr, "client")
        self.assert_tuple(sframes, server_addr, client_addr, "server")
        for frames_, role, pid in ((cframes, pcapng.ROLE_CLIENT, client.pid),
                                   (sframes, pcapng.ROLE_SERVER, server.pid)):
            for f in frames_:
                self.assertEqual(f.role, role, f)
                self.assertEqual(f.comm, "python3", f)
                self.assertEqual(f.library, pcapng.LIB_OPENSSL, f)
                self.assertTrue(f.libname.startswith("libssl.so"), f.libname)
                self.assertFalse(f.flags & (pcapng.FLAG_GAP | pcapng.FLAG_CAPPED |
                                            pcapng.FLAG_NO_TUPLE), f)
                meta = f.comment_fields
                self.assertEqual(meta.get("PID"), str(pid))
                self.assertEqual(meta.get("ThreadId"), str(f.tid))
                self.assertEqual(meta.get("Comm"), "python3")
                self.assertIn("tls_peer.py", meta.get("Cmd", ""))
        # The server handles the connection in a thread of its own.
        self.assertTrue(all(f.tid != server.pid for f in sframes), "server tids")
        self.assertTrue(all(f.tid == client.pid for f in cframes), "client tids")

        # The split response's body was one SSL_write_ex of 100000 bytes.
        big = [f for f in sw.frames if f.call_len == 100000]
        self.assertTrue(big, "no frame of the 100000-byte write")
        self.assertEqual(sum(len(f.payload) for f in big), 100000)
        self.assertTrue(big[0].flags & pcapng.FLAG_CALL_START and big[-1].flags & pcapng.FLAG_CALL_END)

        self.assert_tshark_agrees(cap.out, frames)
        self.assertEqual(self.tshark_plaintext_count(cap.out, "exported_pdu.src_port == %d || "
                                           "exported_pdu.dst_port == %d" % (server.port, server.port)),
                         len(cframes) + len(sframes))


if __name__ == "__main__":
    e2e.main()
