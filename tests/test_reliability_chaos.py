"""Short chaos runs (issue 17, sections 3 and 4): the pytest-sized version of scripts/chaos.sh.

Three worker processes on a SQLite file, and on a PostgreSQL cluster owned by the test, run a
mixed workload while workers are killed at random (and, on PostgreSQL, the server restarts
with fast and immediate shutdown, connections are terminated mid-transaction and a statement
timeout hits every query). Every instance must complete once with the right output and no
worker may die on its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

ROOT = Path(__file__).resolve().parent.parent


def chaos(*args: str) -> Dict[str, Any]:
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "chaos.py"), *args],
                          capture_output=True, text=True, timeout=600)
    lines: List[str] = [l for l in proc.stdout.splitlines() if l.startswith("{")]
    assert lines, proc.stderr[-2000:]
    result: Dict[str, Any] = json.loads(lines[-1])
    assert proc.returncode == 0, result
    return result


def check(result: Dict[str, Any], instances: int) -> None:
    assert result["instances"] == instances
    assert result["lost"] == 0 and result["wrong_outputs"] == 0
    assert result["duplicated_completions"] == 0
    assert result["unexpected_worker_deaths"] == 0
    assert result["distinct_activities"] == result["expected_activities"]


@pytest.mark.slow
def test_chaos_sqlite_kills() -> None:
    result = chaos("--store", "sqlite", "--instances", "60", "--kills", "12",
                   "--fault-interval", "0.4", "--seed", "17")
    check(result, 60)
    assert result["faults"]["kill"] == 12 and result["integrity_check"] == "ok"


@pytest.mark.slow
def test_chaos_postgres_restarts_kills_connection_loss_timeouts() -> None:
    result = chaos("--store", "postgres", "--instances", "90", "--kills", "4", "--restarts", "3",
                   "--terminates", "2", "--timeouts", "1", "--fault-interval", "0.8",
                   "--seed", "17")
    check(result, 90)
    assert result["faults"]["restart"] == 3 and result["faults"]["terminate"] == 2
