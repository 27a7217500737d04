"""The bus scan against simulated slaves (ESC + SII EEPROM): addresses, identities, SII,
aliases, reset, topology, and the faults a scan must survive or report."""

from __future__ import annotations

import contextlib
import struct
import threading

import pytest

from ethercat_master.errors import FrameTimeout, LinkError, ProtocolError, WorkingCounterError
from ethercat_master.master import Bus
from ethercat_master.master.scan import _tree, scan
from ethercat_master.master.sii_reader import SiiTiming
from ethercat_master.protocol.al_status import ALState, ALStatusCode
from ethercat_master.protocol.datagram import Command, position_address
from ethercat_master.protocol.registers import DlControl, FmmuEntry, PortType, Register, fmmu_address
from ethercat_master.protocol.sii import (
    FmmuUsage,
    MailboxProtocols,
    SiiDcOpMode,
    SiiGeneral,
    SiiImage,
    SiiInfo,
    SiiPdo,
    SiiPdoEntry,
    SiiSyncManager,
    SyncManagerEnable,
    SyncManagerType,
    end_of_categories,
)
from ethercat_master.sim import ChainServer, Esc, SlaveChain
from ethercat_master.sim.eeprom import Eeprom
from ethercat_master.sim.faults import FaultPlan, FaultRate, FaultyWire, TopologyAction, TopologyEvent
from ethercat_master.sim.topology import Topology
from ethercat_master.transport import InProcessLink

MII, EBUS, NONE = PortType.MII, PortType.EBUS, PortType.NOT_IMPLEMENTED
JUNCTION = (MII, MII, MII, MII)
COUPLER = (MII, MII, NONE, EBUS)
U16 = struct.Struct("<H")


def sii(name: str, product: int, *, alias: int = 0, mailbox: bool = False, dc: bool = False) -> bytes:
    """A Beckhoff-like SII image: order code as name, a group, process data, optionally
    mailboxes with CoE and FoE and a DC operation mode."""
    mailboxes = dict(
        standard_receive_mailbox_offset=0x1000, standard_receive_mailbox_size=128,
        standard_send_mailbox_offset=0x1080, standard_send_mailbox_size=128,
        bootstrap_receive_mailbox_offset=0x1000, bootstrap_receive_mailbox_size=0x200,
        bootstrap_send_mailbox_offset=0x1200, bootstrap_send_mailbox_size=0x200,
        mailbox_protocols=MailboxProtocols.COE | MailboxProtocols.FOE,
    ) if mailbox else {}
    info = SiiInfo(vendor_id=0x0000_0002, product_code=product, revision_number=0x0010_0000,
                   serial_number=product + 1, configured_station_alias=alias, **mailboxes)
    sync_managers = (
        SiiSyncManager(0x1000, 128, 0x26, SyncManagerEnable.ENABLE, SyncManagerType.MAILBOX_OUT),
        SiiSyncManager(0x1080, 128, 0x22, SyncManagerEnable.ENABLE, SyncManagerType.MAILBOX_IN),
    ) if mailbox else ()
    sync_managers += (SiiSyncManager(0x1100, 1, 0x64, SyncManagerEnable.ENABLE, SyncManagerType.PROCESS_DATA_OUT),)
    return SiiImage(
        info=info,
        strings=(name, "DigOut", f"{name} long description"),
        general=SiiGeneral(group_idx=2, order_idx=1, name_idx=1),
        fmmus=(FmmuUsage.OUTPUTS, FmmuUsage.INPUTS),
        sync_managers=sync_managers,
        rx_pdos=(SiiPdo(0x1600, (SiiPdoEntry(0x7000, 1, 1, data_type=1),), sync_manager=len(sync_managers) - 1),),
        tx_pdos=(SiiPdo(0x1A00, (SiiPdoEntry(0x6000, 1, 16, data_type=6),), sync_manager=0xFF),),
        dc_op_modes=(SiiDcOpMode(assign_activate=0x0300),) if dc else (),
    ).build()


