"""ClientAPI parity (tests/test_client_parity.py): task graphs, the task cache, waiting activities and schedules.

The stack and fixtures are in tests/helpers/parity.py.
"""

from __future__ import annotations

import time
from typing import Any, List

import pytest

pytest.importorskip("fastapi")

import duroxide  # noqa: E402
from duroxide.client.api import ClientAPI  # noqa: E402
from helpers.parity import (  # noqa: E402,F401  (fixtures are used by name)
    NEEDS_GPU, UGLY, WAIT, Stack, client, covers, kind, stack, subscribed, subscribed_to_queue,
    uid)
from helpers.util import wait_until  # noqa: E402


# ---- task graphs, the task cache, capability routing --------------------------------------------


@covers("submit", "get_graph", "clear_task_cache")
def test_task_graph_submission_and_cache(client: ClientAPI, stack: Stack, kind: str) -> None:
    add, square = stack.tasks["add"], stack.tasks["square"]
    base = 3 if kind == "native" else 4  # a result cached by this run only
    job = client.submit(add(square(base), 1), instance_id=uid(kind, "graph"))
    assert job == uid(kind, "graph")
    assert client.wait_for_orchestration(job, WAIT).output == base * base + 1
    graph = client.get_graph(job)
    assert graph["instance_id"] == job and graph["edges"] == [(0, 1)]
    assert [(n["task"], n["status"]) for n in graph["nodes"]] == [("square", "completed"),
                                                                  ("add", "completed")]
    generated = client.submit(add(1, 2))
    assert generated.startswith("graph-") and client.wait_for_orchestration(
        generated, WAIT).output == 3
    assert client.get_graph(uid(kind, "never"))["nodes"] == []
    with pytest.raises(duroxide.InvalidTypeError):
        client.submit("not a handle")  # type: ignore[arg-type]
    assert client.clear_task_cache(square) >= 1
    assert client.clear_task_cache("square") == 0
    assert client.clear_task_cache() >= 0


@covers("list_waiting_activities")
def test_waiting_activities(client: ClientAPI, kind: str) -> None:
    instance_id = uid(kind, "gpu")
    client.start_orchestration(instance_id, "NeedsGpu")
    try:
        def mine() -> List[Any]:
            return [w for w in client.list_waiting_activities() if w["instance_id"] == instance_id]
        assert wait_until(lambda: bool(mine()), 10)
        (waiting,) = mine()
        assert (waiting["name"], waiting["schema"], waiting["deadline_ms"]) == ("Work", NEEDS_GPU,
                                                                                0)
        assert waiting["waiting_ms"] >= 0 and waiting["schema_hash"]
        assert [w for w in client.list_waiting_activities(min_wait_ms=3_600_000)
                if w["instance_id"] == instance_id] == []  # has not waited an hour
        assert len(client.list_waiting_activities(limit=1)) == 1
    finally:
        client.cancel_instance(instance_id)


@covers("create_schedule", "get_schedule", "list_schedules", "update_schedule",
        "pause_schedule", "resume_schedule", "trigger_schedule", "backfill_schedule",
        "delete_schedule")
def test_schedules(client: ClientAPI, kind: str) -> None:
    sid = uid(kind, "sched")
    info = client.create_schedule(sid, "Echo", {"n": 1}, cron="0 4 * * *",
                                  timezone="Europe/Paris", overlap="allow_all", paused=True)
    assert (info.schedule_id, info.input, info.cron, info.timezone, info.paused) == (
        sid, {"n": 1}, "0 4 * * *", "Europe/Paris", True)
    assert client.get_schedule(sid) == info
    assert sid in [s.schedule_id for s in client.list_schedules()]
    with pytest.raises(duroxide.ScheduleAlreadyExistsError):
        client.create_schedule(sid, "Echo", every_ms=1000)
    with pytest.raises(duroxide.InvalidArgumentError, match="timezone"):
        client.create_schedule(uid(kind, "badtz"), "Echo", cron="0 4 * * *", timezone="No/Where")
    with pytest.raises(duroxide.InvalidArgumentError, match="every_ms"):
        client.update_schedule(sid, every_ms=5)
    assert client.update_schedule(sid, note="n").note == "n"
    assert client.resume_schedule(sid).next_fire_ms is not None
    assert client.pause_schedule(sid, note="why").note == "why"
    run = client.trigger_schedule(sid)
    assert run.startswith(sid + "@")
    assert client.wait_for_orchestration(run, WAIT).output == {"n": 1}
    now = int(time.time() * 1000)
    day = 86_400_000
    ids = client.backfill_schedule(sid, now - 3 * day, now - day)
    assert len(ids) == 2 and all(i.startswith(sid + "@") for i in ids)
    assert [client.wait_for_orchestration(i, WAIT).output for i in ids] == [{"n": 1}] * 2
    assert client.get_schedule(sid).recent_instances == [*ids[::-1], run]
    client.delete_schedule(sid)
    for op in (client.get_schedule, client.delete_schedule, client.trigger_schedule):
        with pytest.raises(duroxide.NotFoundError):
            op(sid)
