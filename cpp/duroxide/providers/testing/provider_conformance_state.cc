// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Conformance tests, second part: executions, instance creation, cancellation, tags,
// sessions, KV, custom status, orphan messages. Instantiated with the first part.
#include "duroxide/providers/testing/provider_conformance_util.h"

namespace duroxide::providers::testing {
namespace {

using namespace conformance;  // NOLINT: test helpers

// ---- multi-execution ---------------------------------------------------------------------

TEST_P(ProviderConformance, MultiExecutionContinueAsNewCreatesNextExecution) {
  ASSERT_TRUE(CreateInstance(p(), "a"));
  TurnCommit can;
  can.execution_id = 1;
  can.new_events = {Ev(2, EventKind::kOrchestrationContinuedAsNew)};
  can.status = ExecutionStatus::kContinuedAsNew;
  WorkItem next = Start("a");
  next.kind = WorkItemKind::kContinueAsNew;
  next.execution_id = 2;
  can.orchestrator_items = {next};
  ASSERT_TRUE(CommitTurn(p(), "a", can));

  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  ASSERT_EQ(item->messages.size(), 1u);
  EXPECT_EQ(item->messages[0].kind, WorkItemKind::kContinueAsNew);
  EXPECT_EQ(item->history.size(), 2u);  // still execution 1
  ASSERT_TRUE(item->record);
  EXPECT_EQ(item->record->status, ExecutionStatus::kContinuedAsNew);
  TurnCommit second = FirstTurn(2);
  second.new_events.push_back(Ev(2, EventKind::kActivityScheduled));
  CONF_ASSERT_OK(p().AckOrchestrationItem(item->lock_token, second));

  auto rec = Must(p().GetInstance("a"));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->current_execution_id, 2);
  EXPECT_EQ(rec->status, ExecutionStatus::kRunning);
  auto current = Must(p().ReadHistory("a", 0));
  ASSERT_EQ(current.size(), 2u);
  EXPECT_EQ(current[1].kind, EventKind::kActivityScheduled);
  EXPECT_EQ(Must(p().ReadHistory("a", 2)).size(), 2u);
  auto old = Must(p().ReadHistory("a", 1));
  ASSERT_EQ(old.size(), 2u);
  EXPECT_EQ(old[1].kind, EventKind::kOrchestrationContinuedAsNew);

  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("a"), 0));
  item = FetchOrch(p());
  ASSERT_TRUE(item);
  ASSERT_EQ(item->history.size(), 2u);
  EXPECT_EQ(item->history[1].kind, EventKind::kActivityScheduled);
  EXPECT_EQ(item->record->current_execution_id, 2);
}

// ---- instance creation -------------------------------------------------------------------

TEST_P(ProviderConformance, InstanceCreationDuplicateQueuedStartIsRejected) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("a")));
  CONF_EXPECT_CODE(p().StartOrchestration(Start("a")), StatusCode::kAlreadyExists);
  EXPECT_TRUE(Must(p().HasPendingStart("a")));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  EXPECT_EQ(item->messages.size(), 1u);
}

TEST_P(ProviderConformance, InstanceCreationStartOfExistingInstanceIsRejected) {
  ASSERT_TRUE(CreateInstance(p(), "a"));
  CONF_EXPECT_CODE(p().StartOrchestration(Start("a")), StatusCode::kAlreadyExists);
  EXPECT_FALSE(Must(p().HasPendingStart("a")));
  EXPECT_FALSE(FetchOrch(p()));
}

TEST_P(ProviderConformance, InstanceCreationHappensOnAckNotOnEnqueue) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("child")));
  EXPECT_FALSE(Must(p().GetInstance("child")));
  EXPECT_TRUE(Must(p().HasPendingStart("child")));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  const int64_t before = NowMs();
  TurnCommit c = FirstTurn();
  c.parent_instance_id = "parent";
  CONF_ASSERT_OK(p().AckOrchestrationItem(item->lock_token, c));
  auto rec = Must(p().GetInstance("child"));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->parent_instance_id, std::optional<std::string>("parent"));
  EXPECT_GE(rec->created_at_ms, before - 1000);
  EXPECT_GE(rec->updated_at_ms, rec->created_at_ms);
  EXPECT_FALSE(rec->output);
}

