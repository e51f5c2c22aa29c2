"""Custom status and the per-instance KV store.

1. A provisioning workflow reports its progress with ctx.set_custom_status(); the client
   follows it with wait_for_status_change() (which returns None on timeout).
2. A request server publishes "ready" and its responses in its KV store; the client waits for
   them with wait_for_kv_value() and reads them after the instance finished.
3. A counter updated read-modify-write over 20 durable timer turns, replayed from the history
   on every turn (warm cache disabled) and still exact.
4. Another instance reads that counter with get_kv_value_from_instance(), then prunes stale
   keys of its own.

    PYTHONPATH=python python3 examples/kv_and_status.py
"""

import json
from typing import Any

from duroxide import (
    ActivityContext,
    Client,
    OrchestrationContext,
    Runtime,
    RuntimeOptions,
    SqliteProvider,
)

provider = SqliteProvider.in_memory()
client = Client(provider)
# warm_cache_capacity=0: every turn replays the orchestration from its history, to show that
# KV reads and custom status are replay-safe.
runtime = Runtime(provider, RuntimeOptions(warm_cache_capacity=0))


@runtime.register_activity("Step")
def step(ctx: ActivityContext, name: Any) -> Any:
    return f"{name} ok"


@runtime.register_orchestration("ProvisionServer")
def provision_server(ctx: OrchestrationContext, config: Any) -> Any:
    for phase in ("validating configuration", "creating VM", "installing software"):
        ctx.set_custom_status(phase)
        yield ctx.schedule_activity("Step", phase)
        yield ctx.schedule_timer(30)  # so that a polling client sees every phase
    ctx.reset_custom_status()  # clear status when done
    return {"vm": config["name"]}


@runtime.register_orchestration("RequestServer")
def request_server(ctx: OrchestrationContext, input: Any) -> Any:
    ctx.set_kv_value("status", "ready")
    for _ in range(2):
        request = yield ctx.wait_for_event("request")
        ctx.set_kv_value(f"response:{request['op_id']}", request["command"][::-1])
    ctx.set_kv_value("status", "stopped")
    return "done"


@runtime.register_orchestration("Counter")
def counter(ctx: OrchestrationContext, turns: Any) -> Any:
    for _ in range(turns):
        current = int(ctx.get_kv_value("count") or 0)  # read ...
        ctx.set_kv_value("count", current + 1)          # ... modify, write
        yield ctx.schedule_timer(1)                      # one durable turn per increment
    count = int(ctx.get_kv_value("count") or 0)
    ctx.set_kv_value("summary", json.dumps({"count": count, "keys": ctx.get_kv_all_keys()}))
    return count


@runtime.register_orchestration("Auditor")
def auditor(ctx: OrchestrationContext, source: Any) -> Any:
    ctx.set_kv_value("old-1", "stale")
    ctx.set_kv_value("old-2", "stale")
    yield ctx.schedule_timer(20)
    now = yield ctx.utc_now()
    seen = yield ctx.get_kv_value_from_instance(source, "count")  # recorded: replay-safe
    ctx.set_kv_value("seen", seen)
    pruned = ctx.prune_kv_values_updated_before(now)  # removes old-1 and old-2
    return {"seen": seen, "pruned": pruned, "left": ctx.get_kv_all_values()}


runtime.start()
try:
    # 1. custom status
    client.start_orchestration("prov-1", "ProvisionServer", {"name": "web-1"})
    last_version = 0
    while True:
        result = client.wait_for_status_change("prov-1", last_version, 20, 10000)
        if result is None:
            print("no progress for 10 s")
            break
        print(f"prov-1 [{result.status}] v{result.custom_status_version}: {result.custom_status}")
        if result.status != "Running":
            break
        last_version = result.custom_status_version

    # 2. KV as a request/response channel
    client.start_orchestration("server-1", "RequestServer")
    print("server-1 status:", client.wait_for_kv_value("server-1", "status", 10000))
    # server-1 never sets a custom status: waiting for a change times out and returns None
    print("wait_for_status_change on server-1:",
          client.wait_for_status_change("server-1", 0, 20, 200))
    for op, command in (("op-1", "olleh"), ("op-2", "dlrow")):
        client.raise_event("server-1", "request", {"op_id": op, "command": command})
        print(f"server-1 {op}:", client.wait_for_kv_value("server-1", f"response:{op}", 10000))
    client.wait_for_orchestration("server-1", 10000)
    print("after completion, status key:", client.get_kv_value("server-1", "status"))
    try:
        client.wait_for_kv_value("server-1", "response:op-3", 200)
    except TimeoutError as e:
        print("TimeoutError:", e)

    # 3. read-modify-write over many turns
    client.start_orchestration("counter-1", "Counter", 20)
    print("counter-1 output:", client.wait_for_orchestration("counter-1", 30000).output)
    print("counter-1 summary (typed read):", client.get_kv_value_typed("counter-1", "summary"))

    # 4. cross-instance read and pruning
    client.start_orchestration("auditor-1", "Auditor", "counter-1")
    print("auditor-1:", client.wait_for_orchestration("auditor-1", 10000).output)
    stats = client.get_orchestration_stats("auditor-1")
    assert stats is not None  # None for an unknown instance
    print(f"auditor-1 stats: {stats.kv_user_key_count} key(s), {stats.kv_total_value_bytes} "
          f"value bytes, {stats.history_event_count} history events")
    client.delete_instance("counter-1")
    print("counter-1 deleted, count is now:", client.get_kv_value("counter-1", "count"))
finally:
    runtime.shutdown(2000)
