"""A static determinism linter for orchestration functions (`duroxide lint PATH...`).

An orchestration is replayed from its history after every restart and on every turn, so its
code must take the same path each time. This module parses Python files (it never imports
them), finds the functions registered as orchestrations (`@x.register_orchestration(...)`,
`register_orchestration_versioned`, the `_typed` variants, or a direct
`x.register_orchestration("Name", fn)` call) and reports what would break replay: wall-clock
reads, randomness, new GUIDs, printing, environment reads, file and network I/O, threads,
iteration over sets, and calls to helper functions (in the linted files) that do any of these.

Each finding names the file, the line and the deterministic alternative. A line ending with
`# duroxide: allow` (optionally `# duroxide: allow[DX001,DX004]`) is not reported.
"""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Set, Tuple, Union

from duroxide.errors import LintError

__all__ = ["Finding", "LintError", "RULES", "lint", "lint_paths", "lint_source", "format_finding"]


@dataclass(frozen=True)
class Rule:
    code: str
    title: str
    alternative: str


RULES: Dict[str, Rule] = {r.code: r for r in (
    Rule("DX001", "reads the wall clock",
         "use `now_ms = yield ctx.utc_now()` (replay-safe, recorded in history)"),
    Rule("DX002", "uses randomness",
         "use `yield ctx.new_guid()` for unique values, or draw random values in an activity"),
    Rule("DX003", "creates a GUID", "use `guid = yield ctx.new_guid()`"),
    Rule("DX004", "prints", "use `ctx.trace_info(...)` (logs only when not replaying)"),
    Rule("DX005", "reads the environment",
         "pass the value in the orchestration input, or read it in an activity"),
    Rule("DX006", "does file or network I/O",
         "do I/O in an activity: `yield ctx.schedule_activity(\"Name\", input)`"),
    Rule("DX007", "uses threads, processes or asyncio",
         "fan out with activities and `yield ctx.all([...])`; wait with "
         "`yield ctx.schedule_timer(ms)`"),
    Rule("DX008", "is a set: its iteration order differs between processes",
         "iterate over `sorted(...)` or a list"),
    Rule("DX009", "calls a function that is not replay-safe",
         "move that work into an activity, or pass its result in the input"),
    Rule("DX010", "blocks the dispatcher thread", "use `yield ctx.schedule_timer(ms)`"),
    Rule("DX011", "calls an activity function directly (it would run again on every replay)",
         "use `yield ctx.schedule_activity(\"Name\", input)`"),
    Rule("DX012", "differs between processes (hash randomization, object addresses)",
         "use a stable key (the value itself, or hashlib on its bytes)"),
    Rule("DX013", "awaits something that is not a duroxide task (async orchestrations run "
                  "without an event loop; only ctx tasks may be awaited)",
         "await ctx tasks only: `await ctx.schedule_timer(ms)` instead of asyncio.sleep, "
         "`await ctx.all([...])` instead of asyncio.gather, I/O in an activity"),
)}

