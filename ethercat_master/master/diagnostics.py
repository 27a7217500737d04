"""Mailbox diagnostics: per-slave counters and a latency histogram with a stable, versioned schema.

Every :class:`~ethercat_master.master.mailbox.MailboxEngine` counts what happens in its
conversation in one :class:`MailboxCounters`; the engines of one master share a
:class:`MailboxDiagnostics`, whose :meth:`~MailboxDiagnostics.snapshot` returns a plain dict
(JSON-ready) with ``"schema_version": 1``, the counters of every slave and their totals. The
fields and their meaning are documented in ``docs/mailbox.md`` ("Diagnostics schema"); a
field is never renamed or given another meaning without raising :data:`SCHEMA_VERSION`, and
new fields may be added within a version.

Counters are plain integers updated in O(1) by the engine (and by the CoE and FoE clients for
the fields only they can see: SDO aborts, busy replies, aborts sent). A snapshot reads them
without stopping the engines, so a snapshot taken in the middle of a transaction may be one
event apart between two fields; a snapshot of an idle master is exact.
"""

from __future__ import annotations

import bisect
import itertools
import threading
import time
from dataclasses import dataclass, field, fields
from typing import Any, Optional

__all__ = [
    "SCHEMA_VERSION",
    "SCHEMA_KIND",
    "LATENCY_BOUNDS_US",
    "COUNTER_FIELDS",
    "LatencyHistogram",
    "MailboxCounters",
    "MailboxDiagnostics",
]

#: Version of the snapshot layout; raised whenever a field is renamed, removed or redefined.
SCHEMA_VERSION = 1
#: The ``"kind"`` field of a snapshot, so that a reader can tell it from other diagnostics.
SCHEMA_KIND = "ethercat_master.mailbox"
#: Upper bounds (inclusive) of the latency histogram buckets, in microseconds; one more
#: bucket holds everything slower than the last bound.
LATENCY_BOUNDS_US: tuple[int, ...] = (
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000,
    1_000_000,
)
#: Percentiles reported in a snapshot.
_PERCENTILES = (50, 90, 99)
_US_PER_S = 1_000_000
_PERCENT = 100


@dataclass(slots=True)
class LatencyHistogram:
    """Request-to-reply latencies counted in fixed buckets (:data:`LATENCY_BOUNDS_US`).

    Percentiles are read from the buckets: the value reported for a percentile is the upper
    bound of the bucket holding it (the maximum seen, for the overflow bucket), so it is an
    upper estimate with the buckets' resolution.
    """

    counts: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BOUNDS_US) + 1))
    count: int = 0
    total_us: float = 0.0
    max_us: float = 0.0

    def record(self, seconds: float) -> None:
        """Count one latency of ``seconds``."""
        us = seconds * _US_PER_S
        self.counts[bisect.bisect_left(LATENCY_BOUNDS_US, us)] += 1
        self.count += 1
        self.total_us += us
        self.max_us = max(self.max_us, us)

    def merge(self, other: LatencyHistogram) -> None:
        """Add the counts of ``other`` to this histogram."""
        for bucket, n in enumerate(other.counts):
            self.counts[bucket] += n
        self.count += other.count
        self.total_us += other.total_us
        self.max_us = max(self.max_us, other.max_us)

    def percentile(self, percent: float) -> Optional[float]:
        """The bucket bound below which ``percent`` % of the latencies lie, in microseconds;
        None before the first latency."""
        if not self.count:
            return None
        bucket = bisect.bisect_left(list(itertools.accumulate(self.counts)), percent / _PERCENT * self.count)
        return float(LATENCY_BOUNDS_US[bucket]) if bucket < len(LATENCY_BOUNDS_US) else self.max_us

    def to_dict(self) -> dict[str, Any]:
        """The histogram as schema fields (see ``docs/mailbox.md``)."""
        return {
            "count": self.count,
            "mean_us": self.total_us / self.count if self.count else None,
            "max_us": self.max_us if self.count else None,
            **{f"p{p}_us": self.percentile(p) for p in _PERCENTILES},
            "buckets": [
                {"le_us": bound, "count": n}
                for bound, n in zip((*LATENCY_BOUNDS_US, None), self.counts)
            ],
        }


