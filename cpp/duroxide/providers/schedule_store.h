// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Durable schedules (docs/schedules.md): one `schedules` table per store and one firing
// transaction per occurrence. The store holds what the Python side computed (next fire times
// from cron/interval, jitter, catch-up); it interprets no cron text. What it decides is what
// must be decided under the row's lock: whether the previous run is still running, the overlap
// policy's outcome, the idempotent start (instance id "<schedule_id>@<fire_ms>") and the
// advance of next_fire_ms, all committed together.
//
// The algorithm is written once (ScheduleStore over a ScheduleBackend); SQLite and PostgreSQL
// supply only a transaction runner and their idempotent start (sqlite_schedules.cc,
// postgres_schedules.cc). The SQL below is valid in both dialects ($N placeholders; SQLite
// receives them as ?N). PostgreSQL claims the row with FOR UPDATE SKIP LOCKED, so a runtime
// never waits behind another one firing the same schedule; SQLite's write lock serialises.
// Every timestamp is epoch milliseconds on the provider's (virtual) clock.
// Thread-safety: ScheduleStore is as thread-safe as its backend (both providers' are).
#ifndef DUROXIDE_PROVIDERS_SCHEDULE_STORE_H_
#define DUROXIDE_PROVIDERS_SCHEDULE_STORE_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "duroxide/common/status.h"
#include "duroxide/providers/change_signal.h"
#include "duroxide/history/work_item.h"

namespace duroxide::providers {

// A stored schedule. Definition fields are written by Create/Update; the firing fields
// (last_*, buffered, recent, counters) only by Fire.
struct ScheduleRecord {
  std::string schedule_id;
  std::string orchestration;
  std::optional<std::string> version;
  std::optional<std::string> input;  // JSON text, passed to each run as is
  std::optional<std::string> cron;
  std::optional<int64_t> every_ms;
  std::string timezone = "UTC";
  std::string overlap = "skip";  // skip | buffer_one | allow_all | cancel_other
  int64_t catchup_window_ms = 60000;
  int64_t jitter_ms = 0;
  std::optional<int64_t> start_at_ms;
  std::optional<int64_t> end_at_ms;
  bool paused = false;
  std::optional<std::string> note;
  // Nominal time of the next occurrence (its instance id) and when to fire it (+ jitter);
  // both NULL when paused or finished (past end_at).
  std::optional<int64_t> next_fire_ms;
  std::optional<int64_t> next_due_ms;
  std::optional<int64_t> last_fire_ms;
  std::optional<std::string> last_instance_id;
  std::optional<int64_t> buffered_fire_ms;  // buffer_one: the waiting occurrence
  std::string recent_instances_json = "[]";  // newest first, at most kRecentInstances
  int64_t fired_count = 0;
  int64_t missed_count = 0;
  int64_t skipped_count = 0;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

constexpr size_t kRecentInstances = 10;

// One firing of a schedule: the occurrences to consider, oldest first, and how to move on.
struct FireRequest {
  std::string schedule_id;
  // true: a scheduled occurrence. The row is fired only if it is not paused and its
  // next_fire_ms still equals expected_next_fire_ms (compare-and-set: of several runtimes that
  // computed the same firing, exactly one applies it); next_fire_ms/next_due_ms become the
  // new_* values. false: a manual start (trigger, backfill) leaving the times as they are.
  bool advance = true;
  std::optional<int64_t> expected_next_fire_ms;
  std::optional<int64_t> new_next_fire_ms;
  std::optional<int64_t> new_next_due_ms;
  std::vector<int64_t> occurrences;  // nominal times; may be empty (only missed ones)
  int64_t missed = 0;                // occurrences counted missed by catch-up
  // The overlap policy to apply; empty: the schedule's own.
  std::string overlap;
};

struct FireOutcome {
  bool applied = false;               // false: the CAS failed or the row is gone/locked
  std::vector<std::string> started;   // instance ids started by this firing (deterministic)
  std::optional<std::string> buffered;  // instance id of the occurrence now waiting
  std::optional<std::string> cancelled;  // instance cancelled by cancel_other
  int64_t skipped = 0;                // overlap skips
  int64_t missed = 0;
};

// The overlap decision for `occurrences` (oldest first), a pure function (unit-tested without
// a store). previous_running: the schedule's last run has not finished; has_buffered: an
// occurrence already waits (buffer_one keeps at most one).
//   allow_all     start every occurrence;
//   skip          start the first if nothing runs, skip the others;
//   buffer_one    start the first if nothing runs, keep the next one waiting, skip the rest;
//   cancel_other  cancel the running one (if any) and start the newest; older ones skipped.
struct FirePlan {
  std::vector<int64_t> start;
  std::optional<int64_t> buffer;
  bool cancel_previous = false;
  int64_t skipped = 0;
};
FirePlan DecideFiring(const std::string& overlap, bool previous_running, bool has_buffered,
                      const std::vector<int64_t>& occurrences);

// True for the four overlap policy names.
bool IsOverlapPolicy(const std::string& overlap);

// The deterministic instance id of an occurrence.
std::string OccurrenceInstanceId(const std::string& schedule_id, int64_t fire_ms);

// `recent` (a JSON array of ids, newest first) with `ids` (oldest first) put in front, cut to
// kRecentInstances.
std::string PrependRecent(const std::string& recent_json, const std::vector<std::string>& ids);

// The DDL of the `schedules` table and its indexes, valid in both dialects (each provider's
// migration runs it; booleans are stored as 0/1).
const char* SchedulesTableSql();

// ---- the backend each provider supplies -----------------------------------------------------

using SqlParam = std::variant<std::monostate, int64_t, std::string>;
using SqlRow = std::vector<std::optional<std::string>>;  // column texts, nullopt = NULL

// One open transaction of a backend.
class ScheduleTx {
 public:
  virtual ~ScheduleTx() = default;
  // Runs `sql` ($N placeholders) and returns its rows as text.
  virtual std::vector<SqlRow> Query(const std::string& sql, const std::vector<SqlParam>& params) = 0;
  // Runs a statement; returns the rows it changed.
  virtual int64_t Exec(const std::string& sql, const std::vector<SqlParam>& params) = 0;
  // The provider's idempotent start (the same path as Provider::StartOrchestration, inside this
  // transaction): false if the instance exists or its start is already queued.
  virtual bool InsertStart(const history::WorkItem& start) = 0;
  // Enqueues an orchestrator message visible now (cancel_other's CancelInstance).
  virtual void InsertOrchestratorMessage(const history::WorkItem& item) = 0;
  // Appended to the claim of a row to fire: on PostgreSQL " FOR UPDATE SKIP LOCKED" for a
  // scheduled firing (a row another runtime is firing is not ours) or " FOR UPDATE" for a
  // manual one (it waits); "" on SQLite, whose write lock already serialises.
  virtual const char* ClaimSuffix(bool skip_locked) const = 0;
  // Takes a lock on `key` held until the transaction ends, without waiting: false if another
  // transaction holds it (PostgreSQL: a transaction advisory lock). SQLite's write lock
  // already serialises every transaction, so there it always succeeds.
  virtual bool TryLock(const std::string& /*key*/) { return true; }
  // Tells the schedule loops of other processes, at commit, that the definitions changed
  // (PostgreSQL: a NOTIFY on the schema's channel, delivered only if the transaction commits).
  // SQLite has no cross-process notification: its loops fall back to polling.
  virtual void AnnounceChange() {}
};

class ScheduleBackend {
 public:
  virtual ~ScheduleBackend() = default;
  // Runs `body` in one transaction, committed iff it returns Ok (then, if it enqueued work,
  // the orchestrator signal is notified). Database errors become a Status naming `op`.
  virtual Status RunScheduleTx(const char* op, const std::function<Status(ScheduleTx&)>& body) = 0;
};

// Runs `body(tx, &out)` in one transaction of `backend` and returns `out`, or the failure.
// `out` starts value-initialised on every run of the body (a backend may run it again).
template <typename T, typename F>
Result<T> ReadTx(ScheduleBackend& backend, const char* op, F&& body) {
  T out;
  Status st = backend.RunScheduleTx(op, [&](ScheduleTx& tx) -> Status {
    out = T();
    return body(tx, &out);
  });
  if (!st.ok()) return st;
  return out;
}

// What a schedule loop needs to know to sleep (ScheduleStore::NextWake).
struct ScheduleWake {
  // When the next row becomes due: min(next_due_ms), or now if a buffered occurrence is ready;
  // nullopt if nothing is scheduled.
  std::optional<int64_t> next_due_ms;
  // A buffered occurrence waits for its previous run to finish. Nothing announces that finish
  // to the loop, so while this is true the loop keeps polling at its short interval.
  bool buffered_waiting = false;
};

// The schedule operations, written once over a backend.
class ScheduleStore {
 public:
  explicit ScheduleStore(ScheduleBackend* backend) : backend_(backend) {}

