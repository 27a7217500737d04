"""The network description: which link, which cycle, which slaves with which settings.

A YAML file (``config/network_template.yaml`` documents every key) becomes a frozen
:class:`NetworkConfig` tree with :func:`load_network` / :func:`parse_network`;
:func:`dump_network` writes one back so that loading the text gives an equal object.

::

    interface: eth0                # eth0 | raw:eth0 | udp:HOST:PORT | sim:CHAIN.yaml
    cycle_period: 1ms              # "500us", "1ms", or seconds as a number
    allow_extra_slaves: false      # slaves on the bus that the list below does not name
    process_data_watchdog: 100ms   # SM watchdog of every slave (0: off; a slave may override it)
    mailbox: {...}                 # MailboxSettings for every slave (a slave may override keys)
    dc: {enabled: true, reference_clock: coupler, mode: master_follows_bus}
    recovery: {...}                # RecoverySettings
    slaves:
      - name: coupler
        position: 0                # or alias: 0x0101 (exactly one of them)
        identity: {vendor_id: 0x2, product_code: 0x044C2C52, revision: 0x00120000}
      - name: axis1
        alias: 0x0101
        esi: drives.xml            # identity, PDOs and InitCmds from an ESI file ...
        device: {product_code: 0x402, revision: 1}     # ... this device of it
        startup_sdos:
          - {transition: PS, index: 0x6060, subindex: 0, type: INTEGER8, value: 8}
          - {transition: [PS], index: 0x1C12, subindex: 0, data: "00", complete_access: true}
        pdo:
          rxpdo: [0x1600]
          txpdo: [0x1A00]
          mappings:
            - index: 0x1600
              entries: [{index: 0x6040, subindex: 0, bits: 16, name: controlword}]
        dc: {assign_activate: 0x0300, sync0_cycle: 1ms, sync0_shift: 0}
        drive: {joint: joint1, unit: rad, counts_per_unit: 20860.76, mode: csp}

Every value is validated; a problem raises :class:`~ethercat_master.errors.ConfigError`
naming the file, the line, the field (``slaves[2].startup_sdos[0].index``) and what was
expected. Unknown keys are errors with a "did you mean" suggestion. Paths (``esi``, ``sim:``)
are relative to the directory of the network file.

:func:`check_bus` compares the slaves a bus scan found with the configured ones.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Optional, Protocol, Sequence, Union

import yaml

from ..errors import ConfigError
from ..protocol.coe import COMPLETE_ACCESS_MAX_SUBINDEX, DataType, encode_value
from .esi import EsiDevice, EsiFile, EsiInitCommand, Transition, data_type_by_name, load_esi
from .yaml_source import Mapping, Value, compose, format_duration_ns, load_file

__all__ = [
    "MIN_CYCLE_PERIOD_NS",
    "MAX_CYCLE_PERIOD_NS",
    "MAX_POSITION",
    "MAX_WATCHDOG_NS",
    "ASSIGN_ACTIVATE_SYNC0",
    "ASSIGN_ACTIVATE_SYNC01",
    "RXPDO_INDICES",
    "TXPDO_INDICES",
    "LinkKind",
    "LinkSpec",
    "Identity",
    "EsiSelection",
    "StartupSdo",
    "PdoEntry",
    "PdoMapping",
    "PdoConfig",
    "StatusMode",
    "BackoffSettings",
    "MailboxSettings",
    "SlaveDc",
    "DcMode",
    "DcSettings",
    "DriveUnit",
    "DriveMode",
    "DriveSettings",
    "FailureAction",
    "RecoverySettings",
    "SlaveConfig",
    "NetworkConfig",
    "parse_network",
    "load_network",
    "dump_network",
    "ScannedSlave",
    "FoundSlave",
    "MismatchKind",
    "BusMismatch",
    "check_bus",
]

_U8_MAX = 0xFF
_U16_MAX = 0xFFFF
_U32_MAX = 0xFFFF_FFFF
_I32_MIN, _I32_MAX = -0x8000_0000, 0x7FFF_FFFF
_NS_PER_US = 1_000
_NS_PER_MS = 1_000_000
_NS_PER_S = 1_000_000_000

#: Shortest cycle period accepted (50 us).
MIN_CYCLE_PERIOD_NS = 50 * _NS_PER_US
#: Longest cycle period accepted (10 s).
MAX_CYCLE_PERIOD_NS = 10 * _NS_PER_S
#: Longest process data watchdog (register 0x0420: 16 bits of 100 us with the standard divider).
MAX_WATCHDOG_NS = 0xFFFF * 100 * 1_000
#: Highest auto-increment position (a bus holds at most 65535 slaves).
MAX_POSITION = 0xFFFE
#: Object indices of RxPDO mappings (ETG.1000.6 object dictionary areas).
RXPDO_INDICES = range(0x1600, 0x1800)
#: Object indices of TxPDO mappings.
TXPDO_INDICES = range(0x1A00, 0x1C00)
#: Entries one PDO mapping (or assignment) object holds: subindex 0 is an UNSIGNED8 count.
_MAX_PDO_ENTRIES = _U8_MAX
#: A mapping entry holds its bit length in one octet.
_MAX_ENTRY_BITS = _U8_MAX
#: Linux interface names are at most IFNAMSIZ - 1 characters.
_MAX_INTERFACE_NAME = 15
_MAX_PORT = 0xFFFF
#: Register 0x0980 (DC activation) default: cyclic unit and SYNC0 (ETG.1020; SOEM ``ecx_dcsync0``).
ASSIGN_ACTIVATE_SYNC0 = 0x0300
#: The same with SYNC1 (SOEM ``ecx_dcsync01``).
ASSIGN_ACTIVATE_SYNC01 = 0x0700
#: The mailbox engine's defaults (``ethercat_master.master.mailbox.MailboxPolicy``).
_DEFAULT_ATTEMPTS = 3
_DEFAULT_INITIAL_DELAY_NS = 200 * _NS_PER_US
_DEFAULT_FACTOR = 2.0
_DEFAULT_MAX_DELAY_NS = 10 * _NS_PER_MS
_DEFAULT_DEADLINE_NS = 3 * _NS_PER_S
_DEFAULT_REPLY_TIMEOUT_NS = 250 * _NS_PER_MS
_DEFAULT_IDLE_POLL_NS = 10 * _NS_PER_MS
_DEFAULT_EMERGENCY_CAPACITY = 64
_MAX_EMERGENCY_CAPACITY = 1 << 20
_MAX_ATTEMPTS = 1000
_MAX_FACTOR = 1000.0
_MAX_MAILBOX_TIME_NS = 3600 * _NS_PER_S
_DEFAULT_CHECK_INTERVAL_NS = 100 * _NS_PER_MS
_DEFAULT_WKC_THRESHOLD = 3
_DEFAULT_RECOVERY_ATTEMPTS = 5
_DEFAULT_RETRY_DELAY_NS = _NS_PER_S
_MAX_RECOVERY_COUNT = 1_000_000
_MAX_RECOVERY_TIME_NS = 3600 * _NS_PER_S

#: Data types a start-up SDO may give as ``type`` + ``value`` (the others take ``data``).
_VALUE_TYPES = frozenset(
    {DataType.BOOLEAN, DataType.REAL32, DataType.REAL64, DataType.VISIBLE_STRING, DataType.UNICODE_STRING,
     DataType.INTEGER8, DataType.INTEGER16, DataType.INTEGER24, DataType.INTEGER32, DataType.INTEGER40,
     DataType.INTEGER48, DataType.INTEGER56, DataType.INTEGER64, DataType.UNSIGNED8, DataType.UNSIGNED16,
     DataType.UNSIGNED24, DataType.UNSIGNED32, DataType.UNSIGNED40, DataType.UNSIGNED48, DataType.UNSIGNED56,
     DataType.UNSIGNED64, DataType.BYTE, DataType.WORD, DataType.DWORD, DataType.BITARR8, DataType.BITARR16,
     DataType.BITARR32, *(DataType(DataType.BIT1 + n) for n in range(8))})
_REAL_TYPES = frozenset({DataType.REAL32, DataType.REAL64})
_TEXT_TYPES = frozenset({DataType.VISIBLE_STRING, DataType.UNICODE_STRING})

SdoValue = Union[bool, int, float, str]


# ------------------------------------------------------------------------------------ link
class LinkKind(enum.Enum):
    """How the master reaches the bus."""

    #: A network interface, raw Ethernet frames (``eth0`` or ``raw:eth0``).
    INTERFACE = "interface"
    #: EtherCAT in UDP to a peer (``udp:HOST:PORT``).
    UDP = "udp"
    #: The built-in simulator running a chain file (``sim:PATH``).
    SIM = "sim"


@dataclass(frozen=True, slots=True)
class LinkSpec:
    """The link of a network: an interface name, a UDP peer (host and port) or the chain file
    of the simulator (as written, relative to the network file)."""

    kind: LinkKind
    target: str
    port: Optional[int] = None

    @property
    def spec(self) -> str:
        """The spec as written in a file (``eth0``, ``udp:10.0.0.2:34980``, ``sim:chain.yaml``);
        for interfaces and UDP, what ``ethercat_master.transport.open_link`` takes."""
        if self.kind is LinkKind.UDP:
            return f"udp:{self.target}:{self.port}"
        if self.kind is LinkKind.SIM:
            return f"sim:{self.target}"
        return self.target

    def __str__(self) -> str:
        return self.spec


# -------------------------------------------------------------------------------- identity
@dataclass(frozen=True, slots=True)
class Identity:
    """The identity a slave must have (CoE 0x1018, SII words 0x0008-0x000F); revision and
    serial number are checked only when given."""

    vendor_id: int
    product_code: int
    revision: Optional[int] = None
    serial: Optional[int] = None

    def describe(self) -> str:
        """``"vendor 0x00000002 product 0x07D83052 revision 0x00120000"``."""
        text = f"vendor 0x{self.vendor_id:08X} product 0x{self.product_code:08X}"
        if self.revision is not None:
            text += f" revision 0x{self.revision:08X}"
        return text + ("" if self.serial is None else f" serial {self.serial}")


@dataclass(frozen=True, slots=True)
class EsiSelection:
    """The ESI device a slave takes its description from.

    :ivar file: the ESI file as written (relative to the network file).
    :ivar device: the selected device (product code and revision identify it).
    """

    file: str
    device: EsiDevice


# ------------------------------------------------------------------------------ startup SDO
@dataclass(frozen=True, slots=True)
class StartupSdo:
    """An SDO download the master makes in AL state transitions.

    Written either as a typed value (:attr:`data_type` and :attr:`value`, encoded into
    :attr:`data`) or as raw octets (:attr:`data` alone, in transfer order).
    """

    transitions: tuple[Transition, ...]
    index: int
    subindex: int
    data: bytes
    data_type: Optional[DataType] = None
    value: Optional[SdoValue] = None
    complete_access: bool = False
    comment: str = ""

    @classmethod
    def from_esi(cls, command: EsiInitCommand) -> StartupSdo:
        """The start-up SDO of an ESI ``InitCmd``."""
        return cls(command.transitions, command.index, command.subindex, command.data,
                   complete_access=command.complete_access, comment=command.comment)


# ------------------------------------------------------------------------------------- PDO
@dataclass(frozen=True, slots=True)
class PdoEntry:
    """One entry of a PDO mapping: the object mapped (index 0: padding), its bit length (the
    ``bits`` key) and optionally a name for it."""

    index: int
    subindex: int
    bit_length: int
    name: str = ""


@dataclass(frozen=True, slots=True)
class PdoMapping:
    """The entries a PDO mapping object (0x1600.. or 0x1A00..) is given."""

    index: int
    entries: tuple[PdoEntry, ...]


@dataclass(frozen=True, slots=True)
class PdoConfig:
    """PDO settings of a slave: assignments (None keeps the slave's or ESI's default) and
    mappings to write."""

    rx_assignment: Optional[tuple[int, ...]] = None
    tx_assignment: Optional[tuple[int, ...]] = None
    mappings: tuple[PdoMapping, ...] = ()

    def mapping(self, index: int) -> Optional[PdoMapping]:
        """The mapping given for PDO ``index``, None when there is none."""
        return next((item for item in self.mappings if item.index == index), None)


# --------------------------------------------------------------------------------- mailbox
class StatusMode(enum.Enum):
    """How the mailbox engine learns whether the mailboxes are full (``docs/mailbox.md``);
    the values of ``ethercat_master.master.mailbox.StatusMode``."""

    STRICT = "strict"
    HYBRID = "hybrid"
    POLL = "poll"


@dataclass(frozen=True, slots=True)
class BackoffSettings:
    """Retries of mailbox requests (``BackoffPolicy``); times in nanoseconds."""

    attempts: int = _DEFAULT_ATTEMPTS
    initial_delay_ns: int = _DEFAULT_INITIAL_DELAY_NS
    factor: float = _DEFAULT_FACTOR
    max_delay_ns: int = _DEFAULT_MAX_DELAY_NS
    deadline_ns: int = _DEFAULT_DEADLINE_NS


@dataclass(frozen=True, slots=True)
class MailboxSettings:
    """The mailbox policy of a slave (``MailboxPolicy``); times in nanoseconds."""

    status_mode: StatusMode = StatusMode.HYBRID
    backoff: BackoffSettings = BackoffSettings()
    reply_timeout_ns: int = _DEFAULT_REPLY_TIMEOUT_NS
    idle_poll_interval_ns: int = _DEFAULT_IDLE_POLL_NS
    emergency_capacity: int = _DEFAULT_EMERGENCY_CAPACITY


# -------------------------------------------------------------------------------------- DC
@dataclass(frozen=True, slots=True)
class SlaveDc:
    """Distributed-clock synchronisation of one slave (times in nanoseconds).

    :ivar assign_activate: the value for register 0x0980 (default: cyclic unit and SYNC0).
    :ivar sync0_cycle_ns: SYNC0 cycle; None: the network's cycle period.
    :ivar sync1_cycle_ns: SYNC1 cycle time register (0x09A4) value; None: SYNC1 unused.
    :ivar op_mode: the ESI ``Dc/OpMode`` whose ``AssignActivate`` this is, when named.
    """

    assign_activate: int = ASSIGN_ACTIVATE_SYNC0
    sync0_cycle_ns: Optional[int] = None
    sync0_shift_ns: int = 0
    sync1_cycle_ns: Optional[int] = None
    sync1_shift_ns: int = 0
    op_mode: Optional[str] = None


class DcMode(enum.Enum):
    """Which clock follows which."""

    #: The master adjusts its cycle to the reference clock (no drift correction writes).
    MASTER_FOLLOWS_BUS = "master_follows_bus"
    #: The master writes its own time to the reference clock, the bus follows the host.
    BUS_FOLLOWS_MASTER = "bus_follows_master"


@dataclass(frozen=True, slots=True)
class DcSettings:
    """Distributed clocks of the network. Off without a ``dc`` section; a section turns them
    on unless it says ``enabled: false``.

    :ivar reference_clock: the reference clock: a slave's name, a bus position, or None for
        the first slave with DC.
    """

    enabled: bool = False
    reference_clock: Union[None, int, str] = None
    mode: DcMode = DcMode.MASTER_FOLLOWS_BUS


# ----------------------------------------------------------------------------------- drive
class DriveUnit(enum.Enum):
    """The unit of a drive's joint position: radians (rotary) or metres (linear)."""

    RAD = "rad"
    M = "m"


