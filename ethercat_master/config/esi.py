"""EtherCAT Slave Information (ESI) files: the vendor's XML description of its devices.

:func:`load_esi` reads an ``EtherCATInfo`` file (ETG.2000) into an :class:`EsiFile`: the vendor
and its devices, each with identity (``Type`` ``ProductCode``/``RevisionNo``), name (the
``Name`` of ``LcId`` 1033, else the first), group, SyncManagers (``Sm``), FMMUs, PDOs
(``RxPdo``/``TxPdo``: index, name, ``Sm``, ``Mandatory``/``Fixed``, ``Exclude``, entries with
index, subindex, bit length, name and data type; index 0 is padding), mailbox protocols, the
CoE start-up commands (``Mailbox/CoE/InitCmd``: transitions, index, subindex, data octets,
``CompleteAccess``) and the DC operation modes (``Dc/OpMode``: ``AssignActivate``,
``CycleTimeSync0`` with its ``Factor``, ``ShiftTimeSync0``, the same for SYNC1).
:meth:`EsiFile.find_device` selects a device by product code and revision.

Numbers are ESI ``HexDecValue``: decimal (optionally signed) or hex written ``#x1A00``; the
``0x1A00`` some generators write is read too. Booleans are ``xs:boolean`` (``1``/``0``,
``true``/``false``). Element and attribute names follow the ETG.2000 schema
(``EtherCATInfo.xsd``); elements this reader does not use (``Profile``, ``Eeprom``, images,
vendor-specific data ...) are skipped unread.

Every problem raises :class:`~ethercat_master.errors.ConfigError` naming the file, the line
and the element path (``Descriptions/Devices/Device[2]/RxPdo[0]/Entry[1]/BitLen``). The XML
is read with :mod:`xml.parsers.expat`, which reports the line of each element; document type
declarations (and so entity definitions) are refused.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, NoReturn, Optional, Union
from xml.parsers import expat

from ..errors import ConfigError
from ..protocol.coe import COMPLETE_ACCESS_MAX_SUBINDEX, DataType
from ..protocol.registers import MAX_SYNC_MANAGERS
from ..protocol.sii import MailboxProtocols
from .yaml_source import DOCUMENT_FIELD, FILE_FIELD

__all__ = [
    "DEFAULT_LCID",
    "Transition",
    "data_type_by_name",
    "EsiVendor",
    "EsiGroup",
    "EsiPdoEntry",
    "EsiPdo",
    "EsiSyncManager",
    "EsiInitCommand",
    "EsiCoe",
    "EsiMailbox",
    "EsiDcOpMode",
    "EsiDevice",
    "EsiFile",
    "parse_esi",
    "load_esi",
]

#: The language of the names this reader prefers (English, United States).
DEFAULT_LCID = 1033

_U8_MAX = 0xFF
_U16_MAX = 0xFFFF
_U32_MAX = 0xFFFF_FFFF
_I16_MIN, _I16_MAX = -0x8000, 0x7FFF
_I32_MIN, _I32_MAX = -0x8000_0000, 0x7FFF_FFFF
#: A PDO mapping entry holds its bit length in one octet (ETG.1000.6 0x1600..0x1BFF values).
_MAX_ENTRY_BITS = _U8_MAX
#: Digits a number may have (more than any 64-bit value needs).
_MAX_DIGITS = 20
_HEX_DEC = re.compile(rf"^(?:#[xX]([0-9a-fA-F]{{1,{_MAX_DIGITS}}})|0[xX]([0-9a-fA-F]{{1,{_MAX_DIGITS}}})"
                      rf"|([+-]?[0-9]{{1,{_MAX_DIGITS}}}))$")
_BOOLEANS = {"1": True, "true": True, "0": False, "false": False}
#: Subtrees this reader never looks into (often most of a file).
_SKIPPED = frozenset({"Profile", "Eeprom", "Image16x14", "ImageData16x14", "ImageFile16x14",
                      "VendorSpecific", "Slots", "Modules", "Info", "ESC"})
_ROOT = "EtherCATInfo"


class Transition(enum.Enum):
    """AL state transitions a start-up command runs in (ETG.2000 ``InitCmd/Transition``)."""

    INIT_TO_PREOP = "IP"
    PREOP_TO_SAFEOP = "PS"
    SAFEOP_TO_PREOP = "SP"
    SAFEOP_TO_OP = "SO"
    OP_TO_PREOP = "OP"
    OP_TO_SAFEOP = "OS"


#: ESI data type names (IEC 61131-3 as ETG.2000 uses them) -> CoE data types (ETG.1000.6).
_IEC_TYPES: dict[str, DataType] = {
    "BOOL": DataType.BOOLEAN,
    "BIT": DataType.BOOLEAN,
    "SINT": DataType.INTEGER8,
    "INT": DataType.INTEGER16,
    "INT24": DataType.INTEGER24,
    "DINT": DataType.INTEGER32,
    "INT40": DataType.INTEGER40,
    "INT48": DataType.INTEGER48,
    "INT56": DataType.INTEGER56,
    "LINT": DataType.INTEGER64,
    "USINT": DataType.UNSIGNED8,
    "UINT": DataType.UNSIGNED16,
    "UINT24": DataType.UNSIGNED24,
    "UDINT": DataType.UNSIGNED32,
    "UINT40": DataType.UNSIGNED40,
    "UINT48": DataType.UNSIGNED48,
    "UINT56": DataType.UNSIGNED56,
    "ULINT": DataType.UNSIGNED64,
    "REAL": DataType.REAL32,
    "LREAL": DataType.REAL64,
    "STRING": DataType.VISIBLE_STRING,
    **{f"BIT{width}": DataType(DataType.BIT1 + width - 1) for width in range(1, 9)},
}
_STRING_TYPE = re.compile(r"^STRING\(\d+\)$")


def data_type_by_name(name: str) -> Optional[DataType]:
    """The CoE data type a name means: a :class:`~ethercat_master.protocol.coe.DataType` name
    (``UNSIGNED16``) or an ESI/IEC 61131-3 name (``UINT``, ``BOOL``, ``STRING(8)``); None for
    names without a CoE type (arrays, structures, vendor types)."""
    text = name.strip()
    member = DataType.__members__.get(text)
    if member is not None:
        return member
    if _STRING_TYPE.match(text):
        return DataType.VISIBLE_STRING
    return _IEC_TYPES.get(text)


# ------------------------------------------------------------------------------------ model
@dataclass(frozen=True, slots=True)
class EsiVendor:
    """The vendor of an ESI file: its EtherCAT vendor ID and name."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class EsiGroup:
    """A device group (``Descriptions/Groups/Group``): its ``Type`` key and its name."""

    type: str
    name: str


