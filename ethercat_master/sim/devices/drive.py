"""A simulated CiA 402 servo drive as an EtherCAT slave: its EEPROM description and the wiring of
the CiA 402 application (:mod:`.cia402_drive`) into a :class:`~ethercat_master.sim.slave.SimulatedSlave`.

The description follows what ETG.6010 drives put into their SII and ESI: CoE with SDO
information, PDO assignment and configuration and complete access (SOEM then reads the PDO
mapping with complete access), FoE (firmware files, also in BOOT through the bootstrap
mailbox) and EoE; mailboxes of 128 bytes at 0x1000/0x1080, outputs on SM2 at 0x1100
(control 0x64: buffered, ECAT write, PDI interrupt, watchdog trigger), inputs on SM3 at
0x1180 (0x20), both sized by the master from the PDOs; FMMUs for outputs, inputs and the
mailbox status; DC operation modes "DC-Synchron" (AssignActivate 0x0300: cyclic unit and
SYNC0) and "FreeRun/SM-Synchron".

The SII PDO categories are generated from the application's own default mapping objects
(0x1600 assigned to SM2, 0x1A00 to SM3), so the EEPROM and the object dictionary always agree.

The application runs as :mod:`.cia402_drive` documents: on each SYNC0 pulse in DC mode, on
each frame with new outputs in SM-synchronous mode, else once per frame. A SYNC0 loss the drive
detects (:attr:`Cia402Drive.sync_lost`) is reported by :meth:`Cia402DriveApplication.supervise`
as AL status code 0x002C (fatal sync error), which takes the slave from OP to SAFE-OP; the
slave then keeps running the drive once per frame so its fault reaction completes. Leaving
SAFE-OP/OP forgets the SYNC0 history (:meth:`Cia402Drive.reset_sync`).

Missed outputs in DC mode (the SSC's SM event supervision, ``Sync0_Isr``/``PDI_Isr``): in OP,
a SYNC0 cycle that finds no new outputs since the previous SYNC0 cycle (frames stopped or
late) adds 3 to the SM event missed counter 0x1C32:0B (and 0x1C33:0B), new outputs take 1
off; above :attr:`Cia402DriveApplication.sync_error_counter_limit` the drive reports AL status
code 0x001A (synchronization error), sets 0x1C32:20/0x1C33:20 and the slave falls back to
SAFE-OP. The limit is the SSC's Sync Error Counter Limit (0x10F1:02); 0 disables the reaction
(SSC V5.13), and 0 is this model's default, so that peers driving the simulator from a
non-real-time process (pysoem in the tests) are not thrown out of OP by a stalled host; set it
to :data:`SYNC_ERROR_COUNTER_LIMIT` (the SSC's default, 4) for the real behaviour.
Entering OP again starts the counter at 0. New outputs are seen as the firmware's write of
the controlword (the first RxPDO entry) when it applies an output buffer.
"""

from __future__ import annotations

from typing import Any, Mapping, Optional, Union

from ...protocol.al_status import ALState, ALStatusCode
from ...protocol.registers import PortType
from ...protocol.sii import (
    CoeDetails,
    FmmuUsage,
    GeneralFlags,
    MailboxProtocols,
    SyncManagerType,
)
from ..device import (
    BootstrapMailbox,
    DcOpModeSpec,
    DeviceDescription,
    DeviceIdentity,
    EscParameters,
    MailboxSpec,
    PdoEntrySpec,
    PdoSpec,
    SyncManagerSpec,
)
from ..esc import DEFAULT_FEATURES, EscType
from ..foe_server import FoEFile
from ..object_dictionary import ObjectDictionary, split_pdo_mapping_value
from ..slave import DeviceApplication, DeviceModel, SimulatedSlave
from .cia402_drive import Cia402Drive, Cia402Object, CycleTrigger, DriveConfig, drive_objects

__all__ = ["DRIVE_ORDER_CODE", "SYNC_ERROR_COUNTER_LIMIT", "Cia402DriveModel", "Cia402DriveApplication"]

#: The simulated drive's type (SII string 1, the name SOEM shows).
DRIVE_ORDER_CODE = "SimServo-402"

