#include "tests/pipeline_harness.h"

#include <httplib.h>
#include <signal.h>

#include <stdexcept>

namespace qlir::testing {

Simulator::Simulator(const std::filesystem::path& dir, std::vector<std::string> extra_args) {
  std::vector<std::string> argv = {BinaryPath("tools/exchange-sim/exchange-sim"), "--listen",
                                   "127.0.0.1:0"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  proc_ = std::make_unique<ChildProcess>(argv, dir / "sim.log", /*capture_stdout=*/true);
  auto line = proc_->ReadLine(30000);
  const std::string prefix = "listening on ";
  if (!line || line->rfind(prefix, 0) != 0) {
    throw std::runtime_error("simulator did not start: " + ReadLog(dir / "sim.log"));
  }
  std::string hostport = line->substr(prefix.size());
  port_ = std::stoi(hostport.substr(hostport.rfind(':') + 1));
  base_url_ = "http://" + hostport;
}

nlohmann::json Simulator::Counters() {
  httplib::Client c("127.0.0.1", port_);
  auto r = c.Get("/sim/counters");
  if (!r || r->status != 200) throw std::runtime_error("GET /sim/counters failed");
  return nlohmann::json::parse(r->body);
}

void Simulator::Post(const std::string& path, const std::string& body) {
  httplib::Client c("127.0.0.1", port_);
  auto r = c.Post(path.c_str(), body, "application/json");
  if (!r || r->status != 200) throw std::runtime_error("POST " + path + " failed");
}

void Simulator::ResetCounters() { Post("/sim/reset", "{}"); }

Pipeline::Pipeline(const std::filesystem::path& dir, std::string base_url)
    : dir_(dir), data_root_(dir / "data"), base_url_(std::move(base_url)) {
  std::filesystem::create_directories(data_root_);
}

void Pipeline::StartPersister(std::vector<std::string> extra) {
  if (extra.empty()) extra = persister_extra_;
  persister_extra_ = extra;
  std::vector<std::string> argv = {BinaryPath("persister/persister"),
                                   "--data-root",
                                   data_root_.string(),
                                   "--results-bind",
                                   results_addr(),
                                   "--control-bind",
                                   control_addr()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  persister_ = std::make_unique<ChildProcess>(argv, dir_ / "persister.log");
}

void Pipeline::StartFetchers(int n, std::vector<std::string> extra, const std::string& pool) {
  for (int i = 0; i < n; ++i) {
    fetchers_.push_back(nullptr);
    fetcher_flags_.resize(fetchers_.size());
    fetcher_flags_.back() = {pool, extra};
    RestartFetcher(fetchers_.size() - 1);
  }
}

void Pipeline::RestartFetcher(size_t i) {
  const FetcherFlags& flags = fetcher_flags_.at(i);
  std::vector<std::string> argv = {BinaryPath("fetcher/fetcher"),
                                   "--planner",
                                   jobs_addr(flags.pool),
                                   "--persister",
                                   results_addr(),
                                   "--base-url",
                                   base_url_,
                                   "--rate-state",
                                   (dir_ / "rate.state").string()};
  argv.insert(argv.end(), flags.extra.begin(), flags.extra.end());
  fetchers_.at(i) = std::make_unique<ChildProcess>(
      argv, dir_ / ("fetcher-" + std::to_string(fetcher_starts_++) + ".log"));
}

void Pipeline::KillFetcher(size_t i) {
  fetchers_.at(i)->Signal(SIGKILL);
  fetchers_.at(i)->Wait(30000);
}

void Pipeline::KillPersister() {
  persister_->Signal(SIGKILL);
  persister_->Wait(30000);
}

std::unique_ptr<ChildProcess> Pipeline::StartPlanner(std::vector<std::string> flags, bool once,
                                                     const std::string& pool) {
  // The planner shares the fetchers' weight budget (their --rate-state), never the host's.
  std::vector<std::string> argv = {BinaryPath("planner/planner"),
                                   "--base-url",
                                   base_url_,
                                   "--jobs-bind",
                                   jobs_addr(pool),
                                   "--persister",
                                   control_addr(),
                                   "--rate-state",
                                   (dir_ / "rate.state").string()};
  if (once) argv.push_back("--once");
  argv.insert(argv.end(), flags.begin(), flags.end());
  return std::make_unique<ChildProcess>(
      argv, dir_ / ("planner-" + std::to_string(planner_runs_++) + ".log"));
}

int Pipeline::RunPlannerOnce(std::vector<std::string> flags, int timeout_ms) {
  auto planner = StartPlanner(std::move(flags));
  auto st = planner->Wait(timeout_ms);
  return st ? *st : -1;
}

bool Pipeline::StopAll() {
  bool ok = true;
  for (auto& f : fetchers_) {
    if (f) f->Signal(SIGTERM);
  }
  for (auto& f : fetchers_) {
    if (!f) continue;
    auto st = f->Wait(30000);
    ok = ok && st && *st == 0;
  }
  fetchers_.clear();
  fetcher_flags_.clear();
  if (persister_) {
    persister_->Signal(SIGTERM);
    auto st = persister_->Wait(60000);
    ok = ok && st && *st == 0;
  }
  return ok;
}

std::string Pipeline::Logs() const {
  std::string out;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    if (e.path().extension() == ".log") {
      out += "==== " + e.path().filename().string() + "\n" + ReadLog(e.path()) + "\n";
    }
  }
  return out;
}

}  // namespace qlir::testing
