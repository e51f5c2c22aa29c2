"""asyncio end to end: an `async def` orchestration awaiting `async def` activities, a runtime
started inside the event loop, and AsyncClient awaiting the result (docs/async.md).

Type-checked by CI under mypy --strict, like every example.
"""
import asyncio
from typing import Any, Dict, List

import duroxide
from duroxide import ActivityContext, OrchestrationContext, Runtime, RuntimeOptions, SqliteProvider

provider = SqliteProvider.in_memory()
runtime = Runtime(provider, RuntimeOptions(async_activity_concurrency=100))


@runtime.register_activity("FetchPrice")
async def fetch_price(ctx: ActivityContext, item: str) -> float:
    await asyncio.sleep(0.05)  # stands in for an HTTP call; the worker slot is free meanwhile
    return {"apple": 0.5, "pear": 0.75}.get(item, 1.0)


@runtime.register_orchestration("Quote")
async def quote(ctx: OrchestrationContext, items: List[str]) -> Dict[str, Any]:
    results = await ctx.all([ctx.schedule_activity("FetchPrice", item) for item in items])
    prices: List[float] = duroxide.parse_result(results)
    winner = await ctx.race(ctx.schedule_timer(60_000), ctx.schedule_activity("FetchPrice", "x"))
    return {"total": sum(prices), "extra": winner["value"]}


async def main() -> None:
    async with runtime, duroxide.AsyncClient(provider) as client:
        await client.start_orchestration("quote-1", "Quote", ["apple", "pear", "fig"])
        result = await client.wait_for_orchestration("quote-1", 10_000)
        print(result.status, result.output)  # Completed {'total': 2.25, 'extra': 1.0}


if __name__ == "__main__":
    asyncio.run(main())
