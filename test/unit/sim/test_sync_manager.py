"""SyncManagers of the simulated ESC: register locking, mailbox and buffered access rules seen
through real datagrams, the process data watchdog, and the AL checks of the SyncManager layout.

Expected behaviour is written out from the ESC datasheet (Section I chapter 8, Section II
0x0400-0x0443 and 0x0800-0x087F) and the reference slave stacks' AL status codes, independently
of the simulator's code.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ethercat_master.protocol.al_status import ALState
from ethercat_master.protocol.datagram import Command, Datagram, station_address
from ethercat_master.protocol.frame import ECAT_HEADER_SIZE, Frame
from ethercat_master.protocol.registers import (
    AlStatusBlock,
    FmmuEntry,
    Register,
    SmActivate,
    SmControl,
    SmDirection,
    SmMode,
    SmStatus,
    SyncManagerChannel,
    fmmu_address,
    sync_manager_address,
)
from ethercat_master.sim.esc import Esc
from ethercat_master.sim.sync_manager import (
    ExpectedSyncManager,
    MailboxLayout,
    SyncManagerLayout,
)

STATION = 0x1001
U16 = struct.Struct("<H")
MBX_OUT, MBX_IN, OUTPUTS, INPUTS = 0x1000, 0x1100, 0x1200, 0x1300
WRITE, READ = SmDirection.WRITE, SmDirection.READ
BUFFERED, MAILBOX = SmMode.BUFFERED, SmMode.MAILBOX


# ------------------------------------------------------------------------------- helpers
def cycle(esc: Esc, *datagrams: Datagram) -> tuple[Datagram, ...]:
    """One frame through one slave (datagram by datagram), then the end of the frame."""
    frame = bytearray(Frame(datagrams).encode())
    offset = ECAT_HEADER_SIZE
    for _ in datagrams:
        offset = esc.process_datagram(frame, offset)
    esc.frame_end()
    return Frame.decode(frame).datagrams


def fprd(offset: int, length: int) -> Datagram:
    return Datagram(Command.FPRD, 0, station_address(STATION, offset), bytes(length))


def fpwr(offset: int, data: bytes) -> Datagram:
    return Datagram(Command.FPWR, 0, station_address(STATION, offset), data)


def channel(start: int, length: int, mode: SmMode, direction: SmDirection, *, enable: bool = True,
            watchdog: bool = False) -> bytes:
    return SyncManagerChannel(start, length, SmControl(mode, direction, watchdog=watchdog),
                              activate=SmActivate.ENABLE if enable else SmActivate(0)).encode()


def slave(**kwargs) -> Esc:
    esc = Esc(**kwargs)
    assert cycle(esc, Datagram(Command.APWR, 0, Register.CONFIGURED_STATION_ADDRESS << 16,
                               U16.pack(STATION)))[0].wkc == 1
    return esc


def configure(esc: Esc, index: int, start: int, length: int, mode: SmMode, direction: SmDirection,
              **kwargs) -> None:
    (reply,) = cycle(esc, fpwr(sync_manager_address(index), channel(start, length, mode, direction, **kwargs)))
    assert reply.wkc == 1


def status(esc: Esc, index: int) -> SmStatus:
    (reply,) = cycle(esc, fprd(sync_manager_address(index) + 5, 1))
    return SmStatus.decode(reply.data)


def request(esc: Esc, state: int, ack: bool = False) -> AlStatusBlock:
    write, read = cycle(esc, fpwr(Register.AL_CONTROL, U16.pack(state | (0x10 if ack else 0))),
                        fprd(Register.AL_STATUS, AlStatusBlock.SIZE))
    assert write.wkc == 1
    return AlStatusBlock.decode(read.data)


# ------------------------------------------------------------------------------ registers
def test_configuration_registers_are_locked_while_the_sync_manager_is_enabled():
    esc = slave()
    configure(esc, 2, OUTPUTS, 4, BUFFERED, WRITE)
    # Section II: start, length and control are r/(w): writable only while disabled
    (reply,) = cycle(esc, fpwr(sync_manager_address(2), channel(0x1800, 8, MAILBOX, READ)))
    assert reply.wkc == 1  # the register write itself is a successful access
    assert SyncManagerChannel.decode(cycle(esc, fprd(sync_manager_address(2), 8))[0].data).physical_start == OUTPUTS
    assert esc.sync_managers[2].start == OUTPUTS and not esc.sync_managers[2].mailbox
    # the activate register stays writable: disable, then reconfigure
    cycle(esc, fpwr(sync_manager_address(2) + 6, b"\x00"))
    configure(esc, 2, 0x1800, 8, MAILBOX, READ)
    read_back = SyncManagerChannel.decode(cycle(esc, fprd(sync_manager_address(2), 8))[0].data)
    assert (read_back.physical_start, read_back.length, read_back.control.mode) == (0x1800, 8, MAILBOX)


def test_a_single_write_may_configure_and_enable_at_once():
    esc = slave()
    configure(esc, 0, MBX_OUT, 32, MAILBOX, WRITE)  # what SOEM and IgH do: one FPWR of 8 bytes
    assert esc.sync_managers[0].active and esc.sync_managers[0].start == MBX_OUT


def test_status_and_pdi_control_are_read_only_from_ecat():
    esc = slave()
    configure(esc, 1, MBX_IN, 32, MAILBOX, READ)
    cycle(esc, fpwr(sync_manager_address(1) + 5, b"\xff"), fpwr(sync_manager_address(1) + 7, b"\xff"))
    assert not status(esc, 1).mailbox_full
    assert esc.sync_managers[1].active  # not deactivated through the PDI control register


def test_length_zero_does_not_activate_the_sync_manager():
    esc = slave()
    configure(esc, 2, OUTPUTS, 0, BUFFERED, WRITE)
    assert not esc.sync_managers[2].active
    assert cycle(esc, fpwr(OUTPUTS, b"\x01\x02"))[0].wkc == 1  # plain memory
    assert esc.pdi_read(OUTPUTS, 2) == b"\x01\x02"


# -------------------------------------------------------------------------------- mailbox
def test_master_to_slave_mailbox_fills_with_its_last_byte_and_refuses_more():
    esc = slave()
    configure(esc, 0, MBX_OUT, 16, MAILBOX, WRITE)
    (first,) = cycle(esc, fpwr(MBX_OUT, b"\x11" * 8))  # opens, does not complete
    assert first.wkc == 1 and not status(esc, 0).mailbox_full
    (rest,) = cycle(esc, fpwr(MBX_OUT + 8, b"\x22" * 8))  # includes the last byte: full
    assert rest.wkc == 1
    full = status(esc, 0)
    assert full.mailbox_full and full.interrupt_write
    (refused,) = cycle(esc, fpwr(MBX_OUT, b"\x33" * 16))  # write to a full mailbox: WKC 0
    assert refused.wkc == 0
    assert esc.pdi_read(MBX_OUT, 16) == b"\x11" * 8 + b"\x22" * 8  # the PDI reads it: empty
    emptied = status(esc, 0)
    assert not emptied.mailbox_full and emptied.interrupt_read and not emptied.interrupt_write
    assert cycle(esc, fpwr(MBX_OUT, b"\x44" * 16))[0].wkc == 1


def test_an_access_must_begin_at_the_start_address():
    esc = slave()
    configure(esc, 0, MBX_OUT, 16, MAILBOX, WRITE)
    (reply,) = cycle(esc, fpwr(MBX_OUT + 8, b"\x22" * 8))  # last byte, but the buffer is not open
    assert reply.wkc == 0 and not status(esc, 0).mailbox_full
    configure(esc, 1, MBX_IN, 16, MAILBOX, READ)
    esc.pdi_write(MBX_IN, bytes(range(16)))
    (reply,) = cycle(esc, fprd(MBX_IN + 8, 8))
    assert reply.wkc == 0 and reply.data == bytes(8) and status(esc, 1).mailbox_full


def test_slave_to_master_mailbox_is_readable_only_when_full():
    esc = slave()
    configure(esc, 1, MBX_IN, 16, MAILBOX, READ)
    (empty,) = cycle(esc, fprd(MBX_IN, 16))
    assert empty.wkc == 0 and empty.data == bytes(16)  # nothing inserted, not counted
    assert esc.pdi_write(MBX_IN, bytes(range(16)))
    assert status(esc, 1).mailbox_full
    assert not esc.pdi_write(MBX_IN, b"\xff" * 16)  # the PDI cannot write a full mailbox
    (read,) = cycle(esc, fprd(MBX_IN, 16))
    assert read.wkc == 1 and read.data == bytes(range(16))
    after = status(esc, 1)
    assert not after.mailbox_full and after.interrupt_read
    assert cycle(esc, fprd(MBX_IN, 16))[0].wkc == 0


def test_reading_without_the_last_byte_keeps_the_mailbox_full():
    esc = slave()
    configure(esc, 1, MBX_IN, 16, MAILBOX, READ)
    esc.pdi_write(MBX_IN, bytes(range(16)))
    assert cycle(esc, fprd(MBX_IN, 8))[0].data == bytes(range(8))
    assert status(esc, 1).mailbox_full
    assert cycle(esc, fprd(MBX_IN + 8, 8))[0].data == bytes(range(8, 16))  # open: may continue
    assert not status(esc, 1).mailbox_full


@pytest.mark.parametrize("mode", [MAILBOX, BUFFERED])
def test_an_access_in_the_wrong_direction_is_denied(mode):
    esc = slave()
    configure(esc, 0, MBX_OUT, 16, mode, WRITE)
    configure(esc, 1, MBX_IN, 16, mode, READ)
    assert cycle(esc, fpwr(MBX_OUT, bytes(range(16))))[0].wkc == 1  # full / written
    assert cycle(esc, fprd(MBX_OUT, 16))[0].wkc == 0  # ECAT reading what ECAT writes
    assert esc.pdi_write(MBX_IN, bytes(range(1, 17)))
    assert cycle(esc, fpwr(MBX_IN, bytes(16)))[0].wkc == 0  # ECAT writing what ECAT reads
    assert not esc.pdi_write(MBX_OUT, bytes(16))  # and the same from the PDI side
    assert esc.pdi_read(MBX_IN, 16) == bytes(16)  # denied bytes read as 0
    assert cycle(esc, fprd(MBX_IN, 16))[0].data == bytes(range(1, 17))


def test_disabling_the_sync_manager_from_ecat_resets_the_mailbox():
    esc = slave()
    configure(esc, 0, MBX_OUT, 16, MAILBOX, WRITE)
    cycle(esc, fpwr(MBX_OUT, bytes(16)))
    assert status(esc, 0).mailbox_full
    cycle(esc, fpwr(sync_manager_address(0) + 6, b"\x00"), fpwr(sync_manager_address(0) + 6, b"\x01"))
    assert not status(esc, 0).mailbox_full
    assert cycle(esc, fpwr(MBX_OUT, bytes(16)))[0].wkc == 1


def test_a_sync_manager_deactivated_by_the_pdi_protects_its_area_and_resets():
    esc = slave()
    configure(esc, 1, MBX_IN, 16, MAILBOX, READ)
    esc.pdi_write(MBX_IN, bytes(16))
    esc.pdi_write(sync_manager_address(1) + 7, b"\x01")  # PDI control: deactivate
    assert cycle(esc, fprd(MBX_IN, 16))[0].wkc == 0
    assert cycle(esc, fprd(sync_manager_address(1) + 7, 1))[0].data == b"\x01"
    esc.pdi_write(sync_manager_address(1) + 7, b"\x00")
    assert not status(esc, 1).mailbox_full  # reset: has to be written first after reactivation


# ------------------------------------------------------------------------------- buffered
def test_buffered_outputs_become_visible_only_when_written_completely():
    esc = slave()
    configure(esc, 2, OUTPUTS, 4, BUFFERED, WRITE)
    assert status(esc, 2).buffer_state == 3  # nothing written yet
    cycle(esc, fpwr(OUTPUTS, b"\x01\x02\x03\x04"))
    assert status(esc, 2).buffer_state == 0
    assert esc.pdi_read(OUTPUTS, 4) == b"\x01\x02\x03\x04"
    cycle(esc, fpwr(OUTPUTS, b"\x05\x06"))  # opens a buffer, never completes it
    assert esc.pdi_read(OUTPUTS, 4) == b"\x01\x02\x03\x04"
    cycle(esc, fpwr(OUTPUTS + 2, b"\x07\x08"))  # completes it: the frame's bytes together
    assert esc.pdi_read(OUTPUTS, 4) == b"\x05\x06\x07\x08"
    assert status(esc, 2).buffer_state == 1


def test_the_three_buffers_follow_each_other_in_memory():
    esc = slave()
    configure(esc, 2, OUTPUTS, 4, BUFFERED, WRITE)
    cycle(esc, fpwr(OUTPUTS, b"\xaa" * 4))
    cycle(esc, fpwr(OUTPUTS, b"\xbb" * 4))
    # buffers 1 and 2 lie behind buffer 0 and are plain memory for a direct access
    assert cycle(esc, fprd(OUTPUTS + 4, 4))[0].data == b"\xbb" * 4
    assert status(esc, 2).buffer_state == 1


def test_the_consumer_keeps_its_buffer_while_it_reads():
    esc = slave()
    configure(esc, 3, INPUTS, 4, BUFFERED, READ)
    esc.pdi_write(INPUTS, b"\x01\x02\x03\x04")
    (first_half,) = cycle(esc, fprd(INPUTS, 2))  # opens the newest buffer
    esc.pdi_write(INPUTS, b"\x05\x06\x07\x08")  # the application publishes a newer one meanwhile
    (second_half,) = cycle(esc, fprd(INPUTS + 2, 2))
    assert first_half.data + second_half.data == b"\x01\x02\x03\x04"  # consistent
    assert cycle(esc, fprd(INPUTS, 4))[0].data == b"\x05\x06\x07\x08"


def test_newest_complete_input_buffer_wins_and_partial_ones_stay_hidden():
    esc = slave()
    configure(esc, 3, INPUTS, 4, BUFFERED, READ)
    esc.pdi_write(INPUTS, b"\x01" * 4)
    esc.pdi_write(INPUTS, b"\x02" * 4)  # written faster than read: the old one is dropped
    esc.pdi_write(INPUTS, b"\x03" * 2)  # incomplete
    assert cycle(esc, fprd(INPUTS, 4))[0].data == b"\x02" * 4
    assert cycle(esc, fprd(INPUTS, 4))[0].data == b"\x02" * 4  # buffered mode never blocks


def test_the_end_address_cannot_be_accessed_twice_in_a_frame():
    esc = slave()
    configure(esc, 2, OUTPUTS, 4, BUFFERED, WRITE)
    first, second = cycle(esc, fpwr(OUTPUTS, b"\x01" * 4), fpwr(OUTPUTS, b"\x02" * 4))
    assert (first.wkc, second.wkc) == (1, 0)
    assert esc.pdi_read(OUTPUTS, 4) == b"\x01" * 4
    assert cycle(esc, fpwr(OUTPUTS, b"\x03" * 4))[0].wkc == 1  # the next frame may


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.binary(min_size=4, max_size=4)), min_size=1, max_size=12))
def test_the_pdi_always_reads_the_newest_complete_output_buffer(writes):
    """A model of 3-buffer mode: complete writes publish, incomplete ones are invisible."""
    esc = slave()
    configure(esc, 2, OUTPUTS, 4, BUFFERED, WRITE)
    newest = None
    for complete, data in writes:
        cycle(esc, fpwr(OUTPUTS, data if complete else data[:3]))
        if complete:
            newest = data
        if newest is not None:
            assert esc.pdi_read(OUTPUTS, 4) == newest


def test_lrw_through_fmmus_onto_buffered_sync_managers():
    esc = slave()
    configure(esc, 2, OUTPUTS, 2, BUFFERED, WRITE)
    configure(esc, 3, INPUTS, 2, BUFFERED, READ)
    for index, entry in enumerate((FmmuEntry(logical_start=0, length=2, physical_start=OUTPUTS, write=True, active=True),
                                   FmmuEntry(logical_start=2, length=2, physical_start=INPUTS, read=True, active=True))):
        cycle(esc, fpwr(fmmu_address(index), entry.encode()))
    esc.pdi_write(INPUTS, b"\x5a\xa5")
    (reply,) = cycle(esc, Datagram(Command.LRW, 0, 0, b"\x12\x34\x00\x00"))
    assert reply.wkc == 3 and reply.data == b"\x12\x34\x5a\xa5"
    assert esc.pdi_read(OUTPUTS, 2) == b"\x12\x34"
    # the inputs' buffer was read completely: a second LRW in the same frame gets nothing
    first, second = cycle(esc, Datagram(Command.LRD, 0, 2, b"\x00\x00"), Datagram(Command.LRD, 0, 2, b"\x00\x00"))
    assert (first.wkc, second.wkc) == (1, 0)


# ------------------------------------------------------------------------------- watchdog
class Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def running_outputs(clock: Clock, *, watchdog: bool = True) -> Esc:
    esc = slave(clock=clock)
    configure(esc, 2, OUTPUTS, 2, BUFFERED, WRITE, watchdog=watchdog)
    for state in (ALState.PREOP, ALState.SAFEOP, ALState.OP):
        assert request(esc, state).status.state is state
    return esc


def test_watchdog_expiry_takes_an_op_slave_to_safeop_with_0x001b():
    clock = Clock()
    esc = running_outputs(clock)
    for _ in range(5):  # outputs every 50 ms keep it alive (default time 100 ms)
        cycle(esc, fpwr(OUTPUTS, b"\x01\x02"))
        clock.now += 50_000_000
    assert esc.al_state is ALState.OP
    clock.now += 60_000_000  # 110 ms since the last write
    block = AlStatusBlock.decode(cycle(esc, fprd(Register.AL_STATUS, AlStatusBlock.SIZE))[0].data)
    assert (block.status.state, block.status.error, block.status_code) == (ALState.SAFEOP, True, 0x001B)
    wd_status, counter = cycle(esc, fprd(Register.WATCHDOG_STATUS_PROCESS_DATA, 2),
                               fprd(Register.WATCHDOG_COUNTER_PROCESS_DATA, 1))
    assert U16.unpack(wd_status.data)[0] & 1 == 0 and counter.data == b"\x01"
    cycle(esc, fpwr(OUTPUTS, b"\x01\x02"))  # triggered again: active
    assert U16.unpack(cycle(esc, fprd(Register.WATCHDOG_STATUS_PROCESS_DATA, 2))[0].data)[0] & 1 == 1


def test_watchdog_time_is_divider_plus_two_times_40_ns_per_increment():
    clock = Clock()
    esc = running_outputs(clock)
    # 1 ms: divider 2498 (100 us per increment) x 10 increments
    cycle(esc, fpwr(Register.WATCHDOG_TIME_PROCESS_DATA, U16.pack(10)))
    cycle(esc, fpwr(OUTPUTS, b"\x00\x00"))
    clock.now += 999_999
    cycle(esc, fprd(Register.AL_STATUS, 2))
    assert esc.al_state is ALState.OP
    clock.now += 1
    cycle(esc, fprd(Register.AL_STATUS, 2))
    assert esc.al_state is ALState.SAFEOP and esc.al_status_code == 0x001B


def test_an_expiry_before_op_does_not_count_in_op():
    clock = Clock()
    esc = slave(clock=clock)
    configure(esc, 2, OUTPUTS, 2, BUFFERED, WRITE, watchdog=True)
    request(esc, ALState.PREOP)
    request(esc, ALState.SAFEOP)
    cycle(esc, fpwr(OUTPUTS, b"\x00\x00"))
    clock.now += 500_000_000  # the master pauses in SAFE-OP: the watchdog expires there
    cycle(esc, fprd(Register.AL_STATUS, 2))
    assert esc.al_state is ALState.SAFEOP and not esc.al_error
    assert request(esc, ALState.OP).status.state is ALState.OP
    cycle(esc, fpwr(OUTPUTS, b"\x01\x00"))
    clock.now += 50_000_000
    cycle(esc, fprd(Register.AL_STATUS, 2))
    assert esc.al_state is ALState.OP
    clock.now += 60_000_000
    cycle(esc, fprd(Register.AL_STATUS, 2))
    assert esc.al_state is ALState.SAFEOP and esc.al_status_code == 0x001B


@pytest.mark.parametrize("case", ["disabled", "no trigger bit", "never written"])
def test_watchdog_does_not_expire(case):
    clock = Clock()
    esc = running_outputs(clock, watchdog=case != "no trigger bit")
    if case == "disabled":
        cycle(esc, fpwr(Register.WATCHDOG_TIME_PROCESS_DATA, U16.pack(0)))
    if case != "never written":
        cycle(esc, fpwr(OUTPUTS, b"\x00\x00"))
    clock.now += 10_000_000_000
    cycle(esc, fprd(Register.AL_STATUS, 2))
    assert esc.al_state is ALState.OP and not esc.al_error


def test_a_length_one_sync_manager_only_triggers_the_watchdog():
    clock = Clock()
    esc = slave(clock=clock)
    digital_out = 0x1F00  # e.g. a digital output terminal's single output byte
    configure(esc, 0, digital_out, 1, BUFFERED, WRITE, watchdog=True)
    for state in (ALState.PREOP, ALState.SAFEOP, ALState.OP):
        request(esc, state)
    cycle(esc, fpwr(digital_out, b"\x0f"))
    assert esc.pdi_read(digital_out, 1) == b"\x0f" and esc.sync_managers[0].last_written_buffer == 3
    clock.now += 99_000_000
    cycle(esc, fpwr(digital_out, b"\x0e"))
    clock.now += 99_000_000
    cycle(esc, fprd(Register.AL_STATUS, 2))
    assert esc.al_state is ALState.OP
    clock.now += 2_000_000
    cycle(esc, fprd(Register.AL_STATUS, 2))
    assert esc.al_state is ALState.SAFEOP


# ------------------------------------------------------------------------------ AL checks
MAILBOX_LAYOUT = MailboxLayout.standard(MBX_OUT, 128, MBX_IN, 128)
BOOT_LAYOUT = MailboxLayout.standard(0x1800, 256, 0x1A00, 256)
PROCESS_DATA = (ExpectedSyncManager(2, OUTPUTS, 4, BUFFERED, WRITE), ExpectedSyncManager(3, INPUTS, 6, BUFFERED, READ))


def device() -> Esc:
    return slave(sync_manager_layout=SyncManagerLayout(MAILBOX_LAYOUT, BOOT_LAYOUT, PROCESS_DATA))


def configure_mailbox(esc: Esc, layout: MailboxLayout = MAILBOX_LAYOUT) -> None:
    configure(esc, 0, layout.receive.physical_start, layout.receive.length, MAILBOX, WRITE)
    configure(esc, 1, layout.send.physical_start, layout.send.length, MAILBOX, READ)


def test_init_to_preop_needs_the_mailbox_sync_managers():
    esc = device()
    block = request(esc, ALState.PREOP)
    assert (block.status.state, block.status.error, block.status_code) == (ALState.INIT, True, 0x0016)
    configure_mailbox(esc)
    block = request(esc, ALState.PREOP, ack=True)
    assert (block.status.state, block.status.error, block.status_code) == (ALState.PREOP, False, 0)


@pytest.mark.parametrize("change", ["start", "length", "direction", "mode", "disabled"])
def test_any_difference_in_a_mailbox_sync_manager_is_refused(change):
    esc = device()
    configure(esc, 0, MBX_OUT, 128, MAILBOX, WRITE)
    start, length, mode, direction, enable = MBX_IN, 128, MAILBOX, READ, True
    if change == "start":
        start = 0x1180
    elif change == "length":
        length = 64
    elif change == "direction":
        direction = WRITE
    elif change == "mode":
        mode = BUFFERED
    else:
        enable = False
    configure(esc, 1, start, length, mode, direction, enable=enable)
    assert request(esc, ALState.PREOP).status_code == 0x0016


def test_interrupt_and_watchdog_bits_are_the_masters_choice():
    esc = device()
    configure(esc, 0, MBX_OUT, 128, MAILBOX, WRITE, watchdog=True)
    cycle(esc, fpwr(sync_manager_address(1), SyncManagerChannel(
        MBX_IN, 128, SmControl(MAILBOX, READ, ecat_interrupt=True, pdi_interrupt=True),
        activate=SmActivate.ENABLE).encode()))
    assert request(esc, ALState.PREOP).status.state is ALState.PREOP


def test_init_to_boot_needs_the_bootstrap_mailbox():
    esc = device()
    configure_mailbox(esc)  # the standard mailbox is not the bootstrap one
    assert request(esc, ALState.BOOT).status_code == 0x0015
    for index in (0, 1):
        cycle(esc, fpwr(sync_manager_address(index) + 6, b"\x00"))
    configure_mailbox(esc, BOOT_LAYOUT)
    assert request(esc, ALState.BOOT, ack=True).status.state is ALState.BOOT


def preop_device() -> Esc:
    esc = device()
    configure_mailbox(esc)
    assert request(esc, ALState.PREOP).status.state is ALState.PREOP
    return esc


@pytest.mark.parametrize("wrong,code", [("outputs", 0x001D), ("inputs", 0x001E)])
def test_preop_to_safeop_needs_the_process_data_sync_managers(wrong, code):
    esc = preop_device()
    configure(esc, 2, OUTPUTS, 4 if wrong != "outputs" else 2, BUFFERED, WRITE)
    configure(esc, 3, INPUTS, 6, BUFFERED, READ if wrong != "inputs" else WRITE)
    block = request(esc, ALState.SAFEOP)
    assert (block.status.state, block.status.error, block.status_code) == (ALState.PREOP, True, code)


def test_safeop_to_op_checks_the_process_data_again():
    esc = preop_device()
    configure(esc, 2, OUTPUTS, 4, BUFFERED, WRITE)
    configure(esc, 3, INPUTS, 6, BUFFERED, READ)
    assert request(esc, ALState.SAFEOP).status.state is ALState.SAFEOP
    cycle(esc, fpwr(sync_manager_address(3) + 6, b"\x00"))  # the master disables the inputs
    block = request(esc, ALState.OP)
    assert (block.status.state, block.status.error, block.status_code) == (ALState.SAFEOP, True, 0x001E)


def test_a_sync_manager_without_process_data_must_stay_disabled():
    esc = slave(sync_manager_layout=SyncManagerLayout(process_data=(
        ExpectedSyncManager(2, OUTPUTS, 0, BUFFERED, WRITE),)))
    request(esc, ALState.PREOP)
    configure(esc, 2, OUTPUTS, 4, BUFFERED, WRITE)
    assert request(esc, ALState.SAFEOP).status_code == 0x001D
    cycle(esc, fpwr(sync_manager_address(2) + 6, b"\x00"))
    cycle(esc, fpwr(sync_manager_address(2), bytes(8)))
    assert request(esc, ALState.SAFEOP, ack=True).status.state is ALState.SAFEOP


def test_a_layout_must_fit_the_esc():
    with pytest.raises(ValueError):
        Esc(sync_manager_count=2, sync_manager_layout=SyncManagerLayout(process_data=PROCESS_DATA))
    with pytest.raises(ValueError):
        MailboxLayout(ExpectedSyncManager(0, MBX_OUT, 128, BUFFERED, WRITE), MAILBOX_LAYOUT.send)


def test_overlapping_sync_manager_areas_do_not_break_an_access():
    """A master may configure two SyncManagers over the same memory (a configuration error the
    ESC does not refuse); an access across both must still be processed, not crash the ESC."""
    from harness.raw_mailbox import cycle, fprd, fpwr, STATION, U16
    from ethercat_master.protocol.datagram import Command, Datagram
    from ethercat_master.protocol.registers import (FmmuEntry, Register, SmActivate, SmControl, SmDirection,
                                                    SmMode, SyncManagerChannel, fmmu_address,
                                                    sync_manager_address)
    from ethercat_master.sim.esc import Esc
    esc = Esc()
    cycle(esc, Datagram(Command.APWR, 0, Register.CONFIGURED_STATION_ADDRESS << 16, U16.pack(STATION)))
    for index, start in ((2, 0x1100), (3, 0x1104)):
        control = SmControl(SmMode.BUFFERED, SmDirection.READ if index == 3 else SmDirection.WRITE)
        channel = SyncManagerChannel(start, 8, control, activate=SmActivate.ENABLE).encode()
        assert cycle(esc, fpwr(sync_manager_address(index), channel))[0].wkc == 1
    # an access that ends inside the first area, after the second one began
    fmmu = FmmuEntry(logical_start=0x10000, length=6, physical_start=0x1100, logical_stop_bit=3,
                     read=True, active=True)
    assert cycle(esc, fpwr(fmmu_address(0), fmmu.encode()))[0].wkc == 1
    for request in (fprd(0x1100, 6), Datagram(Command.LRD, 0, 0x10000, bytes(6))):
        (reply,) = cycle(esc, request)
        assert len(reply.data) == 6  # processed; what the overlap yields is the master's problem
