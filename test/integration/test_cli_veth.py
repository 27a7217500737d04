"""``ethercat-master`` against ``ethercat-sim`` over a veth pair: the real raw-socket path.

``ethercat-sim`` serves config/sim_chain.yaml in namespace b (a subprocess, as a user runs it,
with ``--status-file`` so the test sees what the simulated slaves see); each CLI command runs
as its own process in namespace a, so one invocation must find what an earlier one left on the
bus: states set by one are read by the next, an SDO written by one is uploaded by the next, a
file stored over FoE is read back.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from harness import VirtualWire, require_root, require_tool, start_simulator, stop_process

ROOT = Path(__file__).resolve().parents[2]
CHAIN = ROOT / "config" / "sim_chain.yaml"
CLI_TIMEOUT_S = 60
#: The Python simulator shares the machine with other tests: a generous frame timeout.
BUS_TIMEOUT = "0.1"
EL3102, AXIS1, AXIS3 = 3, 4, 6


class Bus:
    """Runs ``ethercat-master`` commands in namespace a against the simulator in namespace b."""

    def __init__(self, wire: VirtualWire, status_path: Path) -> None:
        self.wire = wire
        self.status_path = status_path

    def run(self, *argv: str, link: str = "") -> subprocess.CompletedProcess:
        spec = link or self.wire.interface["a"]
        return self.wire.run("a", [sys.executable, "-m", "ethercat_master.tools.cli", *argv, "--link", spec,
                                   "--bus-timeout", BUS_TIMEOUT], timeout=CLI_TIMEOUT_S)

    def json(self, *argv: str, link: str = ""):
        done = self.run(*argv, "--json", link=link)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def sim_states(self) -> list[str]:
        """The AL states the simulator reports (its status file, rewritten every 0.1 s)."""
        time.sleep(0.3)
        return [s["state"] for s in json.loads(self.status_path.read_text())["slaves"]]


@pytest.fixture(scope="module")
def bus():
    require_root()
    require_tool("ip", "iproute2")
    wire = VirtualWire.create()
    with tempfile.TemporaryDirectory() as tmp:
        status_path = Path(tmp) / "status.json"
        try:
            sim = start_simulator(wire, CHAIN, status_path, "--status-interval", "0.1")
            try:
                yield Bus(wire, status_path)
            finally:
                stop_process(sim)
        finally:
            wire.remove()


def test_slaves_over_the_raw_link(bus):
    slaves = bus.json("slaves", "-v")
    assert [s["order"] for s in slaves] == ["EK1100", "EL1008", "EL2008", "EL3102"] + ["SimServo-402"] * 4
    assert [s["station_address"] for s in slaves] == list(range(0x1001, 0x1009))
    assert slaves[AXIS3]["alias"] == 0x0103 and slaves[AXIS3]["serial"] == 1003
    assert slaves[AXIS1]["mailbox"]["protocols"] == ["EOE", "COE", "FOE"]
    assert bus.json("slaves", link=f"raw:{bus.wire.interface['a']}") == bus.json("slaves")


def test_states_set_by_one_invocation_are_read_by_the_next(bus):
    entries = bus.json("states", "--set", "PREOP")
    assert [e["state"] for e in entries] == ["PREOP"] * 8
    assert [e["state"] for e in bus.json("states")] == ["PREOP"] * 8
    assert bus.sim_states() == ["PREOP"] * 8
    refused = bus.run("states", "--set", "SAFEOP", "--position", str(AXIS1))
    assert refused.returncode == 1
    assert "AL status code 0x001D (Invalid Output Configuration)" in refused.stderr
    assert refused.stderr.count("\n") == 1


def test_sdo_transfers_in_preop(bus):
    name = bus.json("sdo", "upload", "-p", str(AXIS1), "0x1008", "0", "--type", "string")["value"]
    assert name.startswith("Simulated CiA 402 servo drive, axis 1 of 4") and len(name) > 128  # segmented
    bus.json("sdo", "download", "-p", str(EL3102), "0x8010", "0x13", "1000", "--type", "int16")
    assert bus.json("sdo", "upload", "-p", str(EL3102), "0x8010", "0x13", "--type", "int16")["value"] == 1000
    aborted = bus.run("sdo", "download", "-p", str(EL3102), "0x6000", "0x11", "0", "--type", "int16")
    assert aborted.returncode == 1 and "0x06010002" in aborted.stderr
    objects = bus.json("sdo", "list", "-p", str(EL3102))
    assert 0x8010 in [o["index"] for o in objects]


def test_pdos_and_registers(bus):
    pdos = bus.json("pdos", "-p", str(AXIS3))
    assert pdos["source"] == "CoE" and [sm["sync_manager"] for sm in pdos["sync_managers"]] == [2, 3]
    esc_type = bus.json("reg", "read", "-p", "0", "0x0000", "1")["data"]
    assert esc_type == "11"  # the EK1100's ET1100
    bus.json("reg", "write", "--station", "0x1007", "0x0200", "aa55")
    assert bus.json("reg", "read", "-p", str(AXIS3), "0x0200", "2")["data"] == "aa55"


def test_foe_round_trip(bus, tmp_path):
    source = tmp_path / "firmware.bin"
    content = bytes(range(251)) * 13
    source.write_bytes(content)
    written = bus.run("foe", "write", "-p", str(AXIS3), str(source))
    assert written.returncode == 0, written.stderr
    assert written.stderr.splitlines()[-1] == f"FoE write firmware.bin: {len(content)}/{len(content)} bytes"
    back = tmp_path / "back.bin"
    read = bus.json("foe", "read", "-p", str(AXIS3), "firmware.bin", "-o", str(back))
    assert read["size"] == len(content) and back.read_bytes() == content


def test_sii_dump_matches_the_scan(bus):
    dump = bus.json("sii", "dump", "-p", str(EL3102))
    assert dump["checksum_ok"] and dump["identity"]["product_code"] == 0x0C1E3052
    assert dump["strings"][:3] == ["EL3102", "AnaIn", "EL3102 2Ch. Ana. Input +/-10V, Diff."]
