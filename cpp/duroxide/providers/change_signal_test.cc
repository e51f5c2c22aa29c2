// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
#include "duroxide/providers/change_signal.h"

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

#include <gtest/gtest.h>

namespace duroxide::providers {
namespace {

int64_t ElapsedMs(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               since)
      .count();
}

TEST(InstanceSignalTest, NotifyWakesOnlyWaitersOfThatInstance) {
  InstanceSignal signal;
  InstanceSignal::Waiter a(&signal, "a");
  InstanceSignal::Waiter b(&signal, "b");
  signal.Notify("a");
  EXPECT_TRUE(a.Wait(0));
  EXPECT_FALSE(b.Wait(0));
  EXPECT_FALSE(a.Wait(0));  // the flag is consumed
  EXPECT_EQ(signal.seq(), 1u);
}

TEST(InstanceSignalTest, NotifyAllWakesEveryWaiter) {
  InstanceSignal signal;
  InstanceSignal::Waiter a(&signal, "a");
  InstanceSignal::Waiter a2(&signal, "a");
  InstanceSignal::Waiter b(&signal, "b");
  signal.Notify();
  EXPECT_TRUE(a.Wait(0));
  EXPECT_TRUE(a2.Wait(0));
  EXPECT_TRUE(b.Wait(0));
}

TEST(InstanceSignalTest, ChangeBeforeTheWaitIsNotLost) {
  InstanceSignal signal;
  InstanceSignal::Waiter a(&signal, "a");
  signal.Notify("a");  // between the waiter's look at the state and its sleep
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(a.Wait(5000));
  EXPECT_LT(ElapsedMs(t0), 1000);
}

TEST(InstanceSignalTest, SleepingWaiterIsWokenAndOthersTimeOut) {
  InstanceSignal signal;
  std::atomic<bool> woke{false};
  std::thread t([&] {
    InstanceSignal::Waiter a(&signal, "a");
    woke = a.Wait(10000);
  });
  InstanceSignal::Waiter b(&signal, "b");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto t0 = std::chrono::steady_clock::now();
  signal.Notify("a");
  t.join();
  EXPECT_TRUE(woke.load());
  EXPECT_LT(ElapsedMs(t0), 5000);
  EXPECT_FALSE(b.Wait(20));
}

TEST(InstanceSignalTest, UnregisteredWaitersAreForgotten) {
  InstanceSignal signal;
  { InstanceSignal::Waiter gone(&signal, "a"); }
  signal.Notify("a");  // must not touch the destroyed waiter
  signal.Notify();
  InstanceSignal::Waiter a(&signal, "a");
  EXPECT_FALSE(a.Wait(0));
}

}  // namespace
}  // namespace duroxide::providers

namespace duroxide::providers {
namespace {

// How long a consumer sleeping in WaitSince took to return after a Notify(1).
int64_t WakeDelayMs(ChangeSignal& signal, bool another_awake) {
  std::optional<ChangeSignal::Consumer> awake;
  if (another_awake) awake.emplace(signal);
  std::atomic<int64_t> returned_after{-1};
  std::atomic<bool> sleeping{false};
  std::thread sleeper([&] {
    ChangeSignal::Consumer me(signal);
    const uint64_t seen = signal.seq();
    sleeping = true;
    const auto t0 = std::chrono::steady_clock::now();
    signal.WaitSince(seen, 1000, /*consumer=*/true);
    returned_after = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - t0)
                         .count();
  });
  while (!sleeping) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // it is inside the wait now
  signal.Notify(1);
  sleeper.join();
  return returned_after;
}

TEST(ChangeSignalTest, OneNewItemWakesASleepingConsumerWhenNoneIsAwake) {
  ChangeSignal signal;
  EXPECT_LT(WakeDelayMs(signal, /*another_awake=*/false), 500);
}

TEST(ChangeSignalTest, AnAwakeConsumerTakesOneNewItemWithoutWakingASleeper) {
  ChangeSignal signal;
  // The sleeper is not woken: it sees the change only when its timeout ends (1 s).
  EXPECT_GE(WakeDelayMs(signal, /*another_awake=*/true), 900);
}

TEST(ChangeSignalTest, MoreItemsThanAwakeConsumersWakeSleepers) {
  ChangeSignal signal;
  ChangeSignal::Consumer awake(signal);
  std::atomic<bool> woke{false};
  std::thread sleeper([&] {
    ChangeSignal::Consumer me(signal);
    const uint64_t seen = signal.seq();
    signal.WaitSince(seen, 5000, /*consumer=*/true);
    woke = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto t0 = std::chrono::steady_clock::now();
  signal.Notify(2);  // one for the awake consumer, one wakes the sleeper
  sleeper.join();
  EXPECT_TRUE(woke);
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - t0)
                .count(),
            2000);
}

}  // namespace
}  // namespace duroxide::providers
