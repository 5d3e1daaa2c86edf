"""The Locust workload that records every operation it performs, for the consistency checker.

    locust -f loadtests/consistency.py --headless -u 20 -r 20 -t 30s \\
        --host http://127.0.0.1:8080 --history-file history.jsonl

The workload itself lives in the package, ``lbdemo/load/locustfile.py`` (read it there: the
users, the options, the history it writes), so that an installed lbdemo carries it; this file
only re-exports it, so both paths run one source. Importing it registers the workload's
command-line options and event handlers with Locust; the name below is the User class Locust
finds here. Needs lbdemo importable (``pip install -e .``, or ``make demo`` once).
"""

from lbdemo.load.locustfile import ProductUser

__all__ = ["ProductUser"]
