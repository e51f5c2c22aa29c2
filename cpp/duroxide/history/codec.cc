// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/history/codec.h"

#include <array>

namespace duroxide::history {
namespace {

using nlohmann::json;

struct KindName {
  EventKind kind;
  const char* name;
};

constexpr std::array<KindName, 30> kEventKinds = {{
    {EventKind::kOrchestrationStarted, "OrchestrationStarted"},
    {EventKind::kOrchestrationCompleted, "OrchestrationCompleted"},
    {EventKind::kOrchestrationFailed, "OrchestrationFailed"},
    {EventKind::kOrchestrationContinuedAsNew, "OrchestrationContinuedAsNew"},
    {EventKind::kOrchestrationCancelRequested, "OrchestrationCancelRequested"},
    {EventKind::kActivityScheduled, "ActivityScheduled"},
    {EventKind::kActivityCompleted, "ActivityCompleted"},
    {EventKind::kActivityFailed, "ActivityFailed"},
    {EventKind::kActivityCancelRequested, "ActivityCancelRequested"},
    {EventKind::kTimerCreated, "TimerCreated"},
    {EventKind::kTimerFired, "TimerFired"},
    {EventKind::kExternalSubscribed, "ExternalSubscribed"},
    {EventKind::kExternalEvent, "ExternalEvent"},
    {EventKind::kExternalSubscribedCancelled, "ExternalSubscribedCancelled"},
    {EventKind::kQueueSubscribed, "QueueSubscribed"},
    {EventKind::kQueueEventDelivered, "QueueEventDelivered"},
    {EventKind::kQueueSubscriptionCancelled, "QueueSubscriptionCancelled"},
    {EventKind::kSubOrchestrationScheduled, "SubOrchestrationScheduled"},
    {EventKind::kSubOrchestrationCompleted, "SubOrchestrationCompleted"},
    {EventKind::kSubOrchestrationFailed, "SubOrchestrationFailed"},
    {EventKind::kSubOrchestrationCancelRequested, "SubOrchestrationCancelRequested"},
    {EventKind::kOrchestrationChained, "OrchestrationChained"},
    {EventKind::kCustomStatusUpdated, "CustomStatusUpdated"},
    {EventKind::kKeyValueSet, "KeyValueSet"},
    {EventKind::kKeyValueCleared, "KeyValueCleared"},
    {EventKind::kKeyValuesCleared, "KeyValuesCleared"},
    {EventKind::kMessageSent, "MessageSent"},
    {EventKind::kEventPublished, "EventPublished"},
    {EventKind::kTopicSubscribed, "TopicSubscribed"},
    {EventKind::kTopicUnsubscribed, "TopicUnsubscribed"},
}};

struct ItemName {
  WorkItemKind kind;
  const char* name;
};

constexpr std::array<ItemName, 11> kItemKinds = {{
    {WorkItemKind::kStartOrchestration, "StartOrchestration"},
    {WorkItemKind::kContinueAsNew, "ContinueAsNew"},
    {WorkItemKind::kActivityExecute, "ActivityExecute"},
    {WorkItemKind::kActivityCompleted, "ActivityCompleted"},
    {WorkItemKind::kActivityFailed, "ActivityFailed"},
    {WorkItemKind::kTimerFired, "TimerFired"},
    {WorkItemKind::kExternalRaised, "ExternalRaised"},
    {WorkItemKind::kQueueMessage, "QueueMessage"},
    {WorkItemKind::kSubOrchCompleted, "SubOrchCompleted"},
    {WorkItemKind::kSubOrchFailed, "SubOrchFailed"},
    {WorkItemKind::kCancelInstance, "CancelInstance"},
}};

void PutOpt(json& j, const char* key, const std::optional<std::string>& v) {
  if (v) j[key] = *v;
}

// Typed field readers: they throw json::exception on a wrong type, which the decoders turn
// into a kDataLoss Status.
std::string Str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::string();
  return it->get<std::string>();
}
std::optional<std::string> OptStr(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return it->get<std::string>();
}
int64_t Int(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return 0;
  return JsonToInt64(*it, key);
}
ErrorDetails Err(const json& j, const char* key) {
  ErrorDetails e;
  auto it = j.find(key);
  if (it == j.end() || !ErrorDetails::FromJson(*it, &e)) {
    throw std::runtime_error(std::string("missing or malformed error details in '") + key + "'");
  }
  return e;
}
json CarryToJson(const std::vector<std::pair<std::string, std::string>>& carry) {
  json arr = json::array();
  for (const auto& [n, d] : carry) arr.push_back(json::array({n, d}));
  return arr;
}
std::vector<std::pair<std::string, std::string>> CarryFromJson(const json& j, const char* key) {
  std::vector<std::pair<std::string, std::string>> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  for (const auto& e : *it) out.emplace_back(e.at(0).get<std::string>(), e.at(1).get<std::string>());
  return out;
}

// Activity completions: which worker ran the attempt, and cache hits. Written only when set,
// so histories without them keep their exact encoding.
void PutWorker(json& j, const std::string& worker, const std::string& runtime, bool from_cache) {
  if (!worker.empty()) j["worker"] = worker;
  if (!runtime.empty()) j["worker_runtime"] = runtime;
  if (from_cache) j["from_cache"] = true;
}
void GetWorker(const json& j, std::string* worker, std::string* runtime, bool* from_cache) {
  *worker = Str(j, "worker");
  *runtime = Str(j, "worker_runtime");
  auto it = j.find("from_cache");
  *from_cache = it != j.end() && it->is_boolean() && it->get<bool>();
}

// The "routing" object of an ActivityExecute. Providers read these same keys (the PostgreSQL
// worker-queue trigger reads schema_hash, deadline_ms, avoid and avoid_until_ms).
json RoutingToJson(const ActivityRouting& r) {
  json o;
  o["schema"] = r.schema;
  o["schema_hash"] = r.schema_hash;
  o["deadline_ms"] = r.deadline_ms;
  o["avoid"] = r.avoid;
  o["avoid_until_ms"] = r.avoid_until_ms;
  return o;
}
ActivityRouting RoutingFromJson(const json& o) {
  ActivityRouting r;
  r.schema = Str(o, "schema");
  r.schema_hash = Str(o, "schema_hash");
  r.deadline_ms = Int(o, "deadline_ms");
  auto it = o.find("avoid");
  if (it != o.end() && it->is_array()) r.avoid = it->get<std::vector<std::string>>();
  r.avoid_until_ms = Int(o, "avoid_until_ms");
  return r;
}

void PutMeta(json& j, const std::string& meta) {
  if (!meta.empty()) j["meta"] = meta;
}
json CarryMetaToJson(const std::vector<std::string>& metas) {
  json arr = json::array();
  for (const auto& m : metas) arr.push_back(m);
  return arr;
}
std::vector<std::string> CarryMetaFromJson(const json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return out;
  for (const auto& e : *it) out.push_back(e.get<std::string>());
  return out;
}

}  // namespace

