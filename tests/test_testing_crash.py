"""duroxide.testing.crash_test: crash the runtime at every commit point and compare."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

import duroxide
from duroxide.testing import CrashTestFailure, crash_test

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "testing_corpus" / "shop"))

import shop_v1  # noqa: E402


def test_non_idempotent_side_effect_is_caught() -> None:
    with pytest.raises(CrashTestFailure) as info:
        crash_test(shop_v1.registry, start=("Checkout", {"items": ["a", "b"], "amount": 5}),
                   expect={"reserved": 2, "charged": 5},
                   effects=lambda: list(shop_v1.LEDGER), reset=shop_v1.LEDGER.clear)
    failure = info.value
    assert isinstance(failure, duroxide.DuroxideError) and isinstance(failure, AssertionError)
    point = failure.point
    assert point is not None and point.kind == "during_activity" and point.name == "Charge"
    assert "during activity 'Charge'" in str(failure)
    assert "[5, 5]" in str(failure)  # charged twice
    # Only the Charge crash point broke: every commit point is fine.
    assert [p.name for p, _ in failure.report.failures] == ["Charge"]
    kinds = {p.kind for p in failure.report.points}
    assert kinds == {"before_commit", "after_commit", "during_activity"}


def test_idempotent_workflow_survives_every_crash_point() -> None:
    shop_v1.PAYMENTS.clear()
    report = crash_test(shop_v1.registry, start=("SafeCheckout", {"items": ["x"], "amount": 3}),
                        expect={"charged": 3}, effects=lambda: len(shop_v1.PAYMENTS),
                        reset=shop_v1.PAYMENTS.clear)
    assert report.ok and len(report.points) >= 5
    assert report.reference is not None and report.reference.kv.get("payment")


def test_expect_callable_and_wrong_expectation() -> None:
    seen: List[Any] = []

    def check(output: Dict[str, Any]) -> None:
        seen.append(output)
        assert output["charged"] == 3

    crash_test(shop_v1.registry, start={"name": "SafeCheckout",
                                        "input": {"items": ["x"], "amount": 3}},
               expect=check, points=["before_commit"])
    assert len(seen) > 1
    with pytest.raises(duroxide.DuroxideError, match="uninterrupted run"):
        crash_test(shop_v1.registry, start=("SafeCheckout", {"items": ["x"], "amount": 3}),
                   expect={"charged": 4}, points=["after_commit"])


def test_report_without_raising() -> None:
    report = crash_test(shop_v1.registry, start=("Checkout", {"items": ["a"], "amount": 1}),
                        effects=lambda: list(shop_v1.LEDGER), reset=shop_v1.LEDGER.clear,
                        points=["during_activity"], raise_on_failure=False)
    assert not report.ok and report.failures[0][0].name == "Charge"
    assert "FAILED during activity 'Charge'" in report.summary()


def test_process_mode_kills_a_child_process(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.txt"
    module = tmp_path / "killed_shop.py"
    module.write_text(f'''
import duroxide
registry = duroxide.Registry()
LEDGER = {str(ledger)!r}

@registry.register_activity("Charge")
def charge(ctx, amount):
    with open(LEDGER, "a") as fh:
        fh.write(f"{{amount}}\\n")
    return amount

@registry.register_orchestration("Pay")
def pay(ctx, amount):
    charged = yield ctx.schedule_activity("Charge", amount)
    return charged
''')
    sys.path.insert(0, str(tmp_path))
    import killed_shop  # type: ignore[import-not-found]

    def effects() -> List[str]:
        return ledger.read_text().split() if ledger.exists() else []

    def reset() -> None:
        if ledger.exists():
            ledger.unlink()

    report = crash_test(killed_shop.registry, start=("Pay", 9), expect=9, effects=effects,
                        reset=reset, mode="process", points=["before_commit"])
    assert report.ok and report.points and not report.not_reached
    with pytest.raises(CrashTestFailure, match="Charge"):
        crash_test(killed_shop.registry, start=("Pay", 9), expect=9, effects=effects,
                   reset=reset, mode="process", points=["during_activity"])


def test_our_hello_world_example_survives_every_crash(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    old_argv = sys.argv
    sys.argv = ["hello_world.py"]
    try:
        g = runpy.run_path(str(ROOT / "examples" / "hello_world.py"), run_name="__main__")
    finally:
        sys.argv = old_argv
    capsys.readouterr()
    report = crash_test(g["runtime"].registry, start=("HelloWorkflow", {"name": "World"}),
                        expect="Hello, World!")
    assert report.ok and len(report.points) == 5


def test_start_callable() -> None:
    def start(client: Any) -> str:
        client.start_orchestration("mine", "SafeCheckout", {"items": ["y"], "amount": 2})
        return "mine"

    report = crash_test(shop_v1.registry, start=start, expect={"charged": 2},
                        points=["after_commit"])
    assert report.ok and all(p.instance_id == "mine" for p in report.points)
