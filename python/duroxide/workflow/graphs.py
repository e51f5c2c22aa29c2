"""Promise-style task graphs (docs/task-graphs.md).

`@runtime.task(...)` (or `@registry.task(...)`) turns a plain function into a `TaskFunction`.
Calling it returns a lazy `TaskHandle`; handles passed as arguments (also inside lists, tuples
and dicts) become dependencies. Yielding a handle (or `ctx.all([...])` of handles) from an
orchestration sends one "graph" task to the replay engine: every node is an ordinary activity
(its input an envelope with the arguments, where {"$dx_ref": i} stands for node i's output),
scheduled by the engine as soon as its dependencies completed. A node used twice runs once;
a failed node fails its dependents without running them.

The history holds only ordinary activity events, so replay needs nothing new. Node ids are
numbered per orchestration in the order the graph is first built, which the orchestration
code determines, so a replay numbers them the same way.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import inspect
import json
import time
import weakref
from typing import (
    Any,
    Callable,
    Dict,
    Generator,
    Iterator,
    List,
    Mapping,
    Optional,
    Set,
    Tuple,
    Union,
)

import duroxide._core as _core
from duroxide._common import canonical_json, normalize_retry
from duroxide.errors import GraphNodeFailedError, InvalidArgumentError, InvalidTypeError
from duroxide.workflow.requirements import canonical_schema, check_timeout

REF_KEY = "$dx_ref"
GRAPH_ORCHESTRATION = "duroxide.graph"
_MISSING: Any = object()


class CachedResult:
    """Returned by a task activity whose result came from the task cache (JSON text)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _check_cache(cache: Any, what: str) -> Optional[Dict[str, Any]]:
    if cache is None:
        return None
    if cache is True:
        return {"ttl_s": None, "version": "1"}
    if not isinstance(cache, Mapping):
        raise InvalidArgumentError(f"{what}: cache must be a dict like {{'ttl_s': 60}}")
    unknown = set(cache) - {"ttl_s", "version"}
    if unknown:
        raise InvalidArgumentError(f"{what}: unknown cache option(s) {sorted(unknown)}")
    ttl = cache.get("ttl_s")
    if ttl is not None and (not isinstance(ttl, (int, float)) or isinstance(ttl, bool) or ttl <= 0):
        raise InvalidArgumentError(f"{what}: cache ttl_s must be a number > 0, got {ttl!r}")
    return {"ttl_s": ttl, "version": str(cache.get("version", "1"))}


class TaskSpec:
    """What a graph node needs to know about its task: name and scheduling options."""

    def __init__(self, name: str, requires: Any = None, retry: Optional[Dict[str, Any]] = None,
                 cache: Any = None, requires_timeout_ms: Optional[int] = None) -> None:
        what = f"task '{name}'"
        self.name = name
        self.requires = requires
        self.requires_timeout_ms = check_timeout(requires_timeout_ms, what)
        self.routing: Dict[str, Any] = {}
        if requires is not None:
            text, digest = canonical_schema(requires, what)
            self.routing = {"requires": text, "requiresHash": digest}
            if self.requires_timeout_ms is not None:
                self.routing["requiresTimeoutMs"] = self.requires_timeout_ms
        self.retry = retry
        self.retry_dict = normalize_retry(retry, what) if retry is not None else None
        self.cache = _check_cache(cache, what)

    def to_json(self) -> Dict[str, Any]:
        return {"task": self.name, "requires": self.requires, "retry": self.retry,
                "cache": self.cache, "requires_timeout_ms": self.requires_timeout_ms}


