// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The storage contract of duroxide. A Provider stores histories, instance metadata, KV state
// and two peek-lock queues; it never interprets event contents or computes ids. Everything it
// must write is spelled out by the runtime in a TurnCommit (the runtime computes routing,
// visibility, status, custom status and KV mutations), so providers stay dumb stores.
//
// Queues:
//   orchestrator queue - messages for orchestration instances. Fetched as a batch: all visible
//                        messages of one instance, under an instance lock.
//   worker queue       - ActivityExecute items, fetched one at a time under a row lock.
// Visibility: every message has visible_at (ms since epoch); timers are TimerFired messages with
// visible_at = fire_at_ms. Fetch only returns messages with visible_at <= now.
//
// Thread-safety: every method MUST be safe to call concurrently from many threads and, for
// shared stores, from many processes.
#ifndef DUROXIDE_PROVIDERS_PROVIDER_H_
#define DUROXIDE_PROVIDERS_PROVIDER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "duroxide/common/status.h"
#include "duroxide/history/event.h"
#include "duroxide/history/work_item.h"
#include "duroxide/providers/change_signal.h"
#include "duroxide/providers/messaging_store.h"
#include "duroxide/providers/provider_admin.h"
#include "duroxide/providers/provider_fleet.h"
#include "duroxide/providers/provider_ops.h"

namespace duroxide::providers {

enum class ExecutionStatus { kRunning, kCompleted, kFailed, kContinuedAsNew };
const char* ExecutionStatusName(ExecutionStatus s);  // "Running", "Completed", ...
bool ExecutionStatusFromName(const std::string& name, ExecutionStatus* out);

struct KvEntry {
  std::string value;
  int64_t last_updated_at_ms = 0;
};
using KvMap = std::map<std::string, KvEntry>;

// What a provider knows of an instance once its first turn has been committed.
struct InstanceRecord {
  std::string name;
  std::string version;
  int64_t current_execution_id = 1;
  ExecutionStatus status = ExecutionStatus::kRunning;  // of the current execution
  std::optional<std::string> output;                  // Completed: output JSON text
  std::optional<std::string> error;                   // Failed: display message
  std::optional<std::string> custom_status;
  int64_t custom_status_version = 0;
  std::optional<std::string> parent_instance_id;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// A locked batch for one instance (see FetchOrchestrationItem).
struct OrchestrationItem {
  std::string instance;
  std::string lock_token;
  int64_t attempt_count = 0;             // max attempt count over the batch (>= 1)
  std::optional<InstanceRecord> record;  // nullopt: no turn of this instance was ever committed
  std::vector<history::Event> history;   // current execution, ordered by event_id
  // False when the history was not read because the caller's FetchHint holds it already;
  // last_event_id is then the id of the last stored event (0 = none).
  bool history_loaded = true;
  int64_t last_event_id = 0;
  Status history_error;                  // not OK: history rows could not be decoded
  std::vector<history::WorkItem> messages;  // visible messages, oldest first
  KvMap kv_snapshot;  // KV state at the start of the current execution (the replay baseline)
};

struct KvMutation {
  enum class Kind { kSet, kClear, kClearAll };
  Kind kind = Kind::kSet;
  std::string key;
  std::string value;
  int64_t last_updated_at_ms = 0;
};

struct ActivityRef {
  std::string instance;
  int64_t execution_id = 0;
  int64_t activity_id = 0;
};

// Everything one orchestration turn writes, computed by the runtime.
struct TurnCommit {
  int64_t execution_id = 1;
  // Set on the first turn of an execution: creates the instance row if missing (name, version,
  // parent) and the execution row; raises current_execution_id to execution_id.
  bool new_execution = false;
  std::string orchestration_name;
  std::string orchestration_version;
  std::optional<std::string> parent_instance_id;
  // created_at of the instance row when this commit creates it (0 = the provider's clock).
  int64_t instance_created_at_ms = 0;

  std::vector<history::Event> new_events;  // appended to (instance, execution_id); never rewrite
  ExecutionStatus status = ExecutionStatus::kRunning;
  std::optional<std::string> output;  // Completed
  std::optional<std::string> error;   // Failed (display message)

  bool custom_status_changed = false;  // when true: set custom_status, version += 1
  std::optional<std::string> custom_status;
  std::vector<KvMutation> kv_mutations;  // applied in order to the current execution's delta
  // When status is terminal or ContinuedAsNew the delta is merged into the baseline snapshot.

