"""The command line both peers accept (``python benchmarks/peers/ours.py ...`` and
``python benchmarks/peers/soem.py ...``), so the orchestrator drives them alike.

Tasks:

``cyclic``
    Open the link, bring every slave to OP (timed: ``startup_s``, link opened to all in OP,
    cycling at the first period), then one measurement window per period of ``--periods-us``
    (``--warmup`` cycles, then ``--cycles`` recorded), stopping at the first period the master
    does not sustain (more than :data:`SUSTAIN_LIMIT` of its cycles overran or failed). Reports
    per window: round trip and period jitter (common.CycleRecord), overruns, skipped deadlines,
    CPU time per cycle; and the resident size after the windows.
``sdo``
    Open the link and bring every slave to PRE-OP (timed: ``preop_s``), then for
    ``--sdo-seconds`` each: expedited uploads of 0x1018:01 and segmented uploads of 0x1008 from
    the first slave, and the same from every slave at once (one thread per slave, each
    transferring back to back). Reports transactions per second and errors.
"""

from __future__ import annotations

import argparse
from typing import Iterator, Optional, Sequence

#: A period is sustained when at most this fraction of its cycles overran or failed.
SUSTAIN_LIMIT = 0.001
#: What a peer can be asked to do (module documentation). Peers never change their own
#: scheduling: the orchestrator starts both under the same ``chrt``.
TASKS = ("cyclic", "sdo")


def parse(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """The peers' arguments."""
    parser = argparse.ArgumentParser(description="One benchmark peer: a master driving the simulator.")
    parser.add_argument("--interface", required=True, help="the veth end in this namespace")
    parser.add_argument("--task", required=True, choices=TASKS)
    parser.add_argument("--slaves", type=int, required=True, help="slaves expected on the wire")
    parser.add_argument("--periods-us", default="1000",
                        help="cycle periods to measure, comma-separated, in order (cyclic)")
    parser.add_argument("--cycles", type=int, default=5000, help="cycles recorded per period (cyclic)")
    parser.add_argument("--window-seconds", type=float, default=5.0,
                        help="a window records fewer than --cycles when they would take longer (cyclic)")
    parser.add_argument("--warmup", type=int, default=500, help="cycles before recording (cyclic)")
    parser.add_argument("--spin-us", type=int, default=100, help="busy-wait before each deadline")
    parser.add_argument("--busy-poll-us", type=int, default=0,
                        help="our master only: the raw link's busy_poll in microseconds (SOEM always polls)")
    parser.add_argument("--sdo-seconds", type=float, default=2.0, help="seconds per SDO case (sdo)")
    args = parser.parse_args(argv)
    args.periods_us = [int(p) for p in args.periods_us.split(",") if p]
    return args


def window_cycles(args: argparse.Namespace, period_us: int) -> int:
    """Cycles recorded at ``period_us``: ``--cycles``, fewer when they would take longer than
    ``--window-seconds`` (the long periods tried when the first is not sustained)."""
    return max(1, min(args.cycles, int(args.window_seconds * 1e6 / period_us)))


def sustained(window: dict) -> bool:
    """Whether a cyclic window's overruns and failed exchanges stay within the limit."""
    cycles = max(1, window["cycles"])
    return window["overruns"] <= SUSTAIN_LIMIT * cycles and window["failed"] <= SUSTAIN_LIMIT * cycles


#: When the first period is not sustained, longer ones are tried, doubling up to this.
LONGEST_PERIOD_US = 16_000


def plan(periods_us: Sequence[int], windows: list) -> Iterator[int]:
    """The periods to measure: ``periods_us`` in order while each is sustained; when the first
    is not, doubled periods until one is (or :data:`LONGEST_PERIOD_US` is passed).
    ``windows`` is the caller's list of measured windows, appended to after each period."""
    for k, period in enumerate(periods_us):
        yield period
        if not sustained(windows[-1]):
            if k == 0:
                longer = period * 2
                while longer <= LONGEST_PERIOD_US:
                    yield longer
                    if sustained(windows[-1]):
                        break
                    longer *= 2
            return
