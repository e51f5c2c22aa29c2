"""duroxide.Registry: registrations apart from a runtime, served by Runtime(registry=...)."""

import pytest

import duroxide
from duroxide import Registry, Runtime


def make_registry() -> Registry:
    reg = Registry()

    @reg.register_activity("Double")
    def double(ctx, x):
        return x * 2

    @reg.register_orchestration("DoubleIt")
    def double_it(ctx, x):
        return (yield ctx.schedule_activity("Double", x))

    @reg.register_orchestration_versioned("DoubleIt", "2.0.0")
    def double_it_v2(ctx, x):
        y = yield ctx.schedule_activity("Double", x)
        return y + 1

    return reg


def test_registry_decorators_keep_functions_and_list_entries():
    reg = make_registry()
    assert reg.activity_names() == ["Double"]
    assert sorted(reg.orchestration_names()) == [("DoubleIt", "1.0.0"), ("DoubleIt", "2.0.0")]
    assert reg.get_activity("Double").fn(None, 4) == 8
    assert reg.get_orchestration("DoubleIt").__name__ == "double_it_v2"  # latest version
    assert reg.get_orchestration("DoubleIt", "1.0.0").__name__ == "double_it"
    assert len(reg) == 3


def test_registry_rejects_bad_names_and_non_callables():
    reg = Registry()
    with pytest.raises(TypeError):
        reg.register_activity("", lambda ctx, x: x)
    with pytest.raises(TypeError):
        reg.register_orchestration("X", 42)
    with pytest.raises(ValueError):
        reg.register_activity("__duroxide_syscall:x", lambda ctx, x: x)


def test_runtime_rejects_a_non_registry():
    provider = duroxide.SqliteProvider.in_memory()
    with pytest.raises(TypeError, match="Registry"):
        Runtime(provider, registry={"not": "a registry"})


def test_runtime_serves_a_registry_including_later_additions():
    provider = duroxide.SqliteProvider.in_memory()
    client = duroxide.Client(provider)
    reg = make_registry()
    runtime = Runtime(provider, duroxide.RuntimeOptions(dispatcher_poll_interval_ms=10),
                      registry=reg)

    @reg.register_orchestration("Late")
    def late(ctx, x):
        return (yield ctx.schedule_activity("Double", x)) * 10

    # The runtime's own registrations do not leak into the shared registry.
    runtime.register_activity("OnlyHere", lambda ctx, x: x)
    assert reg.get_activity("OnlyHere") is None
    assert runtime.registry.get_activity("OnlyHere") is not None

    runtime.start()
    try:
        client.start_orchestration("r-1", "DoubleIt", 5)
        client.start_orchestration("r-2", "Late", 2)
        assert client.wait_for_orchestration("r-1", 10_000).output == 11  # v2 is the latest
        assert client.wait_for_orchestration("r-2", 10_000).output == 40
    finally:
        runtime.shutdown()