TEST_P(ProviderConformance, InstanceCreationTerminalStatusIsRecorded) {
  ASSERT_TRUE(CreateInstance(p(), "a"));
  TurnCommit done;
  done.new_events = {Ev(2, EventKind::kOrchestrationCompleted)};
  done.status = ExecutionStatus::kCompleted;
  done.output = "\"result\"";
  ASSERT_TRUE(CommitTurn(p(), "a", done));
  auto rec = Must(p().GetInstance("a"));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->status, ExecutionStatus::kCompleted);
  EXPECT_EQ(rec->output, std::optional<std::string>("\"result\""));
  ASSERT_TRUE(CreateInstance(p(), "b"));
  TurnCommit failed;
  failed.new_events = {Ev(2, EventKind::kOrchestrationFailed)};
  failed.status = ExecutionStatus::kFailed;
  failed.error = "boom";
  ASSERT_TRUE(CommitTurn(p(), "b", failed));
  rec = Must(p().GetInstance("b"));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->status, ExecutionStatus::kFailed);
  EXPECT_EQ(rec->error, std::optional<std::string>("boom"));
}

// ---- cancellation (lock stealing) ---------------------------------------------------------

TEST_P(ProviderConformance, CancellationDeletedActivityFailsAckAndRenew) {
  ASSERT_TRUE(CreateInstance(p(), "a", WithWorkerItems({Activity("a", 2)})));
  auto lease = FetchWork(p());
  ASSERT_TRUE(lease);
  TurnCommit cancel;
  cancel.cancelled_activities = {ActivityRef{"a", 1, 2}};
  ASSERT_TRUE(CommitTurn(p(), "a", cancel));
  CONF_EXPECT_CODE(p().RenewWorkItemLock(lease->lock_token, kLongLockMs),
                   StatusCode::kFailedPrecondition);
  CONF_EXPECT_CODE(p().AckWorkItem(lease->lock_token, ActivityDone("a", 2, "1")),
                   StatusCode::kFailedPrecondition);
  EXPECT_FALSE(FetchOrch(p()));  // no completion was enqueued
}

TEST_P(ProviderConformance, CancellationInSameCommitAsScheduleRemovesActivity) {
  TurnCommit c = WithWorkerItems({Activity("a", 2), Activity("a", 3)});
  c.cancelled_activities = {ActivityRef{"a", 1, 2}, ActivityRef{"a", 1, 99}};  // 99: no-op
  ASSERT_TRUE(CreateInstance(p(), "a", c));
  auto lease = FetchWork(p());
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->item.id, 3);
  EXPECT_FALSE(FetchWork(p()));
}

TEST_P(ProviderConformance, CancellationAckWithoutCompletionEnqueuesNothing) {
  ASSERT_TRUE(CreateInstance(p(), "a", WithWorkerItems({Activity("a", 2)})));
  auto lease = FetchWork(p());
  ASSERT_TRUE(lease);
  CONF_ASSERT_OK(p().AckWorkItem(lease->lock_token, std::nullopt));
  EXPECT_FALSE(FetchOrch(p()));
  EXPECT_FALSE(FetchWork(p()));
}

// ---- tag filters -------------------------------------------------------------------------

TEST_P(ProviderConformance, TagFilterModesSelectMatchingItems) {
  ASSERT_TRUE(CreateInstance(
      p(), "a",
      WithWorkerItems({Activity("a", 2), Activity("a", 3, std::nullopt, "gpu"),
                       Activity("a", 4, std::nullopt, "cpu")})));
  EXPECT_FALSE(FetchWork(p(), Tags(TagFilter::Mode::kNone)));
  EXPECT_FALSE(FetchWork(p(), Tags(TagFilter::Mode::kTags, {})));
  auto gpu = FetchWork(p(), Tags(TagFilter::Mode::kTags, {"gpu", "tpu"}));
  ASSERT_TRUE(gpu);
  EXPECT_EQ(gpu->item.id, 3);
  EXPECT_EQ(gpu->item.tag, std::optional<std::string>("gpu"));
  EXPECT_FALSE(FetchWork(p(), Tags(TagFilter::Mode::kTags, {"gpu"})));
  auto untagged = FetchWork(p(), Tags(TagFilter::Mode::kDefaultOnly));
  ASSERT_TRUE(untagged);
  EXPECT_EQ(untagged->item.id, 2);
  auto cpu = FetchWork(p(), Tags(TagFilter::Mode::kDefaultAnd, {"cpu"}));
  ASSERT_TRUE(cpu);
  EXPECT_EQ(cpu->item.id, 4);
  EXPECT_FALSE(FetchWork(p(), Tags(TagFilter::Mode::kAny)));
}

