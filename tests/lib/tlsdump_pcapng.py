# SPDX-License-Identifier: GPL-2.0-or-later
"""Reads tlsdump pcapng files (stdlib only).

Two layers:

* pcapng: read_pcapng() parses Section Header, Interface Description,
  Enhanced Packet, Interface Statistics and Decryption Secrets Blocks (other
  block types are kept as raw blocks) with their options, in either byte order.
* tlsdump frames: decode_frame() splits the packet data of a
  LINKTYPE_WIRESHARK_UPPER_PDU frame into its Exported PDU tags, the tlsdump
  header (docs/record-format.md) and the plaintext; streams() rebuilds the
  byte stream of every (connection, direction) ordered by stream offset and
  lists the gaps.

Usage:
    cap = read_pcapng("x.pcapng")
    for f in tlsdump_frames(cap):
        print(f.pid, f.comm, f.direction_name, f.src, f.dst, len(f.payload))
    for key, s in streams(tlsdump_frames(cap)).items():
        print(key, len(s.data), s.gaps)
"""

import ipaddress
import struct

# Block types.
BT_SHB = 0x0A0D0D0A
BT_IDB = 0x00000001
BT_EPB = 0x00000006
BT_ISB = 0x00000005
BT_DSB = 0x0000000A
BYTE_ORDER_MAGIC = 0x1A2B3C4D

# Options.
OPT_ENDOFOPT = 0
OPT_COMMENT = 1
SHB_HARDWARE, SHB_OS, SHB_USERAPPL = 2, 3, 4
IF_NAME, IF_DESCRIPTION, IF_TSRESOL = 2, 3, 9
EPB_FLAGS = 2
ISB_STARTTIME, ISB_ENDTIME, ISB_IFRECV, ISB_IFDROP = 2, 3, 4, 5

# epb_flags direction bits.
EPB_DIR_UNKNOWN, EPB_DIR_INBOUND, EPB_DIR_OUTBOUND = 0, 1, 2

LINKTYPE_WIRESHARK_UPPER_PDU = 252

# Exported PDU tags.
EXP_PDU_TAG_END = 0
EXP_PDU_TAG_DISSECTOR_NAME = 12
EXP_PDU_TAG_IPV4_SRC = 20
EXP_PDU_TAG_IPV4_DST = 21
EXP_PDU_TAG_IPV6_SRC = 22
EXP_PDU_TAG_IPV6_DST = 23
EXP_PDU_TAG_PORT_TYPE = 24
EXP_PDU_TAG_SRC_PORT = 25
EXP_PDU_TAG_DST_PORT = 26
EXP_PDU_TAG_P2P_DIRECTION = 35
EXP_PDU_PORT_TYPE_TCP = 2

# tlsdump header (docs/record-format.md).
TLSDUMP_MAGIC = b"TLSD"
TLSDUMP_VERSION = 1
TLSDUMP_HDR_LEN = 104
TLSDUMP_MAX_FRAME_PAYLOAD = 65536
_HDR = struct.Struct(">4sBBHHBBIIIQQQQ16s32s")
assert _HDR.size == TLSDUMP_HDR_LEN

DIR_READ, DIR_WRITE = 0, 1
ROLE_UNKNOWN, ROLE_CLIENT, ROLE_SERVER = 0, 1, 2
LIB_UNKNOWN, LIB_OPENSSL, LIB_BORINGSSL, LIB_GO, LIB_GNUTLS, LIB_NSS = range(6)

FLAG_GAP = 0x0001
FLAG_CAPPED = 0x0002
FLAG_NO_TUPLE = 0x0004
FLAG_CALL_START = 0x0008
FLAG_CALL_END = 0x0010

DIR_NAMES = {DIR_READ: "read", DIR_WRITE: "write"}
ROLE_NAMES = {ROLE_UNKNOWN: "unknown", ROLE_CLIENT: "client", ROLE_SERVER: "server"}


class FormatError(Exception):
    """The file or a frame does not follow pcapng or the tlsdump record format."""


# ---------------------------------------------------------------------------
# pcapng

class Block:
    """Any block: type, raw body (without type/length/trailer), file offset."""

    def __init__(self, btype, body, offset):
        self.type = btype
        self.body = body
        self.offset = offset
        self.options = []  # [(code, bytes)]

    def option(self, code):
        """First value of option @code (bytes), or None."""
        for c, v in self.options:
            if c == code:
                return v
        return None

    def option_all(self, code):
        return [v for c, v in self.options if c == code]

    @property
    def comments(self):
        return [v.decode("utf-8", "replace") for v in self.option_all(OPT_COMMENT)]


