"""Ethernet over EtherCAT (EoE): the payload that follows the 6-byte mailbox header.

Sources: ETG.1000.6, EoE services and their coding (EoE header, fragmentation in 32-byte
blocks, Set/Get IP Parameter, result codes), as reproduced in the Beckhoff slave stack code
(``ecateoe.h``/``ecateoe.c``), SOEM (``ethercateoe.h``/``ethercateoe.c``), SOES
(``esc_eoe.c``), IgH (``fsm_eoe.c``) and Wireshark (``packet-ecatmb.c``, EoE dissector).

The 4-byte EoE header, two little-endian words::

    frame info 1  bit 0-3    frame type (EoEFrameType)
                  bit 4-7    port (0 = unspecified)
                  bit 8      last fragment              (fragments only)
                  bit 9      time stamp appended        (last fragment only)
                  bit 10     time stamp requested       (fragments only)
                  bit 11-15  reserved, 0
    frame info 2  fragments and time stamp responses:
                  bit 0-5    fragment number
                  bit 6-11   fragment 0: complete frame size, later fragments: offset of the
                             fragment's data in the frame; both in 32-byte blocks (size rounded up)
                  bit 12-15  frame number
                  responses: result code (EoEResult)

A fragment carries a piece of an Ethernet frame (without FCS); every fragment but the last
carries a multiple of 32 bytes, so that the offsets fit the 32-byte grid. When "time stamp
appended" is set on the last fragment, a 32-bit time stamp follows the data.

Set IP Parameter request / Get IP Parameter response body: a 32-bit flags field
(:class:`EoEIpFlag`) followed by the flagged fields, in this order: MAC address (6 bytes),
IP address, subnet mask, default gateway, DNS server (4 bytes each, a little-endian UDINT,
so ``192.168.1.10`` is sent as ``0A 01 A8 C0``), DNS name (32 bytes, NUL padded).

Which fields are present: SOEM (since PR #436, 2020), SOES and the Beckhoff stack's length
check send and parse *only the flagged fields*, packed; that is what the encoder here writes.
IgH (``fsm_eoe.c``) and Wireshark instead use a fixed 58-byte body in which every field has
its place and only the flags tell which are valid. Both layouts give the same bytes when the
flagged fields are a prefix of the list above. The decoder reads the packed layout, and reads
a body of exactly the fixed size whose flags do not name every field as the fixed layout
(a packed body reaches that size only when every field is flagged, so this is unambiguous).
The DNS name may be shorter than 32 bytes in a packed body (SOES and the Beckhoff stack
accept 1 to 32 bytes); it ends at the first NUL and is read as latin-1.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import ClassVar, Self, TypeAlias, Union

from ethercat_master.errors import ProtocolError

__all__ = [
    "EOE_HEADER_SIZE",
    "EOE_BLOCK_SIZE",
    "EOE_MAX_FRAME_SIZE",
    "EoEFrameType",
    "EoEResult",
    "EoEIpFlag",
    "EoEHeader",
    "EoEFragment",
    "fragment_frame",
    "Reassembler",
    "EoETimestampResponse",
    "EoEIpParameters",
    "SetIpParameterRequest",
    "SetIpParameterResponse",
    "GetIpParameterRequest",
    "GetIpParameterResponse",
    "EoEUnparsedFrame",
    "EoEMessage",
    "decode_eoe",
]

#: Frame info 1 and frame info 2.
_HEADER = struct.Struct("<HH")
#: Size of the EoE header.
EOE_HEADER_SIZE = _HEADER.size
#: Byte offset of frame info 2.
_INFO2_OFFSET = 2
#: The time stamp appended to a last fragment, or sent in a time stamp response.
_TIMESTAMP = struct.Struct("<I")
#: The flags field of the IP parameter body.
_IP_FLAGS = struct.Struct("<I")
#: An IPv4 address as the little-endian UDINT ETG.1000.6 uses.
_IPV4 = struct.Struct("<I")

_FRAME_TYPE_MASK = 0x000F
_PORT_MASK = 0x00F0
_PORT_SHIFT = 4
_LAST_FRAGMENT = 0x0100
_TIME_APPENDED = 0x0200
_TIME_REQUESTED = 0x0400
_INFO1_RESERVED = 0xF800

_FRAGMENT_NUMBER_MASK = 0x003F
_BLOCKS_MASK = 0x0FC0
_BLOCKS_SHIFT = 6
_FRAME_NUMBER_MASK = 0xF000
_FRAME_NUMBER_SHIFT = 12

_MAX_FRAME_TYPE = _FRAME_TYPE_MASK
_MAX_PORT = _PORT_MASK >> _PORT_SHIFT
_MAX_FRAGMENT_NUMBER = _FRAGMENT_NUMBER_MASK
_MAX_BLOCKS = _BLOCKS_MASK >> _BLOCKS_SHIFT
_MAX_FRAME_NUMBER = _FRAME_NUMBER_MASK >> _FRAME_NUMBER_SHIFT
_U16_MAX = 0xFFFF
_U32_MAX = 0xFFFF_FFFF

#: Fragment granularity: sizes and offsets count in blocks of this many bytes.
EOE_BLOCK_SIZE = 32
#: Largest Ethernet frame the 6-bit size field can announce.
EOE_MAX_FRAME_SIZE = _MAX_BLOCKS * EOE_BLOCK_SIZE

_MAC_SIZE = 6
_IPV4_SIZE = _IPV4.size
_DNS_NAME_SIZE = 32
_TEXT_ENCODING = "latin-1"
_TEXT_TERMINATOR = b"\x00"


class EoEFrameType(enum.IntEnum):
    """EoE frame types (bits 0-3 of frame info 1); 10-15 are reserved."""

    FRAGMENT = 0
    TIMESTAMP_RESPONSE = 1
    SET_IP_REQUEST = 2
    SET_IP_RESPONSE = 3
    SET_ADDRESS_FILTER_REQUEST = 4
    SET_ADDRESS_FILTER_RESPONSE = 5
    GET_IP_PARAMETER_REQUEST = 6
    GET_IP_PARAMETER_RESPONSE = 7
    GET_ADDRESS_FILTER_REQUEST = 8
    GET_ADDRESS_FILTER_RESPONSE = 9


class EoEResult(enum.IntEnum):
    """EoE result codes of the responses; slaves may send other values."""

    SUCCESS = 0x0000
    UNSPECIFIED_ERROR = 0x0001
    UNSUPPORTED_FRAME_TYPE = 0x0002
    NO_IP_SUPPORT = 0x0201
    NO_DHCP_SUPPORT = 0x0202
    NO_FILTER_SUPPORT = 0x0401


class EoEIpFlag(enum.IntFlag):
    """Flags of the IP parameter body: which fields it contains."""

    MAC_ADDRESS = 0x0000_0001
    IP_ADDRESS = 0x0000_0002
    SUBNET_MASK = 0x0000_0004
    DEFAULT_GATEWAY = 0x0000_0008
    DNS_SERVER = 0x0000_0010
    DNS_NAME = 0x0000_0020
    #: Ask the slave to append time stamps to the frames it sends (Wireshark, Beckhoff stack).
    APPEND_TIMESTAMP = 0x0001_0000


_FRAME_TYPES = frozenset(member.value for member in EoEFrameType)
_RESULTS = frozenset(member.value for member in EoEResult)
_ALL_IP_FIELDS = (
    EoEIpFlag.MAC_ADDRESS
    | EoEIpFlag.IP_ADDRESS
    | EoEIpFlag.SUBNET_MASK
    | EoEIpFlag.DEFAULT_GATEWAY
    | EoEIpFlag.DNS_SERVER
    | EoEIpFlag.DNS_NAME
)
_KNOWN_IP_FLAGS = _ALL_IP_FIELDS | EoEIpFlag.APPEND_TIMESTAMP
#: The IP parameter fields in wire order, with their sizes.
_IP_FIELDS = (
    (EoEIpFlag.MAC_ADDRESS, _MAC_SIZE),
    (EoEIpFlag.IP_ADDRESS, _IPV4_SIZE),
    (EoEIpFlag.SUBNET_MASK, _IPV4_SIZE),
    (EoEIpFlag.DEFAULT_GATEWAY, _IPV4_SIZE),
    (EoEIpFlag.DNS_SERVER, _IPV4_SIZE),
    (EoEIpFlag.DNS_NAME, _DNS_NAME_SIZE),
)
#: Size of the fixed IP parameter body used by IgH and Wireshark.
_FIXED_IP_BODY_SIZE = _IP_FLAGS.size + sum(size for _, size in _IP_FIELDS)


def _check_range(name: str, value: int, maximum: int) -> None:
    if not 0 <= value <= maximum:
        raise ValueError(f"{name} {value!r} is outside 0..{maximum}")


def _result(value: int) -> EoEResult | int:
    """The :class:`EoEResult` for ``value``, or ``value`` itself when it is not defined."""
    return EoEResult(value) if value in _RESULTS else value


@dataclass(frozen=True, slots=True)
class EoEHeader:
    """The 4-byte EoE header that starts every EoE payload."""

    STRUCTURE: ClassVar[str] = "EoE header"

    #: Frame type (:class:`EoEFrameType`, or the raw value when reserved).
    frame_type: EoEFrameType | int
    #: Port of the slave the frame is for (0 = unspecified).
    port: int = 0
    #: Last fragment of a frame (meaningful for fragments only).
    last_fragment: bool = False
    #: A time stamp follows the data (last fragment only).
    time_appended: bool = False
    #: The sender asks for a time stamp response (fragments only).
    time_requested: bool = False
    #: Frame info 2: fragment number, size/offset and frame number, or a result code.
    frame_info: int = 0

    def encode(self) -> bytes:
        """The 4 header bytes."""
        _check_range("frame type", self.frame_type, _MAX_FRAME_TYPE)
        _check_range("port", self.port, _MAX_PORT)
        _check_range("frame info 2", self.frame_info, _U16_MAX)
        info1 = self.frame_type | self.port << _PORT_SHIFT
        info1 |= _LAST_FRAGMENT if self.last_fragment else 0
        info1 |= _TIME_APPENDED if self.time_appended else 0
        info1 |= _TIME_REQUESTED if self.time_requested else 0
        return _HEADER.pack(info1, self.frame_info)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode the header at the start of ``data``; raise :class:`ProtocolError`."""
        raw = bytes(data[:EOE_HEADER_SIZE])
        if len(raw) < EOE_HEADER_SIZE:
            raise ProtocolError(cls.STRUCTURE, f"{len(raw)} bytes, needs {EOE_HEADER_SIZE}", 0)
        info1, info2 = _HEADER.unpack(raw)
        if info1 & _INFO1_RESERVED:
            raise ProtocolError(
                cls.STRUCTURE, f"reserved bits set in frame info 1 ({info1:#06x})", 0
            )
        frame_type = info1 & _FRAME_TYPE_MASK
        return cls(
            frame_type=EoEFrameType(frame_type) if frame_type in _FRAME_TYPES else frame_type,
            port=(info1 & _PORT_MASK) >> _PORT_SHIFT,
            last_fragment=bool(info1 & _LAST_FRAGMENT),
            time_appended=bool(info1 & _TIME_APPENDED),
            time_requested=bool(info1 & _TIME_REQUESTED),
            frame_info=info2,
        )


