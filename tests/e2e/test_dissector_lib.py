#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers of the dissector e2e tests (test_dissector_*.py); stdlib only.

Not a test itself (ctest skips test_*_lib.py). Builds on tests/lib/tlsdump_e2e.py
and on the sandbox of tests/dissector/run_goldens.py:

* the freshly built plugin (build/dissector/plugins/<major.minor>/epan/tlsdump.so
  next to the tlsdump binary under test, or $TLSDUMP_PLUGIN) is read by tshark
  running as nobody with the plugin in a temporary personal plugin folder and a
  mirror of the global plugin folder without tlsdump.so, so an installed (maybe
  older) plugin cannot shadow the build, and root's tshark, which never loads
  personal plugins, is not needed;
* capture through `tshark -i tlsdump`: the build is installed for tshark as
  $HOME/.config/wireshark/extcap/tlsdump in a temporary HOME (a wrapper that
  records its invocations, so the test can tell its build ran);
* rebuilding each direction's plaintext from tlsdump.offset/tlsdump.payload as
  the dissector shows them, and HTTP/1.1 and HTTP/2 parsers for those streams.

main() exits 77 (skipped) when not root or when the plugin was not built
(configure with -DTLSDUMP_BUILD_DISSECTOR=ON).
"""

import glob
import os
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "lib"))
if "--lib" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--lib") + 1])
sys.path.insert(0, os.path.join(_HERE, "..", "dissector"))
import tlsdump_e2e as e2e  # noqa: E402
import run_goldens  # noqa: E402

H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
H2_DATA, H2_HEADERS = 0, 1
H2_PADDED = 0x8


def find_plugin(binary):
    """(path of the built tlsdump.so, Wireshark major.minor) or (None, None)."""
    env = os.environ.get("TLSDUMP_PLUGIN")
    if env:
        m = re.search(r"/(\d+\.\d+)/epan/[^/]+$", env)
        return env, (m.group(1) if m else os.environ.get("TLSDUMP_WIRESHARK_ABI", "4.0"))
    build = os.path.dirname(os.path.dirname(os.path.abspath(binary)))
    found = sorted(glob.glob(os.path.join(build, "dissector", "plugins", "*", "epan",
                                          "tlsdump.so")))
    if not found:
        return None, None
    return found[-1], found[-1].split(os.sep)[-3]


def global_plugin_dir():
    """Wireshark's global plugin folder (tshark -G folders), or None."""
    out = subprocess.run(["tshark", "-G", "folders"], capture_output=True, text=True,
                         timeout=60).stdout
    m = re.search(r"^Global Plugins:\s*(\S.*)$", out, re.M)
    return m.group(1).strip() if m else None


def main():
    """Like tlsdump_e2e.main(), also skipping (77) when the plugin was not built."""
    if os.geteuid() == 0 and "--binary" in sys.argv:
        binary = sys.argv[sys.argv.index("--binary") + 1]
        if not find_plugin(binary)[0]:
            print("SKIP: no dissector plugin next to %s (configure with "
                  "-DTLSDUMP_BUILD_DISSECTOR=ON, or set TLSDUMP_PLUGIN)" % binary)
            sys.exit(e2e.SKIP)
    e2e.main()


class Row(dict):
    """One frame of -T fields output: field name -> list of values (occurrence=a)."""

    def first(self, name):
        v = self.get(name) or []
        return v[0] if v else None

    def num(self, name):
        v = self.first(name)
        return int(v) if v not in (None, "") else None

    def nums(self, name):
        return [int(x) for x in self.get(name) or []]


