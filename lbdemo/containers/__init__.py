"""lbdemo's tiny container "runtime" model: images, containers, volumes and mounts as files.

There is no Docker engine here. A container is an OS process (started by the supervisor) plus a
record and a writable layer directory in the state root; a volume is a directory the state root
manages; a bind mount is a host directory the user named. The semantics, names and error texts
follow Docker's, so what a reader learns here transfers to ``docker``::

    images.py      built-in images and ``repo[:tag]`` references
    mounts.py      ``-v``/``--volume`` and ``--mount`` specs -> :class:`Mount`
    volumes.py     :class:`VolumeStore`: create, ls (filters), inspect, rm, prune
    containers.py  :class:`ContainerStore`: create, get, list, set_state, remove, inspect
    fs.py          :class:`ContainerFS`: a container path -> host path (mounts, then layer)
    layout.py      where things live in the state root, atomic writes, the state lock
    errors.py      errors that Docker reports as ``Error response from daemon: ...``
"""
