"""AL state machine control against simulated ESCs: transitions, refusals, acknowledges, timeouts."""

from __future__ import annotations

import contextlib
import logging
import struct
from dataclasses import dataclass

import pytest

from ethercat_master.errors import ALStatusError, WorkingCounterError
from ethercat_master.master import Bus
from ethercat_master.master.al import (
    BACK_TO_INIT_TIMEOUT,
    INIT_TO_PREOP_TIMEOUT,
    OP_TO_SAFEOP_TIMEOUT,
    PREOP_TO_OP_TIMEOUT,
    BusStateError,
    acknowledge_errors,
    broadcast_state,
    read_states,
    request_state,
    request_states,
    transition_timeout,
)
from ethercat_master.protocol.al_status import ALState, ALStatusCode
from ethercat_master.protocol.datagram import Command, position_address
from ethercat_master.protocol.registers import Register
from ethercat_master.sim import ALTransition, ChainServer, Esc, SlaveChain
from ethercat_master.sim.faults import FaultPlan, FaultyWire, TopologyAction, TopologyEvent
from ethercat_master.transport import InProcessLink

FIRST = 0x1001
U16 = struct.Struct("<H")


@dataclass(frozen=True)
class Node:
    """The little the AL functions need of a slave."""

    position: int
    station_address: int

    def describe(self) -> str:
        return f"position {self.position} (node{self.position})"


class SlowEsc(Esc):
    """An ESC whose firmware needs ``frames`` frames to complete an accepted transition."""

    def __init__(self, frames: int, **options):
        super().__init__(**options)
        self.frames = frames
        self._target: ALState | None = None
        self._left = 0
        self.add_frame_end_hook(self._tick)

    def al_transition(self, current: ALState, requested: int) -> ALTransition:
        outcome = super().al_transition(current, requested)
        if outcome.failed or outcome.state is current:
            return outcome
        self._target, self._left = outcome.state, self.frames
        return ALTransition(current)

    def _tick(self) -> None:
        if self._target is not None:
            self._left -= 1
            if self._left <= 0:
                self.set_al_status(self._target)
                self._target = None


@contextlib.contextmanager
def served(escs, plan: FaultPlan | None = None):
    """A bus to a line of ``escs`` with station addresses FIRST + position, and their Nodes."""
    chain = SlaveChain(escs)
    master_end, sim_end = InProcessLink.pair()
    wire = FaultyWire(chain, plan) if plan is not None else None
    with ChainServer(chain, sim_end, wire=wire):
        bus = Bus(master_end, timeout=0.05)
        for position in range(len(escs)):
            bus.write(Command.APWR, position_address(position, Register.CONFIGURED_STATION_ADDRESS),
                      U16.pack(FIRST + position), expected_wkc=1)
        yield bus, chain, [Node(p, FIRST + p) for p in range(len(escs))]


def test_the_whole_bus_goes_up_to_op_and_back_to_init():
    with served([Esc() for _ in range(4)]) as (bus, chain, nodes):
        for state in (ALState.PREOP, ALState.SAFEOP, ALState.OP):
            blocks = request_states(bus, nodes, state)
            assert [b.status.state for b in blocks] == [state] * 4
            assert all(esc.al_state is state for esc in chain.escs)
        assert [b.status.state for b in request_states(bus, nodes, ALState.INIT)] == [ALState.INIT] * 4


def test_states_of_all_slaves_are_read_in_one_frame():
    with served([Esc() for _ in range(5)]) as (bus, chain, nodes):
        chain[3].set_al_status(ALState.SAFEOP, ALStatusCode.SYNC_MANAGER_WATCHDOG)
        sent = bus.counters.frames_sent
        blocks = read_states(bus, nodes)
        assert bus.counters.frames_sent == sent + 1
    assert [b.status.state for b in blocks] == [ALState.INIT] * 3 + [ALState.SAFEOP, ALState.INIT]
    assert blocks[3].status.error and blocks[3].status_code == 0x001B


def test_a_refused_transition_names_slave_states_code_and_text_and_is_acknowledged():
    with served([Esc() for _ in range(3)]) as (bus, chain, nodes):
        with pytest.raises(ALStatusError) as caught:
            request_state(bus, nodes[1], ALState.SAFEOP)  # INIT -> SAFEOP is no transition
        error = caught.value
        assert (error.slave, error.requested, error.current) == ("position 1 (node1)", "SAFEOP", "INIT+ERR")
        assert (error.status_code, error.text) == (0x0011, "Invalid requested state change")
        assert str(error) == ("slave position 1 (node1): requested SAFEOP, is INIT+ERR, "
                              "AL status code 0x0011 (Invalid requested state change)")
        assert not chain[1].al_error  # acknowledged
        assert request_state(bus, nodes[1], ALState.PREOP).status.state is ALState.PREOP


def test_several_refusals_are_listed_in_one_error():
    with served([Esc() for _ in range(4)]) as (bus, chain, nodes):
        request_states(bus, nodes[:2], ALState.PREOP)
        with pytest.raises(BusStateError) as caught:
            request_states(bus, nodes, ALState.SAFEOP)  # slaves 2 and 3 are still in INIT
        error = caught.value
        assert [f.slave for f in error.failures] == ["position 2 (node2)", "position 3 (node3)"]
        assert isinstance(error, ALStatusError) and error.slave == "position 2 (node2)"
        assert str(error).startswith("2 slaves did not reach SAFEOP: position 2 (node2): is INIT+ERR, "
                                     "AL status code 0x0011")
        assert [esc.al_state for esc in chain.escs] == [ALState.SAFEOP] * 2 + [ALState.INIT] * 2
        assert not any(esc.al_error for esc in chain.escs)


