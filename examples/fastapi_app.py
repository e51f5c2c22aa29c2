"""A FastAPI application with duroxide in the same process (docs/async.md).

The runtime starts and stops with the application (its lifespan); endpoints start workflows
and await their results with AsyncClient, which never blocks the event loop and costs no
thread per waiting request. Orchestrations and activities are `async def`.

Run:  uvicorn --factory examples.fastapi_app:create_app   (DUROXIDE_DB picks the SQLite file)
Then: curl -X POST localhost:8000/orders -H 'content-type: application/json' \\
           -d '{"items": ["apple", "pear"]}'
"""
import asyncio
import os
import uuid
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Dict, List, Optional

import duroxide
from duroxide import ActivityContext, OrchestrationContext, Runtime, RuntimeOptions
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

PRICES = {"apple": 0.5, "pear": 0.75, "fig": 2.0}


class OrderIn(BaseModel):
    items: List[str]
    approve: bool = True  # False: the order waits for POST /orders/{id}/approve


def register(runtime: Runtime) -> None:
    @runtime.register_activity("Price")
    async def price(ctx: ActivityContext, item: str) -> float:
        await asyncio.sleep(0.01)  # an HTTP call to a pricing service, in real life
        if item not in PRICES:
            raise ValueError(f"unknown item {item!r}")
        return PRICES[item]

    @runtime.register_orchestration("Order")
    async def order(ctx: OrchestrationContext, data: Dict[str, Any]) -> Dict[str, Any]:
        results = await ctx.all([ctx.schedule_activity("Price", i) for i in data["items"]])
        prices: List[float] = duroxide.parse_result(results)
        if not data["approve"]:
            ctx.set_custom_status("awaiting approval")
            await ctx.wait_for_event("approved")
        return {"items": data["items"], "total": sum(prices)}


def create_app(provider: Optional[Any] = None) -> FastAPI:
    """The application; `provider` defaults to the SQLite file $DUROXIDE_DB (orders.db)."""
    store = provider or duroxide.SqliteProvider.open(os.environ.get("DUROXIDE_DB", "orders.db"))
    runtime = Runtime(store, RuntimeOptions(dispatcher_poll_interval_ms=20))
    register(runtime)
    client = duroxide.AsyncClient(store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with runtime, client:  # started with the app, shut down after its last request
            yield

    app = FastAPI(title="orders", lifespan=lifespan)

    @app.post("/orders")
    async def create_order(body: OrderIn, wait_ms: int = 0) -> Dict[str, Any]:
        order_id = f"order-{uuid.uuid4().hex[:12]}"
        await client.start_orchestration(order_id, "Order", body.model_dump())
        if wait_ms <= 0:
            return {"id": order_id, "status": "Running"}
        return await order_result(order_id, wait_ms)

    @app.get("/orders/{order_id}")
    async def order_result(order_id: str, wait_ms: int = 10_000) -> Dict[str, Any]:
        try:
            result = await client.wait_for_orchestration(order_id, wait_ms)
        except duroxide.OperationTimedOutError:
            status = await client.get_status(order_id)
            if status.status == "NotFound":
                raise HTTPException(404, f"no order {order_id}") from None
            return {"id": order_id, "status": status.status,
                    "custom_status": status.custom_status}
        return {"id": order_id, "status": result.status, "output": result.output,
                "error": result.error}

    @app.post("/orders/{order_id}/approve")
    async def approve(order_id: str) -> Dict[str, str]:
        await client.raise_event(order_id, "approved", True)
        return {"id": order_id}

    return app


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(create_app(), host="127.0.0.1", port=int(os.environ.get("PORT", "8000")))
