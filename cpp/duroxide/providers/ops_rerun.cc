// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Verified rerun (ops_common.h Rerun): copies a history prefix into a new instance in one
// transaction of the provider, with the SQL written once for both dialects.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "duroxide/common/clock.h"
#include "duroxide/history/codec.h"
#include "duroxide/providers/ops_common.h"

namespace duroxide::providers::ops {

namespace {

using history::Event;
using history::EventKind;
using history::WorkItem;
using history::WorkItemKind;

bool Ended(const std::string& status) { return status == "Completed" || status == "Failed"; }

// The prefix the new instance starts from: the events before from_event_id, without the
// events its code emitted after the last arrival (the first turn emits them again, after
// replaying - and so verifying - the rest).
std::vector<Event> Prefix(const std::vector<Event>& events, int64_t from_event_id) {
  std::vector<Event> prefix;
  for (const Event& e : events) {
    if (e.event_id < from_event_id) prefix.push_back(e);
  }
  while (prefix.size() > 1 && !history::IsArrival(prefix.back().kind)) prefix.pop_back();
  return prefix;
}

// What the prefix still waits for, as queue rows to write: unfired timers (orchestrator
// queue). Unfinished activities are queued by the first turn (Copy). An unfinished
// sub-orchestration cannot be copied (its child belongs to the source): reported through
// *child.
struct OpenWork {
  std::vector<WorkItem> timers;
  std::string child;
};

OpenWork OpenWorkOf(const std::vector<Event>& prefix, const std::string& instance) {
  std::map<int64_t, const Event*> open;
  for (const Event& e : prefix) {
    if (e.kind == EventKind::kTimerCreated || e.kind == EventKind::kSubOrchestrationScheduled) {
      open[e.event_id] = &e;
    } else if (e.source_event_id && (history::IsArrival(e.kind) ||
                                     e.kind == EventKind::kSubOrchestrationCancelRequested)) {
      open.erase(*e.source_event_id);
    }
  }
  OpenWork out;
  for (const auto& [id, e] : open) {
    if (e->kind == EventKind::kTimerCreated) {
      WorkItem w;
      w.kind = WorkItemKind::kTimerFired;
      w.instance = instance;
      w.execution_id = 1;
      w.id = id;
      w.fire_at_ms = e->fire_at_ms;
      out.timers.push_back(std::move(w));
    } else if (out.child.empty()) {
      out.child = e->instance;
    }
  }
  return out;
}

Status Copy(OpsTx& tx, const std::string& new_id, const std::vector<Event>& prefix,
            const OpenWork& work, int64_t now) {
  const Event& started = prefix.front();
  tx.Query("INSERT INTO instances(instance_id, orchestration_name, orchestration_version, "
           "current_execution_id, created_at, updated_at) VALUES ($1, $2, $3, 1, $4, $4)",
           {new_id, started.name, started.version.value_or("1.0.0"), now});
  tx.Query("INSERT INTO executions(instance_id, execution_id, status, started_at) "
           "VALUES ($1, 1, 'Running', $2)",
           {new_id, now});
  for (const Event& e : prefix) {
    tx.Query("INSERT INTO history(instance_id, execution_id, event_id, event_type, event_data, "
             "created_at) VALUES ($1, 1, $2, $3, $4, $5)",
             {new_id, e.event_id, std::string(history::EventKindName(e.kind)),
              history::EncodeEvent(e), now});
  }
  // Unfinished activities are not queued here: the first turn queues them from the code's
  // own descriptors (ReplayEngine::SetRequeueOpenActivities), so they keep their capability
  // routing, tag and priority, and only once the code is verified to follow the copy.
  // The rerun marker first: it makes a runtime take the first turn at once (ops_common.h).
  WorkItem marker;
  marker.kind = WorkItemKind::kExternalRaised;
  marker.instance = new_id;
  marker.name = kRerunMarker;
  marker.data = "null";
  std::vector<std::pair<WorkItem, int64_t>> messages = {{marker, now}};
  for (const WorkItem& w : work.timers) messages.emplace_back(w, w.fire_at_ms);
  for (const auto& [w, visible_at] : messages) {
    tx.Query("INSERT INTO orchestrator_queue(instance_id, kind, work_item, visible_at, "
             "attempt_count, created_at) VALUES ($1, $2, $3, $4, 0, $5)",
             {new_id, std::string(history::WorkItemKindName(w.kind)), history::EncodeWorkItem(w),
              visible_at, now});
  }
  return Status::Ok();
}

}  // namespace

Status Rerun(Provider& p, const std::string& source, const std::string& new_id,
             int64_t from_event_id, const std::optional<std::string>& input) {
  const char* op = "rerun";
  return p.RunOps(op, true, [&](OpsTx& tx, OpsWake* wake) -> Status {
    auto src = tx.Query(
        "SELECT e.status, i.current_execution_id FROM instances i JOIN executions e "
        "ON e.instance_id = i.instance_id AND e.execution_id = i.current_execution_id "
        "WHERE i.instance_id = $1",
        {source});
    if (src.empty()) return Status::NotFound(op, "Instance " + source + " not found");
    const std::string status = src[0][0].value_or("Running");
    if (!Ended(status)) {
      return Status::FailedPrecondition(
          op, "instance " + source + " is " + status + ": only an ended instance can be rerun");
    }
    if (!tx.Query("SELECT 1 FROM instances WHERE instance_id = $1", {new_id}).empty() ||
        !tx.Query("SELECT 1 FROM orchestrator_queue WHERE instance_id = $1", {new_id}).empty()) {
      return Status::AlreadyExists(op, "instance " + new_id + " already exists");
    }
    std::vector<Event> events;
    for (const auto& row : tx.Query("SELECT event_data FROM history WHERE instance_id = $1 "
                                    "AND execution_id = $2 ORDER BY event_id",
                                    {source, std::stoll(src[0][1].value_or("1"))})) {
      auto e = history::DecodeEvent(row[0].value_or(""));
      if (!e.ok()) return e.status();
      events.push_back(std::move(e).value());
    }
    const int64_t last = events.empty() ? 0 : events.back().event_id;
    if (from_event_id < 2 || from_event_id > last + 1) {
      return Status::InvalidArgument(
          op, "from_event_id " + std::to_string(from_event_id) + " is outside the history of " +
                  source + " (events 1.." + std::to_string(last) + "; use 2.." +
                  std::to_string(last + 1) + ")");
    }
    std::vector<Event> prefix = Prefix(events, from_event_id);
    if (prefix.empty() || prefix.front().kind != EventKind::kOrchestrationStarted) {
      return Status::FailedPrecondition(op, "the history of " + source + " has no start");
    }
    // Whatever ended the source is not part of a prefix: a rerun continues.
    while (prefix.size() > 1 && history::IsTerminal(prefix.back().kind)) prefix.pop_back();
    Event& started = prefix.front();
    if (input) started.input = *input;
    started.parent_instance.reset();  // a rerun is a root: it reports to nobody
    started.parent_execution_id = started.parent_id = 0;
    const OpenWork work = OpenWorkOf(prefix, new_id);
    if (!work.child.empty()) {
      return Status::FailedPrecondition(
          op, "the prefix waits for sub-orchestration " + work.child +
                  ", which belongs to " + source + "; rerun from before its start");
    }
    Status st = Copy(tx, new_id, prefix, work, NowMs());
    if (!st.ok()) return st;
    wake->orchestrator = true;
    wake->instance = new_id;
    return Status::Ok();
  });
}

}  // namespace duroxide::providers::ops
