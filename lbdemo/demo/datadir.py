"""The ``shared-datadir`` layout: the seed's drawing taken literally, and PostgreSQL's refusal.

Every replica container runs its own PostgreSQL with the one named volume as its data directory.
The first server starts; the second is refused by PostgreSQL itself (``postmaster.pid`` is held
by a live server), the stack stops what it had started, and this run's report says so: the
refusal in PostgreSQL's words, why, the working pattern, and that no process was left behind
(checked in ``/proc``, not assumed). No load runs: there is no stack to load.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lbdemo.demo.pipeline import Progress, RunSpec
from lbdemo.errors import StateError
from lbdemo.files import write_json, write_text
from lbdemo.report.provenance import run_provenance
from lbdemo.runtime.stack import Stack
from lbdemo.store.version import embedded_postgres_version

REFUSED = "refused"
WHY = (
    "PostgreSQL keeps its shared buffers, locks and write-ahead log position in one server's "
    "memory; a second server on the same files would overwrite the first one's pages and WAL, "
    "so the postmaster takes postmaster.pid as a lock and refuses to start beside a live one."
)
PATTERN = (
    "The working pattern is the shared layout: stateless replicas that share one database "
    "server, whose data lives on a volume (or, to scale reads, the replicated layouts: one "
    "primary and a streaming standby per replica)."
)


def processes_using(path: Path) -> list[int]:
    """Pids of live processes whose command line names ``path`` (a data directory)."""
    needle = str(path).encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if needle in cmdline:
            pids.append(int(entry.name))
    return sorted(pids)


async def run_refusal(spec: RunSpec, progress: Progress) -> dict[str, Any]:
    """Try to start the stack; the report of what PostgreSQL said (written as ``<label>.json``
    and ``.md`` in the run's directory)."""
    layout = spec.stack.layout
    data_dir = spec.stack.volume_data_dir()
    assert data_dir is not None
    progress(f"starting {spec.stack.replicas} replicas with {layout.summary} ...")
    stack = Stack(spec.stack)
    reason: str | None = None
    try:
        await stack.start()
    except StateError as exc:
        reason = str(exc)
        progress(f"refused, as PostgreSQL refuses it: {reason}")
    else:
        progress("the stack started: PostgreSQL did not refuse (it should have)")
    finally:
        await stack.stop()
    left = processes_using(data_dir)
    report: dict[str, Any] = {
        "run": {
            "label": spec.label,
            "scenario": spec.scenario,
            "layout": layout.describe(),
            "settings": {"replicas": spec.stack.replicas},
            **run_provenance(spec.argv, postgresql=embedded_postgres_version()),
        },
        "verdict": REFUSED if reason is not None else "started",
        "refusal": {
            "refused": reason is not None,
            "reason": reason,
            "data_directory": str(data_dir),
            "why": WHY,
            "pattern": PATTERN,
            "left_running": left,
        },
    }
    out = spec.out_dir
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / f"{spec.label}.json", report)
    write_text(out / f"{spec.label}.md", render_refusal(report))
    return report


def render_refusal(report: dict[str, Any]) -> str:
    refusal = report["refusal"]
    label = report["run"]["label"]
    if refusal["refused"]:
        said = (
            "The second server was refused. PostgreSQL's reason, as lbdemo reported it:"
            f"\n\n> {refusal['reason']}\n"
        )
    else:
        said = "The stack started: PostgreSQL did not refuse the second server (it should).\n"
    left = refusal["left_running"]
    after = (
        "Nothing was left running: no process names the data directory."
        if not left
        else f"Processes left running on the data directory: {left}."
    )
    return (
        f"# {label}: {report['run']['layout']['summary']}\n\n{said}\n{WHY}\n\n{PATTERN}\n\n"
        f"{after}\n"
    )
