#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e: the dissector links the plaintext with its connection's original packets.

Read with the freshly built plugin (tshark as nobody, see test_dissector_lib.py):

* links: curl (a renamed copy, selected with -c) to `openssl s_server`, two
  connections, default --packets tls. For each connection, `tcp.stream == N`
  selects exactly its plaintext frames (hidden tcp.stream) and its encrypted
  packets, in one pass and in two; tlsdump.tcp_stream names N,
  tlsdump.encrypted_in the connection's ClientHello, and the packets carry
  tlsdump.plaintext_frames / tlsdump.plaintext_in back to the plaintext.
* no_plaintext: the same curl and, to the same server, wget (GnuTLS, a library
  tlsdump does not hook) and a Python client (OpenSSL, left out by -c), with
  --packets all: `tshark -2 -Y "tlsdump.no_plaintext && tls.handshake.type == 1"`
  selects the handshakes of wget's and Python's connections, not curl's.
"""
import os
import shutil
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_dissector_lib as lib  # noqa: E402
from test_dissector_lib import e2e  # noqa: E402

COMM = "tlsd-dis-curl"
LINK_FIELDS = ["frame.number", "tlsdump.pid", "tcp.stream", "tcp.srcport", "tcp.dstport",
               "tlsdump.tcp_stream", "tlsdump.encrypted_in", "tlsdump.plaintext_frames",
               "tlsdump.plaintext_in", "tlsdump.no_plaintext", "tls.handshake.type"]


class DissectorPackets(lib.DissectorTest):
    def packets_of(self, rows, port):
        """Encrypted packets (no tlsdump header) of the connection from local @port."""
        return [r for r in rows if r.first("tlsdump.pid") is None
                and port in (r.num("tcp.srcport"), r.num("tcp.dstport"))]

    def test_links(self):
        server = self.openssl_server()
        binary = self.renamed_curl(COMM)
        cap = self.capture("-c", COMM)
        url = "https://127.0.0.1:%d/" % server.port
        # Three requests, three connections (s_server -www closes after each).
        first = self.curl(url + "one", "-o", self.path("two.body"), url + "two", binary=binary,
                          name="curl1")
        second = self.curl(url + "three", binary=binary, name="curl2")
        self.stop_capture(cap)
        frames = cap.frames()
        mine = {}
        for f in frames:
            if f.pid in (first.pid, second.pid):
                mine.setdefault(f.local[1], []).append(f.packet.index + 1)
        # s_server -www answers HTTP/1.0 and closes: one connection per URL.
        self.assertEqual(len(mine), 3, "curl's connections (by local port): %s" % mine)

        two = self.plugin_fields(cap.out, LINK_FIELDS)
        one = self.plugin_fields(cap.out, LINK_FIELDS, two_pass=False)
        for port, plain in sorted(mine.items()):
            what = "connection from port %d" % port
            packets = self.packets_of(two, port)
            self.assertTrue(packets, "%s: no encrypted packet in the file" % what)
            streams = {r.num("tcp.stream") for r in packets}
            self.assertEqual(len(streams), 1, "%s: tcp.stream of its packets" % what)
            stream = streams.pop()
            hello = [r.num("frame.number") for r in packets if 1 in r.nums("tls.handshake.type")]
            self.assertEqual(len(hello), 1, "%s: ClientHello packets" % what)
            for passes, rows in (("two passes", two), ("one pass", one)):
                rows_by_num = {r.num("frame.number"): r for r in rows}
                for n in plain:
                    r = rows_by_num[n]
                    self.assertEqual(r.num("tlsdump.tcp_stream"), stream, "%s frame %d (%s)"
                                     % (what, n, passes))
                    self.assertEqual(r.nums("tcp.stream"), [stream], "%s frame %d (%s): hidden "
                                     "tcp.stream" % (what, n, passes))
                    self.assertEqual(r.num("tlsdump.encrypted_in"), hello[0],
                                     "%s frame %d (%s): link to the ClientHello"
                                     % (what, n, passes))
                # The display filter users type, in both modes.
                selected = {r.num("frame.number") for r in self.plugin_fields(
                    cap.out, ["frame.number"], "tcp.stream == %d" % stream,
                    two_pass=passes == "two passes")}
                self.assertEqual(selected, set(plain) | {r.num("frame.number") for r in packets},
                                 "%s: tcp.stream == %d (%s)" % (what, stream, passes))
            for r in packets:
                n = r.num("frame.number")
                self.assertEqual(r.num("tlsdump.plaintext_frames"), len(plain),
                                 "%s packet %d" % (what, n))
                self.assertEqual(r.num("tlsdump.plaintext_in"), min(plain),
                                 "%s packet %d" % (what, n))
                self.assertIsNone(r.first("tlsdump.no_plaintext"), "%s packet %d" % (what, n))

    def test_no_plaintext(self):
        server = self.python_server()
        binary = self.renamed_curl(COMM)
        wget = shutil.which("wget")
        cap = self.capture("-c", COMM, "--packets", "all", "--packet-interfaces", "lo")
        url = "https://127.0.0.1:%d/" % server.port
        curl = self.curl(url + "captured", binary=binary)
        py = self.python_client(server.port, ["get:/python-not-captured"])
        if wget:
            w = self.spawn([wget, "-q", "--no-check-certificate", "-O", self.path("wget.body"),
                            url + "wget-gnutls"], "wget")
            self.wait_proc(w, "wget", 30)
        self.stop_capture(cap)
        frames = cap.frames()
        self.assertEqual({f.pid for f in frames}, {curl.pid}, "-c %s: only curl's plaintext"
                         % COMM)
        curl_port = frames[0].local[1]
        py_port = py.info["local"][1]
        # Every connection the server saw, by client port (once it closed).
        e2e.wait_for(lambda: len({n for n in os.listdir(server.log_dir) if n.endswith(".json")})
                     >= (3 if wget else 2), 30, "the server to log its connections")
        ports = {int(n[len("server-"):-len(".json")]) for n in os.listdir(server.log_dir)
                 if n.startswith("server-") and n.endswith(".json")}
        self.assertIn(curl_port, ports)
        self.assertIn(py_port, ports)
        self.assertEqual(len(ports), 3 if wget else 2, "server connections: %s" % ports)

        hellos = "tls.handshake.type == 1 && tcp.dstport == %d" % server.port
        rows = self.plugin_fields(cap.out, LINK_FIELDS, hellos)
        self.assertEqual({r.num("tcp.srcport") for r in rows}, ports,
                         "a ClientHello of every connection to the server")
        missing = {r.num("tcp.srcport") for r in self.plugin_fields(
            cap.out, ["tcp.srcport"], "tlsdump.no_plaintext && " + hellos)}
        self.assertEqual(missing, ports - {curl_port},
                         "tlsdump.no_plaintext: the connections without plaintext (curl %d, "
                         "python %d)" % (curl_port, py_port))
        for r in rows:
            if r.num("tcp.srcport") == curl_port:
                self.assertEqual(r.num("tlsdump.plaintext_frames"), len(frames))
                self.assertEqual(r.num("tlsdump.plaintext_in"), frames[0].packet.index + 1)
            else:
                self.assertEqual(r.num("tlsdump.plaintext_frames"), 0)
        # All packets of those connections, not only their handshakes.
        for port in ports - {curl_port}:
            conn = "tcp.port == %d && tcp.port == %d" % (port, server.port)
            n_all = len(self.plugin_fields(cap.out, ["frame.number"], conn))
            n_marked = len(self.plugin_fields(cap.out, ["frame.number"],
                                              conn + " && tlsdump.no_plaintext"))
            self.assertEqual(n_marked, n_all, "connection from %d: marked packets" % port)
        conn = "tcp.port == %d && tcp.port == %d" % (curl_port, server.port)
        self.assertEqual(self.plugin_fields(cap.out, ["frame.number"],
                                            conn + " && tlsdump.no_plaintext"), [])
        # One pass: nothing is final yet, so nothing is marked (no false
        # "no plaintext" on curl's handshake: docs/dissector.md).
        one = {r.num("tcp.srcport") for r in self.plugin_fields(
            cap.out, ["tcp.srcport"], "tlsdump.no_plaintext && " + hellos, two_pass=False)}
        self.assertEqual(one, set(), "one pass marks no connection")


if __name__ == "__main__":
    lib.main()
