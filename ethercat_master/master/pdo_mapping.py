"""PDO assignment and mapping, and the process data layout: sync managers, FMMUs and the logical
address space one cyclic LRW per frame covers.

PDO assignment and mapping (ETG.1000.6 5.6.7.4, ETG.2010, CiA 301 7.5.2.35/36)
    Each process data sync manager ``n`` has a list of PDOs (its *assignment*, object 0x1C10+n:
    SI0 = count, entries = PDO indices) and each PDO a list of mapped object entries (its
    *mapping*, objects 0x1600-0x17FF for RxPDOs/outputs and 0x1A00-0x1BFF for TxPDOs/inputs:
    SI0 = count, entries = ``index << 16 | subindex << 8 | bit length``; index 0 is a gap).
    A slave's mapping comes from one of three places, per sync manager
    (:class:`MappingSource`):

    * CoE: read with SDO uploads in PRE-OP, for every sync manager the SII SyncM category types
      as process data (IgH ``fsm_pdo.c`` reads 0x1C10+n of the SII sync managers; SOEM
      ``ecx_readPDOmap``). With *complete access* when the SII GENERAL category's CoE details
      say the slave supports it (SOEM ``ecx_readPDOmapCA``: SI0 as 16 bits, then the entries),
      falling back to subindex by subindex when the slave refuses it. An assignment object that
      does not exist leaves that sync manager to the SII.
    * SII: the TXPDO/RXPDO categories; only PDOs whose sync manager byte names an existing sync
      manager are assigned (SOEM ``ecx_siiPDO``: 0xFF or beyond the sync managers = not
      assigned).
    * The user's configuration (:class:`SyncManagerConfig`), written in PRE-OP in the order
      ETG.1000.6 and CiA 301 prescribe: assignment SI0 = 0; for each PDO to remap: mapping SI0
      = 0, the entries, mapping SI0 = n; the assignment entries; assignment SI0 = k. It is read
      back afterwards and must match.

    Entry names (the process image's field names) and data types come from the SII entry of the
    same index and subindex, else from SDO information when the slave supports it, else stay
    empty (the image then names the field after its index and subindex).

Sync managers (ETG.1000.4 Table 59; IgH ``ec_sync_page``)
    Every sync manager the SII types as process data is written: start address and control byte
    from the SII SyncM category, length from the mapping (octets, rounded up), enabled when it
    carries data and is not virtual; a sync manager without data is written disabled with length
    0 (what the Beckhoff SSC ``CheckSmSettings`` requires). Slaves without mailbox (EL1008,
    EL2008) have their process data on SM0/SM1 as their SII says.

FMMUs (ETG.1000.4 Table 57; SOEM ``ecx_config_map_group``)
    One FMMU per sync manager with data: write for outputs, read for inputs, physical start =
    the sync manager's start, logical length = its octets. The FMMU index follows the SII FMMU
    category (the first unused FMMU meant for outputs or inputs), else the first FMMU the
    category leaves free. Bit-sized data is mapped bit-granular where the ESC supports it
    (ESC feature 0x0008 bit 0 clear): the logical stop bit is the last bit the sync manager
    carries (an EL1004's 4 bits: start bit 0, stop bit 3), so the FMMU writes exactly those bits;
    ESCs with byte-oriented FMMUs get stop bit 7.

Logical address space (the choice made here)
    Slaves are grouped in position order into frames; each frame carries one LRW whose data
    holds the outputs of its slaves, then their inputs (SOEM's outputs-then-inputs order, per
    frame so that each LRW is self-contained). A frame is closed when the next slave would not
    fit the LRW's data (:data:`MAX_DATAGRAM_DATA` = 1486 octets; the first frame keeps
    :data:`DC_DATAGRAM_SIZE` octets free for the FRMW of the DC reference clock, as SOEM's
    ``EC_FIRSTDCDATAGRAM`` does). Every slave's data starts on an octet boundary (IgH does the
    same; SOEM packs bit-sized slaves into shared octets), so each slave's image is a plain byte
    range. Frames follow each other in the logical space from ``logical_start``.

Working counter (ETG.1000.4 Table 15)
    An LRW counts 2 at each slave whose write FMMU took data, 1 at each slave whose read FMMU
    gave data (3 for both): the expected value of a frame is 2 x (its slaves with outputs) +
    (its slaves with inputs).
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Optional

from ..errors import ProtocolError, SdoAbort, WorkingCounterError
from ..protocol.coe import DataType, ValueInfo
from ..protocol.datagram import DATAGRAM_OVERHEAD, MAX_DATAGRAM_DATA, Command, station_address
from ..protocol.registers import (
    FmmuEntry,
    SmActivate,
    SmControl,
    SyncManagerChannel,
    fmmu_address,
    sync_manager_address,
)
from ..protocol.sdo_abort import SdoAbortCode
from ..protocol.sii import (
    CoeDetails,
    FmmuUsage,
    SiiPdo,
    SiiSyncManager,
    SyncManagerEnable,
    SyncManagerType,
)
from .bus import Bus, Request
from .coe import CoEClient
from .slave_info import SlaveInfo

__all__ = [
    "PDO_ASSIGNMENT_BASE",
    "RXPDO_RANGE",
    "TXPDO_RANGE",
    "DC_DATAGRAM_SIZE",
    "Direction",
    "MappingSource",
    "PdoEntry",
    "Pdo",
    "SyncManagerPdos",
    "MappedEntry",
    "SlavePdoMapping",
    "PdoConfig",
    "SyncManagerConfig",
    "SlaveProcessData",
    "FrameLayout",
    "ProcessDataLayout",
    "sii_pdo_mapping",
    "read_pdo_mapping",
    "write_pdo_configuration",
    "derive_pdo_mapping",
    "plan_process_data",
    "write_process_data_registers",
    "configure_process_data",
]

#: Assignment object of sync manager ``n`` is 0x1C10 + n.
PDO_ASSIGNMENT_BASE = 0x1C10
#: RxPDO (output) mapping objects.
RXPDO_RANGE = range(0x1600, 0x1800)
#: TxPDO (input) mapping objects.
TXPDO_RANGE = range(0x1A00, 0x1C00)
#: The FRMW of the DC reference clock's system time (0x0910, 8 octets) in the first frame.
DC_DATAGRAM_SIZE = DATAGRAM_OVERHEAD + 8
_BITS_PER_OCTET = 8
_LAST_BIT = _BITS_PER_OCTET - 1
#: Complete access: SI0 is sent as 16 bits (UNSIGNED8 and a pad octet).
_CA_COUNT_SIZE = 2
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")
_MAPPING_INDEX_SHIFT = 16
_MAPPING_SUBINDEX_SHIFT = 8
_BYTE_MASK = 0xFF
_U16_MASK = 0xFFFF
_MAILBOX_TYPES = (SyncManagerType.MAILBOX_OUT, SyncManagerType.MAILBOX_IN)


def _octets(bits: int) -> int:
    return (bits + _LAST_BIT) // _BITS_PER_OCTET


# ------------------------------------------------------------------------------- vocabulary
class Direction(enum.Enum):
    """Which way process data flows, seen from the master."""

    #: Master to slave: RxPDOs, a write FMMU, an ECAT-write sync manager.
    OUTPUTS = "outputs"
    #: Slave to master: TxPDOs, a read FMMU, an ECAT-read sync manager.
    INPUTS = "inputs"

    @property
    def pdo_range(self) -> range:
        """The mapping objects of PDOs of this direction."""
        return RXPDO_RANGE if self is Direction.OUTPUTS else TXPDO_RANGE


class MappingSource(enum.Enum):
    """Where a sync manager's PDO assignment and mapping were taken from."""

    COE = "CoE"
    SII = "SII"
    #: The user's configuration, written to the slave and read back.
    CONFIGURATION = "configuration"


