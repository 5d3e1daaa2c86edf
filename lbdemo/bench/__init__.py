"""``lbdemo bench``: this balancer against nginx and HAProxy over the same three tiny replicas."""