class DissectorTest(e2e.E2ETest):
    """E2ETest plus tshark with the built plugin and capture through `tshark -i tlsdump`."""

    sandbox = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        plugin, abi = find_plugin(e2e.BINARY)
        if not plugin:
            raise AssertionError("no built plugin next to %s" % e2e.BINARY)
        cls.sandbox = run_goldens.Sandbox(plugin, abi, global_plugin_dir())
        if not cls.sandbox.check_plugin("tshark"):
            cls.sandbox.close()
            raise AssertionError("tshark does not load %s" % plugin)

    @classmethod
    def tearDownClass(cls):
        if cls.sandbox and not e2e.KEEP:
            cls.sandbox.close()
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self._inputs = {}
        self.addCleanup(self._drop_inputs)

    def _drop_inputs(self):
        if not e2e.KEEP:
            for p in self._inputs.values():
                try:
                    os.unlink(p)
                except OSError:
                    pass

    # --- reading with the plugin ------------------------------------------

    def plugin_tshark(self, path, *args):
        """Runs tshark (as nobody, with the built plugin) on capture @path; returns stdout."""
        if path not in self._inputs:
            self._inputs[path] = self.sandbox.add_input(path)
            dst = os.path.join(os.path.dirname(self._inputs[path]),
                               "%s-%s" % (self._testMethodName, os.path.basename(path)))
            os.rename(self._inputs[path], dst)
            self._inputs[path] = dst
        r = self.sandbox.tshark("tshark", ["-r", self._inputs[path], *args])
        out = r.stdout.decode("utf-8", errors="replace")
        err = r.stderr.decode("utf-8", errors="replace")
        self.assertEqual(r.returncode, 0, "tshark %s failed:\n%s" % (" ".join(args), err))
        self.assertNotIn("Dissector bug", out + err, "tshark %s" % " ".join(args))
        self.assertEqual(err.strip(), "", "tshark %s complained" % " ".join(args))
        return out

    def plugin_fields(self, path, names, dfilter=None, two_pass=True):
        """Rows (Row: name -> [values]) of -T fields output, all occurrences."""
        args = (["-2"] if two_pass else []) + ["-T", "fields", "-E", "occurrence=a",
                                               "-E", "aggregator=|"]
        for n in names:
            args += ["-e", n]
        if dfilter:
            args += ["-Y", dfilter]
        rows = []
        for line in self.plugin_tshark(path, *args).splitlines():
            cols = line.split("\t")
            self.assertEqual(len(cols), len(names), "tshark row %r" % line[:200])
            rows.append(Row((n, c.split("|") if c else []) for n, c in zip(names, cols)))
        return rows

    def plaintext_streams(self, path, dfilter):
        """{(pid, conn, dir): bytes} of the tlsdump frames matching @dfilter, put
        together by tlsdump.offset as the dissector reads them; fails on a gap
        or an overlap."""
        rows = self.plugin_fields(path, ["frame.number", "tlsdump.pid", "tlsdump.conn",
                                         "tlsdump.dir", "tlsdump.offset", "tlsdump.gap",
                                         "tlsdump.payload"], "tlsdump && (%s)" % dfilter,
                                  two_pass=False)
        parts = {}
        for r in rows:
            key = (r.num("tlsdump.pid"), r.num("tlsdump.conn"), r.num("tlsdump.dir"))
            self.assertEqual(r.num("tlsdump.gap"), 0, "bytes lost before frame %s"
                             % r.first("frame.number"))
            parts.setdefault(key, []).append(
                (r.num("tlsdump.offset"), bytes.fromhex(r.first("tlsdump.payload") or "")))
        streams = {}
        for key, ps in parts.items():
            ps.sort(key=lambda p: p[0])
            data = bytearray()
            for off, payload in ps:
                self.assertEqual(off, len(data), "%s: frame at offset %d after %d bytes"
                                 % (key, off, len(data)))
                data += payload
            streams[key] = bytes(data)
        return streams

    # --- capture -----------------------------------------------------------

    # A busy host: attaching (and detaching) uprobes to every TLS library and
    # Go program on it can take far longer than the harness's 30 s.
    START_TIMEOUT = 120
    STOP_TIMEOUT = 120

    def capture(self, *args):
        """`tlsdump -w` with @args, once it logs 'capturing'."""
        t = self.start_tlsdump(*args, wait=False)
        t.wait_capturing(self.START_TIMEOUT)
        return t

    def stop_capture(self, t):
        t.stop(timeout=self.STOP_TIMEOUT)

    # --- capture through tshark -i tlsdump ---------------------------------

    def extcap_env(self):
        """Environment whose HOME has this build as the tlsdump extcap."""
        home = self.path("home")
        if not os.path.isdir(home):
            extcap_dir = os.path.join(home, ".config", "wireshark", "extcap")
            os.makedirs(extcap_dir)
            self.invocations = self.path("extcap-invocations.log")
            wrapper = os.path.join(extcap_dir, "tlsdump")
            # Each line: the pid (the extcap's, after exec) and the arguments.
            with open(wrapper, "w") as f:
                f.write('#!/bin/sh\necho "$$ $*" >> %s\nexec %s "$@"\n'
                        % (self.invocations, e2e.BINARY))
            os.chmod(wrapper, 0o755)
            self.addCleanup(self._stop_extcaps)
        env = dict(os.environ, HOME=home)
        env.pop("XDG_CONFIG_HOME", None)
        return env

    def _stop_extcaps(self):
        """Stops the capture extcaps this test's tshark started, should they
        outlive it (e.g. tshark killed before the extcap opened its fifo)."""
        for line in e2e.read_text(self.invocations).splitlines():
            pid, _, args = line.partition(" ")
            if "--capture" not in args:
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as f:
                    if e2e.BINARY.encode() not in f.read():
                        continue
                os.kill(int(pid), signal.SIGTERM)
            except (OSError, ValueError):
                continue
            try:
                e2e.wait_for(lambda: not os.path.exists("/proc/%s" % pid), self.STOP_TIMEOUT,
                             "extcap %s to exit" % pid)
            except AssertionError:
                os.kill(int(pid), signal.SIGKILL)

    def tshark_capture(self, name, options, traffic, limit=150, startup=120):
        """`tshark -i tlsdump -w NAME.pcapng` with extcap @options (NAME:VALUE, as
        -o extcap.tlsdump.NAME:VALUE); calls @traffic() once the extcap captures
        (which may take long on a busy host: it hooks every TLS library and Go
        program first). Once the file has stopped growing for 2 s (the extcap
        holds blocks about 300 ms to merge them in time order), tshark gets
        SIGINT; `-a duration:@limit` is only a safety net. Returns (path,
        extcap log text)."""
        env = self.extcap_env()
        log = self.path(name + "-extcap.log")
        out = self.path(name + ".pcapng")
        argv = ["tshark", "-i", "tlsdump", "-a", "duration:%d" % limit, "-w", out,
                "-o", "extcap.tlsdump.logfile:" + log, "-o", "extcap.tlsdump.loglevel:info"]
        for o in options:
            argv += ["-o", "extcap.tlsdump." + o]
        p = self.spawn(argv, name, env=env)

        def stop_tshark():
            # SIGINT: tshark stops dumpcap, which stops the extcap.
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(self.STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    pass
        self.addCleanup(stop_tshark)
        e2e.wait_for(lambda: "capturing" in e2e.read_text(log) or p.poll() is not None,
                     startup, "the extcap to log 'capturing'")
        self.assertIsNone(p.poll(), "tshark exited early:\n%s\nextcap log:\n%s"
                          % (e2e.read_text(self.path(name + ".err")), e2e.read_text(log)))
        traffic()
        last = [-1, time.monotonic()]

        def settled():
            self.assertIsNone(p.poll(), "tshark stopped (-a duration:%d) before the traffic "
                              "was written: machine too busy?" % limit)
            size = os.path.getsize(out) if os.path.exists(out) else 0
            if size != last[0]:
                last[:] = [size, time.monotonic()]
            return time.monotonic() - last[1] >= 2
        e2e.wait_for(settled, limit, "tshark's file to stop growing", interval=0.2)
        p.send_signal(signal.SIGINT)
        self.wait_proc(p, name, self.STOP_TIMEOUT)
        err = e2e.read_text(self.path(name + ".err"))
        self.assertNotIn("rror", err, "tshark stderr:\n%s\nextcap log:\n%s"
                         % (err, e2e.read_text(log)[-3000:]))
        calls = [l for l in e2e.read_text(self.invocations).splitlines() if "--capture" in l]
        self.assertEqual(len(calls), 1, "the extcap from $HOME must run the capture: %s" % calls)
        os.chmod(out, 0o644)
        return out, e2e.read_text(log)

    # --- pairing -------------------------------------------------------------

    def pairs(self, rows, kind):
        """[(frame, stream id or None, other frame)] of the tlsdump.response_in
        (@kind "request") or tlsdump.request_in (@kind "response") links of @rows,
        which need tlsdump.streamid, tlsdump.response_in and tlsdump.request_in."""
        field = "tlsdump.response_in" if kind == "request" else "tlsdump.request_in"
        out = []
        for r in rows:
            others = r.nums(field)
            sids = r.nums("tlsdump.streamid")
            if not others:
                continue
            if sids:
                self.assertEqual(len(sids), len(others),
                                 "frame %s: %s %s and streams %s"
                                 % (r.first("frame.number"), field, others, sids))
            for i, o in enumerate(others):
                out.append((r.num("frame.number"), sids[i] if sids else None, o))
        return out


# --- HTTP parsers for rebuilt streams ------------------------------------------

def h1_messages(data):
    """Splits an HTTP/1.1 byte stream of messages with Content-Length (or none)
    into [(start line, {header: value}, body)]."""
    msgs = []
    pos = 0
    while pos < len(data):
        end = data.index(b"\r\n\r\n", pos)
        lines = data[pos:end].decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        pos = end + 4
        if "transfer-encoding" in headers:
            raise AssertionError("chunked message: %r" % lines[0])
        n = int(headers.get("content-length", "0"))
        msgs.append((lines[0], headers, data[pos:pos + n]))
        if pos + n > len(data):
            raise AssertionError("%r: body cut at %d of %d bytes" % (lines[0], len(data) - pos, n))
        pos += n
    return msgs


def h2_frames(data, client_side):
    """[(type, flags, stream id, payload)] of an HTTP/2 byte stream (@client_side:
    the client's, which starts with the preface); fails on a cut frame."""
    pos = 0
    if client_side:
        if not data.startswith(H2_PREFACE):
            raise AssertionError("no HTTP/2 preface: %r" % data[:30])
        pos = len(H2_PREFACE)
    frames = []
    while pos < len(data):
        if len(data) - pos < 9:
            raise AssertionError("HTTP/2 frame header cut at offset %d" % pos)
        length = int.from_bytes(data[pos:pos + 3], "big")
        ftype, flags = data[pos + 3], data[pos + 4]
        sid = int.from_bytes(data[pos + 5:pos + 9], "big") & 0x7fffffff
        payload = data[pos + 9:pos + 9 + length]
        if len(payload) != length:
            raise AssertionError("HTTP/2 frame cut at offset %d" % pos)
        frames.append((ftype, flags, sid, payload))
        pos += 9 + length
    return frames


def h2_bodies(data, client_side):
    """{stream id: concatenated DATA payloads (padding removed)}."""
    bodies = {}
    for ftype, flags, sid, payload in h2_frames(data, client_side):
        if ftype != H2_DATA:
            continue
        if flags & H2_PADDED:
            payload = payload[1:len(payload) - payload[0]]
        bodies[sid] = bodies.get(sid, b"") + payload
    return bodies


if __name__ == "__main__":
    print("helper module of the test_dissector_*.py e2e tests, not a test")
