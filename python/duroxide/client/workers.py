"""The worker registry seen from a client: worker records and the diagnosis of stuck work.

Every runtime registers in its store (docs/deployment.md). `WorkerInfo` is one record as
`list_workers()` returns it; `diagnose` is what `list_unservable_work()` computes: it
compares what waits in the queues with what the live workers serve.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple, Type, TypeVar

from duroxide._common import loads_or

# Statuses a worker record can show; "unreachable" is derived when read (no heartbeat for 3
# heartbeat intervals), never stored.
WORKER_STATUSES = ("active", "draining", "stopped", "unreachable")
QUEUED_LIMIT = 10000  # queued items the diagnosis looks at (oldest first)


R = TypeVar("R", bound="_Record")


class _Record:
    """Attributes readable as items too (record["status"]) and as a dict (to_dict())."""

    __slots__: Tuple[str, ...] = ()

    def to_dict(self) -> Dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}

    @classmethod
    def from_dict(cls: Type[R], data: Dict[str, Any]) -> R:
        """The inverse of to_dict (how HttpClient rebuilds the records the server sends)."""
        record = cls.__new__(cls)
        for name in cls.__slots__:
            setattr(record, name, data.get(name))
        return record

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None


class WorkerInfo(_Record):
    """One worker (a runtime serving the store) as its registry record shows it.

    Attributes:
        worker_id: stable id (the runtime's worker_node_id when set).
        name: human-readable name, adjective-noun-NN, unique among registered workers.
        status: "active", "draining", "stopped" or "unreachable" (derived: no heartbeat for
            3 heartbeat intervals).
        host, pid, version: where it runs and the duroxide version.
        service_name, service_version: from RuntimeOptions, or None.
        started_at_ms, registered_at_ms, last_heartbeat_ms: epoch milliseconds.
        heartbeat_interval_ms: the worker's heartbeat period.
        capacity: {"orchestration_slots", "worker_slots", "max_sessions"}.
        load: {"turns_in_flight", "activities_in_flight", "sessions_held", "items_processed",
            ...} as of the last heartbeat; sessions_held is live (derived from the store).
        sessions_held: sessions whose lock the worker holds now.
        serves: {"orchestrations": [{"name", "version"}], "activities": [names]}.
        tags: {"mode", "tags"}: the activity tags it accepts (its worker_tag_filter).
        capabilities: the free-form capabilities document, or None.
        drain_requested: a drain was requested and not yet picked up or finished.
    """

    __slots__ = ("worker_id", "name", "status", "host", "pid", "version", "service_name",
                 "service_version", "started_at_ms", "registered_at_ms", "last_heartbeat_ms",
                 "heartbeat_interval_ms", "capacity", "load", "sessions_held", "serves", "tags",
                 "capabilities", "drain_requested", "session_owners", "last_seen_ms_ago")

    def __init__(self, raw: Dict[str, Any]) -> None:
        self.worker_id: str = raw["worker_id"]
        self.name: str = raw["name"]
        self.status: str = raw["status"]
        self.host: str = raw["host"]
        self.pid: int = int(raw["pid"])
        self.version: str = raw["version"]
        self.service_name: Optional[str] = raw["service_name"]
        self.service_version: Optional[str] = raw["service_version"]
        self.started_at_ms: int = int(raw["started_at_ms"])
        self.registered_at_ms: int = int(raw["registered_at_ms"])
        self.last_heartbeat_ms: int = int(raw["last_heartbeat_ms"])
        self.heartbeat_interval_ms: int = int(raw["heartbeat_interval_ms"])
        self.capacity: Dict[str, Any] = loads_or(raw["capacity"], {})
        self.sessions_held: int = int(raw["sessions_held"])
        # Before the first heartbeat the record has no load figures yet: they read as 0.
        load: Dict[str, Any] = {"turns_in_flight": 0, "activities_in_flight": 0,
                                "items_processed": 0}
        load.update(loads_or(raw["load"], {}))
        load["sessions_held"] = self.sessions_held
        self.load: Dict[str, Any] = load
        self.serves: Dict[str, Any] = loads_or(raw["serves"], {})
        self.tags: Dict[str, Any] = loads_or(raw["tags"], {})
        self.capabilities: Any = loads_or(raw["capabilities"], None)
        self.drain_requested: bool = bool(raw["drain_requested"])
        self.session_owners: List[str] = loads_or(raw["session_owners"], [])
        self.last_seen_ms_ago: int = max(0, int(raw["now_ms"]) - self.last_heartbeat_ms)

    @property
    def started_at(self) -> int:
        """Alias of started_at_ms."""
        return self.started_at_ms

    @property
    def live(self) -> bool:
        """True for an active worker that is heartbeating."""
        return self.status == "active"

    def serves_orchestration(self, name: str, version: Optional[str]) -> bool:
        for entry in self.serves.get("orchestrations", []):
            if entry.get("name") == name and (version is None or entry.get("version") == version):
                return True
        return False

    def serves_activity(self, name: str, tag: Optional[str]) -> bool:
        if name not in self.serves.get("activities", []):
            return False
        mode = self.tags.get("mode", "default_only")
        tags = self.tags.get("tags", [])
        if mode == "any":
            return True
        if mode == "none":
            return False
        if tag is None:
            return mode in ("default_only", "default_and")
        return mode in ("tags", "default_and") and tag in tags

    @property
    def last_seen_ms(self) -> int:
        """Alias of last_heartbeat_ms."""
        return self.last_heartbeat_ms

    def __repr__(self) -> str:
        return (f"WorkerInfo(name={self.name!r}, status={self.status!r}, host={self.host!r}, "
                f"pid={self.pid}, sessions_held={self.sessions_held})")


class UnservableWork(_Record):
    """Queued work that no live worker can run, grouped by what it needs.

    Attributes:
        kind: "orchestration" or "activity".
        name: the orchestration or activity name.
        version: the orchestration version it needs (None: any version).
        tag: the activity tag it needs (None: untagged).
        reason: why no live worker can run it.
        count: how many queued items.
        oldest_wait_ms: how long the oldest of them has waited (since it became visible).
        instance_ids: the instances concerned (at most 20).
    """

    __slots__ = ("kind", "name", "version", "tag", "reason", "count", "oldest_wait_ms",
                 "instance_ids")

    def __init__(self, kind: str, name: str, version: Optional[str], tag: Optional[str],
                 reason: str) -> None:
        self.kind = kind
        self.name = name
        self.version = version
        self.tag = tag
        self.reason = reason
        self.count = 0
        self.oldest_wait_ms = 0
        self.instance_ids: List[str] = []

    @property
    def waited_ms(self) -> int:
        """Alias of oldest_wait_ms."""
        return self.oldest_wait_ms

    def __repr__(self) -> str:
        return (f"UnservableWork(kind={self.kind!r}, name={self.name!r}, "
                f"version={self.version!r}, tag={self.tag!r}, count={self.count}, "
                f"oldest_wait_ms={self.oldest_wait_ms}, reason={self.reason!r})")


def _orchestration_reason(workers: List[WorkerInfo], name: str,
                          version: Optional[str]) -> Optional[str]:
    runners = [w for w in workers if w.capacity.get("orchestration_slots", 1) > 0]
    if any(w.serves_orchestration(name, version) for w in runners):
        return None
    if not runners:
        return "no live worker runs orchestrations"
    if version is not None and any(w.serves_orchestration(name, None) for w in runners):
        return f"version {version} of orchestration '{name}' is not registered on any live worker"
    return f"orchestration '{name}' is not registered on any live worker"


def _activity_reason(workers: List[WorkerInfo], name: str, tag: Optional[str]) -> Optional[str]:
    runners = [w for w in workers if w.capacity.get("worker_slots", 1) > 0]
    if any(w.serves_activity(name, tag) for w in runners):
        return None
    if not runners:
        return "no live worker runs activities"
    if not any(name in w.serves.get("activities", []) for w in runners):
        return f"activity '{name}' is not registered on any live worker"
    if tag is None:
        return f"no live worker serving activity '{name}' accepts untagged activities"
    return f"no live worker serving activity '{name}' accepts tag '{tag}'"


def diagnose(workers: List[WorkerInfo], queued: List[Dict[str, Any]],
             now_ms: int) -> List[UnservableWork]:
    """Groups the queued items that no live worker can run (oldest wait first)."""
    live = [w for w in workers if w.live]
    groups: Dict[Tuple[str, str, Optional[str], Optional[str], str], UnservableWork] = {}
    for item in queued:
        if item.get("kind") == "Undecodable":
            continue
        if item["queue"] == "worker":
            kind, name, version, tag = "activity", str(item["name"]), None, item.get("tag")
            reason = _activity_reason(live, name, tag)
        else:
            kind, tag = "orchestration", None
            if item.get("instance_name") is not None:
                name, version = str(item["instance_name"]), item.get("instance_version")
            elif item.get("kind") == "StartOrchestration":
                name, version = str(item["name"]), item.get("version")
            else:
                continue  # a message for an instance that does not exist (yet): not stuck work
            reason = _orchestration_reason(live, name, version)
        if reason is None:
            continue
        key = (kind, name, version, tag, reason)
        group = groups.get(key)
        if group is None:
            group = groups[key] = UnservableWork(kind, name, version, tag, reason)
        group.count += 1
        visible, created = int(item["visible_at_ms"]), int(item["created_at_ms"])
        # Handed back with a delay (e.g. not registered here): waiting since it was queued.
        waited = max(0, now_ms - (created if visible > now_ms else max(visible, created)))
        group.oldest_wait_ms = max(group.oldest_wait_ms, waited)
        if len(group.instance_ids) < 20 and item["instance_id"] not in group.instance_ids:
            group.instance_ids.append(str(item["instance_id"]))
    return sorted(groups.values(), key=lambda g: -g.oldest_wait_ms)