class DriveMode(enum.Enum):
    """The CiA 402 mode of operation a drive runs in (0x6060)."""

    CSP = "csp"
    CSV = "csv"
    CST = "cst"
    PP = "pp"
    PV = "pv"


@dataclass(frozen=True, slots=True)
class DriveSettings:
    """How the ROS layer sees a CiA 402 drive: its joint, unit, scaling and mode."""

    joint: str
    unit: DriveUnit
    counts_per_unit: float
    mode: DriveMode = DriveMode.CSP


# -------------------------------------------------------------------------------- recovery
class FailureAction(enum.Enum):
    """What the master does with a slave it could not recover."""

    #: Keep the other slaves in OP; the lost slave's data is stale and flagged.
    KEEP_RUNNING = "keep_running"
    #: Take the whole bus to SAFE-OP (outputs to their safe state).
    SAFE_OP = "safe_op"


@dataclass(frozen=True, slots=True)
class RecoverySettings:
    """How the master brings back slaves that left OP or disappeared.

    :ivar check_interval_ns: how often slave states are read while all is well.
    :ivar wkc_error_threshold: consecutive cycles with a wrong working counter after which
        the master checks the slaves at once.
    :ivar max_attempts: recovery attempts per slave before :attr:`on_failure`; 0: no limit.
    :ivar retry_delay_ns: pause between attempts on one slave.
    """

    enabled: bool = True
    check_interval_ns: int = _DEFAULT_CHECK_INTERVAL_NS
    wkc_error_threshold: int = _DEFAULT_WKC_THRESHOLD
    max_attempts: int = _DEFAULT_RECOVERY_ATTEMPTS
    retry_delay_ns: int = _DEFAULT_RETRY_DELAY_NS
    on_failure: FailureAction = FailureAction.KEEP_RUNNING