class Section(Block):
    version = (0, 0)
    section_length = -1
    endian = "<"

    @property
    def userappl(self):
        v = self.option(SHB_USERAPPL)
        return v.decode("utf-8", "replace") if v is not None else None


class Interface(Block):
    linktype = 0
    snaplen = 0
    tsresol = 6  # if_tsresol default: microseconds
    name = None
    description = None

    def ts_to_ns(self, ts):
        """Converts a raw timestamp in this interface's units to nanoseconds."""
        if self.tsresol & 0x80:
            return ts * 10**9 // (2 ** (self.tsresol & 0x7F))
        exp = self.tsresol
        return ts * 10**9 // 10**exp if exp <= 9 else ts // 10 ** (exp - 9)


class Packet(Block):
    interface_id = 0
    interface = None
    ts_raw = 0
    caplen = 0
    origlen = 0
    data = b""
    flags = None  # epb_flags or None
    index = 0  # 0-based packet number in the file (frame.number - 1)

    @property
    def ts_ns(self):
        return self.interface.ts_to_ns(self.ts_raw) if self.interface else self.ts_raw

    @property
    def direction(self):
        """epb_flags direction bits: 0 unknown, 1 inbound, 2 outbound."""
        return (self.flags or 0) & 3


class Statistics(Block):
    interface_id = 0
    _endian = "<"
    ts_raw = 0

    def _u64(self, code):
        v = self.option(code)
        return struct.unpack(self._endian + "Q", v)[0] if v is not None and len(v) == 8 else None

    @property
    def ifrecv(self):
        return self._u64(ISB_IFRECV)

    @property
    def ifdrop(self):
        return self._u64(ISB_IFDROP)

    @property
    def starttime(self):
        return self._ts(ISB_STARTTIME)

    @property
    def endtime(self):
        return self._ts(ISB_ENDTIME)

    def _ts(self, code):
        v = self.option(code)
        if v is None or len(v) != 8:
            return None
        hi, lo = struct.unpack(self._endian + "II", v)
        return (hi << 32) | lo


class Secrets(Block):
    secrets_type = 0
    data = b""


class Capture:
    """A parsed pcapng file."""

    def __init__(self):
        self.sections = []
        self.interfaces = []  # of the last section (tlsdump writes one section)
        self.packets = []
        self.statistics = []
        self.secrets = []
        self.blocks = []  # every block in file order
        self.truncated = False  # the file ended inside a block (allow_truncated=True)


def _parse_options(data, endian, pos):
    """Parses options from @pos to the end of @data; returns [(code, value)]."""
    options = []
    while pos + 4 <= len(data):
        code, length = struct.unpack_from(endian + "HH", data, pos)
        pos += 4
        if code == OPT_ENDOFOPT:
            break
        if pos + length > len(data):
            raise FormatError("option %d of length %d runs past the block" % (code, length))
        options.append((code, data[pos:pos + length]))
        pos += (length + 3) & ~3
    return options


