"""Runtime lifecycle, several runtimes on one store, registration and RuntimeOptions."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from duroxide import (Client, OperationTimedOutError, Runtime, RuntimeOptions, RuntimeStateError,
                      SqliteProvider)
from helpers.util import wait_done, wait_until

ALL_OPTION_NAMES = (
    "orchestration_concurrency", "worker_concurrency", "dispatcher_poll_interval_ms",
    "worker_lock_timeout_ms", "log_format", "log_level", "service_name", "service_version",
    "max_sessions_per_runtime", "session_idle_timeout_ms", "worker_node_id", "worker_tag_filter",
)
ALL_OPTION_VALUES = (3, 3, 20, 2000, "json", "warn", "svc", "9.9.9", 4, 60000, "node-1",
                     "default_only")


def _register_batch(runtime, label, executions):
    @runtime.register_activity("Square")
    def square(ctx, input):
        executions.append((label, ctx.instance_id))
        return input * input

    @runtime.register_orchestration("Batch")
    def batch(ctx, input):
        sq = yield ctx.schedule_activity("Square", input)
        return {"n": input, "square": sq}


# ---- several runtimes ------------------------------------------------------------------------------


def test_two_runtimes_share_a_batch_of_50(env):
    provider, client, make_runtime = env
    executions = []
    rt1 = make_runtime()
    rt2 = make_runtime()
    _register_batch(rt1, "rt1", executions)
    _register_batch(rt2, "rt2", executions)
    rt1.start()
    rt2.start()
    for i in range(50):
        client.start_orchestration(f"b{i}", "Batch", i)
    for i in range(50):
        result = wait_done(client, f"b{i}")
        assert result.status == "Completed", (i, result.error)
        assert result.output == {"n": i, "square": i * i}
    # Every activity ran exactly once, on one runtime or the other.
    per_instance = Counter(iid for _label, iid in executions)
    assert per_instance == Counter({f"b{i}": 1 for i in range(50)})
    assert {label for label, _ in executions} <= {"rt1", "rt2"}


def test_worker_only_plus_orchestration_only_runtimes(env):
    provider, client, make_runtime = env
    workers = make_runtime(orchestration_concurrency=0)
    orchestrators = make_runtime(worker_concurrency=0)
    ran_on = []

    @workers.register_activity("Work")
    def work(ctx, input):
        ran_on.append("workers")
        return f"worked:{input}"

    @orchestrators.register_orchestration("TwoSided")
    def two_sided(ctx, input):
        results = yield ctx.all([ctx.schedule_activity("Work", i) for i in range(3)])
        single = yield ctx.schedule_activity("Work", "last")
        return {"all": results, "single": single}

    workers.start()
    orchestrators.start()
    for i in range(3):
        client.start_orchestration(f"split-{i}", "TwoSided", None)
    for i in range(3):
        result = wait_done(client, f"split-{i}")
        assert result.status == "Completed", result.error
        assert result.output == {"all": [{"ok": "worked:0"}, {"ok": "worked:1"},
                                         {"ok": "worked:2"}],
                                 "single": "worked:last"}
    assert ran_on == ["workers"] * 12


def test_worker_only_runtime_does_not_run_orchestrations(env):
    provider, client, make_runtime = env
    workers = make_runtime(orchestration_concurrency=0)
    workers.register_orchestration("Echo", lambda ctx, input: input)
    workers.start()
    client.start_orchestration("not-run", "Echo", 1)
    with pytest.raises(OperationTimedOutError):
        client.wait_for_orchestration("not-run", 300)
    orchestrators = make_runtime(worker_concurrency=0)
    orchestrators.register_orchestration("Echo", lambda ctx, input: input)
    orchestrators.start()
    assert wait_done(client, "not-run").output == 1


def test_client_on_a_second_provider_object_sees_the_same_file(tmp_path, file_env):
    db = str(tmp_path / "shared.db")
    provider_a = SqliteProvider.open(db)
    provider_b = SqliteProvider.open(db)
    runtime = file_env.make_runtime(provider=provider_a)
    runtime.register_orchestration("Echo", lambda ctx, input: {"echo": input})
    runtime.start()
    Client(provider_b).start_orchestration("cross", "Echo", "hi")
    result = wait_done(Client(provider_a), "cross")
    assert result.status == "Completed", result.error
    assert result.output == {"echo": "hi"}


# ---- lifecycle -------------------------------------------------------------------------------------


def test_start_returns_immediately_and_shutdown_is_prompt_when_idle(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    runtime.register_orchestration("Echo", lambda ctx, input: input)
    t0 = time.monotonic()
    runtime.start()
    assert time.monotonic() - t0 < 1.0  # start() does not block until shutdown
    client.start_orchestration("idle", "Echo", 1)
    assert wait_done(client, "idle").output == 1
    t0 = time.monotonic()
    runtime.shutdown(5000)
    assert time.monotonic() - t0 < 1.0  # nothing in flight: no need to wait 5 s


def test_shutdown_of_fresh_runtime_is_prompt(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    runtime.start()
    t0 = time.monotonic()
    runtime.shutdown(5000)
    assert time.monotonic() - t0 < 1.0


def test_shutdown_is_a_noop_when_not_started_or_already_stopped(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    runtime.shutdown()  # never started
    runtime.shutdown(0)
    started = make_runtime()
    started.start()
    started.shutdown(1000)
    t0 = time.monotonic()
    started.shutdown(5000)  # second call
    assert time.monotonic() - t0 < 1.0


def test_second_start_raises(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    runtime.start()
    with pytest.raises(RuntimeStateError, match="already started"):
        runtime.start()


def test_stopped_runtime_takes_no_new_work(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    runtime.register_orchestration("Echo", lambda ctx, input: input)
    runtime.start()
    runtime.shutdown(1000)
    client.start_orchestration("after-stop", "Echo", 2)
    with pytest.raises(OperationTimedOutError):
        client.wait_for_orchestration("after-stop", 300)
    assert client.get_status("after-stop").status != "Completed"
    again = make_runtime()
    again.register_orchestration("Echo", lambda ctx, input: input)
    again.start()
    assert wait_done(client, "after-stop").output == 2


def test_shutdown_waits_for_in_flight_activity_and_keeps_its_result(file_env, db_path):
    provider, client, make_runtime = file_env
    started = threading.Event()
    runs = []

    def register(runtime, label):
        @runtime.register_activity("Busy")
        def busy(ctx, input):
            runs.append(label)
            started.set()
            time.sleep(0.3)
            return "busy-done"

        @runtime.register_orchestration("UsesBusy")
        def uses_busy(ctx, input):
            r = yield ctx.schedule_activity("Busy", None)
            return r

    runtime = make_runtime()
    register(runtime, "rt1")
    runtime.start()
    client.start_orchestration("drain", "UsesBusy")
    assert started.wait(10)
    t0 = time.monotonic()
    runtime.shutdown(5000)
    assert time.monotonic() - t0 < 4.0  # returned once the activity finished, not at 5 s
    assert runs == ["rt1"]

    provider2 = SqliteProvider.open(str(db_path))
    runtime2 = make_runtime(provider=provider2)
    register(runtime2, "rt2")
    runtime2.start()
    result = wait_done(Client(provider2), "drain")
    assert result.status == "Completed", result.error
    assert result.output == "busy-done"
    assert runs == ["rt1"]  # the drained result was kept, not recomputed


def test_runtime_as_context_manager(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    runtime.register_orchestration("Echo", lambda ctx, input: input)
    with runtime as rt:
        assert rt is runtime
        client.start_orchestration("cm", "Echo", "x")
        assert wait_done(client, "cm").output == "x"
    client.start_orchestration("cm-after", "Echo", "y")
    with pytest.raises(OperationTimedOutError):
        client.wait_for_orchestration("cm-after", 300)


# ---- registration ----------------------------------------------------------------------------------


def test_registration_forms_return_the_function(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    def act(ctx, input):
        return input + 1

    def orch(ctx, input):
        r = yield ctx.schedule_activity("Inc", input)
        return r

    def orch_v2(ctx, input):
        r = yield ctx.schedule_activity("IncDecorated", input)
        return r

    assert runtime.register_activity("Inc", act) is act
    assert runtime.register_orchestration("Direct", orch) is orch
    assert runtime.register_orchestration_versioned("Direct", "2.0.0", orch_v2) is orch_v2

    @runtime.register_activity("IncDecorated")
    def act_decorated(ctx, input):
        return input + 100

    @runtime.register_orchestration("Decorated")
    def orch_decorated(ctx, input):
        r = yield ctx.schedule_activity("IncDecorated", input)
        return r

    @runtime.register_orchestration_versioned("Decorated", "1.5.0")
    def orch_decorated_v15(ctx, input):
        r = yield ctx.schedule_activity("Inc", input)
        return r

    # The decorators hand back the undecorated functions.
    assert [f.__name__ for f in (act_decorated, orch_decorated, orch_decorated_v15)] == [
        "act_decorated", "orch_decorated", "orch_decorated_v15"]
    assert act_decorated(None, 1) == 101
    assert hasattr(orch_decorated(None, 1), "send")  # still the generator function

    runtime.start()
    client.start_orchestration("direct", "Direct", 1)
    client.start_orchestration_versioned("direct-v1", "Direct", 1, "1.0.0")
    client.start_orchestration("decorated", "Decorated", 1)
    client.start_orchestration_versioned("decorated-v1", "Decorated", 1, "1.0.0")
    assert wait_done(client, "direct").output == 101          # v2.0.0 is latest
    assert wait_done(client, "direct-v1").output == 2
    assert wait_done(client, "decorated").output == 2         # v1.5.0 is latest
    assert wait_done(client, "decorated-v1").output == 101


def test_typed_registration_aliases(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    def act(ctx, input):
        return input * 3

    def orch(ctx, input):
        r = yield ctx.schedule_activity_typed("Triple", input)
        return r

    assert runtime.register_activity_typed("Triple", act) is act
    assert runtime.register_orchestration_typed("TypedOrch", orch) is orch
    runtime.start()
    client.start_orchestration_typed("typed", "TypedOrch", 5)
    assert client.wait_for_orchestration_typed("typed", 15000) == 15


@pytest.mark.parametrize("bad_name", ["", None, 5])
def test_registration_rejects_bad_names(env, bad_name):
    runtime = env.make_runtime()
    with pytest.raises((TypeError, ValueError)):
        runtime.register_activity(bad_name, lambda ctx, input: None)
    with pytest.raises((TypeError, ValueError)):
        runtime.register_orchestration(bad_name, lambda ctx, input: None)


# ---- RuntimeOptions --------------------------------------------------------------------------------


def test_runtime_options_positional_and_keyword():
    positional = RuntimeOptions(*ALL_OPTION_VALUES)
    by_keyword = RuntimeOptions(**dict(zip(ALL_OPTION_NAMES, ALL_OPTION_VALUES)))
    for opts in (positional, by_keyword):
        for name, value in zip(ALL_OPTION_NAMES, ALL_OPTION_VALUES):
            assert getattr(opts, name) == value, name


def test_runtime_options_defaults_are_none_and_read_only():
    opts = RuntimeOptions()
    for name in ALL_OPTION_NAMES:
        assert getattr(opts, name) is None, name
    with pytest.raises(AttributeError):
        opts.worker_concurrency = 5


def test_runtime_options_guide_example_and_extra_keywords():
    opts = RuntimeOptions(
        orchestration_concurrency=4,     # Max concurrent orchestration dispatches
        worker_concurrency=8,            # Max concurrent activity workers
        dispatcher_poll_interval_ms=100, # Polling interval in ms
        log_level="info",                # Tracing log level
        log_format="pretty",             # "pretty" or "json"
        service_name="my-service",       # Service name for tracing metadata
        service_version="1.0.0",         # Service version for tracing metadata
        max_sessions_per_runtime=10,     # Max concurrent session slots
        session_idle_timeout_ms=300000,  # Session idle timeout (5 min default)
        worker_node_id="pod-name",       # Stable worker identity for sessions
    )
    assert opts.orchestration_concurrency == 4
    assert opts.worker_node_id == "pod-name"
    extra = RuntimeOptions(max_attempts=3, orchestrator_lock_timeout_ms=1000)
    assert extra.max_attempts == 3
    assert extra.orchestrator_lock_timeout_ms == 1000


def test_runtime_with_every_option_set_runs_work(env):
    provider, client, make_runtime = env
    runtime = make_runtime(RuntimeOptions(*ALL_OPTION_VALUES))
    runtime.register_activity("Inc", lambda ctx, x: x + 1)

    @runtime.register_orchestration("UsesInc")
    def uses_inc(ctx, input):
        r = yield ctx.schedule_activity("Inc", input)
        return r

    runtime.start()
    client.start_orchestration("all-options", "UsesInc", 1)
    result = wait_done(client, "all-options")
    assert result.status == "Completed", result.error
    assert result.output == 2


def test_runtime_rejects_non_options():
    provider = SqliteProvider.in_memory()
    with pytest.raises(TypeError):
        Runtime(provider, {"worker_concurrency": 1})
