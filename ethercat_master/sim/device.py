"""What a simulated device is, as its SII EEPROM and its ESI file describe it.

A :class:`DeviceDescription` gathers the facts a device's vendor puts into the SII EEPROM
(ETG.1000.6 5.4, ETG.2010) and, for CoE devices, into the standard objects of its object
dictionary (ETG.1000.6 5.6.7, CiA 301, ETG.1020): identity, names, ESC parameters, the
SyncManagers and FMMUs it expects, its PDOs, its mailbox and protocols, its DC operation modes.
From that one source it builds

* the SII image (:meth:`DeviceDescription.sii`) with :mod:`ethercat_master.protocol.sii`,
* the SyncManager layout the device's firmware checks on AL state requests
  (:meth:`DeviceDescription.sync_manager_layout`), for the process data sizes of the PDOs in
  use,
* the standard CoE objects (:meth:`DeviceDescription.communication_objects`): 0x1000, 0x1001,
  0x1008-0x100A, 0x1018, the PDO mapping objects, 0x1C00, the PDO assignment objects
  0x1C10 + n and the synchronisation parameters 0x1C30 + n of the process data SyncManagers.

Conventions
    SII string 1 is the device's order code ("EL2008"): SOEM names a slave after the first
    string (``ecx_config_init``), and Beckhoff EEPROMs put the type there. The GENERAL
    category's name index points to the long name ("EL2008 8Ch. Dig. Output 24V, 0.5A"), its
    order index to the order code, its group index to the group ("DigOut").

    A PDO's ``sync_manager`` is its default assignment: it is listed in the SII TXPDO/RXPDO
    category with that SyncManager (0xFF when it is not assigned by default, which SOEM and
    IgH skip) and, for CoE devices, in the default PDO assignment object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional

from ..protocol.registers import PORT_COUNT, EscFeature, PortType, SmControl, SmDirection, SmMode
from ..protocol.sii import (
    EEPROM_SIZE_UNIT,
    CoeDetails,
    EoeDetails,
    FmmuUsage,
    FoeDetails,
    GeneralFlags,
    MailboxProtocols,
    PdoFlags,
    PhysicalPortType,
    SiiDcOpMode,
    SiiGeneral,
    SiiImage,
    SiiInfo,
    SiiPdo,
    SiiPdoEntry,
    SiiSyncManager,
    SyncManagerEnable,
    SyncManagerType,
)
from .esc import DEFAULT_FEATURES, DEFAULT_PORTS, EscType
from .object_dictionary import (
    OdObject,
    SyncModeSupport,
    device_name,
    device_type,
    error_register,
    hardware_version,
    identity,
    pdo_assignment,
    pdo_mapping,
    pdo_mapping_value,
    software_version,
    sync_manager_parameter,
    sync_manager_types,
)
from .sync_manager import ExpectedSyncManager, MailboxLayout, SyncManagerLayout

__all__ = [
    "DEVICE_EMULATION",
    "NOT_ASSIGNED",
    "DeviceIdentity",
    "EscParameters",
    "SyncManagerSpec",
    "PdoEntrySpec",
    "PdoSpec",
    "BootstrapMailbox",
    "MailboxSpec",
    "DcOpModeSpec",
    "DeviceDescription",
]

#: SII word 0 bit 8 = ESC configuration register 0x0141 bit 0, "device emulation": the ESC
#: copies AL control to AL status itself (devices without an application controller).
DEVICE_EMULATION = 0x0100
#: SII PDO SyncManager byte of a PDO that is not assigned by default.
NOT_ASSIGNED = 0xFF

_U8_MAX = 0xFF
_U16_MAX = 0xFFFF
_U32_MAX = 0xFFFF_FFFF
_BITS_PER_OCTET = 8
#: The largest EEPROM the SII size word can describe (0x003E: KiBit - 1, 16 bits) is far above
#: what ESCs address; the simulator keeps to the ESCs' 4 Mbit.
_MAX_EEPROM_BYTES = 4 * 1024 * 1024 // 8
_MAX_STRINGS = 255
_SII_PORT_TYPES = {
    PortType.NOT_IMPLEMENTED: PhysicalPortType.NOT_USED,
    PortType.NOT_CONFIGURED: PhysicalPortType.NOT_USED,
    PortType.EBUS: PhysicalPortType.EBUS,
    PortType.MII: PhysicalPortType.MII,
}
_PROCESS_DATA_KINDS = (SyncManagerType.PROCESS_DATA_OUT, SyncManagerType.PROCESS_DATA_IN)
#: SYNC impulse length written to SII word 2 (units of 10 ns): 1 us.
_SYNC_IMPULSE_LENGTH = 100


def _check_uint(owner: str, name: str, value: int, maximum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        raise ValueError(f"{owner}: {name} must be an integer in 0..0x{maximum:X}, got {value!r}")


# ------------------------------------------------------------------------------- identity
@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """Vendor ID, product code, revision and serial number (SII words 0x0008-0x000F, 0x1018)."""

    vendor_id: int
    product_code: int
    revision: int
    serial_number: int = 0

    def __post_init__(self) -> None:
        for name in ("vendor_id", "product_code", "revision", "serial_number"):
            _check_uint("device identity", name, getattr(self, name), _U32_MAX)


@dataclass(frozen=True, slots=True)
class EscParameters:
    """The ESC a device is built with and the ESC settings its EEPROM loads.

    ``pdi_control`` is SII word 0: PDI control (register 0x0140) in the low byte, ESC
    configuration (0x0141) in the high byte, where bit 8 (:data:`DEVICE_EMULATION`) makes the
    ESC run the AL state machine itself. ``eeprom_read_size`` is 8 or 4 bytes per SII read.
    """

    esc_type: int = EscType.ET1100
    revision: int = 0
    build: int = 0
    fmmu_count: int = 8
    sync_manager_count: int = 8
    ram_size_kib: int = 8
    ports: tuple[PortType, PortType, PortType, PortType] = DEFAULT_PORTS
    features: EscFeature = DEFAULT_FEATURES
    pdi_control: int = 0
    eeprom_read_size: int = 8

    def __post_init__(self) -> None:
        _check_uint("ESC parameters", "pdi_control", self.pdi_control, _U16_MAX)
        if len(self.ports) != PORT_COUNT:
            raise ValueError(f"ESC parameters: {PORT_COUNT} port types needed, got {self.ports!r}")

    @property
    def device_emulation(self) -> bool:
        """The ESC emulates the AL state machine (no application controller judges requests)."""
        return bool(self.pdi_control & DEVICE_EMULATION)


# --------------------------------------------------------------------------- SyncManagers
@dataclass(frozen=True, slots=True)
class SyncManagerSpec:
    """One SyncManager as the SII SyncM category lists it: start address, default length,
    control byte, enable byte and type. A process data SyncManager's ``length`` is the ESI's
    default size (often 0: the master sizes it from the PDOs)."""

    start: int
    length: int
    control: int
    kind: SyncManagerType
    enable: SyncManagerEnable = SyncManagerEnable.ENABLE

    def __post_init__(self) -> None:
        for name, maximum in (("start", _U16_MAX), ("length", _U16_MAX), ("control", _U8_MAX)):
            _check_uint("SyncManager", name, getattr(self, name), maximum)
        object.__setattr__(self, "kind", SyncManagerType(self.kind))
        object.__setattr__(self, "enable", SyncManagerEnable(self.enable))

    @property
    def mode(self) -> SmMode:
        """Buffered or mailbox mode, from the control byte."""
        return SmMode(SmControl.decode(bytes((self.control,))).mode)

    @property
    def direction(self) -> SmDirection:
        """ECAT write (outputs, mailbox out) or read, from the control byte."""
        return SmDirection(SmControl.decode(bytes((self.control,))).direction)

    @property
    def process_data(self) -> bool:
        """True for a process data (output or input) SyncManager."""
        return self.kind in _PROCESS_DATA_KINDS

    def sii(self) -> SiiSyncManager:
        """The SII SyncM element."""
        return SiiSyncManager(self.start, self.length, self.control, self.enable, self.kind)


# ------------------------------------------------------------------------------------ PDOs
@dataclass(frozen=True, slots=True)
class PdoEntrySpec:
    """One mapped object of a PDO: index, subindex, bits, name and CoE data type. Index and
    subindex 0 make a gap of ``bit_length`` bits."""

    index: int
    subindex: int
    bit_length: int
    name: str = ""
    data_type: int = 0

    def __post_init__(self) -> None:
        _check_uint("PDO entry", "index", self.index, _U16_MAX)
        _check_uint("PDO entry", "subindex", self.subindex, _U8_MAX)
        _check_uint("PDO entry", "data_type", self.data_type, _U16_MAX)
        if not 1 <= self.bit_length <= _U8_MAX:
            raise ValueError(f"PDO entry 0x{self.index:04X}:{self.subindex:02X}: bit length "
                             f"{self.bit_length!r} outside 1..{_U8_MAX}")

    @property
    def gap(self) -> bool:
        """True for a gap (index 0, subindex 0)."""
        return self.index == 0 and self.subindex == 0

    @property
    def mapping_value(self) -> int:
        """The PDO mapping entry value ``index << 16 | subindex << 8 | bits``."""
        return pdo_mapping_value(self.index, self.subindex, self.bit_length)


@dataclass(frozen=True, slots=True)
class PdoSpec:
    """One PDO: mapping object index (0x1600+ RxPDO, 0x1A00+ TxPDO), name, entries, its
    default SyncManager (None: not assigned by default), whether its content is fixed."""

    index: int
    name: str
    entries: tuple[PdoEntrySpec, ...]
    sync_manager: Optional[int] = None
    fixed: bool = True
    mandatory: bool = False

    def __post_init__(self) -> None:
        _check_uint("PDO", "index", self.index, _U16_MAX)
        object.__setattr__(self, "entries", tuple(self.entries))
        if self.sync_manager is not None:
            _check_uint("PDO", "sync_manager", self.sync_manager, NOT_ASSIGNED - 1)

    @property
    def bit_length(self) -> int:
        """Bits of all entries."""
        return sum(entry.bit_length for entry in self.entries)


# ------------------------------------------------------------------------------- mailbox
@dataclass(frozen=True, slots=True)
class BootstrapMailbox:
    """The mailbox areas used in BOOT (SII words 0x0014-0x0017)."""

    receive_start: int
    receive_size: int
    send_start: int
    send_size: int


@dataclass(frozen=True, slots=True)
class MailboxSpec:
    """The mailbox protocols a device serves and their SII details. The standard mailbox
    areas are the device's SyncManagers 0 (receive) and 1 (send)."""

    protocols: MailboxProtocols
    coe_details: CoeDetails = CoeDetails(0)
    bootstrap: Optional[BootstrapMailbox] = None

    @property
    def coe(self) -> bool:
        """CoE is served."""
        return MailboxProtocols.COE in self.protocols

    @property
    def foe(self) -> bool:
        """FoE is served."""
        return MailboxProtocols.FOE in self.protocols

    @property
    def eoe(self) -> bool:
        """EoE is served."""
        return MailboxProtocols.EOE in self.protocols


