"""Typed CoE values as people write them: data type names (``UNSIGNED16``, IgH's ``uint16``) and
values from text (``"8"``, ``"0x1A00"``, ``"1.5"``, ``"true"``, hex octets), and values shown
back as text; shared by the command-line tool and the ROS services."""

from __future__ import annotations

from typing import Any, Optional

from ..protocol.coe import DATA_TYPE_BIT_SIZES, DataType

__all__ = ["TYPE_ALIASES", "data_type_from_name", "parse_value", "show_value"]

_BITS_PER_OCTET = 8

#: ``--type`` names beyond the DataType names (IgH ``ethercat`` spellings).
TYPE_ALIASES: dict[str, DataType] = {
    "bool": DataType.BOOLEAN, "int8": DataType.INTEGER8, "int16": DataType.INTEGER16,
    "int32": DataType.INTEGER32, "int64": DataType.INTEGER64, "uint8": DataType.UNSIGNED8,
    "uint16": DataType.UNSIGNED16, "uint32": DataType.UNSIGNED32, "uint64": DataType.UNSIGNED64,
    "float": DataType.REAL32, "double": DataType.REAL64, "string": DataType.VISIBLE_STRING,
    "octet_string": DataType.OCTET_STRING, "unicode_string": DataType.UNICODE_STRING,
}


def data_type_from_name(name: str) -> DataType:
    """The CoE data type ``name`` means (a DataType name, any case, or an alias).

    :raises ValueError: an unknown name (the message lists the aliases).
    """
    key = name.strip().lower()
    if key in TYPE_ALIASES:
        return TYPE_ALIASES[key]
    try:
        return DataType[key.upper()]
    except KeyError:
        raise ValueError(f"unknown type {name!r}: a CoE data type name (e.g. UNSIGNED32) or one of "
                         f"{', '.join(TYPE_ALIASES)}") from None


def parse_value(text: str, data_type: DataType) -> Any:
    """The Python value of ``text`` for ``encode_value`` of ``data_type``.

    :raises ValueError: the text is no value of the type (the message says which type).
    """
    if data_type in (DataType.TIME_OF_DAY, DataType.TIME_DIFFERENCE):
        raise ValueError(f"{data_type.name} values are not written from the command line: "
                         "give their 6 octets with --type OCTET_STRING")
    try:
        if data_type == DataType.BOOLEAN:
            if text.lower() not in ("0", "1", "true", "false"):
                raise ValueError(text)
            return text.lower() in ("1", "true")
        if data_type in (DataType.REAL32, DataType.REAL64):
            return float(text)
        if data_type in (DataType.VISIBLE_STRING, DataType.UNICODE_STRING):
            return text
        if data_type in DATA_TYPE_BIT_SIZES and data_type != DataType.GUID:
            return int(text, 0)
        return bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a {data_type.name} value") from None


def show_value(value: Any, data_type: Optional[DataType]) -> str:
    """``value`` as text: integers with their hex, octets as hex pairs."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex(" ") or "(empty)"
    if isinstance(value, int) and not isinstance(value, bool) and data_type in DATA_TYPE_BIT_SIZES:
        octets = (DATA_TYPE_BIT_SIZES[data_type] + _BITS_PER_OCTET - 1) // _BITS_PER_OCTET
        return f"{value} (0x{value & ((1 << _BITS_PER_OCTET * octets) - 1):0{2 * octets}X})"
    return str(value)
