// The qlir-status command line (tools/qlir-status/README.md):
//   qlir-status [--data-root DIR] [--json] [--symbol S] [--interval I] [--stats-dir DIR]
//   qlir-status verify [--data-root DIR] [--json] [--symbol S] [--interval I] [--quick]
//                      [--repair [--persister tcp://HOST:5703] [--timeout-ms N]
//                       [--curve-secret-key FILE [--curve-server-key FILE]]]
//   qlir-status holes [--data-root DIR] [--json] [--symbol S] [--interval I]
//   qlir-status reconcile [--data-root DIR] [--json] [--symbols A,B] [--interval 1m]
//                         [--start WHEN] [--end WHEN]
//   qlir-status migrate --to sqlite|json [--data-root DIR]
// Run() is everything main does but own the process: tests call it with string streams.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "common/data_root.h"
#include "common/exit_codes.h"
#include "common/status.h"

namespace qlir::status_tool {

// qlir-status's codes (tools/qlir-status/README.md, "Exit codes"). 0 and 64 are the common
// table's (common/exit_codes.h); 1 and 2 predate it and keep their meaning here because scripts
// (scripts/status) and tests rely on them: 1 is "problems found", not an internal error.
inline constexpr int kExitOk = qlir::kExitDone;  // status: nothing wrong; verify: clean
inline constexpr int kExitProblems = 1;          // a problem was found (reported on stdout)
inline constexpr int kExitError = 2;  // could not do the job: data root unreadable, repair failed
inline constexpr int kExitUsage = qlir::kExitUsage;  // bad command line (EX_USAGE)

struct Options {
  bool verify = false;
  bool holes = false;      // `qlir-status holes`: the ledger of the exchange's holes (holes.h)
  bool reconcile = false;  // `qlir-status reconcile`: candles against trades (reconcile.h)
  bool migrate = false;    // `qlir-status migrate --to B`: switch the state backend (migrate.h)
  std::optional<StateBackend> to;
  bool help = false;
  std::optional<std::string> data_root;
  bool json = false;
  std::optional<std::string> symbol;
  std::optional<std::string> interval;
  std::optional<std::string> stats_dir;  // the processes' counters (process_stats.h)
  // reconcile: --symbols A,B (also --symbol A), and candles opening in [--start, --end].
  std::vector<std::string> symbols;
  std::optional<int64_t> start_ms;
  std::optional<int64_t> end_ms;
  bool quick = false;  // verify: presence, sizes and framing only
  bool repair = false;
  std::optional<std::string> persister;
  int timeout_ms = 0;  // 0: kDefaultRepairTimeoutMs
  // --repair to a persister with CURVE: the data server's key pair (the persister's control
  // socket lets in only that one), and the persister's public key (default: the pair's own).
  std::optional<std::string> curve_secret_key;
  std::optional<std::string> curve_server_key;
};

// `args` excludes the program name. The error says what is wrong with which flag.
Result<Options> ParseArgs(const std::vector<std::string>& args);

std::string UsageText();

// Runs the command; reports go to `out`, errors to `err`. Returns the exit code.
int Run(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

}  // namespace qlir::status_tool
