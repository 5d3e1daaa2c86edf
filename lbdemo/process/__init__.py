"""Processes: spawning children and knowing them by pid, the skeleton every server process runs
on, the one "ready" line between the two, and the policy every aiohttp port listens under."""