@dataclass(frozen=True, slots=True)
class DcOpModeSpec:
    """One DC operation mode of the SII DC category (ESI ``Dc/OpMode``): its name, the value
    for the DC activation registers 0x0980-0x0981, cycle and shift settings."""

    name: str
    assign_activate: int
    description: str = ""
    cycle_time_sync0: int = 0
    shift_time_sync0: int = 0
    sync0_cycle_factor: int = 1
    shift_time_sync1: int = 0
    sync1_cycle_factor: int = 0


class _Strings:
    """The SII STRINGS category under construction: 1-based indices, each text once."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def index(self, text: str) -> int:
        if not text:
            return 0
        if text not in self.texts:
            if len(self.texts) >= _MAX_STRINGS:
                raise ValueError(f"SII image: more than {_MAX_STRINGS} distinct strings")
            self.texts.append(text)
        return self.texts.index(text) + 1


# ------------------------------------------------------------------------------ device
@dataclass(frozen=True, slots=True)
class DeviceDescription:
    """Everything the SII EEPROM and the standard objects of one kind of device say.

    :param identity: vendor, product, revision, serial number.
    :param order_code: the type, e.g. ``"EL2008"`` (SII string 1, the name SOEM shows).
    :param name: the long name (SII GENERAL name string; 0x1008 of CoE devices).
    :param group: the ESI group, e.g. ``"DigOut"``.
    :param esc: the ESC and its EEPROM-loaded settings.
    :param sync_managers: the SyncM category, by SyncManager index.
    :param fmmus: the FMMU category: what each FMMU is meant for.
    :param rx_pdos: RxPDOs (outputs), :param tx_pdos: TxPDOs (inputs).
    :param mailbox: mailbox protocols; None for a device without mailbox. A mailbox needs
        SyncManager 0 of type MAILBOX_OUT and 1 of type MAILBOX_IN.
    :param dc_op_modes: the DC category.
    :param ebus_current_ma: E-bus current drawn (negative: fed in, as a coupler does).
    :param alias: configured station alias in SII word 4.
    :param eeprom_bytes: EEPROM size, a multiple of 128 bytes (1 Kbit).
    :param flags: the GENERAL category's flags byte.
    """

    identity: DeviceIdentity
    order_code: str
    name: str
    group: str
    esc: EscParameters = EscParameters()
    sync_managers: tuple[SyncManagerSpec, ...] = ()
    fmmus: tuple[FmmuUsage, ...] = ()
    rx_pdos: tuple[PdoSpec, ...] = ()
    tx_pdos: tuple[PdoSpec, ...] = ()
    mailbox: Optional[MailboxSpec] = None
    dc_op_modes: tuple[DcOpModeSpec, ...] = ()
    ebus_current_ma: int = 0
    alias: int = 0
    eeprom_bytes: int = 2048
    flags: GeneralFlags = GeneralFlags(0)

    def __post_init__(self) -> None:
        for name in ("sync_managers", "fmmus", "rx_pdos", "tx_pdos", "dc_op_modes"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        who = f"device {self.order_code!r}"
        if not self.order_code:
            raise ValueError("a device needs an order code (SII string 1)")
        _check_uint(who, "alias", self.alias, _U16_MAX)
        if not -0x8000 <= self.ebus_current_ma <= 0x7FFF:
            raise ValueError(f"{who}: E-bus current {self.ebus_current_ma!r} mA does not fit an INT")
        if self.eeprom_bytes % EEPROM_SIZE_UNIT or not EEPROM_SIZE_UNIT <= self.eeprom_bytes <= _MAX_EEPROM_BYTES:
            raise ValueError(f"{who}: EEPROM size {self.eeprom_bytes!r} is no multiple of "
                             f"{EEPROM_SIZE_UNIT} bytes up to {_MAX_EEPROM_BYTES}")
        if len(self.sync_managers) > self.esc.sync_manager_count:
            raise ValueError(f"{who}: {len(self.sync_managers)} SyncManagers described, the ESC has "
                             f"{self.esc.sync_manager_count}")
        if len(self.fmmus) > self.esc.fmmu_count:
            raise ValueError(f"{who}: {len(self.fmmus)} FMMUs described, the ESC has {self.esc.fmmu_count}")
        for pdos, kind in ((self.rx_pdos, SyncManagerType.PROCESS_DATA_OUT),
                           (self.tx_pdos, SyncManagerType.PROCESS_DATA_IN)):
            for pdo in pdos:
                if pdo.sync_manager is not None and (
                        pdo.sync_manager >= len(self.sync_managers)
                        or self.sync_managers[pdo.sync_manager].kind is not kind):
                    raise ValueError(f"{who}: PDO 0x{pdo.index:04X} is assigned to SyncManager "
                                     f"{pdo.sync_manager}, which is no {kind.name} SyncManager")
        if self.mailbox is not None:
            kinds = tuple(sm.kind for sm in self.sync_managers[:2])
            if kinds != (SyncManagerType.MAILBOX_OUT, SyncManagerType.MAILBOX_IN):
                raise ValueError(f"{who}: a mailbox needs SyncManager 0 MAILBOX_OUT and 1 MAILBOX_IN, "
                                 f"got {kinds}")
            if self.mailbox.coe_details and not self.mailbox.coe:
                raise ValueError(f"{who}: CoE details without the CoE protocol")
        self.sii_image()  # everything must encode

    # ------------------------------------------------------------------------- queries
    @property
    def device_emulation(self) -> bool:
        """The ESC runs the AL state machine itself (no firmware judges requests)."""
        return self.esc.device_emulation

    @property
    def process_data_sync_managers(self) -> tuple[int, ...]:
        """Indices of the process data SyncManagers."""
        return tuple(index for index, sm in enumerate(self.sync_managers) if sm.process_data)

    def pdos_for(self, sync_manager: int) -> tuple[PdoSpec, ...]:
        """The PDOs assigned to ``sync_manager`` by default, in order."""
        pdos = self.rx_pdos + self.tx_pdos
        return tuple(pdo for pdo in pdos if pdo.sync_manager == sync_manager)

    def default_lengths(self) -> dict[int, int]:
        """Octets of each process data SyncManager with the default PDO assignment."""
        return {index: (sum(pdo.bit_length for pdo in self.pdos_for(index)) + _BITS_PER_OCTET - 1)
                // _BITS_PER_OCTET for index in self.process_data_sync_managers}

    def mailbox_layout(self) -> Optional[MailboxLayout]:
        """The standard mailbox (SyncManagers 0 and 1), or None without mailbox."""
        if self.mailbox is None:
            return None
        receive, send = self.sync_managers[0], self.sync_managers[1]
        return MailboxLayout.standard(receive.start, receive.length, send.start, send.length)

    def boot_mailbox_layout(self) -> Optional[MailboxLayout]:
        """The bootstrap mailbox, or None when the device has none."""
        if self.mailbox is None or self.mailbox.bootstrap is None:
            return None
        boot = self.mailbox.bootstrap
        return MailboxLayout.standard(boot.receive_start, boot.receive_size, boot.send_start, boot.send_size)

    def sync_manager_layout(self, lengths: Optional[Mapping[int, int]] = None) -> SyncManagerLayout:
        """The SyncManager configuration the firmware expects, with process data SyncManagers
        of ``lengths`` octets (default :meth:`default_lengths`): the mailbox SyncManagers as the
        SII says, a process data SyncManager at its SII start address, mode and direction."""
        sizes = self.default_lengths() if lengths is None else dict(lengths)
        process_data = tuple(
            ExpectedSyncManager(index, sm.start, sizes.get(index, 0), sm.mode, sm.direction)
            for index, sm in enumerate(self.sync_managers) if sm.process_data)
        return SyncManagerLayout(self.mailbox_layout(), self.boot_mailbox_layout(), process_data)

    # ------------------------------------------------------------------------------ SII
    def sii_image(self) -> SiiImage:
        """The SII content as a :class:`~ethercat_master.protocol.sii.SiiImage`."""
        strings = _Strings()
        order_idx = strings.index(self.order_code)
        group_idx = strings.index(self.group)
        name_idx = strings.index(self.name)
        rx = tuple(self._sii_pdo(pdo, strings) for pdo in self.rx_pdos)
        tx = tuple(self._sii_pdo(pdo, strings) for pdo in self.tx_pdos)
        dc = tuple(SiiDcOpMode(cycle_time_sync0=mode.cycle_time_sync0, shift_time_sync0=mode.shift_time_sync0,
                               shift_time_sync1=mode.shift_time_sync1, sync1_cycle_factor=mode.sync1_cycle_factor,
                               assign_activate=mode.assign_activate, sync0_cycle_factor=mode.sync0_cycle_factor,
                               name_idx=strings.index(mode.name), desc_idx=strings.index(mode.description))
                   for mode in self.dc_op_modes)
        mailbox = self.mailbox
        general = SiiGeneral(
            group_idx=group_idx,
            order_idx=order_idx,
            name_idx=name_idx,
            coe_details=mailbox.coe_details if mailbox is not None else CoeDetails(0),
            foe_details=FoeDetails.ENABLE_FOE if mailbox is not None and mailbox.foe else FoeDetails(0),
            eoe_details=EoeDetails.ENABLE_EOE if mailbox is not None and mailbox.eoe else EoeDetails(0),
            flags=self.flags,
            ebus_current=self.ebus_current_ma,
            group_idx_dup=group_idx,
            physical_ports=tuple(_SII_PORT_TYPES[PortType(port)] for port in self.esc.ports),
        )
        return SiiImage(info=self._sii_info(), strings=tuple(strings.texts), general=general,
                        fmmus=self.fmmus, sync_managers=tuple(sm.sii() for sm in self.sync_managers),
                        tx_pdos=tx, rx_pdos=rx, dc_op_modes=dc)

    def sii(self) -> bytes:
        """The whole EEPROM image."""
        return self.sii_image().build()

    def _sii_info(self) -> SiiInfo:
        standard = boot = (0, 0, 0, 0)
        protocols = MailboxProtocols(0)
        if self.mailbox is not None:
            receive, send = self.sync_managers[0], self.sync_managers[1]
            standard = (receive.start, receive.length, send.start, send.length)
            protocols = self.mailbox.protocols
            if self.mailbox.bootstrap is not None:
                b = self.mailbox.bootstrap
                boot = (b.receive_start, b.receive_size, b.send_start, b.send_size)
        ident = self.identity
        return SiiInfo(
            pdi_control=self.esc.pdi_control,
            sync_impulse_length=_SYNC_IMPULSE_LENGTH if self.dc_op_modes else 0,
            configured_station_alias=self.alias,
            vendor_id=ident.vendor_id,
            product_code=ident.product_code,
            revision_number=ident.revision,
            serial_number=ident.serial_number,
            bootstrap_receive_mailbox_offset=boot[0],
            bootstrap_receive_mailbox_size=boot[1],
            bootstrap_send_mailbox_offset=boot[2],
            bootstrap_send_mailbox_size=boot[3],
            standard_receive_mailbox_offset=standard[0],
            standard_receive_mailbox_size=standard[1],
            standard_send_mailbox_offset=standard[2],
            standard_send_mailbox_size=standard[3],
            mailbox_protocols=protocols,
            eeprom_size=self.eeprom_bytes // EEPROM_SIZE_UNIT - 1,
        )

    @staticmethod
    def _sii_pdo(pdo: PdoSpec, strings: _Strings) -> SiiPdo:
        flags = PdoFlags(0)
        if pdo.fixed:
            flags |= PdoFlags.FIXED_CONTENT
        if pdo.mandatory:
            flags |= PdoFlags.MANDATORY
        if pdo.sync_manager is not None:
            flags |= PdoFlags.DEFAULT
        entries = tuple(SiiPdoEntry(entry.index, entry.subindex, entry.bit_length, entry.data_type & _U8_MAX,
                                    strings.index(entry.name)) for entry in pdo.entries)
        assigned = NOT_ASSIGNED if pdo.sync_manager is None else pdo.sync_manager
        return SiiPdo(pdo.index, entries, assigned, 0, strings.index(pdo.name), flags)

    # ------------------------------------------------------------------------------ CoE
    def communication_objects(
        self,
        *,
        device_type_value: int,
        hardware: str,
        software: str,
        sync_modes: SyncModeSupport = SyncModeSupport.FREE_RUN | SyncModeSupport.SYNCHRON,
        minimum_cycle_time_ns: int = 0,
    ) -> list[OdObject]:
        """The standard objects of a CoE device built from this description: 0x1000
        (``device_type_value``), 0x1001, 0x1008 (:attr:`name`), 0x1009 ``hardware``, 0x100A
        ``software``, 0x1018, one mapping object per PDO (writable in PRE-OP when the PDO is not
        fixed and the CoE details allow PDO configuration), 0x1C00, the PDO assignment of each
        process data SyncManager (writable in PRE-OP when the CoE details allow PDO
        assignment; room for every PDO of its direction) and its synchronisation parameters
        0x1C30 + n supporting ``sync_modes``."""
        if self.mailbox is None or not self.mailbox.coe:
            raise ValueError(f"device {self.order_code!r} has no CoE")
        details = self.mailbox.coe_details
        configurable = CoeDetails.ENABLE_PDO_CONFIGURATION in details
        assignable = CoeDetails.ENABLE_PDO_ASSIGN in details
        ident = self.identity
        objects = [
            device_type(device_type_value),
            error_register(),
            device_name(self.name),
            hardware_version(hardware),
            software_version(software),
            identity(ident.vendor_id, ident.product_code, ident.revision, ident.serial_number),
        ]
        for pdo in sorted(self.rx_pdos + self.tx_pdos, key=lambda p: p.index):
            objects.append(pdo_mapping(pdo.index, pdo.name, [entry.mapping_value for entry in pdo.entries],
                                       writable=configurable and not pdo.fixed))
        objects.append(sync_manager_types([sm.kind for sm in self.sync_managers]))
        for index in self.process_data_sync_managers:
            outputs = self.sync_managers[index].kind is SyncManagerType.PROCESS_DATA_OUT
            candidates = self.rx_pdos if outputs else self.tx_pdos
            objects.append(pdo_assignment(index, [pdo.index for pdo in self.pdos_for(index)],
                                          capacity=len(candidates), writable=assignable))
        for index in self.process_data_sync_managers:
            objects.append(sync_manager_parameter(index, supported=sync_modes,
                                                  minimum_cycle_time_ns=minimum_cycle_time_ns))
        return objects

