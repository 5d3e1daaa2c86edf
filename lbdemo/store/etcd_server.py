"""Run etcd as lbdemo's own children on 127.0.0.1: one node, or a cluster of three members.

Debian's ``etcd-server`` package ships the ``etcd`` binary (3.4); each member is a child process
known by pid (:mod:`lbdemo.process.spawn`), in its own session, told to die with its parent,
stopped with SIGTERM then SIGKILL on every path. A member is ready when its JSON gateway
answers a linearizable read, which needs an elected leader: a cluster is ready when every
member is.

The directory given holds ``cluster.json`` (the members' names, peer ports and the cluster's
token) and one folder per member (``m1/data``, ``m1/etcd.log``, ``m1/etcd.pid``). A member's
peer URL is written into its data at the first start, so a directory that already holds a
cluster is started again on the ports it recorded; client ports are chosen afresh each time.

Every member of a cluster has two peer ports: the real one, and the one it advertises (written
into the cluster's data). Without links the member listens on both itself, so one cluster's
data serves either way. ``peer_link``: given, every member's advertised peer port is a link in
front of its real peer port (lbdemo's fault proxy, handed in by the engine), so
:meth:`EtcdCluster.set_apply_delay` can hold the leader's raft messages to the other members.
Why both directions of those links: in etcd's transport a member receives another's stream
messages on the connection *it* dialed (the downstream of the sender's link) and its pipeline
messages on connections the sender dialed (the upstream of its own link).

etcd listens on 127.0.0.1 only, without TLS or authentication: every process of this machine
can read and write its keys (docs/stores.md says what that does and does not protect).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import secrets
import shutil
import signal
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from lbdemo.errors import StoreError
from lbdemo.process.pids import pid_alive, signal_pid
from lbdemo.process.ports import free_port
from lbdemo.process.spawn import Child, spawn
from lbdemo.store.etcd_store import READY_KEY, etcd_url

ETCD_PROGRAM = "etcd"
CLUSTER_FILE = "cluster.json"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
LEADER_STOP_S = 3.0  # the last member: a leadership transfer to no one is all it could wait for
LINKS_SETTLE_S = 0.2  # after the links close, before the leader is told (see stop())
START_ATTEMPTS = 3  # a port taken between free_port() and etcd's bind: a fresh cluster retries


def etcd_binary() -> str:
    """The path of ``etcd``, or StoreError saying how to install it."""
    path = shutil.which(ETCD_PROGRAM)
    if path is None:
        raise StoreError(
            "etcd is not installed: on Debian or Ubuntu, apt-get install etcd-server "
            "(make test does it where it can)"
        )
    return path


class PeerLink(Protocol):
    """What the cluster needs of a link in front of a member's peer port (a FaultProxy)."""

    @property
    def port(self) -> int: ...

    def latency(self, seconds: float, *, direction: str = "downstream") -> None: ...

    async def close(self) -> None: ...


# (member's real peer port, the port to listen on or 0) -> a started link
PeerLinkFactory = Callable[[int, int], Awaitable[PeerLink]]


@dataclass
class Member:
    """One etcd member: its folder, its ports, its process once started."""

    name: str
    folder: Path
    peer_port: int
    advertised_peer_port: int  # the link's port when there is one, else also the member's
    client_port: int = 0
    log_path: Path | None = None  # default: etcd.log in its folder
    child: Child | None = None
    link: PeerLink | None = None
    member_id: str = ""  # etcd's id, learned from the gateway once running

    @property
    def client_url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    @property
    def advertised_peer_url(self) -> str:
        return f"http://127.0.0.1:{self.advertised_peer_port}"

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def log_file(self) -> Path:
        return self.log_path or self.folder / "etcd.log"

    @property
    def pid_file(self) -> Path:
        return self.folder / "etcd.pid"

    @property
    def pid(self) -> int | None:
        return self.child.pid if self.child else None

    @property
    def running(self) -> bool:
        return self.child is not None and self.child.running