@dataclass(frozen=True, slots=True)
class PdoEntry:
    """One mapped object entry of a PDO.

    :ivar index: object index; 0 for a gap.
    :ivar subindex: object subindex.
    :ivar bit_length: bits the entry occupies.
    :ivar name: the device's name for it (SII string or SDO information), or the name the
        user's configuration gives it; ``""`` when unknown.
    :ivar data_type: CoE data type index (:class:`~ethercat_master.protocol.coe.DataType`);
        0 when unknown.
    """

    index: int
    subindex: int
    bit_length: int
    name: str = ""
    data_type: int = 0

    def __post_init__(self) -> None:
        if not (0 <= self.index <= _U16_MASK and 0 <= self.subindex <= _BYTE_MASK
                and 1 <= self.bit_length <= _BYTE_MASK):
            raise ValueError(f"PDO entry 0x{self.index:04X}:{self.subindex:02X} with {self.bit_length} bits "
                             "is out of range (index u16, subindex u8, 1..255 bits)")

    @property
    def gap(self) -> bool:
        """True for a gap (index 0): bits that carry nothing."""
        return self.index == 0

    @property
    def mapping_value(self) -> int:
        """The value of a mapping object entry: ``index << 16 | subindex << 8 | bits``."""
        return (self.index << _MAPPING_INDEX_SHIFT) | (self.subindex << _MAPPING_SUBINDEX_SHIFT) | self.bit_length

    @classmethod
    def from_mapping_value(cls, value: int, name: str = "", data_type: int = 0) -> "PdoEntry":
        """The entry a mapping object entry's value describes."""
        return cls(value >> _MAPPING_INDEX_SHIFT, (value >> _MAPPING_SUBINDEX_SHIFT) & _BYTE_MASK,
                   value & _BYTE_MASK, name, data_type)


@dataclass(frozen=True, slots=True)
class Pdo:
    """One PDO: its mapping object index, its entries in order, and its name (``""`` unknown)."""

    index: int
    entries: tuple[PdoEntry, ...]
    name: str = ""

    @property
    def bit_length(self) -> int:
        """Bits of all entries, gaps included."""
        return sum(entry.bit_length for entry in self.entries)


