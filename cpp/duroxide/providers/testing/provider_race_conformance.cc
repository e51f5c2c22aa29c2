// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Client writes racing with the turns that start, continue or end an instance (issue 21).
// Each test wraps the fixture's provider in a ForwardingProvider that runs the competing
// commit right before the k-th store call of a client operation, for every k, so each
// interleaving at store-call granularity is exercised on every run instead of once in a few
// hundred thread races. The property checked is the client contract: an operation that
// returned OK took effect exactly once (or, for a cancel, the instance has ended).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "duroxide/client/client.h"
#include "duroxide/providers/testing/forwarding_provider.h"
#include "duroxide/providers/testing/provider_admin_conformance_util.h"
#include "duroxide/providers/testing/provider_conformance.h"

namespace duroxide::providers::testing {
namespace {

using namespace conformance;  // NOLINT(build/namespaces)
using admin_conformance::MgmtOf;
using admin_conformance::NoRowsLeft;
using client::Client;

// Runs `hook` once, right before the client's call number `at` (0-based); later calls pass.
class InterleavingProvider : public ForwardingProvider {
 public:
  InterleavingProvider(Provider* inner, int at, std::function<void(Provider&)> hook)
      : ForwardingProvider(inner), at_(at), hook_(std::move(hook)) {}

  // True when the hook ran (the client made more than `at` calls).
  bool hook_ran() const { return !hook_; }
  // Runs the hook now if the client made fewer calls than `at`.
  void RunHookIfPending() { Fire(); }

 protected:
  void OnClientCall(const char* /*op*/) override {
    if (calls_++ == at_) Fire();
  }

