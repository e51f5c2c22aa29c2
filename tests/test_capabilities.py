"""Capability routing: workers advertise capabilities, activities require a JSON Schema, the
store claims only matching work; unmatched work waits (visible) until a capable worker joins
or its requires_timeout_ms fails it; retries can prefer a different worker.

Runs on a SQLite file and on PostgreSQL (docs/task-graphs.md)."""

from __future__ import annotations

import json
import threading
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import duroxide
from conftest import Env, RuntimeFactory, fast_options
from duroxide import Client, Registry, RuntimeOptions, SqliteProvider
from helpers.util import wait_done, wait_until

LINUX = {"type": "object", "properties": {"os": {"const": "linux"}}, "required": ["os"]}
WINDOWS = {"type": "object", "properties": {"os": {"const": "windows"}}, "required": ["os"]}


@pytest.fixture(params=["file", "postgres"])
def renv(request: Any, tmp_path: Any) -> Iterator[Env]:
    """A SQLite file or a PostgreSQL schema (the two stores the issue names)."""
    if request.param == "file":
        provider = SqliteProvider.open(str(tmp_path / "caps.db"))
    else:
        url = request.getfixturevalue("pg_url")
        schema = request.getfixturevalue("pg_schema")
        provider = duroxide.PostgresProvider.connect_with_schema(url, schema)
    factory = RuntimeFactory(provider)
    try:
        yield Env(provider, Client(provider), factory)
    finally:
        factory.close()


def _routing_registry(ran: List[Tuple[str, str, Any]]) -> Registry:
    """Activities that record (activity, the worker's os capability, input) where they ran."""
    reg = Registry()
    lock = threading.Lock()

    def recorder(name: str) -> Any:
        def fn(ctx: Any, inp: Any) -> str:
            with lock:
                ran.append((name, ctx.worker_id, inp))
            return ctx.worker_id
        return fn

    reg.register_activity("OnLinux", recorder("OnLinux"), requires=LINUX)
    reg.register_activity("OnWindows", recorder("OnWindows"), requires=WINDOWS)
    reg.register_activity("Anywhere", recorder("Anywhere"))

    @reg.register_orchestration("Fan")
    def fan(ctx: Any, n: int) -> Any:
        tasks = []
        for i in range(n):
            tasks.append(ctx.schedule_activity("OnLinux", i))
            tasks.append(ctx.schedule_activity("OnWindows", i))
            tasks.append(ctx.schedule_activity("Anywhere", i))
        results = yield ctx.all(tasks)
        return [r["ok"] for r in results]

    @reg.register_orchestration("PerCall")
    def per_call(ctx: Any, inp: Any) -> Any:
        # The per-call schema wins over the one given at registration.
        r = yield ctx.schedule_activity("OnLinux", "override", requires=WINDOWS)
        return r

    return reg


def _runtime(env: Env, reg: Registry, caps: Dict[str, Any], **kw: Any) -> duroxide.Runtime:
    rt = duroxide.Runtime(env.provider, fast_options(capabilities=caps, **kw), registry=reg)
    assert isinstance(env.make_runtime, RuntimeFactory)
    env.make_runtime.runtimes.append(rt)
    return rt


def test_options_merge_detected_defaults() -> None:
    opts = RuntimeOptions(capabilities={"os": "windows", "gpu": True})
    caps = opts.capabilities
    assert caps["os"] == "windows" and caps["gpu"] is True
    for key in ("arch", "cpus", "memory_mb", "python", "hostname"):
        assert key in caps
    assert RuntimeOptions().capabilities["os"] == duroxide.detect_capabilities()["os"]
    with pytest.raises(TypeError):
        RuntimeOptions(capabilities=["os"])  # type: ignore[arg-type]


def test_each_activity_runs_only_on_matching_workers(renv: Env) -> None:
    ran: List[Tuple[str, str, Any]] = []
    reg = _routing_registry(ran)
    linux = _runtime(renv, reg, {"os": "linux"})
    windows = _runtime(renv, reg, {"os": "windows"}, orchestration_concurrency=0)
    other = _runtime(renv, reg, {"os": "plan9"}, orchestration_concurrency=0)
    for rt in (linux, windows, other):
        rt.start()
    renv.client.start_orchestration("fan", "Fan", 4)
    result = wait_done(renv.client, "fan", 30000)
    assert result.status == "Completed", result.error
    workers = {"linux": _slots(linux, renv), "windows": _slots(windows, renv)}
    for name, worker, _ in ran:
        if name == "OnLinux":
            assert worker.endswith(workers["linux"]), (name, worker)
        elif name == "OnWindows":
            assert worker.endswith(workers["windows"]), (name, worker)
    assert len(ran) == 12
    # The history records which worker ran each activity.
    events = [json.loads(t) for t in duroxide._core._read_history_json(renv.provider._native,
                                                                        "fan", 0)]
    completions = [e for e in events if e["type"] == "ActivityCompleted"]
    assert len(completions) == 12 and all(e.get("worker") for e in completions)


def _slots(rt: duroxide.Runtime, env: Env) -> str:
    """The runtime id suffix of a runtime's worker ids (work-<slot>-<runtime id>)."""
    return str(rt._native.runtime_id)


