#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e Go (6, robustness): running Go programs whose executable file is damaged.

A truncated copy of a Go binary does not run (the unit tests in tests/unit/go
feed those to the parsers), but many damages leave a file the kernel and the
Go runtime run happily while the parts tlsdump reads are wrong: section
headers, DWARF, .symtab, the build info, the section header of .gopclntab.
Each damaged copy of the fixture (normal build) is in a directory of its own
under one name (comm), runs as server, and its own client talks to it over
HTTP/1.1, all under one `tlsdump -c NAME` capture; a half-truncated copy
(crashes at start) is exec'd a few times during the capture too.

For every damage:

* tlsdump keeps running and exits 0; the file's status in the log is
  "hooked crypto/tls ..." or "skipped: ...", or the file is refused with a
  warning naming the process ("skipping its executable");
* the traced programs survive: the server still runs, the client gets its
  responses (a probe in the wrong place, e.g. mid-instruction, kills them);
* when the file is hooked, the connection is captured whole: client and
  server streams complete from offset 0, equal across the processes, the
  request line and response body the programs exchanged, library Go.

Damages: no section headers; section headers past the end of the file; the
file cut after its loadable segments (DWARF, .symtab, section headers lost:
a copy interrupted while being written); DWARF sections overwritten with
random bytes; the build info magic erased (version unknown); .symtab
overwritten with random bytes; section names (.shstrtab) random; the
section header of .gopclntab pointing past the end of the file; the .symtab
entry of crypto/tls.(*Conn).Read one byte off (mid-instruction); the .symtab
size of crypto/tls.(*Conn).Read 8 KiB too large (covers the next functions).
"""
import os
import random
import re
import shutil
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_go_lib as lib  # noqa: E402
from test_go_lib import e2e, pcapng  # noqa: E402

COMM = "gotls-hostile"


class Elf:
    """Just enough ELF64 little-endian for the damages."""

    def __init__(self, data):
        self.d = bytearray(data)
        assert self.d[:4] == b"\x7fELF" and self.d[4] == 2 and self.d[5] == 1
        self.shoff = struct.unpack_from("<Q", self.d, 0x28)[0]
        self.shentsize, self.shnum, self.shstrndx = struct.unpack_from("<HHH", self.d, 0x3A)
        self.phoff = struct.unpack_from("<Q", self.d, 0x20)[0]
        self.phentsize, self.phnum = struct.unpack_from("<HH", self.d, 0x36)
        self.sections = {}
        hdrs = [self._shdr(i) for i in range(self.shnum)]
        strtab = hdrs[self.shstrndx]
        for h in hdrs:
            self.sections[self.cstr(strtab["offset"] + h["name"])] = h

    def _shdr(self, i):
        pos = self.shoff + i * self.shentsize
        name, typ, flags, addr, off, size, link, info = struct.unpack_from("<IIQQQQII", self.d, pos)
        return dict(index=i, pos=pos, name=name, type=typ, offset=off, size=size, link=link)

    def cstr(self, off):
        return bytes(self.d[off:self.d.index(b"\0", off)]).decode("latin-1")

    def load_end(self):
        """File offset after the last PT_LOAD segment's bytes."""
        end = 0
        for i in range(self.phnum):
            typ, _, off, _, _, filesz = struct.unpack_from("<IIQQQQ", self.d,
                                                           self.phoff + i * self.phentsize)
            if typ == 1:
                end = max(end, off + filesz)
        return end

    def symbol(self, name):
        """File offset of the .symtab entry of @name."""
        symtab = self.sections[".symtab"]
        strtab = [h for h in self.sections.values() if h["index"] == symtab["link"]][0]
        for pos in range(symtab["offset"], symtab["offset"] + symtab["size"], 24):
            if self.cstr(strtab["offset"] + struct.unpack_from("<I", self.d, pos)[0]) == name:
                return pos
        raise KeyError(name)


