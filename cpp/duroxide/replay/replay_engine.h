// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// ReplayEngine: the deterministic heart of duroxide. It walks one execution's history in
// order, runs user code (through OrchestrationInvoker) whenever the task it is waiting on
// resolves, and checks that every event the code emits matches the one history recorded.
// Past the end of the persisted history the same walk continues with this turn's new
// messages, and whatever the code emits then becomes new events and work items.
//
// Key rules (docs/architecture.md, "Replay"):
//  * Events are either arrivals (completions, timer fired, external/queue events, cancel
//    requests) or emitted (everything the engine writes because of code). Emitted events are
//    matched one by one, in order, against what the code emits on replay; a mismatch, or an
//    emitted event the walk reaches before the code emitted it, is nondeterminism.
//  * Resolution is decided by history order: a race is won by the leaf whose completion comes
//    first; external events go to the oldest subscription open at their position (or are
//    dropped); queue messages go FIFO to dequeue subscriptions or are buffered.
//  * Losers of a race are cancelled the moment the race resolves, so a cancelled dequeue never
//    consumes a message.
//
// The engine is pure: no I/O, no clock (now_ms is an input), no threads. It keeps the user
// code suspended between turns, so a runtime may keep the engine and feed it the next turn's
// messages without replaying from the start (warm replay).
// Thread-safety: not thread-safe; one turn at a time.
#ifndef DUROXIDE_REPLAY_REPLAY_ENGINE_H_
#define DUROXIDE_REPLAY_REPLAY_ENGINE_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "duroxide/history/event.h"
#include "duroxide/history/work_item.h"
#include "duroxide/replay/invoker.h"

namespace duroxide::replay {

struct EngineOptions {
  int64_t max_kv_keys = 150;
  int64_t max_kv_value_bytes = 65536;
  int64_t max_custom_status_bytes = 256 * 1024;
  int64_t max_tag_bytes = 256;
  // Cap on one payload the code produces (activity/sub-orchestration input, orchestration
  // output, continue-as-new input); <= 0 disables. Exceeding it fails the execution with
  // "LimitExceeded".
  int64_t max_payload_bytes = 4 * 1024 * 1024;
  // Cap on events per execution; <= 0 disables. The code emitting event number
  // max_history_events fails the execution with "LimitExceeded" (suggesting continue-as-new).
  int64_t max_history_events = 50000;
  // Unconsumed queue messages carried into the next execution at continue-as-new. Messages
  // beyond the cap are dropped with a warning and counted in TurnOutput::dropped_messages.
  size_t max_carry_forward = 1024;
  // Source of new GUIDs (36 characters). Default: random v4 GUIDs.
  std::function<std::string()> new_guid;
};

struct KvValue {
  std::string value;
  int64_t updated_at_ms = 0;
};

struct TurnOutput {
  enum class Outcome { kContinue, kCompleted, kFailed, kContinuedAsNew, kUnregistered };
  Outcome outcome = Outcome::kContinue;
  std::vector<history::Event> new_events;  // to append, in order
  std::string output;                      // kCompleted
  history::ErrorDetails error;             // kFailed
  std::vector<history::WorkItem> worker_items;
  std::vector<history::WorkItem> orchestrator_items;
  std::vector<int64_t> cancelled_activity_ids;  // activities of this execution to lock-steal
  int64_t dropped_messages = 0;                 // stale, duplicate or undeliverable messages
  // kCompleted / kFailed: queue messages the execution took but never consumed (point-to-point
  // messages and requests; not replies, not topic events), for the dead-letter list.
  std::vector<history::WorkItem> unconsumed_messages;
  std::string unregistered_message;             // kUnregistered
};

class ReplayEngine : private OrchestrationHost {
 public:
  // `invoker` must outlive the engine.
  ReplayEngine(std::string instance, int64_t execution_id, OrchestrationInvoker* invoker,
               EngineOptions options);
  ~ReplayEngine() override;
  ReplayEngine(const ReplayEngine&) = delete;
  ReplayEngine& operator=(const ReplayEngine&) = delete;