def _decode_header(
    data: bytes | bytearray | memoryview, frame_type: EoEFrameType, structure: str
) -> tuple[bytes, EoEHeader]:
    """Decode the header of a payload that must be of ``frame_type``; return bytes and header."""
    raw = bytes(data)
    try:
        header = EoEHeader.decode(raw)
    except ProtocolError as exc:
        raise ProtocolError(structure, exc.detail, exc.offset) from exc
    if header.frame_type != frame_type:
        raise ProtocolError(
            structure, f"frame type {header.frame_type}, expected {frame_type.value}", 0
        )
    return raw, header


def _single_header(frame_type: EoEFrameType, port: int, frame_info: int = 0) -> bytes:
    """Header of a frame that fits one mailbox (last fragment set, as SOEM and SOES send it)."""
    return EoEHeader(frame_type, port=port, last_fragment=True, frame_info=frame_info).encode()


def _check_reserved_info(structure: str, header: EoEHeader) -> None:
    if header.frame_info:
        raise ProtocolError(
            structure, f"reserved frame info 2 is {header.frame_info:#06x}, not 0", _INFO2_OFFSET
        )


def _check_no_body(structure: str, raw: bytes) -> None:
    if len(raw) != EOE_HEADER_SIZE:
        extra = len(raw) - EOE_HEADER_SIZE
        raise ProtocolError(structure, f"{extra} bytes after the header", EOE_HEADER_SIZE)


