"""``ethercat-master``: the command-line tool, in the spirit of IgH's ``ethercat``.

Captures:

``decode FILE.pcap``
    Dissect a capture (made by ``capture``, by a link's recorder, or by Wireshark/tcpdump)
    into frames and datagrams: command, index, address, length, working counter, data.
``capture IF -o FILE.pcap``
    Record the EtherCAT frames seen on a network interface (needs CAP_NET_RAW), e.g. to
    watch another master's traffic or to keep evidence of a bus problem.

The bus (each command is a master of its own: it opens the link, does its work, and leaves the
slaves in the state it reached; ``--link SPEC`` names the link: an interface name, ``raw:IF``
or ``udp:HOST:PORT``; ``--sim CHAIN.yaml`` serves a simulated chain in this process instead):

``slaves [-v]``
    Scan the bus (which resets every slave to INIT, as a master's start-up does) and list the
    slaves: position, station address, alias, state, name, identity; ``-v`` adds ESC, ports,
    mailbox and protocols.
``states [--set STATE] [--position N]``
    Read the AL state and AL status code of every slave (or one) by position, without
    resetting anything; with ``--set``, scan and bring the slaves (or one) to STATE step by
    step (mailboxes are configured on the way to PRE-OP).
``sii dump --position N [--raw | --json] [-o FILE]`` / ``sii write --position N FILE --force``
    Read a slave's SII EEPROM (parsed, or the raw image), or write a whole image (checked to
    parse and to carry a valid checksum; ``--force`` is required because a wrong image can
    make the slave unusable).
``sdo upload|download|list --position N ...``
    CoE SDO transfers (typed with ``--type``, raw octets otherwise; complete access with
    ``--complete-access``) and the SDO information dictionary listing, in PRE-OP.
``pdos --position N``
    The PDO assignment and mapping read over CoE (0x1C00, 0x1C1x, the mapping objects), or the
    PDOs of the SII for slaves without CoE.
``reg read|write --position N ...``
    Read or write ESC registers by position (APRD/APWR, no scan) or ``--station``.
``foe read|write --position N ...``
    FoE file transfer in PRE-OP (``--boot``: in BOOT), with a progress bar on a terminal.
``soak mailbox ...``
    The mailbox soak (``mailbox_soak_demo``, see :mod:`~ethercat_master.tools.soak`).
``soak dc ...``
    The distributed clocks soak (``dc_soak_demo``, see :mod:`~ethercat_master.tools.dc_soak`).

Every subcommand takes ``--json`` for machine-readable output. An error prints one line (the
error's own message) and exits with status 1; a usage error (no such slave, a value that does
not parse) exits with status 2.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Optional, Sequence

from ..errors import EtherCATError, ProtocolError, SdoAbort
from . import dc_soak
from .values import data_type_from_name, parse_value, show_value
from ..master.bus import DEFAULT_TIMEOUT
from ..master.coe import CoEClient
from ..master.mailbox import MailboxPolicy, StatusMode
from ..master.master import Master
from ..master.slave_info import MailboxArea, SlaveInfo
from ..protocol.al_status import ALState, state_name
from ..protocol.coe import DataType, ObjectAccess, ValueInfo, encode_value
from ..protocol.datagram import Addressing, Command, Datagram
from ..protocol.frame import ETHERTYPE_ETHERCAT, Frame, parse_ethernet
from ..protocol.registers import AlStatusBlock, PortType
from ..protocol.sii import CoeDetails, MailboxProtocols, SiiImage, SiiPdo, SyncManagerType
from ..transport import PcapRecorder, RawLink, read_pcap
from . import soak

__all__ = ["main", "build_parser", "dissect_pcap"]

PROGRAM = "ethercat-master"
#: Data bytes shown per datagram in the text listing (all of them in JSON).
SHOWN_DATA_BYTES = 16
#: Exit status of an error on the bus or the link, and of a usage error.
EXIT_ERROR = 1
EXIT_USAGE = 2
_BITS_PER_OCTET = 8
_MAX_INDEX = 0xFFFF
_MAX_SUBINDEX = 0xFF
#: PDO assignment objects: 0x1C00 lists the sync manager types, 0x1C10 + n assigns SM n.
_SM_TYPES = 0x1C00
_PDO_ASSIGN_BASE = 0x1C10
_PROCESS_DATA_TYPES = {int(SyncManagerType.PROCESS_DATA_OUT): "outputs", int(SyncManagerType.PROCESS_DATA_IN): "inputs"}
#: A PDO mapping entry: index << 16 | subindex << 8 | bit length.
_MAPPING_INDEX_SHIFT = 16
_MAPPING_SUBINDEX_SHIFT = 8
_BYTE_MASK = 0xFF
#: Progress output: redraw interval on a terminal, line interval otherwise.
_TTY_PROGRESS_S = 0.1
_PLAIN_PROGRESS_S = 1.0
_BAR_WIDTH = 30
#: Bytes per line of a register dump.
_DUMP_WIDTH = 16

# =========================================================================== captures
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


# ====================================================================== bus: helpers
@contextlib.contextmanager
def _master(args: argparse.Namespace) -> Iterator[Master]:
    """The master the options name: on ``--link SPEC``, or on the ``--sim`` chain served in
    this process."""
    policy = MailboxPolicy(status_mode=StatusMode(args.status_mode))
    if args.sim is None:
        timeout = DEFAULT_TIMEOUT if args.bus_timeout is None else args.bus_timeout
        with Master(args.link, bus_timeout=timeout, mailbox_policy=policy) as master:
            yield master
        return
    timeout = soak.SIMULATOR_BUS_TIMEOUT_S if args.bus_timeout is None else args.bus_timeout
    with soak.InProcessSimulator(args.sim) as simulator, \
            Master(simulator.link, bus_timeout=timeout, mailbox_policy=policy) as master:
        yield master


def _emit(args: argparse.Namespace, data: Any, text: Callable[[], Iterable[str]]) -> None:
    """Print ``data`` as JSON with ``--json``, else the lines ``text()`` gives."""
    if args.json:
        print(json.dumps(data, indent=1))
    else:
        for line in text():
            print(line)


def _number(text: str, what: str, maximum: int) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a number (decimal or 0x hex)") from None
    if not 0 <= value <= maximum:
        raise ValueError(f"{what} {text} is outside 0..0x{maximum:X}")
    return value


def _json_value(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return str(value)


def _flags(flags: Any, kind: type) -> list[str]:
    return [member.name for member in kind if member in flags]


def _state_dict(position: int, block: AlStatusBlock, slave: Optional[SlaveInfo] = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"position": position}
    if slave is not None:
        entry["name"] = slave.name
    entry.update(state=state_name(int(block.status.state)), error=block.status.error,
                 al_status_code=block.status_code, al_status_text=block.text)
    return entry


def _state_line(entry: dict[str, Any]) -> str:
    state = entry["state"] + ("+ERR" if entry["error"] else "")
    code = f"  AL status code 0x{entry['al_status_code']:04X} ({entry['al_status_text']})" \
        if entry["al_status_code"] else ""
    name = f"  {entry['name']}" if "name" in entry else ""
    return f"{entry['position']:>3}  {state}{name}{code}"


# ============================================================================= slaves
def _area(area: Optional[MailboxArea]) -> Optional[dict[str, int]]:
    return None if area is None else {"offset": area.offset, "size": area.size}


def _slave_dict(slave: SlaveInfo, verbose: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "position": slave.position, "station_address": slave.station_address, "alias": slave.alias,
        "state": state_name(int(slave.state)), "name": slave.name, "order": slave.order,
        "vendor_id": slave.vendor_id, "product_code": slave.product_code, "revision": slave.revision,
        "serial": slave.serial,
    }
    if not verbose:
        return entry
    general = slave.sii.general
    esc = slave.esc
    entry.update(
        group=slave.group,
        al_status_code=slave.al_status.status_code,
        esc={"type": esc.esc_type, "revision": esc.revision, "build": esc.build, "fmmus": esc.fmmu_count,
             "sync_managers": esc.sync_manager_count, "ram_kib": esc.ram_size_kib, "dc": slave.dc_supported},
        ports=[{"port": port, "type": kind.name if isinstance(kind, PortType) else int(kind),
                "link": slave.dl_status.physical_link(port), "loop_closed": slave.dl_status.loop_closed(port),
                "communication": slave.dl_status.communication(port)}
               for port, kind in enumerate(esc.port_descriptor.ports)],
        parent=slave.parent, parent_port=slave.parent_port,
        mailbox={"out": _area(slave.mailbox_out), "in": _area(slave.mailbox_in),
                 "bootstrap_out": _area(slave.bootstrap_mailbox_out),
                 "bootstrap_in": _area(slave.bootstrap_mailbox_in),
                 "protocols": _flags(slave.mailbox_protocols, MailboxProtocols),
                 "coe_details": _flags(general.coe_details, CoeDetails) if general is not None else []},
        sii_checksum_ok=slave.sii_checksum_ok,
    )
    return entry


def _slave_lines(entries: Sequence[dict[str, Any]], verbose: bool) -> Iterator[str]:
    for e in entries:
        yield (f"{e['position']:>3}  0x{e['station_address']:04X}  alias 0x{e['alias']:04X}  {e['state']:<6}  "
               f"{e['name']}  (vendor 0x{e['vendor_id']:08X} product 0x{e['product_code']:08X} "
               f"revision 0x{e['revision']:08X} serial {e['serial']})")
        if not verbose:
            continue
        esc, mailbox = e["esc"], e["mailbox"]
        yield f"       order {e['order'] or '-'}, group {e['group'] or '-'}, SII checksum " \
              f"{'ok' if e['sii_checksum_ok'] else 'WRONG'}"
        yield (f"       ESC type 0x{esc['type']:02X} rev {esc['revision']} build {esc['build']}, {esc['fmmus']} FMMUs, "
               f"{esc['sync_managers']} SMs, {esc['ram_kib']} KiB RAM, DC {'yes' if esc['dc'] else 'no'}")
        ports = ", ".join(
            f"{p['port']}:{p['type']}{' link' if p['link'] else ''}{' closed' if p['loop_closed'] else ''}"
            for p in e["ports"] if p["type"] != PortType.NOT_IMPLEMENTED.name)
        parent = "master" if e["parent"] is None else f"position {e['parent']} port {e['parent_port']}"
        yield f"       ports {ports}; cabled to {parent}"
        if mailbox["out"] is None:
            yield "       no mailbox"
            continue
        yield (f"       mailbox out 0x{mailbox['out']['offset']:04X}/{mailbox['out']['size']}, in "
               f"0x{mailbox['in']['offset']:04X}/{mailbox['in']['size']}; {' '.join(mailbox['protocols']) or '-'}; "
               f"CoE {' '.join(mailbox['coe_details']) or '-'}")


def _cmd_slaves(args) -> int:
    with _master(args) as master:
        entries = [_slave_dict(slave, args.verbose) for slave in master.scan()]
    _emit(args, entries, lambda: _slave_lines(entries, args.verbose))
    return 0


# ============================================================================= states
def _cmd_states(args) -> int:
    with _master(args) as master:
        if args.set is None:
            if args.position is None:
                entries = [_state_dict(p, block) for p, block in enumerate(master.read_states())]
            else:
                entries = [_state_dict(args.position, master.read_state(args.position))]
        else:
            master.scan()
            blocks = master.request_state(args.set, args.position)
            slaves = list(master.slaves) if args.position is None else [master.slave(args.position)]
            entries = [_state_dict(s.position, block, s) for s, block in zip(slaves, blocks)]
    _emit(args, entries, lambda: map(_state_line, entries))
    return 0


# ================================================================================ SII
def _sii_string(image: SiiImage, index: int) -> str:
    try:
        return image.string(index)
    except ProtocolError:
        return ""


def _pdo_dict(image: SiiImage, pdo: SiiPdo) -> dict[str, Any]:
    return {"index": pdo.index, "name": _sii_string(image, pdo.name_idx), "sync_manager": pdo.sync_manager,
            "entries": [{"index": e.index, "subindex": e.subindex, "bit_length": e.bit_length,
                         "name": _sii_string(image, e.name_idx), "data_type": e.data_type} for e in pdo.entries]}


def _sii_dict(position: int, data: bytes) -> dict[str, Any]:
    image = SiiImage.parse(data)
    info = image.info
    return {
        "position": position, "size": len(data), "checksum_ok": info.checksum_ok,
        "identity": {"vendor_id": info.vendor_id, "product_code": info.product_code,
                     "revision": info.revision_number, "serial": info.serial_number},
        "alias": info.configured_station_alias,
        "mailbox": {"standard_out": [info.standard_receive_mailbox_offset, info.standard_receive_mailbox_size],
                    "standard_in": [info.standard_send_mailbox_offset, info.standard_send_mailbox_size],
                    "bootstrap_out": [info.bootstrap_receive_mailbox_offset, info.bootstrap_receive_mailbox_size],
                    "bootstrap_in": [info.bootstrap_send_mailbox_offset, info.bootstrap_send_mailbox_size],
                    "protocols": _flags(info.mailbox_protocols, MailboxProtocols)},
        "eeprom_bytes": info.eeprom_bytes,
        "strings": list(image.strings),
        "sync_managers": [{"start": sm.physical_start_address, "length": sm.length, "control": sm.control,
                           "enable": int(sm.enable), "type": int(sm.sync_manager_type)} for sm in image.sync_managers],
        "fmmus": [int(usage) for usage in image.fmmus],
        "tx_pdos": [_pdo_dict(image, pdo) for pdo in image.tx_pdos],
        "rx_pdos": [_pdo_dict(image, pdo) for pdo in image.rx_pdos],
        "dc_op_modes": [{"name": _sii_string(image, mode.name_idx), "assign_activate": mode.assign_activate,
                         "cycle_time_sync0": mode.cycle_time_sync0} for mode in image.dc_op_modes],
        "data": data.hex(),
    }


def _sii_lines(d: dict[str, Any]) -> Iterator[str]:
    identity, mailbox = d["identity"], d["mailbox"]
    yield (f"SII of position {d['position']}: {d['size']} bytes (EEPROM {d['eeprom_bytes']} bytes), checksum "
           f"{'ok' if d['checksum_ok'] else 'WRONG'}, alias 0x{d['alias']:04X}")
    yield (f"identity: vendor 0x{identity['vendor_id']:08X} product 0x{identity['product_code']:08X} "
           f"revision 0x{identity['revision']:08X} serial {identity['serial']}")
    for name in ("standard_out", "standard_in", "bootstrap_out", "bootstrap_in"):
        offset, size = mailbox[name]
        yield f"mailbox {name.replace('_', ' ')}: 0x{offset:04X}/{size}"
    yield f"mailbox protocols: {' '.join(mailbox['protocols']) or '-'}"
    for number, text in enumerate(d["strings"], 1):
        yield f"string {number}: {text}"
    for index, sm in enumerate(d["sync_managers"]):
        yield (f"SM{index}: start 0x{sm['start']:04X} length {sm['length']} control 0x{sm['control']:02X} "
               f"enable 0x{sm['enable']:02X} type {sm['type']}")
    yield f"FMMUs: {d['fmmus']}"
    for kind in ("rx_pdos", "tx_pdos"):
        for pdo in d[kind]:
            yield f"{kind[:2].upper()}PDO 0x{pdo['index']:04X} \"{pdo['name']}\" SM{pdo['sync_manager']}"
            for e in pdo["entries"]:
                yield f"    0x{e['index']:04X}:{e['subindex']:02X} {e['bit_length']} bit \"{e['name']}\""
    for mode in d["dc_op_modes"]:
        yield f"DC mode \"{mode['name']}\": assign activate 0x{mode['assign_activate']:04X}"


def _cmd_sii_dump(args) -> int:
    if args.raw and args.json:
        raise ValueError("--raw and --json exclude each other")
    with _master(args) as master:
        master.scan()
        data = master.read_sii(args.position)
    if args.raw:
        if args.output is not None:
            Path(args.output).write_bytes(data)
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
        return 0
    dump = _sii_dict(args.position, data)
    if args.output is not None:
        Path(args.output).write_bytes(data)
    _emit(args, dump, lambda: _sii_lines(dump))
    return 0


def _cmd_sii_write(args) -> int:
    image = Path(args.file).read_bytes()
    with _master(args) as master:
        master.scan()
        slave = master.slave(args.position)
        if not args.force:
            raise ValueError(f"refusing to overwrite the SII EEPROM of slave {slave.describe()} with "
                             f"{args.file} ({len(image)} bytes) without --force")
        words = master.write_sii(args.position, image)
    _emit(args, {"position": args.position, "file": args.file, "words": words},
          lambda: [f"wrote {words} words of {args.file} to the SII of slave {slave.describe()}; "
                   "the slave loads them at its next power-on"])
    return 0


# ================================================================================ SDO
@contextlib.contextmanager
def _coe(args: argparse.Namespace) -> Iterator[tuple[Master, CoEClient]]:
    """A master whose slave ``args.position`` is in PRE-OP, and that slave's CoE client."""
    with _master(args) as master:
        master.scan()
        master.slave(args.position)
        master.request_state(ALState.PREOP, args.position)
        yield master, master.coe(args.position)


