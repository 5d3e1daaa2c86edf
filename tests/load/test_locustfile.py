"""One workload, two paths: ``lbdemo/load/locustfile.py`` (what lbdemo runs) and
``loadtests/consistency.py`` (what people run with ``locust -f``), which only re-exports it.

Locust itself runs in child processes here: importing it would monkey-patch this process.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lbdemo.load import lines
from lbdemo.load.run import find_locustfile

ROOT = Path(__file__).resolve().parents[2]


PATHS = [ROOT / "loadtests" / "consistency.py", find_locustfile()]
# Each workload option with a valid value (a --history-file in a directory that exists).
VALID = ["--keys", "3", "--write-ratio", "0.5", "--key-prefix", "q", "--think-ms", "2"]


def _locust(locustfile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(locustfile), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )


@pytest.mark.parametrize("locustfile", PATHS, ids=["loadtests", "package"])
def test_locust_takes_the_workload_options_from_either_path(locustfile: Path) -> None:
    """Locust 2.47 prints ``--help`` before it imports the locustfile, so the options do not
    show there; that they are registered shows in Locust accepting them (it refuses an
    unknown option with status 2) and running the workload's own checks on their values."""
    done = _locust(locustfile, "--list", *VALID, "--history-file", "h.jsonl")
    assert done.returncode == 0, done.stderr[-500:]
    # --list: the one User class Locust finds in the file
    assert done.stdout.split() == ["Available", "Users:", "ProductUser"]
    unknown = _locust(locustfile, "--list", "--no-such-option", "1")
    assert unknown.returncode == 2
    refused = _locust(locustfile, "--list", "--keys", "0")
    assert refused.returncode == 2
    assert "--keys: must be at least 1" in refused.stderr


def test_the_loadtests_file_holds_no_workload_of_its_own() -> None:
    text = (ROOT / "loadtests" / "consistency.py").read_text()
    assert "from lbdemo.load.locustfile import ProductUser" in text
    code = text.split('"""')[-1]  # below the docstring
    assert "class " not in code and "def " not in code


def test_the_locustfile_loads_no_asyncio_server() -> None:
    """What importing the workload brings in, besides Locust: the standard library, msgspec and
    lbdemo's modules for the workload alone, never aiohttp nor lbdemo's servers."""
    program = (
        "import sys, lbdemo.load.locustfile; "
        "print('\\n'.join(sorted(m for m in sys.modules if m.startswith(('lbdemo', 'aiohttp', "
        "'asyncpg', 'uvloop')))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=True
    )
    loaded = set(done.stdout.split())
    assert not {m for m in loaded if not m.startswith("lbdemo")}, loaded  # no aiohttp, asyncpg...
    workload = {"lbdemo.load.lines", "lbdemo.load.locustfile", "lbdemo.load.oplog"}
    allowed = {"lbdemo", "lbdemo.errors", "lbdemo.load", "lbdemo.load.staleness", *workload}
    strays = {m for m in loaded if m not in allowed and not m.startswith("lbdemo.history")}
    assert not strays, strays


def test_the_load_package_imports_nothing_by_itself() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import sys, lbdemo.load; print(len(sys.modules))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    bare = subprocess.run(
        [sys.executable, "-c", "import sys, lbdemo; print(len(sys.modules))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert int(done.stdout) == int(bare.stdout) + 1


def test_progress_and_summary_lines_round_trip() -> None:
    line = lines.progress_line({"worker": "2", "elapsed": "3.5s", "ops": "10"})
    assert line == "progress: worker=2 elapsed=3.5s ops=10"
    fields = lines.progress_fields(line)
    assert fields == {"worker": "2", "elapsed": "3.5s", "ops": "10"}
    assert lines.elapsed_s(fields) == 3.5
    assert lines.progress_fields("summary: {}") is None
    assert lines.summary_data(lines.summary_line({"requests": 3})) == {"requests": 3}
    for garbled in (None, "summary: {", "summary: [1]", "progress: ops=1"):
        assert lines.summary_data(garbled) is None
