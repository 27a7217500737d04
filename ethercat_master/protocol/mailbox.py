"""The EtherCAT mailbox: header, full mailbox buffers and the mailbox error reply.

Mailbox header (ETG.1000.4 "Mailbox header"; ETG.1000.6 5.2 "Mailbox"; same layout in SOEM
``ec_mbxheadert``, the Beckhoff slave stack ``TMBXHEADER`` and Wireshark
``ETHERCAT_MBOX_HEADER``)::

    offset size field
    0      2    length: octets of mailbox service data after this 6-octet header
    2      2    address: station address of the source (master to slave: 0 or the
                originating station; slave to master: the destination)
    4      1    channel (bits 0..5) | priority (bits 6..7)
    5      1    type (bits 0..3) | counter (bits 4..6) | reserved (bit 7)
    6      n    mailbox service data, padded with anything up to the sync manager's size

Mailbox types (ETG.1000.6 "Mailbox type"): 0 error reply, 1 AoE, 2 EoE, 3 CoE,
4 FoE, 5 SoE, 15 VoE; 6..14 are reserved. The counter is 0 when unused; a master that uses it
cycles 1..7 and never sends 0 again (ETG.1000.4 "Cnt", SOEM ``ec_nextmbxcnt``).

Mailbox error reply (ETG.1000.6 "Error Reply Service"; SOEM ``ec_mbxerrort``), mailbox type 0::

    offset size field
    0      2    type: 0x01 (mailbox command)
    2      2    detail: the error code (:class:`MailboxErrorCode`)
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Optional, Self, Union

from ..errors import MailboxError, ProtocolError

__all__ = [
    "MAILBOX_HEADER_SIZE",
    "MAILBOX_ERROR_SERVICE_TYPE",
    "MAILBOX_ERROR_TEXTS",
    "MailboxType",
    "MailboxHeader",
    "MailboxMessage",
    "MailboxErrorCode",
    "MailboxErrorReply",
    "build_mailbox",
    "next_counter",
    "mailbox_error_text",
]

Buffer = Union[bytes, bytearray, memoryview]

#: length u16, address u16, channel/priority u8, type/counter/reserved u8.
_HEADER = struct.Struct("<HHBB")
MAILBOX_HEADER_SIZE = _HEADER.size  # 6

CHANNEL_MASK = 0x3F
PRIORITY_SHIFT = 6
PRIORITY_MASK = 0x03
TYPE_MASK = 0x0F
COUNTER_SHIFT = 4
COUNTER_MASK = 0x07
RESERVED_SHIFT = 7
MAX_U16 = 0xFFFF
#: Counter value meaning "counter not used".
NO_COUNTER = 0
#: Counters a master cycles through.
FIRST_COUNTER = 1
LAST_COUNTER = 7

#: Error reply service data: type u16, detail u16.
_ERROR_REPLY = struct.Struct("<HH")
#: The only service type of an error reply: "mailbox command".
MAILBOX_ERROR_SERVICE_TYPE = 0x01


class MailboxType(enum.IntEnum):
    """Mailbox protocol in the header's type field (ETG.1000.6 "Mailbox type")."""

    ERR = 0x00
    AOE = 0x01
    EOE = 0x02
    COE = 0x03
    FOE = 0x04
    SOE = 0x05
    VOE = 0x0F


def _type_or_int(value: int) -> MailboxType | int:
    try:
        return MailboxType(value)
    except ValueError:
        return value


