"""Tests of the ESC register map and its typed views (ethercat_master.protocol.registers)."""

from __future__ import annotations

import random

import pytest
from harness.fuzz import mutate
from hypothesis import given, settings
from hypothesis import strategies as st

from ethercat_master.errors import ProtocolError
from ethercat_master.protocol import registers as r
from ethercat_master.protocol.al_status import ALState

# ------------------------------------------------------------------------------ strategies
u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFF_FFFF)
u64 = st.integers(0, 0xFFFF_FFFF_FFFF_FFFF)


def per_port(strategy):
    return st.tuples(strategy, strategy, strategy, strategy)


states = st.one_of(st.sampled_from(ALState), st.integers(0, 15))

port_descriptors = per_port(st.sampled_from(r.PortType)).map(r.PortDescriptor)
esc_features = u16.map(lambda v: r.EscFeatures(r.EscFeature(v)))
identities = st.builds(
    r.EscIdentity,
    esc_type=u8,
    revision=u8,
    build=u16,
    fmmu_count=u8,
    sync_manager_count=u8,
    ram_size_kib=u8,
    port_descriptor=port_descriptors,
    features=esc_features,
)
dl_controls = st.builds(
    r.DlControl,
    forwarding_rule=st.sampled_from(r.ForwardingRule),
    temporary_loop=st.booleans(),
    loop_ports=per_port(st.sampled_from(r.LoopPortControl)),
    rx_fifo_size=st.integers(0, 7),
    ebus_low_jitter=st.booleans(),
    ebus_remote_link_down_reduced=st.booleans(),
    station_alias_enabled=st.booleans(),
)
dl_statuses = u16.map(lambda v: r.DlStatus(r.DlStatusFlag(v)))
al_controls = st.builds(r.AlControl, state=states, error_ack=st.booleans(), id_request=st.booleans())
al_statuses = st.builds(r.AlStatus, state=states, error=st.booleans(), id_loaded=st.booleans())
al_status_blocks = st.builds(r.AlStatusBlock, status=al_statuses, status_code=u16)
error_counters = st.builds(
    r.ErrorCounters,
    invalid_frame=per_port(u8),
    rx_error=per_port(u8),
    forwarded_rx_error=per_port(u8),
    processing_unit_error=u8,
    pdi_error=u8,
    lost_link=per_port(u8),
)
sii_controls = st.builds(
    r.SiiControlStatus,
    command=st.one_of(st.sampled_from(r.SiiCommand), st.integers(0, 7)),
    write_enable=st.booleans(),
    emulation=st.booleans(),
    read_size=st.sampled_from(r.SII_READ_SIZES),
    address_bytes=st.sampled_from(r.SII_ADDRESS_SIZES),
    checksum_error=st.booleans(),
    not_loaded=st.booleans(),
    ack_error=st.booleans(),
    write_error=st.booleans(),
    busy=st.booleans(),
)
sii_accesses = st.builds(r.SiiAccess, control=sii_controls, address=u32)
fmmus = st.builds(
    r.FmmuEntry,
    logical_start=u32,
    length=u16,
    physical_start=u16,
    logical_start_bit=st.integers(0, 7),
    logical_stop_bit=st.integers(0, 7),
    physical_start_bit=st.integers(0, 7),
    read=st.booleans(),
    write=st.booleans(),
    active=st.booleans(),
)
sm_controls = st.builds(
    r.SmControl,
    mode=st.one_of(st.sampled_from(r.SmMode), st.integers(0, 3)),
    direction=st.one_of(st.sampled_from(r.SmDirection), st.integers(0, 3)),
    ecat_interrupt=st.booleans(),
    pdi_interrupt=st.booleans(),
    watchdog=st.booleans(),
)
sm_statuses = st.builds(
    r.SmStatus,
    interrupt_write=st.booleans(),
    interrupt_read=st.booleans(),
    mailbox_full=st.booleans(),
    buffer_state=st.integers(0, 3),
    read_buffer_open=st.booleans(),
    write_buffer_open=st.booleans(),
)
sync_managers = st.builds(
    r.SyncManagerChannel,
    physical_start=u16,
    length=u16,
    control=sm_controls,
    status=sm_statuses,
    activate=u8.map(r.SmActivate),
    pdi_control=u8.map(r.SmPdiControl),
)
dc_receive_times = per_port(u32).map(r.DcReceiveTimes)
dc_system_times = st.builds(
    r.DcSystemTime,
    system_time=u64,
    receive_time_processing_unit=u64,
    system_time_offset=u64,
    system_time_delay=u32,
    system_time_difference=st.integers(-0x7FFF_FFFF, 0x7FFF_FFFF),
)
dc_control_loops = st.builds(
    r.DcControlLoop,
    speed_counter_start=st.integers(0, 0x7FFF),
    speed_counter_diff=st.integers(-0x8000, 0x7FFF),
    system_time_diff_filter_depth=st.integers(0, 15),
    speed_counter_filter_depth=st.integers(0, 15),
)
dc_cyclic_units = st.builds(
    r.DcCyclicUnit,
    control=u8.map(r.DcCyclicUnitControl),
    activation=u8.map(r.DcActivation),
    pulse_length=u16,
    activation_status=u8.map(r.DcActivationStatus),
)
dc_sync_timings = st.builds(
    r.DcSyncTiming, start_time=u64, next_sync1_pulse=u64, sync0_cycle_time=u32, sync1_cycle_time=u32
)

