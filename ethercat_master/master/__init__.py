"""The EtherCAT master: bus access, scan, SII, AL states, mailbox, PDO mapping, cyclic exchange.

Built so far:

- :class:`Bus`: the acyclic datagram engine every other part uses;
- :func:`scan`: count, reset and address the slaves, read their identity and SII, detect the
  topology; each slave is described by a :class:`SlaveInfo`;
- SII access (:func:`read_sii`, :func:`write_sii_words`);
- AL state control (:func:`request_state`, :func:`request_states`, :func:`read_states`);
- the mailbox engine per slave (:class:`MailboxEngine`, status modes, repeat protocol,
  backoff, strict reply matching, emergency queue) with :class:`MailboxDiagnostics`
  (versioned schema, ``docs/mailbox.md``), and the :class:`CoEClient` and :class:`FoEClient`;
- PDO mapping (:func:`configure_process_data`), the numpy :class:`ProcessImage` and the
  :class:`CyclicExchange` with its :class:`CycleThread`;
- :class:`Master`, the facade the CLI uses: link, scan, state requests, mailbox clients,
  registers, SII, diagnostics.
"""

from .al import acknowledge_errors, broadcast_state, read_states, request_state, request_states, transition_timeout
from .bus import Bus, BusCounters, Request
from .coe import CoEClient
from .diagnostics import SCHEMA_VERSION, MailboxCounters, MailboxDiagnostics
from .foe import FoEClient, Progress
from .cyclic import CycleThread, CyclicExchange, MailboxPoller, RealtimeOptions
from .master import DIAGNOSTICS_KIND, DIAGNOSTICS_SCHEMA_VERSION, Master
from .pdo_mapping import ProcessDataLayout, configure_process_data
from .process_image import ProcessImage
from .mailbox import BackoffPolicy, EmergencyQueue, MailboxEngine, MailboxPolicy, MailboxSlave, ReceivedEmergency, StatusMode
from .scan import DEFAULT_FIRST_STATION_ADDRESS, BusScan, scan
from .sii_reader import SiiTarget, SiiTiming, read_sii, read_sii_images, read_sii_words, write_sii_words
from .slave_info import MailboxArea, SlaveInfo

__all__ = [
    "Bus", "BusCounters", "Request",
    "scan", "BusScan", "DEFAULT_FIRST_STATION_ADDRESS",
    "SlaveInfo", "MailboxArea",
    "SiiTarget", "SiiTiming", "read_sii", "read_sii_images", "read_sii_words", "write_sii_words",
    "read_states", "broadcast_state", "request_state", "request_states", "acknowledge_errors",
    "transition_timeout",
    "MailboxEngine", "MailboxSlave", "MailboxPolicy", "BackoffPolicy", "StatusMode", "EmergencyQueue",
    "ReceivedEmergency", "MailboxDiagnostics", "MailboxCounters", "SCHEMA_VERSION",
    "CoEClient", "FoEClient", "Progress",
    "configure_process_data", "ProcessDataLayout", "ProcessImage",
    "CyclicExchange", "CycleThread", "MailboxPoller", "RealtimeOptions",
    "Master", "DIAGNOSTICS_SCHEMA_VERSION", "DIAGNOSTICS_KIND",
]
