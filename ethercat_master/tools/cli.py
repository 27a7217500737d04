"""``ethercat-master``: the command-line tool.

Subcommands so far:

``decode FILE.pcap``
    Dissect a capture (made by ``capture``, by a link's recorder, or by Wireshark/tcpdump)
    into frames and datagrams: command, index, address, length, working counter, data.
``capture IF -o FILE.pcap``
    Record the EtherCAT frames seen on a network interface (needs CAP_NET_RAW), e.g. to
    watch another master's traffic or to keep evidence of a bus problem.

Every subcommand takes ``--json`` for machine-readable output.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Iterable, Optional, Sequence

from ..errors import EtherCATError, ProtocolError
from ..protocol.datagram import Addressing, Command, Datagram
from ..protocol.frame import ETHERTYPE_ETHERCAT, Frame, parse_ethernet
from ..transport import PcapRecorder, RawLink, read_pcap

__all__ = ["main", "dissect_pcap"]

#: Data bytes shown per datagram in the text listing (all of them in JSON).
SHOWN_DATA_BYTES = 16


def _datagram_dict(dg: Datagram) -> dict:
    cmd = dg.command
    name = cmd.name if isinstance(cmd, Command) else f"CMD{int(cmd)}"
    logical = isinstance(cmd, Command) and cmd.addressing is Addressing.LOGICAL
    d = {"command": name, "index": dg.index, "length": len(dg.data), "wkc": dg.wkc,
         "irq": dg.irq, "circulating": dg.circulating, "data": dg.data.hex()}
    if logical:
        d["logical_address"] = dg.address
    else:
        d["adp"], d["ado"] = dg.adp, dg.ado
    return d


def dissect_pcap(path: str) -> Iterable[dict]:
    """Yield one dict per frame of a pcap file: its number, time and datagrams, or the
    reason it does not decode (frames of other EtherTypes are skipped)."""
    first: Optional[int] = None
    for number, record in enumerate(read_pcap(path), 1):
        first = record.timestamp_ns if first is None else first
        entry: dict = {"frame": number, "time": (record.timestamp_ns - first) / 1e9}
        try:
            header, payload = parse_ethernet(record.frame)
            if header.ethertype != ETHERTYPE_ETHERCAT:
                continue
            entry["source"] = header.source.hex(":")
            entry["datagrams"] = [_datagram_dict(d) for d in Frame.decode(payload).datagrams]
        except ProtocolError as e:
            entry["error"] = str(e)
        yield entry


def _print_frame(entry: dict, out) -> None:
    head = f"#{entry['frame']:<5} {entry['time']:>12.6f}s"
    if "error" in entry:
        print(f"{head}  MALFORMED: {entry['error']}", file=out)
        return
    print(f"{head}  from {entry['source']}  {len(entry['datagrams'])} datagram(s)", file=out)
    for d in entry["datagrams"]:
        where = (f"0x{d['logical_address']:08X}   " if "logical_address" in d
                 else f"0x{d['adp']:04X}:0x{d['ado']:04X}")
        data = d["data"][:2 * SHOWN_DATA_BYTES] + ("..." if d["length"] > SHOWN_DATA_BYTES else "")
        print(f"    {d['command']:<5} idx 0x{d['index']:02X}  {where}  len {d['length']:<4} "
              f"wkc {d['wkc']:<3} {data}", file=out)


def _cmd_decode(args) -> int:
    frames = dissect_pcap(args.file)
    if args.json:
        json.dump(list(frames), sys.stdout, indent=1)
        print()
    else:
        for entry in frames:
            _print_frame(entry, sys.stdout)
    return 0


def _cmd_capture(args) -> int:
    link = RawLink(args.interface)
    count = 0
    deadline = None if args.duration is None else time.monotonic() + args.duration
    with link, PcapRecorder(args.output, source=link.mac) as recorder:
        link.record_to(recorder)
        try:
            while args.count is None or count < args.count:
                if deadline is not None and time.monotonic() >= deadline:
                    break
                if link.recv(0.2 if deadline is None else max(0.0, min(0.2, deadline - time.monotonic()))):
                    count += 1
        except KeyboardInterrupt:
            pass
    summary = {"interface": args.interface, "frames": count, "file": args.output}
    print(json.dumps(summary) if args.json else f"captured {count} frame(s) on {args.interface} "
          f"into {args.output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``ethercat-master``."""
    p = argparse.ArgumentParser(prog="ethercat-master", description="EtherCAT master tools")
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("decode", help="dissect the EtherCAT frames of a pcap file")
    d.add_argument("file")
    d.add_argument("--json", action="store_true", help="machine-readable output")
    d.set_defaults(func=_cmd_decode)
    c = sub.add_parser("capture", help="record EtherCAT frames seen on an interface to pcap")
    c.add_argument("interface")
    c.add_argument("-o", "--output", required=True, help="pcap file to write")
    c.add_argument("-c", "--count", type=int, help="stop after this many frames")
    c.add_argument("-d", "--duration", type=float, help="stop after this many seconds")
    c.add_argument("--json", action="store_true", help="machine-readable summary")
    c.set_defaults(func=_cmd_capture)
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``ethercat-master``; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except EtherCATError as e:
        print(f"ethercat-master {args.command}: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"ethercat-master {args.command}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