def device(name: str, product: int, *, ports=(MII, MII, NONE, NONE), busy_frames: int = 0,
           read_size: int = 8, **sii_options) -> Esc:
    esc = Esc(name=name, ports=ports)
    Eeprom(esc, sii(name, product, **sii_options), busy_frames=busy_frames, read_size=read_size)
    return esc


def line() -> list[Esc]:
    return [
        device("EK1100", 0x044C_2C52, alias=0x0101),
        device("EL6751", 0x1A5F_3052, mailbox=True, dc=True, busy_frames=3),
        device("EL2008", 0x07D8_3052, read_size=4),
        device("EL1008", 0x03F0_3052, alias=0x0203, busy_frames=1, read_size=4),
    ]


@contextlib.contextmanager
def served(escs, topology=None, plan: FaultPlan | None = None, timeout: float = 0.05):
    chain = SlaveChain(escs, topology)
    master_end, sim_end = InProcessLink.pair()
    wire = FaultyWire(chain, plan) if plan is not None else None
    with ChainServer(chain, sim_end, wire=wire):
        yield Bus(master_end, timeout=timeout, retries=3), chain


def test_a_line_is_scanned_with_addresses_identities_and_sii():
    escs = line()
    with served(escs) as (bus, chain):
        found = scan(bus)
    assert [s.station_address for s in found] == [0x1001, 0x1002, 0x1003, 0x1004]
    assert [esc.station_address for esc in chain.escs] == [0x1001, 0x1002, 0x1003, 0x1004]
    assert [s.name for s in found] == ["EK1100", "EL6751", "EL2008", "EL1008"]
    assert found[2].describe() == "position 2 (EL2008)"
    assert (found[1].order, found[1].group) == ("EL6751", "DigOut")
    assert [(s.vendor_id, s.product_code, s.revision) for s in found][2] == (2, 0x07D8_3052, 0x0010_0000)
    assert found[3].serial == 0x03F0_3053
    assert [s.state for s in found] == [ALState.INIT] * 4
    assert not any(s.al_status.status.error for s in found)
    assert [s.esc.esc_type for s in found] == [0x11] * 4
    assert all(s.sii_checksum_ok for s in found)
    # mailboxes, protocols, process data, DC
    gateway = found[1]
    assert (gateway.mailbox_out.offset, gateway.mailbox_out.size, gateway.mailbox_in.offset) == (0x1000, 128, 0x1080)
    assert gateway.mailbox_out.end == gateway.mailbox_in.offset
    assert (gateway.bootstrap_mailbox_out.size, gateway.bootstrap_mailbox_in.offset) == (0x200, 0x1200)
    assert gateway.has_coe and gateway.has_foe and not gateway.has_eoe and not gateway.has_soe
    assert not found[0].has_mailbox and found[0].mailbox_out is None and not found[0].has_coe
    assert [sm.sync_manager_type for sm in gateway.sync_managers] == [
        SyncManagerType.MAILBOX_OUT, SyncManagerType.MAILBOX_IN, SyncManagerType.PROCESS_DATA_OUT]
    assert gateway.fmmu_usages == (FmmuUsage.OUTPUTS, FmmuUsage.INPUTS)
    assert [p.index for p in gateway.rx_pdos] == [0x1600] and gateway.tx_pdos[0].bit_length == 16
    assert gateway.dc_supported and gateway.dc_op_modes[0].assign_activate == 0x0300
    assert found[0].dc_op_modes == ()
    # a line: every slave hangs from port 1 of the one before
    assert [(s.parent, s.parent_port) for s in found] == [(None, None), (0, 1), (1, 1), (2, 1)]
    assert [s.open_ports for s in found] == [(0, 1), (0, 1), (0, 1), (0,)]
    assert found[3].linked_ports == (0,)


def test_sii_bytes_are_the_image_up_to_end():
    content = sii("EL3102", 0x0C1E_3052, mailbox=True)
    esc = Esc(name="EL3102")
    Eeprom(esc, content, busy_frames=2)
    with served([esc]) as (bus, _):
        (slave,) = scan(bus)
    assert slave.sii_data == content[:end_of_categories(content)]
    assert slave.sii == SiiImage.parse(content)


