// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// PostgresProvider: the worker queue (ActivityExecute rows under per-row peek-locks) and
// session affinity. Same semantics as sqlite_worker_queue.cc.
//
// A fetch picks the oldest eligible row with FOR UPDATE SKIP LOCKED, so concurrent workers
// (threads or processes) each take a different row without waiting for one another. Fetches,
// acks, renewals and abandons are single statements (data-modifying CTEs). Fetches and acks
// run as tasks of the group commit (pg_group_commit.h): with the orchestration turns of the
// same moment, in one transaction; renewals and abandons run alone in autocommit mode.
#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <utility>

#include "duroxide/common/clock.h"
#include "duroxide/history/codec.h"
#include "duroxide/providers/limit_store.h"
#include "duroxide/providers/queue_order.h"
#include "duroxide/providers/postgres/pg_group_commit.h"
#include "duroxide/providers/postgres/postgres_internal.h"

namespace duroxide::providers::postgres {

using history::WorkItem;
using history::WorkItemKind;
using internal::NullableText;
using internal::PgTextArray;
using internal::StatementDef;

namespace {

constexpr int kWorkerFetchAttempts = 3;

// A PostgreSQL bigint[] literal of `ids`.
std::string PgBigintArray(const std::vector<int64_t>& ids) {
  std::string out = "{";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ",";
    out += std::to_string(ids[i]);
  }
  return out + "}";
}

const TagFilter::Mode kFetchModes[] = {TagFilter::Mode::kDefaultOnly, TagFilter::Mode::kTags,
                                       TagFilter::Mode::kDefaultAnd, TagFilter::Mode::kAny};

// Session shapes of the fetch: none (session rows skipped), open (any claimable session),
// restricted (placement: a session this owner does not hold only once visible since $7).
enum class SessionShape { kNone, kOpen, kRestricted };

SessionShape ShapeOf(const WorkerFetchOptions& options) {
  if (!options.session) return SessionShape::kNone;
  return options.session->new_session_min_wait_ms ? SessionShape::kRestricted
                                                  : SessionShape::kOpen;
}

std::string FetchStatementName(TagFilter::Mode mode, SessionShape session) {
  const char* suffix = session == SessionShape::kNone   ? "_n"
                       : session == SessionShape::kOpen ? "_s"
                                                        : "_r";
  return "dx_wfetch_" + std::to_string(static_cast<int>(mode)) + suffix;
}

// The fetch statement for one filter shape: picks the oldest eligible row (FOR UPDATE SKIP
// LOCKED), claims its session if it has one, and locks the row only if the claim succeeded,
// all in one statement. Parameters: $1 token, $2 locked_until, $3 now, $4 session owner
// (NULL without a session config), $5 tags (text[]), $6 session locked_until, $7 hashes,
// $8 needle, $9 ids to skip (bigint[]), $10 placement cutoff. Returns one row: the locked
// row's id, work_item, session_id, attempt_count (NULL when nothing was locked), the number
// of candidates (1 when a candidate lost its session claim race), and the candidate's id,
// limit_name and limit_key. A candidate with a limit is not locked here: the caller re-checks
// it under the limit's advisory lock (limit_store.h, PostgresProvider::ClaimLimitedTx).
// The tag and session predicates are part of the SQL text so that the planner sees each
// shape as it is. The claim walks idx_worker_free in rank order and stops at the first eligible
// row (queue_order.h, migration 10; FetchWorkTx makes that the plan).
std::string WorkerFetchSql(TagFilter::Mode mode, SessionShape shape) {
  const bool session = shape != SessionShape::kNone;
  std::string tag_pred;
  switch (mode) {
    case TagFilter::Mode::kDefaultOnly: tag_pred = "q.tag IS NULL"; break;
    case TagFilter::Mode::kTags: tag_pred = "q.tag = ANY(p.tags)"; break;
    case TagFilter::Mode::kDefaultAnd: tag_pred = "(q.tag IS NULL OR q.tag = ANY(p.tags))"; break;
    case TagFilter::Mode::kAny: tag_pred = "TRUE"; break;
    case TagFilter::Mode::kNone: tag_pred = "FALSE"; break;
  }
  // With a session config, a session-bound row is eligible unless another owner holds a live
  // session lock; without one, session-bound rows are skipped.
  std::string session_pred =
      session ? "(q.session_id IS NULL OR NOT EXISTS (SELECT 1 FROM sessions s "
                "WHERE s.session_id = q.session_id AND s.locked_until > p.now "
                "AND s.worker_id <> p.owner))"
              : "q.session_id IS NULL";
  if (shape == SessionShape::kRestricted) {
    session_pred = "(" + session_pred +
                   " AND (q.session_id IS NULL OR q.visible_at <= p.cutoff OR EXISTS (SELECT 1 "
                   "FROM sessions s WHERE s.session_id = q.session_id "
                   "AND s.locked_until > p.now AND s.worker_id = p.owner)))";
  }
  const std::string cutoff =
      shape == SessionShape::kRestricted ? ", $10::bigint AS cutoff" : "";
  // Capability routing (provider.h, WorkerFetchOptions): $7 matching hashes, $8 "|runtime|".
  const std::string routing_pred =
      "(q.schema_hash IS NULL OR q.schema_hash = ANY(p.hashes) OR q.requires_deadline <= p.now) "
      "AND (q.avoid_workers IS NULL OR q.avoid_until <= p.now "
      "OR strpos(q.avoid_workers, p.needle) = 0)";
  return "WITH p AS (SELECT $1::text AS token, $2::bigint AS until, $3::bigint AS now, "
         "  $4::text AS owner, $5::text[] AS tags, $6::bigint AS session_until, "
         "  $7::text[] AS hashes, $8::text AS needle, $9::bigint[] AS skip" + cutoff + "), "
         "cand AS (SELECT q.id, q.session_id, q.limit_name, q.limit_key FROM worker_queue q, p "
         "  WHERE q.visible_at <= p.now AND q.lock_token IS NULL "
         "  AND " + tag_pred + " AND " + session_pred + " AND " + routing_pred +
         "  AND q.id <> ALL(p.skip) AND " + LimitClaimPredicate("q.", "p.now", "LEAST") +
         "  ORDER BY " DUROXIDE_QUEUE_RANK_Q ", q.id LIMIT 1 FOR UPDATE OF q SKIP LOCKED), "
         // Claims only an unowned, expired or own session; no row means someone else has it.
         "claim AS (INSERT INTO sessions AS s (session_id, worker_id, locked_until, "
         "    last_activity_at) "
         "  SELECT cand.session_id, p.owner, p.session_until, p.now FROM cand, p "
         "  WHERE cand.session_id IS NOT NULL AND cand.limit_name IS NULL "
         "  ON CONFLICT (session_id) DO UPDATE SET worker_id = EXCLUDED.worker_id, "
         "    locked_until = EXCLUDED.locked_until, last_activity_at = EXCLUDED.last_activity_at "
         "  WHERE s.locked_until <= EXCLUDED.last_activity_at OR s.worker_id = EXCLUDED.worker_id "
         "  RETURNING 1), "
         "upd AS (UPDATE worker_queue w SET lock_token = p.token, locked_until = p.until, "
         "    attempt_count = w.attempt_count + 1 "
         "  FROM cand, p WHERE w.id = cand.id AND cand.limit_name IS NULL "
         "    AND (cand.session_id IS NULL OR EXISTS (SELECT 1 FROM claim)) "
         "  RETURNING w.id, w.work_item, w.session_id, w.attempt_count) "
         "SELECT upd.id, upd.work_item, upd.session_id, upd.attempt_count, "
         "  (SELECT COUNT(*) FROM cand), (SELECT id FROM cand), (SELECT limit_name FROM cand), "
         "  (SELECT limit_key FROM cand) FROM (SELECT 1) one LEFT JOIN upd ON TRUE";
}

}  // namespace

