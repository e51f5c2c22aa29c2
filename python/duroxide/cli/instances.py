"""Instance commands of the `duroxide` CLI: list, show, history, tree, start, wait, kv, raise,
enqueue, cancel, delete, prune and metrics (docs/operations.md)."""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import uuid
from typing import Any, Callable, Dict, List, Optional

import duroxide
from duroxide.cli._base import (
    EXIT_NOT_FOUND,
    EXIT_OK,
    STATUSES,
    CliError,
    Command,
    emit,
    event_dict,
    fields,
    fmt_ms,
    info_dict,
    instance_command,
    json_option,
    non_negative,
    payload_args,
    positive,
    require_instance,
    require_running,
    short,
    status_arg,
    table,
)
from duroxide.cli.operations import listed_status, pending_lines
from duroxide.client.api import ClientAPI
from duroxide.client.operations import shown_status, unheard_event_warning
from duroxide.client.results import OrchestrationResult
from duroxide.worker.tracebacks import (
    collapse_engine_frames,
    event_traceback,
    root_cause_first,
)


def add_commands(command: Command) -> None:
    p = command("list", "List instances, newest first.", cmd_list)
    p.add_argument("--status", type=status_arg, help="only this status: " + ", ".join(STATUSES))
    p.add_argument("--name", help="only this orchestration name (shell-style wildcards allowed)")
    p.add_argument("--limit", type=non_negative, help="show at most this many instances")

    instance_command(command, "show", "Show one instance: status, output or error, custom "
                     "status, KV.", cmd_show)
    p = instance_command(command, "history", "Show the event history of an instance as a "
                         "timeline.", cmd_history)
    p.add_argument("--execution", type=positive, metavar="N",
                   help="execution id (default: the current execution)")
    instance_command(command, "tree", "Show an instance and its sub-orchestrations.", cmd_tree)

    p = command("start", "Start an orchestration (a runtime must be running to execute it).",
                cmd_start)
    p.add_argument("name", metavar="NAME")
    json_option(p, "--input", "input")
    p.add_argument("--id", dest="new_id", metavar="ID", help="instance id (default: generated)")
    p.add_argument("--version", metavar="V", help="pin an orchestration version")
    p.add_argument("--if-exists", dest="if_exists", default="fail",
                   choices=["fail", "use_existing", "restart_if_ended"],
                   help="when the id is taken: fail (default), use_existing or "
                        "restart_if_ended (docs/flow-control.md)")
    p.add_argument("--priority", type=int, default=0, metavar="P",
                   help="0-9, higher first (default 0)")
    p.add_argument("--limit", metavar="NAME",
                   help="a named limit capping how many instances naming it run at once")
    p.add_argument("--limit-key", dest="limit_key", metavar="KEY",
                   help="the key counted under a per-key --limit")

    p = instance_command(command, "wait", "Wait until an instance completes or fails (or, "
                         "with --after-version, until its custom status changes).", cmd_wait)
    p.add_argument("--timeout-ms", type=non_negative, default=30000, metavar="MS",
                   help="give up after MS milliseconds (default 30000; exit 1)")
    p.add_argument("--after-version", type=non_negative, metavar="V",
                   help="wait for custom_status_version > V (or the end) instead")
    p = instance_command(command, "kv", "Print one value of an instance's KV store.", cmd_kv)
    p.add_argument("key", metavar="KEY")
    p.add_argument("--wait", action="store_true", help="wait until the key exists")
    p.add_argument("--timeout-ms", type=non_negative, default=30000, metavar="MS",
                   help="with --wait: give up after MS milliseconds (default 30000; exit 1)")

    p = instance_command(command, "raise", "Raise an external event (received by "
                         "wait_for_event).", cmd_raise)
    payload_args(p, "event", "EVENT", "event data")
    p = instance_command(command, "enqueue", "Add a message to an event queue (received by "
                         "dequeue_event).", cmd_enqueue)
    payload_args(p, "queue", "QUEUE", "message data")

    p = instance_command(command, "cancel", "Cancel a running instance (it ends Failed with "
                         "'canceled: REASON').", cmd_cancel)
    p.add_argument("--reason", default="", help="cancellation reason")
    p = instance_command(command, "delete", "Delete a root instance and all its "
                         "sub-orchestrations.", cmd_delete)
    p.add_argument("--force", action="store_true", help="also delete a running instance")
    p = instance_command(command, "prune", "Delete old executions of an instance (never the "
                         "current one).", cmd_prune)
    p.add_argument("--keep-last", type=non_negative, metavar="N",
                   help="keep the N newest executions (0 and 1 keep only the current one)")
    p.add_argument("--completed-before", type=non_negative, metavar="MS",
                   help="only executions completed before this epoch-milliseconds time")

    command("metrics", "Show store-wide counts and queue depths.", cmd_metrics)


