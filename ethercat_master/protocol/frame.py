"""EtherCAT frames (ETG.1000.4, 5.3 "Frame structure") in Ethernet and in UDP.

An EtherCAT frame is an Ethernet frame of EtherType 0x88A4 (or a UDP datagram to port
0x88A4) whose payload starts with a 2-byte EtherCAT header followed by datagrams::

    Ethernet: dst(6) src(6) [VLAN tag(4)] EtherType 0x88A4(2) | EtherCAT header(2) | datagrams | padding
    UDP:      ... UDP header, port 0x88A4                        | EtherCAT header(2) | datagrams

    EtherCAT header (little-endian u16): length (11 bits) | reserved (1 bit) | type (4 bits)

``length`` counts the datagram bytes that follow (not the padding). Type 1 carries EtherCAT
commands (datagrams); types 4 (network variables) and 5 (mailbox gateway) carry other
payloads that a master does not exchange with its slaves.

In this project a link moves the EtherCAT payload (header + datagrams); the raw Ethernet link
adds and removes the Ethernet header and the padding to the 60-byte Ethernet minimum.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, replace
from typing import Iterable, Sequence, Union

from ..errors import ProtocolError
from .datagram import (
    DATAGRAM_HEADER,
    DATAGRAM_HEADER_SIZE,
    DATAGRAM_OVERHEAD,
    LENGTH_MASK,
    MORE_FOLLOWS_FLAG,
    WKC,
    Command,
    Datagram,
)

__all__ = [
    "ETHERTYPE_ETHERCAT",
    "ETHERTYPE_VLAN",
    "UDP_PORT_ETHERCAT",
    "ETHERNET_HEADER_SIZE",
    "ETHERNET_MIN_FRAME",
    "ETHERNET_MAX_FRAME",
    "ECAT_HEADER_SIZE",
    "MAX_DATAGRAMS_BYTES",
    "BROADCAST_MAC",
    "FrameType",
    "EthernetHeader",
    "Frame",
    "FrameBuilder",
    "DatagramSlot",
    "ethernet_frame",
    "parse_ethernet",
]

Buffer = Union[bytes, bytearray, memoryview]

ETHERTYPE_ETHERCAT = 0x88A4
ETHERTYPE_VLAN = 0x8100
UDP_PORT_ETHERCAT = 0x88A4
BROADCAST_MAC = b"\xff" * 6

ETHERNET_HEADER = struct.Struct("!6s6sH")  # EtherType is big-endian (network order)
ETHERNET_HEADER_SIZE = ETHERNET_HEADER.size  # 14
VLAN_TAG_SIZE = 4
#: Smallest Ethernet frame without the FCS; shorter frames are padded with zeros.
ETHERNET_MIN_FRAME = 60
#: Largest standard Ethernet frame without the FCS (1500 bytes of payload).
ETHERNET_MAX_FRAME = 1514
ETHERNET_MTU = 1500

ECAT_HEADER = struct.Struct("<H")
ECAT_HEADER_SIZE = ECAT_HEADER.size  # 2
ECAT_LENGTH_MASK = 0x07FF
ECAT_RESERVED_BIT = 0x0800
ECAT_TYPE_SHIFT = 12
#: Datagram bytes that fit into one standard Ethernet frame.
MAX_DATAGRAMS_BYTES = ETHERNET_MTU - ECAT_HEADER_SIZE  # 1498


class FrameType(enum.IntEnum):
    """The EtherCAT header's type field (ETG.1000.4 Table 12)."""

    DLPDU = 1  # EtherCAT commands (datagrams)
    NETWORK_VARIABLES = 4
    MAILBOX_GATEWAY = 5


@dataclass(frozen=True, slots=True)
class EthernetHeader:
    """Destination MAC, source MAC and EtherType of an Ethernet frame (VLAN tag skipped)."""

    destination: bytes
    source: bytes
    ethertype: int

    def encode(self) -> bytes:
        """The 14 header bytes."""
        return ETHERNET_HEADER.pack(self.destination, self.source, self.ethertype)


def ethernet_frame(payload: Buffer, source: bytes, destination: bytes = BROADCAST_MAC,
                   ethertype: int = ETHERTYPE_ETHERCAT) -> bytes:
    """A complete Ethernet frame (without FCS) around ``payload``, padded to 60 bytes."""
    frame = ETHERNET_HEADER.pack(destination, source, ethertype) + bytes(payload)
    if len(frame) < ETHERNET_MIN_FRAME:
        frame += bytes(ETHERNET_MIN_FRAME - len(frame))
    return frame


