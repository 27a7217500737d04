"""A simulated chain described in YAML: the slaves and their settings, the wiring, the DC clocks
and the faults, validated with errors that name the file, the line, the field and what was
expected (:class:`~ethercat_master.errors.ConfigError`).

Format (every key but ``slaves`` and ``device`` is optional)::

    clock_seed: 7                 # seeds the DC clocks of slaves without a `clock`
    slaves:
      - device: EK1100            # EK1100 | EL1008 | EL2008 | EL3102 | CiA402Drive
        label: coupler            # a name for topology and fault references
        alias: 0x0010             # configured station alias in the EEPROM
        serial_number: 1
        clock: {initial_ns: 0, drift_ppm: 12.5}
      - device: EL1008
        inputs: 0xA5              # the 8 inputs, bit n = channel n + 1
        pattern: fixed            # fixed | counter | walking
        period_ms: 100            # step of a counter or walking pattern
      - device: EL3102
        device_name: ...          # 0x1008 and SII name
        channels:                 # exactly 2
          - {signal: sine, amplitude: 5.0, frequency: 0.5, offset: 0.0, phase: 0.0}
          - {signal: constant, offset: 2.5}      # constant | sine | ramp (volts, Hz, cycles)
      - device: CiA402Drive       # DriveConfig fields: vendor_id, product_code, revision,
        device_name: Axis 1       #   device_name, hardware_version, software_version,
        counts_per_revolution: 131072   # counts_per_revolution, max_velocity, ...
        order_code: SimServo-402
    topology:                     # default: a line, each slave's port 1 to the next
      delay_ns: 250
      connections:                # (parent, port 1-3, child) of every slave but the first
        - {parent: coupler, port: 1, child: 1}
    faults:                       # a FaultPlan
      seed: 3
      loss: {probability: 0.001, every: 0}   # also corruption, delay, duplication
      delay_s: [0.0, 0.002]
      duplicate_gap_s: 0.0
      events:
        - {action: power_off, slave: 2, at_frame: 1000}   # or at_s: seconds after the start
        - {action: power_on, slave: 2, at_frame: 1500}    # power_off | power_on | disconnect | reconnect

Slaves are referred to by their position in the list or by their ``label``. Integers may be
written in hex (0x...) or binary (0b...).
"""

from __future__ import annotations

import dataclasses
import enum
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, NoReturn, Optional, Union

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ..errors import ConfigError
from ..protocol.registers import PortType
from .chain import SlaveChain
from .dc import ClockSpec, TimeSource
from .devices.beckhoff import EK1100, EL1008, EL2008, EL3102, AnalogSignal, InputPattern, SignalShape
from .devices.cia402_drive import DriveConfig
from .devices.drive import DRIVE_ORDER_CODE, Cia402DriveModel
from .faults import FaultPlan, FaultRate, TopologyAction, TopologyEvent
from .slave import DeviceModel, build_chain
from .topology import DEFAULT_CABLE_DELAY_NS, Topology

__all__ = ["DEVICE_TYPES", "SlaveConfig", "ScheduledEvent", "ChainConfig", "LoadedChain", "parse_chain_config",
           "load_chain_config", "load_chain"]

_NS_PER_MS = 1_000_000
_NS_PER_S = 1_000_000_000
_U16_MAX = 0xFFFF
_U32_MAX = 0xFFFF_FFFF
_UNSET: Any = object()


