"""Verified rerun and park-on-failure (docs/operations.md), on SQLite and PostgreSQL: a rerun
across a code change that keeps the prefix runs on, one that breaks it is suspended with the
replay report and runs nothing more; an instance parked by on_failure="suspend" resumes under
fixed code."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator

import duroxide
import pytest
from conftest import fast_options
from duroxide import Client, Runtime
from helpers import ops_worker
from helpers.util import wait_until

WAIT = 15000


@pytest.fixture(params=["file", "postgres"])
def provider(request: Any, tmp_path: Path) -> Iterator[Any]:
    if request.param == "file":
        store = str(tmp_path / "rerun.db")
    else:
        store = f"pg:{request.getfixturevalue('pg_url')}|{request.getfixturevalue('pg_schema')}"
    p = ops_worker.open_provider(store)
    yield p
    p.close()


def flow_runtime(provider: Any, calls: Dict[str, int], *, charge_fails: bool,
                 first: str = "Step", **options: Any) -> Runtime:
    """Flow: `first` then Charge; v1 (charge_fails) raises in Charge, v2 is fixed; a `first`
    other than Step is a code change that breaks the recorded prefix."""
    rt = Runtime(provider, fast_options(**options))

    def count(name: str) -> None:
        calls[name] = calls.get(name, 0) + 1

    @rt.register_activity("Step")
    def step(ctx: Any, x: int) -> int:
        count("Step")
        return x + 1

    @rt.register_activity("Other")
    def other(ctx: Any, x: int) -> int:
        count("Other")
        return x

    @rt.register_activity("Charge")
    def charge(ctx: Any, x: int) -> str:
        count("Charge")
        if charge_fails:
            raise RuntimeError("card declined")
        return f"charged {x}"

    @rt.register_orchestration("Flow")
    def flow(ctx: Any, x: int) -> Any:
        a = yield ctx.schedule_activity(first, x)
        b = yield ctx.schedule_activity("Charge", a)
        return b

    return rt


def failed_flow(provider: Any, client: Client, calls: Dict[str, int]) -> None:
    rt = flow_runtime(provider, calls, charge_fails=True)
    rt.start()
    try:
        client.start_orchestration("f1", "Flow", 1)
        assert client.wait_for_orchestration("f1", WAIT).status == "Failed"
    finally:
        rt.shutdown(3000)


def test_rerun_after_a_fix_runs_the_failed_step_again(provider: Any) -> None:
    client = Client(provider)
    calls: Dict[str, int] = {}
    failed_flow(provider, client, calls)
    assert calls == {"Step": 1, "Charge": 1}
    rt = flow_runtime(provider, calls, charge_fails=False)
    rt.start()
    try:
        new_id = client.rerun("f1")
        assert new_id == "f1~1"
        result = client.wait_for_orchestration(new_id, WAIT)
        assert (result.status, result.output) == ("Completed", "charged 2")
        assert calls == {"Step": 1, "Charge": 2}  # Step was not run again
        fresh = client.rerun("f1", from_event_id=2, new_instance_id="f1-fresh")
        assert client.wait_for_orchestration(fresh, WAIT).output == "charged 2"
        with pytest.raises(duroxide.FailedPreconditionError):
            client.start_orchestration("running", "Flow", 1)
            client.rerun("running")
    finally:
        rt.shutdown(3000)


def test_rerun_that_no_longer_follows_is_suspended_with_the_report(provider: Any) -> None:
    client = Client(provider)
    calls: Dict[str, int] = {}
    failed_flow(provider, client, calls)
    rt = flow_runtime(provider, calls, charge_fails=False, first="Other")
    rt.start()
    try:
        new_id = client.rerun("f1")
        assert wait_until(lambda: client.get_status(new_id).status == "Suspended", 15)
        reason = client.get_status(new_id).error or ""
        assert "nondeterministic" in reason and "Step" in reason, reason
        assert calls.get("Other", 0) == 0 and calls["Charge"] == 1  # nothing ran
    finally:
        rt.shutdown(3000)


GPU = {"properties": {"gpu": {"const": True}}, "required": ["gpu"]}


def routed_runtime(provider: Any, calls: Dict[str, int], *, gpu: bool,
                   fixed: bool) -> Runtime:
    """Render (needs a gpu worker) is scheduled in the first turn and awaited last; Charge
    fails until fixed. A rerun's copy still waits for Render."""
    rt = Runtime(provider, fast_options(capabilities={"gpu": gpu}))

    @rt.register_activity("Render")
    def render(ctx: Any, x: int) -> str:
        calls["Render"] = calls.get("Render", 0) + 1
        return f"rendered {x}"

    @rt.register_activity("Step")
    def step(ctx: Any, x: int) -> int:
        return x + 1

    @rt.register_activity("Charge")
    def charge(ctx: Any, x: int) -> str:
        if not fixed:
            raise RuntimeError("card declined")
        return f"charged {x}"

    @rt.register_orchestration("Routed")
    def routed(ctx: Any, x: int) -> Any:
        render_task = ctx.schedule_activity("Render", x, requires=GPU)
        a = yield ctx.schedule_activity("Step", x)
        b = yield ctx.schedule_activity("Charge", a)
        r = yield render_task
        return [b, r]

    return rt


