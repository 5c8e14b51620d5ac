// The persister's command-line flags (main.cc). Parsing never exits: errors are values naming
// the flag.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "common/curve.h"
#include "common/data_root.h"
#include "common/status.h"
#include "persister/json_manifest_store.h"
#include "persister/persister_server.h"

namespace qlir::persister {

// --state: where the data root keeps its manifests (common/data_root.h, StateBackend).
enum class StateChoice {
  kAuto,    // what the root has: state.sqlite3 when it exists, else manifest.json files
  kJson,    // manifest.json files; refused on a root with state.sqlite3
  kSqlite,  // state.sqlite3 (made when missing); refused on a root with manifest.json files
};

struct Options {
  std::optional<std::string> data_root;    // --data-root; else $QLIR_DATA_ROOT, else ~/qlir_data
  StateChoice state = StateChoice::kAuto;  // --state
  ServerOptions server;                    // --results-bind, --control-bind, --write-threads,
                                           // --stats-file, --confirm-holes-after-ms (curve and
                                           // data_root filled by main)
  JsonStoreOptions store;                  // --flush-every, --flush-ms, --no-adaptive-flush,
                                           // --verify-responses, --max-cached-slices
  curve::Flags curve;                      // --curve-secret-key, --curve-allow
  bool verbose = false;                    // --verbose
  bool log_json = false;                   // --log-json
  bool help = false;                       // --help, -h
  bool check_state = false;                // --check-state
};

// The backend to open on `root` for `choice`: an error (the persister cannot start) when the
// root keeps the other kind of state, naming the command that converts it.
Result<StateBackend> ResolveState(StateChoice choice, const std::filesystem::path& root);

// Parses argv[1..]. Accepts "--flag value" and "--flag=value".
Result<Options> ParseOptions(const std::vector<std::string>& args);
std::string Usage();

}  // namespace qlir::persister
