"""Storage providers."""

from __future__ import annotations

from duroxide import _core


class SqliteProvider:
    """Embedded SQLite store: a file (durable, WAL) or a private in-memory database."""

    def __init__(self, native: "_core.SqliteProvider"):
        self._native = native

    @staticmethod
    def open(path: str) -> "SqliteProvider":
        """Opens (creating parent directories and the file) a database at `path`.

        `path` may also be a "sqlite:" URL.

        Raises:
            ProviderError: "Failed to open SQLite: ..." (a DuroxideError and RuntimeError).
        """
        if not isinstance(path, str) or not path:
            raise TypeError(f"SqliteProvider.open: path must be a non-empty str, got {path!r}")
        return SqliteProvider(_core.SqliteProvider.open(path))

    @staticmethod
    def in_memory() -> "SqliteProvider":
        """A fresh in-memory database (lost when the process exits)."""
        return SqliteProvider(_core.SqliteProvider.in_memory())


class PostgresProvider:
    """A PostgreSQL store, shared by any number of runtime processes on any number of machines.

    Each provider works inside one PostgreSQL schema; stores in different schemas of one
    database are fully isolated. See docs/postgres.md.
    """

    _type = "postgres"

    def __init__(self, native: "_core.PostgresProvider"):
        self._native = native

    @property
    def schema(self) -> str:
        """The PostgreSQL schema this provider works in."""
        return self._native.schema

    @staticmethod
    def connect(url: str) -> "PostgresProvider":
        """Connects to `url` (e.g. "postgresql://user:pass@host:5432/db"), schema "public".

        Raises:
            ProviderError: "Failed to connect to PostgreSQL: ..." if the server cannot be
                reached or the schema cannot be set up.
        """
        if not isinstance(url, str) or not url:
            raise TypeError(f"PostgresProvider.connect: url must be a non-empty str, got {url!r}")
        return PostgresProvider(_core.PostgresProvider.connect(url))

    @staticmethod
    def connect_with_schema(url: str, schema: str) -> "PostgresProvider":
        """Connects to `url` and uses `schema`, creating it and its tables if missing.

        `schema` must match [A-Za-z_][A-Za-z0-9_]{0,62}.

        Raises:
            ProviderError: "Failed to connect to PostgreSQL: ..." for an invalid schema name,
                an unreachable server or a schema written by a newer duroxide.
        """
        if not isinstance(url, str) or not url:
            raise TypeError(
                f"PostgresProvider.connect_with_schema: url must be a non-empty str, got {url!r}")
        if not isinstance(schema, str):
            raise TypeError(
                f"PostgresProvider.connect_with_schema: schema must be a str, got {schema!r}")
        return PostgresProvider(_core.PostgresProvider.connect_with_schema(url, schema))
