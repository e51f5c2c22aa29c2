// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The schedule store's algorithm, once for both providers (schedule_store.h). Statements are
// not prepared: schedules are off the hot path (one firing per occurrence).
#include "duroxide/providers/schedule_store.h"

#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "duroxide/common/clock.h"

namespace duroxide::providers {

namespace {

using history::WorkItem;
using history::WorkItemKind;

constexpr const char* kColumns =
    "SELECT schedule_id, orchestration, version, input, cron, every_ms, timezone, overlap, "
    "  catchup_window_ms, jitter_ms, start_at_ms, end_at_ms, paused, note, next_fire_ms, "
    "  next_due_ms, last_fire_ms, last_instance_id, buffered_fire_ms, recent_instances, "
    "  fired_count, missed_count, skipped_count, created_at, updated_at FROM schedules s ";

// 1 while the instance named by `expr` has not finished: its start is still queued, or its
// current execution is Running.
std::string RunningPredicate(const std::string& expr) {
  return "(EXISTS (SELECT 1 FROM orchestrator_queue q WHERE q.instance_id = " + expr +
         " AND q.kind = 'StartOrchestration') OR EXISTS (SELECT 1 FROM instances i "
         "JOIN executions e ON e.instance_id = i.instance_id "
         "AND e.execution_id = i.current_execution_id WHERE i.instance_id = " +
         expr + " AND e.status = 'Running'))";
}

std::optional<int64_t> OptInt(const SqlRow& row, size_t i) {
  if (!row[i]) return std::nullopt;
  return std::stoll(*row[i]);
}

int64_t Int(const SqlRow& row, size_t i) { return row[i] ? std::stoll(*row[i]) : 0; }

ScheduleRecord RecordFrom(const SqlRow& row) {
  ScheduleRecord r;
  r.schedule_id = row[0].value_or("");
  r.orchestration = row[1].value_or("");
  r.version = row[2];
  r.input = row[3];
  r.cron = row[4];
  r.every_ms = OptInt(row, 5);
  r.timezone = row[6].value_or("UTC");
  r.overlap = row[7].value_or("skip");
  r.catchup_window_ms = Int(row, 8);
  r.jitter_ms = Int(row, 9);
  r.start_at_ms = OptInt(row, 10);
  r.end_at_ms = OptInt(row, 11);
  r.paused = Int(row, 12) != 0;
  r.note = row[13];
  r.next_fire_ms = OptInt(row, 14);
  r.next_due_ms = OptInt(row, 15);
  r.last_fire_ms = OptInt(row, 16);
  r.last_instance_id = row[17];
  r.buffered_fire_ms = OptInt(row, 18);
  r.recent_instances_json = row[19].value_or("[]");
  r.fired_count = Int(row, 20);
  r.missed_count = Int(row, 21);
  r.skipped_count = Int(row, 22);
  r.created_at_ms = Int(row, 23);
  r.updated_at_ms = Int(row, 24);
  return r;
}

SqlParam P(const std::optional<std::string>& v) { return v ? SqlParam(*v) : SqlParam(); }
SqlParam P(const std::optional<int64_t>& v) { return v ? SqlParam(*v) : SqlParam(); }

// Parameters $2..$17 of the definition columns, after $1 = schedule_id.
std::vector<SqlParam> DefinitionParams(const ScheduleRecord& r) {
  return {r.schedule_id,       r.orchestration,       P(r.version),        P(r.input),
          P(r.cron),           P(r.every_ms),         r.timezone,          r.overlap,
          r.catchup_window_ms, r.jitter_ms,           P(r.start_at_ms),    P(r.end_at_ms),
          int64_t{r.paused},   P(r.note),             P(r.next_fire_ms),   P(r.next_due_ms)};
}

Status CheckDefinition(const char* op, const ScheduleRecord& r) {
  if (r.schedule_id.empty()) return Status::InvalidArgument(op, "schedule_id must not be empty");
  if (!IsOverlapPolicy(r.overlap)) {
    return Status::InvalidArgument(op, "overlap: unknown policy '" + r.overlap + "'");
  }
  return Status::Ok();
}

WorkItem StartItem(const ScheduleRecord& r, const std::string& instance) {
  WorkItem w;
  w.kind = WorkItemKind::kStartOrchestration;
  w.instance = instance;
  w.name = r.orchestration;
  w.version = r.version;
  w.input = r.input.value_or("null");
  w.execution_id = 1;
  return w;
}

// Starts the occurrences, oldest first; returns the ids that were new.
std::vector<std::string> StartAll(ScheduleTx& tx, const ScheduleRecord& r,
                                  const std::vector<int64_t>& fires, FireOutcome* out) {
  std::vector<std::string> fresh;
  for (int64_t fire_ms : fires) {
    const std::string id = OccurrenceInstanceId(r.schedule_id, fire_ms);
    out->started.push_back(id);
    if (tx.InsertStart(StartItem(r, id))) fresh.push_back(id);
  }
  return fresh;
}

}  // namespace

const char* SchedulesTableSql() {
  return R"sql(
CREATE TABLE schedules (
  schedule_id        TEXT PRIMARY KEY,
  orchestration      TEXT NOT NULL,
  version            TEXT,
  input              TEXT,
  cron               TEXT,
  every_ms           BIGINT,
  timezone           TEXT NOT NULL,
  overlap            TEXT NOT NULL,
  catchup_window_ms  BIGINT NOT NULL,
  jitter_ms          BIGINT NOT NULL,
  start_at_ms        BIGINT,
  end_at_ms          BIGINT,
  paused             BIGINT NOT NULL DEFAULT 0,
  note               TEXT,
  next_fire_ms       BIGINT,
  next_due_ms        BIGINT,
  last_fire_ms       BIGINT,
  last_instance_id   TEXT,
  buffered_fire_ms   BIGINT,
  recent_instances   TEXT NOT NULL DEFAULT '[]',
  fired_count        BIGINT NOT NULL DEFAULT 0,
  missed_count       BIGINT NOT NULL DEFAULT 0,
  skipped_count      BIGINT NOT NULL DEFAULT 0,
  created_at         BIGINT NOT NULL,
  updated_at         BIGINT NOT NULL
);
CREATE INDEX idx_schedules_due ON schedules(next_due_ms);
CREATE INDEX idx_schedules_buffered ON schedules(buffered_fire_ms);
)sql";
}

