"""The one error taxonomy of ethercat_master.

Every error the project raises on purpose derives from :class:`EtherCATError`, so a user can
catch the whole family with one ``except`` and still act on the specific fields of each class.
Messages name what a user needs to act: the interface, the slave (position and name), the
datagram, the register, the ETG code and its text.

::

    EtherCATError
    ├── LinkError                 the link to the wire cannot be opened or used
    │   ├── InterfaceNotFoundError
    │   ├── InterfaceDownError
    │   └── LinkPermissionError   no root / CAP_NET_RAW
    ├── FrameTimeout              no reply before the deadline
    ├── ProtocolError             bytes that do not decode as the structure they claim to be
    │   ├── MailboxError          a mailbox conversation went wrong (counter, toggle, stale, error reply)
    │   └── SiiError              a slave's SII (EEPROM) interface failed
    ├── WorkingCounterError       a datagram came back with an unexpected working counter
    ├── ALStatusError             a slave refused or left an AL state, with its AL status code
    │   └── BusStateError         several slaves did not reach a requested state
    ├── SdoAbort                  a CoE SDO transfer was aborted, with the ETG abort code
    ├── FoEError                  an FoE transfer was refused, with the ETG FoE error code
    └── ConfigError               a configuration file is invalid (file, line, field, expectation)
        └── BusMismatchError      the bus differs from the configuration (position, expected, found)
"""

from __future__ import annotations

from typing import Optional, Sequence

__all__ = [
    "EtherCATError",
    "LinkError",
    "InterfaceNotFoundError",
    "InterfaceDownError",
    "LinkPermissionError",
    "FrameTimeout",
    "ProtocolError",
    "MailboxError",
    "SiiError",
    "WorkingCounterError",
    "ALStatusError",
    "BusStateError",
    "SdoAbort",
    "FoEError",
    "ConfigError",
    "BusMismatchError",
]


class EtherCATError(Exception):
    """Root of every error ethercat_master raises on purpose."""


# --------------------------------------------------------------------------------------- link
class LinkError(EtherCATError):
    """The link to the wire cannot be opened, used or is closed.

    :ivar interface: the network interface (or endpoint) the link is for.
    :ivar reason: what went wrong, in words a user can act on.
    """

    def __init__(self, interface: str, reason: str):
        self.interface = interface
        self.reason = reason
        super().__init__(f"link {interface!r}: {reason}")


class InterfaceNotFoundError(LinkError):
    """The named network interface does not exist in this network namespace."""


class InterfaceDownError(LinkError):
    """The named network interface exists but is administratively or physically down."""


class LinkPermissionError(LinkError):
    """The process may not open a raw socket (needs root or the CAP_NET_RAW capability)."""


# ------------------------------------------------------------------------------------ timeout
class FrameTimeout(EtherCATError):
    """No (matching) reply arrived before the deadline.

    :ivar what: what was waited for, e.g. ``"frame"`` or ``"SDO upload 0x1018:01 from slave 3"``.
    :ivar timeout: the time waited, in seconds.
    """

    def __init__(self, what: str, timeout: float):
        self.what = what
        self.timeout = timeout
        super().__init__(f"timeout after {timeout * 1e3:.3f} ms waiting for {what}")


# ----------------------------------------------------------------------------------- protocol
class ProtocolError(EtherCATError):
    """Bytes that do not decode as the structure they claim to be.

    Decoders of wire bytes raise only this (and its subclasses) on malformed input, never
    ``IndexError``, ``struct.error`` or ``ValueError``.

    :ivar structure: the structure being decoded, e.g. ``"datagram"`` or ``"CoE SDO response"``.
    :ivar detail: what is wrong with it.
    :ivar offset: byte offset in the decoded buffer where the problem was found, if known.
    """

    def __init__(self, structure: str, detail: str, offset: Optional[int] = None):
        self.structure = structure
        self.detail = detail
        self.offset = offset
        where = f" at byte {offset}" if offset is not None else ""
        super().__init__(f"malformed {structure}{where}: {detail}")


class MailboxError(ProtocolError):
    """A mailbox conversation went wrong.

    Raised for a mailbox error reply from a slave (``code`` is the ETG.1000.6 mailbox error
    code), for a reply whose counter, type, toggle bit or addressing does not match the request,
    and for a protocol that the slave does not support.

    :ivar protocol: mailbox protocol, e.g. ``"CoE"``, ``"FoE"``, ``"EoE"`` or ``"mailbox"``.
    :ivar slave: the slave (position or a description) involved, if known.
    :ivar code: the mailbox error code from the slave's error reply, if any.
    """

    def __init__(
        self,
        protocol: str,
        detail: str,
        *,
        slave: Optional[object] = None,
        code: Optional[int] = None,
        offset: Optional[int] = None,
    ):
        self.protocol = protocol
        self.slave = slave
        self.code = code
        who = f" (slave {slave})" if slave is not None else ""
        super().__init__(f"{protocol} mailbox{who}", detail, offset)