const char* EventKindName(EventKind kind) {
  for (const auto& k : kEventKinds) {
    if (k.kind == kind) return k.name;
  }
  return "Unknown";
}

bool EventKindFromName(const std::string& name, EventKind* out) {
  for (const auto& k : kEventKinds) {
    if (name == k.name) {
      *out = k.kind;
      return true;
    }
  }
  if (name == "ExternalSubscribedPersistent") *out = EventKind::kQueueSubscribed;
  else if (name == "ExternalEventPersistent") *out = EventKind::kQueueEventDelivered;
  else if (name == "ExternalSubscribedPersistentCancelled") *out = EventKind::kQueueSubscriptionCancelled;
  else return false;
  return true;
}

bool IsArrival(EventKind kind) {
  switch (kind) {
    case EventKind::kActivityCompleted:
    case EventKind::kActivityFailed:
    case EventKind::kTimerFired:
    case EventKind::kExternalEvent:
    case EventKind::kQueueEventDelivered:
    case EventKind::kSubOrchestrationCompleted:
    case EventKind::kSubOrchestrationFailed:
    case EventKind::kOrchestrationCancelRequested:
      return true;
    default:
      return false;
  }
}

bool IsTerminal(EventKind kind) {
  return kind == EventKind::kOrchestrationCompleted || kind == EventKind::kOrchestrationFailed ||
         kind == EventKind::kOrchestrationContinuedAsNew;
}

const char* WorkItemKindName(WorkItemKind kind) {
  for (const auto& k : kItemKinds) {
    if (k.kind == kind) return k.name;
  }
  return "Unknown";
}

bool WorkItemKindFromName(const std::string& name, WorkItemKind* out) {
  for (const auto& k : kItemKinds) {
    if (name == k.name) {
      *out = k.kind;
      return true;
    }
  }
  return false;
}

