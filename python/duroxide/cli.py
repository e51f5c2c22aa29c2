"""The `duroxide` command line: inspect and manage the instances in a store.

Run `duroxide --help` (or `python -m duroxide --help`). Every command works on a store given
with --db (a SQLite file path or `sqlite:` URL, or a PostgreSQL URL) and prints a readable
table, or JSON with --json. See docs/operations.md.

Exit codes: 0 success, 1 the operation failed or was refused, 2 bad arguments (including an
unusable --db), 3 the instance (or execution) does not exist.
"""

from __future__ import annotations

import argparse
import fnmatch
import importlib
import json
import os
import sys
import time
import uuid
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3

STATUSES = ("Running", "Completed", "Failed", "ContinuedAsNew")
DATA_WIDTH = 72  # readable output truncates long payloads to this many characters


class CliError(Exception):
    """An error reported as `duroxide: error: <message>` with exit code `code`."""

    def __init__(self, message: str, code: int = EXIT_FAILED):
        super().__init__(message)
        self.code = code


# ---- formatting ---------------------------------------------------------------------------


def _fmt_ms(ms: Optional[int]) -> str:
    """Epoch milliseconds as UTC 'YYYY-MM-DD HH:MM:SS.mmmZ' ('-' for None or 0)."""
    if not ms:
        return "-"
    seconds, millis = divmod(int(ms), 1000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _short(text: Optional[str], width: int = DATA_WIDTH) -> str:
    if text is None:
        return "-"
    text = " ".join(str(text).split())  # one line
    return text if len(text) <= width else text[: width - 3] + "..."


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _parse_json_text(raw: Optional[str]) -> Any:
    """Raw JSON text from the store as a value (the text itself if it is not JSON)."""
    from duroxide._json import loads_or_raw

    return loads_or_raw(raw)


def _info_dict(info: Any) -> Dict[str, Any]:
    return {
        "instance_id": info.instance_id,
        "orchestration_name": info.orchestration_name,
        "orchestration_version": info.orchestration_version,
        "current_execution_id": info.current_execution_id,
        "status": info.status,
        "output": info.output,
        "created_at": info.created_at,
        "updated_at": info.updated_at,
        "parent_instance_id": info.parent_instance_id,
    }


def _event_dict(event: Any) -> Dict[str, Any]:
    return {
        "event_id": event.event_id,
        "kind": event.kind,
        "source_event_id": event.source_event_id,
        "timestamp_ms": event.timestamp_ms,
        "data": _parse_json_text(event.data),
    }


def _emit(args: argparse.Namespace, payload: Any, text: Callable[[], str]) -> None:
    if args.json:
        print(json.dumps(payload, indent=2, sort_keys=False))
    else:
        print(text())


# ---- arguments ----------------------------------------------------------------------------


def _json_arg(option: str) -> Callable[[str], Any]:
    def parse(value: str) -> Any:
        try:
            return json.loads(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(
                f"{option} must be JSON (e.g. '{{\"a\": 1}}', '42' or '\"text\"'): {exc}"
            ) from None

    return parse


def _status_arg(value: str) -> str:
    for status in STATUSES:
        if value.lower() == status.lower():
            return status
    raise argparse.ArgumentTypeError(
        f"invalid status {value!r} (choose from {', '.join(STATUSES)})")


def _non_negative(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {number}")
    return number


def _positive(value: str) -> int:
    number = _non_negative(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be >= 1")
    return number


def _add_common(parser: argparse.ArgumentParser, top_level: bool) -> None:
    # Accepted before and after the command; below the top level they default to SUPPRESS so
    # that an option given before the command is not reset by the subparser.
    def default(value: Any) -> Any:
        return value if top_level else argparse.SUPPRESS

    parser.add_argument(
        "--db", metavar="DB", default=default(os.environ.get("DUROXIDE_DB")),
        help="the store: a SQLite file path or sqlite: URL, or a postgresql:// URL "
             "(default: $DUROXIDE_DB)")
    parser.add_argument("--schema", metavar="SCHEMA", default=default(None),
                        help="PostgreSQL schema (default: public)")
    parser.add_argument(
        "--url", metavar="URL", default=default(os.environ.get("DUROXIDE_URL")),
        help="a duroxide server instead of a store, e.g. http://host:8200 "
             "(default: $DUROXIDE_URL; the token comes from $DUROXIDE_TOKEN or --token-file)")
    parser.add_argument("--token-file", metavar="F", default=default(None),
                        help="a file holding the bearer token (with --url: sent to the server; "
                             "for `server`: required from clients)")
    parser.add_argument("--json", action="store_true", default=default(False),
                        help="print machine-readable JSON instead of tables")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="duroxide",
        description="Inspect and manage duroxide orchestration instances in a store.",
        epilog="Exit codes: 0 success, 1 operation failed or refused, 2 bad arguments, "
               "3 instance not found.")
    _add_common(parser, top_level=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _add_common(p, top_level=False)
        return p

    p = command("list", "List instances, newest first.")
    p.add_argument("--status", type=_status_arg, help="only this status: " + ", ".join(STATUSES))
    p.add_argument("--name", help="only this orchestration name (shell-style wildcards allowed)")
    p.add_argument("--limit", type=_non_negative, help="show at most this many instances")
    p.set_defaults(handler=cmd_list)

    p = command("show", "Show one instance: status, output or error, custom status, KV.")
    p.add_argument("instance_id", metavar="ID")
    p.set_defaults(handler=cmd_show)

    p = command("history", "Show the event history of an instance as a timeline.")
    p.add_argument("instance_id", metavar="ID")
    p.add_argument("--execution", type=_positive, metavar="N",
                   help="execution id (default: the current execution)")
    p.set_defaults(handler=cmd_history)

    p = command("tree", "Show an instance and its sub-orchestrations.")
    p.add_argument("instance_id", metavar="ID")
    p.set_defaults(handler=cmd_tree)

    p = command("start", "Start an orchestration (a runtime must be running to execute it).")
    p.add_argument("name", metavar="NAME")
    p.add_argument("--input", type=_json_arg("--input"), default=None, metavar="JSON",
                   help="input as JSON (default: null)")
    p.add_argument("--id", dest="new_id", metavar="ID", help="instance id (default: generated)")
    p.add_argument("--version", metavar="V", help="pin an orchestration version")
    p.set_defaults(handler=cmd_start)

    p = command("raise", "Raise an external event (received by wait_for_event).")
    p.add_argument("instance_id", metavar="ID")
    p.add_argument("event", metavar="EVENT")
    p.add_argument("--data", type=_json_arg("--data"), default=None, metavar="JSON",
                   help="event data as JSON (default: null)")
    p.set_defaults(handler=cmd_raise)

    p = command("enqueue", "Add a message to an event queue (received by dequeue_event).")
    p.add_argument("instance_id", metavar="ID")
    p.add_argument("queue", metavar="QUEUE")
    p.add_argument("--data", type=_json_arg("--data"), default=None, metavar="JSON",
                   help="message data as JSON (default: null)")
    p.set_defaults(handler=cmd_enqueue)

    p = command("cancel", "Cancel a running instance (it ends Failed with 'canceled: REASON').")
    p.add_argument("instance_id", metavar="ID")
    p.add_argument("--reason", default="", help="cancellation reason")
    p.set_defaults(handler=cmd_cancel)

    p = command("delete", "Delete a root instance and all its sub-orchestrations.")
    p.add_argument("instance_id", metavar="ID")
    p.add_argument("--force", action="store_true", help="also delete a running instance")
    p.set_defaults(handler=cmd_delete)

    p = command("prune", "Delete old executions of an instance (never the current one).")
    p.add_argument("instance_id", metavar="ID")
    p.add_argument("--keep-last", type=_non_negative, metavar="N",
                   help="keep the N newest executions (0 and 1 keep only the current one)")
    p.add_argument("--completed-before", type=_non_negative, metavar="MS",
                   help="only executions completed before this epoch-milliseconds time")
    p.set_defaults(handler=cmd_prune)

    p = command("metrics", "Show store-wide counts and queue depths.")
    p.set_defaults(handler=cmd_metrics)

    for module_name in _EXTENSIONS:
        importlib.import_module(module_name).add_commands(command)
    return parser


# Modules that add subcommands: each has add_commands(command), where command(name, help)
# returns a subparser with the common options. A handler is called as handler(args, client);
# one that needs no store sets `needs_client=False` and is called as handler(args).
# One module per feature keeps this file small (one line each below).
_EXTENSIONS: Tuple[str, ...] = (
    "duroxide._cli_server",
    "duroxide._cli_testing",
    "duroxide._cli_fleet",
    "duroxide._cli_messaging",
    "duroxide._cli_graphs",
)


# ---- the store ----------------------------------------------------------------------------


def open_client(db: Optional[str], schema: Optional[str], url: Optional[str] = None,
                token_file: Optional[str] = None) -> Any:
    """A Client on the store named by --db, or an HttpClient on the server named by --url.

    Raises CliError (EXIT_USAGE) if it is unusable.
    """
    import duroxide

    if url and (not db or db == os.environ.get("DUROXIDE_DB") or
                url != os.environ.get("DUROXIDE_URL")):
        # --url given, or only $DUROXIDE_URL set: an explicit --db would win over the latter.
        if schema:
            raise CliError("--schema applies to --db, not to --url", EXIT_USAGE)
        token = os.environ.get("DUROXIDE_TOKEN")
        if token_file:
            try:
                with open(token_file, encoding="utf-8") as handle:
                    token = handle.read().strip()
            except OSError as exc:
                raise CliError(f"cannot read token file {token_file}: {exc.strerror}",
                               EXIT_USAGE) from None
        try:
            return duroxide.HttpClient(url, token=token)
        except duroxide.InvalidArgumentError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
    if not db:
        raise CliError("no store given: pass --db PATH_OR_URL (or --url http://host:8200), "
                       "or set DUROXIDE_DB (or DUROXIDE_URL)", EXIT_USAGE)
    if db.startswith(("postgres://", "postgresql://")):
        postgres = getattr(duroxide, "PostgresProvider", None)
        if postgres is None:
            raise CliError("PostgreSQL support is not available in this build", EXIT_USAGE)
        try:
            provider = (postgres.connect_with_schema(db, schema) if schema
                        else postgres.connect(db))
        except duroxide.DuroxideError as exc:
            raise CliError(str(exc), EXIT_USAGE) from None
        return duroxide.Client(provider)
    if schema:
        raise CliError("--schema applies only to PostgreSQL stores", EXIT_USAGE)
    path = db
    for prefix in ("sqlite://", "sqlite:"):
        if path.startswith(prefix):
            path = path[len(prefix):]
            break
    path = path.split("?", 1)[0]
    if ":memory:" in path:
        raise CliError("an in-memory database is empty in a new process; pass a file", EXIT_USAGE)
    # Opening would create an empty store: a typo in the path should not look like "no
    # instances".
    if not os.path.isfile(path):
        raise CliError(f"database file not found: {path}", EXIT_USAGE)
    try:
        return duroxide.Client(duroxide.SqliteProvider.open(db))
    except duroxide.DuroxideError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None


def _require_instance(client: Any, instance_id: str) -> Any:
    """The OrchestrationResult of an existing (or queued) instance; CliError if missing."""
    status = client.get_status(instance_id)
    if status.status == "NotFound":
        raise CliError(f"Instance {instance_id} not found", EXIT_NOT_FOUND)
    return status


# ---- commands -----------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace, client: Any) -> int:
    import duroxide

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
        rows = [(i.instance_id, i.orchestration_name, i.orchestration_version, i.status,
                 i.current_execution_id, _fmt_ms(i.created_at), _fmt_ms(i.updated_at),
                 i.parent_instance_id) for i in infos]
        return _table(("INSTANCE", "NAME", "VERSION", "STATUS", "EXECUTION", "CREATED (UTC)",
                       "UPDATED (UTC)", "PARENT"), rows)

    _emit(args, [_info_dict(i) for i in infos], text)
    return EXIT_OK


def cmd_show(args: argparse.Namespace, client: Any) -> int:
    import duroxide

    status = _require_instance(client, args.instance_id)
    try:
        info = client.get_instance_info(args.instance_id)
    except duroxide.NotFoundError:
        info = None  # the start is queued; no runtime has picked it up yet
    kv = client.get_kv_all(args.instance_id)
    executions = client.list_executions(args.instance_id)
    payload: Dict[str, Any] = _info_dict(info) if info is not None else {
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

    def text() -> str:
        lines = [f"Instance:       {args.instance_id}"]
        if info is None:
            lines.append("Status:         Pending (start queued, not yet picked up by a runtime)")
            return "\n".join(lines)
        lines += [
            f"Orchestration:  {info.orchestration_name} {info.orchestration_version}",
            f"Status:         {info.status}",
            f"Execution:      {info.current_execution_id}"
            + (f" (stored: {', '.join(map(str, executions))})" if len(executions) > 1 else ""),
            f"Parent:         {info.parent_instance_id or '-'}",
            f"Created:        {_fmt_ms(info.created_at)}",
            f"Updated:        {_fmt_ms(info.updated_at)}",
        ]
        if status.custom_status is not None:
            lines.append(f"Custom status:  {status.custom_status} "
                         f"(version {status.custom_status_version})")
        if status.status == "Completed":
            lines.append(f"Output:         {json.dumps(status.output)}")
        if status.error is not None:
            error_lines = str(status.error).rstrip().splitlines() or [""]
            lines.append(f"Error:          {error_lines[0]}")
            lines += [f"                {line}" for line in error_lines[1:]]
        if kv:
            lines.append("KV:")
            width = max(len(k) for k in kv)
            lines += [f"  {k.ljust(width)}  {_short(v)}" for k, v in sorted(kv.items())]
        else:
            lines.append("KV:             -")
        return "\n".join(lines)

    _emit(args, payload, text)
    return EXIT_OK


def cmd_history(args: argparse.Namespace, client: Any) -> int:
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
        rows = [(e.event_id, _fmt_ms(e.timestamp_ms), f"+{e.timestamp_ms - start}ms", e.kind,
                 e.source_event_id, _short(e.data)) for e in events]
        return header + "\n" + _table(("ID", "TIME (UTC)", "ELAPSED", "KIND", "SOURCE", "DATA"),
                                      rows)

    _emit(args, [_event_dict(e) for e in events], text)
    return EXIT_OK


def cmd_tree(args: argparse.Namespace, client: Any) -> int:
    import duroxide

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

    def label(instance_id: str) -> str:
        info = infos.get(instance_id)
        if info is None:
            return f"{instance_id}  (deleted)"
        return f"{instance_id}  {info.orchestration_name}  {info.status}"

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
        "nodes": [_info_dict(infos[i]) for i in tree.all_ids if i in infos],
    }
    _emit(args, payload, text)
    return EXIT_OK


def cmd_start(args: argparse.Namespace, client: Any) -> int:
    import duroxide

    instance_id = args.new_id or f"{args.name}-{uuid.uuid4().hex[:12]}"
    try:
        if args.version:
            client.start_orchestration_versioned(instance_id, args.name, args.input, args.version)
        else:
            client.start_orchestration(instance_id, args.name, args.input)
    except duroxide.InstanceAlreadyExistsError:
        raise CliError(f"Instance {instance_id} already exists") from None
    payload = {"instance_id": instance_id, "name": args.name, "version": args.version,
               "input": args.input}
    _emit(args, payload, lambda: f"Started {instance_id} ({args.name}"
                                 + (f" {args.version}" if args.version else "") + ")")
    return EXIT_OK


def _require_running(client: Any, instance_id: str, what: str) -> None:
    status = _require_instance(client, instance_id)
    if status.status in ("Completed", "Failed"):
        raise CliError(f"Instance {instance_id} is {status.status}; the {what} would be "
                       "dropped")


def cmd_raise(args: argparse.Namespace, client: Any) -> int:
    _require_running(client, args.instance_id, "event")
    client.raise_event(args.instance_id, args.event, args.data)
    _emit(args, {"instance_id": args.instance_id, "event": args.event, "data": args.data},
          lambda: f"Raised event '{args.event}' on {args.instance_id}")
    return EXIT_OK


def cmd_enqueue(args: argparse.Namespace, client: Any) -> int:
    _require_running(client, args.instance_id, "message")
    client.enqueue_event(args.instance_id, args.queue, args.data)
    _emit(args, {"instance_id": args.instance_id, "queue": args.queue, "data": args.data},
          lambda: f"Enqueued a message on queue '{args.queue}' of {args.instance_id}")
    return EXIT_OK


def cmd_cancel(args: argparse.Namespace, client: Any) -> int:
    status = _require_instance(client, args.instance_id)
    requested = status.status not in ("Completed", "Failed")
    if requested:
        client.cancel_instance(args.instance_id, args.reason)
    payload = {"instance_id": args.instance_id, "cancel_requested": requested,
               "status": status.status}
    _emit(args, payload, lambda: (
        f"Cancellation requested for {args.instance_id}" if requested
        else f"Instance {args.instance_id} is already {status.status}; nothing to cancel"))
    return EXIT_OK


def cmd_delete(args: argparse.Namespace, client: Any) -> int:
    result = client.delete_instance(args.instance_id, args.force)
    payload = {
        "instance_id": args.instance_id,
        "instances_deleted": result.instances_deleted,
        "executions_deleted": result.executions_deleted,
        "events_deleted": result.events_deleted,
        "queue_messages_deleted": result.queue_messages_deleted,
    }
    _emit(args, payload, lambda: (
        f"Deleted {args.instance_id}: {result.instances_deleted} instance(s), "
        f"{result.executions_deleted} execution(s), {result.events_deleted} event(s), "
        f"{result.queue_messages_deleted} queued message(s)"))
    return EXIT_OK


def cmd_prune(args: argparse.Namespace, client: Any) -> int:
    import duroxide

    options = duroxide.PruneOptions(keep_last=args.keep_last,
                                    completed_before=args.completed_before)
    result = client.prune_executions(args.instance_id, options)
    payload = {
        "instance_id": args.instance_id,
        "instances_processed": result.instances_processed,
        "executions_deleted": result.executions_deleted,
        "events_deleted": result.events_deleted,
        "executions": client.list_executions(args.instance_id),
    }
    _emit(args, payload, lambda: (
        f"Pruned {args.instance_id}: {result.executions_deleted} execution(s), "
        f"{result.events_deleted} event(s) deleted; stored executions: "
        f"{', '.join(map(str, payload['executions']))}"))
    return EXIT_OK


def cmd_metrics(args: argparse.Namespace, client: Any) -> int:
    metrics = client.get_system_metrics()
    queues = client.get_queue_depths()
    system = {name: getattr(metrics, name) for name in (
        "total_instances", "total_executions", "running_instances", "completed_instances",
        "failed_instances", "total_events")}
    depths = {name: getattr(queues, name) for name in (
        "orchestrator_queue", "worker_queue", "timer_queue")}

    def text() -> str:
        rows = [(k, v) for k, v in system.items()] + [(k, v) for k, v in depths.items()]
        return _table(("METRIC", "VALUE"), rows)

    _emit(args, {"system": system, "queues": depths}, text)
    return EXIT_OK


# ---- entry point --------------------------------------------------------------------------


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Runs the CLI and returns its exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if not getattr(args, "needs_client", True):
            return int(args.handler(args))
        client = open_client(args.db, args.schema, getattr(args, "url", None),
                             getattr(args, "token_file", None))
        return int(args.handler(args, client))
    except CliError as exc:
        print(f"duroxide: error: {exc}", file=sys.stderr)
        return exc.code
    except BrokenPipeError:  # e.g. `duroxide list | head`
        try:
            sys.stdout.close()
        except OSError:
            pass
        return EXIT_OK
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - report every duroxide error as one line
        import duroxide

        if not isinstance(exc, (duroxide.DuroxideError, RuntimeError)):
            raise
        code = EXIT_NOT_FOUND if isinstance(exc, duroxide.NotFoundError) else EXIT_FAILED
        print(f"duroxide: error: {exc}", file=sys.stderr)
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