#: Every view with ``SIZE`` and its strategy.
VIEWS = [
    (r.PortDescriptor, port_descriptors),
    (r.EscFeatures, esc_features),
    (r.EscIdentity, identities),
    (r.DlControl, dl_controls),
    (r.DlStatus, dl_statuses),
    (r.AlControl, al_controls),
    (r.AlStatus, al_statuses),
    (r.AlStatusBlock, al_status_blocks),
    (r.ErrorCounters, error_counters),
    (r.SiiControlStatus, sii_controls),
    (r.SiiAccess, sii_accesses),
    (r.FmmuEntry, fmmus),
    (r.SyncManagerChannel, sync_managers),
    (r.DcReceiveTimes, dc_receive_times),
    (r.DcSystemTime, dc_system_times),
    (r.DcControlLoop, dc_control_loops),
    (r.DcCyclicUnit, dc_cyclic_units),
    (r.DcSyncTiming, dc_sync_timings),
]
#: Views whose every bit is kept, so bytes -> decode -> encode gives the same bytes.
LOSSLESS = [r.PortDescriptor, r.EscFeatures, r.EscIdentity, r.DlStatus, r.DcReceiveTimes, r.DcCyclicUnit, r.DcSyncTiming]
#: The one-byte SyncManager sub-views have no ADDRESS, only a fixed one-byte size.
SM_BYTE_VIEWS = [(r.SmControl, sm_controls), (r.SmStatus, sm_statuses)]


def view_id(entry) -> str:
    return entry[0].__name__


