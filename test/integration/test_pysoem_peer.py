"""Independent peer: SOEM (pysoem) drives the simulator end to end over a veth pair.

``ethercat-sim`` serves config/sim_chain.yaml in namespace b (a subprocess, as a user runs it,
with ``--status-file`` so the test sees what the simulated devices see); pysoem runs in
namespace a and does what a SOEM application does: ``config_init`` (identities and names
from the SII), SDO uploads and downloads in PRE-OP (a 145-character 0x1008 that needs
segments, a write and read-back of an EL3102 setting), ``config_dc``, ``config_map`` with a
PRE-OP -> SAFE-OP hook activating SYNC0 on the drives, SAFE-OP, one process data exchange,
OP; then EL2008 outputs and EL1008/EL3102 inputs both ways, the CiA 402 enable sequence in
CSP on all four drives and a 1.5 s ramp of target positions they must follow.

One pysoem session is shared by the tests of this module (module-scoped fixture); each test
checks one aspect of its report. Both processes run with SCHED_FIFO priority: SOEM waits 2 ms
for a reply and, with its reused frame indices, can take a reply that arrives later for a newer
request, so a simulator delayed by other tests on the machine would look broken.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import pytest

from harness import VirtualWire, require, require_root, require_tool, start_simulator, stop_process

ROOT = Path(__file__).resolve().parents[2]
CHAIN = ROOT / "config" / "sim_chain.yaml"
CYCLE_NS = 2_000_000
RAMP_S = 1.5
VELOCITY = 131072  # counts/s: one revolution per second
#: A CSP drive lags its ramp by a few cycles of motion: 1 % of a revolution is plenty.
TRACKING_BOUND = 1311
EL2008_PATTERN = 0x5A
#: SOEM gives a frame 2 ms to come back and may take a late reply for a newer request; on a
#: loaded test machine both ends run with real-time priority, as a master and slaves would.
REALTIME_PRIORITY = 10

IDENTITIES = [
    ("EK1100", 0x2, 0x044C2C52, 0x00120000),
    ("EL1008", 0x2, 0x03F03052, 0x00120000),
    ("EL2008", 0x2, 0x07D83052, 0x00120000),
    ("EL3102", 0x2, 0x0C1E3052, 0x00140000),
] + [("SimServo-402", 0x0, 0x402, 0x1)] * 4
# (input bytes, output bytes) per slave
SIZES = [(0, 0), (1, 0), (0, 1), (8, 0)] + [(17, 13)] * 4

CLIENT = r'''
import json, struct, sys, time
import pysoem

interface, status_path = sys.argv[1], sys.argv[2]
CYCLE_NS, RAMP_S, VELOCITY, PATTERN = (int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]),
                                       int(sys.argv[6]))
WATCHDOG_MS = 2000.0
STALL_S = 3 * CYCLE_NS / 1e9  # a gap between cycles this long is a stall of this machine
SETTLE_CYCLES = 20
report = {}
m = pysoem.Master()
m.open(interface)
report["found"] = m.config_init()
slaves = list(m.slaves)
report["slaves"] = [[s.name, s.man, s.id, s.rev] for s in slaves]
by_name = {}
for position, s in enumerate(slaves):
    by_name.setdefault(s.name, []).append(position)
drives = by_name["SimServo-402"]
el1008, el2008, el3102 = by_name["EL1008"][0], by_name["EL2008"][0], by_name["EL3102"][0]

# ---- SDO in PRE-OP
report["drive_names"] = [slaves[p].sdo_read(0x1008, 0).decode() for p in drives]
report["el3102_name"] = slaves[el3102].sdo_read(0x1008, 0).decode()
report["identity_1018"] = list(struct.unpack("<IIII", b"".join(
    slaves[drives[0]].sdo_read(0x1018, sub) for sub in range(1, 5))))
slaves[el3102].sdo_write(0x8010, 0x13, struct.pack("<h", 1000))       # channel 2 limit 1
slaves[el3102].sdo_write(0x8010, 0x07, b"\x01")                        # enable limit 1
report["el3102_limit"] = [struct.unpack("<h", slaves[el3102].sdo_read(0x8010, 0x13))[0],
                          slaves[el3102].sdo_read(0x8010, 0x07)[0]]
try:
    slaves[el3102].sdo_write(0x6000, 0x11, b"\x00\x00")                 # a read-only input
    report["readonly_abort"] = None
except pysoem.SdoError as exc:
    report["readonly_abort"] = exc.abort_code

# The test machine may stall a process for 100 ms or more (other tests run beside this one):
# a longer process data watchdog and no following error check on the drives keep such a
# stall from ending the session; cycles right after a stall are left out of the tracking.
for s in slaves:
    s.set_watchdog("processdata", WATCHDOG_MS)
for p in drives:
    slaves[p].sdo_write(0x6065, 0, struct.pack("<I", 0xFFFFFFFF))

# ---- DC, mapping, SAFE-OP
report["dc"] = bool(m.config_dc())
def activate_sync0(position):
    def hook(slave_position):
        slaves[position].dc_sync(1, CYCLE_NS)
    return hook
for p in drives:
    slaves[p].config_func = activate_sync0(p)
report["iomap"] = m.config_map()
report["sizes"] = [[len(s.input), len(s.output)] for s in slaves]
report["safeop"] = m.state_check(pysoem.SAFEOP_STATE, 3_000_000)
report["sync_mode"] = [[struct.unpack("<H", slaves[p].sdo_read(0x1C32, 1))[0],
                        struct.unpack("<I", slaves[p].sdo_read(0x1C32, 10))[0]] for p in drives]

period = CYCLE_NS / 1e9
deadline = [time.perf_counter()]
wkcs = []
stalled = [0, time.perf_counter()]  # cycles still to leave out, time of the last cycle
def cycle():
    now = time.perf_counter()
    if now - stalled[1] > STALL_S:
        stalled[0] = SETTLE_CYCLES
    stalled[1] = now
    m.send_processdata()
    wkc = m.receive_processdata(2000)
    wkcs.append(wkc)
    if wkc != m.expected_wkc:
        stalled[0] = SETTLE_CYCLES
    deadline[0] += period
    pause = deadline[0] - time.perf_counter()
    if pause > 0:
        time.sleep(pause)
    else:
        deadline[0] = time.perf_counter()

# ---- OP (SOEM sends process data once before requesting OP)
slaves[el2008].output = bytes([PATTERN])
m.state = pysoem.OP_STATE
cycle()
m.write_state()
for _ in range(1000):
    cycle()
    if m.state_check(pysoem.OP_STATE, 1000) == pysoem.OP_STATE:
        break
m.read_state()
report["op"] = [[s.state, s.al_status] for s in slaves]
report["expected_wkc"] = m.expected_wkc

def status():
    with open(status_path) as f:
        return json.load(f)
seen = None
end = time.monotonic() + 3.0
while time.monotonic() < end:
    cycle()
    snapshot = status()
    if snapshot["slaves"][el2008].get("outputs") == PATTERN:
        seen = snapshot
        break
report["status_in_op"] = seen
report["el1008_input"] = slaves[el1008].input[0]
report["el3102_input"] = list(struct.unpack("<HhHh", slaves[el3102].input))

# ---- CiA 402: enable in CSP, then follow a ramp
RX, TX = struct.Struct("<HiihB"), struct.Struct("<HiihbI")
def feedback(p):
    return TX.unpack(slaves[p].input)
def command(p, controlword, target):
    slaves[p].output = RX.pack(controlword, target, 0, 0, 8)
targets = {p: feedback(p)[1] for p in drives}
report["enable"] = []
for controlword, expected in ((0x06, 0x21), (0x07, 0x23), (0x0F, 0x27)):
    for _ in range(1000):
        for p in drives:
            command(p, controlword, targets[p])
        cycle()
        if all(feedback(p)[0] & 0x6F == expected for p in drives):
            break
    report["enable"].append([feedback(p)[0] for p in drives])
wkcs.clear()
errors = []
stalled[0] = 50  # the drives take up speed first
for k in range(int(RAMP_S / period)):
    for p in drives:
        targets[p] += int(VELOCITY * period)
        command(p, 0x0F, targets[p])
    cycle()
    if stalled[0]:
        stalled[0] -= 1
    else:
        errors.extend(abs(targets[p] - feedback(p)[1]) for p in drives)
report["ramp_cycles"] = len(wkcs)
report["tracked_cycles"] = len(errors) // len(drives)
report["wkc_mismatches"] = sum(1 for w in wkcs if w != m.expected_wkc)
report["max_tracking_error"] = max(errors)
report["final_feedback"] = [list(feedback(p)) for p in drives]
report["final_targets"] = [targets[p] for p in drives]
m.read_state()
report["end_states"] = [[s.state, s.al_status] for s in slaves]
report["status_end"] = status()
m.state = pysoem.INIT_STATE
m.write_state()
m.close()
print(json.dumps(report))
'''


@pytest.fixture(scope="module")
def session():
    """Run the simulator and one pysoem session; yield pysoem's report."""
    require_root()
    require_tool("ip", "iproute2")
    try:
        import pysoem  # noqa: F401
    except ImportError:
        require(False, "pysoem is not installed")
    realtime = [require_tool("chrt", "util-linux"), "--fifo", str(REALTIME_PRIORITY)]
    wire = VirtualWire.create()
    with tempfile.TemporaryDirectory() as tmp:
        status_path = Path(tmp) / "status.json"
        try:
            sim = start_simulator(wire, CHAIN, status_path, "--status-interval", "0.1",
                                  "--realtime", str(REALTIME_PRIORITY))
        except BaseException:
            wire.remove()
            raise
        try:
            client = wire.run("a", [*realtime, sys.executable, "-c", CLIENT, wire.interface["a"], str(status_path),
                                    str(CYCLE_NS), str(RAMP_S), str(VELOCITY), str(EL2008_PATTERN)],
                              timeout=60)
            assert client.returncode == 0, client.stderr[-4000:]
            report = json.loads(client.stdout.strip().splitlines()[-1])
        finally:
            out, err = stop_process(sim)
            wire.remove()
        report["sim_exit"] = sim.returncode
        report["sim_stdout"] = out
        report["sim_stderr"] = err
        yield report