def parse_ethernet(frame: Buffer) -> tuple[EthernetHeader, memoryview]:
    """Split an Ethernet frame into its header and payload (one 802.1Q VLAN tag is skipped).

    The payload still includes any padding; :meth:`Frame.decode` ignores bytes past the
    EtherCAT header's length.
    """
    if len(frame) < ETHERNET_HEADER_SIZE:
        raise ProtocolError("Ethernet frame", f"{len(frame)} bytes, shorter than the 14-byte header", 0)
    dst, src, ethertype = ETHERNET_HEADER.unpack_from(frame, 0)
    offset = ETHERNET_HEADER_SIZE
    if ethertype == ETHERTYPE_VLAN:
        if len(frame) < ETHERNET_HEADER_SIZE + VLAN_TAG_SIZE:
            raise ProtocolError("Ethernet frame", "VLAN tag truncated", ETHERNET_HEADER_SIZE)
        (ethertype,) = struct.unpack_from("!H", frame, ETHERNET_HEADER_SIZE + 2)
        offset += VLAN_TAG_SIZE
    return EthernetHeader(dst, src, ethertype), memoryview(frame)[offset:]


def encode_ecat_header(length: int, frame_type: int = FrameType.DLPDU) -> bytes:
    """The 2-byte EtherCAT header."""
    if not 0 <= length <= ECAT_LENGTH_MASK:
        raise ValueError(f"EtherCAT length {length} out of range 0..{ECAT_LENGTH_MASK}")
    return ECAT_HEADER.pack(length | (int(frame_type) << ECAT_TYPE_SHIFT))


def decode_ecat_header(data: Buffer) -> tuple[int, int]:
    """Decode the EtherCAT header into (length, type)."""
    if len(data) < ECAT_HEADER_SIZE:
        raise ProtocolError("EtherCAT header", f"{len(data)} bytes, needs {ECAT_HEADER_SIZE}", 0)
    (word,) = ECAT_HEADER.unpack_from(data, 0)
    return word & ECAT_LENGTH_MASK, word >> ECAT_TYPE_SHIFT


@dataclass(frozen=True, slots=True)
class Frame:
    """An EtherCAT frame of type 1: a sequence of datagrams.

    :meth:`encode` sets each datagram's more-follows bit from its place in the frame.
    """

    datagrams: tuple[Datagram, ...]

    def __init__(self, datagrams: Iterable[Datagram]):
        dgs = list(datagrams)
        last = len(dgs) - 1
        for i, dg in enumerate(dgs):  # more-follows follows from the place in the frame
            if dg.more_follows != (i != last):
                dgs[i] = replace(dg, more_follows=i != last)
        object.__setattr__(self, "datagrams", tuple(dgs))
        if not self.datagrams:
            raise ValueError("an EtherCAT frame carries at least one datagram")
        if self.datagrams_size > MAX_DATAGRAMS_BYTES:
            raise ValueError(f"datagrams of {self.datagrams_size} bytes exceed one frame "
                             f"({MAX_DATAGRAMS_BYTES} bytes)")

    @property
    def datagrams_size(self) -> int:
        """Bytes of all datagrams, the EtherCAT header's length field."""
        return sum(d.size for d in self.datagrams)

    def encode(self) -> bytes:
        """EtherCAT header and datagrams (the payload a link sends)."""
        size = self.datagrams_size
        buf = bytearray(ECAT_HEADER_SIZE + size)
        ECAT_HEADER.pack_into(buf, 0, size | (FrameType.DLPDU << ECAT_TYPE_SHIFT))
        offset = ECAT_HEADER_SIZE
        last = len(self.datagrams) - 1
        for i, dg in enumerate(self.datagrams):
            offset = dg.encode_into(buf, offset, more_follows=i != last)
        return bytes(buf)

    @classmethod
    def decode(cls, payload: Buffer) -> "Frame":
        """Decode an EtherCAT payload (header and datagrams; trailing padding is ignored).

        Raises :class:`ProtocolError` when the header's type is not 1, its length does not
        fit, or the datagrams' lengths and more-follows bits disagree with it.
        """
        length, ftype = decode_ecat_header(payload)
        if ftype != FrameType.DLPDU:
            raise ProtocolError("EtherCAT frame", f"type {ftype} is not 1 (EtherCAT commands)", 1)
        if ECAT_HEADER_SIZE + length > len(payload):
            raise ProtocolError("EtherCAT frame", f"header length {length} exceeds the "
                                f"{len(payload) - ECAT_HEADER_SIZE} bytes that follow it", 0)
        body = memoryview(payload)[:ECAT_HEADER_SIZE + length]
        offset = ECAT_HEADER_SIZE
        datagrams = []
        while True:
            dg, offset = Datagram.decode_from(body, offset)
            datagrams.append(dg)
            if not dg.more_follows:
                break
            if offset >= len(body):
                raise ProtocolError("EtherCAT frame", "last datagram has more-follows set", offset)
        if offset != len(body):
            raise ProtocolError("EtherCAT frame", f"header length {length} but datagrams end "
                                f"after {offset - ECAT_HEADER_SIZE} bytes", offset)
        return cls(datagrams)