def damage(data, kind, rng):
    """The bytes of the normal build @data with damage @kind."""
    e = Elf(data)
    d = e.d

    def scramble(off, size):
        d[off:off + size] = bytes(rng.getrandbits(8) for _ in range(size))

    if kind == "no-section-headers":
        struct.pack_into("<Q", d, 0x28, 0)
        struct.pack_into("<HHH", d, 0x3A, 0, 0, 0)
    elif kind == "section-headers-past-eof":
        struct.pack_into("<Q", d, 0x28, len(d) + 4096)
    elif kind == "cut-after-segments":
        end = e.load_end()
        assert end < len(d) * 0.8, "nothing after the segments to cut"
        del d[end + (len(d) - end) // 3:]
    elif kind == "dwarf-random":
        for name, h in e.sections.items():
            if name.startswith(".debug_") or name.startswith(".zdebug_"):
                scramble(h["offset"], h["size"])
    elif kind == "buildinfo-magic-erased":
        i = d.find(b"\xff Go buildinf:")
        assert i >= 0
        d[i:i + 14] = bytes(14)
    elif kind == "symtab-random":
        h = e.sections[".symtab"]
        scramble(h["offset"] + 24, h["size"] - 24)  # keeps the null symbol
    elif kind == "shstrtab-random":
        h = e.sections[".shstrtab"]
        d[h["offset"]:h["offset"] + h["size"]] = bytes(rng.randrange(1, 256)
                                                        for _ in range(h["size"]))
    elif kind == "pclntab-header-past-eof":
        h = e.sections[".gopclntab"]
        struct.pack_into("<QQ", d, h["pos"] + 24, len(d) * 4, 1 << 40)
    elif kind == "symtab-read-off-by-one":
        pos = e.symbol("crypto/tls.(*Conn).Read")
        value = struct.unpack_from("<Q", d, pos + 8)[0]
        struct.pack_into("<Q", d, pos + 8, value + 1)
    elif kind == "symtab-read-size-8k-larger":
        pos = e.symbol("crypto/tls.(*Conn).Read")
        size = struct.unpack_from("<Q", d, pos + 16)[0]
        struct.pack_into("<Q", d, pos + 16, size + 8192)
    else:
        raise ValueError(kind)
    return bytes(d)


KINDS = ["no-section-headers", "section-headers-past-eof", "cut-after-segments", "dwarf-random",
         "buildinfo-magic-erased", "symtab-random", "shstrtab-random", "pclntab-header-past-eof",
         "symtab-read-off-by-one", "symtab-read-size-8k-larger"]


class GoHostile(lib.GoTest):
    def test_damaged_executables(self):
        normal = self.go_binary("normal", "gotls-normal")
        data = e2e.read_bytes(normal)
        rng = random.Random(20240519)
        copies = {}
        for kind in KINDS:
            os.makedirs(self.path(kind))
            path = os.path.realpath(self.path(kind, COMM))
            with open(path, "wb") as f:
                f.write(damage(data, kind, rng))
            os.chmod(path, 0o755)
            copies[kind] = path
        # Half a binary: the kernel maps it, it dies at once (SIGSEGV/SIGBUS).
        os.makedirs(self.path("half"))
        half = os.path.realpath(self.path("half", COMM))
        with open(half, "wb") as f:
            f.write(data[:len(data) // 2])
        os.chmod(half, 0o755)

        servers = {kind: self.go_server(path, name="server-" + kind)
                   for kind, path in copies.items()}
        cap = self.start_tlsdump("-c", COMM, "--packets", "off")

        def settled():
            log = e2e.read_text(cap.log)
            if cap.proc.poll() is not None:
                raise AssertionError("tlsdump exited\n" + cap.diagnostics())
            return all(self.go_status(cap, copies[k]) is not None
                       or "pid %d: skipping its executable" % servers[k].pid in log
                       for k in KINDS)
        e2e.wait_for(settled, 30, "a status for every damaged copy\n" + cap.diagnostics())
        for i in range(3):
            p = self.spawn([half, "client"], "half-%d" % i)
            self.wait_proc(p, "half-%d" % i, 20, expect_rc=None)
            self.assertNotEqual(p.returncode, 0, "half a Go binary ran")

        clients = {}
        client_errors = {}
        for kind, path in copies.items():
            try:
                clients[kind] = self.go_client(path, servers[kind].port,
                                               ["get:/hello?marker=" + kind,
                                                "post:/echo:body-" + kind],
                                               h1=True, name="client-" + kind, timeout=30)
            except AssertionError as ex:
                client_errors[kind] = str(ex)
        self.assertIsNone(cap.proc.poll(), "tlsdump died\n" + cap.diagnostics())
        self.stop_capture(cap)
        frames = cap.frames()
        log = e2e.read_text(cap.log)

        report = {}
        for kind in KINDS:
            with self.subTest(damage=kind):
                status = self.go_status(cap, copies[kind])
                server = servers[kind]
                report[kind] = status or "refused"
                if status is None:
                    self.assertRegex(log, r"warning: pid %d: skipping its executable: .+"
                                     % server.pid)
                else:
                    self.assertRegex(status, r"^(hooked crypto/tls|skipped: )")
                self.assertIsNone(server.proc.poll(),
                                  "the traced server died (exit %s) with tlsdump's probes in %s "
                                  "(status: %s); its stderr:\n%s"
                                  % (server.proc.returncode, copies[kind], status,
                                     e2e.read_text(self.path(server.name + ".err"))[-1500:]))
                self.assertNotIn(kind, client_errors, "the client failed: %s"
                                 % client_errors.get(kind, "")[-1500:])
                client = clients[kind]
                self.assertEqual([r["body"] for r in client.results][0],
                                 "hello from go HTTP/1.1 " + kind)
                cf = self.only(frames, client.pid)
                sf = self.only(frames, server.pid)
                if status is None or not status.startswith("hooked"):
                    self.assertEqual(cf + sf, [], "frames of a file tlsdump did not hook")
                    continue
                local = client.results[0]["local_addr"]
                srv_addr = ("127.0.0.1", server.port)
                self.assertTrue(cf and sf, "hooked (%s) but %d client and %d server frames"
                                % (status, len(cf), len(sf)))
                for f in cf + sf:
                    self.assertEqual(f.library, pcapng.LIB_GO)
                self.assert_tuple(cf, local, srv_addr, kind + " client")
                self.assert_tuple(sf, srv_addr, local, kind + " server")
                cw = self.stream_of(cf, client.pid, pcapng.DIR_WRITE)
                cr = self.stream_of(cf, client.pid, pcapng.DIR_READ)
                sw = self.stream_of(sf, server.pid, pcapng.DIR_WRITE)
                sr = self.stream_of(sf, server.pid, pcapng.DIR_READ)
                self.assert_stream(cw, cw.data, "client write")
                self.assert_stream(cr, cr.data, "client read")
                self.assert_stream(sr, cw.data, "server read == client write")
                self.assert_stream(sw, cr.data, "server write == client read")
                reqs = lib.h1_messages(cw.data)
                self.assertEqual([r[0] for r in reqs], ["GET /hello?marker=%s HTTP/1.1" % kind,
                                                        "POST /echo HTTP/1.1"])
                self.assertEqual([r[2].decode() for r in lib.h1_messages(cr.data)],
                                 [r["body"] for r in client.results])
                if kind == "buildinfo-magic-erased":
                    self.assertTrue(cf[0].libname.startswith("go "), cf[0].libname)
                else:
                    self.assertEqual(cf[0].libname, "go " + lib.go_version())
        print("\n  statuses: %s" % report, file=sys.stderr)


if __name__ == "__main__":
    lib.main()
