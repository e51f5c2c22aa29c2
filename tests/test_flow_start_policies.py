"""Start policies (issue 25 item 3, docs/flow-control.md): start_orchestration's if_exists
with "fail", "use_existing" and "restart_if_ended" on every provider, through the native
client and over HTTP, and the refusal of an unknown policy before anything is written.
"""

from __future__ import annotations

import threading

import duroxide
import pytest
from helpers.util import wait_done


def _register(runtime, gate: threading.Event) -> None:
    @runtime.register_orchestration("Echo")
    def echo(ctx, value):
        return {"got": value}

    @runtime.register_orchestration("Boom")
    def boom(ctx, value):
        raise RuntimeError(f"boom {value}")

    @runtime.register_activity("Block")
    def block(ctx, _):
        gate.wait(20)
        return "released"

    @runtime.register_orchestration("Held")
    def held(ctx, value):
        yield ctx.schedule_activity("Block", None)
        return value


def test_fail_is_the_default_and_changes_nothing(env):
    _, client, make_runtime = env
    runtime = make_runtime()
    _register(runtime, threading.Event())
    runtime.start()
    client.start_orchestration("p-1", "Echo", 1)
    assert wait_done(client, "p-1").output == {"got": 1}
    with pytest.raises(duroxide.InstanceAlreadyExistsError):
        client.start_orchestration("p-1", "Echo", 2)
    with pytest.raises(duroxide.InstanceAlreadyExistsError):
        client.start_orchestration("p-1", "Echo", 2, if_exists="fail")
    assert client.get_status("p-1").output == {"got": 1}
    assert client.get_instance_info("p-1").current_execution_id == 1


def test_use_existing_leaves_any_instance_as_it_is(env):
    _, client, make_runtime = env
    gate = threading.Event()
    runtime = make_runtime()
    _register(runtime, gate)
    # A queued start (no runtime yet), then a running one, then an ended one.
    client.start_orchestration("u-held", "Held", "first")
    client.start_orchestration("u-held", "Held", "second", if_exists="use_existing")
    runtime.start()
    client.start_orchestration("u-held", "Held", "third", if_exists="use_existing")
    gate.set()
    assert wait_done(client, "u-held").output == "first"
    client.start_orchestration("u-held", "Echo", "fourth", if_exists="use_existing")
    assert client.get_status("u-held").output == "first"
    assert client.get_instance_info("u-held").current_execution_id == 1
    # A new id simply starts.
    client.start_orchestration("u-new", "Echo", 5, if_exists="use_existing")
    assert wait_done(client, "u-new").output == {"got": 5}


def test_restart_if_ended_runs_a_new_execution_with_the_new_input(env):
    _, client, make_runtime = env
    gate = threading.Event()
    runtime = make_runtime()
    _register(runtime, gate)
    runtime.start()
    client.start_orchestration("r-1", "Echo", 1, if_exists="restart_if_ended")  # new id: starts
    assert wait_done(client, "r-1").output == {"got": 1}
    client.start_orchestration("r-1", "Echo", 2, if_exists="restart_if_ended")
    # Reported as running until the new execution ends: a wait never sees the old result.
    assert wait_done(client, "r-1").output == {"got": 2}
    info = client.get_instance_info("r-1")
    assert info.current_execution_id == 2
    # A failed instance restarts too, with another orchestration name if asked.
    client.start_orchestration("r-2", "Boom", 1)
    assert wait_done(client, "r-2").status == "Failed"
    client.start_orchestration("r-2", "Echo", 3, if_exists="restart_if_ended")
    assert wait_done(client, "r-2").output == {"got": 3}
    # A running instance is left alone.
    client.start_orchestration("r-3", "Held", "kept")
    client.start_orchestration("r-3", "Echo", "ignored", if_exists="restart_if_ended")
    gate.set()
    assert wait_done(client, "r-3").output == "kept"
    assert client.get_instance_info("r-3").current_execution_id == 1


def test_concurrent_restarts_restart_once(env):
    _, client, make_runtime = env
    runtime = make_runtime()
    _register(runtime, threading.Event())
    runtime.start()
    client.start_orchestration("c-1", "Echo", 0)
    wait_done(client, "c-1")
    runtime.shutdown()
    barrier = threading.Barrier(4)

    def restart(i: int) -> None:
        barrier.wait()
        client.start_orchestration("c-1", "Echo", i, if_exists="restart_if_ended")

    threads = [threading.Thread(target=restart, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    runtime2 = make_runtime()
    _register(runtime2, threading.Event())
    runtime2.start()
    result = wait_done(client, "c-1")
    assert result.status == "Completed"
    assert result.output["got"] in range(4)
    assert client.get_instance_info("c-1").current_execution_id == 2


@pytest.mark.parametrize("bad", ["", "FAIL", "replace", "use-existing"])
def test_unknown_policy_is_refused_before_anything_is_written(env, bad):
    _, client, _ = env
    with pytest.raises(duroxide.InvalidArgumentError, match="if_exists"):
        client.start_orchestration("b-1", "Echo", 1, if_exists=bad)
    with pytest.raises(duroxide.InvalidArgumentError, match="if_exists"):
        client.start_orchestration_versioned("b-1", "Echo", 1, "1.0.0", if_exists=bad)
    with pytest.raises(TypeError, match="if_exists"):
        client.start_orchestration("b-1", "Echo", 1, if_exists=None)
    assert client.get_status("b-1").status == "NotFound"


def test_native_core_refuses_an_unknown_policy_too(env):
    _, client, _ = env
    with pytest.raises(duroxide.InvalidArgumentError, match="if_exists"):
        client._native.start_orchestration("b-2", "Echo", "1", None, "sometimes")
    assert client.get_status("b-2").status == "NotFound"
