"""The rules of `async def` orchestrations, enforced while the driver steps a coroutine.

An async orchestration is stepped by duroxide.workflow.generator exactly like a generator:
`coro.send(value)` / `coro.throw(exc)`, with no event loop. What it awaits must therefore be
a duroxide task (workflow/tasks.py: a Task dict or a task-graph handle), whose `__await__`
yields the task to the driver. Anything else is a *foreign awaitable* and fails the turn:

- an awaitable that yields something else (`asyncio.sleep(0)` yields None, a Future yields
  itself) is caught when it reaches the driver (`check_yield`);
- asyncio functions that need a loop (`asyncio.sleep(1)`, `gather`, `wait_for`, an HTTP
  client) would otherwise fail with asyncio's "no running event loop"; while a coroutine step
  runs, `advance` installs a stand-in running loop whose every attribute raises the rule,
  naming the asyncio call that asked for it.

Both end in InvalidTypeError (code "invalid-type"): the orchestration fails with a message
that names the awaitable and the rule. Reason for failing rather than retrying the turn: the
code is wrong, not the environment; a retry would fail the same way forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import threading
import traceback
from typing import Any, Callable, Optional, cast

from duroxide.errors import InvalidTypeError
from duroxide.workflow.tasks import is_task

RULE = ("async orchestrations may await only duroxide tasks (ctx.schedule_activity, "
        "ctx.schedule_timer, ctx.wait_for_event, ctx.all, ctx.race, ...); they run without an "
        "event loop so that they replay deterministically. Use ctx.schedule_timer instead of "
        "asyncio.sleep, ctx.all/ctx.race instead of asyncio.gather/wait, and an activity for "
        "I/O")


def foreign_await_error(what: str) -> InvalidTypeError:
    return InvalidTypeError(f"async orchestration awaited {what}: {RULE}")


def _describe(value: Any) -> str:
    if value is None:
        return "a bare yield (None, e.g. asyncio.sleep(0))"
    kind = type(value)
    text = repr(value)
    if len(text) > 120:
        text = text[:117] + "..."
    return f"{kind.__module__}.{kind.__qualname__} {text}"


def check_yield(coro: Any, value: Any) -> None:
    """Raises (after closing the coroutine) when a coroutine yielded a foreign awaitable."""
    if is_task(value):
        return
    with contextlib.suppress(BaseException):
        coro.close()
    raise foreign_await_error(_describe(value))


_ASYNCIO_DIR = os.path.dirname(asyncio.__file__)


def _asyncio_caller() -> str:
    """The asyncio function (outermost frame inside the asyncio package) asking for a loop."""
    name: Optional[str] = None
    for frame in traceback.extract_stack()[:-2]:
        if frame.filename.startswith(_ASYNCIO_DIR):
            module = os.path.splitext(os.path.basename(frame.filename))[0]
            name = name or f"asyncio.{frame.name} (asyncio/{module}.py)"
    return name or "an awaitable that needs an event loop"


class _Violations(threading.local):
    what: Optional[str] = None


_violations = _Violations()


class _NoLoop:
    """The running loop while an orchestration coroutine steps: using it breaks the rule
    (recorded, so that user code catching the exception does not hide it)."""

    def __getattribute__(self, attr: str) -> Any:
        if attr.startswith("__"):
            return object.__getattribute__(self, attr)
        what = f"{_asyncio_caller()} (it used the event loop's '{attr}')"
        if _violations.what is None:
            _violations.what = what
        raise foreign_await_error(what)


_NO_LOOP = cast(asyncio.AbstractEventLoop, _NoLoop())


def advance(gen: Any, action: Callable[[], Any]) -> Any:
    """Runs one step of `gen` (`action` sends or throws into it) and returns what it yielded;
    StopIteration and the orchestration's own exceptions pass through.

    For a coroutine the stand-in loop is installed for the step, a use of it fails the step
    even if the orchestration caught the exception, and what it yielded must be a task.
    """
    if not inspect.iscoroutine(gen):
        # A generator orchestration: nothing to guard. (Not asyncio.iscoroutine, which before
        # Python 3.12 also answers True for plain generators and cost every generator step
        # the loop swap and the yield check, about a third of a cold replay's Python time.)
        return action()
    previous = asyncio.events._get_running_loop()
    asyncio.events._set_running_loop(_NO_LOOP)
    _violations.what = None
    try:
        value = action()
    except BaseException:
        _raise_violation(gen)
        raise
    finally:
        asyncio.events._set_running_loop(previous)
    _raise_violation(gen)
    check_yield(gen, value)
    return value


def _raise_violation(gen: Any) -> None:
    what, _violations.what = _violations.what, None
    if what is not None:
        with contextlib.suppress(BaseException):
            gen.close()
        raise foreign_await_error(what) from None


__all__ = ["RULE", "advance", "check_yield", "foreign_await_error"]
