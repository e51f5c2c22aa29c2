// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The claim order of both queues, shared by the SQLite and PostgreSQL providers
// (docs/flow-control.md, "Priorities").
//
// A queue row carries `priority` (0-9, higher first; 0 for every row but a start, a restart
// and an activity given one). Rows are claimed in ascending rank, then id:
//
//     rank = created_at - priority * kPriorityAgingMs
//
// so within one priority the order is arrival (FIFO), a higher priority goes first, and a row
// that has waited kPriorityAgingMs longer than another counts as one level higher: a priority-0
// row is never overtaken by a priority-9 row that arrived more than 9 * kPriorityAgingMs after
// it. That bounds starvation without a background job and keeps the order a pure function of
// the row, so each store indexes the rank expression and the claim walks that index and stops
// at the first eligible row, as it walked the primary key before.
#ifndef DUROXIDE_PROVIDERS_QUEUE_ORDER_H_
#define DUROXIDE_PROVIDERS_QUEUE_ORDER_H_

#include <cstdint>

namespace duroxide::providers::queue_order {

inline constexpr int64_t kPriorityAgingMs = 5000;
inline constexpr int kMinPriority = 0;
inline constexpr int kMaxPriority = 9;

// The rank expression over a row alias `q` and without one, as both dialects write it. Index
// definitions and ORDER BY clauses must use exactly this text (SQLite matches expression
// indexes textually). Keep the literal in step with kPriorityAgingMs.
#define DUROXIDE_QUEUE_RANK_Q "(q.created_at - q.priority * 5000)"
#define DUROXIDE_QUEUE_RANK "(created_at - priority * 5000)"
static_assert(kPriorityAgingMs == 5000, "update DUROXIDE_QUEUE_RANK* and the migrations");

// Claims of the worker queue walk only rows that no worker holds. Before, the claim walked the
// rank index past every row leased to a running activity (each a failed predicate check), so
// with many activities in flight (async activities: up to async_activity_concurrency per
// runtime) every claim cost O(in flight). Now:
//  - idx_worker_free indexes the rank of unleased rows only (lock_token IS NULL), and the claim
//    predicate is `q.lock_token IS NULL`, so the walk starts at the first free row;
//  - a lease that expired (its runtime died or stalled) is first released by the sweep below
//    (lock_token and locked_until back to NULL), in the claim's own transaction, through
//    idx_worker_leased (leased rows ordered by expiry: the probe finds none in O(log n)).
// An expired lease was already dead for its holder (acks and renewals require
// locked_until > now), so releasing it changes nothing for the holder; the row is claimable as
// before, at its original rank. The same DDL in both dialects (one migration each).
#define DUROXIDE_WORKER_FREE_INDEXES_SQL                                              \
  "CREATE INDEX idx_worker_free ON worker_queue(" DUROXIDE_QUEUE_RANK ", id) "        \
  "WHERE lock_token IS NULL;\n"                                                       \
  "CREATE INDEX idx_worker_leased ON worker_queue(locked_until) "                     \
  "WHERE lock_token IS NOT NULL;\n"
#define DUROXIDE_WORKER_SWEEP_SET "SET lock_token = NULL, locked_until = NULL "
#define DUROXIDE_WORKER_EXPIRED "lock_token IS NOT NULL AND locked_until <= "

}  // namespace duroxide::providers::queue_order

#endif  // DUROXIDE_PROVIDERS_QUEUE_ORDER_H_
