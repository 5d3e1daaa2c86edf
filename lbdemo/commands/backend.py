"""The runtime the container commands act on, chosen once per command line.

``--runtime local`` (the default) is lbdemo's own runtime
(:class:`~lbdemo.runtime.verbs.LocalBackend`), ``--runtime docker`` a Docker Engine's
(:class:`~lbdemo.docker.verbs.DockerBackend`); both answer the same
:class:`~lbdemo.deploy.verbs.Backend` questions, so ``ps``, ``kill``, ``rm``, ``logs`` and
``volume ls|inspect|rm`` have one code path and one printer each.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from lbdemo.config import state_root
from lbdemo.deploy.host import recorded_runtime
from lbdemo.deploy.names import PROJECT, RUNTIMES
from lbdemo.deploy.verbs import Backend, Refused, Unreachable
from lbdemo.docker.verbs import DockerBackend
from lbdemo.errors import UsageError
from lbdemo.runtime.verbs import LocalBackend


def add_runtime_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default=None,
        help="local (lbdemo's own containers) or docker (the Docker Engine's); default: the "
        "runtime of the stack on the state root, else local",
    )
    parser.add_argument(
        "--project",
        default=None,
        metavar="NAME",
        help="with --runtime docker: the stack's Docker project (default: the stack's, else "
        f"{PROJECT})",
    )


def resolve_runtime(args: argparse.Namespace) -> str:
    """``--runtime`` if given, else the runtime the state root's stack records (its
    ``stack.json``), else local; ``args.project`` filled in the same way. ``--project`` alone
    on the local runtime is refused (it names nothing there)."""
    recorded = recorded_runtime(state_root(args))
    runtime = getattr(args, "runtime", None)
    project = getattr(args, "project", None)
    if runtime is None:
        runtime = recorded[0] if recorded else "local"
    if runtime == "docker" and project is None:  # the stack's own project, else the default
        project = recorded[1] if recorded and recorded[0] == "docker" and recorded[1] else PROJECT
    if runtime != "docker" and project not in (None, PROJECT):
        raise UsageError("--project names a Docker project: it goes with --runtime docker")
    args.runtime, args.project = runtime, project or PROJECT
    return str(runtime)


def backend_for(args: argparse.Namespace) -> Backend:
    """The runtime :func:`resolve_runtime` chooses."""
    if resolve_runtime(args) == "docker":
        return DockerBackend(args.project, state_root(args))
    return LocalBackend(state_root(args))


def elsewhere_on_docker(
    args: argparse.Namespace, verb: str, docker_command: str, *, how: str | None = None
) -> int | None:
    """For a verb that acts on lbdemo's own runtime only: on a Docker stack, one line naming
    the ``docker`` command that does it (or ``how``, where none does), and status 2 (None: go
    on, the runtime is local)."""
    if resolve_runtime(args) != "docker":
        return None
    print(
        f"lbdemo {verb} acts on lbdemo's own runtime; {how or f'on Docker run: {docker_command}'}",
        file=sys.stderr,
    )
    return 2


def each(names: list[str], act: Callable[[str], bool | None]) -> int:
    """``act`` on every name, as ``docker`` does: the name printed once done, a refusal's line
    on stderr (status 1) and on with the next, an unreachable runtime's line and stop. ``act``
    returning False: nothing done and nothing to say (``rm -f`` of one already gone)."""
    status = 0
    for name in names:
        try:
            done = act(name)
        except Refused as exc:
            print(exc, file=sys.stderr)
            status = 1
            continue
        except Unreachable as exc:
            print(exc, file=sys.stderr)
            return 1
        if done is not False:
            print(name)
    return status
