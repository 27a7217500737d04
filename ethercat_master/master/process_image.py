"""The process image: every slave's outputs and inputs as named, typed fields over numpy buffers,
double-buffered between the application and the cycle.

Buffers
    The output image and the input image are one ``uint8`` numpy array each
    (:attr:`ProcessImage.outputs_buffer`, :attr:`ProcessImage.inputs_buffer`), laid out as the
    :class:`~ethercat_master.master.pdo_mapping.ProcessDataLayout` says: each slave's outputs
    (inputs) are one octet range of it. They are the application's side of a double buffer:

    * the application writes outputs into the *staged* output image and reads inputs from the
      *published* input image;
    * once per cycle the cycle engine (:mod:`.cyclic`), holding :attr:`ProcessImage.lock`,
      copies the staged outputs into the LRW data areas of its frames (the frame buffer is the
      front output image: the frame is sent from it without further copying) and, when replies
      arrive, copies their input octets into the published input image. Each copy is one
      ``memcpy`` of the image, O(size).

    Every field access holds the same lock for the few hundred nanoseconds it takes, so no
    access sees a half-copied image and the cycle never waits long for the application. To read
    or write several fields as one consistent set (e.g. a target position and the controlword
    that makes it valid), hold :attr:`ProcessImage.lock` around them, or use
    :meth:`SlaveArea.read` / :meth:`SlaveArea.write`.

Fields
    One field per mapped PDO entry (gaps have none), named after the entry: the SII string or
    SDO information name made an identifier (lower case, runs of other characters as ``_``):
    ``"Statusword"`` -> ``statusword``, ``"Position actual value"`` ->
    ``position_actual_value``. A name that occurs more than once in a slave's outputs (or
    inputs) is qualified with its PDO's name in every occurrence: the EL1008's eight ``Input``
    entries are ``channel_1_input`` .. ``channel_8_input``, the EL3102's two ``Value`` entries
    ``ai_standard_channel_1_value`` and ``ai_standard_channel_2_value``; what is still equal
    then gets ``_2``, ``_3``... in order. An entry without a name is ``entry_6064_00``.

    A field whose bits start on an octet and are 8, 16, 32 or 64 long is also a field of the
    area's structured numpy dtype (:attr:`SlaveArea.dtype`, :attr:`SlaveArea.array`),
    little-endian, signed or unsigned or floating after the CoE data type. Other fields (BOOL
    bits, BIT2, a 24-bit integer, anything not on an octet) are bit fields, which numpy cannot
    describe: they are read and written by name like the others, as ``bool`` or ``int``.

Access::

    image.inputs[4]["statusword"]                 # by position and name
    image.slave(4).outputs.controlword = 0x0F     # by attribute
    with image.lock:                              # several fields, one consistent set
        drive = image.slave(4).outputs
        drive.target_position = target
        drive.controlword = 0x1F
"""

from __future__ import annotations

import enum
import keyword
import re
import struct
import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np

from ..protocol.coe import DataType
from .pdo_mapping import Direction, MappedEntry, ProcessDataLayout, SlaveProcessData

__all__ = [
    "ValueKind",
    "ImageField",
    "field_identifier",
    "area_fields",
    "AreaInfo",
    "SlaveArea",
    "SlaveImage",
    "AreaTable",
    "ProcessImage",
]

_BITS_PER_OCTET = 8
#: Bit lengths a numpy field can have.
_NUMPY_WIDTHS = (8, 16, 32, 64)
_SIGNED_TYPES = frozenset({DataType.INTEGER8, DataType.INTEGER16, DataType.INTEGER24, DataType.INTEGER32,
                           DataType.INTEGER40, DataType.INTEGER48, DataType.INTEGER56, DataType.INTEGER64})
