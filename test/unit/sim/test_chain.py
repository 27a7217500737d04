"""A chain of simulated ESCs: whole frames, multi-slave working counters, malformed frames, and
the server thread on an in-process link."""

from __future__ import annotations

import struct
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ethercat_master.protocol.datagram import Command, Datagram, position_address, station_address
from ethercat_master.protocol.frame import Frame, FrameBuilder
from ethercat_master.protocol.registers import FmmuEntry, Register, fmmu_address
from ethercat_master.sim import ChainServer, Esc, SlaveChain
from ethercat_master.transport.inprocess import InProcessLink

RAM = 0x1000
U16 = struct.Struct("<H")


def run(chain: SlaveChain, *datagrams: Datagram) -> tuple[Datagram, ...]:
    reply = chain.process(Frame(datagrams).encode())
    assert reply is not None
    return Frame.decode(reply).datagrams


def make_chain(count: int, **kwargs) -> SlaveChain:
    return SlaveChain(Esc(name=f"slave{i}", **kwargs) for i in range(count))


def assign_stations(chain: SlaveChain, first: int = 0x1001) -> None:
    replies = run(chain, *(Datagram(Command.APWR, 0, position_address(i, Register.CONFIGURED_STATION_ADDRESS),
                                    U16.pack(first + i)) for i in range(len(chain))))
    assert [d.wkc for d in replies] == [1] * len(chain)


# ---------------------------------------------------------------------------- addressing
def test_broadcast_read_ors_all_slaves_and_counts_each():
    chain = make_chain(3)
    for esc, value in zip(chain, (b"\x01\x00", b"\x10\x00", b"\x00\x80")):
        esc.pdi_write(RAM, value)
    (reply,) = run(chain, Datagram(Command.BRD, 0, RAM << 16, b"\x00\x02"))
    assert (reply.data, reply.wkc, reply.adp) == (b"\x11\x82", 3, 3)  # data in ORed too; ADP +1 per slave


def test_broadcast_write_reaches_every_slave():
    chain = make_chain(3)
    (reply,) = run(chain, Datagram(Command.BWR, 0, 0x0005 | RAM << 16, b"\xde\xad"))
    assert (reply.wkc, reply.adp) == (3, 8)
    assert [esc.pdi_read(RAM, 2) for esc in chain] == [b"\xde\xad"] * 3


def test_broadcast_read_write_returns_or_of_old_data():
    chain = make_chain(2)
    chain[0].pdi_write(RAM, b"\x01")
    chain[1].pdi_write(RAM, b"\x02")
    (reply,) = run(chain, Datagram(Command.BRW, 0, RAM << 16, b"\x40"))
    # slave 0: out = 0x40 | 0x01, writes 0x40; slave 1: out = 0x41 | 0x02, writes 0x41
    assert (reply.data, reply.wkc) == (b"\x43", 6)
    assert (chain[0].pdi_read(RAM, 1), chain[1].pdi_read(RAM, 1)) == (b"\x40", b"\x41")


@pytest.mark.parametrize("position", [0, 1, 2])
def test_auto_increment_addresses_the_slave_at_its_position(position):
    chain = make_chain(3)
    for i, esc in enumerate(chain):
        esc.pdi_write(RAM, bytes([0xA0 + i]))
    read, write = run(chain, Datagram(Command.APRD, 0, position_address(position, RAM), b"\x00"),
                      Datagram(Command.APWR, 0, position_address(position, RAM + 1), b"\x77"))
    assert (read.data, read.wkc) == (bytes([0xA0 + position]), 1)
    assert read.adp == (3 - position) & 0xFFFF
    assert write.wkc == 1
    assert [esc.pdi_read(RAM + 1, 1) for esc in chain] == [b"\x77" if i == position else b"\x00" for i in range(3)]


def test_auto_increment_past_the_last_slave_is_not_counted():
    chain = make_chain(2)
    (reply,) = run(chain, Datagram(Command.APRD, 0, position_address(5, 0), b"\xee"))
    assert (reply.wkc, reply.data, reply.adp) == (0, b"\xee", (-5 + 2) & 0xFFFF)


