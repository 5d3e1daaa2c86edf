"""The container runtime behind a running stack: dockerd's part of lbdemo.

engine.py   :class:`Runtime`: container records -> processes; run/start/stop/kill/rm/upgrade,
            the watcher that replaces dead replicas, the balancer rotation kept in step
admin.py    the supervisor's client of the balancer's admin API
api.py      the daemon's control API (127.0.0.1, bearer token, ``<state>/run/daemon.json``)
client.py   the CLI's client of that API, and the "Cannot connect" error
"""
