"""Cia402Drive on a synthetic process image, stepped by hand (no threads, no simulator): drives
that map a subset of the entries, non-blocking requests, supersession, timeouts without
cycles, the fault reset edge, the PP handshake, the group built from the network config, and
the unit scaling."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ethercat_master.config.network import DriveSettings, DriveUnit, load_network
from ethercat_master.devices import (
    Cia402Drive,
    Cia402Group,
    Cia402State,
    Controlword,
    DriveCommandError,
    DriveMappingError,
    DriveRequestCancelled,
    DriveScaling,
    DriveTimeout,
    OperationMode,
    UnsupportedModeError,
)
from ethercat_master.errors import EtherCATError

ROOT = Path(__file__).resolve().parents[3]
OUTPUTS = {"controlword": 0x6040, "target_position": 0x607A, "target_velocity": 0x60FF, "target_torque": 0x6071,
           "modes_of_operation": 0x6060}
INPUTS = {"statusword": 0x6041, "position_actual_value": 0x6064, "velocity_actual_value": 0x606C,
          "torque_actual_value": 0x6077, "modes_of_operation_display": 0x6061}


class FakeArea:
    """The part of a SlaveArea the drive uses: fields with their object index, read, write."""

    def __init__(self, fields: dict[str, int]):
        self.info = SimpleNamespace(fields={name: SimpleNamespace(index=index, subindex=0)
                                            for name, index in fields.items()})
        self.values: dict[str, Any] = {name: 0 for name in fields}
        self.writes: list[dict[str, Any]] = []

    def read(self) -> dict[str, Any]:
        return dict(self.values)

    def write(self, values=None, /, **more: Any) -> None:
        items = {**(values or {}), **more}
        assert set(items) <= set(self.values), f"unknown fields {set(items) - set(self.values)}"
        self.values.update(items)
        self.writes.append(items)


class FakeImage:
    def __init__(self, outputs: dict[str, int] = OUTPUTS, inputs: dict[str, int] = INPUTS):
        self.area = SimpleNamespace(name="position 9 (FakeServo)", outputs=FakeArea(outputs), inputs=FakeArea(inputs))

    def slave(self, position: int):
        assert position == 9
        return self.area


class Model:
    """A drive answering the controlword with the state patterns of CiA 402 (one transition
    per step, fault reset on the rising edge, the PP acknowledge, the mode display)."""

    WORDS = {Cia402State.SWITCH_ON_DISABLED: 0x0250, Cia402State.READY_TO_SWITCH_ON: 0x0231,
             Cia402State.SWITCHED_ON: 0x0233, Cia402State.OPERATION_ENABLED: 0x0237, Cia402State.FAULT: 0x0218}

    def __init__(self, image: FakeImage):
        self.outputs, self.inputs = image.area.outputs.values, image.area.inputs.values
        self.state = Cia402State.SWITCH_ON_DISABLED
        self.previous = 0
        self.ack = False
        self.accepted: list[int] = []
        self.resets = 0
        self.persistent = False

    def step(self) -> None:
        cw = self.outputs["controlword"]
        rising = cw & ~self.previous
        s = Cia402State
        if self.state is s.FAULT:
            if rising & Controlword.FAULT_RESET:
                self.resets += 1
                if not self.persistent:
                    self.state = s.SWITCH_ON_DISABLED
        elif cw & 0x87 == 0x06 and self.state in (s.SWITCH_ON_DISABLED, s.SWITCHED_ON, s.OPERATION_ENABLED):
            self.state = s.READY_TO_SWITCH_ON
        elif cw & 0x8F in (0x07, 0x0F) and self.state is s.READY_TO_SWITCH_ON:
            self.state = s.SWITCHED_ON
        elif cw & 0x8F == 0x0F and self.state is s.SWITCHED_ON:
            self.state = s.OPERATION_ENABLED
        elif cw & 0x82 == 0:
            self.state = s.SWITCH_ON_DISABLED
        if self.state is s.OPERATION_ENABLED and self.outputs.get("modes_of_operation") == OperationMode.PP:
            if rising & Controlword.NEW_SET_POINT and not self.ack:
                self.ack = True
                self.accepted.append(self.outputs["target_position"])
            elif not cw & Controlword.NEW_SET_POINT:
                self.ack = False
        self.previous = cw
        word = self.WORDS[self.state] | (0x1000 if self.ack else 0)
        self.inputs["statusword"] = word
        if "modes_of_operation_display" in self.inputs:
            self.inputs["modes_of_operation_display"] = self.outputs.get("modes_of_operation", 0)


def run(drive: Cia402Drive, model: Model, cycles: int, until=None) -> None:
    for _ in range(cycles):
        drive.update()
        model.step()
        if until is not None and until():
            return


# ------------------------------------------------------------------------------ mapping
def test_a_drive_without_statusword_is_refused_naming_the_entry():
    inputs = {k: v for k, v in INPUTS.items() if k != "statusword"}
    with pytest.raises(DriveMappingError, match="0x6041"):
        Cia402Drive(FakeImage(inputs=inputs), 9)


def test_modes_whose_target_is_not_mapped_are_refused():
    outputs = {"controlword": 0x6040, "target_position": 0x607A, "modes_of_operation": 0x6060}
    drive = Cia402Drive(FakeImage(outputs=outputs), 9, mode=OperationMode.CSP)
    assert drive.supported_modes == {OperationMode.CSP, OperationMode.PP, OperationMode.HM}
    for mode, entry in ((OperationMode.CSV, "0x60FF"), (OperationMode.CST, "0x6071"), (OperationMode.PT, "0x6071")):
        with pytest.raises(UnsupportedModeError, match=entry) as caught:
            drive.set_mode(mode, wait=False)
        assert caught.value.mode == mode and isinstance(caught.value, EtherCATError)
    with pytest.raises(UnsupportedModeError, match="0x60FF"):
        Cia402Drive(FakeImage(outputs=outputs), 9, mode=OperationMode.CSV)


def test_without_modes_of_operation_only_the_start_mode_runs_and_settles_by_cycles():
    outputs = {k: v for k, v in OUTPUTS.items() if k != "modes_of_operation"}
    inputs = {k: v for k, v in INPUTS.items() if k != "modes_of_operation_display"}
    image = FakeImage(outputs, inputs)
    drive = Cia402Drive(image, 9, mode=OperationMode.CSV)
    with pytest.raises(UnsupportedModeError, match="0x6060"):
        drive.set_mode(OperationMode.CSP, wait=False)
    model = Model(image)
    request = drive.enable(wait=False)
    run(drive, model, 40, until=lambda: request.done)
    request.wait()
    run(drive, model, 12)
    assert drive.mode == OperationMode.CSV
    assert drive.command(velocity=1.0) and image.area.outputs.values["target_velocity"] == 0
    run(drive, model, 1)
    assert image.area.outputs.values["target_velocity"] == 1


# ------------------------------------------------------------------------------ requests
def test_enable_walks_the_commands_in_order_and_holds_targets_meanwhile():
    image = FakeImage()
    image.area.inputs.values["position_actual_value"] = 12345
    image.area.outputs.values["target_position"] = -999  # stale
    drive, model = Cia402Drive(image, 9), Model(image)
    request = drive.enable(wait=False)
    assert not request.done
    run(drive, model, 20, until=lambda: request.done)
    request.wait()
    words = [w["controlword"] & 0x8F for w in image.area.outputs.writes]
    steps = [w for n, w in enumerate(words) if n == 0 or w != words[n - 1]]
    assert steps == [0x00, 0x06, 0x07, 0x0F]  # not ready (no inputs yet), shutdown, switch on, enable
    assert all(w["target_position"] == 12345 for w in image.area.outputs.writes)
    assert drive.state is Cia402State.OPERATION_ENABLED


def test_a_later_request_supersedes_the_one_in_progress():
    image = FakeImage()
    drive, model = Cia402Drive(image, 9), Model(image)
    first = drive.enable(wait=False)
    run(drive, model, 1)
    second = drive.disable(wait=False)
    assert first.done and isinstance(first.exception(), DriveRequestCancelled)
    assert "superseded by disable" in str(first.exception())
    run(drive, model, 10, until=lambda: second.done)
    second.wait()
    assert drive.state is Cia402State.SWITCH_ON_DISABLED


def test_a_request_without_cycles_times_out_saying_so():
    drive = Cia402Drive(FakeImage(), 9)
    with pytest.raises(DriveTimeout, match="no update\\(\\) ran") as caught:
        drive.enable(timeout=0.05)
    assert caught.value.timeout == 0.05 and "position 9" in str(caught.value)


def test_fault_reset_raises_bit_7_on_edges_until_the_drive_leaves_fault():
    image = FakeImage()
    drive, model = Cia402Drive(image, 9), Model(image)
    model.state, model.persistent = Cia402State.FAULT, True
    run(drive, model, 2)
    request = drive.fault_reset(timeout=5.0, wait=False)
    run(drive, model, 35)
    assert model.resets >= 2 and not request.done  # pulsed again while the cause persists
    model.persistent = False
    run(drive, model, 30, until=lambda: request.done)
    request.wait()
    assert drive.state is Cia402State.SWITCH_ON_DISABLED
    assert not image.area.outputs.values["controlword"] & Controlword.FAULT_RESET


def test_pp_set_points_use_the_acknowledge_handshake():
    image = FakeImage()
    image.area.inputs.values["position_actual_value"] = 100
    drive, model = Cia402Drive(image, 9, mode=OperationMode.PP), Model(image)
    request = drive.enable(wait=False)
    run(drive, model, 20, until=lambda: request.done)
    request.wait()
    run(drive, model, 2)
    assert drive.command(position=5000)
    run(drive, model, 6)
    assert drive.command(position=7000)
    run(drive, model, 6)
    assert model.accepted == [5000, 7000]
    with pytest.raises(DriveCommandError, match="needs a position"):
        drive.command(velocity=1.0)


def test_set_points_out_of_range_are_refused():
    drive = Cia402Drive(FakeImage(), 9, mode=OperationMode.CST)
    with pytest.raises(DriveCommandError, match="torque"):
        drive.command(torque=40.0)  # 40 x rated torque = 40000 per mille > INTEGER16


# --------------------------------------------------------------------------------- group
def test_the_group_has_a_drive_for_every_configured_drive_at_its_aliased_position():
    network = load_network(ROOT / "config" / "network_sim.yaml")
    image = SimpleNamespace(slave=lambda position: FakeImage().area)
    slaves = [SimpleNamespace(position=p, alias=0x0101 + p - 4 if p >= 4 else 0) for p in range(8)]
    group = Cia402Group.from_network(network, image, slaves)
    assert group.joint_names == ("joint1", "joint2", "joint3", "joint4")
    assert [drive.slave for drive in group] == [4, 5, 6, 7]
    assert group["joint1"].scaling.counts_per_unit == pytest.approx(131072 / (2 * math.pi))
    names, positions, _, _ = group.joint_states()
    assert names == group.joint_names and positions == (None,) * 4  # nothing read before the first update


# ------------------------------------------------------------------------------- scaling
@given(st.floats(-1000.0, 1000.0), st.floats(1.0, 1e6))
def test_scaling_round_trips_within_one_count(position, counts_per_unit):
    scaling = DriveScaling.from_settings(DriveSettings("j", DriveUnit.RAD, counts_per_unit))
    counts = scaling.position_counts(position)
    assert abs(scaling.position(counts) - position) <= 0.5 / counts_per_unit + 1e-12
    assert scaling.velocity_counts(scaling.velocity(counts)) == counts


def test_scaling_refuses_values_beyond_the_entry():
    with pytest.raises(ValueError, match="outside"):
        DriveScaling(1000.0).position_counts(3e6)
    with pytest.raises(ValueError):
        DriveScaling(0.0)
