"""``lbdemo up`` and ``lbdemo down``: run a stack in the foreground or in the background."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lbdemo.balancer.config import STRATEGIES
from lbdemo.commands.backend import add_runtime_arguments, backend_for, resolve_runtime
from lbdemo.config import (
    STACK_LOCK_FD_ENV,
    STORE_DSN_ENV,
    add_state_argument,
    admin_token_from_env,
    state_root,
    store_dsn_from_env,
    take_stack_lock_fd,
)
from lbdemo.dashboard import Dashboard
from lbdemo.dashboard.address import (
    announce,
    dashboard_dir,
    remembered,
    running,
    withdraw,
)
from lbdemo.deploy.config import LOOPBACK, StackConfig
from lbdemo.deploy.events import Event, describe_event
from lbdemo.deploy.layout import LAYOUT_CHOICES, Layout
from lbdemo.deploy.lock import StackLock
from lbdemo.deploy.names import DEFAULT_VOLUME, PROJECT, RUNTIMES, Project
from lbdemo.deploy.restart import RESTART_POLICIES
from lbdemo.deploy.verbs import Refused, Unreachable
from lbdemo.errors import StateError, UsageError
from lbdemo.process.pids import pid_alive, signal_pid
from lbdemo.stacks import open_stack
from lbdemo.store.embedded import postgres_bin_dir
from lbdemo.store.engines import READ_MODES, STORE_KINDS, engine_binary

DETACH_TIMEOUT_S = 60.0
DOCKER_DETACH_TIMEOUT_S = 900.0


def register(subparsers: Any) -> None:
    up = subparsers.add_parser(
        "up",
        help="start the balancer, N replicas and their storage",
        description="Start PostgreSQL, N replica processes and the balancer on 127.0.0.1; "
        "Ctrl-C stops everything.",
    )
    add_state_argument(up)
    up.add_argument("--replicas", "-n", type=int, default=3, help="number of replicas (default 3)")
    up.add_argument(
        "--storage",
        choices=LAYOUT_CHOICES,
        default="shared",
        help="private: one PostgreSQL per replica in its container layer; "
        "shared: one PostgreSQL on a named volume (default); replicated-async / "
        "replicated-sync: one primary on the volume and a streaming standby per replica "
        "(docs/layouts.md); shared-datadir: every replica's PostgreSQL on the one volume, "
        "which PostgreSQL refuses (the lesson)",
    )
    up.add_argument(
        "--apply-delay",
        type=int,
        default=0,
        metavar="MS",
        help="replicated-async: the standbys apply each commit this many ms late (default 0); "
        "with --store redis the replication link, with --store etcd the peer links, hold "
        "every byte that long (lbdemo's fault proxy)",
    )
    add_store_arguments(up)
    up.add_argument(
        "--dsn",
        default=store_dsn_from_env(),
        help=f"use this existing PostgreSQL server as the shared store (default ${STORE_DSN_ENV})",
    )
    up.add_argument(
        "--port",
        "-p",
        type=int,
        default=8080,
        help="balancer port (default 8080; 0 picks a free one)",
    )
    up.add_argument(
        "--host",
        default=LOOPBACK,
        help="the balancer's address (default 127.0.0.1); anything else exposes it beyond this "
        "machine, with a warning. Replicas, databases and the admin APIs stay on 127.0.0.1",
    )
    up.add_argument(
        "--strategy",
        default="round-robin",
        help=f"balancing strategy: {', '.join(STRATEGIES)} (default round-robin)",
    )
    up.add_argument("--image", default="lbdemo/catalog:1.0", help="replica image")
    up.add_argument(
        "--restart",
        choices=RESTART_POLICIES,
        default="replace",
        help="what happens to a replica that dies: replace (default) removes it and starts a "
        "fresh container from the image, as an orchestrator does; always restarts the same "
        "container on its own layer, as Docker does; no leaves it dead",
    )
    add_runtime_argument(up)
    add_project_argument(up)
    up.add_argument(
        "--adopt-volume",
        action="store_true",
        help="--runtime docker: use the named volume even when another state root's stack made "
        "it (refused otherwise; its database's password is rewritten)",
    )
    up.add_argument(
        "--detach",
        "-d",
        action="store_true",
        help="run in the background; stop it with `lbdemo down`",
    )
    up.add_argument("--json", action="store_true", help="print the stack description as JSON")
    add_dashboard_arguments(up)
    up.set_defaults(func=run_up)

    down = subparsers.add_parser("down", help="stop a stack started with `lbdemo up -d`")
    add_state_argument(down)
    add_runtime_arguments(down)  # accepted as elsewhere: down stops whatever runtime runs it
    down.add_argument(
        "-v",
        "--volumes",
        action="store_true",
        help=f"also remove the shared layout's named volume {DEFAULT_VOLUME} (its rows; and "
        "lbdemo-redisdata, lbdemo-etcddata of --store redis|etcd), for a fresh start",
    )
    down.set_defaults(func=run_down)


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    """``--store`` and ``--read``, for the commands that start or load a stack (docs/stores.md)."""
    parser.add_argument(
        "--store",
        choices=STORE_KINDS,
        default=None,
        help="the engine the replicas keep products in: postgres (default), redis or etcd, "
        "run as lbdemo's children on 127.0.0.1 (docs/stores.md)",
    )
    parser.add_argument(
        "--read",
        choices=READ_MODES,
        default=None,
        metavar="MODE",
        help="--store etcd: linearizable (default: through the leader) or serializable "
        "(each member's local state, which may lag)",
    )


def check_engine_installed(layout: Layout) -> None:
    """What the stack runs, found before it starts: PostgreSQL's binaries, or the engine's."""
    if layout.postgres:
        postgres_bin_dir()
    else:
        engine_binary(layout.store)


def add_runtime_argument(parser: argparse.ArgumentParser) -> None:
    """``--runtime``, for the commands that start a stack (``up``, ``demo``)."""
    parser.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default="local",
        help="what runs the containers: local (default: lbdemo's own runtime, nothing to "
        "install) or docker (a Docker Engine: real containers, layers and named volumes)",
    )


def add_project_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project",
        default=PROJECT,
        metavar="NAME",
        help="with --runtime docker: the Docker project (as compose's -p) naming the "
        f"containers NAME-r1.., NAME-db, the network NAME and the volume NAME-pgdata "
        f"(default {PROJECT})",
    )


def volume_for(runtime: str, project: str) -> str:
    """The shared layout's named volume: the project's on Docker (``lbdemo-pgdata`` for the
    default project, as on the local runtime), so two projects never share one by accident."""
    return Project(project).volume if runtime == "docker" else DEFAULT_VOLUME


def config_from(args: argparse.Namespace) -> StackConfig:
    """Every option checked here, before anything starts (a bad one is a UsageError)."""
    extra: dict[str, Any] = {}
    chosen_token = admin_token_from_env()
    if chosen_token is not None:
        extra["admin_token"] = chosen_token
    return StackConfig(
        state_root=state_root(args),
        layout=Layout.named(
            args.storage,
            dsn=args.dsn,
            apply_delay_ms=args.apply_delay,
            volume=volume_for(args.runtime, args.project),
            store=args.store or "postgres",
            read_mode=args.read,
        ),
        replicas=args.replicas,
        image=args.image,
        balancer_listen=f"[{args.host}]:{args.port}"
        if ":" in args.host
        else f"{args.host}:{args.port}",
        strategy=args.strategy,
        restart=args.restart,
        runtime=args.runtime,
        project=args.project,
        adopt_volume=args.adopt_volume,
        **extra,
    )


def run_up(args: argparse.Namespace) -> int:
    config = config_from(args)
    if config.exposed:
        print(
            f"lbdemo: warning: the balancer listens on {args.host}: anyone who can reach this "
            "machine can send it requests (replicas and databases stay on 127.0.0.1)",
            file=sys.stderr,
        )
    supervisor_file = config.run_dir / "supervisor.pid"
    running = _running_supervisor(supervisor_file)
    if running is not None:
        raise StateError(
            f"a stack is already running on {config.state_root} (pid {running}); "
            "stop it with `lbdemo down`"
        )
    if config.runtime == "docker":
        if config.layout.storage not in ("private", "shared"):
            raise UsageError(
                f"--storage {config.layout.storage} runs on the local runtime only; "
                "--runtime docker runs private or shared"
            )
        if config.layout.dsn is not None:
            raise UsageError(
                "--dsn does not go with --runtime docker: its stack runs its own "
                "PostgreSQL container"
            )
    elif args.adopt_volume:
        raise UsageError("--adopt-volume applies to --runtime docker (its named volumes)")
    if config.runtime == "local" and config.layout.dsn is None:
        check_engine_installed(config.layout)  # a broken install is named before anything starts
    dashboard = dashboard_from(args, config.state_root)
    if args.detach:
        # the background `up` never prints the link (up.log must not hold the token): this
        # process prints it, read from the 600 file the dashboard announces itself in
        return _detach(args, config)
    return asyncio.run(_foreground(config, args.json, dashboard, quiet_link=args.no_link))


# -- the live dashboard (lbdemo/dashboard/) ---------------------------------------------------


def add_dashboard_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dashboard",
        action="store_true",
        help="serve a live dashboard of the stack; prints its link (with a token)",
    )
    parser.add_argument(
        "--dashboard-port",
        type=int,
        default=0,
        metavar="PORT",
        help="the dashboard's port on 127.0.0.1 (default 0: a free one)",
    )
    parser.add_argument(
        "--dashboard-host",
        default="127.0.0.1",
        metavar="HOST",
        help="the address the dashboard binds (default 127.0.0.1)",
    )
    parser.add_argument(
        "--new-dashboard-address",
        action="store_true",
        help="a new port and token for the dashboard (by default a state root keeps its "
        "dashboard's port and token across runs, so an open tab reconnects)",
    )
    parser.add_argument(
        "--dashboard-interval",
        type=float,
        default=1.0,
        metavar="S",
        help="seconds between two snapshots of the stack (default 1; 0.1 to 10)",
    )
    # the background `up` of `up -d`: its parent prints the link, never up.log
    parser.add_argument("--no-link", action="store_true", help=argparse.SUPPRESS)


def dashboard_from(args: argparse.Namespace, root: Path | None = None) -> Dashboard | None:
    """The dashboard asked for, not started yet (None without --dashboard); options checked.

    With ``root``, the state root's remembered port and token are reused unless
    ``--new-dashboard-address`` or ``--dashboard-port`` say otherwise."""
    if not args.dashboard:
        return None
    if not 0 <= args.dashboard_port <= 65535:
        raise UsageError(f"--dashboard-port must be between 0 and 65535, got {args.dashboard_port}")
    interval = args.dashboard_interval
    if not 0.1 <= interval <= 10:
        raise UsageError(
            f"--dashboard-interval must be between 0.1 and 10 seconds, got {interval:g}"
        )
    if not _is_loopback(args.dashboard_host):
        print(
            f"lbdemo: warning: the dashboard listens on {args.dashboard_host}: anyone who can "
            "reach this machine can try its page and API (the token in its link guards them)",
            file=sys.stderr,
        )
    if root is None:
        return Dashboard(args.dashboard_host, args.dashboard_port, interval_s=interval)
    known = None if args.new_dashboard_address else remembered(root)
    port = args.dashboard_port or (known[0] if known else 0)
    dashboard = Dashboard(
        args.dashboard_host,
        port,
        token=known[1] if known else None,
        interval_s=interval,
        state_dir=dashboard_dir(root),
    )
    dashboard.port_may_change = not args.dashboard_port
    return dashboard


def _is_loopback(host: str) -> bool:
    """Whether ``host`` (an address, or a name) stays on this machine; a name other than
    localhost may resolve anywhere, so it counts as exposed."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def dashboard_line(dashboard: Dashboard) -> str:
    """The line that gives the dashboard's link: printed on the terminal, never written to a
    file (the token in it lets whoever holds it kill replicas)."""
    return f"  {'dashboard':<11} {dashboard.link}"


