"""Durable schedules (docs/schedules.md): bad input, the client operations on every store, and
the firing semantics on a virtual clock (TimeSkippingRuntime): cron across both daylight-saving
changes of a real zone, overlap policies, backfill, catch-up after downtime, declared
schedules."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any, Dict, Generator, Iterator, List
from zoneinfo import ZoneInfo

import duroxide
import pytest
from duroxide import Client, Registry, RuntimeOptions, SqliteProvider
from duroxide.testing import TimeSkippingRuntime, virtual_now_ms

NY = ZoneInfo("America/New_York")
MIN = 60_000


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def registry() -> Registry:
    reg = Registry()

    @reg.register_orchestration("Tick")
    def tick(ctx: Any, value: Any) -> Any:
        return value
        yield  # a generator

    @reg.register_orchestration("Slow")
    def slow(ctx: Any, value: Any) -> Generator[Any, Any, Any]:
        yield ctx.schedule_timer(170_000)  # overlaps a per-minute schedule, never on a tick
        return value

    return reg


def runs(client: Client, schedule_id: str) -> List[int]:
    """The fire times of the schedule's instances, sorted."""
    prefix = schedule_id + "@"
    return sorted(int(i[len(prefix):]) for i in client.list_all_instances()
                  if i.startswith(prefix))


@pytest.fixture
def skipping() -> Iterator[Dict[str, Any]]:
    provider = SqliteProvider.in_memory()
    rt = TimeSkippingRuntime(provider, registry=registry())
    try:
        yield {"provider": provider, "rt": rt, "client": Client(provider)}
    finally:
        rt.shutdown()


