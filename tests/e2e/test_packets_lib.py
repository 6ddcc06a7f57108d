#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers of the original-packet e2e tests (test_packets_*.py); stdlib only.

Not a test itself (run as a script it only says so and exits 0). It builds on
tests/lib/tlsdump_e2e.py (harness) and tests/lib/tlsdump_pcapng.py (parser):

* wire_packets(): the EPBs of the packet interfaces (every interface that is
  not the Upper PDU plaintext one) decoded down to IP/TCP: endpoints, seq,
  ack, flags, payload, the raw network-layer bytes;
* isb_u64(): any u64 option of an Interface Statistics Block (isb_osdrop 7,
  isb_usrdeliv 8 are not exposed by the parser);
* PacketsTest: E2ETest plus checks shared by the tests (one copy of each
  packet, time order, a connection complete on the wire, the plaintext frames
  of a connection inside its ClientHello..FIN window), TLS peers that run in
  another network namespace, a plain-TCP peer, a veth pair between the root
  namespace and a test namespace, tshark helpers (decrypted TLS bytes per
  frame).

Every wait is bounded; everything a test creates (processes, namespaces,
veths) is removed by its cleanups.
"""

import collections
import ipaddress
import os
import pwd
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, "..", "lib"))
if "--lib" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--lib") + 1])
import tlsdump_e2e as e2e  # noqa: E402
import tlsdump_pcapng as pcapng  # noqa: E402

# Link types of packet interfaces.
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276

# Interface Statistics Block options (pcapng spec).
ISB_IFRECV, ISB_IFDROP, ISB_FILTERACCEPT, ISB_OSDROP, ISB_USRDELIV = 4, 5, 6, 7, 8

# Decryption Secrets Block type "TLSK" (NSS key log).
DSB_TLS_KEYLOG = 0x544C534B

# TCP flags.
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10

# SLL packet types.
SLL_HOST, SLL_OUTGOING = 0, 4

# Where the veth tests put their addresses: a /30 used only inside the test.
VETH_ROOT_ADDR = "10.231.77.1"
VETH_NS_ADDR = "10.231.77.2"
VETH_PREFIX = 30

TSHARK_NO_KEYLOG_PREF = ["-o", "tls.keylog_file:"]

PLAIN_PEER = r'''
import socket, sys, time
mode = sys.argv[1]
if mode == "server":
    host, port_file = sys.argv[2], sys.argv[3]
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, 0)); ls.listen(16)
    open(port_file + ".tmp", "w").write(str(ls.getsockname()[1]))
    import os; os.rename(port_file + ".tmp", port_file)
    while True:
        c, _ = ls.accept()
        c.settimeout(30)
        data = b""
        try:
            while not data.endswith(b"\n"):
                d = c.recv(4096)
                if not d:
                    break
                data += d
            if data:
                c.sendall(b"PLAIN-REPLY " + data)
        except OSError as e:
            sys.stderr.write("plain server: %s\n" % e)
        c.close()
else:
    host, port, msg = sys.argv[2], int(sys.argv[3]), sys.argv[4].encode()
    c = socket.create_connection((host, port), timeout=30)
    local = c.getsockname()
    if msg:
        c.sendall(msg + b"\n")
        reply = b""
        while True:
            d = c.recv(4096)
            if not d:
                break
            reply += d
    else:
        reply = b""
    c.close()
    print("%s %d %s" % (local[0], local[1], reply.decode()))
'''


def isb_u64(isb, code):
    """The u64 value of option @code of Interface Statistics Block @isb, or None."""
    v = isb.option(code)
    if v is None:
        return None
    if len(v) != 8:
        raise AssertionError("ISB option %d has length %d, not 8" % (code, len(v)))
    return struct.unpack(isb._endian + "Q", v)[0]


class Segment:
    """One TCP segment of a packet interface EPB."""

    packet = None      # the pcapng Packet
    iface = None       # its Interface
    pkttype = None     # SLL/SLL2 packet type, None for other link types
    l3 = b""           # network layer bytes (IP header on)
    version = 4
    src = dst = None   # (ip str, port)
    seq = ack = flags = 0
    payload = b""

    @property
    def index(self):
        return self.packet.index

    @property
    def number(self):
        return self.packet.index + 1

    @property
    def ts_ns(self):
        return self.packet.ts_ns

    def flag_names(self):
        return "".join(n for b, n in ((SYN, "S"), (FIN, "F"), (RST, "R"), (PSH, "P"), (ACK, "."))
                       if self.flags & b)

    def __repr__(self):
        return ("<Seg #%d %s %s:%d>%s:%d [%s] seq=%d ack=%d len=%d>"
                % (self.number, self.iface.name if self.iface else "?", self.src[0], self.src[1],
                   self.dst[0], self.dst[1], self.flag_names(), self.seq, self.ack,
                   len(self.payload)))


def link_header(linktype, data):
    """(offset of the network layer, ethertype, SLL packet type or None) of a frame."""
    if linktype == LINKTYPE_LINUX_SLL2:
        if len(data) < 20:
            return None
        return 20, struct.unpack_from(">H", data, 0)[0], data[10]
    if linktype == LINKTYPE_LINUX_SLL:
        if len(data) < 16:
            return None
        return 16, struct.unpack_from(">H", data, 14)[0], struct.unpack_from(">H", data, 0)[0]
    if linktype == LINKTYPE_ETHERNET:
        if len(data) < 14:
            return None
        off, etype = 14, struct.unpack_from(">H", data, 12)[0]
        if etype == 0x8100 and len(data) >= 18:
            off, etype = 18, struct.unpack_from(">H", data, 16)[0]
        return off, etype, None
    if linktype in (LINKTYPE_RAW, 12):
        if not data:
            return None
        v = data[0] >> 4
        return 0, 0x0800 if v == 4 else 0x86DD if v == 6 else 0, None
    return None


def decode_segment(packet):
    """Decodes @packet (a packet-interface EPB) to a Segment; None when not TCP/IP."""
    lh = link_header(packet.interface.linktype, packet.data)
    if not lh:
        return None
    off, etype, pkttype = lh
    p = packet.data[off:]
    s = Segment()
    s.packet, s.iface, s.pkttype = packet, packet.interface, pkttype
    if etype == 0x0800:
        if len(p) < 20 or p[0] >> 4 != 4 or p[9] != 6:
            return None
        ihl = (p[0] & 15) * 4
        total = struct.unpack_from(">H", p, 2)[0]
        if total < ihl or total > len(p):
            total = len(p)  # GSO on loopback may claim 0
        src, dst = str(ipaddress.IPv4Address(p[12:16])), str(ipaddress.IPv4Address(p[16:20]))
        s.version = 4
    elif etype == 0x86DD:
        if len(p) < 40 or p[0] >> 4 != 6 or p[6] != 6:
            return None
        ihl = 40
        total = 40 + struct.unpack_from(">H", p, 4)[0]
        if total > len(p) or total == 40:
            total = len(p)
        src, dst = str(ipaddress.IPv6Address(p[8:24])), str(ipaddress.IPv6Address(p[24:40]))
        s.version = 6
    else:
        return None
    t = p[ihl:total]
    if len(t) < 20:
        return None
    sport, dport, seq, ack, offflags = struct.unpack_from(">HHIIH", t, 0)
    thl = (offflags >> 12) * 4
    s.src, s.dst = (src, sport), (dst, dport)
    s.seq, s.ack, s.flags = seq, ack, offflags & 0x3F
    s.payload = bytes(t[thl:])
    s.l3 = bytes(p[:total])
    return s


def describe(packet):
    """A short description of an EPB for messages: interface, ts, and what it holds."""
    text = "%s, ts %d" % (packet.interface.name, packet.ts_ns)
    if packet.interface.linktype == pcapng.LINKTYPE_WIRESHARK_UPPER_PDU:
        try:
            f = pcapng.decode_frame(packet.data, packet)
            text += ", %s %s pid %s %s->%s %d bytes" % (f.comm, f.direction_name, f.pid, f.src,
                                                         f.dst, len(f.payload))
        except pcapng.FormatError:
            pass
    else:
        s = decode_segment(packet)
        if s:
            text += ", %s:%d->%s:%d [%s] len %d" % (s.src + s.dst + (s.flag_names(), len(s.payload)))
    return text


def packet_interfaces(cap):
    """[(id, Interface)] of the interfaces that are not the plaintext (Upper PDU) one."""
    return [(i, ifc) for i, ifc in enumerate(cap.interfaces)
            if ifc.linktype != pcapng.LINKTYPE_WIRESHARK_UPPER_PDU]


def wire_packets(cap):
    """(segments, undecodable packets) of every packet-interface EPB, in file order."""
    segs, other = [], []
    for p in cap.packets:
        if p.interface.linktype == pcapng.LINKTYPE_WIRESHARK_UPPER_PDU:
            continue
        s = decode_segment(p)
        if s is None:
            other.append(p)
        else:
            segs.append(s)
    return segs, other


def between(segs, a, b):
    """The segments between endpoints @a and @b ((ip, port)), either direction."""
    a, b = tuple(a), tuple(b)
    return [s for s in segs if (s.src, s.dst) in ((a, b), (b, a))]


def with_port(segs, port):
    return [s for s in segs if port in (s.src[1], s.dst[1])]


def is_client_hello(s):
    p = s.payload
    return len(p) >= 43 and p[0] == 0x16 and p[1] == 3 and p[5] == 1


def client_random(s):
    return s.payload[11:43]


HEX_LINE = re.compile(r"^([0-9a-f]{4,8})  ")


def parse_hex_dumps(text):
    """Splits `tshark -x` output into packets: [{source name: bytes}] in output order.

    A packet with one data source has no "Name (N bytes):" header; it is
    named "Frame". Packets are separated by blank lines.
    """
    packets, cur, name = [], None, None
    for line in text.splitlines():
        if not line.strip():
            if cur is not None:
                packets.append(cur)
            cur, name = None, None
            continue
        m = re.match(r"^(.+) \((\d+) bytes\):$", line)
        if m:
            if cur is None:
                cur = collections.OrderedDict()
            name = m.group(1)
            key, n = name, 2
            while key in cur:
                key, n = "%s #%d" % (name, n), n + 1
            name = key
            cur[name] = bytearray()
            continue
        m = HEX_LINE.match(line)
        if not m:
            continue
        if cur is None:
            cur = collections.OrderedDict()
        if name is None:
            name = "Frame"
            cur[name] = bytearray()
        start = len(m.group(0))
        for tok in line[start:start + 48].split():
            if re.fullmatch(r"[0-9a-f]{2}", tok):
                cur[name].append(int(tok, 16))
    if cur is not None:
        packets.append(cur)
    return [{k: bytes(v) for k, v in p.items()} for p in packets]


class Veth:
    """A veth pair: one end in the root namespace, the other in a new namespace."""

    def __init__(self, test):
        tag = "%d" % (os.getpid() % 100000)
        self.test = test
        self.ns = "tdpk" + tag
        self.root_if = "tdpkr" + tag
        self.ns_if = "tdpka" + tag
        self.root_addr = VETH_ROOT_ADDR
        self.ns_addr = VETH_NS_ADDR

    def ip(self, *args, check=True):
        p = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
        if check and p.returncode:
            raise AssertionError("ip %s: %s" % (" ".join(args), p.stderr.strip()))
        return p

    def create(self):
        t = self.test
        # A leftover of an earlier run that was killed (its names are ours): remove it.
        out = self.ip("-o", "-4", "addr", "show").stdout
        for m in re.finditer(r"^\d+: (tdpkr(\d+))\s+inet 10\.231\.77\.[0-3]/", out, re.M):
            sys.stderr.write("removing %s and netns tdpk%s, left by an earlier run\n"
                             % (m.group(1), m.group(2)))
            self.ip("link", "del", m.group(1), check=False)
            self.ip("netns", "del", "tdpk" + m.group(2), check=False)
        # Refuse to run over a network that is otherwise in use on this machine.
        out = self.ip("-o", "-4", "addr", "show").stdout
        if re.search(r"\b10\.231\.77\.[0-3]/", out):
            t.fail("10.231.77.0/30 is already configured on this machine:\n" + out)
        t.addCleanup(self.destroy)
        self.ip("netns", "add", self.ns)
        self.ip("link", "add", self.root_if, "type", "veth", "peer", "name", self.ns_if,
                "netns", self.ns)
        self.ip("addr", "add", "%s/%d" % (self.root_addr, VETH_PREFIX), "dev", self.root_if)
        self.ip("link", "set", self.root_if, "up")
        self.ip("-n", self.ns, "addr", "add", "%s/%d" % (self.ns_addr, VETH_PREFIX), "dev",
                self.ns_if)
        self.ip("-n", self.ns, "link", "set", self.ns_if, "up")
        self.ip("-n", self.ns, "link", "set", "lo", "up")
        # Bounded wait until the link carries traffic (IPv6 DAD is not needed: IPv4 only).
        deadline = time.monotonic() + 10
        while True:
            st = self.ip("-o", "link", "show", self.root_if).stdout
            if "LOWER_UP" in st and ",UP" in st:
                break
            if time.monotonic() > deadline:
                raise AssertionError("%s did not come up: %s" % (self.root_if, st))
            time.sleep(0.05)
        return self

    def exec_argv(self, argv):
        return ["ip", "netns", "exec", self.ns] + list(argv)

    def destroy(self):
        # Processes first (the harness kills them only after this cleanup).
        self.test.kill_spawned()
        self.ip("link", "del", self.root_if, check=False)
        self.ip("netns", "del", self.ns, check=False)
        left = self.ip("netns", "list", check=False).stdout
        if re.search(r"^%s\b" % re.escape(self.ns), left, re.M):
            sys.stderr.write("warning: network namespace %s still listed\n" % self.ns)


# tlsdump's exit after SIGINT (it detaches its probes after closing the file) and its
# start can take long on a loaded machine with many hooked programs.
STOP_TIMEOUT = 60
START_TIMEOUT = 60


class Tlsdump(e2e.Tlsdump):
    def wait_capturing(self, timeout=START_TIMEOUT):
        return super().wait_capturing(timeout)

    def stop(self, sig=signal.SIGINT, timeout=STOP_TIMEOUT, expect_rc=0):
        return super().stop(sig, timeout, expect_rc)


class PacketsTest(e2e.E2ETest):
    """E2ETest with the original-packet checks."""

    def start_tlsdump(self, *args, out="capture.pcapng", name="tlsdump", wait=True):
        t = Tlsdump(self, list(args), self.path(out) if out != "-" else out, name)
        if wait:
            t.wait_capturing()
        return t

    def setUp(self):
        super().setUp()
        # Runs before the harness's own cleanup, which stops at the first process that
        # outlives its SIGKILL wait (a tlsdump still detaching probes) and would leave
        # the peers after it running.
        self.addCleanup(self.kill_spawned)

    def kill_spawned(self):
        """SIGTERM, then SIGKILL, to every spawned process still running; bounded waits,
        and one slow process does not keep the others alive."""
        alive = [p for p in reversed(self.procs) if p.poll() is None]
        for sig_fn, grace in ((lambda p: p.terminate(), 5), (lambda p: p.kill(), 10)):
            for p in alive:
                try:
                    sig_fn(p)
                except OSError:
                    pass
            deadline = time.monotonic() + grace
            for p in alive:
                try:
                    p.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
            alive = [p for p in alive if p.poll() is None]
            if not alive:
                return
        for p in alive:
            sys.stderr.write("warning: pid %d (%s) still running after SIGKILL\n"
                             % (p.pid, " ".join(map(str, p.args))[:80]))

    # --- peers -----------------------------------------------------------

    def curl_in(self, prefix, url, *extra, name="curl", timeout=20, env=None):
        """curl (as E2ETest.curl) run through @prefix (e.g. ip netns exec NS); Peer."""
        body, headers = self.path(name + ".body"), self.path(name + ".headers")
        argv = ["curl", "-sS", "-k", "--http1.1", "--max-time", str(timeout), "-o", body,
                "-D", headers, *extra, url]
        p = self.spawn(list(prefix) + argv, name, env=env)
        self.wait_proc(p, name, timeout + 10)
        return e2e.Peer(p, name, argv=argv, body=e2e.read_bytes(body),
                        headers=e2e.read_bytes(headers))

    def python_client_in(self, prefix, port, actions, host, name="pyclient", wait=True,
                         timeout=30):
        """tls_peer.py client through @prefix; like E2ETest.python_client."""
        out = self.path(name)
        argv = [e2e.PYTHON, e2e.TLS_PEER, "client", "--host", host, "--port", str(port),
                "--out", out]
        p = self.spawn(list(prefix) + argv + list(actions), name)
        peer = e2e.Peer(p, name, out=out)
        if wait:
            self.finish_client(peer, timeout)
        return peer

    def plain_server(self, host="127.0.0.1", name="plainserver"):
        """A plain TCP (no TLS) line echo server; Peer with .port."""
        port_file = self.path(name + ".port")
        p = self.spawn([e2e.PYTHON, "-c", PLAIN_PEER, "server", host, port_file], name)

        def port():
            if p.poll() is not None:
                raise AssertionError("%s exited: %s" % (name, e2e.read_text(self.path(name + ".err"))))
            return os.path.exists(port_file) and int(e2e.read_text(port_file))
        return e2e.Peer(p, name, port=e2e.wait_for(port, 20, name + " to listen"), host=host)

    def plain_client(self, port, message, host="127.0.0.1", name="plainclient"):
        """Connects, sends @message + newline (nothing when empty), reads the reply, closes.

        Returns a Peer with .local (ip, port) and .reply.
        """
        p = self.spawn([e2e.PYTHON, "-c", PLAIN_PEER, "client", host, str(port), message], name)
        self.wait_proc(p, name, 30)
        ip, lport, reply = (e2e.read_text(self.path(name + ".out")).rstrip("\n").split(" ", 2)
                            + ["", ""])[:3]
        return e2e.Peer(p, name, local=(ip, int(lport)), reply=reply)

    # --- capture helpers ----------------------------------------------------

    def settle(self, seconds=0.5):
        """Gives the last packets time to reach libpcap before the capture stops."""
        time.sleep(seconds)

    def _formatMessage(self, msg, standardMsg):
        # A failure after a probe could not attach is most likely explained by it.
        text = super()._formatMessage(msg, standardMsg)
        notes = getattr(self, "attach_warnings", None)
        if notes:
            text += "\n(tlsdump could not attach some probes:\n  %s)" % "\n  ".join(notes[:6])
        return text

    def read_capture(self, cap):
        """(Capture, plaintext frames (checked), segments) of a stopped tlsdump."""
        self.attach_warnings = [l for l in e2e.read_text(cap.log).splitlines()
                                if "cannot attach" in l]
        capture = cap.capture()
        frames = cap.frames()
        segs, other = wire_packets(capture)
        self.assertEqual(other, [], "packet-interface EPBs that are not TCP over IP: %s"
                         % [(p.index + 1, p.interface.linktype) for p in other[:10]])
        # Kernel drops explain missing packets: said in check_connection's failures.
        self.kernel_drops = {}
        for if_id, ifc in packet_interfaces(capture):
            for isb in capture.statistics:
                if isb.interface_id == if_id and isb_u64(isb, ISB_IFDROP):
                    self.kernel_drops[ifc.name] = isb_u64(isb, ISB_IFDROP)
        return capture, frames, segs

    def frames_between(self, frames, a, b):
        """Plaintext frames whose tags name endpoints @a and @b (either direction)."""
        a, b = tuple(a), tuple(b)
        return [f for f in frames if (f.src, f.dst) in ((a, b), (b, a))]

    # --- checks ----------------------------------------------------------

    def assert_interfaces(self, capture, expect_packet_ifaces):
        """Interface 0 is the plaintext one; the packet interfaces are @expect_packet_ifaces
        ([(name, [allowed link types])] in order)."""
        ifs = capture.interfaces
        self.assertTrue(ifs, "no interface")
        self.assertEqual((ifs[0].name, ifs[0].linktype),
                         ("tlsdump", pcapng.LINKTYPE_WIRESHARK_UPPER_PDU),
                         "interface 0 must be the plaintext interface")
        got = [(ifc.name, ifc.linktype) for _, ifc in packet_interfaces(capture)]
        self.assertEqual([n for n, _ in got], [n for n, _ in expect_packet_ifaces],
                         "packet interfaces (name, link type): %s" % got)
        for (name, lt), (_, allowed) in zip(got, expect_packet_ifaces):
            self.assertIn(lt, allowed, "link type of packet interface %s" % name)

    def assert_time_ordered(self, capture, packets=None, what="the file"):
        """Every EPB of the file (all interfaces), or of @packets (in file order), has a
        timestamp >= the previous one."""
        prev = None
        for p in capture.packets if packets is None else sorted(packets, key=lambda p: p.index):
            if prev is not None and p.ts_ns < prev.ts_ns:
                self.fail("%s: frame %d (%s) is earlier than frame %d (%s) by %d ns"
                          % (what, p.index + 1, describe(p), prev.index + 1, describe(prev),
                             prev.ts_ns - p.ts_ns))
            prev = p

    def assert_no_duplicates(self, segs, what="the file"):
        """No two packet EPBs carry the same network-layer bytes (IP header on)."""
        seen = {}
        dups = []
        for s in segs:
            k = s.l3
            if k in seen:
                dups.append((seen[k], s))
            else:
                seen[k] = s
        self.assertEqual(dups, [], "packets written twice in %s (first copy, second copy)" % what)

    def assert_no_duplicate_segments(self, segs, what):
        """Per connection: no two segments with the same direction, seq, ack, flags, length,
        payload and TCP options (a retransmission differs at least in its timestamp)."""
        seen = {}
        dups = []
        for s in segs:
            ihl = (s.l3[0] & 15) * 4 if s.version == 4 else 40
            tcp = s.l3[ihl:]
            thl = (tcp[12] >> 4) * 4
            # TCP header without checksum, window kept; options include timestamps.
            k = (s.src, s.dst, tcp[:16] + tcp[18:thl], s.payload)
            if k in seen:
                dups.append((seen[k], s))
            else:
                seen[k] = s
        self.assertEqual(dups, [], "%s: the same TCP segment twice" % what)

    def assert_complete(self, segs, client, server, what, handshake=True):
        """The connection between @client and @server is on the wire without a hole.

        With @handshake: SYN, SYN-ACK and a FIN in each direction, and each
        direction's payload covers every sequence number from ISN+1 to its FIN.
        Returns {"c2s": [...], "s2c": [...]} of the segments.
        """
        client, server = tuple(client), tuple(server)
        c2s = [s for s in segs if (s.src, s.dst) == (client, server)]
        s2c = [s for s in segs if (s.src, s.dst) == (server, client)]
        self.assertTrue(c2s and s2c, "%s: no packet in one direction: c2s %d, s2c %d"
                        % (what, len(c2s), len(s2c)))
        if handshake:
            for name, d in (("client", c2s), ("server", s2c)):
                syn = [s for s in d if s.flags & SYN]
                fin = [s for s in d if s.flags & FIN]
                self.assertTrue(syn, "%s: no SYN from the %s: %s" % (what, name, d[:5]))
                self.assertTrue(fin, "%s: no FIN from the %s: %s" % (what, name, d[-5:]))
                isn, fin_seq = syn[0].seq, fin[0].seq
                covered = []
                for s in d:
                    if s.payload:
                        a = (s.seq - isn - 1) & 0xFFFFFFFF
                        covered.append((a, a + len(s.payload)))
                covered.sort()
                end = 0
                holes = []
                for a, b in covered:
                    if a > end:
                        holes.append((end, a))
                    end = max(end, b)
                want = (fin_seq - isn - 1) & 0xFFFFFFFF
                if end < want:
                    holes.append((end, want))
                self.assertEqual(holes, [], "%s: %s bytes (relative seq) missing on the wire"
                                 % (what, name))
            self.assertTrue(any(s.flags & SYN and s.flags & ACK for s in s2c),
                            "%s: no SYN-ACK" % what)
        return {"c2s": c2s, "s2c": s2c}

    def assert_tls_window(self, segs, frames, client, server, what):
        """The plaintext frames of the connection lie between its ClientHello and first FIN.

        Also: before each read frame, at least as many TLS bytes arrived in
        that direction as plaintext was read by then.
        """
        client, server = tuple(client), tuple(server)
        conn = between(segs, client, server)
        ch = [s for s in conn if s.src == client and is_client_hello(s)]
        self.assertTrue(ch, "%s: no ClientHello packet from %s among %d packets"
                        % (what, client, len(conn)))
        fins = [s for s in conn if s.flags & FIN]
        self.assertTrue(fins, "%s: no FIN" % what)
        lo, hi = ch[0].index, fins[0].index
        self.assertTrue(frames, "%s: no plaintext frame" % what)
        for f in frames:
            self.assertTrue(lo < f.packet.index < hi,
                            "%s: plaintext frame %d (%s %s->%s) outside the ClientHello (frame "
                            "%d) .. first FIN (frame %d) window"
                            % (what, f.packet.index + 1, f.direction_name, f.src, f.dst, lo + 1,
                               hi + 1))
        # Reads: the ciphertext must have arrived before the plaintext.
        for reader in (client, server):
            reads = sorted((f for f in frames if f.direction == pcapng.DIR_READ and f.local == reader),
                           key=lambda f: f.packet.index)
            read_total = 0
            for f in reads:
                read_total += len(f.payload)
                arrived = sum(len(s.payload) for s in conn
                              if s.dst == reader and s.index < f.packet.index)
                self.assertGreaterEqual(arrived, read_total,
                                        "%s: read frame %d of %s: %d plaintext bytes read so far "
                                        "but only %d TCP payload bytes arrived before it"
                                        % (what, f.packet.index + 1, reader, read_total, arrived))
        return ch[0]

    def assert_isb(self, capture, if_id, what):
        """The packet interface @if_id has exactly one ISB whose usrdeliv = its EPB count;
        returns the ISB."""
        isbs = [s for s in capture.statistics if s.interface_id == if_id]
        self.assertEqual(len(isbs), 1, "%s: ISBs for interface %d: %d" % (what, if_id, len(isbs)))
        isb = isbs[0]
        n = sum(1 for p in capture.packets if p.interface_id == if_id)
        usrdeliv = isb_u64(isb, ISB_USRDELIV)
        self.assertIsNotNone(usrdeliv, "%s: ISB of interface %d has no isb_usrdeliv" % (what, if_id))
        self.assertEqual(usrdeliv, n, "%s: isb_usrdeliv of interface %d vs its EPBs" % (what, if_id))
        for code, name in ((ISB_IFRECV, "isb_ifrecv"), (ISB_IFDROP, "isb_ifdrop"),
                           (ISB_OSDROP, "isb_osdrop")):
            self.assertIsNotNone(isb_u64(isb, code), "%s: no %s" % (what, name))
        self.assertGreaterEqual(isb_u64(isb, ISB_IFRECV), usrdeliv,
                                "%s: isb_ifrecv < isb_usrdeliv" % what)
        self.assertTrue(isb.comments, "%s: ISB without comment" % what)
        m = re.search(r"Written: (\d+)", "\n".join(isb.comments))
        if m:
            self.assertEqual(int(m.group(1)), usrdeliv, "%s: ISB comment: %s" % (what, isb.comments))
        return isb

    def check_connection(self, segs, client, server, frames, what, handshake=True):
        """The usual checks of one TLS connection's packets and plaintext frames."""
        try:
            conn = between(segs, client, server)
            self.assertTrue(conn, "%s: no packet between %s and %s" % (what, client, server))
            self.assert_no_duplicate_segments(conn, what)
            self.assert_complete(segs, client, server, what, handshake=handshake)
            if handshake:
                return self.assert_tls_window(segs, frames, client, server, what)
            return None
        except AssertionError as e:
            drops = getattr(self, "kernel_drops", None)
            if drops:
                raise AssertionError("%s\n(the packet interfaces' ISBs report packets dropped by "
                                     "the kernel: %s)" % (e, drops)) from None
            raise

    # --- tshark ------------------------------------------------------------

    def tshark_rows(self, path, fields, dfilter, extra=(), runner=None):
        """tshark -T fields rows (first occurrence of each field) as dicts."""
        args = ["-r", path, "-T", "fields", "-E", "occurrence=f"]
        for f in fields:
            args += ["-e", f]
        args += ["-Y", dfilter]
        out = (runner or self.tshark)(*args, *extra)
        return [dict(zip(fields, line.split("\t"))) for line in out.splitlines()]

    def plugin_tshark(self, path):
        """When the tlsdump dissector is not installed but the build's plugin is named by
        $TLSDUMP_PACKETS_PLUGIN (and $TLSDUMP_PACKETS_PLUGIN_ABI), a tshark runner
        that loads it (as nobody, from a temporary HOME: root's tshark loads no personal
        plugins) and the copy of @path it can read; else (None, None)."""
        so, abi = os.environ.get("TLSDUMP_PACKETS_PLUGIN"), os.environ.get("TLSDUMP_PACKETS_PLUGIN_ABI")
        if not so or not abi or not os.path.exists(so):
            return None, None
        root = tempfile.mkdtemp(prefix="tlsdump-packets-plugin-")
        self.addCleanup(shutil.rmtree, root, True)
        home = os.path.join(root, "home")
        epan = os.path.join(home, ".local", "lib", "wireshark", "plugins", abi, "epan")
        os.makedirs(epan)
        shutil.copy(so, os.path.join(epan, "tlsdump.so"))
        copy = os.path.join(root, os.path.basename(path))
        shutil.copy(path, copy)
        for dirpath, _, files in os.walk(root):
            os.chmod(dirpath, 0o755)
            for f in files:
                os.chmod(os.path.join(dirpath, f), 0o644)
        nobody = pwd.getpwnam("nobody")

        def run(*args):
            cmd = ["setpriv", "--reuid=%d" % nobody.pw_uid, "--regid=%d" % nobody.pw_gid,
                   "--clear-groups", "env", "-i", "HOME=" + home,
                   "PATH=" + os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL=C.UTF-8",
                   "tshark", *args]
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=root,
                               stdin=subprocess.DEVNULL)
            self.assertEqual(p.returncode, 0, "tshark (with the plugin) %s failed:\n%s"
                             % (" ".join(args), p.stderr))
            return p.stdout
        if "tlsdump.so" not in run("-G", "plugins"):
            self.fail("tshark does not load the plugin %s (ABI %s)" % (so, abi))
        return run, copy

    def tshark_has_tlsdump_dissector(self):
        out = subprocess.run(["tshark", "-G", "protocols"], capture_output=True, text=True,
                             timeout=60).stdout
        return any(line.split("\t")[2:3] == ["tlsdump"] for line in out.splitlines())

    def decrypted_tls(self, path, dfilter, extra=()):
        """{frame number: [bytes of each "Decrypted TLS" data source]} of the frames of
        @path that match @dfilter (tshark -x)."""
        numbers = [int(r[0]) for r in
                   (line.split("\t") for line in
                    self.tshark("-r", path, "-Y", dfilter, "-T", "fields", "-e", "frame.number",
                                *extra).splitlines())]
        dumps = parse_hex_dumps(self.tshark("-r", path, "-Y", dfilter, "-x", *extra))
        self.assertEqual(len(numbers), len(dumps), "tshark -x: %d dumps for %d frames"
                         % (len(dumps), len(numbers)))
        return {n: [v for k, v in d.items() if k.startswith("Decrypted TLS")]
                for n, d in zip(numbers, dumps)}

    def tshark_check_tuples(self, path, conns, ifaces):
        """tshark's view: each connection of @conns ([(what, client, server, frames)]) has a
        ClientHello on one of @ifaces whose addresses and ports are those of every one
        of its plaintext frames (exported_pdu and ip fields); with the tlsdump dissector
        (installed, or the build's plugin: plugin_tshark()), also the same tcp.stream."""
        ch_fields = ["frame.number", "frame.interface_name", "ip.src", "ip.dst", "ipv6.src",
                     "ipv6.dst", "tcp.srcport", "tcp.dstport", "tcp.stream"]
        pt_fields = ["frame.number", "frame.interface_name", "exported_pdu.ipv4_src",
                     "exported_pdu.ipv4_dst", "exported_pdu.ipv6_src", "exported_pdu.ipv6_dst",
                     "exported_pdu.src_port", "exported_pdu.dst_port", "ip.src", "ip.dst",
                     "ipv6.src", "ipv6.dst", "tcp.stream"]
        plugin = self.tshark_has_tlsdump_dissector()
        runner = None
        if not plugin:
            runner, copy = self.plugin_tshark(path)
            if runner:
                plugin, path = True, copy
        hellos = self.tshark_rows(path, ch_fields, "tls.handshake.type == 1 && !exported_pdu",
                                  runner=runner)
        plain = {int(r["frame.number"]): r
                 for r in self.tshark_rows(path, pt_fields, "exported_pdu", runner=runner)}
        self.tcp_stream_checked = plugin
        for what, client, server, frames in conns:
            client, server = tuple(client), tuple(server)
            mine = [r for r in hellos
                    if ((r["ip.src"] or r["ipv6.src"]), int(r["tcp.srcport"] or 0)) == client
                    and ((r["ip.dst"] or r["ipv6.dst"]), int(r["tcp.dstport"] or 0)) == server]
            self.assertTrue(mine, "%s: tshark shows no ClientHello %s -> %s; ClientHellos: %s"
                            % (what, client, server, hellos[:20]))
            hello = mine[0]
            self.assertIn(hello["frame.interface_name"], ifaces,
                          "%s: interface of the ClientHello" % what)
            for f in frames:
                r = plain.get(f.packet.index + 1)
                self.assertIsNotNone(r, "%s: tshark does not show plaintext frame %d"
                                     % (what, f.packet.index + 1))
                self.assertEqual(r["frame.interface_name"], "tlsdump")
                src = (r["exported_pdu.ipv4_src"] or r["exported_pdu.ipv6_src"],
                       int(r["exported_pdu.src_port"]))
                dst = (r["exported_pdu.ipv4_dst"] or r["exported_pdu.ipv6_dst"],
                       int(r["exported_pdu.dst_port"]))
                self.assertIn((src, dst), ((client, server), (server, client)),
                              "%s: 5-tuple of plaintext frame %d vs the ClientHello (frame %s)"
                              % (what, f.packet.index + 1, hello["frame.number"]))
                ip_src, ip_dst = r["ip.src"] or r["ipv6.src"], r["ip.dst"] or r["ipv6.dst"]
                if ip_src or ip_dst:
                    self.assertEqual((ip_src, ip_dst), (src[0], dst[0]),
                                     "%s: ip fields of plaintext frame %d" % (what, f.packet.index + 1))
                if plugin:
                    self.assertEqual(r["tcp.stream"], hello["tcp.stream"],
                                     "%s: tcp.stream of plaintext frame %d vs the ClientHello's"
                                     % (what, f.packet.index + 1))
        return plugin

    def assert_precise_order(self, path, segs, frames, client, server, what, extra=()):
        """With the TLS secrets known to tshark (embedded or via @extra prefs): every
        write frame of @client precedes the packet that carries its first byte, every
        read frame follows the packet that carries its last byte, and the decrypted
        bytes equal the plaintext. Returns the decrypted (c2s, s2c) bytes."""
        client, server = tuple(client), tuple(server)
        conn = {s.number: s for s in between(segs, client, server)}
        dfilter = "tcp.port == %d && tcp.port == %d && !exported_pdu" % (client[1], server[1])
        dec = self.decrypted_tls(path, dfilter, extra)
        streams = {}
        for key, src in (("c2s", client), ("s2c", server)):
            data, owner = bytearray(), []
            for num in sorted(dec):
                seg = conn.get(num)
                if seg is None or seg.src != src:
                    continue
                for block in dec[num]:
                    data += block
                    owner += [num] * len(block)
            streams[key] = (bytes(data), owner)
        for direction, key in ((pcapng.DIR_WRITE, "c2s"), (pcapng.DIR_READ, "s2c")):
            mine = sorted((f for f in frames if f.local == client and f.direction == direction),
                          key=lambda f: f.stream_offset)
            if not mine:
                continue
            plain = b"".join(f.payload for f in mine)
            data, owner = streams[key]
            pos = data.find(plain)
            self.assertGreaterEqual(pos, 0, "%s: the %d plaintext bytes %s by the client are "
                                    "not in the %d bytes tshark decrypted from the packets "
                                    "(%r... vs %r...)" % (what, len(plain), pcapng.DIR_NAMES[direction],
                                                          len(data), plain[:60], data[:60]))
            off = pos
            for f in mine:
                first, last = owner[off], owner[off + len(f.payload) - 1]
                if direction == pcapng.DIR_WRITE:
                    self.assertLess(f.packet.index + 1, first,
                                    "%s: write frame %d is not before packet %d that carries its "
                                    "first byte" % (what, f.packet.index + 1, first))
                else:
                    self.assertGreater(f.packet.index + 1, last,
                                       "%s: read frame %d is not after packet %d that carries its "
                                       "last byte" % (what, f.packet.index + 1, last))
                off += len(f.payload)
        return streams["c2s"][0], streams["s2c"][0]

    def capinfos_secrets(self, path):
        out = subprocess.run(["capinfos", path], capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, "capinfos: %s" % out.stderr)
        m = re.search(r"Number of decryption secrets in file:\s*(\d+)", out.stdout)
        return int(m.group(1)) if m else 0


def local_addresses():
    """IPv4 addresses of the root namespace."""
    out = subprocess.run(["ip", "-o", "-4", "addr", "show"], capture_output=True, text=True,
                         timeout=20).stdout
    return re.findall(r"inet (\S+)/", out)


def free_port(host="127.0.0.1"):
    s = socket.socket()
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


if __name__ == "__main__":
    print("test_packets_lib.py is the helper module of the test_packets_*.py tests; no tests here")
    sys.exit(0)