async def _foreground(
    config: StackConfig,
    as_json: bool,
    dashboard: Dashboard | None = None,
    *,
    quiet_link: bool = False,
) -> int:
    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def on_signal() -> None:
        # During start-up, cancelling is how we stop (Stack.start cleans up after itself).
        if not stopping.is_set():
            stopping.set()
            if stack.balancer is None:
                main.cancel()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    stack = open_stack(config, on_event=None if as_json else _print_event)
    supervisor_file = config.run_dir / "supervisor.pid"
    wrote_pid = False
    try:
        try:
            await stack.start()
        except asyncio.CancelledError:
            print("lbdemo: interrupted during start-up; everything is stopped", file=sys.stderr)
            return 130
        # Only once the stack lock is ours: a refused `up` must not overwrite another's pid.
        supervisor_file.write_text(str(os.getpid()))
        wrote_pid = True
        shown = stack.live_stack
        if dashboard is not None and shown is not None:  # either runtime's stack
            await dashboard.start()
            assert dashboard.url is not None
            announce(config.state_root, dashboard.url, dashboard.token)
            await dashboard.watch(shown)
        description = stack.describe()
        link = dashboard_line(dashboard) if dashboard is not None and not quiet_link else None
        if as_json:
            print(json.dumps(description, indent=2), flush=True)
            if link is not None:  # beside the JSON, not in it: stdout stays one JSON document
                print(link, file=sys.stderr, flush=True)
        else:
            print(render(description, dashboard=link), flush=True)
        await stopping.wait()
        print("lbdemo: stopping...", file=sys.stderr, flush=True)
        if dashboard is not None:
            await dashboard.stop()
        await stack.stop()
        print("lbdemo: stopped", file=sys.stderr, flush=True)
        return 0
    finally:
        if dashboard is not None:
            await dashboard.stop()
            withdraw(config.state_root)
        await stack.stop()
        if wrote_pid:
            supervisor_file.unlink(missing_ok=True)


