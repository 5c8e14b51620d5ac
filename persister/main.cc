// persister: the only process that writes under a data root (persister_server.h tells what an
// acknowledgement guarantees). Parses flags, takes the data-root lock, builds the store and the
// sockets, and serves until SIGTERM/SIGINT; then flushes. Exit codes (common/exit_codes.h):
//   0   stopped by SIGTERM/SIGINT after the final flush;
//   1   the final manifest write failed (the response files are safe);
//   64  bad flags;
//   69  cannot start: the data root is taken by another persister, a socket cannot be bound, a
//       CURVE key cannot be read, --state names the other kind of state than the root keeps,
//       the state database cannot be opened.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/data_root.h"
#include "common/data_root_lock.h"
#include "common/exit_codes.h"
#include "common/log.h"
#include "common/signals.h"
#include "persister/disk.h"
#include "persister/json_manifest_store.h"
#include "persister/options.h"
#include "persister/persister_server.h"
#include "persister/sqlite_manifest_store.h"

int main(int argc, char** argv) {
  using namespace qlir;
  using namespace qlir::persister;
  SetLogProcessWithPid("persister");
  auto options = ParseOptions(std::vector<std::string>(argv + 1, argv + argc));
  if (!options) {
    std::fprintf(stderr, "persister: %s\n%s", options.error().c_str(), Usage().c_str());
    return kExitUsage;
  }
  if (options->help) {
    std::fputs(Usage().c_str(), stdout);
    return kExitDone;
  }
  if (options->verbose) SetLogLevel(LogLevel::kDebug);
  if (options->log_json) SetLogJson(true);

  auto curve_setup = curve::LoadSetup(options->curve, curve::Role::kServer);
  if (!curve_setup) {
    LogError(curve_setup.error());
    return kExitCannotStart;
  }
  options->server.curve = *curve_setup;
  auto root = ResolveDataRoot(options->data_root);
  if (!root) {
    LogError(root.error());
    return kExitUsage;
  }
  if (options->check_state) {
    auto backend = ResolveState(options->state, *root);
    if (!backend) {
      LogError(backend.error());
      return kExitCannotStart;
    }
    std::printf("%s\n", std::string(StateBackendName(*backend)).c_str());
    return kExitDone;
  }
  // The lock comes before anything that reads or writes under the root.
  auto lock = DataRootLock::Acquire(*root);
  if (!lock) {
    LogError(lock.error());
    return kExitCannotStart;
  }
  options->server.data_root = *root;
  // Under the lock: no migration runs now (qlir-status migrate takes the same lock).
  auto backend = ResolveState(options->state, *root);
  if (!backend) {
    LogError(backend.error());
    return kExitCannotStart;
  }

  // Before any thread exists (ours, ZeroMQ's): the signals then reach only the signalfd that
  // the server polls.
  auto signal_fd = BlockStopSignals();
  if (!signal_fd) {
    LogError(signal_fd.error());
    return kExitCannotStart;
  }
  options->server.stop_fd = *signal_fd;
  std::unique_ptr<ManifestStore> store;
  if (*backend == StateBackend::kSqlite) {
    SqliteStoreOptions so;
    so.commit_every = options->store.flush_every;
    so.commit_ms = options->store.flush_ms;
    so.verify = options->store.verify;
    auto opened = SqliteManifestStore::Open(*root, so, RealDisk());
    if (!opened) {
      LogError("cannot open the state database: " + opened.error());
      return kExitCannotStart;
    }
    store = std::move(*opened);
  } else {
    store = std::make_unique<JsonManifestStore>(*root, options->store, RealDisk());
  }
  LogInfo("state: " + std::string(StateBackendName(*backend)) + " (" +
          (*backend == StateBackend::kSqlite ? (*root / kStateDbName).string()
                                             : std::string("manifest.json per series")) +
          ")");
  zmq::context_t context(1);
  PersisterServer server(options->server, &context, store.get(), RealDisk());
  if (Status s = server.Bind(); !s.ok()) {
    LogError(s.message());
    return kExitCannotStart;
  }
  const Status s = server.Run();
  if (!s.ok()) {
    LogError("exiting after an error: " + s.message());
    return kExitInternal;
  }
  return kExitDone;
}