  std::vector<history::WorkItem> worker_items;        // ActivityExecute
  std::vector<history::WorkItem> orchestrator_items;  // any other kind; routed by .instance;
                                                      // TimerFired visible at fire_at_ms
  std::vector<ActivityRef> cancelled_activities;      // deleted from the worker queue AFTER
                                                      // worker_items are inserted
  // Same-process activity hand-off (docs/performance.md). When worker_lease_until_ms > 0,
  // every worker_items[i] with lease_worker_items[i] set (a missing entry counts as false) is
  // requested to be inserted already leased: lock held until worker_lease_until_ms under a
  // fresh lock token, attempt_count 1, so no fetch can take it. The provider honours the
  // request only when the acknowledgement has somewhere to report the leases
  // (TurnAck::leases, see there); otherwise, and always for a provider that does not support
  // it, the rows are inserted unleased as usual. A leased row is acknowledged, renewed or
  // abandoned with its token exactly like a fetched one; if its holder dies, the lock expires
  // and the row is fetched again (activities stay at-least-once).
  int64_t worker_lease_until_ms = 0;
  std::vector<bool> lease_worker_items;
  // Dead letters, topic writes and client replies (messaging_store.h). A provider without
  // messaging() MUST fail a commit whose messaging writes are not empty (kFailedPrecondition).
  MessagingWrites messaging;
};

struct TagFilter {
  enum class Mode { kDefaultOnly, kTags, kDefaultAnd, kAny, kNone };
  Mode mode = Mode::kDefaultOnly;
  std::vector<std::string> tags;
  // True when an item with this tag (nullopt = untagged) may be fetched.
  bool Matches(const std::optional<std::string>& tag) const;
};

struct SessionFetch {
  std::string owner_id;
  int64_t lock_timeout_ms = 30000;
  // Placement (runtime/fleet.h): when set, a session-bound item whose session is NOT already
  // held by owner_id (unowned or expired) is eligible only if it has been visible for at least
  // this long; items of sessions owner_id holds stay eligible. nullopt: no restriction.
  std::optional<int64_t> new_session_min_wait_ms;
};

struct WorkerFetchOptions {
  TagFilter tag_filter;
  // Capability routing. A row whose ActivityExecute carries routing with a schema_hash is
  // eligible only if the hash is in schema_hashes, or if its deadline_ms has passed (then any
  // worker takes it, to fail it with a clear error). A row whose routing avoids runtime_id is
  // eligible for this worker only after the row's avoid_until_ms. Rows without routing are
  // unaffected. MUST be applied by the claim itself (never claim and hand back).
  std::vector<std::string> schema_hashes;
  std::string runtime_id;
  // nullopt: session-bound items are skipped. Otherwise an item with a session is eligible if
  // the session is unowned, expired, or owned by owner_id; fetching it claims the session.
  std::optional<SessionFetch> session;
};

// Lets a runtime skip reading histories it already holds in memory (warm replay).
struct CachedHistory {
  int64_t execution_id = 0;
  int64_t last_event_id = 0;
  int64_t instance_created_at_ms = 0;  // identifies the instance across delete + re-create
};

struct FetchHint {
  // Returns what the caller holds for `instance`, or nullopt.
  // Called by the provider while it holds its own locks: it MUST NOT call back into the
  // provider.
  std::function<std::optional<CachedHistory>(const std::string& instance)> cached;
};

struct WorkItemLease {
  history::WorkItem item;
  std::string lock_token;
  int64_t attempt_count = 0;
};

// The fetch a dispatcher will make next, handed to an *AndFetch acknowledgement so that the
// provider can run it in the acknowledgement's transaction.
struct NextOrchestrationFetch {
  int64_t lock_timeout_ms = 0;
  const FetchHint* hint = nullptr;
  size_t max_items = 1;
  // Filled by the provider: what FetchOrchestrationItems would have returned.
  std::optional<Result<std::vector<OrchestrationItem>>> result;
};

// One turn to acknowledge in a batch.
struct TurnAck {
  std::string lock_token;
  const TurnCommit* commit = nullptr;
  // Where the provider reports the worker items it inserted leased (TurnCommit::
  // worker_lease_until_ms): one WorkItemLease (item, lock token, attempt_count 1) per leased
  // row, in worker_items order, filled only when this ack succeeded (cleared otherwise). Null:
  // the provider MUST insert every row of this commit unleased.
  std::vector<WorkItemLease>* leases = nullptr;
};

struct NextWorkFetch {
  int64_t lock_timeout_ms = 0;
  WorkerFetchOptions options;
  size_t max_items = 1;
  // Filled by the provider: what FetchWorkItems would have returned.
  std::optional<Result<std::vector<WorkItemLease>>> result;
};

// One activity to acknowledge in a batch.
struct WorkAck {
  std::string lock_token;
  std::optional<history::WorkItem> completion;
};

// A capability requirement as stored once per distinct schema (the schemas table).
struct CapabilitySchema {
  std::string hash;
  std::string schema;  // canonical JSON Schema text
};

// An unclaimed worker-queue row with a capability requirement (work waiting for a capable
// worker), for the management API.
struct WaitingActivity {
  std::string instance;
  int64_t execution_id = 0;
  int64_t activity_id = 0;
  std::string name;
  std::string schema_hash;
  std::string schema;
  int64_t waiting_since_ms = 0;  // when it became visible
  int64_t deadline_ms = 0;       // requires_timeout deadline (0 = none)
};

// For provider implementations: the avoid column of a worker-queue row ("|a|b|"; "" when the
// list is empty), matched with a substring test on "|<runtime id>|".
std::string AvoidColumn(const std::vector<std::string>& runtimes);
std::string AvoidNeedle(const std::string& runtime_id);

// For provider implementations: decodes the raw rows of a fetched batch into `item` (messages
// in id order, attempt_count = the maximum, the history). Undecodable rows are reported through
// item->history_error with the batch still returned, never as a failed fetch, so the runtime
// can fail the instance and acknowledge (delete) the bad rows.
void DecodeFetchedBatch(const char* op,
                        std::vector<std::tuple<int64_t, std::string, int64_t>> rows,
                        const std::vector<std::string>& events, OrchestrationItem* item);

class ScheduleStore;
class LimitStore;

class Provider {
 public:
  virtual ~Provider() = default;

