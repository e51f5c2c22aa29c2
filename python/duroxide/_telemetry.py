"""The seam between duroxide and an installed instrumentation (duroxide.otel).

`hooks` is None unless an instrumentor is installed; the client and the worker check it once
per call and take their plain path when it is None, so the package costs one attribute read
per operation while not instrumented. This module imports nothing: every layer may use it.

The protocol an instrumentation implements (duroxide.otel._hooks.OtelHooks):

- ``client_call(operation, attributes, call)``: runs ``call(traceparent)`` inside a client
  span; ``traceparent`` is the W3C header the store keeps with the start or message.
- ``orchestration_start(run, fn, ctx, input_text)`` / ``orchestration_step(run, gen,
  last_task, value, is_error, details)``: wrap the generator protocol's steps (driver.py).
- ``activity(run, fn, info, handle, client_factory, input_text)``: wraps one activity attempt.
"""

from __future__ import annotations

from typing import Any, Optional

hooks: Optional[Any] = None


def install(new_hooks: Any) -> None:
    global hooks
    hooks = new_hooks


def uninstall() -> None:
    global hooks
    hooks = None
