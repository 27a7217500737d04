"""The chain's batched ways (an LRW through every slave, an FRMW of the system time 0x0910, the
frame end) and the SyncManagers' whole-buffer accessors give exactly what the general way gives:
the same replies, the same memory, SyncManager, watchdog and DC state, frame after frame.

Two chains are built alike (same slaves, clocks and simulation time); one processes with
``fast_paths`` on, the other with it off (every datagram through each slave's ``Esc.execute``).
Hypothesis draws the chains (SyncManagers or plain RAM, bit-wise FMMUs, watchdog, DC or not,
aliases) and the traffic (LRW/LRD/LWR over all or part of the image, FRMW of 0x0910 of every
length and addressing, reads and writes of DC, SyncManager, FMMU and AL registers, PDI
accesses, time steps, hooks added mid-run), so the fast ways cannot drift from the ESC model
unnoticed.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, is_dataclass
from typing import Optional

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ethercat_master.protocol.al_status import ALState
from ethercat_master.protocol.datagram import Command, Datagram, position_address, station_address
from ethercat_master.protocol.frame import Frame
from ethercat_master.protocol.registers import (
    DcActivation,
    EscFeature,
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
from ethercat_master.sim import Esc, SlaveChain
from ethercat_master.sim.dc import DatagramContext, ManualTime
from ethercat_master.sim.sync_manager import SyncManager

FIRST_STATION = 0x1001
OUTPUTS, INPUTS = 0x1100, 0x1180
U16, U32, U64 = struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<Q")
DC_LO, DC_HI = 0x0900, 0x09A8
CYCLE_NS = 1_000_000


# ---------------------------------------------------------------------------- the chains
@dataclass(frozen=True)
class SlaveSetup:
    """How one slave of a drawn chain is configured."""

    out_len: int
    in_len: int
    sync_managers: bool
    watchdog: bool
    bitwise: bool  # the output FMMU maps bits 1..: not the LRW's short way
    dc: bool
    alias: Optional[int]


slave_setups = st.builds(
    SlaveSetup,
    out_len=st.integers(1, 4),
    in_len=st.integers(1, 4),
    sync_managers=st.booleans(),
    watchdog=st.booleans(),
    bitwise=st.sampled_from([False, False, False, True]),
    dc=st.sampled_from([True, True, True, False]),
    alias=st.sampled_from([None, None, 0x0100, 0x0200]),
)


def run(chain: SlaveChain, *datagrams: Datagram) -> Optional[bytes]:
    reply = chain.process(bytearray(Frame(datagrams).encode()))
    return None if reply is None else bytes(reply)


def station(i: int) -> int:
    return FIRST_STATION + i


def fpwr(i: int, register: int, data: bytes) -> Datagram:
    return Datagram(Command.FPWR, 0, station_address(station(i), register), data)


def layout(setups: list[SlaveSetup]) -> tuple[list[int], list[int], int]:
    """Logical start of each slave's outputs and inputs (outputs first, as SOEM lays them out),
    and the image size."""
    outs, ins, at = [], [], 0
    for s in setups:
        outs.append(at)
        at += s.out_len
    for s in setups:
        ins.append(at)
        at += s.in_len
    return outs, ins, at


def build(setups: list[SlaveSetup], *, fast: bool, sync0: bool = False) -> tuple[SlaveChain, ManualTime]:
    """A chain of ``setups`` configured through frames as a master would, in OP; with
    ``fast_paths`` set to ``fast`` (the configuration itself takes the same way either way)."""
    clock = ManualTime(10**12)
    features = EscFeature.DISTRIBUTED_CLOCKS | EscFeature.DC_64BIT
    escs = [Esc(name=f"slave{i}", clock=clock, alias=s.alias or 0,
                features=features if s.dc else EscFeature(0)) for i, s in enumerate(setups)]
    chain = SlaveChain(escs, time_source=clock, clock_seed=7)
    chain.fast_paths = fast
    count = len(setups)
    run(chain, *(Datagram(Command.APWR, 0, position_address(i, Register.CONFIGURED_STATION_ADDRESS),
                          U16.pack(station(i))) for i in range(count)))
    outs, ins, _ = layout(setups)
    for i, s in enumerate(setups):
        datagrams = []
        if s.sync_managers:
            sm2 = SyncManagerChannel(OUTPUTS, s.out_len, SmControl(SmMode.BUFFERED, SmDirection.WRITE,
                                                                   watchdog=s.watchdog), activate=SmActivate.ENABLE)
            sm3 = SyncManagerChannel(INPUTS, s.in_len, SmControl(SmMode.BUFFERED, SmDirection.READ),
                                     activate=SmActivate.ENABLE)
            datagrams += [fpwr(i, sync_manager_address(2), sm2.encode()),
                          fpwr(i, sync_manager_address(3), sm3.encode())]
        write = FmmuEntry(logical_start=outs[i], length=s.out_len, physical_start=OUTPUTS, write=True, active=True,
                          logical_start_bit=1 if s.bitwise else 0)
        read = FmmuEntry(logical_start=ins[i], length=s.in_len, physical_start=INPUTS, read=True, active=True)
        datagrams += [fpwr(i, fmmu_address(0), write.encode()), fpwr(i, fmmu_address(1), read.encode())]
        if s.alias is not None:
            datagrams.append(fpwr(i, Register.DL_CONTROL, bytes((0, 0, 0, 1))))  # alias addressing on
        run(chain, *datagrams)
    if any(s.dc for s in setups):
        run(chain, Datagram(Command.BWR, 0, Register.DC_RECEIVE_TIME_PORT0 << 16, bytes(4)))
        run(chain, Datagram(Command.BWR, 0, Register.DC_SPEED_COUNTER_START << 16, U16.pack(0x1000)))
        if sync0:
            start = 10**12 + 20 * CYCLE_NS
            for i, s in enumerate(setups):
                if s.dc:
                    run(chain, fpwr(i, Register.DC_SYNC0_CYCLE_TIME, U32.pack(CYCLE_NS)),
                        fpwr(i, Register.DC_START_TIME_CYCLIC, U64.pack(start)))
                    run(chain, fpwr(i, Register.DC_ACTIVATION,
                                    bytes((int(DcActivation.CYCLIC_OPERATION | DcActivation.SYNC0),))))
    for state in (ALState.PREOP, ALState.SAFEOP, ALState.OP):
        run(chain, Datagram(Command.BWR, 0, Register.AL_CONTROL << 16, U16.pack(state)))
    return chain, clock


def state(chain: SlaveChain) -> list:
    """Everything a frame may change, after the DC units wrote their lazy registers (a PDI read
    of the DC block, which both chains get alike)."""
    snapshot: list = [chain.frames_processed, chain.frames_lost, chain._context.frame]
    for slave, esc in enumerate(chain.escs):
        esc.pdi_read(DC_LO, DC_HI - DC_LO)
        snapshot += [bytes(esc._mem), esc._in_frame, plain_fields(esc.watchdog)]
        snapshot += [plain_fields(sm) for sm in esc.sync_managers]
        dc = chain.dc(slave)
        if dc is not None:  # every plain field of the unit, its clock and its loop (new ones too)
            snapshot += [plain_fields(dc), plain_fields(dc.clock), plain_fields(dc._loop)]
    return snapshot


def plain_fields(obj) -> dict:
    """The attributes of ``obj`` that hold values rather than links to other objects (the DC
    units' shared context is the chain's, compared through the frame counters)."""
    return {name: value for name, value in vars(obj).items()
            if isinstance(value, (int, float, type(None), tuple))
            or (is_dataclass(value) and not isinstance(value, DatagramContext))
            or (isinstance(value, list) and all(isinstance(v, int) for v in value))}


# ---------------------------------------------------------------------------- the traffic
def image_datagram(kind: str, lo: int, hi: int) -> Datagram:
    command = {"lrw": Command.LRW, "lrd": Command.LRD, "lwr": Command.LWR}[kind]
    return Datagram(command, 1, lo, bytes((lo + i * 37) & 0xFF for i in range(hi - lo)))


@st.composite
def traffic(draw, setups: list[SlaveSetup]):
    """One frame's worth of datagrams, the PDI work and time step before it."""
    count = len(setups)
    _, _, size = layout(setups)
    datagrams = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["lrw", "lrw", "lrw", "lrd", "lwr", "frmw", "frmw", "frmw", "fprd", "fpwr",
                                     "brd", "bwr", "armw", "aprd"]))
        target = draw(st.integers(0, count))  # count: nobody
        adp = station(target) if target < count else 0x7777
        if kind in ("lrw", "lrd", "lwr"):
            if draw(st.booleans()):
                lo, hi = 0, size
            else:
                lo = draw(st.integers(0, size - 1))
                hi = draw(st.integers(lo + 1, size + 2))
            datagrams.append(image_datagram(kind, lo, hi))
        elif kind == "frmw":
            length = draw(st.sampled_from([8, 8, 8, 4, 1, 2, 3, 5, 6, 7]))
            register = draw(st.sampled_from([0x0910, 0x0910, 0x0910, 0x0911, 0x090C]))
            if target < count and setups[target].alias is not None and draw(st.booleans()):
                adp = setups[target].alias
            datagrams.append(Datagram(Command.FRMW, 2, station_address(adp, register), bytes(length)))
        elif kind == "fprd":
            register, length = draw(st.sampled_from([
                (0x0910, 8), (0x0900, 16), (0x0918, 8), (0x092C, 4), (0x0930, 6), (0x0990, 8), (0x0984, 12),
                (0x0130, 6), (0x0805 + 8 * 2, 1), (0x0805 + 8 * 3, 1), (0x0440, 4), (OUTPUTS, 4), (INPUTS, 4)]))
            datagrams.append(Datagram(Command.FPRD, 3, station_address(adp, register), bytes(length)))
        elif kind == "fpwr":
            register, data = draw(st.sampled_from([
                (0x0910, U64.pack(10**12)), (0x0910, U32.pack(5)), (0x0900, bytes(4)), (0x0920, U64.pack(123)),
                (0x0928, U32.pack(40)), (0x0930, U16.pack(0x0800)), (0x0934, b"\x02\x03"),
                (sync_manager_address(2) + 6, b"\x00"), (sync_manager_address(2) + 6, b"\x01"),
                (fmmu_address(1) + 12, b"\x00"), (fmmu_address(1) + 12, b"\x01"),
                (Register.AL_CONTROL, U16.pack(ALState.OP | 0x10)), (Register.WATCHDOG_TIME_PROCESS_DATA, U16.pack(3)),
                (INPUTS, b"\x01\x02\x03\x04")]))
            datagrams.append(fpwr(target, register, data) if target < count
                             else Datagram(Command.FPWR, 3, station_address(adp, register), data))
        elif kind == "brd":
            datagrams.append(Datagram(Command.BRD, 4, 0x0910 << 16, bytes(8)))
        elif kind == "bwr":
            datagrams.append(Datagram(Command.BWR, 4, 0x0900 << 16, bytes(4)))
        elif kind == "armw":
            datagrams.append(Datagram(Command.ARMW, 5, position_address(target, 0x0910), bytes(8)))
        else:
            datagrams.append(Datagram(Command.APRD, 5, position_address(target, 0x0910), bytes(8)))
    step = draw(st.sampled_from([CYCLE_NS, CYCLE_NS, 0, 250_000, 60_000_000]))
    pdi = draw(st.lists(st.tuples(st.sampled_from(["outputs", "inputs", "hook"]), st.integers(0, count - 1)),
                        max_size=2))
    return datagrams, step, pdi


