"""compose.yaml checked against the code it runs, offline: the image lbdemo builds, the commands
the image's roles and the balancer accept (their own parsers read them), the ports the image
promises, the environment variables lbdemo reads, the volume, and loopback-only publishing."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest

import lbdemo
from lbdemo import config
from lbdemo.balancer.__main__ import build_parser, config_from_args
from lbdemo.docker import contract, entry, healthcheck
from lbdemo.docker.image import REGISTRY_BASE, REPOSITORY
from tests.deploy.compose_file import (
    COMPOSE_FILE,
    MissingVariable,
    document,
    raw,
    services,
    variables,
)
from tests.deploy.roles import parse_role

# a stand-in for the user's password file: any readable file with a line in it
PASSWORD_FILE = Path(__file__)
ENV = {"LBDEMO_PG_PASSWORD_FILE": str(PASSWORD_FILE)}
PASSWORD_SECRET = "pgpassword"
SHARED = {"db", "replica-1", "replica-2", "replica-3", "balancer"}
PRIVATE = {
    f"private-{name}"
    for name in ("db-1", "db-2", "db-3", "replica-1", "replica-2", "replica-3", "balancer")
}
BALANCER_MODULE = ["python", "-m", "lbdemo.balancer"]


def _profile(service: dict[str, Any]) -> tuple[str, ...]:
    return tuple(service.get("profiles", ()))


def _parse_role(service: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> argparse.Namespace:
    """The service's command as its role's own parser reads it, in the service's environment."""
    environment = {name: str(value) for name, value in service.get("environment", {}).items()}
    return parse_role(service["command"], environment, PASSWORD_FILE, monkeypatch)


def test_the_shared_stack_runs_by_default_and_the_private_one_only_with_its_profile() -> None:
    found = services(ENV)
    assert set(found) == SHARED | PRIVATE
    assert {n for n, s in found.items() if not _profile(s)} == SHARED
    assert {n for n, s in found.items() if _profile(s) == ("private",)} == PRIVATE


def test_every_service_runs_the_image_lbdemo_builds() -> None:
    dockerfile = (COMPOSE_FILE.parent / "Dockerfile").read_text()
    assert "ARG BASE=" + REGISTRY_BASE in dockerfile
    for name, service in services(ENV).items():
        assert service["image"] == f"{REPOSITORY}:{lbdemo.__version__}", name
        assert service["build"] == {"context": ".", "args": {"BASE": REGISTRY_BASE}}, name
    # the tag `lbdemo image build` prints, and the base it reads, through the same variables
    chosen = services(
        {
            **ENV,
            "LBDEMO_IMAGE": f"{REPOSITORY}:0.1.0-abc",
            config.IMAGE_BASE_ENV: "lbdemo/base:bookworm",
        }
    )
    assert {s["image"] for s in chosen.values()} == {f"{REPOSITORY}:0.1.0-abc"}
    assert {s["build"]["args"]["BASE"] for s in chosen.values()} == {"lbdemo/base:bookworm"}


def test_every_port_is_published_on_loopback_only_and_can_be_moved() -> None:
    found, text = services(ENV), raw()["services"]
    host_ports: list[int] = []
    for name, service in found.items():
        for spec, unfilled in zip(
            service.get("ports", []), text[name].get("ports", []), strict=True
        ):
            host, host_port, container_port = spec.split(":")
            assert host == "127.0.0.1", (name, spec)
            assert unfilled.split(":")[1].startswith("${"), f"{name}: {unfilled} is fixed"
            host_ports.append(int(host_port))
            if name in ("balancer", "private-balancer"):
                listen = build_parser().parse_args(service["command"][3:]).listen
                assert int(container_port) == listen[1]
            else:
                assert name.startswith(("replica-", "private-replica-")), f"{name} publishes"
                assert int(container_port) == contract.REPLICA_PORT
    assert len(host_ports) == len(set(host_ports)) == 2 * (3 + 1)


def test_role_commands_are_what_the_roles_accept(monkeypatch: pytest.MonkeyPatch) -> None:
    found = services(ENV)
    stores = {n for n, s in found.items() if s["command"] == ["store"]}
    assert stores == {"db", "private-db-1", "private-db-2", "private-db-3"}
    used_stores: list[str] = []
    for name, service in found.items():
        if service["command"][0] not in entry.ROLES:
            continue
        role, args = service["command"][0], _parse_role(service, monkeypatch)
        if role == "store":
            assert args.listen == ("0.0.0.0", contract.STORE_PORT)
            assert str(args.pgdata) == contract.PGDATA
            assert args.password == PASSWORD_FILE.read_text().strip()
            continue
        assert args.name == name, "X-Replica names the service"
        assert args.listen == ("0.0.0.0", contract.REPLICA_PORT)
        dsn = urlsplit(args.dsn)
        assert dsn.hostname in stores and dsn.port == contract.STORE_PORT
        assert dsn.password is None, "the password stays out of the DSN"
        assert _profile(found[dsn.hostname]) == _profile(service)
        assert service["depends_on"] == {dsn.hostname: {"condition": "service_healthy"}}
        used_stores.append(dsn.hostname)
    assert used_stores.count("db") == 3, "shared: every replica on the one store"
    assert sorted(s for s in used_stores if s != "db") == sorted(stores - {"db"}), (
        "private: one store per replica"
    )


