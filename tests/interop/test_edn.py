"""The EDN reader takes what Jepsen writes and refuses the rest with one line naming it."""

from __future__ import annotations

import pytest

from lbdemo.interop.edn import MAX_DEPTH, EdnError, Keyword, dumps, loads, loads_all


def test_reads_keywords_maps_vectors_lists_and_scalars() -> None:
    text = """; a comment
    [{:type :invoke, :f :cas, :value [1 2], :process 0, :time 12}
     {:type :ok :f :read :value nil :ok? true :no false :x -1.5e3 :s "a\\"b\\n" :l (1 (2))}]"""
    assert loads(text) == [
        {
            Keyword("type"): Keyword("invoke"),
            Keyword("f"): Keyword("cas"),
            Keyword("value"): [1, 2],
            Keyword("process"): 0,
            Keyword("time"): 12,
        },
        {
            Keyword("type"): Keyword("ok"),
            Keyword("f"): Keyword("read"),
            Keyword("value"): None,
            Keyword("ok?"): True,
            Keyword("no"): False,
            Keyword("x"): -1500.0,
            Keyword("s"): 'a"b\n',
            Keyword("l"): [1, [2]],
        },
    ]


def test_a_sequence_of_maps_is_several_values() -> None:
    assert loads_all('{:a 1}\n{:a "x"}  ; end\n') == [{Keyword("a"): 1}, {Keyword("a"): "x"}]


def test_writes_what_it_reads() -> None:
    value = [{Keyword("a"): [1, None, "x\ty", 2.5, True]}, [], {}]
    assert loads(dumps(value)) == value


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('#inst "2020"', "1:1: EDN tagged values (#inst) are not supported"),
        ("[1 #{1 2}]", "1:4: EDN sets (#{...}) are not supported"),
        ("[#_ 1 2]", "1:2: EDN discarded values (#_) are not supported"),
        ("{:a\n foo}", "2:2: EDN symbols (foo) are not supported"),
        ("[\\a]", "1:2: EDN characters (\\c) are not supported"),
        ("[1/2]", "1:2: numbers like '1/2' are not supported"),
        ("[12N]", "1:2: numbers like '12N' are not supported"),
        ("[1 2", "1:1: '[' is not closed"),
        ("[1 2)", "1:5: ')' closes '['"),
        ("{:a}", "1:1: a map needs an even number of forms"),
        ("{:a 1 :a 2}", "1:1: duplicate map key :a"),
        ('"abc', "1:1: a string is not closed"),
        ("1e999", "1:1: number out of range"),
        ("[" * (MAX_DEPTH + 1), f"values nested more than {MAX_DEPTH} deep"),
    ],
)
def test_refuses_the_rest_with_one_line_naming_what_and_where(text: str, says: str) -> None:
    with pytest.raises(EdnError) as caught:
        loads(text, "h.edn")
    message = str(caught.value)
    assert says in message and message.startswith("h.edn:") and "\n" not in message
