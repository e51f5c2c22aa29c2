// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The runtime's messaging decisions for one turn (docs/messaging.md): what a turn's new
// messaging events write, which fetched messages are dead letters, and the start-if-absent of
// actors. Pure functions of their inputs; the provider only stores the result.
#ifndef DUROXIDE_RUNTIME_MESSAGING_TURN_H_
#define DUROXIDE_RUNTIME_MESSAGING_TURN_H_

#include <optional>
#include <string>
#include <vector>

#include "duroxide/history/event.h"
#include "duroxide/history/work_item.h"
#include "duroxide/providers/provider.h"

namespace duroxide::runtime {

// Reserved names (docs/messaging.md).
inline constexpr const char* kClientReplyTarget = "@client";  // reply_to of client requests
inline constexpr const char* kReplyQueuePrefix = "__reply:";  // + request id
inline constexpr const char* kActorPrefix = "@actor/";        // + type + "/" + key
inline constexpr const char* kActorOrchestrationPrefix = "__duroxide_actor__:";  // + type

// Adds the side effects of the turn's new MessageSent / EventPublished / TopicSubscribed /
// TopicUnsubscribed events to the commit (queue messages, client replies, topic writes).
void AddMessagingWrites(const std::vector<history::Event>& new_events, providers::TurnCommit* commit);

// The fetched messages of an instance that cannot take them (missing, completed or failed)
// become dead letters with `reason`; a request among them is answered with an error at once,
// so its caller fails fast instead of timing out. Replies to such an instance are dropped
// (counted in *dropped).
void DeadLetterMessages(const std::string& instance, const std::vector<history::WorkItem>& messages,
                        const std::string& reason, providers::TurnCommit* commit, int64_t* dropped);

// For an actor id (@actor/<Type>/<key>) that has no instance yet: the start of its built-in
// loop orchestration. nullopt for any other id.
std::optional<history::WorkItem> ActorStartIfAbsent(const std::string& instance);

}  // namespace duroxide::runtime

#endif  // DUROXIDE_RUNTIME_MESSAGING_TURN_H_