@pytest.mark.parametrize("balancer", ["balancer", "private-balancer"])
def test_the_balancer_command_is_what_the_balancer_accepts(balancer: str) -> None:
    found = services(ENV)
    service = found[balancer]
    assert service["command"][:3] == BALANCER_MODULE
    balancer_config = config_from_args(build_parser().parse_args(service["command"][3:]), None)
    replicas = {
        n
        for n, s in found.items()
        if s["command"][0] == "replica" and _profile(s) == _profile(service)
    }
    assert balancer_config.listen_host == "0.0.0.0"
    assert {(u.name, u.host, u.port) for u in balancer_config.upstreams} == {
        (name, name, contract.REPLICA_PORT) for name in replicas
    }
    assert service["depends_on"] == {r: {"condition": "service_healthy"} for r in replicas}


def test_containers_get_only_the_environment_lbdemo_reads() -> None:
    known = {value for name, value in vars(config).items() if name.endswith("_ENV")}
    for name, service in raw()["services"].items():
        environment = service.get("environment", {})
        assert set(environment) <= known, name
        assert config.PGPASSWORD_ENV not in environment, f"{name}: the password in inspect"
        if service["command"][0] not in entry.ROLES:
            assert not environment and "secrets" not in service, f"{name} needs no password"
            continue
        # the password: the user's file, mounted where the roles are told to read it
        assert service["secrets"] == [PASSWORD_SECRET], name
        assert PurePosixPath(contract.PASSWORD_FILE).name == PASSWORD_SECRET
        assert environment[config.STORE_PASSWORD_FILE_ENV] == contract.PASSWORD_FILE
    secret = raw()["secrets"][PASSWORD_SECRET]["file"]
    assert secret.startswith("${LBDEMO_PG_PASSWORD_FILE:?"), "never a file of the repository"
    assert document(ENV)["secrets"][PASSWORD_SECRET]["file"] == ENV["LBDEMO_PG_PASSWORD_FILE"]
    with pytest.raises(MissingVariable, match="LBDEMO_PG_PASSWORD_FILE"):
        document({})


def test_the_shared_store_alone_mounts_the_named_volume() -> None:
    document, found = raw(), services(ENV)
    assert set(document["volumes"]) == {"lbdemo-pgdata"}
    mounts = {n: s["volumes"] for n, s in found.items() if s.get("volumes")}
    assert mounts == {"db": [f"lbdemo-pgdata:{contract.PGDATA}"]}
    assert all(s["command"] == ["store"] for n, s in found.items() if n.startswith("private-db"))


def test_healthchecks_ask_the_service_itself() -> None:
    for name, service in services(ENV).items():
        role = service["command"][0]
        if role not in entry.ROLES:
            assert service["command"][:3] == BALANCER_MODULE
            role = "balancer"
            listen = build_parser().parse_args(service["command"][3:]).listen
            assert listen[1] == healthcheck.BALANCER_PORT, "where its healthcheck asks"
        test = service["healthcheck"]["test"]
        assert test == ["CMD", "python", "-m", "lbdemo.docker.healthcheck", role], name
        assert role in healthcheck.ROLES


def test_the_file_reads_only_the_variables_it_documents() -> None:
    header = COMPOSE_FILE.read_text().split("services:")[0]
    ports = {v for v in variables() if v.endswith("_PORT")}
    assert variables() - ports == {"LBDEMO_IMAGE", config.IMAGE_BASE_ENV, "LBDEMO_PG_PASSWORD_FILE"}
    for name in variables() - ports:
        assert name in header, f"{name} is not explained at the top of compose.yaml"


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="no docker-compose installed")
def test_docker_compose_v1_reads_the_file_and_refuses_it_without_a_password(
    tmp_path: Path,
) -> None:
    empty = tmp_path / "empty.env"  # not the user's .env beside compose.yaml
    empty.write_text("")
    base = ["docker-compose", "--env-file", str(empty), "-f", str(COMPOSE_FILE)]
    clean = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    ok = subprocess.run(
        [*base, "--profile", "private", "config", "--services"],
        capture_output=True,
        text=True,
        env={**clean, **ENV},
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert set(ok.stdout.split()) == SHARED | PRIVATE
    refused = subprocess.run(
        [*base, "config", "-q"], capture_output=True, text=True, env=clean, timeout=60
    )
    assert refused.returncode != 0
    assert "set LBDEMO_PG_PASSWORD_FILE" in refused.stderr