def _cmd_sdo_upload(args) -> int:
    index = _number(args.index, "index", _MAX_INDEX)
    subindex = _number(args.subindex, "subindex", _MAX_SUBINDEX)
    data_type = None if args.type is None else data_type_from_name(args.type)
    with _coe(args) as (_, client):
        if data_type is None:
            value: Any = client.upload(index, subindex, complete_access=args.complete_access)
        else:
            value = client.read(index, subindex, data_type, complete_access=args.complete_access)
    result = {"position": args.position, "index": index, "subindex": subindex,
              "type": None if data_type is None else data_type.name, "value": _json_value(value)}
    _emit(args, result, lambda: [show_value(value, data_type)])
    return 0


def _cmd_sdo_download(args) -> int:
    index = _number(args.index, "index", _MAX_INDEX)
    subindex = _number(args.subindex, "subindex", _MAX_SUBINDEX)
    data_type = data_type_from_name(args.type)
    value = parse_value(args.value, data_type)
    encode_value(data_type, value)  # a value the type cannot hold fails here, before the bus is touched
    with _coe(args) as (_, client):
        client.write(index, subindex, value, data_type, complete_access=args.complete_access)
    _emit(args, {"position": args.position, "index": index, "subindex": subindex, "type": data_type.name,
                 "value": _json_value(value)},
          lambda: [f"0x{index:04X}:{subindex:02X} = {show_value(value, data_type)}"])
    return 0