namespace internal {

std::vector<StatementDef> WorkerStatements() {
  std::vector<StatementDef> out;
  for (TagFilter::Mode mode : kFetchModes) {
    for (SessionShape session :
         {SessionShape::kNone, SessionShape::kOpen, SessionShape::kRestricted}) {
      out.push_back({FetchStatementName(mode, session), WorkerFetchSql(mode, session)});
    }
  }
  // $1 token, $2 now, $3 instance, $4 kind, $5 work item, $6 channel, $7 payload.
  out.push_back(
      {"dx_worker_ack_completion",
       "WITH d AS (DELETE FROM worker_queue WHERE lock_token = $1 AND locked_until > $2 "
       "    RETURNING session_id), "
       "  ins AS (INSERT INTO orchestrator_queue(instance_id, kind, work_item, visible_at, "
       "    attempt_count, created_at) SELECT $3, $4, $5, $2, 0, $2 FROM d), "
       "  t AS (UPDATE sessions SET last_activity_at = $2 WHERE locked_until > $2 "
       "    AND session_id IN (SELECT session_id FROM d WHERE session_id IS NOT NULL)) "
       "SELECT pg_notify($6, $7) FROM d"});
  out.push_back(
      {"dx_worker_ack",
       "WITH d AS (DELETE FROM worker_queue WHERE lock_token = $1 AND locked_until > $2 "
       "    RETURNING session_id), "
       "  t AS (UPDATE sessions SET last_activity_at = $2 WHERE locked_until > $2 "
       "    AND session_id IN (SELECT session_id FROM d WHERE session_id IS NOT NULL)) "
       "SELECT 1 FROM d"});
  out.push_back(
      {"dx_worker_renew",
       "WITH r AS (UPDATE worker_queue SET locked_until = $2 "
       "    WHERE lock_token = $1 AND locked_until > $3 RETURNING session_id), "
       "  t AS (UPDATE sessions SET last_activity_at = $3 WHERE locked_until > $3 "
       "    AND session_id IN (SELECT session_id FROM r WHERE session_id IS NOT NULL)) "
       "SELECT 1 FROM r"});
  out.push_back(
      {"dx_worker_abandon",
       "WITH u AS (UPDATE worker_queue SET lock_token = NULL, locked_until = NULL, "
       // A row parked by a suspension (ops_common.h) stays parked: only the shift is kept.
       "    visible_at = $2 + CASE WHEN visible_at >= 4503599627370496 "
       "      THEN 4503599627370496 ELSE 0 END, attempt_count = CASE WHEN $3::boolean "
       "      THEN GREATEST(attempt_count - 1, 0) ELSE attempt_count END "
       "    WHERE lock_token = $1 RETURNING 1) "
       "SELECT pg_notify($4, $5) FROM (SELECT 1 FROM u LIMIT 1) x"});
  out.push_back(
      {"dx_next_worker_visible",
       "SELECT MIN(visible_at) FROM worker_queue WHERE lock_token IS NULL OR locked_until <= $1"});
  out.push_back(
      {"dx_renew_sessions",
       "UPDATE sessions SET locked_until = $2 WHERE worker_id = ANY($1::text[]) "
       "  AND locked_until > $3 AND last_activity_at > $4"});
  out.push_back(
      {"dx_cleanup_sessions",
       "DELETE FROM sessions WHERE locked_until <= $1 AND last_activity_at <= $2 "
       "  AND NOT EXISTS (SELECT 1 FROM worker_queue w WHERE w.session_id = sessions.session_id)"});
  return out;
}

}  // namespace internal

