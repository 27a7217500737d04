"""``mailbox_soak_demo``: a long stream of mixed SDO transactions against the simulator with
injected mailbox and frame faults, and what came of them (roadmap Phase 1 acceptance gate).

::

    mailbox_soak_demo [--chain config/sim_chain.yaml] [--transactions 10000] [--seed 1]
                      [--status-mode hybrid] [--duration SECONDS] [--json] [fault rates ...]

(also ``ethercat-master soak mailbox ...``). The chain file's slaves are served in this process
(:class:`InProcessSimulator`); the master (:class:`~ethercat_master.master.master.Master`)
scans them, brings them to PRE-OP and probes every CoE slave (below) before any fault is
switched on. Then each CoE slave gets a thread of its own that runs its share of the
transactions through its :class:`~ethercat_master.master.coe.CoEClient` (transaction ``n``
belongs to the ``n % k``-th of the ``k`` CoE slaves), so the slaves' mailbox conversations
interleave frame by frame on the one bus, as a mailbox thread of a running master would have them.

Transactions (each is one CoE client call, checked against what the slave must answer):

=========================  ===================================================================
``expedited_upload``       0x1000, 0x1018:01-04, or an entry the soak wrote (its last value)
``expedited_download``     a writable 1-4 octet entry gets a random value in its range
``string_upload``          0x1008 device name (normal, or segmented when it exceeds a mailbox)
``complete_access_upload`` 0x1018 or a written array, whole (slaves with complete access)
``complete_access_download`` a writable array gets random values, whole
``sdo_info``               object and entry descriptions, object list and list lengths
                           (multi-fragment replies), equal to what the probe saw
``abort_upload``           an object that does not exist: must end in SDO abort 0x06020000
=========================  ===================================================================

The probe reads what each slave answers without faults (device type, name, identity, SDO
information) and finds its write targets among :data:`WRITE_TARGETS` and
:data:`ARRAY_TARGETS` (an entry counts when it can be read and written back); a slave gets
the kinds it supports. Each transaction's choices come from ``random.Random(f"{seed}:{n}")``,
so a seed fixes the mix; the threads' interleaving, and with it which frames the wire faults
hit, is not reproduced exactly.

Faults: every CoE slave's mailbox gets a :class:`~ethercat_master.sim.mailbox_faults.MailboxFaults`
(stale, repeated, wrong counter, busy, silent = transient timeout, emergency storm; rates per
message) and the wire a :class:`~ethercat_master.sim.faults.FaultyWire` (loss, delay,
duplication; rates per frame). The defaults exercise every kind several times per thousand
transactions. A result that differs from the expected one is a failure of class
:class:`DataMismatch`; any exception a transaction raises is a failure of its class.

Deadlock watchdog: a transaction that has not finished and whose slave has had no mailbox
reply accepted for ``--watchdog`` seconds counts as a deadlock: it is reported (position,
kind, seconds) and its thread is abandoned, so the tool never hangs on it.

Output (``--json``, schema ``ethercat_master.mailbox_soak`` version 1): totals, success rate,
failures by class (and the first messages), latency percentiles of the transactions (p50,
p90, p99, p99.9, max, mean, microseconds), the mailbox counters of the run (retries, repeat
requests, stale discarded, emergencies received and dropped, ...), deadlocks, duration,
transactions per second, the seed, the policy and the fault configuration with the number of
faults injected; a short human summary otherwise. The exit status is 0 when the success rate
reaches ``--min-success-rate`` and no deadlock was detected, else 1.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import struct
import sys
import threading
import time
from array import array
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..errors import EtherCATError, SdoAbort
from ..master.coe import CoEClient
from ..master.diagnostics import COUNTER_FIELDS, MailboxCounters
from ..master.mailbox import BackoffPolicy, MailboxPolicy, StatusMode
from ..master.master import Master
from ..master.slave_info import SlaveInfo
from ..protocol.al_status import ALState
from ..protocol.coe import (
    DATA_TYPE_BIT_SIZES,
    SDO_DATA_SIZE,
    SDO_FRAME_SIZE,
    DataType,
    OdListType,
    decode_value,
    encode_value,
)
from ..protocol.mailbox import MAILBOX_HEADER_SIZE
from ..protocol.sdo_abort import SdoAbortCode
from ..protocol.sii import CoeDetails
from ..sim.in_process import InProcessSimulator
from ..sim.faults import FaultKind, FaultPlan, FaultRate, FaultyWire
from ..sim.mailbox_faults import MailboxFault, MailboxFaultPlan, MailboxFaults
from ..sim.slave import SimulatedSlave

__all__ = [
    "DEFAULT_CHAIN",
    "SIMULATOR_BUS_TIMEOUT_S",
    "SCHEMA_VERSION",
    "SCHEMA_KIND",
    "KINDS",
    "WriteTarget",
    "ArrayTarget",
    "WRITE_TARGETS",
    "ARRAY_TARGETS",
    "InProcessSimulator",
    "FaultRates",
    "NO_FAULTS",
    "SoakSettings",
    "DataMismatch",
    "run_soak",
    "format_summary",
    "add_arguments",
    "settings_from_args",
    "run",
    "main",
]

PROGRAM = "mailbox_soak_demo"
#: The reference chain of the source tree (pass ``--chain`` where it is not installed).
DEFAULT_CHAIN = Path(__file__).resolve().parents[2] / "config" / "sim_chain.yaml"
#: Layout version of the JSON report; raised when a field is renamed, removed or redefined.
SCHEMA_VERSION = 1
SCHEMA_KIND = "ethercat_master.mailbox_soak"
DEFAULT_TRANSACTIONS = 10_000
DEFAULT_SEED = 1
#: The roadmap's acceptance gate for the success rate.
DEFAULT_MIN_SUCCESS_RATE = 0.9999
#: Seconds without a finished transaction or an accepted reply that make a deadlock.
DEFAULT_WATCHDOG_S = 30.0
#: Bus timeout for a master of the in-process simulator while it sets up: the simulator shares
#: the CPU with the master, and frames it works hard on (the scan's reset of every FMMU and sync
#: manager) take it several milliseconds, many more on a loaded machine.
SIMULATOR_BUS_TIMEOUT_S = 0.1
#: During the soak a mailbox frame comes back in well under a millisecond, so short timeouts
#: keep the recovery of lost frames and replies quick (both are options).
DEFAULT_BUS_TIMEOUT_S = 0.01
DEFAULT_REPLY_TIMEOUT_S = 0.05
#: The soak's backoff: quick retries, each mailbox transaction bounded by 2 s.
SOAK_BACKOFF = BackoffPolicy(attempts=3, initial_delay=0.0001, max_delay=0.002, deadline=2.0)
#: How often the main thread checks the watchdog and tallies the injected faults.
_TICK_S = 0.2
#: Failure messages kept in the report.
_EXAMPLES = 20
_US = 1e6
_PERCENTILES = {"p50_us": 50.0, "p90_us": 90.0, "p99_us": 99.0, "p99_9_us": 99.9}
_DEVICE_TYPE = (0x1000, 0)
_DEVICE_NAME = (0x1008, 0)
_IDENTITY = 0x1018
_IDENTITY_ENTRIES = 4
#: An index no slave of the reference chain has (manufacturer area, below the profile area).
_ABSENT_INDEX = 0x5FFE
_INFO_OBJECTS = (0x1000, 0x1008, 0x1018)
_BITS_PER_OCTET = 8


class DataMismatch(Exception):
    """A transaction completed but its result is not what the slave must have answered."""


# ---------------------------------------------------------------------------------- faults
@dataclass(frozen=True, slots=True)
class FaultRates:
    """Probabilities of the injected faults: mailbox faults per slave message, frame faults per
    frame (see the module documentation)."""

    #: The slave first sends its previous message again.
    stale: float = 0.005
    #: The slave sends the message twice.
    repeat: float = 0.005
    #: The message carries a counter that is not the next one.
    wrong_counter: float = 0.002
    #: The slave holds the message back for ``busy_polls`` firmware polls.
    busy: float = 0.01
    busy_polls: int = 3
    #: The slave drops the message (the request is never answered: a transient timeout).
    silent: float = 0.002
    #: ``storm_size`` emergencies follow the message.
    emergency_storm: float = 0.001
    storm_size: int = 8
    #: The frame is lost on a cable (before or after the slaves that processed it).
    loss: float = 0.002
    #: The reply reaches the master up to ``delay_max_s`` late (beyond the bus timeout: too late).
    delay: float = 0.002
    delay_max_s: float = 0.02
    #: The reply reaches the master twice.
    duplication: float = 0.001

    def mailbox_plan(self, seed: int) -> MailboxFaultPlan:
        """The mailbox fault plan of one slave."""
        return MailboxFaultPlan(
            seed=seed, stale=FaultRate(self.stale), repeat=FaultRate(self.repeat),
            wrong_counter=FaultRate(self.wrong_counter), busy=FaultRate(self.busy), busy_polls=self.busy_polls,
            silent=FaultRate(self.silent), emergency_storm=FaultRate(self.emergency_storm),
            storm_size=self.storm_size,
        )

    def frame_plan(self, seed: int) -> FaultPlan:
        """The wire's fault plan."""
        return FaultPlan(seed=seed, loss=FaultRate(self.loss), delay=FaultRate(self.delay),
                         delay_s=(0.0, self.delay_max_s), duplication=FaultRate(self.duplication))

    def to_dict(self) -> dict[str, Any]:
        """The rates as the report shows them."""
        return {
            "mailbox": {"stale": self.stale, "repeat": self.repeat, "wrong_counter": self.wrong_counter,
                        "busy": self.busy, "busy_polls": self.busy_polls, "silent": self.silent,
                        "emergency_storm": self.emergency_storm, "storm_size": self.storm_size},
            "frame": {"loss": self.loss, "delay": self.delay, "delay_max_s": self.delay_max_s,
                      "duplication": self.duplication},
        }