# -------------------------------------------------------------------------------- reading
class _Reader:
    """Turns YAML nodes into values, raising :class:`ConfigError` with their line."""

    def __init__(self, file: str) -> None:
        self.file = file
        self._loader = yaml.SafeLoader("")

    def fail(self, node: Node, field: str, expected: str) -> NoReturn:
        raise ConfigError(self.file, node.start_mark.line + 1, field, expected)

    def scalar(self, node: Node, field: str) -> Any:
        if not isinstance(node, ScalarNode):
            self.fail(node, field, "a single value")
        return self._loader.construct_object(node, deep=True)

    def integer(self, node: Node, field: str, minimum: Optional[int] = None, maximum: Optional[int] = None) -> int:
        value = self.scalar(node, field)
        bounds = _bounds(minimum, maximum)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(node, field, f"an integer{bounds}, got {value!r}")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.fail(node, field, f"an integer{bounds}, got {value!r}")
        return value

    def number(self, node: Node, field: str, minimum: Optional[float] = None,
               maximum: Optional[float] = None) -> float:
        value = self.scalar(node, field)
        bounds = _bounds(minimum, maximum)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.fail(node, field, f"a number{bounds}, got {value!r}")
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.fail(node, field, f"a number{bounds}, got {value!r}")
        return float(value)

    def string(self, node: Node, field: str) -> str:
        value = self.scalar(node, field)
        if not isinstance(value, str) or not value:
            self.fail(node, field, f"a non-empty text, got {value!r}")
        return value

    def choice(self, node: Node, field: str, options: type[enum.Enum]) -> Any:
        value = self.scalar(node, field)
        names = {member.value: member for member in options}
        if value not in names:
            self.fail(node, field, f"one of {', '.join(sorted(names))}, got {value!r}")
        return names[value]

    def sequence(self, node: Node, field: str) -> list[Node]:
        if not isinstance(node, SequenceNode):
            self.fail(node, field, "a list")
        return list(node.value)


def _bounds(minimum: Optional[float], maximum: Optional[float]) -> str:
    if minimum is not None and maximum is not None:
        return f" in {minimum}..{maximum}"
    if minimum is not None:
        return f" >= {minimum}"
    return f" <= {maximum}" if maximum is not None else ""


class _Mapping:
    """A YAML mapping whose keys are taken one by one; :meth:`finish` rejects the others."""

    def __init__(self, reader: _Reader, node: Node, field: str) -> None:
        if not isinstance(node, MappingNode):
            reader.fail(node, field, "a mapping of keys to values")
        self.reader = reader
        self.node = node
        self.field = field
        self._items: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = reader.scalar(key_node, field)
            if not isinstance(key, str):
                reader.fail(key_node, field, f"text keys, got {key!r}")
            if key in self._items:
                reader.fail(key_node, f"{self.path(key)}", "each key once")
            self._items[key] = (key_node, value_node)
        self._taken: set[str] = set()

    def path(self, key: str) -> str:
        return f"{self.field}.{key}" if self.field else key

    def take(self, key: str) -> Optional[Node]:
        """The value node of ``key`` (marked as used), or None when absent."""
        self._taken.add(key)
        item = self._items.get(key)
        return None if item is None else item[1]

    def require(self, key: str, expected: str) -> Node:
        node = self.take(key)
        if node is None:
            self.reader.fail(self.node, self.path(key), expected)
        return node

    def integer(self, key: str, default: Any = _UNSET, minimum: Optional[int] = None,
                maximum: Optional[int] = None) -> Any:
        node = self.take(key)
        if node is None:
            return self._default(key, default, f"an integer{_bounds(minimum, maximum)}")
        return self.reader.integer(node, self.path(key), minimum, maximum)

    def number(self, key: str, default: Any = _UNSET, minimum: Optional[float] = None,
               maximum: Optional[float] = None) -> Any:
        node = self.take(key)
        if node is None:
            return self._default(key, default, f"a number{_bounds(minimum, maximum)}")
        return self.reader.number(node, self.path(key), minimum, maximum)

    def string(self, key: str, default: Any = _UNSET) -> Any:
        node = self.take(key)
        if node is None:
            return self._default(key, default, "a non-empty text")
        return self.reader.string(node, self.path(key))

    def choice(self, key: str, options: type[enum.Enum], default: Any = _UNSET) -> Any:
        node = self.take(key)
        if node is None:
            return self._default(key, default, f"one of {', '.join(m.value for m in options)}")
        return self.reader.choice(node, self.path(key), options)

    def mapping(self, key: str) -> Optional[_Mapping]:
        node = self.take(key)
        return None if node is None else _Mapping(self.reader, node, self.path(key))

    def _default(self, key: str, default: Any, expected: str) -> Any:
        if default is _UNSET:
            self.reader.fail(self.node, self.path(key), expected)
        return default

    def finish(self) -> None:
        """Reject keys nobody asked for."""
        for key, (key_node, _) in self._items.items():
            if key not in self._taken:
                known = ", ".join(sorted(self._taken))
                self.reader.fail(key_node, self.path(key), f"one of the keys {known}")


