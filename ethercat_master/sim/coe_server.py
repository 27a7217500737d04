"""The CoE server of a simulated slave: SDO, SDO information and emergencies (ETG.1000.6 5.6).

Pure: :meth:`CoeServer.handle` takes the CoE payload of one received mailbox (the octets after
the 6-octet mailbox header) and returns the CoE payloads to send back, each one mailbox
message. Messages are decoded and built with :mod:`ethercat_master.protocol.coe`; the values
come from an :class:`~ethercat_master.sim.object_dictionary.ObjectDictionary`, which judges
every access (abort codes listed there).

SDO server (ETG.1000.6 5.6.2, CiA 301 SDO protocol; checked against SSC ``sdoserv.c`` and
SOES ``esc_coe.c``)
    * Upload: expedited when the data has 1..4 octets, normal when it fits in one mailbox
      (mailbox size - 6 mailbox header - 10), otherwise segmented: the normal response carries
      the complete size and the first part, each upload segment (mailbox size - 6 - 3 octets)
      echoes the request's toggle bit, the last sets the last-segment flag.
    * Download: expedited (size indicated or not), normal, or normal plus download segments;
      the data is judged when complete. Sizes are checked at the initiate already.
    * Complete access (subindex 0 or 1) in both directions, in any of these forms.
    * Segments must toggle, starting with 0: otherwise abort 0x05030000. A segment without a
      transfer of its kind in progress: 0x05040001. More segment data than the complete size,
      or a last segment short of it: 0x06070010. Command specifiers 5..7: 0x05040001.
      Complete access with subindex > 1: 0x06010000 (SOES). An SDO message that does not
      decode (e.g. an expedited request longer than 10 octets): 0x06070010.
    * A new initiate while a segmented transfer is in progress silently replaces it: both
      reference stacks overwrite their transfer state, and the master has already given up the
      old one. An abort request from the master ends any transfer and gets no answer.
    * The abort request is sent with the SDO request service (ETG.1000.6, SOES ``SDO_abort``).

SDO information (ETG.1000.6 5.6.3)
    Get OD List (lengths and the five lists), Get Object Description and Get Entry Description.
    Responses longer than one mailbox are fragmented: every fragment but the last has the
    incomplete flag, "fragments left" counts down to 0; fragments carry an even number of
    octets, so that masters that read OD list fragments one by one (SOEM) never see a split
    index. Unknown objects and subindices get an SDO Info Error request (0x06020000,
    0x06090011); an unknown list type 0x06010000 (SOES). Entry descriptions echo the request's
    value info, minus the unit/default/minimum/maximum bits the entry has no value for.

Mailbox errors
    What a slave answers with a mailbox error reply instead of CoE raises
    :class:`~ethercat_master.errors.MailboxError` whose ``code`` is the
    :class:`~ethercat_master.protocol.mailbox.MailboxErrorCode` to send: a payload shorter
    than its CoE header or SDO frame (SIZE_TOO_SHORT), CoE services the slave does not serve
    (PDO over mailbox, emergencies or SDO responses from the master) and unknown or response
    SDO information opcodes (SERVICE_NOT_SUPPORTED).

Emergencies
    :meth:`CoeServer.raise_emergency` sets 0x1001 to the error register and queues the CoE
    emergency for the mailbox to send (:meth:`CoeServer.pop_emergencies`). The queue is small
    and bounded like a real slave's: when it is full the newest emergency is dropped and
    counted (:attr:`CoeServer.emergencies_dropped`), as the SSC's fixed emergency buffer pool
    does (``EMCY_GetEmcyBuffer`` returns none).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

from ..errors import MailboxError, ProtocolError, SdoAbort
from ..protocol.coe import (
    COE_HEADER_SIZE,
    COMMAND_SHIFT,
    COMPLETE_ACCESS_FLAG,
    COMPLETE_ACCESS_MAX_SUBINDEX,
    EMERGENCY_DATA_SIZE,
    SDO_ADDRESS_END,
    SDO_COMMAND_OFFSET,
    SDO_DATA_SIZE,
    SDO_FRAME_SIZE,
    SDO_INFO_HEADER_SIZE,
    SEGMENT_HEADER_SIZE,
    ClientCommand,
    CoEHeader,
    CoEService,
    Direction,
    Emergency,
    EntryDescriptionRequest,
    EntryDescriptionResponse,
    ErrorRegister,
    ObjectCode,
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
    fragment_sdo_info,
)
from ..protocol.mailbox import MAILBOX_HEADER_SIZE, MailboxErrorCode
from ..protocol.sdo_abort import SdoAbortCode
from .object_dictionary import ObjectDictionary

__all__ = [
    "DEFAULT_MAILBOX_SIZE",
    "MIN_MAILBOX_SIZE",
    "MAX_MAILBOX_SIZE",
    "DEFAULT_EMERGENCY_QUEUE",
    "CoeServer",
]

#: Mailbox size of the simulated slave's sync managers unless told otherwise (ESI default).
DEFAULT_MAILBOX_SIZE = 128
#: The smallest mailbox that holds an SDO frame: mailbox header and 10 octets.
MIN_MAILBOX_SIZE = MAILBOX_HEADER_SIZE + SDO_FRAME_SIZE
#: The largest mailbox: the mailbox header's length field is 16 bits.
MAX_MAILBOX_SIZE = 0xFFFF
#: Emergencies a slave keeps until the mailbox sends them.
DEFAULT_EMERGENCY_QUEUE = 4
#: Clears bit 0: SDO information fragments carry an even number of octets.
_EVEN = ~1
_ERROR_REGISTER_INDEX = 0x1001
_OBJECT_LISTS = (
    OdListType.ALL,
    OdListType.RXPDO_MAPPABLE,
    OdListType.TXPDO_MAPPABLE,
    OdListType.BACKUP,
    OdListType.SETTINGS,
)
_INITIATES = frozenset({ClientCommand.INITIATE_DOWNLOAD, ClientCommand.INITIATE_UPLOAD})
_CLIENT_COMMANDS = frozenset(ClientCommand)
_ADDRESS_OFFSET = SDO_COMMAND_OFFSET + 1
_SUBINDEX_OFFSET = SDO_ADDRESS_END - 1
#: Value info bits the slave keeps from the request as they are (reserved, set by old masters).
_RESERVED_VALUE_INFO = 0x07


@dataclass(slots=True)
class _Upload:
    """A segmented upload in progress: the data and how much has been sent."""

    index: int
    subindex: int
    data: bytes
    sent: int
    toggle: bool = False


@dataclass(slots=True)
class _Download:
    """A segmented download in progress: the expected size and what has arrived."""

    index: int
    subindex: int
    complete_access: bool
    size: int
    data: bytearray = field(default_factory=bytearray)
    toggle: bool = False


_Transfer = Union[_Upload, _Download]


def _abort(index: int, subindex: int, code: int) -> bytes:
    return SdoAbortRequest(index, subindex, code).encode()


class CoeServer:
    """The CoE side of one simulated slave's mailbox, serving ``od``.

    ``mailbox_size`` is the size of the slave's mailbox sync managers (the ESC updates it when
    the master configures them); replies never exceed it. ``emergency_queue`` bounds the
    emergencies waiting to be sent.
    """

    def __init__(
        self,
        od: ObjectDictionary,
        *,
        mailbox_size: int = DEFAULT_MAILBOX_SIZE,
        emergency_queue: int = DEFAULT_EMERGENCY_QUEUE,
    ):
        if emergency_queue < 1:
            raise ValueError(f"emergency queue of {emergency_queue} must hold at least one")
        self._od = od
        self._mailbox_size = DEFAULT_MAILBOX_SIZE
        self.mailbox_size = mailbox_size
        self._transfer: Optional[_Transfer] = None
        self._emergencies: deque[Emergency] = deque()
        self._emergency_capacity = emergency_queue
        self._dropped = 0

    @property
    def od(self) -> ObjectDictionary:
        """The object dictionary served."""
        return self._od

    @property
    def mailbox_size(self) -> int:
        """Octets of one mailbox, header included."""
        return self._mailbox_size

    @mailbox_size.setter
    def mailbox_size(self, size: int) -> None:
        if not MIN_MAILBOX_SIZE <= size <= MAX_MAILBOX_SIZE:
            raise ValueError(
                f"mailbox size {size} out of range {MIN_MAILBOX_SIZE}..{MAX_MAILBOX_SIZE}"
            )
        self._mailbox_size = size

    @property
    def emergencies_dropped(self) -> int:
        """Emergencies lost because the queue was full."""
        return self._dropped

    @property
    def _max_payload(self) -> int:
        return self._mailbox_size - MAILBOX_HEADER_SIZE

    def reset(self) -> None:
        """Forget any transfer in progress (the mailbox was stopped, e.g. back to INIT)."""
        self._transfer = None

    # --------------------------------------------------------------------------- entry
    def handle(self, payload: bytes) -> list[bytes]:
        """Serve one received CoE payload; returns the CoE payloads to send (maybe none).

        :raises MailboxError: the slave answers with a mailbox error reply of ``code``.
        """
        raw = bytes(payload)
        if len(raw) < COE_HEADER_SIZE:
            raise MailboxError(
                "CoE", f"{len(raw)} octets hold no CoE header", code=MailboxErrorCode.SIZE_TOO_SHORT
            )
        service = CoEHeader.decode(raw).service
        if service == CoEService.SDO_REQUEST:
            return self._sdo(raw)
        if service == CoEService.SDO_INFORMATION:
            return self._information(raw)
        raise MailboxError(
            "CoE",
            f"CoE service {service} is not served",
            code=MailboxErrorCode.SERVICE_NOT_SUPPORTED,
        )

    # ---------------------------------------------------------------------- emergencies
    def raise_emergency(
        self,
        error_code: int,
        error_register: ErrorRegister | int,
        data: bytes = bytes(EMERGENCY_DATA_SIZE),
    ) -> bool:
        """Set 0x1001 to ``error_register`` and queue the emergency; False if the queue was full.

        :raises ValueError: a field does not fit the emergency message.
        """
        emergency = Emergency(error_code, ErrorRegister(error_register), bytes(data))
        if _ERROR_REGISTER_INDEX in self._od:
            self._od.set(_ERROR_REGISTER_INDEX, 0, int(error_register))
        if len(self._emergencies) >= self._emergency_capacity:
            self._dropped += 1
            return False
        self._emergencies.append(emergency)
        return True

    def pop_emergencies(self) -> list[bytes]:
        """The queued emergencies as CoE payloads, oldest first; the queue is emptied."""
        out = []
        while self._emergencies:
            out.append(self._emergencies.popleft().encode())
        return out

    # ------------------------------------------------------------------------------ SDO
    def _sdo(self, raw: bytes) -> list[bytes]:
        if len(raw) < SDO_FRAME_SIZE:
            raise MailboxError(
                "CoE",
                f"SDO request of {len(raw)} octets, need {SDO_FRAME_SIZE}",
                code=MailboxErrorCode.SIZE_TOO_SHORT,
            )
        command = raw[SDO_COMMAND_OFFSET]
        specifier = command >> COMMAND_SHIFT
        index = int.from_bytes(raw[_ADDRESS_OFFSET:_SUBINDEX_OFFSET], "little")
        subindex = raw[_SUBINDEX_OFFSET]
        if specifier == ClientCommand.ABORT:
            self._transfer = None
            return []
        if specifier in _INITIATES:
            self._transfer = None
            if command & COMPLETE_ACCESS_FLAG and subindex > COMPLETE_ACCESS_MAX_SUBINDEX:
                return [_abort(index, subindex, SdoAbortCode.UNSUPPORTED_ACCESS)]
        elif specifier not in _CLIENT_COMMANDS:
            return self._fail(SdoAbortCode.INVALID_COMMAND_SPECIFIER, index, subindex)
        try:
            message = decode_coe(raw, Direction.MASTER_TO_SLAVE)
        except ProtocolError:
            if specifier in _INITIATES:
                return [_abort(index, subindex, SdoAbortCode.DATA_LENGTH_MISMATCH)]
            return self._fail(SdoAbortCode.DATA_LENGTH_MISMATCH)
        handler: Callable[..., list[bytes]] = {
            SdoUploadRequest: self._upload,
            SdoUploadSegmentRequest: self._upload_segment,
            SdoDownloadExpeditedRequest: self._download_expedited,
            SdoDownloadNormalRequest: self._download_normal,
            SdoDownloadSegmentRequest: self._download_segment,
        }[type(message)]
        return handler(message)

    def _fail(self, code: int, index: int = 0, subindex: int = 0) -> list[bytes]:
        """End the transfer with an abort at its address (or the given one without transfer)."""
        if self._transfer is not None:
            index, subindex = self._transfer.index, self._transfer.subindex
        self._transfer = None
        return [_abort(index, subindex, code)]

    def _upload(self, request: SdoUploadRequest) -> list[bytes]:
        index, subindex, ca = request.index, request.subindex, request.complete_access
        try:
            data = (
                self._od.sdo_upload_complete(index, subindex)
                if ca
                else self._od.sdo_upload(index, subindex)
            )
        except SdoAbort as exc:
            return [_abort(index, subindex, exc.code)]
        if 0 < len(data) <= SDO_DATA_SIZE:
            return [SdoUploadExpeditedResponse(index, subindex, data, complete_access=ca).encode()]
        room = self._max_payload - SDO_FRAME_SIZE
        if len(data) > room:
            self._transfer = _Upload(index, subindex, data, sent=room)
        return [
            SdoUploadNormalResponse(
                index, subindex, len(data), data[:room], complete_access=ca
            ).encode()
        ]

    def _upload_segment(self, request: SdoUploadSegmentRequest) -> list[bytes]:
        transfer = self._transfer
        if not isinstance(transfer, _Upload):
            return self._fail(SdoAbortCode.INVALID_COMMAND_SPECIFIER)
        if request.toggle != transfer.toggle:
            return self._fail(SdoAbortCode.TOGGLE_BIT_NOT_CHANGED)
        end = transfer.sent + self._max_payload - SEGMENT_HEADER_SIZE
        chunk = transfer.data[transfer.sent : end]
        last = end >= len(transfer.data)
        transfer.sent = end
        transfer.toggle = not transfer.toggle
        if last:
            self._transfer = None
        return [SdoUploadSegmentResponse(request.toggle, chunk, last).encode()]

    def _download_expedited(self, request: SdoDownloadExpeditedRequest) -> list[bytes]:
        refusal = self._write(
            request.index,
            request.subindex,
            request.complete_access,
            request.data,
            request.size_indicated,
        )
        return [
            refusal
            or self._download_response(request.index, request.subindex, request.complete_access)
        ]

    def _download_normal(self, request: SdoDownloadNormalRequest) -> list[bytes]:
        index, subindex, ca = request.index, request.subindex, request.complete_access
        if len(request.data) == request.complete_size:
            refusal = self._write(index, subindex, ca, request.data, True)
            return [refusal or self._download_response(index, subindex, ca)]
        try:
            self._od.check_sdo_download(index, subindex, request.complete_size, complete_access=ca)
        except SdoAbort as exc:
            return [_abort(index, subindex, exc.code)]
        self._transfer = _Download(
            index, subindex, ca, request.complete_size, bytearray(request.data)
        )
        return [self._download_response(index, subindex, ca)]

    def _download_segment(self, request: SdoDownloadSegmentRequest) -> list[bytes]:
        transfer = self._transfer
        if not isinstance(transfer, _Download):
            return self._fail(SdoAbortCode.INVALID_COMMAND_SPECIFIER)
        if request.toggle != transfer.toggle:
            return self._fail(SdoAbortCode.TOGGLE_BIT_NOT_CHANGED)
        transfer.data += request.data
        transfer.toggle = not transfer.toggle
        if len(transfer.data) > transfer.size or (
            request.last and len(transfer.data) < transfer.size
        ):
            return self._fail(SdoAbortCode.DATA_LENGTH_MISMATCH)
        if request.last:
            self._transfer = None
            refusal = self._write(
                transfer.index,
                transfer.subindex,
                transfer.complete_access,
                bytes(transfer.data),
                True,
            )
            if refusal is not None:
                return [refusal]
        return [SdoDownloadSegmentResponse(request.toggle).encode()]

    @staticmethod
    def _download_response(index: int, subindex: int, ca: bool) -> bytes:
        return SdoDownloadResponse(index, subindex, complete_access=ca).encode()

    def _write(
        self, index: int, subindex: int, ca: bool, data: bytes, size_indicated: bool
    ) -> Optional[bytes]:
        """Write downloaded data into the dictionary; the abort to send if it is refused."""
        try:
            if ca:
                self._od.sdo_download_complete(index, subindex, data)
            else:
                self._od.sdo_download(index, subindex, data, size_indicated=size_indicated)
        except SdoAbort as exc:
            return _abort(index, subindex, exc.code)
        return None

    # ---------------------------------------------------------------- SDO information
    def _information(self, raw: bytes) -> list[bytes]:
        try:
            message = SdoInfoMessage.decode(raw)
        except ProtocolError as exc:
            code = (
                MailboxErrorCode.SIZE_TOO_SHORT
                if len(raw) < SDO_INFO_HEADER_SIZE
                else MailboxErrorCode.SERVICE_NOT_SUPPORTED
            )
            raise MailboxError("CoE", f"SDO information: {exc.detail}", code=code) from None
        handlers: dict[SdoInfoOpcode, Callable[[bytes], SdoInfoBody]] = {
            SdoInfoOpcode.GET_OD_LIST_REQUEST: self._od_list,
            SdoInfoOpcode.GET_OBJECT_DESCRIPTION_REQUEST: self._object_description,
            SdoInfoOpcode.GET_ENTRY_DESCRIPTION_REQUEST: self._entry_description,
        }
        handler = handlers.get(message.opcode)
        if handler is None:
            raise MailboxError(
                "CoE",
                f"SDO information opcode {message.opcode.name} sent by the master",
                code=MailboxErrorCode.SERVICE_NOT_SUPPORTED,
            )
        try:
            body = handler(message.data)
        except ProtocolError as exc:
            raise MailboxError(
                "CoE", f"SDO information: {exc.detail}", code=MailboxErrorCode.SIZE_TOO_SHORT
            ) from None
        room = (self._max_payload - SDO_INFO_HEADER_SIZE) & _EVEN
        return [fragment.encode() for fragment in fragment_sdo_info(body, room)]

    def _od_list(self, data: bytes) -> SdoInfoBody:
        request = OdListRequest.decode(data)
        if request.list_type == OdListType.LENGTHS:
            entries = tuple(len(self._od.object_list(kind)) for kind in _OBJECT_LISTS)
        elif request.list_type in _OBJECT_LISTS:
            entries = self._od.object_list(OdListType(request.list_type))
        else:
            return SdoInfoError(SdoAbortCode.UNSUPPORTED_ACCESS)
        return OdListResponse(request.list_type, entries)

    def _object_description(self, data: bytes) -> SdoInfoBody:
        request = ObjectDescriptionRequest.decode(data)
        obj = self._od.find(request.index)
        if obj is None:
            return SdoInfoError(SdoAbortCode.OBJECT_DOES_NOT_EXIST)
        return ObjectDescriptionResponse(
            index=obj.index,
            data_type=obj.data_type,
            max_subindex=obj.max_subindex if obj.object_code != ObjectCode.VAR else 0,
            object_code=obj.object_code,
            name=obj.name,
        )

    def _entry_description(self, data: bytes) -> SdoInfoBody:
        request = EntryDescriptionRequest.decode(data)
        obj = self._od.find(request.index)
        if obj is None:
            return SdoInfoError(SdoAbortCode.OBJECT_DOES_NOT_EXIST)
        entry = obj.entries.get(request.subindex)
        if entry is None:
            return SdoInfoError(SdoAbortCode.SUBINDEX_DOES_NOT_EXIST)
        asked = request.value_info
        info = ValueInfo(asked & _RESERVED_VALUE_INFO)
        optional = {}
        if asked & ValueInfo.UNIT_TYPE and entry.unit is not None:
            info |= ValueInfo.UNIT_TYPE
            optional["unit_type"] = entry.unit
        for flag, name, value in (
            (ValueInfo.DEFAULT_VALUE, "default_value", entry.default),
            (ValueInfo.MINIMUM_VALUE, "minimum_value", entry.minimum),
            (ValueInfo.MAXIMUM_VALUE, "maximum_value", entry.maximum),
        ):
            if asked & flag and value is not None:
                info |= flag
                optional[name] = entry.padded(value)
        return EntryDescriptionResponse(
            index=obj.index,
            subindex=entry.subindex,
            value_info=info,
            data_type=entry.data_type,
            bit_length=entry.bit_length,
            object_access=entry.access,
            name=entry.name,
            **optional,
        )
