"""Orchestration limits (issue 25, docs/flow-control.md "Orchestration limits"):
start_orchestration(..., limit=, limit_key=) caps how many instances naming the limit run at
once; a start waiting for its slot reports status "Pending". Every test runs on every provider
of `env` (in-memory SQLite, file SQLite, PostgreSQL). Two processes on one store:
tests/test_flow_orchestration_limits_fleet.py.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Dict, List

import duroxide
import pytest
from duroxide import Limit
from duroxide.errors import InvalidArgumentError, InvalidTypeError, NotFoundError
from helpers.util import wait_done, wait_until


class Overlap:
    """Enter/exit of the instances' activities, and the most that ran at once (per key)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now: Dict[str, int] = {}
        self.peak: Dict[str, int] = {}

    def enter(self, key: str) -> None:
        with self.lock:
            for k in (key, "*"):
                self.now[k] = self.now.get(k, 0) + 1
                self.peak[k] = max(self.peak.get(k, 0), self.now[k])

    def exit(self, key: str) -> None:
        with self.lock:
            for k in (key, "*"):
                self.now[k] -= 1


def _register_work(runtime: Any, seen: Overlap, seconds: float) -> None:
    @runtime.register_activity("Work")
    def work(ctx, key):
        seen.enter(key)
        time.sleep(seconds)
        seen.exit(key)
        return key

    @runtime.register_orchestration("Import")
    def import_(ctx, key):
        # Two activities in a row: the instance stays running between them, holding its slot.
        yield ctx.schedule_activity("Work", key)
        return (yield ctx.schedule_activity("Work", key))


def _execution(client: Any, instance_id: str) -> int:
    """The current execution id (0 before the first turn has committed)."""
    try:
        return client.get_instance_info(instance_id).current_execution_id
    except NotFoundError:
        return 0


def _statuses(client: Any, ids: List[str]) -> List[str]:
    return [client.get_status(i).status for i in ids]


def test_concurrency_two_with_ten_starts(env):
    _, client, make_runtime = env
    seen = Overlap()
    runtime = make_runtime(worker_concurrency=8)
    _register_work(runtime, seen, 0.08)
    client.set_limit("imports", Limit(concurrency=2))
    ids = [f"imp-{i}" for i in range(10)]
    for i in ids:
        client.start_orchestration(i, "Import", "k", limit="imports")
    # No runtime yet: every start waits for its slot.
    assert _statuses(client, ids) == ["Pending"] * 10
    info = client.get_limit("imports")
    assert (info.in_flight, info.waiting) == (0, 10)
    runtime.start()
    # Two run, the other eight are Pending (a slot is taken by the fetch of the first turn).
    assert wait_until(lambda: sorted(_statuses(client, ids)).count("Running") == 2, 10)
    statuses = _statuses(client, ids)
    assert statuses.count("Pending") + statuses.count("Completed") == 8, statuses
    info = client.get_limit("imports")
    assert info.in_flight <= 2 and info.in_flight + info.waiting <= 10
    for i in ids:
        result = wait_done(client, i)
        assert (result.status, result.output) == ("Completed", "k"), result.error
    assert seen.peak["*"] == 2
    info = client.get_limit("imports")
    assert (info.in_flight, info.waiting) == (0, 0)


def test_per_key_limit_counts_each_key(env):
    _, client, make_runtime = env
    seen = Overlap()
    runtime = make_runtime(worker_concurrency=8)
    _register_work(runtime, seen, 0.05)
    client.set_limit("tenant", Limit(concurrency=1, per_key=True))
    ids = []
    for n, key in enumerate(["a", "b", "a", "b", "a", "b"]):
        ids.append(f"t-{n}")
        client.start_orchestration(ids[-1], "Import", key, limit="tenant", limit_key=key)
    info = client.get_limit("tenant")
    assert info.waiting == 6
    assert {key: waiting for key, _, waiting in info.top_keys} == {"a": 3, "b": 3}
    runtime.start()
    for i in ids:
        assert wait_done(client, i).status == "Completed"
    assert (seen.peak["a"], seen.peak["b"]) == (1, 1)