# ------------------------------------------------------------------------------ register map
#: (address, size in bytes) from the ESC datasheet section II register overview.
EXPECTED_REGISTERS = {
    "TYPE": (0x0000, 1),
    "REVISION": (0x0001, 1),
    "BUILD": (0x0002, 2),
    "FMMU_COUNT": (0x0004, 1),
    "SYNC_MANAGER_COUNT": (0x0005, 1),
    "RAM_SIZE": (0x0006, 1),
    "PORT_DESCRIPTOR": (0x0007, 1),
    "ESC_FEATURES": (0x0008, 2),
    "CONFIGURED_STATION_ADDRESS": (0x0010, 2),
    "CONFIGURED_STATION_ALIAS": (0x0012, 2),
    "REGISTER_WRITE_ENABLE": (0x0020, 1),
    "REGISTER_WRITE_PROTECTION": (0x0021, 1),
    "ESC_WRITE_ENABLE": (0x0030, 1),
    "ESC_WRITE_PROTECTION": (0x0031, 1),
    "ESC_RESET_ECAT": (0x0040, 1),
    "ESC_RESET_PDI": (0x0041, 1),
    "DL_CONTROL": (0x0100, 4),
    "PHYSICAL_RW_OFFSET": (0x0108, 2),
    "DL_STATUS": (0x0110, 2),
    "AL_CONTROL": (0x0120, 2),
    "AL_STATUS": (0x0130, 2),
    "AL_STATUS_CODE": (0x0134, 2),
    "RUN_LED_OVERRIDE": (0x0138, 1),
    "ERR_LED_OVERRIDE": (0x0139, 1),
    "PDI_CONTROL": (0x0140, 1),
    "ESC_CONFIGURATION": (0x0141, 1),
    "PDI_CONFIGURATION": (0x0150, 1),
    "ECAT_EVENT_MASK": (0x0200, 2),
    "PDI_AL_EVENT_MASK": (0x0204, 4),
    "ECAT_EVENT_REQUEST": (0x0210, 2),
    "AL_EVENT_REQUEST": (0x0220, 4),
    "RX_ERROR_COUNTER_PORT0": (0x0300, 2),
    "RX_ERROR_COUNTER_PORT3": (0x0306, 2),
    "FORWARDED_RX_ERROR_COUNTER_PORT0": (0x0308, 1),
    "FORWARDED_RX_ERROR_COUNTER_PORT3": (0x030B, 1),
    "PROCESSING_UNIT_ERROR_COUNTER": (0x030C, 1),
    "PDI_ERROR_COUNTER": (0x030D, 1),
    "LOST_LINK_COUNTER_PORT0": (0x0310, 1),
    "LOST_LINK_COUNTER_PORT3": (0x0313, 1),
    "WATCHDOG_DIVIDER": (0x0400, 2),
    "WATCHDOG_TIME_PDI": (0x0410, 2),
    "WATCHDOG_TIME_PROCESS_DATA": (0x0420, 2),
    "WATCHDOG_STATUS_PROCESS_DATA": (0x0440, 2),
    "WATCHDOG_COUNTER_PROCESS_DATA": (0x0442, 1),
    "WATCHDOG_COUNTER_PDI": (0x0443, 1),
    "SII_CONFIGURATION": (0x0500, 1),
    "SII_PDI_ACCESS": (0x0501, 1),
    "SII_CONTROL_STATUS": (0x0502, 2),
    "SII_ADDRESS": (0x0504, 4),
    "SII_DATA": (0x0508, 8),
    "MII_CONTROL_STATUS": (0x0510, 2),
    "FMMU_BASE": (0x0600, 16),
    "SYNC_MANAGER_BASE": (0x0800, 8),
    "DC_RECEIVE_TIME_PORT0": (0x0900, 4),
    "DC_RECEIVE_TIME_PORT1": (0x0904, 4),
    "DC_RECEIVE_TIME_PORT2": (0x0908, 4),
    "DC_RECEIVE_TIME_PORT3": (0x090C, 4),
    "DC_SYSTEM_TIME": (0x0910, 8),
    "DC_RECEIVE_TIME_PROCESSING_UNIT": (0x0918, 8),
    "DC_SYSTEM_TIME_OFFSET": (0x0920, 8),
    "DC_SYSTEM_TIME_DELAY": (0x0928, 4),
    "DC_SYSTEM_TIME_DIFFERENCE": (0x092C, 4),
    "DC_SPEED_COUNTER_START": (0x0930, 2),
    "DC_SPEED_COUNTER_DIFF": (0x0932, 2),
    "DC_SYSTEM_TIME_DIFF_FILTER_DEPTH": (0x0934, 1),
    "DC_SPEED_COUNTER_FILTER_DEPTH": (0x0935, 1),
    "DC_RECEIVE_TIME_LATCH_MODE": (0x0936, 1),
    "DC_CYCLIC_UNIT_CONTROL": (0x0980, 1),
    "DC_ACTIVATION": (0x0981, 1),
    "DC_PULSE_LENGTH": (0x0982, 2),
    "DC_ACTIVATION_STATUS": (0x0984, 1),
    "DC_SYNC0_STATUS": (0x098E, 1),
    "DC_SYNC1_STATUS": (0x098F, 1),
    "DC_START_TIME_CYCLIC": (0x0990, 8),
    "DC_NEXT_SYNC1_PULSE": (0x0998, 8),
    "DC_SYNC0_CYCLE_TIME": (0x09A0, 4),
    "DC_SYNC1_CYCLE_TIME": (0x09A4, 4),
    "DC_LATCH0_CONTROL": (0x09A8, 1),
    "DC_LATCH1_CONTROL": (0x09A9, 1),
    "DC_LATCH0_STATUS": (0x09AE, 1),
    "DC_LATCH1_STATUS": (0x09AF, 1),
    "DC_LATCH0_TIME_POSITIVE": (0x09B0, 8),
    "DC_LATCH0_TIME_NEGATIVE": (0x09B8, 8),
    "DC_LATCH1_TIME_POSITIVE": (0x09C0, 8),
    "DC_LATCH1_TIME_NEGATIVE": (0x09C8, 8),
}


@pytest.mark.parametrize("name", sorted(EXPECTED_REGISTERS))
def test_register_address_and_size(name: str) -> None:
    register = r.Register[name]
    assert (int(register), register.size) == EXPECTED_REGISTERS[name]


