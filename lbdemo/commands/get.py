"""``lbdemo get KEY [--each-replica]``: one product, through the balancer or from every replica.

With ``--each-replica`` every replica of the running stack is asked directly, bypassing the
balancer: the seed's picture of "product A" priced differently on each server, in one command.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from lbdemo.commands.backend import add_runtime_arguments, resolve_runtime
from lbdemo.config import add_state_argument, state_root
from lbdemo.errors import StateError, UsageError
from lbdemo.replica.lookup import ask_every
from lbdemo.replica.validation import PRODUCT_ID

TIMEOUT_S = 5.0


def register(subparsers: Any) -> None:
    get = subparsers.add_parser(
        "get",
        help="read one product through the balancer, or from every replica directly",
        description="Read product KEY from the running stack (`lbdemo up`). With "
        "--each-replica, ask every replica directly and show what each one holds.",
    )
    add_state_argument(get)
    add_runtime_arguments(get)  # accepted as elsewhere; the stack's stack.json says the rest
    get.add_argument("key", metavar="KEY", help="product id")
    get.add_argument(
        "--each-replica", action="store_true", help="ask every replica directly, not the balancer"
    )
    get.add_argument("--json", action="store_true", help="print JSON")
    get.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not PRODUCT_ID.fullmatch(args.key):
        raise UsageError(f"a product id must match {PRODUCT_ID.pattern}, got {args.key!r}")
    resolve_runtime(args)  # a --project without a Docker runtime is refused, as elsewhere
    description = _running_stack(args)
    if args.each_replica:
        targets = [(r["name"], r["id"], r["url"]) for r in description["replicas"]]
    else:
        targets = [("balancer", "", description["balancer"]["url"])]
    rows = asyncio.run(ask_every(targets, args.key))
    if args.each_replica:
        _served_by(rows, description)
    if args.json:
        print(json.dumps(rows, indent=2))
    else:
        print(render(rows, args.key))
    return 0


def _running_stack(args: argparse.Namespace) -> dict[str, Any]:
    root = state_root(args)
    try:
        data = json.loads((root / "run" / "stack.json").read_text())
    except (OSError, ValueError):
        raise StateError(f"no stack is running on {root}; start one with `lbdemo up`") from None
    if not isinstance(data, dict) or "replicas" not in data:
        raise StateError(f"{root / 'run' / 'stack.json'} is not a stack description")
    return data


def _served_by(rows: list[dict[str, Any]], description: dict[str, Any]) -> None:
    """Each row gets the store and read mode its replica said serve it (its ready line, in
    ``stack.json``), else the stack's layout's: e.g. ``redis``/``replica``, ``etcd``/
    ``serializable``, ``postgres``/``standby``."""
    layout = description.get("layout") or {}
    replicas = {r.get("name"): r for r in description.get("replicas", [])}
    for row in rows:
        replica = replicas.get(row["asked"], {})
        row["store"] = replica.get("store") or layout.get("store") or "postgres"
        row["read_mode"] = replica.get("read_mode") or layout.get("read_mode") or "primary"


def render(rows: list[dict[str, Any]], key: str) -> str:
    # a store beyond PostgreSQL (the default, whose output stays as the docs show it) gets a
    # column saying which store and read mode served each replica's answer
    engines = any(row.get("store", "postgres") != "postgres" for row in rows)
    served = f"  {'STORE/READ':<20}" if engines else ""
    lines = [f"{key}:", f"  {'REPLICA':<12} {'CONTAINER':<12} {'PRICE':>10}  WRITE ID"]
    if engines:
        lines[1] = f"  {'REPLICA':<12} {'CONTAINER':<12}{served} {'PRICE':>10}  WRITE ID"
    for row in rows:
        who = row["replica"] or row["asked"]
        if row["status"] == 200:
            what = f"{row['price']:>10}  {row['write_id']}"
        elif row["status"] == 404:
            what = f"{'-':>10}  (not found)"
        else:
            why = row["error"] or f"HTTP {row['status']}"
            what = f"{'?':>10}  ({why})"
        via = f"  {row['store'] + '/' + row['read_mode']:<20}" if engines else ""
        lines.append(f"  {who:<12} {row['container_id']:<12}{via} {what}")
    values = {(r["price"], r["write_id"]) for r in rows if r["status"] in (200, 404)}
    if len(rows) > 1:
        lines.append(
            "  the replicas agree"
            if len(values) == 1
            else f"  the replicas disagree: {len(values)} different answers"
        )
    return "\n".join(lines)
