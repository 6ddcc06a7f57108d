#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e Go: a Write that returns after its connection was closed keeps its connection.

Go programs close a tls.Conn from one goroutine while another is inside
tls.(*Conn).Write: Go's HTTP/2 server does it whenever a client goes away
right after reading the last response (the serve loop closes, the writer
goroutine is still returning), and any program does it to abort a stalled
write. The bytes of that Write went out on the connection (Write returns how
many), so their frames belong to it: same connection id, stream offsets
following the earlier frames, the 5-tuple, role server.

The fixture's stallserver (plain crypto/tls) accepts one connection, reads
"hello\\n", writes "greeting\\n", then writes 64 MiB in one Write from another
goroutine; stallclient reads the greeting and nothing more, so the Write
blocks once the socket buffers are full; after 1 s the main goroutine closes
the connection and Write returns (n, "use of closed network connection") with
n, a few MiB, the bytes of the records that went out. Closing sets the
socket descriptor in net.netFD to -1 before Write returns.

Checked: the server's write stream is one stream (one connection id) holding
"greeting\\n" then exactly n bytes of the written data, from offset 0 without
gap; every frame of it has the connection's 5-tuple and role server.
"""
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_go_lib as lib  # noqa: E402
from test_go_lib import e2e, pcapng  # noqa: E402

PATTERN = b"stalled-write-data-"


class GoWriteAfterClose(lib.GoTest):
    def test_write_returning_after_close(self):
        comm = "gotls-stall"
        binary = self.go_binary("normal", comm)
        cap = self.start_tlsdump("-c", comm, "--packets", "off")
        cert, key = self.cert()
        port_file = self.path("stall.port")
        server = self.spawn([binary, "stallserver", "-cert", cert, "-key", key, "-port-file",
                             port_file, "-bytes", str(64 * e2e.MiB), "-close-after", "1s"],
                            "stallserver")
        self.addCleanup(self.kill_proc, server)
        port = int(e2e.wait_for(lambda: os.path.exists(port_file) and e2e.read_text(port_file),
                                20, "stallserver to listen"))
        self.wait_hooked(cap, binary)
        client = self.spawn([binary, "stallclient", "-addr", "127.0.0.1:%d" % port, "-linger",
                             "3s"], "stallclient")
        self.addCleanup(self.kill_proc, client)
        self.wait_proc(server, "stallserver", 30)
        self.wait_proc(client, "stallclient", 30)
        self.stop_capture(cap)
        result = json.loads(e2e.read_text(self.path("stallserver.out")))
        local = json.loads(e2e.read_text(self.path("stallclient.out")))["local"]
        written = result["written"]
        self.assertIn("use of closed network connection", result["err"])
        self.assertGreater(written, 0, "the stalled Write sent some records: %r" % result)
        self.assertLess(written, 64 * e2e.MiB)
        srv_addr, cli_addr = ("127.0.0.1", port), lib.split_addr(local)
        self.assertEqual(lib.split_addr(result["remote"]), cli_addr)

        frames = cap.frames()
        mine = [f for f in self.only(frames, server.pid) if f.direction == pcapng.DIR_WRITE]
        expected = b"greeting\n" + (PATTERN * (written // len(PATTERN) + 1))[:written]
        conns = sorted({f.conn_id for f in mine})
        self.assertEqual(len(conns), 1,
                         "the server's writes are on %d connection ids %s:\n%s"
                         % (len(conns), conns, "\n".join(
                             "conn %d: %d bytes from offset %d, flags 0x%x, role %s, tuple %s -> %s"
                             % (c, sum(len(f.payload) for f in mine if f.conn_id == c),
                                min(f.stream_offset for f in mine if f.conn_id == c),
                                next(f.flags for f in mine if f.conn_id == c),
                                next(f.role_name for f in mine if f.conn_id == c),
                                next(f.local for f in mine if f.conn_id == c),
                                next(f.remote for f in mine if f.conn_id == c))
                             for c in conns)))
        stream = self.stream_of(mine, server.pid, pcapng.DIR_WRITE)
        self.assert_stream(stream, expected, "server write stream")
        self.assert_tuple(mine, srv_addr, cli_addr, "server writes")
        for f in mine:
            self.assertEqual(f.role, pcapng.ROLE_SERVER, repr(f))
            self.assertEqual(f.flags & pcapng.FLAG_NO_TUPLE, 0, repr(f))


if __name__ == "__main__":
    lib.main()
