// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// A Provider that delegates every call to another provider and calls OnClientCall() before
// each call a client makes (StartOrchestration, EnqueueOrchestratorMessage, GetInstance,
// HasPendingStart, ReadHistory, GetKvValue, GetKvAll). Race tests subclass it to run a
// competing write (a turn's commit, a delete) at an exact point between a client
// operation's store calls, which makes an interleaving that is rare under real threads happen
// on every run. Test-only.
// Thread-safety: as the inner provider; the hook runs on the calling thread.
#ifndef DUROXIDE_PROVIDERS_TESTING_FORWARDING_PROVIDER_H_
#define DUROXIDE_PROVIDERS_TESTING_FORWARDING_PROVIDER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "duroxide/providers/provider.h"

namespace duroxide::providers::testing {

class ForwardingProvider : public Provider {
 public:
  explicit ForwardingProvider(Provider* inner) : inner_(inner) {}

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
  Status AckWorkItem(const std::string& t, const std::optional<history::WorkItem>& c) override {
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

  // ---- client calls: OnClientCall() first ----------------------------------------------------
  Status StartOrchestration(const history::WorkItem& s) override {
    OnClientCall("StartOrchestration");
    return inner_->StartOrchestration(s);
  }
  Status EnqueueOrchestratorMessage(const history::WorkItem& w, int64_t d) override {
    OnClientCall("EnqueueOrchestratorMessage");
    return inner_->EnqueueOrchestratorMessage(w, d);
  }
  Result<std::optional<InstanceRecord>> GetInstance(const std::string& i) override {
    OnClientCall("GetInstance");
    return inner_->GetInstance(i);
  }
  Result<bool> HasPendingStart(const std::string& i) override {
    OnClientCall("HasPendingStart");
    return inner_->HasPendingStart(i);
  }
  Result<std::vector<history::Event>> ReadHistory(const std::string& i, int64_t e) override {
    OnClientCall("ReadHistory");
    return inner_->ReadHistory(i, e);
  }
  Result<std::optional<std::string>> GetKvValue(const std::string& i,
                                                const std::string& k) override {
    OnClientCall("GetKvValue");
    return inner_->GetKvValue(i, k);
  }
  Result<KvMap> GetKvAll(const std::string& i) override {
    OnClientCall("GetKvAll");
    return inner_->GetKvAll(i);
  }
  ProviderAdmin* admin() override { return inner_->admin(); }
  MessagingStore* messaging() override { return inner_->messaging(); }

 protected:
  virtual void OnClientCall(const char* /*op*/) {}
  Provider& inner() { return *inner_; }

 private:
  Provider* inner_;
};

}  // namespace duroxide::providers::testing

#endif  // DUROXIDE_PROVIDERS_TESTING_FORWARDING_PROVIDER_H_
