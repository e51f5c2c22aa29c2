"""The public API is typed: decorators keep the function's type, statuses are Literals, the
package ships py.typed and _core.pyi (mypy --strict itself runs in scripts/test.sh)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import duroxide

pytest.importorskip("mypy")

SNIPPET = textwrap.dedent("""
    from typing import Any
    import duroxide
    from duroxide import ActivityContext, OrchestrationContext, Runtime, SqliteProvider

    rt = Runtime(SqliteProvider.in_memory())

    @rt.register_activity("Greet")
    def greet(ctx: ActivityContext, name: str) -> str:
        return "hi " + name

    def wf(ctx: OrchestrationContext, x: int) -> int:
        return x

    same = rt.register_orchestration("Wf", wf)
    reveal_type(greet)
    reveal_type(same)
    result = duroxide.Client(SqliteProvider.in_memory()).get_status("x")
    reveal_type(result.status)
    provider: duroxide.Provider = SqliteProvider.in_memory()
    try:
        pass
    except duroxide.ActivityFailedError as e:
        reveal_type(e.category)
""")


def test_decorators_keep_types_and_statuses_are_literals(tmp_path):
    path = tmp_path / "snippet.py"
    path.write_text(SNIPPET)
    proc = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental",
                           str(path)], capture_output=True, text=True, timeout=300,
                          cwd=tmp_path)
    out = proc.stdout.replace("builtins.", "")
    # The classes are defined in duroxide.worker.activity and duroxide.workflow.context
    # (re-exported by duroxide and duroxide.context); mypy names the defining module.
    assert "def (ctx: duroxide.worker.activity.ActivityContext, name: str) -> str" in out, out
    assert "def (ctx: duroxide.workflow.context.OrchestrationContext, x: int) -> int" in out, out
    status_line = [line for line in out.splitlines() if "snippet.py:19" in line][0]
    for status in ("NotFound", "Running", "Completed", "Failed"):
        assert f"'{status}'" in status_line and "Literal" in status_line, status_line
    assert 'Revealed type is "str"' in out, out
    assert proc.returncode == 0 and "error:" not in out, out


def test_package_ships_type_information():
    root = Path(duroxide.__file__).parent
    assert (root / "py.typed").exists()
    assert (root / "_core.pyi").exists()
