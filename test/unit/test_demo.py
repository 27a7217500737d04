"""The README's main command: the demo probes a simulated segment and reports what it saw."""

from __future__ import annotations

from ethercat_master.tools.demo import main
from ethercat_master.transport import read_pcap


def test_demo_probes_the_simulated_segment(tmp_path, capsys):
    pcap = tmp_path / "demo.pcap"
    assert main(["--slaves", "3", "--cycles", "50", "--period", "0.2", "--pcap", str(pcap)]) == 0
    out = capsys.readouterr().out
    assert "working counter 3: 3 slave(s) answer" in out
    assert "position 2 -> 0x1003 (WKC 1)" in out
    assert "request OP     -> refused: state INIT, AL status code 0x0011" in out
    assert "request PREOP  -> accepted: state PREOP" in out
    assert "50 LRW cycles at 0.2 ms: working counter 9 expected, 0 mismatches, 0 lost" in out
    assert "last outputs seen by the slaves' RAM: [49, 50, 51]" in out  # cycle 49 wrote 49+position
    assert len(list(read_pcap(pcap))) == 2 * (1 + 3 + 6 + 4 + 3 + 50)  # every request and its reply
