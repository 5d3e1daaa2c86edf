"""PostgreSQL URLs as users give them: split out a password, or hide it before showing one."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

REDACTED = "***"


def _netloc(user: str | None, password: str | None, host_part: str) -> str:
    if not user and password is None:
        return host_part
    credentials = user or ""
    if password is not None:
        credentials += f":{password}"
    return f"{credentials}@{host_part}"


def _parts(dsn: str) -> tuple[str | None, str | None, str]:
    """``user``, ``password`` (still percent-encoded) and ``host:port`` of a URL's netloc."""
    netloc = urlsplit(dsn).netloc
    if "@" not in netloc:
        return None, None, netloc
    credentials, host_part = netloc.rsplit("@", 1)
    user, sep, password = credentials.partition(":")
    return user, password if sep else None, host_part


def split_dsn_password(dsn: str) -> tuple[str, str | None]:
    """The URL without its password (userinfo or ``?password=``), and that password."""
    parts = urlsplit(dsn)
    user, password, host_part = _parts(dsn)
    query = parse_qsl(parts.query, keep_blank_values=True)
    from_query = [value for key, value in query if key == "password"]
    if from_query and password is None:
        password = from_query[-1]
    elif password is not None:
        password = unquote(password)
    kept = urlencode([(k, v) for k, v in query if k != "password"])
    bare = urlunsplit(
        (parts.scheme, _netloc(user, None, host_part), parts.path, kept, parts.fragment)
    )
    return bare, password


def redact_dsn(dsn: str) -> str:
    """The URL as it may be shown (logs, reports, ``inspect``): any password becomes ``***``."""
    try:
        parts = urlsplit(dsn)
        user, password, host_part = _parts(dsn)
    except ValueError:
        return REDACTED  # not even a URL: show nothing of it rather than a secret
    query = parse_qsl(parts.query, keep_blank_values=True)
    if password is None and not any(key == "password" for key, _ in query):
        return dsn
    shown_query = urlencode([(k, REDACTED if k == "password" else v) for k, v in query])
    return urlunsplit(
        (
            parts.scheme,
            _netloc(user, REDACTED if password is not None else None, host_part),
            parts.path,
            shown_query,
            parts.fragment,
        )
    )
