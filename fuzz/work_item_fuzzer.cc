// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// libFuzzer target: work-item decoding (queue rows). Any byte string must decode to either a
// work item or a kDataLoss Status, and a decoded item must survive a re-encode round trip.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "duroxide/history/codec.h"

using duroxide::StatusCode;
using duroxide::history::DecodeWorkItem;
using duroxide::history::EncodeWorkItem;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto decoded = DecodeWorkItem(text);
  if (!decoded.ok()) {
    if (decoded.status().code() != StatusCode::kDataLoss) std::abort();
    return 0;
  }
  const std::string once = EncodeWorkItem(*decoded);
  auto again = DecodeWorkItem(once);
  if (!again.ok()) std::abort();
  if (EncodeWorkItem(*again) != once) std::abort();
  return 0;
}
