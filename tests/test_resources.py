"""Resources: providers, clients and runtimes can be closed; closed objects raise ClosedError;
a runtime cannot be restarted; registrations after start() are served."""

from __future__ import annotations

import os

import pytest

import duroxide
from duroxide import ClosedError, Client, Runtime, RuntimeStateError, SqliteProvider
from helpers.util import wait_done


def _open_fds_for(path: str) -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith(path):
                count += 1
        except OSError:
            pass
    return count


def test_closed_client_raises(env):
    provider, client, make_runtime = env
    other = Client(provider)
    assert not other.closed
    assert other.get_status("x").status == "NotFound"
    other.close()
    other.close()  # idempotent
    assert other.closed
    with pytest.raises(ClosedError, match="Client is closed"):
        other.get_status("x")
    with pytest.raises(ClosedError):
        other.list_all_instances()
    with pytest.raises(ClosedError):
        other.start_orchestration("x", "Echo")
    # The provider and the other client are unaffected.
    assert client.get_status("x").status == "NotFound"


def test_client_context_manager(env):
    provider, _, _ = env
    with Client(provider) as c:
        assert c.list_all_instances() == []
    assert c.closed
    with pytest.raises(ClosedError):
        c.get_system_metrics()


def test_provider_close_closes_dependents_and_releases_the_file(tmp_path):
    path = str(tmp_path / "store.db")
    provider = SqliteProvider.open(path)
    client = Client(provider)
    runtime = Runtime(provider, duroxide.RuntimeOptions(dispatcher_poll_interval_ms=10))
    runtime.register_orchestration("Echo", lambda ctx, x: x)
    runtime.start()
    client.start_orchestration("a", "Echo", 1)
    assert wait_done(client, "a").output == 1
    assert _open_fds_for(path) > 0
    provider.close()
    assert provider.closed and client.closed and runtime.closed
    assert _open_fds_for(path) == 0  # connections released deterministically
    with pytest.raises(ClosedError, match="SqliteProvider is closed"):
        Client(provider)
    with pytest.raises(ClosedError):
        Runtime(provider)
    with pytest.raises(ClosedError):
        client.get_status("a")
    with pytest.raises(ClosedError):
        runtime.start()
    provider.close()  # idempotent
    # The data is still there for a new provider.
    with SqliteProvider.open(path) as again:
        assert Client(again).get_status("a").output == 1
    assert _open_fds_for(path) == 0


def test_closed_provider_in_env(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    runtime.start()
    provider.close()
    assert client.closed and runtime.closed
    with pytest.raises(ClosedError):
        client.get_status("x")
    with pytest.raises(ClosedError):
        runtime.metrics_snapshot()
    if isinstance(provider, getattr(duroxide, "PostgresProvider", ())):
        with pytest.raises(ClosedError):
            provider.schema


def test_runtime_close_and_restart(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    runtime.start()
    runtime.shutdown(100)
    with pytest.raises(RuntimeStateError, match="shut down"):
        runtime.start()
    runtime.close()
    runtime.close()  # idempotent
    with pytest.raises(ClosedError):
        runtime.start()
    with pytest.raises(ClosedError):
        runtime.register_activity("A", lambda ctx, x: x)
    # A closed runtime no longer follows a shared registry.
    reg = duroxide.Registry()
    rt2 = Runtime(provider, registry=reg)
    rt2.close()
    reg.register_activity("B", lambda ctx, x: x)


def test_registration_after_start_is_served(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    runtime.start()

    @runtime.register_activity("Late")
    def late(ctx, x):
        return x + 1

    @runtime.register_orchestration("LateOrch")
    def late_orch(ctx, x):
        return (yield ctx.schedule_activity("Late", x))

    client.start_orchestration("late", "LateOrch", 41)
    result = wait_done(client, "late")
    assert result.status == "Completed", result.error
    assert result.output == 42
