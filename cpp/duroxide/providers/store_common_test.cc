// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The shared provider helpers (store_common.h) without a database: the migration runner's
// bookkeeping (including a store with a gap), turn-commit validation, lock tokens and the
// delete and prune algorithms over in-memory fakes. Links only the contract library.
#include "duroxide/providers/store_common.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "duroxide/history/codec.h"

namespace duroxide::providers::store {
namespace {

const std::vector<Migration> kKnown = {
    {1, "one", "sql1"}, {2, "two", "sql2"}, {3, "three", "sql3"}, {5, "five", "sql5"}};

class FakeMigrationStore : public MigrationStore {
 public:
  explicit FakeMigrationStore(std::set<int64_t> applied) : applied_(std::move(applied)) {}
  std::set<int64_t> AppliedVersions() override { return applied_; }
  void Apply(const Migration& m, int64_t) override {
    ran.push_back(m.sql);
    applied_.insert(m.version);
  }
  std::vector<std::string> ran;

 private:
  std::set<int64_t> applied_;
};

std::string Newer(int64_t recorded, int64_t newest) {
  return "newer " + std::to_string(recorded) + " > " + std::to_string(newest);
}

TEST(StoreCommonMigrations, FreshStoreGetsEveryMigrationInOrder) {
  FakeMigrationStore store({});
  EXPECT_EQ(RunMigrations(kKnown, 5, store, Newer), 5);
  EXPECT_EQ(store.ran, (std::vector<std::string>{"sql1", "sql2", "sql3", "sql5"}));
}

// A store that recorded 1, 2 and 5 but not 3 (written by a build that had migration 5 and not
// 3): 3 is applied although a later version is recorded.
TEST(StoreCommonMigrations, AGapBelowTheHighestRecordedVersionIsFilled) {
  FakeMigrationStore store({1, 2, 5});
  EXPECT_EQ(RunMigrations(kKnown, 5, store, Newer), 5);
  EXPECT_EQ(store.ran, std::vector<std::string>{"sql3"});
  EXPECT_EQ(store.AppliedVersions(), (std::set<int64_t>{1, 2, 3, 5}));
}

TEST(StoreCommonMigrations, TargetVersionStopsTheRun) {
  FakeMigrationStore store({});
  EXPECT_EQ(RunMigrations(kKnown, 2, store, Newer), 2);
  EXPECT_EQ(store.ran, (std::vector<std::string>{"sql1", "sql2"}));
  EXPECT_EQ(RunMigrations(kKnown, 5, store, Newer), 5);
  EXPECT_EQ(store.ran, (std::vector<std::string>{"sql1", "sql2", "sql3", "sql5"}));
}

TEST(StoreCommonMigrations, UpToDateStoreAppliesNothing) {
  FakeMigrationStore store({1, 2, 3, 5});
  EXPECT_EQ(RunMigrations(kKnown, 5, store, Newer), 5);
  EXPECT_TRUE(store.ran.empty());
}

TEST(StoreCommonMigrations, NewerStoreIsRefusedAndLeftAlone) {
  FakeMigrationStore store({1, 6});
  try {
    RunMigrations(kKnown, 5, store, Newer);
    FAIL() << "expected std::runtime_error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "newer 6 > 5");
  }
  EXPECT_TRUE(store.ran.empty());
}

TEST(StoreCommonMigrations, PendingMigrationsAreSortedAndSkipRecordedOnes) {
  const std::vector<Migration> unordered = {{3, "c", "3"}, {1, "a", "1"}, {2, "b", "2"}};
  std::vector<int64_t> versions;
  for (const Migration& m : PendingMigrations(unordered, {2}, 10)) versions.push_back(m.version);
  EXPECT_EQ(versions, (std::vector<int64_t>{1, 3}));
}

TEST(StoreCommonTurnCommit, ChecksEventIdsAndItemKinds) {
  TurnCommit ok;
  history::Event e;
  e.event_id = 1;
  ok.new_events.push_back(e);
  EXPECT_TRUE(ValidateTurnCommit("Ack", ok).ok());

  TurnCommit bad_event = ok;
  bad_event.new_events[0].event_id = 0;
  Status st = ValidateTurnCommit("Ack", bad_event);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("event_id must be positive, got 0"), std::string::npos);

