"""CLI commands for named limits (docs/flow-control.md):

    duroxide limits                         every limit: settings, in flight, waiting, top keys
    duroxide limit set NAME [--concurrency N] [--rate-per-s R] [--burst B] [--per-key]
    duroxide limit show|delete NAME

A refused call (bad settings) exits 1 with the error on one line; an unknown name exits 3.
"""

from __future__ import annotations

import argparse
from typing import Any, List, Sequence

from duroxide.cli._base import EXIT_OK, Command, add_common_options, emit, table
from duroxide.client.api import ClientAPI
from duroxide.client.limits import Limit, LimitInfo


def settings(info: LimitInfo) -> str:
    """'concurrency 3, 20/s (burst 20), per key' style summary of a limit's settings."""
    parts: List[str] = []
    if info.concurrency is not None:
        parts.append(f"concurrency {info.concurrency}")
    if info.rate_per_s is not None:
        parts.append(f"{info.rate_per_s:g}/s (burst {info.burst or 0:g})")
    if info.per_key:
        parts.append("per key")
    return ", ".join(parts)


def top_keys(info: LimitInfo) -> str:
    return ", ".join(f"{k or '(none)'}={f}" + (f"+{w}q" if w else "")
                     for k, f, w in info.top_keys[:3]) or "-"


def limit_reason(r: Any) -> str:
    """Why a waiting activity (list_waiting_activities row) waits for its limit."""
    key = f" (key {r['limit_key']})" if r.get("limit_key") else ""
    if r["reason"] == "undefined_limit":
        return f"limit {r['limit']!r} is not defined{key}"
    return f"limit {r['limit']!r} is full or out of tokens{key}"


def add_commands(command: Command) -> None:
    command("limits", "List named limits: settings, in flight, waiting, busiest keys.",
            cmd_limits)
    p = command("limit", "Set, show or delete a named limit.")
    sub = p.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True
    put = sub.add_parser("set", help="create or replace a limit")
    put.add_argument("name", metavar="NAME")
    put.add_argument("--concurrency", type=int, default=None, metavar="N",
                     help="at most N in flight across the fleet")
    put.add_argument("--rate-per-s", type=float, default=None, metavar="R",
                     help="at most R starts per second (token bucket)")
    put.add_argument("--burst", type=float, default=None, metavar="B",
                     help="bucket size (default: one second of rate)")
    put.add_argument("--per-key", action="store_true", help="apply to each limit key")
    put.set_defaults(handler=cmd_set)
    for action, handler, text in (("show", cmd_show, "show a limit and its load"),
                                  ("delete", cmd_delete, "delete a limit")):
        q = sub.add_parser(action, help=text)
        q.add_argument("name", metavar="NAME")
        q.set_defaults(handler=handler)
    for q in sub.choices.values():  # --db, --url, --json also after the action
        add_common_options(q, top_level=False)


def _show(args: argparse.Namespace, info: LimitInfo) -> int:
    def text() -> str:
        rows: List[Sequence[Any]] = [
            ["limit", info.name], ["settings", settings(info)],
            ["in flight", info.in_flight], ["waiting", info.waiting]]
        for key, flight, waiting in info.top_keys:
            rows.append([f"  key {key or '(none)'}", f"{flight} in flight, {waiting} waiting"])
        return "\n".join(f"{k:<14}{v}" for k, v in rows)

    emit(args, info.to_dict(), text)
    return EXIT_OK


def cmd_limits(args: argparse.Namespace, client: ClientAPI) -> int:
    items = client.list_limits()

    def text() -> str:
        if not items:
            return "no limits"
        rows = [[i.name, settings(i), i.in_flight, i.waiting, top_keys(i)] for i in items]
        return table(["NAME", "SETTINGS", "IN FLIGHT", "WAITING", "TOP KEYS"], rows)

    emit(args, [i.to_dict() for i in items], text)
    return EXIT_OK


def cmd_set(args: argparse.Namespace, client: ClientAPI) -> int:
    client.set_limit(args.name, Limit(args.concurrency, args.rate_per_s, args.burst,
                                      args.per_key))
    return _show(args, client.get_limit(args.name))


def cmd_show(args: argparse.Namespace, client: ClientAPI) -> int:
    return _show(args, client.get_limit(args.name))


def cmd_delete(args: argparse.Namespace, client: ClientAPI) -> int:
    client.delete_limit(args.name)
    emit(args, {"deleted": args.name}, lambda: f"deleted limit {args.name}")
    return EXIT_OK


__all__ = ["add_commands", "limit_reason", "settings", "top_keys"]