# Qualified call names (after import resolution) and the rule they break. A key ending with
# "." matches every name under that prefix.
_CALLS: Dict[str, str] = {
    "time.time": "DX001", "time.time_ns": "DX001", "time.monotonic": "DX001",
    "time.monotonic_ns": "DX001", "time.perf_counter": "DX001", "time.perf_counter_ns": "DX001",
    "time.process_time": "DX001", "time.localtime": "DX001", "time.gmtime": "DX001",
    "time.ctime": "DX001", "time.asctime": "DX001", "time.strftime": "DX001",
    "datetime.datetime.now": "DX001", "datetime.datetime.utcnow": "DX001",
    "datetime.datetime.today": "DX001", "datetime.date.today": "DX001",
    "time.sleep": "DX010",
    "random.": "DX002", "secrets.": "DX002", "os.urandom": "DX002", "numpy.random.": "DX002",
    "os.getrandom": "DX002",
    "uuid.uuid1": "DX003", "uuid.uuid4": "DX003",
    "print": "DX004", "builtins.print": "DX004", "pprint.pprint": "DX004", "pprint.pp": "DX004",
    "os.getenv": "DX005", "os.getenvb": "DX005", "os.putenv": "DX005", "os.unsetenv": "DX005",
    "open": "DX006", "input": "DX006", "io.open": "DX006", "builtins.open": "DX006",
    "os.open": "DX006", "os.remove": "DX006", "os.unlink": "DX006", "os.rename": "DX006",
    "os.replace": "DX006", "os.listdir": "DX006", "os.scandir": "DX006", "os.walk": "DX006",
    "os.mkdir": "DX006", "os.makedirs": "DX006", "os.rmdir": "DX006", "os.stat": "DX006",
    "os.system": "DX006", "os.popen": "DX006", "os.getcwd": "DX006", "os.path.exists": "DX006",
    "os.path.isfile": "DX006", "os.path.isdir": "DX006", "os.path.getsize": "DX006",
    "os.path.getmtime": "DX006", "os.getpid": "DX006",
    "shutil.": "DX006", "socket.": "DX006", "ssl.": "DX006", "requests.": "DX006",
    "httpx.": "DX006", "aiohttp.": "DX006", "urllib.request.": "DX006", "http.client.": "DX006",
    "urllib3.": "DX006", "subprocess.": "DX006", "sqlite3.connect": "DX006",
    "psycopg.connect": "DX006", "psycopg2.connect": "DX006", "smtplib.": "DX006",
    "ftplib.": "DX006", "glob.glob": "DX006", "glob.iglob": "DX006", "tempfile.": "DX006",
    "pathlib.Path.read_text": "DX006", "pathlib.Path.write_text": "DX006",
    "pathlib.Path.read_bytes": "DX006", "pathlib.Path.write_bytes": "DX006",
    "pathlib.Path.open": "DX006", "pathlib.Path.exists": "DX006",
    "pathlib.Path.unlink": "DX006", "pathlib.Path.mkdir": "DX006", "pathlib.Path.iterdir": "DX006",
    "pathlib.Path.glob": "DX006", "pathlib.Path.stat": "DX006",
    "threading.": "DX007", "_thread.": "DX007", "multiprocessing.": "DX007",
    "concurrent.futures.": "DX007", "asyncio.": "DX007",
    "hash": "DX012", "id": "DX012",
}
# Attribute reads (not only calls) that break replay.
_ATTRIBUTES: Dict[str, str] = {"os.environ": "DX005", "os.environb": "DX005"}
# Method names that do file I/O on any object (a Path held in a variable, a file handle).
_IO_METHODS = {"read_text", "write_text", "read_bytes", "write_bytes"}
_ALLOW = re.compile(r"#\s*duroxide:\s*allow(?:\[([A-Za-z0-9_,\s]+)\])?", re.IGNORECASE)
_REGISTER_PREFIX = "register_orchestration"
_ACTIVITY_PREFIX = "register_activity"


@dataclass(frozen=True)
class Finding:
    """One lint finding. `line` and `col` are 1-based."""

    path: str
    line: int
    col: int
    code: str
    message: str
    alternative: str
    orchestration: str
    function: str

    def __str__(self) -> str:
        return format_finding(self)

    def to_dict(self) -> Dict[str, Union[str, int]]:
        return {"path": self.path, "line": self.line, "col": self.col, "code": self.code,
                "message": self.message, "alternative": self.alternative,
                "orchestration": self.orchestration, "function": self.function}


def format_finding(f: Finding) -> str:
    """`path:line:col: CODE message; alternative`, one line."""
    return f"{f.path}:{f.line}:{f.col}: {f.code} {f.message}; {f.alternative}"


# ---- module analysis ------------------------------------------------------------------------


@dataclass
class _Violation:
    node: ast.AST
    code: str
    what: str  # e.g. "time.time()"


@dataclass
class _Module:
    path: str
    name: str  # dotted module name guess (file stem)
    tree: ast.Module
    lines: List[str]
    aliases: Dict[str, str] = field(default_factory=dict)  # local name -> qualified name
    functions: Dict[str, ast.AST] = field(default_factory=dict)  # module-level defs
    orchestrations: Dict[str, List[str]] = field(default_factory=dict)  # fn -> names
    activities: Set[str] = field(default_factory=set)


