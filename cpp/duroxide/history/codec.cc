// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/history/codec.h"

#include <algorithm>
#include <array>
#include <vector>

namespace duroxide::history {
namespace {

using nlohmann::json;

// A kind's stable name (the "type" tag in JSON): one table per enum, one lookup for both.
template <typename K>
struct KindName {
  K kind;
  const char* name;
};

template <typename K, size_t N>
const char* NameOfKind(const std::array<KindName<K>, N>& table, K kind) {
  for (const auto& k : table) {
    if (k.kind == kind) return k.name;
  }
  return "Unknown";
}

template <typename K, size_t N>
bool KindOfName(const std::array<KindName<K>, N>& table, const std::string& name, K* out) {
  for (const auto& k : table) {
    if (name == k.name) {
      *out = k.kind;
      return true;
    }
  }
  return false;
}

constexpr std::array<KindName<EventKind>, 30> kEventKinds = {{
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

constexpr std::array<KindName<WorkItemKind>, 11> kItemKinds = {{
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
bool Flag(const json& j, const char* key, bool absent) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_boolean()) return absent;
  return it->get<bool>();
}
ErrorDetails Err(const json& j, const char* key) {
  ErrorDetails e;
  auto it = j.find(key);
  if (it == j.end() || !ErrorDetails::FromJson(*it, &e)) {
    throw std::runtime_error(std::string("missing or malformed error details in '") + key + "'");
  }
  return e;
}

// One key of an event's or work item's JSON body: how it is written and read. The plain kinds
// name a member; kCustom carries its own pair of functions for keys that are not one member
// (error details, parent links, carried messages, routing).
template <typename T>
struct Field {
  enum class Kind {
    kStr,           // always written
    kStrIfSet,      // written when non-empty (read as "" when absent)
    kOptStr,        // written when set
    kOptStrOrNull,  // written as null when unset
    kInt,           // always written
    kIntIfSet,      // written when non-zero
    kCustom,
  };
  Kind kind;
  const char* key = nullptr;
  std::string T::*str = nullptr;
  std::optional<std::string> T::*opt = nullptr;
  int64_t T::*num = nullptr;
  void (*put)(json&, const T&) = nullptr;
  void (*get)(const json&, T*) = nullptr;

  void Put(json& j, const T& v) const {
    switch (kind) {
      case Kind::kStr: j[key] = v.*str; break;
      case Kind::kStrIfSet: if (!(v.*str).empty()) j[key] = v.*str; break;
      case Kind::kOptStr: if (v.*opt) j[key] = *(v.*opt); break;
      case Kind::kOptStrOrNull: j[key] = v.*opt ? json(*(v.*opt)) : json(nullptr); break;
      case Kind::kInt: j[key] = v.*num; break;
      case Kind::kIntIfSet: if (v.*num != 0) j[key] = v.*num; break;
      case Kind::kCustom: put(j, v); break;
    }
  }
  void Get(const json& j, T* v) const {
    switch (kind) {
      case Kind::kStr:
      case Kind::kStrIfSet: v->*str = Str(j, key); break;
      case Kind::kOptStr:
      case Kind::kOptStrOrNull: v->*opt = OptStr(j, key); break;
      case Kind::kInt:
      case Kind::kIntIfSet: v->*num = Int(j, key); break;
      case Kind::kCustom: get(j, v); break;
    }
  }
};

template <typename T>
Field<T> S(const char* key, std::string T::*m) {
  return {Field<T>::Kind::kStr, key, m};
}
template <typename T>
Field<T> SIfSet(const char* key, std::string T::*m) {
  return {Field<T>::Kind::kStrIfSet, key, m};
}
template <typename T>
Field<T> O(const char* key, std::optional<std::string> T::*m) {
  return {Field<T>::Kind::kOptStr, key, nullptr, m};
}
template <typename T>
Field<T> I(const char* key, int64_t T::*m) {
  return {Field<T>::Kind::kInt, key, nullptr, nullptr, m};
}
template <typename T>
Field<T> IIfSet(const char* key, int64_t T::*m) {
  return {Field<T>::Kind::kIntIfSet, key, nullptr, nullptr, m};
}
template <typename T>
Field<T> ONull(const char* key, std::optional<std::string> T::*m) {
  return {Field<T>::Kind::kOptStrOrNull, key, nullptr, m};
}
template <typename T>
Field<T> Custom(void (*put)(json&, const T&), void (*get)(const json&, T*)) {
  return {Field<T>::Kind::kCustom, nullptr, nullptr, nullptr, nullptr, put, get};
}

// ---- custom keys, shared by events and work items (same member names) ----

// The parent link of a start: the ids are written only with a parent.
template <typename T>
void PutParent(json& j, const T& v) {
  if (!v.parent_instance) return;
  j["parent_instance"] = *v.parent_instance;
  j["parent_execution_id"] = v.parent_execution_id;
  j["parent_id"] = v.parent_id;
}
template <typename T>
void GetParent(const json& j, T* v) {
  v->parent_instance = OptStr(j, "parent_instance");
  v->parent_execution_id = Int(j, "parent_execution_id");
  v->parent_id = Int(j, "parent_id");
}

// Queue messages carried into a new execution: [[queue, data], ...] and their metadata.
template <typename T>
void PutCarry(json& j, const T& v) {
  if (!v.carry_forward.empty()) {
    json arr = json::array();
    for (const auto& [n, d] : v.carry_forward) arr.push_back(json::array({n, d}));
    j["carry_forward_events"] = std::move(arr);
  }
  if (!v.carry_forward_meta.empty()) j["carry_forward_meta"] = v.carry_forward_meta;
}
template <typename T>
void GetCarry(const json& j, T* v) {
  auto it = j.find("carry_forward_events");
  if (it != j.end() && !it->is_null()) {
    for (const auto& e : *it) {
      v->carry_forward.emplace_back(e.at(0).get<std::string>(), e.at(1).get<std::string>());
    }
  }
  it = j.find("carry_forward_meta");
  if (it != j.end() && !it->is_null()) {
    for (const auto& e : *it) v->carry_forward_meta.push_back(e.get<std::string>());
  }
}

// Activity outcomes: which worker ran the attempt, and cache hits. Written only when set,
// so histories without them keep their exact encoding; a failure never writes from_cache.
template <typename T>
void PutWorker(json& j, const T& v) {
  if (!v.worker.empty()) j["worker"] = v.worker;
  if (!v.worker_runtime.empty()) j["worker_runtime"] = v.worker_runtime;
}
template <typename T>
void PutWorkerAndCache(json& j, const T& v) {
  PutWorker(j, v);
  if (v.from_cache) j["from_cache"] = true;
}
template <typename T>
void GetWorker(const json& j, T* v) {
  v->worker = Str(j, "worker");
  v->worker_runtime = Str(j, "worker_runtime");
  v->from_cache = Flag(j, "from_cache", false);
}

template <typename T>
void PutDetails(json& j, const T& v) {
  j["details"] = v.error.ToJson();
}
template <typename T>
void GetDetails(const json& j, T* v) {
  v->error = Err(j, "details");
}

// ---- custom keys of one type ----

// A start's initial custom status: absent (keep none), null (cleared) or a string.
void PutInitialStatus(json& j, const WorkItem& w) {
  if (w.has_custom_status) {
    j["initial_custom_status"] = w.custom_status ? json(*w.custom_status) : json(nullptr);
  }
}
void GetInitialStatus(const json& j, WorkItem* w) {
  if (!j.contains("initial_custom_status")) return;
  w->has_custom_status = true;
  w->custom_status = OptStr(j, "initial_custom_status");
}

// The "routing" object of an ActivityExecute. Providers read these same keys (the PostgreSQL
// worker-queue trigger reads schema_hash, deadline_ms, avoid and avoid_until_ms).
void PutRouting(json& j, const WorkItem& w) {
  if (!w.routing) return;
  const ActivityRouting& r = *w.routing;
  json o;
  o["schema"] = r.schema;
  o["schema_hash"] = r.schema_hash;
  o["deadline_ms"] = r.deadline_ms;
  o["avoid"] = r.avoid;
  o["avoid_until_ms"] = r.avoid_until_ms;
  j["routing"] = std::move(o);
}
void GetRouting(const json& j, WorkItem* w) {
  if (!j.contains("routing")) return;
  const json& o = j.at("routing");
  ActivityRouting r;
  r.schema = Str(o, "schema");
  r.schema_hash = Str(o, "schema_hash");
  r.deadline_ms = Int(o, "deadline_ms");
  auto it = o.find("avoid");
  if (it != o.end() && it->is_array()) r.avoid = it->get<std::vector<std::string>>();
  r.avoid_until_ms = Int(o, "avoid_until_ms");
  w->routing = std::move(r);
}

// A cancel: the terminate keys are absent for a cooperative cancel, so older readers see a
// cancel. `recursive` defaults to true.
void PutTerminate(json& j, const WorkItem& w) {
  if (!w.terminate) return;
  j["terminate"] = true;
  j["recursive"] = w.recursive;
  if (!w.data.empty()) j["output"] = w.data;
}
void GetTerminate(const json& j, WorkItem* w) {
  w->terminate = Flag(j, "terminate", false);
  w->recursive = Flag(j, "recursive", true);
  w->data = Str(j, "output");
}

// ---- the tables: the body keys of every event kind and work item kind ----

using EF = Field<Event>;
using WF = Field<WorkItem>;

// One row of a table: the body keys written for one event kind or work item kind.
template <typename K, typename T>
struct KindRow {
  K kind;
  std::vector<Field<T>> fields;
};
using EventRow = KindRow<EventKind, Event>;
using ItemRow = KindRow<WorkItemKind, WorkItem>;

const std::vector<EventRow>& EventRows() {
  using E = Event;
  static const auto* rows = [] {
    const EF name = S("name", &E::name), input = S("input", &E::input),
             version = O("version", &E::version), data = S("data", &E::data),
             meta = SIfSet("meta", &E::meta), reason = S("reason", &E::reason),
             fire_at = I("fire_at_ms", &E::fire_at_ms), instance = S("instance", &E::instance);
    const std::vector<EF> failed = {Custom<E>(PutDetails<E>, GetDetails<E>),
                                    Custom<E>(PutWorker<E>, GetWorker<E>)};
    const std::vector<EF> completed = {S("result", &E::data),
                                       Custom<E>(PutWorkerAndCache<E>, GetWorker<E>)};
    const std::vector<EF> cancel = {reason};
    const std::vector<EF> named = {name};
    const std::vector<EF> arrival = {name, data, meta};
    const std::vector<EF> child = {name, version, instance, input};
    return new std::vector<EventRow>{
        {EventKind::kOrchestrationStarted,
         {name, version, input, Custom<E>(PutParent<E>, GetParent<E>),
          Custom<E>(PutCarry<E>, GetCarry<E>),
          O("initial_custom_status", &E::initial_custom_status),
          SIfSet("trace_context", &E::trace_context)}},
        {EventKind::kOrchestrationCompleted, {S("output", &E::data)}},
        {EventKind::kOrchestrationFailed, failed},
        {EventKind::kOrchestrationContinuedAsNew, {input, version}},
        {EventKind::kOrchestrationCancelRequested, cancel},
        {EventKind::kActivityScheduled,
         {name, input, O("session_id", &E::session_id), O("tag", &E::tag)}},
        {EventKind::kActivityCompleted, completed},
        {EventKind::kActivityFailed, failed},
        {EventKind::kActivityCancelRequested, cancel},
        {EventKind::kTimerCreated, {fire_at}},
        {EventKind::kTimerFired, {fire_at}},
        {EventKind::kExternalSubscribed, named},
        {EventKind::kExternalEvent, arrival},
        {EventKind::kExternalSubscribedCancelled, cancel},
        {EventKind::kQueueSubscribed, named},
        {EventKind::kQueueEventDelivered, arrival},
        {EventKind::kQueueSubscriptionCancelled, cancel},
        {EventKind::kSubOrchestrationScheduled, child},
        {EventKind::kSubOrchestrationCompleted, completed},
        {EventKind::kSubOrchestrationFailed, failed},
        {EventKind::kSubOrchestrationCancelRequested, cancel},
        {EventKind::kOrchestrationChained, child},
        {EventKind::kCustomStatusUpdated, {ONull("status", &E::status)}},
        {EventKind::kKeyValueSet,
         {S("key", &E::key), S("value", &E::value),
          I("last_updated_at_ms", &E::last_updated_at_ms)}},
        {EventKind::kKeyValueCleared, {S("key", &E::key)}},
        {EventKind::kKeyValuesCleared, {}},
        {EventKind::kMessageSent, {instance, name, data, meta}},
        {EventKind::kEventPublished, arrival},
        {EventKind::kTopicSubscribed, named},
        {EventKind::kTopicUnsubscribed, named},
    };
  }();
  return *rows;
}

const std::vector<ItemRow>& ItemRows() {
  using W = WorkItem;
  static const auto* rows = [] {
    const WF name = S("name", &W::name), input = S("input", &W::input),
             execution = I("execution_id", &W::execution_id), id = I("id", &W::id),
             priority = IIfSet("priority", &W::priority),
             limit = SIfSet("limit", &W::limit), limit_key = SIfSet("limit_key", &W::limit_key),
             trace = SIfSet("trace_context", &W::trace_context);
    const std::vector<WF> start = {name,
                                   O("version", &W::version),
                                   input,
                                   execution,
                                   Custom<W>(PutParent<W>, GetParent<W>),
                                   Custom<W>(PutCarry<W>, GetCarry<W>),
                                   Custom<W>(PutInitialStatus, GetInitialStatus),
                                   priority,
                                   trace,
                                   limit,
                                   limit_key};
    const std::vector<WF> completed = {execution, id, S("result", &W::data),
                                       Custom<W>(PutWorkerAndCache<W>, GetWorker<W>)};
    const std::vector<WF> failed = {execution, id, Custom<W>(PutDetails<W>, GetDetails<W>),
                                    Custom<W>(PutWorker<W>, GetWorker<W>)};
    const std::vector<WF> arrival = {name, S("data", &W::data), SIfSet("meta", &W::meta)};
    return new std::vector<ItemRow>{
        {WorkItemKind::kStartOrchestration, start},
        {WorkItemKind::kContinueAsNew, start},
        {WorkItemKind::kActivityExecute,
         {execution, id, name, input, O("session_id", &W::session_id), O("tag", &W::tag),
          S("orchestration_name", &W::orchestration_name),
          S("orchestration_version", &W::orchestration_version),
          Custom<W>(PutRouting, GetRouting), priority, trace, limit, limit_key}},
        {WorkItemKind::kActivityCompleted, completed},
        {WorkItemKind::kActivityFailed, failed},
        {WorkItemKind::kTimerFired, {execution, id, I("fire_at_ms", &W::fire_at_ms)}},
        {WorkItemKind::kExternalRaised, arrival},
        {WorkItemKind::kQueueMessage, arrival},
        {WorkItemKind::kSubOrchCompleted, completed},
        {WorkItemKind::kSubOrchFailed, failed},
        {WorkItemKind::kCancelInstance,
         {S("reason", &W::reason), Custom<W>(PutTerminate, GetTerminate)}},
    };
  }();
  return *rows;
}

// The row of `kind`, or nullptr for a kind with no body keys.
template <typename K, typename T>
const KindRow<K, T>* FindRow(const std::vector<KindRow<K, T>>& rows, K kind) {
  for (const KindRow<K, T>& r : rows) {
    if (r.kind == kind) return &r;
  }
  return nullptr;
}

// Writes into `j` the body keys of x's kind; GetBody reads them back into *x.
template <typename K, typename T>
void PutBody(const std::vector<KindRow<K, T>>& rows, const T& x, json& j) {
  if (const KindRow<K, T>* row = FindRow(rows, x.kind)) {
    for (const Field<T>& f : row->fields) f.Put(j, x);
  }
}
template <typename K, typename T>
void GetBody(const std::vector<KindRow<K, T>>& rows, const json& j, T* x) {
  if (const KindRow<K, T>* row = FindRow(rows, x->kind)) {
    for (const Field<T>& f : row->fields) f.Get(j, x);
  }
}

}  // namespace

const char* EventKindName(EventKind kind) { return NameOfKind(kEventKinds, kind); }

bool EventKindFromName(const std::string& name, EventKind* out) {
  if (KindOfName(kEventKinds, name, out)) return true;
  if (name == "ExternalSubscribedPersistent") *out = EventKind::kQueueSubscribed;
  else if (name == "ExternalEventPersistent") *out = EventKind::kQueueEventDelivered;
  else if (name == "ExternalSubscribedPersistentCancelled") *out = EventKind::kQueueSubscriptionCancelled;
  else return false;
  return true;
}

bool IsArrival(EventKind kind) {
  static constexpr std::array<EventKind, 8> kArrivals = {
      EventKind::kActivityCompleted,         EventKind::kActivityFailed,
      EventKind::kTimerFired,                EventKind::kExternalEvent,
      EventKind::kQueueEventDelivered,       EventKind::kSubOrchestrationCompleted,
      EventKind::kSubOrchestrationFailed,    EventKind::kOrchestrationCancelRequested};
  return std::find(kArrivals.begin(), kArrivals.end(), kind) != kArrivals.end();
}

bool IsTerminal(EventKind kind) {
  return kind == EventKind::kOrchestrationCompleted || kind == EventKind::kOrchestrationFailed ||
         kind == EventKind::kOrchestrationContinuedAsNew;
}

const char* WorkItemKindName(WorkItemKind kind) { return NameOfKind(kItemKinds, kind); }

bool WorkItemKindFromName(const std::string& name, WorkItemKind* out) {
  return KindOfName(kItemKinds, name, out);
}

std::string EncodeEvent(const Event& e) {
  json j;
  j["event_id"] = e.event_id;
  if (e.source_event_id) j["source_event_id"] = *e.source_event_id;
  j["timestamp_ms"] = e.timestamp_ms;
  j["type"] = EventKindName(e.kind);
  PutBody(EventRows(), e, j);
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
    GetBody(EventRows(), j, &e);
    return e;
  } catch (const std::exception& ex) {
    return Status::DataLoss("decode_event", std::string("malformed event: ") + ex.what());
  }
}

std::string EncodeWorkItem(const WorkItem& w) {
  json b;
  b["instance"] = w.instance;
  PutBody(ItemRows(), w, b);
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
    GetBody(ItemRows(), b, &w);
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
