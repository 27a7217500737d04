#!/usr/bin/env python3
"""Benchmark peer: ``ethercat_master`` driving the simulator over a raw socket.

Run by ``benchmarks/compare.py`` inside the master's network namespace (arguments in
:mod:`peers.cli`). The bring-up is the one ``test/unit/master/test_cyclic.py`` does, over a
:class:`~ethercat_master.transport.raw.RawLink`: scan, PRE-OP (mailboxes), PDO mapping from
CoE, SAFE-OP, a :class:`~ethercat_master.master.cyclic.CycleThread` cycling, OP. The cycle
thread runs with its defaults (timer slack 1 ns, 100 us spin) and the process's scheduling
(the orchestrator's ``chrt``); a thin wrapper around the exchange records each cycle's start
and duration the same way the pysoem peer does.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)

from cli import parse, plan, window_cycles  # noqa: E402
from common import (  # noqa: E402
    EXPEDITED_OBJECT,
    NS_PER_S,
    NS_PER_US,
    SEGMENTED_OBJECT,
    CycleRecord,
    back_to_back,
    cpu_seconds,
    emit,
    memory,
    scheduling,
)

from ethercat_master.master.al import request_states  # noqa: E402
from ethercat_master.master.cyclic import CycleThread, CyclicExchange, RealtimeOptions  # noqa: E402
from ethercat_master.master.master import Master  # noqa: E402
from ethercat_master.master.pdo_mapping import configure_process_data  # noqa: E402
from ethercat_master.protocol.al_status import ALState  # noqa: E402
from ethercat_master.transport.raw import RawLink  # noqa: E402

#: Seconds the bus waits for a reply. The default (20 ms) is too short for one frame of the
#: scan: the broadcast reset (8 register areas in one frame) costs the Python simulator about
#: 18 ms for 16 slaves and 280-400 ms for 64 (measured). A timeout is only an upper bound: it
#: changes nothing when replies come.
BUS_TIMEOUT = 1.0
#: Seconds to wait for a measurement window beyond its nominal length before giving up.
WINDOW_SLACK_S = 30.0


class TimedExchange:
    """What a :class:`CycleThread` needs of an exchange (``exchange`` and ``counters``), with
    every call timed into a :class:`CycleRecord` while one is armed."""

    def __init__(self, exchange: CyclicExchange) -> None:
        self.inner = exchange
        self.counters = exchange.counters
        self.record: Optional[CycleRecord] = None
        self.warmup = 0
        self.full = threading.Event()

    def arm(self, record: CycleRecord, warmup: int) -> None:
        """Record into ``record`` after ``warmup`` more cycles; :attr:`full` is set when full."""
        self.full.clear()
        self.warmup = warmup
        self.record = record

    def exchange(self, deadline: Optional[float] = None) -> bool:
        """One timed exchange."""
        start = time.monotonic_ns()
        ok = self.inner.exchange(deadline)
        end = time.monotonic_ns()
        record = self.record
        if record is not None:
            if self.warmup:
                self.warmup -= 1
            elif record.add(start, end, ok):
                self.record = None
                self.full.set()
        return ok


class Session:
    """Our master on the raw link, brought up to PRE-OP (and on to OP by :meth:`to_op`)."""

    def __init__(self, interface: str, busy_poll: float) -> None:
        self.started = time.perf_counter()
        self.master = Master(RawLink(interface, busy_poll=busy_poll), bus_timeout=BUS_TIMEOUT)
        self.master.scan()
        self.master.request_state("PREOP")
        self.slaves = list(self.master.slaves)
        self.preop_s = time.perf_counter() - self.started
        self.thread: Optional[CycleThread] = None
        self.timed: Optional[TimedExchange] = None

    def to_op(self, period_ns: int, spin_ns: int) -> float:
        """Map the process data, SAFE-OP, start cycling, OP; returns seconds since the link opened."""
        bus = self.master.bus
        coe = {s.position: self.master.coe(s.position) for s in self.slaves if s.has_coe}
        layout = configure_process_data(bus, self.slaves, coe)
        request_states(bus, self.slaves, ALState.SAFEOP)
        self.timed = TimedExchange(CyclicExchange(bus, layout))
        self.cycle(period_ns, spin_ns)
        request_states(bus, self.slaves, ALState.OP)
        return time.perf_counter() - self.started

    def cycle(self, period_ns: int, spin_ns: int) -> None:
        """(Re)start the cycle thread at ``period_ns``."""
        if self.thread is not None:
            self.thread.stop()
        assert self.timed is not None
        self.thread = CycleThread(self.timed, period_ns / NS_PER_S,  # type: ignore[arg-type]
                                  realtime=RealtimeOptions(spin=spin_ns / NS_PER_S))
        self.thread.start()

    def close(self) -> None:
        """Stop cycling, back to INIT, close the link."""
        try:
            if self.thread is not None:
                self.thread.stop()
            self.master.request_state("INIT")
        finally:
            self.master.link.close()


def measure_window(session: Session, period_us: int, cycles: int, warmup: int, spin_ns: int) -> dict[str, Any]:
    """One cyclic measurement window at ``period_us``."""
    period_ns = period_us * NS_PER_US
    session.cycle(period_ns, spin_ns)
    timed = session.timed
    assert timed is not None
    counters = timed.counters
    record = CycleRecord(cycles)
    before = (counters.overruns, counters.skipped_cycles, counters.frames_lost, counters.wkc_mismatches)
    cpu0 = cpu_seconds()
    timed.arm(record, warmup)
    # the warm-up cycles also run before the CPU window opens: count them out by time
    nominal = (cycles + warmup) * period_ns / NS_PER_S
    if not timed.full.wait(nominal * 4 + WINDOW_SLACK_S):
        raise RuntimeError(f"the window at {period_us} us did not fill in time ({record.count} cycles)")
    cpu = cpu_seconds() - cpu0
    after = (counters.overruns, counters.skipped_cycles, counters.frames_lost, counters.wkc_mismatches)
    overruns, skipped, lost, mismatches = (b - a for a, b in zip(before, after))
    return {"period_us": period_us, **record.figures(period_ns), "overruns": overruns, "skipped": skipped,
            "lost": lost, "wkc_mismatches": mismatches,
            "cpu_per_cycle_us": round(cpu / (cycles + warmup) * 1e6, 2)}


def run_cyclic(args) -> dict[str, Any]:
    """The ``cyclic`` task (peers.cli)."""
    spin_ns = args.spin_us * NS_PER_US
    session = Session(args.interface, args.busy_poll_us / 1e6)
    try:
        startup = session.to_op(args.periods_us[0] * NS_PER_US, spin_ns)
        windows = []
        for period_us in plan(args.periods_us, windows):
            cycles = window_cycles(args, period_us)
            windows.append(measure_window(session, period_us, cycles, args.warmup, spin_ns))
        return {"slaves": len(session.slaves), "startup_s": round(startup, 4),
                "preop_s": round(session.preop_s, 4), "windows": windows, "memory": memory()}
    finally:
        session.close()


def _parallel(transfers, seconds: float) -> tuple[int, int]:
    results: list[tuple[int, int]] = [(0, 0)] * len(transfers)

    def run(k: int) -> None:
        results[k] = back_to_back(transfers[k], seconds)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(transfers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(r[0] for r in results), sum(r[1] for r in results)


def run_sdo(args) -> dict[str, Any]:
    """The ``sdo`` task (peers.cli)."""
    session = Session(args.interface, args.busy_poll_us / 1e6)
    try:
        clients = [session.master.coe(s.position) for s in session.slaves if s.has_coe]
        cases = {}
        for name, (index, subindex) in (("expedited", EXPEDITED_OBJECT), ("segmented", SEGMENTED_OBJECT)):
            sizes = {len(client.upload(index, subindex)) for client in clients}
            first = clients[0]
            t0 = time.perf_counter()
            done, errors = back_to_back(lambda: first.upload(index, subindex), args.sdo_seconds)
            single = {"transactions": done, "errors": errors, "seconds": round(time.perf_counter() - t0, 3)}
            t0 = time.perf_counter()
            done, errors = _parallel([lambda c=c: c.upload(index, subindex) for c in clients], args.sdo_seconds)
            parallel = {"transactions": done, "errors": errors, "seconds": round(time.perf_counter() - t0, 3),
                        "slaves": len(clients)}
            for figures in (single, parallel):
                figures["per_second"] = round(figures["transactions"] / figures["seconds"], 1)
            cases[name] = {"octets": sorted(sizes), "single": single, "parallel": parallel}
        return {"slaves": len(session.slaves), "preop_s": round(session.preop_s, 4), "sdo": cases,
                "bus": dict(frames_sent=session.master.bus.counters.frames_sent)}
    finally:
        session.close()


def main() -> None:
    """Run one task and print its result line."""
    args = parse()
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    result = run_cyclic(args) if args.task == "cyclic" else run_sdo(args)
    emit({"master": "ours", "task": args.task, "scheduling": scheduling(), **result,
          "process_cpu_s": round(cpu_seconds() - cpu0, 3), "wall_s": round(time.perf_counter() - wall0, 3)})


if __name__ == "__main__":
    main()