def _dotted(node: ast.AST) -> Optional[str]:
    """`a.b.c` for Name/Attribute chains, else None."""
    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _collect_aliases(tree: ast.Module) -> Dict[str, str]:
    aliases: Dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.asname:
                    aliases[a.asname] = a.name
                else:
                    top = a.name.split(".")[0]
                    aliases[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"
    return aliases


def _qualify(name: str, aliases: Dict[str, str]) -> str:
    head, _, rest = name.partition(".")
    if head in aliases:
        return aliases[head] + ("." + rest if rest else "")
    return name


def _rule_for(qualified: str, table: Dict[str, str]) -> Optional[str]:
    if qualified in table:
        return table[qualified]
    for key, code in table.items():
        if key.endswith(".") and qualified.startswith(key):
            return code
    return None


def _str_arg(call: ast.Call) -> Optional[str]:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    for kw in call.keywords:
        if kw.arg == "name" and isinstance(kw.value, ast.Constant):
            return str(kw.value.value)
    return None


def _registration(call: ast.Call, prefix: str) -> bool:
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else (
        func.id if isinstance(func, ast.Name) else "")
    return name.startswith(prefix)


def _registered_fn_arg(call: ast.Call) -> Optional[str]:
    """The function named by a direct register_orchestration* call, if it is a plain name."""
    func = call.func
    attr = func.attr if isinstance(func, ast.Attribute) else ""
    index = 2 if "versioned" in attr else 1
    candidates: List[ast.expr] = []
    if len(call.args) > index:
        candidates.append(call.args[index])
    candidates += [kw.value for kw in call.keywords if kw.arg == "fn"]
    for c in candidates:
        if isinstance(c, ast.Name):
            return c.id
    return None


def _analyse_module(path: str, source: str) -> _Module:
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        raise LintError(f"{path}:{exc.lineno or 0}: cannot parse: {exc.msg}") from None
    mod = _Module(path=path, name=os.path.splitext(os.path.basename(path))[0], tree=tree,
                  lines=source.splitlines())
    mod.aliases = _collect_aliases(tree)
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            mod.functions.setdefault(node.name, node)
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and _registration(deco, _REGISTER_PREFIX):
                    mod.orchestrations.setdefault(node.name, []).append(
                        _str_arg(deco) or node.name)
                elif isinstance(deco, ast.Call) and _registration(deco, _ACTIVITY_PREFIX):
                    mod.activities.add(node.name)
        elif isinstance(node, ast.Call):
            if _registration(node, _REGISTER_PREFIX):
                fn = _registered_fn_arg(node)
                if fn is not None:
                    mod.orchestrations.setdefault(fn, []).append(_str_arg(node) or fn)
            elif _registration(node, _ACTIVITY_PREFIX) and len(node.args) > 1 and isinstance(
                    node.args[1], ast.Name):
                mod.activities.add(node.args[1].id)
    return mod


class _BodyScanner:
    """Finds direct violations in one function body (nested defs included)."""

    def __init__(self, mod: _Module, fn: ast.AST):
        self.mod = mod
        self.fn = fn
        self.violations: List[_Violation] = []
        self.calls: List[Tuple[ast.Call, str]] = []  # (call, local function name)
        self.set_names = self._set_bound_names()

    def _set_bound_names(self) -> Set[str]:
        names: Set[str] = set()
        for node in ast.walk(self.fn):
            if isinstance(node, ast.Assign) and _is_set_expr(node.value, set()):
                names.update(t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.AnnAssign) and node.value is not None and isinstance(
                    node.target, ast.Name) and _is_set_expr(node.value, set()):
                names.add(node.target.id)
        return names

    def _awaited_calls(self) -> Set[int]:
        """ids of the calls awaited directly (`await f(...)`): DX013 judges those."""
        return {id(n.value) for n in ast.walk(self.fn)
                if isinstance(n, ast.Await) and isinstance(n.value, ast.Call)}

    def _ctx_name(self) -> Optional[str]:
        args = getattr(self.fn, "args", None)
        return args.args[0].arg if args is not None and args.args else None

    def _foreign_await(self, call: ast.Call, name: Optional[str]) -> bool:
        """Whether an awaited call cannot give a duroxide task: a method of anything but the
        orchestration's ctx (an HTTP session, a client, a module such as asyncio), or a
        function imported from a module of _CALLS. A plain local name may be a task function
        or a helper coroutine: not reported."""
        if name is None:
            return False
        root = name.split(".")[0]
        if "." in name:
            return root != self._ctx_name()
        qualified = _qualify(name, self.mod.aliases)
        return qualified != name and _rule_for(qualified, _CALLS) is not None

    def scan(self) -> "_BodyScanner":
        self.awaited = self._awaited_calls()
        for node in ast.walk(self.fn):
            if isinstance(node, ast.Call):
                self._call(node)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
                self._attribute(node)
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                self._iteration(node.iter)
            elif isinstance(node, ast.comprehension):
                self._iteration(node.iter)
        return self

    def _add(self, node: ast.AST, code: str, what: str) -> None:
        self.violations.append(_Violation(node, code, what))

    def _call(self, call: ast.Call) -> None:
        name = _dotted(call.func)
        if id(call) in self.awaited and self._foreign_await(call, name):
            self._add(call, "DX013", f"await {_qualify(name or '', self.mod.aliases)}()")
            return
        if name is None:
            if isinstance(call.func, ast.Attribute) and call.func.attr in _IO_METHODS:
                self._add(call, "DX006", f".{call.func.attr}()")
            return
        qualified = _qualify(name, self.mod.aliases)
        code = _rule_for(qualified, _CALLS)
        if code is None and isinstance(call.func, ast.Attribute) and \
                call.func.attr in _IO_METHODS:
            code = "DX006"
        if code is not None:
            if code == "DX012" and name not in ("hash", "id"):
                return
            self._add(call, code, f"{qualified}()")
            return
        if isinstance(call.func, ast.Name):
            self.calls.append((call, call.func.id))
        elif qualified != name or "." in name:
            self.calls.append((call, qualified))

    def _attribute(self, node: ast.Attribute) -> None:
        name = _dotted(node)
        if name is None:
            return
        code = _rule_for(_qualify(name, self.mod.aliases), _ATTRIBUTES)
        if code is not None:
            self._add(node, code, _qualify(name, self.mod.aliases))

    def _iteration(self, it: ast.expr) -> None:
        if _is_set_expr(it, self.set_names):
            self._add(it, "DX008", ast.unparse(it))


def _is_set_expr(node: ast.AST, set_names: Set[str]) -> bool:
    if isinstance(node, (ast.Set, ast.SetComp)):
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
            node.func.id in ("set", "frozenset"):
        return True
    if isinstance(node, ast.Name) and node.id in set_names:
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitOr, ast.BitAnd, ast.Sub,
                                                            ast.BitXor)):
        return _is_set_expr(node.left, set_names) or _is_set_expr(node.right, set_names)
    return False