@dataclass(frozen=True, slots=True)
class SyncManagerPdos:
    """The PDOs assigned to one process data sync manager."""

    sync_manager: int
    direction: Direction
    pdos: tuple[Pdo, ...]
    source: MappingSource

    @property
    def bit_length(self) -> int:
        """Bits of all assigned PDOs."""
        return sum(pdo.bit_length for pdo in self.pdos)

    @property
    def byte_length(self) -> int:
        """Octets the sync manager needs (its length register)."""
        return _octets(self.bit_length)


@dataclass(frozen=True, slots=True)
class MappedEntry:
    """A PDO entry with its place in the slave's process data of its direction: ``bit_offset``
    counts from the first bit of that direction's data (each sync manager starts on an octet)."""

    pdo: Pdo
    entry: PdoEntry
    sync_manager: int
    bit_offset: int


@dataclass(frozen=True, slots=True)
class SlavePdoMapping:
    """The PDO assignment and mapping of one slave, by sync manager (ascending index)."""

    position: int
    name: str
    sync_managers: tuple[SyncManagerPdos, ...]

    def of(self, direction: Direction) -> tuple[SyncManagerPdos, ...]:
        """The sync managers of one direction, in index order."""
        return tuple(sm for sm in self.sync_managers if sm.direction is direction)

    def bit_length(self, direction: Direction) -> int:
        """Bits of one direction's PDOs (octet padding of each sync manager not counted)."""
        return sum(sm.bit_length for sm in self.of(direction))

    def byte_length(self, direction: Direction) -> int:
        """Octets of one direction's process data: the sum of its sync managers' lengths."""
        return sum(sm.byte_length for sm in self.of(direction))

    def entries(self, direction: Direction) -> tuple[MappedEntry, ...]:
        """Every entry of one direction (gaps included) with its bit offset."""
        mapped = []
        base = 0
        for sm in self.of(direction):
            bit = base * _BITS_PER_OCTET
            for pdo in sm.pdos:
                for entry in pdo.entries:
                    mapped.append(MappedEntry(pdo, entry, sm.sync_manager, bit))
                    bit += entry.bit_length
            base += sm.byte_length
        return tuple(mapped)


# ------------------------------------------------------------------------- configuration
@dataclass(frozen=True, slots=True)
class PdoConfig:
    """One PDO of a configured assignment.

    :ivar index: the mapping object (0x1600-0x17FF for outputs, 0x1A00-0x1BFF for inputs).
    :ivar entries: the entries to map, in order; None keeps the device's present mapping (the
        PDO is only assigned). An entry's ``name`` becomes its field name in the image.
    """

    index: int
    entries: Optional[tuple[PdoEntry, ...]] = None


@dataclass(frozen=True, slots=True)
class SyncManagerConfig:
    """The PDOs to assign to process data sync manager ``sync_manager``, in order."""

    sync_manager: int
    pdos: tuple[PdoConfig, ...]


# ---------------------------------------------------------------------------------- SII
def _sii_string(slave: SlaveInfo, index: int) -> str:
    try:
        return slave.sii.string(index)
    except ProtocolError:
        return ""


def _sm_direction(sm: SiiSyncManager) -> Optional[Direction]:
    """The direction of a process data sync manager of the SII; None for any other."""
    if sm.sync_manager_type == SyncManagerType.PROCESS_DATA_OUT:
        return Direction.OUTPUTS
    if sm.sync_manager_type == SyncManagerType.PROCESS_DATA_IN:
        return Direction.INPUTS
    return None


def _process_data_sync_managers(slave: SlaveInfo) -> dict[int, Direction]:
    return {n: direction for n, sm in enumerate(slave.sync_managers)
            if (direction := _sm_direction(sm)) is not None}


def _sii_pdo(slave: SlaveInfo, pdo: SiiPdo) -> Pdo:
    entries = tuple(PdoEntry(e.index, e.subindex, e.bit_length, _sii_string(slave, e.name_idx) if e.index else "",
                             e.data_type if e.index else 0) for e in pdo.entries)
    return Pdo(pdo.index, entries, _sii_string(slave, pdo.name_idx))


def _sii_assigned(slave: SlaveInfo) -> dict[int, tuple[Direction, list[Pdo]]]:
    """The PDOs of the SII TXPDO/RXPDO categories by the sync manager they are assigned to."""
    by_sm: dict[int, tuple[Direction, list[Pdo]]] = {}
    typed = _process_data_sync_managers(slave)
    for direction, pdos in ((Direction.OUTPUTS, slave.rx_pdos), (Direction.INPUTS, slave.tx_pdos)):
        for pdo in pdos:
            if pdo.sync_manager >= len(slave.sync_managers):
                continue  # 0xFF (or beyond the sync managers): not assigned
            kind = "RxPDO" if direction is Direction.OUTPUTS else "TxPDO"
            declared = typed.get(pdo.sync_manager, direction)
            if declared is not direction:
                raise ProtocolError(f"SII of slave {slave.describe()}", f"{kind} 0x{pdo.index:04X} is assigned to "
                                    f"SM{pdo.sync_manager}, a sync manager for {declared.value}")
            if slave.sync_managers[pdo.sync_manager].sync_manager_type in _MAILBOX_TYPES:
                raise ProtocolError(f"SII of slave {slave.describe()}", f"{kind} 0x{pdo.index:04X} is assigned to "
                                    f"SM{pdo.sync_manager}, a mailbox sync manager")
            by_sm.setdefault(pdo.sync_manager, (direction, []))[1].append(_sii_pdo(slave, pdo))
    return by_sm


