"""``lbdemo run | start | stop | restart | kill | upgrade``: the verbs that need the daemon.

They talk to the daemon that ``lbdemo up`` runs (see :mod:`lbdemo.runtime.api`), as ``docker``
talks to dockerd. Output and errors follow Docker's CLI: ``stop``/``start``/``kill`` print each
name as given; ``run -d`` prints the new container's id; an engine error prints
``Error response from daemon: ...`` and the command exits 1 (``run`` exits 125); with no daemon
they print ``Cannot connect to the lbdemo daemon at <state>. Is 'lbdemo up' running?`` and exit 1.

``start``, ``stop``, ``restart``, ``kill`` and ``upgrade`` go through the runtime's
:class:`~lbdemo.deploy.verbs.Backend`, so they act on a Docker stack too (its runtime read from
the state root); ``run`` acts on the local runtime only, and on a Docker stack says in one line
which ``docker run`` does it.
"""

from __future__ import annotations

import argparse
import sys
import urllib.parse
from pathlib import Path

from lbdemo.commands.backend import (
    add_runtime_arguments,
    backend_for,
    each,
    elsewhere_on_docker,
    resolve_runtime,
)
from lbdemo.commands.logs import write_output
from lbdemo.config import add_state_argument, state_root
from lbdemo.containers.containers import ContainerStore
from lbdemo.containers.display import error_line
from lbdemo.containers.errors import DaemonError
from lbdemo.containers.logs import follow
from lbdemo.containers.mounts import Mount, parse_mount_spec, parse_volume_spec
from lbdemo.deploy.restart import RESTART_POLICIES
from lbdemo.deploy.verbs import Refused, Unreachable
from lbdemo.errors import LbdemoError, UsageError
from lbdemo.runtime.client import DaemonClient, DaemonRefusal, DaemonUnavailable

RUN_FAILED = 125  # docker run's status when the engine refuses


def _connect(args: argparse.Namespace) -> DaemonClient | None:
    try:
        return DaemonClient.connect(state_root(args))
    except DaemonUnavailable as exc:
        print(exc, file=sys.stderr)
        return None


def _quote(ref: str) -> str:
    return urllib.parse.quote(ref, safe="")


def _start(args: argparse.Namespace) -> int:
    backend = backend_for(args)
    return each(args.names, backend.start)


def _stop(args: argparse.Namespace) -> int:
    backend = backend_for(args)
    return each(args.names, lambda ref: backend.stop(ref, args.time))


def _restart(args: argparse.Namespace) -> int:
    backend = backend_for(args)
    return each(args.names, backend.restart)


def _kill(args: argparse.Namespace) -> int:
    backend = backend_for(args)
    backend.check_signal(args.signal)
    return each(args.names, lambda ref: backend.kill(ref, args.signal))


def _run(args: argparse.Namespace) -> int:
    resolve_runtime(args)  # the stack's project, for the line below
    elsewhere = elsewhere_on_docker(
        args,
        "run",
        "",
        how="a container it runs joins its own balancer's rotation; on Docker run: docker run "
        f"--network {args.project} {args.image} (the stack's balancer does not send it requests)",
    )
    if elsewhere is not None:
        return elsewhere
    cwd = Path.cwd()
    # Specs are read here, in the caller's working directory, as Docker's CLI reads them.
    try:
        mounts: list[Mount] = [parse_volume_spec(s, cwd) for s in args.volume or []]
        mounts += [parse_mount_spec(s, cwd) for s in args.mount or []]
    except LbdemoError as exc:
        if isinstance(exc, UsageError) and not isinstance(exc, DaemonError):
            raise  # a malformed flag: the CLI's one-line usage error, exit 2
        print(error_line(exc), file=sys.stderr)
        return RUN_FAILED
    client = _connect(args)
    if client is None:
        return 1
    body = {
        "image": args.image,
        "name": args.name,
        "mounts": [m.to_record() for m in mounts],
        "restart": args.restart,
    }
    try:
        created = client.request("POST", "/containers", body)
    except DaemonUnavailable as exc:
        print(exc, file=sys.stderr)
        return 1
    except DaemonRefusal as exc:
        print(f"Error response from daemon: {exc}", file=sys.stderr)
        return RUN_FAILED
    print(created["Id"], flush=True)
    if args.detach:
        return 0
    return _follow(client, state_root(args), str(created["Name"]))


