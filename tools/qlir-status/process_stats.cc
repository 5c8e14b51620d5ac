#include "tools/qlir-status/process_stats.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "common/stats.h"
#include "common/time_util.h"
#include "tools/qlir-status/render.h"

namespace qlir::status_tool {
namespace fs = std::filesystem;

namespace {

int Rank(const std::string& process) {
  if (process == "planner") return 0;
  if (process == "persister") return 1;
  if (process == "fetcher") return 2;
  return 3;
}

int64_t IntOr(const nlohmann::json& j, const char* key, int64_t fallback) {
  if (j.contains(key) && j[key].is_number_integer()) return j[key].get<int64_t>();
  return fallback;
}

std::string StrOr(const nlohmann::json& j, const char* key) {
  if (j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
  return "";
}

std::string FormatCounter(const std::string& name, const nlohmann::json& v) {
  if (v.is_number_integer() && name.find("bytes") != std::string::npos) {
    return name + "=" + HumanBytes(static_cast<uint64_t>(std::max<int64_t>(0, v.get<int64_t>())));
  }
  return name + "=" + v.dump();
}

}  // namespace

Result<ProcessStatsReport> ReadProcessStats(const fs::path& dir) {
  ProcessStatsReport report;
  report.dir = dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Status::Error("stats directory " + dir.string() +
                         " does not exist or is not a directory");
  }
  std::vector<fs::path> files;
  fs::directory_iterator it(dir, ec);
  if (ec) return Status::Error("cannot list " + dir.string() + ": " + ec.message());
  for (const auto& e : it) {
    if (e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  std::set<std::string> own_fetchers;
  std::vector<ProcessStats> via_planner;
  for (const fs::path& f : files) {
    auto j = ReadStatsFile(f);
    if (!j.ok()) {
      report.errors.push_back(j.error());
      continue;
    }
    ProcessStats p;
    p.process = StrOr(*j, "process");
    p.id = StrOr(*j, "id");
    p.source = f.filename().string();
    p.pid = IntOr(*j, "pid", 0);
    p.host = StrOr(*j, "host");
    p.updated_at_ms = IntOr(*j, "updated_at_ms", 0);
    p.counters = (*j)["counters"];
    if (p.process == "fetcher") own_fetchers.insert(p.id);
    if (p.process == "planner" && j->contains("fetchers") && (*j)["fetchers"].is_object()) {
      for (auto fit = (*j)["fetchers"].begin(); fit != (*j)["fetchers"].end(); ++fit) {
        const nlohmann::json& fj = fit.value();
        if (!fj.is_object() || !fj.contains("counters") || !fj["counters"].is_object()) continue;
        ProcessStats fp;
        fp.process = "fetcher";
        fp.id = fit.key();
        fp.source = "planner";
        fp.updated_at_ms = p.updated_at_ms - IntOr(fj, "seen_ago_ms", 0);
        fp.counters = fj["counters"];
        via_planner.push_back(std::move(fp));
      }
    }
    report.processes.push_back(std::move(p));
  }
  for (ProcessStats& fp : via_planner) {
    if (!own_fetchers.count(fp.id)) report.processes.push_back(std::move(fp));
  }
  std::stable_sort(report.processes.begin(), report.processes.end(),
                   [](const ProcessStats& a, const ProcessStats& b) {
                     if (Rank(a.process) != Rank(b.process)) {
                       return Rank(a.process) < Rank(b.process);
                     }
                     return a.id < b.id;
                   });
  return report;
}

std::string RenderProcessStatsText(const ProcessStatsReport& report, int64_t now_ms) {
  std::ostringstream out;
  out << "\nprocesses (counters from " << report.dir.string() << "):\n";
  if (report.processes.empty()) out << "  none reported yet\n";
  for (const ProcessStats& p : report.processes) {
    const int64_t age_s = std::max<int64_t>(0, (now_ms - p.updated_at_ms) / 1000);
    out << "  " << p.process << " " << p.id;
    if (p.pid > 0) out << " (pid " << p.pid << (p.host.empty() ? "" : " on " + p.host) << ")";
    if (p.source == "planner") out << " (via the planner)";
    out << ", updated " << age_s << " s ago";
    if (now_ms - p.updated_at_ms > kStaleAfterMs) out << " [stale: stopped or hung?]";
    out << "\n   ";
    size_t width = 3;
    for (auto it = p.counters.begin(); it != p.counters.end(); ++it) {
      const std::string item = FormatCounter(it.key(), it.value());
      if (width + item.size() + 1 > 100) {
        out << "\n   ";
        width = 3;
      }
      out << " " << item;
      width += item.size() + 1;
    }
    out << "\n";
  }
  for (const std::string& e : report.errors) out << "  unreadable: " << e << "\n";
  return out.str();
}

nlohmann::ordered_json ProcessStatsJson(const ProcessStatsReport& report, int64_t now_ms) {
  nlohmann::ordered_json list = nlohmann::ordered_json::array();
  for (const ProcessStats& p : report.processes) {
    nlohmann::ordered_json j;
    j["process"] = p.process;
    j["id"] = p.id;
    j["source"] = p.source;
    j["pid"] = p.pid > 0 ? nlohmann::ordered_json(p.pid) : nlohmann::ordered_json(nullptr);
    j["host"] = p.host;
    j["updated_at"] = FormatIsoUtc(p.updated_at_ms);
    j["age_ms"] = now_ms - p.updated_at_ms;
    j["stale"] = now_ms - p.updated_at_ms > kStaleAfterMs;
    j["counters"] = nlohmann::ordered_json::parse(p.counters.dump());
    list.push_back(std::move(j));
  }
  nlohmann::ordered_json out;
  out["dir"] = report.dir.string();
  out["processes"] = std::move(list);
  out["errors"] = report.errors;
  return out;
}

}  // namespace qlir::status_tool
