"""The consistency demo: the same load against private and shared storage, checked and compared."""