def sii_pdo_mapping(slave: SlaveInfo) -> SlavePdoMapping:
    """The mapping the SII describes: for every process data sync manager (SII SyncM types 3
    and 4, and any sync manager an SII PDO is assigned to) the PDOs assigned to it."""
    assigned = _sii_assigned(slave)
    directions = _process_data_sync_managers(slave)
    for n, (direction, _) in assigned.items():
        directions.setdefault(n, direction)
    sms = tuple(SyncManagerPdos(n, directions[n], tuple(assigned.get(n, (directions[n], []))[1]), MappingSource.SII)
                for n in sorted(directions))
    return SlavePdoMapping(slave.position, slave.describe(), sms)


# ---------------------------------------------------------------------------------- CoE
def _coe_details(slave: SlaveInfo) -> CoeDetails:
    general = slave.sii.general
    return general.coe_details if general is not None else CoeDetails(0)


class _EntryNames:
    """Names and data types of mapped entries: from the SII, else from SDO information."""

    def __init__(self, slave: SlaveInfo, coe: CoEClient) -> None:
        self._coe = coe if CoeDetails.ENABLE_SDO_INFO in _coe_details(slave) else None
        self._entries: dict[tuple[int, int], tuple[str, int]] = {}
        self._pdos: dict[int, str] = {}
        self._objects: dict[int, str] = {}
        for pdo in slave.rx_pdos + slave.tx_pdos:
            described = _sii_pdo(slave, pdo)
            self._pdos.setdefault(pdo.index, described.name)
            for entry in described.entries:
                if not entry.gap:
                    self._entries.setdefault((entry.index, entry.subindex), (entry.name, entry.data_type))

    def entry(self, value: int) -> PdoEntry:
        """The entry of mapping value ``value`` with its name and data type."""
        bare = PdoEntry.from_mapping_value(value)
        if bare.gap:
            return bare
        known = self._entries.get((bare.index, bare.subindex))
        if known is None:
            known = self._entries[(bare.index, bare.subindex)] = self._describe(bare.index, bare.subindex)
        return replace(bare, name=known[0], data_type=known[1])

    def pdo(self, index: int) -> str:
        """The PDO's name."""
        name = self._pdos.get(index)
        if name is None:
            name = self._pdos[index] = self._object_name(index)
        return name

    def _object_name(self, index: int) -> str:
        if self._coe is None:
            return ""
        if index not in self._objects:
            try:
                self._objects[index] = self._coe.object_description(index).name
            except SdoAbort:
                self._objects[index] = ""
        return self._objects[index]

    def _describe(self, index: int, subindex: int) -> tuple[str, int]:
        """(name, data type) from SDO information; a subindex of an ARRAY or RECORD is named
        ``"<object> <entry>"``."""
        if self._coe is None:
            return "", 0
        try:
            described = self._coe.entry_description(index, subindex, value_info=ValueInfo(0))
        except SdoAbort:
            return "", 0
        name = described.name if subindex == 0 else f"{self._object_name(index)} {described.name}".strip()
        return name, int(described.data_type)



def _read_list(coe: CoEClient, index: int, item: struct.Struct, data_type: DataType,
               complete_access: bool) -> list[int]:
    """SI0 and the entries 1..SI0 of an assignment or mapping object: with complete access when
    asked (falling back to subindex by subindex when the slave refuses it), else one upload
    per subindex. An object that does not exist raises its :class:`SdoAbort`."""
    if complete_access:
        try:
            data = coe.upload(index, 0, complete_access=True)
        except SdoAbort as abort:
            if abort.code == SdoAbortCode.OBJECT_DOES_NOT_EXIST:
                raise
        else:
            if not data:
                raise ProtocolError(f"complete access upload of 0x{index:04X}", "no data")
            count = data[0]
            end = _CA_COUNT_SIZE + count * item.size
            if len(data) < end:
                raise ProtocolError(f"complete access upload of 0x{index:04X}",
                                    f"SI0 = {count} needs {end} octets, got {len(data)}", len(data))
            return [item.unpack_from(data, offset)[0] for offset in range(_CA_COUNT_SIZE, end, item.size)]
    count = coe.read(index, 0, DataType.UNSIGNED8)
    return [coe.read(index, subindex, data_type) for subindex in range(1, count + 1)]


