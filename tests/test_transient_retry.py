"""Runtime start retries transient store errors (a worker starting while its database
restarts must wait for it, not die): duroxide._providers.retry_transient and its use by the
unfinished-import check, plus a real PostgreSQL restart during a runtime start."""

from __future__ import annotations

import threading
import time

import pytest

import duroxide
from duroxide import Runtime
from duroxide._providers import is_transient, retry_transient
from duroxide.errors import (
    FailedPreconditionError,
    InvalidArgumentError,
    OperationTimedOutError,
    ProviderError,
)

import pg_cluster


def failing(errors):
    """A call that raises each of `errors` in turn, then returns "ok"; counts its calls."""
    calls = []

    def call():
        calls.append(time.monotonic())
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return "ok"
    return call, calls


def test_transient_errors_are_retried_until_the_call_succeeds():
    call, calls = failing([ProviderError("connection lost"), OperationTimedOutError("timeout")])
    assert retry_transient(call) == "ok"
    assert len(calls) == 3


@pytest.mark.parametrize("error", [FailedPreconditionError("unfinished import"),
                                   InvalidArgumentError("bad"), KeyError("x")])
def test_other_errors_are_raised_at_once(error):
    call, calls = failing([error])
    with pytest.raises(type(error)):
        retry_transient(call)
    assert len(calls) == 1
    assert not is_transient(error)


def test_a_transient_error_outlasting_the_budget_is_raised():
    call, calls = failing([ProviderError("down")] * 100)
    t0 = time.monotonic()
    with pytest.raises(ProviderError):
        retry_transient(call, budget_s=0.3)
    assert time.monotonic() - t0 < 1.5
    assert 2 <= len(calls) < 100


def test_a_runtime_started_while_postgres_restarts_waits_for_it():
    cluster = pg_cluster.PgCluster()
    url = cluster.start()
    try:
        provider = duroxide.PostgresProvider.connect_with_schema(url, "restart_at_start")
        rt = Runtime(provider)

        @rt.register_orchestration("Hello")
        def hello(ctx, name):
            return f"hello {name}"

        # The server goes down (immediate shutdown) just before start() and is back a moment
        # later: without the retry, start() dies on its first query (connection refused).
        errors = []

        def restart():
            try:
                cluster.restart("immediate")
            except Exception as e:  # noqa: BLE001 - reported by the assertion below
                errors.append(e)

        restarter = threading.Thread(target=restart)
        restarter.start()
        time.sleep(0.2)
        rt.start()
        try:
            restarter.join(60)
            assert not errors, errors
            client = duroxide.Client(provider)
            client.start_orchestration("i1", "Hello", "pg")
            status = client.wait_for_orchestration("i1", 30_000)
            assert status.status == "Completed" and status.output == "hello pg"
        finally:
            rt.shutdown(3000)
    finally:
        cluster.stop()
