// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Fleet membership of one runtime (docs/deployment.md): registration in the provider's worker
// registry, heartbeats, drain, and least-loaded session placement. Internal to runtime/.
//
// One fleet thread per runtime does all of it: it registers on start, sends a heartbeat (one
// UPDATE that also reads drain_requested) every heartbeat_interval_ms, releases the sessions
// of gone workers and prunes old rows, and refreshes the placement view. A drain (requested
// through the store or locally) stops the dispatchers from claiming, waits for in-flight work
// up to a grace period, hands back the rest, then marks the worker stopped, which releases
// its sessions.
#ifndef DUROXIDE_RUNTIME_FLEET_H_
#define DUROXIDE_RUNTIME_FLEET_H_

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "duroxide/providers/provider.h"

namespace duroxide::runtime {

struct RuntimeCore;

// A fresh "adjective-noun-NN" name; `hint` (if not empty) replaces the adjective-noun part.
std::string RandomWorkerName(const std::string& hint);

// Least-loaded session placement. A runtime may open a new session only while its own
// session count is below target: one more than the least-loaded other live worker's count,
// scaled by capacity (max_sessions). Otherwise its fetches ask for items of sessions it holds
// only, plus new sessions that have waited longer than kPlacementMaxWaitMs (so work that only
// this worker can serve is never held back for long). New-session claims of one runtime are
// serialised (one slot at a time) so the local count cannot overshoot.
// Thread-safety: thread-safe.
class SessionPlacement {
 public:
  static constexpr int64_t kPlacementMaxWaitMs = 2000;

  // Holds this runtime's new-session token while a fetch that may open sessions runs.
  struct Ticket {
    std::unique_lock<std::mutex> lock;
  };
  // The restriction for the next fetch (nullopt: none) and, when new sessions are allowed
  // under placement, the batch limit; takes the token into *ticket.
  std::optional<int64_t> Restriction(Ticket* ticket, size_t* max_items);
  // Records the sessions of fetched leases (a session not seen before counts as new).
  void Observe(const std::vector<providers::WorkItemLease>& leases, int64_t now_ms);
  // Recomputes the target from the registry rows (the own row is `self_id`).
  void Refresh(const std::vector<providers::WorkerRecord>& rows, const std::string& self_id,
               int64_t max_sessions, int64_t forget_after_ms, int64_t now_ms);
  void Disable();
  bool active() const { return active_.load(); }

 private:
  std::atomic<bool> active_{false};
  std::mutex token_mu_;
  std::mutex mu_;
  int64_t target_ = 0;         // GUARDED_BY(mu_)
  int64_t held_at_refresh_ = 0;  // GUARDED_BY(mu_)
  int64_t new_since_refresh_ = 0;  // GUARDED_BY(mu_)
  std::map<std::string, int64_t> seen_;  // session -> last seen (ms), GUARDED_BY(mu_)
};

// Fleet state of a runtime, held by RuntimeCore.
struct FleetState {
  std::string worker_id;
  std::vector<std::string> session_owners;
  std::mutex mu;
  std::string name;         // GUARDED_BY(mu); empty until registered
  std::string serves_json = R"({"orchestrations":[],"activities":[]})";  // GUARDED_BY(mu)
  bool serves_dirty = false;  // GUARDED_BY(mu)
  bool registered = false;    // GUARDED_BY(mu)
  // Drain: requested (locally or through the store), in progress (dispatchers stop
  // claiming), done (in-flight work finished or handed back; stored status "stopped").
  std::atomic<bool> drain_requested{false};
  std::atomic<int64_t> drain_grace_ms{30000};
  std::atomic<bool> draining{false};
  std::atomic<bool> drain_done{false};
  int64_t drain_deadline_ms = 0;  // fleet thread only
  SessionPlacement placement;
};

// Sets worker_id and session owners from the options; called once before Start.
void InitFleet(RuntimeCore* core);
// Registers synchronously (so the name is known when Start returns); failures are retried by
// the fleet thread.
void RegisterWithFleet(RuntimeCore* core);
void RunFleetThread(std::shared_ptr<RuntimeCore> core);
// Stored status "stopped"; release_sessions at the end of a drain (a clean shutdown keeps
// them for a restart with the same worker_node_id; they expire as before otherwise).
void MarkStopped(RuntimeCore* core, bool release_sessions);
// The worker record of this runtime as the store has it (nullopt without a registry).
std::optional<providers::WorkerRecord> OwnWorkerRecord(RuntimeCore* core);

}  // namespace duroxide::runtime

#endif  // DUROXIDE_RUNTIME_FLEET_H_
