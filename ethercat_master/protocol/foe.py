"""File access over EtherCAT (FoE): the payload that follows the 6-byte mailbox header.

Sources: ETG.1000.6, FoE services and their coding, and its table of FoE error codes
("Table 92 - Error codes of FoE"), as reproduced in the Beckhoff slave stack code
(``foeappl.h`` ``ECAT_FOE_ERRCODE_*``), SOEM (``ethercatfoe.c`` ``ec_FOEt``), IgH
(``fsm_foe.c``, ``EC_FOE_HEADER_SIZE``) and Wireshark (``packet-ecatmb.c``, FoE dissector).

Every FoE payload starts with the same 6-byte header::

    byte 0      OpCode (FoEOpCode)
    byte 1      reserved, 0
    bytes 2-5   read / write request: password        UDINT
                data / ack:           packet number   UDINT
                error:                error code      UDINT
                busy:                 done UINT (2-3), entire UINT (4-5)
    bytes 6-    read / write request: file name, the rest of the payload, no terminator
                data:                 file data, the rest of the payload
                error / busy:         optional text, the rest of the payload

Texts (file name, error text, busy text) are octet strings; they are read as latin-1 (which
never fails) and end at the first NUL, because some devices send C strings with a terminator.
The encoders write them without a terminator and refuse texts containing NUL.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import ClassVar, Self, TypeAlias, Union

from ethercat_master.errors import FoEError, ProtocolError

__all__ = [
    "FOE_HEADER_SIZE",
    "FoEOpCode",
    "FoEErrorCode",
    "foe_error_text",
    "FoEReadRequest",
    "FoEWriteRequest",
    "FoEData",
    "FoEAck",
    "FoEErrorMessage",
    "FoEBusy",
    "FoEPacket",
    "decode_foe",
]

#: OpCode, reserved byte, then a UDINT (password, packet number or error code).
_HEADER = struct.Struct("<BBI")
#: OpCode, reserved byte, then the busy progress: done UINT, entire UINT.
_BUSY_HEADER = struct.Struct("<BBHH")
#: Size of the FoE header that precedes file name, data or text.
FOE_HEADER_SIZE = _HEADER.size
#: Byte offset of the OpCode.
_OPCODE_OFFSET = 0
#: Byte offset of the reserved byte.
_RESERVED_OFFSET = 1
#: Byte offset of the UDINT (or of the busy progress words).
_VALUE_OFFSET = 2
#: The only value the reserved byte may hold.
_RESERVED_VALUE = 0
#: Largest value of a UDINT field.
_U32_MAX = 0xFFFF_FFFF
#: Largest value of a UINT field.
_U16_MAX = 0xFFFF
#: Encoding of file names and texts (one byte per character, never fails to decode).
_TEXT_ENCODING = "latin-1"
#: A text ends at the first NUL when the sender appended a C terminator.
_TEXT_TERMINATOR = b"\x00"


class FoEOpCode(enum.IntEnum):
    """FoE operation codes (ETG.1000.6)."""

    READ = 1
    WRITE = 2
    DATA = 3
    ACK = 4
    ERROR = 5
    BUSY = 6


class FoEErrorCode(enum.IntEnum):
    """FoE error codes (ETG.1000.6 Table 92); other values are vendor specific."""

    NOT_DEFINED = 0x8000
    NOT_FOUND = 0x8001
    ACCESS_DENIED = 0x8002
    DISK_FULL = 0x8003
    ILLEGAL = 0x8004
    PACKET_NUMBER_WRONG = 0x8005
    ALREADY_EXISTS = 0x8006
    NO_USER = 0x8007
    BOOTSTRAP_ONLY = 0x8008
    NOT_BOOTSTRAP = 0x8009
    NO_RIGHTS = 0x800A
    PROGRAM_ERROR = 0x800B
    INVALID_CHECKSUM = 0x800C
    INVALID_FIRMWARE = 0x800D
    NO_FILE = 0x800F
    NO_FILE_HEADER = 0x8010
    FLASH_PROBLEM = 0x8011
    FILE_INCOMPATIBLE = 0x8012


_ERROR_TEXTS: dict[int, str] = {
    FoEErrorCode.NOT_DEFINED: "Not defined",
    FoEErrorCode.NOT_FOUND: "Not found",
    FoEErrorCode.ACCESS_DENIED: "Access denied",
    FoEErrorCode.DISK_FULL: "Disk full",
    FoEErrorCode.ILLEGAL: "Illegal",
    FoEErrorCode.PACKET_NUMBER_WRONG: "Packet number wrong",
    FoEErrorCode.ALREADY_EXISTS: "Already exists",
    FoEErrorCode.NO_USER: "No user",
    FoEErrorCode.BOOTSTRAP_ONLY: "Bootstrap only",
    FoEErrorCode.NOT_BOOTSTRAP: "Not Bootstrap",
    FoEErrorCode.NO_RIGHTS: "No rights",
    FoEErrorCode.PROGRAM_ERROR: "Program error",
    FoEErrorCode.INVALID_CHECKSUM: "Checksum error",
    FoEErrorCode.INVALID_FIRMWARE: "Firmware does not fit the hardware",
    FoEErrorCode.NO_FILE: "No file to read",
    FoEErrorCode.NO_FILE_HEADER: "File header missing or invalid",
    FoEErrorCode.FLASH_PROBLEM: "Flash problem",
    FoEErrorCode.FILE_INCOMPATIBLE: "File incompatible",
}


def foe_error_text(code: int) -> str:
    """The specification's text for an FoE error code; a generic text for any other int."""
    text = _ERROR_TEXTS.get(code)
    if text is not None:
        return text
    return f"unknown or vendor-specific FoE error code {code:#06x}"