def read_pcapng(source, allow_truncated=False):
    """Parses a pcapng file given as a path or bytes; returns a Capture.

    Raises FormatError on malformed input. With @allow_truncated, a file that
    ends inside a block (e.g. cut by `head -c`) is accepted up to the last
    complete block and Capture.truncated is set.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        buf = bytes(source)
    else:
        with open(source, "rb") as f:
            buf = f.read()
    cap = Capture()
    pos = 0
    endian = None
    section = None
    packet_index = 0
    while pos < len(buf):
        if len(buf) - pos < 12:
            if allow_truncated:
                cap.truncated = True
                break
            raise FormatError("trailing %d bytes at offset %d" % (len(buf) - pos, pos))
        btype_le = struct.unpack_from("<I", buf, pos)[0]
        if btype_le == BT_SHB:
            magic = buf[pos + 8:pos + 12]
            if magic == struct.pack("<I", BYTE_ORDER_MAGIC):
                endian = "<"
            elif magic == struct.pack(">I", BYTE_ORDER_MAGIC):
                endian = ">"
            else:
                raise FormatError("bad byte-order magic at offset %d" % pos)
        elif endian is None:
            raise FormatError("file does not start with a Section Header Block")
        btype, blen = struct.unpack_from(endian + "II", buf, pos)
        if blen < 12 or blen % 4:
            raise FormatError("bad block length %d at offset %d" % (blen, pos))
        if pos + blen > len(buf):
            if allow_truncated:
                cap.truncated = True
                break
            raise FormatError("block at offset %d (type 0x%x, length %d) runs past the end "
                              "of the file (%d bytes)" % (pos, btype, blen, len(buf)))
        trailer = struct.unpack_from(endian + "I", buf, pos + blen - 4)[0]
        if trailer != blen:
            raise FormatError("block at offset %d: trailing length %d != %d"
                              % (pos, trailer, blen))
        body = buf[pos + 8:pos + blen - 4]
        block = _parse_block(btype, body, endian, pos, cap, packet_index)
        if isinstance(block, Section):
            section = block
            cap.sections.append(block)
            cap.interfaces = []
        elif section is None:
            raise FormatError("block before the first Section Header Block")
        if isinstance(block, Interface):
            cap.interfaces.append(block)
        elif isinstance(block, Packet):
            cap.packets.append(block)
            packet_index += 1
        elif isinstance(block, Statistics):
            cap.statistics.append(block)
        elif isinstance(block, Secrets):
            cap.secrets.append(block)
        cap.blocks.append(block)
        pos += blen
    return cap


def _parse_block(btype, body, endian, offset, cap, packet_index):
    if btype == BT_SHB:
        if len(body) < 16:
            raise FormatError("short SHB at offset %d" % offset)
        b = Section(btype, body, offset)
        b.endian = endian
        _, major, minor, slen = struct.unpack_from(endian + "IHHq", body, 0)
        b.version = (major, minor)
        b.section_length = slen
        if major != 1:
            raise FormatError("unsupported pcapng version %d.%d" % (major, minor))
        b.options = _parse_options(body, endian, 16)
        return b
    if btype == BT_IDB:
        if len(body) < 8:
            raise FormatError("short IDB at offset %d" % offset)
        b = Interface(btype, body, offset)
        b.linktype, _, b.snaplen = struct.unpack_from(endian + "HHI", body, 0)
        b.options = _parse_options(body, endian, 8)
        v = b.option(IF_TSRESOL)
        if v:
            b.tsresol = v[0]
        v = b.option(IF_NAME)
        b.name = v.decode("utf-8", "replace") if v is not None else None
        v = b.option(IF_DESCRIPTION)
        b.description = v.decode("utf-8", "replace") if v is not None else None
        return b
    if btype == BT_EPB:
        if len(body) < 20:
            raise FormatError("short EPB at offset %d" % offset)
        b = Packet(btype, body, offset)
        ifid, hi, lo, caplen, origlen = struct.unpack_from(endian + "IIIII", body, 0)
        if ifid >= len(cap.interfaces):
            raise FormatError("EPB at offset %d names interface %d of %d"
                              % (offset, ifid, len(cap.interfaces)))
        if 20 + caplen > len(body):
            raise FormatError("EPB at offset %d: captured length %d beyond the block"
                              % (offset, caplen))
        if caplen > origlen:
            raise FormatError("EPB at offset %d: captured length %d > original %d"
                              % (offset, caplen, origlen))
        b.interface_id = ifid
        b.interface = cap.interfaces[ifid]
        b.ts_raw = (hi << 32) | lo
        b.caplen = caplen
        b.origlen = origlen
        b.data = body[20:20 + caplen]
        b.options = _parse_options(body, endian, 20 + ((caplen + 3) & ~3))
        v = b.option(EPB_FLAGS)
        if v is not None:
            if len(v) != 4:
                raise FormatError("EPB at offset %d: epb_flags of length %d" % (offset, len(v)))
            b.flags = struct.unpack(endian + "I", v)[0]
        b.index = packet_index
        return b
    if btype == BT_ISB:
        if len(body) < 12:
            raise FormatError("short ISB at offset %d" % offset)
        b = Statistics(btype, body, offset)
        b._endian = endian
        ifid, hi, lo = struct.unpack_from(endian + "III", body, 0)
        if ifid >= len(cap.interfaces):
            raise FormatError("ISB at offset %d names interface %d of %d"
                              % (offset, ifid, len(cap.interfaces)))
        b.interface_id = ifid
        b.ts_raw = (hi << 32) | lo
        b.options = _parse_options(body, endian, 12)
        return b
    if btype == BT_DSB:
        if len(body) < 8:
            raise FormatError("short DSB at offset %d" % offset)
        b = Secrets(btype, body, offset)
        b.secrets_type, length = struct.unpack_from(endian + "II", body, 0)
        if 8 + length > len(body):
            raise FormatError("DSB at offset %d: secrets length %d beyond the block"
                              % (offset, length))
        b.data = body[8:8 + length]
        b.options = _parse_options(body, endian, 8 + ((length + 3) & ~3))
        return b
    return Block(btype, body, offset)


# ---------------------------------------------------------------------------
# tlsdump frames

class Frame:
    """One decoded plaintext frame."""

    packet = None        # the Packet (pcapng EPB) it came from
    tags = None          # [(tag, bytes)] in order
    dissector = None     # tag 12
    src_ip = dst_ip = None  # ipaddress objects or None
    src_port = dst_port = None
    port_type = None
    p2p_dir = None       # 0 sent by the process, 1 received
    has_header = False   # False for --label-http frames
    # tlsdump header fields (None without header)
    version = direction = header_len = flags = role = library = None
    pid = tid = payload_len = conn_id = stream_offset = gap = call_len = None
    comm = libname = None
    comm_raw = libname_raw = b""
    payload = b""

    @property
    def src(self):
        return (str(self.src_ip), self.src_port) if self.src_ip is not None else None

    @property
    def dst(self):
        return (str(self.dst_ip), self.dst_port) if self.dst_ip is not None else None

    @property
    def local(self):
        """(ip, port) of the capturing process's socket, from the tags."""
        if self.p2p_dir is None:
            return None
        return self.src if self.p2p_dir == 0 else self.dst

    @property
    def remote(self):
        if self.p2p_dir is None:
            return None
        return self.dst if self.p2p_dir == 0 else self.src

    @property
    def direction_name(self):
        return DIR_NAMES.get(self.direction, str(self.direction))

    @property
    def role_name(self):
        return ROLE_NAMES.get(self.role, str(self.role))

    @property
    def comment(self):
        return "\n".join(self.packet.comments) if self.packet else ""

    @property
    def comment_fields(self):
        """The process comment as {key: value} (one `Key: value` per line)."""
        out = {}
        for c in (self.packet.comments if self.packet else []):
            for line in c.split("\n"):
                k, sep, v = line.partition(": ")
                if sep:
                    out.setdefault(k, v)
        return out

    def __repr__(self):
        return ("<Frame #%s %s %s conn=%s dir=%s off=%s len=%d gap=%s flags=0x%x pid=%s %s>"
                % (self.packet.index + 1 if self.packet else "?", self.dissector, self.comm,
                   self.conn_id, self.direction_name, self.stream_offset, len(self.payload),
                   self.gap, self.flags or 0, self.pid, self.src and (self.src, self.dst)))


