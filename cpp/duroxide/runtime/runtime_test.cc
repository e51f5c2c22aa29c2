// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// End-to-end runtime tests with C++ orchestrations on in-memory SQLite.
#include "duroxide/runtime/runtime.h"
#include "duroxide/runtime/dispatcher_pool.h"
#include "duroxide/runtime/interpreter_lock.h"
#include "duroxide/runtime/local_work.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "duroxide/client/client.h"
#include "duroxide/common/clock.h"
#include "duroxide/providers/sqlite/sqlite_provider.h"
#include "duroxide/replay/testing/replay_test_util.h"

namespace duroxide::runtime {
namespace {

using replay::testing::Activity;
using replay::testing::Complete;
using replay::testing::ScriptInvoker;
using replay::testing::Select;
using replay::testing::Timer;
using replay::testing::Yield;

class FnActivities : public ActivityInvoker {
 public:
  std::function<ActivityOutcome(const ActivityCall&)> fn;
  bool Has(const std::string& name) const override { return name != "Missing"; }
  ActivityOutcome Invoke(const ActivityCall& call) override { return fn(call); }
};

struct Fixture {
  Fixture() {
    provider = std::shared_ptr<providers::Provider>(
        std::move(providers::sqlite::SqliteProvider::InMemory()).value());
    orchestrations = std::make_shared<ScriptInvoker>();
    activities = std::make_shared<FnActivities>();
    registry = std::make_shared<OrchestrationRegistry>();
    client = std::make_unique<client::Client>(provider);
  }
  std::unique_ptr<Runtime> Make(RuntimeOptions o = {}) {
    return std::make_unique<Runtime>(provider, o, orchestrations, activities, registry);
  }
  std::shared_ptr<providers::Provider> provider;
  std::shared_ptr<ScriptInvoker> orchestrations;
  std::shared_ptr<FnActivities> activities;
  std::shared_ptr<OrchestrationRegistry> registry;
  std::unique_ptr<client::Client> client;
};

TEST(Runtime, ChainOfActivitiesCompletes) {
  Fixture f;
  ASSERT_TRUE(f.registry->Register("chain", "1.0.0").ok());
  f.orchestrations->Add("chain", [](const auto& r, auto*) {
    if (r.size() < 20) return Yield(Activity("Inc", r.empty() ? "0" : r.back().payload));
    return Complete(r.back().payload);
  });
  f.activities->fn = [](const ActivityCall& c) {
    return ActivityOutcome{true, std::to_string(std::stoi(c.task.input) + 1), ""};
  };
  auto rt = f.Make();
  ASSERT_TRUE(rt->Start().ok());
  ASSERT_TRUE(f.client->StartOrchestration("c1", "chain", "null", std::nullopt).ok());
  auto st = f.client->WaitForOrchestration("c1", 10000);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->status, "Completed");
  EXPECT_EQ(st->output.value_or(""), "20");
  rt->Shutdown(1000);
  auto m = rt->MetricsSnapshot();
  EXPECT_EQ(m["orch_starts"], 1);
  EXPECT_EQ(m["orch_completions"], 1);
  EXPECT_EQ(m["activity_success"], 20);
}

TEST(Runtime, DuplicateStartIsRejected) {
  Fixture f;
  ASSERT_TRUE(f.client->StartOrchestration("d", "x", "null", std::nullopt).ok());
  Status again = f.client->StartOrchestration("d", "x", "1", std::nullopt);
  EXPECT_EQ(again.code(), StatusCode::kAlreadyExists);
}

TEST(Runtime, LosingActivityIsCancelledInProcess) {
  Fixture f;
  ASSERT_TRUE(f.registry->Register("race", "1.0.0").ok());
  f.orchestrations->Add("race", [](const auto& r, auto*) {
    if (r.empty()) return Yield(Select({Activity("Long"), Timer(50)}));
    return Complete(std::to_string(r[0].index));
  });
  std::atomic<bool> saw_cancel{false};
  f.activities->fn = [&](const ActivityCall& c) {
    for (int i = 0; i < 500 && !c.cancelled->load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    saw_cancel = c.cancelled->load();
    return ActivityOutcome{true, "\"finished\"", ""};
  };
  RuntimeOptions o;
  o.worker_lock_timeout_ms = 60000;  // in-process cancellation must not wait for renewal
  auto rt = f.Make(o);
  ASSERT_TRUE(rt->Start().ok());
  ASSERT_TRUE(f.client->StartOrchestration("r", "race", "null", std::nullopt).ok());
  auto st = f.client->WaitForOrchestration("r", 10000);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->output.value_or(""), "1");
  for (int i = 0; i < 300 && !saw_cancel; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(saw_cancel.load());
  rt->Shutdown(2000);
}

TEST(Runtime, ShutdownReturnsPromptlyWhenIdle) {
  Fixture f;
  auto rt = f.Make();
  ASSERT_TRUE(rt->Start().ok());
  auto t0 = std::chrono::steady_clock::now();
  rt->Shutdown(5000);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(ms, 1000);
}

TEST(Runtime, MessagesForMissingInstancesNeverBlockOthers) {
  Fixture f;
  ASSERT_TRUE(f.registry->Register("one", "1.0.0").ok());
  f.orchestrations->Add("one", [](const auto&, auto*) { return Complete("1"); });
  ASSERT_TRUE(f.client->RaiseEvent("ghost", "e", "1").ok());
  ASSERT_TRUE(f.client->EnqueueEvent("ghost2", "q", "1").ok());
  auto rt = f.Make();
  ASSERT_TRUE(rt->Start().ok());
  ASSERT_TRUE(f.client->StartOrchestration("real", "one", "null", std::nullopt).ok());
  auto st = f.client->WaitForOrchestration("real", 5000);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->status, "Completed");
  rt->Shutdown(1000);
}

replay::testing::ScriptFn Chain(int n) {
  return [n](const std::vector<replay::TaskValue>& r, replay::OrchestrationHost*) {
    if (static_cast<int>(r.size()) < n) return Yield(Activity("Inc", r.empty() ? "0" : r.back().payload));
    return Complete(r.back().payload);
  };
}

TEST(Runtime, WarmReplayRunsUserCodeOnceAndColdReplaysEveryTurn) {
  for (size_t capacity : {size_t{4096}, size_t{0}}) {
    Fixture f;
    ASSERT_TRUE(f.registry->Register("chain", "1.0.0").ok());
    f.orchestrations->Add("chain", Chain(10));
    f.activities->fn = [](const ActivityCall& c) {
      return ActivityOutcome{true, std::to_string(std::stoi(c.task.input) + 1), ""};
    };
    RuntimeOptions o;
    o.warm_cache_capacity = capacity;
    auto rt = f.Make(o);
    ASSERT_TRUE(rt->Start().ok());
    ASSERT_TRUE(f.client->StartOrchestration("w", "chain", "null", std::nullopt).ok());
    auto st = f.client->WaitForOrchestration("w", 10000);
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->output.value_or(""), "10");
    rt->Shutdown(1000);
    EXPECT_EQ(f.orchestrations->starts, capacity > 0 ? 1 : 11) << "capacity " << capacity;
  }
}

