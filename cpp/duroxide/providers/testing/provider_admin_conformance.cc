// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Conformance tests of the management capability (providers/provider_admin.h) and of the
// provider-agnostic composites built on it (client/management.h). They are TEST_Ps of the
// ProviderConformance fixture (provider_conformance.h), so every binary that instantiates the
// suite runs them too. A provider without admin() fails them: management is part of the
// contract. The tests are split by category, each name starting with it, e.g.
// --gtest_filter='*/ProviderConformance.Deletion*':
//   provider_admin_conformance.cc           Admin (listing and inspection), InstanceStats
//   provider_admin_deletion_conformance.cc  Deletion, BulkDeletion
//   provider_admin_prune_conformance.cc     Prune
// Their helpers are in provider_admin_conformance_util.h.
#include <optional>
#include <string>
#include <vector>

#include "duroxide/providers/testing/provider_admin_conformance_util.h"

namespace duroxide::providers::testing {
namespace {

using namespace admin_conformance;  // NOLINT: test helpers

// ---- listing and inspection --------------------------------------------------------------

TEST_P(ProviderConformance, AdminListInstancesNewestFirstAndByStatus) {
  ProviderAdmin& admin = AdminOf(p());
  EXPECT_TRUE(Must(admin.ListInstances()).empty());
  for (const char* id : {"a", "b", "c", "d"}) {
    Create(p(), id);
    SleepMs(3);  // distinct created_at
  }
  Complete(p(), "b");
  Fail(p(), "c");
  ContinueAsNewTimes(p(), "d", 1);
  EXPECT_EQ(Must(admin.ListInstances()), (std::vector<std::string>{"d", "c", "b", "a"}));
  EXPECT_EQ(Must(admin.ListInstancesByStatus("Running")), (std::vector<std::string>{"d", "a"}));
  EXPECT_EQ(Must(admin.ListInstancesByStatus("Completed")), std::vector<std::string>{"b"});
  EXPECT_EQ(Must(admin.ListInstancesByStatus("Failed")), std::vector<std::string>{"c"});
  EXPECT_TRUE(Must(admin.ListInstancesByStatus("ContinuedAsNew")).empty());
  EXPECT_TRUE(Must(admin.ListInstancesByStatus("Bogus")).empty());
  // A queued start is not an instance yet.
  CONF_ASSERT_OK(p().StartOrchestration(StartItem("queued")));
  EXPECT_EQ(Must(admin.ListInstances()).size(), 4u);
}

TEST_P(ProviderConformance, AdminInstanceInfoReportsRealTimestampsAndOutputs) {
  ProviderAdmin& admin = AdminOf(p());
  const int64_t before = NowMs();
  Create(p(), "done");
  Create(p(), "bad");
  Create(p(), "live");
  SleepMs(5);
  Complete(p(), "done", 1, 1, "{\"answer\":42}");
  Fail(p(), "bad");
  const int64_t after = NowMs();

  InstanceInfo done = Must(admin.GetInstanceInfo("done"));
  EXPECT_EQ(done.instance_id, "done");
  EXPECT_EQ(done.orchestration_name, "Orch");
  EXPECT_EQ(done.orchestration_version, "1.0.0");
  EXPECT_EQ(done.current_execution_id, 1);
  EXPECT_EQ(done.status, "Completed");
  EXPECT_EQ(done.output, std::optional<std::string>("{\"answer\":42}"));
  EXPECT_FALSE(done.parent_instance_id.has_value());
  EXPECT_GE(done.created_at, before);
  EXPECT_LE(done.created_at, after);
  EXPECT_GE(done.updated_at, done.created_at + 5);  // touched by the completing turn
  EXPECT_LE(done.updated_at, after);

  InstanceInfo bad = Must(admin.GetInstanceInfo("bad"));
  EXPECT_EQ(bad.status, "Failed");
  EXPECT_EQ(bad.output, std::optional<std::string>("it broke"));

  InstanceInfo live = Must(admin.GetInstanceInfo("live"));
  EXPECT_EQ(live.status, "Running");
  EXPECT_FALSE(live.output.has_value());

  auto missing = admin.GetInstanceInfo("nope");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("Instance nope not found"), std::string::npos);
}

TEST_P(ProviderConformance, AdminExecutionsAcrossContinueAsNew) {
  ProviderAdmin& admin = AdminOf(p());
  const int64_t before = NowMs();
  Create(p(), "e");
  ContinueAsNewTimes(p(), "e", 2);
  EXPECT_EQ(Must(admin.ListExecutions("e")), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_TRUE(Must(admin.ListExecutions("nope")).empty());
  EXPECT_EQ(Must(admin.GetInstanceInfo("e")).current_execution_id, 3);

  ExecutionInfo first = Must(admin.GetExecutionInfo("e", 1));
  EXPECT_EQ(first.execution_id, 1);
  EXPECT_EQ(first.status, "ContinuedAsNew");
  EXPECT_EQ(first.event_count, 2);
  EXPECT_GE(first.started_at, before);
  ASSERT_TRUE(first.completed_at.has_value());
  EXPECT_GE(*first.completed_at, first.started_at);
  EXPECT_LE(*first.completed_at, NowMs());

  ExecutionInfo current = Must(admin.GetExecutionInfo("e", 3));
  EXPECT_EQ(current.status, "Running");
  EXPECT_EQ(current.event_count, 1);
  EXPECT_FALSE(current.completed_at.has_value());
  EXPECT_FALSE(current.output.has_value());

  EXPECT_EQ(admin.GetExecutionInfo("e", 4).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(admin.GetExecutionInfo("nope", 1).status().code(), StatusCode::kNotFound);
}

TEST_P(ProviderConformance, AdminChildrenAndInstanceTree) {
  ProviderAdmin& admin = AdminOf(p());
  Create(p(), "root");
  int64_t n = CreateChild(p(), "root", "c1");
  n = CreateChild(p(), "root", "c2", n);
  CreateChild(p(), "c1", "g1");
  EXPECT_EQ(Sorted(Must(admin.ListChildren("root"))), (std::vector<std::string>{"c1", "c2"}));
  EXPECT_EQ(Must(admin.ListChildren("c1")), std::vector<std::string>{"g1"});
  EXPECT_TRUE(Must(admin.ListChildren("g1")).empty());
  EXPECT_EQ(Must(admin.GetInstanceInfo("g1")).parent_instance_id,
            std::optional<std::string>("c1"));

  Management m = MgmtOf(p());
  client::InstanceTree tree = Must(m.GetInstanceTree("root"));
  EXPECT_EQ(tree.root_id, "root");
  ASSERT_EQ(tree.size(), 4);
  EXPECT_EQ(tree.all_ids[0], "root");
  EXPECT_EQ(Sorted({tree.all_ids[1], tree.all_ids[2]}), (std::vector<std::string>{"c1", "c2"}));
  EXPECT_EQ(tree.all_ids[3], "g1");  // breadth-first
  EXPECT_EQ(Must(m.GetInstanceTree("g1")).all_ids, std::vector<std::string>{"g1"});
  auto missing = m.GetInstanceTree("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().ToString(), "Instance nope not found");
}

TEST_P(ProviderConformance, AdminSystemMetricsCountEverything) {
  ProviderAdmin& admin = AdminOf(p());
  SystemMetrics empty = Must(admin.GetSystemMetrics());
  EXPECT_EQ(empty.total_instances, 0);
  EXPECT_EQ(empty.total_events, 0);
  Create(p(), "r");
  Create(p(), "c");
  Complete(p(), "c");
  Create(p(), "f");
  Fail(p(), "f");
  Create(p(), "can");
  ContinueAsNewTimes(p(), "can", 1);
  SystemMetrics m = Must(admin.GetSystemMetrics());
  EXPECT_EQ(m.total_instances, 4);
  EXPECT_EQ(m.total_executions, 5);
  EXPECT_EQ(m.running_instances, 2);  // r and the second execution of can
  EXPECT_EQ(m.completed_instances, 1);
  EXPECT_EQ(m.failed_instances, 1);
  EXPECT_EQ(m.total_events, 1 + 2 + 2 + 2 + 1);
}

TEST_P(ProviderConformance, AdminQueueDepthsCountPendingWorkOnly) {
  ProviderAdmin& admin = AdminOf(p());
  QueueDepths d0 = Must(admin.GetQueueDepths());
  EXPECT_EQ(d0.orchestrator_queue + d0.worker_queue + d0.timer_queue, 0);

  TurnCommit c = FirstTurn();
  c.new_events.push_back(Ev(2, EventKind::kActivityScheduled));
  c.new_events.push_back(Ev(3, EventKind::kTimerCreated));
  WorkItem act;
  act.kind = WorkItemKind::kActivityExecute;
  act.instance = "q";
  act.execution_id = 1;
  act.id = 2;
  act.name = "Act";
  act.input = "1";
  act.orchestration_name = "Orch";
  act.orchestration_version = "1.0.0";
  WorkItem timer;
  timer.kind = WorkItemKind::kTimerFired;
  timer.instance = "q";
  timer.execution_id = 1;
  timer.id = 3;
  timer.fire_at_ms = NowMs() + 600000;
  c.worker_items = {act};
  c.orchestrator_items = {timer};
  Create(p(), "q", c);
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("q"), 0));
  CONF_ASSERT_OK(p().StartOrchestration(StartItem("other")));

  QueueDepths d = Must(admin.GetQueueDepths());
  EXPECT_EQ(d.orchestrator_queue, 2);
  EXPECT_EQ(d.worker_queue, 1);
  EXPECT_EQ(d.timer_queue, 1);

  // Locked work is in flight, not pending.
  auto lease = Must(p().FetchWorkItem(kLockMs, WorkerFetchOptions{}));
  ASSERT_TRUE(lease.has_value());
  auto batch = Must(p().FetchOrchestrationItem(kLockMs));
  ASSERT_TRUE(batch.has_value());
  d = Must(admin.GetQueueDepths());
  EXPECT_EQ(d.worker_queue, 0);
  EXPECT_EQ(d.orchestrator_queue, 1);
  EXPECT_EQ(d.timer_queue, 1);
}

TEST_P(ProviderConformance, InstanceStatsReportHistoryQueueAndKv) {
  ProviderAdmin& admin = AdminOf(p());
  EXPECT_FALSE(Must(admin.GetInstanceStats("s")).has_value());
  TurnCommit c = FirstTurn();
  c.kv_mutations = {{KvMutation::Kind::kSet, "a", "12345", NowMs()},
                    {KvMutation::Kind::kSet, "b", "xy", NowMs()}};
  Create(p(), "s", c);
  // Next turn (still the same execution): clear "a", add "c".
  TurnCommit t = NextTurn(1, 2, {EventKind::kExternalEvent});
  t.kv_mutations = {{KvMutation::Kind::kClear, "a", "", NowMs()},
                    {KvMutation::Kind::kSet, "c", "123", NowMs()}};
  Deliver(p(), "s", t);
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("s"), 0));
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("s"), 0));

  auto stats = Must(admin.GetInstanceStats("s"));
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->history_event_count, 2);
  EXPECT_GT(stats->history_size_bytes, 20);
  EXPECT_EQ(stats->queue_pending_count, 2);
  EXPECT_EQ(stats->kv_user_key_count, 2);     // b, c
  EXPECT_EQ(stats->kv_total_value_bytes, 5);  // "xy" + "123"

  // After the execution ends the delta is merged into the baseline: same live view.
  Turn(p(), "s", [] {
    TurnCommit done = NextTurn(1, 3, {EventKind::kOrchestrationCompleted});
    done.status = ExecutionStatus::kCompleted;
    done.output = "null";
    return done;
  }());
  stats = Must(admin.GetInstanceStats("s"));
  ASSERT_TRUE(stats.has_value());
  EXPECT_EQ(stats->history_event_count, 3);
  EXPECT_EQ(stats->queue_pending_count, 0);
  EXPECT_EQ(stats->kv_user_key_count, 2);
  EXPECT_EQ(stats->kv_total_value_bytes, 5);
}

}  // namespace
}  // namespace duroxide::providers::testing
