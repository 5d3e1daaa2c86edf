"""The load generator: the Locust workload and the lbdemo side that runs it.

``locustfile.py`` (with ``oplog.py``, ``staleness.py`` and ``lines.py``) runs inside Locust's
gevent-patched process; ``run.py``, ``distributed.py`` and ``merge.py`` run in lbdemo's asyncio
process and start Locust as a child. The two halves meet only in the text lines ``lines.py``
defines. Nothing is imported here, so importing a submodule stays as light as that submodule.
"""
