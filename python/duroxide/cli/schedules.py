"""CLI commands for durable schedules (docs/schedules.md):

    duroxide schedules                                  every schedule, next fire time
    duroxide schedule create ID ORCHESTRATION (--cron EXPR | --every DURATION) ...
    duroxide schedule show|pause|resume|trigger|delete ID
    duroxide schedule update ID [--cron ...] [--every ...] [...]
    duroxide schedule backfill ID --start TIME --end TIME

A refused call (bad option, existing id) exits 1 with the error on one line; an unknown id
exits 3.
"""

from __future__ import annotations

import argparse
import re
import time
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Sequence

from duroxide.cli._base import (
    EXIT_OK,
    Command,
    add_common_options,
    emit,
    fmt_ms,
    json_arg,
    table,
)
from duroxide.client.api import ClientAPI
from duroxide.client.schedules import OVERLAP_POLICIES, ScheduleInfo

_UNITS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def duration_ms(value: str) -> int:
    """'90s', '5m', '1h30m', '250ms' or a bare number of milliseconds."""
    text = value.strip().lower()
    if text.isdigit():
        return int(text)
    parts = re.findall(r"(\d+)(ms|s|m|h|d)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise argparse.ArgumentTypeError(
            f"invalid duration {value!r} (e.g. 30s, 5m, 1h30m, 250ms, or milliseconds)")
    return sum(int(n) * _UNITS[u] for n, u in parts)


def time_ms(value: str) -> int:
    """Epoch milliseconds, or an ISO-8601 time (UTC unless it names an offset)."""
    if value.strip().isdigit():
        return int(value)
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid time {value!r} (epoch milliseconds or ISO 8601, e.g. 2026-01-31T09:00Z)"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp() * 1000)


def relative(ms: Optional[int], now_ms: int) -> str:
    """'in 4m 10s' / '3s ago' ('-' for None)."""
    if ms is None:
        return "-"
    delta = (ms - now_ms) // 1000
    span = abs(delta)
    text = (f"{span // 86400}d {span % 86400 // 3600}h" if span >= 86400 else
            f"{span // 3600}h {span % 3600 // 60}m" if span >= 3600 else
            f"{span // 60}m {span % 60}s" if span >= 60 else f"{span}s")
    return f"in {text}" if delta >= 0 else f"{text} ago"


def _when(s: ScheduleInfo) -> str:
    return f"cron {s.cron} ({s.timezone})" if s.cron else f"every {s.every_ms} ms"


def _options(p: argparse.ArgumentParser, create: bool) -> None:
    p.add_argument("--input", type=json_arg("--input"), default=argparse.SUPPRESS,
                   metavar="JSON", help="the input of every run, as JSON (default: null)")
    p.add_argument("--cron", default=argparse.SUPPRESS, metavar="EXPR",
                   help="cron expression: 5 fields, or 6 with seconds first")
    p.add_argument("--every", type=duration_ms, default=argparse.SUPPRESS,
                   metavar="DURATION", help="interval, e.g. 30s, 5m, 1h (at least 1 s)")
    p.add_argument("--timezone", default=argparse.SUPPRESS, metavar="TZ",
                   help="IANA zone of the cron expression (default UTC)")
    p.add_argument("--overlap", default=argparse.SUPPRESS, metavar="POLICY",
                   help="when the previous run still runs: " + ", ".join(OVERLAP_POLICIES))
    p.add_argument("--version", dest="orch_version", default=argparse.SUPPRESS, metavar="V",
                   help="orchestration version to start (default: the latest)")
    p.add_argument("--catchup-window", type=duration_ms, default=argparse.SUPPRESS,
                   metavar="DURATION", help="how late a missed run may still start (1m)")
    p.add_argument("--jitter", type=duration_ms, default=argparse.SUPPRESS, metavar="DURATION",
                   help="spread each start by up to this much (deterministic per run)")
    p.add_argument("--start-at", type=time_ms, default=argparse.SUPPRESS, metavar="TIME")
    p.add_argument("--end-at", type=time_ms, default=argparse.SUPPRESS, metavar="TIME")
    p.add_argument("--note", default=argparse.SUPPRESS, metavar="TEXT")
    if create:
        p.add_argument("--paused", action="store_true", default=argparse.SUPPRESS,
                       help="create it paused")


_OPTION_FIELDS = {"input": "input", "cron": "cron", "every": "every_ms", "timezone": "timezone",
                  "overlap": "overlap", "orch_version": "version",
                  "catchup_window": "catchup_window_ms", "jitter": "jitter_ms",
                  "start_at": "start_at_ms", "end_at": "end_at_ms", "note": "note",
                  "paused": "paused", "orchestration": "orchestration"}


def _given(args: argparse.Namespace) -> Dict[str, Any]:
    return {field: getattr(args, opt) for opt, field in _OPTION_FIELDS.items()
            if hasattr(args, opt)}


