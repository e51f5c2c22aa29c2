// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Management conformance tests, deletion part (see provider_admin_conformance.cc): Deletion
// (one instance or an atomic delete set, its cascade to children, in-flight turns of deleted
// instances, Management::DeleteInstance and its retry when a child races in) and BulkDeletion
// (Management::DeleteInstanceBulk over terminal root trees, ListTerminalRoots filters).
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "duroxide/providers/testing/provider_admin_conformance_util.h"

namespace duroxide::providers::testing {
namespace {

using namespace admin_conformance;  // NOLINT: test helpers

// ---- deletion ------------------------------------------------------------------------------

TEST_P(ProviderConformance, DeletionRemovesEveryRowOfTheInstance) {
  ProviderAdmin& admin = AdminOf(p());
  TurnCommit c = FirstTurn();
  c.new_events.push_back(Ev(2, EventKind::kActivityScheduled));
  WorkItem act;
  act.kind = WorkItemKind::kActivityExecute;
  act.instance = "x";
  act.execution_id = 1;
  act.id = 2;
  act.name = "Act";
  act.orchestration_name = "Orch";
  act.orchestration_version = "1.0.0";
  c.worker_items = {act};
  WorkItem timer;
  timer.kind = WorkItemKind::kTimerFired;
  timer.instance = "x";
  timer.execution_id = 1;
  timer.id = 3;
  timer.fire_at_ms = NowMs() + 600000;
  c.orchestrator_items = {timer};
  c.kv_mutations = {{KvMutation::Kind::kSet, "k", "v", NowMs()}};
  Create(p(), "x", c);
  ContinueAsNewTimes(p(), "x", 1, 2);  // the KV moves to the baseline; 2 executions
  Create(p(), "keep");
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("x"), 0));

  DeleteInstanceResult r = Must(admin.DeleteInstancesAtomic({"x"}, /*force=*/true));
  EXPECT_EQ(r.instances_deleted, 1);
  EXPECT_EQ(r.executions_deleted, 2);
  EXPECT_EQ(r.events_deleted, 3 + 1);  // exec 1: started, scheduled, CAN; exec 2: started
  EXPECT_EQ(r.queue_messages_deleted, 3);  // activity, timer, event
  EXPECT_TRUE(NoRowsLeft(p(), "x"));
  EXPECT_TRUE(Must(admin.ListExecutions("x")).empty());
  EXPECT_FALSE(Must(p().FetchWorkItem(kLockMs, WorkerFetchOptions{})).has_value());
  EXPECT_FALSE(Must(p().FetchOrchestrationItem(kLockMs)).has_value());
  QueueDepths d = Must(admin.GetQueueDepths());
  EXPECT_EQ(d.orchestrator_queue + d.worker_queue + d.timer_queue, 0);
  EXPECT_EQ(Must(admin.ListInstances()), std::vector<std::string>{"keep"});
  EXPECT_EQ(Must(admin.GetSystemMetrics()).total_events, 1);
  // The id can be used again.
  Create(p(), "x");
  EXPECT_EQ(Must(admin.GetInstanceInfo("x")).current_execution_id, 1);
  EXPECT_TRUE(Must(p().GetKvAll("x")).empty());
}

TEST_P(ProviderConformance, DeletionRefusesRunningWithoutForceAndChangesNothing) {
  ProviderAdmin& admin = AdminOf(p());
  Create(p(), "run");
  Create(p(), "done");
  Complete(p(), "done");
  auto refused = admin.DeleteInstancesAtomic({"done", "run"}, /*force=*/false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find(
                "Instance run is still running. Use force=true or cancel first."),
            std::string::npos);
  EXPECT_EQ(Must(admin.ListInstances()).size(), 2u);  // all-or-nothing: "done" survived too

  DeleteInstanceResult r = Must(admin.DeleteInstancesAtomic({"done"}, /*force=*/false));
  EXPECT_EQ(r.instances_deleted, 1);
  r = Must(admin.DeleteInstancesAtomic({"run", "never-existed"}, /*force=*/true));
  EXPECT_EQ(r.instances_deleted, 1);
  EXPECT_TRUE(Must(admin.ListInstances()).empty());
}

