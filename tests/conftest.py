"""Shared fixtures of the duroxide pytest suite.

`env` is parametrized over an in-memory and a file-backed SQLite provider and yields
`Env(provider, client, make_runtime)`. Every runtime made by `make_runtime` is shut down at
teardown, started or not.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, List, NamedTuple, Optional

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The suite tests the installed package (scripts/test.sh installs it into .venv). For a
# development build, put the source tree first: PYTHONPATH=python pytest tests.
import duroxide  # noqa: E402
import pg_cluster  # noqa: E402
from duroxide import Client, Runtime, RuntimeOptions, SqliteProvider  # noqa: E402

# Short polling and a short activity lock so that cancellation is noticed quickly.
FAST_OPTIONS = dict(dispatcher_poll_interval_ms=20, worker_lock_timeout_ms=2000)


def fast_options(**overrides: Any) -> RuntimeOptions:
    """RuntimeOptions with the suite's fast defaults, overridable by keyword."""
    return RuntimeOptions(**{**FAST_OPTIONS, **overrides})


class RuntimeFactory:
    """Makes runtimes (not started) and shuts all of them down at teardown."""

    def __init__(self, provider: Any):
        self.provider = provider
        self.runtimes: List[Runtime] = []

    def __call__(self, options: Optional[RuntimeOptions] = None, provider: Any = None,
                 **overrides: Any) -> Runtime:
        if options is None:
            options = fast_options(**overrides)
        elif overrides:
            raise TypeError("pass either options or keyword overrides, not both")
        rt = Runtime(provider if provider is not None else self.provider, options)
        self.runtimes.append(rt)
        return rt

    def close(self) -> None:
        for rt in reversed(self.runtimes):
            try:
                rt.shutdown(3000)
            except Exception:  # noqa: BLE001 - teardown must reach every runtime
                pass


class Env(NamedTuple):
    provider: Any
    client: Client
    make_runtime: Callable[..., Runtime]


@pytest.fixture(scope="session")
def pg_url():
    """A PostgreSQL server: DATABASE_URL, or a throwaway cluster started for this session."""
    with pg_cluster.database_url() as url:
        yield url


@pytest.fixture
def pg_schema(pg_url):
    """A fresh schema, dropped afterwards."""
    schema = pg_cluster.unique_schema()
    yield schema
    pg_cluster.drop_schema(pg_url, schema)


@pytest.fixture(params=["memory", "file", "postgres"])
def env(request, tmp_path):
    """Every provider: in-memory SQLite, file SQLite and PostgreSQL (its own schema)."""
    if request.param == "memory":
        provider = SqliteProvider.in_memory()
    elif request.param == "file":
        provider = SqliteProvider.open(str(tmp_path / "x.db"))
    else:
        url = request.getfixturevalue("pg_url")
        schema = request.getfixturevalue("pg_schema")
        provider = duroxide.PostgresProvider.connect_with_schema(url, schema)
    factory = RuntimeFactory(provider)
    try:
        yield Env(provider, Client(provider), factory)
    finally:
        factory.close()


@pytest.fixture
def file_env(tmp_path):
    """A file-backed provider only (restart and nondeterminism tests reopen the file)."""
    provider = SqliteProvider.open(str(tmp_path / "x.db"))
    factory = RuntimeFactory(provider)
    try:
        yield Env(provider, Client(provider), factory)
    finally:
        factory.close()


@pytest.fixture
def db_path(tmp_path) -> Path:
    """The path used by the file-backed providers of `env` and `file_env`."""
    return tmp_path / "x.db"
