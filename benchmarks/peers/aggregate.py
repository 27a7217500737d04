"""Figures over repeated runs: per master the median with its spread (min, max), the ratio of
our median to pysoem's, and the paired ratios of the runs (runs alternate the two masters, so
run k of each met the same machine conditions); and the goals of the issue judged on them."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

MASTERS = ("ours", "soem")
#: Percentile keys of a distribution (peers.common.distribution_us).
PERCENTILE_KEYS = ("p50_us", "p99_us", "p999_us", "max_us")


def spread(values: Sequence[Optional[float]]) -> Optional[dict[str, Any]]:
    """Median, min, max and the values themselves (None entries dropped; None when empty)."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    return {"median": round(statistics.median(present), 4), "min": round(min(present), 4),
            "max": round(max(present), 4), "runs": [round(v, 4) for v in present]}


def compare(ours: Sequence[Optional[float]], soem: Sequence[Optional[float]]) -> dict[str, Any]:
    """Both spreads, the ratio of medians (ours / pysoem) and the paired ratios' spread."""
    a, b = spread(ours), spread(soem)
    ratio = None if a is None or b is None or not b["median"] else round(a["median"] / b["median"], 3)
    paired = [x / y for x, y in zip(ours, soem) if x is not None and y]
    return {"ours": a, "soem": b, "ratio": ratio, "paired_ratio": spread(paired)}


def window_at(run: dict[str, Any], period_us: int) -> Optional[dict[str, Any]]:
    """A cyclic run's window at ``period_us`` (None when it has none)."""
    return next((w for w in run["windows"] if w["period_us"] == period_us), None)


def fastest_sustained(run: dict[str, Any], is_sustained: Callable[[dict], bool]) -> Optional[int]:
    """The shortest period a cyclic run sustained (None when none was)."""
    periods = [w["period_us"] for w in run["windows"] if is_sustained(w)]
    return min(periods) if periods else None


def cyclic_figures(runs: dict[str, list[dict]], period_us: int, is_sustained: Callable[[dict], bool]) -> dict:
    """The cyclic figures of one chain size from both masters' runs."""
    windows = {m: [window_at(r, period_us) for r in runs[m]] for m in MASTERS}

    def series(master: str, pick: Callable[[dict], Optional[float]]) -> list[Optional[float]]:
        return [None if w is None else pick(w) for w in windows[master]]

    def both(pick: Callable[[dict], Optional[float]]) -> dict[str, Any]:
        return compare(series("ours", pick), series("soem", pick))

    figures: dict[str, Any] = {"period_us": period_us}
    for quantity in ("round_trip", "period_jitter"):
        figures[quantity] = {key: both(lambda w, q=quantity, k=key: w[q][k]) for key in PERCENTILE_KEYS}
    figures["overruns"] = both(lambda w: w["overruns"])
    figures["failed_exchanges"] = both(lambda w: w["failed"])
    figures["cycles"] = both(lambda w: w["cycles"])
    figures["cpu_per_cycle_us"] = both(lambda w: w["cpu_per_cycle_us"])
    figures["fastest_sustained_period_us"] = compare(
        [fastest_sustained(r, is_sustained) for r in runs["ours"]],
        [fastest_sustained(r, is_sustained) for r in runs["soem"]])
    figures["startup_s"] = compare([r["startup_s"] for r in runs["ours"]], [r["startup_s"] for r in runs["soem"]])
    figures["simulator_cpu_share"] = compare([r["simulator"]["cpu_share"] for r in runs["ours"]],
                                             [r["simulator"]["cpu_share"] for r in runs["soem"]])
    figures["memory_rss_kib"] = compare([r["memory"]["rss_kib"] for r in runs["ours"]],
                                        [r["memory"]["rss_kib"] for r in runs["soem"]])
    return figures


def sdo_figures(runs: dict[str, list[dict]]) -> dict[str, Any]:
    """Transactions per second per SDO case, one slave and many."""
    figures: dict[str, Any] = {}
    for case in ("expedited", "segmented"):
        figures[case] = {}
        for scope in ("single", "parallel"):
            figures[case][scope] = compare([r["sdo"][case][scope]["per_second"] for r in runs["ours"]],
                                           [r["sdo"][case][scope]["per_second"] for r in runs["soem"]])
            figures[case][scope]["errors"] = {m: sum(r["sdo"][case][scope]["errors"] for r in runs[m])
                                              for m in MASTERS}
    figures["simulator_cpu_share"] = compare([r["simulator"]["cpu_share"] for r in runs["ours"]],
                                             [r["simulator"]["cpu_share"] for r in runs["soem"]])
    return figures


@dataclass(frozen=True)
class Goal:
    """A goal of the issue: ``ratio`` (ours / pysoem) must be at most or at least ``limit``."""

    name: str
    ratio: Optional[float]
    limit: float
    at_most: bool
    spread: Optional[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with whether it is met and by how much it is missed."""
        met = None if self.ratio is None else (self.ratio <= self.limit if self.at_most else self.ratio >= self.limit)
        if self.ratio is None or met:
            missed_by = None
        elif self.at_most:
            missed_by = round(self.ratio / self.limit - 1, 3)
        else:
            missed_by = round(1 - self.ratio / self.limit, 3)
        return {"name": self.name, "ratio": self.ratio, "limit": self.limit,
                "rule": "at most" if self.at_most else "at least", "met": met, "missed_by": missed_by,
                "paired_ratio": self.spread}


def goals(cyclic: dict[str, Any], sdo: Optional[dict[str, Any]], goal_slaves: int) -> list[dict[str, Any]]:
    """The issue's goals judged on the figures (cyclic ones at ``goal_slaves`` slaves)."""
    result = []
    at = cyclic.get(str(goal_slaves))
    if at is not None:
        for name, figure in (("round trip p50 at 1 kHz", at["round_trip"]["p50_us"]),
                             ("round trip p99 at 1 kHz", at["round_trip"]["p99_us"]),
                             ("period jitter p99.9 at 1 kHz", at["period_jitter"]["p999_us"])):
            result.append(Goal(f"{name}, {goal_slaves} slaves", figure["ratio"], 1.2, True,
                               figure["paired_ratio"]).as_dict())
    for slaves, figures in sorted(cyclic.items(), key=lambda item: int(item[0])):
        figure = figures["startup_s"]
        result.append(Goal(f"start-up to OP, {slaves} slaves", figure["ratio"], 1.0, True,
                           figure["paired_ratio"]).as_dict())
    if sdo is not None:
        for case in ("expedited", "segmented"):
            for scope in ("single", "parallel"):
                figure = sdo[case][scope]
                result.append(Goal(f"SDO {case} uploads per second, {'one slave' if scope == 'single' else 'many slaves'}",
                                   figure["ratio"], 2.0, False, figure["paired_ratio"]).as_dict())
    return result