TEST_P(ProviderConformance, DeletionRefusesWhenAChildAppearedAfterTheSetWasComputed) {
  ProviderAdmin& admin = AdminOf(p());
  Create(p(), "root");
  Management m = MgmtOf(p());
  // The delete set is computed while the root has no children...
  const std::vector<std::string> set = Must(m.GetInstanceTree("root")).all_ids;
  ASSERT_EQ(set, std::vector<std::string>{"root"});
  // ...then a turn of the root spawns a child and the child's first turn commits.
  CreateChild(p(), "root", "late-child");

  auto refused = admin.DeleteInstancesAtomic(set, /*force=*/true);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("late-child"), std::string::npos);
  // Nothing was deleted: no orphan.
  EXPECT_TRUE(Must(p().GetInstance("root")).has_value());
  EXPECT_TRUE(Must(p().GetInstance("late-child")).has_value());
  EXPECT_EQ(Must(p().ReadHistory("root", 1)).size(), 2u);

  DeleteInstanceResult r = Must(admin.DeleteInstancesAtomic({"root", "late-child"}, true));
  EXPECT_EQ(r.instances_deleted, 2);
  EXPECT_TRUE(Must(admin.ListInstances()).empty());
}

TEST_P(ProviderConformance, DeletionCascadesToAChildWhoseStartIsStillQueued) {
  ProviderAdmin& admin = AdminOf(p());
  Create(p(), "root");
  ScheduleChild(p(), "root", "pending-child");  // the child's start is queued, no row yet
  ASSERT_TRUE(Must(p().HasPendingStart("pending-child")));
  DeleteInstanceResult r = Must(admin.DeleteInstancesAtomic({"root"}, /*force=*/true));
  EXPECT_EQ(r.instances_deleted, 1);
  EXPECT_EQ(r.queue_messages_deleted, 1);  // the child's start
  EXPECT_FALSE(Must(p().HasPendingStart("pending-child")));
  EXPECT_FALSE(Must(p().FetchOrchestrationItem(kLockMs)).has_value());
  EXPECT_TRUE(Must(admin.ListInstances()).empty());
}

TEST_P(ProviderConformance, DeletionDefeatsAnInFlightFirstTurnOfAChild) {
  ProviderAdmin& admin = AdminOf(p());
  Create(p(), "root");
  ScheduleChild(p(), "root", "child");
  // A dispatcher is running the child's first turn while the root is deleted.
  auto item = Must(p().FetchOrchestrationItem(kLockMs));
  ASSERT_TRUE(item.has_value());
  ASSERT_EQ(item->instance, "child");
  Must(admin.DeleteInstancesAtomic({"root"}, /*force=*/true));
  const Status ack = p().AckOrchestrationItem(item->lock_token, FirstTurn(1, "root"));
  EXPECT_EQ(ack.code(), StatusCode::kFailedPrecondition) << ack.ToString();
  EXPECT_FALSE(Must(p().GetInstance("child")).has_value());  // no orphan was created
  EXPECT_TRUE(Must(admin.ListInstances()).empty());
}

TEST_P(ProviderConformance, DeletionDefeatsAnInFlightTurnOfTheDeletedInstance) {
  ProviderAdmin& admin = AdminOf(p());
  Create(p(), "busy");
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("busy"), 0));
  auto item = Must(p().FetchOrchestrationItem(kLockMs));
  ASSERT_TRUE(item.has_value());
  Must(admin.DeleteInstancesAtomic({"busy"}, /*force=*/true));
  TurnCommit c = NextTurn(1, 2, {EventKind::kOrchestrationCompleted});
  c.status = ExecutionStatus::kCompleted;
  c.output = "1";
  c.kv_mutations = {{KvMutation::Kind::kSet, "k", "v", NowMs()}};
  EXPECT_EQ(p().AckOrchestrationItem(item->lock_token, c).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(NoRowsLeft(p(), "busy"));
}

