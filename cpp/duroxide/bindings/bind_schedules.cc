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
  ScheduleStore* store = p.provider->schedules();
  if (store == nullptr) {
    ThrowStatus(Status::FailedPrecondition(op, "this provider has no schedule store"));
  }
  return store;
}

template <typename T>
py::object Opt(const std::optional<T>& v) {
  return v ? py::cast(*v) : py::object(py::none());
}

template <typename T>
std::optional<T> Get(const py::dict& d, const char* key) {
  if (!d.contains(key) || d[key].is_none()) return std::nullopt;
  return d[key].cast<T>();
}

py::dict RecordDict(const ScheduleRecord& r) {
  py::dict d;
  d["schedule_id"] = r.schedule_id;
  d["orchestration"] = r.orchestration;
  d["version"] = Opt(r.version);
  d["input"] = Opt(r.input);
  d["cron"] = Opt(r.cron);
  d["every_ms"] = Opt(r.every_ms);
  d["timezone"] = r.timezone;
  d["overlap"] = r.overlap;
  d["catchup_window_ms"] = r.catchup_window_ms;
  d["jitter_ms"] = r.jitter_ms;
  d["start_at_ms"] = Opt(r.start_at_ms);
  d["end_at_ms"] = Opt(r.end_at_ms);
  d["paused"] = r.paused;
  d["note"] = Opt(r.note);
  d["next_fire_ms"] = Opt(r.next_fire_ms);
  d["next_due_ms"] = Opt(r.next_due_ms);
  d["last_fire_ms"] = Opt(r.last_fire_ms);
  d["last_instance_id"] = Opt(r.last_instance_id);
  d["buffered_fire_ms"] = Opt(r.buffered_fire_ms);
  d["recent_instances"] = r.recent_instances_json;
  d["fired_count"] = r.fired_count;
  d["missed_count"] = r.missed_count;
  d["skipped_count"] = r.skipped_count;
  d["created_at_ms"] = r.created_at_ms;
  d["updated_at_ms"] = r.updated_at_ms;
  return d;
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

py::list Records(const std::vector<ScheduleRecord>& rows) {
  py::list out;
  for (const auto& r : rows) out.append(RecordDict(r));
  return out;
}

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
  m.def("schedule_next_due", [](const ProviderHandle& p, int64_t now_ms) {
    ScheduleStore* store = Store(p, "next_schedule_due");
    return Opt(Blocking([&] { return store->NextDueAt(now_ms); }));
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
    py::dict r;
    r["applied"] = out.applied;
    r["started"] = out.started;
    r["buffered"] = Opt(out.buffered);
    r["cancelled"] = Opt(out.cancelled);
    r["skipped"] = out.skipped;
    r["missed"] = out.missed;
    return r;
  });
}

}  // namespace duroxide::bindings
