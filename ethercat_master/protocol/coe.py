"""CANopen over EtherCAT (CoE): SDO, SDO information, emergency and PDO services.

Layouts from ETG.1000.6, 5.6 "CANopen over EtherCAT" (SDO, SDO information, emergency,
PDO services and the data type table), which adopts CiA 301 (SDO command specifiers,
emergency error codes, basic data types). The same layouts are used by SOEM
(``ethercatcoe.c``, ``ethercattype.h``), the IgH master (``fsm_coe.c``), SOES (``esc_coe.c``),
the Beckhoff slave stack (``sdoserv.h``, ``objdef.h``) and Wireshark (``packet-ecatmb.h``).
All multi-octet fields are little-endian.

CoE header (2 octets, a u16)::

    bits 0..8   number (PDO number; 0 for SDO, SDO information and emergency)
    bits 9..11  reserved
    bits 12..15 service (:class:`CoEService`)

SDO messages (service SDO request = 2 from the master, SDO response = 3 from the slave)::

    offset size field
    0      2    CoE header
    2      1    command: bits 5..7 command specifier, bits 0..4 depend on it (below)
    3      2    index        (initiate and abort messages only)
    5      1    subindex     (initiate and abort messages only)
    6      4    data: expedited data, complete size, or abort code
    10     n    data of a normal (non-expedited) initiate message

    segment messages:
    2      1    command
    3      n    segment data, at least 7 octets (padded, unused count in the command)

Command byte bits: initiate download request and initiate upload response: bit 0 size
indicator, bit 1 expedited, bits 2..3 unused octets of the 4 (expedited), bit 4 complete
access. Initiate upload request and initiate download response: bit 4 complete access.
Segment messages: bit 0 last segment, bits 1..3 unused octets of the 7 (data segments),
bit 4 toggle.

The command specifier means different things depending on who sent the message (CiA 301
SDO protocol): the client (master) sends ccs 0 download segment, 1 initiate download, 2 initiate
upload, 3 upload segment; the server (slave) answers with scs 0 upload segment, 1 download
segment, 2 initiate upload, 3 initiate download. Specifier 4 (abort) is the same both ways
and is sent with the SDO request service in either direction (ETG.1000.6 "Abort SDO
Transfer Request"; SOES ``SDO_abort``).
So decoding needs the direction: :func:`decode_coe` takes a :class:`Direction`, and each
message class decodes exactly one message kind.

Reserved bits are written as 0 and ignored when read, as SOEM, IgH and Wireshark do. The
octets after the last defined field of fixed-size messages (the specification pads SDO
messages to 10 octets) are not required and are ignored.

SDO information messages (service 8)::

    0      2    CoE header
    2      1    opcode (bits 0..6, :class:`SdoInfoOpcode`) | incomplete (bit 7)
    3      1    reserved
    4      2    fragments left
    6      n    service data (:class:`OdListResponse` etc.), split over fragments

Emergency (service 1)::

    0      2    CoE header
    2      2    error code (CiA 301 emergency error codes)
    4      1    error register (object 0x1001)
    5      5    manufacturer-specific error field
"""

from __future__ import annotations

import abc
import enum
import operator
import struct
from dataclasses import dataclass
from typing import Any, ClassVar, Optional, Self, Sequence, Union

from ..errors import ProtocolError, SdoAbort
from .sdo_abort import SdoAbortCode, sdo_abort_text

__all__ = [
    "COE_HEADER_SIZE",
    "CoEService",
    "CoEHeader",
    "Direction",
    "ClientCommand",
    "ServerCommand",
    "SdoDownloadExpeditedRequest",
    "SdoDownloadNormalRequest",
    "SdoDownloadResponse",
    "SdoDownloadSegmentRequest",
    "SdoDownloadSegmentResponse",
    "SdoUploadRequest",
    "SdoUploadExpeditedResponse",
    "SdoUploadNormalResponse",
    "SdoUploadSegmentRequest",
    "SdoUploadSegmentResponse",
    "SdoAbortRequest",
    "SdoMessage",
    "SdoInfoOpcode",
    "OdListType",
    "ObjectCode",
    "ObjectAccess",
    "ValueInfo",
    "SdoInfoMessage",
    "OdListRequest",
    "OdListResponse",
    "ObjectDescriptionRequest",
    "ObjectDescriptionResponse",
    "EntryDescriptionRequest",
    "EntryDescriptionResponse",
    "SdoInfoError",
    "SdoInfoBody",
    "decode_sdo_info",
    "fragment_sdo_info",
    "ErrorRegister",
    "Emergency",
    "emergency_text",
    "CoEPdoMessage",
    "CoEMessage",
    "decode_coe",
    "DataType",
    "DATA_TYPE_BIT_SIZES",
    "TimeOfDay",
    "encode_value",
    "decode_value",
]

Buffer = Union[bytes, bytearray, memoryview]

MAX_U8 = 0xFF
MAX_U16 = 0xFFFF
MAX_U32 = 0xFFFFFFFF
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")

# ------------------------------------------------------------------------------ CoE header
COE_HEADER_SIZE = _U16.size  # 2
COE_NUMBER_MASK = 0x01FF
COE_SERVICE_SHIFT = 12
COE_SERVICE_MASK = 0x0F


class CoEService(enum.IntEnum):
    """CoE service in the CoE header (ETG.1000.6 "CoE header")."""

    EMERGENCY = 1
    SDO_REQUEST = 2
    SDO_RESPONSE = 3
    TXPDO = 4
    RXPDO = 5
    TXPDO_REMOTE_REQ = 6
    RXPDO_REMOTE_REQ = 7
    SDO_INFORMATION = 8


def _enum_or_int(enum_type: Any, value: int) -> Any:
    """``enum_type(value)``, or ``value`` itself when the enum does not define it."""
    try:
        return enum_type(value)
    except ValueError:
        return value


def _build(structure: str, cls: Any, **fields: Any) -> Any:
    """Construct ``cls`` from decoded fields; its invariant checks become :class:`ProtocolError`."""
    try:
        return cls(**fields)
    except ValueError as exc:
        raise ProtocolError(structure, str(exc)) from None


def _need(structure: str, data: Buffer, size: int) -> None:
    if len(data) < size:
        raise ProtocolError(structure, f"{len(data)} octets, need at least {size}", offset=0)


