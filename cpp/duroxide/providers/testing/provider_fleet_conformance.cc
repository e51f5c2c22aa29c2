// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Conformance tests of the worker registry (provider_fleet.h) and of placement-restricted
// session fetches. Category prefix: Fleet. Skipped for providers without a registry.
#include "duroxide/providers/testing/provider_conformance_util.h"

namespace duroxide::providers::testing {
namespace {

using namespace conformance;  // NOLINT: test helpers

WorkerRegistration Reg(const std::string& id, std::vector<std::string> names,
                       std::vector<std::string> owners = {}, int64_t interval_ms = 5000) {
  WorkerRegistration r;
  r.worker_id = id;
  r.candidate_names = std::move(names);
  r.host = "host-1";
  r.pid = 42;
  r.version = "0.1.0";
  r.service_name = "svc";
  r.started_at_ms = NowMs();
  r.heartbeat_interval_ms = interval_ms;
  r.capacity_json = R"({"worker_slots":2})";
  r.serves_json = R"({"activities":["Act"]})";
  r.session_owners = std::move(owners);
  return r;
}

std::optional<WorkerRecord> Find(WorkerRegistryStore* w, const std::string& id) {
  for (WorkerRecord& r : Must(w->ListWorkers())) {
    if (r.worker_id == id) return r;
  }
  return std::nullopt;
}

#define FLEET_OR_SKIP()                                                   \
  WorkerRegistryStore* fleet = p().workers();                             \
  if (fleet == nullptr) GTEST_SKIP() << "provider has no worker registry"

TEST_P(ProviderConformance, FleetRegisterTakesFirstFreeNameAndNamesAreUnique) {
  FLEET_OR_SKIP();
  EXPECT_EQ(Must(fleet->RegisterWorker(Reg("w1", {"calm-river-01", "x"}))), "calm-river-01");
  EXPECT_EQ(Must(fleet->RegisterWorker(Reg("w2", {"calm-river-01", "bold-hill-02"}))),
            "bold-hill-02");
  auto third = fleet->RegisterWorker(Reg("w3", {"calm-river-01", "bold-hill-02"}));
  EXPECT_EQ(third.status().code(), StatusCode::kAlreadyExists);
  auto rows = Must(fleet->ListWorkers());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].name, "bold-hill-02");  // ordered by name
  EXPECT_EQ(rows[1].host, "host-1");
  EXPECT_EQ(rows[1].pid, 42);
  EXPECT_EQ(rows[1].status, "active");
  EXPECT_EQ(rows[1].service_name.value_or(""), "svc");
  EXPECT_EQ(rows[1].capacity_json, R"({"worker_slots":2})");
  EXPECT_FALSE(rows[1].drain_requested);
}

TEST_P(ProviderConformance, FleetReRegistrationKeepsIdAndName) {
  FLEET_OR_SKIP();
  ASSERT_EQ(Must(fleet->RegisterWorker(Reg("node-a", {"calm-river-01"}))), "calm-river-01");
  CONF_ASSERT_OK(fleet->SetWorkerStatus("node-a", "stopped", false));
  WorkerRegistration again = Reg("node-a", {"other-name-09"});
  again.pid = 43;
  EXPECT_EQ(Must(fleet->RegisterWorker(again)), "calm-river-01");
  auto row = Find(fleet, "node-a");
  ASSERT_TRUE(row);
  EXPECT_EQ(row->pid, 43);
  EXPECT_EQ(row->status, "active");
  EXPECT_EQ(Must(fleet->ListWorkers()).size(), 1u);
}

