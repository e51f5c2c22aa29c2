"""Fan-out / fan-in: run many activities in parallel and combine their results.

Shows `ctx.all()` (every item is {"ok": value} or {"err": message}, in input order),
`parse_result()`, a three-way `ctx.race()` whose losers are cancelled, and an `all()` nested
inside a `race()` as a deadline for a whole batch.

    PYTHONPATH=python python3 examples/fan_out_fan_in.py
"""

import time
from typing import Any, List

from duroxide import (
    ActivityContext,
    Client,
    OrchestrationContext,
    Runtime,
    RuntimeOptions,
    SqliteProvider,
    parse_result,
)

provider = SqliteProvider.in_memory()
# Activities that noticed they lost a race (same process, so a list works).
cancelled_lookups: List[Any] = []
client = Client(provider)
runtime = Runtime(provider, RuntimeOptions(worker_concurrency=8))


@runtime.register_activity("CountWords")
def count_words(ctx: ActivityContext, document: Any) -> Any:
    if not document["text"].strip():
        raise ValueError(f"document {document['name']} is empty")
    time.sleep(0.05)  # pretend this is slow I/O
    return len(document["text"].split())


@runtime.register_activity("Lookup")
def lookup(ctx: ActivityContext, request: Any) -> Any:
    # Polls in small steps so that it notices when it lost a race.
    deadline = time.time() + request["delay_ms"] / 1000
    while time.time() < deadline:
        if ctx.is_cancelled():
            cancelled_lookups.append(request["mirror"])
            return "cancelled"
        time.sleep(0.01)
    return f"{request['mirror']} answered"


@runtime.register_orchestration("WordCount")
def word_count(ctx: OrchestrationContext, documents: Any) -> Any:
    # Fan out: one activity per document, all running at the same time.
    items = yield ctx.all([ctx.schedule_activity("CountWords", d) for d in documents])
    # Fan in: each item is {"ok": n} or {"err": "..."}; one failure does not fail the rest.
    counts = {d["name"]: item["ok"] for d, item in zip(documents, items) if "ok" in item}
    errors = [item["err"] for item in items if "err" in item]
    return {"counts": counts, "total": sum(counts.values()), "errors": errors}


@runtime.register_orchestration("StrictWordCount")
def strict_word_count(ctx: OrchestrationContext, documents: Any) -> Any:
    items = yield ctx.all([ctx.schedule_activity("CountWords", d) for d in documents])
    return sum(parse_result(items))  # raises on the first {"err": ...} item


@runtime.register_orchestration("FastestMirror")
def fastest_mirror(ctx: OrchestrationContext, delays: Any) -> Any:
    # race() takes two or more tasks; the first to finish wins, the others are cancelled.
    tasks = [ctx.schedule_activity("Lookup", {"mirror": f"mirror-{i}", "delay_ms": ms})
             for i, ms in enumerate(delays)]
    winner = yield ctx.race(*tasks)
    return {"winner_index": winner["index"], "answer": winner["value"]}


@runtime.register_orchestration("BatchWithDeadline")
def batch_with_deadline(ctx: OrchestrationContext, input: Any) -> Any:
    # all() nested in race(): either the whole batch finishes or the deadline fires first.
    batch = ctx.all([
        ctx.schedule_activity("Lookup", {"mirror": "a", "delay_ms": input["slow_ms"]}),
        ctx.schedule_activity("Lookup", {"mirror": "b", "delay_ms": 10}),
        ctx.new_guid(),  # replay-safe helpers may sit inside all()/race() too
    ])
    result = yield ctx.race(batch, ctx.schedule_timer(input["deadline_ms"]))
    if result["index"] == 1:
        return "deadline hit, batch abandoned"
    answers = parse_result(result["value"])
    return {"answers": answers[:2], "batch_id_length": len(answers[2])}


runtime.start()
try:
    docs = [
        {"name": "a.txt", "text": "the quick brown fox"},
        {"name": "b.txt", "text": "jumps over the lazy dog"},
        {"name": "empty.txt", "text": "   "},
        {"name": "c.txt", "text": "durable workflows replay"},
    ]
    client.start_orchestration("wc-1", "WordCount", docs)
    print("WordCount:", client.wait_for_orchestration("wc-1", 10000).output)

    client.start_orchestration("wc-2", "StrictWordCount", docs)
    result = client.wait_for_orchestration("wc-2", 10000)
    print("StrictWordCount:", result.status, "-", (result.error or "").strip().splitlines()[-1])

    client.start_orchestration("race-1", "FastestMirror", [800, 50, 400])
    print("FastestMirror:", client.wait_for_orchestration("race-1", 10000).output)

    client.start_orchestration("batch-1", "BatchWithDeadline", {"slow_ms": 50, "deadline_ms": 2000})
    print("BatchWithDeadline (fast batch):", client.wait_for_orchestration("batch-1", 10000).output)
    client.start_orchestration("batch-2", "BatchWithDeadline",
                               {"slow_ms": 3000, "deadline_ms": 200})
    print("BatchWithDeadline (slow batch):", client.wait_for_orchestration("batch-2", 10000).output)

    time.sleep(0.3)  # give the cancelled activities a moment to observe it
    print("Activities that saw ctx.is_cancelled():", sorted(cancelled_lookups))
finally:
    runtime.shutdown(2000)