def test_armw_addressed_slave_reads_and_the_others_write():
    chain = make_chain(3)
    for i, esc in enumerate(chain):
        esc.pdi_write(RAM, bytes([i + 1]) * 4)
    (reply,) = run(chain, Datagram(Command.ARMW, 0, position_address(1, RAM), b"\xff" * 4))
    assert (reply.data, reply.wkc, reply.adp) == (b"\x02" * 4, 3, 2)
    assert chain[0].pdi_read(RAM, 4) == b"\xff" * 4  # before the reader: the master's data
    assert chain[1].pdi_read(RAM, 4) == b"\x02" * 4
    assert chain[2].pdi_read(RAM, 4) == b"\x02" * 4  # after the reader: the reader's data


def test_frmw_station_reads_and_the_others_write():
    chain = make_chain(3)
    assign_stations(chain)
    for i, esc in enumerate(chain):
        esc.pdi_write(RAM, bytes([i + 1]) * 8)
    (reply,) = run(chain, Datagram(Command.FRMW, 0, station_address(0x1001, RAM), bytes(8)))
    assert (reply.data, reply.wkc, reply.adp) == (b"\x01" * 8, 3, 0x1001)
    assert [esc.pdi_read(RAM, 8) for esc in chain] == [b"\x01" * 8] * 3


def test_station_assignment_and_use_in_one_frame():
    chain = make_chain(3)
    chain[2].pdi_write(RAM, b"\x99")
    datagrams = [Datagram(Command.APWR, i, position_address(i, Register.CONFIGURED_STATION_ADDRESS),
                          U16.pack(0x2000 + i)) for i in range(3)]
    replies = run(chain, *datagrams, Datagram(Command.FPRD, 9, station_address(0x2002, RAM), b"\x00"),
                  Datagram(Command.FPRD, 10, station_address(0x2003, RAM), b"\x00"))
    assert [d.wkc for d in replies] == [1, 1, 1, 1, 0]
    assert replies[3].data == b"\x99" and [d.index for d in replies] == [0, 1, 2, 9, 10]


def test_duplicate_station_addresses_are_all_addressed():
    chain = make_chain(2)
    (reply,) = run(chain, Datagram(Command.FPWR, 0, station_address(0, RAM), b"\x01"))  # both still 0
    assert reply.wkc == 2


def test_nop_and_unknown_commands_pass_untouched():
    chain = make_chain(2)
    frame = Frame([Datagram(Command.NOP, 1, 0xFFFF_0000, b"\x01\x02", wkc=7), Datagram(20, 2, 0x1234, b"\x03", wkc=1)])
    reply = chain.process(frame.encode())
    assert bytes(reply) == frame.encode()


def test_two_slaves_share_one_lrw_bit_by_bit():
    chain = make_chain(2)
    # slave 0: outputs in bits 0-3 of logical byte 0, inputs in bits 0-1 of logical byte 1
    # slave 1: outputs in bits 4-7 of logical byte 0, inputs in bits 2-7 of logical byte 1
    fmmus = [
        (0, 0, FmmuEntry(logical_start=0x100, length=1, logical_stop_bit=3, physical_start=RAM, write=True,
                         active=True)),
        (0, 1, FmmuEntry(logical_start=0x101, length=1, logical_stop_bit=1, physical_start=RAM + 0x10, read=True,
                         active=True)),
        (1, 0, FmmuEntry(logical_start=0x100, length=1, logical_start_bit=4, physical_start=RAM, write=True,
                         active=True)),
        (1, 1, FmmuEntry(logical_start=0x101, length=1, logical_start_bit=2, physical_start=RAM + 0x10,
                         read=True, active=True)),
    ]
    replies = run(chain, *(Datagram(Command.APWR, 0, position_address(position, fmmu_address(index)), entry.encode())
                           for position, index, entry in fmmus))
    assert [d.wkc for d in replies] == [1] * 4
    chain[0].pdi_write(RAM + 0x10, b"\x02")  # input bits 10
    chain[1].pdi_write(RAM + 0x10, b"\x2d")  # input bits 101101
    (reply,) = run(chain, Datagram(Command.LRW, 0, 0x100, b"\xa5\x00"))
    assert reply.wkc == 6  # each slave: read +1, write +2
    assert reply.data == bytes([0xA5, 0x02 | (0x2D << 2) & 0xFF])
    assert chain[0].pdi_read(RAM, 1) == b"\x05"  # low nibble, written to bits 0-3
    assert chain[1].pdi_read(RAM, 1) == b"\x0a"  # high nibble, written to bits 0-3


