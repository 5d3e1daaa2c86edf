"""deploy/swarm/stack.yaml checked offline against the code it runs and the swarm it is made for
(no IPVS: DNS round robin and host-mode ports only); tests/docker/test_swarm_stack.py deploys it."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from lbdemo import config
from lbdemo.balancer.__main__ import build_parser, config_from_args
from lbdemo.docker import contract, entry, healthcheck
from tests.deploy.compose_file import COMPOSE_FILE, interpolate
from tests.deploy.compose_file import services as compose_services
from tests.deploy.roles import parse_role
from tests.docker.swarm import STORE_LABEL

STACK_FILE = COMPOSE_FILE.parent / "deploy" / "swarm" / "stack.yaml"
PASSWORD_FILE = Path(__file__)
ENV = {"LBDEMO_PG_PASSWORD_FILE": str(PASSWORD_FILE)}
REPLICA_ROLES = {"replica", "private-replica"}


def _services() -> dict[str, dict[str, Any]]:
    loaded = yaml.safe_load(STACK_FILE.read_text(encoding="utf-8"))
    return interpolate(loaded, ENV)["services"]  # type: ignore[no-any-return]


def test_no_service_needs_a_virtual_ip_or_the_routing_mesh() -> None:
    for name, service in _services().items():
        assert service["deploy"]["endpoint_mode"] == "dnsrr", name
        for port in service.get("ports", []):
            assert port["mode"] == "host", name
            if service["command"][0] in REPLICA_ROLES:
                # N tasks on one node: each gets a port of the engine's choosing
                assert port == {"target": contract.REPLICA_PORT, "mode": "host"}, name


def test_the_image_and_the_password_are_compose_yamls() -> None:
    image = {s["image"] for s in compose_services(ENV).values()}
    for name, service in _services().items():
        assert {service["image"]} == image, name
        if service["command"][0] in entry.ROLES:
            assert service["secrets"] == [
                {
                    "source": "pgpassword",
                    "target": "pgpassword",
                    "uid": str(contract.UID),
                    "gid": str(contract.GID),
                    "mode": 0o400,
                }
            ], name
            assert service["environment"][contract.PASSWORD_FILE_ENV] == contract.PASSWORD_FILE


def test_the_shared_store_is_on_the_volume_and_pinned_to_its_node() -> None:
    db = _services()["db"]
    assert db["command"] == ["store"]
    assert db["volumes"] == [f"pgdata:{contract.PGDATA}"]
    key, value = STORE_LABEL.split("=")
    assert db["deploy"]["placement"] == {"constraints": [f"node.labels.{key} == {value}"]}
    assert db["deploy"]["replicas"] == 1
    assert db["deploy"]["update_config"]["order"] == "stop-first", "one server per data directory"


def test_every_replica_is_named_by_its_slot_and_on_its_layouts_store(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found = _services()
    replicas = {n: s for n, s in found.items() if s["command"][0] in REPLICA_ROLES}
    assert set(replicas) == {"replica", "private-replica"}
    for name, service in replicas.items():
        assert service["hostname"] == f"{name}-{{{{.Task.Slot}}}}", "X-Replica: NAME-SLOT"
        assert service["healthcheck"]["test"][-1] == "replica"
    args = parse_role(
        found["replica"]["command"], found["replica"]["environment"], PASSWORD_FILE, monkeypatch
    )
    assert urlsplit(args.dsn).hostname == "db" and urlsplit(args.dsn).port == contract.STORE_PORT
    # the private replica's store is its own child: no DSN to another service
    assert found["private-replica"]["command"] == ["private-replica"]
    assert config.STORE_DSN_ENV not in found["private-replica"]["environment"]


@pytest.mark.parametrize(
    ("balancer", "replica"), [("balancer", "replica"), ("private-balancer", "private-replica")]
)
def test_each_balancer_discovers_its_layouts_tasks(balancer: str, replica: str) -> None:
    service = _services()[balancer]
    assert service["command"][:3] == ["python", "-m", "lbdemo.balancer"]
    parsed = config_from_args(build_parser().parse_args(service["command"][3:]), None)
    assert parsed.upstreams == ()
    assert [(u.name, u.host, u.port) for u in parsed.discover] == [
        (replica, f"tasks.{replica}", contract.REPLICA_PORT)
    ]
    assert (parsed.listen_host, parsed.listen_port) == ("0.0.0.0", healthcheck.BALANCER_PORT)
    [port] = service["ports"]
    assert port["target"] == healthcheck.BALANCER_PORT and port["mode"] == "host"
