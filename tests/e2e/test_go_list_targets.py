#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e Go (6): `tlsdump --list-targets` shows running Go programs.

Go servers of the fixture built normal, stripped and PIE run under names of
their own; `tlsdump --list-targets --log-file L --log-level info`:

* exits 0 with nothing on stderr;
* lists each process with its target: its process id, its name, library
  "go", version go1.19.x (the toolchain's), status "hooked", its file, and
  the method "crypto/tls Read/Write and writeKeyLog: N probes (register ABI,
  offsets from DWARF | table for go1.19)" (stripped binaries have no DWARF);
  the log calls each a "Go program";
* the servers still serve afterwards.

`--list-targets -c NAME` / `-p PID` (both in the usage line, `tlsdump
--list-targets [-p PID] [-c NAME]`) list only the targets of the selected
processes: with -c of the Go server, not the libssl.so.3 of a Python TLS
server (the Go program does not map libssl); with -p of the Python server,
libssl.so.3 and not the Go program.
"""
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_go_lib as lib  # noqa: E402
from test_go_lib import e2e  # noqa: E402

HEADER_RE = re.compile(r"^PID\s+COMM\s+LIBRARY\s+VERSION\s+STATUS\s+FILE$")
ENTRY_RE = re.compile(r"^(-|\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(hooked|skipped|none)\s+(\S.*)$")


class GoListTargets(lib.GoTest):
    def list_targets(self, *args, name="list"):
        """Runs --list-targets; returns ([{pid, name, library, version, status, file, detail}], log)."""
        log = self.path(name + ".log")
        argv = [e2e.BINARY, "--list-targets", "--log-file", log, "--log-level", "info", *args]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=lib.STOP_TIMEOUT,
                              stdin=subprocess.DEVNULL)
        what = "%s\nstdout:\n%s\nstderr:\n%s\nlog:\n%s" % (" ".join(argv), proc.stdout,
                                                          proc.stderr, e2e.read_text(log)[-3000:])
        self.assertEqual(proc.returncode, 0, what)
        self.assertEqual(proc.stderr, "", what)
        lines = proc.stdout.splitlines()
        self.assertTrue(lines and HEADER_RE.match(lines[0]), what)
        body = lines[1:]
        self.assertEqual(len(body) % 2, 0, "two lines per target\n" + what)
        entries = []
        for first, second in zip(body[0::2], body[1::2]):
            m = ENTRY_RE.match(first)
            self.assertTrue(m, "target line %r\n%s" % (first, what))
            self.assertRegex(second, r"^ {9}(method|reason): \S", "detail line\n" + what)
            entries.append(dict(pid=-1 if m.group(1) == "-" else int(m.group(1)),
                                name=m.group(2), library=m.group(3), version=m.group(4),
                                status=m.group(5), file=m.group(6),
                                detail=second.strip()))
        return entries, e2e.read_text(log), what

    def test_go_servers_listed(self):
        servers = []
        for variant, comm, offsets in (("normal", "gotls-lnormal", "DWARF"),
                                       ("stripped", "gotls-lstrip", "table for " + lib.go_minor()),
                                       ("pie", "gotls-lpie", "DWARF")):
            binary = self.go_binary(variant, comm)
            servers.append((self.go_server(binary, name=comm), comm, binary, offsets))
        entries, log, what = self.list_targets()
        version = lib.go_version()
        self.assertRegex(version, r"^go1\.\d+(\.\d+)?$")  # go1.19.8 on Debian 12
        for server, comm, binary, offsets in servers:
            mine = [e for e in entries if e["file"] == binary]
            self.assertEqual(len(mine), 1, "one entry for %s\n%s" % (binary, what))
            e = mine[0]
            self.assertEqual((e["pid"], e["name"], e["library"], e["version"], e["status"]),
                             (server.pid, comm, "go", version, "hooked"), what)
            self.assertRegex(e["detail"], r"^method: crypto/tls Read/Write and writeKeyLog: "
                             r"\d+ probes \(register ABI, offsets from %s\)$" % re.escape(offsets))
            self.assertRegex(log, r"(?m) info: target \d+: Go program %s \(%s\) in pid %d$"
                             % (re.escape(comm), re.escape(version), server.pid))
        # Listing attached and detached the probes: the servers still work.
        for server, comm, binary, _ in servers:
            self.assertIsNone(server.proc.poll(), "%s exited" % comm)
            c = self.go_client(binary, server.port, ["get:/hello?marker=after-list"],
                               name=comm + "-client")
            self.assertEqual(c.results[0]["body"], "hello from go HTTP/2.0 after-list")

    def test_filters_select_targets(self):
        comm = "gotls-lfilter"
        binary = self.go_binary("normal", comm)
        go = self.go_server(binary)
        py = self.python_server(comm="tlsd-go-pysrv")
        libssl = [l.split()[-1] for l in e2e.read_text("/proc/%d/maps" % py.pid).splitlines()
                  if "/libssl.so" in l]
        self.assertTrue(libssl, "the Python server maps libssl")
        self.assertFalse([l for l in e2e.read_text("/proc/%d/maps" % go.pid).splitlines()
                          if "/libssl.so" in l], "the Go server maps no libssl")

        entries, _, what = self.list_targets("-c", comm, name="list-c")
        self.assertIn(binary, [e["file"] for e in entries], what)
        self.assertEqual([e for e in entries if "/libssl.so" in e["file"]], [],
                         "--list-targets -c %s lists libssl, which no process named %s maps\n%s"
                         % (comm, comm, what))

        entries, _, what = self.list_targets("-p", str(py.pid), name="list-p")
        self.assertTrue([e for e in entries if "/libssl.so" in e["file"]
                         and e["pid"] == py.pid and e["library"] == "openssl"], what)
        self.assertNotIn(binary, [e["file"] for e in entries],
                         "--list-targets -p %d lists the Go program of pid %d\n%s"
                         % (py.pid, go.pid, what))


if __name__ == "__main__":
    lib.main()
