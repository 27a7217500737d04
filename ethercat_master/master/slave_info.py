"""What the master knows about one slave after the bus scan.

A :class:`SlaveInfo` gathers what the scan read from one slave: where it is (auto-increment
position, configured station address, station alias, its parent in the bus tree), what its
ESC is (the information block 0x0000-0x0009, DL status 0x0110, AL status 0x0130-0x0135) and
what its SII EEPROM says (identity, strings, mailboxes, SyncManagers, FMMUs, PDOs, DC).

Naming follows ETG.1000.6 and ETG.2010 with the master's point of view for mailboxes: the
slave's *standard receive mailbox* (SII words 0x0018-0x0019, usually SM0) is where the master
writes, so it is :attr:`SlaveInfo.mailbox_out`; the *standard send mailbox* (words
0x001A-0x001B, usually SM1) is where the master reads, :attr:`SlaveInfo.mailbox_in` (ESI
``Mailbox/Out`` and ``Mailbox/In``; SOEM ``mbx_wo``/``mbx_ro``; IgH ``std_rx``/``std_tx``).

A slave's name is the SII string the GENERAL category names (IgH); without one, the first
string (SOEM); without strings, vendor ID and product code in hex. Messages name a slave with
:meth:`SlaveInfo.describe`, e.g. ``"position 3 (EL2008)"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..errors import ProtocolError
from ..protocol.al_status import StateValue
from ..protocol.registers import PORT_COUNT, AlStatusBlock, DlStatus, EscIdentity, PortType
from ..protocol.sii import (
    FmmuUsage,
    MailboxProtocols,
    SiiDcOpMode,
    SiiImage,
    SiiPdo,
    SiiSyncManager,
)

__all__ = ["MailboxArea", "SlaveInfo"]


@dataclass(frozen=True, slots=True)
class MailboxArea:
    """A mailbox in the slave's process RAM: its physical start address and size in bytes."""

    offset: int
    size: int

    @property
    def end(self) -> int:
        """The first address after the mailbox."""
        return self.offset + self.size


def _area(offset: int, size: int) -> Optional[MailboxArea]:
    """The mailbox the SII describes, or None when its size is 0 (no such mailbox)."""
    return MailboxArea(offset, size) if size else None