# ------------------------------------------------------------------------------- the tree
@dataclass(frozen=True, slots=True)
class SlaveConfig:
    """One expected slave: where it is (position or alias), what it is, how to set it up.

    :ivar mailbox: its own mailbox policy; None: the network's.
    :ivar startup_sdos: the SDOs written in the file (:meth:`all_startup_sdos` adds the ESI's).
    :ivar process_data_watchdog_ns: its own SM watchdog time (0: off); None: the network's.
    """

    name: str
    identity: Identity
    position: Optional[int] = None
    alias: Optional[int] = None
    esi: Optional[EsiSelection] = None
    startup_sdos: tuple[StartupSdo, ...] = ()
    pdo: Optional[PdoConfig] = None
    mailbox: Optional[MailboxSettings] = None
    dc: Optional[SlaveDc] = None
    drive: Optional[DriveSettings] = None
    process_data_watchdog_ns: Optional[int] = None

    def describe(self) -> str:
        """``"axis1 (alias 0x0101)"`` or ``"coupler (position 0)"``."""
        where = f"position {self.position}" if self.alias is None else f"alias 0x{self.alias:04X}"
        return f"{self.name} ({where})"

    def all_startup_sdos(self) -> tuple[StartupSdo, ...]:
        """The ESI's InitCmds, then the SDOs of the file (later writes win)."""
        from_esi = () if self.esi is None else tuple(StartupSdo.from_esi(c) for c in self.esi.device.init_commands)
        return from_esi + self.startup_sdos

    def rx_assignment(self) -> Optional[tuple[int, ...]]:
        """The RxPDOs to assign: the file's, else the ESI's default; None: leave the slave's."""
        if self.pdo is not None and self.pdo.rx_assignment is not None:
            return self.pdo.rx_assignment
        return None if self.esi is None else self.esi.device.default_rx_assignment

    def tx_assignment(self) -> Optional[tuple[int, ...]]:
        """The TxPDOs to assign: the file's, else the ESI's default; None: leave the slave's."""
        if self.pdo is not None and self.pdo.tx_assignment is not None:
            return self.pdo.tx_assignment
        return None if self.esi is None else self.esi.device.default_tx_assignment


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    """A validated network description.

    :ivar cycle_period_ns: the cycle period in nanoseconds.
    :ivar allow_extra_slaves: slaves on the bus beyond the configured ones are accepted.
    :ivar file: the file it was read from (not compared).
    :ivar base_dir: the directory relative paths are resolved in (not compared).
    :ivar process_data_watchdog_ns: the SM watchdog time the master writes to every slave
        (0: off); None leaves each slave's power-on value (100 ms on Beckhoff ESCs).
    """

    interface: LinkSpec
    cycle_period_ns: int
    slaves: tuple[SlaveConfig, ...]
    mailbox: MailboxSettings = MailboxSettings()
    dc: DcSettings = DcSettings()
    recovery: RecoverySettings = RecoverySettings()
    allow_extra_slaves: bool = False
    file: str = field(default="<string>", compare=False)
    base_dir: str = field(default=".", compare=False)
    process_data_watchdog_ns: Optional[int] = None

    @property
    def cycle_period(self) -> float:
        """The cycle period in seconds."""
        return self.cycle_period_ns / _NS_PER_S

    def slave(self, name: str) -> SlaveConfig:
        """The slave called ``name``; KeyError when there is none."""
        for slave in self.slaves:
            if slave.name == name:
                return slave
        raise KeyError(name)

    def watchdog_for(self, slave: SlaveConfig) -> Optional[int]:
        """The process data watchdog of ``slave`` in ns: its own, else the network's (None: leave it)."""
        return self.process_data_watchdog_ns if slave.process_data_watchdog_ns is None \
            else slave.process_data_watchdog_ns

    def mailbox_for(self, slave: SlaveConfig) -> MailboxSettings:
        """The mailbox policy of ``slave``: its own, else the network's."""
        return self.mailbox if slave.mailbox is None else slave.mailbox

    def resolve(self, path: str) -> Path:
        """A path of the file (``esi``, ``sim:``) made absolute against :attr:`base_dir`."""
        return (Path(self.base_dir) / path).resolve()


