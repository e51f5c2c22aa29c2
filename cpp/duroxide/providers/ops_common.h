// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Instance operations written once for every provider with RunOps (provider_ops.h):
//
// Suspend is an instance lock that nobody holds and that never expires: every fetch already
// skips a locked instance, so no turn runs, while events, messages, timers and completions
// keep arriving in its queue. The lock token names the suspension ("suspended:<id>\n<reason>")
// so the store needs no new table. A turn in flight when the suspension lands loses its lock
// and its ack fails (nothing of it is written; it runs again after resume). Every activity row
// of the instance is parked (its visible_at moved kParkOffsetMs into the future, an exact
// shift that resume undoes; an abandon keeps the shift): queued ones do not start, running
// ones finish and their completions are queued as usual, and a running one whose lock
// expires (its worker died) is not run again until the resume.
//
// Terminate queues a terminating CancelInstance (history/work_item.h) and lifts a suspension
// in the same transaction, so a suspended instance can be ended too; the runtime's next turn
// ends the instance (runtime/turn_plan.cc).
#ifndef DUROXIDE_PROVIDERS_OPS_COMMON_H_
#define DUROXIDE_PROVIDERS_OPS_COMMON_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "duroxide/common/status.h"
#include "duroxide/history/work_item.h"
#include "duroxide/providers/provider.h"

namespace duroxide::providers::ops {

inline constexpr int64_t kSuspendedUntilMs = 253402300799999;  // 9999-12-31: never expires
inline constexpr int64_t kParkOffsetMs = int64_t{1} << 52;     // ~142,000 years
inline constexpr size_t kMaxReasonBytes = 1024;  // fits in the lock token's index entry

// The lock token of a suspension, and the reason it carries (nullopt: not a suspension).
std::string SuspendToken(const std::string& instance, const std::string& reason);
std::optional<std::string> SuspendReason(const std::string& instance, const std::string& token);

// kNotFound (no instance and no queued start), kFailedPrecondition naming the state (ended).
// Suspending a suspended instance replaces its reason. Reasons over kMaxReasonBytes are cut.
Status Suspend(Provider& p, const std::string& instance, const std::string& reason);
// kNotFound; kFailedPrecondition when the instance is not suspended.
Status Resume(Provider& p, const std::string& instance);
// kNotFound; kFailedPrecondition when the instance has ended. `terminate` is the work item.
Status Terminate(Provider& p, const history::WorkItem& terminate);
// The suspension reason of `instance`, nullopt when it is not suspended.
Result<std::optional<std::string>> Suspension(Provider& p, const std::string& instance);
// True when `instance` has a queued start naming a limit that has not taken its slot yet
// (limit_store.h, orchestration limits): get_status reports it "Pending". False on a provider
// without the operations capability or without orchestration limits.
Result<bool> StartWaitsForLimit(Provider& p, const std::string& instance);
// Ids of the suspended instances (newest lock first).
Result<std::vector<std::string>> ListSuspended(Provider& p);

// Verified rerun (client.rerun): creates `new_id` as a root whose history is the source's
// current execution before `from_event_id` (2..last+1), without the terminal event and the
// events its code emitted after the last arrival: the first turn replays the copy against the
// code that runs now - verifying it - and emits those again. `input` (JSON text) replaces
// the start input. Also queued: the copy's unfired timers and the rerun marker (an external
// event named kRerunMarker) that makes a runtime take the first turn at once; that turn
// queues the copy's unfinished activities from the code's descriptors (their routing kept).
// If that turn finds the code nondeterministic against the copy, the instance is suspended
// with the replay report as reason (runtime/turn_processor.cc) and nothing after the prefix
// runs. kNotFound; kAlreadyExists (new_id taken); kFailedPrecondition
// (source not ended, or the copy waits for a sub-orchestration); kInvalidArgument (event id).
inline constexpr const char* kRerunMarker = "__duroxide_rerun__";
Status Rerun(Provider& p, const std::string& source, const std::string& new_id,
             int64_t from_event_id, const std::optional<std::string>& input);

// A queue row of one instance, as stored (for "what does it wait on").
struct QueueRow {
  std::string queue;      // "orchestrator" | "worker"
  std::string kind;       // work item kind
  std::string work_item;  // JSON text
  int64_t visible_at = 0;
  int64_t attempt_count = 0;
  bool locked = false;        // a live lock (worker: running; orchestrator: in a turn)
  bool parked = false;        // worker row parked by a suspension
  int64_t created_at = 0;
};
Result<std::vector<QueueRow>> QueueRows(Provider& p, const std::string& instance);

// The end of every RunOps: once the operation's transaction has committed (`committed` is
// Ok), wakes this process's dispatchers and status waiters for what `wake` says changed.
// Waking other processes is the dialect's business, inside its transaction. Returns
// `committed`.
Status WakeAfterOps(Provider& p, const Status& committed, const OpsWake& wake);

}  // namespace duroxide::providers::ops

#endif  // DUROXIDE_PROVIDERS_OPS_COMMON_H_
