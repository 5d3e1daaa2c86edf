"""The snapshot's parts that are pure functions of what they are fed: the divergence rule, the
hottest key, the dead cards, the verdict and its series (and the previous run kept on disk),
and ``POST /api/load``'s checks on a real socket."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession

from lbdemo.dashboard import Dashboard
from lbdemo.dashboard.deaths import DeadCards
from lbdemo.dashboard.divergence import HotKeys, steady_divergence
from lbdemo.dashboard.runs import LoadRun


def test_a_key_written_between_two_listings_is_not_compared() -> None:
    # shared storage: r1 listed before the write of w2, r2 after it; both rounds agree on that
    first = {"r1": {"a": "w1", "b": "x"}, "r2": {"a": "w2", "b": "x"}}
    second = {"r1": {"a": "w2", "b": "x"}, "r2": {"a": "w2", "b": "x"}}
    assert steady_divergence(first, second) == (set(), 1)


def test_values_held_steady_on_both_rounds_and_different_are_divergent() -> None:
    first = {"r1": {"a": "w1", "b": "x"}, "r2": {"b": "x"}, "r3": {"a": "w1", "b": "x"}}
    second = {k: dict(v) for k, v in first.items()}
    assert steady_divergence(first, second) == ({"a"}, 2)
    # a replica that did not answer the second round is left out, never guessed
    assert steady_divergence(first, {"r1": first["r1"]}) == (set(), 0)


def test_the_hottest_key_is_the_one_that_changed_most() -> None:
    hot = HotKeys(window=3)
    assert hot.hottest() is None
    hot.observe({"r1": {"a": "1", "b": "1"}})
    hot.observe({"r1": {"a": "2", "b": "1"}})
    hot.observe({"r1": {"a": "3", "b": "2"}})
    assert hot.hottest() == "a"
    for _ in range(5):  # writes stopped: the last hot key stays shown
        hot.observe({"r1": {"a": "3", "b": "2"}})
    assert hot.hottest() == "a"


def _card(name: str, cid: str) -> dict[str, Any]:
    return {"name": name, "id": cid[:12], "dead": False, "health": "healthy"}


def test_a_dead_card_stays_for_its_time_then_goes_and_an_upgrade_drops_it() -> None:
    deaths = DeadCards(dead_for_s=60)
    last = {"old2": _card("lbdemo-r2", "old2")}
    events: list[dict[str, Any]] = [
        {"event": "die", "name": "lbdemo-r2", "id": "old2", "exit_code": 137},
        {"event": "replace", "name": "lbdemo-r2", "old_id": "old2", "new_id": "new2"},
    ]
    deaths.update(events, last)
    (card,) = deaths.cards({"new2"})
    assert card["dead"] and card["replaced_by"] == "new2"
    assert card["health"] == "died, exit status 137"
    events.append({"event": "upgrade", "old": "lbdemo-r1", "new": "lbdemo-r4"})
    deaths.update(events, last)
    assert deaths.cards({"new2"}) == []
    quick = DeadCards(dead_for_s=0)
    quick.update(events[:1], last)
    assert quick.cards(set()) == []  # its time is over


def test_the_verdict_follows_the_run_and_the_previous_series_survives(tmp_path: Path) -> None:
    runs = LoadRun(tmp_path / "last-run.json")
    assert runs.describe_verdict()["text"] == "no load yet"
    runs.start("r1", "load-private", "load")
    assert runs.describe_verdict()["text"] == "consistent so far"
    runs.line("progress: elapsed=1.0s ops=100 stale_reads=0", run_id="r1")
    runs.line("progress: elapsed=2.0s ops=200 stale_reads=30", run_id="r1")
    runs.line("progress: elapsed=3.0s ops=300 stale_reads=99", run_id="other")  # ignored
    verdict = runs.describe_verdict()
    assert (verdict["text"], verdict["stale_reads"]) == ("INCONSISTENT", 30)
    assert runs.describe_series()["current"]["stale_reads_per_s"] == [0.0, 30.0]
    runs.finish("r1", verdict="inconsistent", stale_reads=41, lost_writes=2)
    verdict = runs.describe_verdict()
    assert (verdict["state"], verdict["stale_reads"], verdict["lost_writes"]) == (
        "finished",
        41,
        2,
    )
    # after down/up: no run yet, the last one beside for contrast
    again = LoadRun(tmp_path / "last-run.json")
    assert again.describe_verdict()["text"] == "no load yet"
    assert again.describe_series()["previous"]["stale_reads_per_s"] == [0.0, 30.0]
    again.start("r2", "load-shared", "load")
    again.line("progress: elapsed=1.0s ops=100 stale_reads=0", run_id="r2")
    again.finish("r2", verdict="consistent", stale_reads=0, lost_writes=0)
    assert again.describe_verdict()["text"] == "consistent"
    assert again.describe_series()["previous"]["label"] == "load-private"
    assert json.loads((tmp_path / "last-run.json").read_text())["label"] == "load-shared"


@pytest.mark.parametrize(
    "body",
    [
        "[1]",
        "not json",
        json.dumps({"event": "start"}),
        json.dumps({"event": "start", "run": "r", "source": "elsewhere"}),
        json.dumps({"event": "lines", "run": "r", "lines": "progress: ops=1"}),
        json.dumps({"event": "end", "run": "r", "verdict": "maybe"}),
        json.dumps({"event": "end", "run": "r", "verdict": None, "stale_reads": -1}),
        json.dumps({"event": "end", "run": "r", "verdict": None, "html": "/etc/passwd"}),
        json.dumps({"event": "explode", "run": "r"}),
    ],
)
async def test_bad_load_messages_are_400_with_json_and_change_nothing(body: str) -> None:
    board = Dashboard()
    await board.start()
    try:
        headers = {"Authorization": f"Bearer {board.token}"}
        async with (
            ClientSession(headers=headers) as http,
            http.post(f"{board.url}/api/load", data=body) as r,
        ):
            assert r.status == 400 and "error" in await r.json()
        assert board.runs.describe_verdict()["text"] == "no load yet"
    finally:
        await board.stop()


async def test_load_messages_need_the_token_and_move_the_verdict() -> None:
    board = Dashboard()
    await board.start()
    try:
        start = {"event": "start", "run": "r", "label": "load-private", "source": "load"}
        async with ClientSession() as http:
            async with http.post(f"{board.url}/api/load", json=start) as r:
                assert r.status == 401
            headers = {"Authorization": f"Bearer {board.token}"}
            lines = {"event": "lines", "run": "r", "lines": ["progress: elapsed=1s stale_reads=3"]}
            for message in (start, lines):
                async with http.post(f"{board.url}/api/load", json=message, headers=headers) as r:
                    assert r.status == 200
            async with http.put(f"{board.url}/api/key/apple", headers=headers) as r:
                assert r.status == 200 and board.watched_key == "apple"
            async with http.put(f"{board.url}/api/key/a%20b", headers=headers) as r:
                assert r.status == 400
        assert board.runs.describe_verdict()["text"] == "INCONSISTENT"
        assert board.runs.counts.stale_reads == 3
    finally:
        await board.stop()


def test_a_slow_replacement_is_still_seen_beside_the_dead_card() -> None:
    deaths = DeadCards(dead_for_s=0.5)
    last = {"old2": _card("lbdemo-r2", "old2")}
    events: list[dict[str, Any]] = [
        {"event": "die", "name": "lbdemo-r2", "id": "old2", "exit_code": 137}
    ]
    deaths.update(events, last)
    time.sleep(0.4)  # a loaded machine starts the replacement late
    events.append({"event": "replace", "name": "lbdemo-r2", "old_id": "old2", "new_id": "new2"})
    deaths.update(events, last)
    time.sleep(0.3)  # past the death's own time, not past the replacement's
    assert [c["replaced_by"] for c in deaths.cards({"new2"})] == ["new2"]
    time.sleep(0.3)
    assert deaths.cards({"new2"}) == []
