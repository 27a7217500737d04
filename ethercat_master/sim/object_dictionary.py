"""The object dictionary of a simulated slave: objects, entries, access rules and PDO layout.

Written from CiA 301 (object dictionary, PDO mapping and assignment procedure, SDO abort
codes), ETG.1000.6 5.6 (CoE: object access bits, complete access, SDO information lists),
ETG.1020 (0x1C32/0x1C33 synchronisation parameters) and checked against the two reference
slave stacks: the Beckhoff SSC (``objdef.c`` ``OBJ_Read``/``OBJ_Write``/``OBJ_GetObjectLength``)
and SOES (``esc_coe.c``). This module is pure: no I/O, no threads.

Model
    An :class:`ObjectDictionary` holds :class:`OdObject` (object code VAR, ARRAY or RECORD),
    each with :class:`OdEntry` values kept as Python values (``int``, ``float``, ``bool``,
    ``str``, ``bytes``, :class:`~ethercat_master.protocol.coe.TimeOfDay`) and converted with
    :func:`~ethercat_master.protocol.coe.encode_value`/``decode_value``. Subindex 0 of an ARRAY
    or RECORD is the UNSIGNED8 number of entries. VISIBLE_STRING, OCTET_STRING and
    UNICODE_STRING entries have a capacity (``bit_length``) and hold any length up to it;
    DOMAIN entries with ``bit_length`` 0 are unbounded.

Access rights
    Every master access (``sdo_*`` methods) is judged against the current AL state, read from
    the ``al_state`` callable the ESC provides. INIT and BOOT are judged like PRE-OP (the
    mailbox layer serves no CoE there). Refusals raise :class:`~ethercat_master.errors.SdoAbort`
    with the code the reference stacks send:

    ===============================================  ==========
    object missing                                   0x06020000
    subindex missing, or above SI0 of a dynamic      0x06090011
    object (one whose SI0 is writable, SSC rule)
    read of an entry with no read right at all       0x06010001
    write of an entry with no write right at all     0x06010002
    the right exists, but not in this AL state       0x08000022
    fixed-size value too short / too long            0x06070013 / 0x06070012
    string longer than its capacity                  0x06070012
    value above maximum / below minimum              0x06090031 / 0x06090032
    value outside its type (BITn, BOOLEAN > 1, ...)  0x06090030
    complete access to a VAR / with subindex > 1     0x06010000
    complete access to an object of variable length  0x06010004
    ===============================================  ==========

PDO mapping and assignment (CiA 301 7.5.2.35/36 procedure; ETG.1000.6 SI0 rule)
    Objects 0x1600-0x17FF (RxPDO mapping), 0x1A00-0x1BFF (TxPDO mapping) and 0x1C10-0x1C2F
    (PDO assignment of SM 0..31) follow the procedure: write SI0 = 0, change the entries,
    write SI0 = n. Their access rights (normally written in PRE-OP only) come from the entries.

    * an entry written while SI0 is not 0: 0x06010003 (strict: also when the value is equal);
    * a mapping entry naming a missing object, an object not mappable in that direction, or
      with a bit length other than the object's: 0x06040041 (index 0, subindex 0 is a gap);
    * an assignment entry that is not an existing mapping object of the sync manager's
      direction (0x1C00 type, else SM2 outputs / SM3 inputs), or assigned twice: 0x06090030;
    * SI0 above the number of entries: 0x06090031;
    * SI0 = n whose PDO (or the sync manager's total) exceeds ``process_data_limit``
      octets: 0x06040042.

    Complete access from subindex 0 replaces SI0 and the entries in one step and is checked as
    a whole. :meth:`ObjectDictionary.sync_manager_pdos` computes the resulting process data
    layout of a sync manager from its assignment and mapping objects.

Complete access layout (SSC ``OBJ_GetObjectLength``, SOES ``complete_access_subindex_loop``)
    Starting at subindex 0, SI0 is sent as 16 bits (UNSIGNED8 and a pad octet); then the
    entries 1..SI0 that exist: entries whose bit length is a multiple of 8 start on an octet
    boundary, shorter entries (BOOLEAN, BITn) are packed bit by bit. Starting at subindex 1
    leaves SI0 out. An upload fills entries not readable in this state with zeros; a download
    ignores entries not writable in this state (both stacks), but is refused when nothing in it
    is writable. The download length must match the size given by the new SI0 exactly
    (ETG.1020 12.2).

Value changes
    :meth:`ObjectDictionary.subscribe` registers a callback for every write of an entry, by the
    master (:attr:`ChangeSource.SDO`) or by the device model itself through
    :meth:`ObjectDictionary.set` (:attr:`ChangeSource.LOCAL`). An :attr:`OdEntry.validator` can
    veto master writes with an abort code (0x1C32/0x1C33 SI1 uses one to accept only supported
    synchronisation modes, as the SSC's ``CheckSyncTypeValue`` does).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from ..errors import ProtocolError, SdoAbort
from ..protocol.al_status import ALState, StateValue
from ..protocol.coe import (
    DATA_TYPE_BIT_SIZES,
    DataType,
    ObjectAccess,
    ObjectCode,
    OdListType,
    decode_value,
    encode_value,
)
from ..protocol.sdo_abort import SdoAbortCode, sdo_abort_text
from ..protocol.sii import SyncManagerType

__all__ = [
    "READ_ONLY",
    "READ_WRITE",
    "READ_WRITE_PREOP",
    "WRITE_ONLY",
    "RXPDO_MAPPING_INDICES",
    "TXPDO_MAPPING_INDICES",
    "PDO_ASSIGN_INDICES",
    "MANUFACTURER_INDICES",
    "PROFILE_INDICES",
    "DEFAULT_PROCESS_DATA_LIMIT",
    "COUNT_SUBINDEX",
    "COMPLETE_ACCESS_COUNT_BITS",
    "WriteCheck",
    "ChangeSource",
    "ValueChange",
    "ValueListener",
    "OdEntry",
    "OdObject",
    "MappedEntry",
    "PdoLayout",
    "SyncManagerPdos",
    "ObjectDictionary",
    "var",
    "array",
    "record",
    "pdo_mapping_value",
    "split_pdo_mapping_value",
    "device_type",
    "error_register",
    "device_name",
    "hardware_version",
    "software_version",
    "identity",
    "pdo_mapping",
    "sync_manager_types",
    "pdo_assignment",
    "SyncMode",
    "SyncModeSupport",
    "sync_manager_parameter",
]

# ----------------------------------------------------------------------------- access rights
_READ_ANY = ObjectAccess.READ_PREOP | ObjectAccess.READ_SAFEOP | ObjectAccess.READ_OP
_WRITE_ANY = ObjectAccess.WRITE_PREOP | ObjectAccess.WRITE_SAFEOP | ObjectAccess.WRITE_OP
#: Readable in PRE-OP, SAFE-OP and OP.
READ_ONLY = _READ_ANY
#: Readable and writable in PRE-OP, SAFE-OP and OP.
READ_WRITE = _READ_ANY | _WRITE_ANY
#: Readable in every state, writable in PRE-OP only (PDO mapping and assignment objects).
READ_WRITE_PREOP = _READ_ANY | ObjectAccess.WRITE_PREOP
#: Writable in every state, never readable.
WRITE_ONLY = _WRITE_ANY

#: (read bit, write bit) per AL state; INIT and BOOT are judged like PRE-OP.
_STATE_RIGHTS: dict[int, tuple[ObjectAccess, ObjectAccess]] = {
    ALState.PREOP: (ObjectAccess.READ_PREOP, ObjectAccess.WRITE_PREOP),
    ALState.SAFEOP: (ObjectAccess.READ_SAFEOP, ObjectAccess.WRITE_SAFEOP),
    ALState.OP: (ObjectAccess.READ_OP, ObjectAccess.WRITE_OP),
}
_DEFAULT_RIGHTS = _STATE_RIGHTS[ALState.PREOP]

# ------------------------------------------------------------------------------ index areas
#: RxPDO mapping objects (ETG.1000.6 CoE communication area).
RXPDO_MAPPING_INDICES = range(0x1600, 0x1800)
#: TxPDO mapping objects.
TXPDO_MAPPING_INDICES = range(0x1A00, 0x1C00)
#: Sync manager PDO assignment objects: 0x1C10 + sync manager number.
PDO_ASSIGN_INDICES = range(0x1C10, 0x1C30)
#: Manufacturer-specific area.
MANUFACTURER_INDICES = range(0x2000, 0x6000)
#: Device profile area (e.g. CiA 402 objects).
PROFILE_INDICES = range(0x6000, 0xA000)
_SM_COMMUNICATION_TYPE_INDEX = 0x1C00
_SM_PARAMETER_BASE = 0x1C30
_OUTPUT_SYNC_MANAGER = 2
_INPUT_SYNC_MANAGER = 3
#: Simulated limit of one PDO and of the process data of one sync manager, in octets.
DEFAULT_PROCESS_DATA_LIMIT = 1024

_MAX_INDEX = 0xFFFF
_MAX_SUBINDEX = 0xFF
_MAX_UNIT_TYPE = 0xFFFF
#: The entry description's bit length field is 16 bits.
_MAX_BIT_LENGTH = 0xFFFF
_BITS_PER_OCTET = 8
#: Subindex 0 of an ARRAY or RECORD: the number of entries.
COUNT_SUBINDEX = 0
#: Subindex 0 in a complete access: UNSIGNED8 padded to 16 bits.
COMPLETE_ACCESS_COUNT_BITS = 16
#: PDO mapping entry: index << 16 | subindex << 8 | bit length.
_MAPPING_INDEX_SHIFT = 16
_MAPPING_SUBINDEX_SHIFT = 8
_MAPPING_FIELD_MASK = 0xFF
_MAPPING_INDEX_MASK = 0xFFFF

#: Types whose values have a variable length up to the entry's capacity.
_VARIABLE_TYPES = frozenset(
    {DataType.VISIBLE_STRING, DataType.OCTET_STRING, DataType.UNICODE_STRING, DataType.DOMAIN}
)
#: Fixed-size types without an order: minimum and maximum make no sense for them.
_UNORDERED_TYPES = frozenset(
    {DataType.BOOLEAN, DataType.TIME_OF_DAY, DataType.TIME_DIFFERENCE, DataType.GUID}
)

#: ``check(value)`` of a master write: an SDO abort code to refuse it, or None to accept.
WriteCheck = Callable[[Any], Optional[int]]


def _octets(bits: int) -> int:
    return (bits + _BITS_PER_OCTET - 1) // _BITS_PER_OCTET


def _abort(index: int, subindex: int, code: int) -> SdoAbort:
    return SdoAbort(index, subindex, code, sdo_abort_text(code))


class ChangeSource(enum.Enum):
    """Who wrote an entry."""

    #: The master, by SDO download (single entry or complete access).
    SDO = "SDO download"
    #: The device model (the slave's application) through :meth:`ObjectDictionary.set`.
    LOCAL = "local application"


@dataclass(frozen=True, slots=True)
class ValueChange:
    """One write of an entry, as told to subscribers (every write, even of an equal value)."""

    index: int
    subindex: int
    old: Any
    new: Any
    source: ChangeSource


#: Callback told about every write of the entry it subscribed to.
ValueListener = Callable[[ValueChange], None]


# ------------------------------------------------------------------------------------ entry
@dataclass(eq=False, slots=True)
class OdEntry:
    """One subindex of an object: description, access rights and current value.

    ``bit_length`` defaults to the size of fixed-size types (and must equal it); strings need it
    as their capacity (a multiple of 8); DOMAIN defaults to 0, meaning unbounded. ``minimum``
    and ``maximum`` bound master writes of ordered types; ``unit`` is the ETG unit type sent in
    the entry description. ``validator`` may refuse master writes with an abort code.
    """

    subindex: int
    name: str
    data_type: DataType | int
    access: ObjectAccess
    value: Any
    bit_length: Optional[int] = None
    default: Any = None
    minimum: Any = None
    maximum: Any = None
    unit: Optional[int] = None
    validator: Optional[WriteCheck] = None

    def __post_init__(self) -> None:
        if not 0 <= self.subindex <= _MAX_SUBINDEX:
            raise ValueError(f"subindex {self.subindex} out of range 0..{_MAX_SUBINDEX}")
        fixed = DATA_TYPE_BIT_SIZES.get(self.data_type)
        if fixed is not None:
            if self.bit_length is None:
                self.bit_length = fixed
            elif self.bit_length != fixed:
                raise ValueError(
                    f"entry {self.name!r}: {DataType(self.data_type).name} has {fixed} bits, "
                    f"not {self.bit_length}"
                )
        elif self.data_type in _VARIABLE_TYPES:
            if self.bit_length is None:
                if self.data_type != DataType.DOMAIN:
                    raise ValueError(
                        f"entry {self.name!r}: a string needs its capacity in bit_length"
                    )
                self.bit_length = 0
            if not 0 <= self.bit_length <= _MAX_BIT_LENGTH or self.bit_length % _BITS_PER_OCTET:
                raise ValueError(
                    f"entry {self.name!r}: capacity {self.bit_length} bits is no octet count "
                    f"up to {_MAX_BIT_LENGTH} bits"
                )
        else:
            raise ValueError(
                f"entry {self.name!r}: data type 0x{self.data_type:04X} is no basic type"
            )
        if (self.minimum is not None or self.maximum is not None) and (
            self.data_type in _UNORDERED_TYPES or self.data_type in _VARIABLE_TYPES
        ):
            raise ValueError(
                f"entry {self.name!r}: {DataType(self.data_type).name} has no minimum or maximum"
            )
        if self.unit is not None and not 0 <= self.unit <= _MAX_UNIT_TYPE:
            raise ValueError(f"entry {self.name!r}: unit type {self.unit} out of range")
        self.encode(self.value)
        for bound in (self.default, self.minimum, self.maximum):
            if bound is not None:
                self.encode(bound)

    @property
    def byte_size(self) -> int:
        """Octets of a fixed-size value, or the capacity of a variable one (0: unbounded)."""
        return _octets(self.bit_length or 0)

    @property
    def variable_length(self) -> bool:
        """True for strings and DOMAIN: the value may be shorter than :attr:`byte_size`."""
        return self.data_type in _VARIABLE_TYPES

    def encode(self, value: Any) -> bytes:
        """The octets of ``value`` in this entry's type; :class:`ValueError` if it cannot."""
        try:
            raw = encode_value(self.data_type, value)
        except (TypeError, AttributeError) as exc:
            raise ValueError(
                f"entry {self.name!r}: {value!r} is no {DataType(self.data_type).name}: {exc}"
            ) from None
        if self.variable_length and self.byte_size and len(raw) > self.byte_size:
            raise ValueError(
                f"entry {self.name!r}: {len(raw)} octets exceed the capacity {self.byte_size}"
            )
        return raw

    def encoded(self) -> bytes:
        """The octets of the current value (a string as long as it is)."""
        return self.encode(self.value)

    def padded(self, value: Any) -> bytes:
        """The octets of ``value`` zero-padded to :attr:`byte_size` (entry description values)."""
        return self.encode(value).ljust(self.byte_size, b"\0")

    def readable(self, rights: tuple[ObjectAccess, ObjectAccess]) -> bool:
        """Whether the entry may be read with ``rights`` (read bit, write bit) of an AL state."""
        return bool(self.access & rights[0])

    def writable(self, rights: tuple[ObjectAccess, ObjectAccess]) -> bool:
        """Whether the entry may be written with ``rights`` of an AL state."""
        return bool(self.access & rights[1])