def test_aliases_come_from_the_esc_register_and_find_slaves():
    with served(line()) as (bus, _):
        found = scan(bus)
    assert [s.alias for s in found] == [0x0101, 0, 0, 0x0203]
    assert [s.sii_alias for s in found] == [0x0101, 0, 0, 0x0203]
    assert found.by_alias(0x0203).position == 3
    assert found.by_station_address(0x1002).name == "EL6751"
    with pytest.raises(LookupError, match="no slave has station alias 7"):
        found.by_alias(7)
    with pytest.raises(LookupError, match="no slave has station address 0x2000"):
        found.by_station_address(0x2000)


def test_a_duplicate_alias_names_every_slave_that_has_it():
    escs = [device("A", 1, alias=5), device("B", 2), device("C", 3, alias=5)]
    with served(escs) as (bus, _):
        found = scan(bus)
    with pytest.raises(LookupError, match=r"used by 2 slaves: position 0 \(A\), position 2 \(C\)"):
        found.by_alias(5)


def test_the_scan_resets_slaves_left_configured_by_an_earlier_run():
    escs = line()
    with served(escs) as (bus, chain):
        bus.write(Command.APWR, position_address(1, Register.CONFIGURED_STATION_ADDRESS), U16.pack(0x4242))
        fmmu = FmmuEntry(0x10000, 4, 0x1100, read=True, write=True, active=True).encode()
        bus.write(Command.APWR, position_address(1, fmmu_address(0)), fmmu)
        bus.write(Command.APWR, position_address(2, Register.DL_CONTROL), DlControl(station_alias_enabled=True).encode())
        bus.write(Command.APWR, position_address(1, Register.DC_ACTIVATION), b"\x07")
        chain[1].set_al_status(ALState.PREOP, ALStatusCode.INVALID_OUTPUT_CONFIGURATION)
        chain[3].set_al_status(ALState.OP)
        assert chain[2].alias_enabled
        found = scan(bus, first_station_address=0x2000)
    assert [s.station_address for s in found] == [0x2000, 0x2001, 0x2002, 0x2003]
    assert all(esc.al_state is ALState.INIT and not esc.al_error for esc in escs)
    assert escs[1].pdi_read(fmmu_address(0), FmmuEntry.SIZE) == bytes(FmmuEntry.SIZE)
    assert escs[1].pdi_read(Register.DC_ACTIVATION, 1) == b"\x00"
    assert not escs[2].alias_enabled
    # the EEPROM is offered to the PDI after the scan, as SOEM leaves it
    assert all(esc.pdi_read(Register.SII_CONFIGURATION, 1) == b"\x01" for esc in escs)


def test_a_branched_bus_gives_each_slave_its_parent_and_port():
    # 0 (junction) -3-> 1 -1-> 2 ; 0 -1-> 3 (junction) -3-> 4 ; 3 -2-> 5
    topology = Topology.from_connections(6, [(0, 3, 1), (1, 1, 2), (0, 1, 3), (3, 3, 4), (3, 2, 5)])
    escs = [device(f"s{n}", n, ports=JUNCTION if n in (0, 3) else COUPLER) for n in range(6)]
    with served(escs, topology) as (bus, chain):
        found = scan(bus)
        order = chain.processing_order
    assert [s.name for s in found] == [f"s{n}" for n in order]
    tree = {s.name: (found[s.parent].name if s.parent is not None else None, s.parent_port) for s in found}
    assert tree == {"s0": (None, None), "s1": ("s0", 3), "s2": ("s1", 1), "s3": ("s0", 1),
                    "s4": ("s3", 3), "s5": ("s3", 2)}
    junction = next(s for s in found if s.name == "s3")
    assert [c.name for c in found.children(junction.position)] == ["s4", "s5"]
    assert junction.open_ports == (0, 2, 3)


