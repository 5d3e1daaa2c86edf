"""lbdemo: a round-robin balancer in front of stateless replicas, and why they need shared state."""

__version__ = "0.1.0"