def _count_entry(count: int, access: ObjectAccess) -> OdEntry:
    return OdEntry(COUNT_SUBINDEX, "SubIndex 000", DataType.UNSIGNED8, access, count)


# ----------------------------------------------------------------------------------- object
@dataclass(eq=False, slots=True)
class OdObject:
    """One object: index, name, object code, data type and its entries by subindex.

    A VAR has exactly subindex 0. An ARRAY or RECORD has subindex 0 (UNSIGNED8, the number of
    entries) and entries from 1; the entries of an ARRAY share one data type, which is the
    object's. Build objects with :func:`var`, :func:`array` and :func:`record`.
    """

    index: int
    name: str
    object_code: ObjectCode
    data_type: DataType | int
    entries: dict[int, OdEntry]

    def __post_init__(self) -> None:
        if not 0 <= self.index <= _MAX_INDEX:
            raise ValueError(f"object index 0x{self.index:X} out of range")
        if self.object_code not in (ObjectCode.VAR, ObjectCode.ARRAY, ObjectCode.RECORD):
            raise ValueError(
                f"object 0x{self.index:04X}: object code {self.object_code} "
                "is not VAR, ARRAY or RECORD"
            )
        self.entries = dict(sorted(self.entries.items()))
        for subindex, entry in self.entries.items():
            if entry.subindex != subindex:
                raise ValueError(
                    f"object 0x{self.index:04X}: entry {entry.name!r} "
                    f"filed under subindex {subindex}"
                )
        if COUNT_SUBINDEX not in self.entries:
            raise ValueError(f"object 0x{self.index:04X} has no subindex 0")
        if self.object_code == ObjectCode.VAR:
            if len(self.entries) != 1:
                raise ValueError(f"VAR 0x{self.index:04X} must have subindex 0 only")
            return
        count = self.entries[COUNT_SUBINDEX]
        if count.data_type != DataType.UNSIGNED8:
            raise ValueError(f"object 0x{self.index:04X}: subindex 0 must be UNSIGNED8")
        if count.value > self.max_subindex:
            raise ValueError(
                f"object 0x{self.index:04X}: SI0 {count.value} above the last subindex"
            )
        if self.object_code == ObjectCode.ARRAY:
            types = {entry.data_type for entry in self.entries.values() if entry.subindex}
            if types - {self.data_type}:
                raise ValueError(
                    f"ARRAY 0x{self.index:04X}: entries must all be of the array's type"
                )

    @property
    def max_subindex(self) -> int:
        """The highest defined subindex (the object description's "max subindex")."""
        return next(reversed(self.entries))

    @property
    def count(self) -> int:
        """SI0 of an ARRAY or RECORD (the number of entries in use); 0 for a VAR."""
        if self.object_code == ObjectCode.VAR:
            return 0
        return self.entries[COUNT_SUBINDEX].value

    @property
    def dynamic(self) -> bool:
        """True for an ARRAY or RECORD whose SI0 may be written (PDO mapping, assignment)."""
        return self.object_code != ObjectCode.VAR and bool(
            self.entries[COUNT_SUBINDEX].access & _WRITE_ANY
        )

    @property
    def variable_length(self) -> bool:
        """True if any entry has a variable length: such objects refuse complete access."""
        return any(entry.variable_length for entry in self.entries.values())

    def entries_in_use(self, count: int) -> list[OdEntry]:
        """The defined entries 1..``count`` in subindex order."""
        return [entry for sub, entry in self.entries.items() if 1 <= sub <= count]


