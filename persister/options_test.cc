#include "persister/options.h"

#include <catch2/catch.hpp>
#include <fstream>

#include "tests/test_util.h"

namespace qlir::persister {
namespace {

std::string Err(const std::vector<std::string>& args) {
  auto o = ParseOptions(args);
  REQUIRE_FALSE(o.ok());
  return o.error();
}

}  // namespace

TEST_CASE("persister options: defaults", "[options]") {
  auto o = ParseOptions({});
  REQUIRE(o.ok());
  CHECK_FALSE(o->data_root);
  CHECK(o->server.results_bind == "tcp://127.0.0.1:5702");
  CHECK(o->server.control_bind == "tcp://127.0.0.1:5703");
  CHECK(o->server.write_threads == 4);
  CHECK(o->server.confirm_holes_after_ms == 600000);
  CHECK(o->server.stats_file.empty());
  CHECK(o->store.flush_every == 1000);
  CHECK(o->store.flush_ms == 2000);
  CHECK(o->store.adaptive);
  CHECK(o->store.verify == VerifyResponses::kAuto);
  CHECK_FALSE(o->curve.any());
  CHECK_FALSE(o->verbose);
  CHECK_FALSE(o->log_json);
  CHECK_FALSE(o->help);
}

TEST_CASE("persister options: every flag, as --flag value and as --flag=value", "[options]") {
  const std::vector<std::string> spaced = {"--data-root",
                                           "/d",
                                           "--results-bind",
                                           "ipc:///r",
                                           "--control-bind",
                                           "ipc:///c",
                                           "--flush-every",
                                           "7",
                                           "--flush-ms",
                                           "0",
                                           "--no-adaptive-flush",
                                           "--verify-responses",
                                           "full",
                                           "--write-threads",
                                           "1",
                                           "--confirm-holes-after-ms",
                                           "0",
                                           "--stats-file",
                                           "/s.json",
                                           "--curve-secret-key",
                                           "/k/server.key_secret",
                                           "--curve-allow",
                                           "/k/fetchers",
                                           "--verbose",
                                           "--log-json"};
  const std::vector<std::string> joined = {"--data-root=/d",
                                           "--results-bind=ipc:///r",
                                           "--control-bind=ipc:///c",
                                           "--flush-every=7",
                                           "--flush-ms=0",
                                           "--no-adaptive-flush",
                                           "--verify-responses=full",
                                           "--write-threads=1",
                                           "--confirm-holes-after-ms=0",
                                           "--stats-file=/s.json",
                                           "--curve-secret-key=/k/server.key_secret",
                                           "--curve-allow=/k/fetchers",
                                           "--verbose",
                                           "--log-json"};
  for (const auto& args : {spaced, joined}) {
    auto o = ParseOptions(args);
    REQUIRE(o.ok());
    CHECK(*o->data_root == "/d");
    CHECK(o->server.results_bind == "ipc:///r");
    CHECK(o->server.control_bind == "ipc:///c");
    CHECK(o->store.flush_every == 7);
    CHECK(o->store.flush_ms == 0);
    CHECK_FALSE(o->store.adaptive);
    CHECK(o->store.verify == VerifyResponses::kFull);
    CHECK(o->server.write_threads == 1);
    CHECK(o->server.confirm_holes_after_ms == 0);
    CHECK(o->server.stats_file == "/s.json");
    CHECK(o->curve.secret_key_file == "/k/server.key_secret");
    CHECK(o->curve.allow_path == "/k/fetchers");
    CHECK(o->verbose);
    CHECK(o->log_json);
  }
  CHECK(ParseOptions({"--verify-responses", "exists"})->store.verify == VerifyResponses::kExists);
  CHECK(ParseOptions({"--verify-responses", "auto"})->store.verify == VerifyResponses::kAuto);
  CHECK(ParseOptions({"--help"})->help);
  CHECK(ParseOptions({"-h"})->help);
}

TEST_CASE("persister options: bad flags are errors naming the flag", "[options]") {
  CHECK(Err({"--flush-every", "-1"}).find("--flush-every") != std::string::npos);
  CHECK(Err({"--flush-ms", "soon"}).find("--flush-ms") != std::string::npos);
  CHECK(Err({"--write-threads", "0"}).find("--write-threads") != std::string::npos);
  CHECK(Err({"--write-threads=65"}).find("--write-threads") != std::string::npos);
  CHECK(Err({"--confirm-holes-after-ms", "-1"}).find("--confirm-holes-after-ms") !=
        std::string::npos);
  CHECK(Err({"--verify-responses", "some"}).find("--verify-responses") != std::string::npos);
  CHECK(Err({"--data-root"}).find("needs a value") != std::string::npos);
  CHECK(Err({"--data-root="}).find("--data-root") != std::string::npos);
  CHECK(Err({"--verbose=yes"}).find("--verbose") != std::string::npos);
  CHECK(Err({"--bogus"}).find("--bogus") != std::string::npos);
  CHECK(Err({"stray"}).find("stray") != std::string::npos);
  CHECK(Err({"--curve-secret-key", "/k/s"}).find("--curve-allow") != std::string::npos);
  CHECK(Err({"--curve-allow", "/k"}).find("--curve-secret-key") != std::string::npos);
  CHECK(Err({"--curve-server-key", "/k/server.key"}).find("--curve-server-key") !=
        std::string::npos);  // a client's flag
}

}  // namespace qlir::persister