TERMINAL_COLUMNS = 80  # a terminal at projector font size: the talk shows this output


def render(description: dict[str, Any], dashboard: str | None = None) -> str:
    """The human summary of a running stack, in lines of at most 80 columns where paths allow
    (``dashboard``: the dashboard's line, shown after the replicas; never part of stack.json)."""
    layout = description["layout"]
    balancer = description["balancer"]
    head = f"lbdemo: {len(description['replicas'])} replicas, {layout['storage']} storage"
    if len(f"{head}: {layout['summary']}") <= TERMINAL_COLUMNS:
        lines = [f"{head}: {layout['summary']}"]
    else:
        lines = [f"{head}:", f"  {layout['summary']}"]
    if layout.get("container"):
        lines.append(f"  {layout['container']:<11} pid {layout['pid']}, data {layout['data']}")
    lines += [
        f"  {'balancer':<11} {balancer['url']}  (pid {balancer['pid']}"
        + (", compiled)" if balancer.get("data_path") == "compiled" else ")"),
        f"  {'admin API':<11} {balancer['admin_url']}  (/replicas, /metrics)",
        f"  {'':<11} bearer token in {balancer['admin_token_file']}",
    ]
    for replica in description["replicas"]:
        lines.append(
            f"  {replica['name']:<11} {replica['url']}  {replica['id'][:12]} "
            f"{replica['image']} pid {replica['pid']}"
        )
    if dashboard is not None:
        lines.append(dashboard)
    lines += [
        f"all healthy in {description['started_in_s']:.2f} s. Try:",
        '  curl -X PUT -d \'{"price": 1200, "write_id": "w1"}\' \\',
        f"       {balancer['url']}/products/apple",
    ]
    if layout.get("runtime") == "docker":
        # the engine's own tools work on these containers; lbdemo's verbs with --runtime docker
        r2 = description["replicas"][min(1, len(description["replicas"]) - 1)]["name"]
        lines += [
            f"  docker ps     docker kill {r2}     docker volume ls",
            f"  lbdemo ps --runtime docker     lbdemo logs --runtime docker {r2}",
        ]
    else:
        lines += [
            "  lbdemo get apple --each-replica     lbdemo ps     lbdemo kill lbdemo-r2",
            "  lbdemo upgrade --image lbdemo/catalog:1.1",
        ]
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def _print_event(event: Event) -> None:
    line = describe_event(event)
    if line is not None:
        stamp = time.strftime("%H:%M:%S")
        print(f"{stamp} {line}", flush=True)