def var(
    index: int,
    name: str,
    data_type: DataType | int,
    value: Any,
    *,
    access: ObjectAccess = READ_ONLY,
    bit_length: Optional[int] = None,
    default: Any = None,
    minimum: Any = None,
    maximum: Any = None,
    unit: Optional[int] = None,
    validator: Optional[WriteCheck] = None,
) -> OdObject:
    """A VAR object: one value at subindex 0."""
    entry = OdEntry(
        COUNT_SUBINDEX,
        name,
        data_type,
        access,
        value,
        bit_length,
        default,
        minimum,
        maximum,
        unit,
        validator,
    )
    return OdObject(index, name, ObjectCode.VAR, data_type, {COUNT_SUBINDEX: entry})


def array(
    index: int,
    name: str,
    data_type: DataType | int,
    values: Sequence[Any],
    *,
    access: ObjectAccess = READ_ONLY,
    count_access: ObjectAccess = READ_ONLY,
    count: Optional[int] = None,
    bit_length: Optional[int] = None,
) -> OdObject:
    """An ARRAY of ``len(values)`` entries named "SubIndex 001".. with SI0 = ``count``.

    ``count`` defaults to ``len(values)``; a smaller one leaves the last entries unused (a
    PDO assignment with free slots).
    """
    entries = {
        sub: OdEntry(sub, f"SubIndex {sub:03d}", data_type, access, value, bit_length)
        for sub, value in enumerate(values, start=1)
    }
    entries[COUNT_SUBINDEX] = _count_entry(len(values) if count is None else count, count_access)
    return OdObject(index, name, ObjectCode.ARRAY, data_type, entries)


