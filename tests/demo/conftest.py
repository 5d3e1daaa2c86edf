"""The faults tests' state root outside pytest's temporary tree, for the soak test here too."""

from tests.faults.conftest import state_dir

__all__ = ["state_dir"]
