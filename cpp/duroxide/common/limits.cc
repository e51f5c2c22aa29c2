// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/common/limits.h"

namespace duroxide::limits {

namespace {

// Returns the offset of the first control character, or npos.
size_t FindControl(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) return i;
  }
  return std::string::npos;
}

std::string CheckText(const std::string& s, size_t max_bytes, const char* what) {
  if (s.empty()) return std::string(what) + " is empty";
  if (s.size() > max_bytes) {
    return std::string(what) + " is " + std::to_string(s.size()) +
           " bytes, over the limit of " + std::to_string(max_bytes) + " bytes";
  }
  const size_t bad = FindControl(s);
  if (bad != std::string::npos) {
    return std::string(what) + " contains a control character (byte " +
           std::to_string(static_cast<unsigned>(static_cast<unsigned char>(s[bad]))) +
           " at offset " + std::to_string(bad) + "); control characters are not allowed";
  }
  return "";
}

}  // namespace

std::string CheckInstanceId(const std::string& id, const char* what) {
  return CheckText(id, kMaxInstanceIdBytes, what);
}

std::string CheckName(const std::string& name, const char* what) {
  return CheckText(name, kMaxNameBytes, what);
}

std::string CheckPayload(size_t size, int64_t limit, const char* what) {
  if (limit <= 0 || size <= static_cast<size_t>(limit)) return "";
  return std::string(what) + " is " + std::to_string(size) + " bytes, over the payload limit of " +
         std::to_string(limit) + " bytes (max_payload_bytes); store large data elsewhere and "
         "pass a reference";
}

}  // namespace duroxide::limits
