#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e (h): how a capture ends.

* `tlsdump -w - | head -c 100`: once traffic flows, tlsdump stops by itself
  within seconds (EPIPE), exit 0, nothing on stderr but the summary line;
* the same without any traffic (-c of a name nobody has);
* the same through an extcap fifo whose reader goes away: exit 0 and an
  empty stderr (Wireshark would show anything there as an error);
* SIGTERM while traffic flows: exit 0 and a valid pcapng ending with an
  Interface Statistics Block, which tshark reads;
* -d SECONDS: stops by itself, same checks.
"""
import os
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
if "--lib" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--lib") + 1])
import tlsdump_e2e as e2e  # noqa: E402
import tlsdump_pcapng as pcapng  # noqa: E402

# "Within a few seconds": how long a stop (EPIPE, SIGTERM) may take.
STOP_WITHIN = 5


class Traffic:
    """Python client requests to @server in a thread until stopped."""

    def __init__(self, test, server, actions=("get:/bytes/20000",)):
        self.test, self.server, self.actions = test, server, list(actions)
        self.stop_flag = threading.Event()
        self.count = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop_flag.is_set() and self.count < 200:
            name = "traffic%d" % self.count
            self.count += 1
            p = self.test.python_client(self.server.port, self.actions, name=name, wait=False)
            try:
                p.proc.wait(30)
            except subprocess.TimeoutExpired:
                p.proc.kill()
            time.sleep(0.1)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        self.thread.join(40)


class Stop(e2e.E2ETest):
    def check_valid_file(self, path, cap=None):
        """Valid pcapng ending with an ISB that counts the frames; tshark agrees."""
        capture = pcapng.read_pcapng(path)
        frames = pcapng.tlsdump_frames(capture)
        problems = [p for f in frames for p in pcapng.check_frame(f)]
        self.assertEqual(problems, [])
        isbs = pcapng.plaintext_statistics(capture)
        self.assertEqual(len(isbs), 1, "one ISB for the plaintext interface")
        self.assertIsInstance(capture.blocks[-1], pcapng.Statistics, "the file ends with ISBs")
        self.assertEqual(isbs[0].ifrecv, len(frames))
        self.assertEqual(self.tshark_plaintext_count(path), len(frames))
        self.assertEqual(self.tshark_count(path), len(capture.packets))
        return capture, frames

    def test_stdout_closed_by_reader(self):
        server = self.python_server()
        log = self.path("tlsdump.log")
        headout = open(self.path("head.out"), "wb")
        tlsdump = self.spawn([e2e.BINARY, "-w", "-", "--log-file", log, "--log-level", "info"],
                             "tlsdump", stdout=subprocess.PIPE)
        head = self.spawn(["head", "-c", "100"], "head", stdin=tlsdump.stdout, stdout=headout)
        tlsdump.stdout.close()
        headout.close()
        e2e.wait_for(lambda: "capturing" in e2e.read_text(log) or tlsdump.poll() is not None, 30,
                     "tlsdump to capture")
        with Traffic(self, server) as traffic:
            try:
                rc = tlsdump.wait(STOP_WITHIN)
            except subprocess.TimeoutExpired:
                self.fail("tlsdump did not stop within %d s of traffic after its reader left "
                          "(%d requests)\nlog:\n%s" % (STOP_WITHIN, traffic.count,
                                                       e2e.read_text(log)[-2000:]))
        self.wait_proc(head, "head", 10)
        err = e2e.read_text(self.path("tlsdump.err"))
        self.assertEqual(rc, 0, "exit code; stderr:\n" + err)
        noise = [l for l in err.splitlines() if not e2e.SUMMARY_RE.search(l)]
        self.assertEqual(noise, [], "stderr beyond the summary line")
        data = e2e.read_bytes(self.path("head.out"))
        self.assertEqual(len(data), 100)
        capture = pcapng.read_pcapng(data, allow_truncated=True)
        self.assertEqual(len(capture.sections), 1, "the 100 bytes start with a SHB")

    def test_stdout_closed_without_traffic(self):
        """The reader leaves while no TLS traffic flows: tlsdump still notices."""
        log = self.path("tlsdump.log")
        headout = open(self.path("head.out"), "wb")
        tlsdump = self.spawn([e2e.BINARY, "-w", "-", "--log-file", log, "--log-level", "info",
                              "-c", "tlsd-e2e-none"], "tlsdump", stdout=subprocess.PIPE)
        head = self.spawn(["head", "-c", "100"], "head", stdin=tlsdump.stdout, stdout=headout)
        tlsdump.stdout.close()
        headout.close()
        e2e.wait_for(lambda: "capturing" in e2e.read_text(log) or tlsdump.poll() is not None, 30,
                     "tlsdump to capture")
        self.wait_proc(head, "head", 10)
        try:
            rc = tlsdump.wait(STOP_WITHIN)
        except subprocess.TimeoutExpired:
            self.fail("tlsdump did not stop within %d s after its reader left (no traffic)"
                      % STOP_WITHIN)
        err = e2e.read_text(self.path("tlsdump.err"))
        self.assertEqual(rc, 0, "exit code; stderr:\n" + err)
        noise = [l for l in err.splitlines() if not e2e.SUMMARY_RE.search(l)]
        self.assertEqual(noise, [], "stderr beyond the summary line")

    def test_fifo_reader_leaves(self):
        server = self.python_server()
        fifo = self.path("fifo")
        os.mkfifo(fifo)
        log = self.path("tlsdump.log")
        tlsdump = self.spawn([e2e.BINARY, "--capture", "--extcap-interface", "tlsdump", "--fifo",
                              fifo, "--log-file", log, "--log-level", "info"], "tlsdump")
        # Non-blocking, so a tlsdump that never opens the fifo cannot hang the test.
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        try:
            head = b""
            deadline = time.monotonic() + 30
            while len(head) < 100:
                self.assertLess(time.monotonic(), deadline, "no pcapng header in the fifo")
                self.assertIsNone(tlsdump.poll(), "tlsdump exited; stderr:\n"
                                  + e2e.read_text(self.path("tlsdump.err")))
                try:
                    head += os.read(fd, 100 - len(head))
                except BlockingIOError:
                    pass
                time.sleep(0.02)
        finally:
            os.close(fd)
        self.assertEqual(pcapng.read_pcapng(head, allow_truncated=True).sections[0].type,
                         pcapng.BT_SHB)
        with Traffic(self, server):
            try:
                rc = tlsdump.wait(STOP_WITHIN)
            except subprocess.TimeoutExpired:
                self.fail("tlsdump did not stop within %d s after the fifo reader left"
                          % STOP_WITHIN)
        err = e2e.read_text(self.path("tlsdump.err"))
        self.assertEqual(rc, 0, "exit code; stderr:\n" + err)
        self.assertEqual(err, "", "an extcap must keep stderr empty on a normal stop")

    def test_sigterm_mid_capture(self):
        server = self.python_server()
        cap = self.start_tlsdump()
        with Traffic(self, server):
            e2e.wait_for(lambda: os.path.getsize(cap.out) > 200000, 30,
                         "frames in the capture file")
            t0 = time.monotonic()
            cap.stop(signal.SIGTERM)
            self.assertLess(time.monotonic() - t0, STOP_WITHIN, "time to stop after SIGTERM")
        capture, frames = self.check_valid_file(cap.out)
        self.assertTrue(frames)
        nframes, nbytes, lost, _ = cap.summary()
        self.assertEqual(nframes, len(frames))
        self.assertEqual(pcapng.plaintext_statistics(capture)[0].ifdrop, lost)
        noise = [l for l in cap.stderr.splitlines() if not e2e.SUMMARY_RE.search(l)]
        self.assertEqual(noise, [], "stderr beyond the summary line")

    def test_duration(self):
        server = self.python_server()
        cap = self.start_tlsdump("-d", "8")
        t0 = time.monotonic()
        client = self.python_client(server.port, ["get:/during"])
        self.assertIsNone(cap.proc.poll(), "the client took more than the 8 s of the capture "
                          "(%.1f s): machine too busy" % (time.monotonic() - t0))
        self.assertEqual(cap.wait(30), 0, cap.diagnostics())
        self.assertLess(time.monotonic() - t0, 8 + STOP_WITHIN, "-d 8 took too long")
        capture, frames = self.check_valid_file(cap.out)
        self.assertTrue(self.only(frames, client.pid), "the client's frames")

if __name__ == "__main__":
    e2e.main()
