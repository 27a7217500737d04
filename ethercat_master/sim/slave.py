"""A simulated EtherCAT slave: an ESC with its SII EEPROM, its mailbox and protocol servers, and
the firmware that moves process data between the SyncManagers and the device's application.

:class:`SimulatedSlave` is an :class:`~ethercat_master.sim.esc.Esc` built from a
:class:`DeviceModel` (a :class:`~ethercat_master.sim.device.DeviceDescription` plus the
device's application). It attaches

* an :class:`~ethercat_master.sim.eeprom.Eeprom` holding the SII the description builds (its
  power-on load sets the alias and, from SII word 0, the ESC configuration);
* for a device with a mailbox, a :class:`~ethercat_master.sim.mailbox.SlaveMailbox` on
  SyncManagers 0/1 with the protocols the description names: CoE (a
  :class:`~ethercat_master.sim.coe_server.CoeServer` on the slave's
  :class:`~ethercat_master.sim.object_dictionary.ObjectDictionary`), FoE, EoE. A server's
  :class:`~ethercat_master.errors.MailboxError` becomes a mailbox error reply;
* the firmware, run after every frame (:meth:`Esc.add_frame_end_hook`, before the mailbox
  poll, after the EEPROM tick).

Firmware (the slave controller's program, after the reference stacks SSC and SOES)
    In SAFE-OP and OP it reads the output SyncManagers as the PDI does (a buffered one hands out
    its newest complete buffer) and, in OP only, hands the outputs over: into the mapped
    object dictionary entries, bit by bit after the layout
    :meth:`ObjectDictionary.sync_manager_layout` computes from the assignment and mapping in
    use (CoE devices), or as raw bytes to :meth:`DeviceApplication.write_outputs` (devices
    without CoE). Then it runs the application and writes the inputs back the same way
    (packed from the mapped entries, or :meth:`DeviceApplication.read_inputs`), which
    publishes a new input buffer. Leaving OP sets the outputs to their safe value, zero.

When the application runs (ETG.1020 synchronisation, 0x1C32:01)
    The firmware runs in every state: in INIT, PRE-OP and BOOT once per frame
    (``LOCAL_TIMER``), without process data, so a drive still follows SDO writes and ends its
    motion when its outputs went to their safe value. In SAFE-OP and OP:

    * DC mode (SYNC0 activated in the DC activation register 0x0981, cyclic unit and SYNC0):
      once per SYNC0 pulse of the chain's :class:`~ethercat_master.sim.dc.DcUnit`, at the
      pulse's simulation time (pulses since the previous frame are caught up, at most
      :data:`MAX_CATCH_UP_CYCLES`); with trigger ``SYNC0``.
    * SM-synchronous (0x1C32:01 = 1): once per frame that completed an output buffer
      (``SM2_EVENT``).
    * Free run (and devices without 0x1C32): once per frame, ``SM2_EVENT`` when the frame
      brought outputs, ``LOCAL_TIMER`` otherwise. The simulator has no timers of its own:
      frames are its clock.
    Entering SAFE-OP or OP, the slave takes its synchronisation from the DC activation
    register (SOEM activates SYNC0 without writing 0x1C32:01): with SYNC0 active it sets
    0x1C32:01 and 0x1C33:01 to DC SYNC0 (unless the master chose DC SYNC1), 0x1C32/0x1C33:0A
    to the SYNC0 cycle time 0x09A0 and, when the master left it 0, :02 to it as well.
    Refusals: SYNC0 active but not in 0x1C32:04 -> 0x0028; SYNC0 cycle below 0x1C32:05 ->
    0x0035; a DC mode in 0x1C32:01 without SYNC0 active -> 0x0030.

AL state machine (on top of :meth:`Esc.al_transition`)
    * A device whose SII word 0 sets "device emulation" (ESC configuration 0x0141 bit 0,
      loaded from the EEPROM) has no firmware judging requests: the ESC copies the requested
      state to AL status (Section II 0x0141), as in EK1100, EL1008, EL2008.
    * Otherwise: before the ESC's SyncManager checks of PRE-OP -> SAFE-OP, the expected
      process data SyncManager lengths are taken from the PDO assignment and mapping in use
      (0x001D/0x001E when the master sized them differently); the synchronisation checks
      above; SAFE-OP -> OP is refused with 0x0019 (no valid outputs) until an output buffer
      was received in SAFE-OP (SSC waits for it; SOEM sends process data before requesting
      OP); then the application's :meth:`DeviceApplication.check_transition`.
    * Entering INIT: the CoE server forgets transfers in progress and the PDO mapping,
      PDO assignment and synchronisation parameter objects return to their power-on values
      (the mailbox stops itself, :class:`SlaveMailbox`).
    * :meth:`DeviceApplication.supervise` runs after every frame in SAFE-OP and OP; a non-zero
      AL status code takes the slave from OP to SAFE-OP with that code (e.g. 0x002C fatal sync
      error of a drive that lost SYNC0). State changes the ESC makes itself (the process data
      watchdog) are followed at the next frame end.

Power cycles
    :func:`build_chain` builds a :class:`~ethercat_master.sim.chain.SlaveChain` whose factory
    builds a whole new :class:`SimulatedSlave` (ESC, EEPROM, mailbox, servers, application)
    from the same model when a slave's power returns.
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from ..errors import MailboxError
from ..protocol.al_status import ALState, ALStatusCode
from ..protocol.coe import decode_value
from ..protocol.mailbox import MAILBOX_HEADER_SIZE, MailboxErrorReply, MailboxType
from ..protocol.registers import PROCESS_DATA_RAM_START, DcActivation, Register
from ..protocol.sii import SyncManagerType
from .chain import SlaveChain
from .coe_server import CoeServer
from .dc import ClockSpec, DcUnit, SyncSignal, TimeSource
from .device import DeviceDescription
from .devices.cia402_drive import CycleTrigger
from .eeprom import Eeprom
from .eoe_endpoint import EoEEndpoint
from .esc import ALTransition, Esc
from .foe_server import FoEFile, FoEServer
from .mailbox import MailboxHandler, SlaveMailbox
from .object_dictionary import (
    PDO_ASSIGN_INDICES,
    RXPDO_MAPPING_INDICES,
    TXPDO_MAPPING_INDICES,
    ObjectDictionary,
    OdEntry,
    SyncMode,
    SyncModeSupport,
)
from .topology import SlaveTiming, Topology

__all__ = [
    "MAX_CATCH_UP_CYCLES",
    "DeviceApplication",
    "DeviceModel",
    "SimulatedSlave",
    "DcLookup",
    "build_chain",
]

#: SYNC0 cycles run at most at one frame end; older missed pulses are skipped.
MAX_CATCH_UP_CYCLES = 1000
#: ``lookup()`` -> the slave's DC unit (None before the chain made it, or without DC).
DcLookup = Callable[[], Optional[DcUnit]]

_OUTPUT_PARAMETER = 0x1C32
_INPUT_PARAMETER = 0x1C33
_SYNC_MODE = 1
_CYCLE_TIME = 2
_SUPPORTED_MODES = 4
_MINIMUM_CYCLE_TIME = 5
_SYNC0_CYCLE_TIME = 10
_DC_MODES = frozenset({SyncMode.DC_SYNC0, SyncMode.DC_SYNC1})
_SYNC0_ACTIVE = DcActivation.CYCLIC_OPERATION | DcActivation.SYNC0
_PROCESS_DATA_STATES = frozenset({ALState.SAFEOP, ALState.OP})
_GOING_UP = frozenset({(ALState.PREOP, ALState.SAFEOP), (ALState.SAFEOP, ALState.OP)})
#: ESC configuration register 0x0141 bit 0.
_DEVICE_EMULATION = 0x01
#: Objects returned to their power-on values when the slave enters INIT.
_RESET_ON_INIT = (RXPDO_MAPPING_INDICES, TXPDO_MAPPING_INDICES, PDO_ASSIGN_INDICES,
                  range(_OUTPUT_PARAMETER, _INPUT_PARAMETER + 1))


def _no_dc() -> Optional[DcUnit]:
    return None


class DeviceApplication:
    """The device's own part of the firmware; :meth:`DeviceModel.create_application` makes one
    per power-on. Every hook has a neutral default, so an application overrides what its
    device does (python-can's backend pattern)."""

    def cycle(self, now_ns: int, trigger: CycleTrigger) -> None:
        """Run one application cycle at simulation time ``now_ns``: the outputs of the
        cycle are in place (object dictionary or :meth:`write_outputs`), the inputs are taken
        right after."""

    def write_outputs(self, data: bytes) -> None:
        """The outputs of a device without CoE, as the output SyncManager holds them; the
        safe value (zeros) when the slave leaves OP."""

    def read_inputs(self, size: int) -> bytes:
        """The ``size`` input bytes of a device without CoE for the input SyncManager."""
        return bytes(size)

    def outputs_received(self) -> None:
        """New outputs arrived in OP (the SM2 event), whether or not any value changed: the
        object dictionary is written only where values change."""

    def check_transition(self, current: ALState, target: ALState) -> int:
        """The application's own verdict on ``current`` -> ``target`` after the slave's checks
        passed: 0 to accept, else the AL status code refusing it."""
        return ALStatusCode.NO_ERROR

    def state_entered(self, previous: ALState, state: ALState) -> None:
        """The slave went from ``previous`` to ``state``."""

    def supervise(self, now_ns: int) -> int:
        """Checks after every frame in SAFE-OP and OP; a non-zero AL status code takes the
        slave from OP to SAFE-OP with that code."""
        return ALStatusCode.NO_ERROR

    def status(self) -> dict[str, Any]:
        """What the device shows to an observer (JSON-friendly), e.g. its output pins."""
        return {}


class DeviceModel(abc.ABC):
    """A kind of device with its settings: the description of its EEPROM and objects and the
    application it runs. A :class:`SimulatedSlave` is built from it at every power-on."""

    @property
    @abc.abstractmethod
    def description(self) -> DeviceDescription:
        """The device's SII and standard objects."""

    @abc.abstractmethod
    def create_application(self, slave: SimulatedSlave) -> DeviceApplication:
        """A new application for ``slave``; a CoE device adds its objects to ``slave.od`` here
        (the slave's :attr:`~SimulatedSlave.coe` server is ready for emergencies)."""

    def foe_files(self) -> Mapping[str, Union[bytes, FoEFile]]:
        """The files an FoE device holds at power-on."""
        return {}


@dataclass(frozen=True, slots=True)
class _Mapped:
    """One mapped object entry of a process data SyncManager: where its bits are."""

    index: int
    subindex: int
    entry: OdEntry
    offset: int
    bits: int


@dataclass(frozen=True, slots=True)
class _Channel:
    """A process data SyncManager as the firmware serves it."""

    index: int
    start: int
    length: int
    outputs: bool
    entries: tuple[_Mapped, ...]

    @property
    def in_ram(self) -> bool:
        """Buffered in process RAM (else a register such as the digital output 0x0F00)."""
        return self.start >= PROCESS_DATA_RAM_START


class SimulatedSlave(Esc):
    """One simulated slave built from ``model`` (see the module documentation).

    :param model: the kind of device.
    :param clock: simulation time in ns (the chain's time source), for the application, the
        process data watchdog and the DC pulse times.
    :param dc: returns the slave's DC unit, which the chain creates after the slave.
    :param eeprom_busy_frames: frames an EEPROM command stays busy.

    Attributes: :attr:`model`, :attr:`description`, :attr:`eeprom`, :attr:`mailbox`,
    :attr:`od`, :attr:`coe`, :attr:`foe`, :attr:`eoe` (None where the device has none) and
    :attr:`application`.
    """

    def __init__(self, model: DeviceModel, *, clock: TimeSource = time.monotonic_ns,
                 dc: DcLookup = _no_dc, eeprom_busy_frames: int = 0) -> None:
        description = model.description
        esc = description.esc
        boot = description.mailbox is not None and description.mailbox.bootstrap is not None
        super().__init__(esc_type=esc.esc_type, revision=esc.revision, build=esc.build,
                         fmmu_count=esc.fmmu_count, sync_manager_count=esc.sync_manager_count,
                         ram_size_kib=esc.ram_size_kib, ports=esc.ports, features=esc.features,
                         bootstrap=boot, name=description.order_code,
                         sync_manager_layout=description.sync_manager_layout(), clock=clock)
        self.model = model
        self.description = description
        self._dc = dc
        self._state = ALState.INIT
        self._channels: tuple[_Channel, ...] = ()
        self._register_outputs_written = False
        self._outputs_seen = False
        self._dc_mode = False
        self._sm_synchronous = False
        self._sync_fault = False
        self._sync0_since: Optional[int] = None
        self._last_cycle_ns: Optional[int] = None
        #: The SII EEPROM (its power-on load ran here).
        self.eeprom = Eeprom(self, description.sii(), read_size=esc.eeprom_read_size,
                             busy_frames=eeprom_busy_frames)
        self.od: Optional[ObjectDictionary] = None
        self.coe: Optional[CoeServer] = None
        self.foe: Optional[FoEServer] = None
        self.eoe: Optional[EoEEndpoint] = None
        self.mailbox: Optional[SlaveMailbox] = None
        self.add_frame_end_hook(self._firmware)
        self._open_register_outputs()
        layout = description.mailbox_layout()
        if layout is not None and description.mailbox is not None:
            self.mailbox = SlaveMailbox(self, layout, boot_layout=description.boot_mailbox_layout())
            send, receive = layout.send.length, layout.receive.length
            if description.mailbox.coe:
                self.od = ObjectDictionary(lambda: self.al_state)
                self.coe = CoeServer(self.od, mailbox_size=send)
                self.mailbox.register(MailboxType.COE, self._served(self.coe.handle))
            if description.mailbox.foe:
                self.foe = FoEServer(send - MAILBOX_HEADER_SIZE, write_max_payload=receive - MAILBOX_HEADER_SIZE,
                                     files=model.foe_files())
                self.mailbox.register(MailboxType.FOE, self._served(self.foe.handle))
            if description.mailbox.eoe:
                self.eoe = EoEEndpoint(send - MAILBOX_HEADER_SIZE)
                self.mailbox.register(MailboxType.EOE, self._served(self.eoe.handle))
        #: The device's application.
        self.application = model.create_application(self)
        self._defaults = self._snapshot()

    # ------------------------------------------------------------------------- queries
    @property
    def dc(self) -> Optional[DcUnit]:
        """The slave's DC unit (None without DC or before the chain attached it)."""
        return self._dc()

    @property
    def dc_mode(self) -> bool:
        """The application runs on SYNC0 (decided when SAFE-OP or OP was entered)."""
        return self._dc_mode

    @property
    def synchronisation(self) -> str:
        """What runs the application: ``"DC SYNC0"``, ``"SM-synchronous"`` or ``"free run"``."""
        if self._dc_mode:
            return "DC SYNC0"
        return "SM-synchronous" if self._sm_synchronous else "free run"

    def status(self) -> dict[str, Any]:
        """The slave as an observer sees it: type, station, AL state and code, and the
        application's status."""
        return {"device": self.description.order_code, "station": self.station_address,
                "state": self.al_state_name, "al_status_code": self.al_status_code,
                "synchronisation": self.synchronisation, **self.application.status()}

    # ---------------------------------------------------------------------- AL states
    def al_transition(self, current: ALState, requested: int) -> ALTransition:
        """The ESC's and the firmware's answer to a state request (module documentation)."""
        if self._emulated():
            try:
                outcome = ALTransition(ALState(requested))
            except ValueError:
                outcome = ALTransition(current, ALStatusCode.UNKNOWN_REQUESTED_STATE)
        else:
            if (current, requested) == (ALState.PREOP, ALState.SAFEOP):
                self._compile()
                self.sync_manager_layout = self.description.sync_manager_layout(
                    {channel.index: channel.length for channel in self._channels})
            outcome = super().al_transition(current, requested)
            if not outcome.failed and outcome.state is not current:
                code = self._firmware_verdict(current, outcome.state)
                if code:
                    outcome = ALTransition(ALState.SAFEOP if current is ALState.OP else current, code)
        self._move(outcome.state)
        return outcome

    def _emulated(self) -> bool:
        """ESC configuration 0x0141 bit 0 (loaded from SII word 0): device emulation."""
        configuration = self.pdi_read(Register.ESC_CONFIGURATION, Register.ESC_CONFIGURATION.size)[0]
        return bool(configuration & _DEVICE_EMULATION)

    def _firmware_verdict(self, current: ALState, target: ALState) -> int:
        if (current, target) in _GOING_UP:
            code = self._synchronisation()
            if code:
                return code
        if (current, target) == (ALState.SAFEOP, ALState.OP) and not self._outputs_seen \
                and any(channel.outputs and channel.length for channel in self._channels):
            return ALStatusCode.NO_VALID_OUTPUTS
        return self.application.check_transition(current, target)

    def _synchronisation(self) -> int:
        """Take the synchronisation mode from the DC registers; the refusing code or 0."""
        od = self.od
        parameter = self._sync_parameter()
        if od is None or parameter is None:
            return ALStatusCode.NO_ERROR
        activation = self.pdi_read(Register.DC_ACTIVATION, Register.DC_ACTIVATION.size)[0]
        mode = od.get(parameter, _SYNC_MODE)
        if activation & _SYNC0_ACTIVE == _SYNC0_ACTIVE:
            if not od.get(parameter, _SUPPORTED_MODES) & SyncModeSupport.DC_SYNC0:
                return ALStatusCode.SYNCMODE_NOT_SUPPORTED
            cycle = int.from_bytes(self.pdi_read(Register.DC_SYNC0_CYCLE_TIME, Register.DC_SYNC0_CYCLE_TIME.size),
                                   "little")
            if cycle < od.get(parameter, _MINIMUM_CYCLE_TIME):
                return ALStatusCode.DC_INVALID_SYNC_CYCLE_TIME
            for index in self._parameter_objects():
                if mode not in _DC_MODES:
                    od.set(index, _SYNC_MODE, int(SyncMode.DC_SYNC0))
                od.set(index, _SYNC0_CYCLE_TIME, cycle)
                if not od.get(index, _CYCLE_TIME):
                    od.set(index, _CYCLE_TIME, cycle)
            if not self._dc_mode:
                self._sync0_since = None
            self._dc_mode = True
            self._sm_synchronous = False
            return ALStatusCode.NO_ERROR
        if mode in _DC_MODES:
            return ALStatusCode.INVALID_DC_SYNC_CONFIGURATION
        self._dc_mode = False
        self._sm_synchronous = mode == SyncMode.SYNCHRON
        return ALStatusCode.NO_ERROR

    def _parameter_objects(self) -> tuple[int, ...]:
        od = self.od
        return tuple(index for index in (_OUTPUT_PARAMETER, _INPUT_PARAMETER) if od is not None and index in od)

    def _sync_parameter(self) -> Optional[int]:
        objects = self._parameter_objects()
        return objects[0] if objects else None

    def _move(self, state: ALState) -> None:
        """React to the AL state changing from the last one seen to ``state``."""
        previous = self._state
        if state is previous:
            return
        self._state = state
        if previous is ALState.OP:
            self._safe_outputs()
        if state is ALState.INIT:
            if self.coe is not None:
                self.coe.reset()
            self._restore()
        if state not in _PROCESS_DATA_STATES:
            self._dc_mode = self._sm_synchronous = self._sync_fault = False
            self._outputs_seen = False
        elif previous not in _PROCESS_DATA_STATES:
            self._outputs_seen = False
            self._sync0_since = None
            self._compile()
        self.application.state_entered(previous, state)

    # --------------------------------------------------------------------- firmware
    def _firmware(self) -> None:
        """After every frame: follow the AL state, exchange process data, run the
        application, supervise it, hand emergencies to the mailbox."""
        self._move(self.al_state)  # changes the ESC made itself (watchdog)
        now = self.clock()
        if self._state not in _PROCESS_DATA_STATES:
            self._cycle(now, CycleTrigger.LOCAL_TIMER)
        else:
            fresh = self._receive_outputs(self._state is ALState.OP)
            if self._dc_mode:
                if not self._run_sync0() and self._sync_fault:
                    self._cycle(now, CycleTrigger.LOCAL_TIMER)
            elif fresh:
                self._cycle(now, CycleTrigger.SM2_EVENT)
            elif not self._sm_synchronous:
                self._cycle(now, CycleTrigger.LOCAL_TIMER)
            self._send_inputs()
            code = self.application.supervise(now)
            self._sync_fault = bool(code)
            if code and self._state is ALState.OP:
                self.set_al_status(ALState.SAFEOP, code)
                self._move(ALState.SAFEOP)
        if self.coe is not None and self.mailbox is not None:
            for payload in self.coe.pop_emergencies():
                self.mailbox.send(MailboxType.COE, payload)

    def _cycle(self, now_ns: int, trigger: CycleTrigger) -> None:
        if self._last_cycle_ns is not None and now_ns < self._last_cycle_ns:
            now_ns = self._last_cycle_ns  # a DC pulse time rounded before the last cycle
        self._last_cycle_ns = now_ns
        self.application.cycle(now_ns, trigger)

    def _run_sync0(self) -> bool:
        """Run the application for every SYNC0 pulse since the last frame end; True if any."""
        dc = self._dc()
        if dc is None or not dc.cyclic_active:
            return False
        system_now = dc.system_time()
        since = system_now if self._sync0_since is None else self._sync0_since
        pulses = dc.pulses(SyncSignal.SYNC0, since, system_now + 1)
        self._sync0_since = system_now + 1
        for pulse in pulses[-MAX_CATCH_UP_CYCLES:]:
            self._cycle(dc.sim_time_at(pulse), CycleTrigger.SYNC0)
        return bool(pulses)

    # ----------------------------------------------------------------- process data
    def _compile(self) -> None:
        """The process data SyncManagers with the PDO assignment and mapping in use."""
        description = self.description
        channels = []
        for index in description.process_data_sync_managers:
            spec = description.sync_managers[index]
            outputs = spec.kind is SyncManagerType.PROCESS_DATA_OUT
            if self.od is None:
                length = description.default_lengths()[index]
                entries: tuple[_Mapped, ...] = ()
            else:
                layout = self.od.sync_manager_pdos(index)
                length = layout.byte_length
                entries = tuple(_Mapped(e.index, e.subindex, self.od.entry(e.index, e.subindex), e.bit_offset,
                                        e.bit_length) for e in layout.entries if not e.gap)
            channels.append(_Channel(index, spec.start, length, outputs, entries))
        self._channels = tuple(channels)

    def _open_register_outputs(self) -> None:
        """Output SyncManagers on the digital output register (0x0F00): notice the master's
        writes. The ESC makes 0x0F00 ECAT-writable itself (Section II: ECAT r/w); the mask is
        opened here too for a device that puts its outputs on another register area."""
        for index in self.description.process_data_sync_managers:
            spec = self.description.sync_managers[index]
            if spec.kind is SyncManagerType.PROCESS_DATA_OUT and spec.start < PROCESS_DATA_RAM_START:
                size = max(self.description.default_lengths()[index], 1)
                self.set_ecat_write_mask(spec.start, b"\xff" * size)
                self.add_write_hook(spec.start, size, self._register_written)

    def _register_written(self, address: int, length: int) -> None:
        self._register_outputs_written = True

    def _receive_outputs(self, apply: bool) -> bool:
        """Read the output SyncManagers; hand their data over in OP. True if new data came."""
        fresh = False
        for channel in self._channels:
            if not channel.outputs or not channel.length:
                continue
            if channel.in_ram:
                sm = self.sync_managers[channel.index]
                if not (sm.active and sm.write_completed):
                    continue
            elif self._register_outputs_written:
                self._register_outputs_written = False
            else:
                continue
            data = self.pdi_read(channel.start, channel.length)
            fresh = self._outputs_seen = True
            if apply:
                self._apply_outputs(channel, data)
        if fresh and apply:
            self.application.outputs_received()
        return fresh

    def _apply_outputs(self, channel: _Channel, data: bytes) -> None:
        if self.od is None:
            self.application.write_outputs(data)
            return
        value = int.from_bytes(data, "little")
        od = self.od
        for mapped in channel.entries:
            bits = (value >> mapped.offset) & ((1 << mapped.bits) - 1)
            # update: unchanged outputs (most of them, most cycles) are not written again
            od.update(mapped.index, mapped.subindex,
                      decode_value(mapped.entry.data_type, bits.to_bytes(mapped.entry.byte_size, "little")))

    def _safe_outputs(self) -> None:
        for channel in self._channels:
            if channel.outputs and channel.length:
                self._apply_outputs(channel, bytes(channel.length))

    def _send_inputs(self) -> None:
        for channel in self._channels:
            if channel.outputs or not channel.length:
                continue
            if self.od is None:
                data = self.application.read_inputs(channel.length)
            else:
                value = 0
                for mapped in channel.entries:
                    current = mapped.entry.value
                    if type(current) is int or type(current) is bool:  # two's complement bits, no encoding
                        bits = int(current) & ((1 << mapped.bits) - 1)
                    else:
                        bits = int.from_bytes(mapped.entry.encoded(), "little") & ((1 << mapped.bits) - 1)
                    value |= bits << mapped.offset
                data = value.to_bytes(channel.length, "little")
            self.pdi_write(channel.start, data)

    # ------------------------------------------------------------------- defaults
    def _snapshot(self) -> dict[tuple[int, int], Any]:
        """Power-on values of the objects reset when entering INIT."""
        if self.od is None:
            return {}
        return {(obj.index, entry.subindex): entry.value for obj in self.od
                if any(obj.index in area for area in _RESET_ON_INIT) for entry in obj.entries.values()}

    def _restore(self) -> None:
        if self.od is None:
            return
        for (index, subindex), value in self._defaults.items():
            if self.od.get(index, subindex) != value:
                self.od.set(index, subindex, value)
        self._channels = ()

    # --------------------------------------------------------------------- mailbox
    def _served(self, handler: MailboxHandler) -> MailboxHandler:
        """``handler`` whose mailbox errors become mailbox error replies."""
        mailbox = self.mailbox
        assert mailbox is not None

        def serve(payload: bytes) -> Sequence[bytes]:
            try:
                return handler(payload)
            except MailboxError as error:
                if error.code is None:
                    raise
                mailbox.send(MailboxType.ERR, MailboxErrorReply(error.code).encode())
                return ()

        return serve


def build_chain(models: Sequence[DeviceModel], *, topology: Optional[Topology] = None,
                timings: Union[SlaveTiming, Sequence[SlaveTiming], None] = None,
                clocks: Optional[Sequence[ClockSpec]] = None, clock_seed: int = 0,
                time_source: Optional[TimeSource] = None, eeprom_busy_frames: int = 0) -> SlaveChain:
    """A :class:`SlaveChain` of :class:`SimulatedSlave` built from ``models`` (slave ``n`` from
    ``models[n]``), sharing the chain's time source, each finding its DC unit in the chain;
    a slave whose power returns is rebuilt from its model. The other arguments go to
    :class:`SlaveChain`."""
    source: TimeSource = time.monotonic_ns if time_source is None else time_source
    chains: list[SlaveChain] = []

    def make(slave: int) -> Esc:
        def lookup() -> Optional[DcUnit]:
            return chains[0].dc(slave) if chains else None
        return SimulatedSlave(models[slave], clock=source, dc=lookup, eeprom_busy_frames=eeprom_busy_frames)

    chain = SlaveChain([make(n) for n in range(len(models))], topology, timings=timings, clocks=clocks,
                       clock_seed=clock_seed, time_source=source, factory=make)
    chains.append(chain)
    return chain
