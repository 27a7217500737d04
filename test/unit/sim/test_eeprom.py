"""The SII EEPROM interface of a simulated ESC, driven through datagrams as a master does.

Register values are written out from the ESC datasheet (Section II 0x0500-0x050F) and SOEM's
constants (EC_ECMD_READ 0x0100, EC_ECMD_WRITE 0x0201, EC_ECMD_RELOAD 0x0300, EC_ESTAT_*), not
taken from the simulator.
"""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ethercat_master.protocol.datagram import Command, Datagram, position_address, station_address
from ethercat_master.protocol.frame import Frame
from ethercat_master.protocol.registers import Register, SiiControlStatus
from ethercat_master.protocol.sii import SiiImage, SiiInfo
from ethercat_master.sim import Esc, EscType, SlaveChain
from ethercat_master.sim.eeprom import Eeprom

STATION = 0x1001
U16 = struct.Struct("<H")
# SOEM ethercattype.h
EC_ECMD_NOP, EC_ECMD_READ, EC_ECMD_WRITE, EC_ECMD_RELOAD = 0x0000, 0x0100, 0x0201, 0x0300
EC_ESTAT_R64, EC_ESTAT_BUSY, EC_ESTAT_EMASK, EC_ESTAT_NACK = 0x0040, 0x8000, 0x7800, 0x2000
WRITE_ERROR, CHECKSUM_ERROR, NOT_LOADED, TWO_ADDRESS_BYTES = 0x4000, 0x0800, 0x1000, 0x0080
EEPCFG, EEPCTL, EEPADR, EEPDAT = 0x0500, 0x0502, 0x0504, 0x0508
ALIAS = 0x1234


def image(alias: int = ALIAS, eeprom_size: int = 0x000F, checksum: int | None = None) -> bytes:
    info = SiiInfo(
        pdi_control=0x0805,
        pdi_configuration=0x0E7F,
        sync_impulse_length=0x03E8,
        pdi_configuration2=0x1122,
        configured_station_alias=alias,
        vendor_id=0x0000_01DD,
        product_code=0x1041_000F,
        revision_number=7,
        serial_number=0xCAFE,
        eeprom_size=eeprom_size,
        checksum=checksum,
    )
    return SiiImage(info=info, strings=("device", "group")).build()


class Bus:
    """A master's view of one slave: each call is one frame, after which the ESC's frame end
    runs (the EEPROM's tick), by the chain or, where the chain does not call it, by this class."""

    def __init__(self, eeprom_image: bytes, **kwargs) -> None:
        self.esc = Esc(**{k: kwargs.pop(k) for k in ("esc_type",) if k in kwargs})
        self.eeprom = Eeprom(self.esc, eeprom_image, **kwargs)
        self.chain = SlaveChain([self.esc])
        self.frame_ends = 0
        self.esc.add_frame_end_hook(self._frame_ended)
        self.frame(
            Datagram(
                Command.APWR,
                0,
                position_address(0, Register.CONFIGURED_STATION_ADDRESS),
                U16.pack(STATION),
            )
        )

    def _frame_ended(self) -> None:
        self.frame_ends += 1

    def frame(self, *datagrams: Datagram) -> tuple[Datagram, ...]:
        ends = self.frame_ends
        reply = self.chain.process(Frame(datagrams).encode())
        if self.frame_ends == ends:
            self.esc.frame_end()
        assert self.frame_ends == ends + 1
        assert reply is not None
        return Frame.decode(reply).datagrams

    def fpwr(self, address: int, data: bytes) -> None:
        (reply,) = self.frame(Datagram(Command.FPWR, 0, station_address(STATION, address), data))
        assert reply.wkc == 1

    def fprd(self, address: int, length: int) -> bytes:
        (reply,) = self.frame(
            Datagram(Command.FPRD, 0, station_address(STATION, address), bytes(length))
        )
        assert reply.wkc == 1
        return reply.data

    def status(self) -> int:
        return U16.unpack(self.fprd(EEPCTL, 2))[0]

    def wait_not_busy(self, limit: int = 20) -> int:
        for _ in range(limit):
            status = self.status()
            if not status & EC_ESTAT_BUSY:
                return status
        raise AssertionError("EEPROM stays busy")

    def soem_read(self, word: int) -> bytes:
        """ecx_readeepromFP: wait, clear errors with NOP, write command + address (6 bytes),
        wait, read 8 or 4 bytes as the status' bit 6 says."""
        status = self.wait_not_busy()
        if status & EC_ESTAT_EMASK:
            self.fpwr(EEPCTL, U16.pack(EC_ECMD_NOP))
        self.fpwr(EEPCTL, struct.pack("<HHH", EC_ECMD_READ, word, 0))
        status = self.wait_not_busy()
        assert not status & EC_ESTAT_NACK
        return self.fprd(EEPDAT, 8 if status & EC_ESTAT_R64 else 4)

    def soem_write(self, word: int, value: int) -> int:
        """ecx_writeeepromFP: data to 0x0508, then command 0x0201 (write enable in the same
        write) + address; returns the final status."""
        status = self.wait_not_busy()
        if status & EC_ESTAT_EMASK:
            self.fpwr(EEPCTL, U16.pack(EC_ECMD_NOP))
        self.fpwr(EEPDAT, U16.pack(value))
        self.fpwr(EEPCTL, struct.pack("<HHH", EC_ECMD_WRITE, word, 0))
        return self.wait_not_busy()

    def command(self, value: int, word: int = 0) -> None:
        self.fpwr(EEPCTL, struct.pack("<HI", value, word))