def cmd_list(args: argparse.Namespace, client: ClientAPI) -> int:
    ids = (client.list_instances_by_status(args.status) if args.status
           else client.list_all_instances())
    infos = []
    for instance_id in ids:
        try:
            info = client.get_instance_info(instance_id)
        except duroxide.NotFoundError:
            continue  # deleted since it was listed
        if args.name and not fnmatch.fnmatchcase(info.orchestration_name, args.name):
            continue
        infos.append(info)
        if args.limit is not None and len(infos) >= args.limit:
            break

    def text() -> str:
        if not infos:
            return "No instances."
        suspended = set(client.list_instances_by_status("Suspended"))
        rows = [(i.instance_id, i.orchestration_name, i.orchestration_version,
                 listed_status(i, suspended),
                 i.current_execution_id, fmt_ms(i.created_at), fmt_ms(i.updated_at),
                 i.parent_instance_id) for i in infos]
        return table(("INSTANCE", "NAME", "VERSION", "STATUS", "EXECUTION", "CREATED (UTC)",
                       "UPDATED (UTC)", "PARENT"), rows)

    emit(args, [info_dict(i) for i in infos], text)
    return EXIT_OK


def cmd_show(args: argparse.Namespace, client: ClientAPI) -> int:
    status = require_instance(client, args.instance_id)
    try:
        info = client.get_instance_info(args.instance_id)
    except duroxide.NotFoundError:
        info = None  # the start is queued; no runtime has picked it up yet
    kv = client.get_kv_all(args.instance_id)
    executions = client.list_executions(args.instance_id)
    payload: Dict[str, Any] = info_dict(info) if info is not None else {
        "instance_id": args.instance_id, "status": "Pending"}
    payload.update({
        "status": info.status if info is not None else "Pending",
        "output": status.output if status.status == "Completed" else None,
        "error": status.error,
        "custom_status": status.custom_status,
        "custom_status_version": status.custom_status_version,
        "executions": executions,
        "kv": kv,
    })
    pending = client.get_pending(args.instance_id)
    shown = shown_status(status.status, status.error)
    if shown == "Running" and info is not None:
        shown = info.status  # e.g. ContinuedAsNew between executions
    payload["status"] = shown if info is not None else "Pending"
    payload["pending"] = pending.to_json()

    def text() -> str:
        lines = [f"Instance:       {args.instance_id}"]
        if info is None:
            lines.append("Status:         Pending (start queued, waiting for its limit)"
                         if status.status == "Pending" else
                         "Status:         Pending (start queued, not yet picked up by a runtime)")
            return "\n".join(lines)
        lines += [
            f"Orchestration:  {info.orchestration_name} {info.orchestration_version}",
            f"Status:         {shown}",
            f"Execution:      {info.current_execution_id}"
            + (f" (stored: {', '.join(map(str, executions))})" if len(executions) > 1 else ""),
            f"Parent:         {info.parent_instance_id or '-'}",
            f"Created:        {fmt_ms(info.created_at)}",
            f"Updated:        {fmt_ms(info.updated_at)}",
        ]
        if status.custom_status is not None:
            lines.append(f"Custom status:  {status.custom_status} "
                         f"(version {status.custom_status_version})")
        if status.status == "Completed":
            lines.append(f"Output:         {json.dumps(status.output)}")
        if status.error is not None:
            error = collapse_engine_frames(root_cause_first(str(status.error)))
            error_lines = error.rstrip().splitlines() or [""]
            lines.append(f"Error:          {error_lines[0]}")
            lines += [f"                {line}" for line in error_lines[1:]]
        waiting = pending_lines(pending)
        lines += ["Waiting on:"] + waiting if waiting else ["Waiting on:     -"]
        if kv:
            lines.append("KV:")
            width = max(len(k) for k in kv)
            lines += [f"  {k.ljust(width)}  {short(v)}" for k, v in sorted(kv.items())]
        else:
            lines.append("KV:             -")
        return "\n".join(lines)

    emit(args, payload, text)
    return EXIT_OK