@dataclass(frozen=True, slots=True)
class MailboxHeader:
    """The 6-octet mailbox header (ETG.1000.4 "Mailbox header").

    ``type`` is a :class:`MailboxType`, or the raw number for the reserved types 6..14 so that
    a caller can answer them with :attr:`MailboxErrorCode.UNSUPPORTED_PROTOCOL` instead of
    failing to decode. ``counter`` is 0 (not used) or 1..7; ``reserved`` is the top bit of the
    sixth octet, kept as found.
    """

    length: int
    address: int
    channel: int
    priority: int
    type: MailboxType | int
    counter: int
    reserved: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.length <= MAX_U16:
            raise ValueError(f"mailbox length {self.length} out of range 0..{MAX_U16}")
        if not 0 <= self.address <= MAX_U16:
            raise ValueError(f"mailbox address 0x{self.address:X} out of range 0..0x{MAX_U16:X}")
        if not 0 <= self.channel <= CHANNEL_MASK:
            raise ValueError(f"mailbox channel {self.channel} out of range 0..{CHANNEL_MASK}")
        if not 0 <= self.priority <= PRIORITY_MASK:
            raise ValueError(f"mailbox priority {self.priority} out of range 0..{PRIORITY_MASK}")
        if not 0 <= self.type <= TYPE_MASK:
            raise ValueError(f"mailbox type {self.type} out of range 0..{TYPE_MASK}")
        if not 0 <= self.counter <= COUNTER_MASK:
            raise ValueError(f"mailbox counter {self.counter} out of range 0..{COUNTER_MASK}")

    def encode(self) -> bytes:
        """The 6 header octets."""
        return _HEADER.pack(
            self.length,
            self.address,
            self.channel | (self.priority << PRIORITY_SHIFT),
            int(self.type)
            | (self.counter << COUNTER_SHIFT)
            | (int(self.reserved) << RESERVED_SHIFT),
        )

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode the first 6 octets of ``data``; raises :class:`ProtocolError` if shorter."""
        if len(data) < MAILBOX_HEADER_SIZE:
            raise ProtocolError(
                "mailbox header", f"{len(data)} octets, need {MAILBOX_HEADER_SIZE}", offset=0
            )
        length, address, channel_priority, type_counter = _HEADER.unpack_from(data)
        return cls(
            length=length,
            address=address,
            channel=channel_priority & CHANNEL_MASK,
            priority=(channel_priority >> PRIORITY_SHIFT) & PRIORITY_MASK,
            type=_type_or_int(type_counter & TYPE_MASK),
            counter=(type_counter >> COUNTER_SHIFT) & COUNTER_MASK,
            reserved=bool(type_counter >> RESERVED_SHIFT),
        )


@dataclass(frozen=True, slots=True)
class MailboxMessage:
    """A mailbox header and its service data; ``header.length`` equals ``len(payload)``."""

    header: MailboxHeader
    payload: bytes

    def __post_init__(self) -> None:
        if self.header.length != len(self.payload):
            raise ValueError(
                f"header length {self.header.length} differs from payload length {len(self.payload)}"
            )

    def encode(self, mailbox_size: Optional[int] = None) -> bytes:
        """Header and payload, zero-padded to ``mailbox_size`` octets when given.

        Raises :class:`ValueError` if the message does not fit in ``mailbox_size``.
        """
        raw = self.header.encode() + self.payload
        if mailbox_size is None:
            return raw
        if len(raw) > mailbox_size:
            raise ValueError(
                f"mailbox message of {len(raw)} octets exceeds mailbox size {mailbox_size}"
            )
        return raw + bytes(mailbox_size - len(raw))

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Split a received mailbox buffer into header and service data.

        Octets after ``header.length`` are the sync manager's padding and are dropped. Raises
        :class:`ProtocolError` if the header's length does not fit in the buffer.
        """
        header = MailboxHeader.decode(data)
        end = MAILBOX_HEADER_SIZE + header.length
        if end > len(data):
            raise ProtocolError(
                "mailbox",
                f"header length {header.length} exceeds the {len(data) - MAILBOX_HEADER_SIZE} "
                "octets after the header",
                offset=0,
            )
        return cls(header=header, payload=bytes(data[MAILBOX_HEADER_SIZE:end]))


def build_mailbox(
    type: MailboxType | int,
    payload: Buffer,
    *,
    mailbox_size: Optional[int] = None,
    counter: int = NO_COUNTER,
    address: int = 0,
    channel: int = 0,
    priority: int = 0,
) -> bytes:
    """A complete mailbox buffer: header for ``payload`` plus padding to ``mailbox_size``."""
    header = MailboxHeader(
        length=len(payload),
        address=address,
        channel=channel,
        priority=priority,
        type=type,
        counter=counter,
    )
    return MailboxMessage(header, bytes(payload)).encode(mailbox_size)


