"""ClientAPI parity: one behavioural suite, run on every implementation and every store.

The list of operations comes from ClientAPI itself (`duroxide.client.api.operations()`). Each
test names the operations it exercises (`@covers`), and the checks at the end fail when an
operation has no behavioural test, no REST route in the OpenAPI document (or is not written
once in ClientBase) or no CLI command (or a written reason why not). So an operation added to
ClientAPI without its HttpClient implementation, its route, its test and its CLI support
fails here.

`client` is the native Client or an HttpClient talking to a real uvicorn server on the same
store, or one of their asyncio twins (AsyncClient, AsyncHttpClient) driven through
`helpers.aio_adapter.SyncOverAsync`, which awaits each generated coroutine on an event loop of
its own, so the same suite checks the async clients operation by operation (the stack:
tests/helpers/parity.py). The behavioural tests are grouped by operation area in
test_client_parity_instances.py, _management.py, _messaging.py and _graphs.py; this module
imports them so that their `@covers` marks are recorded before the checks run.
"""

from __future__ import annotations

from typing import Any

import pytest

pytest.importorskip("fastapi")

import duroxide  # noqa: E402
import test_client_parity_graphs  # noqa: E402,F401  (records its @covers)
import test_client_parity_instances  # noqa: E402,F401
import test_client_parity_management  # noqa: E402,F401
import test_client_parity_messaging  # noqa: E402,F401
from duroxide.cli import build_parser  # noqa: E402
from duroxide.client.api import ClientAPI, operations  # noqa: E402
from duroxide.client.base import TRANSPORT_HOOKS, TYPED_ALIASES, ClientBase  # noqa: E402
from duroxide.server import create_app  # noqa: E402
from helpers.aio_adapter import SyncOverAsync  # noqa: E402
from helpers.parity import COVERED, Stack, covers, kind, make_client, stack  # noqa: E402,F401

# ---- resources ---------------------------------------------------------------------------------


@covers("closed", "close")
def test_close_makes_later_calls_raise_closed_error(stack: Stack, kind: str) -> None:
    fresh: ClientAPI = make_client(stack, kind)
    assert not fresh.closed and fresh.get_status("nope").status == "NotFound"
    fresh.close()
    assert fresh.closed
    with pytest.raises(duroxide.ClosedError):
        fresh.get_status("nope")
    fresh.close()  # idempotent
    if isinstance(fresh, SyncOverAsync):
        fresh.stop()


# ---- every operation: a test, a route (or ClientBase), a CLI command ----------------------------

