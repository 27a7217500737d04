"""The main demo: a simulated EtherCAT segment, probed over a real UDP socket frame by frame.

Until the master core and the ROS node exist, this is the best real thing the project runs:
the simulator serves a chain of slave controllers on EtherCAT-over-UDP (loopback, no root
needed), and the demo talks to it with the project's own frames and datagrams, the way a
master starts a bus:

1. count the slaves with a broadcast read (the working counter is the count);
2. read each slave's ESC identity by auto-increment position;
3. assign configured station addresses and read them back by station address;
4. walk the AL state machine, including a refused transition with its AL status code;
5. map one byte of each slave into a logical process image with FMMUs and run cyclic LRW
   exchanges, checking the working counter and measuring round trips;
6. record every frame to a pcap file that Wireshark (or ``ethercat-master decode``) opens.

Run: ``./dev demo`` (or ``python -m ethercat_master.tools.demo --slaves 6 --cycles 2000``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from ..protocol.al_status import ALState, al_status_text
from ..protocol.datagram import Command, Datagram, position_address, station_address
from ..protocol.frame import Frame, FrameBuilder
from ..protocol.registers import AlControl, AlStatusBlock, EscIdentity, FmmuEntry, Register, fmmu_address
from ..sim import ChainServer, Esc, SlaveChain
from ..transport import PcapRecorder, UdpLink

FIRST_STATION = 0x1001
LOGICAL_BASE = 0x00010000
PROCESS_BYTE = 0x1000  # first byte of each slave's process data RAM
REPLY_TIMEOUT = 0.5


class Probe:
    """Sends single datagrams and waits for the matching reply (demo-sized, not the master)."""

    def __init__(self, link: UdpLink):
        self.link = link
        self.index = 0

    def exchange(self, command: Command, address: int, data: bytes) -> Datagram:
        self.index = (self.index + 1) & 0xFF
        self.link.send(Frame([Datagram(command, self.index, address, data)]).encode())
        reply = self.link.recv(REPLY_TIMEOUT)
        if reply is None:
            raise SystemExit(f"no reply to {command.name} within {REPLY_TIMEOUT} s")
        (dg,) = Frame.decode(reply).datagrams
        return dg


def _say(text: str = "") -> None:
    print(text, flush=True)


def run(slaves: int, cycles: int, period: float, pcap: str) -> int:
    chain = SlaveChain(Esc(name=f"slave{i}", revision=i) for i in range(slaves))
    sim_end = UdpLink(("127.0.0.1", 0))
    master = UdpLink(remote=sim_end.address)
    recorder = PcapRecorder(pcap)
    master.record_to(recorder)
    probe = Probe(master)
    with ChainServer(chain, sim_end), master, recorder:
        _say(f"simulated segment of {slaves} ESCs serving EtherCAT-over-UDP on "
             f"{sim_end.address[0]}:{sim_end.address[1]}\n")

        count = probe.exchange(Command.BRD, Register.TYPE << 16, bytes(1)).wkc
        _say(f"[1] BRD 0x0000 -> working counter {count}: {count} slave(s) answer")

        _say("[2] identity by auto-increment position (APRD 0x0000, 10 bytes)")
        for pos in range(count):
            ident = EscIdentity.decode(probe.exchange(Command.APRD, position_address(pos, Register.TYPE),
                                                      bytes(EscIdentity.SIZE)).data)
            ports = ",".join(p.name for p in ident.port_descriptor.ports)
            _say(f"    position {pos}: ESC type 0x{ident.esc_type:02X} rev {ident.revision}  "
                 f"{ident.fmmu_count} FMMUs  {ident.sync_manager_count} SMs  {ident.ram_size_kib} KiB RAM  "
                 f"ports {ports}  features 0x{int(ident.features.flags):04X}")

        _say("[3] configured station addresses (APWR 0x0010, read back with FPRD)")
        for pos in range(count):
            station = FIRST_STATION + pos
            probe.exchange(Command.APWR, position_address(pos, Register.CONFIGURED_STATION_ADDRESS),
                           station.to_bytes(2, "little"))
            back = probe.exchange(Command.FPRD, station_address(station, Register.CONFIGURED_STATION_ADDRESS), bytes(2))
            _say(f"    position {pos} -> 0x{int.from_bytes(back.data, 'little'):04X} (WKC {back.wkc})")

        _say("[4] AL state machine")
        first = station_address(FIRST_STATION, Register.AL_CONTROL)
        status_of = station_address(FIRST_STATION, Register.AL_STATUS)
        for request in (ALState.OP, ALState.PREOP):
            probe.exchange(Command.FPWR, first, AlControl(request, error_ack=True).encode())
            block = AlStatusBlock.decode(probe.exchange(Command.FPRD, status_of, bytes(AlStatusBlock.SIZE)).data)
            verdict = "refused" if block.status.error else "accepted"
            _say(f"    slave 0x{FIRST_STATION:04X}: request {request.name:<6} -> {verdict}: state "
                 f"{ALState(block.status.state).name}, AL status code 0x{block.status_code:04X} "
                 f"({al_status_text(block.status_code)})")

        _say(f"[5] process image: one byte of each slave mapped by an FMMU at logical 0x{LOGICAL_BASE:08X}")
        for pos in range(count):
            fmmu = FmmuEntry(logical_start=LOGICAL_BASE + pos, length=1, physical_start=PROCESS_BYTE,
                             read=True, write=True, active=True)
            probe.exchange(Command.FPWR, station_address(FIRST_STATION + pos, fmmu_address(0)), fmmu.encode())
        builder = FrameBuilder()
        lrw = builder.add(Command.LRW, LOGICAL_BASE, count)
        expected_wkc = 3 * count  # every slave reads and writes its byte
        rtts, bad_wkc, lost = [], 0, 0
        next_cycle = time.monotonic()
        for n in range(cycles):
            lrw.data[:] = bytes((n + pos) & 0xFF for pos in range(count))
            lrw.wkc = 0
            lrw.index = n & 0xFF
            t0 = time.perf_counter_ns()
            master.send(builder.payload())
            reply = master.recv(REPLY_TIMEOUT)
            if reply is None:
                lost += 1
                continue
            rtts.append((time.perf_counter_ns() - t0) / 1e3)
            if lrw.reply_wkc(reply) != expected_wkc:
                bad_wkc += 1
            next_cycle += period
            time.sleep(max(0.0, next_cycle - time.monotonic()))
        outputs = [chain[pos].pdi_read(PROCESS_BYTE, 1)[0] for pos in range(count)]
        _say(f"    {cycles} LRW cycles at {period * 1e3:.1f} ms: working counter {expected_wkc} expected, "
             f"{bad_wkc} mismatches, {lost} lost")
        if rtts:
            q = statistics.quantiles(rtts, n=100)
            _say(f"    round trip over UDP loopback: p50 {q[49]:.0f} us  p99 {q[98]:.0f} us  max {max(rtts):.0f} us")
        _say(f"    last outputs seen by the slaves' RAM: {outputs}")
    _say(f"\n[6] {recorder.count} frames recorded to {pcap}; dissect with: ethercat-master decode {pcap}")
    return 0 if bad_wkc == 0 and lost == 0 else 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--slaves", type=int, default=6, help="number of simulated slaves (default 6)")
    p.add_argument("--cycles", type=int, default=1000, help="cyclic LRW exchanges (default 1000)")
    p.add_argument("--period", type=float, default=1.0, help="cycle period in ms (default 1.0)")
    p.add_argument("--pcap", default=os.path.join(tempfile.gettempdir(), "ethercat_master_demo.pcap"),
                   help="where to record the frames")
    args = p.parse_args(argv)
    if not 1 <= args.slaves <= 256:
        p.error("--slaves must be 1..256")
    return run(args.slaves, args.cycles, args.period / 1e3, args.pcap)


if __name__ == "__main__":
    sys.exit(main())
