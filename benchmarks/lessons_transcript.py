"""Run every lesson of the seed notes for real and write the transcript to results/lessons.md.

    .venv/bin/python benchmarks/lessons_transcript.py [--out results/lessons.md]

Sections are written in the order their commands ran. Each ``$`` line is a real command (an
``lbdemo`` process, or ``cat``/``ls``/``tail`` on the host) and each ``>`` line a real HTTP
request to 127.0.0.1, with the status, the headers that matter and the body; all on a fresh
state root in a temporary directory. What each printed is written down unchanged (long
outputs keep their first lines). Two stacks run, one after the other: private storage
(lessons 1, 2, 3, 4), then shared storage (lessons 5 to 8 and the notes' mistake). Exits 1 if
a lesson did not show what it should, 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from lbdemo.demo.pets import PRODUCT, Lesson, LessonFailed, pets_script
from lbdemo.runtime.client import DaemonClient

TITLES = {
    "1": "1. A container is stateless: what it writes lives in its container layer",
    "2": "2. Pets and cattle",
    "3": "3. Several replicas behind a load balancer",
    "4": "4. The data inconsistency problem",
    "5": "5. Mounts",
    "6": "6. Volumes",
    "7": "7. Bind mounts",
    "8": "8. Volume commands",
    "mistake": "What the notes get wrong: several PostgreSQL servers on one data directory",
}


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _wait_replaced(lesson: Lesson, name: str, old_id: str, timeout_s: float = 60.0) -> None:
    """Until the supervisor reports the replacement (or that it could not make one)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        events = DaemonClient.connect(lesson.state_root).request("GET", "/_ping")["events"]
        for event in events:
            if event.get("event") == "replace" and str(event.get("old_id")).startswith(old_id):
                return
            if event.get("event") == "warning" and name in str(event.get("message")):
                lesson.note(f"The supervisor reported: {event['message']}")
                return
        time.sleep(0.2)
    raise LessonFailed(f"{name} was not replaced within {timeout_s:.0f} s")


def _wait_ok(url: str, timeout_s: float = 15.0) -> None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with opener.open(url, timeout=5.0) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)


def private_stack(lessons: dict[str, Lesson]) -> None:
    """Lessons 1 to 4, in the order they run: each section's commands follow the last one's."""
    one, two, three, four = lessons["1"], lessons["2"], lessons["3"], lessons["4"]
    one.note("Start three replicas, each with its own PostgreSQL in its container layer.")
    one.lbdemo("up", "-d", "--storage", "private", "--replicas", "3", "--port", "0")
    try:
        balancer = one.balancer_url()
        one.request("PUT", f"{balancer}/products/{PRODUCT}", {"price": 1200, "write_id": "w1"})
        one.note("The replica's data directory is a path in its container layer:")
        one.lbdemo("inspect", "-f", "{{.GraphDriver.Data.UpperDir}}", "lbdemo-r1")
        diff = one.lbdemo("diff", "lbdemo-r1")
        one.expect("A /var/lib/postgresql/data/PG_VERSION" in diff.output,
                   "the database files are additions to the layer")  # fmt: skip
        one.note("Upgrade by replacing: new containers from lbdemo/catalog:1.1, the old ones "
                 "removed with their layers.")  # fmt: skip
        one.lbdemo("upgrade", "--image", "lbdemo/catalog:1.1")
        gone = one.lbdemo("get", PRODUCT, "--each-replica")
        one.expect("1200" not in gone.output, "product A went with the old layers")
        status, _, body = one.request("PUT", f"{balancer}/products/{PRODUCT}",
                                      {"price": 1300, "write_id": "w2"})  # fmt: skip
        one.expect(status == 200 and '"currency": "KRW"' in body,
                   "1.1's answers carry its image's currency")  # fmt: skip

        two.note("Cattle: kill a replica; the supervisor replaces it with a fresh container. "
                 "The pet, patched by hand, is in lesson 7.")  # fmt: skip
        before = two.lbdemo("ps", "--format", "{{.ID}} {{.Names}} {{.Status}}")
        victim = before.output.splitlines()[0].split()
        two.lbdemo("kill", victim[1])
        _wait_replaced(two, victim[1], victim[0])
        after = two.lbdemo("ps", "--format", "{{.ID}} {{.Names}} {{.Status}}")
        two.expect(victim[1] in after.output and victim[0] not in after.output,
                   "the same name runs with a new id")  # fmt: skip

        three.lbdemo("ps", "--format", r"table {{.ID}}\t{{.Names}}\t{{.Image}}\t{{.Status}}")
        three.note("Six requests through the balancer, one after the other: round robin per "
                   "request.")  # fmt: skip
        served = [three.request("GET", f"{balancer}/healthz")[1].get("X-Replica")
                  for _ in range(6)]  # fmt: skip
        three.expect(len(set(served)) == 3 and served[:3] == served[3:],
                     "six requests go r1 r2 r3 r1 r2 r3")  # fmt: skip

        four.note("Write the price of product A once more, through the balancer; then ask "
                  "every replica directly.")  # fmt: skip
        four.request("PUT", f"{balancer}/products/{PRODUCT}", {"price": 1400, "write_id": "w3"})
        disagree = four.lbdemo("get", PRODUCT, "--each-replica")
        four.expect("disagree" in disagree.output, "the replicas disagree on product A")
        four.note("The same load under private and shared storage, measured: `make demo`, in "
                  "[compare.md](compare.md).")  # fmt: skip
    finally:
        four.lbdemo("down", check=False)


