// SPDX-License-Identifier: MIT
// Copyright (c) 2026 duroxide authors
//
// Export, import and verification of a store (providers/store_dump.h) for duroxide.migration
// (python/duroxide/migration/). Every call that touches a store releases the GIL; rows cross
// the boundary as one bytes block of JSON lines, so that Python never parses a row.
#include "duroxide/bindings/pybind.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "duroxide/providers/store_dump.h"

namespace duroxide::bindings {

namespace {

namespace dump = providers::dump;

std::unique_ptr<dump::SqlSession> OpenSession(const ProviderHandle& p) {
  auto* source = dynamic_cast<dump::DumpSource*>(p.provider.get());
  if (!source) {
    ThrowStatus(Status::FailedPrecondition(
        "export", "provider '" + p.provider->name() + "' does not support export/import"));
  }
  return Blocking([&] { return source->OpenDumpSession(); });
}

// The non-empty lines of `block` (rows never contain a raw newline: JSON escapes it).
std::vector<std::string> Lines(const std::string& block) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < block.size()) {
    size_t end = block.find('\n', start);
    if (end == std::string::npos) end = block.size();
    if (end > start) out.emplace_back(block, start, end - start);
    start = end + 1;
  }
  return out;
}

// A session for verification and the runtime's marker check.
struct Session {
  std::unique_ptr<dump::SqlSession> s;
};

}  // namespace

void RegisterDump(py::module_& m) {
  m.attr("DUMP_FORMAT_VERSION") = dump::kFormatVersion;

  py::class_<dump::Exporter>(m, "_DumpExporter")
      .def("next",
           [](dump::Exporter& e, size_t max_rows) {
             std::string out = Blocking([&] { return e.Next(max_rows); });
             return py::bytes(out);
           },
           py::arg("max_rows"), "Up to max_rows further dump lines (bytes); b'' at the end.")
      .def("counts", [](const dump::Exporter& e) { return e.counts(); })
      .def_property_readonly("instances_total", &dump::Exporter::instances_total);

  m.def("_dump_exporter",
        [](const ProviderHandle& p, std::optional<std::vector<std::string>> ids,
           std::optional<std::string> status) {
          std::unique_ptr<dump::SqlSession> s = OpenSession(p);
          dump::ExportFilter f{std::move(ids), std::move(status)};
          return Blocking([&] { return dump::Exporter::Open(std::move(s), std::move(f)); });
        },
        py::arg("provider"), py::arg("instance_ids"), py::arg("status"));

  py::class_<dump::Importer>(m, "_DumpImporter")
      .def_property_readonly("resumed", &dump::Importer::resumed)
      .def("committed", &dump::Importer::committed, py::arg("table"))
      .def("begin_table",
           [](dump::Importer& im, const std::string& table, const std::vector<std::string>& cols,
              const std::string& where) { ThrowIfError(im.BeginTable(table, cols, where)); },
           py::arg("table"), py::arg("columns"), py::arg("where"))
      .def("insert",
           [](dump::Importer& im, const std::string& block, const std::string& where) {
             BlockingStatus([&] { return im.Insert(Lines(block), where); });
           },
           py::arg("block"), py::arg("where"))
      .def("finish", [](dump::Importer& im) {
        dump::ImportResult r = Blocking([&] { return im.Finish(); });
        py::dict d;
        d["rows"] = r.rows;
        d["skipped"] = r.skipped;
        d["resumed"] = r.resumed;
        return d;
      });

  m.def("_dump_importer",
        [](const ProviderHandle& p, const std::string& dump_id, bool merge) {
          std::unique_ptr<dump::SqlSession> s = OpenSession(p);
          return Blocking([&] { return dump::Importer::Open(std::move(s), dump_id, merge); });
        },
        py::arg("provider"), py::arg("dump_id"), py::arg("merge"));

  m.def("_dump_validate_rows",
        [](const std::string& block, size_t ncolumns, const std::string& file,
           int64_t first_line) {
          BlockingStatus([&] { return dump::ValidateRows(Lines(block), ncolumns, file, first_line); });
        },
        py::arg("block"), py::arg("ncolumns"), py::arg("file"), py::arg("first_line"));

  py::class_<Session>(m, "_DumpSession")
      .def("digests",
           [](Session& s, const std::vector<std::string>& ids) {
             return Blocking([&] { return dump::DigestInstances(*s.s, ids); });
           },
           py::arg("instance_ids"))
      .def("instance_ids_after",
           [](Session& s, const std::string& after, int64_t limit) {
             return Blocking([&] { return dump::InstanceIdsAfter(*s.s, after, limit); });
           },
           py::arg("after"), py::arg("limit"))
      .def("table_counts",
           [](Session& s) { return Blocking([&] { return dump::TableCounts(*s.s); }); })
      .def("import_marker",
           [](Session& s) { return Blocking([&] { return dump::ImportMarker(*s.s); }); })
      .def_property_readonly("dialect", [](const Session& s) { return std::string(s.s->dialect()); });

  m.def("_dump_session",
        [](const ProviderHandle& p) { return Session{OpenSession(p)}; }, py::arg("provider"));
}

}  // namespace duroxide::bindings
