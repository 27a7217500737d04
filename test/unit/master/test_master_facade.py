"""The Master facade against the reference chain (config/sim_chain.yaml) served in-process:
scan, the state walk with mailbox start-up, the per-slave clients, registers by position and
station, SII read and write, the diagnostics snapshot, and link ownership."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from ethercat_master.errors import ALStatusError, LinkError, MailboxError, ProtocolError, WorkingCounterError
from ethercat_master.master.master import DIAGNOSTICS_KIND, DIAGNOSTICS_SCHEMA_VERSION, Master
from ethercat_master.master.mailbox import MailboxPolicy, StatusMode
from ethercat_master.protocol.al_status import ALState, ALStatusCode
from ethercat_master.protocol.coe import DataType
from ethercat_master.protocol.registers import Register, SmActivate, SyncManagerChannel, sync_manager_address
from ethercat_master.protocol.sii import sii_crc8
from ethercat_master.sim.chain import ChainServer
from ethercat_master.sim.chain_config import load_chain
from ethercat_master.tools.soak import SIMULATOR_BUS_TIMEOUT_S, InProcessSimulator
from ethercat_master.transport import UdpLink

CHAIN = Path(__file__).resolve().parents[3] / "config" / "sim_chain.yaml"
COUPLER, EL3102, AXIS1, AXIS2 = 0, 3, 4, 5
MAILBOX_SLAVES = (3, 4, 5, 6, 7)
#: The simulator shares the CPU with the test (and other tests): a generous frame timeout.
TIMEOUT = SIMULATOR_BUS_TIMEOUT_S
CHECKSUM_WORD = 7
ALIAS_WORD = 4


@pytest.fixture
def sim():
    with InProcessSimulator(CHAIN) as simulator:
        yield simulator


@pytest.fixture
def master(sim):
    with Master(sim.link, bus_timeout=TIMEOUT) as m:
        m.scan()
        yield m


def states(master: Master) -> list[ALState]:
    return [block.status.state for block in master.read_states()]


def test_scan_keeps_the_slaves_and_names_them(master):
    assert len(master.slaves) == 8
    assert master.slave(AXIS2).order == "SimServo-402" and master.slave(AXIS2).alias == 0x0102
    assert [s.station_address for s in master.slaves] == list(range(0x1001, 0x1009))
    with pytest.raises(LookupError, match="no slave at position 8: the bus has 8 slaves"):
        master.slave(8)
    assert "8 slaves" in repr(master)


def test_slaves_before_a_scan_is_a_usage_error(sim):
    with Master(sim.link, bus_timeout=TIMEOUT) as m:
        with pytest.raises(RuntimeError, match="scan"):
            m.slaves
        assert m.count_slaves() == 8  # works without a scan


def test_preop_configures_the_mailbox_sync_managers_from_the_sii(master):
    with pytest.raises(MailboxError, match="not configured: request PREOP"):
        master.coe(AXIS1)
    master.request_state("PREOP")
    assert states(master) == [ALState.PREOP] * 8
    for position in MAILBOX_SLAVES:
        slave = master.slave(position)
        for index, area in ((0, slave.mailbox_out), (1, slave.mailbox_in)):
            raw = master.read_register(sync_manager_address(index), SyncManagerChannel.SIZE,
                                       station=slave.station_address)
            channel = SyncManagerChannel.decode(raw)
            assert (channel.physical_start, channel.length) == (area.offset, area.size)
            assert channel.control.encode()[0] == slave.sync_managers[index].control
            assert SmActivate.ENABLE in channel.activate
    assert master.coe(AXIS1).read(0x1018, 4, DataType.UNSIGNED32) == 1001
    assert master.coe(EL3102).read(0x1008, 0, DataType.VISIBLE_STRING).startswith("EL3102")
    assert master.coe(AXIS1) is master.coe(AXIS1)
    with pytest.raises(MailboxError, match="has no mailbox"):
        master.mailbox(COUPLER)
    with pytest.raises(MailboxError, match="does not support FoE"):
        master.foe(EL3102)


def test_one_slave_climbs_alone_and_init_drops_its_engine(master):
    master.request_state(ALState.PREOP, AXIS1)
    assert states(master) == [ALState.INIT] * 4 + [ALState.PREOP] + [ALState.INIT] * 3
    master.coe(AXIS1).write(0x6081, 0, 4242, DataType.UNSIGNED32)
    (block,) = master.request_state("INIT", AXIS1)
    assert block.status.state is ALState.INIT
    with pytest.raises(MailboxError, match="not configured"):
        master.mailbox(AXIS1)


def test_the_walk_goes_up_step_by_step_and_down_directly(master):
    # the coupler has no process data: it climbs to OP through PRE-OP and SAFE-OP
    (block,) = master.request_state(ALState.OP, COUPLER)
    assert block.status.state is ALState.OP
    (block,) = master.request_state(ALState.PREOP, COUPLER)
    assert block.status.state is ALState.PREOP
    # a drive without process data configuration refuses SAFE-OP with its AL status code
    with pytest.raises(ALStatusError) as refused:
        master.request_state(ALState.SAFEOP, AXIS1)
    assert refused.value.status_code == ALStatusCode.INVALID_OUTPUT_CONFIGURATION
    assert "position 4" in str(refused.value)
    assert master.read_state(AXIS1).status.state is ALState.PREOP  # acknowledged, mailbox still works
    assert master.coe(AXIS1).read(0x1000, 0, DataType.UNSIGNED32)


def test_boot_goes_through_init_and_foe_works_there(master):
    master.request_state(ALState.PREOP, AXIS2)
    master.foe(AXIS2).write("app.bin", bytes(range(256)) * 3)
    (block,) = master.request_state(ALState.BOOT, AXIS2)
    assert block.status.state is ALState.BOOT
    assert master.foe(AXIS2).read("app.bin") == bytes(range(256)) * 3
    (block,) = master.request_state(ALState.PREOP, AXIS2)  # BOOT -> INIT -> PRE-OP
    assert block.status.state is ALState.PREOP
    assert master.coe(AXIS2).read(0x1018, 4, DataType.UNSIGNED32) == 1002


def test_unknown_state_names_are_refused(master):
    with pytest.raises(ValueError, match="unknown AL state 'RUN'"):
        master.request_state("RUN")


def test_states_by_position_need_no_scan_and_change_nothing(sim):
    with Master(sim.link, bus_timeout=TIMEOUT) as first:
        first.scan()
        first.request_state(ALState.PREOP, EL3102)
    with Master(sim.link, bus_timeout=TIMEOUT) as second:  # another run of a tool: no scan, no reset
        assert second.read_state(EL3102).status.state is ALState.PREOP
        assert [b.status.state for b in second.read_states()].count(ALState.PREOP) == 1


def test_registers_by_position_and_by_station(master):
    slave = master.slave(AXIS1)
    by_position = master.read_register(Register.CONFIGURED_STATION_ADDRESS, 2, position=AXIS1)
    assert struct.unpack("<H", by_position)[0] == slave.station_address
    master.write_register(Register.ECAT_EVENT_MASK, struct.pack("<H", 0x7777), station=slave.station_address)
    assert master.read_register(Register.ECAT_EVENT_MASK, 2, position=AXIS1) == struct.pack("<H", 0x7777)
    with pytest.raises(WorkingCounterError, match=r"slave at position 12\): working counter 0"):
        master.read_register(Register.AL_STATUS, 2, position=12)
    with pytest.raises(WorkingCounterError, match="station address 0x2222"):
        master.write_register(Register.AL_CONTROL, b"\x01\x00", station=0x2222)
    with pytest.raises(ValueError, match="exactly one"):
        master.read_register(0x0130, 2)
    with pytest.raises(ValueError, match="exactly one"):
        master.read_register(0x0130, 2, position=1, station=0x1002)


def test_sii_dump_is_the_image_the_scan_read(master):
    assert master.read_sii(EL3102) == master.slave(EL3102).sii_data


def test_sii_write_stores_a_checked_image(sim, master):
    image = bytearray(master.read_sii(EL3102))
    image[2 * ALIAS_WORD:2 * ALIAS_WORD + 2] = struct.pack("<H", 0x0321)
    image[2 * CHECKSUM_WORD] = sii_crc8(bytes(image[:2 * CHECKSUM_WORD]))
    assert master.write_sii(EL3102, bytes(image)) == len(image) // 2
    assert master.read_sii(EL3102) == bytes(image)
    assert master.scan()[EL3102].sii_alias == 0x0321  # the register alias changes at power-on only
    broken = bytearray(image)
    broken[2 * CHECKSUM_WORD] ^= 0xFF
    with pytest.raises(ProtocolError, match="checksum"):
        master.write_sii(EL3102, bytes(broken))
    with pytest.raises(ProtocolError, match="whole 16-bit words"):
        master.write_sii(EL3102, bytes(image) + b"\x00")
    assert master.read_sii(EL3102) == bytes(image)  # nothing was written


def test_diagnostics_combine_bus_and_mailbox_counters(master):
    master.request_state(ALState.PREOP)
    for position in MAILBOX_SLAVES:
        master.coe(position).upload(0x1000)
    snapshot = master.diagnostics()
    assert (snapshot["schema_version"], snapshot["kind"]) == (DIAGNOSTICS_SCHEMA_VERSION, DIAGNOSTICS_KIND)
    assert snapshot["slaves"] == 8 and snapshot["link"] == "sim:a"
    assert snapshot["bus"]["frames_sent"] >= snapshot["bus"]["frames_received"] > 0
    mailbox = snapshot["mailbox"]
    assert mailbox["schema_version"] == 1
    assert [s["station_address"] for s in mailbox["slaves"]] == [0x1004, 0x1005, 0x1006, 0x1007, 0x1008]
    assert mailbox["slaves"][1]["name"] == "position 4 SimServo-402"
    assert mailbox["totals"]["requests"] == mailbox["totals"]["replies"] == 5


def test_the_mailbox_policy_reaches_every_engine(sim):
    policy = MailboxPolicy(status_mode=StatusMode.STRICT, reply_timeout=0.1)
    with Master(sim.link, bus_timeout=TIMEOUT, mailbox_policy=policy) as m:
        m.scan()
        m.request_state(ALState.PREOP, AXIS1)
        assert m.mailbox(AXIS1).policy is policy
        assert m.coe(AXIS1).read(0x1018, 1, DataType.UNSIGNED32) == 0


def test_a_link_spec_is_opened_and_closed_by_the_master():
    loaded = load_chain(CHAIN)
    served = UdpLink(("127.0.0.1", 0), None)
    with ChainServer(loaded.chain, served, poll_interval=0.005):
        with Master(f"udp:127.0.0.1:{served.address[1]}", bus_timeout=TIMEOUT) as m:
            assert len(m.scan()) == 8
            link = m.link
        assert link.closed
    served.close()
    with pytest.raises(LinkError, match="unknown link scheme"):
        Master("tcp:somewhere:1")


def test_a_link_passed_in_stays_open(sim):
    with Master(sim.link, bus_timeout=TIMEOUT) as m:
        m.count_slaves()
    assert not sim.link.closed