#: No faults at all (``--no-faults``).
NO_FAULTS = FaultRates(stale=0.0, repeat=0.0, wrong_counter=0.0, busy=0.0, silent=0.0, emergency_storm=0.0,
                       loss=0.0, delay=0.0, duplication=0.0)


@dataclass(frozen=True, slots=True)
class SoakSettings:
    """One soak run.

    :param transactions: how many transactions in all.
    :param duration: stop starting transactions after this many seconds (None: no limit).
    :param watchdog: seconds without progress that make a transaction a deadlock.
    """

    chain: Path = DEFAULT_CHAIN
    transactions: int = DEFAULT_TRANSACTIONS
    seed: int = DEFAULT_SEED
    status_mode: StatusMode = StatusMode.HYBRID
    duration: Optional[float] = None
    faults: FaultRates = FaultRates()
    bus_timeout: float = DEFAULT_BUS_TIMEOUT_S
    reply_timeout: float = DEFAULT_REPLY_TIMEOUT_S
    watchdog: float = DEFAULT_WATCHDOG_S

    def __post_init__(self) -> None:
        if self.transactions < 1:
            raise ValueError(f"transactions must be at least 1, got {self.transactions}")
        if self.duration is not None and self.duration <= 0:
            raise ValueError(f"duration must be positive, got {self.duration}")
        if self.watchdog <= 0 or self.bus_timeout <= 0 or self.reply_timeout <= 0:
            raise ValueError("watchdog, bus timeout and reply timeout must be positive")

    def policy(self) -> MailboxPolicy:
        """The mailbox policy of every engine."""
        return MailboxPolicy(status_mode=self.status_mode, backoff=SOAK_BACKOFF, reply_timeout=self.reply_timeout)