TEST_P(ProviderConformance, FleetHeartbeatUpdatesLoadAndReportsDrainRequest) {
  FLEET_OR_SKIP();
  ASSERT_TRUE(fleet->RegisterWorker(Reg("w1", {"calm-river-01"})).ok());
  const int64_t before = Find(fleet, "w1")->last_heartbeat_ms;
  SleepMs(5);
  auto reply = Must(fleet->HeartbeatWorker("w1", R"({"activities_in_flight":3})"));
  EXPECT_FALSE(reply.drain_requested);
  EXPECT_EQ(reply.status, "active");
  auto row = Find(fleet, "w1");
  EXPECT_GT(row->last_heartbeat_ms, before);
  EXPECT_EQ(row->load_json, R"({"activities_in_flight":3})");
  // By name or by id; the heartbeat reads it and does not change the status.
  EXPECT_EQ(Must(fleet->RequestWorkerDrain("calm-river-01")), "w1");
  reply = Must(fleet->HeartbeatWorker("w1", "{}"));
  EXPECT_TRUE(reply.drain_requested);
  EXPECT_EQ(reply.status, "active");
  EXPECT_EQ(fleet->RequestWorkerDrain("nobody").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(fleet->HeartbeatWorker("nobody", "{}").status().code(), StatusCode::kNotFound);
  CONF_ASSERT_OK(fleet->SetWorkerStatus("w1", "stopped", false));
  EXPECT_EQ(fleet->RequestWorkerDrain("w1").status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(fleet->SetWorkerStatus("w1", "bogus", false).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fleet->SetWorkerStatus("nobody", "stopped", false).code(), StatusCode::kNotFound);
}

TEST_P(ProviderConformance, FleetUnreachableIsDerivedFromMissedHeartbeats) {
  FLEET_OR_SKIP();
  ASSERT_TRUE(fleet->RegisterWorker(Reg("w1", {"calm-river-01"}, {}, 50)).ok());
  auto row = Find(fleet, "w1");
  EXPECT_EQ(EffectiveWorkerStatus(*row, NowMs()), "active");
  EXPECT_TRUE(WorkerIsLive(*row, NowMs()));
  SleepMs(250);
  row = Find(fleet, "w1");
  EXPECT_EQ(row->status, "active");  // nobody writes it
  EXPECT_EQ(EffectiveWorkerStatus(*row, NowMs()), "unreachable");
  ASSERT_TRUE(fleet->HeartbeatWorker("w1", "{}").ok());
  EXPECT_EQ(EffectiveWorkerStatus(*Find(fleet, "w1"), NowMs()), "active");
}

TEST_P(ProviderConformance, FleetSessionsHeldAreDerivedAndReleasedAtDrainEnd) {
  FLEET_OR_SKIP();
  ASSERT_TRUE(fleet->RegisterWorker(Reg("w1", {"calm-river-01"}, {"owner-1"})).ok());
  ASSERT_TRUE(CreateInstance(p(), "i", WithWorkerItems({Activity("i", 1, "s1"),
                                                         Activity("i", 2, "s2")})));
  auto a = FetchWork(p(), AsOwner("owner-1"));
  auto b = FetchWork(p(), AsOwner("owner-1"));
  ASSERT_TRUE(a && b);
  EXPECT_EQ(Find(fleet, "w1")->sessions_held, 2);
  CONF_ASSERT_OK(p().AckWorkItem(a->lock_token, std::nullopt));
  CONF_ASSERT_OK(p().AckWorkItem(b->lock_token, std::nullopt));
  EXPECT_EQ(Find(fleet, "w1")->sessions_held, 2);  // held until idle or released
  CONF_ASSERT_OK(fleet->SetWorkerStatus("w1", "stopped", false));  // a clean shutdown keeps them
  EXPECT_EQ(Find(fleet, "w1")->sessions_held, 2);
  EXPECT_EQ(Must(fleet->ReleaseSessionsOfGoneWorkers()), 0);  // stopped is not unreachable
  CONF_ASSERT_OK(fleet->SetWorkerStatus("w1", "stopped", true));  // the end of a drain
  EXPECT_EQ(Find(fleet, "w1")->sessions_held, 0);
  // Another owner can claim a released session at once.
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("i"), 0));
  auto turn = FetchOrch(p());
  ASSERT_TRUE(turn);
  TurnCommit c;
  c.new_events = {Ev(2, EventKind::kActivityScheduled)};
  c.worker_items = {Activity("i", 3, "s1")};
  CONF_ASSERT_OK(p().AckOrchestrationItem(turn->lock_token, c));
  EXPECT_TRUE(FetchWork(p(), AsOwner("owner-2")));
}

