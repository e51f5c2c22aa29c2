"""The orchestration of the completion relay's crash test (tests/test_pg_completion_relay.py),
registered alike in the process that is killed and in the one that finishes the work."""

from __future__ import annotations

from typing import Any


def register_record(rt: Any, ledger: str) -> None:
    """"RecordOnce" runs one "Record" activity, which appends a line to `ledger` per run."""

    @rt.register_activity("Record")
    def record(ctx: Any, n: int) -> int:
        with open(ledger, "a") as f:
            f.write("ran\n")
        return n * 10

    @rt.register_orchestration("RecordOnce")
    def record_once(ctx: Any, n: int) -> Any:
        return (yield ctx.schedule_activity("Record", n))