class _FaultTally:
    """Counts the faults the simulator injected, from the logs of the wire and the mailboxes.

    The logs grow with every frame and message, so they are emptied as the run goes: each
    :meth:`drain` swaps in fresh lists and counts the lists taken at the previous drain (by
    then the serving thread no longer appends to them)."""

    def __init__(self, wire: FaultyWire, mailboxes: Sequence[MailboxFaults]) -> None:
        self._wire = wire
        self._mailboxes = list(mailboxes)
        self.frames: collections.Counter[str] = collections.Counter()
        self.messages: collections.Counter[str] = collections.Counter()
        self._taken: list[tuple[list, list[list]]] = []

    def drain(self, *, final: bool = False) -> None:
        """Count what the previous drain took and take what was logged since (``final``:
        count everything now; the simulator must be idle)."""
        taken = (self._wire.log, [faults.log for faults in self._mailboxes])
        self._wire.log = []
        for faults in self._mailboxes:
            faults.log = []
        self._taken.append(taken)
        keep = 0 if final else 1
        while len(self._taken) > keep:
            frames, messages = self._taken.pop(0)
            for record in frames:
                self.frames.update(kind.value for kind in record.faults)
            for log in messages:
                for message in log:
                    self.messages.update(kind.value for kind in message.faults)

    def to_dict(self) -> dict[str, Any]:
        """Faults injected, by kind."""
        return {"mailbox": {kind.value: self.messages[kind.value] for kind in MailboxFault},
                "frame": {kind.value: self.frames[kind.value]
                          for kind in (FaultKind.LOSS, FaultKind.DELAY, FaultKind.DUPLICATION)}}


# --------------------------------------------------------------------------------- targets
@dataclass(frozen=True, slots=True)
class WriteTarget:
    """A writable entry of 1-4 octets the soak may set to any value in ``low``..``high``."""

    index: int
    subindex: int
    data_type: DataType
    low: int
    high: int
    what: str


@dataclass(frozen=True, slots=True)
class ArrayTarget:
    """A writable array whose ``count`` entries (from subindex 1) the soak may set with
    complete access, each to a value in ``low``..``high``."""

    index: int
    count: int
    data_type: DataType
    low: int
    high: int
    what: str

    @property
    def octets(self) -> int:
        """Octets of one entry."""
        return DATA_TYPE_BIT_SIZES[self.data_type] // _BITS_PER_OCTET


#: Entries the soak writes where a slave has them (CiA 402 drives, EL31xx terminals).
WRITE_TARGETS: tuple[WriteTarget, ...] = (
    WriteTarget(0x6081, 0, DataType.UNSIGNED32, 1, 1_000_000, "CiA 402 profile velocity"),
    WriteTarget(0x8000, 0x13, DataType.INTEGER16, -30_000, 30_000, "EL31xx channel 1 limit 1"),
)
#: Arrays the soak writes with complete access where a slave has them.
ARRAY_TARGETS: tuple[ArrayTarget, ...] = (
    ArrayTarget(0x607D, 2, DataType.INTEGER32, -(2**31), 2**31 - 1, "CiA 402 software position limit"),
)


