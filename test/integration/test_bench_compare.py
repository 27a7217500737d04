"""The side-by-side benchmark (benchmarks/compare.py) in its quick mode: both masters drive the
simulator over veth pairs in namespaces, and results.json carries every figure for both.

No timing is asserted (the machine is shared): only that every figure exists, is a number of
the right kind, is consistent with the others, and that the plots were written.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from harness import require, require_root, require_tool

ROOT = Path(__file__).resolve().parents[2]
COMPARE = ROOT / "benchmarks" / "compare.py"
MASTERS = ("ours", "soem")
PERCENTILES = ("p50_us", "p99_us", "p999_us", "max_us")
TIMEOUT_S = 600
PLOTS = ("cyclic_round_trip.png", "cyclic_jitter.png", "fastest_period.png", "startup.png", "cpu_per_cycle.png",
         "sdo.png", "memory.png")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Run ``compare.py --quick`` once; yield its results.json and the output directory."""
    require_root()
    require_tool("ip", "iproute2")
    require_tool("chrt", "util-linux")
    try:
        import pysoem  # noqa: F401
    except ImportError:
        require(False, "pysoem is not installed")
    out = tmp_path_factory.mktemp("bench")
    done = subprocess.run([sys.executable, str(COMPARE), "--quick", "--out", str(out)], capture_output=True,
                          text=True, timeout=TIMEOUT_S, cwd=str(ROOT))
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads((out / "results.json").read_text()), out, done.stdout


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _compared(entry, *, positive: bool = True) -> None:
    """A compare() entry: both masters with median inside [min, max], and a ratio."""
    for master in MASTERS:
        figure = entry[master]
        assert figure is not None, f"{master} has no value"
        assert _number(figure["median"])
        assert figure["min"] <= figure["median"] <= figure["max"]
        if positive:
            assert figure["min"] > 0
    if positive:
        assert _number(entry["ratio"]) and entry["ratio"] > 0
        assert math.isclose(entry["ratio"], entry["ours"]["median"] / entry["soem"]["median"], rel_tol=1e-2)


def test_the_machine_and_the_command_are_recorded(results):
    data, _, _ = results
    machine = data["machine"]
    assert machine["nproc"] >= 1 and machine["cpu"] is not None and machine["kernel"] and machine["python"]
    assert machine["pysoem"]
    assert data["settings"]["quick"] is True
    assert "--quick" in data["command"]


def test_every_cyclic_figure_exists_for_both_masters(results):
    data, _, _ = results
    cyclic = data["figures"]["cyclic"]
    assert sorted(cyclic, key=int) == [str(s) for s in data["settings"]["sizes"]]
    for size, figures in cyclic.items():
        for quantity in ("round_trip", "period_jitter"):
            for key in PERCENTILES:
                _compared(figures[quantity][key], positive=quantity == "round_trip")
            for master in MASTERS:  # percentiles grow with the rank
                medians = [figures[quantity][key][master]["median"] for key in PERCENTILES]
                assert medians == sorted(medians), (size, quantity, master, medians)
        _compared(figures["cpu_per_cycle_us"])
        _compared(figures["startup_s"])
        _compared(figures["memory_rss_kib"])
        _compared(figures["cycles"])
        for key in ("overruns", "failed_exchanges"):
            for master in MASTERS:
                assert figures[key][master]["min"] >= 0
        for master in MASTERS:
            share = figures["simulator_cpu_share"][master]
            assert 0 < share["median"]
            fastest = figures["fastest_sustained_period_us"][master]
            assert fastest is None or fastest["median"] > 0


def test_both_masters_ran_every_cycle_they_were_asked_for_in_op(results):
    data, _, _ = results
    chosen = data["settings"]
    for size, runs in data["runs"]["cyclic"].items():
        for master in MASTERS:
            assert len(runs[master]) == chosen["repeats"]
            for run in runs[master]:
                assert run["master"] == master and run["slaves"] == int(size)
                assert run["scheduling"]["policy"] == "SCHED_FIFO"
                assert run["windows"][0]["period_us"] == chosen["periods_us"][0]
                assert all(w["cycles"] == chosen["cycles"] for w in run["windows"])