  virtual std::string name() const = 0;

  // ---- orchestrator queue -------------------------------------------------------------------
  // Picks one instance that has a visible message and no live instance lock, locks it for
  // lock_timeout_ms, increments attempt_count of every visible message of the instance and
  // returns them with the current execution's history. Returns nullopt when no work is visible.
  // A history that cannot be decoded MUST still return the item (lock held) with history_error.
  // With a `hint` naming this instance (same created_at), its current execution and last event
  // id, the history is not read (history_loaded = false) if storage still ends at that event.
  virtual Result<std::optional<OrchestrationItem>> FetchOrchestrationItem(
      int64_t lock_timeout_ms, const FetchHint* hint) = 0;
  Result<std::optional<OrchestrationItem>> FetchOrchestrationItem(int64_t lock_timeout_ms) {
    return FetchOrchestrationItem(lock_timeout_ms, nullptr);
  }
  // The one atomic boundary of a turn: deletes the batch's messages, applies `commit` and
  // releases the instance lock. MUST fail with kFailedPrecondition (and change nothing) if the
  // lock token is unknown or expired.
  virtual Status AckOrchestrationItem(const std::string& lock_token, const TurnCommit& commit) = 0;
  // Up to max_items distinct instances, each fetched and locked as by FetchOrchestrationItem;
  // empty when no work is visible. Default: repeated FetchOrchestrationItem (an error after
  // the first item ends the batch early instead of failing it).
  virtual Result<std::vector<OrchestrationItem>> FetchOrchestrationItems(size_t max_items,
                                                                         int64_t lock_timeout_ms,
                                                                         const FetchHint* hint);
  // Acknowledges every turn of `acks` as AckOrchestrationItem does, each on its own (one
  // Status per ack, in order: a failed ack changes nothing and does not affect the others),
  // then, when `next` is not null, fetches as FetchOrchestrationItems(next->max_items, ...)
  // into next->result whatever the acks returned. A provider that can commits all of it in one
  // transaction, so a busy dispatcher pays one commit per batch of turns; the fetch sees the
  // acks' writes. Default: the calls in sequence.
  virtual std::vector<Status> AckOrchestrationItemsAndFetch(const std::vector<TurnAck>& acks,
                                                            NextOrchestrationFetch* next);
  // Releases the instance lock; the batch becomes visible again after delay_ms. With
  // ignore_attempt the attempt counts are decremented again (never below 0).
  virtual Status AbandonOrchestrationItem(const std::string& lock_token, int64_t delay_ms,
                                          bool ignore_attempt) = 0;
  virtual Status RenewOrchestrationItemLock(const std::string& lock_token, int64_t extend_ms) = 0;
  // Earliest visible_at of any orchestrator message not currently locked (for idle sleeping).
  virtual Result<std::optional<int64_t>> NextOrchestratorVisibleAt() = 0;