  TurnCommit bad_worker = ok;
  history::WorkItem timer;
  timer.kind = history::WorkItemKind::kTimerFired;
  bad_worker.worker_items.push_back(timer);
  st = ValidateTurnCommit("Ack", bad_worker);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("worker item of kind"), std::string::npos);

  TurnCommit bad_orchestrator = ok;
  history::WorkItem activity;
  activity.kind = history::WorkItemKind::kActivityExecute;
  bad_orchestrator.orchestrator_items.push_back(activity);
  st = ValidateTurnCommit("Ack", bad_orchestrator);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("ActivityExecute in orchestrator_items"), std::string::npos);
}

TEST(StoreCommonLockTokens, PrefixAnd32HexDigits) {
  std::mt19937_64 rng(42);
  const std::string a = NewLockToken("o-", rng);
  const std::string b = NewLockToken("o-", rng);
  ASSERT_EQ(a.size(), 34u);
  EXPECT_EQ(a.rfind("o-", 0), 0u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef", 2), std::string::npos);
  EXPECT_NE(a, b);
  EXPECT_EQ(NewLockToken("w-", rng).rfind("w-", 0), 0u);
}

// An in-memory DeleteStore: instances with a status and a parent, scheduled children and
// pending starts.
class FakeDeleteStore : public DeleteStore {
 public:
  std::map<std::string, std::string> status;                 // instance -> status
  std::map<std::string, std::string> parent;                 // child -> parent
  std::vector<std::pair<std::string, std::string>> scheduled;  // (instance, event_data)
  std::map<std::string, std::vector<std::string>> starts;    // child -> start items
  std::map<std::string, std::set<std::string>> deleted;       // table -> ids deleted from it

  std::map<std::string, std::string> CurrentStatuses(const std::set<std::string>& ids) override {
    std::map<std::string, std::string> out;
    for (const auto& id : ids) {
      if (status.count(id)) out[id] = status[id];
    }
    return out;
  }
  std::vector<std::pair<std::string, std::string>> Children(
      const std::set<std::string>& ids) override {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [child, p] : parent) {
      if (ids.count(p)) out.emplace_back(child, p);
    }
    return out;
  }
  std::vector<std::pair<std::string, std::string>> ScheduledChildren(
      const std::set<std::string>& ids) override {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& row : scheduled) {
      if (ids.count(row.first)) out.push_back(row);
    }
    return out;
  }
  std::vector<std::string> PendingStarts(const std::string& instance) override {
    return starts[instance];
  }
  // The rows: an instance row per instance with a status, a queued start per entry of starts.
  int64_t DeleteRowsOf(const char* table, const std::set<std::string>& ids) override {
    const std::string t = table;
    int64_t n = 0;
    for (const auto& id : ids) {
      const bool row = t == "instances" ? status.count(id) > 0
                                        : t == "orchestrator_queue" && starts.count(id) > 0;
      if (!row) continue;
      deleted[t].insert(id);
      ++n;
    }
    return n;
  }
};

