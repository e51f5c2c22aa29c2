"""CLI subcommands for messaging (docs/messaging.md): topics, topic, dead-letters."""

from __future__ import annotations

import argparse
import json
from typing import Any, List, Sequence

from duroxide.cli._base import EXIT_OK, Command, emit, table
from duroxide.client.api import ClientAPI


def add_commands(command: Command) -> None:
    p = command("topics", "List topics with their subscriber count and backlog.")
    p.set_defaults(handler=cmd_topics)

    p = command("topic", "Show a topic's subscribers and their cursor lag.")
    p.add_argument("topic", metavar="NAME")
    p.set_defaults(handler=cmd_topic)

    p = command("dead-letters", "List undeliverable messages; --redeliver ID / --purge.")
    p.add_argument("--instance", metavar="ID", help="only messages meant for this instance")
    p.add_argument("--redeliver", type=int, metavar="DLID",
                   help="move dead letter DLID back to its recipient's queue")
    p.add_argument("--purge", action="store_true",
                   help="delete the dead letters (all, or those of --instance)")
    p.set_defaults(handler=cmd_dead_letters)


def cmd_topics(args: argparse.Namespace, client: ClientAPI) -> int:
    topics = client.list_topics()
    rows: List[Sequence[Any]] = [(t.topic, t.subscribers, t.backlog, t.last_seq) for t in topics]
    emit(args, [{"topic": t.topic, "subscribers": t.subscribers, "backlog": t.backlog,
                  "last_seq": t.last_seq} for t in topics],
         lambda: table(("TOPIC", "SUBSCRIBERS", "BACKLOG", "LAST SEQ"), rows))
    return EXIT_OK


def cmd_topic(args: argparse.Namespace, client: ClientAPI) -> int:
    detail = client.get_topic(args.topic)
    rows: List[Sequence[Any]] = [(s.instance_id, s.cursor, s.lag) for s in detail.subscribers]

    def text() -> str:
        head = (f"topic {detail.topic}: last seq {detail.last_seq}, "
                f"{len(detail.subscribers)} subscriber(s), backlog {detail.backlog}")
        return head + "\n" + table(("SUBSCRIBER", "CURSOR", "LAG"), rows)

    emit(args, {"topic": detail.topic, "last_seq": detail.last_seq, "backlog": detail.backlog,
                 "subscribers": [{"instance_id": s.instance_id, "cursor": s.cursor,
                                  "lag": s.lag} for s in detail.subscribers]}, text)
    return EXIT_OK


def cmd_dead_letters(args: argparse.Namespace, client: ClientAPI) -> int:
    if args.redeliver is not None:
        client.redeliver_dead_letter(args.redeliver)
        emit(args, {"redelivered": args.redeliver},
             lambda: f"dead letter {args.redeliver} redelivered")
        return EXIT_OK
    if args.purge:
        n = client.purge_dead_letters(instance_id=args.instance)
        emit(args, {"purged": n}, lambda: f"purged {n} dead letter(s)")
        return EXIT_OK
    letters = client.list_dead_letters(args.instance)
    rows: List[Sequence[Any]] = [(d.id, d.instance_id, d.queue, json.dumps(d.data)[:40],
                                    d.reason) for d in letters]
    emit(args, [{"id": d.id, "instance_id": d.instance_id, "queue": d.queue, "data": d.data,
                  "reason": d.reason, "sender": d.sender, "created_at_ms": d.created_at_ms}
                 for d in letters],
         lambda: table(("ID", "INSTANCE", "QUEUE", "DATA", "REASON"), rows))
    return EXIT_OK
