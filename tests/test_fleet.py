"""Worker registry (docs/deployment.md): registration, names, heartbeats, drain, pruning,
unservable work and least-loaded session placement, on every provider (the `env` fixture)."""

from __future__ import annotations

import os
import re
import threading
import time
from collections import Counter
from typing import Any, Dict, List

import pytest

import duroxide
from duroxide import RuntimeOptions, TagFilter
from helpers.util import wait_done, wait_until

NAME = re.compile(r"^[a-z]+-[a-z]+-\d{2}$")
FAST = dict(dispatcher_poll_interval_ms=20, worker_lock_timeout_ms=2000)


def opts(**kw: Any) -> RuntimeOptions:
    return RuntimeOptions(**{**FAST, "heartbeat_interval_ms": 200, **kw})


def serve(rt: Any, executions: List[Any], sleep: float = 0.0) -> None:
    @rt.register_activity("Work")
    def work(ctx: Any, n: Any) -> Any:
        time.sleep(sleep)
        executions.append((ctx.instance_id, n))
        return n

    @rt.register_orchestration("Job")
    def job(ctx: Any, input: Any) -> Any:
        session = input.get("session") if isinstance(input, dict) else None
        if session:
            r = yield ctx.schedule_activity_on_session("Work", input.get("n"), session)
        else:
            r = yield ctx.schedule_activity("Work", input)
        return r


def test_runtime_registers_with_its_details(env):
    provider, client, make_runtime = env
    rt = make_runtime(opts(service_name="billing", service_version="2.1.0"))
    serve(rt, [])
    rt.start()
    [w] = client.list_workers()
    assert isinstance(w, duroxide.WorkerInfo)
    assert NAME.match(w.name) and w.name == rt.worker_name
    assert w.worker_id == rt.worker_id
    assert w.status == "active" and w.pid == os.getpid() and w.host
    assert w.version == duroxide.__version__
    assert (w.service_name, w.service_version) == ("billing", "2.1.0")
    assert w.capacity == {"orchestration_slots": 2, "worker_slots": 2, "max_sessions": 10}
    assert w.serves == {"orchestrations": [{"name": "Job", "version": "1.0.0"}],
                        "activities": ["Work"]}
    assert w.started_at_ms > 0 and w.last_heartbeat_ms >= w.started_at_ms
    assert client.get_worker(w.name).worker_id == w.worker_id
    assert client.get_worker(w.worker_id).name == w.name
    with pytest.raises(duroxide.NotFoundError):
        client.get_worker("no-such-worker-00")


def test_names_are_unique_and_heartbeats_report_load(env):
    provider, client, make_runtime = env
    done: List[Any] = []
    runtimes = [make_runtime(opts()) for _ in range(3)]
    for rt in runtimes:
        serve(rt, done)
        rt.start()
    names = [w.name for w in client.list_workers()]
    assert len(names) == 3 and len(set(names)) == 3
    first = client.get_worker(runtimes[0].worker_id).last_heartbeat_ms
    for i in range(6):
        client.start_orchestration(f"j{i}", "Job", i)
    for i in range(6):
        assert wait_done(client, f"j{i}").status == "Completed"
    assert wait_until(lambda: client.get_worker(runtimes[0].worker_id).last_heartbeat_ms > first)
    assert wait_until(lambda: sum(client.get_worker(rt.worker_id).load["items_processed"]
                                  for rt in runtimes) >= 18, timeout_s=5)
    load = client.list_workers()[0].load
    assert {"turns_in_flight", "activities_in_flight", "sessions_held",
            "items_processed"} <= set(load)


def test_clean_shutdown_marks_stopped_and_same_node_id_reregisters(env):
    provider, client, make_runtime = env
    first = make_runtime(opts(worker_node_id="pod-7"))
    first.start()
    name = first.worker_name
    first.shutdown()
    w = client.get_worker("pod-7")
    assert w.status == "stopped" and w.name == name
    second = make_runtime(opts(worker_node_id="pod-7"))
    second.start()
    w = client.get_worker("pod-7")
    assert (w.worker_id, w.name, w.status) == ("pod-7", name, "active")
    assert len(client.list_workers()) == 1


def test_drain_through_the_api_finishes_in_flight_activities_once(env):
    provider, client, make_runtime = env
    executions: List[Any] = []
    a = make_runtime(opts(worker_concurrency=3))
    serve(a, executions, sleep=0.6)
    a.start()
    for i in range(3):
        client.start_orchestration(f"d{i}", "Job", i)
    assert wait_until(lambda: client.get_worker(a.worker_id).load.get("activities_in_flight", 0)
                      >= 1 or len(executions) > 0, timeout_s=5)
    assert client.drain_worker(a.worker_name).worker_id == a.worker_id
    assert wait_until(lambda: client.get_worker(a.worker_id).status in ("draining", "stopped"),
                      timeout_s=5)
    assert wait_until(lambda: a.drained, timeout_s=10)
    assert client.get_worker(a.worker_id).status == "stopped"
    # Work the drained worker did not take is served by another runtime.
    b = make_runtime(opts())
    serve(b, executions)
    b.start()
    for i in range(3):
        assert wait_done(client, f"d{i}").status == "Completed"
    counts = Counter(n for _, n in executions)
    assert counts == Counter({0: 1, 1: 1, 2: 1}), counts


