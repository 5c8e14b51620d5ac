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
  --flush-every N            rewrite a manifest after N updates (default 1000; grows with size)
  --flush-ms MS              or after MS milliseconds (default 2000; grows with size)
  --no-adaptive-flush        keep N and MS fixed whatever the manifest's size
  --verify-responses MODE    at load, check that listed files exist (exists), are framed whole
                             (quick, default: opens each) or decode and match their digest
                             (full: reads each)
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
  --verbose                  debug lines
  --log-json                 log lines as JSON objects
Flags take "--flag value" or "--flag=value".
)";
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
  f.Value("verify-responses", [&](const std::string& v) -> Status {
    if (v == "exists") {
      o.store.verify = VerifyResponses::kExists;
    } else if (v == "quick") {
      o.store.verify = VerifyResponses::kQuick;
    } else if (v == "full") {
      o.store.verify = VerifyResponses::kFull;
    } else {
      return Status::Error("flag --verify-responses: '" + v + "' is not exists, quick or full");
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
