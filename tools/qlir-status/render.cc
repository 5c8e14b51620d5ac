#include "tools/qlir-status/render.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <vector>

#include "common/json.h"
#include "common/time_util.h"

namespace qlir::status_tool {

using ojson = nlohmann::ordered_json;

std::string HumanBytes(uint64_t bytes) {
  static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes) / 1024.0;
  size_t unit = 0;
  while (v >= 1024.0 && unit + 1 < std::size(kUnits)) {
    v /= 1024.0;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[unit]);
  return buf;
}

namespace {

std::string PadRight(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}
std::string PadLeft(const std::string& s, size_t width) {
  return s.size() >= width ? s : std::string(width - s.size(), ' ') + s;
}

// On the id axis the *_ms numbers are ids and the ISO texts null.
ojson Iso(int64_t ms, bool ids) { return ids ? ojson(nullptr) : ojson(FormatIsoUtc(ms)); }

ojson RangeJson(const TimeRange& r, bool ids) {
  return {{"start", Iso(r.start_ms, ids)},
          {"end", Iso(r.end_ms, ids)},
          {"start_ms", r.start_ms},
          {"end_ms", r.end_ms},
          {"slices", r.slices}};
}

ojson OptIso(std::optional<int64_t> ms, bool ids) {
  return ms && !ids ? ojson(FormatIsoUtc(*ms)) : ojson(nullptr);
}
ojson OptInt(std::optional<int64_t> v) { return v ? ojson(*v) : ojson(nullptr); }

std::string Dump(const ojson& j) {
  // Error texts come from files and peers: replace invalid UTF-8 rather than throw.
  return j.dump(2, ' ', false, ojson::error_handler_t::replace) + "\n";
}

}  // namespace