_RX_MAPPING = 0x1600
_TX_MAPPING = 0x1A00
_OUTPUT_SM = 2
_INPUT_SM = 3
_MAILBOX_SIZE = 128
_PDI_MICROCONTROLLER_WITH_DC = 0x0C08  # 16-bit async µC PDI; DC SYNC out and latch units on
_SYNC0_ASSIGN_ACTIVATE = 0x0300
_PROCESS_DATA_STATES = frozenset({ALState.SAFEOP, ALState.OP})
#: The SSC's default Sync Error Counter Limit (0x10F1:02): above it, 0x001A.
SYNC_ERROR_COUNTER_LIMIT = 4
#: SM event missed counter (0x1C3x:0B) steps: a missed SM event adds 3, an SM event takes 1.
_MISSED_STEP, _SEEN_STEP = 3, 1
_SM_EVENT_MISSED_SUBINDEX = 0x0B
_SYNC_ERROR_SUBINDEX = 0x20
_SYNC_PARAMETERS = (0x1C32, 0x1C33)
_STATUS_OBJECTS = {
    "statusword": Cia402Object.STATUSWORD,
    "controlword": Cia402Object.CONTROLWORD,
    "target_position": Cia402Object.TARGET_POSITION,
    "position_actual": Cia402Object.POSITION_ACTUAL_VALUE,
    "velocity_actual": Cia402Object.VELOCITY_ACTUAL_VALUE,
    "error_code": Cia402Object.ERROR_CODE,
}


def _pdo_from_od(od: ObjectDictionary, index: int, sync_manager: int) -> PdoSpec:
    """The SII PDO of mapping object ``index`` as the application defines it."""
    mapping = od.find(index)
    assert mapping is not None
    entries = []
    for item in mapping.entries_in_use(mapping.count):
        obj_index, subindex, bits = split_pdo_mapping_value(item.value)
        target = od.find(obj_index)
        if target is None:
            entries.append(PdoEntrySpec(0, 0, bits))
            continue
        entry = target.entries[subindex]
        entries.append(PdoEntrySpec(obj_index, subindex, bits, target.name, int(entry.data_type)))
    return PdoSpec(index, mapping.name, tuple(entries), sync_manager=sync_manager, fixed=False)


class Cia402DriveModel(DeviceModel):
    """A CiA 402 servo drive with the physics and identity of ``config``.

    :param config: identity (vendor, product, revision, serial), names and motor of the drive;
        ``config.device_name`` is 0x1008 and the SII name.
    :param order_code: SII string 1 (the type a master shows).
    :param alias: configured station alias in the EEPROM.
    :param files: the files the drive's FoE server holds at power-on.
    """

    def __init__(self, config: DriveConfig = DriveConfig(), *, order_code: str = DRIVE_ORDER_CODE,
                 alias: int = 0, files: Optional[Mapping[str, Union[bytes, FoEFile]]] = None) -> None:
        self.config = config
        self._files = dict(files or {})
        od = ObjectDictionary(lambda: ALState.PREOP, drive_objects(config))
        mailbox_areas = (0x1000, _MAILBOX_SIZE, 0x1000 + _MAILBOX_SIZE, _MAILBOX_SIZE)
        self._description = DeviceDescription(
            identity=DeviceIdentity(config.vendor_id, config.product_code, config.revision, config.serial_number),
            order_code=order_code,
            name=config.device_name,
            group="Drive",
            esc=EscParameters(esc_type=EscType.ET1100, fmmu_count=8, sync_manager_count=8, ram_size_kib=8,
                              ports=(PortType.MII, PortType.MII, PortType.NOT_IMPLEMENTED, PortType.NOT_IMPLEMENTED),
                              features=DEFAULT_FEATURES, pdi_control=_PDI_MICROCONTROLLER_WITH_DC),
            sync_managers=(
                SyncManagerSpec(mailbox_areas[0], _MAILBOX_SIZE, 0x26, SyncManagerType.MAILBOX_OUT),
                SyncManagerSpec(mailbox_areas[2], _MAILBOX_SIZE, 0x22, SyncManagerType.MAILBOX_IN),
                SyncManagerSpec(0x1100, 0, 0x64, SyncManagerType.PROCESS_DATA_OUT),
                SyncManagerSpec(0x1180, 0, 0x20, SyncManagerType.PROCESS_DATA_IN),
            ),
            fmmus=(FmmuUsage.OUTPUTS, FmmuUsage.INPUTS, FmmuUsage.SYNC_MANAGER_STATUS),
            rx_pdos=(_pdo_from_od(od, _RX_MAPPING, _OUTPUT_SM),),
            tx_pdos=(_pdo_from_od(od, _TX_MAPPING, _INPUT_SM),),
            mailbox=MailboxSpec(
                MailboxProtocols.COE | MailboxProtocols.FOE | MailboxProtocols.EOE,
                CoeDetails.ENABLE_SDO | CoeDetails.ENABLE_SDO_INFO | CoeDetails.ENABLE_PDO_ASSIGN
                | CoeDetails.ENABLE_PDO_CONFIGURATION | CoeDetails.ENABLE_SDO_COMPLETE_ACCESS,
                bootstrap=BootstrapMailbox(*mailbox_areas),
            ),
            dc_op_modes=(DcOpModeSpec("DC-Synchron", _SYNC0_ASSIGN_ACTIVATE, "DC SYNC0"),
                         DcOpModeSpec("FreeRun/SM-Synchron", 0x0000, "SM2 event or free run")),
            alias=alias,
            flags=GeneralFlags.MBOX_DATA_LINK_LAYER,
        )

    @property
    def description(self) -> DeviceDescription:
        """The drive's SII."""
        return self._description

    def create_application(self, slave: SimulatedSlave) -> Cia402DriveApplication:
        """A drive on ``slave``'s object dictionary, its emergencies sent by ``slave.coe``."""
        return Cia402DriveApplication(slave, self.config)

    def foe_files(self) -> Mapping[str, Union[bytes, FoEFile]]:
        """The drive's files at power-on."""
        return self._files