def read_pdo_mapping(slave: SlaveInfo, coe: CoEClient) -> SlavePdoMapping:
    """The assignment and mapping of ``slave`` read over CoE (the slave must be in PRE-OP or
    above), for every process data sync manager of its SII; a sync manager without assignment
    object keeps the SII's PDOs, a PDO without mapping object the SII's entries.

    :raises SdoAbort: the slave refused an upload (other than a missing object as above).
    :raises ProtocolError: an assigned PDO has neither a mapping object nor an SII description,
        or a complete access reply is too short.
    """
    complete_access = CoeDetails.ENABLE_SDO_COMPLETE_ACCESS in _coe_details(slave)
    names = _EntryNames(slave, coe)
    sii = sii_pdo_mapping(slave)
    sii_sms = {sm.sync_manager: sm for sm in sii.sync_managers}
    sii_pdos = {pdo.index: pdo for sm in sii.sync_managers for pdo in sm.pdos}
    sii_pdos.update({pdo.index: _sii_pdo(slave, pdo) for pdo in slave.rx_pdos + slave.tx_pdos
                     if pdo.index not in sii_pdos})
    result = []
    for n, direction in sorted(_process_data_sync_managers(slave).items()):
        try:
            indices = _read_list(coe, PDO_ASSIGNMENT_BASE + n, _U16, DataType.UNSIGNED16, complete_access)
        except SdoAbort as abort:
            if abort.code != SdoAbortCode.OBJECT_DOES_NOT_EXIST:
                raise
            result.append(sii_sms.get(n, SyncManagerPdos(n, direction, (), MappingSource.SII)))
            continue
        pdos = tuple(_read_pdo(slave, coe, index, names, sii_pdos, complete_access) for index in indices)
        result.append(SyncManagerPdos(n, direction, pdos, MappingSource.COE))
    for n, sm in sii_sms.items():  # SII PDOs on a sync manager the SyncM category does not type
        if all(found.sync_manager != n for found in result):
            result.append(sm)
    return SlavePdoMapping(slave.position, slave.describe(), tuple(sorted(result, key=lambda sm: sm.sync_manager)))


def _read_pdo(slave: SlaveInfo, coe: CoEClient, index: int, names: _EntryNames, sii_pdos: Mapping[int, Pdo],
              complete_access: bool) -> Pdo:
    try:
        values = _read_list(coe, index, _U32, DataType.UNSIGNED32, complete_access)
    except SdoAbort as abort:
        if abort.code != SdoAbortCode.OBJECT_DOES_NOT_EXIST:
            raise
        if index in sii_pdos:
            return sii_pdos[index]
        raise ProtocolError(f"PDO mapping of slave {slave.describe()}", f"PDO 0x{index:04X} is assigned but has "
                            "neither a mapping object nor an SII entry") from None
    return Pdo(index, tuple(names.entry(value) for value in values), names.pdo(index))


def write_pdo_configuration(slave: SlaveInfo, coe: CoEClient, configs: Sequence[SyncManagerConfig]) -> None:
    """Write the assignments (and, where given, mappings) of ``configs`` in PRE-OP, each sync
    manager in the ETG.1000.6 / CiA 301 order: assignment SI0 = 0; per remapped PDO mapping
    SI0 = 0, its entries, SI0 = n; the assignment entries; assignment SI0 = k. Everything is
    checked before the first write.

    :raises ValueError: a configured sync manager is not a process data sync manager of the
        slave's SII, or a PDO index is not one of its direction.
    :raises SdoAbort: the slave refused a write (it names the object).
    """
    directions = _process_data_sync_managers(slave)
    for config in configs:
        direction = directions.get(config.sync_manager)
        if direction is None:
            raise ValueError(f"slave {slave.describe()}: SM{config.sync_manager} is no process data sync manager "
                             f"(those are {', '.join(f'SM{n}' for n in sorted(directions)) or 'none'})")
        for pdo in config.pdos:
            if pdo.index not in direction.pdo_range:
                raise ValueError(f"slave {slave.describe()}: PDO 0x{pdo.index:04X} cannot carry {direction.value} "
                                 f"of SM{config.sync_manager} (0x{direction.pdo_range.start:04X}-"
                                 f"0x{direction.pdo_range.stop - 1:04X})")
    for config in configs:
        assignment = PDO_ASSIGNMENT_BASE + config.sync_manager
        coe.write(assignment, 0, 0, DataType.UNSIGNED8)
        for pdo in config.pdos:
            if pdo.entries is None:
                continue
            coe.write(pdo.index, 0, 0, DataType.UNSIGNED8)
            for subindex, entry in enumerate(pdo.entries, start=1):
                coe.write(pdo.index, subindex, entry.mapping_value, DataType.UNSIGNED32)
            coe.write(pdo.index, 0, len(pdo.entries), DataType.UNSIGNED8)
        for subindex, pdo in enumerate(config.pdos, start=1):
            coe.write(assignment, subindex, pdo.index, DataType.UNSIGNED16)
        coe.write(assignment, 0, len(config.pdos), DataType.UNSIGNED8)


