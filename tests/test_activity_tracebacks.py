"""A failed activity keeps its traceback (docs/operations.md, "Activity tracebacks"): in the
ActivityFailed history event, as ActivityFailedError.traceback in the orchestration, in the
orchestration's error when it does not catch it, in the REST history and in the CLI; root
cause first and duroxide's own frames last, bounded to 8 KiB. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import duroxide
import pytest
from conftest import fast_options
from duroxide import Client, Registry, Runtime, SqliteProvider
from duroxide.worker.tracebacks import (
    MAX_TRACEBACK_BYTES,
    collapse_engine_frames,
    event_traceback,
    root_cause_first,
)
from helpers.util import wait_done

ENGINE_NOTE = "  -- duroxide's own frames --"


@pytest.fixture(params=["file", "postgres"])
def store(request: Any, tmp_path: Path) -> Iterator[Any]:
    if request.param == "file":
        provider = SqliteProvider.open(str(tmp_path / "tb.db"))
    else:
        provider = duroxide.PostgresProvider.connect_with_schema(
            request.getfixturevalue("pg_url"), request.getfixturevalue("pg_schema"))
    yield provider
    provider.close()


def _validate_card(card: str) -> None:
    raise RuntimeError(f"card declined: {card}")


def _charge(ctx: Any, card: str) -> str:
    _validate_card(card)
    return "charged"


async def _charge_async(ctx: Any, card: str) -> str:
    _validate_card(card)
    return "charged"


def _deep(n: int) -> None:
    if n == 0:
        raise ValueError("x" * 20000)
    _deep(n - 1)


def _runtime(provider: Any) -> Runtime:
    rt = Runtime(provider, fast_options())
    rt.register_activity("Charge", _charge)
    rt.register_activity("ChargeAsync", _charge_async)
    rt.register_activity("Deep", lambda ctx, n: _deep(n))

    @rt.register_orchestration("Catches")
    def catches(ctx: Any, activity: str) -> Any:
        try:
            yield ctx.schedule_activity(activity, "4242")
        except duroxide.ActivityFailedError as exc:
            return {"message": exc.message, "traceback": exc.traceback}
        return None

    @rt.register_orchestration("LetsItThrough")
    def lets_it_through(ctx: Any, activity: str) -> Any:
        result = yield ctx.schedule_activity(activity, "4242")
        return result

    @rt.register_orchestration("Deep")
    def deep(ctx: Any, n: int) -> Any:
        try:
            yield ctx.schedule_activity("Deep", n)
        except duroxide.ActivityFailedError as exc:
            return exc.traceback
        return None

    return rt


def _frames(text: str) -> list:
    """The function names of the frames in `text`, in order, and the engine note."""
    out = []
    for line in text.splitlines():
        if line == ENGINE_NOTE:
            out.append("ENGINE")
        elif line.startswith('  File "'):
            out.append(line.rsplit(" in ", 1)[1])
    return out


@pytest.mark.parametrize("activity", ["Charge", "ChargeAsync"])
def test_caught_failure_carries_the_traceback_root_cause_first(store: Any, activity: str) -> None:
    client = Client(store)
    rt = _runtime(store)
    rt.start()
    try:
        client.start_orchestration("tb-1", "Catches", activity)
        out = wait_done(client, "tb-1").output
    finally:
        rt.shutdown(3000)
    assert out["message"] == "card declined: 4242"
    tb = out["traceback"]
    assert tb.splitlines()[0] == "RuntimeError: card declined: 4242"
    frames = _frames(tb)
    # The raise site first, then its caller (the activity), then duroxide's own frames.
    assert frames[:2] == ["_validate_card", "_charge_async" if activity == "ChargeAsync"
                          else "_charge"], tb
    assert "ENGINE" in frames and all(f != "_charge" for f in frames[frames.index("ENGINE"):])
    # The same text is in the ActivityFailed event ("traceback" next to "message").
    events = client.read_execution_history("tb-1", 1)
    failed = [e for e in events if e.kind == "ActivityFailed"]
    assert len(failed) == 1
    body = json.loads(failed[0].data)["Application"]
    assert body["message"].endswith("card declined: 4242") and body["traceback"] == tb
    assert event_traceback(failed[0].kind, failed[0].data) == tb


def test_uncaught_failure_shows_the_activity_traceback_to_the_client(store: Any) -> None:
    client = Client(store)
    rt = _runtime(store)
    rt.start()
    try:
        client.start_orchestration("tb-2", "LetsItThrough", "Charge")
        result = wait_done(client, "tb-2")
    finally:
        rt.shutdown(3000)
    assert result.status == "Failed"
    error = result.error
    # Like Python's chained tracebacks: the cause (the activity) first, and the last line is
    # still the exception the orchestration raised.
    assert error.startswith("The failed activity's traceback (root cause first):\n"
                            "RuntimeError: card declined: 4242\n")
    assert error.strip().splitlines()[-1].endswith(
        "ActivityFailedError: Activity 'Charge' call failed: RuntimeError: card declined: 4242")
    shown = root_cause_first(error)
    lines = shown.splitlines()
    assert lines[0].endswith("RuntimeError: card declined: 4242")
    frames = _frames(shown)
    # Activity frames, then the orchestration's, then every duroxide frame once, at the end.
    assert frames[:3] == ["_validate_card", "_charge", "lets_it_through"], shown
    assert frames.count("ENGINE") == 1 and frames[-1] != "ENGINE"
    assert frames.index("ENGINE") == 3
    collapsed = collapse_engine_frames(shown).splitlines()
    assert collapsed[-1].startswith("  -- and ") and "duroxide's own frames" in collapsed[-1]
    assert not any("duroxide/worker/" in line for line in collapsed)


def test_traceback_is_bounded(store: Any) -> None:
    client = Client(store)
    rt = _runtime(store)
    rt.start()
    try:
        client.start_orchestration("tb-3", "Deep", 50)
        tb = wait_done(client, "tb-3").output
    finally:
        rt.shutdown(3000)
    assert len(tb.encode()) <= MAX_TRACEBACK_BYTES
    assert tb.startswith("ValueError: xxx") and tb.endswith("(traceback truncated)")


def test_failures_without_a_traceback_still_decode(store: Any) -> None:
    """An ActivityFailed event written before tracebacks were kept (no "traceback" key)
    decodes and replays: the orchestration catches it with traceback == ""."""
    from duroxide.testing import replay

    client = Client(store)
    rt = _runtime(store)
    rt.start()
    try:
        client.start_orchestration("tb-old", "Catches", "Charge")
        assert wait_done(client, "tb-old").output["traceback"]
    finally:
        rt.shutdown(3000)
    old = []
    for e in client.read_execution_history("tb-old", 1):
        raw, data = e.raw, e.data
        if e.kind == "ActivityFailed":  # as the event was stored before this change
            stored = json.loads(e.raw)
            del stored["details"]["Application"]["traceback"]
            raw, data = json.dumps(stored), json.dumps(stored["details"])
        old.append(duroxide.Event(e.event_id, e.kind, e.source_event_id, e.timestamp_ms, data,
                                  raw))
    reg = Registry()
    seen = []

    @reg.register_orchestration("Catches")
    def catches(ctx: Any, activity: str) -> Any:
        try:
            yield ctx.schedule_activity(activity, "4242")
        except duroxide.ActivityFailedError as exc:
            seen.append(exc.traceback)
            return {"message": exc.message, "traceback": exc.traceback}
        return None

    result = replay(old, reg, instance_id="tb-old")
    assert seen == [""]
    failed = [e for e in old if e.kind == "ActivityFailed"]
    assert event_traceback(failed[0].kind, failed[0].data) is None
    assert result is not None


def test_rest_history_and_cli_show_the_traceback(store: Any, tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from helpers.live_server import LiveServer

    client = Client(store)
    rt = _runtime(store)
    rt.start()
    try:
        client.start_orchestration("tb-4", "LetsItThrough", "Charge")
        assert wait_done(client, "tb-4").status == "Failed"
    finally:
        rt.shutdown(3000)
    with LiveServer(client) as server:
        import urllib.request

        with urllib.request.urlopen(
                f"{server.url}/v1/instances/tb-4/executions/1/history") as answer:
            events = json.loads(answer.read())
        http = duroxide.HttpClient(server.url)
        try:
            via_http = http.read_execution_history("tb-4", 1)
        finally:
            http.close()
    failed = [e for e in events if e["kind"] == "ActivityFailed"]
    assert failed[0]["traceback"].startswith("RuntimeError: card declined: 4242")
    assert all(e["traceback"] is None for e in events if e["kind"] != "ActivityFailed")
    assert [e.data for e in via_http] == [e.data for e in client.read_execution_history("tb-4", 1)]
    if not isinstance(store, SqliteProvider):
        return  # the CLI part needs a store path; the SQLite run covers it
    db = str(tmp_path / "tb.db")
    root = Path(duroxide.__file__).resolve().parent.parent
    env = {"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}
    show = subprocess.run([sys.executable, "-m", "duroxide", "show", "tb-4", "--db", db],
                          capture_output=True, text=True, env=env, timeout=60)
    assert show.returncode == 0, show.stderr
    error_at = show.stdout.index("Error:")
    shown = show.stdout[error_at:]
    assert shown.splitlines()[0].endswith("card declined: 4242")
    assert shown.index("_validate_card") < shown.index("lets_it_through")
    assert "of duroxide's own frames" in shown
    history = subprocess.run([sys.executable, "-m", "duroxide", "history", "tb-4", "--db", db],
                             capture_output=True, text=True, env=env, timeout=60)
    assert history.returncode == 0, history.stderr
    assert "(ActivityFailed) traceback:" in history.stdout
    assert "RuntimeError: card declined: 4242" in history.stdout
    as_json = subprocess.run([sys.executable, "-m", "duroxide", "history", "tb-4", "--db", db,
                              "--json"], capture_output=True, text=True, env=env, timeout=60)
    rows = json.loads(as_json.stdout)
    assert [r["traceback"][:12] for r in rows if "traceback" in r] == ["RuntimeError"]


def test_task_graph_node_traceback_reads_root_cause_first(store: Any) -> None:
    reg = Registry()

    @reg.task()
    def parse(x: Any) -> Any:
        return _validate_card(str(x))

    @reg.register_orchestration("Graph")
    def graph(ctx: Any, _: Any) -> Any:
        try:
            yield parse(1)
        except duroxide.GraphNodeFailedError as exc:
            return str(exc)
        return None

    client = Client(store)
    rt = Runtime(store, fast_options(), registry=reg)
    rt.start()
    try:
        client.start_orchestration("tb-graph", "Graph", None)
        assert "card declined: 1" in wait_done(client, "tb-graph").output
    finally:
        rt.shutdown(3000)
    failed = [e for e in client.read_execution_history("tb-graph", 1)
              if e.kind == "ActivityFailed"]
    tb = event_traceback(failed[0].kind, failed[0].data)
    assert tb is not None and tb.splitlines()[0] == "RuntimeError: card declined: 1"
    frames = _frames(tb)
    # The raise site and the task function first; the graph machinery (workflow/graphs.py,
    # the worker driver) after the engine note.
    assert frames[:2] == ["_validate_card", "parse"], tb
    assert "ENGINE" in frames
    package = str(Path(duroxide.__file__).resolve().parent)
    assert all(package not in line for line in tb.split(ENGINE_NOTE)[0].splitlines()), tb
    assert package in tb.split(ENGINE_NOTE)[1], tb
