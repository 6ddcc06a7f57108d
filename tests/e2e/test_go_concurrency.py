#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e Go (4): 100 concurrent requests over several connections, each body on
the connection that carried it and nowhere else.

The Go fixture's client sends 100 POSTs to /echo at once, each with its own
body ("req-<i>-<tag>-<random>-<random letters>-end", up to ~3 KB), spread
over three HTTP/2 transports (MaxConnsPerHost 1: one connection each, about
25 streams multiplexed on it) and one HTTP/1.1 transport of at most four
keep-alive connections. Go's client reports the local address each request
went out on (httptrace); the server logs the remote address, protocol, body
and a unique response marker of each request, and answers
"echo:<body>:<marker>".

From the capture (-c, both processes), per connection (conn id; its 5-tuple):
the client's and the server's four streams are complete and agree; parsed as
HTTP/2 frames (DATA per stream id) or HTTP/1.1 messages, the request bodies
on each connection are exactly the ones the server saw from that client port,
and the responses exactly their echoes; every request's id occurs exactly
once per direction in all the captured streams together (raw search), i.e.
never on another connection; at least one HTTP/2 connection had several
requests in flight at once (their HEADERS written before the first response
was read).
"""
import bisect
import collections
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_go_lib as lib  # noqa: E402
from test_go_lib import e2e, pcapng  # noqa: E402

N = 100
H2_TRANSPORTS = 3
H1_CONNS = 4


def frame_at(stream, offset):
    """The tlsdump frame of @stream holding byte @offset."""
    starts = [f.stream_offset for f in stream.frames]
    f = stream.frames[bisect.bisect_right(starts, offset) - 1]
    assert f.stream_offset <= offset < f.stream_offset + len(f.payload)
    return f


class Conn:
    """One side of one TCP connection rebuilt from frames: protocol, requests and
    responses (bodies), and the streams."""

    def __init__(self, test, dirs, client_side, what):
        self.what = what
        test.assertEqual(set(dirs), {pcapng.DIR_READ, pcapng.DIR_WRITE},
                         "%s: both directions captured" % what)
        self.read, self.write = dirs[pcapng.DIR_READ], dirs[pcapng.DIR_WRITE]
        for s, name in ((self.read, "read"), (self.write, "write")):
            test.assert_stream(s, s.data, "%s %s" % (what, name))
        frames = self.read.frames + self.write.frames
        test.assertEqual(len({(f.local, f.remote) for f in frames}), 1,
                         "%s: one 5-tuple: %s" % (what, {(f.local, f.remote) for f in frames}))
        self.local, self.remote = frames[0].local, frames[0].remote
        out_data = self.write.data if client_side else self.read.data   # client -> server
        in_data = self.read.data if client_side else self.write.data    # server -> client
        self.h2 = out_data.startswith(lib.H2_PREFACE)
        self.multiplexed = False
        if self.h2:
            req, rest1 = lib.h2_frames(out_data, client_side=True)
            resp, rest2 = lib.h2_frames(in_data, client_side=False)
            test.assertEqual((rest1, rest2), (b"", b""), "%s: whole HTTP/2 frames" % what)
            self.requests = list(lib.h2_bodies(req).values())
            self.responses = list(lib.h2_bodies(resp).values())
            self.streams = sorted({f.sid for f in req if f.type == lib.H2_HEADERS})
            if client_side:
                # Requests in flight at once: the second request's HEADERS was
                # written before the first response ended (END_STREAM) was read.
                headers = [f for f in req if f.type == lib.H2_HEADERS]
                ends = [f for f in resp if f.sid and f.flags & lib.H2_END_STREAM]
                if len(headers) >= 2 and ends:
                    off = len(lib.H2_PREFACE) + headers[1].offset
                    t_second = frame_at(self.write, off).packet.ts_ns
                    t_end = frame_at(self.read, ends[0].offset).packet.ts_ns
                    self.multiplexed = t_second < t_end
        else:
            reqs = lib.h1_messages(out_data)
            resps = lib.h1_messages(in_data)
            for r in reqs:
                test.assertEqual(r[0], "POST /echo HTTP/1.1", what)
            self.requests = [r[2] for r in reqs]
            self.responses = [r[2] for r in resps]
            self.streams = []
        test.assertEqual(len(self.requests), len(self.responses),
                         "%s: as many responses as requests" % what)


class GoConcurrency(lib.GoTest):
    def test_100_concurrent_requests(self):
        comm = "gotls-conc"
        binary = self.go_binary("normal", comm)
        server = self.go_server(binary)
        cap = self.start_tlsdump("-c", comm, "--packets", "off")
        self.wait_hooked(cap, binary)
        tag = "t%d" % os.getpid()
        client = self.go_client(binary, server.port,
                                ["concurrent:%d:%d:%d:%s" % (N, H2_TRANSPORTS, H1_CONNS, tag)],
                                name="client", timeout=60)
        self.stop_capture(cap)
        self.assertEqual(cap.summary()[2:], (0, 0), "nothing lost\n" + cap.diagnostics())
        frames = cap.frames()

        # The oracle: what the client and the server say about each request.
        results = client.results
        self.assertEqual(len(results), N)
        bodies = [r["sent"].encode() for r in results]
        self.assertEqual(len(set(bodies)), N, "distinct bodies")
        log = {e["body"].encode(): e for e in self.echo_log(server)}
        self.assertEqual(set(log), set(bodies), "the server saw every body once")
        port_of = {}  # body -> client port
        echo_of = {}  # body -> response
        for r in results:
            b = r["sent"].encode()
            e = log[b]
            self.assertEqual(lib.split_addr(e["remote"]), r["local_addr"],
                             "client and server agree on the connection of request %d" % r["index"])
            self.assertEqual(r["body"], "echo:%s:%s" % (r["sent"], e["marker"]))
            port_of[b] = r["local_addr"][1]
            echo_of[b] = r["body"].encode()
        ports = collections.Counter(port_of.values())
        by_proto = collections.Counter(r["proto"] for r in results)
        self.assertEqual(by_proto, {"HTTP/2.0": N - N // 4, "HTTP/1.1": N // 4})
        self.assertGreaterEqual(len(ports), H2_TRANSPORTS + 2,
                                "several connections: %s" % ports)

        srv_addr = ("127.0.0.1", server.port)
        cconns = {}
        for conn_id, dirs in self.conn_streams(frames, client.pid).items():
            c = Conn(self, dirs, True, "client conn %d" % conn_id)
            self.assert_go_frames(c.read.frames + c.write.frames, comm, pcapng.ROLE_CLIENT,
                                  c.local, srv_addr, c.what)
            self.assertNotIn(c.local[1], cconns, "one conn id per client port")
            cconns[c.local[1]] = c
        sconns = {}
        for conn_id, dirs in self.conn_streams(frames, server.pid).items():
            c = Conn(self, dirs, False, "server conn %d" % conn_id)
            self.assert_go_frames(c.read.frames + c.write.frames, comm, pcapng.ROLE_SERVER,
                                  srv_addr, c.remote, c.what)
            self.assertNotIn(c.remote[1], sconns, "one conn id per client port")
            sconns[c.remote[1]] = c
        self.assertEqual(set(cconns), set(ports),
                         "the captured client connections are those that carried requests")
        self.assertEqual(set(sconns), set(ports),
                         "the captured server connections are those that carried requests")

        # Each connection carries exactly its requests and their responses.
        for port in ports:
            want_req = sorted(b for b in bodies if port_of[b] == port)
            want_resp = sorted(echo_of[b] for b in want_req)
            for c in (cconns[port], sconns[port]):
                self.assertEqual(sorted(c.requests), want_req,
                                 "%s (port %d): request bodies" % (c.what, port))
                self.assertEqual(sorted(c.responses), want_resp,
                                 "%s (port %d): response bodies" % (c.what, port))
            cc, sc = cconns[port], sconns[port]
            self.assertEqual(cc.write.data, sc.read.data, "port %d: client write == server read"
                             % port)
            self.assertEqual(sc.write.data, cc.read.data, "port %d: server write == client read"
                             % port)
        h2 = [c for c in cconns.values() if c.h2]
        self.assertEqual(len(h2), H2_TRANSPORTS, "one connection per HTTP/2 transport")
        self.assertTrue(all(len(c.streams) > 1 for c in h2),
                        "several streams on each HTTP/2 connection: %s"
                        % [len(c.streams) for c in h2])
        self.assertTrue(any(c.multiplexed for c in h2),
                        "no HTTP/2 connection had two requests in flight at once")

        # Never on another connection: each request's id ("req-<i>-<tag>-<random>-", at
        # the start of its body and of its echo, so never split by HTTP framing)
        # occurs exactly once in all the captured streams of each direction.
        streams = {
            "client write": [c.write.data for c in cconns.values()],
            "server read": [c.read.data for c in sconns.values()],
            "client read": [c.read.data for c in cconns.values()],
            "server write": [c.write.data for c in sconns.values()],
        }
        for b in bodies:
            ident = b"-".join(b.split(b"-")[:4]) + b"-"
            self.assertRegex(ident, rb"^req-\d+-t\d+-[0-9a-f]{8}-$")
            for what, datas in streams.items():
                n = sum(d.count(ident) for d in datas)
                self.assertEqual(n, 1, "%s: request %r occurs %d times" % (what, ident, n))
            c = cconns[port_of[b]]
            self.assertIn(b, c.write.data, "the whole body on its connection")
            self.assertIn(ident, c.read.data, "its echo on its connection")

if __name__ == "__main__":
    lib.main()