TEST_P(ProviderConformance, TagFilterAnyAndDefaultAnd) {
  ASSERT_TRUE(CreateInstance(
      p(), "a", WithWorkerItems({Activity("a", 2, std::nullopt, "x"), Activity("a", 3)})));
  auto first = FetchWork(p(), Tags(TagFilter::Mode::kDefaultAnd, {"y"}));
  ASSERT_TRUE(first);
  EXPECT_EQ(first->item.id, 3);
  EXPECT_FALSE(FetchWork(p(), Tags(TagFilter::Mode::kDefaultAnd, {"y"})));
  EXPECT_FALSE(FetchWork(p()));  // default filter: untagged only
  auto any = FetchWork(p(), Tags(TagFilter::Mode::kAny));
  ASSERT_TRUE(any);
  EXPECT_EQ(any->item.id, 2);
}

// ---- sessions ----------------------------------------------------------------------------

TEST_P(ProviderConformance, SessionsClaimAffinityAndExclusion) {
  ASSERT_TRUE(CreateInstance(p(), "a",
                             WithWorkerItems({Activity("a", 2, "s1"), Activity("a", 3, "s1"),
                                              Activity("a", 4, "s2")})));
  auto a1 = FetchWork(p(), AsOwner("A"));
  ASSERT_TRUE(a1);
  EXPECT_EQ(a1->item.id, 2);
  EXPECT_EQ(a1->item.session_id, std::optional<std::string>("s1"));
  auto b1 = FetchWork(p(), AsOwner("B"));  // s1 belongs to A
  ASSERT_TRUE(b1);
  EXPECT_EQ(b1->item.id, 4);
  EXPECT_FALSE(FetchWork(p(), AsOwner("B")));
  auto a2 = FetchWork(p(), AsOwner("A"));
  ASSERT_TRUE(a2);
  EXPECT_EQ(a2->item.id, 3);
}

TEST_P(ProviderConformance, SessionsWithoutConfigSkipSessionItems) {
  ASSERT_TRUE(
      CreateInstance(p(), "a", WithWorkerItems({Activity("a", 2, "s1"), Activity("a", 3)})));
  auto lease = FetchWork(p());
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->item.id, 3);
  EXPECT_FALSE(FetchWork(p()));
  EXPECT_TRUE(FetchWork(p(), AsOwner("A")));
}

TEST_P(ProviderConformance, SessionsTakeoverAfterExpiry) {
  ASSERT_TRUE(CreateInstance(p(), "a",
                             WithWorkerItems({Activity("a", 2, "s1"), Activity("a", 3, "s1")})));
  auto a1 = FetchWork(p(), AsOwner("A", kShortLockMs));
  ASSERT_TRUE(a1);
  CONF_ASSERT_OK(p().AckWorkItem(a1->lock_token, ActivityDone("a", 2, "1")));
  EXPECT_FALSE(FetchWork(p(), AsOwner("B")));
  SleepMs(kPastShortLockMs);
  auto b1 = FetchWork(p(), AsOwner("B"));
  ASSERT_TRUE(b1);
  EXPECT_EQ(b1->item.id, 3);
}

TEST_P(ProviderConformance, SessionsRenewSkipsIdleAndOtherOwners) {
  ASSERT_TRUE(CreateInstance(p(), "a", WithWorkerItems({Activity("a", 2, "s1")})));
  auto lease = FetchWork(p(), AsOwner("A", 300));
  ASSERT_TRUE(lease);
  EXPECT_EQ(Must(p().RenewSessionLocks({"B"}, kLongLockMs, 60000)), 0);
  EXPECT_EQ(Must(p().RenewSessionLocks({"B", "A"}, kLongLockMs, 60000)), 1);
  CONF_ASSERT_OK(p().AckWorkItem(lease->lock_token, std::nullopt));
  SleepMs(200);
  // Idle for longer than the idle timeout: not extended.
  EXPECT_EQ(Must(p().RenewSessionLocks({"A"}, kLongLockMs, 100)), 0);
  EXPECT_TRUE(Must(p().CleanupOrphanedSessions(0)) >= 0);
}

