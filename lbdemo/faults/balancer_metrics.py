"""The balancer's counters, read from its Prometheus ``/metrics`` on the admin API."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

RETRIES = "lbdemo_balancer_retries"
REQUESTS = "lbdemo_balancer_requests"


def parse_retries(text: str) -> int | None:
    """The retries counter in a /metrics text; None when this balancer does not export it."""
    for family in text_string_to_metric_families(text):
        if family.name == RETRIES:
            return int(sum(s.value for s in family.samples if s.name.endswith("_total")))
    return None


async def scrape_metrics(admin_url: str, token: str, timeout_s: float = 5.0) -> str:
    """``GET <admin>/metrics`` with the bearer token; the text, or "" when it did not answer
    (a scrape must never break a fault run)."""
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as http,
            http.get(f"{admin_url.rstrip('/')}/metrics", headers=headers) as r,
        ):
            return await r.text() if r.status == 200 else ""
    except (aiohttp.ClientError, TimeoutError):
        return ""
