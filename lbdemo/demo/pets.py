"""The pets-vs-cattle lesson, scripted: a patch made inside a container dies with it; the same
change made in a bind-mounted configuration survives the container's replacement.

Every step is a real ``lbdemo`` command run as its own process (as a learner would type it,
in a work directory, on the state root of the lesson) or a real HTTP request to a replica;
the transcript records what each printed. Steps:

1. ``lbdemo up -d`` (two replicas, shared storage) and one product written;
2. *the pet*: copy ``/etc/catalog/catalog.conf`` out of ``lbdemo-r1``, edit it, copy it back
   (``lbdemo cp``), reload (``lbdemo kill -s HUP``): r1 answers in EUR with a banner, r2 does
   not; ``lbdemo diff`` lists the patched file; ``lbdemo logs`` shows the reload;
3. *replace it* (``lbdemo rm -f`` + ``lbdemo run`` from the same image): the patch is gone;
4. *cattle with their config outside*: ``lbdemo run -v ./config:/etc/catalog:ro
   -v ./logs:/var/log/catalog``; edit the host file, reload, the answers change; ``diff`` is
   empty; replace the container: the change is still there, and the log is a host file.

:func:`run_pets_lesson` returns the transcript and the checks that failed (none when the
lesson showed what it should); it always takes the stack down again.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lbdemo.replica.catalog_config import BANNER_HEADER
from lbdemo.runtime.client import DaemonClient

COMMAND_TIMEOUT_S = 120.0
RELOAD_WAIT_S = 5.0
PATCH = "currency = EUR\nbanner = patched by hand in lbdemo-r1\n"
HOST_CONFIG = "currency = EUR\nbanner = from the host's ./config\n"
HOST_CONFIG_EDITED = "currency = EUR\nbanner = edited on the host, v2\n"
PRODUCT = "apple"
# Only the host's HTTP answers to 127.0.0.1 replicas are read: never route through a proxy.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

Progress = Callable[[str], None]
# How a command line is run: (argv after "lbdemo", state root, working directory) -> (exit
# status, what it printed on stdout then stderr).
CommandRunner = Callable[[Sequence[str], Path, Path], tuple[int, str]]


def run_as_process(argv: Sequence[str], state_root: Path, cwd: Path) -> tuple[int, str]:
    """``lbdemo ARGV`` as its own process, as a learner runs it."""
    env = {**os.environ, "LBDEMO_STATE": str(state_root)}
    done = subprocess.run(
        [sys.executable, "-m", "lbdemo", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT_S,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


@dataclass
class Step:
    shown: str  # what the transcript shows as the command
    output: str
    status: int = 0
    seconds: float = 0.0
    prompt: str = "$ "  # "> " for an HTTP request the lesson made itself (not a shell command)


@dataclass
class PetsOutcome:
    steps: list[Step] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        blocks = []
        for step in self.steps:
            if step.shown.startswith("#"):
                blocks.append(f"\n{step.shown.lstrip('# ')}\n")
                continue
            text = f"{step.prompt}{step.shown}\n{_shorten(step.output)}".rstrip("\n")
            if step.status:
                text += f"\n[exit status {step.status}]"
            blocks.append(f"```\n{text}\n```")
        return "\n".join(blocks) + "\n"


MAX_LINES = 14


def _shorten(output: str) -> str:
    """Long outputs (a private layer's PostgreSQL files in ``diff``) keep their first lines."""
    lines = output.splitlines()
    if len(lines) <= MAX_LINES:
        return output
    kept = "\n".join(lines[: MAX_LINES - 2])
    return f"{kept}\n... ({len(lines) - MAX_LINES + 2} more lines)\n"


class Lesson:
    """Runs commands in ``work_dir`` on ``state_root`` and writes down what they print."""

    def __init__(
        self,
        state_root: Path,
        work_dir: Path,
        say: Progress,
        run_command: CommandRunner = run_as_process,
    ) -> None:
        self.state_root = state_root
        self.work_dir = work_dir
        self.say = say
        self.run_command = run_command
        self.outcome = PetsOutcome()

    def note(self, text: str) -> None:
        text = text.lstrip("# ")
        self.outcome.steps.append(Step("# " + text, ""))
        self.say(text)

    def lbdemo(self, *args: str, check: bool = True) -> Step:
        began = time.monotonic()
        status, output = self.run_command(args, self.state_root, self.work_dir)
        step = Step("lbdemo " + shlex.join(args), output, status, time.monotonic() - began)
        self.outcome.steps.append(step)
        if check and status != 0:
            raise LessonFailed(f"`{step.shown}` exited {status}: {output.strip()}")
        return step

    def host(self, *argv: str) -> Step:
        """A plain host command (``ls``, ``cat``) in the work directory, recorded as it ran."""
        done = subprocess.run(
            argv,
            cwd=self.work_dir,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
            check=False,
        )
        step = Step(shlex.join(argv), done.stdout + done.stderr, done.returncode)
        self.outcome.steps.append(step)
        return step

    def host_file(self, relative: str, text: str, why: str) -> None:
        path = self.work_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.note(f"{why}:")
        self.host("cat", relative)

    def expect(self, ok: bool, what: str) -> None:
        if not ok:
            self.outcome.problems.append(what)
            self.say(f"NOT SHOWN: {what}")

    def urls(self) -> dict[str, str]:
        running = DaemonClient.connect(self.state_root).request("GET", "/containers")
        return {p["name"]: p["url"] for p in running if p.get("url")}

    def ask(self, name: str) -> dict[str, Any]:
        """GET the product from container ``name`` directly; record what matters of it."""
        url = f"{self.urls()[name]}/products/{PRODUCT}"
        with _OPENER.open(url, timeout=5.0) as response:
            body = json.loads(response.read())
            banner = response.headers.get(BANNER_HEADER)
        answer = {
            "replica": body.get("replica"),
            "price": body.get("price"),
            "currency": body.get("currency"),
            "banner": banner,
        }
        self.outcome.steps.append(
            Step(
                f"GET {url}   (asked {name} directly)",
                f"{BANNER_HEADER}: {banner or '(none)'}\n{json.dumps(body)}\n",
                prompt="> ",
            )
        )
        return answer

    def ask_until(self, name: str, banner: str | None) -> dict[str, Any]:
        """A reload is asynchronous (a signal): ask until the banner is the expected one."""
        deadline = time.monotonic() + RELOAD_WAIT_S
        while True:
            answer = self._peek(name)
            if answer == banner or time.monotonic() > deadline:
                return self.ask(name)
            time.sleep(0.1)

    def _peek(self, name: str) -> str | None:
        with _OPENER.open(f"{self.urls()[name]}/products/{PRODUCT}", timeout=5.0) as r:
            return r.headers.get(BANNER_HEADER)

    def put(self, price: int) -> None:
        running = DaemonClient.connect(self.state_root).request("GET", "/containers")
        url = next(p["url"] for p in running if p.get("url"))
        self.request(
            "PUT",
            f"{url}/products/{PRODUCT}",
            {"price": price, "write_id": f"pets-{time.time_ns()}"},
        )

    def balancer_url(self) -> str:
        stack = json.loads((self.state_root / "run" / "stack.json").read_text())
        return str(stack["balancer"]["url"])

    def request(
        self, method: str, url: str, body: dict[str, Any] | None = None, note: str = ""
    ) -> tuple[int, dict[str, str], str]:
        """One HTTP request to 127.0.0.1, recorded as ``> METHOD URL [BODY]`` with the status,
        the headers that tell the lesson (X-Replica, the banner) and the body."""
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        try:
            with _OPENER.open(request, timeout=5.0) as response:
                status, headers, text = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, headers, text = exc.code, exc.headers, exc.read()
        shown = {k: headers[k] for k in ("X-Replica", BANNER_HEADER) if headers.get(k)}
        sent = f" {data.decode()}" if data is not None else ""
        comment = f"   ({note})" if note else ""
        lines = [f"HTTP {status}", *(f"{k}: {v}" for k, v in shown.items()), text.decode()]
        self.outcome.steps.append(
            Step(f"{method} {url}{sent}{comment}", "\n".join(lines) + "\n", prompt="> ")
        )
        return status, shown, text.decode()


def expect_only_the_pet_patched(
    expect: Callable[[bool, str], None], patched: dict[str, Any], other: dict[str, Any]
) -> None:
    """What the patch shows, on either runtime: the patched replica answers with it (PATCH's
    currency and banner), the other one as its image says."""
    expect(
        patched["currency"] == "EUR" and patched["banner"] is not None,
        "the patched replica answers with the patch",
    )
    expect(
        other["currency"] is None and other["banner"] is None,
        "the other replica, unpatched, answers as its image says",
    )


class LessonFailed(Exception):
    """A command of the lesson failed: the lesson cannot go on."""


def run_pets_lesson(state_root: Path, work_dir: Path, say: Progress) -> PetsOutcome:
    """The whole lesson on ``state_root`` (no stack may run there), files in ``work_dir``."""
    work_dir.mkdir(parents=True, exist_ok=True)
    lesson = Lesson(state_root, work_dir, say)
    lesson.note("# Start two replicas on one shared database and write a product.")
    lesson.lbdemo("up", "-d", "--replicas", "2", "--port", "0")
    try:
        pets_script(lesson)
    except (LessonFailed, OSError, ValueError, KeyError, StopIteration) as exc:
        lesson.outcome.problems.append(f"the lesson stopped: {exc}")
        say(f"the lesson stopped: {exc}")
    finally:
        lesson.lbdemo("down", check=False)
    return lesson.outcome


def pets_script(lesson: Lesson) -> None:
    """The lesson's steps, on a running stack with replicas lbdemo-r1 and lbdemo-r2."""
    lesson.put(1200)
    lesson.lbdemo("ps", "--format", r"table {{.Names}}\t{{.Image}}\t{{.Status}}")

    lesson.note("# A pet: patch lbdemo-r1 in place, by hand.")
    lesson.lbdemo("cp", "lbdemo-r1:/etc/catalog/catalog.conf", "./catalog.conf")
    lesson.host_file("catalog.conf", PATCH, "Edit the copy by hand")
    lesson.lbdemo("cp", "./catalog.conf", "lbdemo-r1:/etc/catalog/catalog.conf")
    lesson.lbdemo("kill", "-s", "HUP", "lbdemo-r1")
    patched = lesson.ask_until("lbdemo-r1", "patched by hand in lbdemo-r1")
    other = lesson.ask("lbdemo-r2")
    expect_only_the_pet_patched(lesson.expect, patched, other)
    diff = lesson.lbdemo("diff", "lbdemo-r1")
    lesson.expect(
        "C /etc/catalog/catalog.conf" in diff.output.splitlines(),
        "docker diff lists the patched file as C",
    )
    logs = lesson.lbdemo("logs", "--tail", "1", "lbdemo-r1")
    lesson.expect("reloaded" in logs.output, "lbdemo logs shows the reload")

    lesson.note("# Replace the pet with a fresh container from the same image: the patch is gone.")
    lesson.lbdemo("rm", "-f", "lbdemo-r1")
    lesson.lbdemo("run", "-d", "--name", "lbdemo-r1", "lbdemo/catalog:1.0")
    fresh = lesson.ask("lbdemo-r1")
    lesson.expect(
        fresh["currency"] is None and fresh["banner"] is None,
        "the replacement answers without the patch",
    )
    diff = lesson.lbdemo("diff", "lbdemo-r1")
    lesson.expect(
        "C /etc/catalog/catalog.conf" not in diff.output.splitlines(),
        "the replacement's diff no longer lists the config",
    )

    lesson.note("# Cattle: the same change in a bind-mounted config on the host.")
    lesson.host_file("config/catalog.conf", HOST_CONFIG, "A config directory on the host")
    mounts = ("-v", "./config:/etc/catalog:ro", "-v", "./logs:/var/log/catalog")
    lesson.lbdemo("run", "-d", "--name", "cattle", *mounts, "lbdemo/catalog:1.0")
    first = lesson.ask("cattle")
    lesson.expect(
        first["banner"] == "from the host's ./config",
        "a bind-mounted config is what the replica reads",
    )
    lesson.host_file("config/catalog.conf", HOST_CONFIG_EDITED, "Edit it on the host")
    lesson.lbdemo("kill", "-s", "HUP", "cattle")
    edited = lesson.ask_until("cattle", "edited on the host, v2")
    lesson.expect(
        edited["banner"] == "edited on the host, v2",
        "editing the host file and reloading changes the answers",
    )
    diff = lesson.lbdemo("diff", "cattle")
    lesson.expect(
        not any("/etc/catalog" in line for line in diff.output.splitlines()),
        "nothing of the config is in the layer",
    )
    lesson.lbdemo(
        "inspect",
        "-f",
        r"{{range .Mounts}}{{.Type}} {{.Source}} -> "
        r"{{.Destination}} rw={{.RW}}\n{{end}}",
        "cattle",
    )

    lesson.note("# Replace it the same way: the change survives, and its log is a host file.")
    lesson.lbdemo("rm", "-f", "cattle")
    lesson.lbdemo("run", "-d", "--name", "cattle", *mounts, "lbdemo/catalog:1.0")
    survived = lesson.ask("cattle")
    lesson.expect(
        survived["banner"] == "edited on the host, v2" and survived["currency"] == "EUR",
        "the bind-mounted change survives the replacement",
    )
    log_file = lesson.work_dir / "logs" / "catalog.log"
    lines = log_file.read_text().splitlines() if log_file.exists() else []
    lesson.host("tail", "-n", "4", "logs/catalog.log")
    lesson.expect(
        sum("listening" in line for line in lines) == 2,
        "both containers logged to the same host file",
    )