def record(
    index: int,
    name: str,
    entries: Sequence[OdEntry],
    *,
    data_type: DataType | int = DataType.RECORD,
    count_access: ObjectAccess = READ_ONLY,
    count: Optional[int] = None,
) -> OdObject:
    """A RECORD of ``entries`` (subindex 1 and up) with SI0 = ``count``.

    ``count`` defaults to the highest subindex of ``entries``.
    """
    table = {entry.subindex: entry for entry in entries}
    if len(table) != len(entries) or COUNT_SUBINDEX in table:
        raise ValueError(f"RECORD 0x{index:04X}: entries need distinct subindices from 1")
    highest = max(table, default=0)
    table[COUNT_SUBINDEX] = _count_entry(highest if count is None else count, count_access)
    return OdObject(index, name, ObjectCode.RECORD, data_type, table)


# ------------------------------------------------------------------------------ PDO layout
def pdo_mapping_value(index: int, subindex: int, bit_length: int) -> int:
    """A PDO mapping entry: ``index << 16 | subindex << 8 | bit_length`` (index 0: a gap)."""
    if not 0 <= index <= _MAX_INDEX or not 0 <= subindex <= _MAX_SUBINDEX:
        raise ValueError(f"mapped object 0x{index:X}:{subindex} out of range")
    if not 0 <= bit_length <= _MAPPING_FIELD_MASK:
        raise ValueError(f"mapped bit length {bit_length} out of range 0..255")
    return (index << _MAPPING_INDEX_SHIFT) | (subindex << _MAPPING_SUBINDEX_SHIFT) | bit_length


def split_pdo_mapping_value(value: int) -> tuple[int, int, int]:
    """(index, subindex, bit length) of a PDO mapping entry."""
    return (
        (value >> _MAPPING_INDEX_SHIFT) & _MAPPING_INDEX_MASK,
        (value >> _MAPPING_SUBINDEX_SHIFT) & _MAPPING_FIELD_MASK,
        value & _MAPPING_FIELD_MASK,
    )


@dataclass(frozen=True, slots=True)
class MappedEntry:
    """One mapped object in the process data: where it sits, in bits from the SM's start."""

    index: int
    subindex: int
    bit_length: int
    bit_offset: int

    @property
    def gap(self) -> bool:
        """True for a gap (index 0, subindex 0): bits that no object fills."""
        return self.index == 0 and self.subindex == 0


@dataclass(frozen=True, slots=True)
class PdoLayout:
    """One assigned PDO: its mapping object and the mapped entries in order."""

    index: int
    entries: tuple[MappedEntry, ...]

    @property
    def bit_length(self) -> int:
        """Bits of the PDO."""
        return sum(entry.bit_length for entry in self.entries)


@dataclass(frozen=True, slots=True)
class SyncManagerPdos:
    """The process data of one sync manager: its assigned PDOs, packed bit by bit."""

    sync_manager: int
    pdos: tuple[PdoLayout, ...]

    @property
    def bit_length(self) -> int:
        """Bits of all assigned PDOs."""
        return sum(pdo.bit_length for pdo in self.pdos)

    @property
    def byte_length(self) -> int:
        """Octets the sync manager needs (bits rounded up, as the SSC's and SOES' sizes)."""
        return _octets(self.bit_length)

    @property
    def entries(self) -> tuple[MappedEntry, ...]:
        """Every mapped entry of every PDO in order."""
        return tuple(entry for pdo in self.pdos for entry in pdo.entries)


class _PdoRole(enum.Enum):
    RX_MAPPING = "RxPDO mapping"
    TX_MAPPING = "TxPDO mapping"
    ASSIGNMENT = "PDO assignment"


def _pdo_role(index: int) -> Optional[_PdoRole]:
    if index in RXPDO_MAPPING_INDICES:
        return _PdoRole.RX_MAPPING
    if index in TXPDO_MAPPING_INDICES:
        return _PdoRole.TX_MAPPING
    if index in PDO_ASSIGN_INDICES:
        return _PdoRole.ASSIGNMENT
    return None


# --------------------------------------------------------------------- complete access bits
def _complete_layout(entries: Sequence[OdEntry], start: int) -> tuple[list[int], int]:
    """Bit positions of ``entries`` after ``start`` bits, and the end position."""
    positions = []
    position = start
    for entry in entries:
        if entry.bit_length % _BITS_PER_OCTET == 0:
            position = _octets(position) * _BITS_PER_OCTET
        positions.append(position)
        position += entry.bit_length
    return positions, position


