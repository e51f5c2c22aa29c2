// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// _InstanceWatch: what the asyncio clients' waiter registry (duroxide/client/aio_waiters.py)
// sleeps on. One watch on the provider's status signal collects the instances that changed
// (or "everything", for changes that cannot be attributed, such as a notification from another
// process); one Python thread takes them and re-checks only the waits on those instances, so
// 10,000 concurrent waits cost one thread, not one each.
#include <condition_variable>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "duroxide/bindings/pybind.h"
#include "duroxide/providers/provider.h"

namespace duroxide::bindings {
namespace {

class InstanceWatch {
 public:
  explicit InstanceWatch(std::shared_ptr<providers::Provider> provider)
      : provider_(std::move(provider)) {
    id_ = provider_->status_signal().AddWatch([this](const std::string* instance) {
      // Runs under the signal's mutex: record and wake only.
      std::lock_guard<std::mutex> lock(mu_);
      if (instance == nullptr) all_ = true;
      else changed_.insert(*instance);
      cv_.notify_all();
    });
  }
  ~InstanceWatch() { Close(); }
  InstanceWatch(const InstanceWatch&) = delete;
  InstanceWatch& operator=(const InstanceWatch&) = delete;

  void Close() {
    uint64_t id;
    {
      std::lock_guard<std::mutex> lock(mu_);
      id = id_;
      id_ = 0;
      closed_ = true;
      cv_.notify_all();
    }
    if (id != 0) provider_->status_signal().RemoveWatch(id);
  }

  // Waits up to timeout_ms for a change; returns (everything changed, instances changed) and
  // forgets them. Returns at once (all=false, none) once closed.
  std::pair<bool, std::vector<std::string>> Take(int64_t timeout_ms) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, std::chrono::milliseconds(std::max<int64_t>(timeout_ms, 0)),
                 [&] { return closed_ || all_ || !changed_.empty(); });
    std::pair<bool, std::vector<std::string>> out{all_, {changed_.begin(), changed_.end()}};
    all_ = false;
    changed_.clear();
    return out;
  }

 private:
  std::shared_ptr<providers::Provider> provider_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::set<std::string> changed_;  // GUARDED_BY(mu_)
  bool all_ = false;               // GUARDED_BY(mu_)
  bool closed_ = false;            // GUARDED_BY(mu_)
  uint64_t id_ = 0;                // GUARDED_BY(mu_)
};

}  // namespace

void RegisterWaiters(py::module_& m) {
  py::class_<InstanceWatch, std::shared_ptr<InstanceWatch>>(m, "_InstanceWatch")
      .def(py::init([](const ProviderHandle& p) {
             return std::make_shared<InstanceWatch>(p.provider);
           }),
           py::arg("provider"))
      .def("take", &InstanceWatch::Take, py::arg("timeout_ms"),
           py::call_guard<py::gil_scoped_release>())
      .def("close", &InstanceWatch::Close, py::call_guard<py::gil_scoped_release>());
}

}  // namespace duroxide::bindings