@dataclass(frozen=True, slots=True)
class EsiPdoEntry:
    """One PDO entry: the object it maps (index 0 for padding), its size and description.

    :ivar data_type: the type as the ESI writes it (``"UINT"``), ``""`` when absent (padding);
        :attr:`coe_type` is its CoE data type.
    """

    index: int
    subindex: int
    bit_length: int
    name: str = ""
    data_type: str = ""

    @property
    def is_padding(self) -> bool:
        """True for a gap in the PDO (index 0)."""
        return self.index == 0

    @property
    def coe_type(self) -> Optional[DataType]:
        """The CoE data type of :attr:`data_type`, None when it has none."""
        return data_type_by_name(self.data_type) if self.data_type else None


@dataclass(frozen=True, slots=True)
class EsiPdo:
    """An RxPDO (outputs) or TxPDO (inputs) of a device.

    :ivar sm: the SyncManager it is assigned to by default; None when it is not assigned
        unless a configuration assigns it.
    :ivar mandatory: it must always be assigned.
    :ivar fixed: its mapping cannot be changed.
    :ivar excludes: PDOs that cannot be assigned together with this one.
    :ivar line: the line of its element in the ESI file.
    """

    index: int
    name: str
    entries: tuple[EsiPdoEntry, ...]
    sm: Optional[int] = None
    mandatory: bool = False
    fixed: bool = False
    excludes: tuple[int, ...] = ()
    line: Optional[int] = None

    @property
    def bit_length(self) -> int:
        """Size of the PDO in bits (entries and padding)."""
        return sum(entry.bit_length for entry in self.entries)


