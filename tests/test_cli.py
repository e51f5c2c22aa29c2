"""The `duroxide` command line, run as a subprocess (`python -m duroxide`) against SQLite files
populated by runtimes in this process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import duroxide
from duroxide import Client, Runtime, RuntimeOptions, SqliteProvider
from helpers.util import wait_done, wait_until

ROOT = Path(__file__).resolve().parent.parent
FAST = dict(dispatcher_poll_interval_ms=20, worker_lock_timeout_ms=2000)


def cli(db, *args, env_extra=None, timeout=60):
    """Runs `python -m duroxide [--db DB] ARGS...` and returns the CompletedProcess."""
    env = {k: v for k, v in os.environ.items() if k != "DUROXIDE_DB"}
    # The child imports the same duroxide as this process (installed, or the source tree).
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(duroxide.__file__).resolve().parent.parent)]
        + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.update(env_extra or {})
    command = [sys.executable, "-m", "duroxide"]
    if db is not None:
        command += ["--db", str(db)]
    return subprocess.run(command + [str(a) for a in args], capture_output=True, text=True,
                          env=env, timeout=timeout)


def cli_json(db, *args):
    proc = cli(db, "--json", *args)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def now_ms() -> int:
    return int(time.time() * 1000)


def register(rt):
    @rt.register_activity("Double")
    def double(ctx, x):
        return x * 2

    @rt.register_activity("Explode")
    def explode(ctx, x):
        raise ValueError(f"boom {x}")

    def echo(ctx, input):
        return input
        yield  # pragma: no cover

    def fails(ctx, input):
        yield ctx.schedule_activity("Explode", input)

    def child(ctx, n):
        doubled = yield ctx.schedule_activity("Double", n)
        return doubled

    def nested(ctx, n):
        inner = yield ctx.schedule_sub_orchestration("Child", n)
        return inner + 1

    def family(ctx, n):
        results = yield ctx.all([ctx.schedule_sub_orchestration("Child", n),
                                 ctx.schedule_sub_orchestration("Nested", n)])
        return results

    def waiter(ctx, input):
        ctx.set_custom_status("waiting for go")
        ctx.set_kv_value("stage", "1")
        got = yield ctx.wait_for_event("go")
        queued = yield ctx.dequeue_event("inbox")
        return {"go": got, "inbox": queued}

    def counter(ctx, input):
        if input["i"] + 1 < input["n"]:
            yield ctx.continue_as_new({**input, "i": input["i"] + 1})
        return input["i"]

    def parent_of_waiter(ctx, input):
        result = yield ctx.schedule_sub_orchestration_with_id("Waiter", input["child"], None)
        return result

    for name, fn in (("Echo", echo), ("Fails", fails), ("Child", child), ("Nested", nested),
                     ("Family", family), ("Waiter", waiter), ("Counter", counter),
                     ("ParentOfWaiter", parent_of_waiter)):
        rt.register_orchestration(name, fn)


def subscribed(client, instance_id, event_name):
    """True once `instance_id` waits for `event_name` (raising earlier would be dropped)."""
    try:
        events = client.read_execution_history(instance_id, 1)
    except RuntimeError:
        return False
    return any(e.kind == "ExternalSubscribed" and json.loads(e.data)["name"] == event_name
               for e in events)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A read-only store with finished, failed, running, nested and multi-execution instances.

    Yields (db_path, client, started_ms); its runtime is stopped before the tests run, so the
    store does not change under them.
    """
    db = tmp_path_factory.mktemp("cli") / "store.db"
    provider = SqliteProvider.open(str(db))
    client = Client(provider)
    rt = Runtime(provider, RuntimeOptions(**FAST))
    register(rt)
    rt.start()
    started = now_ms()
    try:
        for instance_id, name, input in (("order-1", "Echo", {"x": 1}), ("order-2", "Fails", 7),
                                         ("family", "Family", 3),
                                         ("cycle", "Counter", {"i": 0, "n": 3})):
            client.start_orchestration(instance_id, name, input)
            wait_done(client, instance_id)
            time.sleep(0.005)
        client.start_orchestration("waiting", "Waiter")
        assert wait_until(lambda: subscribed(client, "waiting", "go"))
    finally:
        rt.shutdown(5000)
    yield db, client, started