_FLOAT_TYPES = {DataType.REAL32: 32, DataType.REAL64: 64}
#: struct format characters by (kind, bits) for octet-aligned fields.
_STRUCT_CODES = {8: "B", 16: "H", 32: "I", 64: "Q"}
_SIGNED_CODES = {8: "b", 16: "h", 32: "i", 64: "q"}
_FLOAT_CODES = {32: "f", 64: "d"}
_NON_IDENTIFIER = re.compile(r"[^0-9A-Za-z]+")
_DIGIT_PREFIX = "field_"
#: Names a field cannot have because :class:`SlaveArea` or Python uses them: such a field gets
#: a trailing ``_`` (PEP 8's convention), so attribute and item access always agree.
_RESERVED = frozenset({"info", "read", "write", "raw", "array"} | set(keyword.kwlist))


class ValueKind(enum.Enum):
    """How a field's bits are read: Python ``bool``, ``int`` or ``float``."""

    BOOL = "bool"
    UNSIGNED = "unsigned"
    SIGNED = "signed"
    FLOAT = "float"


def _kind(data_type: int, bits: int) -> ValueKind:
    if data_type == DataType.BOOLEAN or (bits == 1 and data_type in (0, DataType.BIT1)):
        return ValueKind.BOOL
    if data_type in _SIGNED_TYPES:
        return ValueKind.SIGNED
    if _FLOAT_TYPES.get(data_type) == bits:
        return ValueKind.FLOAT
    return ValueKind.UNSIGNED


@dataclass(frozen=True, slots=True)
class ImageField:
    """One named field of a slave's outputs or inputs.

    :ivar name: its identifier (unique within the slave's outputs, or inputs).
    :ivar pdo: the mapping object of its PDO.
    :ivar index: the mapped object's index; :ivar subindex: its subindex.
    :ivar data_type: the CoE data type (0 unknown).
    :ivar bit_offset: first bit, counted from the first bit of the slave's area.
    :ivar bit_length: its bits.
    :ivar kind: how its value is represented.
    """

    name: str
    pdo: int
    index: int
    subindex: int
    data_type: int
    bit_offset: int
    bit_length: int
    kind: ValueKind

    @property
    def aligned(self) -> bool:
        """True when it starts on an octet and is 8, 16, 32 or 64 bits long (a numpy field)."""
        return self.bit_offset % _BITS_PER_OCTET == 0 and self.bit_length in _NUMPY_WIDTHS

    @property
    def byte_offset(self) -> int:
        """The octet holding its first bit, from the start of the slave's area."""
        return self.bit_offset // _BITS_PER_OCTET

    @property
    def numpy_dtype(self) -> Optional[np.dtype]:
        """Its little-endian numpy scalar type; None for a bit field. A BOOLEAN of 8 bits is
        ``uint8`` (its octet may hold more than 0 and 1)."""
        if not self.aligned:
            return None
        octets = self.bit_length // _BITS_PER_OCTET
        letter = {ValueKind.SIGNED: "i", ValueKind.FLOAT: "f"}.get(self.kind, "u")
        return np.dtype(f"<{letter}{octets}")


def field_identifier(text: str) -> str:
    """``text`` made a Python identifier: lower case, runs of other characters as ``_``
    (``"Status__Limit 1"`` -> ``status_limit_1``); ``""`` for a text without letters or
    digits; a leading digit gets ``field_`` before it."""
    name = _NON_IDENTIFIER.sub("_", text).strip("_").lower()
    if name[:1].isdigit():
        name = _DIGIT_PREFIX + name
    return name


def _entry_name(item: MappedEntry) -> str:
    entry = item.entry
    return field_identifier(entry.name) or f"entry_{entry.index:04x}_{entry.subindex:02x}"


def _qualified(item: MappedEntry, base: str) -> str:
    pdo = field_identifier(item.pdo.name) or f"pdo_{item.pdo.index:04x}"
    return f"{pdo}_{base}"


