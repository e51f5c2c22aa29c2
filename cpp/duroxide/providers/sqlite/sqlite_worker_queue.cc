// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// SqliteProvider: the worker queue (ActivityExecute rows under per-row peek-locks) and session
// affinity. Every write runs in BEGIN IMMEDIATE on the provider's single connection (see
// sqlite_provider.cc).
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "duroxide/common/clock.h"
#include "duroxide/history/codec.h"
#include "duroxide/providers/queue_order.h"
#include "duroxide/providers/sqlite/sqlite_provider.h"
#include "duroxide/providers/sqlite/sqlite_group_commit.h"
#include "duroxide/providers/sqlite/sqlite_schema.h"

namespace duroxide::providers::sqlite {

using history::WorkItem;
using history::WorkItemKind;
using internal::Batched;

namespace internal {
std::string WorkerLeaseToken(const std::string& stored, int64_t row_id) {
  return stored + "." + std::to_string(row_id);
}
}  // namespace internal

namespace {

// Parameter numbers of the worker fetch statement.
constexpr int kFetchToken = 1;
constexpr int kFetchLockedUntil = 2;
constexpr int kFetchNow = 3;
constexpr int kFetchOwner = 4;
constexpr int kFetchFirstTag = 5;
constexpr int kFetchNewSessionCutoff = 30;  // after every tag parameter (at most 5 tags)

// A worker lease token is "<stored token>.<row id>": the stored part is what the row's
// lock_token column holds, the id lets acks, renewals and abandons find the row by primary key.
std::string LeaseToken(const std::string& stored, int64_t row_id) {
  return internal::WorkerLeaseToken(stored, row_id);
}

struct ParsedLeaseToken {
  std::string stored;
  int64_t row_id = -1;  // -1: not a token of this provider (matches no row)
};

ParsedLeaseToken ParseLeaseToken(const std::string& token) {
  ParsedLeaseToken out;
  const auto dot = token.rfind('.');
  if (dot == std::string::npos || dot + 1 >= token.size()) return out;
  int64_t id = 0;
  for (size_t i = dot + 1; i < token.size(); ++i) {
    const char c = token[i];
    if (c < '0' || c > '9' || id > (INT64_MAX - 9) / 10) return out;
    id = id * 10 + (c - '0');
  }
  out.stored = token.substr(0, dot);
  out.row_id = id;
  return out;
}

int RoutingParam(const WorkerFetchOptions& options, int which) {
  return kFetchFirstTag + static_cast<int>(options.tag_filter.tags.size()) + which;
}

// Builds the fetch statement for one filter shape. The tag and session predicates are part of
// the SQL text (not CASE expressions on parameters) so that SQLite can plan each shape. The
// unary '+' keeps SQLite off the other secondary indexes: walking idx_worker_rank in claim
// order (providers/queue_order.h) stops at the first eligible row, where an index range would
// collect and sort a whole backlog.
std::string WorkerFetchSql(const WorkerFetchOptions& options) {
  std::string tags;
  for (size_t i = 0; i < options.tag_filter.tags.size(); ++i) {
    if (i > 0) tags += ", ";
    tags += "?" + std::to_string(kFetchFirstTag + static_cast<int>(i));
  }
  std::string tag_pred;
  switch (options.tag_filter.mode) {
    case TagFilter::Mode::kDefaultOnly: tag_pred = "+q.tag IS NULL"; break;
    case TagFilter::Mode::kTags: tag_pred = "+q.tag IN (" + tags + ")"; break;
    case TagFilter::Mode::kDefaultAnd:
      tag_pred = "(+q.tag IS NULL OR +q.tag IN (" + tags + "))";
      break;
    case TagFilter::Mode::kAny: tag_pred = "1"; break;
    case TagFilter::Mode::kNone: tag_pred = "0"; break;
  }
  // With a session config, a session-bound row is eligible unless another owner holds a live
  // session lock; without one, session-bound rows are skipped.
  // With new_session_min_wait_ms (placement), a row of a session this owner does not hold
  // is eligible only once it has been visible since the cutoff.
  std::string session_pred =
      options.session
          ? "(+q.session_id IS NULL OR NOT EXISTS (SELECT 1 FROM sessions s "
            "WHERE s.session_id = q.session_id AND s.locked_until > ?3 AND s.worker_id <> ?4))"
          : "+q.session_id IS NULL";
  // Named limits (limit_store.h): exact here, since the single writer serialises claims.
  // Capability routing (provider.h, WorkerFetchOptions): the matching hashes as a JSON array
  // and the "|runtime|" needle follow the tag parameters.
  const std::string hashes = "?" + std::to_string(RoutingParam(options, 0));
  const std::string needle = "?" + std::to_string(RoutingParam(options, 1));
  const std::string routing_pred =
      "(+q.schema_hash IS NULL OR +q.schema_hash IN (SELECT value FROM json_each(" + hashes +
      ")) OR +q.requires_deadline <= ?3) AND (+q.avoid_workers IS NULL OR +q.avoid_until <= ?3 "
      "OR instr(+q.avoid_workers, " + needle + ") = 0)";
  if (options.session && options.session->new_session_min_wait_ms) {
    session_pred = "(" + session_pred +
                   " AND (+q.session_id IS NULL OR +q.visible_at <= ?" +
                   std::to_string(kFetchNewSessionCutoff) +
                   " OR EXISTS (SELECT 1 FROM sessions s WHERE s.session_id = q.session_id "
                   "AND s.locked_until > ?3 AND s.worker_id = ?4)))";
  }
  return "UPDATE worker_queue SET lock_token = ?1, locked_until = ?2, "
         "attempt_count = attempt_count + 1 "
         "WHERE id = (SELECT q.id FROM worker_queue q "
         "WHERE +q.visible_at <= ?3 AND q.lock_token IS NULL AND " +
         tag_pred + " AND " + session_pred + " AND " + routing_pred + " AND " +
         LimitClaimPredicate("+q.", "?3", "MIN") +
         " ORDER BY " DUROXIDE_QUEUE_RANK_Q ", q.id LIMIT 1) "
         "RETURNING id, work_item, session_id, attempt_count, limit_name, limit_key";
}

// Keeps the session of a row just acked or renewed alive (nothing for a row without one).
void TouchSession(SQLite::Statement& touch, const std::optional<std::string>& session_id,
                  int64_t now) {
  if (!session_id) return;
  ScopedStatement s(touch);
  s->bind(1, *session_id);
  s->bind(2, now);
  s->exec();
}

}  // namespace

void SqliteProvider::PrepareWorkerStatements() {
  auto prep = [&](const char* sql) { return std::make_unique<SQLite::Statement>(*db_, sql); };
  // Claims only an unowned, expired or own session; zero changes means someone else has it.
  session_claim_ = prep(
      "INSERT INTO sessions(session_id, worker_id, locked_until, last_activity_at) "
      "VALUES (?1, ?2, ?3, ?4) ON CONFLICT(session_id) DO UPDATE SET "
      "  worker_id = excluded.worker_id, locked_until = excluded.locked_until, "
      "  last_activity_at = excluded.last_activity_at "
      "WHERE sessions.locked_until <= ?4 OR sessions.worker_id = excluded.worker_id");
  worker_ack_ = prep(
      "DELETE FROM worker_queue WHERE id = ?3 AND lock_token = ?1 AND locked_until > ?2 "
      "RETURNING session_id");
  session_touch_ = prep(
      "UPDATE sessions SET last_activity_at = ?2 WHERE session_id = ?1 AND locked_until > ?2");
  worker_renew_ = prep(
      "UPDATE worker_queue SET locked_until = ?2 "
      "WHERE id = ?4 AND lock_token = ?1 AND locked_until > ?3 RETURNING session_id");
  worker_abandon_ = prep(
      // A row parked by a suspension (ops_common.h, kParkOffsetMs = 2^52) stays parked.
      "UPDATE worker_queue SET lock_token = NULL, locked_until = NULL, visible_at = ?2 + "
      "  CASE WHEN visible_at >= 4503599627370496 THEN 4503599627370496 ELSE 0 END, "
      "  attempt_count = CASE WHEN ?3 THEN MAX(attempt_count - 1, 0) ELSE attempt_count END "
      "WHERE id = ?4 AND lock_token = ?1");
  // Releases expired leases before a claim (queue_order.h), through idx_worker_leased.
  worker_sweep_ = prep("UPDATE worker_queue " DUROXIDE_WORKER_SWEEP_SET
                       "WHERE " DUROXIDE_WORKER_EXPIRED "?1");
  next_worker_visible_ = prep(
      "SELECT visible_at FROM worker_queue WHERE lock_token IS NULL OR locked_until <= ?1 "
      "ORDER BY visible_at LIMIT 1");
  renew_sessions_ = prep(
      "UPDATE sessions SET locked_until = ?2 "
      "WHERE worker_id IN (SELECT value FROM json_each(?1)) AND locked_until > ?3 "
      "  AND last_activity_at > ?4");
  cleanup_sessions_ = prep(
      "DELETE FROM sessions WHERE locked_until <= ?1 AND last_activity_at <= ?2 "
      "  AND NOT EXISTS (SELECT 1 FROM worker_queue w WHERE w.session_id = sessions.session_id)");
}

SQLite::Statement& SqliteProvider::WorkerFetchStatement(const WorkerFetchOptions& options) {
  std::string key = std::to_string(static_cast<int>(options.tag_filter.mode)) + "/" +
                    std::to_string(options.tag_filter.tags.size()) + "/" +
                    (options.session ? (options.session->new_session_min_wait_ms ? "r" : "s")
                                     : "-");
  Stmt& stmt = worker_fetch_[key];
  if (!stmt) stmt = std::make_unique<SQLite::Statement>(*db_, WorkerFetchSql(options));
  return *stmt;
}

Status SqliteProvider::WorkFetchTx(int64_t lock_timeout_ms, const WorkerFetchOptions& options,
                                  WorkFetchState* st) {
  *st = WorkFetchState();  // the group commit may run this again
  const int64_t now = NowMs();
  st->lease.lock_token = NewToken("w-");
  std::optional<std::string> session_id;
  std::optional<std::pair<std::string, std::string>> limit;  // the claimed row's (name, key)
  {
    // The claim below sees only unleased rows: release the expired leases first.
    ScopedStatement sweep(*worker_sweep_);
    sweep->bind(1, now);
    sweep->exec();
  }
  {
    ScopedStatement s(WorkerFetchStatement(options));
    s->bind(kFetchToken, st->lease.lock_token);
    s->bind(kFetchLockedUntil, now + lock_timeout_ms);
    s->bind(kFetchNow, now);
    if (options.session) s->bind(kFetchOwner, options.session->owner_id);
    if (options.session && options.session->new_session_min_wait_ms) {
      s->bind(kFetchNewSessionCutoff, now - *options.session->new_session_min_wait_ms);
    }
    for (size_t i = 0; i < options.tag_filter.tags.size(); ++i) {
      s->bind(kFetchFirstTag + static_cast<int>(i), options.tag_filter.tags[i]);
    }
    s->bind(RoutingParam(options, 0), nlohmann::json(options.schema_hashes).dump());
    s->bind(RoutingParam(options, 1), AvoidNeedle(options.runtime_id));
    if (!s->executeStep()) return Status::Ok();
    st->row_id = s->getColumn(0).getInt64();
    st->text = s->getColumn(1).getString();
    session_id = OptionalText(s->getColumn(2));
    st->lease.attempt_count = s->getColumn(3).getInt64();
    if (!s->getColumn(4).isNull()) {
      limit.emplace(s->getColumn(4).getString(), s->getColumn(5).getString());
    }
  }
  if (limit) ConsumeLimitTokenTx(limit->first, limit->second, now);
  if (session_id) {
    ScopedStatement s(*session_claim_);
    s->bind(1, *session_id);
    s->bind(2, options.session->owner_id);
    s->bind(3, now + options.session->lock_timeout_ms);
    s->bind(4, now);
    // The fetch predicate already excluded sessions held by others, so this only fails if
    // the data changed underneath us; then the row is handed back untouched.
    if (s->exec() == 0) {
      ScopedStatement undo(*worker_abandon_);
      undo->bind(1, st->lease.lock_token);
      undo->bind(2, now);
      undo->bind(3, 1);
      undo->bind(4, st->row_id);
      undo->exec();
      return Status::Ok();
    }
  }
  st->lease.lock_token = LeaseToken(st->lease.lock_token, st->row_id);
  st->found = true;
  return Status::Ok();
}

Result<std::optional<WorkItemLease>> SqliteProvider::FinishWorkFetch(const Status& tx,
                                                                     WorkFetchState* st) {
  using Out = std::optional<WorkItemLease>;
  if (!tx.ok()) return tx;
  if (!st->found) return Out();
  Result<WorkItem> decoded = history::DecodeWorkItem(st->text);
  if (!decoded.ok()) {
    // The row stays locked (and is redelivered after the lock expires) so that it does not
    // block the rows behind it.
    return Status::DataLoss("FetchWorkItem", "worker queue row " + std::to_string(st->row_id) +
                                                 ": " + decoded.status().message());
  }
  st->lease.item = std::move(decoded).value();
  return Out(std::move(st->lease));
}

Result<std::optional<WorkItemLease>> SqliteProvider::FetchWorkItem(
    int64_t lock_timeout_ms, const WorkerFetchOptions& options) {
  using Out = std::optional<WorkItemLease>;
  if (options.tag_filter.mode == TagFilter::Mode::kNone) return Out();  // orchestrator-only
  WorkFetchState st;
  const std::function<Status()> fn = [&] { return WorkFetchTx(lock_timeout_ms, options, &st); };
  return FinishWorkFetch(group_->Run("FetchWorkItem", fn), &st);
}

Status SqliteProvider::WorkAckTx(const std::string& lock_token,
                                 const std::optional<WorkItem>& completion) {
  const int64_t now = NowMs();
  std::optional<std::string> session_id;
  const ParsedLeaseToken parsed = ParseLeaseToken(lock_token);
  {
    ScopedStatement s(*worker_ack_);
    BindAll(s.get(), parsed.stored, now, parsed.row_id);
    if (!s->executeStep()) return store::WorkLeaseGone("AckWorkItem", lock_token);
    session_id = OptionalText(s->getColumn(0));
  }
  if (completion) InsertOrchestratorItem(*completion, now, now);
  TouchSession(*session_touch_, session_id, now);
  return Status::Ok();
}

Status SqliteProvider::AckWorkItem(const std::string& lock_token,
                                   const std::optional<WorkItem>& completion) {
  return AckWorkItemsAndFetch({WorkAck{lock_token, completion}}, nullptr)[0];
}

Status SqliteProvider::WorkFetchManyTx(size_t max_items, int64_t lock_timeout_ms,
                                       const WorkerFetchOptions& options,
                                       std::vector<WorkFetchState>* states) {
  return internal::FetchUpTo(max_items, states, [&](WorkFetchState* st) {
    return WorkFetchTx(lock_timeout_ms, options, st);
  });
}

Result<std::vector<WorkItemLease>> SqliteProvider::FinishWorkFetchMany(
    const Status& tx, std::vector<WorkFetchState>* states) {
  return internal::FinishEach<WorkItemLease>(tx, states, &SqliteProvider::FinishWorkFetch);
}

Result<std::vector<WorkItemLease>> SqliteProvider::FetchWorkItems(
    size_t max_items, int64_t lock_timeout_ms, const WorkerFetchOptions& options) {
  if (options.tag_filter.mode == TagFilter::Mode::kNone) return std::vector<WorkItemLease>();
  std::vector<WorkFetchState> states;
  const std::function<Status()> fn = [&] {
    return WorkFetchManyTx(max_items, lock_timeout_ms, options, &states);
  };
  return FinishWorkFetchMany(group_->Run("FetchWorkItem", fn), &states);
}

std::vector<Status> SqliteProvider::AckWorkItemsAndFetch(const std::vector<WorkAck>& acks,
                                                         NextWorkFetch* next) {
  const char* op = "AckWorkItem";
  std::vector<Status> out(acks.size());
  std::vector<std::function<Status()>> fns(acks.size());
  std::vector<internal::GroupCommit::Op> ops;
  ops.reserve(acks.size() + 1);
  for (size_t i = 0; i < acks.size(); ++i) {
    const WorkAck& a = acks[i];
    if (a.completion && a.completion->kind == WorkItemKind::kActivityExecute) {
      out[i] = Status::InvalidArgument(op, "a completion cannot be an ActivityExecute");
      continue;
    }
    fns[i] = [this, &a] { return WorkAckTx(a.lock_token, a.completion); };
    ops.push_back({op, &fns[i]});
  }
  std::vector<WorkFetchState> fetched;
  std::function<Status()> fetch;
  if (next && next->max_items > 0 && next->options.tag_filter.mode != TagFilter::Mode::kNone) {
    fetch = [&] {
      return WorkFetchManyTx(next->max_items, next->lock_timeout_ms, next->options, &fetched);
    };
    ops.push_back({"FetchWorkItem", &fetch});
  }
  std::vector<Status> results = ops.empty() ? std::vector<Status>() : group_->RunAll(ops);
  if (next) {
    if (fetch) {
      next->result.emplace(FinishWorkFetchMany(results.back(), &fetched));
    } else {
      next->result.emplace(std::vector<WorkItemLease>());
    }
  }
  size_t r = 0;
  int completions = 0;
  for (size_t i = 0; i < acks.size(); ++i) {
    if (!fns[i]) continue;
    out[i] = results[r++];
    if (out[i].ok() && acks[i].completion) ++completions;
  }
  if (completions > 0) orchestrator_signal().Notify(completions);
  return out;
}

Status SqliteProvider::RenewWorkItemLock(const std::string& lock_token, int64_t extend_ms) {
  const char* op = "RenewWorkItemLock";
  return Batched(*group_, op, [&]() -> Status {
    const int64_t now = NowMs();
    std::optional<std::string> session_id;
    {
      ScopedStatement s(*worker_renew_);
      const ParsedLeaseToken parsed = ParseLeaseToken(lock_token);
      s->bind(1, parsed.stored);
      s->bind(2, now + extend_ms);
      s->bind(3, now);
      s->bind(4, parsed.row_id);
      if (!s->executeStep()) {
        return store::WorkLeaseGone(op, lock_token);
      }
      session_id = OptionalText(s->getColumn(0));
    }
    TouchSession(*session_touch_, session_id, now);
    return Status::Ok();
  });
}

Status SqliteProvider::AbandonWorkItem(const std::string& lock_token, int64_t delay_ms,
                                       bool ignore_attempt) {
  const char* op = "AbandonWorkItem";
  Status st = Batched(*group_, op, [&]() -> Status {
    const int64_t now = NowMs();
    ScopedStatement s(*worker_abandon_);
    const ParsedLeaseToken parsed = ParseLeaseToken(lock_token);
    s->bind(1, parsed.stored);
    s->bind(2, now + std::max<int64_t>(delay_ms, 0));
    s->bind(3, ignore_attempt ? 1 : 0);
    s->bind(4, parsed.row_id);
    if (s->exec() == 0) {
      return Status::FailedPrecondition(op, "work item lock '" + lock_token + "' is unknown");
    }
    return Status::Ok();
  });
  if (st.ok()) worker_signal().Notify(1);
  return st;
}

Result<int64_t> SqliteProvider::RenewSessionLocks(const std::vector<std::string>& owner_ids,
                                                  int64_t extend_ms, int64_t idle_timeout_ms) {
  if (owner_ids.empty()) return int64_t{0};
  const std::string owners = nlohmann::json(owner_ids).dump();
  return WriteTx("RenewSessionLocks", [&]() -> Result<int64_t> {
    const int64_t now = NowMs();
    ScopedStatement s(*renew_sessions_);
    s->bind(1, owners);
    s->bind(2, now + extend_ms);
    s->bind(3, now);
    s->bind(4, now - idle_timeout_ms);
    const int64_t n = s->exec();
    return n;
  });
}

Result<int64_t> SqliteProvider::CleanupOrphanedSessions(int64_t idle_timeout_ms) {
  return WriteTx("CleanupOrphanedSessions", [&]() -> Result<int64_t> {
    const int64_t now = NowMs();
    ScopedStatement s(*cleanup_sessions_);
    s->bind(1, now);
    s->bind(2, now - idle_timeout_ms);
    const int64_t n = s->exec();
    return n;
  });
}

}  // namespace duroxide::providers::sqlite
