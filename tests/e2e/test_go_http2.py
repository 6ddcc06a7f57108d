#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e Go (2, 3): HTTP/2 over Go's crypto/tls, and a 4 MiB response rebuilt.

A Go net/http server and client (tests/e2e/go_fixture; HTTP/2 is Go's
default over TLS, negotiated by ALPN), both captured with -c:

* the HTTP/2 connection preface "PRI * HTTP/2.0\\r\\n\\r\\nSM\\r\\n\\r\\n" is at
  offset 0 of the client's write stream (first frame, CALL_START) and of the
  server's read stream;
* a 4 MiB response body (deterministic: sha256(seed ":" i) blocks) is rebuilt
  byte-exact from the client's read frames: the stream by stream offset,
  complete and without gap, equal to the server's write stream, parsed as
  HTTP/2 frames, the DATA payloads of the response's stream concatenated and
  compared with the expected body (and with the sha256 Go's client computed);
* the same over HTTP/1.1 (one TLS read/write stream, Content-Length body).
"""
import hashlib
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_go_lib as lib  # noqa: E402
from test_go_lib import e2e, pcapng  # noqa: E402

SIZE = 4 * e2e.MiB


class GoHttp2(lib.GoTest):
    def capture_big(self, comm, h1):
        binary = self.go_binary("normal", comm)
        server = self.go_server(binary)
        cap = self.start_tlsdump("-c", comm, "--packets", "off")
        self.wait_hooked(cap, binary)
        seed = "seed-%d-%s" % (os.getpid(), comm)
        client = self.go_client(binary, server.port, ["get:/big?size=%d&seed=%s" % (SIZE, seed)],
                                h1=h1, name="client", timeout=60)
        self.stop_capture(cap)
        self.assertEqual(cap.summary()[2:], (0, 0), "nothing lost\n" + cap.diagnostics())
        frames = cap.frames()
        expected = lib.big_body(seed, SIZE)
        res = client.results[0]
        self.assertEqual((res["len"], res["sha256"]),
                         (SIZE, hashlib.sha256(expected).hexdigest()),
                         "the client received the expected body (oracle)")
        self.assertEqual(res["proto"], "HTTP/1.1" if h1 else "HTTP/2.0")
        local, srv_addr = res["local_addr"], ("127.0.0.1", server.port)
        cf = self.only(frames, client.pid)
        sf = [f for f in self.only(frames, server.pid) if f.remote == local]
        self.assert_go_frames(cf, comm, pcapng.ROLE_CLIENT, local, srv_addr, "client")
        self.assert_go_frames(sf, comm, pcapng.ROLE_SERVER, srv_addr, local, "server")
        streams = {
            "client write": self.stream_of(cf, client.pid, pcapng.DIR_WRITE),
            "client read": self.stream_of(cf, client.pid, pcapng.DIR_READ),
            "server write": self.stream_of(sf, server.pid, pcapng.DIR_WRITE),
            "server read": self.stream_of(sf, server.pid, pcapng.DIR_READ),
        }
        for what, s in streams.items():
            self.assert_stream(s, s.data, what)  # from offset 0, no gap, no overlap
        self.assert_stream(streams["client read"], streams["server write"].data,
                           "client read == server write")
        self.assert_stream(streams["server read"], streams["client write"].data,
                           "server read == client write")
        self.assertGreater(len(streams["client read"].data), SIZE)
        return streams, expected

    def test_preface_and_4mib_response(self):
        streams, expected = self.capture_big("gotls-h2big", h1=False)
        cw, sr, cr = streams["client write"], streams["server read"], streams["client read"]

        # (2) The preface at offset 0 of the client's writes, and of the server's reads.
        first = cw.frames[0]
        self.assertEqual(first.stream_offset, 0, repr(first))
        self.assertTrue(first.flags & pcapng.FLAG_CALL_START, repr(first))
        self.assertTrue(first.payload.startswith(lib.H2_PREFACE),
                        "first client write frame: %r" % first.payload[:40])
        self.assertEqual(sr.frames[0].stream_offset, 0)
        self.assertTrue(sr.data.startswith(lib.H2_PREFACE))
        self.assertNotIn(lib.H2_PREFACE, cr.data, "the preface is only in the client's writes")

        # (3) The response body from the client's read frames, HTTP/2 framing removed.
        frames, rest = lib.h2_frames(cr.data, client_side=False)
        self.assertEqual(rest, b"", "the client's read stream ends on a frame boundary")
        bodies = lib.h2_bodies(frames)
        self.assertEqual(len(bodies), 1, "one stream with DATA: %s"
                         % {k: len(v) for k, v in bodies.items()})
        (sid, body), = bodies.items()
        self.assertEqual(sid % 2, 1, "a client-initiated stream")
        data_frames = [f for f in frames if f.type == lib.H2_DATA and f.sid == sid]
        self.assertGreaterEqual(len(data_frames), SIZE // 16384, "DATA frames of at most 16 KiB")
        self.assertTrue(data_frames[-1].flags & lib.H2_END_STREAM)
        self.assertEqual(len(body), SIZE, "rebuilt body length")
        if body != expected:
            n = next(i for i, (a, b) in enumerate(zip(body, expected)) if a != b)
            self.fail("rebuilt body differs at offset %d" % n)
        # The request went out on that stream (HEADERS, END_STREAM: a GET).
        out, _ = lib.h2_frames(cw.data, client_side=True)
        self.assertIn(sid, [f.sid for f in out if f.type == lib.H2_HEADERS])

    def test_4mib_response_http1(self):
        streams, expected = self.capture_big("gotls-h1big", h1=True)
        (req,) = lib.h1_messages(streams["client write"].data)
        self.assertTrue(req[0].startswith("GET /big?size=%d&seed=" % SIZE), req[0])
        (resp,) = lib.h1_messages(streams["client read"].data)
        self.assertEqual(resp[0], "HTTP/1.1 200 OK")
        self.assertEqual(resp[1]["content-length"], str(SIZE))
        self.assertEqual(len(resp[2]), SIZE)
        self.assertTrue(resp[2] == expected, "rebuilt HTTP/1.1 body differs")


if __name__ == "__main__":
    lib.main()
