"""What makes `lbdemo demo` exit 1: the contrast it exists to show did not appear."""

from __future__ import annotations

from typing import Any

from lbdemo.demo.runner import expectations


def _report(label: str, storage: str, verdict: str) -> dict[str, Any]:
    return {"run": {"label": label, "layout": {"storage": storage}}, "verdict": verdict}


def test_the_expected_contrast_is_no_problem() -> None:
    reports = [
        _report("private", "private", "inconsistent"),
        _report("shared", "shared", "consistent"),
    ]
    assert expectations("consistency", reports) == []


def test_an_inconsistent_shared_run_and_a_clean_private_run_are_both_named() -> None:
    reports = [
        _report("private", "private", "consistent"),
        _report("shared", "shared", "inconsistent"),
    ]
    assert expectations("consistency", reports) == [
        "private: private storage showed no inconsistency",
        "shared: shared storage was not consistent",
    ]


def test_an_upgrade_that_loses_shared_writes_is_a_problem() -> None:
    shared = _report("upgrade-shared", "shared", "consistent")
    shared["upgrade"] = {
        "pre_upgrade_writes_acknowledged": 20,
        "pre_upgrade_writes_survived": {"lbdemo-r4": 20, "lbdemo-r5": 19},
    }
    assert expectations("upgrade", [shared]) == [
        "upgrade-shared: the shared store lost pre-upgrade writes"
    ]
