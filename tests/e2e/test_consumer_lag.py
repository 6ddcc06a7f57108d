#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e: events handled after their process exited (a busy or slow consumer).

tlsdump's reader is paused with SIGSTOP while a peer does its TLS calls and
exits, then resumed (SIGCONT): the kernel kept the events in the ring, but
/proc/PID of their process is gone when user space sees them. What user
space adds must not depend on the process still running:

* the role of a connection opened before the capture (it comes from user
  space, not from the kernel's connection setup);
* the process metadata in the comment (PID, Comm, Cmd, Exe) of a process
  started after the capture began.
"""
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
if "--lib" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--lib") + 1])
import tlsdump_e2e as e2e  # noqa: E402
import tlsdump_pcapng as pcapng  # noqa: E402

COMM = "tlsd-e2e-lag"


class ConsumerLag(e2e.E2ETest):
    def paused(self, cap, action):
        """Runs @action with tlsdump stopped (SIGSTOP), then resumes it."""
        cap.proc.send_signal(signal.SIGSTOP)
        try:
            action()
        finally:
            cap.proc.send_signal(signal.SIGCONT)

    def test_role_of_preexisting_connection_after_exit(self):
        server = self.python_server(comm=COMM)
        go = self.path("go")
        client = self.python_client(server.port, ["get:/first", "pause:" + go, "get:/second"],
                                    wait=False, comm=COMM)
        e2e.wait_for(lambda: os.path.exists(go + ".paused") or client.proc.poll() is not None,
                     30, "the client's first request")
        cap = self.start_tlsdump("-c", COMM)

        def run_client():
            open(go, "w").close()
            self.finish_client(client)
        self.paused(cap, run_client)
        self.server_conn(server, client.info["local"][1])
        cap.stop()
        frames = cap.frames()
        cframes = self.only(frames, client.pid)
        self.assertTrue(cframes, "no frame of the client")
        self.assert_tuple(cframes, client.info["local"], ("127.0.0.1", server.port), "client")
        self.assertEqual(b"".join(f.payload for f in cframes if f.direction == pcapng.DIR_WRITE),
                         client.info["sent"][client.info["sent"].index(b"GET /second"):])
        for f in self.only(frames, server.pid):
            self.assertEqual(f.role, pcapng.ROLE_SERVER, f)
        # Fails with tlsdump 0.1.0: the role of a connection the kernel did not
        # see being set up comes from /proc/PID/net/tcp{,6} at the time the event
        # is handled; the client is gone by then, so the role is 0 (unknown).
        self.assertEqual({f.role for f in cframes}, {pcapng.ROLE_CLIENT},
                         "role of the client's frames (handled after it exited)")

    def test_metadata_of_exited_process(self):
        server = self.openssl_server()
        binary = self.renamed_curl(COMM)
        cap = self.start_tlsdump("-c", COMM)
        curls = []
        self.paused(cap, lambda: curls.append(
            self.curl("https://127.0.0.1:%d/lag" % server.port, binary=binary)))
        curl = curls[0]
        cap.stop()
        frames = cap.frames()
        mine = self.only(frames, curl.pid)
        self.assertTrue(mine, "no frame of curl")
        self.assert_stream(self.stream_of(frames, curl.pid, pcapng.DIR_READ),
                           curl.headers + curl.body, "curl read")
        for f in mine:
            self.assertEqual(f.comm, COMM)
            meta = f.comment_fields
            self.assertEqual(meta.get("PID"), str(curl.pid), f.comment)
            self.assertEqual(meta.get("Comm"), COMM, f.comment)
            self.assertEqual(meta.get("Cmd"), " ".join(curl.argv), f.comment)
            self.assertEqual(meta.get("Exe"), binary, f.comment)


if __name__ == "__main__":
    e2e.main()
