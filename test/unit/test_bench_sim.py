"""The simulator benchmark runs and prints the JSON it promises (figures are reported, never
asserted: the machine decides them)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIGURES = {"min_us", "p50_us", "p99_us", "mean_us"}


def test_sim_benchmark_prints_figures_per_slave_count_with_and_without_sync_managers_and_fast_paths():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_sim.py"), "--frames", "20",
                          "--e2e-frames", "5", "--counts", "1,3"],
                         capture_output=True, text=True, check=True, timeout=300).stdout
    result = json.loads(out)
    assert (result["frames"], result["e2e_frames"]) == (20, 5)
    assert {"python", "platform", "cpu", "cpu_count", "load_average"} <= set(result["machine"])
    assert set(result["process"]) == set(result["end_to_end"]) == {"1", "3"}
    for count in ("1", "3"):
        process = result["process"][count]
        assert set(process) == {"sm", "no_sm", "sm_general", "speedup_p50", "speedup_min"}
        for figures in (process["sm"], process["no_sm"], process["sm_general"], result["end_to_end"][count]):
            assert set(figures) == FIGURES
            assert 0 < figures["min_us"] <= figures["p50_us"] <= figures["p99_us"]
        assert process["speedup_p50"] == round(process["sm_general"]["p50_us"] / process["sm"]["p50_us"], 2)
        assert process["speedup_min"] == round(process["sm_general"]["min_us"] / process["sm"]["min_us"], 2)