TEST(Runtime, TwoRuntimesNeverUseAStaleCachedEngine) {
  // Both runtimes cache engines; turns of one instance alternate between them, so each cache
  // is regularly behind storage. Every instance must still produce the right result.
  Fixture f;
  ASSERT_TRUE(f.registry->Register("chain", "1.0.0").ok());
  f.orchestrations->Add("chain", Chain(15));
  f.activities->fn = [](const ActivityCall& c) {
    return ActivityOutcome{true, std::to_string(std::stoi(c.task.input) + 1), ""};
  };
  auto a = f.Make();
  auto b = f.Make();
  ASSERT_TRUE(a->Start().ok());
  ASSERT_TRUE(b->Start().ok());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(f.client->StartOrchestration("s" + std::to_string(i), "chain", "null", std::nullopt).ok());
  }
  for (int i = 0; i < 20; ++i) {
    auto st = f.client->WaitForOrchestration("s" + std::to_string(i), 20000);
    ASSERT_TRUE(st.ok());
    EXPECT_EQ(st->status, "Completed");
    EXPECT_EQ(st->output.value_or(""), "15");
  }
  a->Shutdown(1000);
  b->Shutdown(1000);
}

TEST(Runtime, QueuedTurnsRunInBatchesWithWarmEnginesAndHandBacks) {
  // 60 instances queued before the runtime starts, one orchestration slot: turns are fetched
  // and acknowledged in batches. Unregistered starts in the same batches are handed back
  // without holding up the others, and every chain still runs its user code once (warm).
  Fixture f;
  ASSERT_TRUE(f.registry->Register("chain", "1.0.0").ok());
  f.orchestrations->Add("chain", Chain(3));
  f.activities->fn = [](const ActivityCall& c) {
    return ActivityOutcome{true, std::to_string(std::stoi(c.task.input) + 1), ""};
  };
  for (int i = 0; i < 60; ++i) {
    const std::string name = i % 10 == 9 ? "unregistered" : "chain";
    ASSERT_TRUE(f.client->StartOrchestration("b" + std::to_string(i), name, "null", std::nullopt).ok());
  }
  RuntimeOptions o;
  o.orchestration_concurrency = 1;
  o.unregistered_backoff_base_ms = 5000;  // the hand-backs stay out of the way
  auto rt = f.Make(o);
  ASSERT_TRUE(rt->Start().ok());
  for (int i = 0; i < 60; ++i) {
    if (i % 10 == 9) continue;
    auto st = f.client->WaitForOrchestration("b" + std::to_string(i), 20000);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    EXPECT_EQ(st->status, "Completed");
    EXPECT_EQ(st->output.value_or(""), "3");
  }
  for (int i = 9; i < 60; i += 10) {  // handed back: still queued, never committed
    const std::string id = "b" + std::to_string(i);
    EXPECT_FALSE(f.provider->GetInstance(id).value().has_value());
    EXPECT_TRUE(f.provider->HasPendingStart(id).value());
  }
  rt->Shutdown(1000);
  EXPECT_EQ(f.orchestrations->starts, 54);
  auto m = rt->MetricsSnapshot();
  EXPECT_EQ(m["orch_completions"], 54);
  EXPECT_EQ(m["activity_success"], 54 * 3);
}

