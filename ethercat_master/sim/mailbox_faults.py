"""Seeded, reproducible mailbox faults of a simulated slave, injected through the outgoing
hook of its :class:`~ethercat_master.sim.mailbox.SlaveMailbox`.

Where :mod:`~ethercat_master.sim.faults` breaks frames on the wire, this module breaks the
slave's mailbox conversation the way misbehaving firmware does, so that a master's mailbox
engine can be tested against it:

==================  ===========================================================================
fault               what the slave does with the message about to enter its send mailbox
==================  ===========================================================================
``stale``           first puts the previous message again (old counter, old content), then this one
``repeat``          sends this message twice with the same counter
``wrong_counter``   sends this message with a counter that is not the next one
``busy``            holds the message back for ``busy_polls`` firmware polls (mailbox not ready)
``silent``          drops the message: the request is never answered (a transient SDO timeout)
``emergency_storm`` queues ``storm_size`` CoE emergencies behind the message (each numbered as
                    the slave numbers its own messages)
==================  ===========================================================================

Each fault strikes per message with its :class:`~ethercat_master.sim.faults.FaultRate`
(probability and/or every n-th message), drawn from its own stream seeded by the plan's seed,
so a run is reproducible. Every decision is logged in :attr:`MailboxFaults.log`.

Use: ``MailboxFaults(plan).attach(slave_mailbox)``.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field, replace
from typing import Optional, Sequence

from ..protocol.coe import Emergency, ErrorRegister
from ..protocol.mailbox import MailboxMessage, MailboxType
from .faults import FaultRate
from .mailbox import SlaveMailbox

__all__ = ["MailboxFault", "MailboxFaultPlan", "MailboxFaultRecord", "MailboxFaults", "STORM_ERROR_CODE"]

#: Error code of the emergencies of a storm: 0xFF00 "device specific" (CiA 301).
STORM_ERROR_CODE = 0xFF00
#: Counter values of the mailbox header: 1..7 (0 is "no counter").
_COUNTERS = range(1, 8)


class MailboxFault(enum.Enum):
    """The kinds of mailbox fault (see the module table)."""

    STALE = "stale"
    REPEAT = "repeat"
    WRONG_COUNTER = "wrong_counter"
    BUSY = "busy"
    SILENT = "silent"
    EMERGENCY_STORM = "emergency_storm"


@dataclass(frozen=True, slots=True)
class MailboxFaultPlan:
    """What :class:`MailboxFaults` does to a slave's outgoing mailbox messages.

    :param seed: seeds every fault kind's random stream.
    :param busy_polls: polls a ``busy`` message is held back.
    :param storm_size: emergencies per ``emergency_storm``.
    """

    seed: int = 0
    stale: FaultRate = FaultRate()
    repeat: FaultRate = FaultRate()
    wrong_counter: FaultRate = FaultRate()
    busy: FaultRate = FaultRate()
    busy_polls: int = 3
    silent: FaultRate = FaultRate()
    emergency_storm: FaultRate = FaultRate()
    storm_size: int = 8

    def __post_init__(self) -> None:
        if self.busy_polls < 1 or self.storm_size < 1:
            raise ValueError("busy_polls and storm_size must be at least 1")


@dataclass(frozen=True, slots=True)
class MailboxFaultRecord:
    """What happened to outgoing message ``number`` (counted from 1)."""

    number: int
    mailbox_type: int
    counter: int
    faults: frozenset[MailboxFault]


@dataclass
class MailboxFaults:
    """The outgoing hook of a :class:`SlaveMailbox` that applies a :class:`MailboxFaultPlan`."""

    plan: MailboxFaultPlan
    log: list[MailboxFaultRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._rng = {kind: random.Random(f"{self.plan.seed}:mailbox:{kind.value}") for kind in MailboxFault}
        self._number = 0
        self._mailbox: Optional[SlaveMailbox] = None
        self._previous: Optional[MailboxMessage] = None
        self._holding: Optional[MailboxMessage] = None  # as the mailbox offers it again
        self._held: Optional[MailboxMessage] = None  # what will be sent for it
        self._held_prefix: list[MailboxMessage] = []
        self._hold_polls = 0
        self._storm_payload = Emergency(STORM_ERROR_CODE, ErrorRegister(0x80), bytes(5)).encode()
        self._storm_left = 0

    def attach(self, mailbox: SlaveMailbox) -> "MailboxFaults":
        """Become ``mailbox``'s outgoing hook; returns self."""
        self._mailbox = mailbox
        mailbox.outgoing_hook = self
        return self

    def __call__(self, message: MailboxMessage) -> Optional[Sequence[MailboxMessage]]:
        if self._holding is message:  # a busy message offered again at the next poll
            self._hold_polls -= 1
            if self._hold_polls > 0:
                return None
            self._holding = None
            return self._deliver(self._held)
        if self._storm_left and message.payload == self._storm_payload:
            self._storm_left -= 1  # the storm's own emergencies pass unharmed
            return (message,)
        offered = message
        self._number += 1
        faults = {kind for kind in MailboxFault if getattr(self.plan, kind.value).strikes(self._number, self._rng[kind])}
        self.log.append(MailboxFaultRecord(self._number, int(message.header.type), message.header.counter,
                                           frozenset(faults)))
        if MailboxFault.SILENT in faults:
            return ()
        if MailboxFault.EMERGENCY_STORM in faults and self._mailbox is not None:
            for _ in range(self.plan.storm_size):
                if self._mailbox.send(MailboxType.COE, self._storm_payload):
                    self._storm_left += 1
        out: list[MailboxMessage] = []
        if MailboxFault.STALE in faults and self._previous is not None:
            out.append(self._previous)
        if MailboxFault.WRONG_COUNTER in faults:
            message = self._with_wrong_counter(message)
        if MailboxFault.REPEAT in faults:
            out.append(message)
        if MailboxFault.BUSY in faults:
            self._holding, self._held = offered, message
            self._hold_polls, self._held_prefix = self.plan.busy_polls, out
            return None
        return out + self._deliver(message)

    def _deliver(self, message: MailboxMessage) -> list[MailboxMessage]:
        prefix, self._held_prefix = self._held_prefix, []
        self._previous = message
        return prefix + [message]

    def _with_wrong_counter(self, message: MailboxMessage) -> MailboxMessage:
        wrong = [c for c in _COUNTERS if c != message.header.counter]
        counter = self._rng[MailboxFault.WRONG_COUNTER].choice(wrong)
        return MailboxMessage(replace(message.header, counter=counter), message.payload)
