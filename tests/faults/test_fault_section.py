"""The faults report's section, on a hand-written history: which fault a failure, a stale read
and a lost write belong to, when the stack recovered, and what misses the goal."""

from __future__ import annotations

from lbdemo.checker.audit import Audit
from lbdemo.demo.faults import fault_section, faults_table, render_fault_section
from lbdemo.faults.nemesis import Injected
from lbdemo.history import History, HistoryHeader, Op


def op(
    kind: str,
    wid: str | None,
    invoke: float,
    complete: float,
    status: int | None = 200,
    outcome: str = "ok",
    client: str = "u1",
) -> Op:
    return Op(client, kind, "k", wid, 1, invoke, complete, status, outcome, "r1")


def history(*ops: Op) -> History:
    return History([HistoryHeader(0.0, 0.0)], sorted(ops, key=lambda o: o.invoke))


FAULTS = [
    Injected("kill-replica", "r1", start=10.0, end=12.0),
    Injected("reset", "r3", start=20.0, end=22.0),
]


def test_failures_belong_to_the_fault_they_ended_under_and_recovery_is_measured() -> None:
    h = history(
        op("write", "a", 0.0, 0.1),
        op("read", None, 9.9, 10.05, status=502, outcome="fail"),  # sent before, cut by the kill
        op("read", "a", 11.0, 11.1),
        op("read", None, 13.0, 15.5, status=503, outcome="fail"),  # after the kill's end
        op("read", "a", 16.0, 16.1),
        op("read", "a", 21.0, 21.1, client="u2"),
        op("read", "a", 30.0, 30.1),  # each client's last op is never counted as failed
        op("read", "a", 30.0, 30.1, client="u2"),
    )
    audit = Audit(replicas={"r1": {"k": "a"}})
    section = fault_section(h, audit, FAULTS, [0, 3, 4], storage="shared")
    kill, reset = section["faults"]
    assert section["before_faults"]["failed"] == 0, "the cut read is the kill's, not before it"
    assert (kill["failed_during"], kill["failed_after"]) == (1, 1)
    assert kill["recovered_after_s"] == 3.5 and kill["first_success_after_s"] == 4.1
    assert kill["retried"] == 3 and reset["retried"] == 1
    assert kill["requests"] == 1 and reset["requests"] == 1
    assert section["goal_problems"] == []
    text = render_fault_section(section)
    assert "| kill-replica: kill -9 of a replica" in text and "**met**" in text


def test_stale_reads_lost_writes_and_slow_recovery_miss_the_shared_goal() -> None:
    h = history(
        op("write", "a", 0.0, 0.1),
        op("write", "b", 10.5, 10.6),  # acknowledged during the kill...
        op("read", "a", 11.0, 11.1, client="u2"),  # ...then read stale
        op("read", None, 20.5, 33.0, status=None, outcome="fail", client="u3"),  # 11 s late
        op("read", "a", 40.0, 40.1, client="u3"),
        op("read", "a", 40.0, 40.1, client="u2"),
        op("read", "a", 40.0, 40.1),
    )
    audit = Audit(replicas={"r1": {"k": "a"}})  # b is lost: a was acknowledged before b was sent
    section = fault_section(h, audit, FAULTS, [None, None, None], storage="shared")
    kill, reset = section["faults"]
    assert (kill["stale_reads"], kill["lost_writes"], kill["retried"]) == (1, 1, None)
    assert reset["recovered_after_s"] == 11.0
    problems = " | ".join(section["goal_problems"])
    assert "kill-replica: 1 stale reads" in problems
    assert "kill-replica: 1 acknowledged writes lost" in problems
    assert "reset: failures went on 11.0 s" in problems
    private = fault_section(h, audit, FAULTS, [None] * 3, storage="private")
    assert private["goal_problems"] == [], "the goal is shared storage's"
    report = {"run": {"layout": {"storage": "shared"}}, "faults": section}
    assert "| kill-replica | 0 / 0 | 1 | 1 | 0.00 |" in faults_table([report])
