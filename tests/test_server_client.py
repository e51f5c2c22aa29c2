"""HttpClient passes the same behavioural tests as Client for the methods the API covers.

The tests below are the Client suites' own test functions (management, custom status, KV,
event queues), collected again here with an `env` whose `client` is an HttpClient talking to
a live server on the same store; runtimes still run in-process on the store.
"""

from __future__ import annotations

from typing import Any, Iterator

import pytest

pytest.importorskip("fastapi")

import duroxide  # noqa: E402
import test_custom_status as custom_status
import test_event_queues as event_queues
import test_kv_store as kv_store
import test_management as management
from conftest import Env, RuntimeFactory
from helpers.live_server import LiveServer
from helpers.util import wait_done


@pytest.fixture(params=["file", "postgres"])
def env(request: Any, tmp_path: Any) -> Iterator[Env]:
    """Like conftest's env, with `client` an HttpClient on a server over the store."""
    if request.param == "file":
        provider = duroxide.SqliteProvider.open(str(tmp_path / "x.db"))
    else:
        url = request.getfixturevalue("pg_url")
        schema = request.getfixturevalue("pg_schema")
        provider = duroxide.PostgresProvider.connect_with_schema(url, schema)
    factory = RuntimeFactory(provider)
    with LiveServer(duroxide.Client(provider)) as server:
        http = duroxide.HttpClient(server.url)
        try:
            yield Env(provider, http, factory)
        finally:
            factory.close()
            http.close()


mgmt = management.mgmt

# Management API (api.md 1.4 / 1.11).
test_list_all_instances_newest_first_and_by_status = \
    management.test_list_all_instances_newest_first_and_by_status
test_get_instance_info_fields_and_real_timestamps = \
    management.test_get_instance_info_fields_and_real_timestamps
test_executions_across_continue_as_new = management.test_executions_across_continue_as_new
test_read_execution_history_kinds_data_and_sources = \
    management.test_read_execution_history_kinds_data_and_sources
test_history_of_failures_carries_error_details = \
    management.test_history_of_failures_carries_error_details
test_get_instance_tree = management.test_get_instance_tree
test_delete_instance_cascades_and_uses_the_api_error_texts = \
    management.test_delete_instance_cascades_and_uses_the_api_error_texts
test_delete_running_needs_force_and_stays_deleted = \
    management.test_delete_running_needs_force_and_stays_deleted
test_delete_instance_bulk = management.test_delete_instance_bulk
test_prune_executions = management.test_prune_executions
test_prune_keep_last_none_zero_one_are_equivalent = \
    management.test_prune_keep_last_none_zero_one_are_equivalent
test_prune_never_touches_a_running_current_execution = \
    management.test_prune_never_touches_a_running_current_execution
test_prune_executions_bulk_includes_running_instances = \
    management.test_prune_executions_bulk_includes_running_instances
test_system_metrics_and_orchestration_stats = \
    management.test_system_metrics_and_orchestration_stats
test_queue_depths = management.test_queue_depths

# Custom status and wait_for_status_change.
test_custom_status_version_counts_turns_that_changed_it = \
    custom_status.test_custom_status_version_counts_turns_that_changed_it
test_wait_for_status_change_timeout_returns_none_and_completion_returns = \
    custom_status.test_wait_for_status_change_timeout_returns_none_and_completion_returns
test_wait_for_status_change_defaults_and_newer_version = \
    custom_status.test_wait_for_status_change_defaults_and_newer_version

# KV readers, typed readers and waits.
test_kv_writes_are_visible_to_clients_after_each_turn = \
    kv_store.test_kv_writes_are_visible_to_clients_after_each_turn
test_kv_client_typed_readers_and_timeout = kv_store.test_kv_client_typed_readers_and_timeout
test_kv_readable_after_completion_and_gone_after_delete = \
    kv_store.test_kv_readable_after_completion_and_gone_after_delete

# Events and event queues.
test_queue_fifo_and_buffered_before_dequeue = event_queues.test_queue_fifo_and_buffered_before_dequeue
test_queues_are_independent = event_queues.test_queues_are_independent
test_wait_for_event_keeps_single_event_semantics = \
    event_queues.test_wait_for_event_keeps_single_event_semantics


def test_same_errors_and_types_as_client(env: Env) -> None:
    """Error classes and result types match Client's for the same calls."""
    http = env.client
    local = duroxide.Client(env.provider)
    rt = env.make_runtime()
    management.register_common(rt)
    rt.start()
    http.start_orchestration("e1", "Echo", {"a": [1, 2]})
    assert wait_done(http, "e1").output == {"a": [1, 2]}
    for client in (http, local):
        with pytest.raises(duroxide.InstanceAlreadyExistsError):
            client.start_orchestration("e1", "Echo", None)
        with pytest.raises(duroxide.NotFoundError, match="Instance nope not found"):
            client.get_instance_info("nope")
        with pytest.raises(duroxide.OperationTimedOutError, match="Operation timed out"):
            client.wait_for_orchestration("nope", 100)
        with pytest.raises(TimeoutError):
            client.wait_for_kv_value("e1", "missing", 100)
        with pytest.raises(TypeError, match="not JSON-serializable"):
            client.start_orchestration("e2", "Echo", object())
        assert client.get_status("nope").status == "NotFound"
        assert client.get_orchestration_stats("nope") is None
        assert client.list_executions("nope") == []
        assert client.get_kv_value("nope", "k") is None
        client.cancel_instance("nope")  # no-op for an unknown instance, like Client
    for method, args in (("get_instance_info", ("e1",)), ("get_execution_info", ("e1", 1)),
                         ("get_instance_tree", ("e1",)), ("get_system_metrics", ()),
                         ("get_queue_depths", ()), ("read_execution_history", ("e1", 1))):
        ours, theirs = getattr(http, method)(*args), getattr(local, method)(*args)
        assert type(ours) is type(theirs), method
        assert repr(ours) == repr(theirs) or method in ("get_system_metrics",
                                                        "get_queue_depths"), method
    assert type(http.get_status("e1")) is type(local.get_status("e1"))
    assert vars(http.get_status("e1")) == vars(local.get_status("e1"))
    assert http.list_all_instances() == local.list_all_instances()


def test_closed_http_client_raises_closed_error(env: Env) -> None:
    http = env.client
    assert http.get_status("x").status == "NotFound" and not http.closed
    with http:
        pass
    assert http.closed
    with pytest.raises(duroxide.ClosedError):
        http.get_status("x")
