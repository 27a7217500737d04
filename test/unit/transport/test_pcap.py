"""The pcap recorder and the capture reader (pcap and pcapng), including malformed files."""

from __future__ import annotations

import random
import struct

import pytest

from ethercat_master.errors import ProtocolError
from ethercat_master.protocol.datagram import Command, Datagram
from ethercat_master.protocol.frame import Frame, parse_ethernet
from ethercat_master.transport.pcap import PcapRecorder, read_pcap


def _payload(i: int) -> bytes:
    return Frame([Datagram(Command.BRD, i, 0x01300000, bytes([i, 0]))]).encode()


def test_recorded_frames_read_back_in_order(tmp_path):
    path = tmp_path / "r.pcap"
    with PcapRecorder(path) as rec:
        for i in range(5):
            rec.record(_payload(i), outgoing=i % 2 == 0)
        assert rec.count == 5
    records = list(read_pcap(path))
    assert [Frame.decode(parse_ethernet(r.frame)[1]).datagrams[0].index for r in records] == list(range(5))
    assert all(len(r.frame) == 60 == r.original_length for r in records)  # padded like the wire
    assert [r.timestamp_ns for r in records] == sorted(r.timestamp_ns for r in records)


def _block(btype: int, body: bytes) -> bytes:
    body += bytes(-len(body) % 4)
    total = len(body) + 12
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


def _pcapng(frames: list[bytes], tsresol: int | None = None, linktype: int = 1) -> bytes:
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    options = b""
    if tsresol is not None:
        options = struct.pack("<HHB3x", 9, 1, tsresol) + struct.pack("<HH", 0, 0)
    idb = _block(1, struct.pack("<HHI", linktype, 0, 65535) + options)
    epbs = b""
    for i, frame in enumerate(frames):
        ticks = 1_000_000 * (i + 1)  # one second apart at microsecond resolution
        if tsresol == 9:
            ticks *= 1000
        epbs += _block(6, struct.pack("<IIIII", 0, ticks >> 32, ticks & 0xFFFFFFFF, len(frame), len(frame)) + frame)
    return shb + idb + epbs


@pytest.mark.parametrize("tsresol", [None, 9])
def test_pcapng_as_wireshark_writes_it(tmp_path, tsresol):
    frames = [b"\xff" * 6 + b"\x02" * 6 + b"\x88\xa4" + _payload(i) for i in range(3)]
    path = tmp_path / "c.pcapng"
    path.write_bytes(_pcapng(frames, tsresol))
    records = list(read_pcap(path))
    assert [r.frame for r in records] == frames
    assert [r.timestamp_ns for r in records] == [1_000_000_000, 2_000_000_000, 3_000_000_000]


def test_pcapng_packets_of_other_link_types_are_skipped(tmp_path):
    path = tmp_path / "c.pcapng"
    path.write_bytes(_pcapng([b"not ethernet"], linktype=113))
    assert list(read_pcap(path)) == []


@pytest.mark.parametrize("content,match", [
    (b"", "shorter than the pcap header"),
    (b"\x00" * 24, "neither little-endian pcap nor pcapng"),
    (struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 105), "not Ethernet"),
])
def test_not_a_capture_is_a_protocol_error(tmp_path, content, match):
    path = tmp_path / "bad.pcap"
    path.write_bytes(content)
    with pytest.raises(ProtocolError, match=match):
        list(read_pcap(path))


def test_mutated_captures_raise_only_protocol_errors(tmp_path):
    rng = random.Random(7)
    good_ng = _pcapng([b"\xff" * 12 + b"\x88\xa4" + _payload(i) for i in range(4)], 9)
    rec_path = tmp_path / "good.pcap"
    with PcapRecorder(rec_path) as rec:
        for i in range(4):
            rec.record(_payload(i), True)
    good = [good_ng, rec_path.read_bytes()]
    path = tmp_path / "m.pcap"
    outcomes = {"ok": 0, "error": 0}
    for _ in range(3000):
        data = bytearray(rng.choice(good))
        for _ in range(rng.randrange(1, 4)):
            if data and rng.random() < 0.3:
                del data[rng.randrange(len(data)):]
            elif data:
                data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(data))
        try:
            list(read_pcap(path))
            outcomes["ok"] += 1
        except ProtocolError:
            outcomes["error"] += 1
    assert outcomes["ok"] > 100 and outcomes["error"] > 100