def _access(access: ObjectAccess) -> str:
    """IgH's access string: read and write in PRE-OP, SAFE-OP, OP, e.g. ``rwr-r-``."""
    pairs = ((ObjectAccess.READ_PREOP, ObjectAccess.WRITE_PREOP), (ObjectAccess.READ_SAFEOP, ObjectAccess.WRITE_SAFEOP),
             (ObjectAccess.READ_OP, ObjectAccess.WRITE_OP))
    return "".join(("r" if read in access else "-") + ("w" if write in access else "-") for read, write in pairs)


def _type_name(data_type: int) -> str:
    try:
        return DataType(data_type).name
    except ValueError:
        return f"0x{data_type:04X}"


def _dictionary(client: CoEClient) -> list[dict[str, Any]]:
    """Every object of the slave's object list with its entries (SDO information)."""
    objects = []
    for index in client.od_list():
        description = client.object_description(index)
        entries = []
        for subindex in range(description.max_subindex + 1):
            try:
                entry = client.entry_description(index, subindex, ValueInfo(0))
            except SdoAbort:  # records may leave subindices out
                continue
            entries.append({"subindex": subindex, "name": entry.name, "data_type": _type_name(entry.data_type),
                            "bit_length": entry.bit_length, "access": _access(entry.object_access)})
        objects.append({"index": index, "name": description.name, "object_code": int(description.object_code),
                        "data_type": _type_name(description.data_type), "max_subindex": description.max_subindex,
                        "entries": entries})
    return objects