class SiiError(ProtocolError):
    """A slave's SII interface failed: its EEPROM did not acknowledge a command, the ESC
    refused a write, a written word reads back different, or the PDI keeps the EEPROM.

    A :class:`~ethercat_master.errors.ProtocolError` (structure ``"SII interface of slave
    ..."``) whose message reads ``"slave position 3 (EL2008): <detail>"``.

    :ivar slave: how the slave is named, e.g. ``"position 3 (EL2008)"``.
    """

    def __init__(self, slave: str, detail: str):
        super().__init__(f"SII interface of slave {slave}", detail)
        self.slave = slave
        self.args = (f"slave {slave}: {detail}",)


# ------------------------------------------------------------------------------------ process
class WorkingCounterError(EtherCATError):
    """A datagram returned with a working counter other than the expected one.

    :ivar datagram: a description of the datagram (command, address).
    :ivar expected: the working counter the master expected.
    :ivar got: the working counter that came back.
    """

    def __init__(self, datagram: str, expected: int, got: int):
        self.datagram = datagram
        self.expected = expected
        self.got = got
        super().__init__(f"{datagram}: working counter {got}, expected {expected}")


class ALStatusError(EtherCATError):
    """A slave refused a requested AL state or fell out of it, with its AL status code.

    :ivar slave: the slave's position (and name, when known) as text.
    :ivar requested: the requested state's name.
    :ivar current: the state the slave reports.
    :ivar status_code: the AL status code (register 0x0134).
    :ivar text: the ETG.1000.6 text of that code.
    """

    def __init__(self, slave: str, requested: str, current: str, status_code: int, text: str):
        self.slave = slave
        self.requested = requested
        self.current = current
        self.status_code = status_code
        self.text = text
        super().__init__(
            f"slave {slave}: requested {requested}, is {current}, "
            f"AL status code 0x{status_code:04X} ({text})"
        )


class BusStateError(ALStatusError):
    """Several slaves did not reach a requested state.

    The inherited fields describe the first failing slave (by the order given); all of them are
    in :attr:`failures` and in the message.

    :ivar failures: one :class:`ALStatusError` per slave that did not reach the state.
    """

    def __init__(self, failures: Sequence[ALStatusError]):
        first = failures[0]
        super().__init__(first.slave, first.requested, first.current, first.status_code, first.text)
        self.failures = tuple(failures)
        details = "; ".join(
            f"{f.slave}: is {f.current}, AL status code 0x{f.status_code:04X} ({f.text})" for f in failures
        )
        self.args = (f"{len(failures)} slaves did not reach {first.requested}: {details}",)


class SdoAbort(EtherCATError):
    """A CoE SDO transfer was aborted by the slave (or by the master).

    :ivar index: object index.
    :ivar subindex: object subindex.
    :ivar code: the 32-bit SDO abort code (ETG.1000.6, CiA 301).
    :ivar text: the specification's text for the code.
    :ivar slave: the slave involved, if known.
    """

    def __init__(self, index: int, subindex: int, code: int, text: str, slave: Optional[object] = None):
        self.index = index
        self.subindex = subindex
        self.code = code
        self.text = text
        self.slave = slave
        who = f"slave {slave}: " if slave is not None else ""
        super().__init__(f"{who}SDO 0x{index:04X}:{subindex:02X} aborted with 0x{code:08X} ({text})")


class FoEError(EtherCATError):
    """An FoE transfer was refused by the slave with an FoE error code.

    :ivar code: the FoE error code (ETG.1000.6).
    :ivar text: the specification's text for the code, plus the slave's own text if it sent one.
    :ivar slave: the slave involved, if known.
    """

    def __init__(self, code: int, text: str, slave: Optional[object] = None):
        self.code = code
        self.text = text
        self.slave = slave
        who = f"slave {slave}: " if slave is not None else ""
        super().__init__(f"{who}FoE error 0x{code:04X} ({text})")


class ConfigError(EtherCATError):
    """A configuration file or value is invalid.

    :ivar file: the file the value came from (or ``"<string>"``).
    :ivar line: 1-based line number, if known.
    :ivar field: dotted path of the field, e.g. ``"slaves[2].identity.vendor_id"``.
    :ivar expected: what was expected there.
    """

    def __init__(self, file: str, line: Optional[int], field: str, expected: str):
        self.file = file
        self.line = line
        self.field = field
        self.expected = expected
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {field}: expected {expected}")


class BusMismatchError(ConfigError):
    """The slaves on the bus are not those the network configuration describes.

    :ivar mismatches: every difference, ordered by position; each has ``kind``, ``slave`` (the
        configured name), ``position``, ``alias``, ``expected`` and ``found``
        (:class:`ethercat_master.config.network.BusMismatch`).
    """

    def __init__(self, file: str, mismatches: Sequence[object]):
        self.mismatches = tuple(mismatches)
        self.file = file
        self.line = None
        self.field = "slaves"
        self.expected = "the slaves the configuration describes"
        lines = "\n".join(f"  {item}" for item in self.mismatches)
        count = len(self.mismatches)
        EtherCATError.__init__(self, f"{file}: the bus does not match the configuration "
                                     f"({count} difference{'s' if count != 1 else ''}):\n{lines}")
