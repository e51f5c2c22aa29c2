"""Opening the stores of a migration from a provider object or a store string, and the
checks done before anything is copied."""

from __future__ import annotations

import os
import re
from typing import Any, List, Optional, Tuple, Union

from duroxide import _core
from duroxide._providers import _Provider, open_provider
from duroxide.client.native import Client
from duroxide.errors import (
    ClosedError,
    FailedPreconditionError,
    InvalidArgumentError,
    InvalidTypeError,
)

StoreArg = Union[str, Any]

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_KNOWN_SCHEMES = ("sqlite", "postgres", "postgresql")

# Worker statuses that mean "may still write to the store".
_LIVE_STATUSES = ("active", "draining")


def describe(store: StoreArg) -> str:
    """A printable name of a store (a PostgreSQL URL without its password)."""
    if isinstance(store, str):
        return re.sub(r"://([^:/@]+):[^@/]*@", r"://\1:***@", store)
    schema = getattr(store, "schema", None)
    return f"{type(store).__name__}(schema={schema})" if schema else type(store).__name__


def open_store(store: StoreArg, *, must_exist: bool, schema: Optional[str] = None
               ) -> Tuple[Any, bool]:
    """(provider, opened_here) for a provider object or a store string.

    Raises:
        InvalidArgumentError: an unknown URL scheme, or (must_exist) a SQLite file that does
            not exist; nothing is created in either case.
        StoreError: the store cannot be opened (e.g. a file that is not a duroxide store).
    """
    if not isinstance(store, str):
        if not hasattr(store, "_native"):
            raise InvalidTypeError(
                f"expected a provider or a store path/URL, got {type(store).__name__}")
        return store, False
    if not store:
        raise InvalidArgumentError("empty store path")
    m = _SCHEME.match(store)
    if m and m.group(1).lower() not in _KNOWN_SCHEMES:
        raise InvalidArgumentError(
            f"{describe(store)}: unknown store URL scheme {m.group(1)!r} (expected a SQLite "
            f"path, sqlite:, postgres:// or postgresql://)")
    is_pg = m is not None and m.group(1).lower() != "sqlite"
    if must_exist and not is_pg:
        path = re.sub(r"^sqlite:(//)?", "", store).split("?", 1)[0]
        if not os.path.isfile(path):
            raise InvalidArgumentError(f"{store}: no such SQLite store")
    return open_provider(store, schema if is_pg else None), True


def native(provider: Any) -> Any:
    """The native store handle of a provider (ClosedError once it is closed)."""
    if isinstance(provider, _Provider) and provider.closed:
        raise ClosedError(f"{type(provider).__name__} is closed")
    return provider._native


def check_source(provider: Any, name: str) -> None:
    """A source must not be the target of an unfinished import (it would be half a store)."""
    session = _core._dump_session(native(provider))
    if session.import_marker() is not None:
        raise FailedPreconditionError(
            f"{name}: this store has an unfinished import; finish it (run the same import "
            f"again) before copying from it")


def live_workers(provider: Any) -> List[str]:
    """Names of the workers registered on `provider` that may still be writing."""
    client = Client(provider)
    try:
        return [w.name for w in client.list_workers() if w.status in _LIVE_STATUSES]
    finally:
        client.close()


def has_instances(provider: Any) -> bool:
    session = _core._dump_session(native(provider))
    return bool(session.instance_ids_after("", 1))


def import_marker(provider: Any) -> Optional[str]:
    """The state (JSON text) of an unfinished import on `provider`, else None."""
    return _core._dump_session(native(provider)).import_marker()