# How HttpClient reaches each operation it implements itself, or through the transport hook
# it writes for it (base.TRANSPORT_HOOKS): (method, path in the OpenAPI document). The rest
# are written once in ClientBase on top of these.
ROUTES = {
    "start_orchestration": ("post", "/v1/instances"),
    "start_orchestration_versioned": ("post", "/v1/instances"),
    "get_status": ("get", "/v1/instances/{instance_id}/status"),
    "wait_for_orchestration": ("get", "/v1/instances/{instance_id}/wait"),
    "wait_for_status_change": ("get", "/v1/instances/{instance_id}/status"),
    "raise_event": ("post", "/v1/instances/{instance_id}/events"),
    "enqueue_event": ("post", "/v1/instances/{instance_id}/queues/{queue}"),
    "cancel_instance": ("post", "/v1/instances/{instance_id}/cancel"),
    "get_kv_value": ("get", "/v1/instances/{instance_id}/kv/{key}"),
    "wait_for_kv_value": ("get", "/v1/instances/{instance_id}/kv/{key}"),
    "get_kv_all": ("get", "/v1/instances/{instance_id}/kv"),
    "list_all_instances": ("get", "/v1/instances"),
    "list_instances_by_status": ("get", "/v1/instances"),
    "get_instance_info": ("get", "/v1/instances/{instance_id}"),
    "get_execution_info": ("get", "/v1/instances/{instance_id}/executions/{execution_id}"),
    "list_executions": ("get", "/v1/instances/{instance_id}"),
    "read_execution_history": ("get",
                               "/v1/instances/{instance_id}/executions/{execution_id}/history"),
    "get_instance_tree": ("get", "/v1/instances/{instance_id}/tree"),
    "delete_instance": ("delete", "/v1/instances/{instance_id}"),
    "delete_instance_bulk": ("post", "/v1/instances/bulk-delete"),
    "prune_executions": ("post", "/v1/instances/{instance_id}/prune"),
    "prune_executions_bulk": ("post", "/v1/instances/bulk-prune"),
    "get_system_metrics": ("get", "/v1/metrics"),
    "get_queue_depths": ("get", "/v1/queues"),
    "get_orchestration_stats": ("get", "/v1/instances/{instance_id}/stats"),
    "list_workers": ("get", "/v1/workers"),
    "drain_worker": ("post", "/v1/workers/{worker_id}/drain"),
    "prune_workers": ("post", "/v1/workers/prune"),
    "list_unservable_work": ("get", "/v1/unservable-work"),
    "send_message": ("post", "/v1/messages"),
    "publish_event": ("post", "/v1/topics/{topic}/events"),
    "request": ("post", "/v1/requests"),
    "list_dead_letters": ("get", "/v1/dead-letters"),
    "redeliver_dead_letter": ("post", "/v1/dead-letters/{letter_id}/redeliver"),
    "purge_dead_letters": ("delete", "/v1/dead-letters"),
    "list_topics": ("get", "/v1/topics"),
    "get_topic": ("get", "/v1/topics/{topic}"),
    "list_actors": ("get", "/v1/actors"),
    "get_graph": ("get", "/v1/instances/{instance_id}/graph"),
    "clear_task_cache": ("delete", "/v1/task-cache"),
    "list_waiting_activities": ("get", "/v1/waiting-activities"),
    "suspend_instance": ("post", "/v1/instances/{instance_id}/suspend"),
    "resume_instance": ("post", "/v1/instances/{instance_id}/resume"),
    "terminate_instance": ("post", "/v1/instances/{instance_id}/terminate"),
    "get_pending": ("get", "/v1/instances/{instance_id}/pending"),
    "bulk": ("post", "/v1/bulk"),
    "rerun": ("post", "/v1/instances/{instance_id}/rerun"),
    "create_schedule": ("post", "/v1/schedules"),
    "list_schedules": ("get", "/v1/schedules"),
    "get_schedule": ("get", "/v1/schedules/{schedule_id}"),
    "update_schedule": ("patch", "/v1/schedules/{schedule_id}"),
    "pause_schedule": ("post", "/v1/schedules/{schedule_id}/pause"),
    "resume_schedule": ("post", "/v1/schedules/{schedule_id}/resume"),
    "trigger_schedule": ("post", "/v1/schedules/{schedule_id}/trigger"),
    "backfill_schedule": ("post", "/v1/schedules/{schedule_id}/backfill"),
    "delete_schedule": ("delete", "/v1/schedules/{schedule_id}"),
    "set_limit": ("put", "/v1/limits/{name}"),
    "get_limit": ("get", "/v1/limits/{name}"),
    "list_limits": ("get", "/v1/limits"),
    "delete_limit": ("delete", "/v1/limits/{name}"),
}
LOCAL = {"closed", "close"}  # the client's own resources: no request

