"""SimulatedSlave: ESC + EEPROM + mailbox + firmware, driven through real frames.

A small master in this file does what a master does on the wire (position-addressed register
accesses, SyncManager and FMMU configuration, AL control, mailbox SDO transfers, LRW), so the
slave is judged by what it does to frames, not by its internals.
"""

from __future__ import annotations

import struct
import pytest

from ethercat_master.protocol.al_status import ALState, ALStatusCode
from ethercat_master.protocol.coe import (
    CoEHeader,
    CoEService,
    Direction,
    Emergency,
    SdoAbortRequest,
    SdoDownloadExpeditedRequest,
    SdoDownloadResponse,
    SdoUploadExpeditedResponse,
    SdoUploadRequest,
    decode_coe,
)
from ethercat_master.protocol.datagram import Command, Datagram, position_address
from ethercat_master.protocol.frame import Frame
from ethercat_master.protocol.mailbox import (
    MailboxErrorCode,
    MailboxErrorReply,
    MailboxMessage,
    MailboxType,
    build_mailbox,
)
from ethercat_master.protocol.registers import (
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
from ethercat_master.protocol.sii import SiiImage
from ethercat_master.sim.dc import ClockSpec, ManualTime
from ethercat_master.sim.devices.beckhoff import EK1100, EL1008, EL2008, EL3102, AnalogSignal
from ethercat_master.sim.devices.cia402_drive import CycleTrigger
from ethercat_master.sim.devices.drive import Cia402DriveModel
from ethercat_master.sim.object_dictionary import SyncModeSupport
from ethercat_master.sim.slave import DeviceApplication, DeviceModel, SimulatedSlave, build_chain

U16 = struct.Struct("<H")
U32 = struct.Struct("<I")
U64 = struct.Struct("<Q")
MAILBOX = 128
OUTPUTS, INPUTS = 0x0000, 0x0100  # logical addresses
DRIVE_RX, DRIVE_TX = 13, 17  # default PDO sizes of the drive
CYCLE = 1_000_000


class Bus:
    """A minimal master over a chain; slaves are addressed by position."""

    def __init__(self, chain) -> None:
        self.chain = chain
        self.counter = 0

    def frame(self, *datagrams: Datagram) -> tuple[Datagram, ...]:
        reply = self.chain.process(Frame(datagrams).encode())
        assert reply is not None
        return Frame.decode(reply).datagrams

    def write(self, position: int, address: int, data: bytes) -> int:
        return self.frame(Datagram(Command.APWR, 0, position_address(position, address), data))[0].wkc

    def read(self, position: int, address: int, length: int) -> bytes:
        (reply,) = self.frame(Datagram(Command.APRD, 0, position_address(position, address), bytes(length)))
        assert reply.wkc == 1
        return reply.data

    def request(self, position: int, state: int, ack: bool = False) -> tuple[int, int]:
        """AL control, then (AL status, AL status code) as read back."""
        self.write(position, Register.AL_CONTROL, U16.pack(state | (0x10 if ack else 0)))
        status = self.read(position, Register.AL_STATUS, 6)
        return U16.unpack_from(status)[0], U16.unpack_from(status, 4)[0]

    def sync_manager(self, position: int, index: int, start: int, length: int, mode: SmMode,
                     direction: SmDirection, enable: bool = True) -> None:
        control = SmControl(mode, direction, pdi_interrupt=True)
        channel = SyncManagerChannel(start, length, control, activate=SmActivate.ENABLE if enable else SmActivate(0))
        assert self.write(position, sync_manager_address(index), channel.encode()) == 1

    def fmmu(self, position: int, index: int, logical: int, length: int, physical: int, write: bool) -> None:
        entry = FmmuEntry(logical, length, physical, read=not write, write=write, active=True)
        assert self.write(position, fmmu_address(index), entry.encode()) == 1

    def mailbox(self, position: int) -> None:
        self.sync_manager(position, 0, 0x1000, MAILBOX, SmMode.MAILBOX, SmDirection.WRITE)
        self.sync_manager(position, 1, 0x1080, MAILBOX, SmMode.MAILBOX, SmDirection.READ)

    def send_mail(self, position: int, type: int, payload: bytes) -> None:
        self.counter = self.counter % 7 + 1
        data = build_mailbox(type, payload, mailbox_size=MAILBOX, counter=self.counter)
        assert self.write(position, 0x1000, data) == 1

    def receive_mail(self, position: int, tries: int = 5) -> MailboxMessage:
        for _ in range(tries):
            (reply,) = self.frame(Datagram(Command.APRD, 0, position_address(position, 0x1080), bytes(MAILBOX)))
            if reply.wkc == 1:
                return MailboxMessage.decode(reply.data)
        raise AssertionError("no mailbox message")

    def sdo_upload(self, position: int, index: int, subindex: int):
        self.send_mail(position, MailboxType.COE, SdoUploadRequest(index, subindex).encode())
        return decode_coe(self.receive_mail(position).payload, Direction.SLAVE_TO_MASTER)

    def sdo_download(self, position: int, index: int, subindex: int, data: bytes):
        self.send_mail(position, MailboxType.COE, SdoDownloadExpeditedRequest(index, subindex, data).encode())
        return decode_coe(self.receive_mail(position).payload, Direction.SLAVE_TO_MASTER)

    def lrw(self, data: bytes, length: int) -> tuple[bytes, int]:
        (reply,) = self.frame(Datagram(Command.LRW, 0, OUTPUTS, data.ljust(length, b"\0")))
        return reply.data, reply.wkc


def drive_bus(**kwargs) -> Bus:
    return Bus(build_chain([Cia402DriveModel()], **kwargs))


def to_safeop(bus: Bus, position: int = 0, rx: int = DRIVE_RX, tx: int = DRIVE_TX) -> tuple[int, int]:
    """Mailbox, PRE-OP, process data SyncManagers and FMMUs as a master maps them, SAFE-OP."""
    bus.mailbox(position)
    assert bus.request(position, ALState.PREOP) == (ALState.PREOP, 0)
    bus.sync_manager(position, 2, 0x1100, rx, SmMode.BUFFERED, SmDirection.WRITE)
    bus.sync_manager(position, 3, 0x1180, tx, SmMode.BUFFERED, SmDirection.READ)
    bus.fmmu(position, 0, OUTPUTS, rx, 0x1100, write=True)
    bus.fmmu(position, 1, INPUTS, tx, 0x1180, write=False)
    return bus.request(position, ALState.SAFEOP)


# ------------------------------------------------------------------------------- building
def test_the_eeprom_holds_the_description_and_loads_the_alias():
    chain = build_chain([EL3102(alias=0x0042)])
    slave = chain[0]
    assert isinstance(slave, SimulatedSlave)
    assert slave.eeprom.image == slave.description.sii()
    image = SiiImage.parse(slave.eeprom.image)
    assert (image.info.vendor_id, image.info.product_code) == (0x2, 0x0C1E3052)
    assert slave.alias == 0x0042
    assert slave.od is not None and slave.coe is not None and slave.foe is None and slave.eoe is None


def test_protocol_servers_follow_the_description():
    drive = build_chain([Cia402DriveModel()])[0]
    assert drive.coe is not None and drive.foe is not None and drive.eoe is not None
    terminal = build_chain([EL1008()])[0]
    assert terminal.mailbox is None and terminal.od is None


def test_power_cycle_rebuilds_the_whole_slave():
    chain = build_chain([EK1100(), EL3102()])
    bus = Bus(chain)
    bus.mailbox(1)
    bus.request(1, ALState.PREOP)
    old = chain[1]
    old.od.set(0x8000, 0x13, 77)
    chain.power_off(1)
    chain.power_on(1)
    new = chain[1]
    assert new is not old and isinstance(new, SimulatedSlave)
    assert new.al_state is ALState.INIT and new.od.get(0x8000, 0x13) == 0
    assert chain.dc(1) is not None and new.dc is chain.dc(1)


# ---------------------------------------------------------------------------- AL states
def test_preop_needs_the_mailbox_sync_managers():
    bus = drive_bus()
    assert bus.request(0, ALState.PREOP) == (ALState.INIT | 0x10, ALStatusCode.INVALID_MAILBOX_CONFIGURATION_PREOP)
    bus.mailbox(0)
    assert bus.request(0, ALState.PREOP, ack=True) == (ALState.PREOP, 0)


@pytest.mark.parametrize("rx, tx, code", [
    (DRIVE_RX + 1, DRIVE_TX, ALStatusCode.INVALID_OUTPUT_CONFIGURATION),
    (DRIVE_RX, DRIVE_TX - 1, ALStatusCode.INVALID_INPUT_CONFIGURATION),
])
def test_safeop_checks_the_sync_managers_against_the_mapping_in_use(rx, tx, code):
    bus = drive_bus()
    assert to_safeop(bus, rx=rx, tx=tx) == (ALState.PREOP | 0x10, code)


def test_the_expected_sizes_follow_a_remapping():
    bus = drive_bus()
    bus.mailbox(0)
    bus.request(0, ALState.PREOP)
    # RxPDO 0x1600 reduced to the controlword and the target position: 6 bytes
    assert isinstance(bus.sdo_download(0, 0x1600, 0, b"\x00"), SdoDownloadResponse)
    assert isinstance(bus.sdo_download(0, 0x1600, 0, b"\x02"), SdoDownloadResponse)
    assert to_safeop(bus, rx=6) == (ALState.SAFEOP, 0)


def test_op_needs_valid_outputs_first():
    bus = drive_bus()
    assert to_safeop(bus) == (ALState.SAFEOP, 0)
    assert bus.request(0, ALState.OP) == (ALState.SAFEOP | 0x10, ALStatusCode.NO_VALID_OUTPUTS)
    bus.lrw(b"", INPUTS + DRIVE_TX)
    assert bus.request(0, ALState.OP, ack=True) == (ALState.OP, 0)


def test_emulated_terminals_follow_al_control_directly():
    bus = Bus(build_chain([EK1100(), EL2008()]))
    assert bus.request(1, ALState.OP) == (ALState.OP, 0)  # no firmware: INIT -> OP is copied
    assert bus.request(0, ALState.SAFEOP) == (ALState.SAFEOP, 0)


def test_init_restores_the_pdo_configuration_and_stops_the_mailbox():
    bus = drive_bus()
    bus.mailbox(0)
    bus.request(0, ALState.PREOP)
    bus.sdo_download(0, 0x1C12, 0, b"\x00")
    slave = bus.chain[0]
    assert slave.od.get(0x1C12, 0) == 0
    bus.request(0, ALState.INIT)
    assert slave.od.get(0x1C12, 0) == 1
    assert not slave.mailbox.running


# --------------------------------------------------------------------------- process data
def test_outputs_reach_the_mapped_objects_and_inputs_come_from_them_in_op():
    bus = drive_bus()
    to_safeop(bus)
    bus.lrw(b"", INPUTS + DRIVE_TX)
    bus.request(0, ALState.OP)
    slave = bus.chain[0]
    outputs = struct.pack("<HiihB", 0x0006, -123456, 7, -5, 8)
    data, wkc = bus.lrw(outputs, INPUTS + DRIVE_TX)
    assert wkc == 3
    assert [slave.od.get(i, 0) for i in (0x6040, 0x607A, 0x60FF, 0x6071, 0x6060)] == [6, -123456, 7, -5, 8]
    slave.od.set(0x6064, 0, -42)  # the drive publishes after its next cycle; look at the packing
    data, _ = bus.lrw(outputs, INPUTS + DRIVE_TX)
    statusword, position = struct.unpack_from("<Hi", data, INPUTS)
    assert statusword == slave.od.get(0x6041, 0) and position == slave.od.get(0x6064, 0)


def test_outputs_are_not_applied_in_safeop_and_become_zero_when_leaving_op():
    bus = drive_bus()
    to_safeop(bus)
    slave = bus.chain[0]
    bus.lrw(struct.pack("<HiihB", 0x0006, 5, 0, 0, 8), INPUTS + DRIVE_TX)
    assert slave.od.get(0x6040, 0) == 0
    bus.request(0, ALState.OP)
    bus.lrw(struct.pack("<HiihB", 0x0006, 5, 0, 0, 8), INPUTS + DRIVE_TX)
    assert slave.od.get(0x607A, 0) == 5
    bus.request(0, ALState.SAFEOP)
    assert (slave.od.get(0x6040, 0), slave.od.get(0x607A, 0)) == (0, 0)


def test_bit_mapped_inputs_of_a_coe_terminal():
    bus = Bus(build_chain([EL3102(signals=(AnalogSignal(offset=-12.0), AnalogSignal(offset=2.5)))]))
    bus.mailbox(0)
    bus.request(0, ALState.PREOP)
    bus.sync_manager(0, 3, 0x1180, 8, SmMode.BUFFERED, SmDirection.READ)
    bus.fmmu(0, 0, INPUTS, 8, 0x1180, write=False)
    assert bus.request(0, ALState.SAFEOP) == (ALState.SAFEOP, 0)
    bus.frame(Datagram(Command.NOP, 0, 0, b""))  # a cycle of the application
    (reply,) = bus.frame(Datagram(Command.LRD, 0, INPUTS, bytes(8)))
    status1, value1, status2, value2 = struct.unpack("<HhHh", reply.data)
    assert value1 == -0x8000 and status1 & 0x0041 == 0x0041  # underrange and error, saturated
    assert value2 == 8192 and status2 & 0x00FF == 0


def test_a_raw_output_device_sees_its_register_byte_in_op():
    bus = Bus(build_chain([EL2008()]))
    bus.sync_manager(0, 0, 0x0F00, 1, SmMode.BUFFERED, SmDirection.WRITE)
    bus.fmmu(0, 0, OUTPUTS, 1, 0x0F00, write=True)
    bus.request(0, ALState.OP)
    (reply,) = bus.frame(Datagram(Command.LWR, 0, OUTPUTS, b"\x81"))
    assert reply.wkc == 1
    pins = bus.chain[0].application
    assert pins.value == 0x81 and pins.channels[0] and pins.channels[7]
    bus.request(0, ALState.SAFEOP)
    assert pins.value == 0


def test_a_raw_input_device_publishes_its_inputs():
    bus = Bus(build_chain([EL1008(value=0x3C)]))
    bus.sync_manager(0, 0, 0x1000, 1, SmMode.BUFFERED, SmDirection.READ)
    bus.fmmu(0, 0, INPUTS, 1, 0x1000, write=False)
    bus.request(0, ALState.SAFEOP)
    bus.frame(Datagram(Command.NOP, 0, 0, b""))
    (reply,) = bus.frame(Datagram(Command.LRD, 0, INPUTS, b"\0"))
    assert (reply.data, reply.wkc) == (b"\x3c", 1)


# ---------------------------------------------------------------------------- mailbox
def test_sdo_through_the_mailbox():
    bus = drive_bus()
    bus.mailbox(0)
    bus.request(0, ALState.PREOP)
    reply = bus.sdo_upload(0, 0x1018, 2)
    assert isinstance(reply, SdoUploadExpeditedResponse) and reply.data[:4] == U32.pack(0x402)
    abort = bus.sdo_upload(0, 0x5555, 0)
    assert isinstance(abort, SdoAbortRequest) and abort.code == 0x06020000


def test_a_malformed_coe_request_gets_a_mailbox_error_reply():
    bus = drive_bus()
    bus.mailbox(0)
    bus.request(0, ALState.PREOP)
    bus.send_mail(0, MailboxType.COE, b"\x00")  # shorter than a CoE header
    message = bus.receive_mail(0)
    assert message.header.type == MailboxType.ERR
    assert MailboxErrorReply.decode(message.payload).code == MailboxErrorCode.SIZE_TOO_SHORT


def test_emergencies_of_the_application_go_out_through_the_mailbox():
    bus = drive_bus()
    bus.mailbox(0)
    bus.request(0, ALState.PREOP)
    bus.chain[0].application.drive.inject_fault(0x2310)
    bus.frame(Datagram(Command.NOP, 0, 0, b""))
    message = bus.receive_mail(0)
    assert CoEHeader.decode(message.payload).service == CoEService.EMERGENCY
    assert Emergency.decode(message.payload).error_code == 0x2310


def test_the_application_runs_outside_safeop_too():
    bus = drive_bus()
    bus.frame(Datagram(Command.NOP, 0, 0, b""))
    assert bus.chain[0].od.get(0x6041, 0) & 0x4F == 0x40  # switch on disabled after its first cycle


# ---------------------------------------------------------------------------- DC SYNC0
def activate_sync0(bus: Bus, time: ManualTime, position: int = 0, cycle: int = CYCLE) -> None:
    system = U64.unpack(bus.read(position, Register.DC_SYSTEM_TIME, 8))[0]
    start = system + 10 * cycle
    bus.write(position, Register.DC_SYNC0_CYCLE_TIME, U32.pack(cycle))
    bus.write(position, Register.DC_START_TIME_CYCLIC, U64.pack(start))
    bus.write(position, Register.DC_ACTIVATION, bytes((DcActivation.CYCLIC_OPERATION | DcActivation.SYNC0,)))


class Recorder(DeviceApplication):
    """Counts the cycles and their triggers."""

    def __init__(self) -> None:
        self.cycles: list[tuple[int, CycleTrigger]] = []
        self.fault = 0

    def cycle(self, now_ns: int, trigger: CycleTrigger) -> None:
        self.cycles.append((now_ns, trigger))

    def supervise(self, now_ns: int) -> int:
        return self.fault


class RecordingDrive(DeviceModel):
    """The drive's description with an application that records its cycles."""

    def __init__(self) -> None:
        self._model = Cia402DriveModel()

    @property
    def description(self):
        return self._model.description

    def create_application(self, slave: SimulatedSlave) -> Recorder:
        self._model.create_application(slave)  # the drive's objects
        return Recorder()


def test_dc_mode_runs_the_application_once_per_sync0_pulse():
    time = ManualTime(1_000_000_000)
    bus = Bus(build_chain([RecordingDrive()], time_source=time, clocks=[ClockSpec(0, 0.0)]))
    bus.mailbox(0)
    bus.request(0, ALState.PREOP)
    activate_sync0(bus, time)
    assert to_safeop(bus) == (ALState.SAFEOP, 0)
    slave = bus.chain[0]
    assert slave.dc_mode and slave.od.get(0x1C32, 1) == 2 and slave.od.get(0x1C32, 10) == CYCLE
    recorder: Recorder = slave.application
    recorder.cycles.clear()
    time.advance(25 * CYCLE)
    bus.frame(Datagram(Command.NOP, 0, 0, b""))
    sync0 = [t for t, trigger in recorder.cycles if trigger is CycleTrigger.SYNC0]
    assert len(sync0) in (15, 16)  # the pulses from the start time on
    assert all(b - a == CYCLE for a, b in zip(sync0, sync0[1:]))


def test_a_supervision_error_takes_the_slave_from_op_to_safeop():
    time = ManualTime(1_000_000_000)
    bus = Bus(build_chain([RecordingDrive()], time_source=time, clocks=[ClockSpec(0, 0.0)]))
    to_safeop(bus)
    bus.lrw(b"", INPUTS + DRIVE_TX)
    assert bus.request(0, ALState.OP) == (ALState.OP, 0)
    bus.chain[0].application.fault = ALStatusCode.FATAL_SYNC_ERROR
    bus.frame(Datagram(Command.NOP, 0, 0, b""))
    status = bus.read(0, Register.AL_STATUS, 6)
    assert (U16.unpack_from(status)[0], U16.unpack_from(status, 4)[0]) == (
        ALState.SAFEOP | 0x10, ALStatusCode.FATAL_SYNC_ERROR)


def test_a_dc_mode_without_sync0_is_refused():
    bus = drive_bus()
    bus.mailbox(0)
    bus.request(0, ALState.PREOP)
    assert isinstance(bus.sdo_download(0, 0x1C32, 1, U16.pack(2)), SdoDownloadResponse)
    assert to_safeop(bus) == (ALState.PREOP | 0x10, ALStatusCode.INVALID_DC_SYNC_CONFIGURATION)


def test_a_sync0_cycle_below_the_minimum_is_refused():
    time = ManualTime(1_000_000_000)
    bus = Bus(build_chain([Cia402DriveModel()], time_source=time, clocks=[ClockSpec(0, 0.0)]))
    activate_sync0(bus, time, cycle=250_000)
    assert to_safeop(bus) == (ALState.PREOP | 0x10, ALStatusCode.DC_INVALID_SYNC_CYCLE_TIME)


def test_sync0_on_a_device_without_dc_sync0_support_is_refused():
    time = ManualTime(1_000_000_000)
    bus = Bus(build_chain([Cia402DriveModel()], time_source=time, clocks=[ClockSpec(0, 0.0)]))
    od = bus.chain[0].od
    od.set(0x1C32, 4, int(SyncModeSupport.FREE_RUN | SyncModeSupport.SYNCHRON))  # no DC SYNC0
    activate_sync0(bus, time)
    assert to_safeop(bus) == (ALState.PREOP | 0x10, ALStatusCode.SYNCMODE_NOT_SUPPORTED)


def test_the_drive_loses_sync_when_sync0_stops_in_op():
    time = ManualTime(1_000_000_000)
    bus = Bus(build_chain([Cia402DriveModel()], time_source=time, clocks=[ClockSpec(0, 0.0)]))
    activate_sync0(bus, time)
    to_safeop(bus)
    for _ in range(20):
        time.advance(CYCLE)
        bus.lrw(b"", INPUTS + DRIVE_TX)
    assert bus.request(0, ALState.OP) == (ALState.OP, 0)
    bus.write(0, Register.DC_ACTIVATION, b"\x00")  # SYNC0 stops
    for _ in range(10):
        time.advance(CYCLE)
        bus.lrw(b"", INPUTS + DRIVE_TX)
    status = bus.read(0, Register.AL_STATUS, 6)
    assert (U16.unpack_from(status)[0], U16.unpack_from(status, 4)[0]) == (
        ALState.SAFEOP | 0x10, ALStatusCode.FATAL_SYNC_ERROR)
    assert bus.chain[0].od.get(0x603F, 0) == 0x8700