TEST(StoreCommonDelete, RunningInstanceNeedsForce) {
  FakeDeleteStore store;
  store.status = {{"a", "Completed"}, {"b", "ContinuedAsNew"}};
  DeleteInstanceResult r;
  Status st = DeleteInstances("Delete", {"a", "b"}, false, store, &r);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find(admin::RunningMessage("b")), std::string::npos);
  EXPECT_TRUE(store.deleted.empty());
  ASSERT_TRUE(DeleteInstances("Delete", {"a", "b"}, true, store, &r).ok());
  EXPECT_EQ(store.deleted["instances"], (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(r.instances_deleted, 2);
}

TEST(StoreCommonDelete, ChildOutsideTheSetRefusesTheDelete) {
  FakeDeleteStore store;
  store.status = {{"p", "Completed"}, {"c", "Completed"}};
  store.parent = {{"c", "p"}};
  DeleteInstanceResult r;
  Status st = DeleteInstances("Delete", {"p"}, false, store, &r);
  EXPECT_EQ(st.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("instance 'c' (a sub-orchestration of 'p')"), std::string::npos);
  EXPECT_TRUE(store.deleted.empty());
  EXPECT_TRUE(DeleteInstances("Delete", {"p", "c"}, false, store, &r).ok());
}

TEST(StoreCommonDelete, NotYetStartedChildrenOfTheSetAreDeletedWithIt) {
  FakeDeleteStore store;
  store.status = {{"p", "Completed"}};
  history::Event scheduled;
  scheduled.kind = history::EventKind::kSubOrchestrationScheduled;
  scheduled.event_id = 2;
  scheduled.instance = "child";
  store.scheduled = {{"p", history::EncodeEvent(scheduled)}};
  history::WorkItem start;
  start.kind = history::WorkItemKind::kStartOrchestration;
  start.instance = "child";
  start.parent_instance = "p";
  store.starts["child"] = {history::EncodeWorkItem(start)};
  history::WorkItem other = start;
  other.parent_instance = "someone-else";
  store.starts["stranger"] = {history::EncodeWorkItem(other)};
  DeleteInstanceResult r;
  ASSERT_TRUE(DeleteInstances("Delete", {"p"}, false, store, &r).ok());
  EXPECT_EQ(store.deleted["orchestrator_queue"], std::set<std::string>{"child"});
  EXPECT_EQ(r.queue_messages_deleted, 1);
}

class FakePruneStore : public PruneStore {
 public:
  std::optional<int64_t> current;
  std::vector<int64_t> victims;
  int64_t seen_keep = -1;
  std::optional<int64_t> CurrentExecution(const std::string&) override { return current; }
  std::vector<int64_t> Victims(const std::string&, int64_t, int64_t keep,
                               const std::optional<int64_t>&) override {
    seen_keep = keep;
    return victims;
  }
  std::pair<int64_t, int64_t> DeleteExecution(const std::string&, int64_t) override {
    return {3, 1};
  }
};

TEST(StoreCommonPrune, KeepLastAndCounts) {
  PruneOptions options;
  EXPECT_EQ(*KeepLast("Prune", options), 1);
  options.keep_last = 0;
  EXPECT_EQ(*KeepLast("Prune", options), 1);
  options.keep_last = 4;
  EXPECT_EQ(*KeepLast("Prune", options), 4);
  options.keep_last = -1;
  EXPECT_EQ(KeepLast("Prune", options).status().code(), StatusCode::kInvalidArgument);

  FakePruneStore store;
  EXPECT_EQ(PruneInstance("Prune", "x", 2, {}, store).status().code(), StatusCode::kNotFound);
  store.current = 5;
  store.victims = {1, 2};
  Result<PruneResult> r = PruneInstance("Prune", "x", 2, {}, store);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(store.seen_keep, 2);
  EXPECT_EQ(r->instances_processed, 1);
  EXPECT_EQ(r->executions_deleted, 2);
  EXPECT_EQ(r->events_deleted, 6);
}

// A row adapter over a vector of optional integers.
struct IntRow {
  std::vector<std::optional<int64_t>> cols;
  bool Null(int i) const { return !cols[static_cast<size_t>(i)]; }
  std::string Text(int i) const { return Null(i) ? "" : std::to_string(Int(i)); }
  int64_t Int(int i) const { return *cols[static_cast<size_t>(i)]; }
  bool Bool(int i) const { return Int(i) != 0; }
};

TEST(StoreCommonAdmin, InstanceStatsTallyTheLiveKvView) {
  InstanceStatsBuilder builder(IntRow{{7, 700, 2}});
  builder.AddKvRow("a", 3);         // baseline
  builder.AddKvRow("b", 5);         // baseline
  builder.AddKvRow("a", 10);        // delta overwrites
  builder.AddKvRow("b", std::nullopt);  // delta tombstone
  builder.AddKvRow("c", 1);         // delta adds
  const InstanceStats stats = builder.Build();
  EXPECT_EQ(stats.history_event_count, 7);
  EXPECT_EQ(stats.history_size_bytes, 700);
  EXPECT_EQ(stats.queue_pending_count, 2);
  EXPECT_EQ(stats.kv_user_key_count, 2);
  EXPECT_EQ(stats.kv_total_value_bytes, 11);
}

TEST(StoreCommonAdmin, BulkLimitDefaultsAndRejectsNegative) {
  InstanceFilter filter;
  EXPECT_EQ(*BulkLimit("List", filter), 1000);
  filter.limit = -1;
  EXPECT_EQ(BulkLimit("List", filter).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace duroxide::providers::store
