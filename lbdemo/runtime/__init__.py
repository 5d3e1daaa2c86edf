"""The local runtime: lbdemo's own dockerd, containers as processes of this machine.

stack.py       :class:`Stack`: the local runtime's stack (store, replicas, balancer, daemon)
supervisor.py  :class:`Runtime`: container records -> processes; run/start/stop/kill/rm/upgrade,
               the watcher that applies the restart policy, the balancer rotation kept in step
launch.py      what a container runs, from its image: a replica, its PostgreSQL or standby
process.py     a running container's processes (:class:`ContainerProcess`)
api.py         the daemon's control API (127.0.0.1, bearer token, ``<state>/run/daemon.json``)
client.py      the CLI's client of that API, and the "Cannot connect" error

What the Docker runtime (:mod:`lbdemo.docker`) shares with this one is in :mod:`lbdemo.deploy`.
"""