@dataclass(slots=True)
class _SlaveTargets:
    """What the probe found on one CoE slave, and the values the soak wrote since."""

    position: int
    name: str
    device_type: int
    device_name: str
    identity: tuple[int, ...]
    complete_access: bool
    info: dict[str, Any] = field(default_factory=dict)
    write: Optional[WriteTarget] = None
    array: Optional[ArrayTarget] = None
    absent_index: Optional[int] = None
    #: (index, subindex) -> the value last written (or read by the probe).
    shadow: dict[tuple[int, int], Any] = field(default_factory=dict)

    def string_transfer(self, send_mailbox_size: int) -> str:
        """How 0x1008 travels: ``"expedited"``, ``"normal"`` or ``"segmented"``."""
        size = len(self.device_name.encode("latin-1", "replace"))
        room = send_mailbox_size - MAILBOX_HEADER_SIZE - SDO_FRAME_SIZE
        return "expedited" if size <= SDO_DATA_SIZE else "normal" if size <= room else "segmented"


def _probe(client: CoEClient, slave: SlaveInfo) -> _SlaveTargets:
    """Read what the slave answers without faults and find its write targets."""
    general = slave.sii.general
    details = general.coe_details if general is not None else CoeDetails(0)
    identity = tuple(client.read(_IDENTITY, sub, DataType.UNSIGNED32) for sub in range(1, _IDENTITY_ENTRIES + 1))
    targets = _SlaveTargets(
        position=slave.position,
        name=slave.order or slave.name,
        device_type=client.read(*_DEVICE_TYPE, DataType.UNSIGNED32),
        device_name=client.read(*_DEVICE_NAME, DataType.VISIBLE_STRING),
        identity=identity,
        complete_access=CoeDetails.ENABLE_SDO_COMPLETE_ACCESS in details,
    )
    if CoeDetails.ENABLE_SDO_INFO in details:
        targets.info = {
            **{f"object {index:#06x}": client.object_description(index) for index in _INFO_OBJECTS},
            **{f"entry {_IDENTITY:#06x}:{sub:02x}": client.entry_description(_IDENTITY, sub)
               for sub in range(1, _IDENTITY_ENTRIES + 1)},
            "list": client.od_list(OdListType.ALL),
            "lengths": client.od_list_lengths(),
        }
    for write in WRITE_TARGETS:
        value = _read_back(client, write.index, write.subindex, write.data_type)
        if value is not None:
            targets.write = write
            targets.shadow[(write.index, write.subindex)] = value
            break
    if targets.complete_access:
        for target in ARRAY_TARGETS:
            values = [_read_back(client, target.index, sub, target.data_type) for sub in range(1, target.count + 1)]
            if all(value is not None for value in values):
                targets.array = target
                targets.shadow.update(((target.index, sub), value) for sub, value in enumerate(values, 1))
                break
    try:
        client.upload(_ABSENT_INDEX)
    except SdoAbort as abort:
        if abort.code == SdoAbortCode.OBJECT_DOES_NOT_EXIST:
            targets.absent_index = _ABSENT_INDEX
    return targets


def _read_back(client: CoEClient, index: int, subindex: int, data_type: DataType) -> Any:
    """The entry's value after writing it back unchanged; None if it cannot be read or written."""
    try:
        value = client.read(index, subindex, data_type)
        client.write(index, subindex, value, data_type)
    except SdoAbort:
        return None
    return value


# ----------------------------------------------------------------------------------- kinds
def _expect(what: str, got: Any, expected: Any) -> None:
    if got != expected:
        raise DataMismatch(f"{what}: got {got!r}, expected {expected!r}")


def _expedited_upload(client: CoEClient, t: _SlaveTargets, rng: random.Random) -> None:
    choices: list[tuple[int, int, DataType, Any]] = [(*_DEVICE_TYPE, DataType.UNSIGNED32, t.device_type)]
    choices += [(_IDENTITY, sub, DataType.UNSIGNED32, t.identity[sub - 1]) for sub in range(1, _IDENTITY_ENTRIES + 1)]
    if t.write is not None:
        choices.append((t.write.index, t.write.subindex, t.write.data_type,
                        t.shadow[(t.write.index, t.write.subindex)]))
    if t.array is not None:
        choices += [(t.array.index, sub, t.array.data_type, t.shadow[(t.array.index, sub)])
                    for sub in range(1, t.array.count + 1)]
    index, subindex, data_type, expected = rng.choice(choices)
    _expect(f"upload {index:#06x}:{subindex:02x}", client.read(index, subindex, data_type), expected)


def _expedited_download(client: CoEClient, t: _SlaveTargets, rng: random.Random) -> None:
    write = t.write
    assert write is not None
    value = rng.randint(write.low, write.high)
    client.write(write.index, write.subindex, value, write.data_type)
    t.shadow[(write.index, write.subindex)] = value


def _string_upload(client: CoEClient, t: _SlaveTargets, rng: random.Random) -> None:
    _expect("upload 0x1008:00", client.read(*_DEVICE_NAME, DataType.VISIBLE_STRING), t.device_name)


