"""Operating failed and stuck work, the remaining edges (docs/operations.md): an activity whose
lock expires while its instance is suspended, queue messages taken by a terminate, a rerun
acknowledged just before its runtime is SIGKILLed, warnings for events nobody waits for, and
the statuses the CLI shows. On SQLite and PostgreSQL, with real runtime processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duroxide
import pytest
from duroxide import Client
from helpers import ops_worker
from helpers.util import wait_until
# The store parameters and the provider fixture are test_operations' own (one definition).
from test_operations import _kill, _spawn, provider, runtime, store, subscribed  # noqa: F401

WAIT = 15000


def _activity_state(client: Client, instance_id: str) -> str:
    acts = client.get_pending(instance_id).activities
    return str(acts[0]["state"]) if acts else ""


def test_activity_whose_lock_expires_while_suspended_waits_for_the_resume(
        store: str, provider: Any, tmp_path: Path) -> None:
    client = Client(provider)
    marker = str(tmp_path / "runs.txt")
    child = _spawn(store)
    try:
        client.start_orchestration("s1", "SlowOne", marker)
        # The attempt has started when its own record is written (a leased row alone may
        # belong to a worker killed before the activity body ran).
        assert wait_until(lambda: Path(marker).exists() and _activity_state(client, "s1")
                          == "running", 30)
        client.suspend_instance("s1", "hold")
    finally:
        _kill(child)  # the running attempt dies with its worker; its lock (1 s) expires
    child = _spawn(store)
    try:
        time.sleep(2.5)  # > the lock timeout: the row is visible again, but parked
        assert Path(marker).read_text().count("\n") == 1
        assert _activity_state(client, "s1") == "parked"
        assert client.get_status("s1").status == "Suspended"
        client.resume_instance("s1")
        assert client.wait_for_orchestration("s1", WAIT).output == "slow done"
        assert Path(marker).read_text().count("\n") == 2  # run again after the resume only
    finally:
        _kill(child)


def test_terminate_dead_letters_the_queue_messages_it_takes(provider: Any) -> None:
    client = Client(provider)
    rt = runtime(provider)
    rt.start()
    try:
        client.start_orchestration("t1", "Waiter", 1)
        assert subscribed(client, "t1")
        client.suspend_instance("t1", "hold")
    finally:
        rt.shutdown(3000)
    # No runtime runs while the message and the terminate arrive, so one turn takes both (with
    # a runtime running, a fetch may take the message alone once the terminate has lifted the
    # suspension: the message is then delivered to the instance before it is terminated, which
    # is also a correct order, but not the one this test is about).
    client.send_message("t1", "inbox", {"order": 7})  # buffered while suspended
    client.terminate_instance("t1", "duplicate")
    rt = runtime(provider)
    rt.start()
    try:
        assert client.wait_for_orchestration("t1", WAIT).status == "Terminated"
        assert wait_until(lambda: len(client.list_dead_letters("t1")) == 1, 10)
        letter = client.list_dead_letters("t1")[0]
        assert letter.queue == "inbox" and letter.data == {"order": 7}
        assert "terminated" in letter.reason
    finally:
        rt.shutdown(3000)


def test_sigkill_right_after_a_rerun_then_the_fix_runs_on(store: str, provider: Any,
                                                          tmp_path: Path) -> None:
    client = Client(provider)
    switch = tmp_path / "switch.txt"
    switch.write_text("fail")
    child = _spawn(store)
    try:
        client.start_orchestration("c1", "Checkout", str(switch))
        failed = client.wait_for_orchestration("c1", WAIT)
        assert failed.status == "Failed" and "card declined" in failed.error
        switch.write_text("ok")  # the fix is deployed
        new_id = client.rerun("c1")
        _kill(child)  # killed right after the rerun was acknowledged
    finally:
        _kill(child)
    assert new_id == "c1~1"
    child = _spawn(store)
    try:
        result = client.wait_for_orchestration(new_id, WAIT)
        assert result.status == "Completed", result.error
        assert result.output == ["reserved", "charged"]
        kinds = [e.kind for e in client.read_execution_history(new_id, 1)]
        # The copied prefix (Echo's result) was replayed, not run again.
        assert kinds.count("ActivityScheduled") == 2 and "ActivityFailed" not in kinds
        assert client.get_status("c1").status == "Failed"  # the source is untouched
    finally:
        _kill(child)


def _cli(store: str, *args: str) -> "subprocess.CompletedProcess[str]":
    assert not store.startswith("pg:")
    root = Path(duroxide.__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-m", "duroxide", *args, "--db", store],
                          capture_output=True, text=True, env=env, timeout=60)


def test_event_nobody_waits_for_is_kept_with_a_warning(store: str, provider: Any) -> None:
    pytest.importorskip("fastapi")
    import urllib.request

    from helpers.live_server import LiveServer

    client = Client(provider)
    rt = runtime(provider)
    rt.start()
    try:
        client.start_orchestration("w1", "Waiter", 1)
        assert subscribed(client, "w1")
        with LiveServer(client) as server:
            def post(name: str) -> Any:
                req = urllib.request.Request(
                    f"{server.url}/v1/instances/w1/events", method="POST",
                    data=json.dumps({"name": name, "data": 5}).encode(),
                    headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(req) as answer:
                    return answer.status, json.loads(answer.read())

            status, body = post("approve")
            assert status == 202 and body["accepted"]
            assert "does not wait for event 'approve'" in body["warning"]
            assert "'go'" in body["warning"]
        # Kept (today's semantics): the event is in history, the instance still waits.
        assert wait_until(lambda: any(
            e.kind == "ExternalEvent" for e in client.read_execution_history("w1", 1)), 10)
        assert [e["name"] for e in client.get_pending("w1").events] == ["go"]
        if not store.startswith("pg:"):
            proc = _cli(store, "raise", "w1", "approve", "--data", "1")
            assert proc.returncode == 0 and "warning: instance w1 does not wait" in proc.stderr
            proc = _cli(store, "--json", "raise", "w1", "go", "--data", "2")
            assert proc.returncode == 0 and proc.stderr == ""
            assert "warning" not in json.loads(proc.stdout)
        else:
            client.raise_event("w1", "go", 2)
        assert client.wait_for_orchestration("w1", WAIT).status == "Completed"
    finally:
        rt.shutdown(3000)


def test_cli_lists_canceled_terminated_and_suspended(tmp_path: Path) -> None:
    """SQLite only: the CLI reads the statuses through the same Client on either store."""
    store = str(tmp_path / "cli.db")
    provider = ops_worker.open_provider(store)
    client = Client(provider)
    rt = runtime(provider)
    rt.start()
    try:
        for iid in ("a-cancel", "a-term", "a-susp"):
            client.start_orchestration(iid, "Waiter", 1)
            assert subscribed(client, iid)
        client.cancel_instance("a-cancel", "no longer needed")
        client.terminate_instance("a-term", "duplicate")
        client.suspend_instance("a-susp", "hold")
        assert client.wait_for_orchestration("a-cancel", WAIT).status == "Failed"
        assert client.wait_for_orchestration("a-term", WAIT).status == "Terminated"
    finally:
        rt.shutdown(3000)
    listed = _cli(store, "list")
    assert listed.returncode == 0, listed.stderr
    rows = {line.split()[0]: line.split()[3] for line in listed.stdout.splitlines()[2:]}
    assert rows == {"a-cancel": "Canceled", "a-term": "Terminated", "a-susp": "Suspended"}
    shown = _cli(store, "show", "a-cancel")
    assert "Status:         Canceled" in shown.stdout
    with pytest.raises(duroxide.FailedPreconditionError, match="is Terminated"):
        client.suspend_instance("a-term")
    proc = _cli(store, "raise", "a-term", "go")
    assert proc.returncode == 1 and "is Terminated" in proc.stderr
    provider.close()
