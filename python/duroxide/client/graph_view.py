"""The view of a task graph that `client.get_graph(id)` returns, read from its history.

Every node is an ordinary activity whose input envelope names its node id and dependencies;
the submitted spec (the input of the built-in graph orchestration) adds the nodes that never
ran.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Set, Tuple, cast

from duroxide._common import loads_or
from duroxide.client.results import TaskGraph
from duroxide.workflow.graphs import GRAPH_ORCHESTRATION, summarize

Node = Dict[str, Any]


def _node_from_spec(i: int, spec_node: Dict[str, Any]) -> Node:
    deps = sorted(_refs(spec_node.get("args")) | _refs(spec_node.get("kwargs")))
    return {"id": i, "task": spec_node.get("task", ""),
            "input": summarize(spec_node.get("args") or [], spec_node.get("kwargs") or {}),
            "status": "pending", "worker": None, "workers": [], "attempts": 0,
            "start": None, "end": None, "cache_hit": False, "error": None, "traceback": None,
            "deps": deps}


def _failure(details: Any) -> Tuple[str, Optional[str]]:
    """(message, traceback) of a failure's error details ({"Application": {...}})."""
    body = next(iter(details.values()), None) if isinstance(details, dict) else None
    if not isinstance(body, dict):
        return str(details), None
    message = body.get("message") or str(details)
    return str(message), body.get("traceback") or None


def _refs(value: Any) -> Set[int]:
    out: Set[int] = set()
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            if set(v) == {"$dx_ref"}:
                out.add(int(v["$dx_ref"]))
            else:
                stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
    return out


def build_graph_view(instance_id: str, events: List[Dict[str, Any]]) -> TaskGraph:
    """Nodes and edges of the task graph recorded in `events` (codec JSON of one execution)."""
    nodes: Dict[int, Node] = {}
    spec_nodes: Optional[List[Dict[str, Any]]] = None
    started = next((e for e in events if e.get("type") == "OrchestrationStarted"), None)
    if started is not None and started.get("name") == GRAPH_ORCHESTRATION:
        spec = loads_or(started.get("input"), {})
        spec_nodes = spec.get("nodes") if isinstance(spec, dict) else None
        for i, sn in enumerate(spec_nodes or []):
            nodes[i] = _node_from_spec(i, sn)
    by_schedule: Dict[int, int] = {}
    for e in events:
        kind = e.get("type")
        if kind == "ActivityScheduled":
            env = loads_or(e.get("input"), None)
            if not isinstance(env, dict) or "node" not in env or "args" not in env:
                continue
            nid = int(env["node"])
            node = nodes.get(nid)
            if node is None:
                node = nodes[nid] = {
                    "id": nid, "task": e.get("name", ""), "input": "", "status": "pending",
                    "worker": None, "workers": [], "attempts": 0, "start": None, "end": None,
                    "cache_hit": False, "error": None, "traceback": None, "deps": []}
            node["input"] = summarize(env.get("args") or [], env.get("kwargs") or {})
            node["deps"] = [int(d) for d in env.get("deps") or []]
            node["attempts"] += 1
            node["status"] = "running"
            node["error"] = None
            if node["start"] is None:
                node["start"] = e.get("timestamp_ms")
            by_schedule[int(e["event_id"])] = nid
        elif kind in ("ActivityCompleted", "ActivityFailed"):
            done_id = by_schedule.get(int(e.get("source_event_id", -1)))
            if done_id is None:
                continue
            node = nodes[done_id]
            node["end"] = e.get("timestamp_ms")
            worker = e.get("worker")
            if worker:
                node["worker"] = worker
                node["workers"].append(worker)
            if kind == "ActivityCompleted":
                node["cache_hit"] = bool(e.get("from_cache"))
                node["status"] = "cached" if node["cache_hit"] else "completed"
            else:
                node["status"] = "failed"
                node["error"], node["traceback"] = _failure(e.get("details"))
    _mark_skipped(nodes, events)
    ordered = [nodes[k] for k in sorted(nodes)]
    edges: List[Tuple[int, int]] = [(d, n["id"]) for n in ordered for d in n["deps"]]
    return cast(TaskGraph, {"instance_id": instance_id, "nodes": ordered, "edges": edges})


def _mark_skipped(nodes: Dict[int, Node], events: List[Dict[str, Any]]) -> None:
    """Pending nodes downstream of a failed one are "skipped" once the instance ended or the
    failure is final (a later attempt would have been scheduled right away)."""
    changed = True
    while changed:
        changed = False
        for n in nodes.values():
            if n["status"] != "pending":
                continue
            if any(nodes.get(d, {}).get("status") in ("failed", "skipped") for d in n["deps"]):
                n["status"] = "skipped"
                changed = True
