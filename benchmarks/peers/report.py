"""Markdown tables of a comparison's figures (``OUT/summary.md``, pasted into
``docs/benchmarks.md``): medians with their spread over the repetitions, and ratios ours /
pysoem (below 1 is better for times, above 1 for rates)."""

from __future__ import annotations

from typing import Any, Optional

from .aggregate import PERCENTILE_KEYS

_NAMES = {"p50_us": "p50", "p99_us": "p99", "p999_us": "p99.9", "max_us": "max"}


def _value(entry: Optional[dict], digits: int = 0) -> str:
    if not entry:
        return "-"
    if entry["min"] == entry["max"]:
        return f"{entry['median']:.{digits}f}"
    return f"{entry['median']:.{digits}f} ({entry['min']:.{digits}f}-{entry['max']:.{digits}f})"


def _ratio(figure: dict) -> str:
    ratio = figure.get("ratio")
    if ratio is None:
        return "-"
    paired = figure.get("paired_ratio")
    if paired and paired["min"] != paired["max"]:
        return f"**{ratio:.2f}** ({paired['min']:.2f}-{paired['max']:.2f})"
    return f"**{ratio:.2f}**"


def _row(label: str, figure: dict, digits: int = 0) -> str:
    return f"| {label} | {_value(figure['ours'], digits)} | {_value(figure['soem'], digits)} | {_ratio(figure)} |"


def render(result: dict[str, Any]) -> str:
    """The summary of ``result`` (compare.py's results.json) as markdown."""
    figures = result["figures"]
    machine = result["machine"]
    lines = [f"Machine: {machine['cpu']}, nproc {machine['nproc']}, kernel {machine['kernel']}, "
             f"Python {machine['python']}, pysoem {machine['pysoem']}; {machine['date_utc']}; load average "
             f"{machine['load_average_at_start']} at the start, {result.get('load_average_at_end')} at the end.",
             f"Command: `{result['command']}`. Repetitions per master: {result['settings']['repeats']}; "
             "values are medians (min-max over the repetitions); ratios are ours / pysoem of the medians "
             "(min-max of the paired per-repetition ratios).", ""]
    header = "| figure | ethercat_master | pysoem | ratio |\n|---|---|---|---|"
    for size, cyclic in sorted(figures["cyclic"].items(), key=lambda item: int(item[0])):
        lines += [f"#### Cyclic, {size} slaves, 1 kHz", "", header]
        for quantity, label in (("round_trip", "round trip"), ("period_jitter", "period jitter")):
            for key in PERCENTILE_KEYS:
                lines.append(_row(f"{label} {_NAMES[key]} (us)", cyclic[quantity][key], 1))
        lines.append(_row("overruns", cyclic["overruns"]))
        lines.append(_row("failed exchanges (lost or WKC)", cyclic["failed_exchanges"]))
        lines.append(_row("CPU per cycle (us, incl. 100 us spin)", cyclic["cpu_per_cycle_us"], 1))
        lines.append(_row("fastest sustained period (us)", cyclic["fastest_sustained_period_us"]))
        lines.append(_row("start-up to OP (s)", cyclic["startup_s"], 3))
        lines.append(_row("simulator CPU share", cyclic["simulator_cpu_share"], 2))
        lines.append("")
    sdo = figures["sdo"]
    lines += [f"#### Mailbox (SDO uploads per second, {result['settings']['sdo_slaves']} EL3102)", "", header]
    for case in ("expedited", "segmented"):
        for scope in ("single", "parallel"):
            label = f"{case}, {'one slave' if scope == 'single' else 'all slaves'}"
            lines.append(_row(label, sdo[case][scope]))
    lines.append(_row("simulator CPU share", sdo["simulator_cpu_share"], 2))
    memory = figures["memory"]
    lines += ["", f"#### Memory ({memory['slaves']} slaves, OP, cycling)", "", header,
              _row("resident size (KiB)", memory["rss_kib"]), "", "#### Goals", "",
              "| goal | ratio | limit | met |", "|---|---|---|---|"]
    for goal in figures["goals"]:
        state = "yes" if goal["met"] else (f"no, missed by {goal['missed_by'] * 100:.0f} %"
                                           if goal["met"] is not None else "-")
        paired = goal["paired_ratio"]
        spread = f" ({paired['min']:.2f}-{paired['max']:.2f})" if paired and paired["min"] != paired["max"] else ""
        lines.append(f"| {goal['name']} | {goal['ratio']}{spread} | {goal['rule']} {goal['limit']} | {state} |")
    return "\n".join(lines) + "\n"
