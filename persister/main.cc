// persister: the only process that writes under a data root. Parses flags, takes the data-root
// lock, builds the store and the sockets, and runs the server until SIGTERM/SIGINT; then flushes
// and exits 0. Exit codes: 0 clean stop, 1 runtime error (lock held, bind failed, final flush
// failed), 2 bad usage. See persister_server.h for the durability guarantee.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>

#include <zmq.hpp>

#include "common/curve.h"
#include "common/data_root.h"
#include "persister/data_root_lock.h"
#include "persister/disk.h"
#include "persister/json_manifest_store.h"
#include "common/log.h"
#include "persister/persister_server.h"

namespace {

volatile sig_atomic_t g_stop_fd = -1;

void OnSignal(int) {
  const int fd = g_stop_fd;
  if (fd >= 0) {
    ssize_t n = ::write(fd, "x", 1);
    (void)n;
  }
}

constexpr const char* kUsage =
    "usage: persister [--data-root DIR] [--results-bind ADDR] [--control-bind ADDR]\n"
    "                 [--flush-every N] [--flush-ms MS] [--no-adaptive-flush]\n"
    "                 [--verify-responses exists|quick|full] [--write-threads N] [--stats-file PATH]\n"
    "                 [--verbose] [--log-json]\n"
    "                 [--curve-secret-key FILE --curve-allow DIR|FILE]\n"
    "  --data-root         data root (else $QLIR_DATA_ROOT, else ~/qlir_data)\n"
    "  --results-bind      PULL socket for FETCH_RESULT (default tcp://127.0.0.1:5702)\n"
    "  --control-bind      ROUTER socket for HELLO/STATUS/MARK_PENDING (default tcp://127.0.0.1:5703)\n"
    "  --flush-every       rewrite a manifest after N updates (default 1000; grows with size)\n"
    "  --flush-ms          or after MS milliseconds (default 2000; grows with size)\n"
    "  --no-adaptive-flush keep N and MS fixed whatever the manifest's size\n"
    "  --verify-responses  at load, check that listed files exist (exists), are framed whole\n"
    "                      (quick, default: opens each) or decode (full: reads each)\n"
    "  --write-threads N   response files written at once (default 4; 1: one by one)\n"
    "  --stats-file        rewrite this JSON file with our counters every 2 s\n"
    "                      (qlir-status --stats-dir shows them)\n"
    "  --curve-secret-key  the data server's CURVE key pair (NAME.key_secret, scripts/qlir-keygen):\n"
    "                      encrypts both sockets; control then lets in only this key pair\n"
    "  --curve-allow       fetcher public keys let in on results: a directory of NAME.key files\n"
    "                      or one file of keys; others are refused and logged\n";

bool ParseInt(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  char* end = nullptr;
  const std::string str(s);
  long long v = std::strtoll(str.c_str(), &end, 10);
  if (*end != '\0' || v < 0) return false;
  *out = v;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace qlir;
  using namespace qlir::persister;
  SetLogProcessWithPid("persister");

  std::optional<std::string> data_root;
  ServerOptions server_options;
  server_options.write_threads = 4;
  JsonStoreOptions store_options;
  curve::Flags curve_flags;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    auto value = [&](std::string_view name) -> std::optional<std::string> {
      if (i + 1 >= argc) {
        std::cerr << "persister: " << name << " needs a value\n" << kUsage;
        return std::nullopt;
      }
      return std::string(argv[++i]);
    };
    std::optional<std::string> v;
    if (arg == "--help" || arg == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (arg == "--data-root") {
      if (!(v = value(arg))) return 2;
      data_root = *v;
    } else if (arg == "--results-bind") {
      if (!(v = value(arg))) return 2;
      server_options.results_bind = *v;
    } else if (arg == "--control-bind") {
      if (!(v = value(arg))) return 2;
      server_options.control_bind = *v;
    } else if (arg == "--curve-secret-key") {
      if (!(v = value(arg))) return 2;
      curve_flags.secret_key_file = *v;
    } else if (arg == "--curve-allow") {
      if (!(v = value(arg))) return 2;
      curve_flags.allow_path = *v;
    } else if (arg == "--flush-every" || arg == "--flush-ms") {
      if (!(v = value(arg))) return 2;
      int64_t n = 0;
      if (!ParseInt(*v, &n)) {
        std::cerr << "persister: " << arg << " wants a non-negative integer, got '" << *v << "'\n";
        return 2;
      }
      (arg == "--flush-every" ? store_options.flush_every : store_options.flush_ms) = n;
    } else if (arg == "--no-adaptive-flush") {
      store_options.adaptive = false;
    } else if (arg == "--verify-responses") {
      if (!(v = value(arg))) return 2;
      if (*v == "exists") {
        store_options.verify = VerifyResponses::kExists;
      } else if (*v == "quick") {
        store_options.verify = VerifyResponses::kQuick;
      } else if (*v == "full") {
        store_options.verify = VerifyResponses::kFull;
      } else {
        std::cerr << "persister: --verify-responses wants exists, quick or full\n";
        return 2;
      }
    } else if (arg == "--write-threads") {
      if (!(v = value(arg))) return 2;
      int64_t n = 0;
      if (!ParseInt(*v, &n) || n < 1 || n > 64) {
        std::cerr << "persister: --write-threads wants 1..64, got '" << *v << "'\n";
        return 2;
      }
      server_options.write_threads = static_cast<int>(n);
    } else if (arg == "--stats-file") {
      if (!(v = value(arg))) return 2;
      server_options.stats_file = *v;
    } else if (arg == "--verbose") {
      SetLogLevel(LogLevel::kDebug);
    } else if (arg == "--log-json") {
      SetLogJson(true);
    } else {
      std::cerr << "persister: unknown argument '" << arg << "'\n" << kUsage;
      return 2;
    }
  }

  auto curve_setup = curve::LoadSetup(curve_flags, curve::Role::kServer);
  if (!curve_setup) {
    LogError(curve_setup.error());
    return 1;
  }
  server_options.curve = *curve_setup;

  auto root = ResolveDataRoot(data_root);
  if (!root) {
    LogError(root.error());
    return 2;
  }
  // The lock comes before anything that reads or writes under the root.
  auto lock = DataRootLock::Acquire(*root);
  if (!lock) {
    LogError(lock.error());
    return 1;
  }
  server_options.data_root = *root;

  int rc = 0;
  {
    zmq::context_t context(1);
    JsonManifestStore store(*root, store_options, RealDisk());
    PersisterServer server(server_options, &context, &store, RealDisk());
    if (Status s = server.Bind(); !s.ok()) {
      LogError(s.message());
      return 1;
    }
    g_stop_fd = server.stop_fd();
    struct sigaction sa = {};
    sa.sa_handler = OnSignal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    ::signal(SIGPIPE, SIG_IGN);

    Status s = server.Run();
    g_stop_fd = -1;
    if (!s.ok()) {
      LogError("exiting after an error: " + s.message());
      rc = 1;
    }
  }
  return rc;
}
