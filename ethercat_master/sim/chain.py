"""A line of simulated ESCs processing whole EtherCAT frames, and a thread serving it on a link.

Frame processing follows the wire: every datagram passes every slave in chain order, each
slave applies it (Section I Table 7) and increments the working counter, and position and
broadcast commands leave with ADP increased by the number of slaves. Processing datagram by
datagram through all slaves gives the same result as the wire's slave by slave order, because
a slave's state depends only on the datagrams that passed it before.

Before any slave touches a frame, the whole frame is checked (the EtherCAT header length fits
the payload, datagrams fit the header length, more-follows bits agree with it, no reserved
length bits). A malformed frame is dropped, as the first ESC marks it invalid: that ESC counts it
in its invalid frame counter (0x0300), the slaves behind it in their forwarded RX error
counters (0x0308), and no slave applies any of its datagrams. Frames whose EtherCAT header type
is not 1 pass the chain unchanged (ESCs process type 1 only).
"""

from __future__ import annotations

import struct
import threading
from typing import Iterable, Optional, Sequence, Union

from ..errors import LinkError
from ..protocol.datagram import (
    DATAGRAM_HEADER,
    DATAGRAM_HEADER_SIZE,
    DATAGRAM_OVERHEAD,
    LENGTH_MASK,
    MORE_FOLLOWS_FLAG,
    RESERVED_MASK,
    WKC,
    Command,
)
from ..protocol.frame import ECAT_HEADER_SIZE, FrameType
from ..transport.link import Link
from .esc import ADP_INCREMENTING, Esc

__all__ = ["SlaveChain", "ChainServer"]

Buffer = Union[bytes, bytearray, memoryview]

_ECAT_HEADER = struct.Struct("<H")
_ECAT_LENGTH_MASK = 0x07FF
_ECAT_TYPE_SHIFT = 12
_ADP = struct.Struct("<H")
_ADP_OFFSET = 2  # within a datagram header
_POSITION_SINGLE = frozenset({int(Command.APRD), int(Command.APWR), int(Command.APRW)})
#: Commands every slave acts on (or checks) with the ADP unchanged: station and logical.
_VISIT_ALL_FIXED_ADP = frozenset(
    int(c) for c in (Command.FPRD, Command.FPWR, Command.FPRW, Command.FRMW,
                     Command.LRD, Command.LWR, Command.LRW)
)
#: Commands every slave acts on, each seeing the ADP incremented by the slaves before it.
_VISIT_ALL_COUNTING = frozenset(int(c) for c in (Command.ARMW, Command.BRD, Command.BWR, Command.BRW))
_DOWNSTREAM_PORT = 1  # the line continues through port 1