TEST(Runtime, ActivityBatchesRunEachActivityOnceWithSlowOnesMixedIn) {
  // Fast activities are fetched and acknowledged in batches; a slow one ends its batch and
  // hands the unstarted rest back. Every activity must still run exactly once.
  Fixture f;
  ASSERT_TRUE(f.registry->Register("chain", "1.0.0").ok());
  f.orchestrations->Add("chain", Chain(3));
  std::mutex mu;
  std::map<std::string, int> runs;  // instance/activity id -> executions
  f.activities->fn = [&](const ActivityCall& c) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ++runs[c.task.instance + "/" + std::to_string(c.task.id)];
    }
    if (c.task.instance.back() == '7') std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return ActivityOutcome{true, std::to_string(std::stoi(c.task.input) + 1), ""};
  };
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE(f.client->StartOrchestration("m" + std::to_string(i), "chain", "null", std::nullopt).ok());
  }
  auto rt = f.Make();
  ASSERT_TRUE(rt->Start().ok());
  for (int i = 0; i < 40; ++i) {
    auto st = f.client->WaitForOrchestration("m" + std::to_string(i), 20000);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    EXPECT_EQ(st->output.value_or(""), "3");
  }
  rt->Shutdown(1000);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(runs.size(), 120u);
  for (const auto& [key, n] : runs) EXPECT_EQ(n, 1) << key;
  EXPECT_EQ(rt->MetricsSnapshot()["activity_success"], 120);
}

