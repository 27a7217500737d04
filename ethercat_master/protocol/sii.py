"""SII, the Slave Information Interface (the slave's EEPROM): parse and build whole images.

Sources of the layout:

* ETG.1000.6, 5.4 "SII coding": Table 16 (fixed area, word addresses 0x0000..0x003F),
  Table 17 (category header), Table 18 (mailbox protocols), Table 19 (category types),
  Table 20 (STRINGS), Table 21 (GENERAL), Table 23 (FMMU), Table 24 (SyncM),
  Tables 25/26 (TXPDO/RXPDO and their entries).
* ETG.2010 "EtherCAT Slave Information Interface": the same categories with the GENERAL fields
  after offset 0x000C (GroupIdx duplicate, physical ports, physical memory address), the PDO
  flags, and the DC category (24 bytes per operation mode).
* ETG.1000.4 / ESC datasheets, "SII EEPROM": word 7 holds in its low byte the CRC-8
  (polynomial x^8+x^2+x+1, initial value 0xFF) of the 14 bytes of words 0..6.

The layouts were cross-checked against SOEM (ethercatmain.c ``ecx_siifind``, ``ecx_siiSM``,
``ecx_siiPDO``; ethercatconfig.c GENERAL offsets), the IgH master (master/slave.c
``ec_slave_fetch_sii_*``: GENERAL must be 32 bytes, SyncM a multiple of 8 bytes), ethercrab
(src/eeprom/types.rs), siitool (sii.c) and libethercat (eeprom.h, DC entry of 24 bytes).

Image layout (word addresses, little-endian words)::

    0x0000..0x003F  fixed area (128 bytes): PDI settings, alias, checksum, identity, mailboxes
    0x0040..        categories: type u16 | size u16 (in words) | data (size words)
    ...             END category: type 0xFFFF; the rest of the EEPROM is erased (0xFF)

Strings are indexed from 1; index 0 means "no string". They are ASCII on the wire and decoded
as latin-1, which maps every byte, so decoding never fails on their contents.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Union

from ..errors import ProtocolError

__all__ = [
    "WORD_SIZE",
    "FIXED_AREA_SIZE",
    "FIRST_CATEGORY_WORD",
    "EEPROM_SIZE_UNIT",
    "CATEGORY_VENDOR_SPECIFIC_FLAG",
    "TYPED_CATEGORIES",
    "MailboxProtocols",
    "CategoryType",
    "CoeDetails",
    "FoeDetails",
    "EoeDetails",
    "GeneralFlags",
    "PhysicalPortType",
    "FmmuUsage",
    "SyncManagerEnable",
    "SyncManagerType",
    "PdoFlags",
    "sii_crc8",
    "SiiInfo",
    "SiiCategoryHeader",
    "SiiRawCategory",
    "encode_strings",
    "decode_strings",
    "SiiGeneral",
    "encode_fmmus",
    "decode_fmmus",
    "SiiSyncManager",
    "SiiPdoEntry",
    "SiiPdo",
    "SiiDcOpMode",
    "SiiImage",
    "end_of_categories",
]

Buffer = Union[bytes, bytearray, memoryview]

# ------------------------------------------------------------------------------- sizes, CRC
#: The EEPROM is addressed in 16-bit words.
WORD_SIZE = 2
#: Words 0x0000..0x003F form the fixed area (ETG.1000.6 Table 16).
FIXED_AREA_WORDS = 0x0040
FIXED_AREA_SIZE = FIXED_AREA_WORDS * WORD_SIZE  # 128 bytes
#: The first category header sits right after the fixed area.
FIRST_CATEGORY_WORD = FIXED_AREA_WORDS
#: Word 0x003E counts the EEPROM size in KiBit (1024 bit = 128 bytes) minus one.
EEPROM_SIZE_UNIT = 1024 // 8
#: A common EEPROM size word: 0x000F = 16 KiBit = 2 KiB.
DEFAULT_EEPROM_SIZE = 0x000F
#: Version word 0x003F (ETG.1000.6 Table 16: 1).
DEFAULT_SII_VERSION = 1
#: Content of erased EEPROM cells, used to pad a built image to the EEPROM size.
ERASED_BYTE = 0xFF

#: Word 7 (checksum) covers the bytes of words 0..6.
CHECKSUM_WORD = 0x0007
CHECKSUM_COVERED_SIZE = CHECKSUM_WORD * WORD_SIZE  # 14 bytes
#: The checksum is in the low byte of word 7.
CHECKSUM_MASK = 0x00FF
CRC8_POLYNOMIAL = 0x07  # x^8 + x^2 + x + 1
CRC8_INITIAL = 0xFF
CRC8_TOP_BIT = 0x80
BYTE_MASK = 0xFF
BITS_PER_BYTE = 8

U8_MAX = 0xFF
U16_MAX = 0xFFFF
U32_MAX = 0xFFFF_FFFF
I16_MIN, I16_MAX = -0x8000, 0x7FFF
I32_MIN, I32_MAX = -0x8000_0000, 0x7FFF_FFFF

#: Words 0..6: PDI control, PDI configuration, sync impulse length, PDI configuration 2,
#: configured station alias, two reserved words.
_PREAMBLE = struct.Struct("<5H4s")
#: Words 7..0x3F: checksum, vendor ID, product code, revision, serial, execution delay,
#: port 0 delay, port 1 delay, reserved word 0x13, bootstrap receive/send mailbox
#: offset/size, standard receive/send mailbox offset/size, mailbox protocols,
#: 33 reserved words 0x1D..0x3D, EEPROM size, version.
_FIXED_REST = struct.Struct("<H4I4H8HH66s2H")
PREAMBLE_RESERVED_SIZE = 4
FIXED_RESERVED_SIZE = 66
assert _PREAMBLE.size == CHECKSUM_COVERED_SIZE
assert _PREAMBLE.size + _FIXED_REST.size == FIXED_AREA_SIZE

# ----------------------------------------------------------------------------- categories
_CATEGORY_HEADER = struct.Struct("<HH")
_U16 = struct.Struct("<H")
#: Bit 15 of the category type word marks a vendor-specific category (ETG.1000.6 Table 17).
CATEGORY_VENDOR_SPECIFIC_FLAG = 0x8000
#: Largest category data: the size field counts words in a u16.
MAX_CATEGORY_DATA_SIZE = U16_MAX * WORD_SIZE

#: STRINGS: a count byte, then per string a length byte and the characters.
STRING_COUNT_SIZE = 1
STRING_LENGTH_SIZE = 1
MAX_STRINGS = U8_MAX
MAX_STRING_LENGTH = U8_MAX
#: Byte that pads an odd-length category to whole words.
CATEGORY_PADDING = 0x00
STRING_ENCODING = "latin-1"

#: GENERAL (ETG.2010): group, image, order, name index; byte 0x04; CoE, FoE, EoE details;
#: SoE channels, DS402 channels, SysmanClass; flags; current on EBus (signed, mA);
#: GroupIdx duplicate; reserved byte 0x0F; physical ports; physical memory address.
_GENERAL = struct.Struct("<12BhBBHH")
#: The GENERAL category is 32 bytes; bytes 0x14..0x1F are reserved.
GENERAL_SIZE = 0x20
GENERAL_RESERVED_SIZE = GENERAL_SIZE - _GENERAL.size  # 12
PORT_COUNT = 4
PORT_BITS = 4
PORT_MASK = 0x0F

#: SyncM element (ETG.1000.6 Table 24): start address, length, control, status, enable, type.
_SYNC_MANAGER = struct.Struct("<HHBBBB")
#: PDO header (ETG.1000.6 Table 25): index, entry count, SyncM, DC sync, name index, flags.
_PDO_HEADER = struct.Struct("<HBBBBH")
#: PDO entry (ETG.1000.6 Table 26): index, subindex, name index, data type, bit length, flags.
_PDO_ENTRY = struct.Struct("<HBBBBH")
MAX_PDO_ENTRIES = U8_MAX
#: DC operation mode (ETG.2010): cycle time Sync0, shift time Sync0, shift time Sync1,
#: Sync1 cycle factor, AssignActivate, Sync0 cycle factor, name index, description index,
#: 4 reserved bytes.
_DC_OP_MODE = struct.Struct("<IiihHhBB4s")
DC_RESERVED_SIZE = 4


# ---------------------------------------------------------------------------------- enums
class MailboxProtocols(enum.IntFlag):
    """Mailbox protocols supported, word 0x001C (ETG.1000.6 Table 18)."""

    AOE = 0x0001
    EOE = 0x0002
    COE = 0x0004
    FOE = 0x0008
    SOE = 0x0010
    VOE = 0x0020


class CategoryType(enum.IntEnum):
    """Category types (ETG.1000.6 Table 19, ETG.2010)."""

    NOP = 0
    STRINGS = 10
    DATA_TYPES = 20
    GENERAL = 30
    FMMU = 40
    SYNC_MANAGER = 41
    FMMU_EX = 42
    SYNC_UNIT = 43
    TXPDO = 50
    RXPDO = 51
    DC = 60
    END = 0xFFFF


class CoeDetails(enum.IntFlag):
    """CoE details byte of the GENERAL category."""

    ENABLE_SDO = 0x01
    ENABLE_SDO_INFO = 0x02
    ENABLE_PDO_ASSIGN = 0x04
    ENABLE_PDO_CONFIGURATION = 0x08
    ENABLE_UPLOAD_AT_STARTUP = 0x10
    ENABLE_SDO_COMPLETE_ACCESS = 0x20


class FoeDetails(enum.IntFlag):
    """FoE details byte of the GENERAL category."""

    ENABLE_FOE = 0x01


class EoeDetails(enum.IntFlag):
    """EoE details byte of the GENERAL category."""

    ENABLE_EOE = 0x01


class GeneralFlags(enum.IntFlag):
    """Flags byte (offset 0x0B) of the GENERAL category."""

    ENABLE_SAFEOP = 0x01
    ENABLE_NOT_LRW = 0x02
    MBOX_DATA_LINK_LAYER = 0x04
    IDENT_AL_STATUS = 0x08
    IDENT_PHYSICAL_MEMORY = 0x10


class PhysicalPortType(enum.IntEnum):
    """One nibble of the GENERAL physical port word (ETG.2010)."""

    NOT_USED = 0x0
    MII = 0x1
    RESERVED = 0x2
    EBUS = 0x3
    FAST_HOT_CONNECT = 0x4


class FmmuUsage(enum.IntEnum):
    """One byte per FMMU in the FMMU category (ETG.1000.6 Table 23)."""

    UNUSED = 0x00
    OUTPUTS = 0x01
    INPUTS = 0x02
    SYNC_MANAGER_STATUS = 0x03


class SyncManagerEnable(enum.IntFlag):
    """Enable byte of a SyncM element (ETG.1000.6 Table 24)."""

    ENABLE = 0x01
    FIXED_CONTENT = 0x02
    VIRTUAL = 0x04
    OP_ONLY = 0x08


class SyncManagerType(enum.IntEnum):
    """Type byte of a SyncM element (ETG.1000.6 Table 24)."""

    UNUSED = 0x00
    MAILBOX_OUT = 0x01
    MAILBOX_IN = 0x02
    PROCESS_DATA_OUT = 0x03
    PROCESS_DATA_IN = 0x04


class PdoFlags(enum.IntFlag):
    """Flags word of a TXPDO/RXPDO header (ETG.2010)."""

    MANDATORY = 0x0001
    DEFAULT = 0x0002
    OVERSAMPLE = 0x0004
    FIXED_CONTENT = 0x0010
    VIRTUAL_CONTENT = 0x0020
    DOWNLOAD_ANYWAY = 0x0040
    FROM_MODULE = 0x0080
    MODULE_ALIGN = 0x0100
    DEPEND_ON_SLOT = 0x0200
    DEPEND_ON_SLOT_GROUP = 0x0400
    OVERWRITTEN_BY_MODULE = 0x0800
    CONFIGURABLE = 0x1000
    AUTO_PDO_NAME = 0x2000
    DIS_AUTO_EXCLUDE = 0x4000
    WRITABLE = 0x8000


#: Categories this module decodes into typed fields of :class:`SiiImage`.
TYPED_CATEGORIES = frozenset(
    {
        CategoryType.STRINGS,
        CategoryType.GENERAL,
        CategoryType.FMMU,
        CategoryType.SYNC_MANAGER,
        CategoryType.TXPDO,
        CategoryType.RXPDO,
        CategoryType.DC,
    }
)
#: Categories that may appear only once; the list categories are concatenated instead.
_SINGLE_CATEGORIES = frozenset({CategoryType.STRINGS, CategoryType.GENERAL})


# -------------------------------------------------------------------------------- helpers
def _known(enum_type: type[enum.IntEnum], value: int) -> enum.IntEnum | int:
    """``enum_type(value)`` when the value is defined, else the raw int (vendor values)."""
    try:
        return enum_type(value)
    except ValueError:
        return value


def _check_int(structure: str, name: str, value: object, low: int, high: int) -> None:
    """Raise ValueError unless ``value`` is an int in ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValueError(f"{structure}: {name} must be an integer in {low}..{high}, got {value!r}")


