"""The ethercat-master command-line tool."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

from harness import require_root
from ethercat_master.protocol.datagram import Command, Datagram, station_address
from ethercat_master.protocol.frame import Frame
from ethercat_master.tools.cli import main
from ethercat_master.transport import PcapRecorder, RawLink


def _record(path, n=3):
    with PcapRecorder(path) as rec:
        for i in range(n):
            rec.record(Frame([Datagram(Command.FPRD, i, station_address(0x1001 + i, 0x0130), b"\x02\x00", wkc=1),
                              Datagram(Command.LRW, 0x80 + i, 0x10000, bytes(range(20)), wkc=3)]).encode(), True)


def test_decode_lists_datagrams(tmp_path, capsys):
    path = tmp_path / "bus.pcap"
    _record(path)
    assert main(["decode", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.count("2 datagram(s)") == 3
    assert "FPRD  idx 0x00  0x1001:0x0130  len 2    wkc 1" in out
    assert "LRW   idx 0x82  0x00010000     len 20   wkc 3   000102030405060708090a0b0c0d0e0f..." in out


def test_decode_json_and_malformed_frames(tmp_path, capsys):
    path = tmp_path / "bus.pcap"
    with PcapRecorder(path) as rec:
        rec.record(Frame([Datagram(Command.BRD, 1, 0x01300000, b"\x08\x00", wkc=2)]).encode(), True)
        rec.record(b"\x20\x10" + bytes(4), True)  # header claims 32 bytes of datagrams
    assert main(["decode", str(path), "--json"]) == 0
    frames = json.loads(capsys.readouterr().out)
    assert frames[0]["datagrams"] == [{"command": "BRD", "index": 1, "length": 2, "wkc": 2, "irq": 0,
                                       "circulating": False, "data": "0800", "adp": 0, "ado": 0x130}]
    assert "header length 32" in frames[1]["error"]


def test_decode_of_a_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main(["decode", str(tmp_path / "nope.pcap")]) == 1
    assert "No such file" in capsys.readouterr().err


def test_capture_records_what_crosses_an_interface(wire, tmp_path):
    out = tmp_path / "cap.pcap"
    proc = wire.popen("b", [sys.executable, "-m", "ethercat_master.tools.cli", "capture", wire.interface["b"],
                            "-o", str(out), "-c", "4", "--json"], stdout=subprocess.PIPE, text=True)
    try:
        with wire.inside("a"):
            link = RawLink(wire.interface["a"])
        with link:
            deadline = time.monotonic() + 20
            while proc.poll() is None and time.monotonic() < deadline:
                link.send(Frame([Datagram(Command.BRD, 5, 0x01300000, b"\0\0")]).encode())
                time.sleep(0.05)
        summary = json.loads(proc.communicate(timeout=10)[0])
    finally:
        if proc.poll() is None:
            proc.kill()
    assert summary["frames"] == 4
    assert main(["decode", str(out), "--json"]) == 0


def test_capture_on_a_missing_interface_says_so(capsys):
    assert main(["capture", "nosuch0", "-o", "/dev/null"]) == 1
    assert "no such network interface" in capsys.readouterr().err


def test_soak_dc_hands_its_options_to_dc_soak_demo(tmp_path):
    from ethercat_master.tools.cli import main

    report = tmp_path / "dc.json"
    assert main(["soak", "dc", "--period", "1ms", "--duration", "0.3s", "--slaves", "3", "--quiet",
                 "--json", str(report)]) == 0
    result = json.loads(report.read_text())
    assert result["kind"] == "ethercat_master.dc_soak"
