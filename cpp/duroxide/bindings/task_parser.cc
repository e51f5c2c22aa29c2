// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// ParseTask: the task descriptors an orchestration yields (dicts built by
// python/duroxide/workflow/context.py) turned into replay::TaskDescriptor. One parser per task
// kind, chosen from a table by the descriptor's `type` string: a new kind is a new row.
#include "duroxide/bindings/py_invoker.h"
#include "duroxide/bindings/retry_policy.h"

#include <array>

namespace duroxide::bindings {

using replay::RetryPolicy;
using replay::TaskDescriptor;

namespace {

using T = TaskDescriptor::Type;

std::string TypeName(py::handle obj) {
  return py::str(py::type::handle_of(obj).attr("__name__")).cast<std::string>();
}

std::string Repr(py::handle obj) {
  std::string r = py::repr(obj).cast<std::string>();
  return r.size() > 80 ? r.substr(0, 77) + "..." : r;
}

// Reads task fields with errors that name the field and the task type.
class Fields {
 public:
  Fields(py::dict d, std::string type) : d_(std::move(d)), type_(std::move(type)) {}

  const py::dict& dict() const { return d_; }
  const std::string& type() const { return type_; }
  bool Has(const char* key) const { return d_.contains(key) && !d_[key].is_none(); }

  bool Str(const char* key, std::string* out, std::string* error) const {
    if (!d_.contains(key)) return Missing(key, error);
    py::object v = d_[key];
    if (!py::isinstance<py::str>(v)) return Wrong(key, "a str", v, error);
    *out = v.cast<std::string>();
    return true;
  }
  bool OptStr(const char* key, std::optional<std::string>* out, std::string* error) const {
    if (!Has(key)) return true;
    py::object v = d_[key];
    if (!py::isinstance<py::str>(v)) return Wrong(key, "a str or None", v, error);
    *out = v.cast<std::string>();
    return true;
  }
  bool Int(const char* key, int64_t* out, std::string* error) const {
    if (!d_.contains(key)) return Missing(key, error);
    py::object v = d_[key];
    if (!py::isinstance<py::int_>(v) || py::isinstance<py::bool_>(v)) {
      return Wrong(key, "an int", v, error);
    }
    *out = v.cast<int64_t>();
    return true;
  }
  bool Fail(const std::string& message, std::string* error) const {
    *error = message;
    return false;
  }

