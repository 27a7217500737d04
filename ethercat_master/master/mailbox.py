"""The mailbox engine: one slave's mailbox conversation over the shared bus (ETG.1000.4/.6).

A :class:`MailboxEngine` owns the mailbox of one slave: the receive mailbox (master to slave,
normally SyncManager 0) and the send mailbox (slave to master, normally SyncManager 1). It
writes requests, reads messages, and turns what comes back into the reply of the transaction
that waits for it, an emergency for the :class:`EmergencyQueue`, or a discarded message that
is counted. Protocol clients (:mod:`~ethercat_master.master.coe`,
:mod:`~ethercat_master.master.foe`) describe each transaction by its payload and a
:data:`ReplyMatcher` that recognises its reply.

Every step of the engine is one frame through :class:`~ethercat_master.master.bus.Bus`, so
that a cycle thread sharing the bus waits at most one mailbox frame: :meth:`MailboxEngine.poll`
performs at most one frame and returns at once with the delay after which it wants to be
called again; :meth:`MailboxEngine.wait` (and :meth:`~MailboxEngine.request`,
:meth:`~MailboxEngine.send`, :meth:`~MailboxEngine.receive`) loop over it for callers that
block. The rules (status modes, retry and backoff, the repeat protocol, reply matching, the
emergency queue's drop policy, the threading model) are written down in ``docs/mailbox.md``;
this module follows that document.

Sources: ESC datasheet Section I 8.2 (mailbox mode: write when empty, read when full, the
repeat request/acknowledge toggles of Figure 26), ETG.1000.4 (mailbox header, counter 1..7),
ETG.1000.6 5.6 (emergency, mailbox error reply); checked against SOEM ``ecx_mbxsend`` /
``ecx_mbxreceive`` (which toggles the repeat bit when a read of a full mailbox fails) and IgH
``fsm_coe.c`` (emergencies may arrive in place of any CoE response).
"""

from __future__ import annotations

import collections
import enum
import threading
import time
from dataclasses import dataclass, replace
from typing import Callable, Optional, Sequence

from ..errors import EtherCATError, FrameTimeout, MailboxError, ProtocolError
from ..protocol.coe import CoEHeader, CoEService, Emergency
from ..protocol.datagram import DATAGRAM_OVERHEAD, Command, Datagram, station_address
from ..protocol.frame import MAX_DATAGRAMS_BYTES
from ..protocol.mailbox import (
    MAILBOX_HEADER_SIZE,
    NO_COUNTER,
    MailboxErrorReply,
    MailboxMessage,
    MailboxType,
    build_mailbox,
    next_counter,
)
from ..protocol.registers import (
    MAX_SYNC_MANAGERS,
    SM_ACTIVATE_OFFSET,
    SM_PDI_CONTROL_OFFSET,
    SM_STATUS_OFFSET,
    SmActivate,
    SmPdiControl,
    SmStatus,
    sync_manager_address,
)
from .bus import Bus, Request
from .diagnostics import MailboxCounters, MailboxDiagnostics

__all__ = [
    "StatusMode",
    "BackoffPolicy",
    "MailboxPolicy",
    "MailboxSlave",
    "ReplyMatcher",
    "TransactionState",
    "MailboxTransaction",
    "ReceivedEmergency",
    "EmergencyQueue",
    "MailboxEngine",
]

#: ``matcher(message) -> bool``: True when ``message`` (fresh, of the transaction's mailbox
#: type, not an emergency or error reply) is the reply the transaction waits for. It may raise
#: :class:`~ethercat_master.errors.ProtocolError` for a message that does not decode; the
#: message is then discarded as malformed.
ReplyMatcher = Callable[[MailboxMessage], bool]

_MAX_U16 = 0xFFFF
_ADDRESS_SPACE = 0x10000
#: Longest sleep of a blocking wait between polls (the engine may have been polled by
#: another thread meanwhile).
_MAX_WAIT_SLEEP = 0.005
#: The activate register and the PDI control register of a sync manager, read together.
_ACTIVATE_AND_PDI_CONTROL = 2
#: Frames of one repeat request: read activate, write it toggled, read the acknowledge.
_REPEAT_FRAMES = 3
_PROTOCOL_NAMES: dict[int, str] = {
    MailboxType.AOE: "AoE",
    MailboxType.EOE: "EoE",
    MailboxType.COE: "CoE",
    MailboxType.FOE: "FoE",
    MailboxType.SOE: "SoE",
    MailboxType.VOE: "VoE",
}


def _protocol_name(mailbox_type: int) -> str:
    return _PROTOCOL_NAMES.get(mailbox_type, f"mailbox type {mailbox_type}")