std::string RenderStatusText(const StatusReport& report) {
  std::ostringstream out;
  out << "data root: " << report.data_root.string() << "\n";
  if (report.backend == StateBackend::kSqlite) {
    out << "state: " << (report.data_root / std::string(kStateDbName)).string() << " ("
        << HumanBytes(report.state_db_bytes) << " with its -wal and -shm)\n";
  }
  if (report.series.empty()) {
    out << "no series found\n";
    return out.str();
  }
  const std::vector<std::string> header = {"SERIES",  "FIRST (UTC)", "LAST (UTC)", "OK",
                                           "PARTIAL", "FAILED",      "MISSING",    "ON DISK"};
  std::vector<std::vector<std::string>> rows;
  for (const SeriesReport& s : report.series) {
    if (!s.manifest_error.empty()) {
      rows.push_back({s.series.Name(), "-", "-", "-", "-", "-", "-", HumanBytes(s.disk.total())});
      continue;
    }
    const bool ids = IsIdAxis(s.series.endpoint);
    rows.push_back({s.series.Name(), s.first_start_ms ? FormatPoint(*s.first_start_ms, ids) : "-",
                    s.last_end_ms ? FormatPoint(*s.last_end_ms, ids) : "-", std::to_string(s.ok),
                    std::to_string(s.partial), std::to_string(s.failed), std::to_string(s.missing),
                    HumanBytes(s.disk.total())});
  }
  std::vector<size_t> width(header.size());
  for (size_t c = 0; c < header.size(); ++c) {
    width[c] = header[c].size();
    for (const auto& r : rows) width[c] = std::max(width[c], r[c].size());
  }
  auto print_row = [&](const std::vector<std::string>& r) {
    std::string line;
    for (size_t c = 0; c < r.size(); ++c) {
      if (c > 0) line += "  ";
      // Text columns left, numbers right.
      line += c < 3 ? PadRight(r[c], width[c]) : PadLeft(r[c], width[c]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << "\n";
  };
  print_row(header);
  for (size_t i = 0; i < report.series.size(); ++i) print_row(rows[i]);

  // Details, per series that has any.
  for (const SeriesReport& s : report.series) {
    std::ostringstream d;
    const bool ids = IsIdAxis(s.series.endpoint);
    if (!s.manifest_error.empty()) d << "  ERROR   " << s.manifest_error << "\n";
    for (const TimeRange& r : s.missing_ranges) d << "  missing " << FormatRange(r, ids) << "\n";
    for (const TimeRange& r : s.failed_ranges) d << "  failed  " << FormatRange(r, ids) << "\n";
    for (const FailedSlice& f : s.failed_slices) {
      d << "    " << FormatWindow(f.start_ms, f.end_ms, ids) << "  " << f.key << ": ";
      if (f.http_status) d << "HTTP " << *f.http_status << ", ";
      d << (f.error.empty() ? "(no error text)" : f.error);
      if (f.completed_at) d << " (at " << *f.completed_at << ")";
      d << "\n";
    }
    for (const InvalidEntry& e : s.invalid_entries) {
      d << "  invalid " << e.key << ": " << e.problem << "\n";
    }
    const std::string details = d.str();
    if (details.empty()) continue;
    out << "\n" << s.series.Name() << "\n" << details;
  }
  return out.str();
}

std::string RenderStatusJson(const StatusReport& report) {
  ojson series = ojson::array();
  for (const SeriesReport& s : report.series) {
    ojson j;
    const bool ids = IsIdAxis(s.series.endpoint);
    j["endpoint"] = s.series.endpoint;
    j["symbol"] = s.series.symbol;
    j["interval"] = s.series.interval;
    j["dir"] = s.series.dir.string();
    j["problem"] = s.HasProblem();
    j["manifest_error"] = s.manifest_error.empty() ? ojson(nullptr) : ojson(s.manifest_error);
    j["last_evaluated_at"] =
        s.last_evaluated_at.empty() ? ojson(nullptr) : ojson(s.last_evaluated_at);
    j["axis"] = ids ? "id" : "time";
    j["first"] = OptIso(s.first_start_ms, ids);
    j["last"] = OptIso(s.last_end_ms, ids);
    j["first_ms"] = OptInt(s.first_start_ms);
    j["last_ms"] = OptInt(s.last_end_ms);
    j["ok"] = s.ok;
    j["partial"] = s.partial;
    j["failed"] = s.failed;
    j["missing"] = s.missing;
    j["pending"] = s.pending;
    ojson missing = ojson::array();
    for (const TimeRange& r : s.missing_ranges) missing.push_back(RangeJson(r, ids));
    j["missing_ranges"] = std::move(missing);
    ojson failed = ojson::array();
    for (const TimeRange& r : s.failed_ranges) failed.push_back(RangeJson(r, ids));
    j["failed_ranges"] = std::move(failed);
    ojson slices = ojson::array();
    for (const FailedSlice& f : s.failed_slices) {
      slices.push_back(
          {{"key", f.key},
           {"start", Iso(f.start_ms, ids)},
           {"end", Iso(f.end_ms, ids)},
           {"start_ms", f.start_ms},
           {"end_ms", f.end_ms},
           {"http_status", f.http_status ? ojson(*f.http_status) : ojson(nullptr)},
           {"error", f.error},
           {"completed_at", f.completed_at ? ojson(*f.completed_at) : ojson(nullptr)}});
    }
    j["failed_slices"] = std::move(slices);
    ojson invalid = ojson::array();
    for (const InvalidEntry& e : s.invalid_entries) {
      invalid.push_back({{"key", e.key}, {"problem", e.problem}});
    }
    j["invalid_entries"] = std::move(invalid);
    j["bytes"] = {{"responses", s.disk.responses_bytes},
                  {"manifest", s.disk.manifest_bytes},
                  {"total", s.disk.total()}};
    series.push_back(std::move(j));
  }
  ojson root;
  root["data_root"] = report.data_root.string();
  root["state"] = StateBackendName(report.backend);
  root["state_db_bytes"] =
      report.backend == StateBackend::kSqlite ? ojson(report.state_db_bytes) : ojson(nullptr);
  root["problem"] = report.HasProblem();
  root["series"] = std::move(series);
  return Dump(root);
}

std::string RenderVerifyText(const VerifyReport& report) {
  std::ostringstream out;
  for (const Problem& p : report.problems) {
    out << p.series << "  " << p.key << "  " << ProblemKindName(p.kind) << ": " << p.detail << "\n";
  }
  for (const Problem& p : report.notices) {
    out << p.series << "  " << p.key << "  " << ProblemKindName(p.kind) << " (notice): " << p.detail
        << "\n";
  }
  out << "verify: " << report.series_checked << " series, " << report.files_checked
      << (report.quick ? " response files looked at, " : " response files read, ")
      << report.problems.size() << (report.problems.size() == 1 ? " problem" : " problems")
      << " (data root " << report.data_root.string() << ")\n";
  out << "verify: " << (report.quick ? "quick" : "full") << " check of " << report.slices_checked
      << " stored slices, " << HumanBytes(static_cast<uint64_t>(report.bytes_checked));
  if (report.quick) {
    out << ": presence, sizes and framing only (no digest, no rows)";
  } else {
    out << ": " << report.digest_checked << " files hashed against their digest, "
        << report.no_digest << " without a digest (rows only)";
  }
  out << ", " << report.notices.size() << (report.notices.size() == 1 ? " notice" : " notices")
      << "\n";
  if (report.repair) {
    const RepairResult& r = *report.repair;
    if (!r.error.empty()) {
      out << "repair: FAILED: " << r.error << "\n";
    } else if (r.requested == 0) {
      out << "repair: nothing the persister can re-fetch\n";
    } else {
      out << "repair: asked the persister at " << r.persister << " to fetch " << r.requested
          << " slices again; it marked " << r.marked << " pending\n";
    }
  }
  return out.str();
}

std::string RenderVerifyJson(const VerifyReport& report) {
  ojson problems = ojson::array();
  for (const Problem& p : report.problems) {
    problems.push_back({{"series", p.series},
                        {"key", p.key},
                        {"problem", std::string(ProblemKindName(p.kind))},
                        {"detail", p.detail},
                        {"repairable", p.repairable}});
  }
  ojson notices = ojson::array();
  for (const Problem& p : report.notices) {
    notices.push_back({{"series", p.series},
                       {"key", p.key},
                       {"notice", std::string(ProblemKindName(p.kind))},
                       {"detail", p.detail}});
  }
  ojson root;
  root["data_root"] = report.data_root.string();
  root["mode"] = report.quick ? "quick" : "full";
  root["series_checked"] = report.series_checked;
  root["files_checked"] = report.files_checked;
  root["slices_checked"] = report.slices_checked;
  root["bytes_checked"] = report.bytes_checked;
  root["digest_checked"] = report.digest_checked;
  root["no_digest"] = report.no_digest;
  root["clean"] = report.problems.empty();
  root["problems"] = std::move(problems);
  root["notices"] = std::move(notices);
  if (report.repair) {
    const RepairResult& r = *report.repair;
    root["repair"] = {{"persister", r.persister},
                      {"requested", r.requested},
                      {"marked", r.marked},
                      {"error", r.error.empty() ? ojson(nullptr) : ojson(r.error)}};
  } else {
    root["repair"] = nullptr;
  }
  return Dump(root);
}

}  // namespace qlir::status_tool
