"""Reading and writing the SII EEPROM through registers 0x0500-0x050F, against simulated ESCs."""

from __future__ import annotations

import contextlib
import struct

import pytest

from ethercat_master.errors import FrameTimeout, ProtocolError, WorkingCounterError
from ethercat_master.master import Bus
from ethercat_master.master.sii_reader import (
    SiiError,
    SiiTarget,
    SiiTiming,
    offer_sii_to_pdi,
    parse_sii,
    read_sii,
    read_sii_images,
    read_sii_words,
    write_sii_words,
)
from ethercat_master.protocol.datagram import Command, position_address, station_address
from ethercat_master.protocol.registers import Register, SiiAccess, SiiCommand, SiiControlStatus
from ethercat_master.protocol.sii import (
    MailboxProtocols,
    SiiGeneral,
    SiiImage,
    SiiInfo,
    end_of_categories,
)
from ethercat_master.sim import ChainServer, Esc, SlaveChain
from ethercat_master.sim.eeprom import Eeprom
from ethercat_master.sim.faults import FaultPlan, FaultRate, FaultyWire
from ethercat_master.transport import InProcessLink

FIRST = 0x1001
U16 = struct.Struct("<H")


def image(name: str, product: int, *, strings: int = 3) -> bytes:
    """A 2 KiB SII image with a name, a GENERAL category and ``strings`` filler strings."""
    info = SiiInfo(vendor_id=0x0000_0002, product_code=product, revision_number=0x0011_0000,
                   serial_number=product ^ 0xFFFF, mailbox_protocols=MailboxProtocols.COE)
    texts = (name,) + tuple(f"string {i} of {name}" for i in range(strings))
    return SiiImage(info=info, strings=texts, general=SiiGeneral(name_idx=1)).build()


def used(content: bytes) -> bytes:
    """The part of an image a master reads: up to the END category."""
    return content[:end_of_categories(content)]


@contextlib.contextmanager
def served(escs, plan: FaultPlan | None = None, timeout: float = 0.05):
    """A bus to a chain of ``escs`` whose station addresses are FIRST + position."""
    chain = SlaveChain(escs)
    master_end, sim_end = InProcessLink.pair()
    wire = FaultyWire(chain, plan) if plan is not None else None
    with ChainServer(chain, sim_end, wire=wire):
        bus = Bus(master_end, timeout=timeout, retries=3)
        for position in range(len(escs)):
            bus.write(Command.APWR, position_address(position, Register.CONFIGURED_STATION_ADDRESS),
                      U16.pack(FIRST + position), expected_wkc=1)
        yield bus, chain


def target(position: int, name: str = "") -> SiiTarget:
    return SiiTarget(FIRST + position, f"position {position}" + (f" ({name})" if name else ""))


def device(content: bytes, **eeprom_options) -> tuple[Esc, Eeprom]:
    esc = Esc()
    return esc, Eeprom(esc, content, **eeprom_options)


# ------------------------------------------------------------------------------------ reads
def test_images_of_several_slaves_are_read_in_parallel_frames():
    contents = [image(f"dev{i}", 0x100 + i, strings=2 + 4 * i) for i in range(3)]
    options = [dict(read_size=8), dict(read_size=4, busy_frames=2), dict(read_size=8, busy_frames=5)]
    pairs = [device(c, **o) for c, o in zip(contents, options)]
    with served([esc for esc, _ in pairs]) as (bus, _):
        sent = bus.counters.frames_sent
        images = read_sii_images(bus, [target(p) for p in range(3)])
        frames = bus.counters.frames_sent - sent
    assert images == [used(c) for c in contents]
    for (_, eeprom), content, option in zip(pairs, contents, options):
        # one read command per chunk: none issued twice, none lost while busy
        assert eeprom.counters.reads == len(used(content)) // option["read_size"] + (
            len(used(content)) % option["read_size"] > 0)
        assert eeprom.counters.commands_ignored == 0
    # lockstep: each slave needs one frame to check access, then per read the command frame
    # and its busy polls; the slowest slave sets the number of frames, not the sum
    needed = [1 + e.counters.reads * (1 + o.get("busy_frames", 0)) for (_, e), o in zip(pairs, options)]
    assert frames == max(needed) < sum(needed)


def test_read_sii_parses_the_identity_and_name():
    esc, _ = device(image("EL2008", 0x07D8_3052))
    with served([esc]) as (bus, _):
        sii = read_sii(bus, target(0))
    assert (sii.info.vendor_id, sii.info.product_code) == (2, 0x07D8_3052)
    assert sii.string(sii.general.name_idx) == "EL2008"


def test_the_eeprom_is_taken_back_from_the_pdi():
    content = image("held", 0x300)
    esc, eeprom = device(content)
    with served([esc]) as (bus, chain):
        offer_sii_to_pdi(bus, [target(0)])
        with chain.lock:
            assert eeprom.pdi_take_control()
        assert not eeprom.ecat_has_control
        assert read_sii_images(bus, [target(0)]) == [used(content)]
        assert eeprom.ecat_has_control


def test_a_pending_acknowledge_error_is_cleared_before_reading():
    content = image("stale", 0x301)
    esc, eeprom = device(content)
    with served([esc]) as (bus, _):
        beyond = SiiAccess(SiiControlStatus(command=SiiCommand.READ), len(content)).encode()
        bus.write(Command.FPWR, station_address(FIRST, Register.SII_CONTROL_STATUS), beyond, expected_wkc=1)
        assert eeprom.status.ack_error
        assert read_sii_images(bus, [target(0)]) == [used(content)]
    assert eeprom.counters.acknowledge_errors == 1 and eeprom.counters.commands_ignored == 0


