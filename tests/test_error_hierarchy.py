"""One exception hierarchy: every error derives from DuroxideError, with the built-in classes
programs written for the reference expect (RuntimeError, TimeoutError, ValueError, Exception)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import duroxide
from duroxide import (
    ActivityFailedError,
    ActivityTimeoutError,
    DuroxideError,
    InstanceAlreadyExistsError,
    InvalidArgumentError,
    NotFoundError,
    OperationTimedOutError,
    OrchestrationFailedError,
    ProviderError,
    RuntimeStateError,
    SqliteProvider,
    StoreError,
    SubOrchestrationFailedError,
    TaskFailedError,
    TracingError,
    parse_result,
)
from helpers.util import wait_done


def test_hierarchy_and_compatibility_bases():
    for name in duroxide.errors.__all__:
        cls = getattr(duroxide, name)
        assert issubclass(cls, DuroxideError), name
        assert getattr(duroxide._core, name) is cls, name  # the native module raises these
    assert not issubclass(DuroxideError, RuntimeError)
    for cls in (StoreError, ProviderError, NotFoundError, InstanceAlreadyExistsError,
                InvalidArgumentError, OperationTimedOutError, RuntimeStateError, TracingError,
                duroxide.ClosedError):
        assert issubclass(cls, RuntimeError), cls
    assert issubclass(OperationTimedOutError, TimeoutError)
    assert issubclass(ActivityTimeoutError, TimeoutError)
    assert issubclass(InvalidArgumentError, ValueError)
    for cls in (ActivityFailedError, SubOrchestrationFailedError, TaskFailedError):
        assert issubclass(cls, Exception) and not issubclass(cls, RuntimeError)


def test_provider_open_failure_is_provider_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ProviderError, match="^Failed to open SQLite: "):
        SqliteProvider.open(str(blocker / "sub" / "db.sqlite"))


def test_runtime_start_errors(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    runtime.start()
    with pytest.raises(RuntimeStateError, match="already started"):
        runtime.start()
    runtime.shutdown(100)
    with pytest.raises(RuntimeStateError, match="shut down") as info:
        runtime.start()
    assert "already started" not in str(info.value)


def test_timeouts_are_timeout_errors(env):
    provider, client, make_runtime = env
    with pytest.raises(OperationTimedOutError) as info:
        client.wait_for_orchestration("ghost", 50)
    assert str(info.value) == "Operation timed out"
    assert isinstance(info.value, RuntimeError) and isinstance(info.value, TimeoutError)
    with pytest.raises(TimeoutError, match="^Timed out waiting for value 'k' on instance 'g'$"):
        client.wait_for_kv_value("g", "k", 50)
    with pytest.raises(NotFoundError):
        client.get_instance_info("ghost")


def test_failures_reach_orchestrations_with_details(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    seen = {}

    @runtime.register_activity("Boom")
    def boom(ctx, input):
        raise ValueError("bad input " + str(input))

    @runtime.register_activity("Slow")
    def slow(ctx, input):
        import time

        time.sleep(0.5)
        return 1

    @runtime.register_orchestration("Child")
    def child(ctx, input):
        raise KeyError("child broke")

    @runtime.register_orchestration("Parent")
    def parent(ctx, input):
        try:
            yield ctx.schedule_activity("Boom", 7)
        except ActivityFailedError as e:
            seen["activity"] = (type(e).__name__, e.category, e.type, e.message, str(e), e.name)
        try:
            yield ctx.schedule_sub_orchestration("Child", None)
        except SubOrchestrationFailedError as e:
            seen["child"] = (e.category, e.kind, "KeyError" in str(e))
        try:
            yield ctx.schedule_activity_with_retry(
                "Slow", None, {"maxAttempts": 1, "timeoutMs": 50})
        except TimeoutError as e:
            seen["timeout"] = (type(e).__name__, str(e))
        return "ok"

    runtime.start()
    client.start_orchestration("p", "Parent")
    result = wait_done(client, "p")
    assert result.status == "Completed", result.error
    assert seen["activity"] == ("ActivityFailedError", "Application", "ValueError",
                                "bad input 7", "Activity 'Boom' call failed: ValueError: bad input 7",
                                "Boom")
    assert seen["child"] == ("Application", "OrchestrationFailed", True)
    assert seen["timeout"] == ("ActivityTimeoutError", "timeout: activity timed out")


def test_typed_failures():
    with pytest.raises(TaskFailedError, match="^went wrong$"):
        parse_result({"err": "went wrong"})


def test_wait_typed_failure(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    runtime.register_orchestration("Bad", lambda ctx, input: 1 / 0)
    runtime.start()
    client.start_orchestration("bad", "Bad")
    with pytest.raises(OrchestrationFailedError, match="ZeroDivisionError"):
        client.wait_for_orchestration_typed("bad", 15000)


def test_init_tracing_checks_the_file_first():
    code = textwrap.dedent("""
        import os, tempfile
        import duroxide
        good = os.path.join(tempfile.mkdtemp(), "t.log")
        duroxide.init_tracing(good)
        try:
            duroxide.init_tracing("/nonexistent-dir/sub/trace.log")
        except duroxide.TracingError as e:
            assert isinstance(e, RuntimeError)
            print("BAD:" + str(e))
        try:
            duroxide.init_tracing(good)
        except duroxide.TracingError as e:
            print("SECOND:" + str(e))
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "BAD:Failed to open log file '/nonexistent-dir/sub/trace.log': " in proc.stdout
    assert "SECOND:Failed to init tracing: " in proc.stdout
