"""The dashboard's address and token stay the same for a state root across ``up``s (a tab left
open reconnects by itself), a new stack says so with a new ``generation``, and the speaker can
ask for a new address."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.dashboard.live import detached_stack, streaming


async def _generation(url: str, token: str) -> str:
    async with streaming(url, token) as snapshots:
        _, snap = await snapshots.first(lambda s: s.get("stack") is not None)
    return str(snap["generation"])


@pytest.mark.slow
async def test_the_address_stays_across_ups_and_a_new_one_is_on_request(tmp_path: Path) -> None:
    options = ("--replicas", "1", "--storage", "private")
    with detached_stack(tmp_path, *options) as first:
        first_generation = await _generation(*first)
    with detached_stack(tmp_path, *options) as second:
        assert second == first
        assert await _generation(*second) != first_generation
    with detached_stack(tmp_path, *options, "--new-dashboard-address") as third:
        assert third[1] != first[1]
    # the remembered port taken by someone else: a free one, the token kept
    port = int(third[0].rsplit(":", 1)[1])
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with detached_stack(tmp_path, *options) as fourth:
            assert fourth[1] == third[1] and fourth[0] != third[0]