def _apply_configuration(slave: SlaveInfo, mapping: SlavePdoMapping,
                         configs: Sequence[SyncManagerConfig]) -> SlavePdoMapping:
    """``mapping`` (read back after writing ``configs``) checked against them, with the
    configured sync managers marked as such and the configuration's entry names applied."""
    wanted = {config.sync_manager: config for config in configs}
    sms = []
    for sm in mapping.sync_managers:
        config = wanted.get(sm.sync_manager)
        if config is None:
            sms.append(sm)
            continue
        got = [pdo.index for pdo in sm.pdos]
        if got != [pdo.index for pdo in config.pdos]:
            raise ProtocolError(f"PDO configuration of slave {slave.describe()}",
                                f"SM{sm.sync_manager} reads back PDOs {_hex_list(got)} after "
                                f"{_hex_list([pdo.index for pdo in config.pdos])} were assigned")
        pdos = []
        for pdo, configured in zip(sm.pdos, config.pdos):
            if configured.entries is not None:
                read = [entry.mapping_value for entry in pdo.entries]
                if read != [entry.mapping_value for entry in configured.entries]:
                    raise ProtocolError(f"PDO configuration of slave {slave.describe()}",
                                        f"PDO 0x{pdo.index:04X} reads back entries {_hex_list(read, 8)} after "
                                        f"{_hex_list([e.mapping_value for e in configured.entries], 8)} were mapped")
                pdo = replace(pdo, entries=tuple(
                    replace(entry, name=chosen.name or entry.name, data_type=chosen.data_type or entry.data_type)
                    for entry, chosen in zip(pdo.entries, configured.entries)))
            pdos.append(pdo)
        sms.append(replace(sm, pdos=tuple(pdos), source=MappingSource.CONFIGURATION))
    return replace(mapping, sync_managers=tuple(sms))


def _hex_list(values: Sequence[int], digits: int = 4) -> str:
    return "[" + ", ".join(f"0x{value:0{digits}X}" for value in values) + "]"


def derive_pdo_mapping(slave: SlaveInfo, coe: Optional[CoEClient],
                       configs: Optional[Sequence[SyncManagerConfig]] = None) -> SlavePdoMapping:
    """The slave's mapping: ``configs`` written and read back when given; else read over CoE
    when the slave has CoE and ``coe`` is given; else from the SII.

    :raises ValueError: ``configs`` for a slave without CoE (or without a client), or invalid.
    """
    if configs:
        if coe is None or not slave.has_coe:
            raise ValueError(f"slave {slave.describe()}: a PDO configuration needs CoE, and the slave "
                             f"{'has no CoE' if not slave.has_coe else 'was given no CoE client'}")
        write_pdo_configuration(slave, coe, configs)
        return _apply_configuration(slave, read_pdo_mapping(slave, coe), configs)
    if coe is not None and slave.has_coe:
        return read_pdo_mapping(slave, coe)
    return sii_pdo_mapping(slave)


# ------------------------------------------------------------------------------- layout
@dataclass(frozen=True, slots=True)
class SlaveProcessData:
    """Where one slave's process data lives and how its ESC is configured for it.

    :ivar position: the slave's position.
    :ivar station_address: its configured station address (the registers are written there).
    :ivar name: how messages name it (``"position 3 (EL3102 ...)"``).
    :ivar mapping: its PDO assignment and mapping.
    :ivar frame: the frame (:class:`FrameLayout` index) carrying its data; None without data.
    :ivar output_offset: first octet of its outputs in the output image.
    :ivar output_bytes: octets of its outputs.
    :ivar input_offset: first octet of its inputs in the input image.
    :ivar input_bytes: octets of its inputs.
    :ivar output_logical: logical address of its first output octet (where they would start
        when it has none).
    :ivar input_logical: logical address of its first input octet (likewise).
    :ivar sync_managers: (index, channel) of every process data sync manager, as written.
    :ivar fmmus: (index, entry) of every FMMU it uses, as written.
    """

    position: int
    station_address: int
    name: str
    mapping: SlavePdoMapping
    frame: Optional[int]
    output_offset: int
    output_bytes: int
    input_offset: int
    input_bytes: int
    output_logical: int
    input_logical: int
    sync_managers: tuple[tuple[int, SyncManagerChannel], ...]
    fmmus: tuple[tuple[int, FmmuEntry], ...]

    @property
    def expected_wkc(self) -> int:
        """What the slave adds to its frame's LRW working counter: 2 for outputs, 1 for inputs."""
        return 2 * bool(self.output_bytes) + bool(self.input_bytes)


@dataclass(frozen=True, slots=True)
class FrameLayout:
    """One cyclic frame's LRW: a logical range holding the outputs of ``positions``, then their
    inputs.

    :ivar index: the frame's number (0 first; the first frame also carries the DC datagram).
    :ivar logical_start: the LRW's logical address.
    :ivar output_offset: first octet of these outputs in the output image.
    :ivar output_bytes: octets of outputs (at the start of the LRW data).
    :ivar input_offset: first octet of these inputs in the input image.
    :ivar input_bytes: octets of inputs (after the outputs in the LRW data).
    :ivar positions: the slaves whose data it carries.
    :ivar expected_wkc: the LRW's expected working counter.
    """

    index: int
    logical_start: int
    output_offset: int
    output_bytes: int
    input_offset: int
    input_bytes: int
    positions: tuple[int, ...]
    expected_wkc: int

    @property
    def length(self) -> int:
        """Octets of the LRW's data."""
        return self.output_bytes + self.input_bytes


