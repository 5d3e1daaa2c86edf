"""Hold many half-sent request heads on one port, as a hostile local user would; report how
each ended. Run as its own process (``python -m tests.process.hold_heads PORT COUNT FIRST``)
so that the descriptors it holds are not the victim's.

Connections come from 127.0.0.FIRST onwards, ``PER_ADDRESS`` from each (a local user can use
the whole loopback /8). Each sends a head that never ends and waits for the server to answer
or close, at most ``--hold`` seconds after the last one was opened. One JSON line on stdout:
how many were opened, answered 408, answered 503, closed without an answer, reset, still open.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from collections import Counter

HALF_HEAD = b"GET /replicas HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer nope\r\nX-Slow: "
PER_ADDRESS = 400


async def _hold(port: int, source: str, deadline: list[float], out: Counter[str]) -> None:
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0)), 30
        )
    except TimeoutError:
        out["connect timed out"] += 1
        return
    except OSError as exc:
        out[f"connect failed: {exc.strerror}"] += 1
        return
    out["opened"] += 1
    try:
        writer.write(HALF_HEAD)
        await writer.drain()
        read = asyncio.ensure_future(reader.read())
        while True:
            # In slices: the deadline is only set once every connection was begun.
            try:
                data = await asyncio.wait_for(asyncio.shield(read), 0.5)
            except TimeoutError:
                if deadline[0] and time.monotonic() >= deadline[0]:
                    read.cancel()
                    out["still open"] += 1
                    return
                continue
            if data.startswith(b"HTTP/1.1 "):
                out[f"answered {data[9:12].decode()}"] += 1
            else:
                out["closed without answer"] += 1
            return
    except OSError:
        out["reset"] += 1
    finally:
        writer.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("count", type=int)
    parser.add_argument("first", type=int, help="first source address 127.0.0.FIRST")
    parser.add_argument("--hold", type=float, default=20.0)
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    out: Counter[str] = Counter()
    deadline = [0.0]
    began = time.monotonic()
    tasks = []
    for i in range(args.count):
        host = args.first + i // PER_ADDRESS
        source = f"127.0.{host // 256}.{host % 256}"
        tasks.append(asyncio.create_task(_hold(args.port, source, deadline, out)))
        if i % 200 == 199:
            await asyncio.sleep(0)  # let connects proceed, as a real flood would
    await asyncio.sleep(0.5)
    opened_in = time.monotonic() - began
    deadline[0] = time.monotonic() + args.hold
    await asyncio.gather(*tasks)
    print(json.dumps({**out, "opened_in_s": round(opened_in, 1)}), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