def _dictionary_lines(objects: Sequence[dict[str, Any]]) -> Iterator[str]:
    for obj in objects:
        yield f"SDO 0x{obj['index']:04X}, \"{obj['name']}\""
        for e in obj["entries"]:
            yield (f"  0x{obj['index']:04X}:{e['subindex']:02X}, {e['access']}, {e['data_type'].lower()}, "
                   f"{e['bit_length']} bit, \"{e['name']}\"")


def _cmd_sdo_list(args) -> int:
    with _coe(args) as (_, client):
        objects = _dictionary(client)
    _emit(args, objects, lambda: _dictionary_lines(objects))
    return 0


# =============================================================================== PDOs
def _coe_pdos(client: CoEClient) -> list[dict[str, Any]]:
    """The process data sync managers with their assigned PDOs and mappings, over CoE."""
    u8, u16, u32 = DataType.UNSIGNED8, DataType.UNSIGNED16, DataType.UNSIGNED32
    result = []
    for number in range(1, client.read(_SM_TYPES, 0, u8) + 1):
        kind = client.read(_SM_TYPES, number, u8)
        if kind not in _PROCESS_DATA_TYPES:
            continue
        sync_manager = number - 1
        assign = _PDO_ASSIGN_BASE + sync_manager
        pdos = []
        for slot in range(1, client.read(assign, 0, u8) + 1):
            pdo = client.read(assign, slot, u16)
            entries = []
            for entry in range(1, client.read(pdo, 0, u8) + 1):
                value = client.read(pdo, entry, u32)
                entries.append({"index": value >> _MAPPING_INDEX_SHIFT,
                                "subindex": (value >> _MAPPING_SUBINDEX_SHIFT) & _BYTE_MASK,
                                "bit_length": value & _BYTE_MASK})
            pdos.append({"index": pdo, "entries": entries})
        result.append({"sync_manager": sync_manager, "direction": _PROCESS_DATA_TYPES[kind], "pdos": pdos})
    return result


