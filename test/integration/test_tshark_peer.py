"""Independent peer check: Wireshark's EtherCAT dissector (tshark) decodes every frame the
project builds, captured live on a veth pair in a namespace, with the expected command
names, addresses, lengths, working counters and mailbox contents, and no malformed packet.
Our own dissector (`ethercat-master decode`) must agree with it on the same capture."""

from __future__ import annotations

import ipaddress
import subprocess
import time
from dataclasses import dataclass, field

import pytest

from harness import require_root, require_tool
from ethercat_master.protocol import coe, eoe, foe
from ethercat_master.protocol.datagram import Addressing, Command, Datagram, position_address, station_address
from ethercat_master.protocol.frame import Frame
from ethercat_master.protocol.mailbox import MailboxType, build_mailbox
from ethercat_master.tools.cli import dissect_pcap
from ethercat_master.transport import RawLink

STATION = 0x1001
MBX_OUT, MBX_IN, MBX_SIZE = 0x1000, 0x1080, 128

# tshark reports these when a dissector meets bytes it cannot make sense of
MALFORMED_FIELDS = ["_ws.malformed", "ecat_mailbox.invalid", "ecat_mailbox.coe.invalid",
                    "ecat_mailbox.foe.invalid", "ecat_mailbox.eoe.invalid"]


@dataclass
class Case:
    """One frame to send and what tshark must find in it."""

    name: str
    datagrams: list[Datagram]
    mailbox: dict[str, int | str] = field(default_factory=dict)  # tshark field -> expected value


def _every_command() -> list[Case]:
    cases = []
    for i, cmd in enumerate(Command):
        if cmd.addressing is Addressing.LOGICAL:
            address = 0x00010000 + 0x100 * i
        elif cmd.addressing is Addressing.POSITION:
            address = position_address(i % 4, 0x0130)
        else:
            address = station_address(STATION + i, 0x0110)
        cases.append(Case(cmd.name, [Datagram(cmd, 0x20 + i, address, bytes(range(2 + i)), wkc=i % 4)]))
    return cases


def _mbx_write(payload: bytes, mtype: MailboxType, counter: int, idx: int) -> Datagram:
    """A mailbox request as a master writes it into the slave's receive mailbox."""
    data = build_mailbox(mtype, payload, mailbox_size=MBX_SIZE, counter=counter)
    return Datagram(Command.FPWR, idx, station_address(STATION, MBX_OUT), data, wkc=1)


def _mbx_read(payload: bytes, mtype: MailboxType, counter: int, idx: int) -> Datagram:
    """A mailbox reply as the master reads it back from the slave's send mailbox (WKC 1)."""
    data = build_mailbox(mtype, payload, mailbox_size=MBX_SIZE, counter=counter)
    return Datagram(Command.FPRD, idx, station_address(STATION, MBX_IN), data, wkc=1)


