"""The Docker runtime's connection to the Docker Engine, through the ``docker`` package (the
Engine API, never the CLI's output). Imported only by what needs an engine, so the package
stays optional at run time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lbdemo.errors import StateError

if TYPE_CHECKING:
    from docker import DockerClient

NO_ENGINE_HINT = "install docker.io and start dockerd (as root), or set DOCKER_HOST"


class NoEngineError(StateError):
    """No Docker Engine answers where the environment says one is."""


def connect(timeout_s: float = 60.0) -> DockerClient:
    """A client for the engine ``$DOCKER_HOST`` names (else the local socket), checked to answer.

    ``timeout_s`` bounds each API call; a build streams, so one slow step may need more.
    """
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:
        raise NoEngineError("the docker package is not installed: pip install -e .") from None
    try:
        client = docker.from_env(timeout=int(timeout_s))
        client.ping()
    except DockerException as exc:
        reason = _first_line(exc)
        raise NoEngineError(f"no Docker engine answers ({reason}): {NO_ENGINE_HINT}") from None
    return client


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
