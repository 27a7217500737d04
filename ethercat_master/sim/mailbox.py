"""The slave side of the EtherCAT mailbox: the firmware that serves the two mailbox
SyncManagers of one simulated ESC.

Written from the specifications, checked against the reference slave stacks:

* ETG.1000.4 / ETG.1000.6 "Mailbox": the 6-octet header, the types, the counter (``Cnt``,
  1..7, 0 when unused): a message whose counter is not 0 and equals the previous one is a
  retry of a message already received and is not executed again (Beckhoff SSC
  ``MBX_MailboxWriteInd``, SOES ``ESC_mbxprocess``); the slave numbers its own messages 1..7
  (SOES ``ESC_claimbuffer``); the mailbox error reply (type 0) with its detail codes.
* ESC Section I 8.2 (mailbox mode: the master writes the receive mailbox only when it is empty,
  reads the send mailbox only when it is full) and Figure 26 (repeat request): the master
  toggles the repeat request bit of the send SyncManager (0x0806 + 8n bit 1); the slave puts
  the last message the master read into the send mailbox again and toggles the repeat
  acknowledge bit (0x0807 + 8n bit 1). A newer message already waiting in the send mailbox is
  taken out by deactivating the SyncManager for a moment and is sent after the repeated one
  (SOES).

Like a slave's firmware, :meth:`SlaveMailbox.poll` runs between frames (registered with
:meth:`~ethercat_master.sim.esc.Esc.add_frame_end_hook`) and works only through the ESC's
PDI side: it reads the receive mailbox when the SyncManager shows it full, and writes the send
mailbox when it shows it empty. It takes a new request only when no reply of its own is waiting
(SOES), so a master that does not fetch replies finds the receive mailbox full.

The mailbox runs in PRE-OP, SAFE-OP and OP with the standard layout and in BOOT with the
bootstrap layout; in INIT it stops: the mailbox SyncManagers are deactivated from the PDI,
queued messages are discarded and the received counter is forgotten (SOES ``ESC_stopmbx``).
"""

from __future__ import annotations

import collections
from typing import Callable, Optional, Sequence, Union

from ..protocol.al_status import ALState
from ..protocol.mailbox import (
    MAILBOX_HEADER_SIZE,
    MailboxErrorCode,
    MailboxErrorReply,
    MailboxHeader,
    MailboxMessage,
    MailboxType,
    next_counter,
)
from ..protocol.registers import SM_PDI_CONTROL_OFFSET, SmPdiControl
from .esc import Esc
from .sync_manager import MailboxLayout, SyncManager

__all__ = ["MailboxHandler", "OutgoingHook", "SlaveMailbox"]

Buffer = Union[bytes, bytearray, memoryview]

#: ``handler(service_data) -> replies``: serves one mailbox protocol; each reply is the service
#: data of one message of the same type (zero or more).
MailboxHandler = Callable[[bytes], Sequence[bytes]]
#: ``hook(message) -> messages``: sees every message about to enter the send mailbox (header
#: with its counter, and service data) and returns what to send in its place: nothing drops it,
#: two copies repeat it, a changed header alters it; None holds it back until the next poll.
OutgoingHook = Callable[[MailboxMessage], Optional[Sequence[MailboxMessage]]]

#: States in which the mailbox runs (ETG.1000.6: no mailbox in INIT).
_MAILBOX_STATES = frozenset({ALState.PREOP, ALState.SAFEOP, ALState.OP, ALState.BOOT})
#: Channel field value: reserved, 0 (ESC Section I Table 24).
_CHANNEL = 0
#: Address of the slave's messages: 0, the master (SOES).
_MASTER_ADDRESS = 0


