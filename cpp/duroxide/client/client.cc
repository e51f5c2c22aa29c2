// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/client/client.h"

#include <algorithm>
#include <random>

#include <nlohmann/json.hpp>
#include <initializer_list>

#include "duroxide/common/clock.h"
#include "duroxide/common/limits.h"
#include "duroxide/providers/ops_common.h"

namespace duroxide::client {

using history::WorkItem;
using history::WorkItemKind;
using providers::ExecutionStatus;

namespace {
Status Timeout() { return Status::DeadlineExceeded("", "Operation timed out"); }

std::string ClientMessageId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[40];
  std::snprintf(buf, sizeof(buf), "client#%016llx%016llx",
                static_cast<unsigned long long>(rng()), static_cast<unsigned long long>(rng()));
  return buf;
}

// The first non-empty problem among `problems` as kInvalidArgument for `op`, else Ok.
Status FirstProblem(const char* op, std::initializer_list<std::string> problems) {
  for (const std::string& p : problems) {
    if (!p.empty()) return Status::InvalidArgument(op, p);
  }
  return Status::Ok();
}
}  // namespace

Client::Client(std::shared_ptr<providers::Provider> provider)
    : provider_(std::move(provider)), max_payload_bytes_(limits::kDefaultMaxPayloadBytes) {}

Status Client::StartOrchestration(const std::string& instance, const std::string& name,
                                  const std::string& input,
                                  const std::optional<std::string>& version,
                                  const StartOptions& options) {
  const std::string& policy = options.if_exists;
  const bool known =
      policy == "fail" || policy == "use_existing" || policy == "restart_if_ended";
  Status bad = FirstProblem(
      "start_orchestration",
      {limits::CheckInstanceId(instance), limits::CheckName(name, "orchestration name"),
       limits::CheckPayload(input.size(), max_payload_bytes_, "start_orchestration input"),
       known ? std::string()
             : "if_exists must be \"fail\", \"use_existing\" or \"restart_if_ended\", got \"" +
                   policy + "\"",
       options.priority >= 0 && options.priority <= 9
           ? std::string()
           : "priority must be between 0 and 9, got " + std::to_string(options.priority),
       options.limit_key.empty() || !options.limit.empty()
           ? std::string()
           : "limit_key needs limit (a key is counted under a named limit)",
       options.limit.empty() ? std::string() : limits::CheckName(options.limit, "limit")});
  if (!bad.ok()) return bad;
  WorkItem w;
  w.kind = WorkItemKind::kStartOrchestration;
  w.instance = instance;
  w.name = name;
  w.version = version;
  w.input = input;
  w.execution_id = 1;
  w.priority = options.priority;
  w.trace_context = options.trace_context;
  w.limit = options.limit;
  w.limit_key = options.limit_key;
  Status st = provider_->StartOrchestration(w);
  if (st.code() != StatusCode::kAlreadyExists || policy == "fail") return st;
  if (policy == "use_existing") return Status::Ok();
  return RestartIfEnded(w);
}

// The instance id is taken. An ended instance is restarted by queueing a ContinueAsNew for
// execution current + 1: the turn planner accepts such a message for a Completed or Failed
// instance (turn_plan.cc FindOrigin), and nothing else ever queues one for an ended instance.
// Two concurrent restarts queue the same execution id; the first turn takes one and the other
// is dropped, so the instance restarts once. A start still queued, or a running instance, is
// left alone.
Status Client::RestartIfEnded(const WorkItem& start) {
  auto record = provider_->GetInstance(start.instance);
  if (!record.ok()) return record.status();
  if (!record->has_value()) return Status::Ok();  // its start is still queued: "running"
  const providers::InstanceRecord& r = **record;
  if (r.status != ExecutionStatus::kCompleted && r.status != ExecutionStatus::kFailed) {
    return Status::Ok();
  }
  WorkItem restart = start;
  restart.kind = WorkItemKind::kContinueAsNew;
  restart.execution_id = r.current_execution_id + 1;
  return provider_->EnqueueOrchestratorMessage(restart, 0);
}

Status Client::RaiseEvent(const std::string& instance, const std::string& name,
                          const std::string& data) {
  Status bad = FirstProblem(
      "raise_event", {limits::CheckInstanceId(instance), limits::CheckName(name, "event name"),
                      limits::CheckPayload(data.size(), max_payload_bytes_, "raise_event data")});
  if (!bad.ok()) return bad;
  WorkItem w;
  w.kind = WorkItemKind::kExternalRaised;
  w.instance = instance;
  w.name = name;
  w.data = data;
  return provider_->EnqueueOrchestratorMessage(w, 0);
}