def test_registers_are_unique_and_do_not_overlap() -> None:
    # An IntEnum silently turns a duplicate value into an alias; every name must be a member.
    assert len(r.Register.__members__) == len(r.Register)
    ordered = sorted(r.Register, key=int)
    for lower, upper in zip(ordered, ordered[1:]):
        assert lower + lower.size <= upper, f"{lower.name} overlaps {upper.name}"
    assert ordered[-1] + ordered[-1].size <= r.PROCESS_DATA_RAM_START


def test_fmmu_and_sync_manager_addresses() -> None:
    assert r.fmmu_address(0) == 0x0600
    assert r.fmmu_address(3) == 0x0630
    assert r.fmmu_address(15) == 0x06F0
    assert r.sync_manager_address(0) == 0x0800
    assert r.sync_manager_address(3) == 0x0818
    assert r.sync_manager_address(15) == 0x0878
    for bad in (-1, 16):
        with pytest.raises(ValueError):
            r.fmmu_address(bad)
        with pytest.raises(ValueError):
            r.sync_manager_address(bad)


@pytest.mark.parametrize("entry", VIEWS, ids=view_id)
def test_view_address_and_size_match_register_map(entry) -> None:
    cls, _ = entry
    # Every view starts at a named register and encodes to exactly SIZE bytes.
    assert cls.ADDRESS in {int(register) for register in r.Register}
    assert cls.SIZE == len(cls.decode(bytes(cls.SIZE)).encode())


# ------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("entry", VIEWS + SM_BYTE_VIEWS, ids=view_id)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_round_trip(entry, data) -> None:
    cls, strategy = entry
    value = data.draw(strategy)
    encoded = value.encode()
    assert len(encoded) == getattr(cls, "SIZE", 1)
    assert cls.decode(encoded) == value
    assert cls.decode(bytearray(encoded)) == value
    assert cls.decode(memoryview(encoded)) == value


def view_size(cls) -> int:
    return getattr(cls, "SIZE", 1)


@pytest.mark.parametrize("cls", [entry[0] for entry in VIEWS + SM_BYTE_VIEWS], ids=lambda c: c.__name__)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_any_bytes_of_the_right_size_decode_and_re_decode_identically(cls, data) -> None:
    # Reserved bits never make a register decode fail, and decoding is idempotent.
    raw = data.draw(st.binary(min_size=view_size(cls), max_size=view_size(cls)))
    value = cls.decode(raw)
    assert cls.decode(value.encode()) == value


@pytest.mark.parametrize("cls", LOSSLESS, ids=lambda c: c.__name__)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_lossless_views_keep_every_bit(cls, data) -> None:
    raw = data.draw(st.binary(min_size=cls.SIZE, max_size=cls.SIZE))
    assert cls.decode(raw).encode() == raw


@settings(max_examples=50, deadline=None)
@given(st.lists(fmmus, max_size=r.MAX_FMMUS), st.lists(sync_managers, max_size=r.MAX_SYNC_MANAGERS))
def test_tables_round_trip(fmmu_list, sm_list) -> None:
    assert r.FmmuEntry.decode_table(b"".join(f.encode() for f in fmmu_list)) == tuple(fmmu_list)
    assert r.SyncManagerChannel.decode_table(b"".join(s.encode() for s in sm_list)) == tuple(sm_list)


# ------------------------------------------------------------------------------ known vectors
def test_identity_known_vector() -> None:
    # ESC information 0x0000-0x0009 as TI's register list gives its reset values: type 0x90,
    # revision 6, build 0x0502, 8 FMMUs, 8 SMs, 59 KiB RAM, port descriptor 0x0F (ports 0/1
    # MII, 2/3 not implemented), features 0x008C (DC, 64-bit DC, separate FCS handling).
    raw = bytes([0x90, 0x06, 0x02, 0x05, 0x08, 0x08, 0x3B, 0x0F, 0x8C, 0x00])
    identity = r.EscIdentity.decode(raw)
    assert identity.esc_type == 0x90
    assert identity.revision == 6
    assert identity.build == 0x0502
    assert (identity.fmmu_count, identity.sync_manager_count, identity.ram_size_kib) == (8, 8, 59)
    assert identity.port_descriptor.ports == (r.PortType.MII, r.PortType.MII, r.PortType.NOT_IMPLEMENTED, r.PortType.NOT_IMPLEMENTED)
    features = identity.features
    assert features.dc_supported and features.dc_64bit
    assert features.fmmu_bit_oriented  # bit 0 clear
    assert features.lrw_supported and features.read_write_supported  # bits 9/10 clear
    assert r.EscFeature.SEPARATE_FCS_ERROR_HANDLING in features.flags
    assert identity.encode() == raw


