"""Fuzzing the readers of what users hand to `check` (issue 21): history lines with random JSON
nested anywhere (an extra field, a known field, the header, a whole line; from a few levels to
tens of thousands), with NaN, infinities, a byte-order mark, control characters and cut lines
mixed in; audits and reports likewise. The answer is a result or the project's one-line error
(a UsageError), never another exception: the CLI prints it as ``lbdemo: error: <message>``.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lbdemo.checker import check, load_audit
from lbdemo.errors import UsageError
from lbdemo.history import FORMAT, read_history
from lbdemo.report import load_report
from tests.fuzz.tally import examples, tally

HEADER = {"type": "header", "format": FORMAT, "wall_anchor": 1000.0, "mono_anchor": 0.0}


def _op(i: int) -> dict[str, object]:
    write = i % 2 == 0
    return {
        "type": "op",
        "client": f"u{i % 3}",
        "op": "write" if write else "read",
        "key": f"k{i % 2}",
        "write_id": f"w{i}" if write else None,
        "price": 100 if write else None,
        "invoke": float(i),
        "complete": i + 0.5,
        "status": 200 if write else 404,
        "outcome": "ok",
        "replica": "r1",
    }


# Scalars as JSON text, the ones JSON does not have included.
scalars = st.one_of(
    st.just("null"),
    st.just("true"),
    st.integers(-(2**70), 2**70).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr).map(lambda r: r.replace("inf", "")),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-0", "1" * 500, '"\\ud800"']),
    st.text(max_size=20).map(json.dumps),
    st.text(max_size=5).map(lambda t: '"' + t + '"'),  # raw: quotes and controls unescaped
)


@st.composite
def nested(draw: st.DrawFn) -> str:
    """A scalar wrapped in a random mix of arrays and objects, up to tens of thousands deep
    (built as text: json.dumps would itself run out of recursion)."""
    depth = draw(st.one_of(st.integers(0, 8), st.integers(900, 1100), st.integers(0, 30_000)))
    kinds = draw(st.lists(st.booleans(), min_size=1, max_size=8))
    opens = "".join("[" if kinds[i % len(kinds)] else '{"a":' for i in range(depth))
    closes = "".join("]" if kinds[i % len(kinds)] else "}" for i in reversed(range(depth)))
    if draw(st.integers(0, 9)) == 0:
        closes = closes[: draw(st.integers(0, len(closes)))]  # cut short
    return opens + draw(scalars) + closes


PLACES = ["extra field", "known field", "header extra field", "whole line", "second file"]
FIELDS = ["client", "key", "write_id", "price", "invoke", "complete", "status", "replica"]


@st.composite
def hostile_histories(draw: st.DrawFn) -> tuple[str, list[bytes]]:
    """Where the nested value went, and the lines of one or two files."""
    place = draw(st.sampled_from(PLACES))
    value = draw(nested())
    n = draw(st.integers(1, 6))
    lines = [json.dumps(HEADER)] + [json.dumps(_op(i)) for i in range(n)]
    target = draw(st.integers(1, n))
    if place == "extra field":
        lines[target] = lines[target][:-1] + f', "x": {value}}}'
    elif place == "known field":
        field = draw(st.sampled_from(FIELDS))
        lines[target] = re.sub(
            f'"{field}": [^,}}]*', lambda _: f'"{field}": {value}', lines[target]
        )
    elif place == "header extra field":
        lines[0] = lines[0][:-1] + f', "x": {value}}}'
    elif place == "whole line":
        lines[target] = value
    encoded = [line.encode("utf-8", "surrogatepass") for line in lines]
    if draw(st.integers(0, 9)) == 0:  # a byte-order mark, a control byte or a stray byte
        junk = draw(st.sampled_from([b"\xef\xbb\xbf", b"\x00", b"\x1b", b"\xff", b"\r"]))
        at = draw(st.integers(0, len(encoded) - 1))
        encoded[at] = junk + encoded[at]
    return place, encoded


def _one_line(exc: Exception) -> str:
    text = str(exc)
    assert text and "\n" not in text and "\r" not in text, repr(text)
    return text


def _kind(message: str) -> str:
    """A refusal's gist, for the tally: the words after the location."""
    for gist in (
        "nested",
        "longer than",
        "found NaN",
        "found Infinity",
        "found -Infinity",
        "byte-order mark",
        "not UTF-8",
        "found U+",
        "invalid character",
        "truncated",
        "out of range",
        "Expected",
        "overlapping",
        "write_id",
        "header",
        "not a JSON object",
        "unknown line type",
        "digits",
        "range of a double",
        "must map",
        "needs a 'replicas'",
        "not an lbdemo report (format",
        "malformed lbdemo report",
        "Expecting",
        "expected",
        "Invalid control character",
    ):
        if gist in message:
            return gist
    return "other: " + message.split(": ", 1)[-1][:60]


@settings(
    max_examples=examples(200),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(case=hostile_histories())
def test_the_history_reader_answers_random_nesting_with_a_result_or_one_line(
    case: tuple[str, list[bytes]],
) -> None:
    place, lines = case
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp) / "h.jsonl"]
        if place == "second file":
            good = [json.dumps(HEADER).encode()]
            paths[0].write_bytes(b"\n".join(good) + b"\n")
            paths.append(Path(tmp) / "h2.jsonl")
        paths[-1].write_bytes(b"\n".join(lines) + b"\n")
        try:
            history = read_history(paths)
            check(history)
        except UsageError as exc:
            tally("history reader (random nesting)", f"refused: {_kind(_one_line(exc))}")
        else:
            tally("history reader (random nesting)", "accepted")


@settings(
    max_examples=examples(200),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(value=nested(), where=st.sampled_from(["replicas", "rows", "key", "extra", "whole"]))
def test_the_audit_and_report_readers_answer_random_nesting_in_one_line(
    value: str, where: str
) -> None:
    text = {
        "replicas": f'{{"replicas": {value}}}',
        "rows": f'{{"replicas": {{}}, "rows": {{"r1": {value}}}}}',
        "key": f'{{"replicas": {{"r1": {{"k": {value}}}}}}}',
        "extra": f'{{"replicas": {{}}, "x": {value}}}',
        "whole": value,
    }[where]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "audit.json"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        for name, load in (("audit reader", load_audit), ("report reader", load_report)):
            try:
                load(path)
            except UsageError as exc:
                tally(f"{name} (random nesting)", f"refused: {_kind(_one_line(exc))}")
            else:
                tally(f"{name} (random nesting)", "accepted")