def _follow(client: DaemonClient, root: Path, name: str) -> int:
    """Foreground ``run``: show the container's output until Ctrl-C, which stops it."""
    log = ContainerStore(root).get(name).log_path
    try:
        follow(log, 0, lambda: True, write_output)
    except KeyboardInterrupt:
        try:
            client.request("POST", f"/containers/{_quote(name)}/stop", {})
        except LbdemoError as exc:
            print(exc, file=sys.stderr)
        return 130
    return 0  # not reached: following never ends by itself


def _upgrade(args: argparse.Namespace) -> int:
    backend = backend_for(args)

    def begin() -> None:
        print(f"rolling upgrade to {args.image}, one replica at a time ...", flush=True)

    try:
        replaced = backend.upgrade(args.image, begin)
    except (Refused, Unreachable) as exc:
        print(exc, file=sys.stderr)
        return 1
    # One short line per replica (under 80 columns, for a projector): the image is the one the
    # first line names.
    for step in replaced:
        print(
            f"  {step['old']} ({step['old_id'][:12]}, {step['old_image'].rsplit(':', 1)[-1]}) -> "
            f"{step['new']} ({step['new_id'][:12]}, {step['new_image'].rsplit(':', 1)[-1]})"
        )
    print(f"{len(replaced)} replica(s) now run {args.image}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    run = subparsers.add_parser(
        "run", help="create and start a replica container that joins the rotation (docker run)"
    )
    run.add_argument("-d", "--detach", action="store_true", help="run in the background")
    run.add_argument("--name", help="assign a name to the container")
    run.add_argument("-v", "--volume", action="append", metavar="SPEC", help="bind mount a volume")
    run.add_argument("--mount", action="append", metavar="SPEC", help="attach a filesystem mount")
    run.add_argument(
        "--restart",
        choices=RESTART_POLICIES,
        default="no",
        help="always: a container that dies is restarted, the same one on its own layer "
        "(Docker's policy); replace: it is removed and a fresh one from the image takes its "
        "name (an orchestrator's); default no",
    )
    run.add_argument("image", metavar="IMAGE")
    add_state_argument(run)
    add_runtime_arguments(run)
    run.set_defaults(func=_run)

    for verb, func, text in (
        ("start", _start, "start stopped containers; they rejoin the rotation"),
        ("stop", _stop, "drain, leave the rotation and stop containers (SIGTERM)"),
        ("restart", _restart, "stop then start containers (a store keeps its port)"),
    ):
        parser = subparsers.add_parser(verb, help=text)
        parser.add_argument("names", nargs="+", metavar="CONTAINER")
        if verb == "stop":
            parser.add_argument(
                "-t", "--time", type=float, default=10.0, help="seconds before SIGKILL (10)"
            )
        add_state_argument(parser)
        add_runtime_arguments(parser)
        parser.set_defaults(func=func)

    kill = subparsers.add_parser("kill", help="send a signal to containers (SIGKILL by default)")
    kill.add_argument("-s", "--signal", default="KILL", help="signal to send (default KILL)")
    kill.add_argument("names", nargs="+", metavar="CONTAINER")
    add_state_argument(kill)
    add_runtime_arguments(kill)
    kill.set_defaults(func=_kill)

    upgrade = subparsers.add_parser(
        "upgrade", help="rolling upgrade: replace the replicas one at a time, no failed request"
    )
    upgrade.add_argument("--image", required=True, help="the new image, e.g. lbdemo/catalog:1.1")
    add_state_argument(upgrade)
    add_runtime_arguments(upgrade)
    upgrade.set_defaults(func=_upgrade)