@dataclass(frozen=True, slots=True)
class CoEHeader:
    """The 2-octet CoE header; ``service`` keeps the raw number for reserved services."""

    service: CoEService | int
    number: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.service <= COE_SERVICE_MASK:
            raise ValueError(f"CoE service {self.service} out of range 0..{COE_SERVICE_MASK}")
        if not 0 <= self.number <= COE_NUMBER_MASK:
            raise ValueError(f"CoE number {self.number} out of range 0..{COE_NUMBER_MASK}")

    def encode(self) -> bytes:
        """The 2 header octets."""
        return _U16.pack(self.number | (int(self.service) << COE_SERVICE_SHIFT))

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode the first 2 octets of ``data``."""
        _need("CoE header", data, COE_HEADER_SIZE)
        (word,) = _U16.unpack_from(data)
        return cls(
            service=_enum_or_int(CoEService, (word >> COE_SERVICE_SHIFT) & COE_SERVICE_MASK),
            number=word & COE_NUMBER_MASK,
        )


class Direction(enum.Enum):
    """Who sent a CoE message; decides what an SDO command specifier means."""

    #: Sent by the master (the SDO client): client command specifiers.
    MASTER_TO_SLAVE = "master to slave"
    #: Sent by the slave (the SDO server): server command specifiers.
    SLAVE_TO_MASTER = "slave to master"


# ------------------------------------------------------------------------------------- SDO
class ClientCommand(enum.IntEnum):
    """Client (master) command specifiers, command bits 5..7 (CiA 301 SDO protocol)."""

    DOWNLOAD_SEGMENT = 0
    INITIATE_DOWNLOAD = 1
    INITIATE_UPLOAD = 2
    UPLOAD_SEGMENT = 3
    ABORT = 4


class ServerCommand(enum.IntEnum):
    """Server (slave) command specifiers, command bits 5..7 (CiA 301 SDO protocol)."""

    UPLOAD_SEGMENT = 0
    DOWNLOAD_SEGMENT = 1
    INITIATE_UPLOAD = 2
    INITIATE_DOWNLOAD = 3
    ABORT = 4


#: CoE header, command, index, subindex.
_SDO_INITIATE = struct.Struct("<HBHB")
SDO_COMMAND_OFFSET = COE_HEADER_SIZE  # 2
SDO_ADDRESS_END = _SDO_INITIATE.size  # 6: end of the index and subindex
SDO_DATA_SIZE = 4  # the data field of initiate and abort messages
SDO_FRAME_SIZE = SDO_ADDRESS_END + SDO_DATA_SIZE  # 10
SEGMENT_HEADER_SIZE = SDO_COMMAND_OFFSET + 1  # 3: CoE header and command
SEGMENT_MIN_DATA = 7

COMMAND_SHIFT = 5
SIZE_INDICATOR_FLAG = 0x01
EXPEDITED_FLAG = 0x02
EXPEDITED_UNUSED_SHIFT = 2
EXPEDITED_UNUSED_MASK = 0x03
COMPLETE_ACCESS_FLAG = 0x10
TOGGLE_FLAG = 0x10
LAST_SEGMENT_FLAG = 0x01
SEGMENT_UNUSED_SHIFT = 1
SEGMENT_UNUSED_MASK = 0x07
#: With complete access the subindex is 0 (include subindex 0) or 1 (start at 1).
COMPLETE_ACCESS_MAX_SUBINDEX = 1


def _check_address(index: int, subindex: int, complete_access: bool) -> None:
    if not 0 <= index <= MAX_U16:
        raise ValueError(f"SDO index 0x{index:X} out of range 0..0xFFFF")
    if not 0 <= subindex <= MAX_U8:
        raise ValueError(f"SDO subindex {subindex} out of range 0..255")
    if complete_access and subindex > COMPLETE_ACCESS_MAX_SUBINDEX:
        raise ValueError(f"complete access needs subindex 0 or 1, not {subindex}")


def _check_expedited(data: bytes, size_indicated: bool) -> None:
    if not 1 <= len(data) <= SDO_DATA_SIZE:
        raise ValueError(f"expedited data of {len(data)} octets, must be 1..{SDO_DATA_SIZE}")
    if not size_indicated and len(data) != SDO_DATA_SIZE:
        raise ValueError("expedited data without size indicator must be 4 octets")


def _check_normal(complete_size: int, data: bytes) -> None:
    if not 0 <= complete_size <= MAX_U32:
        raise ValueError(f"complete size {complete_size} out of range (32 bits)")
    if len(data) > complete_size:
        raise ValueError(f"{len(data)} data octets exceed the complete size {complete_size}")


def _sdo_start(
    structure: str, data: Buffer, services: tuple[CoEService, ...], command: int, minimum: int
) -> tuple[bytes, int]:
    """Check length, CoE service and command specifier; return (octets, command byte)."""
    raw = bytes(data)
    _need(structure, raw, minimum)
    service = CoEHeader.decode(raw).service
    if service not in services:
        raise ProtocolError(
            structure, f"CoE service {service}, expected {services[0].name}", offset=0
        )
    cmd = raw[SDO_COMMAND_OFFSET]
    if cmd >> COMMAND_SHIFT != command:
        raise ProtocolError(
            structure,
            f"command specifier {cmd >> COMMAND_SHIFT}, expected {command}",
            offset=SDO_COMMAND_OFFSET,
        )
    return raw, cmd


def _initiate(service: CoEService, cmd: int, index: int, subindex: int) -> bytes:
    return _SDO_INITIATE.pack(int(service) << COE_SERVICE_SHIFT, cmd, index, subindex)


def _address(raw: bytes) -> tuple[int, int]:
    _, _, index, subindex = _SDO_INITIATE.unpack_from(raw)
    return index, subindex


def _ca_flag(complete_access: bool) -> int:
    return COMPLETE_ACCESS_FLAG if complete_access else 0


def _encode_expedited(
    service: CoEService,
    command: int,
    index: int,
    subindex: int,
    data: bytes,
    complete_access: bool,
    size_indicated: bool,
) -> bytes:
    cmd = (command << COMMAND_SHIFT) | EXPEDITED_FLAG | _ca_flag(complete_access)
    if size_indicated:
        cmd |= SIZE_INDICATOR_FLAG | ((SDO_DATA_SIZE - len(data)) << EXPEDITED_UNUSED_SHIFT)
    return _initiate(service, cmd, index, subindex) + data.ljust(SDO_DATA_SIZE, b"\0")


def _decode_expedited(structure: str, raw: bytes, cmd: int) -> dict[str, Any]:
    if len(raw) != SDO_FRAME_SIZE:
        raise ProtocolError(
            structure, f"{len(raw)} octets, an expedited message has {SDO_FRAME_SIZE}", offset=0
        )
    size_indicated = bool(cmd & SIZE_INDICATOR_FLAG)
    unused = (cmd >> EXPEDITED_UNUSED_SHIFT) & EXPEDITED_UNUSED_MASK
    if unused and not size_indicated:
        raise ProtocolError(
            structure, "unused-octet count without size indicator", SDO_COMMAND_OFFSET
        )
    index, subindex = _address(raw)
    return dict(
        index=index,
        subindex=subindex,
        data=raw[SDO_ADDRESS_END : SDO_FRAME_SIZE - unused],
        complete_access=bool(cmd & COMPLETE_ACCESS_FLAG),
        size_indicated=size_indicated,
    )


def _encode_normal(
    service: CoEService,
    command: int,
    index: int,
    subindex: int,
    complete_size: int,
    data: bytes,
    complete_access: bool,
) -> bytes:
    cmd = (command << COMMAND_SHIFT) | SIZE_INDICATOR_FLAG | _ca_flag(complete_access)
    return _initiate(service, cmd, index, subindex) + _U32.pack(complete_size) + data


def _decode_normal(structure: str, raw: bytes, cmd: int) -> dict[str, Any]:
    if not cmd & SIZE_INDICATOR_FLAG:
        raise ProtocolError(structure, "normal transfer without size indicator", SDO_COMMAND_OFFSET)
    _need(structure, raw, SDO_FRAME_SIZE)
    index, subindex = _address(raw)
    (complete_size,) = _U32.unpack_from(raw, SDO_ADDRESS_END)
    return dict(
        index=index,
        subindex=subindex,
        complete_size=complete_size,
        data=raw[SDO_FRAME_SIZE:],
        complete_access=bool(cmd & COMPLETE_ACCESS_FLAG),
    )


def _encode_segment(
    service: CoEService, command: int, toggle: bool, data: bytes, last: bool
) -> bytes:
    unused = max(0, SEGMENT_MIN_DATA - len(data))
    cmd = (
        (command << COMMAND_SHIFT)
        | (TOGGLE_FLAG if toggle else 0)
        | (unused << SEGMENT_UNUSED_SHIFT)
        | (LAST_SEGMENT_FLAG if last else 0)
    )
    return CoEHeader(service).encode() + bytes((cmd,)) + data + bytes(unused)


def _decode_segment(structure: str, raw: bytes, cmd: int) -> dict[str, Any]:
    _need(structure, raw, SEGMENT_HEADER_SIZE + SEGMENT_MIN_DATA)
    segment = raw[SEGMENT_HEADER_SIZE:]
    unused = (cmd >> SEGMENT_UNUSED_SHIFT) & SEGMENT_UNUSED_MASK
    if unused and len(segment) != SEGMENT_MIN_DATA:
        raise ProtocolError(
            structure,
            f"{unused} unused octets declared in a segment of {len(segment)} octets "
            f"(only a {SEGMENT_MIN_DATA}-octet segment may be padded)",
            offset=SDO_COMMAND_OFFSET,
        )
    return dict(
        toggle=bool(cmd & TOGGLE_FLAG),
        data=segment[: len(segment) - unused],
        last=bool(cmd & LAST_SEGMENT_FLAG),
    )


def _encode_toggle_only(service: CoEService, command: int, toggle: bool, size: int) -> bytes:
    cmd = (command << COMMAND_SHIFT) | (TOGGLE_FLAG if toggle else 0)
    return (CoEHeader(service).encode() + bytes((cmd,))).ljust(size, b"\0")


@dataclass(frozen=True, slots=True)
class SdoDownloadExpeditedRequest:
    """Initiate download, expedited: 1..4 data octets in the request itself (master to slave).

    ``size_indicated`` False means the request does not tell the size; ``data`` is then
    the full 4 octets.
    """

    index: int
    subindex: int
    data: bytes
    complete_access: bool = False
    size_indicated: bool = True

    def __post_init__(self) -> None:
        _check_address(self.index, self.subindex, self.complete_access)
        _check_expedited(self.data, self.size_indicated)

    def encode(self) -> bytes:
        """The CoE payload (10 octets)."""
        return _encode_expedited(
            CoEService.SDO_REQUEST,
            ClientCommand.INITIATE_DOWNLOAD,
            self.index,
            self.subindex,
            self.data,
            self.complete_access,
            self.size_indicated,
        )

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode a CoE payload holding this message."""
        name = "SDO expedited download request"
        raw, cmd = _sdo_start(
            name, data, (CoEService.SDO_REQUEST,), ClientCommand.INITIATE_DOWNLOAD, SDO_ADDRESS_END
        )
        if not cmd & EXPEDITED_FLAG:
            raise ProtocolError(name, "expedited bit not set", SDO_COMMAND_OFFSET)
        return _build(name, cls, **_decode_expedited(name, raw, cmd))


