"""Both runtimes' client of the balancer's admin API: who is in the rotation.

The balancer owns its pool; a runtime's supervisor (local or Docker) only tells it what
changed: a container that started and is healthy joins (``POST /replicas``), one that is going
away is drained (``POST /replicas/{name}/drain``, optionally waiting until its in-flight
requests finished) and then removed (``DELETE /replicas/{name}``).
"""

from __future__ import annotations

from typing import Any

import aiohttp

from lbdemo.errors import ProcessError

ADMIN_TIMEOUT_S = 40.0  # above the balancer's own drain timeout (30 s)


class BalancerAdmin:
    """Bearer-token client of one balancer's admin API, on one event loop."""

    def __init__(self, admin_url: str, token: str) -> None:
        self.admin_url = admin_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._session: aiohttp.ClientSession | None = None

    def _http(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                headers=self._headers, timeout=aiohttp.ClientTimeout(total=ADMIN_TIMEOUT_S)
            )
        return self._session

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, ok: tuple[int, ...] = ()
    ) -> Any:
        try:
            async with self._http().request(method, self.admin_url + path, json=body) as r:
                payload = await r.json(content_type=None)
                if r.status >= 400 and r.status not in ok:
                    raise ProcessError(
                        f"balancer admin {method} {path}: {r.status} "
                        f"{payload.get('error') if isinstance(payload, dict) else payload}"
                    )
                return payload
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise ProcessError(f"balancer admin {method} {path}: {exc}") from exc

    async def replicas(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self._call("GET", "/replicas")
        return result

    async def add(self, name: str, url: str) -> None:
        await self._call("POST", "/replicas", {"name": name, "url": url})

    async def drain(self, name: str, wait: bool) -> None:
        """Out of the rotation now; with ``wait``, return once its in-flight requests are done."""
        await self._call("POST", f"/replicas/{name}/drain" + ("?wait=1" if wait else ""), ok=(404,))

    async def remove(self, name: str) -> None:
        await self._call("DELETE", f"/replicas/{name}", ok=(404,))

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
