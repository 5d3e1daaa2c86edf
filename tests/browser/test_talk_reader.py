"""How the talk test reads docs/presenting.md (tests/browser/talk.py): no browser, no stack."""

from __future__ import annotations

from pathlib import Path

from tests.browser.talk import Block, Shot, mask, matches, parse_block, rewrite, steps

DOC = """intro
```console
$ curl -s -X PUT \\
    http://127.0.0.1:8080/products/apple
lbdemo-r1
$ lbdemo get apple
apple:
```

![first](../results/screenshots/talk/01-first.png)

<!-- talk: figures vary -->
```console
$ lbdemo load --duration 5
     4 s left  ops=    814 (807/s)
...
private  inconsistent     44.36 %  1,098
```
"""


def test_the_doc_reads_as_blocks_and_screenshots_in_order() -> None:
    plan = steps(DOC)
    assert [type(s) for s in plan] == [Block, Shot, Block]
    first, shot, load = plan
    assert isinstance(first, Block) and isinstance(shot, Shot) and isinstance(load, Block)
    assert shot.name == "01-first.png"
    assert [c.line for c in first.commands] == [
        "curl -s -X PUT \\\n    http://127.0.0.1:8080/products/apple",
        "lbdemo get apple",
    ]
    assert first.commands[0].quoted == ["lbdemo-r1"] and not first.commands[0].figures_vary
    assert load.info == "figures vary" and load.commands[0].figures_vary


def test_ids_ports_pids_and_timings_are_masked_figures_only_where_said() -> None:
    shown = "  lbdemo-r1   http://127.0.0.1:36087  d0ed3d130ce6 lbdemo/catalog:1.0 pid 27777"
    real = "  lbdemo-r1   http://127.0.0.1:41234  0123456789ab lbdemo/catalog:1.0 pid 5"
    assert mask(shown, False) == mask(real, False)
    assert matches(["all healthy in 6.66 s. Try:"], ["all healthy in 1.02 s. Try:"], False)
    # The order of answers is the story: figures are compared unless the block says otherwise.
    assert not matches(
        ["404 lbdemo-r2", "200 lbdemo-r1"], ["200 lbdemo-r1", "404 lbdemo-r2"], False
    )
    assert not matches(["1200"], ["1300"], False)
    assert matches(["ops=    814 (807/s)"], ["ops=  1,565 (772/s)"], True)


def test_an_ellipsis_stands_for_any_lines_and_only_there() -> None:
    quoted = ["load:", "...", "verdict"]
    assert matches(quoted, ["load:", "verdict"], False)
    assert matches(quoted, ["load:", "a", "b", "verdict"], False)
    assert not matches(quoted, ["load:", "a", "verdict", "extra"], False)
    assert not matches(["a", "b"], ["a", "x", "b"], False)


def test_record_mode_rewrites_outputs_and_keeps_commands(tmp_path: Path) -> None:
    plan = [s for s in steps(DOC) if isinstance(s, Block)]
    outputs = {plan[0].start: [["lbdemo-r2"], ["apple:", "  more"]]}
    again = rewrite(DOC, outputs)
    assert "lbdemo-r2\n$ lbdemo get apple\napple:\n  more\n```" in again
    assert again.count("$ ") == DOC.count("$ ")
    assert parse_block("$ a\nout", False)[0].quoted == ["out"]
