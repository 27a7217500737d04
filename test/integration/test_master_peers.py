"""Our master against independent peers, over a veth pair, on one simulator process.

``ethercat-sim`` serves config/sim_chain.yaml in namespace b (a subprocess, as a user runs it,
real-time priority); everything else runs in namespace a, each session as its own process:

1. **tshark** captures on the veth end of namespace a while our master does a full bring-up
   from config/network_sim.yaml (scan, mailboxes, start-up SDOs, PDO configuration, OP with
   process data every 4 ms, CoE uploads and an FoE write and read in OP, stop, shutdown), its
   link recording to a pcap file of its own. Wireshark's dissector must decode every EtherCAT
   frame without a malformed packet or an expert error; the commands a bring-up needs must be
   there (APRD/BRD of the scan, FPWR, FPRD, LRW, CoE SDO and FoE mailbox messages decoded as
   such); and what tshark saw on the wire must be, frame for frame and datagram for datagram
   (command, index, address, length, working counter), what our master recorded, with as many
   frames and working counter mismatches as its counters say. The network file's DC settings
   are applied: drift compensation frames on the wire, the drives in DC SYNC0 mode.
2. **pysoem** (SOEM) and then our master read the same chain: slave count, names, identities,
   aliases, process data sizes per slave (pysoem's ``config_map`` with the drives' default
   PDOs, ours from the explicit mapping of network_sim.yaml) and SDO values; they must agree.
3. A **1 MiB FoE round trip** with our master to a drive: write, read back, compare; the time
   and throughput are printed (no timing assertion: the machine is shared).

One simulator process serves the whole module (module-scoped fixture); every session scans
the bus again, which resets the slaves to INIT.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest

from harness import VirtualWire, require, require_root, require_tool, start_simulator, stop_process
from ethercat_master.protocol.datagram import Addressing, Command
from ethercat_master.protocol.frame import Frame
from ethercat_master.transport import read_pcap
from ethercat_master.transport.pcap import DEFAULT_SOURCE

pytestmark = pytest.mark.timeout(900)

ROOT = Path(__file__).resolve().parents[2]
CHAIN = ROOT / "config" / "sim_chain.yaml"
NETWORK = ROOT / "config" / "network_sim.yaml"
SIM_START_TIMEOUT_S = 30.0
SIM_PRIORITY = 20
#: SOEM waits 2 ms for a reply (see test_pysoem_peer.py): its process runs with SCHED_FIFO.
PYSOEM_PRIORITY = 10
SESSION_TIMEOUT_S = 300
FOE_TIMEOUT_S = 900
CYCLE_S = 0.004
DRIVES = (4, 5, 6, 7)
FOE_DRIVE = 6
MIB = 1 << 20
ETHERTYPE_ETHERCAT = 0x88A4

# tshark reports these when a dissector meets bytes it cannot make sense of
MALFORMED_FIELDS = ["_ws.malformed", "ecat_mailbox.invalid", "ecat_mailbox.coe.invalid",
                    "ecat_mailbox.foe.invalid", "ecat_mailbox.eoe.invalid"]
#: Expert info severity of an error (epan/proto.h PI_ERROR).
PI_ERROR = 0x00800000
MAILBOX_COE, MAILBOX_FOE = 3, 4
FOE_READ, FOE_WRITE, FOE_DATA, FOE_ACK = 1, 2, 3, 4
COE_SDO_REQUEST, COE_SDO_RESPONSE = 2, 3

# ------------------------------------------------------------------------ our master
OUR_MASTER = r'''
import json, os, sys, time
from ethercat_master.config.network import load_network
from ethercat_master.master.master import Master
from ethercat_master.protocol.coe import DataType
from ethercat_master.transport import PcapRecorder, RawLink

args = json.loads(sys.argv[1])
mode = args["mode"]
report = {"mode": mode}
net = load_network(args["network"])
link = RawLink(args["interface"])
recorder = None
if args.get("pcap"):
    recorder = PcapRecorder(args["pcap"])
    link.record_to(recorder)
m = Master(link, bus_timeout=0.1)

def u32(p, index, sub):
    return m.coe(p).read(index, sub, DataType.UNSIGNED32)

def identity_sdos(positions):
    return {str(p): [u32(p, 0x1018, sub) for sub in range(1, 5)] for p in positions}

try:
    if mode == "identity":
        # what the bus holds before the network's start-up SDOs change anything
        m.scan()
        m.request_state("PREOP")
        report["before_configure_6060"] = {str(p): m.coe(p).read(0x6060, 0, DataType.INTEGER8)
                                           for p in args["drives"]}
        layout = m.configure(net)
        slaves = list(m.slaves)
        coe = [s.position for s in slaves if s.has_coe]
        report["count"] = len(slaves)
        report["slaves"] = [{"name": s.name, "order": s.order, "vendor": s.vendor_id, "product": s.product_code,
                             "revision": s.revision, "serial": s.serial, "alias": s.alias} for s in slaves]
        sizes = []
        for s in slaves:
            try:
                pd = layout.slave(s.position)
                sizes.append([pd.input_bytes, pd.output_bytes])
            except LookupError:
                sizes.append([0, 0])
        report["sizes"] = sizes
        report["coe"] = coe
        report["identity_1018"] = identity_sdos(coe)
        report["device_names"] = {str(p): m.coe(p).upload(0x1008, 0).decode() for p in coe}
        report["after_configure_6060"] = {str(p): m.coe(p).read(0x6060, 0, DataType.INTEGER8)
                                          for p in args["drives"]}
        m.request_state("INIT")
    elif mode == "bringup":
        layout = m.configure(net)
        report["frames"] = [[f.expected_wkc, f.length] for f in layout.frames]
        report["expected_wkc"] = layout.expected_wkc
        rt = m.start(args["cycle"])
        report["op_states"] = [[b.status.state.name, b.status_code] for b in m.read_states()]
        time.sleep(args["op_seconds"])
        with open(args["status"]) as f:  # what the simulated slaves see while in OP
            report["sim_in_op"] = [[s["device"], s["state"], s.get("synchronisation")] for s in json.load(f)["slaves"]]
        drive = args["drives"][0]
        report["device_name"] = m.coe(drive).upload(0x1008, 0).decode()
        report["identity_1018"] = identity_sdos([drive])
        data = os.urandom(args["foe_bytes"])
        m.foe(args["foe_drive"]).write(args["foe_name"], data)
        report["foe_equal"] = m.foe(args["foe_drive"]).read(args["foe_name"]) == data
        time.sleep(0.2)
        m.stop()
        m.shutdown()
        counters = m.exchange.counters
        report["cyclic"] = {"cycles": counters.cycles, "frames_sent": counters.frames_sent,
                            "frames_lost": counters.frames_lost, "wkc_mismatches": counters.wkc_mismatches,
                            "stale_replies": counters.stale_replies}
        report["end_states"] = [str(b.status.state.name) for b in m.read_states()]
    elif mode == "foe":
        m.configure(net)  # PRE-OP, mailboxes configured
        data = os.urandom(args["foe_bytes"])
        foe = m.foe(args["foe_drive"])
        t0 = time.perf_counter()
        foe.write(args["foe_name"], data)
        t1 = time.perf_counter()
        back = foe.read(args["foe_name"])
        t2 = time.perf_counter()
        report["size"] = len(data)
        report["equal"] = back == data
        report["returned"] = len(back)
        report["write_s"], report["read_s"] = t1 - t0, t2 - t1
        report["mailbox_size"] = [foe.engine.slave.receive_size, foe.engine.slave.send_size]
        m.request_state("INIT")
    else:
        raise SystemExit(f"unknown mode {mode}")
finally:
    report["bus"] = {k: getattr(m.bus.counters, k) for k in ("frames_sent", "frames_received", "timeouts",
                                                             "retries", "stale_frames", "malformed_frames",
                                                             "wkc_mismatches")}
    m.close()
    link.record_to(None)
    if recorder is not None:
        report["recorded"] = recorder.count
        recorder.close()
    link.close()
print(json.dumps(report))
'''

# -------------------------------------------------------------------------- pysoem
PYSOEM = r'''
import json, struct, sys
import pysoem

interface, drives = sys.argv[1], json.loads(sys.argv[2])
report = {}
m = pysoem.Master()
m.open(interface)
report["count"] = m.config_init()
slaves = list(m.slaves)
# pysoem exposes neither serial, alias nor mailbox protocols: read them from the SII
# (words 0x0004 configured station alias, 0x000E-0x000F serial number, 0x001C mailbox protocols)
def sii_u32(s, word):
    return struct.unpack("<I", s.eeprom_read(word, 200000))[0]
report["slaves"] = [{"name": s.name, "vendor": s.man, "product": s.id, "revision": s.rev,
                     "serial": sii_u32(s, 0x0E), "alias": sii_u32(s, 0x04) & 0xFFFF,
                     "protocols": sii_u32(s, 0x1C) & 0xFFFF} for s in slaves]
coe = [p for p, s in enumerate(report["slaves"]) if s["protocols"] & 0x04]
report["coe"] = coe
report["identity_1018"] = {str(p): [struct.unpack("<I", slaves[p].sdo_read(0x1018, sub))[0] for sub in range(1, 5)]
                           for p in coe}
report["device_names"] = {str(p): slaves[p].sdo_read(0x1008, 0).decode() for p in coe}
report["modes_6060"] = {str(p): struct.unpack("<b", slaves[p].sdo_read(0x6060, 0)[:1])[0] for p in drives}
report["iomap"] = m.config_map()
report["sizes"] = [[len(s.input), len(s.output)] for s in slaves]
m.state = pysoem.INIT_STATE
m.write_state()
m.close()
print(json.dumps(report))
'''


# --------------------------------------------------------------------------- fixtures
def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    return env


class Peers:
    """The wire, the simulator serving namespace b, and how to run sessions in namespace a."""

    def __init__(self, wire: VirtualWire, status_path: Path, tmp: Path) -> None:
        self.wire = wire
        self.status_path = status_path
        self.tmp = tmp

    @property
    def interface(self) -> str:
        return self.wire.interface["a"]

    def our_master(self, timeout: float = SESSION_TIMEOUT_S, **args) -> dict:
        args = {"interface": self.interface, "network": str(NETWORK), "drives": list(DRIVES), **args}
        done = self.wire.run("a", [sys.executable, "-c", OUR_MASTER, json.dumps(args)], timeout=timeout,
                             env=_env(), cwd=str(ROOT))
        assert done.returncode == 0, f"our master ({args['mode']}) failed:\n{done.stderr[-6000:]}"
        return json.loads(done.stdout.strip().splitlines()[-1])

    def pysoem(self) -> dict:
        realtime = [require_tool("chrt", "util-linux"), "--fifo", str(PYSOEM_PRIORITY)]
        done = self.wire.run("a", [*realtime, sys.executable, "-c", PYSOEM, self.interface, json.dumps(DRIVES)],
                             timeout=SESSION_TIMEOUT_S, env=_env(), cwd=str(ROOT))
        assert done.returncode == 0, f"pysoem failed:\n{done.stderr[-6000:]}"
        return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def peers():
    require_root()
    require_tool("ip", "iproute2")
    wire = VirtualWire.create()
    with tempfile.TemporaryDirectory() as tmp:
        status_path = Path(tmp) / "status.json"
        try:
            sim = start_simulator(wire, CHAIN, status_path, "--realtime", str(SIM_PRIORITY),
                                  start_timeout=SIM_START_TIMEOUT_S, env=_env(), cwd=str(ROOT))
            try:
                yield Peers(wire, status_path, Path(tmp))
            finally:
                stop_process(sim)
        finally:
            wire.remove()


# ---------------------------------------------------------------------------- tshark
TSHARK_FIELDS = ["frame.number", "eth.src", "eth.type", "ecat.cmd", "ecat.idx", "ecat.adp", "ecat.ado",
                 "ecat.lad", "ecat.subframe.length", "ecat.cnt", "ecat_mailbox.type", "ecat_mailbox.coe.type",
                 "ecat_mailbox.coe.sdoidx", "ecat_mailbox.foe_opmode", "ecat_mailbox.foe_filename",
                 "_ws.expert.severity", "_ws.expert.message", "_ws.col.Protocol"] + MALFORMED_FIELDS


def _int(text: str) -> int:
    return int(text, 0)


def _ints(text: str) -> list[int]:
    return [_int(x) for x in text.split("|") if x]


def _tshark_rows(pcap: Path, fields: list[str]) -> list[dict[str, str]]:
    out = subprocess.run(["tshark", "-r", str(pcap), "-T", "fields", "-E", "separator=\t",
                          "-E", "occurrence=a", "-E", "aggregator=|"]
                         + [a for f in fields for a in ("-e", f)],
                         capture_output=True, text=True, check=True).stdout
    return [dict(zip(fields, line.split("\t"))) for line in out.splitlines()]


def _datagrams_of_row(row: dict[str, str]) -> list[tuple]:
    """(command, index, address, length, wkc) of every datagram tshark found in a frame."""
    cmds = _ints(row["ecat.cmd"])
    idxs = _ints(row["ecat.idx"])
    lengths = [int(x) for x in row["ecat.subframe.length"].split("|") if x]
    wkcs = [int(x) for x in row["ecat.cnt"].split("|") if x]
    lads = iter(_ints(row["ecat.lad"]))
    adps = iter(_ints(row["ecat.adp"]))
    ados = iter(_ints(row["ecat.ado"]))
    out = []
    for cmd, idx, length, wkc in zip(cmds, idxs, lengths, wkcs, strict=True):
        if Command(cmd).addressing is Addressing.LOGICAL:
            address = next(lads)
        else:
            address = (next(ados) << 16) | next(adps)
        out.append((cmd, idx, address, length, wkc))
    return out


def _datagrams_of_payload(ethernet: bytes) -> list[tuple]:
    """The same from our own decoding of a recorded Ethernet frame."""
    frame = Frame.decode(ethernet[14:])
    return [(int(d.command), d.index, d.address, len(d.data), d.wkc) for d in frame.datagrams]


def _capture(peers: Peers, pcap: Path) -> subprocess.Popen:
    dumper = peers.wire.popen("a", ["tshark", "-i", peers.interface, "-f", f"ether proto 0x{ETHERTYPE_ETHERCAT:04x}",
                                    "-B", "64", "-w", str(pcap)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t0 = time.monotonic()
    line = ""
    while "Capture started" not in line:  # tshark logs this once packets are being captured
        line = dumper.stderr.readline()
        assert line or dumper.poll() is None, "tshark exited before capturing"
        assert time.monotonic() - t0 < 60, "tshark did not start capturing"
    time.sleep(0.3)
    return dumper


@pytest.fixture(scope="module")
def bringup(peers):
    """tshark on namespace a's veth end while our master brings the network up; our master
    records the same frames itself."""
    require_tool("tshark", "tshark")
    wire_pcap = peers.tmp / "tshark.pcapng"
    ours_pcap = peers.tmp / "ours.pcap"
    dumper = _capture(peers, wire_pcap)
    try:
        report = peers.our_master(mode="bringup", pcap=str(ours_pcap), status=str(peers.status_path),
                                  cycle=CYCLE_S, op_seconds=1.0,
                                  foe_drive=FOE_DRIVE, foe_name="peer-check.bin", foe_bytes=3000)
        time.sleep(1.0)  # the last frames reach the capture file
    finally:
        dumper.send_signal(signal.SIGINT)
        try:
            _, err = dumper.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            dumper.kill()
            _, err = dumper.communicate()
    report["tshark_stderr"] = err
    rows = _tshark_rows(wire_pcap, TSHARK_FIELDS)
    mac_a = peers.wire.mac["a"].hex(":")
    return {"report": report, "rows": rows, "mac_a": mac_a, "ours": list(read_pcap(ours_pcap)), "pcap": wire_pcap}


def _outgoing(row: dict[str, str], mac_a: str) -> bool:
    return row["eth.src"].lower() == mac_a


def test_tshark_decodes_every_frame_of_our_bringup_without_errors(bringup):
    rows = bringup["rows"]
    report = bringup["report"]
    assert rows, "tshark captured nothing"
    print(f"tshark captured {len(rows)} frames; our master recorded {report['recorded']}")
    notes = Counter()
    for row in rows:
        assert _int(row["eth.type"]) == ETHERTYPE_ETHERCAT, row
        assert row["ecat.cmd"], f"frame {row['frame.number']}: tshark found no EtherCAT datagram"
        for f in MALFORMED_FIELDS:
            assert row[f] == "", f"frame {row['frame.number']}: tshark reports {f}={row[f]}"
        severities = _ints(row["_ws.expert.severity"])
        assert all(s < PI_ERROR for s in severities), \
            f"frame {row['frame.number']}: expert error {row['_ws.expert.message']}"
        for message in row["_ws.expert.message"].split("|"):
            if message:
                notes[message] += 1
    if notes:
        print("tshark expert notes/warnings (below error):", dict(notes))
    assert report["foe_equal"] is True
    assert report["device_name"].startswith("Simulated CiA 402 servo drive, axis 1 of 4")
    assert report["identity_1018"] == {"4": [0, 0x402, 1, 1001]}
    assert report["op_states"] == [["OP", 0]] * 8
    assert report["end_states"] == ["INIT"] * 8


def test_the_bringup_uses_the_commands_and_mailbox_services_it_must(bringup):
    rows = bringup["rows"]
    commands = Counter(Command(c).name for row in rows for c in _ints(row["ecat.cmd"]))
    print("commands on the wire:", dict(commands))
    for name in ("APRD", "BRD", "FPWR", "FPRD", "LRW"):
        assert commands[name] > 0, f"no {name} on the wire: {dict(commands)}"
    mailbox_types = Counter(t for row in rows for t in _ints(row["ecat_mailbox.type"]))
    assert mailbox_types[MAILBOX_COE] > 0 and mailbox_types[MAILBOX_FOE] > 0, dict(mailbox_types)
    coe_services = {t for row in rows for t in _ints(row["ecat_mailbox.coe.type"])}
    assert {COE_SDO_REQUEST, COE_SDO_RESPONSE} <= coe_services
    sdo_indices = {i for row in rows for i in _ints(row["ecat_mailbox.coe.sdoidx"])}
    assert {0x1008, 0x1018, 0x6060} <= sdo_indices, sorted(hex(i) for i in sdo_indices)
    # PDO configuration of the drives from network_sim.yaml: assignment and mapping objects
    assert {0x1C12, 0x1C13, 0x1600, 0x1A00} <= sdo_indices, sorted(hex(i) for i in sdo_indices)
    foe_ops = {t for row in rows for t in _ints(row["ecat_mailbox.foe_opmode"])}
    assert {FOE_READ, FOE_WRITE, FOE_DATA, FOE_ACK} <= foe_ops, foe_ops
    names = {n for row in rows for n in row["ecat_mailbox.foe_filename"].split("|") if n}
    assert names == {"peer-check.bin"}


def test_what_tshark_saw_is_what_our_master_recorded(bringup):
    rows, mac_a = bringup["rows"], bringup["mac_a"]
    ours_out = [_datagrams_of_payload(r.frame) for r in bringup["ours"] if r.frame[6:12] == DEFAULT_SOURCE]
    ours_in = [_datagrams_of_payload(r.frame) for r in bringup["ours"] if r.frame[6:12] != DEFAULT_SOURCE]
    wire_out = [_datagrams_of_row(r) for r in rows if _outgoing(r, mac_a)]
    wire_in = [_datagrams_of_row(r) for r in rows if not _outgoing(r, mac_a)]
    # in each direction frame for frame (between the directions the order may differ after a
    # timeout: a late reply is recorded by our master only at its next receive)
    assert len(wire_out) == len(ours_out)
    assert len(wire_in) == len(ours_in)
    for n, (wire, ours) in enumerate(zip(wire_out, ours_out)):
        assert wire == ours, f"sent frame {n}: tshark {wire}, recorded {ours}"
    for n, (wire, ours) in enumerate(zip(wire_in, ours_in)):
        assert wire == ours, f"received frame {n}: tshark {wire}, recorded {ours}"


def test_frame_and_working_counter_totals_match_our_masters_counters(bringup):
    rows, mac_a, report = bringup["rows"], bringup["mac_a"], bringup["report"]
    bus, cyclic = report["bus"], report["cyclic"]
    out = [r for r in rows if _outgoing(r, mac_a)]
    replies = [r for r in rows if not _outgoing(r, mac_a)]
    print("bus counters:", bus, "cyclic counters:", cyclic, "layout frames (expected WKC, length):",
          report["frames"])
    assert report["recorded"] == len(rows)
    # every frame sent is either an acyclic bus frame or a cyclic one
    assert len(out) == bus["frames_sent"] + cyclic["frames_sent"]
    cyclic_out = [r for r in out if Command.LRW in _ints(r["ecat.cmd"])]
    assert len(cyclic_out) == cyclic["frames_sent"]
    # one cyclic frame (one LRW) per cycle here: its reply WKC against the layout's expected WKC
    assert len(report["frames"]) == 1
    (expected_wkc, length), = report["frames"]
    # 2 for each slave with outputs (EL2008, 4 drives), 1 for each with inputs (EL1008, EL3102, 4 drives)
    assert expected_wkc == report["expected_wkc"] == 2 * 5 + 6
    lrw_replies = []
    for r in replies:
        for cmd, _idx, _address, size, wkc in _datagrams_of_row(r):
            if cmd == Command.LRW:
                assert size == length
                lrw_replies.append(wkc)
    # Replies the cyclic exchange took as its own, and late replies (after a timeout) the next
    # receive of either the cyclic exchange or the bus counted as stale: with none late (the
    # normal case) the totals must be exact.
    matched = cyclic["frames_sent"] - cyclic["frames_lost"]
    late = cyclic["stale_replies"] + bus["stale_frames"]
    assert len(replies) == bus["frames_received"] + matched + cyclic["stale_replies"]
    assert matched <= len(lrw_replies) <= matched + late
    mismatches = sum(1 for w in lrw_replies if w != expected_wkc)
    assert cyclic["wkc_mismatches"] <= mismatches <= cyclic["wkc_mismatches"] + late
    assert lrw_replies.count(expected_wkc) > 0.5 / CYCLE_S * 0.2  # OP was reached and held a while
    acyclic_replies = [r for r in replies if Command.LRW not in _ints(r["ecat.cmd"])]
    assert bus["frames_received"] - bus["stale_frames"] <= len(acyclic_replies) <= bus["frames_received"] + late
    if late == 0:
        assert len(lrw_replies) == matched and mismatches == cyclic["wkc_mismatches"]
        assert len(acyclic_replies) == bus["frames_received"]
    assert bus["malformed_frames"] == 0


def test_the_bringup_runs_the_drives_on_dc_sync0_as_the_network_file_says(bringup):
    rows, report = bringup["rows"], bringup["report"]
    print("simulated slaves in OP:", report["sim_in_op"])
    commands = {Command(c).name for row in rows for c in _ints(row["ecat.cmd"])}
    # drift compensation: the reference clock's system time distributed by ARMW/FRMW to 0x0910
    assert {"ARMW", "FRMW"} & commands, sorted(commands)
    drives = [s for s in report["sim_in_op"] if s[0] == "SimServo-402"]
    assert [s[2] for s in drives] == ["DC SYNC0"] * 4


# ---------------------------------------------------------------------- side by side
@pytest.fixture(scope="module")
def side_by_side(peers):
    try:
        import pysoem  # noqa: F401
    except ImportError:
        require(False, "pysoem is not installed")
    soem = peers.pysoem()
    ours = peers.our_master(mode="identity")
    return soem, ours


def test_pysoem_and_our_master_see_the_same_slaves(side_by_side):
    soem, ours = side_by_side
    print("pysoem:", json.dumps(soem["slaves"]))
    print("ours:  ", json.dumps(ours["slaves"]))
    assert soem["count"] == ours["count"] == 8
    for n, (s, o) in enumerate(zip(soem["slaves"], ours["slaves"])):
        assert s["name"] in (o["name"], o["order"]), f"position {n}: pysoem {s['name']!r}, ours {o}"
        assert (s["vendor"], s["product"], s["revision"]) == (o["vendor"], o["product"], o["revision"]), n
        assert (s["serial"], s["alias"]) == (o["serial"], o["alias"]), n
    assert [o["alias"] for o in ours["slaves"]] == [0] * 4 + [0x0101, 0x0102, 0x0103, 0x0104]
    assert [o["serial"] for o in ours["slaves"]][4:] == [1001, 1002, 1003, 1004]


def test_pysoem_and_our_master_map_the_same_process_data_sizes(side_by_side):
    soem, ours = side_by_side
    print("sizes (in, out) pysoem:", soem["sizes"], "ours:", ours["sizes"])
    assert soem["sizes"] == ours["sizes"]
    assert soem["iomap"] == sum(i + o for i, o in ours["sizes"])


def test_pysoem_and_our_master_read_the_same_sdo_values(side_by_side):
    soem, ours = side_by_side
    assert soem["coe"] == ours["coe"]
    assert soem["identity_1018"] == ours["identity_1018"]
    assert soem["device_names"] == ours["device_names"]
    # 0x6060 as the bus holds it, before our network's start-up SDO (PS: 8) writes it
    assert soem["modes_6060"] == ours["before_configure_6060"]
    assert ours["after_configure_6060"] == {str(p): 8 for p in DRIVES}
    for p in map(str, DRIVES):
        vendor, product, revision, serial = ours["identity_1018"][p]
        o = ours["slaves"][int(p)]
        assert (vendor, product, revision, serial) == (o["vendor"], o["product"], o["revision"], o["serial"])


# ---------------------------------------------------------------------------- FoE 1 MiB
def test_foe_round_trip_of_one_mebibyte(peers):
    result = peers.our_master(timeout=FOE_TIMEOUT_S, mode="foe", foe_drive=FOE_DRIVE, foe_name="big-1MiB.bin",
                              foe_bytes=MIB)
    assert result["size"] == MIB
    assert result["returned"] == MIB
    assert result["equal"] is True
    total = result["write_s"] + result["read_s"]
    print(f"\nFoE 1 MiB to position {FOE_DRIVE} over veth (mailboxes {result['mailbox_size']} bytes): "
          f"write {result['write_s']:.1f} s ({MIB / result['write_s'] / 1024:.1f} KiB/s), "
          f"read {result['read_s']:.1f} s ({MIB / result['read_s'] / 1024:.1f} KiB/s), "
          f"round trip {total:.1f} s ({2 * MIB / total / 1024:.1f} KiB/s); bus {result['bus']}")
