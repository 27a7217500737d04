#!/usr/bin/env python3
"""ethercat_master side by side with SOEM (pysoem), on the real raw-socket path.

For every chain, a veth pair joins two network namespaces made for the run; the simulator
``ethercat-sim`` serves the chain in one, and the two masters run as separate processes in the
other, one after the other and alternating (ours first in even repetitions, pysoem first in odd
ones), all three under the same ``chrt --fifo`` priority. Figures (``benchmarks/peers/``):

1. Cyclic exchange on chains of 1, 4, 16 and 64 slaves (EL2008/EL1008 terminals): round trip
   and cycle period jitter (p50, p99, p99.9, max), overruns, CPU time per cycle at 1 kHz, and
   the fastest period each master sustains (overruns and failed exchanges at most 0.1 %).
2. Mailbox: expedited (0x1018:01) and segmented (0x1008, 157 octets) SDO uploads per second
   from one slave and from every slave of a 16-slave chain of EL3102 terminals.
3. Start-up: link opened to all slaves in OP (from every cyclic run).
4. Memory: resident size of each master process driving 64 slaves in OP (after cycling).
5. ROS node: ``benchmarks/bench_node.py`` run as its own process (CPU at 1 kHz with 16 drives,
   ``joint_commands`` to process image latency); our node only, SOEM has none.

The simulator's CPU share during each run is recorded: near 1.0 means the simulator, not the
master, set the pace. Writes ``OUT/results.json``, ``OUT/summary.md`` (the tables of
``docs/benchmarks.md``) and PNG plots into ``OUT``.

    sudo python benchmarks/compare.py [--quick] [--out DIR] [--repeats N] [--sizes 1,4,16,64]
                                      [--busy-poll-us N]

Needs root (namespaces, raw sockets, SCHED_FIFO), ``ip``, ``chrt`` and pysoem.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from peers import aggregate, plots, report  # noqa: E402
from peers.cli import sustained  # noqa: E402
from peers.runner import Bench  # noqa: E402

SCHEMA = "ethercat_master.bench_compare"
SCHEMA_VERSION = 1
#: The issue's goals are judged at this chain size and period.
GOAL_SLAVES = 16
GOAL_PERIOD_US = 1000


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """What to run: the full set, or a smoke run of a few seconds per process with ``--quick``."""
    if args.quick:
        chosen = {"sizes": [1, 4], "repeats": 1, "cycles": 300, "warmup": 50, "periods_us": [1000, 500],
                  "sdo_slaves": 4, "sdo_seconds": 0.3}
    else:
        chosen = {"sizes": [1, 4, 16, 64], "repeats": 3, "cycles": 5000, "warmup": 500,
                  "periods_us": [1000, 500, 250, 125], "sdo_slaves": 16, "sdo_seconds": 2.0}
    if args.sizes:
        chosen["sizes"] = [int(s) for s in args.sizes.split(",") if s]
    if args.repeats:
        chosen["repeats"] = args.repeats
    chosen.update(priority=args.priority, spin_us=args.spin_us, busy_poll_us=args.busy_poll_us, cyclic_chain="io", sdo_chain="analog",
                  quick=args.quick)
    return chosen


def machine() -> dict[str, Any]:
    """The machine the figures came from."""
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "")
    except OSError:
        pass
    try:
        nproc = int(subprocess.run(["nproc"], capture_output=True, text=True, check=True).stdout)
    except (OSError, subprocess.CalledProcessError, ValueError):
        nproc = os.cpu_count()
    try:
        import pysoem
        pysoem_version: Optional[str] = pysoem.__version__
    except ImportError:
        pysoem_version = None
    return {"nproc": nproc, "cpu": model, "kernel": platform.release(), "platform": platform.platform(),
            "python": platform.python_version(), "pysoem": pysoem_version,
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
            "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _order(repeat: int) -> tuple[str, str]:
    return ("ours", "soem") if repeat % 2 == 0 else ("soem", "ours")


def _log(text: str) -> None:
    print(f"[compare] {text}", file=sys.stderr, flush=True)


def run_cyclic(chosen: dict[str, Any]) -> dict[str, dict[str, list[dict]]]:
    """Every cyclic run: by chain size, by master, one entry per repetition."""
    runs: dict[str, dict[str, list[dict]]] = {}
    arguments = ["--task", "cyclic", "--periods-us", ",".join(map(str, chosen["periods_us"])),
                 "--cycles", str(chosen["cycles"]), "--warmup", str(chosen["warmup"]),
                 "--spin-us", str(chosen["spin_us"]), "--busy-poll-us", str(chosen["busy_poll_us"])]
    for slaves in chosen["sizes"]:
        runs[str(slaves)] = {"ours": [], "soem": []}
        with Bench(chosen["cyclic_chain"], slaves, chosen["priority"]) as bench:
            for repeat in range(chosen["repeats"]):
                for master in _order(repeat):
                    _log(f"cyclic, {slaves} slaves, repetition {repeat + 1}: {master}")
                    runs[str(slaves)][master].append(bench.run_peer(master, arguments))
    return runs


def run_sdo(chosen: dict[str, Any]) -> dict[str, list[dict]]:
    """Every mailbox run, by master."""
    runs: dict[str, list[dict]] = {"ours": [], "soem": []}
    arguments = ["--task", "sdo", "--sdo-seconds", str(chosen["sdo_seconds"]),
                 "--busy-poll-us", str(chosen["busy_poll_us"])]
    with Bench(chosen["sdo_chain"], chosen["sdo_slaves"], chosen["priority"]) as bench:
        for repeat in range(chosen["repeats"]):
            for master in _order(repeat):
                _log(f"SDO, {chosen['sdo_slaves']} slaves, repetition {repeat + 1}: {master}")
                runs[master].append(bench.run_peer(master, arguments))
    return runs


def summarise(chosen: dict[str, Any], cyclic_runs: dict, sdo_runs: dict) -> dict[str, Any]:
    """The figures and goals from the raw runs."""
    cyclic = {size: aggregate.cyclic_figures(runs, GOAL_PERIOD_US, sustained) for size, runs in cyclic_runs.items()}
    sdo = aggregate.sdo_figures(sdo_runs)
    largest = str(max(chosen["sizes"]))
    memory = {"slaves": int(largest), **{"rss_kib": cyclic[largest]["memory_rss_kib"]}}
    goal_slaves = GOAL_SLAVES if str(GOAL_SLAVES) in cyclic else int(largest)
    return {
        "cyclic": cyclic,
        "sdo": sdo,
        "memory": memory,
        "goals": aggregate.goals(cyclic, sdo, goal_slaves),
    }


def run_ros_node(quick: bool) -> dict[str, Any]:
    """Item 5: the node's CPU at 1 kHz and the command-to-image latency (``bench_node.py`` in
    its own process; 4 drives and a few seconds with ``quick``, else 16 drives). A node that
    cannot run here (no ROS environment) gives a status saying why instead of figures."""
    drives, seconds, samples = (4, 2, 20) if quick else (16, 10, 200)
    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    env.setdefault("ROS_DOMAIN_ID", str(os.getpid() % 50 + 150))
    command = [sys.executable, str(ROOT / "benchmarks" / "bench_node.py"), "--drives", str(drives),
               "--period", "0.001", "--seconds", str(seconds), "--samples", str(samples)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    try:
        measured = json.loads(done.stdout)
    except json.JSONDecodeError:
        return {"status": f"bench_node.py failed (exit {done.returncode}): {done.stderr.strip()[-500:]}",
                "cpu_at_1khz": None, "command_to_image_latency_us": None}
    cpu, latency = measured.get("cpu", {}), measured.get("latency", {})
    return {"status": "measured", "drives": drives, "command": " ".join(command[1:]),
            "cpu_at_1khz": cpu, "command_to_image_latency_us": latency}


def main(argv: Optional[list[str]] = None) -> int:
    """Run the comparison; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds per process (CI)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks",
                        help="directory for results.json, summary.md and the plots (default: the "
                             "figures of docs/benchmarks.md)")
    parser.add_argument("--repeats", type=int, help="repetitions per master (default 3, quick 1)")
    parser.add_argument("--sizes", help="chain sizes for the cyclic figures, comma-separated")
    parser.add_argument("--priority", type=int, default=10, help="SCHED_FIFO priority of every process")
    parser.add_argument("--spin-us", type=int, default=100, help="busy-wait before each deadline, both masters")
    parser.add_argument("--busy-poll-us", type=int, default=0,
                        help="our master's raw link polls its socket this long before sleeping (default 0: "
                             "as shipped; SOEM always polls)")
    parser.add_argument("--no-plots", action="store_true", help="write results.json only")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("compare.py needs root: it creates network namespaces, raw sockets and SCHED_FIFO processes",
              file=sys.stderr)
        return 2
    chosen = settings(args)
    started = time.perf_counter()
    result: dict[str, Any] = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "machine": machine(),
                              "settings": chosen, "command": " ".join(["python", "benchmarks/compare.py",
                                                                       *(argv if argv is not None else sys.argv[1:])])}
    cyclic_runs = run_cyclic(chosen)
    sdo_runs = run_sdo(chosen)
    result["figures"] = summarise(chosen, cyclic_runs, sdo_runs)
    result["figures"]["ros_node"] = run_ros_node(args.quick)
    result["runs"] = {"cyclic": cyclic_runs, "sdo": sdo_runs}
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["duration_s"] = round(time.perf_counter() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.no_plots:
        result["plots"] = [p.name for p in plots.plot_all(result["figures"], args.out)]
    (args.out / "results.json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    (args.out / "summary.md").write_text(report.render(result), encoding="utf-8")
    for goal in result["figures"]["goals"]:
        state = "met" if goal["met"] else ("MISSED" if goal["met"] is not None else "n/a")
        print(f"{goal['name']}: ratio {goal['ratio']} ({goal['rule']} {goal['limit']}) {state}")
    print(f"results: {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
