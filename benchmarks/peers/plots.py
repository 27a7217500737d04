"""PNG plots of the comparison (matplotlib, no display needed): every plot shows both masters
from the same run, ours solid and pysoem dashed, medians over the repetitions with the
spread as error bars."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABELS = {"ours": "ethercat_master", "soem": "pysoem (SOEM)"}
STYLES = {"ours": {"linestyle": "-", "marker": "o"}, "soem": {"linestyle": "--", "marker": "s"}}
COLOURS = {"p50_us": "tab:blue", "p99_us": "tab:orange", "p999_us": "tab:red", "max_us": "tab:gray"}
BAR_COLOURS = {"ours": "tab:blue", "soem": "tab:orange"}
DPI = 110


def _errors(entries: list[Optional[dict]]) -> tuple[list[float], list[list[float]]]:
    medians = [e["median"] if e else float("nan") for e in entries]
    low = [e["median"] - e["min"] if e else 0.0 for e in entries]
    high = [e["max"] - e["median"] if e else 0.0 for e in entries]
    return medians, [low, high]


def _save(figure, path: Path) -> Path:
    figure.tight_layout()
    figure.savefig(path, dpi=DPI)
    plt.close(figure)
    return path


def distribution_plot(cyclic: dict[str, Any], quantity: str, title: str, path: Path) -> Path:
    """Percentiles of ``quantity`` (round_trip or period_jitter) at 1 kHz against chain size."""
    sizes = sorted(cyclic, key=int)
    x = [int(s) for s in sizes]
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for key, colour in COLOURS.items():
        for master in ("ours", "soem"):
            medians, errors = _errors([cyclic[s][quantity][key][master] for s in sizes])
            axes.errorbar(x, medians, yerr=errors, color=colour, capsize=3, **STYLES[master],
                          label=f"{key[:-3].replace('p999', 'p99.9')} {LABELS[master]}")
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xticks(x, [str(v) for v in x])
    axes.set_xlabel("slaves in the chain")
    axes.set_ylabel("microseconds")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, ncol=2)
    return _save(figure, path)


def _bars(groups: list[str], entries: dict[str, list[Optional[dict]]], ylabel: str, title: str, path: Path,
          log: bool = False) -> Path:
    figure, axes = plt.subplots(figsize=(7, 4.2))
    width = 0.38
    for k, master in enumerate(("ours", "soem")):
        medians, errors = _errors(entries[master])
        positions = [i + (k - 0.5) * width for i in range(len(groups))]
        axes.bar(positions, medians, width, yerr=errors, capsize=3, color=BAR_COLOURS[master], label=LABELS[master])
    axes.set_xticks(range(len(groups)), groups)
    axes.set_ylabel(ylabel)
    axes.set_title(title)
    if log:
        axes.set_yscale("log")
    axes.grid(True, axis="y", alpha=0.3)
    axes.legend()
    return _save(figure, path)


def plot_all(figures: dict[str, Any], directory: Path) -> list[Path]:
    """Write every plot of ``figures`` (compare.py's ``figures`` section) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    cyclic = figures.get("cyclic") or {}
    if cyclic:
        sizes = sorted(cyclic, key=int)
        written.append(distribution_plot(cyclic, "round_trip", "Process data round trip at 1 kHz",
                                         directory / "cyclic_round_trip.png"))
        written.append(distribution_plot(cyclic, "period_jitter", "Cycle period jitter at 1 kHz",
                                         directory / "cyclic_jitter.png"))
        written.append(_bars(sizes, {m: [cyclic[s]["fastest_sustained_period_us"][m] for s in sizes]
                                     for m in ("ours", "soem")},
                             "microseconds", "Fastest sustained cycle period (lower is better)",
                             directory / "fastest_period.png"))
        written.append(_bars(sizes, {m: [cyclic[s]["startup_s"][m] for s in sizes] for m in ("ours", "soem")},
                             "seconds", "Start-up: link opened to all slaves in OP", directory / "startup.png"))
        written.append(_bars(sizes, {m: [cyclic[s]["cpu_per_cycle_us"][m] for s in sizes]
                                     for m in ("ours", "soem")},
                             "microseconds", "CPU time per cycle at 1 kHz (incl. 100 us spin)",
                             directory / "cpu_per_cycle.png"))
    sdo = figures.get("sdo")
    if sdo:
        groups = [f"{case}\n{'one slave' if scope == 'single' else 'many slaves'}"
                  for case in ("expedited", "segmented") for scope in ("single", "parallel")]
        written.append(_bars(groups, {m: [sdo[case][scope][m] for case in ("expedited", "segmented")
                                          for scope in ("single", "parallel")] for m in ("ours", "soem")},
                             "SDO uploads per second", "Mailbox: SDO transactions per second", directory / "sdo.png"))
    memory = figures.get("memory")
    if memory:
        written.append(_bars([f"{memory['slaves']} slaves, OP, cycling"],
                             {m: [None if memory["rss_kib"][m] is None else
                                  {k: memory["rss_kib"][m][k] / 1024 for k in ("median", "min", "max")}]
                              for m in ("ours", "soem")},
                             "MiB resident", "Memory: resident size of the master process", directory / "memory.png"))
    return written
