"""Operating failed and stuck work (docs/operations.md): what an instance waits on, and the
values and checks of the bulk operation.

`derive_pending` computes PendingWork when asked, from the current execution's history (open
subscriptions, scheduled-but-unfinished tasks) and the instance's queue rows; nothing is
maintained for it. Both clients use it: the native Client on the rows it reads, the server
for `GET /v1/instances/{id}/pending`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple

from duroxide._common import loads_or
from duroxide.errors import InvalidArgumentError
from duroxide.workflow.messages import REPLY_QUEUE_PREFIX, REQUEST_QUEUE_PREFIX

__all__ = ["PendingWork", "BulkResult", "BULK_ACTIONS", "check_bulk_action", "derive_pending",
           "pending_from_json", "unheard_event_warning"]

# The actions of client.bulk, in the order the CLI lists them.
BULK_ACTIONS = ("cancel", "terminate", "suspend", "resume", "rerun", "delete")

_COMPLETES = {"ActivityCompleted", "ActivityFailed", "ActivityCancelRequested",
              "SubOrchestrationCompleted", "SubOrchestrationFailed",
              "SubOrchestrationCancelRequested", "TimerFired", "ExternalSubscribedCancelled",
              "QueueSubscriptionCancelled"}
_ARRIVALS = {"ActivityCompleted", "ActivityFailed", "SubOrchestrationCompleted",
             "SubOrchestrationFailed", "TimerFired", "ExternalEvent", "QueueEventDelivered",
             "OrchestrationCancelRequested"}
_TERMINAL = {"OrchestrationCompleted", "OrchestrationFailed", "OrchestrationContinuedAsNew"}


@dataclass
class PendingWork:
    """What an instance waits on (client.get_pending). Every entry is a dict:

    * activities: {activity_id, name, state ("queued" | "running" | "parked" | "cancelled"),
      attempt, last_error, worker, since_ms, waits_for} - waits_for says why a queued one
      has not started: "a free worker", "a worker with its capability", "the instance is
      suspended" or "" when it runs;
    * timers: {timer_id, fire_at_ms, state ("pending" | "cancelled")} - a timer that lost a
      race (the code went on without it) or belongs to an ended instance is "cancelled";
    * events: {name, since_ms} - the event names its code waits for (wait_for_event);
    * queues: {name, since_ms, buffered} - queues it dequeues or receives from;
    * requests: {target, operation, request_id, since_ms};
    * sub_orchestrations: {instance_id, name, since_ms}.

    `buffered` counts messages waiting in the instance's queue (events and messages are kept
    while it is suspended, or until its next turn), by kind.
    """

    instance_id: str
    status: str
    activities: List[Dict[str, Any]] = field(default_factory=list)
    timers: List[Dict[str, Any]] = field(default_factory=list)
    events: List[Dict[str, Any]] = field(default_factory=list)
    queues: List[Dict[str, Any]] = field(default_factory=list)
    requests: List[Dict[str, Any]] = field(default_factory=list)
    sub_orchestrations: List[Dict[str, Any]] = field(default_factory=list)
    buffered: Dict[str, int] = field(default_factory=dict)

    def to_json(self) -> Dict[str, Any]:
        return asdict(self)

    def is_empty(self) -> bool:
        return not (self.activities or self.timers or self.events or self.queues
                    or self.requests or self.sub_orchestrations)


def pending_from_json(body: Dict[str, Any]) -> PendingWork:
    return PendingWork(**{k: body[k] for k in PendingWork.__dataclass_fields__ if k in body})


@dataclass
class BulkResult:
    """What client.bulk did: `matched` instance ids (all of them with dry_run, where nothing
    is done), `done` the ids acted on, `failed` (instance id, error text) pairs."""

    action: str
    matched: List[str] = field(default_factory=list)
    done: List[str] = field(default_factory=list)
    failed: List[Tuple[str, str]] = field(default_factory=list)
    dry_run: bool = False

    def to_json(self) -> Dict[str, Any]:
        return {"action": self.action, "matched": self.matched, "done": self.done,
                "failed": [list(f) for f in self.failed], "dry_run": self.dry_run}


def bulk_from_json(body: Dict[str, Any]) -> BulkResult:
    return BulkResult(body["action"], list(body["matched"]), list(body["done"]),
                      [(str(i), str(e)) for i, e in body["failed"]], bool(body["dry_run"]))


def check_bulk_action(action: Any) -> str:
    """The action, or InvalidArgumentError before anything runs."""
    if not isinstance(action, str) or action not in BULK_ACTIONS:
        raise InvalidArgumentError(
            f"unknown bulk action {action!r}; expected one of {', '.join(BULK_ACTIONS)}")
    return action


def _raw(event: Any) -> Dict[str, Any]:
    body = loads_or(getattr(event, "raw", None), {})
    return body if isinstance(body, dict) else {}


def _error_text(details: Any) -> str:
    if isinstance(details, dict) and details:
        body = next(iter(details.values()))
        if isinstance(body, dict):
            return str(body.get("message") or body.get("kind") or "")
    return ""


class _Walk:
    """One pass over the current execution's history."""

    def __init__(self) -> None:
        self.open: Dict[int, Dict[str, Any]] = {}   # scheduling event id -> its raw event
        self.subs: List[Dict[str, Any]] = []        # open ExternalSubscribed / QueueSubscribed
        self.last_error: Dict[str, str] = {}        # activity name -> its last failure
        self.sent: Dict[str, Dict[str, Any]] = {}   # reply queue -> the request's MessageSent
        self.ended = False
        self.progress_after: Dict[int, bool] = {}   # timer id -> the code went on without it
        self._arrived_since: Dict[int, bool] = {}

    def feed(self, e: Dict[str, Any]) -> None:
        kind = e.get("type", "")
        eid = int(e.get("event_id", 0))
        src = e.get("source_event_id")
        if kind in _TERMINAL:
            self.ended = True
        if kind in ("ActivityScheduled", "SubOrchestrationScheduled", "TimerCreated"):
            self.open[eid] = e
            if kind == "TimerCreated":
                self.progress_after[eid] = False
                self._arrived_since[eid] = False
        elif kind in ("ExternalSubscribed", "QueueSubscribed"):
            self.subs.append(e)
        elif kind == "MessageSent":
            reply = loads_or(e.get("meta"), {}).get("reply_to") if e.get("meta") else None
            if isinstance(reply, str):
                self.sent[reply] = e
        if kind in ("ExternalEvent", "QueueEventDelivered"):
            want = "ExternalSubscribed" if kind == "ExternalEvent" else "QueueSubscribed"
            for s in self.subs:
                if s.get("type") == want and s.get("name") == e.get("name"):
                    self.subs.remove(s)
                    break
        if kind in _COMPLETES and src is not None:
            scheduled = self.open.pop(int(src), None)
            self.subs = [s for s in self.subs if int(s.get("event_id", 0)) != int(src)]
            if kind == "ActivityFailed" and scheduled is not None:
                self.last_error[str(scheduled.get("name"))] = _error_text(e.get("details"))
        self._note_progress(kind)

    def _note_progress(self, kind: str) -> None:
        # A timer that has not fired while the code, after a later arrival, emitted something
        # new lost a race (when_any) or was left behind: the code no longer waits for it.
        for tid in list(self._arrived_since):
            if tid not in self.open:
                continue
            if kind in _ARRIVALS:
                self._arrived_since[tid] = True
            elif self._arrived_since[tid] and kind not in _TERMINAL:
                self.progress_after[tid] = True


