"""Frames and datagrams: round trips, known bytes, the preallocated builder, and fuzzing."""

from __future__ import annotations

import random

import pytest
from harness.fuzz import fuzz_decoder
from hypothesis import given, settings, strategies as st

from ethercat_master.errors import ProtocolError
from ethercat_master.protocol.datagram import (
    DATAGRAM_OVERHEAD,
    Addressing,
    Command,
    Datagram,
    position_address,
    split_address,
    station_address,
)
from ethercat_master.protocol.frame import (
    ETHERNET_MIN_FRAME,
    MAX_DATAGRAMS_BYTES,
    Frame,
    FrameBuilder,
    decode_ecat_header,
    ethernet_frame,
    parse_ethernet,
)


def datagrams(max_data: int = 64):
    return st.builds(
        Datagram,
        command=st.sampled_from(list(Command)),
        index=st.integers(0, 255),
        address=st.integers(0, 0xFFFFFFFF),
        data=st.binary(max_size=max_data),
        wkc=st.integers(0, 0xFFFF),
        irq=st.integers(0, 0xFFFF),
        circulating=st.booleans(),
    )


frames = st.lists(datagrams(), min_size=1, max_size=12).map(Frame)


@given(frames)
def test_frame_round_trip(frame):
    assert Frame.decode(frame.encode()) == frame


@given(frames)
def test_more_follows_marks_all_but_the_last(frame):
    decoded = Frame.decode(frame.encode())
    assert [d.more_follows for d in decoded.datagrams] == [True] * (len(frame.datagrams) - 1) + [False]


@given(frames, st.binary(max_size=40))
def test_padding_after_the_header_length_is_ignored(frame, padding):
    assert Frame.decode(frame.encode() + padding) == frame


def test_known_bytes_of_a_brd_of_the_al_status():
    # ETG.1000.4 Table 13: header length 14 | type 1 << 12 = 0x100E; BRD (7), idx 0x2A,
    # ADP 0, ADO 0x0130, length 2, IRQ 0, data 00 00, WKC 3.
    wire = bytes.fromhex("0e10" "07" "2a" "0000" "3001" "0200" "0000" "0800" "0300")
    frame = Frame.decode(wire)
    (dg,) = frame.datagrams
    assert dg.command is Command.BRD and dg.index == 0x2A
    assert (dg.adp, dg.ado) == (0, 0x0130)
    assert dg.data == b"\x08\x00" and dg.wkc == 3
    assert frame.encode() == wire
    assert dg.describe() == "BRD 0x0000:0x0130 len 2"


def test_logical_and_position_addresses():
    assert split_address(position_address(3, 0x0010)) == (0xFFFD, 0x0010)
    assert split_address(station_address(0x1001, 0x0130)) == (0x1001, 0x0130)
    lrw = Datagram(Command.LRW, 1, 0x00010000, bytes(4))
    assert lrw.describe() == "LRW 0x00010000 len 4"
    assert Command.LRW.addressing is Addressing.LOGICAL
    assert Command.FRMW.reads and Command.FRMW.writes and not Command.NOP.reads
    with pytest.raises(ValueError):
        position_address(70000, 0)


@pytest.mark.parametrize("command,read_ok,write_ok,expected", [
    (Command.APRD, True, False, 1), (Command.FPWR, False, True, 1), (Command.LRW, True, True, 3),
    (Command.LRW, True, False, 1), (Command.BRW, False, True, 2), (Command.LRD, False, True, 0),
    (Command.ARMW, True, False, 1), (Command.FRMW, False, True, 1), (Command.NOP, True, True, 0),
])
def test_working_counter_increments(command, read_ok, write_ok, expected):
    assert command.wkc_increment(read_ok, write_ok) == expected


def test_unknown_command_codes_are_kept():
    wire = bytearray(Frame([Datagram(Command.NOP, 0, 0, b"ab")]).encode())
    wire[2] = 0x3F
    (dg,) = Frame.decode(bytes(wire)).datagrams
    assert dg.command == 0x3F and dg.describe().startswith("CMD63")


