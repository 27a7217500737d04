"""Topology of the simulated chain: the frame's way (Section I Table 9: 0 -> EPU -> 3 -> 1 -> 2 ->
0), processing order and working counters in lines and trees, DL status per port, loop control,
cable breaks, power cycles. Expected values are worked out by hand here."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ethercat_master.protocol.al_status import ALState
from ethercat_master.protocol.datagram import Command, Datagram, position_address, station_address
from ethercat_master.protocol.frame import Frame
from ethercat_master.protocol.registers import (
    AlControl,
    DlControl,
    DlStatus,
    ErrorCounters,
    LoopPortControl,
    PortType,
    Register,
)
from ethercat_master.sim import Esc
from ethercat_master.sim.chain import SlaveChain
from ethercat_master.sim.topology import (
    MASTER,
    Cable,
    PortState,
    Reception,
    SlaveTiming,
    Topology,
    route,
)

RAM = 0x1000
U16 = struct.Struct("<H")
MII, EBUS, NONE = PortType.MII, PortType.EBUS, PortType.NOT_IMPLEMENTED
#: An EK1100-like coupler: port 0 IN, port 1 X2 OUT, port 3 the E-bus to its terminals.
COUPLER = (MII, MII, NONE, EBUS)
#: An EK1122-like junction in a terminal block: E-bus in/out on 0/1, two RJ45 ports 3 and 2.
JUNCTION = (EBUS, EBUS, MII, MII)
TERMINAL = (EBUS, EBUS, NONE, NONE)


def run(chain: SlaveChain, *datagrams: Datagram) -> tuple[Datagram, ...]:
    reply = chain.process(Frame(datagrams).encode())
    assert reply is not None
    return Frame.decode(reply).datagrams


def counters(esc: Esc) -> ErrorCounters:
    return ErrorCounters.decode(esc.pdi_read(ErrorCounters.ADDRESS, ErrorCounters.SIZE))


def dl_status(esc: Esc) -> DlStatus:
    return DlStatus.decode(esc.pdi_read(DlStatus.ADDRESS, DlStatus.SIZE))


def tag_ram(chain: SlaveChain) -> None:
    """RAM byte 0 of slave n holds 0xA0 + n, to see who answers a position read."""
    for slave, esc in enumerate(chain.escs):
        esc.pdi_write(RAM, bytes((0xA0 + slave,)))


def read_by_position(chain: SlaveChain, position: int) -> int:
    (reply,) = run(chain, Datagram(Command.APRD, 0, position_address(position, RAM), b"\x00"))
    assert reply.wkc == 1
    return reply.data[0] - 0xA0


def broadcast_wkc(chain: SlaveChain) -> int:
    (reply,) = run(chain, Datagram(Command.BRD, 0, RAM << 16, b"\x00"))
    return reply.wkc


# ------------------------------------------------------------------------ description
def test_line_cables_port_1_to_port_0():
    topology = Topology.line(3, delay_ns=40)
    assert [(l.parent, l.port, l.child, l.delay_ns) for l in topology.cables()] == [(0, 1, 1, 40), (1, 1, 2, 40)]
    assert topology.upstream(0) == Cable(MASTER, 0, 0, 40)
    assert topology.neighbour(1, 0) == 0 and topology.neighbour(1, 1) == 2 and topology.neighbour(2, 1) is None


@pytest.mark.parametrize("links, message", [
    ([Cable(0, 1, 1), Cable(0, 1, 2)], "cabled twice"),
    ([Cable(0, 1, 1)], "no upstream link"),
    ([Cable(0, 1, 1), Cable(2, 1, 2)], "loop"),
    ([Cable(0, 0, 1), Cable(0, 1, 2)], "port 1, 2 or 3"),
    ([Cable(0, 1, 1), Cable(1, 1, 1)], "two upstream links"),
    ([Cable(0, 1, 5)], "outside"),
])
def test_invalid_wiring_is_refused(links, message):
    with pytest.raises(ValueError, match=message):
        Topology(3, links)


def test_a_cable_on_a_port_the_esc_lacks_is_refused():
    topology = Topology.from_connections(2, [(0, 3, 1)])
    with pytest.raises(ValueError, match=r"ports \[3\]"):
        SlaveChain([Esc(), Esc()], topology)  # the default ESC has ports 0 and 1 only


# -------------------------------------------------------------------- frame's way
def _all_open(topology: Topology):
    return lambda slave, port: PortState.OPEN if topology.neighbour(slave, port) is not None else PortState.CLOSED


def test_route_times_through_a_coupler_with_terminals_and_a_second_coupler():
    # slave 0: coupler; port 3 -> terminal 1 (E-bus, 20 ns), port 1 -> coupler 2 (50 ns);
    # master cable 10 ns; processing 300 ns, forwarding 200 ns everywhere
    topology = Topology(3, [Cable(0, 3, 1, 20), Cable(0, 1, 2, 50)], master_delay_ns=10)
    timing = SlaveTiming(processing_delay_ns=300, forwarding_delay_ns=200)
    path = route(topology, [timing] * 3, _all_open(topology), entry_linked=True)
    # 0.p0 at 10; out of port 3 at 310; 1.p0 at 330; 1 leaves at 630; 0.p3 at 650;
    # out of port 1 at 850; 2.p0 at 900; 2 leaves at 1200; 0.p1 at 1250; out of port 0 at 1450
    assert path.receptions == (
        Reception(0, 0, 10), Reception(1, 0, 330), Reception(0, 3, 650),
        Reception(2, 0, 900), Reception(0, 1, 1250), Reception(MASTER, 0, 1460),
    )
    assert path.order == (0, 1, 2) and path.returned and path.return_ns == 1460
    assert path.port_times(0) == (10, 1250, None, 650)
    assert path.port_times(0, receptions=3) == (10, None, None, 650)


def test_route_loses_the_frame_at_an_open_port_without_link():
    topology = Topology.line(3)
    states = {(1, 1): PortState.OPEN_WITHOUT_LINK}
    path = route(topology, [SlaveTiming()] * 3, lambda s, p: states.get((s, p), _all_open(topology)(s, p)), True)
    assert path.order == (0, 1) and not path.returned and path.return_ns is None


def test_route_without_entry_link_reaches_nobody():
    path = route(Topology.line(2), [SlaveTiming()] * 2, _all_open(Topology.line(2)), entry_linked=False)
    assert (path.receptions, path.order, path.returned) == ((), (), False)


@st.composite
def trees(draw):
    """Random trees: each slave picks a parent before it and a free port 1-3 there."""
    count = draw(st.integers(1, 12))
    free = {0: [1, 2, 3]}
    links = []
    for child in range(1, count):
        parent = draw(st.sampled_from(sorted(p for p, ports in free.items() if ports)))
        port = draw(st.sampled_from(free[parent]))
        free[parent].remove(port)
        free[child] = [1, 2, 3]
        links.append(Cable(parent, port, child, draw(st.integers(0, 500))))
    return Topology(count, links)


def _preorder(topology: Topology, slave: int = 0) -> list[int]:
    order = [slave]
    children = topology.children(slave)
    for port in (3, 1, 2):
        if port in children:
            order += _preorder(topology, children[port])
    return order


@settings(max_examples=60, deadline=None)
@given(trees())
def test_route_is_a_preorder_walk_with_every_cable_crossed_twice(topology):
    timing = SlaveTiming(processing_delay_ns=300, forwarding_delay_ns=200)
    path = route(topology, [timing] * topology.count, _all_open(topology), True)
    assert list(path.order) == _preorder(topology)
    assert len(path.receptions) == 2 * topology.count  # each cable (master's included) both ways
    times = [r.time_ns for r in path.receptions]
    assert times == sorted(times)
    cables = topology.upstream(0).delay_ns + sum(link.delay_ns for link in topology.cables())
    ports_back = topology.count - 1  # receptions at ports 1-3, each followed by forwarding
    assert path.return_ns == 2 * cables + 300 * topology.count + 200 * ports_back


# ------------------------------------------------------------- processing in the chain
def test_line_processes_in_wire_order():
    chain = SlaveChain([Esc() for _ in range(3)])
    tag_ram(chain)
    assert chain.processing_order == (0, 1, 2)
    assert [read_by_position(chain, p) for p in range(3)] == [0, 1, 2]
    assert broadcast_wkc(chain) == 3


def test_coupler_terminals_come_before_the_next_coupler():
    # coupler 0: terminals 1, 2 on its E-bus (port 3), coupler 3 on X2 OUT (port 1), terminal 4 behind it
    topology = Topology.from_connections(5, [(0, 3, 1), (1, 1, 2), (0, 1, 3), (3, 3, 4)])
    chain = SlaveChain([Esc(ports=COUPLER), Esc(ports=TERMINAL), Esc(ports=TERMINAL), Esc(ports=COUPLER),
                        Esc(ports=TERMINAL)], topology)
    tag_ram(chain)
    assert chain.processing_order == (0, 1, 2, 3, 4)
    assert [read_by_position(chain, p) for p in range(5)] == [0, 1, 2, 3, 4]
    assert broadcast_wkc(chain) == 5


def test_junction_visits_port_3_then_1_then_2():
    # junction 0 with branches: port 2 -> slave 1, port 1 -> slave 2, port 3 -> slave 3
    topology = Topology.from_connections(4, [(0, 2, 1), (0, 1, 2), (0, 3, 3)])
    chain = SlaveChain([Esc(ports=JUNCTION)] + [Esc() for _ in range(3)], topology)
    tag_ram(chain)
    assert chain.processing_order == (0, 3, 2, 1)
    assert [read_by_position(chain, p) for p in range(4)] == [0, 3, 2, 1]
    (reply,) = run(chain, Datagram(Command.APRD, 0, position_address(4, RAM), b"\x00"))
    assert (reply.wkc, reply.adp) == (0, (-4 + 4) & 0xFFFF)


def test_dl_status_reports_link_and_loop_per_port():
    topology = Topology.from_connections(3, [(0, 3, 1), (0, 1, 2)])
    chain = SlaveChain([Esc(ports=COUPLER), Esc(ports=TERMINAL), Esc()], topology)
    coupler, terminal, last = (dl_status(esc) for esc in chain.escs)
    assert [coupler.physical_link(p) for p in range(4)] == [True, True, False, True]
    assert [coupler.loop_closed(p) for p in range(4)] == [False, False, True, False]
    assert [coupler.communication(p) for p in range(4)] == [True, True, False, True]
    assert [terminal.physical_link(p) for p in range(4)] == [True, False, False, False]
    assert [terminal.loop_closed(p) for p in range(4)] == [False, True, True, True]
    assert [last.loop_closed(p) for p in range(4)] == [False, True, True, True]
    assert coupler.pdi_operational and last.pdi_watchdog_reloaded  # the ESC's own bits stay


# ---------------------------------------------------------------------- cable breaks
def test_cable_break_closes_the_loop_and_hides_the_slaves_behind():
    chain = SlaveChain([Esc() for _ in range(4)])
    tag_ram(chain)
    chain.disconnect(2)  # the cable between slave 1 (port 1) and slave 2 (port 0)
    assert chain.processing_order == (0, 1)
    assert broadcast_wkc(chain) == 2
    assert not chain.link_up(1, 1) and not chain.link_up(2, 0) and chain.link_up(2, 1)
    assert dl_status(chain[1]).loop_closed(1) and not dl_status(chain[1]).physical_link(1)
    assert counters(chain[1]).lost_link == (0, 1, 0, 0)
    assert counters(chain[2]).lost_link == (1, 0, 0, 0)  # powered, but unreachable now
    assert counters(chain[0]).lost_link == counters(chain[3]).lost_link == (0, 0, 0, 0)

    chain.reconnect(2)
    assert chain.processing_order == (0, 1, 2, 3)
    assert broadcast_wkc(chain) == 4
    assert not dl_status(chain[1]).loop_closed(1)
    assert counters(chain[1]).lost_link == (0, 1, 0, 0)  # counted once, kept after the repair


def test_lost_links_count_only_in_auto_loop_settings():
    chain = SlaveChain([Esc() for _ in range(2)])
    run(chain, Datagram(Command.APWR, 0, position_address(0, Register.CONFIGURED_STATION_ADDRESS), U16.pack(1)))
    _write_loops(chain, 1, LoopPortControl.AUTO, LoopPortControl.CLOSED, LoopPortControl.AUTO, LoopPortControl.AUTO)
    chain.disconnect(1)
    assert counters(chain[0]).lost_link == (0, 0, 0, 0)  # port 1 forced closed: not counted
    assert counters(chain[1]).lost_link == (1, 0, 0, 0)  # port 0 in auto: counted


def test_lost_link_counters_clear_on_write():
    chain = SlaveChain([Esc() for _ in range(2)])
    chain.disconnect(1)
    chain.reconnect(1)
    run(chain, Datagram(Command.BWR, 0, Register.LOST_LINK_COUNTER_PORT0 << 16, bytes(4)))
    assert counters(chain[0]).lost_link == (0, 0, 0, 0)


def test_the_master_cable_broken_nothing_comes_back():
    chain = SlaveChain([Esc() for _ in range(2)])
    chain.disconnect(0)
    assert chain.process(Frame([Datagram(Command.BRD, 0, 0, b"\x00")]).encode()) is None
    assert chain.frames_lost == 1 and chain.processing_order == ()
    chain.reconnect(0)
    assert broadcast_wkc(chain) == 2


# ---------------------------------------------------------------------- power cycles
def test_power_cycle_returns_the_slave_in_init_with_station_address_0():
    chain = SlaveChain([Esc() for _ in range(3)])
    run(chain, *(Datagram(Command.APWR, 0, position_address(i, Register.CONFIGURED_STATION_ADDRESS),
                          U16.pack(0x1001 + i)) for i in range(3)))
    run(chain, Datagram(Command.BWR, 0, Register.AL_CONTROL << 16, AlControl(ALState.PREOP).encode()))
    before = chain[1]
    assert before.station_address == 0x1002 and before.al_state is ALState.PREOP

    chain.power_off(1)
    assert not chain.powered(1) and chain.processing_order == (0,)
    assert broadcast_wkc(chain) == 1
    assert counters(chain[0]).lost_link == (0, 1, 0, 0)
    assert counters(chain[2]).lost_link == (1, 0, 0, 0)

    chain.power_on(1)
    after = chain[1]
    assert after is not before
    assert (after.station_address, after.al_state) == (0, ALState.INIT)
    assert counters(after).lost_link == (0, 0, 0, 0)
    assert chain.processing_order == (0, 1, 2)
    (reply,) = run(chain, Datagram(Command.FPRD, 0, station_address(0x1002, Register.AL_STATUS), bytes(2)))
    assert reply.wkc == 0  # nobody answers to the old station address
    assert chain[2].station_address == 0x1003  # the slave behind kept its memory


def test_power_on_uses_the_factory():
    made = []

    def factory(slave: int) -> Esc:
        made.append(slave)
        return Esc(name=f"new{slave}")

    chain = SlaveChain([Esc(), Esc()], factory=factory)
    chain.power_off(1)
    chain.power_on(1)
    chain.power_on(1)  # already on: nothing happens
    assert made == [1] and chain[1].name == "new1"


def test_slave_0_off_means_no_reply():
    chain = SlaveChain([Esc(), Esc()])
    chain.power_off(0)
    assert chain.process(Frame([Datagram(Command.BRD, 0, 0, b"\x00")]).encode()) is None


# ---------------------------------------------------------------------- loop control
def _write_loops(chain: SlaveChain, station: int, *loops: LoopPortControl) -> None:
    control = DlControl(loop_ports=loops)  # type: ignore[arg-type]
    (reply,) = run(chain, Datagram(Command.FPWR, 0, station_address(station, Register.DL_CONTROL), control.encode()))
    assert reply.wkc == 1


def test_master_can_close_a_port_and_open_it_again():
    chain = SlaveChain([Esc() for _ in range(3)])
    run(chain, Datagram(Command.APWR, 0, position_address(0, Register.CONFIGURED_STATION_ADDRESS), U16.pack(1)))
    auto, closed = LoopPortControl.AUTO, LoopPortControl.CLOSED
    _write_loops(chain, 1, auto, closed, auto, auto)
    assert chain.processing_order == (0,)
    assert dl_status(chain[0]).loop_closed(1) and dl_status(chain[0]).physical_link(1)
    _write_loops(chain, 1, auto, auto, auto, auto)
    assert chain.processing_order == (0, 1, 2)


def test_a_port_forced_open_without_link_loses_the_frame():
    chain = SlaveChain([Esc() for _ in range(2)])
    run(chain, Datagram(Command.APWR, 0, position_address(1, Register.CONFIGURED_STATION_ADDRESS), U16.pack(7)))
    _write_loops(chain, 7, LoopPortControl.AUTO, LoopPortControl.OPEN, LoopPortControl.AUTO, LoopPortControl.AUTO)
    assert chain.process(Frame([Datagram(Command.BRD, 0, RAM << 16, b"\x00")]).encode()) is None
    assert chain.frames_lost == 1


def test_auto_close_stays_closed_after_the_link_returns_until_written_again():
    chain = SlaveChain([Esc() for _ in range(3)])
    run(chain, Datagram(Command.APWR, 0, position_address(0, Register.CONFIGURED_STATION_ADDRESS), U16.pack(1)))
    auto, auto_close = LoopPortControl.AUTO, LoopPortControl.AUTO_CLOSE
    _write_loops(chain, 1, auto, auto_close, auto, auto)
    assert chain.processing_order == (0, 1, 2)
    chain.disconnect(1)
    chain.reconnect(1)
    assert chain.link_up(0, 1) and chain.processing_order == (0,)
    assert dl_status(chain[0]).loop_closed(1)
    _write_loops(chain, 1, auto, auto_close, auto, auto)  # writing 01 again opens it
    assert chain.processing_order == (0, 1, 2)


def test_the_path_is_kept_until_a_cable_power_or_loop_setting_changes_it():
    chain = SlaveChain([Esc() for _ in range(3)])
    run(chain, Datagram(Command.APWR, 0, position_address(0, Register.CONFIGURED_STATION_ADDRESS), U16.pack(1)))
    auto, closed = LoopPortControl.AUTO, LoopPortControl.CLOSED
    path = chain.path()
    _write_loops(chain, 1, auto, auto, auto, auto)  # the same settings again: the same way
    run(chain, Datagram(Command.BWR, 0, Register.DL_CONTROL << 16, DlControl().encode()))
    assert chain.path() is path
    _write_loops(chain, 1, auto, closed, auto, auto)
    assert chain.path() is not path and chain.processing_order == (0,)
    path = chain.path()
    chain.disconnect(2)  # behind the closed port: the links change, so the path is worked out again
    assert chain.path() is not path and chain.processing_order == (0,)
