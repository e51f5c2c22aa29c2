// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Tests shared by the provider test binaries for what the conformance suite cannot express with
// one provider object: several provider objects on one store (as several processes would be,
// each with its own connections), plus the small builders those tests use. Each provider test
// calls them with objects opened on one store its own way (one SQLite file, one PostgreSQL
// schema).
#ifndef DUROXIDE_PROVIDERS_TESTING_PROVIDER_STORE_TEST_UTIL_H_
#define DUROXIDE_PROVIDERS_TESTING_PROVIDER_STORE_TEST_UTIL_H_

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "duroxide/providers/provider.h"

namespace duroxide::providers::testing {

// A StartOrchestration of orchestration "Orch" (no version, no input).
inline history::WorkItem StartItem(const std::string& instance) {
  history::WorkItem w;
  w.kind = history::WorkItemKind::kStartOrchestration;
  w.instance = instance;
  w.name = "Orch";
  return w;
}

// The first turn of "Orch": history [OrchestrationStarted].
inline TurnCommit FirstTurn() {
  TurnCommit c;
  c.new_execution = true;
  c.orchestration_name = "Orch";
  history::Event started;
  started.event_id = 1;
  started.kind = history::EventKind::kOrchestrationStarted;
  started.name = "Orch";
  c.new_events = {started};
  return c;
}

// Two provider objects on one store see each other's work: a duplicate start is refused, an
// instance locked through one is not fetched through the other, and what one commits (the
// instance, an activity) the other reads and fetches.
inline void ExpectProvidersShareOneStore(Provider& a, Provider& b) {
  ASSERT_TRUE(a.StartOrchestration(StartItem("x")).ok());
  EXPECT_EQ(b.StartOrchestration(StartItem("x")).code(), StatusCode::kAlreadyExists);
  auto item = b.FetchOrchestrationItem(30000);
  ASSERT_TRUE(item.ok() && item->has_value());
  auto none = a.FetchOrchestrationItem(30000);  // locked through the other object
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  TurnCommit c = FirstTurn();
  history::WorkItem act;
  act.kind = history::WorkItemKind::kActivityExecute;
  act.instance = "x";
  act.execution_id = 1;
  act.id = 2;
  c.worker_items = {act};
  ASSERT_TRUE(b.AckOrchestrationItem((*item)->lock_token, c).ok());
  auto rec = a.GetInstance("x");
  ASSERT_TRUE(rec.ok() && rec->has_value());
  auto lease = a.FetchWorkItem(30000, {});
  ASSERT_TRUE(lease.ok() && lease->has_value());
  EXPECT_EQ((*lease)->item.id, 2);
}

// `instances` started instances, fetched and acked by `threads` threads spread over
// `providers` (objects on one store): every instance is fetched exactly once and nothing
// fails. A thread stops after three empty fetches in a row.
inline void ExpectNoInstanceFetchedTwice(const std::vector<Provider*>& providers, int instances,
                                         int threads) {
  for (int i = 0; i < instances; ++i) {
    ASSERT_TRUE(providers[0]->StartOrchestration(StartItem("i" + std::to_string(i))).ok());
  }
  std::mutex mu;
  std::multiset<std::string> fetched;
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      Provider& p = *providers[t % providers.size()];
      int empty = 0;
      while (empty < 3) {
        auto item = p.FetchOrchestrationItem(30000);
        if (!item.ok()) {
          ADD_FAILURE() << item.status().ToString();
          ++errors;
          return;
        }
        if (!item->has_value()) {
          ++empty;
          continue;
        }
        empty = 0;
        {
          std::lock_guard<std::mutex> lock(mu);
          fetched.insert((*item)->instance);
        }
        const Status st = p.AckOrchestrationItem((*item)->lock_token, FirstTurn());
        if (!st.ok()) {
          ADD_FAILURE() << st.ToString();
          ++errors;
        }
      }
    });
  }
  for (auto& w : workers) w.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(fetched.size(), static_cast<size_t>(instances));
  EXPECT_EQ(std::set<std::string>(fetched.begin(), fetched.end()).size(),
            static_cast<size_t>(instances));
}

}  // namespace duroxide::providers::testing

#endif  // DUROXIDE_PROVIDERS_TESTING_PROVIDER_STORE_TEST_UTIL_H_