bool IsOverlapPolicy(const std::string& overlap) {
  return overlap == "skip" || overlap == "buffer_one" || overlap == "allow_all" ||
         overlap == "cancel_other";
}

std::string OccurrenceInstanceId(const std::string& schedule_id, int64_t fire_ms) {
  return schedule_id + "@" + std::to_string(fire_ms);
}

std::string PrependRecent(const std::string& recent_json, const std::vector<std::string>& ids) {
  nlohmann::json old = nlohmann::json::parse(recent_json, nullptr, false);
  nlohmann::json out = nlohmann::json::array();
  for (auto it = ids.rbegin(); it != ids.rend() && out.size() < kRecentInstances; ++it) {
    out.push_back(*it);
  }
  if (old.is_array()) {
    for (const auto& v : old) {
      if (out.size() >= kRecentInstances) break;
      out.push_back(v);
    }
  }
  return out.dump();
}

FirePlan DecideFiring(const std::string& overlap, bool previous_running, bool has_buffered,
                      const std::vector<int64_t>& occurrences) {
  FirePlan p;
  const auto n = static_cast<int64_t>(occurrences.size());
  if (n == 0) return p;
  if (overlap == "allow_all") {
    p.start = occurrences;
  } else if (overlap == "cancel_other") {
    p.cancel_previous = previous_running;
    p.start = {occurrences.back()};
    p.skipped = n - 1;
  } else if (overlap == "buffer_one") {
    int64_t i = 0;
    if (!previous_running) p.start = {occurrences[i++]};
    if (i < n && !has_buffered) p.buffer = occurrences[static_cast<size_t>(i++)];
    p.skipped = n - i;
  } else {  // skip
    if (!previous_running) p.start = {occurrences.front()};
    p.skipped = previous_running ? n : n - 1;
  }
  return p;
}

Status ScheduleStore::Create(const ScheduleRecord& record) {
  const char* op = "create_schedule";
  if (Status bad = CheckDefinition(op, record); !bad.ok()) return bad;
  return Write(op, [&](ScheduleTx& tx) -> Status {
    if (!tx.Query("SELECT 1 FROM schedules WHERE schedule_id = $1", {record.schedule_id})
             .empty()) {
      return Status::AlreadyExists(op, "schedule '" + record.schedule_id + "' already exists");
    }
    std::vector<SqlParam> params = DefinitionParams(record);
    params.emplace_back(NowMs());
    tx.Exec(
        "INSERT INTO schedules(schedule_id, orchestration, version, input, cron, every_ms, "
        "  timezone, overlap, catchup_window_ms, jitter_ms, start_at_ms, end_at_ms, paused, "
        "  note, next_fire_ms, next_due_ms, created_at, updated_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17)",
        params);
    return Status::Ok();
  });
}