class TaskFunction(TaskSpec):
    """A distributed function: calling it returns a TaskHandle; a worker runs the function.

    The function keeps its own signature (`inspect.signature`, `__wrapped__`); `cache_key=`
    in a call is taken as the per-call cache key unless the function has such a parameter.
    """

    def __init__(self, fn: Callable[..., Any], name: str, requires: Any = None,
                 retry: Optional[Dict[str, Any]] = None, cache: Any = None,
                 requires_timeout_ms: Optional[int] = None) -> None:
        super().__init__(name, requires, retry, cache, requires_timeout_ms)
        self.fn = fn
        functools.update_wrapper(self, fn)
        try:
            params = inspect.signature(fn).parameters
            self._own_cache_key = "cache_key" in params
        except (TypeError, ValueError):
            self._own_cache_key = False

    def __call__(self, *args: Any, **kwargs: Any) -> "TaskHandle":
        cache_key = None
        if not self._own_cache_key and "cache_key" in kwargs:
            cache_key = kwargs.pop("cache_key")
            if cache_key is not None and not isinstance(cache_key, str):
                raise InvalidArgumentError(f"task '{self.name}': cache_key must be a str")
        return TaskHandle(self, args, kwargs, cache_key)

    def __repr__(self) -> str:
        return f"<duroxide task '{self.name}'>"

    def options(self, *, requires: Any = _MISSING, retry: Any = _MISSING,
                requires_timeout_ms: Any = _MISSING) -> "TaskFunction":
        """The same task with other scheduling options for the calls made through the result
        (e.g. `compile.options(requires=on_windows)("b.cpp")`: the per-call schema wins). The
        cache settings stay those of the registered task (the worker applies them)."""
        clone = TaskFunction(
            self.fn, self.name,
            self.requires if requires is _MISSING else requires,
            self.retry if retry is _MISSING else retry,
            None,
            self.requires_timeout_ms if requires_timeout_ms is _MISSING else requires_timeout_ms)
        clone.cache = self.cache
        return clone

    # ---- worker side -----------------------------------------------------------------------
    def run_activity(self, ctx: Any, envelope: Any) -> Any:
        """The registered activity: unpacks the envelope, consults the cache, calls fn."""
        if isinstance(envelope, dict) and "args" in envelope and "node" in envelope:
            args = list(envelope.get("args") or [])
            kwargs = dict(envelope.get("kwargs") or {})
            per_call_key = envelope.get("cache_key")
        else:  # scheduled as a plain activity: the input is the only argument
            args, kwargs, per_call_key = [envelope], {}, None
        cache = self.cache
        if cache is None and per_call_key is not None:
            cache = {"ttl_s": None, "version": "1"}
        key = None
        provider: Any = None
        if cache is not None:
            key = cache_key(self.name, cache["version"], args, kwargs, per_call_key)
            provider = ctx.get_client()._provider._native
            hit = _core._task_cache_get(provider, key)
            if hit is not None:
                return CachedResult(hit)
        result = self.fn(*args, **kwargs)
        if inspect.iscoroutine(result):
            result = asyncio.run(result)
        if key is not None and cache is not None:
            ttl = cache.get("ttl_s")
            expires = 0 if ttl is None else int(time.time() * 1000 + ttl * 1000)
            _core._task_cache_put(provider, key, self.name, json.dumps(result), expires)
        return result


def cache_key(task: str, version: str, args: List[Any], kwargs: Dict[str, Any],
              per_call_key: Optional[str]) -> str:
    """The cache key of (task name, version, canonical input), or of the per-call key."""
    body: Dict[str, Any] = {"task": task, "version": version}
    if per_call_key is not None:
        body["key"] = per_call_key
    else:
        body["args"] = args
        body["kwargs"] = kwargs
    text = canonical_json(body)
    return f"{task}:{hashlib.sha256(text.encode()).hexdigest()}"


