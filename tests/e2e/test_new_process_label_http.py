#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e (e): a process started after the capture started is captured.

tlsdump runs with --label-http; only then is curl started (a process that
did not exist when the probes were attached, exec'd later, its libssl
mapped after the capture began). Its request and response are captured;
the frames carry dissector name "http" and no tlsdump header, and tshark's
own HTTP dissector decodes them: method, URI, host, user agent, status.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
if "--lib" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--lib") + 1])
import tlsdump_e2e as e2e  # noqa: E402
import tlsdump_pcapng as pcapng  # noqa: E402


class NewProcessLabelHttp(e2e.E2ETest):
    def test_process_started_after_capture(self):
        server = self.openssl_server("127.0.0.1")
        cap = self.start_tlsdump("--label-http")
        # Only now does curl exist.
        curl = self.curl("https://127.0.0.1:%d/e2e-e/index.html?x=1" % server.port,
                         "-A", "tlsdump-e2e-e")
        cap.stop()
        frames = cap.frames()
        mine = [f for f in frames if f.comment_fields.get("PID") == str(curl.pid)]
        self.assertTrue(mine, "no frame of curl (pid %d) started after the capture; capture:\n%s"
                        % (curl.pid, pcapng.summary(cap.capture())))
        for f in mine:
            self.assertEqual(f.dissector, "http")
            self.assertFalse(f.has_header)
            self.assertEqual(f.comment_fields.get("Comm"), "curl")
        sent = b"".join(f.payload for f in mine if f.p2p_dir == 0)
        got = b"".join(f.payload for f in mine if f.p2p_dir == 1)
        self.assertEqual(sent, b"GET /e2e-e/index.html?x=1 HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                         b"User-Agent: tlsdump-e2e-e\r\nAccept: */*\r\n\r\n" % server.port)
        self.assertEqual(got, curl.headers + curl.body)
        local = mine[0].local
        self.assert_tuple(mine, local, ("127.0.0.1", server.port), "curl")

        self.assert_tshark_agrees(cap.out, frames)
        flt = 'frame.comment contains "PID: %d\\n" && ' % curl.pid
        self.assertEqual(self.tshark_fields(cap.out, ["http.request.method", "http.request.uri",
                                                      "http.host", "http.user_agent"],
                                            flt + "http.request"),
                         [["GET", "/e2e-e/index.html?x=1", "127.0.0.1:%d" % server.port,
                           "tlsdump-e2e-e"]])
        self.assertEqual(self.tshark_fields(cap.out, ["http.response.code", "http.content_type"],
                                            flt + "http.response"),
                         [["200", "text/html"]])


if __name__ == "__main__":
    e2e.main()