  // Inserts a new row (created_at = updated_at = now). kAlreadyExists if the id exists;
  // kInvalidArgument for an unknown overlap or an empty id. Nothing written when refused.
  Status Create(const ScheduleRecord& record);
  // Replaces the definition fields, paused and the next times of an existing row
  // (updated_at = now), keeping its firing fields. kNotFound for an unknown id.
  Status Update(const ScheduleRecord& record);
  Result<std::optional<ScheduleRecord>> Get(const std::string& schedule_id);
  // Every row, ordered by schedule_id.
  Result<std::vector<ScheduleRecord>> List();
  // Deletes the row (runs already started are not touched). kNotFound for an unknown id.
  Status Delete(const std::string& schedule_id);
  // Rows to fire at `now_ms`: next_due_ms <= now (oldest first), then rows with a buffered
  // occurrence whose previous run has finished; at most `limit` of each.
  Result<std::vector<ScheduleRecord>> Due(int64_t now_ms, int64_t limit);
  // When the next row becomes due: min(next_due_ms), or now_ms if a buffered occurrence is
  // ready; nullopt if nothing is scheduled.
  Result<std::optional<int64_t>> NextDueAt(int64_t now_ms);
  // NextDueAt and whether a buffered occurrence waits, in one read.
  Result<ScheduleWake> NextWake(int64_t now_ms);
  // One firing transaction (see FireRequest). kNotFound for an unknown id on a manual fire.
  Result<FireOutcome> Fire(const FireRequest& request);

  // Moves after every committed change of a definition (create, update, pause/resume, delete)
  // and manual firing (trigger, backfill) made through this store, and when a notification of
  // such a change by another process arrives (PostgreSQL). The firing loop sleeps on it
  // (python/duroxide/worker/schedules.py). Scheduled firings do not move it: the loop that
  // fired already knows the new next times, the others find out at their next due time.
  ChangeSignal& changes() { return changes_; }

 private:
  // Runs a changing `body` in one transaction that announces the change; notifies changes().
  Status Write(const char* op, const std::function<Status(ScheduleTx&)>& body);

  ScheduleBackend* backend_;
  ChangeSignal changes_;
};

}  // namespace duroxide::providers

#endif  // DUROXIDE_PROVIDERS_SCHEDULE_STORE_H_