class TaskHandle:
    """A lazy call of a task: nothing runs until an orchestration yields it (or a graph that
    needs it), or `client.submit()` is given it."""

    __slots__ = ("task", "args", "kwargs", "cache_key", "node_id", "state", "value",
                 "__weakref__")

    def __init__(self, task: TaskSpec, args: Tuple[Any, ...], kwargs: Dict[str, Any],
                 cache_key: Optional[str] = None) -> None:
        self.task = task
        self.args = args
        self.kwargs = kwargs
        self.cache_key = cache_key
        self.node_id: Optional[int] = None
        self.state = "pending"  # "ok" | "err" once a graph resolved it in this orchestration
        self.value: Any = None  # output, or (error text, cause handle) when "err"

    def then(self, task: Callable[..., "TaskHandle"]) -> "TaskHandle":
        """A handle of task(this handle's result)."""
        return task(self)

    def __await__(self) -> Generator["TaskHandle", Any, Any]:
        """`await handle` in an async orchestration, like `yield handle` in a generator."""
        return (yield self)

    def dependencies(self) -> List["TaskHandle"]:
        return list(_handles_in((self.args, self.kwargs)))

    def __repr__(self) -> str:
        return f"<TaskHandle {self.task.name}{summarize(self.args, self.kwargs)}>"


def _handles_in(value: Any) -> Iterator[TaskHandle]:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, TaskHandle):
            yield v
        elif isinstance(v, (list, tuple)):
            stack.extend(reversed(v))
        elif isinstance(v, dict):
            stack.extend(reversed(list(v.values())))


def summarize(args: Any, kwargs: Any, limit: int = 80) -> str:
    """A short "(a, b, k=v)" rendering of a node's input for introspection."""
    def show(v: Any) -> str:
        if isinstance(v, TaskHandle):
            return f"<{v.task.name}>"
        if isinstance(v, dict) and set(v) == {REF_KEY}:
            return f"<node {v[REF_KEY]}>"
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(show(x) for x in v) + "]"
        return repr(v)
    parts = [show(a) for a in args] + [f"{k}={show(v)}" for k, v in (kwargs or {}).items()]
    text = "(" + ", ".join(parts) + ")"
    return text if len(text) <= limit else text[: limit - 4] + "...)"


def postorder(roots: List[TaskHandle]) -> List[TaskHandle]:
    """Every handle reachable from `roots`, dependencies first, each once (iterative)."""
    order: List[TaskHandle] = []
    seen: Set[int] = set()
    for root in roots:
        if id(root) in seen:
            continue
        stack: List[Tuple[TaskHandle, bool]] = [(root, False)]
        while stack:
            h, expanded = stack.pop()
            if expanded:
                order.append(h)
                continue
            if id(h) in seen:
                continue
            seen.add(id(h))
            stack.append((h, True))
            if h.state == "pending":
                for dep in reversed(h.dependencies()):
                    if id(dep) not in seen:
                        stack.append((dep, False))
    return order


# ---- orchestration side: graph descriptors ----------------------------------------------------

class _GraphState:
    __slots__ = ("next_id",)

    def __init__(self) -> None:
        self.next_id = 0


_states: "weakref.WeakKeyDictionary[Any, _GraphState]" = weakref.WeakKeyDictionary()


class _GraphYield:
    """What after_yield needs to map the engine's per-node results back."""

    def __init__(self, nodes: List[TaskHandle], tasks: List[Any], mixed: bool,
                 single: bool) -> None:
        self.nodes = nodes
        self.tasks = tasks
        self.mixed = mixed
        self.single = single


def _template(value: Any, index: Dict[int, int]) -> Any:
    if isinstance(value, TaskHandle):
        if value.state == "ok":
            return value.value
        return {REF_KEY: index[id(value)]}
    if isinstance(value, (list, tuple)):
        return [_template(v, index) for v in value]
    if isinstance(value, dict):
        return {k: _template(v, index) for k, v in value.items()}
    return value