# The `duroxide` command that uses each operation (a test in test_cli_url.py runs every
# command with --db and with --url and compares), or why there is none.
CLI = {
    "closed": None, "close": None,  # every command closes its client
    "start_orchestration": "start", "start_orchestration_versioned": "start",
    "debounce": "debounce",
    "get_status": "show", "wait_for_orchestration": "wait",
    "raise_event": "raise", "enqueue_event": "enqueue", "cancel_instance": "cancel",
    "get_kv_value": "kv", "wait_for_kv_value": "kv", "get_kv_all": "show",
    "wait_for_status_change": "wait",
    "list_all_instances": "list", "list_instances_by_status": "list",
    "get_instance_info": "show", "get_execution_info": "history",
    "list_executions": "show", "read_execution_history": "history",
    "get_instance_tree": "tree", "delete_instance": "delete", "prune_executions": "prune",
    "get_system_metrics": "metrics", "get_queue_depths": "metrics",
    "get_orchestration_stats": "show",
    "list_workers": "workers", "get_worker": "workers", "drain_worker": "workers",
    "prune_workers": "workers", "list_unservable_work": "doctor",
    "send_message": "send", "publish_event": "publish", "request": "request",
    "list_dead_letters": "dead-letters", "redeliver_dead_letter": "dead-letters",
    "purge_dead_letters": "dead-letters", "list_topics": "topics", "get_topic": "topic",
    "list_actors": "actors", "actor": "actor",
    "get_graph": "graph", "clear_task_cache": "cache-clear",
    "list_waiting_activities": "waiting",
    "suspend_instance": "suspend", "resume_instance": "resume",
    "terminate_instance": "terminate", "get_pending": "show", "bulk": "bulk",
    "rerun": "rerun",
    "list_schedules": "schedules", "create_schedule": "schedule", "get_schedule": "schedule",
    "update_schedule": "schedule", "pause_schedule": "schedule", "resume_schedule": "schedule",
    "trigger_schedule": "schedule", "backfill_schedule": "schedule",
    "delete_schedule": "schedule",
    "set_limit": "limit", "get_limit": "limit", "list_limits": "limits",
    "delete_limit": "limit",
}
NO_CLI = {
    # The typed variants are the same operations as the commands' (JSON values either way).
    "start_orchestration_typed": "start", "start_orchestration_versioned_typed": "start",
    "raise_event_typed": "raise", "enqueue_event_typed": "enqueue",
    "wait_for_orchestration_typed": "wait", "get_kv_value_typed": "kv",
    "wait_for_kv_value_typed": "kv",
    # Bulk deletion and pruning: the per-instance commands cover the operations; the CLI has
    # no filter language for them.
    "delete_instance_bulk": "delete", "prune_executions_bulk": "prune",
    # A graph is built by calling @task functions in Python: there is no text form to type.
    "submit": "graph",
}


def test_every_operation_is_exercised() -> None:
    assert set(operations()) == COVERED, sorted(set(operations()) ^ COVERED)


def test_every_operation_is_implemented_by_every_client() -> None:
    for cls in (duroxide.Client, duroxide.HttpClient):
        assert not getattr(cls, "__abstractmethods__", None), (cls, cls.__abstractmethods__)
        for name in operations():
            owner = next(c for c in cls.__mro__ if name in vars(c))
            assert owner is not ClientAPI, (cls, name)


def test_every_operation_is_a_coroutine_of_the_async_clients() -> None:
    """Generated from ClientAPI: same names, arguments and docstrings, all coroutines (actor
    returns an AsyncActorRef at once, closed is a property)."""
    import inspect

    from duroxide.client.api import signature

    for cls in (duroxide.AsyncClient, duroxide.AsyncHttpClient):
        for name in operations():
            member = getattr(cls, name)
            if name == "closed":
                assert isinstance(member, property)
                continue
            if name == "actor":
                continue
            assert inspect.iscoroutinefunction(member), (cls, name)
            params = list(inspect.signature(member).parameters)
            assert params == list(signature(name).parameters), (cls, name, params)


def test_every_operation_has_a_route_or_is_derived() -> None:
    http = vars(duroxide.HttpClient)
    aliases = {a for a, plain in TYPED_ALIASES.items() if a in http and http[a] is http[plain]}
    hooked = {name for name, hook in TRANSPORT_HOOKS.items() if hook in http}
    assert hooked == set(TRANSPORT_HOOKS), sorted(set(TRANSPORT_HOOKS) - hooked)
    own = ({name for name in operations() if name in http} | hooked) - aliases - LOCAL
    assert own == set(ROUTES), sorted(own ^ set(ROUTES))
    derived = {name for name in operations() if name in vars(ClientBase)} - own
    assert set(operations()) == own | derived | LOCAL
    spec = create_app(duroxide.Client(duroxide.SqliteProvider.in_memory())).openapi()
    for name, (method, path) in ROUTES.items():
        assert method in spec["paths"].get(path, {}), (name, method, path)


def test_every_operation_has_a_cli_command() -> None:
    assert set(operations()) == set(CLI) | set(NO_CLI)
    commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    named = {c for c in CLI.values() if c} | {c.split()[0] for c in NO_CLI.values()}
    assert named <= commands, sorted(named - commands)