# ------------------------------------------------------------------------------ fragments
@dataclass(frozen=True, slots=True)
class EoEFragment:
    """One fragment of an Ethernet frame (frame type 0)."""

    STRUCTURE: ClassVar[str] = "EoE fragment"

    #: Number of this fragment in its frame, 0-63.
    fragment_number: int
    #: Fragment 0: complete frame size; later fragments: data offset. In 32-byte blocks.
    size_or_offset: int
    #: Number of the frame this fragment belongs to, 0-15.
    frame_number: int
    #: This is the last fragment of the frame.
    last_fragment: bool
    #: The piece of the Ethernet frame; a multiple of 32 bytes unless last.
    data: bytes
    #: Port of the slave (0 = unspecified).
    port: int = 0
    #: The sender asks for a time stamp response.
    time_requested: bool = False
    #: Time stamp appended to the last fragment, if any.
    timestamp: int | None = None

    def encode(self) -> bytes:
        """The EoE payload of this fragment."""
        _check_range("fragment number", self.fragment_number, _MAX_FRAGMENT_NUMBER)
        _check_range("size or offset", self.size_or_offset, _MAX_BLOCKS)
        _check_range("frame number", self.frame_number, _MAX_FRAME_NUMBER)
        if not self.last_fragment and len(self.data) % EOE_BLOCK_SIZE:
            raise ValueError(
                f"{len(self.data)} bytes in a fragment that is not the last: not a multiple of 32"
            )
        trailer = b""
        if self.timestamp is not None:
            if not self.last_fragment:
                raise ValueError("a time stamp may only be appended to the last fragment")
            _check_range("time stamp", self.timestamp, _U32_MAX)
            trailer = _TIMESTAMP.pack(self.timestamp)
        header = EoEHeader(
            EoEFrameType.FRAGMENT,
            port=self.port,
            last_fragment=self.last_fragment,
            time_appended=self.timestamp is not None,
            time_requested=self.time_requested,
            frame_info=self.fragment_number
            | self.size_or_offset << _BLOCKS_SHIFT
            | self.frame_number << _FRAME_NUMBER_SHIFT,
        )
        return header.encode() + bytes(self.data) + trailer

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode a fragment; raise :class:`ProtocolError` when malformed."""
        raw, header = _decode_header(data, EoEFrameType.FRAGMENT, cls.STRUCTURE)
        end = len(raw)
        timestamp = None
        if header.time_appended:
            if not header.last_fragment:
                raise ProtocolError(
                    cls.STRUCTURE, "time stamp appended to a fragment that is not the last", 0
                )
            end -= _TIMESTAMP.size
            if end < EOE_HEADER_SIZE:
                raise ProtocolError(
                    cls.STRUCTURE, "too short for the appended time stamp", EOE_HEADER_SIZE
                )
            (timestamp,) = _TIMESTAMP.unpack_from(raw, end)
        payload = raw[EOE_HEADER_SIZE:end]
        if not header.last_fragment and len(payload) % EOE_BLOCK_SIZE:
            raise ProtocolError(
                cls.STRUCTURE,
                f"{len(payload)} data bytes in a fragment that is not the last: "
                "not a multiple of 32",
            )
        info = header.frame_info
        return cls(
            fragment_number=info & _FRAGMENT_NUMBER_MASK,
            size_or_offset=(info & _BLOCKS_MASK) >> _BLOCKS_SHIFT,
            frame_number=(info & _FRAME_NUMBER_MASK) >> _FRAME_NUMBER_SHIFT,
            last_fragment=header.last_fragment,
            data=payload,
            port=header.port,
            time_requested=header.time_requested,
            timestamp=timestamp,
        )


def _blocks(size: int) -> int:
    """Number of 32-byte blocks needed for ``size`` bytes."""
    return -(-size // EOE_BLOCK_SIZE)


def fragment_frame(
    ethernet_frame: bytes, max_payload: int, frame_number: int, port: int = 0
) -> list[EoEFragment]:
    """Split an Ethernet frame into EoE fragments that each fit ``max_payload`` bytes.

    ``max_payload`` is the room for the EoE payload (header included) in one mailbox, i.e.
    the mailbox size minus the 6-byte mailbox header. Every fragment but the last carries the
    largest multiple of 32 bytes that fits, as SOEM, SOES and the Beckhoff stack do.
    """
    size = len(ethernet_frame)
    if not 1 <= size <= EOE_MAX_FRAME_SIZE:
        raise ValueError(f"Ethernet frame of {size} bytes: EoE carries 1..{EOE_MAX_FRAME_SIZE}")
    room = max_payload - EOE_HEADER_SIZE
    if room < EOE_BLOCK_SIZE:
        raise ValueError(
            f"max_payload {max_payload} leaves no room for a 32-byte block after the EoE header"
        )
    _check_range("frame number", frame_number, _MAX_FRAME_NUMBER)
    _check_range("port", port, _MAX_PORT)
    block_room = room - room % EOE_BLOCK_SIZE
    fragments = []
    offset = 0
    while True:
        last = size - offset <= room
        end = size if last else offset + block_room
        number = len(fragments)
        fragments.append(
            EoEFragment(
                fragment_number=number,
                size_or_offset=_blocks(size) if number == 0 else offset // EOE_BLOCK_SIZE,
                frame_number=frame_number,
                last_fragment=last,
                data=bytes(ethernet_frame[offset:end]),
                port=port,
            )
        )
        if last:
            return fragments
        offset = end


class Reassembler:
    """Joins the fragments of one Ethernet frame after the other (pure, no I/O).

    Feed the fragments in the order they arrive; :meth:`feed` returns the complete frame
    when the last fragment arrives. A fragment that does not continue the frame in progress
    (wrong fragment number, frame number, port or offset, more data than announced) raises
    :class:`ProtocolError` and discards the frame in progress; the reassembler is then idle,
    so a fragment 0 that caused the error (because it interrupted an incomplete frame) can
    be fed again to start the next frame.
    """

    STRUCTURE: ClassVar[str] = "EoE fragment sequence"

    __slots__ = ("_buffer", "_size_blocks", "_frame_number", "_port", "_next_fragment")

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._size_blocks = 0
        self._frame_number = 0
        self._port = 0
        self._next_fragment = 0

    @property
    def in_progress(self) -> bool:
        """A frame has been started and is not complete yet."""
        return self._next_fragment != 0

    def reset(self) -> None:
        """Discard the frame in progress, if any."""
        self._buffer = bytearray()
        self._size_blocks = 0
        self._next_fragment = 0

    def _fail(self, detail: str) -> ProtocolError:
        self.reset()
        return ProtocolError(self.STRUCTURE, detail)

    def feed(self, fragment: EoEFragment) -> bytes | None:
        """Add the next fragment; return the Ethernet frame when it is complete, else None."""
        if self._next_fragment == 0:
            if fragment.fragment_number != 0:
                raise self._fail(
                    f"fragment {fragment.fragment_number} without a preceding fragment 0"
                )
            if fragment.size_or_offset == 0:
                raise self._fail("fragment 0 announces an empty frame")
            self._size_blocks = fragment.size_or_offset
            self._frame_number = fragment.frame_number
            self._port = fragment.port
        else:
            if fragment.fragment_number != self._next_fragment:
                raise self._fail(
                    f"fragment {fragment.fragment_number}, expected {self._next_fragment}"
                )
            if fragment.frame_number != self._frame_number:
                raise self._fail(
                    f"frame number {fragment.frame_number}, expected {self._frame_number}"
                )
            if fragment.port != self._port:
                raise self._fail(f"port {fragment.port}, expected {self._port}")
            offset = fragment.size_or_offset * EOE_BLOCK_SIZE
            if offset != len(self._buffer):
                raise self._fail(f"offset {offset}, expected {len(self._buffer)}")
        announced = self._size_blocks * EOE_BLOCK_SIZE
        if len(self._buffer) + len(fragment.data) > announced:
            raise self._fail(f"more than the announced {announced} bytes")
        self._buffer += fragment.data
        self._next_fragment += 1
        if not fragment.last_fragment:
            return None
        if _blocks(len(self._buffer)) != self._size_blocks:
            raise self._fail(
                f"frame of {len(self._buffer)} bytes, announced {self._size_blocks} blocks of 32"
            )
        frame = bytes(self._buffer)
        self.reset()
        return frame


# ---------------------------------------------------------------------------- time stamps
@dataclass(frozen=True, slots=True)
class EoETimestampResponse:
    """Time stamp response (frame type 1): answer to a fragment with "time stamp requested"."""

    STRUCTURE: ClassVar[str] = "EoE time stamp response"

    #: The 32-bit time stamp.
    timestamp: int
    #: Number of the frame the time stamp is for.
    frame_number: int = 0
    #: Port of the slave (0 = unspecified).
    port: int = 0

    def encode(self) -> bytes:
        """The EoE payload of this response."""
        _check_range("frame number", self.frame_number, _MAX_FRAME_NUMBER)
        _check_range("time stamp", self.timestamp, _U32_MAX)
        info = self.frame_number << _FRAME_NUMBER_SHIFT
        header = _single_header(EoEFrameType.TIMESTAMP_RESPONSE, self.port, info)
        return header + _TIMESTAMP.pack(self.timestamp)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode a time stamp response; raise :class:`ProtocolError` when malformed."""
        raw, header = _decode_header(data, EoEFrameType.TIMESTAMP_RESPONSE, cls.STRUCTURE)
        if header.frame_info & ~_FRAME_NUMBER_MASK:
            raise ProtocolError(
                cls.STRUCTURE,
                f"reserved bits set in frame info 2 ({header.frame_info:#06x})",
                _INFO2_OFFSET,
            )
        if len(raw) != EOE_HEADER_SIZE + _TIMESTAMP.size:
            expected = EOE_HEADER_SIZE + _TIMESTAMP.size
            raise ProtocolError(cls.STRUCTURE, f"{len(raw)} bytes, expected {expected}", 0)
        (timestamp,) = _TIMESTAMP.unpack_from(raw, EOE_HEADER_SIZE)
        frame_number = header.frame_info >> _FRAME_NUMBER_SHIFT
        return cls(timestamp=timestamp, frame_number=frame_number, port=header.port)


