"""Device models: their descriptions (SII, SyncManagers, PDOs, standard objects) and their
applications (digital inputs and outputs, analog inputs, the CiA 402 drive's wiring)."""

from __future__ import annotations

import pytest

from ethercat_master.protocol.al_status import ALState, ALStatusCode
from ethercat_master.protocol.coe import DataType
from ethercat_master.protocol.registers import PortType, SmDirection, SmMode
from ethercat_master.protocol.sii import (
    CoeDetails,
    MailboxProtocols,
    SiiImage,
    SyncManagerType,
)
from ethercat_master.sim.device import (
    DeviceDescription,
    DeviceIdentity,
    MailboxSpec,
    PdoEntrySpec,
    PdoSpec,
    SyncManagerSpec,
)
from ethercat_master.sim.devices.beckhoff import (
    EK1100,
    EL1008,
    EL2008,
    EL3102,
    AnalogSignal,
    DigitalInputs,
    InputPattern,
    SignalShape,
)
from ethercat_master.sim.devices.cia402_drive import CycleTrigger, DriveConfig
from ethercat_master.sim.devices.drive import DRIVE_ORDER_CODE, Cia402DriveModel
from ethercat_master.sim.slave import SimulatedSlave, build_chain

MS = 1_000_000


def parse(model) -> SiiImage:
    return SiiImage.parse(model.description.sii())


# ---------------------------------------------------------------------------- Beckhoff SII
@pytest.mark.parametrize("model, product, revision", [
    (EK1100(), 0x044C2C52, 0x00120000),
    (EL1008(), 0x03F03052, 0x00120000),
    (EL2008(), 0x07D83052, 0x00120000),
    (EL3102(), 0x0C1E3052, 0x00140000),
])
def test_beckhoff_identities_and_names(model, product, revision):
    image = parse(model)
    info = image.info
    assert (info.vendor_id, info.product_code, info.revision_number) == (2, product, revision)
    assert info.checksum_ok
    assert image.strings[0] == model.description.order_code  # SOEM's slave name
    assert image.string(image.general.name_idx).startswith(model.description.order_code)


def test_ek1100_is_a_coupler_without_process_data():
    image = parse(EK1100())
    assert image.sync_managers == () and image.tx_pdos == () and image.rx_pdos == ()
    assert image.general.ebus_current == -2000
    assert EK1100().description.esc.ports[:3] == (PortType.MII, PortType.EBUS, PortType.MII)
    assert EK1100().description.device_emulation


def test_el1008_has_eight_single_bit_txpdos_on_an_input_sync_manager():
    image = parse(EL1008())
    assert [pdo.index for pdo in image.tx_pdos] == list(range(0x1A00, 0x1A08))
    assert all(pdo.sync_manager == 0 and pdo.bit_length == 1 for pdo in image.tx_pdos)
    assert [pdo.entries[0].index for pdo in image.tx_pdos] == [0x6000 + 0x10 * n for n in range(8)]
    (sm,) = image.sync_managers
    assert (sm.physical_start_address, sm.control) == (0x1000, 0x00)
    assert sm.sync_manager_type == SyncManagerType.PROCESS_DATA_IN
    assert image.info.mailbox_protocols == 0 and image.info.standard_receive_mailbox_size == 0


def test_el2008_outputs_sit_on_the_digital_output_register_with_the_watchdog():
    image = parse(EL2008())
    assert [pdo.index for pdo in image.rx_pdos] == list(range(0x1600, 0x1608))
    assert all(pdo.entries[0].data_type == DataType.BOOLEAN for pdo in image.rx_pdos)
    (sm,) = image.sync_managers
    assert (sm.physical_start_address, sm.control, int(sm.enable)) == (0x0F00, 0x44, 0x09)
    layout = EL2008().description.sync_manager_layout()
    assert [(e.index, e.physical_start, e.length, e.direction) for e in layout.process_data] == [
        (0, 0x0F00, 1, SmDirection.WRITE)]


