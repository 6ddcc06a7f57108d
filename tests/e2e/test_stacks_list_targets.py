#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e stacks (6): `tlsdump --list-targets` names the TLS stack of each process.

Running: openssl s_server (system libssl.so.3), bssl-tool server (BoringSSL,
android libssl.so.0), gnutls-serv (libgnutls.so.30), selfserv (NSS,
libnspr4.so), a node https server (OpenSSL inside /usr/bin/node) and a
python3 with ssl imported (libssl.so.3). The listing

    PID      COMM             LIBRARY    VERSION    STATUS   FILE
    4242     bssl-tool        boringssl  -          hooked   /usr/lib/x86_64-linux-gnu/android/libssl.so.0
             method: SSL_read,SSL_write
    -        -                openssl    3.0.19     hooked   /usr/lib/x86_64-linux-gnu/libssl.so.3
             method: ssl_read_internal@0x..,ssl_write_internal@0x..

(one row per process and TLS target, FILE last, then an indented detail
line: "method: ..." when hooked, "reason: ..." when skipped; PID and COMM
"-" for a file on disk no process maps) exits 0 with nothing on stderr, and
has for each of those processes exactly one row of its library: its pid,
its name, the library (openssl, boringssl, gnutls, nss), the file it maps
(the same file as /proc/PID/maps shows), status hooked with a method line,
and the version (OpenSSL's and GnuTLS's release, node's OpenSSL, "-" for
BoringSSL). No row gives one of those processes another library.

`--list-targets -p PID` lists only rows of that process.
"""
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_stacks_lib as lib  # noqa: E402
from test_stacks_lib import e2e  # noqa: E402


def tool_version(argv, pattern):
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout
    m = re.search(pattern, out)
    return m.group(1) if m else None


class ListTargets(lib.StacksTest):
    def start_all(self):
        """Starts the known processes; returns [(Peer, comm, library, file, version)]."""
        known = []
        s_server = self.openssl_server()
        known.append((s_server, "openssl", "openssl", lib.mapped_file(s_server.pid, "libssl.so"),
                      tool_version(["openssl", "version"], r"^OpenSSL (\d+\.\d+\.\d+)")))
        bssl = self.bssl_server(loop=True)
        known.append((bssl, "bssl-tool", "boringssl", lib.mapped_file(bssl.pid, "libssl.so.0"), "-"))
        gnutls = self.gnutls_server(self.write("httpdata", b"list-targets\n"))
        known.append((gnutls, "gnutls-serv", "gnutls", lib.mapped_file(gnutls.pid, "libgnutls.so"),
                      tool_version(["gnutls-cli", "--version"], r"gnutls-cli (\d+\.\d+\.\d+)")))
        selfserv = self.selfserv()
        known.append((selfserv, "selfserv", "nss", lib.mapped_file(selfserv.pid, "libnspr4.so"), None))
        node = self.node_server()
        known.append((node, "node", "openssl", os.path.realpath("/usr/bin/node"),
                      lib.node_openssl_version()))
        py = self.python_server()
        known.append((py, "python3", "openssl", lib.mapped_file(py.pid, "libssl.so"),
                      known[0][4]))
        for peer, comm, library, path, _ in known:
            self.assertTrue(path, "%s (pid %d) maps its TLS library" % (comm, peer.pid))
            self.assertEqual(e2e.read_text("/proc/%d/comm" % peer.pid).strip(), comm)
        return known

    def check_rows(self, rows, what, known):
        for peer, comm, library, path, version in known:
            mine = [r for r in rows if r["pid"] == peer.pid]
            where = "%s (pid %d)\n%s" % (comm, peer.pid, what)
            self.assertTrue(mine, "no row of " + where)
            self.assertEqual({r["library"] for r in mine}, {library}, "libraries of " + where)
            lib_rows = [r for r in mine if os.path.realpath(r["file"]) == os.path.realpath(path)]
            self.assertEqual(len(lib_rows), 1, "rows of %s for %s" % (path, where))
            r = lib_rows[0]
            self.assertEqual(r["comm"], comm, where)
            self.assertEqual(r["status"], "hooked", where)
            self.assertRegex(r["detail"], r"^method: \S", where)
            if version:
                self.assertEqual(r["version"], version, "version in " + where)

    def test_known_processes(self):
        known = self.start_all()
        rows, what = self.list_targets()
        self.check_rows(rows, what, known)
        # The system libssl is there even if no process mapped it (PID "-") or as
        # the file of s_server's row.
        system = os.path.realpath(os.path.join(lib.system_libssl(), "libssl.so.3"))
        self.assertTrue([r for r in rows if os.path.realpath(r["file"]) == system], what)
        # Listing attached and detached the probes: the servers still serve.
        for peer, comm, *_ in known:
            self.assertIsNone(peer.proc.poll(), "%s exited after --list-targets" % comm)
        curl = self.curl("https://127.0.0.1:%d/after-list" % known[3][0].port)  # selfserv
        self.assertTrue(curl.headers.startswith(b"HTTP/1.0 200 OK"), curl.headers[:80])

    def test_pid_filter(self):
        bssl = self.bssl_server(loop=True)
        py = self.python_server()
        self.gnutls_server(self.write("httpdata", b"not listed\n"))
        for peer, comm, library, prefix in ((bssl, "bssl-tool", "boringssl", "libssl.so.0"),
                                            (py, "python3", "openssl", "libssl.so")):
            rows, what = self.list_targets("-p", str(peer.pid), name="list-%s" % comm)
            self.assertEqual([r["line"] for r in rows if r["pid"] != peer.pid], [],
                             "rows of other processes with -p %d\n%s" % (peer.pid, what))
            self.check_rows(rows, what, [(peer, comm, library, lib.mapped_file(peer.pid, prefix),
                                          None)])


if __name__ == "__main__":
    lib.main(["bssl-tool", "gnutls-serv", "gnutls-cli", "selfserv", "certutil", "node"])