// A worker row as fetched inside the transaction; decoded after the commit.
struct internal::RawWorkLease {
  int64_t row_id = 0;
  std::string text;
  std::string lock_token;
  int64_t attempt_count = 0;
};

Status PostgresProvider::FetchWorkTx(pqxx::transaction_base& tx, size_t max_items,
                                     int64_t lock_timeout_ms, const WorkerFetchOptions& options,
                                     std::vector<internal::RawWorkLease>* out) {
  out->clear();  // the task may run twice (group commit)
  if (options.tag_filter.mode == TagFilter::Mode::kNone) return Status::Ok();  // orchestrator-only
  const SessionShape shape = ShapeOf(options);
  const std::string statement = FetchStatementName(options.tag_filter.mode, shape);
  const std::string tags = PgTextArray(options.tag_filter.tags);
  const std::string hashes = PgTextArray(options.schema_hashes);
  const std::string needle = AvoidNeedle(options.runtime_id);
  const std::optional<std::string> owner =
      options.session ? std::optional<std::string>(options.session->owner_id) : std::nullopt;
  const int64_t session_lock_ms = options.session ? options.session->lock_timeout_ms : 0;
  // The claims see only unleased rows: the expired leases are released first. A queue table's
  // statistics lag its backlog (autovacuum analyzes it about once a minute at best), and
  // planned on statistics of a nearly empty queue a claim collected every free row and sorted
  // it (2-9 ms per claim with a thousand rows queued, where the ordered walk of
  // idx_worker_free stops at the first eligible row; likewise the sweep scanned the table
  // instead of probing idx_worker_leased). So sequential and bitmap scans and sorts are off for
  // this task's statements only, set back before the next task of the group commit runs; one
  // round trip carries the settings and the sweep.
  // The sweep leaves rows another transaction has locked to it (SKIP LOCKED: it never waits).
  tx.exec("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; "
          "SET LOCAL enable_sort = off; "
          "UPDATE worker_queue " DUROXIDE_WORKER_SWEEP_SET "WHERE id IN (SELECT id "
          "FROM worker_queue WHERE " DUROXIDE_WORKER_EXPIRED + std::to_string(NowMs()) +
          " FOR UPDATE SKIP LOCKED)");
  // One statement per row (each picks the oldest eligible row with SKIP LOCKED), all in the
  // caller's transaction: rows this transaction locked are skipped by the next pick.
  // Limited candidates this transaction holds (FOR UPDATE) but could not lease: skipped by
  // the next picks, since SKIP LOCKED does not skip the transaction's own locks.
  std::vector<int64_t> skip;
  const auto claim = [&] {
  for (size_t k = 0; k < std::max<size_t>(max_items, 1); ++k) {
    bool got = false;
    for (int attempt = 0; attempt < kWorkerFetchAttempts && !got; ++attempt) {
      const int64_t now = NowMs();
      internal::RawWorkLease lease;
      lease.lock_token = NewToken("w-");
      const std::string skipped = PgBigintArray(skip);
      pqxx::result r =
          shape == SessionShape::kRestricted
              ? tx.exec_prepared(statement, lease.lock_token, now + lock_timeout_ms, now,
                                 NullableText(owner), tags, now + session_lock_ms, hashes, needle,
                                 skipped, now - *options.session->new_session_min_wait_ms)
              : tx.exec_prepared(statement, lease.lock_token, now + lock_timeout_ms, now,
                                 NullableText(owner), tags, now + session_lock_ms, hashes, needle,
                                 skipped);
      if (!r.empty() && r[0][0].is_null() && !r[0][6].is_null()) {
        // A candidate with a limit: leased only if the exact re-check admits it.
        lease.row_id = r[0][5].as<int64_t>();
        if (ClaimLimitedTx(tx, lease.row_id, r[0][6].as<std::string>(),
                           r[0][7].as<std::string>(), lease.lock_token, now + lock_timeout_ms,
                           now, &lease.text, &lease.attempt_count)) {
          out->push_back(std::move(lease));
          got = true;
        } else {
          skip.push_back(lease.row_id);
        }
        continue;
      }
      if (r.empty() || r[0][0].is_null()) {
        // A candidate whose session another worker claimed concurrently: look again.
        if (!r.empty() && r[0][4].as<int64_t>() > 0) continue;
        return;  // nothing (more) to fetch
      }
      lease.row_id = r[0][0].as<int64_t>();
      lease.text = r[0][1].as<std::string>();
      lease.attempt_count = r[0][3].as<int64_t>();
      out->push_back(std::move(lease));
      got = true;
    }
    if (!got) break;
  }
  };
  claim();
  tx.exec("SET LOCAL enable_seqscan = on; SET LOCAL enable_bitmapscan = on; "
          "SET LOCAL enable_sort = on");
  return Status::Ok();
}

