"""Fleet commands of the `duroxide` CLI (docs/deployment.md).

    duroxide worker MODULE:ATTR --db DB [...]   run a worker process serving a Registry
    duroxide workers                            the worker registry as a table
    duroxide workers drain NAME                 ask a worker to drain
    duroxide workers prune [--retention-ms MS]  delete the records of silent workers
    duroxide doctor                             queued work and schedules no live worker can run
"""

from __future__ import annotations

import argparse
import inspect
import os
import re
import signal
import time
from types import FrameType
from typing import Any, Dict, List, Optional, Sequence

import duroxide
from duroxide._providers import open_provider
from duroxide.cli._base import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    CliError,
    Command,
    emit,
    json_arg,
    load_registry,
    non_negative,
    table,
)
from duroxide.cli.limits import limit_reason
from duroxide.client.api import ClientAPI
from duroxide.client.schedules import unserved_schedules
from duroxide.errors import InvalidArgumentError
from duroxide.worker.registry import Registry


def add_commands(command: Command) -> None:
    p = command("worker", "Run a worker process serving the Registry MODULE:ATTR.",
                cmd_worker, needs_client=False)
    p.add_argument("target", metavar="MODULE:ATTR",
                   help="a module (importable, or a .py path) and the name of a "
                        "duroxide.Registry in it")
    p.add_argument("--orchestration-concurrency", type=non_negative, metavar="N",
                   help="orchestration dispatcher threads (default 2; 0: activities only)")
    p.add_argument("--worker-concurrency", type=non_negative, metavar="N",
                   help="activity worker threads (default 2; 0: orchestrations only)")
    p.add_argument("--name-hint", metavar="H", help="name prefix instead of adjective-noun")
    p.add_argument("--node-id", metavar="ID",
                   help="stable worker identity: a restart keeps its name and sessions")
    p.add_argument("--tag", action="append", default=[], metavar="T",
                   help="also run activities tagged T (repeatable)")
    p.add_argument("--grace-seconds", type=float, default=30.0, metavar="N",
                   help="on SIGTERM/SIGINT, time to finish in-flight work (default 30)")
    p.add_argument("--capabilities", type=json_arg("--capabilities"), metavar="JSON",
                   help="capabilities document (JSON) stored with the worker")
    p.add_argument("--heartbeat-ms", type=non_negative, metavar="MS",
                   help="heartbeat interval in milliseconds (default 5000)")
    p.add_argument("--metrics-port", type=non_negative, metavar="PORT",
                   help="serve Prometheus metrics on http://HOST:PORT/metrics "
                        "(needs prometheus_client)")
    p.add_argument("--metrics-host", default="127.0.0.1", metavar="HOST",
                   help="address for --metrics-port (default 127.0.0.1; 0.0.0.0 for all)")

    p = command("workers", "List the workers registered in the store, drain one, or prune "
                           "the records of silent ones.", cmd_workers)
    p.add_argument("action", nargs="?", choices=["drain", "prune"],
                   help="drain: ask NAME to drain; prune: delete records silent for longer "
                        "than --retention-ms")
    p.add_argument("worker", nargs="?", metavar="NAME", help="worker name or id (for drain)")
    p.add_argument("--retention-ms", type=non_negative, default=24 * 3600 * 1000, metavar="MS",
                   help="prune: keep records heard from within MS milliseconds (default 24 h)")

    command("doctor", "Show queued work and schedules that no live worker can run, and the "
            "workers.", cmd_doctor)


# ---- duroxide worker ------------------------------------------------------------------------


def worker_registry(target: str) -> Registry:
    """The duroxide.Registry a worker serves, named by MODULE:ATTR. Raises CliError (exit 2)
    otherwise."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise CliError(f"worker target must be MODULE:ATTR, got {target!r}", EXIT_USAGE)
    return load_registry(target)


def redact(db: str) -> str:
    """The store for logs: a URL's password replaced by ***."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", db)


def open_store(db: Optional[str], schema: Optional[str]) -> Any:
    """The provider for a worker: a SQLite file (created if missing) or PostgreSQL.

    Raises CliError: exit 2 without a store, exit 1 naming the store if it cannot be reached.
    """
    if not db:
        raise CliError("no store given: pass --db PATH_OR_URL or set DUROXIDE_DB", EXIT_USAGE)
    if ":memory:" in db and not db.startswith(("postgres://", "postgresql://")):
        raise CliError("a worker needs a shared store: an in-memory database is private "
                       "to one process", EXIT_USAGE)
    try:
        return open_provider(db, schema)
    except InvalidArgumentError as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    except RuntimeError as exc:
        raise CliError(f"cannot reach store {redact(db)}: {exc}", EXIT_FAILED) from None


