"""The virtual-wire harness itself: frames cross it unchanged and nothing is left behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from harness import VirtualWire, remove_stale_wires, require_root, require_tool
from ethercat_master.protocol.frame import ETHERTYPE_ETHERCAT, ethernet_frame
from ethercat_master.transport import RawLink



def _system_state() -> tuple[str, str]:
    netns = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    # link lines carry counters that change; keep index and name
    names = "\n".join(sorted(line.split(":")[0] + ":" + line.split(":")[1] for line in links.splitlines()))
    return "\n".join(sorted(l for l in netns.splitlines() if l.startswith("ecmt-"))), names


def test_raw_frame_crosses_the_wire_unchanged_and_nothing_is_left():
    require_root()
    require_tool("ip", "iproute2")
    before = _system_state()
    wire = VirtualWire.create()
    try:
        assert _system_state() != before  # the namespaces exist while the wire does
        with wire.inside("a"):
            sender = RawLink(wire.interface["a"])
        with wire.inside("b"):
            capture = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETHERTYPE_ETHERCAT))
            capture.bind((wire.interface["b"], 0))
            capture.settimeout(2.0)
        assert sender.mac == wire.mac["a"]
        payload = bytes.fromhex("0e10") + bytes(range(14))  # EtherCAT header + 14 bytes (a NOP datagram)
        sender.send(payload)
        received, addr = capture.recvfrom(2048)
        assert received == ethernet_frame(payload, wire.mac["a"])  # header, payload, zero padding to 60
        assert len(received) == 60
        sender.close()
        capture.close()
    finally:
        wire.remove()
    assert _system_state() == before


def test_code_runs_inside_either_namespace():
    require_root()
    wire = VirtualWire.create()
    try:
        for side in "ab":
            out = wire.run(side, ["ip", "-o", "link", "show"], check=True).stdout
            assert wire.interface[side] in out
            assert wire.interface["b" if side == "a" else "a"] not in out
            with wire.inside(side):
                assert wire.interface[side] in [n for _, n in socket.if_nameindex()]
        # back home: neither end is visible in the test's own namespace
        assert not {wire.interface["a"], wire.interface["b"]} & {n for _, n in socket.if_nameindex()}
    finally:
        wire.remove()


def test_fixture_removes_the_wire_when_a_test_fails(pytester):
    require_root()
    before = _system_state()
    pytester.makeconftest(open(os.path.join(os.path.dirname(__file__), "..", "conftest.py")).read()
                          .replace("os.path.dirname(__file__)", repr(os.path.join(os.path.dirname(__file__), ".."))))
    pytester.makepyfile(test_inner=textwrap.dedent("""
        def test_fails(wire):
            assert wire.ns["a"]
            raise AssertionError("deliberate failure")
    """))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    assert _system_state() == before


def test_stale_wires_of_a_killed_run_are_removed():
    require_root()
    before = _system_state()
    here = os.path.dirname(os.path.dirname(__file__))
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {here!r})
        from harness import VirtualWire
        w = VirtualWire.create()
        print(w.ns["a"], flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    try:
        name = child.stdout.readline().strip()
        assert name.startswith("ecmt-")
        assert os.path.exists(f"/run/netns/{name}")
    finally:
        child.send_signal(signal.SIGKILL)  # no finalizer, no atexit
        child.wait()
    assert os.path.exists(f"/run/netns/{name}")
    removed = remove_stale_wires()
    assert name in removed
    assert _system_state() == before
