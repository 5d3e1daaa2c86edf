"""Storage for the replicas: PostgreSQL through asyncpg, embedded (pgserver wheel) or external."""