def _u32(v, what):
    if len(v) != 4:
        raise FormatError("%s tag of length %d" % (what, len(v)))
    return struct.unpack(">I", v)[0]


def decode_frame(data, packet=None):
    """Decodes the packet data of one LINKTYPE_WIRESHARK_UPPER_PDU frame.

    Applies the reader rules of docs/record-format.md; raises FormatError.
    """
    f = Frame()
    f.packet = packet
    f.tags = []
    pos = 0
    while True:
        if pos + 4 > len(data):
            raise FormatError("Exported PDU tags without end tag")
        tag, length = struct.unpack_from(">HH", data, pos)
        pos += 4
        if tag == EXP_PDU_TAG_END:
            if length:
                raise FormatError("end tag with length %d" % length)
            break
        if pos + length > len(data):
            raise FormatError("tag %d of length %d runs past the frame" % (tag, length))
        value = data[pos:pos + length]
        pos += length
        f.tags.append((tag, value))
        if tag == EXP_PDU_TAG_DISSECTOR_NAME:
            f.dissector = value.rstrip(b"\0").decode("ascii")
        elif tag in (EXP_PDU_TAG_IPV4_SRC, EXP_PDU_TAG_IPV4_DST):
            if length != 4:
                raise FormatError("IPv4 tag of length %d" % length)
            ip = ipaddress.IPv4Address(value)
            if tag == EXP_PDU_TAG_IPV4_SRC:
                f.src_ip = ip
            else:
                f.dst_ip = ip
        elif tag in (EXP_PDU_TAG_IPV6_SRC, EXP_PDU_TAG_IPV6_DST):
            if length != 16:
                raise FormatError("IPv6 tag of length %d" % length)
            ip = ipaddress.IPv6Address(value)
            if tag == EXP_PDU_TAG_IPV6_SRC:
                f.src_ip = ip
            else:
                f.dst_ip = ip
        elif tag == EXP_PDU_TAG_PORT_TYPE:
            f.port_type = _u32(value, "port type")
        elif tag == EXP_PDU_TAG_SRC_PORT:
            f.src_port = _u32(value, "source port")
        elif tag == EXP_PDU_TAG_DST_PORT:
            f.dst_port = _u32(value, "destination port")
        elif tag == EXP_PDU_TAG_P2P_DIRECTION:
            f.p2p_dir = _u32(value, "p2p direction")
    if f.dissector is None:
        raise FormatError("no dissector name tag")
    rest = data[pos:]
    if f.dissector != "tlsdump":
        f.payload = rest
        return f
    f.has_header = True
    if len(rest) < TLSDUMP_HDR_LEN:
        raise FormatError("tlsdump header of %d bytes" % len(rest))
    (magic, f.version, f.direction, f.header_len, f.flags, f.role, f.library, f.pid, f.tid,
     f.payload_len, f.conn_id, f.stream_offset, f.gap, f.call_len, comm,
     libname) = _HDR.unpack_from(rest, 0)
    if magic != TLSDUMP_MAGIC:
        raise FormatError("bad magic %r" % magic)
    if f.version != TLSDUMP_VERSION:
        raise FormatError("unknown version %d" % f.version)
    if f.direction not in (DIR_READ, DIR_WRITE):
        raise FormatError("direction %d" % f.direction)
    if f.header_len < TLSDUMP_HDR_LEN or f.header_len > len(rest):
        raise FormatError("header length %d (frame has %d bytes)" % (f.header_len, len(rest)))
    if f.payload_len != len(rest) - f.header_len:
        raise FormatError("payload length %d but %d bytes follow"
                          % (f.payload_len, len(rest) - f.header_len))
    f.comm_raw, f.libname_raw = comm, libname
    f.comm = comm.split(b"\0", 1)[0].decode("utf-8", "replace")
    f.libname = libname.split(b"\0", 1)[0].decode("utf-8", "replace")
    f.payload = rest[f.header_len:]
    return f