@dataclass(frozen=True, slots=True)
class SdoDownloadNormalRequest:
    """Initiate download, normal: the complete size and the first data (master to slave).

    ``data`` holds what fits in this mailbox; download segments carry the rest.
    """

    index: int
    subindex: int
    complete_size: int
    data: bytes = b""
    complete_access: bool = False

    def __post_init__(self) -> None:
        _check_address(self.index, self.subindex, self.complete_access)
        _check_normal(self.complete_size, self.data)

    def encode(self) -> bytes:
        """The CoE payload (10 octets plus the data)."""
        return _encode_normal(
            CoEService.SDO_REQUEST,
            ClientCommand.INITIATE_DOWNLOAD,
            self.index,
            self.subindex,
            self.complete_size,
            self.data,
            self.complete_access,
        )

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode a CoE payload holding this message."""
        name = "SDO normal download request"
        raw, cmd = _sdo_start(
            name, data, (CoEService.SDO_REQUEST,), ClientCommand.INITIATE_DOWNLOAD, SDO_ADDRESS_END
        )
        if cmd & EXPEDITED_FLAG:
            raise ProtocolError(name, "expedited bit set", SDO_COMMAND_OFFSET)
        return _build(name, cls, **_decode_normal(name, raw, cmd))


@dataclass(frozen=True, slots=True)
class SdoDownloadResponse:
    """Initiate download response (slave to master)."""

    index: int
    subindex: int
    complete_access: bool = False

    def __post_init__(self) -> None:
        _check_address(self.index, self.subindex, self.complete_access)

    def encode(self) -> bytes:
        """The CoE payload (10 octets)."""
        cmd = (ServerCommand.INITIATE_DOWNLOAD << COMMAND_SHIFT) | _ca_flag(self.complete_access)
        return _initiate(CoEService.SDO_RESPONSE, cmd, self.index, self.subindex) + bytes(
            SDO_DATA_SIZE
        )

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode a CoE payload holding this message."""
        name = "SDO download response"
        raw, cmd = _sdo_start(
            name, data, (CoEService.SDO_RESPONSE,), ServerCommand.INITIATE_DOWNLOAD, SDO_ADDRESS_END
        )
        index, subindex = _address(raw)
        return _build(
            name,
            cls,
            index=index,
            subindex=subindex,
            complete_access=bool(cmd & COMPLETE_ACCESS_FLAG),
        )


@dataclass(frozen=True, slots=True)
class SdoDownloadSegmentRequest:
    """Download segment (master to slave); segments shorter than 7 octets are padded."""

    toggle: bool
    data: bytes
    last: bool

    def encode(self) -> bytes:
        """The CoE payload (at least 10 octets)."""
        return _encode_segment(
            CoEService.SDO_REQUEST,
            ClientCommand.DOWNLOAD_SEGMENT,
            self.toggle,
            self.data,
            self.last,
        )

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode a CoE payload holding this message."""
        name = "SDO download segment request"
        raw, cmd = _sdo_start(
            name,
            data,
            (CoEService.SDO_REQUEST,),
            ClientCommand.DOWNLOAD_SEGMENT,
            SEGMENT_HEADER_SIZE,
        )
        return cls(**_decode_segment(name, raw, cmd))


@dataclass(frozen=True, slots=True)
class SdoDownloadSegmentResponse:
    """Download segment response (slave to master): echoes the segment's toggle bit."""

    toggle: bool

    def encode(self) -> bytes:
        """The CoE payload (10 octets)."""
        return _encode_toggle_only(
            CoEService.SDO_RESPONSE, ServerCommand.DOWNLOAD_SEGMENT, self.toggle, SDO_FRAME_SIZE
        )

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode a CoE payload holding this message."""
        _, cmd = _sdo_start(
            "SDO download segment response",
            data,
            (CoEService.SDO_RESPONSE,),
            ServerCommand.DOWNLOAD_SEGMENT,
            SEGMENT_HEADER_SIZE,
        )
        return cls(toggle=bool(cmd & TOGGLE_FLAG))


@dataclass(frozen=True, slots=True)
class SdoUploadRequest:
    """Initiate upload request (master to slave)."""

    index: int
    subindex: int
    complete_access: bool = False

    def __post_init__(self) -> None:
        _check_address(self.index, self.subindex, self.complete_access)

    def encode(self) -> bytes:
        """The CoE payload (10 octets)."""
        cmd = (ClientCommand.INITIATE_UPLOAD << COMMAND_SHIFT) | _ca_flag(self.complete_access)
        return _initiate(CoEService.SDO_REQUEST, cmd, self.index, self.subindex) + bytes(
            SDO_DATA_SIZE
        )

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode a CoE payload holding this message."""
        name = "SDO upload request"
        raw, cmd = _sdo_start(
            name, data, (CoEService.SDO_REQUEST,), ClientCommand.INITIATE_UPLOAD, SDO_ADDRESS_END
        )
        index, subindex = _address(raw)
        return _build(
            name,
            cls,
            index=index,
            subindex=subindex,
            complete_access=bool(cmd & COMPLETE_ACCESS_FLAG),
        )


@dataclass(frozen=True, slots=True)
class SdoUploadExpeditedResponse:
    """Initiate upload response, expedited: 1..4 data octets (slave to master).

    ``size_indicated`` False means the slave did not tell the size; ``data`` is then the
    full 4 octets and the caller trims it to the object's size.
    """

    index: int
    subindex: int
    data: bytes
    complete_access: bool = False
    size_indicated: bool = True

    def __post_init__(self) -> None:
        _check_address(self.index, self.subindex, self.complete_access)
        _check_expedited(self.data, self.size_indicated)

    def encode(self) -> bytes:
        """The CoE payload (10 octets)."""
        return _encode_expedited(
            CoEService.SDO_RESPONSE,
            ServerCommand.INITIATE_UPLOAD,
            self.index,
            self.subindex,
            self.data,
            self.complete_access,
            self.size_indicated,
        )

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode a CoE payload holding this message."""
        name = "SDO expedited upload response"
        raw, cmd = _sdo_start(
            name, data, (CoEService.SDO_RESPONSE,), ServerCommand.INITIATE_UPLOAD, SDO_ADDRESS_END
        )
        if not cmd & EXPEDITED_FLAG:
            raise ProtocolError(name, "expedited bit not set", SDO_COMMAND_OFFSET)
        return _build(name, cls, **_decode_expedited(name, raw, cmd))


@dataclass(frozen=True, slots=True)
class SdoUploadNormalResponse:
    """Initiate upload response, normal: complete size and first data (slave to master).

    When ``data`` is shorter than ``complete_size`` upload segments carry the rest.
    """

    index: int
    subindex: int
    complete_size: int
    data: bytes = b""
    complete_access: bool = False

    def __post_init__(self) -> None:
        _check_address(self.index, self.subindex, self.complete_access)
        _check_normal(self.complete_size, self.data)

    def encode(self) -> bytes:
        """The CoE payload (10 octets plus the data)."""
        return _encode_normal(
            CoEService.SDO_RESPONSE,
            ServerCommand.INITIATE_UPLOAD,
            self.index,
            self.subindex,
            self.complete_size,
            self.data,
            self.complete_access,
        )

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode a CoE payload holding this message."""
        name = "SDO normal upload response"
        raw, cmd = _sdo_start(
            name, data, (CoEService.SDO_RESPONSE,), ServerCommand.INITIATE_UPLOAD, SDO_ADDRESS_END
        )
        if cmd & EXPEDITED_FLAG:
            raise ProtocolError(name, "expedited bit set", SDO_COMMAND_OFFSET)
        return _build(name, cls, **_decode_normal(name, raw, cmd))