# ------------------------------------------------------------------------ object dictionary
class ObjectDictionary:
    """The object dictionary of one simulated slave.

    ``al_state`` returns the slave's current AL state (the ESC provides it); master accesses
    are judged against it. ``process_data_limit`` is the largest PDO and sync manager process
    data, in octets, this simulated device accepts (0x06040042 beyond it).
    """

    def __init__(
        self,
        al_state: Callable[[], StateValue],
        objects: Iterable[OdObject] = (),
        *,
        process_data_limit: int = DEFAULT_PROCESS_DATA_LIMIT,
    ):
        if process_data_limit < 1:
            raise ValueError(f"process data limit {process_data_limit} must be positive")
        self._al_state = al_state
        self._limit_bits = process_data_limit * _BITS_PER_OCTET
        self._objects: dict[int, OdObject] = {}
        self._listeners: dict[tuple[int, int], list[ValueListener]] = {}
        for obj in objects:
            self.add(obj)

    # ------------------------------------------------------------------------- contents
    def add(self, obj: OdObject) -> OdObject:
        """Add ``obj``; :class:`ValueError` if its index is taken. Returns ``obj``."""
        if obj.index in self._objects:
            raise ValueError(f"object 0x{obj.index:04X} is already in the dictionary")
        self._objects[obj.index] = obj
        self._objects = dict(sorted(self._objects.items()))
        return obj

    def __contains__(self, index: object) -> bool:
        return index in self._objects

    def __iter__(self) -> Iterator[OdObject]:
        return iter(self._objects.values())

    def __len__(self) -> int:
        return len(self._objects)

    def find(self, index: int) -> Optional[OdObject]:
        """The object at ``index``, or None."""
        return self._objects.get(index)

    def entry(self, index: int, subindex: int) -> OdEntry:
        """The entry at ``index``:``subindex``; :class:`KeyError` if it does not exist."""
        try:
            return self._objects[index].entries[subindex]
        except KeyError:
            raise KeyError(f"no entry 0x{index:04X}:{subindex:02X} in the dictionary") from None

    def object_list(self, list_type: OdListType) -> tuple[int, ...]:
        """The indices of an SDO information object list (all, mappable, backup, settings)."""
        flags = {
            OdListType.ALL: None,
            OdListType.RXPDO_MAPPABLE: ObjectAccess.RXPDO_MAPPABLE,
            OdListType.TXPDO_MAPPABLE: ObjectAccess.TXPDO_MAPPABLE,
            OdListType.BACKUP: ObjectAccess.BACKUP,
            OdListType.SETTINGS: ObjectAccess.SETTINGS,
        }
        if list_type not in flags:
            raise ValueError(f"OD list type {list_type} is not an object list")
        flag = flags[list_type]
        return tuple(
            obj.index
            for obj in self
            if flag is None or any(entry.access & flag for entry in obj.entries.values())
        )

    # ---------------------------------------------------------------- application side
    def get(self, index: int, subindex: int) -> Any:
        """The current value of an entry (no access check: the slave's own view)."""
        return self.entry(index, subindex).value

    def set(self, index: int, subindex: int, value: Any) -> None:
        """Write an entry from the slave's side (no access, range or PDO rules).

        :raises KeyError: the entry does not exist.
        :raises ValueError: the entry's type cannot hold ``value``.
        """
        entry = self.entry(index, subindex)
        entry.encode(value)
        self._commit(index, [(entry, value)], ChangeSource.LOCAL)

    def update(self, index: int, subindex: int, value: Any) -> bool:
        """:meth:`set` when ``value`` differs from the entry's value (a device publishing its
        state every cycle writes, and wakes listeners, only on a change); True if written."""
        entry = self.entry(index, subindex)
        if entry.value == value:
            return False
        entry.encode(value)
        self._commit(index, [(entry, value)], ChangeSource.LOCAL)
        return True

    def subscribe(self, index: int, subindex: int, listener: ValueListener) -> None:
        """Call ``listener`` after every write of the entry (by the master or locally)."""
        self.entry(index, subindex)
        self._listeners.setdefault((index, subindex), []).append(listener)

    # --------------------------------------------------------------------- master side
    def sdo_upload(self, index: int, subindex: int) -> bytes:
        """The octets of one entry for an SDO upload; raises :class:`SdoAbort` if refused."""
        obj, entry = self._addressed(index, subindex)
        self._require(obj, entry, write=False)
        return entry.encoded()

    def sdo_download(
        self, index: int, subindex: int, data: bytes, *, size_indicated: bool = True
    ) -> None:
        """Write one entry from an SDO download; raises :class:`SdoAbort` if refused.

        Without ``size_indicated`` (an expedited download that did not tell its size) the
        entry takes as many of the 4 octets as its type has.
        """
        obj, entry = self._addressed(index, subindex)
        self._require(obj, entry, write=True)
        raw = bytes(data)
        if not size_indicated and not entry.variable_length:
            raw = raw[: entry.byte_size]
        value = self._parse(obj, entry, raw)
        changes = {subindex: value}
        self._check_rules(obj, changes)
        self._commit(index, [(entry, value)], ChangeSource.SDO)

    def check_sdo_download(
        self, index: int, subindex: int, size: int, *, complete_access: bool
    ) -> None:
        """Refuse a download of ``size`` octets before its segments arrive (initiate checks)."""
        if complete_access:
            obj = self._complete_object(index, subindex)
            entries = obj.entries_in_use(obj.max_subindex)
            start = COMPLETE_ACCESS_COUNT_BITS if subindex == COUNT_SUBINDEX else 0
            if size > _octets(_complete_layout(entries, start)[1]):
                raise _abort(index, subindex, SdoAbortCode.DATA_LENGTH_TOO_HIGH)
            return
        obj, entry = self._addressed(index, subindex)
        self._require(obj, entry, write=True)
        self._check_length(obj, entry, size)

    def sdo_upload_complete(self, index: int, subindex: int) -> bytes:
        """The octets of a complete access upload from ``subindex`` 0 or 1."""
        obj = self._complete_object(index, subindex)
        rights = self._rights()
        entries = obj.entries_in_use(obj.count)
        start = COMPLETE_ACCESS_COUNT_BITS if subindex == COUNT_SUBINDEX else 0
        positions, end = _complete_layout(entries, start)
        packed = obj.count if subindex == COUNT_SUBINDEX else 0
        for entry, position in zip(entries, positions):
            if entry.readable(rights):
                bits = int.from_bytes(entry.encoded(), "little") & ((1 << entry.bit_length) - 1)
                packed |= bits << position
        return packed.to_bytes(_octets(end), "little")

    def sdo_download_complete(self, index: int, subindex: int, data: bytes) -> None:
        """Write an object by complete access from ``subindex`` 0 or 1; atomic, all checks first."""
        obj = self._complete_object(index, subindex)
        rights = self._rights()
        raw = bytes(data)
        changes: dict[int, Any] = {}
        count_entry = obj.entries[COUNT_SUBINDEX]
        refusal: Optional[SdoAbort] = None
        start = 0
        count = obj.count
        if subindex == COUNT_SUBINDEX:
            start = COMPLETE_ACCESS_COUNT_BITS
            if len(raw) < _octets(start):
                raise _abort(index, subindex, SdoAbortCode.DATA_LENGTH_TOO_LOW)
            count = raw[0]
            if count_entry.writable(rights):
                changes[COUNT_SUBINDEX] = count
            elif count != obj.count:
                self._require(obj, count_entry, write=True)
            else:
                refusal = self._refusal(obj, count_entry, write=True)
            if count > obj.max_subindex:
                raise _abort(index, COUNT_SUBINDEX, SdoAbortCode.VALUE_TOO_HIGH)
        entries = obj.entries_in_use(count)
        positions, end = _complete_layout(entries, start)
        if len(raw) != _octets(end):
            code = (
                SdoAbortCode.DATA_LENGTH_TOO_LOW
                if len(raw) < _octets(end)
                else SdoAbortCode.DATA_LENGTH_TOO_HIGH
            )
            raise _abort(index, subindex, code)
        packed = int.from_bytes(raw, "little")
        for entry, position in zip(entries, positions):
            if not entry.writable(rights):
                refusal = refusal or self._refusal(obj, entry, write=True)
                continue
            bits = (packed >> position) & ((1 << entry.bit_length) - 1)
            changes[entry.subindex] = self._parse(
                obj, entry, bits.to_bytes(entry.byte_size, "little")
            )
        if not changes:
            raise refusal or _abort(index, subindex, SdoAbortCode.WRITE_READ_ONLY_OBJECT)
        self._check_rules(obj, changes)
        self._commit(
            index,
            [(obj.entries[sub], value) for sub, value in sorted(changes.items())],
            ChangeSource.SDO,
        )

    # ------------------------------------------------------------------ process data
    def sync_manager_pdos(self, sync_manager: int) -> SyncManagerPdos:
        """The process data of ``sync_manager`` from its assignment (0x1C10 + n) and mappings.

        :raises LookupError: the dictionary has no assignment object for that sync manager.
        :raises ValueError: an assigned PDO or a mapped object is missing (a dictionary built
            inconsistently; master writes cannot produce that).
        """
        assign = self._objects.get(PDO_ASSIGN_INDICES.start + sync_manager)
        if assign is None:
            raise LookupError(f"no PDO assignment object for sync manager {sync_manager}")
        pdos = []
        offset = 0
        for slot in assign.entries_in_use(assign.count):
            mapping = self._objects.get(slot.value)
            if mapping is None:
                raise ValueError(
                    f"0x{assign.index:04X}:{slot.subindex:02X} assigns "
                    f"missing PDO 0x{slot.value:04X}"
                )
            entries = []
            for item in mapping.entries_in_use(mapping.count):
                mapped = MappedEntry(*split_pdo_mapping_value(item.value), offset)
                if not mapped.gap and self._target(mapped.index, mapped.subindex) is None:
                    raise ValueError(
                        f"0x{mapping.index:04X}:{item.subindex:02X} maps missing "
                        f"0x{mapped.index:04X}:{mapped.subindex:02X}"
                    )
                entries.append(mapped)
                offset += mapped.bit_length
            pdos.append(PdoLayout(mapping.index, tuple(entries)))
        return SyncManagerPdos(sync_manager, tuple(pdos))

    # ----------------------------------------------------------------------- internals
    def _rights(self) -> tuple[ObjectAccess, ObjectAccess]:
        return _STATE_RIGHTS.get(self._al_state(), _DEFAULT_RIGHTS)

    def _object(self, index: int, subindex: int) -> OdObject:
        obj = self._objects.get(index)
        if obj is None:
            raise _abort(index, subindex, SdoAbortCode.OBJECT_DOES_NOT_EXIST)
        return obj

    def _target(self, index: int, subindex: int) -> Optional[OdEntry]:
        obj = self._objects.get(index)
        return None if obj is None else obj.entries.get(subindex)

    def _addressed(self, index: int, subindex: int) -> tuple[OdObject, OdEntry]:
        obj = self._object(index, subindex)
        entry = obj.entries.get(subindex)
        beyond_count = obj.dynamic and obj.count and subindex > obj.count
        if entry is None or beyond_count:
            raise _abort(index, subindex, SdoAbortCode.SUBINDEX_DOES_NOT_EXIST)
        return obj, entry

    def _complete_object(self, index: int, subindex: int) -> OdObject:
        obj = self._object(index, subindex)
        if obj.object_code == ObjectCode.VAR or subindex > 1:
            raise _abort(index, subindex, SdoAbortCode.UNSUPPORTED_ACCESS)
        if obj.variable_length:
            raise _abort(index, subindex, SdoAbortCode.COMPLETE_ACCESS_NOT_SUPPORTED)
        return obj

    def _refusal(self, obj: OdObject, entry: OdEntry, *, write: bool) -> Optional[SdoAbort]:
        rights = self._rights()
        if entry.writable(rights) if write else entry.readable(rights):
            return None
        if not entry.access & (_WRITE_ANY if write else _READ_ANY):
            code = (
                SdoAbortCode.WRITE_READ_ONLY_OBJECT
                if write
                else SdoAbortCode.READ_WRITE_ONLY_OBJECT
            )
        else:
            code = SdoAbortCode.DATA_CANNOT_BE_TRANSFERRED_DEVICE_STATE
        return _abort(obj.index, entry.subindex, code)

    def _require(self, obj: OdObject, entry: OdEntry, *, write: bool) -> None:
        refusal = self._refusal(obj, entry, write=write)
        if refusal is not None:
            raise refusal

    def _check_length(self, obj: OdObject, entry: OdEntry, size: int) -> None:
        capacity = entry.byte_size
        if entry.variable_length:
            too_short, too_long = False, bool(capacity) and size > capacity
        else:
            too_short, too_long = size < capacity, size > capacity
        if too_short:
            raise _abort(obj.index, entry.subindex, SdoAbortCode.DATA_LENGTH_TOO_LOW)
        if too_long:
            raise _abort(obj.index, entry.subindex, SdoAbortCode.DATA_LENGTH_TOO_HIGH)

    def _parse(self, obj: OdObject, entry: OdEntry, raw: bytes) -> Any:
        """Decode and judge a value the master sent for ``entry``."""
        self._check_length(obj, entry, len(raw))
        try:
            value = decode_value(entry.data_type, raw)
        except ProtocolError:
            # fixed-size lengths are already right: the value lies outside its type (BITn);
            # a variable one can only have an impossible length (odd UNICODE_STRING)
            code = (
                SdoAbortCode.DATA_LENGTH_MISMATCH
                if entry.variable_length
                else SdoAbortCode.VALUE_RANGE_EXCEEDED
            )
            raise _abort(obj.index, entry.subindex, code) from None
        if entry.data_type == DataType.BOOLEAN and raw[0] > 1:
            raise _abort(obj.index, entry.subindex, SdoAbortCode.VALUE_RANGE_EXCEEDED)
        if entry.maximum is not None and value > entry.maximum:
            raise _abort(obj.index, entry.subindex, SdoAbortCode.VALUE_TOO_HIGH)
        if entry.minimum is not None and value < entry.minimum:
            raise _abort(obj.index, entry.subindex, SdoAbortCode.VALUE_TOO_LOW)
        if entry.validator is not None:
            code = entry.validator(value)
            if code is not None:
                raise _abort(obj.index, entry.subindex, code)
        return value

    def _check_rules(self, obj: OdObject, changes: dict[int, Any]) -> None:
        """SI0 bounds and the PDO mapping/assignment procedure for a set of new values."""
        index = obj.index
        if obj.object_code == ObjectCode.VAR:
            return
        if changes.get(COUNT_SUBINDEX, 0) > obj.max_subindex:
            raise _abort(index, COUNT_SUBINDEX, SdoAbortCode.VALUE_TOO_HIGH)
        role = _pdo_role(index)
        if role is None:
            return
        entries = sorted(sub for sub in changes if sub != COUNT_SUBINDEX)
        if entries and COUNT_SUBINDEX not in changes and obj.count:
            raise _abort(index, entries[0], SdoAbortCode.SUBINDEX_CANNOT_BE_WRITTEN)
        for sub in entries:
            if changes[sub]:
                self._check_pdo_entry(obj, role, changes[sub], sub)
        count = changes.get(COUNT_SUBINDEX, 0)
        if count:
            values = [
                changes.get(entry.subindex, entry.value) for entry in obj.entries_in_use(count)
            ]
            self._check_activation(obj, role, values)

    def _check_pdo_entry(self, obj: OdObject, role: _PdoRole, value: int, subindex: int) -> int:
        """Judge one mapping or assignment entry (abort at ``subindex``); returns its bits."""
        if role is _PdoRole.ASSIGNMENT:
            mapping = self._objects.get(value)
            if value not in self._assignable(obj.index) or mapping is None:
                raise _abort(obj.index, subindex, SdoAbortCode.VALUE_RANGE_EXCEEDED)
            return self._mapping_bits(mapping)
        index, sub, bits = split_pdo_mapping_value(value)
        gap = index == 0 and sub == 0
        flag = (
            ObjectAccess.RXPDO_MAPPABLE
            if role is _PdoRole.RX_MAPPING
            else ObjectAccess.TXPDO_MAPPABLE
        )
        target = self._target(index, sub)
        mappable = target is not None and target.access & flag and target.bit_length == bits
        if not (mappable or (gap and bits)):
            raise _abort(obj.index, subindex, SdoAbortCode.OBJECT_CANNOT_BE_MAPPED)
        return bits

    def _check_activation(self, obj: OdObject, role: _PdoRole, values: list[int]) -> None:
        """SI0 = len(values) > 0: every entry in use valid, the lengths within the limit."""
        empty = (
            SdoAbortCode.VALUE_RANGE_EXCEEDED
            if role is _PdoRole.ASSIGNMENT
            else SdoAbortCode.OBJECT_CANNOT_BE_MAPPED
        )
        if not all(values) or (role is _PdoRole.ASSIGNMENT and len(set(values)) != len(values)):
            raise _abort(obj.index, COUNT_SUBINDEX, empty)
        total = sum(self._check_pdo_entry(obj, role, value, COUNT_SUBINDEX) for value in values)
        totals = [total]
        if role is not _PdoRole.ASSIGNMENT:
            for assign in self._assignments_of(obj.index):
                others = [pdo for pdo in assign if pdo != obj.index]
                totals.append(total + sum(self._mapping_bits(self._objects[pdo]) for pdo in others))
        if max(totals) > self._limit_bits:
            raise _abort(obj.index, COUNT_SUBINDEX, SdoAbortCode.PDO_LENGTH_EXCEEDED)

    def _assignments_of(self, mapping_index: int) -> list[list[int]]:
        """The active PDO lists of the assignment objects that list ``mapping_index``."""
        lists = []
        for assign_index in PDO_ASSIGN_INDICES:
            assign = self._objects.get(assign_index)
            if assign is not None:
                pdos = [slot.value for slot in assign.entries_in_use(assign.count)]
                if mapping_index in pdos:
                    lists.append([pdo for pdo in pdos if pdo in self._objects])
        return lists

    def _mapping_bits(self, mapping: OdObject) -> int:
        return sum(
            split_pdo_mapping_value(entry.value)[2]
            for entry in mapping.entries_in_use(mapping.count)
        )

    def _assignable(self, assign_index: int) -> range:
        """The mapping objects an assignment object may list: by its sync manager's direction."""
        sync_manager = assign_index - PDO_ASSIGN_INDICES.start
        kind: Any = None
        types = self._objects.get(_SM_COMMUNICATION_TYPE_INDEX)
        if types is not None and sync_manager + 1 in types.entries:
            kind = types.entries[sync_manager + 1].value
        elif sync_manager == _OUTPUT_SYNC_MANAGER:
            kind = SyncManagerType.PROCESS_DATA_OUT
        elif sync_manager == _INPUT_SYNC_MANAGER:
            kind = SyncManagerType.PROCESS_DATA_IN
        if kind == SyncManagerType.PROCESS_DATA_OUT:
            return RXPDO_MAPPING_INDICES
        if kind == SyncManagerType.PROCESS_DATA_IN:
            return TXPDO_MAPPING_INDICES
        return range(0)

    def _commit(self, index: int, writes: list[tuple[OdEntry, Any]], source: ChangeSource) -> None:
        changes = []
        for entry, value in writes:
            changes.append(ValueChange(index, entry.subindex, entry.value, value, source))
            entry.value = value
        for change in changes:
            for listener in self._listeners.get((index, change.subindex), ()):
                listener(change)


