"""A small shop workflow, version 1 (the recorded histories come from this code)."""

from __future__ import annotations

from typing import Any, Dict, Generator, List

import duroxide

registry = duroxide.Registry()

# Stands in for an external system the activities change (a payment provider's ledger).
LEDGER: List[int] = []


@registry.register_activity("Reserve")
def reserve(ctx: Any, item: str) -> str:
    return f"reserved {item}"


@registry.register_activity("Charge")
def charge(ctx: Any, amount: int) -> int:
    LEDGER.append(amount)  # not idempotent: a retried call charges twice
    return len(LEDGER)


@registry.register_activity("ChargeOnce")
def charge_once(ctx: Any, payment: Dict[str, Any]) -> int:
    # Idempotent: keyed by the payment id, a retried call does not charge again.
    if payment["id"] not in [p for p, _ in PAYMENTS]:
        PAYMENTS.append((payment["id"], payment["amount"]))
    return len(PAYMENTS)


PAYMENTS: List[Any] = []


@registry.register_orchestration("Checkout")
def checkout(ctx: Any, order: Dict[str, Any]) -> Generator[Any, Any, Dict[str, Any]]:
    results = yield ctx.all([ctx.schedule_activity("Reserve", i) for i in order["items"]])
    yield ctx.schedule_timer(10)
    ctx.set_custom_status("charging")
    yield ctx.schedule_activity("Charge", order["amount"])
    return {"reserved": len(results), "charged": order["amount"]}


@registry.register_orchestration("SafeCheckout")
def safe_checkout(ctx: Any, order: Dict[str, Any]) -> Generator[Any, Any, Dict[str, Any]]:
    payment_id = yield ctx.new_guid()
    yield ctx.schedule_activity("Reserve", order["items"][0])
    ctx.set_kv_value("payment", payment_id)
    yield ctx.schedule_activity("ChargeOnce", {"id": payment_id, "amount": order["amount"]})
    return {"charged": order["amount"]}


@registry.register_orchestration("Approval")
def approval(ctx: Any, input: Any) -> Generator[Any, Any, Any]:
    yield ctx.schedule_activity("Reserve", "desk")
    decision = yield ctx.wait_for_event("approve")
    return decision