Status Client::EnqueueEvent(const std::string& instance, const std::string& queue,
                            const std::string& data) {
  Status bad = FirstProblem(
      "enqueue_event", {limits::CheckInstanceId(instance), limits::CheckName(queue, "queue name"),
                        limits::CheckPayload(data.size(), max_payload_bytes_, "enqueue_event data")});
  if (!bad.ok()) return bad;
  WorkItem w;
  w.kind = WorkItemKind::kQueueMessage;
  w.instance = instance;
  w.name = queue;
  w.data = data;
  return provider_->EnqueueOrchestratorMessage(w, 0);
}

Status Client::CancelInstance(const std::string& instance, const std::string& reason) {
  // A cancel is queued unless the instance is known not to need one: it never existed or it has
  // already ended. The two reads are ordered: the turn that consumes a queued start also
  // writes the instance row, in one commit, so "no queued start" followed by "no instance row"
  // means there was no instance at the first read. Reading the instance first (as before)
  // lost the cancel when the first turn committed between the reads: neither read saw the
  // instance (issue 21).
  auto pending = provider_->HasPendingStart(instance);
  if (!pending.ok()) return pending.status();
  if (!*pending) {
    auto record = provider_->GetInstance(instance);
    if (!record.ok()) return record.status();
    if (!record->has_value()) return Status::Ok();
    const ExecutionStatus status = (**record).status;
    if (status == ExecutionStatus::kCompleted || status == ExecutionStatus::kFailed) {
      return Status::Ok();
    }
  }
  // From here on a turn that ends the instance first makes this cancel a no-op (the runtime
  // ignores a cancel for a finished instance), which is the same outcome as a cancel that
  // arrived after the end.
  WorkItem w;
  w.kind = WorkItemKind::kCancelInstance;
  w.instance = instance;
  w.reason = reason;
  return provider_->EnqueueOrchestratorMessage(w, 0);
}

Result<OrchestrationStatus> Client::GetStatus(const std::string& instance) {
  auto record = provider_->GetInstance(instance);
  if (!record.ok()) return record.status();
  OrchestrationStatus s;
  if (!record->has_value()) {
    auto pending = provider_->HasPendingStart(instance);
    if (!pending.ok()) return pending.status();
    if (*pending) {  // a queued start can be suspended too (e.g. parked as unregistered)
      s.status = StartStatus(instance);
      auto suspended = providers::ops::Suspension(*provider_, instance);
      if (suspended.ok() && suspended->has_value()) {
        s.status = "Suspended";
        s.error = **suspended;
      }
      return s;
    }
    // The start may have been consumed by a turn between the two reads: look again.
    record = provider_->GetInstance(instance);
    if (!record.ok()) return record.status();
    if (!record->has_value()) return s;
  }
  if (((**record).status == ExecutionStatus::kCompleted ||
       (**record).status == ExecutionStatus::kFailed)) {
    // An ended instance with a queued restart (start_orchestration if_exists=
    // "restart_if_ended") is about to run again: report Running, as for a queued start, so a
    // wait after the restart does not return the old result. Read again when none is queued:
    // the restart may have run between the two reads.
    auto pending = provider_->HasPendingStart(instance);
    if (!pending.ok()) return pending.status();
    if (*pending) {
      s.status = StartStatus(instance);
      return s;
    }
    record = provider_->GetInstance(instance);
    if (!record.ok()) return record.status();
    if (!record->has_value()) return s;  // deleted meanwhile
  }
  const providers::InstanceRecord& r = **record;
  s.custom_status = r.custom_status;
  s.custom_status_version = r.custom_status_version;
  switch (r.status) {
    case ExecutionStatus::kCompleted:
      s.status = "Completed";
      s.output = r.output.value_or("null");
      break;
    case ExecutionStatus::kFailed:
      s.status = "Failed";
      s.error = r.error.value_or("");
      if (IsTerminated(instance, *s.error)) {
        s.status = "Terminated";
        s.output = r.output;
      }
      break;
    default: {
      s.status = "Running";
      // A provider without the operations capability has no suspended instances.
      auto suspended = providers::ops::Suspension(*provider_, instance);
      if (suspended.ok() && suspended->has_value()) {
        s.status = "Suspended";
        s.error = **suspended;  // the reason
      }
      break;
    }
  }
  return s;
}

// A queued start (or restart) is "Pending" while it waits for its limit's slot, "Running"
// otherwise (docs/flow-control.md, "Orchestration limits"). A store that cannot answer (no
// operations capability) reports Running, as before limits existed.
std::string Client::StartStatus(const std::string& instance) {
  auto waits = providers::ops::StartWaitsForLimit(*provider_, instance);
  return waits.ok() && *waits ? "Pending" : "Running";
}