 private:
  bool Missing(const char* key, std::string* error) const {
    return Fail("task '" + type_ + "' is missing field '" + key + "'", error);
  }
  bool Wrong(const char* key, const char* want, py::handle v, std::string* error) const {
    return Fail("task '" + type_ + "' field '" + key + "' must be " + want + ", got " +
                    TypeName(v),
                error);
  }
  py::dict d_;
  std::string type_;
};

// Options of a parser row: which variant of its kind the type string names.
enum Variant : unsigned {
  kPlain = 0,
  kSession = 1,     // activity: needs sessionId
  kRetry = 2,       // activity: needs a retry policy
  kWithId = 4,      // orchestration: needs instanceId
  kDetached = 8,    // orchestration: a detached start, not a child
  kSelect = 16,     // composite: race() rather than all()
};

using Parser = bool (*)(const Fields& f, unsigned variant, TaskDescriptor* out,
                        std::string* error);

bool ParseActivityRouting(const Fields& f, TaskDescriptor* out, std::string* error) {
  if (f.Has("priority")) {
    if (!f.Int("priority", &out->priority, error)) return false;
    if (out->priority < 0 || out->priority > 9) {
      return f.Fail("task '" + f.type() + "': priority must be between 0 and 9, got " +
                        std::to_string(out->priority),
                    error);
    }
  }
  if (!f.OptStr("requires", &out->requires_schema, error)) return false;
  if (!out->requires_schema) return true;
  if (!f.Str("requiresHash", &out->requires_hash, error)) return false;
  return !f.Has("requiresTimeoutMs") ||
         f.Int("requiresTimeoutMs", &out->requires_timeout_ms, error);
}

bool ParseActivity(const Fields& f, unsigned variant, TaskDescriptor* out, std::string* error) {
  out->type = T::kActivity;
  if (!f.Str("name", &out->name, error) || !f.Str("input", &out->input, error) ||
      !f.OptStr("tag", &out->tag, error)) {
    return false;
  }
  if (variant & kSession) {
    std::string session;
    if (!f.Str("sessionId", &session, error)) return false;
    out->session_id = session;
  }
  if (variant & kRetry) {
    RetryPolicy policy;
    if (!f.dict().contains("retry") || !ParseRetry(f.dict()["retry"], &policy, error, nullptr)) {
      if (error->empty()) *error = "task '" + f.type() + "' is missing field 'retry'";
      return false;
    }
    out->retry = policy;
  }
  return ParseActivityRouting(f, out, error);
}

bool ParseGraph(const Fields& f, unsigned /*variant*/, TaskDescriptor* out, std::string* error) {
  out->type = T::kGraph;
  const py::dict& d = f.dict();
  if (!d.contains("nodes") || !py::isinstance<py::list>(d["nodes"])) {
    return f.Fail("task 'graph' needs a list of nodes", error);
  }
  for (py::handle child : py::reinterpret_borrow<py::list>(d["nodes"])) {
    TaskDescriptor c;
    if (!ParseTask(child, &c, error)) return false;
    if (c.type != T::kActivity) return f.Fail("graph nodes must be activities", error);
    py::dict cd = py::reinterpret_borrow<py::dict>(child);
    if (cd.contains("deps")) {
      for (py::handle dep : py::reinterpret_borrow<py::list>(cd["deps"])) {
        c.deps.push_back(dep.cast<int64_t>());
      }
    }
    out->children.push_back(std::move(c));
  }
  return true;
}

bool ParseTimer(const Fields& f, unsigned /*variant*/, TaskDescriptor* out, std::string* error) {
  out->type = T::kTimer;
  if (!f.Int("delayMs", &out->delay_ms, error)) return false;
  return out->delay_ms >= 0 || f.Fail("timer delayMs must be >= 0", error);
}

bool ParseWaitEvent(const Fields& f, unsigned /*variant*/, TaskDescriptor* out,
                    std::string* error) {
  out->type = T::kWaitEvent;
  return f.Str("name", &out->name, error);
}

bool ParseDequeue(const Fields& f, unsigned /*variant*/, TaskDescriptor* out, std::string* error) {
  out->type = T::kDequeueEvent;
  // receive_message / receive_request (docs/messaging.md): resolve with the metadata too.
  const py::dict& d = f.dict();
  out->envelope = d.contains("envelope") && py::bool_(d["envelope"]).cast<bool>();
  return f.Str("queueName", &out->name, error);
}

bool ParseOrchestration(const Fields& f, unsigned variant, TaskDescriptor* out,
                        std::string* error) {
  out->type = (variant & kDetached) ? T::kStartOrchestration : T::kSubOrchestration;
  if (!f.Str("name", &out->name, error) || !f.Str("input", &out->input, error) ||
      !f.OptStr("version", &out->version, error)) {
    return false;
  }
  if (!(variant & (kWithId | kDetached))) return true;
  std::string id;
  if (!f.Str("instanceId", &id, error)) return false;
  if (id.empty()) return f.Fail("task '" + f.type() + "' has an empty instanceId", error);
  out->instance_id = id;
  return true;
}

bool ParseNewGuid(const Fields&, unsigned, TaskDescriptor* out, std::string*) {
  out->type = T::kNewGuid;
  return true;
}

bool ParseUtcNow(const Fields&, unsigned, TaskDescriptor* out, std::string*) {
  out->type = T::kUtcNow;
  return true;
}

bool ParseContinueAsNew(const Fields& f, unsigned /*variant*/, TaskDescriptor* out,
                        std::string* error) {
  out->type = T::kContinueAsNew;
  return f.Str("input", &out->input, error) && f.OptStr("version", &out->version, error);
}

bool ParseComposite(const Fields& f, unsigned variant, TaskDescriptor* out, std::string* error) {
  out->type = (variant & kSelect) ? T::kSelect : T::kJoin;
  const py::dict& d = f.dict();
  if (!d.contains("tasks") || !py::isinstance<py::list>(d["tasks"])) {
    return f.Fail("task '" + f.type() + "' needs a list of tasks", error);
  }
  for (py::handle child : py::reinterpret_borrow<py::list>(d["tasks"])) {
    TaskDescriptor c;
    if (!ParseTask(child, &c, error)) return false;
    if (c.type == T::kContinueAsNew) {
      return f.Fail("continue_as_new() cannot be used inside all() or race()", error);
    }
    out->children.push_back(std::move(c));
  }
  return true;
}

struct ParserRow {
  const char* type;
  Parser parse;
  unsigned variant;
};

// Every task `type` string context.py writes, with its parser.
constexpr std::array<ParserRow, 20> kParsers = {{
    {"activity", ParseActivity, kPlain},
    {"activityWithSession", ParseActivity, kSession},
    {"activityWithRetry", ParseActivity, kRetry},
    {"activityWithRetryOnSession", ParseActivity, kSession | kRetry},
    {"graph", ParseGraph, kPlain},
    {"timer", ParseTimer, kPlain},
    {"waitEvent", ParseWaitEvent, kPlain},
    {"dequeueEvent", ParseDequeue, kPlain},
    {"subOrchestration", ParseOrchestration, kPlain},
    {"subOrchestrationWithId", ParseOrchestration, kWithId},
    {"subOrchestrationVersioned", ParseOrchestration, kPlain},
    {"subOrchestrationVersionedWithId", ParseOrchestration, kWithId},
    {"orchestration", ParseOrchestration, kDetached},
    {"orchestrationVersioned", ParseOrchestration, kDetached},
    {"newGuid", ParseNewGuid, kPlain},
    {"utcNow", ParseUtcNow, kPlain},
    {"continueAsNew", ParseContinueAsNew, kPlain},
    {"continueAsNewVersioned", ParseContinueAsNew, kPlain},
    {"join", ParseComposite, kPlain},
    {"select", ParseComposite, kSelect},
}};

}  // namespace

bool ParseTask(py::handle obj, TaskDescriptor* out, std::string* error) {
  if (!py::isinstance<py::dict>(obj)) {
    *error = "orchestration yielded " + Repr(obj) + " (a " + TypeName(obj) +
             "); yield a task made by ctx.schedule_*(), ctx.all() or ctx.race()";
    return false;
  }
  py::dict d = py::reinterpret_borrow<py::dict>(obj);
  if (!d.contains("type") || !py::isinstance<py::str>(d["type"])) {
    *error = "yielded dict " + Repr(obj) + " has no task 'type'";
    return false;
  }
  const std::string type = d["type"].cast<std::string>();
  for (const ParserRow& row : kParsers) {
    if (type == row.type) return row.parse(Fields(d, type), row.variant, out, error);
  }
  *error = "unknown task type '" + type + "'";
  return false;
}

}  // namespace duroxide::bindings