@dataclass(frozen=True, slots=True)
class EsiSyncManager:
    """A SyncManager of a device (``Sm``), by its position in the list.

    :ivar kind: what it is for: ``"MBoxOut"``, ``"MBoxIn"``, ``"Outputs"``, ``"Inputs"``
        (the element text; ``""`` when absent).
    """

    index: int
    kind: str
    start_address: Optional[int] = None
    control_byte: Optional[int] = None
    default_size: Optional[int] = None
    min_size: Optional[int] = None
    max_size: Optional[int] = None
    enable: bool = False


@dataclass(frozen=True, slots=True)
class EsiInitCommand:
    """A CoE start-up SDO download (``Mailbox/CoE/InitCmd``).

    :ivar data: the octets to download, in transfer order.
    :ivar fixed: the command may not be changed by a configuration tool.
    """

    transitions: tuple[Transition, ...]
    index: int
    subindex: int
    data: bytes
    comment: str = ""
    complete_access: bool = False
    fixed: bool = False


@dataclass(frozen=True, slots=True)
class EsiCoe:
    """The CoE details of a device (``Mailbox/CoE`` attributes) and its start-up commands."""

    sdo_info: bool = False
    pdo_assign: bool = False
    pdo_config: bool = False
    pdo_upload: bool = False
    complete_access: bool = False
    segmented_sdo: bool = False
    init_commands: tuple[EsiInitCommand, ...] = ()


@dataclass(frozen=True, slots=True)
class EsiMailbox:
    """The mailbox of a device: the protocols it supports and its CoE details."""

    protocols: MailboxProtocols
    coe: Optional[EsiCoe] = None


@dataclass(frozen=True, slots=True)
class EsiDcOpMode:
    """A distributed-clocks operation mode (``Dc/OpMode``).

    Times are in nanoseconds. A cycle time of 0 with a factor means "factor times the bus
    cycle" (ETG.2000); factors are kept as written (0 when absent).
    """

    name: str
    assign_activate: int
    description: str = ""
    cycle_time_sync0: int = 0
    cycle_time_sync0_factor: int = 0
    shift_time_sync0: int = 0
    cycle_time_sync1: int = 0
    cycle_time_sync1_factor: int = 0
    shift_time_sync1: int = 0


@dataclass(frozen=True, slots=True)
class EsiDevice:
    """One device of an ESI file.

    :ivar type: the device type (``Type`` text, e.g. ``"EL2008"``).
    :ivar name: its name in :data:`DEFAULT_LCID`, else the first name given.
    :ivar group: its group type (``GroupType``).
    :ivar fmmus: what each FMMU is for (``"Outputs"``, ``"Inputs"``, ``"MBoxState"``).
    :ivar mailbox: None for a device without mailbox.
    :ivar line: the line of its ``Device`` element.
    """

    vendor_id: int
    product_code: int
    revision: int
    type: str
    name: str
    group: str = ""
    sync_managers: tuple[EsiSyncManager, ...] = ()
    fmmus: tuple[str, ...] = ()
    rx_pdos: tuple[EsiPdo, ...] = ()
    tx_pdos: tuple[EsiPdo, ...] = ()
    mailbox: Optional[EsiMailbox] = None
    dc_op_modes: tuple[EsiDcOpMode, ...] = ()
    line: Optional[int] = None

    @property
    def init_commands(self) -> tuple[EsiInitCommand, ...]:
        """The CoE start-up commands (empty without CoE)."""
        coe = None if self.mailbox is None else self.mailbox.coe
        return () if coe is None else coe.init_commands

    @property
    def default_rx_assignment(self) -> tuple[int, ...]:
        """RxPDOs assigned by default (those with an ``Sm``), in file order."""
        return tuple(pdo.index for pdo in self.rx_pdos if pdo.sm is not None)

    @property
    def default_tx_assignment(self) -> tuple[int, ...]:
        """TxPDOs assigned by default (those with an ``Sm``), in file order."""
        return tuple(pdo.index for pdo in self.tx_pdos if pdo.sm is not None)

    def pdo(self, index: int) -> Optional[EsiPdo]:
        """The RxPDO or TxPDO with this index, None when the device has none."""
        return next((pdo for pdo in self.rx_pdos + self.tx_pdos if pdo.index == index), None)

    def dc_op_mode(self, name: str) -> Optional[EsiDcOpMode]:
        """The DC operation mode of this name, None when the device has none."""
        return next((mode for mode in self.dc_op_modes if mode.name == name), None)

    def describe(self) -> str:
        """``"EL2008 (0x07D83052 revision 0x00100000)"``."""
        return f"{self.type} (0x{self.product_code:08X} revision 0x{self.revision:08X})"