def _buffered(rows: Iterable[Dict[str, Any]]) -> Dict[str, int]:
    out: Dict[str, int] = {}
    for r in rows:
        if r["queue"] == "orchestrator":
            out[r["kind"]] = out.get(r["kind"], 0) + 1
    return out


def _activity(eid: int, e: Dict[str, Any], row: Optional[Dict[str, Any]], walk: _Walk,
              suspended: bool) -> Dict[str, Any]:
    name = str(e.get("name", ""))
    entry: Dict[str, Any] = {"activity_id": eid, "name": name,
                             "since_ms": e.get("timestamp_ms"), "attempt": 0, "worker": None,
                             "last_error": walk.last_error.get(name), "waits_for": ""}
    if row is None:
        # Not in the worker queue: its completion is on the way, or it was cancelled.
        entry["state"] = "cancelled" if walk.ended else "completing"
        return entry
    item: Any = next(iter(loads_or(row["work_item"], {}).values()), {}) if row["work_item"] else {}
    entry["attempt"] = int(row["attempt_count"])
    if row["locked"]:
        entry["state"] = "running"  # runs on while suspended (parked only for a redelivery)
    elif row["parked"] or suspended:
        entry["state"], entry["waits_for"] = "parked", "the instance is suspended"
    else:
        entry["state"] = "queued"
        routing = item.get("routing") if isinstance(item, dict) else None
        entry["waits_for"] = ("a worker with its capability"
                              if isinstance(routing, dict) and routing.get("schema_hash")
                              else "a free worker")
        if isinstance(item, dict) and item.get("tag"):
            entry["waits_for"] += f" (tag {item['tag']})"
    return entry