@st.composite
def scenarios(draw):
    setups = draw(st.lists(slave_setups, min_size=1, max_size=5))
    frames = draw(st.lists(traffic(setups), min_size=1, max_size=25))
    return setups, draw(st.booleans()), frames


def apply_pdi(chain: SlaveChain, pdi: list[tuple[str, int]], seen: list) -> None:
    for what, slave in pdi:
        esc = chain[slave]
        if what == "outputs":
            seen.append(esc.pdi_read(OUTPUTS, 4))
        elif what == "inputs":
            esc.pdi_write(INPUTS, bytes((slave, 0xA5, 0x5A, len(seen) & 0xFF)))
        else:  # another layer watches 0x0910 from now on: the batched FRMW must run its hook too
            esc.add_write_hook(0x0910, 8, lambda address, length, seen=seen, slave=slave:
                               seen.append((slave, address, length)))


def replay(setups, sync0, frames, *, fast: bool) -> tuple[list, list, list]:
    chain, clock = build(setups, fast=fast, sync0=sync0)
    replies, seen = [], []
    for datagrams, step, pdi in frames:
        clock.advance(step)
        apply_pdi(chain, pdi, seen)
        replies.append(run(chain, *datagrams))
    return replies, seen, state(chain)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios())
def test_fast_and_general_ways_give_identical_replies_and_state(scenario):
    setups, sync0, frames = scenario
    fast = replay(setups, sync0, frames, fast=True)
    general = replay(setups, sync0, frames, fast=False)
    assert fast[0] == general[0]  # replies, frame by frame
    assert fast[1] == general[1]  # what the application and the hooks saw
    assert fast[2] == general[2]  # memory, SyncManagers, watchdog, DC clocks and loops


