"""``/diagnostics`` for the master and every slave (diagnostic_msgs/DiagnosticArray), from the
core's snapshots; the level rules live here so that they are tested without a ROS graph.

Level rules
    Master: ERROR when the link failed or the cycle thread stopped; WARN when frames were lost,
    working counters mismatched or cycles overran since the last report; OK otherwise.
    Slave: ERROR when it is lost (no answer), its AL error flag is set, it lost DC
    synchronisation, or, while the node is active, it is not in OP; WARN when its port error or
    lost-link counters grew since the last report, or (active) its DC system time difference is
    outside the lock window; OK otherwise. DC values (system time difference, in sync, sync
    loss) appear per slave and the controller's (lock, time to lock, phase, drift) on the master.

Names and hardware IDs: ``"ethercat_master: master"`` with ``hardware_id`` the link;
``"ethercat_master: slave 4 axis1"`` with ``hardware_id`` ``"position 4 / axis1 / SimServo-402"``
(the analyzer file ``config/diagnostic_analyzers.yaml`` groups them by these prefixes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

from ..protocol.al_status import al_status_text
from ..protocol.registers import ErrorCounters

__all__ = ["SlaveReport", "MasterReport", "DiagnosticsBuilder", "NAME_PREFIX"]

#: Prefix of every status name (the analyzer file matches it).
NAME_PREFIX = "ethercat_master"
OK, WARN, ERROR = DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR


@dataclass
class SlaveReport:
    """What the node knows of one slave at one report."""

    position: int
    name: str
    device: str
    state: Optional[str]                 # None: the slave did not answer
    status_code: int = 0
    error_flag: bool = False
    counters: Optional[ErrorCounters] = None
    links: Sequence[bool] = ()
    mailbox: dict[str, Any] = field(default_factory=dict)
    drive: dict[str, Any] = field(default_factory=dict)
    dc: dict[str, Any] = field(default_factory=dict)
    recovery: dict[str, Any] = field(default_factory=dict)


@dataclass
class MasterReport:
    """What the node knows of the master at one report."""

    link: str
    lifecycle: str
    cycle_running: bool
    cycle_period: float
    statistics: dict[str, Any] = field(default_factory=dict)
    working_counter: Optional[int] = None
    expected_working_counter: int = 0
    error: str = ""
    dc: dict[str, Any] = field(default_factory=dict)


def _kv(key: str, value: Any) -> KeyValue:
    return KeyValue(key=key, value=str(value))


def _counter_total(counters: Optional[ErrorCounters]) -> int:
    if counters is None:
        return 0
    return (sum(counters.invalid_frame) + sum(counters.rx_error) + sum(counters.forwarded_rx_error)
            + counters.processing_unit_error + sum(counters.lost_link))


class DiagnosticsBuilder:
    """Builds one DiagnosticArray per report and remembers the counters of the previous one
    (for the "grew since the last report" rules)."""

    def __init__(self) -> None:
        self._last_master: dict[str, int] = {}
        self._last_slave_errors: dict[int, int] = {}

    def master_status(self, report: MasterReport) -> DiagnosticStatus:
        """The master's status (module documentation)."""
        stats = report.statistics
        watched = {key: int(stats.get(key, 0)) for key in ("frames_lost", "wkc_mismatches", "overruns")}
        grown = [key for key, value in watched.items() if value > self._last_master.get(key, value)]
        self._last_master = watched
        if report.error:
            level, message = ERROR, report.error
        elif report.lifecycle == "active" and not report.cycle_running:
            level, message = ERROR, "the cycle thread is not running"
        elif grown:
            level, message = WARN, "since the last report: " + ", ".join(f"{key} grew" for key in grown)
        else:
            level, message = OK, f"{report.lifecycle}, cycling" if report.cycle_running else report.lifecycle
        values = [_kv("lifecycle state", report.lifecycle), _kv("link", report.link),
                  _kv("cycle period [s]", report.cycle_period), _kv("cycle running", report.cycle_running),
                  _kv("working counter", "-" if report.working_counter is None else report.working_counter),
                  _kv("expected working counter", report.expected_working_counter)]
        for key in ("cycles", "frames_sent", "frames_lost", "wkc_mismatches", "stale_replies", "overruns",
                    "skipped_cycles", "idle_overruns"):
            if key in stats:
                values.append(_kv(key, stats[key]))
        for key, value in report.dc.items():
            values.append(_kv(f"dc {key}", value))
        for key in ("round_trip", "period_jitter", "wake_latency"):
            summary = stats.get(key)
            if isinstance(summary, dict):
                for name in ("p50_us", "p99_us", "p99_9_us", "max_us"):
                    if summary.get(name) is not None:
                        values.append(_kv(f"{key} {name}", summary[name]))
        return DiagnosticStatus(level=level, name=f"{NAME_PREFIX}: master", message=message,
                                hardware_id=report.link, values=values)

    def slave_status(self, report: SlaveReport, *, active: bool) -> DiagnosticStatus:
        """One slave's status (module documentation)."""
        errors = _counter_total(report.counters)
        grew = errors > self._last_slave_errors.get(report.position, errors)
        self._last_slave_errors[report.position] = errors
        if report.state is None:
            level, message = ERROR, "lost: no answer"
        elif report.error_flag:
            level, message = ERROR, (f"{report.state} with error: AL status code 0x{report.status_code:04X} "
                                     f"{al_status_text(report.status_code)}")
        elif active and report.state != "OP":
            level, message = ERROR, f"not in OP ({report.state})"
        elif report.dc.get("sync_lost"):
            level, message = ERROR, f"{report.state}: DC synchronisation lost"
        elif grew:
            level, message = WARN, "port error counters grew"
        elif report.dc and report.dc.get("in_sync") is False and active:
            level, message = WARN, f"{report.state}, DC not in sync"
        else:
            level, message = OK, report.state
        values = [_kv("position", report.position), _kv("AL state", report.state or "lost"),
                  _kv("AL status code", f"0x{report.status_code:04X}"),
                  _kv("AL status text", al_status_text(report.status_code)),
                  _kv("links", " ".join(f"port{n}:{'up' if up else 'down'}" for n, up in enumerate(report.links)))]
        if report.counters is not None:
            c = report.counters
            values += [_kv("invalid frames per port", list(c.invalid_frame)), _kv("rx errors per port", list(c.rx_error)),
                       _kv("forwarded rx errors per port", list(c.forwarded_rx_error)),
                       _kv("lost links per port", list(c.lost_link)),
                       _kv("processing unit errors", c.processing_unit_error)]
        for group, items in (("mailbox", report.mailbox), ("drive", report.drive), ("dc", report.dc),
                             ("recovery", report.recovery)):
            for key, value in items.items():
                values.append(_kv(f"{group} {key}", value))
        return DiagnosticStatus(level=level, name=f"{NAME_PREFIX}: slave {report.position} {report.name}",
                                message=message, hardware_id=f"position {report.position} / {report.name} / "
                                                             f"{report.device}", values=values)

    def array(self, master: MasterReport, slaves: Sequence[SlaveReport], stamp: Any) -> DiagnosticArray:
        """The whole array: the master first, then the slaves by position."""
        active = master.lifecycle == "active"
        msg = DiagnosticArray()
        msg.header.stamp = stamp
        msg.status = [self.master_status(master)] + [self.slave_status(s, active=active) for s in slaves]
        return msg