def node_descriptor(h: TaskHandle, index: Dict[int, int], deps: List[TaskHandle]) -> Dict[str, Any]:
    """The engine task for one node (an activity whose input is the argument envelope)."""
    envelope: Dict[str, Any] = {
        "args": _template(list(h.args), index),
        "kwargs": _template(dict(h.kwargs), index),
        "node": h.node_id,
        "deps": [d.node_id for d in deps],
    }
    if h.cache_key is not None:
        envelope["cache_key"] = h.cache_key
    try:
        text = json.dumps(envelope)
    except (TypeError, ValueError) as exc:
        raise InvalidTypeError(
            f"task '{h.task.name}': arguments are not JSON-serializable ({exc})") from None
    spec = h.task
    desc: Dict[str, Any] = {"type": "activity", "name": spec.name, "input": text,
                            "deps": [index[id(d)] for d in deps if d.state == "pending"]}
    if spec.retry_dict is not None:
        desc["type"] = "activityWithRetry"
        desc["retry"] = spec.retry_dict
    desc.update(spec.routing)
    return desc


def build_graph(gen: Any, roots: List[TaskHandle]) -> Tuple[Dict[str, Any], List[TaskHandle]]:
    """The engine "graph" task for the unresolved handles reachable from roots."""
    state = _states.get(gen)
    if state is None:
        state = _GraphState()
        if gen is not None:
            _states[gen] = state
    nodes: List[TaskHandle] = []
    index: Dict[int, int] = {}
    descs: List[Dict[str, Any]] = []
    for h in postorder(roots):
        if h.state != "pending":
            continue
        deps = []
        seen_deps: Set[int] = set()
        for d in h.dependencies():
            if id(d) not in seen_deps:
                seen_deps.add(id(d))
                deps.append(d)
        failed = next((d for d in deps if d.state == "err"), None)
        if failed is not None:  # resolved earlier in this orchestration: never runs
            h.state = "err"
            h.value = (failed.value[0], failed.value[1])
            continue
        if h.node_id is None:
            h.node_id = state.next_id
            state.next_id += 1
        else:
            state.next_id = max(state.next_id, h.node_id + 1)
        index[id(h)] = len(nodes)
        nodes.append(h)
        descs.append(node_descriptor(h, index, deps))
    return {"type": "graph", "nodes": descs}, nodes


def before_yield(gen: Any, task: Any) -> Any:
    """Replaces handles in what an orchestration yielded by a graph task (else unchanged)."""
    if isinstance(task, TaskHandle):
        desc, nodes = build_graph(gen, [task])
        desc["_dx_graph"] = _GraphYield(nodes, [task], False, True)
        return desc
    if isinstance(task, dict) and task.get("type") == "join" and any(
            isinstance(t, TaskHandle) for t in task.get("tasks", ())):
        items = list(task["tasks"])
        handles = [t for t in items if isinstance(t, TaskHandle)]
        desc, nodes = build_graph(gen, handles)
        if len(handles) == len(items):
            desc["_dx_graph"] = _GraphYield(nodes, items, False, False)
            return desc
        others = [t for t in items if not isinstance(t, TaskHandle)]
        return {"type": "join", "tasks": [desc] + others,
                "_dx_graph": _GraphYield(nodes, items, True, False)}
    return task


def _failure(h: TaskHandle) -> GraphNodeFailedError:
    error, cause = h.value
    cause = cause if cause is not None else h
    if cause is h:
        msg = f"task '{h.task.name}' (node {h.node_id}) failed: {error}"
    else:
        msg = (f"task '{h.task.name}' (node {h.node_id}) was not run: its dependency "
               f"'{cause.task.name}' (node {cause.node_id}) failed: {error}")
    return GraphNodeFailedError(msg, h.task.name, h.node_id if h.node_id is not None else -1, error,
                           cause.task.name, cause.node_id if cause.node_id is not None else -1)


def _record(nodes: List[TaskHandle], items: List[Any]) -> None:
    for h, item in zip(nodes, items):
        if isinstance(item, dict) and "ok" in item:
            h.state, h.value = "ok", item["ok"]
            continue
        cause = next((d for d in h.dependencies() if d.state == "err"), None)
        if cause is not None:  # not run: carry the failing node's error
            h.state, h.value = "err", cause.value
        else:
            err = item.get("err") if isinstance(item, dict) else item
            h.state, h.value = "err", (str(err), h)