# -------------------------------------------------------------------- the cyclic frame
def cyclic_frame(setups: list[SlaveSetup]) -> bytes:
    _, _, size = layout(setups)
    frmw = Datagram(Command.FRMW, 2, station_address(FIRST_STATION, Register.DC_SYSTEM_TIME), bytes(8))
    return Frame([image_datagram("lrw", 0, size), frmw]).encode()


BENCH = [SlaveSetup(4, 4, True, True, False, True, None)] * 16


def test_the_benchmark_chain_stays_identical_over_many_cycles_with_sync0():
    frame = cyclic_frame(BENCH)
    results, chains = [], []
    for fast in (True, False):
        chain, clock = build(BENCH, fast=fast, sync0=True)
        replies = []
        for _ in range(300):
            clock.advance(CYCLE_NS)
            replies.append(bytes(chain.process(bytearray(frame))))
        results.append((replies, state(chain)))
        chains.append(chain)
    assert results[0] == results[1]
    replies = [Frame.decode(r).datagrams for r in results[0][0]]
    assert {(lrw.wkc, frmw.wkc) for lrw, frmw in replies} == {(3 * 16, 16)}
    # the time control loops ran on the batched way: every slave behind the reference compared
    assert all(chains[0].dc(i)._loop._last_local is not None for i in range(1, 16))
    assert chains[0].dc(0)._loop._last_local is None