def plaintext_interfaces(cap):
    """Ids of the interfaces with link type LINKTYPE_WIRESHARK_UPPER_PDU."""
    return [i for i, ifc in enumerate(cap.interfaces)
            if ifc.linktype == LINKTYPE_WIRESHARK_UPPER_PDU]


def plaintext_statistics(cap):
    """The Interface Statistics Blocks of the plaintext interface(s)."""
    ids = plaintext_interfaces(cap)
    return [s for s in cap.statistics if s.interface_id in ids]


def tlsdump_frames(cap, strict=False):
    """Decodes every packet of @cap on an Upper PDU interface; returns [Frame].

    Packets on other interfaces (tlsdump's original encrypted packets, link
    type 113 or 1) are skipped, or raise FormatError with @strict.
    """
    out = []
    for p in cap.packets:
        if p.interface.linktype != LINKTYPE_WIRESHARK_UPPER_PDU:
            if strict:
                raise FormatError("packet %d on link type %d" % (p.index + 1, p.interface.linktype))
            continue
        try:
            out.append(decode_frame(p.data, p))
        except FormatError as e:
            raise FormatError("packet %d: %s" % (p.index + 1, e)) from None
    return out


def check_frame(f):
    """Consistency rules every tlsdump-labelled frame must follow; returns [problem]."""
    problems = []

    def bad(msg):
        problems.append("frame %d: %s" % (f.packet.index + 1 if f.packet else -1, msg))

    if len(f.payload) > TLSDUMP_MAX_FRAME_PAYLOAD:
        bad("payload of %d bytes > %d" % (len(f.payload), TLSDUMP_MAX_FRAME_PAYLOAD))
    if f.packet is not None and f.p2p_dir is not None:
        want = EPB_DIR_OUTBOUND if f.p2p_dir == 0 else EPB_DIR_INBOUND
        if f.packet.direction != want:
            bad("epb_flags direction %d but p2p direction %d" % (f.packet.direction, f.p2p_dir))
    if f.p2p_dir is None:
        bad("no P2P direction tag")
    if not f.has_header:
        return problems
    if f.comm_raw[-1:] != b"\0" or f.libname_raw[-1:] != b"\0":
        bad("comm or library name not NUL terminated")
    if f.p2p_dir is not None and f.p2p_dir != (0 if f.direction == DIR_WRITE else 1):
        bad("p2p direction %d does not match direction %s" % (f.p2p_dir, f.direction_name))
    if bool(f.flags & FLAG_GAP) != (f.gap > 0):
        bad("GAP flag %s but gap %d" % (bool(f.flags & FLAG_GAP), f.gap))
    has_ip = f.src_ip is not None and f.dst_ip is not None
    if bool(f.flags & FLAG_NO_TUPLE) == has_ip:
        bad("NO_TUPLE flag %s but IP tags %s" % (bool(f.flags & FLAG_NO_TUPLE), has_ip))
    if has_ip and (f.src_port is None or f.dst_port is None or f.port_type != EXP_PDU_PORT_TYPE_TCP):
        bad("IP tags without TCP port tags")
    if f.call_len < len(f.payload):
        bad("call length %d < payload %d" % (f.call_len, len(f.payload)))
    if f.flags & FLAG_CAPPED and not f.flags & FLAG_CALL_END:
        bad("CAPPED without CALL_END")
    return problems