# ------------------------------------------------------------------------------- policy
class StatusMode(enum.Enum):
    """How the engine learns whether the mailboxes are full (``docs/mailbox.md``).

    * ``STRICT``: a frame reading the status of both mailbox sync managers precedes every
      mailbox access, and the engine writes only into an empty receive mailbox and reads only
      a full send mailbox (ESC rule, SOEM ``ecx_mbxreceive``). Two frames per access; a lost
      read is recognised at once (the status said full, the read came back empty).
    * ``HYBRID``: the status read travels in the same frame, just before the mailbox access
      (one frame per access); the engine keeps the last status to decide whether to write and
      whether to read again at once.
    * ``POLL``: no status reads: the engine writes and reads directly; working counter 0
      means full (write) or empty (read). One frame per access, the fewest bytes.
    """

    STRICT = "strict"
    HYBRID = "hybrid"
    POLL = "poll"


@dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Retries and the delays between them.

    :param attempts: how many times one request may be written and accepted in all (the
        first write and the re-sends after reply timeouts), at least 1.
    :param initial_delay: seconds before the first retry (of a refused write, or of a read
        that found the mailbox empty).
    :param factor: each further retry waits this much longer.
    :param max_delay: the delay never grows beyond this.
    :param deadline: seconds a transaction may take in all, from submission; then
        :class:`~ethercat_master.errors.FrameTimeout`.
    """

    attempts: int = 3
    initial_delay: float = 0.0002
    factor: float = 2.0
    max_delay: float = 0.01
    deadline: float = 3.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts {self.attempts} must be at least 1")
        if self.initial_delay < 0 or self.max_delay < self.initial_delay:
            raise ValueError("delays must satisfy 0 <= initial_delay <= max_delay")
        if self.factor < 1:
            raise ValueError(f"factor {self.factor} must be at least 1")
        if self.deadline <= 0:
            raise ValueError(f"deadline {self.deadline} must be positive")

    def delay(self, retry: int) -> float:
        """The delay before retry number ``retry`` (0 for the first)."""
        return min(self.max_delay, self.initial_delay * self.factor ** min(retry, _MAX_EXPONENT))


#: Keeps ``factor ** retry`` finite however long a mailbox stays full.
_MAX_EXPONENT = 64


@dataclass(frozen=True, slots=True)
class MailboxPolicy:
    """Everything configurable about one engine.

    :param status_mode: see :class:`StatusMode`.
    :param backoff: retries, delays and the transaction deadline.
    :param reply_timeout: seconds without the reply before the engine acts: first a repeat
        request, then (for idempotent requests) a re-send with a new counter, then failure.
    :param idle_poll_interval: seconds between reads of the send mailbox while no transaction
        is outstanding (to collect emergencies), when :meth:`MailboxEngine.poll` is called.
    :param emergency_capacity: emergencies kept until the application takes them; when full
        the oldest is dropped (and counted).
    """

    status_mode: StatusMode = StatusMode.HYBRID
    backoff: BackoffPolicy = BackoffPolicy()
    reply_timeout: float = 0.25
    idle_poll_interval: float = 0.01
    emergency_capacity: int = 64

    def __post_init__(self) -> None:
        if self.reply_timeout <= 0 or self.idle_poll_interval <= 0:
            raise ValueError("reply_timeout and idle_poll_interval must be positive")
        if self.emergency_capacity < 1:
            raise ValueError(f"emergency_capacity {self.emergency_capacity} must be at least 1")


# -------------------------------------------------------------------------------- slave
@dataclass(frozen=True, slots=True)
class MailboxSlave:
    """Where one slave's mailbox lives.

    :param station_address: the configured station address (FPRD/FPWR addressing).
    :param receive_offset: start of the receive mailbox (master to slave), e.g. SM0's.
    :param receive_size: its size in octets, header included.
    :param send_offset: start of the send mailbox (slave to master), e.g. SM1's.
    :param send_size: its size in octets.
    :param receive_sync_manager: the sync manager of the receive mailbox.
    :param send_sync_manager: the sync manager of the send mailbox (its repeat bits are used).
    :param name: the slave's name for messages (position and device name, e.g. ``"3 EL6695"``).
    """

    station_address: int
    receive_offset: int
    receive_size: int
    send_offset: int
    send_size: int
    receive_sync_manager: int = 0
    send_sync_manager: int = 1
    name: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.station_address <= _MAX_U16:
            raise ValueError(f"station address 0x{self.station_address:X} out of range")
        for role, offset, size in (
            ("receive", self.receive_offset, self.receive_size),
            ("send", self.send_offset, self.send_size),
        ):
            if size <= MAILBOX_HEADER_SIZE or offset < 0 or offset + size > _ADDRESS_SPACE:
                raise ValueError(f"{role} mailbox 0x{offset:04X}+{size} is not a usable mailbox")
        indices = (self.receive_sync_manager, self.send_sync_manager)
        if len(set(indices)) != 2 or not all(0 <= i < MAX_SYNC_MANAGERS for i in indices):
            raise ValueError(f"mailbox sync managers {indices} must be two distinct channels")

    @property
    def label(self) -> str:
        """How messages name the slave: station address and name."""
        station = f"0x{self.station_address:04X}"
        return f"{station} ({self.name})" if self.name else station


# -------------------------------------------------------------------------- transactions
class TransactionState(enum.Enum):
    """Where a :class:`MailboxTransaction` is."""

    #: Submitted, waiting for the transactions before it.
    QUEUED = "queued"
    #: Its request is being written (the receive mailbox may be full).
    SENDING = "sending"
    #: Its request was accepted; waiting for the reply.
    AWAITING = "awaiting"
    DONE = "done"
    FAILED = "failed"


_FINISHED = frozenset({TransactionState.DONE, TransactionState.FAILED})


class MailboxTransaction:
    """One request and/or the reply it waits for; made by :meth:`MailboxEngine.submit`.

    A transaction with a payload writes it; one with a matcher waits for the reply the matcher
    accepts (one without a matcher is done once written, one without a payload only waits).
    """

    __slots__ = (
        "mailbox_type", "payload", "expect", "what", "idempotent", "created", "deadline", "state",
        "reply", "error", "counter", "writes", "transmissions", "write_refusals", "write_due",
        "reply_deadline", "repeated", "repeats", "sent_at",
    )

    def __init__(
        self,
        mailbox_type: int,
        payload: Optional[bytes],
        expect: Optional[ReplyMatcher],
        what: str,
        idempotent: bool,
        created: float,
        deadline: float,
    ) -> None:
        self.mailbox_type = mailbox_type
        self.payload = payload
        self.expect = expect
        #: What the transaction does, for messages (e.g. ``"SDO upload 0x1018:01"``).
        self.what = what
        #: Whether the request may be executed again (re-sent with a new counter).
        self.idempotent = idempotent
        self.created = created
        self.deadline = deadline
        self.state = TransactionState.QUEUED
        #: The accepted reply, once :attr:`state` is DONE (None for a request without reply).
        self.reply: Optional[MailboxMessage] = None
        #: The error, once :attr:`state` is FAILED.
        self.error: Optional[EtherCATError] = None
        self.counter = NO_COUNTER  # of the current transmission; NO_COUNTER: take a new one
        self.writes = 0  # write frames sent
        self.transmissions = 0  # writes accepted by the slave with new counters
        self.write_refusals = 0
        self.write_due = created
        self.reply_deadline = created
        self.repeated = False  # a repeat request was made since the last transmission
        self.repeats = 0
        self.sent_at: Optional[float] = None

    def __repr__(self) -> str:
        return f"<MailboxTransaction {self.what!r} {self.state.value}>"

    @property
    def done(self) -> bool:
        """True once the transaction succeeded or failed."""
        return self.state in _FINISHED

    def result(self) -> Optional[MailboxMessage]:
        """The reply (None for a request without reply); raises the transaction's error.

        :raises RuntimeError: if the transaction is still in progress.
        """
        if not self.done:
            raise RuntimeError(f"{self.what}: transaction still {self.state.value}")
        if self.error is not None:
            raise self.error
        return self.reply


# ---------------------------------------------------------------------------- emergencies
@dataclass(frozen=True, slots=True)
class ReceivedEmergency:
    """A CoE emergency as the engine received it."""

    #: The slave's label (:attr:`MailboxSlave.label`).
    slave: str
    emergency: Emergency
    #: ``time.monotonic()`` when it was read.
    received_at: float


class EmergencyQueue:
    """A bounded, thread-safe FIFO of emergencies.

    Drop policy: when full, the oldest emergency is dropped to make room for the new one. The
    newest messages describe the device's present state, which is what an application that
    fell behind needs; the loss is counted (:attr:`dropped` and the engine's
    ``emergencies_dropped``) so that it is never silent.
    """

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity {capacity} must be at least 1")
        self.capacity = capacity
        self._items: collections.deque[ReceivedEmergency] = collections.deque()
        self._lock = threading.Lock()
        #: Emergencies dropped because the queue was full.
        self.dropped = 0

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def put(self, item: ReceivedEmergency) -> bool:
        """Append ``item``; False when the oldest emergency had to be dropped for it."""
        with self._lock:
            full = len(self._items) >= self.capacity
            if full:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            return not full

    def get(self) -> Optional[ReceivedEmergency]:
        """The oldest emergency, removed from the queue; None when empty."""
        with self._lock:
            return self._items.popleft() if self._items else None

    def drain(self) -> list[ReceivedEmergency]:
        """Every queued emergency, oldest first; the queue is emptied."""
        with self._lock:
            items = list(self._items)
            self._items.clear()
            return items


# ------------------------------------------------------------------------------- engine
@dataclass(frozen=True, slots=True)
class _Status:
    """Mailbox full flags of the receive and the send sync manager."""

    receive_full: bool
    send_full: bool


class _RepeatPhase(enum.Enum):
    READ_ACTIVATE = "read activate"
    TOGGLE = "toggle"
    AWAIT_ACK = "await acknowledge"


@dataclass(slots=True)
class _Repeat:
    """A repeat request in progress (ESC Section I Figure 26)."""

    phase: _RepeatPhase
    due: float
    deadline: float
    activate: int = 0
    requested: bool = False
    tries: int = 0


class MailboxEngine:
    """The mailbox conversation with one slave (see the module and ``docs/mailbox.md``).

    :param bus: the bus every frame goes through (shared with the rest of the master).
    :param slave: where the slave's mailboxes are.
    :param policy: status mode, retries, timeouts, emergency queue size.
    :param diagnostics: where the engine counts (its slave's entry); a private one if None.

    Attributes: :attr:`counters` (this slave's :class:`MailboxCounters`) and
    :attr:`emergencies` (its :class:`EmergencyQueue`). One engine must be the only user of
    its slave's mailbox; it may be used from several threads.
    """

    def __init__(
        self,
        bus: Bus,
        slave: MailboxSlave,
        *,
        policy: MailboxPolicy = MailboxPolicy(),
        diagnostics: Optional[MailboxDiagnostics] = None,
    ) -> None:
        self.bus = bus
        self.slave = slave
        self.policy = policy
        self.diagnostics = MailboxDiagnostics() if diagnostics is None else diagnostics
        self.counters: MailboxCounters = self.diagnostics.register(slave.station_address, slave.name)
        self.emergencies = EmergencyQueue(policy.emergency_capacity)
        receive_sm = sync_manager_address(slave.receive_sync_manager)
        self._send_sm = sync_manager_address(slave.send_sync_manager)
        # one read covering the status registers of both sync managers
        self._status_lo = min(receive_sm, self._send_sm) + SM_STATUS_OFFSET
        self._status_length = abs(receive_sm - self._send_sm) + 1
        self._receive_status_at = receive_sm + SM_STATUS_OFFSET - self._status_lo
        self._send_status_at = self._send_sm + SM_STATUS_OFFSET - self._status_lo
        self._check_frame_sizes()
        self._lock = threading.RLock()
        self._queue: collections.deque[MailboxTransaction] = collections.deque()
        self._status: Optional[_Status] = None
        self._counter_out = NO_COUNTER
        self._counter_in = NO_COUNTER
        self._read_due = time.monotonic()
        self._empty_reads = 0
        self._repeat: Optional[_Repeat] = None

    def __repr__(self) -> str:
        return f"<MailboxEngine slave {self.slave.label} {self.policy.status_mode.value}, {len(self._queue)} queued>"

    def _check_frame_sizes(self) -> None:
        status = DATAGRAM_OVERHEAD + self._status_length
        for role, size in (("receive", self.slave.receive_size), ("send", self.slave.send_size)):
            if status + DATAGRAM_OVERHEAD + size > MAX_DATAGRAMS_BYTES:
                raise ValueError(
                    f"slave {self.slave.label}: a {role} mailbox of {size} octets does not fit one "
                    f"frame with its status read"
                )

    # ------------------------------------------------------------------------ public API
    @property
    def busy(self) -> bool:
        """True while transactions are queued or in progress."""
        with self._lock:
            return bool(self._queue)

    def submit(
        self,
        mailbox_type: int,
        payload: Optional[bytes],
        expect: Optional[ReplyMatcher],
        *,
        what: str,
        idempotent: bool = True,
        timeout: Optional[float] = None,
    ) -> MailboxTransaction:
        """Queue a transaction and return it at once; :meth:`poll` carries it out.

        :param payload: the mailbox service data to write (None: only wait for a message).
        :param expect: recognises the reply (None: done once the request is written).
        :param what: what the transaction does, for error messages.
        :param idempotent: whether re-executing the request is harmless; only then is it
            re-sent with a new counter after the reply timeout and a fruitless repeat request.
        :param timeout: seconds for the whole transaction, from now (default: the backoff
            policy's deadline).
        :raises ValueError: without payload and matcher, or for a payload too long for the
            receive mailbox.
        """
        if payload is None and expect is None:
            raise ValueError("a transaction needs a payload to send or a reply to wait for")
        if payload is not None and MAILBOX_HEADER_SIZE + len(payload) > self.slave.receive_size:
            raise ValueError(
                f"{what}: {len(payload)} octets do not fit the {self.slave.receive_size}-octet "
                f"receive mailbox of slave {self.slave.label}"
            )
        now = time.monotonic()
        limit = self.policy.backoff.deadline if timeout is None else timeout
        transaction = MailboxTransaction(
            int(mailbox_type), None if payload is None else bytes(payload), expect, what,
            idempotent, now, now + limit,
        )
        with self._lock:
            self._queue.append(transaction)
        return transaction

    def poll(self) -> float:
        """Advance the engine by at most one frame; never blocks beyond that frame.

        Returns the seconds after which the engine wants to be polled again (0: at once).
        While nothing is outstanding, a poll reads the send mailbox every
        ``idle_poll_interval`` to collect emergencies.
        """
        with self._lock:
            now = time.monotonic()
            self._expire(now)
            self._step(now)
            return self._next_delay(time.monotonic())

    def wait(self, transaction: MailboxTransaction) -> Optional[MailboxMessage]:
        """Poll until ``transaction`` is done; its reply, or raise its error."""
        while not transaction.done:
            delay = self.poll()
            if not transaction.done and delay > 0:
                time.sleep(min(delay, _MAX_WAIT_SLEEP))
        return transaction.result()

    def request(
        self,
        mailbox_type: int,
        payload: bytes,
        expect: ReplyMatcher,
        *,
        what: str,
        idempotent: bool = True,
        timeout: Optional[float] = None,
    ) -> MailboxMessage:
        """Write ``payload`` and wait for the reply ``expect`` accepts (blocking)."""
        transaction = self.submit(
            mailbox_type, payload, expect, what=what, idempotent=idempotent, timeout=timeout
        )
        reply = self.wait(transaction)
        assert reply is not None  # a transaction with a matcher ends with a reply or an error
        return reply

    def send(self, mailbox_type: int, payload: bytes, *, what: str, timeout: Optional[float] = None) -> None:
        """Write ``payload`` without waiting for a reply (blocking until it is written)."""
        self.wait(self.submit(mailbox_type, payload, None, what=what, timeout=timeout))

    def receive(
        self, mailbox_type: int, expect: ReplyMatcher, *, what: str, timeout: Optional[float] = None
    ) -> MailboxMessage:
        """Wait for a message ``expect`` accepts without writing anything (blocking)."""
        reply = self.wait(self.submit(mailbox_type, None, expect, what=what, timeout=timeout))
        assert reply is not None
        return reply

    # ---------------------------------------------------------------------- scheduling
    def _head(self, now: float) -> Optional[MailboxTransaction]:
        """The transaction in progress, started if it was queued."""
        if not self._queue:
            return None
        transaction = self._queue[0]
        if transaction.state is TransactionState.QUEUED:
            if transaction.payload is not None:
                transaction.state = TransactionState.SENDING
                transaction.write_due = now
            else:
                transaction.state = TransactionState.AWAITING
                transaction.reply_deadline = now + self.policy.reply_timeout
                self._read_due = now
        return transaction

    def _expire(self, now: float) -> None:
        """Apply the deadlines of the transaction in progress."""
        transaction = self._head(now)
        if transaction is None:
            return
        if now >= transaction.deadline:
            self._time_out(transaction, now)
        elif (
            transaction.state is TransactionState.AWAITING
            and now >= transaction.reply_deadline
            and self._repeat is None
        ):
            self.counters.reply_timeouts += 1
            if not transaction.repeated:
                transaction.repeated = True
                transaction.repeats += 1
                self._start_repeat(now)
            elif (
                transaction.payload is not None
                and transaction.idempotent
                and transaction.transmissions < self.policy.backoff.attempts
            ):
                transaction.counter = NO_COUNTER
                transaction.repeated = False
                transaction.state = TransactionState.SENDING
                transaction.write_due = now
            else:
                self._time_out(transaction, now)

    def _step(self, now: float) -> None:
        """Exchange at most one frame: the repeat request in progress, a write or a read."""
        repeat = self._repeat
        if repeat is not None:
            if now >= repeat.deadline:
                self._abandon_repeat(now)
            elif now >= repeat.due:
                self._step_repeat(repeat)
            return
        transaction = self._head(now)
        write = (
            transaction is not None
            and transaction.state is TransactionState.SENDING
            and now >= transaction.write_due
        )
        read = now >= self._read_due
        mode = self.policy.status_mode
        if mode is StatusMode.STRICT:
            status, self._status = self._status, None
            if status is None:
                if write or read:
                    self._read_status()
            elif status.send_full:
                self._read_mailbox(expect_full=True)
            elif write and not status.receive_full:
                assert transaction is not None
                self._write(transaction)
            elif write:
                assert transaction is not None
                self._refused(transaction, now)
            else:
                self._empty(now)
        elif mode is StatusMode.HYBRID:
            status = self._status
            if write:
                assert transaction is not None
                if status is None or not status.receive_full:
                    self._write(transaction)
                    return
                self._refused(transaction, now)
            if now >= self._read_due or (status is not None and status.send_full):
                self._read_mailbox(expect_full=False)
        elif write:
            assert transaction is not None
            self._write(transaction)
        elif read:
            self._read_mailbox(expect_full=False)

    def _next_delay(self, now: float) -> float:
        repeat = self._repeat
        if repeat is not None:
            return max(0.0, min(repeat.due, repeat.deadline) - now)
        due = self._read_due
        if self._status is not None and (
            self.policy.status_mode is StatusMode.STRICT or self._status.send_full
        ):
            due = now
        if self._queue:
            transaction = self._queue[0]
            if transaction.state is TransactionState.QUEUED:
                due = now
            elif transaction.state is TransactionState.SENDING:
                due = min(due, transaction.write_due)
            else:
                due = min(due, transaction.reply_deadline)
            due = min(due, transaction.deadline)
        return max(0.0, due - now)

    def _read_delay(self) -> float:
        """How long to wait before reading again after an empty read."""
        if self._queue:
            return self.policy.backoff.delay(self._empty_reads - 1)
        return self.policy.idle_poll_interval

    # ----------------------------------------------------------------------- frames
    def _fprd(self, offset: int, length: int) -> Request:
        return Request.read(Command.FPRD, station_address(self.slave.station_address, offset), length)

    def _fpwr(self, offset: int, data: bytes) -> Request:
        return Request(Command.FPWR, station_address(self.slave.station_address, offset), data)

    def _exchange(self, requests: Sequence[Request]) -> Optional[list[Datagram]]:
        """One frame, never re-sent by the bus (a repeated mailbox read would consume the
        slave's next message; the engine recovers with the repeat protocol); None when no
        reply came (counted)."""
        try:
            return self.bus.exchange(requests, retries=0)
        except FrameTimeout:
            self.counters.frame_timeouts += 1
            return None

    def _status_request(self) -> Request:
        return self._fprd(self._status_lo, self._status_length)

    def _decode_status(self, reply: Datagram) -> Optional[_Status]:
        if not reply.wkc:
            return None
        data = reply.data
        return _Status(
            receive_full=SmStatus.decode(data[self._receive_status_at:self._receive_status_at + 1]).mailbox_full,
            send_full=SmStatus.decode(data[self._send_status_at:self._send_status_at + 1]).mailbox_full,
        )

    def _read_status(self) -> None:
        replies = self._exchange([self._status_request()])
        self._status = None if replies is None else self._decode_status(replies[0])
        if self._status is None:  # no answer: ask again after the backoff, not at once
            now = time.monotonic()
            self._empty(now)
            transaction = self._head(now)
            if transaction is not None and transaction.state is TransactionState.SENDING:
                transaction.write_due = max(transaction.write_due, self._read_due)

    # ------------------------------------------------------------------------ writing
    def _write(self, transaction: MailboxTransaction) -> None:
        """Write the transaction's request (with the status read first in hybrid mode)."""
        assert transaction.payload is not None
        if transaction.counter == NO_COUNTER:
            self._counter_out = next_counter(self._counter_out)
            transaction.counter = self._counter_out
        data = build_mailbox(
            transaction.mailbox_type, transaction.payload,
            mailbox_size=self.slave.receive_size, counter=transaction.counter,
        )
        hybrid = self.policy.status_mode is StatusMode.HYBRID
        requests = [self._status_request()] if hybrid else []
        requests.append(self._fpwr(self.slave.receive_offset, data))
        if transaction.writes:
            self.counters.retries += 1
        else:
            self.counters.requests += 1
            transaction.sent_at = time.monotonic()
        transaction.writes += 1
        replies = self._exchange(requests)
        now = time.monotonic()
        if replies is None:
            # the write may have arrived: write it again with the same counter, which the slave
            # drops as a duplicate if it has the first copy (the reply is accepted meanwhile)
            self._status = None
            transaction.write_due = now + self.policy.backoff.delay(transaction.writes - 1)
            self._read_due = now
            return
        if hybrid:
            self._status = self._decode_status(replies[0])
        if not replies[-1].wkc:
            self._refused(transaction, now)
            return
        self.counters.bytes_down += MAILBOX_HEADER_SIZE + len(transaction.payload)
        transaction.transmissions += 1
        if self._status is not None:
            self._status = replace(self._status, receive_full=True)
        if transaction.expect is None:
            self._finish(transaction, None)
            return
        transaction.state = TransactionState.AWAITING
        transaction.reply_deadline = now + self.policy.reply_timeout
        self._read_due = now
        self._empty_reads = 0

    def _refused(self, transaction: MailboxTransaction, now: float) -> None:
        """The receive mailbox is full: write again later, read meanwhile (the slave may wait
        for its own message to be read before it takes the next request)."""
        self.counters.mailbox_full += 1
        transaction.write_due = now + self.policy.backoff.delay(transaction.write_refusals)
        transaction.write_refusals += 1
        self._read_due = now

    # ------------------------------------------------------------------------ reading
    def _empty(self, now: float) -> None:
        self._empty_reads += 1
        self._read_due = now + self._read_delay()

    def _read_mailbox(self, *, expect_full: bool) -> None:
        """Read the send mailbox (with the status read first in hybrid mode) and dispatch what
        it held. ``expect_full``: a status read of the previous frame showed it full."""
        hybrid = self.policy.status_mode is StatusMode.HYBRID
        requests = [self._status_request()] if hybrid else []
        requests.append(self._fprd(self.slave.send_offset, self.slave.send_size))
        replies = self._exchange(requests)
        now = time.monotonic()
        if replies is None:  # the read may have emptied the mailbox: the message is lost
            self._status = None
            self._lost_read(now)
            return
        read = replies[-1]
        if hybrid:
            status = self._decode_status(replies[0])
            expect_full = status is not None and status.send_full
            self._status = status if status is None or not read.wkc else replace(status, send_full=False)
        if not read.wkc:
            if expect_full:
                self._lost_read(now)
            else:
                self._empty(now)
            return
        self._empty_reads = 0
        self._read_due = now
        try:
            message = MailboxMessage.decode(read.data)
        except ProtocolError:
            self.counters.malformed_discarded += 1
            return
        self.counters.bytes_up += MAILBOX_HEADER_SIZE + len(message.payload)
        self._dispatch(message, now)

    def _dispatch(self, message: MailboxMessage, now: float) -> None:
        """Route one message: stale, error reply, emergency, the reply, or mismatched."""
        counter = message.header.counter
        if counter != NO_COUNTER:
            if counter == self._counter_in:
                self.counters.stale_discarded += 1
                return
            self._counter_in = counter
        mailbox_type = message.header.type
        if mailbox_type == MailboxType.ERR:
            self._error_reply(message, now)
            return
        if mailbox_type == MailboxType.COE and self._emergency(message, now):
            return
        transaction = self._receiver(now)
        if transaction is not None and mailbox_type == transaction.mailbox_type:
            assert transaction.expect is not None
            try:
                accepted = transaction.expect(message)
            except ProtocolError:
                self.counters.malformed_discarded += 1
                return
            if accepted:
                self.counters.replies += 1
                if transaction.sent_at is not None:
                    self.counters.latency.record(now - transaction.sent_at)
                self._finish(transaction, message)
                return
        self.counters.mismatched_discarded += 1

    def _receiver(self, now: float) -> Optional[MailboxTransaction]:
        """The transaction a reply can belong to: the one in progress, once its request was
        written at least once (a write whose frame was lost may have arrived)."""
        transaction = self._head(now)
        if transaction is None or transaction.expect is None:
            return None
        if transaction.payload is not None and not transaction.writes:
            return None
        return transaction

    def _emergency(self, message: MailboxMessage, now: float) -> bool:
        """Queue a CoE emergency; False if the CoE message is something else."""
        try:
            if CoEHeader.decode(message.payload).service != CoEService.EMERGENCY:
                return False
            emergency = Emergency.decode(message.payload)
        except ProtocolError:
            self.counters.malformed_discarded += 1
            return True
        self.counters.emergencies_received += 1
        if not self.emergencies.put(ReceivedEmergency(self.slave.label, emergency, now)):
            self.counters.emergencies_dropped += 1
        return True

    def _error_reply(self, message: MailboxMessage, now: float) -> None:
        try:
            reply = MailboxErrorReply.decode(message.payload)
        except ProtocolError:
            self.counters.malformed_discarded += 1
            return
        self.counters.mailbox_errors += 1
        transaction = self._receiver(now)
        if transaction is None:
            return
        self._fail(
            transaction,
            MailboxError(
                _protocol_name(transaction.mailbox_type),
                f"error reply 0x{int(reply.code):04X} ({reply.text}) to {transaction.what}",
                slave=self.slave.label,
                code=int(reply.code),
            ),
        )

    # ------------------------------------------------------------------ repeat request
    def _lost_read(self, now: float) -> None:
        self.counters.lost_reads += 1
        self._start_repeat(now)

    def _start_repeat(self, now: float) -> None:
        """Ask the slave to put the last message read into the send mailbox again; it has
        ``reply_timeout``, and at least the time its three frames may take on the bus."""
        if self._repeat is None:
            frames = _REPEAT_FRAMES * self.bus.timeout
            limit = max(self.policy.reply_timeout, frames)
            self._repeat = _Repeat(_RepeatPhase.READ_ACTIVATE, due=now, deadline=now + limit)

    def _step_repeat(self, repeat: _Repeat) -> None:
        """One frame of the repeat request: read the activate register, write it with the
        repeat bit toggled, then read the PDI control register until the slave acknowledges
        with the same value of its repeat acknowledge bit."""
        activate_at = self._send_sm + SM_ACTIVATE_OFFSET
        if repeat.phase is _RepeatPhase.READ_ACTIVATE:
            replies = self._exchange([self._fprd(activate_at, _ACTIVATE_AND_PDI_CONTROL)])
            now = time.monotonic()
            if replies is not None and replies[0].wkc:
                repeat.activate = replies[0].data[0] ^ int(SmActivate.REPEAT_REQUEST)
                repeat.requested = bool(repeat.activate & SmActivate.REPEAT_REQUEST)
                repeat.phase = _RepeatPhase.TOGGLE
                return
        elif repeat.phase is _RepeatPhase.TOGGLE:
            replies = self._exchange([self._fpwr(activate_at, bytes((repeat.activate,)))])
            now = time.monotonic()
            if replies is not None and replies[0].wkc:
                self.counters.repeat_requests += 1
                repeat.phase = _RepeatPhase.AWAIT_ACK
                return
        else:
            replies = self._exchange([self._fprd(self._send_sm + SM_PDI_CONTROL_OFFSET, 1)])
            now = time.monotonic()
            acknowledged = replies is not None and replies[0].wkc > 0 and (
                bool(replies[0].data[0] & SmPdiControl.REPEAT_ACK) == repeat.requested
            )
            if acknowledged:
                self._end_repeat(now)
                return
        repeat.due = now + self.policy.backoff.delay(repeat.tries)
        repeat.tries += 1

    def _end_repeat(self, now: float) -> None:
        """The slave acknowledged: read at once; the reply timeout starts again."""
        self._repeat = None
        self._status = None
        self._read_due = now
        self._empty_reads = 0
        transaction = self._head(now)
        if transaction is not None and transaction.state is TransactionState.AWAITING:
            transaction.reply_deadline = now + self.policy.reply_timeout

    def _abandon_repeat(self, now: float) -> None:
        """No acknowledge in time: carry on; the transaction's next reply timeout is now."""
        self._repeat = None
        self._status = None
        self._read_due = now
        transaction = self._head(now)
        if transaction is not None and transaction.state is TransactionState.AWAITING:
            transaction.reply_deadline = now

    # ---------------------------------------------------------------------- outcomes
    def _finish(self, transaction: MailboxTransaction, reply: Optional[MailboxMessage]) -> None:
        transaction.reply = reply
        transaction.state = TransactionState.DONE
        self._queue.remove(transaction)

    def _fail(self, transaction: MailboxTransaction, error: EtherCATError) -> None:
        transaction.error = error
        transaction.state = TransactionState.FAILED
        self._queue.remove(transaction)

    def _time_out(self, transaction: MailboxTransaction, now: float) -> None:
        self.counters.timeouts += 1
        if transaction.state is TransactionState.SENDING and not transaction.transmissions:
            waited = "room in the receive mailbox"
        else:
            waited = "the reply"
        self._fail(
            transaction,
            FrameTimeout(
                f"{waited} for {transaction.what} from slave {self.slave.label} "
                f"({transaction.transmissions} transmissions, {transaction.repeats} repeat requests)",
                now - transaction.created,
            ),
        )
