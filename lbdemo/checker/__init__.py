"""The consistency checker: pure functions from an operation history (and a final audit) to a
:class:`CheckResult`.

- :mod:`.anomalies`: what an anomaly is, the rule for equal timestamps, the sentences
- :mod:`.scan`: one pass per key finds the stale, read-your-writes, monotonic and garbage reads
  and gathers the zone check's clusters
- :mod:`.linearizability`: the per-key zone check
- :mod:`.audit`: what the replicas hold at the end; divergent keys and lost writes
- :mod:`.result`: ``check()`` runs them all; ``CheckResult.anomalies()`` explains every one
- :mod:`.wgl` and :mod:`.models`: the general linearizability search (Wing and Gong, Lowe's
  memoisation) for the foreign histories the zone check cannot take: values written twice,
  cas, append, mutexes, transactions
"""

from __future__ import annotations

from lbdemo.checker.anomalies import KINDS, Anomaly
from lbdemo.checker.audit import Audit, load_audit
from lbdemo.checker.linearizability import KeyVerdict
from lbdemo.checker.result import CONSISTENT, INCONSISTENT, CheckResult, check

__all__ = [
    "CONSISTENT",
    "INCONSISTENT",
    "KINDS",
    "Anomaly",
    "Audit",
    "CheckResult",
    "KeyVerdict",
    "check",
    "load_audit",
]