# ------------------------------------------------------------------------ standard objects
def device_type(value: int) -> OdObject:
    """0x1000 Device type (CiA 301): profile number and additional information."""
    return var(0x1000, "Device type", DataType.UNSIGNED32, value)


def error_register(value: int = 0) -> OdObject:
    """0x1001 Error register (CiA 301); emergencies update it."""
    return var(0x1001, "Error register", DataType.UNSIGNED8, value)


def _text(index: int, name: str, text: str, capacity: Optional[int]) -> OdObject:
    size = len(text.encode("utf-8"))
    return var(
        index,
        name,
        DataType.VISIBLE_STRING,
        text,
        bit_length=max(size, capacity or 0) * _BITS_PER_OCTET,
    )


def device_name(text: str, *, capacity: Optional[int] = None) -> OdObject:
    """0x1008 Manufacturer device name (VISIBLE_STRING)."""
    return _text(0x1008, "Device name", text, capacity)


def hardware_version(text: str, *, capacity: Optional[int] = None) -> OdObject:
    """0x1009 Manufacturer hardware version (VISIBLE_STRING)."""
    return _text(0x1009, "Hardware version", text, capacity)


def software_version(text: str, *, capacity: Optional[int] = None) -> OdObject:
    """0x100A Manufacturer software version (VISIBLE_STRING)."""
    return _text(0x100A, "Software version", text, capacity)


