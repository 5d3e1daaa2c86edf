"""One number format for every table that compares runs: thousands separators, fixed decimals.

A figure has a :class:`Unit`; the unit alone decides its decimals and suffix, so the same
quantity reads the same in every row, column and report (``17,191``, ``44.64 %``, ``6.03``),
and a difference of two figures is written in the same unit with a sign (``+1,204``,
``-44.64 pp``). ``None`` (not measured) is a dash.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

NOT_MEASURED = "–"


@dataclass(frozen=True)
class Unit:
    decimals: int
    scale: float = 1.0  # shown value = value × scale
    suffix: str = ""
    difference_suffix: str = ""


COUNT = Unit(0)
PERCENT = Unit(2, 100.0, " %", " pp")  # a ratio 0..1 shown as percent; differences in points
PER_SECOND = Unit(0)
MILLISECONDS = Unit(2)
SECONDS = Unit(1)
LOAD = Unit(2)  # load averages
GIB = Unit(1, 1 / 2**30, " GiB")  # memory, given in bytes


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def figure(value: Any, unit: Unit) -> str:
    """``value`` in ``unit``; text passes through, ``None`` is a dash."""
    if value is None:
        return NOT_MEASURED
    if not is_number(value):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    return f"{value * unit.scale:,.{unit.decimals}f}{unit.suffix}"


def difference(a: Any, b: Any, unit: Unit) -> str:
    """``b − a`` in ``unit``, signed; empty when either side was not measured or is text."""
    if not (is_number(a) and is_number(b)):
        return ""
    shown = (b - a) * unit.scale
    if round(shown, unit.decimals) == 0:
        text = f"{0:.{unit.decimals}f}"  # "0.00", not "+0.00" or "-0.00"
    else:
        text = f"{shown:+,.{unit.decimals}f}"
    return text + (unit.difference_suffix or unit.suffix)