class SlaveMailbox:
    """The mailbox firmware of one slave: receives requests, dispatches them per mailbox type,
    queues the replies and puts them into the send mailbox one at a time.

    :param esc: the slave's ESC; the mailbox polls after every frame.
    :param layout: the standard mailbox (receive and send SyncManager, their areas), normally
        from the SII standard mailbox words.
    :param boot_layout: the bootstrap mailbox used in BOOT, if the device has one.

    Register protocol servers with :meth:`register`; queue unsolicited messages (emergencies)
    with :meth:`send`. :attr:`outgoing_hook` intercepts outgoing messages (fault injection).
    Counters: ``requests`` (messages accepted), ``duplicates`` (retries not executed again),
    ``errors_sent`` (mailbox error replies), ``repeats`` (repeat requests served).
    """

    def __init__(self, esc: Esc, layout: MailboxLayout, *, boot_layout: Optional[MailboxLayout] = None) -> None:
        for candidate in (layout, boot_layout):
            if candidate is not None:
                for sm in (candidate.receive, candidate.send):
                    if sm.index >= len(esc.sync_managers):
                        raise ValueError(f"mailbox SyncManager {sm.index} does not exist, the ESC has "
                                         f"{len(esc.sync_managers)}")
        self._esc = esc
        self._layout = layout
        self._boot_layout = boot_layout
        self._handlers: dict[int, MailboxHandler] = {}
        #: Intercepts every message about to enter the send mailbox (see :data:`OutgoingHook`).
        self.outgoing_hook: Optional[OutgoingHook] = None
        self._running: Optional[MailboxLayout] = None
        self._pending: collections.deque[tuple[int, bytes]] = collections.deque()  # not yet numbered
        self._held: Optional[MailboxMessage] = None  # numbered, held back by the hook
        self._ready: collections.deque[MailboxMessage] = collections.deque()  # to write as they are
        self._posted: Optional[MailboxMessage] = None  # in the send mailbox, not yet read
        self._backup: Optional[MailboxMessage] = None  # the last message the master read
        self._received_counter = 0
        self._sent_counter = 0
        self._toggle = False
        self.requests = 0
        self.duplicates = 0
        self.errors_sent = 0
        self.repeats = 0
        esc.add_frame_end_hook(self.poll)

    def __repr__(self) -> str:
        state = "running" if self._running is not None else "stopped"
        return f"<SlaveMailbox of {self._esc!r} {state}, {self.queued} queued>"

    # ------------------------------------------------------------------------ public API
    @property
    def running(self) -> bool:
        """The mailbox is serving (the slave is in PRE-OP, SAFE-OP, OP or BOOT)."""
        return self._running is not None

    @property
    def queued(self) -> int:
        """Messages waiting to enter the send mailbox."""
        return len(self._pending) + len(self._ready) + (self._held is not None)

    def register(self, type: Union[MailboxType, int], handler: MailboxHandler) -> None:
        """Serve mailbox ``type`` (CoE, FoE, EoE, ...) with ``handler``; requests of types
        without a handler are answered with the error reply "unsupported protocol"."""
        value = int(type)
        if not MailboxType.ERR < value <= max(MailboxType):
            raise ValueError(f"mailbox type {value!r} cannot be served (1..{int(max(MailboxType))})")
        self._handlers[value] = handler

    def send(self, type: Union[MailboxType, int], payload: Buffer) -> bool:
        """Queue an unsolicited message (e.g. a CoE emergency); it enters the send mailbox at a
        later poll. Returns False (and drops it) while the mailbox is stopped.

        :raises ValueError: if the message does not fit the send mailbox.
        """
        layout = self._running
        if layout is None:
            return False
        self._check_fits(layout, len(payload))
        self._pending.append((int(type), bytes(payload)))
        return True

    def poll(self) -> None:
        """One pass of the firmware: follow the AL state, notice the master's read of the send
        mailbox and its repeat requests, take a request from the receive mailbox, and put the
        next message into the send mailbox."""
        state = self._esc.al_state
        layout = self._boot_layout if state is ALState.BOOT else self._layout
        if state not in _MAILBOX_STATES or layout is None:
            self._stop()
            return
        if self._running is not layout:
            self._stop()
            self._start(layout)
        receive = self._esc.sync_managers[layout.receive.index]
        send = self._esc.sync_managers[layout.send.index]
        if not (receive.active and send.active):
            return
        self._follow_send_mailbox(send)
        if send.repeat_request != self._toggle:
            self._repeat(send)
        if receive.mailbox_full and self._posted is None and not self.queued:
            self._receive(self._esc.pdi_read(receive.start, receive.length))
        self._post(send)

    # -------------------------------------------------------------------- start and stop
    def _start(self, layout: MailboxLayout) -> None:
        """Activate the mailbox SyncManagers from the PDI side; take over the master's repeat
        bit as acknowledged."""
        self._running = layout
        self._write_pdi_control(self._esc.sync_managers[layout.receive.index], deactivate=False)
        send = self._esc.sync_managers[layout.send.index]
        self._toggle = send.repeat_request
        self._write_pdi_control(send, deactivate=False, ack=self._toggle)

    def _stop(self) -> None:
        """Deactivate the mailbox SyncManagers and forget every message and the received
        counter (the slave's own counter continues)."""
        layout = self._running
        self._running = None
        if layout is None:
            return
        for sm in (layout.receive, layout.send):
            self._write_pdi_control(self._esc.sync_managers[sm.index], deactivate=True)
        self._pending.clear()
        self._ready.clear()
        self._held = self._posted = self._backup = None
        self._received_counter = 0

    # ------------------------------------------------------------------------ receiving
    def _receive(self, data: bytes) -> None:
        """Check a request's header, drop a retry, dispatch the service data."""
        header = MailboxHeader.decode(data)
        code = self._header_error(header, len(data))
        if code is not None:
            self._queue_error(code)
            return
        if header.counter and header.counter == self._received_counter:
            self.duplicates += 1
            return
        self._received_counter = header.counter
        self.requests += 1
        handler = self._handlers.get(int(header.type))
        if handler is None:
            self._queue_error(MailboxErrorCode.UNSUPPORTED_PROTOCOL)
            return
        payload = bytes(data[MAILBOX_HEADER_SIZE:MAILBOX_HEADER_SIZE + header.length])
        for reply in handler(payload):
            assert self._running is not None
            self._check_fits(self._running, len(reply))
            self._pending.append((int(header.type), bytes(reply)))

    @staticmethod
    def _header_error(header: MailboxHeader, size: int) -> Optional[MailboxErrorCode]:
        """The error code for a wrong mailbox header (ETG.1000.6 error reply texts), or None."""
        if header.reserved:
            return MailboxErrorCode.SYNTAX
        if header.channel != _CHANNEL:
            return MailboxErrorCode.INVALID_CHANNEL
        if header.length == 0:
            return MailboxErrorCode.SIZE_TOO_SHORT
        if MAILBOX_HEADER_SIZE + header.length > size:
            return MailboxErrorCode.INVALID_SIZE
        return None

    def _queue_error(self, code: MailboxErrorCode) -> None:
        self.errors_sent += 1
        self._pending.append((MailboxType.ERR, MailboxErrorReply(code).encode()))

    # -------------------------------------------------------------------------- sending
    def _follow_send_mailbox(self, send: SyncManager) -> None:
        """The master read the posted message (it becomes the backup for a repeat), or the
        SyncManager was reset under it (the message goes out again)."""
        if self._posted is None or send.mailbox_full:
            return
        if send.read_completed:
            self._backup, self._posted = self._posted, None
        else:
            self._ready.appendleft(self._posted)
            self._posted = None

    def _repeat(self, send: SyncManager) -> None:
        """Serve a repeat request: the last message read goes into the send mailbox again (a
        newer waiting one is taken out and follows it), then acknowledge by the toggle."""
        self._toggle = send.repeat_request
        self.repeats += 1
        if self._backup is not None and self._posted is not self._backup:
            if self._posted is not None:  # reset the SyncManager to empty it
                self._write_pdi_control(send, deactivate=True)
                self._write_pdi_control(send, deactivate=False)
                self._ready.appendleft(self._posted)
                self._posted = None
            self._write(send, self._backup)
        self._write_pdi_control(send, deactivate=False, ack=self._toggle)

    def _post(self, send: SyncManager) -> None:
        """Put the next message into an empty send mailbox, numbered and passed through the
        outgoing hook first."""
        while self._posted is None and not send.mailbox_full:
            if not self._ready:
                if self._held is None:
                    if not self._pending:
                        return
                    type, payload = self._pending.popleft()
                    self._held = self._number(type, payload)
                if self.outgoing_hook is None:
                    result: Optional[Sequence[MailboxMessage]] = (self._held,)
                else:
                    result = self.outgoing_hook(self._held)
                    if result is None:
                        return  # held back: offered again at the next poll
                self._held = None
                self._ready.extend(result)
                continue
            self._write(send, self._ready.popleft())

    def _number(self, type: int, payload: bytes) -> MailboxMessage:
        self._sent_counter = next_counter(self._sent_counter)
        header = MailboxHeader(length=len(payload), address=_MASTER_ADDRESS, channel=_CHANNEL, priority=0,
                               type=type, counter=self._sent_counter)
        return MailboxMessage(header, payload)

    def _write(self, send: SyncManager, message: MailboxMessage) -> None:
        """Write a whole send mailbox (the last byte makes it full)."""
        if not self._esc.pdi_write(send.start, message.encode(send.length)):
            raise RuntimeError(f"the send mailbox (SyncManager {send.index}) refused a write while empty")
        self._posted = message

    # -------------------------------------------------------------------------- helpers
    @staticmethod
    def _check_fits(layout: MailboxLayout, length: int) -> None:
        room = layout.send.length - MAILBOX_HEADER_SIZE
        if length > room:
            raise ValueError(f"a mailbox message of {length} octets does not fit the send mailbox "
                             f"({room} octets after the header)")

    def _write_pdi_control(self, sm: SyncManager, *, deactivate: bool, ack: Optional[bool] = None) -> None:
        """Write the PDI control register of ``sm``: deactivate bit, and the repeat
        acknowledge bit (kept as it is when ``ack`` is None)."""
        address = sm.address + SM_PDI_CONTROL_OFFSET
        value = self._esc.pdi_read(address, 1)[0]
        for bit, on in ((SmPdiControl.DEACTIVATE, deactivate), (SmPdiControl.REPEAT_ACK, ack)):
            if on is not None:
                value = (value | bit) if on else (value & ~int(bit))
        self._esc.pdi_write(address, bytes((value,)))
