"""Runs orchestration generators and coroutines one step at a time (the generator protocol).

An `async def` orchestration's coroutine is stepped exactly like a generator (send/throw, no
event loop); workflow/coroutines.py enforces what it may await.

`start` calls an orchestration function and runs it to its first yield; `step` sends a task's
result into the generator (or throws its failure) and runs it to the next yield. Both return
("yield", task) | ("complete", output_json) | ("fail", error_text). Payloads cross the native
boundary as JSON text (the value-shape contract of the duroxide Python API): inputs are
decoded with duroxide._common.loads_or_raw, outputs are `json.dumps`-ed. Task-graph handles
become a graph task on the way out (before_yield) and a node result on the way in
(after_yield); messaging tasks' `_post` hooks turn raw envelopes into values.

The core calls these through duroxide.worker.driver; duroxide.workflow.generator_protocol
drives them by hand with JSON text.
"""

from __future__ import annotations

import inspect
import sys
import traceback
from typing import Any, Callable, Dict, Generator, Optional, Tuple, cast

from duroxide._common import (
    ACTIVITY_TRACEBACK_NOTE,
    ORCHESTRATION_TRACEBACK_NOTE,
    non_finite_path,
    strict_dumps,
)
from duroxide._common import loads_or_raw as _decode
from duroxide.errors import ActivityFailedError, task_failure
from duroxide.workflow.context import OrchestrationContext, Task
from duroxide.workflow.coroutines import advance
from duroxide.workflow.graphs import after_yield, before_yield

# What start/step return to the native invoker: ("yield", task) | ("complete", output_json) |
# ("fail", error_text).
StepResult = Tuple[str, Any]
OrchestrationGenerator = Generator[Task, Any, Any]


def failure_text() -> str:
    """The error an orchestration fails with, for the exception being handled: its standard
    traceback, preceded by the failed activity's own traceback when the exception is (or was
    raised from) an ActivityFailedError that carries one, so that the client sees where the
    activity failed, not only where the orchestration let it through. Like Python's chained
    tracebacks, the cause comes first and the last line stays "<Type>: <message>".
    """
    text = traceback.format_exc()
    exc: Optional[BaseException] = sys.exc_info()[1]
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        activity_tb = getattr(exc, "traceback", "")
        if isinstance(exc, ActivityFailedError) and activity_tb:
            return (f"{ACTIVITY_TRACEBACK_NOTE}\n{activity_tb.rstrip()}\n\n"
                    f"{ORCHESTRATION_TRACEBACK_NOTE}\n\n{text}")
        exc = exc.__cause__ or exc.__context__
    return text


def _decode_input(text: str) -> Any:
    if text == "":
        return None
    return _decode(text)


def _encode_output(value: Any) -> StepResult:
    try:
        return ("complete", strict_dumps(value))
    except ValueError as exc:
        where = non_finite_path(value)
        if where is not None:  # strict JSON: NaN/Infinity would be read back as null
            return ("fail", f"InvalidArgumentError: orchestration returned {where[1]} at "
                            f"{where[0]}, which is not valid JSON")
        return ("fail", f"TypeError: orchestration returned a value of type "
                        f"{type(value).__name__} that is not JSON-serializable ({exc})")
    except TypeError as exc:
        return (
            "fail",
            f"TypeError: orchestration returned a value of type {type(value).__name__} "
            f"that is not JSON-serializable ({exc})",
        )


def start(fn: Callable[..., Any], ctx: OrchestrationContext,
          input_text: str) -> Tuple[str, Any, Optional[OrchestrationGenerator]]:
    """Calls the orchestration function and runs it to its first step.

    Returns ("yield", task, generator) | ("complete", output_json, None) |
    ("fail", error_text, None).
    """
    try:
        result = fn(ctx, _decode_input(input_text))
    except Exception:
        return ("fail", traceback.format_exc(), None)
    if inspect.isgenerator(result) or inspect.iscoroutine(result):
        # A coroutine (async def) is stepped exactly like a generator (workflow/coroutines.py).
        gen = cast(OrchestrationGenerator, result)
        try:
            first = advance(gen, lambda: gen.send(None))
        except StopIteration as stop:
            return (*_encode_output(stop.value), None)
        except Exception:
            return ("fail", failure_text(), None)
        kind, payload = _yielded(gen, first)
        return (kind, payload, gen)
    if inspect.isasyncgen(result):
        return (
            "fail",
            "TypeError: orchestrations are generator functions (def + yield) or coroutine "
            "functions (async def + await), not async generators (async def + yield)",
            None,
        )
    kind, payload = _encode_output(result)
    return (kind, payload, None)


