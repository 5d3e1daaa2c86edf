"""The one skeleton every server process of lbdemo runs on: replica, balancer, bench replica.

A server's ``__main__`` only parses its own options and says how to build its server; this
module does the rest, the same way for each (uvicorn's habit):

* options: :func:`lbdemo.process.options.server_parser` gives every server ``--listen
  HOST:PORT``, ``--no-uvloop`` and ``--log-level``; a bad argument is one line on stderr and exit
  status 2, never a traceback.
* the event loop: uvloop unless ``--no-uvloop`` (or uvloop is not installed).
* signals: SIGTERM and SIGINT only set an event.
* startup → serve until stopped → shutdown, in that order. ``shutdown`` always runs, also after a
  startup that failed half-way or was interrupted by a signal.
* the ready line (:mod:`lbdemo.process.ready`): once listening, one JSON line on stdout;
  :func:`lbdemo.process.spawn.spawn` waits for it.

Exit status: 0 after a stop signal, 2 for bad input (:class:`UsageError`), 1 when the server
could not start (any other :class:`LbdemoError`, or an ``OSError`` such as a port in use) or
ended on its own (the store's PostgreSQL died: see ``until_failed`` below).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiohttp import web

from lbdemo.errors import LbdemoError, ProcessError, UsageError
from lbdemo.process.address import http_url
from lbdemo.process.ready import announce_ready


class Server(Protocol):
    """What the skeleton runs: built inside the running loop, started once, shut down once."""

    async def startup(self) -> dict[str, Any]:
        """Start listening; return the ready line's fields (``url`` at least)."""

    async def shutdown(self) -> None:
        """Release whatever startup acquired, also when startup failed or was cancelled."""

    # Optional: ``async def until_failed(self) -> None``, for a server that can end on its own
    # (the PostgreSQL it runs died): it raises a LbdemoError saying why, and the process then
    # exits with status 1 rather than serving on, so a supervisor (Docker's restart policy) sees.


def serve(
    name: str,
    make_server: Callable[[], Server],
    *,
    use_uvloop: bool = True,
    log_level: str = "WARNING",
) -> int:
    """Run a server process to the end and return its exit status; see the module docstring.

    ``name`` starts every error line; ``make_server`` is called inside the running loop.
    """
    logging.basicConfig(
        level=log_level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        with asyncio.Runner(loop_factory=_loop_factory(use_uvloop)) as runner:
            return runner.run(_lifecycle(make_server))
    except UsageError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 2
    except LbdemoError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{name}: error: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C before the loop's own handler was installed
        return 130


def _loop_factory(use_uvloop: bool) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop for the data path; ``None`` lets asyncio make its own.

    Only servers use uvloop: supervising code stays on asyncio, whose subprocesses support the
    ``user=``/``group=`` that starting PostgreSQL as root needs.
    """
    if not use_uvloop:
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _lifecycle(make_server: Callable[[], Server]) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = make_server()
    stopped = asyncio.ensure_future(stop.wait())
    try:
        # A signal during startup (a store that takes long to answer) stops the process too.
        starting = asyncio.ensure_future(server.startup())
        await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            return 0
        announce_ready(**starting.result())
        watch: Callable[[], Awaitable[None]] | None = getattr(server, "until_failed", None)
        if watch is None:
            await stopped
            return 0
        failed = asyncio.ensure_future(watch())
        await asyncio.wait({failed, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not failed.done():
            failed.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await failed
            return 0
        failed.result()  # raises the server's reason, printed as the process's last line
        raise ProcessError("the server ended on its own")
    finally:
        stopped.cancel()
        await server.shutdown()


class AppServer:
    """A :class:`Server` for one aiohttp application, started as aiohttp's docs start one."""

    def __init__(
        self,
        app: web.Application,
        host: str,
        port: int,
        *,
        make_runner: Callable[..., web.AppRunner] = web.AppRunner,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self._make_runner = make_runner
        self._runner: web.AppRunner | None = None

    async def startup(self) -> dict[str, Any]:
        self._runner = self._make_runner(self.app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            raise ProcessError(
                f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}"
            ) from exc
        bound = self._runner.addresses[0]
        return {"url": http_url(bound[0], bound[1])}

    async def shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()  # lets in-flight requests finish, then closes
            self._runner = None
