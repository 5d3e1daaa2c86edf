"""The chunk-size lines of a chunked request body, followed in the raw bytes.

llhttp reads a chunk size of any number of digits as long as its value fits in 64 bits, so
``000…0005`` with 30 zeros passes; h11 takes at most 20 digits. The balancer re-chunks what it
forwards, so no desync follows either way, but one framing that strict parsers agree on is
cheaper to reason about. httptools does not show the size lines, so :class:`ChunkSizes` follows
the body's framing in the bytes themselves: size line, data, CRLF, ..., last chunk, trailers.
It only has to find the size lines: llhttp still judges everything else, so on anything it
does not expect it stops following (and lets llhttp refuse it, or not).
"""

from __future__ import annotations

import re

# Fewer than this many digits in a chunk size; h11 takes 1 to 20.
MAX_SIZE_DIGITS = 20
_HEX = re.compile(rb"[0-9A-Fa-f]*")
# A size line longer than this is not followed further (llhttp bounds extensions itself).
_MAX_LINE = 4096

_SIZE, _DATA, _TRAILER, _DONE = range(4)


class ChunkSizes:
    """Follows one chunked body from its first byte; ``feed`` is False at a too-long size."""

    __slots__ = ("_left", "_line", "_state")

    def __init__(self) -> None:
        self._state = _SIZE
        self._left = 0  # of the chunk's data and its CRLF
        self._line = b""  # a size or trailer line cut by a read

    @property
    def done(self) -> bool:
        return self._state == _DONE

    def feed(self, data: bytes, start: int = 0) -> bool:
        """Follow ``data[start:]``; False when a chunk size has MAX_SIZE_DIGITS digits or more."""
        i, n = start, len(data)
        while i < n and self._state != _DONE:
            if self._state == _DATA:
                take = min(self._left, n - i)
                self._left -= take
                i += take
                if not self._left:
                    self._state = _SIZE
                continue
            end = data.find(b"\n", i)
            if end < 0:
                self._line += data[i:]
                if self._state == _SIZE and _digits(self._line) >= MAX_SIZE_DIGITS:
                    return False
                if len(self._line) > _MAX_LINE:
                    self._state = _DONE
                return True
            line, self._line, i = self._line + data[i:end], b"", end + 1
            if self._state == _TRAILER:
                if line in (b"", b"\r"):
                    self._state = _DONE
                continue
            digits = _digits(line)
            if digits >= MAX_SIZE_DIGITS:
                return False
            if not digits:
                self._state = _DONE  # not a size line: llhttp decides
            elif (size := int(line[:digits], 16)) == 0:
                self._state = _TRAILER
            else:
                self._state, self._left = _DATA, size + 2
        return True


def _digits(line: bytes) -> int:
    match = _HEX.match(line)
    return match.end() if match else 0