def worker_options(args: argparse.Namespace) -> Any:
    kwargs: Dict[str, Any] = {}
    if args.orchestration_concurrency is not None:
        kwargs["orchestration_concurrency"] = args.orchestration_concurrency
    if args.worker_concurrency is not None:
        kwargs["worker_concurrency"] = args.worker_concurrency
    if args.node_id:
        kwargs["worker_node_id"] = args.node_id
    if args.tag:
        kwargs["worker_tag_filter"] = duroxide.TagFilter.default_and(list(args.tag))
    if args.name_hint:
        kwargs["worker_name_hint"] = args.name_hint
    if args.heartbeat_ms is not None:
        kwargs["heartbeat_interval_ms"] = args.heartbeat_ms
    accepts_capabilities = "capabilities" in inspect.signature(duroxide.RuntimeOptions).parameters
    if args.capabilities is not None and accepts_capabilities:
        kwargs["capabilities"] = args.capabilities
    try:
        options = duroxide.RuntimeOptions(**kwargs)
    except (TypeError, ValueError) as exc:
        raise CliError(str(exc), EXIT_USAGE) from None
    if args.capabilities is not None and not accepts_capabilities:
        # Stored as given in the worker record (read by Runtime through getattr).
        object.__setattr__(options, "capabilities", args.capabilities)
    return options


def _describe(registry: Any) -> str:
    orchestrations = ", ".join(f"{n}@{v}" for n, v in registry.orchestration_names()) or "-"
    activities = ", ".join(registry.activity_names()) or "-"
    return f"orchestrations [{orchestrations}]; activities [{activities}]"


class _Signals:
    """First SIGTERM/SIGINT: drain. Second: exit at once (locks expire, work is recovered)."""

    def __init__(self) -> None:
        self.received: List[int] = []

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: Optional[FrameType]) -> None:
        self.received.append(signum)
        if len(self.received) > 1:
            _log(f"second signal ({signal.Signals(signum).name}): exiting now")
            os._exit(128 + signum)


def _log(message: str) -> None:
    print(f"duroxide worker: {message}", flush=True)


def cmd_worker(args: argparse.Namespace) -> int:
    registry = worker_registry(args.target)
    options = worker_options(args)
    provider = open_store(args.db, args.schema)
    signals = _Signals()
    signals.install()
    runtime = duroxide.Runtime(provider, options, registry=registry)
    metrics = None
    if args.metrics_port is not None:
        # Before start(): a port in use fails the command before any work is claimed.
        try:
            metrics = runtime.serve_metrics(args.metrics_port, args.metrics_host)
        except InvalidArgumentError as exc:
            raise CliError(str(exc), EXIT_FAILED) from None
    try:
        runtime.start()
    except RuntimeError as exc:
        raise CliError(f"cannot start the worker on {redact(args.db)}: {exc}",
                       EXIT_FAILED) from None
    if metrics is not None:
        _log(f"metrics on {metrics.url}")
    _log(f"{runtime.worker_name or '(unregistered)'} (id {runtime.worker_id}, pid {os.getpid()}) "
         f"serving store {redact(args.db)}: {_describe(registry)}")
    grace_ms = int(max(args.grace_seconds, 0) * 1000)
    while not signals.received and not runtime.drained:
        time.sleep(0.1)
    if signals.received:
        _log(f"{signal.Signals(signals.received[0]).name}: draining "
             f"(grace {args.grace_seconds:g} s; send again to exit at once)")
        runtime.drain(timeout_ms=grace_ms + 5000, grace_ms=grace_ms)
    else:
        _log("drain requested through the store: drained")
    runtime.shutdown(1000)
    _log(f"{runtime.worker_name or runtime.worker_id} stopped")
    return EXIT_OK


# ---- duroxide workers / doctor --------------------------------------------------------------


def _ago(ms: int) -> str:
    if ms < 1000:
        return f"{ms} ms ago"
    if ms < 120000:
        return f"{ms / 1000:.1f} s ago"
    if ms < 7200000:
        return f"{ms // 60000} min ago"
    return f"{ms // 3600000} h ago"


