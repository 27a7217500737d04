"""YAML read with its line numbers: values that know where they were written.

:func:`compose` turns a YAML text into a :class:`Value` tree without constructing Python objects
first, so that every value keeps the line it came from and the dotted path of its field
(``slaves[2].startup_sdos[0].index``). The typed readers of :class:`Value` (``integer``,
``duration_ns``, ``choice`` ...) and of :class:`Mapping` (``take``, ``require``, ``finish``)
raise :class:`~ethercat_master.errors.ConfigError` naming the file, that line, that field and
what was expected. :meth:`Mapping.finish` rejects keys nobody asked for, with a "did you mean"
suggestion among the keys that were asked for.

Only the YAML safe schema is used (``yaml.SafeLoader``): plain data, no Python objects.
Integers may be written in decimal or hex (``0x1A00``, YAML 1.1) and, quoted, as ``"0x1A00"``.
Durations are written with a unit (``"1ms"``, ``"500us"``, ``"250 ns"``, ``"2s"``) or as a
plain number of seconds (``0.001``).

This module is independent of what the file describes; the network description
(:mod:`~ethercat_master.config.network`) uses it, and other YAML readers may.
"""

from __future__ import annotations

import difflib
import enum
import math
import re
from pathlib import Path
from typing import Any, NoReturn, Optional, TypeVar, Union

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import ConfigError

__all__ = ["DOCUMENT_FIELD", "FILE_FIELD", "NS_PER_UNIT", "Value", "Mapping", "compose", "load_file",
           "format_duration_ns", "parse_duration_ns"]

#: The field named by errors about the document as a whole (syntax, empty file).
DOCUMENT_FIELD = "(document)"
#: The field named by errors about reading the file itself.
FILE_FIELD = "(file)"
#: Nanoseconds per duration unit, as written after a number (``"1ms"``).
NS_PER_UNIT: dict[str, int] = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
_NS_PER_S = NS_PER_UNIT["s"]
#: Units :func:`format_duration_ns` writes, largest first.
_FORMAT_UNITS = (("s", _NS_PER_S), ("ms", 1_000_000), ("us", 1_000), ("ns", 1))
_DURATION = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(ns|us|µs|ms|s)\s*$")
_INTEGER_TEXT = re.compile(r"^\s*[+-]?(?:0[xX][0-9a-fA-F_]+|0[bB][01_]+|\d[\d_]*)\s*$")
_MERGE_TAG = "tag:yaml.org,2002:merge"
#: The safe loader, in C (libyaml) when PyYAML has it: the same nodes and marks, faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
#: How many keys a "did you mean" suggestion may name.
_SUGGESTIONS = 1
_SUGGESTION_CUTOFF = 0.6

E = TypeVar("E", bound=enum.Enum)


def _bounds(minimum: Optional[float], maximum: Optional[float]) -> str:
    if minimum is not None and maximum is not None:
        return f" in {minimum}..{maximum}"
    if minimum is not None:
        return f" >= {minimum}"
    return f" <= {maximum}" if maximum is not None else ""