 private:
  void Fire() {
    if (!hook_) return;
    auto hook = std::move(hook_);
    hook_ = nullptr;
    hook(inner());
  }
  int at_;
  int calls_ = 0;
  std::function<void(Provider&)> hook_;
};

// Fetches and acknowledges the queued start of `instance` as its first turn; appends the
// batch's messages to `delivered`.
void CommitFirstTurn(Provider& p, const std::string& instance, std::vector<WorkItem>* delivered) {
  auto item = FetchOrch(p);
  ASSERT_TRUE(item);
  ASSERT_EQ(item->instance, instance);
  for (const WorkItem& m : item->messages) delivered->push_back(m);
  CONF_ASSERT_OK(p.AckOrchestrationItem(item->lock_token, FirstTurn()));
}

// Every message delivered to `instance` from now on (each batch is acknowledged empty).
std::vector<WorkItem> DrainMessages(Provider& p, const std::string& instance) {
  std::vector<WorkItem> out;
  while (auto item = FetchOrch(p)) {
    EXPECT_EQ(item->instance, instance);
    for (const WorkItem& m : item->messages) out.push_back(m);
    TurnCommit none;
    none.execution_id = 1;
    EXPECT_TRUE(p.AckOrchestrationItem(item->lock_token, none).ok());
  }
  return out;
}

int CountKind(const std::vector<WorkItem>& items, WorkItemKind kind) {
  int n = 0;
  for (const WorkItem& w : items) n += w.kind == kind ? 1 : 0;
  return n;
}

constexpr int kMaxClientCalls = 4;  // more than any operation below makes

// The lost cancel of issue 21: the first turn commits between the cancel's reads.
TEST_P(ProviderConformance, RaceCancelWhileFirstTurnCommitsAtEveryPoint) {
  for (int at = 0; at <= kMaxClientCalls; ++at) {
    SCOPED_TRACE("first turn commits before client call " + std::to_string(at));
    std::unique_ptr<Provider> store = GetParam().create();
    CONF_ASSERT_OK(store->StartOrchestration(Start("a")));
    std::vector<WorkItem> delivered;
    auto racing = std::make_shared<InterleavingProvider>(
        store.get(), at, [&](Provider& p) { CommitFirstTurn(p, "a", &delivered); });
    Client client(racing);
    CONF_ASSERT_OK(client.CancelInstance("a", "stop"));
    racing->RunHookIfPending();
    for (const WorkItem& m : DrainMessages(*store, "a")) delivered.push_back(m);
    EXPECT_EQ(CountKind(delivered, WorkItemKind::kCancelInstance), 1);
  }
}

// A cancel that arrives while the first turn holds the instance lock survives that turn's ack.
TEST_P(ProviderConformance, RaceCancelDuringLockedFirstTurnSurvivesTheAck) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  Client client(std::shared_ptr<Provider>(&p(), [](Provider*) {}));
  CONF_ASSERT_OK(client.CancelInstance("a", "stop"));
  CONF_ASSERT_OK(p().AckOrchestrationItem(item->lock_token, FirstTurn()));
  EXPECT_EQ(CountKind(DrainMessages(p(), "a"), WorkItemKind::kCancelInstance), 1);
}

// raise_event, enqueue_event and send_message around the first turn: before its fetch,
// while it holds the lock, after its ack. Each message is delivered exactly once.
TEST_P(ProviderConformance, RaceClientMessagesAroundFirstTurnAreDeliveredOnce) {
  using Send = std::function<Status(Client&)>;
  const std::vector<std::pair<const char*, Send>> sends = {
      {"raise_event", [](Client& c) { return c.RaiseEvent("a", "e", "1"); }},
      {"enqueue_event", [](Client& c) { return c.EnqueueEvent("a", "q", "2"); }},
      {"send_message", [](Client& c) { return c.SendMessage("a", "m", "3").status(); }},
  };
  for (const auto& [what, send] : sends) {
    for (int phase = 0; phase < 3; ++phase) {
      SCOPED_TRACE(std::string(what) + " phase " + std::to_string(phase));
      std::unique_ptr<Provider> store = GetParam().create();
      Client client(std::shared_ptr<Provider>(store.get(), [](Provider*) {}));
      CONF_ASSERT_OK(store->StartOrchestration(Start("a")));
      std::vector<WorkItem> delivered;
      if (phase == 0) CONF_ASSERT_OK(send(client));
      auto item = FetchOrch(*store);
      ASSERT_TRUE(item);
      for (const WorkItem& m : item->messages) delivered.push_back(m);
      if (phase == 1) CONF_ASSERT_OK(send(client));
      CONF_ASSERT_OK(store->AckOrchestrationItem(item->lock_token, FirstTurn()));
      if (phase == 2) CONF_ASSERT_OK(send(client));
      for (const WorkItem& m : DrainMessages(*store, "a")) delivered.push_back(m);
      EXPECT_EQ(CountKind(delivered, WorkItemKind::kStartOrchestration), 1);
      EXPECT_EQ(CountKind(delivered, WorkItemKind::kExternalRaised) +
                    CountKind(delivered, WorkItemKind::kQueueMessage),
                1);
    }
  }
}

// cancel + completion: the final turn commits at every point of the cancel. The cancel
// returns OK and the instance keeps its outcome.
TEST_P(ProviderConformance, RaceCancelWhileFinalTurnCommitsAtEveryPoint) {
  for (int at = 0; at <= kMaxClientCalls; ++at) {
    SCOPED_TRACE("final turn commits before client call " + std::to_string(at));
    std::unique_ptr<Provider> store = GetParam().create();
    ASSERT_TRUE(CreateInstance(*store, "a"));
    auto racing = std::make_shared<InterleavingProvider>(store.get(), at, [](Provider& p) {
      TurnCommit done;
      done.execution_id = 1;
      done.new_events = {Ev(2, EventKind::kOrchestrationCompleted)};
      done.status = ExecutionStatus::kCompleted;
      done.output = "\"ok\"";
      EXPECT_TRUE(CommitTurn(p, "a", done));
    });
    Client client(racing);
    CONF_ASSERT_OK(client.CancelInstance("a", "stop"));
    racing->RunHookIfPending();
    auto rec = Must(store->GetInstance("a"));
    ASSERT_TRUE(rec);
    EXPECT_EQ(rec->status, ExecutionStatus::kCompleted);
    EXPECT_EQ(rec->output, std::optional<std::string>("\"ok\""));
  }
}

// delete + running turn: a forced delete while a turn holds the lock. The turn's ack must not
// bring back part of the instance (history rows without an instance).
TEST_P(ProviderConformance, RaceForcedDeleteWhileTurnHoldsTheLock) {
  if (p().admin() == nullptr) GTEST_SKIP() << "provider has no management";
  ASSERT_TRUE(CreateInstance(p(), "a"));
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("a"), 0));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  auto deleted = MgmtOf(p()).DeleteInstance("a", /*force=*/true);
  ASSERT_TRUE(deleted.ok()) << deleted.status().ToString();
  TurnCommit next;
  next.execution_id = 1;
  next.new_events = {Ev(2, EventKind::kExternalEvent)};
  const Status ack = p().AckOrchestrationItem(item->lock_token, next);
  EXPECT_EQ(ack.code(), StatusCode::kFailedPrecondition) << ack.ToString();
  EXPECT_TRUE(NoRowsLeft(p(), "a"));
  EXPECT_FALSE(FetchOrch(p()));
}

}  // namespace
}  // namespace duroxide::providers::testing
