"""``ethercat-sim``: serve a simulated slave chain, described in a YAML chain file, on a network
interface (raw Ethernet) and/or on UDP (EtherCAT in UDP, port 0x88A4 by convention).

::

    ethercat-sim --interface eth1 --chain config/sim_chain.yaml [--udp 127.0.0.1:34980]
                 [--verbose] [--status-file status.json] [--status-interval 0.2] [--realtime 10]

At start it prints one line describing the chain; with ``--verbose`` a line of frame counters
every second. ``--status-file`` keeps a JSON snapshot of the chain up to date (written
atomically every ``--status-interval`` seconds and at exit): frame counters and, per slave in
processing order, its label, device, station address, AL state and code, and its
application's status (EL1008 inputs, EL2008 output pins, EL3102 values, drive state and
position). ``--realtime PRIORITY`` runs the simulator with SCHED_FIFO: masters such as SOEM
give a frame 2 ms to return, which a Python simulator on a busy machine misses without it.
``--control SOCKET`` accepts topology commands on a UNIX stream socket, one line per
connection, answered with one line (``ok ...`` or ``error ...``): ``power_off N``,
``power_on N``, ``disconnect N`` (the cable into port 0 of the slave at bus position ``N`` as
the chain starts), ``reconnect N`` — how a test unplugs a slave while a master runs.
SIGINT and SIGTERM stop it cleanly (exit status 0); a bad chain file exits with status 2, a link
that cannot be opened with 1 and a real-time priority that cannot be set with 3, each with a
one-line message. Also runnable as ``python -m ethercat_master.sim.cli``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Optional, Sequence

from ..errors import ConfigError, LinkError
from ..transport.link import Buffer, Link
from ..transport.raw import RawLink
from ..transport.udp import UdpLink
from .chain import ChainServer, Delivery
from .chain_config import LoadedChain, load_chain
from .faults import FaultyWire
from .slave import SimulatedSlave

__all__ = ["main", "status_snapshot"]

PROGRAM = "ethercat-sim"
#: Exit status for a chain file that does not validate.
EXIT_CONFIG = 2
#: Exit status for a link that cannot be opened or failed.
EXIT_LINK = 1
#: Exit status when ``--realtime`` cannot be honoured.
EXIT_REALTIME = 3
_COUNTER_PERIOD_S = 1.0
_DEFAULT_STATUS_INTERVAL_S = 0.2


class _SharedWire:
    """One :class:`FaultyWire` used by several servers: transmissions take turns."""

    def __init__(self, wire: FaultyWire) -> None:
        self._wire = wire
        self._lock = threading.Lock()

    def transmit(self, payload: Buffer) -> Sequence[Delivery]:
        with self._lock:
            return self._wire.transmit(payload)


def status_snapshot(loaded: LoadedChain, servers: Sequence[ChainServer]) -> dict[str, Any]:
    """The chain as the status file shows it (see the module documentation)."""
    chain = loaded.chain
    with chain.lock:
        slaves = []
        for position, number in enumerate(chain.processing_order):
            esc = chain[number]
            entry: dict[str, Any] = {"position": position, "slave": number, "label": loaded.labels[number]}
            if isinstance(esc, SimulatedSlave):
                entry.update(esc.status())
            slaves.append(entry)
        frames = {
            "received": sum(server.frames_received for server in servers),
            "replied": sum(server.frames_replied for server in servers),
            "dropped": sum(server.frames_dropped for server in servers),
            "processed": chain.frames_processed,
            "lost": chain.frames_lost,
        }
    return {"time": time.time(), "frames": frames, "slaves": slaves}


def _write_status(path: Path, snapshot: dict[str, Any]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(snapshot, indent=1), encoding="utf-8")
    os.replace(temporary, path)


def _udp_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) <= 0xFFFF:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, e.g. 127.0.0.1:34980, got {text!r}")
    return host, int(port)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROGRAM, description="Serve a simulated EtherCAT slave chain.")
    parser.add_argument("--chain", required=True, type=Path, help="YAML chain file")
    parser.add_argument("--interface", help="network interface to serve on (raw Ethernet, needs CAP_NET_RAW)")
    parser.add_argument("--udp", type=_udp_address, metavar="HOST:PORT", help="also/instead serve EtherCAT over UDP")
    parser.add_argument("--verbose", "-v", action="store_true", help="print frame counters every second")
    parser.add_argument("--status-file", type=Path, help="keep a JSON snapshot of the chain in this file")
    parser.add_argument("--status-interval", type=float, default=_DEFAULT_STATUS_INTERVAL_S, metavar="SECONDS",
                        help=f"how often the status file is written (default {_DEFAULT_STATUS_INTERVAL_S})")
    parser.add_argument("--realtime", type=int, metavar="PRIORITY",
                        help="run with SCHED_FIFO at this priority (1-99; needs root or CAP_SYS_NICE)")
    parser.add_argument("--control", type=Path, metavar="SOCKET",
                        help="accept power_off/power_on/disconnect/reconnect N on this UNIX socket")
    return parser


#: Longest control command line accepted.
_CONTROL_LINE = 256


class _Control:
    """The ``--control`` socket: topology commands for the chain, one per connection."""

    def __init__(self, path: Path, loaded: LoadedChain) -> None:
        chain = loaded.chain
        self._chain = chain
        #: Bus position at start -> topology number (positions shift when a slave drops out).
        self._numbers = list(chain.processing_order)
        self._actions = {"power_off": chain.power_off, "power_on": chain.power_on,
                         "disconnect": chain.disconnect, "reconnect": chain.reconnect}
        self._path = path
        if path.exists():
            path.unlink()
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._socket.bind(str(path))
        self._socket.listen(4)
        self._socket.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{PROGRAM} control", daemon=True)
        self._thread.start()

    def execute(self, line: str) -> str:
        """Run one command line; the reply line."""
        words = line.split()
        if len(words) != 2 or words[0] not in self._actions or not words[1].isdigit():
            return f"error: expected one of {', '.join(self._actions)} and a bus position, got {line!r}"
        position = int(words[1])
        if position >= len(self._numbers):
            return f"error: no slave at position {position} (the chain has {len(self._numbers)})"
        self._actions[words[0]](self._numbers[position])
        return f"ok {words[0]} {position}"

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._socket.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with connection:
                connection.settimeout(1.0)
                try:
                    line = connection.recv(_CONTROL_LINE).decode("utf-8", "replace").strip()
                    connection.sendall((self.execute(line) + "\n").encode())
                except OSError:
                    continue

    def close(self) -> None:
        """Stop accepting and remove the socket."""
        self._stop.set()
        self._socket.close()
        self._thread.join(1.0)
        if self._path.exists():
            self._path.unlink()


def _set_realtime(priority: int) -> Optional[str]:
    """Switch the process to SCHED_FIFO at ``priority``; the reason when that is not possible."""
    low, high = os.sched_get_priority_min(os.SCHED_FIFO), os.sched_get_priority_max(os.SCHED_FIFO)
    if not low <= priority <= high:
        return f"--realtime priority {priority} is outside {low}..{high}"
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
    except PermissionError:
        return "no permission for SCHED_FIFO (run as root or grant CAP_SYS_NICE)"
    return None


def _summary(loaded: LoadedChain, links: Sequence[Link]) -> str:
    chain = loaded.chain
    devices = ", ".join(
        esc.description.order_code if isinstance(esc, SimulatedSlave) else esc.name for esc in chain.escs)
    faults = "with faults" if loaded.fault_plan is not None else "no faults"
    return (f"{PROGRAM}: {len(chain)} slaves ({devices}) on {', '.join(link.name for link in links)}, "
            f"{faults}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the simulator until SIGINT or SIGTERM; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.interface is None and args.udp is None:
        _parser().error("give --interface and/or --udp")
    if args.status_interval <= 0:
        _parser().error("--status-interval must be positive")
    if args.realtime is not None:
        problem = _set_realtime(args.realtime)
        if problem is not None:
            print(f"{PROGRAM}: {problem}", file=sys.stderr)
            return EXIT_REALTIME
    try:
        loaded = load_chain(args.chain)
    except ConfigError as exc:
        print(f"{PROGRAM}: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    links: list[Link] = []
    try:
        if args.interface is not None:
            links.append(RawLink(args.interface))
        if args.udp is not None:
            links.append(UdpLink(args.udp, None))
    except LinkError as exc:
        for link in links:
            link.close()
        print(f"{PROGRAM}: {exc}", file=sys.stderr)
        return EXIT_LINK
    return _serve(loaded, links, args)


def _serve(loaded: LoadedChain, links: Sequence[Link], args: argparse.Namespace) -> int:
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda number, frame: stop.set())
    wire = None if loaded.fault_plan is None else _SharedWire(FaultyWire(loaded.chain, loaded.fault_plan))
    servers = [ChainServer(loaded.chain, link, wire=wire, name=f"{PROGRAM} {link.name}") for link in links]
    control = None if args.control is None else _Control(args.control, loaded)
    print(_summary(loaded, links), flush=True)
    status = 0
    try:
        for server in servers:
            server.start()
        next_counters = time.monotonic() + _COUNTER_PERIOD_S
        last_received = 0
        while not stop.is_set():
            if args.status_file is not None:
                _write_status(args.status_file, status_snapshot(loaded, servers))
            if any(not server.running for server in servers):
                break  # a server died: stop() below re-raises its error
            now = time.monotonic()
            if args.verbose and now >= next_counters:
                received = sum(server.frames_received for server in servers)
                replied = sum(server.frames_replied for server in servers)
                print(f"{PROGRAM}: {received - last_received} frames/s, received {received}, replied {replied}, "
                      f"lost {loaded.chain.frames_lost}", flush=True)
                last_received = received
                next_counters = now + _COUNTER_PERIOD_S
            stop.wait(min(args.status_interval, max(next_counters - now, 0.0)) if args.verbose
                      else args.status_interval)
    finally:
        for server in servers:
            try:
                server.stop()
            except LinkError as exc:
                print(f"{PROGRAM}: {exc}", file=sys.stderr)
                status = EXIT_LINK
        for link in links:
            link.close()
        if control is not None:
            control.close()
        if args.status_file is not None:
            _write_status(args.status_file, status_snapshot(loaded, servers))
    return status


if __name__ == "__main__":
    sys.exit(main())