@dataclass(frozen=True, slots=True)
class SlaveInfo:
    """One slave as the bus scan found it.

    :ivar position: auto-increment position, 0 for the slave next to the master.
    :ivar station_address: the configured station address the scan assigned (0x0010).
    :ivar alias: the configured station alias the ESC loaded from SII word 4 at power-on
        (register 0x0012); 0 when none. :attr:`sii_alias` is the value in the EEPROM now.
    :ivar esc: the ESC information block (type, revision, FMMU and SyncManager counts, ports,
        features).
    :ivar dl_status: DL status at scan time (links, loops and communication per port).
    :ivar al_status: AL status and AL status code at the end of the scan.
    :ivar sii: the parsed SII EEPROM content.
    :ivar sii_data: the SII bytes as read (from word 0 to the END category).
    :ivar parent: position of the slave this one is cabled to with its port 0; None for the
        slave at the master.
    :ivar parent_port: the parent's port (1-3) the cable comes from; None for the slave at the
        master, and when the DL status of the slaves before this one did not show which port
        leads here.
    """

    position: int
    station_address: int
    alias: int
    esc: EscIdentity
    dl_status: DlStatus
    al_status: AlStatusBlock
    sii: SiiImage
    sii_data: bytes
    parent: Optional[int] = None
    parent_port: Optional[int] = None

    # ------------------------------------------------------------------------- naming
    @property
    def name(self) -> str:
        """The device name from the SII (never empty, see the module docstring)."""
        general = self.sii.general
        index = general.name_idx if general is not None and general.name_idx else (1 if self.sii.strings else 0)
        name = self._string(index)
        return name or f"0x{self.vendor_id:08X}:0x{self.product_code:08X}"

    @property
    def order(self) -> str:
        """The order code (e.g. ``"EL2008"``) from the SII GENERAL category; ``""`` if none."""
        return self._string(self.sii.general.order_idx) if self.sii.general is not None else ""

    @property
    def group(self) -> str:
        """The device group (e.g. ``"DigOut"``) from the SII GENERAL category; ``""`` if none."""
        return self._string(self.sii.general.group_idx) if self.sii.general is not None else ""

    def describe(self) -> str:
        """How messages name this slave: ``"position 3 (EL2008)"``."""
        return f"position {self.position} ({self.name})"

    def _string(self, index: int) -> str:
        """SII string ``index``; ``""`` for 0 or an index past the STRINGS category (as SOEM
        and IgH show it)."""
        try:
            return self.sii.string(index)
        except ProtocolError:
            return ""

    # ----------------------------------------------------------------------- identity
    @property
    def vendor_id(self) -> int:
        """Vendor ID (SII words 0x0008-0x0009)."""
        return self.sii.info.vendor_id

    @property
    def product_code(self) -> int:
        """Product code (SII words 0x000A-0x000B)."""
        return self.sii.info.product_code

    @property
    def revision(self) -> int:
        """Revision number (SII words 0x000C-0x000D)."""
        return self.sii.info.revision_number

    @property
    def serial(self) -> int:
        """Serial number (SII words 0x000E-0x000F); 0 when the vendor does not set it."""
        return self.sii.info.serial_number

    @property
    def sii_alias(self) -> int:
        """The configured station alias stored in SII word 4 now (a new value there reaches
        register 0x0012 only at the next power-on)."""
        return self.sii.info.configured_station_alias

    @property
    def sii_checksum_ok(self) -> bool:
        """True when the CRC of SII words 0-6 matches word 7 (else the ESC did not load its
        configuration area)."""
        return self.sii.info.checksum_ok

    # --------------------------------------------------------------------------- state
    @property
    def state(self) -> StateValue:
        """The AL state at the end of the scan."""
        return self.al_status.status.state

    # --------------------------------------------------------------------------- ports
    @property
    def linked_ports(self) -> tuple[int, ...]:
        """Ports (0-3) with a physical link at scan time."""
        return tuple(port for port in range(PORT_COUNT) if self.dl_status.physical_link(port))

    @property
    def open_ports(self) -> tuple[int, ...]:
        """Implemented ports (0-3) that pass frames to a neighbour: communication established
        and loop open (SOEM's "active ports"; the ports the bus tree is built from)."""
        kinds = self.esc.port_descriptor.ports
        return tuple(
            port
            for port in range(PORT_COUNT)
            if kinds[port] is not PortType.NOT_IMPLEMENTED
            and self.dl_status.communication(port)
            and not self.dl_status.loop_closed(port)
        )

    # ------------------------------------------------------------------------ mailbox
    @property
    def mailbox_protocols(self) -> MailboxProtocols:
        """Mailbox protocols the slave supports (SII word 0x001C)."""
        return self.sii.info.mailbox_protocols

    @property
    def mailbox_out(self) -> Optional[MailboxArea]:
        """The mailbox the master writes to (standard receive mailbox, SII 0x0018-0x0019)."""
        info = self.sii.info
        return _area(info.standard_receive_mailbox_offset, info.standard_receive_mailbox_size)

    @property
    def mailbox_in(self) -> Optional[MailboxArea]:
        """The mailbox the master reads from (standard send mailbox, SII 0x001A-0x001B)."""
        info = self.sii.info
        return _area(info.standard_send_mailbox_offset, info.standard_send_mailbox_size)

    @property
    def bootstrap_mailbox_out(self) -> Optional[MailboxArea]:
        """The mailbox the master writes to in BOOT (bootstrap receive mailbox, 0x0014-0x0015)."""
        info = self.sii.info
        return _area(info.bootstrap_receive_mailbox_offset, info.bootstrap_receive_mailbox_size)

    @property
    def bootstrap_mailbox_in(self) -> Optional[MailboxArea]:
        """The mailbox the master reads from in BOOT (bootstrap send mailbox, 0x0016-0x0017)."""
        info = self.sii.info
        return _area(info.bootstrap_send_mailbox_offset, info.bootstrap_send_mailbox_size)

    @property
    def has_mailbox(self) -> bool:
        """True when the SII describes both standard mailboxes."""
        return self.mailbox_out is not None and self.mailbox_in is not None

    @property
    def has_coe(self) -> bool:
        """True when the slave has mailboxes and supports CoE."""
        return self.has_mailbox and MailboxProtocols.COE in self.mailbox_protocols

    @property
    def has_foe(self) -> bool:
        """True when the slave has mailboxes and supports FoE."""
        return self.has_mailbox and MailboxProtocols.FOE in self.mailbox_protocols

    @property
    def has_eoe(self) -> bool:
        """True when the slave has mailboxes and supports EoE."""
        return self.has_mailbox and MailboxProtocols.EOE in self.mailbox_protocols

    @property
    def has_soe(self) -> bool:
        """True when the slave has mailboxes and supports SoE."""
        return self.has_mailbox and MailboxProtocols.SOE in self.mailbox_protocols

    # ------------------------------------------------------------------- process data
    @property
    def sync_managers(self) -> tuple[SiiSyncManager, ...]:
        """The SyncManagers the SII describes, by index."""
        return self.sii.sync_managers

    @property
    def fmmu_usages(self) -> tuple[FmmuUsage | int, ...]:
        """What each FMMU is meant for (SII FMMU category), by index."""
        return self.sii.fmmus

    @property
    def tx_pdos(self) -> tuple[SiiPdo, ...]:
        """The input PDOs (slave to master) the SII describes."""
        return self.sii.tx_pdos

    @property
    def rx_pdos(self) -> tuple[SiiPdo, ...]:
        """The output PDOs (master to slave) the SII describes."""
        return self.sii.rx_pdos

    # ------------------------------------------------------------- distributed clocks
    @property
    def dc_supported(self) -> bool:
        """True when the ESC has distributed clocks (ESC feature 0x0008 bit 2)."""
        return self.esc.features.dc_supported

    @property
    def dc_op_modes(self) -> tuple[SiiDcOpMode, ...]:
        """The DC operation modes of the SII DC category (empty without it)."""
        return self.sii.dc_op_modes
