"""The compiled data path's loader (lbdemo/balancer/native.py) and ``lbdemo compile``'s refusals.

No C compiler needed: builds here are directories made by hand, so what is tested is what the
loader accepts. ``test_compiled_balancer.py`` compiles for real.
"""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lbdemo.balancer import native
from lbdemo.balancer.native_build import missing_build_tool
from tests.utils import run_cli, run_cli_process

VERSION = "9.9.9"


def fake_build(root: Path, digest: str, files: dict[str, str] | None = None) -> Path:
    """A build directory as ``lbdemo compile`` leaves it, with garbage for extension modules."""
    build = root / digest
    build.mkdir(parents=True)
    if files is None:
        files = {name: f"{name}.so" for name in native.hot_module_names()}
    for relative in files.values():
        target = (build / relative).resolve()
        if build.resolve() in target.parents:
            target.write_bytes(b"not a shared object")
    manifest = {"format": native.MANIFEST_FORMAT, "mypyc": VERSION, "files": files}
    (build / native.MANIFEST).write_text(json.dumps(manifest))
    return build


def assert_refused_in_a_fresh_process(
    builds: Path, why: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``activate(builds)`` as a fresh process would call it (no hot module imported yet)
    loads nothing, installs no finder and logs ``why``."""
    for name in native.hot_module_names():
        monkeypatch.delitem(sys.modules, name, raising=False)
    meta_path = list(sys.meta_path)
    with caplog.at_level(logging.WARNING, logger=native.__name__):
        assert native.activate(builds) is None
    assert sys.meta_path == meta_path
    assert why in caplog.text


@pytest.fixture
def sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the balancer's sources that the digest is taken from, and a fixed compiler."""
    copy = tmp_path / "balancer"
    shutil.copytree(native.package_dir(), copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(native, "package_dir", lambda: copy)
    monkeypatch.setattr(native, "compiler_version", lambda: VERSION)
    return copy


def test_the_digest_names_sources_compiler_and_interpreter(sources: Path) -> None:
    before = native.source_digest(VERSION)
    assert native.source_digest(VERSION) == before
    assert native.source_digest("1.0") != before
    # Any source of the package counts, compiled or not: the compiled modules bind to them.
    config = sources / "config.py"
    config.write_text(config.read_text() + "\n# edited\n")
    assert native.source_digest(VERSION) != before


def test_a_build_of_todays_sources_is_found(sources: Path, tmp_path: Path) -> None:
    build = fake_build(tmp_path / "builds", native.source_digest(VERSION))
    assert native.find_build(tmp_path / "builds") == build


def test_a_build_of_edited_sources_is_never_found(sources: Path, tmp_path: Path) -> None:
    fake_build(tmp_path / "builds", native.source_digest(VERSION))
    client = sources / "client.py"
    client.write_text(client.read_text() + "\n# edited after the build\n")
    assert native.find_build(tmp_path / "builds") is None


@pytest.mark.parametrize(
    "damage",
    ["no manifest", "not json", "other format", "a module missing", "files not a dict"],
)
def test_an_incomplete_build_is_not_found(sources: Path, tmp_path: Path, damage: str) -> None:
    build = fake_build(tmp_path / "builds", native.source_digest(VERSION))
    manifest_path = build / native.MANIFEST
    manifest = json.loads(manifest_path.read_text())
    if damage == "no manifest":
        manifest_path.unlink()
    elif damage == "not json":
        manifest_path.write_text("{")
    else:
        if damage == "other format":
            manifest["format"] = "lbdemo-compiled/0"
        elif damage == "a module missing":
            del manifest["files"]["lbdemo.balancer.client"]
        else:
            manifest["files"] = ["lbdemo.balancer.client"]
        manifest_path.write_text(json.dumps(manifest))
    assert native.find_build(tmp_path / "builds") is None


def test_without_mypyc_there_is_no_build(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(native, "compiler_version", lambda: None)
    assert native.find_build(tmp_path) is None


def test_a_manifest_naming_files_outside_its_build_is_refused(
    sources: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "evil.so"
    outside.write_bytes(b"")
    files = {name: f"{name}.so" for name in native.hot_module_names()}
    files["lbdemo.balancer.client"] = "../../evil.so"
    fake_build(tmp_path / "builds", native.source_digest(VERSION), files)
    assert_refused_in_a_fresh_process(tmp_path / "builds", "outside", caplog, monkeypatch)


def test_activation_after_the_data_path_is_imported_is_refused(
    sources: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake_build(tmp_path / "builds", native.source_digest(VERSION))
    assert "lbdemo.balancer.client" in sys.modules  # this process imported it as Python
    meta_path = list(sys.meta_path)
    with caplog.at_level(logging.WARNING, logger=native.__name__):
        assert native.activate(tmp_path / "builds") is None
    assert sys.meta_path == meta_path
    assert "already imported" in caplog.text
    assert native.data_path_kind() == "interpreted"


def test_without_the_variable_nothing_is_activated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(native.COMPILED_ENV, raising=False)
    assert native.activate_from_environment() is None


def _import_in_a_fresh_process(env_dir: Path) -> subprocess.CompletedProcess[str]:
    code = "import lbdemo.balancer.client, lbdemo.balancer.native as n; print(n.data_path_kind())"
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**_clean_env(), native.COMPILED_ENV: str(env_dir)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != native.COMPILED_ENV}


@pytest.mark.skipif(native.compiler_version() is None, reason="mypy (mypyc) is not installed")
def test_a_damaged_build_falls_back_to_python_with_a_warning(tmp_path: Path) -> None:
    # The real digest of the real sources, with garbage where the extension modules should be.
    version = native.compiler_version()
    assert version is not None
    fake_build(tmp_path / "builds", native.source_digest(version))
    done = _import_in_a_fresh_process(tmp_path / "builds")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "interpreted"
    assert "failed to load" in done.stderr and "running interpreted" in done.stderr


def test_no_build_for_these_sources_runs_python_and_says_how_to_make_one(tmp_path: Path) -> None:
    done = _import_in_a_fresh_process(tmp_path / "nothing-here")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "interpreted"
    if native.compiler_version() is not None:
        assert "lbdemo compile" in done.stderr
    assert not (tmp_path / "nothing-here").exists()  # looking creates nothing


def test_compile_without_a_c_compiler_is_one_line_and_makes_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    done = run_cli_process(state, "compile", timeout=120, path=str(tmp_path / "empty-path"))
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert "cannot compile the balancer" in done.stderr
    assert not state.exists()


def test_compile_refuses_extra_arguments(tmp_path: Path) -> None:
    result = run_cli("compile", "--state", str(tmp_path / "s"), "--now")
    assert result.status == 2 and result.err.count("\n") == 1
    assert not (tmp_path / "s").exists()


def test_the_bench_says_why_there_is_no_compiled_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import argparse

    from lbdemo.balancer import native_build
    from lbdemo.commands import bench

    monkeypatch.setattr(native_build, "missing_build_tool", lambda: "no C compiler (cc)")
    args = argparse.Namespace(no_compiled=False, state=str(tmp_path / "state"))
    compiled, notes = bench._compiled_build(args)
    assert compiled is None
    assert notes == ("lbdemo-compiled not measured: no C compiler (cc)",)
    assert not (tmp_path / "state").exists()
    args.no_compiled = True
    assert bench._compiled_build(args) == (None, ())


def test_missing_build_tool_names_the_compiler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    why = missing_build_tool()
    if native.compiler_version() is None:
        assert why is not None and "mypyc" in why
    else:
        assert why is not None and why.startswith("no C compiler")


@pytest.mark.parametrize("where", ["builds", "build", "module"])
def test_a_build_others_can_write_to_is_refused(
    sources: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    # Loading runs the files' code: another user able to swap them must not get it run.
    build = fake_build(tmp_path / "builds", native.source_digest(VERSION))
    target = {
        "builds": tmp_path / "builds",
        "build": build,
        "module": build / "lbdemo.balancer.client.so",
    }[where]
    target.chmod(0o777 if target.is_dir() else 0o666)
    assert_refused_in_a_fresh_process(
        tmp_path / "builds", "writable by others", caplog, monkeypatch
    )


def test_a_build_is_not_writable_by_others_whatever_the_umask(
    sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With umask 002 the compiler's files come out group-writable, which the loader refuses:
    the build takes those bits away before it is renamed into place."""
    import os

    from lbdemo.balancer import native_build

    suffix = native_build.importlib.machinery.EXTENSION_SUFFIXES[0]

    def fake_compiler(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        out = Path(argv[-2])
        for name in native.hot_module_names():
            path = out.joinpath(*name.split(".")).with_suffix(suffix)
            path.parent.mkdir(mode=0o775, parents=True, exist_ok=True)
            path.write_bytes(b"")
            path.chmod(0o775)
        return subprocess.CompletedProcess(argv, 0)

    monkeypatch.setattr(native_build, "missing_build_tool", lambda: None)
    monkeypatch.setattr(native_build, "compiler_version", lambda: VERSION)
    monkeypatch.setattr(native_build.subprocess, "run", fake_compiler)
    old_umask = os.umask(0o002)
    try:
        built = native_build.build(tmp_path / "builds")
    finally:
        os.umask(old_umask)
    for path in [tmp_path / "builds", *built.rglob("*"), built]:
        assert not path.stat().st_mode & 0o022, path
    assert native._manifest_files(built)["lbdemo.balancer.client"].name == f"client{suffix}"


def test_mypyc_compiles_a_copy_outside_the_installed_package(
    sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Installed from a wheel, the sources sit in site-packages, which mypy then takes for a
    source root: every installed module "shadows" itself and the build fails. The child gets a
    copy of the package to compile, and the build is named after that copy."""
    from lbdemo.balancer import native_build

    seen: dict[str, object] = {}

    def fake_compiler(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[bytes]:
        copy = Path(argv[-1])
        seen["copy"] = copy
        seen["files"] = sorted(p.name for p in (copy / "balancer").glob("*.py"))
        seen["digest"] = native.source_digest(VERSION, copy / "balancer")
        return subprocess.CompletedProcess(argv, 1)  # stop here: nothing to load

    monkeypatch.setattr(native_build, "missing_build_tool", lambda: None)
    monkeypatch.setattr(native_build, "compiler_version", lambda: VERSION)
    monkeypatch.setattr(native_build.subprocess, "run", fake_compiler)
    with pytest.raises(native_build.ProcessError, match="mypyc failed"):
        native_build.build(tmp_path / "builds")
    copy = seen["copy"]
    assert isinstance(copy, Path) and copy.name == "lbdemo"
    assert (tmp_path / "builds") in copy.parents  # a scratch copy, not the package itself
    assert seen["files"] == sorted(p.name for p in native.package_dir().glob("*.py"))
    assert seen["digest"] == native.source_digest(VERSION)


def test_a_relative_directory_is_refused_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Children started elsewhere would resolve it elsewhere: compiled in some, not in others.
    monkeypatch.setenv(native.COMPILED_ENV, ".lbdemo/compiled")
    with caplog.at_level(logging.WARNING, logger=native.__name__):
        assert native.activate_from_environment() is None
    assert "must be an absolute path" in caplog.text


def test_up_says_compiled_beside_the_balancer_and_nothing_when_interpreted() -> None:
    from lbdemo.commands.up import render

    def described(data_path: str | None) -> dict[str, object]:
        return {
            "layout": {"storage": "shared", "summary": "one PostgreSQL"},
            "balancer": {
                "url": "http://127.0.0.1:8080",
                "admin_url": "http://127.0.0.1:8081",
                "admin_token_file": "/s/run/admin-token",
                "pid": 42,
                "data_path": data_path,
            },
            "replicas": [],
            "started_in_s": 1.0,
        }

    compiled, plain, older = (render(described(k)) for k in ("compiled", "interpreted", None))
    assert "http://127.0.0.1:8080  (pid 42, compiled)" in compiled
    assert "http://127.0.0.1:8080  (pid 42)" in plain and "compiled" not in plain
    assert older == plain  # a stack.json of an older lbdemo has no data_path
