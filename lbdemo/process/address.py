"""Listening addresses: ``HOST:PORT`` as a command line gives it, and the URL that names one."""

from __future__ import annotations

from lbdemo.errors import UsageError


def parse_hostport(spec: str) -> tuple[str, int]:
    """``HOST:PORT`` → (host, port); port 0 means any free port; ``[::1]:80`` for IPv6.

    Raises UsageError for anything else: no host, a port that is not 0-65535 in ASCII digits.
    """
    host, sep, port_text = spec.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    # isdigit() alone accepts '²' or Arabic-Indic digits, which int() then refuses or reads.
    valid_port = port_text.isascii() and port_text.isdigit() and int(port_text) <= 65535
    if not sep or not host or "[" in host or "]" in host or not valid_port:
        raise UsageError(f"expected HOST:PORT with a port from 0 to 65535, got {spec!r}")
    return host, int(port_text)


def http_url(host: str, port: int) -> str:
    """The URL of a listening address; an IPv6 host goes in brackets."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
