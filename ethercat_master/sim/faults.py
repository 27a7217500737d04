"""Seeded, reproducible frame-level faults between the link and the slave chain.

A :class:`FaultyWire` carries each request through a :class:`~ethercat_master.sim.SlaveChain`
and decides, from a :class:`FaultPlan`, what happens to it on the way:

* loss: the frame vanishes on one cable of its path (chosen at random); the slaves before that
  cable processed it, the others never see it, nothing comes back;
* corruption: a bit error on one cable of its path breaks the frame check sequence; the first
  ESC receiving it counts an invalid frame, the later receptions count forwarded RX errors, no
  slave from there on applies it, and the master's NIC drops it (Section I "Error counters";
  see :mod:`~ethercat_master.sim.chain`);
* delay: the reply reaches the master late (possibly after the master's timeout: a late
  frame);
* duplication: the reply reaches the master twice;
* topology events before a given frame or at a given simulation time: a cable breaks or is
  repaired, a slave loses or regains power.

Each fault kind draws from its own random stream seeded from the plan's seed and the kind's
name, so the same plan gives the same faults on the same frames, and enabling one kind does
not change another's sequence. Every frame leaves a :class:`FrameRecord` in
:attr:`FaultyWire.log`. Mailbox-level faults belong to the mailbox layer, not here.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field
from typing import Optional, Sequence

from ..transport.link import Buffer
from .chain import Delivery, SlaveChain, WireFault

__all__ = ["FaultKind", "FaultRate", "TopologyAction", "TopologyEvent", "FaultPlan", "FrameRecord", "FaultyWire"]


class FaultKind(enum.Enum):
    """What can happen to one frame."""

    LOSS = "loss"
    CORRUPTION = "corruption"
    DELAY = "delay"
    DUPLICATION = "duplication"


@dataclass(frozen=True, slots=True)
class FaultRate:
    """How often a fault strikes: with ``probability`` per frame and/or on every ``every``-th
    frame (frames counted from 1; 0 disables that part)."""

    probability: float = 0.0
    every: int = 0

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability {self.probability!r} is outside 0..1")
        if isinstance(self.every, bool) or not isinstance(self.every, int) or self.every < 0:
            raise ValueError(f"every must be a non-negative integer, got {self.every!r}")

    def strikes(self, number: int, rng: random.Random) -> bool:
        """Whether the fault hits frame ``number``; draws from ``rng`` whenever a probability
        is set (so the stream does not depend on earlier outcomes)."""
        drawn = self.probability > 0.0 and rng.random() < self.probability
        return drawn or (self.every > 0 and number % self.every == 0)


class TopologyAction(enum.Enum):
    """A change of the wiring or of a slave's power."""

    DISCONNECT = "disconnect"  # the cable into port 0 of the slave breaks
    RECONNECT = "reconnect"  # that cable is repaired
    POWER_OFF = "power off"
    POWER_ON = "power on"