// Time skipping (test-only option): a 30-day timer fires as soon as the runtime is idle, and
// the clock never jumps while an activity runs.
TEST(Runtime, TimeSkippingJumpsToTheNextTimerOnlyWhenIdle) {
  constexpr int64_t kThirtyDays = 30LL * 24 * 3600 * 1000;
  Fixture f;
  ASSERT_TRUE(f.registry->Register("sleepy", "1.0.0").ok());
  f.orchestrations->Add("sleepy", [](const auto& r, auto*) {
    if (r.empty()) return Yield(Activity("Work", "1"));
    if (r.size() == 1) return Yield(Timer(kThirtyDays));
    return Complete("\"rested\"");
  });
  std::atomic<bool> release{false};
  std::atomic<bool> running{false};
  f.activities->fn = [&](const ActivityCall&) {
    running = true;
    while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return ActivityOutcome{true, "1", ""};
  };
  RuntimeOptions o;
  o.time_skipping = true;
  auto rt = f.Make(o);
  ASSERT_TRUE(rt->Start().ok());
  const int64_t offset_before = ClockOffsetMs().load();
  ASSERT_TRUE(f.client->StartOrchestration("s1", "sleepy", "null", std::nullopt).ok());
  while (!running.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(rt->SkipTimeIfIdle(), 0);  // an activity is running: busy
  EXPECT_EQ(ClockOffsetMs().load(), offset_before);
  release = true;
  const auto t0 = std::chrono::steady_clock::now();
  auto st = f.client->WaitForOrchestration("s1", 10000);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->status, "Completed");
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
  EXPECT_GE(ClockOffsetMs().load() - offset_before, kThirtyDays - 10000);
  rt->Shutdown(1000);
  ClockOffsetMs().store(0);
}

}  // namespace
}  // namespace duroxide::runtime

// ---- LocalWork (same-process activity hand-off) ------------------------------------------

namespace duroxide::runtime {
namespace {

providers::WorkItemLease Lease(const std::string& token) {
  providers::WorkItemLease l;
  l.lock_token = token;
  l.attempt_count = 1;
  return l;
}

TEST(LocalWork, ReservationsAndQueuedLeasesShareTheCapacity) {
  LocalWork work;
  EXPECT_EQ(work.Reserve(3, 2), 2u);  // capped
  EXPECT_EQ(work.Reserve(1, 2), 0u);  // full while reserved
  // Only one of the two reserved rows was leased (the other was inserted unleased).
  work.Push({Lease("a")}, 2);
  EXPECT_EQ(work.Reserve(5, 2), 1u);  // one queued + nothing reserved
  work.Unreserve(1);
  EXPECT_FALSE(work.empty());
  auto taken = work.Take(8);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].lock_token, "a");
  EXPECT_TRUE(work.empty());
  EXPECT_EQ(work.Reserve(2, 2), 1u);  // the slot that took it is busy
  work.Unreserve(1);
  work.EndBatch();
  EXPECT_EQ(work.Reserve(2, 2), 2u);  // all idle again
  work.Unreserve(2);
  work.BeginBatch();  // a slot busy with work from the store
  work.BeginBatch();
  EXPECT_EQ(work.Reserve(1, 2), 0u);
}

TEST(LocalWork, LeasesBeyondTheIdleSlotsAreTakenBack) {
  LocalWork work;
  ASSERT_EQ(work.Reserve(2, 2), 2u);
  work.Push({Lease("1"), Lease("2")}, 2);
  EXPECT_TRUE(work.TakeSurplus(2).empty());  // two idle slots: both stay
  work.BeginBatch();                         // one slot took store work meanwhile
  auto back = work.TakeSurplus(2);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].lock_token, "2");  // the newest goes back
  EXPECT_EQ(work.Take(8).size(), 1u);
}