def _sii_pdos(slave: SlaveInfo) -> list[dict[str, Any]]:
    """The PDOs of the SII, by sync manager (PDOs without one are listed under ``None``)."""
    by_sm: dict[Optional[int], dict[str, Any]] = {}
    for direction, pdos in (("outputs", slave.rx_pdos), ("inputs", slave.tx_pdos)):
        for pdo in pdos:
            sync_manager = pdo.sync_manager if pdo.sync_manager < len(slave.sync_managers) else None
            group = by_sm.setdefault(sync_manager, {"sync_manager": sync_manager, "direction": direction, "pdos": []})
            entry = _pdo_dict(slave.sii, pdo)
            group["pdos"].append({"index": entry["index"], "name": entry["name"], "entries": entry["entries"]})
    return list(by_sm.values())


def _pdo_lines(result: dict[str, Any]) -> Iterator[str]:
    yield f"PDOs of position {result['position']} (from {result['source']}):"
    for sm in result["sync_managers"]:
        where = "no sync manager" if sm["sync_manager"] is None else f"SM{sm['sync_manager']}"
        yield f"{where}: {sm['direction']}"
        for pdo in sm["pdos"]:
            name = f" \"{pdo['name']}\"" if pdo.get("name") else ""
            yield f"  PDO 0x{pdo['index']:04X}{name}"
            for e in pdo["entries"]:
                label = f" \"{e['name']}\"" if e.get("name") else ""
                yield f"    PDO entry 0x{e['index']:04X}:{e['subindex']:02X}, {e['bit_length']:>2} bit{label}"


