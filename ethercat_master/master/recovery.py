"""Supervision and recovery of slaves while the bus runs: a slave that disappears or leaves OP is
reported, the others keep running, and it is brought back to OP when it answers again.

:class:`Supervisor` runs in a thread of its own next to the cycle thread and shares the bus
with it (its frames interleave with the cyclic ones at frame granularity, as mailbox frames
do). Every ``check_interval`` it reads the AL status of every configured slave in one frame
(:func:`~.al.poll_states`); when the cyclic working counter was wrong for ``wkc_error_threshold``
cycles since the last look, it looks at once. What it finds, per slave:

=====================  =====================================================================
no answer              LOST: reported once; the slave's process data is stale (the working
                       counter says so); checked again every interval.
answers, not in OP     recovery (below), at most ``max_attempts`` times (0: no limit), at
(or error flag set)    least ``retry_delay`` apart.
=====================  =====================================================================

Recovery of one slave (SOEM ``ecx_recover_slave`` + ``ecx_reconfig_slave``, IgH's slave
re-configuration): when it no longer answers at its station address (power cycle: ESC back at
its power-on values) but a slave answers at its auto-increment position with station address 0
and the same identity in its SII, the station address is written again; then
:meth:`~.master.Master.reconfigure_slave` takes it through INIT, PRE-OP (mailbox, start-up SDOs,
PDO mapping, process data sync managers and FMMUs), SAFE-OP and OP while the cycle runs.
After ``max_attempts`` failures the ``on_failure`` action of the configuration applies:
``keep_running`` leaves the slave out, ``safe_op`` takes the whole bus to SAFE-OP.

Every finding is a :class:`RecoveryEvent` given to the ``on_event`` callback (and logged); the
per-slave :class:`SlaveHealth` and the counters are in :meth:`Supervisor.snapshot`.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional

from ..config.network import FailureAction, RecoverySettings
from ..errors import EtherCATError
from ..protocol.al_status import ALState, state_name
from ..protocol.datagram import Command, position_address
from ..protocol.registers import Register
from .al import poll_states
from .bus import Request

if TYPE_CHECKING:
    from .master import Master

__all__ = ["SlaveCondition", "EventKind", "RecoveryEvent", "SlaveHealth", "Supervisor"]

_log = logging.getLogger(__name__)
_NS_PER_S = 1e9
#: Seconds between looks at the cyclic working counter while waiting for the next check.
_WKC_WATCH_S = 0.01
_STATION_ADDRESS_SIZE = 2


class SlaveCondition(enum.Enum):
    """What the supervisor last saw of a slave."""

    OPERATIONAL = "operational"
    #: It answers but is not in OP (or flags an error); recovery runs.
    NOT_OPERATIONAL = "not operational"
    #: It does not answer.
    LOST = "lost"
    #: Recovery gave up (``max_attempts``); left as it is.
    FAILED = "failed"


class EventKind(enum.Enum):
    """What happened to a slave."""

    LOST = "lost"
    FOUND = "found"
    LEFT_OP = "left OP"
    RECOVERED = "recovered"
    ATTEMPT_FAILED = "recovery attempt failed"
    GAVE_UP = "gave up"


@dataclass(frozen=True, slots=True)
class RecoveryEvent:
    """One finding of the supervisor, for the application's log and diagnostics."""

    time_unix: float
    kind: EventKind
    position: int
    name: str
    detail: str

    def __str__(self) -> str:
        return f"slave {self.position} ({self.name}): {self.kind.value}: {self.detail}"


@dataclass(slots=True)
class SlaveHealth:
    """The supervisor's view of one slave."""

    position: int
    name: str
    condition: SlaveCondition = SlaveCondition.OPERATIONAL
    state: Optional[str] = None
    status_code: int = 0
    lost: int = 0
    left_op: int = 0
    recovered: int = 0
    failed_attempts: int = 0
    attempts_in_a_row: int = 0
    last_attempt: float = field(default=0.0, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"position": self.position, "name": self.name, "condition": self.condition.value,
                "state": self.state, "status_code": self.status_code, "lost": self.lost, "left_op": self.left_op,
                "recovered": self.recovered, "failed_attempts": self.failed_attempts}


