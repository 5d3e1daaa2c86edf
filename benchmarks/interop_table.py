"""lbdemo's answer on every history Knossos and Porcupine publish with a verdict: the table of
``results/interop.md``.

    .venv/bin/python benchmarks/interop_table.py --knossos KNOSSOS_CHECKOUT \\
        --porcupine PORCUPINE_CHECKOUT [--out results/interop.md]

Knossos's verdicts are its folders (``data/cas-register/good/`` and ``bad/``, likewise
``multi-register`` and ``mutex``); Porcupine's are the tests of ``porcupine_test.go``
(``checkJepsen(t, N, true|false)`` for ``test_data/jepsen/etcd_NNN.log``, ``checkKv(t, "NAME",
true|false, true)`` for ``test_data/kv/NAME.txt``). Each file goes through
``lbdemo.interop.formats.load`` and ``lbdemo.checker.check``: lbdemo's verdict, or the one line
with which it refuses a history its model cannot check soundly. Prints the table (and writes it
with ``--out``); exits 1 if lbdemo gives a verdict that differs from the published one.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

from lbdemo.checker import check
from lbdemo.errors import UsageError
from lbdemo.interop.formats import load


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


def answer(path: str, source: str) -> str:
    if not Path(path).is_file() or Path(path).stat().st_size == 0:
        return "(file not in the checkout)"
    try:
        return str(check(load([path], source), None).verdict)
    except UsageError as exc:
        reason = str(exc).split(": ", 2)[-1] if ": operation" in str(exc) else str(exc)
        return "refused: " + re.sub(r" \(first: .*\)$", "", reason.split(";")[0])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--knossos", type=Path, required=True, help="a Knossos checkout")
    parser.add_argument("--porcupine", type=Path, required=True, help="a Porcupine checkout")
    parser.add_argument("--out", help="write the table here too")
    args = parser.parse_args()
    rows = [("Knossos", *row, answer(row[0], "jepsen")) for row in knossos(args.knossos)]
    rows += [("Porcupine", *row, answer(row[0], "porcupine")) for row in porcupine(args.porcupine)]
    lines = ["| file | origin | expected | lbdemo |", "|---|---|---|---|"]
    tally: Counter[str] = Counter()
    for origin, _, name, expected, got in rows:
        if got.startswith("refused") or got.startswith("("):
            tally["refused" if got.startswith("refused") else "missing"] += 1
        else:
            tally["agrees" if got == expected else "DIFFERS"] += 1
        lines.append(f"| `{name}` | {origin} | {expected} | {got} |")
    summary = (
        f"{len(rows)} files: lbdemo agrees on {tally['agrees']}, differs on {tally['DIFFERS']}, "
        f"refuses {tally['refused']} (its model cannot check them soundly); "
        f"{tally['missing']} not in the checkout"
    )
    text = "\n".join(lines) + "\n"
    print(summary)
    print(text)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    return 1 if tally["DIFFERS"] else 0


if __name__ == "__main__":
    sys.exit(main())
