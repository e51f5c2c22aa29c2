"""Sessions (activity affinity) and activity tags (api.md 1.7.1, 1.8, 1.9).

Affinity is checked by activities that record which worker, and which runtime, ran them.
Every test runs on an in-memory and a file-backed SQLite provider (the `env` fixture).
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict

import pytest

from duroxide import (
    MAX_TAG_NAME_BYTES,
    MAX_WORKER_TAGS,
    OrchestrationContext,
    RuntimeOptions,
    ScheduledTask,
    TagFilter,
)
from helpers.util import wait_done, wait_until

CTX = OrchestrationContext({"instanceId": "i", "executionId": 1, "orchestrationName": "o",
                            "orchestrationVersion": "1.0.0"})


class Recorder:
    """Activity calls seen by every runtime of a test, thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls = []

    def register(self, runtime, label, name="Where", fail_first=0, sleep_s=0.0):
        attempts = defaultdict(int)

        def where(ctx, input):
            with self.lock:
                attempts[json.dumps(input)] += 1
                attempt = attempts[json.dumps(input)]
                self.calls.append({
                    "runtime": label, "worker": ctx.worker_id, "session": ctx.session_id,
                    "tag": ctx.tag(), "input": input, "instance": ctx.instance_id,
                    "execution": ctx.execution_id, "start": time.monotonic(),
                })
            if sleep_s:
                time.sleep(sleep_s)
            if attempt <= fail_first:
                raise ValueError(f"attempt {attempt} fails")
            return label

        runtime.register_activity(name, where)
        return where

    def by_session(self, key="worker"):
        out = defaultdict(set)
        for call in self.calls:
            if call["session"] is not None:
                out[call["session"]].add(call[key])
        return out


# ---- sessions: scheduling API ---------------------------------------------------------------


def test_session_descriptors():
    assert CTX.schedule_activity("A", 1, session_id="s") == {
        "type": "activityWithSession", "name": "A", "input": "1", "sessionId": "s"}
    assert CTX.schedule_activity_on_session("A", {"x": 1}, "s") == {
        "type": "activityWithSession", "name": "A", "input": '{"x": 1}', "sessionId": "s"}
    assert CTX.schedule_activity("A", 1) == {"type": "activity", "name": "A", "input": "1"}
    task = CTX.schedule_activity_with_retry_on_session("A", None, {"max_attempts": 2}, "s")
    assert isinstance(task, ScheduledTask)
    assert task["type"] == "activityWithRetryOnSession" and task["sessionId"] == "s"
    assert task["retry"]["maxAttempts"] == 2
    with pytest.raises(TypeError):
        CTX.schedule_activity_on_session("A", 1, None)