# --------------------------------------------------------------------------------- parsing
class _Parser:
    """Reads one network file; relative paths resolve in ``base_dir``; each ESI file is read once."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.esi_files: dict[Path, EsiFile] = {}

    # ---------------------------------------------------------------------- top level
    def network(self, root: Value) -> NetworkConfig:
        top = root.mapping()
        interface = self.link(top.require("interface", "the link: an interface name, udp:HOST:PORT or sim:PATH"))
        cycle = top.require("cycle_period", "the cycle period, e.g. \"1ms\"").duration_ns(
            MIN_CYCLE_PERIOD_NS, MAX_CYCLE_PERIOD_NS)
        extra = top.take("allow_extra_slaves")
        mailbox_value = top.take("mailbox")
        mailbox = MailboxSettings() if mailbox_value is None else self.mailbox(mailbox_value, MailboxSettings())
        slaves_value = top.require("slaves", "the list of expected slaves")
        slaves = tuple(self.slave(item, mailbox) for item in slaves_value.items("a list of slaves"))
        if not slaves:
            slaves_value.fail("at least one slave")
        self.check_slaves(slaves_value, slaves)
        dc_value = top.take("dc")
        dc = DcSettings() if dc_value is None else self.dc(dc_value, slaves)
        if not dc.enabled:
            for item, slave in zip(slaves_value.items(), slaves):
                if slave.dc is not None:
                    item.mapping().fail("dc", "dc.enabled: true in the network's dc section (this slave uses DC)")
        recovery_value = top.take("recovery")
        recovery = RecoverySettings() if recovery_value is None else self.recovery(recovery_value)
        watchdog = self.watchdog(top)
        top.finish()
        return NetworkConfig(interface, cycle, slaves, mailbox, dc, recovery,
                             False if extra is None else extra.boolean(), root.file, str(self.base_dir), watchdog)

    @staticmethod
    def watchdog(settings: Mapping) -> Optional[int]:
        value = settings.take("process_data_watchdog")
        return None if value is None else value.duration_ns(0, MAX_WATCHDOG_NS)

    def link(self, value: Value) -> LinkSpec:
        text = value.string("the link: an interface name, udp:HOST:PORT or sim:PATH").strip()
        scheme, separator, rest = text.partition(":")
        if separator and scheme == "udp":
            host, port_separator, port = rest.rpartition(":")
            if not port_separator or not host or not port.isdigit() or not 1 <= int(port) <= _MAX_PORT:
                value.fail(f"udp:HOST:PORT with a port in 1..{_MAX_PORT}, got {text!r}")
            return LinkSpec(LinkKind.UDP, host, int(port))
        if separator and scheme == "sim":
            if not rest or not _is_file(self.base_dir / rest):
                value.fail(f"sim:PATH naming an existing chain file (relative to {self.base_dir}), got {text!r}")
            return LinkSpec(LinkKind.SIM, rest)
        name = rest if separator and scheme == "raw" else text
        if (separator and scheme != "raw") or not 0 < len(name) <= _MAX_INTERFACE_NAME or "/" in name \
                or ":" in name or any(character.isspace() for character in name):
            value.fail(f"an interface name of 1..{_MAX_INTERFACE_NAME} characters without '/', ':' or spaces "
                       f"(eth0, raw:eth0), udp:HOST:PORT or sim:PATH, got {text!r}")
        return LinkSpec(LinkKind.INTERFACE, name)

    # -------------------------------------------------------------------------- slaves
    def slave(self, value: Value, network_mailbox: MailboxSettings) -> SlaveConfig:
        settings = value.mapping()
        name = settings.require("name", "the slave's name").string()
        if settings.exclusive("position", "alias") is None:
            settings.fail("position", "position: N or alias: 0xNNNN to say which slave this is (missing)")
        position_value, alias_value = settings.take("position"), settings.take("alias")
        position = None if position_value is None else position_value.integer(0, MAX_POSITION, "a bus position")
        alias = None if alias_value is None else alias_value.integer(1, _U16_MAX, "a station alias")
        identity_value = settings.take("identity")
        identity = None if identity_value is None else self.identity(identity_value)
        esi = self.esi(settings, identity)
        if esi is not None:
            identity = self.esi_identity(identity_value, identity, esi)
        elif identity is None:
            settings.fail("identity", "the slave's identity: vendor_id and product_code (or an esi file) (missing)")
        sdos_value = settings.take("startup_sdos")
        sdos = () if sdos_value is None else tuple(self.startup_sdo(item) for item in sdos_value.items())
        pdo_value = settings.take("pdo")
        pdo = None if pdo_value is None else self.pdo(pdo_value, None if esi is None else esi.device)
        mailbox_value = settings.take("mailbox")
        mailbox = None if mailbox_value is None else self.mailbox(mailbox_value, network_mailbox)
        dc_value = settings.take("dc")
        dc = None if dc_value is None else self.slave_dc(dc_value, None if esi is None else esi.device)
        drive_value = settings.take("drive")
        drive = None if drive_value is None else self.drive(drive_value)
        watchdog = self.watchdog(settings)
        settings.finish()
        return SlaveConfig(name, identity, position, alias, esi, sdos, pdo, mailbox, dc, drive, watchdog)

    @staticmethod
    def check_slaves(slaves_value: Value, slaves: tuple[SlaveConfig, ...]) -> None:
        """Names, positions, aliases and joints must be unique."""
        seen: dict[tuple[str, object], str] = {}
        for item, slave in zip(slaves_value.items(), slaves):
            settings = item.mapping()
            drive_value = settings.take("drive")
            drive = None if drive_value is None else drive_value.mapping()
            checks = [("name", slave.name, settings), ("position", slave.position, settings),
                      ("alias", slave.alias, settings), ("joint", None if slave.drive is None else slave.drive.joint,
                                                         drive)]
            for key, key_value, where in checks:
                if key_value is None or where is None:
                    continue
                first = seen.get((key, key_value))
                if first is not None:
                    shown = f"0x{key_value:04X}" if key == "alias" else repr(key_value)
                    where.fail(key, f"a {key} no other slave has ({shown} is also slave {first!r}'s)")
                seen[(key, key_value)] = slave.name

    def identity(self, value: Value) -> Identity:
        settings = value.mapping()
        identity = Identity(
            vendor_id=settings.require("vendor_id", "the vendor ID").integer(0, _U32_MAX, "a vendor ID"),
            product_code=settings.require("product_code", "the product code").integer(0, _U32_MAX, "a product code"),
            revision=self.optional_u32(settings, "revision"),
            serial=self.optional_u32(settings, "serial"))
        settings.finish()
        return identity

    @staticmethod
    def optional_u32(settings: Mapping, key: str) -> Optional[int]:
        value = settings.take(key)
        return None if value is None else value.integer(0, _U32_MAX, f"a {key} number")

    # ----------------------------------------------------------------------------- ESI
    def esi(self, settings: Mapping, identity: Optional[Identity]) -> Optional[EsiSelection]:
        file_value = settings.take("esi")
        device_value = settings.take("device")
        if file_value is None:
            if device_value is not None:
                settings.fail("device", "device only together with esi")
            return None
        file = file_value.string("an ESI file path")
        path = self.base_dir / file
        esi_file = self.esi_files.get(path)
        if esi_file is None:
            try:
                esi_file = load_esi(path)
            except ConfigError as exc:
                file_value.fail(f"a valid ESI file: {exc}")
            self.esi_files[path] = esi_file
        product_code = None if identity is None else identity.product_code
        revision = None if identity is None else identity.revision
        where = file_value
        if device_value is not None:
            device = device_value.mapping()
            product_code = device.require("product_code", "the ESI device's product code").integer(
                0, _U32_MAX, "a product code")
            revision = self.optional_u32(device, "revision")
            device.finish()
            where = device_value
        if product_code is None:
            products = sorted({device.product_code for device in esi_file.devices})
            if len(products) != 1:
                listed = ", ".join(f"0x{code:08X}" for code in products[:8]) + (", ..." if len(products) > 8 else "")
                settings.fail("device", f"device: {{product_code: ...}} to choose among the ESI's products ({listed})")
            product_code = products[0]
        try:
            chosen = esi_file.find_device(product_code, revision)
        except ConfigError as exc:
            where.fail(exc.expected)
        return EsiSelection(file, chosen)

    @staticmethod
    def esi_identity(value: Optional[Value], identity: Optional[Identity], esi: EsiSelection) -> Identity:
        """The ESI device's identity; an identity written too must agree with it."""
        device = esi.device
        if value is None or identity is None:
            return Identity(device.vendor_id, device.product_code, device.revision)
        fields = value.mapping()
        for key, written, described in (("vendor_id", identity.vendor_id, device.vendor_id),
                                        ("product_code", identity.product_code, device.product_code),
                                        ("revision", identity.revision, device.revision)):
            if written is not None and written != described:
                fields.fail(key, f"0x{described:08X} as the ESI device {device.describe()} says, got 0x{written:08X}")
        return replace(identity, revision=device.revision)

    # ---------------------------------------------------------------------- startup SDO
    def startup_sdo(self, value: Value) -> StartupSdo:
        settings = value.mapping()
        transitions = self.transitions(settings.require("transition", "the transition(s): IP, PS, SP, SO, OP or OS"))
        index = settings.require("index", "the object index").integer(0, _U16_MAX, "an object index")
        subindex_value = settings.take("subindex")
        subindex = 0 if subindex_value is None else subindex_value.integer(0, _U8_MAX, "a subindex")
        complete_value = settings.take("complete_access")
        complete_access = False if complete_value is None else complete_value.boolean()
        if complete_access and subindex > COMPLETE_ACCESS_MAX_SUBINDEX:
            settings.fail("subindex", f"subindex 0 or 1 with complete_access, got {subindex}")
        comment_value = settings.take("comment")
        comment = "" if comment_value is None else comment_value.string()
        settings.exclusive("data", "value")
        data_value, type_value, sdo_value = settings.take("data"), settings.take("type"), settings.take("value")
        settings.finish()
        if data_value is not None:
            if type_value is not None:
                settings.fail("type", "no type with raw data (give type and value instead of data)")
            data = self.octets(data_value)
            return StartupSdo(transitions, index, subindex, data, complete_access=complete_access, comment=comment)
        if sdo_value is None:
            settings.fail("value", "the value to write: type and value, or data: \"hex octets\" (missing)")
        if type_value is None:
            settings.fail("type", "the data type of the value, e.g. UNSIGNED16 or UINT (missing)")
        data_type = self.data_type(type_value)
        typed, data = self.encode(sdo_value, data_type)
        return StartupSdo(transitions, index, subindex, data, data_type, typed, complete_access, comment)

    @staticmethod
    def transitions(value: Value) -> tuple[Transition, ...]:
        items = value.items("one or more transitions") if value.is_list() else [value]
        result: list[Transition] = []
        for item in items:
            transition = item.choice(Transition)
            if transition in result:
                item.fail(f"each transition once ({transition.value} is given twice)")
            result.append(transition)
        if not result:
            value.fail("one or more transitions: IP, PS, SP, SO, OP or OS")
        return tuple(result)

    @staticmethod
    def octets(value: Value) -> bytes:
        text = value.scalar("hex octets in quotes, e.g. \"0800\"")
        if not isinstance(text, str):
            value.fail(f"hex octets in quotes, e.g. \"0800\" (YAML reads the unquoted {value.node.value} as a number)")
        try:
            data = bytes.fromhex(text)
        except ValueError:
            value.fail(f"hex octets such as \"0800\" or \"08 00\", got {text!r}")
        if not data:
            value.fail("at least one octet")
        return data

    @staticmethod
    def data_type(value: Value) -> DataType:
        text = value.string("a data type name")
        data_type = data_type_by_name(text)
        if data_type is None or data_type not in _VALUE_TYPES:
            value.fail(f"a data type with a value form (BOOLEAN, INTEGERn, UNSIGNEDn, REAL32/64, VISIBLE_STRING, "
                       f"UNICODE_STRING, BITn or their ESI names BOOL, SINT, UINT, ...; raw data for others), "
                       f"got {text!r}")
        return data_type

    @staticmethod
    def encode(value: Value, data_type: DataType) -> tuple[SdoValue, bytes]:
        """The value as Python reads it for ``data_type`` and its octets."""
        expected = f"a value {data_type.name} can hold"
        raw: SdoValue
        if data_type == DataType.BOOLEAN:
            raw = value.boolean()
        elif data_type in _REAL_TYPES:
            raw = value.number()
        elif data_type in _TEXT_TYPES:
            raw = value.scalar(expected)
            if not isinstance(raw, str):
                value.fail(f"{expected}, got {value.node.value!r}")
        else:
            raw = value.integer(what=expected)
        try:
            return raw, encode_value(data_type, raw)
        except (ValueError, OverflowError):
            value.fail(f"{expected}, got {value.node.value!r}")

    # ----------------------------------------------------------------------------- PDO
    def pdo(self, value: Value, device: Optional[EsiDevice]) -> PdoConfig:
        settings = value.mapping()
        rx = self.assignment(settings, "rxpdo", RXPDO_INDICES, device)
        tx = self.assignment(settings, "txpdo", TXPDO_INDICES, device)
        mappings_value = settings.take("mappings")
        mappings: list[PdoMapping] = []
        for item in [] if mappings_value is None else mappings_value.items():
            mapping = self.pdo_mapping(item, device)
            if any(other.index == mapping.index for other in mappings):
                item.mapping().fail("index", f"one mapping per PDO (0x{mapping.index:04X} is given twice)")
            mappings.append(mapping)
        settings.finish()
        config = PdoConfig(rx, tx, tuple(mappings))
        if device is not None:
            for key, assigned in (("rxpdo", rx), ("txpdo", tx)):
                for index in assigned or ():
                    if device.pdo(index) is None and config.mapping(index) is None:
                        settings.fail(key, f"PDOs the ESI device {device.describe()} has or that mappings define; "
                                           f"0x{index:04X} is neither")
        return config

    @staticmethod
    def assignment(settings: Mapping, key: str, indices: range,
                   device: Optional[EsiDevice]) -> Optional[tuple[int, ...]]:
        value = settings.take(key)
        if value is None:
            return None
        items = value.items("a list of PDO indices")
        if len(items) > _MAX_PDO_ENTRIES:
            value.fail(f"at most {_MAX_PDO_ENTRIES} PDOs")
        result: list[int] = []
        for item in items:
            index = item.integer(indices.start, indices.stop - 1, f"a {key} index")
            if index in result:
                item.fail(f"each PDO once (0x{index:04X} is given twice)")
            result.append(index)
        if device is not None:
            pdos = device.rx_pdos if key == "rxpdo" else device.tx_pdos
            for pdo in pdos:
                if pdo.mandatory and pdo.index not in result:
                    value.fail(f"the mandatory PDO 0x{pdo.index:04X} of the ESI device {device.describe()}")
                if pdo.index in result:
                    for excluded in pdo.excludes:
                        if excluded in result:
                            value.fail(f"PDOs that may be assigned together; the ESI says 0x{pdo.index:04X} "
                                       f"excludes 0x{excluded:04X}")
        return tuple(result)

    def pdo_mapping(self, value: Value, device: Optional[EsiDevice]) -> PdoMapping:
        settings = value.mapping()
        index_value = settings.require("index", "the PDO index")
        index = index_value.integer(RXPDO_INDICES.start, TXPDO_INDICES.stop - 1, "a PDO index")
        if index not in RXPDO_INDICES and index not in TXPDO_INDICES:
            index_value.fail(f"an RxPDO index 0x1600..0x17FF or a TxPDO index 0x1A00..0x1BFF, got 0x{index:04X}")
        esi_pdo = None if device is None else device.pdo(index)
        if esi_pdo is not None and esi_pdo.fixed:
            index_value.fail(f"a PDO whose mapping may change; the ESI marks 0x{index:04X} as fixed")
        entries_value = settings.require("entries", "the list of mapped objects")
        items = entries_value.items("a list of entries")
        if len(items) > _MAX_PDO_ENTRIES:
            entries_value.fail(f"at most {_MAX_PDO_ENTRIES} entries")
        entries = tuple(self.pdo_entry(item) for item in items)
        settings.finish()
        return PdoMapping(index, entries)

    @staticmethod
    def pdo_entry(value: Value) -> PdoEntry:
        settings = value.mapping()
        index = settings.require("index", "the mapped object's index (0 for padding)").integer(
            0, _U16_MAX, "an object index")
        subindex_value = settings.take("subindex")
        subindex = 0 if subindex_value is None else subindex_value.integer(0, _U8_MAX, "a subindex")
        if index == 0 and subindex != 0:
            settings.fail("subindex", "subindex 0 for padding (index 0)")
        bits = settings.require("bits", "the bit length").integer(1, _MAX_ENTRY_BITS, "a bit length")
        name_value = settings.take("name")
        settings.finish()
        return PdoEntry(index, subindex, bits, "" if name_value is None else name_value.string())

    # ------------------------------------------------------------------------- mailbox
    def mailbox(self, value: Value, defaults: MailboxSettings) -> MailboxSettings:
        settings = value.mapping()
        mode = settings.take("status_mode")
        backoff_value = settings.take("backoff")
        backoff = defaults.backoff if backoff_value is None else self.backoff(backoff_value, defaults.backoff)
        result = MailboxSettings(
            status_mode=defaults.status_mode if mode is None else mode.choice(StatusMode),
            backoff=backoff,
            reply_timeout_ns=self.time(settings, "reply_timeout", defaults.reply_timeout_ns, 1),
            idle_poll_interval_ns=self.time(settings, "idle_poll_interval", defaults.idle_poll_interval_ns, 1),
            emergency_capacity=self.count(settings, "emergency_capacity", defaults.emergency_capacity, 1,
                                          _MAX_EMERGENCY_CAPACITY))
        settings.finish()
        return result

    def backoff(self, value: Value, defaults: BackoffSettings) -> BackoffSettings:
        settings = value.mapping()
        factor_value = settings.take("factor")
        result = BackoffSettings(
            attempts=self.count(settings, "attempts", defaults.attempts, 1, _MAX_ATTEMPTS),
            initial_delay_ns=self.time(settings, "initial_delay", defaults.initial_delay_ns, 0),
            factor=defaults.factor if factor_value is None else factor_value.number(1.0, _MAX_FACTOR),
            max_delay_ns=self.time(settings, "max_delay", defaults.max_delay_ns, 0),
            deadline_ns=self.time(settings, "deadline", defaults.deadline_ns, 1))
        if result.max_delay_ns < result.initial_delay_ns:
            key = "max_delay" if settings.has("max_delay") else "initial_delay"
            settings.fail(key, f"initial_delay <= max_delay, got {format_duration_ns(result.initial_delay_ns)} > "
                               f"{format_duration_ns(result.max_delay_ns)}")
        settings.finish()
        return result

    @staticmethod
    def time(settings: Mapping, key: str, default: int, minimum: int,
             maximum: int = _MAX_MAILBOX_TIME_NS) -> int:
        value = settings.take(key)
        return default if value is None else value.duration_ns(minimum, maximum)

    @staticmethod
    def count(settings: Mapping, key: str, default: int, minimum: int, maximum: int) -> int:
        value = settings.take(key)
        return default if value is None else value.integer(minimum, maximum, key)

    # ------------------------------------------------------------------------------ DC
    def slave_dc(self, value: Value, device: Optional[EsiDevice]) -> SlaveDc:
        settings = value.mapping()
        op_mode_value = settings.take("op_mode")
        assign_value = settings.take("assign_activate")
        sync0_cycle = self.optional_time(settings, "sync0_cycle", 1, _U32_MAX)
        sync0_shift = self.optional_time(settings, "sync0_shift", _I32_MIN, _I32_MAX)
        sync1_cycle = self.optional_time(settings, "sync1_cycle", 1, _U32_MAX)
        sync1_shift = self.optional_time(settings, "sync1_shift", _I32_MIN, _I32_MAX)
        settings.finish()
        if sync1_shift is not None and sync1_cycle is None:
            settings.fail("sync1_shift", "sync1_cycle as well (SYNC1 is off without it)")
        assign = None if assign_value is None else assign_value.integer(0, _U16_MAX, "an AssignActivate value")
        op_mode = None
        if op_mode_value is not None:
            op_mode = op_mode_value.string("an ESI DC operation mode name")
            if device is None:
                op_mode_value.fail("op_mode only with an esi file")
            mode = device.dc_op_mode(op_mode)
            if mode is None:
                names = ", ".join(repr(item.name) for item in device.dc_op_modes) or "none"
                op_mode_value.fail(f"an OpMode of the ESI device {device.describe()} ({names}), got {op_mode!r}")
            if assign is not None and assign != mode.assign_activate:
                assign_value.fail(f"0x{mode.assign_activate:04X} as OpMode {op_mode!r} says, got 0x{assign:04X}")
            assign = mode.assign_activate
        if assign is None:
            assign = ASSIGN_ACTIVATE_SYNC0 if sync1_cycle is None else ASSIGN_ACTIVATE_SYNC01
        return SlaveDc(assign, sync0_cycle, sync0_shift or 0, sync1_cycle, sync1_shift or 0, op_mode)

    @staticmethod
    def optional_time(settings: Mapping, key: str, minimum: int, maximum: int) -> Optional[int]:
        value = settings.take(key)
        return None if value is None else value.duration_ns(minimum, maximum)

    def dc(self, value: Value, slaves: tuple[SlaveConfig, ...]) -> DcSettings:
        settings = value.mapping()
        enabled_value = settings.take("enabled")
        mode_value = settings.take("mode")
        reference_value = settings.take("reference_clock")
        settings.finish()
        reference: Union[None, int, str] = None
        if reference_value is not None:
            raw = reference_value.scalar("a slave name or a bus position")
            if isinstance(raw, str):
                names = [slave.name for slave in slaves]
                if raw not in names:
                    reference_value.fail(f"the name of a configured slave ({', '.join(names)}) or a position, "
                                         f"got {raw!r}")
                reference = raw
            else:
                reference = reference_value.integer(0, MAX_POSITION, "a slave name or a bus position")
        return DcSettings(enabled=True if enabled_value is None else enabled_value.boolean(),
                          reference_clock=reference,
                          mode=DcMode.MASTER_FOLLOWS_BUS if mode_value is None else mode_value.choice(DcMode))

    # --------------------------------------------------------------- drive, recovery
    @staticmethod
    def drive(value: Value) -> DriveSettings:
        settings = value.mapping()
        mode = settings.take("mode")
        result = DriveSettings(
            joint=settings.require("joint", "the joint name").string("a joint name"),
            unit=settings.require("unit", "the position unit, rad or m").choice(DriveUnit),
            counts_per_unit=settings.require("counts_per_unit", "encoder counts per rad or m").number(
                0.0, exclusive_minimum=True),
            mode=DriveMode.CSP if mode is None else mode.choice(DriveMode))
        settings.finish()
        return result

    def recovery(self, value: Value) -> RecoverySettings:
        settings = value.mapping()
        enabled = settings.take("enabled")
        on_failure = settings.take("on_failure")
        defaults = RecoverySettings()
        result = RecoverySettings(
            enabled=defaults.enabled if enabled is None else enabled.boolean(),
            check_interval_ns=self.time(settings, "check_interval", defaults.check_interval_ns, _NS_PER_MS,
                                        _MAX_RECOVERY_TIME_NS),
            wkc_error_threshold=self.count(settings, "wkc_error_threshold", defaults.wkc_error_threshold, 1,
                                           _MAX_RECOVERY_COUNT),
            max_attempts=self.count(settings, "max_attempts", defaults.max_attempts, 0, _MAX_RECOVERY_COUNT),
            retry_delay_ns=self.time(settings, "retry_delay", defaults.retry_delay_ns, 0, _MAX_RECOVERY_TIME_NS),
            on_failure=defaults.on_failure if on_failure is None else on_failure.choice(FailureAction))
        settings.finish()
        return result