@dataclass(frozen=True, slots=True)
class ProcessDataLayout:
    """The process data of a bus: per slave (in the order given to :func:`plan_process_data`),
    per frame, and the sizes of the two images."""

    slaves: tuple[SlaveProcessData, ...]
    frames: tuple[FrameLayout, ...]
    output_bytes: int
    input_bytes: int
    logical_start: int = 0

    def slave(self, position: int) -> SlaveProcessData:
        """The slave at ``position``.

        :raises LookupError: no slave of the layout has it.
        """
        for slave in self.slaves:
            if slave.position == position:
                return slave
        raise LookupError(f"no slave at position {position} in the process data layout")

    @property
    def expected_wkc(self) -> int:
        """The sum of the frames' expected working counters."""
        return sum(frame.expected_wkc for frame in self.frames)


def _fmmu_indices(slave: SlaveInfo, needed: Sequence[Direction]) -> list[int]:
    """An FMMU for each direction in ``needed``: the next one the SII FMMU category means for
    it, else the next one it leaves free, else any left."""
    usages = slave.fmmu_usages
    count = slave.esc.fmmu_count
    described = (FmmuUsage.OUTPUTS, FmmuUsage.INPUTS, FmmuUsage.SYNC_MANAGER_STATUS)
    taken: list[int] = []
    for direction in needed:
        want = FmmuUsage.OUTPUTS if direction is Direction.OUTPUTS else FmmuUsage.INPUTS
        free = [i for i in range(count) if i not in taken]
        choice = next((i for i in free if i < len(usages) and usages[i] == want), None)
        if choice is None:
            choice = next((i for i in free if i >= len(usages) or usages[i] not in described), None)
        if choice is None:
            choice = next(iter(free), None)
        if choice is None:
            raise ValueError(f"slave {slave.describe()}: needs {len(needed)} FMMUs for its process data, "
                             f"its ESC has {count}")
        taken.append(choice)
    return taken


def _stop_bit(slave: SlaveInfo, bits: int) -> int:
    """The logical stop bit of an FMMU mapping ``bits`` bits (see the module docstring)."""
    if slave.esc.features.fmmu_bit_oriented and bits % _BITS_PER_OCTET:
        return (bits - 1) % _BITS_PER_OCTET
    return _LAST_BIT


_Channels = tuple[tuple[int, SyncManagerChannel], ...]
_Fmmus = tuple[tuple[int, FmmuEntry], ...]


def _registers(slave: SlaveInfo, mapping: SlavePdoMapping, output_logical: int,
               input_logical: int) -> tuple[_Channels, _Fmmus]:
    """The process data sync managers and FMMUs of ``slave`` (see the module docstring)."""
    channels = []
    carrying = []
    for sm in mapping.sync_managers:
        sii = slave.sync_managers[sm.sync_manager]
        length = sm.byte_length
        enable = bool(length) and SyncManagerEnable.VIRTUAL not in SyncManagerEnable(sii.enable)
        channels.append((sm.sync_manager, SyncManagerChannel(
            sii.physical_start_address, length, SmControl.decode(bytes((sii.control,))),
            activate=SmActivate.ENABLE if enable else SmActivate(0))))
        if length:
            carrying.append((sm, sii))
    ordered = [pair for direction in Direction for pair in carrying if pair[0].direction is direction]
    indices = _fmmu_indices(slave, [sm.direction for sm, _ in ordered])
    fmmus = []
    logical = {Direction.OUTPUTS: output_logical, Direction.INPUTS: input_logical}
    for index, (sm, sii) in zip(indices, ordered):
        outputs = sm.direction is Direction.OUTPUTS
        fmmus.append((index, FmmuEntry(logical[sm.direction], sm.byte_length, sii.physical_start_address,
                                       logical_stop_bit=_stop_bit(slave, sm.bit_length),
                                       read=not outputs, write=outputs, active=True)))
        logical[sm.direction] += sm.byte_length
    return tuple(channels), tuple(fmmus)


