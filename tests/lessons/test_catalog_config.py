"""The replica's /etc/catalog configuration: parsed strictly, image defaults underneath."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from lbdemo.containers.images import catalog_conf
from lbdemo.replica.app import ReplicaSettings, create_app
from lbdemo.replica.catalog_config import (
    BANNER_HEADER,
    CatalogConfig,
    CatalogConfigSource,
    ConfigError,
    image_defaults,
    load,
    parse,
)
from lbdemo.store.postgres import PostgresStore


def test_image_defaults_keep_1_1s_krw() -> None:
    assert image_defaults("lbdemo/catalog:1.0") == CatalogConfig()
    assert image_defaults("lbdemo/catalog:1.1").currency == "KRW"
    assert image_defaults("lbdemo/catalog:latest") == CatalogConfig(), "unparsable tag: 1.0's"


def test_the_files_the_images_ship_say_what_their_defaults_say() -> None:
    assert parse(catalog_conf(""), CatalogConfig(currency="X")) == CatalogConfig()
    assert parse(catalog_conf("KRW"), CatalogConfig()) == CatalogConfig(currency="KRW")


def test_a_key_the_file_leaves_out_keeps_the_images_default() -> None:
    base = image_defaults("lbdemo/catalog:1.1")
    assert parse("banner = hi\n", base) == CatalogConfig(currency="KRW", banner="hi")
    assert parse("# nothing\n\n", base) == base
    assert parse("currency=\n", base) == CatalogConfig(), "an empty value turns it off"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("currency = euro\n", "catalog.conf:1: currency must be three capital letters"),
        ("\nprice = 3\n", "catalog.conf:2: unknown key 'price'"),
        ("just words\n", "catalog.conf:1: expected 'key = value'"),
        ("banner = " + "x" * 201 + "\n", "at most 200 printable characters"),
        ("banner = a\x07b\n", "printable"),
    ],
)
def test_bad_lines_are_named(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse(text, CatalogConfig())


def test_no_directory_or_no_file_means_the_images_defaults(tmp_path: Path) -> None:
    assert load(None, "lbdemo/catalog:1.1").currency == "KRW"
    assert load(tmp_path, "lbdemo/catalog:1.1").currency == "KRW"


def test_a_reload_keeps_the_running_config_when_the_new_file_is_bad(tmp_path: Path) -> None:
    conf = tmp_path / "catalog.conf"
    conf.write_text("currency = EUR\n")
    source = CatalogConfigSource(tmp_path, "lbdemo/catalog:1.0")
    assert source.current.currency == "EUR"
    conf.write_text("currency = USD\nbanner = sale\n")
    assert source.reload() and source.current == CatalogConfig("USD", "sale")
    conf.write_text("currency = dollars\n")
    assert not source.reload() and source.current == CatalogConfig("USD", "sale")


async def test_answers_carry_the_configured_currency_and_banner(
    store: PostgresStore, tmp_path: Path
) -> None:
    (tmp_path / "catalog.conf").write_text("currency = EUR\nbanner = hello\n")
    source = CatalogConfigSource(tmp_path, "lbdemo/catalog:1.0")
    app = create_app(ReplicaSettings(name="r1", catalog=source), store)
    async with TestClient(TestServer(app)) as client:
        put = await client.put("/products/a", json={"price": 5, "write_id": "w"})
        assert (await put.json())["currency"] == "EUR"
        missing = await client.get("/products/nope")
        assert missing.status == 404 and missing.headers[BANNER_HEADER] == "hello"
        (tmp_path / "catalog.conf").write_text("\n")
        source.reload()
        got = await client.get("/products/a")
        assert "currency" not in await got.json() and BANNER_HEADER not in got.headers
