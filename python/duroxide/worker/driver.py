"""The Python entry points of the native core: it calls `resolve`, `start` and `step` for
orchestrations and `run_activity` for activities, with the GIL held, once per step of user
code (cpp/duroxide/bindings/py_invoker.cc imports this module by name).

`start` and `step` are duroxide.workflow.generator's; `create_generator`, `next_step` and
`dispose_generator` (the reference package's JSON driver protocol, api.md 1.13) live in
duroxide.workflow.generator_protocol and are re-exported by the public module
`duroxide.driver`.
"""

from __future__ import annotations

import asyncio
import contextvars
import inspect
from typing import Any, Callable, Dict, Optional, Tuple, Union

import duroxide._telemetry as _telemetry
from duroxide._common import loads_or_raw as _decode
from duroxide._common import non_finite_path, strict_dumps
from duroxide.worker.activity import ActivityContext, _current_activity
from duroxide.worker.tracebacks import exception_traceback
from duroxide.workflow import generator as _generator
from duroxide.workflow.graphs import CachedResult


def start(fn: Callable[..., Any], ctx: Any, input_text: str) -> Tuple[str, Any, Any]:
    """duroxide.workflow.generator.start, inside the execution's trace when instrumented."""
    hooks = _telemetry.hooks
    if hooks is None:
        return _generator.start(fn, ctx, input_text)
    result: Tuple[str, Any, Any] = hooks.orchestration_start(_generator.start, fn, ctx,
                                                             input_text)
    return result


def step(gen: Any, last_task: Any, value: Any, is_error: bool,
         details: Optional[Dict[str, str]] = None) -> Tuple[str, Any]:
    """duroxide.workflow.generator.step, inside the execution's trace when instrumented."""
    hooks = _telemetry.hooks
    if hooks is None:
        return _generator.step(gen, last_task, value, is_error, details)
    result: Tuple[str, Any] = hooks.orchestration_step(_generator.step, gen, last_task, value,
                                                       is_error, details)
    return result


def resolve(registry: Dict[str, Callable[..., Any]], name: str,
            version: str) -> Optional[Callable[..., Any]]:
    """Finds the function for name@version, then name, in the runtime's own table.

    Only the runtime's registrations count: one runtime never runs another's functions.
    """
    fn = registry.get(f"{name}@{version}")
    return fn if fn is not None else registry.get(name)


ActivityResult = Union[Tuple[bool, str], Tuple[bool, str, bool], Tuple[bool, str, str]]


def run_activity(fn: Callable[..., Any], info: Dict[str, Any], handle: Any, client_factory: Any,
                 input_text: str, completion: Any = None) -> Optional[ActivityResult]:
    """Runs one activity; inside an activity span when instrumented (_run_activity)."""
    hooks = _telemetry.hooks
    if hooks is not None:
        result: Optional[ActivityResult] = hooks.activity(
            _run_activity, fn, info, handle, client_factory, input_text, completion)
        return result
    return _run_activity(fn, info, handle, client_factory, input_text, completion)


def _run_activity(fn: Callable[..., Any], info: Dict[str, Any], handle: Any,
                  client_factory: Any, input_text: str,
                  completion: Any = None) -> Optional[ActivityResult]:
    """Runs one activity. Returns (True, output_json), (True, output_json, True) for a
    task-cache hit, or (False, error_text, traceback) (worker/tracebacks.py).

    An `async def` activity, called by a worker slot that passed `completion` (the native
    _ActivityCompletion), goes to the runtime's event loop (worker/async_activities.py):
    returns None at once and reports through `completion` later. Without a completion or a
    runner (a hand-driven call), the coroutine is run here with asyncio.run.
    """
    name = info.get("activityName", "")
    ctx = ActivityContext(info, handle, client_factory)
    token = _current_activity.set(ctx)
    try:
        result = fn(ctx, _decode(input_text))
        if inspect.iscoroutine(result):
            runner = getattr(client_factory, "async_activities", None)
            if completion is not None and runner is not None:
                # The task runs in a copy of this context: current_activity() works inside.
                runner.submit(result, ctx, completion, contextvars.copy_context())
                return None
            result = asyncio.run(result)
    except Exception as exc:
        return (False, f"Activity '{name}' call failed: {type(exc).__name__}: {exc}",
                exception_traceback(exc))
    finally:
        _current_activity.reset(token)
    return encode_result(name, result)


def encode_result(name: str, result: Any) -> Union[Tuple[bool, str], Tuple[bool, str, bool]]:
    """An activity's return value as the core takes it (shared by the event loop of async
    activities): (True, json), (True, json, True) for a cache hit, or (False, error)."""
    if isinstance(result, CachedResult):
        return (True, result.text, True)
    try:
        return (True, strict_dumps(result))
    except ValueError:
        where = non_finite_path(result)
        if where is not None:  # strict JSON: NaN/Infinity would be read back as null
            return (False, f"Activity '{name}' call failed: InvalidArgumentError: returned "
                           f"{where[1]} at {where[0]}, which is not valid JSON")
        return (
            False,
            f"Activity '{name}' call failed: TypeError: returned a value of type "
            f"{type(result).__name__} that is not JSON-serializable (circular reference)",
        )
    except TypeError as exc:
        return (
            False,
            f"Activity '{name}' call failed: TypeError: returned a value of type "
            f"{type(result).__name__} that is not JSON-serializable ({exc})",
        )


__all__ = ["resolve", "start", "step", "run_activity"]
