"""ClientAPI parity (tests/test_client_parity.py): start, status, events, instance control and KV.

The stack and fixtures are in tests/helpers/parity.py.
"""

from __future__ import annotations

import json

import pytest

pytest.importorskip("fastapi")

import duroxide  # noqa: E402
from duroxide.client.api import ClientAPI  # noqa: E402
from helpers.parity import (  # noqa: E402,F401  (fixtures are used by name)
    NEEDS_GPU, UGLY, WAIT, Stack, client, covers, kind, stack, subscribed, subscribed_to_queue,
    uid)


# ---- start, status, events ---------------------------------------------------------------------


@covers("start_orchestration", "start_orchestration_typed", "get_status",
        "wait_for_orchestration", "wait_for_orchestration_typed")
def test_start_status_and_waits(client: ClientAPI, kind: str) -> None:
    a, b, bad = uid(kind, "echo-a"), uid(kind, "echo-b"), uid(kind, "fails")
    client.start_orchestration(a, "Echo", {"n": [1, 2]})
    client.start_orchestration_typed(b, "Echo", "text")
    client.start_orchestration(bad, "Fails")
    assert client.wait_for_orchestration(a, WAIT).output == {"n": [1, 2]}
    assert client.wait_for_orchestration_typed(b, WAIT) == "text"
    status = client.get_status(a)
    assert isinstance(status, duroxide.OrchestrationResult)
    assert (status.status, status.output, status.error) == ("Completed", {"n": [1, 2]}, None)
    assert client.get_status(uid(kind, "never")).status == "NotFound"
    with pytest.raises(duroxide.OrchestrationFailedError, match="boom") as failed:
        client.wait_for_orchestration_typed(bad, WAIT)
    assert "boom" in str(failed.value.error)
    assert client.get_status(bad).status == "Failed"
    with pytest.raises(duroxide.InstanceAlreadyExistsError):
        client.start_orchestration(a, "Echo")
    with pytest.raises(duroxide.InvalidArgumentError):
        client.start_orchestration("", "Echo")
    with pytest.raises(TypeError, match="not JSON-serializable"):
        client.start_orchestration(uid(kind, "bad-input"), "Echo", object())
    with pytest.raises(duroxide.OperationTimedOutError, match="^Operation timed out$"):
        client.wait_for_orchestration(uid(kind, "never"), 100)


def test_start_policies(client: ClientAPI, kind: str) -> None:
    """if_exists (docs/flow-control.md) behaves the same through every client."""
    a = uid(kind, "policy")
    client.start_orchestration(a, "Echo", 1)
    assert client.wait_for_orchestration(a, WAIT).output == 1
    client.start_orchestration(a, "Echo", 2, if_exists="use_existing")
    assert client.get_status(a).output == 1
    client.start_orchestration_versioned(a, "Echo", 3, "1.0.0", if_exists="restart_if_ended")
    assert client.wait_for_orchestration(a, WAIT).output == 3
    assert client.get_instance_info(a).current_execution_id == 2
    with pytest.raises(duroxide.InvalidArgumentError, match="if_exists"):
        client.start_orchestration(uid(kind, "policy-bad"), "Echo", if_exists="nope")
    assert client.get_status(uid(kind, "policy-bad")).status == "NotFound"


