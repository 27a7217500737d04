"""PDO assignment and mapping against the simulated reference chain (config/sim_chain.yaml): read
over CoE (complete access where the SII allows it) for the drives and the EL3102, from the SII
for the EL1008/EL2008, a user configuration written in PRE-OP in the CiA 301 order, and the
process data layout (sizes, working counters, sync managers, FMMUs, frames) checked against
what SOEM computed for the same chain (test/integration/test_pysoem_peer.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from ethercat_master.errors import SdoAbort
from ethercat_master.master.al import request_states
from ethercat_master.master.coe import CoEClient
from ethercat_master.master.master import Master
from ethercat_master.master.pdo_mapping import (
    DC_DATAGRAM_SIZE,
    Direction,
    MappingSource,
    Pdo,
    PdoConfig,
    PdoEntry,
    SlavePdoMapping,
    SyncManagerConfig,
    SyncManagerPdos,
    configure_process_data,
    derive_pdo_mapping,
    plan_process_data,
    read_pdo_mapping,
    sii_pdo_mapping,
)
from ethercat_master.protocol.al_status import ALState
from ethercat_master.protocol.coe import DataType
from ethercat_master.protocol.datagram import MAX_DATAGRAM_DATA, Command, station_address
from ethercat_master.protocol.registers import (
    EscFeature,
    EscFeatures,
    FmmuEntry,
    SmActivate,
    SyncManagerChannel,
    fmmu_address,
    sync_manager_address,
)
from ethercat_master.protocol.sdo_abort import SdoAbortCode
from ethercat_master.sim import ChainServer, SlaveChain, load_chain
from ethercat_master.transport import InProcessLink

CHAIN = Path(__file__).resolve().parents[3] / "config" / "sim_chain.yaml"
EK1100, EL1008, EL2008, EL3102 = 0, 1, 2, 3
DRIVES = (4, 5, 6, 7)
#: (input octets, output octets) per slave, as SOEM's config_map found them.
SOEM_SIZES = [(0, 0), (1, 0), (0, 1), (8, 0)] + [(17, 13)] * 4
SOEM_IOMAP = 130
SOEM_EXPECTED_WKC = 16


class Segment:
    """A simulated chain served on an in-process link, scanned and in PRE-OP."""

    def __init__(self, chain: SlaveChain) -> None:
        self.chain = chain
        master_end, sim_end = InProcessLink.pair()
        self.server = ChainServer(chain, sim_end, poll_interval=0.005).start()
        self.master = Master(master_end, bus_timeout=0.5)
        self.master.scan()
        self.master.request_state("PREOP")
        self.bus = self.master.bus
        self.slaves = list(self.master.slaves)
        self.coe = {s.position: self.master.coe(s.position) for s in self.slaves if s.has_coe}

    def close(self) -> None:
        self.server.stop()


@pytest.fixture(scope="module")
def segment():
    """The reference chain in PRE-OP, its process data configured (read-only tests)."""
    seg = Segment(load_chain(CHAIN).chain)
    seg.layout = configure_process_data(seg.bus, seg.slaves, seg.coe)
    try:
        yield seg
    finally:
        seg.close()


@pytest.fixture
def fresh():
    """A reference chain of its own in PRE-OP (tests that change the slaves)."""
    seg = Segment(load_chain(CHAIN).chain)
    try:
        yield seg
    finally:
        seg.close()


def declared(sim_slave, direction: Direction) -> list:
    """What the simulated device declares as its default assignment: (PDO, [(index, subindex,
    bits)]) of every PDO assigned to a sync manager."""
    pdos = sim_slave.description.rx_pdos if direction is Direction.OUTPUTS else sim_slave.description.tx_pdos
    return [(pdo.index, [(e.index, e.subindex, e.bit_length) for e in pdo.entries])
            for pdo in pdos if pdo.sync_manager is not None]


def found(mapping: SlavePdoMapping, direction: Direction) -> list:
    return [(pdo.index, [(e.index, e.subindex, e.bit_length) for e in pdo.entries])
            for sm in mapping.of(direction) for pdo in sm.pdos]


def read_registers(segment: Segment, station: int, address: int, size: int) -> bytes:
    return segment.bus.read(Command.FPRD, station_address(station, address), size, expected_wkc=1)


# ------------------------------------------------------------------------------ sources
def test_mapping_is_read_over_coe_for_the_drives_and_el3102_and_from_the_sii_for_the_terminals(segment):
    layout = segment.layout
    sources = {slave.position: {sm.source for sm in slave.mapping.sync_managers} for slave in layout.slaves}
    assert sources[EK1100] == set()
    assert sources[EL1008] == sources[EL2008] == {MappingSource.SII}
    assert sources[EL3102] == {MappingSource.COE}
    assert all(sources[p] == {MappingSource.COE} for p in DRIVES)
    for slave in layout.slaves:
        for direction in Direction:
            assert found(slave.mapping, direction) == declared(segment.chain[slave.position], direction)


def test_entries_carry_names_and_data_types(segment):
    drive = segment.layout.slave(DRIVES[0]).mapping
    inputs = [entry for sm in drive.of(Direction.INPUTS) for pdo in sm.pdos for entry in pdo.entries]
    assert [(e.name, e.data_type) for e in inputs[:2]] == [("Statusword", DataType.UNSIGNED16),
                                                             ("Position actual value", DataType.INTEGER32)]
    analog = segment.layout.slave(EL3102).mapping.of(Direction.INPUTS)[0].pdos
    assert [pdo.name for pdo in analog] == ["AI Standard Channel 1", "AI Standard Channel 2"]
    assert analog[0].entries[5].gap and analog[0].entries[5].bit_length == 6
    assert analog[0].entries[-1] == PdoEntry(0x6000, 0x11, 16, "Value", DataType.INTEGER16)


def test_complete_access_is_used_only_where_the_sii_allows_it(segment):
    class Recording(CoEClient):
        def __init__(self, engine):
            super().__init__(engine)
            self.uploads: list[tuple[int, int, bool]] = []

        def upload(self, index, subindex=0, *, complete_access=False):
            self.uploads.append((index, subindex, complete_access))
            return super().upload(index, subindex, complete_access=complete_access)

        def read(self, index, subindex, data_type, *, complete_access=False):
            self.uploads.append((index, subindex, complete_access))
            return super().read(index, subindex, data_type, complete_access=complete_access)

    drive = Recording(segment.master.mailbox(DRIVES[0]))
    analog = Recording(segment.master.mailbox(EL3102))
    read_pdo_mapping(segment.slaves[DRIVES[0]], drive)
    read_pdo_mapping(segment.slaves[EL3102], analog)
    assert drive.uploads == [(0x1C12, 0, True), (0x1600, 0, True), (0x1C13, 0, True), (0x1A00, 0, True)]
    assert analog.uploads[:4] == [(0x1C12, 0, False), (0x1C13, 0, False), (0x1C13, 1, False), (0x1C13, 2, False)]
    assert not any(ca for _, _, ca in analog.uploads)


def test_the_sii_mapping_leaves_out_pdos_assigned_to_no_sync_manager(segment):
    mapping = sii_pdo_mapping(segment.slaves[EL3102])
    assert [(sm.sync_manager, sm.direction, [pdo.index for pdo in sm.pdos]) for sm in mapping.sync_managers] == [
        (2, Direction.OUTPUTS, []), (3, Direction.INPUTS, [0x1A02, 0x1A04])]  # not 0x1A03/0x1A05 (SM 0xFF)
    assert derive_pdo_mapping(segment.slaves[EL3102], None) == mapping


# ------------------------------------------------------------------------------- layout
def test_the_layout_matches_what_soem_computed(segment):
    layout = segment.layout
    assert [(s.input_bytes, s.output_bytes) for s in layout.slaves] == SOEM_SIZES
    assert layout.output_bytes + layout.input_bytes == SOEM_IOMAP
    assert layout.expected_wkc == SOEM_EXPECTED_WKC
    (frame,) = layout.frames
    assert (frame.logical_start, frame.output_bytes, frame.input_bytes) == (0, 53, 77)
    assert frame.positions == (EL1008, EL2008, EL3102, *DRIVES)
    # outputs of every slave first, then the inputs, each slave in position order
    assert [s.output_logical for s in layout.slaves if s.output_bytes] == [0, 1, 14, 27, 40]
    assert [s.input_logical for s in layout.slaves if s.input_bytes] == [53, 54, 62, 79, 96, 113]


def test_sync_managers_and_fmmus_are_written_as_planned(segment):
    for slave in segment.layout.slaves:
        for index, channel in slave.sync_managers:
            raw = read_registers(segment, slave.station_address, sync_manager_address(index), SyncManagerChannel.SIZE)
            got = SyncManagerChannel.decode(raw)
            assert (got.physical_start, got.length, got.control, got.activate) == \
                (channel.physical_start, channel.length, channel.control, channel.activate)
        for index, fmmu in slave.fmmus:
            assert FmmuEntry.decode(read_registers(segment, slave.station_address, fmmu_address(index),
                                                   FmmuEntry.SIZE)) == fmmu
    el2008 = segment.layout.slave(EL2008)
    (sm,) = el2008.sync_managers
    assert sm[0] == 0 and (sm[1].physical_start, sm[1].length, sm[1].control.encode()) == (0x0F00, 1, b"\x44")
    analog = dict(segment.layout.slave(EL3102).sync_managers)
    assert (analog[2].length, analog[2].activate) == (0, SmActivate(0))  # no outputs: disabled
    # the SII FMMU category says FMMU0 outputs, FMMU1 inputs: the EL3102's inputs use FMMU1
    assert [index for index, _ in segment.layout.slave(EL3102).fmmus] == [1]
    assert [(i, f.write, f.read) for i, f in segment.layout.slave(DRIVES[0]).fmmus] == [(0, True, False),
                                                                                         (1, False, True)]


def test_the_configured_chain_reaches_safeop(fresh):
    configure_process_data(fresh.bus, fresh.slaves, fresh.coe)
    states = request_states(fresh.bus, fresh.slaves, ALState.SAFEOP)
    assert all(block.status.state is ALState.SAFEOP and not block.status.error for block in states)


# ------------------------------------------------------------------------ configuration
OVERRIDE = [
    SyncManagerConfig(2, (PdoConfig(0x1600, (
        PdoEntry(0x6040, 0, 16),
        PdoEntry(0x607A, 0, 32),
        PdoEntry(0x6060, 0, 8),
        PdoEntry(0, 0, 8),
    )),)),
    SyncManagerConfig(3, (PdoConfig(0x1A00, (
        PdoEntry(0x6041, 0, 16),
        PdoEntry(0x6064, 0, 32),
        PdoEntry(0x6062, 0, 32),          # not in the SII: named through SDO information
        PdoEntry(0x6077, 0, 16, "torque"),  # named by the configuration
    )),)),
]


def test_a_configuration_is_written_in_preop_read_back_and_reaches_safeop(fresh):
    position = DRIVES[1]
    layout = configure_process_data(fresh.bus, fresh.slaves, fresh.coe, {position: OVERRIDE})
    slave = layout.slave(position)
    assert {sm.source for sm in slave.mapping.sync_managers} == {MappingSource.CONFIGURATION}
    assert (slave.output_bytes, slave.input_bytes) == (8, 12)
    inputs = slave.mapping.of(Direction.INPUTS)[0].pdos[0].entries
    assert [(e.name, e.data_type) for e in inputs] == [
        ("Statusword", DataType.UNSIGNED16), ("Position actual value", DataType.INTEGER32),
        ("Position demand value", DataType.INTEGER32), ("torque", DataType.INTEGER16)]
    od = fresh.chain[position].od
    assert [od.get(0x1600, sub) for sub in range(5)] == [4, 0x60400010, 0x607A0020, 0x60600008, 0x00000008]
    assert [od.get(0x1A00, sub) for sub in range(5)] == [4, 0x60410010, 0x60640020, 0x60620020, 0x60770010]
    # the others keep their mapping; the frame shrinks by 5 output and 5 input octets
    assert layout.output_bytes + layout.input_bytes == SOEM_IOMAP - 10
    assert layout.slave(DRIVES[0]).mapping.of(Direction.OUTPUTS)[0].source is MappingSource.COE
    states = request_states(fresh.bus, fresh.slaves, ALState.SAFEOP)  # the drive checks the SM lengths
    assert all(block.status.state is ALState.SAFEOP for block in states)


def test_a_configuration_that_only_assigns_keeps_the_mapping(fresh):
    position = DRIVES[0]
    mapping = derive_pdo_mapping(fresh.slaves[position], fresh.coe[position],
                                 [SyncManagerConfig(3, (PdoConfig(0x1A00),))])
    (inputs,) = mapping.of(Direction.INPUTS)
    assert inputs.source is MappingSource.CONFIGURATION and inputs.byte_length == 17
    assert mapping.of(Direction.OUTPUTS)[0].source is MappingSource.COE


def test_invalid_configurations_are_refused_before_anything_is_written(fresh):
    drive = DRIVES[0]
    before = fresh.chain[drive].od.get(0x1C12, 0)
    with pytest.raises(ValueError, match=r"PDO 0x1A00 cannot carry outputs of SM2"):
        derive_pdo_mapping(fresh.slaves[drive], fresh.coe[drive], [SyncManagerConfig(2, (PdoConfig(0x1A00),))])
    with pytest.raises(ValueError, match=r"SM1 is no process data sync manager \(those are SM2, SM3\)"):
        derive_pdo_mapping(fresh.slaves[drive], fresh.coe[drive], [SyncManagerConfig(1, (PdoConfig(0x1600),))])
    with pytest.raises(ValueError, match=r"position 1 \(EL1008.*\): a PDO configuration needs CoE"):
        derive_pdo_mapping(fresh.slaves[EL1008], None, [SyncManagerConfig(0, (PdoConfig(0x1A00),))])
    with pytest.raises(ValueError, match=r"positions \[12\]"):
        configure_process_data(fresh.bus, fresh.slaves, fresh.coe, {12: OVERRIDE})
    assert fresh.chain[drive].od.get(0x1C12, 0) == before == 1


def test_a_mapping_the_slave_refuses_is_an_sdo_abort_naming_the_object(fresh):
    drive = DRIVES[2]
    refused = [SyncManagerConfig(2, (PdoConfig(0x1600, (PdoEntry(0x6041, 0, 16),)),))]  # statusword as output
    with pytest.raises(SdoAbort) as caught:
        derive_pdo_mapping(fresh.slaves[drive], fresh.coe[drive], refused)
    assert (caught.value.index, caught.value.code) == (0x1600, SdoAbortCode.OBJECT_CANNOT_BE_MAPPED)
    assert "position 6" in str(caught.value)


# --------------------------------------------------------------------------- planning
def synthetic(position: int, outputs: int, inputs: int) -> SlavePdoMapping:
    """A mapping of ``outputs`` and ``inputs`` octets in 8-bit entries on SM2/SM3."""
    def pdos(base: int, octets: int) -> tuple[Pdo, ...]:
        return (Pdo(base, tuple(PdoEntry(0x2000 + n // 256, n % 256, 8) for n in range(octets))),) if octets else ()
    return SlavePdoMapping(position, f"slave {position}", (
        SyncManagerPdos(2, Direction.OUTPUTS, pdos(0x1600, outputs), MappingSource.CONFIGURATION),
        SyncManagerPdos(3, Direction.INPUTS, pdos(0x1A00, inputs), MappingSource.CONFIGURATION)))


def drives_like(segment: Segment, count: int) -> list:
    template = segment.slaves[DRIVES[0]]
    return [dataclasses.replace(template, position=n, station_address=0x2000 + n) for n in range(count)]


def test_process_data_larger_than_a_frame_is_split_at_slave_boundaries(segment):
    slaves = drives_like(segment, 7)
    mappings = [synthetic(n, 200, 300) for n in range(7)]  # 500 octets each, 3500 in all
    layout = plan_process_data(slaves, mappings)
    assert [frame.positions for frame in layout.frames] == [(0, 1), (2, 3), (4, 5), (6,)]
    assert all(frame.length <= MAX_DATAGRAM_DATA for frame in layout.frames)
    assert [frame.expected_wkc for frame in layout.frames] == [6, 6, 6, 3]
    starts = [frame.logical_start for frame in layout.frames]
    assert starts == [0, 1000, 2000, 3000]
    third = layout.slave(3)
    assert (third.frame, third.output_logical, third.input_logical) == (1, 1200, 1400 + 300)
    assert (third.output_offset, third.input_offset) == (600, 900)


def test_the_first_frame_keeps_room_for_the_dc_datagram(segment):
    slaves = drives_like(segment, 2)
    capacity = MAX_DATAGRAM_DATA - DC_DATAGRAM_SIZE
    fits = plan_process_data(slaves, [synthetic(0, capacity - 100, 100), synthetic(1, 10, 0)])
    assert [frame.positions for frame in fits.frames] == [(0,), (1,)]
    with pytest.raises(ValueError, match=r"position 0 .*1467 octets of process data do not fit the 1466"):
        plan_process_data(slaves[:1], [synthetic(0, capacity + 1, 0)])


def test_bit_sized_process_data_is_mapped_bit_granular_where_the_esc_can(segment):
    terminal = segment.slaves[EL2008]
    four_bits = SlavePdoMapping(EL2008, terminal.describe(), (SyncManagerPdos(0, Direction.OUTPUTS, (
        Pdo(0x1600, tuple(PdoEntry(0x7000 + 0x10 * n, 1, 1) for n in range(4))),), MappingSource.SII),))
    (fmmu,) = plan_process_data([terminal], [four_bits]).slaves[0].fmmus
    assert (fmmu[1].length, fmmu[1].logical_start_bit, fmmu[1].logical_stop_bit) == (1, 0, 3)
    byte_oriented = dataclasses.replace(terminal, esc=dataclasses.replace(
        terminal.esc, features=EscFeatures(terminal.esc.features.flags | EscFeature.FMMU_BYTE_ORIENTED)))
    (fmmu,) = plan_process_data([byte_oriented], [four_bits]).slaves[0].fmmus
    assert (fmmu[1].logical_start_bit, fmmu[1].logical_stop_bit) == (0, 7)
