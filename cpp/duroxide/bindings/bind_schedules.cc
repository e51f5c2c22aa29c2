// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Durable schedules for Python (python/duroxide/client/schedules.py validates, computes the
// cron and interval times and builds the public ScheduleInfo; worker/schedules.py runs the
// firing loop). Records cross as dicts; every store call runs with the GIL released.
#include "duroxide/bindings/pybind.h"

#include "duroxide/providers/provider.h"
#include "duroxide/providers/schedule_store.h"

namespace duroxide::bindings {

namespace {

using providers::FireOutcome;
using providers::FireRequest;
using providers::ScheduleRecord;
using providers::ScheduleStore;

ScheduleStore* Store(const ProviderHandle& p, const char* op) {
  return RequireStore(p.provider->schedules(), op, "schedule store");
}

template <typename T>
std::optional<T> Get(const py::dict& d, const char* key) {
  if (!d.contains(key) || d[key].is_none()) return std::nullopt;
  return d[key].cast<T>();
}

py::dict RecordDict(const ScheduleRecord& r) {
  return py::dict(
      // what it starts, and when
      "schedule_id"_a = r.schedule_id, "orchestration"_a = r.orchestration,
      "version"_a = r.version, "input"_a = r.input, "cron"_a = r.cron, "every_ms"_a = r.every_ms,
      "timezone"_a = r.timezone, "overlap"_a = r.overlap,
      "catchup_window_ms"_a = r.catchup_window_ms, "jitter_ms"_a = r.jitter_ms,
      "start_at_ms"_a = r.start_at_ms, "end_at_ms"_a = r.end_at_ms, "paused"_a = r.paused,
      "note"_a = r.note,
      // firing state
      "next_fire_ms"_a = r.next_fire_ms, "next_due_ms"_a = r.next_due_ms,
      "last_fire_ms"_a = r.last_fire_ms, "last_instance_id"_a = r.last_instance_id,
      "buffered_fire_ms"_a = r.buffered_fire_ms, "recent_instances"_a = r.recent_instances_json,
      "fired_count"_a = r.fired_count, "missed_count"_a = r.missed_count,
      "skipped_count"_a = r.skipped_count,
      "created_at_ms"_a = r.created_at_ms, "updated_at_ms"_a = r.updated_at_ms);
}

ScheduleRecord RecordFrom(const py::dict& d) {
  ScheduleRecord r;
  r.schedule_id = d["schedule_id"].cast<std::string>();
  r.orchestration = d["orchestration"].cast<std::string>();
  r.version = Get<std::string>(d, "version");
  r.input = Get<std::string>(d, "input");
  r.cron = Get<std::string>(d, "cron");
  r.every_ms = Get<int64_t>(d, "every_ms");
  r.timezone = Get<std::string>(d, "timezone").value_or("UTC");
  r.overlap = Get<std::string>(d, "overlap").value_or("skip");
  r.catchup_window_ms = Get<int64_t>(d, "catchup_window_ms").value_or(60000);
  r.jitter_ms = Get<int64_t>(d, "jitter_ms").value_or(0);
  r.start_at_ms = Get<int64_t>(d, "start_at_ms");
  r.end_at_ms = Get<int64_t>(d, "end_at_ms");
  r.paused = Get<bool>(d, "paused").value_or(false);
  r.note = Get<std::string>(d, "note");
  r.next_fire_ms = Get<int64_t>(d, "next_fire_ms");
  r.next_due_ms = Get<int64_t>(d, "next_due_ms");
  return r;
}

py::list Records(const std::vector<ScheduleRecord>& rows) { return ListOf(rows, &RecordDict); }

}  // namespace

void RegisterSchedules(py::module_& m) {
  m.def("schedule_create", [](const ProviderHandle& p, const py::dict& d) {
    ScheduleStore* store = Store(p, "create_schedule");
    ScheduleRecord r = RecordFrom(d);
    Status st;
    {
      py::gil_scoped_release release;
      st = store->Create(r);
    }
    // An existing id has its own class (duroxide.errors.ScheduleAlreadyExistsError).
    if (st.code() == StatusCode::kAlreadyExists) Raise("schedule-already-exists", st.ToString());
    ThrowIfError(st);
  });
  m.def("schedule_update", [](const ProviderHandle& p, const py::dict& d) {
    ScheduleStore* store = Store(p, "update_schedule");
    ScheduleRecord r = RecordFrom(d);
    BlockingStatus([&] { return store->Update(r); });
  });
  m.def("schedule_get", [](const ProviderHandle& p, const std::string& id) -> py::object {
    ScheduleStore* store = Store(p, "get_schedule");
    auto r = Blocking([&] { return store->Get(id); });
    return r ? py::object(RecordDict(*r)) : py::object(py::none());
  });
  m.def("schedule_list", [](const ProviderHandle& p) {
    ScheduleStore* store = Store(p, "list_schedules");
    return Records(Blocking([&] { return store->List(); }));
  });
  m.def("schedule_delete", [](const ProviderHandle& p, const std::string& id) {
    ScheduleStore* store = Store(p, "delete_schedule");
    BlockingStatus([&] { return store->Delete(id); });
  });
  m.def("schedule_due", [](const ProviderHandle& p, int64_t now_ms, int64_t limit) {
    ScheduleStore* store = Store(p, "due_schedules");
    return Records(Blocking([&] { return store->Due(now_ms, limit); }));
  });
  // (next due ms or None, a buffered occurrence waits): what the firing loop sleeps on.
  m.def("schedule_next_wake", [](const ProviderHandle& p, int64_t now_ms) {
    ScheduleStore* store = Store(p, "next_schedule_due");
    providers::ScheduleWake w = Blocking([&] { return store->NextWake(now_ms); });
    return py::make_tuple(w.next_due_ms, w.buffered_waiting);
  });
  // The store's change signal (ScheduleStore::changes()): take the sequence before a pass,
  // then sleep until it moves or timeout_ms passes (GIL released); True if it moved.
  m.def("schedule_changes_seq", [](const ProviderHandle& p) {
    return Store(p, "schedule_changes")->changes().seq();
  });
  m.def("schedule_wait_change", [](const ProviderHandle& p, uint64_t seen, int64_t timeout_ms) {
    providers::ChangeSignal& signal = Store(p, "schedule_changes")->changes();
    py::gil_scoped_release release;
    return signal.WaitSince(seen, timeout_ms);
  });
  // Wakes every loop sleeping on this store's signal (a loop being stopped).
  m.def("schedule_wake", [](const ProviderHandle& p) {
    Store(p, "schedule_changes")->changes().Notify();
  });
  m.def("schedule_fire", [](const ProviderHandle& p, const py::dict& d) {
    ScheduleStore* store = Store(p, "fire_schedule");
    FireRequest req;
    req.schedule_id = d["schedule_id"].cast<std::string>();
    req.advance = Get<bool>(d, "advance").value_or(true);
    req.expected_next_fire_ms = Get<int64_t>(d, "expected_next_fire_ms");
    req.new_next_fire_ms = Get<int64_t>(d, "new_next_fire_ms");
    req.new_next_due_ms = Get<int64_t>(d, "new_next_due_ms");
    if (auto occ = Get<std::vector<int64_t>>(d, "occurrences")) req.occurrences = *occ;
    req.missed = Get<int64_t>(d, "missed").value_or(0);
    req.overlap = Get<std::string>(d, "overlap").value_or("");
    FireOutcome out = Blocking([&] { return store->Fire(req); });
    return py::dict("applied"_a = out.applied, "started"_a = out.started,
                    "buffered"_a = out.buffered, "cancelled"_a = out.cancelled,
                    "skipped"_a = out.skipped, "missed"_a = out.missed);
  });
}

}  // namespace duroxide::bindings
