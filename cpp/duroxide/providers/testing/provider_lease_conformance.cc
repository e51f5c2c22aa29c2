// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Conformance tests of the same-process activity hand-off (TurnCommit::worker_lease_until_ms,
// TurnCommit::lease_worker_items, TurnAck::leases in provider.h): worker rows inserted already
// leased by the turn's own commit, and the leases reported to the caller. Category prefix:
// Lease. Also the completion relay (Provider::AckWorkTurnsAndFetch): worker acks made in the
// call that acknowledges turns and fetches the next ones. Category prefix: Relay.
#include <thread>
#include <vector>

#include "duroxide/providers/testing/provider_conformance_util.h"

namespace duroxide::providers::testing {
namespace {

using namespace conformance;  // NOLINT: test helpers

// The first turn of `instance` with worker_items `items`, flagged for lease by `lease` and
// acknowledged with TurnAck::leases = `leases` (may be null).
Status AckFirstTurnWithLeases(Provider& p, const std::string& instance,
                              std::vector<WorkItem> items, std::vector<bool> lease,
                              int64_t lease_until_ms, std::vector<WorkItemLease>* leases) {
  DUROXIDE_RETURN_IF_ERROR(p.StartOrchestration(Start(instance)));
  auto item = FetchOrch(p);
  if (!item) return Status::Internal("test", "no start to fetch");
  TurnCommit c = WithWorkerItems(std::move(items));
  c.worker_lease_until_ms = lease_until_ms;
  c.lease_worker_items = std::move(lease);
  TurnAck ack{item->lock_token, &c, leases};
  return p.AckOrchestrationItemsAndFetch({ack}, nullptr)[0];
}

TEST_P(ProviderConformance, LeaseRowsOfTheTurnAreInsertedLeased) {
  std::vector<WorkItemLease> leases;
  CONF_ASSERT_OK(AckFirstTurnWithLeases(p(), "l1", {Activity("l1", 2), Activity("l1", 3)},
                                        {true, false}, NowMs() + kLongLockMs, &leases));
  ASSERT_EQ(leases.size(), 1u);
  EXPECT_EQ(leases[0].item.kind, WorkItemKind::kActivityExecute);
  EXPECT_EQ(leases[0].item.instance, "l1");
  EXPECT_EQ(leases[0].item.id, 2);
  EXPECT_EQ(leases[0].attempt_count, 1);
  EXPECT_FALSE(leases[0].lock_token.empty());
  // Only the unleased row can be fetched.
  auto other = FetchWork(p());
  ASSERT_TRUE(other);
  EXPECT_EQ(other->item.id, 3);
  EXPECT_NE(other->lock_token, leases[0].lock_token);
  EXPECT_FALSE(FetchWork(p()));
  // The lease's token works like a fetched one: renew, then ack with a completion.
  CONF_ASSERT_OK(p().RenewWorkItemLock(leases[0].lock_token, kLongLockMs));
  CONF_ASSERT_OK(p().AckWorkItem(leases[0].lock_token, ActivityDone("l1", 2, "\"ok\"")));
  CONF_EXPECT_CODE(p().AckWorkItem(leases[0].lock_token, std::nullopt),
                   StatusCode::kFailedPrecondition);
  auto turn = FetchOrch(p());
  ASSERT_TRUE(turn);
  ASSERT_EQ(turn->messages.size(), 1u);
  EXPECT_EQ(turn->messages[0].kind, WorkItemKind::kActivityCompleted);
  EXPECT_EQ(turn->messages[0].id, 2);
}

TEST_P(ProviderConformance, LeaseNotReportedWithoutALeasesVector) {
  // TurnAck::leases null: every row is inserted unleased, whatever the commit asks.
  CONF_ASSERT_OK(AckFirstTurnWithLeases(p(), "l2", {Activity("l2", 2)}, {true},
                                        NowMs() + kLongLockMs, nullptr));
  auto lease = FetchWork(p());
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->item.id, 2);
  EXPECT_EQ(lease->attempt_count, 1);
}

TEST_P(ProviderConformance, LeaseWithoutLeaseUntilInsertsUnleased) {
  std::vector<WorkItemLease> leases = {WorkItemLease{}};  // stale content is cleared
  CONF_ASSERT_OK(AckFirstTurnWithLeases(p(), "l3", {Activity("l3", 2)}, {true}, 0, &leases));
  EXPECT_TRUE(leases.empty());
  EXPECT_TRUE(FetchWork(p()));
}

TEST_P(ProviderConformance, LeaseFailedAckReportsNothingAndInsertsNothing) {
  CONF_ASSERT_OK(p().StartOrchestration(Start("l4")));
  auto item = FetchOrch(p());
  ASSERT_TRUE(item);
  TurnCommit c = WithWorkerItems({Activity("l4", 2)});
  c.worker_lease_until_ms = NowMs() + kLongLockMs;
  c.lease_worker_items = {true};
  std::vector<WorkItemLease> leases;
  std::vector<Status> acked =
      p().AckOrchestrationItemsAndFetch({TurnAck{"o-no-such-token", &c, &leases}}, nullptr);
  CONF_EXPECT_CODE(acked[0], StatusCode::kFailedPrecondition);
  EXPECT_TRUE(leases.empty());
  EXPECT_FALSE(FetchWork(p()));
  CONF_ASSERT_OK(p().AckOrchestrationItem(item->lock_token, FirstTurn()));
}

TEST_P(ProviderConformance, LeaseAbandonedOrExpiredIsFetchedAgain) {
  std::vector<WorkItemLease> leases;
  CONF_ASSERT_OK(AckFirstTurnWithLeases(p(), "l5", {Activity("l5", 2), Activity("l5", 3)},
                                        {true, true}, NowMs() + 300, &leases));
  ASSERT_EQ(leases.size(), 2u);
  EXPECT_EQ(leases[0].item.id, 2);
  EXPECT_EQ(leases[1].item.id, 3);
  EXPECT_NE(leases[0].lock_token, leases[1].lock_token);
  EXPECT_FALSE(FetchWork(p()));
  // Abandoned: fetchable at once, the attempt counted.
  CONF_ASSERT_OK(p().AbandonWorkItem(leases[0].lock_token, 0, false));
  auto again = FetchWork(p());
  ASSERT_TRUE(again);
  EXPECT_EQ(again->item.id, 2);
  EXPECT_EQ(again->attempt_count, 2);
  // Expired (its holder died): fetched again, and the old token no longer acknowledges it.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  auto expired = FetchWork(p());
  ASSERT_TRUE(expired);
  EXPECT_EQ(expired->item.id, 3);
  EXPECT_EQ(expired->attempt_count, 2);
  CONF_EXPECT_CODE(p().AckWorkItem(leases[1].lock_token, ActivityDone("l5", 3, "1")),
                   StatusCode::kFailedPrecondition);
  CONF_ASSERT_OK(p().AckWorkItem(expired->lock_token, ActivityDone("l5", 3, "1")));
}

// ---- the completion relay (AckWorkTurnsAndFetch) -----------------------------------------

NextOrchestrationFetch RelayFetch() {
  NextOrchestrationFetch next;
  next.lock_timeout_ms = kLongLockMs;
  next.max_items = 4;
  return next;
}

TEST_P(ProviderConformance, RelayWorkAcksCommitBeforeTheTurnsAndTheFetchSeesThem) {
  ASSERT_TRUE(CreateInstance(p(), "r1", WithWorkerItems({Activity("r1", 2)})));
  auto lease = FetchWork(p());
  ASSERT_TRUE(lease);
  CONF_ASSERT_OK(p().StartOrchestration(Start("r2")));
  auto r2 = FetchOrch(p());
  ASSERT_TRUE(r2);
  ASSERT_EQ(r2->instance, "r2");
  const TurnCommit c = FirstTurn();
  NextOrchestrationFetch next = RelayFetch();
  std::vector<Status> work_acked;
  std::vector<Status> acked = p().AckWorkTurnsAndFetch(
      {WorkAck{lease->lock_token, ActivityDone("r1", 2, "7")}}, &work_acked,
      {TurnAck{r2->lock_token, &c}}, &next);
  ASSERT_EQ(work_acked.size(), 1u);
  CONF_ASSERT_OK(work_acked[0]);
  ASSERT_EQ(acked.size(), 1u);
  CONF_ASSERT_OK(acked[0]);
  // The fetch of the same call holds the instance with the completion just queued.
  ASSERT_TRUE(next.result.has_value() && next.result->ok());
  ASSERT_EQ(next.result->value().size(), 1u);
  const OrchestrationItem& r1 = next.result->value()[0];
  EXPECT_EQ(r1.instance, "r1");
  ASSERT_EQ(r1.messages.size(), 1u);
  EXPECT_EQ(r1.messages[0].kind, WorkItemKind::kActivityCompleted);
  EXPECT_EQ(r1.messages[0].id, 2);
  EXPECT_EQ(Must(p().GetInstance("r2"))->status, ExecutionStatus::kRunning);
  // The worker row is gone and its token acknowledges nothing any more.
  EXPECT_FALSE(FetchWork(p()));
  CONF_EXPECT_CODE(p().AckWorkItem(lease->lock_token, ActivityDone("r1", 2, "7")),
                   StatusCode::kFailedPrecondition);
}

TEST_P(ProviderConformance, RelayWorkAckOfACancelledActivityFailsAloneAndQueuesNothing) {
  ASSERT_TRUE(CreateInstance(p(), "r3", WithWorkerItems({Activity("r3", 2), Activity("r3", 3)})));
  auto first = FetchWork(p());
  auto second = FetchWork(p());
  ASSERT_TRUE(first && second);
  // A turn cancels activity 2 while its completion waits to be relayed.
  TurnCommit cancel;
  cancel.cancelled_activities = {ActivityRef{"r3", 1, first->item.id}};
  ASSERT_TRUE(CommitTurn(p(), "r3", cancel));
  NextOrchestrationFetch next = RelayFetch();
  std::vector<Status> work_acked;
  std::vector<Status> acked = p().AckWorkTurnsAndFetch(
      {WorkAck{first->lock_token, ActivityDone("r3", first->item.id, "1")},
       WorkAck{"w-no-such-token", ActivityDone("r3", 9, "1")},
       WorkAck{second->lock_token, ActivityDone("r3", second->item.id, "2")}},
      &work_acked, {}, &next);
  EXPECT_TRUE(acked.empty());
  ASSERT_EQ(work_acked.size(), 3u);
  CONF_EXPECT_CODE(work_acked[0], StatusCode::kFailedPrecondition);
  CONF_EXPECT_CODE(work_acked[1], StatusCode::kFailedPrecondition);
  CONF_ASSERT_OK(work_acked[2]);
  // Only the live lease's completion was queued.
  ASSERT_TRUE(next.result.has_value() && next.result->ok());
  ASSERT_EQ(next.result->value().size(), 1u);
  const OrchestrationItem& r3 = next.result->value()[0];
  ASSERT_EQ(r3.messages.size(), 1u);
  EXPECT_EQ(r3.messages[0].id, second->item.id);
  EXPECT_FALSE(FetchWork(p()));
}

TEST_P(ProviderConformance, RelayWorkAckOfAnExpiredLeaseFails) {
  ASSERT_TRUE(CreateInstance(p(), "r4", WithWorkerItems({Activity("r4", 2)})));
  auto lease = p().FetchWorkItem(200, {});
  ASSERT_TRUE(lease.ok() && lease->has_value());
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  std::vector<Status> work_acked;
  p().AckWorkTurnsAndFetch({WorkAck{(*lease)->lock_token, ActivityDone("r4", 2, "1")}},
                           &work_acked, {}, nullptr);
  ASSERT_EQ(work_acked.size(), 1u);
  CONF_EXPECT_CODE(work_acked[0], StatusCode::kFailedPrecondition);
  EXPECT_FALSE(FetchOrch(p()));  // no completion queued
  EXPECT_TRUE(FetchWork(p()));   // the row runs again
}

}  // namespace
}  // namespace duroxide::providers::testing