def after_yield(last_task: Any, value: Any, is_error: bool) -> Optional[Tuple[bool, Any]]:
    """Maps a graph task's result to what the orchestration receives: (True, value) to send,
    (False, exception) to throw; None when last_task was not a graph."""
    if not isinstance(last_task, dict) or "_dx_graph" not in last_task or is_error:
        return None
    g: _GraphYield = last_task["_dx_graph"]
    if g.mixed:
        graph_items = value[0].get("ok", []) if isinstance(value[0], dict) else []
        _record(g.nodes, graph_items)
        rest = iter(value[1:])
    else:
        _record(g.nodes, value)
        rest = iter(())
    if g.single:
        h = g.tasks[0]
        return (True, h.value) if h.state == "ok" else (False, _failure(h))
    out = []
    for t in g.tasks:
        if isinstance(t, TaskHandle):
            out.append({"ok": t.value} if t.state == "ok" else {"err": str(_failure(t))})
        else:
            out.append(next(rest))
    return (True, out)


# ---- client.submit: the built-in graph orchestration ------------------------------------------

def graph_spec(root: TaskHandle) -> Dict[str, Any]:
    """The JSON input of the built-in graph orchestration for `root` (node i = index i)."""
    if not isinstance(root, TaskHandle):
        raise InvalidTypeError(f"submit() needs a task handle (a call of a @task function), not "
                               f"{type(root).__name__}")
    order = postorder([root])
    index = {id(h): i for i, h in enumerate(order)}
    nodes = []
    for h in order:
        node = dict(h.task.to_json())
        node["args"] = _template(list(h.args), index)
        node["kwargs"] = _template(dict(h.kwargs), index)
        if h.cache_key is not None:
            node["cache_key"] = h.cache_key
        nodes.append(node)
    try:
        json.dumps(nodes)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"submit(): task arguments are not JSON-serializable ({exc})") from None
    return {"nodes": nodes, "root": index[id(root)]}


def handles_from_spec(spec: Mapping[str, Any]) -> List[TaskHandle]:
    handles: List[TaskHandle] = []

    def resolve(v: Any) -> Any:
        if isinstance(v, dict) and set(v) == {REF_KEY}:
            return handles[int(v[REF_KEY])]
        if isinstance(v, list):
            return [resolve(x) for x in v]
        if isinstance(v, dict):
            return {k: resolve(x) for k, x in v.items()}
        return v

    for i, node in enumerate(spec["nodes"]):
        task = TaskSpec(node["task"], node.get("requires"), node.get("retry"),
                        node.get("cache"), node.get("requires_timeout_ms"))
        h = TaskHandle(task, tuple(resolve(node.get("args") or [])),
                       resolve(node.get("kwargs") or {}), node.get("cache_key"))
        h.node_id = i
        handles.append(h)
    return handles


def graph_orchestration(ctx: Any, spec: Any) -> Any:
    """Runs a submitted graph; returns the root node's result (raises if it failed)."""
    handles = handles_from_spec(spec)
    result = yield handles[int(spec["root"])]
    return result


def task_decorator(register: Callable[..., Any], fn: Union[Callable[..., Any], str, None],
                   name: Optional[str],
                   requires: Any, retry: Optional[Dict[str, Any]], cache: Any,
                   requires_timeout_ms: Optional[int]) -> Any:
    """Shared by Registry.task and Runtime.task: `register(name, activity_fn)`.

    `fn` may also be the name given positionally (`@runtime.task("compile")`)."""
    if isinstance(fn, str):
        if name is not None:
            raise InvalidTypeError("task(): name given twice")
        fn, name = None, fn

    def wrap(f: Callable[..., Any]) -> TaskFunction:
        if not callable(f):
            raise InvalidTypeError(f"@task needs a function, got {type(f).__name__}")
        task = TaskFunction(f, name or f.__name__, requires, retry, cache, requires_timeout_ms)
        register(task.name, task.run_activity)
        return task

    return wrap(fn) if fn is not None else wrap
