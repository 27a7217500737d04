"""The master facade: one object that owns the link and the bus and gives access to the slaves.

:class:`Master` ties the parts of :mod:`ethercat_master.master` together the way a user (the
command-line tool, the soak, the ROS node) needs them:

* it opens a link (a :class:`~ethercat_master.transport.Link` or a spec string for
  :func:`~ethercat_master.transport.open_link`) and runs one :class:`~.bus.Bus` on it;
* :meth:`Master.scan` scans the bus (:func:`~.scan.scan`, which resets every slave to INIT) and
  keeps the :class:`~.scan.BusScan`;
* :meth:`Master.request_state` walks slaves through the AL state machine one state at a time,
  configuring the mailbox sync managers on the way up from INIT (below), and gives every slave
  with a mailbox one :class:`~.mailbox.MailboxEngine` with a :class:`~.coe.CoEClient` and a
  :class:`~.foe.FoEClient` (:meth:`Master.mailbox`, :meth:`Master.coe`, :meth:`Master.foe`);
* register access by auto-increment position or configured station address, SII dump and
  write, and one diagnostics snapshot of the bus and mailbox counters.

Mailbox start-up (ETG.1000.6 "INIT to PRE-OP"; SOEM ``ecx_config_init``, IgH
``fsm_slave_config.c``): before a slave is asked for PRE-OP, the master writes its two mailbox
sync managers: the sync manager the SII SyncM category types as "mailbox out" (default 0) gets
the standard receive mailbox of SII words 0x0018-0x0019, the one typed "mailbox in" (default 1)
the standard send mailbox of words 0x001A-0x001B, each with the SII's control byte (default
0x26 and 0x22, as SOEM uses) and enabled. Before BOOT it writes the bootstrap mailboxes (SII
words 0x0014-0x0017) instead, when the SII has them. The engine of a slave is made when its
mailbox is configured and dropped when the slave returns to INIT; its diagnostics continue.

States are requested one step at a time (INIT -> PRE-OP -> SAFE-OP -> OP, and straight down),
BOOT only from INIT, as ETG.1000.6 allows the transitions. :meth:`Master.request_state` alone
configures no process data, so PRE-OP -> SAFE-OP then succeeds only for slaves that need none.

The whole start-up from a network file is :meth:`Master.configure` (scan, bus check, PRE-OP,
start-up SDOs, PDO mapping, SMs and FMMUs, process data watchdog, DC start-up; see
:mod:`.startup`) and :meth:`Master.start` (SYNC0, SAFE-OP, the cycle thread with
:attr:`Master.cycle_hooks` and the mailbox engines polled in its idle time, OP);
:meth:`Master.stop` returns to SAFE-OP with zeroed outputs, :meth:`Master.shutdown` to INIT,
:meth:`Master.reconfigure_slave` brings one slave back (:mod:`.recovery`).

Diagnostics (:meth:`Master.diagnostics`) is a JSON-ready dict with its own versioned schema::

    {"schema_version": 1, "kind": "ethercat_master.master", "time_unix": <float>,
     "link": <link name>, "slaves": <number found by the scan, or null>,
     "bus": {<BusCounters fields>}, "mailbox": <MailboxDiagnostics.snapshot(), schema 1>}

Errors are the taxonomy's; a position or station that names no slave is a :class:`LookupError`
saying which slaves exist.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Callable, Optional, Union

from ..config.esi import Transition
from ..config.network import DcMode, NetworkConfig, SlaveConfig
from ..errors import ALStatusError, MailboxError, ProtocolError, WorkingCounterError
from ..protocol.al_status import ALState
from ..protocol.datagram import Command, position_address, station_address
from ..protocol.registers import (
    AlStatusBlock,
    Register,
    SmActivate,
    SmControl,
    SyncManagerChannel,
    sync_manager_address,
)
from ..protocol.sii import SiiImage, SyncManagerType
from ..transport import Link, open_link
from .al import poll_states, read_states, request_states
from .bus import DEFAULT_RETRIES, DEFAULT_TIMEOUT, Bus, Request
from .coe import CoEClient
from .cyclic import CycleThread, CyclicExchange, MailboxPoller, RealtimeOptions, RealtimeReport, combine_idle
from .dc import (
    DcController,
    DcStartup,
    SyncConfiguration,
    configure_dc,
    configure_sync,
    resynchronise_slave,
    write_sync_mode,
)
from .diagnostics import MailboxDiagnostics
from .foe import FoEClient
from .mailbox import MailboxEngine, MailboxPolicy, MailboxSlave
from .pdo_mapping import (
    DC_DATAGRAM_SIZE,
    ProcessDataLayout,
    SyncManagerConfig,
    configure_process_data,
    write_pdo_configuration,
    write_process_data_registers,
)
from .process_image import ProcessImage
from .scan import DEFAULT_FIRST_STATION_ADDRESS, BusScan, scan
from .sii_reader import SiiTarget, SiiTiming, read_sii_images, read_sii_words, write_sii_words
from .slave_info import MailboxArea, SlaveInfo
from .startup import assign_slaves, mailbox_policy, sync_manager_configs, write_startup_sdos

__all__ = ["DIAGNOSTICS_SCHEMA_VERSION", "DIAGNOSTICS_KIND", "Master"]

_log = logging.getLogger(__name__)

#: Version of the :meth:`Master.diagnostics` layout; raised when a field is renamed, removed or
#: redefined (fields may be added within a version).
DIAGNOSTICS_SCHEMA_VERSION = 1
#: The ``"kind"`` field of :meth:`Master.diagnostics`.
DIAGNOSTICS_KIND = "ethercat_master.master"

#: Sync managers and control bytes of the mailboxes when the SII has no SyncM category
#: (SOEM ``EC_DEFAULTMBXSM0``/``EC_DEFAULTMBXSM1``: mailbox mode, write resp. read, PDI interrupt).
_DEFAULT_RECEIVE_SM = 0
_DEFAULT_SEND_SM = 1
_DEFAULT_RECEIVE_CONTROL = 0x26
_DEFAULT_SEND_CONTROL = 0x22
#: The states above INIT a slave climbs through, in order.
_UPWARD = (ALState.PREOP, ALState.SAFEOP, ALState.OP)
_LEVEL: dict[int, int] = {ALState.INIT: 0, ALState.PREOP: 1, ALState.SAFEOP: 2, ALState.OP: 3}
_WORD_SIZE = 2
#: Octets of the FPWR carrying the master's time to the reference clock (bus follows master).
_MASTER_TIME_DATAGRAM_SIZE = DC_DATAGRAM_SIZE
#: Watchdog divider for 100 us per watchdog count: (2498 + 2) * 40 ns (ESC datasheet, 0x0400).
_WATCHDOG_DIVIDER_100US = 2498
_WATCHDOG_UNIT_NS = 100_000
_U16_MAX = 0xFFFF
#: SII words of the vendor ID and product code (ETG.1000.6 Table 16: words 0x0008-0x000B).
_SII_VENDOR_WORD = 0x0008
_SII_IDENTITY_WORDS = 4
#: Cycles of zero outputs sent before a bus goes back to SAFE-OP (:meth:`Master.stop`).
_SAFE_OUTPUT_CYCLES = 3
#: Seconds :meth:`Master.stop` waits beyond those cycles for them to pass.
_CYCLE_WAIT_MARGIN_S = 0.5


class Master:
    """An EtherCAT master on one link (see the module documentation).

    :param link: a link, or a spec for :func:`~ethercat_master.transport.open_link`
        (``eth1``, ``raw:eth1``, ``udp:HOST:PORT``); a link opened from a spec is closed by
        :meth:`close`, a link passed in stays the caller's.
    :param bus_timeout: seconds the bus waits for each frame's reply.
    :param bus_retries: how often the bus sends an unanswered register frame again (the
        mailbox engines recover their own frames and never use it).
    :param mailbox_policy: the policy of every mailbox engine (status mode, timeouts, retries,
        emergency queue).
    :param first_station_address: station address of position 0; the others follow.
    :param sii_timing: EEPROM timing for the scan and the SII commands.
    """

    def __init__(
        self,
        link: Union[Link, str],
        *,
        bus_timeout: float = DEFAULT_TIMEOUT,
        bus_retries: int = DEFAULT_RETRIES,
        mailbox_policy: MailboxPolicy = MailboxPolicy(),
        first_station_address: int = DEFAULT_FIRST_STATION_ADDRESS,
        sii_timing: SiiTiming = SiiTiming(),
    ) -> None:
        self._owns_link = isinstance(link, str)
        opened = open_link(link) if isinstance(link, str) else link
        try:
            #: The bus every frame of this master goes through.
            self.bus = Bus(opened, timeout=bus_timeout, retries=bus_retries)
        except ValueError:
            if self._owns_link:
                opened.close()
            raise
        self.mailbox_policy = mailbox_policy
        self.first_station_address = first_station_address
        self.sii_timing = sii_timing
        #: The counters of every mailbox engine this master made.
        self.mailbox_diagnostics = MailboxDiagnostics()
        self._scan: Optional[BusScan] = None
        self._engines: dict[int, MailboxEngine] = {}
        self._coe: dict[int, CoEClient] = {}
        self._foe: dict[int, FoEClient] = {}
        #: Mailbox policies of single slaves (by position), set by :meth:`configure`.
        self.mailbox_policies: dict[int, MailboxPolicy] = {}
        #: The network configuration of the last :meth:`configure`, None before.
        self.network: Optional[NetworkConfig] = None
        #: The configured slave of every bus position (:meth:`configure`).
        self.assignment: dict[int, SlaveConfig] = {}
        #: The process data layout and image (:meth:`configure_process_data` / :meth:`configure`).
        self.layout: Optional[ProcessDataLayout] = None
        self.image: Optional[ProcessImage] = None
        #: The cyclic exchange and its thread while cycling (:meth:`start_cycle`).
        self.exchange: Optional[CyclicExchange] = None
        self.cycle: Optional[CycleThread] = None
        #: Called after every exchange in the cycle thread (drives, publishers): cheap, no blocking.
        self.cycle_hooks: list[Callable[[], None]] = []
        #: The DC start-up of the last :meth:`configure` (None: no DC) and the controller
        #: running with the cycle (:meth:`start`).
        self.dc_startup: Optional[DcStartup] = None
        self.dc: Optional[DcController] = None
        self._engines_version = 0
        self._poller: Optional[tuple[int, MailboxPoller]] = None

    # ------------------------------------------------------------------------ lifetime
    @property
    def link(self) -> Link:
        """The link the bus runs on."""
        return self.bus.link

    def close(self) -> None:
        """Stop the cycle thread, forget the mailbox engines and close the link if this master
        opened it (the slaves keep their state: request INIT first to stop them)."""
        self.stop_cycle()
        self._drop_engines(list(self._engines))
        if self._owns_link:
            self.link.close()

    def __enter__(self) -> Master:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        found = "not scanned" if self._scan is None else f"{len(self._scan)} slaves"
        return f"<Master on {self.link.name}, {found}>"

    # ---------------------------------------------------------------------------- scan
    def scan(self) -> BusScan:
        """Scan the bus (:func:`~.scan.scan`: every slave is reset to INIT and addressed) and
        keep the result; mailbox engines of an earlier scan are dropped."""
        self._drop_engines(list(self._engines))
        self._scan = None
        self._scan = scan(self.bus, first_station_address=self.first_station_address, sii_timing=self.sii_timing)
        return self._scan

    @property
    def slaves(self) -> BusScan:
        """The slaves of the last :meth:`scan`.

        :raises RuntimeError: before the first scan.
        """
        if self._scan is None:
            raise RuntimeError("the bus has not been scanned: call Master.scan() first")
        return self._scan

    def slave(self, position: int) -> SlaveInfo:
        """The slave at auto-increment ``position``.

        :raises LookupError: no slave there (the message says which positions exist).
        """
        slaves = self.slaves
        if not 0 <= position < len(slaves):
            raise LookupError(f"no slave at position {position}: {_positions(len(slaves))}")
        return slaves[position]

    def count_slaves(self) -> int:
        """The number of slaves answering a broadcast read (no scan needed, nothing changed)."""
        return self.bus.count_slaves()

    # ----------------------------------------------------------------------- registers
    def read_register(self, address: int, length: int, *, position: Optional[int] = None,
                      station: Optional[int] = None) -> bytes:
        """Read ``length`` bytes from ESC address ``address`` of one slave, named by
        auto-increment ``position`` (APRD, works without a scan and changes nothing) or by
        configured ``station`` address (FPRD).

        :raises WorkingCounterError: no slave answered (the message names the one addressed).
        """
        command = Command.APRD if station is None else Command.FPRD
        return self._register(Request.read(command, self._address(address, position, station), length),
                              position, station)

    def write_register(self, address: int, data: bytes, *, position: Optional[int] = None,
                       station: Optional[int] = None) -> None:
        """Write ``data`` to ESC address ``address`` of one slave (APWR by ``position`` or
        FPWR by ``station``, as :meth:`read_register`).

        :raises WorkingCounterError: no slave took the write (the message names the one addressed).
        """
        command = Command.APWR if station is None else Command.FPWR
        self._register(Request(command, self._address(address, position, station), bytes(data)), position, station)

    def _register(self, request: Request, position: Optional[int], station: Optional[int]) -> bytes:
        reply = self.bus.exchange([request])[0]
        if reply.wkc != 1:
            whom = f"slave at position {position}" if station is None else f"slave with station address 0x{station:04X}"
            raise WorkingCounterError(f"{request.describe()} ({whom})", 1, reply.wkc)
        return reply.data

    def _address(self, address: int, position: Optional[int], station: Optional[int]) -> int:
        if (position is None) == (station is None):
            raise ValueError("name the slave by exactly one of position and station")
        if not 0 <= address <= 0xFFFF:
            raise ValueError(f"ESC address 0x{address:X} is outside 0x0000..0xFFFF")
        if station is not None:
            return station_address(station, address)
        assert position is not None
        return position_address(position, address)

    # --------------------------------------------------------------------------- states
    def read_state(self, position: int) -> AlStatusBlock:
        """AL status and AL status code of the slave at ``position`` (APRD; no scan needed)."""
        return AlStatusBlock.decode(self.read_register(AlStatusBlock.ADDRESS, AlStatusBlock.SIZE, position=position))

    def read_states(self) -> list[AlStatusBlock]:
        """AL status and code of every slave on the bus, by position, in one exchange (APRD; no
        scan needed, nothing changed).

        :raises WorkingCounterError: a slave did not answer (the message names its position).
        """
        count = self.count_slaves()
        requests = [Request.read(Command.APRD, position_address(p, AlStatusBlock.ADDRESS), AlStatusBlock.SIZE)
                    for p in range(count)]
        replies = self.bus.exchange(requests)
        for position, (request, reply) in enumerate(zip(requests, replies)):
            if reply.wkc != 1:
                raise WorkingCounterError(f"{request.describe()} (AL status of the slave at position {position})",
                                          1, reply.wkc)
        return [AlStatusBlock.decode(reply.data) for reply in replies]

    def request_state(self, state: Union[ALState, str], position: Optional[int] = None, *,
                      timeout: Optional[float] = None) -> list[AlStatusBlock]:
        """Bring one slave (``position``) or every scanned slave to ``state`` (an
        :class:`ALState` or its name, e.g. ``"PREOP"``) and wait until each is there.

        Slaves climb one state at a time and go down directly; BOOT is entered from INIT.
        Mailboxes are configured on the way up from INIT (module documentation).

        :param timeout: seconds each step may take per slave (default: the transition's time,
            :func:`~.al.transition_timeout`).
        :returns: the final AL status blocks of the slaves concerned, in position order.
        :raises ALStatusError: a slave refused a step or did not reach it in time
            (:class:`~ethercat_master.errors.BusStateError` for several).
        :raises LookupError: no slave at ``position``.
        """
        target = _state(state)
        slaves = list(self.slaves) if position is None else [self.slave(position)]
        try:
            self._walk(slaves, target, timeout)
        except ALStatusError:
            self._forget_stopped(slaves)
            raise
        return read_states(self.bus, slaves)

    def _walk(self, slaves: Sequence[SlaveInfo], target: ALState, timeout: Optional[float]) -> None:
        current = {s.position: block.status.state for s, block in zip(slaves, read_states(self.bus, slaves))}
        if target is ALState.INIT:
            self._request(slaves, ALState.INIT, timeout)
            self._drop_engines([s.position for s in slaves])
            return
        # BOOT is entered and left through INIT only (ETG.1000.6 state machine)
        if target is ALState.BOOT:
            to_init = [s for s in slaves if current[s.position] not in (ALState.INIT, ALState.BOOT)]
        else:
            to_init = [s for s in slaves if current[s.position] is ALState.BOOT]
        if to_init:
            self._request(to_init, ALState.INIT, timeout)
            self._drop_engines([s.position for s in to_init])
            current.update((s.position, ALState.INIT) for s in to_init)
        if target is ALState.BOOT:
            starting = [s for s in slaves if current[s.position] is ALState.INIT]
            self._start_mailboxes(starting, boot=True)
            self._request(starting, ALState.BOOT, timeout)
            return
        goal = _LEVEL[target]
        self._request([s for s in slaves if _level(current[s.position]) > goal], target, timeout)
        for level, step in enumerate(_UPWARD[:goal], start=1):
            climbing = [s for s in slaves if _level(current[s.position]) < level]
            if step is ALState.PREOP:
                self._start_mailboxes(climbing, boot=False)
            self._request(climbing, step, timeout)
            current.update((s.position, step) for s in climbing)

    def _request(self, slaves: Sequence[SlaveInfo], state: ALState, timeout: Optional[float]) -> None:
        if slaves:
            request_states(self.bus, slaves, state, timeout=timeout)

    def _forget_stopped(self, slaves: Sequence[SlaveInfo]) -> None:
        """After a failed request: drop the engines of slaves whose mailbox is not running."""
        with_engines = [s for s in slaves if s.position in self._engines]
        if not with_engines:
            return
        blocks = read_states(self.bus, with_engines)
        self._drop_engines([s.position for s, b in zip(with_engines, blocks) if b.status.state is ALState.INIT])

    # -------------------------------------------------------------------------- mailbox
    def mailbox(self, position: int) -> MailboxEngine:
        """The mailbox engine of the slave at ``position``.

        :raises MailboxError: the slave has no mailbox, or it is not configured yet (request
            PREOP or BOOT first).
        """
        slave = self.slave(position)
        engine = self._engines.get(position)
        if engine is not None:
            return engine
        if not slave.has_mailbox:
            raise MailboxError("mailbox", f"slave {slave.describe()} has no mailbox (its SII describes none)")
        raise MailboxError("mailbox", f"the mailbox of slave {slave.describe()} is not configured: "
                                      "request PREOP (or BOOT) first")

    def coe(self, position: int) -> CoEClient:
        """The CoE client of the slave at ``position`` (see :meth:`mailbox`).

        :raises MailboxError: the slave does not support CoE, or its mailbox is not configured.
        """
        client = self._coe.get(position)
        if client is None:
            self._require(position, "CoE", self.slave(position).has_coe)
            client = self._coe[position] = CoEClient(self.mailbox(position))
        return client

    def foe(self, position: int) -> FoEClient:
        """The FoE client of the slave at ``position`` (see :meth:`mailbox`).

        :raises MailboxError: the slave does not support FoE, or its mailbox is not configured.
        """
        client = self._foe.get(position)
        if client is None:
            self._require(position, "FoE", self.slave(position).has_foe)
            client = self._foe[position] = FoEClient(self.mailbox(position))
        return client

    def _require(self, position: int, protocol: str, supported: bool) -> None:
        if not supported:
            raise MailboxError(protocol, f"slave {self.slave(position).describe()} does not support {protocol}")

    def _start_mailboxes(self, slaves: Iterable[SlaveInfo], *, boot: bool) -> None:
        """Write the mailbox sync managers of every slave with a mailbox (one exchange) and make
        their engines."""
        setups = [setup for setup in (_mailbox_setup(slave, boot) for slave in slaves) if setup is not None]
        requests = [(setup, request) for setup in setups for request in setup.requests()]
        replies = self.bus.exchange([request for _, request in requests]) if requests else []
        for (setup, request), reply in zip(requests, replies):
            if reply.wkc != 1:
                raise WorkingCounterError(f"{request.describe()} (mailbox sync manager of slave "
                                          f"{setup.slave.describe()})", 1, reply.wkc)
        for setup in setups:
            position = setup.slave.position
            self._drop_engines([position])
            policy = self.mailbox_policies.get(position, self.mailbox_policy)
            self._engines_version += 1
            self._engines[position] = MailboxEngine(self.bus, setup.mailbox_slave(), policy=policy,
                                                    diagnostics=self.mailbox_diagnostics)

    def _drop_engines(self, positions: Iterable[int]) -> None:
        self._engines_version += 1
        for position in positions:
            self._engines.pop(position, None)
            self._coe.pop(position, None)
            self._foe.pop(position, None)

    # ------------------------------------------------------------------ network start-up
    def configure(self, network: NetworkConfig) -> ProcessDataLayout:
        """Bring the bus to PRE-OP exactly as ``network`` describes it, ready for :meth:`start`
        (:mod:`.startup`): scan, match the configured slaves (by position or alias), configure
        the mailboxes with each slave's policy, run the "IP" and "PS" start-up SDOs, write the
        configured PDO assignments and mappings, lay out the process image and write the
        process data sync managers and FMMUs.

        :returns: the process data layout (also :attr:`layout`; the image is :attr:`image`).
        :raises BusMismatchError: the bus differs from the configuration (every difference is
            listed with position, expected and found).
        :raises SdoAbort: a start-up SDO or PDO configuration write was refused (its note names
            the slave and the configuration entry).
        :raises ALStatusError: a slave refused PRE-OP.
        """
        self.stop_cycle()
        self.network = None
        self.layout = self.image = None
        slaves = self.scan()
        self.assignment = assign_slaves(network, slaves)
        self.mailbox_policies = {position: mailbox_policy(network.mailbox_for(config))
                                 for position, config in self.assignment.items()}
        self.request_state(ALState.PREOP)
        configs: dict[int, list[SyncManagerConfig]] = {}
        for position, config in self.assignment.items():
            slave = slaves[position]
            self._run_startup_sdos(position, Transition.INIT_TO_PREOP, Transition.PREOP_TO_SAFEOP,
                                   file=network.file)
            sm_configs = sync_manager_configs(slave, config)
            if sm_configs:
                configs[position] = sm_configs
        bus_follows_master = network.dc.enabled and network.dc.mode is DcMode.BUS_FOLLOWS_MASTER
        self.configure_process_data(configs, first_frame_reserve=DC_DATAGRAM_SIZE + (
            _MASTER_TIME_DATAGRAM_SIZE if bus_follows_master else 0))
        self.network = network
        self._write_watchdogs(list(self.assignment))
        self.dc = self.dc_startup = None
        if network.dc.enabled:
            self.dc_startup = configure_dc(self.bus, list(slaves), reference=self._dc_reference(network),
                                           mode=network.dc.mode)
        return self.layout  # type: ignore[return-value]

    def _run_startup_sdos(self, position: int, *transitions: Transition, file: Optional[str] = None) -> None:
        """The configured start-up SDOs of the slave at ``position`` for ``transitions``, in
        order (nothing for a slave without CoE or configuration); ``file`` names the network
        file in an abort's note (default: the configured network's)."""
        config = self.assignment.get(position)
        slave = self.slave(position)
        if config is None or not slave.has_coe:
            return
        if file is None:
            file = self.network.file if self.network is not None else "<network>"
        coe = self.coe(position)
        for transition in transitions:
            write_startup_sdos(coe, slave, config, transition, file)

    def _dc_reference(self, network: NetworkConfig) -> Optional[int]:
        """The configured reference clock as a bus position (the file names it by its
        configuration name or position)."""
        configured = network.dc.reference_clock
        if configured is None or isinstance(configured, int):
            return configured
        for position, config in self.assignment.items():
            if config.name == configured:
                return position
        return None

    def _write_watchdogs(self, positions: Sequence[int]) -> None:
        """The process data watchdog the network file asks for, on ``positions`` (PRE-OP): the
        standard divider (100 us per count) and the time; none written where the file is silent."""
        if self.network is None:
            return
        requests, owners = [], []
        for position in positions:
            config = self.assignment.get(position)
            watchdog = None if config is None else self.network.watchdog_for(config)
            if watchdog is None:
                continue
            station = self.slave(position).station_address
            counts = min(round(watchdog / _WATCHDOG_UNIT_NS), _U16_MAX)
            requests += [Request(Command.FPWR, station_address(station, Register.WATCHDOG_DIVIDER),
                                 _WATCHDOG_DIVIDER_100US.to_bytes(2, "little")),
                         Request(Command.FPWR, station_address(station, Register.WATCHDOG_TIME_PROCESS_DATA),
                                 counts.to_bytes(2, "little"))]
            owners += [self.slave(position).describe()] * 2
        if not requests:
            return
        for request, reply, owner in zip(requests, self.bus.exchange(requests), owners):
            if reply.wkc != 1:
                raise WorkingCounterError(f"{request.describe()} (watchdog of slave {owner})", 1, reply.wkc)

    def configure_process_data(self, configs: Optional[Mapping[int, Sequence[SyncManagerConfig]]] = None, *,
                               first_frame_reserve: int = DC_DATAGRAM_SIZE) -> ProcessDataLayout:
        """Derive every slave's PDO mapping (``configs`` by position written first, else CoE,
        else SII), lay out the process data and write the sync managers and FMMUs; the slaves
        must be in PRE-OP. Sets :attr:`layout` and a new :attr:`image`."""
        slaves = list(self.slaves)
        clients = {slave.position: self.coe(slave.position) for slave in slaves
                   if slave.has_coe and slave.position in self._engines}
        self.layout = configure_process_data(self.bus, slaves, clients, configs,
                                             first_frame_reserve=first_frame_reserve)
        self.image = ProcessImage(self.layout)
        return self.layout

    # ---------------------------------------------------------------------- operation
    def start(self, period: Optional[float] = None, *, realtime: RealtimeOptions = RealtimeOptions(),
              target: ALState = ALState.OP, timeout: Optional[float] = None) -> RealtimeReport:
        """Take the configured bus to ``target`` (OP, or SAFE-OP) with process data cycling:
        PRE-OP -> SAFE-OP, the cycle thread starts (every ``period`` seconds, default the
        network's cycle period), the "SO" start-up SDOs run, SAFE-OP -> OP.

        Returns the cycle thread's real-time report (what it could and could not apply).

        :raises RuntimeError: :meth:`configure` (or :meth:`configure_process_data`) was not called.
        :raises ALStatusError: a slave refused a state (the cycle keeps running: call
            :meth:`stop` or :meth:`shutdown`).
        """
        if self.layout is None or self.image is None:
            raise RuntimeError("the process data is not configured: call Master.configure(network) first")
        if target not in (ALState.SAFEOP, ALState.OP):
            raise ValueError(f"start() goes to SAFEOP or OP, not {ALState(target).name}")
        if self.dc_startup is not None and (self.cycle is None or not self.cycle.running):
            self.dc = self._start_sync(period)
        self.request_state(ALState.SAFEOP, timeout=timeout)
        report = self.start_cycle(period, realtime=realtime)
        if target is ALState.OP:
            for position in self.assignment:
                self._run_startup_sdos(position, Transition.SAFEOP_TO_OP)
            self.request_state(ALState.OP, timeout=timeout)
        return report

    def start_cycle(self, period: Optional[float] = None, *,
                    realtime: RealtimeOptions = RealtimeOptions()) -> RealtimeReport:
        """Start the cycle thread (no state change); its report when it already runs."""
        if self.cycle is not None and self.cycle.running:
            assert self.cycle.report is not None
            return self.cycle.report
        if self.layout is None or self.image is None:
            raise RuntimeError("the process data is not configured: call Master.configure(network) first")
        if period is None:
            if self.network is None:
                raise ValueError("no cycle period: pass period= or configure from a network description")
            period = self.network.cycle_period
        dc = self.dc
        if dc is not None:
            dc.prepare(self.bus)
            self.exchange = CyclicExchange(self.bus, self.layout, self.image,
                                           dc_reference=dc.startup.reference.station_address,
                                           dc_master_time=dc.master_time if dc.writes_reference else None)
            idle = combine_idle(functools.partial(dc.idle_work, bus=self.bus), self._idle_work)
        else:
            if self.exchange is None or self.exchange.layout is not self.layout:
                self.exchange = CyclicExchange(self.bus, self.layout, self.image)
            idle = self._idle_work
        self.cycle = CycleThread(self.exchange, period, on_cycle=self._on_cycle, idle_work=idle, realtime=realtime,
                                 clock_sync=dc)
        return self.cycle.start()

    def _start_sync(self, period: Optional[float]) -> DcController:
        """SYNC0/SYNC1 of every slave the file gives ``dc:`` (with the drives' 0x1C32/0x1C33 in
        DC mode), started a whole number of cycles ahead, and the controller for the cycle."""
        network, startup = self.network, self.dc_startup
        assert network is not None and startup is not None
        cycle_ns = network.cycle_period_ns if period is None else round(period * 1e9)
        sync = [self._configure_sync(position, cycle_ns) for position, config in self.assignment.items()
                if config.dc is not None]
        return DcController(startup, cycle_ns, mode=network.dc.mode, sync=[s for s in sync if s is not None])

    def _configure_sync(self, position: int, cycle_ns: int) -> Optional[SyncConfiguration]:
        config = self.assignment[position]
        settings = config.dc
        slave = self.slave(position)
        if settings is None or not slave.dc_supported:
            return None
        sync0 = settings.sync0_cycle_ns or cycle_ns
        if slave.has_coe:
            for problem in write_sync_mode(self.coe(position), sync0):
                _log.info("slave %s: %s", slave.describe(), problem)
        return configure_sync(self.bus, slave, sync0_cycle_ns=sync0, sync0_shift_ns=settings.sync0_shift_ns,
                              sync1_cycle_ns=settings.sync1_cycle_ns or 0, assign_activate=settings.assign_activate)

    def stop(self, *, timeout: Optional[float] = None) -> None:
        """Take the bus back to SAFE-OP with safe outputs: every output is set to zero and sent
        for a few cycles before SAFE-OP is requested, so no slave keeps a stale command. The cycle
        keeps running (inputs stay valid); :meth:`shutdown` stops it."""
        if self.image is not None:
            with self.image.lock:
                self.image.outputs_buffer[:] = 0
            self._wait_cycles(_SAFE_OUTPUT_CYCLES)
        if self._scan is not None:
            slaves = list(self.slaves)
            operational = [s for s, block in zip(slaves, poll_states(self.bus, slaves))
                           if block is not None and block.status.state is ALState.OP]
            if operational:
                request_states(self.bus, operational, ALState.SAFEOP, timeout=timeout)

    def shutdown(self) -> None:
        """Stop the cycle thread and take every slave to INIT (best effort: slaves that do not
        answer are left as they are)."""
        try:
            if self.exchange is not None and self.cycle is not None and self.cycle.running:
                self.stop()
        finally:
            self.stop_cycle()
        if self._scan is not None:
            try:
                self.request_state(ALState.INIT)
            except (ALStatusError, WorkingCounterError):
                pass

    def stop_cycle(self) -> None:
        """Stop the cycle thread (no state change; slaves in OP will see their watchdog expire)."""
        cycle, self.cycle = self.cycle, None
        if cycle is not None:
            cycle.stop()

    def reconfigure_slave(self, position: int, *, target: ALState = ALState.OP,
                          timeout: Optional[float] = None, resync_dc: bool = False) -> None:
        """Configure one slave again from INIT while the others run (recovery after a power
        cycle or an error): INIT (error acknowledged), PRE-OP with its mailbox, its "IP" and
        "PS" start-up SDOs and configured PDO mapping, its process data sync managers and FMMUs
        as the layout has them, SAFE-OP, its "SO" start-up SDOs, and ``target`` (OP, needs the
        cycle running).

        With ``resync_dc`` (a slave that was lost: a power cycle resets its DC registers) its
        system time offset and delay are written again against the running reference clock
        (:func:`~.dc.resynchronise_slave`).

        :raises ALStatusError: it refused a state. :raises SdoAbort: a start-up write failed.
        """
        slave = self.slave(position)
        config = self.assignment.get(position)
        self.request_state(ALState.INIT, position, timeout=timeout)
        if target in (ALState.INIT, ALState.BOOT):
            if target is ALState.BOOT:
                self.request_state(ALState.BOOT, position, timeout=timeout)
            return
        self.request_state(ALState.PREOP, position, timeout=timeout)
        self._run_startup_sdos(position, Transition.INIT_TO_PREOP, Transition.PREOP_TO_SAFEOP)
        if config is not None and slave.has_coe:
            sm_configs = sync_manager_configs(slave, config)
            if sm_configs:
                write_pdo_configuration(slave, self.coe(position), sm_configs)
        self._write_watchdogs([position])
        if resync_dc and self.dc_startup is not None and position in self.dc_startup.delays:
            resynchronise_slave(self.bus, self.dc_startup, position, slave.station_address)
        if self.dc is not None and position in self.dc.sync:
            again = self._configure_sync(position, self.dc.cycle_ns)
            if again is not None:
                self.dc.sync[position] = again
        if target is ALState.PREOP:
            return
        if self.layout is not None:
            own = [s for s in self.layout.slaves if s.position == position]
            write_process_data_registers(self.bus, dataclasses.replace(self.layout, slaves=tuple(own)))
        self.request_state(ALState.SAFEOP, position, timeout=timeout)
        if target is ALState.OP:
            self._run_startup_sdos(position, Transition.SAFEOP_TO_OP)
            self.request_state(ALState.OP, position, timeout=timeout)

    def identity_mismatch(self, position: int) -> Optional[str]:
        """None when the slave at ``position`` has (in its EEPROM) the vendor and product code
        the scan found there; else what differs. It must answer at its station address."""
        slave = self.slave(position)
        words = read_sii_words(self.bus, SiiTarget(slave.station_address, slave.describe()),
                               _SII_VENDOR_WORD, _SII_IDENTITY_WORDS, timing=self.sii_timing)
        vendor = int.from_bytes(words[:4], "little")
        product = int.from_bytes(words[4:8], "little")
        if (vendor, product) == (slave.vendor_id, slave.product_code):
            return None
        return (f"vendor 0x{vendor:08X} product 0x{product:08X} where vendor 0x{slave.vendor_id:08X} product "
                f"0x{slave.product_code:08X} was")

    def _wait_cycles(self, count: int) -> None:
        if self.exchange is None or self.cycle is None or not self.cycle.running:
            return
        start = self.exchange.counters.cycles
        deadline = time.monotonic() + count * self.cycle.period + _CYCLE_WAIT_MARGIN_S
        while self.exchange.counters.cycles - start < count and time.monotonic() < deadline:
            time.sleep(self.cycle.period)

    def _on_cycle(self) -> None:
        for hook in self.cycle_hooks:
            hook()

    def _idle_work(self, remaining: float) -> None:
        poller = self._poller
        if poller is None or poller[0] != self._engines_version:
            poller = self._poller = (self._engines_version, MailboxPoller(list(self._engines.values())))
        poller[1](remaining)

    # ------------------------------------------------------------------------------ SII
    def read_sii(self, position: int) -> bytes:
        """The SII image of the slave at ``position`` as its EEPROM holds it now (word 0 to
        the END category)."""
        return read_sii_images(self.bus, [self._sii_target(position)], timing=self.sii_timing)[0]

    def write_sii(self, position: int, image: bytes) -> int:
        """Write a whole SII image to the EEPROM of the slave at ``position`` from word 0, then
        read it back; returns the number of words written. The ESC loads the new configuration
        area at its next power-on (scan again to see the new content).

        The image must parse as an SII image and its checksum (word 7) must match words 0-6,
        or the slave would not load it.

        :raises ProtocolError: the image is malformed or its checksum is wrong.
        :raises SiiError: the EEPROM refused a word or reads back different.
        """
        data = bytes(image)
        if len(data) % _WORD_SIZE:
            raise ProtocolError("SII image", f"{len(data)} bytes are not whole 16-bit words")
        parsed = SiiImage.parse(data)
        if not parsed.info.checksum_ok:
            raise ProtocolError("SII image", "the checksum in word 7 does not match words 0-6", offset=14)
        target = self._sii_target(position)
        write_sii_words(self.bus, target, 0, data, timing=self.sii_timing)
        return len(data) // _WORD_SIZE

    def _sii_target(self, position: int) -> SiiTarget:
        slave = self.slave(position)
        return SiiTarget(slave.station_address, slave.describe())

    # ---------------------------------------------------------------------- diagnostics
    def diagnostics(self) -> dict[str, Any]:
        """Bus counters and mailbox diagnostics in one JSON-ready dict (module documentation)."""
        return {
            "schema_version": DIAGNOSTICS_SCHEMA_VERSION,
            "kind": DIAGNOSTICS_KIND,
            "time_unix": time.time(),
            "link": self.link.name,
            "slaves": None if self._scan is None else len(self._scan),
            "bus": dataclasses.asdict(self.bus.counters),
            "mailbox": self.mailbox_diagnostics.snapshot(),
            "dc": None if self.dc is None else self.dc.snapshot(),
        }


# ------------------------------------------------------------------------------- helpers
@dataclasses.dataclass(frozen=True, slots=True)
class _MailboxSetup:
    """The two mailbox sync managers of one slave: index, area and control byte of each."""

    slave: SlaveInfo
    receive_sm: int
    receive: MailboxArea
    receive_control: int
    send_sm: int
    send: MailboxArea
    send_control: int

    def requests(self) -> list[Request]:
        """The FPWRs writing both sync managers."""
        return [
            Request(Command.FPWR, station_address(self.slave.station_address, sync_manager_address(index)),
                    SyncManagerChannel(area.offset, area.size, SmControl.decode(bytes((control,))),
                                       activate=SmActivate.ENABLE).encode())
            for index, area, control in ((self.receive_sm, self.receive, self.receive_control),
                                         (self.send_sm, self.send, self.send_control))
        ]

    def mailbox_slave(self) -> MailboxSlave:
        """Where the engine finds the mailboxes; named ``"position 3 EL3102"``."""
        slave = self.slave
        return MailboxSlave(slave.station_address, self.receive.offset, self.receive.size, self.send.offset,
                            self.send.size, self.receive_sm, self.send_sm,
                            name=f"position {slave.position} {slave.order or slave.name}")


def _mailbox_setup(slave: SlaveInfo, boot: bool) -> Optional[_MailboxSetup]:
    """The mailbox sync managers of ``slave`` (bootstrap mailboxes for BOOT when the SII has
    them), or None for a slave without mailbox."""
    receive, send = slave.mailbox_out, slave.mailbox_in
    if boot and slave.bootstrap_mailbox_out is not None and slave.bootstrap_mailbox_in is not None:
        receive, send = slave.bootstrap_mailbox_out, slave.bootstrap_mailbox_in
    if receive is None or send is None:
        return None
    receive_sm, receive_control = _DEFAULT_RECEIVE_SM, _DEFAULT_RECEIVE_CONTROL
    send_sm, send_control = _DEFAULT_SEND_SM, _DEFAULT_SEND_CONTROL
    for index, sync_manager in enumerate(slave.sync_managers):
        if sync_manager.sync_manager_type == SyncManagerType.MAILBOX_OUT:
            receive_sm, receive_control = index, sync_manager.control
        elif sync_manager.sync_manager_type == SyncManagerType.MAILBOX_IN:
            send_sm, send_control = index, sync_manager.control
    return _MailboxSetup(slave, receive_sm, receive, receive_control, send_sm, send, send_control)


def _state(state: Union[ALState, str]) -> ALState:
    if isinstance(state, ALState):
        return state
    name = state.upper().replace("-", "")
    try:
        return ALState[name]
    except KeyError:
        raise ValueError(f"unknown AL state {state!r}: one of {', '.join(s.name for s in ALState)}") from None


def _level(state: object) -> int:
    """How far up the state machine ``state`` is (a value that is no state counts as INIT)."""
    return _LEVEL.get(state, 0) if isinstance(state, int) else 0


def _positions(count: int) -> str:
    return f"the bus has {count} slaves (positions 0-{count - 1})" if count else "the bus has no slaves"
