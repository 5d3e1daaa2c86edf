"""The proxies we compare against, set up like ours: one worker, round robin, upstream keep-alive.

They also do the same job: like ours they add ``X-Forwarded-For`` and ``X-Forwarded-Proto``, so
the replicas parse the same request whichever proxy sent it (two more headers cost an aiohttp
replica about a microsecond, as much as the proxies differ by).

Each is optional: when its binary is missing the bench skips it with a note.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class PeerCommand:
    argv: list[str]
    port: int


def nginx_command(workdir: Path, port: int, upstream_ports: list[int]) -> PeerCommand | None:
    nginx = shutil.which("nginx") or _sbin("nginx")
    if nginx is None:
        return None
    servers = "\n".join(f"    server 127.0.0.1:{p};" for p in upstream_ports)
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"""worker_processes 1;
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {workdir}/client_body;
  proxy_temp_path {workdir}/proxy;
  fastcgi_temp_path {workdir}/fastcgi;
  uwsgi_temp_path {workdir}/uwsgi;
  scgi_temp_path {workdir}/scgi;
  upstream replicas {{
{servers}
    keepalive 64;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://replicas;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
    }}
  }}
}}
"""
    )
    # -e: the error log nginx opens before it has read the config, kept in our directory too.
    argv = [nginx, "-p", str(workdir), "-e", str(workdir / "nginx-error.log"), "-c", str(conf)]
    return PeerCommand(argv, port)


def haproxy_command(workdir: Path, port: int, upstream_ports: list[int]) -> PeerCommand | None:
    haproxy = shutil.which("haproxy") or _sbin("haproxy")
    if haproxy is None:
        return None
    servers = "\n".join(f"  server r{i} 127.0.0.1:{p}" for i, p in enumerate(upstream_ports, 1))
    conf = workdir / "haproxy.cfg"
    conf.write_text(
        f"""global
  nbthread 1
  maxconn 4096

defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  http-reuse always
  option forwardfor

frontend balancer
  bind 127.0.0.1:{port}
  default_backend replicas

backend replicas
  balance roundrobin
  http-request set-header X-Forwarded-Proto http
{servers}
"""
    )
    return PeerCommand([haproxy, "-db", "-f", str(conf)], port)


def _sbin(name: str) -> str | None:
    for folder in ("/usr/sbin", "/usr/local/sbin"):
        path = Path(folder) / name
        if path.exists():
            return str(path)
    return None


def version_of(argv: list[str]) -> str | None:
    """First line of a tool's version output (nginx prints it on stderr), or None."""
    binary = shutil.which(argv[0]) or _sbin(argv[0])
    if binary is None:
        return None
    try:
        done = subprocess.run(
            [binary, *argv[1:]], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else None
