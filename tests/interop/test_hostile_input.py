"""Whatever the bytes, reading another tool's history ends in a history or in one line
(:class:`~lbdemo.errors.UsageError`), never in another exception."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lbdemo.checker.wgl import decide
from lbdemo.errors import UsageError
from lbdemo.interop.calls import Foreign, Refused
from lbdemo.interop.edn import loads_all
from lbdemo.interop.formats import load_any

VALID = (
    "[{:type :invoke, :f :write, :value [:k 1], :process 0, :time 10}\n"
    " {:type :ok, :f :write, :value [:k 1], :process 0, :time 20}\n"
    " {:type :invoke, :f :read, :value [:k nil], :process 1, :time 15}\n"
    " {:type :ok, :f :read, :value [:k 1], :process 1, :time 30}]\n"
)
ATOMS = ["[", "]", "{", "}", "(", ")", ":type", ":ok", ":f", ":cas", ":value", "nil", "#",
         "\\", '"', "1e999", "-0", "9" * 50, ";", ",", ":process", ":time", " ", "\n", "#{",
         "x/y", ":append", ":txn", ":key", ":acquire", "[:read :x 1]"]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_edn_or_one_line(text: str) -> None:
    try:
        loads_all(text, "h.edn")
    except UsageError as exc:
        assert "\n" not in str(exc)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.data())
def test_a_mangled_jepsen_history_is_read_or_refused_in_one_line(
    tmp_path: Path, data: st.DataObject
) -> None:
    cut = data.draw(st.integers(0, len(VALID)))
    insert = "".join(data.draw(st.lists(st.sampled_from(ATOMS), max_size=4)))
    path = tmp_path / "h.edn"
    path.write_text(VALID[:cut] + insert + VALID[cut + data.draw(st.integers(0, 5)) :])
    for source in (None, "jepsen", "porcupine"):
        try:  # lbdemo check's path: the zone check, else the general search
            found = load_any([str(path)], source)
            assert isinstance(found, Foreign)
            try:
                found.history()
            except Refused:
                decide(found, max_states=1000)
        except UsageError as exc:
            assert "\n" not in str(exc)
