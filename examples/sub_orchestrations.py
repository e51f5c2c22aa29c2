"""Sub-orchestrations: compose workflows from smaller ones.

A parent ships an order by running one child orchestration per parcel (in parallel, with
explicit instance ids), catches the failure of a child that cannot be delivered, and starts
an independent audit orchestration (fire-and-forget) that outlives the parent's wait.

    PYTHONPATH=python python3 examples/sub_orchestrations.py
"""
from typing import Any

from duroxide import ActivityContext, Client, OrchestrationContext, Runtime, SqliteProvider

provider = SqliteProvider.in_memory()
client = Client(provider)
runtime = Runtime(provider)


@runtime.register_activity("PackParcel")
def pack_parcel(ctx: ActivityContext, parcel: Any) -> Any:
    return f"box for {parcel['item']}"


@runtime.register_activity("ShipParcel")
def ship_parcel(ctx: ActivityContext, parcel: Any) -> Any:
    if parcel["country"] == "Atlantis":
        raise RuntimeError(f"no carrier delivers to {parcel['country']}")
    return f"{parcel['item']} shipped to {parcel['country']}"


@runtime.register_activity("WriteAudit")
def write_audit(ctx: ActivityContext, entry: Any) -> Any:
    return f"audit: {entry}"


@runtime.register_orchestration("ShipOneParcel")
def ship_one_parcel(ctx: OrchestrationContext, parcel: Any) -> Any:
    # A multi-step child: composes like a single task in the parent.
    box = yield ctx.schedule_activity("PackParcel", parcel)
    receipt = yield ctx.schedule_activity("ShipParcel", parcel)
    return {"box": box, "receipt": receipt, "child_id": ctx.instance_id}


@runtime.register_orchestration("AuditTrail")
def audit_trail(ctx: OrchestrationContext, entry: Any) -> Any:
    yield ctx.schedule_timer(200)  # runs on its own schedule, after the parent returned
    return (yield ctx.schedule_activity("WriteAudit", entry))


@runtime.register_orchestration("ShipOrder")
def ship_order(ctx: OrchestrationContext, order: Any) -> Any:
    parcels = order["parcels"]
    # Children with explicit ids, run in parallel. Each item is {"ok": ...} or {"err": ...}.
    children = [
        ctx.schedule_sub_orchestration_with_id("ShipOneParcel", f"{ctx.instance_id}:parcel-{i}", p)
        for i, p in enumerate(parcels)
    ]
    results = yield ctx.all(children)
    shipped = [r["ok"] for r in results if "ok" in r]
    failed = len(results) - len(shipped)

    # A child's failure arrives in the parent as an exception it can catch.
    try:
        yield ctx.schedule_sub_orchestration("ShipOneParcel", order["gift"])
        gift = "gift shipped"
    except Exception as error:
        gift = "gift not shipped: " + str(error).strip().splitlines()[-1]

    # Fire-and-forget: start an independent orchestration; the yield returns None at once.
    yield ctx.start_orchestration("AuditTrail", f"audit-{ctx.instance_id}",
                                  f"{len(shipped)} shipped, {failed} failed")
    return {"shipped": shipped, "failed": failed, "gift": gift}


runtime.start()
try:
    order = {
        "parcels": [{"item": "lamp", "country": "France"}, {"item": "desk", "country": "Japan"}],
        "gift": {"item": "mug", "country": "Atlantis"},
    }
    client.start_orchestration("order-7", "ShipOrder", order)
    result = client.wait_for_orchestration("order-7", 10000)
    print("order-7:", result.status)
    for parcel in result.output["shipped"]:
        print("  ", parcel)
    print("   failed:", result.output["failed"], "|", result.output["gift"])

    # Children are ordinary instances: explicit ids make them easy to look up.
    child = client.get_status("order-7:parcel-1")
    print("child order-7:parcel-1:", child.status, child.output["receipt"])

    # The detached audit orchestration finishes on its own, after the parent.
    audit = client.wait_for_orchestration("audit-order-7", 10000)
    print("audit-order-7:", audit.status, audit.output)
finally:
    runtime.shutdown(2000)