def shared_stack(lessons: dict[str, Lesson]) -> None:
    """Lessons 5 to 8 and the notes' mistake, in the order they run."""
    five, six, seven, eight = lessons["5"], lessons["6"], lessons["7"], lessons["8"]
    mistake = lessons["mistake"]
    five.note("Start two replicas that share one PostgreSQL whose data is a named volume.")
    five.lbdemo("up", "-d", "--replicas", "2", "--port", "0")
    try:
        balancer = five.balancer_url()
        five.note("One container, two volumes: its config (filled from the image, as Docker "
                  "fills an empty volume) and its data.")  # fmt: skip
        five.lbdemo("run", "-d", "--name", "web", "-v", "cfg:/etc/catalog", "-v", "data:/data",
                    "lbdemo/catalog:1.0")  # fmt: skip
        five.lbdemo("inspect", "-f", "{{json .Mounts}}", "web")
        five.host_file("notes.txt", "written from the host\n", "A file to copy in")
        five.lbdemo("cp", "notes.txt", "web:/data/")
        diff = five.lbdemo("diff", "web")
        five.expect("/data" not in diff.output, "what goes to a mount is not in the layer")
        mountpoint = five.lbdemo("volume", "inspect", "-f", "{{.Mountpoint}}", "data")
        five.host("ls", mountpoint.output.strip())
        cfg = five.lbdemo("volume", "inspect", "-f", "{{.Mountpoint}}", "cfg")
        five.host("ls", cfg.output.strip())

        six.lbdemo("inspect", "-f", "{{range .Mounts}}{{.Type}} {{.Name}} -> {{.Destination}}"
                   "{{end}}", "lbdemo-db")  # fmt: skip
        six.lbdemo("volume", "ls")
        six.lbdemo("volume", "inspect", "-f", "{{.Mountpoint}}", "lbdemo-pgdata")
        six.request("PUT", f"{balancer}/products/{PRODUCT}", {"price": 1200, "write_id": "v1"})
        six.note("Replace the database server's process; the data is on the volume.")
        six.lbdemo("restart", "lbdemo-db")
        _wait_ok(f"{balancer}/products/{PRODUCT}")  # the replicas' pools reconnect
        kept = six.lbdemo("get", PRODUCT, "--each-replica")
        six.expect("1200" in kept.output and "agree" in kept.output,
                   "the row is still there after the restart")  # fmt: skip

        seven.note(
            "The pets lesson: a patch in the layer, then the same change in a "
            "bind-mounted config (`lbdemo demo --scenario pets` runs this part alone)."
        )
        pets_script(seven)
        seven.note("Windows paths, and a one-letter name, are refused with Docker's reasons.")
        seven.lbdemo("run", "-d", "-v", "C:\\data:/x", "lbdemo/catalog:1.0", check=False)
        seven.lbdemo("run", "-d", "-v", "a:/x", "lbdemo/catalog:1.0", check=False)

        eight.lbdemo("volume", "create", "scratch")
        eight.lbdemo("volume", "ls", "--format", r"table {{.Name}}\t{{.Driver}}")
        eight.lbdemo("volume", "rm", "lbdemo-pgdata", check=False)
        eight.lbdemo("volume", "rm", "data", check=False)
        eight.lbdemo("rm", "-f", "web")
        eight.lbdemo("volume", "rm", "data", "scratch")
        eight.lbdemo("volume", "prune", "-f")

        mistake.note("A second PostgreSQL server on the volume the running one holds:")
        refused = mistake.lbdemo("run", "-d", "--name", "second", "-v",
                                 "lbdemo-pgdata:/var/lib/postgresql/data", "lbdemo/postgres:16",
                                 check=False)  # fmt: skip
        mistake.expect(refused.status != 0 and "postmaster.pid" in refused.output,
                       "PostgreSQL refuses a second server on one data directory")  # fmt: skip
        still = mistake.lbdemo("get", PRODUCT)
        mistake.expect(still.status == 0, "the running store is untouched")
    finally:
        mistake.lbdemo("down", check=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/lessons_transcript.py")
    parser.add_argument("--out", type=Path, default=Path("results/lessons.md"))
    args = parser.parse_args(argv)
    if not args.out.parent.is_dir():
        print(f"lessons_transcript: {args.out.parent} is not a directory", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="lbdemo-lessons-") as tmp:
        problems: list[str] = []
        for storage, run in (("private", private_stack), ("shared", shared_stack)):
            root, work = Path(tmp) / storage / "state", Path(tmp) / storage / "work"
            work.mkdir(parents=True)
            lessons = {key: Lesson(root, work, say) for key in TITLES}
            try:
                run(lessons)
            except (LessonFailed, OSError, ValueError, KeyError) as exc:
                problems.append(f"{storage} stack stopped: {exc}")
            if storage == "private":
                done = lessons
            else:
                done = {k: v if v.outcome.steps else done[k] for k, v in lessons.items()}
            problems += [p for lesson in lessons.values() for p in lesson.outcome.problems]
        text = ["# The seed's lessons, run for real", "",
                "Written by `.venv/bin/python benchmarks/lessons_transcript.py` on "
                f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: every command below ran "
                "as shown and printed what is shown (long outputs cut to their first lines; "
                "`>` lines are HTTP requests the script made, with their answers). "
                "What each lesson means: [docs/lessons.md](../docs/lessons.md).", ""]  # fmt: skip
        for key, title in TITLES.items():
            text += [f"## {title}", "", done[key].outcome.markdown()]
        args.out.write_text("\n".join(text))
    print(f"wrote {args.out}")
    for problem in problems:
        print(f"lessons_transcript: not shown: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