@dataclass(slots=True)
class MailboxCounters:
    """What happened in one slave's mailbox conversation (cumulative, never reset).

    Field meanings are the schema's (``docs/mailbox.md``): every field is a count of events,
    ``bytes_*`` count octets of mailbox header and service data (the padding of the sync
    manager is not counted).
    """

    #: Transactions whose request was written for the first time.
    requests: int = 0
    #: Replies accepted as the answer to a transaction.
    replies: int = 0
    #: Further writes of a request already written once (after a refusal, a lost frame or a
    #: reply timeout).
    retries: int = 0
    #: Repeat requests acknowledged toggles of the send sync manager's repeat bit.
    repeat_requests: int = 0
    #: Mailbox reads whose message was (or may have been) lost on the way back.
    lost_reads: int = 0
    #: Expiries of the reply timeout (each leads to a repeat request, a re-send or a failure).
    reply_timeouts: int = 0
    #: Transactions that failed with :class:`~ethercat_master.errors.FrameTimeout`.
    timeouts: int = 0
    #: Frames of the engine that came back from the bus with a ``FrameTimeout``.
    frame_timeouts: int = 0
    #: Writes refused (working counter 0) or deferred (status showed it full) because the
    #: slave's receive mailbox was full.
    mailbox_full: int = 0
    #: Messages discarded because their counter repeated the previous message's.
    stale_discarded: int = 0
    #: Messages discarded because they answer nothing outstanding (type or protocol fields).
    mismatched_discarded: int = 0
    #: Messages discarded because they do not decode.
    malformed_discarded: int = 0
    #: Mailbox error replies (mailbox type 0) received.
    mailbox_errors: int = 0
    #: SDO aborts and SDO information errors received from the slave.
    sdo_aborts: int = 0
    #: Transfers the master aborted (SDO abort or FoE error sent to the slave).
    aborts_sent: int = 0
    #: CoE emergencies received.
    emergencies_received: int = 0
    #: Emergencies dropped from the full emergency queue (oldest first).
    emergencies_dropped: int = 0
    #: FoE busy replies received.
    busy_replies: int = 0
    #: Octets read from the slave (slave to master).
    bytes_up: int = 0
    #: Octets written to the slave (master to slave).
    bytes_down: int = 0
    #: Latency from the first write of a request to the acceptance of its reply.
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)

    def to_dict(self) -> dict[str, Any]:
        """The counters as schema fields (see ``docs/mailbox.md``)."""
        out: dict[str, Any] = {name: getattr(self, name) for name in COUNTER_FIELDS}
        out["latency"] = self.latency.to_dict()
        return out

    def add(self, other: MailboxCounters) -> None:
        """Add every counter of ``other`` to this one (for totals)."""
        for name in COUNTER_FIELDS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.latency.merge(other.latency)


#: The integer fields of :class:`MailboxCounters`, in schema order.
COUNTER_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(MailboxCounters) if f.name != "latency")


@dataclass(slots=True)
class _Entry:
    station_address: int
    name: str
    counters: MailboxCounters


class MailboxDiagnostics:
    """The mailbox counters of every slave of one master, and their snapshot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int, _Entry] = {}

    def register(self, station_address: int, name: str = "") -> MailboxCounters:
        """The counters of the slave at ``station_address``, created on first use (an engine
        created again for the same slave continues its counts)."""
        with self._lock:
            entry = self._entries.get(station_address)
            if entry is None:
                entry = _Entry(station_address, name, MailboxCounters())
                self._entries[station_address] = entry
            elif name:
                entry.name = name
            return entry.counters

    def counters(self, station_address: int) -> MailboxCounters:
        """The counters of a registered slave; :class:`KeyError` if none was registered."""
        with self._lock:
            return self._entries[station_address].counters

    def totals(self) -> MailboxCounters:
        """The sum of every slave's counters (a new object)."""
        total = MailboxCounters()
        with self._lock:
            entries = list(self._entries.values())
        for entry in entries:
            total.add(entry.counters)
        return total

    def snapshot(self) -> dict[str, Any]:
        """Every slave's counters and the totals as a JSON-ready dict (schema version 1)."""
        with self._lock:
            entries = sorted(self._entries.values(), key=lambda e: e.station_address)
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": SCHEMA_KIND,
            "time_unix": time.time(),
            "totals": self.totals().to_dict(),
            "slaves": [
                {"station_address": e.station_address, "name": e.name, **e.counters.to_dict()}
                for e in entries
            ],
        }
