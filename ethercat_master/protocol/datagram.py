"""EtherCAT datagrams (ETG.1000.4, 5.4 "EtherCAT DLPDU", Table 13 and Table 14).

One datagram on the wire::

    offset size field
    0      1    command (Cmd)
    1      1    index (Idx): chosen by the master to match the reply
    2      4    address: ADP u16 + ADO u16 for position/station addressing,
                or one u32 logical address for LRD/LWR/LRW
    6      2    length (11 bits) | reserved (3 bits) | circulating (C, bit 14) | more follows (M, bit 15)
    8      2    IRQ: ESC event request bits ORed by every slave
    10     n    data
    10+n   2    working counter (WKC)

Position addressing (APxx, ARMW) uses a negative position as ADP that every slave increments
as the datagram passes; the slave that sees zero is addressed. Station addressing (FPxx,
FRMW) compares ADP with the configured station address (or alias).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Union

from ..errors import ProtocolError

__all__ = [
    "Command",
    "Addressing",
    "Datagram",
    "DATAGRAM_HEADER",
    "DATAGRAM_HEADER_SIZE",
    "WKC_SIZE",
    "DATAGRAM_OVERHEAD",
    "MAX_DATAGRAM_DATA",
    "LENGTH_MASK",
    "CIRCULATING_FLAG",
    "MORE_FOLLOWS_FLAG",
    "position_address",
    "station_address",
    "split_address",
]

Buffer = Union[bytes, bytearray, memoryview]

#: Cmd, Idx, Address, Len/C/M, IRQ.
DATAGRAM_HEADER = struct.Struct("<BBIHH")
DATAGRAM_HEADER_SIZE = DATAGRAM_HEADER.size  # 10
WKC = struct.Struct("<H")
WKC_SIZE = WKC.size  # 2
DATAGRAM_OVERHEAD = DATAGRAM_HEADER_SIZE + WKC_SIZE  # 12
#: Length field width: 11 bits.
LENGTH_MASK = 0x07FF
RESERVED_MASK = 0x3800
CIRCULATING_FLAG = 0x4000
MORE_FOLLOWS_FLAG = 0x8000
#: Largest data area one datagram can carry in one standard Ethernet frame:
#: 1500 (Ethernet payload) - 2 (EtherCAT header) - 12 (datagram overhead).
MAX_DATAGRAM_DATA = 1486

ADDRESS_U16 = struct.Struct("<HH")


class Addressing(enum.Enum):
    """How a command selects the slaves it addresses."""

    NONE = "none"
    POSITION = "position"  # auto-increment (ADP = -position)
    STATION = "station"  # configured station address or alias
    BROADCAST = "broadcast"
    LOGICAL = "logical"  # 32-bit logical address mapped by FMMUs


class Command(enum.IntEnum):
    """EtherCAT commands (ETG.1000.4 Table 14)."""

    NOP = 0
    APRD = 1
    APWR = 2
    APRW = 3
    FPRD = 4
    FPWR = 5
    FPRW = 6
    BRD = 7
    BWR = 8
    BRW = 9
    LRD = 10
    LWR = 11
    LRW = 12
    ARMW = 13
    FRMW = 14

    @property
    def addressing(self) -> Addressing:
        """The addressing mode of this command."""
        return _ADDRESSING[self]

    @property
    def reads(self) -> bool:
        """True when slaves put data into the datagram (RD, RW and RMW commands)."""
        return self in _READS

    @property
    def writes(self) -> bool:
        """True when slaves take data from the datagram (WR, RW and RMW commands)."""
        return self in _WRITES

    def wkc_increment(self, read_ok: bool, write_ok: bool) -> int:
        """Working-counter increment of one slave (ETG.1000.4 Table 15, ETG.1000.3 WKC rules).

        Reads count 1, writes count 1; a read-write (APRW, FPRW, BRW, LRW) counts 1 for a
        read, 2 for a write and 3 for both. Read-multiple-write (ARMW, FRMW) counts 1 at the
        addressed slave (which reads) and 1 at each other slave (which writes).
        """
        if self in (Command.APRW, Command.FPRW, Command.BRW, Command.LRW):
            return (1 if read_ok else 0) + (2 if write_ok else 0)
        if self.reads and read_ok:
            return 1
        if self.writes and write_ok:
            return 1
        return 0


_ADDRESSING = {
    Command.NOP: Addressing.NONE,
    Command.APRD: Addressing.POSITION,
    Command.APWR: Addressing.POSITION,
    Command.APRW: Addressing.POSITION,
    Command.ARMW: Addressing.POSITION,
    Command.FPRD: Addressing.STATION,
    Command.FPWR: Addressing.STATION,
    Command.FPRW: Addressing.STATION,
    Command.FRMW: Addressing.STATION,
    Command.BRD: Addressing.BROADCAST,
    Command.BWR: Addressing.BROADCAST,
    Command.BRW: Addressing.BROADCAST,
    Command.LRD: Addressing.LOGICAL,
    Command.LWR: Addressing.LOGICAL,
    Command.LRW: Addressing.LOGICAL,
}
_READS = frozenset(
    {Command.APRD, Command.FPRD, Command.BRD, Command.LRD, Command.APRW, Command.FPRW,
     Command.BRW, Command.LRW, Command.ARMW, Command.FRMW}
)
_WRITES = frozenset(
    {Command.APWR, Command.FPWR, Command.BWR, Command.LWR, Command.APRW, Command.FPRW,
     Command.BRW, Command.LRW, Command.ARMW, Command.FRMW}
)


def position_address(position: int, offset: int) -> int:
    """32-bit address field for auto-increment addressing of slave ``position`` (0-based)."""
    if not 0 <= position <= 0xFFFF:
        raise ValueError(f"slave position {position} out of range 0..65535")
    return ((-position) & 0xFFFF) | ((offset & 0xFFFF) << 16)


def station_address(station: int, offset: int) -> int:
    """32-bit address field for configured-station addressing (ADP = station, ADO = offset)."""
    if not 0 <= station <= 0xFFFF or not 0 <= offset <= 0xFFFF:
        raise ValueError(f"station 0x{station:X} or offset 0x{offset:X} out of range 0..0xFFFF")
    return station | (offset << 16)


def split_address(address: int) -> tuple[int, int]:
    """Split a 32-bit address field into (ADP, ADO)."""
    return address & 0xFFFF, (address >> 16) & 0xFFFF


@dataclass(frozen=True, slots=True)
class Datagram:
    """One EtherCAT datagram as decoded from (or to be encoded into) a frame.

    ``address`` is the raw 32-bit address field; :attr:`adp` and :attr:`ado` split it for
    position, station and broadcast addressing. ``more_follows`` is derived from the
    datagram's place in a frame when encoding a frame and reported as found when decoding.
    """

    command: Command | int
    index: int
    address: int
    data: bytes
    wkc: int = 0
    irq: int = 0
    circulating: bool = False
    more_follows: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.index <= 0xFF:
            raise ValueError(f"datagram index {self.index} out of range 0..255")
        if not 0 <= self.address <= 0xFFFFFFFF:
            raise ValueError(f"datagram address 0x{self.address:X} out of range (32 bits)")
        if len(self.data) > LENGTH_MASK:
            raise ValueError(f"datagram data of {len(self.data)} bytes exceeds {LENGTH_MASK}")
        if not 0 <= self.wkc <= 0xFFFF or not 0 <= self.irq <= 0xFFFF:
            raise ValueError("working counter and IRQ are 16-bit values")

    @property
    def adp(self) -> int:
        """Address position/station part (low 16 bits of the address field)."""
        return self.address & 0xFFFF

    @property
    def ado(self) -> int:
        """Address offset part (high 16 bits): the ESC register or memory offset."""
        return (self.address >> 16) & 0xFFFF

    @property
    def size(self) -> int:
        """Encoded size in bytes: header, data and working counter."""
        return DATAGRAM_OVERHEAD + len(self.data)

    def describe(self) -> str:
        """Short human description, e.g. ``"FPRD 0x1001:0x0130 len 2"``."""
        name = _command_name(self.command)
        if isinstance(self.command, Command) and self.command.addressing is Addressing.LOGICAL:
            return f"{name} 0x{self.address:08X} len {len(self.data)}"
        return f"{name} 0x{self.adp:04X}:0x{self.ado:04X} len {len(self.data)}"

    def encode_into(self, buf: bytearray | memoryview, offset: int, more_follows: bool | None = None) -> int:
        """Write the datagram into ``buf`` at ``offset``; return the offset after it."""
        mf = self.more_follows if more_follows is None else more_follows
        n = len(self.data)
        flags = n | (CIRCULATING_FLAG if self.circulating else 0) | (MORE_FOLLOWS_FLAG if mf else 0)
        DATAGRAM_HEADER.pack_into(buf, offset, int(self.command), self.index, self.address, flags, self.irq)
        start = offset + DATAGRAM_HEADER_SIZE
        buf[start:start + n] = self.data
        WKC.pack_into(buf, start + n, self.wkc)
        return start + n + WKC_SIZE

    def encode(self, more_follows: bool | None = None) -> bytes:
        """The datagram's bytes."""
        buf = bytearray(self.size)
        self.encode_into(buf, 0, more_follows)
        return bytes(buf)

    @classmethod
    def decode_from(cls, data: Buffer, offset: int = 0) -> tuple["Datagram", int]:
        """Decode one datagram at ``offset``; return it and the offset after it.

        Unknown command codes are kept as plain ints (a master may meet them from other
        devices on the wire); reserved length bits set are a :class:`ProtocolError`.
        """
        end = len(data)
        if end - offset < DATAGRAM_OVERHEAD:
            raise ProtocolError("datagram", f"{end - offset} bytes left, a datagram needs at least "
                                f"{DATAGRAM_OVERHEAD}", offset)
        cmd, idx, address, flags, irq = DATAGRAM_HEADER.unpack_from(data, offset)
        if flags & RESERVED_MASK:
            raise ProtocolError("datagram", f"reserved length bits set (0x{flags:04X})", offset + 6)
        n = flags & LENGTH_MASK
        start = offset + DATAGRAM_HEADER_SIZE
        if start + n + WKC_SIZE > end:
            raise ProtocolError("datagram", f"length {n} runs past the end of the frame "
                                f"({end - start - WKC_SIZE} data bytes available)", offset + 6)
        (wkc,) = WKC.unpack_from(data, start + n)
        command = Command(cmd) if cmd in Command._value2member_map_ else cmd
        dg = cls(command, idx, address, bytes(data[start:start + n]), wkc, irq,
                 bool(flags & CIRCULATING_FLAG), bool(flags & MORE_FOLLOWS_FLAG))
        return dg, start + n + WKC_SIZE


def _command_name(command: Command | int) -> str:
    return command.name if isinstance(command, Command) else f"CMD{int(command)}"
