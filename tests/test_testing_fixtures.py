"""duroxide.testing's pytest plugin fixtures and the run/assert helpers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Generator

import pytest

import duroxide
from duroxide import Client, Registry, Runtime
from duroxide.testing import (
    OrchestrationFailedError,
    assert_history,
    format_history,
    get_history,
    history_summary,
    run_orchestration,
)



def register_hello(reg: Registry) -> None:
    @reg.register_activity("Greet")
    def greet(ctx: Any, name: str) -> str:
        return f"Hello, {name}!"

    @reg.register_orchestration("Hello")
    def hello(ctx: Any, name: str) -> Generator[Any, Any, str]:
        greeting = yield ctx.schedule_activity("Greet", name)
        yield ctx.schedule_timer(1)
        return greeting

    @reg.register_orchestration("Broken")
    def broken(ctx: Any, input: Any) -> Generator[Any, Any, None]:
        yield ctx.schedule_activity("Greet", "x")
        raise ValueError("boom")


def test_in_memory_fixtures(duroxide_registry: Registry, duroxide_runtime: Runtime,
                            duroxide_client: Client, duroxide_provider: Any) -> None:
    register_hello(duroxide_registry)  # registrations after start are served
    duroxide_runtime.start()  # already started: a no-op
    assert run_orchestration(duroxide_runtime, "Hello", "Ada", instance_id="h1",
                             client=duroxide_client) == "Hello, Ada!"
    assert duroxide_client.get_status("h1").status == "Completed"


def test_env_fixture_run_and_history(duroxide_env: Any) -> None:
    register_hello(duroxide_env.registry)
    assert duroxide_env.run("Hello", "Bo", instance_id="h2") == "Hello, Bo!"
    events = duroxide_env.history("h2")
    assert history_summary(events) == [
        "OrchestrationStarted(Hello)", "ActivityScheduled(Greet)", "ActivityCompleted(Greet)",
        "TimerCreated", "TimerFired", "OrchestrationCompleted"]
    assert_history(events, ["ActivityScheduled(Greet)", "TimerFired", "OrchestrationCompleted"])
    assert_history(events, ["OrchestrationStarted:Hello", ("ActivityScheduled", "Greet"),
                            "ActivityCompleted", "TimerCreated", "TimerFired",
                            {"kind": "OrchestrationCompleted"}], exact=True)
    assert_history((duroxide_env.client, "h2"), ["TimerCreated"])
    assert "ActivityScheduled(Greet)" in format_history(events)


def test_assert_history_failures_are_readable(duroxide_env: Any) -> None:
    register_hello(duroxide_env.registry)
    duroxide_env.run("Hello", "Cy", instance_id="h3")
    events = get_history(duroxide_env.client, "h3")
    with pytest.raises(AssertionError) as info:
        assert_history(events, ["TimerFired", "ActivityScheduled(Greet)"])  # wrong order
    text = str(info.value)
    assert "item 2 (ActivityScheduled(Greet)) not found after TimerFired" in text
    assert "expected:" in text and "actual:" in text and "TimerCreated" in text
    with pytest.raises(AssertionError, match="expected ActivityScheduled\\(Wave\\)"):
        assert_history(events, ["OrchestrationStarted", "ActivityScheduled(Wave)"], exact=True)
    with pytest.raises(AssertionError, match="extra event"):
        assert_history(events, ["OrchestrationStarted"], exact=True)


def test_failed_orchestration_raises(duroxide_env: Any) -> None:
    register_hello(duroxide_env.registry)
    with pytest.raises(OrchestrationFailedError) as info:
        duroxide_env.run("Broken", instance_id="b1")
    assert "boom" in (info.value.error or "")
    assert isinstance(info.value, duroxide.DuroxideError)
    result = duroxide_env.run("Broken", instance_id="b2", raise_on_failure=False)
    assert result.status == "Failed"


def test_registry_target_runs_on_a_private_store() -> None:
    reg = Registry()
    register_hello(reg)
    assert run_orchestration(reg, "Hello", "Di") == "Hello, Di!"


seen_paths: list = []


def test_sqlite_file_in_tmp_path(duroxide_sqlite_file: Any, duroxide_sqlite_path: Path,
                                 duroxide_runtime_factory: Any, tmp_path: Path) -> None:
    reg = Registry()
    register_hello(reg)
    rt = duroxide_runtime_factory(provider=duroxide_sqlite_file, registry=reg)
    assert run_orchestration(rt, "Hello", "Ed") == "Hello, Ed!"
    assert duroxide_sqlite_path.parent == tmp_path and duroxide_sqlite_path.exists()
    seen_paths.append(duroxide_sqlite_path)


def test_sqlite_file_was_removed() -> None:
    assert seen_paths and not os.path.exists(seen_paths[0])


@pytest.fixture
def _database_url_for_postgres(request: Any, monkeypatch: Any) -> None:
    """Our suite never skips PostgreSQL: without DATABASE_URL, point the plugin's fixtures at
    the throwaway cluster the suite starts (tests/conftest.py pg_url)."""
    if not os.environ.get("DATABASE_URL"):
        monkeypatch.setenv("DATABASE_URL", request.getfixturevalue("pg_url"))


@pytest.mark.usefixtures("_database_url_for_postgres")
def test_any_provider(duroxide_any_provider: Any, duroxide_runtime_factory: Any) -> None:
    reg = Registry()
    register_hello(reg)
    rt = duroxide_runtime_factory(provider=duroxide_any_provider, registry=reg)
    assert run_orchestration(rt, "Hello", "Fa", client=Client(duroxide_any_provider)) == \
        "Hello, Fa!"


def test_postgres_fixture_skips_without_database_url(request: Any) -> None:
    if os.environ.get("DATABASE_URL"):
        provider = request.getfixturevalue("duroxide_postgres")
        assert provider.schema.startswith("duroxide_test_")
    else:
        with pytest.raises(pytest.skip.Exception):
            request.getfixturevalue("duroxide_postgres")


def test_reachable_from_the_package() -> None:
    import importlib

    pkg = importlib.import_module("duroxide")
    assert pkg.testing.replay is importlib.import_module("duroxide.testing").replay
    with pytest.raises(AttributeError):
        getattr(pkg, "no_such_name")
