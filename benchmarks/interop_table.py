"""lbdemo's answer on every history Knossos and Porcupine publish with a verdict: the table of
``results/interop.md``.

    .venv/bin/python benchmarks/interop_table.py --knossos KNOSSOS_CHECKOUT \\
        --porcupine PORCUPINE_CHECKOUT [--out results/interop.md]

Knossos's verdicts are its folders (``data/cas-register/good/`` and ``bad/``, likewise
``multi-register`` and ``mutex``), with the initial values its ``core_test.clj`` gives the models
(``(cas-register 0)``, ``(multi-register {:x 0 :y 0})``); Porcupine's are the tests of
``porcupine_test.go`` (``checkJepsen(t, N, true|false)`` for ``test_data/jepsen/etcd_NNN.log``,
``checkKv(t, "NAME", true|false, true)`` for ``test_data/kv/NAME.txt``). Each file goes through
``lbdemo check``'s path: the zone check (``lbdemo.checker.check``) when lbdemo's own model takes
the history, else the general search (``lbdemo.checker.wgl``). The table says which one decided
and how long the file took (read and checked, on this machine). Prints the table (and writes it
with ``--out``); exits 1 if lbdemo gives a verdict that differs from the published one.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from lbdemo.checker import check
from lbdemo.checker.wgl import decide
from lbdemo.errors import UsageError
from lbdemo.interop.calls import Foreign, Refused
from lbdemo.interop.edn import Keyword
from lbdemo.interop.formats import load_any

# Knossos's core_test.clj checks each folder with these models' initial values.
KNOSSOS_INITIAL: dict[str, Any] = {
    "cas-register": 0,
    "multi-register": {Keyword("x"): 0, Keyword("y"): 0},
}


def knossos(root: Path) -> list[tuple[str, str, str]]:
    """(file, relative name, expected) for every EDN file under data/*/good|bad/."""
    out = []
    for path in sorted((root / "data").rglob("*.edn")):
        verdict = {"good": "consistent", "bad": "inconsistent"}.get(path.parent.name)
        if verdict:
            out.append((str(path), path.relative_to(root).as_posix(), verdict))
    return out


def porcupine(root: Path) -> list[tuple[str, str, str]]:
    tests = (root / "porcupine_test.go").read_text(encoding="utf-8")
    out = []
    for n, ok in re.findall(r"checkJepsen\(t, (\d+), (true|false)\)", tests):
        name = f"test_data/jepsen/etcd_{int(n):03d}.log"
        out.append((str(root / name), name, "consistent" if ok == "true" else "inconsistent"))
    for name, ok in re.findall(r'checkKv\(t, "([\w-]+)", (true|false), true\)', tests):
        rel = f"test_data/kv/{name}.txt"
        out.append((str(root / rel), rel, "consistent" if ok == "true" else "inconsistent"))
    return sorted(set(out))


def answer(path: str, source: str, initial: Any = None) -> tuple[str, str, float, float]:
    """(lbdemo's verdict or why none, what decided, wall seconds, CPU seconds)."""
    if not Path(path).is_file() or Path(path).stat().st_size == 0:
        return "(file not in the checkout)", "", 0.0, 0.0
    start, cpu = time.monotonic(), time.process_time()
    try:
        found = load_any([path], source)
        assert isinstance(found, Foreign)
        if initial is not None:
            found.initial = initial
        try:
            got, how = str(check(found.history(), None).verdict), "zone check"
        except Refused:
            got, how = decide(found).verdict, "general search"
    except UsageError as exc:
        got, how = "refused: " + str(exc).split(": ")[-1], ""
    return got, how, time.monotonic() - start, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--knossos", type=Path, required=True, help="a Knossos checkout")
    parser.add_argument("--porcupine", type=Path, required=True, help="a Porcupine checkout")
    parser.add_argument("--out", help="write the table here too")
    args = parser.parse_args()
    rows = []
    for path, name, expected in knossos(args.knossos):
        initial = KNOSSOS_INITIAL.get(name.split("/")[1])
        rows.append(("Knossos", name, expected, *answer(path, "jepsen", initial)))
    for path, name, expected in porcupine(args.porcupine):
        rows.append(("Porcupine", name, expected, *answer(path, "porcupine")))
    lines = [
        "| file | origin | expected | lbdemo | decided by | wall s | CPU s |",
        "|---|---|---|---|---|---|---|",
    ]
    tally: Counter[str] = Counter()
    for origin, name, expected, got, how, seconds, cpu in rows:
        if got.startswith("refused") or got.startswith("("):
            tally["refused" if got.startswith("refused") else "missing"] += 1
        elif got == "unknown":
            tally["unknown"] += 1
        else:
            tally["agrees" if got == expected else "DIFFERS"] += 1
        lines.append(
            f"| `{name}` | {origin} | {expected} | {got} | {how} | {seconds:.2f} | {cpu:.2f} |"
        )
    decided = Counter(row[4] for row in rows if row[4])
    summary = (
        f"{len(rows)} files: lbdemo agrees on {tally['agrees']}, differs on {tally['DIFFERS']}, "
        f"unknown (search budget exceeded) on {tally['unknown']}, refuses {tally['refused']}; "
        f"{tally['missing']} not in the checkout. Decided by the zone check: "
        f"{decided['zone check']}, by the general search: {decided['general search']}; "
        f"slowest file {max(r[-2] for r in rows):.2f} s wall, "
        f"{max(r[-1] for r in rows):.2f} s CPU; "
        f"all files {sum(r[-1] for r in rows):.1f} s CPU"
    )
    text = "\n".join(lines) + "\n"
    print(summary)
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 1 if tally["DIFFERS"] or tally["unknown"] or tally["refused"] else 0


if __name__ == "__main__":
    sys.exit(main())
