"""Moving a store (issue 29, docs/dump-format.md): a SQLite store with every kind of state
mid-flight migrated to a real PostgreSQL and finished there with the same outputs as the
SQLite control; the reverse direction for one instance; round-trip digests; an import killed
with SIGKILL and resumed; the safety refusals and the bad inputs."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Dict, List

import duroxide
import pytest
from conftest import fast_options
from duroxide import (
    Client,
    FailedPreconditionError,
    InvalidArgumentError,
    Registry,
    Runtime,
    SqliteProvider,
    TagFilter,
)
from duroxide.migration import store_digests, verify_stores
from helpers.util import wait_done, wait_until

ROOT = Path(__file__).resolve().parents[1]
LINUX = {"type": "object", "properties": {"os": {"const": "linux"}}, "required": ["os"]}
INSTANCES = ["timer", "act-1", "act-2", "evt", "inbox", "sub", "quick", "graph", "echo-1",
             "asker"]


def scenario_registry(gate: threading.Event, gate_started: List[str]) -> Registry:
    reg = Registry()

    @reg.register_activity("Gate")
    def gate_fn(ctx: Any, x: Any) -> str:
        gate_started.append(x)
        gate.wait(60)
        return f"gated-{x}"

    @reg.task()
    def compile(src: str) -> str:
        return src + ".o"

    @reg.task(requires=LINUX)
    def link(obj: str) -> str:
        return "linked:" + obj

    @reg.register_orchestration("Timer")
    def timer(ctx: Any, _: Any) -> Any:
        ctx.set_kv_value("phase", "waiting")
        ctx.set_custom_status("ready")
        yield ctx.schedule_timer(2500)
        return ["timer-done", ctx.get_kv_value("phase")]

    @reg.register_orchestration("Act")
    def act(ctx: Any, x: Any) -> Any:
        ctx.set_custom_status("ready")
        r = yield ctx.schedule_activity("Gate", x).with_tag("slow")
        return r

    @reg.register_orchestration("Evt")
    def evt(ctx: Any, _: Any) -> Any:
        ctx.set_custom_status("ready")
        ev = yield ctx.wait_for_event("go")
        return ["evt", ev]

    @reg.register_orchestration("Inbox")
    def inbox(ctx: Any, _: Any) -> Any:
        ctx.set_custom_status("ready")
        msg = yield ctx.receive_message("inbox")
        return msg.data

    @reg.register_orchestration("Sub")
    def sub(ctx: Any, _: Any) -> Any:
        ctx.subscribe("news")
        ctx.set_custom_status("ready")
        msg = yield ctx.receive_message("news")
        return [msg.data, msg.topic]

    @reg.register_orchestration("Quick")
    def quick(ctx: Any, _: Any) -> Any:
        ctx.send_message("nobody", "inbox", {"lost": True})
        ctx.set_custom_status("ready")
        return "quick"
        yield  # unreachable: makes this a generator

    @reg.register_orchestration("Graph")
    def graph(ctx: Any, src: str) -> Any:
        obj = yield compile(src)
        ctx.set_custom_status("ready")
        out = yield link(obj)
        return out

    @reg.register_orchestration("Echo")
    def echo(ctx: Any, _: Any) -> Any:
        ctx.set_custom_status("ready")
        yield ctx.wait_for_event("open")
        req = yield ctx.receive_request("echo")
        ctx.reply(req, {"echo": req.data})
        return "echoed"

    @reg.register_orchestration("Asker")
    def asker(ctx: Any, _: Any) -> Any:
        ctx.set_custom_status("ready")
        r = yield ctx.request("echo-1", "echo", "hi", timeout_ms=120000)
        return r

    counter = reg.register_actor("Counter")

    @counter.on_message
    def count(ctx: Any, state: Dict[str, Any], msg: Any) -> Any:
        state["n"] = state.get("n", 0) + (msg.data or 0)
        return state["n"]

    return reg


def _finish_options(**kw: Any) -> Any:
    return fast_options(worker_tag_filter=TagFilter.default_and(["slow"]),
                        capabilities={"os": "linux"}, **kw)


def _outputs(client: Client, ids: List[str]) -> Dict[str, Any]:
    out = {}
    for i in ids:
        r = wait_done(client, i, 90000)
        out[i] = (r.status, r.output)
    return out


def build_midflight(path: str, gate: threading.Event, started: List[str]) -> Any:
    """A SQLite store with every kind of state mid-flight; returns (provider, r2): r2 is a
    runtime still holding one Gate activity leased (the other one is queued)."""
    src = SqliteProvider.open(path)
    client = Client(src)
    r1 = Runtime(src, fast_options(), registry=scenario_registry(gate, started))
    r1.start()
    starts = {"timer": "Timer", "act-1": "Act", "act-2": "Act", "evt": "Evt", "inbox": "Inbox",
              "sub": "Sub", "quick": "Quick", "graph": "Graph", "echo-1": "Echo",
              "asker": "Asker"}
    for iid, name in starts.items():
        client.start_orchestration(iid, name, "a.c" if name == "Graph" else iid)
    for iid in starts:
        assert wait_until(lambda iid=iid: client.get_status(iid).custom_status
                          == "ready", 60000), iid
    assert wait_until(lambda: len(client.list_dead_letters()) >= 1, 60000)
    r1.shutdown(3000)
    # Buffered while no orchestration dispatcher runs.
    client.raise_event("evt", "go", {"v": 1})
    client.send_message("inbox", "inbox", "hello")
    client.publish_event("news", "headline")
    client.actor("Counter", "c1").send(3)
    client.raise_event("echo-1", "open", None)
    # Activities only, tag "slow", one slot: one Gate leased, the other queued.
    r2 = Runtime(src, fast_options(orchestration_concurrency=0, worker_concurrency=1,
                                   worker_tag_filter=TagFilter.tags(["slow"])),
                 registry=scenario_registry(gate, started))
    r2.start()
    assert wait_until(lambda: len(started) >= 1, 60000)
    client.close()
    return src, r2


def test_midflight_sqlite_store_migrated_to_postgres_finishes_like_the_control(
        tmp_path: Path, pg_url: str, pg_schema: str) -> None:
    gate = threading.Event()
    started: List[str] = []
    src, r2 = build_midflight(str(tmp_path / "src.db"), gate, started)
    dst = duroxide.PostgresProvider.connect_with_schema(pg_url, pg_schema)
    runtimes = [r2]
    try:
        # A live worker holds a lease: refused without force.
        with pytest.raises(FailedPreconditionError, match="workers are active"):
            duroxide.migrate(src, dst)
        report = duroxide.migrate(src, dst, force=True, workdir=str(tmp_path))
        assert report.verified is True, report.summary()
        assert report.instances_copied == len(INSTANCES)
        c = report.counts
        # Two Gate activities (one leased, one queued), and the graph's link node unless its
        # routing has not stored it yet (the verification compares the exact counts).
        assert c["worker_queue"] >= 2, c
        assert c["subscriptions"] == 1 and c["topic_log"] == 1, c
        assert c["dead_letters"] >= 1 and c["schemas"] >= 1, c
        assert c["kv_store"] + c["kv_delta"] >= 1, c
        assert c["orchestrator_queue"] >= 6, c  # the timer, event, message, actor start, ...
        assert not list(tmp_path.glob("duroxide-migrate-*"))  # the intermediate dump is gone
        # The same state on both sides: control on SQLite, the copy on PostgreSQL.
        gate.set()
        for provider in (src, dst):
            rt = Runtime(provider, _finish_options(),
                         registry=scenario_registry(gate, started))
            runtimes.append(rt)
            rt.start()
        control = _outputs(Client(src), INSTANCES)
        copied = _outputs(Client(dst), INSTANCES)
        assert copied == control
        assert control["act-1"] == ("Completed", "gated-act-1")
        assert control["sub"] == ("Completed", ["headline", "news"])
        assert control["asker"] == ("Completed", {"echo": "hi"})
        assert control["graph"] == ("Completed", "linked:a.c.o")
        for provider in (src, dst):  # the actor's buffered message, on both sides
            ref = Client(provider).actor("Counter", "c1")
            assert wait_until(lambda ref=ref: ref.state() == {"n": 3}, 60000)
        # The reverse direction for one instance: PostgreSQL -> a new SQLite file.
        back = SqliteProvider.open(str(tmp_path / "back.db"))
        duroxide.export_store(dst, str(tmp_path / "one.gz"), instance_ids=["asker"])
        rep = duroxide.import_store(back, str(tmp_path / "one.gz"))
        assert rep.instances == 1
        assert store_digests(back._native, ["asker"]) == store_digests(dst._native, ["asker"])
        assert Client(back).get_status("asker").output == {"echo": "hi"}
    finally:
        gate.set()
        for rt in runtimes:
            rt.shutdown(3000)
        dst.close()
        src.close()


def _quiet_store(path: str, n: int = 20) -> SqliteProvider:
    """A store at rest with running and finished instances, timers, KV and queued work."""
    p = SqliteProvider.open(path)
    reg = Registry()

    @reg.register_orchestration("T")
    def t(ctx: Any, x: int) -> Any:
        ctx.set_kv_value("x", str(x))
        if x % 2:
            return x
        ctx.set_custom_status("ready")
        yield ctx.schedule_timer(600000)
        r = yield ctx.schedule_activity("Add", x)
        return r

    rt = Runtime(p, fast_options(worker_concurrency=0), registry=reg)
    rt.start()
    c = Client(p)
    for i in range(n):
        c.start_orchestration(f"i-{i:03d}", "T", i)
    def settled(i: int) -> bool:
        st = c.get_status(f"i-{i:03d}")
        return st.status == "Completed" if i % 2 else st.custom_status == "ready"

    assert wait_until(lambda: all(settled(i) for i in range(n)), 60000)
    rt.shutdown(2000)
    return p


def test_round_trip_sqlite_postgres_sqlite_keeps_digests(tmp_path: Path, pg_url: str,
                                                         pg_schema: str) -> None:
    src = _quiet_store(str(tmp_path / "a.db"))
    pg = duroxide.PostgresProvider.connect_with_schema(pg_url, pg_schema)
    back = str(tmp_path / "b.db")
    try:
        assert duroxide.migrate(src, pg).verified
        report = duroxide.migrate(pg, back)
        assert report.verified, report.summary()
        ids = [f"i-{i:03d}" for i in range(20)]
        b = SqliteProvider.open(back)
        assert store_digests(src._native, ids) == store_digests(b._native, ids)
        assert len(store_digests(src._native, ids)) == 20
        assert verify_stores(src, b).ok
        b.close()
    finally:
        pg.close()
        src.close()


def test_target_with_instances_refused_unless_merge(tmp_path: Path) -> None:
    src = _quiet_store(str(tmp_path / "a.db"), 6)
    dst = _quiet_store(str(tmp_path / "b.db"), 3)  # i-000..i-002 exist in both
    before = store_digests(dst._native, ["i-000"])
    with pytest.raises(FailedPreconditionError, match="already holds instances"):
        duroxide.migrate(src, dst)
    report = duroxide.migrate(src, dst, merge=True)
    assert report.skipped == ["i-000", "i-001", "i-002"]
    assert report.instances_copied == 3 and report.verified
    assert store_digests(dst._native, ["i-000"]) == before
    src.close()
    dst.close()


def test_cli_export_import_migrate(tmp_path: Path) -> None:
    _quiet_store(str(tmp_path / "a.db"), 5).close()
    dump = str(tmp_path / "d.gz")

    def run(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "PYTHONPATH": str(Path(duroxide.__file__).parent.parent)}
        return subprocess.run([sys.executable, "-m", "duroxide", *args], capture_output=True,
                              text=True, cwd=ROOT, env=env)

    r = run("export", "--db", str(tmp_path / "a.db"), "--out", dump, "--status", "Running")
    assert r.returncode == 0, r.stderr
    assert "exported 3 instances" in r.stdout  # i-000, i-002 and i-004 are running
    r = run("import", "--db", str(tmp_path / "b.db"), "--in", dump)
    assert r.returncode == 0, r.stderr
    r = run("migrate", "--from", str(tmp_path / "a.db"), "--to", str(tmp_path / "c.db"))
    assert r.returncode == 0, r.stderr
    assert "migrated 5 instances" in r.stdout and "verified" in r.stdout
    r = run("migrate", "--from", str(tmp_path / "a.db"), "--to", str(tmp_path / "c.db"))
    assert r.returncode == 1 and "already holds instances" in r.stderr


# ---- interrupted import -----------------------------------------------------------------------

_KILLER = """
import os, signal, sys
import duroxide.migration as m
from duroxide.migration import _dumpfile
_dumpfile.BLOCK_ROWS = 7
blocks = [0]
orig = m._core._dump_importer
class Killer:
    def __init__(self, inner):
        self.inner = inner
    def __getattr__(self, name):
        return getattr(self.inner, name)
    def insert(self, block, where):
        self.inner.insert(block, where)
        blocks[0] += 1
        if blocks[0] == 5:
            os.kill(os.getpid(), signal.SIGKILL)
