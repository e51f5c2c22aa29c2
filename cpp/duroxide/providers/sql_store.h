// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// SqlStore: what SqliteProvider and PostgresProvider have in common as classes. Both are a
// Provider that is also its own ProviderAdmin, MessagingStore, WorkerRegistryStore and
// DumpSource, and serves the schedule and limit stores over its own ScheduleBackend
// (RunScheduleTx). The admin reads that are one shared statement are defined here, over the
// provider's RunOps (provider_ops.h). Each declares the methods of those interfaces by including
// sql_store_overrides.inc in its class body.
#ifndef DUROXIDE_PROVIDERS_SQL_STORE_H_
#define DUROXIDE_PROVIDERS_SQL_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "duroxide/providers/limit_store.h"
#include "duroxide/providers/provider.h"
#include "duroxide/providers/schedule_store.h"
#include "duroxide/providers/store_dump.h"

namespace duroxide::providers {

class SqlStore : public Provider, public ProviderAdmin, public MessagingStore,
                 public WorkerRegistryStore, public dump::DumpSource, protected ScheduleBackend {
 public:
  ProviderAdmin* admin() override { return this; }
  MessagingStore* messaging() override { return this; }
  WorkerRegistryStore* workers() override { return this; }
  ScheduleStore* schedules() override { return &schedules_; }
  LimitStore* limits() override { return &limits_; }

  // The admin figures, written once (sql_store.cc): the shared SQL of store_common.h run in
  // one read transaction of the dialect's RunOps.
  Result<SystemMetrics> GetSystemMetrics() final;
  Result<QueueDepths> GetQueueDepths() final;
  Result<std::optional<InstanceStats>> GetInstanceStats(const std::string& instance) final;

  // The client writes of the orchestrator queue (sql_store.cc): the item is checked before
  // anything is written (kInvalidArgument), the dialect writes it (WriteStart,
  // WriteOrchestratorMessage), and one orchestration dispatcher of this process is woken once
  // it is committed.
  Status StartOrchestration(const history::WorkItem& start) final;
  Status EnqueueOrchestratorMessage(const history::WorkItem& item, int64_t delay_ms) final;

  // The orchestration lock's abandon and renewal: the dialect updates the rows
  // (AbandonInstanceLock, RenewInstanceLock), the statuses and the wake-up are here.
  Status AbandonOrchestrationItem(const std::string& lock_token, int64_t delay_ms,
                                  bool ignore_attempt) final;
  Status RenewOrchestrationItemLock(const std::string& lock_token, int64_t extend_ms) final;

  // The stored texts of the execution's events (ReadHistoryRows), decoded after the
  // connection is released.
  Result<std::vector<history::Event>> ReadHistory(const std::string& instance,
                                                  int64_t execution_id) final;

  // NextVisibleAt of the orchestrator queue and of the worker queue, as of now.
  Result<std::optional<int64_t>> NextOrchestratorVisibleAt() final;
  Result<std::optional<int64_t>> NextWorkerVisibleAt() final;

 protected:
  SqlStore() = default;

  // The dialect halves of the client writes, each committed on its own (operation `op`):
  // queue the StartOrchestration `start` unless its instance exists or has a queued start
  // (then store::InstanceExists); queue `item`, visible after `delay_ms` (<= 0: at once).
  // Other processes are notified as the dialect does for every new work.
  virtual Status WriteStart(const char* op, const history::WorkItem& start) = 0;
  virtual Status WriteOrchestratorMessage(const char* op, const history::WorkItem& item,
                                          int64_t delay_ms) = 0;
  // Releases the orchestration lock `lock_token` and puts the messages it held back in the
  // queue, visible at `visible_at` (nullopt: as they were), their attempt not counted when
  // `ignore_attempt`; other processes are notified. False (nothing written) when no lock has
  // that token.
  virtual Result<bool> AbandonInstanceLock(const char* op, const std::string& lock_token,
                                           std::optional<int64_t> visible_at,
                                           bool ignore_attempt) = 0;
  // Extends the lock `lock_token` to `until`; false when it is unknown or expired at `now`.
  virtual Result<bool> RenewInstanceLock(const char* op, const std::string& lock_token,
                                         int64_t until, int64_t now) = 0;
  // The earliest visible_at of the orchestrator queue's messages (`worker_queue` false) or the
  // worker queue's rows that no live lock holds at `now` (Provider::NextOrchestratorVisibleAt,
  // NextWorkerVisibleAt); nullopt when there are none.
  virtual Result<std::optional<int64_t>> NextVisibleAt(const char* op, bool worker_queue,
                                                       int64_t now) = 0;
  // The event_data texts of `instance`'s execution `execution_id`, in event order.
  virtual Status ReadHistoryRows(const char* op, const std::string& instance,
                                 int64_t execution_id, std::vector<std::string>* rows) = 0;

 private:
  // They only keep the backend pointer: using them before the derived class is constructed,
  // or after it is destroyed, is a bug.
  ScheduleStore schedules_{this};
  LimitStore limits_{this};
};

}  // namespace duroxide::providers

#endif  // DUROXIDE_PROVIDERS_SQL_STORE_H_