# ---------------------------------------------------------------------- whole frames
def test_bytearray_is_processed_in_place_and_bytes_are_copied():
    chain = make_chain(1)
    payload = bytearray(Frame([Datagram(Command.BRD, 0, 0, bytes(1))]).encode())
    assert chain.process(payload) is payload
    original = Frame([Datagram(Command.BRD, 0, 0, bytes(1))]).encode()
    reply = chain.process(original)
    assert isinstance(reply, bytearray) and Frame.decode(reply).datagrams[0].wkc == 1
    assert Frame.decode(original).datagrams[0].wkc == 0


def test_padding_after_the_datagrams_is_kept_and_ignored():
    chain = make_chain(2)
    payload = Frame([Datagram(Command.BRD, 0, 0, bytes(1))]).encode() + b"\x5a" * 30
    reply = chain.process(payload)
    assert reply is not None and reply.endswith(b"\x5a" * 30)
    assert Frame.decode(reply).datagrams[0].wkc == 2 and chain.frames_processed == 1


def _valid() -> bytes:
    return Frame([Datagram(Command.BWR, 0, RAM << 16, b"\x77"), Datagram(Command.BRD, 1, 0, bytes(2))]).encode()


def _with_header_length(payload: bytes, length: int) -> bytes:
    return struct.pack("<H", length | 0x1000) + payload[2:]


def _flip_more_follows_of_last(payload: bytes) -> bytes:
    frame = bytearray(payload)
    last = 2 + 12 + 1  # header of the second datagram
    frame[last + 7] |= 0x80
    return bytes(frame)