def add_commands(command: Command) -> None:
    command("schedules", "List schedules with their next fire time.", cmd_schedules)
    p = command("schedule", "Create, show, change, pause, resume, trigger, backfill or delete "
                            "a schedule.")
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    create = sub.add_parser("create", help="create a schedule")
    create.add_argument("schedule_id", metavar="ID")
    create.add_argument("orchestration", metavar="ORCHESTRATION")
    _options(create, True)
    create.set_defaults(handler=cmd_create)
    update = sub.add_parser("update", help="change options of a schedule")
    update.add_argument("schedule_id", metavar="ID")
    update.add_argument("--orchestration", default=argparse.SUPPRESS, metavar="NAME")
    _options(update, False)
    update.set_defaults(handler=cmd_update)
    for action, handler, text in (("show", cmd_show, "show a schedule"),
                                  ("pause", cmd_pause, "stop a schedule from firing"),
                                  ("resume", cmd_resume, "resume a paused schedule"),
                                  ("trigger", cmd_trigger, "start one run now"),
                                  ("delete", cmd_delete, "delete a schedule")):
        q = sub.add_parser(action, help=text)
        q.add_argument("schedule_id", metavar="ID")
        q.set_defaults(handler=handler)
        if action == "pause":
            q.add_argument("--note", default=None, metavar="TEXT", help="why it is paused")
    backfill = sub.add_parser("backfill", help="start the runs of a past window now")
    backfill.add_argument("schedule_id", metavar="ID")
    backfill.add_argument("--start", type=time_ms, required=True, metavar="TIME")
    backfill.add_argument("--end", type=time_ms, required=True, metavar="TIME")
    backfill.set_defaults(handler=cmd_backfill)
    for q in sub.choices.values():  # --db, --url, --json also after the action
        add_common_options(q, top_level=False)


def _show(args: argparse.Namespace, s: ScheduleInfo) -> int:
    now = int(time.time() * 1000)

    def text() -> str:
        rows: List[Sequence[Any]] = [
            ["schedule", s.schedule_id], ["orchestration", s.orchestration],
            ["version", s.version or "(latest)"], ["when", _when(s)],
            ["overlap", s.overlap], ["paused", "yes" if s.paused else "no"],
            ["note", s.note or "-"],
            ["next fire", f"{fmt_ms(s.next_fire_ms)} ({relative(s.next_fire_ms, now)})"],
            ["last fire", f"{fmt_ms(s.last_fire_ms)} ({relative(s.last_fire_ms, now)})"],
            ["fired / missed / skipped",
             f"{s.fired_count} / {s.missed_count} / {s.skipped_count}"],
            ["recent runs", ", ".join(s.recent_instances) or "-"]]
        return "\n".join(f"{k:<26}{v}" for k, v in rows)

    emit(args, s.to_dict(), text)
    return EXIT_OK


def cmd_schedules(args: argparse.Namespace, client: ClientAPI) -> int:
    items = client.list_schedules()
    now = int(time.time() * 1000)

    def text() -> str:
        if not items:
            return "no schedules"
        rows = [[s.schedule_id, s.orchestration, _when(s), "paused" if s.paused else s.overlap,
                 relative(s.next_fire_ms, now), fmt_ms(s.next_fire_ms),
                 fmt_ms(s.last_fire_ms)] for s in items]
        return table(["ID", "ORCHESTRATION", "WHEN", "STATE", "NEXT", "NEXT (UTC)",
                      "LAST (UTC)"], rows)

    emit(args, [s.to_dict() for s in items], text)
    return EXIT_OK


def cmd_create(args: argparse.Namespace, client: ClientAPI) -> int:
    options = _given(args)
    options.pop("orchestration", None)  # the positional argument
    input_value = options.pop("input", None)
    return _show(args, client.create_schedule(args.schedule_id, args.orchestration,
                                              input_value, **options))


def cmd_update(args: argparse.Namespace, client: ClientAPI) -> int:
    return _show(args, client.update_schedule(args.schedule_id, **_given(args)))


def cmd_show(args: argparse.Namespace, client: ClientAPI) -> int:
    return _show(args, client.get_schedule(args.schedule_id))


def cmd_pause(args: argparse.Namespace, client: ClientAPI) -> int:
    return _show(args, client.pause_schedule(args.schedule_id, args.note))


def cmd_resume(args: argparse.Namespace, client: ClientAPI) -> int:
    return _show(args, client.resume_schedule(args.schedule_id))


def cmd_trigger(args: argparse.Namespace, client: ClientAPI) -> int:
    instance_id = client.trigger_schedule(args.schedule_id)
    emit(args, {"instance_id": instance_id}, lambda: f"started {instance_id}")
    return EXIT_OK


def cmd_backfill(args: argparse.Namespace, client: ClientAPI) -> int:
    ids = client.backfill_schedule(args.schedule_id, args.start, args.end)
    emit(args, {"instance_ids": ids},
         lambda: f"started {len(ids)} run(s)" + "".join(f"\n  {i}" for i in ids))
    return EXIT_OK


def cmd_delete(args: argparse.Namespace, client: ClientAPI) -> int:
    client.delete_schedule(args.schedule_id)
    emit(args, {"deleted": args.schedule_id}, lambda: f"deleted schedule {args.schedule_id}")
    return EXIT_OK


__all__ = ["add_commands", "duration_ms", "time_ms"]