  // Loads the persisted history of the execution (empty for a new execution) and the KV state
  // at the start of the execution. REQUIRES: called once, before the first RunTurn.
  void Load(std::vector<history::Event> history, std::map<std::string, KvValue> kv_baseline);

  // Runs one turn. `started` is the OrchestrationStarted event of a new execution (REQUIRED iff
  // the loaded history was empty); `messages` are this turn's orchestrator messages other than
  // StartOrchestration/ContinueAsNew.
  TurnOutput RunTurn(std::optional<history::Event> started,
                     const std::vector<history::WorkItem>& messages, int64_t now_ms);

  // Number of events the engine holds (persisted + committed turns) and the last event id;
  // a runtime uses them to check that a cached engine is still in step with storage.
  size_t history_size() const { return events_.size(); }
  int64_t last_event_id() const { return events_.empty() ? 0 : events_.back().event_id; }
  // True once the execution reached a terminal state (the engine cannot run more turns).
  bool finished() const { return finished_; }
  int64_t execution_id() const { return execution_id_; }
  // For a rerun's first turn (providers/ops_common.h Rerun): activities the replayed history
  // scheduled and never finished are queued again, built from the code's descriptors, so they
  // keep their routing (requires, tag, priority). Set for that turn only.
  void SetRequeueOpenActivities(bool on) { requeue_open_activities_ = on; }
  // Marks the turn's output as committed. A cached engine whose last output was not committed
  // must be discarded (REQUIRES for warm reuse).
  // After each turn the runtime marks the output committed (the ack succeeded) or abandoned.
  // A cached engine may be reused only once committed. Thread-safety: these may be called
  // while another thread inspects the engine.
  void MarkCommitted() { commit_state_.store(kCommitted); }
  void MarkAbandoned() { commit_state_.store(kAbandoned); }
  bool committed() const { return commit_state_.load() == kCommitted; }
  // Waits (up to timeout_ms) while the last turn's commit is still being decided; returns
  // committed().
  bool AwaitCommitDecision(int64_t timeout_ms) const;

 private:
  struct Node;

  // OrchestrationHost
  bool is_replaying() const override;
  void SetCustomStatus(std::optional<std::string> status) override;
  std::optional<std::string> GetCustomStatus() const override;
  void SetKv(const std::string& key, const std::string& value) override;
  std::optional<std::string> GetKv(const std::string& key) const override;
  std::map<std::string, std::string> GetKvAll() const override;
  void ClearKv(const std::string& key) override;
  void ClearAllKv() override;
  int64_t PruneKv(int64_t updated_before_ms) override;
  void Trace(LogLevel level, const std::string& message) override;
  std::string SendMessage(const std::string& target, const std::string& queue,
                          const std::string& data, const std::string& extra_meta) override;
  void PublishEvent(const std::string& topic, const std::string& data) override;
  void SubscribeTopic(const std::string& topic) override;
  void UnsubscribeTopic(const std::string& topic) override;
  std::string MessageMeta(int64_t event_id, const std::string& extra, const std::string& topic) const;
  // Queue deliveries: the value a dequeue node resolves with, and wildcard lookups.
  TaskValue QueueValue(const Node* n, size_t pos) const;
  void CollectUnconsumed();
  Node* TakeOpenQueue(const std::string& name);
  bool TakeBuffered(const std::string& name, size_t* pos);

