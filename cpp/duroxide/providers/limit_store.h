// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Named limits (docs/flow-control.md, "Named limits"): a `limits` table of settings and a
// `limit_buckets` table of token buckets, one per (limit, key), in each store. Activities name
// a limit (and a key) in their work item; the stores copy both into worker_queue columns
// (limit_name, limit_key) and the claim honours them in its own transaction:
//
//   concurrency  the leased rows of the limit (of the key, when per_key) are counted:
//                `locked_until > now`. Nothing is incremented or decremented, so an ack frees
//                the slot by deleting the row and a dead holder frees it when its lock expires.
//   rate         a token bucket per (limit, key): tokens refill at rate_per_s up to burst and
//                each claim takes one, in the claim's transaction.
//
// A row naming a limit that has no `limits` row is never claimed (it waits, and is reported).
//
// SQLite claims under its single writer lock, so its claim predicate is exact on its own.
// PostgreSQL claims concurrently: its candidate query uses the same predicate as a filter
// (its snapshot may be stale), then LimitAdmits() takes a transaction-scoped advisory lock on
// the (limit, key) and re-checks in a fresh statement before the row is leased.
//
// Everything here is written once over the schedule backend's SQL runner (schedule_store.h):
// the SQL is valid in both dialects ($N placeholders).
#ifndef DUROXIDE_PROVIDERS_LIMIT_STORE_H_
#define DUROXIDE_PROVIDERS_LIMIT_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "duroxide/common/status.h"
#include "duroxide/providers/schedule_store.h"

namespace duroxide::providers {

// The settings of a limit. At least one of concurrency and rate_per_s; every value > 0.
// burst (tokens) defaults to one second of rate, at least 1 (EffectiveBurst).
struct LimitSpec {
  std::string name;
  std::optional<int64_t> concurrency;
  std::optional<double> rate_per_s;
  std::optional<double> burst;
  bool per_key = false;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct LimitKeyLoad {
  std::string key;
  int64_t in_flight = 0;
  int64_t waiting = 0;
};

// A limit with its load: rows of the limit now leased (in_flight) and not leased (waiting),
// and the busiest keys (most in flight, then most waiting) when per_key.
struct LimitInfo {
  LimitSpec spec;
  int64_t in_flight = 0;
  int64_t waiting = 0;
  std::vector<LimitKeyLoad> top_keys;
};

// An activity row that waits for its limit (claimable otherwise by visibility), with why.
struct LimitWait {
  std::string instance;
  int64_t execution_id = 0;
  int64_t activity_id = 0;
  std::string name;  // the activity
  std::string limit;
  std::string limit_key;
  bool defined = true;  // false: no limit of that name exists
  int64_t waiting_since_ms = 0;
};

constexpr size_t kLimitTopKeys = 10;

// kInvalidArgument naming the field for a spec that is not a limit.
Status ValidateLimit(const LimitSpec& spec);
// burst, or one second of rate (at least one token).
double EffectiveBurst(const LimitSpec& spec);

// The DDL of `limits` and `limit_buckets`, and the worker_queue columns and index, valid in
// both dialects (each provider's migration runs it).
const char* LimitsTableSql();

// The claim predicate for the worker row aliased by `col` ("q." or "+q."; "+" keeps SQLite
// on the rank index): true when the row names no limit, or its limit exists and has a free
// slot and a token at `now`. `least` is the two-argument minimum of the dialect.
std::string LimitClaimPredicate(const std::string& col, const std::string& now,
                                const std::string& least);

// ---- orchestration limits (docs/flow-control.md, "Orchestration limits") -------------------
//
// A start (StartOrchestration, or a restart's ContinueAsNew) may name a limit and a key; the
// stores copy both into orchestrator_queue columns, as for worker rows. An instance holds a
// *slot* from the fetch that admits its limited start until it ends: a row of
// `instance_limits` (instance_id PK, limit_name, limit_key), inserted by the admitting fetch
// in its own transaction and deleted by a trigger when the instance's execution becomes
// Completed or Failed (Terminated and Canceled are Failed) or its instance row is deleted.
// ContinuedAsNew keeps the slot. Orchestrations hold no lock while they wait, so the count is
// of slots, not of leases: exact, with no expiry. A limit's rate does not apply to starts.
//
// Orchestrations and activities naming one limit are counted separately: an instance holding
// a slot while its own activities wait for the same limit would otherwise deadlock.

// The DDL (both dialects): the orchestrator_queue columns and index, and instance_limits.
const char* OrchestrationLimitsTableSql();

// The fetch predicate for the orchestrator row aliased `alias`: false when its instance has a
// visible limited start that holds no slot, whose limit has no free slot now (or is not
// defined), and no CancelInstance is queued for it (a cancel or terminate of a waiting
// instance goes through: its turn ends the instance, without a slot when there is no room).
std::string OrchestrationLimitPredicate(const std::string& alias, const std::string& now);

// Takes the slot of `instance` in a fetch transaction that locked it ($1 instance, $2 now):
// inserts its instance_limits row if it has a visible limited start, holds no slot, and its
// limit has room. Both dialects; PostgreSQL runs it under the limit's advisory lock.
const char* OrchestrationSlotInsertSql();

// True when `instance` has a queued limited start that holds no slot yet: get_status reports
// it "Pending" (docs/flow-control.md).

// ---- inside a claim transaction ---------------------------------------------------------------

// PostgreSQL's exact re-check of a candidate of limit `name`/`key`: takes the advisory lock
// of the (limit, key) (false if another claim holds it now) and checks, in a statement that
// sees every committed claim, that a slot and a token are free.
bool LimitAdmits(ScheduleTx& tx, const std::string& name, const std::string& key, int64_t now);
// Takes one token of the limit's bucket after a claim (no-op without a rate).
void ConsumeLimitToken(ScheduleTx& tx, const std::string& name, const std::string& key,
                       int64_t now);

// ---- management -------------------------------------------------------------------------------

class LimitStore {
 public:
  explicit LimitStore(ScheduleBackend* backend) : backend_(backend) {}
  // Creates or replaces a limit (its buckets restart full). kInvalidArgument: nothing written.
  Status Set(const LimitSpec& spec);
  Result<std::optional<LimitInfo>> Get(const std::string& name);
  Result<std::vector<LimitInfo>> List();
  // kNotFound for an unknown name. Rows naming it then wait until it is defined again.
  Status Delete(const std::string& name);
  // Activity rows visible for at least min_wait_ms, not leased, that their limit holds back
  // now (full, out of tokens, or not defined), oldest first; at most `max_rows` are looked at.
  Result<std::vector<LimitWait>> Waiting(int64_t min_wait_ms, int64_t max_rows);

 private:
  ScheduleBackend* backend_;
};

}  // namespace duroxide::providers

#endif  // DUROXIDE_PROVIDERS_LIMIT_STORE_H_
