#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e packets: process filters (-c NAME, -p PID) select the packets too.

curl to `openssl s_server -www` and a Python client to a Python server, both
TLS, during each capture:

* -c curl: curl's connection is complete on the wire, the Python one (TLS,
  but neither end selected) has no packet and no plaintext frame;
* -p PYTHON_SERVER_PID: the Python connection's packets (the server end is
  selected), none of curl's;
* -p CLIENT_PID, the client idle for 2 s between its handshake and its first
  request: the whole connection, SYN and handshake included.
"""
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_packets_lib as lib  # noqa: E402
from test_packets_lib import e2e  # noqa: E402


class PacketsProcessFilter(lib.PacketsTest):
    def run_capture(self, select):
        s_server = self.openssl_server("127.0.0.1")
        pysrv = self.python_server("127.0.0.1")
        args = ["-c", "curl"] if select == "curl" else ["-p", str(pysrv.pid)]
        cap = self.start_tlsdump(*args)
        curl = self.curl("https://127.0.0.1:%d/procfilter" % s_server.port)
        client = self.python_client(pysrv.port, ["get:/procfilter", "get:/bytes/5000"])
        self.server_conn(pysrv, client.info["local"][1])
        self.settle(1.5)
        cap.stop()
        capture, frames, segs = self.read_capture(cap)
        self.assert_time_ordered(capture)
        self.assert_no_duplicates(segs)
        return frames, segs, curl, client, s_server, pysrv

    def test_comm_curl(self):
        frames, segs, curl, client, s_server, pysrv = self.run_capture("curl")
        mine = self.only(frames, curl.pid)
        self.assertTrue(mine, "no plaintext frame of curl")
        self.check_connection(segs, mine[0].local, ("127.0.0.1", s_server.port), mine, "curl")
        self.assertEqual(self.only(frames, client.pid) + self.only(frames, pysrv.pid), [])
        self.assertEqual(lib.with_port(segs, pysrv.port), [],
                         "packets of a connection of processes not selected by -c curl")

    def test_pid_server(self):
        frames, segs, curl, client, s_server, pysrv = self.run_capture("server")
        local, remote = tuple(client.info["local"]), ("127.0.0.1", pysrv.port)
        sf = [f for f in self.only(frames, pysrv.pid) if f.remote == local]
        self.assertTrue(sf, "no plaintext frame of the selected server")
        self.assertEqual(self.only(frames, client.pid) + self.only(frames, curl.pid), [])
        self.check_connection(segs, local, remote, sf, "python connection (server selected)")
        self.assertEqual(lib.with_port(segs, s_server.port), [],
                         "packets of curl's connection with -p SERVER_PID")

    def test_pid_client_idle_after_handshake(self):
        """-p CLIENT_PID: a client that completes its handshake, then waits 2 s before
        its first request (a pre-connected keep-alive connection) gets its whole
        connection, SYN and handshake included."""
        pysrv = self.python_server("127.0.0.1")
        start, go = self.path("start"), self.path("go")
        out = self.path("pyclient")
        # The client's pid is known before it runs: a shell that execs it once told to.
        script = ('for i in $(seq 600); do [ -e "$1" ] && exec "$2" "$3" client --host 127.0.0.1 '
                  '--port "$4" --out "$5" "pause:$6" get:/after-idle; sleep 0.05; done; exit 3')
        p = self.spawn(["sh", "-c", script, "sh", start, e2e.PYTHON, e2e.TLS_PEER,
                        str(pysrv.port), out, go], "pyclient")
        cap = self.start_tlsdump("-p", str(p.pid))
        open(start, "w").close()
        e2e.wait_for(lambda: os.path.exists(go + ".paused") or p.poll() is not None,
                     20, "the client to connect and pause")
        time.sleep(2)
        open(go, "w").close()
        client = self.finish_client(e2e.Peer(p, "pyclient", out=out))
        self.assertEqual(client.info["pid"], p.pid)
        self.server_conn(pysrv, client.info["local"][1])
        self.settle()
        cap.stop()
        capture, frames, segs = self.read_capture(cap)
        local, remote = tuple(client.info["local"]), ("127.0.0.1", pysrv.port)
        cf = self.only(frames, p.pid)
        self.assertTrue(cf, "no plaintext frame of the selected client")
        self.check_connection(segs, local, remote, cf, "client idle 2 s after its handshake")


if __name__ == "__main__":
    e2e.main()