TEST(LocalWork, TakeKeepsOrderAndLimit) {
  LocalWork work;
  ASSERT_EQ(work.Reserve(3, 8), 3u);
  work.Push({Lease("1"), Lease("2"), Lease("3")}, 3);
  auto first = work.Take(2);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].lock_token, "1");
  EXPECT_EQ(first[1].lock_token, "2");
  auto rest = work.Take(8);
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_EQ(rest[0].lock_token, "3");
}

}  // namespace
}  // namespace duroxide::runtime

// ---- BatchHold / BlockingSection (interpreter_lock.h) ------------------------------------

namespace duroxide::runtime {
namespace {

class CountingLock : public InterpreterLock {
 public:
  bool Acquire() override {
    ++acquires;
    return alive;
  }
  void Release() override { ++releases; }
  void* Suspend() override {
    ++suspends;
    return this;
  }
  void Resume(void* token) override {
    EXPECT_EQ(token, this);
    ++resumes;
  }
  std::atomic<int> acquires{0}, releases{0}, suspends{0}, resumes{0};
  std::atomic<bool> alive{true};
};

TEST(InterpreterLock, BatchHoldGivesTheLockUpAroundBlockingCallsOnly) {
  CountingLock lock;
  InstallInterpreterLock(&lock);
  {
    BlockingSection outside;  // no hold on this thread: nothing to give up
  }
  EXPECT_EQ(lock.suspends, 0);
  {
    BatchHold hold(true);
    EXPECT_EQ(lock.acquires, 1);
    const int v = WhileBlocking([&] {
      BlockingSection nested;  // already given up: not suspended twice
      return 7;
    });
    EXPECT_EQ(v, 7);
    EXPECT_EQ(lock.suspends, 1);
    EXPECT_EQ(lock.resumes, 1);
    BatchHold again(true);  // not reentrant: the outer hold keeps the lock
    EXPECT_EQ(lock.acquires, 1);
  }
  EXPECT_EQ(lock.releases, 1);
  {
    BatchHold off(false);  // gil_batching=False
    BlockingSection section;
  }
  lock.alive = false;  // interpreter gone: nothing held, nothing given up
  {
    BatchHold hold(true);
    BlockingSection section;
  }
  EXPECT_EQ(lock.acquires, 2);
  EXPECT_EQ(lock.releases, 1);
  EXPECT_EQ(lock.suspends, 1);
  InstallInterpreterLock(nullptr);
}

// Waits up to 5 s for `pred`.
template <typename P>
bool Eventually(P pred) {
  for (int i = 0; i < 500 && !pred(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return pred();
}

TEST(DispatcherPoolTest, StartsTwoGrowsWhileEveryFetchIsFullAndRetiresToTwo) {
  DispatcherPool pool;
  pool.Init(4, /*adaptive=*/true);
  std::atomic<bool> quit{false};
  const std::function<bool()> quitting = [&] { return quit.load(); };
  std::atomic<int> entered{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) threads.emplace_back([&] { pool.Enter(quitting); ++entered; });
  ASSERT_TRUE(Eventually([&] { return entered.load() == 2; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(entered.load(), 2);  // the others stay parked
  pool.AfterFetch(0, /*full=*/true);  // one of two full: no more
  EXPECT_EQ(pool.added(), 0);
  pool.AfterFetch(1, true);  // both full: a third
  ASSERT_TRUE(Eventually([&] { return entered.load() == 3; }));
  EXPECT_EQ(pool.added(), 1);
  pool.AfterFetch(0, true);
  pool.AfterFetch(1, true);  // two of three full: no more
  EXPECT_EQ(pool.added(), 1);
  pool.AfterFetch(2, true);  // all three: the fourth
  ASSERT_TRUE(Eventually([&] { return entered.load() == 4; }));
  pool.AfterFetch(3, true);  // at the maximum
  EXPECT_EQ(pool.added(), 2);
  EXPECT_EQ(pool.running(), 4);

  std::atomic<bool> parked{false};
  std::thread retiring([&] { parked = pool.RetireAndPark(3, quitting); });
  ASSERT_TRUE(Eventually([&] { return pool.retired() == 1; }));
  EXPECT_EQ(pool.running(), 3);
  pool.AfterFetch(0, false);
  EXPECT_EQ(pool.added(), 2);  // idle fetches add nothing
  pool.AfterFetch(0, true);  // all three running ones full again: the parked one runs
  retiring.join();
  EXPECT_TRUE(parked.load());
  EXPECT_EQ(pool.added(), 3);
  EXPECT_EQ(pool.running(), 4);

  quit = true;
  pool.WakeAll();
  for (auto& t : threads) t.join();
}

TEST(DispatcherPoolTest, TwoKeepRunning) {
  DispatcherPool pool;
  pool.Init(3, true);
  const std::function<bool()> never = [] { return false; };
  pool.Enter(never);
  pool.Enter(never);
  EXPECT_FALSE(pool.RetireAndPark(0, never));
  EXPECT_EQ(pool.running(), 2);
  EXPECT_EQ(pool.retired(), 0);
  DispatcherPool one;
  one.Init(1, true);  // a maximum of one: that one runs
  one.Enter(never);
  EXPECT_EQ(one.running(), 1);
  EXPECT_FALSE(one.RetireAndPark(0, never));
}

TEST(DispatcherPoolTest, AWorkerStartingTheLastIdleSlotWakesASpare) {
  DispatcherPool pool;
  pool.Init(3, true);
  const std::function<bool()> never = [] { return false; };
  pool.Enter(never);
  pool.Enter(never);
  std::atomic<bool> spare{false};
  std::thread t([&] { pool.Enter(never); spare = true; });
  pool.BeginBusy(0);  // slot 1 is idle: no spare needed
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(spare.load());
  pool.BeginBusy(1);  // no idle running slot is left
  t.join();
  EXPECT_TRUE(spare.load());
  EXPECT_EQ(pool.added(), 1);
  pool.EndBusy(0);
  pool.EndBusy(1);
}

// Four slots run; three are blocked in long activities. The one idle slot must keep running:
// growth only happens when a slot starts a batch or a fetch is full, so if it retired, nothing
// would fetch new work (a verified rerun's activity on the dashboard site waited forever).
TEST(DispatcherPoolTest, TheLastIdleWorkerSlotNeverRetires) {
  DispatcherPool pool;
  pool.Init(4, /*adaptive=*/true);
  std::atomic<bool> quit{false};
  const std::function<bool()> quitting = [&] { return quit.load(); };
  pool.Enter(quitting);
  pool.Enter(quitting);
  pool.AfterFetch(0, true);
  pool.AfterFetch(1, true);  // both full: a third runs
  pool.Enter(quitting);
  pool.AfterFetch(0, true);
  pool.AfterFetch(1, true);
  pool.AfterFetch(2, true);  // all three full: a fourth
  pool.Enter(quitting);
  ASSERT_EQ(pool.running(), 4);
  for (int slot = 0; slot < 3; ++slot) pool.BeginBusy(slot);  // blocked in long activities
  std::atomic<int> outcome{-1};
  std::thread idle([&] { outcome = pool.RetireAndPark(3, quitting) ? 1 : 0; });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  quit = true;  // releases a parked thread (it would have parked with the old rule)
  idle.join();
  EXPECT_EQ(outcome.load(), 0);
  EXPECT_EQ(pool.retired(), 0);
  for (int slot = 0; slot < 3; ++slot) pool.EndBusy(slot);
}

TEST(DispatcherPoolTest, FixedCountRunsEveryThread) {
  DispatcherPool pool;
  pool.Init(3, /*adaptive=*/false);
  const std::function<bool()> never = [] { return false; };
  for (int i = 0; i < 3; ++i) pool.Enter(never);  // none waits
  EXPECT_EQ(pool.running(), 3);
  pool.AfterFetch(0, true);
  EXPECT_EQ(pool.added(), 0);
}

}  // namespace
}  // namespace duroxide::runtime