def test_config_init_finds_every_slave_with_identity_and_sii_name(session):
    assert session["found"] == len(IDENTITIES)
    assert [tuple(s) for s in session["slaves"]] == IDENTITIES


def test_config_map_maps_the_pdos_with_the_expected_sizes(session):
    assert [tuple(s) for s in session["sizes"]] == SIZES
    assert session["iomap"] == sum(i + o for i, o in SIZES)
    # one LRW: every slave with outputs counts 2, every slave with inputs 1
    assert session["expected_wkc"] == 2 * sum(1 for i, o in SIZES if o) + sum(1 for i, o in SIZES if i)


def test_the_chain_reaches_safeop_and_op(session):
    assert session["safeop"] == 4
    assert session["op"] == [[8, 0]] * len(IDENTITIES)
    assert session["end_states"] == [[8, 0]] * len(IDENTITIES)


def test_sdo_upload_of_a_long_device_name_takes_segments(session):
    names = session["drive_names"]
    assert len(names[0]) > 128 - 6 - 10  # more than a normal upload holds in a 128-byte mailbox
    assert names[0].startswith("Simulated CiA 402 servo drive, axis 1 of 4")
    assert names[1:] == [f"Simulated CiA 402 servo drive, axis {n}" for n in (2, 3, 4)]
    assert session["el3102_name"] == "EL3102 2Ch. Ana. Input +/-10V, Diff."
    assert session["identity_1018"] == [0x0, 0x402, 0x1, 1001]