def test_features_inverted_bits() -> None:
    # KickCAT's feature printout: bit 0 set = byte-oriented FMMU, bit 9/10 set = LRW / RW not available.
    features = r.EscFeatures.decode(bytes([0x01, 0x06]))
    assert not features.fmmu_bit_oriented
    assert not features.lrw_supported
    assert not features.read_write_supported
    assert not features.dc_supported
    # Infineon XMC4300 reset value 0x01CC: DC, 64 bit, ELD MII, FCS, enhanced DC sync.
    xmc = r.EscFeatures.decode(bytes([0xCC, 0x01]))
    assert xmc.flags == (
        r.EscFeature.DISTRIBUTED_CLOCKS
        | r.EscFeature.DC_64BIT
        | r.EscFeature.ENHANCED_LINK_DETECTION_MII
        | r.EscFeature.SEPARATE_FCS_ERROR_HANDLING
        | r.EscFeature.ENHANCED_DC_SYNC_ACTIVATION
    )


def test_port_descriptor_bit_order() -> None:
    # Port 0 in bits 0-1 ... port 3 in bits 6-7: 0b11_10_01_00.
    descriptor = r.PortDescriptor.decode(bytes([0b1110_0100]))
    assert descriptor.ports == (r.PortType.NOT_IMPLEMENTED, r.PortType.NOT_CONFIGURED, r.PortType.EBUS, r.PortType.MII)


def test_dl_control_reset_value() -> None:
    # XMC4300 reset value 0x0007C001: destroy non-EtherCAT frames, loop port 3 closed,
    # ports 0-2 auto, RX FIFO size 7.
    control = r.DlControl.decode(bytes([0x01, 0xC0, 0x07, 0x00]))
    assert control == r.DlControl(
        forwarding_rule=r.ForwardingRule.DESTROY_NON_ETHERCAT,
        loop_ports=(r.LoopPortControl.AUTO, r.LoopPortControl.AUTO, r.LoopPortControl.AUTO, r.LoopPortControl.CLOSED),
        rx_fifo_size=7,
    )
    # Station alias (bit 24), EBUS low jitter (bit 19), remote link down (bit 22), temporary (bit 1).
    control = r.DlControl.decode(bytes([0x02, 0x00, 0x48, 0x01]))
    assert control.station_alias_enabled and control.ebus_low_jitter and control.ebus_remote_link_down_reduced
    assert control.temporary_loop
    assert control.forwarding_rule == r.ForwardingRule.FORWARD_NON_ETHERCAT
    # Reserved bits are dropped and written as zero.
    assert r.DlControl.decode(bytes([0xFD, 0x00, 0x30, 0xFE])).encode() == bytes([0x01, 0x00, 0x00, 0x00])


def test_dl_status_known_vector() -> None:
    # A slave in the middle of a line: PDI operational, link and communication on ports 0
    # and 1, all loops open: bits 0, 4, 5, 9, 11 = 0x0A31 (ETG.1000.4 Table 34).
    status = r.DlStatus.decode(bytes([0x31, 0x0A]))
    assert status.pdi_operational and not status.pdi_watchdog_reloaded
    assert [status.physical_link(port) for port in range(4)] == [True, True, False, False]
    assert [status.communication(port) for port in range(4)] == [True, True, False, False]
    assert [status.loop_closed(port) for port in range(4)] == [False, False, False, False]
    # The last slave closes port 1 (bit 10) and sees no link there.
    last = r.DlStatus.decode(bytes([0x11, 0x06]))
    assert last.loop_closed(1) and last.communication(0) and not last.physical_link(1)
    with pytest.raises(ValueError):
        status.physical_link(4)


def test_al_registers_known_vectors() -> None:
    # AL status 0x14: SAFEOP with error indication; AL control 0x18: request OP and acknowledge.
    assert r.AlStatus.decode(b"\x14\x00") == r.AlStatus(ALState.SAFEOP, error=True)
    assert r.AlControl(ALState.OP, error_ack=True).encode() == b"\x18\x00"
    assert r.AlControl(ALState.INIT, id_request=True).encode() == b"\x21\x00"
    assert r.AlStatus.decode(b"\x22\xff").id_loaded  # reserved high byte ignored
    # SOEM reads AL status, reserved, AL status code in one 6-byte read from 0x0130.
    block = r.AlStatusBlock.decode(bytes([0x12, 0x00, 0x00, 0x00, 0x1B, 0x00]))
    assert block.status == r.AlStatus(ALState.PREOP, error=True)
    assert block.status_code == 0x001B
    assert block.text == "Sync manager watchdog"


