#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e: write timestamps (docs/record-format.md: a write is stamped "the moment
the TLS call was entered (before its encrypted records left)", a read when it
returned). So no byte can be read, by timestamp, before it was written.

* blocking socket: one SSL_write_ex of 8 MiB (server sendall());
* socket with a timeout (Python makes the fd non-blocking): one sendall() of
  8 MiB is several SSL_write_ex calls on the same buffer - the first ones
  fail with WANT_WRITE after sending records, the last returns the whole
  length. The records sent by the failed attempts are read by the peer
  before the last attempt was entered.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
if "--lib" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--lib") + 1])
import tlsdump_e2e as e2e  # noqa: E402
import tlsdump_pcapng as pcapng  # noqa: E402

SIZE = 8 * e2e.MiB
COMM = "tlsd-e2e-ts"  # the peers' process name: -c keeps other traffic out


class WriteTimestamps(e2e.E2ETest):
    def capture(self, actions):
        server = self.python_server(comm=COMM)
        cap = self.start_tlsdump("-c", COMM)
        client = self.python_client(server.port, actions, comm=COMM)
        srv = self.server_conn(server, client.info["local"][1])
        cap.stop()
        return server, client, srv, cap.frames()

    def test_blocking_write(self):
        server, client, srv, frames = self.capture(["get:/bytes/%d?split=1" % SIZE])
        sw = self.stream_of(frames, server.pid, pcapng.DIR_WRITE)
        cr = self.stream_of(frames, client.pid, pcapng.DIR_READ)
        self.assert_stream(sw, srv["sent"], "server write")
        self.assert_causal(sw, cr, "server -> client")

    def test_write_retried_after_want_write(self):
        server, client, srv, frames = self.capture(["post:%d" % SIZE])
        cw = self.stream_of(frames, client.pid, pcapng.DIR_WRITE)
        sr = self.stream_of(frames, server.pid, pcapng.DIR_READ)
        self.assert_stream(cw, client.info["sent"], "client write")
        self.assert_stream(sr, srv["recv"], "server read")
        # Fails with tlsdump 0.1.0: the frames carry the entry time of the last
        # (successful) attempt, after the server already read the first records.
        self.assert_causal(cw, sr, "client -> server")


if __name__ == "__main__":
    e2e.main()
