"""Writes client/_async_api.py, the typed declaration of the async clients, from ClientAPI.

The async clients' coroutines are generated at run time (aio.py); the type checker needs them
written down. This module derives that declaration from api.py's source (one definition):
each ClientAPI method becomes `async def` with the same parameters, annotations and docstring
(`actor` returns an AsyncActorRef and stays plain; `closed` stays a property).
tests/test_async_clients.py fails when the file is stale;
`python -m duroxide.client._async_gen` rewrites it.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import List

HERE = Path(__file__).parent
TARGET = HERE / "_async_api.py"

HEADER = '''"""GENERATED from ClientAPI (client/api.py) by
`python -m duroxide.client._async_gen`; do not edit. The async clients' operations as the
type checker sees them (aio.py generates the same coroutines at run time)."""

# ruff: noqa: E501
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Union

from duroxide import _core
from duroxide.client.limits import Limit, LimitInfo
from duroxide.client.operations import BulkResult, PendingWork
from duroxide.client.results import (
    ActorInfo,
    DeadLetter,
    OrchestrationResult,
    TaskGraph,
    TopicDetail,
    TopicInfo,
    WaitingActivity,
)
from duroxide.client.schedules import ScheduleInfo
from duroxide.client.workers import UnservableWork, WorkerInfo
from duroxide.workflow.graphs import TaskFunction, TaskHandle
from duroxide.workflow.messages import DEFAULT_REQUEST_TIMEOUT_MS

if TYPE_CHECKING:
    from duroxide.client.aio_actor import AsyncActorRef

DEFAULT_TIMEOUT_MS = 30000


class AsyncClientAPI:
    """Every ClientAPI operation as a coroutine (declaration only)."""
'''


def render() -> str:
    tree = ast.parse((HERE / "api.py").read_text(encoding="utf-8"))
    api = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ClientAPI")
    out = [HEADER]
    for node in api.body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
            continue
        doc = ast.get_docstring(node, clean=True)
        if doc and "\n" in doc:  # continuation lines at the body's indentation
            first, *rest = doc.split("\n")
            doc = "\n".join([first] + ["    " + line if line else "" for line in rest])
        body: List[ast.stmt] = [ast.Expr(ast.Constant(doc))] if doc else []
        body.append(ast.Raise(ast.Name("NotImplementedError", ast.Load()), None))
        decorators = [d for d in node.decorator_list
                      if not (isinstance(d, ast.Name) and d.id == "abstractmethod")]
        if node.name == "closed":
            new: ast.stmt = ast.FunctionDef(node.name, node.args, body, decorators, node.returns)
        elif node.name == "actor":
            new = ast.FunctionDef(node.name, node.args, body, decorators,
                                  ast.Constant("AsyncActorRef"))
        else:
            new = ast.AsyncFunctionDef(node.name, node.args, body, decorators, node.returns)
        ast.fix_missing_locations(new)
        text = ast.unparse(new)
        out.append("\n".join("    " + line if line else "" for line in text.splitlines()) + "\n")
    return "\n".join(out)


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {TARGET}\n")
