"""duroxide.testing.replay, `duroxide export-history` and `duroxide replay`: recorded histories
replayed against current code, from a store and from exported JSON files, on our examples and
on a deliberately broken new version."""

from __future__ import annotations

import json
import runpy
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List

import pytest

import duroxide
from duroxide import Client, Runtime, RuntimeOptions, SqliteProvider
from duroxide.testing import (
    NondeterminismError,
    ReplayResult,
    load_histories,
    read_history,
    replay,
)

ROOT = Path(__file__).resolve().parent.parent
SHOP = ROOT / "tests" / "testing_corpus" / "shop"
sys.path.insert(0, str(SHOP))

import shop_v1  # noqa: E402
import shop_v2_broken  # noqa: E402

FAST = dict(dispatcher_poll_interval_ms=20)


@pytest.fixture
def shop_store(tmp_path: Path) -> Iterator[Dict[str, Any]]:
    """A SQLite file holding finished Checkout/SafeCheckout instances and a running Approval."""
    db = tmp_path / "shop.db"
    provider = SqliteProvider.open(str(db))
    client = Client(provider)
    rt = Runtime(provider, RuntimeOptions(**FAST), registry=shop_v1.registry)
    rt.start()
    try:
        client.start_orchestration("order-1", "Checkout", {"items": ["a", "b"], "amount": 5})
        client.start_orchestration("safe-1", "SafeCheckout", {"items": ["c"], "amount": 7})
        client.start_orchestration("approval-1", "Approval", None)
        assert client.wait_for_orchestration("order-1", 15000).status == "Completed"
        assert client.wait_for_orchestration("safe-1", 15000).status == "Completed"
        deadline = time.monotonic() + 10
        while True:  # until Approval waits for its event
            try:
                if len(client.read_execution_history("approval-1", 1)) >= 4:
                    break
            except duroxide.NotFoundError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        rt.shutdown(2000)
    yield {"db": db, "client": client, "provider": provider}


def test_same_code_replays_clean(shop_store: Dict[str, Any]) -> None:
    client = shop_store["client"]
    for instance in ("order-1", "safe-1", "approval-1"):
        result = replay(instance, shop_v1.registry, client)
        assert isinstance(result, ReplayResult)
        assert result.ok and bool(result), result.report()
    assert replay("order-1", shop_v1.registry, client).output == {"reserved": 2, "charged": 5}
    assert replay("approval-1", shop_v1.registry, client).outcome == "running"


def test_replay_runs_no_activity_and_writes_nothing(shop_store: Dict[str, Any]) -> None:
    client = shop_store["client"]
    shop_v1.LEDGER.clear()
    before = [e.raw for e in client.read_execution_history("order-1", 1)]
    assert replay(("order-1" if False else (client, "order-1")), shop_v1.registry).ok
    assert shop_v1.LEDGER == []
    assert [e.raw for e in client.read_execution_history("order-1", 1)] == before


def test_nondeterministic_change_is_reported_precisely(shop_store: Dict[str, Any]) -> None:
    client = shop_store["client"]
    events = client.read_execution_history("order-1", 1)
    result = replay(events, shop_v2_broken.registry, instance_id="order-1")
    assert not result.ok and result.nondeterministic
    timer = next(e for e in events if e.kind == "TimerCreated")
    assert result.event_id == timer.event_id
    assert "TimerCreated" in (result.recorded or "")
    assert "CustomStatusUpdated" in (result.actual or "")  # set_custom_status moved up
    report = result.report()
    assert f"at event {timer.event_id}" in report and "NONDETERMINISTIC" in report
    with pytest.raises(NondeterminismError) as info:
        result.check()
    assert isinstance(info.value, duroxide.DuroxideError)
    # The other workflows did not change.
    assert replay("safe-1", shop_v2_broken.registry, client).ok


def test_output_change_and_unregistered_are_reported(shop_store: Dict[str, Any]) -> None:
    client = shop_store["client"]
    changed = duroxide.Registry()
    changed.include(shop_v1.registry)

    @changed.register_orchestration("Approval")
    def approval(ctx: Any, input: Any) -> Any:
        yield ctx.schedule_activity("Reserve", "chair")  # different input
        return (yield ctx.wait_for_event("approve"))

    result = replay("approval-1", changed, client)
    assert result.nondeterministic and result.event_id == 2
    assert "desk" in (result.recorded or "") and "chair" in (result.actual or "")
    empty = duroxide.Registry()
    missing = replay("order-1", empty, client)
    assert missing.unregistered and not missing.ok and "Checkout" in (missing.message or "")