class Stream:
    """The bytes of one direction of one connection, rebuilt by stream offset."""

    def __init__(self, key):
        self.key = key  # (conn_id, direction)
        self.frames = []  # ordered by stream offset
        self.data = b""  # captured bytes concatenated in offset order (gaps left out)
        self.gaps = []  # [(offset, length)] of missing bytes before a frame
        self.overlaps = []  # [(offset, length)] of bytes seen twice
        self.start = 0  # stream offset of the first captured byte
        self.end = 0  # stream offset after the last captured byte

    @property
    def first(self):
        return self.frames[0]

    @property
    def gap_bytes(self):
        return sum(n for _, n in self.gaps)

    @property
    def complete(self):
        """True if the stream has no gap and no overlap from its first byte on."""
        return not self.gaps and not self.overlaps

    def __repr__(self):
        return ("<Stream conn=%s dir=%s frames=%d bytes=%d start=%d end=%d gaps=%s>"
                % (self.key[0], DIR_NAMES.get(self.key[1]), len(self.frames), len(self.data),
                   self.start, self.end, self.gaps[:5]))


def streams(frames):
    """Groups tlsdump-labelled frames by (conn_id, direction); returns {key: Stream}.

    Each stream's data is its frames' payloads in stream-offset order; a hole
    between one frame's end and the next frame's offset is recorded in gaps
    (and a hole before the first frame is not: the capture may have started
    mid-stream; compare Stream.start with 0 for that).
    """
    by_key = {}
    for f in frames:
        if not f.has_header:
            raise FormatError("streams() needs frames with the tlsdump header")
        by_key.setdefault((f.conn_id, f.direction), []).append(f)
    out = {}
    for key, fl in by_key.items():
        s = Stream(key)
        s.frames = sorted(fl, key=lambda f: (f.stream_offset, f.packet.index if f.packet else 0))
        parts = []
        s.start = s.frames[0].stream_offset
        pos = s.start
        for f in s.frames:
            if f.stream_offset > pos:
                s.gaps.append((pos, f.stream_offset - pos))
            elif f.stream_offset < pos:
                s.overlaps.append((f.stream_offset, pos - f.stream_offset))
            parts.append(f.payload)
            pos = max(pos, f.stream_offset + len(f.payload))
        s.data = b"".join(parts)
        s.end = pos
        out[key] = s
    return out


def summary(cap):
    """A short text description of @cap, for test failure messages."""
    lines = ["%d packets, %d interfaces (link types %s), %d ISB"
             % (len(cap.packets), len(cap.interfaces),
                [i.linktype for i in cap.interfaces], len(cap.statistics))]
    try:
        for f in tlsdump_frames(cap)[:40]:
            lines.append(repr(f))
    except FormatError as e:
        lines.append("undecodable: %s" % e)
    return "\n".join(lines)
