"""Frame recorder: writes what a link sends and receives to a pcap file Wireshark opens;
and a reader of pcap and pcapng captures.

Classic libpcap format with nanosecond timestamps (magic 0xA1B23C4D) and link type 1
(Ethernet). Links carry EtherCAT payloads; the recorder wraps each one in an Ethernet
header of EtherType 0x88A4 (source MAC: the recorder's, broadcast destination) so that
Wireshark's EtherCAT dissector decodes it. Direction is marked in the source MAC: frames the
master sent carry ``source``, frames it received carry ``source`` with the second address
byte incremented, the way a slave's port 0 marks a frame it processed (bit 1 of byte 0 set).
"""

from __future__ import annotations

import os
import struct
import threading
import time
from dataclasses import dataclass
from typing import BinaryIO, Iterator, Union

from ..errors import ProtocolError
from ..protocol.frame import ethernet_frame

__all__ = ["PcapRecorder", "PcapRecord", "read_pcap", "LINKTYPE_ETHERNET"]

PCAP_MAGIC_NS = 0xA1B23C4D
PCAP_MAGIC_US = 0xA1B2C3D4
PCAP_VERSION = (2, 4)
LINKTYPE_ETHERNET = 1
#: magic, version major, minor, thiszone, sigfigs, snaplen, network (link type).
PCAP_HEADER = struct.Struct("<IHHiIII")
#: seconds, sub-second (ns or us), captured length, original length.
PCAP_RECORD = struct.Struct("<IIII")
SNAPLEN = 65535
#: Source MAC of recorded master frames (locally administered).
DEFAULT_SOURCE = bytes.fromhex("020000000001")


class PcapRecorder:
    """Appends frames to a pcap file; thread-safe, flushes every record.

    Attach to a link with ``link.record_to(PcapRecorder(path))``; close it when done.
    """

    def __init__(self, path: Union[str, os.PathLike], source: bytes = DEFAULT_SOURCE):
        self.path = os.fspath(path)
        self._file: BinaryIO = open(self.path, "wb")
        self._file.write(PCAP_HEADER.pack(PCAP_MAGIC_NS, *PCAP_VERSION, 0, 0, SNAPLEN, LINKTYPE_ETHERNET))
        self._lock = threading.Lock()
        self._out_src = source
        self._in_src = bytes([source[0] | 0x02, (source[1] + 1) & 0xFF]) + source[2:]
        self.count = 0

    def record(self, payload: bytes | bytearray | memoryview, outgoing: bool) -> None:
        """Write one EtherCAT payload as an Ethernet frame, timestamped now."""
        frame = ethernet_frame(payload, self._out_src if outgoing else self._in_src)
        self.record_ethernet(frame)

    def record_ethernet(self, frame: bytes, timestamp_ns: int | None = None) -> None:
        """Write one complete Ethernet frame."""
        ts = time.time_ns() if timestamp_ns is None else timestamp_ns
        sec, nsec = divmod(ts, 1_000_000_000)
        with self._lock:
            if self._file.closed:
                return
            self._file.write(PCAP_RECORD.pack(sec, nsec, len(frame), len(frame)))
            self._file.write(frame)
            self._file.flush()
            self.count += 1

    def close(self) -> None:
        """Close the file (later records are dropped)."""
        with self._lock:
            self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class PcapRecord:
    """One frame read back from a pcap file."""

    timestamp_ns: int
    frame: bytes
    original_length: int


def read_pcap(path: Union[str, os.PathLike]) -> Iterator[PcapRecord]:
    """Yield the Ethernet frames of a capture file: classic pcap (micro- or nanosecond) or
    pcapng (what Wireshark and tshark write by default), little-endian.

    Raises :class:`ProtocolError` for a file that is neither, or is truncated inside a record.
    Packets of pcapng interfaces whose link type is not Ethernet are skipped.
    """
    with open(path, "rb") as f:
        head = f.read(4)
        if len(head) == 4 and struct.unpack("<I", head)[0] == PCAPNG_SECTION_HEADER:
            yield from _read_pcapng(f, head)
        else:
            yield from _read_classic(f, head)


def _read_classic(f: BinaryIO, first: bytes) -> Iterator[PcapRecord]:
    head = first + f.read(PCAP_HEADER.size - len(first))
    if len(head) < PCAP_HEADER.size:
        raise ProtocolError("pcap file", "shorter than the pcap header", 0)
    magic, _maj, _min, _zone, _sig, _snap, linktype = PCAP_HEADER.unpack(head)
    if magic not in (PCAP_MAGIC_NS, PCAP_MAGIC_US):
        raise ProtocolError("pcap file", f"magic 0x{magic:08X} is neither little-endian pcap nor pcapng", 0)
    if linktype != LINKTYPE_ETHERNET:
        raise ProtocolError("pcap file", f"link type {linktype} is not Ethernet (1)", 20)
    scale = 1 if magic == PCAP_MAGIC_NS else 1000
    offset = PCAP_HEADER.size
    while True:
        rec = f.read(PCAP_RECORD.size)
        if not rec:
            return
        if len(rec) < PCAP_RECORD.size:
            raise ProtocolError("pcap file", "truncated record header", offset)
        sec, frac, incl, orig = PCAP_RECORD.unpack(rec)
        if incl > SNAPLEN:
            raise ProtocolError("pcap file", f"record of {incl} bytes exceeds the snap length", offset)
        frame = f.read(incl)
        if len(frame) < incl:
            raise ProtocolError("pcap file", "truncated record data", offset)
        yield PcapRecord(sec * 1_000_000_000 + frac * scale, frame, orig)
        offset += PCAP_RECORD.size + incl


