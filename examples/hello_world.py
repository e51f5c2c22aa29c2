"""The minimal example of the user guide, on an in-memory database."""
from typing import Any

from duroxide import ActivityContext, Client, OrchestrationContext, Runtime, SqliteProvider

provider = SqliteProvider.in_memory()
client = Client(provider)
runtime = Runtime(provider)


@runtime.register_activity("SayHello")
def say_hello(ctx: ActivityContext, name: Any) -> Any:
    return f"Hello, {name}!"


@runtime.register_orchestration("HelloWorkflow")
def hello_workflow(ctx: OrchestrationContext, input: Any) -> Any:
    greeting = yield ctx.schedule_activity("SayHello", input["name"])
    return greeting


runtime.start()
client.start_orchestration("hello-1", "HelloWorkflow", {"name": "World"})
result = client.wait_for_orchestration("hello-1")
print(result.output)  # "Hello, World!"
runtime.shutdown()
