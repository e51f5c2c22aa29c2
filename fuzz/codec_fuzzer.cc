// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// libFuzzer target: the history event codec. Any byte string must decode to either an event or
// a kDataLoss Status (never a crash, hang or leak), and a decoded event must re-encode to text
// that decodes to the same encoding (the codec is stable on its own output).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "duroxide/history/codec.h"

using duroxide::StatusCode;
using duroxide::history::DecodeEvent;
using duroxide::history::EncodeEvent;
using duroxide::history::EventAdminData;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto decoded = DecodeEvent(text);
  if (!decoded.ok()) {
    if (decoded.status().code() != StatusCode::kDataLoss) std::abort();
    return 0;
  }
  (void)EventAdminData(*decoded);
  const std::string once = EncodeEvent(*decoded);
  auto again = DecodeEvent(once);
  if (!again.ok()) std::abort();  // our own encoding must decode
  if (EncodeEvent(*again) != once) std::abort();
  return 0;
}
