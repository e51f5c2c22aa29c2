"""The package layout (docs/architecture.md, "The Python package"): the public names stay where
programs import them, and the layers below the tools never go through the public facade.

The layering itself and the absence of import cycles are checked by import-linter
(`lint-imports`, contracts in pyproject.toml) in scripts/test.sh; this file checks what that
analysis cannot see (it reads `from duroxide import _core` as an import of the facade).
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import List

import duroxide

PACKAGE = Path(duroxide.__file__).parent
# Below the tools: these may import each other's modules, never the `duroxide` facade.
LOWER_LAYERS = ["worker", "client", "workflow", "_common.py", "_providers.py", "_telemetry.py",
                "errors.py"]
NATIVE = {"_core", "errors"}  # `from duroxide import _core` names a module, not the facade


def _facade_imports(path: Path) -> List[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [f"{path.name}:{node.lineno} import {a.name}" for a in node.names
                      if a.name == "duroxide"]
        elif isinstance(node, ast.ImportFrom) and node.module == "duroxide" and not node.level:
            found += [f"{path.name}:{node.lineno} from duroxide import {a.name}"
                      for a in node.names if a.name not in NATIVE]
    return found


def test_lower_layers_never_import_the_facade() -> None:
    files = []
    for entry in LOWER_LAYERS:
        target = PACKAGE / entry
        files += sorted(target.rglob("*.py")) if target.is_dir() else [target]
    assert len(files) > 20
    offenders = [hit for path in files for hit in _facade_imports(path)]
    assert offenders == []
    # The check sees a facade import where there is one.
    assert [hit.split(" ", 1)[1] for hit in _facade_imports(PACKAGE / "cli" / "_base.py")] == [
        "import duroxide"]


def test_public_names_stay_where_programs_import_them() -> None:
    for name in duroxide.__all__:
        assert getattr(duroxide, name) is not None, name
    context = importlib.import_module("duroxide.context")
    driver = importlib.import_module("duroxide.driver")
    assert context.OrchestrationContext is duroxide.OrchestrationContext
    assert context.ActivityContext is duroxide.ActivityContext
    assert context.current_activity is duroxide.current_activity
    assert {"ScheduledTask", "JoinTask", "Task"} <= set(dir(context))
    for name in driver.__all__:
        assert callable(getattr(driver, name)), name
    assert duroxide.driver is driver and duroxide.context is context
    assert duroxide._orchestration_functions is importlib.import_module(
        "duroxide.workflow.generator_protocol").orchestration_functions
    cli = importlib.import_module("duroxide.cli")
    assert callable(cli.main) and callable(cli.build_parser)
    assert importlib.import_module("duroxide.errors").DuroxideError is duroxide.DuroxideError
    assert callable(duroxide.testing.replay)


def test_each_subpackage_has_its_modules() -> None:
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert {"client", "workflow", "worker", "cli", "server", "testing", "otel"} <= subpackages
    top_level = sorted(p.name for p in PACKAGE.glob("*.py"))
    # The facade, `python -m duroxide`, the shared foundation and the historical public paths.
    assert top_level == ["__init__.py", "__main__.py", "_common.py", "_providers.py",
                         "_telemetry.py", "context.py", "driver.py", "errors.py"]
