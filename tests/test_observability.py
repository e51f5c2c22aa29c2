"""Tracing (init_tracing, RuntimeOptions logging), metrics_snapshot() and per-instance stats.

init_tracing and the logging options are process-global, so the tracing tests run a small
program in a subprocess and inspect the log file or stderr it produced.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import duroxide
from duroxide import MetricsSnapshot
from helpers.util import wait_done, wait_until

PACKAGE_ROOT = str(Path(duroxide.__file__).resolve().parent.parent)

# The program run in a subprocess: one orchestration with three activity turns, replayed on
# every turn (warm cache disabled), tracing at every level from both sides.
SCENARIO = textwrap.dedent("""
    import json, sys
    from duroxide import Client, Runtime, RuntimeOptions, SqliteProvider, init_tracing

    cfg = json.loads(sys.argv[1])
    if "init" in cfg:
        init_tracing(*cfg["init"])
    provider = SqliteProvider.in_memory()
    client = Client(provider)
    runtime = Runtime(provider, RuntimeOptions(dispatcher_poll_interval_ms=20,
                                               warm_cache_capacity=0, **cfg.get("options", {})))
    runs = {"orchestration": 0}

    @runtime.register_activity("Work")
    def work(ctx, x):
        ctx.trace_info(f"activity info {x}")
        ctx.trace_debug(f"activity debug {x}")
        ctx.trace_warn(f"activity warn {x}")
        return x

    @runtime.register_orchestration("Traced")
    def traced(ctx, n):
        runs["orchestration"] += 1
        ctx.trace_info("orch start")
        ctx.trace_debug("orch debug")
        for i in range(n):
            yield ctx.schedule_activity("Work", i)
            ctx.trace_info(f"orch step {i}")
        ctx.trace_warn("orch warn")
        ctx.trace_error("orch error")
        return n

    runtime.start()
    client.start_orchestration("obs-1", "Traced", 3)
    result = client.wait_for_orchestration("obs-1", 10000)
    runtime.shutdown(1000)
    print(json.dumps({"status": result.status, "runs": runs["orchestration"]}))