def parse_duration_ns(value: Any) -> Optional[int]:
    """A duration in whole nanoseconds from ``"1ms"``-style text or a number of seconds;
    None when ``value`` is neither or is not a whole number of nanoseconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value * _NS_PER_S
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        amount, unit_ns = value, _NS_PER_S
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            return None
        text, unit = match.groups()
        unit_ns = NS_PER_UNIT[unit]
        if "." not in text and "e" not in text.lower():
            return int(text) * unit_ns
        amount = float(text)
    else:
        return None
    ns = amount * unit_ns
    if not math.isfinite(ns):
        return None
    whole = round(ns)
    return whole if abs(ns - whole) <= 1e-6 * max(1.0, abs(ns)) else None


def format_duration_ns(ns: int) -> str:
    """``ns`` as text :func:`parse_duration_ns` reads back exactly, in the largest unit that
    divides it (``1_000_000`` -> ``"1ms"``, ``0`` -> ``"0s"``)."""
    for unit, size in _FORMAT_UNITS:
        if ns % size == 0:
            return f"{ns // size}{unit}"
    raise AssertionError("every integer is a whole number of nanoseconds")


class Value:
    """One YAML value with its file, line and field path.

    :ivar file: the file it was read from (or ``"<string>"``).
    :ivar node: the YAML node.
    :ivar field: dotted path of the field, e.g. ``"slaves[2].identity.vendor_id"``.
    """

    __slots__ = ("file", "node", "field", "_constructor")

    def __init__(self, file: str, node: Node, field: str,
                 constructor: Optional[yaml.constructor.SafeConstructor] = None) -> None:
        self.file = file
        self.node = node
        self.field = field
        self._constructor = yaml.constructor.SafeConstructor() if constructor is None else constructor

    def child(self, node: Node, field: str) -> Value:
        """A value inside this one (same file)."""
        return Value(self.file, node, field, self._constructor)

    @property
    def line(self) -> int:
        """1-based line where the value starts."""
        return self.node.start_mark.line + 1

    def fail(self, expected: str) -> NoReturn:
        """Raise :class:`ConfigError` for this value: ``expected`` says what should be here."""
        raise ConfigError(self.file, self.line, self.field, expected)

    def _got(self) -> str:
        if isinstance(self.node, ScalarNode):
            return f", got {self.node.value!r}"
        return ", got a list" if isinstance(self.node, SequenceNode) else ", got a mapping"

    # ----------------------------------------------------------------------- scalars
    def scalar(self, expected: str = "a single value") -> Any:
        """The value as the YAML safe schema reads it (int, float, str, bool, None)."""
        if not isinstance(self.node, ScalarNode):
            self.fail(expected + self._got())
        try:
            return self._constructor.construct_object(self.node, deep=True)
        except (yaml.YAMLError, ValueError, OverflowError):
            self.fail(expected + self._got())

    def integer(self, minimum: Optional[int] = None, maximum: Optional[int] = None, what: str = "an integer") -> int:
        """An integer (decimal, ``0x`` hex, ``0b`` binary; quoted text of those too) within the
        bounds; ``what`` names it in the error."""
        expected = f"{what}{_bounds(minimum, maximum)}"
        value = self.scalar(expected)
        if isinstance(value, str) and _INTEGER_TEXT.match(value):
            try:
                value = int(value.strip(), 0)
            except ValueError:
                self.fail(expected + self._got())
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(expected + self._got())
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.fail(expected + self._got())
        return value

    def number(self, minimum: Optional[float] = None, maximum: Optional[float] = None, *,
               exclusive_minimum: bool = False) -> float:
        """A finite number within the bounds (``minimum`` itself excluded when
        ``exclusive_minimum``)."""
        low = "" if minimum is None else (f" > {minimum}" if exclusive_minimum else f" >= {minimum}")
        expected = f"a number{low}" + ("" if maximum is None else f" <= {maximum}")
        value = self.scalar(expected)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            self.fail(expected + self._got())
        if minimum is not None and (value < minimum or (exclusive_minimum and value == minimum)):
            self.fail(expected + self._got())
        if maximum is not None and value > maximum:
            self.fail(expected + self._got())
        return float(value)

    def string(self, what: str = "a non-empty text") -> str:
        """A non-empty text."""
        value = self.scalar(what)
        if not isinstance(value, str) or not value.strip():
            self.fail(what + self._got())
        return value

    def boolean(self) -> bool:
        """``true`` or ``false``."""
        value = self.scalar("true or false")
        if not isinstance(value, bool):
            self.fail("true or false" + self._got())
        return value

    def choice(self, options: type[E]) -> E:
        """A member of the enum ``options``, written as its value."""
        names = {member.value: member for member in options}
        expected = "one of " + ", ".join(str(name) for name in names)
        value = self.scalar(expected)
        if not isinstance(value, str) or value not in names:
            self.fail(expected + self._got())
        return names[value]

    def duration_ns(self, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
        """A duration (``"1ms"``, ``"500us"``, seconds as a number) in whole nanoseconds,
        within the bounds (in nanoseconds)."""
        limits = ""
        if minimum is not None:
            limits += f" >= {format_duration_ns(minimum)}"
        if maximum is not None:
            limits += f" <= {format_duration_ns(maximum)}"
        expected = f"a duration such as \"1ms\", \"500us\" or seconds as a number{limits}"
        ns = parse_duration_ns(self.scalar(expected))
        if ns is None or (minimum is not None and ns < minimum) or (maximum is not None and ns > maximum):
            self.fail(expected + self._got())
        return ns

    # -------------------------------------------------------------------- collections
    def items(self, what: str = "a list") -> list[Value]:
        """The elements of a list, each with its path ``field[n]``."""
        if not isinstance(self.node, SequenceNode):
            self.fail(what + self._got())
        return [self.child(item, f"{self.field}[{n}]") for n, item in enumerate(self.node.value)]

    def is_list(self) -> bool:
        """True when the value is a YAML list."""
        return isinstance(self.node, SequenceNode)

    def mapping(self) -> Mapping:
        """The value as a mapping of text keys."""
        return Mapping(self)


class Mapping:
    """A YAML mapping whose keys are taken one by one; :meth:`finish` rejects the others.

    Every key asked for (present or not) counts as known, so :meth:`finish` can suggest the
    closest known key for a misspelt one.
    """

    __slots__ = ("value", "_items", "_asked")

    def __init__(self, value: Value) -> None:
        if not isinstance(value.node, MappingNode):
            value.fail("a mapping of keys to values" + value._got())
        self.value = value
        self._items: dict[str, tuple[Value, Value]] = {}
        self._asked: list[str] = []
        written: set[str] = set()
        for key_node, value_node, own in _pairs(value, value.node, set()):
            key_value = value.child(key_node, value.field or DOCUMENT_FIELD)
            key = key_value.scalar("text keys")
            if not isinstance(key, str):
                key_value.fail(f"text keys, got {key_node.value!r}")
            path = self.path(key)
            if own:
                if key in written:
                    value.child(key_node, path).fail("each key once")
                written.add(key)
            self._items[key] = (value.child(key_node, path), value.child(value_node, path))

    @property
    def field(self) -> str:
        """Dotted path of the mapping itself."""
        return self.value.field

    def path(self, key: str) -> str:
        """Dotted path of ``key`` in this mapping."""
        return f"{self.field}.{key}" if self.field else key

    def has(self, key: str) -> bool:
        """True when ``key`` is written (it does not count as asked for)."""
        return key in self._items

    def take(self, key: str) -> Optional[Value]:
        """The value of ``key`` (now known), or None when it is absent."""
        if key not in self._asked:
            self._asked.append(key)
        item = self._items.get(key)
        return None if item is None else item[1]

    def require(self, key: str, expected: str) -> Value:
        """The value of ``key``; when absent, :class:`ConfigError` at a misspelling of it, else
        at the mapping's line."""
        value = self.take(key)
        if value is None:
            unknown = [written for written in self._items if written not in self._asked]
            close = difflib.get_close_matches(key, unknown, _SUGGESTIONS, _SUGGESTION_CUTOFF)
            if close:
                self._items[close[0]][0].fail(f"a known key (did you mean {key!r}?)")
            raise ConfigError(self.value.file, self.value.line, self.path(key), f"{expected} (missing)")
        return value

    def fail(self, key: str, expected: str) -> NoReturn:
        """Raise :class:`ConfigError` for ``key``: at its value's line when written, else at
        the mapping's."""
        item = self._items.get(key)
        line = self.value.line if item is None else item[1].line
        raise ConfigError(self.value.file, line, self.path(key), expected)

    def exclusive(self, *keys: str) -> Optional[str]:
        """The one of ``keys`` that is written (None when none is); :class:`ConfigError` when
        several are."""
        written = [key for key in self._items if key in keys]  # in file order
        if len(written) > 1:
            self.fail(written[1], f"only one of {', '.join(keys)} (both {written[0]} and {written[1]} are given)")
        return written[0] if written else None

    def finish(self) -> None:
        """Reject keys nobody asked for, suggesting the closest known key."""
        for key, (key_value, _) in self._items.items():
            if key in self._asked:
                continue
            close = difflib.get_close_matches(key, self._asked, _SUGGESTIONS, _SUGGESTION_CUTOFF)
            hint = f"did you mean {close[0]!r}? " if close else ""
            key_value.fail(f"a known key ({hint}known keys: {', '.join(sorted(self._asked))})")