def test_every_mailbox_figure_exists_for_both_masters(results):
    data, _, _ = results
    sdo = data["figures"]["sdo"]
    for case in ("expedited", "segmented"):
        for scope in ("single", "parallel"):
            _compared(sdo[case][scope])
    for master in MASTERS:
        for run in data["runs"]["sdo"][master]:
            assert run["sdo"]["expedited"]["single"]["transactions"] > 0
            assert run["sdo"]["expedited"]["octets"] == [4]
            assert run["sdo"]["segmented"]["octets"][0] > 128  # more than one mailbox: segmented
            assert run["sdo"]["expedited"]["parallel"]["slaves"] == data["settings"]["sdo_slaves"]


def test_memory_and_the_ros_node_are_reported(results):
    data, _, _ = results
    memory = data["figures"]["memory"]
    assert memory["slaves"] == max(data["settings"]["sizes"])
    _compared(memory["rss_kib"])
    ros = data["figures"]["ros_node"]
    assert ros["status"] == "measured", ros["status"]
    assert ros["drives"] == 4  # --quick
    assert ros["cpu_at_1khz"]["cpu_percent_of_one_core"] > 0 and ros["cpu_at_1khz"]["cycles"] > 0
    assert ros["command_to_image_latency_us"]["samples"] > 0


def test_goals_are_judged_from_the_ratios(results):
    data, _, stdout = results
    goals = data["figures"]["goals"]
    names = [g["name"] for g in goals]
    assert any(n.startswith("round trip p50") for n in names)
    assert any(n.startswith("period jitter p99.9") for n in names)
    assert sum(n.startswith("SDO") for n in names) == 4
    assert sum(n.startswith("start-up") for n in names) == len(data["settings"]["sizes"])
    for goal in goals:
        assert _number(goal["ratio"])
        expected = goal["ratio"] <= goal["limit"] if goal["rule"] == "at most" else goal["ratio"] >= goal["limit"]
        assert goal["met"] is expected
        assert (goal["missed_by"] is None) is expected
        assert goal["name"] in stdout


def test_the_summary_tables_show_every_ratio(results):
    data, out, _ = results
    summary = (out / "summary.md").read_text()
    for goal in data["figures"]["goals"]:
        assert goal["name"] in summary
    for size in data["figures"]["cyclic"]:
        assert f"#### Cyclic, {size} slaves, 1 kHz" in summary
    assert f"**{data['figures']['sdo']['expedited']['single']['ratio']:.2f}**" in summary


def test_the_plots_are_pngs(results):
    data, out, _ = results
    assert sorted(data["plots"]) == sorted(PLOTS)
    for name in PLOTS:
        assert (out / name).read_bytes()[:8] == PNG_SIGNATURE


# ------------------------------------------------------------ the raw link's busy polling
def test_a_busy_polling_raw_link_receives_what_the_other_end_sends(wire):
    from ethercat_master.transport.raw import RawLink

    with wire.inside("a"):
        a = RawLink(wire.interface["a"], busy_poll=0.05)
    with wire.inside("b"):
        b = RawLink(wire.interface["b"])
    try:
        payload = bytes([0x0E, 0x10]) + bytes(range(14))  # EtherCAT header (length 14) + data
        b.send(payload)
        assert a.recv(timeout=2.0) == payload
        a.send(payload)  # its own frames are never received back
        assert a.recv(timeout=0.01) is None
    finally:
        a.close()
        b.close()


def test_busy_polling_gives_up_at_the_deadline_and_then_sleeps_in_poll(wire):
    from ethercat_master.transport.raw import RawLink

    with pytest.raises(ValueError):
        RawLink("lo", busy_poll=-1.0)
    with wire.inside("a"):
        a = RawLink(wire.interface["a"], busy_poll=0.001)
    with wire.inside("b"):
        b = RawLink(wire.interface["b"])
    try:
        assert a.recv(timeout=0.0) is None  # nothing sent: the spin ends at once
        payload = bytes([0x0E, 0x10]) + bytes(14)
        late = threading.Timer(0.05, b.send, args=(payload,))  # after the spin, during the poll
        late.start()
        assert a.recv(timeout=5.0) == payload
        late.join()
    finally:
        a.close()
        b.close()
