#!/usr/bin/env python3
"""Cost of the simulator processing one cyclic frame: ``SlaveChain.process`` for 1, 4, 16 and
64 slaves in a line, and the round trip of the same frame over an ``InProcessLink`` served by a
``ChainServer``.

The slaves are configured through frames, as a master does: station addresses (APWR 0x0010),
SyncManagers 2 (outputs, buffered, watchdog trigger, 0x1100) and 3 (inputs, buffered, 0x1180),
FMMU 0 (write) and FMMU 1 (read) mapping 4 output and 4 input bytes per slave into one logical
image (outputs first, then inputs, as SOEM lays it out), distributed clocks (receive times
latched, delays and offsets written, the loop filters reset, SYNC0 activated with a 1 ms cycle;
``--no-sync0`` leaves the cyclic unit off) and AL state OP. The cyclic frame is one LRW over
the image plus one FRMW of the reference clock's system time (0x0910) from the first slave:
expected working counters 3 per slave and 1 per slave. The ``no_sm`` variant maps the same
FMMUs onto plain RAM without SyncManagers; the ``sm_general`` variant is ``sm`` with the chain's
batched ways off (``SlaveChain.fast_paths = False``: every datagram through each slave's
``Esc.execute``, the reference the batched ways are tested against); ``speedup_p50`` and
``speedup_min`` are its p50 and min over those of ``sm`` (the min ratio is the one other load
on the machine disturbs least).

Per frame the simulation time advances by 1 ms (the chain runs on a ``ManualTime``), the frame
is copied from its template into a reused buffer, and only ``chain.process`` is timed with
``time.perf_counter_ns``. The end-to-end figure is ``send`` + ``recv`` on the master's end of the
link (the server thread runs on the wall clock). Prints JSON with min, p50, p99 and mean in
microseconds.

    python benchmarks/bench_sim.py [--frames 20000] [--counts 1,4,16,64] [--e2e-frames N] [--no-sync0]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import struct
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from ethercat_master.protocol.al_status import ALState  # noqa: E402
from ethercat_master.protocol.datagram import Command, Datagram, position_address, station_address  # noqa: E402
from ethercat_master.protocol.frame import Frame  # noqa: E402
from ethercat_master.protocol.registers import (  # noqa: E402
    DcActivation,
    FmmuEntry,
    Register,
    SmActivate,
    SmControl,
    SmDirection,
    SmMode,
    SyncManagerChannel,
    fmmu_address,
    sync_manager_address,
)
from ethercat_master.sim import ChainServer, Esc, SlaveChain  # noqa: E402
from ethercat_master.sim.dc import ManualTime  # noqa: E402
from ethercat_master.transport.inprocess import InProcessLink  # noqa: E402

FIRST_STATION = 0x1001
OUTPUT_BYTES = INPUT_BYTES = 4
SM2_START, SM3_START = 0x1100, 0x1180
CYCLE_NS = 1_000_000
WARMUP = 200
U16, U32, U64 = struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<Q")


# --------------------------------------------------------------------------- configuring
def _run(chain: SlaveChain, *datagrams: Datagram) -> tuple[Datagram, ...]:
    reply = chain.process(Frame(datagrams).encode())
    if reply is None:
        raise RuntimeError("a configuration frame did not come back")
    return Frame.decode(reply).datagrams


def _check(replies: tuple[Datagram, ...], wkc: int, what: str) -> None:
    got = [d.wkc for d in replies]
    if any(w != wkc for w in got):
        raise RuntimeError(f"{what}: working counters {got}, expected {wkc} each")


def _station(i: int) -> int:
    return FIRST_STATION + i


def _fpwr(i: int, register: int, data: bytes) -> Datagram:
    return Datagram(Command.FPWR, 0, station_address(_station(i), register), data)


def _fprd(i: int, register: int, length: int) -> Datagram:
    return Datagram(Command.FPRD, 0, station_address(_station(i), register), bytes(length))


def configure(chain: SlaveChain, *, sync_managers: bool, sync0: bool = True) -> None:
    """Configure every slave of ``chain`` as a master would (see the module notes)."""
    count = len(chain)
    _check(_run(chain, *(Datagram(Command.APWR, 0, position_address(i, Register.CONFIGURED_STATION_ADDRESS),
                                  U16.pack(_station(i))) for i in range(count))), 1, "station addresses")
    for i in range(count):
        datagrams = []
        if sync_managers:
            outputs = SyncManagerChannel(SM2_START, OUTPUT_BYTES, SmControl(SmMode.BUFFERED, SmDirection.WRITE,
                                                                           watchdog=True), activate=SmActivate.ENABLE)
            inputs = SyncManagerChannel(SM3_START, INPUT_BYTES, SmControl(SmMode.BUFFERED, SmDirection.READ),
                                        activate=SmActivate.ENABLE)
            datagrams += [_fpwr(i, sync_manager_address(2), outputs.encode()),
                          _fpwr(i, sync_manager_address(3), inputs.encode())]
        write = FmmuEntry(logical_start=i * OUTPUT_BYTES, length=OUTPUT_BYTES, physical_start=SM2_START,
                          write=True, active=True)
        read = FmmuEntry(logical_start=count * OUTPUT_BYTES + i * INPUT_BYTES, length=INPUT_BYTES,
                         physical_start=SM3_START, read=True, active=True)
        datagrams += [_fpwr(i, fmmu_address(0), write.encode()), _fpwr(i, fmmu_address(1), read.encode())]
        _check(_run(chain, *datagrams), 1, f"SyncManagers and FMMUs of slave {i}")
    _configure_dc(chain, sync0=sync0)
    for state in (ALState.PREOP, ALState.SAFEOP, ALState.OP):
        _check(_run(chain, Datagram(Command.BWR, 0, Register.AL_CONTROL << 16, U16.pack(state))), count, "AL control")
        (status,) = _run(chain, Datagram(Command.BRD, 0, Register.AL_STATUS << 16, bytes(2)))
        if U16.unpack(status.data)[0] != state:
            raise RuntimeError(f"slaves did not reach {state.name}: AL status 0x{U16.unpack(status.data)[0]:04X}")


def _configure_dc(chain: SlaveChain, *, sync0: bool) -> None:
    """Latch receive times, write delays and offsets (the line's round trips, as SOEM's
    ``ecx_configdc``), reset the loop filters and start SYNC0 with a 1 ms cycle."""
    count = len(chain)
    _check(_run(chain, Datagram(Command.BWR, 0, Register.DC_RECEIVE_TIME_PORT0 << 16, bytes(4))), count, "latch")
    ports, units = [], []
    for i in range(count):
        times, unit = _run(chain, _fprd(i, Register.DC_RECEIVE_TIME_PORT0, 16),
                           _fprd(i, Register.DC_RECEIVE_TIME_PROCESSING_UNIT, 8))
        ports.append(struct.unpack("<4I", times.data))
        units.append(U64.unpack(unit.data)[0])
    behind = [((p[1] - p[0]) & 0xFFFF_FFFF) if i < count - 1 else 0 for i, p in enumerate(ports)]
    delays = [0]
    for i in range(1, count):
        delays.append(delays[-1] + (behind[i - 1] - behind[i]) // 2)
    master_time = units[0]
    for i in range(count):
        offset = (master_time - units[i]) & (2**64 - 1)
        _check(_run(chain, _fpwr(i, Register.DC_SYSTEM_TIME_OFFSET, U64.pack(offset)),
                    _fpwr(i, Register.DC_SYSTEM_TIME_DELAY, U32.pack(delays[i]))), 1, "DC offset and delay")
    _check(_run(chain, Datagram(Command.BWR, 0, Register.DC_SPEED_COUNTER_START << 16, U16.pack(0x1000))),
           count, "speed counter start")
    if not sync0:
        return
    (now,) = _run(chain, _fprd(0, Register.DC_SYSTEM_TIME, 8))
    start = (U64.unpack(now.data)[0] // CYCLE_NS + 10) * CYCLE_NS
    sync0 = bytes((int(DcActivation.CYCLIC_OPERATION | DcActivation.SYNC0),))
    for i in range(count):
        _check(_run(chain, _fpwr(i, Register.DC_SYNC0_CYCLE_TIME, U32.pack(CYCLE_NS)),
                    _fpwr(i, Register.DC_START_TIME_CYCLIC, U64.pack(start))), 1, "SYNC0 timing")
        _check(_run(chain, _fpwr(i, Register.DC_ACTIVATION, sync0)), 1, "SYNC0 activation")


def cyclic_frame(count: int) -> tuple[bytes, tuple[int, int]]:
    """The cyclic payload (LRW over the image + FRMW of 0x0910) and its expected working counters."""
    image = bytes(range(256)) * ((count * (OUTPUT_BYTES + INPUT_BYTES)) // 256 + 1)
    lrw = Datagram(Command.LRW, 1, 0, image[:count * (OUTPUT_BYTES + INPUT_BYTES)])
    frmw = Datagram(Command.FRMW, 2, station_address(FIRST_STATION, Register.DC_SYSTEM_TIME), bytes(8))
    return Frame([lrw, frmw]).encode(), (3 * count, count)


def build(count: int, *, sync_managers: bool, sync0: bool = True, time_source=None,
          fast_paths: bool = True) -> tuple[SlaveChain, bytes, tuple[int, int]]:
    chain = SlaveChain([Esc(name=f"slave{i}") for i in range(count)], time_source=time_source)
    chain.fast_paths = fast_paths
    configure(chain, sync_managers=sync_managers, sync0=sync0)
    template, expected = cyclic_frame(count)
    return chain, template, expected


def _wkcs(reply) -> tuple[int, int]:
    return tuple(d.wkc for d in Frame.decode(bytes(reply)).datagrams)  # type: ignore[return-value]


# ------------------------------------------------------------------------------ measuring
def _figures(samples_ns: list[int]) -> dict:
    a = np.asarray(samples_ns, dtype=np.float64) / 1e3
    return {"min_us": round(float(a.min()), 2), "p50_us": round(float(np.percentile(a, 50)), 2),
            "p99_us": round(float(np.percentile(a, 99)), 2), "mean_us": round(float(a.mean()), 2)}


def bench_process(count: int, frames: int, *, sync_managers: bool, sync0: bool = True,
                  fast_paths: bool = True) -> dict:
    clock = ManualTime(10**12)
    chain, template, expected = build(count, sync_managers=sync_managers, sync0=sync0, time_source=clock,
                                      fast_paths=fast_paths)
    buffer = bytearray(template)
    process, advance, timer = chain.process, clock.advance, time.perf_counter_ns
    samples = [0] * frames
    for i in range(WARMUP + frames):
        advance(CYCLE_NS)
        buffer[:] = template
        t0 = timer()
        reply = process(buffer)
        t1 = timer()
        if i >= WARMUP:
            samples[i - WARMUP] = t1 - t0
        elif reply is None or _wkcs(reply) != expected:
            raise RuntimeError(f"{count} slaves: reply {reply!r}, expected working counters {expected}")
    if _wkcs(reply) != expected:
        raise RuntimeError(f"{count} slaves: working counters {_wkcs(reply)} at the end, expected {expected}")
    return _figures(samples)


def bench_end_to_end(count: int, frames: int, *, sync0: bool = True) -> dict:
    chain, template, expected = build(count, sync_managers=True, sync0=sync0)
    master, sim_end = InProcessLink.pair("bench")
    samples = [0] * frames
    timer = time.perf_counter_ns
    try:
        with ChainServer(chain, sim_end, poll_interval=0.05):
            for i in range(WARMUP + frames):
                t0 = timer()
                master.send(template)
                reply = master.recv(timeout=1.0)
                t1 = timer()
                if reply is None:
                    raise RuntimeError(f"{count} slaves: no reply over the in-process link")
                if i >= WARMUP:
                    samples[i - WARMUP] = t1 - t0
                elif _wkcs(reply) != expected:
                    raise RuntimeError(f"{count} slaves: working counters {_wkcs(reply)}, expected {expected}")
    finally:
        master.close()
        sim_end.close()
    return _figures(samples)


def machine() -> dict:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    return {"python": platform.python_version(), "implementation": platform.python_implementation(),
            "platform": platform.platform(), "cpu": model, "cpu_count": os.cpu_count(),
            "load_average": [round(x, 2) for x in os.getloadavg()]}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=20000, help="timed frames per case (after %d warm-up)" % WARMUP)
    p.add_argument("--e2e-frames", type=int, default=None, help="timed round trips per case (default: --frames / 4)")
    p.add_argument("--counts", default="1,4,16,64", help="slave counts, comma-separated")
    p.add_argument("--no-sync0", dest="sync0", action="store_false",
                   help="leave the DC cyclic unit off (the drift compensation still runs)")
    args = p.parse_args(argv)
    counts = [int(c) for c in args.counts.split(",") if c]
    e2e_frames = args.e2e_frames if args.e2e_frames is not None else max(1, args.frames // 4)
    result = {
        "benchmark": "simulator cyclic frame: LRW (4 B out + 4 B in per slave via FMMUs) + FRMW 0x0910",
        "frames": args.frames,
        "e2e_frames": e2e_frames,
        "sync0": args.sync0,
        "machine": machine(),
        "process": {},
        "end_to_end": {},
    }
    gc.collect()
    for count in counts:
        figures = {
            "sm": bench_process(count, args.frames, sync_managers=True, sync0=args.sync0),
            "no_sm": bench_process(count, args.frames, sync_managers=False, sync0=args.sync0),
            "sm_general": bench_process(count, args.frames, sync_managers=True, sync0=args.sync0, fast_paths=False),
        }
        figures["speedup_p50"] = round(figures["sm_general"]["p50_us"] / figures["sm"]["p50_us"], 2)
        figures["speedup_min"] = round(figures["sm_general"]["min_us"] / figures["sm"]["min_us"], 2)
        result["process"][str(count)] = figures
    for count in counts:
        result["end_to_end"][str(count)] = bench_end_to_end(count, e2e_frames, sync0=args.sync0)
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