def test_al_status_unknown_state_is_kept_as_int() -> None:
    status = r.AlStatus.decode(b"\x00\x00")
    assert status.state == 0 and not isinstance(status.state, ALState)
    assert r.AlStatus.decode(b"\x0b\x00").state == 0x0B
    with pytest.raises(ValueError):
        r.AlControl(state=0x10)


def test_sync_manager_soem_default_flags() -> None:
    # SOEM ethercatconfig.c: SM flags u32 = control | status << 8 | activate << 16 | PDI control << 24.
    # EC_DEFAULTMBXSM0 0x00010026: mailbox, ECAT writes, PDI interrupt, enabled.
    sm0 = r.SyncManagerChannel.decode(bytes([0x00, 0x10, 0x80, 0x00, 0x26, 0x00, 0x01, 0x00]))
    assert (sm0.physical_start, sm0.length) == (0x1000, 128)
    assert sm0.control == r.SmControl(r.SmMode.MAILBOX, r.SmDirection.WRITE, pdi_interrupt=True)
    assert sm0.activate == r.SmActivate.ENABLE
    # EC_DEFAULTMBXSM1 0x00010022: mailbox, ECAT reads, PDI interrupt.
    assert r.SmControl.decode(b"\x22") == r.SmControl(r.SmMode.MAILBOX, r.SmDirection.READ, pdi_interrupt=True)
    # EC_DEFAULTDOSM0 0x00010044: buffered, ECAT writes, watchdog trigger.
    assert r.SmControl.decode(b"\x44") == r.SmControl(r.SmMode.BUFFERED, r.SmDirection.WRITE, watchdog=True)
    # Reserved mode value 1 is kept as an int.
    assert r.SmControl.decode(b"\x01").mode == 1


def test_sync_manager_status_bits() -> None:
    # Mailbox full (bit 3) with write interrupt (bit 0); buffered state "none written" (bits 4-5 = 3).
    assert r.SmStatus.decode(b"\x09") == r.SmStatus(interrupt_write=True, mailbox_full=True)
    assert r.SmStatus.decode(b"\x30").buffer_state == 3
    assert r.SmStatus.decode(b"\xc0") == r.SmStatus(read_buffer_open=True, write_buffer_open=True)


def test_fmmu_known_vector() -> None:
    # Outputs: logical 0x00010000, 4 bytes, bits 0..7, to physical 0x1100, write, active.
    entry = r.FmmuEntry(logical_start=0x0001_0000, length=4, physical_start=0x1100, write=True, active=True)
    assert entry.encode() == bytes(
        [0x00, 0x00, 0x01, 0x00, 0x04, 0x00, 0x00, 0x07, 0x00, 0x11, 0x00, 0x02, 0x01, 0x00, 0x00, 0x00]
    )
    # Bit-wise input mapping: logical bit 3..3 of 0x00000010 from physical 0x1000 bit 5, read.
    raw = bytes([0x10, 0, 0, 0, 0x01, 0x00, 0x03, 0x03, 0x00, 0x10, 0x05, 0x01, 0x01, 0, 0, 0])
    assert r.FmmuEntry.decode(raw) == r.FmmuEntry(
        logical_start=0x10,
        length=1,
        physical_start=0x1000,
        logical_start_bit=3,
        logical_stop_bit=3,
        physical_start_bit=5,
        read=True,
        active=True,
    )


def test_sii_control_soem_commands() -> None:
    # SOEM ethercattype.h: EC_ECMD_READ 0x0100, EC_ECMD_WRITE 0x0201 (write + write enable).
    assert r.SiiControlStatus(command=r.SiiCommand.READ).encode() == b"\x00\x01"
    assert r.SiiControlStatus(command=r.SiiCommand.WRITE, write_enable=True).encode() == b"\x01\x02"
    # The datasheet's reload is command 0b100 (0x0400); SOEM's EC_ECMD_RELOAD 0x0300 is a
    # reserved command value, kept as the raw int 3.
    assert r.SiiControlStatus(command=r.SiiCommand.RELOAD).encode() == b"\x00\x04"
    assert r.SiiControlStatus.decode(b"\x00\x03").command == 3
    # EC_ESTAT_R64 0x0040 (8-byte reads), EC_ESTAT_BUSY 0x8000, EC_ESTAT_NACK 0x2000.
    status = r.SiiControlStatus.decode((0x8000 | 0x2000 | 0x0040 | 0x0100).to_bytes(2, "little"))
    assert status.busy and status.ack_error and status.read_size == 8 and status.has_error
    assert status.command == r.SiiCommand.READ
    assert not r.SiiControlStatus.decode((0x0080).to_bytes(2, "little")).has_error
    assert r.SiiControlStatus.decode((0x0080).to_bytes(2, "little")).address_bytes == 2
    # SOEM's EEPROM read request: control, then the word address, in one 6-byte write.
    access = r.SiiAccess(r.SiiControlStatus(command=r.SiiCommand.READ), address=0x0008)
    assert access.encode() == bytes([0x00, 0x01, 0x08, 0x00, 0x00, 0x00])


