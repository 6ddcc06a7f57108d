#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""e2e (f): IPv6 loopback ([::1]).

A Python server on ::1, a Python client and curl connecting to [::1]: every
frame carries the IPv6 address tags (22/23, no IPv4 tags) with ::1 and the
right ports, on both sides; the bytes are exact; tshark shows the same
IPv6 addresses.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
if "--lib" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--lib") + 1])
import tlsdump_e2e as e2e  # noqa: E402
import tlsdump_pcapng as pcapng  # noqa: E402


class Ipv6(e2e.E2ETest):
    def test_ipv6_loopback(self):
        server = self.python_server("::1")
        cap = self.start_tlsdump()
        client = self.python_client(server.port, ["get:/v6", "get:/bytes/3000"], host="::1")
        srv = self.server_conn(server, client.info["local"][1])
        curl = self.curl("https://[::1]:%d/v6-curl" % server.port)
        cap.stop()
        frames = cap.frames()

        self.assertEqual(client.info["local"][0], "::1")
        server_addr = ("::1", server.port)
        client_addr = tuple(client.info["local"])
        cframes = self.only(frames, client.pid)
        sframes = [f for f in self.only(frames, server.pid) if f.remote == client_addr]
        self.assert_tuple(cframes, client_addr, server_addr, "python client")
        self.assert_tuple(sframes, server_addr, client_addr, "python server")
        self.assert_stream(self.stream_of(cframes, client.pid, pcapng.DIR_WRITE),
                           client.info["sent"], "client write")
        self.assert_stream(self.stream_of(cframes, client.pid, pcapng.DIR_READ),
                           client.info["recv"], "client read")
        self.assert_stream(self.stream_of(sframes, server.pid, pcapng.DIR_READ), srv["recv"],
                           "server read")
        self.assert_stream(self.stream_of(sframes, server.pid, pcapng.DIR_WRITE), srv["sent"],
                           "server write")

        curl_frames = self.only(frames, curl.pid)
        self.assertTrue(curl_frames, "no frame of curl")
        curl_addr = curl_frames[0].local
        self.assertEqual(curl_addr[0], "::1")
        self.assert_tuple(curl_frames, curl_addr, server_addr, "curl")
        self.assert_stream(self.stream_of(curl_frames, curl.pid, pcapng.DIR_READ),
                           curl.headers + curl.body, "curl read")
        for f in cframes + sframes + curl_frames:
            tags = {t for t, _ in f.tags}
            self.assertTrue({pcapng.EXP_PDU_TAG_IPV6_SRC, pcapng.EXP_PDU_TAG_IPV6_DST} <= tags, f)
            self.assertFalse({pcapng.EXP_PDU_TAG_IPV4_SRC, pcapng.EXP_PDU_TAG_IPV4_DST} & tags, f)
            self.assertEqual(f.src_ip.version, 6)

        self.assert_tshark_agrees(cap.out, frames)
        rows = self.tshark_fields(cap.out, ["exported_pdu.ipv6_src", "exported_pdu.ipv6_dst",
                                            "exported_pdu.src_port"],
                                  "exported_pdu.dst_port == %d" % server.port)
        ports = {int(r[2]) for r in rows}
        self.assertEqual({(r[0], r[1]) for r in rows}, {("::1", "::1")})
        self.assertEqual(ports, {client_addr[1], curl_addr[1]})

    def test_ipv4_mapped_on_dual_stack_server(self):
        server = self.python_server("::")
        cap = self.start_tlsdump()
        client = self.python_client(server.port, ["get:/mapped"], host="127.0.0.1")
        srv = self.server_conn(server, client.info["local"][1])
        cap.stop()
        frames = cap.frames()
        self.assertEqual(srv["remote"][0], "::ffff:127.0.0.1", "the server socket is dual-stack")
        client_addr = tuple(client.info["local"])
        server_addr = ("127.0.0.1", server.port)
        sframes = self.only(frames, server.pid)
        self.assertTrue(sframes, "no frame of the server")
        self.assert_tuple(sframes, server_addr, client_addr, "dual-stack server")
        self.assert_tuple(self.only(frames, client.pid), client_addr, server_addr, "client")
        for f in sframes:
            tags = {t for t, _ in f.tags}
            self.assertTrue({pcapng.EXP_PDU_TAG_IPV4_SRC, pcapng.EXP_PDU_TAG_IPV4_DST} <= tags, f)
            self.assertFalse({pcapng.EXP_PDU_TAG_IPV6_SRC, pcapng.EXP_PDU_TAG_IPV6_DST} & tags, f)
        self.assert_stream(self.stream_of(frames, server.pid, pcapng.DIR_READ), srv["recv"],
                           "server read")
        self.assert_tshark_agrees(cap.out, frames)


if __name__ == "__main__":
    e2e.main()
