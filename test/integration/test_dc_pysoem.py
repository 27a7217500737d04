"""Independent peer for the DC start-up: the propagation delays our master computes for a chain
equal those SOEM's ``ecx_configdc`` (pysoem ``Master.config_dc()``) writes to 0x0928, on the
same simulated chain over a veth pair.

``ethercat-sim`` serves config/sim_chain.yaml (an EK1100 junction with the E-bus terminals on
port 1 and four drives on port 2) in namespace b. In namespace a, pysoem runs ``config_init``
and ``config_dc`` and reads back each slave's system time delay register; then our master
(the raw link) scans, latches the receive times again and computes the delays with
:func:`~ethercat_master.master.dc.configure_dc` (no static drift frames). The chain's ESCs
have processing and forwarding delays that differ (320 / 280 ns), so the delays are not the
true arrival differences: both masters make the same symmetric assumption and must agree to
the nanosecond (1 ns allowed: the two latches read clocks that drift by up to 50 ppm, rounded).
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
REALTIME_PRIORITY = 10

SOEM_CLIENT = r'''
import json, struct, sys
import pysoem
m = pysoem.Master()
m.open(sys.argv[1])
found = m.config_init()
has_dc = bool(m.config_dc())
delays = [struct.unpack("<I", s._fprd(0x0928, 4, 20000))[0] for s in m.slaves]
offsets = [struct.unpack("<Q", s._fprd(0x0920, 8, 20000))[0] for s in m.slaves]
m.close()
print(json.dumps({"found": found, "dc": has_dc, "delays": delays, "offsets": offsets}))
'''

OUR_CLIENT = r'''
import json, sys
from ethercat_master.master.master import Master
from ethercat_master.master.dc import configure_dc, latch_receive_times
with Master("raw:" + sys.argv[1], bus_timeout=0.2) as m:
    m.scan()
    slaves = list(m.slaves)
    startup = configure_dc(m.bus, slaves, drift_frames=0)
    times = latch_receive_times(m.bus, slaves)
    print(json.dumps({"delays": [startup.delays.get(s.position) for s in slaves],
                      "parents": [[s.parent, s.parent_port] for s in slaves],
                      "reference": startup.reference.position,
                      "ports": {str(p): list(t.ports) for p, t in times.items()}}))
'''


@pytest.fixture(scope="module")
def reports():
    """Run the simulator, then pysoem's config_dc and our configure_dc on it."""
    require_root()
    require_tool("ip", "iproute2")
    try:
        import pysoem  # noqa: F401  (skip without it)
    except ImportError:
        require(False, "pysoem is not installed")
    realtime = [require_tool("chrt", "util-linux"), "--fifo", str(REALTIME_PRIORITY)]
    wire = VirtualWire.create()
    with tempfile.TemporaryDirectory() as tmp:
        status_path = Path(tmp) / "status.json"
        try:
            sim = start_simulator(wire, CHAIN, status_path, "--status-interval", "0.5",
                                  "--realtime", str(REALTIME_PRIORITY))
            try:
                results = {}
                for name, script in (("soem", SOEM_CLIENT), ("ours", OUR_CLIENT)):
                    client = wire.run("a", [*realtime, sys.executable, "-c", script, wire.interface["a"]], timeout=60)
                    assert client.returncode == 0, f"{name}: {client.stderr[-4000:]}"
                    results[name] = json.loads(client.stdout.strip().splitlines()[-1])
            finally:
                stop_process(sim)
        finally:
            wire.remove()
        yield results


def test_soem_configures_dc_on_the_simulated_chain(reports):
    soem = reports["soem"]
    assert soem["found"] == 8 and soem["dc"] is True
    assert soem["delays"][0] == 0  # the reference clock
    assert all(d > 0 for d in soem["delays"][1:])


def test_our_delays_equal_soems(reports):
    soem, ours = reports["soem"]["delays"], reports["ours"]["delays"]
    assert reports["ours"]["reference"] == 0
    assert len(ours) == len(soem) == 8
    print("delays ours", ours, "soem", soem)
    assert all(abs(a - b) <= 1 for a, b in zip(ours, soem)), (ours, soem)


def test_the_branch_behind_the_junction_is_measured_round_the_e_bus(reports):
    ours = reports["ours"]["delays"]
    parents = reports["ours"]["parents"]
    assert parents[4] == [0, 2]  # the first drive hangs from the coupler's port 2
    # the frame reaches it only after the E-bus terminals (positions 1-3) on port 1
    assert ours[4] > ours[3] > ours[2] > ours[1] > 0
