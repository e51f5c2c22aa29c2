// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// PostgresProvider: the worker queue (ActivityExecute rows under per-row peek-locks) and
// session affinity. Same semantics as sqlite_worker_queue.cc.
//
// A fetch picks the oldest eligible row with FOR UPDATE SKIP LOCKED, so concurrent workers
// (threads or processes) each take a different row without waiting for one another. Fetches,
// acks, renewals and abandons are single statements (data-modifying CTEs) run in autocommit
// mode: one round trip each, atomic on the server.
#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <utility>

#include "duroxide/common/clock.h"
#include "duroxide/history/codec.h"
#include "duroxide/providers/postgres/postgres_internal.h"

namespace duroxide::providers::postgres {

using history::WorkItem;
using history::WorkItemKind;
using internal::NullableText;
using internal::PgTextArray;
using internal::StatementDef;

namespace {

constexpr int kWorkerFetchAttempts = 3;

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
// (NULL without a session config), $5 tags (text[]), $6 session locked_until. Returns one
// row: the locked row's id, work_item, session_id, attempt_count (NULL when nothing was
// locked) and the number of candidates (1 when a candidate lost its session claim race).
// The tag and session predicates are part of the SQL text so that the planner sees each
// shape as it is.
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
      shape == SessionShape::kRestricted ? ", $9::bigint AS cutoff" : "";
  // Capability routing (provider.h, WorkerFetchOptions): $7 matching hashes, $8 "|runtime|".
  const std::string routing_pred =
      "(q.schema_hash IS NULL OR q.schema_hash = ANY(p.hashes) OR q.requires_deadline <= p.now) "
      "AND (q.avoid_workers IS NULL OR q.avoid_until <= p.now "
      "OR strpos(q.avoid_workers, p.needle) = 0)";
  return "WITH p AS (SELECT $1::text AS token, $2::bigint AS until, $3::bigint AS now, "
         "  $4::text AS owner, $5::text[] AS tags, $6::bigint AS session_until, "
         "  $7::text[] AS hashes, $8::text AS needle" + cutoff + "), "
         "cand AS (SELECT q.id, q.session_id FROM worker_queue q, p "
         "  WHERE q.visible_at <= p.now AND (q.lock_token IS NULL OR q.locked_until <= p.now) "
         "  AND " + tag_pred + " AND " + session_pred + " AND " + routing_pred +
         "  ORDER BY q.id LIMIT 1 FOR UPDATE OF q SKIP LOCKED), "
         // Claims only an unowned, expired or own session; no row means someone else has it.
         "claim AS (INSERT INTO sessions AS s (session_id, worker_id, locked_until, "
         "    last_activity_at) "
         "  SELECT cand.session_id, p.owner, p.session_until, p.now FROM cand, p "
         "  WHERE cand.session_id IS NOT NULL "
         "  ON CONFLICT (session_id) DO UPDATE SET worker_id = EXCLUDED.worker_id, "
         "    locked_until = EXCLUDED.locked_until, last_activity_at = EXCLUDED.last_activity_at "
         "  WHERE s.locked_until <= EXCLUDED.last_activity_at OR s.worker_id = EXCLUDED.worker_id "
         "  RETURNING 1), "
         "upd AS (UPDATE worker_queue w SET lock_token = p.token, locked_until = p.until, "
         "    attempt_count = w.attempt_count + 1 "
         "  FROM cand, p WHERE w.id = cand.id "
         "    AND (cand.session_id IS NULL OR EXISTS (SELECT 1 FROM claim)) "
         "  RETURNING w.id, w.work_item, w.session_id, w.attempt_count) "
         "SELECT upd.id, upd.work_item, upd.session_id, upd.attempt_count, "
         "  (SELECT COUNT(*) FROM cand) FROM (SELECT 1) one LEFT JOIN upd ON TRUE";
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
       "    visible_at = $2, attempt_count = CASE WHEN $3::boolean "
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

Result<std::optional<WorkItemLease>> PostgresProvider::FetchWorkItem(
    int64_t lock_timeout_ms, const WorkerFetchOptions& options) {
  using Out = std::optional<WorkItemLease>;
  const char* op = "FetchWorkItem";
  if (options.tag_filter.mode == TagFilter::Mode::kNone) return Out();  // orchestrator-only
  const SessionShape shape = ShapeOf(options);
  const std::string statement = FetchStatementName(options.tag_filter.mode, shape);
  const std::string tags = PgTextArray(options.tag_filter.tags);
  const std::string hashes = PgTextArray(options.schema_hashes);
  const std::optional<std::string> owner =
      options.session ? std::optional<std::string>(options.session->owner_id) : std::nullopt;
  const int64_t session_lock_ms = options.session ? options.session->lock_timeout_ms : 0;
  enum Outcome { kNone, kGot, kRetry };
  WorkItemLease lease;
  int64_t row_id = 0;
  std::string text;
  for (int attempt = 0; attempt < kWorkerFetchAttempts; ++attempt) {
    Result<Outcome> outcome = Run(op, [&](pqxx::connection_base& conn) -> Result<Outcome> {
      pqxx::nontransaction tx(conn);  // one statement: atomic on its own
      const int64_t now = NowMs();
      lease.lock_token = NewToken("w-");
      pqxx::result r =
          shape == SessionShape::kRestricted
              ? tx.exec_prepared(statement, lease.lock_token, now + lock_timeout_ms, now,
                                 NullableText(owner), tags, now + session_lock_ms, hashes,
                                 AvoidNeedle(options.runtime_id),
                                 now - *options.session->new_session_min_wait_ms)
              : tx.exec_prepared(statement, lease.lock_token, now + lock_timeout_ms, now,
                                 NullableText(owner), tags, now + session_lock_ms, hashes,
                                 AvoidNeedle(options.runtime_id));
      if (r.empty() || r[0][0].is_null()) {
        // A candidate whose session another worker claimed concurrently: look again.
        return !r.empty() && r[0][4].as<int64_t>() > 0 ? kRetry : kNone;
      }
      row_id = r[0][0].as<int64_t>();
      text = r[0][1].as<std::string>();
      lease.attempt_count = r[0][3].as<int64_t>();
      return kGot;
    });
    if (!outcome.ok()) return outcome.status();
    if (outcome.value() == kNone) return Out();
    if (outcome.value() == kGot) break;
    if (attempt == kWorkerFetchAttempts - 1) return Out();
  }
  Result<WorkItem> decoded = history::DecodeWorkItem(text);
  if (!decoded.ok()) {
    // The row stays locked (and is redelivered after the lock expires) so that it does not
    // block the rows behind it.
    return Status::DataLoss(op, "worker queue row " + std::to_string(row_id) + ": " +
                                    decoded.status().message());
  }
  lease.item = std::move(decoded).value();
  return Out(std::move(lease));
}

Status PostgresProvider::AckWorkItem(const std::string& lock_token,
                                     const std::optional<WorkItem>& completion) {
  const char* op = "AckWorkItem";
  if (completion && completion->kind == WorkItemKind::kActivityExecute) {
    return Status::InvalidArgument(op, "a completion cannot be an ActivityExecute");
  }
  const std::string json = completion ? history::EncodeWorkItem(*completion) : std::string();
  Status st = Run(op, [&](pqxx::connection_base& conn) -> Status {
    pqxx::nontransaction tx(conn);  // one statement: atomic on its own
    const int64_t now = NowMs();
    pqxx::result r =
        completion ? tx.exec_prepared("dx_worker_ack_completion", lock_token, now,
                                      completion->instance,
                                      std::string(history::WorkItemKindName(completion->kind)),
                                      json, channel_, NotifyPayload("o"))
                   : tx.exec_prepared("dx_worker_ack", lock_token, now);
    if (r.empty()) {
      return Status::FailedPrecondition(
          op, "work item lock '" + lock_token + "' is gone (cancelled, expired or acked)");
    }
    return Status::Ok();
  });
  if (st.ok() && completion) orchestrator_signal().Notify();
  return st;
}

Status PostgresProvider::RenewWorkItemLock(const std::string& lock_token, int64_t extend_ms) {
  const char* op = "RenewWorkItemLock";
  return Run(op, [&](pqxx::connection_base& conn) -> Status {
    pqxx::nontransaction tx(conn);
    const int64_t now = NowMs();
    if (tx.exec_prepared("dx_worker_renew", lock_token, now + extend_ms, now).empty()) {
      return Status::FailedPrecondition(
          op, "work item lock '" + lock_token + "' is gone (cancelled, expired or acked)");
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
      return Status::FailedPrecondition(op, "work item lock '" + lock_token + "' is unknown");
    }
    return Status::Ok();
  });
  if (st.ok()) worker_signal().Notify();
  return st;
}

Result<std::optional<int64_t>> PostgresProvider::NextWorkerVisibleAt() {
  using Out = std::optional<int64_t>;
  return Run("NextWorkerVisibleAt", [&](pqxx::connection_base& conn) -> Result<Out> {
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec_prepared("dx_next_worker_visible", NowMs());
    if (r.empty() || r[0][0].is_null()) return Out();
    return Out(r[0][0].as<int64_t>());
  });
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