def test_orchestration_limits(client: ClientAPI, kind: str) -> None:
    """start_orchestration(limit=, limit_key=) and the "Pending" status (docs/flow-control.md)
    behave the same through every client."""
    limit = uid(kind, "orch-limit")
    a, b = uid(kind, "limited-a"), uid(kind, "limited-b")
    client.start_orchestration(a, "Echo", 1, limit=limit, limit_key="k")
    client.start_orchestration_versioned(b, "Echo", 2, "1.0.0", limit=limit)
    # Not defined yet: both wait, Pending.
    assert [client.get_status(i).status for i in (a, b)] == ["Pending", "Pending"]
    with pytest.raises(duroxide.OperationTimedOutError):
        client.wait_for_orchestration(a, 200)  # Pending is waited through
    client.set_limit(limit, duroxide.Limit(concurrency=1, per_key=True))
    assert client.wait_for_orchestration(a, WAIT).output == 1
    assert client.wait_for_orchestration(b, WAIT).output == 2
    assert (client.get_limit(limit).in_flight, client.get_limit(limit).waiting) == (0, 0)
    client.delete_limit(limit)
    with pytest.raises(duroxide.InvalidArgumentError, match="limit_key"):
        client.start_orchestration(uid(kind, "limit-bad"), "Echo", limit_key="k")
    with pytest.raises(duroxide.InvalidTypeError, match="limit"):
        client.start_orchestration(uid(kind, "limit-bad"), "Echo", limit=3)  # type: ignore
    with pytest.raises(duroxide.InvalidArgumentError, match="limit"):
        client.start_orchestration(uid(kind, "limit-bad"), "Echo", limit="")
    assert client.get_status(uid(kind, "limit-bad")).status == "NotFound"


@covers("debounce")
def test_debounce(client: ClientAPI, kind: str) -> None:
    key = uid(kind, "debounce")
    assert client.debounce(key, "Echo", 1, window_ms=600) == f"{key}@1"
    assert client.debounce(key, "Echo", {"two": 2}, window_ms=600) == f"{key}@1"
    assert client.wait_for_orchestration(f"{key}@1", WAIT).output == [1, {"two": 2}]
    with pytest.raises(duroxide.InvalidArgumentError, match="window_ms"):
        client.debounce(key, "Echo", 3, window_ms=0)
    with pytest.raises(duroxide.InvalidArgumentError, match="max_items"):
        client.debounce(key, "Echo", 3, window_ms=10, max_items=0)


@covers("start_orchestration_versioned", "start_orchestration_versioned_typed")
def test_versioned_starts_pin_the_version(client: ClientAPI, kind: str) -> None:
    old, new = uid(kind, "v1"), uid(kind, "v1-typed")
    client.start_orchestration_versioned(old, "Versioned", None, "1.0.0")
    client.start_orchestration_versioned_typed(new, "Versioned", None, "1.0.0")
    latest = uid(kind, "latest")
    client.start_orchestration(latest, "Versioned")
    assert [client.wait_for_orchestration(i, WAIT).output for i in (old, new, latest)] == [
        "v1", "v1", "v2"]
    assert client.get_instance_info(old).orchestration_version == "1.0.0"


@covers("raise_event", "raise_event_typed", "enqueue_event", "enqueue_event_typed",
        "wait_for_status_change", "cancel_instance")
def test_events_queues_custom_status_and_cancel(client: ClientAPI, kind: str) -> None:
    a, b, c = uid(kind, "wait-a"), uid(kind, "wait-b"), uid(kind, "wait-c")
    for instance_id in (a, b, c):
        client.start_orchestration(instance_id, "Waiter")
    seen = client.wait_for_status_change(a, 0, 50, WAIT)
    assert seen is not None and seen.custom_status == "waiting"
    assert client.wait_for_status_change(a, seen.custom_status_version, 50, 200) is None
    assert subscribed(client, a) and subscribed(client, b)
    client.raise_event(a, "go", {"by": kind})
    client.enqueue_event(a, "q", 1)
    client.enqueue_event_typed(a, "q", [2])
    assert client.wait_for_orchestration(a, WAIT).output == [{"by": kind}, 1, [2]]
    done = client.wait_for_status_change(a, seen.custom_status_version, 50, WAIT)
    assert done is not None and done.custom_status == "done"

    client.raise_event_typed(b, "go", "typed")
    client.enqueue_event(b, "q", None)
    client.enqueue_event(b, "q", "x")
    assert client.wait_for_orchestration(b, WAIT).output == ["typed", None, "x"]
    # Events for an unknown or finished instance are dropped without an error.
    client.raise_event(uid(kind, "never"), "go")
    client.enqueue_event(b, "q", 3)

    client.cancel_instance(c, "enough")
    result = client.wait_for_orchestration(c, WAIT)
    assert result.status == "Failed" and "canceled: enough" in str(result.error)
    client.cancel_instance(uid(kind, "never"))  # nothing to cancel: no error