std::string EncodeEvent(const Event& e) {
  json j;
  j["event_id"] = e.event_id;
  if (e.source_event_id) j["source_event_id"] = *e.source_event_id;
  j["timestamp_ms"] = e.timestamp_ms;
  j["type"] = EventKindName(e.kind);
  switch (e.kind) {
    case EventKind::kOrchestrationStarted:
      j["name"] = e.name;
      PutOpt(j, "version", e.version);
      j["input"] = e.input;
      PutOpt(j, "parent_instance", e.parent_instance);
      if (e.parent_instance) {
        j["parent_execution_id"] = e.parent_execution_id;
        j["parent_id"] = e.parent_id;
      }
      if (!e.carry_forward.empty()) j["carry_forward_events"] = CarryToJson(e.carry_forward);
      if (!e.carry_forward_meta.empty()) j["carry_forward_meta"] = CarryMetaToJson(e.carry_forward_meta);
      PutOpt(j, "initial_custom_status", e.initial_custom_status);
      if (!e.trace_context.empty()) j["trace_context"] = e.trace_context;
      break;
    case EventKind::kOrchestrationCompleted:
      j["output"] = e.data;
      break;
    case EventKind::kOrchestrationFailed:
    case EventKind::kActivityFailed:
    case EventKind::kSubOrchestrationFailed:
      j["details"] = e.error.ToJson();
      PutWorker(j, e.worker, e.worker_runtime, false);
      break;
    case EventKind::kOrchestrationContinuedAsNew:
      j["input"] = e.input;
      PutOpt(j, "version", e.version);
      break;
    case EventKind::kOrchestrationCancelRequested:
    case EventKind::kActivityCancelRequested:
    case EventKind::kExternalSubscribedCancelled:
    case EventKind::kQueueSubscriptionCancelled:
    case EventKind::kSubOrchestrationCancelRequested:
      j["reason"] = e.reason;
      break;
    case EventKind::kActivityScheduled:
      j["name"] = e.name;
      j["input"] = e.input;
      PutOpt(j, "session_id", e.session_id);
      PutOpt(j, "tag", e.tag);
      break;
    case EventKind::kActivityCompleted:
    case EventKind::kSubOrchestrationCompleted:
      j["result"] = e.data;
      PutWorker(j, e.worker, e.worker_runtime, e.from_cache);
      break;
    case EventKind::kTimerCreated:
    case EventKind::kTimerFired:
      j["fire_at_ms"] = e.fire_at_ms;
      break;
    case EventKind::kExternalSubscribed:
    case EventKind::kQueueSubscribed:
      j["name"] = e.name;
      break;
    case EventKind::kExternalEvent:
    case EventKind::kQueueEventDelivered:
      j["name"] = e.name;
      j["data"] = e.data;
      PutMeta(j, e.meta);
      break;
    case EventKind::kMessageSent:
      j["instance"] = e.instance;
      j["name"] = e.name;
      j["data"] = e.data;
      PutMeta(j, e.meta);
      break;
    case EventKind::kEventPublished:
      j["name"] = e.name;
      j["data"] = e.data;
      PutMeta(j, e.meta);
      break;
    case EventKind::kTopicSubscribed:
    case EventKind::kTopicUnsubscribed:
      j["name"] = e.name;
      break;
    case EventKind::kSubOrchestrationScheduled:
    case EventKind::kOrchestrationChained:
      j["name"] = e.name;
      PutOpt(j, "version", e.version);
      j["instance"] = e.instance;
      j["input"] = e.input;
      break;
    case EventKind::kCustomStatusUpdated:
      j["status"] = e.status ? json(*e.status) : json(nullptr);
      break;
    case EventKind::kKeyValueSet:
      j["key"] = e.key;
      j["value"] = e.value;
      j["last_updated_at_ms"] = e.last_updated_at_ms;
      break;
    case EventKind::kKeyValueCleared:
      j["key"] = e.key;
      break;
    case EventKind::kKeyValuesCleared:
      break;
  }
  return j.dump();
}

bool IsNewerFormat(const Status& status) {
  return status.code() == StatusCode::kDataLoss &&
         status.message().find(kNewerFormatMarker) != std::string::npos;
}