# --------------------------------------------------------------------------------- devices
def _common(settings: _Mapping) -> dict[str, int]:
    return {"alias": settings.integer("alias", 0, 0, _U16_MAX),
            "serial_number": settings.integer("serial_number", 0, 0, _U32_MAX)}


def _ek1100(settings: _Mapping) -> DeviceModel:
    return EK1100(**_common(settings))


def _el1008(settings: _Mapping) -> DeviceModel:
    common = _common(settings)
    value = settings.integer("inputs", 0, 0, 0xFF)
    pattern = settings.choice("pattern", InputPattern, InputPattern.FIXED)
    period_ms = settings.number("period_ms", 100.0, 0.001)
    return EL1008(value=value, pattern=pattern, period_ns=round(period_ms * _NS_PER_MS), **common)


def _el2008(settings: _Mapping) -> DeviceModel:
    return EL2008(**_common(settings))


def _signal(settings: _Mapping) -> AnalogSignal:
    signal = AnalogSignal(shape=settings.choice("signal", SignalShape, SignalShape.CONSTANT),
                          offset=settings.number("offset", 0.0), amplitude=settings.number("amplitude", 0.0),
                          frequency=settings.number("frequency", 1.0, 1e-9), phase=settings.number("phase", 0.0))
    settings.finish()
    return signal


def _el3102(settings: _Mapping) -> DeviceModel:
    common = _common(settings)
    name = settings.string("device_name", None)
    node = settings.take("channels")
    signals: tuple[AnalogSignal, ...] = (AnalogSignal(), AnalogSignal())
    if node is not None:
        reader = settings.reader
        field = settings.path("channels")
        items = reader.sequence(node, field)
        if len(items) != EL3102.CHANNELS:
            reader.fail(node, field, f"a list of {EL3102.CHANNELS} channels, got {len(items)}")
        signals = tuple(_signal(_Mapping(reader, item, f"{field}[{n}]")) for n, item in enumerate(items))
    return EL3102(signals=signals, device_name=name, **common)


def _drive(settings: _Mapping) -> DeviceModel:
    alias = settings.integer("alias", 0, 0, _U16_MAX)
    order_code = settings.string("order_code", DRIVE_ORDER_CODE)
    reader = settings.reader
    values: dict[str, Any] = {}
    for item in dataclasses.fields(DriveConfig):
        node = settings.take(item.name)
        if node is None:
            continue
        field = settings.path(item.name)
        values[item.name] = reader.string(node, field) if isinstance(item.default, str) else reader.integer(node, field)
    try:
        config = DriveConfig(**values)
    except ValueError as exc:
        settings.reader.fail(settings.node, settings.field, f"a consistent drive configuration ({exc})")
    return Cia402DriveModel(config, order_code=order_code, alias=alias)


#: Device type name (the ``device`` key) -> builder of its model from the slave's settings.
DEVICE_TYPES: dict[str, Callable[[_Mapping], DeviceModel]] = {
    "EK1100": _ek1100,
    "EL1008": _el1008,
    "EL2008": _el2008,
    "EL3102": _el3102,
    "CiA402Drive": _drive,
}


# ----------------------------------------------------------------------------------- model
@dataclass(frozen=True, slots=True)
class SlaveConfig:
    """One slave of a chain file: its label, its device model, its DC clock (None: seeded)."""

    label: Optional[str]
    model: DeviceModel
    clock: Optional[ClockSpec]


@dataclass(frozen=True, slots=True)
class ScheduledEvent:
    """A topology event of the chain file: at frame ``at_frame`` or ``at_s`` seconds after the
    chain was built."""

    action: TopologyAction
    slave: int
    at_frame: Optional[int]
    at_s: Optional[float]


@dataclass(frozen=True, slots=True)
class LoadedChain:
    """A chain built from a chain file: the :class:`SlaveChain`, the fault plan (None without
    ``faults``) and the slaves' labels by position."""

    chain: SlaveChain
    fault_plan: Optional[FaultPlan]
    labels: tuple[Optional[str], ...]


