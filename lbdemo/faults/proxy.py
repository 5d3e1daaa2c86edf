"""The fault-injecting TCP proxy, where the fault scenarios have always found it.

It lives in :mod:`lbdemo.process.proxy`, below the stores: the Redis and etcd engines
(``lbdemo/store/``) put it on their replication and peer links for ``--apply-delay``.
"""

from lbdemo.process.proxy import CHUNK, FaultProxy, reset_transport

__all__ = ["CHUNK", "FaultProxy", "reset_transport"]