def _check_uints(structure: str, obj: object, names: Iterable[str], maximum: int) -> None:
    """Check that every named attribute of ``obj`` is an int in ``0..maximum``."""
    for name in names:
        _check_int(structure, name, getattr(obj, name), 0, maximum)


def _check_bytes(structure: str, name: str, value: object, size: int) -> None:
    """Raise ValueError unless ``value`` is a bytes object of exactly ``size`` bytes."""
    if not isinstance(value, bytes) or len(value) != size:
        raise ValueError(f"{structure}: {name} must be {size} bytes, got {value!r}")


def _need(structure: str, data: bytes, size: int) -> None:
    """Raise ProtocolError unless ``data`` is exactly ``size`` bytes long."""
    if len(data) != size:
        raise ProtocolError(structure, f"expected {size} bytes, got {len(data)}", offset=min(len(data), size))


def sii_crc8(data: Buffer) -> int:
    """CRC-8 of the SII checksum: polynomial x^8+x^2+x+1 (0x07), initial value 0xFF,
    no reflection, no final XOR (ETG.1000.6 Table 16; IgH tool/sii_crc.cpp; SOEM eepromtool)."""
    crc = CRC8_INITIAL
    for byte in bytes(data):
        crc ^= byte
        for _ in range(BITS_PER_BYTE):
            crc = ((crc << 1) ^ CRC8_POLYNOMIAL) if crc & CRC8_TOP_BIT else (crc << 1)
            crc &= BYTE_MASK
    return crc


