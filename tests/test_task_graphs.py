"""Promise-style task graphs: @task, lazy handles, inferred DAG execution, submit, get_graph,
the `duroxide graph` command, result caching, durability across a SIGKILL.

Runs on a SQLite file and on PostgreSQL (docs/task-graphs.md)."""

from __future__ import annotations

import inspect
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterator, List

import pytest

import duroxide
from conftest import Env, RuntimeFactory, fast_options
from duroxide import Client, Registry, SqliteProvider
from helpers import graph_crash_worker
from helpers.util import wait_done, wait_until


@pytest.fixture(params=["file", "postgres"])
def genv(request: Any, tmp_path: Any) -> Iterator[Env]:
    if request.param == "file":
        provider = SqliteProvider.open(str(tmp_path / "graphs.db"))
    else:
        url = request.getfixturevalue("pg_url")
        schema = request.getfixturevalue("pg_schema")
        provider = duroxide.PostgresProvider.connect_with_schema(url, schema)
    factory = RuntimeFactory(provider)
    try:
        yield Env(provider, Client(provider), factory)
    finally:
        factory.close()


class Calls:
    """Thread-safe record of task executions."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: List[Any] = []

    def add(self, item: Any) -> None:
        with self.lock:
            self.items.append(item)

    def count(self, pred: Any = None) -> int:
        with self.lock:
            return sum(1 for i in self.items if pred is None or pred(i))


def _make_registry(calls: Calls) -> Registry:
    reg = Registry()

    @reg.task()
    def compile(src: str, flags: Any = None) -> str:
        calls.add(("compile", src))
        time.sleep(0.02)
        return f"{src}.o"

    @reg.task(name="zip")
    def zip_files(*objs: str) -> str:
        calls.add(("zip", objs))
        return "+".join(objs) + ".zip"

    @reg.task()
    def upload(f: str) -> str:
        calls.add(("upload", f))
        return f"uploaded:{f}"

    @reg.task()
    def combine(items: Any, mapping: Any) -> Any:
        calls.add(("combine", None))
        return {"items": items, "mapping": mapping}

    @reg.task()
    def explode(x: Any) -> Any:
        calls.add(("explode", x))
        raise ValueError(f"cannot handle {x}")

    @reg.task()
    def whoami() -> str:
        return duroxide.current_activity().activity_name

    reg.tasks = {"compile": compile, "zip": zip_files, "upload": upload,  # type: ignore[attr-defined]
                 "combine": combine, "explode": explode, "whoami": whoami}
    return reg


def _start(env: Env, reg: Registry, **kw: Any) -> duroxide.Runtime:
    rt = duroxide.Runtime(env.provider, fast_options(**kw), registry=reg)
    assert isinstance(env.make_runtime, RuntimeFactory)
    env.make_runtime.runtimes.append(rt)
    rt.start()
    return rt


def test_task_keeps_signature_and_returns_handle() -> None:
    reg = _make_registry(Calls())
    compile = reg.tasks["compile"]  # type: ignore[attr-defined]
    assert str(inspect.signature(compile)) == "(src: 'str', flags: 'Any' = None) -> 'str'"
    assert compile.__name__ == "compile"
    h = compile("a.cpp")
    assert isinstance(h, duroxide.TaskHandle) and h.state == "pending"
    assert "compile" in reg.activity_names() and "zip" in reg.activity_names()


def test_diamond_and_shared_node_runs_once(genv: Env) -> None:
    calls = Calls()
    reg = _make_registry(calls)
    t = reg.tasks  # type: ignore[attr-defined]

    @reg.register_orchestration("Diamond")
    def diamond(ctx: Any, inp: Any) -> Any:
        src = t["compile"]("root.cpp")              # shared by both branches
        left = t["zip"](src, "left")
        right = t["zip"](src, "right")
        joined = t["zip"](left, right)
        result = yield t["upload"](joined)
        again = yield src                           # already resolved: nothing runs
        return [result, again]

    _start(genv, reg)
    genv.client.start_orchestration("diamond", "Diamond", None)
    result = wait_done(genv.client, "diamond", 20000)
    assert result.status == "Completed", result.error
    assert result.output == ["uploaded:root.cpp.o+left.zip+root.cpp.o+right.zip.zip",
                             "root.cpp.o"]
    assert calls.count(lambda c: c[0] == "compile") == 1
    assert calls.count(lambda c: c[0] == "zip") == 3
    graph = genv.client.get_graph("diamond")
    assert [n["task"] for n in graph["nodes"]] == ["compile", "zip", "zip", "zip", "upload"]
    assert set(graph["edges"]) == {(0, 1), (0, 2), (1, 3), (2, 3), (3, 4)}
    assert all(n["status"] == "completed" and n["worker"] and n["attempts"] == 1
               for n in graph["nodes"])


def test_independent_nodes_run_in_parallel_and_ready_nodes_start_early(genv: Env) -> None:
    reg = Registry()
    started = {}

    @reg.task()
    def slow(label: str) -> str:
        started[label] = time.monotonic()
        time.sleep(0.6)
        return label

    @reg.task()
    def fast(label: str) -> str:
        started[label] = time.monotonic()
        return label

    @reg.task()
    def after(x: str) -> str:
        started["after-" + x] = time.monotonic()
        return "after-" + x

    @reg.register_orchestration("Parallel")
    def parallel(ctx: Any, inp: Any) -> Any:
        results = yield ctx.all([slow("s"), after(fast("f"))])
        return [r["ok"] for r in results]

    _start(genv, reg, worker_concurrency=4)
    genv.client.start_orchestration("par", "Parallel", None)
    result = wait_done(genv.client, "par", 20000)
    assert result.status == "Completed", result.error
    assert result.output == ["s", "after-f"]
    # `after` depended only on `fast`: it started while `slow` was still running.
    assert started["after-f"] < started["s"] + 0.5


def test_nested_handles_in_lists_and_dicts(genv: Env) -> None:
    calls = Calls()
    reg = _make_registry(calls)
    t = reg.tasks  # type: ignore[attr-defined]

    @reg.register_orchestration("Nested")
    def nested(ctx: Any, inp: Any) -> Any:
        a, b = t["compile"]("a.cpp"), t["compile"]("b.cpp")
        r = yield t["combine"]([a, (b, 3)], {"main": a, "deep": {"x": [b]}})
        return r

    _start(genv, reg)
    genv.client.start_orchestration("nested", "Nested", None)
    result = wait_done(genv.client, "nested", 20000)
    assert result.status == "Completed", result.error
    assert result.output == {"items": ["a.cpp.o", ["b.cpp.o", 3]],
                             "mapping": {"main": "a.cpp.o", "deep": {"x": ["b.cpp.o"]}}}
    assert genv.client.get_graph("nested")["nodes"][-1]["deps"] == [0, 1]


def test_failure_stops_dependents_only(genv: Env) -> None:
    calls = Calls()
    reg = _make_registry(calls)
    t = reg.tasks  # type: ignore[attr-defined]

    @reg.register_orchestration("Partial")
    def partial(ctx: Any, inp: Any) -> Any:
        ok_branch = t["upload"](t["compile"]("good.cpp"))
        bad = t["explode"](t["compile"]("bad.cpp"))
        doomed = t["upload"](t["zip"](bad))
        results = yield ctx.all([ok_branch, doomed])
        try:
            yield doomed
        except duroxide.GraphNodeFailedError as exc:
            caught = {"task": exc.task, "cause": exc.cause_task, "msg": str(exc)}
        still = yield ok_branch
        return {"results": results, "caught": caught, "still": still}

    _start(genv, reg)
    genv.client.start_orchestration("partial", "Partial", None)
    result = wait_done(genv.client, "partial", 20000)
    assert result.status == "Completed", result.error
    out = result.output
    assert out["results"][0] == {"ok": "uploaded:good.cpp.o"}
    assert "explode" in out["results"][1]["err"]
    assert out["caught"]["task"] == "upload" and out["caught"]["cause"] == "explode"
    assert "'explode'" in out["caught"]["msg"] and "not run" in out["caught"]["msg"]
    assert out["still"] == "uploaded:good.cpp.o"
    assert calls.count(lambda c: c[0] == "zip") == 0
    assert calls.count(lambda c: c == ("upload", "good.cpp.o")) == 1
    statuses = {(n["task"], n["status"]) for n in genv.client.get_graph("partial")["nodes"]}
    assert ("explode", "failed") in statuses


def test_yield_raises_error_naming_the_node(genv: Env) -> None:
    reg = _make_registry(Calls())
    t = reg.tasks  # type: ignore[attr-defined]

    @reg.register_orchestration("Fails")
    def fails(ctx: Any, inp: Any) -> Any:
        r = yield t["upload"](t["explode"]("x"))
        return r

    _start(genv, reg)
    genv.client.start_orchestration("fails", "Fails", None)
    result = wait_done(genv.client, "fails", 20000)
    assert result.status == "Failed"
    assert "GraphNodeFailedError" in result.error and "'explode' (node 0) failed" in result.error


def test_submit_then_and_get_graph(genv: Env) -> None:
    calls = Calls()
    reg = _make_registry(calls)
    t = reg.tasks  # type: ignore[attr-defined]
    _start(genv, reg)
    job = genv.client.submit(t["upload"](t["zip"](t["compile"]("a.cpp"), t["compile"]("b.cpp"))))
    result = genv.client.wait_for_orchestration(job, 20000)
    assert result.status == "Completed", result.error
    assert result.output == "uploaded:a.cpp.o+b.cpp.o.zip"
    graph = genv.client.get_graph(job)
    assert [n["task"] for n in graph["nodes"]] == ["compile", "compile", "zip", "upload"]
    assert sorted(graph["edges"]) == [(0, 2), (1, 2), (2, 3)]
    node = graph["nodes"][0]
    assert node["input"] == "('a.cpp')" and node["status"] == "completed"
    assert node["start"] <= node["end"] and node["worker"].startswith("work-")

    job2 = genv.client.submit(t["compile"]("c.cpp").then(t["upload"]))
    assert genv.client.wait_for_orchestration(job2, 20000).output == "uploaded:c.cpp.o"
    failing = genv.client.submit(t["upload"](t["explode"]("boom")))
    failed = genv.client.wait_for_orchestration(failing, 20000)
    assert failed.status == "Failed" and "explode" in failed.error
    statuses = [n["status"] for n in genv.client.get_graph(failing)["nodes"]]
    assert statuses == ["failed", "skipped"]


def test_ctx_all_then_chains_like_promise_all(genv: Env) -> None:
    calls = Calls()
    reg = _make_registry(calls)
    t = reg.tasks  # type: ignore[attr-defined]

    @reg.register_orchestration("Chain")
    def chain(ctx: Any, inp: Any) -> Any:
        bundle = ctx.all([t["compile"]("x.cpp"), t["compile"]("y.cpp")]).then(t["combine_list"])
        r = yield bundle.then(t["upload"])
        return r

    @reg.task(name="combine_list")
    def combine_list(files: List[str]) -> str:
        return "|".join(files)

    t["combine_list"] = combine_list
    _start(genv, reg)
    genv.client.start_orchestration("chain", "Chain", None)
    result = wait_done(genv.client, "chain", 20000)
    assert result.status == "Completed", result.error
    assert result.output == "uploaded:x.cpp.o|y.cpp.o"


def test_current_activity_inside_task(genv: Env) -> None:
    reg = _make_registry(Calls())
    _start(genv, reg)
    job = genv.client.submit(reg.tasks["whoami"]())  # type: ignore[attr-defined]
    assert genv.client.wait_for_orchestration(job, 20000).output == "whoami"


def test_tasks_are_routed_by_requires(genv: Env) -> None:
    reg = Registry()

    @reg.task(requires={"properties": {"os": {"const": "windows"}}, "required": ["os"]})
    def build(src: str) -> str:
        return duroxide.current_activity().worker_id

    linux = _start(genv, reg, capabilities={"os": "linux"})
    job = genv.client.submit(build("a.cpp"))
    wait_until(lambda: len(genv.client.list_waiting_activities()) == 1, 10)
    windows = _start(genv, reg, capabilities={"os": "windows"}, orchestration_concurrency=0)
    result = genv.client.wait_for_orchestration(job, 20000)
    assert result.status == "Completed", result.error
    assert result.output.endswith(windows._native.runtime_id)
    assert not result.output.endswith(linux._native.runtime_id)


def test_cache_hits_across_instances_and_expires(genv: Env) -> None:
    reg = Registry()
    runs = Calls()

    @reg.task(cache={"ttl_s": 1.5})
    def expensive(x: int) -> int:
        runs.add(x)
        return x * 10

    @reg.task()
    def plain(x: int, key: str) -> int:
        runs.add(("plain", x))
        return x

    _start(genv, reg)
    c = genv.client
    first = c.submit(expensive(4))
    assert c.wait_for_orchestration(first, 20000).output == 40
    second = c.submit(expensive(4))
    assert c.wait_for_orchestration(second, 20000).output == 40
    assert runs.count() == 1
    node = c.get_graph(second)["nodes"][0]
    assert node["status"] == "cached" and node["cache_hit"] is True
    assert c.get_graph(first)["nodes"][0]["cache_hit"] is False
    assert c.wait_for_orchestration(c.submit(expensive(5)), 20000).output == 50
    assert runs.count() == 2
    time.sleep(1.6)  # the TTL passed: it runs again
    assert c.wait_for_orchestration(c.submit(expensive(4)), 20000).output == 40
    assert runs.count() == 3
    # clear_task_cache empties it; per-call cache_key caches a task without cache options.
    assert c.clear_task_cache("expensive") >= 1
    assert c.wait_for_orchestration(c.submit(expensive(4)), 20000).output == 40
    assert runs.count() == 4
    for _ in range(2):
        j = c.submit(plain(1, "k", cache_key="same"))
        assert c.wait_for_orchestration(j, 20000).output == 1
    assert runs.count(lambda r: r == ("plain", 1)) == 1
    assert c.clear_task_cache() >= 2


def test_graph_cli_text_and_dot(genv: Env, capsys: Any) -> None:
    from duroxide.cli.graphs import graph_dot, graph_text

    reg = _make_registry(Calls())
    t = reg.tasks  # type: ignore[attr-defined]
    _start(genv, reg)
    job = genv.client.submit(t["upload"](t["compile"]("a.cpp")))
    genv.client.wait_for_orchestration(job, 20000)
    graph = genv.client.get_graph(job)
    text = graph_text(graph)
    assert "compile('a.cpp')" in text and "after #0" in text and "completed" in text
    dot = graph_dot(graph)
    assert dot.startswith("digraph") and "n0 -> n1;" in dot


def test_graph_cli_command(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    provider = SqliteProvider.open(str(db))
    reg = _make_registry(Calls())
    t = reg.tasks  # type: ignore[attr-defined]
    rt = duroxide.Runtime(provider, fast_options(), registry=reg)
    rt.start()
    try:
        client = Client(provider)
        job = client.submit(t["upload"](t["compile"]("a.cpp")))
        client.wait_for_orchestration(job, 20000)
    finally:
        rt.shutdown(3000)
    cmd = [sys.executable, "-m", "duroxide", "--db", str(db), "graph", job]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "compile('a.cpp')" in out.stdout
    out = subprocess.run(cmd + ["--dot"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "digraph" in out.stdout and "n0 -> n1" in out.stdout
    out = subprocess.run([sys.executable, "-m", "duroxide", "--db", str(db), "waiting"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "no activities" in out.stdout


def _markers(marker_dir: Path) -> Counter:
    return Counter(name.split("-")[0] for name in os.listdir(marker_dir))


def test_sigkill_mid_graph_reruns_nothing_completed(tmp_path: Path) -> None:
    db_path = tmp_path / "crash.db"
    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()
    provider = SqliteProvider.open(str(db_path))
    client = Client(provider)
    client.start_orchestration("pipe", "Pipeline", None)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(duroxide.__file__).resolve().parent.parent),
                    str(Path(__file__).resolve().parent), env.get("PYTHONPATH", "")) if p)
    child = subprocess.Popen(
        [sys.executable, str(Path(graph_crash_worker.__file__)), str(db_path), str(marker_dir)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"started"
        assert wait_until(lambda: len(os.listdir(marker_dir)) >= 4, timeout_s=30)
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        if child.stdout is not None:
            child.stdout.close()
    total = graph_crash_worker.WIDTH * graph_crash_worker.DEPTH
    before = _markers(marker_dir)
    assert sum(before.values()) < total, "the child finished before it was killed"
    events = [json.loads(e) for e in duroxide._core._read_history_json(provider._native,
                                                                        "pipe", 0)]
    labels = {e["event_id"]: json.loads(e["input"])["args"][0]
              for e in events if e["type"] == "ActivityScheduled"}
    done_before = {labels[e["source_event_id"]] for e in events
                   if e["type"] == "ActivityCompleted"}
    assert done_before, "no node completed before the kill"

    graph_crash_worker.configure(str(marker_dir), 0.0)
    rt = duroxide.Runtime(provider, graph_crash_worker.options(),
                          registry=graph_crash_worker.registry)
    rt.start()
    try:
        result = client.wait_for_orchestration("pipe", 30000)
    finally:
        rt.shutdown(3000)
    assert result.status == "Completed", result.error
    last = graph_crash_worker.DEPTH - 1
    assert result.output == [f"L{last}N{i}" for i in range(graph_crash_worker.WIDTH)]
    after = _markers(marker_dir)
    assert set(after) == {f"L{lv}N{i}" for lv in range(graph_crash_worker.DEPTH)
                          for i in range(graph_crash_worker.WIDTH)}
    # Nodes whose completion was recorded never ran again; only those in flight may have.
    for label in done_before:
        assert after[label] == before[label] == 1, label
    graph = client.get_graph("pipe")
    assert all(n["attempts"] == 1 for n in graph["nodes"])


from helpers.styles import add_async_variants  # noqa: E402

add_async_variants(globals())
