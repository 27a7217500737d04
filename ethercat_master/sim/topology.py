"""Where the simulated slaves are and how a frame travels through them.

The wiring is a tree: the master is cabled to port 0 of slave 0, and every other slave is cabled
with its port 0 to port 1, 2 or 3 of its parent. A line uses port 1 only; a junction uses more
ports: ethercrab's port tests describe an EK1100 coupler with its E-bus terminals on port 3
and the next devices on port 1, and an EK1122 junction inside a terminal block with all four
ports in use.

The frame's path through one ESC follows ESC Section I 3.2 "Frame processing order" (Table 9):
a frame received at port 0 goes through the EtherCAT Processing Unit, then to port 3, then 1,
then 2, and leaves through port 0 (``0 -> EPU -> 3 -> 1 -> 2 -> 0``). An open port sends the
frame out to its neighbour and receives it back from there; a closed (or unimplemented) port
passes it on internally to the next port. The "processing" direction goes through the EPU, the
"forwarding" direction does not. So the processing order of a tree is its pre-order walk with
the children of each slave taken in port order 3, 1, 2, and the auto-increment position of a
slave is its index in that order.

Timing (all in ns, relative to the frame leaving the master): a frame received at port 0 at
``t`` leaves towards the next port at ``t + processing_delay``; a frame received back at an
open port at ``t`` goes on towards the next port at ``t + forwarding_delay``; a closed port adds
no time; every cable adds its one-way delay in both directions. Each reception of the frame at a
port is recorded, which gives the DC receive times and the places where a bit error can hit.
The default delays are of the order ESC hardware descriptions and PHY datasheets give; they are
configurable per cable and per slave.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Sequence

from ..protocol.registers import PORT_COUNT

__all__ = [
    "MASTER",
    "UPSTREAM_PORT",
    "DOWNSTREAM_PORTS",
    "PORTS_AFTER_PROCESSING",
    "DEFAULT_CABLE_DELAY_NS",
    "DEFAULT_PROCESSING_DELAY_NS",
    "DEFAULT_FORWARDING_DELAY_NS",
    "Cable",
    "SlaveTiming",
    "Topology",
    "PortState",
    "Reception",
    "FramePath",
    "route",
]

#: The master's place in the tree: the parent of slave 0.
MASTER = -1
#: Every slave is cabled towards the master through port 0.
UPSTREAM_PORT = 0
#: Ports a child can hang from.
DOWNSTREAM_PORTS = (1, 2, 3)
#: Section I Table 9: after the EtherCAT Processing Unit the frame visits ports 3, 1, 2.
PORTS_AFTER_PROCESSING = (3, 1, 2)

#: One-way delay of a cable including both PHYs (a short 100BASE-TX hop).
DEFAULT_CABLE_DELAY_NS = 250
#: Port 0 reception to the next port's transmission through the EtherCAT Processing Unit.
DEFAULT_PROCESSING_DELAY_NS = 320
#: Reception at a port to the next port's transmission, not through the Processing Unit.
DEFAULT_FORWARDING_DELAY_NS = 280


def _check_delay(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be a non-negative integer of ns, got {value!r}")


@dataclass(frozen=True, slots=True)
class Cable:
    """A cable from ``port`` of slave ``parent`` (:data:`MASTER` for the master) to port 0 of
    slave ``child``, with its one-way delay in ns (the same in both directions)."""

    parent: int
    port: int
    child: int
    delay_ns: int = DEFAULT_CABLE_DELAY_NS

    def __post_init__(self) -> None:
        _check_delay("delay_ns", self.delay_ns)


@dataclass(frozen=True, slots=True)
class SlaveTiming:
    """How long one ESC holds a frame, in ns."""

    #: From the start of the frame at port 0 to its start at the next port, through the EPU.
    processing_delay_ns: int = DEFAULT_PROCESSING_DELAY_NS
    #: From the start of the frame at port 1-3 to its start at the next port.
    forwarding_delay_ns: int = DEFAULT_FORWARDING_DELAY_NS

    def __post_init__(self) -> None:
        _check_delay("processing_delay_ns", self.processing_delay_ns)
        _check_delay("forwarding_delay_ns", self.forwarding_delay_ns)


class Topology:
    """The wiring of ``count`` slaves: a tree rooted at slave 0, which hangs from the master.

    :param count: number of slaves (numbered 0 .. count-1; the numbers name slots in the wiring,
        not auto-increment positions).
    :param cables: one :class:`Cable` for each slave 1 .. count-1, from a parent port 1-3 to the
        slave's port 0.
    :param master_delay_ns: one-way delay of the cable from the master to slave 0.
    :raises ValueError: for a cable that is not part of a tree rooted at slave 0, a port used
        twice, or a slave without an upstream cable.
    """

    def __init__(self, count: int, cables: Iterable[Cable] = (), *,
                 master_delay_ns: int = DEFAULT_CABLE_DELAY_NS) -> None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be a non-negative integer, got {count!r}")
        upstream: dict[int, Cable] = {}
        if count:
            upstream[0] = Cable(MASTER, UPSTREAM_PORT, 0, master_delay_ns)
        children: list[dict[int, int]] = [{} for _ in range(count)]
        for cable in cables:
            self._check_cable(cable, count)
            if cable.child in upstream:
                raise ValueError(f"slave {cable.child} has two upstream links")
            if cable.port in children[cable.parent]:
                raise ValueError(f"port {cable.port} of slave {cable.parent} is cabled twice")
            upstream[cable.child] = cable
            children[cable.parent][cable.port] = cable.child
        missing = [slave for slave in range(count) if slave not in upstream]
        if missing:
            raise ValueError(f"slaves {missing} have no upstream link")
        for slave in range(count):  # every parent chain must end at the master
            seen = set()
            node = slave
            while node != MASTER:
                if node in seen:
                    raise ValueError(f"the cables around slave {slave} form a loop")
                seen.add(node)
                node = upstream[node].parent
        self._count = count
        self._upstream = upstream
        self._children = tuple(dict(sorted(ports.items())) for ports in children)

    @staticmethod
    def _check_cable(cable: Cable, count: int) -> None:
        if not 0 < cable.child < count:
            raise ValueError(f"cable child {cable.child} is outside 1..{count - 1}")
        if not 0 <= cable.parent < count:
            raise ValueError(f"cable parent {cable.parent} is outside 0..{count - 1}")
        if cable.port not in DOWNSTREAM_PORTS:
            raise ValueError(f"a child hangs from port 1, 2 or 3, not {cable.port}")

    @classmethod
    def line(cls, count: int, *, delay_ns: int = DEFAULT_CABLE_DELAY_NS) -> Topology:
        """``count`` slaves in a line, each cabled from port 1 to the next one's port 0."""
        return cls(count, (Cable(i - 1, 1, i, delay_ns) for i in range(1, count)), master_delay_ns=delay_ns)

    @classmethod
    def from_connections(cls, count: int, connections: Iterable[tuple[int, int, int]], *,
                         delay_ns: int = DEFAULT_CABLE_DELAY_NS) -> Topology:
        """A tree from ``(parent, port, child)`` triples: port ``port`` of slave ``parent``
        connects to port 0 of slave ``child``; every cable has ``delay_ns``."""
        return cls(count, (Cable(parent, port, child, delay_ns) for parent, port, child in connections),
                   master_delay_ns=delay_ns)

    @property
    def count(self) -> int:
        """Number of slaves."""
        return self._count

    def __len__(self) -> int:
        return self._count

    def __repr__(self) -> str:
        wiring = ", ".join(f"{cable.parent}.{cable.port}->{cable.child}" for cable in self.cables())
        return f"<Topology of {self._count} slaves{': ' + wiring if wiring else ''}>"

    def upstream(self, slave: int) -> Cable:
        """The cable into port 0 of ``slave`` (for slave 0, the master's cable)."""
        try:
            return self._upstream[slave]
        except KeyError:
            raise ValueError(f"slave {slave!r} is not in this topology of {self._count}") from None

    def children(self, slave: int) -> dict[int, int]:
        """The slaves cabled to ``slave``: {port: child}."""
        return dict(self._children[slave])

    def neighbour(self, slave: int, port: int) -> Optional[int]:
        """The slave at the other end of ``port`` of ``slave`` (:data:`MASTER` for port 0 of
        slave 0), or None for a port without a cable."""
        if port == UPSTREAM_PORT:
            return self.upstream(slave).parent
        return self._children[slave].get(port)

    def cables(self) -> tuple[Cable, ...]:
        """Every cable between two slaves, by child number (the master's cable not included)."""
        return tuple(self._upstream[child] for child in range(1, self._count))


