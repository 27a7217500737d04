#!/usr/bin/env python3
"""Benchmark peer: SOEM (pysoem) driving the simulator over a raw socket.

Run by ``benchmarks/compare.py`` inside the master's network namespace (arguments in
:mod:`peers.cli`), as a SOEM application does it: ``config_init`` (PRE-OP), ``config_map``
(SAFE-OP), process data cycling while OP is requested and checked, as SOEM's ``simple_test``.
The cyclic loop is Python with the cycle thread's timing (:mod:`peers.common`: absolute
deadlines, sleep then spin, overruns skip deadlines, timer slack 1 ns); an exchange is
``send_processdata`` plus ``receive_processdata`` waiting until the next deadline at most, as
our exchange does. Mailbox uses pysoem's blocking ``sdo_read``; for many slaves, one transfer
of each slave in turn (SOEM's mailbox functions are not safe to call from several threads at
once: a trial with one thread per slave hung).
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import pysoem  # noqa: E402
from cli import parse, plan, window_cycles  # noqa: E402
from common import (  # noqa: E402
    EXPEDITED_OBJECT,
    NS_PER_US,
    SEGMENTED_OBJECT,
    CycleRecord,
    back_to_back,
    cpu_seconds,
    emit,
    memory,
    scheduling,
    set_timer_slack,
    wait_until,
)

#: Microseconds ``state_check`` waits per cycle while OP is being reached (the pysoem peer test's value).
STATE_CHECK_US = 1000
#: Microseconds to wait for SAFE-OP after ``config_map``.
SAFEOP_TIMEOUT_US = 3_000_000
#: Microseconds SOEM waits for a frame's reply (EC_TIMEOUTRET and EC_TIMEOUTSAFE; defaults 2 ms
#: and 20 ms): as long as our master's bus timeout, because the simulator needs up to 400 ms for
#: the broadcast resets of 64 slaves. Only an upper bound: nothing changes when replies come.
FRAME_TIMEOUT_US = 1_000_000
#: Cycles at most while waiting for OP.
OP_CYCLES = 5000


class Session:
    """pysoem on the raw link, in PRE-OP after ``config_init`` (and OP after :meth:`to_op`)."""

    def __init__(self, interface: str) -> None:
        pysoem.settings.timeouts.ret = FRAME_TIMEOUT_US
        pysoem.settings.timeouts.safe = FRAME_TIMEOUT_US
        self.started = time.perf_counter()
        self.master = pysoem.Master()
        self.master.open(interface)
        self.found = self.master.config_init()
        if self.found <= 0:
            raise RuntimeError(f"config_init found no slaves ({self.found})")
        self.slaves = list(self.master.slaves)
        self.preop_s = time.perf_counter() - self.started
        self.overruns = self.skipped = 0

    def to_op(self, period_ns: int, spin_ns: int) -> float:
        """config_map (SAFE-OP), cycle while requesting and checking OP; seconds since open."""
        m = self.master
        m.config_map()
        if m.state_check(pysoem.SAFEOP_STATE, SAFEOP_TIMEOUT_US) != pysoem.SAFEOP_STATE:
            raise RuntimeError("not all slaves reached SAFE-OP")
        m.state = pysoem.OP_STATE
        self.run(period_ns, spin_ns, 1, None)
        m.write_state()
        for _ in range(OP_CYCLES):
            self.run(period_ns, spin_ns, 1, None)
            if m.state_check(pysoem.OP_STATE, STATE_CHECK_US) == pysoem.OP_STATE:
                return time.perf_counter() - self.started
        raise RuntimeError("not all slaves reached OP")

    def run(self, period_ns: int, spin_ns: int, cycles: int, record) -> None:
        """``cycles`` cycles at ``period_ns`` (the cycle thread's loop; module docstring),
        recorded into ``record`` unless it is None."""
        m = self.master
        send, receive, expected = m.send_processdata, m.receive_processdata, m.expected_wkc
        clock = time.monotonic_ns
        start = clock()
        n = 0
        for _ in range(cycles):
            deadline = start + n * period_ns
            wait_until(deadline, spin_ns)
            began = clock()
            late = began - deadline
            if late > period_ns:
                self.overruns += 1
                missed = late // period_ns
                self.skipped += missed
                n += missed
            n += 1
            following = start + n * period_ns
            sent = clock()
            send()
            wkc = receive(max(0, (following - sent) // NS_PER_US))
            end = clock()
            if record is not None:
                record.add(sent, end, wkc == expected)

    def close(self) -> None:
        """Back to INIT, close the link."""
        try:
            self.master.state = pysoem.INIT_STATE
            self.master.write_state()
        finally:
            self.master.close()


def measure_window(session: Session, period_us: int, cycles: int, warmup: int, spin_ns: int) -> dict[str, Any]:
    """One cyclic measurement window at ``period_us``."""
    period_ns = period_us * NS_PER_US
    record = CycleRecord(cycles)
    cpu0 = cpu_seconds()
    session.run(period_ns, spin_ns, warmup, None)
    before = (session.overruns, session.skipped)
    session.run(period_ns, spin_ns, cycles, record)
    cpu = cpu_seconds() - cpu0
    return {"period_us": period_us, **record.figures(period_ns), "overruns": session.overruns - before[0],
            "skipped": session.skipped - before[1], "lost": None, "wkc_mismatches": None,
            "cpu_per_cycle_us": round(cpu / (cycles + warmup) * 1e6, 2)}


def run_cyclic(args) -> dict[str, Any]:
    """The ``cyclic`` task (peers.cli)."""
    set_timer_slack(1)
    spin_ns = args.spin_us * NS_PER_US
    session = Session(args.interface)
    try:
        startup = session.to_op(args.periods_us[0] * NS_PER_US, spin_ns)
        windows = []
        for period_us in plan(args.periods_us, windows):
            cycles = window_cycles(args, period_us)
            windows.append(measure_window(session, period_us, cycles, args.warmup, spin_ns))
        return {"slaves": session.found, "startup_s": round(startup, 4), "preop_s": round(session.preop_s, 4),
                "windows": windows, "memory": memory()}
    finally:
        session.close()


def _round_robin(transfers, seconds: float) -> tuple[int, int]:
    """One transfer of each slave in turn, for ``seconds``; (transactions done, errors)."""
    done = errors = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for transfer in transfers:
            try:
                transfer()
                done += 1
            except Exception:  # noqa: BLE001 - counted and reported, the benchmark goes on
                errors += 1
    return done, errors


def run_sdo(args) -> dict[str, Any]:
    """The ``sdo`` task (peers.cli)."""
    session = Session(args.interface)
    try:
        slaves = session.slaves
        cases = {}
        for name, (index, subindex) in (("expedited", EXPEDITED_OBJECT), ("segmented", SEGMENTED_OBJECT)):
            sizes = {len(s.sdo_read(index, subindex)) for s in slaves}
            first = slaves[0]
            t0 = time.perf_counter()
            done, errors = back_to_back(lambda: first.sdo_read(index, subindex), args.sdo_seconds)
            single = {"transactions": done, "errors": errors, "seconds": round(time.perf_counter() - t0, 3)}
            # SOEM's mailbox calls are not safe from several threads at once (threads hung in a
            # trial): a SOEM application serves many slaves in turn, one transfer after another
            t0 = time.perf_counter()
            done, errors = _round_robin([lambda s=s: s.sdo_read(index, subindex) for s in slaves], args.sdo_seconds)
            parallel = {"transactions": done, "errors": errors, "seconds": round(time.perf_counter() - t0, 3),
                        "slaves": len(slaves)}
            for figures in (single, parallel):
                figures["per_second"] = round(figures["transactions"] / figures["seconds"], 1)
            cases[name] = {"octets": sorted(sizes), "single": single, "parallel": parallel}
        return {"slaves": session.found, "preop_s": round(session.preop_s, 4), "sdo": cases}
    finally:
        session.close()


def main() -> None:
    """Run one task and print its result line."""
    args = parse()
    wall0, cpu0 = time.perf_counter(), cpu_seconds()
    result = run_cyclic(args) if args.task == "cyclic" else run_sdo(args)
    emit({"master": "soem", "task": args.task, "scheduling": scheduling(), **result,
          "process_cpu_s": round(cpu_seconds() - cpu0, 3), "wall_s": round(time.perf_counter() - wall0, 3),
          "pysoem": pysoem.__version__})


if __name__ == "__main__":
    main()