def test_rerun_keeps_the_capability_routing_of_copied_activities(provider: Any) -> None:
    client = Client(provider)
    calls: Dict[str, int] = {}
    rt = routed_runtime(provider, calls, gpu=False, fixed=False)
    rt.start()
    try:
        client.start_orchestration("g1", "Routed", 1)
        assert client.wait_for_orchestration("g1", WAIT).status == "Failed"
    finally:
        rt.shutdown(3000)
    # Fixed code on a worker without a gpu: the copy's Render must wait for a gpu worker.
    rt = routed_runtime(provider, calls, gpu=False, fixed=True)
    rt.start()
    try:
        new_id = client.rerun("g1")

        def render_waits() -> bool:
            acts = [a for a in client.get_pending(new_id).activities if a["name"] == "Render"]
            return bool(acts) and acts[0]["waits_for"] == "a worker with its capability"

        assert wait_until(render_waits, 15)
        assert wait_until(lambda: not any(a["name"] == "Charge" for a in
                                          client.get_pending(new_id).activities), 15)
        assert client.get_status(new_id).status == "Running" and calls.get("Render", 0) == 0
    finally:
        rt.shutdown(3000)
    rt = routed_runtime(provider, calls, gpu=True, fixed=True)
    rt.start()
    try:
        result = client.wait_for_orchestration(new_id, WAIT)
        assert (result.status, result.output) == ("Completed", ["charged 2", "rendered 1"])
        assert calls["Render"] == 1
    finally:
        rt.shutdown(3000)


def parking_runtime(provider: Any, fixed: bool, **options: Any) -> Runtime:
    rt = Runtime(provider, fast_options(**options))

    @rt.register_orchestration("Fragile", on_failure="suspend")
    def fragile(ctx: Any, x: int) -> Any:
        got = yield ctx.wait_for_event("go")
        if not fixed:
            raise ValueError(f"cannot handle {got}")
        return [x, got]

    @rt.register_orchestration("Plain")
    def plain(ctx: Any, x: int) -> Any:
        if not fixed:
            raise ValueError("plain failure")
        return x
        yield  # a generator

    return rt


def test_park_on_failure_then_resume_after_the_fix(provider: Any) -> None:
    client = Client(provider)
    rt = parking_runtime(provider, fixed=False)
    rt.start()
    try:
        client.start_orchestration("frag", "Fragile", 1)
        client.start_orchestration("plain", "Plain", 1)
        assert client.wait_for_orchestration("plain", WAIT).status == "Failed"  # policy: fail
        assert wait_until(lambda: client.get_pending("frag").events != [], 10)
        client.raise_event("frag", "go", "x")
        assert wait_until(lambda: client.get_status("frag").status == "Suspended", 15)
        assert "cannot handle x" in (client.get_status("frag").error or "")
    finally:
        rt.shutdown(3000)
    rt = parking_runtime(provider, fixed=True)
    rt.start()
    try:
        client.resume_instance("frag")  # retries the failed turn under the new code
        assert client.wait_for_orchestration("frag", WAIT).output == [1, "x"]
    finally:
        rt.shutdown(3000)


def test_runtime_option_parks_nondeterminism_and_unregistered(provider: Any) -> None:
    client = Client(provider)
    client.start_orchestration("nobody", "NotRegistered", 1)
    rt = parking_runtime(provider, fixed=True, on_orchestration_failure="suspend",
                         max_attempts=2)
    rt.start()
    try:
        assert wait_until(lambda: client.get_status("nobody").status == "Suspended", 20)
        assert "not registered" in (client.get_status("nobody").error or "")
    finally:
        rt.shutdown(3000)
    with pytest.raises(duroxide.InvalidArgumentError):
        duroxide.RuntimeOptions(on_orchestration_failure="explode")
