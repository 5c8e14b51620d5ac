// The persister's command-line flags (main.cc). Parsing never exits: errors are values naming
// the flag.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/curve.h"
#include "common/status.h"
#include "persister/json_manifest_store.h"
#include "persister/persister_server.h"

namespace qlir::persister {

struct Options {
  std::optional<std::string> data_root;  // --data-root; else $QLIR_DATA_ROOT, else ~/qlir_data
  ServerOptions server;                  // --results-bind, --control-bind, --write-threads,
                                         // --stats-file, --confirm-holes-after-ms (curve and
                                         // data_root filled by main)
  JsonStoreOptions store;                // --flush-every, --flush-ms, --no-adaptive-flush,
                                         // --verify-responses
  curve::Flags curve;                    // --curve-secret-key, --curve-allow
  bool verbose = false;                  // --verbose
  bool log_json = false;                 // --log-json
  bool help = false;                     // --help, -h
};

// Parses argv[1..]. Accepts "--flag value" and "--flag=value".
Result<Options> ParseOptions(const std::vector<std::string>& args);
std::string Usage();

}  // namespace qlir::persister
