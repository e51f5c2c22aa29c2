// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// The provider conformance suite: GoogleTest value-parameterised tests (TEST_P in class
// ProviderConformance) that pin down the Provider contract of providers/provider.h using only
// that interface. A provider's test binary compiles provider_conformance.cc and instantiates
// the suite with its factories:
//
//   INSTANTIATE_TEST_SUITE_P(Sqlite, ProviderConformance,
//                            ::testing::Values(ProviderFactory{"InMemory", ...}),
//                            ProviderFactoryName());
//
// Test names start with their category (Atomicity, InstanceLocking, LockExpiry, Abandon,
// Poison, Queue, MultiExecution, InstanceCreation, Cancellation, TagFilter, Sessions, Kv,
// CustomStatus, OrphanMessage, CorruptedHistory, ErrorHandling), so one category runs with
// e.g. --gtest_filter='*/ProviderConformance.Sessions*'.
//
// Some tests wait for lock expiry or delayed visibility; they use short timeouts (100-600 ms)
// and poll with generous deadlines, so they tolerate slow (sanitizer) builds.
#ifndef DUROXIDE_PROVIDERS_TESTING_PROVIDER_CONFORMANCE_H_
#define DUROXIDE_PROVIDERS_TESTING_PROVIDER_CONFORMANCE_H_

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include <gtest/gtest.h>

#include "duroxide/providers/provider.h"

namespace duroxide::providers::testing {

struct ProviderFactory {
  // Used as the parameter name in test names; letters, digits and '_' only.
  std::string name;
  // Returns a fresh, empty provider (each test gets its own store).
  std::function<std::unique_ptr<Provider>()> create;
  // Optional: replaces the stored history of `instance` (current execution) with rows that
  // cannot be decoded. Empty: the CorruptedHistory tests are skipped for this factory.
  std::function<void(Provider*, const std::string& instance)> corrupt_history;
};

// Test-name generator for INSTANTIATE_TEST_SUITE_P: the factory's name.
struct ProviderFactoryName {
  std::string operator()(const ::testing::TestParamInfo<ProviderFactory>& info) const {
    return info.param.name;
  }
};

// Lets GoogleTest print the parameter.
inline void PrintTo(const ProviderFactory& factory, std::ostream* os) { *os << factory.name; }

// Thread-safety: each test uses its own provider; the fixture itself is single-threaded.
class ProviderConformance : public ::testing::TestWithParam<ProviderFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;

  Provider& p() { return *provider_; }

  std::unique_ptr<Provider> provider_;
};

}  // namespace duroxide::providers::testing

#endif  // DUROXIDE_PROVIDERS_TESTING_PROVIDER_CONFORMANCE_H_
