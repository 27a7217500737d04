"""The bus scan: find the slaves, bring them to a known state, address them, read what they are.

The sequence follows ETG.1000.6 start-up as SOEM (``ecx_config_init`` with
``ecx_set_slaves_to_default``) and IgH (``fsm_slave_scan.c``; ``fsm_slave_config.c`` for INIT
and clearing FMMUs, SyncManagers and the DC assignment) do it; each step is one frame for the
whole bus where the protocol allows:

1. Count: a BRD of the ESC type register; its working counter is the number of slaves.
2. Reset (broadcast): request INIT with the error acknowledge; then loop control of every
   port to "auto", station alias addressing off (DL control 0x0101 and 0x0103), error counters
   cleared (0x0300-0x0313), every FMMU and SyncManager cleared (0x0600-0x06FF, 0x0800-0x087F;
   IgH clears those the slave has, SOEM the first ones), DC SYNC outputs deactivated (0x0981),
   and the EEPROM taken from the PDI (0x0500 = 2, then 0).
3. Addresses: an APWR of 0x0010 per position, ``first_station_address + position`` (0x1001 for
   position 0 by default, as SOEM's ``EC_NODEOFFSET`` gives, which keeps frames readable).
4. Registers: per slave, the ESC information block with the configured station alias
   (0x0000-0x0013), DL status (0x0110) and AL status with its code (0x0130-0x0135).
5. SII: every slave's EEPROM read in parallel (:mod:`.sii_reader`) and parsed; then offered
   back to the PDI (SOEM ``ecx_eeprom2pdi``).
6. Topology from the DL status of each slave (below).
7. The INIT requested in step 2 is confirmed per slave (:func:`.al.request_states`).

Aliases: register 0x0012 holds the alias the ESC loaded from SII word 4 at power-on; it is the
one FPxx commands match once alias addressing is enabled, so it is
:attr:`~.slave_info.SlaveInfo.alias`; SII word 4 as read now is ``sii_alias``.
:meth:`BusScan.by_alias` finds a slave by alias for configurations that name slaves that way.

Topology: a frame enters a slave at port 0, passes the processing unit, then leaves and comes
back through ports 3, 1 and 2 in that order (ESC Section I, "Frame processing order"), so the
auto-increment order is a depth-first walk of the bus tree with each slave's children taken in
port order 3, 1, 2. A port leads to a child when it is implemented, its loop is open and
communication is established (DL status bits, SOEM's "active ports"). Walking the slaves in
position order with a stack of ports not yet followed gives each slave its parent and the
parent's port exactly, where SOEM's counting of line ends and forks gives the parent only.
Ports left over at the end lead back to the master (a redundancy ring) or to devices that do
not process frames; they do not change the tree.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Optional

from ..errors import FrameTimeout, LinkError, WorkingCounterError
from ..protocol.al_status import ALState
from ..protocol.datagram import Command, Datagram, position_address, station_address
from ..protocol.registers import (
    MAX_FMMUS,
    MAX_SYNC_MANAGERS,
    AlStatusBlock,
    DlStatus,
    ErrorCounters,
    EscIdentity,
    FmmuEntry,
    Register,
    SyncManagerChannel,
)
from .al import broadcast_state, request_states
from .bus import Bus, Request
from .sii_reader import SiiTarget, SiiTiming, offer_sii_to_pdi, parse_sii, read_sii_images
from .slave_info import SlaveInfo

__all__ = ["DEFAULT_FIRST_STATION_ADDRESS", "BusScan", "scan"]

#: Station address of position 0; the others follow (SOEM: ``EC_NODEOFFSET`` + 1).
DEFAULT_FIRST_STATION_ADDRESS = 0x1001
_MAX_STATION_ADDRESS = 0xFFFF
#: DL control byte 0x0101: the loop setting of ports 0-3 (0 = auto for all).
_DL_LOOP_CONTROL = Register.DL_CONTROL + 1
#: DL control byte 0x0103: bit 0 enables station alias addressing.
_DL_ALIAS_ENABLE = Register.DL_CONTROL + 3
#: 0x0500 values: force EtherCAT access, then EtherCAT access without the PDI offer.
_SII_FORCE_ECAT = 0x02
_SII_ECAT = 0x00
#: The ESC information block and the station address and alias registers, 0x0000-0x0013.
_ADDRESS_BLOCK_SIZE = Register.CONFIGURED_STATION_ALIAS + Register.CONFIGURED_STATION_ALIAS.size
#: Ports a frame visits after the processing unit, in order (ESC Section I Table 9).
_PORTS_AFTER_PROCESSING = (3, 1, 2)


@dataclass(frozen=True, slots=True)
class BusScan:
    """The slaves found by :func:`scan`, by position."""

    slaves: tuple[SlaveInfo, ...]

    def __len__(self) -> int:
        return len(self.slaves)

    def __iter__(self) -> Iterator[SlaveInfo]:
        return iter(self.slaves)

    def __getitem__(self, position: int) -> SlaveInfo:
        return self.slaves[position]

    def by_station_address(self, address: int) -> SlaveInfo:
        """The slave with configured station ``address``.

        :raises LookupError: no slave has it.
        """
        for slave in self.slaves:
            if slave.station_address == address:
                return slave
        raise LookupError(f"no slave has station address 0x{address:04X}")

    def by_alias(self, alias: int) -> SlaveInfo:
        """The one slave whose ESC carries station alias ``alias`` (register 0x0012).

        :raises LookupError: no slave, or more than one, has it (the message names them).
        """
        found = [slave for slave in self.slaves if alias and slave.alias == alias]
        if len(found) == 1:
            return found[0]
        if not found:
            raise LookupError(f"no slave has station alias {alias} (0x{alias:04X})")
        names = ", ".join(slave.describe() for slave in found)
        raise LookupError(f"station alias {alias} (0x{alias:04X}) is used by {len(found)} slaves: {names}")

    def children(self, position: int) -> tuple[SlaveInfo, ...]:
        """The slaves cabled to ports 1-3 of the slave at ``position``, in processing order."""
        return tuple(slave for slave in self.slaves if slave.parent == position)


def scan(
    bus: Bus,
    *,
    first_station_address: int = DEFAULT_FIRST_STATION_ADDRESS,
    sii_timing: SiiTiming = SiiTiming(),
) -> BusScan:
    """Scan the bus (see the module docstring): every slave ends in INIT with station address
    ``first_station_address + position``, its EEPROM offered to its PDI.

    :raises LinkError: no slave answered (names the link).
    :raises WorkingCounterError: a slave did not answer a datagram (names it by position).
    :raises FrameTimeout: frames stayed unanswered through the bus's retries, or a slave's
        EEPROM stayed busy.
    :raises ProtocolError: a slave's EEPROM failed or its content is malformed (names it).
    :raises ALStatusError: a slave did not reach INIT in time.
    """
    count = _count_slaves(bus)
    if not 0 < first_station_address <= _MAX_STATION_ADDRESS - count + 1:
        raise ValueError(f"station addresses 0x{first_station_address:04X}+{count} do not fit 1..0xFFFF")
    _reset(bus, count)
    stations = [first_station_address + position for position in range(count)]
    _assign_station_addresses(bus, stations)
    registers = _read_registers(bus, stations)
    targets = [SiiTarget(station, f"position {position}") for position, station in enumerate(stations)]
    images = read_sii_images(bus, targets, timing=sii_timing)
    siis = [parse_sii(image, target) for image, target in zip(images, targets)]
    offer_sii_to_pdi(bus, targets)
    slaves = [
        SlaveInfo(position, station, alias, esc, dl_status, al_status, sii, image)
        for position, (station, (esc, alias, dl_status, al_status), sii, image)
        in enumerate(zip(stations, registers, siis, images))
    ]
    tree = _tree([slave.open_ports for slave in slaves])
    slaves = [replace(slave, parent=parent, parent_port=port) for slave, (parent, port) in zip(slaves, tree)]
    states = request_states(bus, slaves, ALState.INIT)
    return BusScan(tuple(replace(slave, al_status=state) for slave, state in zip(slaves, states)))


# ---------------------------------------------------------------------------------- steps
def _count_slaves(bus: Bus) -> int:
    try:
        count = bus.count_slaves()
    except FrameTimeout as exc:
        raise LinkError(bus.link.name, "no frame came back: no EtherCAT slave is connected or the link is down") from exc
    if count == 0:
        raise LinkError(bus.link.name, "frames come back but no EtherCAT slave processed them")
    return count


def _reset(bus: Bus, count: int) -> None:
    """Broadcast the reset of step 2; every write must reach all ``count`` slaves."""
    answered = broadcast_state(bus, ALState.INIT, acknowledge=True)
    if answered != count:
        raise WorkingCounterError(f"BWR AL control INIT+ACK (reset of {count} slaves)", count, answered)
    writes = [
        (_DL_LOOP_CONTROL, bytes(1)),
        (_DL_ALIAS_ENABLE, bytes(1)),
        (ErrorCounters.ADDRESS, bytes(ErrorCounters.SIZE)),
        (Register.FMMU_BASE, bytes(MAX_FMMUS * FmmuEntry.SIZE)),
        (Register.SYNC_MANAGER_BASE, bytes(MAX_SYNC_MANAGERS * SyncManagerChannel.SIZE)),
        (Register.DC_ACTIVATION, bytes(Register.DC_ACTIVATION.size)),
        (Register.SII_CONFIGURATION, bytes((_SII_FORCE_ECAT,))),
        (Register.SII_CONFIGURATION, bytes((_SII_ECAT,))),
    ]
    requests = [Request(Command.BWR, register << 16, data) for register, data in writes]
    for request, reply in zip(requests, bus.exchange(requests)):
        if reply.wkc != count:
            raise WorkingCounterError(f"{request.describe()} (reset of {count} slaves)", count, reply.wkc)


def _assign_station_addresses(bus: Bus, stations: Sequence[int]) -> None:
    requests = [
        Request(Command.APWR, position_address(position, Register.CONFIGURED_STATION_ADDRESS),
                station.to_bytes(Register.CONFIGURED_STATION_ADDRESS.size, "little"))
        for position, station in enumerate(stations)
    ]
    _expect_each(bus, requests, [f"position {p}" for p in range(len(stations))], "station address")


def _read_registers(bus: Bus, stations: Sequence[int]) -> list[tuple[EscIdentity, int, DlStatus, AlStatusBlock]]:
    """ESC information, alias, DL status and AL status block of every slave, in one exchange."""
    requests = []
    names = []
    for position, station in enumerate(stations):
        names += [f"position {position}"] * 3
        requests += [
            Request.read(Command.FPRD, station_address(station, Register.TYPE), _ADDRESS_BLOCK_SIZE),
            Request.read(Command.FPRD, station_address(station, DlStatus.ADDRESS), DlStatus.SIZE),
            Request.read(Command.FPRD, station_address(station, AlStatusBlock.ADDRESS), AlStatusBlock.SIZE),
        ]
    replies = _expect_each(bus, requests, names, "ESC registers")
    result = []
    for index in range(0, len(replies), 3):
        block, dl_status, al_status = (reply.data for reply in replies[index:index + 3])
        alias = int.from_bytes(block[Register.CONFIGURED_STATION_ALIAS:], "little")
        result.append((EscIdentity.decode(block[:EscIdentity.SIZE]), alias,
                       DlStatus.decode(dl_status), AlStatusBlock.decode(al_status)))
    return result


def _tree(open_ports: Sequence[Sequence[int]]) -> list[tuple[Optional[int], Optional[int]]]:
    """(parent position, parent port) of each position, from each slave's open ports (see the
    module docstring). When the DL status shows no port leading to a slave, its parent is the
    slave before it and the port is unknown (None)."""
    stack: list[tuple[int, list[int]]] = []  # (position, open ports not yet followed)
    tree: list[tuple[Optional[int], Optional[int]]] = []
    for position, ports in enumerate(open_ports):
        while stack and not stack[-1][1]:
            stack.pop()
        if position == 0:
            tree.append((None, None))
        elif stack:
            parent, free = stack[-1]
            tree.append((parent, free.pop(0)))
        else:
            tree.append((position - 1, None))
        stack.append((position, [port for port in _PORTS_AFTER_PROCESSING if port in ports]))
    return tree


def _expect_each(bus: Bus, requests: list[Request], names: Sequence[str], what: str) -> list[Datagram]:
    """Exchange ``requests``, one for the slave ``names[i]`` each; each must reach its slave."""
    replies = bus.exchange(requests)
    for request, reply, name in zip(requests, replies, names):
        if reply.wkc != 1:
            raise WorkingCounterError(f"{request.describe()} ({what} of slave {name})", 1, reply.wkc)
    return replies
