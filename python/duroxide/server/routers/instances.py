"""/v1/instances: list, start, read, wait, cancel, delete, prune, history, tree, KV."""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from duroxide._common import quote_id
from duroxide.client.api import ClientAPI
from duroxide.client.operations import shown_status
from duroxide.client.options import InstanceFilter, PruneOptions
from duroxide.client.results import OrchestrationResult
from duroxide.client.validate import INT64_MAX, INT64_MIN
from duroxide.errors import InvalidArgumentError, NotFoundError, OperationTimedOutError
from duroxide.server import convert, models
from duroxide.server.deps import (
    ClientGone,
    instance_id_path,
    key_path,
    long_poll,
    require_token,
    run,
    state,
)
from duroxide.server.errors import problems
from duroxide.server.settings import MAX_WAIT_TIMEOUT_MS

InstanceId = Depends(instance_id_path)  # the {instance_id} segment, decoded
router = APIRouter(prefix="/v1/instances", tags=["instances"],
                   dependencies=[Depends(require_token)], responses=problems(401, 403, 503))

STATUSES = ("Running", "Completed", "Failed", "ContinuedAsNew", "Suspended")
SCAN_LIMIT = 5000  # instance infos read per list request at most (a page may come back short)

TimeoutQuery = Query(30_000, ge=0, le=MAX_WAIT_TIMEOUT_MS, description="milliseconds")


def _not_found(instance_id: str) -> NotFoundError:
    return NotFoundError(f"Instance {instance_id} not found")


def _require_exists(client: ClientAPI, instance_id: str) -> OrchestrationResult:
    """The OrchestrationResult of an existing (or queued) instance; 404 otherwise."""
    result = client.get_status(instance_id)
    if result.status == "NotFound":
        raise _not_found(instance_id)
    return result


# ---- listing --------------------------------------------------------------------------------


