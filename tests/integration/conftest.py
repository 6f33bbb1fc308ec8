"""Fixtures of services the integration tests run against."""

from support.postgres import pg_dsn, pg_fresh_database, pg_stack  # noqa: F401
