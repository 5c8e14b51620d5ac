#include "persister/options.h"

#include <limits>

#include "common/flags.h"

namespace qlir::persister {

std::string Usage() {
  return R"(usage: persister [flags]
  --data-root DIR            data root (else $QLIR_DATA_ROOT, else ~/qlir_data)
  --results-bind ADDR        PULL socket for FETCH_RESULT (default tcp://127.0.0.1:5702)
  --control-bind ADDR        ROUTER socket for HELLO/STATUS/MARK_PENDING
                             (default tcp://127.0.0.1:5703)
  --state auto|json|sqlite   where the root keeps its manifests: manifest.json per series
                             (json) or one state.sqlite3 (sqlite); auto (default) uses what
                             the root has (state.sqlite3 when present), json for a new root.
                             A root holding the other kind is refused (qlir-status migrate)
  --flush-every N            rewrite a manifest after N updates (default 1000; grows with
                             size); sqlite: commit after N updates
  --flush-ms MS              or after MS milliseconds (default 2000; grows with size)
  --max-cached-slices N      json: keep at most about N slices of manifests in memory; written
                             series used least recently are dropped and read again when asked
                             for (default 2000000: a persister of about 1.8 GB)
  --no-adaptive-flush        keep N and MS fixed whatever the manifest's size
  --verify-responses MODE    at load, check that listed files exist (exists: one directory
                             listing), are framed whole (quick: opens each) or decode and
                             match their digest (full: reads each); auto (default): quick for
                             a series whose state may lag its files (an unclean stop), exists
                             for the others
  --write-threads N          response files written at once (default 4; 1: one by one)
  --confirm-holes-after-ms MS
                             fetch an ok slice with holes (candles missing inside its window)
                             once more this long after it was stored, and mark its holes
                             confirmed when the exchange answers the same (default 600000,
                             10 minutes; 0: never)
  --stats-file PATH          rewrite this JSON file with our counters every 2 s
                             (qlir-status --stats-dir shows them)
  --curve-secret-key FILE    the data server's CURVE key pair (NAME.key_secret,
                             scripts/qlir-keygen): encrypts both sockets; control then lets in
                             only this key pair
  --curve-allow DIR|FILE     fetcher public keys let in on results: a directory of NAME.key
                             files or one file of keys; others are refused and logged
  --check-state              print the state the root would be opened with (json or sqlite)
                             and exit: 0, or 69 when --state names the other kind
  --verbose                  debug lines
  --log-json                 log lines as JSON objects
Flags take "--flag value" or "--flag=value".
)";
}

Result<StateBackend> ResolveState(StateChoice choice, const std::filesystem::path& root) {
  const StateBackend has = DetectStateBackend(root);
  if (choice == StateChoice::kAuto) return has;
  if (choice == StateChoice::kJson) {
    if (has == StateBackend::kSqlite) {
      return Status::Error("--state json: " + (root / kStateDbName).string() +
                           " holds this root's state; run 'qlir-status migrate --to json' first, "
                           "or start with --state sqlite");
    }
    return StateBackend::kJson;
  }
  if (has == StateBackend::kJson) {
    // A root with manifests but no database: starting a new database would forget what only
    // the manifests know (failures, HTTP statuses), so convert it instead.
    auto series = ListSeries(root);
    if (series) {
      for (const SeriesLocation& loc : *series) {
        std::error_code ec;
        if (std::filesystem::exists(loc.dir / kManifestName, ec)) {
          return Status::Error("--state sqlite: " + root.string() +
                               " keeps its state in manifest.json files (" +
                               (loc.dir / kManifestName).string() +
                               "...); run 'qlir-status migrate --to sqlite' first, or start "
                               "with --state json");
        }
      }
    }
  }
  return StateBackend::kSqlite;
}

Result<Options> ParseOptions(const std::vector<std::string>& args) {
  Options o;
  o.server.write_threads = 4;
  o.server.confirm_holes_after_ms = 600000;
  bool no_adaptive = false;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  FlagSet f;
  f.Switch("help", &o.help, "-h");
  f.Switch("verbose", &o.verbose);
  f.Switch("log-json", &o.log_json);
  f.Switch("check-state", &o.check_state);
  f.Switch("no-adaptive-flush", &no_adaptive);
  f.Value("data-root", [&](const std::string& v) -> Status {
    if (v.empty()) return Status::Error("flag --data-root: empty value");
    o.data_root = v;
    return Status::Ok();
  });
  f.String("results-bind", &o.server.results_bind);
  f.String("control-bind", &o.server.control_bind);
  f.String("stats-file", &o.server.stats_file);
  f.String("curve-secret-key", &o.curve.secret_key_file);
  f.String("curve-allow", &o.curve.allow_path);
  f.Int("flush-every", &o.store.flush_every, 0, kMax);
  f.Int("flush-ms", &o.store.flush_ms, 0, kMax);
  f.Int("write-threads", &o.server.write_threads, 1, 64);
  f.Int("confirm-holes-after-ms", &o.server.confirm_holes_after_ms, 0, kMax);
  f.Int("max-cached-slices", &o.store.max_cached_slices, 1000, kMax);
  f.Value("state", [&](const std::string& v) -> Status {
    if (v == "auto") {
      o.state = StateChoice::kAuto;
    } else if (v == "json") {
      o.state = StateChoice::kJson;
    } else if (v == "sqlite") {
      o.state = StateChoice::kSqlite;
    } else {
      return Status::Error("flag --state: '" + v + "' is not auto, json or sqlite");
    }
    return Status::Ok();
  });
  f.Value("verify-responses", [&](const std::string& v) -> Status {
    if (v == "auto") {
      o.store.verify = VerifyResponses::kAuto;
    } else if (v == "exists") {
      o.store.verify = VerifyResponses::kExists;
    } else if (v == "quick") {
      o.store.verify = VerifyResponses::kQuick;
    } else if (v == "full") {
      o.store.verify = VerifyResponses::kFull;
    } else {
      return Status::Error("flag --verify-responses: '" + v +
                           "' is not auto, exists, quick or full");
    }
    return Status::Ok();
  });
  QLIR_RETURN_IF_ERROR(f.Parse(args));
  if (no_adaptive) o.store.adaptive = false;
  if (o.help) return o;
  if (o.curve.secret_key_file.empty() != o.curve.allow_path.empty()) {
    return Status::Error("flags --curve-secret-key and --curve-allow go together");
  }
  return o;
}

}  // namespace qlir::persister
