"""Storage providers.

A provider owns the store's connections and threads. `close()` (or leaving a `with` block)
closes every Client made from it and shuts down every Runtime using it, then drops the native
store, so its connections and threads are released at once (in CPython). Using a closed
provider, client or runtime raises ClosedError.
"""

from __future__ import annotations

import time
import weakref
from typing import Any, Callable, Optional, Protocol, TypeVar, runtime_checkable

from duroxide import _core
from duroxide.errors import (
    ClosedError,
    FailedPreconditionError,
    InvalidArgumentError,
    InvalidTypeError,
    OperationTimedOutError,
    ProviderError,
)

_T = TypeVar("_T")

# The durability levels SqliteProvider.open accepts (docs/user-guide.md, section 11).
SQLITE_DURABILITY_LEVELS = ("normal", "full")


class _Closed:
    """Stands in for a released native object: any use raises ClosedError."""

    __slots__ = ("_what",)

    def __init__(self, what: str) -> None:
        self._what = what

    def __getattr__(self, name: str) -> Any:
        raise ClosedError(f"{self._what} is closed")


def closed_native(what: str) -> Any:
    """The placeholder stored in `_native` once `what` ("Client", ...) is closed."""
    return _Closed(what)


def is_closed(native: Any) -> bool:
    return isinstance(native, _Closed)


@runtime_checkable
class Provider(Protocol):
    """What Client(...) and Runtime(...) accept: SqliteProvider, PostgresProvider, or any
    provider wrapper with the native handle in `_native` and close()/closed."""

    _native: Any

    @property
    def closed(self) -> bool: ...

    def close(self) -> None: ...


class _Provider:
    """What the Python providers share: close() / context manager and dependent tracking."""

    _native: Any

    def _init_resources(self) -> None:
        self._dependents: "weakref.WeakSet[Any]" = weakref.WeakSet()

    def _attach(self, dependent: Any) -> Any:
        """Registers a Client or Runtime (closed with the provider); returns the native handle.

        Raises:
            ClosedError: the provider is closed.
        """
        native = self._native
        if is_closed(native):
            raise ClosedError(f"{type(self).__name__} is closed")
        self._dependents.add(dependent)
        return native

    @property
    def closed(self) -> bool:
        """True once close() was called."""
        return is_closed(self._native)

    def close(self) -> None:
        """Closes the clients and runtimes made from this provider, then releases the store.

        Idempotent. Runtimes are shut down with their default timeout.
        """
        if self.closed:
            return
        for dependent in list(self._dependents):
            dependent.close()
        self._dependents.clear()
        self._native = closed_native(type(self).__name__)

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class SqliteProvider(_Provider):
    """Embedded SQLite store: a file (durable, WAL) or a private in-memory database."""

    def __init__(self, native: "_core.SqliteProvider", durability: str = "memory") -> None:
        self._native = native
        self._init_resources()
        self._durability = durability

    @staticmethod
    def open(path: str, durability: str = "normal") -> "SqliteProvider":
        """Opens (creating parent directories and the file) a database at `path`.

        `path` may also be a "sqlite:" URL. The file runs in WAL mode; `durability` chooses
        when a commit is acknowledged:

        - "normal" (default, PRAGMA synchronous=NORMAL): a commit survives a crash of the
          process, but the last commits before a power loss or OS crash can be lost, even
          after start_orchestration returned or a turn was acknowledged.
        - "full" (PRAGMA synchronous=FULL): every commit is on disk (fsync) before it is
          acknowledged, so it also survives power loss. Costs one fsync per commit; group
          commit shares it between the turns committed together.

        Raises:
            InvalidArgumentError: `durability` is not "normal" or "full".
            ProviderError: the file is not a duroxide database (corrupt or foreign), or its
                schema was written by a newer duroxide (nothing is changed).
        """
        if not isinstance(path, str) or not path:
            raise InvalidTypeError(
                f"SqliteProvider.open: path must be a non-empty str, got {path!r}")
        if durability not in SQLITE_DURABILITY_LEVELS:
            raise _core.InvalidArgumentError(
                f"SqliteProvider.open: durability must be one of {SQLITE_DURABILITY_LEVELS}, "
                f"got {durability!r}")
        return SqliteProvider(_core.SqliteProvider.open(path, durability), durability)

    @property
    def durability(self) -> str:
        """"normal" or "full" for a file database; "memory" for an in-memory one."""
        return self._durability

    @staticmethod
    def in_memory() -> "SqliteProvider":
        """A fresh in-memory database (lost when the process exits)."""
        return SqliteProvider(_core.SqliteProvider.in_memory())