@dataclass(frozen=True, slots=True)
class ChainConfig:
    """A validated chain file; :meth:`build` makes the chain."""

    file: str
    slaves: tuple[SlaveConfig, ...]
    clock_seed: int
    topology: Optional[Topology]
    faults: Optional[FaultPlan]
    events: tuple[ScheduledEvent, ...]

    def build(self, time_source: Optional[TimeSource] = None) -> LoadedChain:
        """The chain (every slave at power-on) and its fault plan; event times given in
        seconds count from now (``time_source``, default :func:`time.monotonic_ns`)."""
        source: TimeSource = time.monotonic_ns if time_source is None else time_source
        rng = random.Random(self.clock_seed)
        clocks = [slave.clock if slave.clock is not None else ClockSpec.random(rng) for slave in self.slaves]
        chain = build_chain([slave.model for slave in self.slaves], topology=self.topology, clocks=clocks,
                            time_source=source)
        plan = self.faults
        if plan is not None:
            start = source()
            events = tuple(TopologyEvent(e.action, e.slave, at_frame=e.at_frame,
                                         at_time_ns=None if e.at_s is None else start + round(e.at_s * _NS_PER_S))
                           for e in self.events)
            plan = dataclasses.replace(plan, events=events)
        return LoadedChain(chain, plan, tuple(slave.label for slave in self.slaves))


def _slave(reader: _Reader, node: Node, field: str) -> SlaveConfig:
    settings = _Mapping(reader, node, field)
    device_node = settings.require("device", f"a device type: one of {', '.join(DEVICE_TYPES)}")
    device = reader.scalar(device_node, settings.path("device"))
    if device not in DEVICE_TYPES:
        reader.fail(device_node, settings.path("device"), f"one of {', '.join(DEVICE_TYPES)}, got {device!r}")
    label = settings.string("label", None)
    clock = None
    clock_settings = settings.mapping("clock")
    if clock_settings is not None:
        clock = ClockSpec(clock_settings.integer("initial_ns", 0, 0),
                          clock_settings.number("drift_ppm", 0.0, -1000.0, 1000.0))
        clock_settings.finish()
    model = DEVICE_TYPES[device](settings)
    settings.finish()
    return SlaveConfig(label, model, clock)


class _SlaveRefs:
    """Resolves a slave reference (position or label)."""

    def __init__(self, reader: _Reader, slaves: tuple[SlaveConfig, ...]) -> None:
        self.reader = reader
        self.slaves = slaves
        self.count = len(slaves)
        self.labels = {slave.label: n for n, slave in enumerate(slaves) if slave.label is not None}

    def resolve(self, node: Node, field: str) -> int:
        value = self.reader.scalar(node, field)
        expected = f"a slave position 0..{self.count - 1} or a label ({', '.join(self.labels) or 'none defined'})"
        if isinstance(value, str) and value in self.labels:
            return self.labels[value]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < self.count:
            self.reader.fail(node, field, f"{expected}, got {value!r}")
        return value


def _topology(settings: _Mapping, refs: _SlaveRefs) -> Topology:
    reader = settings.reader
    delay = settings.integer("delay_ns", DEFAULT_CABLE_DELAY_NS, 0)
    node = settings.take("connections")
    settings.finish()
    if node is None:
        return Topology.line(refs.count, delay_ns=delay)
    triples = []
    field = settings.path("connections")
    for n, item in enumerate(reader.sequence(node, field)):
        link = _Mapping(reader, item, f"{field}[{n}]")
        parent = refs.resolve(link.require("parent", "the parent slave"), link.path("parent"))
        port_node = link.require("port", "the parent's port 1, 2 or 3")
        port = reader.integer(port_node, link.path("port"), 1, 3)
        ports = refs.slaves[parent].model.description.esc.ports
        if ports[port] is PortType.NOT_IMPLEMENTED:
            implemented = [number for number, kind in enumerate(ports)
                           if number and kind is not PortType.NOT_IMPLEMENTED]
            reader.fail(port_node, link.path("port"),
                        f"a port the parent's ESC implements: {', '.join(map(str, implemented)) or 'none'}")
        child = refs.resolve(link.require("child", "the child slave"), link.path("child"))
        link.finish()
        triples.append((parent, port, child))
    try:
        return Topology.from_connections(refs.count, triples, delay_ns=delay)
    except ValueError as exc:
        reader.fail(node, field, f"a tree rooted at slave 0 with one upstream cable per other slave ({exc})")