@dataclass(frozen=True, slots=True)
class EsiFile:
    """A parsed ESI file: its vendor, groups and devices."""

    file: str
    vendor: EsiVendor
    groups: tuple[EsiGroup, ...]
    devices: tuple[EsiDevice, ...]

    def find_device(self, product_code: int, revision: Optional[int] = None) -> EsiDevice:
        """The device with this product code and revision; without a revision, the highest
        revision of the product. :class:`ConfigError` names the file and the candidates when
        there is none."""
        candidates = [device for device in self.devices if device.product_code == product_code]
        if revision is not None:
            exact = [device for device in candidates if device.revision == revision]
            if exact:
                return exact[0]
        elif candidates:
            return max(candidates, key=lambda device: device.revision)
        wanted = f"product code 0x{product_code:08X}" + ("" if revision is None else f" revision 0x{revision:08X}")
        if candidates:
            known = ", ".join(f"0x{device.revision:08X}" for device in candidates)
            found = f"the file has revisions {known} of it"
        else:
            found = f"the file describes {len(self.devices)} other device(s)"
        raise ConfigError(self.file, None, "Descriptions/Devices", f"a device with {wanted} ({found})")


# ------------------------------------------------------------------------------------- XML
class _Element:
    """An XML element with the line it starts on."""

    __slots__ = ("tag", "attributes", "line", "children", "_text")

    def __init__(self, tag: str, attributes: dict[str, str], line: int) -> None:
        self.tag = tag
        self.attributes = attributes
        self.line = line
        self.children: list[_Element] = []
        self._text: list[str] = []

    @property
    def text(self) -> str:
        """The element's own character data, stripped."""
        return "".join(self._text).strip()

    def named(self, tag: str) -> Iterator[tuple[int, _Element]]:
        """The children called ``tag`` with their number among them."""
        return enumerate(child for child in self.children if child.tag == tag)

    def first(self, tag: str) -> Optional[_Element]:
        """The first child called ``tag``."""
        return next((child for child in self.children if child.tag == tag), None)


class _TreeBuilder:
    """Builds :class:`_Element` trees from expat events, skipping :data:`_SKIPPED` subtrees."""

    def __init__(self, file: str, parser: expat.XMLParserType) -> None:
        self.file = file
        self.parser = parser
        self.root: Optional[_Element] = None
        self.stack: list[_Element] = []
        self.skipping = 0

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        if self.skipping or (self.stack and tag in _SKIPPED):
            self.skipping += 1
            return
        element = _Element(tag, attributes, self.parser.CurrentLineNumber)
        if self.stack:
            self.stack[-1].children.append(element)
        else:
            self.root = element
        self.stack.append(element)

    def end(self, tag: str) -> None:
        if self.skipping:
            self.skipping -= 1
        else:
            self.stack.pop()

    def data(self, text: str) -> None:
        if not self.skipping and self.stack:
            self.stack[-1]._text.append(text)

    def doctype(self, *_: object) -> None:
        raise ConfigError(self.file, self.parser.CurrentLineNumber, DOCUMENT_FIELD,
                          "an ESI file without a document type declaration")


def _parse_xml(data: bytes, file: str) -> _Element:
    parser = expat.ParserCreate()
    builder = _TreeBuilder(file, parser)
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = builder.doctype
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise ConfigError(file, exc.lineno, DOCUMENT_FIELD,
                          f"well-formed XML ({expat.ErrorString(exc.code)})") from None
    except (LookupError, UnicodeError, ValueError) as exc:  # an encoding expat and Python cannot read
        raise ConfigError(file, None, DOCUMENT_FIELD, f"XML in a readable encoding ({exc})") from None
    if builder.root is None:
        raise ConfigError(file, None, DOCUMENT_FIELD, f"an {_ROOT} document")
    return builder.root