def _load_text(load: Dict[str, Any]) -> str:
    return (f"{load.get('turns_in_flight', 0)} turns, "
            f"{load.get('activities_in_flight', 0)} activities, "
            f"{load.get('items_processed', 0)} done")


def _workers_table(workers: List[Any]) -> str:
    rows: List[Sequence[Any]] = [[w.name, w.host, w.status, _load_text(w.load),
                                  w.sessions_held, _ago(w.last_seen_ms_ago)] for w in workers]
    if not rows:
        return "no workers registered"
    return table(["NAME", "HOST", "STATUS", "LOAD", "SESSIONS", "LAST SEEN"], rows)


def cmd_workers(args: argparse.Namespace, client: ClientAPI) -> int:
    if args.action == "drain":
        if not args.worker:
            raise CliError("workers drain needs a worker NAME (or id)", EXIT_USAGE)
        worker = client.drain_worker(args.worker)
        emit(args, worker.to_dict(),
             lambda: f"drain requested for {worker.name} ({worker.worker_id}); it stops "
                      "claiming work at its next heartbeat")
        return EXIT_OK
    if args.action == "prune":
        pruned = client.prune_workers(args.retention_ms)
        emit(args, {"pruned": pruned}, lambda: f"pruned {pruned} worker record(s)")
        return EXIT_OK
    if args.worker:
        raise CliError(f"unexpected argument {args.worker!r} (did you mean 'workers drain "
                       f"{args.worker}'?)", EXIT_USAGE)
    workers = client.list_workers()
    emit(args, [w.to_dict() for w in workers], lambda: _workers_table(workers))
    return EXIT_OK


def cmd_doctor(args: argparse.Namespace, client: ClientAPI) -> int:
    workers = client.list_workers()
    stuck = client.list_unservable_work()
    # Parked instances (on_failure="suspend", a failed rerun check, an operator's suspend).
    suspended = [(iid, client.get_status(iid).error or "")
                 for iid in client.list_instances_by_status("Suspended")]
    unserved = unserved_schedules(workers, client.list_schedules())
    # Activities that name a limit nobody defined wait forever (docs/flow-control.md).
    undefined = [w for w in client.list_waiting_activities()
                 if w.get("reason") == "undefined_limit"]

    def text() -> str:
        live = [w for w in workers if w.live]
        lines = [f"{len(live)} live worker(s) of {len(workers)} registered"]
        if suspended:
            lines.append(f"{len(suspended)} suspended instance(s) (resume after the fix):")
            lines += [f"  {iid}: {reason.splitlines()[0] if reason else '-'}"
                      for iid, reason in suspended]
        if not stuck:
            lines.append("no unservable work: every queued item has a live worker that can run it")
        else:
            lines.append(f"{sum(s.count for s in stuck)} queued item(s) no live worker can run:")
            rows: List[Sequence[Any]] = [[s.kind, s.name, s.version or "-", s.tag or "-",
                                          s.count, f"{s.oldest_wait_ms / 1000:.1f} s", s.reason]
                                         for s in stuck]
            lines.append(table(["KIND", "NAME", "VERSION", "TAG", "COUNT", "WAITING", "REASON"],
                               rows))
        if unserved:
            lines.append(f"{len(unserved)} schedule(s) whose orchestration no live worker "
                         "serves:")
            lines.append(table(["SCHEDULE", "ORCHESTRATION", "VERSION", "REASON"],
                               [[u["schedule_id"], u["orchestration"], u["version"] or "-",
                                 u["reason"]] for u in unserved]))
        if undefined:
            lines.append(f"{len(undefined)} activit{'y' if len(undefined) == 1 else 'ies'} "
                         "waiting for a limit that is not defined (client.set_limit):")
            lines.append(table(["INSTANCE", "ACTIVITY", "LIMIT", "WAITING", "REASON"],
                               [[w["instance_id"], w["name"], w["limit"],
                                 f"{w['waiting_ms'] / 1000:.1f} s", limit_reason(w)]
                                for w in undefined]))
        return "\n".join(lines)

    emit(args, {"workers": [w.to_dict() for w in workers],
                 "unservable": [s.to_dict() for s in stuck],
                 "suspended": [{"instance_id": i, "reason": r} for i, r in suspended],
                 "unserved_schedules": unserved,
                 "undefined_limits": [dict(w) for w in undefined]}, text)
    return EXIT_OK
