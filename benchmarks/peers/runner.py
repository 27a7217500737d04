"""Runs the benchmark's processes: a veth pair between two network namespaces
(``test/harness/virtual_wire.py``), the simulator ``ethercat-sim`` serving a chain in
namespace ``b``, and the peers one after the other in namespace ``a``, each under the same
``chrt --fifo`` as the simulator. The simulator's CPU time is read from ``/proc`` around each
peer run, so the report can show that it was not the bottleneck.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Sequence

from ethercat_master.master.master import Master
from ethercat_master.protocol.datagram import Command, Datagram
from ethercat_master.protocol.frame import Frame
from ethercat_master.transport.raw import RawLink

from .chains import write_chain
from .common import parse_result

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "test"))

from harness.virtual_wire import VirtualWire  # noqa: E402

PEERS = {"ours": Path(__file__).with_name("ours.py"), "soem": Path(__file__).with_name("soem.py")}
#: Seconds the simulator may take to load its chain and open the link.
SIM_START_TIMEOUT_S = 30.0
#: Broadcast reads answered promptly in a row before the simulator counts as warm.
WARM_UP_FRAMES = 20
#: Seconds within which a warm-up reply counts as prompt, and the wait for one.
PROMPT_S = 0.01
WARM_UP_WAIT_S = 1.0
#: Untimed scans by our master before the measured runs.
WARM_UP_SCANS = 2
#: Seconds a peer run may take at most.
PEER_TIMEOUT_S = 180.0
#: Seconds the simulator gets to exit after SIGTERM.
SIM_STOP_TIMEOUT_S = 10.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
#: Fields 14 and 15 of /proc/PID/stat (utime, stime), counted after the command name.
_UTIME_FIELD = 11


class BenchmarkError(RuntimeError):
    """A benchmark process failed; the message carries its output."""


def process_cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of process ``pid`` (all its threads)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[_UTIME_FIELD]) + int(fields[_UTIME_FIELD + 1])) / _CLOCK_TICKS


@dataclass
class Bench:
    """One chain served by the simulator on a fresh virtual wire (use as a context manager).

    :param kind: the kind of chain (:mod:`.chains`).
    :param slaves: slaves in the chain.
    :param priority: SCHED_FIFO priority of the simulator and the peers (None: normal).
    """

    kind: str
    slaves: int
    priority: Optional[int] = 10
    wire: Optional[VirtualWire] = field(default=None, init=False)
    sim: Optional[subprocess.Popen] = field(default=None, init=False)
    _tmp: Optional[tempfile.TemporaryDirectory] = field(default=None, init=False)

    def _realtime(self) -> list[str]:
        if self.priority is None:
            return []
        chrt = shutil.which("chrt")
        if chrt is None:
            raise BenchmarkError("chrt (util-linux) is needed to run both peers with SCHED_FIFO")
        return [chrt, "--fifo", str(self.priority)]

    def __enter__(self) -> "Bench":
        self._tmp = tempfile.TemporaryDirectory(prefix="ecm-bench-")
        directory = Path(self._tmp.name)
        chain = write_chain(directory, self.kind, self.slaves)
        status = directory / "status.json"
        self.wire = VirtualWire.create()
        try:
            argv = [sys.executable, "-m", "ethercat_master.sim.cli", "--interface", self.wire.interface["b"],
                    "--chain", str(chain), "--status-file", str(status), "--status-interval", "5"]
            if self.priority is not None:
                argv += ["--realtime", str(self.priority)]
            env = dict(os.environ, PYTHONPATH=str(ROOT))
            self.sim = self.wire.popen("b", argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                       cwd=str(ROOT), env=env)
            start = time.monotonic()
            while not status.exists():
                if self.sim.poll() is not None:
                    raise BenchmarkError(f"ethercat-sim ended: {self.sim.communicate()}")
                if time.monotonic() - start > SIM_START_TIMEOUT_S:
                    raise BenchmarkError("ethercat-sim did not start")
                time.sleep(0.05)
            self._warm_up()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _warm_up(self) -> None:
        """Exchange broadcast reads until the simulator answers every one promptly, then scan
        the bus: its first frames build its caches and may take longer than a master's frame
        timeout."""
        assert self.wire is not None
        frame = Frame([Datagram(Command.BRD, 0, 0, bytes(1))]).encode()
        with self.wire.inside("a"):
            link = RawLink(self.wire.interface["a"])
        try:
            deadline = time.monotonic() + SIM_START_TIMEOUT_S
            prompt = 0
            while prompt < WARM_UP_FRAMES:
                if time.monotonic() > deadline:
                    raise BenchmarkError("the simulator does not answer on the wire")
                sent = time.monotonic()
                link.send(frame)
                reply = link.recv(timeout=WARM_UP_WAIT_S)
                if reply is not None and Frame.decode(reply).datagrams[0].wkc != self.slaves:
                    raise BenchmarkError(f"the simulator answered for {Frame.decode(reply).datagrams[0].wkc} "
                                         f"slaves, expected {self.slaves}")
                prompt = prompt + 1 if reply is not None and time.monotonic() - sent < PROMPT_S else 0
                while link.recv(timeout=0) is not None:  # a late reply of an earlier frame
                    pass
            # a scan (resets, SII reads) with a patient bus, so that no measured run meets the
            # simulator's first-time costs (its reset of every register area is slow once)
            for _ in range(WARM_UP_SCANS):
                master = Master(link, bus_timeout=WARM_UP_WAIT_S)
                master.scan()
                master.close()
        finally:
            link.close()

    def __exit__(self, *exc: object) -> None:
        try:
            if self.sim is not None and self.sim.poll() is None:
                self.sim.send_signal(signal.SIGTERM)
                try:
                    self.sim.communicate(timeout=SIM_STOP_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    self.sim.kill()
                    self.sim.communicate()
        finally:
            if self.wire is not None:
                self.wire.remove()
            if self._tmp is not None:
                self._tmp.cleanup()

    def run_peer(self, master: str, arguments: Sequence[str]) -> dict[str, Any]:
        """Run one peer (``"ours"`` or ``"soem"``) with ``arguments`` (peers.cli) in namespace
        ``a``; its result with the simulator's CPU time during the run added."""
        assert self.wire is not None and self.sim is not None
        argv = [*self._realtime(), sys.executable, str(PEERS[master]), "--interface", self.wire.interface["a"],
                "--slaves", str(self.slaves), *arguments]
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        sim_cpu0, wall0 = process_cpu_seconds(self.sim.pid), time.perf_counter()
        done = self.wire.run("a", argv, timeout=PEER_TIMEOUT_S, cwd=str(ROOT), env=env)
        wall = time.perf_counter() - wall0
        sim_cpu = process_cpu_seconds(self.sim.pid) - sim_cpu0
        if done.returncode != 0:
            raise BenchmarkError(f"{master} peer failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
        try:
            result = parse_result(done.stdout)
        except ValueError:
            raise BenchmarkError(f"{master} peer printed no result:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        result["simulator"] = {"cpu_s": round(sim_cpu, 3), "wall_s": round(wall, 3),
                               "cpu_share": round(sim_cpu / wall, 3) if wall > 0 else None}
        return result