bool Client::IsTerminated(const std::string& instance, const std::string& error) {
  // The stored error is display text; an application error could start the same way, so
  // the terminal event's structured kind decides (read only for this prefix).
  if (error.rfind("terminated: ", 0) != 0) return false;
  auto history = provider_->ReadHistory(instance, 0);
  return history.ok() && !history->empty() &&
         history->back().kind == history::EventKind::kOrchestrationFailed &&
         history->back().error.kind == "Terminated";
}

Status Client::SuspendInstance(const std::string& instance, const std::string& reason) {
  Status bad = FirstProblem("suspend_instance", {limits::CheckInstanceId(instance)});
  if (!bad.ok()) return bad;
  return providers::ops::Suspend(*provider_, instance, reason);
}

Status Client::ResumeInstance(const std::string& instance) {
  Status bad = FirstProblem("resume_instance", {limits::CheckInstanceId(instance)});
  if (!bad.ok()) return bad;
  return providers::ops::Resume(*provider_, instance);
}

Status Client::TerminateInstance(const std::string& instance, const std::string& reason,
                                 const std::optional<std::string>& output, bool recursive) {
  Status bad = FirstProblem(
      "terminate_instance",
      {limits::CheckInstanceId(instance),
       limits::CheckPayload(output ? output->size() : 0, max_payload_bytes_,
                            "terminate_instance output")});
  if (!bad.ok()) return bad;
  WorkItem w;
  w.kind = WorkItemKind::kCancelInstance;
  w.instance = instance;
  w.reason = reason;
  w.terminate = true;
  w.recursive = recursive;
  w.data = output.value_or("");
  return providers::ops::Terminate(*provider_, w);
}

Result<std::vector<std::string>> Client::ListSuspended() {
  return providers::ops::ListSuspended(*provider_);
}

template <typename Check>
auto Client::WaitUntil(const std::string& instance, int64_t timeout_ms, int64_t max_poll_ms,
                       Check check) -> decltype(check()) {
  // timeout_ms is a real duration: the wall clock, not NowMs(), which a time-skipping test
  // moves forward.
  const int64_t deadline = WallNowMs() + std::max<int64_t>(timeout_ms, 0);
  int64_t poll = 2;
  // Registered before the first check, so a change committed meanwhile is not missed. Changes
  // made by other processes are only seen by polling.
  providers::InstanceSignal::Waiter waiter(&provider_->status_signal(), instance);
  while (true) {
    auto result = check();
    if (!result.ok() || result->has_value()) return result;
    const int64_t now = WallNowMs();
    if (now >= deadline) return result;
    waiter.Wait(std::min(deadline - now, poll));
    poll = std::min(poll * 2, max_poll_ms);
  }
}

Result<OrchestrationStatus> Client::WaitForOrchestration(const std::string& instance,
                                                         int64_t timeout_ms) {
  auto r = WaitUntil(instance, timeout_ms, 100, [&]() -> Result<std::optional<OrchestrationStatus>> {
    auto s = GetStatus(instance);
    if (!s.ok()) return s.status();
    if (s->status == "Completed" || s->status == "Failed" || s->status == "Terminated") {
      return std::optional(*s);
    }
    return std::optional<OrchestrationStatus>();
  });
  if (!r.ok()) return r.status();
  if (!r->has_value()) return Timeout();
  return **r;
}

Result<std::optional<OrchestrationStatus>> Client::WaitForStatusChange(const std::string& instance,
                                                                       int64_t last_seen_version,
                                                                       int64_t poll_interval_ms,
                                                                       int64_t timeout_ms) {
  return WaitUntil(instance, timeout_ms, std::max<int64_t>(poll_interval_ms, 1),
                   [&]() -> Result<std::optional<OrchestrationStatus>> {
                     auto s = GetStatus(instance);
                     if (!s.ok()) return s.status();
                     if (s->custom_status_version > last_seen_version ||
                         s->status == "Completed" || s->status == "Failed" ||
                         s->status == "Terminated") {
                       return std::optional(*s);
                     }
                     return std::optional<OrchestrationStatus>();
                   });
}

Result<std::optional<std::string>> Client::GetKvValue(const std::string& instance,
                                                      const std::string& key) {
  return provider_->GetKvValue(instance, key);
}

