#!/usr/bin/env python3
"""Cost of one cyclic exchange and the cycle thread's timing, against the in-process simulator.

- ``exchange``: :meth:`CyclicExchange.exchange` called back to back (copy of the staged
  outputs into the frame, send, the simulator processing the frame in its thread, receive,
  checks, copy of the inputs), timed per call with ``time.perf_counter_ns``, for the reference
  chain (config/sim_chain.yaml, 130 octets, one frame) and for a chain of N CiA 402 drives.
  Most of that time is the simulator's Python processing of the frame and the thread hand-over;
  ``master_only`` is the same exchange of the reference layout on a link that answers at once
  with the frame itself (its working counter set): the master's own cost per cycle.
- ``cycle_thread``: a :class:`CycleThread` at 1 ms on the reference chain for S seconds
  (timer slack 1 ns, sleep until ``--spin-us`` before each deadline, then spin): wake latency
  (cycle start minus deadline), period jitter (|interval - period|), overruns, lost frames. The
  simulator runs in the same process: its frame processing needs the GIL the spinning cycle
  thread holds, so spinning trades lost frames for a lower median wake latency here (on a
  raw socket the slaves do not need the GIL).

Prints JSON.

    python benchmarks/bench_cycle.py [--cycles 3000] [--drives 16] [--jitter-seconds 5] [--period-ms 1]
                                     [--spin-us 100]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import struct
import sys
import time
from typing import Optional

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ethercat_master.master.al import request_states  # noqa: E402
from ethercat_master.master.cyclic import CycleThread, CyclicExchange, RealtimeOptions  # noqa: E402
from ethercat_master.master.master import Master  # noqa: E402
from ethercat_master.master.pdo_mapping import ProcessDataLayout, configure_process_data  # noqa: E402
from ethercat_master.protocol.al_status import ALState  # noqa: E402
from ethercat_master.protocol.datagram import DATAGRAM_HEADER_SIZE  # noqa: E402
from ethercat_master.protocol.frame import ECAT_HEADER_SIZE  # noqa: E402
from ethercat_master.sim import ChainServer, SlaveChain, build_chain, load_chain  # noqa: E402
from ethercat_master.sim.devices.cia402_drive import DriveConfig  # noqa: E402
from ethercat_master.sim.devices.drive import Cia402DriveModel  # noqa: E402
from ethercat_master.transport import InProcessLink  # noqa: E402
from ethercat_master.transport.link import Buffer, Link  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHAIN = os.path.join(ROOT, "config", "sim_chain.yaml")
WARM_UP = 50
#: Seconds an exchange waits for its reply before the frame counts as lost.
EXCHANGE_TIMEOUT = 0.05


class EchoLink(Link):
    """Answers every frame at once with the frame itself, the working counter of its first
    datagram (the LRW) set to ``wkc``."""

    name = "echo"

    def __init__(self, wkc_at: int, wkc: int) -> None:
        super().__init__()
        self._wkc_at = wkc_at
        self._wkc = wkc
        self._reply: Optional[bytes] = None

    def _send(self, payload: Buffer) -> None:
        reply = bytearray(payload)
        struct.pack_into("<H", reply, self._wkc_at, self._wkc)
        self._reply = bytes(reply)

    def _recv(self, timeout: Optional[float]) -> Optional[bytes]:
        reply, self._reply = self._reply, None
        return reply


class Running:
    """A chain served in process, configured and in SAFE-OP, with its exchange."""

    def __init__(self, chain: SlaveChain) -> None:
        link, sim_end = InProcessLink.pair()
        self.server = ChainServer(chain, sim_end, poll_interval=0.005).start()
        master = Master(link, bus_timeout=0.5)  # a loaded machine may stall the simulator
        master.scan()
        master.request_state("PREOP")
        slaves = list(master.slaves)
        coe = {s.position: master.coe(s.position) for s in slaves if s.has_coe}
        layout = configure_process_data(master.bus, slaves, coe)
        request_states(master.bus, slaves, ALState.SAFEOP)
        self.exchange = CyclicExchange(master.bus, layout, timeout=EXCHANGE_TIMEOUT)
        self.layout = layout
        self.octets = layout.output_bytes + layout.input_bytes

    def close(self) -> None:
        self.server.stop()


def _percentiles(samples_ns: list[int]) -> dict:
    a = np.asarray(samples_ns, dtype=np.float64) / 1e3
    return {"p50_us": round(float(np.percentile(a, 50)), 1), "p99_us": round(float(np.percentile(a, 99)), 1),
            "mean_us": round(float(a.mean()), 1), "max_us": round(float(a.max()), 1)}


def _time_exchanges(exchange: CyclicExchange, cycles: int) -> dict:
    for _ in range(WARM_UP):
        exchange.exchange()
    costs = []
    failed = 0
    for _ in range(cycles):
        t0 = time.perf_counter_ns()
        ok = exchange.exchange()
        costs.append(time.perf_counter_ns() - t0)
        failed += not ok
    return {"frames": exchange.frame_count, "cycles": cycles, "failed": failed, **_percentiles(costs)}


def bench_exchange(chain: SlaveChain, cycles: int) -> tuple[dict, ProcessDataLayout]:
    running = Running(chain)
    try:
        figures = _time_exchanges(running.exchange, cycles)
        return {"slaves": len(chain), "octets": running.octets, **figures}, running.layout
    finally:
        running.close()


def bench_master_only(layout: ProcessDataLayout, cycles: int) -> dict:
    (frame,) = layout.frames
    link = EchoLink(ECAT_HEADER_SIZE + DATAGRAM_HEADER_SIZE + frame.length, frame.expected_wkc)
    return {"octets": frame.length, **_time_exchanges(CyclicExchange(link, layout), cycles)}


def bench_thread(seconds: float, period_ms: float, spin_us: float) -> dict:
    running = Running(load_chain(CHAIN).chain)
    try:
        thread = CycleThread(running.exchange, period_ms / 1e3, realtime=RealtimeOptions(spin=spin_us / 1e6))
        report = thread.start()
        time.sleep(seconds)
        thread.stop()
        return {"period_ms": period_ms, "spin_us": spin_us, "seconds": seconds,
                "realtime": {"applied": list(report.applied), "failed": list(report.failed)},
                "statistics": running.exchange.statistics().as_dict()}
    finally:
        running.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=3000, help="exchanges timed per chain")
    parser.add_argument("--drives", type=int, default=16, help="drives in the second chain")
    parser.add_argument("--jitter-seconds", type=float, default=5.0, help="how long the cycle thread runs")
    parser.add_argument("--period-ms", type=float, default=1.0, help="the cycle thread's period")
    parser.add_argument("--spin-us", type=float, default=100.0, help="busy-wait before each deadline (0: none)")
    args = parser.parse_args()
    drives = build_chain([Cia402DriveModel(DriveConfig(serial_number=n + 1)) for n in range(args.drives)])
    reference, layout = bench_exchange(load_chain(CHAIN).chain, args.cycles)
    result = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "exchange": {
            "reference_chain": reference,
            "drives": bench_exchange(drives, args.cycles)[0],
            "master_only": bench_master_only(layout, args.cycles),
        },
        "cycle_thread": bench_thread(args.jitter_seconds, args.period_ms, args.spin_us),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