namespace qlir::persister {

TEST_CASE("persister options: --state, --max-cached-slices, --check-state", "[options]") {
  auto d = ParseOptions({});
  REQUIRE(d.ok());
  CHECK(d->state == StateChoice::kAuto);
  CHECK(d->store.max_cached_slices == 2000000);
  CHECK_FALSE(d->check_state);
  auto o = ParseOptions({"--state", "sqlite", "--max-cached-slices=5000", "--check-state"});
  REQUIRE(o.ok());
  CHECK(o->state == StateChoice::kSqlite);
  CHECK(o->store.max_cached_slices == 5000);
  CHECK(o->check_state);
  CHECK(ParseOptions({"--state=json"})->state == StateChoice::kJson);
  CHECK(ParseOptions({"--state=auto"})->state == StateChoice::kAuto);
  auto bad = ParseOptions({"--state", "postgres"});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error() == "flag --state: 'postgres' is not auto, json or sqlite");
  CHECK_FALSE(ParseOptions({"--max-cached-slices", "10"}).ok());
}

TEST_CASE("persister options: --state against what the data root keeps", "[options]") {
  qlir::testing::ScratchDir root;
  // A new root: json unless told.
  CHECK(*ResolveState(StateChoice::kAuto, root.path()) == StateBackend::kJson);
  CHECK(*ResolveState(StateChoice::kSqlite, root.path()) == StateBackend::kSqlite);
  // A root with manifests: sqlite is refused, naming the migration.
  const auto dir = root.path() / "binance/klines/raw/BTCUSDT/1m";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "manifest.json") << "{}";
  CHECK(*ResolveState(StateChoice::kAuto, root.path()) == StateBackend::kJson);
  auto refused = ResolveState(StateChoice::kSqlite, root.path());
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().find("qlir-status migrate --to sqlite") != std::string::npos);
  // A root with the database: auto follows it, json is refused.
  std::ofstream(root.path() / "state.sqlite3") << "";
  CHECK(*ResolveState(StateChoice::kAuto, root.path()) == StateBackend::kSqlite);
  CHECK(*ResolveState(StateChoice::kSqlite, root.path()) == StateBackend::kSqlite);
  auto json = ResolveState(StateChoice::kJson, root.path());
  REQUIRE_FALSE(json.ok());
  CHECK(json.error().find("qlir-status migrate --to json") != std::string::npos);
}

}  // namespace qlir::persister
