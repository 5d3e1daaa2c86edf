"""Faults injected under load: a TCP proxy that adds latency or resets connections (in the
spirit of toxiproxy's ``latency`` and ``reset_peer`` toxics), and the nemesis schedule that kills,
pauses and degrades the parts of a running stack."""
