"""Writes client/_async_api.py, the typed declaration of the async clients, from ClientAPI.

The async clients' coroutines are generated at run time (aio.py); the type checker needs them
written down. This module derives that declaration from api.py's source (one definition):
each ClientAPI method becomes `async def` with the same parameters and annotations (`actor`
returns an AsyncActorRef and stays plain; `closed` stays a property), with the imports they
need taken from api.py's. The documentation stays ClientAPI's, written once: aio.py gives
each coroutine its ClientAPI docstring.
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
type checker sees them (aio.py generates the same coroutines at run time, documented by
ClientAPI's docstrings)."""

# ruff: noqa: E501, I001
from __future__ import annotations

'''

CLASS = '''
if TYPE_CHECKING:
    from duroxide.client.aio_actor import AsyncActorRef


class AsyncClientAPI:
    """Every ClientAPI operation as a coroutine (declaration only)."""
'''


def _imports(api_module: ast.Module, methods: List[ast.stmt]) -> List[str]:
    """The imports the declarations need, each from where api.py imports it (or from api.py
    itself, for its own constants), one line per module."""
    used = {n.id for m in methods for n in ast.walk(m) if isinstance(n, ast.Name)}
    used.add("TYPE_CHECKING")
    lines = []
    for node in api_module.body:
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            names = [a for a in node.names if a.name in used]
            if node.module == "typing":
                names = sorted(names + [ast.alias("TYPE_CHECKING")], key=lambda a: a.name)
            if names:
                lines.append(ast.unparse(ast.ImportFrom(node.module, names, 0)))
    own = [n.targets[0].id for n in api_module.body if isinstance(n, ast.Assign)
           and isinstance(n.targets[0], ast.Name) and n.targets[0].id in used]
    if own:
        lines.append(f"from duroxide.client.api import {', '.join(own)}")
    return lines


def render() -> str:
    tree = ast.parse((HERE / "api.py").read_text(encoding="utf-8"))
    api = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "ClientAPI")
    methods: List[ast.stmt] = []
    for node in api.body:
        if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
            continue
        body: List[ast.stmt] = [ast.Raise(ast.Name("NotImplementedError", ast.Load()), None)]
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
        methods.append(new)
    out = [HEADER + "\n".join(_imports(tree, methods)) + "\n" + CLASS]
    for new in methods:
        text = ast.unparse(new)
        out.append("\n".join("    " + line if line else "" for line in text.splitlines()) + "\n")
    return "\n".join(out)

if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {TARGET}\n")