def test_an_eeprom_that_never_acknowledges_is_reported_after_three_attempts():
    # fixed area only, no END, and a size word promising 2 KiB: word 0x40 is beyond the EEPROM
    truncated = SiiImage(info=SiiInfo(vendor_id=2)).build()[:128]
    good, _ = device(image("good", 0x302))
    bad, eeprom = device(truncated)
    with served([good, bad]) as (bus, _):
        with pytest.raises(ProtocolError, match=r"slave position 1: EEPROM read of word 0x0040 failed 3 times: no EEPROM acknowledge"):
            read_sii_images(bus, [target(0), target(1)])
    assert eeprom.counters.acknowledge_errors == 3


def test_an_eeprom_busy_for_ever_times_out_naming_the_slave():
    esc, _ = device(image("stuck", 0x303), busy_frames=10**9)
    with served([Esc(), esc]) as (bus, _):
        with pytest.raises(FrameTimeout, match=r"word 0x0000 on slave position 1 \(stuck\) \(EEPROM busy\)"):
            read_sii_images(bus, [target(1, "stuck")], timing=SiiTiming(busy_timeout=0.01))


def test_lost_frames_are_sent_again_and_the_image_is_intact():
    contents = [image(f"lossy{i}", 0x400 + i) for i in range(2)]
    pairs = [device(c, busy_frames=1) for c in contents]
    # busy time is counted in frames by the simulated EEPROM: a lost frame stretches it
    with served([esc for esc, _ in pairs], FaultPlan(seed=7, loss=FaultRate(every=5)), timeout=0.02) as (bus, _):
        images = read_sii_images(bus, [target(0), target(1)], timing=SiiTiming(busy_timeout=1.0))
        assert images == [used(c) for c in contents]
        assert bus.counters.retries > 0


def test_a_slave_that_disappears_is_named():
    pairs = [device(image(f"d{i}", 0x500 + i)) for i in range(3)]
    with served([esc for esc, _ in pairs]) as (bus, chain):
        chain.power_off(2)
        with pytest.raises(WorkingCounterError, match=r"EEPROM access state of slave position 2 \(d2\)"):
            read_sii_images(bus, [target(0), target(2, "d2")])


def test_a_malformed_image_names_the_slave():
    # a STRINGS category announcing 255 words after the fixed area, with no data behind it
    broken = SiiImage(info=SiiInfo()).build()[:128] + b"\x0a\x00\xff\x00"
    with pytest.raises(ProtocolError, match=r"SII of slave position 4: SII STRINGS category at word 0x0040"):
        parse_sii(broken, target(4))


# ------------------------------------------------------------------------------ words, writes
def test_words_are_read_from_any_address():
    content = image("words", 0x600)
    esc, _ = device(content, read_size=4)
    with served([esc]) as (bus, _):
        assert read_sii_words(bus, target(0), 0x0008, 3) == content[0x10:0x16]


@pytest.mark.parametrize("busy_frames", [0, 3])
def test_written_words_land_in_the_eeprom_and_read_back(busy_frames):
    content = image("writable", 0x601)
    esc, eeprom = device(content, busy_frames=busy_frames)
    with served([esc]) as (bus, _):
        write_sii_words(bus, target(0), 0x0300, b"\x34\x12\x78\x56")
        assert read_sii_words(bus, target(0), 0x0300, 2) == b"\x34\x12\x78\x56"
    assert eeprom.image[0x600:0x604] == b"\x34\x12\x78\x56"
    assert eeprom.counters.writes == 2


def test_a_write_beyond_the_eeprom_is_reported():
    esc, _ = device(image("small", 0x602))
    with served([esc]) as (bus, _):
        with pytest.raises(ProtocolError, match=r"slave position 0: EEPROM write of word 0x0400 failed 3 times: no EEPROM acknowledge"):
            write_sii_words(bus, target(0), 0x0400, b"\x00\x00")


class WriteProtectedEeprom(Eeprom):
    """An EEPROM whose cells keep their content: writes complete but change nothing."""

    def _complete(self, pending):
        command, word, data = pending
        if command == SiiCommand.WRITE:
            data = self.image[word * 2:word * 2 + 2]
        super()._complete((command, word, data))


def test_a_word_that_reads_back_different_is_reported():
    esc = Esc()
    WriteProtectedEeprom(esc, image("protected", 0x603))
    with served([esc]) as (bus, _):
        with pytest.raises(SiiError, match=r"slave position 0: word 0x0301 reads back 0xFFFF after writing 0x5678"):
            write_sii_words(bus, target(0), 0x0300, b"\xff\xff\x78\x56")


def test_an_image_without_end_is_read_to_the_eeprom_size():
    # EEPROM size word 1: 256 bytes; after the fixed area only NOP categories of size 0
    content = SiiInfo(vendor_id=2, eeprom_size=1).encode() + bytes(128)
    esc, _ = device(content)
    with served([esc]) as (bus, _):
        assert read_sii_images(bus, [target(0)]) == [content]


def test_write_data_must_be_whole_words():
    with pytest.raises(ValueError, match="whole 16-bit words"):
        write_sii_words(None, target(0), 0, b"\x01")  # type: ignore[arg-type]
