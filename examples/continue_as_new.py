"""Continue-as-new: an "eternal" monitor that keeps its history small.

Each iteration reads a load figure, raises an alert above a threshold, then waits for either
a settings message (event queue) or a short durable timer, and restarts itself with
continue_as_new. Every restart is a new execution with a fresh history; the state travels in
the input. This demo stops after five iterations.

    PYTHONPATH=python python3 examples/continue_as_new.py
"""
from typing import Any

from duroxide import ActivityContext, Client, OrchestrationContext, Runtime, SqliteProvider

provider = SqliteProvider.in_memory()
client = Client(provider)
runtime = Runtime(provider)

LOAD = [40, 120, 90, 130, 60]


@runtime.register_activity("ReadLoad")
def read_load(ctx: ActivityContext, iteration: Any) -> Any:
    return LOAD[iteration % len(LOAD)]


@runtime.register_orchestration("LoadMonitor")
def load_monitor(ctx: OrchestrationContext, state: Any) -> Any:
    i = state["iteration"]
    load = yield ctx.schedule_activity("ReadLoad", i)
    alerts = state["alerts"]
    if load > state["threshold"]:
        alerts = alerts + [{"iteration": i, "load": load, "threshold": state["threshold"]}]
    ctx.set_custom_status(f"iteration {i} (execution {ctx.execution_id}): load {load}")

    # Sleep between checks, but wake up early for new settings. A dequeue that loses the
    # race is cancelled without consuming anything; queued messages also survive
    # continue_as_new, so a message sent at any moment is picked up by some iteration.
    threshold = state["threshold"]
    woke = yield ctx.race(ctx.dequeue_event("settings"), ctx.schedule_timer(100))
    if woke["index"] == 0:
        threshold = woke["value"]["threshold"]

    if i + 1 >= state["max_iterations"]:
        return {"iterations": i + 1, "last_execution_id": ctx.execution_id,
                "threshold": threshold, "alerts": alerts}
    yield ctx.continue_as_new({**state, "iteration": i + 1, "threshold": threshold,
                               "alerts": alerts})
    # Never reached: continue_as_new ends this execution.


runtime.start()
try:
    client.start_orchestration("monitor-1", "LoadMonitor", {
        "iteration": 0, "max_iterations": 5, "threshold": 100, "alerts": []})

    # Wait until the monitor is running, then lower the alert threshold.
    first = client.wait_for_status_change("monitor-1", 0, 20, 5000)
    print("status:", first.custom_status if first is not None else "(timed out)")
    client.enqueue_event("monitor-1", "settings", {"threshold": 80})

    result = client.wait_for_orchestration("monitor-1", 10000)
    print("monitor-1:", result.status)
    print("  iterations:", result.output["iterations"],
          "| last execution id:", result.output["last_execution_id"],
          "| final threshold:", result.output["threshold"])
    for alert in result.output["alerts"]:
        print("  alert:", alert)
    print("  custom status carried to the end:", result.custom_status)
finally:
    runtime.shutdown(2000)
