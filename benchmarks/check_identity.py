"""Does this tree's checker say what the old one said? Digests of both reports, history by history.

    .venv/bin/python benchmarks/check_identity.py [--ops 1000000 10000000] [--stale-ops 1000000]
        [--against REF] [--dir DIR] [--write FILE]

For every committed history (``results/**/*history*.jsonl``, with its audit when one lies
beside it) and for generated ones (the
shapes of benchmarks/check_blocks.py: ``consistent`` of each ``--ops`` size, ``stale``, with
private stores and so hundreds of thousands of anomalies, of each ``--stale-ops`` size), runs
``lbdemo check --history H --json R.json --markdown R.md`` with this tree's checker and with
the one of commit ``--against`` (as benchmarks/check_scale.py does), and prints the SHA-256 of
each report: the JSON without its ``run`` object (the command, the commit, the load average)
and the Markdown without its "Run" section. Exit status 1 if any pair differs.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import check_blocks
from check_scale import BEFORE, ROOT, old_tree, write_section

BEGIN = (
    "<!-- checker identity: written by benchmarks/check_identity.py; run it again to replace -->"
)
END = "<!-- checker identity: end -->"
_RUN_SECTION = re.compile(r"^## Run\n.*?(?=^## )", re.MULTILINE | re.DOTALL)


def digests(tree: Path, history: Path, out: Path) -> tuple[str, str, int]:
    """The digests of the JSON and Markdown reports of ``history`` by ``tree``'s checker (with
    the final audit beside it, ``NAME-audit.json`` for ``NAME-history.jsonl``, when there is
    one)."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "report.json", out / "report.md"
    argv = [sys.executable, "-m", "lbdemo", "check", "--history", str(history)]
    audit = history.with_name(history.name.replace("-history.jsonl", "-audit.json"))
    if audit != history and audit.exists():
        argv += ["--audit", str(audit)]
    argv += ["--json", str(json_path), "--markdown", str(md_path)]
    code = subprocess.run(argv, cwd=tree, stdout=subprocess.DEVNULL).returncode
    report = json.loads(json_path.read_text())
    report.pop("run")
    canonical = json.dumps(report, sort_keys=True).encode()
    markdown = _RUN_SECTION.sub("", md_path.read_text()).encode()
    return hashlib.sha256(canonical).hexdigest(), hashlib.sha256(markdown).hexdigest(), code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--stale-ops", type=int, nargs="*", default=[1_000_000])
    parser.add_argument("--against", default=BEFORE)
    parser.add_argument("--dir", type=Path, help="write (and keep) the generated histories here")
    parser.add_argument(
        "--write", type=Path, help="put the output into this Markdown file (results/scale.md)"
    )
    args = parser.parse_args(argv)
    lines = [
        "### The same reports as the checker before",
        "",
        f"`python benchmarks/check_identity.py {' '.join(argv or sys.argv[1:])}`".replace(
            " `", "`"
        ),
        "",
        f"old: commit {args.against[:12]}; new: this tree. SHA-256 of the JSON report (less "
        '`run`) and of the Markdown (less "Run"), first 16 hex digits.',
        "",
        "| history | exit old/new | JSON old | JSON new | Markdown old | Markdown new | same |",
        "|---|---|---|---|---|---|---|",
    ]
    for line in lines:
        print(line, flush=True)
    differ = False
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lbdemo-identity-")))
        workdir = args.dir or tmp
        workdir.mkdir(parents=True, exist_ok=True)
        old = stack.enter_context(old_tree(args.against))
        histories = sorted(ROOT.glob("results/**/*history*.jsonl"))
        for label, sizes, replicas in (("consistent", args.ops, 1), ("stale", args.stale_ops, 3)):
            for n in sizes:
                path = workdir / f"{label}-{n}.jsonl"
                if not path.exists():
                    check_blocks.write_in_child(path, n, replicas=replicas)
                histories.append(path)
        for i, history in enumerate(histories):
            j_old, m_old, c_old = digests(old, history, tmp / f"old-{i}")
            j_new, m_new, c_new = digests(ROOT, history, tmp / f"new-{i}")
            same = (j_old, m_old, c_old) == (j_new, m_new, c_new)
            differ |= not same
            name = history.relative_to(ROOT) if history.is_relative_to(ROOT) else history.name
            line = (
                f"| {name} | {c_old}/{c_new} | {j_old[:16]} | {j_new[:16]} | {m_old[:16]} | "
                f"{m_new[:16]} | {'yes' if same else '**NO**'} |"
            )
            print(line, flush=True)
            lines.append(line)
    if args.write:
        write_section(args.write, lines, BEGIN, END)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
