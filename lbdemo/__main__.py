"""``python -m lbdemo`` is the ``lbdemo`` command."""

import sys

from lbdemo.cli import main

sys.exit(main())