Status ScheduleStore::Update(const ScheduleRecord& record) {
  const char* op = "update_schedule";
  if (Status bad = CheckDefinition(op, record); !bad.ok()) return bad;
  return Write(op, [&](ScheduleTx& tx) -> Status {
    std::vector<SqlParam> params = DefinitionParams(record);
    params.emplace_back(NowMs());
    // Pausing drops a waiting buffered occurrence: nothing of a paused schedule starts.
    const int64_t n = tx.Exec(
        "UPDATE schedules SET orchestration = $2, version = $3, input = $4, cron = $5, "
        "  every_ms = $6, timezone = $7, overlap = $8, catchup_window_ms = $9, jitter_ms = $10, "
        "  start_at_ms = $11, end_at_ms = $12, paused = $13, note = $14, next_fire_ms = $15, "
        "  next_due_ms = $16, updated_at = $17, "
        "  buffered_fire_ms = CASE WHEN CAST($13 AS BIGINT) = 1 THEN NULL ELSE buffered_fire_ms END "
        "WHERE schedule_id = $1",
        params);
    if (n == 0) return Status::NotFound(op, "schedule '" + record.schedule_id + "' not found");
    return Status::Ok();
  });
}

Result<std::optional<ScheduleRecord>> ScheduleStore::Get(const std::string& schedule_id) {
  using Out = std::optional<ScheduleRecord>;
  return ReadTx<Out>(*backend_, "get_schedule", [&](ScheduleTx& tx, Out* out) -> Status {
    auto rows = tx.Query(std::string(kColumns) + "WHERE schedule_id = $1", {schedule_id});
    if (!rows.empty()) *out = RecordFrom(rows[0]);
    return Status::Ok();
  });
}

Result<std::vector<ScheduleRecord>> ScheduleStore::List() {
  using Out = std::vector<ScheduleRecord>;
  return ReadTx<Out>(*backend_, "list_schedules", [&](ScheduleTx& tx, Out* out) -> Status {
    for (const SqlRow& row : tx.Query(std::string(kColumns) + "ORDER BY schedule_id", {})) {
      out->push_back(RecordFrom(row));
    }
    return Status::Ok();
  });
}

Status ScheduleStore::Delete(const std::string& schedule_id) {
  const char* op = "delete_schedule";
  return Write(op, [&](ScheduleTx& tx) -> Status {
    if (tx.Exec("DELETE FROM schedules WHERE schedule_id = $1", {schedule_id}) == 0) {
      return Status::NotFound(op, "schedule '" + schedule_id + "' not found");
    }
    return Status::Ok();
  });
}

Result<std::vector<ScheduleRecord>> ScheduleStore::Due(int64_t now_ms, int64_t limit) {
  using Out = std::vector<ScheduleRecord>;
  return ReadTx<Out>(*backend_, "due_schedules", [&](ScheduleTx& tx, Out* out) -> Status {
    for (const SqlRow& row : tx.Query(std::string(kColumns) +
                                          "WHERE next_due_ms <= $1 AND paused = 0 "
                                          "ORDER BY next_due_ms LIMIT $2",
                                      {now_ms, limit})) {
      out->push_back(RecordFrom(row));
    }
    for (const SqlRow& row :
         tx.Query(std::string(kColumns) +
                      "WHERE buffered_fire_ms IS NOT NULL AND paused = 0 AND NOT " +
                      RunningPredicate("s.last_instance_id") + " LIMIT $1",
                  {limit})) {
      out->push_back(RecordFrom(row));
    }
    return Status::Ok();
  });
}

Result<std::optional<int64_t>> ScheduleStore::NextDueAt(int64_t now_ms) {
  Result<ScheduleWake> wake = NextWake(now_ms);
  if (!wake.ok()) return wake.status();
  return wake->next_due_ms;
}

Result<ScheduleWake> ScheduleStore::NextWake(int64_t now_ms) {
  return ReadTx<ScheduleWake>(*backend_, "next_schedule_due", [&](ScheduleTx& tx, ScheduleWake* out) -> Status {
    // 0: a buffered occurrence is ready (its previous run finished); 1: only waiting ones.
    auto buffered = tx.Query("SELECT MIN(CASE WHEN " + RunningPredicate("s.last_instance_id") +
                                 " THEN 1 ELSE 0 END) FROM schedules s "
                                 "WHERE buffered_fire_ms IS NOT NULL AND paused = 0",
                             {});
    if (!buffered.empty() && buffered[0][0]) {
      if (std::stoll(*buffered[0][0]) == 0) {
        out->next_due_ms = now_ms;
        return Status::Ok();
      }
      out->buffered_waiting = true;
    }
    auto rows = tx.Query("SELECT MIN(next_due_ms) FROM schedules WHERE paused = 0", {});
    if (!rows.empty() && rows[0][0]) out->next_due_ms = std::stoll(*rows[0][0]);
    return Status::Ok();
  });
}

