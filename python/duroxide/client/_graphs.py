"""Client methods for task graphs, the task cache and capability-routed work.

`client.submit(handle)` starts the built-in graph orchestration; `client.get_graph(id)` reads
the graph back from the instance's history (every node is an ordinary activity whose input
envelope names its node id and dependencies; the submitted spec adds the nodes that never
ran); `client.clear_task_cache(task=None)`; `client.list_waiting_activities()` shows work that
no worker has claimed because no live worker's capabilities satisfy its schema.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Dict, List, Optional, Set, Tuple

import duroxide._core as _core
from duroxide._common import loads_or, loads_or_raw
from duroxide.workflow.graphs import GRAPH_ORCHESTRATION, TaskHandle, graph_spec, summarize

Node = Dict[str, Any]


def _node_from_spec(i: int, spec_node: Dict[str, Any]) -> Node:
    deps = sorted(_refs(spec_node.get("args")) | _refs(spec_node.get("kwargs")))
    return {"id": i, "task": spec_node.get("task", ""),
            "input": summarize(spec_node.get("args") or [], spec_node.get("kwargs") or {}),
            "status": "pending", "worker": None, "workers": [], "attempts": 0,
            "start": None, "end": None, "cache_hit": False, "error": None, "deps": deps}


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


def build_graph_view(instance_id: str, events: List[Dict[str, Any]]) -> Dict[str, Any]:
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
                    "cache_hit": False, "error": None, "deps": []}
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
                node["error"] = (e.get("details") or {}).get("message") or str(e.get("details"))
    _mark_skipped(nodes, events)
    ordered = [nodes[k] for k in sorted(nodes)]
    edges: List[Tuple[int, int]] = [(d, n["id"]) for n in ordered for d in n["deps"]]
    return {"instance_id": instance_id, "nodes": ordered, "edges": edges}


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


class GraphClientMixin:
    """Task-graph methods of duroxide.Client."""

    _provider: Any

    def submit(self, handle: TaskHandle, instance_id: Optional[str] = None) -> str:
        """Starts the built-in graph orchestration for `handle` (a call of a @task function,
        whose arguments may be other handles); returns the instance id.
        `wait_for_orchestration(id)` then returns the root task's result."""
        spec = graph_spec(handle)
        iid = instance_id or f"graph-{uuid.uuid4().hex}"
        self.start_orchestration(iid, GRAPH_ORCHESTRATION, spec)  # type: ignore[attr-defined]
        return iid

    def get_graph(self, instance_id: str) -> Dict[str, Any]:
        """The task graph of an instance: {"instance_id", "nodes": [{id, task, input, status,
        worker, workers, attempts, start, end, cache_hit, error, deps}], "edges": [(from, to)]}.

        status is "pending", "running", "completed", "cached", "failed" or "skipped"; times
        are epoch milliseconds.
        """
        raw = _core._read_history_json(self._provider._native, instance_id, 0)
        return build_graph_view(instance_id, [json.loads(t) for t in raw])

    def clear_task_cache(self, task: Optional[str] = None) -> int:
        """Removes cached task results (of `task`, or all); returns how many."""
        if task is not None and not isinstance(task, str):
            task = getattr(task, "name", None) or str(task)
        return int(_core._task_cache_clear(self._provider._native, task))

    def list_waiting_activities(self, min_wait_ms: int = 0, limit: int = 1000
                                ) -> List[Dict[str, Any]]:
        """Unclaimed activities with a capability requirement that have waited at least
        min_wait_ms: instance_id, execution_id, activity_id, name, schema (parsed),
        schema_hash, waiting_since_ms, waiting_ms, deadline_ms (0 = none)."""
        now = int(time.time() * 1000)
        rows = _core._list_waiting_activities(self._provider._native, int(min_wait_ms), int(limit))
        out = []
        for row in rows:
            item = dict(row)
            item["schema"] = loads_or_raw(item["schema"]) if item["schema"] else None
            item["waiting_ms"] = max(0, now - int(item["waiting_since_ms"]))
            out.append(item)
        return out
