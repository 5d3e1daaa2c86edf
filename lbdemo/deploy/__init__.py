"""What both runtimes and a ``--target`` share: the seam between the scenarios and what runs.

config.py      :class:`StackConfig`: what a stack is started with, checked on construction
layout.py      :class:`Layout`: where the replicas' data lives
names.py       the vocabulary: runtimes, project, container, network and volume names, labels
restart.py     the restart policy and its backoff, applied by both supervisors
lock.py        one stack per state root
host.py        the balancer process on this host, ``stack.json`` and the admin token
admin.py       the client of the balancer's admin API (who is in the rotation)
events.py      a running stack's events, in words
signals.py     ``kill -s``'s signal names
target.py      a deployment someone else runs, given by URLs
deployment.py  the :class:`Deployment` protocol, and the one place that opens one by runtime name
live.py        the :class:`LiveStack` protocol: what the dashboard and the scenarios act on
"""
