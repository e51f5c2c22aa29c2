"""Debounce that keeps every item (issue 25 item 4, docs/flow-control.md): bursts become one
batch with every item in arrival order, max_items and max_wait_ms close a batch early, bad
arguments are refused before anything is sent, and a batch survives a SIGKILL of the process
that took its items, starting exactly once. Every test runs on every store of its fixture.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, List

import duroxide
import pytest
from duroxide import Client, Runtime
from helpers import debounce_worker
from helpers.messaging_worker import open_provider
from helpers.util import wait_done, wait_until


def _serve(runtime: Runtime) -> None:
    @runtime.register_orchestration("Collect")
    def collect(ctx, items):
        return items


def _batches(client: Any, key: str) -> List[str]:
    return sorted(i for i in client.list_all_instances() if i.startswith(key + "@"))


def test_a_burst_becomes_one_batch_with_every_item_in_order(env):
    _, client, make_runtime = env
    runtime = make_runtime()
    _serve(runtime)
    runtime.start()
    ids = [client.debounce("burst", "Collect", {"n": i}, window_ms=400) for i in range(6)]
    assert ids == ["burst@1"] * 6
    assert wait_done(client, "burst@1").output == [{"n": i} for i in range(6)]
    # The next call opens batch 2.
    assert client.debounce("burst", "Collect", "late", window_ms=50) == "burst@2"
    assert wait_done(client, "burst@2").output == ["late"]
    assert _batches(client, "burst") == ["burst@1", "burst@2"]


def test_max_items_closes_a_batch(env):
    _, client, make_runtime = env
    runtime = make_runtime()
    _serve(runtime)
    runtime.start()
    ids = [client.debounce("cap", "Collect", i, window_ms=60000, max_items=3)
           for i in range(7)]
    assert ids == ["cap@1"] * 3 + ["cap@2"] * 3 + ["cap@3"]
    assert wait_done(client, "cap@1").output == [0, 1, 2]
    assert wait_done(client, "cap@2").output == [3, 4, 5]
    assert client.get_status("cap@3").status == "NotFound"  # still open: 60 s window


def test_max_wait_closes_a_batch_that_keeps_receiving(env):
    _, client, make_runtime = env
    runtime = make_runtime()
    _serve(runtime)
    runtime.start()
    ids = []
    started = time.monotonic()
    for i in range(12):  # an item every 100 ms: a 400 ms window alone would never close
        ids.append(client.debounce("steady", "Collect", i, window_ms=400, max_wait_ms=500))
        time.sleep(max(0.0, started + (i + 1) * 0.1 - time.monotonic()))
    batches = sorted(set(ids), key=lambda b: int(b.rsplit("@", 1)[1]))
    assert len(batches) >= 2, ids
    got: List[int] = []
    for batch in batches:
        got.extend(wait_done(client, batch).output)
    assert got == list(range(12))  # every item once, in arrival order
    assert [ids.count(b) for b in batches] == [len(wait_done(client, b).output)
                                                for b in batches]


def test_version_pins_the_batch_orchestration(env):
    _, client, make_runtime = env
    runtime = make_runtime()

    @runtime.register_orchestration_versioned("Pinned", "1.0.0")
    def v1(ctx, items):
        return ["v1", items]

    @runtime.register_orchestration_versioned("Pinned", "2.0.0")
    def v2(ctx, items):
        return ["v2", items]

    runtime.start()
    assert client.debounce("ver", "Pinned", 1, window_ms=30, version="1.0.0") == "ver@1"
    assert wait_done(client, "ver@1").output == ["v1", [1]]


@pytest.mark.parametrize("kwargs, name, error", [
    ({"window_ms": 0}, "window_ms", duroxide.InvalidArgumentError),
    ({"window_ms": -5}, "window_ms", duroxide.InvalidArgumentError),
    ({"window_ms": 10, "max_items": 0}, "max_items", duroxide.InvalidArgumentError),
    ({"window_ms": 10, "max_wait_ms": 0}, "max_wait_ms", duroxide.InvalidArgumentError),
    ({"window_ms": "10"}, "window_ms", TypeError),
    ({"window_ms": 10, "max_items": 2.5}, "max_items", TypeError),
])
def test_bad_arguments_are_refused_before_anything_is_sent(env, kwargs, name, error):
    _, client, _ = env
    with pytest.raises(error, match=name):
        client.debounce("bad", "Collect", 1, **kwargs)
    with pytest.raises(duroxide.InvalidArgumentError, match="key"):
        client.debounce("", "Collect", 1, window_ms=10)
    assert client.list_all_instances() == []


@pytest.fixture(params=["file", "postgres"])
def store(request: Any, tmp_path: Path) -> str:
    if request.param == "file":
        return str(tmp_path / "debounce.db")
    url = request.getfixturevalue("pg_url")
    schema = request.getfixturevalue("pg_schema")
    return f"pg:{url}|{schema}"


def test_a_batch_survives_a_sigkill_mid_window_and_starts_once(store: str, tmp_path: Path):
    marker = tmp_path / "acked.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(duroxide.__file__).resolve().parent.parent),
                    env.get("PYTHONPATH", "")) if p)
    open_provider(store)  # creates the schema before the child and this process race for it
    child = subprocess.Popen([sys.executable, str(Path(debounce_worker.__file__)), store,
                              str(marker)], env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        assert wait_until(marker.exists, timeout_s=60), "the child acknowledged no items"
    finally:
        child.send_signal(signal.SIGKILL)  # inside the 4 s window: the batch has not started
        child.wait(10)
    key, n = debounce_worker.KEY, debounce_worker.ITEMS
    assert json.loads(marker.read_text()) == [f"{key}@1"] * n
    provider = open_provider(store)
    client = Client(provider)
    assert client.get_status(f"{key}@1").status == "NotFound"
    runtime = Runtime(provider, duroxide.RuntimeOptions(dispatcher_poll_interval_ms=20,
                                                        orchestrator_lock_timeout_ms=1000))
    _serve(runtime)
    runtime.start()
    try:
        result = wait_done(client, f"{key}@1", 60000)
        assert result.status == "Completed", result.error
        assert result.output == [{"i": i} for i in range(n)]
        time.sleep(0.5)
        assert _batches(client, key) == [f"{key}@1"]  # started once, nothing else opened
        assert client.debounce(key, "Collect", "after", window_ms=20) == f"{key}@2"
        assert wait_done(client, f"{key}@2").output == ["after"]
    finally:
        runtime.shutdown(3000)
