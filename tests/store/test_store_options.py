"""``--store``/``--read``: what each store runs, and a bad combination refused in one line.

Unit tests: nothing starts. A refusal is exit status 2, one line on stderr, no traceback, and
nothing made under the state root.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lbdemo.cli import main
from lbdemo.deploy.layout import Layout
from lbdemo.errors import UsageError
from lbdemo.store.factory import describe_store, store_kind


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["demo", "--store", "mongo"], "invalid choice: 'mongo'"),
        (["demo", "--store", "redis", "--layouts", "replicated-sync"], "runs the layouts"),
        (["demo", "--store", "etcd", "--layouts", "replicated-async"], "runs the layouts"),
        (["demo", "--read", "serializable"], "goes with --store etcd"),
        (["demo", "--store", "redis", "--read", "serializable"], "goes with --store etcd"),
        (["demo", "--store", "etcd", "--read", "sometimes"], "invalid choice: 'sometimes'"),
        (["demo", "--store", "redis", "--dsn", "postgresql://h/db"], "--store redis runs its own"),
        (["demo", "--store", "redis", "--apply-delay", "100"], "add it to --layouts"),
        (
            ["demo", "--store", "etcd", "--layouts", "private", "--apply-delay", "100"],
            "applies to shared",
        ),
        (["demo", "--store", "redis", "--runtime", "docker"], "lbdemo's own runtime only"),
        (["demo", "--store", "redis", "--scenario", "faults"], "consistency only"),
    ],
)
def test_a_bad_store_option_is_refused_in_one_line(
    argv: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = tmp_path / "state"
    with pytest.raises(SystemExit) as exited:
        raise SystemExit(main([*argv, "--state", str(state), "--out", str(tmp_path / "out")]))
    assert exited.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and says in lines[0], err
    assert "Traceback" not in err
    assert not state.exists() and not (tmp_path / "out").exists()


def test_up_refuses_a_layout_the_store_does_not_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(
        ["up", "--state", str(tmp_path), "--store", "redis", "--storage", "shared-datadir"]
    )
    err = capsys.readouterr().err.strip()
    assert status == 2 and len(err.splitlines()) == 1 and "runs the layouts" in err


def test_each_store_names_its_layouts_and_read_mode() -> None:
    redis = Layout.named("replicated-async", store="redis", apply_delay_ms=100)
    assert (redis.store, redis.reads_served_by, redis.volume) == (
        "redis",
        "replica",
        "lbdemo-redisdata",
    )
    assert redis.engine_shared and not redis.replicated and not redis.store_container
    described = redis.describe()
    assert described["store"] == "redis" and described["apply_delay_ms"] == 100
    etcd = Layout.named("shared", store="etcd", read_mode="serializable")
    assert etcd.name == "shared-volume" and etcd.reads_served_by == "serializable"
    assert Layout.named("shared", store="etcd").read_mode == "linearizable"
    private = Layout.named("private", store="redis")
    assert private.engine_per_replica and not private.store_per_replica and private.volume is None
    # PostgreSQL: unchanged, and says what serves its reads too
    pg = Layout.named("replicated-async")
    assert (pg.store, pg.reads_served_by, pg.replicated) == ("postgres", "standby", True)
    assert Layout.named("shared") == Layout.from_options("shared")
    with pytest.raises(UsageError, match="--apply-delay must be between"):
        Layout.named("replicated-async", store="redis", apply_delay_ms=-1)


def test_the_url_scheme_names_the_store_kind() -> None:
    assert store_kind("redis://127.0.0.1:1") == "redis"
    assert store_kind("postgresql://u@h/db") == "postgres"
    assert describe_store("etcd://127.0.0.1:1?read=serializable") == {
        "store": "etcd",
        "read_mode": "serializable",
    }
    assert describe_store("redis://a:1", "redis://a:2") == {
        "store": "redis",
        "read_mode": "replica",
    }
    with pytest.raises(UsageError) as refused:
        store_kind("mysql://secret@h/db")
    assert "secret" not in str(refused.value)


def test_get_each_replica_names_the_store_and_read_mode_beyond_postgres() -> None:
    from lbdemo.commands.get import _served_by, render

    row = {"asked": "lbdemo-r1", "replica": "lbdemo-r1", "container_id": "abc", "status": 200}
    row |= {"price": 7, "write_id": "w1", "error": None}
    stack = {"layout": {"store": "redis", "read_mode": "replica"}, "replicas": []}
    _served_by([row], stack)
    assert "redis/replica" in render([row], "apple")
    pg = {**row, "store": "postgres", "read_mode": "primary"}
    assert "STORE/READ" not in render([pg], "apple")  # PostgreSQL's output as the docs show it