# ------------------------------------------------------------------------------------- read
@pytest.mark.parametrize("busy_frames", [0, 3])
def test_soem_reads_every_word_of_the_image(busy_frames):
    content = image()
    bus = Bus(content, busy_frames=busy_frames)
    words = len(content) // 2
    for word in range(words):
        expected = (content + content)[
            word * 2 : word * 2 + 8
        ]  # the address counter wraps at the end
        assert bus.soem_read(word) == expected
    assert bus.eeprom.counters.reads == words
    assert bus.eeprom.counters.commands_ignored == 0


def test_parsed_identity_matches_what_soem_reads():
    bus = Bus(image())
    raw = b"".join(bus.soem_read(word) for word in range(0, 0x40, 4))
    info = SiiInfo.decode(raw)
    assert (info.vendor_id, info.product_code, info.serial_number) == (0x1DD, 0x1041_000F, 0xCAFE)


def test_four_byte_reads_are_reported_and_leave_the_upper_data_bytes_alone():
    content = image()
    bus = Bus(content, read_size=4)
    assert not bus.status() & EC_ESTAT_R64
    bus.command(EC_ECMD_READ, 0x08)
    assert bus.fprd(EEPDAT, 8) == content[0x10:0x14] + bytes(4)
    assert bus.soem_read(0x0A) == content[0x14:0x18]


def test_eight_byte_reads_are_the_default_and_reported_in_bit_6():
    bus = Bus(image())
    assert bus.status() & EC_ESTAT_R64
    assert SiiControlStatus.decode(bus.fprd(EEPCTL, 2)).read_size == 8


def test_address_bytes_bit_follows_the_eeprom_size():
    assert not Bus(image(eeprom_size=0x000F)).status() & TWO_ADDRESS_BYTES  # 16 Kbit
    big = Bus(image(eeprom_size=0x001F))  # 32 Kbit
    assert big.status() & TWO_ADDRESS_BYTES
    assert big.soem_read(0x7FC) == bytes([0xFF] * 8)


# ------------------------------------------------------------------------------------- busy
def test_a_master_that_does_not_poll_busy_reads_stale_data():
    content = image()
    bus = Bus(content, busy_frames=3)
    bus.command(EC_ECMD_READ, 0x08)
    assert bus.status() & EC_ESTAT_BUSY  # the next frame: still busy
    assert bus.fprd(EEPDAT, 4) == bytes(4)  # not read yet
    assert bus.fprd(EEPDAT, 4) == content[0x10:0x14]  # the third frame: done at its start
    bus.command(EC_ECMD_READ, 0x0A)
    assert bus.fprd(EEPDAT, 4) == content[0x10:0x14]  # still the previous word


def test_command_and_status_read_in_one_frame_see_busy_and_the_command():
    bus = Bus(image(), busy_frames=1)
    write, read = bus.frame(
        Datagram(
            Command.FPWR, 0, station_address(STATION, EEPCTL), struct.pack("<HI", EC_ECMD_READ, 0)
        ),
        Datagram(Command.FPRD, 0, station_address(STATION, EEPCTL), bytes(2)),
    )
    status = SiiControlStatus.decode(read.data)
    assert status.busy and status.command == 0b001
    assert not bus.status() & EC_ESTAT_BUSY  # completed at the start of the next frame


