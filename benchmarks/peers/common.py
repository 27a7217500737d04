"""What both benchmark peers share: the cycle timing, the samples they record and the figures
computed from them, process CPU time and resident size, and the JSON line they print.

This module imports nothing from ``ethercat_master`` and nothing outside the standard library,
so that the pysoem peer's resident size is pysoem's and the interpreter's only.

Timing (identical for both masters): cycle ``n`` is due at ``start + n * period``; the loop
sleeps until ``spin`` before the deadline and busy-waits for the rest (:func:`wait_until` is a
copy of ``ethercat_master.master.cyclic._wait_until``, which the :class:`CycleThread` uses); a
cycle that starts more than one period late is an overrun and the deadlines it passed are
skipped (counted), as the cycle thread does. The timer slack of the cycling thread is 1 ns.
"""

from __future__ import annotations

import ctypes
import json
import math
import os
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

NS_PER_S = 1_000_000_000
NS_PER_US = 1_000
#: prctl option for the timer slack (linux/prctl.h).
PR_SET_TIMERSLACK = 29
#: The cycle thread's default: busy-wait the last 100 us before a deadline.
DEFAULT_SPIN_NS = 100_000
#: Percentiles every duration distribution reports.
PERCENTILES = (50.0, 99.0, 99.9)
#: Prefix of the one line of JSON a peer prints on stdout (everything else is ignored).
RESULT_PREFIX = "BENCH-RESULT "
#: Standard SDO objects read by the mailbox benchmark: identity vendor ID (4 octets, expedited)
#: and the manufacturer device name (longer than one mailbox in the benchmark chains: segmented).
EXPEDITED_OBJECT = (0x1018, 1)
SEGMENTED_OBJECT = (0x1008, 0)


def wait_until(deadline_ns: int, spin_ns: int) -> None:
    """Sleep until ``spin_ns`` before ``deadline_ns``, then busy-wait for it (the cycle
    thread's wait, copied so this module stays free of the master's imports)."""
    while True:
        remaining = deadline_ns - time.monotonic_ns()
        if remaining <= spin_ns:
            break
        time.sleep((remaining - spin_ns) / NS_PER_S)
    while time.monotonic_ns() < deadline_ns:
        pass


def set_timer_slack(nanoseconds: int = 1) -> bool:
    """Set the calling thread's timer slack (as the cycle thread does); False if refused."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(ctypes.c_ulong(PR_SET_TIMERSLACK), ctypes.c_ulong(nanoseconds),
                          ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0)) == 0
    except (OSError, AttributeError):
        return False


def scheduling() -> dict[str, Any]:
    """The process's scheduling policy and priority (to show both peers ran alike)."""
    policy = os.sched_getscheduler(0)
    names = {os.SCHED_OTHER: "SCHED_OTHER", os.SCHED_FIFO: "SCHED_FIFO", os.SCHED_RR: "SCHED_RR"}
    return {"policy": names.get(policy, str(policy)), "priority": os.sched_getparam(0).sched_priority}


def cpu_seconds() -> float:
    """User plus system CPU time of the whole process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def memory() -> dict[str, int]:
    """Resident size now and at its peak, in KiB (``/proc/self/status``)."""
    result = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                result["rss_kib" if key == "VmRSS" else "peak_rss_kib"] = int(value.split()[0])
    return result


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile ``q`` (0-100) of already sorted values."""
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def distribution_us(values_ns: Sequence[int]) -> dict[str, Optional[float]]:
    """p50, p99, p99.9, max and mean of nanosecond values, in microseconds."""
    if not values_ns:
        return {"count": 0, "p50_us": None, "p99_us": None, "p999_us": None, "max_us": None, "mean_us": None}
    ordered = sorted(values_ns)
    figures: dict[str, Optional[float]] = {"count": len(ordered)}
    for q in PERCENTILES:
        figures[f"p{str(q).rstrip('0').rstrip('.').replace('.', '')}_us"] = round(percentile(ordered, q) / NS_PER_US, 2)
    figures["max_us"] = round(ordered[-1] / NS_PER_US, 2)
    figures["mean_us"] = round(sum(ordered) / len(ordered) / NS_PER_US, 2)
    return figures


@dataclass
class CycleRecord:
    """Per-cycle samples of one measurement window, preallocated for ``capacity`` cycles.

    :ivar starts: monotonic ns at which each cycle's exchange began.
    :ivar round_trips: ns from the start of the exchange call to its return (send, wait,
        receive, copy in and out: the whole process data exchange a user calls).
    :ivar failed: exchanges whose frame was lost or came back with a wrong working counter.
    """

    capacity: int
    count: int = 0
    failed: int = 0
    starts: list[int] = field(init=False)
    round_trips: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.starts = [0] * self.capacity
        self.round_trips = [0] * self.capacity

    def add(self, start_ns: int, end_ns: int, ok: bool) -> bool:
        """Record one cycle; returns True once the record is full."""
        n = self.count
        if n < self.capacity:
            self.starts[n] = start_ns
            self.round_trips[n] = end_ns - start_ns
            self.count = n + 1
            if not ok:
                self.failed += 1
        return self.count >= self.capacity

    def figures(self, period_ns: int) -> dict[str, Any]:
        """Round trip and period jitter (|interval between cycle starts - period|)."""
        starts = self.starts[:self.count]
        jitter = [abs(b - a - period_ns) for a, b in zip(starts, starts[1:])]
        return {"cycles": self.count, "failed": self.failed,
                "round_trip": distribution_us(self.round_trips[:self.count]),
                "period_jitter": distribution_us(jitter)}


def back_to_back(transfer: Callable[[], object], seconds: float) -> tuple[int, int]:
    """Run ``transfer`` back to back for ``seconds``; (transactions done, errors). Both
    masters' mailbox figures are counted by this one loop."""
    done = errors = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        try:
            transfer()
            done += 1
        except Exception:  # noqa: BLE001 - counted and reported, the benchmark goes on
            errors += 1
    return done, errors


def emit(result: dict[str, Any]) -> None:
    """Print the peer's result as the one JSON line the orchestrator reads."""
    sys.stdout.write(RESULT_PREFIX + json.dumps(result) + "\n")
    sys.stdout.flush()


def parse_result(stdout: str) -> dict[str, Any]:
    """The result line of a peer's output (raises ValueError when there is none)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX):])
    raise ValueError("the peer printed no result line")
