"""duroxide.testing: tools for testing your own workflows.

* pytest fixtures (installed as a pytest plugin, `duroxide.testing.pytest_plugin`): an
  in-memory provider/client/runtime, a SQLite file store in `tmp_path`, PostgreSQL when
  `DATABASE_URL` is set; everything is shut down and removed after each test.
* `run_orchestration` and `assert_history`: run a workflow to completion and check its history.
* `TimeSkippingRuntime`: durable timers on a virtual clock that jumps when the runtime is idle.
* `replay`: replay a recorded history against the current code (no activities, no writes).
* `crash_test`: crash the runtime at every commit point in turn and compare with a clean run.
* `lint_paths`: the determinism linter behind `duroxide lint`.

See docs/testing.md.
"""

from __future__ import annotations

from duroxide.testing._crash import CrashPoint, CrashTestFailure, CrashTestReport, crash_test
from duroxide.testing._helpers import (
    HistoryEvent,
    OrchestrationFailedError,
    assert_history,
    format_history,
    get_history,
    history_summary,
    run_orchestration,
    wait_for_history,
)
from duroxide.testing._lint import Finding, LintError, lint, lint_paths, lint_source
from duroxide.testing._replay import (
    ExportedHistory,
    NondeterminismError,
    ReplayResult,
    export_history,
    load_histories,
    read_history,
    replay,
)
from duroxide.testing._timeskip import TimeSkippingRuntime, virtual_now_ms

__all__ = [
    "CrashPoint", "CrashTestFailure", "CrashTestReport", "crash_test",
    "HistoryEvent", "OrchestrationFailedError", "assert_history", "format_history",
    "get_history", "history_summary", "run_orchestration", "wait_for_history",
    "Finding", "LintError", "lint", "lint_paths", "lint_source",
    "ExportedHistory", "NondeterminismError", "ReplayResult", "export_history",
    "load_histories", "read_history", "replay",
    "TimeSkippingRuntime", "virtual_now_ms",
]
