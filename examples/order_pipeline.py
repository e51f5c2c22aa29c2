"""A durable order pipeline on an embedded SQLite file.

Validates an order, reserves every line item in parallel, charges the card with retries,
waits (durably) before shipping, and reports progress. Run it twice with the same database
and the second run reuses nothing but the file: each run starts a new order id.

    python examples/order_pipeline.py [--db PATH]
"""

import argparse
import os
import random
import tempfile
import time
from typing import Any, Dict

from duroxide import (
    ActivityContext,
    Client,
    OrchestrationContext,
    Runtime,
    RuntimeOptions,
    SqliteProvider,
)

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--db", default=os.path.join(tempfile.gettempdir(), "duroxide-orders.db"))
args = parser.parse_args()

provider = SqliteProvider.open(args.db)
client = Client(provider)
runtime = Runtime(provider, RuntimeOptions(worker_concurrency=4))

INVENTORY = {"book": 12, "pen": 100, "lamp": 3}
attempts: Dict[Any, int] = {}


@runtime.register_activity("ValidateOrder")
def validate_order(ctx: ActivityContext, order: Any) -> Any:
    if not order.get("items"):
        raise ValueError("order has no items")
    unknown = [i["sku"] for i in order["items"] if i["sku"] not in INVENTORY]
    if unknown:
        raise ValueError(f"unknown SKUs: {unknown}")
    return {"order_id": order["order_id"], "lines": len(order["items"])}


@runtime.register_activity("ReserveItem")
def reserve_item(ctx: ActivityContext, line: Any) -> Any:
    if INVENTORY[line["sku"]] < line["qty"]:
        raise RuntimeError(f"not enough {line['sku']}")
    INVENTORY[line["sku"]] -= line["qty"]
    return {"sku": line["sku"], "reserved": line["qty"]}


@runtime.register_activity("ChargeCard")
def charge_card(ctx: ActivityContext, payment: Any) -> Any:
    # A flaky payment gateway: the first attempt of each order times out.
    key = payment["order_id"]
    attempts[key] = attempts.get(key, 0) + 1
    if attempts[key] == 1:
        raise ConnectionError("gateway timeout")
    return {"charged": payment["amount"], "attempts": attempts[key]}


@runtime.register_activity("Ship")
def ship(ctx: ActivityContext, order_id: Any) -> Any:
    ctx.trace_info(f"shipping {order_id}")
    return {"tracking": f"TRK-{order_id}"}


@runtime.register_orchestration("ProcessOrder")
def process_order(ctx: OrchestrationContext, order: Any) -> Any:
    ctx.trace_info(f"processing {order['order_id']}")
    yield ctx.schedule_activity("ValidateOrder", order)

    reservations = yield ctx.all(
        [ctx.schedule_activity("ReserveItem", line) for line in order["items"]]
    )
    failed = [r["err"] for r in reservations if "err" in r]
    if failed:
        return {"order_id": order["order_id"], "status": "rejected", "reasons": failed}

    amount = sum(line["qty"] * line["price"] for line in order["items"])
    payment = yield ctx.schedule_activity_with_retry(
        "ChargeCard",
        {"order_id": order["order_id"], "amount": amount},
        {"max_attempts": 3, "backoff": "fixed", "timeout_ms": 5000},
    )

    yield ctx.schedule_timer(200)  # durable: survives a restart of this process
    shipment = yield ctx.schedule_activity("Ship", order["order_id"])
    placed_at = yield ctx.utc_now()
    return {
        "order_id": order["order_id"],
        "status": "shipped",
        "charged": payment["charged"],
        "payment_attempts": payment["attempts"],
        "tracking": shipment["tracking"],
        "placed_at_ms": placed_at,
    }


runtime.start()
order_id = f"order-{int(time.time())}-{random.randint(1000, 9999)}"
order = {
    "order_id": order_id,
    "items": [
        {"sku": "book", "qty": 2, "price": 15.0},
        {"sku": "pen", "qty": 10, "price": 1.5},
    ],
}
client.start_orchestration(order_id, "ProcessOrder", order)
result = client.wait_for_orchestration(order_id, 30000)
runtime.shutdown()
print(f"database: {args.db}")
print(f"{order_id}: {result.status}")
print(result.output if result.status == "Completed" else result.error)