def test_el3102_describes_its_mailbox_and_standard_pdos():
    description = EL3102().description
    image = SiiImage.parse(description.sii())
    assert image.info.mailbox_protocols == MailboxProtocols.COE
    assert (image.info.standard_receive_mailbox_offset, image.info.standard_send_mailbox_offset) == (0x1000, 0x1080)
    details = image.general.coe_details
    assert details == CoeDetails.ENABLE_SDO | CoeDetails.ENABLE_SDO_INFO | CoeDetails.ENABLE_PDO_ASSIGN
    assigned = [pdo.index for pdo in image.tx_pdos if pdo.sync_manager == 3]
    assert assigned == [0x1A02, 0x1A04]
    assert all(pdo.bit_length == 32 for pdo in image.tx_pdos if pdo.sync_manager == 3)
    assert description.default_lengths() == {2: 0, 3: 8}
    layout = description.sync_manager_layout()
    assert layout.mailbox.receive.length == 128
    assert [(e.index, e.length, e.mode) for e in layout.process_data] == [(2, 0, SmMode.BUFFERED),
                                                                           (3, 8, SmMode.BUFFERED)]


# --------------------------------------------------------------------- descriptions
def test_a_description_checks_its_consistency():
    identity = DeviceIdentity(1, 2, 3)
    inputs = SyncManagerSpec(0x1000, 0, 0x00, SyncManagerType.PROCESS_DATA_IN)
    pdo = PdoSpec(0x1600, "out", (PdoEntrySpec(0x7000, 1, 8),), sync_manager=0)
    with pytest.raises(ValueError, match="no PROCESS_DATA_OUT"):
        DeviceDescription(identity, "X", "X", "G", sync_managers=(inputs,), rx_pdos=(pdo,))
    with pytest.raises(ValueError, match="mailbox needs"):
        DeviceDescription(identity, "X", "X", "G", sync_managers=(inputs,), mailbox=MailboxSpec(MailboxProtocols.COE))
    with pytest.raises(ValueError, match="order code"):
        DeviceDescription(identity, "", "X", "G")
    with pytest.raises(ValueError, match="bit length"):
        PdoEntrySpec(0x6000, 1, 0)


def test_standard_objects_of_a_coe_description():
    chain = build_chain([EL3102()])
    od = chain[0].od
    assert od.get(0x1008, 0) == "EL3102 2Ch. Ana. Input +/-10V, Diff."
    assert [od.get(0x1018, n) for n in (1, 2, 3)] == [2, 0x0C1E3052, 0x00140000]
    assert [od.get(0x1C00, n) for n in range(1, 5)] == [1, 2, 3, 4]
    assert od.get(0x1C13, 0) == 2 and [od.get(0x1C13, n) for n in (1, 2)] == [0x1A02, 0x1A04]
    assert od.get(0x1C12, 0) == 0
    layout = od.sync_manager_pdos(3)
    assert layout.byte_length == 8
    assert [(e.index, e.subindex, e.bit_offset) for e in layout.entries if e.index == 0x6000][-1] == (0x6000, 0x11, 16)


# ------------------------------------------------------------------------- applications
def test_digital_input_patterns():
    inputs = DigitalInputs(0x01, InputPattern.COUNTER, 10 * MS)
    inputs.cycle(35 * MS, CycleTrigger.LOCAL_TIMER)
    assert inputs.read_inputs(1) == b"\x04"
    walking = DigitalInputs(0, InputPattern.WALKING, 10 * MS)
    walking.cycle(95 * MS, CycleTrigger.LOCAL_TIMER)
    assert walking.current() == 1 << 1
    walking.set_channel(8, True)
    assert walking.pattern is InputPattern.FIXED and walking.current() == 0x82
    with pytest.raises(ValueError):
        walking.set_channel(9, True)
    with pytest.raises(ValueError):
        EL1008(value=0x100)


def test_digital_outputs_record_their_changes():
    pins = build_chain([EL2008()])[0].application
    pins.write_outputs(b"\x05")
    pins.write_outputs(b"\x05")
    pins.write_outputs(b"\x00")
    assert pins.history == [0x05, 0x00] and pins.status() == {"outputs": 0}


