"""deploy/kubernetes/ checked offline: every manifest against the Kubernetes API schemas that
kubernetes-validate bundles (strict: an unknown field is an error), and each variant against what
it must show and the commands lbdemo accepts."""

from __future__ import annotations

import argparse
import copy
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from kubernetes_validate import utils as k8s

import lbdemo
from lbdemo import config
from lbdemo.balancer.__main__ import build_parser, config_from_args
from lbdemo.docker import contract, entry, healthcheck
from lbdemo.docker.image import REPOSITORY
from tests.deploy.roles import parse_role

ROOT = Path(__file__).resolve().parents[2] / "deploy" / "kubernetes"
VARIANTS = ("private", "shared")
# Native sidecars (an init container's restartPolicy) are in the API from 1.28 and on by
# default from 1.29; the newest schemas bundled too.
VERSIONS = ("1.29", k8s.latest_version())
SECRET = "lbdemo-pg"
Doc = dict[str, Any]


def _load(path: Path) -> list[Doc]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def _kustomization(directory: Path) -> Doc:
    (document,) = _load(directory / "kustomization.yaml")
    return document


def render(directory: Path) -> list[Doc]:
    """The resources ``kubectl apply -k directory`` would send, before kustomize's transformers
    (this test checks the image name they would set)."""
    documents: list[Doc] = []
    for entry_name in _kustomization(directory)["resources"]:
        target = (directory / entry_name).resolve()
        documents += render(target) if target.is_dir() else _load(target)
    return documents


def manifests() -> list[Path]:
    return sorted(p for p in ROOT.glob("*/*.yaml") if p.name != "kustomization.yaml")


def _workloads(documents: list[Doc]) -> list[Doc]:
    return [d for d in documents if d["kind"] in ("Deployment", "StatefulSet")]


def _one(documents: list[Doc], kind: str, name: str) -> Doc:
    (found,) = [d for d in documents if d["kind"] == kind and d["metadata"]["name"] == name]
    return found


def _containers(workload: Doc) -> list[Doc]:
    pod = workload["spec"]["template"]["spec"]
    return [*pod.get("initContainers", []), *pod["containers"]]


def _role_args(container: Doc, monkeypatch: pytest.MonkeyPatch) -> tuple[str, argparse.Namespace]:
    """The container's args as its role's own parser reads them, in the container's environment
    (a file of this checkout stands in for the mounted password)."""
    environment = {e["name"]: e["value"] for e in container.get("env", [])}
    args = parse_role(container["args"], environment, Path(__file__), monkeypatch)
    return container["args"][0], args


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", manifests(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_manifest_is_valid_against_the_kubernetes_schemas(path: Path, version: str) -> None:
    for document in _load(path):
        k8s.validate(document, version, strict=True)


def test_the_schemas_are_strict_and_offline() -> None:
    """What the test above would catch: an unknown field, and a sidecar on a cluster too old."""
    (deployment,) = _load(ROOT / "private" / "replicas.yaml")
    misspelt = copy.deepcopy(deployment)
    misspelt["spec"]["template"]["spec"]["containers"][0]["arg"] = ["replica"]
    with pytest.raises(k8s.ValidationError):
        k8s.validate(misspelt, VERSIONS[0], strict=True)
    with pytest.raises(k8s.ValidationError):
        k8s.validate(deployment, "1.27", strict=True)


@pytest.mark.parametrize("directory", ["base", *VARIANTS])
def test_each_kustomization_lists_exactly_its_manifests(directory: str) -> None:
    here = ROOT / directory
    listed = _kustomization(here)["resources"]
    files = {p.name for p in here.glob("*.yaml") if p.name != "kustomization.yaml"}
    assert {r for r in listed if not r.startswith("..")} == files
    assert ("../base" in listed) == (directory != "base")