def identity(vendor_id: int, product_code: int, revision: int, serial_number: int) -> OdObject:
    """0x1018 Identity object (RECORD of UNSIGNED32, data type IDENTITY)."""
    fields = (
        ("Vendor ID", vendor_id),
        ("Product code", product_code),
        ("Revision", revision),
        ("Serial number", serial_number),
    )
    entries = [
        OdEntry(sub, name, DataType.UNSIGNED32, READ_ONLY, value)
        for sub, (name, value) in enumerate(fields, start=1)
    ]
    return record(0x1018, "Identity", entries, data_type=DataType.IDENTITY)


def pdo_mapping(
    index: int,
    name: str,
    mapped: Sequence[int],
    *,
    capacity: Optional[int] = None,
    writable: bool = True,
) -> OdObject:
    """A PDO mapping object (0x1600+ RxPDO, 0x1A00+ TxPDO): ``mapped`` entries active.

    ``mapped`` holds :func:`pdo_mapping_value` values; ``capacity`` (default ``len(mapped)``)
    is the number of entries, the unused ones 0. A writable mapping has SI0 and entries
    writable in PRE-OP; a fixed one is read-only.
    """
    if _pdo_role(index) not in (_PdoRole.RX_MAPPING, _PdoRole.TX_MAPPING):
        raise ValueError(f"0x{index:04X} is no PDO mapping index")
    slots = capacity if capacity is not None else len(mapped)
    if slots < len(mapped):
        raise ValueError(f"capacity {slots} below {len(mapped)} mapped entries")
    access = READ_WRITE_PREOP if writable else READ_ONLY
    values = list(mapped) + [0] * (slots - len(mapped))
    entries = [
        OdEntry(sub, f"SubIndex {sub:03d}", DataType.UNSIGNED32, access, value)
        for sub, value in enumerate(values, start=1)
    ]
    return record(
        index, name, entries, data_type=DataType.PDO_MAPPING, count_access=access, count=len(mapped)
    )


