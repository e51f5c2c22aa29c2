"""Limits and bad input (issue 17, section 6; docs/reliability.md "Limits").

Each limit gives a clear error at the call site (InvalidArgumentError, nothing written) or,
when user code running inside an instance produced the value, fails the instance cleanly with
a readable "limit" error. Runs on every provider through the `env` fixture.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any, Generator

import pytest

import duroxide
from duroxide import (
    Client,
    DuroxideError,
    InvalidArgumentError,
    ProviderError,
    SqliteProvider,
)
from conftest import Env

SMALL = 64 * 1024  # a small max_payload_bytes so that the tests move little data


def test_documented_defaults() -> None:
    assert duroxide.MAX_PAYLOAD_BYTES == 4 * 1024 * 1024
    assert duroxide.MAX_HISTORY_EVENTS == 50000
    assert duroxide.MAX_INSTANCE_ID_BYTES == 256
    assert duroxide.MAX_NAME_BYTES == 256
    assert issubclass(InvalidArgumentError, DuroxideError)


def test_start_input_over_default_limit_is_rejected(env: Env) -> None:
    big = "x" * (duroxide.MAX_PAYLOAD_BYTES + 1)
    with pytest.raises(InvalidArgumentError, match="payload limit of 4194304 bytes"):
        env.client.start_orchestration("big-1", "Anything", big)
    assert env.client.get_status("big-1").status == "NotFound"


def test_payload_limit_is_configurable_on_the_client(env: Env) -> None:
    client = Client(env.provider, max_payload_bytes=SMALL)
    with pytest.raises(InvalidArgumentError, match="start_orchestration input"):
        client.start_orchestration("cfg-1", "Anything", "y" * SMALL)
    with pytest.raises(InvalidArgumentError, match="raise_event data"):
        client.raise_event("cfg-1", "Ev", "y" * SMALL)
    with pytest.raises(InvalidArgumentError, match="enqueue_event data"):
        client.enqueue_event("cfg-1", "Q", "y" * SMALL)
    with pytest.raises(ValueError):
        Client(env.provider, max_payload_bytes=-1)
    # 0 disables the check.
    Client(env.provider, max_payload_bytes=0).start_orchestration("cfg-2", "Anything", "z" * SMALL)


@pytest.mark.parametrize("bad_id, problem", [
    ("", "instance id is empty"),
    ("a" * 257, "over the limit of 256 bytes"),
    ("tab\there", "control character"),
    ("nul\x00", "control character"),
])
def test_bad_instance_ids_are_rejected(env: Env, bad_id: str, problem: str) -> None:
    with pytest.raises(InvalidArgumentError, match=problem):
        env.client.start_orchestration(bad_id, "Anything", None)


def test_longest_allowed_instance_id_and_unicode_work(env: Env) -> None:
    rt = env.make_runtime()
    rt.register_orchestration("Echo", lambda ctx, x: x)
    rt.start()
    for iid in ("a" * 256, "order/42:ü-東京"):
        env.client.start_orchestration(iid, "Echo", 7)
        assert env.client.wait_for_orchestration(iid, 10000).output == 7


def test_bad_names_are_rejected(env: Env) -> None:
    with pytest.raises(InvalidArgumentError, match="orchestration name is empty"):
        env.client.start_orchestration("n-1", "", None)
    with pytest.raises(InvalidArgumentError, match="orchestration name is 300 bytes"):
        env.client.start_orchestration("n-2", "n" * 300, None)
    with pytest.raises(InvalidArgumentError, match="event name"):
        env.client.raise_event("n-3", "e\n", None)
    with pytest.raises(InvalidArgumentError, match="queue name is empty"):
        env.client.enqueue_event("n-3", "", None)


def _wait_failed(env: Env, iid: str) -> str:
    result = env.client.wait_for_orchestration(iid, 20000)
    assert result.status == "Failed", (result.status, result.output)
    assert result.error is not None
    return result.error


def test_oversized_activity_output_fails_the_instance_readably(env: Env) -> None:
    rt = env.make_runtime(max_payload_bytes=SMALL)
    rt.register_activity("Big", lambda ctx, n: "b" * n)

    def orch(ctx: Any, n: int) -> Generator[Any, Any, Any]:
        return (yield ctx.schedule_activity("Big", n))

    rt.register_orchestration("BigOut", orch)
    rt.start()
    env.client.start_orchestration("ao-1", "BigOut", SMALL)
    error = _wait_failed(env, "ao-1")
    assert "activity output" in error and "payload limit" in error and "'Big'" in error


def test_oversized_activity_output_can_be_caught(env: Env) -> None:
    rt = env.make_runtime(max_payload_bytes=SMALL)
    rt.register_activity("Big", lambda ctx, n: "b" * n)

    def orch(ctx: Any, n: int) -> Generator[Any, Any, Any]:
        try:
            yield ctx.schedule_activity("Big", n)
        except Exception as exc:  # noqa: BLE001 - the point of the test
            return "caught: " + str(exc)[:40]
        return "not caught"

    rt.register_orchestration("CatchBig", orch)
    rt.start()
    env.client.start_orchestration("ao-2", "CatchBig", SMALL)
    out = env.client.wait_for_orchestration("ao-2", 20000).output
    assert isinstance(out, str) and out.startswith("caught: ")


def test_oversized_orchestration_output_and_activity_input(env: Env) -> None:
    rt = env.make_runtime(max_payload_bytes=SMALL)
    rt.register_activity("Echo", lambda ctx, x: x)

    def big_output(ctx: Any, n: int) -> Generator[Any, Any, Any]:
        yield ctx.schedule_timer(1)
        return "o" * n

    def big_input(ctx: Any, n: int) -> Generator[Any, Any, Any]:
        return (yield ctx.schedule_activity("Echo", "i" * n))

    rt.register_orchestration("BigOutput", big_output)
    rt.register_orchestration("BigInput", big_input)
    rt.start()
    env.client.start_orchestration("oo-1", "BigOutput", SMALL)
    env.client.start_orchestration("oi-1", "BigInput", SMALL)
    assert "orchestration output" in _wait_failed(env, "oo-1")
    assert "input of activity 'Echo'" in _wait_failed(env, "oi-1")


def test_history_length_limit_suggests_continue_as_new(env: Env) -> None:
    rt = env.make_runtime(max_history_events=20)
    rt.register_activity("Inc", lambda ctx, x: x + 1)

    def loop(ctx: Any, n: int) -> Generator[Any, Any, Any]:
        x = 0
        for _ in range(n):
            x = yield ctx.schedule_activity("Inc", x)
        return x

    rt.register_orchestration("Loop", loop)
    rt.start()
    env.client.start_orchestration("h-ok", "Loop", 5)
    env.client.start_orchestration("h-long", "Loop", 50)
    assert env.client.wait_for_orchestration("h-ok", 20000).output == 5
    error = _wait_failed(env, "h-long")
    assert "20 history events" in error and "continue_as_new" in error


def test_history_limit_is_per_execution(env: Env) -> None:
    rt = env.make_runtime(max_history_events=20)
    rt.register_activity("Inc", lambda ctx, x: x + 1)

    def chunked(ctx: Any, state: Any) -> Generator[Any, Any, Any]:
        x, left = state
        for _ in range(min(left, 5)):
            x = yield ctx.schedule_activity("Inc", x)
        if left > 5:
            yield ctx.continue_as_new([x, left - 5])
        return x

    rt.register_orchestration("Chunked", chunked)
    rt.start()
    env.client.start_orchestration("h-can", "Chunked", [0, 30])
    assert env.client.wait_for_orchestration("h-can", 30000).output == 30


def test_activity_tag_limit(env: Env) -> None:
    rt = env.make_runtime()

    def orch(ctx: Any, _: Any) -> Generator[Any, Any, Any]:
        return (yield ctx.schedule_activity("X", 1).with_tag("t" * 300))

    rt.register_orchestration("LongTag", orch)
    rt.start()
    env.client.start_orchestration("tag-1", "LongTag", None)
    assert "activity tag of 300 bytes exceeds the limit of 256 bytes" in _wait_failed(env, "tag-1")


def test_runtime_options_validate_limits() -> None:
    with pytest.raises(ValueError):
        duroxide.RuntimeOptions(max_payload_bytes=-5)
    with pytest.raises(ValueError):
        duroxide.RuntimeOptions(max_history_events="many")  # type: ignore[arg-type]
    opts = duroxide.RuntimeOptions(max_payload_bytes=1024, max_history_events=100)
    assert opts.max_payload_bytes == 1024 and opts.max_history_events == 100


# ---- durability ------------------------------------------------------------------------------

@pytest.mark.parametrize("level", ["normal", "full"])
def test_sqlite_durability_levels(tmp_path: Path, level: str) -> None:
    path = tmp_path / f"{level}.db"
    provider = SqliteProvider.open(str(path), durability=level)
    assert provider.durability == level
    client = Client(provider)
    client.start_orchestration("d-1", "Anything", 1)
    assert client.get_status("d-1").status == "Running"
    with sqlite3.connect(path) as con:  # the level is a connection setting, not stored
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_sqlite_durability_rejects_unknown_values(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError, match="durability must be one of"):
        SqliteProvider.open(str(tmp_path / "x.db"), durability="paranoid")
    assert not (tmp_path / "x.db").exists()


# ---- foreign, corrupt and newer stores -------------------------------------------------------

def _snapshot(path: Path) -> bytes:
    return path.read_bytes()


def test_garbage_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(os.urandom(8192))
    before = _snapshot(path)
    with pytest.raises(ProviderError, match="not a SQLite database"):
        SqliteProvider.open(str(path))
    assert _snapshot(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["garbage.db"]


def test_foreign_sqlite_database_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        con.execute("INSERT INTO customers VALUES (1, 'ada')")
    con.close()
    before = _snapshot(path)
    with pytest.raises(ProviderError, match="not a duroxide store .*customers"):
        SqliteProvider.open(str(path))
    assert _snapshot(path) == before
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    con.close()


def _make_store(path: Path) -> None:
    provider = SqliteProvider.open(str(path))
    Client(provider).start_orchestration("keep-1", "Anything", 1)
    del provider


def test_corrupted_duroxide_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    _make_store(path)
    with sqlite3.connect(path) as con:  # fold the WAL in so that the pages are in the file
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = bytearray(path.read_bytes())
    page = 1024
    for offset in range(2 * page, len(data), page):  # scribble over every page but the first
        data[offset:offset + 200] = os.urandom(200)
    path.write_bytes(bytes(data))
    before = _snapshot(path)
    with pytest.raises(ProviderError, match="corrupt"):
        SqliteProvider.open(str(path))
    assert _snapshot(path) == before


def test_store_from_a_newer_duroxide_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "newer.db"
    _make_store(path)
    with sqlite3.connect(path) as con:
        con.execute("INSERT INTO schema_version VALUES (999, 'from the future', 0)")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    before = _snapshot(path)
    with pytest.raises(ProviderError, match="newer duroxide .*schema version 999"):
        SqliteProvider.open(str(path))
    assert _snapshot(path) == before


def _psql(url: str, sql: str) -> str:
    proc = subprocess.run(["psql", url, "-qAt", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_postgres_schema_from_a_newer_duroxide(pg_url: str, pg_schema: str) -> None:
    duroxide.PostgresProvider.connect_with_schema(pg_url, pg_schema)
    _psql(pg_url, f'INSERT INTO "{pg_schema}"._duroxide_migrations '
                  "VALUES (999, 'from the future', 0)")
    count = ("SELECT count(*) FROM information_schema.tables "
             f"WHERE table_schema = '{pg_schema}'")
    tables_before = _psql(pg_url, count)
    with pytest.raises(ProviderError, match="newer duroxide"):
        duroxide.PostgresProvider.connect_with_schema(pg_url, pg_schema)
    assert _psql(pg_url, count) == tables_before


@pytest.fixture(params=["file", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Generator[Any, None, None]:
    """(provider, run_sql) for the providers whose storage a test can write to directly."""
    if request.param == "file":
        path = tmp_path / "x.db"
        provider: Any = SqliteProvider.open(str(path))

        def run_sql(sql: str) -> None:
            with sqlite3.connect(path, timeout=30) as con:
                con.execute(sql)
            con.close()
    else:
        url = request.getfixturevalue("pg_url")
        schema = request.getfixturevalue("pg_schema")
        provider = duroxide.PostgresProvider.connect_with_schema(url, schema)

        def run_sql(sql: str) -> None:
            _psql(url, f"SET search_path TO \"{schema}\"; {sql}")
    yield provider, run_sql


def test_history_event_from_a_newer_duroxide_changes_nothing(store: Any) -> None:
    """A history row of an unknown type: a clear error on read; the runtime leaves the
    instance exactly as it is (no poison failure), so that a newer runtime can continue it."""
    provider, run_sql = store
    client = Client(provider)

    def waits(ctx: Any, _: Any) -> Generator[Any, Any, Any]:
        first = yield ctx.wait_for_event("Go")
        second = yield ctx.wait_for_event("Go")
        return [first, second]

    rt = duroxide.Runtime(provider, duroxide.RuntimeOptions(dispatcher_poll_interval_ms=20,
                                                            max_attempts=2))
    rt.register_orchestration("Waits", waits)
    rt.start()
    try:
        client.start_orchestration("future-1", "Waits", None)
        _wait_until_history(client, "future-1", 2)
        future = json.dumps({"event_id": 99, "type": "TeleportedFromTheFuture"})
        run_sql("INSERT INTO history (instance_id, execution_id, event_id, event_type, "
                f"event_data, created_at) VALUES ('future-1', 1, 99, 'TeleportedFromTheFuture', "
                f"'{future}', 0)")
        with pytest.raises(ProviderError, match="newer duroxide"):
            client.read_execution_history("future-1", 1)
        for i in range(3):
            client.raise_event("future-1", "Go", i)
        time.sleep(2.0)
        assert client.get_status("future-1").status == "Running"
        rt.shutdown(2000)
        run_sql("DELETE FROM history WHERE event_id = 99")
        assert len(client.read_execution_history("future-1", 1)) == 2  # nothing was added
    finally:
        rt.shutdown(2000)


def _wait_until_history(client: Client, iid: str, n: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            if len(client.read_execution_history(iid, 1)) >= n:
                return
        except DuroxideError:
            pass
        time.sleep(0.02)
    raise AssertionError(f"{iid} never reached {n} history events")