# ----------------------------------------------------------------------------- fixed area
@dataclass(frozen=True, slots=True)
class SiiInfo:
    """The fixed area, words 0x0000..0x003F (ETG.1000.6 Table 16).

    ``checksum`` is word 7 as stored: ``None`` when building means "compute it" (CRC-8 of words
    0..6 in the low byte, 0 in the high byte); decoding always sets the stored word, and
    :attr:`checksum_ok` tells whether its low byte matches. Decoding never fails on a bad
    checksum because masters still read such slaves. Reserved words are kept as read.
    """

    pdi_control: int = 0
    pdi_configuration: int = 0
    #: SYNC signal impulse length, in units of 10 ns.
    sync_impulse_length: int = 0
    pdi_configuration2: int = 0
    configured_station_alias: int = 0
    vendor_id: int = 0
    product_code: int = 0
    revision_number: int = 0
    serial_number: int = 0
    execution_delay: int = 0
    port0_delay: int = 0
    port1_delay: int = 0
    bootstrap_receive_mailbox_offset: int = 0
    bootstrap_receive_mailbox_size: int = 0
    bootstrap_send_mailbox_offset: int = 0
    bootstrap_send_mailbox_size: int = 0
    standard_receive_mailbox_offset: int = 0
    standard_receive_mailbox_size: int = 0
    standard_send_mailbox_offset: int = 0
    standard_send_mailbox_size: int = 0
    mailbox_protocols: MailboxProtocols = MailboxProtocols(0)
    #: Word 0x003E: EEPROM size in KiBit minus one (0 = 1 KiBit); see :attr:`eeprom_bytes`.
    eeprom_size: int = DEFAULT_EEPROM_SIZE
    version: int = DEFAULT_SII_VERSION
    checksum: int | None = None
    #: Reserved words 0x0005..0x0006 (inside the checksummed preamble).
    reserved_0x0005: bytes = bytes(PREAMBLE_RESERVED_SIZE)
    #: Reserved word 0x0013.
    reserved_0x0013: int = 0
    #: Reserved words 0x001D..0x003D.
    reserved_0x001d: bytes = bytes(FIXED_RESERVED_SIZE)

    SIZE = FIXED_AREA_SIZE

    _U16_FIELDS = (
        "pdi_control",
        "pdi_configuration",
        "sync_impulse_length",
        "pdi_configuration2",
        "configured_station_alias",
        "execution_delay",
        "port0_delay",
        "port1_delay",
        "reserved_0x0013",
        "bootstrap_receive_mailbox_offset",
        "bootstrap_receive_mailbox_size",
        "bootstrap_send_mailbox_offset",
        "bootstrap_send_mailbox_size",
        "standard_receive_mailbox_offset",
        "standard_receive_mailbox_size",
        "standard_send_mailbox_offset",
        "standard_send_mailbox_size",
        "mailbox_protocols",
        "eeprom_size",
        "version",
    )
    _U32_FIELDS = ("vendor_id", "product_code", "revision_number", "serial_number")

    @property
    def eeprom_bytes(self) -> int:
        """EEPROM size in bytes, from word 0x003E."""
        return (self.eeprom_size + 1) * EEPROM_SIZE_UNIT

    @property
    def expected_checksum(self) -> int:
        """The CRC-8 of words 0..6 as these fields encode them."""
        return sii_crc8(self._preamble())

    @property
    def checksum_ok(self) -> bool:
        """True when the stored checksum (or the one build will compute) is right."""
        return self.checksum is None or self.checksum & CHECKSUM_MASK == self.expected_checksum

    def _preamble(self) -> bytes:
        """Words 0..6, the bytes the checksum covers."""
        structure = "SII fixed area"
        _check_uints(structure, self, self._U16_FIELDS, U16_MAX)
        _check_bytes(structure, "reserved_0x0005", self.reserved_0x0005, PREAMBLE_RESERVED_SIZE)
        return _PREAMBLE.pack(
            self.pdi_control,
            self.pdi_configuration,
            self.sync_impulse_length,
            self.pdi_configuration2,
            self.configured_station_alias,
            self.reserved_0x0005,
        )

    def encode(self) -> bytes:
        """The 128 bytes of the fixed area, with the checksum computed unless one is set."""
        structure = "SII fixed area"
        preamble = self._preamble()
        _check_uints(structure, self, self._U32_FIELDS, U32_MAX)
        _check_bytes(structure, "reserved_0x001d", self.reserved_0x001d, FIXED_RESERVED_SIZE)
        checksum = sii_crc8(preamble) if self.checksum is None else self.checksum
        _check_int(structure, "checksum", checksum, 0, U16_MAX)
        return preamble + _FIXED_REST.pack(
            checksum,
            self.vendor_id,
            self.product_code,
            self.revision_number,
            self.serial_number,
            self.execution_delay,
            self.port0_delay,
            self.port1_delay,
            self.reserved_0x0013,
            self.bootstrap_receive_mailbox_offset,
            self.bootstrap_receive_mailbox_size,
            self.bootstrap_send_mailbox_offset,
            self.bootstrap_send_mailbox_size,
            self.standard_receive_mailbox_offset,
            self.standard_receive_mailbox_size,
            self.standard_send_mailbox_offset,
            self.standard_send_mailbox_size,
            self.mailbox_protocols,
            self.reserved_0x001d,
            self.eeprom_size,
            self.version,
        )

    @classmethod
    def decode(cls, data: Buffer) -> SiiInfo:
        """Decode exactly the 128 bytes of the fixed area."""
        data = bytes(data)
        _need("SII fixed area", data, FIXED_AREA_SIZE)
        alias_etc = _PREAMBLE.unpack_from(data)
        (
            checksum,
            vendor_id,
            product_code,
            revision_number,
            serial_number,
            execution_delay,
            port0_delay,
            port1_delay,
            reserved_0x0013,
            bs_rx_offset,
            bs_rx_size,
            bs_tx_offset,
            bs_tx_size,
            std_rx_offset,
            std_rx_size,
            std_tx_offset,
            std_tx_size,
            protocols,
            reserved_0x001d,
            eeprom_size,
            version,
        ) = _FIXED_REST.unpack_from(data, _PREAMBLE.size)
        return cls(
            pdi_control=alias_etc[0],
            pdi_configuration=alias_etc[1],
            sync_impulse_length=alias_etc[2],
            pdi_configuration2=alias_etc[3],
            configured_station_alias=alias_etc[4],
            reserved_0x0005=alias_etc[5],
            checksum=checksum,
            vendor_id=vendor_id,
            product_code=product_code,
            revision_number=revision_number,
            serial_number=serial_number,
            execution_delay=execution_delay,
            port0_delay=port0_delay,
            port1_delay=port1_delay,
            reserved_0x0013=reserved_0x0013,
            bootstrap_receive_mailbox_offset=bs_rx_offset,
            bootstrap_receive_mailbox_size=bs_rx_size,
            bootstrap_send_mailbox_offset=bs_tx_offset,
            bootstrap_send_mailbox_size=bs_tx_size,
            standard_receive_mailbox_offset=std_rx_offset,
            standard_receive_mailbox_size=std_rx_size,
            standard_send_mailbox_offset=std_tx_offset,
            standard_send_mailbox_size=std_tx_size,
            mailbox_protocols=MailboxProtocols(protocols),
            reserved_0x001d=reserved_0x001d,
            eeprom_size=eeprom_size,
            version=version,
        )