def _cmd_pdos(args) -> int:
    with _master(args) as master:
        master.scan()
        slave = master.slave(args.position)
        source, sync_managers = "SII", None
        if slave.has_coe:
            master.request_state(ALState.PREOP, args.position)
            try:
                sync_managers, source = _coe_pdos(master.coe(args.position)), "CoE"
            except SdoAbort:  # no 0x1C00/0x1C1x objects: the SII is all there is
                sync_managers = None
        if sync_managers is None:
            sync_managers = _sii_pdos(slave)
    result = {"position": args.position, "source": source, "sync_managers": sync_managers}
    _emit(args, result, lambda: _pdo_lines(result))
    return 0


# ========================================================================== registers
def _register_target(args: argparse.Namespace) -> dict[str, int]:
    if (args.position is None) == (args.station is None):
        raise ValueError("name the slave with exactly one of --position and --station")
    if args.station is not None:
        return {"station": _number(args.station, "station address", _MAX_INDEX)}
    return {"position": args.position}


def _cmd_reg_read(args) -> int:
    target = _register_target(args)
    address = _number(args.address, "address", _MAX_INDEX)
    length = _number(args.length, "length", _MAX_INDEX)
    with _master(args) as master:
        data = master.read_register(address, length, **target)
    _emit(args, {**target, "address": address, "length": length, "data": data.hex()},
          lambda: [f"0x{address + offset:04X}: {data[offset:offset + _DUMP_WIDTH].hex(' ')}"
                   for offset in range(0, len(data), _DUMP_WIDTH)])
    return 0


def _cmd_reg_write(args) -> int:
    target = _register_target(args)
    address = _number(args.address, "address", _MAX_INDEX)
    try:
        data = bytes.fromhex(args.data)
    except ValueError:
        raise ValueError(f"{args.data!r} is not hex data (e.g. 0a0b or '0a 0b')") from None
    with _master(args) as master:
        master.write_register(address, data, **target)
    _emit(args, {**target, "address": address, "length": len(data), "data": data.hex()},
          lambda: [f"wrote {len(data)} bytes at 0x{address:04X}"])
    return 0