def cmd_history(args: argparse.Namespace, client: ClientAPI) -> int:
    info = client.get_instance_info(args.instance_id)
    execution = args.execution or info.current_execution_id
    executions = client.list_executions(args.instance_id)
    if execution not in executions:
        stored = ", ".join(map(str, executions)) or "none"
        raise CliError(f"Execution {execution} of instance {args.instance_id} not found "
                       f"(stored executions: {stored})", EXIT_NOT_FOUND)
    events = client.read_execution_history(args.instance_id, execution)

    def text() -> str:
        header = (f"Instance {args.instance_id} ({info.orchestration_name} "
                  f"{info.orchestration_version}), execution {execution} of "
                  f"{', '.join(map(str, executions))}: {len(events)} events")
        if not events:
            return header
        start = events[0].timestamp_ms
        rows = [(e.event_id, fmt_ms(e.timestamp_ms), f"+{e.timestamp_ms - start}ms", e.kind,
                 e.source_event_id, short(e.data)) for e in events]
        lines = [header, table(("ID", "TIME (UTC)", "ELAPSED", "KIND", "SOURCE", "DATA"), rows)]
        for e in events:  # failed activities' tracebacks, root cause first, under the table
            tb = event_traceback(e.kind, e.data)
            if tb is not None:
                lines.append(f"\nEvent {e.event_id} ({e.kind}) traceback:")
                lines += [f"  {line}" for line in collapse_engine_frames(tb).splitlines()]
        return "\n".join(lines)

    def as_json(e: Any) -> Dict[str, Any]:
        tb = event_traceback(e.kind, e.data)
        return {**event_dict(e), "traceback": tb} if tb is not None else event_dict(e)

    emit(args, [as_json(e) for e in events], text)
    return EXIT_OK


def cmd_tree(args: argparse.Namespace, client: ClientAPI) -> int:
    tree = client.get_instance_tree(args.instance_id)
    infos = {}
    for instance_id in tree.all_ids:
        try:
            infos[instance_id] = client.get_instance_info(instance_id)
        except duroxide.NotFoundError:
            pass  # deleted meanwhile
    children: Dict[str, List[str]] = {}
    for instance_id in tree.all_ids[1:]:
        info = infos.get(instance_id)
        if info is not None and info.parent_instance_id is not None:
            children.setdefault(info.parent_instance_id, []).append(instance_id)

    suspended = set(client.list_instances_by_status("Suspended"))

    def label(instance_id: str) -> str:
        info = infos.get(instance_id)
        if info is None:
            return f"{instance_id}  (deleted)"
        return f"{instance_id}  {info.orchestration_name}  {listed_status(info, suspended)}"

    def text() -> str:
        lines = [label(tree.root_id)]

        def walk(parent: str, prefix: str) -> None:
            kids = children.get(parent, [])
            for index, kid in enumerate(kids):
                last = index == len(kids) - 1
                lines.append(prefix + ("`-- " if last else "|-- ") + label(kid))
                walk(kid, prefix + ("    " if last else "|   "))

        walk(tree.root_id, "")
        lines.append(f"({tree.size} instance{'s' if tree.size != 1 else ''})")
        return "\n".join(lines)

    payload = {
        "root_id": tree.root_id,
        "size": tree.size,
        "all_ids": list(tree.all_ids),
        "nodes": [info_dict(infos[i]) for i in tree.all_ids if i in infos],
    }
    emit(args, payload, text)
    return EXIT_OK


def cmd_start(args: argparse.Namespace, client: ClientAPI) -> int:
    instance_id = args.new_id or f"{args.name}-{uuid.uuid4().hex[:12]}"
    try:
        if args.version:
            client.start_orchestration_versioned(instance_id, args.name, args.input, args.version,
                                                 if_exists=args.if_exists,
                                                 priority=args.priority, limit=args.limit,
                                                 limit_key=args.limit_key)
        else:
            client.start_orchestration(instance_id, args.name, args.input,
                                       if_exists=args.if_exists, priority=args.priority,
                                       limit=args.limit, limit_key=args.limit_key)
    except duroxide.InstanceAlreadyExistsError:
        raise CliError(f"Instance {instance_id} already exists") from None
    payload = {"instance_id": instance_id, "name": args.name, "version": args.version,
               "input": args.input}
    emit(args, payload, lambda: f"Started {instance_id} ({args.name}"
                                 + (f" {args.version}" if args.version else "") + ")")
    return EXIT_OK


def _status_dict(instance_id: str, status: OrchestrationResult) -> Dict[str, Any]:
    return {"instance_id": instance_id, "status": status.status, "output": status.output,
            "error": status.error, "custom_status": status.custom_status,
            "custom_status_version": status.custom_status_version}


def cmd_wait(args: argparse.Namespace, client: ClientAPI) -> int:
    if args.after_version is not None:
        changed = client.wait_for_status_change(args.instance_id, args.after_version,
                                                timeout_ms=args.timeout_ms)
        if changed is None:
            raise CliError(f"Instance {args.instance_id}: no custom status change within "
                           f"{args.timeout_ms} ms")
        status = changed
    else:
        status = client.wait_for_orchestration(args.instance_id, args.timeout_ms)
    payload = _status_dict(args.instance_id, status)
    emit(args, payload, lambda: "\n".join(
        f"{k.replace('_', ' ').capitalize() + ':':<22}{json.dumps(v) if k == 'output' else v}"
        for k, v in payload.items() if v is not None))
    return EXIT_OK


