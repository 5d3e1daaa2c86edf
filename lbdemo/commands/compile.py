"""``lbdemo compile``: build the balancer's compiled data path (mypyc) into the state root."""

from __future__ import annotations

import argparse
import shlex

from lbdemo.config import COMPILED_DIR, add_state_argument, state_root


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "compile",
        help="compile the balancer's data path with mypyc (optional, faster)",
        description="Compile the balancer's per-request modules from their typed source with "
        "mypyc into <state>/compiled/. Balancers started with LBDEMO_COMPILED set to that "
        "directory load the build whose digest matches their sources, else run as Python. "
        "Needs mypyc (pip install 'lbdemo[compiled]'), a C compiler and the Python headers.",
    )
    add_state_argument(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lbdemo.balancer.native import COMPILED_ENV, HOT_MODULES, find_build
    from lbdemo.balancer.native_build import build

    root = state_root(args) / COMPILED_DIR
    if (built := find_build(root)) is not None:
        print(f"up to date: {built} was compiled from these sources")
    else:
        built = build(root)
        print(f"compiled {len(HOT_MODULES)} modules of lbdemo.balancer into {built}")
    print(f"use it: export {COMPILED_ENV}={shlex.quote(str(root))}")
    return 0
