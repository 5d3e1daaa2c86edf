"""What the lbdemo image promises to whoever runs its containers: ports, paths, the user.

The Dockerfile makes these (a test checks that the two agree); the container entry point
(:mod:`lbdemo.docker.entry`) and the Docker runtime use them from here.
"""

from __future__ import annotations

from lbdemo.config import STORE_PASSWORD_FILE_ENV

# Inside every container: the two roles' ports, published by the runtime as it chooses.
REPLICA_PORT = 8000
STORE_PORT = 5432

# The store's data directory: a named volume mounted here is shared storage; none, private.
PGDATA = "/var/lib/lbdemo/pgdata"
# The replica's /etc/catalog (catalog.conf) and /var/log/catalog (catalog.log).
CATALOG_CONFIG_DIR = "/etc/catalog"
CATALOG_LOG_DIR = "/var/log/catalog"

# Everything runs as this user (PostgreSQL refuses root). A fixed uid, so that a host can make a
# bind-mounted secret readable by it and by nobody else.
USER = "lbdemo"
UID = 10001
GID = 10001

# Where a runtime mounts the password file, and the variable that names it to both roles.
PASSWORD_FILE = "/run/secrets/pgpassword"
PASSWORD_FILE_ENV = STORE_PASSWORD_FILE_ENV