def area_fields(slave: SlaveProcessData, direction: Direction) -> tuple[ImageField, ...]:
    """The fields of one slave's outputs or inputs, named as the module docstring says."""
    items = [item for item in slave.mapping.entries(direction) if not item.entry.gap]
    bases = [_entry_name(item) for item in items]
    repeated = Counter(bases)
    names = [_qualified(item, base) if repeated[base] > 1 else base for item, base in zip(items, bases)]
    names = [name + "_" if name in _RESERVED else name for name in names]
    seen: Counter[str] = Counter()
    unique = []
    for name in names:
        seen[name] += 1
        unique.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return tuple(
        ImageField(name, item.pdo.index, item.entry.index, item.entry.subindex, item.entry.data_type,
                   item.bit_offset, item.entry.bit_length, _kind(item.entry.data_type, item.entry.bit_length))
        for name, item in zip(unique, items)
    )


# --------------------------------------------------------------------------- accessors
_Reader = Callable[[memoryview], Any]
_Writer = Callable[[memoryview, Any], None]


def _range_error(owner: str, field: ImageField, value: Any, detail: str) -> ValueError:
    return ValueError(f"{owner}: {field.name} = {value!r}: {detail}")


def _accessors(field: ImageField, base: int, owner: str) -> tuple[_Reader, _Writer]:
    """Read and write functions of ``field`` in an image buffer whose slave area starts at
    octet ``base``."""
    if field.aligned:
        return _aligned_accessors(field, base + field.byte_offset, owner)
    return _bit_accessors(field, base, owner)


def _aligned_accessors(field: ImageField, offset: int, owner: str) -> tuple[_Reader, _Writer]:
    bits = field.bit_length
    code = {ValueKind.SIGNED: _SIGNED_CODES, ValueKind.FLOAT: _FLOAT_CODES}.get(field.kind, _STRUCT_CODES)[bits]
    packer = struct.Struct("<" + code)
    unpack_from, pack_into = packer.unpack_from, packer.pack_into
    if field.kind is ValueKind.BOOL:
        def read(buf: memoryview) -> Any:
            return bool(unpack_from(buf, offset)[0])

        def write(buf: memoryview, value: Any) -> None:
            if value not in (0, 1):
                raise _range_error(owner, field, value, "a BOOLEAN takes False/True or 0/1")
            pack_into(buf, offset, int(value))
        return read, write

    def read_value(buf: memoryview) -> Any:
        return unpack_from(buf, offset)[0]

    def write_value(buf: memoryview, value: Any) -> None:
        try:
            pack_into(buf, offset, value)
        except struct.error as exc:
            raise _range_error(owner, field, value, f"does not fit {field.kind.value} {bits} bits ({exc})") from None
    return read_value, write_value


def _bit_accessors(field: ImageField, base: int, owner: str) -> tuple[_Reader, _Writer]:
    first_bit = base * _BITS_PER_OCTET + field.bit_offset
    lo, hi = first_bit // _BITS_PER_OCTET, (first_bit + field.bit_length + _BITS_PER_OCTET - 1) // _BITS_PER_OCTET
    shift = first_bit % _BITS_PER_OCTET
    bits = field.bit_length
    mask = (1 << bits) - 1
    kind = field.kind
    sign = 1 << (bits - 1)
    if kind is ValueKind.FLOAT:
        packer = struct.Struct("<" + _FLOAT_CODES[bits])
        raw = struct.Struct("<" + _STRUCT_CODES[bits])

    def read(buf: memoryview) -> Any:
        value = (int.from_bytes(buf[lo:hi], "little") >> shift) & mask
        if kind is ValueKind.BOOL:
            return bool(value)
        if kind is ValueKind.SIGNED:
            return value - (sign << 1) if value & sign else value
        if kind is ValueKind.FLOAT:
            return packer.unpack(raw.pack(value))[0]
        return value

    def write(buf: memoryview, value: Any) -> None:
        if kind is ValueKind.FLOAT:
            try:
                bits_value = raw.unpack(packer.pack(value))[0]
            except struct.error as exc:
                raise _range_error(owner, field, value, f"is no {bits}-bit float ({exc})") from None
        else:
            try:
                bits_value = int(value) if not isinstance(value, float) else None
            except (TypeError, ValueError):
                bits_value = None
            low, high = (-sign, sign - 1) if kind is ValueKind.SIGNED else (0, mask)
            if bits_value is None or not low <= bits_value <= high or (kind is ValueKind.BOOL and value not in (0, 1)):
                raise _range_error(owner, field, value, f"outside {low}..{high} ({bits} bits)")
            bits_value &= mask
        old = int.from_bytes(buf[lo:hi], "little")
        new = (old & ~(mask << shift)) | (bits_value << shift)
        buf[lo:hi] = new.to_bytes(hi - lo, "little")
    return read, write


