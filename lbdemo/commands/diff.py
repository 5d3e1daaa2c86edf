"""``lbdemo diff CONTAINER``: what the container changed in its layer, as ``docker diff`` prints it.

One line per change, sorted by path: ``A`` added, ``C`` changed, ``D`` deleted (see
:func:`lbdemo.containers.fs.layer_changes`). What went through a volume or a bind mount is not
in the layer and never shows: only the layer dies with the container.
"""

from __future__ import annotations

import argparse
import sys

from lbdemo.commands.backend import add_runtime_arguments, resolve_runtime
from lbdemo.config import add_state_argument, state_root
from lbdemo.containers.containers import ContainerStore
from lbdemo.containers.display import error_line
from lbdemo.containers.errors import NoSuchContainerError, NoSuchImageError
from lbdemo.containers.fs import layer_changes
from lbdemo.containers.images import find_image
from lbdemo.deploy.verbs import Refused
from lbdemo.docker.verbs import DockerBackend


def _diff(args: argparse.Namespace) -> int:
    if resolve_runtime(args) == "docker":  # the engine's own record of the layer
        try:
            changes = DockerBackend(args.project).diff(args.container)
        except Refused as exc:
            print(exc, file=sys.stderr)
            return 1
        for kind, path in changes:
            print(f"{kind} {path}")
        return 0
    try:
        container = ContainerStore(state_root(args)).get(args.container)
    except NoSuchContainerError as exc:
        print(error_line(exc), file=sys.stderr)
        return 1
    try:
        image = find_image(container.image_id)
    except NoSuchImageError:  # a record older than the image's current manifest
        image = find_image(container.image)
    for kind, path in layer_changes(container, image):
        print(f"{kind} {path}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    diff = subparsers.add_parser(
        "diff", help="changes to files in a container's layer against its image (docker diff)"
    )
    diff.add_argument("container", metavar="CONTAINER")
    add_state_argument(diff)
    add_runtime_arguments(diff)
    diff.set_defaults(func=_diff)