@dataclass(frozen=True, slots=True)
class SdoUploadSegmentRequest:
    """Upload segment request (master to slave)."""

    toggle: bool

    def encode(self) -> bytes:
        """The CoE payload (10 octets)."""
        return _encode_toggle_only(
            CoEService.SDO_REQUEST, ClientCommand.UPLOAD_SEGMENT, self.toggle, SDO_FRAME_SIZE
        )

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode a CoE payload holding this message."""
        _, cmd = _sdo_start(
            "SDO upload segment request",
            data,
            (CoEService.SDO_REQUEST,),
            ClientCommand.UPLOAD_SEGMENT,
            SEGMENT_HEADER_SIZE,
        )
        return cls(toggle=bool(cmd & TOGGLE_FLAG))


@dataclass(frozen=True, slots=True)
class SdoUploadSegmentResponse:
    """Upload segment response (slave to master); segments shorter than 7 octets are padded."""

    toggle: bool
    data: bytes
    last: bool

    def encode(self) -> bytes:
        """The CoE payload (at least 10 octets)."""
        return _encode_segment(
            CoEService.SDO_RESPONSE, ServerCommand.UPLOAD_SEGMENT, self.toggle, self.data, self.last
        )

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode a CoE payload holding this message."""
        name = "SDO upload segment response"
        raw, cmd = _sdo_start(
            name,
            data,
            (CoEService.SDO_RESPONSE,),
            ServerCommand.UPLOAD_SEGMENT,
            SEGMENT_HEADER_SIZE,
        )
        return cls(**_decode_segment(name, raw, cmd))


@dataclass(frozen=True, slots=True)
class SdoAbortRequest:
    """Abort SDO transfer, in either direction; ``code`` keeps unknown codes as raw numbers.

    Sent with the SDO request service; decoding also accepts the SDO response service.
    """

    index: int
    subindex: int
    code: SdoAbortCode | int

    def __post_init__(self) -> None:
        _check_address(self.index, self.subindex, False)
        if not 0 <= self.code <= MAX_U32:
            raise ValueError(f"SDO abort code 0x{self.code:X} out of range (32 bits)")

    @property
    def text(self) -> str:
        """The specification text of :attr:`code`."""
        return sdo_abort_text(self.code)

    def encode(self) -> bytes:
        """The CoE payload (10 octets)."""
        cmd = ClientCommand.ABORT << COMMAND_SHIFT
        return _initiate(CoEService.SDO_REQUEST, cmd, self.index, self.subindex) + _U32.pack(
            self.code
        )

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode a CoE payload holding this message."""
        raw, _ = _sdo_start(
            "SDO abort",
            data,
            (CoEService.SDO_REQUEST, CoEService.SDO_RESPONSE),
            ClientCommand.ABORT,
            SDO_FRAME_SIZE,
        )
        index, subindex = _address(raw)
        (code,) = _U32.unpack_from(raw, SDO_ADDRESS_END)
        return cls(index=index, subindex=subindex, code=_enum_or_int(SdoAbortCode, code))

    def to_error(self, slave: Optional[object] = None) -> SdoAbort:
        """The :class:`ethercat_master.errors.SdoAbort` to raise for this abort."""
        return SdoAbort(self.index, self.subindex, int(self.code), self.text, slave)


SdoMessage = Union[
    SdoDownloadExpeditedRequest,
    SdoDownloadNormalRequest,
    SdoDownloadResponse,
    SdoDownloadSegmentRequest,
    SdoDownloadSegmentResponse,
    SdoUploadRequest,
    SdoUploadExpeditedResponse,
    SdoUploadNormalResponse,
    SdoUploadSegmentRequest,
    SdoUploadSegmentResponse,
    SdoAbortRequest,
]

_FROM_MASTER: dict[int, tuple[Any, Any]] = {
    # command specifier: (class when the expedited bit is clear, class when it is set)
    ClientCommand.DOWNLOAD_SEGMENT: (SdoDownloadSegmentRequest, SdoDownloadSegmentRequest),
    ClientCommand.INITIATE_DOWNLOAD: (SdoDownloadNormalRequest, SdoDownloadExpeditedRequest),
    ClientCommand.INITIATE_UPLOAD: (SdoUploadRequest, SdoUploadRequest),
    ClientCommand.UPLOAD_SEGMENT: (SdoUploadSegmentRequest, SdoUploadSegmentRequest),
}
_FROM_SLAVE: dict[int, tuple[Any, Any]] = {
    ServerCommand.UPLOAD_SEGMENT: (SdoUploadSegmentResponse, SdoUploadSegmentResponse),
    ServerCommand.DOWNLOAD_SEGMENT: (SdoDownloadSegmentResponse, SdoDownloadSegmentResponse),
    ServerCommand.INITIATE_UPLOAD: (SdoUploadNormalResponse, SdoUploadExpeditedResponse),
    ServerCommand.INITIATE_DOWNLOAD: (SdoDownloadResponse, SdoDownloadResponse),
}


def _decode_sdo(raw: bytes, service: int, direction: Direction) -> SdoMessage:
    _need("SDO message", raw, SEGMENT_HEADER_SIZE)
    cmd = raw[SDO_COMMAND_OFFSET]
    specifier = cmd >> COMMAND_SHIFT
    if specifier == ClientCommand.ABORT:
        return SdoAbortRequest.decode(raw)
    if direction is Direction.MASTER_TO_SLAVE:
        expected, table = CoEService.SDO_REQUEST, _FROM_MASTER
    else:
        expected, table = CoEService.SDO_RESPONSE, _FROM_SLAVE
    if service != expected:
        raise ProtocolError(
            "SDO message", f"CoE service {service} sent {direction.value}", offset=0
        )
    if specifier not in table:
        raise ProtocolError(
            "SDO message", f"command specifier {specifier} not used by CoE", SDO_COMMAND_OFFSET
        )
    normal, expedited = table[specifier]
    return (expedited if cmd & EXPEDITED_FLAG else normal).decode(raw)


# --------------------------------------------------------------------- SDO information
class SdoInfoOpcode(enum.IntEnum):
    """SDO information opcodes (ETG.1000.6 "SDO Information")."""

    GET_OD_LIST_REQUEST = 0x01
    GET_OD_LIST_RESPONSE = 0x02
    GET_OBJECT_DESCRIPTION_REQUEST = 0x03
    GET_OBJECT_DESCRIPTION_RESPONSE = 0x04
    GET_ENTRY_DESCRIPTION_REQUEST = 0x05
    GET_ENTRY_DESCRIPTION_RESPONSE = 0x06
    SDO_INFO_ERROR_REQUEST = 0x07


_INFO_REQUESTS = frozenset(
    {
        SdoInfoOpcode.GET_OD_LIST_REQUEST,
        SdoInfoOpcode.GET_OBJECT_DESCRIPTION_REQUEST,
        SdoInfoOpcode.GET_ENTRY_DESCRIPTION_REQUEST,
    }
)


class OdListType(enum.IntEnum):
    """Which object list a Get OD List request asks for (ETG.1000.6 "SDO Information")."""

    #: The number of objects in each of the five lists below.
    LENGTHS = 0
    ALL = 1
    RXPDO_MAPPABLE = 2
    TXPDO_MAPPABLE = 3
    BACKUP = 4
    SETTINGS = 5


class ObjectCode(enum.IntEnum):
    """Object codes of the object description (CiA 301 object dictionary, ETG.1000.6)."""

    NULL = 0x00
    DOMAIN = 0x02
    DEFTYPE = 0x05
    DEFSTRUCT = 0x06
    VAR = 0x07
    ARRAY = 0x08
    RECORD = 0x09


class ObjectAccess(enum.IntFlag):
    """Object access bits of the entry description (ETG.1000.6 "SDO Information")."""

    READ_PREOP = 0x0001
    READ_SAFEOP = 0x0002
    READ_OP = 0x0004
    WRITE_PREOP = 0x0008
    WRITE_SAFEOP = 0x0010
    WRITE_OP = 0x0020
    RXPDO_MAPPABLE = 0x0040
    TXPDO_MAPPABLE = 0x0080
    BACKUP = 0x0100
    SETTINGS = 0x0200


class ValueInfo(enum.IntFlag):
    """Value info bits of the entry description: which optional fields to send.

    Bits 0..2 are reserved; older masters (SOEM 0x07, IgH 0x01) set them, and they are kept.
    """

    UNIT_TYPE = 0x08
    DEFAULT_VALUE = 0x10
    MINIMUM_VALUE = 0x20
    MAXIMUM_VALUE = 0x40


#: CoE header, opcode | incomplete, reserved, fragments left.
_INFO_HEADER = struct.Struct("<HBBH")
SDO_INFO_HEADER_SIZE = _INFO_HEADER.size  # 6
INFO_OPCODE_MASK = 0x7F
INFO_INCOMPLETE_FLAG = 0x80


@dataclass(frozen=True, slots=True)
class SdoInfoMessage:
    """One SDO information message (one fragment); ``data`` is (part of) the service data.

    Long responses are split into fragments: every fragment but the last has ``incomplete``
    set, and ``fragments_left`` counts down to 0. :func:`decode_sdo_info` joins them.
    """

    opcode: SdoInfoOpcode
    data: bytes = b""
    incomplete: bool = False
    fragments_left: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.fragments_left <= MAX_U16:
            raise ValueError(f"fragments left {self.fragments_left} out of range 0..65535")

    def encode(self) -> bytes:
        """The CoE payload."""
        control = int(self.opcode) | (INFO_INCOMPLETE_FLAG if self.incomplete else 0)
        header = _INFO_HEADER.pack(
            CoEService.SDO_INFORMATION << COE_SERVICE_SHIFT, control, 0, self.fragments_left
        )
        return header + self.data

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode a CoE payload holding an SDO information message."""
        name = "SDO information"
        raw = bytes(data)
        _need(name, raw, SDO_INFO_HEADER_SIZE)
        word, control, _, fragments_left = _INFO_HEADER.unpack_from(raw)
        service = word >> COE_SERVICE_SHIFT
        if service != CoEService.SDO_INFORMATION:
            raise ProtocolError(
                name, f"CoE service {service}, expected {CoEService.SDO_INFORMATION}", 0
            )
        try:
            opcode = SdoInfoOpcode(control & INFO_OPCODE_MASK)
        except ValueError:
            raise ProtocolError(
                name, f"unknown opcode {control & INFO_OPCODE_MASK}", SDO_COMMAND_OFFSET
            ) from None
        return cls(
            opcode=opcode,
            data=raw[SDO_INFO_HEADER_SIZE:],
            incomplete=bool(control & INFO_INCOMPLETE_FLAG),
            fragments_left=fragments_left,
        )