def cmd_kv(args: argparse.Namespace, client: ClientAPI) -> int:
    if args.wait:
        value: Optional[str] = client.wait_for_kv_value(args.instance_id, args.key,
                                                        args.timeout_ms)
    else:
        value = client.get_kv_value(args.instance_id, args.key)
    if value is None:
        require_instance(client, args.instance_id)
        raise CliError(f"Key '{args.key}' not found on instance '{args.instance_id}'",
                       EXIT_NOT_FOUND)
    emit(args, {"instance_id": args.instance_id, "key": args.key, "value": value},
         lambda: str(value))
    return EXIT_OK


def cmd_raise(args: argparse.Namespace, client: ClientAPI) -> int:
    return _deliver(args, client, "event", client.raise_event, args.event,
                    f"Raised event '{args.event}' on {args.instance_id}")


def cmd_enqueue(args: argparse.Namespace, client: ClientAPI) -> int:
    return _deliver(args, client, "queue", client.enqueue_event, args.queue,
                    f"Enqueued a message on queue '{args.queue}' of {args.instance_id}")


def _deliver(args: argparse.Namespace, client: ClientAPI, key: str,
             send: Callable[[str, str, Any], None], name: str, done: str) -> int:
    """raise / enqueue: `send(id, name, data)` to a running instance, reported as `done`."""
    require_running(client, args.instance_id, "event" if key == "event" else "message")
    warning = None
    if key == "event":  # read before raising: afterwards a runtime may have consumed it
        try:
            warning = unheard_event_warning(client.get_pending(args.instance_id), name)
        except duroxide.NotFoundError:
            pass  # its start is still queued: nothing to compare with yet
    send(args.instance_id, name, args.data)
    payload = {"instance_id": args.instance_id, key: name, "data": args.data}
    if warning is not None:
        payload["warning"] = warning
        print(f"duroxide: warning: {warning}", file=sys.stderr)
    emit(args, payload, lambda: done)
    return EXIT_OK


def cmd_cancel(args: argparse.Namespace, client: ClientAPI) -> int:
    status = require_instance(client, args.instance_id)
    requested = status.status not in ("Completed", "Failed")
    if requested:
        client.cancel_instance(args.instance_id, args.reason)
    payload = {"instance_id": args.instance_id, "cancel_requested": requested,
               "status": status.status}
    emit(args, payload, lambda: (
        f"Cancellation requested for {args.instance_id}" if requested
        else f"Instance {args.instance_id} is already {status.status}; nothing to cancel"))
    return EXIT_OK


# What delete and prune report, and how their counts read.
_DELETE_COUNTS = {"instances_deleted": "instance(s)", "executions_deleted": "execution(s)",
                  "events_deleted": "event(s)", "queue_messages_deleted": "queued message(s)"}
_PRUNE_COUNTS = {"executions_deleted": "execution(s)", "events_deleted": "event(s)"}


def _counts_text(counts: Dict[str, Any], labels: Dict[str, str]) -> str:
    return ", ".join(f"{counts[name]} {label}" for name, label in labels.items())


def cmd_delete(args: argparse.Namespace, client: ClientAPI) -> int:
    counts = fields(client.delete_instance(args.instance_id, args.force), *_DELETE_COUNTS)
    emit(args, {"instance_id": args.instance_id, **counts},
         lambda: f"Deleted {args.instance_id}: {_counts_text(counts, _DELETE_COUNTS)}")
    return EXIT_OK


def cmd_prune(args: argparse.Namespace, client: ClientAPI) -> int:
    options = duroxide.PruneOptions(keep_last=args.keep_last,
                                    completed_before=args.completed_before)
    result = client.prune_executions(args.instance_id, options)
    counts = fields(result, "instances_processed", *_PRUNE_COUNTS)
    executions = client.list_executions(args.instance_id)
    emit(args, {"instance_id": args.instance_id, **counts, "executions": executions},
         lambda: f"Pruned {args.instance_id}: {_counts_text(counts, _PRUNE_COUNTS)} deleted; "
                 f"stored executions: {', '.join(map(str, executions))}")
    return EXIT_OK


def cmd_metrics(args: argparse.Namespace, client: ClientAPI) -> int:
    metrics = client.get_system_metrics()
    queues = client.get_queue_depths()
    system = fields(metrics, "total_instances", "total_executions", "running_instances",
                    "completed_instances", "failed_instances", "total_events")
    depths = fields(queues, "orchestrator_queue", "worker_queue", "timer_queue")

    def text() -> str:
        rows = [(k, v) for k, v in system.items()] + [(k, v) for k, v in depths.items()]
        return table(("METRIC", "VALUE"), rows)

    emit(args, {"system": system, "queues": depths}, text)
    return EXIT_OK
