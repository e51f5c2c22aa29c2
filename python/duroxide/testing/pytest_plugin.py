"""pytest fixtures for testing duroxide workflows (a pytest plugin, loaded automatically once
duroxide is installed: entry point `pytest11` -> `duroxide.testing.pytest_plugin`).

Fixtures (every runtime is shut down and every store removed after the test):

    duroxide_registry        a fresh duroxide.Registry that the runtimes below serve
    duroxide_provider        an in-memory SQLite store
    duroxide_client          a Client on duroxide_provider
    duroxide_runtime         a started Runtime on duroxide_provider serving duroxide_registry
                             (start() again is a no-op; registrations after start are served)
    duroxide_runtime_factory make more runtimes: factory(provider=None, registry=None, options=None)
    duroxide_env             all of the above in one object, with .run(name, input) and
                             .history(instance_id)
    duroxide_sqlite_path     a database file path in tmp_path
    duroxide_sqlite_file     a SQLite store in that file (alias: duroxide_file_provider)
    duroxide_postgres        a PostgreSQL store in a fresh schema, dropped afterwards
                             (alias: duroxide_postgres_provider); skipped unless DATABASE_URL
                             is set
    duroxide_any_provider    parametrized: memory, file and (with DATABASE_URL) postgres
    duroxide_time_skipping   a started TimeSkippingRuntime on duroxide_provider serving
                             duroxide_registry (alias: duroxide_time_skipping_runtime)
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, List, Optional

import pytest

import duroxide
from duroxide._providers import SqliteProvider
from duroxide.client.native import Client
from duroxide.testing._helpers import FAST_OPTIONS, HistoryEvent, get_history, run_orchestration
from duroxide.testing._timeskip import TimeSkippingRuntime
from duroxide.worker.options import RuntimeOptions
from duroxide.worker.registry import Registry
from duroxide.worker.runtime import Runtime

_ids = itertools.count(1)


def test_options(**overrides: Any) -> RuntimeOptions:
    """RuntimeOptions tuned for tests: 20 ms idle polling, short activity locks."""
    return RuntimeOptions(**{**FAST_OPTIONS, **overrides})


test_options.__test__ = False  # type: ignore[attr-defined]  # not a test for pytest


class _TestRuntime(Runtime):
    """A Runtime whose start() is a no-op once started (fixtures hand it out started)."""

    def start(self) -> None:
        if not self._started:
            super().start()


class RuntimeFactory:
    """Makes runtimes (started unless start=False) and shuts all of them down at teardown."""

    def __init__(self, provider: Any, registry: Registry):
        self.provider = provider
        self.registry = registry
        self.runtimes: List[Runtime] = []

    def __call__(self, provider: Any = None, registry: Optional[Registry] = None,
                 options: Optional[RuntimeOptions] = None, start: bool = True,
                 time_skipping: bool = False) -> Runtime:
        cls = TimeSkippingRuntime if time_skipping else _TestRuntime
        rt = cls(provider if provider is not None else self.provider,
                 options if options is not None else test_options(),
                 registry if registry is not None else self.registry)
        self.runtimes.append(rt)
        if start:
            rt.start()
        return rt

    def close(self) -> None:
        for rt in reversed(self.runtimes):
            try:
                rt.shutdown(3000)
            except Exception:  # noqa: BLE001 - teardown must reach every runtime
                pass
        self.runtimes.clear()


class DuroxideTestEnv:
    """A store, a client, a registry and a runtime serving it, for one test."""

    def __init__(self, provider: Any, client: Client, registry: Registry, runtime: Runtime,
                 factory: RuntimeFactory):
        self.provider = provider
        self.client = client
        self.registry = registry
        self.runtime = runtime
        self.make_runtime = factory

    def run(self, name: str, input: Any = None, **kwargs: Any) -> Any:
        """run_orchestration on this environment: the output, or OrchestrationFailedError."""
        return run_orchestration(self.runtime, name, input, client=self.client, **kwargs)

    def history(self, instance_id: str, execution_id: Optional[int] = None
                ) -> List[HistoryEvent]:
        return get_history(self.client, instance_id, execution_id)


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.unlink(str(path) + suffix)
        except FileNotFoundError:
            pass


@pytest.fixture
def duroxide_registry() -> Registry:
    """A fresh Registry; register the workflows under test on it."""
    return Registry()


@pytest.fixture
def duroxide_provider() -> Any:
    """An in-memory SQLite store (private to this test)."""
    return SqliteProvider.in_memory()


@pytest.fixture
def duroxide_client(duroxide_provider: Any) -> Client:
    return Client(duroxide_provider)


@pytest.fixture
def duroxide_async_client(duroxide_provider: Any) -> Iterator[Any]:
    """An AsyncClient on duroxide_provider, for async tests (pytest-asyncio, anyio): await its
    operations in the test; closed after it (docs/async.md)."""
    from duroxide.client.aio import AsyncClient

    client = AsyncClient(duroxide_provider)
    try:
        yield client
    finally:
        client._waiters.close()
        client._sync.close()


@pytest.fixture
def duroxide_runtime_factory(duroxide_provider: Any, duroxide_registry: Registry
                             ) -> Iterator[RuntimeFactory]:
    factory = RuntimeFactory(duroxide_provider, duroxide_registry)
    try:
        yield factory
    finally:
        factory.close()


@pytest.fixture
def duroxide_runtime(duroxide_runtime_factory: RuntimeFactory) -> Runtime:
    """A started runtime on duroxide_provider serving duroxide_registry."""
    return duroxide_runtime_factory()


@pytest.fixture
def duroxide_env(duroxide_provider: Any, duroxide_client: Client, duroxide_registry: Registry,
                 duroxide_runtime: Runtime, duroxide_runtime_factory: RuntimeFactory
                 ) -> DuroxideTestEnv:
    return DuroxideTestEnv(duroxide_provider, duroxide_client, duroxide_registry,
                           duroxide_runtime, duroxide_runtime_factory)


@pytest.fixture
def duroxide_sqlite_path(tmp_path: Path) -> Iterator[Path]:
    """A SQLite database path in tmp_path; the file (and WAL files) is removed afterwards."""
    path = tmp_path / f"duroxide-{next(_ids)}.db"
    try:
        yield path
    finally:
        _remove_sqlite(path)


@pytest.fixture
def duroxide_sqlite_file(duroxide_sqlite_path: Path) -> Any:
    """A durable SQLite store in a file under tmp_path."""
    return SqliteProvider.open(str(duroxide_sqlite_path))


@pytest.fixture
def duroxide_file_provider(duroxide_sqlite_file: Any) -> Any:
    return duroxide_sqlite_file


def _drop_schema(url: str, schema: str) -> None:
    if shutil.which("psql") is None:
        return
    subprocess.run(["psql", url, "-q", "-c", f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'],
                   capture_output=True, timeout=30, check=False)


@pytest.fixture
def duroxide_postgres() -> Iterator[Any]:
    """A PostgreSQL store in a fresh schema of $DATABASE_URL (skipped when it is unset)."""
    url = os.environ.get("DATABASE_URL")
    if not url:
        pytest.skip("DATABASE_URL is not set")
    postgres = getattr(duroxide, "PostgresProvider", None)
    if postgres is None:
        pytest.skip("this duroxide build has no PostgreSQL support")
    schema = f"duroxide_test_{uuid.uuid4().hex[:12]}"
    provider = postgres.connect_with_schema(url, schema)
    try:
        yield provider
    finally:
        del provider
        _drop_schema(url, schema)


@pytest.fixture
def duroxide_postgres_provider(duroxide_postgres: Any) -> Any:
    return duroxide_postgres


@pytest.fixture(params=["memory", "file", "postgres"])
def duroxide_any_provider(request: Any, tmp_path: Path) -> Any:
    """Each store in turn: in-memory SQLite, a SQLite file, PostgreSQL (with DATABASE_URL)."""
    if request.param == "memory":
        return SqliteProvider.in_memory()
    if request.param == "file":
        return SqliteProvider.open(str(tmp_path / "duroxide-any.db"))
    return request.getfixturevalue("duroxide_postgres")


@pytest.fixture
def duroxide_time_skipping(duroxide_provider: Any, duroxide_registry: Registry
                           ) -> Iterator[TimeSkippingRuntime]:
    """A started time-skipping runtime: timers fire as soon as the runtime is idle."""
    rt = TimeSkippingRuntime(duroxide_provider, test_options(), duroxide_registry)
    rt.start()
    try:
        yield rt
    finally:
        rt.shutdown(3000)


@pytest.fixture
def duroxide_time_skipping_runtime(duroxide_time_skipping: TimeSkippingRuntime
                                   ) -> TimeSkippingRuntime:
    return duroxide_time_skipping


Factory = Callable[..., Runtime]