def test_local_drain_hands_sessions_to_another_worker(env):
    provider, client, make_runtime = env
    executions: List[Any] = []
    a = make_runtime(opts(worker_node_id="a"))
    serve(a, executions)
    a.start()
    client.start_orchestration("s1", "Job", {"session": "S", "n": 1})
    assert wait_done(client, "s1").status == "Completed"
    assert client.get_worker("a").sessions_held == 1
    assert a.drain(timeout_ms=10000)
    assert client.get_worker("a").sessions_held == 0
    b = make_runtime(opts(worker_node_id="b"))
    serve(b, executions)
    b.start()
    client.start_orchestration("s2", "Job", {"session": "S", "n": 2})
    assert wait_done(client, "s2").status == "Completed"  # at once, not after the session lock
    assert client.get_worker("b").sessions_held == 1


def test_pruning_removes_gone_workers(env):
    provider, client, make_runtime = env
    old = make_runtime(opts())
    old.start()
    old.shutdown()
    time.sleep(0.05)
    keep = make_runtime(opts(worker_retention_ms=10))
    keep.start()
    assert wait_until(lambda: [w.worker_id for w in client.list_workers()] == [keep.worker_id],
                      timeout_s=5)
    keep.shutdown()
    time.sleep(0.05)
    assert client.prune_workers(0) == 1
    assert client.list_workers() == []


def test_unservable_work_names_what_no_live_worker_serves(env):
    provider, client, make_runtime = env
    rt = make_runtime(opts(worker_tag_filter=TagFilter.default_and(["cpu"])))
    serve(rt, [])

    @rt.register_orchestration("Tagged")
    def tagged(ctx: Any, input: Any) -> Any:
        r = yield ctx.schedule_activity("Work", 1).with_tag("gpu")
        return r

    rt.start()
    client.start_orchestration("m1", "Missing", None)
    client.start_orchestration_versioned("v1", "Job", 1, "9.0.0")
    client.start_orchestration("t1", "Tagged", None)
    client.start_orchestration("ok", "Job", 1)
    assert wait_done(client, "ok").status == "Completed"

    def found() -> Dict[Any, Any]:
        return {(s.kind, s.name, s.version, s.tag): s for s in client.list_unservable_work()}

    assert wait_until(lambda: len(found()) == 3, timeout_s=20), found()
    stuck = found()
    assert stuck[("orchestration", "Missing", None, None)].instance_ids == ["m1"]
    assert "9.0.0" in stuck[("orchestration", "Job", "9.0.0", None)].reason
    gpu = stuck[("activity", "Work", None, "gpu")]
    assert gpu.count == 1 and "gpu" in gpu.reason and gpu.oldest_wait_ms >= 0


def test_drain_of_unknown_or_stopped_worker_is_refused(env):
    provider, client, make_runtime = env
    with pytest.raises(duroxide.NotFoundError):
        client.drain_worker("nobody-here-00")
    rt = make_runtime(opts())
    rt.start()
    rt.shutdown()
    with pytest.raises(duroxide.DuroxideError):
        client.drain_worker(rt.worker_id)


def test_heartbeat_interval_zero_disables_the_registry(env):
    provider, client, make_runtime = env
    rt = make_runtime(opts(heartbeat_interval_ms=0))
    serve(rt, [])
    rt.start()
    client.start_orchestration("z", "Job", 1)
    assert wait_done(client, "z").status == "Completed"
    assert client.list_workers() == []


def test_least_loaded_placement_spreads_new_sessions(env):
    provider, client, make_runtime = env
    owners: Dict[str, str] = {}
    lock = threading.Lock()

    def make(label: str) -> Any:
        rt = make_runtime(opts(worker_node_id=label, max_sessions_per_runtime=20))

        @rt.register_activity("Where")
        def where(ctx: Any, input: Any) -> Any:
            with lock:
                owners.setdefault(ctx.session_id, label)
            return label

        @rt.register_orchestration("Sess")
        def sess(ctx: Any, session: Any) -> Any:
            r = yield ctx.schedule_activity_on_session("Where", None, session)
            return r

        rt.start()
        return rt

    make("A")
    client.start_orchestration("warm", "Sess", "warm-up")  # A alone
    assert wait_done(client, "warm").status == "Completed"
    make("B")
    make("C")
    time.sleep(0.3)
    for i in range(30):
        client.start_orchestration(f"p{i}", "Sess", f"s{i}")
    for i in range(30):
        assert wait_done(client, f"p{i}", 30000).status == "Completed"
    per_worker = Counter(owners[f"s{i}"] for i in range(30))
    held = {w.worker_id: w.sessions_held for w in client.list_workers()}
    assert all(8 <= per_worker[label] <= 12 for label in "ABC"), (per_worker, held)