def test_frame_limits():
    with pytest.raises(ValueError, match="at least one"):
        Frame([])
    with pytest.raises(ValueError, match="exceed one frame"):
        Frame([Datagram(Command.LRD, 0, 0, bytes(MAX_DATAGRAMS_BYTES - DATAGRAM_OVERHEAD + 1))])
    Frame([Datagram(Command.LRD, 0, 0, bytes(MAX_DATAGRAMS_BYTES - DATAGRAM_OVERHEAD))])


def test_ethernet_framing_pads_and_skips_vlan():
    payload = Frame([Datagram(Command.BRD, 0, 0, b"\0\0")]).encode()
    frame = ethernet_frame(payload, bytes.fromhex("020000000001"))
    assert len(frame) == ETHERNET_MIN_FRAME and frame[12:14] == b"\x88\xa4"
    header, body = parse_ethernet(frame)
    assert header.ethertype == 0x88A4 and Frame.decode(body).datagrams[0].command is Command.BRD
    tagged = frame[:12] + b"\x81\x00\x00\x05" + frame[12:]
    header, body = parse_ethernet(tagged)
    assert header.ethertype == 0x88A4 and Frame.decode(body) == Frame.decode(payload)


def test_builder_matches_the_codec_and_reuses_its_buffer():
    b = FrameBuilder()
    lrw = b.add(Command.LRW, 0x10000, 8, index=1)
    frmw = b.add(Command.FRMW, station_address(0x1001, 0x0910), 8, index=2)
    payload = b.payload()
    expected = Frame([Datagram(Command.LRW, 1, 0x10000, bytes(8)),
                      Datagram(Command.FRMW, 2, station_address(0x1001, 0x0910), bytes(8))]).encode()
    assert bytes(payload) == expected
    lrw.data[:] = b"12345678"  # write in place: the next send carries it
    lrw.wkc = 0
    assert Frame.decode(b.payload()).datagrams[0].data == b"12345678"
    # a reply from the bus: same layout, new data and working counters
    reply = bytearray(b.payload())
    reply[lrw.offset + 10:lrw.offset + 18] = b"abcdefgh"
    reply[lrw.offset + 18] = 3
    assert lrw.reply_wkc(reply) == 3 and bytes(lrw.reply_data(reply)) == b"abcdefgh"
    assert frmw.reply_wkc(reply) == 0
    reply[frmw.offset + 1] = 9  # index changed: not our datagram
    with pytest.raises(ProtocolError, match="index"):
        frmw.reply_wkc(reply)
    with pytest.raises(ProtocolError, match="too short"):
        frmw.reply_wkc(reply[:20])


def test_builder_refuses_what_does_not_fit():
    b = FrameBuilder(capacity=40)
    b.add(Command.BRD, 0, 10)
    assert b.free == 40 - 22 - 12
    with pytest.raises(ValueError, match="does not fit"):
        b.add(Command.BRD, 0, b.free + 1)
    b.add(Command.BRD, 0, b.free)
    assert decode_ecat_header(b.payload())[0] == 40




def test_fuzzed_frames_raise_only_protocol_errors():
    """100,000 random and mutated payloads and Ethernet frames: decoding raises nothing but
    ProtocolError (no IndexError, struct.error or ValueError leaks out)."""
    rng = random.Random(0xEC47)
    good = [Frame([Datagram(Command(c % 15), i, rng.getrandbits(32), bytes(rng.randrange(0, 40)))
                   for i, c in enumerate(range(rng.randrange(1, 5)))]).encode() for _ in range(50)]
    for decode in (Frame.decode, parse_ethernet):
        decoded, errors = fuzz_decoder(decode, good, 50_000, rng)
        assert decoded > 1000 and errors > 1000  # both paths were exercised


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_protocol_errors(data):
    try:
        Frame.decode(data)
    except ProtocolError:
        pass
