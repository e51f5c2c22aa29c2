// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Limits on what users put into duroxide (docs/reliability.md, "Limits"). Every check returns
// an empty string when the value is acceptable, otherwise a readable description of the
// problem that names the limit; callers turn it into kInvalidArgument at an API call site or
// into a "LimitExceeded" failure of the instance when user code produced the value.
#ifndef DUROXIDE_COMMON_LIMITS_H_
#define DUROXIDE_COMMON_LIMITS_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

namespace duroxide::limits {

// Instance ids: 1..256 bytes of valid UTF-8 without the code points IsForbiddenCodePoint
// refuses (controls, separators, invisible format characters, noncharacters).
constexpr size_t kMaxInstanceIdBytes = 256;
// Orchestration, activity, event, queue, topic and operation names: the same rules.
constexpr size_t kMaxNameBytes = 256;
// Default cap on one serialized payload (input, output, result, event data). Configurable
// (RuntimeOptions/ClientOptions max_payload_bytes).
constexpr int64_t kDefaultMaxPayloadBytes = 4 * 1024 * 1024;
// Default cap on the number of events of one execution. Configurable
// (RuntimeOptions max_history_events); long-running orchestrations use continue-as-new.
constexpr int64_t kDefaultMaxHistoryEvents = 50000;

bool IsForbiddenCodePoint(uint32_t cp);
// `what` names the value in the message ("instance id", "child instance id", ...).
std::string CheckInstanceId(const std::string& id, const char* what = "instance id");
std::string CheckName(const std::string& name, const char* what);
// `limit` <= 0 disables the check.
std::string CheckPayload(size_t size, int64_t limit, const char* what);
// The first non-empty problem among `problems` (checks in the order a caller reports them),
// or "" when every check passed.
std::string FirstProblem(std::initializer_list<std::string> problems);

}  // namespace duroxide::limits

#endif  // DUROXIDE_COMMON_LIMITS_H_