@pytest.mark.parametrize("volts, value, under, over", [
    (10.0, 0x7FFF, False, False),
    (-10.0, -0x7FFF, False, False),
    (5.0, 16384, False, False),
    (10.5, 0x7FFF, False, True),
    (-10.5, -0x8000, True, False),
])
def test_analog_conversion_and_range_flags(volts, value, under, over):
    slave = build_chain([EL3102(signals=(AnalogSignal(offset=volts), AnalogSignal()))])[0]
    slave.application.cycle(0, CycleTrigger.LOCAL_TIMER)
    od = slave.od
    assert od.get(0x6000, 0x11) == value
    assert (od.get(0x6000, 0x01), od.get(0x6000, 0x02), od.get(0x6000, 0x07)) == (under, over, under or over)


def test_analog_user_scale_limits_and_toggle():
    slave = build_chain([EL3102(signals=(AnalogSignal(offset=5.0), AnalogSignal(offset=5.0)))])[0]
    od, app = slave.od, slave.application
    od.set(0x8000, 0x01, True)
    od.set(0x8000, 0x12, 1 << 15)  # gain 0.5
    od.set(0x8000, 0x11, 100)
    od.set(0x8010, 0x07, True)
    od.set(0x8010, 0x13, 16384)  # limit 1 equal to the value
    od.set(0x8010, 0x08, True)
    od.set(0x8010, 0x14, 20000)  # limit 2 above the value
    app.cycle(0, CycleTrigger.LOCAL_TIMER)
    assert od.get(0x6000, 0x11) == 16384 // 2 + 100
    assert (od.get(0x6010, 0x03), od.get(0x6010, 0x05)) == (3, 1)  # equal; below limit 2
    toggle = od.get(0x6000, 0x10)
    app.cycle(1, CycleTrigger.LOCAL_TIMER)
    assert od.get(0x6000, 0x10) is (not toggle)


def test_analog_signal_shapes():
    sine = AnalogSignal(SignalShape.SINE, offset=1.0, amplitude=2.0, frequency=1.0)
    assert sine.volts(250 * MS) == pytest.approx(3.0)
    ramp = AnalogSignal(SignalShape.RAMP, amplitude=4.0, frequency=2.0)
    assert ramp.volts(0) == pytest.approx(-4.0) and ramp.volts(250 * MS) == pytest.approx(0.0)
    with pytest.raises(ValueError):
        AnalogSignal(frequency=0.0)
    with pytest.raises(ValueError):
        EL3102(signals=(AnalogSignal(),))
    app = build_chain([EL3102()])[0].application
    with pytest.raises(ValueError):
        app.set_signal(3, AnalogSignal())


# ------------------------------------------------------------------------------- drive
def test_drive_description_matches_its_object_dictionary():
    model = Cia402DriveModel(DriveConfig(device_name="Axis", serial_number=7), alias=3)
    image = parse(model)
    assert image.strings[0] == DRIVE_ORDER_CODE and image.string(image.general.name_idx) == "Axis"
    assert image.info.configured_station_alias == 3 and image.info.serial_number == 7
    assert CoeDetails.ENABLE_SDO_COMPLETE_ACCESS in image.general.coe_details
    assert image.info.mailbox_protocols == MailboxProtocols.COE | MailboxProtocols.FOE | MailboxProtocols.EOE
    assert image.info.bootstrap_receive_mailbox_size == 128
    assert [dc.assign_activate for dc in image.dc_op_modes] == [0x0300, 0x0000]
    od = build_chain([model])[0].od
    for pdo, sync_manager in ((image.rx_pdos[0], 2), (image.tx_pdos[0], 3)):
        layout = od.sync_manager_pdos(sync_manager)
        assert [(e.index, e.subindex, e.bit_length) for e in layout.entries] == [
            (e.index, e.subindex, e.bit_length) for e in pdo.entries]
        assert pdo.sync_manager == sync_manager
    assert model.description.default_lengths() == {2: 13, 3: 17}


def test_drive_application_reports_and_supervises():
    slave = build_chain([Cia402DriveModel(files={"firmware.bin": b"\x01\x02"})])[0]
    assert isinstance(slave, SimulatedSlave) and set(slave.foe.files) == {"firmware.bin"}
    app = slave.application
    app.cycle(0, CycleTrigger.LOCAL_TIMER)
    status = app.status()
    assert status["drive_state"] == "Switch on disabled" and status["position_actual"] == 0
    assert app.supervise(1) == ALStatusCode.NO_ERROR
    app.state_entered(ALState.OP, ALState.INIT)
    assert not app.drive.sync_lost
