"""A replica's etcd store URL: every member, its own first, and the read mode (no etcd needed)."""

from __future__ import annotations

import pytest

from lbdemo.errors import UsageError
from lbdemo.store.etcd_store import etcd_url, parse_etcd_url


def test_a_url_names_the_members_in_order_and_the_read_mode() -> None:
    url = etcd_url(["http://127.0.0.1:2379", "http://127.0.0.1:2380/"], "serializable")
    assert url == "etcd://127.0.0.1:2379,127.0.0.1:2380?read=serializable"
    assert parse_etcd_url(url) == (["http://127.0.0.1:2379", "http://127.0.0.1:2380"], True)
    assert parse_etcd_url("etcd://127.0.0.1:1") == (["http://127.0.0.1:1"], False)


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:1",
        "etcd://",
        "etcd://127.0.0.1",
        "etcd://127.0.0.1:0",
        "etcd://127.0.0.1:1,:2",
        "etcd://user:secret@127.0.0.1:1",
        "etcd://127.0.0.1:1?read=eventually",
    ],
)
def test_anything_else_is_refused_in_one_line_without_echoing_it(url: str) -> None:
    with pytest.raises(UsageError) as refused:
        parse_etcd_url(url)
    assert "secret" not in str(refused.value) and "\n" not in str(refused.value)
