"""Messaging across a SIGKILLed worker process: every message is received exactly once, in
order, and requests are answered, on file SQLite and PostgreSQL (docs/messaging.md)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import duroxide
from duroxide import Client, Runtime, SqliteProvider
from helpers import messaging_worker
from helpers.util import wait_done, wait_until


@pytest.fixture(params=["file", "postgres"])
def store(request: Any, tmp_path: Path) -> str:
    if request.param == "file":
        return str(tmp_path / "crash.db")
    url = request.getfixturevalue("pg_url")
    schema = request.getfixturevalue("pg_schema")
    return f"pg:{url}|{schema}"


def _spawn(store: str, marker_dir: Path) -> "subprocess.Popen[bytes]":
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(duroxide.__file__).resolve().parent.parent),
                    env.get("PYTHONPATH", "")) if p)
    return subprocess.Popen([sys.executable, str(Path(messaging_worker.__file__)), store,
                             str(marker_dir)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def test_exactly_once_across_sigkill(store: str, tmp_path: Path) -> None:
    marker_dir = tmp_path / "markers"
    marker_dir.mkdir()
    n = messaging_worker.N
    provider = messaging_worker.open_provider(store)
    client = Client(provider)
    client.start_orchestration("acker", "Acker", n)
    client.start_orchestration("consumer", "Consumer", n)
    client.start_orchestration("producer", "Producer", n)
    child = _spawn(store, marker_dir)
    try:
        assert wait_until(lambda: len(os.listdir(marker_dir)) >= 5, timeout_s=30), \
            "the worker made no progress"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    assert client.get_status("consumer").status == "Running"

    runtime = Runtime(provider, duroxide.RuntimeOptions(dispatcher_poll_interval_ms=20,
                                                        worker_lock_timeout_ms=1000))
    messaging_worker.register(runtime, str(marker_dir))
    runtime.start()
    try:
        result = wait_done(client, "consumer", 60000)
        assert result.status == "Completed", result.error
        assert result.output == [[i, i * 10] for i in range(n)]
        assert wait_done(client, "producer", 30000).output == n
        assert wait_done(client, "acker", 30000).output == n
        assert client.list_dead_letters() == []
    finally:
        runtime.shutdown(3000)
