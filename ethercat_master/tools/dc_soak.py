"""``dc_soak_demo``: distributed clocks on the simulator for a while, with KPIs as JSON and a
plot (system time difference over time, histograms).

The simulated chain (``--chain FILE`` or ``--slaves N``: an EK1100 and N-1 CiA 402 drives in a
line) gets clocks drifting within ``--drift-ppm`` (the first DC slave at ``+drift``, the last
at ``-drift``, the others drawn from ``--seed``). The master brings it up as a real
application would: scan, PRE-OP, :func:`~ethercat_master.master.dc.configure_dc` (delays,
offsets, static drift compensation), SYNC0 on the slaves whose ESI offers it with
0x1C32/0x1C33 set to DC SYNC0, process data, SAFE-OP, OP; then cycles every ``--period``
with a :class:`~ethercat_master.master.dc.DcController` for ``--duration``.

Two time bases (``--time``):

* ``virtual`` (default): the simulator's clocks run on simulated time and the master's cycle
  is stepped in it, so ten minutes of bus time take what the CPU needs, and the run is
  reproducible from ``--seed``. The master is jittery on purpose: every frame leaves late by a
  random amount (``--jitter``: exponential with that mean, at most 90 % of the period), so
  the intervals the slaves see vary as on a loaded host.
* ``real``: the simulator is served on an in-process link on the host's clock and the
  master's :class:`~ethercat_master.master.cyclic.CycleThread` runs with the controller as
  its clock sync; the jitter is the host's own.

The JSON report (schema ``ethercat_master.dc_soak`` v1) holds the parameters, time to lock,
|system time difference| percentiles (p50/p99/p99.9/max over all slaves and samples after
lock, and per slave), master cycle jitter and phase error, and the controller's snapshot
(schema ``ethercat_master.dc`` v1). Run ``python -m ethercat_master.tools.dc_soak --help``.
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

import numpy as np

from ..config.network import DcMode
from ..master.al import request_states
from ..master.cyclic import CycleThread, CyclicExchange, RealtimeOptions
from ..master.dc import DcController, DcStartup, SyncConfiguration, configure_dc, configure_sync, write_sync_mode
from ..master.master import Master
from ..master.pdo_mapping import configure_process_data
from ..protocol.al_status import ALState
from ..sim.chain import ChainServer, SlaveChain
from ..sim.chain_config import load_chain_config
from ..sim.dc import ClockSpec, ManualTime
from ..sim.devices.beckhoff import EK1100
from ..sim.devices.drive import Cia402DriveModel
from ..sim.slave import build_chain
from ..transport import InProcessLink
from ..transport.link import Buffer, Link

__all__ = ["DirectLink", "SimulatedBus", "VirtualCycle", "SoakResult", "run_soak", "write_plot", "main"]

_NS_PER_S = 1_000_000_000
#: Where the virtual simulation time starts (any positive time; 1 s).
_VIRTUAL_START_NS = 1_000_000_000
#: A frame takes this long on the simulated wire (static drift compensation, acyclic frames).
_FRAME_TIME_NS = 50_000
_LOCK_WINDOW_NS = 100


# ----------------------------------------------------------------------------- the bus
class DirectLink(Link):
    """A link straight into a :class:`SlaveChain`: :meth:`send` runs the frame through the
    chain in the caller's thread and keeps the reply for :meth:`recv` (a simulation on
    simulated time needs no server thread)."""

    name = "direct"

    def __init__(self, chain: SlaveChain) -> None:
        super().__init__()
        self.chain = chain
        self._replies: collections.deque[bytes] = collections.deque()

    def _send(self, payload: Buffer) -> None:
        reply = self.chain.process(bytearray(payload))
        if reply is not None:
            self._replies.append(bytes(reply))

    def _recv(self, timeout: Optional[float]) -> Optional[bytes]:
        return self._replies.popleft() if self._replies else None


def simulated_chain(*, chain_file: Optional[str] = None, slaves: int = 8, drift_ppm: float = 100.0, seed: int = 1,
                    time_source: Optional[Callable[[], int]] = None) -> SlaveChain:
    """The chain of the soak: from ``chain_file`` or an EK1100 and ``slaves - 1`` drives in a
    line; clocks drifting within ``drift_ppm`` (first slave ``+drift``, last ``-drift``)."""
    rng = random.Random(seed)
    if chain_file is not None:
        config = load_chain_config(chain_file)
        models = [slave.model for slave in config.slaves]
        topology = config.topology
    else:
        if slaves < 2:
            raise ValueError("a soak chain needs at least 2 slaves")
        models = [EK1100()] + [Cia402DriveModel() for _ in range(slaves - 1)]
        topology = None
    clocks = [ClockSpec.random(rng, max_drift_ppm=drift_ppm) for _ in models]
    if drift_ppm and len(clocks) > 1:
        clocks[0] = ClockSpec(clocks[0].initial_ns, drift_ppm)
        clocks[-1] = ClockSpec(clocks[-1].initial_ns, -drift_ppm)
    return build_chain(models, topology=topology, clocks=clocks, time_source=time_source)


@dataclass
class SimulatedBus:
    """A simulated chain brought up by the master with DC: what :func:`bring_up` returns."""

    chain: SlaveChain
    master: Master
    startup: DcStartup
    sync: list[SyncConfiguration]
    exchange: CyclicExchange
    controller: DcController
    server: Optional[ChainServer] = None
    clock: Optional[ManualTime] = None
    sync_refusals: list[str] = field(default_factory=list)

    @property
    def bus(self):
        """The master's bus."""
        return self.master.bus

    def close(self) -> None:
        """Stop the server (if any) and close the master."""
        if self.server is not None:
            self.server.stop()
        self.master.close()