def _encode_cursor(instance_id: str, created_at: int) -> str:
    raw = json.dumps({"after": instance_id, "created_at": created_at}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> Tuple[str, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
        after, created_at = value["after"], value["created_at"]
        # Exactly what _encode_cursor writes: a str and an int64 (1e400 is a float: refused).
        if (not isinstance(after, str) or not isinstance(created_at, int)
                or isinstance(created_at, bool) or not INT64_MIN <= created_at <= INT64_MAX):
            raise ValueError("not a cursor")
        return after, created_at
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise InvalidArgumentError(
            "Invalid request: cursor: not a cursor returned by this API") from None


class _ListQuery:
    def __init__(
        self,
        status: Optional[str] = Query(None, description="Running, Completed, Failed, "
                                                        "ContinuedAsNew or Suspended (any "
                                                        "letter case)"),
        name: Optional[str] = Query(None, max_length=models.NAME_MAX,
                                    description="orchestration name; shell wildcards allowed"),
        q: Optional[str] = Query(None, max_length=models.ID_MAX,
                                 description="only ids containing this text"),
        created_after: Optional[int] = Query(None, ge=0, le=INT64_MAX,
                                         description="epoch ms, exclusive"),
        created_before: Optional[int] = Query(None, ge=0, le=INT64_MAX,
                                         description="epoch ms, exclusive"),
        updated_after: Optional[int] = Query(None, ge=0, le=INT64_MAX,
                                         description="epoch ms, exclusive"),
        updated_before: Optional[int] = Query(None, ge=0, le=INT64_MAX,
                                         description="epoch ms, exclusive"),
        limit: int = Query(50, ge=1, le=1000),
        cursor: Optional[str] = Query(None, max_length=2048),
        top_level: bool = Query(False, description="only instances without a parent"),
        shown_status: bool = Query(False, description=(
            "also each item's `shown_status` and `error` as get_status reports them "
            "(Suspended, Terminated, Canceled; one status read per Running or Failed "
            "item)")),
    ):
        self.status = None
        if status is not None:
            matches = [s for s in STATUSES if s.lower() == status.lower()]
            if not matches:
                raise InvalidArgumentError(f"Invalid request: status: must be one of "
                                           f"{', '.join(STATUSES)}, got {status!r}")
            self.status = matches[0]
        self.name, self.q, self.limit = name, q, limit
        self.top_level, self.shown_status = top_level, shown_status
        self.created = (created_after, created_before)
        self.updated = (updated_after, updated_before)
        self.cursor = None if cursor is None else _decode_cursor(cursor)

    def matches(self, info: Any) -> bool:
        if self.top_level and info.parent_instance_id is not None:
            return False
        if self.name is not None and not fnmatch.fnmatchcase(info.orchestration_name, self.name):
            return False
        for value, (after, before) in ((info.created_at, self.created),
                                       (info.updated_at, self.updated)):
            if (after is not None and value <= after) or (before is not None and value >= before):
                return False
        return True


def _item(client: ClientAPI, info: Any, with_shown_status: bool) -> models.InstanceInfo:
    item = convert.info(info)
    if with_shown_status:
        item.shown_status, item.error = info.status, None
        # Suspended, Terminated and a cooperative cancel are told apart by get_status only
        # (docs/operations.md); the stored status of the others is what it reports.
        if info.status in ("Running", "Failed"):
            result = client.get_status(info.instance_id)
            if result.status != "NotFound":
                item.shown_status = shown_status(result.status, result.error)
                item.error = result.error
    return item


def _list_page(client: ClientAPI, query: _ListQuery) -> models.InstanceList:
    ids: List[str] = (client.list_instances_by_status(query.status) if query.status
                      else client.list_all_instances())
    if query.q:
        ids = [i for i in ids if query.q in i]
    start, after_created = 0, None
    if query.cursor is not None:
        after_id, after_created = query.cursor
        try:
            start = ids.index(after_id) + 1
            after_created = None
        except ValueError:
            pass  # deleted since: skip by creation time instead (newest first)
    items: List[models.InstanceInfo] = []
    last: Tuple[str, int] = query.cursor or ("", 0)
    scanned = 0
    for index in range(start, len(ids)):
        try:
            info = client.get_instance_info(ids[index])
        except NotFoundError:
            continue  # deleted since it was listed
        scanned += 1
        if after_created is not None and info.created_at >= after_created:
            continue
        created_after = query.created[0]
        if created_after is not None and info.created_at <= created_after:
            break  # newest first: every later id is older still
        last = (info.instance_id, info.created_at)
        if query.matches(info):
            items.append(_item(client, info, query.shown_status))
        more = index + 1 < len(ids)
        if (len(items) >= query.limit or scanned >= SCAN_LIMIT) and more:
            return models.InstanceList(items=items, next_cursor=_encode_cursor(*last))
    return models.InstanceList(items=items, next_cursor=None)


@router.get("", response_model=models.InstanceList, responses=problems(400),
            summary="List instances, newest first")
async def list_instances(request: Request, query: _ListQuery = Depends()) -> models.InstanceList:
    """Filters combine with AND. Follow `next_cursor` for more; a page can hold fewer than
    `limit` items when the filters skip many instances."""
    return await run(_list_page, state(request).client, query)


# ---- start and read -------------------------------------------------------------------------


@router.post("", status_code=201, response_model=models.StartResponse,
             responses=problems(400, 409, 413), summary="Start an orchestration")
async def start_instance(request: Request, body: models.StartRequest,
                         response: Response) -> models.StartResponse:
    client = state(request).client
    instance_id = body.instance_id or f"{body.name}-{uuid.uuid4().hex[:12]}"
    if body.version:
        await run(client.start_orchestration_versioned, instance_id, body.name, body.input,
                  body.version, if_exists=body.if_exists, priority=body.priority,
                  limit=body.limit, limit_key=body.limit_key)
    else:
        await run(client.start_orchestration, instance_id, body.name, body.input,
                  if_exists=body.if_exists, priority=body.priority, limit=body.limit,
                  limit_key=body.limit_key)
    # Any id gives an ASCII Location (~XX escapes, docs/server.md "Ids in URLs").
    response.headers["Location"] = f"/v1/instances/{quote_id(instance_id)}"
    return models.StartResponse(instance_id=instance_id, name=body.name, version=body.version)


def _detail(client: ClientAPI, instance_id: str) -> models.InstanceDetail:
    result = _require_exists(client, instance_id)
    try:
        info = client.get_instance_info(instance_id)
    except NotFoundError:
        return models.InstanceDetail(instance_id=instance_id, status="Pending")
    return models.InstanceDetail(
        instance_id=instance_id,
        # Suspended and Terminated are states of the operations (docs/operations.md), not of
        # the stored execution: get_status knows them.
        status=result.status if result.status in ("Suspended", "Terminated") else info.status,
        orchestration_name=info.orchestration_name,
        orchestration_version=info.orchestration_version,
        current_execution_id=info.current_execution_id,
        parent_instance_id=info.parent_instance_id, created_at=info.created_at,
        updated_at=info.updated_at,
        output=result.output if result.status in ("Completed", "Terminated") else None,
        stored_output=info.output, error=result.error, custom_status=result.custom_status,
        custom_status_version=result.custom_status_version,
        executions=client.list_executions(instance_id))


@router.get("/{instance_id}", response_model=models.InstanceDetail, responses=problems(404),
            summary="Read one instance")
async def get_instance(request: Request, instance_id: str = InstanceId) -> models.InstanceDetail:
    """Status, output or error, custom status and executions. `status` is Pending while the
    start is queued and no runtime has picked it up."""
    return await run(_detail, state(request).client, instance_id)


async def _status_long_poll(request: Request, instance_id: str,
                            attempt: Callable[[int], Optional[Any]],
                            wait_async: Callable[[Any, int], Awaitable[Optional[Any]]],
                            timeout_ms: int) -> Any:
    """The status long-polls' common end: 504 after `timeout_ms`, 499 when the caller left."""
    try:
        result = await long_poll(request, attempt, timeout_ms,
                                 OperationTimedOutError("Operation timed out"), wait_async)
    except ClientGone:
        return Response(status_code=499)
    return convert.status(instance_id, result)


@router.get("/{instance_id}/status", response_model=models.OrchestrationStatus,
            responses=problems(400, 404, 504), summary="Read (or wait for a change of) the status")
async def get_status(
    request: Request, instance_id: str = InstanceId,
    after_version: Optional[int] = Query(
        None, ge=0, le=INT64_MAX,
        description="long-poll until custom_status_version exceeds this (or the instance ends)"),
    timeout_ms: int = TimeoutQuery,
) -> Any:
    client = state(request).client
    if after_version is None:
        result = await run(client.get_status, instance_id)
        if result.status == "NotFound":
            raise _not_found(instance_id)
        return convert.status(instance_id, result)

    def attempt(slice_ms: int) -> Optional[Any]:
        return client.wait_for_status_change(instance_id, after_version, 100, slice_ms)

    async def wait_async(waits: Any, slice_ms: int) -> Optional[Any]:
        return await waits.wait_for_status_change(instance_id, after_version, 100, slice_ms)

    await run(_require_exists, client, instance_id)
    return await _status_long_poll(request, instance_id, attempt, wait_async, timeout_ms)


@router.get("/{instance_id}/wait", response_model=models.OrchestrationStatus,
            responses=problems(400, 404, 504),
            summary="Wait until the instance completes or fails")
async def wait_instance(request: Request, instance_id: str = InstanceId,
                        timeout_ms: int = TimeoutQuery) -> Any:
    """A long-poll: answers when the instance is Completed or Failed, or 504 after
    `timeout_ms`; 404 for an unknown instance (HttpClient keeps waiting for it, as Client
    does)."""
    client = state(request).client
    await run(_require_exists, client, instance_id)

    def attempt(slice_ms: int) -> Optional[Any]:
        try:
            return client.wait_for_orchestration(instance_id, slice_ms)
        except OperationTimedOutError:
            return None

    async def wait_async(waits: Any, slice_ms: int) -> Optional[Any]:
        try:
            return await waits.wait_for_orchestration(instance_id, slice_ms)
        except OperationTimedOutError:
            return None

    return await _status_long_poll(request, instance_id, attempt, wait_async, timeout_ms)


@router.get("/{instance_id}/custom-status", response_model=models.CustomStatus,
            responses=problems(404), summary="Read the custom status")
async def get_custom_status(request: Request, instance_id: str = InstanceId) -> models.CustomStatus:
    result = await run(_require_exists, state(request).client, instance_id)
    return models.CustomStatus(instance_id=instance_id, custom_status=result.custom_status,
                               custom_status_version=result.custom_status_version)


# ---- actions --------------------------------------------------------------------------------


def _cancel(client: ClientAPI, instance_id: str, reason: Optional[str]) -> models.CancelResponse:
    result = _require_exists(client, instance_id)
    requested = result.status not in ("Completed", "Failed")
    if requested:
        client.cancel_instance(instance_id, reason)
    return models.CancelResponse(instance_id=instance_id, cancel_requested=requested,
                                 status=result.status)


@router.post("/{instance_id}/cancel", status_code=202, response_model=models.CancelResponse,
             responses=problems(400, 404, 413), summary="Cancel a running instance")
async def cancel_instance(request: Request, instance_id: str = InstanceId,
                          body: Optional[models.CancelRequest] = None) -> models.CancelResponse:
    """The instance ends Failed with `canceled: <reason>`; the cancel spreads to its
    sub-orchestrations. For an instance that has already ended nothing happens."""
    reason = None if body is None else body.reason
    return await run(_cancel, state(request).client, instance_id, reason)


@router.delete("/{instance_id}", response_model=models.DeleteResult,
               responses=problems(404, 409), summary="Delete an instance and its tree")
async def delete_instance(request: Request, instance_id: str = InstanceId,
                          force: bool = Query(False, description="also delete a running one")
                          ) -> models.DeleteResult:
    result = await run(state(request).client.delete_instance, instance_id, force)
    return convert.fields(result, models.DeleteResult)  # type: ignore[no-any-return]


@router.post("/bulk-delete", response_model=models.DeleteResult, responses=problems(400, 413),
             summary="Delete the trees of finished root instances matching a filter")
async def delete_bulk(request: Request, body: models.FilterRequest) -> models.DeleteResult:
    filter_ = InstanceFilter(**body.model_dump())
    result = await run(state(request).client.delete_instance_bulk, filter_)
    return convert.fields(result, models.DeleteResult)  # type: ignore[no-any-return]


@router.post("/{instance_id}/prune", response_model=models.PruneResult,
             responses=problems(400, 404, 413), summary="Delete old executions of an instance")
async def prune_instance(request: Request, instance_id: str = InstanceId,
                         body: Optional[models.PruneRequest] = None) -> models.PruneResult:
    options = PruneOptions(**(body or models.PruneRequest()).model_dump())
    client = state(request).client
    await run(_require_exists, client, instance_id)
    result = await run(client.prune_executions, instance_id, options)
    return convert.fields(result, models.PruneResult)  # type: ignore[no-any-return]


@router.post("/bulk-prune", response_model=models.PruneResult, responses=problems(400, 413),
             summary="Prune old executions of every instance matching a filter")
async def prune_bulk(request: Request, body: models.BulkPruneRequest) -> models.PruneResult:
    result = await run(state(request).client.prune_executions_bulk,
                       InstanceFilter(**body.filter.model_dump()),
                       PruneOptions(**body.options.model_dump()))
    return convert.fields(result, models.PruneResult)  # type: ignore[no-any-return]


# ---- executions, history, tree, KV, stats ---------------------------------------------------


def _executions(client: ClientAPI, instance_id: str) -> List[models.ExecutionInfo]:
    _require_exists(client, instance_id)
    return [convert.execution(client.get_execution_info(instance_id, n))
            for n in client.list_executions(instance_id)]


@router.get("/{instance_id}/executions", response_model=List[models.ExecutionInfo],
            responses=problems(404), summary="The executions of an instance, oldest first")
async def list_executions(request: Request,
                          instance_id: str = InstanceId) -> List[models.ExecutionInfo]:
    return await run(_executions, state(request).client, instance_id)


# Range checks are Client's (one implementation): 0 is "Invalid input" for a history read.
ExecutionPath = Path(le=INT64_MAX, description="1-based execution id")


@router.get("/{instance_id}/executions/{execution_id}", response_model=models.ExecutionInfo,
            responses=problems(400, 404), summary="One execution")
async def get_execution(request: Request, instance_id: str = InstanceId,
                        execution_id: int = ExecutionPath) -> models.ExecutionInfo:
    result = await run(state(request).client.get_execution_info, instance_id, execution_id)
    return convert.execution(result)


@router.get("/{instance_id}/executions/{execution_id}/history",
            response_model=List[models.Event], responses=problems(400, 404),
            summary="The history of one execution, by event id")
async def get_history(request: Request, instance_id: str = InstanceId,
                      execution_id: int = ExecutionPath,
                      raw: bool = Query(False, description="also each event's stored JSON "
                                                           "(`raw`), as replay tools need it")
                      ) -> List[models.Event]:
    events = await run(state(request).client.read_execution_history, instance_id, execution_id)
    return [convert.event(e, raw) for e in events]


def _tree(client: ClientAPI, instance_id: str) -> models.InstanceTree:
    _require_exists(client, instance_id)
    tree = client.get_instance_tree(instance_id)
    nodes = []
    for member in tree.all_ids:
        try:
            nodes.append(_item(client, client.get_instance_info(member), True))
        except NotFoundError:
            pass  # deleted (or not started) meanwhile
    return models.InstanceTree(root_id=tree.root_id, size=tree.size,
                               all_ids=list(tree.all_ids), nodes=nodes)


@router.get("/{instance_id}/tree", response_model=models.InstanceTree, responses=problems(404),
            summary="The instance and all its sub-orchestrations")
async def get_tree(request: Request, instance_id: str = InstanceId) -> models.InstanceTree:
    return await run(_tree, state(request).client, instance_id)


def _kv_all(client: ClientAPI, instance_id: str) -> Dict[str, str]:
    _require_exists(client, instance_id)
    values: Dict[str, str] = client.get_kv_all(instance_id)
    return values


@router.get("/{instance_id}/kv", response_model=models.KvValues, responses=problems(404),
            summary="The instance's KV store")
async def get_kv_all(request: Request, instance_id: str = InstanceId) -> models.KvValues:
    values = await run(_kv_all, state(request).client, instance_id)
    return models.KvValues(instance_id=instance_id, values=values)


@router.get("/{instance_id}/kv/{key}", response_model=models.KvValue,
            responses=problems(400, 404, 504), summary="One KV value (optionally waiting for it)")
async def get_kv_value(request: Request, instance_id: str = InstanceId,
                       key: str = Depends(key_path),
                       wait: bool = Query(False, description="long-poll until the key exists"),
                       timeout_ms: int = TimeoutQuery) -> Any:
    client = state(request).client
    if not wait:
        value = await run(client.get_kv_value, instance_id, key)
        if value is None:
            raise NotFoundError(f"Key '{key}' not found on instance '{instance_id}'")
        return models.KvValue(instance_id=instance_id, key=key, value=value)

    def attempt(slice_ms: int) -> Optional[str]:
        try:
            value: str = client.wait_for_kv_value(instance_id, key, slice_ms)
            return value
        except TimeoutError:
            return None

    async def wait_async(waits: Any, slice_ms: int) -> Optional[str]:
        try:
            value: str = await waits.wait_for_kv_value(instance_id, key, slice_ms)
            return value
        except TimeoutError:
            return None

    error = OperationTimedOutError(
        f"Timed out waiting for value '{key}' on instance '{instance_id}'")
    await run(_require_exists, client, instance_id)
    try:
        value = await long_poll(request, attempt, timeout_ms, error, wait_async)
    except ClientGone:
        return Response(status_code=499)
    return models.KvValue(instance_id=instance_id, key=key, value=value)


@router.get("/{instance_id}/stats", response_model=models.InstanceStats,
            responses=problems(404), summary="Storage figures of one instance")
async def get_stats(request: Request, instance_id: str = InstanceId) -> models.InstanceStats:
    stats = await run(state(request).client.get_orchestration_stats, instance_id)
    if stats is None:
        raise _not_found(instance_id)
    return convert.fields(stats, models.InstanceStats)  # type: ignore[no-any-return]