@dataclass(frozen=True, slots=True)
class TopologyEvent:
    """``action`` on ``slave``, before frame number ``at_frame`` (counted from 1) or before the
    first frame at or after simulation time ``at_time_ns`` (the chain's time source)."""

    action: TopologyAction
    slave: int
    at_frame: Optional[int] = None
    at_time_ns: Optional[int] = None

    def __post_init__(self) -> None:
        if (self.at_frame is None) == (self.at_time_ns is None):
            raise ValueError("a topology event needs exactly one of at_frame and at_time_ns")
        if self.at_frame is not None and self.at_frame < 1:
            raise ValueError(f"at_frame counts from 1, got {self.at_frame!r}")

    @classmethod
    def cable_break(cls, slave: int, at_frame: int, repaired_at_frame: int) -> tuple[TopologyEvent, TopologyEvent]:
        """The cable into ``slave`` breaks before frame ``at_frame`` and is repaired before
        frame ``repaired_at_frame``."""
        return (cls(TopologyAction.DISCONNECT, slave, at_frame=at_frame),
                cls(TopologyAction.RECONNECT, slave, at_frame=repaired_at_frame))

    @classmethod
    def power_cycle(cls, slave: int, at_frame: int, back_at_frame: int) -> tuple[TopologyEvent, TopologyEvent]:
        """``slave`` loses power before frame ``at_frame`` and regains it before frame
        ``back_at_frame``."""
        return (cls(TopologyAction.POWER_OFF, slave, at_frame=at_frame),
                cls(TopologyAction.POWER_ON, slave, at_frame=back_at_frame))

    def due(self, number: int, now_ns: int) -> bool:
        """Whether the event happens before frame ``number`` arriving at ``now_ns``."""
        if self.at_frame is not None:
            return number >= self.at_frame
        return now_ns >= self.at_time_ns  # type: ignore[operator]


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """What a :class:`FaultyWire` does to the frames it carries.

    :param seed: seeds every fault kind's random stream.
    :param delay_s: the range (low, high) from which a delayed reply's delay is drawn, seconds.
    :param duplicate_gap_s: time between a reply and its duplicate.
    :param events: topology events, applied once each when due.
    """

    seed: int = 0
    loss: FaultRate = FaultRate()
    corruption: FaultRate = FaultRate()
    delay: FaultRate = FaultRate()
    delay_s: tuple[float, float] = (0.0, 0.0)
    duplication: FaultRate = FaultRate()
    duplicate_gap_s: float = 0.0
    events: tuple[TopologyEvent, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        low, high = self.delay_s
        if not 0.0 <= low <= high:
            raise ValueError(f"delay_s must be (low, high) with 0 <= low <= high, got {self.delay_s!r}")
        if self.duplicate_gap_s < 0.0:
            raise ValueError(f"duplicate_gap_s must be non-negative, got {self.duplicate_gap_s!r}")


@dataclass(frozen=True, slots=True)
class FrameRecord:
    """What happened to frame ``number``: the faults that struck it, the reception of its path
    where a loss or corruption struck, its reply delay, and the topology events applied just
    before it."""

    number: int
    faults: frozenset[FaultKind]
    reception: Optional[int] = None
    delay_s: float = 0.0
    events: tuple[TopologyEvent, ...] = ()


class FaultyWire:
    """Carries requests through ``chain`` with the faults of ``plan``; use it as a
    :class:`~ethercat_master.sim.ChainServer`'s ``wire``, or call :meth:`transmit` directly."""

    def __init__(self, chain: SlaveChain, plan: FaultPlan) -> None:
        self.chain = chain
        self.plan = plan
        self._rng = {kind: random.Random(f"{plan.seed}:{kind.value}") for kind in FaultKind}
        self._where = random.Random(f"{plan.seed}:where")
        self._pending = list(plan.events)
        self.frames = 0
        #: One record per frame carried, in order.
        self.log: list[FrameRecord] = []

    def transmit(self, payload: Buffer) -> Sequence[Delivery]:
        """Carry one request through the chain; return the replies that reach the master."""
        plan, rng = self.plan, self._rng
        self.frames += 1
        number = self.frames
        events = self._apply_events(number)
        lost = plan.loss.strikes(number, rng[FaultKind.LOSS])
        corrupted = plan.corruption.strikes(number, rng[FaultKind.CORRUPTION])
        delayed = plan.delay.strikes(number, rng[FaultKind.DELAY])
        delay_s = rng[FaultKind.DELAY].uniform(*plan.delay_s) if delayed else 0.0
        duplicated = plan.duplication.strikes(number, rng[FaultKind.DUPLICATION])
        faults: set[FaultKind] = set()
        fault: Optional[WireFault] = None
        receptions = len(self.chain.path().receptions)
        if (lost or corrupted) and receptions:
            fault = WireFault(self._where.randrange(receptions), corrupted=not lost)
            faults.add(FaultKind.LOSS if lost else FaultKind.CORRUPTION)
        reply = self.chain.process(payload, fault=fault)
        deliveries: list[Delivery] = []
        if reply is not None:
            reply_bytes = bytes(reply)
            deliveries.append(Delivery(reply_bytes, delay_s))
            if delayed:
                faults.add(FaultKind.DELAY)
            if duplicated:
                faults.add(FaultKind.DUPLICATION)
                deliveries.append(Delivery(reply_bytes, delay_s + plan.duplicate_gap_s))
        self.log.append(FrameRecord(number, frozenset(faults), None if fault is None else fault.reception,
                                    delay_s if reply is not None else 0.0, events))
        return deliveries

    def _apply_events(self, number: int) -> tuple[TopologyEvent, ...]:
        if not self._pending:
            return ()
        now = self.chain.time()
        due: list[TopologyEvent] = []
        waiting: list[TopologyEvent] = []
        for event in self._pending:
            (due if event.due(number, now) else waiting).append(event)
        if not due:
            return ()
        self._pending = waiting
        chain = self.chain
        actions = {
            TopologyAction.DISCONNECT: chain.disconnect,
            TopologyAction.RECONNECT: chain.reconnect,
            TopologyAction.POWER_OFF: chain.power_off,
            TopologyAction.POWER_ON: chain.power_on,
        }
        for event in due:
            actions[event.action](event.slave)
        return tuple(due)