def bring_up(chain: SlaveChain, *, period_ns: int, mode: DcMode = DcMode.MASTER_FOLLOWS_BUS,
             clock: Optional[ManualTime] = None, drift_frames: int = 4000, sync0_shift_ns: int = 0,
             sync0: bool = True) -> SimulatedBus:
    """Scan ``chain``, configure DC and SYNC0 in PRE-OP, the process data, and reach
    SAFE-OP (not OP: the caller cycles first). With ``clock`` (virtual time) the link runs
    frames directly and every frame advances the clock; without, a :class:`ChainServer` on
    an in-process link serves the chain on the host's clock."""
    server = None
    if clock is not None:
        link: Link = DirectLink(chain)
        time_source: Callable[[], int] = clock
        on_frame: Optional[Callable[[], None]] = functools.partial(clock.advance, _FRAME_TIME_NS)
    else:
        link, sim_end = InProcessLink.pair()
        server = ChainServer(chain, sim_end, poll_interval=0.005).start()
        time_source = time.monotonic_ns  # the chain's clock: the simulated wire's "true" time
        on_frame = None
    master = Master(link, bus_timeout=0.5)
    try:
        master.scan()
        master.request_state("PREOP")
        slaves = list(master.slaves)
        startup = configure_dc(master.bus, slaves, time_source=time_source, drift_frames=drift_frames,
                               on_frame=on_frame, mode=mode)
        sync: list[SyncConfiguration] = []
        refusals: list[str] = []
        for slave in slaves:
            if sync0 and slave.dc_supported and slave.has_coe and _offers_sync0(slave):
                refusals += write_sync_mode(master.coe(slave.position), period_ns)
                sync.append(configure_sync(master.bus, slave, sync0_cycle_ns=period_ns, sync0_shift_ns=sync0_shift_ns))
        coe = {s.position: master.coe(s.position) for s in slaves if s.has_coe}
        layout = configure_process_data(master.bus, slaves, coe)
        request_states(master.bus, slaves, ALState.SAFEOP)
        controller = DcController(startup, period_ns, mode=mode, sync=sync, time_source=time_source,
                                  host_clock=clock if clock is not None else time.monotonic_ns,
                                  lock_window_ns=_LOCK_WINDOW_NS)
        controller.prepare(master.bus)
        exchange = CyclicExchange(master.bus, layout, dc_reference=startup.reference.station_address,
                                  dc_master_time=controller.master_time if controller.writes_reference else None)
    except BaseException:
        if server is not None:
            server.stop()
        master.close()
        raise
    return SimulatedBus(chain, master, startup, sync, exchange, controller, server, clock, refusals)