def _complete_access_upload(client: CoEClient, t: _SlaveTargets, rng: random.Random) -> None:
    if t.array is None or rng.choice((_IDENTITY, t.array.index)) == _IDENTITY:
        data = client.upload(_IDENTITY, 0, complete_access=True)
        identity = struct.pack(f"<{_IDENTITY_ENTRIES}I", *t.identity)
        _expect("complete access upload 0x1018", data[-len(identity):], identity)
        return
    array_target = t.array
    data = client.upload(array_target.index, 1, complete_access=True)
    size = array_target.octets
    got = [decode_value(array_target.data_type, data[n * size:(n + 1) * size]) for n in range(array_target.count)]
    expected = [t.shadow[(array_target.index, sub)] for sub in range(1, array_target.count + 1)]
    _expect(f"complete access upload {array_target.index:#06x}", got, expected)


def _complete_access_download(client: CoEClient, t: _SlaveTargets, rng: random.Random) -> None:
    target = t.array
    assert target is not None
    values = [rng.randint(target.low, target.high) for _ in range(target.count)]
    client.download(target.index, 1, b"".join(encode_value(target.data_type, v) for v in values),
                    complete_access=True)
    t.shadow.update(((target.index, sub), value) for sub, value in enumerate(values, 1))


def _sdo_info(client: CoEClient, t: _SlaveTargets, rng: random.Random) -> None:
    key = rng.choice(sorted(t.info))
    if key.startswith("object "):
        got: Any = client.object_description(int(key.split()[1], 16))
    elif key.startswith("entry "):
        index, subindex = key.split()[1].split(":")
        got = client.entry_description(int(index, 16), int(subindex, 16))
    elif key == "list":
        got = client.od_list(OdListType.ALL)
    else:
        got = client.od_list_lengths()
    _expect(f"SDO information {key}", got, t.info[key])


def _abort_upload(client: CoEClient, t: _SlaveTargets, rng: random.Random) -> None:
    assert t.absent_index is not None
    try:
        data = client.upload(t.absent_index)
    except SdoAbort as abort:
        _expect(f"abort code of upload {t.absent_index:#06x}", abort.code, SdoAbortCode.OBJECT_DOES_NOT_EXIST)
        return
    raise DataMismatch(f"upload {t.absent_index:#06x}: got {data.hex()}, expected SDO abort 0x06020000")


@dataclass(frozen=True, slots=True)
class _Kind:
    weight: int
    applies: Callable[[_SlaveTargets], bool]
    run: Callable[[CoEClient, _SlaveTargets, random.Random], None]


#: The transaction kinds: weight in the mix, whether a slave supports it, what it does.
KINDS: dict[str, _Kind] = {
    "expedited_upload": _Kind(30, lambda t: True, _expedited_upload),
    "expedited_download": _Kind(15, lambda t: t.write is not None, _expedited_download),
    "string_upload": _Kind(15, lambda t: True, _string_upload),
    "complete_access_upload": _Kind(10, lambda t: t.complete_access, _complete_access_upload),
    "complete_access_download": _Kind(10, lambda t: t.array is not None, _complete_access_download),
    "sdo_info": _Kind(15, lambda t: bool(t.info), _sdo_info),
    "abort_upload": _Kind(5, lambda t: t.absent_index is not None, _abort_upload),
}