# ================================================================================ FoE
class _Progress:
    """FoE progress on stderr: a bar redrawn in place on a terminal (a byte counter when the
    size is unknown), a plain line per second otherwise."""

    def __init__(self, what: str, stream: Any = None) -> None:
        self.what = what
        self.stream = sys.stderr if stream is None else stream
        self.tty = self.stream.isatty()
        self._last = 0.0
        self._done = 0
        self._total: Optional[int] = None

    def __call__(self, done: int, total: Optional[int]) -> None:
        self._done, self._total = done, total
        now = time.monotonic()
        if now - self._last < (_TTY_PROGRESS_S if self.tty else _PLAIN_PROGRESS_S):
            return
        self._last = now
        self._show()

    def finish(self) -> None:
        """Show the final count (and end the terminal line)."""
        self._show()
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()

    def _show(self) -> None:
        done, total = self._done, self._total
        count = f"{done}/{total} bytes" if total is not None else f"{done} bytes"
        if not self.tty:
            self.stream.write(f"{self.what}: {count}\n")
        elif total:
            filled = _BAR_WIDTH * done // total
            self.stream.write(f"\r{self.what} [{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {count}")
        else:
            self.stream.write(f"\r{self.what}: {count}")
        self.stream.flush()


@contextlib.contextmanager
def _foe(args: argparse.Namespace) -> Iterator[Any]:
    """The FoE client of slave ``args.position`` in PRE-OP (BOOT with ``--boot``)."""
    with _master(args) as master:
        master.scan()
        master.slave(args.position)
        master.request_state(ALState.BOOT if args.boot else ALState.PREOP, args.position)
        yield master.foe(args.position)


def _cmd_foe_read(args) -> int:
    progress = _Progress(f"FoE read {args.name}")
    with _foe(args) as client:
        data = client.read(args.name, password=args.password, progress=progress)
    progress.finish()
    if args.output is not None:
        Path(args.output).write_bytes(data)
    result: dict[str, Any] = {"position": args.position, "name": args.name, "size": len(data), "file": args.output}
    if args.json:
        if args.output is None:
            result["data"] = data.hex()
        print(json.dumps(result, indent=1))
    elif args.output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        print(f"read {len(data)} bytes of {args.name!r} into {args.output}")
    return 0


def _cmd_foe_write(args) -> int:
    data = Path(args.file).read_bytes()
    name = args.name or Path(args.file).name
    progress = _Progress(f"FoE write {name}")
    with _foe(args) as client:
        client.write(name, data, password=args.password, progress=progress)
    progress.finish()
    _emit(args, {"position": args.position, "name": name, "size": len(data), "file": args.file},
          lambda: [f"wrote {len(data)} bytes of {args.file} as {name!r}"])
    return 0