def _pairs(value: Value, node: MappingNode, visiting: set[int]) -> list[tuple[Node, Node, bool]]:
    """The (key, value, own) pairs of a mapping with its YAML merge keys (``<<: *anchor`` or
    ``<<: [*a, *b]``) applied: merged pairs first (earlier sources win), then the mapping's own
    pairs (which win over merged ones). The nodes are left as they are."""
    if id(node) in visiting:
        value.fail("merge keys (<<) that do not include the mapping itself")
    visiting.add(id(node))
    merged: dict[object, tuple[Node, Node, bool]] = {}
    own: list[tuple[Node, Node, bool]] = []
    for key_node, value_node in node.value:
        if key_node.tag != _MERGE_TAG:
            own.append((key_node, value_node, True))
            continue
        sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
        for source in reversed(sources):
            if not isinstance(source, MappingNode):
                value.child(value_node, value.field).fail("merge keys (<<) naming mappings")
            for pair in _pairs(value, source, visiting):
                merged[pair[0].value if isinstance(pair[0], ScalarNode) else id(pair[0])] = (pair[0], pair[1], False)
    visiting.discard(id(node))
    return list(merged.values()) + own


def compose(text: str, file: str = "<string>") -> Value:
    """The root value of a YAML document; :class:`ConfigError` for a syntax error (with its
    line) or an empty document."""
    try:
        root = yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(file, line, DOCUMENT_FIELD, f"valid YAML ({problem})") from None
    if root is None:
        raise ConfigError(file, None, DOCUMENT_FIELD, "a YAML document, got an empty file")
    return Value(file, root, "")


def load_file(path: Union[str, Path]) -> Value:
    """Read and compose a YAML file; :class:`ConfigError` when it cannot be read."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:  # ValueError: a path with a NUL character
        if isinstance(exc, UnicodeDecodeError):
            raise ConfigError(str(path), None, FILE_FIELD,
                              f"UTF-8 text ({exc.reason} at byte {exc.start})") from None
        raise ConfigError(str(path), None, FILE_FIELD,
                          f"a readable file ({getattr(exc, 'strerror', None) or exc})") from None
    return compose(text, str(path))
