"""Operating failed and stuck work (docs/operations.md): suspend, resume, terminate, what an
instance waits on, bulk actions; on SQLite and PostgreSQL, including runtimes SIGKILLed while
an instance is suspended, resumed and terminated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import duroxide
import pytest
from conftest import fast_options
from duroxide import Client, Runtime
from helpers import ops_worker
from helpers.util import wait_until

WAIT = 15000


@pytest.fixture(params=["file", "postgres"])
def store(request: Any, tmp_path: Path) -> str:
    if request.param == "file":
        return str(tmp_path / "ops.db")
    url = request.getfixturevalue("pg_url")
    schema = request.getfixturevalue("pg_schema")
    return f"pg:{url}|{schema}"


@pytest.fixture
def provider(store: str) -> Iterator[Any]:
    p = ops_worker.open_provider(store)
    yield p
    p.close()


def runtime(provider: Any, **options: Any) -> Runtime:
    rt = Runtime(provider, fast_options(**options))
    ops_worker.register(rt)
    return rt


def history_kinds(client: Client, instance_id: str) -> list:
    execs = client.list_executions(instance_id)
    return [e.kind for e in client.read_execution_history(instance_id, execs[-1])]


def subscribed(client: Client, instance_id: str, name: str = "go") -> bool:
    def check() -> bool:
        try:
            return any(p["name"] == name for p in client.get_pending(instance_id).events)
        except duroxide.NotFoundError:  # a child whose start is not queued yet
            return False
    return wait_until(check, 10)


# ---- suspend and resume ---------------------------------------------------------------------


def test_suspend_buffers_events_and_resume_continues(provider: Any) -> None:
    client = Client(provider)
    rt = runtime(provider)
    rt.start()
    try:
        client.start_orchestration("s1", "Waiter", 1)
        assert subscribed(client, "s1")
        client.suspend_instance("s1", "looking into it")
        status = client.get_status("s1")
        assert (status.status, status.error) == ("Suspended", "looking into it")
        assert "s1" in client.list_instances_by_status("Suspended")
        before = history_kinds(client, "s1")
        client.raise_event("s1", "go", 2)
        time.sleep(0.5)
        assert history_kinds(client, "s1") == before  # no turn ran
        assert client.get_pending("s1").buffered == {"ExternalRaised": 1}
        client.resume_instance("s1")
        result = client.wait_for_orchestration("s1", WAIT)
        assert (result.status, result.output) == ("Completed", [1, 2])
    finally:
        rt.shutdown(3000)


def test_queued_activities_are_parked_while_suspended(provider: Any) -> None:
    client = Client(provider)
    orchestrator = runtime(provider, worker_concurrency=0)  # runs no activity
    orchestrator.start()
    worker = runtime(provider, orchestration_concurrency=0)
    try:
        client.start_orchestration("p1", "Waiter", "x")
        assert subscribed(client, "p1")
        client.raise_event("p1", "go", "y")
        assert wait_until(lambda: [a["state"] for a in client.get_pending("p1").activities]
                          == ["queued"], 10)
        client.suspend_instance("p1")
        [activity] = client.get_pending("p1").activities
        assert (activity["name"], activity["state"]) == ("Echo", "parked")
        worker.start()  # a worker appears: the parked activity must not run
        time.sleep(1.0)
        assert client.get_pending("p1").activities[0]["state"] == "parked"
        assert client.get_pending("p1").buffered == {}
        client.resume_instance("p1")
        assert client.wait_for_orchestration("p1", WAIT).output == ["x", "y"]
    finally:
        worker.shutdown(3000)
        orchestrator.shutdown(3000)


def test_running_activity_finishes_and_is_recorded_after_resume(provider: Any) -> None:
    client = Client(provider)
    started, release = threading.Event(), threading.Event()
    rt = Runtime(provider, fast_options())

    @rt.register_activity("Block")
    def block(ctx: Any, _: Any) -> str:
        started.set()
        release.wait(10)
        return "finished"

    @rt.register_orchestration("Blocker")
    def blocker(ctx: Any, _: Any) -> Any:
        first = yield ctx.schedule_activity("Block", None)
        return first

    rt.start()
    try:
        client.start_orchestration("b1", "Blocker")
        assert started.wait(10)
        client.suspend_instance("b1", "hold")
        release.set()
        assert wait_until(lambda: client.get_pending("b1").buffered.get("ActivityCompleted") == 1)
        assert client.get_status("b1").status == "Suspended"
        client.resume_instance("b1")
        assert client.wait_for_orchestration("b1", WAIT).output == "finished"
    finally:
        release.set()
        rt.shutdown(3000)


def test_bad_input_names_the_state(provider: Any) -> None:
    client = Client(provider)
    rt = runtime(provider)
    rt.start()
    try:
        for op in (client.suspend_instance, client.resume_instance, client.terminate_instance):
            with pytest.raises(duroxide.NotFoundError):
                op("missing")
        client.start_orchestration("done", "Waiter", 0)
        assert subscribed(client, "done")
        with pytest.raises(duroxide.FailedPreconditionError, match="is Running"):
            client.resume_instance("done")
        client.raise_event("done", "go", 0)
        assert client.wait_for_orchestration("done", WAIT).status == "Completed"
        with pytest.raises(duroxide.FailedPreconditionError, match="is Completed"):
            client.suspend_instance("done")
        with pytest.raises(duroxide.FailedPreconditionError, match="is Completed"):
            client.terminate_instance("done")
        with pytest.raises(duroxide.NotFoundError):
            client.get_pending("missing")
        with pytest.raises(TypeError):
            client.terminate_instance("done", output=object())
    finally:
        rt.shutdown(3000)


# ---- terminate --------------------------------------------------------------------------------


def test_terminate_ends_the_tree_at_once(provider: Any) -> None:
    client = Client(provider)
    rt = runtime(provider)
    rt.start()
    try:
        client.start_orchestration("t1", "Parent", 5)
        assert subscribed(client, "t1/kid")
        client.terminate_instance("t1", "no longer needed", output={"partial": True})
        result = client.wait_for_orchestration("t1", WAIT)
        assert (result.status, result.error, result.output) == (
            "Terminated", "terminated: no longer needed", {"partial": True})
        kid = client.wait_for_orchestration("t1/kid", WAIT)
        assert kid.status == "Terminated"
        assert kid.error == "terminated: parent terminated: no longer needed"
        with pytest.raises(duroxide.OrchestrationFailedError):
            client.wait_for_orchestration_typed("t1", 100)
    finally:
        rt.shutdown(3000)


def test_terminate_not_recursive_leaves_children_and_works_when_suspended(provider: Any) -> None:
    client = Client(provider)
    rt = runtime(provider)
    rt.start()
    try:
        client.start_orchestration("t2", "Parent", 5)
        assert subscribed(client, "t2/kid")
        client.suspend_instance("t2")
        client.terminate_instance("t2", "stop", recursive=False)
        assert client.wait_for_orchestration("t2", WAIT).status == "Terminated"
        time.sleep(0.3)
        assert client.get_status("t2/kid").status == "Running"
        assert client.get_pending("t2").is_empty()
        # A cooperative cancel keeps its reference-compatible result.
        client.cancel_instance("t2/kid", "tidy")
        kid = client.wait_for_orchestration("t2/kid", WAIT)
        assert (kid.status, kid.error) == ("Failed", "canceled: tidy")
    finally:
        rt.shutdown(3000)


# ---- SIGKILLed runtimes -----------------------------------------------------------------------


def _spawn(store: str) -> "subprocess.Popen[str]":
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(duroxide.__file__).resolve().parent.parent),
                    str(Path(__file__).resolve().parent), env.get("PYTHONPATH", "")) if p)
    child = subprocess.Popen([sys.executable, str(Path(ops_worker.__file__)), store], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    return child


def _kill(child: "subprocess.Popen[str]") -> None:
    if child.returncode is not None:
        return
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    if child.stdout is not None:
        child.stdout.close()
    assert child.returncode == -signal.SIGKILL


def test_sigkill_while_suspended_resumed_and_terminated(store: str, provider: Any) -> None:
    client = Client(provider)
    child = _spawn(store)
    try:
        client.start_orchestration("k1", "Waiter", 1)
        client.start_orchestration("k2", "Parent", 2)
        assert subscribed(client, "k1") and subscribed(client, "k2/kid")
        client.suspend_instance("k1", "operator")
        client.raise_event("k1", "go", 10)
    finally:
        _kill(child)
    # The suspension outlived the runtime: a new runtime leaves it alone.
    child = _spawn(store)
    try:
        time.sleep(0.8)
        assert client.get_status("k1").status == "Suspended"
        assert "ExternalEvent" not in history_kinds(client, "k1")
        client.resume_instance("k1")
        client.terminate_instance("k2", "killed mid-way")
        _kill(child)  # killed right after the resume and the terminate were acknowledged
        child = _spawn(store)
        assert client.wait_for_orchestration("k1", WAIT).output == [1, 10]
        assert client.wait_for_orchestration("k2", WAIT).status == "Terminated"
        assert client.wait_for_orchestration("k2/kid", WAIT).status == "Terminated"
    finally:
        _kill(child)


# ---- what an instance waits on ----------------------------------------------------------------


def test_pending_names_events_timers_and_sub_orchestrations(provider: Any) -> None:
    client = Client(provider)
    rt = runtime(provider)

    @rt.register_orchestration("Racer")
    def racer(ctx: Any, _: Any) -> Any:
        timer = ctx.schedule_timer(60_000)
        event = ctx.wait_for_event("approve")
        winner = yield ctx.race(timer, event)
        decision = yield ctx.wait_for_event("decision")
        return [winner["index"], decision]

    rt.start()
    try:
        client.start_orchestration("r1", "Racer")
        assert subscribed(client, "r1", "approve")
        pending = client.get_pending("r1")
        assert [t["state"] for t in pending.timers] == ["pending"]
        assert [e["name"] for e in pending.events] == ["approve"]
        client.raise_event("r1", "approve", True)
        assert subscribed(client, "r1", "decision")
        pending = client.get_pending("r1")
        assert [t["state"] for t in pending.timers] == ["cancelled"]  # lost the race
        assert [e["name"] for e in pending.events] == ["decision"]
        client.start_orchestration("r2", "Parent", 1)
        assert wait_until(lambda: [s["instance_id"] for s in
                                   client.get_pending("r2").sub_orchestrations] == ["r2/kid"])
    finally:
        rt.shutdown(3000)


# ---- bulk ---------------------------------------------------------------------------------------


def test_bulk_unknown_action_is_refused_before_anything_runs(provider: Any) -> None:
    client = Client(provider)
    client.start_orchestration("u1", "Waiter", 1)
    with pytest.raises(duroxide.InvalidArgumentError, match="unknown bulk action 'explode'"):
        client.bulk("explode")
    assert client.get_status("u1").status == "Running"


def test_bulk_over_a_thousand_instances(provider: Any) -> None:
    client = Client(provider)
    n = 1000
    for i in range(n):
        client.start_orchestration(f"bulk-{i:04d}", "Waiter", i)
    client.start_orchestration("other", "Waiter", 0)
    rt = runtime(provider, orchestration_concurrency=4)
    rt.start()
    try:
        assert wait_until(lambda: len(client.list_instances_by_status("Running")) == n + 1, 120)
        dry = client.bulk("suspend", id_prefix="bulk-", dry_run=True)
        assert len(dry.matched) == n and dry.done == [] and dry.dry_run
        t0 = time.monotonic()
        done = client.bulk("suspend", id_prefix="bulk-", reason="maintenance")
        elapsed = time.monotonic() - t0
        assert (len(done.matched), len(done.done), done.failed) == (n, n, [])
        assert len(client.list_instances_by_status("Suspended")) == n
        assert client.get_status("other").status == "Running"
        print(f"bulk suspend of {n} instances: {elapsed:.2f}s")
        again = client.bulk("terminate", status="Suspended", name="Waiter")
        assert (len(again.done), again.failed) == (n, [])
        assert wait_until(lambda: len(client.list_instances_by_status("Failed")) == n, 120)
        assert client.get_status("bulk-0999").status == "Terminated"
        refused = client.bulk("resume", id_prefix="bulk-000")
        assert len(refused.failed) == 10 and "FailedPreconditionError" in refused.failed[0][1]
        deleted = client.bulk("delete", id_prefix="bulk-")
        assert len(deleted.done) == n and client.get_status("bulk-0001").status == "NotFound"
    finally:
        rt.shutdown(3000)
