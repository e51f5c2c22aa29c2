// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// SqlStore: what SqliteProvider and PostgresProvider have in common as classes. Both are a
// Provider that is also its own ProviderAdmin, MessagingStore, WorkerRegistryStore and
// DumpSource, and serves the schedule and limit stores over its own ScheduleBackend
// (RunScheduleTx). Each declares the methods of those interfaces by including
// sql_store_overrides.inc in its class body.
#ifndef DUROXIDE_PROVIDERS_SQL_STORE_H_
#define DUROXIDE_PROVIDERS_SQL_STORE_H_

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

 protected:
  SqlStore() = default;

 private:
  // They only keep the backend pointer: using them before the derived class is constructed,
  // or after it is destroyed, is a bug.
  ScheduleStore schedules_{this};
  LimitStore limits_{this};
};

}  // namespace duroxide::providers

#endif  // DUROXIDE_PROVIDERS_SQL_STORE_H_
