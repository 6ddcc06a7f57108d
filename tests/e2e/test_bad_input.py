#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e (h): bad input gives one clear line on stderr and a non-zero exit.

Not privileged (run as nobody), no BTF (--btf /nonexistent), an unknown
option, a pid that does not exist, an output file that cannot be created,
a bad duration. None of them leaves an output file behind (the probes are
set up before the output is opened).
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
if "--lib" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--lib") + 1])
import tlsdump_e2e as e2e  # noqa: E402

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def unused_pid():
    with open("/proc/sys/kernel/pid_max") as f:
        pid_max = int(f.read())
    for pid in [4000000] + list(range(pid_max - 1, pid_max - 1000, -1)):
        if pid < pid_max and not os.path.exists("/proc/%d" % pid):
            return pid
    raise AssertionError("no unused pid found")


class BadInput(e2e.E2ETest):
    def run_bad(self, args, expect, prefix=(), expect_file=False):
        """Runs tlsdump with @args; expects a non-zero exit and one stderr line with @expect."""
        out = self.path("out.pcapng")
        argv = list(prefix) + [e2e.BINARY] + [a.replace("OUT", out) for a in args]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        what = "%s -> exit %d, stderr %r, stdout %r" % (" ".join(argv), p.returncode, p.stderr,
                                                         p.stdout[:200])
        self.assertNotEqual(p.returncode, 0, what)
        self.assertLess(p.returncode, 128, "killed by a signal? " + what)
        lines = p.stderr.splitlines()
        self.assertEqual(len(lines), 1, "expected exactly one stderr line: " + what)
        for e in expect if isinstance(expect, (list, tuple)) else [expect]:
            self.assertIn(e.lower(), lines[0].lower(), what)
        self.assertTrue(lines[0].startswith("tlsdump: "), what)
        self.assertEqual(p.stdout, "", what)
        if not expect_file:
            self.assertFalse(os.path.exists(out), "an output file was left behind: " + what)
        return lines[0]

    def test_not_privileged(self):
        os.chmod(self.dir, 0o777)
        line = self.run_bad(["-w", "OUT", "-d", "2"], [], prefix=NOBODY)
        self.assertRegex(line.lower(), "privilege|root|permission", line)

    def test_no_btf(self):
        self.run_bad(["-w", "OUT", "-d", "2", "--btf", "/nonexistent"], "no BTF")

    def test_unknown_option(self):
        self.run_bad(["--bogus", "-w", "OUT"], "--bogus")

    def test_nonexistent_pid(self):
        pid = unused_pid()
        self.run_bad(["-w", "OUT", "-d", "2", "-p", str(pid)], "no process with pid %d" % pid)

    def test_unwritable_output(self):
        self.run_bad(["-w", "/nonexistent/dir/x.pcapng", "-d", "2"], "/nonexistent/dir/x.pcapng")

    def test_bad_duration(self):
        self.run_bad(["-w", "OUT", "-d", "abc"], "duration")


if __name__ == "__main__":
    e2e.main()