class SlaveChain:
    """An ordered line of :class:`Esc`: slave 0 is next to the master.

    Port 0 of every slave faces the master and port 1 the next slave, which sets each slave's
    DL status (the last slave has port 1 closed).

    Counters (cumulative): ``frames_processed`` (type-1 frames run through the chain),
    ``frames_dropped`` (malformed frames), ``frames_forwarded`` (other frame types, passed
    unchanged).

    :attr:`lock` is held while a frame is processed; hold it to touch slave memory from another
    thread while a :class:`ChainServer` runs.
    """

    def __init__(self, escs: Iterable[Esc]):
        self._escs: tuple[Esc, ...] = tuple(escs)
        last = len(self._escs) - 1
        for position, esc in enumerate(self._escs):
            esc.set_links((0, _DOWNSTREAM_PORT) if position < last else (0,))
        self.lock = threading.Lock()
        self.frames_processed = 0
        self.frames_dropped = 0
        self.frames_forwarded = 0

    @property
    def escs(self) -> Sequence[Esc]:
        """The slaves in wire order."""
        return self._escs

    def __len__(self) -> int:
        return len(self._escs)

    def __getitem__(self, position: int) -> Esc:
        return self._escs[position]

    def __repr__(self) -> str:
        return f"<SlaveChain of {len(self._escs)} slaves>"

    def process(self, payload: Buffer) -> Optional[bytearray]:
        """Run an EtherCAT payload (EtherCAT header and datagrams, padding allowed after them)
        through the chain, as the frame that returns to the master.

        A ``bytearray`` is processed in place and returned; other buffers are copied first.
        Returns ``None`` for a malformed frame (dropped and counted).
        """
        frame = payload if isinstance(payload, bytearray) else bytearray(payload)
        with self.lock:
            datagrams = self._parse(frame)
            if datagrams is None:
                return frame if self._forwarded(frame) else self._drop()
            self.frames_processed += 1
            view = memoryview(frame)
            escs = self._escs
            count = len(escs)
            for header, command, address, start, length in datagrams:
                adp = address & 0xFFFF
                wkc = 0
                if command in _POSITION_SINGLE:
                    # only the slave that sees ADP 0 acts; the others just increment ADP
                    target = (-adp) & 0xFFFF
                    if target < count:
                        wkc = escs[target].execute(command, 0, address, view, start, length)
                elif command in _VISIT_ALL_FIXED_ADP:
                    for esc in escs:
                        wkc += esc.execute(command, adp, address, view, start, length)
                elif command in _VISIT_ALL_COUNTING:
                    for position, esc in enumerate(escs):
                        wkc += esc.execute(command, (adp + position) & 0xFFFF, address, view, start, length)
                else:
                    continue  # NOP and unknown commands pass untouched
                if command in ADP_INCREMENTING:
                    _ADP.pack_into(frame, header + _ADP_OFFSET, (adp + count) & 0xFFFF)
                if wkc:
                    at = start + length
                    WKC.pack_into(frame, at, (WKC.unpack_from(frame, at)[0] + wkc) & 0xFFFF)
            return frame

    def _parse(self, frame: bytearray) -> Optional[list[tuple[int, int, int, int, int]]]:
        """(header offset, command, address, data offset, length) of each datagram, or None
        when the frame is malformed or not of type 1."""
        size = len(frame)
        if size < ECAT_HEADER_SIZE:
            return None
        (word,) = _ECAT_HEADER.unpack_from(frame, 0)
        if word >> _ECAT_TYPE_SHIFT != FrameType.DLPDU:
            return None
        end = ECAT_HEADER_SIZE + (word & _ECAT_LENGTH_MASK)
        if end > size:
            return None
        datagrams = []
        offset = ECAT_HEADER_SIZE
        while True:
            if offset + DATAGRAM_OVERHEAD > end:
                return None
            command, _index, address, flags, _irq = DATAGRAM_HEADER.unpack_from(frame, offset)
            if flags & RESERVED_MASK:
                return None
            length = flags & LENGTH_MASK
            start = offset + DATAGRAM_HEADER_SIZE
            following = start + length + WKC.size
            if following > end:
                return None
            datagrams.append((offset, command, address, start, length))
            offset = following
            if not flags & MORE_FOLLOWS_FLAG:
                break
        if offset != end:
            return None
        return datagrams

    def _forwarded(self, frame: bytearray) -> bool:
        """True (and counted) when ``frame`` is a well-formed header of another frame type."""
        if len(frame) < ECAT_HEADER_SIZE:
            return False
        (word,) = _ECAT_HEADER.unpack_from(frame, 0)
        if word >> _ECAT_TYPE_SHIFT == FrameType.DLPDU:
            return False
        self.frames_forwarded += 1
        return True

    def _drop(self) -> None:
        self.frames_dropped += 1
        for position, esc in enumerate(self._escs):
            if position == 0:
                esc.count_invalid_frame()
            else:
                esc.count_forwarded_error()
        return None


class ChainServer:
    """Serves a :class:`SlaveChain` on a :class:`Link` from a thread: receive a payload,
    process it, send the result back (nothing for a dropped frame), until stopped.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. Counters:
    ``frames_received``, ``frames_replied`` and ``frames_dropped``. If the loop dies of an
    unexpected exception, it is kept in :attr:`error` and raised again by :meth:`stop`.

    :param poll_interval: seconds between checks for a stop request while no frame arrives.
    """

    def __init__(self, chain: SlaveChain, link: Link, *, poll_interval: float = 0.02,
                 name: str = "ethercat-sim"):
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval!r}")
        self.chain = chain
        self.link = link
        self.name = name
        self._poll = poll_interval
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.frames_received = 0
        self.frames_replied = 0
        self.frames_dropped = 0
        self.error: Optional[BaseException] = None

    @property
    def running(self) -> bool:
        """True while the serving thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> "ChainServer":
        """Start serving in a daemon thread; returns self."""
        if self.running:
            raise RuntimeError(f"{self.name}: already running")
        self._stop.clear()
        self.error = None
        self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop serving and wait for the thread; re-raise an exception that ended the loop."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                raise RuntimeError(f"{self.name}: serving thread did not stop within {timeout} s")
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def __enter__(self) -> "ChainServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _serve(self) -> None:
        link, chain, stop = self.link, self.chain, self._stop
        try:
            while not stop.is_set():
                payload = link.recv(self._poll)
                if payload is None:
                    continue
                self.frames_received += 1
                reply = chain.process(payload)
                if reply is None:
                    self.frames_dropped += 1
                    continue
                link.send(reply)
                self.frames_replied += 1
        except LinkError as exc:
            if not link.closed:  # a closed link ends serving quietly
                self.error = exc
        except BaseException as exc:  # kept for stop(); a thread cannot raise to its owner
            self.error = exc