def test_writes_while_busy_are_blocked_and_the_command_is_lost():
    content = image()
    bus = Bus(content, busy_frames=4)
    bus.command(EC_ECMD_READ, 0x08)
    bus.command(EC_ECMD_READ, 0x0A)  # while busy: blocked
    assert U16.unpack(bus.fprd(EEPADR, 2))[0] == 0x08
    assert bus.eeprom.counters.commands_ignored == 1
    bus.wait_not_busy()
    assert bus.fprd(EEPDAT, 8) == content[0x10:0x18]
    assert bus.eeprom.counters.reads == 1


# ------------------------------------------------------------------------------------ write
def test_write_with_enable_in_the_same_write_changes_the_eeprom():
    bus = Bus(image(), busy_frames=2)
    status = bus.soem_write(0x40, 0xBEEF)
    assert not status & EC_ESTAT_EMASK
    assert bus.eeprom.image[0x80:0x82] == U16.pack(0xBEEF)
    assert bus.soem_read(0x40)[:2] == U16.pack(0xBEEF)
    assert bus.eeprom.counters.writes == 1


@settings(max_examples=25, deadline=None)
@given(writes=st.lists(st.tuples(st.integers(0x40, 0x3FB), st.integers(0, 0xFFFF)), max_size=6),
       busy_frames=st.integers(0, 3))
def test_writes_then_reads_match_a_word_model(writes, busy_frames):
    content = image()
    bus = Bus(content, busy_frames=busy_frames)
    model = bytearray(content)
    for word, value in writes:
        assert not bus.soem_write(word, value) & EC_ESTAT_EMASK
        model[word * 2:word * 2 + 2] = U16.pack(value)
    assert bus.eeprom.image == bytes(model)
    for word, _ in writes:
        assert bus.soem_read(word) == bytes(model[word * 2:word * 2 + 8])


def test_write_without_enable_is_refused_with_bit_14_until_a_nop():
    content = image()
    bus = Bus(content)
    bus.fpwr(EEPDAT, U16.pack(0xBEEF))
    bus.command(0x0200, 0x40)  # write command, write enable clear
    status = bus.status()
    assert status & WRITE_ERROR and not status & EC_ESTAT_BUSY
    assert bus.eeprom.image == content
    bus.fpwr(EEPCTL, U16.pack(EC_ECMD_NOP))
    assert not bus.status() & EC_ESTAT_EMASK


def test_write_enable_from_an_earlier_datagram_of_the_same_frame_counts():
    bus = Bus(image())
    bus.fpwr(EEPDAT, U16.pack(0x5A5A))
    bus.frame(
        Datagram(Command.FPWR, 0, station_address(STATION, EEPADR), struct.pack("<I", 0x41)),
        Datagram(Command.FPWR, 0, station_address(STATION, EEPCTL), b"\x01"),  # enable only
        Datagram(Command.FPWR, 0, station_address(STATION, EEPCTL + 1), b"\x02"),  # command only
    )
    assert bus.eeprom.image[0x82:0x84] == U16.pack(0x5A5A)


def test_write_enable_clears_itself_at_the_start_of_the_next_frame():
    content = image()
    bus = Bus(content)
    bus.fpwr(EEPCTL, b"\x01")
    assert bus.status() & 0x0001 == 0  # read in the next frame: already cleared
    bus.fpwr(EEPCTL + 1, b"\x02")
    assert bus.status() & WRITE_ERROR
    assert bus.eeprom.image == content


def test_writing_the_checksum_word_is_just_a_write_and_the_alias_stays():
    bus = Bus(image())
    bus.soem_write(0x0004, 0x4321)  # alias word
    bus.soem_write(0x0007, 0x0000)  # checksum word
    assert bus.esc.alias == ALIAS
    assert not bus.status() & CHECKSUM_ERROR


# ------------------------------------------------------------------------------- reload
def test_reload_with_good_checksum_keeps_the_alias_of_the_power_on_load():
    content = image()
    bus = Bus(content, busy_frames=2)
    new = bytearray(content)
    new[8:10] = U16.pack(0x4321)
    info = SiiInfo.decode(bytes(new[:128]))
    bus.soem_write(0x0004, 0x4321)
    bus.soem_write(0x0007, info.expected_checksum)
    bus.command(0x0400)
    assert bus.status() & (EC_ESTAT_BUSY | NOT_LOADED) == EC_ESTAT_BUSY | NOT_LOADED
    status = bus.wait_not_busy()
    assert not status & (CHECKSUM_ERROR | NOT_LOADED | EC_ESTAT_NACK)
    assert bus.esc.alias == ALIAS  # only the first load after power-on takes the alias
    assert bus.eeprom.counters.reloads == 1