TEST_P(ProviderConformance, FleetSessionsOfGoneWorkersAreReleased) {
  FLEET_OR_SKIP();
  ASSERT_TRUE(fleet->RegisterWorker(Reg("dead", {"calm-river-01"}, {"owner-d"}, 50)).ok());
  ASSERT_TRUE(fleet->RegisterWorker(Reg("live", {"bold-hill-02"}, {"owner-l"}, 60000)).ok());
  ASSERT_TRUE(CreateInstance(p(), "i", WithWorkerItems({Activity("i", 1, "sd"),
                                                         Activity("i", 2, "sl")})));
  auto a = FetchWork(p(), AsOwner("owner-d"));
  auto b = FetchWork(p(), AsOwner("owner-l"));
  ASSERT_TRUE(a && b);
  CONF_ASSERT_OK(p().AckWorkItem(a->lock_token, std::nullopt));
  CONF_ASSERT_OK(p().AckWorkItem(b->lock_token, std::nullopt));
  EXPECT_EQ(Must(fleet->ReleaseSessionsOfGoneWorkers()), 0);
  SleepMs(250);  // "dead" misses 3 heartbeats
  EXPECT_EQ(Must(fleet->ReleaseSessionsOfGoneWorkers()), 1);
  EXPECT_EQ(Find(fleet, "dead")->sessions_held, 0);
  EXPECT_EQ(Find(fleet, "live")->sessions_held, 1);
}

TEST_P(ProviderConformance, FleetPruneDeletesOnlyRowsGoneBeforeTheCutoff) {
  FLEET_OR_SKIP();
  ASSERT_TRUE(fleet->RegisterWorker(Reg("old", {"calm-river-01"})).ok());
  SleepMs(30);
  const int64_t cutoff = NowMs();
  SleepMs(5);
  ASSERT_TRUE(fleet->RegisterWorker(Reg("new", {"bold-hill-02"})).ok());
  EXPECT_EQ(Must(fleet->PruneWorkers(cutoff)), 1);
  auto rows = Must(fleet->ListWorkers());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].worker_id, "new");
}

TEST_P(ProviderConformance, FleetRestrictedSessionFetchWaitsForNewSessionsOnly) {
  FLEET_OR_SKIP();
  ASSERT_TRUE(CreateInstance(p(), "i", WithWorkerItems({Activity("i", 1, "mine")})));
  auto first = FetchWork(p(), AsOwner("me"));
  ASSERT_TRUE(first);
  CONF_ASSERT_OK(p().AckWorkItem(first->lock_token, std::nullopt));
  CONF_ASSERT_OK(p().EnqueueOrchestratorMessage(External("i"), 0));
  auto turn = FetchOrch(p());
  ASSERT_TRUE(turn);
  TurnCommit c;
  c.new_events = {Ev(2, EventKind::kActivityScheduled)};
  c.worker_items = {Activity("i", 2, "fresh"), Activity("i", 3, "mine")};
  CONF_ASSERT_OK(p().AckOrchestrationItem(turn->lock_token, c));
  WorkerFetchOptions restricted = AsOwner("me");
  restricted.session->new_session_min_wait_ms = 300;
  auto own = FetchWork(p(), restricted);  // the held session is not held back
  ASSERT_TRUE(own);
  EXPECT_EQ(own->item.session_id.value_or(""), "mine");
  EXPECT_FALSE(FetchWork(p(), restricted));  // "fresh" would open a new session
  SleepMs(400);
  auto fresh = FetchWork(p(), restricted);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->item.session_id.value_or(""), "fresh");
}

TEST_P(ProviderConformance, FleetListQueuedWorkShowsWaitingItemsOfBothQueues) {
  FLEET_OR_SKIP();
  ASSERT_TRUE(CreateInstance(p(), "i", WithWorkerItems({Activity("i", 1, std::nullopt, "gpu")})));
  CONF_ASSERT_OK(p().StartOrchestration(Start("j")));
  auto queued = Must(fleet->ListQueuedWork(100));
  ASSERT_EQ(queued.size(), 2u);
  int orch = 0, work = 0;
  for (const QueuedWork& q : queued) {
    if (q.queue == QueuedWork::Queue::kOrchestrator) {
      ++orch;
      EXPECT_EQ(q.instance, "j");
      EXPECT_FALSE(q.instance_name);
    } else {
      ++work;
      EXPECT_EQ(q.instance, "i");
      EXPECT_NE(q.work_item_json.find("gpu"), std::string::npos);
    }
    EXPECT_GT(q.visible_at_ms, 0);
  }
  EXPECT_EQ(orch, 1);
  EXPECT_EQ(work, 1);
  // A locked item is not waiting.
  ASSERT_TRUE(FetchWork(p(), Tags(TagFilter::Mode::kAny)));
  EXPECT_EQ(Must(fleet->ListQueuedWork(100)).size(), 1u);
}

}  // namespace
}  // namespace duroxide::providers::testing
