"""One client, one request at a time, through a balancer for a while: what it answered.

    .venv/bin/python benchmarks/steady_client.py URL [--seconds 60] [--write] [--pause-ms 20]

Made to watch a deployment while its orchestrator changes it under the client (a rolling update,
a scale, a killed task: results/swarm.md): every request is ``GET URL/products/apple``, or with
``--write`` a ``PUT`` of a new price, and the tally is by HTTP status (or by the exception's
name when there was no answer). Prints one JSON line at the end.
"""

from __future__ import annotations

import argparse
import collections
import json
import time
import urllib.error
import urllib.request


def one(url: str, n: int, write: bool) -> str:
    data, method, headers = None, "GET", {}
    if write:
        body = {"price": n + 1, "write_id": f"steady-{n}"}
        data, method = json.dumps(body).encode(), "PUT"
        headers = {"Content-Type": "application/json"}
    request = urllib.request.Request(
        f"{url}/products/apple", data=data, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return str(response.status)
    except urllib.error.HTTPError as exc:
        return str(exc.code)
    except OSError as exc:
        return type(exc).__name__


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--pause-ms", type=float, default=20.0)
    args = parser.parse_args()
    tally: collections.Counter[str] = collections.Counter()
    began = time.monotonic()
    n = 0
    while time.monotonic() - began < args.seconds:
        tally[one(args.url.rstrip("/"), n, args.write)] += 1
        n += 1
        time.sleep(args.pause_ms / 1000)
    took = round(time.monotonic() - began, 1)
    print(json.dumps({"requests": n, "by_status": dict(tally), "seconds": took}))


if __name__ == "__main__":
    main()