@covers("rerun")
def test_rerun_continues_a_failed_instance_under_current_code(client: ClientAPI,
                                                              kind: str) -> None:
    bad = uid(kind, "rerun-src")
    client.start_orchestration(bad, "Fails")
    assert client.wait_for_orchestration(bad, WAIT).status == "Failed"
    new_id = client.rerun(bad)
    assert new_id == bad + "~1"
    assert client.wait_for_orchestration(new_id, WAIT).status == "Failed"  # same code
    assert client.rerun(bad) == bad + "~2"
    with pytest.raises(duroxide.InvalidArgumentError):
        client.rerun(bad, from_event_id=10_000)
    with pytest.raises(duroxide.NotFoundError):
        client.rerun(uid(kind, "never"))


@covers("suspend_instance", "resume_instance", "terminate_instance", "get_pending", "bulk")
def test_operations_suspend_resume_terminate_pending_bulk(client: ClientAPI, kind: str) -> None:
    a, b = uid(kind, f"ops-{kind}-a"), uid(kind, f"ops-{kind}-b")
    for instance_id in (a, b):
        client.start_orchestration(instance_id, "Waiter")
    assert subscribed(client, a) and subscribed(client, b)
    assert [e["name"] for e in client.get_pending(a).events] == ["go"]
    client.suspend_instance(a, "why not")
    assert (client.get_status(a).status, client.get_status(a).error) == ("Suspended", "why not")
    client.raise_event(a, "go", 1)
    assert client.get_pending(a).buffered == {"ExternalRaised": 1}
    with pytest.raises(duroxide.FailedPreconditionError, match="not suspended|is Running"):
        client.resume_instance(b)
    client.resume_instance(a)
    client.enqueue_event(a, "q", 2)
    client.enqueue_event(a, "q", 3)
    assert client.wait_for_orchestration(a, WAIT).output == [1, 2, 3]
    client.terminate_instance(b, "bye", output=[kind])
    ended = client.wait_for_orchestration(b, WAIT)
    assert (ended.status, ended.error, ended.output) == ("Terminated", "terminated: bye", [kind])
    with pytest.raises(duroxide.NotFoundError):
        client.suspend_instance(uid(kind, "never"))
    with pytest.raises(duroxide.InvalidArgumentError):
        client.bulk("nope")
    prefix = f"ops-{kind}-"
    dry = client.bulk("delete", id_prefix=prefix, dry_run=True)
    assert sorted(dry.matched) == sorted([a, b]) and dry.done == []
    assert client.bulk("delete", id_prefix=prefix).done == dry.matched
    assert client.get_status(a).status == "NotFound"


# ---- KV ------------------------------------------------------------------------------------------


@covers("get_kv_value", "get_kv_value_typed", "wait_for_kv_value", "wait_for_kv_value_typed",
        "get_kv_all")
def test_kv_reads_and_waits(client: ClientAPI, kind: str) -> None:
    instance_id = uid(kind, "kv")
    client.start_orchestration(instance_id, "Kv", {"n": 5})
    assert json.loads(client.wait_for_kv_value(instance_id, "k/ä", WAIT)) == {"n": 5}
    assert client.get_kv_value(instance_id, "k/ä") == json.dumps({"n": 5})
    assert client.get_kv_value_typed(instance_id, "k/ä") == {"n": 5}
    assert client.get_kv_value(instance_id, "missing") is None
    assert client.get_kv_value_typed(instance_id, "missing") is None
    assert client.get_kv_all(instance_id) == {"k/ä": json.dumps({"n": 5})}
    assert client.get_kv_all(uid(kind, "never")) == {}
    with pytest.raises(duroxide.OperationTimedOutError,
                       match="^Timed out waiting for value 'late' on instance "):
        client.wait_for_kv_value(instance_id, "late", 100)
    assert subscribed(client, instance_id)
    client.raise_event(instance_id, "go")
    assert client.wait_for_kv_value_typed(instance_id, "late", WAIT) == 1
