"""Conversions between the core's objects and the package's messages, and the lookups the
services share (a slave by name or position, a drive by joint or slave). No node state here."""

from __future__ import annotations

from typing import Any, Optional, Sequence

from ..devices import Cia402Drive, Cia402Group
from ..errors import EtherCATError, FoEError, SdoAbort
from ..master.al import poll_states
from ..master.master import Master
from ..master.process_image import ProcessImage, ValueKind
from ..master.slave_info import SlaveInfo
from ..protocol.al_status import al_status_text, state_name
from ..protocol.registers import AlStatusBlock

from ethercat_master.msg import (  # noqa: E402
    PdoEntryInfo,
    PdoValues,
    ProcessData,
    SlaveDescription,
    SlaveIdentity,
    SlaveState,
)

__all__ = ["find_slave", "find_drive", "process_data", "write_outputs", "slave_identity",
           "slave_states", "slave_description", "fail"]


def find_slave(master: Master, text: str) -> int:
    """The position of the slave ``text`` names: its name in the network file, a drive's
    joint, or its position as a number.

    :raises LookupError: nothing is called that (the message lists the names).
    """
    key = text.strip()
    for position, config in master.assignment.items():
        if config.name == key or (config.drive is not None and config.drive.joint == key):
            return position
    if key.isdigit() and int(key) < len(master.slaves):
        return int(key)
    names = ", ".join(config.name for config in master.assignment.values())
    raise LookupError(f"no slave {text!r}: use a name ({names or 'none configured'}) or a position "
                      f"0-{len(master.slaves) - 1}")


def find_drive(drives: Cia402Group, text: str) -> Cia402Drive:
    """The drive ``text`` names: its joint, its slave's name or its position.

    :raises LookupError: no drive is called that.
    """
    key = text.strip()
    for drive in drives:
        if key in (drive.joint, drive.name) or drive.name.startswith(f"{key} (") or key == str(drive.slave):
            return drive
    raise LookupError(f"no drive {text!r}: joints are {', '.join(drives.joint_names) or 'none'}")


def _numeric(value: Any) -> float:
    if isinstance(value, (bytes, bytearray)):
        return float(int.from_bytes(value, "little"))
    return float(value)


def process_data(master: Master, names: dict[int, str], stamp: Any, *, outputs: bool = False) -> ProcessData:
    """Every slave's inputs (or outputs) from the published (staged) image, one PdoValues per
    slave that has any."""
    image = master.image
    msg = ProcessData()
    msg.header.stamp = stamp
    if image is None:
        return msg
    with image.lock:  # one consistent set
        for slave in image:
            area = slave.outputs if outputs else slave.inputs
            if not len(area):
                continue
            values = area.read()
            entry = PdoValues()
            entry.header.stamp = stamp
            entry.position = area.info.position
            entry.slave_name = names.get(area.info.position, "")
            entry.names = list(values)
            entry.values = [_numeric(v) for v in values.values()]
            msg.slaves.append(entry)
    exchange = master.exchange
    if exchange is not None and None not in exchange.working_counters:
        msg.working_counter = sum(exchange.working_counters)  # type: ignore[arg-type]
    if master.layout is not None:
        msg.expected_working_counter = master.layout.expected_wkc
    return msg


def write_outputs(image: ProcessImage, position: int, names: Sequence[str], values: Sequence[float]) -> None:
    """Write ``values`` to the named outputs of one slave, all or none.

    :raises ValueError: lengths differ, a name is no output of the slave (the message lists
        them), or a value does not fit its entry.
    :raises LookupError: the slave has no outputs.
    """
    if len(names) != len(values):
        raise ValueError(f"{len(names)} names but {len(values)} values")
    area = image.outputs[position]
    fields = area.info.fields
    unknown = [name for name in names if name not in fields]
    if unknown:
        raise ValueError(f"slave {position} has no output {', '.join(map(repr, unknown))}; its outputs are "
                         f"{', '.join(fields) or 'none'}")
    converted: dict[str, Any] = {}
    for name, value in zip(names, values):
        kind = fields[name].kind
        if kind is ValueKind.FLOAT:
            converted[name] = float(value)
        elif kind is ValueKind.BOOL:
            converted[name] = bool(value)
        else:
            if value != int(value):
                raise ValueError(f"output {name!r} of slave {position} takes integers, not {value}")
            converted[name] = int(value)
    area.write(converted)


def slave_identity(slave: SlaveInfo) -> SlaveIdentity:
    """The identity message of a scanned slave."""
    return SlaveIdentity(position=slave.position, station_address=slave.station_address, alias=slave.alias,
                         name=slave.order or slave.name, vendor_id=slave.vendor_id, product_code=slave.product_code,
                         revision=slave.revision, serial_number=slave.serial)


def _state_message(slave: SlaveInfo, block: Optional[AlStatusBlock], stamp: Any) -> SlaveState:
    msg = SlaveState()
    msg.header.stamp = stamp
    msg.identity = slave_identity(slave)
    if block is not None:
        msg.al_state = int(block.status.state)
        msg.error = bool(block.status.error)
        msg.al_status_code = block.status_code
        msg.al_status_text = al_status_text(block.status_code)
    else:
        msg.al_status_text = "no answer"
    return msg


def slave_states(master: Master, names: dict[int, str], stamp: Any) -> list[SlaveState]:
    """Every slave's state, read now (a slave that does not answer has state 0 and says so)."""
    slaves = list(master.slaves)
    return [_state_message(slave, block, stamp) for slave, block in zip(slaves, poll_states(master.bus, slaves))]


def slave_description(master: Master, slave: SlaveInfo, block: Optional[AlStatusBlock], joint: str) -> SlaveDescription:
    """A slave with its identity, state, protocols and process data entries."""
    msg = SlaveDescription()
    msg.identity = slave_identity(slave)
    config = master.assignment.get(slave.position)
    msg.configured_name = "" if config is None else config.name
    msg.al_state = "lost" if block is None else state_name(block.status.state)
    msg.has_coe, msg.has_foe, msg.has_dc = slave.has_coe, slave.has_foe, slave.dc_supported
    msg.drive_joint = joint
    image = master.image
    if image is not None:
        try:
            areas = ((image.outputs[slave.position], True), (image.inputs[slave.position], False))
        except LookupError:
            areas = ()
        for area, output in areas:
            for name, field in area.info.fields.items():
                msg.entries.append(PdoEntryInfo(name=name, index=field.index, subindex=field.subindex,
                                                bit_length=field.bit_length, data_type=field.data_type,
                                                output=output))
    return msg


def fail(response: Any, exc: BaseException) -> None:
    """Fill a service response's ``success``, ``message`` and the error code it has
    (``abort_code`` for SDO aborts, ``error_code`` for FoE errors)."""
    response.success = False
    notes = "".join(f" ({note})" for note in getattr(exc, "__notes__", ()))
    kind = type(exc).__name__ if isinstance(exc, EtherCATError) else "invalid request"
    response.message = f"{kind}: {exc}{notes}"
    if isinstance(exc, SdoAbort) and hasattr(response, "abort_code"):
        response.abort_code = exc.code
    if isinstance(exc, FoEError) and hasattr(response, "error_code"):
        response.error_code = exc.code