def _detach(args: argparse.Namespace, config: StackConfig) -> int:
    """Start ``lbdemo up`` (foreground) as a background process and wait until it is up.

    Up means: ``stack.json`` names *that* process. A file another stack wrote is never taken for
    ours, and if the background process exits first (refused by the stack lock, say), its reason
    is ours.
    """
    argv = [
        sys.executable,
        "-m",
        "lbdemo",
        "up",
        "--state",
        str(config.state_root),
        "--replicas",
        str(config.replicas),
        "--storage",
        config.layout.storage,
        "--port",
        str(args.port),
        "--host",
        args.host,
        "--strategy",
        config.strategy,
        "--image",
        config.image,
        "--restart",
        config.restart,
        "--apply-delay",
        str(config.layout.apply_delay_ms),
        "--runtime",
        config.runtime,
        "--project",
        config.project,
        *(["--adopt-volume"] if config.adopt_volume else []),
        # the engine and etcd's read mode, as given (none given: PostgreSQL, as before)
        *(["--store", config.layout.store] if not config.layout.postgres else []),
        *(["--read", config.layout.read_mode] if config.layout.read_mode else []),
    ]
    if args.dashboard:
        argv += ["--dashboard", "--no-link", "--dashboard-host", args.dashboard_host]
        argv += ["--dashboard-port", str(args.dashboard_port)]
        argv += ["--dashboard-interval", f"{args.dashboard_interval:g}"]
        if args.new_dashboard_address:
            argv.append("--new-dashboard-address")
    env = dict(os.environ)
    if config.layout.dsn:
        env[STORE_DSN_ENV] = config.layout.dsn  # not on a command line, where anyone can read it
    config.run_dir.mkdir(parents=True, exist_ok=True)
    stack_file = config.run_dir / "stack.json"
    log_path = config.run_dir / "up.log"
    # The stack lock this process took at its first instant goes to the background process,
    # which holds it from then on; a `down` meanwhile signals us (the lock names our pid until
    # the child's does), and we stop the child before going.
    lock_fd = take_stack_lock_fd(config.run_dir / "stack.lock")
    stop_asked = False

    def on_term(signum: int, frame: object) -> None:
        nonlocal stop_asked
        stop_asked = True

    previous = signal.signal(signal.SIGTERM, on_term)
    if lock_fd is not None:
        env[STACK_LOCK_FD_ENV] = str(lock_fd)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            env=env,
            pass_fds=() if lock_fd is None else (lock_fd,),
        )
    if lock_fd is not None:
        os.ftruncate(lock_fd, 0)
        os.pwrite(lock_fd, str(process.pid).encode(), 0)
        os.close(lock_fd)  # the child's copy keeps the lock
    try:
        return _wait_until_up(
            args, process, stack_file, log_path, _timeout_of(config), lambda: stop_asked
        )
    finally:
        signal.signal(signal.SIGTERM, previous)