class _Project:
    """All linted modules; answers "is this helper replay-safe?" across them."""

    def __init__(self, modules: List[_Module]):
        self.modules = modules
        self.by_name: Dict[str, _Module] = {m.name: m for m in modules}
        self._cache: Dict[Tuple[str, str], Optional[Tuple[_Violation, _Module, str]]] = {}

    def resolve(self, mod: _Module, name: str) -> Optional[Tuple[_Module, str]]:
        """The (module, function) a call name refers to, if it is defined in a linted file."""
        if "." not in name and name in mod.functions:
            return mod, name
        qualified = _qualify(name, mod.aliases)
        module_name, _, fn = qualified.rpartition(".")
        target = self.by_name.get(module_name.rpartition(".")[2]) if module_name else None
        if target is not None and fn in target.functions:
            return target, fn
        return None

    def first_violation(self, mod: _Module, fn: str, stack: Tuple[Tuple[str, str], ...] = ()
                        ) -> Optional[Tuple[_Violation, _Module, str]]:
        """The first direct violation reachable from helper `fn` (depth-first), or None."""
        key = (mod.path, fn)
        if key in self._cache:
            return self._cache[key]
        if key in stack:
            return None
        scanner = _BodyScanner(mod, mod.functions[fn]).scan()
        result: Optional[Tuple[_Violation, _Module, str]] = None
        for v in scanner.violations:
            if not _allowed(mod, v.node, v.code):
                result = (v, mod, fn)
                break
        if result is None:
            for call, name in scanner.calls:
                target = self.resolve(mod, name)
                if target is None or target[1] in target[0].orchestrations:
                    continue
                found = self.first_violation(target[0], target[1], stack + (key,))
                if found is not None and not _allowed(mod, call, "DX009"):
                    result = found
                    break
        self._cache[key] = result
        return result