""")


def _run(code: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if k not in ("RUST_LOG", "DUROXIDE_LOG")}
    environ["PYTHONPATH"] = os.pathsep.join(
        [PACKAGE_ROOT] + [p for p in environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    environ.update(env or {})
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          env=environ, timeout=60)


def _scenario(cfg: dict, env: dict | None = None):
    proc = _run(SCENARIO, json.dumps(cfg), env=env)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["status"] == "Completed"
    assert summary["runs"] >= 4  # the orchestration function really ran (replayed) 4 times
    return proc


def _user_lines(text: str):
    return [line for line in text.splitlines()
            if "duroxide::orchestration" in line or "duroxide::activity" in line]


# ---- init_tracing ---------------------------------------------------------------------------


def test_init_tracing_writes_structured_compact_lines_once_per_trace(tmp_path):
    log = tmp_path / "logs" / "trace.log"
    log.parent.mkdir()
    log.write_text("pre-existing line\n")
    proc = _scenario({"init": [str(log)]})
    text = log.read_text()
    assert text.startswith("pre-existing line\n")  # appended, not truncated
    assert _user_lines(proc.stderr) == []         # the file replaces stderr
    lines = _user_lines(text)
    orch = [line for line in lines if "duroxide::orchestration" in line]
    act = [line for line in lines if "duroxide::activity" in line]

    # info and above, each exactly once although the orchestration replayed on every turn
    messages = [line.split(": ", 1)[1].split(" instance_id=")[0] for line in orch]
    assert messages == ["orch start", "orch step 0", "orch step 1", "orch step 2", "orch warn",
                        "orch error"]
    assert all(line.split()[1] in ("INFO", "WARN", "ERROR") for line in lines)
    for line in orch:
        for field in ("instance_id=obs-1", "execution_id=1", "orchestration_name=Traced",
                      "orchestration_version=1.0.0"):
            assert field in line, line
    assert len(act) == 6
    assert sorted(line.split(": ", 1)[1].split(" instance_id=")[0] for line in act) == [
        "activity info 0", "activity info 1", "activity info 2",
        "activity warn 0", "activity warn 1", "activity warn 2"]
    for line in act:
        for field in ("instance_id=obs-1", "activity_name=Work", "activity_id=",
                      "worker_id=work-", "orchestration_name=Traced"):
            assert field in line, line
    assert "debug" not in text
    # the runtime's own info records stay below the default "warn" for other targets
    assert "runtime started" not in text


def test_init_tracing_level_filtering(tmp_path):
    warn_log = tmp_path / "warn.log"
    _scenario({"init": [str(warn_log), "warn"]})
    lines = _user_lines(warn_log.read_text())
    assert sorted(line.split()[1] for line in lines) == ["ERROR"] + ["WARN"] * 4
    assert not any("info" in line.split(": ", 1)[1] for line in lines)

    debug_log = tmp_path / "debug.log"
    _scenario({"init": [str(debug_log), "debug"]})
    lines = _user_lines(debug_log.read_text())
    assert sum("DEBUG" == line.split()[1] for line in lines) == 4  # 1 orchestration + 3 activity
    assert sum("orch debug" in line for line in lines) == 1


def test_init_tracing_json_format(tmp_path):
    log = tmp_path / "trace.json"
    _scenario({"init": [str(log), "info", "json"]})
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records, "no records written"
    for record in records:
        assert set(record) == {"timestamp", "level", "target", "message", "fields"}
        assert record["timestamp"].endswith("Z")
    orch = [r for r in records if r["target"] == "duroxide::orchestration"]
    act = [r for r in records if r["target"] == "duroxide::activity"]
    assert [r["message"] for r in orch] == ["orch start", "orch step 0", "orch step 1",
                                            "orch step 2", "orch warn", "orch error"]
    assert orch[0]["level"] == "INFO" and orch[-1]["level"] == "ERROR"
    assert orch[0]["fields"] == {"instance_id": "obs-1", "execution_id": "1",
                                 "orchestration_name": "Traced", "orchestration_version": "1.0.0"}
    assert len(act) == 6
    for r in act:
        f = r["fields"]
        assert f["instance_id"] == "obs-1" and f["activity_name"] == "Work"
        assert f["worker_id"].startswith("work-") and int(f["activity_id"]) > 0
        assert f["orchestration_name"] == "Traced"


def test_init_tracing_pretty_format(tmp_path):
    log = tmp_path / "trace.pretty"
    _scenario({"init": [str(log), "info", "pretty"]})
    lines = log.read_text().splitlines()
    header = next(i for i, line in enumerate(lines) if line.endswith("orch start"))
    assert "INFO duroxide::orchestration: orch start" in lines[header]
    fields = []
    for line in lines[header + 1:]:
        if not line.startswith("    "):
            break
        fields.append(line.strip())
    assert fields == ["instance_id: obs-1", "execution_id: 1", "orchestration_name: Traced",
                      "orchestration_version: 1.0.0"]
    act = next(i for i, line in enumerate(lines) if line.endswith("activity info 0"))
    assert any(line.strip().startswith("worker_id: work-") for line in lines[act + 1: act + 9])


def test_init_tracing_errors():
    code = textwrap.dedent("""
        import sys, tempfile, os
        from duroxide import init_tracing
        bad = "/nonexistent-dir/sub/trace.log"
        try:
            init_tracing(bad)
        except RuntimeError as e:
            print("BAD:" + str(e))
        good = os.path.join(tempfile.mkdtemp(), "t.log")
        init_tracing(good, "info", "json")  # a failed call installs nothing
        print("FIRST: ok")
        try:
            init_tracing(good)
        except RuntimeError as e:
            print("SECOND:" + str(e))
    """)
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr
    out = dict(line.split(":", 1) for line in proc.stdout.splitlines())
    assert out["BAD"] == ("Failed to open log file '/nonexistent-dir/sub/trace.log': "
                          "No such file or directory")
    assert out["FIRST"] == " ok"
    assert out["SECOND"].startswith("Failed to init tracing: ")


def test_rust_log_environment_filter_wins(tmp_path):
    log = tmp_path / "env.log"
    _scenario({"init": [str(log), "error"]}, env={"RUST_LOG": "duroxide::activity=info"})
    lines = _user_lines(log.read_text())
    # the activity target at info, despite log_level="error"
    assert sum("activity info" in line for line in lines) == 3
    assert sum("activity warn" in line for line in lines) == 3
    # everything else at the filter's default level, warn
    orch = [line.split(": ", 1)[1].split(" instance_id=")[0] for line in lines
            if "duroxide::orchestration" in line]
    assert orch == ["orch warn", "orch error"]


def test_runtime_options_log_level_format_and_service_fields():
    proc = _scenario({"options": {"log_level": "info", "log_format": "json",
                                  "service_name": "billing", "service_version": "2.1.0"}})
    records = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
    user = [r for r in records if r["target"] in ("duroxide::orchestration",
                                                   "duroxide::activity")]
    assert len(user) == 6 + 6  # info, warn, error; debug filtered out
    for r in records:
        assert r["fields"]["service_name"] == "billing"
        assert r["fields"]["service_version"] == "2.1.0"

    proc = _scenario({"options": {"log_level": "warn"}})
    lines = _user_lines(proc.stderr)
    assert len(lines) == 5  # 3 activity warnings, orch warn, orch error; compact by default
    assert all(" instance_id=obs-1" in line for line in lines)


def test_service_fields_with_init_tracing(tmp_path):
    log = tmp_path / "svc.log"
    _scenario({"init": [str(log)], "options": {"service_name": "api",
                                              "service_version": "0.9"}})
    lines = _user_lines(log.read_text())
    assert len(lines) == 12
    assert all("service_name=api" in line and "service_version=0.9" in line for line in lines)


# ---- metrics ----------------------------------------------------------------------------------

COUNTERS = (
    "orch_starts", "orch_completions", "orch_failures", "orch_application_errors",
    "orch_infrastructure_errors", "orch_configuration_errors", "orch_poison",
    "activity_success", "activity_app_errors", "activity_infra_errors",
    "activity_config_errors", "activity_poison", "orch_dispatcher_items_fetched",
    "worker_dispatcher_items_fetched", "orch_continue_as_new", "suborchestration_calls",
    "provider_errors",
)
FETCHED = ("orch_dispatcher_items_fetched", "worker_dispatcher_items_fetched")


def test_metrics_snapshot_shape(env):
    provider, client, make_runtime = env
    runtime = make_runtime()
    assert runtime.metrics_snapshot() is None
    runtime.start()
    snap = runtime.metrics_snapshot()
    assert isinstance(snap, MetricsSnapshot)
    # The 17 counters of the API contract, plus ours: dropped_messages, abandon_failures and
    # the capability-routing counters (docs/task-graphs.md), the schedule firing loop's
    # (docs/schedules.md) and the adaptive dispatcher count's (docs/user-guide.md).
    ours = {"dropped_messages", "abandon_failures", "activity_requires_timeouts",
            "orch_dispatchers_added", "orch_dispatchers_retired", "worker_dispatchers_added",
            "worker_dispatchers_retired",
            "capability_schemas_unmatched", "activity_handoffs", "schedule_firings",
            "schedule_missed", "schedule_overlap_skips", "schedule_errors", "schedule_passes"}
    assert set(snap.keys()) == set(COUNTERS) | ours and len(COUNTERS) == 17
    for name in COUNTERS:
        assert getattr(snap, name) == snap[name] == 0
        assert name in snap
    # The schedule loop's first pass runs at start (schedule_passes is 0 or 1 here).
    values = snap.to_dict()
    assert values.pop("schedule_passes") in (0, 1)
    assert values == {name: 0 for name in list(COUNTERS) + sorted(ours - {"schedule_passes"})}
    assert "MetricsSnapshot(" in repr(snap)
    runtime.shutdown(1000)
    assert runtime.metrics_snapshot() is not None  # still readable after shutdown


class Counters:
    """Checks the change of every counter between two snapshots."""

    def __init__(self, runtime):
        self.runtime = runtime
        self.base = runtime.metrics_snapshot().to_dict()

    def expect(self, fetched_at_least=(1, 0), **expected):
        def delta():
            now = self.runtime.metrics_snapshot().to_dict()
            return {k: now[k] - self.base[k] for k in COUNTERS}

        def matches():
            d = delta()
            return all(d[k] == expected.get(k, 0) for k in COUNTERS if k not in FETCHED) and (
                d[FETCHED[0]] >= fetched_at_least[0] and d[FETCHED[1]] >= fetched_at_least[1])

        wait_until(matches, 5)
        d = delta()
        assert {k: d[k] for k in COUNTERS if k not in FETCHED} == {
            k: expected.get(k, 0) for k in COUNTERS if k not in FETCHED}
        assert d[FETCHED[0]] >= fetched_at_least[0] and d[FETCHED[1]] >= fetched_at_least[1], d
        self.base = self.runtime.metrics_snapshot().to_dict()


def test_each_metric_counts_its_scenario(env):
    provider, client, make_runtime = env
    runtime = make_runtime(max_attempts=2, warm_cache_capacity=0)
    flips = {"n": 0}
    in_turn = threading.Event()

    @runtime.register_activity("Ok")
    def ok(ctx, x):
        return x

    @runtime.register_activity("Bad")
    def bad(ctx, x):
        raise ValueError("bad input")

    @runtime.register_orchestration("Child")
    def child(ctx, x):
        return x

    @runtime.register_orchestration("Parent")
    def parent(ctx, n):
        yield ctx.schedule_activity("Ok", n)
        if n == 0:
            yield ctx.continue_as_new(1)
        return (yield ctx.schedule_sub_orchestration("Child", n))

    @runtime.register_orchestration("Raises")
    def raises(ctx, _):
        try:
            yield ctx.schedule_activity("Bad", 1)
        except Exception:
            pass
        raise RuntimeError("orchestration failed on purpose")

    @runtime.register_orchestration("Drift")
    def drift(ctx, _):
        flips["n"] += 1
        yield ctx.schedule_activity("Ok" if flips["n"] == 1 else "Bad", None)
        return "never"

    @runtime.register_orchestration("UsesMissing")
    def uses_missing(ctx, _):
        return (yield ctx.schedule_activity("NotRegistered", None))

    @runtime.register_orchestration("SlowTurn")
    def slow_turn(ctx, _):
        yield ctx.schedule_timer(1)
        in_turn.set()
        time.sleep(0.5)
        return "too late"

    runtime.start()
    counters = Counters(runtime)

    client.start_orchestration("m-ok", "Parent", 0)
    assert wait_done(client, "m-ok").output == 1
    counters.expect(fetched_at_least=(5, 2), orch_starts=3, orch_completions=2,
                    orch_continue_as_new=1, suborchestration_calls=1, activity_success=2)

    client.start_orchestration("m-raise", "Raises")
    assert "orchestration failed on purpose" in wait_done(client, "m-raise").error
    counters.expect(fetched_at_least=(2, 1), orch_starts=1, orch_failures=1,
                    orch_application_errors=1, activity_app_errors=1)

    client.start_orchestration("m-drift", "Drift")
    assert wait_done(client, "m-drift").error.startswith("nondeterministic: ")
    counters.expect(fetched_at_least=(2, 1), orch_starts=1, orch_failures=1,
                    orch_configuration_errors=1, activity_success=1)

    client.start_orchestration("m-unregistered", "NotAnOrchestration")
    error = wait_done(client, "m-unregistered").error
    assert "not registered" in error
    counters.expect(fetched_at_least=(3, 0), orch_failures=1, orch_configuration_errors=1)

    client.start_orchestration("m-missing", "UsesMissing")
    error = wait_done(client, "m-missing").error
    assert "poison" in error and "NotRegistered" in error
    counters.expect(fetched_at_least=(2, 3), orch_starts=1, orch_failures=1,
                    orch_application_errors=1, activity_config_errors=2, activity_poison=1)

    # a turn whose instance is force-deleted under it cannot commit: a lost lock is not a
    # storage fault, so no provider or infrastructure error is counted
    client.start_orchestration("m-deleted", "SlowTurn")
    assert in_turn.wait(10)
    assert client.delete_instance("m-deleted", force=True).instances_deleted == 1
    counters.expect(fetched_at_least=(2, 0), orch_starts=1)
    assert client.get_status("m-deleted").status == "NotFound"


CRASH_LOOP = textwrap.dedent("""
    import os, sys
    from duroxide import Runtime, RuntimeOptions, SqliteProvider
    runtime = Runtime(SqliteProvider.open(sys.argv[1]),
                      RuntimeOptions(dispatcher_poll_interval_ms=20, worker_concurrency=0,
                                     orchestrator_lock_timeout_ms=100))

    @runtime.register_orchestration("CrashLoop")
    def crash_loop(ctx, _):
        os._exit(7)  # the process dies in the middle of the turn

    runtime.start()
    import time
    time.sleep(30)