@pytest.fixture
def live(tmp_path):
    """A fresh store with a running runtime: (db_path, client)."""
    db = tmp_path / "live.db"
    provider = SqliteProvider.open(str(db))
    client = Client(provider)
    rt = Runtime(provider, RuntimeOptions(**FAST))
    register(rt)
    rt.start()
    try:
        yield db, client
    finally:
        rt.shutdown(5000)


def table_rows(stdout):
    """Data rows of a table (below the header and its dashes), split on whitespace."""
    lines = stdout.strip().splitlines()
    dash = next(i for i, line in enumerate(lines) if set(line.replace(" ", "")) == {"-"})
    return [line.split() for line in lines[dash + 1:]]


# ---- read-only commands --------------------------------------------------------------------


def test_list_shows_every_instance_newest_first(store):
    db, client, _ = store
    proc = cli(db, "list")
    assert proc.returncode == 0, proc.stderr
    assert "INSTANCE" in proc.stdout and "STATUS" in proc.stdout
    rows = table_rows(proc.stdout)
    assert [r[0] for r in rows] == client.list_all_instances()
    assert len(rows) == 8  # 5 roots and the 3 sub-orchestrations of "family"
    by_id = {r[0]: r for r in rows}
    assert by_id["order-1"][1:4] == ["Echo", "1.0.0", "Completed"]
    assert by_id["order-2"][3] == "Failed"
    assert by_id["waiting"][3] == "Running"
    assert by_id["cycle"][4] == "3"  # current execution


def test_list_filters_and_json(store):
    db, client, started = store
    failed = table_rows(cli(db, "list", "--status", "failed").stdout)
    assert [r[0] for r in failed] == ["order-2"]
    running = cli_json(db, "list", "--status", "Running")
    assert [i["instance_id"] for i in running] == ["waiting"]
    children = cli_json(db, "list", "--name", "Child")
    assert {i["orchestration_name"] for i in children} == {"Child"}
    assert len(children) == 2 and all(i["parent_instance_id"] for i in children)
    wildcard = cli_json(db, "list", "--name", "Ec*")
    assert [i["instance_id"] for i in wildcard] == ["order-1"]
    limited = cli_json(db, "list", "--limit", "2")
    assert [i["instance_id"] for i in limited] == client.list_all_instances()[:2]

    everything = cli_json(db, "list")
    assert [i["instance_id"] for i in everything] == client.list_all_instances()
    for item in everything:
        assert started - 5 <= item["created_at"] <= item["updated_at"] <= now_ms()
        assert set(item) == {"instance_id", "orchestration_name", "orchestration_version",
                             "current_execution_id", "status", "output", "created_at",
                             "updated_at", "parent_instance_id"}
    assert cli(db, "list", "--status", "Done").returncode == 2
    assert "No instances." in cli(db, "list", "--name", "NoSuchName").stdout


def test_show_status_output_error_custom_status_and_kv(store):
    db, _, started = store
    done = cli(db, "show", "order-1")
    assert done.returncode == 0, done.stderr
    assert "Status:         Completed" in done.stdout
    assert 'Output:         {"x": 1}' in done.stdout
    assert "Orchestration:  Echo 1.0.0" in done.stdout

    failed = cli(db, "show", "order-2").stdout
    assert "Status:         Failed" in failed
    assert "boom 7" in failed

    waiting = cli(db, "show", "waiting").stdout
    assert "Status:         Running" in waiting
    assert "Custom status:  waiting for go (version 1)" in waiting
    assert "stage" in waiting and "KV:" in waiting

    data = cli_json(db, "show", "waiting")
    assert data["status"] == "Running"
    assert data["custom_status"] == "waiting for go"
    assert data["custom_status_version"] == 1
    assert data["kv"] == {"stage": "1"}
    assert data["executions"] == [1]
    assert started - 5 <= data["created_at"] <= now_ms()
    assert cli_json(db, "show", "order-1")["output"] == {"x": 1}
    assert "boom 7" in cli_json(db, "show", "order-2")["error"]


