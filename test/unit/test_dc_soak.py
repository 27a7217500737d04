"""dc_soak_demo, short: the command line writes the JSON report with its KPIs and a PNG plot;
the run is reproducible from its seed; the criteria follow the figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ethercat_master.tools import dc_soak

ROOT = Path(__file__).resolve().parents[2]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("soak")
    paths = {"json": out / "soak.json", "plot": out / "soak.png"}
    code = dc_soak.main(["--period", "1ms", "--duration", "2.5s", "--slaves", "4", "--drift-ppm", "100",
                         "--jitter", "100us", "--seed", "5", "--drift-frames", "3000", "--json", str(paths["json"]),
                         "--plot", str(paths["plot"]), "--quiet"])
    return code, json.loads(paths["json"].read_text()), paths


def test_the_report_has_its_schema_and_kpis(run):
    code, report, _ = run
    assert report["schema_version"] == 1 and report["kind"] == "ethercat_master.dc_soak"
    assert report["parameters"]["period_ns"] == 1_000_000 and report["parameters"]["slaves"] == 4
    assert report["dc"]["kind"] == "ethercat_master.dc" and report["dc"]["schema_version"] == 1
    for key in ("p50", "p99", "p999", "max", "count"):
        assert key in report["abs_system_time_difference_ns"]
    assert report["abs_system_time_difference_ns"]["count"] > 0
    assert set(report["per_slave_abs_difference_ns"]) == {"0", "1", "2", "3"}
    assert report["master_jitter_ns"]["count"] == 2500  # every cycle of the 2.5 s, the 20 before OP included
    # the clocks drifted as asked: the first at +100 ppm, the last at -100 ppm
    assert report["clocks_ppm"]["0"] == 100 and report["clocks_ppm"]["3"] == -100
    # the criteria say what the figures say, and the exit code follows them
    lock = report["time_to_lock_s"]
    assert report["criteria"]["locked_within_2s"] == (lock is not None and lock <= 2.0)
    assert report["criteria"]["p999_below_200ns"] == (report["abs_system_time_difference_ns"]["p999"] < 200)
    assert code == (0 if all(report["criteria"].values()) else 1)
    # the master measured the reference clock's drift against the (simulated) host clock
    assert report["dc"]["reference"]["drift_ppm"] == pytest.approx(100.0, abs=1.0)


def test_the_plot_is_a_png(run):
    _, _, paths = run
    data = paths["plot"].read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 10_000


def test_a_run_is_reproducible_from_its_seed(run):
    _, report, _ = run
    again = dc_soak.run_soak(period_ns=1_000_000, duration_s=2.5, slaves=4, drift_ppm=100.0, jitter_ns=100_000,
                             seed=5, drift_frames=3000).report
    assert again["abs_system_time_difference_ns"] == report["abs_system_time_difference_ns"]
    assert again["time_to_lock_s"] == report["time_to_lock_s"]
    assert again["master_jitter_ns"] == report["master_jitter_ns"]


def test_runs_as_a_module(tmp_path):
    result = subprocess.run([sys.executable, "-m", "ethercat_master.tools.dc_soak", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60,
                            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0 and "--drift-ppm" in result.stdout and "--plot" in result.stdout