""")


def test_orch_poison_after_a_crash_loop(file_env, db_path):
    provider, client, make_runtime = file_env
    client.start_orchestration("m-poison", "CrashLoop")
    for attempt in range(2):
        proc = _run(CRASH_LOOP, str(db_path))
        assert proc.returncode == 7, (attempt, proc.returncode, proc.stderr)
    time.sleep(0.3)  # the dead process's instance lock (100 ms) expires
    runtime = make_runtime(max_attempts=2)

    @runtime.register_orchestration("CrashLoop")
    def crash_loop(ctx, _):
        return "would succeed now"

    runtime.start()
    result = wait_done(client, "m-poison")
    assert result.status == "Failed", (result.status, result.output)
    assert result.error.startswith("poison: "), result.error
    assert wait_until(lambda: runtime.metrics_snapshot().orch_poison == 1), \
        runtime.metrics_snapshot()
    snap = runtime.metrics_snapshot()
    assert (snap.orch_failures, snap.orch_starts, snap.orch_completions) == (1, 0, 0), snap


# ---- per-instance stats -----------------------------------------------------------------------


def test_get_orchestration_stats(env):
    provider, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration("Stats")
    def stats(ctx, _):
        ctx.set_kv_value("a", "12345")
        ctx.set_kv_value("b", "xy")
        yield ctx.schedule_timer(60000)
        return None

    @runtime.register_orchestration("Quick")
    def quick(ctx, _):
        ctx.set_kv_value("k", "v")
        return (yield ctx.schedule_activity("Echo", "x"))

    @runtime.register_activity("Echo")
    def echo(ctx, x):
        return x

    runtime.start()
    assert client.get_orchestration_stats("missing") is None
    client.start_orchestration("st-1", "Stats")
    assert wait_until(lambda: client.get_orchestration_stats("st-1") is not None)
    s = client.get_orchestration_stats("st-1")
    history = client.read_execution_history("st-1", 1)
    assert s.history_event_count == len(history) > 0
    assert s.history_size_bytes >= sum(len(e.data or "") for e in history)
    assert s.queue_pending_count == 1  # the pending timer
    assert s.kv_user_key_count == 2
    assert s.kv_total_value_bytes == 7
    client.enqueue_event("st-1", "nobody-listens", 1)
    client.enqueue_event("st-1", "nobody-listens", 2)
    assert wait_until(lambda: client.get_orchestration_stats("st-1").history_event_count
                      == len(history) + 2)  # the messages were buffered in the history
    assert client.get_orchestration_stats("st-1").queue_pending_count == 1

    client.start_orchestration("st-2", "Quick")
    assert wait_done(client, "st-2").status == "Completed"
    s = client.get_orchestration_stats("st-2")
    kinds = [e.kind for e in client.read_execution_history("st-2", 1)]
    assert s.history_event_count == len(kinds)
    assert kinds[0] == "OrchestrationStarted" and kinds[-1] == "OrchestrationCompleted"
    assert s.queue_pending_count == 0
    assert (s.kv_user_key_count, s.kv_total_value_bytes) == (1, 1)