def _is_file(path: Path) -> bool:
    """True when ``path`` names a file (False also for paths the system cannot look up)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def parse_network(text: str, file: str = "<string>", base_dir: Union[None, str, Path] = None) -> NetworkConfig:
    """Validate a network description. Relative paths resolve in ``base_dir`` (default: the
    directory of ``file``, or the current directory for ``"<string>"``)."""
    if base_dir is None:
        base_dir = Path(file).parent if file != "<string>" else Path.cwd()
    return _Parser(Path(base_dir)).network(compose(text, file))


def load_network(path: Union[str, Path]) -> NetworkConfig:
    """Read and validate a network file."""
    root = load_file(path)
    return _Parser(Path(path).parent).network(root)


# --------------------------------------------------------------------------------- dumping
class _Hex(int):
    """An integer written in hex with a fixed number of digits."""

    digits: int

    def __new__(cls, value: int, digits: int) -> _Hex:
        number = super().__new__(cls, value)
        number.digits = digits
        return number


class _Dumper(yaml.SafeDumper):
    """Writes :class:`_Hex` numbers as ``0x...`` (read back as integers)."""


_Dumper.add_representer(
    _Hex, lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:int", f"0x{int(value):0{value.digits}X}"))

_ID_DIGITS = 8
_INDEX_DIGITS = 4


def _identity_data(identity: Identity) -> dict[str, Any]:
    data: dict[str, Any] = {"vendor_id": _Hex(identity.vendor_id, _ID_DIGITS),
                            "product_code": _Hex(identity.product_code, _ID_DIGITS)}
    if identity.revision is not None:
        data["revision"] = _Hex(identity.revision, _ID_DIGITS)
    if identity.serial is not None:
        data["serial"] = identity.serial
    return data


def _sdo_data(sdo: StartupSdo) -> dict[str, Any]:
    data: dict[str, Any] = {
        "transition": sdo.transitions[0].value if len(sdo.transitions) == 1 else [t.value for t in sdo.transitions],
        "index": _Hex(sdo.index, _INDEX_DIGITS), "subindex": sdo.subindex}
    if sdo.data_type is None:
        data["data"] = sdo.data.hex().upper()
    else:
        data["type"] = sdo.data_type.name
        data["value"] = sdo.value
    if sdo.complete_access:
        data["complete_access"] = True
    if sdo.comment:
        data["comment"] = sdo.comment
    return data


def _pdo_data(pdo: PdoConfig) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, assigned in (("rxpdo", pdo.rx_assignment), ("txpdo", pdo.tx_assignment)):
        if assigned is not None:
            data[key] = [_Hex(index, _INDEX_DIGITS) for index in assigned]
    if pdo.mappings:
        data["mappings"] = [
            {"index": _Hex(mapping.index, _INDEX_DIGITS),
             "entries": [{"index": _Hex(entry.index, _INDEX_DIGITS), "subindex": entry.subindex,
                          "bits": entry.bit_length,
                          **({"name": entry.name} if entry.name else {})} for entry in mapping.entries]}
            for mapping in pdo.mappings]
    return data


def _mailbox_data(mailbox: MailboxSettings) -> dict[str, Any]:
    backoff = mailbox.backoff
    return {"status_mode": mailbox.status_mode.value,
            "reply_timeout": format_duration_ns(mailbox.reply_timeout_ns),
            "idle_poll_interval": format_duration_ns(mailbox.idle_poll_interval_ns),
            "emergency_capacity": mailbox.emergency_capacity,
            "backoff": {"attempts": backoff.attempts, "initial_delay": format_duration_ns(backoff.initial_delay_ns),
                        "factor": backoff.factor, "max_delay": format_duration_ns(backoff.max_delay_ns),
                        "deadline": format_duration_ns(backoff.deadline_ns)}}


def _slave_dc_data(dc: SlaveDc) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if dc.op_mode is not None:
        data["op_mode"] = dc.op_mode
    data["assign_activate"] = _Hex(dc.assign_activate, _INDEX_DIGITS)
    for key, ns in (("sync0_cycle", dc.sync0_cycle_ns), ("sync1_cycle", dc.sync1_cycle_ns)):
        if ns is not None:
            data[key] = format_duration_ns(ns)
    data["sync0_shift"] = format_duration_ns(dc.sync0_shift_ns)
    if dc.sync1_cycle_ns is not None:
        data["sync1_shift"] = format_duration_ns(dc.sync1_shift_ns)
    return data


def _slave_data(slave: SlaveConfig) -> dict[str, Any]:
    data: dict[str, Any] = {"name": slave.name}
    if slave.alias is not None:
        data["alias"] = _Hex(slave.alias, _INDEX_DIGITS)
    else:
        data["position"] = slave.position
    data["identity"] = _identity_data(slave.identity)
    if slave.esi is not None:
        data["esi"] = slave.esi.file
        data["device"] = {"product_code": _Hex(slave.esi.device.product_code, _ID_DIGITS),
                          "revision": _Hex(slave.esi.device.revision, _ID_DIGITS)}
    if slave.startup_sdos:
        data["startup_sdos"] = [_sdo_data(sdo) for sdo in slave.startup_sdos]
    if slave.pdo is not None:
        data["pdo"] = _pdo_data(slave.pdo)
    if slave.mailbox is not None:
        data["mailbox"] = _mailbox_data(slave.mailbox)
    if slave.dc is not None:
        data["dc"] = _slave_dc_data(slave.dc)
    if slave.drive is not None:
        drive = slave.drive
        data["drive"] = {"joint": drive.joint, "unit": drive.unit.value, "counts_per_unit": drive.counts_per_unit,
                         "mode": drive.mode.value}
    if slave.process_data_watchdog_ns is not None:
        data["process_data_watchdog"] = format_duration_ns(slave.process_data_watchdog_ns)
    return data


def dump_network(config: NetworkConfig) -> str:
    """The YAML text of ``config``; :func:`parse_network` of it (in the same directory) gives
    an equal :class:`NetworkConfig`."""
    dc: dict[str, Any] = {"enabled": config.dc.enabled, "mode": config.dc.mode.value}
    if config.dc.reference_clock is not None:
        dc["reference_clock"] = config.dc.reference_clock
    recovery = config.recovery
    data = {
        "interface": config.interface.spec,
        "cycle_period": format_duration_ns(config.cycle_period_ns),
        "allow_extra_slaves": config.allow_extra_slaves,
        "mailbox": _mailbox_data(config.mailbox),
        "dc": dc,
        "recovery": {"enabled": recovery.enabled, "check_interval": format_duration_ns(recovery.check_interval_ns),
                     "wkc_error_threshold": recovery.wkc_error_threshold, "max_attempts": recovery.max_attempts,
                     "retry_delay": format_duration_ns(recovery.retry_delay_ns),
                     "on_failure": recovery.on_failure.value},
        "slaves": [_slave_data(slave) for slave in config.slaves],
    }
    if config.process_data_watchdog_ns is not None:
        data["process_data_watchdog"] = format_duration_ns(config.process_data_watchdog_ns)
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)


# ------------------------------------------------------------------------------- bus check
class ScannedSlave(Protocol):
    """What :func:`check_bus` needs of a slave the bus scan found (the master's ``SlaveInfo``
    has these attributes)."""

    @property
    def position(self) -> int: ...

    @property
    def alias(self) -> int: ...

    @property
    def vendor_id(self) -> int: ...

    @property
    def product_code(self) -> int: ...

    @property
    def revision(self) -> int: ...

    @property
    def serial(self) -> int: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True, slots=True)
class FoundSlave:
    """A slave as a scan found it (alias 0: none), for callers without a ``SlaveInfo``."""

    position: int
    alias: int
    vendor_id: int
    product_code: int
    revision: int
    serial: int = 0
    name: str = ""


class MismatchKind(enum.Enum):
    """How the bus differs from the configuration."""

    #: A configured slave is not on the bus.
    MISSING = "missing slave"
    #: A slave on the bus is not configured.
    EXTRA = "extra slave"
    #: The slave is there but its vendor, product, revision or serial differs.
    WRONG_IDENTITY = "wrong identity"
    #: A slave configured by alias is on the bus with another alias.
    WRONG_ALIAS = "wrong alias"
    #: Several slaves on the bus have a configured alias.
    DUPLICATE_ALIAS = "duplicate alias"
    #: Two configuration entries (a position and an alias) describe the same slave.
    CONFLICT = "conflicting entries"


@dataclass(frozen=True, slots=True)
class BusMismatch:
    """One difference between the bus and the configuration.

    :ivar slave: the configured slave's name; None for an extra slave.
    :ivar position: the bus position concerned (the expected one for a missing slave
        configured by position; None for a missing slave configured by alias).
    :ivar alias: the alias concerned (configured, or found for an extra slave), None if none.
    """

    kind: MismatchKind
    slave: Optional[str]
    position: Optional[int]
    alias: Optional[int]
    expected: str
    found: str

    def __str__(self) -> str:
        where = [] if self.position is None else [f"position {self.position}"]
        if self.alias is not None:
            where.append(f"alias 0x{self.alias:04X}")
        who = f" ({self.slave})" if self.slave is not None else ""
        return f"{', '.join(where) or 'bus'}{who}: {self.kind.value}: expected {self.expected}, found {self.found}"


def _describe_found(slave: ScannedSlave) -> str:
    name = f" {slave.name!r}" if slave.name else ""
    alias = f" alias 0x{slave.alias:04X}" if slave.alias else ""
    return (f"vendor 0x{slave.vendor_id:08X} product 0x{slave.product_code:08X} revision 0x{slave.revision:08X}"
            f" serial {slave.serial}{alias}{name}")


def _identity_matches(identity: Identity, slave: ScannedSlave) -> bool:
    return (identity.vendor_id == slave.vendor_id and identity.product_code == slave.product_code
            and identity.revision in (None, slave.revision) and identity.serial in (None, slave.serial))


def check_bus(expected: Sequence[SlaveConfig], found: Sequence[ScannedSlave], *,
              allow_extra: bool = False) -> list[BusMismatch]:
    """The differences between the configured slaves and the slaves a scan found, ordered by
    position (those without one last); empty when the bus is as configured.

    Slaves configured by position are matched first, then those configured by alias. A slave
    configured by alias that is not found, while exactly one unmatched slave with its vendor and
    product is on the bus, is reported as :attr:`MismatchKind.WRONG_ALIAS` at that slave.
    """
    by_position = {slave.position: slave for slave in found}
    claimed: dict[int, str] = {}
    mismatches: list[BusMismatch] = []

    def claim(config: SlaveConfig, slave: ScannedSlave) -> None:
        if slave.position in claimed:
            mismatches.append(BusMismatch(MismatchKind.CONFLICT, config.name, slave.position, config.alias,
                                          f"one configuration entry per slave ({config.describe()})",
                                          f"it is also configured as {claimed[slave.position]!r}"))
            return
        claimed[slave.position] = config.name
        if not _identity_matches(config.identity, slave):
            mismatches.append(BusMismatch(MismatchKind.WRONG_IDENTITY, config.name, slave.position, config.alias,
                                          config.identity.describe(), _describe_found(slave)))

    for config in expected:
        if config.position is None:
            continue
        slave = by_position.get(config.position)
        if slave is None:
            mismatches.append(BusMismatch(MismatchKind.MISSING, config.name, config.position, None,
                                          config.identity.describe(), f"no slave there ({len(found)} on the bus)"))
        else:
            claim(config, slave)
    unresolved: list[SlaveConfig] = []
    for config in expected:
        if config.alias is None:
            continue
        candidates = [slave for slave in found if slave.alias == config.alias]
        if len(candidates) > 1:
            positions = ", ".join(str(slave.position) for slave in candidates)
            mismatches.append(BusMismatch(MismatchKind.DUPLICATE_ALIAS, config.name, None, config.alias,
                                          "one slave with this alias", f"slaves at positions {positions}"))
            for slave in candidates:
                claimed.setdefault(slave.position, config.name)
        elif candidates:
            claim(config, candidates[0])
        else:
            unresolved.append(config)
    for config in unresolved:
        lookalikes = [slave for slave in found if slave.position not in claimed
                      and slave.vendor_id == config.identity.vendor_id
                      and slave.product_code == config.identity.product_code]
        if len(lookalikes) == 1:
            slave = lookalikes[0]
            claimed[slave.position] = config.name
            mismatches.append(BusMismatch(MismatchKind.WRONG_ALIAS, config.name, slave.position, config.alias,
                                          f"alias 0x{config.alias:04X}",
                                          f"alias 0x{slave.alias:04X} on {_describe_found(slave)}"))
        else:
            mismatches.append(BusMismatch(MismatchKind.MISSING, config.name, None, config.alias,
                                          config.identity.describe(), "no slave with this alias"))
    if not allow_extra:
        for slave in found:
            if slave.position not in claimed:
                mismatches.append(BusMismatch(MismatchKind.EXTRA, None, slave.position, slave.alias or None,
                                              "no slave here", _describe_found(slave)))
    return sorted(mismatches, key=lambda item: (item.position is None, item.position or 0))