TEST_P(ProviderConformance, DeletionThroughManagementCascadesAndUsesTheApiTexts) {
  Management m = MgmtOf(p());
  Create(p(), "root");
  CreateChild(p(), "root", "kid");
  CreateChild(p(), "kid", "grandkid");

  auto missing = m.DeleteInstance("nope", false);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().ToString(), "Instance nope not found");
  auto sub = m.DeleteInstance("kid", true);
  EXPECT_EQ(sub.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(sub.status().ToString(),
            "Cannot delete sub-orchestration kid directly. Delete the root orchestration "
            "instead.");
  auto running = m.DeleteInstance("root", false);
  EXPECT_EQ(running.status().ToString(),
            "Instance root is still running. Use force=true or cancel first.");

  // A finished root with a still running descendant is refused too, naming the descendant.
  Complete(p(), "root", 1, 2);
  running = m.DeleteInstance("root", false);
  EXPECT_EQ(running.status().ToString(),
            "Instance kid is still running. Use force=true or cancel first.");
  EXPECT_EQ(Must(AdminOf(p()).ListInstances()).size(), 3u);

  DeleteInstanceResult r = Must(m.DeleteInstance("root", true));
  EXPECT_EQ(r.instances_deleted, 3);
  EXPECT_EQ(r.executions_deleted, 3);
  EXPECT_EQ(r.events_deleted, 3 + 2 + 1);
  for (const char* id : {"root", "kid", "grandkid"}) EXPECT_TRUE(NoRowsLeft(p(), id)) << id;
}

// Delegates to another provider and runs a hook right before the first DeleteInstancesAtomic,
// which is where a concurrently created child would slip in.
class RacingProvider : public Provider, public ProviderAdmin {
 public:
  RacingProvider(Provider* inner, std::function<void()> hook)
      : inner_(inner), admin_(inner->admin()), hook_(std::move(hook)) {}

  std::string name() const override { return inner_->name(); }
  using Provider::FetchOrchestrationItem;
  Result<std::optional<OrchestrationItem>> FetchOrchestrationItem(
      int64_t ms, const FetchHint* hint) override {
    return inner_->FetchOrchestrationItem(ms, hint);
  }
  Status AckOrchestrationItem(const std::string& t, const TurnCommit& c) override {
    return inner_->AckOrchestrationItem(t, c);
  }
  Status AbandonOrchestrationItem(const std::string& t, int64_t d, bool i) override {
    return inner_->AbandonOrchestrationItem(t, d, i);
  }
  Status RenewOrchestrationItemLock(const std::string& t, int64_t ms) override {
    return inner_->RenewOrchestrationItemLock(t, ms);
  }
  Result<std::optional<int64_t>> NextOrchestratorVisibleAt() override {
    return inner_->NextOrchestratorVisibleAt();
  }
  Result<std::optional<WorkItemLease>> FetchWorkItem(int64_t ms,
                                                     const WorkerFetchOptions& o) override {
    return inner_->FetchWorkItem(ms, o);
  }
  Status AckWorkItem(const std::string& t, const std::optional<WorkItem>& c) override {
    return inner_->AckWorkItem(t, c);
  }
  Status RenewWorkItemLock(const std::string& t, int64_t ms) override {
    return inner_->RenewWorkItemLock(t, ms);
  }
  Status AbandonWorkItem(const std::string& t, int64_t d, bool i) override {
    return inner_->AbandonWorkItem(t, d, i);
  }
  Result<std::optional<int64_t>> NextWorkerVisibleAt() override {
    return inner_->NextWorkerVisibleAt();
  }
  Result<int64_t> RenewSessionLocks(const std::vector<std::string>& o, int64_t e,
                                    int64_t i) override {
    return inner_->RenewSessionLocks(o, e, i);
  }
  Result<int64_t> CleanupOrphanedSessions(int64_t i) override {
    return inner_->CleanupOrphanedSessions(i);
  }
  Status StartOrchestration(const WorkItem& s) override { return inner_->StartOrchestration(s); }
  Status EnqueueOrchestratorMessage(const WorkItem& w, int64_t d) override {
    return inner_->EnqueueOrchestratorMessage(w, d);
  }
  Result<std::optional<InstanceRecord>> GetInstance(const std::string& i) override {
    return inner_->GetInstance(i);
  }
  Result<bool> HasPendingStart(const std::string& i) override {
    return inner_->HasPendingStart(i);
  }
  Result<std::vector<Event>> ReadHistory(const std::string& i, int64_t e) override {
    return inner_->ReadHistory(i, e);
  }
  Result<std::optional<std::string>> GetKvValue(const std::string& i,
                                                const std::string& k) override {
    return inner_->GetKvValue(i, k);
  }
  Result<KvMap> GetKvAll(const std::string& i) override { return inner_->GetKvAll(i); }