def next_counter(counter: int) -> int:
    """The counter to send after ``counter``: 1, 2, ..., 7, 1, ... (0 is followed by 1)."""
    if not NO_COUNTER <= counter <= LAST_COUNTER:
        raise ValueError(f"mailbox counter {counter} out of range 0..{LAST_COUNTER}")
    return FIRST_COUNTER if counter == LAST_COUNTER else counter + 1


class MailboxErrorCode(enum.IntEnum):
    """Detail codes of the mailbox error reply (ETG.1000.6 "Error Reply Service")."""

    SYNTAX = 0x0001
    UNSUPPORTED_PROTOCOL = 0x0002
    INVALID_CHANNEL = 0x0003
    SERVICE_NOT_SUPPORTED = 0x0004
    INVALID_HEADER = 0x0005
    SIZE_TOO_SHORT = 0x0006
    NO_MORE_MEMORY = 0x0007
    INVALID_SIZE = 0x0008
    SERVICE_IN_WORK = 0x0009


#: Specification texts of the mailbox error codes (ETG.1000.6 "Error Reply Service").
MAILBOX_ERROR_TEXTS: dict[int, str] = {
    MailboxErrorCode.SYNTAX: "Syntax of 6 octet Mailbox Header is wrong",
    MailboxErrorCode.UNSUPPORTED_PROTOCOL: "The Mailbox protocol is not supported",
    MailboxErrorCode.INVALID_CHANNEL: "Channel Field contains wrong value",
    MailboxErrorCode.SERVICE_NOT_SUPPORTED: "The service in the Mailbox protocol is not supported",
    MailboxErrorCode.INVALID_HEADER: (
        "The mailbox protocol header of the mailbox protocol is wrong "
        "(without the 6 octet mailbox header)"
    ),
    MailboxErrorCode.SIZE_TOO_SHORT: "Length of received mailbox data is too short",
    MailboxErrorCode.NO_MORE_MEMORY: "Mailbox protocol can not be processed because of limited resources",
    MailboxErrorCode.INVALID_SIZE: "The length of data is inconsistent",
    MailboxErrorCode.SERVICE_IN_WORK: "Mailbox service already in use",
}


def mailbox_error_text(code: int) -> str:
    """The specification text of a mailbox error code; never fails."""
    text = MAILBOX_ERROR_TEXTS.get(code)
    if text is None:
        return f"Unknown mailbox error code 0x{code & MAX_U16:04X}"
    return f"MBXERR_{MailboxErrorCode(code).name.replace('_', '')}: {text}"


@dataclass(frozen=True, slots=True)
class MailboxErrorReply:
    """The service data of a mailbox of type :attr:`MailboxType.ERR` (ETG.1000.6).

    ``code`` is a :class:`MailboxErrorCode`, or the raw number for codes the specification
    does not define.
    """

    code: MailboxErrorCode | int

    def __post_init__(self) -> None:
        if not 0 <= self.code <= MAX_U16:
            raise ValueError(f"mailbox error code {self.code} out of range 0..0x{MAX_U16:X}")

    @property
    def text(self) -> str:
        """The specification text of :attr:`code`."""
        return mailbox_error_text(self.code)

    def encode(self) -> bytes:
        """The 4 octets of service data."""
        return _ERROR_REPLY.pack(MAILBOX_ERROR_SERVICE_TYPE, self.code)

    @classmethod
    def decode(cls, data: Buffer) -> Self:
        """Decode the service data of an error reply; trailing octets are ignored."""
        if len(data) < _ERROR_REPLY.size:
            raise ProtocolError(
                "mailbox error reply", f"{len(data)} octets, need {_ERROR_REPLY.size}", offset=0
            )
        service_type, code = _ERROR_REPLY.unpack_from(data)
        if service_type != MAILBOX_ERROR_SERVICE_TYPE:
            raise ProtocolError(
                "mailbox error reply",
                f"service type 0x{service_type:04X}, expected 0x{MAILBOX_ERROR_SERVICE_TYPE:04X}",
                offset=0,
            )
        try:
            return cls(MailboxErrorCode(code))
        except ValueError:
            return cls(code)

    def to_error(self, slave: Optional[object] = None) -> MailboxError:
        """The :class:`MailboxError` to raise for this reply."""
        return MailboxError(
            "mailbox",
            f"error reply 0x{self.code:04X} ({self.text})",
            slave=slave,
            code=int(self.code),
        )