def test_unmatched_work_waits_visible_then_runs_when_capable_worker_joins(renv: Env) -> None:
    ran: List[Tuple[str, str, Any]] = []
    reg = _routing_registry(ran)
    linux = _runtime(renv, reg, {"os": "linux"})
    linux.start()

    @reg.register_orchestration("NeedsWindows")
    def needs_windows(ctx: Any, inp: Any) -> Any:
        r = yield ctx.schedule_activity("OnWindows", inp)
        return r

    renv.client.start_orchestration("w1", "NeedsWindows", 7)
    wait_until(lambda: len(renv.client.list_waiting_activities()) == 1, 10)
    waiting = renv.client.list_waiting_activities()[0]
    assert waiting["name"] == "OnWindows" and waiting["schema"] == WINDOWS
    assert waiting["instance_id"] == "w1"
    wait_until(lambda: linux.metrics_snapshot()["capability_schemas_unmatched"] >= 1, 10)
    assert renv.client.get_status("w1").status == "Running"
    assert not [r for r in ran if r[0] == "OnWindows"]

    windows = _runtime(renv, reg, {"os": "windows"}, orchestration_concurrency=0)
    windows.start()
    result = wait_done(renv.client, "w1", 20000)
    assert result.status == "Completed", result.error
    assert [r[2] for r in ran if r[0] == "OnWindows"] == [7]
    assert renv.client.list_waiting_activities() == []


def test_per_call_schema_wins(renv: Env) -> None:
    ran: List[Tuple[str, str, Any]] = []
    reg = _routing_registry(ran)
    linux = _runtime(renv, reg, {"os": "linux"})
    windows = _runtime(renv, reg, {"os": "windows"}, orchestration_concurrency=0)
    linux.start()
    windows.start()
    renv.client.start_orchestration("pc", "PerCall", None)
    result = wait_done(renv.client, "pc", 20000)
    assert result.status == "Completed", result.error
    assert result.output.endswith(_slots(windows, renv))


def test_invalid_schema_raises_at_registration_and_schedule() -> None:
    reg = Registry()
    with pytest.raises(duroxide.InvalidArgumentError, match="is not valid under any"):
        reg.register_activity("Bad", lambda c, i: None, requires={"type": "no-such-type"})
    with pytest.raises(duroxide.DuroxideError, match="invalid requires schema"):
        reg.register_activity("Bad2", lambda c, i: None, requires={"minimum": "x"})
    ctx = duroxide.OrchestrationContext({"instanceId": "i", "executionId": 1,
                                         "orchestrationName": "o",
                                         "orchestrationVersion": "1.0.0"})
    with pytest.raises(duroxide.InvalidArgumentError, match="invalid requires schema"):
        ctx.schedule_activity("A", 1, requires={"required": "os"})
    with pytest.raises(duroxide.InvalidArgumentError):
        reg.task(requires={"type": 5})(lambda x: x)


def test_requires_timeout_fails_with_clear_error(renv: Env) -> None:
    reg = Registry()
    reg.register_activity("Gpu", lambda c, i: "ran",
                          requires={"properties": {"gpu": {"const": True}}, "required": ["gpu"]},
                          requires_timeout_ms=300)

    @reg.register_orchestration("GpuJob")
    def gpu_job(ctx: Any, inp: Any) -> Any:
        r = yield ctx.schedule_activity("Gpu", inp)
        return r

    rt = _runtime(renv, reg, {"os": "linux"})
    rt.start()
    renv.client.start_orchestration("g1", "GpuJob", None)
    result = wait_done(renv.client, "g1", 20000)
    assert result.status == "Failed"
    assert "requires_timeout_ms" in result.error and "gpu" in result.error
    assert rt.metrics_snapshot()["activity_requires_timeouts"] == 1


def test_retry_prefers_a_different_worker(renv: Env) -> None:
    reg = Registry()
    attempts: List[str] = []

    @reg.register_activity("Flaky")
    def flaky(ctx: Any, inp: Any) -> str:
        attempts.append(ctx.worker_id)
        if len(attempts) < 3:
            raise RuntimeError(f"failed on {ctx.worker_id}")
        return ctx.worker_id

    @reg.register_orchestration("Retries")
    def retries(ctx: Any, inp: Any) -> Any:
        r = yield ctx.schedule_activity_with_retry(
            "Flaky", None, {"max_attempts": 5, "backoff": "none",
                            "prefer_different_worker": True})
        return r

    rts = [_runtime(renv, reg, {"os": "linux"}, worker_concurrency=1,
                    orchestration_concurrency=1 if i == 0 else 0) for i in range(3)]
    for rt in rts:
        rt.start()
    renv.client.start_orchestration("r1", "Retries", None)
    result = wait_done(renv.client, "r1", 20000)
    assert result.status == "Completed", result.error
    assert len(attempts) == 3 and len(set(attempts)) == 3, attempts
    events = [json.loads(t) for t in duroxide._core._read_history_json(renv.provider._native,
                                                                        "r1", 0)]
    ran_on = [e["worker"] for e in events if e["type"] in ("ActivityFailed", "ActivityCompleted")]
    assert ran_on == attempts


def test_retry_falls_back_to_the_same_worker_when_alone(renv: Env) -> None:
    reg = Registry()
    attempts: List[str] = []

    @reg.register_activity("FlakyOnce")
    def flaky(ctx: Any, inp: Any) -> str:
        attempts.append(ctx.worker_id)
        if len(attempts) < 2:
            raise RuntimeError("first attempt fails")
        return "ok"

    @reg.register_orchestration("RetryAlone")
    def retry_alone(ctx: Any, inp: Any) -> Any:
        r = yield ctx.schedule_activity_with_retry(
            "FlakyOnce", None, {"max_attempts": 3, "backoff": "none",
                                "prefer_different_worker": True, "avoid_window_ms": 200})
        return r

    rt = _runtime(renv, reg, {"os": "linux"}, worker_concurrency=1)
    rt.start()
    renv.client.start_orchestration("alone", "RetryAlone", None)
    result = wait_done(renv.client, "alone", 20000)
    assert result.status == "Completed", result.error
    assert len(attempts) == 2
