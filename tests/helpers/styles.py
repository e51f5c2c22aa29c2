"""Runs a test module's orchestration tests in both styles: generator and `async def`.

`add_async_variants(globals())` at the end of a test module parses the module's own source
and, for every `test_*` function that defines an orchestration as a nested generator function
(`def orch(ctx, ...)` containing `yield`), adds `test_*__async`: the same test with each such
function rewritten as `async def` and each `yield X` as `await X` (`yield from g` becomes
`await _delegate(g)`). The rewritten code is real async orchestration code, compiled with the
module's file name and line numbers, so failures point at the original lines.
"""

from __future__ import annotations

import ast
from typing import Any, Dict, Generator


class _Delegate:
    def __init__(self, gen: Generator[Any, Any, Any]) -> None:
        self.gen = gen

    def __await__(self) -> Generator[Any, Any, Any]:
        return (yield from self.gen)


def _is_generator(fn: ast.FunctionDef) -> bool:
    for node in ast.walk(fn):
        if node is not fn and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef,
                                                ast.Lambda)):
            continue
        if isinstance(node, (ast.Yield, ast.YieldFrom)):
            return True
    return False


class _ToAsync(ast.NodeTransformer):
    def visit_Yield(self, node: ast.Yield) -> ast.AST:
        value = node.value if node.value is not None else ast.Constant(None)
        return ast.copy_location(ast.Await(self.visit(value)), node)

    def visit_YieldFrom(self, node: ast.YieldFrom) -> ast.AST:
        call = ast.Call(ast.Name("_delegate", ast.Load()), [self.visit(node.value)], [])
        return ast.copy_location(ast.Await(call), node)


class _Orchestrations(ast.NodeTransformer):
    """Rewrites nested generator functions whose first parameter is `ctx`."""

    def __init__(self) -> None:
        self.count = 0

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self.generic_visit(node)
        args = node.args.args
        if args and args[0].arg == "ctx" and _is_generator(node):
            self.count += 1
            body = [_ToAsync().visit(stmt) for stmt in node.body]
            new = ast.AsyncFunctionDef(node.name, node.args, body, node.decorator_list,
                                       node.returns, node.type_comment)
            return ast.copy_location(new, node)
        return node


def add_async_variants(namespace: Dict[str, Any]) -> None:
    path = namespace["__file__"]
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    added = []
    for node in tree.body:
        if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
            continue
        rewriter = _Orchestrations()
        body = [rewriter.visit(stmt) for stmt in node.body]
        if rewriter.count == 0:
            continue
        node.body = body
        node.name += "__async"
        added.append(node)
    module = ast.fix_missing_locations(ast.Module(added, []))
    namespace.setdefault("_delegate", _Delegate)
    exec(compile(module, path, "exec"), namespace)  # noqa: S102 - the module's own source


__all__ = ["add_async_variants"]
