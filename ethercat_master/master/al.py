"""Control of the slaves' AL state machine (ETG.1000.6 "AL state machine", ESC 0x0120-0x0135).

A state is requested by writing AL control (0x0120) and reached when AL status (0x0130) shows
it. A slave that refuses sets the error indication (0x0130 bit 4) and puts the reason in the
AL status code (0x0134); the master reads status and code together (0x0130-0x0135, one
datagram) and acknowledges the error by writing the slave's current state with the
acknowledge bit (0x0120 bit 4), as IgH's ``fsm_change.c`` does, so the slave accepts the next
request.

Requests for several slaves go out together (one FPWR each, packed into one frame) and their
states are polled together (one FPRD each per round); :func:`broadcast_state` reaches every
slave on the bus with one BWR, before station addresses exist. Every slave has its own
deadline, chosen per transition as TwinCAT and the ESI ``Timeout`` element do
(:func:`transition_timeout`): INIT to PRE-OP or BOOT 3 s; PRE-OP to SAFE-OP and SAFE-OP to OP
10 s; back to PRE-OP or INIT 5 s; OP to SAFE-OP 0.2 s. A slave has timed out only when a poll
sent after its deadline still shows the old state.

Errors: a refusal or a timeout is an :class:`~ethercat_master.errors.ALStatusError` naming the
slave, the requested and current state, the AL status code and its ETG text. When several
slaves fail one request, :class:`BusStateError` (an ``ALStatusError``) lists all of them and
keeps each one's error in :attr:`BusStateError.failures`. A slave that stops answering is a
:class:`~ethercat_master.errors.WorkingCounterError` naming every slave that did not answer.

A slave that already shows an error indication when a new state is requested gets the request
with the acknowledge bit (SOEM's recovery idiom ``state | EC_STATE_ACK``): ETG.1000.6 lets a
slave ignore requests while its error is not acknowledged, and an old error must not make a
deliberate request fail. The acknowledged code is logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Optional, Protocol

from ..errors import ALStatusError, BusStateError, WorkingCounterError
from ..protocol.al_status import ALState, StateValue, al_status_text, state_name
from ..protocol.datagram import Command, Datagram, station_address
from ..protocol.registers import AlControl, AlStatusBlock, Register
from .bus import Bus, Request

__all__ = [
    "INIT_TO_PREOP_TIMEOUT",
    "PREOP_TO_OP_TIMEOUT",
    "BACK_TO_INIT_TIMEOUT",
    "OP_TO_SAFEOP_TIMEOUT",
    "ACKNOWLEDGE_TIMEOUT",
    "POLL_INTERVAL",
    "SlaveAddress",
    "BusStateError",
    "transition_timeout",
    "read_states",
    "poll_states",
    "broadcast_state",
    "request_state",
    "request_states",
    "acknowledge_errors",
]

_log = logging.getLogger(__name__)

#: INIT to PRE-OP or BOOT (TwinCAT "I -> P", ESI ``PreopTimeout``).
INIT_TO_PREOP_TIMEOUT = 3.0
#: PRE-OP to SAFE-OP and SAFE-OP to OP (TwinCAT "P -> S, S -> O", ESI ``SafeopOpTimeout``).
PREOP_TO_OP_TIMEOUT = 10.0
#: Back to PRE-OP or INIT from any state (TwinCAT "Back to P, I", ESI ``BackToInitTimeout``).
BACK_TO_INIT_TIMEOUT = 5.0
#: OP to SAFE-OP (TwinCAT "O -> S", ESI ``BackToSafeopTimeout``).
OP_TO_SAFEOP_TIMEOUT = 0.2
#: Time a slave has to clear its error indication after an acknowledge (IgH: 100 ms).
ACKNOWLEDGE_TIMEOUT = 0.1
#: Pause between two polls of AL status while slaves are still changing state.
POLL_INTERVAL = 0.001


class SlaveAddress(Protocol):
    """What the functions here need of a slave: its configured station address and how
    messages name it (:class:`~ethercat_master.master.slave_info.SlaveInfo` has both)."""

    @property
    def station_address(self) -> int:
        """The configured station address (0x0010)."""

    def describe(self) -> str:
        """How messages name the slave, e.g. ``"position 3 (EL2008)"``."""


def transition_timeout(current: StateValue, requested: ALState) -> float:
    """The default time a slave may take from ``current`` to ``requested`` (see the module
    docstring); a request for the current state gets the time of going back to it."""
    if requested is ALState.INIT or (requested is ALState.PREOP and current is not ALState.INIT):
        return BACK_TO_INIT_TIMEOUT
    if requested in (ALState.PREOP, ALState.BOOT):
        return INIT_TO_PREOP_TIMEOUT
    if requested is ALState.SAFEOP and current is ALState.OP:
        return OP_TO_SAFEOP_TIMEOUT
    return PREOP_TO_OP_TIMEOUT


def read_states(bus: Bus, slaves: Sequence[SlaveAddress]) -> list[AlStatusBlock]:
    """AL status and AL status code of every slave, in one exchange (one FPRD each).

    :raises WorkingCounterError: naming every slave that did not answer.
    """
    requests = [_status_request(slave) for slave in slaves]
    return [AlStatusBlock.decode(reply.data) for reply in _exchange(bus, slaves, requests, "AL status")]


def poll_states(bus: Bus, slaves: Sequence[SlaveAddress]) -> list[Optional[AlStatusBlock]]:
    """AL status and code of every slave in one exchange, None for a slave that did not
    answer (lost, powered off, or lost its station address): for supervision, where a missing
    slave is news rather than an error."""
    replies = bus.exchange([_status_request(slave) for slave in slaves])
    return [AlStatusBlock.decode(reply.data) if reply.wkc == 1 else None for reply in replies]


def broadcast_state(bus: Bus, state: ALState, *, acknowledge: bool = False) -> int:
    """Request ``state`` from every slave on the bus with one BWR of AL control (the scan's
    reset uses ``INIT`` with ``acknowledge``); does not wait. Returns how many slaves got it."""
    return bus.write(Command.BWR, Register.AL_CONTROL << 16, AlControl(state, error_ack=acknowledge).encode())


def request_state(bus: Bus, slave: SlaveAddress, state: ALState, *, timeout: Optional[float] = None) -> AlStatusBlock:
    """Request ``state`` from one slave and wait for it (see :func:`request_states`)."""
    return request_states(bus, [slave], state, timeout=timeout)[0]


def request_states(
    bus: Bus, slaves: Sequence[SlaveAddress], state: ALState, *, timeout: Optional[float] = None
) -> list[AlStatusBlock]:
    """Request ``state`` from ``slaves`` and wait until every one has reached it.

    :param timeout: seconds each slave may take; by default :func:`transition_timeout` of its
        state at the start.
    :returns: each slave's final AL status block, in order.
    :raises ALStatusError: one slave refused the state or did not reach it in time; it has been
        acknowledged. :class:`BusStateError` when several did.
    :raises WorkingCounterError: slaves stopped answering (all of them named).
    """
    if not slaves:
        return []
    before = read_states(bus, slaves)
    for slave, block in zip(slaves, before):
        if block.status.error:
            _log.warning(
                "slave %s: acknowledging AL status code 0x%04X (%s) to request %s",
                slave.describe(), block.status_code, block.text, state.name,
            )
    requests = [
        Request(Command.FPWR, station_address(slave.station_address, Register.AL_CONTROL),
                AlControl(state, error_ack=block.status.error).encode())
        for slave, block in zip(slaves, before)
    ]
    _exchange(bus, slaves, requests, f"AL control request {state.name}")
    start = time.monotonic()
    deadlines = [start + (transition_timeout(block.status.state, state) if timeout is None else timeout)
                 for block in before]
    final: list[Optional[AlStatusBlock]] = [None] * len(slaves)
    failures: dict[int, ALStatusError] = {}
    refused: dict[int, AlStatusBlock] = {}
    pending = list(range(len(slaves)))
    while pending:
        sent = time.monotonic()
        blocks = read_states(bus, [slaves[i] for i in pending])
        still: list[int] = []
        for index, block in zip(pending, blocks):
            status = block.status
            if status.state == state and not status.error:
                final[index] = block
            elif status.error:
                final[index] = refused[index] = block
                failures[index] = _refusal(slaves[index], state, block)
            elif sent > deadlines[index]:
                final[index] = block
                failures[index] = _refusal(slaves[index], state, block, sent - start)
            else:
                still.append(index)
        pending = still
        if pending:
            time.sleep(POLL_INTERVAL)
    if failures:
        _acknowledge(bus, [slaves[index] for index in refused], list(refused.values()))
        errors = [failures[index] for index in sorted(failures)]
        raise errors[0] if len(errors) == 1 else BusStateError(errors)
    return final  # type: ignore[return-value]


def acknowledge_errors(
    bus: Bus, slaves: Sequence[SlaveAddress], *, timeout: float = ACKNOWLEDGE_TIMEOUT
) -> list[AlStatusBlock]:
    """Acknowledge the error indication of every slave in ``slaves`` that shows one (write its
    current state with the acknowledge bit) and wait until it clears.

    :returns: each slave's AL status block afterwards.
    :raises ALStatusError: a slave still shows the error indication after ``timeout``
        (:class:`BusStateError` when several do).
    """
    blocks = read_states(bus, slaves)
    flagged = [index for index, block in enumerate(blocks) if block.status.error]
    acknowledged = _acknowledge(bus, [slaves[i] for i in flagged], [blocks[i] for i in flagged], timeout)
    errors = []
    for index, block in zip(flagged, acknowledged):
        blocks[index] = block
        if block.status.error:
            errors.append(_still_flagged(slaves[index], block))
    if errors:
        raise errors[0] if len(errors) == 1 else BusStateError(errors)
    return blocks


# ------------------------------------------------------------------------------- helpers
def _acknowledge(
    bus: Bus,
    slaves: Sequence[SlaveAddress],
    blocks: Sequence[AlStatusBlock],
    timeout: float = ACKNOWLEDGE_TIMEOUT,
) -> list[AlStatusBlock]:
    """Write each slave's current state with the acknowledge bit, then poll until the error
    indications clear or ``timeout`` passes; return the last blocks read."""
    if not slaves:
        return []
    requests = [
        Request(Command.FPWR, station_address(slave.station_address, Register.AL_CONTROL),
                AlControl(_state_value(block.status.state), error_ack=True).encode())
        for slave, block in zip(slaves, blocks)
    ]
    _exchange(bus, slaves, requests, "AL error acknowledge")
    start = time.monotonic()
    while True:
        sent = time.monotonic()
        latest = read_states(bus, slaves)
        if not any(block.status.error for block in latest) or sent - start > timeout:
            return latest
        time.sleep(POLL_INTERVAL)


def _state_value(state: StateValue) -> int:
    """A state nibble to write back: the state itself, or INIT for a value that is no state."""
    return state if isinstance(state, ALState) else ALState.INIT


def _refusal(slave: SlaveAddress, requested: ALState, block: AlStatusBlock,
             waited: Optional[float] = None) -> ALStatusError:
    """The error for a slave that refused ``requested`` (``waited`` None) or did not reach it
    within ``waited`` seconds."""
    text = al_status_text(block.status_code)
    if waited is not None:
        text = f"{text}; state not reached within {waited:.3f} s"
    return ALStatusError(slave.describe(), requested.name, _current(block), block.status_code, text)


def _still_flagged(slave: SlaveAddress, block: AlStatusBlock) -> ALStatusError:
    """The error for a slave whose error indication did not clear after an acknowledge."""
    text = f"{block.text}; error indication not cleared by the acknowledge"
    return ALStatusError(slave.describe(), "acknowledge", _current(block), block.status_code, text)


def _current(block: AlStatusBlock) -> str:
    """The state a slave reports, e.g. ``"SAFEOP+ERR"``."""
    return state_name(int(block.status.state)) + ("+ERR" if block.status.error else "")


def _status_request(slave: SlaveAddress) -> Request:
    return Request.read(Command.FPRD, station_address(slave.station_address, Register.AL_STATUS), AlStatusBlock.SIZE)


def _exchange(bus: Bus, slaves: Sequence[SlaveAddress], requests: list[Request], what: str) -> list[Datagram]:
    """Exchange one request per slave; every one must reach its slave (working counter 1)."""
    replies = bus.exchange(requests)
    missing = [index for index, reply in enumerate(replies) if reply.wkc != 1]
    if missing:
        names = ", ".join(slaves[index].describe() for index in missing)
        whom = "slave" if len(missing) == 1 else f"{len(missing)} slaves"
        first = requests[missing[0]]
        raise WorkingCounterError(f"{first.describe()} ({what} of {whom} {names})", 1, replies[missing[0]].wkc)
    return replies
