"""Operating failed and stuck work from the `duroxide` CLI (docs/operations.md).

    duroxide suspend ID [--reason TEXT]        stop new turns and activities of an instance
    duroxide resume ID                         continue it
    duroxide terminate ID [--reason TEXT] [--output JSON] [--no-recursive]
    duroxide bulk ACTION [filters] [--dry-run] act on every matching instance
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, List

from duroxide.cli._base import (
    EXIT_FAILED,
    EXIT_OK,
    Command,
    emit,
    fmt_ms,
    instance_command,
    json_option,
    load_registry,
    non_negative,
    positive,
    require_instance,
)
from duroxide.client.api import ClientAPI
from duroxide.client.operations import (
    BULK_ACTIONS,
    PendingWork,
    check_bulk_action,
    current_events,
    plan_rerun,
    rerun_prefix,
    run_bulk,
)


def add_commands(command: Command) -> None:
    p = instance_command(command, "suspend", "Suspend a running instance: no new turn or "
                         "activity starts; events and messages wait.", cmd_suspend)
    p.add_argument("--reason", default=None, help="why (shown as its error)")
    p = instance_command(command, "resume", "Resume a suspended instance.", cmd_resume)
    p.add_argument("--reason", default=None, help="why (for your log)")
    p = instance_command(command, "terminate", "End an instance at once, without running its "
                         "code (status Terminated).", cmd_terminate)
    p.add_argument("--reason", default=None, help="why (its error: 'terminated: REASON')")
    json_option(p, "--output", "the output to keep")
    p.add_argument("--no-recursive", dest="recursive", action="store_false",
                   help="leave its running sub-orchestrations alone")
    p = instance_command(command, "rerun", "Rerun an ended instance as a new one from a "
                         "history prefix, verified against the code that runs now.", cmd_rerun)
    p.add_argument("--from", dest="from_event", type=positive, default=None, metavar="EVENT",
                   help="copy the events before this event id (default: for a Failed "
                   "instance the event that failed it; otherwise a fresh start)")
    p.add_argument("--new-id", default=None, metavar="ID", help="the new instance's id "
                   "(default ID~N)")
    p.add_argument("--check", default=None, metavar="MODULE:ATTR",
                   help="first replay the prefix against this registry in this process; "
                   "write nothing if it does not follow")
    p = command("bulk", "Act on every instance matching the filters (all given filters "
                "must match).", cmd_bulk)
    p.add_argument("action", choices=BULK_ACTIONS, metavar="ACTION",
                   help=" | ".join(BULK_ACTIONS))
    p.add_argument("--status", default=None, help="status as `show` prints it (e.g. Failed)")
    p.add_argument("--name", default=None, help="orchestration name")
    p.add_argument("--id-prefix", default=None, metavar="PREFIX", help="instance id prefix")
    p.add_argument("--created-after", type=non_negative, default=None, metavar="MS",
                   help="created at or after this epoch-milliseconds time")
    p.add_argument("--created-before", type=non_negative, default=None, metavar="MS",
                   help="created before this epoch-milliseconds time")
    p.add_argument("--reason", default=None, help="reason given to each action")
    p.add_argument("--dry-run", action="store_true", help="only list what would be acted on")


def listed_status(info: Any, suspended: Any) -> str:
    """The status column of `list` and `tree` from an InstanceInfo (whose status is the stored
    one): Canceled and Terminated told apart from Failed by the stored error, Suspended from
    Running by the set of suspended ids."""
    output = info.output if isinstance(info.output, str) else ""
    if info.status == "Failed" and output.startswith("canceled: "):
        return "Canceled"
    if info.status == "Failed" and output.startswith("terminated: "):
        return "Terminated"
    if info.status == "Running" and info.instance_id in suspended:
        return "Suspended"
    return str(info.status)


def _done(args: argparse.Namespace, client: ClientAPI, verb: str) -> int:
    after = client.get_status(args.instance_id)
    emit(args, {"instance_id": args.instance_id, "status": after.status},
         lambda: f"{verb} {args.instance_id} (status {after.status})")
    return EXIT_OK


def cmd_suspend(args: argparse.Namespace, client: ClientAPI) -> int:
    require_instance(client, args.instance_id)
    client.suspend_instance(args.instance_id, args.reason)
    return _done(args, client, "Suspended")


def cmd_resume(args: argparse.Namespace, client: ClientAPI) -> int:
    require_instance(client, args.instance_id)
    client.resume_instance(args.instance_id, args.reason)
    return _done(args, client, "Resumed")


def cmd_terminate(args: argparse.Namespace, client: ClientAPI) -> int:
    require_instance(client, args.instance_id)
    client.terminate_instance(args.instance_id, args.reason, output=args.output,
                              recursive=args.recursive)
    # The next turn of a runtime ends it: the status right now could be either.
    emit(args, {"instance_id": args.instance_id, "terminate_requested": True},
         lambda: f"Termination requested for {args.instance_id}")
    return EXIT_OK


def cmd_rerun(args: argparse.Namespace, client: ClientAPI) -> int:
    require_instance(client, args.instance_id)
    if args.check:
        registry = load_registry(args.check)
        new_id, start_before, _ = plan_rerun(client, args.instance_id, args.from_event,
                                             args.new_id)
        if start_before is not None:
            from duroxide.testing import replay
            prefix = rerun_prefix(current_events(client, args.instance_id), start_before)
            report = replay(prefix, registry, instance_id=new_id)
            if not report.ok:
                emit(args, {"instance_id": None, "source": args.instance_id, "verified": False,
                            "event_id": report.event_id, "recorded": report.recorded,
                            "actual": report.actual, "message": report.message},
                     lambda: f"Not rerun: the code no longer follows the history of "
                             f"{args.instance_id} (nothing was written)\n{report.message}")
                return EXIT_FAILED
    new_id = client.rerun(args.instance_id, from_event_id=args.from_event,
                          new_instance_id=args.new_id)
    emit(args, {"instance_id": new_id, "source": args.instance_id,
                "verified": True if args.check else None},
         lambda: f"Rerun of {args.instance_id} started as {new_id}")
    return EXIT_OK


class _Progress:
    """A progress bar on stderr for long runs (only on a terminal)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total < 50:
            return
        width = 30
        filled = width * done // total
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def cmd_bulk(args: argparse.Namespace, client: ClientAPI) -> int:
    check_bulk_action(args.action)
    filters = dict(status=args.status, name=args.name, id_prefix=args.id_prefix,
                   created_after_ms=args.created_after, created_before_ms=args.created_before,
                   reason=args.reason, dry_run=args.dry_run)
    if getattr(args, "url", None):
        result = client.bulk(args.action, **filters)  # the server runs it
    else:
        result = run_bulk(client, args.action, progress=_Progress(not args.json), **filters)

    def text() -> str:
        if result.dry_run:
            lines = [f"Would {result.action} {len(result.matched)} instance(s):"]
            lines += [f"  {iid}" for iid in result.matched]
            return "\n".join(lines)
        lines = [f"{result.action}: {len(result.matched)} matched, {len(result.done)} done, "
                 f"{len(result.failed)} failed"]
        lines += [f"  {iid}: {error}" for iid, error in result.failed]
        return "\n".join(lines)
    emit(args, result.to_json(), text)
    return EXIT_FAILED if result.failed else EXIT_OK


