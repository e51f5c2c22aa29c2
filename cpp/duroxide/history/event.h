// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// History events: the durable record of one execution of an orchestration instance.
// An execution's history is append-only; event_id is assigned by the replay engine (never by
// a provider), starts at 1 with OrchestrationStarted and grows by one per event.
//
// Event is a flat value type: each kind uses a subset of the fields (listed next to the kind).
// The JSON encoding (event_codec.h) writes only the fields of the event's kind.
#ifndef DUROXIDE_HISTORY_EVENT_H_
#define DUROXIDE_HISTORY_EVENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "duroxide/history/error_details.h"

namespace duroxide::history {

enum class EventKind {
  kOrchestrationStarted,          // name, version, input, parent_*, carry_forward, custom_status
  kOrchestrationCompleted,        // output (data)
  kOrchestrationFailed,           // error
  kOrchestrationContinuedAsNew,   // input
  kOrchestrationCancelRequested,  // reason
  kActivityScheduled,             // name, input, session_id, tag
  kActivityCompleted,             // source, data (result), worker*, from_cache
  kActivityFailed,                // source, error, worker*
  kActivityCancelRequested,       // source, reason
  kTimerCreated,                  // fire_at_ms
  kTimerFired,                    // source, fire_at_ms
  kExternalSubscribed,            // name
  kExternalEvent,                 // name, data
  kExternalSubscribedCancelled,   // source, reason
  kQueueSubscribed,               // name
  kQueueEventDelivered,           // name, data
  kQueueSubscriptionCancelled,    // source, reason
  kSubOrchestrationScheduled,     // name, version, instance, input
  kSubOrchestrationCompleted,     // source, data (result)
  kSubOrchestrationFailed,        // source, error
  kSubOrchestrationCancelRequested,  // source, reason
  kOrchestrationChained,          // name, version, instance, input
  kCustomStatusUpdated,           // status (nullopt = cleared)
  kKeyValueSet,                   // key, value, last_updated_at_ms
  kKeyValueCleared,               // key
  kKeyValuesCleared,              // -
  // Messaging (docs/messaging.md). Emitted, matched on replay; their side effects are written
  // with the turn that records them.
  kMessageSent,                   // instance (target), name (queue), data, meta
  kEventPublished,                // name (topic), data, meta
  kTopicSubscribed,               // name (topic)
  kTopicUnsubscribed,             // name (topic)
};

// Stable names, used as the "type" tag in JSON and as Event.kind in the Python admin API.
const char* EventKindName(EventKind kind);
// Also accepts the legacy tags of the reference format (ExternalSubscribedPersistent, ...).
bool EventKindFromName(const std::string& name, EventKind* out);

// True for events that arrive from outside the orchestration's code (completions, timers
// firing, external and queue events, cancel requests). All other events after
// OrchestrationStarted, except the terminal ones, are emitted by the replay engine in a
// deterministic order and are matched one by one on replay.
bool IsArrival(EventKind kind);
bool IsTerminal(EventKind kind);

struct Event {
  int64_t event_id = 0;
  std::optional<int64_t> source_event_id;
  int64_t timestamp_ms = 0;
  EventKind kind = EventKind::kOrchestrationStarted;

  std::string name;
  std::optional<std::string> version;
  std::string input;
  std::string data;      // activity/sub-orchestration result, event data, orchestration output
  std::string instance;  // child instance (sub-orchestration, chained start)
  ErrorDetails error;
  std::optional<std::string> session_id;
  std::optional<std::string> tag;
  int64_t fire_at_ms = 0;
  std::string reason;
  std::optional<std::string> status;  // CustomStatusUpdated
  std::string key;
  std::string value;
  int64_t last_updated_at_ms = 0;
  // ActivityCompleted/Failed: which worker ran the attempt ("" = unknown, e.g. old history).
  std::string worker;
  std::string worker_runtime;
  bool from_cache = false;  // ActivityCompleted: served from the task cache, nothing ran
  // Messaging metadata as JSON text ("" = none): sender, message_id, sent_at_ms, topic,
  // request fields. Carried by QueueEventDelivered, MessageSent and EventPublished.
  std::string meta;

  // OrchestrationStarted only.
  std::optional<std::string> parent_instance;
  int64_t parent_execution_id = 0;
  int64_t parent_id = 0;
  std::vector<std::pair<std::string, std::string>> carry_forward;  // queue name, data
  // Parallel to carry_forward when any carried message has metadata (else empty).
  std::vector<std::string> carry_forward_meta;
  std::optional<std::string> initial_custom_status;
  // The W3C traceparent of the start ("" = none; histories written before it have none):
  // the trace the execution's spans continue (docs/observability.md). Copied from the start
  // or continue-as-new work item; opaque to the core.
  std::string trace_context;
};

// An event of `kind` naming `name` (activity, orchestration, queue, topic; "" for kinds
// without a name). The replay engine assigns event_id and timestamp_ms when it records it.
inline Event NamedEvent(EventKind kind, std::string name = {}) {
  Event e;
  e.kind = kind;
  e.name = std::move(name);
  return e;
}

}  // namespace duroxide::history

#endif  // DUROXIDE_HISTORY_EVENT_H_