def plan_process_data(slaves: Sequence[SlaveInfo], mappings: Sequence[SlavePdoMapping], *, logical_start: int = 0,
                      frame_capacity: int = MAX_DATAGRAM_DATA,
                      first_frame_reserve: int = DC_DATAGRAM_SIZE) -> ProcessDataLayout:
    """Lay out the process data of ``slaves`` (with ``mappings``, one each, in the same order)
    as the module docstring describes. Pure: nothing is written.

    :param frame_capacity: octets of LRW data one frame carries.
    :param first_frame_reserve: octets the first frame keeps for the DC datagram.
    :raises ValueError: a slave's data does not fit one frame, or its ESC has too few FMMUs.
    """
    if len(slaves) != len(mappings):
        raise ValueError(f"{len(slaves)} slaves but {len(mappings)} mappings")
    groups: list[list[int]] = []
    used = 0

    def capacity(frame: int) -> int:
        return frame_capacity - (first_frame_reserve if frame == 0 else 0)

    for i, mapping in enumerate(mappings):
        need = mapping.byte_length(Direction.OUTPUTS) + mapping.byte_length(Direction.INPUTS)
        if not need:
            continue
        if not groups or used + need > capacity(len(groups) - 1):
            groups.append([])
            used = 0
        if need > capacity(len(groups) - 1):
            raise ValueError(f"slave {slaves[i].describe()}: {need} octets of process data do not fit the "
                             f"{capacity(len(groups) - 1)} octets of one frame's LRW")
        groups[-1].append(i)
        used += need
    frame_of = {i: k for k, group in enumerate(groups) for i in group}
    out_offsets, in_offsets = [], []
    out_total = in_total = 0
    for mapping in mappings:
        out_offsets.append(out_total)
        in_offsets.append(in_total)
        out_total += mapping.byte_length(Direction.OUTPUTS)
        in_total += mapping.byte_length(Direction.INPUTS)
    frames = []
    logical = logical_start
    for k, group in enumerate(groups):
        outputs = sum(mappings[i].byte_length(Direction.OUTPUTS) for i in group)
        inputs = sum(mappings[i].byte_length(Direction.INPUTS) for i in group)
        wkc = sum(2 * bool(mappings[i].byte_length(Direction.OUTPUTS)) + bool(mappings[i].byte_length(Direction.INPUTS))
                  for i in group)
        frames.append(FrameLayout(k, logical, out_offsets[group[0]], outputs, in_offsets[group[0]], inputs,
                                  tuple(slaves[i].position for i in group), wkc))
        logical += outputs + inputs
    described = []
    for i, (slave, mapping) in enumerate(zip(slaves, mappings)):
        frame = frames[frame_of[i]] if i in frame_of else None
        output_logical = input_logical = 0
        if frame is not None:
            output_logical = frame.logical_start + out_offsets[i] - frame.output_offset
            input_logical = frame.logical_start + frame.output_bytes + in_offsets[i] - frame.input_offset
        channels, fmmus = _registers(slave, mapping, output_logical, input_logical)
        described.append(SlaveProcessData(
            slave.position, slave.station_address, slave.describe(), mapping, None if frame is None else frame.index,
            out_offsets[i], mapping.byte_length(Direction.OUTPUTS), in_offsets[i],
            mapping.byte_length(Direction.INPUTS), output_logical, input_logical, channels, fmmus))
    return ProcessDataLayout(tuple(described), tuple(frames), out_total, in_total, logical_start)


def write_process_data_registers(bus: Bus, layout: ProcessDataLayout) -> None:
    """Write every slave's process data sync managers and FMMUs (one FPWR each, batched into
    frames). Do it in PRE-OP, before requesting SAFE-OP.

    :raises WorkingCounterError: a slave did not take a write (names the slave and register).
    """
    requests: list[Request] = []
    owners: list[str] = []
    for slave in layout.slaves:
        for index, channel in slave.sync_managers:
            requests.append(Request(Command.FPWR, station_address(slave.station_address, sync_manager_address(index)),
                                    channel.encode()))
            owners.append(f"SM{index} of slave {slave.name}")
        for index, fmmu in slave.fmmus:
            requests.append(Request(Command.FPWR, station_address(slave.station_address, fmmu_address(index)),
                                    fmmu.encode()))
            owners.append(f"FMMU{index} of slave {slave.name}")
    if not requests:
        return
    for request, reply, owner in zip(requests, bus.exchange(requests), owners):
        if reply.wkc != 1:
            raise WorkingCounterError(f"{request.describe()} ({owner})", 1, reply.wkc)


def configure_process_data(bus: Bus, slaves: Sequence[SlaveInfo], coe_clients: Mapping[int, CoEClient],
                           configs: Optional[Mapping[int, Sequence[SyncManagerConfig]]] = None, *,
                           logical_start: int = 0, first_frame_reserve: int = DC_DATAGRAM_SIZE) -> ProcessDataLayout:
    """Derive every slave's PDO mapping (:func:`derive_pdo_mapping`: ``configs`` by position
    written first, else CoE through ``coe_clients`` by position, else the SII), lay out the
    process data (:func:`plan_process_data`) and write the sync managers and FMMUs. The slaves
    must be in PRE-OP; request SAFE-OP afterwards. ``first_frame_reserve``: octets the first
    frame keeps for DC datagrams (the FRMW; with bus-follows-master also the FPWR before it).

    :raises ValueError: ``configs`` names a position not in ``slaves``, or is invalid.
    """
    configs = dict(configs or {})
    unknown = sorted(set(configs) - {slave.position for slave in slaves})
    if unknown:
        raise ValueError(f"PDO configuration for positions {unknown}, which are not among the slaves")
    mappings = [derive_pdo_mapping(slave, coe_clients.get(slave.position), configs.get(slave.position))
                for slave in slaves]
    layout = plan_process_data(slaves, mappings, logical_start=logical_start, first_frame_reserve=first_frame_reserve)
    write_process_data_registers(bus, layout)
    return layout