Result<Event> DecodeEvent(const std::string& text) {
  try {
    json j = json::parse(text);
    Event e;
    if (!EventKindFromName(Str(j, "type"), &e.kind)) {
      return Status::DataLoss("decode_event", "unknown event type '" + Str(j, "type") +
                                                  "': probably " + kNewerFormatMarker +
                                                  "; upgrade this runtime");
    }
    e.event_id = Int(j, "event_id");
    if (j.contains("source_event_id") && !j["source_event_id"].is_null()) {
      e.source_event_id = JsonToInt64(j["source_event_id"], "source_event_id");
    }
    e.timestamp_ms = Int(j, "timestamp_ms");
    switch (e.kind) {
      case EventKind::kOrchestrationStarted:
        e.name = Str(j, "name");
        e.version = OptStr(j, "version");
        e.input = Str(j, "input");
        e.parent_instance = OptStr(j, "parent_instance");
        e.parent_execution_id = Int(j, "parent_execution_id");
        e.parent_id = Int(j, "parent_id");
        e.carry_forward = CarryFromJson(j, "carry_forward_events");
        e.carry_forward_meta = CarryMetaFromJson(j, "carry_forward_meta");
        e.initial_custom_status = OptStr(j, "initial_custom_status");
        e.trace_context = Str(j, "trace_context");
        break;
      case EventKind::kOrchestrationCompleted:
        e.data = Str(j, "output");
        break;
      case EventKind::kOrchestrationFailed:
      case EventKind::kActivityFailed:
      case EventKind::kSubOrchestrationFailed:
        e.error = Err(j, "details");
        GetWorker(j, &e.worker, &e.worker_runtime, &e.from_cache);
        break;
      case EventKind::kOrchestrationContinuedAsNew:
        e.input = Str(j, "input");
        e.version = OptStr(j, "version");
        break;
      case EventKind::kOrchestrationCancelRequested:
      case EventKind::kActivityCancelRequested:
      case EventKind::kExternalSubscribedCancelled:
      case EventKind::kQueueSubscriptionCancelled:
      case EventKind::kSubOrchestrationCancelRequested:
        e.reason = Str(j, "reason");
        break;
      case EventKind::kActivityScheduled:
        e.name = Str(j, "name");
        e.input = Str(j, "input");
        e.session_id = OptStr(j, "session_id");
        e.tag = OptStr(j, "tag");
        break;
      case EventKind::kActivityCompleted:
      case EventKind::kSubOrchestrationCompleted:
        e.data = Str(j, "result");
        GetWorker(j, &e.worker, &e.worker_runtime, &e.from_cache);
        break;
      case EventKind::kTimerCreated:
      case EventKind::kTimerFired:
        e.fire_at_ms = Int(j, "fire_at_ms");
        break;
      case EventKind::kExternalSubscribed:
      case EventKind::kQueueSubscribed:
        e.name = Str(j, "name");
        break;
      case EventKind::kExternalEvent:
      case EventKind::kQueueEventDelivered:
        e.name = Str(j, "name");
        e.data = Str(j, "data");
        e.meta = Str(j, "meta");
        break;
      case EventKind::kMessageSent:
        e.instance = Str(j, "instance");
        e.name = Str(j, "name");
        e.data = Str(j, "data");
        e.meta = Str(j, "meta");
        break;
      case EventKind::kEventPublished:
        e.name = Str(j, "name");
        e.data = Str(j, "data");
        e.meta = Str(j, "meta");
        break;
      case EventKind::kTopicSubscribed:
      case EventKind::kTopicUnsubscribed:
        e.name = Str(j, "name");
        break;
      case EventKind::kSubOrchestrationScheduled:
      case EventKind::kOrchestrationChained:
        e.name = Str(j, "name");
        e.version = OptStr(j, "version");
        e.instance = Str(j, "instance");
        e.input = Str(j, "input");
        break;
      case EventKind::kCustomStatusUpdated:
        e.status = OptStr(j, "status");
        break;
      case EventKind::kKeyValueSet:
        e.key = Str(j, "key");
        e.value = Str(j, "value");
        e.last_updated_at_ms = Int(j, "last_updated_at_ms");
        break;
      case EventKind::kKeyValueCleared:
        e.key = Str(j, "key");
        break;
      case EventKind::kKeyValuesCleared:
        break;
    }
    return e;
  } catch (const std::exception& ex) {
    return Status::DataLoss("decode_event", std::string("malformed event: ") + ex.what());
  }
}