def test_esc20_takes_the_alias_at_every_reload():
    content = image()
    bus = Bus(content, esc_type=EscType.ESC20)
    new = bytearray(content)
    new[8:10] = U16.pack(0x4321)
    bus.soem_write(0x0004, 0x4321)
    bus.soem_write(0x0007, SiiInfo.decode(bytes(new[:128])).expected_checksum)
    bus.command(0x0400)
    bus.wait_not_busy()
    assert bus.esc.alias == 0x4321
    (reply,) = bus.frame(
        Datagram(
            Command.FPRD, 0, station_address(STATION, Register.CONFIGURED_STATION_ALIAS), bytes(2)
        )
    )
    assert U16.unpack(reply.data)[0] == 0x4321


def test_reload_with_bad_checksum_sets_bits_11_and_12():
    bus = Bus(image())
    bus.soem_write(0x0001, 0x0000)  # change a checksummed word, not the checksum
    bus.command(0x0400)
    status = bus.wait_not_busy()
    assert status & CHECKSUM_ERROR and status & NOT_LOADED
    assert bus.esc.alias == ALIAS
    bus.soem_write(0x0001, 0x0E7F)  # restore: the next reload is clean again
    bus.command(0x0400)
    assert not bus.wait_not_busy() & (CHECKSUM_ERROR | NOT_LOADED)


def test_power_on_with_bad_checksum_loads_nothing():
    good = image()
    bad = image(checksum=(SiiInfo.decode(good[:128]).expected_checksum + 1) & 0xFF)
    esc = Esc(alias=0)
    eeprom = Eeprom(esc, bad)
    assert eeprom.status.checksum_error and eeprom.status.not_loaded
    assert esc.alias == 0
    assert esc.pdi_read(Register.PDI_CONTROL, 2) == bytes(2)


def test_power_on_load_fills_the_configuration_registers():
    esc = Esc()
    Eeprom(esc, image())
    assert esc.alias == ALIAS
    assert esc.pdi_read(Register.PDI_CONTROL, 2) == U16.pack(0x0805)
    assert esc.pdi_read(Register.PDI_CONFIGURATION, 2) == U16.pack(0x0E7F)
    assert esc.pdi_read(Register.DC_PULSE_LENGTH, 2) == U16.pack(0x03E8)
    assert esc.pdi_read(Register.EXTENDED_PDI_CONFIGURATION, 2) == U16.pack(0x1122)


# ------------------------------------------------------------------------------- errors
def test_address_beyond_the_eeprom_sets_missing_acknowledge_until_a_nop():
    content = image()
    bus = Bus(content, busy_frames=1)
    bus.command(EC_ECMD_READ, len(content) // 2)
    status = bus.wait_not_busy()
    assert status & EC_ESTAT_NACK
    bus.command(EC_ECMD_READ, 0x08)  # ignored: bit 13 pending
    assert bus.status() & EC_ESTAT_NACK
    assert bus.eeprom.counters.commands_ignored == 1
    assert bus.soem_read(0x08) == content[0x10:0x18]  # SOEM writes a NOP first


def test_soem_reload_constant_is_an_invalid_command():
    bus = Bus(image())
    bus.command(EC_ECMD_RELOAD)
    status = bus.status()
    assert status & EC_ESTAT_NACK and not status & EC_ESTAT_BUSY
    assert bus.eeprom.counters.reloads == 0


def test_pdi_control_blocks_ecat_until_the_master_forces_access():
    content = image()
    bus = Bus(content)
    assert not bus.eeprom.pdi_take_control()  # not offered
    bus.fpwr(EEPCFG, b"\x01")  # SOEM ecx_eeprom2pdi
    assert not bus.eeprom.ecat_has_control
    assert bus.eeprom.pdi_take_control()
    assert bus.status() & 0x0001  # write enable reads 1 while the PDI has control
    bus.command(EC_ECMD_READ, 0x08)
    assert bus.eeprom.counters.commands_ignored == 1 and bus.eeprom.counters.reads == 0
    bus.fpwr(EEPCFG, b"\x02")  # SOEM ecx_eeprom2master: force, then 0
    bus.fpwr(EEPCFG, b"\x00")
    assert bus.fprd(0x0501, 1) == b"\x00"
    assert bus.eeprom.ecat_has_control
    assert bus.soem_read(0x08) == content[0x10:0x18]


def test_invalid_images_are_refused():
    with pytest.raises(ValueError):
        Eeprom(Esc(), bytes(64))
    with pytest.raises(ValueError):
        Eeprom(Esc(), bytes(129))
    with pytest.raises(ValueError):
        Eeprom(Esc(), image(), read_size=2)