# ============================================================================== parser
def _bus_parser(sub: Any, name: str, help: str, func: Callable[[argparse.Namespace], int], *,
                position: Optional[bool] = None) -> argparse.ArgumentParser:
    """A subcommand that works on the bus: ``--link``/``--sim``, ``--json``, ``--status-mode``
    and (``position`` True: required, False: optional) ``--position``."""
    p = sub.add_parser(name, help=help, description=help)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--link", metavar="SPEC", help="interface name, raw:IF or udp:HOST:PORT")
    where.add_argument("--sim", metavar="CHAIN.yaml", type=Path, help="serve a simulated chain in this process")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--status-mode", choices=[m.value for m in StatusMode], default=StatusMode.HYBRID.value,
                   help="how mailbox engines learn the mailbox state (default hybrid)")
    p.add_argument("--bus-timeout", type=float, metavar="SECONDS",
                   help=f"wait this long for each frame (default {DEFAULT_TIMEOUT}; "
                        f"{soak.SIMULATOR_BUS_TIMEOUT_S} with --sim)")
    if position is not None:
        p.add_argument("--position", "-p", type=int, required=position, help="the slave's auto-increment position")
    p.set_defaults(func=func)
    return p


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``ethercat-master``."""
    p = argparse.ArgumentParser(prog=PROGRAM, description="EtherCAT master tools")
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

    s = _bus_parser(sub, "slaves", "scan the bus and list the slaves", _cmd_slaves)
    s.add_argument("-v", "--verbose", action="store_true", help="ESC, ports, mailbox and protocols too")
    st = _bus_parser(sub, "states", "read (or --set) the AL states", _cmd_states, position=False)
    st.add_argument("--set", metavar="STATE", choices=[state.name for state in ALState],
                    help="scan, then bring the slaves (or --position) to this state")

    sii = sub.add_parser("sii", help="read or write a slave's SII EEPROM").add_subparsers(dest="action", required=True)
    dump = _bus_parser(sii, "dump", "read a slave's SII", _cmd_sii_dump, position=True)
    dump.add_argument("--raw", action="store_true", help="the binary image (to stdout or -o) instead of the parsed one")
    dump.add_argument("-o", "--output", help="also write the binary image to this file")
    write = _bus_parser(sii, "write", "write a whole SII image (dangerous: needs --force)", _cmd_sii_write,
                        position=True)
    write.add_argument("file", help="binary SII image, e.g. from 'sii dump --raw'")
    write.add_argument("--force", action="store_true", help="really overwrite the EEPROM")

    sdo = sub.add_parser("sdo", help="CoE SDO transfers and the object dictionary").add_subparsers(
        dest="action", required=True)
    up = _bus_parser(sdo, "upload", "read an object entry", _cmd_sdo_upload, position=True)
    down = _bus_parser(sdo, "download", "write an object entry", _cmd_sdo_download, position=True)
    for q in (up, down):
        q.add_argument("index", help="object index, e.g. 0x1018")
        q.add_argument("subindex", help="subindex, e.g. 1")
        q.add_argument("--complete-access", action="store_true", help="the whole object from the subindex (0 or 1)")
    up.add_argument("--type", help="CoE data type (e.g. UNSIGNED32, uint32, string); raw octets without")
    down.add_argument("value", help="the value (numbers decimal or 0x hex; octet types as hex)")
    down.add_argument("--type", required=True, help="CoE data type (e.g. UNSIGNED32, uint32, string)")
    _bus_parser(sdo, "list", "list the object dictionary (SDO information)", _cmd_sdo_list, position=True)

    _bus_parser(sub, "pdos", "show the PDO assignment and mapping", _cmd_pdos, position=True)

    reg = sub.add_parser("reg", help="read or write ESC registers").add_subparsers(dest="action", required=True)
    for action, func, help in (("read", _cmd_reg_read, "read registers"), ("write", _cmd_reg_write, "write registers")):
        q = _bus_parser(reg, action, help, func, position=False)
        q.add_argument("--station", help="address the slave by configured station address instead")
        q.add_argument("address", help="ESC address, e.g. 0x0130")
        q.add_argument("length" if action == "read" else "data",
                       help="bytes to read" if action == "read" else "hex bytes to write, e.g. 0a0b")

    foe = sub.add_parser("foe", help="FoE file transfer").add_subparsers(dest="action", required=True)
    fr = _bus_parser(foe, "read", "read a file from a slave", _cmd_foe_read, position=True)
    fr.add_argument("name", help="the file's name on the slave")
    fr.add_argument("-o", "--output", help="file to write (default: stdout)")
    fw = _bus_parser(foe, "write", "write a file to a slave", _cmd_foe_write, position=True)
    fw.add_argument("file", help="the file to send")
    fw.add_argument("--name", help="the file's name on the slave (default: the file's own name)")
    for q in (fr, fw):
        q.add_argument("--password", type=lambda text: _number(text, "password", 0xFFFFFFFF), default=0,
                       help="FoE password (default 0)")
        q.add_argument("--boot", action="store_true", help="transfer in BOOT (bootstrap mailbox) instead of PRE-OP")

    soaks = sub.add_parser("soak", help="soak tests").add_subparsers(dest="action", required=True)
    mailbox = soaks.add_parser("mailbox", help="mixed SDO transactions with injected faults (mailbox_soak_demo)")
    soak.add_arguments(mailbox)
    mailbox.set_defaults(func=soak.run)
    # the DC soak keeps its own options (dc_soak_demo --help): everything after "dc" is its
    dc = soaks.add_parser("dc", help="distributed clocks soak with JSON and plot (dc_soak_demo)", add_help=False)
    dc.set_defaults(func=lambda args: dc_soak.main([]))  # main() hands "soak dc ..." to dc_soak.main
    return p


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Entry point of ``ethercat-master``; returns the exit status."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:2] == ["soak", "dc"]:  # its options are dc_soak_demo's own (argparse cannot pass them through)
        return dc_soak.main(words[2:])
    args = build_parser().parse_args(words)
    command = " ".join(filter(None, (args.command, getattr(args, "action", None))))
    try:
        return args.func(args)
    except (EtherCATError, OSError) as e:
        print(f"{PROGRAM} {command}: {e}", file=sys.stderr)
        return EXIT_ERROR
    except (LookupError, ValueError) as e:
        if isinstance(e, (KeyError, IndexError)):  # a bug, not a user's mistake: keep the traceback
            raise
        print(f"{PROGRAM} {command}: {e}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
