"""CLI subcommands for messaging (docs/messaging.md): send, publish, request, topics, topic,
dead-letters, actors and actor."""

from __future__ import annotations

import argparse
import json
from typing import Any, List, Sequence

from duroxide.cli._base import (
    EXIT_OK,
    Command,
    emit,
    instance_command,
    json_arg,
    json_option,
    payload_args,
    positive,
    table,
)
from duroxide.client.api import ClientAPI
from duroxide.workflow.messages import DEFAULT_REQUEST_TIMEOUT_MS


def add_commands(command: Command) -> None:
    p = instance_command(command, "send", "Send a message to an instance's queue (received by "
                         "receive_message).", cmd_send)
    payload_args(p, "queue", "QUEUE", "message data")

    p = command("publish", "Publish an event to every subscriber of a topic.", cmd_publish)
    payload_args(p, "topic", "TOPIC", "event data")

    p = instance_command(command, "request", "Send a request to an instance and print its "
                         "reply.", cmd_request)
    payload_args(p, "operation", "OPERATION", "request data")
    p.add_argument("--timeout-ms", type=positive, default=DEFAULT_REQUEST_TIMEOUT_MS,
                   metavar="MS", help="give up after MS milliseconds (default 30000)")

    command("topics", "List topics with their subscriber count and backlog.", cmd_topics)

    p = command("topic", "Show a topic's subscribers and their cursor lag.", cmd_topic)
    p.add_argument("topic", metavar="NAME")

    p = command("dead-letters", "List undeliverable messages; --redeliver ID / --purge.",
                cmd_dead_letters)
    p.add_argument("--instance", metavar="ID", help="only messages meant for this instance")
    p.add_argument("--redeliver", type=int, metavar="DLID",
                   help="move dead letter DLID back to its recipient's queue")
    p.add_argument("--purge", action="store_true",
                   help="delete the dead letters (all, or those of --instance)")

    p = command("actors", "List actor instances with their status.", cmd_actors)
    p.add_argument("--type", dest="actor_type", metavar="TYPE", help="only this actor type")

    p = command("actor", "Show an actor's state, or send it a message or a request.", cmd_actor)
    p.add_argument("actor_type", metavar="TYPE")
    p.add_argument("key", metavar="KEY")
    action = p.add_mutually_exclusive_group()
    action.add_argument("--send", type=json_arg("--send"), metavar="JSON",
                        help="send this message (the actor starts if absent)")
    action.add_argument("--request", type=json_arg("--request"), metavar="JSON",
                        help="send this request and print the reply")

    p = command("debounce", "Add an item to KEY's open batch; print the batch's instance id "
                            "(docs/flow-control.md).", cmd_debounce)
    p.add_argument("key", metavar="KEY")
    p.add_argument("orchestration", metavar="ORCHESTRATION")
    json_option(p, "--item", "the item")
    p.add_argument("--window-ms", type=positive, required=True, metavar="MS",
                   help="start the batch after MS milliseconds without a new item")
    p.add_argument("--max-wait-ms", type=positive, metavar="MS",
                   help="start it at the latest MS milliseconds after its first item")
    p.add_argument("--max-items", type=positive, metavar="N", help="start it at N items")
    p.add_argument("--version", metavar="V", help="pin the batch orchestration's version")


def cmd_send(args: argparse.Namespace, client: ClientAPI) -> int:
    message_id = client.send_message(args.instance_id, args.queue, args.data)
    emit(args, {"instance_id": args.instance_id, "queue": args.queue, "message_id": message_id},
         lambda: f"Sent message {message_id} to queue '{args.queue}' of {args.instance_id}")
    return EXIT_OK


def cmd_publish(args: argparse.Namespace, client: ClientAPI) -> int:
    seq = client.publish_event(args.topic, args.data)
    emit(args, {"topic": args.topic, "seq": seq},
         lambda: f"Published event {seq} to topic '{args.topic}'")
    return EXIT_OK


def cmd_request(args: argparse.Namespace, client: ClientAPI) -> int:
    reply = client.request(args.instance_id, args.operation, args.data, args.timeout_ms)
    emit(args, {"instance_id": args.instance_id, "operation": args.operation, "reply": reply},
         lambda: json.dumps(reply))
    return EXIT_OK


def cmd_debounce(args: argparse.Namespace, client: ClientAPI) -> int:
    batch = client.debounce(args.key, args.orchestration, args.item, window_ms=args.window_ms,
                            max_wait_ms=args.max_wait_ms, max_items=args.max_items,
                            version=args.version)
    emit(args, {"key": args.key, "instance_id": batch}, lambda: batch)
    return EXIT_OK


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


def cmd_actors(args: argparse.Namespace, client: ClientAPI) -> int:
    actors = client.list_actors(args.actor_type)
    rows: List[Sequence[Any]] = [(a.actor_type, a.key, a.status, a.instance_id) for a in actors]
    emit(args, [{"actor_type": a.actor_type, "key": a.key, "status": a.status,
                 "instance_id": a.instance_id} for a in actors],
         lambda: table(("TYPE", "KEY", "STATUS", "INSTANCE"), rows) if rows else "No actors.")
    return EXIT_OK


def cmd_actor(args: argparse.Namespace, client: ClientAPI) -> int:
    ref = client.actor(args.actor_type, args.key)
    if args.send is not None:
        message_id = ref.send(args.send)
        emit(args, {"instance_id": ref.instance_id, "message_id": message_id},
             lambda: f"Sent message {message_id} to {ref.instance_id}")
    elif args.request is not None:
        reply = ref.request(args.request)
        emit(args, {"instance_id": ref.instance_id, "reply": reply}, lambda: json.dumps(reply))
    else:
        state = ref.state()
        emit(args, {"instance_id": ref.instance_id, "state": state},
             lambda: json.dumps(state, indent=2, sort_keys=True))
    return EXIT_OK
