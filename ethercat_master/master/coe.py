"""The CoE client: SDO transfers in every form, typed access and SDO information over a
:class:`~ethercat_master.master.mailbox.MailboxEngine` (ETG.1000.6 5.6, CiA 301 SDO protocol).

Transfers (the form is chosen from the size, as SOEM ``ecx_SDOwrite`` does):

* download: expedited for 1..4 octets without complete access; normal when the data fits one
  receive mailbox (its size minus the 6-octet mailbox header and the 10-octet SDO frame);
  otherwise segmented: the normal request carries the first part, download segments (mailbox
  size minus 9 octets each) the rest, the toggle bit starting at 0;
* upload: the slave chooses expedited, normal or segmented; upload segments are requested with
  the toggle bit starting at 0 until the segment with the last-segment flag;
* complete access (subindex 0 or 1) in either direction.

Every reply is matched strictly (the engine has already discarded stale messages by their
counter and routed emergencies): the SDO response service, the server command specifier, the
index and subindex of initiate responses, and SDO aborts at the transfer's address (or at
0x0000:00, which slaves use for a segment of a transfer they no longer know). A fresh segment
response with the wrong toggle bit ends the transfer: the client sends abort 0x05030000
("toggle bit not changed") to the slave and raises :class:`~ethercat_master.errors.MailboxError`;
segment data beyond the announced size, or a last segment short of it, is aborted with
0x06070010 in the same way. An abort from the slave raises
:class:`~ethercat_master.errors.SdoAbort` with its code and the ETG text.

Segment requests are not idempotent (the slave's toggle advances), so the engine never re-sends
them with a new counter; when one stays unanswered through its repeat request, the client
aborts the transfer with 0x05040000 ("SDO protocol timed out") and starts it again from the
initiate, up to ``transfer_attempts`` times in all, then raises the
:class:`~ethercat_master.errors.FrameTimeout`.

SDO information (ETG.1000.6 5.6.3): the object lists (all five and their lengths), object
descriptions and entry descriptions, each reassembled from its fragments (which must count
``fragments left`` down to 0); an SDO Info Error raises :class:`SdoAbort`.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, TypeVar, Union

from ..errors import FrameTimeout, MailboxError, SdoAbort
from ..protocol.coe import (
    DATA_TYPE_BIT_SIZES,
    SDO_DATA_SIZE,
    SDO_FRAME_SIZE,
    SEGMENT_HEADER_SIZE,
    CoEMessage,
    DataType,
    Direction,
    EntryDescriptionRequest,
    EntryDescriptionResponse,
    ObjectDescriptionRequest,
    ObjectDescriptionResponse,
    OdListRequest,
    OdListResponse,
    OdListType,
    SdoAbortRequest,
    SdoDownloadExpeditedRequest,
    SdoDownloadNormalRequest,
    SdoDownloadResponse,
    SdoDownloadSegmentRequest,
    SdoDownloadSegmentResponse,
    SdoInfoBody,
    SdoInfoError,
    SdoInfoMessage,
    SdoInfoOpcode,
    SdoUploadExpeditedResponse,
    SdoUploadNormalResponse,
    SdoUploadRequest,
    SdoUploadSegmentRequest,
    SdoUploadSegmentResponse,
    ValueInfo,
    decode_coe,
    decode_sdo_info,
    decode_value,
    encode_value,
)
from ..protocol.mailbox import MAILBOX_HEADER_SIZE, MailboxMessage, MailboxType
from ..protocol.sdo_abort import SdoAbortCode, sdo_abort_text
from .mailbox import MailboxEngine

__all__ = ["DEFAULT_VALUE_INFO", "CoEClient"]

#: The entry description fields asked for by default: unit, default, minimum and maximum.
DEFAULT_VALUE_INFO = (
    ValueInfo.UNIT_TYPE | ValueInfo.DEFAULT_VALUE | ValueInfo.MINIMUM_VALUE | ValueInfo.MAXIMUM_VALUE
)
#: Index and subindex a slave may put into the abort of a segment it has no transfer for.
_NO_ADDRESS = (0, 0)
#: The object lists counted by Get OD List with list type LENGTHS, in their order.
_COUNTED_LISTS = (
    OdListType.ALL,
    OdListType.RXPDO_MAPPABLE,
    OdListType.TXPDO_MAPPABLE,
    OdListType.BACKUP,
    OdListType.SETTINGS,
)
_BITS_PER_OCTET = 8

_T = TypeVar("_T")


def _describe(action: str, index: int, subindex: int, complete_access: bool = False) -> str:
    access = " (complete access)" if complete_access else ""
    return f"{action} 0x{index:04X}:{subindex:02X}{access}"


class _Expect:
    """A reply matcher for the engine: decodes a CoE reply, accepts what ``accept`` says, and
    keeps the accepted message decoded."""

    def __init__(self, accept: Callable[[CoEMessage], bool]) -> None:
        self._accept = accept
        self.message: Optional[CoEMessage] = None

    def __call__(self, mailbox: MailboxMessage) -> bool:
        message = decode_coe(mailbox.payload, Direction.SLAVE_TO_MASTER)
        if not self._accept(message):
            return False
        self.message = message
        return True


def _aborts(message: CoEMessage, index: int, subindex: int, *, segment: bool) -> bool:
    """An SDO abort of the transfer at ``index``:``subindex`` (segments: or without address)."""
    if not isinstance(message, SdoAbortRequest):
        return False
    address = (message.index, message.subindex)
    return address == (index, subindex) or (segment and address == _NO_ADDRESS)


#: Initiate responses: they carry the index and subindex of the transfer.
_InitiateResponse = Union[SdoUploadExpeditedResponse, SdoUploadNormalResponse, SdoDownloadResponse]


def _initiate_reply(kinds: tuple[type[_InitiateResponse], ...], index: int, subindex: int) -> _Expect:
    def accept(message: CoEMessage) -> bool:
        if isinstance(message, kinds):
            return (message.index, message.subindex) == (index, subindex)
        return _aborts(message, index, subindex, segment=False)

    return _Expect(accept)


def _segment_reply(kind: type, index: int, subindex: int) -> _Expect:
    return _Expect(lambda m: isinstance(m, kind) or _aborts(m, index, subindex, segment=True))


def _next_fragment(previous: SdoInfoMessage) -> Callable[[CoEMessage], bool]:
    """Accepts the SDO information fragment that follows ``previous``."""
    def accept(message: CoEMessage) -> bool:
        return (
            isinstance(message, SdoInfoMessage)
            and message.opcode == previous.opcode
            and message.fragments_left == previous.fragments_left - 1
        )

    return accept


class _Interrupted(Exception):
    """A segment step stayed unanswered: the transfer may be started again."""

    def __init__(self, timeout: FrameTimeout) -> None:
        super().__init__(str(timeout))
        self.timeout = timeout


class CoEClient:
    """SDO and SDO information services of one slave.

    :param engine: the slave's mailbox engine.
    :param transfer_attempts: how often a segmented transfer interrupted by an unanswered
        segment is started in all (at least 1).
    :param timeout: seconds for each mailbox transaction (default: the engine's deadline).
    """

    def __init__(self, engine: MailboxEngine, *, transfer_attempts: int = 3, timeout: Optional[float] = None) -> None:
        if transfer_attempts < 1:
            raise ValueError(f"transfer_attempts {transfer_attempts} must be at least 1")
        self.engine = engine
        self.transfer_attempts = transfer_attempts
        self.timeout = timeout

    @property
    def _slave(self) -> str:
        return self.engine.slave.label

    # ---------------------------------------------------------------------- raw SDO
    def upload(self, index: int, subindex: int = 0, *, complete_access: bool = False) -> bytes:
        """Read an object entry (or a whole object with complete access) as octets.

        An expedited response without size indicator yields its 4 octets.
        """
        return self._upload(index, subindex, complete_access)[0]

    def download(self, index: int, subindex: int, data: bytes, *, complete_access: bool = False) -> None:
        """Write octets to an object entry (or a whole object with complete access)."""
        what = _describe("SDO download", index, subindex, complete_access)
        self._transfer(what, index, subindex, lambda: self._download_once(what, index, subindex, bytes(data),
                                                                        complete_access))

    # -------------------------------------------------------------------- typed SDO
    def read(self, index: int, subindex: int, data_type: DataType | int, *, complete_access: bool = False) -> Any:
        """Read an entry and decode it as ``data_type`` (:func:`~ethercat_master.protocol.coe.decode_value`)."""
        data, size_indicated = self._upload(index, subindex, complete_access)
        bits = DATA_TYPE_BIT_SIZES.get(data_type)
        if bits is not None and not size_indicated:
            data = data[: (bits + _BITS_PER_OCTET - 1) // _BITS_PER_OCTET]
        return decode_value(data_type, data)

    def write(self, index: int, subindex: int, value: Any, data_type: DataType | int, *,
              complete_access: bool = False) -> None:
        """Encode ``value`` as ``data_type`` (:func:`~ethercat_master.protocol.coe.encode_value`)
        and write it."""
        self.download(index, subindex, encode_value(data_type, value), complete_access=complete_access)

    # ------------------------------------------------------------- SDO information
    def od_list(self, list_type: OdListType = OdListType.ALL) -> tuple[int, ...]:
        """The object indices of one object list (all, RxPDO/TxPDO mappable, backup, settings)."""
        if list_type == OdListType.LENGTHS:
            raise ValueError("use od_list_lengths() for the list lengths")
        return self._od_list(list_type)

    def od_list_lengths(self) -> dict[OdListType, int]:
        """The number of objects in each of the five object lists."""
        return dict(zip(_COUNTED_LISTS, self._od_list(OdListType.LENGTHS)))

    def object_description(self, index: int) -> ObjectDescriptionResponse:
        """The description of object ``index`` (data type, object code, max subindex, name)."""
        what = f"SDO information: object description 0x{index:04X}"
        body = self._information(ObjectDescriptionRequest(index), SdoInfoOpcode.GET_OBJECT_DESCRIPTION_RESPONSE,
                                 what, index, 0)
        assert isinstance(body, ObjectDescriptionResponse)
        if body.index != index:
            raise MailboxError("CoE", f"{what}: the reply describes object 0x{body.index:04X}", slave=self._slave)
        return body

    def entry_description(self, index: int, subindex: int,
                          value_info: ValueInfo = DEFAULT_VALUE_INFO) -> EntryDescriptionResponse:
        """The description of entry ``index``:``subindex``; ``value_info`` asks for the unit
        and the default, minimum and maximum values (the slave sends those it has)."""
        what = _describe("SDO information: entry description", index, subindex)
        body = self._information(EntryDescriptionRequest(index, subindex, value_info),
                                 SdoInfoOpcode.GET_ENTRY_DESCRIPTION_RESPONSE, what, index, subindex)
        assert isinstance(body, EntryDescriptionResponse)
        if (body.index, body.subindex) != (index, subindex):
            raise MailboxError("CoE", f"{what}: the reply describes 0x{body.index:04X}:{body.subindex:02X}",
                               slave=self._slave)
        return body

    # ------------------------------------------------------------------- internals
    def _request(self, payload: bytes, expect: _Expect, what: str, *, idempotent: bool = True) -> CoEMessage:
        self.engine.request(MailboxType.COE, payload, expect, what=what, idempotent=idempotent, timeout=self.timeout)
        assert expect.message is not None
        return expect.message

    def _segment(self, payload: bytes, expect: _Expect, what: str) -> CoEMessage:
        """A segment step: not idempotent; unanswered, it interrupts the transfer."""
        try:
            return self._request(payload, expect, what, idempotent=False)
        except FrameTimeout as timeout:
            raise _Interrupted(timeout) from timeout

    def _checked(self, message: CoEMessage, index: int, subindex: int) -> CoEMessage:
        """``message``, unless it is the slave's abort: then raise :class:`SdoAbort`."""
        if isinstance(message, SdoAbortRequest):
            self.engine.counters.sdo_aborts += 1
            raise SdoAbort(index, subindex, int(message.code), message.text, self._slave)
        return message

    def _abort(self, index: int, subindex: int, code: SdoAbortCode, what: str) -> None:
        """Tell the slave that the master aborts the transfer (no reply is expected)."""
        self.engine.send(MailboxType.COE, SdoAbortRequest(index, subindex, code).encode(),
                         what=f"abort of {what}", timeout=self.timeout)
        self.engine.counters.aborts_sent += 1

    def _violation(self, index: int, subindex: int, code: SdoAbortCode, what: str, detail: str) -> MailboxError:
        """Abort the transfer at the slave and return the error to raise."""
        self._abort(index, subindex, code, what)
        return MailboxError(
            "CoE",
            f"{what}: {detail}; transfer aborted with 0x{int(code):08X} ({sdo_abort_text(code)})",
            slave=self._slave,
        )

    def _transfer(self, what: str, index: int, subindex: int, run: Callable[[], _T]) -> _T:
        """Run a transfer, starting it again after an interrupted segment step."""
        attempt = 1
        while True:
            try:
                return run()
            except _Interrupted as interrupted:
                self._abort(index, subindex, SdoAbortCode.SDO_PROTOCOL_TIMEOUT, what)
                if attempt >= self.transfer_attempts:
                    raise interrupted.timeout from None
                attempt += 1

    def _upload(self, index: int, subindex: int, complete_access: bool) -> tuple[bytes, bool]:
        what = _describe("SDO upload", index, subindex, complete_access)
        return self._transfer(what, index, subindex, lambda: self._upload_once(what, index, subindex, complete_access))

    def _upload_once(self, what: str, index: int, subindex: int, complete_access: bool) -> tuple[bytes, bool]:
        """One upload; (data, whether the slave indicated its size)."""
        expect = _initiate_reply((SdoUploadExpeditedResponse, SdoUploadNormalResponse), index, subindex)
        reply = self._checked(self._request(SdoUploadRequest(index, subindex, complete_access).encode(), expect, what),
                              index, subindex)
        if isinstance(reply, SdoUploadExpeditedResponse):
            return reply.data, reply.size_indicated
        assert isinstance(reply, SdoUploadNormalResponse)
        size = reply.complete_size
        data = bytearray(reply.data)
        toggle = False
        while len(data) < size:
            segment = self._checked(
                self._segment(SdoUploadSegmentRequest(toggle).encode(),
                              _segment_reply(SdoUploadSegmentResponse, index, subindex), what),
                index, subindex,
            )
            assert isinstance(segment, SdoUploadSegmentResponse)
            if segment.toggle != toggle:
                raise self._violation(index, subindex, SdoAbortCode.TOGGLE_BIT_NOT_CHANGED, what,
                                      f"upload segment toggle bit {int(segment.toggle)}, expected {int(toggle)}")
            data += segment.data
            if len(data) > size or segment.last != (len(data) == size):
                raise self._violation(index, subindex, SdoAbortCode.DATA_LENGTH_MISMATCH, what,
                                      f"{len(data)} octets after a segment with last={segment.last}, "
                                      f"{size} announced")
            toggle = not toggle
        return bytes(data), True

    def _download_once(self, what: str, index: int, subindex: int, data: bytes, complete_access: bool) -> None:
        expect = _initiate_reply((SdoDownloadResponse,), index, subindex)
        if 1 <= len(data) <= SDO_DATA_SIZE and not complete_access:
            self._checked(self._request(SdoDownloadExpeditedRequest(index, subindex, data).encode(), expect, what),
                          index, subindex)
            return
        mailbox = self.engine.slave.receive_size - MAILBOX_HEADER_SIZE
        first = data[: mailbox - SDO_FRAME_SIZE]
        request = SdoDownloadNormalRequest(index, subindex, len(data), first, complete_access)
        self._checked(self._request(request.encode(), expect, what), index, subindex)
        room = mailbox - SEGMENT_HEADER_SIZE
        offset = len(first)
        toggle = False
        while offset < len(data):
            chunk = data[offset:offset + room]
            offset += len(chunk)
            reply = self._checked(
                self._segment(SdoDownloadSegmentRequest(toggle, chunk, offset == len(data)).encode(),
                              _segment_reply(SdoDownloadSegmentResponse, index, subindex), what),
                index, subindex,
            )
            assert isinstance(reply, SdoDownloadSegmentResponse)
            if reply.toggle != toggle:
                raise self._violation(index, subindex, SdoAbortCode.TOGGLE_BIT_NOT_CHANGED, what,
                                      f"download segment response toggle bit {int(reply.toggle)}, "
                                      f"expected {int(toggle)}")
            toggle = not toggle

    def _od_list(self, list_type: OdListType) -> tuple[int, ...]:
        what = f"SDO information: OD list {list_type.name}"
        body = self._information(OdListRequest(list_type), SdoInfoOpcode.GET_OD_LIST_RESPONSE, what, 0, 0)
        assert isinstance(body, OdListResponse)
        if body.list_type != list_type:
            raise MailboxError("CoE", f"{what}: the reply lists {body.list_type}", slave=self._slave)
        return body.entries

    def _information(self, request: SdoInfoBody, opcode: SdoInfoOpcode, what: str, index: int,
                     subindex: int) -> SdoInfoBody:
        """Send an SDO information request and join the fragments of its response."""
        answers = (opcode, SdoInfoOpcode.SDO_INFO_ERROR_REQUEST)
        expect = _Expect(lambda m: isinstance(m, SdoInfoMessage) and m.opcode in answers)
        first = self._request(request.message().encode(), expect, what)
        assert isinstance(first, SdoInfoMessage)
        fragments = [first]
        while fragments[-1].incomplete:
            expect = _Expect(_next_fragment(fragments[-1]))
            self.engine.receive(MailboxType.COE, expect, what=f"{what} (fragment {len(fragments) + 1})",
                                timeout=self.timeout)
            assert isinstance(expect.message, SdoInfoMessage)
            fragments.append(expect.message)
        body = decode_sdo_info(fragments)
        if isinstance(body, SdoInfoError):
            self.engine.counters.sdo_aborts += 1
            raise SdoAbort(index, subindex, int(body.code), body.text, self._slave)
        return body