def test_export_then_replay_from_files_without_a_store(shop_store: Dict[str, Any],
                                                        tmp_path: Path) -> None:
    out = tmp_path / "histories"
    run = subprocess.run([sys.executable, "-m", "duroxide", "export-history", "--db",
                          str(shop_store["db"]), "--out", str(out)],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    files = sorted(p.name for p in out.iterdir())
    assert files == ["approval-1.json", "order-1.json", "safe-1.json"]
    histories = load_histories([out])
    assert {h.instance_id for h in histories} == {"approval-1", "order-1", "safe-1"}
    for h in histories:
        assert replay(h, shop_v1.registry).ok
    assert replay(str(out / "order-1.json"), shop_v1.registry).ok
    # CI: the new version against the exported files, no store.
    v1 = subprocess.run([sys.executable, "-m", "duroxide", "replay",
                         f"{SHOP / 'shop_v1.py'}:registry", str(out)],
                        capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert v1.returncode == 0, v1.stdout + v1.stderr
    assert v1.stdout.count("OK ") == 3
    v2 = subprocess.run([sys.executable, "-m", "duroxide", "replay", str(out),
                         "--registry", f"{SHOP / 'shop_v2_broken.py'}:registry"],
                        capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert v2.returncode == 1
    assert "NONDETERMINISTIC order-1" in v2.stdout and "TimerCreated" in v2.stdout
    # One file for chosen instances, read back with --history.
    bundle = tmp_path / "two.json"
    one = subprocess.run([sys.executable, "-m", "duroxide", "--db", str(shop_store["db"]),
                          "export-history", "order-1", "safe-1", "--output", str(bundle)],
                         capture_output=True, text=True, timeout=60)
    assert one.returncode == 0, one.stderr
    assert [h.instance_id for h in load_histories([bundle])] == ["order-1", "safe-1"]
    v2_one = subprocess.run([sys.executable, "-m", "duroxide", "replay", "--history", str(bundle),
                             "--name", "Safe*", f"{SHOP / 'shop_v2_broken.py'}:registry"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert v2_one.returncode == 0, v2_one.stdout + v2_one.stderr


def test_replay_command_against_a_store(shop_store: Dict[str, Any], tmp_path: Path) -> None:
    def cli(*args: str) -> "subprocess.CompletedProcess[str]":
        return subprocess.run([sys.executable, "-m", "duroxide", "replay", *args],
                              capture_output=True, text=True, timeout=60, cwd=SHOP)

    db = str(shop_store["db"])
    ok = cli("shop_v1:registry", "--db", db)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = cli("shop_v2_broken:registry", "--db", db)
    assert bad.returncode == 1 and "order-1" in bad.stdout
    only_safe = cli("shop_v2_broken:registry", "--db", db, "--name", "Safe*")
    assert only_safe.returncode == 0 and "safe-1" in only_safe.stdout
    assert "order-1" not in only_safe.stdout
    future = cli("shop_v2_broken:registry", "--db", db, "--since", "2999-01-01")
    assert future.returncode == 0 and "0 replayed" in future.stderr
    recent = cli("shop_v2_broken:registry", "--db", db, "--since", "1h", "--json")
    data: List[Dict[str, Any]] = json.loads(recent.stdout)
    assert {d["instance_id"] for d in data} == {"order-1", "safe-1", "approval-1"}
    assert cli("no_such_module:registry", "--db", db).returncode == 2


def test_read_history_round_trips(shop_store: Dict[str, Any]) -> None:
    h = read_history(shop_store["client"], "safe-1")
    assert h.orchestration_name == "SafeCheckout" and h.status == "Completed"
    again = type(h).from_dict(json.loads(json.dumps(h.to_dict())))
    assert replay(again, shop_v1.registry).ok


EXAMPLES = ["hello_world.py", "fan_out_fan_in.py", "sub_orchestrations.py",
            "continue_as_new.py", "error_handling_and_retry.py", "kv_and_status.py"]


@pytest.mark.parametrize("example", EXAMPLES)
def test_every_instance_of_our_examples_replays(example: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Runs an example, then replays every instance it left in its store."""
    old_argv = sys.argv
    sys.argv = [example]
    try:
        g = runpy.run_path(str(ROOT / "examples" / example), run_name="__main__")
    finally:
        sys.argv = old_argv
    capsys.readouterr()
    client, runtime = g["client"], g["runtime"]
    instances = client.list_all_instances()
    assert instances
    for instance in instances:
        for execution in client.list_executions(instance):
            result = replay(instance, runtime.registry, client, execution_id=execution)
            assert result.ok, result.report()


def test_a_runtime_stands_for_its_registrations(shop_store: Dict[str, Any]) -> None:
    rt = Runtime(shop_store["provider"], RuntimeOptions(**FAST), registry=shop_v1.registry)
    try:
        assert replay("order-1", rt, shop_store["client"]).ok
    finally:
        rt.shutdown(0)
