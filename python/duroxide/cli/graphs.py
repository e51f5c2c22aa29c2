"""CLI commands for task graphs and capability routing (docs/task-graphs.md).

    duroxide graph ID [--dot]     the task graph of an instance (text, or Graphviz DOT)
    duroxide waiting [--min-wait-ms N]
                                  activities waiting for a worker with matching capabilities
    duroxide cache-clear [--task NAME]
                                  remove cached task results
"""

from __future__ import annotations

import argparse
import json
import time
from typing import List

from duroxide.cli._base import EXIT_NOT_FOUND, CliError, Command, instance_command
from duroxide.cli.limits import limit_reason
from duroxide.client.api import ClientAPI
from duroxide.client.results import GraphNode, TaskGraph

_STATUS_COLORS = {"completed": "palegreen", "cached": "lightblue", "failed": "salmon",
                  "skipped": "lightgrey", "running": "khaki", "pending": "white"}


def add_commands(command: Command) -> None:
    p = instance_command(command, "graph", "Show the task graph of an instance (nodes, edges, "
                         "where each ran).", cmd_graph)
    p.add_argument("--dot", action="store_true", help="print Graphviz DOT instead of text")

    p = command("waiting", "List activities waiting for a worker whose capabilities match.",
                cmd_waiting)
    p.add_argument("--min-wait-ms", type=int, default=0, metavar="MS",
                   help="only those waiting at least this long (default: 0)")

    p = command("cache-clear", "Remove cached task results (of one task, or all).", cmd_cache_clear)
    p.add_argument("--task", default=None, metavar="NAME", help="only this task's results")


def _duration(node: GraphNode) -> str:
    start, end = node.get("start"), node.get("end")
    if start is None or end is None:
        return ""
    return f"{int(end) - int(start)}ms"


def graph_text(graph: TaskGraph) -> str:
    nodes: List[GraphNode] = graph["nodes"]
    if not nodes:
        return f"{graph['instance_id']}: no task graph nodes"
    lines = [f"task graph of {graph['instance_id']}: {len(nodes)} node(s), "
             f"{len(graph['edges'])} edge(s)"]
    for n in nodes:
        deps = ", ".join(f"#{d}" for d in n["deps"])
        parts = [f"#{n['id']:<4} {n['status']:<9} {n['task']}{n['input']}"]
        if deps:
            parts.append(f"after {deps}")
        if n.get("worker"):
            parts.append(f"on {n['worker']}")
        if n.get("attempts", 0) > 1:
            parts.append(f"{n['attempts']} attempts")
        if _duration(n):
            parts.append(_duration(n))
        if n.get("error"):
            parts.append(f"error: {str(n['error'])[:100]}")
        lines.append("  ".join(parts))
    return "\n".join(lines)


def _dot_quote(text: str) -> str:
    # Only quotes are escaped: the labels' "\\n" sequences are DOT line breaks.
    return '"' + text.replace('"', "'") + '"'


def graph_dot(graph: TaskGraph) -> str:
    lines = [f"digraph {_dot_quote(graph['instance_id'])} {{", "  rankdir=LR;",
             "  node [shape=box, style=filled];"]
    for n in graph["nodes"]:
        label = f"#{n['id']} {n['task']}{n['input']}\\n{n['status']}"
        if n.get("worker"):
            label += f" on {n['worker']}"
        color = _STATUS_COLORS.get(n["status"], "white")
        lines.append(f"  n{n['id']} [label={_dot_quote(label)}, fillcolor={color}];")
    for src, dst in graph["edges"]:
        lines.append(f"  n{src} -> n{dst};")
    lines.append("}")
    return "\n".join(lines)


def cmd_graph(args: argparse.Namespace, client: ClientAPI) -> int:
    if client.get_status(args.instance_id).status == "NotFound":
        raise CliError(f"instance '{args.instance_id}' not found", EXIT_NOT_FOUND)
    graph = client.get_graph(args.instance_id)
    if args.dot:
        print(graph_dot(graph))
    elif args.json:
        print(json.dumps(graph, indent=2))
    else:
        print(graph_text(graph))
    return 0


def cmd_waiting(args: argparse.Namespace, client: ClientAPI) -> int:
    rows = client.list_waiting_activities(min_wait_ms=args.min_wait_ms)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no activities are waiting for capabilities or limits")
        return 0
    now = int(time.time() * 1000)
    print(f"{len(rows)} task(s) waiting for a capable worker or a limit:")
    for r in rows:
        if r.get("reason", "capability") != "capability":
            # activity_id 0: an orchestration start waiting for its limit (flow-control.md)
            task = (f"{r['instance_id']}#{r['activity_id']}" if r["activity_id"]
                    else f"{r['instance_id']} (start)")
            print(f"  {task}  {r['name']}  waiting {r['waiting_ms']}ms  {limit_reason(r)}")
            continue
        deadline = ""
        if r["deadline_ms"]:
            deadline = f"  fails in {max(0, int(r['deadline_ms']) - now)}ms"
        print(f"  {r['instance_id']}#{r['activity_id']}  {r['name']}  waiting {r['waiting_ms']}ms"
              f"{deadline}  requires {json.dumps(r['schema'], sort_keys=True)}")
    return 0


def cmd_cache_clear(args: argparse.Namespace, client: ClientAPI) -> int:
    removed = client.clear_task_cache(args.task)
    print(f"{removed} cached result(s) removed")
    return 0