class Counting:
    """Counts calls of ``Esc.execute`` by command while installed."""

    def __init__(self, monkeypatch) -> None:
        self.calls: dict[int, int] = {}
        original = Esc.execute

        def execute(esc, command, *args):
            self.calls[command] = self.calls.get(command, 0) + 1
            return original(esc, command, *args)

        monkeypatch.setattr(Esc, "execute", execute)


def test_the_cyclic_frame_takes_the_batched_ways(monkeypatch):
    """Without this the identity tests could pass with the fast ways never taken."""
    chain, clock = build(BENCH, fast=True)
    frame = cyclic_frame(BENCH)
    counting = Counting(monkeypatch)
    for _ in range(10):
        clock.advance(CYCLE_NS)
        chain.process(bytearray(frame))
    # only the reference clock's read of 0x0910 goes through Esc.execute
    assert counting.calls == {int(Command.FRMW): 10}
    chain.fast_paths = False
    clock.advance(CYCLE_NS)
    chain.process(bytearray(frame))
    assert counting.calls == {int(Command.FRMW): 10 + 16, int(Command.LRW): 16}


def test_a_subclass_overriding_execute_is_never_bypassed():
    class Tracing(Esc):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.seen = 0

        def execute(self, command, adp, address, frame, start, length):
            self.seen += 1
            return super().execute(command, adp, address, frame, start, length)

    clock = ManualTime(10**12)
    chain = SlaveChain([Esc(clock=clock), Tracing(clock=clock)], time_source=clock)
    frame = Frame([Datagram(Command.LRW, 1, 0, bytes(4)),
                   Datagram(Command.FRMW, 2, station_address(0, Register.DC_SYSTEM_TIME), bytes(8))]).encode()
    chain.process(bytearray(frame))
    assert chain[1].seen == 2