// ---- KV ----------------------------------------------------------------------------------

TEST_P(ProviderConformance, KvMutationsAreVisibleInMergedReads) {
  TurnCommit c = FirstTurn();
  c.kv_mutations = {KvSet("a", "1"), KvSet("b", "2")};
  ASSERT_TRUE(CreateInstance(p(), "i", c));
  EXPECT_EQ(Must(p().GetKvValue("i", "a")), std::optional<std::string>("1"));
  auto all = Must(p().GetKvAll("i"));
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all["b"].value, "2");
  EXPECT_GT(all["b"].last_updated_at_ms, 0);
  TurnCommit next;
  next.kv_mutations = {KvClear("a"), KvSet("b", "3")};
  ASSERT_TRUE(CommitTurn(p(), "i", next));
  EXPECT_FALSE(Must(p().GetKvValue("i", "a")));
  all = Must(p().GetKvAll("i"));
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all["b"].value, "3");
  EXPECT_TRUE(Must(p().GetKvAll("other")).empty());
  // The replay baseline only changes at execution boundaries.
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("i"), 0));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  EXPECT_TRUE(item->kv_snapshot.empty());
}

TEST_P(ProviderConformance, KvDeltaMergesIntoSnapshotAtExecutionBoundaries) {
  TurnCommit c = FirstTurn();
  c.kv_mutations = {KvSet("x", "1"), KvSet("y", "2")};
  ASSERT_TRUE(CreateInstance(p(), "i", c));
  TurnCommit can;
  can.status = ExecutionStatus::kContinuedAsNew;
  can.new_events = {Ev(2, EventKind::kOrchestrationContinuedAsNew)};
  WorkItem next = Start("i");
  next.kind = WorkItemKind::kContinueAsNew;
  next.execution_id = 2;
  can.orchestrator_items = {next};
  ASSERT_TRUE(CommitTurn(p(), "i", can));

  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  ASSERT_EQ(item->kv_snapshot.size(), 2u);
  EXPECT_EQ(item->kv_snapshot["x"].value, "1");
  TurnCommit second = FirstTurn(2);
  second.kv_mutations = {KvClearAll(), KvSet("z", "3")};
  CONF_ASSERT_OK(p().AckOrchestrationItem(item->lock_token, second));
  auto all = Must(p().GetKvAll("i"));
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all["z"].value, "3");
  EXPECT_FALSE(Must(p().GetKvValue("i", "x")));

  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("i"), 0));
  item = FetchOrch(p());
  ASSERT_TRUE(item);
  EXPECT_EQ(item->kv_snapshot.size(), 2u);  // baseline untouched mid-execution
  TurnCommit done;
  done.execution_id = 2;
  done.status = ExecutionStatus::kCompleted;
  done.new_events = {Ev(2, EventKind::kOrchestrationCompleted)};
  CONF_ASSERT_OK(p().AckOrchestrationItem(item->lock_token, done));

  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("i"), 0));
  item = FetchOrch(p());
  ASSERT_TRUE(item);
  ASSERT_EQ(item->kv_snapshot.size(), 1u);
  EXPECT_EQ(item->kv_snapshot["z"].value, "3");
  all = Must(p().GetKvAll("i"));
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(Must(p().GetKvValue("i", "z")), std::optional<std::string>("3"));
}

// ---- custom status -----------------------------------------------------------------------

TEST_P(ProviderConformance, CustomStatusVersionBumpsOnlyOnChange) {
  TurnCommit c = FirstTurn();
  c.custom_status_changed = true;
  c.custom_status = "one";
  ASSERT_TRUE(CreateInstance(p(), "a", c));
  TurnCommit same;
  same.custom_status = "ignored";
  ASSERT_TRUE(CommitTurn(p(), "a", same));
  auto rec = Must(p().GetInstance("a"));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->custom_status, std::optional<std::string>("one"));
  EXPECT_EQ(rec->custom_status_version, 1);
  TurnCommit cleared;
  cleared.custom_status_changed = true;
  ASSERT_TRUE(CommitTurn(p(), "a", cleared));
  rec = Must(p().GetInstance("a"));
  ASSERT_TRUE(rec);
  EXPECT_FALSE(rec->custom_status);
  EXPECT_EQ(rec->custom_status_version, 2);
}

// ---- orphan messages ---------------------------------------------------------------------