# ---------------------------------------------------------------------------------- reading
class _Reader:
    """Reads values out of elements, raising :class:`ConfigError` with file, line and path."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, element: _Element, path: str, expected: str) -> NoReturn:
        raise ConfigError(self.file, element.line, path, expected)

    def child(self, element: _Element, path: str, tag: str) -> tuple[_Element, str]:
        found = element.first(tag)
        child_path = f"{path}/{tag}" if path else tag
        if found is None:
            self.fail(element, child_path, f"a {tag} element (missing)")
        return found, child_path

    def number(self, element: _Element, path: str, text: str, minimum: int, maximum: int) -> int:
        match = _HEX_DEC.match(text.strip())
        expected = f"a number (decimal or #x hex) in {minimum}..{maximum}, got {text.strip()!r}"
        if match is None:
            self.fail(element, path, expected)
        hex_digits = match.group(1) or match.group(2)
        value = int(hex_digits, 16) if hex_digits else int(match.group(3))
        if not minimum <= value <= maximum:
            self.fail(element, path, expected)
        return value

    def text_number(self, element: _Element, path: str, tag: str, minimum: int, maximum: int) -> int:
        child, child_path = self.child(element, path, tag)
        return self.number(child, child_path, child.text, minimum, maximum)

    def optional_text_number(self, element: _Element, path: str, tag: str, minimum: int, maximum: int,
                             default: int) -> int:
        child = element.first(tag)
        return default if child is None else self.number(child, f"{path}/{tag}", child.text, minimum, maximum)

    def attribute_number(self, element: _Element, path: str, name: str, minimum: int, maximum: int) -> Optional[int]:
        text = element.attributes.get(name)
        return None if text is None else self.number(element, f"{path}@{name}", text, minimum, maximum)

    def flag(self, element: _Element, path: str, name: str) -> bool:
        text = element.attributes.get(name)
        if text is None:
            return False
        value = _BOOLEANS.get(text.strip())
        if value is None:
            self.fail(element, f"{path}@{name}", f"a boolean (1, 0, true or false), got {text!r}")
        return value


def _name(element: _Element) -> str:
    """The ``Name`` child in :data:`DEFAULT_LCID`, else the first; ``""`` without one."""
    names = [child for child in element.children if child.tag == "Name"]
    for child in names:
        if child.attributes.get("LcId", str(DEFAULT_LCID)).strip() == str(DEFAULT_LCID):
            return child.text
    return names[0].text if names else ""


def _entry(reader: _Reader, element: _Element, path: str) -> EsiPdoEntry:
    index = reader.text_number(element, path, "Index", 0, _U16_MAX)
    subindex = reader.optional_text_number(element, path, "SubIndex", 0, _U8_MAX, 0)
    bits = reader.text_number(element, path, "BitLen", 1, _MAX_ENTRY_BITS)
    data_type = element.first("DataType")
    return EsiPdoEntry(index, subindex, bits, _name(element), "" if data_type is None else data_type.text)


def _pdo(reader: _Reader, element: _Element, path: str) -> EsiPdo:
    index = reader.text_number(element, path, "Index", 0, _U16_MAX)
    excludes = tuple(reader.number(child, f"{path}/Exclude[{n}]", child.text, 0, _U16_MAX)
                     for n, child in element.named("Exclude"))
    entries = tuple(_entry(reader, child, f"{path}/Entry[{n}]") for n, child in element.named("Entry"))
    return EsiPdo(index=index, name=_name(element), entries=entries,
                  sm=reader.attribute_number(element, path, "Sm", 0, MAX_SYNC_MANAGERS - 1),
                  mandatory=reader.flag(element, path, "Mandatory"), fixed=reader.flag(element, path, "Fixed"),
                  excludes=excludes, line=element.line)


def _sync_manager(reader: _Reader, element: _Element, path: str, index: int) -> EsiSyncManager:
    def attribute(name: str) -> Optional[int]:
        return reader.attribute_number(element, path, name, 0, _U16_MAX)

    return EsiSyncManager(index=index, kind=element.text, start_address=attribute("StartAddress"),
                          control_byte=reader.attribute_number(element, path, "ControlByte", 0, _U8_MAX),
                          default_size=attribute("DefaultSize"), min_size=attribute("MinSize"),
                          max_size=attribute("MaxSize"), enable=_enabled(reader, element, path))


def _enabled(reader: _Reader, element: _Element, path: str) -> bool:
    """``Sm@Enable``: a boolean, or a number whose bit 0 enables (as in the SM register)."""
    text = element.attributes.get("Enable")
    if text is None:
        return False
    value = _BOOLEANS.get(text.strip())
    if value is not None:
        return value
    return bool(reader.number(element, f"{path}@Enable", text, 0, _U8_MAX) & 1)


def _init_command(reader: _Reader, element: _Element, path: str) -> EsiInitCommand:
    transitions = []
    for n, child in element.named("Transition"):
        try:
            transitions.append(Transition(child.text))
        except ValueError:
            reader.fail(child, f"{path}/Transition[{n}]",
                        f"one of {', '.join(t.value for t in Transition)}, got {child.text!r}")
    if not transitions:
        reader.fail(element, f"{path}/Transition", "at least one Transition element (missing)")
    index = reader.text_number(element, path, "Index", 0, _U16_MAX)
    subindex = reader.text_number(element, path, "SubIndex", 0, _U8_MAX)
    data_element, data_path = reader.child(element, path, "Data")
    try:
        data = bytes.fromhex(data_element.text)
    except ValueError:
        reader.fail(data_element, data_path, f"hex octets such as 0800, got {data_element.text!r}")
    complete_access = reader.flag(element, path, "CompleteAccess")
    if complete_access and subindex > COMPLETE_ACCESS_MAX_SUBINDEX:
        reader.fail(element, f"{path}/SubIndex", f"subindex 0 or 1 with CompleteAccess, got {subindex}")
    comment = element.first("Comment")
    return EsiInitCommand(tuple(transitions), index, subindex, data, "" if comment is None else comment.text,
                          complete_access, reader.flag(element, path, "Fixed"))


_PROTOCOL_ELEMENTS = {"AoE": MailboxProtocols.AOE, "EoE": MailboxProtocols.EOE, "CoE": MailboxProtocols.COE,
                      "FoE": MailboxProtocols.FOE, "SoE": MailboxProtocols.SOE, "VoE": MailboxProtocols.VOE}


def _mailbox(reader: _Reader, element: _Element, path: str) -> EsiMailbox:
    protocols = MailboxProtocols(0)
    for child in element.children:
        protocols |= _PROTOCOL_ELEMENTS.get(child.tag, MailboxProtocols(0))
    coe_element = element.first("CoE")
    coe = None
    if coe_element is not None:
        coe_path = f"{path}/CoE"
        commands = tuple(_init_command(reader, child, f"{coe_path}/InitCmd[{n}]")
                         for n, child in coe_element.named("InitCmd"))
        coe = EsiCoe(sdo_info=reader.flag(coe_element, coe_path, "SdoInfo"),
                     pdo_assign=reader.flag(coe_element, coe_path, "PdoAssign"),
                     pdo_config=reader.flag(coe_element, coe_path, "PdoConfig"),
                     pdo_upload=reader.flag(coe_element, coe_path, "PdoUpload"),
                     complete_access=reader.flag(coe_element, coe_path, "CompleteAccess"),
                     segmented_sdo=reader.flag(coe_element, coe_path, "SegmentedSdo"),
                     init_commands=commands)
    return EsiMailbox(protocols, coe)


def _op_mode(reader: _Reader, element: _Element, path: str) -> EsiDcOpMode:
    name_element, _ = reader.child(element, path, "Name")
    description = element.first("Desc")

    def time(tag: str, minimum: int, maximum: int) -> int:
        return reader.optional_text_number(element, path, tag, minimum, maximum, 0)

    def factor(tag: str) -> int:
        child = element.first(tag)
        if child is None:
            return 0
        value = reader.attribute_number(child, f"{path}/{tag}", "Factor", _I16_MIN, _I16_MAX)
        return 0 if value is None else value

    return EsiDcOpMode(name=name_element.text,
                       assign_activate=reader.text_number(element, path, "AssignActivate", 0, _U16_MAX),
                       description="" if description is None else description.text,
                       cycle_time_sync0=time("CycleTimeSync0", 0, _U32_MAX),
                       cycle_time_sync0_factor=factor("CycleTimeSync0"),
                       shift_time_sync0=time("ShiftTimeSync0", _I32_MIN, _I32_MAX),
                       cycle_time_sync1=time("CycleTimeSync1", 0, _U32_MAX),
                       cycle_time_sync1_factor=factor("CycleTimeSync1"),
                       shift_time_sync1=time("ShiftTimeSync1", _I32_MIN, _I32_MAX))


def _device(reader: _Reader, element: _Element, path: str, vendor_id: int) -> EsiDevice:
    type_element, type_path = reader.child(element, path, "Type")
    product_code = reader.attribute_number(type_element, type_path, "ProductCode", 0, _U32_MAX)
    if product_code is None:
        reader.fail(type_element, f"{type_path}@ProductCode", "the device's product code (missing)")
    revision = reader.attribute_number(type_element, type_path, "RevisionNo", 0, _U32_MAX)
    group = element.first("GroupType")
    mailbox = element.first("Mailbox")
    dc = element.first("Dc")
    return EsiDevice(
        vendor_id=vendor_id,
        product_code=product_code,
        revision=0 if revision is None else revision,
        type=type_element.text,
        name=_name(element) or type_element.text,
        group="" if group is None else group.text,
        sync_managers=tuple(_sync_manager(reader, child, f"{path}/Sm[{n}]", n) for n, child in element.named("Sm")),
        fmmus=tuple(child.text for _, child in element.named("Fmmu")),
        rx_pdos=tuple(_pdo(reader, child, f"{path}/RxPdo[{n}]") for n, child in element.named("RxPdo")),
        tx_pdos=tuple(_pdo(reader, child, f"{path}/TxPdo[{n}]") for n, child in element.named("TxPdo")),
        mailbox=None if mailbox is None else _mailbox(reader, mailbox, f"{path}/Mailbox"),
        dc_op_modes=() if dc is None else tuple(_op_mode(reader, child, f"{path}/Dc/OpMode[{n}]")
                                                for n, child in dc.named("OpMode")),
        line=element.line,
    )


def parse_esi(data: Union[bytes, str], file: str = "<string>") -> EsiFile:
    """Parse the text of an ESI file; :class:`ConfigError` names ``file``, line and element."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    root = _parse_xml(raw, file)
    reader = _Reader(file)
    if root.tag != _ROOT:
        reader.fail(root, root.tag, f"an {_ROOT} root element, got {root.tag}")
    vendor_element, vendor_path = reader.child(root, "", "Vendor")
    vendor = EsiVendor(reader.text_number(vendor_element, vendor_path, "Id", 0, _U32_MAX), _name(vendor_element))
    descriptions, _ = reader.child(root, "", "Descriptions")
    groups_element = descriptions.first("Groups")
    groups = () if groups_element is None else tuple(
        EsiGroup(type_element.text if (type_element := group.first("Type")) is not None else "", _name(group))
        for _, group in groups_element.named("Group"))
    devices_element, devices_path = reader.child(descriptions, "Descriptions", "Devices")
    devices = tuple(_device(reader, child, f"{devices_path}/Device[{n}]", vendor.id)
                    for n, child in devices_element.named("Device"))
    return EsiFile(file, vendor, groups, devices)


def load_esi(path: Union[str, Path]) -> EsiFile:
    """Read and parse an ESI file."""
    try:
        data = Path(path).read_bytes()
    except (OSError, ValueError) as exc:  # ValueError: a path with a NUL character
        raise ConfigError(str(path), None, FILE_FIELD,
                          f"a readable ESI file ({getattr(exc, 'strerror', None) or exc})") from None
    return parse_esi(data, str(path))