def derive_pending(instance_id: str, status: str, history: Iterable[Any],
                   rows: List[Dict[str, Any]]) -> PendingWork:
    """PendingWork from the current execution's history events (objects with `raw` JSON) and
    the instance's queue rows (the dicts of the core's queue_rows)."""
    walk = _Walk()
    for event in history:
        walk.feed(_raw(event))
    out = PendingWork(instance_id, status, buffered=_buffered(rows))
    ended = walk.ended or status in ("Completed", "Failed", "Terminated")
    walk.ended = ended
    suspended = status == "Suspended"
    workers = {}
    for r in rows:
        if r["queue"] == "worker":
            body: Any = next(iter(loads_or(r["work_item"], {}).values()), {})
            if isinstance(body, dict):
                workers[int(body.get("id", 0))] = r
    for eid, e in sorted(walk.open.items()):
        kind = e.get("type")
        if kind == "ActivityScheduled":
            out.activities.append(_activity(eid, e, workers.get(eid), walk, suspended))
        elif kind == "TimerCreated":
            lost = ended or walk.progress_after.get(eid, False)
            out.timers.append({"timer_id": eid, "fire_at_ms": e.get("fire_at_ms"),
                               "state": "cancelled" if lost else "pending"})
        elif kind == "SubOrchestrationScheduled" and not ended:
            out.sub_orchestrations.append({"instance_id": e.get("instance"),
                                           "name": e.get("name"),
                                           "since_ms": e.get("timestamp_ms")})
    if ended:
        return out
    for s in walk.subs:
        name = str(s.get("name", ""))
        since = s.get("timestamp_ms")
        if s.get("type") == "ExternalSubscribed":
            out.events.append({"name": name, "since_ms": since})
        elif name.startswith(REPLY_QUEUE_PREFIX):
            sent = walk.sent.get(name, {})
            meta = loads_or(sent.get("meta"), {}) if sent else {}
            queue = str(sent.get("name", ""))
            operation = meta.get("operation") or (queue[len(REQUEST_QUEUE_PREFIX):]
                                                  if queue.startswith(REQUEST_QUEUE_PREFIX)
                                                  else queue)
            out.requests.append({"target": sent.get("instance"), "operation": operation,
                                 "request_id": name[len(REPLY_QUEUE_PREFIX):],
                                 "since_ms": since})
        else:
            waiting = sum(1 for r in rows if r["kind"] == "QueueMessage"
                          and _queue_of(r) == name)
            out.queues.append({"name": name, "since_ms": since, "buffered": waiting})
    return out


def unheard_event_warning(pending: PendingWork, name: str) -> Optional[str]:
    """The warning the CLI and the server give when an event is raised on a running instance
    whose code does not wait for that name now (the event is still kept: a wait_for_event of
    that name, now or later, consumes it). None when something waits for it or the instance
    has ended (raising there is refused anyway)."""
    if pending.status not in ("Running", "Suspended"):
        return None
    waiting = [str(e.get("name")) for e in pending.events]
    if name in waiting:
        return None
    now = ", ".join(repr(w) for w in waiting) if waiting else "no event"
    return (f"instance {pending.instance_id} does not wait for event {name!r} now (it waits "
            f"for {now}); the event is kept, but only wait_for_event({name!r}) consumes it")


def _queue_of(row: Dict[str, Any]) -> str:
    body: Any = next(iter(loads_or(row["work_item"], {}).values()), {})
    return str(body.get("name", "")) if isinstance(body, dict) else ""


def dumps_pending(p: PendingWork) -> str:
    return json.dumps(p.to_json())


# ---- bulk ---------------------------------------------------------------------------------------

_ENDED = ("Completed", "Failed", "Terminated")


def shown_status(status: str, error: Any) -> str:
    """The status as the CLI and dashboard show it: a cooperative cancel is stored (and
    returned by get_status) as Failed 'canceled: ...', shown as Canceled."""
    if status == "Failed" and isinstance(error, str) and error.startswith("canceled: "):
        return "Canceled"
    return status


def _check_filters(status: Any, name: Any, id_prefix: Any, created_after_ms: Any,
                   created_before_ms: Any) -> None:
    for label, value in (("status", status), ("name", name), ("id_prefix", id_prefix)):
        if value is not None and not isinstance(value, str):
            raise InvalidArgumentError(f"bulk: {label} must be a str, got {value!r}")
    for label, value in (("created_after_ms", created_after_ms),
                         ("created_before_ms", created_before_ms)):
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise InvalidArgumentError(f"bulk: {label} must be an int (epoch ms), got {value!r}")