def _decode_text(raw: bytes) -> str:
    """Text up to the first NUL: UTF-8, or Latin-1 when it is not valid UTF-8 (never fails)."""
    raw = raw.split(b"\0", 1)[0]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _encode_text(text: str) -> bytes:
    if "\0" in text:
        raise ValueError("text must not contain NUL characters")
    return text.encode("utf-8")


def _check_u16(what: str, value: int) -> None:
    if not 0 <= value <= MAX_U16:
        raise ValueError(f"{what} {value} out of range 0..65535")


class _SdoInfoBody(abc.ABC):
    """Shared behaviour of the SDO information service data classes."""

    __slots__ = ()
    OPCODE: ClassVar[SdoInfoOpcode]

    @abc.abstractmethod
    def encode(self) -> bytes:
        """The service data."""

    def message(self) -> SdoInfoMessage:
        """This service data as one unfragmented :class:`SdoInfoMessage`."""
        return SdoInfoMessage(self.OPCODE, self.encode())


_LIST_TYPE = struct.Struct("<H")


@dataclass(frozen=True, slots=True)
class OdListRequest(_SdoInfoBody):
    """Get OD List request: the list type (master to slave)."""

    OPCODE: ClassVar[SdoInfoOpcode] = SdoInfoOpcode.GET_OD_LIST_REQUEST
    list_type: OdListType | int

    def __post_init__(self) -> None:
        _check_u16("OD list type", self.list_type)

    def encode(self) -> bytes:
        """The service data."""
        return _LIST_TYPE.pack(self.list_type)

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode the service data; trailing octets are ignored."""
        raw = bytes(data)
        _need("Get OD List request", raw, _LIST_TYPE.size)
        (list_type,) = _LIST_TYPE.unpack_from(raw)
        return cls(_enum_or_int(OdListType, list_type))


@dataclass(frozen=True, slots=True)
class OdListResponse(_SdoInfoBody):
    """Get OD List response: the list type and a list of u16 (slave to master).

    For :attr:`OdListType.LENGTHS` the entries are the number of objects of the lists 1..5;
    for the other list types they are object indices.
    """

    OPCODE: ClassVar[SdoInfoOpcode] = SdoInfoOpcode.GET_OD_LIST_RESPONSE
    list_type: OdListType | int
    entries: tuple[int, ...]

    def __post_init__(self) -> None:
        _check_u16("OD list type", self.list_type)
        for entry in self.entries:
            _check_u16("OD list entry", entry)

    def encode(self) -> bytes:
        """The service data."""
        return struct.pack(f"<H{len(self.entries)}H", self.list_type, *self.entries)

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode the (joined) service data."""
        name = "Get OD List response"
        raw = bytes(data)
        _need(name, raw, _LIST_TYPE.size)
        if len(raw) % _U16.size:
            raise ProtocolError(name, f"odd length {len(raw)}: the list holds 16-bit entries", 0)
        list_type, *entries = struct.unpack(f"<{len(raw) // _U16.size}H", raw)
        return cls(_enum_or_int(OdListType, list_type), tuple(entries))


_OBJECT_REQUEST = struct.Struct("<H")


@dataclass(frozen=True, slots=True)
class ObjectDescriptionRequest(_SdoInfoBody):
    """Get Object Description request: the object index (master to slave)."""

    OPCODE: ClassVar[SdoInfoOpcode] = SdoInfoOpcode.GET_OBJECT_DESCRIPTION_REQUEST
    index: int

    def __post_init__(self) -> None:
        _check_u16("object index", self.index)

    def encode(self) -> bytes:
        """The service data."""
        return _OBJECT_REQUEST.pack(self.index)

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode the service data; trailing octets are ignored."""
        raw = bytes(data)
        _need("Get Object Description request", raw, _OBJECT_REQUEST.size)
        return cls(*_OBJECT_REQUEST.unpack_from(raw))


#: index, data type, max subindex, object code.
_OBJECT_DESCRIPTION = struct.Struct("<HHBB")


@dataclass(frozen=True, slots=True)
class ObjectDescriptionResponse(_SdoInfoBody):
    """Get Object Description response (slave to master); the name fills the rest."""

    OPCODE: ClassVar[SdoInfoOpcode] = SdoInfoOpcode.GET_OBJECT_DESCRIPTION_RESPONSE
    index: int
    data_type: DataType | int
    max_subindex: int
    object_code: ObjectCode | int
    name: str

    def __post_init__(self) -> None:
        _check_u16("object index", self.index)
        _check_u16("data type", self.data_type)
        if not 0 <= self.max_subindex <= MAX_U8:
            raise ValueError(f"max subindex {self.max_subindex} out of range 0..255")
        if not 0 <= self.object_code <= MAX_U8:
            raise ValueError(f"object code {self.object_code} out of range 0..255")

    def encode(self) -> bytes:
        """The service data."""
        fixed = _OBJECT_DESCRIPTION.pack(
            self.index, self.data_type, self.max_subindex, self.object_code
        )
        return fixed + _encode_text(self.name)

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode the (joined) service data."""
        raw = bytes(data)
        _need("Get Object Description response", raw, _OBJECT_DESCRIPTION.size)
        index, data_type, max_subindex, object_code = _OBJECT_DESCRIPTION.unpack_from(raw)
        return cls(
            index=index,
            data_type=_enum_or_int(DataType, data_type),
            max_subindex=max_subindex,
            object_code=_enum_or_int(ObjectCode, object_code),
            name=_decode_text(raw[_OBJECT_DESCRIPTION.size :]),
        )


#: index, subindex, value info.
_ENTRY_REQUEST = struct.Struct("<HBB")


