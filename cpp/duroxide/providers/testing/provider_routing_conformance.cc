// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Conformance tests of capability routing (WorkerFetchOptions::schema_hashes / runtime_id,
// ReadCapabilitySchemas, ListWaitingActivities) and the task cache (docs/task-graphs.md).
// Category prefix: Routing.
#include "duroxide/providers/testing/provider_conformance_util.h"

namespace duroxide::providers::testing {
namespace {

using namespace conformance;  // NOLINT: test helpers

WorkItem Routed(const std::string& instance, int64_t id, const std::string& hash,
                int64_t deadline_ms = 0) {
  WorkItem w = Activity(instance, id);
  history::ActivityRouting r;
  r.schema = R"({"properties":{"os":{"const":")" + hash + R"("}}})";
  r.schema_hash = hash;
  r.deadline_ms = deadline_ms;
  w.routing = r;
  return w;
}

WorkItem Avoiding(const std::string& instance, int64_t id, std::vector<std::string> avoid,
                  int64_t avoid_until_ms) {
  WorkItem w = Activity(instance, id);
  history::ActivityRouting r;
  r.avoid = std::move(avoid);
  r.avoid_until_ms = avoid_until_ms;
  w.routing = r;
  return w;
}

WorkerFetchOptions Matching(std::vector<std::string> hashes, std::string runtime = "rt-x") {
  WorkerFetchOptions o;
  o.schema_hashes = std::move(hashes);
  o.runtime_id = std::move(runtime);
  return o;
}

#define ROUTING_OR_SKIP()                                                        \
  if (!p().ReadCapabilitySchemas().ok()) GTEST_SKIP() << "provider has no capability routing"

TEST_P(ProviderConformance, RoutingClaimsOnlyMatchingSchemas) {
  ROUTING_OR_SKIP();
  ASSERT_TRUE(CreateInstance(p(), "r1", WithWorkerItems({Routed("r1", 2, "linux"),
                                                         Routed("r1", 3, "windows"),
                                                         Activity("r1", 4)})));
  // A worker that satisfies nothing takes only the untagged row.
  auto plain = FetchWork(p(), Matching({}));
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->item.id, 4);
  EXPECT_FALSE(FetchWork(p(), Matching({})));
  auto win = FetchWork(p(), Matching({"windows"}));
  ASSERT_TRUE(win);
  EXPECT_EQ(win->item.id, 3);
  ASSERT_TRUE(win->item.routing);
  EXPECT_EQ(win->item.routing->schema_hash, "windows");
  EXPECT_FALSE(FetchWork(p(), Matching({"windows"})));
  auto lin = FetchWork(p(), Matching({"linux", "other"}));
  ASSERT_TRUE(lin);
  EXPECT_EQ(lin->item.id, 2);
}

TEST_P(ProviderConformance, RoutingStoresEachSchemaOnceAndListsWaitingWork) {
  ROUTING_OR_SKIP();
  ASSERT_TRUE(CreateInstance(p(), "r2", WithWorkerItems({Routed("r2", 2, "gpu"),
                                                         Routed("r2", 3, "gpu"),
                                                         Activity("r2", 4)})));
  auto schemas = Must(p().ReadCapabilitySchemas());
  ASSERT_EQ(schemas.size(), 1u);
  EXPECT_EQ(schemas[0].hash, "gpu");
  EXPECT_EQ(schemas[0].schema, R"({"properties":{"os":{"const":"gpu"}}})");
  auto waiting = Must(p().ListWaitingActivities(0, 100));
  ASSERT_EQ(waiting.size(), 2u);
  EXPECT_EQ(waiting[0].instance, "r2");
  EXPECT_EQ(waiting[0].activity_id, 2);
  EXPECT_EQ(waiting[0].name, "Act");
  EXPECT_EQ(waiting[0].schema_hash, "gpu");
  EXPECT_EQ(waiting[0].schema, schemas[0].schema);
  EXPECT_TRUE(Must(p().ListWaitingActivities(60000, 100)).empty());  // not waited that long
  // A claimed row is no longer waiting; the schema stays known.
  ASSERT_TRUE(FetchWork(p(), Matching({"gpu"})));
  EXPECT_EQ(Must(p().ListWaitingActivities(0, 100)).size(), 1u);
}

TEST_P(ProviderConformance, RoutingExpiredDeadlineIsClaimableByAnyWorker) {
  ROUTING_OR_SKIP();
  ASSERT_TRUE(CreateInstance(p(), "r3", WithWorkerItems({Routed("r3", 2, "gpu", NowMs() - 1),
                                                         Routed("r3", 3, "gpu",
                                                                NowMs() + 60000)})));
  auto lease = FetchWork(p(), Matching({}));
  ASSERT_TRUE(lease);
  EXPECT_EQ(lease->item.id, 2);
  EXPECT_GT(lease->item.routing->deadline_ms, 0);
  EXPECT_FALSE(FetchWork(p(), Matching({})));
}

TEST_P(ProviderConformance, RoutingAvoidedRuntimeWaitsForTheWindow) {
  ROUTING_OR_SKIP();
  ASSERT_TRUE(CreateInstance(p(), "r4", WithWorkerItems({Avoiding("r4", 2, {"rt-a", "rt-b"},
                                                                  NowMs() + 300)})));
  EXPECT_FALSE(FetchWork(p(), Matching({}, "rt-a")));
  EXPECT_FALSE(FetchWork(p(), Matching({}, "rt-b")));
  SleepMs(350);
  auto lease = FetchWork(p(), Matching({}, "rt-a"));  // the window passed: fallback
  ASSERT_TRUE(lease);
  CONF_ASSERT_OK(p().AbandonWorkItem(lease->lock_token, 0, true));
  ASSERT_TRUE(CreateInstance(p(), "r5", WithWorkerItems({Avoiding("r5", 2, {"rt-a"},
                                                                  NowMs() + 60000)})));
  auto other = FetchWork(p(), Matching({}, "rt-c"));
  ASSERT_TRUE(other);
  auto other2 = FetchWork(p(), Matching({}, "rt-c"));
  ASSERT_TRUE(other2);
  EXPECT_NE(other->item.instance, other2->item.instance);
}

TEST_P(ProviderConformance, RoutingTaskCacheGetPutExpireClear) {
  ROUTING_OR_SKIP();
  EXPECT_FALSE(Must(p().GetTaskCache("k1")));
  CONF_ASSERT_OK(p().PutTaskCache("k1", "compile", "\"a.o\"", 0));
  CONF_ASSERT_OK(p().PutTaskCache("k2", "compile", "\"b.o\"", NowMs() + 60000));
  CONF_ASSERT_OK(p().PutTaskCache("k3", "zip", "1", NowMs() - 1));
  EXPECT_EQ(Must(p().GetTaskCache("k1")).value_or(""), "\"a.o\"");
  EXPECT_EQ(Must(p().GetTaskCache("k2")).value_or(""), "\"b.o\"");
  EXPECT_FALSE(Must(p().GetTaskCache("k3")));  // expired
  CONF_ASSERT_OK(p().PutTaskCache("k1", "compile", "\"a2.o\"", 0));
  EXPECT_EQ(Must(p().GetTaskCache("k1")).value_or(""), "\"a2.o\"");
  EXPECT_EQ(Must(p().ClearTaskCache(std::string("compile"))), 2);
  EXPECT_FALSE(Must(p().GetTaskCache("k1")));
  EXPECT_EQ(Must(p().ClearTaskCache(std::nullopt)), 1);
}

}  // namespace
}  // namespace duroxide::providers::testing