def _error_code(value: int) -> FoEErrorCode | int:
    """The :class:`FoEErrorCode` for ``value``, or ``value`` itself when it is not defined."""
    return FoEErrorCode(value) if value in _ERROR_TEXTS else value


def _check_range(name: str, value: int, maximum: int) -> None:
    if not 0 <= value <= maximum:
        raise ValueError(f"{name} {value!r} is outside 0..{maximum:#x}")


def _encode_text(name: str, text: str) -> bytes:
    if "\x00" in text:
        raise ValueError(f"{name} {text!r} contains NUL")
    try:
        return text.encode(_TEXT_ENCODING)
    except UnicodeEncodeError as exc:
        raise ValueError(f"{name} {text!r} has characters outside latin-1") from exc


def _decode_text(raw: bytes) -> str:
    return raw.split(_TEXT_TERMINATOR, 1)[0].decode(_TEXT_ENCODING)


def _unpack_header(
    data: bytes | bytearray | memoryview, opcode: FoEOpCode, structure: str
) -> tuple[bytes, int]:
    """Check length, OpCode and reserved byte; return the bytes and the header's UDINT."""
    raw = bytes(data)
    if len(raw) < FOE_HEADER_SIZE:
        raise ProtocolError(
            structure, f"{len(raw)} bytes, the FoE header alone needs {FOE_HEADER_SIZE}", 0
        )
    code, reserved, value = _HEADER.unpack_from(raw)
    if code != opcode:
        raise ProtocolError(structure, f"OpCode {code}, expected {opcode.value}", _OPCODE_OFFSET)
    if reserved != _RESERVED_VALUE:
        raise ProtocolError(structure, f"reserved byte is {reserved:#04x}, not 0", _RESERVED_OFFSET)
    return raw, value


@dataclass(frozen=True, slots=True)
class _FoEFileRequest:
    """Layout shared by the read and the write request: password and file name."""

    OPCODE: ClassVar[FoEOpCode]
    STRUCTURE: ClassVar[str]

    #: Name of the file on the slave (at least one character).
    file_name: str
    #: Password the slave checks (0 when the file has none).
    password: int = 0

    def encode(self) -> bytes:
        """The FoE payload of this request."""
        name = _encode_text("file name", self.file_name)
        if not name:
            raise ValueError("file name is empty")
        _check_range("password", self.password, _U32_MAX)
        return _HEADER.pack(self.OPCODE, _RESERVED_VALUE, self.password) + name

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode a request; raise :class:`ProtocolError` when malformed."""
        raw, password = _unpack_header(data, cls.OPCODE, cls.STRUCTURE)
        name = _decode_text(raw[FOE_HEADER_SIZE:])
        if not name:
            raise ProtocolError(cls.STRUCTURE, "file name is empty", FOE_HEADER_SIZE)
        return cls(file_name=name, password=password)


@dataclass(frozen=True, slots=True)
class FoEReadRequest(_FoEFileRequest):
    """Read request (RRQ): the master asks the slave for a file."""

    OPCODE: ClassVar[FoEOpCode] = FoEOpCode.READ
    STRUCTURE: ClassVar[str] = "FoE read request"


@dataclass(frozen=True, slots=True)
class FoEWriteRequest(_FoEFileRequest):
    """Write request (WRQ): the master announces a file it will send to the slave."""

    OPCODE: ClassVar[FoEOpCode] = FoEOpCode.WRITE
    STRUCTURE: ClassVar[str] = "FoE write request"


@dataclass(frozen=True, slots=True)
class FoEData:
    """One data packet of a file; packet numbers count from 1.

    A packet shorter than the mailbox allows (possibly empty) ends the file.
    """

    STRUCTURE: ClassVar[str] = "FoE data"

    #: Number of this packet in the transfer.
    packet_number: int
    #: File data carried by this packet.
    data: bytes = b""

    def encode(self) -> bytes:
        """The FoE payload of this packet."""
        _check_range("packet number", self.packet_number, _U32_MAX)
        return _HEADER.pack(FoEOpCode.DATA, _RESERVED_VALUE, self.packet_number) + bytes(self.data)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode a data packet; raise :class:`ProtocolError` when malformed."""
        raw, packet_number = _unpack_header(data, FoEOpCode.DATA, cls.STRUCTURE)
        return cls(packet_number=packet_number, data=raw[FOE_HEADER_SIZE:])


