"""The parameters a sweep can vary: one table from a sweep name to the ``lbdemo demo`` option
it sets, so a point runs exactly what ``lbdemo demo`` with that option runs (same checks, same
pipeline). A new pipeline option is one row here.

``--vary NAME=V1,V2,...`` is parsed by :func:`parse_vary`; several ``--vary`` make the product
of their values (the last varies fastest); a ``--vary`` with one value fixes that option for
every point.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from lbdemo.balancer.config import STRATEGIES
from lbdemo.errors import UsageError

MAX_POINTS = 64  # a sweep is minutes per point: more than this is a typo, not a plan


def _number(kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise ValueError(f"{'a whole number' if kind is int else 'a number'}") from None
        if isinstance(value, float) and not value == value:  # NaN
            raise ValueError("a number")
        return value

    return parse


def _strategy(text: str) -> str:
    if text not in STRATEGIES:
        raise ValueError(f"one of {', '.join(STRATEGIES)}")
    return text


@dataclass(frozen=True)
class Parameter:
    """One thing a sweep can vary, and the ``lbdemo demo`` option that sets it."""

    name: str
    option: str  # the demo's option, given the value as its argument
    parse: Callable[[str], Any]  # text -> value; ValueError with what was expected
    axis: str  # the chart's axis title
    numeric: bool = True  # drawn on a linear axis (else: one slot per value, in order given)


PARAMETERS = {
    p.name: p
    for p in (
        Parameter("replicas", "--replicas", _number(int), "replicas"),
        Parameter("users", "--users", _number(int), "Locust users"),
        Parameter("keys", "--keys", _number(int), "keys"),
        Parameter("write_ratio", "--write-ratio", _number(float), "share of writes"),
        Parameter("think_time", "--think-time", _number(float), "think time (ms)"),
        Parameter("apply_delay", "--apply-delay", _number(int), "apply delay (ms)"),
        Parameter("strategy", "--strategy", _strategy, "strategy", numeric=False),
        Parameter("region_rtt", "--region-rtt", _number(int), "round trip between regions (ms)"),
    )
}

_VARY = re.compile(r"([a-z_]+)=(.*)", re.DOTALL)


@dataclass(frozen=True)
class Axis:
    """One ``--vary``: a parameter and its values, in the order given."""

    parameter: Parameter
    values: tuple[Any, ...]

    @property
    def name(self) -> str:
        return self.parameter.name


def parse_vary(texts: Sequence[str]) -> list[Axis]:
    """Every ``--vary NAME=V1,V2,...``, checked: a UsageError (one line) names what is wrong."""
    if not texts:
        raise UsageError("sweep needs at least one --vary NAME=V1,V2,... (e.g. replicas=2,3,5)")
    axes: list[Axis] = []
    for text in texts:
        match = _VARY.fullmatch(text.strip())
        if match is None:
            raise UsageError(f"--vary {text!r}: expected NAME=V1,V2,... (e.g. replicas=2,3,5)")
        name, listed = match.groups()
        parameter = PARAMETERS.get(name)
        if parameter is None:
            raise UsageError(
                f"--vary {name}: not a sweep parameter; one of {', '.join(PARAMETERS)}"
            )
        if any(axis.name == name for axis in axes):
            raise UsageError(f"--vary {name} is given twice; list its values once")
        words = [word.strip() for word in listed.split(",")]
        if "" in words:
            raise UsageError(f"--vary {name}: an empty value in {listed!r}")
        values = []
        for word in words:
            try:
                values.append(parameter.parse(word))
            except ValueError as exc:
                raise UsageError(f"--vary {name}: {word!r} is not {exc}") from None
        if len(set(values)) < len(values):
            raise UsageError(f"--vary {name}: a value is listed twice")
        axes.append(Axis(parameter, tuple(values)))
    count = 1
    for axis in axes:
        count *= len(axis.values)
    if count > MAX_POINTS:
        raise UsageError(f"--vary makes {count} points; at most {MAX_POINTS}")
    return axes


def points(axes: Sequence[Axis]) -> list[dict[str, Any]]:
    """Every combination of the axes' values (the last axis varies fastest)."""
    names = [axis.name for axis in axes]
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(axis.values for axis in axes))
    ]


def demo_words(point: dict[str, Any]) -> list[str]:
    """The ``lbdemo demo`` options that set a point's values."""
    words: list[str] = []
    for name, value in point.items():
        words += [PARAMETERS[name].option, str(value)]
    return words


def point_name(point: dict[str, Any]) -> str:
    """A point's directory name: ``replicas=3`` or ``replicas=3,users=50``."""
    return ",".join(f"{name}={value}" for name, value in point.items())
