"""The messaging examples run as they are, including the SIGKILL of their worker midway."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import duroxide

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("script", ["ai_pipeline.py", "multi_agent.py"])
def test_example_runs(script: str) -> None:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(Path(duroxide.__file__).resolve().parent.parent),
                    env.get("PYTHONPATH", "")) if p)
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / script)], env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "killed the worker" in proc.stdout