std::string EncodeWorkItem(const WorkItem& w) {
  json b;
  b["instance"] = w.instance;
  switch (w.kind) {
    case WorkItemKind::kStartOrchestration:
    case WorkItemKind::kContinueAsNew:
      b["name"] = w.name;
      PutOpt(b, "version", w.version);
      b["input"] = w.input;
      b["execution_id"] = w.execution_id;
      PutOpt(b, "parent_instance", w.parent_instance);
      if (w.parent_instance) {
        b["parent_execution_id"] = w.parent_execution_id;
        b["parent_id"] = w.parent_id;
      }
      if (!w.carry_forward.empty()) b["carry_forward_events"] = CarryToJson(w.carry_forward);
      if (!w.carry_forward_meta.empty()) b["carry_forward_meta"] = CarryMetaToJson(w.carry_forward_meta);
      if (w.has_custom_status) {
        b["initial_custom_status"] = w.custom_status ? json(*w.custom_status) : json(nullptr);
      }
      if (w.priority != 0) b["priority"] = w.priority;
      if (!w.trace_context.empty()) b["trace_context"] = w.trace_context;
      break;
    case WorkItemKind::kActivityExecute:
      b["execution_id"] = w.execution_id;
      b["id"] = w.id;
      b["name"] = w.name;
      b["input"] = w.input;
      PutOpt(b, "session_id", w.session_id);
      PutOpt(b, "tag", w.tag);
      b["orchestration_name"] = w.orchestration_name;
      b["orchestration_version"] = w.orchestration_version;
      if (w.routing) b["routing"] = RoutingToJson(*w.routing);
      if (w.priority != 0) b["priority"] = w.priority;
      if (!w.trace_context.empty()) b["trace_context"] = w.trace_context;
      if (!w.limit.empty()) b["limit"] = w.limit;
      if (!w.limit_key.empty()) b["limit_key"] = w.limit_key;
      break;
    case WorkItemKind::kActivityCompleted:
    case WorkItemKind::kSubOrchCompleted:
      b["execution_id"] = w.execution_id;
      b["id"] = w.id;
      b["result"] = w.data;
      PutWorker(b, w.worker, w.worker_runtime, w.from_cache);
      break;
    case WorkItemKind::kActivityFailed:
    case WorkItemKind::kSubOrchFailed:
      b["execution_id"] = w.execution_id;
      b["id"] = w.id;
      b["details"] = w.error.ToJson();
      PutWorker(b, w.worker, w.worker_runtime, false);
      break;
    case WorkItemKind::kTimerFired:
      b["execution_id"] = w.execution_id;
      b["id"] = w.id;
      b["fire_at_ms"] = w.fire_at_ms;
      break;
    case WorkItemKind::kExternalRaised:
    case WorkItemKind::kQueueMessage:
      b["name"] = w.name;
      b["data"] = w.data;
      PutMeta(b, w.meta);
      break;
    case WorkItemKind::kCancelInstance:
      b["reason"] = w.reason;
      if (w.terminate) {  // absent for a cooperative cancel: older readers see a cancel
        b["terminate"] = true;
        b["recursive"] = w.recursive;
        if (!w.data.empty()) b["output"] = w.data;
      }
      break;
  }
  json j;
  j[WorkItemKindName(w.kind)] = std::move(b);
  return j.dump();
}