def run_bulk(client: Any, action: str, *, status: Optional[str] = None,
             name: Optional[str] = None, id_prefix: Optional[str] = None,
             created_after_ms: Optional[int] = None, created_before_ms: Optional[int] = None,
             reason: Optional[str] = None, dry_run: bool = False,
             progress: Any = None) -> BulkResult:
    """client.bulk on any ClientAPI (the native Client, and the server for POST /v1/bulk).
    `progress(done, total)` is called after each instance when given."""
    check_bulk_action(action)
    _check_filters(status, name, id_prefix, created_after_ms, created_before_ms)
    result = BulkResult(action, dry_run=dry_run)
    parents: Dict[str, Optional[str]] = {}
    for iid in reversed(client.list_all_instances()):  # oldest first
        if id_prefix is not None and not iid.startswith(id_prefix):
            continue
        if name is not None or created_after_ms is not None or created_before_ms is not None \
                or action in ("cancel", "terminate", "delete"):
            info = client.get_instance_info(iid)
            if name is not None and info.orchestration_name != name:
                continue
            if created_after_ms is not None and info.created_at < created_after_ms:
                continue
            if created_before_ms is not None and info.created_at >= created_before_ms:
                continue
            parents[iid] = info.parent_instance_id
        if status is not None and client.get_status(iid).status != status:
            continue
        result.matched.append(iid)
    if dry_run:
        return result
    matched = set(result.matched)
    for n, iid in enumerate(result.matched, 1):
        if parents.get(iid) in matched:
            # Ended (or deleted) with its parent, which is in the set too.
            result.done.append(iid)
        else:
            try:
                _act(client, action, iid, reason)
                result.done.append(iid)
            except Exception as e:  # noqa: BLE001 - every refusal is reported, none stops the run
                result.failed.append((iid, f"{type(e).__name__}: {e}"))
        if progress is not None:
            progress(n, len(result.matched))
    return result


def _act(client: Any, action: str, iid: str, reason: Optional[str]) -> None:
    if action == "cancel":
        if client.get_status(iid).status in _ENDED:
            from duroxide.errors import FailedPreconditionError
            raise FailedPreconditionError(f"instance {iid} has ended: it cannot be canceled")
        client.cancel_instance(iid, reason)
    elif action == "terminate":
        client.terminate_instance(iid, reason)
    elif action == "suspend":
        client.suspend_instance(iid, reason)
    elif action == "resume":
        client.resume_instance(iid, reason)
    elif action == "rerun":
        client.rerun(iid)
    else:
        client.delete_instance(iid)


# ---- rerun ----------------------------------------------------------------------------------

_FAILED_TASK = ("ActivityFailed", "SubOrchestrationFailed")
_EMITTED_TAIL_STOP = _ARRIVALS | {"OrchestrationStarted"}


def rerun_id(client: Any, instance_id: str) -> str:
    """f"{instance_id}~{n}" with the first n >= 1 not taken."""
    n = 1
    while client.get_status(f"{instance_id}~{n}").status != "NotFound":
        n += 1
    return f"{instance_id}~{n}"


def default_from(events: List[Dict[str, Any]], status: str) -> Optional[int]:
    """The event a rerun of a Failed instance starts before: the last failed task it received
    (or its failure event when none); None (a fresh start) for any other status."""
    if status != "Failed" or not events:
        return None
    failed = [e for e in events if e.get("type") in _FAILED_TASK]
    return int((failed[-1] if failed else events[-1])["event_id"])


def rerun_prefix(events: List[Dict[str, Any]], from_event_id: int) -> List[Dict[str, Any]]:
    """The events a rerun copies (as the core does, providers/ops_rerun.cc): those before
    from_event_id, without the terminal event and the code's emissions after the last
    arrival."""
    prefix = [e for e in events if int(e["event_id"]) < from_event_id]
    while len(prefix) > 1 and prefix[-1].get("type") not in _EMITTED_TAIL_STOP:
        prefix.pop()
    return prefix


def current_events(client: Any, instance_id: str) -> List[Dict[str, Any]]:
    executions = client.list_executions(instance_id)
    if not executions:
        return []
    return [_raw(e) for e in client.read_execution_history(instance_id, executions[-1])]


def plan_rerun(client: Any, instance_id: str, from_event_id: Optional[int],
               new_instance_id: Optional[str]) -> Tuple[str, Optional[int], Any]:
    """Checks a rerun and returns (new id, from_event_id or None for a fresh start, the
    instance info)."""
    from duroxide.errors import FailedPreconditionError, NotFoundError
    status = client.get_status(instance_id).status
    if status == "NotFound":
        raise NotFoundError(f"Instance {instance_id} not found")
    if status not in ("Completed", "Failed", "Terminated"):
        raise FailedPreconditionError(
            f"instance {instance_id} is {status}: only an ended instance can be rerun")
    if from_event_id is not None and (not isinstance(from_event_id, int)
                                      or isinstance(from_event_id, bool)):
        raise InvalidArgumentError(f"rerun: from_event_id must be an int, got {from_event_id!r}")
    if new_instance_id is not None and not isinstance(new_instance_id, str):
        raise InvalidArgumentError(f"rerun: new_instance_id must be a str, got {new_instance_id!r}")
    info = client.get_instance_info(instance_id)
    if from_event_id is None:
        from_event_id = default_from(current_events(client, instance_id), status)
    return new_instance_id or rerun_id(client, instance_id), from_event_id, info
