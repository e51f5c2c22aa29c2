// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The worker registry capability of a provider (docs/deployment.md): one row per runtime that
// serves the store, written by that runtime (register, heartbeat, status) and read by clients
// and by the other runtimes (placement, session hand-over). The store is the only
// coordination point: nothing here needs agreement between processes beyond what one row
// update and the UNIQUE name constraint give.
//
// The provider stores what the runtime computed (capacity, load, what it serves, tags and
// capabilities are JSON documents it does not interpret) and derives nothing but the live
// session count. "unreachable" is never stored: it is derived when read (EffectiveStatus).
// Every timestamp is epoch milliseconds from the provider's clock.
// Thread-safety: as Provider.
#ifndef DUROXIDE_PROVIDERS_PROVIDER_FLEET_H_
#define DUROXIDE_PROVIDERS_PROVIDER_FLEET_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "duroxide/common/status.h"

namespace duroxide::providers {

// What a runtime writes when it registers.
struct WorkerRegistration {
  std::string worker_id;  // stable across restarts when the runtime has a worker_node_id
  // Names to try for a NEW row, in order; the first one no other row uses is stored.
  std::vector<std::string> candidate_names;
  std::string host;
  int64_t pid = 0;
  std::string version;  // duroxide version
  std::optional<std::string> service_name;
  std::optional<std::string> service_version;
  int64_t started_at_ms = 0;
  int64_t heartbeat_interval_ms = 5000;
  std::string capacity_json = "{}";  // {"orchestration_slots":..,"worker_slots":..,"max_sessions":..}
  std::string load_json = "{}";      // see WorkerLoad in runtime/fleet.h
  std::string serves_json = "{}";    // {"orchestrations":[{"name","version"}],"activities":[..]}
  std::string tags_json = "{}";      // {"mode":..,"tags":[..]} (the worker tag filter)
  std::optional<std::string> capabilities_json;
  // Session owner ids this runtime claims sessions with (sessions.worker_id values).
  std::vector<std::string> session_owners;
};

// A stored worker row.
struct WorkerRecord {
  std::string worker_id;
  std::string name;
  std::string host;
  int64_t pid = 0;
  std::string version;
  std::optional<std::string> service_name;
  std::optional<std::string> service_version;
  std::string status;  // as stored: "active" | "draining" | "stopped"
  bool drain_requested = false;
  int64_t started_at_ms = 0;
  int64_t registered_at_ms = 0;  // first registration of this worker_id
  int64_t last_heartbeat_ms = 0;
  int64_t heartbeat_interval_ms = 5000;
  std::string capacity_json;
  std::string load_json;
  std::string serves_json;
  std::string tags_json;
  std::optional<std::string> capabilities_json;
  std::string session_owners_json;  // JSON array of strings
  // Derived when read: sessions whose live lock (locked_until > now) is held by one of the
  // worker's session owners.
  int64_t sessions_held = 0;
};

// Missed heartbeats after which an active or draining worker is shown unreachable.
constexpr int64_t kUnreachableAfterIntervals = 3;

// The status to show: the stored one, except that an active or draining worker whose last
// heartbeat is older than kUnreachableAfterIntervals intervals at `now_ms` is "unreachable".
std::string EffectiveWorkerStatus(const WorkerRecord& record, int64_t now_ms);
// True for a worker that is active (not draining or stopped) and not unreachable.
bool WorkerIsLive(const WorkerRecord& record, int64_t now_ms);

struct HeartbeatReply {
  bool drain_requested = false;
  std::string status;  // stored status after the heartbeat
};

// An item waiting in a queue (not locked, and visible or already delivered at least once and
// handed back with a delay), for the diagnosis of stuck work.
struct QueuedWork {
  enum class Queue { kOrchestrator, kWorker };
  Queue queue = Queue::kOrchestrator;
  std::string instance;
  std::string work_item_json;  // EncodeWorkItem text
  // Orchestrator queue: the name and version of the instance when it exists.
  std::optional<std::string> instance_name;
  std::optional<std::string> instance_version;
  int64_t created_at_ms = 0;
  int64_t visible_at_ms = 0;
};

class WorkerRegistryStore {
 public:
  virtual ~WorkerRegistryStore() = default;

  // Registers or re-registers a worker. If a row with reg.worker_id exists it MUST be updated
  // in place keeping its name and registered_at (a restart with the same worker_node_id is the
  // same worker); status becomes "active", drain_requested false, last_heartbeat now.
  // Otherwise a row is inserted with the first of reg.candidate_names that no row uses; the
  // store's UNIQUE constraint on name MUST be what decides (two concurrent registrations never
  // get the same name). kAlreadyExists when every candidate is taken. Returns the stored name.
  virtual Result<std::string> RegisterWorker(const WorkerRegistration& reg) = 0;
  // One UPDATE: last_heartbeat = now, load = load_json; returns drain_requested and the stored
  // status. MUST NOT change status. kNotFound if the row is gone (pruned): re-register.
  virtual Result<HeartbeatReply> HeartbeatWorker(const std::string& worker_id,
                                                 const std::string& load_json) = 0;
  // Sets the stored status ("active", "draining" or "stopped"; kInvalidArgument otherwise).
  // With release_sessions (the end of a drain) it MUST also release the worker's sessions
  // (their locks expire now) in the same transaction, so other workers take them at once;
  // without it (a clean shutdown) it MUST NOT touch them: a restart with the same
  // worker_node_id takes them back. kNotFound for an unknown worker.
  virtual Status SetWorkerStatus(const std::string& worker_id, const std::string& status,
                                 bool release_sessions) = 0;
  // Sets drain_requested on the worker whose worker_id or name is `name_or_id`; the worker
  // reads it with its next heartbeat. kNotFound if no row matches; kFailedPrecondition if the
  // worker is stopped. Returns the worker_id.
  virtual Result<std::string> RequestWorkerDrain(const std::string& name_or_id) = 0;
  // Every row, ordered by name, with sessions_held derived.
  virtual Result<std::vector<WorkerRecord>> ListWorkers() = 0;
  // Deletes the rows whose last_heartbeat is before gone_before_ms (stopped, or silent since
  // then); returns how many. MUST NOT delete a row heartbeating after gone_before_ms.
  virtual Result<int64_t> PruneWorkers(int64_t gone_before_ms) = 0;
  // Releases (expires the locks of) the sessions owned by workers that are unreachable: active
  // or draining without a heartbeat for kUnreachableAfterIntervals of their intervals, so that
  // live workers take them over. MUST NOT release those of stopped workers (a clean shutdown
  // keeps its sessions for a restart). Returns how many sessions were released.
  virtual Result<int64_t> ReleaseSessionsOfGoneWorkers() = 0;
  // Up to `limit` unlocked items of both queues that are visible or were handed back
  // (attempt_count > 0), oldest (by visible_at) first. Future timers are not listed.
  virtual Result<std::vector<QueuedWork>> ListQueuedWork(int64_t limit) = 0;
};

}  // namespace duroxide::providers

#endif  // DUROXIDE_PROVIDERS_PROVIDER_FLEET_H_