def _offers_sync0(slave: Any) -> bool:
    """The slave's SII lists a DC operation mode that activates SYNC0 (0x0981 bit 1)."""
    return any(mode.assign_activate & 0x0200 for mode in slave.dc_op_modes)


class VirtualCycle:
    """The master's cycle on simulated time: the :class:`CycleThread`'s loop with the clock
    stepped instead of slept on, each frame sent ``jitter`` late (module docstring).

    :param bus: a :class:`SimulatedBus` on virtual time.
    :param jitter_ns: mean lateness of a frame (exponential), capped at 90 % of the period.
    :param monitor_every: cycles between two :meth:`DcController.monitor` frames.
    """

    def __init__(self, bus: SimulatedBus, period_ns: int, *, jitter_ns: int = 0, seed: int = 1,
                 monitor_every: int = 10, on_sample: Optional[Callable[[int, DcController], None]] = None):
        if bus.clock is None:
            raise ValueError("VirtualCycle needs a SimulatedBus on virtual time")
        self.bus = bus
        self.clock = bus.clock
        self.period_ns = period_ns
        self.jitter_ns = jitter_ns
        self._rng = random.Random(seed)
        self.monitor_every = monitor_every
        self.on_sample = on_sample
        self.start_ns = self.clock.now + period_ns
        self.cycles = 0
        self.phase_offset_ns = 0
        self.lateness = np.zeros(0, dtype=np.int64)
        self._lateness: list[int] = []
        self.bus.controller.start(self.start_ns)

    def _late(self) -> int:
        if not self.jitter_ns:
            return 0
        return min(int(self._rng.expovariate(1.0 / self.jitter_ns)), self.period_ns * 9 // 10)

    def run(self, cycles: int, *, between: Optional[Callable[[int], None]] = None) -> None:
        """Run ``cycles`` cycles; ``between(n)`` after each (a test's disturbance)."""
        controller, exchange = self.bus.controller, self.bus.exchange
        for _ in range(cycles):
            deadline = self.start_ns + self.cycles * self.period_ns + self.phase_offset_ns
            late = self._late()
            self._lateness.append(late)
            self.clock.set(max(self.clock.now, deadline + late))
            sent = self.clock.now
            exchange.exchange()
            shift = controller.after_exchange(sent, exchange.dc_system_time if exchange.dc_fresh else None)
            self.phase_offset_ns += shift
            self.cycles += 1
            if self.cycles % self.monitor_every == 0:
                self.clock.advance(_FRAME_TIME_NS)
                controller.monitor(self.bus.bus, self.clock.now)
                if self.on_sample is not None:
                    self.on_sample(self.clock.now, controller)
            if between is not None:
                between(self.cycles)

    def stall(self, ns: int) -> None:
        """The master stops for ``ns`` (no frames); the cycles whose deadlines pass are
        skipped, as the cycle thread skips them after an overrun."""
        self.clock.advance(ns)
        self.start_ns += (ns // self.period_ns) * self.period_ns

    def jitter_summary(self) -> dict[str, Any]:
        """Lateness of the frames (the master's cycle jitter), in ns."""
        values = np.asarray(self._lateness, dtype=np.int64)
        return _percentiles(values)


def _percentiles(values: np.ndarray) -> dict[str, Any]:
    if values.size == 0:
        return {"count": 0, "p50": None, "p99": None, "p999": None, "max": None}
    return {"count": int(values.size), "p50": float(np.percentile(values, 50)),
            "p99": float(np.percentile(values, 99)), "p999": float(np.percentile(values, 99.9)),
            "max": float(values.max())}


# ------------------------------------------------------------------------------ the soak
@dataclass
class SoakResult:
    """Samples and the report of one soak."""

    times_s: np.ndarray
    differences: dict[int, np.ndarray]
    names: dict[int, str]
    report: dict[str, Any]
    phase_errors: np.ndarray


class _Recorder:
    def __init__(self, start_ns: int) -> None:
        self.start_ns = start_ns
        self.times: list[float] = []
        self.values: dict[int, list[int]] = collections.defaultdict(list)
        self.phase: list[int] = []

    def __call__(self, now_ns: int, controller: DcController) -> None:
        self.times.append((now_ns - self.start_ns) / _NS_PER_S)
        for position, status in controller.slaves.items():
            self.values[position].append(0 if status.difference_ns is None else status.difference_ns)
        self.phase.append(0 if controller.phase_error_ns is None else controller.phase_error_ns)


def run_soak(*, period_ns: int = 1_000_000, duration_s: float = 10.0, chain_file: Optional[str] = None,
             slaves: int = 8, drift_ppm: float = 100.0, jitter_ns: int = 50_000, seed: int = 1,
             mode: DcMode = DcMode.MASTER_FOLLOWS_BUS, time_base: str = "virtual", drift_frames: int = 4000,
             realtime: RealtimeOptions = RealtimeOptions(), progress: Optional[Callable[[str], None]] = None
             ) -> SoakResult:
    """Run the soak (module docstring) and return its samples and report."""
    if time_base not in ("virtual", "real"):
        raise ValueError(f"time base must be 'virtual' or 'real', got {time_base!r}")
    clock = ManualTime(_VIRTUAL_START_NS) if time_base == "virtual" else None
    chain = simulated_chain(chain_file=chain_file, slaves=slaves, drift_ppm=drift_ppm, seed=seed, time_source=clock)
    wall = time.monotonic()
    sim = bring_up(chain, period_ns=period_ns, mode=mode, clock=clock, drift_frames=drift_frames)
    try:
        cycles = max(1, round(duration_s * _NS_PER_S / period_ns))
        if clock is not None:
            jitter, statistics, report_rt = _run_virtual(sim, period_ns, cycles, jitter_ns, seed, progress)
            recorder = jitter.pop("_recorder")
        else:
            recorder, jitter, statistics, report_rt = _run_real(sim, period_ns, duration_s, realtime, progress)
    finally:
        sim.close()
    controller = sim.controller
    times = np.asarray(recorder.times)
    diffs = {p: np.asarray(v, dtype=np.int64) for p, v in recorder.values.items()}
    lock_s = None if controller.time_to_lock_ns is None else controller.time_to_lock_ns / _NS_PER_S
    after = times >= (lock_s if lock_s is not None else float("inf"))
    names = {s.position: s.name for s in sim.startup.slaves}
    followers = [p for p in diffs if not (p == sim.startup.reference.position and mode is DcMode.MASTER_FOLLOWS_BUS)]
    pooled = np.concatenate([np.abs(diffs[p][after]) for p in followers]) if followers else np.zeros(0)
    per_slave = {str(p): {"name": names[p], **_percentiles(np.abs(diffs[p][after]))} for p in diffs}
    overall = _percentiles(pooled)
    report = {
        "schema_version": 1,
        "kind": "ethercat_master.dc_soak",
        "parameters": {"period_ns": period_ns, "duration_s": duration_s, "chain": chain_file,
                       "slaves": len(chain), "drift_ppm": drift_ppm, "jitter_ns": jitter_ns, "seed": seed,
                       "mode": mode.value, "time": time_base, "drift_frames": drift_frames},
        "clocks_ppm": {str(n): chain.dc(n).clock.spec.drift_ppm for n in range(len(chain)) if chain.dc(n) is not None},
        "time_to_lock_s": lock_s,
        "abs_system_time_difference_ns": overall,
        "per_slave_abs_difference_ns": per_slave,
        "samples": int(times.size),
        "master_jitter_ns": jitter,
        "cycle_statistics": statistics,
        "realtime": report_rt,
        "criteria": {
            "locked_within_2s": lock_s is not None and lock_s <= 2.0,
            "p999_below_200ns": overall["p999"] is not None and overall["p999"] < 200,
        },
        "sync_refusals": sim.sync_refusals,
        "wall_time_s": round(time.monotonic() - wall, 3),
        "dc": controller.snapshot(),
    }
    return SoakResult(times, diffs, names, report, np.asarray(recorder.phase, dtype=np.int64))


def _reach_op(sim: SimulatedBus, step: Callable[[int], None]) -> None:
    step(20)  # outputs in SAFE-OP before OP (slaves wait for them)
    request_states(sim.bus, list(sim.master.slaves), ALState.OP)


def _run_virtual(sim: SimulatedBus, period_ns: int, cycles: int, jitter_ns: int, seed: int,
                 progress: Optional[Callable[[str], None]]) -> tuple[dict[str, Any], Any, Any]:
    assert sim.clock is not None
    cycle = VirtualCycle(sim, period_ns, jitter_ns=jitter_ns, seed=seed,
                         monitor_every=max(1, 10_000_000 // period_ns))
    recorder = _Recorder(cycle.start_ns)
    cycle.on_sample = recorder
    _reach_op(sim, cycle.run)
    chunk = max(1, cycles // 20)
    done = 20
    while done < cycles:
        count = min(chunk, cycles - done)
        cycle.run(count)
        done += count
        if progress is not None:
            progress(f"{done}/{cycles} cycles, locked={sim.controller.locked}")
    jitter = cycle.jitter_summary()
    jitter["_recorder"] = recorder
    return jitter, sim.exchange.statistics().as_dict(), None


def _run_real(sim: SimulatedBus, period_ns: int, duration_s: float, realtime: RealtimeOptions,
              progress: Optional[Callable[[str], None]]):
    controller = sim.controller
    recorder = _Recorder(0)
    bus = sim.bus

    def idle(remaining: float) -> None:
        before = controller.samples
        controller.idle_work(remaining, bus=bus)
        if controller.samples != before:
            recorder(time.monotonic_ns(), controller)

    thread = CycleThread(sim.exchange, period_ns / _NS_PER_S, idle_work=idle, realtime=realtime,
                         clock_sync=controller)
    report = thread.start()
    recorder.start_ns = controller.started_ns or time.monotonic_ns()
    try:
        request_states(bus, list(sim.master.slaves), ALState.OP)
        end = time.monotonic() + duration_s
        while time.monotonic() < end:
            time.sleep(min(10.0, max(0.0, end - time.monotonic())))
            if progress is not None:
                progress(f"{controller.samples} samples, locked={controller.locked}")
    finally:
        thread.stop()
    statistics = sim.exchange.statistics()
    jitter = statistics.period_jitter.as_dict()
    return recorder, jitter, statistics.as_dict(), report.as_dict()


def write_plot(result: SoakResult, path: str) -> None:
    """The PNG: system time difference of each slave over time, the histogram of
    |difference| after lock, and the histogram of the master's phase error."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(3, 1, figsize=(10, 11))
    top, middle, bottom = axes
    for position, values in result.differences.items():
        top.plot(result.times_s, values, linewidth=0.6, label=f"{position}: {result.names[position]}")
    lock = result.report.get("time_to_lock_s")
    if lock is not None:
        top.axvline(lock, color="k", linestyle="--", linewidth=0.8, label=f"lock at {lock:.3f} s")
    extent = max([abs(int(v.max())) for v in result.differences.values() if v.size]
                 + [abs(int(v.min())) for v in result.differences.values() if v.size] + [10])
    top.set_ylim(-1.1 * extent, 1.1 * extent)
    top.set_xlabel("time since cyclic start [s]")
    top.set_ylabel("system time difference 0x092C [ns]")
    top.set_title(f"DC soak: period {result.report['parameters']['period_ns'] / 1e6:g} ms, "
                  f"drift +/-{result.report['parameters']['drift_ppm']:g} ppm, {result.report['parameters']['mode']}")
    top.legend(fontsize=6, ncol=3)
    after = result.times_s >= (lock if lock is not None else float("inf"))
    pooled = [np.abs(v[after]) for v in result.differences.values()]
    pooled_all = np.concatenate(pooled) if pooled else np.zeros(0)
    if pooled_all.size:
        middle.hist(pooled_all, bins=100, log=True)
    middle.set_xlabel("|system time difference| after lock [ns]")
    middle.set_ylabel("samples")
    if result.phase_errors.size:
        bottom.hist(result.phase_errors / 1000.0, bins=100, log=True)
    bottom.set_xlabel("master phase error against the reference clock [us]")
    bottom.set_ylabel("samples")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


# ------------------------------------------------------------------------------------ CLI
def _duration_ns(text: str) -> int:
    """``1ms``, ``500us``, ``250ns``, ``2s`` or a number of seconds, in ns."""
    text = text.strip()
    for suffix, scale in (("ns", 1), ("us", 1_000), ("ms", 1_000_000), ("s", _NS_PER_S)):
        if text.endswith(suffix):
            return round(float(text[: -len(suffix)]) * scale)
    return round(float(text) * _NS_PER_S)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``dc_soak_demo``."""
    parser = argparse.ArgumentParser(prog="dc_soak_demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--period", default="1ms", help="cycle period (1ms, 500us, ...)")
    parser.add_argument("--duration", default="10s", help="bus time to run (600s for ten minutes)")
    chain = parser.add_mutually_exclusive_group()
    chain.add_argument("--chain", help="simulator chain file (YAML)")
    chain.add_argument("--slaves", type=int, default=8, help="EK1100 + N-1 CiA 402 drives (default 8)")
    parser.add_argument("--drift-ppm", type=float, default=100.0, help="clock drift bound (default 100 ppm)")
    parser.add_argument("--jitter", default="50us", help="mean lateness of the master's frames (virtual time)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--mode", choices=[m.value for m in DcMode], default=DcMode.MASTER_FOLLOWS_BUS.value)
    parser.add_argument("--time", choices=("virtual", "real"), default="virtual", help="time base (module doc)")
    parser.add_argument("--drift-frames", type=int, default=4000, help="static drift compensation frames at most")
    parser.add_argument("--priority", type=int, help="SCHED_FIFO priority of the cycle thread (real time)")
    parser.add_argument("--cpu", type=int, action="append", help="CPU for the cycle thread (real time)")
    parser.add_argument("--json", help="write the report here (default: stdout)")
    parser.add_argument("--plot", help="write the PNG plot here")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the soak from the command line; 0 when both criteria held, 1 when not."""
    args = build_parser().parse_args(argv)
    progress = None if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True))
    realtime = RealtimeOptions(priority=args.priority, cpus=frozenset(args.cpu) if args.cpu else None)
    result = run_soak(period_ns=_duration_ns(args.period), duration_s=_duration_ns(args.duration) / _NS_PER_S,
                      chain_file=args.chain, slaves=args.slaves, drift_ppm=args.drift_ppm,
                      jitter_ns=_duration_ns(args.jitter), seed=args.seed, mode=DcMode(args.mode),
                      time_base=args.time, drift_frames=args.drift_frames, realtime=realtime, progress=progress)
    text = json.dumps(result.report, indent=2)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    if args.plot:
        write_plot(result, args.plot)
    criteria = result.report["criteria"]
    return 0 if all(criteria.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
