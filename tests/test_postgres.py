"""The user-guide patterns that matter on PostgreSQL, against PostgresProvider.

Each test works in its own schema of one server: DATABASE_URL, or a throwaway cluster that
pg_cluster.py starts for the session and removes afterwards. Several providers on one schema
stand in for several runtime processes sharing a database.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, List, NamedTuple

import pytest

import duroxide
from duroxide import Client, Runtime, RuntimeOptions
from helpers.util import raise_until_done, wait_done, wait_until

import pg_cluster

pytestmark = pytest.mark.skipif(
    getattr(duroxide, "PostgresProvider", None) is None,
    reason="this build of duroxide has no PostgreSQL provider (DUROXIDE_WITH_POSTGRES=OFF)")

FAST = dict(dispatcher_poll_interval_ms=20, worker_lock_timeout_ms=2000)


# pg_url and pg_schema come from conftest.py (one throwaway cluster per test session).


class PgEnv(NamedTuple):
    url: str
    schema: str
    provider: Any
    client: Client
    make_runtime: Any
    connect: Any  # () -> a new provider on the same schema (another "process")


@pytest.fixture
def pg(pg_url, pg_schema):
    runtimes: List[Runtime] = []

    def connect():
        return duroxide.PostgresProvider.connect_with_schema(pg_url, pg_schema)

    provider = connect()

    def make_runtime(provider_=None, **overrides):
        rt = Runtime(provider_ or provider, RuntimeOptions(**{**FAST, **overrides}))
        runtimes.append(rt)
        return rt

    try:
        yield PgEnv(pg_url, pg_schema, provider, Client(provider), make_runtime, connect)
    finally:
        for rt in reversed(runtimes):
            try:
                rt.shutdown(3000)
            except Exception:  # noqa: BLE001 - teardown must reach every runtime
                pass


# ---- connecting ----------------------------------------------------------------------------


def test_exported_with_connect_methods(pg):
    assert "PostgresProvider" in duroxide.__all__
    assert duroxide.PostgresProvider._type == "postgres"
    assert pg.provider.schema == pg.schema
    assert duroxide.PostgresProvider.connect(pg.url).schema == "public"


def test_invalid_schema_and_unreachable_server_raise_runtime_error(pg_url):
    with pytest.raises(duroxide.ProviderError, match="^Failed to connect to PostgreSQL: .*invalid schema"):
        duroxide.PostgresProvider.connect_with_schema(pg_url, 'x"; DROP TABLE y; --')
    port = pg_cluster.free_port()
    with pytest.raises(duroxide.ProviderError, match="^Failed to connect to PostgreSQL: "):
        duroxide.PostgresProvider.connect(
            f"postgresql://postgres@127.0.0.1:{port}/postgres?connect_timeout=2")
    with pytest.raises(TypeError):
        duroxide.PostgresProvider.connect_with_schema(pg_url, None)


# ---- guide patterns ------------------------------------------------------------------------


def test_hello(pg):
    rt = pg.make_runtime()

    @rt.register_activity("SayHello")
    def say_hello(ctx, name):
        return f"Hello, {name}!"

    @rt.register_orchestration("HelloWorkflow")
    def hello(ctx, input):
        greeting = yield ctx.schedule_activity("SayHello", input["name"])
        return greeting

    rt.start()
    pg.client.start_orchestration("hello-1", "HelloWorkflow", {"name": "World"})
    result = wait_done(pg.client, "hello-1")
    assert (result.status, result.output, result.error) == ("Completed", "Hello, World!", None)
    with pytest.raises(duroxide.InstanceAlreadyExistsError):
        pg.client.start_orchestration("hello-1", "HelloWorkflow", {"name": "again"})


def test_fan_out_fan_in(pg):
    rt = pg.make_runtime(worker_concurrency=4)

    @rt.register_activity("ProcessItem")
    def process_item(ctx, item):
        time.sleep(0.01 * (5 - item))
        if item == 3:
            raise Exception("bad 3")
        return item * 10

    @rt.register_orchestration("FanOut")
    def fan_out(ctx, items):
        results = yield ctx.all([ctx.schedule_activity("ProcessItem", i) for i in items])
        return results

    rt.start()
    pg.client.start_orchestration("fan", "FanOut", [1, 2, 3, 4])
    result = wait_done(pg.client, "fan")
    assert result.status == "Completed", result.error
    assert result.output == [{"ok": 10}, {"ok": 20},
                             {"err": "Activity 'ProcessItem' call failed: Exception: bad 3"},
                             {"ok": 40}]


def test_durable_timers_and_race(pg):
    rt = pg.make_runtime()

    @rt.register_activity("Slow")
    def slow(ctx, _):
        time.sleep(1.0)
        return "slow"

    @rt.register_orchestration("Timers")
    def timers(ctx, _):
        yield ctx.schedule_timer(300)
        winner = yield ctx.race([ctx.schedule_activity("Slow", None), ctx.schedule_timer(50)])
        return {"winner": winner}

    rt.start()
    t0 = time.monotonic()
    pg.client.start_orchestration("timers", "Timers", None)
    result = wait_done(pg.client, "timers")
    assert result.status == "Completed", result.error
    assert time.monotonic() - t0 >= 0.3
    assert result.output["winner"] == {"index": 1, "value": None}


@pytest.mark.parametrize("approved,expected", [(True, "approved"), (False, "rejected")])
def test_external_events(pg, approved, expected):
    rt = pg.make_runtime()

    @rt.register_orchestration("Approval")
    def approval(ctx, _):
        decision = yield ctx.wait_for_event("approval")
        return "approved" if decision["approved"] else "rejected"

    rt.start()
    pg.client.start_orchestration("appr", "Approval", None)
    result = raise_until_done(pg.client, "appr", "approval", {"approved": approved})
    assert (result.status, result.output) == ("Completed", expected)


def test_sub_orchestrations(pg):
    rt = pg.make_runtime()

    @rt.register_activity("DoWork")
    def do_work(ctx, n):
        return n * 2

    @rt.register_orchestration("Child")
    def child(ctx, n):
        r = yield ctx.schedule_activity("DoWork", n)
        return r

    @rt.register_orchestration("Parent")
    def parent(ctx, n):
        a = yield ctx.schedule_sub_orchestration("Child", n)
        b = yield ctx.schedule_sub_orchestration_with_id("Child", "explicit-child", n + 1)
        return [a, b]

    rt.start()
    pg.client.start_orchestration("parent", "Parent", 5)
    result = wait_done(pg.client, "parent")
    assert (result.status, result.output) == ("Completed", [10, 12])
    assert pg.client.get_status("explicit-child").output == 12
    tree = pg.client.get_instance_tree("parent")
    assert tree.root_id == "parent" and len(tree.all_ids) == 3


def test_continue_as_new(pg):
    rt = pg.make_runtime()

    @rt.register_orchestration("Counter")
    def counter(ctx, n):
        ctx.set_kv_value("last", n)
        if n >= 3:
            return {"n": n, "execution": ctx.execution_id}
        yield ctx.schedule_timer(5)
        yield ctx.continue_as_new(n + 1)

    rt.start()
    pg.client.start_orchestration("can", "Counter", 0)
    result = wait_done(pg.client, "can")
    assert (result.status, result.output) == ("Completed", {"n": 3, "execution": 4})
    assert pg.client.list_executions("can") == [1, 2, 3, 4]
    assert pg.client.get_kv_value("can", "last") == "3"


def test_cancel_instance_and_its_child(pg):
    rt = pg.make_runtime()

    @rt.register_orchestration("Sleeper")
    def sleeper(ctx, _):
        yield ctx.wait_for_event("never")
        return "woke"

    @rt.register_orchestration("CancelParent")
    def cancel_parent(ctx, _):
        r = yield ctx.schedule_sub_orchestration_with_id("Sleeper", "cancel-child", None)
        return r

    rt.start()
    pg.client.start_orchestration("cancel-parent", "CancelParent", None)
    assert wait_until(lambda: pg.client.get_status("cancel-child").status == "Running")
    pg.client.cancel_instance("cancel-parent", "user stop")
    parent = wait_done(pg.client, "cancel-parent")
    assert (parent.status, parent.error) == ("Failed", "canceled: user stop")
    child = wait_done(pg.client, "cancel-child")
    assert child.status == "Failed" and child.error.startswith("canceled:")


def test_kv_and_custom_status(pg):
    rt = pg.make_runtime()

    @rt.register_orchestration("Stateful")
    def stateful(ctx, _):
        ctx.set_kv_value("a", "1")
        ctx.set_kv_value("b", "2")
        ctx.set_custom_status("step 1")
        yield ctx.wait_for_event("go")
        ctx.clear_kv_value("a")
        ctx.set_kv_value("b", "3")
        ctx.set_custom_status("step 2")
        return ctx.get_kv_all_values()

    rt.start()
    pg.client.start_orchestration("kv", "Stateful", None)
    assert pg.client.wait_for_kv_value("kv", "a", 10000) == "1"
    status = pg.client.wait_for_status_change("kv", 0, 10000)
    assert (status.custom_status, status.custom_status_version) == ("step 1", 1)
    result = raise_until_done(pg.client, "kv", "go")
    assert (result.status, result.output) == ("Completed", {"b": "3"})
    assert (result.custom_status, result.custom_status_version) == ("step 2", 2)
    assert pg.client.get_kv_value("kv", "a") is None
    assert pg.client.get_kv_value("kv", "b") == "3"


def test_management_list_and_delete(pg):
    rt = pg.make_runtime()

    @rt.register_orchestration("Echo")
    def echo(ctx, x):
        return x
        yield  # pragma: no cover

    @rt.register_orchestration("Waiter")
    def waiter(ctx, _):
        yield ctx.wait_for_event("go")
        return "went"

    rt.start()
    for i in range(3):
        pg.client.start_orchestration(f"m-{i}", "Echo", i)
        assert wait_done(pg.client, f"m-{i}").output == i
        time.sleep(0.005)
    pg.client.start_orchestration("live", "Waiter", None)
    assert wait_until(lambda: "live" in pg.client.list_instances_by_status("Running"))
    assert pg.client.list_all_instances() == ["live", "m-2", "m-1", "m-0"]
    assert pg.client.list_instances_by_status("Completed") == ["m-2", "m-1", "m-0"]
    info = pg.client.get_instance_info("m-1")
    assert (info.status, info.orchestration_name) == ("Completed", "Echo")
    assert pg.client.get_system_metrics().total_instances == 4
    with pytest.raises(duroxide.StoreError, match="still running"):
        pg.client.delete_instance("live")
    assert pg.client.delete_instance("m-0").instances_deleted == 1
    assert pg.client.delete_instance("live", force=True).instances_deleted == 1
    assert pg.client.list_all_instances() == ["m-2", "m-1"]
    assert pg.client.get_status("m-0").status == "NotFound"


# ---- PostgreSQL-specific -------------------------------------------------------------------


def test_schema_isolation(pg_url):
    a_schema, b_schema = pg_cluster.unique_schema("iso"), pg_cluster.unique_schema("iso")
    a = duroxide.PostgresProvider.connect_with_schema(pg_url, a_schema)
    b = duroxide.PostgresProvider.connect_with_schema(pg_url, b_schema)
    try:
        rt_a = Runtime(a, RuntimeOptions(**FAST))
        rt_a.register_orchestration("Echo", lambda ctx, x: x)
        rt_a.start()
        try:
            Client(a).start_orchestration("same-id", "Echo", "in a")
            assert wait_done(Client(a), "same-id").output == "in a"
        finally:
            rt_a.shutdown(3000)
        assert Client(a).list_all_instances() == ["same-id"]
        assert Client(b).list_all_instances() == []
        assert Client(b).get_status("same-id").status == "NotFound"
        # The same id is free in the other schema; with no runtime there it stays queued.
        Client(b).start_orchestration("same-id", "Echo", "in b")
        assert Client(a).get_status("same-id").output == "in a"
    finally:
        pg_cluster.drop_schema(pg_url, a_schema)
        pg_cluster.drop_schema(pg_url, b_schema)


def test_many_runtimes_share_one_schema_without_double_processing(pg):
    """Three providers (as three processes would have) and their runtimes share the work."""
    executions = []
    lock = threading.Lock()
    runtimes = []
    for i in range(3):
        rt = pg.make_runtime(pg.connect(), orchestration_concurrency=2, worker_concurrency=2)

        @rt.register_activity("Work")
        def work(ctx, n, _i=i):
            with lock:
                executions.append((ctx.instance_id, n, _i))
            return n + 1

        @rt.register_orchestration("Job")
        def job(ctx, n):
            a = yield ctx.schedule_activity("Work", n)
            yield ctx.schedule_timer(10)
            b = yield ctx.schedule_activity("Work", a)
            return b

        runtimes.append(rt)
    for rt in runtimes:
        rt.start()
    count = 40
    for k in range(count):
        pg.client.start_orchestration(f"job-{k}", "Job", k)
    for k in range(count):
        result = wait_done(pg.client, f"job-{k}", 30000)
        assert (result.status, result.output) == ("Completed", k + 2), result.error
        kinds = [e.kind for e in pg.client.read_execution_history(f"job-{k}", 1)]
        assert kinds.count("ActivityCompleted") == 2
        assert kinds.count("TimerFired") == 1
        assert kinds.count("OrchestrationCompleted") == 1
    assert len({(inst, n) for inst, n, _ in executions}) == 2 * count
    assert len({i for _, _, i in executions}) >= 2  # the work was spread over runtimes


def test_notifications_wake_an_idle_runtime_of_another_provider(pg):
    """A start through one provider wakes a runtime on another long before its poll."""
    rt = pg.make_runtime(pg.connect(), dispatcher_poll_interval_ms=10000)

    @rt.register_activity("Ping")
    def ping(ctx, _):
        return "pong"

    @rt.register_orchestration("PingOrch")
    def ping_orch(ctx, _):
        r = yield ctx.schedule_activity("Ping", None)
        return r

    rt.start()
    time.sleep(0.5)  # let the runtime go idle and its listener connect
    for k in range(3):
        t0 = time.monotonic()
        pg.client.start_orchestration(f"ping-{k}", "PingOrch", None)
        assert wait_done(pg.client, f"ping-{k}").output == "pong"
        assert time.monotonic() - t0 < 3.0


def test_cli_lists_a_postgres_store(pg):
    rt = pg.make_runtime()
    rt.register_orchestration("Echo", lambda ctx, x: x)
    rt.start()
    pg.client.start_orchestration("cli-1", "Echo", 1)
    assert wait_done(pg.client, "cli-1").status == "Completed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(Path(duroxide.__file__).resolve().parent.parent)] +
        [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    proc = subprocess.run([sys.executable, "-m", "duroxide", "--db", pg.url, "--schema",
                           pg.schema, "list"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "cli-1" in proc.stdout
    bad = subprocess.run([sys.executable, "-m", "duroxide", "--db", pg.url, "--schema",
                          "bad-name", "list"], capture_output=True, text=True, env=env,
                         timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("duroxide: error:")


def test_server_restart_is_survived(pg):
    cluster = pg_cluster.owned_cluster(pg.url)
    if cluster is None:
        pytest.skip("restarting the server needs the throwaway cluster (DATABASE_URL is set)")
    rt = pg.make_runtime()

    @rt.register_activity("Step")
    def step(ctx, n):
        return n + 1

    @rt.register_orchestration("Steps")
    def steps(ctx, n):
        for _ in range(3):
            n = yield ctx.schedule_activity("Step", n)
            yield ctx.schedule_timer(200)
        return n

    rt.start()
    for k in range(5):
        pg.client.start_orchestration(f"steps-{k}", "Steps", k)
    time.sleep(0.3)
    cluster.restart()

    def done(k):
        try:
            return pg.client.get_status(f"steps-{k}").status == "Completed"
        except RuntimeError:  # kUnavailable while the pool reconnects
            return False

    assert wait_until(lambda: all(done(k) for k in range(5)), timeout_s=60)
    for k in range(5):
        assert pg.client.get_status(f"steps-{k}").output == k + 3
        kinds = [e.kind for e in pg.client.read_execution_history(f"steps-{k}", 1)]
        assert kinds.count("ActivityCompleted") == 3