# --------------------------------------------------------------------------- IP parameters
def _encode_ipv4(name: str, address: IPv4Address) -> bytes:
    if not isinstance(address, IPv4Address):
        raise ValueError(f"{name} {address!r} is not an ipaddress.IPv4Address")
    return _IPV4.pack(int(address))


def _encode_mac(mac: bytes) -> bytes:
    if not isinstance(mac, bytes) or len(mac) != _MAC_SIZE:
        raise ValueError(f"MAC address {mac!r} is not {_MAC_SIZE} bytes")
    return mac


def _encode_dns_name(name: str) -> bytes:
    if "\x00" in name:
        raise ValueError(f"DNS name {name!r} contains NUL")
    try:
        raw = name.encode(_TEXT_ENCODING)
    except UnicodeEncodeError as exc:
        raise ValueError(f"DNS name {name!r} has characters outside latin-1") from exc
    if len(raw) > _DNS_NAME_SIZE:
        raise ValueError(f"DNS name {name!r} is longer than {_DNS_NAME_SIZE} bytes")
    return raw.ljust(_DNS_NAME_SIZE, _TEXT_TERMINATOR)


@dataclass(frozen=True, slots=True)
class EoEIpParameters:
    """IP parameters of an EoE port: body of Set IP request and Get IP response.

    ``None`` means "not included". See the module docstring for the two layouts on the wire.
    """

    STRUCTURE: ClassVar[str] = "EoE IP parameters"

    #: MAC address, 6 bytes.
    mac_address: bytes | None = None
    #: IP address.
    ip_address: IPv4Address | None = None
    #: Subnet mask.
    subnet_mask: IPv4Address | None = None
    #: Default gateway.
    default_gateway: IPv4Address | None = None
    #: DNS server.
    dns_server: IPv4Address | None = None
    #: DNS name, at most 32 latin-1 characters.
    dns_name: str | None = None
    #: Ask the slave to append time stamps to the frames it sends.
    append_timestamp: bool = False

    @property
    def flags(self) -> EoEIpFlag:
        """The flags field that describes these parameters."""
        flags = EoEIpFlag(0)
        for flag, value in self._fields():
            if value is not None:
                flags |= flag
        if self.append_timestamp:
            flags |= EoEIpFlag.APPEND_TIMESTAMP
        return flags

    def _fields(self) -> tuple[tuple[EoEIpFlag, object], ...]:
        return (
            (EoEIpFlag.MAC_ADDRESS, self.mac_address),
            (EoEIpFlag.IP_ADDRESS, self.ip_address),
            (EoEIpFlag.SUBNET_MASK, self.subnet_mask),
            (EoEIpFlag.DEFAULT_GATEWAY, self.default_gateway),
            (EoEIpFlag.DNS_SERVER, self.dns_server),
            (EoEIpFlag.DNS_NAME, self.dns_name),
        )

    def encode(self) -> bytes:
        """Flags and the included fields, packed (the SOEM/SOES layout)."""
        parts = [_IP_FLAGS.pack(self.flags)]
        for flag, value in self._fields():
            if value is None:
                continue
            if flag is EoEIpFlag.MAC_ADDRESS:
                parts.append(_encode_mac(value))
            elif flag is EoEIpFlag.DNS_NAME:
                parts.append(_encode_dns_name(value))
            else:
                parts.append(_encode_ipv4(flag.name, value))
        return b"".join(parts)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode a packed or a fixed (IgH) body; raise :class:`ProtocolError` when malformed."""
        raw = bytes(data)
        if len(raw) < _IP_FLAGS.size:
            raise ProtocolError(
                cls.STRUCTURE, f"{len(raw)} bytes, the flags alone need {_IP_FLAGS.size}", 0
            )
        (value,) = _IP_FLAGS.unpack_from(raw)
        if value & ~_KNOWN_IP_FLAGS:
            raise ProtocolError(cls.STRUCTURE, f"reserved flags set ({value:#010x})", 0)
        flags = EoEIpFlag(value)
        fixed = len(raw) == _FIXED_IP_BODY_SIZE and (flags & _ALL_IP_FIELDS) != _ALL_IP_FIELDS
        fields: dict[EoEIpFlag, bytes] = {}
        position = _IP_FLAGS.size
        for flag, size in _IP_FIELDS:
            present = flag in flags
            if not (present or fixed):
                continue
            if flag is EoEIpFlag.DNS_NAME and not fixed:
                size = min(size, len(raw) - position)
                if size == 0:
                    raise ProtocolError(cls.STRUCTURE, "DNS name flagged but missing", position)
            if position + size > len(raw):
                left = len(raw) - position
                raise ProtocolError(
                    cls.STRUCTURE, f"{flag.name} needs {size} bytes, {left} left", position
                )
            if present:
                fields[flag] = raw[position : position + size]
            position += size
        if position != len(raw):
            extra = len(raw) - position
            raise ProtocolError(cls.STRUCTURE, f"{extra} bytes after the last field", position)

        def address(flag: EoEIpFlag) -> IPv4Address | None:
            return IPv4Address(_IPV4.unpack(fields[flag])[0]) if flag in fields else None

        name = fields.get(EoEIpFlag.DNS_NAME)
        dns_name = None if name is None else name.split(_TEXT_TERMINATOR, 1)[0]
        return cls(
            mac_address=fields.get(EoEIpFlag.MAC_ADDRESS),
            ip_address=address(EoEIpFlag.IP_ADDRESS),
            subnet_mask=address(EoEIpFlag.SUBNET_MASK),
            default_gateway=address(EoEIpFlag.DEFAULT_GATEWAY),
            dns_server=address(EoEIpFlag.DNS_SERVER),
            dns_name=None if dns_name is None else dns_name.decode(_TEXT_ENCODING),
            append_timestamp=EoEIpFlag.APPEND_TIMESTAMP in flags,
        )


@dataclass(frozen=True, slots=True)
class SetIpParameterRequest:
    """Set IP Parameter request (frame type 2): the master configures an EoE port."""

    STRUCTURE: ClassVar[str] = "EoE set IP parameter request"

    #: The parameters to set.
    parameters: EoEIpParameters = field(default_factory=EoEIpParameters)
    #: Port of the slave (0 = unspecified).
    port: int = 0

    def encode(self) -> bytes:
        """The EoE payload of this request (header with "last fragment" set, as SOEM sends)."""
        return _single_header(EoEFrameType.SET_IP_REQUEST, self.port) + self.parameters.encode()

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode a request (either body layout); raise :class:`ProtocolError` when malformed."""
        raw, header = _decode_header(data, EoEFrameType.SET_IP_REQUEST, cls.STRUCTURE)
        _check_reserved_info(cls.STRUCTURE, header)
        return cls(parameters=_decode_parameters(cls.STRUCTURE, raw), port=header.port)