  // ---- worker queue -------------------------------------------------------------------------
  virtual Result<std::optional<WorkItemLease>> FetchWorkItem(
      int64_t lock_timeout_ms, const WorkerFetchOptions& options) = 0;
  // Deletes the row if the lock is still held and enqueues `completion` (if any) to the
  // orchestrator queue, atomically. MUST fail with kFailedPrecondition if the row is gone or
  // the lock expired (the activity was cancelled or redelivered).
  virtual Status AckWorkItem(const std::string& lock_token,
                             const std::optional<history::WorkItem>& completion) = 0;
  // Up to max_items leases, each fetched as by FetchWorkItem. An undecodable row among
  // others stays locked and is left out (it comes first, and is reported, once its lock
  // expires); an error with no lease taken fails the call. Default: repeated FetchWorkItem.
  virtual Result<std::vector<WorkItemLease>> FetchWorkItems(size_t max_items,
                                                            int64_t lock_timeout_ms,
                                                            const WorkerFetchOptions& options);
  // Acknowledges each of `acks` as AckWorkItem does (one Status each, independent), then,
  // when `next` is not null, fetches as FetchWorkItems(next->max_items, ...) into
  // next->result whatever the acks returned. One transaction where the provider can.
  // Default: the calls in sequence.
  virtual std::vector<Status> AckWorkItemsAndFetch(const std::vector<WorkAck>& acks,
                                                   NextWorkFetch* next);
  // Completion relay (runtime/completion_relay.h): acknowledges each of `work` as
  // AckWorkItemsAndFetch(work, nullptr) does (one Status each into *work_acked, independent of
  // each other and of the turns), then `acks` and `next` exactly as
  // AckOrchestrationItemsAndFetch does, whose Statuses it returns. A provider that can runs all
  // of it in one transaction, so the fetch sees the completions just queued and the work acks
  // add no commit of their own. Default: the two calls in sequence.
  virtual std::vector<Status> AckWorkTurnsAndFetch(const std::vector<WorkAck>& work,
                                                   std::vector<Status>* work_acked,
                                                   const std::vector<TurnAck>& acks,
                                                   NextOrchestrationFetch* next);
  // True when AckWorkTurnsAndFetch saves the work acks' own commit (one transaction, no WAL
  // flush waited for on their account): the runtime relays activity completions to its
  // orchestration dispatchers only then.
  virtual bool RelaysWorkAcks() const { return false; }
  virtual Status RenewWorkItemLock(const std::string& lock_token, int64_t extend_ms) = 0;
  virtual Status AbandonWorkItem(const std::string& lock_token, int64_t delay_ms,
                                 bool ignore_attempt) = 0;
  virtual Result<std::optional<int64_t>> NextWorkerVisibleAt() = 0;
  // Extends the session locks of `owner_ids` that were active within idle_timeout_ms.
  virtual Result<int64_t> RenewSessionLocks(const std::vector<std::string>& owner_ids,
                                            int64_t extend_ms, int64_t idle_timeout_ms) = 0;
  virtual Result<int64_t> CleanupOrphanedSessions(int64_t idle_timeout_ms) = 0;

