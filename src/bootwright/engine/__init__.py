"""Sans-I/O protocol engines: no sockets, no clocks — datagrams and ``now`` in, an :class:`Outcome` out.

Rule: every engine has one shape (aioquic's ``QuicConnection``), the
:class:`Engine` Protocol defined here, and nothing else crosses the line
between an engine and its transport:

- ``handle(datagram, meta, now) -> Outcome | None``: one datagram as it came
  off the socket (octets: **the engine decodes**, for every protocol), what
  the socket knew about it (``meta``: the link, the source, the IP
  destination …, a type per protocol), and the time. A datagram the codec
  refuses is counted and logged at debug level inside the engine, never an
  exception. ``None``: nothing to send, store or report.
- ``next_deadline() -> float | None``: when ``on_timer`` next has work.
- ``on_timer(now) -> Outcome``: what time makes due (retransmissions,
  periodic advertisements, expired leases).

An :class:`Outcome` is what the transport does, in order: store ``writes``
and ``forget`` durably, *then* send ``replies`` (an ACK promises its lease:
RFC 2131 §4.3.2, RFC 8415 §18.3.2), then report ``events``. Each reply says
where it goes in the form its transport understands (the ``To`` parameter:
an RFC 2131 §4.1 ``Destination`` for DHCPv4, a UDP port for DHCPv6, an
address for RA, nothing for a TFTP transfer's connected socket). The I/O
layer only moves bytes and arms one timer.

The engines: :mod:`bootwright.engine.dhcp4.server` (``Dhcp4Engine``),
:mod:`bootwright.engine.dhcp6.server` (``Dhcp6Engine``),
:mod:`bootwright.engine.ra` (``RouterAdvertiser``) and, one instance per
transfer, :mod:`bootwright.engine.tftp.transfer` (``ReadTransfer``) and
:mod:`bootwright.engine.tftp.write` (``WriteTransfer``). They are not
re-exported here, so importing one engine does not load the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

from bootwright.model import BootAnswer, EventKind, Lease

__all__ = ["Engine", "EventRecord", "Outcome", "Reply"]

To = TypeVar("To")
Meta = TypeVar("Meta", contravariant=True)


class Reply(NamedTuple, Generic[To]):
    """One datagram to send and where to (see :class:`Outcome`)."""

    data: bytes | memoryview
    """The UDP payload (for TFTP a view of the transfer's buffer, valid until the next call into it)."""
    to: To
    """The destination, in the form the engine's transport understands."""


class EventRecord(NamedTuple):
    """One protocol step, for ``runtime.events.emit(kind, mac=..., host=..., **detail)``."""

    kind: EventKind
    mac: str | None
    host: str | None
    detail: dict[str, Any]


@dataclass(slots=True)
class Outcome(Generic[To]):
    """What to do about one datagram or timer: store, then send, then report.

    ``writes`` (and ``forget``) must be durable before ``replies`` leave. Read an
    Outcome, never modify it: engines may hand out prepared ones (a TFTP
    lock-step block costs no allocation).
    """

    replies: Sequence[Reply[To]] = ()
    writes: Sequence[Lease] = ()
    """Leases to store (upserted by family and address)."""
    forget: Sequence[str] = ()
    """Addresses whose lease rows can be deleted (quarantine over), in the engine's family."""
    events: Sequence[EventRecord] = ()
    answer: BootAnswer | None = None
    """The boot answer the reply carries (``bootwright explain`` reports it)."""

    @property
    def reply(self) -> bytes | memoryview | None:
        """The first reply's octets, ``None`` without one (a DHCP exchange sends at most one)."""
        return self.replies[0].data if self.replies else None


class Engine(Protocol[Meta, To]):
    """The one shape of a sans-I/O engine (see the module docstring)."""

    def handle(self, datagram: bytes, meta: Meta, now: float) -> Outcome[To] | None:
        """Take one datagram; never raises for its content."""
        ...

    def next_deadline(self) -> float | None:
        """When :meth:`on_timer` next has work, ``None`` for never."""
        ...

    def on_timer(self, now: float) -> Outcome[To]:
        """Do what is due at ``now``."""
        ...
