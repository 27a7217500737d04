"""Frame recorder: writes what a link sends and receives to a pcap file Wireshark opens.

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
from ..protocol.frame import ETHERNET_MAX_FRAME, ethernet_frame

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
    """Yield the frames of a classic pcap file (micro- or nanosecond, Ethernet link type).

    Raises :class:`ProtocolError` for a file that is not such a pcap file or is truncated
    inside a record.
    """
    with open(path, "rb") as f:
        head = f.read(PCAP_HEADER.size)
        if len(head) < PCAP_HEADER.size:
            raise ProtocolError("pcap file", "shorter than the pcap header", 0)
        magic, _maj, _min, _zone, _sig, _snap, linktype = PCAP_HEADER.unpack(head)
        if magic not in (PCAP_MAGIC_NS, PCAP_MAGIC_US):
            raise ProtocolError("pcap file", f"magic 0x{magic:08X} is not little-endian pcap", 0)
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
            if incl > max(SNAPLEN, ETHERNET_MAX_FRAME):
                raise ProtocolError("pcap file", f"record of {incl} bytes exceeds the snap length", offset)
            frame = f.read(incl)
            if len(frame) < incl:
                raise ProtocolError("pcap file", "truncated record data", offset)
            yield PcapRecord(sec * 1_000_000_000 + frac * scale, frame, orig)
            offset += PCAP_RECORD.size + incl
