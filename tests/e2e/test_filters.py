#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e: process filters (-p PID, -c COMM) select exactly the right frames.

Two Python clients and a Python server; the clients connect, then wait
until the capture runs.
* -p A: only client A's frames, complete and byte-exact; neither B nor the
  server;
* -p A,B and -p A -p B: both clients, not the server;
* -c NAME (the peers set their own process names): only that process.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
if "--lib" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--lib") + 1])
import tlsdump_e2e as e2e  # noqa: E402
import tlsdump_pcapng as pcapng  # noqa: E402


class Filters(e2e.E2ETest):
    def run_filtered(self, filter_args, comms=(None, None, None)):
        """Server + clients A, B; tlsdump with filter_args(server, a, b); returns frames."""
        server = self.python_server(comm=comms[0])
        go = self.path("go")
        a = self.python_client(server.port, ["pause:" + go, "get:/from-a", "post:2000"],
                               name="a", wait=False, comm=comms[1])
        b = self.python_client(server.port, ["pause:" + go, "get:/from-b"],
                               name="b", wait=False, comm=comms[2])
        for c in (a, b):
            e2e.wait_for(lambda: os.path.exists(go + ".paused") and
                         os.path.exists(c.out + ".json.connected") or c.proc.poll() is not None,
                         30, "client %s to connect" % c.name)
        cap = self.start_tlsdump(*filter_args(server, a, b))
        open(go, "w").close()
        self.finish_client(a)
        self.finish_client(b)
        self.server_conn(server, a.info["local"][1])
        self.server_conn(server, b.info["local"][1])
        cap.stop()
        frames = cap.frames()
        self.assert_tshark_agrees(cap.out, frames)
        return server, a, b, frames

    def assert_complete(self, frames, client):
        self.assert_stream(self.stream_of(frames, client.pid, pcapng.DIR_WRITE),
                           client.info["sent"], "%s write" % client.name)
        self.assert_stream(self.stream_of(frames, client.pid, pcapng.DIR_READ),
                           client.info["recv"], "%s read" % client.name)

    def test_one_pid(self):
        server, a, b, frames = self.run_filtered(lambda s, a, b: ["-p", str(a.pid)])
        self.assertEqual({f.pid for f in frames}, {a.pid})
        self.assert_complete(frames, a)

    def test_pid_list(self):
        server, a, b, frames = self.run_filtered(lambda s, a, b: ["-p", "%d,%d" % (a.pid, b.pid)])
        self.assertEqual({f.pid for f in frames}, {a.pid, b.pid})
        self.assert_complete(frames, a)
        self.assert_complete(frames, b)

    def test_repeated_pid(self):
        server, a, b, frames = self.run_filtered(
            lambda s, a, b: ["-p", str(b.pid), "--pid", str(s.pid)])
        self.assertEqual({f.pid for f in frames}, {b.pid, server.pid})
        self.assert_complete(frames, b)

    def test_comm(self):
        server, a, b, frames = self.run_filtered(lambda s, a, b: ["-c", "e2e-client-b"],
                                                 comms=("e2e-server", "e2e-client-a",
                                                        "e2e-client-b"))
        self.assertEqual({f.pid for f in frames}, {b.pid})
        self.assertEqual({f.comm for f in frames}, {"e2e-client-b"})
        self.assert_complete(frames, b)


if __name__ == "__main__":
    e2e.main()
