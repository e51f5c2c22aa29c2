// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/providers/provider_fleet.h"

namespace duroxide::providers {

std::string EffectiveWorkerStatus(const WorkerRecord& record, int64_t now_ms) {
  if (record.status == "stopped") return record.status;
  const int64_t interval = record.heartbeat_interval_ms > 0 ? record.heartbeat_interval_ms : 5000;
  if (now_ms - record.last_heartbeat_ms > kUnreachableAfterIntervals * interval) {
    return "unreachable";
  }
  return record.status;
}

bool WorkerIsLive(const WorkerRecord& record, int64_t now_ms) {
  return EffectiveWorkerStatus(record, now_ms) == "active";
}

}  // namespace duroxide::providers
