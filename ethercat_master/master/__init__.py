"""The EtherCAT master: bus access, scan, AL states, mailbox, PDO mapping, cyclic exchange.

Built so far: :class:`Bus`, the acyclic datagram engine every other part of the master uses.
"""

from .bus import Bus, BusCounters, Request

__all__ = ["Bus", "BusCounters", "Request"]
