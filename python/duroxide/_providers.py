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
        """
        if not isinstance(path, str) or not path:
            raise TypeError(f"SqliteProvider.open: path must be a non-empty str, got {path!r}")
        return SqliteProvider(_core.SqliteProvider.open(path))

    @staticmethod
    def in_memory() -> "SqliteProvider":
        """A fresh in-memory database (lost when the process exits)."""
        return SqliteProvider(_core.SqliteProvider.in_memory())
