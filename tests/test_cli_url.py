"""Every `duroxide` command works with --url as with --db: each is run both ways on the same
store (SQLite and PostgreSQL; --url through a real uvicorn server) and the outputs, exit codes
and error messages compared. Ids are awkward on purpose (slashes, spaces, non-ASCII).

A command that changes something runs on a target of its own per way (`{waiter}`, ...), and
the output is compared with that target's id put back as its placeholder. Fields that change
by themselves (heartbeats, waiting times, message ids, sequence numbers) are left out of the
JSON comparison. A new command fails test_every_command_is_compared until it is added here.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Tuple

import pytest

pytest.importorskip("fastapi")

import duroxide  # noqa: E402
import pg_cluster  # noqa: E402
from conftest import fast_options  # noqa: E402
from duroxide import cli  # noqa: E402
from helpers import cli_app  # noqa: E402
from helpers.live_server import LiveServer  # noqa: E402
from helpers.util import wait_until  # noqa: E402

WAYS = ("db", "url")
ORDER = "order/1 ä"
DOUBLER = "doubler/ä"
TOPIC = "news/ä"
GHOST = "ghost/ä #1"
ACTOR_KEY = "k/1 ä"
# Commands that do not read a store through a client: they run a worker or a server on a
# store (--db), or lint files.
NO_CLIENT = {"worker", "server", "lint", "export", "import", "migrate"}
_serial = itertools.count(1)  # targets made by `prepare` are new each time


class Case(NamedTuple):
    argv: Tuple[str, ...]
    json: bool = True  # also compare the --json output
    text: bool = True  # also compare the text output
    volatile: Tuple[str, ...] = ()  # JSON keys left out of the comparison
    prepare: Optional[Callable[[Any, str], Dict[str, str]]] = None  # per way: placeholders


def _waiter(store: Any, way: str, name: str) -> Dict[str, str]:
    instance_id = f"{name}/{way}-{next(_serial)} ä"
    store.client.start_orchestration(instance_id, "Waiter")
    assert wait_until(lambda: any(e.kind == "ExternalSubscribed" for e in _history(
        store.client, instance_id)), 10)
    return {"{waiter}": instance_id}


def _suspended(store: Any, way: str) -> Dict[str, str]:
    values = _waiter(store, way, "resume")
    store.client.suspend_instance(values["{waiter}"], "hold")
    return values


def _history(client: Any, instance_id: str) -> List[Any]:
    try:
        return list(client.read_execution_history(instance_id, 1))
    except duroxide.NotFoundError:
        return []


def _finished(store: Any, way: str, name: str, orchestration: str, value: Any
              ) -> Dict[str, str]:
    instance_id = f"{name}/{way}-{next(_serial)} ä"
    store.client.start_orchestration(instance_id, orchestration, value)
    store.client.wait_for_orchestration(instance_id, 15000)
    return {"{mine}": instance_id}


def _dead_letter(store: Any, way: str) -> Dict[str, str]:
    target = f"lost/{way}-{next(_serial)} ä"
    store.client.send_message(target, "inbox", way)
    assert wait_until(lambda: len(store.client.list_dead_letters(target)) == 1, 10)
    return {"{mine}": target, "{letter}": str(store.client.list_dead_letters(target)[0].id)}


def _spare(store: Any, way: str) -> Dict[str, str]:
    spare = duroxide.Runtime(store.provider, duroxide.RuntimeOptions(
        orchestration_concurrency=0, worker_concurrency=0, heartbeat_interval_ms=100,
        worker_node_id=f"spare/{way} ä", worker_name_hint=f"spare-{way}"))
    spare.start()
    store.spares.append(spare)
    return {"{mine}": spare.worker_id, "{name}": str(spare.worker_name),
            "{node}": f"spare/{way} ä"}


def _cached(store: Any, way: str) -> Dict[str, str]:
    store.client.clear_task_cache()
    job = store.client.submit(cli_app.square(len(way) + 10))
    store.client.wait_for_orchestration(job, 15000)
    return {}


def _stuck(store: Any, way: str) -> Dict[str, str]:
    if way == "db":  # once: queued work that no worker runs
        store.client.start_orchestration("stuck/ä", "NobodyServesThis")
        assert wait_until(lambda: any(u.name == "NobodyServesThis"
                                      for u in store.client.list_unservable_work()), 10)
    return {}


WORKER_VOLATILE = ("last_heartbeat_ms", "last_seen_ms_ago", "load", "sessions_held",
                   "items_processed", "status", "drain_requested", "started_at_ms",
                   "registered_at_ms")
CASES: List[Case] = [
    Case(("list",)),
    Case(("list", "--status", "completed", "--limit", "3")),
    Case(("show", ORDER)),
    Case(("show", "no/such ä")),
    Case(("history", ORDER)),
    Case(("history", ORDER, "--execution", "7")),
    Case(("tree", ORDER)),
    Case(("wait", ORDER)),
    Case(("wait", ORDER, "--after-version", "0")),
    Case(("kv", ORDER, "customer/ä")),
    Case(("kv", ORDER, "missing")),
    Case(("metrics",)),
    Case(("graph", "graph/ä")),
    Case(("graph", "graph/ä", "--dot"), json=False),
    Case(("topics",)),
    Case(("topic", TOPIC)),
    Case(("dead-letters",)),
    Case(("dead-letters", "--instance", GHOST)),
    Case(("actors",)),
    Case(("actors", "--type", "Counter")),
    Case(("actor", "Counter", ACTOR_KEY)),
    Case(("actor", "Counter", ACTOR_KEY, "--request", "0")),
    Case(("export-history", ORDER), json=False),
    Case(("replay", "helpers.cli_app:registry", "--instance", ORDER)),
    Case(("waiting",), text=False, volatile=("waiting_ms",)),
    Case(("workers",), text=False, volatile=WORKER_VOLATILE),
    Case(("workers", "prune", "--retention-ms", "86400000")),
    # Changes, each on a target of its own per way.
    Case(("start", "Echo", "--id", "{mine}", "--input", '{"a": 1}'), json=False,
         prepare=lambda s, w: {"{mine}": f"started/{w}-{next(_serial)} ä"}),
    Case(("start", "Echo", "--id", ORDER)),
    Case(("raise", "{waiter}", "go", "--data", "[1]"),
         prepare=lambda s, w: _waiter(s, w, "raise")),
    Case(("enqueue", "{waiter}", "q", "--data", '"x"'),
         prepare=lambda s, w: _waiter(s, w, "enqueue")),
    Case(("cancel", "{waiter}", "--reason", "stop"),
         prepare=lambda s, w: _waiter(s, w, "cancel")),
    Case(("suspend", "{waiter}", "--reason", "hold"),
         prepare=lambda s, w: _waiter(s, w, "suspend")),
    Case(("resume", "{waiter}"), prepare=lambda s, w: _suspended(s, w)),
    Case(("resume", "{waiter}"), prepare=lambda s, w: _waiter(s, w, "not-suspended")),
    Case(("terminate", "{waiter}", "--reason", "end"),
         prepare=lambda s, w: _waiter(s, w, "terminate")),
    Case(("bulk", "suspend", "--id-prefix", "{waiter}", "--dry-run"),
         prepare=lambda s, w: _waiter(s, w, "bulk-dry")),
    Case(("bulk", "suspend", "--id-prefix", "{waiter}"),
         prepare=lambda s, w: _waiter(s, w, "bulk")),
    Case(("rerun", "{mine}"), prepare=lambda s, w: _finished(s, w, "rerun", "Echo", 1)),
    Case(("delete", "{waiter}"), prepare=lambda s, w: _waiter(s, w, "busy")),
    Case(("delete", "{mine}"), json=False,
         prepare=lambda s, w: _finished(s, w, "done", "Echo", 1)),
    Case(("prune", "{mine}", "--keep-last", "1"), json=False,
         prepare=lambda s, w: _finished(s, w, "loop", "Looper", 0)),
    Case(("send", DOUBLER, "inbox", "--data", "1"), text=False, volatile=("message_id",)),
    Case(("publish", "other/ä", "--data", "1"), text=False, volatile=("seq",)),
    Case(("request", DOUBLER, "double", "--data", "21")),
    Case(("actor", "Counter", "{mine}", "--send", "1"), text=False, volatile=("message_id",),
         prepare=lambda s, w: {"{mine}": f"new/{w}-{next(_serial)} ä"}),
    Case(("debounce", "{mine}", "Echo", "--item", "[1]", "--window-ms", "50"),
         prepare=lambda s, w: {"{mine}": f"deb/{w}-{next(_serial)} ä"}),
    Case(("dead-letters", "--redeliver", "{letter}"), json=False,
         prepare=lambda s, w: _dead_letter(s, w)),
    Case(("dead-letters", "--purge", "--instance", "{mine}"), json=False,
         prepare=lambda s, w: _dead_letter(s, w)),
    Case(("cache-clear", "--task", "square"), json=False, prepare=_cached),
    Case(("workers", "drain", "{mine}"), text=False, volatile=WORKER_VOLATILE,
         prepare=_spare),
    Case(("export-history", "--instance", ORDER, "--out", "{tmp}/{way}.json"), json=False,
         prepare=lambda s, w: {"{tmp}": str(s.tmp), "{way}": w}),
    Case(("doctor",), text=False, volatile=WORKER_VOLATILE + ("oldest_wait_ms",),
         prepare=_stuck),
]


_SCHEDULE_TIMES = ("created_at_ms", "updated_at_ms", "last_fire_ms", "next_fire_ms",
                   "recent_instances", "fired_count")


def _schedule(store: Any, way: str) -> Dict[str, str]:
    schedule_id = f"sched/{way}-{next(_serial)} ä"
    store.client.create_schedule(schedule_id, "Echo", {"s": 1}, cron="0 4 * * *",
                                 timezone="Europe/Paris", paused=True)
    return {"{sched}": schedule_id}


def _new_schedule_id(store: Any, way: str) -> Dict[str, str]:
    return {"{sched}": f"sched/{way}-{next(_serial)} ä"}


CASES += [
    Case(("schedules",), text=False, volatile=_SCHEDULE_TIMES),
    Case(("schedule", "create", "{sched}", "Echo", "--every", "1h", "--paused", "--input",
          '{"a": 1}', "--overlap", "allow_all"), volatile=_SCHEDULE_TIMES,
         prepare=_new_schedule_id),
    Case(("schedule", "create", "{sched}", "Echo", "--cron", "61 * * * *"),
         prepare=_new_schedule_id),
    Case(("schedule", "create", "{sched}", "Echo", "--every", "1h"), prepare=_schedule),
    Case(("schedule", "show", "{sched}"), volatile=_SCHEDULE_TIMES, prepare=_schedule),
    Case(("schedule", "show", "no/such ä")),
    Case(("schedule", "update", "{sched}", "--note", "n", "--timezone", "UTC"),
         volatile=_SCHEDULE_TIMES, prepare=_schedule),
    Case(("schedule", "pause", "{sched}", "--note", "why"), volatile=_SCHEDULE_TIMES,
         prepare=_schedule),
    Case(("schedule", "resume", "{sched}"), text=False, volatile=_SCHEDULE_TIMES,
         prepare=_schedule),
    Case(("schedule", "trigger", "{sched}"), text=False, volatile=("instance_id",),
         prepare=_schedule),
    Case(("schedule", "backfill", "{sched}", "--start", "2026-01-01T00:00Z", "--end",
          "2026-01-03T00:00Z"), prepare=_schedule),
    Case(("schedule", "delete", "{sched}"), prepare=_schedule),
]


_LIMIT_TIMES = ("created_at_ms", "updated_at_ms")


def _limit(store: Any, way: str) -> Dict[str, str]:
    name = f"lim/{way}-{next(_serial)} ä"
    store.client.set_limit(name, duroxide.Limit(concurrency=2, rate_per_s=5, per_key=True))
    return {"{lim}": name}


CASES += [
    Case(("limits",), text=False, volatile=_LIMIT_TIMES),
    Case(("limit", "set", "{lim}", "--concurrency", "3", "--rate-per-s", "2.5", "--per-key"),
         volatile=_LIMIT_TIMES, prepare=_limit),
    Case(("limit", "set", "{lim}", "--concurrency", "0"), prepare=_limit),
    Case(("limit", "set", "{lim}"), prepare=_limit),
    Case(("limit", "show", "{lim}"), volatile=_LIMIT_TIMES, prepare=_limit),
    Case(("limit", "show", "no/such ä")),
    Case(("limit", "delete", "{lim}"), prepare=_limit),
]


class Store(NamedTuple):
    provider: Any
    client: duroxide.Client
    options: Dict[str, List[str]]  # the global options of each way
    spares: List[duroxide.Runtime]
    tmp: Any


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def store(request: Any, tmp_path_factory: Any) -> Iterator[Store]:
    tmp = tmp_path_factory.mktemp("cli-url")
    schema = None
    if request.param == "sqlite":
        db = str(tmp / "cli.db")
        provider = duroxide.SqliteProvider.open(db)
        db_options = ["--db", db]
    else:
        url = request.getfixturevalue("pg_url")
        schema = pg_cluster.unique_schema("cliurl")
        provider = duroxide.PostgresProvider.connect_with_schema(url, schema)
        db_options = ["--db", url, "--schema", schema]
    runtime = duroxide.Runtime(provider, fast_options(heartbeat_interval_ms=200),
                               registry=cli_app.registry)
    runtime.start()
    client = duroxide.Client(provider)
    server = LiveServer(duroxide.Client(provider)).start()
    spares: List[duroxide.Runtime] = []
    try:
        _populate(client)
        yield Store(provider, client, {"db": db_options, "url": ["--url", server.url]},
                    spares, tmp)
    finally:
        for spare in spares:
            spare.shutdown(1000)
        server.stop()
        runtime.shutdown(3000)
        provider.close()
        if schema is not None:
            pg_cluster.drop_schema(request.getfixturevalue("pg_url"), schema)


def _populate(client: duroxide.Client) -> None:
    client.start_orchestration(ORDER, "Order", {"sku": "a/1"})
    client.submit(cli_app.add(cli_app.square(2), 3), instance_id="graph/ä")
    client.start_orchestration(DOUBLER, "Doubler", TOPIC)
    client.start_orchestration("gpu/ä", "NeedsGpu")
    client.send_message(GHOST, "inbox", {"lost": True})
    actor = client.actor("Counter", ACTOR_KEY)
    assert actor.request(5, 15000) == 5
    for instance_id in (ORDER, "graph/ä"):
        assert client.wait_for_orchestration(instance_id, 15000).status == "Completed"
    assert wait_until(lambda: [s.instance_id for s in client.get_topic(TOPIC).subscribers]
                      == [DOUBLER] if TOPIC in {t.topic for t in client.list_topics()}
                      else False, 10)
    assert wait_until(lambda: len(client.list_dead_letters(GHOST)) == 1, 10)
    assert wait_until(lambda: bool(client.list_waiting_activities()), 10)


def _scrub(value: Any, volatile: Tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {k: _scrub(v, volatile) for k, v in value.items() if k not in volatile}
    if isinstance(value, list):
        return [_scrub(v, volatile) for v in value]
    return value


def _run(store: Store, way: str, argv: List[str], capsys: Any) -> Tuple[int, str, str]:
    code = cli.main([*store.options[way], *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _put_back(text: str, values: Dict[str, str]) -> str:
    for placeholder, value in sorted(values.items(), key=lambda kv: -len(kv[1])):
        text = text.replace(value, placeholder)
    return text


@pytest.mark.parametrize("case", CASES, ids=lambda c: " ".join(c.argv))
def test_command_gives_the_same_answer_with_url_and_db(store: Store, case: Case, capsys: Any,
                                                       monkeypatch: Any) -> None:
    monkeypatch.delenv("DUROXIDE_DB", raising=False)
    monkeypatch.delenv("DUROXIDE_URL", raising=False)
    forms = [f for f, on in (([], case.text), (["--json"], case.json)) if on]
    for extra in forms:
        answers = {}
        for way in WAYS:
            values = case.prepare(store, way) if case.prepare else {}
            argv = [_fill(a, values) for a in case.argv] + extra
            code, out, err = _run(store, way, argv, capsys)
            if extra and code == 0:
                out = json.dumps(_scrub(json.loads(out), case.volatile), sort_keys=True,
                                 ensure_ascii=False)
            out, err = _put_back(out, values), _put_back(err, values)
            assert "Traceback" not in err, err
            answers[way] = (code, out, _redact_store(err))
        assert answers["url"] == answers["db"]
    if case.argv[0] == "export-history" and "--out" in case.argv:
        files = [json.loads((store.tmp / f"{way}.json").read_text()) for way in WAYS]
        assert files[0] == files[1] and files[0][0]["instance_id"] == ORDER


def _fill(arg: str, values: Dict[str, str]) -> str:
    for placeholder, value in values.items():
        arg = arg.replace(placeholder, value)
    return arg


def _redact_store(err: str) -> str:
    """The store named in a message differs (a path or a URL); the rest must not."""
    return re.sub(r"(https?://\S+|/\S+\.db)", "<store>", err)


def test_every_command_is_compared() -> None:
    commands = set(cli.build_parser()._subparsers._group_actions[0].choices)  # type: ignore
    compared = {case.argv[0] for case in CASES}
    assert compared == commands - NO_CLIENT, sorted(compared ^ (commands - NO_CLIENT))