@dataclass(frozen=True, slots=True)
class EntryDescriptionRequest(_SdoInfoBody):
    """Get Entry Description request (master to slave)."""

    OPCODE: ClassVar[SdoInfoOpcode] = SdoInfoOpcode.GET_ENTRY_DESCRIPTION_REQUEST
    index: int
    subindex: int
    value_info: ValueInfo = ValueInfo(0)

    def __post_init__(self) -> None:
        _check_address(self.index, self.subindex, False)
        if not 0 <= self.value_info <= MAX_U8:
            raise ValueError(f"value info 0x{self.value_info:X} out of range 0..0xFF")

    def encode(self) -> bytes:
        """The service data."""
        return _ENTRY_REQUEST.pack(self.index, self.subindex, self.value_info)

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode the service data; trailing octets are ignored."""
        raw = bytes(data)
        _need("Get Entry Description request", raw, _ENTRY_REQUEST.size)
        index, subindex, value_info = _ENTRY_REQUEST.unpack_from(raw)
        return cls(index, subindex, ValueInfo(value_info))


#: index, subindex, value info, data type, bit length, object access.
_ENTRY_DESCRIPTION = struct.Struct("<HBBHHH")
_UNIT_TYPE = struct.Struct("<H")


@dataclass(frozen=True, slots=True)
class EntryDescriptionResponse(_SdoInfoBody):
    """Get Entry Description response (slave to master).

    The unit type (u16) and the default, minimum and maximum values (raw octets, one value of
    ``bit_length`` bits each, see :func:`decode_value`) are present exactly when their
    :class:`ValueInfo` bit is set; the entry's name fills the rest.
    """

    OPCODE: ClassVar[SdoInfoOpcode] = SdoInfoOpcode.GET_ENTRY_DESCRIPTION_RESPONSE
    index: int
    subindex: int
    value_info: ValueInfo
    data_type: DataType | int
    bit_length: int
    object_access: ObjectAccess
    name: str
    unit_type: Optional[int] = None
    default_value: Optional[bytes] = None
    minimum_value: Optional[bytes] = None
    maximum_value: Optional[bytes] = None

    def __post_init__(self) -> None:
        _check_address(self.index, self.subindex, False)
        if not 0 <= self.value_info <= MAX_U8:
            raise ValueError(f"value info 0x{self.value_info:X} out of range 0..0xFF")
        _check_u16("data type", self.data_type)
        _check_u16("bit length", self.bit_length)
        _check_u16("object access", self.object_access)
        if (self.unit_type is not None) != bool(self.value_info & ValueInfo.UNIT_TYPE):
            raise ValueError("unit type present must match value info bit UNIT_TYPE")
        if self.unit_type is not None:
            _check_u16("unit type", self.unit_type)
        size = self.value_size
        for flag, value in self._values():
            if (value is not None) != bool(self.value_info & flag):
                raise ValueError(f"{flag.name} present must match its value info bit")
            if value is not None and len(value) != size:
                raise ValueError(f"{flag.name} of {len(value)} octets, bit length needs {size}")

    @property
    def value_size(self) -> int:
        """Octets of one default, minimum or maximum value: the bit length rounded up."""
        return (self.bit_length + 7) // 8

    def _values(self) -> tuple[tuple[ValueInfo, Optional[bytes]], ...]:
        return (
            (ValueInfo.DEFAULT_VALUE, self.default_value),
            (ValueInfo.MINIMUM_VALUE, self.minimum_value),
            (ValueInfo.MAXIMUM_VALUE, self.maximum_value),
        )

    def encode(self) -> bytes:
        """The service data."""
        parts = [
            _ENTRY_DESCRIPTION.pack(
                self.index,
                self.subindex,
                self.value_info,
                self.data_type,
                self.bit_length,
                self.object_access,
            )
        ]
        if self.unit_type is not None:
            parts.append(_UNIT_TYPE.pack(self.unit_type))
        parts.extend(value for _, value in self._values() if value is not None)
        parts.append(_encode_text(self.name))
        return b"".join(parts)

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode the (joined) service data."""
        name = "Get Entry Description response"
        raw = bytes(data)
        _need(name, raw, _ENTRY_DESCRIPTION.size)
        index, subindex, value_info, data_type, bit_length, access = _ENTRY_DESCRIPTION.unpack_from(
            raw
        )
        info = ValueInfo(value_info)
        offset = _ENTRY_DESCRIPTION.size
        unit_type = None
        if info & ValueInfo.UNIT_TYPE:
            _need(name, raw, offset + _UNIT_TYPE.size)
            (unit_type,) = _UNIT_TYPE.unpack_from(raw, offset)
            offset += _UNIT_TYPE.size
        size = (bit_length + 7) // 8
        values: dict[str, bytes] = {}
        for flag, field in (
            (ValueInfo.DEFAULT_VALUE, "default_value"),
            (ValueInfo.MINIMUM_VALUE, "minimum_value"),
            (ValueInfo.MAXIMUM_VALUE, "maximum_value"),
        ):
            if info & flag:
                _need(name, raw, offset + size)
                values[field] = raw[offset : offset + size]
                offset += size
        return cls(
            index=index,
            subindex=subindex,
            value_info=info,
            data_type=_enum_or_int(DataType, data_type),
            bit_length=bit_length,
            object_access=ObjectAccess(access),
            name=_decode_text(raw[offset:]),
            unit_type=unit_type,
            **values,
        )