# ------------------------------------------------------------------------ category frames
def _category_name(category_type: int) -> str:
    """Spec name of a category type, or its hex value."""
    known = _known(CategoryType, category_type)
    return known.name if isinstance(known, CategoryType) else f"0x{category_type:04X}"


@dataclass(frozen=True, slots=True)
class SiiCategoryHeader:
    """Category header (ETG.1000.6 Table 17): type word, then the data size in words."""

    category_type: CategoryType | int
    word_size: int

    SIZE = _CATEGORY_HEADER.size  # 4

    @property
    def vendor_specific(self) -> bool:
        """Bit 15 of the type word: the category is vendor specific (END has it set too)."""
        return bool(self.category_type & CATEGORY_VENDOR_SPECIFIC_FLAG)

    @property
    def data_size(self) -> int:
        """Size of the category data in bytes."""
        return self.word_size * WORD_SIZE

    def encode(self) -> bytes:
        """The 4 header bytes."""
        _check_int("SII category header", "category_type", self.category_type, 0, U16_MAX)
        _check_int("SII category header", "word_size", self.word_size, 0, U16_MAX)
        return _CATEGORY_HEADER.pack(self.category_type, self.word_size)

    @classmethod
    def decode(cls, data: Buffer) -> SiiCategoryHeader:
        """Decode exactly 4 header bytes."""
        data = bytes(data)
        _need("SII category header", data, cls.SIZE)
        category_type, word_size = _CATEGORY_HEADER.unpack(data)
        return cls(_known(CategoryType, category_type), word_size)