TEST_P(ProviderConformance, OrphanMessageDoesNotBlockOtherInstances) {
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("ghost"), 0));
  CONF_ASSERT_OK(p().StartOrchestration(Start("real")));
  auto ghost = FetchOrch(p());
  ASSERT_TRUE(ghost);
  EXPECT_EQ(ghost->instance, "ghost");
  EXPECT_FALSE(ghost->record);
  EXPECT_TRUE(ghost->history.empty());
  EXPECT_EQ(ghost->messages.size(), 1u);
  auto real = FetchOrch(p());
  ASSERT_TRUE(real);
  EXPECT_EQ(real->instance, "real");
  CONF_ASSERT_OK(p().AckOrchestrationItem(ghost->lock_token, TurnCommit{}));
  CONF_ASSERT_OK(p().AckOrchestrationItem(real->lock_token, FirstTurn()));
  EXPECT_FALSE(Must(p().GetInstance("ghost")));
  EXPECT_FALSE(FetchOrch(p()));
}

// ---- corrupted history -------------------------------------------------------------------

TEST_P(ProviderConformance, CorruptedHistoryIsReportedAndAckStillAppends) {
  if (!GetParam().corrupt_history) GTEST_SKIP() << "factory has no corrupt_history hook";
  TurnCommit c = FirstTurn();
  c.new_events.push_back(Ev(2, EventKind::kActivityScheduled));
  ASSERT_TRUE(CreateInstance(p(), "a", c));
  GetParam().corrupt_history(provider_.get(), "a");
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("a"), 0));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  EXPECT_EQ(item->instance, "a");
  EXPECT_FALSE(item->history_error.ok());
  EXPECT_EQ(item->history_error.code(), StatusCode::kDataLoss);
  EXPECT_EQ(item->messages.size(), 1u);
  EXPECT_EQ(item->attempt_count, 1);
  EXPECT_FALSE(FetchOrch(p()));  // lock held
  EXPECT_FALSE(p().ReadHistory("a", 0).ok());

  TurnCommit fail;
  fail.new_events = {Ev(3, EventKind::kOrchestrationFailed)};
  fail.status = ExecutionStatus::kFailed;
  fail.error = "poison";
  CONF_ASSERT_OK(p().AckOrchestrationItem(item->lock_token, fail));
  auto rec = Must(p().GetInstance("a"));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->status, ExecutionStatus::kFailed);
  EXPECT_EQ(rec->error, std::optional<std::string>("poison"));
  EXPECT_FALSE(FetchOrch(p()));
}

// ---- error handling ----------------------------------------------------------------------

TEST_P(ProviderConformance, ErrorHandlingUnknownTokensFail) {
  CONF_EXPECT_CODE(p().RenewOrchestrationItemLock("no-such-token", 1000),
                   StatusCode::kFailedPrecondition);
  CONF_EXPECT_CODE(p().AckWorkItem("no-such-token", std::nullopt),
                   StatusCode::kFailedPrecondition);
  EXPECT_FALSE(Must(p().FetchOrchestrationItem(1000)));
  EXPECT_FALSE(Must(p().FetchWorkItem(1000, {})));
}

TEST_P(ProviderConformance, ErrorHandlingDuplicateEventIdIsRejected) {
  ASSERT_TRUE(CreateInstance(p(), "a"));
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("a"), 0));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  TurnCommit dup;
  dup.new_events = {Ev(1, EventKind::kTimerCreated)};
  EXPECT_FALSE(p().AckOrchestrationItem(item->lock_token, dup).ok());
  auto hist = Must(p().ReadHistory("a", 0));
  ASSERT_EQ(hist.size(), 1u);
  EXPECT_EQ(hist[0].kind, EventKind::kOrchestrationStarted);
}

TEST_P(ProviderConformance, ErrorHandlingMissingInstanceReadsAreEmpty) {
  EXPECT_FALSE(Must(p().GetInstance("nope")));
  EXPECT_TRUE(Must(p().ReadHistory("nope", 0)).empty());
  EXPECT_TRUE(Must(p().ReadHistory("nope", 3)).empty());
  EXPECT_FALSE(Must(p().HasPendingStart("nope")));
  EXPECT_FALSE(Must(p().GetKvValue("nope", "k")));
  EXPECT_TRUE(Must(p().GetKvAll("nope")).empty());
}

}  // namespace
}  // namespace duroxide::providers::testing