@dataclass(frozen=True, slots=True)
class SdoInfoError(_SdoInfoBody):
    """SDO Info Error request: the slave refuses an SDO information request with an abort code."""

    OPCODE: ClassVar[SdoInfoOpcode] = SdoInfoOpcode.SDO_INFO_ERROR_REQUEST
    code: SdoAbortCode | int

    def __post_init__(self) -> None:
        if not 0 <= self.code <= MAX_U32:
            raise ValueError(f"SDO abort code 0x{self.code:X} out of range (32 bits)")

    @property
    def text(self) -> str:
        """The specification text of :attr:`code`."""
        return sdo_abort_text(self.code)

    def encode(self) -> bytes:
        """The service data."""
        return _U32.pack(self.code)

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode the service data; a trailing vendor text is ignored."""
        raw = bytes(data)
        _need("SDO Info Error request", raw, _U32.size)
        (code,) = _U32.unpack_from(raw)
        return cls(_enum_or_int(SdoAbortCode, code))


SdoInfoBody = Union[
    OdListRequest,
    OdListResponse,
    ObjectDescriptionRequest,
    ObjectDescriptionResponse,
    EntryDescriptionRequest,
    EntryDescriptionResponse,
    SdoInfoError,
]

_BODY_BY_OPCODE: dict[SdoInfoOpcode, Any] = {
    body.OPCODE: body
    for body in (
        OdListRequest,
        OdListResponse,
        ObjectDescriptionRequest,
        ObjectDescriptionResponse,
        EntryDescriptionRequest,
        EntryDescriptionResponse,
        SdoInfoError,
    )
}


def decode_sdo_info(fragments: Sequence[SdoInfoMessage]) -> SdoInfoBody:
    """Join the fragments of one SDO information message and decode its service data.

    Raises :class:`ProtocolError` unless the fragments share one opcode, count
    ``fragments_left`` down by one to 0, and only the last one is complete.
    """
    name = "SDO information fragments"
    if not fragments:
        raise ProtocolError(name, "no fragments")
    first = fragments[0]
    for position, fragment in enumerate(fragments):
        if fragment.opcode != first.opcode:
            raise ProtocolError(
                name, f"fragment {position} has opcode {fragment.opcode}, not {first.opcode}"
            )
        if fragment.fragments_left != first.fragments_left - position:
            raise ProtocolError(
                name,
                f"fragment {position} has {fragment.fragments_left} fragments left, "
                f"expected {first.fragments_left - position}",
            )
        last = position == len(fragments) - 1
        if last and (fragment.incomplete or fragment.fragments_left):
            raise ProtocolError(name, "the last fragment says more fragments follow")
    return _BODY_BY_OPCODE[first.opcode].decode(b"".join(fragment.data for fragment in fragments))


def fragment_sdo_info(body: SdoInfoBody, max_data: int) -> list[SdoInfoMessage]:
    """Split ``body`` into fragments of at most ``max_data`` service-data octets each.

    ``max_data`` is the slave's mailbox size minus the mailbox and SDO information headers;
    masters that parse OD list fragments one by one (SOEM) need it even.
    """
    if max_data < 1:
        raise ValueError(f"max_data {max_data} must be at least 1")
    data = body.encode()
    chunks = [data[start : start + max_data] for start in range(0, len(data), max_data)] or [b""]
    return [
        SdoInfoMessage(body.OPCODE, chunk, incomplete=left > 0, fragments_left=left)
        for chunk, left in zip(chunks, range(len(chunks) - 1, -1, -1))
    ]


# ------------------------------------------------------------------------------ emergency
class ErrorRegister(enum.IntFlag):
    """Error register bits (CiA 301 object 0x1001)."""

    GENERIC = 0x01
    CURRENT = 0x02
    VOLTAGE = 0x04
    TEMPERATURE = 0x08
    COMMUNICATION = 0x10
    DEVICE_PROFILE = 0x20
    MANUFACTURER = 0x80


#: CoE header, error code, error register, manufacturer-specific field.
_EMERGENCY = struct.Struct("<HHB5s")
EMERGENCY_SIZE = _EMERGENCY.size  # 10
EMERGENCY_DATA_SIZE = 5

#: Emergency error codes with their own text (CiA 301 emergency error codes).
_EMERGENCY_CODES = {
    0x8110: "CAN overrun (objects lost)",
    0x8120: "CAN in error passive mode",
    0x8130: "Life guard error or heartbeat error",
    0x8140: "Recovered from bus off",
    0x8150: "CAN-ID collision",
    0x8210: "PDO not processed due to length error",
    0x8220: "PDO length exceeded",
    0x8230: "DAM MPDO not processed, destination object not available",
    0x8240: "Unexpected SYNC data length",
    0x8250: "RPDO timeout",
}
EMERGENCY_GROUP_MASK = 0xFF00
#: Emergency error code groups xx00..xxFF (CiA 301 emergency error codes).
_EMERGENCY_GROUPS = {
    0x0000: "Error reset or no error",
    0x1000: "Generic error",
    0x2000: "Current - generic error",
    0x2100: "Current, device input side",
    0x2200: "Current inside the device",
    0x2300: "Current, device output side",
    0x3000: "Voltage - generic error",
    0x3100: "Mains voltage",
    0x3200: "Voltage inside the device",
    0x3300: "Output voltage",
    0x4000: "Temperature - generic error",
    0x4100: "Ambient temperature",
    0x4200: "Device temperature",
    0x5000: "Device hardware - generic error",
    0x6000: "Device software - generic error",
    0x6100: "Internal software",
    0x6200: "User software",
    0x6300: "Data set",
    0x7000: "Additional modules - generic error",
    0x8000: "Monitoring - generic error",
    0x8100: "Communication - generic error",
    0x8200: "Protocol error - generic error",
    0x9000: "External error - generic error",
    0xF000: "Additional functions - generic error",
    0xFF00: "Device specific - generic error",
}
EMERGENCY_CLASS_MASK = 0xF000
#: Emergency error code classes x000..xFFF whose sub-groups are not all defined.
_EMERGENCY_CLASSES = {
    0x2000: "Current",
    0x3000: "Voltage",
    0x4000: "Temperature",
    0x5000: "Device hardware",
    0x6000: "Device software",
    0x7000: "Additional modules",
    0x8000: "Monitoring",
}


def emergency_text(code: int) -> str:
    """The CiA 301 text of an emergency error code, or of its group or class; never fails."""
    code &= MAX_U16
    text = _EMERGENCY_CODES.get(code) or _EMERGENCY_GROUPS.get(code & EMERGENCY_GROUP_MASK)
    if text is not None:
        return text
    error_class = _EMERGENCY_CLASSES.get(code & EMERGENCY_CLASS_MASK)
    if error_class is not None:
        return f"{error_class} error"
    return f"Unknown emergency error code 0x{code:04X}"


@dataclass(frozen=True, slots=True)
class Emergency:
    """A CoE emergency message (slave to master)."""

    error_code: int
    error_register: ErrorRegister = ErrorRegister(0)
    data: bytes = bytes(EMERGENCY_DATA_SIZE)

    def __post_init__(self) -> None:
        _check_u16("emergency error code", self.error_code)
        if not 0 <= self.error_register <= MAX_U8:
            raise ValueError(f"error register 0x{self.error_register:X} out of range 0..0xFF")
        if len(self.data) != EMERGENCY_DATA_SIZE:
            raise ValueError(
                f"emergency data of {len(self.data)} octets, must be {EMERGENCY_DATA_SIZE}"
            )

    @property
    def text(self) -> str:
        """The CiA 301 text of :attr:`error_code`."""
        return emergency_text(self.error_code)

    def encode(self) -> bytes:
        """The CoE payload (10 octets)."""
        return _EMERGENCY.pack(
            CoEService.EMERGENCY << COE_SERVICE_SHIFT,
            self.error_code,
            self.error_register,
            self.data,
        )

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode a CoE payload holding an emergency; trailing octets are ignored."""
        raw = bytes(data)
        _need("CoE emergency", raw, EMERGENCY_SIZE)
        word, error_code, register, extra = _EMERGENCY.unpack_from(raw)
        if word >> COE_SERVICE_SHIFT != CoEService.EMERGENCY:
            raise ProtocolError(
                "CoE emergency", f"CoE service {word >> COE_SERVICE_SHIFT}, expected 1", 0
            )
        return cls(error_code, ErrorRegister(register), extra)


# ------------------------------------------------------------------------------------ PDO
_PDO_SERVICES = frozenset(
    {CoEService.TXPDO, CoEService.RXPDO, CoEService.TXPDO_REMOTE_REQ, CoEService.RXPDO_REMOTE_REQ}
)
#: Non-SDO services sent by the slave; the master sends the others (Wireshark RTR comments).
_SENT_BY_SLAVE = frozenset({CoEService.EMERGENCY, CoEService.TXPDO, CoEService.RXPDO_REMOTE_REQ})


