"""duroxide.testing lint: the determinism linter (`duroxide lint`) on a corpus of good and bad
orchestrations and on our own examples."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import List, Set, Tuple

import pytest

from duroxide.cli import main
from duroxide.testing import LintError, lint_paths, lint_source

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "testing_corpus" / "lint"


def expected_findings(path: Path) -> Set[Tuple[int, str]]:
    """(line, code) for every `# expect: DXnnn` marker in a corpus file."""
    out = set()
    for number, line in enumerate(path.read_text().splitlines(), 1):
        for code in re.findall(r"expect: (DX\d{3})", line):
            out.add((number, code))
    return out


@pytest.mark.parametrize("name", ["bad_clock_random.py", "bad_io_threads.py"])
def test_bad_corpus_reports_exactly_the_marked_lines(name: str) -> None:
    path = CORPUS / name
    findings = lint_paths([path])
    assert {(f.line, f.code) for f in findings} == expected_findings(path)
    for f in findings:
        assert f.path == str(path) and f.line > 0 and f.alternative
        assert str(f).startswith(f"{path}:{f.line}:")


def test_good_corpus_is_clean_and_allow_comments_silence() -> None:
    assert lint_paths([CORPUS / "good_workflows.py"]) == []


def test_findings_name_the_deterministic_alternative() -> None:
    findings = {f.code: f for f in lint_paths([CORPUS])}
    assert "ctx.utc_now()" in findings["DX001"].alternative
    assert "ctx.new_guid()" in findings["DX003"].alternative
    assert "activity" in findings["DX006"].alternative
    helper = findings["DX009"]
    assert "load_config()" in helper.message or "helper_clock()" in helper.message


def test_our_examples_are_clean() -> None:
    findings = lint_paths([ROOT / "examples"])
    assert findings == [], "\n".join(map(str, findings))


def test_nondeterministic_change_is_caught() -> None:
    good = '''
import duroxide
reg = duroxide.Registry()

@reg.register_orchestration("Order")
def order(ctx, input):
    guid = yield ctx.new_guid()
    return guid
'''
    assert lint_source(good) == []
    bad = good.replace("guid = yield ctx.new_guid()", "import uuid\n    guid = str(uuid.uuid4())")
    findings = lint_source(bad, "order.py")
    assert [(f.code, f.line) for f in findings] == [("DX003", 8)]
    assert findings[0].orchestration == "Order"


def test_runtime_decorators_and_direct_registration() -> None:
    source = '''
import random, time
from duroxide import Runtime
rt = Runtime(None)

@rt.register_orchestration_versioned("V", "2.0.0")
def v2(ctx, input):
    yield ctx.schedule_timer(int(time.time()))

def plain(ctx, input):
    x = random.random()
    yield ctx.schedule_timer(1)

rt.register_orchestration("Plain", plain)
'''
    assert [f.code for f in lint_source(source)] == ["DX001", "DX002"]


def test_unparsable_or_missing_path_is_an_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    with pytest.raises(LintError):
        lint_paths([broken])
    with pytest.raises(LintError):
        lint_paths([tmp_path / "missing.py"])


def run_cli(*args: str) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([sys.executable, "-m", "duroxide", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)


def test_cli_exit_status_for_ci(tmp_path: Path) -> None:
    bad = run_cli("lint", str(CORPUS / "bad_clock_random.py"))
    assert bad.returncode == 1
    assert "bad_clock_random.py:17:" in bad.stdout and "DX001" in bad.stdout
    assert "ctx.utc_now()" in bad.stdout
    good = run_cli("lint", str(CORPUS / "good_workflows.py"), "examples")
    assert good.returncode == 0, good.stdout + good.stderr
    missing = run_cli("lint", str(tmp_path / "nope.py"))
    assert missing.returncode == 2


def test_cli_json_select_ignore(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "--json", "--select", "DX003", str(CORPUS)]) == 1
    import json

    data: List[dict] = json.loads(capsys.readouterr().out)  # type: ignore[type-arg]
    assert {d["code"] for d in data} == {"DX003"}
    assert main(["lint", "--ignore", "DX001,DX002,DX003,DX004,DX005,DX006,DX007,DX008,DX009,"
                 "DX010,DX011,DX012", str(CORPUS)]) == 0
