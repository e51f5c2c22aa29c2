// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Management conformance tests, prune part (see provider_admin_conformance.cc): Prune
// (ProviderAdmin::PruneExecutions keep_last / completed_before, and
// Management::PruneExecutionsBulk over running and finished instances).
#include <optional>
#include <string>
#include <vector>

#include "duroxide/providers/testing/provider_admin_conformance_util.h"

namespace duroxide::providers::testing {
namespace {

using namespace admin_conformance;  // NOLINT: test helpers

// ---- prune ---------------------------------------------------------------------------------

TEST_P(ProviderConformance, PruneKeepsTheCurrentExecutionAndTheKv) {
  ProviderAdmin& admin = AdminOf(p());
  TurnCommit c = FirstTurn();
  c.kv_mutations = {{KvMutation::Kind::kSet, "k", "v", NowMs()}};
  Create(p(), "e", c);
  ContinueAsNewTimes(p(), "e", 3);  // executions 1..3 ContinuedAsNew, 4 Running

  PruneOptions keep_two;
  keep_two.keep_last = 2;
  PruneResult r = Must(admin.PruneExecutions("e", keep_two));
  EXPECT_EQ(r.instances_processed, 1);
  EXPECT_EQ(r.executions_deleted, 2);
  EXPECT_EQ(r.events_deleted, 4);
  EXPECT_EQ(Must(admin.ListExecutions("e")), (std::vector<int64_t>{3, 4}));
  EXPECT_TRUE(Must(p().ReadHistory("e", 1)).empty());
  EXPECT_EQ(Must(p().ReadHistory("e", 3)).size(), 2u);

  r = Must(admin.PruneExecutions("e", PruneOptions{}));  // keep_last None: current only
  EXPECT_EQ(r.executions_deleted, 1);
  EXPECT_EQ(Must(admin.ListExecutions("e")), std::vector<int64_t>{4});
  EXPECT_EQ(Must(p().ReadHistory("e", 0)).size(), 1u);
  EXPECT_EQ(Must(p().GetKvValue("e", "k")), std::optional<std::string>("v"));
  EXPECT_EQ(Must(admin.GetInstanceInfo("e")).status, "Running");
  EXPECT_EQ(Must(admin.PruneExecutions("e", PruneOptions{})).executions_deleted, 0);

  EXPECT_EQ(admin.PruneExecutions("nope", PruneOptions{}).status().code(),
            StatusCode::kNotFound);
}

TEST_P(ProviderConformance, PruneKeepLastNoneZeroAndOneAreEquivalent) {
  ProviderAdmin& admin = AdminOf(p());
  std::vector<std::optional<int64_t>> variants = {std::nullopt, 0, 1};
  for (size_t i = 0; i < variants.size(); ++i) {
    const std::string id = "k" + std::to_string(i);
    Create(p(), id);
    ContinueAsNewTimes(p(), id, 2);
    Complete(p(), id, 3, 1);
    PruneOptions o;
    o.keep_last = variants[i];
    PruneResult r = Must(admin.PruneExecutions(id, o));
    EXPECT_EQ(r.executions_deleted, 2) << i;
    EXPECT_EQ(r.events_deleted, 4) << i;
    EXPECT_EQ(Must(admin.ListExecutions(id)), std::vector<int64_t>{3}) << i;
    EXPECT_EQ(Must(admin.GetInstanceInfo(id)).status, "Completed");
  }
  PruneOptions bad;
  bad.keep_last = -1;
  EXPECT_EQ(admin.PruneExecutions("k0", bad).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(ProviderConformance, PruneRespectsCompletedBefore) {
  ProviderAdmin& admin = AdminOf(p());
  Create(p(), "e");
  ContinueAsNewTimes(p(), "e", 1);  // execution 1 completes now
  SleepMs(5);
  const int64_t cutoff = NowMs();
  SleepMs(5);
  ContinueAsNewTimes(p(), "e", 0);
  {
    // Execution 2 continues as new after the cutoff.
    TurnCommit c = NextTurn(2, 2, {EventKind::kOrchestrationContinuedAsNew});
    c.status = ExecutionStatus::kContinuedAsNew;
    WorkItem can;
    can.kind = WorkItemKind::kContinueAsNew;
    can.instance = "e";
    can.execution_id = 3;
    can.name = "Orch";
    can.input = "1";
    c.orchestrator_items = {can};
    Deliver(p(), "e", c);
    Turn(p(), "e", FirstTurn(3));
  }
  PruneOptions o;
  o.completed_before = cutoff;
  PruneResult r = Must(admin.PruneExecutions("e", o));
  EXPECT_EQ(r.executions_deleted, 1);
  EXPECT_EQ(Must(admin.ListExecutions("e")), (std::vector<int64_t>{2, 3}));
}

TEST_P(ProviderConformance, PruneBulkIncludesRunningInstances) {
  ProviderAdmin& admin = AdminOf(p());
  Create(p(), "eternal");
  ContinueAsNewTimes(p(), "eternal", 3);  // running, 3 old executions
  Create(p(), "finished");
  ContinueAsNewTimes(p(), "finished", 1);
  Complete(p(), "finished", 2, 1);
  Create(p(), "single");
  Management m = MgmtOf(p());

  InstanceFilter only;
  only.instance_ids = std::vector<std::string>{"eternal", "ghost"};
  PruneResult r = Must(m.PruneExecutionsBulk(only, PruneOptions{}));
  EXPECT_EQ(r.instances_processed, 1);
  EXPECT_EQ(r.executions_deleted, 3);
  EXPECT_EQ(Must(admin.ListExecutions("eternal")), std::vector<int64_t>{4});

  r = Must(m.PruneExecutionsBulk(InstanceFilter{}, PruneOptions{}));
  EXPECT_EQ(r.instances_processed, 3);
  EXPECT_EQ(r.executions_deleted, 1);
  EXPECT_EQ(r.events_deleted, 2);
  EXPECT_EQ(Must(admin.ListExecutions("finished")), std::vector<int64_t>{2});
  EXPECT_EQ(Must(admin.GetSystemMetrics()).total_executions, 3);

  InstanceFilter limited;
  limited.limit = 1;
  EXPECT_EQ(Must(m.PruneExecutionsBulk(limited, PruneOptions{})).instances_processed, 1);
}

}  // namespace
}  // namespace duroxide::providers::testing