namespace {

// Decodes fetched rows after the commit. An undecodable row stays locked (it is redelivered
// after its lock expires, so it does not block the rows behind it) and is left out; alone, it
// fails the fetch with kDataLoss.
Result<std::vector<WorkItemLease>> DecodeLeases(const char* op,
                                                std::vector<internal::RawWorkLease>* raw) {
  std::vector<WorkItemLease> out;
  Status first_error;
  for (internal::RawWorkLease& r : *raw) {
    Result<WorkItem> decoded = history::DecodeWorkItem(r.text);
    if (!decoded.ok()) {
      if (first_error.ok()) {
        first_error = Status::DataLoss(op, "worker queue row " + std::to_string(r.row_id) + ": " +
                                               decoded.status().message());
      }
      continue;
    }
    out.push_back(WorkItemLease{std::move(decoded).value(), std::move(r.lock_token),
                                r.attempt_count});
  }
  if (out.empty() && !first_error.ok()) return first_error;
  return out;
}

}  // namespace

Result<std::vector<WorkItemLease>> PostgresProvider::FetchWorkItems(
    size_t max_items, int64_t lock_timeout_ms, const WorkerFetchOptions& options) {
  std::vector<internal::RawWorkLease> raw;
  const internal::PgGroupCommit::Fn fetch = [&](pqxx::transaction_base& tx) {
    return FetchWorkTx(tx, max_items, lock_timeout_ms, options, &raw);
  };
  Status st = group_->Run("FetchWorkItem", fetch, /*durable=*/false);
  if (!st.ok()) return st;
  return DecodeLeases("FetchWorkItem", &raw);
}

