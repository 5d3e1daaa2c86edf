"""compose.yaml as compose itself reads it: YAML (merge keys included) with ``${NAME:-default}``
and ``${NAME:?message}`` filled in from a given environment."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

COMPOSE_FILE = Path(__file__).resolve().parents[2] / "compose.yaml"

_VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|:\?)(?P<arg>[^}]*))?\}")


class MissingVariable(Exception):
    """A ``${NAME:?message}`` whose variable is unset or empty."""


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """``value`` with every variable filled in, through lists and mappings."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def fill(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        current = env.get(name) or ""
        if current:
            return current
        if op == ":?":
            raise MissingVariable(arg)
        return arg if op == ":-" else ""

    return _VARIABLE.sub(fill, value)


def raw() -> dict[str, Any]:
    """The file as YAML, variables untouched (``x-`` fragments merged by YAML's ``<<``)."""
    loaded = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def document(env: dict[str, str]) -> dict[str, Any]:
    """The whole file with its variables filled in from ``env``."""
    return interpolate(raw(), env)  # type: ignore[no-any-return]


def services(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Every service, profiles included, with its variables filled in from ``env``."""
    return document(env)["services"]  # type: ignore[no-any-return]


def variables() -> set[str]:
    """Every variable the file reads."""
    return {m["name"] for m in _VARIABLE.finditer(COMPOSE_FILE.read_text(encoding="utf-8"))}
