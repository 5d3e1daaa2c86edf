"""Processes: spawning children and knowing them by pid, the skeleton every server process runs
on, and the one "ready" line between the two."""
