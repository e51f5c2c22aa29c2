"""Model-checked client (issue 21, item 2; docs/reliability.md, "The client model").

Several client threads issue seeded random client operations (start, a duplicate start,
raise_event, enqueue_event, send_message, cancel, delete, status reads) against instances of
one orchestration while a runtime runs (on PostgreSQL, optionally also a second runtime in
another process). Every operation is recorded with its real-time interval (start, end) and
its outcome. When the run is quiet, the store is checked against a simple model:

- an acknowledged write took effect exactly once or was reported: a message is in the
  instance's history once, or in the dead letters once (never neither, never twice);
- an acknowledged start created the instance once; a refused start (already-exists) had
  another acknowledged start of that id;
- an acknowledged cancel ended the instance (Failed, one OrchestrationCancelRequested);
- a write acknowledged before the first cancel of its instance began is in the history (the
  queue is FIFO per instance, so it reached a turn no later than the cancel did); only a write
  that raced with or followed a cancel may find the instance ended: an external event is then
  discarded (documented: events for a finished instance are not kept), a queue message becomes
  a dead letter;
- an acknowledged delete removed the instance;
- no operation failed with an error other than the ones its contract allows.

The orchestration consumes its queue for ever (dequeue_event "q") and never waits for the
external events, so every event is recorded in history on arrival (positional delivery does
not matter to the model) and every queue message is taken.

    python scripts/model_client.py --store sqlite --ops 2000 --seed 1
    python scripts/model_client.py --store postgres --ops 2000 --runtimes 2
Prints one JSON line of figures; exits 1 if the model was violated.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import campaign  # noqa: E402
from duroxide import (  # noqa: E402
    Client,
    DuroxideError,
    OrchestrationContext,
    PostgresProvider,
    Runtime,
    RuntimeOptions,
    SqliteProvider,
)

ORCHESTRATION = "ModelSink"
# Per operation: which error codes its contract allows (anything else is a violation).
ALLOWED_ERRORS = {
    "start": {"already-exists"},
    "dup_start": {"already-exists"},
    "delete": {"failed-precondition", "not-found"},
}
# Relative weights of the operations a thread picks from.
WEIGHTS = {"start": 10, "dup_start": 3, "raise_event": 18, "enqueue_event": 18,
           "send_message": 14, "cancel": 7, "delete": 4, "status": 8}
MESSAGE_OPS = ("raise_event", "enqueue_event", "send_message")


def register(rt: Runtime) -> None:
    @rt.register_orchestration(ORCHESTRATION)
    def sink(ctx: OrchestrationContext, _: Any) -> Any:
        while True:
            yield ctx.dequeue_event("q")


def runtime_options() -> RuntimeOptions:
    return RuntimeOptions(dispatcher_poll_interval_ms=20, worker_lock_timeout_ms=2000)


@dataclass
class Op:
    seq: int
    kind: str
    instance: str
    token: str
    start: float
    end: float = 0.0
    error: Optional[str] = None  # error code, None when acknowledged


@dataclass
class IdState:
    started: bool = False          # an acknowledged start
    first_cancel_start: float = float("inf")
    cancelled: bool = False        # an acknowledged cancel
    deleting: bool = False         # a delete was attempted: no new operations target it
    deleted: bool = False          # an acknowledged delete


@dataclass
class Model:
    ids: List[str]
    lock: threading.Lock = field(default_factory=threading.Lock)
    state: Dict[str, IdState] = field(default_factory=dict)
    ops: List[Op] = field(default_factory=list)
    seq: int = 0

    def __post_init__(self) -> None:
        self.state = {i: IdState() for i in self.ids}

    def next_seq(self) -> int:
        with self.lock:
            self.seq += 1
            return self.seq


def pick_target(model: Model, rng: random.Random, kind: str) -> Optional[str]:
    """An instance id for `kind`, or None when no id fits yet."""
    with model.lock:
        if kind == "start":
            fresh = [i for i, s in model.state.items() if not s.started and not s.deleting]
            return rng.choice(fresh) if fresh else None
        if kind == "dup_start":
            live = [i for i, s in model.state.items() if s.started and not s.deleting]
            return rng.choice(live) if live else None
        if kind == "delete":
            done = [i for i, s in model.state.items() if s.cancelled and not s.deleting]
            if not done:
                return None
            target = rng.choice(done)
            model.state[target].deleting = True  # retired before the call: no racing writes
            return target
        live = [i for i, s in model.state.items() if s.started and not s.deleting]
        return rng.choice(live) if live else None


def perform(client: Client, op: Op) -> None:
    i, token = op.instance, op.token
    if op.kind in ("start", "dup_start"):
        client.start_orchestration(i, ORCHESTRATION, token)
    elif op.kind == "raise_event":
        client.raise_event(i, "e", token)
    elif op.kind == "enqueue_event":
        client.enqueue_event(i, "q", token)
    elif op.kind == "send_message":
        client.send_message(i, "q", token)
    elif op.kind == "cancel":
        client.cancel_instance(i, token)
    elif op.kind == "delete":
        client.delete_instance(i)
    elif op.kind == "status":
        client.get_status(i)


def client_thread(client: Client, model: Model, seed: int, count: int) -> None:
    rng = random.Random(seed)
    kinds = list(WEIGHTS)
    weights = [WEIGHTS[k] for k in kinds]
    done = 0
    last_started: Optional[str] = None
    while done < count:
        kind = rng.choices(kinds, weights)[0]
        target = pick_target(model, rng, kind)
        # Half the writes that follow a start go to the instance just started, racing with its
        # first turn (the start + cancel / start + message pairs).
        if last_started and kind in MESSAGE_OPS + ("cancel",) and rng.random() < 0.5:
            with model.lock:
                if not model.state[last_started].deleting:
                    target = last_started
        if target is None:
            kind, target = "start", pick_target(model, rng, "start")
        if target is None:  # every id was started: keep racing duplicate starts on live ones
            kind, target = "dup_start", pick_target(model, rng, "dup_start")
        if target is None:  # every id is retired: the other threads finish the run
            return
        seq = model.next_seq()
        op = Op(seq, kind, target, f"tok-{seq}", time.monotonic())
        if kind == "cancel":
            with model.lock:
                st = model.state[target]
                st.first_cancel_start = min(st.first_cancel_start, op.start)
        try:
            perform(client, op)
        except DuroxideError as e:
            op.error = e.code
        op.end = time.monotonic()
        if kind == "start" and op.error is None:
            last_started = target
        with model.lock:
            st = model.state[target]
            if op.error is None and kind == "start":
                st.started = True
            if op.error is None and kind == "cancel":
                st.cancelled = True
            if op.error is None and kind == "delete":
                st.deleted = True
            model.ops.append(op)
        done += 1


def wait_quiet(client: Client, model: Model, timeout_s: float) -> None:
    """Until every acknowledged cancel ended its instance and the orchestrator queue is empty."""
    deadline = time.monotonic() + timeout_s
    for i, st in model.state.items():
        if st.cancelled and not st.deleted:
            left = max(deadline - time.monotonic(), 0.05)
            with contextlib.suppress(DuroxideError):
                client.wait_for_orchestration(i, int(left * 1000))
    while time.monotonic() < deadline:
        if client.get_queue_depths().orchestrator_queue == 0:
            return
        time.sleep(0.05)


def history_of(client: Client, instance: str) -> List[Any]:
    try:
        return list(client.read_execution_history(instance, 1))
    except DuroxideError:
        return []


def token_of(data: str) -> Optional[str]:
    """The token a message carried: the JSON string itself, or the payload of a message
    envelope (send_message records {"data": ..., "meta": ...})."""
    try:
        value = json.loads(data)
    except ValueError:
        return None
    if isinstance(value, dict):
        value = value.get("data")
        if isinstance(value, str) and value.startswith('"'):
            value = json.loads(value)
    return value if isinstance(value, str) else None


def check(client: Client, model: Model) -> Tuple[List[str], Dict[str, int]]:
    """Violations of the model, and counts of how each write took effect."""
    violations: List[str] = []
    effects: Dict[str, int] = collections.Counter()
    histories = {i: history_of(client, i) for i, s in model.state.items()
                 if s.started and not s.deleted}
    in_history: Dict[str, int] = collections.Counter()
    cancel_events: Dict[str, int] = collections.Counter()
    for i, events in histories.items():
        for e in events:
            if e.kind in ("ExternalEvent", "QueueEventDelivered") and e.data:
                token = token_of(e.data)
                if token is not None:
                    in_history[token] += 1
            if e.kind == "OrchestrationCancelRequested":
                cancel_events[i] += 1
    dead: Dict[Any, int] = collections.Counter(
        d.data for d in client.list_dead_letters() if isinstance(d.data, str))
    status = {i: client.get_status(i).status for i in histories}
    starts_ok: Dict[str, int] = collections.Counter(
        o.instance for o in model.ops if o.kind in ("start", "dup_start") and o.error is None)

    for op in model.ops:
        st = model.state[op.instance]
        where = f"op {op.seq} {op.kind} {op.instance}"
        if op.error is not None:
            effects[f"reported:{op.kind}:{op.error}"] += 1
            if op.error not in ALLOWED_ERRORS.get(op.kind, set()):
                violations.append(f"{where}: unexpected error {op.error}")
            elif op.error == "already-exists" and starts_ok[op.instance] != 1:
                violations.append(f"{where}: refused but {starts_ok[op.instance]} starts acked")
            continue
        if op.kind == "delete":
            effects["deleted"] += 1
            if client.list_executions(op.instance) or history_of(client, op.instance):
                violations.append(f"{where}: acknowledged but the instance is still there")
            continue
        if st.deleted or op.kind == "status":
            continue
        if op.kind in ("start", "dup_start"):
            kinds = [e.kind for e in histories[op.instance]]
            if kinds.count("OrchestrationStarted") != 1 or starts_ok[op.instance] != 1:
                violations.append(f"{where}: {starts_ok[op.instance]} acked starts, history "
                                  f"{kinds[:3]}")
            effects["started"] += 1
        elif op.kind == "cancel":
            if status[op.instance] != "Failed" or cancel_events[op.instance] != 1:
                violations.append(f"{where}: acknowledged cancel lost: {status[op.instance]}, "
                                  f"{cancel_events[op.instance]} cancel events")
            effects["cancelled"] += 1
        elif op.kind in MESSAGE_OPS:
            check_message(op, st, in_history[op.token], dead[op.token], status[op.instance],
                          violations, effects)
    for i, s in model.state.items():
        if s.started and not s.deleted and not s.cancelled and status[i] != "Running":
            violations.append(f"{i}: never cancelled but {status[i]}")
    return violations, dict(effects)


def check_message(op: Op, st: IdState, h: int, d: int, status: str, violations: List[str],
                  effects: Dict[str, int]) -> None:
    where = f"op {op.seq} {op.kind} {op.instance}"
    ended = status != "Running"
    before_cancel = op.end < st.first_cancel_start
    if h > 1 or d > 1:
        violations.append(f"{where}: applied twice (history {h}, dead letters {d})")
    elif before_cancel and h != 1:
        violations.append(f"{where}: acknowledged before any cancel but not in history "
                          f"(dead letters {d}, {status})")
    elif h == 0 and d == 0 and (op.kind != "raise_event" or not ended):
        violations.append(f"{where}: acknowledged and lost ({status})")
    elif d == 1 and not ended:
        violations.append(f"{where}: dead-lettered but the instance is {status}")
    elif h == 1:
        effects["delivered"] += 1
        if d == 1:
            effects["delivered_then_dead_lettered_at_end"] += 1
    elif d == 1:
        effects["dead_lettered"] += 1
    else:
        effects["event_after_end_discarded"] += 1


@contextlib.contextmanager
def open_store(store: str, work: Path, pg_url: Optional[str] = None
               ) -> Iterator[Tuple[Any, List[str]]]:
    """The provider, and the arguments that open the same store in another process. PostgreSQL:
    a fresh schema on `pg_url`, else on DATABASE_URL or a throwaway cluster."""
    if store == "sqlite":
        path = str(work / "model.db")
        provider = SqliteProvider.open(path)
        try:
            yield provider, ["--db", path]
        finally:
            provider.close()
        return
    import pg_cluster  # tests/pg_cluster.py: DATABASE_URL or a throwaway cluster

    with (contextlib.nullcontext(pg_url) if pg_url else pg_cluster.database_url()) as url:
        schema = pg_cluster.unique_schema("model")
        provider = PostgresProvider.connect_with_schema(url, schema)
        try:
            yield provider, ["--url", url, "--schema", schema]
        finally:
            provider.close()
            pg_cluster.drop_schema(url, schema)


def serve(args: argparse.Namespace) -> int:
    """--serve: a runtime in this process until stdin closes (the second runtime process)."""
    provider = (SqliteProvider.open(args.db) if args.db
                else PostgresProvider.connect_with_schema(args.url, args.schema))
    rt = Runtime(provider, runtime_options())
    register(rt)
    rt.start()
    print("ready", flush=True)
    sys.stdin.read()
    rt.shutdown(3000)
    return 0


def run(store: str, ops: int, seed: int, threads: int = 4, runtimes: int = 1,
        quiet_timeout_s: float = 60.0, pg_url: Optional[str] = None,
        settle_s: float = 10.0) -> Dict[str, Any]:
    """Runs the model once; returns the figures (violations listed under "violations")."""
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="dx-model-") as tmp, \
            open_store(store, Path(tmp), pg_url) as (provider, store_args):
        client = Client(provider)
        rt = Runtime(provider, runtime_options())
        register(rt)
        rt.start()
        others = [subprocess.Popen([sys.executable, __file__, "--serve", *store_args],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE)
                  for _ in range(runtimes - 1)]
        try:
            for p in others:
                assert p.stdout is not None and p.stdout.readline().strip() == b"ready"
            model = Model([f"m{seed}-{k}" for k in range(max(ops // 8, 8))])
            t0 = time.monotonic()
            workers = [threading.Thread(target=client_thread,
                                        args=(client, model, rng.randrange(2**32),
                                              ops // threads + (k < ops % threads)))
                       for k in range(threads)]
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            op_seconds = time.monotonic() - t0
            wait_quiet(client, model, quiet_timeout_s)
            # Writes take effect eventually (a turn may hold a message the queue depth no
            # longer counts): a violation must persist for settle_s to count.
            settle_until = time.monotonic() + settle_s
            while True:
                violations, effects = check(client, model)
                if not violations or time.monotonic() > settle_until:
                    break
                time.sleep(0.2)
        finally:
            for p in others:
                assert p.stdin is not None
                p.stdin.close()
                p.wait(30)
                if p.stdout is not None:
                    p.stdout.close()
            rt.shutdown(3000)
    kinds = collections.Counter(o.kind for o in model.ops)
    return {"store": store, "seed": seed, "threads": threads, "runtimes": runtimes,
            "operations": len(model.ops), "instances": len(model.ids),
            "by_kind": dict(sorted(kinds.items())), "effects": dict(sorted(effects.items())),
            "ops_per_second": round(len(model.ops) / max(op_seconds, 1e-9)),
            "seconds": round(time.monotonic() - t0, 2), "violations": violations[:20],
            "violation_count": len(violations)}


def main() -> int:
    p = campaign.parser()
    p.add_argument("--ops", type=int, default=2000)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--runtimes", type=int, default=1, help="runtime processes (1 = in-process)")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--schema", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        return serve(args)
    result = run(args.store, args.ops, args.seed, args.threads, args.runtimes)
    print(json.dumps(result), flush=True)
    return 1 if result["violation_count"] else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