# ---------------------------------------------------------------------------------- worker
class _Worker:
    """Runs one CoE slave's share of the transactions in a thread of its own."""

    def __init__(self, client: CoEClient, targets: _SlaveTargets, numbers: range, seed: int,
                 stop_at: Optional[float]) -> None:
        self.client = client
        self.targets = targets
        self.numbers = numbers
        self.seed = seed
        self.stop_at = stop_at
        self.kinds = [name for name, kind in KINDS.items() if kind.applies(targets)]
        self.weights = [KINDS[name].weight for name in self.kinds]
        self.lock = threading.Lock()
        self.latencies = array("d")
        self.failures: collections.Counter[str] = collections.Counter()
        self.examples: list[dict[str, Any]] = []
        self.by_kind: collections.Counter[str] = collections.Counter()
        self.failed_by_kind: collections.Counter[str] = collections.Counter()
        self.emergencies_taken = 0
        self.stopped_by_duration = False
        #: The kind of the transaction in progress, and when it (or its last reply) began.
        self.current: Optional[str] = None
        self.progress_at = 0.0
        self.replies_seen = 0
        self.abandoned = False
        self.thread = threading.Thread(target=self._run, name=f"soak position {targets.position}", daemon=True)

    def _run(self) -> None:
        engine = self.client.engine
        for number in self.numbers:
            if self.stop_at is not None and time.monotonic() >= self.stop_at:
                self.stopped_by_duration = True
                return
            rng = random.Random(f"{self.seed}:{number}")
            kind = rng.choices(self.kinds, self.weights)[0]
            self.replies_seen = engine.counters.replies
            self.progress_at = time.monotonic()
            self.current = kind
            started = time.perf_counter()
            error: Optional[Exception] = None
            try:
                KINDS[kind].run(self.client, self.targets, rng)
            except Exception as exc:  # every failure is counted by class; the soak goes on
                error = exc
            elapsed = time.perf_counter() - started
            with self.lock:
                if self.abandoned:
                    return
                self.current = None
                self._record(kind, elapsed, error)
            self.emergencies_taken += len(engine.emergencies.drain())

    def _record(self, kind: str, elapsed: float, error: Optional[Exception]) -> None:
        self.by_kind[kind] += 1
        self.latencies.append(elapsed)
        if error is not None:
            self.fail(kind, type(error).__name__, str(error))

    def fail(self, kind: str, error_class: str, message: str) -> None:
        """Count a failed transaction of ``kind``."""
        self.failed_by_kind[kind] += 1
        self.failures[error_class] += 1
        if len(self.examples) < _EXAMPLES:
            self.examples.append({"position": self.targets.position, "kind": kind, "class": error_class,
                                  "message": message})

    def check(self, now: float, watchdog: float) -> Optional[dict[str, Any]]:
        """The watchdog: abandon the transaction in progress when neither it finished nor its
        slave had a reply accepted for ``watchdog`` seconds; returns the deadlock record."""
        with self.lock:
            kind = self.current
            if kind is None or self.abandoned:
                return None
            replies = self.client.engine.counters.replies
            if replies != self.replies_seen:
                self.replies_seen, self.progress_at = replies, now
                return None
            stalled = now - self.progress_at
            if stalled < watchdog:
                return None
            self.abandoned = True
            self.by_kind[kind] += 1
            self.fail(kind, "Deadlock", f"no progress for {stalled:.1f} s")
            return {"position": self.targets.position, "kind": kind, "seconds_without_progress": round(stalled, 3)}

    @property
    def done(self) -> int:
        """Transactions finished (or abandoned)."""
        return sum(self.by_kind.values())


# ------------------------------------------------------------------------------------- run
def run_soak(settings: SoakSettings, *, progress: Optional[Callable[[int, int], None]] = None) -> dict[str, Any]:
    """Run one soak (module documentation) and return its report (JSON-ready).

    :param progress: called with (transactions done, total) about five times a second.
    :raises ConfigError: the chain file is invalid.
    :raises EtherCATError: the set-up (scan, PRE-OP, probe) failed, before any fault.
    :raises ValueError: the chain has no CoE slave.
    """
    with InProcessSimulator(settings.chain) as simulator:
        master = Master(simulator.link, bus_timeout=SIMULATOR_BUS_TIMEOUT_S, mailbox_policy=settings.policy())
        with master:
            master.scan()
            master.request_state(ALState.PREOP)
            coe_slaves = [slave for slave in master.slaves if slave.has_coe]
            if not coe_slaves:
                raise ValueError(f"{settings.chain}: no slave supports CoE")
            targets = [_probe(master.coe(slave.position), slave) for slave in coe_slaves]
            master.bus.timeout = settings.bus_timeout  # set-up frames had the simulator's
            return _soak(settings, simulator, master, coe_slaves, targets, progress)


def _soak(settings: SoakSettings, simulator: InProcessSimulator, master: Master, coe_slaves: list[SlaveInfo],
          targets: list[_SlaveTargets], progress: Optional[Callable[[int, int], None]]) -> dict[str, Any]:
    faults = settings.faults
    mailbox_faults = []
    for slave in coe_slaves:
        simulated = simulator.slave(slave.position)
        assert isinstance(simulated, SimulatedSlave) and simulated.mailbox is not None
        mailbox_faults.append(MailboxFaults(faults.mailbox_plan(settings.seed * 256 + slave.position))
                              .attach(simulated.mailbox))
    wire = FaultyWire(simulator.loaded.chain, faults.frame_plan(settings.seed))
    tally = _FaultTally(wire, mailbox_faults)
    baseline = master.mailbox_diagnostics.totals()
    bus_baseline = master.diagnostics()["bus"]
    count = len(coe_slaves)
    start = time.monotonic()
    stop_at = None if settings.duration is None else start + settings.duration
    workers = [_Worker(master.coe(slave.position), slave_targets, range(n, settings.transactions, count),
                       settings.seed, stop_at)
               for n, (slave, slave_targets) in enumerate(zip(coe_slaves, targets))]
    simulator.server.wire = wire
    for worker in workers:
        worker.thread.start()
    deadlocks: list[dict[str, Any]] = []
    while True:
        running = [w for w in workers if w.thread.is_alive() and not w.abandoned]
        if not running:
            break
        running[0].thread.join(_TICK_S)
        now = time.monotonic()
        deadlocks += [record for w in running if (record := w.check(now, settings.watchdog)) is not None]
        tally.drain()
        if progress is not None:
            progress(sum(w.done for w in workers), settings.transactions)
    duration = time.monotonic() - start
    simulator.server.wire = None
    time.sleep(_TICK_S)  # replies still delayed on the wire arrive (or not) before the count
    tally.drain(final=True)
    return _report(settings, master, workers, targets, deadlocks, tally, baseline, bus_baseline, duration)