Result<std::optional<WorkItemLease>> PostgresProvider::FetchWorkItem(
    int64_t lock_timeout_ms, const WorkerFetchOptions& options) {
  using Out = std::optional<WorkItemLease>;
  Result<std::vector<WorkItemLease>> leases = FetchWorkItems(1, lock_timeout_ms, options);
  if (!leases.ok()) return leases.status();
  if (leases->empty()) return Out();
  return Out(std::move(leases->front()));
}

Status PostgresProvider::AckWorkTx(pqxx::transaction_base& tx, const WorkAck& ack,
                                   const std::string& json) {
  const char* op = "AckWorkItem";
  const int64_t now = NowMs();
  const std::optional<WorkItem>& completion = ack.completion;
  pqxx::result r =
      completion ? tx.exec_prepared("dx_worker_ack_completion", ack.lock_token, now,
                                    completion->instance,
                                    std::string(history::WorkItemKindName(completion->kind)),
                                    json, channel_, NotifyPayload("o"))
                 : tx.exec_prepared("dx_worker_ack", ack.lock_token, now);
  if (r.empty()) {
    return store::WorkLeaseGone(op, ack.lock_token);
  }
  return Status::Ok();
}

Status PostgresProvider::AckWorkItem(const std::string& lock_token,
                                     const std::optional<WorkItem>& completion) {
  return AckWorkItemsAndFetch({WorkAck{lock_token, completion}}, nullptr)[0];
}

void PostgresProvider::AddWorkAckTasks(const std::vector<WorkAck>& acks, bool durable,
                                       std::vector<Status>* out, std::vector<std::string>* json,
                                       std::vector<size_t>* index, internal::GroupTasks* tasks) {
  const char* op = "AckWorkItem";
  out->assign(acks.size(), Status::Ok());
  json->assign(acks.size(), std::string());
  for (size_t i = 0; i < acks.size(); ++i) {
    const std::optional<WorkItem>& completion = acks[i].completion;
    if (completion && completion->kind == WorkItemKind::kActivityExecute) {
      (*out)[i] = Status::InvalidArgument(op, "a completion cannot be an ActivityExecute");
      continue;
    }
    if (completion) (*json)[i] = history::EncodeWorkItem(*completion);
    tasks->Add(op, [this, &acks, json, i](pqxx::transaction_base& tx) {
      return AckWorkTx(tx, acks[i], (*json)[i]);
    }, durable);
    index->push_back(i);
  }
}