def _timeout_of(config: StackConfig) -> float:
    # The docker runtime may first build its image (minutes on a new machine, no registry).
    return DETACH_TIMEOUT_S if config.runtime == "local" else DOCKER_DETACH_TIMEOUT_S


def _wait_until_up(
    args: argparse.Namespace,
    process: subprocess.Popen[bytes],
    stack_file: Path,
    log_path: Path,
    timeout_s: float,
    stop_asked: Callable[[], bool],
) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if stop_asked():
            process.terminate()  # during start-up it stops what it started (`up`'s handler)
            process.wait()
            raise StateError("stopped during start-up (by `lbdemo down`); nothing is running")
        description = _read_description(stack_file)
        # STATE/run/stack.json: the state root is two levels up
        shown = running(stack_file.parent.parent) if args.dashboard else None
        if (
            description is not None
            and description.get("pid") == process.pid
            and (not args.dashboard or (shown is not None and shown["pid"] == process.pid))
        ):
            link = f"  {'dashboard':<11} {shown['url']}/#token={shown['token']}" if shown else None
            if args.json:
                print(json.dumps(description, indent=2))
                if link is not None:
                    print(link, file=sys.stderr)
            else:
                print(
                    render(description, dashboard=link).replace(
                        "Press Ctrl-C to stop.",
                        "Running in the background: `lbdemo down` stops it.",
                    )
                )
            return 0
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace").strip().splitlines()[-1:]
            reason = " ".join(tail).removeprefix("lbdemo: error: ")
            raise StateError(f"the stack did not start: {reason}")
        time.sleep(0.05)
    process.terminate()
    raise StateError(f"the stack did not come up within {timeout_s:.0f} s; see {log_path}")