def _report(settings: SoakSettings, master: Master, workers: list[_Worker], targets: list[_SlaveTargets],
            deadlocks: list[dict[str, Any]], tally: _FaultTally, baseline: MailboxCounters,
            bus_baseline: dict[str, int], duration: float) -> dict[str, Any]:
    totals = master.mailbox_diagnostics.totals()
    mailbox = {name: getattr(totals, name) - getattr(baseline, name) for name in COUNTER_FIELDS}
    bus_now = master.diagnostics()["bus"]
    frames = {name: bus_now[name] - bus_baseline[name]
              for name in ("frames_sent", "frames_received", "timeouts", "stale_frames")}
    total = sum(w.done for w in workers)
    failed = sum(sum(w.failures.values()) for w in workers)
    latencies = np.frombuffer(b"".join(w.latencies.tobytes() for w in workers), dtype=np.float64)
    failures: collections.Counter[str] = collections.Counter()
    by_kind: dict[str, dict[str, int]] = {}
    for worker in workers:
        failures.update(worker.failures)
        for kind, n in worker.by_kind.items():
            entry = by_kind.setdefault(kind, {"total": 0, "failed": 0})
            entry["total"] += n
            entry["failed"] += worker.failed_by_kind[kind]
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": SCHEMA_KIND,
        "chain": str(settings.chain),
        "seed": settings.seed,
        "status_mode": settings.status_mode.value,
        "transactions_requested": settings.transactions,
        "duration_limit_s": settings.duration,
        "stopped_by": "duration" if any(w.stopped_by_duration for w in workers)
        else "deadlock" if deadlocks else "transactions",
        "total": total,
        "succeeded": total - failed,
        "failed": failed,
        "success_rate": (total - failed) / total if total else None,
        "failures_by_class": dict(sorted(failures.items())),
        "failure_examples": [example for w in workers for example in w.examples][:_EXAMPLES],
        "by_kind": dict(sorted(by_kind.items())),
        "latency_us": _latency(latencies),
        "retries": mailbox["retries"],
        "repeat_requests": mailbox["repeat_requests"],
        "stale_discarded": mailbox["stale_discarded"],
        "emergencies_received": mailbox["emergencies_received"],
        "emergencies_dropped": mailbox["emergencies_dropped"],
        "emergencies_taken": sum(w.emergencies_taken for w in workers),
        "deadlocks_detected": len(deadlocks),
        "deadlocks": deadlocks,
        "watchdog_s": settings.watchdog,
        "duration_s": round(duration, 3),
        "transactions_per_s": round(total / duration, 1) if duration > 0 else None,
        "mailbox": mailbox,
        "frames": frames,
        "slaves": [
            {"position": t.position, "name": t.name, "transactions": w.done, "failed": sum(w.failures.values()),
             "kinds": w.kinds, "string_transfer": t.string_transfer(master.mailbox(t.position).slave.send_size),
             "write_target": None if t.write is None else t.write.what,
             "array_target": None if t.array is None else t.array.what}
            for t, w in zip(targets, workers)
        ],
        "policy": {"status_mode": settings.status_mode.value, "reply_timeout_s": settings.reply_timeout,
                   "bus_timeout_s": settings.bus_timeout, "attempts": SOAK_BACKOFF.attempts,
                   "deadline_s": SOAK_BACKOFF.deadline},
        "faults": {**settings.faults.to_dict(), "injected": tally.to_dict()},
    }


def _latency(latencies: np.ndarray) -> dict[str, Optional[float]]:
    if not latencies.size:
        return {name: None for name in (*_PERCENTILES, "max_us", "mean_us")}
    values = np.percentile(latencies, list(_PERCENTILES.values())) * _US
    return {**{name: round(float(v), 1) for name, v in zip(_PERCENTILES, values)},
            "max_us": round(float(latencies.max()) * _US, 1), "mean_us": round(float(latencies.mean()) * _US, 1)}


def format_summary(report: dict[str, Any]) -> str:
    """A few lines for people: totals, failures, latency, recovery counters, deadlocks."""
    rate = report["success_rate"]
    latency = report["latency_us"]
    injected = report["faults"]["injected"]
    lines = [
        f"{PROGRAM}: {report['total']} transactions in {report['duration_s']:.1f} s "
        f"({report['transactions_per_s']} /s), {report['succeeded']} succeeded "
        f"({'n/a' if rate is None else f'{rate * 100:.4f} %'}), stopped by {report['stopped_by']}",
        f"  seed {report['seed']}, status mode {report['status_mode']}, chain {report['chain']}",
        f"  failures: {report['failures_by_class'] or 'none'}",
        f"  latency us: p50 {latency['p50_us']}, p99 {latency['p99_us']}, p99.9 {latency['p99_9_us']}, "
        f"max {latency['max_us']}",
        f"  recovery: {report['retries']} retries, {report['repeat_requests']} repeat requests, "
        f"{report['stale_discarded']} stale discarded, {report['mailbox']['mismatched_discarded']} mismatched "
        f"discarded, {report['mailbox']['timeouts']} mailbox timeouts",
        f"  emergencies: {report['emergencies_received']} received, {report['emergencies_dropped']} dropped",
        f"  faults injected: mailbox {injected['mailbox']}, frame {injected['frame']}",
        f"  deadlocks detected: {report['deadlocks_detected']}",
    ]
    lines += [f"  example failure: {e['class']} at position {e['position']} ({e['kind']}): {e['message']}"
              for e in report["failure_examples"][:3]]
    return "\n".join(lines)


