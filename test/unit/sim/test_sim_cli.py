"""``ethercat-sim``: serving a chain file over UDP, the status file, counters, faults, clean exit
on SIGTERM, and the exit statuses of bad input."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ethercat_master.protocol.datagram import Command, Datagram
from ethercat_master.protocol.frame import Frame
from ethercat_master.protocol.registers import Register
from ethercat_master.sim.chain_config import load_chain
from ethercat_master.sim.cli import EXIT_CONFIG, EXIT_LINK, EXIT_REALTIME, status_snapshot
from ethercat_master.transport.udp import UdpLink

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "config" / "sim_chain.yaml"
START_TIMEOUT_S = 20.0


def environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ethercat_master.sim.cli", *args], capture_output=True, text=True,
                          env=environment(), timeout=timeout)


class Simulator:
    """``ethercat-sim`` in a subprocess on a free UDP port, with a status file."""

    def __init__(self, tmp_path: Path, chain: Path = EXAMPLE, *extra: str) -> None:
        self.port = free_udp_port()
        self.status_file = tmp_path / "status.json"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ethercat_master.sim.cli", "--chain", str(chain), "--udp", f"127.0.0.1:{self.port}",
             "--status-file", str(self.status_file), "--status-interval", "0.05", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment())
        start = time.monotonic()
        while not self.status_file.exists():
            assert self.process.poll() is None, self.process.communicate()
            assert time.monotonic() - start < START_TIMEOUT_S, "ethercat-sim did not start"
            time.sleep(0.02)
        self.link = UdpLink(("127.0.0.1", 0), ("127.0.0.1", self.port))

    def exchange(self, *datagrams: Datagram, timeout: float = 1.0):
        self.link.send(Frame(datagrams).encode())
        reply = self.link.recv(timeout)
        return None if reply is None else Frame.decode(reply).datagrams

    def status(self) -> dict:
        return json.loads(self.status_file.read_text())

    def stop(self) -> tuple[int, str, str]:
        self.link.close()
        self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=10)
        return self.process.returncode, out, err


def count_slaves() -> Datagram:
    return Datagram(Command.BRD, 0, Register.TYPE << 16, b"\0")


def test_serves_the_chain_over_udp_and_exits_cleanly_on_sigterm(tmp_path):
    sim = Simulator(tmp_path)
    try:
        (reply,) = sim.exchange(count_slaves())
        assert reply.wkc == 8
        time.sleep(0.15)
        status = sim.status()
        assert status["frames"]["received"] >= 1 and status["frames"]["replied"] >= 1
        assert [s["device"] for s in status["slaves"]][:4] == ["EK1100", "EL1008", "EL2008", "EL3102"]
        assert status["slaves"][1]["inputs"] == 0xA5 and status["slaves"][1]["label"] == "inputs"
        assert status["slaves"][0]["state"] == "INIT"
    finally:
        code, out, err = sim.stop()
    assert code == 0, err
    assert out.splitlines()[0] == (
        f"ethercat-sim: 8 slaves (EK1100, EL1008, EL2008, EL3102, SimServo-402, SimServo-402, SimServo-402, "
        f"SimServo-402) on udp:127.0.0.1:{sim.port}, no faults")


def test_verbose_prints_frame_counters_every_second(tmp_path):
    sim = Simulator(tmp_path, EXAMPLE, "--verbose")
    try:
        for _ in range(5):
            sim.exchange(count_slaves())
        time.sleep(1.3)
    finally:
        code, out, err = sim.stop()
    assert code == 0, err
    counters = [line for line in out.splitlines() if "frames/s" in line]
    assert counters and "received 5, replied 5" in counters[-1]


def test_faults_of_the_chain_file_are_applied(tmp_path):
    chain = tmp_path / "lossy.yaml"
    chain.write_text(textwrap.dedent("""
        slaves: [{device: EK1100}, {device: EL1008}]
        faults:
          loss: {every: 2}
    """))
    sim = Simulator(tmp_path, chain)
    try:
        replies = [sim.exchange(count_slaves(), timeout=0.3) for _ in range(4)]
    finally:
        code, out, err = sim.stop()
    assert code == 0, err
    assert [reply is None for reply in replies] == [False, True, False, True]
    assert "with faults" in out


def test_a_bad_chain_file_exits_2_naming_file_line_and_field(tmp_path):
    chain = tmp_path / "bad.yaml"
    chain.write_text("slaves:\n  - device: EL1008\n    inputs: 300\n")
    result = run("--chain", str(chain), "--udp", "127.0.0.1:1")
    assert result.returncode == EXIT_CONFIG
    assert result.stderr.strip() == f"ethercat-sim: {chain}:3: slaves[0].inputs: expected an integer in 0..255, got 300"


def test_a_missing_interface_exits_1():
    result = run("--chain", str(EXAMPLE), "--interface", "no-such-if0")
    assert result.returncode == EXIT_LINK
    assert "no-such-if0" in result.stderr and "no such network interface" in result.stderr


def test_an_impossible_realtime_priority_exits_3():
    result = run("--chain", str(EXAMPLE), "--udp", "127.0.0.1:1", "--realtime", "1000")
    assert result.returncode == EXIT_REALTIME and "--realtime priority 1000 is outside 1..99" in result.stderr


@pytest.mark.parametrize("args, message", [
    ([], "give --interface and/or --udp"),
    (["--udp", "nonsense"], "expected HOST:PORT"),
    (["--udp", "127.0.0.1:1", "--status-interval", "0"], "--status-interval must be positive"),
])
def test_usage_errors(args, message):
    result = run("--chain", str(EXAMPLE), *args)
    assert result.returncode == 2 and message in result.stderr


def test_status_snapshot_lists_the_slaves_in_processing_order():
    loaded = load_chain(EXAMPLE)
    snapshot = status_snapshot(loaded, [])
    assert [s["position"] for s in snapshot["slaves"]] == list(range(8))
    assert snapshot["slaves"][4]["label"] == "axis1" and snapshot["slaves"][4]["drive_state"]
    assert snapshot["frames"] == {"received": 0, "replied": 0, "dropped": 0, "processed": 0, "lost": 0}
    json.dumps(snapshot)