def _decode_parameters(structure: str, raw: bytes) -> EoEIpParameters:
    try:
        return EoEIpParameters.decode(raw[EOE_HEADER_SIZE:])
    except ProtocolError as exc:
        offset = None if exc.offset is None else exc.offset + EOE_HEADER_SIZE
        raise ProtocolError(structure, exc.detail, offset) from exc


@dataclass(frozen=True, slots=True)
class SetIpParameterResponse:
    """Set IP Parameter response (frame type 3): the slave's result code, no body.

    SOES also answers a failed Get IP Parameter request with this frame type.
    """

    STRUCTURE: ClassVar[str] = "EoE set IP parameter response"

    #: Result (:class:`EoEResult`, or the raw value when not defined).
    result: EoEResult | int = EoEResult.SUCCESS
    #: Port of the slave (0 = unspecified).
    port: int = 0

    def encode(self) -> bytes:
        """The EoE payload of this response."""
        return _single_header(EoEFrameType.SET_IP_RESPONSE, self.port, self.result)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode a response (exactly the header); raise :class:`ProtocolError` when malformed."""
        raw, header = _decode_header(data, EoEFrameType.SET_IP_RESPONSE, cls.STRUCTURE)
        _check_no_body(cls.STRUCTURE, raw)
        return cls(result=_result(header.frame_info), port=header.port)


@dataclass(frozen=True, slots=True)
class GetIpParameterRequest:
    """Get IP Parameter request (frame type 6): the master reads an EoE port's parameters.

    The request is the header alone (SOEM); bytes after it are ignored, as the Beckhoff
    stack accepts longer requests too.
    """

    STRUCTURE: ClassVar[str] = "EoE get IP parameter request"

    #: Port of the slave (0 = unspecified).
    port: int = 0

    def encode(self) -> bytes:
        """The EoE payload of this request."""
        return _single_header(EoEFrameType.GET_IP_PARAMETER_REQUEST, self.port)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode a request; raise :class:`ProtocolError` when malformed."""
        _, header = _decode_header(data, EoEFrameType.GET_IP_PARAMETER_REQUEST, cls.STRUCTURE)
        _check_reserved_info(cls.STRUCTURE, header)
        return cls(port=header.port)