std::vector<Status> PostgresProvider::AckWorkItemsAndFetch(const std::vector<WorkAck>& acks,
                                                           NextWorkFetch* next) {
  std::vector<Status> out;
  std::vector<std::string> json;
  std::vector<size_t> index;  // task k acknowledges acks[index[k]]
  internal::GroupTasks tasks;
  AddWorkAckTasks(acks, /*durable=*/true, &out, &json, &index, &tasks);
  std::vector<internal::RawWorkLease> raw;
  if (next) {
    tasks.Add("FetchWorkItem", [&](pqxx::transaction_base& tx) {
      return FetchWorkTx(tx, next->max_items, next->lock_timeout_ms, next->options, &raw);
    }, false);
  }
  std::vector<Status> done = group_->RunAll(tasks.ops);
  int completions = 0;  // one dispatcher to wake per completion queued
  for (size_t k = 0; k < index.size(); ++k) {
    out[index[k]] = std::move(done[k]);
    if (out[index[k]].ok() && acks[index[k]].completion) ++completions;
  }
  if (completions > 0) orchestrator_signal().Notify(completions);
  if (next) {
    if (done.back().ok()) {
      next->result.emplace(DecodeLeases("FetchWorkItem", &raw));
    } else {
      next->result.emplace(done.back());
    }
  }
  return out;
}

Status PostgresProvider::RenewWorkItemLock(const std::string& lock_token, int64_t extend_ms) {
  const char* op = "RenewWorkItemLock";
  return Run(op, [&](pqxx::connection_base& conn) -> Status {
    pqxx::nontransaction tx(conn);
    const int64_t now = NowMs();
    if (tx.exec_prepared("dx_worker_renew", lock_token, now + extend_ms, now).empty()) {
      return store::WorkLeaseGone(op, lock_token);
    }
    return Status::Ok();
  });
}

Status PostgresProvider::AbandonWorkItem(const std::string& lock_token, int64_t delay_ms,
                                         bool ignore_attempt) {
  const char* op = "AbandonWorkItem";
  Status st = Run(op, [&](pqxx::connection_base& conn) -> Status {
    pqxx::nontransaction tx(conn);
    const int64_t now = NowMs();
    if (tx.exec_prepared("dx_worker_abandon", lock_token, now + std::max<int64_t>(delay_ms, 0),
                         ignore_attempt, channel_, NotifyPayload("w"))
            .empty()) {
      return store::WorkLeaseUnknown(op, lock_token);
    }
    return Status::Ok();
  });
  if (st.ok()) worker_signal().Notify();
  return st;
}

Result<int64_t> PostgresProvider::RenewSessionLocks(const std::vector<std::string>& owner_ids,
                                                    int64_t extend_ms, int64_t idle_timeout_ms) {
  if (owner_ids.empty()) return int64_t{0};
  const std::string owners = PgTextArray(owner_ids);
  return Run("RenewSessionLocks", [&](pqxx::connection_base& conn) -> Result<int64_t> {
    pqxx::nontransaction tx(conn);
    const int64_t now = NowMs();
    return static_cast<int64_t>(
        tx.exec_prepared("dx_renew_sessions", owners, now + extend_ms, now, now - idle_timeout_ms)
            .affected_rows());
  });
}

Result<int64_t> PostgresProvider::CleanupOrphanedSessions(int64_t idle_timeout_ms) {
  return Run("CleanupOrphanedSessions", [&](pqxx::connection_base& conn) -> Result<int64_t> {
    pqxx::nontransaction tx(conn);
    const int64_t now = NowMs();
    return static_cast<int64_t>(
        tx.exec_prepared("dx_cleanup_sessions", now, now - idle_timeout_ms).affected_rows());
  });
}

}  // namespace duroxide::providers::postgres