def _yielded(gen: Any, task: Any) -> Tuple[str, Any]:
    """Turns what the generator yielded into a step (task-graph handles become a graph)."""
    try:
        return ("yield", before_yield(gen, task))
    except Exception as exc:  # noqa: BLE001 - a bad graph is thrown into the orchestration
        failure = exc  # not `exc` in the lambda: Python unbinds it when the except clause ends
        return _after(gen, lambda: gen.throw(failure))


def _has_post(task: Any) -> bool:
    if not isinstance(task, dict):
        return False
    if task.get("_post") is not None:
        return True
    return task.get("type") in ("join", "select") and any(
        _has_post(child) for child in task.get("tasks", ()))


def _post_process(task: Dict[str, Any], value: Any) -> Any:
    """Applies the `_post` hooks of a task (and of the children of all/race) to its value.

    Messaging tasks use them to turn raw envelopes into Message/Request objects and reply
    payloads into values or RequestFailedError/RequestTimedOutError (raised here).
    """
    post = task.get("_post")
    if post is not None:
        return post(value)
    children = task.get("tasks", [])
    if task.get("type") == "join" and isinstance(value, list):
        out = []
        for child, item in zip(children, value):
            if isinstance(item, dict) and "ok" in item and _has_post(child):
                try:
                    item = {"ok": _post_process(child, item["ok"])}
                except Exception as exc:  # a failed request inside all(): an error item
                    item = {"err": str(exc)}
            out.append(item)
        return out
    if task.get("type") == "select" and isinstance(value, dict) and "index" in value:
        index = value["index"]
        if isinstance(index, int) and 0 <= index < len(children) and _has_post(children[index]):
            return {"index": index, "value": _post_process(children[index], value.get("value"))}
    return value


def step(gen: OrchestrationGenerator, last_task: Any, value: Any, is_error: bool,
         details: Optional[Dict[str, str]] = None) -> StepResult:
    """Sends a value (or throws an error) into the generator and runs it to its next step.

    A failed activity or sub-orchestration is thrown as ActivityFailedError /
    SubOrchestrationFailedError (`details` gives source, category and kind); other task
    errors as TaskFailedError. All are Exceptions whose str() is the recorded error text.
    A task graph's result is mapped by after_yield (a failed node: GraphNodeFailedError).
    """
    try:
        graph_outcome = after_yield(last_task, value, is_error)
        if graph_outcome is not None:
            ok, payload = graph_outcome
            return _after(gen, (lambda: gen.send(payload)) if ok else (lambda: gen.throw(payload)))
        if not is_error and _has_post(last_task):
            try:
                value = _post_process(last_task, value)
            except Exception as exc:
                failure = exc  # thrown into the generator like a failed task
                return _after(gen, lambda: gen.throw(failure))
        if is_error:
            d = details or {}
            thrown = task_failure(str(value), d.get("source", ""),
                                  d.get("category", "Application"), d.get("kind", ""),
                                  d.get("traceback", ""))
            task = advance(gen, lambda: gen.throw(thrown))
        else:
            if (
                isinstance(last_task, dict)
                and last_task.get("_typed_all")
                and isinstance(value, list)
            ):
                value = [
                    item["ok"] if isinstance(item, dict) and "ok" in item else item
                    for item in value
                ]
            elif (
                isinstance(last_task, dict)
                and last_task.get("_typed_kv")
                and isinstance(value, str)
            ):
                value = _decode(value)
            sent = value
            task = advance(gen, lambda: gen.send(sent))
    except StopIteration as stop:
        return _encode_output(stop.value)
    except Exception:
        return ("fail", failure_text())
    return _yielded(gen, task)


def _after(gen: Any, resume: Callable[[], Any]) -> Tuple[str, Any]:
    """Runs `resume` (a send or throw into gen) and encodes the step it leads to."""
    try:
        task = advance(gen, resume)
    except StopIteration as stop:
        return _encode_output(stop.value)
    except Exception:
        return ("fail", failure_text())
    return _yielded(gen, task)
