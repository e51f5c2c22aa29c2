// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// PostgreSQL migration 12 (performance round 3, docs/performance.md): the batch orchestration
// fetch walks the claim-rank index instead of aggregating the queue. Kept apart from
// postgres_schema.cc like migrations 7, 9 and 11; registered in its kMigrations.
#include <string>

#include "duroxide/providers/postgres/postgres_schema.h"
#include "duroxide/providers/queue_order.h"

namespace duroxide::providers::postgres::internal {

namespace {

// The candidate query of migration 9, the aggregate: every visible message of an unlocked
// instance, grouped by instance, groups in claim order (queue_order.h).
constexpr const char* kAggregate =
    "    SELECT q.instance_id FROM orchestrator_queue q\n"
    "    WHERE q.visible_at <= p_now AND NOT EXISTS (SELECT 1 FROM instance_locks l\n"
    "      WHERE l.instance_id = q.instance_id AND l.locked_until > p_now)\n"
    "    GROUP BY q.instance_id ORDER BY MIN" DUROXIDE_QUEUE_RANK_Q
    ", MIN(q.id) LIMIT 4 * v_wanted + 16";

// The aggregate cost every call O(backlog), however few instances it wanted: with thousands of
// instances ready, one 8-instance fetch took 31 ms against 2 ms for 200 (docs/performance.md,
// round 3, "PostgreSQL scaling"). Now the candidates come first from a walk of the first
// messages in claim order (idx_orch_rank of migration 9), eligible ones kept, and only if
// those do not fill the batch from the aggregate, which the loop reaches after the walk's
// rows (UNION ALL runs its branches in order, and the loop stops as soon as it holds
// p_tokens' worth of instances). The walk looks at a bounded window of rows (the LIMIT is
// applied before the eligibility filter): messages not yet visible (timers, ranked by their
// creation) or of locked instances could otherwise make it read the whole queue, which is what
// the aggregate already does through idx_orch_visible. So a call costs the window when the
// head of the queue is ready (a backlog), and at most the window plus the old aggregate when
// it is not. The aggregate's instances that the walk saw are skipped (v_tried; the loop's
// snapshot does not see this call's own new locks either), and the instances it adds rank
// after the window's: the candidate order is the claim order as before, so priorities and
// aging are unchanged.
//
// Planner settings for this function only (a SET clause is undone when the function returns):
// a queue table's statistics lag its backlog, and planned on the statistics of a nearly empty
// table the walk would become a scan and a sort of the queue (the worker claim has the same
// guard, postgres_worker_queue.cc). The aggregate needs its sort in every plan, so it is planned
// as before, but the penalty the planner adds to a disabled step puts its cost far above
// jit_above_cost: JIT is off for the function (it compiled for 0.7 s per call otherwise).
std::string FetchWalkingTheRank() {
  const char* m = "migration 12";
  std::string fn =
      SqlFrom(m, Migration9Sql(), "CREATE OR REPLACE FUNCTION dx_fetch_orchestrations(");
  ReplaceOnce(m, &fn, "LANGUAGE plpgsql AS $$",
              "LANGUAGE plpgsql\n"
              "SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off "
              "SET jit = off\n"
              "AS $$");
  ReplaceOnce(m, &fn, "  v_token TEXT;\n", "  v_token TEXT;\n  v_tried TEXT[] := '{}';\n");
  const std::string walk =
      "    (SELECT w.instance_id FROM (SELECT q.instance_id, q.visible_at\n"
      "       FROM orchestrator_queue q ORDER BY " DUROXIDE_QUEUE_RANK_Q ", q.id\n"
      "       LIMIT 4 * v_wanted + 16) w\n"
      "     WHERE w.visible_at <= p_now AND NOT EXISTS (SELECT 1 FROM instance_locks l\n"
      "       WHERE l.instance_id = w.instance_id AND l.locked_until > p_now))\n"
      "    UNION ALL\n";
  ReplaceOnce(m, &fn, kAggregate, walk + "    (" + std::string(kAggregate).substr(4) + ")");
  ReplaceOnce(m, &fn, "    CONTINUE WHEN NOT pg_try_advisory_xact_lock",
              "    CONTINUE WHEN v_candidate = ANY(v_tried);\n"
              "    v_tried := v_tried || v_candidate;\n"
              "    CONTINUE WHEN NOT pg_try_advisory_xact_lock");
  return fn;
}

}  // namespace

const char* Migration12Sql() {
  static const std::string sql = "\n" + FetchWalkingTheRank();
  return sql.c_str();
}

}  // namespace duroxide::providers::postgres::internal