def test_session_id_reaches_the_activity(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    rec = Recorder()
    rec.register(runtime, "rt")

    @runtime.register_orchestration("SessionWorkflow")
    def session_workflow(ctx, input):
        r1 = yield ctx.schedule_activity_on_session("Where", "a", "my-session-1")
        r2 = yield ctx.schedule_activity("Where", "b", session_id="my-session-1")
        r3 = yield ctx.schedule_activity_with_retry_on_session(
            "Where", "c", {"max_attempts": 3, "backoff_strategy": "none"}, "my-session-2")
        r4 = yield ctx.schedule_activity_with_retry("Where", "d", {"max_attempts": 2})
        r5 = yield ctx.schedule_activity("Where", "e")
        return [r1, r2, r3, r4, r5]

    runtime.start()
    client.start_orchestration("sess-1", "SessionWorkflow")
    result = wait_done(client, "sess-1")
    assert result.status == "Completed", result.error
    assert result.output == ["rt"] * 5
    assert [(c["input"], c["session"]) for c in rec.calls] == [
        ("a", "my-session-1"), ("b", "my-session-1"), ("c", "my-session-2"), ("d", None),
        ("e", None)]


def test_session_workflow_from_the_guide(env):
    provider, client, make_runtime = env
    runtime = make_runtime(max_sessions_per_runtime=5, session_idle_timeout_ms=60000,
                           worker_node_id="worker-1")
    session_state = {}
    seen_sessions = []

    @runtime.register_activity("Accumulate")
    def accumulate(ctx, input):
        sid = ctx.session_id
        seen_sessions.append(sid)
        if sid not in session_state:
            session_state[sid] = []
        session_state[sid].append(input)
        return session_state[sid]

    @runtime.register_activity("MyActivity")
    def my_activity(ctx, input):
        seen_sessions.append(ctx.session_id)
        return input

    @runtime.register_orchestration("BatchProcess")
    def batch_process(ctx, input):
        for item in input["items"]:
            result = yield ctx.schedule_activity_on_session(
                "Accumulate", item, f"batch-{input['batch_id']}"
            )
        plain = yield ctx.schedule_activity("MyActivity", "plain")
        return [result, plain]

    runtime.start()
    client.start_orchestration("batch-1", "BatchProcess", {
        "batch_id": "001",
        "items": ["a", "b", "c"],
    })
    result = wait_done(client, "batch-1")
    assert result.status == "Completed", result.error
    assert result.output == [["a", "b", "c"], "plain"]
    assert seen_sessions == ["batch-001"] * 3 + [None]


# ---- sessions: affinity -----------------------------------------------------------------------


def _two_runtimes(make_runtime, rec, **options):
    a = make_runtime(worker_concurrency=2, **options.get("a", {}))
    b = make_runtime(worker_concurrency=2, **options.get("b", {}))
    rec.register(a, "A", sleep_s=0.002)
    rec.register(b, "B", sleep_s=0.002)
    return a, b


def _register_affinity_orchestrations(*runtimes):
    for rt in runtimes:
        @rt.register_orchestration("Sequential")
        def sequential(ctx, input):
            out = []
            for i in range(input["n"]):
                out.append((yield ctx.schedule_activity_on_session(
                    "Where", {"i": i, "id": ctx.instance_id}, input["session"])))
                if i % 3 == 0:
                    out.append((yield ctx.schedule_activity("Where", {"plain": i,
                                                                      "id": ctx.instance_id})))
            return out

        @rt.register_orchestration("Fanned")
        def fanned(ctx, input):
            tasks = []
            for i in range(input["n"]):
                for s in input["sessions"]:
                    tasks.append(ctx.schedule_activity(
                        "Where", {"i": i, "s": s, "id": ctx.instance_id}, session_id=s))
                tasks.append(ctx.schedule_activity("Where", {"plain": i, "id": ctx.instance_id}))
            results = yield ctx.all(tasks)
            return [r["ok"] for r in results]


@pytest.mark.parametrize("node_ids", [False, True], ids=["per-slot", "worker_node_id"])
def test_session_affinity_across_two_runtimes(env, node_ids):
    provider, client, make_runtime = env
    rec = Recorder()
    options = {}
    if node_ids:
        options = {"a": {"worker_node_id": "node-a"}, "b": {"worker_node_id": "node-b"}}
    a, b = _two_runtimes(make_runtime, rec, **options)
    _register_affinity_orchestrations(a, b)
    a.start()
    b.start()
    for k in range(6):
        client.start_orchestration(f"aff-{k}", "Sequential", {"session": f"s{k}", "n": 8})
    client.start_orchestration("aff-fan", "Fanned", {"sessions": ["f1", "f2", "f3"], "n": 4})
    for k in range(6):
        assert wait_done(client, f"aff-{k}").status == "Completed"
    assert wait_done(client, "aff-fan").status == "Completed"
    sessions = rec.by_session("worker" if not node_ids else "runtime")
    assert set(sessions) == {f"s{k}" for k in range(6)} | {"f1", "f2", "f3"}
    for session, where in sessions.items():
        assert len(where) == 1, f"session {session} ran on {where}"
    # without worker_node_id the owner is one worker slot (one worker_id per session, checked
    # above); with it, the owner is the runtime: any of its slots may run the session
    for session, runtimes in rec.by_session("runtime").items():
        assert len(runtimes) == 1, f"session {session} ran on {runtimes}"
    session_calls = sum(1 for c in rec.calls if c["session"] is not None)
    assert session_calls == 6 * 8 + 3 * 4


def test_session_affinity_across_continue_as_new(env):
    provider, client, make_runtime = env
    rec = Recorder()
    a, b = _two_runtimes(make_runtime, rec)
    for rt in (a, b):
        @rt.register_orchestration("Loop")
        def loop(ctx, n):
            yield ctx.schedule_activity_on_session("Where", {"n": n, "id": ctx.instance_id},
                                                   f"loop-{ctx.instance_id}")
            yield ctx.schedule_activity("Where", {"plain": n, "id": ctx.instance_id})
            if n < 5:
                yield ctx.continue_as_new(n + 1)
            return ctx.execution_id

    a.start()
    b.start()
    for k in range(4):
        client.start_orchestration(f"can-{k}", "Loop", 0)
    for k in range(4):
        result = wait_done(client, f"can-{k}")
        assert result.status == "Completed", result.error
        assert result.output == 6
    for session, workers in rec.by_session("worker").items():
        assert len(workers) == 1, f"session {session} ran on {workers}"
        executions = {c["execution"] for c in rec.calls if c["session"] == session}
        assert executions == {1, 2, 3, 4, 5, 6}


def test_retry_on_session_pins_every_attempt(env):
    provider, client, make_runtime = env
    rec = Recorder()
    a = make_runtime(worker_concurrency=2)
    b = make_runtime(worker_concurrency=2)
    rec.register(a, "A", name="Flakey", fail_first=2)
    rec.register(b, "B", name="Flakey", fail_first=2)
    for rt in (a, b):
        @rt.register_orchestration("RetrySessionWorkflow")
        def retry_session_workflow(ctx, input):
            result = yield ctx.schedule_activity_with_retry_on_session(
                "Flakey",
                input,
                {"max_attempts": 3, "backoff_strategy": "none"},
                f"gpu-session-{input}",
            )
            return result

    a.start()
    b.start()
    for k in range(4):
        client.start_orchestration(f"rs-{k}", "RetrySessionWorkflow", k)
    for k in range(4):
        result = wait_done(client, f"rs-{k}")
        assert result.status == "Completed", result.error
    for k in range(4):
        attempts = [c for c in rec.calls if c["input"] == k]
        assert len(attempts) == 3
        assert {c["session"] for c in attempts} == {f"gpu-session-{k}"}
        assert len({c["worker"] for c in attempts}) == 1


def test_max_sessions_per_runtime_caps_sessions_in_flight(env):
    provider, client, make_runtime = env
    runtime = make_runtime(worker_concurrency=4, max_sessions_per_runtime=1)
    lock = threading.Lock()
    intervals = []

    @runtime.register_activity("Slow")
    def slow(ctx, input):
        start = time.monotonic()
        time.sleep(0.05)
        with lock:
            intervals.append((ctx.session_id, start, time.monotonic()))
        return input

    @runtime.register_orchestration("Busy")
    def busy(ctx, session):
        tasks = [ctx.schedule_activity("Slow", i, session_id=session) for i in range(3)]
        tasks += [ctx.schedule_activity("Slow", i) for i in range(3)]
        yield ctx.all(tasks)
        return session

    runtime.start()
    for s in ("s1", "s2", "s3"):
        client.start_orchestration(f"cap-{s}", "Busy", s)
    for s in ("s1", "s2", "s3"):
        assert wait_done(client, f"cap-{s}").status == "Completed"
    session_runs = [iv for iv in intervals if iv[0] is not None]
    plain_runs = [iv for iv in intervals if iv[0] is None]
    assert len(session_runs) == 9 and len(plain_runs) == 9
    # never two different sessions in flight at once on this runtime
    for s1, a1, b1 in session_runs:
        for s2, a2, b2 in session_runs:
            if s1 != s2:
                assert b1 <= a2 or b2 <= a1, f"{s1} and {s2} overlapped"
    # untagged, session-less work is not limited by the cap: it overlapped with session work
    overlaps = sum(1 for _, a1, b1 in plain_runs for _, a2, b2 in session_runs
                   if a1 < b2 and a2 < b1)
    assert overlaps > 0


def test_restarted_runtime_with_same_worker_node_id_keeps_its_sessions(env):
    provider, client, make_runtime = env
    rec = Recorder()
    first = make_runtime(worker_node_id="pod-1")
    rec.register(first, "first")

    def register(rt):
        @rt.register_orchestration("Sticky")
        def sticky(ctx, _):
            yield ctx.schedule_activity_on_session("Where", 1, "sticky")
            ctx.set_custom_status("phase 1 done")
            yield ctx.wait_for_event("go")
            winner = yield ctx.race(ctx.schedule_activity_on_session("Where", 2, "sticky"),
                                    ctx.schedule_timer(2500))
            return winner

    register(first)
    first.start()
    client.start_orchestration("sticky-1", "Sticky")
    client.start_orchestration("sticky-2", "Sticky")
    for iid in ("sticky-1", "sticky-2"):
        assert client.wait_for_status_change(iid, 0, 20, 10000).custom_status == "phase 1 done"
    first.shutdown(3000)

    # sticky-1 resumes on a runtime with the same node id: the session is still ours
    second = make_runtime(worker_node_id="pod-1")
    rec.register(second, "second")
    register(second)
    second.start()
    started = time.monotonic()
    assert wait_until(lambda: _raise(client, "sticky-1", "go"), 10, 0.1)
    result = wait_done(client, "sticky-1")
    assert result.output == {"index": 0, "value": "second"}
    assert time.monotonic() - started < 2.5  # not after a 30 s session lock expiry
    second.shutdown(3000)

    # sticky-2 resumes on a runtime with another node id: the session is still locked by pod-1
    other = make_runtime(worker_node_id="pod-2")
    rec.register(other, "other")
    register(other)
    other.start()
    assert wait_until(lambda: _raise(client, "sticky-2", "go"), 10, 0.1)
    result = wait_done(client, "sticky-2")
    assert result.output == {"index": 1, "value": None}
    assert [c["runtime"] for c in rec.calls if c["input"] == 2] == ["second"]


def _raise(client, instance_id, name):
    client.raise_event(instance_id, name)
    history = client.read_execution_history(instance_id, 1)
    return any(e.kind == "ExternalEvent" for e in history) and any(
        e.kind == "ActivityScheduled" and json.loads(e.data)["input"] == 2 for e in history)


# ---- tags -------------------------------------------------------------------------------------


def test_with_tag_mutates_and_returns_the_task():
    task = CTX.schedule_activity("Render", {"scene": 1})
    assert "tag" not in task
    same = task.with_tag("gpu")
    assert same is task and task["tag"] == "gpu"
    assert task == {"type": "activity", "name": "Render", "input": '{"scene": 1}', "tag": "gpu"}
    for t in (CTX.schedule_activity_on_session("A", 1, "s"),
              CTX.schedule_activity_with_retry("A", 1, {"max_attempts": 2}),
              CTX.schedule_activity_with_retry_on_session("A", 1, {}, "s"),
              CTX.schedule_activity_typed("A", "1"),
              CTX.schedule_activity("A", 1, session_id="s")):
        assert isinstance(t, ScheduledTask) and "tag" not in t
        assert t.with_tag("x") is t and t["tag"] == "x"
    with pytest.raises(TypeError):
        CTX.schedule_activity("A").with_tag(5)


def test_tag_filter_values_and_limits():
    assert TagFilter.DEFAULT_ONLY == "default_only"
    assert TagFilter.ANY == "any"
    assert TagFilter.NONE == "none"
    assert TagFilter.tags(["gpu"]) == json.dumps({"tags": ["gpu"]})
    assert TagFilter.default_and(["gpu", "bigmem"]) == json.dumps(
        {"default_and": ["gpu", "bigmem"]})
    assert MAX_WORKER_TAGS == 5 and MAX_TAG_NAME_BYTES == 256


def test_runtime_options_tag_filter_validation():
    for ok in (None, TagFilter.DEFAULT_ONLY, TagFilter.ANY, TagFilter.NONE,
               TagFilter.tags(["a"] * MAX_WORKER_TAGS),
               TagFilter.default_and(["t" * MAX_TAG_NAME_BYTES])):
        assert RuntimeOptions(worker_tag_filter=ok).worker_tag_filter == ok
    with pytest.raises(ValueError, match="at most 5"):
        RuntimeOptions(worker_tag_filter=TagFilter.tags([f"t{i}" for i in range(6)]))
    with pytest.raises(ValueError, match="256 bytes"):
        RuntimeOptions(worker_tag_filter=TagFilter.default_and(["\u00e9" * 129]))
    for bad in ("gpu", "DEFAULT", '{"tags": "gpu"}', '{"other": ["gpu"]}', '{"tags": [1]}', ""):
        with pytest.raises(ValueError, match="invalid worker_tag_filter"):
            RuntimeOptions(worker_tag_filter=bad)
    with pytest.raises(TypeError):
        RuntimeOptions(worker_tag_filter=["gpu"])


def test_worker_only_tag_runtime_serves_tagged_work_default_runtime_the_rest(env):
    provider, client, make_runtime = env
    rec = Recorder()
    default = make_runtime()
    gpu = make_runtime(orchestration_concurrency=0, worker_tag_filter=TagFilter.tags(["gpu"]))
    rec.register(default, "default")
    rec.register(gpu, "gpu")

    @default.register_orchestration("Mixed")
    def mixed(ctx, n):
        tasks = []
        for i in range(n):
            tasks.append(ctx.schedule_activity("Where", {"plain": i}))
            tasks.append(ctx.schedule_activity("Where", {"gpu": i}).with_tag("gpu"))
            tasks.append(
                ctx.schedule_activity_on_session("Where", {"sess": i}, "s").with_tag("gpu"))
        results = yield ctx.all(tasks)
        return [r["ok"] for r in results]

    default.start()
    gpu.start()
    client.start_orchestration("mixed-1", "Mixed", 4)
    result = wait_done(client, "mixed-1")
    assert result.status == "Completed", result.error
    assert result.output == ["default", "gpu", "gpu"] * 4
    for call in rec.calls:
        expected_tag = None if "plain" in call["input"] else "gpu"
        assert call["tag"] == expected_tag
        assert call["runtime"] == ("default" if expected_tag is None else "gpu")


def test_default_only_runtime_never_runs_a_tagged_activity(env):
    provider, client, make_runtime = env
    rec = Recorder()
    runtime = make_runtime()  # TagFilter.DEFAULT_ONLY
    rec.register(runtime, "default")

    @runtime.register_orchestration("Guarded")
    def guarded(ctx, _):
        tagged = yield ctx.race(ctx.schedule_activity("Where", "gpu").with_tag("gpu"),
                                ctx.schedule_timer(500))
        plain = yield ctx.race(ctx.schedule_activity("Where", "plain"), ctx.schedule_timer(5000))
        return [tagged, plain]

    runtime.start()
    client.start_orchestration("guard-1", "Guarded")
    result = wait_done(client, "guard-1")
    assert result.output == [{"index": 1, "value": None}, {"index": 0, "value": "default"}]
    time.sleep(0.1)
    assert [c["input"] for c in rec.calls] == ["plain"]


def test_default_and_any_and_none_filters(env):
    provider, client, make_runtime = env
    rec = Recorder()
    mixed = make_runtime(worker_tag_filter=TagFilter.default_and(["gpu"]))
    rec.register(mixed, "default_and")

    @mixed.register_orchestration("Probe")
    def probe(ctx, tags):
        out = []
        for tag in tags:
            task = ctx.schedule_activity("Where", tag)
            if tag is not None:
                task.with_tag(tag)
            winner = yield ctx.race(task, ctx.schedule_timer(400))
            out.append(winner["value"] if winner["index"] == 0 else "timeout")
        return out

    mixed.start()
    client.start_orchestration("probe-1", "Probe", [None, "gpu", "tpu"])
    assert wait_done(client, "probe-1").output == ["default_and", "default_and", "timeout"]
    mixed.shutdown(3000)

    anything = make_runtime(worker_tag_filter=TagFilter.ANY)
    rec.register(anything, "any")
    anything.register_orchestration("Probe", probe)
    anything.start()
    client.start_orchestration("probe-2", "Probe", [None, "gpu", "tpu"])
    assert wait_done(client, "probe-2").output == ["any", "any", "any"]
    anything.shutdown(3000)

    nothing = make_runtime(worker_tag_filter=TagFilter.NONE)
    rec.register(nothing, "none")
    nothing.register_orchestration("Probe", probe)
    nothing.start()
    client.start_orchestration("probe-3", "Probe", [None, "gpu"])
    assert wait_done(client, "probe-3").output == ["timeout", "timeout"]
    assert "none" not in {c["runtime"] for c in rec.calls}


def test_retry_with_tag_keeps_the_tag_on_every_attempt(env):
    provider, client, make_runtime = env
    rec = Recorder()
    default = make_runtime()
    gpu = make_runtime(orchestration_concurrency=0, worker_tag_filter=TagFilter.tags(["gpu"]))
    rec.register(default, "default", name="Flakey", fail_first=2)
    rec.register(gpu, "gpu", name="Flakey", fail_first=2)

    @default.register_orchestration("RetryTagged")
    def retry_tagged(ctx, _):
        a = yield ctx.schedule_activity_with_retry(
            "Flakey", "plain-retry", {"max_attempts": 3, "backoff": "none"}).with_tag("gpu")
        b = yield ctx.schedule_activity_with_retry_on_session(
            "Flakey", "session-retry", {"max_attempts": 3, "backoff": "none"}, "s").with_tag("gpu")
        return [a, b]

    default.start()
    gpu.start()
    client.start_orchestration("rt-1", "RetryTagged")
    result = wait_done(client, "rt-1")
    assert result.status == "Completed", result.error
    assert result.output == ["gpu", "gpu"]
    for name in ("plain-retry", "session-retry"):
        attempts = [c for c in rec.calls if c["input"] == name]
        assert len(attempts) == 3
        assert {(c["runtime"], c["tag"]) for c in attempts} == {("gpu", "gpu")}
    assert {c["session"] for c in rec.calls if c["input"] == "session-retry"} == {"s"}


def test_system_work_never_waits_behind_a_tag_filter(env):
    provider, client, make_runtime = env
    rec = Recorder()
    # no runtime serves untagged work at all
    runtime = make_runtime(worker_tag_filter=TagFilter.tags(["gpu"]))
    rec.register(runtime, "gpu")

    @runtime.register_orchestration("Source")
    def source(ctx, _):
        ctx.set_kv_value("k", "from source")
        return None

    @runtime.register_orchestration("System")
    def system(ctx, _):
        now = yield ctx.utc_now()
        guid = yield ctx.new_guid()
        other = yield ctx.get_kv_value_from_instance("src-1", "k")
        both = yield ctx.all([ctx.utc_now(), ctx.new_guid(),
                              ctx.get_kv_value_from_instance("src-1", "k")])
        tagged = yield ctx.schedule_activity("Where", 1).with_tag("gpu")
        return [isinstance(now, int), len(guid), other, both[2]["ok"], tagged]

    runtime.start()
    client.start_orchestration("src-1", "Source")
    assert wait_done(client, "src-1").status == "Completed"
    client.start_orchestration("sys-1", "System")
    result = wait_done(client, "sys-1", 10000)
    assert result.status == "Completed", result.error
    assert result.output == [True, 36, "from source", "from source", "gpu"]


def test_tag_longer_than_limit_fails_the_instance(env):
    provider, client, make_runtime = env
    runtime = make_runtime(worker_tag_filter=TagFilter.ANY)

    @runtime.register_activity("Echo")
    def echo(ctx, input):
        return ctx.tag()

    @runtime.register_orchestration("LongTag")
    def long_tag(ctx, size):
        return (yield ctx.schedule_activity("Echo", None).with_tag("t" * size))

    runtime.start()
    client.start_orchestration("tag-ok", "LongTag", MAX_TAG_NAME_BYTES)
    client.start_orchestration("tag-bad", "LongTag", MAX_TAG_NAME_BYTES + 1)
    assert wait_done(client, "tag-ok").output == "t" * MAX_TAG_NAME_BYTES
    bad = wait_done(client, "tag-bad")
    assert bad.status == "Failed"
    assert "activity tag of 257 bytes exceeds the limit of 256 bytes" in bad.error