  void IndexEvent(size_t pos);
  void PrepareArrivals(const std::vector<history::WorkItem>& messages, TurnOutput* out);
  void PushArrival(history::Event e);
  void DropMessage(const history::WorkItem& m, const char* why, TurnOutput* out);
  void AcceptCompletion(const history::WorkItem& m, history::EventKind sched_kind,
                        history::EventKind kind, TurnOutput* out);
  void Walk();
  void StartCode();
  void Advance();
  void HandleStep(Step step);
  std::unique_ptr<Node> BuildNode(const TaskDescriptor& desc, Node* parent, int index);
  void EmitLeaf(Node* node);
  // The emitters EmitLeaf picks from, one per task kind (replay_emit.cc). Each returns the
  // position of its schedule event, or kNoPos when the emission failed the turn.
  void EmitRetry(Node* node);
  size_t EmitActivity(const TaskDescriptor& d);
  history::WorkItem ActivityWorkItem(const TaskDescriptor& d, const history::Event& scheduled) const;
  bool Finished(const history::Event& scheduled) const;
  size_t EmitSyscall(const TaskDescriptor& d);
  size_t EmitTimer(const TaskDescriptor& d);
  size_t EmitSubscription(const TaskDescriptor& d);
  size_t EmitOrchestration(const TaskDescriptor& d);
  void StartRetryAttempt(Node* node);
  void ScheduleReadyGraphNodes(Node* graph);
  // Records `proto` (new) or matches it with the next emitted event of the history (replay);
  // kNoPos when the turn fails. *is_new, when asked for, tells which.
  size_t Emit(history::Event proto, bool* is_new = nullptr);
  // The limit a new event would break ("" if none): payload sizes, names, history length.
  std::string CheckNewEvent(const history::Event& e) const;
  bool Matches(const history::Event& emitted, const history::Event& recorded) const;
  void Deliver(size_t pos);
  void Activate(size_t pos);
  void Resolve(Node* node, TaskValue value);
  void ResolveJoinIfDone(Node* node);
  void OnChildResolved(Node* parent, Node* child);
  void Cancel(Node* node, const std::string& reason);
  void CancelAllPending(const std::string& reason);
  void Fail(history::ErrorDetails error);
  void Nondeterminism(const std::string& message);
  void FinishTerminal(history::Event terminal);
  bool CancelInsteadOfContinue();
  bool CheckTerminal(const history::Event& terminal);
  history::WorkItem ContinueAsNewItem(const history::Event& terminal);
  void CarryForward(history::WorkItem* w);
  void NotifyParent(const history::Event& terminal);
  std::string Describe(const history::Event& e) const;

  std::string instance_;
  int64_t execution_id_;
  OrchestrationInvoker* invoker_;
  EngineOptions options_;

  std::vector<history::Event> events_;
  std::vector<Node*> leaf_at_;                      // emitted event pos -> leaf (or nullptr)
  std::unordered_map<int64_t, size_t> pos_by_id_;   // event id -> pos
  std::unordered_map<int64_t, Node*> leaf_by_id_;   // schedule event id -> leaf
  std::unordered_map<int64_t, bool> completed_ids_; // schedule ids with a completion event
  size_t persisted_len_ = 0;  // events committed before this turn
  size_t walk_pos_ = 0;       // next event to walk
  size_t cursor_ = 0;         // next history event to match an emission against
  int64_t next_event_id_ = 1;
  int64_t now_ms_ = 0;

  std::unique_ptr<OrchestrationSession> session_;
  std::unique_ptr<Node> root_;  // the task the code currently waits on
  std::vector<std::unique_ptr<Node>> retired_;  // resolved roots (their leaves stay indexed)
  bool code_started_ = false;
  bool finished_ = false;
  bool requeue_open_activities_ = false;  // SetRequeueOpenActivities
  static constexpr int kPending = 0, kCommitted = 1, kAbandoned = 2;
  std::atomic<int> commit_state_{kCommitted};
  bool cancel_seen_ = false;

  std::optional<std::string> custom_status_;
  std::map<std::string, KvValue> kv_;
  std::optional<history::ErrorDetails> pending_failure_;  // set by host calls (limits)

  std::map<std::string, std::vector<Node*>> open_external_;    // name -> open subscriptions
  std::map<std::string, std::vector<Node*>> open_queue_;       // name -> open subscriptions
  std::map<std::string, std::vector<size_t>> queue_buffer_;    // name -> undelivered arrivals
  // Reply queues of requests that ended (timed out or cancelled): late replies are dropped.
  std::map<std::string, bool> closed_reply_queues_;

  // Per-turn output under construction.
  TurnOutput* out_ = nullptr;
  bool turn_failed_ = false;
};

}  // namespace duroxide::replay

#endif  // DUROXIDE_REPLAY_REPLAY_ENGINE_H_
