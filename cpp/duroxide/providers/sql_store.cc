// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/providers/sql_store.h"

#include <string>
#include <vector>

#include "duroxide/common/clock.h"
#include "duroxide/history/work_item.h"
#include "duroxide/providers/provider_ops.h"
#include "duroxide/providers/store_common.h"

namespace duroxide::providers {

namespace {

// store_common.h's row adapter over a row of OpsTx::Query (every value as text).
class TextRow {
 public:
  explicit TextRow(const OpsTx::Row& row) : row_(row) {}
  bool Null(int i) const { return !At(i); }
  std::string Text(int i) const { return At(i).value_or(std::string()); }
  int64_t Int(int i) const { return std::stoll(*At(i)); }
  bool Bool(int i) const { return Int(i) != 0; }

 private:
  const std::optional<std::string>& At(int i) const { return row_.at(static_cast<size_t>(i)); }
  const OpsTx::Row& row_;
};

// The single row of a one-row statement (an aggregate): `sql` with `params`, mapped by `from`.
template <typename T, typename From>
Result<T> ReadOneRow(Provider& p, const char* op, const char* sql,
                     const std::vector<OpsTx::Param>& params, From from) {
  T out{};
  Status st = p.RunOps(op, /*write=*/false, [&](OpsTx& tx, OpsWake*) -> Status {
    const std::vector<OpsTx::Row> rows = tx.Query(sql, params);
    if (!rows.empty()) out = from(TextRow(rows[0]));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace

Status SqlStore::StartOrchestration(const history::WorkItem& start) {
  const char* op = "StartOrchestration";
  if (start.kind != history::WorkItemKind::kStartOrchestration) {
    return Status::InvalidArgument(op, std::string("expected StartOrchestration, got ") +
                                           history::WorkItemKindName(start.kind));
  }
  Status st = WriteStart(op, start);
  if (st.ok()) orchestrator_signal().Notify(1);
  return st;
}

Status SqlStore::EnqueueOrchestratorMessage(const history::WorkItem& item, int64_t delay_ms) {
  const char* op = "EnqueueOrchestratorMessage";
  if (item.kind == history::WorkItemKind::kActivityExecute) {
    return Status::InvalidArgument(op, "ActivityExecute belongs to the worker queue");
  }
  Status st = WriteOrchestratorMessage(op, item, delay_ms);
  if (st.ok()) orchestrator_signal().Notify(1);
  return st;
}

Status SqlStore::AbandonOrchestrationItem(const std::string& lock_token, int64_t delay_ms,
                                          bool ignore_attempt) {
  const char* op = "AbandonOrchestrationItem";
  const std::optional<int64_t> visible_at =
      delay_ms > 0 ? std::optional<int64_t>(NowMs() + delay_ms) : std::nullopt;
  Result<bool> released = AbandonInstanceLock(op, lock_token, visible_at, ignore_attempt);
  if (!released.ok()) return released.status();
  if (!*released) return store::InstanceLockUnknown(op, lock_token);
  orchestrator_signal().Notify(1);
  return Status::Ok();
}

Status SqlStore::RenewOrchestrationItemLock(const std::string& lock_token, int64_t extend_ms) {
  const char* op = "RenewOrchestrationItemLock";
  const int64_t now = NowMs();
  Result<bool> renewed = RenewInstanceLock(op, lock_token, now + extend_ms, now);
  if (!renewed.ok()) return renewed.status();
  return *renewed ? Status::Ok() : store::InstanceLockGone(op, lock_token);
}

Result<std::vector<history::Event>> SqlStore::ReadHistory(const std::string& instance,
                                                          int64_t execution_id) {
  const char* op = "ReadHistory";
  std::vector<std::string> rows;
  DUROXIDE_RETURN_IF_ERROR(ReadHistoryRows(op, instance, execution_id, &rows));
  return store::DecodeHistory(op, instance, rows);
}

Result<std::optional<int64_t>> SqlStore::NextOrchestratorVisibleAt() {
  return NextVisibleAt("NextOrchestratorVisibleAt", /*worker_queue=*/false, NowMs());
}

Result<std::optional<int64_t>> SqlStore::NextWorkerVisibleAt() {
  return NextVisibleAt("NextWorkerVisibleAt", /*worker_queue=*/true, NowMs());
}

Result<SystemMetrics> SqlStore::GetSystemMetrics() {
  return ReadOneRow<SystemMetrics>(*this, "GetSystemMetrics", store::kSystemMetricsSelect, {},
                                   store::SystemMetricsFrom<TextRow>);
}

Result<QueueDepths> SqlStore::GetQueueDepths() {
  // Pending work only (store::kQueueDepthsSelect).
  return ReadOneRow<QueueDepths>(*this, "GetQueueDepths", store::kQueueDepthsSelect, {NowMs()},
                                 store::QueueDepthsFrom<TextRow>);
}

Result<std::optional<InstanceStats>> SqlStore::GetInstanceStats(const std::string& instance) {
  std::optional<InstanceStats> out;
  // One read transaction, so both statements see the same snapshot where the dialect gives one
  // (the figures are informational either way).
  Status st = RunOps("GetInstanceStats", /*write=*/false, [&](OpsTx& tx, OpsWake*) -> Status {
    const std::vector<OpsTx::Row> head = tx.Query(store::kInstanceStatsSelect, {instance});
    if (head.empty()) return Status::Ok();  // an unknown instance
    store::InstanceStatsBuilder stats{TextRow(head[0])};
    for (const OpsTx::Row& row : tx.Query(store::kInstanceKvSizesSelect, {instance})) {
      stats.AddKvRow(TextRow(row));
    }
    out = stats.Build();
    return Status::Ok();
  });
  if (!st.ok()) return st;
  return out;
}

}  // namespace duroxide::providers