def test_sdo_download_and_upload_of_a_setting_and_abort_of_a_read_only_entry(session):
    assert session["el3102_limit"] == [1000, 1]
    assert session["readonly_abort"] == 0x06010002


def test_dc_sync0_puts_the_drives_in_dc_mode(session):
    assert session["dc"] is True
    assert session["sync_mode"] == [[2, CYCLE_NS]] * 4
    drives = [s for s in session["status_end"]["slaves"] if s["device"] == "SimServo-402"]
    assert [s["synchronisation"] for s in drives] == ["DC SYNC0"] * 4


def test_process_data_flows_both_ways(session):
    seen = session["status_in_op"]
    assert seen is not None, "the EL2008 never showed the outputs pysoem wrote"
    el2008 = next(s for s in seen["slaves"] if s["device"] == "EL2008")
    assert (el2008["outputs"], el2008["state"]) == (EL2008_PATTERN, "OP")
    assert session["el1008_input"] == 0xA5
    status1, value1, status2, value2 = session["el3102_input"]
    assert value2 == round(2.5 / 10 * 0x7FFF)  # channel 2: constant 2.5 V
    assert status2 & 0x000C == 0x0008  # limit 1 (bits 2-3) = 2: value above the limit
    assert abs(value1) <= round(5.0 / 10 * 0x7FFF) + 1  # channel 1: sine of 5 V amplitude


def test_drives_follow_a_csp_ramp(session):
    assert [[word & 0x6F for word in step] for step in session["enable"]] == [
        [0x21] * 4, [0x23] * 4, [0x27] * 4]
    assert session["tracked_cycles"] >= session["ramp_cycles"] // 2
    assert session["max_tracking_error"] <= TRACKING_BOUND
    for (statusword, position, *_), target in zip(session["final_feedback"], session["final_targets"]):
        assert statusword & 0x6F == 0x27 and statusword & 0x1000  # enabled, following the target
        assert not statusword & 0x0008  # no fault
        assert target >= RAMP_S * VELOCITY * 0.99
    # a frame may miss pysoem's 2 ms receive timeout when the machine is busy; many would mean
    # the simulator does not keep up
    assert session["wkc_mismatches"] <= session["ramp_cycles"] // 10


def test_the_simulator_exits_cleanly_on_sigterm(session):
    assert session["sim_exit"] == 0, session["sim_stderr"]
    assert session["sim_stdout"].startswith("ethercat-sim: 8 slaves (EK1100, EL1008, EL2008, EL3102")