def _read_description(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def run_down(args: argparse.Namespace) -> int:
    """Stop the stack: whoever holds the state root's stack lock (an `up` from its first
    instant, also while it starts) and the supervisor; wait until the lock is free. With
    ``-v``, the shared volume goes too."""
    resolve_runtime(args)  # a --project without a Docker runtime is refused, as elsewhere
    run_dir = state_root(args) / "run"
    supervisor_file, lock = run_dir / "supervisor.pid", run_dir / "stack.lock"

    def holders() -> set[int]:
        found = {_running_supervisor(supervisor_file), StackLock.holder(lock)}
        return {pid for pid in found if pid is not None and pid != os.getpid()}

    if not holders() and not StackLock.held(lock):
        print(f"lbdemo: no stack is running on {state_root(args)}", file=sys.stderr)
        return _remove_volume(args) if getattr(args, "volumes", False) else 0
    signalled: set[int] = set()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        current = holders()
        if not current and not StackLock.held(lock):
            break
        # The lock names `up -d`'s first process, then its background one: signal each.
        for pid in current - signalled:
            signal_pid(pid, signal.SIGTERM)
            signalled.add(pid)
        time.sleep(0.05)
    else:
        for pid in signalled | holders():
            if pid_alive(pid):
                signal_pid(pid, signal.SIGKILL)  # its children follow through PR_SET_PDEATHSIG
    print("lbdemo: stopped")
    return _remove_volume(args) if getattr(args, "volumes", False) else 0


def _remove_volume(args: argparse.Namespace) -> int:
    """``down -v``: the stack's shared volume goes too (as ``docker compose down -v``), so the
    next rehearsal starts without the rows of this one; on the runtime that ran the stack (the
    engine's volume for a Docker stack, never a local one of the same name). A container still
    mounting it (``second``, refused but Created) keeps it, and is named."""
    backend = backend_for(args)
    if args.runtime == "docker":
        names = [Project(args.project).volume]
    else:  # and the volumes of --store redis|etcd's shared layouts (docs/stores.md)
        names = [DEFAULT_VOLUME, *(f"lbdemo-{kind}data" for kind in STORE_KINDS[1:])]
    for name in names:
        try:
            if backend.volume_inspect(name) is None:
                continue
            backend.remove_volume(name, force=False)
        except Refused as exc:
            print(f"{exc} (`lbdemo rm` it first)", file=sys.stderr)
            return 1
        except Unreachable as exc:
            print(exc, file=sys.stderr)
            return 1
        print(f"lbdemo: removed volume {name}")
    return 0


def _running_supervisor(pid_file: Path) -> int | None:
    """The pid in ``pid_file`` if it is a live lbdemo process (not a recycled pid)."""
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    with contextlib.suppress(Exception):
        if b"lbdemo" in cmdline and pid_alive(pid):
            return pid
    return None