def test_error_counter_layout() -> None:
    raw = bytes(range(1, 21))
    counters = r.ErrorCounters.decode(raw)
    assert counters.invalid_frame == (1, 3, 5, 7)  # 0x0300, 0x0302, ...
    assert counters.rx_error == (2, 4, 6, 8)  # 0x0301, 0x0303, ...
    assert counters.forwarded_rx_error == (9, 10, 11, 12)  # 0x0308-0x030B
    assert (counters.processing_unit_error, counters.pdi_error) == (13, 14)  # 0x030C, 0x030D
    assert counters.lost_link == (17, 18, 19, 20)  # 0x0310-0x0313
    assert counters.encode() == raw[:14] + b"\x00\x00" + raw[16:]


def test_dc_known_vectors() -> None:
    times = r.DcReceiveTimes.decode(bytes.fromhex("04030201 08070605 0c0b0a09 100f0e0d".replace(" ", "")))
    assert times.ports == (0x01020304, 0x05060708, 0x090A0B0C, 0x0D0E0F10)
    # System time difference is sign and magnitude: 0x80000010 = local copy ahead by 16 ns.
    system = r.DcSystemTime(1, 2, 3, 4, system_time_difference=-16)
    assert system.encode()[-4:] == bytes([0x10, 0x00, 0x00, 0x80])
    assert r.DcSystemTime.decode(bytes(28) + bytes([0x10, 0, 0, 0])).system_time_difference == 16
    assert r.DcSystemTime.decode(bytes(28) + bytes([0, 0, 0, 0x80])).system_time_difference == 0
    # SOEM writes speed counter start 0x1000 at 0x0930 and filter depth 0x0C00 at 0x0934.
    loop = r.DcControlLoop.decode(bytes([0x00, 0x10, 0xFF, 0xFF, 0x00, 0x0C]))
    assert loop == r.DcControlLoop(0x1000, speed_counter_diff=-1, speed_counter_filter_depth=12)
    # SYNC0 only, cyclic operation on: activation 0x03; pulse length 1000 (10 us).
    unit = r.DcCyclicUnit(activation=r.DcActivation.CYCLIC_OPERATION | r.DcActivation.SYNC0, pulse_length=1000)
    assert unit.encode() == bytes([0x00, 0x03, 0xE8, 0x03, 0x00])
    timing = r.DcSyncTiming(start_time=1, next_sync1_pulse=2, sync0_cycle_time=1_000_000, sync1_cycle_time=0)
    assert timing.encode()[16:20] == (1_000_000).to_bytes(4, "little")


def test_events() -> None:
    # The datagram IRQ field mirrors the ECAT event request: AL status change and SM1.
    assert r.EcatEvent(0x0028) == r.EcatEvent.AL_STATUS | r.EcatEvent.SM1
    assert r.AlEvent.SM0 == 1 << 8 and r.AlEvent.SM15 == 1 << 23


def test_reset_sequence_spells_res() -> None:
    assert bytes(r.ESC_RESET_SEQUENCE) == b"RES"