def _mailbox_cases() -> list[Case]:
    co, fo, ee = MailboxType.COE, MailboxType.FOE, MailboxType.EOE
    req, res = coe.CoEService.SDO_REQUEST, coe.CoEService.SDO_RESPONSE
    frame = bytes.fromhex("ffffffffffff020000000001" "0806") + bytes(46)  # a broadcast ARP-sized frame
    fragments = eoe.fragment_frame(frame, MBX_SIZE - 6, frame_number=3)
    # Every parameter included: SOEM and SOES pack only the flagged fields, Wireshark reads a
    # fixed layout of all of them; with all included, both layouts are the same bytes.
    ip = eoe.EoEIpParameters(mac_address=bytes.fromhex("020000000042"),
                             ip_address=ipaddress.IPv4Address("192.168.7.2"),
                             subnet_mask=ipaddress.IPv4Address("255.255.255.0"),
                             default_gateway=ipaddress.IPv4Address("192.168.7.1"),
                             dns_server=ipaddress.IPv4Address("192.168.7.1"),
                             dns_name="drive-7")
    cases = [
        Case("CoE SDO upload request", [_mbx_write(coe.SdoUploadRequest(0x1018, 1).encode(), co, 1, 0x40)],
             {"ecat_mailbox.type": co, "ecat_mailbox.counter": 1, "ecat_mailbox.coe.type": req,
              "ecat_mailbox.coe.sdoidx": 0x1018, "ecat_mailbox.coe.sdosub": 1}),
        Case("CoE SDO expedited download",
             [_mbx_write(coe.SdoDownloadExpeditedRequest(0x6060, 0, b"\x08").encode(), co, 2, 0x41)],
             {"ecat_mailbox.type": co, "ecat_mailbox.coe.type": req, "ecat_mailbox.coe.sdoidx": 0x6060}),
        Case("CoE SDO normal download",
             [_mbx_write(coe.SdoDownloadNormalRequest(0x2000, 1, 40, bytes(range(40))).encode(), co, 3, 0x42)],
             {"ecat_mailbox.coe.type": req, "ecat_mailbox.coe.sdoidx": 0x2000, "ecat_mailbox.coe.sdosub": 1}),
        Case("CoE SDO download segment",
             [_mbx_write(coe.SdoDownloadSegmentRequest(True, b"segment", True).encode(), co, 4, 0x43)],
             {"ecat_mailbox.coe.type": req}),
        Case("CoE SDO complete access upload",
             [_mbx_write(coe.SdoUploadRequest(0x1C12, 0, complete_access=True).encode(), co, 5, 0x44)],
             {"ecat_mailbox.coe.type": req, "ecat_mailbox.coe.sdoidx": 0x1C12}),
        Case("CoE SDO expedited upload response",
             [_mbx_read(coe.SdoUploadExpeditedResponse(0x1018, 1, b"\x02\x00\x00\x00").encode(), co, 1, 0x45)],
             {"ecat_mailbox.type": co, "ecat_mailbox.coe.type": res, "ecat_mailbox.coe.sdoidx": 0x1018}),
        Case("CoE SDO normal upload response",
             [_mbx_read(coe.SdoUploadNormalResponse(0x1008, 0, 6, b"EL2008").encode(), co, 2, 0x46)],
             {"ecat_mailbox.coe.type": res, "ecat_mailbox.coe.sdoidx": 0x1008}),
        Case("CoE SDO upload segment response",
             [_mbx_read(coe.SdoUploadSegmentResponse(False, b"rest of a long string", True).encode(), co, 3, 0x47)],
             {"ecat_mailbox.coe.type": res}),
        Case("CoE SDO abort",
             [_mbx_read(coe.SdoAbortRequest(0x6060, 0, 0x06020000).encode(), co, 4, 0x48)],
             {"ecat_mailbox.type": co, "ecat_mailbox.coe.abortcode": 0x06020000}),
        Case("CoE SDO information OD list request",
             [_mbx_write(coe.OdListRequest(coe.OdListType.ALL).message().encode(), co, 6, 0x49)],
             {"ecat_mailbox.coe.type": coe.CoEService.SDO_INFORMATION,
              "ecat_mailbox.coe.sdoinfoopcode": coe.SdoInfoOpcode.GET_OD_LIST_REQUEST}),
        Case("CoE SDO information object description response",
             [_mbx_read(coe.ObjectDescriptionResponse(0x1018, coe.DataType.IDENTITY if hasattr(coe.DataType, "IDENTITY") else 0x23,
                                                      4, coe.ObjectCode.RECORD, "Identity").message().encode(), co, 5, 0x4A)],
             {"ecat_mailbox.coe.sdoinfoopcode": coe.SdoInfoOpcode.GET_OBJECT_DESCRIPTION_RESPONSE,
              "ecat_mailbox.coe.sdoinfoindex": 0x1018, "ecat_mailbox.coe.sdoinfoname": "Identity"}),
        Case("CoE emergency",
             [_mbx_read(coe.Emergency(0x8611, coe.ErrorRegister(0x20), b"\x01\x02\x03\x04\x05").encode(), co, 6, 0x4B)],
             {"ecat_mailbox.type": co, "ecat_mailbox.coe.type": coe.CoEService.EMERGENCY}),
        Case("FoE read request", [_mbx_write(foe.FoEReadRequest("firmware.efw", 0x1234).encode(), fo, 1, 0x50)],
             {"ecat_mailbox.type": fo, "ecat_mailbox.foe_opmode": foe.FoEOpCode.READ,
              "ecat_mailbox.foe_filename": "firmware.efw"}),
        Case("FoE write request", [_mbx_write(foe.FoEWriteRequest("config.bin").encode(), fo, 2, 0x51)],
             {"ecat_mailbox.foe_opmode": foe.FoEOpCode.WRITE, "ecat_mailbox.foe_filename": "config.bin"}),
        Case("FoE data", [_mbx_read(foe.FoEData(7, bytes(range(100))).encode(), fo, 3, 0x52)],
             {"ecat_mailbox.foe_opmode": foe.FoEOpCode.DATA, "ecat_mailbox.foe_packetno": 7}),
        Case("FoE ack", [_mbx_write(foe.FoEAck(7).encode(), fo, 4, 0x53)],
             {"ecat_mailbox.foe_opmode": foe.FoEOpCode.ACK, "ecat_mailbox.foe_packetno": 7}),
        Case("FoE error", [_mbx_read(foe.FoEErrorMessage(foe.FoEErrorCode.NOT_FOUND, "no such file").encode(), fo, 5, 0x54)],
             {"ecat_mailbox.foe_opmode": foe.FoEOpCode.ERROR, "ecat_mailbox.foe_errcode": 0x8001,
              "ecat_mailbox.foe_errtext": "no such file"}),
        Case("FoE busy", [_mbx_read(foe.FoEBusy(30, 100).encode(), fo, 6, 0x55)],
             {"ecat_mailbox.foe_opmode": foe.FoEOpCode.BUSY, "ecat_mailbox.foe_busydone": 30,
              "ecat_mailbox.foe_busyentire": 100}),
        Case("EoE set IP parameter request",
             [_mbx_write(eoe.SetIpParameterRequest(ip).encode(), ee, 1, 0x60)],
             {"ecat_mailbox.type": ee, "ecat_mailbox.eoe.type": eoe.EoEFrameType.SET_IP_REQUEST,
              "ecat_mailbox.eoe.init.ipaddr": "192.168.7.2", "ecat_mailbox.eoe.init.dnsname": "drive-7"}),
        Case("EoE set IP parameter response",
             [_mbx_read(eoe.SetIpParameterResponse(eoe.EoEResult.SUCCESS).encode(), ee, 1, 0x61)],
             {"ecat_mailbox.eoe.type": eoe.EoEFrameType.SET_IP_RESPONSE}),
    ]
    for n, frag in enumerate(fragments):
        cases.append(Case(f"EoE fragment {n}", [_mbx_write(frag.encode(), ee, 2 + n, 0x62 + n)],
                          {"ecat_mailbox.type": ee, "ecat_mailbox.eoe.type": eoe.EoEFrameType.FRAGMENT,
                           "ecat_mailbox.eoe.fragno": frag.fragment_number,
                           "ecat_mailbox.eoe.frame": 3}))
    return cases


