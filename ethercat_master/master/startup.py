"""Network start-up: what a :class:`~ethercat_master.config.network.NetworkConfig` asks of each
slave on the way from INIT to OP, as pure functions the :class:`~.master.Master` runs.

The sequence (ETG.1000.6 "AL state machine" with the start-up commands of ETG.2000
``InitCmd``; IgH ``fsm_slave_config.c``, SOEM ``ecx_config_init``/``ecx_config_map``)::

    scan                     every slave reset to INIT, addressed, SII read
    assign_slaves            match the configured slaves to the bus by position or alias;
                             any difference raises BusMismatchError naming position, expected, found
    INIT -> PRE-OP           mailbox sync managers, then the "IP" start-up SDOs
    in PRE-OP                the "PS" start-up SDOs, then the PDO assignment and mapping of the
                             configuration (sync_manager_configs), process data sync managers and
                             FMMUs (pdo_mapping.configure_process_data)
    PRE-OP -> SAFE-OP        the cycle starts (inputs valid)
    in SAFE-OP               the "SO" start-up SDOs
    SAFE-OP -> OP            outputs valid

Start-up SDOs run in the order of :meth:`~ethercat_master.config.network.SlaveConfig.all_startup_sdos`
(the ESI's InitCmds first, then the file's, so the file wins); an abort stops the start-up and
the :class:`~ethercat_master.errors.SdoAbort` carries a note naming the slave, the transition
and the entry of the configuration.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Optional

from ..config.esi import Transition
from ..config.network import (
    BackoffSettings,
    MailboxSettings,
    NetworkConfig,
    SlaveConfig,
    StartupSdo,
    check_bus,
)
from ..config.network import StatusMode as ConfigStatusMode
from ..errors import BusMismatchError, SdoAbort
from ..protocol.sii import SyncManagerType
from .coe import CoEClient
from .mailbox import BackoffPolicy, MailboxPolicy, StatusMode
from .pdo_mapping import PdoConfig, PdoEntry, SyncManagerConfig
from .scan import BusScan
from .slave_info import SlaveInfo

__all__ = [
    "assign_slaves",
    "mailbox_policy",
    "sync_manager_configs",
    "startup_sdos",
    "write_startup_sdos",
]

_NS_PER_S = 1e9
#: Process data sync managers when the SII types none (ETG.2000: SM2 outputs, SM3 inputs).
_OUTPUT_SM = 2
_INPUT_SM = 3
_STATUS_MODES = {
    ConfigStatusMode.STRICT: StatusMode.STRICT,
    ConfigStatusMode.HYBRID: StatusMode.HYBRID,
    ConfigStatusMode.POLL: StatusMode.POLL,
}


def assign_slaves(network: NetworkConfig, slaves: BusScan | Sequence[SlaveInfo]) -> dict[int, SlaveConfig]:
    """The configured slave of every bus position the configuration names.

    :raises BusMismatchError: a configured slave is missing, has another identity or alias,
        is described twice, or an unconfigured slave is on the bus (unless
        ``allow_extra_slaves``); the error lists every difference.
    """
    found = list(slaves)
    mismatches = check_bus(network.slaves, found, allow_extra=network.allow_extra_slaves)
    if mismatches:
        raise BusMismatchError(network.file, mismatches)
    assignment: dict[int, SlaveConfig] = {}
    for config in network.slaves:
        if config.position is not None:
            assignment[config.position] = config
        else:
            (slave,) = [s for s in found if s.alias == config.alias]
            assignment[slave.position] = config
    return dict(sorted(assignment.items()))


def _backoff(settings: BackoffSettings) -> BackoffPolicy:
    return BackoffPolicy(attempts=settings.attempts, initial_delay=settings.initial_delay_ns / _NS_PER_S,
                         factor=settings.factor, max_delay=settings.max_delay_ns / _NS_PER_S,
                         deadline=settings.deadline_ns / _NS_PER_S)


def mailbox_policy(settings: MailboxSettings) -> MailboxPolicy:
    """The mailbox engine policy the configuration's mailbox settings describe."""
    return MailboxPolicy(status_mode=_STATUS_MODES[settings.status_mode], backoff=_backoff(settings.backoff),
                         reply_timeout=settings.reply_timeout_ns / _NS_PER_S,
                         idle_poll_interval=settings.idle_poll_interval_ns / _NS_PER_S,
                         emergency_capacity=settings.emergency_capacity)