# pcapng (IETF draft-ietf-opsawg-pcapng): block type, total length, body, total length again.
PCAPNG_SECTION_HEADER = 0x0A0D0D0A
PCAPNG_INTERFACE_DESCRIPTION = 0x00000001
PCAPNG_SIMPLE_PACKET = 0x00000003
PCAPNG_ENHANCED_PACKET = 0x00000006
PCAPNG_BYTE_ORDER_MAGIC = 0x1A2B3C4D
PCAPNG_OPTION_TSRESOL = 9
PCAPNG_BLOCK_HEADER = struct.Struct("<II")
PCAPNG_IDB = struct.Struct("<HHI")  # link type, reserved, snap length
PCAPNG_EPB = struct.Struct("<IIIII")  # interface, timestamp high, low, captured, original
PCAPNG_OPTION = struct.Struct("<HH")
MAX_BLOCK = 1 << 24
DEFAULT_TS_UNITS_PER_SECOND = 1_000_000


def _pad4(n: int) -> int:
    return (n + 3) & ~3


def _read_pcapng(f: BinaryIO, first: bytes) -> Iterator[PcapRecord]:
    interfaces: list[tuple[int, int]] = []  # (link type, timestamp units per second)
    offset = 0
    head = first + f.read(4)
    while head:
        if len(head) < PCAPNG_BLOCK_HEADER.size:
            raise ProtocolError("pcapng file", "truncated block header", offset)
        btype, total = PCAPNG_BLOCK_HEADER.unpack(head)
        if total < 12 or total % 4 or total > MAX_BLOCK:
            raise ProtocolError("pcapng file", f"block length {total} is invalid", offset)
        body = f.read(total - 8)
        if len(body) < total - 8:
            raise ProtocolError("pcapng file", "truncated block", offset)
        body = body[:-4]  # trailing copy of the total length
        if btype == PCAPNG_SECTION_HEADER:
            if len(body) < 4 or struct.unpack_from("<I", body)[0] != PCAPNG_BYTE_ORDER_MAGIC:
                raise ProtocolError("pcapng file", "only little-endian sections are supported", offset)
            interfaces = []
        elif btype == PCAPNG_INTERFACE_DESCRIPTION:
            if len(body) < PCAPNG_IDB.size:
                raise ProtocolError("pcapng file", "truncated interface description", offset)
            linktype = PCAPNG_IDB.unpack_from(body)[0]
            interfaces.append((linktype, _tsresol(body[PCAPNG_IDB.size:], offset)))
        elif btype == PCAPNG_ENHANCED_PACKET:
            if len(body) < PCAPNG_EPB.size:
                raise ProtocolError("pcapng file", "truncated enhanced packet block", offset)
            iface, ts_hi, ts_lo, captured, original = PCAPNG_EPB.unpack_from(body)
            if iface >= len(interfaces) or PCAPNG_EPB.size + captured > len(body):
                raise ProtocolError("pcapng file", "packet refers to an unknown interface or "
                                    "runs past its block", offset)
            linktype, units = interfaces[iface]
            if linktype == LINKTYPE_ETHERNET:
                ticks = (ts_hi << 32) | ts_lo
                frame = body[PCAPNG_EPB.size:PCAPNG_EPB.size + captured]
                yield PcapRecord(ticks * 1_000_000_000 // units, frame, original)
        elif btype == PCAPNG_SIMPLE_PACKET:
            if len(body) < 4 or not interfaces:
                raise ProtocolError("pcapng file", "simple packet block without interface", offset)
            (original,) = struct.unpack_from("<I", body)
            if interfaces[0][0] == LINKTYPE_ETHERNET:
                yield PcapRecord(0, body[4:4 + original], original)
        offset += total
        head = f.read(PCAPNG_BLOCK_HEADER.size)


def _tsresol(options: bytes, offset: int) -> int:
    """Timestamp units per second from an interface's if_tsresol option (default: microseconds)."""
    pos = 0
    while pos + PCAPNG_OPTION.size <= len(options):
        code, length = PCAPNG_OPTION.unpack_from(options, pos)
        if code == 0:
            break
        value = options[pos + PCAPNG_OPTION.size:pos + PCAPNG_OPTION.size + length]
        if code == PCAPNG_OPTION_TSRESOL and len(value) == 1:
            exponent = value[0] & 0x7F
            if exponent > 30:
                raise ProtocolError("pcapng file", f"timestamp resolution 2^-{exponent} unsupported", offset)
            return (2 ** exponent) if value[0] & 0x80 else (10 ** exponent)
        pos += PCAPNG_OPTION.size + _pad4(length)
    return DEFAULT_TS_UNITS_PER_SECOND