def _allowed(mod: _Module, node: ast.AST, code: str) -> bool:
    line = getattr(node, "lineno", 0)
    end = getattr(node, "end_lineno", line) or line
    for number in {line, end}:
        if 1 <= number <= len(mod.lines):
            match = _ALLOW.search(mod.lines[number - 1])
            if match:
                codes = match.group(1)
                if codes is None or code in {c.strip().upper() for c in codes.split(",")}:
                    return True
    return False


def _lint_orchestration(project: _Project, mod: _Module, fn: str, names: List[str]
                        ) -> Iterator[Finding]:
    node = mod.functions[fn]
    orchestration = ", ".join(dict.fromkeys(names))
    scanner = _BodyScanner(mod, node).scan()

    def finding(at: ast.AST, code: str, message: str) -> Finding:
        return Finding(path=mod.path, line=getattr(at, "lineno", 0),
                       col=getattr(at, "col_offset", 0) + 1, code=code, message=message,
                       alternative=RULES[code].alternative, orchestration=orchestration,
                       function=fn)

    for v in scanner.violations:
        if _allowed(mod, v.node, v.code):
            continue
        yield finding(v.node, v.code, f"{v.what} {RULES[v.code].title} in orchestration "
                                      f"'{orchestration}'")
    for call, name in scanner.calls:
        target = project.resolve(mod, name)
        if target is None:
            continue
        tmod, tfn = target
        if tfn in tmod.activities:
            if not _allowed(mod, call, "DX011"):
                yield finding(call, "DX011", f"{tfn}() {RULES['DX011'].title} in orchestration "
                                             f"'{orchestration}'")
            continue
        if tfn in tmod.orchestrations:
            continue  # linted on its own
        found = project.first_violation(tmod, tfn)
        if found is None or _allowed(mod, call, "DX009"):
            continue
        v, vmod, vfn = found
        where = f"{os.path.basename(vmod.path)}:{getattr(v.node, 'lineno', 0)}"
        yield finding(call, "DX009",
                      f"{tfn}() {RULES['DX009'].title} in orchestration '{orchestration}': "
                      f"{vfn}() {RULES[v.code].title} ({v.what} at {where}; "
                      f"{RULES[v.code].alternative})")


# ---- entry points ---------------------------------------------------------------------------


def _lint_modules(modules: List[_Module]) -> List[Finding]:
    project = _Project(modules)
    findings: List[Finding] = []
    for mod in modules:
        for fn, names in mod.orchestrations.items():
            if fn in mod.functions:
                findings.extend(_lint_orchestration(project, mod, fn, names))
    findings.sort(key=lambda f: (f.path, f.line, f.col, f.code))
    return findings


def lint_source(source: str, path: str = "<string>") -> List[Finding]:
    """Lints one module's source text. Raises LintError if it is not valid Python."""
    return _lint_modules([_analyse_module(path, source)])


def _python_files(paths: Iterable[Union[str, "os.PathLike[str]"]]) -> List[str]:
    files: List[str] = []
    for raw in paths:
        path = os.fspath(raw)
        if os.path.isdir(path):
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in (
                    "__pycache__", "node_modules", "build", "dist") and not d.endswith(
                    ".egg-info") and d not in ("venv", ".venv"))
                files.extend(os.path.join(root, n) for n in sorted(names) if n.endswith(".py"))
        elif os.path.isfile(path):
            files.append(path)
        else:
            raise LintError(f"{path}: no such file or directory")
    return files


def lint_paths(paths: Sequence[Union[str, "os.PathLike[str]"]]) -> List[Finding]:
    """Lints every .py file under `paths` (files or directories, recursively).

    Helpers called by an orchestration are followed across the linted files.
    Raises LintError for a missing path or a file that is not valid Python.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    modules = []
    for path in _python_files(paths):
        try:
            with open(path, encoding="utf-8") as fh:
                source = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise LintError(f"{path}: cannot read: {exc}") from None
        modules.append(_analyse_module(path, source))
    return _lint_modules(modules)


lint = lint_paths