class PostgresProvider(_Provider):
    """A PostgreSQL store, shared by any number of runtime processes on any number of machines.

    Each provider works inside one PostgreSQL schema; stores in different schemas of one
    database are fully isolated. See docs/postgres.md.
    """

    _type = "postgres"

    def __init__(self, native: "_core.PostgresProvider"):
        self._native = native
        self._init_resources()

    @property
    def schema(self) -> str:
        """The PostgreSQL schema this provider works in."""
        return str(self._native.schema)

    @staticmethod
    def connect(url: str) -> "PostgresProvider":
        """Connects to `url` (e.g. "postgresql://user:pass@host:5432/db"), schema "public".

        Raises:
            ProviderError: "Failed to connect to PostgreSQL: ..." if the server cannot be
                reached or the schema cannot be set up.
        """
        if not isinstance(url, str) or not url:
            raise InvalidTypeError(
                f"PostgresProvider.connect: url must be a non-empty str, got {url!r}")
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
            raise InvalidTypeError(
                f"PostgresProvider.connect_with_schema: url must be a non-empty str, got {url!r}")
        if not isinstance(schema, str):
            raise InvalidTypeError(
                f"PostgresProvider.connect_with_schema: schema must be a str, got {schema!r}")
        return PostgresProvider(_core.PostgresProvider.connect_with_schema(url, schema))


def open_provider(db: str, schema: Optional[str] = None) -> _Provider:
    """The provider a store string names: a PostgreSQL URL (`postgres://`, `postgresql://`),
    else a SQLite file path or `sqlite:` URL (created if missing). Used by the CLI (--db) and
    `duroxide server`.

    Raises:
        InvalidArgumentError: PostgreSQL is missing from this build, or `schema` was given for
            a SQLite store.
        DuroxideError: the store cannot be opened.
    """
    if db.startswith(("postgres://", "postgresql://")):
        if not hasattr(_core, "PostgresProvider"):  # built without libpqxx
            raise InvalidArgumentError("PostgreSQL support is not available in this build")
        if schema:
            return PostgresProvider.connect_with_schema(db, schema)
        return PostgresProvider.connect(db)
    if schema:
        raise InvalidArgumentError("--schema applies only to PostgreSQL stores")
    return SqliteProvider.open(db)


def is_transient(error: BaseException) -> bool:
    """A store error that a later attempt may not meet: a lost connection or a statement
    timeout (a refused precondition is not transient)."""
    return isinstance(error, (ProviderError, OperationTimedOutError)) and \
        not isinstance(error, FailedPreconditionError)


def retry_transient(call: Callable[[], _T], budget_s: float = 30.0) -> _T:
    """`call()`, retried with backoff (50 ms doubling to 1 s) while it fails transiently, for up
    to `budget_s`. A runtime that starts while its database restarts waits for the database,
    as its dispatchers do, instead of dying on its first query."""
    deadline = time.monotonic() + budget_s
    delay = 0.05
    while True:
        try:
            return call()
        except Exception as e:  # noqa: BLE001 - re-raised unless transient and within budget
            if not is_transient(e) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def check_no_unfinished_import(provider: Any) -> None:
    """Refuses a store that an import has not finished filling (docs/dump-format.md): running
    half a store would lose the instances, timers and messages still to come.

    Raises:
        FailedPreconditionError: the store carries the marker of an unfinished import.
    """
    native = getattr(provider, "_native", None)
    if native is None or is_closed(native) or not hasattr(_core, "_dump_session"):
        return
    def read_marker() -> Optional[str]:
        try:
            session = _core._dump_session(native)
        except FailedPreconditionError:  # a store that cannot be copied cannot be imported into
            return None
        marker: Optional[str] = session.import_marker()
        return marker

    marker = retry_transient(read_marker)
    if marker is not None:
        raise FailedPreconditionError(
            "this store has an unfinished import (" + marker + "); run the same "
            "`duroxide import` / `duroxide migrate` command again to finish it before starting "
            "a runtime on it")
