"""Supervision and recovery on the simulated reference chain running in OP (in process): a
drive that loses power is reported lost while the others keep exchanging, and is brought back
to OP with its configuration when power returns; a slave that leaves OP is returned to it; a
different device at a lost slave's position is not taken for it; the failure policy applies
after the allowed attempts."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from ethercat_master.config.esi import Transition
from ethercat_master.config.network import FailureAction, RecoverySettings, StartupSdo, load_network
from ethercat_master.master.al import request_states
from ethercat_master.master.master import Master
from ethercat_master.master.recovery import EventKind, SlaveCondition, Supervisor
from ethercat_master.protocol.al_status import ALState
from ethercat_master.protocol.coe import DataType
from ethercat_master.tools.network_link import NetworkLink
from ethercat_master.tools.soak import SIMULATOR_BUS_TIMEOUT_S

NETWORK = Path(__file__).resolve().parents[3] / "config" / "network_sim.yaml"
AXIS3, AXIS4 = 6, 7
PERIOD = 0.002
IMMEDIATE = RecoverySettings(check_interval_ns=20_000_000, retry_delay_ns=0, max_attempts=3)


def wait_for(condition, timeout: float = 5.0, what: str = "condition") -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, f"{what} not reached within {timeout} s"
        time.sleep(0.005)


@pytest.fixture
def running():
    network = load_network(NETWORK)
    with NetworkLink(network) as opened, Master(opened.link, bus_timeout=SIMULATOR_BUS_TIMEOUT_S) as master:
        master.configure(network)
        master.start(PERIOD)
        try:
            yield opened, master
        finally:
            master.shutdown()


def kinds(events) -> list[EventKind]:
    return [event.kind for event in events]


def test_a_drive_that_loses_power_is_reported_and_brought_back_to_op(running):
    opened, master = running
    chain = opened.simulator.loaded.chain
    topology_number = chain.processing_order[AXIS4]
    supervisor = Supervisor(master, IMMEDIATE)
    assert supervisor.check() == []
    chain.power_off(topology_number)
    wait_for(lambda: master.exchange.working_counters == [13], what="WKC without axis4 (16 - 3)")
    events = supervisor.check()
    assert kinds(events) == [EventKind.LOST] and events[0].position == AXIS4 and events[0].name == "axis4"
    assert supervisor.health[AXIS4].condition is SlaveCondition.LOST
    cycles = master.exchange.counters.cycles
    wait_for(lambda: master.exchange.counters.cycles > cycles + 5, what="the others keep cycling")
    assert [b.status.state for b in master.read_states()] == [ALState.OP] * 7  # position 7 no longer answers
    assert supervisor.check() == []  # reported once
    chain.power_on(topology_number)
    events = supervisor.check()
    assert kinds(events) == [EventKind.FOUND, EventKind.RECOVERED], [str(e) for e in events]
    assert "set to 0x1008" in events[0].detail
    assert master.read_state(AXIS4).status.state is ALState.OP
    wait_for(lambda: master.exchange.working_counters == [16], what="WKC 16 again")
    health = supervisor.health[AXIS4]
    assert (health.condition, health.lost, health.recovered) == (SlaveCondition.OPERATIONAL, 1, 1)
    # its DC offset and delay were lost with the power: written again, it is back in sync
    assert master.dc is not None
    wait_for(lambda: master.dc.slaves[AXIS4].in_sync, timeout=10.0, what="axis4 DC back in sync")


def test_a_slave_that_leaves_op_is_returned_to_op_by_the_thread(running):
    opened, master = running
    seen = []
    supervisor = Supervisor(master, IMMEDIATE, on_event=seen.append).start()
    try:
        request_states(master.bus, [master.slave(AXIS3)], ALState.SAFEOP)
        wait_for(lambda: EventKind.RECOVERED in kinds(seen), what="recovery")
    finally:
        supervisor.stop()
    assert kinds(seen) == [EventKind.LEFT_OP, EventKind.RECOVERED]
    assert "in SAFEOP" in seen[0].detail
    assert master.read_state(AXIS3).status.state is ALState.OP
    assert supervisor.snapshot()["slaves"][AXIS3]["left_op"] == 1


def test_after_max_attempts_the_failure_policy_applies(running):
    opened, master = running
    settings = dataclasses.replace(IMMEDIATE, max_attempts=2, on_failure=FailureAction.SAFE_OP)
    supervisor = Supervisor(master, settings)
    # the drive refuses OP from now on: its start-up SDO for "SO" names an object it lacks
    axis3 = master.assignment[AXIS3]
    master.assignment[AXIS3] = dataclasses.replace(
        axis3, startup_sdos=axis3.startup_sdos + (StartupSdo((Transition.SAFEOP_TO_OP,), 0x5FFE, 0, b"\x00"),))
    request_states(master.bus, [master.slave(AXIS3)], ALState.SAFEOP)
    first = supervisor.check()
    assert kinds(first) == [EventKind.LEFT_OP, EventKind.ATTEMPT_FAILED]
    assert "0x06020000" in first[1].detail
    second = supervisor.check()
    assert kinds(second) == [EventKind.ATTEMPT_FAILED, EventKind.GAVE_UP]
    assert supervisor.health[AXIS3].condition is SlaveCondition.FAILED
    assert all(b.status.state is ALState.SAFEOP for b in master.read_states())  # on_failure: safe_op
    assert supervisor.check() == []  # a failed slave is left alone