def settle(client: Client, rt: TimeSkippingRuntime, until_ms: int) -> None:
    """Waits until no schedule fires before `until_ms` any more and every run has finished
    (the virtual clock jumps from one due time to the next meanwhile)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pending = [s for s in client.list_schedules()
                   if (s.next_fire_ms is not None and s.next_fire_ms < until_ms
                       and not s.paused) or s.buffered_fire_ms is not None]
        depths = client.get_queue_depths()
        if (not pending and not client.list_instances_by_status("Running")
                and depths.orchestrator_queue == 0 and depths.timer_queue == 0):
            return
        time.sleep(0.05)
    raise AssertionError(f"not settled at {virtual_now_ms()} (waiting for {until_ms})")


# ---- bad input: refused before anything is written -----------------------------------------

BAD = [
    ({"cron": "61 * * * *"}, "cron"),
    ({"cron": "* * *"}, "cron"),
    ({"cron": "0 0 * * *", "timezone": "Mars/Olympus"}, "timezone"),
    ({"cron": "0 0 * * *", "every_ms": 60_000}, "cron/every_ms"),
    ({}, "cron/every_ms"),
    ({"every_ms": 999}, "every_ms"),
    ({"every_ms": 1000, "overlap": "sometimes"}, "overlap"),
    ({"every_ms": 1000, "start_at_ms": 2000, "end_at_ms": 2000}, "end_at_ms"),
    ({"every_ms": 1000, "jitter_ms": -1}, "jitter_ms"),
]


@pytest.mark.parametrize("options,field", BAD)
def test_bad_input_names_the_field_and_writes_nothing(env: Any, options: Dict[str, Any],
                                                      field: str) -> None:
    with pytest.raises(duroxide.InvalidArgumentError, match=field.replace("/", ".")):
        env.client.create_schedule("bad", "Tick", **options)
    assert env.client.list_schedules() == []


def test_client_operations(env: Any) -> None:
    c = env.client
    info = c.create_schedule("nightly/a b", "Tick", {"n": 1}, cron="0 3 * * *",
                             timezone="Europe/Paris", note="hello")
    assert isinstance(info, duroxide.ScheduleInfo)
    assert (info.schedule_id, info.orchestration, info.input, info.cron, info.timezone,
            info.overlap, info.paused, info.note) == (
        "nightly/a b", "Tick", {"n": 1}, "0 3 * * *", "Europe/Paris", "skip", False, "hello")
    assert info.next_fire_ms > virtual_now_ms() and info.recent_instances == []
    fire = datetime.fromtimestamp(info.next_fire_ms / 1000, ZoneInfo("Europe/Paris"))
    assert (fire.hour, fire.minute) == (3, 0)
    with pytest.raises(duroxide.ScheduleAlreadyExistsError):
        c.create_schedule("nightly/a b", "Tick", every_ms=5000)
    assert c.get_schedule("nightly/a b") == info  # the refused create changed nothing
    with pytest.raises(duroxide.NotFoundError):
        c.get_schedule("nope")
    for op in (c.pause_schedule, c.resume_schedule, c.trigger_schedule, c.delete_schedule):
        with pytest.raises(duroxide.NotFoundError):
            op("nope")
    paused = c.pause_schedule("nightly/a b", note="maintenance")
    assert paused.paused and paused.note == "maintenance" and paused.next_fire_ms is None
    resumed = c.resume_schedule("nightly/a b")
    assert not resumed.paused and resumed.next_fire_ms == info.next_fire_ms
    changed = c.update_schedule("nightly/a b", every_ms=10_000, overlap="allow_all")
    assert changed.cron is None and changed.every_ms == 10_000 and changed.overlap == "allow_all"
    assert changed.next_fire_ms % 10_000 == 0
    with pytest.raises(duroxide.InvalidArgumentError, match="colour"):
        c.update_schedule("nightly/a b", colour="blue")
    with pytest.raises(duroxide.InvalidArgumentError, match="every_ms"):
        c.update_schedule("nightly/a b", every_ms=10)
    assert c.get_schedule("nightly/a b").every_ms == 10_000
    run = c.trigger_schedule("nightly/a b")
    assert run.startswith("nightly/a b@") and c.get_status(run).status in ("Pending", "Running",
                                                                              "NotFound")
    assert c.get_schedule("nightly/a b").recent_instances == [run]
    c.create_schedule("other", "Tick", every_ms=1000, paused=True)
    assert [s.schedule_id for s in c.list_schedules()] == ["nightly/a b", "other"]
    c.delete_schedule("nightly/a b")
    assert [s.schedule_id for s in c.list_schedules()] == ["other"]


# ---- firing on a virtual clock ---------------------------------------------------------------

def test_cron_across_both_dst_changes(skipping: Dict[str, Any]) -> None:
    """A daily 02:30 in New York from March to mid-November 2027 fires once every day: on
    14 March (02:30 does not exist) at 03:00 EDT; a daily 01:30 fires once on 7 November
    (01:30 happens twice)."""
    c, rt = skipping["client"], skipping["rt"]
    start, end = ms(datetime(2027, 3, 1, tzinfo=NY)), ms(datetime(2027, 11, 15, tzinfo=NY))
    c.create_schedule("spring", "Tick", cron="30 2 * * *", timezone="America/New_York",
                      start_at_ms=start, end_at_ms=end)
    fold_start = ms(datetime(2027, 11, 1, tzinfo=NY))
    c.create_schedule("fall", "Tick", cron="30 1 * * *", timezone="America/New_York",
                      start_at_ms=fold_start, end_at_ms=end)
    rt.start()
    settle(c, rt, end)
    spring = [datetime.fromtimestamp(t / 1000, NY) for t in runs(c, "spring")]
    days = [d.date() for d in spring]
    assert len(days) == len(set(days)) == (datetime(2027, 11, 15) - datetime(2027, 3, 1)).days
    by_day = {d.date().isoformat(): d for d in spring}
    assert by_day["2027-03-14"].strftime("%H:%M %Z") == "03:00 EDT"
    assert by_day["2027-03-15"].strftime("%H:%M %Z") == "02:30 EDT"
    assert by_day["2027-11-07"].strftime("%H:%M %Z") == "02:30 EST"
    assert all(d.strftime("%H:%M") == "02:30" for k, d in by_day.items() if k != "2027-03-14")
    fall = [datetime.fromtimestamp(t / 1000, NY) for t in runs(c, "fall")]
    nov7 = [d for d in fall if d.date().isoformat() == "2027-11-07"]
    assert len(fall) == 14 and [d.strftime("%H:%M %Z") for d in nov7] == ["01:30 EDT"]
    for sid in ("spring", "fall"):
        info = c.get_schedule(sid)
        assert info.next_fire_ms is None and info.missed_count == 0
        assert all(c.get_status(f"{sid}@{t}").status == "Completed" for t in runs(c, sid))
    snap = rt.metrics_snapshot()
    assert snap is not None and snap.schedule_firings == len(spring) + len(fall)


def _overlap_case(skipping: Dict[str, Any], overlap: str) -> List[int]:
    c, rt = skipping["client"], skipping["rt"]
    t0 = (virtual_now_ms() // MIN + 5) * MIN
    c.create_schedule("s", "Slow", every_ms=MIN, overlap=overlap, start_at_ms=t0,
                      end_at_ms=t0 + 10 * MIN)
    rt.start()
    settle(c, rt, t0 + 13 * MIN)
    return [(t - t0) // 1000 for t in runs(c, "s")]


@pytest.mark.parametrize("overlap,expected", [
    # runs take 170 s; occurrences every 60 s at 0..540 s
    ("skip", [0, 180, 360, 540]),
    ("buffer_one", [0, 60, 180, 360, 540]),
    ("allow_all", [0, 60, 120, 180, 240, 300, 360, 420, 480, 540]),
    ("cancel_other", [0, 60, 120, 180, 240, 300, 360, 420, 480, 540]),
])
def test_overlap_policies(skipping: Dict[str, Any], overlap: str, expected: List[int]) -> None:
    assert _overlap_case(skipping, overlap) == expected
    c = skipping["client"]
    info = c.get_schedule("s")
    statuses = [c.get_status(f"s@{info.last_fire_ms - (540 - t) * 1000}").status
                for t in expected]
    if overlap == "cancel_other":
        assert statuses[-1] == "Completed" and all(s == "Failed" for s in statuses[:-1])
    else:
        assert set(statuses) == {"Completed"}
    assert info.skipped_count == 10 - len(expected) - (overlap == "buffer_one") * 0
    snap = skipping["rt"].metrics_snapshot()
    assert snap is not None and snap.schedule_overlap_skips == info.skipped_count


def test_backfill_applies_the_overlap_policy(skipping: Dict[str, Any]) -> None:
    c = skipping["client"]
    t0 = (virtual_now_ms() // MIN - 30) * MIN
    c.create_schedule("all", "Tick", every_ms=MIN, overlap="allow_all", paused=True)
    c.create_schedule("one", "Tick", every_ms=MIN, overlap="skip", paused=True)
    c.create_schedule("last", "Tick", every_ms=MIN, overlap="cancel_other", paused=True)
    ids = c.backfill_schedule("all", t0, t0 + 5 * MIN)
    assert ids == [f"all@{t0 + k * MIN}" for k in range(5)]
    assert c.backfill_schedule("all", t0, t0 + 5 * MIN) == ids  # the same runs, not started again
    assert c.backfill_schedule("one", t0, t0 + 5 * MIN) == [f"one@{t0}"]
    assert c.backfill_schedule("last", t0, t0 + 5 * MIN) == [f"last@{t0 + 4 * MIN}"]
    assert c.backfill_schedule("all", t0 + 10, t0 + 20) == []
    with pytest.raises(duroxide.InvalidArgumentError, match="end_ms"):
        c.backfill_schedule("all", t0, t0)
    with pytest.raises(duroxide.InvalidArgumentError, match="10000"):
        c.backfill_schedule("all", 0, t0)
    skipping["rt"].start()
    settle(c, skipping["rt"], virtual_now_ms())
    assert runs(c, "all") == [t0 + k * MIN for k in range(5)]  # each once
    assert all(c.get_status(i).status == "Completed" for i in ids)
    assert c.get_schedule("all").recent_instances == ids[::-1]


def test_catch_up_starts_only_the_latest_missed_occurrence(skipping: Dict[str, Any]) -> None:
    c, rt = skipping["client"], skipping["rt"]
    created = virtual_now_ms()
    first = c.create_schedule("c", "Tick", every_ms=MIN).next_fire_ms
    late = c.create_schedule("late", "Tick", every_ms=MIN, catchup_window_ms=0,
                             jitter_ms=0).next_fire_ms
    with rt.paused():  # no runtime fires while the clock moves on: downtime
        rt.advance(ms=10 * MIN + 30_000)
    now = virtual_now_ms()
    latest = now // MIN * MIN
    rt.auto_skip = False
    rt.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (not runs(c, "c") or
                                           c.get_schedule("late").missed_count == 0):
        time.sleep(0.02)
    assert runs(c, "c") == [latest]
    info = c.get_schedule("c")
    assert info.missed_count == (latest - first) // MIN
    assert info.next_fire_ms == latest + MIN and info.last_fire_ms == latest
    # catchup_window_ms=0: the latest occurrence is 30 s late, so it is missed too.
    assert runs(c, "late") == [] and c.get_schedule("late").missed_count == (
        (latest - late) // MIN + 1)
    snap = rt.metrics_snapshot()
    assert snap is not None and snap.schedule_missed == info.missed_count + c.get_schedule(
        "late").missed_count
    assert created <= first


def test_jitter_is_deterministic_and_bounded(skipping: Dict[str, Any]) -> None:
    from duroxide.client.schedule_times import jitter_for
    values = [jitter_for("j", t, 30_000) for t in range(0, 100 * MIN, MIN)]
    assert values == [jitter_for("j", t, 30_000) for t in range(0, 100 * MIN, MIN)]
    assert all(0 <= v <= 30_000 for v in values) and len(set(values)) > 50
    c, rt = skipping["client"], skipping["rt"]
    t0 = (virtual_now_ms() // MIN + 2) * MIN
    c.create_schedule("j", "Tick", every_ms=MIN, jitter_ms=30_000, start_at_ms=t0,
                      end_at_ms=t0 + 5 * MIN)
    rt.start()
    settle(c, rt, t0 + 6 * MIN)
    assert runs(c, "j") == [t0 + k * MIN for k in range(5)]  # ids keep the nominal time
    for k in range(5):
        fire = t0 + k * MIN
        info = c.get_instance_info(f"j@{fire}")
        assert info.created_at >= fire + jitter_for("j", fire, 30_000)


def test_declared_schedules_are_upserted_at_start(skipping: Dict[str, Any]) -> None:
    provider, c = skipping["provider"], skipping["client"]

    def run_with(**options: Any) -> None:
        reg = registry()
        reg.schedule("declared", "Tick", every_ms=3_600_000, **options)
        rt = duroxide.Runtime(provider, RuntimeOptions(schedules_enabled=False), reg)
        rt.start()
        rt.shutdown()

    run_with(note="v1")
    first = c.get_schedule("declared")
    assert (first.every_ms, first.note) == (3_600_000, "v1")
    run_with(note="v1")  # unchanged: not written
    assert c.get_schedule("declared").updated_at_ms == first.updated_at_ms
    c.pause_schedule("declared")
    run_with(note="v2", overlap="allow_all")  # a changed option updates; paused was not given
    second = c.get_schedule("declared")
    assert (second.note, second.overlap, second.paused) == ("v2", "allow_all", True)
    rt = duroxide.Runtime(provider, RuntimeOptions(schedules_enabled=False), registry())
    rt.start()  # the declaration is gone: the schedule stays
    rt.shutdown()
    assert c.get_schedule("declared").note == "v2"
    reg = Registry()
    with pytest.raises(duroxide.InvalidArgumentError, match="cron"):
        reg.schedule("x", "Tick", cron="not a cron")
    rt2 = duroxide.Runtime(provider, RuntimeOptions(schedules_enabled=False))
    rt2.schedule("via-runtime", "Tick", cron="0 * * * *")
    rt2.start()
    rt2.shutdown()
    assert c.get_schedule("via-runtime").cron == "0 * * * *"


def test_utc_is_the_default_zone() -> None:
    from duroxide.client.schedule_times import occurrence_after
    spec = {"schedule_id": "u", "cron": "0 12 * * *", "timezone": "UTC"}
    t = occurrence_after(spec, ms(datetime(2027, 1, 1, tzinfo=timezone.utc)))
    assert t == ms(datetime(2027, 1, 1, 12, tzinfo=timezone.utc))


def test_doctor_lists_schedules_no_live_worker_serves(tmp_path: Any, capsys: Any) -> None:
    import json

    from duroxide import cli
    db = str(tmp_path / "doctor.db")
    provider = SqliteProvider.open(db)
    c = Client(provider)
    c.create_schedule("served", "Tick", every_ms=3_600_000)
    c.create_schedule("orphan", "Nobody", every_ms=3_600_000)
    c.create_schedule("old", "Tick", every_ms=3_600_000, version="0.1.0")
    c.create_schedule("resting", "Nobody", every_ms=3_600_000, paused=True)
    rt = duroxide.Runtime(provider, RuntimeOptions(heartbeat_interval_ms=200), registry())
    rt.start()
    try:
        assert cli.main(["--db", db, "doctor", "--json"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert [(u["schedule_id"], u["reason"]) for u in report["unserved_schedules"]] == [
            ("old", "version 0.1.0 of orchestration 'Tick' is not registered on any live worker"),
            ("orphan", "orchestration 'Nobody' is not registered on any live worker")]
        assert cli.main(["--db", db, "doctor"]) == 0
        text = capsys.readouterr().out
        assert "2 schedule(s) whose orchestration no live worker serves" in text
        assert "orphan" in text and "resting" not in text
    finally:
        rt.shutdown()