Result<WorkItem> DecodeWorkItem(const std::string& text) {
  try {
    json j = json::parse(text);
    if (!j.is_object() || j.size() != 1) {
      return Status::DataLoss("decode_work_item", "work item must be a one-key object");
    }
    auto first = j.begin();
    const std::string tag = first.key();
    const nlohmann::json& b = first.value();
    WorkItem w;
    if (!WorkItemKindFromName(tag, &w.kind)) {
      return Status::DataLoss("decode_work_item", "unknown work item '" + tag + "': probably " +
                                                      kNewerFormatMarker + "; upgrade this runtime");
    }
    w.instance = Str(b, "instance");
    w.execution_id = Int(b, "execution_id");
    w.id = Int(b, "id");
    switch (w.kind) {
      case WorkItemKind::kStartOrchestration:
      case WorkItemKind::kContinueAsNew:
        w.name = Str(b, "name");
        w.version = OptStr(b, "version");
        w.input = Str(b, "input");
        w.parent_instance = OptStr(b, "parent_instance");
        w.parent_execution_id = Int(b, "parent_execution_id");
        w.parent_id = Int(b, "parent_id");
        w.carry_forward = CarryFromJson(b, "carry_forward_events");
        w.carry_forward_meta = CarryMetaFromJson(b, "carry_forward_meta");
        if (b.contains("initial_custom_status")) {
          w.has_custom_status = true;
          w.custom_status = OptStr(b, "initial_custom_status");
        }
        w.priority = Int(b, "priority");
        w.trace_context = Str(b, "trace_context");
        break;
      case WorkItemKind::kActivityExecute:
        w.name = Str(b, "name");
        w.input = Str(b, "input");
        w.session_id = OptStr(b, "session_id");
        w.tag = OptStr(b, "tag");
        w.orchestration_name = Str(b, "orchestration_name");
        w.orchestration_version = Str(b, "orchestration_version");
        if (b.contains("routing")) w.routing = RoutingFromJson(b.at("routing"));
        w.priority = Int(b, "priority");
        w.trace_context = Str(b, "trace_context");
        w.limit = Str(b, "limit");
        w.limit_key = Str(b, "limit_key");
        break;
      case WorkItemKind::kActivityCompleted:
      case WorkItemKind::kSubOrchCompleted:
        w.data = Str(b, "result");
        GetWorker(b, &w.worker, &w.worker_runtime, &w.from_cache);
        break;
      case WorkItemKind::kActivityFailed:
      case WorkItemKind::kSubOrchFailed:
        w.error = Err(b, "details");
        GetWorker(b, &w.worker, &w.worker_runtime, &w.from_cache);
        break;
      case WorkItemKind::kTimerFired:
        w.fire_at_ms = Int(b, "fire_at_ms");
        break;
      case WorkItemKind::kExternalRaised:
      case WorkItemKind::kQueueMessage:
        w.name = Str(b, "name");
        w.data = Str(b, "data");
        w.meta = Str(b, "meta");
        break;
      case WorkItemKind::kCancelInstance:
        w.reason = Str(b, "reason");
        w.terminate = b.contains("terminate") && b["terminate"].is_boolean() &&
                      b["terminate"].get<bool>();
        w.recursive = !b.contains("recursive") || !b["recursive"].is_boolean() ||
                      b["recursive"].get<bool>();
        w.data = Str(b, "output");
        break;
    }
    return w;
  } catch (const std::exception& ex) {
    return Status::DataLoss("decode_work_item", std::string("malformed work item: ") + ex.what());
  }
}

std::optional<std::string> EventAdminData(const Event& e) {
  auto raw = [](const std::string& payload) -> std::string {
    // Payloads are JSON text written by the Python layer; splice them in raw when they parse,
    // quote them otherwise so the result is always valid JSON.
    if (json::accept(payload)) return payload;
    return json(payload).dump();
  };
  switch (e.kind) {
    case EventKind::kOrchestrationStarted:
      return "{\"name\":" + json(e.name).dump() + ",\"version\":" +
             json(e.version.value_or("")).dump() + ",\"input\":" + raw(e.input) + "}";
    case EventKind::kOrchestrationCompleted:
    case EventKind::kActivityCompleted:
    case EventKind::kSubOrchestrationCompleted:
      return e.data;
    case EventKind::kOrchestrationFailed:
    case EventKind::kActivityFailed:
    case EventKind::kSubOrchestrationFailed:
      return e.error.ToJson().dump();
    case EventKind::kActivityScheduled:
      return "{\"name\":" + json(e.name).dump() + ",\"input\":" + raw(e.input) + "}";
    case EventKind::kTimerCreated:
    case EventKind::kTimerFired:
      return "{\"fireAtMs\":" + std::to_string(e.fire_at_ms) + "}";
    case EventKind::kExternalSubscribed:
    case EventKind::kQueueSubscribed:
      return "{\"name\":" + json(e.name).dump() + "}";
    case EventKind::kExternalEvent:
    case EventKind::kQueueEventDelivered:
      return "{\"name\":" + json(e.name).dump() + ",\"data\":" + raw(e.data) + "}";
    case EventKind::kSubOrchestrationScheduled:
      return "{\"name\":" + json(e.name).dump() + ",\"instance\":" + json(e.instance).dump() +
             ",\"input\":" + raw(e.input) + "}";
    case EventKind::kMessageSent:
      return "{\"instance\":" + json(e.instance).dump() + ",\"queue\":" + json(e.name).dump() +
             ",\"data\":" + raw(e.data) + "}";
    case EventKind::kEventPublished:
      return "{\"topic\":" + json(e.name).dump() + ",\"data\":" + raw(e.data) + "}";
    case EventKind::kTopicSubscribed:
    case EventKind::kTopicUnsubscribed:
      return "{\"topic\":" + json(e.name).dump() + "}";
    default:
      return std::nullopt;
  }
}

}  // namespace duroxide::history
