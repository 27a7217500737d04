"""The simulated CiA 402 servo drive: objects, state machine, modes, motor model, faults, SYNC0.

Expected values are written out as numbers from CiA 402 / IEC 61800-7-201 (statusword patterns
with masks 0x004F / 0x006F, controlword command masks, transition numbers, homing status bits,
0x6502 bits) and CiA 301 (device type, PDO mapping entries, error register bits),
independently of the module's tables.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ethercat_master.errors import SdoAbort
from ethercat_master.protocol.al_status import ALState
from ethercat_master.protocol.coe import (
    DataType,
    Direction,
    Emergency,
    ObjectAccess,
    decode_coe,
    encode_value,
)
from ethercat_master.sim.coe_server import CoeServer
from ethercat_master.sim.devices import (
    Cia402Drive,
    Command,
    CycleTrigger,
    DriveConfig,
    DriveState,
    communication_objects,
    decode_command,
    drive_objects,
    error_register_for,
)
from ethercat_master.sim.object_dictionary import ObjectDictionary

MS = 1_000_000
CPR = 1 << 17

# (mask, value) of each state, IEC 61800-7-201 statusword table.
PATTERNS = {
    DriveState.NOT_READY_TO_SWITCH_ON: (0x4F, 0x00),
    DriveState.SWITCH_ON_DISABLED: (0x4F, 0x40),
    DriveState.READY_TO_SWITCH_ON: (0x6F, 0x21),
    DriveState.SWITCHED_ON: (0x6F, 0x23),
    DriveState.OPERATION_ENABLED: (0x6F, 0x27),
    DriveState.QUICK_STOP_ACTIVE: (0x6F, 0x07),
    DriveState.FAULT_REACTION_ACTIVE: (0x4F, 0x0F),
    DriveState.FAULT: (0x4F, 0x08),
}
# Controlword commands (bit 7 = 0 in all of them).
SHUTDOWN, SWITCH_ON, ENABLE = 0x06, 0x07, 0x0F
DISABLE_VOLTAGE, QUICK_STOP, FAULT_RESET = 0x00, 0x02, 0x80
NEW_SET_POINT, IMMEDIATE, RELATIVE, HALT = 0x10, 0x20, 0x40, 0x100


def states_of(statusword: int) -> list[DriveState]:
    return [state for state, (mask, value) in PATTERNS.items() if statusword & mask == value]


class Bench:
    """One drive on its own object dictionary, a clock and the emergencies it raised."""

    def __init__(self, **config):
        self.emergencies: list[tuple[int, int, bytes]] = []
        self.od = ObjectDictionary(lambda: ALState.OP)
        self.drive = Cia402Drive(self.od, self._emergency, config=DriveConfig(**config))
        self.now = 0

    def _emergency(self, code: int, register: int, data: bytes) -> bool:
        self.emergencies.append((code, register, data))
        return True

    def set(self, index: int, value, subindex: int = 0) -> None:
        self.od.set(index, subindex, value)

    def get(self, index: int, subindex: int = 0):
        return self.od.get(index, subindex)

    @property
    def sw(self) -> int:
        return self.get(0x6041)

    @property
    def codes(self) -> list[int]:
        return [code for code, _, _ in self.emergencies]

    def cycle(self, controlword=None, n=1, dt=MS, trigger=CycleTrigger.SM2_EVENT) -> int:
        if controlword is not None:
            self.set(0x6040, controlword)
        for _ in range(n):
            self.now += dt
            self.drive.cycle(self.now, trigger)
        return self.sw

    def enable(self, mode: int, *, track_target: bool = True) -> int:
        """Switch on disabled -> operation enabled in ``mode``; the target tracks the actual."""
        self.set(0x6060, mode)
        self.cycle(DISABLE_VOLTAGE)
        self.cycle(SHUTDOWN)
        self.cycle(SWITCH_ON)
        if track_target:
            self.set(0x607A, self.get(0x6064))
        return self.cycle(ENABLE)

    def run_until(self, condition, limit=20_000, controlword=None) -> int:
        for count in range(limit):
            if condition():
                return count
            self.cycle(controlword)
        raise AssertionError("condition never met")


# ------------------------------------------------------------------------------- objects
def test_standard_objects_types_access_and_pdo_layout():
    b = Bench(vendor_id=0x1234, product_code=0x5678, revision=3, serial_number=99)
    assert b.get(0x1000) == 0x0002_0192
    assert [b.get(0x1018, sub) for sub in range(1, 5)] == [0x1234, 0x5678, 3, 99]
    rx = [b.get(0x1600, sub) for sub in range(1, b.get(0x1600) + 1)]
    tx = [b.get(0x1A00, sub) for sub in range(1, b.get(0x1A00) + 1)]
    assert rx == [0x60400010, 0x607A0020, 0x60FF0020, 0x60710010, 0x60600008]
    assert tx == [0x60410010, 0x60640020, 0x606C0020, 0x60770010, 0x60610008, 0x60F40020]
    assignments = (b.get(0x1C12), b.get(0x1C12, 1), b.get(0x1C13), b.get(0x1C13, 1))
    assert assignments == (1, 0x1600, 1, 0x1A00)
    assert b.od.sync_manager_pdos(2).byte_length == 13
    assert b.od.sync_manager_pdos(3).byte_length == 17
    # free run, SM-synchronous and DC SYNC0 supported; free run by default
    assert b.get(0x1C32, 4) == b.get(0x1C33, 4) == 0x0007
    assert b.get(0x1C32, 1) == 0
    # PP, PV, HM, CSP, CSV, CST
    assert b.get(0x6502) == 0x0001 | 0x0004 | 0x0020 | 0x0080 | 0x0100 | 0x0200
    assert [b.get(0x608F, 1), b.get(0x608F, 2)] == [CPR, 1]
    types = {
        0x6040: DataType.UNSIGNED16, 0x6041: DataType.UNSIGNED16, 0x6060: DataType.INTEGER8,
        0x6061: DataType.INTEGER8, 0x6064: DataType.INTEGER32, 0x6065: DataType.UNSIGNED32,
        0x6066: DataType.UNSIGNED16, 0x606C: DataType.INTEGER32, 0x6071: DataType.INTEGER16,
        0x6077: DataType.INTEGER16, 0x607A: DataType.INTEGER32, 0x607C: DataType.INTEGER32,
        0x6081: DataType.UNSIGNED32, 0x6083: DataType.UNSIGNED32, 0x6084: DataType.UNSIGNED32,
        0x6085: DataType.UNSIGNED32, 0x6098: DataType.INTEGER8, 0x609A: DataType.UNSIGNED32,
        0x60F4: DataType.INTEGER32, 0x60FF: DataType.INTEGER32, 0x6502: DataType.UNSIGNED32,
        0x603F: DataType.UNSIGNED16, 0x605A: DataType.INTEGER16,
    }
    for index, data_type in types.items():
        assert b.od.entry(index, 0).data_type == data_type, hex(index)
    assert b.od.entry(0x607D, 1).data_type == b.od.entry(0x607D, 2).data_type == DataType.INTEGER32
    assert b.od.entry(0x6099, 1).data_type == DataType.UNSIGNED32
    for index in (0x6040, 0x607A, 0x60FF, 0x6071, 0x6060):
        assert b.od.entry(index, 0).access & ObjectAccess.RXPDO_MAPPABLE
        assert b.od.entry(index, 0).access & ObjectAccess.WRITE_OP
    for index in (0x6041, 0x6064, 0x606C, 0x6077, 0x6061, 0x60F4):
        assert b.od.entry(index, 0).access & ObjectAccess.TXPDO_MAPPABLE
        assert not b.od.entry(index, 0).access & ObjectAccess.WRITE_OP


def test_master_writes_are_judged():
    b = Bench()
    with pytest.raises(SdoAbort) as abort:
        b.od.sdo_download(0x6098, 0, encode_value(DataType.INTEGER8, 5))
    assert abort.value.code == 0x06090030
    with pytest.raises(SdoAbort) as abort:
        b.od.sdo_download(0x605A, 0, encode_value(DataType.INTEGER16, 9))
    assert abort.value.code == 0x06090031
    with pytest.raises(SdoAbort) as abort:
        b.od.sdo_download(0x6041, 0, encode_value(DataType.UNSIGNED16, 0))
    assert abort.value.code == 0x06010002
    b.od.sdo_download(0x6098, 0, encode_value(DataType.INTEGER8, 37))
    assert b.get(0x6098) == 37


def test_profile_objects_alone_on_a_dictionary_with_communication_objects():
    config = DriveConfig(product_code=0x42)
    od = ObjectDictionary(lambda: ALState.OP, communication_objects(config))
    drive = Cia402Drive(od, lambda *_: True, config=config, communication=False)
    drive.cycle(0, CycleTrigger.SM2_EVENT)
    assert od.get(0x1018, 2) == 0x42 and od.get(0x6041, 0) == 0x0250
    assert len(od) == len(drive_objects(config))
    with pytest.raises(ValueError, match="0x1C32"):
        Cia402Drive(ObjectDictionary(lambda: ALState.OP), lambda *_: True, communication=False)


def test_objects_cannot_be_added_twice_and_config_is_checked():
    b = Bench()
    with pytest.raises(ValueError, match="already"):
        Cia402Drive(b.od, lambda *_: True)
    with pytest.raises(ValueError, match="max_torque"):
        DriveConfig(max_torque=0)
    with pytest.raises(ValueError, match="limit switch"):
        DriveConfig(negative_limit_switch=5, positive_limit_switch=5)
    with pytest.raises(ValueError, match="vendor_id"):
        DriveConfig(vendor_id=1 << 32)


# ------------------------------------------------------------------------- state machine
def test_enable_sequence_exact_statuswords():
    b = Bench()
    assert b.sw == 0x0000 and b.drive.state is DriveState.NOT_READY_TO_SWITCH_ON
    assert b.drive.last_transition == 0
    steps = [
        (DISABLE_VOLTAGE, 0x0250, 1),  # automatic: initialisation done
        (SHUTDOWN, 0x0231, 2),
        (SWITCH_ON, 0x0233, 3),
        (ENABLE, 0x0237, 4),
        (SWITCH_ON, 0x0233, 5),
        (SHUTDOWN, 0x0231, 6),
        (DISABLE_VOLTAGE, 0x0250, 7),
    ]
    for controlword, statusword, transition in steps:
        assert b.cycle(controlword) == statusword
        assert b.drive.last_transition == transition


def test_switch_on_and_enable_goes_through_switched_on():
    b = Bench()
    b.cycle(DISABLE_VOLTAGE)
    b.cycle(SHUTDOWN)
    assert b.cycle(ENABLE) == 0x0233
    assert b.drive.last_transition == 3
    assert b.cycle(ENABLE) == 0x0237
    assert b.drive.last_transition == 4


def reach(b: Bench, state: DriveState) -> None:
    """Drive ``b`` into ``state`` with the command sequence of the state diagram."""
    b.set(0x605A, 6)  # quick stop stays in quick stop active
    b.cycle(DISABLE_VOLTAGE)
    if state is DriveState.FAULT:
        b.drive.inject_fault(0x4210)
        b.cycle(DISABLE_VOLTAGE)
        assert b.drive.state is DriveState.FAULT
        return
    path = [SHUTDOWN, SWITCH_ON, ENABLE, QUICK_STOP]
    order = [
        DriveState.SWITCH_ON_DISABLED,
        DriveState.READY_TO_SWITCH_ON,
        DriveState.SWITCHED_ON,
        DriveState.OPERATION_ENABLED,
        DriveState.QUICK_STOP_ACTIVE,
    ]
    for controlword in path[: order.index(state)]:
        b.cycle(controlword)
    assert b.drive.state is state


S = DriveState
# state -> {controlword: (next state, transition number or None when nothing happens)}
TABLE = {
    S.SWITCH_ON_DISABLED: {
        DISABLE_VOLTAGE: (S.SWITCH_ON_DISABLED, None), QUICK_STOP: (S.SWITCH_ON_DISABLED, None),
        SHUTDOWN: (S.READY_TO_SWITCH_ON, 2), SWITCH_ON: (S.SWITCH_ON_DISABLED, None),
        ENABLE: (S.SWITCH_ON_DISABLED, None), FAULT_RESET: (S.SWITCH_ON_DISABLED, None),
    },
    S.READY_TO_SWITCH_ON: {
        DISABLE_VOLTAGE: (S.SWITCH_ON_DISABLED, 7), QUICK_STOP: (S.SWITCH_ON_DISABLED, 7),
        SHUTDOWN: (S.READY_TO_SWITCH_ON, None), SWITCH_ON: (S.SWITCHED_ON, 3),
        ENABLE: (S.SWITCHED_ON, 3), FAULT_RESET: (S.READY_TO_SWITCH_ON, None),
    },
    S.SWITCHED_ON: {
        DISABLE_VOLTAGE: (S.SWITCH_ON_DISABLED, 10), QUICK_STOP: (S.SWITCH_ON_DISABLED, 10),
        SHUTDOWN: (S.READY_TO_SWITCH_ON, 6), SWITCH_ON: (S.SWITCHED_ON, None),
        ENABLE: (S.OPERATION_ENABLED, 4), FAULT_RESET: (S.SWITCHED_ON, None),
    },
    S.OPERATION_ENABLED: {
        DISABLE_VOLTAGE: (S.SWITCH_ON_DISABLED, 9), QUICK_STOP: (S.QUICK_STOP_ACTIVE, 11),
        SHUTDOWN: (S.READY_TO_SWITCH_ON, 8), SWITCH_ON: (S.SWITCHED_ON, 5),
        ENABLE: (S.OPERATION_ENABLED, None), FAULT_RESET: (S.OPERATION_ENABLED, None),
    },
    S.QUICK_STOP_ACTIVE: {
        DISABLE_VOLTAGE: (S.SWITCH_ON_DISABLED, 12), QUICK_STOP: (S.QUICK_STOP_ACTIVE, None),
        SHUTDOWN: (S.QUICK_STOP_ACTIVE, None), SWITCH_ON: (S.QUICK_STOP_ACTIVE, None),
        ENABLE: (S.OPERATION_ENABLED, 16), FAULT_RESET: (S.QUICK_STOP_ACTIVE, None),
    },
    S.FAULT: {
        DISABLE_VOLTAGE: (S.FAULT, None), QUICK_STOP: (S.FAULT, None),
        SHUTDOWN: (S.FAULT, None), SWITCH_ON: (S.FAULT, None),
        ENABLE: (S.FAULT, None), FAULT_RESET: (S.SWITCH_ON_DISABLED, 15),
    },
}
CASES = [(state, cw, *outcome) for state, row in TABLE.items() for cw, outcome in row.items()]


@pytest.mark.parametrize("start, controlword, expected, transition", CASES)
def test_every_transition_and_illegal_command(start, controlword, expected, transition):
    b = Bench()
    reach(b, start)
    before = b.drive.last_transition
    statusword = b.cycle(controlword)
    assert b.drive.state is expected
    assert states_of(statusword) == [expected]
    assert b.drive.last_transition == (before if transition is None else transition)


def test_decode_command_matches_the_command_masks_for_every_controlword():
    masks = {  # (mask, value) per command
        Command.SHUTDOWN: (0x87, 0x06),
        Command.SWITCH_ON: (0x8F, 0x07),
        Command.ENABLE_OPERATION: (0x8F, 0x0F),
        Command.DISABLE_VOLTAGE: (0x82, 0x00),
        Command.QUICK_STOP: (0x86, 0x02),
    }
    for controlword in range(0x200):
        matching = [cmd for cmd, (mask, value) in masks.items() if controlword & mask == value]
        if controlword & 0x80:
            assert decode_command(controlword, 0x00) is Command.FAULT_RESET
            assert decode_command(controlword, 0x80) is None
        else:
            assert [decode_command(controlword, 0x80)] == matching


def test_statusword_patterns_of_every_state():
    b = Bench()
    assert b.cycle(DISABLE_VOLTAGE) == 0x0250
    b.drive.inject_fault(0x2310)
    assert b.sw == 0x021F  # fault reaction active, voltage enabled, remote
    assert b.cycle() == 0x0218
    b.drive.set_warning(True)
    assert b.sw == 0x0298
    b.drive.set_warning(False)
    assert b.sw == 0x0218


# ------------------------------------------------------------------------------- faults
def test_injected_fault_reaction_emergencies_and_fault_reset_on_rising_edge_only():
    b = Bench()
    b.cycle(DISABLE_VOLTAGE)
    b.set(0x6040, FAULT_RESET)  # held high before the fault: no edge afterwards
    b.drive.inject_fault(0x2310)
    assert b.get(0x603F) == 0x2310
    assert b.emergencies == [(0x2310, 0x03, bytes(5))]
    assert b.drive.last_transition == 13
    b.cycle(n=3)
    assert b.drive.state is DriveState.FAULT and b.drive.last_transition == 14
    b.cycle(DISABLE_VOLTAGE)
    assert b.drive.state is DriveState.FAULT
    assert b.cycle(FAULT_RESET) == 0x0250
    assert b.drive.last_transition == 15
    assert b.get(0x603F) == 0
    assert b.emergencies[-1] == (0x0000, 0x00, bytes(5))


def test_persistent_fault_refuses_reset_until_its_cause_is_gone():
    b = Bench()
    b.cycle(DISABLE_VOLTAGE)
    b.drive.inject_fault(0x4210, persistent=True)
    assert b.emergencies == [(0x4210, 0x09, bytes(5))]
    b.cycle(DISABLE_VOLTAGE)
    b.cycle(FAULT_RESET)
    assert b.drive.state is DriveState.FAULT
    b.drive.clear_fault_cause(0x4210)
    with pytest.raises(KeyError):
        b.drive.clear_fault_cause(0x4210)
    b.cycle(DISABLE_VOLTAGE)
    b.cycle(FAULT_RESET)
    assert b.drive.state is DriveState.SWITCH_ON_DISABLED


def test_inject_fault_rejects_no_error_and_time_may_not_run_backwards():
    b = Bench()
    with pytest.raises(ValueError):
        b.drive.inject_fault(0)
    b.cycle()
    with pytest.raises(ValueError, match="precedes"):
        b.drive.cycle(b.now - 1, CycleTrigger.SM2_EVENT)


def test_error_register_bits():
    expected = {
        0x2310: 0x03, 0x3220: 0x05, 0x4210: 0x09, 0x8611: 0x21,
        0x8700: 0x11, 0x8130: 0x11, 0x5530: 0x01, 0x0000: 0x00,
    }
    assert {code: int(error_register_for(code)) for code in expected} == expected


def test_emergencies_reach_the_coe_server_and_0x1001():
    od = ObjectDictionary(lambda: ALState.OP)
    server = CoeServer(od)
    drive = Cia402Drive(od, server.raise_emergency)
    drive.cycle(0, CycleTrigger.SM2_EVENT)
    drive.inject_fault(0x2310)
    assert od.get(0x1001, 0) == 0x03
    (payload,) = server.pop_emergencies()
    assert decode_coe(payload, Direction.SLAVE_TO_MASTER) == Emergency(0x2310, 0x03, bytes(5))


@pytest.mark.parametrize("option, frames", [(0, 1), (2, 10)])
def test_fault_reaction_option_code(option, frames):
    b = Bench()
    b.set(0x605E, option)
    b.enable(9)
    b.set(0x60FF, 10 * CPR)
    b.cycle(n=20)
    assert b.get(0x606C) == 10 * CPR
    b.drive.inject_fault(0x2310)
    count = b.run_until(lambda: b.drive.state is DriveState.FAULT)
    assert count == frames
    if option == 0:  # power off at once: the axis coasts, slowed by friction only
        assert b.get(0x606C) == round(10 * CPR - (10 << 17) / 1000)
        assert b.get(0x6077) == 0
    else:  # quick stop ramp 0x6085 = max acceleration: 131072 counts/s per ms
        assert b.get(0x606C) == 0


# ---------------------------------------------------------------------------- quick stop
@pytest.mark.parametrize(
    "option, deceleration, final, transition",
    [
        (2, 1000 * CPR, DriveState.SWITCH_ON_DISABLED, 12),
        (1, 100 * CPR, DriveState.SWITCH_ON_DISABLED, 12),
        (6, 1000 * CPR, DriveState.QUICK_STOP_ACTIVE, 11),
        (5, 100 * CPR, DriveState.QUICK_STOP_ACTIVE, 11),
    ],
)
def test_quick_stop_ramps_per_0x605A(option, deceleration, final, transition):
    b = Bench()
    b.set(0x605A, option)
    b.enable(9)
    b.set(0x60FF, 10 * CPR)
    b.cycle(n=20)
    assert b.cycle(QUICK_STOP) == 0x0217  # quick stop active, still moving
    before = b.get(0x606C)
    b.cycle()
    assert before - b.get(0x606C) == deceleration // 1000
    b.run_until(lambda: b.get(0x606C) == 0)
    b.cycle()
    assert b.drive.state is final and b.drive.last_transition == transition
    if final is DriveState.QUICK_STOP_ACTIVE:
        assert b.sw == 0x0617  # target reached: the axis stands still
        assert b.cycle(ENABLE) == 0x1237  # back to operation enabled in CSV (16)
        assert b.drive.last_transition == 16


def test_quick_stop_option_0_disables_at_once():
    b = Bench()
    b.set(0x605A, 0)
    b.enable(9)
    b.set(0x60FF, 10 * CPR)
    b.cycle(n=20)
    b.cycle(QUICK_STOP)
    b.cycle()
    assert b.drive.state is DriveState.SWITCH_ON_DISABLED
    assert b.get(0x606C) > 9 * CPR  # coasting


# ------------------------------------------------------------------------------ CSP
def test_csp_follows_a_ramp_at_1khz_with_bounded_following_error():
    b = Bench()
    assert b.enable(8) == 0x1237  # operation enabled, the drive follows the target
    start = b.get(0x6064)
    acceleration, top = 50 * CPR, 5 * CPR  # counts/s^2, counts/s
    position, velocity, errors = float(start), 0.0, []
    for step in range(1500):
        if step < 1000:
            velocity = min(velocity + acceleration / 1000, top)
        else:
            velocity = max(velocity - acceleration / 1000, 0)
        position += velocity / 1000
        b.set(0x607A, round(position))
        assert b.cycle() == 0x1237
        errors.append(b.get(0x60F4))
        assert abs(b.get(0x60F4)) <= velocity / 1000 + 1  # one cycle of set-point latency
    assert max(errors) > top / 1000 / 2
    b.cycle(n=3)
    assert b.get(0x6064) == round(position) and b.get(0x60F4) == 0 and b.get(0x606C) == 0
    assert b.emergencies == []


def test_enabling_csp_with_a_stale_target_jumps_and_faults_with_following_error():
    b = Bench(initial_position=1_000_000)
    b.set(0x6040, DISABLE_VOLTAGE)
    b.enable(8, track_target=False)  # 0x607A is still 0: the master forgot to track it
    enabled_at = b.now
    assert b.drive.state is DriveState.OPERATION_ENABLED
    b.run_until(lambda: b.drive.state is not DriveState.OPERATION_ENABLED)
    # the window (0x6065 = 13107) was exceeded for longer than 0x6066 = 10 ms
    assert b.now - enabled_at == 11 * MS
    assert b.get(0x6064) < 1_000_000 - 5_000  # the axis lurched towards the stale target
    assert b.emergencies == [(0x8611, 0x21, bytes(5))]
    assert b.get(0x603F) == 0x8611
    b.run_until(lambda: b.drive.state is DriveState.FAULT)
    assert b.sw == 0x2218  # fault, following error, voltage enabled, remote
    b.cycle(DISABLE_VOLTAGE)
    assert b.cycle(FAULT_RESET) == 0x0250


def test_tracking_the_target_before_enabling_keeps_the_axis_still():
    b = Bench(initial_position=1_000_000)
    b.enable(8)
    b.cycle(n=50)
    assert b.get(0x6064) == 1_000_000 and b.get(0x60F4) == 0 and b.emergencies == []


def test_following_error_window_off_disables_the_check():
    b = Bench(initial_position=100_000)
    b.set(0x6065, 0xFFFF_FFFF)
    b.enable(8, track_target=False)
    b.run_until(lambda: b.get(0x6064) == 0)
    assert b.emergencies == [] and b.drive.state is DriveState.OPERATION_ENABLED


def test_software_position_limits_clip_the_target():
    b = Bench()
    b.set(0x607D, -1000, 1)
    b.set(0x607D, 1000, 2)
    b.enable(8)
    b.set(0x607A, 5000)
    assert b.cycle() & 0x0800  # internal limit active
    b.cycle(n=20)
    assert b.get(0x6064) == 1000


# ----------------------------------------------------------------------------- CSV / CST
def test_csv_ramps_to_the_target_velocity_with_the_torque_limited_acceleration():
    b = Bench()
    b.enable(9)
    b.set(0x60FF, 2 * CPR)
    b.cycle()
    b.cycle()
    assert b.get(0x606C) == CPR  # 1000 rev/s^2 for 1 ms = 1 rev/s
    assert b.get(0x6077) == 3000  # all of the peak torque
    b.set(0x6072, 1500)  # half the torque: half the acceleration, from the next interval on
    b.set(0x60FF, 0)
    b.cycle()
    assert b.get(0x606C) == 2 * CPR  # the interval just elapsed ran under the old commands
    b.cycle()
    assert b.get(0x606C) == 3 * CPR // 2
    b.set(0x60FF, 200 * CPR)  # beyond the motor's 100 rev/s
    assert b.cycle() & 0x0800
    b.run_until(lambda: b.get(0x606C) == 100 * CPR)


def test_cst_torque_accelerates_the_axis_and_is_clipped_to_max_torque():
    b = Bench()
    assert b.enable(10) == 0x1237
    b.set(0x6071, 300)
    b.cycle()
    v0 = b.get(0x606C)
    b.cycle()
    assert b.get(0x606C) - v0 == 300 * (1000 * CPR) // 3000 // 1000  # torque/peak * max acc * dt
    assert b.get(0x6077) == 300
    b.set(0x6072, 200)
    b.set(0x6071, 300)
    b.cycle()
    assert b.cycle() & 0x0800
    assert b.get(0x6077) == 200


# ------------------------------------------------------------------------------ modes
def test_mode_change_is_reported_and_unsupported_modes_are_ignored():
    b = Bench()
    b.cycle()
    assert b.get(0x6061) == 0
    steps = [(9, 9), (7, 9), (2, 9), (-3, 9), (0, 9), (8, 8), (1, 1), (3, 3), (6, 6), (10, 10)]
    for requested, shown in steps:
        b.set(0x6060, requested)
        b.cycle()
        assert b.get(0x6061) == shown, requested
        assert b.drive.mode == shown


def test_pv_reaches_the_target_velocity_and_reports_speed_zero():
    b = Bench()
    assert b.enable(3) == 0x1637  # target reached (0 = 0) and speed zero
    b.set(0x60FF, 5 * CPR)
    assert b.cycle() == 0x1237  # target not reached, the axis still stands
    b.cycle()
    assert b.get(0x606C) == 100 * CPR // 1000  # profile acceleration 0x6083
    b.run_until(lambda: b.sw & 0x0400)
    assert abs(b.get(0x606C) - 5 * CPR) <= b.get(0x606D)
    assert b.cycle(ENABLE | HALT) & 0x0400 == 0  # halt: decelerating
    b.run_until(lambda: b.sw == 0x1637)  # stopped: target reached and speed zero


# ------------------------------------------------------------------------------- PP
def test_pp_set_point_handshake_trajectory_and_target_reached():
    b = Bench()
    assert b.enable(1) == 0x0637
    b.set(0x607A, 200_000)
    assert b.cycle(ENABLE | NEW_SET_POINT) == 0x1237  # acknowledged, target not reached
    assert b.cycle() == 0x1237  # acknowledge held while bit 4 stays set
    assert b.cycle(ENABLE) == 0x0237
    peak = 0
    while not b.sw & 0x0400:
        b.cycle()
        peak = max(peak, b.get(0x606C))
    assert b.get(0x6064) == 200_000
    assert peak == 10 * CPR  # profile velocity 0x6081 reached, never exceeded
    assert b.sw == 0x0637


def test_pp_relative_set_points_add_to_the_last_target():
    b = Bench()
    b.enable(1)
    for _ in range(2):
        b.set(0x607A, 1000)
        b.cycle(ENABLE | NEW_SET_POINT | RELATIVE)
        b.cycle(ENABLE | RELATIVE)
    b.run_until(lambda: b.sw & 0x0400)
    assert b.get(0x6064) == 2000


def test_pp_buffered_set_point_waits_and_keeps_the_acknowledge():
    b = Bench()
    b.enable(1)
    b.set(0x607A, 100_000)
    b.cycle(ENABLE | NEW_SET_POINT)
    b.cycle(ENABLE)
    b.cycle(n=20)
    b.set(0x607A, 0)
    assert b.cycle(ENABLE | NEW_SET_POINT) & 0x1000
    assert b.cycle(ENABLE) & 0x1000  # buffer full: acknowledge stays set
    b.set(0x607A, 50_000)  # a further set-point while the buffer is full is ignored
    b.cycle(ENABLE | NEW_SET_POINT)
    b.cycle(ENABLE)
    highest = b.get(0x6064)
    while b.sw & 0x1000:
        b.cycle()
        highest = max(highest, b.get(0x6064))
    assert highest == 100_000  # the first target was reached before the buffered one started
    b.run_until(lambda: b.sw & 0x0400)
    assert b.get(0x6064) == 0


def test_pp_change_set_immediately_replaces_the_target():
    b = Bench()
    b.enable(1)
    b.set(0x607A, 100_000)
    b.cycle(ENABLE | NEW_SET_POINT)
    b.cycle(ENABLE)
    b.cycle(n=40)
    b.set(0x607A, 20_000)
    b.cycle(ENABLE | NEW_SET_POINT | IMMEDIATE)
    b.cycle(ENABLE | IMMEDIATE)
    highest = 0
    while not b.sw & 0x0400:
        b.cycle()
        highest = max(highest, b.get(0x6064))
    assert highest < 100_000 and b.get(0x6064) == 20_000


def test_pp_halt_stops_and_release_resumes():
    b = Bench()
    b.enable(1)
    b.set(0x607A, 300_000)
    b.cycle(ENABLE | NEW_SET_POINT)
    b.cycle(ENABLE)
    b.cycle(n=50)
    b.run_until(lambda: b.sw & 0x0400, controlword=ENABLE | HALT)
    stopped_at = b.get(0x6064)
    assert 0 < stopped_at < 300_000 and b.get(0x606C) == 0
    b.cycle(ENABLE)
    b.run_until(lambda: b.sw & 0x0400)
    assert b.get(0x6064) == 300_000


# ----------------------------------------------------------------------------- homing
def test_homing_37_sets_the_position_to_the_home_offset():
    b = Bench(initial_position=77_777)
    b.set(0x6098, 37)
    b.set(0x607C, 1234)
    assert b.enable(6) == 0x0637  # homing not started: bit 10 only
    assert b.get(0x6061) == 6
    assert b.cycle(ENABLE | NEW_SET_POINT) == 0x1637  # homing attained, target reached
    assert b.get(0x6064) == 1234
    b.cycle(n=5)
    assert b.get(0x6064) == 1234 and b.sw == 0x1637


@pytest.mark.parametrize("method", [0, 5])  # 5 can only arrive by PDO: SDO refuses it
def test_homing_without_a_supported_method_ends_in_homing_error(method):
    b = Bench()
    b.set(0x6098, method)
    b.enable(6)
    assert b.cycle(ENABLE | NEW_SET_POINT) == 0x2637  # homing error, velocity 0


def test_homing_17_finds_the_negative_limit_switch_edge():
    b = Bench(negative_limit_switch=-20_000)
    b.set(0x6098, 17)
    b.set(0x607C, 500)
    b.set(0x6099, 200_000, 1)
    b.set(0x6099, 20_000, 2)
    b.enable(6)
    assert b.cycle(ENABLE | NEW_SET_POINT) & 0x3400 == 0  # in progress
    b.run_until(lambda: b.get(0x60FD) & 0x01)  # the negative limit switch input
    assert b.get(0x606C) < 0
    b.run_until(lambda: b.sw & 0x1000)  # the edge: homing attained
    assert b.sw & 0x3400 == 0x1000  # attained, target not reached yet
    assert 500 < b.get(0x6064) <= 500 + 20  # home offset at the edge, one cycle of speed 2
    b.run_until(lambda: b.sw & 0x0400)
    assert b.sw & 0x3400 == 0x1400 and b.get(0x606C) == 0
    assert not b.get(0x60FD) & 0x01


def test_homing_18_interrupted_by_clearing_bit_4():
    b = Bench(positive_limit_switch=1_000_000)
    b.set(0x6098, 18)
    b.set(0x6099, 200_000, 1)
    b.enable(6)
    b.cycle(ENABLE | NEW_SET_POINT)
    b.cycle(n=30)
    assert b.get(0x606C) > 0
    b.cycle(ENABLE)
    b.run_until(lambda: b.get(0x606C) == 0)
    b.cycle()
    assert b.sw & 0x3400 == 0x0400  # interrupted or not started


# ----------------------------------------------------------------------- synchronisation
def dc_bench(cycle_time: int = MS) -> Bench:
    b = Bench()
    b.set(0x1C32, 2, 1)
    b.set(0x1C32, cycle_time, 2)
    b.cycle(DISABLE_VOLTAGE, n=5, trigger=CycleTrigger.SYNC0)
    return b


def test_sync0_loss_detected_by_supervision():
    b = dc_bench()
    assert b.drive.dc_synchronised and b.drive.trigger is CycleTrigger.SYNC0
    assert b.drive.supervise(b.now + 3 * MS) == 0
    assert not b.drive.sync_lost
    assert b.drive.supervise(b.now + 3 * MS + 1) == 0x002C  # fatal sync error for the AL layer
    assert b.drive.sync_lost and not b.drive.dc_synchronised
    assert b.get(0x1C32, 0x20) is True and b.get(0x1C33, 0x20) is True
    assert b.emergencies == [(0x8700, 0x11, bytes(5))]
    assert b.drive.state is DriveState.FAULT_REACTION_ACTIVE and b.get(0x603F) == 0x8700
    assert b.drive.supervise(b.now + 10 * MS) == 0x002C
    assert len(b.emergencies) == 1
    b.cycle(dt=10 * MS, trigger=CycleTrigger.SYNC0)  # SYNC0 is back
    assert not b.drive.sync_lost and b.get(0x1C32, 0x20) is False
    assert b.drive.supervise(b.now) == 0
    assert b.drive.state is DriveState.FAULT


def test_sync0_gap_detected_at_the_late_cycle_with_the_measured_period():
    b = dc_bench(cycle_time=0)
    b.cycle(dt=3 * MS, trigger=CycleTrigger.SYNC0)
    assert not b.drive.sync_lost
    b.cycle(dt=MS, trigger=CycleTrigger.SYNC0)
    b.cycle(dt=4 * MS, trigger=CycleTrigger.SYNC0)  # more than 3 measured periods of 1 ms
    assert b.drive.sync_lost and b.codes == [0x8700]
    b.cycle(trigger=CycleTrigger.SYNC0)
    assert not b.drive.sync_lost


def test_no_sync_supervision_in_free_run_or_after_reset_sync():
    b = Bench()
    b.cycle(n=3)
    b.drive.supervise(b.now + 100 * MS)
    b.cycle(dt=100 * MS)
    assert not b.drive.sync_lost and not b.drive.dc_synchronised
    b = dc_bench()
    b.drive.reset_sync()
    b.drive.supervise(b.now + 100 * MS)
    assert not b.drive.sync_lost and b.emergencies == []


def _drive_slave(limit: int):
    """A drive as a simulated slave (the application layer of sim/devices/drive.py) in OP,
    its SM event supervision limit set to ``limit``."""
    from ethercat_master.sim.devices.drive import Cia402DriveModel
    from ethercat_master.sim.slave import build_chain

    slave = build_chain([Cia402DriveModel()], time_source=lambda: 0)[0]
    application = slave.application
    application.sync_error_counter_limit = limit
    application.state_entered(ALState.SAFEOP, ALState.OP)
    return slave, application


def test_sm_events_missed_in_dc_mode_count_up_3_down_1_and_end_in_a_sync_error():
    from ethercat_master.sim.devices.drive import SYNC_ERROR_COUNTER_LIMIT

    slave, application = _drive_slave(SYNC_ERROR_COUNTER_LIMIT)
    od = slave.od
    now = 10 * MS

    def sync0(with_outputs: bool) -> None:
        nonlocal now
        if with_outputs:
            application.outputs_received()  # the firmware took an output buffer (the SM2 event)
        now += MS
        application.cycle(now, CycleTrigger.SYNC0)

    for _ in range(5):
        sync0(True)
    assert application.sm_event_missed == 0 and application.supervise(now) == 0
    sync0(False)  # a SYNC0 without new outputs since the previous one: +3
    assert application.sm_event_missed == 3 and od.get(0x1C32, 0x0B) == 3 and od.get(0x1C33, 0x0B) == 3
    assert application.supervise(now) == 0  # 3 is within the limit 4
    sync0(True)  # new outputs: -1
    assert application.sm_event_missed == 2
    sync0(False)
    assert application.sm_event_missed == 5
    assert application.supervise(now) == 0x001A  # synchronization error for the AL layer
    assert od.get(0x1C32, 0x20) is True and od.get(0x1C33, 0x20) is True
    # two outputs in one interval count once; frames without outputs do not count
    application.outputs_received()
    sync0(True)
    assert application.sm_event_missed == 4 and application.supervise(now) == 0
    # back in OP after the error: the counter starts again
    application.state_entered(ALState.OP, ALState.SAFEOP)
    sync0(False)  # outside OP nothing is supervised
    assert application.sm_event_missed == 4
    application.state_entered(ALState.SAFEOP, ALState.OP)
    assert application.sm_event_missed == 0 and od.get(0x1C32, 0x20) is False


def test_sm_event_supervision_without_a_limit_counts_but_never_reports():
    slave, application = _drive_slave(0)
    now = 10 * MS
    for _ in range(10):
        now += MS
        application.cycle(now, CycleTrigger.SYNC0)
    assert application.sm_event_missed == 30 and slave.od.get(0x1C32, 0x0B) == 30
    assert application.supervise(now) == 0 and not application.sync_error
    # an SDO write of the controlword is not an output buffer
    slave.od.sdo_download(0x6040, 0, bytes(2))
    now += MS
    application.cycle(now, CycleTrigger.SYNC0)
    assert application.sm_event_missed == 33


# ------------------------------------------------------------------------------ property
COMMANDS = [DISABLE_VOLTAGE, QUICK_STOP, SHUTDOWN, SWITCH_ON, ENABLE, FAULT_RESET]
ALLOWED = {(state, expected) for state, row in TABLE.items() for expected, _ in row.values()} | {
    (S.NOT_READY_TO_SWITCH_ON, S.SWITCH_ON_DISABLED),
    (S.QUICK_STOP_ACTIVE, S.SWITCH_ON_DISABLED),
    (S.FAULT_REACTION_ACTIVE, S.FAULT),
    (S.FAULT_REACTION_ACTIVE, S.FAULT_REACTION_ACTIVE),
} | {(state, S.FAULT_REACTION_ACTIVE) for state in S}

step = st.tuples(
    st.one_of(st.sampled_from(COMMANDS), st.integers(0, 0xFFFF)),
    st.sampled_from([-1, 0, 1, 2, 3, 6, 7, 8, 9, 10]),
    st.integers(-(1 << 20), 1 << 20),
    st.integers(0, 3 * MS),
    st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(step, max_size=40), st.sampled_from([0, 1, 2, 5, 6]))
def test_random_controlwords_never_produce_an_undefined_statusword(steps, quick_stop_option):
    b = Bench()
    b.set(0x605A, quick_stop_option)
    b.set(0x6098, 37)
    for controlword, mode, target, dt, fault in steps:
        b.set(0x6060, mode)
        b.set(0x607A, target)
        b.set(0x60FF, target)
        b.set(0x6071, target % 1000)
        if fault and controlword % 7 == 0:
            b.drive.inject_fault(0x2310)
            assert states_of(b.sw) == [DriveState.FAULT_REACTION_ACTIVE] or b.drive.state is S.FAULT
        before = b.drive.state
        statusword = b.cycle(controlword, dt=dt)
        assert states_of(statusword) == [b.drive.state]
        assert (before, b.drive.state) in ALLOWED
        assert b.get(0x6061) in (0, 1, 3, 6, 8, 9, 10)