def test_undefined_limit_waits_and_is_reported(env):
    _, client, make_runtime = env
    seen = Overlap()
    runtime = make_runtime()
    _register_work(runtime, seen, 0.0)
    runtime.start()
    client.start_orchestration("u-1", "Import", "x", limit="later", limit_key="k1")

    def waiting() -> List[Any]:
        return [w for w in client.list_waiting_activities() if w["instance_id"] == "u-1"]

    assert wait_until(lambda: bool(waiting()), 10)
    [row] = waiting()
    assert (row["reason"], row["limit"], row["limit_key"], row["name"], row["activity_id"]) == \
        ("undefined_limit", "later", "k1", "Import", 0)
    time.sleep(0.3)
    assert client.get_status("u-1").status == "Pending"
    client.set_limit("later", Limit(concurrency=1))
    result = wait_done(client, "u-1")
    assert (result.status, result.output) == ("Completed", "x")
    assert waiting() == []


def test_continue_as_new_keeps_the_slot(env):
    _, client, make_runtime = env
    runtime = make_runtime()
    client.set_limit("one", Limit(concurrency=1))

    @runtime.register_orchestration("Loop")
    def loop(ctx, n):
        if n < 2:
            yield ctx.schedule_timer(150)
            yield ctx.continue_as_new(n + 1)
        yield ctx.wait_for_event("go")
        return n

    @runtime.register_orchestration("Other")
    def other(ctx, _):
        return "done"
        yield  # a generator

    runtime.start()
    client.start_orchestration("loop", "Loop", 0, limit="one")
    assert wait_until(lambda: client.get_status("loop").status == "Running", 10)
    client.start_orchestration("other", "Other", limit="one")
    # The loop continues as new twice, keeping its slot: "other" stays Pending throughout.
    assert wait_until(lambda: _execution(client, "loop") == 3, 10)
    time.sleep(0.2)
    assert client.get_status("other").status == "Pending"
    assert client.get_limit("one").in_flight == 1
    client.raise_event("loop", "go", None)
    assert wait_done(client, "loop").output == 2
    assert wait_done(client, "other").output == "done"


def test_terminate_and_restart_of_limited_instances(env):
    _, client, make_runtime = env
    runtime = make_runtime()
    client.set_limit("one", Limit(concurrency=1))

    @runtime.register_orchestration("Hold")
    def hold(ctx, _):
        return (yield ctx.wait_for_event("go"))

    runtime.start()
    client.start_orchestration("h-1", "Hold", limit="one")
    assert wait_until(lambda: client.get_status("h-1").status == "Running", 10)
    client.start_orchestration("h-2", "Hold", limit="one")
    time.sleep(0.2)
    assert client.get_status("h-2").status == "Pending"
    # A waiting instance can be terminated: it does not wait for a slot to end.
    client.terminate_instance("h-2", "not needed")
    assert wait_done(client, "h-2").status == "Terminated"
    # Ending the holder frees its slot; a restart with the limit takes it again.
    client.raise_event("h-1", "go", 1)
    assert wait_done(client, "h-1").output == 1
    assert client.get_limit("one").in_flight == 0
    client.start_orchestration("h-1", "Hold", if_exists="restart_if_ended", limit="one")
    assert wait_until(lambda: client.get_limit("one").in_flight == 1, 10)
    client.start_orchestration("h-3", "Hold", limit="one")
    time.sleep(0.2)
    assert client.get_status("h-3").status == "Pending"
    client.raise_event("h-1", "go", 2)
    assert wait_done(client, "h-1").output == 2
    client.raise_event("h-3", "go", 3)
    assert wait_done(client, "h-3").output == 3


@pytest.mark.parametrize("kwargs, error, arg", [
    ({"limit": 5}, InvalidTypeError, "limit"),
    ({"limit": ""}, InvalidArgumentError, "limit"),
    ({"limit": "x" * 201}, InvalidArgumentError, "limit"),
    ({"limit_key": "k"}, InvalidArgumentError, "limit_key"),
    ({"limit": "a", "limit_key": 3}, InvalidTypeError, "limit_key"),
])
def test_bad_limit_arguments_are_refused_before_anything_is_written(env, kwargs, error, arg):
    _, client, _ = env
    with pytest.raises(error, match=arg):
        client.start_orchestration("bad", "Import", **kwargs)
    with pytest.raises(error, match=arg):
        client.start_orchestration_versioned("bad", "Import", None, "1.0.0", **kwargs)
    assert client.get_status("bad").status == "NotFound"


