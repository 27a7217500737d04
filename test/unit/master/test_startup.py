"""The network start-up from a YAML description (config/network_sim.yaml on the simulated
reference chain, in process): Master.configure matches the bus to the file, runs the start-up
SDOs and the configured PDO mapping, start() reaches OP with process data flowing, stop() goes
back to SAFE-OP with zero outputs, shutdown() to INIT; a bus that differs from the file, and a
start-up SDO the slave refuses, fail with errors that say where and what."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from ethercat_master.config.network import Identity, MismatchKind, StartupSdo, load_network
from ethercat_master.config.esi import Transition
from ethercat_master.errors import BusMismatchError, ConfigError, SdoAbort
from ethercat_master.master.master import Master
from ethercat_master.master.startup import mailbox_policy, startup_sdos
from ethercat_master.master.mailbox import StatusMode
from ethercat_master.protocol.al_status import ALState
from ethercat_master.protocol.coe import DataType
from ethercat_master.tools.network_link import NetworkLink
from ethercat_master.tools.soak import SIMULATOR_BUS_TIMEOUT_S

ROOT = Path(__file__).resolve().parents[3]
NETWORK = ROOT / "config" / "network_sim.yaml"
DIGITAL_OUT, ANALOG = 2, 3
AXES = (4, 5, 6, 7)
CSP = 8
PERIOD = 0.002


def wait_for(condition, timeout: float = 5.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, f"{what} not reached within {timeout} s"
        time.sleep(0.005)


@pytest.fixture
def network():
    return load_network(NETWORK)


@pytest.fixture
def bus(network):
    with NetworkLink(network) as opened, Master(opened.link, bus_timeout=SIMULATOR_BUS_TIMEOUT_S) as master:
        yield opened, master
        master.shutdown()


def states(master: Master) -> list[ALState]:
    return [block.status.state for block in master.read_states()]


def test_configure_brings_the_bus_to_preop_as_the_file_describes(bus, network):
    opened, master = bus
    layout = master.configure(network)
    assert states(master) == [ALState.PREOP] * 8
    assert [master.assignment[p].name for p in range(8)] == [
        "coupler", "inputs", "outputs", "analog", "axis1", "axis2", "axis3", "axis4"]
    for position in AXES:  # the "PS" start-up SDO ran on every drive
        assert master.coe(position).read(0x6060, 0, DataType.INTEGER8) == CSP
    drive = master.image.slave(AXES[0])
    assert list(drive.outputs) == ["controlword", "target_position", "target_velocity", "target_torque",
                                   "modes_of_operation"]
    assert "following_error_actual_value" in drive.inputs
    assert layout.expected_wkc == 16
    # the drives' engines got the file's mailbox policy
    assert master.mailbox(AXES[0]).policy == mailbox_policy(network.mailbox)


def test_start_reaches_op_with_process_data_both_ways_and_stop_makes_outputs_safe(bus, network):
    opened, master = bus
    master.configure(network)
    report = master.start(PERIOD)
    assert report is not None
    assert states(master) == [ALState.OP] * 8
    pattern = 0b1010_0110
    master.image.outputs[DIGITAL_OUT].write({f"channel_{n + 1}_output": bool(pattern >> n & 1) for n in range(8)})
    wait_for(lambda: master.exchange.working_counters == [16], what="working counter 16")
    chain = opened.simulator.loaded.chain
    el2008 = chain[chain.processing_order[DIGITAL_OUT]]
    wait_for(lambda: el2008.application.value == pattern, what="EL2008 pins")
    assert master.image.slave(ANALOG).inputs.ai_standard_channel_2_value != 0
    master.stop()
    assert states(master) == [ALState.SAFEOP] * 8
    assert el2008.application.value == 0  # outputs were zeroed before SAFE-OP
    assert not master.image.outputs_buffer.any()
    assert master.cycle.running  # inputs keep flowing in SAFE-OP
    master.shutdown()
    assert states(master) == [ALState.INIT] * 8
    assert master.cycle is None


def test_a_wrong_slave_fails_configure_naming_position_expected_and_found(bus, network):
    opened, master = bus
    axis2 = network.slave("axis2")
    wrong = dataclasses.replace(axis2, identity=Identity(0x0000_0000, 0x0000_0403))
    network = dataclasses.replace(network, slaves=tuple(wrong if s is axis2 else s for s in network.slaves))
    with pytest.raises(BusMismatchError) as caught:
        master.configure(network)
    error = caught.value
    assert isinstance(error, ConfigError)
    (mismatch,) = error.mismatches
    assert mismatch.position == 5 and mismatch.slave == "axis2"
    assert mismatch.kind is MismatchKind.WRONG_IDENTITY
    assert "position 5, alias 0x0102 (axis2): wrong identity: expected vendor 0x00000000 product 0x00000403" \
        in str(error)
    assert "found vendor 0x00000000 product 0x00000402" in str(error)
    assert str(error).startswith(network.file) and network.file.endswith("network_sim.yaml")


def test_a_missing_slave_fails_configure(bus, network):
    opened, master = bus
    chain = opened.simulator.loaded.chain
    chain.power_off(chain.processing_order[7])
    with pytest.raises(BusMismatchError, match=r"alias 0x0104 \(axis4\): missing slave: expected vendor 0x00000000 "
                                               r"product 0x00000402"):
        master.configure(network)


def test_a_refused_startup_sdo_names_the_slave_and_the_entry(bus, network):
    opened, master = bus
    axis3 = network.slave("axis3")
    bad = StartupSdo((Transition.PREOP_TO_SAFEOP,), 0x5FFE, 0, b"\x01", comment="no such object")
    broken = dataclasses.replace(axis3, startup_sdos=axis3.startup_sdos + (bad,))
    network = dataclasses.replace(network, slaves=tuple(broken if s is axis3 else s for s in network.slaves))
    assert startup_sdos(broken, Transition.PREOP_TO_SAFEOP)[-1] is bad
    with pytest.raises(SdoAbort) as caught:
        master.configure(network)
    assert caught.value.code == 0x0602_0000
    note = "\n".join(caught.value.__notes__)
    assert "axis3 (alias 0x0103)" in note and "0x5FFE:00" in note and "no such object" in note
    assert "transition PS" in note


def test_mailbox_policy_follows_the_settings(network):
    policy = mailbox_policy(network.mailbox)
    assert policy.status_mode is StatusMode.HYBRID
    assert policy.reply_timeout == pytest.approx(0.25)
    assert policy.backoff.attempts == 3 and policy.backoff.initial_delay == pytest.approx(200e-6)
    assert policy.emergency_capacity == 64


def test_the_process_data_watchdog_of_the_file_is_written_in_preop(bus, network):
    opened, master = bus
    axis1 = network.slave("axis1")
    network = dataclasses.replace(network, process_data_watchdog_ns=1_000_000_000,
                                  slaves=tuple(dataclasses.replace(s, process_data_watchdog_ns=0) if s is axis1 else s
                                               for s in network.slaves))
    master.configure(network)
    def watchdog(position: int) -> tuple[int, int]:
        divider = master.read_register(0x0400, 2, position=position)
        time_ = master.read_register(0x0420, 2, position=position)
        return int.from_bytes(divider, "little"), int.from_bytes(time_, "little")
    assert watchdog(2) == (2498, 10_000)  # 1 s in 100 us counts
    assert watchdog(4) == (2498, 0)       # axis1: off