def test_inconsistent_dl_status_falls_back_to_the_previous_slave():
    # position 1 shows no open port, yet position 2 follows: its port is unknown
    assert _tree([(0, 1), (0,), (0,)]) == [(None, None), (0, 1), (1, None)]


def test_lost_frames_during_the_scan_are_retried_and_change_nothing():
    with served(line()) as (bus, _):
        clean = scan(bus)
    # the simulated EEPROM counts its busy time in frames: a lost frame (a 20 ms bus timeout)
    # stretches a busy EEPROM past the 20 ms default, which a real EEPROM would not notice
    with served(line(), plan=FaultPlan(seed=11, loss=FaultRate(every=7)), timeout=0.02) as (bus, _):
        lossy = scan(bus, sii_timing=SiiTiming(busy_timeout=1.0))
        assert bus.counters.retries > 0
    assert lossy == clean


def test_no_slave_is_an_error_naming_the_link():
    with served([], timeout=0.01) as (bus, _):
        with pytest.raises(LinkError, match=r"link 'inprocess:a': no frame came back: no EtherCAT slave"):
            scan(bus)


def test_frames_that_come_back_unprocessed_are_an_error_naming_the_link():
    master_end, echo_end = InProcessLink.pair("loopback")
    stop = threading.Event()

    def echo():
        while not stop.is_set():
            frame = echo_end.recv(0.01)
            if frame is not None:
                echo_end.send(frame)  # a cable looped back: nobody counts

    thread = threading.Thread(target=echo)
    thread.start()
    try:
        with pytest.raises(LinkError, match=r"link 'loopback:a': frames come back but no EtherCAT slave"):
            scan(Bus(master_end, timeout=0.05))
    finally:
        stop.set()
        thread.join()


def test_station_addresses_must_fit_16_bits():
    with served([device("A", 1), device("B", 2)]) as (bus, _):
        with pytest.raises(ValueError, match="0xFFFF"):
            scan(bus, first_station_address=0xFFFF)


@pytest.mark.parametrize("frame, datagram", [(2, "BWR AL control INIT"), (3, "BWR 0x0000:0x0101")])
def test_a_slave_lost_during_the_reset_is_a_working_counter_error(frame, datagram):
    plan = FaultPlan(events=(TopologyEvent(TopologyAction.POWER_OFF, 2, at_frame=frame),))
    with served(line(), plan=plan) as (bus, _):
        with pytest.raises(WorkingCounterError, match=rf"{datagram}.*\(reset of 4 slaves\): working counter 2"):
            scan(bus)


def test_a_slave_whose_eeprom_stays_busy_is_named():
    escs = line()[:2] + [device("EL9999", 9, busy_frames=10**9)]
    with served(escs) as (bus, _):
        with pytest.raises(FrameTimeout, match=r"on slave position 2 \(EEPROM busy\)"):
            scan(bus, sii_timing=SiiTiming(busy_timeout=0.01))


def test_a_slave_with_a_malformed_sii_is_named():
    fixed = SiiInfo(vendor_id=2, product_code=3).encode()
    general_too_short = U16.pack(30) + U16.pack(2) + bytes(4)  # GENERAL needs 32 bytes
    content = fixed + general_too_short + U16.pack(0xFFFF)
    content += b"\xff" * (2048 - len(content))
    bad = Esc(name="bad")
    Eeprom(bad, content)
    with served([device("ok", 1), bad]) as (bus, _):
        with pytest.raises(ProtocolError, match=r"SII of slave position 1: SII GENERAL category at word 0x0040"):
            scan(bus)


def test_a_slave_that_disappears_during_the_scan_is_named():
    # frames: 1 count, 2 INIT, 3 reset, 4 station addresses; slave 2 loses power before 4
    plan = FaultPlan(events=(TopologyEvent(TopologyAction.POWER_OFF, 2, at_frame=4),))
    with served(line(), plan=plan) as (bus, _):
        with pytest.raises(WorkingCounterError, match=r"APWR .* \(station address of slave position 2\)"):
            scan(bus)
