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

// Marker in the kDataLoss message of a record whose type this build does not know: most
// likely written by a newer duroxide. Runtimes leave such instances untouched (no poison
// failure) so that a newer runtime can still process them.
constexpr const char* kNewerFormatMarker = "written by a newer duroxide";
bool IsNewerFormat(const Status& status);

std::string EncodeEvent(const Event& event);
Result<Event> DecodeEvent(const std::string& text);

std::string EncodeWorkItem(const WorkItem& item);
Result<WorkItem> DecodeWorkItem(const std::string& text);

// The Event.data string of the admin API (api.md 1.11): payloads spliced in as raw JSON;
// nullopt for kinds that carry no data.
std::optional<std::string> EventAdminData(const Event& event);

}  // namespace duroxide::history

#endif  // DUROXIDE_HISTORY_CODEC_H_
