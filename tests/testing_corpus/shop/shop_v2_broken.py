"""Version 2 of the shop with a nondeterministic change: Checkout now charges before the timer
(an in-place edit that running instances cannot replay)."""

from __future__ import annotations

from typing import Any, Dict, Generator

import duroxide

from shop_v1 import approval, charge, charge_once, reserve, safe_checkout  # noqa: F401

registry = duroxide.Registry()
registry.register_activity("Reserve", reserve)
registry.register_activity("Charge", charge)
registry.register_activity("ChargeOnce", charge_once)
registry.register_orchestration("SafeCheckout", safe_checkout)
registry.register_orchestration("Approval", approval)


@registry.register_orchestration("Checkout")
def checkout(ctx: Any, order: Dict[str, Any]) -> Generator[Any, Any, Dict[str, Any]]:
    results = yield ctx.all([ctx.schedule_activity("Reserve", i) for i in order["items"]])
    ctx.set_custom_status("charging")
    yield ctx.schedule_activity("Charge", order["amount"])
    yield ctx.schedule_timer(10)
    return {"reserved": len(results), "charged": order["amount"]}