@dataclass(frozen=True, slots=True)
class CoEPdoMessage:
    """A PDO sent over the mailbox, or a remote request for one (ETG.1000.6 5.6).

    ``number`` is the PDO number from the CoE header; remote requests carry no data.
    """

    service: CoEService
    number: int
    data: bytes = b""

    def __post_init__(self) -> None:
        if self.service not in _PDO_SERVICES:
            raise ValueError(f"CoE service {self.service} is not a PDO service")
        if not 0 <= self.number <= COE_NUMBER_MASK:
            raise ValueError(f"PDO number {self.number} out of range 0..{COE_NUMBER_MASK}")

    def encode(self) -> bytes:
        """The CoE payload."""
        return CoEHeader(self.service, self.number).encode() + self.data

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode a CoE payload holding a PDO service."""
        raw = bytes(data)
        header = CoEHeader.decode(raw)
        return _build(
            "CoE PDO", cls, service=header.service, number=header.number, data=raw[COE_HEADER_SIZE:]
        )


CoEMessage = Union[SdoMessage, SdoInfoMessage, Emergency, CoEPdoMessage]


def decode_coe(data: Buffer, direction: Direction) -> CoEMessage:
    """Decode any CoE payload (the mailbox service data of a CoE mailbox).

    ``direction`` says who sent it, which decides how an SDO command specifier is read (see
    the module documentation). Raises :class:`ProtocolError` for malformed messages and for
    services, specifiers and opcodes the sender may not send.
    """
    raw = bytes(data)
    service = CoEHeader.decode(raw).service
    if service in (CoEService.SDO_REQUEST, CoEService.SDO_RESPONSE):
        return _decode_sdo(raw, service, direction)
    from_slave = direction is Direction.SLAVE_TO_MASTER
    if service == CoEService.SDO_INFORMATION:
        message = SdoInfoMessage.decode(raw)
        if (message.opcode in _INFO_REQUESTS) == from_slave:
            raise ProtocolError(
                "SDO information", f"opcode {message.opcode.name} sent {direction.value}", 2
            )
        return message
    if service not in _PDO_SERVICES and service != CoEService.EMERGENCY:
        raise ProtocolError("CoE header", f"reserved CoE service {service}", offset=0)
    if (service in _SENT_BY_SLAVE) != from_slave:
        raise ProtocolError("CoE header", f"CoE service {service.name} sent {direction.value}", 0)
    if service == CoEService.EMERGENCY:
        return Emergency.decode(raw)
    return CoEPdoMessage.decode(raw)


# ----------------------------------------------------------------------------- data types
class DataType(enum.IntEnum):
    """CoE data type indices (ETG.1000.6 data type area; CiA 301 basic data types)."""

    BOOLEAN = 0x0001
    INTEGER8 = 0x0002
    INTEGER16 = 0x0003
    INTEGER32 = 0x0004
    UNSIGNED8 = 0x0005
    UNSIGNED16 = 0x0006
    UNSIGNED32 = 0x0007
    REAL32 = 0x0008
    VISIBLE_STRING = 0x0009
    OCTET_STRING = 0x000A
    UNICODE_STRING = 0x000B
    TIME_OF_DAY = 0x000C
    TIME_DIFFERENCE = 0x000D
    DOMAIN = 0x000F
    INTEGER24 = 0x0010
    REAL64 = 0x0011
    INTEGER40 = 0x0012
    INTEGER48 = 0x0013
    INTEGER56 = 0x0014
    INTEGER64 = 0x0015
    UNSIGNED24 = 0x0016
    UNSIGNED40 = 0x0018
    UNSIGNED48 = 0x0019
    UNSIGNED56 = 0x001A
    UNSIGNED64 = 0x001B
    GUID = 0x001D
    BYTE = 0x001E
    WORD = 0x001F
    DWORD = 0x0020
    PDO_MAPPING = 0x0021
    IDENTITY = 0x0023
    COMMAND_PAR = 0x0025
    PDO_PARAMETER = 0x0027
    ENUM = 0x0028
    SM_SYNCHRONISATION = 0x0029
    RECORD = 0x002A
    BACKUP_PARAMETER = 0x002B
    MODULAR_DEVICE_PROFILE = 0x002C
    BITARR8 = 0x002D
    BITARR16 = 0x002E
    BITARR32 = 0x002F
    BIT1 = 0x0030
    BIT2 = 0x0031
    BIT3 = 0x0032
    BIT4 = 0x0033
    BIT5 = 0x0034
    BIT6 = 0x0035
    BIT7 = 0x0036
    BIT8 = 0x0037
    ARRAY_OF_INT = 0x0260
    ARRAY_OF_SINT = 0x0261
    ARRAY_OF_DINT = 0x0262
    ARRAY_OF_UDINT = 0x0263
    ERROR_SETTING = 0x0281
    DIAGNOSIS_HISTORY = 0x0282
    SYNC_STATUS = 0x0283
    SYNC_SETTINGS = 0x0284
    FSOE_FRAME = 0x0285
    FSOE_COMM_PAR = 0x0286


#: (octets, signed) of the integer types.
_INTEGERS: dict[int, tuple[int, bool]] = {
    DataType.INTEGER8: (1, True),
    DataType.INTEGER16: (2, True),
    DataType.INTEGER24: (3, True),
    DataType.INTEGER32: (4, True),
    DataType.INTEGER40: (5, True),
    DataType.INTEGER48: (6, True),
    DataType.INTEGER56: (7, True),
    DataType.INTEGER64: (8, True),
    DataType.UNSIGNED8: (1, False),
    DataType.UNSIGNED16: (2, False),
    DataType.UNSIGNED24: (3, False),
    DataType.UNSIGNED32: (4, False),
    DataType.UNSIGNED40: (5, False),
    DataType.UNSIGNED48: (6, False),
    DataType.UNSIGNED56: (7, False),
    DataType.UNSIGNED64: (8, False),
    DataType.BYTE: (1, False),
    DataType.WORD: (2, False),
    DataType.DWORD: (4, False),
    DataType.BITARR8: (1, False),
    DataType.BITARR16: (2, False),
    DataType.BITARR32: (4, False),
}
#: Bit width of BIT1..BIT8, each sent in one octet.
_BITS: dict[int, int] = {DataType.BIT1 + width - 1: width for width in range(1, 9)}
_FLOATS: dict[int, struct.Struct] = {
    DataType.REAL32: struct.Struct("<f"),
    DataType.REAL64: struct.Struct("<d"),
}
_TIMES = frozenset({DataType.TIME_OF_DAY, DataType.TIME_DIFFERENCE})
GUID_SIZE = 16
BITS_PER_OCTET = 8

#: Bit size of the fixed-size data types; strings, DOMAIN and the structured types have none.
DATA_TYPE_BIT_SIZES: dict[int, int] = {
    DataType.BOOLEAN: 1,
    **{DataType(dt): octets * BITS_PER_OCTET for dt, (octets, _) in _INTEGERS.items()},
    **{DataType(dt): width for dt, width in _BITS.items()},
    DataType.REAL32: 32,
    DataType.REAL64: 64,
    DataType.TIME_OF_DAY: 48,
    DataType.TIME_DIFFERENCE: 48,
    DataType.GUID: GUID_SIZE * BITS_PER_OCTET,
}

#: TIME_OF_DAY / TIME_DIFFERENCE: u28 milliseconds + 4 reserved bits, u16 days.
_TIME = struct.Struct("<IH")
TIME_MS_MASK = 0x0FFFFFFF


@dataclass(frozen=True, slots=True)
class TimeOfDay:
    """A TIME_OF_DAY (days since 1984-01-01, milliseconds after midnight) or a
    TIME_DIFFERENCE (days and milliseconds) value (CiA 301 time types)."""

    milliseconds: int
    days: int

    def __post_init__(self) -> None:
        if not 0 <= self.milliseconds <= TIME_MS_MASK:
            raise ValueError(f"milliseconds {self.milliseconds} out of range (28 bits)")
        _check_u16("days", self.days)


def encode_value(data_type: DataType | int, value: Any) -> bytes:
    """Pack a Python value as the octets of ``data_type`` (as sent in an SDO download).

    BOOLEAN takes a bool, the integer and BITn types an int, REAL32/64 a float,
    VISIBLE_STRING and UNICODE_STRING a str, TIME_OF_DAY and TIME_DIFFERENCE a
    :class:`TimeOfDay`; every other type (OCTET_STRING, DOMAIN, GUID, structured types) bytes.
    Raises :class:`ValueError` for values the type cannot hold.
    """
    if data_type == DataType.BOOLEAN:
        if value not in (False, True):
            raise ValueError(f"BOOLEAN takes True or False, not {value!r}")
        return bytes((int(value),))
    if data_type in _INTEGERS:
        octets, signed = _INTEGERS[data_type]
        try:
            return operator.index(value).to_bytes(octets, "little", signed=signed)
        except OverflowError:
            raise ValueError(f"{value} does not fit in {DataType(data_type).name}") from None
    if data_type in _BITS:
        if not 0 <= operator.index(value) < 1 << _BITS[data_type]:
            raise ValueError(f"{value} does not fit in {DataType(data_type).name}")
        return bytes((value,))
    if data_type in _FLOATS:
        try:
            return _FLOATS[data_type].pack(value)
        except (OverflowError, struct.error) as exc:
            raise ValueError(f"{value!r} is not a {DataType(data_type).name}: {exc}") from None
    if data_type == DataType.VISIBLE_STRING:
        return _encode_text(value)
    if data_type == DataType.UNICODE_STRING:
        if "\0" in value:
            raise ValueError("text must not contain NUL characters")
        return value.encode("utf-16-le")
    if data_type in _TIMES:
        return _TIME.pack(value.milliseconds, value.days)
    raw = bytes(value)
    if data_type == DataType.GUID and len(raw) != GUID_SIZE:
        raise ValueError(f"GUID of {len(raw)} octets, must be {GUID_SIZE}")
    return raw


def decode_value(data_type: DataType | int, data: Buffer) -> Any:
    """Unpack the octets of ``data_type`` (as received in an SDO upload) into a Python value.

    The inverse of :func:`encode_value`. Fixed-size types need exactly their size; strings end
    at the first NUL. Types without a scalar meaning come back as bytes. Raises only
    :class:`ProtocolError`.
    """
    raw = bytes(data)
    bit_size = DATA_TYPE_BIT_SIZES.get(data_type)
    if bit_size is not None and len(raw) != (bit_size + 7) // BITS_PER_OCTET:
        raise ProtocolError(
            f"{DataType(data_type).name} value",
            f"{len(raw)} octets, need {(bit_size + 7) // BITS_PER_OCTET}",
            offset=0,
        )
    if data_type == DataType.BOOLEAN:
        return raw[0] != 0
    if data_type in _INTEGERS:
        return int.from_bytes(raw, "little", signed=_INTEGERS[data_type][1])
    if data_type in _BITS:
        if raw[0] >> _BITS[data_type]:
            raise ProtocolError(
                f"{DataType(data_type).name} value", f"0x{raw[0]:02X} has bits beyond the width", 0
            )
        return raw[0]
    if data_type in _FLOATS:
        return _FLOATS[data_type].unpack(raw)[0]
    if data_type == DataType.VISIBLE_STRING:
        return _decode_text(raw)
    if data_type == DataType.UNICODE_STRING:
        if len(raw) % 2:
            raise ProtocolError("UNICODE_STRING value", f"odd length {len(raw)}", offset=0)
        return raw.decode("utf-16-le", errors="replace").split("\0", 1)[0]
    if data_type in _TIMES:
        milliseconds, days = _TIME.unpack(raw)
        return TimeOfDay(milliseconds & TIME_MS_MASK, days)
    return raw