def test_rerun_keeps_the_limit_of_copied_activities(env):
    """A rerun's first turn queues the copied prefix's open activities again; they keep their
    named limit and key (the worker rows' limit columns), so they wait for it."""
    _, client, make_runtime = env
    calls: List[int] = []
    runtime = make_runtime()
    client.set_limit("L", Limit(concurrency=1))

    @runtime.register_activity("Flaky")
    def flaky(ctx, x):
        calls.append(x)
        if len(calls) == 1:
            raise RuntimeError("first attempt fails")
        return x

    @runtime.register_orchestration("UsesLimit")
    def uses_limit(ctx, x):
        return (yield ctx.schedule_activity("Flaky", x, limit="L", limit_key="k"))

    runtime.start()
    client.start_orchestration("r-1", "UsesLimit", 5)
    assert wait_done(client, "r-1").status == "Failed"
    client.delete_limit("L")
    new_id = client.rerun("r-1")
    assert wait_until(lambda: any(
        (w["instance_id"], w["limit"], w["limit_key"], w["reason"]) ==
        (new_id, "L", "k", "undefined_limit") for w in client.list_waiting_activities()), 10)
    assert calls == [5]
    client.set_limit("L", Limit(concurrency=1))
    assert wait_done(client, new_id).output == 5


def test_limit_wait_metrics_count_waiting_starts_and_histogram_their_waits(env):
    """duroxide_limit_waits counts tasks held back by a limit (starts too);
    duroxide_limit_wait_seconds is a histogram of how long they have waited so far, and
    duroxide_limit_wait_oldest_seconds the longest wait (docs/flow-control.md)."""
    pytest.importorskip("prometheus_client")
    from duroxide.worker import metrics

    _, client, _ = env
    client.set_limit("full", Limit(concurrency=1))
    client.start_orchestration("m-0", "Import", limit="nowhere")
    client.start_orchestration("m-1", "Import", limit="nowhere")
    time.sleep(0.15)
    registry = metrics.registry_for(metrics.DuroxideCollector(client=lambda: client))
    text = metrics.exposition(registry)[0].decode()
    samples = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
               for line in text.splitlines() if line and not line.startswith("#")}
    assert samples['duroxide_limit_waits{reason="undefined_limit"}'] == 2
    assert samples['duroxide_limit_wait_seconds_bucket{le="0.1",reason="undefined_limit"}'] == 0
    assert samples['duroxide_limit_wait_seconds_bucket{le="+Inf",reason="undefined_limit"}'] == 2
    assert samples['duroxide_limit_wait_seconds_gcount{reason="undefined_limit"}'] == 2
    assert samples['duroxide_limit_wait_seconds_gsum{reason="undefined_limit"}'] >= 0.3
    assert samples['duroxide_limit_wait_oldest_seconds{reason="undefined_limit"}'] >= 0.15
    assert samples['duroxide_limit_waits{reason="limit"}'] == 0
    assert samples['duroxide_limit_queued{limit="full"}'] == 0


def test_cli_start_with_a_limit_shows_pending_then_runs(tmp_path):
    """`duroxide start --limit L --limit-key K`, `show` (Pending, waiting for its limit) and
    `limits` (the start counted as waiting)."""
    from test_cli import cli, cli_json

    db = tmp_path / "cli.db"
    provider = duroxide.SqliteProvider.open(str(db))
    client = duroxide.Client(provider)
    proc = cli(db, "start", "Import", "--id", "c-1", "--input", '"k"', "--limit", "imports",
               "--limit-key", "acme")
    assert proc.returncode == 0, proc.stderr
    assert cli_json(db, "show", "c-1")["status"] == "Pending"
    assert "waiting for its limit" in cli(db, "show", "c-1").stdout
    bad = cli(db, "start", "Import", "--id", "c-2", "--limit-key", "acme")
    assert bad.returncode != 0 and "limit_key" in bad.stderr
    assert client.get_status("c-2").status == "NotFound"
    client.set_limit("imports", Limit(concurrency=1))
    [row] = cli_json(db, "limits")
    assert (row["name"], row["in_flight"], row["waiting"]) == ("imports", 0, 1)
    runtime = duroxide.Runtime(provider, duroxide.RuntimeOptions(dispatcher_poll_interval_ms=20))

    @runtime.register_orchestration("Import")
    def import_(ctx, key):
        return key
        yield  # a generator

    runtime.start()
    try:
        assert wait_done(client, "c-1").output == "k"
    finally:
        runtime.shutdown(3000)