Status ScheduleStore::Write(const char* op, const std::function<Status(ScheduleTx&)>& body) {
  Status st = backend_->RunScheduleTx(op, [&](ScheduleTx& tx) -> Status {
    Status s = body(tx);
    if (s.ok()) tx.AnnounceChange();
    return s;
  });
  if (st.ok()) changes_.Notify();
  return st;
}

Result<FireOutcome> ScheduleStore::Fire(const FireRequest& req) {
  const char* op = req.advance ? "fire_schedule" : "trigger_schedule";
  FireOutcome out;
  // A manual firing may leave a buffered occurrence waiting: the loops must look (Write).
  // A scheduled one announces nothing (ScheduleStore::changes()).
  auto run = [&](const std::function<Status(ScheduleTx&)>& body) {
    return req.advance ? backend_->RunScheduleTx(op, body) : Write(op, body);
  };
  Status st = run([&](ScheduleTx& tx) -> Status {
    out = FireOutcome{};
    auto rows = tx.Query(std::string(kColumns) + "WHERE schedule_id = $1" + tx.ClaimSuffix(req.advance),
                         {req.schedule_id});
    if (rows.empty()) {
      // Gone, or (PostgreSQL) locked by a runtime firing it now: not ours to fire.
      if (!req.advance) {
        return Status::NotFound(op, "schedule '" + req.schedule_id + "' not found");
      }
      return Status::Ok();
    }
    const ScheduleRecord r = RecordFrom(rows[0]);
    if (req.advance && (r.paused || r.next_fire_ms != req.expected_next_fire_ms)) {
      return Status::Ok();  // another runtime fired it, or it was paused/updated meanwhile
    }
    bool running = false;
    if (r.last_instance_id) {
      running = !tx.Query("SELECT 1 WHERE " + RunningPredicate("$1"), {*r.last_instance_id})
                     .empty();
    }
    std::vector<int64_t> starts;
    std::optional<int64_t> buffered = r.buffered_fire_ms;
    if (buffered && !running && !r.paused) {  // the waiting occurrence goes first
      starts.push_back(*buffered);
      buffered.reset();
      running = true;
    }
    const std::string policy = req.overlap.empty() ? r.overlap : req.overlap;
    FirePlan plan = DecideFiring(policy, running, buffered.has_value(), req.occurrences);
    starts.insert(starts.end(), plan.start.begin(), plan.start.end());
    if (plan.buffer) buffered = plan.buffer;
    if (plan.cancel_previous && r.last_instance_id) {
      WorkItem cancel;
      cancel.kind = WorkItemKind::kCancelInstance;
      cancel.instance = *r.last_instance_id;
      cancel.reason = "schedule '" + r.schedule_id + "': overlap policy cancel_other";
      tx.InsertOrchestratorMessage(cancel);
      out.cancelled = r.last_instance_id;
    }
    std::vector<std::string> fresh = StartAll(tx, r, starts, &out);
    if (plan.buffer) out.buffered = OccurrenceInstanceId(r.schedule_id, *plan.buffer);
    out.skipped = plan.skipped;
    out.missed = req.missed;
    std::optional<int64_t> last_fire = r.last_fire_ms;
    for (int64_t t : req.occurrences) last_fire = std::max(last_fire.value_or(t), t);
    std::optional<std::string> last_instance = r.last_instance_id;
    if (!out.started.empty()) last_instance = out.started.back();
    tx.Exec(
        "UPDATE schedules SET next_fire_ms = $2, next_due_ms = $3, last_fire_ms = $4, "
        "  last_instance_id = $5, buffered_fire_ms = $6, recent_instances = $7, "
        "  fired_count = fired_count + $8, missed_count = missed_count + $9, "
        "  skipped_count = skipped_count + $10 WHERE schedule_id = $1",
        {r.schedule_id, P(req.advance ? req.new_next_fire_ms : r.next_fire_ms),
         P(req.advance ? req.new_next_due_ms : r.next_due_ms), P(last_fire), P(last_instance),
         P(buffered), PrependRecent(r.recent_instances_json, fresh),
         static_cast<int64_t>(fresh.size()), req.missed, plan.skipped});
    out.applied = true;
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace duroxide::providers
