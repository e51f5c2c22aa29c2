"""User guide patterns, part 2: durable timers and external events, sub-orchestrations,
continue-as-new, versioning and small patterns (plain functions, multi-step blocks as
sub-orchestrations, utc_now/new_guid, starting orchestrations from an activity).

See test_guide_composition.py for the index of the guide tests.
Every test runs on each provider of the `env` fixture (in-memory SQLite, file SQLite and
PostgreSQL).
"""

from __future__ import annotations

import time

import pytest

from helpers.util import raise_until_done, wait_done


# ---- timers and events -----------------------------------------------------------------------------


def test_durable_timer_delays_the_next_step(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    sent = []

    @runtime.register_activity("SendReminder")
    def send_reminder(ctx, input):
        sent.append(input)
        return None

    @runtime.register_orchestration("DelayedNotification")
    def delayed_notification(ctx, input):
        before = yield ctx.utc_now()
        fired = yield ctx.schedule_timer(input["delay_ms"])
        after = yield ctx.utc_now()
        yield ctx.schedule_activity("SendReminder", input)
        return {"status": "done", "waited_ms": after - before, "timer_value": fired}

    runtime.start()
    client.start_orchestration("timer-1", "DelayedNotification", {"delay_ms": 200})
    result = wait_done(client, "timer-1")
    assert result.status == "Completed", result.error
    assert result.output["status"] == "done"
    assert result.output["waited_ms"] >= 200  # a durable timer never fires early
    assert sent == [{"delay_ms": 200}]
    assert result.output["timer_value"] is None  # a timer yields None


def _register_approval(runtime, executed):
    @runtime.register_activity("RequestApproval")
    def request_approval(ctx, input):
        return "requested"

    @runtime.register_activity("Execute")
    def execute(ctx, input):
        executed.append(input)
        return "executed"

    @runtime.register_orchestration("ApprovalWorkflow")
    def approval_workflow(ctx, input):
        yield ctx.schedule_activity("RequestApproval", input)
        ctx.trace_info("waiting for approval...")

        approval = yield ctx.wait_for_event("approval")

        if approval["approved"]:
            yield ctx.schedule_activity("Execute", input)
            return "approved"
        else:
            return "rejected"


@pytest.mark.parametrize("approved,expected", [(True, "approved"), (False, "rejected")])
def test_external_event_approval(env, approved, expected):
    provider, client, make_runtime = env
    runtime = make_runtime()
    executed = []
    _register_approval(runtime, executed)
    runtime.start()
    client.start_orchestration("instance-1", "ApprovalWorkflow", {"order": 9})
    result = raise_until_done(client, "instance-1", "approval", {"approved": approved})
    assert result.status == "Completed", result.error
    assert result.output == expected
    assert executed == ([{"order": 9}] if approved else [])


# ---- sub-orchestrations ----------------------------------------------------------------------------


def _register_parent_child(runtime):
    @runtime.register_activity("DoWork")
    def do_work(ctx, input):
        return {"worked": input["id"], "in": ctx.orchestration_name}

    @runtime.register_orchestration("Parent")
    def parent(ctx, input):
        child_result = yield ctx.schedule_sub_orchestration("Child", input)
        return {"parent_result": child_result}

    @runtime.register_orchestration("ParentWithId")
    def parent_with_id(ctx, input):
        result = yield ctx.schedule_sub_orchestration_with_id(
            "Child", f"child-{input['id']}", input
        )
        return {"parent_result": result}

    @runtime.register_orchestration("Child")
    def child(ctx, input):
        r = yield ctx.schedule_activity("DoWork", input)
        return r


def test_sub_orchestration_default_id(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    _register_parent_child(runtime)
    runtime.start()
    client.start_orchestration("parent-1", "Parent", {"id": 1})
    result = wait_done(client, "parent-1")
    assert result.status == "Completed", result.error
    assert result.output == {"parent_result": {"worked": 1, "in": "Child"}}


def test_sub_orchestration_with_explicit_id(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    _register_parent_child(runtime)
    runtime.start()
    client.start_orchestration("parent-7", "ParentWithId", {"id": 7})
    result = wait_done(client, "parent-7")
    assert result.status == "Completed", result.error
    assert result.output == {"parent_result": {"worked": 7, "in": "Child"}}
    child = client.get_status("child-7")
    assert child.status == "Completed"
    assert child.output == {"worked": 7, "in": "Child"}


def test_failed_child_raises_in_parent_which_can_catch_it(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("BadChild")
    def bad_child(ctx, input):
        yield ctx.schedule_timer(1)
        raise Exception(f"child broke on {input}")

    @runtime.register_orchestration("CatchingParent")
    def catching_parent(ctx, input):
        try:
            yield ctx.schedule_sub_orchestration("BadChild", "x")
        except Exception as e:  # noqa: BLE001 - the guide's pattern
            return {"caught": str(e), "type": type(e).__name__}
        return "not reached"

    @runtime.register_orchestration("LettingParent")
    def letting_parent(ctx, input):
        result = yield ctx.schedule_sub_orchestration_with_id("BadChild", "bad-child-2", "y")
        return result

    runtime.start()
    client.start_orchestration("catching", "CatchingParent", None)
    client.start_orchestration("letting", "LettingParent", None)

    caught = wait_done(client, "catching")
    assert caught.status == "Completed", caught.error
    assert caught.output["type"] == "SubOrchestrationFailedError"  # an Exception
    assert "child broke on x" in caught.output["caught"]

    letting = wait_done(client, "letting")
    assert letting.status == "Failed"
    assert "child broke on y" in letting.error
    child = client.get_status("bad-child-2")
    assert child.status == "Failed"
    assert "child broke on y" in child.error


def test_fire_and_forget_start_orchestration(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("ProvisionVM")
    def provision_vm(ctx, input):
        return {"vm": input["instance_id"]}

    @runtime.register_activity("Watch")
    def watch(ctx, input):
        return f"watching {input['instance_id']}"

    @runtime.register_orchestration("InstanceMonitor")
    def instance_monitor(ctx, input):
        yield ctx.schedule_timer(50)
        r = yield ctx.schedule_activity("Watch", input)
        return r

    @runtime.register_orchestration("CreateInstance")
    def create_instance(ctx, input):
        yield ctx.schedule_activity("ProvisionVM", input)

        # Launch monitor — runs independently
        started = yield ctx.start_orchestration(
            "InstanceMonitor",
            f"monitor-{input['instance_id']}",
            {"instance_id": input["instance_id"]},
        )

        return {"status": "provisioned", "start_result": started}

    runtime.start()
    client.start_orchestration("create-1", "CreateInstance", {"instance_id": "vm1"})
    result = wait_done(client, "create-1")
    assert result.status == "Completed", result.error
    assert result.output == {"status": "provisioned", "start_result": None}
    monitor = wait_done(client, "monitor-vm1")
    assert monitor.status == "Completed", monitor.error
    assert monitor.output == "watching vm1"


# ---- continue-as-new -------------------------------------------------------------------------------


def test_continue_as_new_counts_to_n_with_increasing_execution_ids(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    execution_ids = []
    checks = []

    @runtime.register_activity("CheckHealth")
    def check_health(ctx, target):
        checks.append((target, ctx.execution_id))
        return {"status": "healthy"}

    @runtime.register_orchestration("Monitor")
    def monitor(ctx, input):
        state = input.get("state", {"check_count": 0})
        execution_ids.append(ctx.execution_id)

        health = yield ctx.schedule_activity("CheckHealth", input["target"])
        ctx.trace_info(f"health check #{state['check_count']}: {health['status']}")
        if state["check_count"] + 1 >= input["n"]:
            return {"checks": state["check_count"] + 1, "execution_id": ctx.execution_id}

        yield ctx.schedule_timer(5)
        yield ctx.continue_as_new({
            "target": input["target"],
            "n": input["n"],
            "state": {"check_count": state["check_count"] + 1},
        })
        raise AssertionError("continue_as_new must never resume")

    runtime.start()
    client.start_orchestration("monitor-1", "Monitor", {"target": "db", "n": 4})
    result = wait_done(client, "monitor-1")
    assert result.status == "Completed", result.error
    assert result.output == {"checks": 4, "execution_id": 4}
    assert checks == [("db", 1), ("db", 2), ("db", 3), ("db", 4)]
    assert execution_ids == sorted(execution_ids)
    assert set(execution_ids) == {1, 2, 3, 4}


# ---- versioning ------------------------------------------------------------------------------------


def test_versioning_latest_for_new_starts_and_pinned_start_runs_v1(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    calls = []

    @runtime.register_activity("Validate")
    def validate(ctx, input):
        calls.append(("Validate", ctx.instance_id, ctx.orchestration_version))
        return True

    @runtime.register_activity("Work")
    def work(ctx, input):
        calls.append(("Work", ctx.instance_id, ctx.orchestration_version))
        return f"work:{input}"

    @runtime.register_orchestration("MyWorkflow")
    def my_workflow_v1(ctx, input):
        # v1.0.0 — original
        r = yield ctx.schedule_activity("Work", input)
        return r

    @runtime.register_orchestration_versioned("MyWorkflow", "1.0.1")
    def my_workflow_v2(ctx, input):
        # v1.0.1 — with validation
        yield ctx.schedule_activity("Validate", input)
        r = yield ctx.schedule_activity("Work", input)
        return r

    runtime.start()
    client.start_orchestration("v-new", "MyWorkflow", "a")
    client.start_orchestration_versioned("v-old", "MyWorkflow", "b", "1.0.0")
    new = wait_done(client, "v-new")
    old = wait_done(client, "v-old")
    assert new.status == "Completed", new.error
    assert old.status == "Completed", old.error
    assert new.output == "work:a"
    assert old.output == "work:b"
    assert sorted(c for c in calls if c[1] == "v-new") == [
        ("Validate", "v-new", "1.0.1"), ("Work", "v-new", "1.0.1")]
    assert [c for c in calls if c[1] == "v-old"] == [("Work", "v-old", "1.0.0")]


def test_orchestration_version_visible_on_context(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    def v1(ctx, input):
        return {"version": ctx.orchestration_version, "name": ctx.orchestration_name,
                "instance": ctx.instance_id, "execution": ctx.execution_id}

    def v2(ctx, input):
        return {"version": ctx.orchestration_version}

    runtime.register_orchestration("Ver", v1)
    runtime.register_orchestration_versioned("Ver", "2.0.0", v2)
    runtime.start()
    client.start_orchestration("ver-latest", "Ver")
    client.start_orchestration_versioned("ver-pinned", "Ver", None, "1.0.0")
    assert wait_done(client, "ver-latest").output == {"version": "2.0.0"}
    assert wait_done(client, "ver-pinned").output == {
        "version": "1.0.0", "name": "Ver", "instance": "ver-pinned", "execution": 1}


# ---- small patterns --------------------------------------------------------------------------------


def test_non_generator_orchestration_completes_at_once(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    activity_calls = []

    @runtime.register_activity("Unused")
    def unused(ctx, input):
        activity_calls.append(input)
        return None

    @runtime.register_orchestration("Plain")
    def plain(ctx, input):
        return {"doubled": input * 2}

    runtime.start()
    client.start_orchestration("plain-1", "Plain", 21)
    result = wait_done(client, "plain-1")
    assert result.status == "Completed", result.error
    assert result.output == {"doubled": 42}
    assert activity_calls == []


def _register_blocks(runtime):
    @runtime.register_activity("Step")
    def step(ctx, input):
        return f"step:{input}"

    # Pattern: wrap multi-step logic as a sub-orchestration
    @runtime.register_orchestration("BlockA")
    def block_a(ctx, input):
        first = yield ctx.schedule_activity("Step", "A1")
        if "step" in first:
            second = yield ctx.schedule_activity("Step", "A2")
            return f"A:[{first},{second}]"
        return "A:fallback"

    @runtime.register_orchestration("BlockB")
    def block_b(ctx, input):
        yield ctx.schedule_timer(5)
        result = yield ctx.schedule_activity("Step", "B1")
        return f"B:[timer,{result}]"

    # Parent: join/race sub-orchestration descriptors
    @runtime.register_orchestration("Parent")
    def parent(ctx, input):
        # Join multiple multi-step blocks
        a, b = yield ctx.all([
            ctx.schedule_sub_orchestration("BlockA", ""),
            ctx.schedule_sub_orchestration("BlockB", ""),
        ])
        return f"{a},{b}"

    @runtime.register_orchestration("RaceParent")
    def race_parent(ctx, input):
        winner = yield ctx.race(
            ctx.schedule_sub_orchestration("BlockA", ""),
            ctx.schedule_timer(10000),
        )
        return winner


def test_multi_step_blocks_as_sub_orchestrations(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    _register_blocks(runtime)
    runtime.start()
    client.start_orchestration("blocks-join", "Parent", None)
    client.start_orchestration("blocks-race", "RaceParent", None)
    joined = wait_done(client, "blocks-join")
    assert joined.status == "Completed", joined.error
    # all() items are ok/err dicts, so the guide's f-string formats the dicts.
    assert joined.output == ("{'ok': 'A:[step:A1,step:A2]'},"
                             "{'ok': 'B:[timer,step:B1]'}")
    raced = wait_done(client, "blocks-race")
    assert raced.status == "Completed", raced.error
    assert raced.output == {"index": 0, "value": "A:[step:A1,step:A2]"}


def test_determinism_helpers_utc_now_and_new_guid(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    seen_by_activity = []

    @runtime.register_activity("Record")
    def record(ctx, input):
        seen_by_activity.append(input)
        return None

    @runtime.register_orchestration("Helpers")
    def helpers(ctx, input):
        now = yield ctx.utc_now()
        g1 = yield ctx.new_guid()
        g2 = yield ctx.new_guid()
        # The activity sees the first-run values; the output is built on a later replay.
        yield ctx.schedule_activity("Record", {"now": now, "g1": g1, "g2": g2})
        return {"now": now, "g1": g1, "g2": g2}

    before_ms = int(time.time() * 1000)
    runtime.start()
    client.start_orchestration("helpers-1", "Helpers", None)
    result = wait_done(client, "helpers-1")
    after_ms = int(time.time() * 1000)
    assert result.status == "Completed", result.error
    out = result.output
    assert isinstance(out["now"], int) and not isinstance(out["now"], bool)
    assert before_ms - 1000 <= out["now"] <= after_ms + 1000
    for g in (out["g1"], out["g2"]):
        assert isinstance(g, str) and len(g) == 36
        assert [len(p) for p in g.split("-")] == [8, 4, 4, 4, 12]
    assert out["g1"] != out["g2"]
    assert seen_by_activity == [out]  # replay returns the recorded values


def test_activity_get_client_starts_another_orchestration(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_activity("TriggerCleanup")
    def trigger_cleanup(ctx, input):
        client = ctx.get_client()
        client.start_orchestration(
            f"cleanup-{input['id']}",
            "CleanupWorkflow",
            {"resource_id": input["id"]},
        )
        return {"triggered": True}

    @runtime.register_orchestration("CleanupWorkflow")
    def cleanup_workflow(ctx, input):
        return {"cleaned": input["resource_id"]}

    @runtime.register_orchestration("Trigger")
    def trigger(ctx, input):
        r = yield ctx.schedule_activity("TriggerCleanup", input)
        return r

    runtime.start()
    client.start_orchestration("trigger-1", "Trigger", {"id": 5})
    result = wait_done(client, "trigger-1")
    assert result.status == "Completed", result.error
    assert result.output == {"triggered": True}
    cleanup = wait_done(client, "cleanup-5")
    assert cleanup.status == "Completed", cleanup.error
    assert cleanup.output == {"cleaned": 5}