  // ---- capability routing and the task cache (docs/task-graphs.md) ---------------------------
  // Every distinct schema of every ActivityExecute ever enqueued with routing (inserted in the
  // enqueuing transaction, kept after its rows are gone). MUST include a schema as soon as a
  // row referring to it is visible to FetchWorkItem. Default: kFailedPrecondition.
  virtual Result<std::vector<CapabilitySchema>> ReadCapabilitySchemas();
  // Unlocked, visible worker-queue rows with a schema_hash visible for at least min_wait_ms,
  // oldest first (at most `limit`). MUST NOT lock or change anything.
  virtual Result<std::vector<WaitingActivity>> ListWaitingActivities(int64_t min_wait_ms,
                                                                     int64_t limit);
  // Task result cache: `key` identifies (task, version, canonical input); values are opaque
  // JSON text. Get MUST NOT return an entry whose expires_at_ms (0 = never) has passed. Put
  // replaces an existing entry. Clear removes every entry of `task` (nullopt: all) and
  // returns how many it removed.
  virtual Result<std::optional<std::string>> GetTaskCache(const std::string& key);
  virtual Status PutTaskCache(const std::string& key, const std::string& task,
                              const std::string& result, int64_t expires_at_ms);
  virtual Result<int64_t> ClearTaskCache(const std::optional<std::string>& task);

  // ---- client -------------------------------------------------------------------------------
  // Enqueues a StartOrchestration. kAlreadyExists if the instance exists or a start for it is
  // already queued; nothing is written in that case.
  virtual Status StartOrchestration(const history::WorkItem& start) = 0;
  virtual Status EnqueueOrchestratorMessage(const history::WorkItem& item, int64_t delay_ms) = 0;
  // nullopt when the instance has never completed a turn.
  virtual Result<std::optional<InstanceRecord>> GetInstance(const std::string& instance) = 0;
  // True when a StartOrchestration for `instance` is queued (the instance is about to exist).
  virtual Result<bool> HasPendingStart(const std::string& instance) = 0;
  // History of one execution (execution_id 0 = the current one), ordered by event_id.
  virtual Result<std::vector<history::Event>> ReadHistory(const std::string& instance,
                                                          int64_t execution_id) = 0;
  // Live KV view (baseline merged with the current execution's delta).
  virtual Result<std::optional<std::string>> GetKvValue(const std::string& instance,
                                                        const std::string& key) = 0;
  virtual Result<KvMap> GetKvAll(const std::string& instance) = 0;

  // ---- operations (provider_ops.h, ops_common.h) -----------------------------------------
  // Runs `body` in one transaction of this store (a write transaction when `write`): commits
  // when it returns OK, rolls back otherwise; after a commit wakes what the body put in its
  // OpsWake. Default: kFailedPrecondition (a provider without the operations capability).
  using OpsBody = std::function<Status(OpsTx&, OpsWake*)>;
  virtual Status RunOps(const char* op, bool write, const OpsBody& body);

  // The management capability, or nullptr if the provider has none.
  virtual ProviderAdmin* admin() { return nullptr; }
  // The messaging capability (messaging_store.h), or nullptr if the provider has none.
  virtual MessagingStore* messaging() { return nullptr; }
  // The worker registry (provider_fleet.h), or nullptr if the provider has none; a runtime on
  // such a provider runs without registration, heartbeats or placement.
  virtual WorkerRegistryStore* workers() { return nullptr; }
  // Durable schedules (schedule_store.h), or nullptr if the provider has none.
  virtual ScheduleStore* schedules() { return nullptr; }
  // Named limits (limit_store.h); nullptr if the provider has none.
  virtual LimitStore* limits() { return nullptr; }

  // In-process change signals. Implementations MUST Notify() the matching signal after every
  // commit that made work visible (orchestrator/worker) or changed instance state (status).
  ChangeSignal& orchestrator_signal() { return orchestrator_signal_; }
  ChangeSignal& worker_signal() { return worker_signal_; }
  // Instance state changes; notify with the instance id where it is known.
  InstanceSignal& status_signal() { return status_signal_; }
  // Topic publishes (messaging_store.h): wakes the runtime's topic delivery step. A separate
  // signal, so that delivery never takes a wake-up meant for an orchestration dispatcher.
  ChangeSignal& topic_signal() { return topic_signal_; }
  // True if the commits of other processes on this store also reach this object's signals
  // (PostgreSQL with its LISTEN thread). A loop that polls only to see other processes' work
  // may then sleep on its signal with a long fallback instead of polling.
  virtual bool HearsOtherProcesses() const { return false; }

 private:
  ChangeSignal topic_signal_;
  ChangeSignal orchestrator_signal_;
  ChangeSignal worker_signal_;
  InstanceSignal status_signal_;
};

}  // namespace duroxide::providers

#endif  // DUROXIDE_PROVIDERS_PROVIDER_H_
