"""One set of link tests that every link passes: in-process, UDP and raw Ethernet on a veth pair."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from harness import require_root
from ethercat_master.errors import InterfaceDownError, InterfaceNotFoundError, LinkError
from ethercat_master.protocol.datagram import Command, Datagram
from ethercat_master.protocol.frame import MAX_DATAGRAMS_BYTES, DATAGRAM_OVERHEAD, Frame, parse_ethernet
from ethercat_master.transport import InProcessLink, PcapRecorder, RawLink, UdpLink, open_link, read_pcap


@pytest.fixture(params=["inprocess", "udp", "raw"])
def link_pair(request):
    """Two connected link ends (master side, slave side)."""
    if request.param == "inprocess":
        a, b = InProcessLink.pair()
    elif request.param == "udp":
        b = open_link("udp-listen:127.0.0.1:0")
        a = UdpLink(remote=b.address)
    else:
        wire = request.getfixturevalue("wire")
        with wire.inside("a"):
            a = RawLink(wire.interface["a"])
        with wire.inside("b"):
            b = RawLink(wire.interface["b"])
    yield a, b
    a.close()
    b.close()


def _frame(n: int, size: int = 4) -> bytes:
    return Frame([Datagram(Command.FPRD, n & 0xFF, 0x01300000 | n, bytes([n & 0xFF]) * size)]).encode()


def test_frames_cross_both_ways_in_order(link_pair):
    a, b = link_pair
    sent = [_frame(i) for i in range(50)]
    for f in sent:
        a.send(f)
    assert [b.recv(1.0) for _ in sent] == sent
    back = [_frame(i, 20) for i in range(50, 60)]
    for f in back:
        b.send(f)
    assert [a.recv(1.0) for _ in back] == back


def test_largest_frame_crosses(link_pair):
    a, b = link_pair
    big = Frame([Datagram(Command.LRW, 1, 0x10000, os.urandom(MAX_DATAGRAMS_BYTES - DATAGRAM_OVERHEAD))]).encode()
    assert len(big) == 1500
    a.send(big)
    assert b.recv(1.0) == big


def test_recv_times_out_with_none_and_honours_deadline(link_pair):
    a, b = link_pair
    t0 = time.monotonic()
    assert b.recv(0.05) is None
    waited = time.monotonic() - t0
    assert 0.05 <= waited < 1.0
    assert b.recv(0) is None
    t0 = time.monotonic()
    assert b.recv(deadline=t0 + 0.03) is None
    assert time.monotonic() - t0 >= 0.03


def test_sender_does_not_receive_its_own_frames(link_pair):
    a, b = link_pair
    a.send(_frame(7))
    assert a.recv(0.05) is None
    assert b.recv(1.0) == _frame(7)


def test_closed_link_raises_link_error(link_pair):
    a, _ = link_pair
    a.close()
    with pytest.raises(LinkError, match="closed"):
        a.send(_frame(1))
    with pytest.raises(LinkError, match="closed"):
        a.recv(0)


def test_recorder_writes_a_pcap_of_both_directions(link_pair, tmp_path):
    a, b = link_pair
    path = tmp_path / "bus.pcap"
    with PcapRecorder(path) as rec:
        a.record_to(rec)
        a.send(_frame(1))
        b.send(b.recv(1.0))
        assert a.recv(1.0) == _frame(1)
    records = list(read_pcap(path))
    assert len(records) == 2
    for r in records:
        header, payload = parse_ethernet(r.frame)
        assert header.ethertype == 0x88A4
        assert Frame.decode(payload) == Frame.decode(_frame(1))
    assert records[0].frame[6:12] != records[1].frame[6:12]  # direction shows in the source MAC
    assert records[0].timestamp_ns <= records[1].timestamp_ns


def test_raw_link_errors_name_the_problem(wire):
    with wire.inside("a"):
        with pytest.raises(InterfaceNotFoundError, match="nosuch0"):
            RawLink("nosuch0")
        subprocess.run(["ip", "link", "set", wire.interface["a"], "down"], check=True)
        with pytest.raises(InterfaceDownError, match="ip link set .* up"):
            RawLink(wire.interface["a"])


def test_raw_link_without_cap_net_raw_says_how_to_grant_it(wire):
    require_root()
    code = textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {os.getcwd()!r})
        from ethercat_master.transport import RawLink
        from ethercat_master.errors import LinkPermissionError
        os.setgid(65534); os.setuid(65534)   # nobody: no CAP_NET_RAW (imports done before)
        try:
            RawLink({wire.interface["a"]!r})
        except LinkPermissionError as e:
            print("PERMISSION", e)
    """)
    out = wire.run("a", [sys.executable, "-c", code], check=False)
    assert out.returncode == 0, out.stderr
    out = out.stdout
    assert "PERMISSION" in out and "CAP_NET_RAW" in out.upper() and "setcap" in out


def test_open_link_rejects_unknown_specs():
    with pytest.raises(LinkError, match="unknown link scheme"):
        open_link("serial:/dev/ttyS0")
    with pytest.raises(LinkError, match="HOST:PORT"):
        open_link("udp:localhost")