Result<std::string> Client::WaitForKvValue(const std::string& instance, const std::string& key,
                                           int64_t timeout_ms) {
  auto r = WaitUntil(instance, timeout_ms, 100,
                     [&]() { return provider_->GetKvValue(instance, key); });
  if (!r.ok()) return r.status();
  if (!r->has_value()) return Timeout();
  return **r;
}

}  // namespace duroxide::client

namespace duroxide::client {

namespace {
// Adds the sender's W3C traceparent to a message's metadata (docs/observability.md).
void PutTrace(nlohmann::json* meta, const std::string& trace_context) {
  if (!trace_context.empty()) (*meta)["traceparent"] = trace_context;
}
}  // namespace

Result<std::string> Client::SendMessage(const std::string& instance, const std::string& queue,
                                        const std::string& data,
                                        const std::string& trace_context) {
  DUROXIDE_RETURN_IF_ERROR(FirstProblem(
      "send_message",
      {limits::CheckInstanceId(instance), limits::CheckName(queue, "queue name"),
       limits::CheckPayload(data.size(), max_payload_bytes_, "send_message data")}));
  const std::string id = ClientMessageId();
  WorkItem w;
  w.kind = WorkItemKind::kQueueMessage;
  w.instance = instance;
  w.name = queue;
  w.data = data;
  nlohmann::json meta{{"sender", nullptr}, {"message_id", id}, {"sent_at_ms", NowMs()}};
  PutTrace(&meta, trace_context);
  w.meta = meta.dump();
  DUROXIDE_RETURN_IF_ERROR(provider_->EnqueueOrchestratorMessage(w, 0));
  return id;
}

Result<int64_t> Client::PublishEvent(const std::string& topic, const std::string& data,
                                     const std::string& trace_context) {
  DUROXIDE_RETURN_IF_ERROR(FirstProblem(
      "publish_event", {limits::CheckName(topic, "topic"),
                        limits::CheckPayload(data.size(), max_payload_bytes_,
                                             "publish_event data")}));
  providers::MessagingStore* store = provider_->messaging();
  if (store == nullptr) return Status::FailedPrecondition("publish_event", "provider has no messaging");
  const std::string id = ClientMessageId();
  nlohmann::json meta{{"sender", nullptr}, {"message_id", id}, {"sent_at_ms", NowMs()},
                      {"topic", topic}};
  PutTrace(&meta, trace_context);
  return store->PublishEvent({topic, data, meta.dump()});
}

Result<std::optional<std::string>> Client::Request(const std::string& instance,
                                                   const std::string& operation,
                                                   const std::string& data, int64_t timeout_ms,
                                                   std::string* request_id,
                                                   const std::string& trace_context) {
  DUROXIDE_RETURN_IF_ERROR(FirstProblem(
      "request", {limits::CheckInstanceId(instance), limits::CheckName(operation, "operation"),
                  limits::CheckPayload(data.size(), max_payload_bytes_, "request data")}));
  providers::MessagingStore* store = provider_->messaging();
  if (store == nullptr) return Status::FailedPrecondition("request", "provider has no messaging");
  // Nobody could ever answer a request to an instance that does not exist: say so now (kNotFound,
  // nothing written) instead of after timeout_ms. Actors are exempt: a request starts one.
  if (instance.rfind("@actor/", 0) != 0) {
    auto status = GetStatus(instance);
    if (!status.ok()) return status.status();
    if (status->status == "NotFound") {
      return Status::NotFound("request", "instance '" + instance + "' does not exist");
    }
  }
  const std::string id = ClientMessageId();
  *request_id = id;
  WorkItem w;
  w.kind = WorkItemKind::kQueueMessage;
  w.instance = instance;
  w.name = "__req:" + operation;
  w.data = data;
  nlohmann::json meta{{"sender", nullptr},    {"message_id", id},
                      {"sent_at_ms", NowMs()}, {"kind", "request"},
                      {"operation", operation}, {"reply_to", "@client"}};
  PutTrace(&meta, trace_context);
  w.meta = meta.dump();
  // Waiters register before the request is sent, so an immediate reply wakes them.
  auto r = WaitUntil("@client/" + id, timeout_ms, 20,
                     [&, sent = false]() mutable -> Result<std::optional<std::string>> {
                       if (!sent) {
                         DUROXIDE_RETURN_IF_ERROR(provider_->EnqueueOrchestratorMessage(w, 0));
                         sent = true;
                         return std::optional<std::string>();
                       }
                       return store->TakeClientReply(id);
                     });
  if (r.ok() && !r->has_value()) {
    // Timed out: a reply that lands later is removed now or never read (it expires unread).
    (void)store->TakeClientReply(id);
  }
  return r;
}

}  // namespace duroxide::client