m._core = type("C", (), {"_dump_importer": staticmethod(lambda *a: Killer(orig(*a))),
                         "_dump_exporter": m._core._dump_exporter})
m.import_store(sys.argv[1], sys.argv[2])
"""


def test_import_killed_midway_resumes_and_runtime_refuses_meanwhile(tmp_path: Path) -> None:
    src = _quiet_store(str(tmp_path / "a.db"), 30)
    dump = str(tmp_path / "d.gz")
    duroxide.export_store(src, dump)
    target = str(tmp_path / "t.db")
    proc = subprocess.run([sys.executable, "-c", _KILLER, target, dump], cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(Path(duroxide.__file__).parent.parent)})
    assert proc.returncode == -signal.SIGKILL
    t = SqliteProvider.open(target)
    rt = Runtime(t, fast_options())
    with pytest.raises(FailedPreconditionError, match="unfinished import"):
        rt.start()
    rt.close()
    # Another dump is refused while this one is unfinished.
    other = str(tmp_path / "o.gz")
    duroxide.export_store(src, other)
    with pytest.raises(FailedPreconditionError, match="unfinished import"):
        duroxide.import_store(t, other)
    report = duroxide.import_store(t, dump)
    assert report.resumed
    assert verify_stores(src, t).ok
    rt = Runtime(t, fast_options())
    rt.start()
    rt.shutdown(1000)
    t.close()
    src.close()


# ---- bad input ------------------------------------------------------------------------------


def _rewrite(src: str, dst: str, edit: Any) -> None:
    with gzip.open(src, "rb") as f:
        lines = f.read().split(b"\n")
    with gzip.open(dst, "wb") as f:
        f.write(b"\n".join(edit(lines)))


def _empty_target_untouched(path: Path) -> None:
    t = SqliteProvider.open(str(path))
    assert store_digests(t._native, ["i-000"]) == {}
    assert duroxide.migration._stores.import_marker(t) is None
    t.close()


@pytest.mark.parametrize("case", ["newer", "truncated", "corrupt-row", "corrupt-gzip",
                                  "not-a-dump", "missing-end"])
def test_bad_dumps_are_refused_naming_file_and_line(tmp_path: Path, case: str) -> None:
    src = _quiet_store(str(tmp_path / "a.db"), 4)
    good = str(tmp_path / "good.gz")
    duroxide.export_store(src, good)
    src.close()
    bad = str(tmp_path / "bad.gz")
    if case == "newer":
        def edit(lines: List[bytes]) -> List[bytes]:
            h = json.loads(lines[0])
            h["version"] = 99
            return [json.dumps(h).encode()] + lines[1:]
        _rewrite(good, bad, edit)
        match = "line 1: dump format version 99 is newer"
    elif case == "truncated":
        raw = Path(good).read_bytes()
        Path(bad).write_bytes(raw[: len(raw) // 2])
        match = "truncated"
    elif case == "corrupt-row":
        _rewrite(good, bad, lambda ls: ls[:3] + [b'["i-000", oops'] + ls[4:])
        match = "line 4: not valid JSON"
    elif case == "corrupt-gzip":
        raw = bytearray(Path(good).read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        Path(bad).write_bytes(bytes(raw))
        match = "corrupt|truncated|line"
    elif case == "not-a-dump":
        with gzip.open(bad, "wb") as f:
            f.write(b'{"hello": 1}\n')
        match = "line 1: not a duroxide dump"
    else:
        _rewrite(good, bad, lambda ls: [x for x in ls if not x.startswith(b'{"end"')])
        match = "end record is missing"
    with pytest.raises(InvalidArgumentError, match=match) as info:
        duroxide.import_store(str(tmp_path / "t.db"), bad)
    assert "bad.gz" in str(info.value)
    _empty_target_untouched(tmp_path / "t.db")


def test_bad_stores_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="unknown store URL scheme 'mysql'"):
        duroxide.migrate("mysql://h/db", str(tmp_path / "t.db"))
    with pytest.raises(InvalidArgumentError, match="no such SQLite store"):
        duroxide.migrate(str(tmp_path / "missing.db"), str(tmp_path / "t.db"))
    (tmp_path / "foreign.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(duroxide.StoreError):
        duroxide.migrate(str(tmp_path / "foreign.db"), str(tmp_path / "t.db"))
    assert not (tmp_path / "t.db").exists() or store_digests(
        SqliteProvider.open(str(tmp_path / "t.db"))._native, ["x"]) == {}
    with pytest.raises(InvalidArgumentError, match="status"):
        duroxide.export_store(str(tmp_path / "t.db"), str(tmp_path / "d.gz"), status="Bogus")
