"""A pytest plugin (``-p tests.native.expect_compiled``): the session must run compiled code.

``test_compiled_balancer.py`` runs the balancer's tests under ``$LBDEMO_COMPILED``; were the
build not loaded, they would pass on the interpreted modules and prove nothing.
"""

from __future__ import annotations

import pytest


def pytest_sessionstart(session: pytest.Session) -> None:
    from lbdemo.balancer import native

    if native.data_path_kind() != "compiled":
        raise pytest.UsageError("the compiled data path was not loaded ($LBDEMO_COMPILED)")