  ProviderAdmin* admin() override { return this; }
  Result<std::vector<std::string>> ListInstances() override { return admin_->ListInstances(); }
  Result<std::vector<std::string>> ListInstancesByStatus(const std::string& s) override {
    return admin_->ListInstancesByStatus(s);
  }
  Result<InstanceInfo> GetInstanceInfo(const std::string& i) override {
    return admin_->GetInstanceInfo(i);
  }
  Result<ExecutionInfo> GetExecutionInfo(const std::string& i, int64_t e) override {
    return admin_->GetExecutionInfo(i, e);
  }
  Result<std::vector<int64_t>> ListExecutions(const std::string& i) override {
    return admin_->ListExecutions(i);
  }
  Result<std::vector<std::string>> ListChildren(const std::string& i) override {
    return admin_->ListChildren(i);
  }
  Result<SystemMetrics> GetSystemMetrics() override { return admin_->GetSystemMetrics(); }
  Result<QueueDepths> GetQueueDepths() override { return admin_->GetQueueDepths(); }
  Result<std::optional<InstanceStats>> GetInstanceStats(const std::string& i) override {
    return admin_->GetInstanceStats(i);
  }
  Result<DeleteInstanceResult> DeleteInstancesAtomic(const std::vector<std::string>& ids,
                                                     bool force) override {
    ++delete_calls_;
    if (hook_) {
      auto hook = std::move(hook_);
      hook_ = nullptr;
      hook();
    }
    return admin_->DeleteInstancesAtomic(ids, force);
  }
  Result<std::vector<std::string>> ListTerminalRoots(const InstanceFilter& f) override {
    return admin_->ListTerminalRoots(f);
  }
  Result<PruneResult> PruneExecutions(const std::string& i, const PruneOptions& o) override {
    return admin_->PruneExecutions(i, o);
  }

  int delete_calls() const { return delete_calls_; }

 private:
  Provider* inner_;
  ProviderAdmin* admin_;
  std::function<void()> hook_;
  int delete_calls_ = 0;
};

TEST_P(ProviderConformance, DeletionThroughManagementRetriesWhenAChildRacesIn) {
  Create(p(), "root");
  CreateChild(p(), "root", "early");
  Complete(p(), "early");
  auto racing = std::make_shared<RacingProvider>(&p(), [this] {
    // Between the tree computation and the delete, the root spawns another child.
    CreateChild(p(), "root", "racer", 2);
  });
  Management m(racing);
  DeleteInstanceResult r = Must(m.DeleteInstance("root", /*force=*/true));
  EXPECT_EQ(racing->delete_calls(), 2);  // refused once, then retried with the new tree
  EXPECT_EQ(r.instances_deleted, 3);
  for (const char* id : {"root", "early", "racer"}) EXPECT_TRUE(NoRowsLeft(p(), id)) << id;
  EXPECT_TRUE(Must(AdminOf(p()).ListInstances()).empty());
}

