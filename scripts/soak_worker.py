"""One soak worker process (scripts/soak.py): a Runtime serving the mixed soak workload.

    python scripts/soak_worker.py --sqlite PATH | --pg URL --schema S  --log FILE

The workload: the chaos campaign's Mixed orchestration (activities, a timer, all, a
sub-orchestration, a queue event, KV, continue-as-new; scripts/chaos_worker.py), an actor
(Counter: adds each message to its state) that orchestrations and the client send to, and task
graphs (@task double/add, submitted by the client).
"""

from __future__ import annotations

import sys
from typing import Any, Dict, Generator

from chaos_worker import register as register_mixed
from chaos_worker import serve
from duroxide import Registry, Runtime

registry = Registry()


@registry.task()
def double(x: int) -> int:
    return 2 * x


@registry.task()
def add(a: int, b: int) -> int:
    return a + b


def graph_expected(n: int) -> int:
    """The result of the graph add(double(n), double(n + 1))."""
    return 2 * n + 2 * (n + 1)


def register(rt: Runtime, log_path: str) -> None:
    register_mixed(rt, log_path)
    counter = rt.register_actor("Counter", messages_per_execution=20)

    @counter.on_message
    def count(ctx: Any, state: Dict[str, Any], msg: Any) -> Any:
        state["n"] = state.get("n", 0) + int(msg.data)
        return state["n"]

    def relay(ctx: Any, key: str) -> Generator[Any, Any, Any]:
        """Messaging from an orchestration: three sends and one request to an actor."""
        for _ in range(3):
            ctx.actor("Counter", key).send(1)
        return (yield ctx.actor("Counter", key).request(1))

    rt.register_orchestration("Relay", relay)


def main() -> int:
    return serve("soak worker", register, registry)


if __name__ == "__main__":
    sys.exit(main())
