"""The lifecycle node ``ethercat_master``: a thin ROS 2 adapter over the core's public API.

Lifecycle (``docs/ros.md`` has the whole contract)
    configure   load the network file, open its link (interface, UDP, or the in-process
                simulator for ``sim:``), scan, check the bus against the file (a missing, extra
                or wrong slave fails the transition with a message naming position, expected
                and found), PRE-OP, start-up SDOs, PDO mapping; make topics and services.
    activate    SAFE-OP, the cycle thread starts, OP; the supervisor (recovery) starts; drives
                are enabled holding their position when ``enable_drives`` is true.
    deactivate  drives disabled, outputs zeroed and sent, SAFE-OP; cycling continues.
    cleanup     cycle stopped, INIT, link closed, topics and services removed.
    shutdown / errors: as cleanup, as far as it goes; the reason is logged and kept for
                ``/diagnostics``.

Topics: ``~/inputs`` (ProcessData, sensor-data QoS, ``publish_rate``), ``~/state``
(MasterState), ``joint_states`` (sensor_msgs/JointState), ``~/emergencies`` (Emergency),
``/diagnostics`` (DiagnosticArray, ``diagnostics_rate``); in: ``joint_commands``
(sensor_msgs/JointState: position for CSP/PP drives, velocity for CSV/PV, effort for CST) and
``~/outputs`` (OutputCommand). Services: ``~/read_sdo``, ``~/write_sdo``, ``~/read_file``,
``~/write_file``, ``~/set_state``, ``~/list_slaves``, ``~/write_outputs``, ``~/drive_command``.

Threads: the executor (multi-threaded: services may block on the mailbox while timers keep
publishing), the master's cycle thread (drives are stepped there), the supervisor thread.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from typing import Any, Callable, Optional

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup, ReentrantCallbackGroup
from rclpy.lifecycle import LifecycleNode, State, TransitionCallbackReturn
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import JointState

from ..config.network import LinkKind, LinkSpec, NetworkConfig, load_network
from ..devices import Cia402Group, OperationMode
from ..errors import EtherCATError
from ..master.al import poll_states
from ..master.bus import Request
from ..master.cyclic import RealtimeOptions
from ..master.master import Master
from ..master.recovery import RecoveryEvent, Supervisor
from ..protocol.al_status import ALState, state_name
from ..protocol.coe import decode_value, emergency_text, encode_value
from ..protocol.datagram import Command, station_address
from ..protocol.registers import DlStatus, ErrorCounters, Register
from ..tools.network_link import NetworkLink
from ..tools.values import data_type_from_name, parse_value, show_value
from . import conversions
from .diagnostics import DiagnosticsBuilder, MasterReport, SlaveReport

from ethercat_master.msg import Emergency, MasterState, OutputCommand, ProcessData  # noqa: E402
from ethercat_master.srv import (  # noqa: E402
    DriveCommand,
    ListSlaves,
    ReadFile,
    ReadSdo,
    SetState,
    WriteFile,
    WriteOutputs,
    WriteSdo,
)

__all__ = ["EtherCATMasterNode", "NODE_NAME"]

NODE_NAME = "ethercat_master"
_DEFAULT_DRIVE_TIMEOUT = 2.0
#: Recovery events kept in EtherCATMasterNode.recovery_events.
_KEPT_EVENTS = 100
_MAX_PORT = 0xFFFF
#: Ports of an ESC (DL status 0x0110 reports four).
_PORTS = 4
_MODES = {"csp": OperationMode.CSP, "csv": OperationMode.CSV, "cst": OperationMode.CST,
          "pp": OperationMode.PP, "pv": OperationMode.PV, "hm": OperationMode.HM}


def link_spec(text: str) -> LinkSpec:
    """The link of an ``interface`` parameter: ``eth1``, ``raw:eth1``, ``udp:HOST:PORT`` or
    ``sim:CHAIN.yaml``.

    :raises ValueError: a malformed UDP spec.
    """
    scheme, sep, rest = text.partition(":")
    if sep and scheme == "sim":
        return LinkSpec(LinkKind.SIM, rest)
    if sep and scheme == "udp":
        host, _, port = rest.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= _MAX_PORT:
            raise ValueError(f"interface {text!r}: expected udp:HOST:PORT with a port 1-{_MAX_PORT}")
        return LinkSpec(LinkKind.UDP, host, int(port))
    return LinkSpec(LinkKind.INTERFACE, rest if sep and scheme == "raw" else text)


class EtherCATMasterNode(LifecycleNode):
    """The lifecycle node (module documentation)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(NODE_NAME, **kwargs)
        self._declare("config_file", "", "the network description (YAML); required", read_only=True)
        self._declare("interface", "", "overrides the file's interface: eth1, raw:eth1, udp:HOST:PORT, "
                                       "sim:CHAIN.yaml ('' keeps the file's)", read_only=True)
        self._declare("cycle_period", 0.0, "seconds; 0 keeps the file's cycle_period", read_only=True,
                      floating=(0.0, 1.0))
        self._declare("publish_rate", 100.0, "Hz of ~/inputs, ~/state and joint_states", floating=(1.0, 1000.0))
        self._declare("diagnostics_rate", 1.0, "Hz of /diagnostics and the slave checks", floating=(0.1, 10.0))
        self._declare("frame_timeout", 0.05, "seconds the bus waits for an acyclic frame's reply while cycling "
                                             "(a lost one delays the next cycle by up to this)", read_only=True,
                      floating=(0.0005, 5.0))
        self._declare("startup_frame_timeout", 0.5, "seconds the bus waits for a frame's reply during configure "
                                                    "(scan, SII, start-up SDOs)", read_only=True,
                      floating=(0.001, 10.0))
        self._declare("realtime_priority", 0, "SCHED_FIFO priority of the cycle thread; 0: normal scheduling",
                      read_only=True, integer=(0, 99))
        self._declare("gil_switch_interval", 0.0001,
                      "seconds another Python thread (the ROS executor) may hold the interpreter before the "
                      "cycle thread gets it (sys.setswitchinterval); 0 keeps Python's 5 ms", read_only=True,
                      floating=(0.0, 0.005))
        self._declare("enable_drives", True, "enable the CiA 402 drives on activate (holding their position)")
        self.network: Optional[NetworkConfig] = None
        self.master: Optional[Master] = None
        self.drives: Optional[Cia402Group] = None
        self.supervisor: Optional[Supervisor] = None
        self._link: Optional[NetworkLink] = None
        self._own_entities: list[Any] = []
        self._own_timers: list[Any] = []
        self._lifecycle = "unconfigured"
        self._last_error = ""
        self._check_error = ""
        #: The supervisor's latest findings (newest last), for the application to inspect.
        self.recovery_events: deque[RecoveryEvent] = deque(maxlen=_KEPT_EVENTS)
        self._diagnostics = DiagnosticsBuilder()
        self._service_group = ReentrantCallbackGroup()
        self._publish_group = MutuallyExclusiveCallbackGroup()
        self._check_group = MutuallyExclusiveCallbackGroup()
        self._diagnostics_publisher = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        # /diagnostics lives as long as the node: an unconfigured node (a failed configure) says why
        self._diagnostics_timer = self.create_timer(1.0 / self._param("diagnostics_rate"), self._check,
                                                    callback_group=self._check_group)
        self.add_on_set_parameters_callback(self._on_parameters)

    # ----------------------------------------------------------------------- parameters
    def _declare(self, name: str, default: Any, description: str, *, read_only: bool = False,
                 floating: Optional[tuple[float, float]] = None, integer: Optional[tuple[int, int]] = None) -> None:
        descriptor = ParameterDescriptor(description=description, read_only=read_only)
        if floating is not None:
            descriptor.floating_point_range = [FloatingPointRange(from_value=floating[0], to_value=floating[1])]
        if integer is not None:
            descriptor.integer_range = [IntegerRange(from_value=integer[0], to_value=integer[1], step=1)]
        self.declare_parameter(name, default, descriptor)

    def _param(self, name: str) -> Any:
        return self.get_parameter(name).value

    def _on_parameters(self, parameters: list[Any]) -> Any:
        from rcl_interfaces.msg import SetParametersResult

        for parameter in parameters:
            if parameter.name in ("publish_rate", "diagnostics_rate") and self._lifecycle in ("inactive", "active"):
                # the timers are made at configure: a new rate applies from the next configure
                self.get_logger().info(f"{parameter.name} = {parameter.value}: applies at the next configure")
        return SetParametersResult(successful=True)

    # ------------------------------------------------------------------------ lifecycle
    def on_configure(self, state: State) -> TransitionCallbackReturn:
        self._lifecycle = "configuring"
        try:
            self._configure()
        except Exception as exc:  # noqa: BLE001 - any failure fails the transition, with its reason
            self._fail("configure", exc)
            self._teardown()
            self._lifecycle = "unconfigured"
            return TransitionCallbackReturn.FAILURE
        self._lifecycle = "inactive"
        return TransitionCallbackReturn.SUCCESS

    def _configure(self) -> None:
        path = self._param("config_file")
        if not path:
            raise ValueError("parameter config_file is empty: give the network description (YAML)")
        network = load_network(path)
        if self._param("interface"):
            network = dataclasses.replace(network, interface=link_spec(self._param("interface")))
        if self._param("cycle_period") > 0:
            network = dataclasses.replace(network, cycle_period_ns=round(self._param("cycle_period") * 1e9))
        self._link = NetworkLink(network)
        self.master = Master(self._link.link, bus_timeout=self._param("startup_frame_timeout"))
        self.get_logger().info(f"configuring {len(network.slaves)} slaves of {network.file} on "
                               f"{self._link.description}")
        self.master.configure(network)
        self.master.bus.timeout = self._param("frame_timeout")
        self.network = network
        self.drives = Cia402Group.from_network(network, self.master.image, self.master.slaves, sdo=self.master.coe)
        self.master.cycle_hooks.append(self.drives.update)
        self._make_entities()
        self._last_error = ""
        self.get_logger().info(f"configured: {len(self.master.slaves)} slaves in PRE-OP, "
                               f"{len(self.drives)} drives, process image {self.master.layout.output_bytes} B out / "
                               f"{self.master.layout.input_bytes} B in")

    def on_activate(self, state: State) -> TransitionCallbackReturn:
        master, network = self.master, self.network
        assert master is not None and network is not None
        priority = self._param("realtime_priority")
        try:
            report = master.start(realtime=RealtimeOptions(
                priority=priority or None, switch_interval=self._param("gil_switch_interval") or None))
            if report.failed:
                self.get_logger().warning(f"cycle thread real-time settings: {report}")
            self.supervisor = Supervisor(master, network.recovery, on_event=self._on_recovery_event).start()
            if self._param("enable_drives") and self.drives is not None and len(self.drives):
                self.drives.enable()
        except EtherCATError as exc:
            self._fail("activate", exc)
            self._stop_operation()
            return TransitionCallbackReturn.FAILURE
        self._lifecycle = "active"
        self.get_logger().info(f"active: {len(master.slaves)} slaves in OP, cycle {master.cycle.period * 1e3:g} ms")
        return super().on_activate(state)

    def on_deactivate(self, state: State) -> TransitionCallbackReturn:
        self._stop_operation()
        self._lifecycle = "inactive"
        self.get_logger().info("inactive: SAFE-OP with safe outputs")
        return super().on_deactivate(state)

    def _stop_operation(self) -> None:
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None
        if self.drives is not None:
            try:
                self.drives.disable()
            except EtherCATError as exc:
                self.get_logger().warning(f"disabling the drives: {exc}")
        if self.master is not None:
            try:
                self.master.stop()
            except EtherCATError as exc:
                self._fail("going to SAFE-OP", exc)

    def on_cleanup(self, state: State) -> TransitionCallbackReturn:
        self._lifecycle = "cleaningup"
        self._teardown()
        self._lifecycle = "unconfigured"
        self.get_logger().info("unconfigured: slaves in INIT, link closed")
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: State) -> TransitionCallbackReturn:
        self.release()
        self._lifecycle = "finalized"
        return TransitionCallbackReturn.SUCCESS

    def release(self) -> None:
        """Stop everything and close the link, whatever the state (idempotent): the end of a
        process that did not go through the lifecycle's shutdown (a signal)."""
        if self.supervisor is not None:
            self._stop_operation()
        self._teardown()

    def on_error(self, state: State) -> TransitionCallbackReturn:
        self.get_logger().error(f"error processing in {state.label}: cleaning up ({self._last_error})")
        try:
            if self.supervisor is not None:
                self._stop_operation()
        finally:
            self._teardown()
        self._lifecycle = "unconfigured"
        return TransitionCallbackReturn.SUCCESS

    def _teardown(self) -> None:
        for entity in self._own_timers:
            self.destroy_timer(entity)
        self._own_timers.clear()
        for destroy, entity in self._own_entities:
            destroy(entity)
        self._own_entities.clear()
        master, self.master = self.master, None
        if master is not None:
            try:
                master.shutdown()
            except EtherCATError as exc:
                self.get_logger().warning(f"taking the slaves to INIT: {exc}")
            master.close()
        link, self._link = self._link, None
        if link is not None:
            link.close()
        self.drives = None
        self.network = None

    def _fail(self, what: str, exc: BaseException) -> None:
        notes = "".join(f"\n  {note}" for note in getattr(exc, "__notes__", ()))
        self._last_error = f"{what} failed: {type(exc).__name__}: {exc}{notes}"
        self.get_logger().error(self._last_error)

    def _on_recovery_event(self, event: RecoveryEvent) -> None:
        self.recovery_events.append(event)  # the supervisor logs it (routed into the ROS log by main)

    # ------------------------------------------------------------------------- entities
    def _make_entities(self) -> None:
        def publisher(msg_type: Any, topic: str, qos: Any = 10) -> Any:
            entity = self.create_publisher(msg_type, topic, qos)
            self._own_entities.append((self.destroy_publisher, entity))
            return entity

        def service(srv_type: Any, name: str, callback: Callable[..., Any]) -> None:
            entity = self.create_service(srv_type, name, callback, callback_group=self._service_group)
            self._own_entities.append((self.destroy_service, entity))

        def subscription(msg_type: Any, topic: str, callback: Callable[..., Any], qos: Any = 10) -> None:
            entity = self.create_subscription(msg_type, topic, callback, qos, callback_group=self._publish_group)
            self._own_entities.append((self.destroy_subscription, entity))

        self._inputs_publisher = publisher(ProcessData, "~/inputs", qos_profile_sensor_data)
        self._state_publisher = publisher(MasterState, "~/state")
        self._joint_states_publisher = publisher(JointState, "joint_states", qos_profile_sensor_data)
        self._emergencies_publisher = publisher(Emergency, "~/emergencies", 100)
        subscription(JointState, "joint_commands", self._on_joint_commands, qos_profile_sensor_data)
        subscription(OutputCommand, "~/outputs", self._on_outputs)
        service(ReadSdo, "~/read_sdo", self._read_sdo)
        service(WriteSdo, "~/write_sdo", self._write_sdo)
        service(ReadFile, "~/read_file", self._read_file)
        service(WriteFile, "~/write_file", self._write_file)
        service(SetState, "~/set_state", self._set_state)
        service(ListSlaves, "~/list_slaves", self._list_slaves)
        service(WriteOutputs, "~/write_outputs", self._write_outputs)
        service(DriveCommand, "~/drive_command", self._drive_command)
        self._own_timers.append(self.create_timer(1.0 / self._param("publish_rate"), self._publish,
                                              callback_group=self._publish_group))

    # ------------------------------------------------------------------------ publishing
    def _publish(self) -> None:
        master = self.master
        if master is None or master.cycle is None or not master.cycle.running:
            return
        stamp = self.get_clock().now().to_msg()
        self._inputs_publisher.publish(conversions.process_data(master, self._names(), stamp))
        self._state_publisher.publish(self._master_state(stamp))
        if self.drives is not None and len(self.drives):
            names, positions, velocities, efforts = self.drives.joint_states()
            msg = JointState()
            msg.header.stamp = stamp
            msg.name = list(names)
            msg.position = [float("nan") if v is None else v for v in positions]
            msg.velocity = [float("nan") if v is None else v for v in velocities]
            msg.effort = [float("nan") if v is None else v for v in efforts]
            self._joint_states_publisher.publish(msg)

    def _names(self) -> dict[int, str]:
        master = self.master
        assert master is not None
        return {s.position: (master.assignment[s.position].name if s.position in master.assignment
                             else s.order or s.name) for s in master.slaves}

    def _master_state(self, stamp: Any) -> MasterState:
        master = self.master
        assert master is not None
        msg = MasterState()
        msg.header.stamp = stamp
        msg.lifecycle_state = self._lifecycle
        msg.link = self._link.description if self._link is not None else ""
        msg.slaves = len(master.slaves)
        health = self.supervisor.health.values() if self.supervisor is not None else ()
        msg.slaves_lost = sum(1 for h in health if h.condition.value == "lost")
        msg.slaves_in_op = sum(1 for h in health if h.state == "OP")
        if master.cycle is not None and master.exchange is not None:
            stats = master.exchange.statistics()
            msg.cycle_period = master.cycle.period
            msg.cycles, msg.frames_lost = stats.cycles, stats.frames_lost
            msg.working_counter_mismatches, msg.overruns = stats.wkc_mismatches, stats.overruns
            msg.jitter_p99_us = float(stats.period_jitter.p99_us or 0.0)
            msg.round_trip_p99_us = float(stats.round_trip.p99_us or 0.0)
        return msg

    # ------------------------------------------------------------------ checks, diagnostics
    def _check(self) -> None:
        stamp = self.get_clock().now().to_msg()
        if self._lifecycle not in ("inactive", "active"):  # nothing configured (or a transition runs)
            self._publish_diagnostics([], stamp)
            return
        master = self.master
        if master is None:
            return
        try:
            slaves = self._slave_reports(master)
            self._check_error = ""
        except (EtherCATError, RuntimeError, LookupError) as exc:  # reported until a read succeeds again
            self._check_error = f"reading slave states: {exc}"
            slaves = []
        self._publish_diagnostics(slaves, stamp)
        self._publish_emergencies(master, stamp)

    def _slave_reports(self, master: Master) -> list[SlaveReport]:
        slaves = list(master.slaves)
        blocks = poll_states(master.bus, slaves)
        requests = []
        for slave in slaves:
            requests.append(Request.read(Command.FPRD, station_address(slave.station_address, ErrorCounters.ADDRESS),
                                         ErrorCounters.SIZE))
            requests.append(Request.read(Command.FPRD, station_address(slave.station_address, Register.DL_STATUS),
                                         DlStatus.SIZE))
        replies = master.bus.exchange(requests)
        mailbox = {entry["station_address"]: entry for entry in master.mailbox_diagnostics.snapshot()["slaves"]}
        health = self.supervisor.health if self.supervisor is not None else {}
        drives = {drive.slave: drive for drive in self.drives} if self.drives is not None else {}
        dc_slaves = master.dc.slaves if master.dc is not None else {}
        names = self._names()
        reports = []
        for n, (slave, block) in enumerate(zip(slaves, blocks)):
            counters_reply, dl_reply = replies[2 * n], replies[2 * n + 1]
            counters = ErrorCounters.decode(counters_reply.data) if counters_reply.wkc == 1 else None
            links: tuple[bool, ...] = ()
            if dl_reply.wkc == 1:
                dl = DlStatus.decode(dl_reply.data)
                links = tuple(dl.communication(port) for port in range(_PORTS))
            report = SlaveReport(slave.position, names[slave.position], slave.order or slave.name,
                                 None if block is None else state_name(block.status.state),
                                 0 if block is None else block.status_code,
                                 False if block is None else bool(block.status.error), counters, links)
            entry = mailbox.get(slave.station_address)
            if entry is not None:
                report.mailbox = {key: entry[key] for key in ("transactions", "timeouts", "retries",
                                                               "stale_discarded", "emergencies") if key in entry}
            if slave.position in health:
                report.recovery = health[slave.position].as_dict()
            drive = drives.get(slave.position)
            if drive is not None:
                status = drive.status
                report.drive = {"joint": drive.joint, "state": status.state.value, "mode": status.mode,
                                "statusword": f"0x{status.statusword:04X}"}
            status = dc_slaves.get(slave.position)
            if status is not None:
                report.dc = {"difference_ns": status.difference_ns, "in_sync": status.in_sync,
                             "sync_lost": status.sync_lost, "delay_ns": status.delay_ns}
            reports.append(report)
        return reports

    def _publish_diagnostics(self, slaves: list[SlaveReport], stamp: Any) -> None:
        master = self.master
        running = master is not None and master.cycle is not None and master.cycle.running
        report = MasterReport(self._link.description if self._link is not None else "(no link)", self._lifecycle,
                              running, master.cycle.period if running else 0.0,
                              error=self._last_error or self._check_error)
        if master is not None and master.exchange is not None:
            report.statistics = master.exchange.statistics().as_dict()
            wkcs = master.exchange.working_counters
            report.working_counter = None if None in wkcs else sum(wkcs)  # type: ignore[arg-type]
            report.expected_working_counter = master.layout.expected_wkc if master.layout else 0
        if master is not None and master.dc is not None:
            dc = master.dc.snapshot()
            report.dc = {"locked": dc["locked"], "time to lock [ns]": dc["time_to_lock_ns"],
                         "reference": dc["reference"]["name"], "reference drift [ppm]": dc["reference"]["drift_ppm"],
                         "phase error [ns]": dc["phase"]["error_ns"],
                         "worst p99.9 |difference| [ns]": dc["worst_p999_abs_difference_ns"],
                         "out of sync events": dc["out_of_sync_events"], "sync loss events": dc["sync_loss_events"]}
        self._diagnostics_publisher.publish(self._diagnostics.array(report, slaves, stamp))

    def _publish_emergencies(self, master: Master, stamp: Any) -> None:
        names = self._names()
        for slave in master.slaves:
            try:
                engine = master.mailbox(slave.position)
            except EtherCATError:
                continue
            for received in engine.emergencies.drain():
                emergency = received.emergency
                msg = Emergency()
                msg.header.stamp = stamp
                msg.position = slave.position
                msg.slave_name = names[slave.position]
                msg.error_code = emergency.error_code
                msg.error_register = int(emergency.error_register)
                msg.manufacturer_data = list(emergency.data)
                msg.text = emergency_text(emergency.error_code)
                self._emergencies_publisher.publish(msg)

    # ------------------------------------------------------------------------- commands
    def _on_joint_commands(self, msg: JointState) -> None:
        drives = self.drives
        if drives is None or self._lifecycle != "active":
            return
        setpoints: dict[str, float] = {}
        for i, joint in enumerate(msg.name):
            try:
                drive = drives[joint]
            except KeyError:
                self.get_logger().warning(f"joint_commands: no drive for joint {joint!r}", throttle_duration_sec=5.0)
                continue
            mode = drive.status.requested_mode
            values = (msg.velocity if mode in (OperationMode.CSV, OperationMode.PV)
                      else msg.effort if mode in (OperationMode.CST, OperationMode.PT) else msg.position)
            if i < len(values):
                setpoints[joint] = values[i]
        if setpoints:
            try:
                drives.command(setpoints)
            except EtherCATError as exc:
                self.get_logger().warning(f"joint_commands: {exc}", throttle_duration_sec=5.0)

    def _on_outputs(self, msg: OutputCommand) -> None:
        ok, message = self._apply_outputs(msg.slave, msg.names, msg.values)
        if not ok:
            self.get_logger().warning(f"~/outputs: {message}", throttle_duration_sec=5.0)

    def _apply_outputs(self, slave: str, names: Any, values: Any) -> tuple[bool, str]:
        master = self.master
        if master is None or master.image is None:
            return False, "not configured"
        try:
            position = conversions.find_slave(master, slave)
            conversions.write_outputs(master.image, position, list(names), list(values))
        except (LookupError, ValueError) as exc:
            return False, str(exc)
        return True, f"{len(names)} outputs of slave {position} written"

    # ------------------------------------------------------------------------- services
    def _configured(self, response: Any) -> Optional[Master]:
        if self.master is None:
            response.success = False
            response.message = f"the node is {self._lifecycle}: configure it first"
            return None
        return self.master

    def _on_slave(self, response: Any, slave: str, action: Callable[[Master, int], str]) -> Any:
        """Run one service's ``action(master, position)`` on the slave ``slave`` names; its
        text becomes the message of a successful response, an error fills the failure fields
        (:func:`~.conversions.fail`)."""
        master = self._configured(response)
        if master is None:
            return response
        try:
            response.message = action(master, conversions.find_slave(master, slave))
            response.success = True
        except (EtherCATError, LookupError, ValueError) as exc:
            conversions.fail(response, exc)
        return response

    def _read_sdo(self, request: ReadSdo.Request, response: ReadSdo.Response) -> ReadSdo.Response:
        def upload(master: Master, position: int) -> str:
            data = master.coe(position).upload(request.index, request.subindex, complete_access=request.complete_access)
            response.data = list(data)
            if request.data_type:
                data_type = data_type_from_name(request.data_type)
                response.value = show_value(decode_value(data_type, data), data_type)
            return f"0x{request.index:04X}:{request.subindex:02X} of slave {position}: {len(data)} octets"

        return self._on_slave(response, request.slave, upload)

    def _write_sdo(self, request: WriteSdo.Request, response: WriteSdo.Response) -> WriteSdo.Response:
        def download(master: Master, position: int) -> str:
            if request.data_type:
                data_type = data_type_from_name(request.data_type)
                data = encode_value(data_type, parse_value(request.value, data_type))
            else:
                data = bytes(request.data)
            master.coe(position).download(request.index, request.subindex, data,
                                          complete_access=request.complete_access)
            return f"0x{request.index:04X}:{request.subindex:02X} of slave {position}: {len(data)} octets"

        return self._on_slave(response, request.slave, download)

    def _read_file(self, request: ReadFile.Request, response: ReadFile.Response) -> ReadFile.Response:
        def read(master: Master, position: int) -> str:
            data = master.foe(position).read(request.file_name, password=request.password)
            response.data = list(data)
            return f"{request.file_name!r} from slave {position}: {len(data)} octets"

        return self._on_slave(response, request.slave, read)

    def _write_file(self, request: WriteFile.Request, response: WriteFile.Response) -> WriteFile.Response:
        def write(master: Master, position: int) -> str:
            master.foe(position).write(request.file_name, bytes(request.data), password=request.password)
            return f"{request.file_name!r} to slave {position}: {len(request.data)} octets"

        return self._on_slave(response, request.slave, write)

    def _set_state(self, request: SetState.Request, response: SetState.Response) -> SetState.Response:
        master = self._configured(response)
        if master is None:
            return response
        try:
            position = None if not request.slave else conversions.find_slave(master, request.slave)
            state = request.state.strip().upper().replace("-", "")
            if state not in ALState.__members__:
                raise ValueError(f"unknown AL state {request.state!r}: INIT, PREOP, BOOT, SAFEOP or OP")
            if self.supervisor is not None:  # keep it there instead of "recovering" it to OP
                self.supervisor.hold(ALState[state], position)
            master.request_state(state, position)
            response.success = True
            response.message = f"{'all slaves' if position is None else f'slave {position}'} in {state}"
        except (EtherCATError, LookupError, ValueError) as exc:
            conversions.fail(response, exc)
        try:
            response.states = conversions.slave_states(master, self._names(), self.get_clock().now().to_msg())
        except EtherCATError:
            pass
        return response

    def _list_slaves(self, request: ListSlaves.Request, response: ListSlaves.Response) -> ListSlaves.Response:
        master = self.master
        if master is None:
            return response
        drives = {drive.slave: drive.joint or "" for drive in self.drives} if self.drives is not None else {}
        try:
            states = poll_states(master.bus, list(master.slaves))
        except EtherCATError:
            states = [None] * len(master.slaves)
        response.slaves = [conversions.slave_description(master, slave, block, drives.get(slave.position, ""))
                           for slave, block in zip(master.slaves, states)]
        return response

    def _write_outputs(self, request: WriteOutputs.Request, response: WriteOutputs.Response) -> WriteOutputs.Response:
        response.success, response.message = self._apply_outputs(request.slave, request.names, request.values)
        return response

    def _drive_command(self, request: DriveCommand.Request, response: DriveCommand.Response) -> DriveCommand.Response:
        drives = self.drives
        if drives is None:
            response.success, response.message = False, f"the node is {self._lifecycle}: configure it first"
            return response
        try:
            drive = conversions.find_drive(drives, request.drive)
            timeout = request.timeout or _DEFAULT_DRIVE_TIMEOUT
            command = request.command.strip().lower()
            if command == "enable":
                drive.enable(timeout)
            elif command == "disable":
                drive.disable(timeout)
            elif command == "quick_stop":
                drive.quick_stop(timeout)
            elif command == "fault_reset":
                drive.fault_reset(timeout)
            elif command == "home":
                drive.home(request.homing_method or None, timeout=max(timeout, 10.0))
            elif command == "set_mode":
                mode = _MODES.get(request.mode.strip().lower())
                if mode is None:
                    raise ValueError(f"unknown mode {request.mode!r}: one of {', '.join(_MODES)}")
                drive.set_mode(mode, timeout)
            else:
                raise ValueError(f"unknown command {request.command!r}: enable, disable, quick_stop, fault_reset, "
                                 "home or set_mode")
            response.success = True
            response.message = f"{command}: done"
        except (EtherCATError, LookupError, ValueError) as exc:
            conversions.fail(response, exc)
        try:
            response.state = conversions.find_drive(drives, request.drive).state.value
        except LookupError:
            pass
        return response