def test_a_second_hook_on_the_system_time_takes_the_general_way_and_runs():
    chain, clock = build(BENCH[:3], fast=True)
    written = []
    chain[2].add_write_hook(0x0910, 8, lambda address, length: written.append((address, length)))
    frame = cyclic_frame(BENCH[:3])
    for _ in range(3):
        clock.advance(CYCLE_NS)
        chain.process(bytearray(frame))
    assert written == [(0x0910, 8)] * 3
    assert chain.dc(2)._loop._last_local is not None  # and its DC unit still compared


def test_a_write_mask_change_is_seen_by_the_batched_frmw():
    """A layer closing 0x0910 to ECAT writes (a new epoch) makes the slave keep its register,
    on both ways alike."""
    results = []
    for fast in (True, False):
        chain, clock = build(BENCH[:2], fast=fast)
        frame = cyclic_frame(BENCH[:2])
        chain.process(bytearray(frame))
        chain[1].set_ecat_write_mask(0x0910, bytes(8))
        before = chain[1].pdi_read(0x0910, 8)
        clock.advance(CYCLE_NS)
        reply = bytes(chain.process(bytearray(frame)))
        results.append((reply, before, chain[1].pdi_read(0x0910, 8), state(chain)))
    assert results[0] == results[1]
    reply, before, after, _ = results[0]
    (_, frmw) = Frame.decode(reply).datagrams
    assert frmw.wkc == 2
    # the register shows the slave's own system time view, not the reference's time
    assert after != frmw.data and after != before


def test_watchdog_expiry_is_seen_in_the_batched_frmw_as_in_the_general_way():
    results = []
    setups = BENCH[:3]
    for fast in (True, False):
        chain, clock = build(setups, fast=fast)
        frame = cyclic_frame(setups)
        chain.process(bytearray(frame))
        clock.advance(150_000_000)  # no outputs for 150 ms (default watchdog time 100 ms)
        frmw_only = Frame([Datagram(Command.FRMW, 2, station_address(FIRST_STATION, Register.DC_SYSTEM_TIME),
                                    bytes(8))]).encode()
        reply = bytes(chain.process(bytearray(frmw_only)))
        results.append((reply, [esc.al_state for esc in chain], [esc.al_status_code for esc in chain]))
    assert results[0] == results[1]
    assert results[0][1] == [ALState.SAFEOP] * 3 and results[0][2] == [0x001B] * 3


# ------------------------------------------------------------- SyncManager whole buffers
def sync_manager(direction: SmDirection, length: int) -> tuple[SyncManager, bytearray, list]:
    memory = bytearray(0x2000)
    ended: list = []
    triggers: list = []
    sm = SyncManager(2, memory, 0x2000, lambda: triggers.append(1), ended)
    memory[sync_manager_address(2):sync_manager_address(2) + 8] = SyncManagerChannel(
        OUTPUTS, length, SmControl(SmMode.BUFFERED, direction, watchdog=True), activate=SmActivate.ENABLE).encode()
    assert sm.reconfigure()
    return sm, memory, triggers


