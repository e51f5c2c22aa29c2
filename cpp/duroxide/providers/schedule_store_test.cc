// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The pure parts of the schedule store (schedule_store.h), without a database: the overlap
// decision and the recent-runs list. The firing transaction itself is covered on both
// providers by tests/test_schedules.py and tests/test_schedules_fleet.py.
#include "duroxide/providers/schedule_store.h"

#include <gtest/gtest.h>

namespace duroxide::providers {
namespace {

TEST(DecideFiringTest, AllowAllStartsEverything) {
  FirePlan p = DecideFiring("allow_all", true, false, {1, 2, 3});
  EXPECT_EQ(p.start, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_FALSE(p.buffer);
  EXPECT_FALSE(p.cancel_previous);
  EXPECT_EQ(p.skipped, 0);
}

TEST(DecideFiringTest, SkipStartsTheFirstOnlyWhenNothingRuns) {
  FirePlan idle = DecideFiring("skip", false, false, {1, 2, 3});
  EXPECT_EQ(idle.start, (std::vector<int64_t>{1}));
  EXPECT_EQ(idle.skipped, 2);
  FirePlan busy = DecideFiring("skip", true, false, {1});
  EXPECT_TRUE(busy.start.empty());
  EXPECT_EQ(busy.skipped, 1);
}

TEST(DecideFiringTest, BufferOneKeepsAtMostOneWaiting) {
  FirePlan idle = DecideFiring("buffer_one", false, false, {1, 2, 3});
  EXPECT_EQ(idle.start, (std::vector<int64_t>{1}));
  EXPECT_EQ(idle.buffer, std::optional<int64_t>(2));
  EXPECT_EQ(idle.skipped, 1);
  FirePlan busy = DecideFiring("buffer_one", true, false, {5});
  EXPECT_TRUE(busy.start.empty());
  EXPECT_EQ(busy.buffer, std::optional<int64_t>(5));
  FirePlan full = DecideFiring("buffer_one", true, true, {6});
  EXPECT_FALSE(full.buffer);
  EXPECT_EQ(full.skipped, 1);
}

TEST(DecideFiringTest, CancelOtherCancelsAndStartsTheNewest) {
  FirePlan p = DecideFiring("cancel_other", true, false, {1, 2});
  EXPECT_TRUE(p.cancel_previous);
  EXPECT_EQ(p.start, (std::vector<int64_t>{2}));
  EXPECT_EQ(p.skipped, 1);
  EXPECT_FALSE(DecideFiring("cancel_other", false, false, {1}).cancel_previous);
}

TEST(DecideFiringTest, NoOccurrencesNoAction) {
  FirePlan p = DecideFiring("skip", true, false, {});
  EXPECT_TRUE(p.start.empty());
  EXPECT_EQ(p.skipped, 0);
}

TEST(ScheduleStoreTest, RecentRunsNewestFirstAndBounded) {
  EXPECT_EQ(PrependRecent("[\"a\"]", {"b", "c"}), "[\"c\",\"b\",\"a\"]");
  std::vector<std::string> many;
  for (int i = 0; i < 15; ++i) many.push_back(std::to_string(i));
  EXPECT_EQ(PrependRecent("[]", many), "[\"14\",\"13\",\"12\",\"11\",\"10\",\"9\",\"8\",\"7\",\"6\",\"5\"]");
  EXPECT_EQ(PrependRecent("not json", {"x"}), "[\"x\"]");
  EXPECT_EQ(OccurrenceInstanceId("a/b", 42), "a/b@42");
  EXPECT_TRUE(IsOverlapPolicy("buffer_one"));
  EXPECT_FALSE(IsOverlapPolicy("sometimes"));
}

}  // namespace
}  // namespace duroxide::providers