def test_no_secret_is_committed_and_every_container_reads_the_password_from_a_file() -> None:
    for path in manifests():
        assert all(d["kind"] != "Secret" for d in _load(path)), path
    for variant in VARIANTS:
        for workload in _workloads(render(ROOT / variant)):
            pod = workload["spec"]["template"]["spec"]
            assert pod["securityContext"]["runAsUser"] == contract.UID
            volumes = {v["name"]: v for v in pod.get("volumes", [])}
            for container in _containers(workload):
                env = {e["name"]: e.get("value") for e in container.get("env", [])}
                assert set(env) <= {v for n, v in vars(config).items() if n.endswith("_ENV")}
                assert config.PGPASSWORD_ENV not in env
                if container["args"][0] not in entry.ROLES:
                    continue
                assert env[config.STORE_PASSWORD_FILE_ENV] == contract.PASSWORD_FILE
                mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
                secret = volumes[mounts[str(PurePosixPath(contract.PASSWORD_FILE).parent)]]
                assert secret["secret"]["secretName"] == SECRET
                assert secret["secret"]["items"] == [
                    {"key": "password", "path": PurePosixPath(contract.PASSWORD_FILE).name}
                ]
    assert f"kubectl create secret generic {SECRET}" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_container_runs_lbdemo_s_image_with_commands_it_accepts(
    variant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    documents = render(ROOT / variant)
    images = _kustomization(ROOT / variant)["images"]
    assert images == [{"name": REPOSITORY, "newTag": lbdemo.__version__}]
    services = {d["metadata"]["name"]: d for d in documents if d["kind"] == "Service"}
    for workload in _workloads(documents):
        for container in _containers(workload):
            assert container["image"] == f"{REPOSITORY}:{lbdemo.__version__}"
            assert container["imagePullPolicy"] == "IfNotPresent"  # loaded, not pulled
            if container["args"][:3] == ["python", "-m", "lbdemo.balancer"]:
                balancer = config_from_args(build_parser().parse_args(container["args"][3:]), None)
                (upstream,) = balancer.upstreams
                port = services[upstream.host]["spec"]["ports"][0]["port"]
                assert upstream.port == port == contract.REPLICA_PORT
                assert balancer.listen_port == container["ports"][0]["containerPort"]
                continue
            role, args = _role_args(container, monkeypatch)
            if role == "replica":
                assert args.listen == ("0.0.0.0", contract.REPLICA_PORT)
                assert urlsplit(args.dsn).password is None
            probe = container.get("startupProbe") or container.get("readinessProbe")
            command = probe.get("exec", {}).get("command")
            if command is not None:
                assert command == ["python", "-m", "lbdemo.docker.healthcheck", role]
                assert role in healthcheck.ROLES


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_service_selects_the_pods_of_one_workload_by_a_port_they_name(
    variant: str,
) -> None:
    documents = render(ROOT / variant)
    workloads = _workloads(documents)
    for service in (d for d in documents if d["kind"] == "Service"):
        selector = service["spec"]["selector"].items()
        (selected,) = [
            w for w in workloads if selector <= w["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert selector <= selected["spec"]["selector"]["matchLabels"].items()
        ports = {p["name"] for c in _containers(selected) for p in c.get("ports", [])}
        assert {p["targetPort"] for p in service["spec"]["ports"]} <= ports


def test_private_storage_is_a_sidecar_per_pod_on_an_empty_dir_and_no_claim(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    documents = render(ROOT / "private")
    assert {d["kind"] for d in documents} == {"Deployment", "Service"}
    assert "PersistentVolumeClaim" not in yaml.safe_dump_all(documents)
    assert "volumeClaimTemplates" not in yaml.safe_dump_all(documents)
    replicas = _one(documents, "Deployment", "replica")
    pod = replicas["spec"]["template"]["spec"]
    (store,) = pod["initContainers"]
    assert store["restartPolicy"] == "Always", "a native sidecar, running beside the replica"
    _, store_args = _role_args(store, monkeypatch)
    _, replica_args = _role_args(pod["containers"][0], monkeypatch)
    data = {m["name"]: m["mountPath"] for m in store["volumeMounts"]}["data"]
    assert store_args.pgdata.parent == Path(data)
    assert {v["name"]: v for v in pod["volumes"]}["data"] == {"name": "data", "emptyDir": {}}
    # its own store, over the pod's loopback, where the store listens
    dsn = urlsplit(replica_args.dsn)
    assert (dsn.hostname, dsn.port) == store_args.listen == ("127.0.0.1", contract.STORE_PORT)


def test_shared_storage_is_one_stateful_set_on_a_claim(monkeypatch: pytest.MonkeyPatch) -> None:
    documents = render(ROOT / "shared")
    db = _one(documents, "StatefulSet", "db")
    assert db["spec"]["replicas"] == 1, "one primary"
    (claim,) = db["spec"]["volumeClaimTemplates"]
    (store,) = _containers(db)
    _, store_args = _role_args(store, monkeypatch)
    data = {m["name"]: m["mountPath"] for m in store["volumeMounts"]}[claim["metadata"]["name"]]
    # a directory below the claim's root, which PostgreSQL may not own (lost+found)
    assert store_args.pgdata.parent == Path(data)
    assert store_args.listen == ("0.0.0.0", contract.STORE_PORT)
    service = _one(documents, "Service", db["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None"
    replicas = _one(documents, "Deployment", "replica")
    assert all("emptyDir" not in v for v in replicas["spec"]["template"]["spec"].get("volumes", []))
    (container,) = _containers(replicas)
    _, replica_args = _role_args(container, monkeypatch)
    dsn = urlsplit(replica_args.dsn)
    assert (dsn.hostname, dsn.port) == (service["metadata"]["name"], contract.STORE_PORT)
