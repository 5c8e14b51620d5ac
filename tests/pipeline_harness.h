// End-to-end harness: starts the real exchange simulator, persister, fetchers and planner as
// child processes wired over ipc:// sockets in a scratch directory, and reads back what they did.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "tests/process.h"

namespace qlir::testing {

class Simulator {
 public:
  // extra_args: e.g. {"--symbol", "BTCUSDT,listing=..."}.
  Simulator(const std::filesystem::path& dir, std::vector<std::string> extra_args);
  const std::string& base_url() const { return base_url_; }
  int port() const { return port_; }
  nlohmann::json Counters();
  void ResetCounters();
  void Post(const std::string& path, const std::string& body);
  ChildProcess& process() { return *proc_; }

 private:
  std::unique_ptr<ChildProcess> proc_;
  std::string base_url_;
  int port_ = 0;
};

// The pipeline's three kinds of process, each started on demand.
class Pipeline {
 public:
  Pipeline(const std::filesystem::path& dir, std::string base_url);
  const std::filesystem::path& data_root() const { return data_root_; }
  // With no flags, the flags of the previous start.
  void StartPersister(std::vector<std::string> extra = {});
  // Several endpoints run as one planner each with its own fetchers (as scripts/start-data-server
  // does): a `pool` names the jobs socket a planner binds and its fetchers connect to ("" is the
  // one of a single-endpoint run). Every fetcher and planner shares one --rate-state.
  void StartFetchers(int n, std::vector<std::string> extra = {}, const std::string& pool = "");
  // Runs a planner with --once and the given flags; returns its exit status (or -1 on timeout).
  int RunPlannerOnce(std::vector<std::string> flags, int timeout_ms = 240000);
  // Starts a planner (with --once when `once`) and returns it running; its log is planner-N.log.
  std::unique_ptr<ChildProcess> StartPlanner(std::vector<std::string> flags, bool once = true,
                                             const std::string& pool = "");
  // SIGKILLs fetcher i and waits for it; RestartFetcher starts a new one in its place with the
  // flags of StartFetchers.
  void KillFetcher(size_t i);
  void RestartFetcher(size_t i);
  // SIGKILLs the persister and waits for it; StartPersister() again restarts it (same flags
  // when called with none).
  void KillPersister();
  const std::filesystem::path& dir() const { return dir_; }
  ChildProcess& persister() { return *persister_; }
  std::vector<std::unique_ptr<ChildProcess>>& fetchers() { return fetchers_; }
  // SIGTERM to fetchers then persister; returns true when all exited 0.
  bool StopAll();
  std::string Logs() const;  // tails of every log, for failure messages
  std::string jobs_addr(const std::string& pool = "") const {
    return "ipc://" + (dir_ / (pool.empty() ? "jobs.ipc" : "jobs-" + pool + ".ipc")).string();
  }
  std::string results_addr() const { return "ipc://" + (dir_ / "results.ipc").string(); }
  std::string control_addr() const { return "ipc://" + (dir_ / "control.ipc").string(); }

 private:
  std::filesystem::path dir_;
  std::filesystem::path data_root_;
  std::string base_url_;
  std::unique_ptr<ChildProcess> persister_;
  std::vector<std::string> persister_extra_;
  std::vector<std::unique_ptr<ChildProcess>> fetchers_;
  struct FetcherFlags {
    std::string pool;
    std::vector<std::string> extra;
  };
  std::vector<FetcherFlags> fetcher_flags_;  // per fetcher index
  int planner_runs_ = 0;
  int fetcher_starts_ = 0;
};

}  // namespace qlir::testing