class Supervisor:
    """Supervises the slaves of ``master`` (configured and started) in a thread (module
    documentation).

    :param settings: the network's recovery settings.
    :param on_event: called with every :class:`RecoveryEvent`, from the supervisor's thread.
    """

    def __init__(self, master: Master, settings: RecoverySettings = RecoverySettings(), *,
                 on_event: Optional[Callable[[RecoveryEvent], None]] = None) -> None:
        self.master = master
        self.settings = settings
        self.on_event = on_event
        self.health = {slave.position: SlaveHealth(slave.position, master.assignment[slave.position].name
                                                   if slave.position in master.assignment else slave.describe())
                       for slave in master.slaves}
        #: The state slaves are kept in: OP; SAFE-OP after the ``safe_op`` failure action took
        #: the bus there (the application may set it, e.g. while deactivated).
        self.target = ALState.OP
        #: Per-slave states that override :attr:`target` (a user asked one slave for another
        #: state): the supervisor keeps the slave there instead of taking it back to OP.
        self.targets: dict[int, ALState] = {}
        self.checks = 0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._seen_mismatches = 0

    # -------------------------------------------------------------------------- thread
    def start(self) -> Supervisor:
        """Start supervising in a daemon thread; returns self."""
        if self._thread is not None and self._thread.is_alive():
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ethercat-supervisor", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the thread (after the recovery step it may be in)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        interval = self.settings.check_interval_ns / _NS_PER_S
        while not self._stop.is_set():
            try:
                self.check()
            except EtherCATError as exc:  # the link itself failed: report and keep trying
                _log.warning("supervisor check failed: %s", exc)
            end = time.monotonic() + interval
            while not self._stop.is_set() and time.monotonic() < end:
                if self._wkc_trouble():
                    break
                self._stop.wait(min(_WKC_WATCH_S, max(0.0, end - time.monotonic())))

    def _wkc_trouble(self) -> bool:
        exchange = self.master.exchange
        if exchange is None:
            return False
        mismatches = exchange.counters.wkc_mismatches + exchange.counters.frames_lost
        if mismatches - self._seen_mismatches >= self.settings.wkc_error_threshold:
            self._seen_mismatches = mismatches
            return True
        return False

    # --------------------------------------------------------------------------- check
    def check(self) -> list[RecoveryEvent]:
        """Look at every slave once and act on what is found (normally called by the thread);
        returns the events of this look."""
        master = self.master
        slaves = list(master.slaves)
        events: list[RecoveryEvent] = []
        blocks = poll_states(master.bus, slaves)
        self.checks += 1
        target = self.target
        for slave, block in zip(slaves, blocks):
            if self.target is not target:  # a failure action moved the bus: these blocks are old
                break
            health = self.health[slave.position]
            if block is None:
                if health.condition is not SlaveCondition.LOST:
                    health.condition = SlaveCondition.LOST
                    health.state = None
                    health.lost += 1
                    events.append(self._event(EventKind.LOST, health, "no answer at station address "
                                                                      f"0x{slave.station_address:04X}"))
                if self.settings.enabled and self._due(health):
                    events.extend(self._recover(slave.position, health, lost=True))
                continue
            health.state = state_name(block.status.state)
            health.status_code = block.status_code
            wanted = self.targets.get(slave.position, self.target)
            if block.status.state is wanted and not block.status.error:
                health.condition = SlaveCondition.OPERATIONAL
                health.attempts_in_a_row = 0
                continue
            if health.condition is SlaveCondition.OPERATIONAL:
                health.left_op += 1
                health.condition = SlaveCondition.NOT_OPERATIONAL
                if wanted is ALState.OP:
                    events.append(self._event(EventKind.LEFT_OP, health, f"in {health.state}, AL status code "
                                                                         f"0x{block.status_code:04X}"))
            if self.settings.enabled and self._due(health):
                events.extend(self._recover(slave.position, health, lost=False))
        return events

    def _due(self, health: SlaveHealth) -> bool:
        if health.condition is SlaveCondition.FAILED:
            return False
        return time.monotonic() - health.last_attempt >= self.settings.retry_delay_ns / _NS_PER_S

    def hold(self, state: ALState, position: Optional[int] = None) -> None:
        """Keep one slave (or, with no position, every slave) in ``state`` from now on; a slave
        asked for OP again follows the bus's target."""
        if position is None:
            self.target = state
            self.targets.clear()
        elif state is self.target:
            self.targets.pop(position, None)
        else:
            self.targets[position] = state

    def _recover(self, position: int, health: SlaveHealth, *, lost: bool) -> list[RecoveryEvent]:
        master = self.master
        wanted = self.targets.get(position, self.target)
        slave = master.slave(position)
        events: list[RecoveryEvent] = []
        if lost:
            found = self._readdress(position, slave.station_address)
            if found is None:
                return events  # nobody there yet: wait
            events.append(self._event(EventKind.FOUND, health, found))
        health.last_attempt = time.monotonic()
        try:
            master.reconfigure_slave(position, target=wanted, resync_dc=lost)
        except EtherCATError as exc:
            health.failed_attempts += 1
            health.attempts_in_a_row += 1
            health.condition = SlaveCondition.NOT_OPERATIONAL
            events.append(self._event(EventKind.ATTEMPT_FAILED, health, str(exc)))
            limit = self.settings.max_attempts
            if limit and health.attempts_in_a_row >= limit:
                health.condition = SlaveCondition.FAILED
                action = self.settings.on_failure
                events.append(self._event(EventKind.GAVE_UP, health, f"after {limit} attempts; {action.value}"))
                if action is FailureAction.SAFE_OP:
                    self.target = ALState.SAFEOP
                    master.stop()
            return events
        health.condition = SlaveCondition.OPERATIONAL
        health.state = wanted.name
        health.recovered += 1
        health.attempts_in_a_row = 0
        events.append(self._event(EventKind.RECOVERED, health, f"back in {wanted.name}"))
        return events

    def _readdress(self, position: int, station: int) -> Optional[str]:
        """Give the slave at ``position`` its station address again if it lost it; a text for
        the FOUND event, or None when no slave there can be taken for it."""
        bus = self.master.bus
        reply = bus.exchange([_aprd_station(position)])[0]
        if reply.wkc != 1:
            return None
        current = int.from_bytes(reply.data, "little")
        if current == station:
            return f"answers again at station address 0x{station:04X}"
        bus.write(Command.APWR, position_address(position, Register.CONFIGURED_STATION_ADDRESS),
                  station.to_bytes(_STATION_ADDRESS_SIZE, "little"), expected_wkc=1)
        mismatch = self.master.identity_mismatch(position)
        if mismatch is not None:  # another device is there now: leave it alone
            bus.write(Command.APWR, position_address(position, Register.CONFIGURED_STATION_ADDRESS),
                      current.to_bytes(_STATION_ADDRESS_SIZE, "little"), expected_wkc=1)
            self._report_foreign(position, mismatch)
            return None
        return f"back at position {position} (station address 0x{current:04X}, set to 0x{station:04X})"

    def _report_foreign(self, position: int, mismatch: str) -> None:
        health = self.health[position]
        if health.condition is not SlaveCondition.FAILED:
            health.condition = SlaveCondition.FAILED
            self._event(EventKind.GAVE_UP, health, f"another device is at its position: {mismatch}")

    def _event(self, kind: EventKind, health: SlaveHealth, detail: str) -> RecoveryEvent:
        event = RecoveryEvent(time.time(), kind, health.position, health.name, detail)
        log = _log.info if kind in (EventKind.RECOVERED, EventKind.FOUND) else _log.warning
        log("%s", event)
        if self.on_event is not None:
            self.on_event(event)
        return event

    # ----------------------------------------------------------------------- snapshot
    def snapshot(self) -> dict[str, Any]:
        """JSON-ready: checks made and every slave's :class:`SlaveHealth`."""
        return {"checks": self.checks, "slaves": [h.as_dict() for h in self.health.values()]}


def _aprd_station(position: int) -> Request:
    return Request.read(Command.APRD, position_address(position, Register.CONFIGURED_STATION_ADDRESS), _STATION_ADDRESS_SIZE)
