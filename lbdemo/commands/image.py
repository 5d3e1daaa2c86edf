"""``lbdemo image build [--base IMAGE]``: the project's image on the Docker Engine, its tag printed.

Built only when the engine lacks the tag for this source tree (:mod:`lbdemo.docker.image`); the
steps go to stderr, the tag alone to stdout, so ``TAG=$(lbdemo image build)`` works.
"""

from __future__ import annotations

import argparse
import sys

from lbdemo.config import IMAGE_BASE_ENV, add_state_argument, state_root


def _build(args: argparse.Namespace) -> int:
    from lbdemo.docker.engine import connect
    from lbdemo.docker.image import ensure_image

    client = connect()
    try:
        tag = ensure_image(
            client,
            state_root(args),
            base=args.base,
            no_cache=args.no_cache,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    finally:
        client.close()
    print(tag)
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    image = subparsers.add_parser("image", help="the project's image on a Docker Engine")
    verbs = image.add_subparsers(dest="verb", metavar="VERB", parser_class=type(image))
    verbs.required = True
    build = verbs.add_parser(
        "build",
        help="build the project's image from its Dockerfile (no registry needed) and print its tag",
    )
    build.add_argument(
        "--base",
        metavar="IMAGE",
        help=f"the base image (default: ${IMAGE_BASE_ENV}, else python:3.11-slim if the engine "
        "has it, else lbdemo/base:bookworm from scripts/build-base-image)",
    )
    build.add_argument(
        "--no-cache",
        action="store_true",
        help="build every layer again, even when the image for this tree exists",
    )
    add_state_argument(build)
    build.set_defaults(func=_build)