@dataclass(frozen=True, slots=True)
class GetIpParameterResponse:
    """Get IP Parameter response (frame type 7): result code and the port's parameters.

    The Beckhoff stack puts a result code in frame info 2, SOES leaves it 0 (success).
    A response without a body carries no parameters.
    """

    STRUCTURE: ClassVar[str] = "EoE get IP parameter response"

    #: The parameters the slave reports.
    parameters: EoEIpParameters = field(default_factory=EoEIpParameters)
    #: Result (:class:`EoEResult`, or the raw value when not defined).
    result: EoEResult | int = EoEResult.SUCCESS
    #: Port of the slave (0 = unspecified).
    port: int = 0

    def encode(self) -> bytes:
        """The EoE payload of this response."""
        header = _single_header(EoEFrameType.GET_IP_PARAMETER_RESPONSE, self.port, self.result)
        return header + self.parameters.encode()

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode a response (either body layout); raise :class:`ProtocolError` when malformed."""
        raw, header = _decode_header(data, EoEFrameType.GET_IP_PARAMETER_RESPONSE, cls.STRUCTURE)
        if len(raw) == EOE_HEADER_SIZE:
            parameters = EoEIpParameters()
        else:
            parameters = _decode_parameters(cls.STRUCTURE, raw)
        return cls(parameters=parameters, result=_result(header.frame_info), port=header.port)


# ------------------------------------------------------------------------------- the rest
@dataclass(frozen=True, slots=True)
class EoEUnparsedFrame:
    """A frame whose body this module does not interpret: address filter services, reserved types.

    ``frame_info`` holds frame info 2 as sent (a result code in the filter responses).
    """

    STRUCTURE: ClassVar[str] = "EoE frame"

    #: Frame type (:class:`EoEFrameType`, or the raw value when reserved).
    frame_type: EoEFrameType | int
    #: The bytes after the header.
    body: bytes = b""
    #: Frame info 2.
    frame_info: int = 0
    #: Port of the slave (0 = unspecified).
    port: int = 0

    def encode(self) -> bytes:
        """The EoE payload of this frame."""
        return _single_header(self.frame_type, self.port, self.frame_info) + bytes(self.body)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode header and keep the body; raise :class:`ProtocolError` when malformed."""
        raw = bytes(data)
        try:
            header = EoEHeader.decode(raw)
        except ProtocolError as exc:
            raise ProtocolError(cls.STRUCTURE, exc.detail, exc.offset) from exc
        return cls(
            frame_type=header.frame_type,
            body=raw[EOE_HEADER_SIZE:],
            frame_info=header.frame_info,
            port=header.port,
        )