class Cia402DriveApplication(DeviceApplication):
    """Runs a :class:`Cia402Drive` as the slave's application (module documentation)."""

    def __init__(self, slave: SimulatedSlave, config: DriveConfig) -> None:
        if slave.od is None or slave.coe is None:
            raise ValueError("a CiA 402 drive needs CoE and an object dictionary")
        self._od = slave.od
        #: The CiA 402 drive.
        self.drive = Cia402Drive(slave.od, slave.coe.raise_emergency, config=config)
        self._in_op = False
        self._outputs_event = False
        #: SM event missed counter (SSC scheme, see the module documentation).
        self.sm_event_missed = 0
        #: Above this the drive reports 0x001A; 0: no reaction (module documentation).
        self.sync_error_counter_limit = 0

    def outputs_received(self) -> None:
        """The SM2 event: new outputs in OP (counted by the SM event supervision)."""
        self._outputs_event = True

    def cycle(self, now_ns: int, trigger: CycleTrigger) -> None:
        """One drive cycle; a SYNC0 cycle in OP also supervises the SM events."""
        if trigger is CycleTrigger.SYNC0 and self._in_op:
            if self._outputs_event:
                self._set_missed(max(0, self.sm_event_missed - _SEEN_STEP))
            else:
                self._set_missed(self.sm_event_missed + _MISSED_STEP)
            self._outputs_event = False
        self.drive.cycle(now_ns, trigger)

    def _set_missed(self, value: int) -> None:
        self.sm_event_missed = min(value, 0xFFFF)
        for index in _SYNC_PARAMETERS:
            if index in self._od:
                self._od.set(index, _SM_EVENT_MISSED_SUBINDEX, self.sm_event_missed)

    @property
    def sync_error(self) -> bool:
        """True while the SM event missed counter is above the limit (AL code 0x001A)."""
        limit = self.sync_error_counter_limit
        return bool(limit) and self.sm_event_missed > limit

    def supervise(self, now_ns: int) -> int:
        """0x002C (fatal sync error) while the drive has lost SYNC0, 0x001A (synchronization
        error) while too many SM events were missed, else 0."""
        self.drive.supervise(now_ns)
        if self.drive.sync_lost:
            return ALStatusCode.FATAL_SYNC_ERROR
        if self._in_op and self.sync_error:
            for index in _SYNC_PARAMETERS:
                if index in self._od:
                    self._od.set(index, _SYNC_ERROR_SUBINDEX, True)
            return ALStatusCode.SYNCHRONIZATION_ERROR
        return ALStatusCode.NO_ERROR

    def state_entered(self, previous: ALState, state: ALState) -> None:
        """SYNC0 stops on purpose outside SAFE-OP and OP; the SM event supervision runs in
        OP and starts afresh when OP is entered."""
        if state not in _PROCESS_DATA_STATES:
            self.drive.reset_sync()
        self._in_op = state is ALState.OP
        if self._in_op:
            self._outputs_event = False
            self._set_missed(0)
            if not self.drive.sync_lost:
                for index in _SYNC_PARAMETERS:
                    if index in self._od:
                        self._od.set(index, _SYNC_ERROR_SUBINDEX, False)

    def status(self) -> dict[str, Any]:
        """Drive state, mode and the main objects."""
        values = {name: self._od.get(index, 0) for name, index in _STATUS_OBJECTS.items()}
        return {"drive_state": self.drive.state.value, "mode": int(self.drive.mode), **values}