MALFORMED = {
    "empty": b"",
    "one byte": b"\x10",
    "header only": struct.pack("<H", 0x1000),
    "header length past payload": _with_header_length(_valid(), len(_valid())),
    "header length cuts a datagram": _with_header_length(_valid(), len(_valid()) - 3)[:-3],
    "more follows on the last datagram": _flip_more_follows_of_last(_valid()),
    "bytes after the last datagram": _with_header_length(_valid() + b"\x00" * 12, len(_valid()) + 10),
    "reserved length bits": _valid()[:8] + bytes([_valid()[8], _valid()[9] | 0x08]) + _valid()[10:],
    "datagram shorter than its header": _with_header_length(struct.pack("<H", 0x1000) + b"\x07\x00\x00", 3),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_frames_are_dropped_counted_and_not_applied(name):
    chain = make_chain(3)
    assert chain.process(MALFORMED[name]) is None
    assert (chain.frames_dropped, chain.frames_processed) == (1, 0)
    assert chain[0].pdi_read(Register.RX_ERROR_COUNTER_PORT0, 1) == b"\x01"  # first ESC: invalid frame
    for esc in chain.escs[1:]:
        assert esc.pdi_read(Register.RX_ERROR_COUNTER_PORT0, 1) == b"\x00"
        assert esc.pdi_read(Register.FORWARDED_RX_ERROR_COUNTER_PORT0, 1) == b"\x01"  # marked upstream
    assert all(esc.pdi_read(RAM, 1) == b"\x00" for esc in chain)  # the leading BWR was not applied


def test_other_frame_types_pass_unchanged():
    chain = make_chain(2)
    payload = struct.pack("<H", 4 | (5 << 12)) + b"\x01\x02\x03\x04"  # mailbox gateway frame
    assert bytes(chain.process(payload)) == payload
    assert (chain.frames_forwarded, chain.frames_dropped) == (1, 0)
    assert chain[0].pdi_read(Register.RX_ERROR_COUNTER_PORT0, 1) == b"\x00"


def test_an_empty_chain_returns_nothing():
    chain = SlaveChain([])  # no slave: the master's port has no link, the frame is lost
    assert chain.process(Frame([Datagram(Command.BRD, 0, 0, b"\x00")]).encode()) is None
    assert (chain.frames_lost, chain.frames_processed) == (1, 0)


# ----------------------------------------------------- chain versus slave-by-slave processing
_COMMANDS = [Command.APRD, Command.APWR, Command.APRW, Command.FPRD, Command.FPWR, Command.FPRW, Command.BRD,
             Command.BWR, Command.BRW, Command.ARMW, Command.FRMW, Command.NOP]


@st.composite
def datagrams(draw):
    command = draw(st.sampled_from(_COMMANDS))
    if command in (Command.FPRD, Command.FPWR, Command.FPRW, Command.FRMW):
        adp = draw(st.sampled_from([0x1001, 0x1002, 0x1003, 0x0000, 0x5555]))
    else:
        adp = (-draw(st.integers(0, 4))) & 0xFFFF
    ado = draw(st.sampled_from([RAM, RAM + 3, Register.CONFIGURED_STATION_ADDRESS, Register.PHYSICAL_RW_OFFSET,
                                0x2FFE]))
    data = draw(st.binary(min_size=1, max_size=6))
    return Datagram(command, 0, adp | ado << 16, data)


@settings(max_examples=150, deadline=None)
@given(st.lists(datagrams(), min_size=1, max_size=6))
def test_chain_matches_slave_by_slave_processing(datagram_list):
    """The chain's shortcuts (one target for APxx, ADP arithmetic) equal the wire's order:
    each slave processing the whole frame in turn with Esc.process_datagram."""
    fast, reference = make_chain(3), make_chain(3)
    for chain in (fast, reference):
        assign_stations(chain)
        for i, esc in enumerate(chain):
            esc.pdi_write(RAM, bytes(range(i * 16, i * 16 + 16)))
    payload = Frame(datagram_list).encode()
    fast_reply = fast.process(payload)
    wire = bytearray(payload)
    for esc in reference:
        offset = 2
        while offset < len(wire):
            offset = esc.process_datagram(wire, offset)
    assert bytes(fast_reply) == bytes(wire)
    dc_block = slice(Register.DC_RECEIVE_TIME_PORT0, Register.DC_RECEIVE_TIME_PORT0 + 0x100)
    for a, b in zip(fast, reference):
        fast_memory, reference_memory = bytearray(a.pdi_read(0, 0x3000)), bytearray(b.pdi_read(0, 0x3000))
        del fast_memory[dc_block], reference_memory[dc_block]  # DC registers follow time, not datagrams
        assert fast_memory == reference_memory


# ------------------------------------------------------------------------------ server
@pytest.fixture
def served():
    chain = make_chain(3)
    master, sim_end = InProcessLink.pair("test")
    server = ChainServer(chain, sim_end, poll_interval=0.01)
    yield chain, master, server
    if server.running:
        server.stop()
    master.close()
    sim_end.close()


def test_server_answers_frames_built_with_frame_builder(served):
    chain, master, server = served
    builder = FrameBuilder()
    station = Register.CONFIGURED_STATION_ADDRESS
    assign = [builder.add(Command.APWR, position_address(i, station), data=U16.pack(0x1001 + i)) for i in range(3)]
    count = builder.add(Command.BRD, 0, length=2, index=7)
    identify = builder.add(Command.FPRD, station_address(0x1003, station), length=2, index=8)
    chain[2].pdi_write(RAM, b"\x42")
    with server:
        assert server.running
        master.send(builder.payload())
        reply = master.recv(timeout=2.0)
    assert not server.running
    assert reply is not None
    assert [slot.reply_wkc(reply) for slot in assign] == [1, 1, 1]
    assert count.reply_wkc(reply) == 3
    assert identify.reply_wkc(reply) == 1 and bytes(identify.reply_data(reply)) == U16.pack(0x1003)
    assert (server.frames_received, server.frames_replied, server.frames_dropped) == (1, 1, 0)
    assert [esc.station_address for esc in chain] == [0x1001, 0x1002, 0x1003]


def test_server_drops_malformed_frames_without_reply(served):
    chain, master, server = served
    with server:
        master.send(MALFORMED["more follows on the last datagram"])
        master.send(_valid())
        reply = master.recv(timeout=2.0)
        assert master.recv(timeout=0.05) is None
    assert Frame.decode(reply).datagrams[1].wkc == 3  # only the valid frame came back
    assert (server.frames_received, server.frames_replied, server.frames_dropped) == (2, 1, 1)
    assert chain.frames_dropped == 1


def test_server_reraises_a_failure_of_its_loop(served, monkeypatch):
    chain, master, server = served

    def broken(payload):
        raise RuntimeError("simulated fault")

    monkeypatch.setattr(chain, "process", broken)
    server.start()
    master.send(_valid())
    deadline = time.monotonic() + 2.0
    while server.running and time.monotonic() < deadline:
        time.sleep(0.005)
    assert not server.running
    with pytest.raises(RuntimeError, match="simulated fault"):
        server.stop()


def test_server_stops_quietly_when_its_link_is_closed(served):
    chain, master, server = served
    server.start()
    server.link.close()
    deadline = time.monotonic() + 2.0
    while server.running and time.monotonic() < deadline:
        time.sleep(0.005)
    assert not server.running
    server.stop()  # nothing to re-raise


def test_server_cannot_start_twice(served):
    chain, master, server = served
    with server:
        with pytest.raises(RuntimeError):
            server.start()