# ------------------------------------------------------------------------------- views
@dataclass(frozen=True, slots=True)
class AreaInfo:
    """What a :class:`SlaveArea` is.

    :ivar name: e.g. ``"position 4 (SimServo) outputs"``.
    :ivar position: the slave's position.
    :ivar direction: outputs or inputs.
    :ivar offset: first octet of the area in its image buffer.
    :ivar size: its octets.
    :ivar fields: its :class:`ImageField` by name, in bit order.
    :ivar dtype: the structured numpy dtype of its octet-aligned fields (itemsize = ``size``).
    """

    name: str
    position: int
    direction: Direction
    offset: int
    size: int
    fields: Mapping[str, ImageField]
    dtype: np.dtype


class SlaveArea:
    """One slave's outputs or inputs in the image: fields by name (``area["statusword"]``) or
    attribute (``area.statusword``), read and written under the image's lock. What the area is
    (name, offset, size, fields, dtype) is in :attr:`info`, so that no field name is hidden by
    an attribute of the area.
    """

    __slots__ = ("info", "_buffer", "_memory", "_lock", "_readers", "_writers")

    def __init__(self, slave: SlaveProcessData, direction: Direction, buffer: np.ndarray, lock: threading.RLock):
        outputs = direction is Direction.OUTPUTS
        size = slave.output_bytes if outputs else slave.input_bytes
        fields = area_fields(slave, direction)
        aligned = [field for field in fields if field.aligned]
        dtype = np.dtype({"names": [f.name for f in aligned], "formats": [f.numpy_dtype for f in aligned],
                          "offsets": [f.byte_offset for f in aligned], "itemsize": size})
        info = AreaInfo(f"{slave.name} {direction.value}", slave.position, direction,
                        slave.output_offset if outputs else slave.input_offset, size,
                        {field.name: field for field in fields}, dtype)
        accessors = {field.name: _accessors(field, info.offset, info.name) for field in fields}
        setter = object.__setattr__
        setter(self, "info", info)
        setter(self, "_buffer", buffer)
        setter(self, "_memory", memoryview(buffer))
        setter(self, "_lock", lock)
        setter(self, "_readers", {name: pair[0] for name, pair in accessors.items()})
        setter(self, "_writers", {name: pair[1] for name, pair in accessors.items()})

    def __repr__(self) -> str:
        return f"<SlaveArea {self.info.name}: {len(self.info.fields)} fields, {self.info.size} octets>"

    # ----------------------------------------------------------------------- by name
    def __getitem__(self, name: str) -> Any:
        reader = self._field(self._readers, name)
        with self._lock:
            return reader(self._memory)

    def __setitem__(self, name: str, value: Any) -> None:
        writer = self._field(self._writers, name)
        with self._lock:
            writer(self._memory, value)

    def __getattr__(self, name: str) -> Any:
        readers = object.__getattribute__(self, "_readers")
        if name not in readers:
            raise AttributeError(self._missing(name))
        with self._lock:
            return readers[name](self._memory)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._writers:
            raise AttributeError(self._missing(name))
        with self._lock:
            self._writers[name](self._memory, value)

    def __contains__(self, name: object) -> bool:
        return name in self.info.fields

    def __iter__(self) -> Iterator[str]:
        return iter(self.info.fields)

    def __len__(self) -> int:
        return len(self.info.fields)

    # ----------------------------------------------------------------------- as a set
    def read(self) -> dict[str, Any]:
        """Every field's value, read as one consistent set."""
        with self._lock:
            return {name: reader(self._memory) for name, reader in self._readers.items()}

    def write(self, values: Optional[Mapping[str, Any]] = None, /, **more: Any) -> None:
        """Write several fields as one consistent set (no cycle copies the image in between).
        Every name is checked before anything is written."""
        items = {**(values or {}), **more}
        writers = [(self._field(self._writers, name), value) for name, value in items.items()]
        with self._lock:
            for writer, value in writers:
                writer(self._memory, value)

    def raw(self) -> bytes:
        """A copy of the area's octets."""
        info = self.info
        with self._lock:
            return bytes(self._memory[info.offset:info.offset + info.size])

    @property
    def array(self) -> np.ndarray:
        """A 0-d structured numpy view of the area (its octet-aligned fields); not locked, so
        hold the image's lock while using it."""
        return np.ndarray((), self.info.dtype, buffer=self._buffer, offset=self.info.offset)

    def _missing(self, name: str) -> str:
        return f"{self.info.name} has no field {name!r} (fields: {', '.join(self.info.fields) or 'none'})"

    def _field(self, table: Mapping[str, Any], name: str) -> Any:
        try:
            return table[name]
        except KeyError:
            raise KeyError(self._missing(name)) from None


