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
from lbdemo.deploy.names import PROJECT, RUNTIMES
from lbdemo.deploy.verbs import Backend, Refused, Unreachable
from lbdemo.docker.verbs import DockerBackend
from lbdemo.errors import UsageError
from lbdemo.runtime.verbs import LocalBackend


def add_runtime_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default="local",
        help="local (default: lbdemo's own containers) or docker (the Docker Engine's)",
    )
    parser.add_argument(
        "--project",
        default=PROJECT,
        metavar="NAME",
        help=f"with --runtime docker: the stack's Docker project (default {PROJECT})",
    )


def backend_for(args: argparse.Namespace) -> Backend:
    """The runtime ``--runtime`` names; ``--project`` alone is refused (it names nothing on the
    local runtime)."""
    if args.runtime == "docker":
        return DockerBackend(args.project)
    if args.project != PROJECT:
        raise UsageError("--project names a Docker project: it goes with --runtime docker")
    return LocalBackend(state_root(args))


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
