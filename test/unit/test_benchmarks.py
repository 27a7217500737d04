"""The benchmarks run and print the JSON they promise (figures are reported, never asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_codec_benchmark_prints_percentiles_for_both_paths():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "bench_codec.py"),
                          "--iterations", "300"], capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    assert result["iterations"] == 300
    for path in ("builder", "codec"):
        for op in ("encode", "decode"):
            figures = result[path][op]
            assert set(figures) == {"p50_us", "p99_us", "mean_us"}
            assert 0 < figures["p50_us"] <= figures["p99_us"]
