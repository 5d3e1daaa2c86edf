"""``--dashboard-host`` beyond loopback is said on stderr, as ``up --host`` says it (issue 21)."""

from __future__ import annotations

import argparse

import pytest

from lbdemo.commands.up import add_dashboard_arguments, dashboard_from


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_dashboard_arguments(parser)
    return parser.parse_args(["--dashboard", *argv])


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.7", "example.test"])
def test_a_dashboard_beyond_loopback_is_warned_about(
    host: str, capsys: pytest.CaptureFixture[str]
) -> None:
    dashboard = dashboard_from(_args("--dashboard-host", host))
    assert dashboard is not None and dashboard.host == host
    err = capsys.readouterr().err
    assert err.startswith(f"lbdemo: warning: the dashboard listens on {host}: ")
    assert err.count("\n") == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "127.0.0.2", "localhost"])
def test_a_loopback_dashboard_is_not(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert dashboard_from(_args("--dashboard-host", host)) is not None
    assert capsys.readouterr().err == ""
