"""Writes the fuzzers' seed corpora (fuzz/corpus/<target>/) from real duroxide runs.

    .venv/bin/python fuzz/make_corpus.py

Runs a few orchestrations (activities, timers, events, queues, join/race, sub-orchestrations,
continue-as-new, KV, custom status) on a SQLite file and copies what the store holds: every
history event (codec_fuzzer), queue rows (work_item_fuzzer) and whole histories with the
program line that replay_fuzzer expects (replay_fuzzer). The output is deterministic in shape
but not byte for byte (timestamps, GUIDs); the committed corpus is one run of it.
"""

from __future__ import annotations

import hashlib
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, Generator, List, Tuple

from duroxide import Client, Runtime, RuntimeOptions, SqliteProvider

HERE = Path(__file__).resolve().parent


def write(target: str, text: str) -> None:
    out = HERE / "corpus" / target
    out.mkdir(parents=True, exist_ok=True)
    (out / hashlib.sha1(text.encode()).hexdigest()[:16]).write_text(text)


def orchestrations(rt: Runtime) -> None:
    rt.register_activity("A", lambda ctx, x: x)
    rt.register_activity("Fail", lambda ctx, x: (_ for _ in ()).throw(ValueError("no")))

    def mixed(ctx: Any, _: Any) -> Generator[Any, Any, Any]:
        a = yield ctx.schedule_activity("A", 1)
        yield ctx.schedule_timer(5)
        ctx.set_custom_status("half")
        ctx.set_kv_value("k", "v")
        both = yield ctx.all([ctx.schedule_activity("A", 2), ctx.schedule_activity("A", 3)])
        race = yield ctx.race(ctx.schedule_activity("A", 4), ctx.schedule_timer(60000))
        ev = yield ctx.wait_for_event("Ev")
        q = yield ctx.dequeue_event("Q")
        sub = yield ctx.schedule_sub_orchestration("Child", 7)
        guid = yield ctx.new_guid()
        try:
            yield ctx.schedule_activity("Fail", None)
        except Exception:  # noqa: BLE001 - a failed activity in history is the point
            pass
        return [a, both, race, ev, q, sub, len(guid)]

    def child(ctx: Any, x: Any) -> Generator[Any, Any, Any]:
        return (yield ctx.schedule_activity("A", x))

    def looping(ctx: Any, n: int) -> Generator[Any, Any, Any]:
        yield ctx.schedule_activity("A", n)
        if n < 2:
            yield ctx.continue_as_new(n + 1)
        return n

    rt.register_orchestration("Mixed", mixed)
    rt.register_orchestration("Child", child)
    rt.register_orchestration("Loop", looping)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "corpus.db"
        provider = SqliteProvider.open(str(path))
        client = Client(provider)
        client.start_orchestration("mixed-1", "Mixed", None)
        client.start_orchestration("loop-1", "Loop", 0)
        client.enqueue_event("mixed-1", "Q", "hello")
        rows: List[str] = []
        with sqlite3.connect(path) as con:
            rows += [r[0] for r in con.execute("SELECT work_item FROM orchestrator_queue")]
        rt = Runtime(provider, RuntimeOptions(dispatcher_poll_interval_ms=10))
        orchestrations(rt)
        rt.start()
        # An external event is only delivered to an open subscription: raise it until taken.
        while client.get_status("mixed-1").status == "Running":
            client.raise_event("mixed-1", "Ev", {"x": 1})
            time.sleep(0.2)
        for iid in ("mixed-1", "loop-1"):
            result = client.wait_for_orchestration(iid, 30000)
            assert result.status == "Completed", (iid, result.status, result.error)
        rt.shutdown(2000)
        with sqlite3.connect(path) as con:
            rows += [r[0] for r in con.execute("SELECT work_item FROM worker_queue")]
            histories: Dict[Tuple[str, int], List[str]] = {}
            for iid, ex, data in con.execute(
                    "SELECT instance_id, execution_id, event_data FROM history "
                    "ORDER BY instance_id, execution_id, event_id"):
                histories.setdefault((iid, ex), []).append(data)
                write("codec_fuzzer", data)
    for row in rows:
        write("work_item_fuzzer", row)
    # Hand-written items for the kinds a short run does not leave in the queues.
    for row in (
        '{"ActivityCompleted":{"instance":"i","execution_id":1,"id":2,"result":"1"}}',
        '{"TimerFired":{"instance":"i","execution_id":1,"id":3,"fire_at_ms":5}}',
        '{"ExternalRaised":{"instance":"i","name":"Ev","data":"1"}}',
        '{"CancelInstance":{"instance":"i","reason":"r"}}',
    ):
        write("work_item_fuzzer", row)
    programs = {"mixed-1": "atkjreqsga", "loop-1": "ac"}
    for (iid, _ex), events in histories.items():
        program = programs["mixed-1" if iid.startswith("mixed") else "loop-1"]
        write("replay_fuzzer", program + "\n" + "\n".join(events) + "\n")
        write("replay_fuzzer", program + "\n" + "\n".join(events[: len(events) // 2]) + "\n--\n"
              + "\n".join(rows[:4]) + "\n")
    write("replay_fuzzer", "atejrq\n--\n" + "\n".join(rows) + "\n")
    print(f"corpus written under {HERE / 'corpus'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
