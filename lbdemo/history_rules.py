"""The rules of a big history checked in a second process while this one decodes it.

:func:`lbdemo.history.read_history` guarantees what the checker relies on: unique write ids,
``complete`` not before ``invoke``, one operation at a time per client. Checking them takes a
third of the loading (two passes over a million operations after the decoding), and they need
only five of an operation's fields. So, for a big history on a machine with a second CPU, the
reader hands every slice of the files it reads to a child process (``python -m
lbdemo.history_rules``) through a pipe, from a thread of its own, and decodes on; the child
decodes those five fields, applies the same rules with the same functions
(:func:`lbdemo.history.check_write_ids`, :func:`lbdemo.history.check_times`) and answers in
one line. The child sees exactly the bytes the reader decoded (a file that changes while it is
read cannot give the two an answer about different data), and whatever goes wrong with it (it
fails, it is killed, it reports a number of operations other than the reader's) costs time, not
the answer: the reader then checks the rules itself, as it does for small histories.

The child's answers: ``ok`` (every rule holds, no two operations invoked at the same instant),
``ties`` (two were: the reader reads again in file order, see ``_read``), ``broken`` (a rule
does not hold: the reader finds which and where).
"""

from __future__ import annotations

import contextlib
import os
import queue
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from typing import IO

import msgspec

# Below this many bytes of history the reader checks the rules itself: starting the child
# (about 0.1 s) would cost more than it saves.
MIN_BYTES = 16 << 20
_CHUNK_BYTES = 1 << 22

OK, TIES, BROKEN = "ok", "ties", "broken"
CHILD_ARGV = [sys.executable, "-m", "lbdemo.history_rules"]
MIN_PATIENCE_S = 5.0  # the least time the reader waits for the answer once it has read all


class Timing(msgspec.Struct, frozen=True, gc=False, tag="op", tag_field="type"):
    """The fields of an operation line that the rules read (other fields are skipped)."""

    client: str
    op: str
    write_id: str | None
    invoke: float
    complete: float


class Answer(msgspec.Struct, frozen=True):
    verdict: str  # OK, TIES or BROKEN
    ops: int  # how many operations the child decoded


def worth_it(total_bytes: int) -> bool:
    """Whether a child would pay off: a big history and a second CPU to run it on."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return total_bytes >= MIN_BYTES and cpus >= 2


class RulesChild:
    """The reader's side: start the child, feed it what was read, take its answer.

    ``feed`` never blocks the reader (a thread does the writing: a write into a pipe lets other
    threads run), and ``answer`` or ``stop`` always ends the child (by its pid).
    """

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            CHILD_ARGV,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._chunks: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write, name="history-rules-feed", daemon=True)
        self._writer.start()

    def _write(self) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            while (chunk := self._chunks.get()) is not None:
                stdin.write(chunk)
        except OSError:  # the child is gone: its answer (none) says so
            pass
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    def feed(self, chunk: bytes) -> None:
        """Operation lines, whole lines only (never a header line)."""
        self._chunks.put(chunk)

    def answer(self, ops: int, reading_s: float) -> str | None:
        """The child's verdict on the ``ops`` operations fed, or None if it has none to give
        (it failed, or is not done within as long again as the reading took, ``reading_s``:
        it had the same bytes to decode and fewer fields; it is stopped then)."""
        self._chunks.put(None)
        raw = self._read_all(time.monotonic() + max(MIN_PATIENCE_S, reading_s))
        if raw is None:
            self.stop()
            return None
        self._process.wait()
        try:
            answer = msgspec.json.decode(raw, type=Answer)
        except msgspec.MsgspecError:
            return None
        if self._process.returncode != 0 or answer.ops != ops:
            return None
        return answer.verdict

    def _read_all(self, deadline: float) -> bytes | None:
        """The child's whole output, or None if it is not done by ``deadline``."""
        stdout = self._process.stdout
        assert stdout is not None
        fd = stdout.fileno()
        out = b""
        while (left := deadline - time.monotonic()) > 0:
            if not select.select([fd], [], [], left)[0]:
                break
            data = os.read(fd, 1 << 16)
            if not data:
                return out
            out += data
        return None

    def stop(self) -> None:
        """End the child if it still runs (the reader failed or was interrupted)."""
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._chunks.put(None)
        self._writer.join()
        if self._process.stdout is not None:
            self._process.stdout.close()


# ---------------------------------------------------------------------------------------------
# The child's side


def judge(chunks: Iterable[bytes]) -> Answer:
    """The verdict on the operation lines of ``chunks`` (any split; lines may straddle two)."""
    # Imported here, not at the top: lbdemo.history imports this module.
    from lbdemo.history import Malformed, check_times, check_write_ids, invocation_order

    decoder = msgspec.json.Decoder(Timing)
    ops: list[Timing] = []
    rest = b""
    try:
        for chunk in chunks:
            data = rest + chunk
            cut = data.rfind(b"\n") + 1
            ops += decoder.decode_lines(data[:cut])
            rest = data[cut:]
        if rest.strip():
            ops += decoder.decode_lines(rest)
        check_write_ids(ops)
        ops.sort(key=invocation_order)
        overlap, ties = check_times(ops)
    except (msgspec.MsgspecError, ValueError, Malformed):
        return Answer(BROKEN, len(ops))
    if overlap is not None:
        return Answer(BROKEN, len(ops))
    return Answer(TIES if ties else OK, len(ops))


def _read_stdin(stream: IO[bytes]) -> Iterable[bytes]:
    while chunk := stream.read(_CHUNK_BYTES):
        yield chunk


def main() -> int:
    answer = judge(_read_stdin(sys.stdin.buffer))
    sys.stdout.buffer.write(msgspec.json.encode(answer) + b"\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
