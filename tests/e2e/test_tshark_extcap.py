#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e (g): the whole path through tshark: `tshark -i tlsdump`.

The built binary is installed for tshark in a temporary HOME
($HOME/.config/wireshark/extcap/tlsdump, a wrapper that records its
invocations and execs the build, so a system-installed copy cannot shadow it
unnoticed). tshark captures with -a duration and options given with -o:

* labelhttp:true - curl's request and response are in tshark's -w file and
  tshark's HTTP dissector decodes the URI and status;
* comm:NAME - curl's traffic is captured, a Python client's is not.
curl runs as a renamed copy (process name tlsd-e2e-curl) and both captures
select it with comm, so other TLS traffic on the host stays out.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
if "--lib" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--lib") + 1])
import tlsdump_e2e as e2e  # noqa: E402
import tlsdump_pcapng as pcapng  # noqa: E402

DURATION = 10
COMM = "tlsd-e2e-curl"  # a renamed copy of curl


class TsharkExtcap(e2e.E2ETest):
    def setUp(self):
        super().setUp()
        self.home = self.path("home")
        extcap_dir = os.path.join(self.home, ".config", "wireshark", "extcap")
        os.makedirs(extcap_dir)
        self.invocations = self.path("invocations.log")
        wrapper = os.path.join(extcap_dir, "tlsdump")
        with open(wrapper, "w") as f:
            f.write('#!/bin/sh\necho "$*" >> %s\nexec %s "$@"\n' % (self.invocations, e2e.BINARY))
        os.chmod(wrapper, 0o755)
        self.env = dict(os.environ, HOME=self.home)
        self.env.pop("XDG_CONFIG_HOME", None)

    def test_interface_listed_once(self):
        out = self.tshark("-D", env=self.env)
        lines = [l for l in out.splitlines() if l.split(" ", 2)[1:2] == ["tlsdump"]]
        self.assertEqual(len(lines), 1, "tshark -D:\n" + out)
        self.assertIn("--extcap-interfaces", e2e.read_text(self.invocations),
                      "tshark did not run the extcap from $HOME/.config/wireshark/extcap")

    def tshark_capture(self, name, options, traffic):
        """Runs tshark -i tlsdump -a duration with @options; calls @traffic once capturing."""
        log = self.path(name + "-extcap.log")
        out = self.path(name + ".pcapng")
        argv = ["tshark", "-i", "tlsdump", "-a", "duration:%d" % DURATION, "-w", out,
                "-o", "extcap.tlsdump.logfile:" + log, "-o", "extcap.tlsdump.loglevel:info"]
        for o in options:
            argv += ["-o", "extcap.tlsdump." + o]
        p = self.spawn(argv, name, env=self.env)
        e2e.wait_for(lambda: "capturing" in e2e.read_text(log) or p.poll() is not None,
                     DURATION, "the extcap to log 'capturing'")
        self.assertIsNone(p.poll(), "tshark exited early:\n%s\nextcap log:\n%s"
                          % (e2e.read_text(self.path(name + ".err")), e2e.read_text(log)))
        traffic()
        self.assertIsNone(p.poll(), "the traffic took longer than the %d s capture: machine "
                          "too busy?" % DURATION)
        self.wait_proc(p, name, DURATION + 30)
        err = e2e.read_text(self.path(name + ".err"))
        self.assertNotIn("rror", err, "tshark stderr:\n" + err)
        calls = [l for l in e2e.read_text(self.invocations).splitlines() if "--capture" in l]
        self.assertEqual(len(calls), 1, "the extcap from $HOME must run the capture: %s" % calls)
        for o in options:
            self.assertIn("--" + o.split(":")[0].replace("labelhttp", "label-http"), calls[0])
        try:
            cap = pcapng.read_pcapng(out)
        except pcapng.FormatError as e:
            self.fail("tshark's %s: %s" % (out, e))
        frames = pcapng.tlsdump_frames(cap)
        self.assertEqual(self.tshark_plaintext_count(out), len(frames))
        return out, frames, calls[0]

    def test_label_http(self):
        server = self.openssl_server()
        curls = []
        # A comm of its own keeps other TLS traffic on the host (and its losses,
        # which tshark would report as errors) out of the capture.
        binary = self.renamed_curl(COMM)
        out, frames, call = self.tshark_capture(
            "labelhttp", ["labelhttp:true", "comm:" + COMM],
            lambda: curls.append(self.curl("https://127.0.0.1:%d/via-tshark?q=g" % server.port,
                                           binary=binary)))
        curl = curls[0]
        mine = [f for f in frames if f.comment_fields.get("PID") == str(curl.pid)]
        self.assertTrue(mine, "no frame of curl in tshark's file:\n" + pcapng.summary(
            pcapng.read_pcapng(out)))
        for f in mine:
            self.assertEqual(f.dissector, "http", "labelhttp:true must give http frames")
            self.assertEqual(f.remote, ("127.0.0.1", server.port))
        self.assertEqual(b"".join(f.payload for f in mine if f.p2p_dir == 1),
                         curl.headers + curl.body)
        flt = 'frame.comment contains "PID: %d\\n"' % curl.pid
        self.assertEqual(self.tshark_fields(out, ["http.request.uri"], flt + " && http.request"),
                         [["/via-tshark?q=g"]])
        self.assertEqual(self.tshark_fields(out, ["http.response.code"], flt + " && http.response"),
                         [["200"]])

    def test_comm_filter(self):
        server = self.python_server()
        peers = {}

        binary = self.renamed_curl(COMM)

        def traffic():
            peers["curl"] = self.curl("https://127.0.0.1:%d/only-curl" % server.port, binary=binary)
            peers["py"] = self.python_client(server.port, ["get:/not-python"])
        out, frames, call = self.tshark_capture("comm", ["comm:" + COMM], traffic)
        pids = {f.pid for f in frames}
        self.assertIn(peers["curl"].pid, pids, "curl's frames")
        self.assertNotIn(peers["py"].pid, pids, "comm:curl must leave the Python client out")
        self.assertNotIn(server.pid, pids, "nor the Python server")
        self.assertEqual({f.comm for f in frames}, {COMM})
        self.assert_stream(self.stream_of(frames, peers["curl"].pid, pcapng.DIR_READ),
                           peers["curl"].headers + peers["curl"].body, "curl read")
        self.assertFalse(any(b"/not-python" in f.payload for f in frames))


if __name__ == "__main__":
    e2e.main()