class PortState(enum.Enum):
    """What a port does with a frame that reaches it on its way through the ESC."""

    #: The loop is closed: the frame goes on internally to the next port.
    CLOSED = "closed"
    #: The port is open towards a neighbour: the frame goes out and comes back.
    OPEN = "open"
    #: The port is open but has no link: the frame goes out into nothing and is lost.
    OPEN_WITHOUT_LINK = "open without link"


@dataclass(frozen=True, slots=True)
class Reception:
    """The start of the frame arriving at ``port`` of ``slave`` (or at the master, slave
    :data:`MASTER`) at ``time_ns`` after the frame left the master."""

    slave: int
    port: int
    time_ns: int


@dataclass(frozen=True, slots=True)
class FramePath:
    """The way of one frame through the tree, as :func:`route` found it.

    ``receptions`` are in the order they happen. ``order`` lists the slaves whose Processing
    Unit the frame passes, in that order (their port 0 receptions). ``returned`` tells whether
    the frame came back to the master (False when it left through an open port without link,
    or found no slave at all).
    """

    receptions: tuple[Reception, ...]
    order: tuple[int, ...]
    returned: bool

    @property
    def return_ns(self) -> Optional[int]:
        """When the frame arrives back at the master, or None if it does not."""
        return self.receptions[-1].time_ns if self.returned else None

    def port_times(self, slave: int, receptions: Optional[int] = None) -> tuple[Optional[int], ...]:
        """Reception time at ports 0-3 of ``slave`` (None: the frame was not received there),
        counting only the first ``receptions`` receptions when given."""
        times: list[Optional[int]] = [None] * PORT_COUNT
        for reception in self.receptions[:receptions]:
            if reception.slave == slave:
                times[reception.port] = reception.time_ns
        return tuple(times)


