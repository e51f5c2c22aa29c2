"""A Registry served by `duroxide worker helpers.fleet_app:registry` in the fleet tests.

Activities append one line per execution to the file named by $FLEET_LOG (O_APPEND writes
are atomic for short lines), so a test can count executions across worker processes.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any, Generator

import duroxide

registry = duroxide.Registry()
not_a_registry = 42


def _record(kind: str, ctx: Any, value: Any) -> None:
    path = os.environ.get("FLEET_LOG")
    if not path:
        return
    line = json.dumps({"kind": kind, "instance": ctx.instance_id, "value": value,
                       "session": ctx.session_id, "pid": os.getpid()}) + "\n"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode())
    finally:
        os.close(fd)


@registry.register_activity("Work")
def work(ctx: Any, input: Any) -> Any:
    time.sleep(float(input.get("sleep", 0)))
    _record("Work", ctx, input.get("n"))
    return {"n": input.get("n"), "pid": os.getpid()}


@registry.register_orchestration("Job")
def job(ctx: Any, input: Any) -> Generator[Any, Any, Any]:
    session = input.get("session")
    results = []
    for step in range(int(input.get("steps", 1))):
        payload = {"n": step, "sleep": input.get("sleep", 0)}
        if session:
            r = yield ctx.schedule_activity_on_session("Work", payload, session)
        else:
            r = yield ctx.schedule_activity("Work", payload)
        results.append(r["pid"])
    return results
