"""The reference package's JSON generator-driver protocol (api.md 1.13), kept for programs that
drive orchestration generators by hand. The runtime does not use it (it calls
duroxide.workflow.generator.start/step with objects instead of JSON text).

Functions are looked up in `orchestration_functions` (name@version, then name), the dict
api.md names `duroxide._orchestration_functions` (the package exports this same object under
that name); runtimes neither fill nor read it, so a program that drives generators by hand
registers its functions there itself.
"""

from __future__ import annotations

import itertools
import json
from typing import Any, Callable, Dict

from duroxide._common import loads_or_raw
from duroxide.workflow.context import OrchestrationContext
from duroxide.workflow.generator import OrchestrationGenerator, start, step

orchestration_functions: Dict[str, Callable[..., Any]] = {}
_generators: Dict[int, OrchestrationGenerator] = {}
_last_tasks: Dict[int, Any] = {}
_ids = itertools.count(1)


def _lookup(name: str, version: str) -> Any:
    fn = orchestration_functions.get(f"{name}@{version}")
    return fn if fn is not None else orchestration_functions.get(name)


def create_generator(payload_json: str) -> str:
    """Starts an orchestration from '{"ctxInfo": {...}, "input": "..."}'; returns a step JSON."""
    payload = json.loads(payload_json)
    info = payload["ctxInfo"]
    fn = _lookup(info["orchestrationName"], info.get("orchestrationVersion", "1.0.0"))
    if fn is None:
        return json.dumps({
            "status": "error",
            "message": f"Orchestration '{info['orchestrationName']}' not registered on Python side",
        })
    kind, payload_out, gen = start(fn, OrchestrationContext(info), payload.get("input", ""))
    if kind == "yield" and gen is not None:
        gen_id = next(_ids)
        _generators[gen_id] = gen
        _last_tasks[gen_id] = payload_out
        return json.dumps({"status": "yielded", "generatorId": gen_id, "task": payload_out})
    if kind == "complete":
        return json.dumps({"status": "completed", "output": payload_out})
    return json.dumps({"status": "error", "message": payload_out})


def next_step(payload_json: str) -> str:
    """Resumes generator `generatorId` with `result` (a JSON string) or throws `isError`."""
    payload = json.loads(payload_json)
    gen_id = payload["generatorId"]
    gen = _generators.get(gen_id)
    if gen is None:
        return json.dumps({"status": "error", "message": f"unknown generator {gen_id}"})
    raw = payload.get("result", "null")
    value = loads_or_raw(raw)
    if payload.get("isError") and not isinstance(value, str):
        value = json.dumps(value)
    kind, out = step(gen, _last_tasks.get(gen_id), value, bool(payload.get("isError")))
    if kind == "yield":
        _last_tasks[gen_id] = out
        return json.dumps({"status": "yielded", "generatorId": gen_id, "task": out})
    dispose_generator(str(gen_id))
    if kind == "complete":
        return json.dumps({"status": "completed", "output": out})
    return json.dumps({"status": "error", "message": out})


def dispose_generator(gen_id: str) -> str:
    """Forgets a generator started with create_generator."""
    key = int(gen_id)
    gen = _generators.pop(key, None)
    _last_tasks.pop(key, None)
    if gen is not None:
        gen.close()
    return "ok"
