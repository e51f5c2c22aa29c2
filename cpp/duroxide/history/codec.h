// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// JSON encoding of events and work items (the on-disk format, see docs/architecture.md).
// Events are flat objects tagged with "type"; work items are externally tagged
// ({"ActivityExecute":{...}}). Decoding never throws: a malformed or unknown record yields
// a kDataLoss Status naming the problem, so that corrupted histories fail cleanly.
#ifndef DUROXIDE_HISTORY_CODEC_H_
#define DUROXIDE_HISTORY_CODEC_H_

#include <string>

#include "duroxide/common/status.h"
#include "duroxide/history/event.h"
#include "duroxide/history/work_item.h"

namespace duroxide::history {

std::string EncodeEvent(const Event& event);
Result<Event> DecodeEvent(const std::string& text);

std::string EncodeWorkItem(const WorkItem& item);
Result<WorkItem> DecodeWorkItem(const std::string& text);

// The Event.data string of the admin API (api.md 1.11): payloads spliced in as raw JSON;
// nullopt for kinds that carry no data.
std::optional<std::string> EventAdminData(const Event& event);

}  // namespace duroxide::history

#endif  // DUROXIDE_HISTORY_CODEC_H_
