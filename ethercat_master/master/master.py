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
BOOT only from INIT, as ETG.1000.6 allows the transitions. Process data (PDO mapping, process
data sync managers, FMMUs) is not configured here, so PRE-OP -> SAFE-OP succeeds only for
slaves that need none; the others refuse with their AL status code.

Diagnostics (:meth:`Master.diagnostics`) is a JSON-ready dict with its own versioned schema::

    {"schema_version": 1, "kind": "ethercat_master.master", "time_unix": <float>,
     "link": <link name>, "slaves": <number found by the scan, or null>,
     "bus": {<BusCounters fields>}, "mailbox": <MailboxDiagnostics.snapshot(), schema 1>}

Errors are the taxonomy's; a position or station that names no slave is a :class:`LookupError`
saying which slaves exist.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Sequence
from typing import Any, Optional, Union

from ..errors import ALStatusError, MailboxError, ProtocolError, WorkingCounterError
from ..protocol.al_status import ALState
from ..protocol.datagram import Command, position_address, station_address
from ..protocol.registers import (
    AlStatusBlock,
    SmActivate,
    SmControl,
    SyncManagerChannel,
    sync_manager_address,
)
from ..protocol.sii import SiiImage, SyncManagerType
from ..transport import Link, open_link
from .al import read_states, request_states
from .bus import DEFAULT_RETRIES, DEFAULT_TIMEOUT, Bus, Request
from .coe import CoEClient
from .diagnostics import MailboxDiagnostics
from .foe import FoEClient
from .mailbox import MailboxEngine, MailboxPolicy, MailboxSlave
from .scan import DEFAULT_FIRST_STATION_ADDRESS, BusScan, scan
from .sii_reader import SiiTarget, SiiTiming, read_sii_images, write_sii_words
from .slave_info import MailboxArea, SlaveInfo

__all__ = ["DIAGNOSTICS_SCHEMA_VERSION", "DIAGNOSTICS_KIND", "Master"]

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

    # ------------------------------------------------------------------------ lifetime
    @property
    def link(self) -> Link:
        """The link the bus runs on."""
        return self.bus.link

    def close(self) -> None:
        """Forget the mailbox engines and close the link if this master opened it."""
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
            self._engines[position] = MailboxEngine(self.bus, setup.mailbox_slave(), policy=self.mailbox_policy,
                                                    diagnostics=self.mailbox_diagnostics)

    def _drop_engines(self, positions: Iterable[int]) -> None:
        for position in positions:
            self._engines.pop(position, None)
            self._coe.pop(position, None)
            self._foe.pop(position, None)

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
