"""Errors in one place: every exception class is in duroxide.errors with a stable `code`, the
code travels from the core to Python, into the problem document's `type` and back into the
same class in HttpClient, and nothing maps errors by message text."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import Any, Iterator

import duroxide
import pytest
from duroxide import errors

# The published codes. A code never changes once published: a rename fails here.
CODES = {
    "DuroxideError": "error",
    "StoreError": "store-error",
    "ProviderError": "provider-error",
    "NotFoundError": "not-found",
    "InstanceAlreadyExistsError": "already-exists",
    "ScheduleAlreadyExistsError": "schedule-already-exists",
    "InvalidArgumentError": "invalid-argument",
    "InvalidTypeError": "invalid-type",
    "FailedPreconditionError": "failed-precondition",
    "OperationTimedOutError": "timeout",
    "RuntimeStateError": "runtime-state",
    "ClosedError": "closed",
    "TracingError": "tracing",
    "TaskFailedError": "task-failed",
    "ActivityFailedError": "activity-failed",
    "ActivityTimeoutError": "activity-timeout",
    "SubOrchestrationFailedError": "sub-orchestration-failed",
    "GraphNodeFailedError": "graph-node-failed",
    "OrchestrationFailedError": "orchestration-failed",
    "RequestFailedError": "request-failed",
    "RequestTargetNotFoundError": "request-target-not-found",
    "RequestTimedOutError": "request-timeout",
    "NondeterminismError": "nondeterminism",
    "CrashTestFailure": "crash-test-failed",
    "LintError": "lint-error",
}
# Exceptions of the package that are not errors of its API: control flow inside one module.
INTERNAL = {
    "CliError": "cli/_base.py: carries a message and an exit code to main()",
    "ApiError": "server/errors.py: an HTTP-layer problem (401/403) with no API class",
    "ClientGone": "server/deps.py: a long-poll's client disconnected",
    "_SimulatedCrash": "testing/_crash.py: unwinds a crash test's child at a crash point",
}
PACKAGE = Path(duroxide.__file__).parent


def test_every_class_has_its_own_stable_code() -> None:
    assert {name: getattr(errors, name).code for name in errors.__all__} == CODES
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, errors.DuroxideError) and "code" in vars(cls), name
        assert errors.error_class(cls.code) is cls
        assert getattr(duroxide._core, name) is cls  # the native module raises these objects
    assert errors.error_class("no-such-code") is errors.DuroxideError
    assert errors.error_class(None) is errors.DuroxideError


def test_no_exception_class_is_defined_outside_errors() -> None:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef) and any(
                    isinstance(b, ast.Name) and (b.id.endswith(("Error", "Exception", "Failure"))
                                                 or b.id == "Exception")
                    for b in node.bases):
                found[node.name] = str(path.relative_to(PACKAGE))
    outside = {name: where for name, where in found.items() if where != "errors.py"}
    assert set(outside) == set(INTERNAL), outside


def test_classes_stay_importable_where_programs_import_them() -> None:
    places = {
        "duroxide": errors.__all__,
        "duroxide.workflow.messages": ["RequestFailedError", "RequestTimedOutError"],
        "duroxide.workflow.graphs": ["GraphNodeFailedError"],
        "duroxide.testing": ["CrashTestFailure", "NondeterminismError", "LintError",
                             "OrchestrationFailedError"],
        "duroxide.testing._lint": ["LintError"],
    }
    for module, names in places.items():
        for name in names:
            assert getattr(importlib.import_module(module), name) is getattr(errors, name), (
                module, name)


def test_every_class_rebuilds_from_its_code_and_message() -> None:
    for name in errors.__all__:
        cls = getattr(errors, name)
        rebuilt = errors.error_class(cls.code).from_message(f"text of {name}")
        assert type(rebuilt) is cls and str(rebuilt) == f"text of {name}"


def test_core_statuses_arrive_as_their_classes() -> None:
    client = duroxide.Client(duroxide.SqliteProvider.in_memory())
    client.start_orchestration("a/b", "Nobody")
    cases = [
        (lambda: client.get_instance_info("missing"), errors.NotFoundError),
        (lambda: client.start_orchestration("a/b", "Nobody"), errors.InstanceAlreadyExistsError),
        (lambda: client.start_orchestration("x\n", "Nobody"), errors.InvalidArgumentError),
        (lambda: client.wait_for_orchestration("a/b", 10), errors.OperationTimedOutError),
        (lambda: client.drain_worker("nobody"), errors.NotFoundError),
    ]
    for call, cls in cases:
        with pytest.raises(cls) as info:
            call()
        assert type(info.value) is cls


# ---- through the server -------------------------------------------------------------------


class Raising:
    """A ClientAPI whose get_topic(code) raises the class with that code (a real Client for
    everything else)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_topic(self, code: str) -> Any:
        raise errors.error_class(code).from_message(f"raised as {code}: still running")


@pytest.fixture(scope="module")
def http() -> Iterator[duroxide.HttpClient]:
    pytest.importorskip("fastapi")
    from helpers.live_server import LiveServer

    with LiveServer(Raising(duroxide.Client(duroxide.SqliteProvider.in_memory()))) as server:
        client = duroxide.HttpClient(server.url)
        yield client
        client.close()


@pytest.mark.parametrize("name", errors.__all__)
def test_every_class_round_trips_through_the_server(http: duroxide.HttpClient,
                                                    name: str) -> None:
    cls = getattr(errors, name)
    with pytest.raises(errors.DuroxideError) as info:
        http.get_topic(cls.code)
    assert type(info.value) is cls
    assert f"raised as {cls.code}: still running" in str(info.value)


def test_problem_documents_carry_the_code_and_ignore_the_text(http: duroxide.HttpClient) -> None:
    import httpx

    for cls, status in ((errors.ProviderError, 503), (errors.FailedPreconditionError, 409),
                        (errors.NotFoundError, 404), (errors.InvalidArgumentError, 400),
                        (errors.OperationTimedOutError, 504), (errors.DuroxideError, 500)):
        # Every message says "still running"; only the class decides status and type.
        r = httpx.get(f"{http.url}/v1/topics/{cls.code}")
        body = r.json()
        assert (r.status_code, body["type"], body["error"]) == (
            status, f"urn:duroxide:problem:{cls.code}", cls.__name__)
    r = httpx.get(f"{http.url}/v1/no/such/endpoint")
    assert r.status_code == 404 and r.json()["type"] == "urn:duroxide:problem:no-such-endpoint"
    # An unknown endpoint is not an unknown instance: HttpClient does not read it as one.
    from duroxide.client.transport import error_from_problem

    missing = error_from_problem(404, r.json(), http.url)
    assert type(missing) is errors.DuroxideError and "No such endpoint" in str(missing)