def _rate(settings: _Mapping, key: str) -> FaultRate:
    rate = settings.mapping(key)
    if rate is None:
        return FaultRate()
    result = FaultRate(rate.number("probability", 0.0, 0.0, 1.0), rate.integer("every", 0, 0))
    rate.finish()
    return result


def _faults(settings: _Mapping, refs: _SlaveRefs) -> tuple[FaultPlan, tuple[ScheduledEvent, ...]]:
    reader = settings.reader
    seed = settings.integer("seed", 0)
    rates = {key: _rate(settings, key) for key in ("loss", "corruption", "delay", "duplication")}
    delay: tuple[float, float] = (0.0, 0.0)
    node = settings.take("delay_s")
    if node is not None:
        field = settings.path("delay_s")
        items = reader.sequence(node, field)
        if len(items) != 2:
            reader.fail(node, field, "[low, high] in seconds")
        low, high = (reader.number(item, field, 0.0) for item in items)
        if low > high:
            reader.fail(node, field, f"low <= high, got [{low}, {high}]")
        delay = (low, high)
    gap = settings.number("duplicate_gap_s", 0.0, 0.0)
    events = []
    node = settings.take("events")
    if node is not None:
        field = settings.path("events")
        for n, item in enumerate(reader.sequence(node, field)):
            event = _Mapping(reader, item, f"{field}[{n}]")
            action_node = event.require("action", "power_off, power_on, disconnect or reconnect")
            action = _ACTIONS.get(reader.scalar(action_node, event.path("action")))
            if action is None:
                reader.fail(action_node, event.path("action"), f"one of {', '.join(_ACTIONS)}")
            slave = refs.resolve(event.require("slave", "the slave it happens to"), event.path("slave"))
            at_frame = event.integer("at_frame", None, 1)
            at_s = event.number("at_s", None, 0.0)
            if (at_frame is None) == (at_s is None):
                reader.fail(item, event.field, "exactly one of at_frame and at_s")
            event.finish()
            events.append(ScheduledEvent(action, slave, at_frame, at_s))
    settings.finish()
    plan = FaultPlan(seed=seed, loss=rates["loss"], corruption=rates["corruption"], delay=rates["delay"],
                     delay_s=delay, duplication=rates["duplication"], duplicate_gap_s=gap)
    return plan, tuple(events)


_ACTIONS = {"power_off": TopologyAction.POWER_OFF, "power_on": TopologyAction.POWER_ON,
            "disconnect": TopologyAction.DISCONNECT, "reconnect": TopologyAction.RECONNECT}


# -------------------------------------------------------------------------------- entry
def parse_chain_config(text: str, file: str = "<string>") -> ChainConfig:
    """Validate a chain description; :class:`ConfigError` names ``file``, line and field."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = None if mark is None else mark.line + 1
        raise ConfigError(file, line, "(document)", f"valid YAML ({getattr(exc, 'problem', exc)})") from None
    if root is None:
        raise ConfigError(file, None, "(document)", "a mapping with a `slaves` list")
    reader = _Reader(file)
    top = _Mapping(reader, root, "")
    clock_seed = top.integer("clock_seed", 0)
    slaves_node = top.require("slaves", "a list of slaves")
    items = reader.sequence(slaves_node, "slaves")
    if not items:
        reader.fail(slaves_node, "slaves", "at least one slave")
    slaves = tuple(_slave(reader, item, f"slaves[{n}]") for n, item in enumerate(items))
    labels = [slave.label for slave in slaves if slave.label is not None]
    if len(set(labels)) != len(labels):
        reader.fail(slaves_node, "slaves", "distinct labels")
    refs = _SlaveRefs(reader, slaves)
    topology_settings = top.mapping("topology")
    topology = None if topology_settings is None else _topology(topology_settings, refs)
    faults_settings = top.mapping("faults")
    plan, events = (None, ()) if faults_settings is None else _faults(faults_settings, refs)
    top.finish()
    return ChainConfig(file, slaves, clock_seed, topology, plan, events)


def load_chain_config(path: Union[str, Path]) -> ChainConfig:
    """Read and validate a chain file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), None, "(file)", f"a readable file ({exc.strerror})") from None
    return parse_chain_config(text, str(path))


def load_chain(path: Union[str, Path], *, time_source: Optional[TimeSource] = None) -> LoadedChain:
    """Read a chain file and build its chain."""
    return load_chain_config(path).build(time_source)