# --------------------------------------------------------------------------- command line
def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a probability 0..1, got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The soak's options (shared by ``mailbox_soak_demo`` and ``ethercat-master soak mailbox``)."""
    defaults = FaultRates()
    parser.add_argument("--chain", type=Path, default=DEFAULT_CHAIN,
                        help="YAML chain file of the simulated slaves (default: the reference chain)")
    parser.add_argument("--transactions", "-n", type=int, default=DEFAULT_TRANSACTIONS,
                        help=f"SDO transactions in all (default {DEFAULT_TRANSACTIONS})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed of the mix and the faults")
    parser.add_argument("--status-mode", choices=[mode.value for mode in StatusMode], default="hybrid",
                        help="how the mailbox engines learn the mailbox state (default hybrid)")
    parser.add_argument("--duration", type=float, help="stop starting transactions after this many seconds")
    parser.add_argument("--json", action="store_true", help="machine-readable report")
    parser.add_argument("--min-success-rate", type=float, default=DEFAULT_MIN_SUCCESS_RATE,
                        help=f"exit status 1 below this rate (default {DEFAULT_MIN_SUCCESS_RATE})")
    parser.add_argument("--watchdog", type=float, default=DEFAULT_WATCHDOG_S,
                        help=f"seconds without progress that make a deadlock (default {DEFAULT_WATCHDOG_S})")
    parser.add_argument("--bus-timeout", type=float, default=DEFAULT_BUS_TIMEOUT_S,
                        help=f"seconds to wait for a frame (default {DEFAULT_BUS_TIMEOUT_S})")
    parser.add_argument("--reply-timeout", type=float, default=DEFAULT_REPLY_TIMEOUT_S,
                        help=f"mailbox reply timeout in seconds (default {DEFAULT_REPLY_TIMEOUT_S})")
    parser.add_argument("--no-faults", action="store_true", help="inject no faults at all")
    faults = parser.add_argument_group("fault rates (probability per slave message or per frame)")
    for name in ("stale", "repeat", "wrong_counter", "busy", "silent", "emergency_storm", "loss", "delay",
                 "duplication"):
        faults.add_argument(f"--{name.replace('_', '-')}", dest=f"fault_{name}", type=_probability,
                            default=getattr(defaults, name), metavar="P",
                            help=f"default {getattr(defaults, name)}")
    faults.add_argument("--delay-max", dest="fault_delay_max_s", type=float, default=defaults.delay_max_s,
                        metavar="SECONDS", help=f"longest frame delay (default {defaults.delay_max_s})")


def settings_from_args(args: argparse.Namespace) -> SoakSettings:
    """The settings the parsed options describe.

    :raises ValueError: an option is out of range.
    """
    rates = NO_FAULTS if args.no_faults else replace(FaultRates(), **{
        name: getattr(args, f"fault_{name}")
        for name in ("stale", "repeat", "wrong_counter", "busy", "silent", "emergency_storm", "loss", "delay",
                     "duplication", "delay_max_s")})
    return SoakSettings(chain=args.chain, transactions=args.transactions, seed=args.seed,
                        status_mode=StatusMode(args.status_mode), duration=args.duration, faults=rates,
                        bus_timeout=args.bus_timeout, reply_timeout=args.reply_timeout, watchdog=args.watchdog)


def _progress_printer(stream: Any) -> Optional[Callable[[int, int], None]]:
    """A progress line on a terminal, nothing otherwise."""
    if not stream.isatty():
        return None

    def show(done: int, total: int) -> None:
        stream.write(f"\r{PROGRAM}: {done}/{total} transactions")
        stream.flush()

    return show


def run(args: argparse.Namespace) -> int:
    """Run the soak the options describe, print the report; the exit status (module docs)."""
    settings = settings_from_args(args)
    report = run_soak(settings, progress=_progress_printer(sys.stderr))
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    print(json.dumps(report, indent=1) if args.json else format_summary(report))
    rate = report["success_rate"]
    return 0 if rate is not None and rate >= args.min_success_rate and not report["deadlocks_detected"] else 1


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``mailbox_soak_demo``."""
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except (EtherCATError, ValueError) as exc:
        print(f"{PROGRAM}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
