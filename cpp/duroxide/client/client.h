// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Client: starts orchestrations, sends them events, reads and waits for their status.
// Payloads are opaque JSON text. Waits block the calling thread (bindings release the GIL)
// and wake at once on changes committed in this process; changes from other processes are
// seen by polling with a short backoff.
// Thread-safety: thread-safe.
#ifndef DUROXIDE_CLIENT_CLIENT_H_
#define DUROXIDE_CLIENT_CLIENT_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "duroxide/common/status.h"
#include "duroxide/providers/provider.h"

namespace duroxide::client {

// What start_orchestration does when the instance id is taken (docs/flow-control.md).
//   "fail": kAlreadyExists, nothing written (the default).
//   "use_existing": Ok, the existing instance is left exactly as it is, whatever its state.
//   "restart_if_ended": a Completed or Failed instance gets a new execution (execution id + 1)
//   with the new name, version and input; a running (or still queued) one is left alone.
struct StartOptions {
  std::string if_exists = "fail";
  int64_t priority = 0;  // 0-9, higher first (providers/queue_order.h); also a restart's
  std::string trace_context;  // the caller's W3C traceparent, stored with the start ("" = none)
  // A named limit capping how many instances of it run at once, and the key it is counted
  // under when the limit is per key ("" = none; needs `limit`). docs/flow-control.md.
  std::string limit;
  std::string limit_key;
};

struct OrchestrationStatus {
  // "NotFound" | "Pending" | "Running" | "Suspended" | "Completed" | "Failed" | "Terminated".
  // Pending: a start queued with a limit that has not taken its slot (first turn not run).
  // Suspended: error holds the suspension reason. Terminated: output holds the output given
  // to TerminateInstance (if any), error "terminated: <reason>".
  std::string status = "NotFound";
  std::optional<std::string> output;
  std::optional<std::string> error;
  std::optional<std::string> custom_status;
  int64_t custom_status_version = 0;
};

class Client {
 public:
  explicit Client(std::shared_ptr<providers::Provider> provider);

  // Cap on one payload (start input, event data) this client accepts; <= 0 disables it.
  // Default: limits::kDefaultMaxPayloadBytes. Not thread-safe against concurrent calls: set
  // it before sharing the client.
  void set_max_payload_bytes(int64_t bytes) { max_payload_bytes_ = bytes; }
  int64_t max_payload_bytes() const { return max_payload_bytes_; }

  // kAlreadyExists if the instance id is taken (nothing is written then). kInvalidArgument
  // (nothing written) for an instance id, name or payload outside common/limits.h; the same
  // for RaiseEvent/EnqueueEvent's name and data.
  // kInvalidArgument naming `if_exists` for an unknown policy or `priority` outside 0-9
  // (nothing written).
  Status StartOrchestration(const std::string& instance, const std::string& name,
                            const std::string& input, const std::optional<std::string>& version,
                            const StartOptions& options = {});
  Status RaiseEvent(const std::string& instance, const std::string& name, const std::string& data);
  Status EnqueueEvent(const std::string& instance, const std::string& queue,
                      const std::string& data);
  // No-op for missing or finished instances.
  Status CancelInstance(const std::string& instance, const std::string& reason);

  // Operations (providers/ops_common.h): kNotFound, kFailedPrecondition naming the state.
  Status SuspendInstance(const std::string& instance, const std::string& reason);
  Status ResumeInstance(const std::string& instance);
  // Ends the instance at once (status Terminated); `output` is JSON text; recursive also
  // terminates its running sub-orchestrations.
  Status TerminateInstance(const std::string& instance, const std::string& reason,
                           const std::optional<std::string>& output, bool recursive);
  Result<std::vector<std::string>> ListSuspended();

  Result<OrchestrationStatus> GetStatus(const std::string& instance);
  // Waits until Completed or Failed; kDeadlineExceeded ("Operation timed out") on timeout.
  Result<OrchestrationStatus> WaitForOrchestration(const std::string& instance, int64_t timeout_ms);
  // Returns when custom_status_version > last_seen_version or the instance is terminal;
  // nullopt on timeout.
  Result<std::optional<OrchestrationStatus>> WaitForStatusChange(const std::string& instance,
                                                                 int64_t last_seen_version,
                                                                 int64_t poll_interval_ms,
                                                                 int64_t timeout_ms);
  Result<std::optional<std::string>> GetKvValue(const std::string& instance,
                                                const std::string& key);
  // kDeadlineExceeded on timeout.
  Result<std::string> WaitForKvValue(const std::string& instance, const std::string& key,
                                     int64_t timeout_ms);

  // ---- messaging (docs/messaging.md) -----------------------------------------------------
  // Sends `data` to `instance`'s queue `queue` (sender: none). Returns the message id.
  // `trace_context` (a W3C traceparent, "" = none) goes into the message's metadata as
  // "traceparent", here and in PublishEvent and Request.
  Result<std::string> SendMessage(const std::string& instance, const std::string& queue,
                                  const std::string& data, const std::string& trace_context = "");
  // Appends an event to `topic`'s log. Returns its seq. kFailedPrecondition without messaging.
  Result<int64_t> PublishEvent(const std::string& topic, const std::string& data,
                               const std::string& trace_context = "");
  // Sends a request for `operation` and waits for the reply (JSON {"ok": v} | {"error": m}).
  // nullopt when timeout_ms elapses first; the request id is written to *request_id.
  // kNotFound (nothing written) when `instance` does not exist and is not an actor.
  Result<std::optional<std::string>> Request(const std::string& instance,
                                             const std::string& operation,
                                             const std::string& data, int64_t timeout_ms,
                                             std::string* request_id,
                                             const std::string& trace_context = "");

  const std::shared_ptr<providers::Provider>& provider() const { return provider_; }

 private:
  // restart_if_ended after the plain start found the id taken.
  Status RestartIfEnded(const history::WorkItem& start);

  template <typename Check>
  auto WaitUntil(const std::string& instance, int64_t timeout_ms, int64_t max_poll_ms,
                 Check check) -> decltype(check());

  std::string StartStatus(const std::string& instance);
  bool IsTerminated(const std::string& instance, const std::string& error);

  std::shared_ptr<providers::Provider> provider_;
  int64_t max_payload_bytes_;
};

}  // namespace duroxide::client

#endif  // DUROXIDE_CLIENT_CLIENT_H_