#: Any decoded EoE payload.
EoEMessage: TypeAlias = Union[
    EoEFragment,
    EoETimestampResponse,
    SetIpParameterRequest,
    SetIpParameterResponse,
    GetIpParameterRequest,
    GetIpParameterResponse,
    EoEUnparsedFrame,
]

_DECODERS: dict[int, type[EoEMessage]] = {
    EoEFrameType.FRAGMENT: EoEFragment,
    EoEFrameType.TIMESTAMP_RESPONSE: EoETimestampResponse,
    EoEFrameType.SET_IP_REQUEST: SetIpParameterRequest,
    EoEFrameType.SET_IP_RESPONSE: SetIpParameterResponse,
    EoEFrameType.GET_IP_PARAMETER_REQUEST: GetIpParameterRequest,
    EoEFrameType.GET_IP_PARAMETER_RESPONSE: GetIpParameterResponse,
}


def decode_eoe(payload: bytes | bytearray | memoryview) -> EoEMessage:
    """Decode any EoE payload by its frame type; raise :class:`ProtocolError` when malformed.

    Frame types without a codec here (address filter services, reserved values) come back
    as :class:`EoEUnparsedFrame`.
    """
    raw = bytes(payload)
    header = EoEHeader.decode(raw)
    return _DECODERS.get(header.frame_type, EoEUnparsedFrame).decode(raw)