def test_an_old_error_is_acknowledged_with_the_new_request(caplog):
    with served([Esc(), Esc()]) as (bus, chain, nodes):
        request_states(bus, nodes, ALState.PREOP)
        request_states(bus, nodes, ALState.SAFEOP)
        request_states(bus, nodes, ALState.OP)
        chain[0].set_al_status(ALState.SAFEOP, ALStatusCode.SYNC_MANAGER_WATCHDOG)  # watchdog fell
        with caplog.at_level(logging.WARNING):
            block = request_state(bus, nodes[0], ALState.OP)
    assert block.status.state is ALState.OP and not block.status.error
    assert "acknowledging AL status code 0x001B (Sync manager watchdog) to request OP" in caplog.text


def test_acknowledge_errors_clears_only_flagged_slaves():
    with served([Esc() for _ in range(3)]) as (bus, chain, nodes):
        chain[2].set_al_status(ALState.INIT, ALStatusCode.EEPROM_ERROR)
        blocks = acknowledge_errors(bus, nodes)
    assert not any(b.status.error for b in blocks)
    assert not chain[2].al_error


class BrokenEsc(Esc):
    """An ESC whose firmware refuses every request with 0x0001, an acknowledge included."""

    def al_transition(self, current: ALState, requested: int) -> ALTransition:
        return ALTransition(current, ALStatusCode.UNSPECIFIED_ERROR)


def test_an_error_that_an_acknowledge_does_not_clear_is_reported():
    with served([Esc(), BrokenEsc()]) as (bus, chain, nodes):
        chain[1].set_al_status(ALState.INIT, ALStatusCode.UNSPECIFIED_ERROR)
        with pytest.raises(ALStatusError, match=r"slave position 1 \(node1\): requested acknowledge, is INIT\+ERR, AL "
                                                r"status code 0x0001 \(Unspecified error; error indication not cleared"):
            acknowledge_errors(bus, nodes, timeout=0.01)


def test_a_slow_slave_is_polled_until_it_arrives():
    with served([Esc(), SlowEsc(frames=6)]) as (bus, chain, nodes):
        sent = bus.counters.frames_sent
        request_states(bus, nodes, ALState.PREOP)
        assert bus.counters.frames_sent - sent >= 2 + 6  # read, request, six polls
    assert chain[1].al_state is ALState.PREOP


def test_a_slave_that_does_not_arrive_in_time_is_an_al_status_error():
    with served([Esc(), SlowEsc(frames=10**9)]) as (bus, _, nodes):
        with pytest.raises(ALStatusError, match=r"slave position 1 \(node1\): requested PREOP, is INIT, AL status "
                                                r"code 0x0000 \(No error; state not reached within \d+\.\d{3} s\)"):
            request_states(bus, nodes, ALState.PREOP, timeout=0.05)


def test_a_slave_that_disappears_during_the_change_is_named():
    # frame 1 reads the states, 2 requests PREOP, 3 and later poll; slave 2 loses power before 4
    plan = FaultPlan(events=(TopologyEvent(TopologyAction.POWER_OFF, 2, at_frame=4 + 3),))  # + 3 address writes
    with served([Esc(), Esc(), SlowEsc(frames=10**9), Esc()], plan) as (bus, _, nodes):
        with pytest.raises(WorkingCounterError, match=r"AL status of 2 slaves position 2 \(node2\), position 3 "
                                                      r"\(node3\)"):
            request_states(bus, nodes, ALState.PREOP, timeout=2.0)


def test_broadcast_reaches_every_slave():
    with served([Esc() for _ in range(3)]) as (bus, chain, nodes):
        assert broadcast_state(bus, ALState.PREOP) == 3
        assert all(esc.al_state is ALState.PREOP for esc in chain.escs)
        chain[1].set_al_status(ALState.PREOP, ALStatusCode.UNSPECIFIED_ERROR)
        assert broadcast_state(bus, ALState.INIT, acknowledge=True) == 3
        assert [b.status.state for b in read_states(bus, nodes)] == [ALState.INIT] * 3
        assert not chain[1].al_error


def test_transition_timeouts_follow_the_etg_classes():
    assert transition_timeout(ALState.INIT, ALState.PREOP) == INIT_TO_PREOP_TIMEOUT == 3.0
    assert transition_timeout(ALState.INIT, ALState.BOOT) == INIT_TO_PREOP_TIMEOUT
    assert transition_timeout(ALState.PREOP, ALState.SAFEOP) == PREOP_TO_OP_TIMEOUT == 10.0
    assert transition_timeout(ALState.SAFEOP, ALState.OP) == PREOP_TO_OP_TIMEOUT
    assert transition_timeout(ALState.OP, ALState.SAFEOP) == OP_TO_SAFEOP_TIMEOUT == 0.2
    assert transition_timeout(ALState.OP, ALState.INIT) == BACK_TO_INIT_TIMEOUT == 5.0
    assert transition_timeout(ALState.SAFEOP, ALState.PREOP) == BACK_TO_INIT_TIMEOUT
    assert transition_timeout(0x0, ALState.OP) == PREOP_TO_OP_TIMEOUT