// ---- bulk deletion -------------------------------------------------------------------------

TEST_P(ProviderConformance, BulkDeletionDeletesTerminalRootTreesOnly) {
  ProviderAdmin& admin = AdminOf(p());
  Create(p(), "c1");
  Complete(p(), "c1");
  Create(p(), "f1");
  Fail(p(), "f1");
  Create(p(), "r1");
  Create(p(), "tree");
  CreateChild(p(), "tree", "tree-kid");  // the kid keeps running: a forced cascade
  Complete(p(), "tree", 1, 2);

  EXPECT_EQ(Sorted(Must(admin.ListTerminalRoots(InstanceFilter{}))),
            (std::vector<std::string>{"c1", "f1", "tree"}));
  Management m = MgmtOf(p());
  DeleteInstanceResult r = Must(m.DeleteInstanceBulk(InstanceFilter{}));
  EXPECT_EQ(r.instances_deleted, 4);
  EXPECT_EQ(r.executions_deleted, 4);
  EXPECT_EQ(r.events_deleted, 2 + 2 + 3 + 1);
  EXPECT_EQ(Must(admin.ListInstances()), std::vector<std::string>{"r1"});  // running: skipped
  EXPECT_EQ(Must(m.DeleteInstanceBulk(InstanceFilter{})).instances_deleted, 0);
}

TEST_P(ProviderConformance, BulkDeletionFiltersByIdsCutoffAndLimit) {
  ProviderAdmin& admin = AdminOf(p());
  for (const char* id : {"old1", "old2"}) {
    Create(p(), id);
    Complete(p(), id);
  }
  SleepMs(5);
  const int64_t cutoff = NowMs();
  SleepMs(5);
  for (const char* id : {"new1", "new2", "new3"}) {
    Create(p(), id);
    Complete(p(), id);
    SleepMs(2);
  }
  Create(p(), "running");
  Management m = MgmtOf(p());

  InstanceFilter by_time;
  by_time.completed_before = cutoff;
  EXPECT_EQ(Sorted(Must(admin.ListTerminalRoots(by_time))),
            (std::vector<std::string>{"old1", "old2"}));
  InstanceFilter by_ids;
  by_ids.instance_ids = std::vector<std::string>{"old1", "new1", "running", "ghost"};
  EXPECT_EQ(Sorted(Must(admin.ListTerminalRoots(by_ids))),
            (std::vector<std::string>{"new1", "old1"}));
  InstanceFilter both = by_ids;
  both.completed_before = cutoff;
  EXPECT_EQ(Must(admin.ListTerminalRoots(both)), std::vector<std::string>{"old1"});
  InstanceFilter limited;
  limited.limit = 2;
  EXPECT_EQ(Must(admin.ListTerminalRoots(limited)),
            (std::vector<std::string>{"new3", "new2"}));  // newest first
  InstanceFilter none;
  none.limit = 0;
  EXPECT_TRUE(Must(admin.ListTerminalRoots(none)).empty());

  EXPECT_EQ(Must(m.DeleteInstanceBulk(both)).instances_deleted, 1);
  EXPECT_EQ(Must(m.DeleteInstanceBulk(by_time)).instances_deleted, 1);  // old2
  EXPECT_EQ(Must(m.DeleteInstanceBulk(limited)).instances_deleted, 2);  // new3, new2
  EXPECT_EQ(Sorted(Must(admin.ListInstances())),
            (std::vector<std::string>{"new1", "running"}));
  InstanceFilter negative;
  negative.limit = -1;
  EXPECT_EQ(m.DeleteInstanceBulk(negative).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace duroxide::providers::testing