def sync_manager_types(types: Sequence[SyncManagerType | int]) -> OdObject:
    """0x1C00 Sync manager communication type: one entry per SM (1 mailbox out .. 4 inputs)."""
    return array(0x1C00, "Sync manager type", DataType.UNSIGNED8, [int(kind) for kind in types])


def pdo_assignment(
    sync_manager: int,
    pdos: Sequence[int],
    *,
    capacity: Optional[int] = None,
    writable: bool = True,
) -> OdObject:
    """0x1C10 + ``sync_manager`` PDO assignment (0x1C12 RxPDO assign, 0x1C13 TxPDO assign).

    ``pdos`` are the assigned mapping object indices; ``capacity`` (default ``len(pdos)``)
    the number of entries. A writable assignment has SI0 and entries writable in PRE-OP.
    """
    index = PDO_ASSIGN_INDICES.start + sync_manager
    if index not in PDO_ASSIGN_INDICES:
        raise ValueError(f"sync manager {sync_manager} out of range 0..31")
    slots = capacity if capacity is not None else len(pdos)
    if slots < len(pdos):
        raise ValueError(f"capacity {slots} below {len(pdos)} assigned PDOs")
    names = {_OUTPUT_SYNC_MANAGER: "RxPDO assign", _INPUT_SYNC_MANAGER: "TxPDO assign"}
    access = READ_WRITE_PREOP if writable else READ_ONLY
    return array(
        index,
        names.get(sync_manager, f"SM{sync_manager} PDO assign"),
        DataType.UNSIGNED16,
        list(pdos) + [0] * (slots - len(pdos)),
        access=access,
        count_access=access,
        count=len(pdos),
    )


class SyncMode(enum.IntEnum):
    """0x1C32/0x1C33 SI1 synchronisation type (ETG.1020; SSC ``SYNCTYPE_*``)."""

    FREE_RUN = 0x00
    #: Synchronous with the sync manager's event (SM2 for outputs, SM3 for inputs).
    SYNCHRON = 0x01
    DC_SYNC0 = 0x02
    DC_SYNC1 = 0x03
    #: Inputs synchronous with the SM2 (outputs) event: 0x1C33 only.
    SM2_SYNCHRON = 0x22


class SyncModeSupport(enum.IntFlag):
    """0x1C32/0x1C33 SI4 "sync modes supported" bits (ETG.1020; SSC ``SYNCTYPE_*SUPP``)."""

    FREE_RUN = 0x0001
    SYNCHRON = 0x0002
    DC_SYNC0 = 0x0004
    DC_SYNC1 = 0x0008


_MODE_NEEDS = {
    SyncMode.FREE_RUN: SyncModeSupport.FREE_RUN,
    SyncMode.SYNCHRON: SyncModeSupport.SYNCHRON,
    SyncMode.DC_SYNC0: SyncModeSupport.DC_SYNC0,
    SyncMode.DC_SYNC1: SyncModeSupport.DC_SYNC1,
    SyncMode.SM2_SYNCHRON: SyncModeSupport.SYNCHRON,
}
#: Subindex of "sync error" in 0x1C32/0x1C33, the last one.
_SYNC_ERROR_SUBINDEX = 0x20


def sync_manager_parameter(
    sync_manager: int,
    *,
    sync_mode: SyncMode = SyncMode.FREE_RUN,
    cycle_time_ns: int = 0,
    shift_time_ns: int = 0,
    supported: SyncModeSupport = SyncModeSupport.FREE_RUN | SyncModeSupport.SYNCHRON,
    minimum_cycle_time_ns: int = 0,
    calc_and_copy_time_ns: int = 0,
    minimum_delay_time_ns: int = 0,
    delay_time_ns: int = 0,
) -> OdObject:
    """0x1C30 + ``sync_manager`` synchronisation parameters (0x1C32 outputs, 0x1C33 inputs).

    Entries as ETG.1020 and the SSC's ``TSYNCMANPAR``: 1 sync mode, 2 cycle time, 3 shift
    time, 4 sync modes supported, 5 minimum cycle time, 6 calc and copy time, 7 minimum delay
    time, 8 get cycle time, 9 delay time, 10 Sync0 cycle time, 11 SM event missed, 12 cycle
    time too small, 13 shift time too short, 32 sync error. Times in ns. SI1, 2, 3 and 10 are
    writable in PRE-OP; SI1 accepts only the modes ``supported`` announces (0x06090030).
    """
    index = _SM_PARAMETER_BASE + sync_manager
    supported_entry = OdEntry(
        4, "Sync modes supported", DataType.UNSIGNED16, READ_ONLY, int(supported)
    )

    def mode_supported(mode: int) -> Optional[int]:
        needs = _MODE_NEEDS.get(mode)
        if needs is None or not supported_entry.value & needs:
            return SdoAbortCode.VALUE_RANGE_EXCEEDED
        if mode == SyncMode.SM2_SYNCHRON and sync_manager != _INPUT_SYNC_MANAGER:
            return SdoAbortCode.VALUE_RANGE_EXCEEDED
        return None

    u16, u32 = DataType.UNSIGNED16, DataType.UNSIGNED32
    entries = [
        OdEntry(1, "Sync mode", u16, READ_WRITE_PREOP, int(sync_mode), validator=mode_supported),
        OdEntry(2, "Cycle time", u32, READ_WRITE_PREOP, cycle_time_ns),
        OdEntry(3, "Shift time", u32, READ_WRITE_PREOP, shift_time_ns),
        supported_entry,
        OdEntry(5, "Minimum cycle time", u32, READ_ONLY, minimum_cycle_time_ns),
        OdEntry(6, "Calc and copy time", u32, READ_ONLY, calc_and_copy_time_ns),
        OdEntry(7, "Minimum delay time", u32, READ_ONLY, minimum_delay_time_ns),
        OdEntry(8, "Get cycle time", u16, READ_WRITE, 0),
        OdEntry(9, "Delay time", u32, READ_ONLY, delay_time_ns),
        OdEntry(10, "Sync0 cycle time", u32, READ_WRITE_PREOP, 0),
        OdEntry(11, "SM event missed", u16, READ_ONLY, 0),
        OdEntry(12, "Cycle time too small", u16, READ_ONLY, 0),
        OdEntry(13, "Shift time too short", u16, READ_ONLY, 0),
        OdEntry(_SYNC_ERROR_SUBINDEX, "Sync error", DataType.BOOLEAN, READ_ONLY, False),
    ]
    names = {_OUTPUT_SYNC_MANAGER: "SM output parameter", _INPUT_SYNC_MANAGER: "SM input parameter"}
    return record(
        index,
        names.get(sync_manager, f"SM{sync_manager} parameter"),
        entries,
        data_type=DataType.SM_SYNCHRONISATION,
    )
