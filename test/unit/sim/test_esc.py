"""One simulated ESC: identity, write masks, addressing, working counters, FMMUs, AL states.

Expected values come from the ESC datasheets (Section I Table 7, Section II) and ETG.1000.6,
written out here independently of the simulator's tables.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ethercat_master.errors import ProtocolError
from ethercat_master.protocol.al_status import ALState, ALStatusCode
from ethercat_master.protocol.datagram import Command, Datagram, position_address, station_address
from ethercat_master.protocol.frame import Frame
from ethercat_master.protocol.registers import (
    AlStatusBlock,
    DlControl,
    DlStatus,
    EscFeature,
    EscIdentity,
    FmmuEntry,
    PortType,
    Register,
    fmmu_address,
)
from ethercat_master.sim import ALTransition, Esc, EscType, SlaveChain

RAM = 0x1000
U16 = struct.Struct("<H")


def run(chain: SlaveChain, *datagrams: Datagram) -> tuple[Datagram, ...]:
    """Send one frame with ``datagrams`` through ``chain``; return the returning datagrams."""
    reply = chain.process(Frame(datagrams).encode())
    assert reply is not None
    return Frame.decode(reply).datagrams


def aprd(offset: int, length: int, position: int = 0) -> Datagram:
    return Datagram(Command.APRD, 0, position_address(position, offset), bytes(length))


def apwr(offset: int, data: bytes, position: int = 0) -> Datagram:
    return Datagram(Command.APWR, 0, position_address(position, offset), data)


def fprd(station: int, offset: int, length: int) -> Datagram:
    return Datagram(Command.FPRD, 0, station_address(station, offset), bytes(length))


def fpwr(station: int, offset: int, data: bytes) -> Datagram:
    return Datagram(Command.FPWR, 0, station_address(station, offset), data)


def single(**kwargs) -> tuple[Esc, SlaveChain]:
    esc = Esc(**kwargs)
    return esc, SlaveChain([esc])


# ---------------------------------------------------------------------------------- identity
def test_identity_registers_come_from_the_constructor():
    esc, chain = single(esc_type=EscType.ET1200, revision=3, build=0x1234, fmmu_count=3,
                        sync_manager_count=4, ram_size_kib=1,
                        ports=(PortType.EBUS, PortType.EBUS, PortType.NOT_IMPLEMENTED, PortType.MII),
                        features=EscFeature.DISTRIBUTED_CLOCKS)
    (reply,) = run(chain, aprd(0x0000, EscIdentity.SIZE))
    assert reply.wkc == 1
    identity = EscIdentity.decode(reply.data)
    assert identity == esc.identity
    assert (identity.esc_type, identity.revision, identity.build) == (0x12, 3, 0x1234)
    assert (identity.fmmu_count, identity.sync_manager_count, identity.ram_size_kib) == (3, 4, 1)
    assert identity.port_descriptor.ports[3] is PortType.MII
    assert identity.features.dc_supported and not identity.features.dc_64bit
    assert esc.memory_size == RAM + 1024


def test_default_esc_is_an_et1100_with_dc():
    esc, chain = single()
    identity = EscIdentity.decode(run(chain, aprd(0, EscIdentity.SIZE))[0].data)
    assert identity.esc_type == 0x11
    assert (identity.fmmu_count, identity.sync_manager_count, identity.ram_size_kib) == (8, 8, 8)
    assert identity.features.dc_supported and identity.features.dc_64bit and identity.features.fmmu_bit_oriented


@pytest.mark.parametrize("kwargs", [
    {"fmmu_count": 17}, {"sync_manager_count": -1}, {"ram_size_kib": 0}, {"ram_size_kib": 61},
    {"ports": (PortType.NOT_IMPLEMENTED, PortType.MII, PortType.MII, PortType.MII)}, {"alias": 0x10000},
])
def test_invalid_configurations_are_rejected(kwargs):
    with pytest.raises(ValueError):
        Esc(**kwargs)


# ------------------------------------------------------------------------------ write masks
@pytest.mark.parametrize("address,length", [
    (Register.TYPE, 10),  # identity block
    (Register.CONFIGURED_STATION_ALIAS, 2),  # written from the EEPROM only
    (Register.DL_STATUS, 2),
    (Register.AL_STATUS, 2),
    (Register.AL_STATUS_CODE, 2),
    (Register.SYNC_MANAGER_BASE + 5, 1),  # SM status
    (Register.SYNC_MANAGER_BASE + 7, 1),  # SM PDI control
    (Register.POWER_ON_VALUES, 2),  # reserved for the simulated ESC
    (0x0F40, 4),  # reserved register area (between GPIO and user RAM)
])
def test_read_only_registers_ignore_ecat_writes_but_count(address, length):
    esc, chain = single()
    before = esc.pdi_read(address, length)
    (reply,) = run(chain, apwr(address, b"\xa5" * length))
    assert reply.wkc == 1  # the access itself succeeds
    assert esc.pdi_read(address, length) == before
    assert run(chain, aprd(address, length))[0].data == before


def test_only_the_writable_bits_of_a_register_change():
    esc, chain = single()
    run(chain, apwr(Register.DL_CONTROL, b"\xff\xff\xff\xff"))
    assert esc.pdi_read(Register.DL_CONTROL, 4) == bytes((0x03, 0xFF, 0xFF, 0x01))
    run(chain, apwr(fmmu_address(0), b"\xff" * 16))
    assert esc.pdi_read(fmmu_address(0), 16) == bytes((0xFF,) * 6 + (7, 7, 0xFF, 0xFF, 7, 3, 1, 0, 0, 0))


@pytest.mark.parametrize("register", [Register.DIGITAL_IO_OUTPUT_DATA, Register.GENERAL_PURPOSE_OUTPUTS,
                                      Register.USER_RAM])
def test_output_registers_and_user_ram_are_writable_from_ethercat(register):
    """Section II 2.17/2.18: ECAT r/w, whatever device layer sits on top."""
    esc, chain = single()
    data = bytes((0xA0 + i) & 0xFF for i in range(register.size))
    (reply,) = run(chain, apwr(register, data))
    assert reply.wkc == 1
    assert esc.pdi_read(register, register.size) == data
    assert run(chain, aprd(register, register.size))[0].data == data


def test_digital_outputs_are_bit_writable_through_logical_addressing():
    """Section II 2.17.1.1: 0x0F00 is bit-writable using logical addressing: a bit-wise FMMU
    changes only its bits of the register."""
    esc, chain = single()
    run(chain, apwr(Register.DIGITAL_IO_OUTPUT_DATA, b"\x81\x00\x00\x00"))
    configure_fmmu(chain, 0, FmmuEntry(logical_start=0x40, length=1, logical_start_bit=2, logical_stop_bit=5,
                                       physical_start=Register.DIGITAL_IO_OUTPUT_DATA, physical_start_bit=2,
                                       write=True, active=True))
    (reply,) = run(chain, Datagram(Command.LWR, 0, 0x40, b"\xff"))
    assert reply.wkc == 1
    assert esc.pdi_read(Register.DIGITAL_IO_OUTPUT_DATA, 1) == b"\xbd"  # bits 2-5 set, 0 and 7 kept


def test_fmmu_registers_exist_only_for_supported_fmmus():
    esc, chain = single(fmmu_count=2)
    entry = FmmuEntry(logical_start=0, length=1, physical_start=RAM, write=True, active=True)
    run(chain, apwr(fmmu_address(2), entry.encode()))
    assert esc.pdi_read(fmmu_address(2), 16) == bytes(16)
    (reply,) = run(chain, Datagram(Command.LWR, 0, 0, b"\x55"))
    assert reply.wkc == 0 and esc.pdi_read(RAM, 1) == b"\x00"


def test_pdi_written_configuration_is_used_by_the_esc():
    esc, chain = single()
    esc.pdi_write(Register.CONFIGURED_STATION_ADDRESS, U16.pack(0x0042))
    esc.pdi_write(fmmu_address(0), FmmuEntry(logical_start=0, length=1, physical_start=RAM, write=True,
                                             active=True).encode())
    station, logical = run(chain, fpwr(0x0042, RAM + 1, b"\x01"), Datagram(Command.LWR, 0, 0, b"\x02"))
    assert (station.wkc, logical.wkc) == (1, 1)
    assert esc.pdi_read(RAM, 2) == b"\x02\x01"


def test_pdi_side_writes_bypass_the_mask():
    esc, chain = single()
    esc.pdi_write(Register.AL_STATUS_CODE, b"\x1b\x00")
    assert run(chain, aprd(Register.AL_STATUS_CODE, 2))[0].data == b"\x1b\x00"


# --------------------------------------------------------------------------- addressing
def test_position_addressing_on_one_datagram_increments_adp():
    esc = Esc()
    esc.pdi_write(RAM, b"\x12\x34")
    frame = bytearray(Frame([aprd(RAM, 2, position=1)]).encode())
    assert esc.process_datagram(frame, 2) == len(frame)
    (dg,) = Frame.decode(frame).datagrams
    assert (dg.adp, dg.wkc, dg.data) == (0x0000, 0, b"\x00\x00")  # seen as -1: not addressed
    assert esc.process_datagram(frame, 2) == len(frame)
    (dg,) = Frame.decode(frame).datagrams
    assert (dg.adp, dg.wkc, dg.data) == (0x0001, 1, b"\x12\x34")


def test_process_datagram_rejects_a_datagram_past_the_buffer():
    frame = bytearray(Frame([aprd(RAM, 4)]).encode())
    with pytest.raises(ProtocolError):
        Esc().process_datagram(frame[:-3], 2)


def test_station_addressing_matches_the_configured_address_only():
    esc, chain = single()
    esc.pdi_write(RAM, b"\xab")
    set_station, hit, miss = run(chain, apwr(Register.CONFIGURED_STATION_ADDRESS, U16.pack(0x1001)),
                                 fprd(0x1001, RAM, 1), fprd(0x1002, RAM, 1))
    assert set_station.wkc == 1 and esc.station_address == 0x1001
    assert (hit.wkc, hit.data, hit.adp) == (1, b"\xab", 0x1001)  # FPxx leave ADP unchanged
    assert (miss.wkc, miss.data) == (0, b"\x00")


def test_alias_addressing_only_when_enabled_in_dl_control():
    esc, chain = single(alias=0x0777)
    esc.pdi_write(RAM, b"\x42")
    assert run(chain, fprd(0x0777, RAM, 1))[0].wkc == 0
    enable = DlControl(station_alias_enabled=True).encode()
    _, hit = run(chain, apwr(Register.DL_CONTROL, enable), fprd(0x0777, RAM, 1))
    assert esc.alias_enabled and (hit.wkc, hit.data) == (1, b"\x42")
    run(chain, apwr(Register.DL_CONTROL, DlControl().encode()))
    assert run(chain, fprd(0x0777, RAM, 1))[0].wkc == 0


def test_alias_is_not_writable_from_ethercat():
    esc, chain = single(alias=0x0100)
    run(chain, apwr(Register.CONFIGURED_STATION_ALIAS, b"\x00\x02"))
    assert esc.alias == 0x0100
    esc.alias = 0x0200  # the EEPROM load path
    assert run(chain, aprd(Register.CONFIGURED_STATION_ALIAS, 2))[0].data == b"\x00\x02"


def test_read_write_returns_old_data_and_honours_the_rw_offset():
    esc, chain = single()
    esc.pdi_write(RAM, b"\x11\x22")
    (reply,) = run(chain, Datagram(Command.APRW, 0, position_address(0, RAM), b"\xaa\xbb"))
    assert (reply.wkc, reply.data) == (3, b"\x11\x22")
    assert esc.pdi_read(RAM, 2) == b"\xaa\xbb"
    run(chain, apwr(Register.PHYSICAL_RW_OFFSET, U16.pack(0x10)))
    (reply,) = run(chain, Datagram(Command.APRW, 0, position_address(0, RAM), b"\xcc\xdd"))
    assert (reply.wkc, reply.data) == (3, b"\xaa\xbb")  # read at ADO
    assert esc.pdi_read(RAM, 2) == b"\xaa\xbb" and esc.pdi_read(RAM + 0x10, 2) == b"\xcc\xdd"  # written at ADO+0x10


def test_read_write_commands_can_be_unsupported():
    esc, chain = single(features=EscFeature.READ_WRITE_NOT_SUPPORTED)
    (reply,) = run(chain, Datagram(Command.APRW, 0, position_address(0, RAM), b"\x01"))
    assert (reply.wkc, reply.data) == (0, b"\x01") and esc.pdi_read(RAM, 1) == b"\x00"


def test_datagrams_past_the_end_of_memory_are_not_processed_nor_counted():
    esc, chain = single(ram_size_kib=8)
    end = esc.memory_size  # 0x3000
    esc.pdi_write(end - 1, b"\x5a")
    past_end = Datagram(Command.APRD, 0, position_address(0, end - 1), b"\xee\xee")
    last, past, write_past = run(chain, aprd(end - 1, 1), past_end, apwr(end - 1, b"\x01\x02"))
    assert (last.wkc, last.data) == (1, b"\x5a")
    assert (past.wkc, past.data) == (0, b"\xee\xee")
    assert write_past.wkc == 0 and esc.pdi_read(end - 1, 1) == b"\x5a"


def test_sixty_kib_ram_reaches_the_top_of_the_address_space():
    esc, chain = single(ram_size_kib=60)
    assert run(chain, apwr(0xFFFF, b"\x01"))[0].wkc == 1 and esc.pdi_read(0xFFFF, 1) == b"\x01"
    assert run(chain, apwr(0xFFFF, b"\x01\x02"))[0].wkc == 0


@settings(max_examples=60, deadline=None)
@given(offset=st.integers(0, 8 * 1024 - 1), data=st.binary(min_size=1, max_size=64))
def test_fpwr_fprd_round_trip_through_ram(offset, data):
    esc, chain = single()
    esc.pdi_write(RAM, b"\xc3" * 8 * 1024)
    address = RAM + offset
    fits = address + len(data) <= esc.memory_size
    set_station, written, read = run(chain, apwr(Register.CONFIGURED_STATION_ADDRESS, U16.pack(0x1234)),
                                     fpwr(0x1234, address, data), fprd(0x1234, address, len(data)))
    assert set_station.wkc == 1
    assert (written.wkc, read.wkc) == ((1, 1) if fits else (0, 0))
    if fits:
        assert read.data == data
        ram = esc.pdi_read(RAM, 8 * 1024)
        after = offset + len(data)
        assert ram[:offset] == b"\xc3" * offset and ram[after:] == b"\xc3" * (8 * 1024 - after)
    else:
        assert read.data == bytes(len(data)) and esc.pdi_read(RAM, 8 * 1024) == b"\xc3" * 8 * 1024


# --------------------------------------------------------------------------------- DL status
def test_dl_status_reports_ports_with_neighbours():
    first, last = Esc(), Esc()
    chain = SlaveChain([first, last])
    first_status = DlStatus.decode(run(chain, aprd(Register.DL_STATUS, 2, position=0))[0].data)
    last_status = DlStatus.decode(run(chain, aprd(Register.DL_STATUS, 2, position=1))[0].data)
    assert first_status.pdi_operational
    for port in (0, 1):
        assert first_status.physical_link(port) and first_status.communication(port)
        assert not first_status.loop_closed(port)
    assert last_status.physical_link(0) and not last_status.loop_closed(0)
    assert not last_status.physical_link(1) and last_status.loop_closed(1)
    assert last_status.loop_closed(2) and last_status.loop_closed(3)
    assert last.pdi_read(Register.DL_STATUS + 1, 1) == b"\x56"  # Section II Table 2: port 0 link/open only
    assert first.pdi_read(Register.DL_STATUS + 1, 1) == b"\x5a"


def test_a_neighbour_on_an_unimplemented_port_is_rejected():
    with pytest.raises(ValueError):
        Esc().set_links((0, 2))


# ------------------------------------------------------------------------------- counters
def test_error_counters_saturate_and_clear_on_write_by_group():
    esc, chain = single()
    for _ in range(300):
        esc.count_invalid_frame()
    esc.count_forwarded_error()
    esc.pdi_write(Register.LOST_LINK_COUNTER_PORT0, b"\x07")
    assert esc.pdi_read(Register.RX_ERROR_COUNTER_PORT0, 1) == b"\xff"
    (reply,) = run(chain, apwr(Register.RX_ERROR_COUNTER_PORT0, b"\x33"))  # value ignored
    assert reply.wkc == 1
    assert esc.pdi_read(Register.RX_ERROR_COUNTER_PORT0, 12) == bytes(12)  # RX and forwarded RX group
    assert esc.pdi_read(Register.LOST_LINK_COUNTER_PORT0, 1) == b"\x07"  # other group untouched
    run(chain, apwr(Register.LOST_LINK_COUNTER_PORT2, b"\x00"))
    assert esc.pdi_read(Register.LOST_LINK_COUNTER_PORT0, 4) == bytes(4)


# -------------------------------------------------------------------------- FMMU mapping
def configure_fmmu(chain: SlaveChain, index: int, entry: FmmuEntry, position: int = 0) -> None:
    assert run(chain, apwr(fmmu_address(index), entry.encode(), position))[0].wkc == 1


#: Section I Figure 21: 14 bits from logical 0x00010011.3 to 0x00010013.0; here mapped to RAM
#: 0x1001.1-0x1002.6 instead of the digital output register 0x0F01.
FIGURE_21 = dict(logical_start=0x00010011, length=3, logical_start_bit=3, logical_stop_bit=0,
                 physical_start=RAM + 1, physical_start_bit=1, active=True)


def test_bitwise_fmmu_write_changes_only_the_mapped_bits():
    esc, chain = single()
    configure_fmmu(chain, 0, FmmuEntry(**FIGURE_21, write=True))
    (reply,) = run(chain, Datagram(Command.LWR, 0, 0x00010010, b"\xff" * 5))
    assert reply.wkc == 1
    assert esc.pdi_read(RAM, 4) == b"\x00\xfe\x7f\x00"
    esc.pdi_write(RAM, b"\xff\xff\xff\xff")
    run(chain, Datagram(Command.LWR, 0, 0x00010010, bytes(5)))
    assert esc.pdi_read(RAM, 4) == b"\xff\x01\x80\xff"


def test_bitwise_fmmu_read_replaces_the_mapped_bits_of_the_datagram():
    esc, chain = single()
    configure_fmmu(chain, 0, FmmuEntry(**FIGURE_21, read=True))
    esc.pdi_write(RAM, b"\x00\xfe\x7f\x00")
    (reply,) = run(chain, Datagram(Command.LRD, 0, 0x00010010, bytes(5)))
    assert (reply.wkc, reply.data) == (1, b"\x00\xf8\xff\x01\x00")
    esc.pdi_write(RAM, bytes(4))
    (reply,) = run(chain, Datagram(Command.LRD, 0, 0x00010010, b"\xff" * 5))
    assert reply.data == b"\xff\x07\x00\xfe\xff"  # mapped bits replaced by 0, not ORed


def test_partial_overlap_of_datagram_and_fmmu():
    esc, chain = single()
    configure_fmmu(chain, 0, FmmuEntry(logical_start=0x100, length=4, physical_start=RAM, read=True, active=True))
    esc.pdi_write(RAM, b"\x01\x02\x03\x04")
    (reply,) = run(chain, Datagram(Command.LRD, 0, 0x102, b"\xee" * 4))
    assert (reply.wkc, reply.data) == (1, b"\x03\x04\xee\xee")
    assert run(chain, Datagram(Command.LRD, 0, 0x104, bytes(4)))[0].wkc == 0  # adjacent, no overlap


@pytest.mark.parametrize("read,write,command,wkc", [
    (True, False, Command.LRD, 1), (True, False, Command.LWR, 0), (True, False, Command.LRW, 1),
    (False, True, Command.LRD, 0), (False, True, Command.LWR, 1), (False, True, Command.LRW, 2),
    (True, True, Command.LRD, 1), (True, True, Command.LWR, 1), (True, True, Command.LRW, 3),
])
def test_logical_working_counter(read, write, command, wkc):
    esc, chain = single()
    configure_fmmu(chain, 0, FmmuEntry(logical_start=0x1000, length=2, physical_start=RAM, read=read, write=write,
                                       active=True))
    assert run(chain, Datagram(command, 0, 0x1000, bytes(2)))[0].wkc == wkc


def test_inactive_fmmu_maps_nothing():
    esc, chain = single()
    configure_fmmu(chain, 0, FmmuEntry(logical_start=0, length=2, physical_start=RAM, read=True, write=True))
    assert run(chain, Datagram(Command.LRW, 0, 0, b"\x01\x02"))[0].wkc == 0
    assert esc.pdi_read(RAM, 2) == bytes(2)


def test_several_fmmus_count_once_per_direction():
    esc, chain = single()
    configure_fmmu(chain, 0, FmmuEntry(logical_start=0, length=1, physical_start=RAM, read=True, active=True))
    configure_fmmu(chain, 1, FmmuEntry(logical_start=1, length=1, physical_start=RAM + 8, read=True, active=True))
    configure_fmmu(chain, 2, FmmuEntry(logical_start=2, length=1, physical_start=RAM + 16, write=True, active=True))
    configure_fmmu(chain, 3, FmmuEntry(logical_start=3, length=1, physical_start=RAM + 24, write=True, active=True))
    esc.pdi_write(RAM, b"\x0a")
    esc.pdi_write(RAM + 8, b"\x0b")
    (reply,) = run(chain, Datagram(Command.LRW, 0, 0, b"\x00\x00\x0c\x0d"))
    assert (reply.wkc, reply.data) == (3, b"\x0a\x0b\x0c\x0d")
    assert esc.pdi_read(RAM + 16, 1) == b"\x0c" and esc.pdi_read(RAM + 24, 1) == b"\x0d"


def test_lrw_reads_before_it_writes_the_same_memory():
    esc, chain = single()
    configure_fmmu(chain, 0, FmmuEntry(logical_start=0x10, length=2, physical_start=RAM, read=True, write=True,
                                       active=True))
    esc.pdi_write(RAM, b"\x01\x02")
    (reply,) = run(chain, Datagram(Command.LRW, 0, 0x10, b"\xa1\xa2"))
    assert (reply.wkc, reply.data) == (3, b"\x01\x02")
    assert esc.pdi_read(RAM, 2) == b"\xa1\xa2"


def test_lrw_writes_incoming_data_when_inputs_share_the_logical_range():
    esc, chain = single()  # SOEM "overlapping" mapping: outputs and inputs on one logical range
    configure_fmmu(chain, 0, FmmuEntry(logical_start=0, length=2, physical_start=RAM, write=True, active=True))
    configure_fmmu(chain, 1, FmmuEntry(logical_start=0, length=2, physical_start=RAM + 0x100, read=True, active=True))
    esc.pdi_write(RAM + 0x100, b"\x1e\x2e")
    (reply,) = run(chain, Datagram(Command.LRW, 0, 0, b"\x0a\x0b"))
    assert (reply.wkc, reply.data) == (3, b"\x1e\x2e")
    assert esc.pdi_read(RAM, 2) == b"\x0a\x0b"


def test_lrw_can_be_unsupported():
    esc, chain = single(features=EscFeature.LRW_NOT_SUPPORTED)
    configure_fmmu(chain, 0, FmmuEntry(logical_start=0, length=1, physical_start=RAM, read=True, write=True,
                                       active=True))
    assert run(chain, Datagram(Command.LRW, 0, 0, b"\x01"))[0].wkc == 0
    assert run(chain, Datagram(Command.LWR, 0, 0, b"\x01"))[0].wkc == 1


def test_byte_oriented_fmmus_ignore_the_bit_fields():
    esc, chain = single(features=EscFeature.FMMU_BYTE_ORIENTED)
    configure_fmmu(chain, 0, FmmuEntry(**FIGURE_21, write=True))
    run(chain, Datagram(Command.LWR, 0, 0x00010010, b"\xff" * 5))
    assert esc.pdi_read(RAM, 4) == b"\x00\xff\xff\xff"


def test_fmmu_writes_respect_the_register_write_mask():
    esc, chain = single()
    configure_fmmu(chain, 0, FmmuEntry(logical_start=0, length=2, physical_start=Register.AL_STATUS, write=True,
                                       active=True))
    assert run(chain, Datagram(Command.LWR, 0, 0, b"\x08\x00"))[0].wkc == 1
    assert esc.al_state is ALState.INIT


# ------------------------------------------------------------------------- AL state machine
def request(chain: SlaveChain, state: int, ack: bool = False) -> AlStatusBlock:
    value = state | (0x10 if ack else 0)
    write, read = run(chain, apwr(Register.AL_CONTROL, U16.pack(value)), aprd(Register.AL_STATUS, AlStatusBlock.SIZE))
    assert write.wkc == 1 and read.wkc == 1
    return AlStatusBlock.decode(read.data)


def test_the_usual_startup_and_shutdown_sequence():
    esc, chain = single()
    assert esc.al_state is ALState.INIT and not esc.al_error
    for state in (ALState.PREOP, ALState.SAFEOP, ALState.OP, ALState.SAFEOP, ALState.PREOP, ALState.INIT):
        block = request(chain, state)
        assert (block.status.state, block.status.error, block.status_code) == (state, False, 0)


#: ETG.1000.6 state transitions, written out: (from, to) pairs that succeed.
VALID = {
    ("INIT", "INIT"), ("INIT", "PREOP"), ("INIT", "BOOT"),
    ("PREOP", "INIT"), ("PREOP", "PREOP"), ("PREOP", "SAFEOP"),
    ("SAFEOP", "INIT"), ("SAFEOP", "PREOP"), ("SAFEOP", "SAFEOP"), ("SAFEOP", "OP"),
    ("OP", "INIT"), ("OP", "PREOP"), ("OP", "SAFEOP"), ("OP", "OP"),
    ("BOOT", "INIT"), ("BOOT", "BOOT"),
}


@pytest.mark.parametrize("current", list(ALState))
@pytest.mark.parametrize("requested", list(ALState))
def test_transition_table(current, requested):
    esc, chain = single()
    esc.set_al_status(current)
    block = request(chain, requested)
    if (current.name, requested.name) in VALID:
        assert (block.status.state, block.status.error, block.status_code) == (requested, False, 0)
    else:
        stays = ALState.SAFEOP if current is ALState.OP else current
        assert (block.status.state, block.status.error) == (stays, True)
        assert block.status_code == ALStatusCode.INVALID_REQUESTED_STATE_CHANGE == 0x0011


@pytest.mark.parametrize("value", [0x0, 0x5, 0x6, 0x7, 0x9, 0xF])
def test_unknown_state_is_refused_with_0x0012(value):
    esc, chain = single()
    block = request(chain, value)
    assert (block.status.state, block.status.error, block.status_code) == (ALState.INIT, True, 0x0012)


def test_unknown_state_request_takes_a_slave_out_of_op():
    esc, chain = single()
    esc.set_al_status(ALState.OP)
    block = request(chain, 0x5)
    assert (block.status.state, block.status.error, block.status_code) == (ALState.SAFEOP, True, 0x0012)


def test_error_must_be_acknowledged_before_a_new_request():
    esc, chain = single()
    request(chain, ALState.OP)  # INIT -> OP: refused
    assert esc.al_error and esc.al_status_code == 0x0011
    block = request(chain, ALState.PREOP)  # ignored while the error is not acknowledged
    assert (block.status.state, block.status.error, block.status_code) == (ALState.INIT, True, 0x0011)
    block = request(chain, ALState.PREOP, ack=True)
    assert (block.status.state, block.status.error, block.status_code) == (ALState.PREOP, False, 0)


def test_acknowledge_with_the_current_state_clears_the_error():
    esc, chain = single()
    esc.set_al_status(ALState.SAFEOP, ALStatusCode.SYNC_MANAGER_WATCHDOG)
    assert esc.al_error and esc.al_state is ALState.SAFEOP
    block = request(chain, ALState.SAFEOP, ack=True)
    assert (block.status.state, block.status.error, block.status_code) == (ALState.SAFEOP, False, 0)


def test_init_request_is_accepted_without_acknowledge():
    esc, chain = single()
    esc.set_al_status(ALState.PREOP, ALStatusCode.INVALID_SYNC_MANAGER_CONFIGURATION)
    block = request(chain, ALState.INIT)
    assert (block.status.state, block.status.error, block.status_code) == (ALState.INIT, False, 0)


def test_bootstrap_can_be_unsupported():
    esc, chain = single(bootstrap=False)
    block = request(chain, ALState.BOOT)
    assert (block.status.state, block.status.error, block.status_code) == (ALState.INIT, True, 0x0013)


def test_a_subclass_judges_requests_in_al_transition():
    class NeedsMailbox(Esc):
        def al_transition(self, current, requested):
            if requested == ALState.PREOP:
                return ALTransition(ALState.INIT, ALStatusCode.INVALID_MAILBOX_CONFIGURATION_PREOP)
            return super().al_transition(current, requested)

    chain = SlaveChain([NeedsMailbox()])
    block = request(chain, ALState.PREOP)
    assert (block.status.state, block.status.error, block.status_code) == (ALState.INIT, True, 0x0016)


def test_al_control_reads_back_what_the_master_wrote():
    esc, chain = single()
    request(chain, ALState.PREOP)
    assert run(chain, aprd(Register.AL_CONTROL, 2))[0].data == U16.pack(ALState.PREOP)
