#!/usr/bin/env python3
"""Cost of encoding and decoding one cyclic frame: one LRW of 1 KiB plus one FRMW (8 bytes,
the DC reference clock's system time), on the two paths the project has:

- ``builder``: the cyclic path. The frame is laid out once in a preallocated buffer; per cycle
  the outputs are copied into the LRW's data view, the working counters reset, and the reply is
  checked in place (command, index, length) with the working counter and inputs read from it.
- ``codec``: the general path. ``Frame([...]).encode()`` and ``Frame.decode(reply)`` build and
  parse dataclasses (used for acyclic traffic, tools and tests).

Prints JSON: per path, microseconds per encode and per decode (p50, p99, mean) over N
iterations, measured in batches of 100 with ``time.perf_counter_ns``.

    python benchmarks/bench_codec.py [--iterations 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ethercat_master.protocol.datagram import Command, Datagram, station_address  # noqa: E402
from ethercat_master.protocol.frame import Frame, FrameBuilder  # noqa: E402

LRW_BYTES = 1024
DC_SYSTEM_TIME = 0x0910
BATCH = 100


def _percentiles(samples_ns: list[float]) -> dict:
    a = np.asarray(samples_ns) / 1e3
    return {"p50_us": round(float(np.percentile(a, 50)), 3), "p99_us": round(float(np.percentile(a, 99)), 3),
            "mean_us": round(float(a.mean()), 3)}


def _time(fn, iterations: int) -> dict:
    per_call = []
    for _ in range(iterations // BATCH):
        t0 = time.perf_counter_ns()
        for _ in range(BATCH):
            fn()
        per_call.append((time.perf_counter_ns() - t0) / BATCH)
    return _percentiles(per_call)


def bench_builder(iterations: int) -> dict:
    outputs = np.arange(LRW_BYTES, dtype=np.uint16).astype(np.uint8)
    b = FrameBuilder()
    lrw = b.add(Command.LRW, 0x00010000, LRW_BYTES, index=1)
    frmw = b.add(Command.FRMW, station_address(0x1001, DC_SYSTEM_TIME), 8, index=2)
    out_view = np.frombuffer(lrw.data, dtype=np.uint8)
    inputs = np.zeros(LRW_BYTES, dtype=np.uint8)
    reply = bytes(b.payload())

    def encode():
        out_view[:] = outputs
        lrw.wkc = 0
        frmw.wkc = 0
        return b.payload()

    def decode():
        wkc = lrw.reply_wkc(reply) + frmw.reply_wkc(reply)
        inputs[:] = np.frombuffer(lrw.reply_data(reply), dtype=np.uint8)
        return wkc

    return {"encode": _time(encode, iterations), "decode": _time(decode, iterations)}


def bench_codec(iterations: int) -> dict:
    outputs = bytes(range(256)) * (LRW_BYTES // 256)
    frmw_address = station_address(0x1001, DC_SYSTEM_TIME)

    def encode():
        return Frame([Datagram(Command.LRW, 1, 0x00010000, outputs),
                      Datagram(Command.FRMW, 2, frmw_address, bytes(8))]).encode()

    reply = encode()
    return {"encode": _time(encode, iterations), "decode": _time(lambda: Frame.decode(reply), iterations)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--iterations", type=int, default=20000)
    args = p.parse_args()
    result = {
        "benchmark": "cyclic frame codec: LRW 1 KiB + FRMW 8 B",
        "iterations": args.iterations,
        "machine": {"python": platform.python_version(), "cpu_count": os.cpu_count(),
                    "platform": platform.platform()},
        "builder": bench_builder(args.iterations),
        "codec": bench_codec(args.iterations),
    }
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
