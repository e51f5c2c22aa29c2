"""Counters describe a commit before clients can see it: a snapshot read right after
wait_for_orchestration returns already counts that completion, for every kind of ending."""

from __future__ import annotations

from helpers.util import wait_until

ROUNDS = 25


def test_snapshot_counts_each_completion_before_it_is_visible(env):
    provider, client, make_runtime = env
    # max_attempts=1: an unregistered orchestration fails at its first delivery.
    runtime = make_runtime(dispatcher_poll_interval_ms=5, max_attempts=1)

    @runtime.register_activity("Ok")
    def ok(ctx, x):
        return x

    @runtime.register_orchestration("Done")
    def done(ctx, x):
        return (yield ctx.schedule_activity("Ok", x))

    @runtime.register_orchestration("Fails")
    def fails(ctx, x):
        yield ctx.schedule_timer(0)
        raise ValueError("on purpose")

    @runtime.register_orchestration("Again")
    def again(ctx, x):
        if x == 0:
            return "end"
        yield ctx.continue_as_new(x - 1)

    @runtime.register_orchestration("Parent")
    def parent(ctx, x):
        return (yield ctx.schedule_sub_orchestration("Done", x))

    @runtime.register_orchestration("Waits")
    def waits(ctx, x):
        ctx.set_custom_status("waiting")
        yield ctx.wait_for_event("never")

    runtime.start()
    expect = {"orch_completions": 0, "orch_failures": 0, "orch_continue_as_new": 0,
              "orch_application_errors": 0, "orch_configuration_errors": 0}

    def check(instance_id: str, status: str, **deltas: int) -> None:
        result = client.wait_for_orchestration(instance_id, 15000)
        snap = runtime.metrics_snapshot()  # read at once: no waiting, no retry
        assert result.status == status, (instance_id, result.error)
        for name, delta in deltas.items():
            expect[name] += delta
        for name, value in expect.items():
            assert snap[name] >= value, (instance_id, name, snap[name], value)

    for i in range(ROUNDS):
        client.start_orchestration(f"done-{i}", "Done", i)
        check(f"done-{i}", "Completed", orch_completions=1)
        client.start_orchestration(f"fail-{i}", "Fails", i)
        check(f"fail-{i}", "Failed", orch_failures=1, orch_application_errors=1)
        client.start_orchestration(f"again-{i}", "Again", 1)
        check(f"again-{i}", "Completed", orch_completions=1, orch_continue_as_new=1)
        client.start_orchestration(f"parent-{i}", "Parent", i)
        check(f"parent-{i}", "Completed", orch_completions=2)
        client.start_orchestration(f"unreg-{i}", "NoSuchOrchestration", i)
        check(f"unreg-{i}", "Failed", orch_failures=1, orch_configuration_errors=1)
        client.start_orchestration(f"cancel-{i}", "Waits", i)
        # Cancel once the first turn committed: a cancel racing the start is sometimes lost on
        # file SQLite (a separate, pre-existing bug; see the pynative notes).
        assert wait_until(lambda: client.get_status(f"cancel-{i}").custom_status == "waiting")
        client.cancel_instance(f"cancel-{i}", "stop")
        check(f"cancel-{i}", "Failed", orch_failures=1, orch_application_errors=1)