def route(topology: Topology, timings: Sequence[SlaveTiming], port_state: Callable[[int, int], PortState],
          entry_linked: bool) -> FramePath:
    """Follow a frame from the master through the tree.

    :param timings: one :class:`SlaveTiming` per slave.
    :param port_state: the state of port 1-3 of a slave the frame reaches.
    :param entry_linked: whether the master's cable to slave 0 has a link (else the frame is
        lost at once).
    """
    if len(timings) != topology.count:
        raise ValueError(f"{len(timings)} timings for {topology.count} slaves")
    receptions: list[Reception] = []
    order: list[int] = []
    if not entry_linked or not topology.count:
        return FramePath((), (), False)
    # Depth-first walk without recursion (a line may be thousands of slaves long). Each stack
    # entry is [slave, time the frame goes on to the next port, index into the port order].
    stack: list[list[int]] = []

    def enter(slave: int, arrival: int) -> None:
        receptions.append(Reception(slave, UPSTREAM_PORT, arrival))
        order.append(slave)
        stack.append([slave, arrival + timings[slave].processing_delay_ns, 0])

    enter(0, topology.upstream(0).delay_ns)
    while True:  # ends when the frame is back at the master or lost
        entry = stack[-1]
        slave, cursor, index = entry
        if index == len(PORTS_AFTER_PROCESSING):  # out through port 0, back to the parent
            stack.pop()
            cable = topology.upstream(slave)
            back = cursor + cable.delay_ns
            if not stack:
                receptions.append(Reception(MASTER, UPSTREAM_PORT, back))
                return FramePath(tuple(receptions), tuple(order), True)
            receptions.append(Reception(cable.parent, cable.port, back))
            stack[-1][1] = back + timings[cable.parent].forwarding_delay_ns
            continue
        entry[2] = index + 1
        port = PORTS_AFTER_PROCESSING[index]
        state = port_state(slave, port)
        if state is PortState.CLOSED:
            continue
        if state is PortState.OPEN_WITHOUT_LINK:
            return FramePath(tuple(receptions), tuple(order), False)
        child = topology.neighbour(slave, port)
        if child is None:
            raise ValueError(f"port {port} of slave {slave} is open but has no cable")
        enter(child, cursor + topology.upstream(child).delay_ns)