@dataclass(frozen=True, slots=True)
class SlaveImage:
    """One slave's two areas."""

    position: int
    name: str
    outputs: SlaveArea
    inputs: SlaveArea


class AreaTable:
    """The outputs (or inputs) of every slave, by position: ``table[4]["statusword"]``."""

    __slots__ = ("_areas",)

    def __init__(self, areas: Mapping[int, SlaveArea]):
        self._areas = dict(areas)

    def __getitem__(self, position: int) -> SlaveArea:
        try:
            return self._areas[position]
        except KeyError:
            raise KeyError(f"no slave at position {position} in the process image") from None

    def __iter__(self) -> Iterator[SlaveArea]:
        return iter(self._areas.values())

    def __len__(self) -> int:
        return len(self._areas)


class ProcessImage:
    """The process image of a :class:`~ethercat_master.master.pdo_mapping.ProcessDataLayout`
    (see the module docstring).

    :ivar layout: the layout it follows.
    :ivar lock: held by every field access and by the cycle's copies; hold it to access several
        fields as one set.
    :ivar outputs_buffer: the staged output image (``uint8``, :attr:`layout` ``.output_bytes``).
    :ivar inputs_buffer: the published input image (``uint8``, ``.input_bytes``).
    :ivar outputs: every slave's outputs by position; :ivar inputs: their inputs.
    :ivar inputs_cycle: the number of the exchange whose inputs were published last (0: none
        yet); set by the cycle engine.
    """

    def __init__(self, layout: ProcessDataLayout):
        self.layout = layout
        self.lock = threading.RLock()
        self.outputs_buffer = np.zeros(layout.output_bytes, dtype=np.uint8)
        self.inputs_buffer = np.zeros(layout.input_bytes, dtype=np.uint8)
        self.inputs_cycle = 0
        self._slaves = {
            slave.position: SlaveImage(slave.position, slave.name,
                                       SlaveArea(slave, Direction.OUTPUTS, self.outputs_buffer, self.lock),
                                       SlaveArea(slave, Direction.INPUTS, self.inputs_buffer, self.lock))
            for slave in layout.slaves
        }
        self.outputs = AreaTable({position: image.outputs for position, image in self._slaves.items()})
        self.inputs = AreaTable({position: image.inputs for position, image in self._slaves.items()})

    def slave(self, position: int) -> SlaveImage:
        """The slave at ``position``.

        :raises KeyError: no slave of the layout has it.
        """
        try:
            return self._slaves[position]
        except KeyError:
            raise KeyError(f"no slave at position {position} in the process image") from None

    def __iter__(self) -> Iterator[SlaveImage]:
        return iter(self._slaves.values())

    def __len__(self) -> int:
        return len(self._slaves)