@dataclass
class EtcdCluster:
    """``size`` etcd members (1: a single node; 3: a cluster that survives losing one) whose
    state lives under ``root``. Use as ``async with EtcdCluster(root, 3) as cluster:``."""

    root: Path
    size: int = 3
    peer_link: PeerLinkFactory | None = None
    members: list[Member] = field(default_factory=list)
    token: str = ""
    apply_delay_s: float = 0.0
    log_dir: Path | None = None  # each member's log as <log_dir>/<log_name>-<member>.log
    log_name: str = "etcd"

    async def __aenter__(self) -> EtcdCluster:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def client_urls(self) -> list[str]:
        return [member.client_url for member in self.members]

    def endpoints_for(self, index: int) -> list[str]:
        """Member ``index``'s client URL first, then the others': what one replica is given."""
        urls = self.client_urls
        index %= len(urls)
        return urls[index:] + urls[:index]

    def store_url(self, index: int, read_mode: str = "linearizable") -> str:
        """The store URL of a replica talking to member ``index`` (the others after it)."""
        return etcd_url(self.endpoints_for(index), read_mode)

    # -- starting ----------------------------------------------------------------------------

    async def start(self) -> EtcdCluster:
        etcd_binary()
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o700)
        recorded = self._read_cluster_file()
        attempts = 1 if recorded else START_ATTEMPTS
        for attempt in range(attempts):
            self._plan(recorded)
            try:
                await self._start_members(fresh=recorded is None)
                return self
            except StoreError:
                await self.stop()
                if recorded is not None or attempt == attempts - 1:
                    raise
                # a fresh cluster that lost a port race: nothing of anyone's to keep
                for member in self.members:
                    shutil.rmtree(member.folder, ignore_errors=True)
                (self.root / CLUSTER_FILE).unlink(missing_ok=True)
        raise AssertionError("unreachable")

    def _read_cluster_file(self) -> dict[str, Any] | None:
        path = self.root / CLUSTER_FILE
        try:
            recorded: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read {path}: {exc}") from exc
        if len(recorded.get("members", [])) != self.size:
            raise StoreError(
                f"{path} records a cluster of {len(recorded.get('members', []))} members, "
                f"not {self.size}"
            )
        return recorded

    def _plan(self, recorded: dict[str, Any] | None) -> None:
        """Names and peer ports: the recorded ones, else fresh ones (written down at once)."""
        if recorded is not None:
            self.token = str(recorded["token"])
            self.members = [
                Member(
                    m["name"],
                    self.root / m["name"],
                    int(m["peer_port"]),
                    int(m["advertised_peer_port"]),
                )
                for m in recorded["members"]
            ]
            return
        self.token = "lbdemo-" + secrets.token_hex(6)
        self.members = []
        for index in range(self.size):
            peer = free_port()
            advertised = free_port() if self.size > 1 else peer
            self.members.append(
                Member(f"m{index + 1}", self.root / f"m{index + 1}", peer, advertised)
            )
        record = {
            "token": self.token,
            "members": [
                {
                    "name": m.name,
                    "peer_port": m.peer_port,
                    "advertised_peer_port": m.advertised_peer_port,
                }
                for m in self.members
            ],
        }
        (self.root / CLUSTER_FILE).write_text(json.dumps(record, indent=2) + "\n")

    async def _start_members(self, *, fresh: bool) -> None:
        if self.log_dir is not None:
            for member in self.members:
                member.log_path = self.log_dir / f"{self.log_name}-{member.name}.log"
        if self.peer_link is not None:
            for member in self.members:
                if member.advertised_peer_port == member.peer_port:
                    raise StoreError(
                        f"the etcd cluster in {self.root} has a single peer port per member: "
                        "it cannot take peer links (remove it to start afresh)"
                    )
                member.link = await self.peer_link(member.peer_port, member.advertised_peer_port)
        initial_cluster = ",".join(f"{m.name}={m.advertised_peer_url}" for m in self.members)
        for member in self.members:
            await self._spawn(member, initial_cluster, fresh=fresh)
        await asyncio.gather(*(self._wait_ready(member) for member in self.members))
        await self._learn_ids()

    async def _spawn(self, member: Member, initial_cluster: str, *, fresh: bool) -> None:
        await asyncio.to_thread(_stop_leftover, member)
        member.data_dir.mkdir(parents=True, exist_ok=True)
        member.data_dir.chmod(0o700)  # etcd insists, and warns otherwise
        member.client_port = free_port()
        argv = [
            etcd_binary(),
            "--name",
            member.name,
            "--data-dir",
            str(member.data_dir),
            "--listen-client-urls",
            member.client_url,
            "--advertise-client-urls",
            member.client_url,
            "--listen-peer-urls",
            ",".join(
                f"http://127.0.0.1:{port}"
                for port in sorted({member.peer_port, member.advertised_peer_port})
                if port == member.peer_port or member.link is None
            ),
            "--initial-advertise-peer-urls",
            member.advertised_peer_url,
            "--initial-cluster",
            initial_cluster,
            "--initial-cluster-state",
            "new" if fresh else "existing",
            "--initial-cluster-token",
            self.token,
            *self._timing(),
            "--logger",
            "zap",
            "--log-outputs",
            "stderr",
        ]
        member.child = await spawn(
            f"etcd {member.name}",
            argv,
            log_path=member.log_file,
            wait_ready=False,
            parent_death_signal=signal.SIGTERM,
        )
        member.pid_file.write_text(f"{member.child.pid}\n")

    def _timing(self) -> list[str]:
        """etcd's defaults (heartbeat 100 ms, election 1 s) for a cluster: under a loaded
        machine and a 100 ms apply delay, shorter would elect for nothing. A single node has no
        peer to miss: a short election timeout only shortens its restart, which otherwise waits
        1-2 s for an election it alone votes in."""
        return ["--heartbeat-interval", "20", "--election-timeout", "200"] if self.size == 1 else []

    async def _wait_ready(self, member: Member) -> None:
        """Until the member's gateway answers a linearizable read (a leader is elected)."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        body = {"key": base64.b64encode(READY_KEY.encode()).decode()}  # linearizable
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while time.monotonic() < deadline and member.running:
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with session.post(member.client_url + "/v3/kv/range", json=body) as r:
                        if r.status == 200:
                            return
                await asyncio.sleep(0.05)
        tail = _tail(member.log_file)
        state = "exited" if not member.running else "did not answer in time"
        raise StoreError(f"etcd member {member.name} {state}: {tail} (see {member.log_file})")

    async def _learn_ids(self) -> None:
        for member in self.members:
            status = await self._status(member)
            member.member_id = str(status.get("header", {}).get("member_id", ""))

    async def _status(self, member: Member, *, timeout_s: float = 5.0) -> dict[str, Any]:
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.post(member.client_url + "/v3/maintenance/status", json={}) as r,
            ):
                answer: dict[str, Any] = await r.json(content_type=None)
                return answer
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise StoreError(f"etcd member {member.name} gave no status: {exc}") from exc

    # -- faults ------------------------------------------------------------------------------

    async def leader(self, *, timeout_s: float = 5.0) -> int:
        """The index of the member that is leader now, as the running members see it."""
        for member in self.members:
            if not member.running:
                continue
            with contextlib.suppress(StoreError):
                status = await self._status(member, timeout_s=timeout_s)
                leader_id = str(status.get("leader", ""))
                for index, candidate in enumerate(self.members):
                    if candidate.member_id == leader_id:
                        return index
        raise StoreError("no etcd member names a leader")

    async def set_apply_delay(self, seconds: float) -> int:
        """Hold every raft message from the current leader to the other members ``seconds``:
        their applied state then trails the leader's by about that much. Returns the leader's
        index. The delay follows the leader of this moment: a later election moves it."""
        if self.peer_link is None:
            raise StoreError("an apply delay needs the cluster started with peer links")
        leader = await self.leader()
        for index, member in enumerate(self.members):
            assert member.link is not None
            if index == leader:
                # its stream messages, on connections the followers dialed to it
                member.link.latency(seconds, direction="downstream")
                member.link.latency(0.0, direction="upstream")
            else:
                # its pipeline messages, on connections the leader dialed to the follower
                member.link.latency(seconds, direction="upstream")
                member.link.latency(0.0, direction="downstream")
        self.apply_delay_s = seconds
        return leader

    async def wait_caught_up(self, timeout_s: float) -> float:
        """Seconds until every running member has applied what the leader has committed
        (``raftIndex`` of the leader's status against each member's ``raftAppliedIndex``), so a
        serializable audit after the load reads what was written, not the apply delay; a
        StoreError past ``timeout_s``. The leader's index is read again on every round: a put
        still in flight when the load stopped may commit after the first look. Waits for a
        leader first (an election after a member was killed takes a second or two)."""
        began = time.monotonic()
        reason = "no leader"
        while time.monotonic() - began < timeout_s:
            try:
                leader = self.members[await self.leader(timeout_s=1.0)]
                target = int((await self._status(leader, timeout_s=1.0)).get("raftIndex", 0))
                applied = [
                    int((await self._status(m, timeout_s=1.0)).get("raftAppliedIndex", 0))
                    for m in self.members
                    if m.running
                ]
                if min(applied) >= target:
                    return time.monotonic() - began
                reason = f"applied {min(applied)} of {target}"
            except StoreError as exc:
                reason = str(exc)
            await asyncio.sleep(0.02)
        raise StoreError(f"the etcd members did not catch up within {timeout_s:.0f} s: {reason}")

    def kill(self, index: int) -> int:
        """SIGKILL member ``index`` (a crash: no goodbye to its peers); returns its pid."""
        member = self.members[index]
        if member.child is None or not member.running:
            raise StoreError(f"etcd member {member.name} is not running")
        member.child.kill()
        return member.child.pid

    # -- stopping ----------------------------------------------------------------------------

    async def stop(self) -> None:
        """Every member, by pid (SIGTERM, then SIGKILL), then the links. Safe to call twice.

        The followers first, then the links, then the leader: a leader told to stop hands its
        leadership to a peer it believes connected and waits for it to take over, up to etcd's
        request timeout (7 s), which never comes when that peer is stopping too. Alone, with its
        links closed at once (a delay line would keep a dead follower looking alive for the
        delay), it has no one to hand it to; should it still wait, SIGKILL comes after
        ``LEADER_STOP_S`` (etcd's data survives a kill: it syncs its log before it answers)."""
        leader: int | None = None
        with contextlib.suppress(StoreError):
            leader = await self.leader(timeout_s=1.0)
        await asyncio.gather(
            *(_stop_member(m) for index, m in enumerate(self.members) if index != leader)
        )
        links = [m.link for m in self.members if m.link is not None]
        for member in self.members:
            member.link = None
        for link in links:
            await link.close()
        if links and any(m.running for m in self.members):
            # the leader notices its peers' connections reset only once it is scheduled: on a
            # loaded machine a SIGTERM sent at once can still find them "connected"
            await asyncio.sleep(LINKS_SETTLE_S)
        await asyncio.gather(
            *(_stop_member(member, timeout_s=LEADER_STOP_S) for member in self.members)
        )


async def _stop_member(member: Member, timeout_s: float = STOP_TIMEOUT_S) -> None:
    child, member.child = member.child, None
    if child is not None:
        await child.stop(signal.SIGTERM, timeout_s=timeout_s)
    member.pid_file.unlink(missing_ok=True)


def _stop_leftover(member: Member) -> None:
    """Stop an etcd a dead owner left on this member's data (its pid file, and its command
    line naming this data directory, so a recycled pid is never signalled)."""
    try:
        pid = int(member.pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return
    if not (cmdline and cmdline[0].endswith(b"etcd") and str(member.data_dir).encode() in cmdline):
        return
    signal_pid(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and pid_alive(pid):
        time.sleep(0.05)
    if pid_alive(pid):
        signal_pid(pid, signal.SIGKILL)


def _tail(path: Path, lines: int = 2) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return "no log"
    return " | ".join(line[:300] for line in text)
