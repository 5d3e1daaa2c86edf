"""Hypothesis strategies for request bytes: valid and malformed heads, bodies and chunking."""

from __future__ import annotations

from hypothesis import strategies as st

NEXT = b"GET /next HTTP/1.1\r\nHost: n\r\n\r\n"  # follows every generated request

# Lists repeat their well-formed entries, so that about half the cases are valid requests.
METHODS = [b"GET"] * 4 + [b"POST", b"PUT"] * 3 + [b"HEAD", b"DELETE", b"OPTIONS", b"PATCH"]
METHODS += [b"get", b"G@T"]
TARGETS = [b"/", b"/products/a", b"/a?b=c&d"] * 3 + [b"*", b"http://h/x", b"/%00", b"/a b", b""]
VERSIONS = [b"HTTP/1.1"] * 12 + [b"HTTP/1.0", b"HTTP/1.0", b"HTTP/1.2", b"HTTP/2.0", b"http/1.1"]
EOLS = [b"\n", b"\r"]  # the odd line ends; most cases use CRLF
LENGTH_VALUES = [b"%d"] * 14 + [b" %d ", b"+%d", b"0%d", b"%d, %d", b"-%d", b"0x%x", b"%d.0"]
TE_VALUES = [b"chunked"] * 12 + [
    b"Chunked",
    b" chunked",
    b"gzip, chunked",
    b"chunked, gzip",
    b"identity",
    b"xchunked",
    b"chunked\x0b",
    b"chunked, chunked",
]
CONNECTION_VALUES = [
    b"keep-alive",
    b"close",
    b"content-length",
    b"Content-Length",
    b"transfer-encoding",
    b"host",
    b"x-a, content-length",
    b"upgrade",
    b"te",
]
NAMES = [b"X-A", b"Accept", b"Cookie", b"X-Forwarded-For", b"Expect", b"Upgrade", b"TE"]


@st.composite
def header_lines(draw: st.DrawFn, body_len: int) -> tuple[list[bytes], str]:
    """Header lines (without line ends) and the framing they mean to declare."""
    lines: list[bytes] = []
    if draw(st.integers(0, 19)):  # sometimes none: the balancer then adds the replica's
        lines.append(b"Host: " + draw(st.sampled_from([b"a", b"a:80", b"", b"a b"])))
    framing = draw(st.sampled_from(["none"] * 3 + ["length"] * 4 + ["chunked"] * 3 + ["both"]))
    if framing in ("length", "both"):
        value = draw(st.sampled_from(LENGTH_VALUES))
        n = body_len + draw(st.sampled_from([0] * 8 + [1, -1]))
        value = value.replace(b"%x", b"%x" % abs(n)).replace(b"%d", b"%d" % abs(n))
        name = draw(
            st.sampled_from([b"Content-Length"] * 4 + [b"content-length", b"Content-Length "])
        )
        lines.append(name + b": " + value)
        if draw(st.integers(0, 9)) == 0:
            lines.append(b"Content-Length: %d" % draw(st.integers(0, body_len + 2)))
    if framing in ("chunked", "both"):
        name = draw(
            st.sampled_from(
                [b"Transfer-Encoding"] * 4 + [b"transfer-encoding", b"Transfer_Encoding"]
            )
        )
        lines.append(name + b": " + draw(st.sampled_from(TE_VALUES)))
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.integers(0, 9))
        if kind in (0, 5):
            lines.append(b"Connection: " + draw(st.sampled_from(CONNECTION_VALUES)))
        elif kind == 1:
            lines.append(b" folded continuation")  # obs-fold of the previous line
        elif kind == 2:
            lines.append(b"X-Big: " + b"b" * draw(st.sampled_from([10, 8000, 17000])))
        elif kind == 3:
            lines.append(draw(st.sampled_from(NAMES)) + b": " + draw(st.binary(max_size=12)))
        elif kind == 4:
            lines.append(draw(st.sampled_from([b"NoColon", b": empty-name", b"X A: space"])))
        elif kind == 6:
            # llhttp reads it as Connection; h11 (and the balancer) do not
            lines.append(b"Proxy-Connection: " + draw(st.sampled_from([b"close", b"keep-alive"])))
        else:
            lines.append(b"X-B: v")
    order = draw(st.permutations(lines))
    return list(order), framing


@st.composite
def chunked_body(draw: st.DrawFn, body: bytes) -> bytes:
    out = []
    rest = body
    while rest:
        size = draw(st.integers(1, len(rest)))
        piece, rest = rest[:size], rest[size:]
        spelled = draw(
            st.sampled_from(
                [b"%x"] * 10
                + [b"%X", b"0%x", b"%x;ext=1", b"%x ", b" %x", b"-%x"]
                + [b"0" * 17 + b"%x", b"0" * 19 + b"%x", b"0" * 30 + b"%x"]  # 18 to 31 digits
            )
        )
        claimed = size + draw(st.sampled_from([0] * 12 + [1, -1]))
        out.append(spelled.replace(b"%x", b"%x" % max(0, claimed)).replace(b"%X", b"%X" % claimed))
        out.append(b"\r\n" + piece + draw(st.sampled_from([b"\r\n"] * 12 + [b"\n", b""])))
    last = draw(
        st.sampled_from([b"0\r\n\r\n"] * 6 + [b"0\r\nX-T: 1\r\n\r\n", b"00\r\n\r\n", b"0\r\n"])
    )
    if draw(st.integers(0, 30)) == 0:
        last = b"ffffffffffffffffffff\r\n"
    return b"".join(out) + last


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """One request (valid or not), then a plain request a mis-framing would swallow."""
    body = draw(st.binary(max_size=40)) if draw(st.booleans()) else b""
    if body and draw(st.booleans()):
        body = NEXT + body  # a body that looks like a request: what smuggling hides
    lines, framing = draw(header_lines(len(body)))
    eol = draw(st.sampled_from(EOLS)) if draw(st.integers(0, 9)) == 0 else b"\r\n"
    sep = b"  " if draw(st.integers(0, 19)) == 0 else b" "  # h11 takes one space only
    start = sep.join(
        [
            draw(st.sampled_from(METHODS)),
            draw(st.sampled_from(TARGETS)),
            draw(st.sampled_from(VERSIONS)),
        ]
    )
    head = eol.join([start, *lines]) + eol + eol
    payload = draw(chunked_body(body)) if framing in ("chunked", "both") else body
    return head + payload + NEXT
