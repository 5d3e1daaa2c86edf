"""The host side both runtimes' stacks share: the balancer process on this host in front of the
replicas, its admin token, and the files under ``run/`` that ``up``, ``down`` and the CLI read
(``stack.json`` in the :data:`STACK_FORMAT` format, ``admin-token``)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

from lbdemo.config import ADMIN_TOKEN_ENV
from lbdemo.deploy.config import StackConfig
from lbdemo.files import write_json
from lbdemo.process.spawn import Child, spawn

STACK_FORMAT = "lbdemo-stack/1"  # docs/schemas/lbdemo-stack-1.schema.json


class HostBalancedStack:
    """What both runtimes' stacks share: a balancer process on this host in front of the
    replicas, and the files under ``run/`` that ``up``, ``down`` and the CLI read
    (``stack.json``, ``admin-token``)."""

    config: StackConfig
    balancer: Child | None

    @property
    def url(self) -> str:
        assert self.balancer is not None
        return str(self.balancer.ready["url"])

    @property
    def admin_url(self) -> str | None:
        assert self.balancer is not None
        value = self.balancer.ready.get("admin_url")
        return str(value) if value else None

    @property
    def admin_token_file(self) -> Path:
        return self.config.run_dir / "admin-token"

    def describe(self) -> dict[str, Any]:
        raise NotImplementedError

    def _balancer_description(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "admin_url": self.admin_url,
            "admin_token_file": str(self.admin_token_file),
            "pid": self.balancer.pid if self.balancer else None,
            # "compiled" when LBDEMO_COMPILED gave it a build of its sources (balancer.md).
            "data_path": self.balancer.ready.get("data_path") if self.balancer else None,
        }

    def _write_state_file(self) -> None:
        path = self.config.run_dir / "stack.json"
        write_json(path, self.describe())
        path.chmod(0o600)  # pids, ports and paths: this user's business (run/ is 0700 too)

    def _remove_state_files(self) -> None:
        (self.config.run_dir / "stack.json").unlink(missing_ok=True)
        shutil.rmtree(self.config.run_dir / "stopped", ignore_errors=True)  # stopped_mark's
        self.admin_token_file.unlink(missing_ok=True)


async def start_balancer(config: StackConfig, upstreams: list[tuple[str, str]]) -> Child:
    """The balancer process on this host in front of ``upstreams`` (name, URL), its admin API on
    loopback; the token reaches it in its environment, never its command line. Both runtimes'."""
    argv = [
        sys.executable,
        "-m",
        "lbdemo.balancer",
        "--listen",
        config.balancer_listen,
        "--strategy",
        config.strategy,
        "--admin",
        "127.0.0.1:0",
    ]
    for name, url in upstreams:
        argv += ["--upstream", f"{name}={url}"]
    env = {**os.environ, ADMIN_TOKEN_ENV: config.admin_token}
    return await spawn("balancer", argv, log_path=config.run_dir / "balancer.log", env=env)


def write_admin_token(path: Path, token: str) -> None:
    """The admin API's bearer token, readable by this user only (never on a command line)."""
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")


def recorded_runtime(state_root: Path) -> tuple[str, str | None] | None:
    """The runtime (and Docker project) the stack of ``state_root`` runs on, as its
    ``run/stack.json`` records it; None when no stack has described itself there. So that no
    command needs ``--runtime`` once the stack exists."""
    try:
        data = json.loads((state_root / "run" / "stack.json").read_text())
        config = data["config"]
        runtime = str(config["runtime"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    project = config.get("project")
    return runtime, (str(project) if project is not None else None)


def stopped_mark(run_dir: Path, name: str) -> Path:
    """The file ``lbdemo stop`` leaves for a replica it stops on purpose, so that the stack's
    supervisor (another process, seeing only the engine's ``die``) takes the death for a stop,
    not a crash: no restart policy; and lets it back into the rotation when it starts again."""
    return run_dir / "stopped" / name
