"""The pets lesson on any running stack, through :class:`~lbdemo.deploy.live.LiveStack`: what
``lbdemo demo --runtime docker --scenario pets`` runs on the real engine.

The local runtime's lesson (:mod:`lbdemo.demo.pets`) types each ``lbdemo`` command as a learner
would; on the Docker Engine the same moves are the engine's own, made through the stack: the
patch copied into ``<project>-r1``'s layer (``docker cp``, the Engine API's ``put_archive``), a
reload (``docker kill -s HUP``), the replica replaced (``docker kill``: the stack's ``replace``
policy puts a new container from the same image in its place), then a replica run with its
config bind-mounted from the host (``docker run -v HOST:/etc/catalog:ro``), edited on the host,
reloaded and replaced the same way. The verdicts are the local lesson's: the patch dies with
its container; the bind-mounted change survives the replacement.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp

from lbdemo.demo.pets import (
    HOST_CONFIG,
    HOST_CONFIG_EDITED,
    PATCH,
    PRODUCT,
    RELOAD_WAIT_S,
    PetsOutcome,
    Progress,
    Step,
    expect_only_the_pet_patched,
)
from lbdemo.deploy.live import LiveStack
from lbdemo.replica.catalog_config import BANNER_HEADER

CONFIG_FILE = "/etc/catalog/catalog.conf"
REPLACE_WAIT_S = 60.0  # a new container, healthy, back in the rotation


class LiveLesson:
    """The lesson's moves on ``stack``, each written down as the ``docker`` command it is."""

    def __init__(self, stack: LiveStack, work_dir: Path, say: Progress) -> None:
        self.stack = stack
        self.work_dir = work_dir
        self.say = say
        self.outcome = PetsOutcome()

    def note(self, text: str) -> None:
        self.outcome.steps.append(Step("# " + text, ""))
        self.say(text)

    def did(self, command: str, output: str = "") -> None:
        self.outcome.steps.append(Step(command, output))

    def expect(self, ok: bool, what: str) -> None:
        if not ok:
            self.outcome.problems.append(what)
            self.say(f"NOT SHOWN: {what}")

    def url_of(self, name: str) -> str:
        return next(r.url for r in self.stack.replicas if r.name == name)

    async def ask(self, name: str) -> dict[str, Any]:
        """GET the product from replica ``name`` directly; recorded as asked."""
        url = f"{self.url_of(name)}/products/{PRODUCT}"
        async with aiohttp.ClientSession() as http, http.get(url) as response:
            body = await response.json(content_type=None)
            banner = response.headers.get(BANNER_HEADER)
        self.outcome.steps.append(
            Step(
                f"GET {url}   (asked {name} directly)",
                f"{BANNER_HEADER}: {banner or '(none)'}\n{json.dumps(body)}\n",
                prompt="> ",
            )
        )
        return {"currency": body.get("currency"), "banner": banner}

    async def ask_until(self, name: str, banner: str) -> dict[str, Any]:
        """A reload is asynchronous (a signal): ask until the banner is the expected one."""
        deadline = time.monotonic() + RELOAD_WAIT_S
        while True:
            answer = await self.ask(name)
            if answer["banner"] == banner or time.monotonic() > deadline:
                return answer
            self.outcome.steps.pop()  # only the last answer is the lesson's
            await asyncio.sleep(0.1)

    async def replace(self, name: str) -> None:
        """``docker kill NAME``; the stack's ``replace`` policy puts a new container there."""
        seen = len(self.stack.events)
        old = next(r.id for r in self.stack.replicas if r.name == name)
        await self.stack.kill(name)
        deadline = time.monotonic() + REPLACE_WAIT_S
        while not any(
            e.get("event") == "replace" and e.get("name") == name for e in self.stack.events[seen:]
        ) or name not in [r.name for r in self.stack.replicas]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} was not replaced within {REPLACE_WAIT_S:.0f} s")
            await asyncio.sleep(0.1)
        new = next(r.id for r in self.stack.replicas if r.name == name)
        self.did(f"docker kill {name}", f"replaced: {old[:12]} -> {new[:12]} (a new container)\n")


async def run_pets_on_stack(stack: LiveStack, work_dir: Path, say: Progress) -> PetsOutcome:
    """The lesson on a running stack whose restart policy is ``replace`` (the default)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    lesson = LiveLesson(stack, work_dir, say)
    try:
        await pets_steps(lesson)
    except (OSError, TimeoutError, ValueError, KeyError, StopIteration, aiohttp.ClientError) as exc:
        lesson.outcome.problems.append(f"the lesson stopped: {exc}")
        say(f"the lesson stopped: {exc}")
    return lesson.outcome


async def pets_steps(lesson: LiveLesson) -> None:
    stack = lesson.stack
    pet, other = (r.name for r in stack.replicas[:2])
    body = {"price": 1200, "write_id": f"pets-{time.time_ns()}"}
    put = f"{stack.url}/products/{PRODUCT}"
    async with aiohttp.ClientSession() as http, http.put(put, json=body) as response:
        written = Step(f"PUT {put} {json.dumps(body)}", f"HTTP {response.status}\n", prompt="> ")
        lesson.outcome.steps.append(written)

    lesson.note(f"A pet: patch {pet} in place, by hand.")
    await stack.copy_into(pet, CONFIG_FILE, PATCH.encode())
    lesson.did(f"docker cp ./catalog.conf {pet}:{CONFIG_FILE}", PATCH)
    await stack.signal(pet, "HUP")
    lesson.did(f"docker kill -s HUP {pet}")
    patched = await lesson.ask_until(pet, PATCH.splitlines()[1].split(" = ", 1)[1])
    unpatched = await lesson.ask(other)
    expect_only_the_pet_patched(lesson.expect, patched, unpatched)

    lesson.note("Replace the pet with a fresh container from the same image: the patch is gone.")
    await lesson.replace(pet)
    fresh = await lesson.ask(pet)
    lesson.expect(
        fresh["currency"] is None and fresh["banner"] is None,
        "the replacement answers without the patch",
    )

    lesson.note("Cattle: the same change in a bind-mounted config on the host.")
    config = lesson.work_dir / "config"
    config.mkdir(parents=True, exist_ok=True)
    (config / "catalog.conf").write_text(HOST_CONFIG, encoding="utf-8")
    cattle = f"{stack.config.project}-cattle"
    await stack.run_replica(cattle, {str(config): "/etc/catalog:ro"})
    image = stack.replicas[0].image
    lesson.did(f"docker run -d --name {cattle} -v {config}:/etc/catalog:ro {image}")
    first = await lesson.ask(cattle)
    lesson.expect(
        first["banner"] == "from the host's ./config",
        "a bind-mounted config is what the replica reads",
    )
    (config / "catalog.conf").write_text(HOST_CONFIG_EDITED, encoding="utf-8")
    lesson.did("edit ./config/catalog.conf on the host", HOST_CONFIG_EDITED)
    await stack.signal(cattle, "HUP")
    lesson.did(f"docker kill -s HUP {cattle}")
    edited = await lesson.ask_until(cattle, "edited on the host, v2")
    lesson.expect(
        edited["banner"] == "edited on the host, v2",
        "editing the host file and reloading changes the answers",
    )

    lesson.note("Replace it the same way: the change survives.")
    await lesson.replace(cattle)
    survived = await lesson.ask(cattle)
    lesson.expect(
        survived["banner"] == "edited on the host, v2" and survived["currency"] == "EUR",
        "the bind-mounted change survives the replacement",
    )