# ------------------------------------------------------------------------------ encoder checks
@pytest.mark.parametrize(
    "build",
    [
        lambda: r.PortDescriptor((r.PortType.EBUS,) * 3),
        lambda: r.EscFeatures(r.EscFeature(0x1_0000)),
        lambda: r.EscIdentity(256, 0, 0, 0, 0, 0, r.PortDescriptor((0, 0, 0, 0)), r.EscFeatures(r.EscFeature(0))),
        lambda: r.DlControl(rx_fifo_size=8),
        lambda: r.DlControl(loop_ports=(0, 0, 0, 4)),
        lambda: r.AlStatus(state=-1),
        lambda: r.AlStatusBlock(r.AlStatus(ALState.INIT), status_code=0x10000),
        lambda: r.ErrorCounters(lost_link=(0, 0, 0, 256)),
        lambda: r.SiiControlStatus(read_size=6),
        lambda: r.SiiControlStatus(address_bytes=3),
        lambda: r.SiiControlStatus(command=8),
        lambda: r.SiiAccess(r.SiiControlStatus(), address=-1),
        lambda: r.FmmuEntry(logical_start=0, length=1, physical_start=0, logical_stop_bit=8),
        lambda: r.FmmuEntry(logical_start=1 << 32, length=1, physical_start=0),
        lambda: r.SmControl(mode=4, direction=0),
        lambda: r.SmStatus(buffer_state=4),
        lambda: r.SyncManagerChannel(0, 0x10000, r.SmControl(0, 0)),
        lambda: r.DcReceiveTimes((0, 0, 0)),
        lambda: r.DcSystemTime(0, 0, 0, 0, system_time_difference=0x8000_0000),
        lambda: r.DcControlLoop(0x8000),
        lambda: r.DcControlLoop(0, speed_counter_diff=0x8000),
        lambda: r.DcCyclicUnit(pulse_length=0x10000),
        lambda: r.DcSyncTiming(0, 0, 1 << 32, 0),
    ],
)
def test_out_of_range_fields_raise_value_error(build) -> None:
    with pytest.raises(ValueError):
        build()


# ------------------------------------------------------------------------------ malformed input
def all_decoders():
    """(name, decoder, valid encoding) for every decoder of this module."""
    rng = random.Random(1)
    decoders = []
    for cls, strategy in VIEWS + SM_BYTE_VIEWS:
        example = cls.decode(bytes(rng.getrandbits(8) for _ in range(view_size(cls))))
        decoders.append((cls.__name__, cls.decode, example.encode()))
    fmmu = r.FmmuEntry(logical_start=0x1234, length=2, physical_start=0x1000, read=True, active=True)
    sm = r.SyncManagerChannel(0x1000, 8, r.SmControl(r.SmMode.BUFFERED, r.SmDirection.READ))
    decoders.append(("FmmuEntry.decode_table", r.FmmuEntry.decode_table, fmmu.encode() * 3))
    decoders.append(("SyncManagerChannel.decode_table", r.SyncManagerChannel.decode_table, sm.encode() * 4))
    return decoders


DECODERS = all_decoders()




@pytest.mark.parametrize("entry", DECODERS, ids=lambda e: e[0])
def test_fuzz_decoders_raise_only_protocol_error(entry) -> None:
    name, decode, valid = entry
    rng = random.Random(name)
    for _ in range(20_000):
        data = mutate(rng, valid)
        try:
            decode(data)
        except ProtocolError:
            pass


@pytest.mark.parametrize("entry", DECODERS, ids=lambda e: e[0])
@settings(max_examples=100, deadline=None)
@given(data=st.binary(max_size=300))
def test_hypothesis_decoders_raise_only_protocol_error(entry, data) -> None:
    _, decode, _ = entry
    try:
        decode(data)
    except ProtocolError:
        pass


@pytest.mark.parametrize("entry", VIEWS, ids=view_id)
def test_wrong_length_names_the_structure(entry) -> None:
    cls, _ = entry
    with pytest.raises(ProtocolError) as excinfo:
        cls.decode(bytes(cls.SIZE + 1))
    assert f"expected {cls.SIZE} bytes" in str(excinfo.value)
    assert excinfo.value.offset == cls.SIZE
    with pytest.raises(ProtocolError):
        cls.decode(b"")


def test_non_bytes_input_is_a_protocol_error() -> None:
    # bytes(5) would silently be five zero bytes; the decoders refuse anything not bytes-like.
    with pytest.raises(ProtocolError):
        r.AlStatus.decode(2)  # type: ignore[arg-type]
    with pytest.raises(ProtocolError):
        r.FmmuEntry.decode_table("x" * 16)  # type: ignore[arg-type]


def test_tables_reject_partial_and_oversized_input() -> None:
    fmmu = r.FmmuEntry(0, 1, 0).encode()
    with pytest.raises(ProtocolError):
        r.FmmuEntry.decode_table(fmmu + b"\x00")
    with pytest.raises(ProtocolError):
        r.FmmuEntry.decode_table(fmmu * (r.MAX_FMMUS + 1))
    assert r.FmmuEntry.decode_table(b"") == ()