@dataclass(frozen=True, slots=True)
class SiiRawCategory:
    """A category kept as raw bytes: one this module does not interpret (NOP, DATA TYPES,
    FMMU_EX, SYNC UNIT, device- and vendor-specific ones), so rebuilding preserves it."""

    category_type: CategoryType | int
    data: bytes

    def encode(self) -> bytes:
        """Header and data; the data must be whole words."""
        structure = f"SII {_category_name(self.category_type)} category"
        if not isinstance(self.data, bytes) or len(self.data) % WORD_SIZE:
            raise ValueError(f"{structure}: data must be bytes of whole 16-bit words, got {self.data!r}")
        if len(self.data) > MAX_CATEGORY_DATA_SIZE:
            raise ValueError(f"{structure}: {len(self.data)} bytes exceed {MAX_CATEGORY_DATA_SIZE}")
        return SiiCategoryHeader(self.category_type, len(self.data) // WORD_SIZE).encode() + self.data

    @classmethod
    def decode(cls, data: Buffer) -> SiiRawCategory:
        """Decode one whole category: header plus exactly the data its size announces."""
        data = bytes(data)
        if len(data) < SiiCategoryHeader.SIZE:
            raise ProtocolError("SII category", f"{len(data)} bytes cannot hold the 4-byte header", offset=0)
        header = SiiCategoryHeader.decode(data[: SiiCategoryHeader.SIZE])
        structure = f"SII {_category_name(header.category_type)} category"
        _need(structure, data, SiiCategoryHeader.SIZE + header.data_size)
        return cls(header.category_type, data[SiiCategoryHeader.SIZE :])


def _pad_to_words(data: bytes) -> bytes:
    """Append one padding byte when ``data`` has an odd length."""
    return data + bytes([CATEGORY_PADDING]) * (len(data) % WORD_SIZE)


# -------------------------------------------------------------------------------- STRINGS
def encode_strings(strings: Sequence[str]) -> bytes:
    """STRINGS category data (ETG.1000.6 Table 20): count, then length-prefixed strings,
    padded to whole words. Strings must be latin-1 and at most 255 bytes each."""
    structure = "SII STRINGS category"
    if len(strings) > MAX_STRINGS:
        raise ValueError(f"{structure}: at most {MAX_STRINGS} strings, got {len(strings)}")
    out = bytearray([len(strings)])
    for number, text in enumerate(strings, start=1):
        try:
            raw = text.encode(STRING_ENCODING)
        except (UnicodeEncodeError, AttributeError) as exc:
            raise ValueError(f"{structure}: string {number} is not latin-1 text: {text!r}") from exc
        if len(raw) > MAX_STRING_LENGTH:
            raise ValueError(f"{structure}: string {number} is {len(raw)} bytes, at most {MAX_STRING_LENGTH}")
        out.append(len(raw))
        out += raw
    return _pad_to_words(bytes(out))


def decode_strings(data: Buffer) -> tuple[str, ...]:
    """Decode STRINGS category data; bytes after the last string (padding) are ignored."""
    data = bytes(data)
    structure = "SII STRINGS category"
    if len(data) < STRING_COUNT_SIZE:
        raise ProtocolError(structure, "no string count", offset=0)
    strings = []
    offset = STRING_COUNT_SIZE
    for number in range(1, data[0] + 1):
        if offset + STRING_LENGTH_SIZE > len(data):
            raise ProtocolError(structure, f"string {number} of {data[0]}: no length byte", offset=offset)
        length = data[offset]
        start = offset + STRING_LENGTH_SIZE
        if start + length > len(data):
            detail = f"string {number} needs {length} bytes, {len(data) - start} left"
            raise ProtocolError(structure, detail, offset=start)
        strings.append(data[start : start + length].decode(STRING_ENCODING))
        offset = start + length
    return tuple(strings)


# -------------------------------------------------------------------------------- GENERAL
@dataclass(frozen=True, slots=True)
class SiiGeneral:
    """GENERAL category (ETG.1000.6 Table 21, ETG.2010): 32 bytes.

    String indices are 1-based into STRINGS (0: none). ``physical_layer`` is byte 0x04,
    reserved in ETG.2010 (older masters, IgH, read 2 bits per port from it); it is kept raw.
    ``reserved`` holds bytes 0x14 onwards (12 in a standard category, more if the slave's
    category is longer), kept as read.
    """

    group_idx: int = 0
    image_idx: int = 0
    order_idx: int = 0
    name_idx: int = 0
    physical_layer: int = 0
    coe_details: CoeDetails = CoeDetails(0)
    foe_details: FoeDetails = FoeDetails(0)
    eoe_details: EoeDetails = EoeDetails(0)
    soe_channels: int = 0
    ds402_channels: int = 0
    sysman_class: int = 0
    flags: GeneralFlags = GeneralFlags(0)
    #: Current consumption on the E-Bus in mA; negative values feed current in.
    ebus_current: int = 0
    #: Duplicate of ``group_idx`` for compatibility (offset 0x0E).
    group_idx_dup: int = 0
    reserved_0x0f: int = 0
    #: Port 0..3 descriptions, one nibble each (offset 0x10).
    physical_ports: tuple[PhysicalPortType | int, ...] = (PhysicalPortType.NOT_USED,) * PORT_COUNT
    #: ESC address where the identification value is mirrored (with IDENT_PHYSICAL_MEMORY).
    physical_memory_address: int = 0
    reserved: bytes = bytes(GENERAL_RESERVED_SIZE)

    SIZE = GENERAL_SIZE

    _U8_FIELDS = (
        "group_idx",
        "image_idx",
        "order_idx",
        "name_idx",
        "physical_layer",
        "coe_details",
        "foe_details",
        "eoe_details",
        "soe_channels",
        "ds402_channels",
        "sysman_class",
        "flags",
        "group_idx_dup",
        "reserved_0x0f",
    )

    def encode(self) -> bytes:
        """The category data: 32 bytes with the standard 12 reserved bytes."""
        structure = "SII GENERAL category"
        _check_uints(structure, self, self._U8_FIELDS, U8_MAX)
        _check_int(structure, "ebus_current", self.ebus_current, I16_MIN, I16_MAX)
        _check_int(structure, "physical_memory_address", self.physical_memory_address, 0, U16_MAX)
        if len(self.physical_ports) != PORT_COUNT:
            raise ValueError(f"{structure}: physical_ports needs {PORT_COUNT} entries, got {self.physical_ports!r}")
        ports = 0
        for number, port in enumerate(self.physical_ports):
            _check_int(structure, f"physical_ports[{number}]", port, 0, PORT_MASK)
            ports |= port << (number * PORT_BITS)
        reserved = self.reserved
        if not isinstance(reserved, bytes) or len(reserved) < GENERAL_RESERVED_SIZE or len(reserved) % WORD_SIZE:
            raise ValueError(f"{structure}: reserved must be an even number >= {GENERAL_RESERVED_SIZE} of bytes")
        head = _GENERAL.pack(
            self.group_idx,
            self.image_idx,
            self.order_idx,
            self.name_idx,
            self.physical_layer,
            self.coe_details,
            self.foe_details,
            self.eoe_details,
            self.soe_channels,
            self.ds402_channels,
            self.sysman_class,
            self.flags,
            self.ebus_current,
            self.group_idx_dup,
            self.reserved_0x0f,
            ports,
            self.physical_memory_address,
        )
        return head + reserved

    @classmethod
    def decode(cls, data: Buffer) -> SiiGeneral:
        """Decode GENERAL category data of at least 32 bytes (IgH rejects other sizes)."""
        data = bytes(data)
        if len(data) < GENERAL_SIZE:
            detail = f"{len(data)} bytes, expected {GENERAL_SIZE}"
            raise ProtocolError("SII GENERAL category", detail, offset=len(data))
        fields = _GENERAL.unpack_from(data)
        ports = fields[15]
        return cls(
            group_idx=fields[0],
            image_idx=fields[1],
            order_idx=fields[2],
            name_idx=fields[3],
            physical_layer=fields[4],
            coe_details=CoeDetails(fields[5]),
            foe_details=FoeDetails(fields[6]),
            eoe_details=EoeDetails(fields[7]),
            soe_channels=fields[8],
            ds402_channels=fields[9],
            sysman_class=fields[10],
            flags=GeneralFlags(fields[11]),
            ebus_current=fields[12],
            group_idx_dup=fields[13],
            reserved_0x0f=fields[14],
            physical_ports=tuple(
                _known(PhysicalPortType, (ports >> (number * PORT_BITS)) & PORT_MASK)
                for number in range(PORT_COUNT)
            ),
            physical_memory_address=fields[16],
            reserved=data[_GENERAL.size :],
        )


# ----------------------------------------------------------------------------------- FMMU
def encode_fmmus(usages: Sequence[FmmuUsage | int]) -> bytes:
    """FMMU category data: one usage byte per FMMU; an odd count is padded with an UNUSED
    entry to fill the last word (it decodes back as an extra UNUSED FMMU)."""
    for number, usage in enumerate(usages):
        _check_int("SII FMMU category", f"usage[{number}]", usage, 0, U8_MAX)
    return _pad_to_words(bytes(usages))


def decode_fmmus(data: Buffer) -> tuple[FmmuUsage | int, ...]:
    """Decode FMMU category data: every byte is one FMMU (as SOEM counts them); values outside
    the table (e.g. 0xFF, which masters treat as unused) are kept as raw ints."""
    return tuple(_known(FmmuUsage, usage) for usage in bytes(data))


# ---------------------------------------------------------------------------------- SYNCM
@dataclass(frozen=True, slots=True)
class SiiSyncManager:
    """One SyncM element, 8 bytes (ETG.1000.6 Table 24)."""

    physical_start_address: int
    length: int
    control: int
    enable: SyncManagerEnable = SyncManagerEnable.ENABLE
    sync_manager_type: SyncManagerType | int = SyncManagerType.UNUSED
    #: Status register byte: "don't care" in the SII, kept as read.
    status: int = 0

    SIZE = _SYNC_MANAGER.size  # 8

    def encode(self) -> bytes:
        """The 8 element bytes."""
        structure = "SII SyncM element"
        _check_uints(structure, self, ("physical_start_address", "length"), U16_MAX)
        _check_uints(structure, self, ("control", "status", "enable", "sync_manager_type"), U8_MAX)
        return _SYNC_MANAGER.pack(
            self.physical_start_address,
            self.length,
            self.control,
            self.status,
            self.enable,
            self.sync_manager_type,
        )

    @classmethod
    def decode(cls, data: Buffer) -> SiiSyncManager:
        """Decode exactly 8 bytes."""
        data = bytes(data)
        _need("SII SyncM element", data, cls.SIZE)
        start, length, control, status, enable, sm_type = _SYNC_MANAGER.unpack(data)
        sm_type = _known(SyncManagerType, sm_type)
        return cls(start, length, control, SyncManagerEnable(enable), sm_type, status)

    @classmethod
    def encode_all(cls, sync_managers: Iterable[SiiSyncManager]) -> bytes:
        """SYNCM category data: the elements back to back."""
        return b"".join(sm.encode() for sm in sync_managers)

    @classmethod
    def decode_all(cls, data: Buffer) -> tuple[SiiSyncManager, ...]:
        """Decode SYNCM category data, a whole number of 8-byte elements (as IgH requires)."""
        return _decode_array(cls, "SII SYNCM category", bytes(data))


def _decode_array(element: type, structure: str, data: bytes) -> tuple:
    """Split ``data`` into fixed-size elements of ``element.SIZE`` bytes and decode each."""
    size = element.SIZE
    if len(data) % size:
        detail = f"{len(data)} bytes is not a whole number of {size}-byte elements"
        raise ProtocolError(structure, detail, offset=len(data) - len(data) % size)
    return tuple(element.decode(data[offset : offset + size]) for offset in range(0, len(data), size))


# ------------------------------------------------------------------------------------ PDO
@dataclass(frozen=True, slots=True)
class SiiPdoEntry:
    """One PDO entry, 8 bytes (ETG.1000.6 Table 26)."""

    index: int
    subindex: int
    bit_length: int
    #: CoE data type index (e.g. 0x0007 UNSIGNED32, in its low byte).
    data_type: int = 0
    name_idx: int = 0
    flags: int = 0

    SIZE = _PDO_ENTRY.size  # 8

    def encode(self) -> bytes:
        """The 8 entry bytes."""
        structure = "SII PDO entry"
        _check_uints(structure, self, ("index", "flags"), U16_MAX)
        _check_uints(structure, self, ("subindex", "name_idx", "data_type", "bit_length"), U8_MAX)
        return _PDO_ENTRY.pack(
            self.index, self.subindex, self.name_idx, self.data_type, self.bit_length, self.flags
        )

    @classmethod
    def decode(cls, data: Buffer) -> SiiPdoEntry:
        """Decode exactly 8 bytes."""
        data = bytes(data)
        _need("SII PDO entry", data, cls.SIZE)
        index, subindex, name_idx, data_type, bit_length, flags = _PDO_ENTRY.unpack(data)
        return cls(index, subindex, bit_length, data_type, name_idx, flags)


@dataclass(frozen=True, slots=True)
class SiiPdo:
    """One PDO of a TXPDO or RXPDO category (ETG.1000.6 Table 25): an 8-byte header whose
    entry count announces how many 8-byte entries follow.

    ``sync_manager`` is the SyncM the PDO is assigned to by default; SOEM and IgH treat 0xFF
    (or any index past the SyncMs) as "not assigned".
    """

    index: int
    entries: tuple[SiiPdoEntry, ...] = ()
    sync_manager: int = 0
    dc_sync: int = 0
    name_idx: int = 0
    flags: PdoFlags = PdoFlags(0)

    HEADER_SIZE = _PDO_HEADER.size  # 8

    @property
    def size(self) -> int:
        """Bytes on the wire: header plus entries."""
        return self.HEADER_SIZE + len(self.entries) * SiiPdoEntry.SIZE

    @property
    def bit_length(self) -> int:
        """Sum of the entries' bit lengths."""
        return sum(entry.bit_length for entry in self.entries)

    def encode(self) -> bytes:
        """Header and entries."""
        structure = "SII PDO"
        _check_uints(structure, self, ("index", "flags"), U16_MAX)
        _check_uints(structure, self, ("sync_manager", "dc_sync", "name_idx"), U8_MAX)
        if len(self.entries) > MAX_PDO_ENTRIES:
            raise ValueError(f"{structure}: at most {MAX_PDO_ENTRIES} entries, got {len(self.entries)}")
        header = _PDO_HEADER.pack(
            self.index, len(self.entries), self.sync_manager, self.dc_sync, self.name_idx, self.flags
        )
        return header + b"".join(entry.encode() for entry in self.entries)

    @classmethod
    def decode_prefix(cls, data: Buffer, offset: int = 0) -> tuple[SiiPdo, int]:
        """Decode the PDO at ``offset``; return it and the offset just past it."""
        data = bytes(data)
        structure = "SII PDO"
        if offset + cls.HEADER_SIZE > len(data):
            detail = f"header needs {cls.HEADER_SIZE} bytes, {len(data) - offset} left"
            raise ProtocolError(structure, detail, offset=offset)
        index, count, sync_manager, dc_sync, name_idx, flags = _PDO_HEADER.unpack_from(data, offset)
        start = offset + cls.HEADER_SIZE
        end = start + count * SiiPdoEntry.SIZE
        if end > len(data):
            detail = f"PDO 0x{index:04X} announces {count} entries ({end - start} bytes), {len(data) - start} left"
            raise ProtocolError(structure, detail, offset=start)
        entries = tuple(
            SiiPdoEntry.decode(data[entry : entry + SiiPdoEntry.SIZE])
            for entry in range(start, end, SiiPdoEntry.SIZE)
        )
        return cls(index, entries, sync_manager, dc_sync, name_idx, PdoFlags(flags)), end

    @classmethod
    def decode(cls, data: Buffer) -> SiiPdo:
        """Decode exactly one PDO (header and all its entries, nothing after)."""
        data = bytes(data)
        pdo, end = cls.decode_prefix(data)
        if end != len(data):
            raise ProtocolError("SII PDO", f"{len(data) - end} bytes after the PDO", offset=end)
        return pdo

    @classmethod
    def encode_all(cls, pdos: Iterable[SiiPdo]) -> bytes:
        """TXPDO/RXPDO category data: the PDOs back to back."""
        return b"".join(pdo.encode() for pdo in pdos)

    @classmethod
    def decode_all(cls, data: Buffer) -> tuple[SiiPdo, ...]:
        """Decode TXPDO/RXPDO category data: PDOs until the data ends exactly."""
        data = bytes(data)
        pdos = []
        offset = 0
        while offset < len(data):
            pdo, offset = cls.decode_prefix(data, offset)
            pdos.append(pdo)
        return tuple(pdos)


# ------------------------------------------------------------------------------------- DC
@dataclass(frozen=True, slots=True)
class SiiDcOpMode:
    """One element of the DC category, 24 bytes (ETG.2010; ESI ``Dc/OpMode``)."""

    #: Sync0 cycle time in ns (0: use the master's cycle with ``sync0_cycle_factor``).
    cycle_time_sync0: int = 0
    shift_time_sync0: int = 0
    shift_time_sync1: int = 0
    sync1_cycle_factor: int = 0
    #: Value for the DC activation register 0x0980..0x0981.
    assign_activate: int = 0
    sync0_cycle_factor: int = 0
    name_idx: int = 0
    desc_idx: int = 0
    reserved: bytes = bytes(DC_RESERVED_SIZE)

    SIZE = _DC_OP_MODE.size  # 24

    def encode(self) -> bytes:
        """The 24 element bytes."""
        structure = "SII DC element"
        _check_int(structure, "cycle_time_sync0", self.cycle_time_sync0, 0, U32_MAX)
        for name in ("shift_time_sync0", "shift_time_sync1"):
            _check_int(structure, name, getattr(self, name), I32_MIN, I32_MAX)
        for name in ("sync1_cycle_factor", "sync0_cycle_factor"):
            _check_int(structure, name, getattr(self, name), I16_MIN, I16_MAX)
        _check_int(structure, "assign_activate", self.assign_activate, 0, U16_MAX)
        _check_uints(structure, self, ("name_idx", "desc_idx"), U8_MAX)
        _check_bytes(structure, "reserved", self.reserved, DC_RESERVED_SIZE)
        return _DC_OP_MODE.pack(
            self.cycle_time_sync0,
            self.shift_time_sync0,
            self.shift_time_sync1,
            self.sync1_cycle_factor,
            self.assign_activate,
            self.sync0_cycle_factor,
            self.name_idx,
            self.desc_idx,
            self.reserved,
        )

    @classmethod
    def decode(cls, data: Buffer) -> SiiDcOpMode:
        """Decode exactly 24 bytes."""
        data = bytes(data)
        _need("SII DC element", data, cls.SIZE)
        return cls(*_DC_OP_MODE.unpack(data))

    @classmethod
    def encode_all(cls, op_modes: Iterable[SiiDcOpMode]) -> bytes:
        """DC category data: the elements back to back."""
        return b"".join(mode.encode() for mode in op_modes)

    @classmethod
    def decode_all(cls, data: Buffer) -> tuple[SiiDcOpMode, ...]:
        """Decode DC category data, a whole number of 24-byte elements."""
        return _decode_array(cls, "SII DC category", bytes(data))


# ---------------------------------------------------------------------------------- image
def _iter_categories(data: bytes) -> Iterator[tuple[int, SiiCategoryHeader | None]]:
    """Yield ``(offset, header or None)`` for each category from word 0x0040.

    Stops after END (yielding its offset and a header of word size 0), at the end of the data,
    or yields ``(offset, None)`` when a header is cut short by the end of the data.
    """
    offset = FIRST_CATEGORY_WORD * WORD_SIZE
    while offset < len(data):
        if offset + WORD_SIZE <= len(data) and _U16.unpack_from(data, offset)[0] == CategoryType.END:
            yield offset, SiiCategoryHeader(CategoryType.END, 0)
            return
        if offset + SiiCategoryHeader.SIZE > len(data):
            yield offset, None
            return
        header = SiiCategoryHeader.decode(data[offset : offset + SiiCategoryHeader.SIZE])
        yield offset, header
        offset += SiiCategoryHeader.SIZE + header.data_size


def end_of_categories(data: Buffer) -> int | None:
    """How many bytes of the image a master must read: the offset just past the END type word
    when the category chain read so far reaches END, else ``None`` (read more).

    A master reads the fixed area, then further words, calling this until it returns a number
    (or until :attr:`SiiInfo.eeprom_bytes` is reached, for EEPROMs without END). Never raises.
    """
    data = bytes(data)
    for offset, header in _iter_categories(data):
        if header is not None and header.category_type == CategoryType.END:
            return offset + WORD_SIZE
    return None


@dataclass(frozen=True, slots=True)
class SiiImage:
    """A whole SII image: the fixed area plus the categories.

    Empty tuples (and ``general=None``) stand for absent categories. Categories that appear
    more than once are concatenated (SyncM, FMMU, PDOs, DC, as IgH appends them); a second
    STRINGS or GENERAL category is malformed. Other categories are kept in
    ``extra_categories`` in the order read; :meth:`build` writes all categories in ascending
    type order (spec order), so ``extra_categories`` should be sorted by type for
    ``parse(build(x)) == x``.
    """

    info: SiiInfo = field(default_factory=SiiInfo)
    strings: tuple[str, ...] = ()
    general: SiiGeneral | None = None
    fmmus: tuple[FmmuUsage | int, ...] = ()
    sync_managers: tuple[SiiSyncManager, ...] = ()
    tx_pdos: tuple[SiiPdo, ...] = ()
    rx_pdos: tuple[SiiPdo, ...] = ()
    dc_op_modes: tuple[SiiDcOpMode, ...] = ()
    extra_categories: tuple[SiiRawCategory, ...] = ()

    def string(self, index: int) -> str:
        """The string with 1-based ``index``; ``''`` for 0.

        An index past the STRINGS category is a reference the slave's data cannot satisfy:
        ProtocolError (SOEM and IgH show an empty name instead; callers wanting that catch it).
        """
        _check_int("SII string lookup", "index", index, 0, U8_MAX)
        if index == 0:
            return ""
        if index > len(self.strings):
            detail = f"string index {index} out of range: the image has {len(self.strings)} strings"
            raise ProtocolError("SII STRINGS category", detail)
        return self.strings[index - 1]

    @classmethod
    def parse(cls, data: Buffer) -> SiiImage:
        """Parse an image read from the EEPROM, from word 0 up to END or the end of ``data``.

        Raises ProtocolError naming the category and its word address for a truncated or
        malformed category.
        """
        data = bytes(data)
        if len(data) < FIXED_AREA_SIZE:
            detail = f"expected {FIXED_AREA_SIZE} bytes, got {len(data)}"
            raise ProtocolError("SII fixed area", detail, offset=len(data))
        info = SiiInfo.decode(data[:FIXED_AREA_SIZE])
        typed: dict[int, object] = {}
        extra: list[SiiRawCategory] = []
        for offset, header in _iter_categories(data):
            if header is None:
                raise ProtocolError(
                    f"SII category at word 0x{offset // WORD_SIZE:04X}",
                    f"header cut short: {len(data) - offset} of {SiiCategoryHeader.SIZE} bytes",
                    offset=offset,
                )
            if header.category_type == CategoryType.END:
                break
            word = offset // WORD_SIZE
            structure = f"SII {_category_name(header.category_type)} category at word 0x{word:04X}"
            start = offset + SiiCategoryHeader.SIZE
            body = data[start : start + header.data_size]
            if len(body) < header.data_size:
                detail = f"size {header.data_size} bytes, only {len(body)} left in the image"
                raise ProtocolError(structure, detail, offset=start + len(body))
            if header.category_type not in TYPED_CATEGORIES:
                extra.append(SiiRawCategory(header.category_type, body))
                continue
            if header.category_type in _SINGLE_CATEGORIES and header.category_type in typed:
                raise ProtocolError(structure, "second category of this type", offset=offset)
            try:
                decoded = _CATEGORY_DECODERS[header.category_type](body)
            except ProtocolError as exc:
                raise ProtocolError(structure, exc.detail, offset=start + (exc.offset or 0)) from exc
            previous = typed.get(header.category_type, ())
            typed[header.category_type] = previous + decoded if isinstance(decoded, tuple) else decoded
        return cls(
            info=info,
            strings=typed.get(CategoryType.STRINGS, ()),
            general=typed.get(CategoryType.GENERAL),
            fmmus=typed.get(CategoryType.FMMU, ()),
            sync_managers=typed.get(CategoryType.SYNC_MANAGER, ()),
            tx_pdos=typed.get(CategoryType.TXPDO, ()),
            rx_pdos=typed.get(CategoryType.RXPDO, ()),
            dc_op_modes=typed.get(CategoryType.DC, ()),
            extra_categories=tuple(extra),
        )

    def build(self) -> bytes:
        """The whole EEPROM image: fixed area (checksum computed unless set), categories in
        ascending type order, the END marker, then erased bytes up to the EEPROM size.

        Raises ValueError when a field is out of range, an extra category uses a type this
        module encodes itself, or the content does not fit the EEPROM size of word 0x003E.
        """
        categories: list[SiiRawCategory] = []
        typed = (
            (CategoryType.STRINGS, self.strings, encode_strings),
            (CategoryType.FMMU, self.fmmus, encode_fmmus),
            (CategoryType.SYNC_MANAGER, self.sync_managers, SiiSyncManager.encode_all),
            (CategoryType.TXPDO, self.tx_pdos, SiiPdo.encode_all),
            (CategoryType.RXPDO, self.rx_pdos, SiiPdo.encode_all),
            (CategoryType.DC, self.dc_op_modes, SiiDcOpMode.encode_all),
        )
        for category_type, content, encoder in typed:
            if content:
                categories.append(SiiRawCategory(category_type, encoder(content)))
        if self.general is not None:
            categories.append(SiiRawCategory(CategoryType.GENERAL, self.general.encode()))
        for raw in self.extra_categories:
            if raw.category_type in TYPED_CATEGORIES or raw.category_type == CategoryType.END:
                name = _category_name(raw.category_type)
                raise ValueError(f"SII image: extra category type {name} is encoded from its own field")
            categories.append(raw)
        categories.sort(key=lambda category: category.category_type)
        image = self.info.encode() + b"".join(c.encode() for c in categories) + _U16.pack(CategoryType.END)
        capacity = self.info.eeprom_bytes
        if len(image) > capacity:
            raise ValueError(
                f"SII image: {len(image)} bytes do not fit the EEPROM size "
                f"word 0x{self.info.eeprom_size:04X} ({capacity} bytes)"
            )
        return image + bytes([ERASED_BYTE]) * (capacity - len(image))


_CATEGORY_DECODERS = {
    CategoryType.STRINGS: decode_strings,
    CategoryType.GENERAL: SiiGeneral.decode,
    CategoryType.FMMU: decode_fmmus,
    CategoryType.SYNC_MANAGER: SiiSyncManager.decode_all,
    CategoryType.TXPDO: SiiPdo.decode_all,
    CategoryType.RXPDO: SiiPdo.decode_all,
    CategoryType.DC: SiiDcOpMode.decode_all,
}
