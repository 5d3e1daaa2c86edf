"""The balancer's framing decision, in process, next to a strict reference's (h11).

``balancer_reading(data, splits)`` feeds client bytes to a real :class:`ClientConnection`
(fake transports, one fake replica that answers every complete request with an empty 200)
and reads back what went upstream, with h11, and which error the client got, if any.
``h11_reading(data)`` is what h11, as a server, makes of the same bytes. Used by the fuzz test
and by ``benchmarks/fuzz_balancer.py``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import h11

from lbdemo.balancer import BalancerConfig, Upstream
from lbdemo.balancer.client import ClientConnection
from lbdemo.balancer.context import ProxyContext
from lbdemo.balancer.metrics import Metrics
from lbdemo.balancer.pool import ReplicaSet
from lbdemo.balancer.strategy import make_strategy
from lbdemo.balancer.upstream import UpstreamConnection

UPSTREAM_ANSWER = b"HTTP/1.1 200 OK\r\nX-Up: 1\r\nContent-Length: 0\r\n\r\n"
MAX_HEADER = 16 * 1024


@dataclass
class Request:
    method: bytes
    target: bytes
    body: bytes


@dataclass
class Reading:
    """Requests read whole, and then: "ok" (all bytes used), "incomplete", or an error."""

    requests: list[Request] = field(default_factory=list)
    end: str = "ok"
    status: int = 0  # the balancer's error status, if it answered one
    error: str = ""  # h11's reason
    # Request counts after which h11 would have closed (HTTP/1.0) and the balancer may too.
    close_points: set[int] = field(default_factory=set)


class FramingMismatch(AssertionError):
    """The balancer and h11 cut the same bytes into different requests."""


class _Wire:
    """A transport that records what is written to it."""

    def __init__(self, peer: tuple[str, int] | None = None) -> None:
        self.out: list[bytes] = []
        self.closed = False
        self.paused = False
        self.peer = peer

    def write(self, data: bytes) -> None:
        self.out.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    abort = close

    def write_eof(self) -> None:
        pass

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self.peer if name == "peername" else default

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return self.closed


class _Loop:
    """Just enough of an event loop: the harness never lets the proxy connect or wait."""

    def time(self) -> float:
        return 0.0

    def create_task(self, coro: Any) -> Any:
        coro.close()
        raise AssertionError("the harness replica always has an idle connection")

    def call_later(self, *args: Any) -> None:
        return None


def balancer_reading(data: bytes, splits: tuple[int, ...] = ()) -> Reading:
    """What the balancer forwards of ``data`` (delivered in pieces cut at ``splits``)."""
    config = BalancerConfig(
        upstreams=(Upstream("r1", "127.0.0.1", 9),), health_interval=0, max_header_bytes=MAX_HEADER
    )
    replicas = ReplicaSet(config.upstreams)
    ctx = ProxyContext(
        config,
        replicas,
        make_strategy("round-robin"),
        Metrics(lambda: replicas),
        _Loop(),  # type: ignore[arg-type]
    )
    replica = replicas.members[0]
    wires: list[_Wire] = []

    def fresh_connection() -> None:
        up = UpstreamConnection(replica, ctx)
        wire = _Wire()
        wires.append(wire)
        up.connection_made(wire)  # type: ignore[arg-type]
        replica.give_back(up, 8)

    fresh_connection()
    client_wire = _Wire(("127.0.0.1", 40000))
    client = ClientConnection(ctx)
    client.connection_made(client_wire)  # type: ignore[arg-type]
    cuts = [0, *sorted(s for s in set(splits) if 0 < s < len(data)), len(data)]
    for start, stop in itertools.pairwise(cuts):
        if client_wire.closed:
            break
        client.data_received(data[start:stop])
        _answer_complete_requests(client, replica, fresh_connection)
    return _read_upstream(wires, b"".join(client_wire.out))


def _answer_complete_requests(client: ClientConnection, replica: Any, fresh: Any) -> None:
    queue = client._queue
    for _ in range(10_000):
        if not queue:
            return
        ex = queue[0]
        up = ex.upstream
        if up is None or not ex.request_done or ex.response_started:
            return
        up.data_received(UPSTREAM_ANSWER)
        if not replica.idle:
            fresh()


def _read_upstream(wires: list[_Wire], to_client: bytes) -> Reading:
    reading = Reading()
    for wire in wires:
        part = h11_reading(b"".join(wire.out))
        reading.requests += part.requests
        if part.end == "error":
            # The balancer sent a replica something a strict parser refuses: never acceptable.
            raise FramingMismatch(f"unclean upstream bytes: {b''.join(wire.out)!r}")
    statuses = [int(s) for s in re.findall(rb"HTTP/1\.1 (\d{3}) ", to_client)]
    errors = [s for s in statuses if s >= 400]
    if errors:
        reading.end, reading.status = "error", errors[0]
    return reading


def h11_reading(data: bytes) -> Reading:
    """The requests h11 (a strict HTTP/1.1 server) reads from ``data``.

    h11 closes after every HTTP/1.0 request, while the balancer (like llhttp) keeps an
    HTTP/1.0 connection open when it says ``keep-alive``: so reading goes on after an
    HTTP/1.0 request with a fresh h11 connection, and the place is noted in ``close_points``.
    """
    reading = Reading()
    while data:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER)
        conn.receive_data(data)
        data = _h11_cycle(conn, reading)
    return reading


def _h11_cycle(conn: h11.Connection, reading: Reading) -> bytes:
    """Read requests from ``conn`` into ``reading``; the bytes left after an HTTP/1.0 one."""
    current: Request | None = None
    version = b""
    body: list[bytes] = []
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            reading.end, reading.error = "error", str(exc)
            return b""
        if event is h11.NEED_DATA:
            idle = conn.their_state is h11.IDLE and not conn.trailing_data[0]
            reading.end = "ok" if idle else "incomplete"
            return b""
        if event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
            return b""  # after a request that closes the connection: the rest is ignored
        if isinstance(event, h11.Request):
            current, body = Request(event.method, event.target, b""), []
            version = event.http_version
        elif isinstance(event, h11.Data):
            body.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            assert current is not None
            current.body = b"".join(body)
            reading.requests.append(current)
            conn.send(h11.Response(status_code=200, headers=[("Content-Length", "0")]))
            conn.send(h11.EndOfMessage())
            if conn.our_state is h11.MUST_CLOSE:
                if version == b"1.0":
                    reading.close_points.add(len(reading.requests))
                    return bytes(conn.trailing_data[0])
                return b""
            conn.start_next_cycle()


def compare(data: bytes, splits: tuple[int, ...] = ()) -> str:
    """The outcome for one input; raises FramingMismatch when the framing differs.

    Outcomes: "agree-accept" (same requests, nobody refused), "agree-reject" (same requests
    before both refused the same one), "balancer-stricter" (the balancer refused a request
    h11 accepts, e.g. over a size limit), "balancer-laxer" (the balancer forwarded, in clean
    re-framed form, a request h11 refuses), "balancer-adds-host" (that request only lacked
    the Host header, which the balancer supplies), "balancer-skips-crlf" (empty lines before
    a request line, which RFC 9112 §2.2 says to ignore, or a stray CR or LF there, which llhttp
    and nginx skip too).
    """
    ref = h11_reading(data)
    bal = balancer_reading(data, splits)
    for i, (want, got) in enumerate(zip(ref.requests, bal.requests, strict=False)):
        if (want.method, want.target, want.body) != (got.method, got.target, got.body):
            raise FramingMismatch(f"request {i}: h11 read {want}, the balancer forwarded {got}")
    n_ref, n_bal = len(ref.requests), len(bal.requests)
    if n_bal > n_ref:
        if ref.end != "error":
            raise FramingMismatch(f"the balancer forwarded {n_bal} requests, h11 read {n_ref}")
        return _laxer(ref)
    if n_bal in ref.close_points and not bal.status and n_bal <= n_ref:
        # The balancer closed after an HTTP/1.0 request: what h11 (reading on) made of the
        # bytes after it does not count.
        return "agree-accept"
    if n_bal < n_ref:
        if not bal.status:
            raise FramingMismatch(f"the balancer forwarded {n_bal} of {n_ref} requests silently")
        return "balancer-stricter"
    if ref.end == "error":
        return "agree-reject" if bal.status else _laxer(ref)
    return "balancer-stricter" if bal.status else "agree-accept"


def _laxer(ref: Reading) -> str:
    # An HTTP/1.1 request without Host: h11 refuses it, the balancer gives it the replica's.
    if "Host" in ref.error:
        return "balancer-adds-host"
    # Empty lines before a request line: RFC 9112 §2.2 says a server SHOULD ignore them, as
    # llhttp does (they are not forwarded); h11 refuses them.
    if ref.error == "no request line received":
        return "balancer-skips-crlf"
    # A stray CR or LF (not a whole empty line) before a request line: llhttp skips it as
    # nginx's request-line parser does (its start state passes over CR and LF), and forwards
    # the request after it, re-framed; h11 refuses the line.
    if re.match(r"illegal request line: bytearray\(b'\\[rn]", ref.error):
        return "balancer-skips-crlf"
    return "balancer-laxer"