@dataclass(frozen=True, slots=True)
class FoEAck:
    """Acknowledge of a data packet (or, with packet number 0, of a write request)."""

    STRUCTURE: ClassVar[str] = "FoE ack"

    #: Number of the acknowledged packet.
    packet_number: int

    def encode(self) -> bytes:
        """The FoE payload of this acknowledge."""
        _check_range("packet number", self.packet_number, _U32_MAX)
        return _HEADER.pack(FoEOpCode.ACK, _RESERVED_VALUE, self.packet_number)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode an acknowledge (exactly the 6-byte header); raise :class:`ProtocolError`."""
        raw, packet_number = _unpack_header(data, FoEOpCode.ACK, cls.STRUCTURE)
        if len(raw) != FOE_HEADER_SIZE:
            extra = len(raw) - FOE_HEADER_SIZE
            raise ProtocolError(cls.STRUCTURE, f"{extra} bytes after the header", FOE_HEADER_SIZE)
        return cls(packet_number=packet_number)


@dataclass(frozen=True, slots=True)
class FoEErrorMessage:
    """Error request: either side aborts the transfer with an FoE error code."""

    STRUCTURE: ClassVar[str] = "FoE error"

    #: The error code (:class:`FoEErrorCode`, or the raw value for vendor codes).
    code: FoEErrorCode | int
    #: Optional error text sent along with the code.
    text: str = ""

    def encode(self) -> bytes:
        """The FoE payload of this error message."""
        _check_range("error code", self.code, _U32_MAX)
        return _HEADER.pack(FoEOpCode.ERROR, _RESERVED_VALUE, self.code) + _encode_text(
            "error text", self.text
        )

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode an error message; raise :class:`ProtocolError` when malformed."""
        raw, code = _unpack_header(data, FoEOpCode.ERROR, cls.STRUCTURE)
        return cls(code=_error_code(code), text=_decode_text(raw[FOE_HEADER_SIZE:]))

    def as_error(self, slave: object | None = None) -> FoEError:
        """The :class:`FoEError` to raise for this message (specification text + slave's text)."""
        text = foe_error_text(self.code)
        if self.text:
            text = f"{text}: {self.text}"
        return FoEError(int(self.code), text, slave)


@dataclass(frozen=True, slots=True)
class FoEBusy:
    """Busy request: the slave is not ready and reports its progress (done of entire)."""

    STRUCTURE: ClassVar[str] = "FoE busy"

    #: Progress so far, in units of ``entire``.
    done: int
    #: Progress value that means "finished".
    entire: int
    #: Optional busy text.
    text: str = ""

    def encode(self) -> bytes:
        """The FoE payload of this busy message."""
        _check_range("done", self.done, _U16_MAX)
        _check_range("entire", self.entire, _U16_MAX)
        return _BUSY_HEADER.pack(FoEOpCode.BUSY, _RESERVED_VALUE, self.done, self.entire) + (
            _encode_text("busy text", self.text)
        )

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode a busy message; raise :class:`ProtocolError` when malformed."""
        raw, _ = _unpack_header(data, FoEOpCode.BUSY, cls.STRUCTURE)
        _, _, done, entire = _BUSY_HEADER.unpack_from(raw)
        return cls(done=done, entire=entire, text=_decode_text(raw[FOE_HEADER_SIZE:]))


#: Any decoded FoE payload.
FoEPacket: TypeAlias = Union[
    FoEReadRequest, FoEWriteRequest, FoEData, FoEAck, FoEErrorMessage, FoEBusy
]

_DECODERS: dict[int, type[FoEPacket]] = {
    FoEOpCode.READ: FoEReadRequest,
    FoEOpCode.WRITE: FoEWriteRequest,
    FoEOpCode.DATA: FoEData,
    FoEOpCode.ACK: FoEAck,
    FoEOpCode.ERROR: FoEErrorMessage,
    FoEOpCode.BUSY: FoEBusy,
}


def decode_foe(payload: bytes | bytearray | memoryview) -> FoEPacket:
    """Decode any FoE payload by its OpCode; raise :class:`ProtocolError` when malformed."""
    raw = bytes(payload)
    if not raw:
        raise ProtocolError("FoE payload", "empty, no OpCode", 0)
    decoder = _DECODERS.get(raw[_OPCODE_OFFSET])
    if decoder is None:
        raise ProtocolError("FoE payload", f"unknown OpCode {raw[_OPCODE_OFFSET]}", _OPCODE_OFFSET)
    return decoder.decode(raw)