sm_operations = st.lists(st.tuples(
    st.sampled_from(["ecat_read", "ecat_write", "pdi_read", "pdi_write", "frame_end"]),
    st.integers(0, 5), st.integers(0, 5), st.binary(min_size=0, max_size=6)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(direction=st.sampled_from([SmDirection.READ, SmDirection.WRITE]), length=st.integers(2, 5),
       operations=sm_operations)
def test_whole_buffer_accessors_equal_read_and_write(direction, length, operations):
    """The accessors an ESC binds for whole-buffer FMMU mappings answer every state the way
    read and write do (including partial accesses in between, from either side)."""
    general, general_memory, general_triggers = sync_manager(direction, length)
    whole, whole_memory, whole_triggers = sync_manager(direction, length)
    read = whole.ecat_reader(OUTPUTS, OUTPUTS + length)
    write = whole.ecat_writer(OUTPUTS, OUTPUTS + length)
    assert (read == whole._read_whole) == (direction == SmDirection.READ)
    assert (write == whole._write_whole) == (direction == SmDirection.WRITE)
    for operation, lo, size, data in operations:
        lo = OUTPUTS + min(lo, length - 1)
        hi = min(lo + max(size, 1), OUTPUTS + length)
        # the ESC calls the bound accessors for the whole area only; partial ECAT accesses of
        # the same channel (another FMMU, a physical command) go through read and write
        if operation == "ecat_read":
            if size % 2:
                answers = (general.read(True, OUTPUTS, OUTPUTS + length), read(True, OUTPUTS, OUTPUTS + length))
            else:
                answers = (general.read(True, lo, hi), whole.read(True, lo, hi))
        elif operation == "ecat_write":
            if size % 2:
                payload = (data * length)[:length] or bytes(length)
                answers = (general.write(True, OUTPUTS, payload), write(True, OUTPUTS, payload))
            else:
                answers = (general.write(True, lo, data[:hi - lo]), whole.write(True, lo, data[:hi - lo]))
        elif operation == "pdi_read":
            answers = (general.read(False, lo, hi), whole.read(False, lo, hi))
        elif operation == "pdi_write":
            answers = (general.write(False, lo, data[:hi - lo]), whole.write(False, lo, data[:hi - lo]))
        else:
            for sm in (general, whole):
                sm.end_accessed = False
                sm._ended.clear()
            answers = (None, None)
        assert answers[0] == answers[1]
        assert general_memory == whole_memory
        assert len(general_triggers) == len(whole_triggers)
        assert (general._producer, general._latest, general._consumer, general._new_data, general._producer_open,
                general._consumer_open, general.end_accessed, general._status, len(general._ended)) == \
               (whole._producer, whole._latest, whole._consumer, whole._new_data, whole._producer_open,
                whole._consumer_open, whole.end_accessed, whole._status, len(whole._ended))


@pytest.mark.parametrize("mode, direction, lo, hi", [
    (SmMode.MAILBOX, SmDirection.READ, OUTPUTS, OUTPUTS + 4),
    (SmMode.BUFFERED, SmDirection.READ, OUTPUTS, OUTPUTS + 3),
    (SmMode.BUFFERED, SmDirection.READ, OUTPUTS + 1, OUTPUTS + 4),
])
def test_whole_buffer_accessors_are_only_bound_for_whole_buffers(mode, direction, lo, hi):
    memory = bytearray(0x2000)
    sm = SyncManager(2, memory, 0x2000, lambda: None, [])
    memory[sync_manager_address(2):sync_manager_address(2) + 8] = SyncManagerChannel(
        OUTPUTS, 4, SmControl(mode, direction), activate=SmActivate.ENABLE).encode()
    sm.reconfigure()
    assert sm.ecat_reader(lo, hi) == sm.read