class DatagramSlot:
    """A datagram laid out in a :class:`FrameBuilder`'s buffer, reused cycle after cycle.

    ``data`` is a writable view of the datagram's data area inside the frame buffer: writing
    into it (or wrapping it in a numpy array) changes what the next send carries, with no copy.
    """

    __slots__ = ("_buf", "offset", "length", "data")

    def __init__(self, buf: bytearray, offset: int, length: int):
        self._buf = buf
        self.offset = offset
        self.length = length
        start = offset + DATAGRAM_HEADER_SIZE
        self.data = memoryview(buf)[start:start + length]

    @property
    def command(self) -> Command:
        """The datagram's command."""
        return Command(self._buf[self.offset])

    @property
    def index(self) -> int:
        """The datagram's index (set it before each send to match replies)."""
        return self._buf[self.offset + 1]

    @index.setter
    def index(self, value: int) -> None:
        self._buf[self.offset + 1] = value

    @property
    def wkc(self) -> int:
        """The working counter field in the buffer."""
        return WKC.unpack_from(self._buf, self.offset + DATAGRAM_HEADER_SIZE + self.length)[0]

    @wkc.setter
    def wkc(self, value: int) -> None:
        WKC.pack_into(self._buf, self.offset + DATAGRAM_HEADER_SIZE + self.length, value)

    def reply_wkc(self, reply: Buffer) -> int:
        """Check that ``reply`` (a received payload of the same layout) carries this datagram
        back (same command, index and length) and return its working counter."""
        o = self.offset
        end = o + DATAGRAM_OVERHEAD + self.length
        if len(reply) < end:
            raise ProtocolError("EtherCAT frame", f"reply of {len(reply)} bytes is too short for "
                                f"the datagram at byte {o}", o)
        if reply[o] != self._buf[o] or reply[o + 1] != self._buf[o + 1]:
            raise ProtocolError("EtherCAT frame", f"reply carries command {reply[o]} index "
                                f"{reply[o + 1]} where {self._buf[o]}/{self._buf[o + 1]} was sent", o)
        if (reply[o + 6] | (reply[o + 7] << 8)) & LENGTH_MASK != self.length:
            raise ProtocolError("EtherCAT frame", "reply datagram length differs from the request", o + 6)
        return WKC.unpack_from(reply, end - 2)[0]

    def reply_data(self, reply: Buffer) -> memoryview:
        """The data area of this datagram inside ``reply`` (call :meth:`reply_wkc` first)."""
        start = self.offset + DATAGRAM_HEADER_SIZE
        return memoryview(reply)[start:start + self.length]


class FrameBuilder:
    """Lays out datagrams in one preallocated buffer for sending without allocation.

    Build once (``add`` per datagram), then per cycle fill the slots' ``data``, reset their
    ``wkc`` and send :meth:`payload`. Adding after a payload was taken is allowed; the header
    length and more-follows bits are fixed up on each :meth:`payload` call that follows an add.
    """

    def __init__(self, capacity: int = MAX_DATAGRAMS_BYTES):
        if not DATAGRAM_OVERHEAD <= capacity <= MAX_DATAGRAMS_BYTES:
            raise ValueError(f"capacity {capacity} out of range {DATAGRAM_OVERHEAD}..{MAX_DATAGRAMS_BYTES}")
        self.capacity = capacity
        self._buf = bytearray(ECAT_HEADER_SIZE + capacity)
        self._slots: list[DatagramSlot] = []
        self._end = ECAT_HEADER_SIZE
        self._view: memoryview | None = None

    @property
    def slots(self) -> Sequence[DatagramSlot]:
        """The datagrams added so far, in frame order."""
        return self._slots

    @property
    def free(self) -> int:
        """Data bytes one more datagram could still carry."""
        return max(0, ECAT_HEADER_SIZE + self.capacity - self._end - DATAGRAM_OVERHEAD)

    def fits(self, length: int) -> bool:
        """True when a datagram with ``length`` data bytes fits into the remaining space."""
        return length <= self.free

    def add(self, command: Command, address: int, length: int = 0, data: Buffer | None = None,
            index: int = 0) -> DatagramSlot:
        """Append a datagram; ``data`` (if given) fills its data area, else it is zeroed."""
        if data is not None:
            length = len(data)
        if not 0 <= length <= LENGTH_MASK or not self.fits(length):
            raise ValueError(f"a datagram of {length} data bytes does not fit "
                             f"({self.free} bytes free in this frame)")
        o = self._end
        if self._slots:  # the previous datagram now has one following it
            prev = self._slots[-1].offset + 6
            self._buf[prev + 1] |= MORE_FOLLOWS_FLAG >> 8
        DATAGRAM_HEADER.pack_into(self._buf, o, int(command), index, address, length, 0)
        slot = DatagramSlot(self._buf, o, length)
        if data is not None:
            slot.data[:] = data
        else:
            slot.data[:] = bytes(length)
        slot.wkc = 0
        self._slots.append(slot)
        self._end = o + DATAGRAM_OVERHEAD + length
        ECAT_HEADER.pack_into(self._buf, 0, (self._end - ECAT_HEADER_SIZE) | (FrameType.DLPDU << ECAT_TYPE_SHIFT))
        self._view = memoryview(self._buf)[:self._end]
        return slot

    def payload(self) -> memoryview:
        """The frame's EtherCAT payload (header and datagrams), a view of the buffer."""
        if self._view is None:
            raise ValueError("a frame needs at least one datagram")
        return self._view

    def clear(self) -> None:
        """Remove all datagrams (the buffer is kept)."""
        self._slots.clear()
        self._end = ECAT_HEADER_SIZE
        self._view = None