def test_history_timeline(store):
    db, client, started = store
    proc = cli(db, "history", "family")
    assert proc.returncode == 0, proc.stderr
    assert "execution 1" in proc.stdout
    kinds = [r[4] for r in table_rows(proc.stdout)]  # ID, date, time, elapsed, KIND, ...
    assert kinds == [e.kind for e in client.read_execution_history("family", 1)]
    assert kinds[0] == "OrchestrationStarted" and kinds[-1] == "OrchestrationCompleted"
    assert kinds.count("SubOrchestrationScheduled") == 2

    events = cli_json(db, "history", "family")
    assert [e["event_id"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["data"] == {"name": "Family", "version": "1.0.0", "input": 3}
    assert all(started - 5 <= e["timestamp_ms"] <= now_ms() for e in events)
    completions = [e for e in events if e["kind"] == "SubOrchestrationCompleted"]
    assert all(isinstance(e["source_event_id"], int) for e in completions)

    # The current execution by default; older ones with --execution.
    current = cli_json(db, "history", "cycle")
    assert current[-1]["kind"] == "OrchestrationCompleted" and current[-1]["data"] == 2
    first = cli_json(db, "history", "cycle", "--execution", "1")
    assert first[-1]["kind"] == "OrchestrationContinuedAsNew"
    assert first[0]["data"]["input"] == {"i": 0, "n": 3}

    missing_exec = cli(db, "history", "cycle", "--execution", "9")
    assert missing_exec.returncode == 3
    assert "Execution 9 of instance cycle not found" in missing_exec.stderr
    assert cli(db, "history", "cycle", "--execution", "0").returncode == 2
    missing = cli(db, "history", "nope")
    assert (missing.returncode, missing.stderr.strip()) == (3, "duroxide: error: Instance nope "
                                                               "not found")


def test_tree(store):
    db, client, _ = store
    proc = cli(db, "tree", "family")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[0].split() == ["family", "Family", "Completed"]
    assert lines[-1] == "(4 instances)"
    branches = lines[1:-1]
    assert len(branches) == 3 and all("-- " in line for line in branches)
    nested_line = next(i for i, line in enumerate(lines) if " Nested " in line)
    assert lines[nested_line + 1].startswith(("|   `-- ", "    `-- "))  # grandchild, indented

    data = cli_json(db, "tree", "family")
    tree = client.get_instance_tree("family")
    assert (data["root_id"], data["size"], data["all_ids"]) == ("family", 4, tree.all_ids)
    assert [n["instance_id"] for n in data["nodes"]] == tree.all_ids
    assert cli(db, "tree", "nope").returncode == 3


def test_metrics(store):
    db, client, _ = store
    data = cli_json(db, "metrics")
    metrics = client.get_system_metrics()
    assert data["system"] == {
        "total_instances": metrics.total_instances,
        "total_executions": metrics.total_executions,
        "running_instances": metrics.running_instances,
        "completed_instances": metrics.completed_instances,
        "failed_instances": metrics.failed_instances,
        "total_events": metrics.total_events,
    }
    assert data["system"]["total_instances"] == 8
    assert data["system"]["running_instances"] == 1
    assert data["queues"] == {"orchestrator_queue": 0, "worker_queue": 0, "timer_queue": 0}
    text = cli(db, "metrics").stdout
    rows = dict(table_rows(text))
    assert rows["total_instances"] == "8" and rows["failed_instances"] == "1"


def test_options_are_accepted_before_and_after_the_command(store):
    db, _, _ = store
    env = {"DUROXIDE_DB": str(db)}
    after = cli(None, "list", "--db", str(db), "--json")
    assert after.returncode == 0 and json.loads(after.stdout)
    from_env = cli(None, "--json", "list", env_extra=env)
    assert from_env.returncode == 0 and json.loads(from_env.stdout) == json.loads(after.stdout)


# ---- bad arguments and unusable stores -----------------------------------------------------


def test_bad_arguments_exit_2_with_a_clear_message(store, tmp_path):
    db, _, _ = store
    cases = [
        ((), "required"),                                   # no command
        (("frobnicate",), "invalid choice"),
        (("show",), "the following arguments are required"),
        (("start", "Echo", "--input", "{not json"), "--input must be JSON"),
        (("raise", "waiting", "go", "--data", "[1,"), "--data must be JSON"),
        (("prune", "cycle", "--keep-last", "-1"), "must be >= 0"),
        (("prune", "cycle", "--completed-before", "soon"), "expected an integer"),
        (("list", "--limit", "x"), "expected an integer"),
    ]
    for args, message in cases:
        proc = cli(db, *args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert message in proc.stderr, (args, proc.stderr)


def test_unusable_stores_exit_2(store, tmp_path):
    db, _, _ = store
    no_db = cli(None, "list")
    assert no_db.returncode == 2 and "--db" in no_db.stderr
    missing = cli(tmp_path / "typo.db", "list")
    assert missing.returncode == 2 and "database file not found" in missing.stderr
    assert not (tmp_path / "typo.db").exists()  # nothing was created
    schema = cli(db, "--schema", "tenant", "list")
    assert schema.returncode == 2 and "--schema applies only to PostgreSQL" in schema.stderr
    postgres = cli("postgresql://user@localhost/db", "list")
    import duroxide

    if getattr(duroxide, "PostgresProvider", None) is None:
        assert postgres.returncode == 2
        assert "PostgreSQL support is not available in this build" in postgres.stderr
    else:  # a build with PostgreSQL: no server at that URL
        assert postgres.returncode == 2 and postgres.stderr.startswith("duroxide: error:")
    sqlite_url = cli(f"sqlite:{db}", "--json", "list")
    assert sqlite_url.returncode == 0 and len(json.loads(sqlite_url.stdout)) == 8


def test_help_lists_every_command():
    proc = cli(None, "--help")
    assert proc.returncode == 0
    for command in ("list", "show", "history", "tree", "start", "raise", "enqueue", "cancel",
                    "delete", "prune", "metrics"):
        assert command in proc.stdout
    assert "Exit codes" in proc.stdout


def test_console_script_is_declared():
    text = (ROOT / "pyproject.toml").read_text()
    assert '[project.scripts]\nduroxide = "duroxide.cli:main"' in text
    from duroxide import cli as cli_module

    assert cli_module.main(["--db", "/nonexistent/x.db", "list"]) == 2


# ---- commands that change the store --------------------------------------------------------


def test_start(live):
    db, client = live
    proc = cli(db, "start", "Echo", "--input", '{"a": [1, 2]}', "--id", "s1")
    assert proc.returncode == 0, proc.stderr
    assert "Started s1 (Echo)" in proc.stdout
    assert wait_done(client, "s1").output == {"a": [1, 2]}

    again = cli(db, "start", "Echo", "--id", "s1")
    assert again.returncode == 1 and "Instance s1 already exists" in again.stderr

    generated = cli_json(db, "start", "Echo", "--input", "7", "--version", "1.0.0")
    assert generated["instance_id"].startswith("Echo-")
    assert (generated["name"], generated["version"], generated["input"]) == ("Echo", "1.0.0", 7)
    assert wait_done(client, generated["instance_id"]).output == 7
    assert client.get_instance_info(generated["instance_id"]).orchestration_version == "1.0.0"

    no_input = cli_json(db, "start", "Echo", "--id", "s2")
    assert no_input["input"] is None
    assert wait_done(client, "s2").output is None


def test_raise_and_enqueue(live):
    db, client = live
    client.start_orchestration("w", "Waiter")
    assert wait_until(lambda: subscribed(client, "w", "go"))
    proc = cli(db, "raise", "w", "go", "--data", '{"n": 1}')
    assert proc.returncode == 0, proc.stderr
    assert "Raised event 'go' on w" in proc.stdout
    enq = cli_json(db, "enqueue", "w", "inbox", "--data", '"hello"')
    assert enq == {"instance_id": "w", "queue": "inbox", "data": "hello"}
    result = wait_done(client, "w")
    assert (result.status, result.output) == ("Completed", {"go": {"n": 1}, "inbox": "hello"})

    for command in (("raise", "nope", "go"), ("enqueue", "nope", "inbox")):
        missing = cli(db, *command)
        assert missing.returncode == 3 and "Instance nope not found" in missing.stderr
    finished = cli(db, "raise", "w", "go")
    assert finished.returncode == 1 and "is Completed" in finished.stderr


def test_cancel(live):
    db, client = live
    client.start_orchestration("c", "Waiter")
    assert wait_until(lambda: subscribed(client, "c", "go"))
    proc = cli(db, "cancel", "c", "--reason", "ops request")
    assert proc.returncode == 0, proc.stderr
    assert "Cancellation requested for c" in proc.stdout
    result = wait_done(client, "c")
    assert (result.status, result.error) == ("Failed", "canceled: ops request")

    again = cli_json(db, "cancel", "c")
    assert again == {"instance_id": "c", "cancel_requested": False, "status": "Failed"}
    missing = cli(db, "cancel", "nope")
    assert missing.returncode == 3 and "Instance nope not found" in missing.stderr


def test_delete(live):
    db, client = live
    client.start_orchestration("root", "ParentOfWaiter", {"child": "root-kid"})
    assert wait_until(lambda: subscribed(client, "root-kid", "go"))

    running = cli(db, "delete", "root")
    assert running.returncode == 1
    assert ("Instance root is still running. Use force=true or cancel first."
            in running.stderr)
    sub = cli(db, "delete", "root-kid", "--force")
    assert sub.returncode == 1
    assert ("Cannot delete sub-orchestration root-kid directly. Delete the root orchestration "
            "instead." in sub.stderr)
    assert sorted(client.list_all_instances()) == ["root", "root-kid"]

    forced = cli_json(db, "delete", "root", "--force")
    assert forced["instances_deleted"] == 2
    assert forced["executions_deleted"] == 2
    assert forced["events_deleted"] >= 4
    assert client.list_all_instances() == []
    assert client.get_status("root-kid").status == "NotFound"

    client.start_orchestration("done", "Echo", 1)
    wait_done(client, "done")
    text = cli(db, "delete", "done")
    assert text.returncode == 0 and "Deleted done: 1 instance(s)" in text.stdout
    missing = cli(db, "delete", "done")
    assert missing.returncode == 3 and "Instance done not found" in missing.stderr


def test_prune(live):
    db, client = live
    client.start_orchestration("p", "Counter", {"i": 0, "n": 5})
    assert wait_done(client, "p").output == 4
    assert client.list_executions("p") == [1, 2, 3, 4, 5]

    nothing = cli_json(db, "prune", "p", "--completed-before", "0")
    assert (nothing["executions_deleted"], nothing["executions"]) == (0, [1, 2, 3, 4, 5])
    two = cli(db, "prune", "p", "--keep-last", "2")
    assert two.returncode == 0, two.stderr
    assert "Pruned p: 3 execution(s)" in two.stdout
    assert client.list_executions("p") == [4, 5]
    rest = cli_json(db, "prune", "p")
    assert (rest["executions_deleted"], rest["executions"]) == (1, [5])
    assert rest["events_deleted"] > 0
    assert client.get_status("p").output == 4
    missing = cli(db, "prune", "nope")
    assert missing.returncode == 3 and "Instance nope not found" in missing.stderr