def _multi_datagram_case() -> Case:
    return Case("multi-datagram cyclic frame", [
        Datagram(Command.LRW, 0x70, 0x00010000, bytes(range(64)), wkc=6),
        Datagram(Command.FRMW, 0x71, station_address(STATION, 0x0910), bytes(8), wkc=4),
        Datagram(Command.BRD, 0x72, 0x01300000, b"\x08\x00", wkc=4),
        Datagram(Command.APRD, 0x73, position_address(3, 0x0110), bytes(2), wkc=1),
    ])


CASES = _every_command() + [_multi_datagram_case()] + _mailbox_cases()
TSHARK_FIELDS = ["frame.number", "ecat.cmd", "ecat.idx", "ecat.adp", "ecat.ado", "ecat.lad",
                 "ecat.subframe.length", "ecat.cnt"]


def _int(text: str) -> int:
    return int(text, 0)


def _capture(wire, tmp_path, cases: list[Case]):
    """Capture the cases' frames with tshark in namespace b, sent from namespace a."""
    pcap = tmp_path / "capture.pcap"
    dumper = wire.popen("b", ["tshark", "-i", wire.interface["b"], "-f", "ether proto 0x88a4",
                              "-c", str(len(cases)), "-w", str(pcap)],
                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        t0 = time.monotonic()
        line = ""
        while "Capture started" not in line:  # tshark logs this once packets are being captured
            line = dumper.stderr.readline()
            assert line or dumper.poll() is None, "tshark exited before capturing"
            assert time.monotonic() - t0 < 30, "tshark did not start capturing"
        time.sleep(0.2)
        with wire.inside("a"):
            link = RawLink(wire.interface["a"])
        with link:
            for case in cases:
                link.send(Frame(case.datagrams).encode())
                time.sleep(0.002)
        dumper.wait(timeout=30)
    finally:
        if dumper.poll() is None:
            dumper.kill()
            dumper.wait()
    return pcap


def _tshark_fields(pcap, fields: list[str]) -> list[dict[str, str]]:
    out = subprocess.run(["tshark", "-r", str(pcap), "-T", "fields", "-E", "separator=\t",
                          "-E", "occurrence=a", "-E", "aggregator=|"]
                         + [a for f in fields for a in ("-e", f)],
                         capture_output=True, text=True, check=True).stdout
    return [dict(zip(fields, line.split("\t"))) for line in out.splitlines()]


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    require_root()
    require_tool("tshark", "tshark")
    require_tool("ip", "iproute2")
    from harness import VirtualWire
    wire = VirtualWire.create()
    try:
        yield _capture(wire, tmp_path_factory.mktemp("tshark"), CASES)
    finally:
        wire.remove()


def test_tshark_decodes_every_frame_without_malformed_packets(capture):
    rows = _tshark_fields(capture, TSHARK_FIELDS + MALFORMED_FIELDS + ["_ws.expert.severity"])
    assert len(rows) == len(CASES)
    for case, row in zip(CASES, rows):
        for f in MALFORMED_FIELDS:
            assert row[f] == "", f"{case.name}: tshark reports {f}={row[f]}"
        cmds = [_int(x) for x in row["ecat.cmd"].split("|")]
        assert cmds == [int(d.command) for d in case.datagrams], case.name
        assert [_int(x) for x in row["ecat.idx"].split("|")] == [d.index for d in case.datagrams], case.name
        assert [int(x) for x in row["ecat.subframe.length"].split("|")] == [len(d.data) for d in case.datagrams]
        assert [int(x) for x in row["ecat.cnt"].split("|")] == [d.wkc for d in case.datagrams], case.name
        logical = [d for d in case.datagrams if d.command.addressing is Addressing.LOGICAL]
        physical = [d for d in case.datagrams if d.command.addressing is not Addressing.LOGICAL]
        assert [_int(x) for x in row["ecat.lad"].split("|") if x] == [d.address for d in logical], case.name
        assert [_int(x) for x in row["ecat.adp"].split("|") if x] == [d.adp for d in physical], case.name
        assert [_int(x) for x in row["ecat.ado"].split("|") if x] == [d.ado for d in physical], case.name


@pytest.mark.parametrize("case", [c for c in CASES if c.mailbox], ids=lambda c: c.name)
def test_tshark_decodes_mailbox_contents(capture, case):
    number = CASES.index(case) + 1
    fields = sorted(case.mailbox)
    (row,) = [r for r in _tshark_fields(capture, ["frame.number"] + fields) if int(r["frame.number"]) == number]
    for f in fields:
        expected = case.mailbox[f]
        got = row[f].split("|")[0]
        if isinstance(expected, str):
            assert got == expected, f"{case.name}: {f}"
        else:
            assert got != "" and _int(got) == int(expected), f"{case.name}: {f} = {got!r}, expected {int(expected)}"


def test_our_dissector_agrees_with_tshark(capture):
    ours = list(dissect_pcap(str(capture)))
    rows = _tshark_fields(capture, ["ecat.cmd", "ecat.idx", "ecat.subframe.length", "ecat.cnt"])
    assert len(ours) == len(rows)
    for entry, row in zip(ours, rows):
        assert "error" not in entry
        assert [d["index"] for d in entry["datagrams"]] == [_int(x) for x in row["ecat.idx"].split("|")]
        assert [d["length"] for d in entry["datagrams"]] == [int(x) for x in row["ecat.subframe.length"].split("|")]
        assert [d["wkc"] for d in entry["datagrams"]] == [int(x) for x in row["ecat.cnt"].split("|")]
        assert [Command[d["command"]] for d in entry["datagrams"]] == [_int(x) for x in row["ecat.cmd"].split("|")]