def pending_lines(p: PendingWork) -> List[str]:
    """The "Waiting on" section of `duroxide show`."""
    lines: List[str] = []
    for a in p.activities:
        why = f", waits for {a['waits_for']}" if a.get("waits_for") else ""
        err = f", last error: {a['last_error']}" if a.get("last_error") else ""
        lines.append(f"  activity #{a['activity_id']} {a['name']}: {a['state']} "
                     f"(attempt {a['attempt']}{why}{err})")
    for t in p.timers:
        lines.append(f"  timer #{t['timer_id']}: fires {fmt_ms(t['fire_at_ms'])}"
                     + (" (cancelled: lost a race)" if t["state"] == "cancelled" else ""))
    for e in p.events:
        lines.append(f"  event {e['name']!r} (since {fmt_ms(e['since_ms'])})")
    for q in p.queues:
        lines.append(f"  queue {q['name']!r} ({q['buffered']} buffered)")
    for r in p.requests:
        lines.append(f"  reply from {r['target']} to {r['operation']!r}")
    for s in p.sub_orchestrations:
        lines.append(f"  sub-orchestration {s['instance_id']} ({s['name']})")
    if p.buffered:
        lines.append("  buffered: " + ", ".join(f"{n} {k}" for k, n in sorted(p.buffered.items())))
    return lines