def _process_sync_manager(slave: SlaveInfo, kind: SyncManagerType, default: int) -> int:
    """The first sync manager the SII types as ``kind``; ``default`` (SM2 outputs, SM3 inputs,
    the ETG.2000 convention) when the SII types none."""
    for index, sync_manager in enumerate(slave.sync_managers):
        if sync_manager.sync_manager_type == kind:
            return index
    return default


def sync_manager_configs(slave: SlaveInfo, config: SlaveConfig) -> list[SyncManagerConfig]:
    """The PDO assignment (and mappings) to write to ``slave`` for its configuration: the
    RxPDOs on its process data output sync manager, the TxPDOs on its input one. Empty when the
    configuration keeps the slave's own assignment.

    A configured mapping replaces the PDO's entries; an assigned PDO without one keeps the
    entries the slave has.
    """
    configs: list[SyncManagerConfig] = []
    for assignment, kind, default in ((config.rx_assignment(), SyncManagerType.PROCESS_DATA_OUT, _OUTPUT_SM),
                                      (config.tx_assignment(), SyncManagerType.PROCESS_DATA_IN, _INPUT_SM)):
        if assignment is None:
            continue
        pdos = tuple(PdoConfig(index, _configured_entries(config, index)) for index in assignment)
        configs.append(SyncManagerConfig(_process_sync_manager(slave, kind, default), pdos))
    return configs


def _configured_entries(config: SlaveConfig, index: int) -> Optional[tuple[PdoEntry, ...]]:
    """The entries to map into PDO ``index``: the file's mapping, else the ESI's (so that a
    slave configured from its ESI gets the ESI's layout and names); None keeps the slave's."""
    mapping = None if config.pdo is None else config.pdo.mapping(index)
    if mapping is not None:
        return tuple(PdoEntry(e.index, e.subindex, e.bit_length, e.name) for e in mapping.entries)
    if config.esi is not None:
        device = config.esi.device
        for pdo in (*device.rx_pdos, *device.tx_pdos):
            if pdo.index == index:
                return tuple(PdoEntry(e.index, e.subindex, e.bit_length, e.name,
                                      int(e.coe_type or 0)) for e in pdo.entries)
    return None


def startup_sdos(config: SlaveConfig, transition: Transition) -> tuple[StartupSdo, ...]:
    """The start-up SDOs of ``config`` that run in ``transition``, in order."""
    return tuple(sdo for sdo in config.all_startup_sdos() if transition in sdo.transitions)


def write_startup_sdos(coe: CoEClient, slave: SlaveInfo, config: SlaveConfig, transition: Transition,
                       network_file: str = "<network>") -> int:
    """Download the start-up SDOs of ``transition`` to ``slave``; returns how many.

    :raises SdoAbort: the slave refused one; its notes name the slave, the transition and the
        entry (``slaves[name].startup_sdos``) so the user knows which line to fix.
    """
    sdos = startup_sdos(config, transition)
    for number, sdo in enumerate(sdos):
        try:
            coe.download(sdo.index, sdo.subindex, sdo.data, complete_access=sdo.complete_access)
        except SdoAbort as abort:
            what = f" ({sdo.comment})" if sdo.comment else ""
            abort.add_note(f"start-up SDO {number + 1} of {len(sdos)} for transition {transition.value} of slave "
                           f"{slave.describe()} = {config.describe()} in {network_file}: "
                           f"0x{sdo.index:04X}:{sdo.subindex:02X} <- {sdo.data.hex(' ') or '(no data)'}{what}")
            raise
    return len(sdos)
