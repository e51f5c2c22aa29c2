"""The task descriptor type: what an orchestration yields or awaits.

A task descriptor is a plain dict of the duroxide Python API (its shapes are the contract the
native core reads), made awaitable: `__await__` yields the descriptor itself and returns what
the replay engine sends back. That single yield is what lets one driver step a generator
(`yield ctx.schedule_timer(10)`) and a coroutine (`await ctx.schedule_timer(10)`) the same
way: a coroutine is a generator underneath (`send` / `throw`), and no event loop runs it, so
an async orchestration replays from history exactly like a generator one.
"""

from __future__ import annotations

from typing import Any, Dict, Generator, Tuple


class Task(Dict[str, Any]):
    """A task descriptor (dict). `yield task` in a generator orchestration, `await task` in an
    `async def` orchestration; both give the task's result (or raise its failure)."""

    __slots__ = ()

    def __await__(self) -> Generator["Task", Any, Any]:
        # The replay engine sends the result (or throws the failure) into this yield.
        return (yield self)


_TASK_TYPES: Tuple[type, ...] = ()


def is_task(value: Any) -> bool:
    """Whether `value` is something an async orchestration may await (a duroxide task)."""
    global _TASK_TYPES
    if not _TASK_TYPES:  # graphs imports the context: imported lazily, once
        from duroxide.workflow.graphs import TaskHandle

        _TASK_TYPES = (Task, TaskHandle)
    return isinstance(value, _TASK_TYPES)
