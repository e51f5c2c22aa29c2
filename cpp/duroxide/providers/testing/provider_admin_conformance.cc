// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Conformance tests of the management capability (providers/provider_admin.h) and of the
// provider-agnostic composites built on it (client/management.h). They are TEST_Ps of the
// ProviderConformance fixture (provider_conformance.h), so every binary that instantiates the
// suite runs them too. A provider without admin() fails them: management is part of the
// contract. Test names start with their category: Admin (listing and inspection), Deletion,
// BulkDeletion, Prune, InstanceStats; e.g. --gtest_filter='*/ProviderConformance.Deletion*'.
//
// Instances are built by hand (start, fetch, ack a TurnCommit), so every state, including a
// child created between computing a delete set and deleting it, is reached deterministically.
#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "duroxide/client/management.h"
#include "duroxide/common/clock.h"
#include "duroxide/providers/testing/provider_conformance.h"

namespace duroxide::providers::testing {
namespace {

using client::Management;
using history::Event;
using history::EventKind;
using history::WorkItem;
using history::WorkItemKind;

constexpr int64_t kLockMs = 30000;

#define ADMIN_ASSERT_OK(expr)                                 \
  do {                                                        \
    const ::duroxide::Status _st = (expr);                    \
    ASSERT_TRUE(_st.ok()) << #expr << ": " << _st.ToString(); \
  } while (0)

template <typename T>
T Must(Result<T> r) {
  if (!r.ok()) {
    ADD_FAILURE() << r.status().ToString();
    return T{};
  }
  return std::move(r).value();
}

void SleepMs(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

ProviderAdmin& AdminOf(Provider& p) {
  ProviderAdmin* admin = p.admin();
  if (admin == nullptr) {
    ADD_FAILURE() << "provider '" << p.name() << "' has no management capability (admin())";
    std::abort();  // every test below needs it; failing loudly beats a null dereference
  }
  return *admin;
}

// A Management over the fixture's provider, without taking ownership of it.
Management MgmtOf(Provider& p) {
  return Management(std::shared_ptr<Provider>(&p, [](Provider*) {}));
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

WorkItem StartItem(const std::string& instance,
                   const std::optional<std::string>& parent = std::nullopt) {
  WorkItem w;
  w.kind = WorkItemKind::kStartOrchestration;
  w.instance = instance;
  w.name = "Orch";
  w.version = "1.0.0";
  w.input = "{\"n\":1}";
  w.execution_id = 1;
  if (parent) {
    w.parent_instance = parent;
    w.parent_execution_id = 1;
    w.parent_id = 2;
  }
  return w;
}

WorkItem External(const std::string& instance) {
  WorkItem w;
  w.kind = WorkItemKind::kExternalRaised;
  w.instance = instance;
  w.name = "go";
  w.data = "\"x\"";
  return w;
}

Event Ev(int64_t id, EventKind kind) {
  Event e;
  e.event_id = id;
  e.kind = kind;
  e.timestamp_ms = NowMs();
  if (kind == EventKind::kOrchestrationStarted) {
    e.name = "Orch";
    e.version = "1.0.0";
    e.input = "{\"n\":1}";
  }
  return e;
}

// The first turn of an execution: history [OrchestrationStarted].
TurnCommit FirstTurn(int64_t execution_id = 1,
                     const std::optional<std::string>& parent = std::nullopt) {
  TurnCommit c;
  c.execution_id = execution_id;
  c.new_execution = true;
  c.orchestration_name = "Orch";
  c.orchestration_version = "1.0.0";
  c.parent_instance_id = parent;
  c.new_events = {Ev(1, EventKind::kOrchestrationStarted)};
  return c;
}

// A later turn of `execution_id` appending events next_id, next_id+1, ...
TurnCommit NextTurn(int64_t execution_id, int64_t next_id, std::vector<EventKind> kinds) {
  TurnCommit c;
  c.execution_id = execution_id;
  for (EventKind k : kinds) c.new_events.push_back(Ev(next_id++, k));
  return c;
}

// Fetches the next batch, which must belong to `instance`, and acks `commit`.
void Turn(Provider& p, const std::string& instance, const TurnCommit& commit) {
  auto item = Must(p.FetchOrchestrationItem(kLockMs));
  ASSERT_TRUE(item.has_value()) << "no work for " << instance;
  ASSERT_EQ(item->instance, instance);
  ADMIN_ASSERT_OK(p.AckOrchestrationItem(item->lock_token, commit));
}

void Create(Provider& p, const std::string& instance, const TurnCommit& commit = FirstTurn()) {
  ADMIN_ASSERT_OK(p.StartOrchestration(StartItem(instance)));
  Turn(p, instance, commit);
}

// Delivers an event to `instance` and commits `commit` for it.
void Deliver(Provider& p, const std::string& instance, const TurnCommit& commit) {
  ADMIN_ASSERT_OK(p.EnqueueOrchestratorMessage(External(instance), 0));
  Turn(p, instance, commit);
}

// Completes execution `execution_id` (whose history holds `events` events) with `output`.
void Complete(Provider& p, const std::string& instance, int64_t execution_id = 1,
              int64_t events = 1, const std::string& output = "42") {
  TurnCommit c = NextTurn(execution_id, events + 1, {EventKind::kOrchestrationCompleted});
  c.new_events.back().data = output;
  c.status = ExecutionStatus::kCompleted;
  c.output = output;
  Deliver(p, instance, c);
}

void Fail(Provider& p, const std::string& instance) {
  TurnCommit c = NextTurn(1, 2, {EventKind::kOrchestrationFailed});
  c.new_events.back().error = history::ErrorDetails::Application("Boom", "it broke");
  c.status = ExecutionStatus::kFailed;
  c.error = "it broke";
  Deliver(p, instance, c);
}

// `parent` (a running instance whose history holds `parent_events` events) schedules `child`;
// the child's start is left queued. Returns the parent's new event count.
int64_t ScheduleChild(Provider& p, const std::string& parent, const std::string& child,
                      int64_t parent_events = 1) {
  TurnCommit c = NextTurn(1, parent_events + 1, {EventKind::kSubOrchestrationScheduled});
  c.new_events.back().name = "Orch";
  c.new_events.back().instance = child;
  c.new_events.back().input = "{\"n\":1}";
  c.orchestrator_items = {StartItem(child, parent)};
  Deliver(p, parent, c);
  return parent_events + 1;
}

// Creates `child` under `parent` (running): schedule, then the child's first turn.
int64_t CreateChild(Provider& p, const std::string& parent, const std::string& child,
                    int64_t parent_events = 1) {
  const int64_t n = ScheduleChild(p, parent, child, parent_events);
  Turn(p, child, FirstTurn(1, parent));
  return n;
}

// Makes `instance` (running, its first execution's history holding `first_events` events)
// continue as new `count` times, so that execution count+1 is the current, running one. Each
// later finished execution has 2 events.
void ContinueAsNewTimes(Provider& p, const std::string& instance, int count,
                        int64_t first_events = 1) {
  for (int64_t exec = 1; exec <= count; ++exec) {
    TurnCommit c = NextTurn(exec, exec == 1 ? first_events + 1 : 2,
                            {EventKind::kOrchestrationContinuedAsNew});
    c.status = ExecutionStatus::kContinuedAsNew;
    WorkItem can;
    can.kind = WorkItemKind::kContinueAsNew;
    can.instance = instance;
    can.execution_id = exec + 1;
    can.name = "Orch";
    can.version = "1.0.0";
    can.input = "{\"n\":1}";
    c.orchestrator_items = {can};
    Deliver(p, instance, c);
    Turn(p, instance, FirstTurn(exec + 1));
  }
}

bool NoRowsLeft(Provider& p, const std::string& instance) {
  return !Must(p.GetInstance(instance)).has_value() && Must(p.ReadHistory(instance, 1)).empty() &&
         Must(p.GetKvAll(instance)).empty() && !Must(p.HasPendingStart(instance)) &&
         Must(AdminOf(p).ListExecutions(instance)).empty();
}

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
  ADMIN_ASSERT_OK(p().StartOrchestration(StartItem("queued")));
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
  ADMIN_ASSERT_OK(p().EnqueueOrchestratorMessage(External("q"), 0));
  ADMIN_ASSERT_OK(p().StartOrchestration(StartItem("other")));

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
  ADMIN_ASSERT_OK(p().EnqueueOrchestratorMessage(External("s"), 0));
  ADMIN_ASSERT_OK(p().EnqueueOrchestratorMessage(External("s"), 0));

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
  ADMIN_ASSERT_OK(p().EnqueueOrchestratorMessage(External("x"), 0));

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
  ADMIN_ASSERT_OK(p().EnqueueOrchestratorMessage(External("busy"), 0));
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
