"""Retry policies are validated once, by the native validator, at the call site; argument errors
are DuroxideErrors that are also the built-in TypeError / ValueError (issue 15)."""

from __future__ import annotations

from typing import Any

import pytest

import duroxide
from duroxide import (
    DuroxideError,
    InvalidArgumentError,
    InvalidTypeError,
    OrchestrationContext,
    RuntimeOptions,
    SqliteProvider,
)
from helpers.util import wait_done


def _ctx() -> OrchestrationContext:
    return OrchestrationContext({"instanceId": "i", "executionId": 1, "orchestrationName": "O",
                                 "orchestrationVersion": "1.0.0"})


def test_invalid_type_error_is_a_duroxide_error_and_a_type_error() -> None:
    assert issubclass(InvalidTypeError, DuroxideError)
    assert issubclass(InvalidTypeError, TypeError)
    assert duroxide._core.InvalidTypeError is InvalidTypeError
    assert "InvalidTypeError" in duroxide.__all__


@pytest.mark.parametrize("policy, expected", [
    ({"max_attempts": 4, "timeout_ms": 10, "total_timeout_ms": 99, "backoff": "Fixed",
      "prefer_different_worker": True, "avoid_window_ms": 5},
     {"maxAttempts": 4, "timeoutMs": 10, "totalTimeoutMs": 99, "backoff": "fixed",
      "preferDifferentWorker": True, "avoidWindowMs": 5}),
    ({"maxAttempts": 4, "timeoutMs": 10, "totalTimeoutMs": 99, "backoffStrategy": "LINEAR",
      "preferDifferentWorker": False, "avoidWindowMs": 0},
     {"maxAttempts": 4, "timeoutMs": 10, "totalTimeoutMs": 99, "backoff": "linear",
      "preferDifferentWorker": False, "avoidWindowMs": 0}),
    ({"backoff_strategy": "none"},
     {"maxAttempts": 3, "timeoutMs": None, "totalTimeoutMs": None, "backoff": "none"}),
    ({}, {"maxAttempts": 3, "timeoutMs": None, "totalTimeoutMs": None, "backoff": None}),
])
def test_both_spellings_normalise_to_one_form(policy: Any, expected: Any) -> None:
    task = _ctx().schedule_activity_with_retry("A", 1, policy)
    assert task["retry"] == expected
    assert duroxide._core._normalize_retry_policy(policy) == expected


@pytest.mark.parametrize("policy, cls, fragment", [
    ({"max_attempts": 0}, InvalidArgumentError, "max_attempts must be an int >= 1, got 0"),
    ({"maxAttempts": True}, InvalidArgumentError, "max_attempts must be an int >= 1, got True"),
    ({"timeout_ms": -1}, InvalidArgumentError, "timeout_ms must be an int >= 0"),
    ({"totalTimeoutMs": 1.5}, InvalidArgumentError, "total_timeout_ms must be an int >= 0"),
    ({"avoid_window_ms": -5}, InvalidArgumentError, "avoid_window_ms must be an int >= 0"),
    ({"backoff": "sometimes"}, InvalidArgumentError, "backoff must be one of"),
    ({"prefer_different_worker": "yes"}, InvalidTypeError,
     "prefer_different_worker must be a bool"),
    (["max_attempts", 3], InvalidTypeError, "retry policy must be a dict, not list"),
])
def test_bad_policies_raise_at_the_call(policy: Any, cls: type, fragment: str) -> None:
    ctx = _ctx()
    for call in (lambda: ctx.schedule_activity_with_retry("A", 1, policy),
                 lambda: ctx.schedule_activity_with_retry_on_session("A", 1, policy, "s"),
                 lambda: ctx.schedule_activity_with_retry_typed("A", 1, policy)):
        with pytest.raises(cls) as info:
            call()
        assert fragment in str(info.value)
        assert "schedule_activity_with_retry" in str(info.value)  # names the call
        assert isinstance(info.value, DuroxideError)


def test_graph_task_retry_uses_the_same_validator() -> None:
    registry = duroxide.Registry()
    with pytest.raises(InvalidArgumentError, match="task 'T': max_attempts"):
        registry.task(name="T", retry={"maxAttempts": 0})(lambda x: x)
    fn = registry.task(name="T2", retry={"max_attempts": 2, "backoff": "Linear"})(lambda x: x)
    assert fn.retry_dict is not None and fn.retry_dict["backoff"] == "linear"


def test_a_policy_in_either_spelling_runs(env: Any) -> None:
    _, client, make_runtime = env
    runtime = make_runtime()
    calls = {"n": 0}

    @runtime.register_activity("Flaky")
    def flaky(ctx: Any, x: Any) -> Any:
        calls["n"] += 1
        if calls["n"] % 2 == 1:
            raise RuntimeError("first attempt fails")
        return x

    @runtime.register_orchestration("Retry")
    def orch(ctx: Any, _: Any) -> Any:
        a = yield ctx.schedule_activity_with_retry(
            "Flaky", 1, {"max_attempts": 2, "backoff_strategy": "none"})
        b = yield ctx.schedule_activity_with_retry(
            "Flaky", 2, {"maxAttempts": 2, "backoffStrategy": "None"})
        return [a, b]

    runtime.start()
    client.start_orchestration("r", "Retry", None)
    result = wait_done(client, "r")
    assert result.status == "Completed", result.error
    assert result.output == [1, 2]
    assert calls["n"] == 4


def test_python_argument_errors_derive_from_both() -> None:
    with pytest.raises(InvalidTypeError):
        SqliteProvider.open(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        SqliteProvider.open(3)  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError):
        RuntimeOptions(orchestration_concurrency=-1)
    with pytest.raises(ValueError):
        RuntimeOptions(orchestration_concurrency=-1)
    with pytest.raises(InvalidArgumentError, match="race"):
        _ctx().race(_ctx().schedule_timer(1))
    with pytest.raises(InvalidTypeError, match="session_id"):
        _ctx().schedule_activity_on_session("A", 1, 5)  # type: ignore[arg-type]
    # A value json cannot encode keeps json's own TypeError (documented exception).
    with pytest.raises(TypeError) as info:
        _ctx().schedule_activity("A", {1, 2})
    assert type(info.value) is TypeError
