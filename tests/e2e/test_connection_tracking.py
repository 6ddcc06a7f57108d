#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e: connection identity (core capture, beyond the basic cases).

* sequential connections of one process (curl fetching three URLs from
  `openssl s_server -www`, which closes after each response; the TLS object
  and fd are freed and typically reused): three connection ids, three local
  ports, offsets from 0 on each, bytes exact per connection;
* tiny reads (SSL_read_ex of 7 bytes, served from OpenSSL's buffer without a
  syscall): every frame still carries the connection and its 5-tuple;
* eight concurrent connections to one threaded server: every stream of both
  sides byte-exact, every connection id distinct;
* TLS over a Unix socket: frames have NO_TUPLE (0x0004) and no address or
  port tags, bytes exact.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
if "--lib" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--lib") + 1])
import tlsdump_e2e as e2e  # noqa: E402
import tlsdump_pcapng as pcapng  # noqa: E402

ADDR_TAGS = {pcapng.EXP_PDU_TAG_IPV4_SRC, pcapng.EXP_PDU_TAG_IPV4_DST,
             pcapng.EXP_PDU_TAG_IPV6_SRC, pcapng.EXP_PDU_TAG_IPV6_DST,
             pcapng.EXP_PDU_TAG_PORT_TYPE, pcapng.EXP_PDU_TAG_SRC_PORT,
             pcapng.EXP_PDU_TAG_DST_PORT}


class ConnectionTracking(e2e.E2ETest):
    def test_sequential_connections(self):
        server = self.openssl_server()
        cap = self.start_tlsdump()
        paths = ["/one", "/two", "/three"]
        argv = ["curl", "-sS", "-k", "--http1.1", "-A", "e2e", "-D", self.path("headers")]
        for i, p in enumerate(paths):
            argv += ["-o", self.path("body%d" % i), "https://127.0.0.1:%d%s" % (server.port, p)]
        curl = self.spawn(argv, "curl")
        self.wait_proc(curl, "curl", 30)
        cap.stop()
        frames = cap.frames()
        headers = e2e.read_bytes(self.path("headers")).split(b"HTTP/1.0 ")[1:]
        self.assertEqual(len(headers), 3, "curl's headers file")

        mine = self.only(frames, curl.pid)
        conns = sorted({f.conn_id for f in mine})
        self.assertEqual(len(conns), 3, "three connections: %s" % mine)
        ports = set()
        by_key = pcapng.streams(mine)
        for i, (conn, path) in enumerate(zip(conns, paths)):
            wr, rd = by_key[(conn, pcapng.DIR_WRITE)], by_key[(conn, pcapng.DIR_READ)]
            request = (b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: e2e\r\n"
                       b"Accept: */*\r\n\r\n" % (path.encode(), server.port))
            self.assert_stream(wr, request, "request %d" % i)
            self.assert_stream(rd, b"HTTP/1.0 " + headers[i] + e2e.read_bytes(self.path("body%d" % i)),
                               "response %d" % i)
            cf = wr.frames + rd.frames
            local = cf[0].local
            ports.add(local[1])
            self.assert_tuple(cf, local, ("127.0.0.1", server.port), "connection %d" % i)
            for f in cf:
                self.assertEqual(f.role, pcapng.ROLE_CLIENT, f)
        self.assertEqual(len(ports), 3, "three local ports")
        self.assert_tshark_agrees(cap.out, frames)

    def test_tiny_reads(self):
        server = self.python_server()
        cap = self.start_tlsdump()
        client = self.python_client(server.port, ["get:/bytes/50000"], recv_size=7)
        cap.stop()
        frames = cap.frames()
        rd = self.stream_of(frames, client.pid, pcapng.DIR_READ)
        self.assert_stream(rd, client.info["recv"], "client read in 7-byte calls")
        self.assertGreaterEqual(len(rd.frames), 50000 // 7)
        self.assertTrue(all(len(f.payload) <= 7 for f in rd.frames))
        mine = self.only(frames, client.pid)
        self.assertEqual(len({f.conn_id for f in mine}), 1)
        self.assert_tuple(mine, client.info["local"], ("127.0.0.1", server.port), "client")
        self.assertEqual(self.tshark_plaintext_count(cap.out), len(frames))

    def test_concurrent_connections(self):
        server = self.python_server()
        cap = self.start_tlsdump()
        clients = [self.python_client(server.port, ["post:5000", "get:/bytes/300000", "get:/x"],
                                      name="client%d" % i, wait=False) for i in range(8)]
        for c in clients:
            self.finish_client(c)
        srvs = [self.server_conn(server, c.info["local"][1]) for c in clients]
        cap.stop()
        frames = cap.frames()
        conn_ids = set()
        server_addr = ("127.0.0.1", server.port)
        all_server = self.only(frames, server.pid)
        for c, srv in zip(clients, srvs):
            caddr = tuple(c.info["local"])
            sframes = [f for f in all_server if f.remote == caddr]
            streams = {}
            for pid, fl, direction, data, what in (
                    (c.pid, None, pcapng.DIR_WRITE, c.info["sent"], "client write"),
                    (c.pid, None, pcapng.DIR_READ, c.info["recv"], "client read"),
                    (server.pid, sframes, pcapng.DIR_WRITE, srv["sent"], "server write"),
                    (server.pid, sframes, pcapng.DIR_READ, srv["recv"], "server read")):
                s = self.stream_of(fl if fl is not None else frames, pid, direction)
                self.assert_stream(s, data, "%s (client port %d)" % (what, caddr[1]))
                conn_ids.add((pid, s.key[0]))
                streams[what] = s
            self.assert_causal(streams["client write"], streams["server read"], "client -> server")
            self.assert_causal(streams["server write"], streams["client read"], "server -> client")
            self.assert_tuple(self.only(frames, c.pid), caddr, server_addr, "client")
            self.assert_tuple(sframes, server_addr, caddr, "server")
        self.assertEqual(len({cid for _, cid in conn_ids}), 16, "16 distinct connection ids")
        self.assertEqual(len(all_server), sum(1 for f in all_server
                                              if f.remote in {tuple(c.info["local"]) for c in clients}))
        self.assert_tshark_agrees(cap.out, frames)

    def test_unix_socket_no_tuple(self):
        sock = self.path("tls.sock")
        server = self.python_server("unix:" + sock)
        cap = self.start_tlsdump()
        client = self.python_client(0, ["get:/over-unix", "get:/bytes/20000"], host="unix:" + sock)
        srv = self.server_conn(server, "unix0")
        cap.stop()
        frames = cap.frames()
        for pid, direction, data, what in (
                (client.pid, pcapng.DIR_WRITE, client.info["sent"], "client write"),
                (client.pid, pcapng.DIR_READ, client.info["recv"], "client read"),
                (server.pid, pcapng.DIR_WRITE, srv["sent"], "server write"),
                (server.pid, pcapng.DIR_READ, srv["recv"], "server read")):
            self.assert_stream(self.stream_of(frames, pid, direction), data, what)
        for f in self.only(frames, client.pid) + self.only(frames, server.pid):
            self.assertTrue(f.flags & pcapng.FLAG_NO_TUPLE, f)
            self.assertFalse({t for t, _ in f.tags} & ADDR_TAGS, "address tags in %r" % f)
            self.assertIsNone(f.local)
        self.assert_tshark_agrees(cap.out, frames)


if __name__ == "__main__":
    e2e.main()
