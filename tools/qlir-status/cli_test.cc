// Runs the real qlir-status binary (fork/exec), against data roots built with the common codecs
// and, for --repair, a fake persister ROUTER served from the test thread.
#include "tools/qlir-status/cli.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/data_root_lock.h"
#include "common/json.h"
#include "common/wire.h"
#include "tools/qlir-status/migrate.h"
#include "tools/qlir-status/test_util.h"

namespace qlir::status_tool {
namespace {

using testing::kBase;
using testing::ScratchDir;
using testing::SeriesBuilder;
namespace fs = std::filesystem;

const char kBinary[] = QLIR_BINARY_DIR "/tools/qlir-status/qlir-status";

// A started qlir-status with stdout and stderr going to files in `dir`.
class Child {
 public:
  Child(const fs::path& dir, std::vector<std::string> args) : dir_(dir) {
    args.insert(args.begin(), kBinary);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string out = (dir_ / "stdout").string(), err = (dir_ / "stderr").string();
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      const int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      const int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (o < 0 || e < 0 || ::dup2(o, 1) < 0 || ::dup2(e, 2) < 0) ::_exit(127);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      Wait();
    }
  }
  // The exit code (128 + signal when killed). The binary bounds its own run time.
  int Wait() {
    if (!status_) {
      int st = 0;
      while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
      }
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    }
    return *status_;
  }
  std::string Out() const { return Read("stdout"); }
  std::string Err() const { return Read("stderr"); }

 private:
  std::string Read(const char* name) const {
    auto text = ReadFile(dir_ / name);
    return text ? *text : "";
  }
  fs::path dir_;
  pid_t pid_ = -1;
  std::optional<int> status_;
};

TEST_CASE("binary: bad flag exits 64 with a clear error", "[cli][binary]") {
  ScratchDir dir;
  Child c(dir.path(), {"--frobnicate"});
  CHECK(c.Wait() == kExitUsage);
  CHECK_THAT(c.Err(), Catch::Contains("unknown argument '--frobnicate'"));
  CHECK_THAT(c.Err(), Catch::Contains("usage: qlir-status"));
}

TEST_CASE("binary: status --json with one corrupt and one good series", "[cli][binary]") {
  ScratchDir dir;
  const fs::path root = dir.path() / "root";
  SeriesBuilder good(root, "ETHUSDT");
  good.Stored(kBase);
  good.Stored(kBase + 1);
  good.Write();
  SeriesBuilder bad(root, "BTCUSDT");
  testing::WriteRaw(bad.dir() / "manifest.json", "{\"version\":");
  Child c(dir.path(), {"--data-root", root.string(), "--json"});
  CHECK(c.Wait() == kExitProblems);
  auto j = nlohmann::json::parse(c.Out());
  REQUIRE(j["series"].size() == 2);
  CHECK(!j["series"][0]["manifest_error"].is_null());
  CHECK(j["series"][1]["ok"] == 2);
  CHECK(j["series"][1]["missing"] == 0);
}

TEST_CASE("binary: verify of a clean root exits 0, QLIR_DATA_ROOT is honoured", "[cli][binary]") {
  ScratchDir dir;
  const fs::path root = dir.path() / "root";
  SeriesBuilder b(root);
  b.Stored(kBase);
  b.Write();
  ::setenv("QLIR_DATA_ROOT", root.c_str(), 1);
  Child c(dir.path(), {"verify"});
  const int code = c.Wait();
  ::unsetenv("QLIR_DATA_ROOT");
  INFO(c.Out() << c.Err());
  CHECK(code == kExitOk);
  CHECK_THAT(c.Out(), Catch::Contains("1 series, 1 response files read, 0 problems"));
}

TEST_CASE("binary: verify --repair sends the bad keys to the persister", "[cli][binary]") {
  ScratchDir dir;
  const fs::path root = dir.path() / "root";
  SeriesBuilder b(root);
  b.Stored(kBase);
  b.Stored(kBase + 1);
  b.Stored(kBase + 2);
  b.manifest().slices[b.KeyText(kBase + 2)].last_ts = 1;  // count mismatch
  b.Write();
  testing::WriteRaw(b.ResponsePath(kBase + 1), "{\"meta\":{\"url\":\"");  // truncated
  SECTION("manifest.json") {}
  SECTION("state.sqlite3") {
    REQUIRE(Migrate(root, StateBackend::kSqlite).ok());
    REQUIRE(DetectStateBackend(root) == StateBackend::kSqlite);
  }

  zmq::context_t ctx;
  zmq::socket_t router(ctx, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.bind("tcp://127.0.0.1:*");
  const std::string endpoint = router.get(zmq::sockopt::last_endpoint);

  Child c(dir.path(), {"verify", "--data-root", root.string(), "--repair", "--persister", endpoint,
                       "--timeout-ms", "60000", "--json"});
  // Serve one MARK_PENDING in this thread; the poll bound only guards against a hang.
  zmq::pollitem_t items[] = {{router.handle(), 0, ZMQ_POLLIN, 0}};
  REQUIRE(zmq::poll(items, 1, std::chrono::seconds(60)) == 1);
  std::vector<zmq::message_t> frames;
  REQUIRE(zmq::recv_multipart(router, std::back_inserter(frames)));
  REQUIRE(frames.size() == 2);
  auto m = wire::Decode(frames[1].to_string_view());
  REQUIRE(m.ok());
  auto* mp = std::get_if<wire::MarkPending>(&*m);
  REQUIRE(mp != nullptr);
  CHECK(mp->endpoint == "klines");
  CHECK(mp->keys == std::vector<std::string>{b.KeyText(kBase + 1), b.KeyText(kBase + 2)});
  const std::string ack = wire::Encode(wire::Ack{mp->request_id, "", 2});
  router.send(frames[0], zmq::send_flags::sndmore);
  router.send(zmq::buffer(ack), zmq::send_flags::none);

  CHECK(c.Wait() == kExitProblems);  // problems were found (and handed to the persister)
  INFO(c.Out() << c.Err());
  auto j = nlohmann::json::parse(c.Out());
  CHECK(j["problems"].size() == 2);
  CHECK(j["repair"]["requested"] == 2);
  CHECK(j["repair"]["marked"] == 2);
  CHECK(j["repair"]["error"].is_null());
  // Read-only: the damaged file is still damaged.
  CHECK(*ReadFile(b.ResponsePath(kBase + 1)) == "{\"meta\":{\"url\":\"");
}

TEST_CASE("binary: verify --repair without a persister fails clearly", "[cli][binary]") {
  ScratchDir dir;
  const fs::path root = dir.path() / "root";
  SeriesBuilder b(root);
  b.Stored(kBase);
  b.Write();
  fs::remove(b.ResponsePath(kBase));
  std::string endpoint;
  {
    zmq::context_t ctx;
    zmq::socket_t s(ctx, zmq::socket_type::router);
    s.set(zmq::sockopt::linger, 0);
    s.bind("tcp://127.0.0.1:*");
    endpoint = s.get(zmq::sockopt::last_endpoint);
  }
  Child c(dir.path(), {"verify", "--data-root", root.string(), "--repair", "--persister", endpoint,
                       "--timeout-ms", "200"});
  CHECK(c.Wait() == kExitError);
  INFO(c.Out() << c.Err());
  CHECK_THAT(c.Err(), Catch::Contains("repair failed: persister not reachable at " + endpoint));
  CHECK_THAT(c.Out(), Catch::Contains("file-missing"));
  CHECK_THAT(c.Out(), Catch::Contains("repair: FAILED"));
}

TEST_CASE("binary: migrate both ways, and exit 69 while the data root is held",
          "[cli][binary][migrate]") {
  ScratchDir dir;
  const fs::path root = dir.path() / "root";
  SeriesBuilder b(root);
  b.Stored(kBase);
  b.Failed(kBase + 1, 500, "HTTP 500");
  b.Write();
  const std::string manifest = *ReadFile(b.dir() / "manifest.json");
  {
    auto lock = DataRootLock::Acquire(root);
    REQUIRE(lock.ok());
    Child c(dir.path(), {"migrate", "--to", "sqlite", "--data-root", root.string()});
    CHECK(c.Wait() == kExitCannotStart);
    CHECK_THAT(c.Err(), Catch::Contains("another persister is running on data root"));
    CHECK(DetectStateBackend(root) == StateBackend::kJson);
  }
  {
    Child c(dir.path(), {"migrate", "--to", "sqlite", "--data-root", root.string()});
    CHECK(c.Wait() == kExitOk);
    CHECK_THAT(c.Out(), Catch::Contains("is now sqlite: 1 series, 2 slices moved from json"));
    CHECK_FALSE(fs::exists(b.dir() / "manifest.json"));
  }
  {
    Child c(dir.path(), {"--data-root", root.string(), "--json"});
    CHECK(c.Wait() == kExitProblems);  // the failed slice
    auto j = nlohmann::json::parse(c.Out());
    CHECK(j["state"] == "sqlite");
    REQUIRE(j["series"].size() == 1);
    CHECK(j["series"][0]["ok"] == 1);
    CHECK(j["series"][0]["failed"] == 1);
  }
  {
    Child c(dir.path(), {"migrate", "--to", "json", "--data-root", root.string()});
    CHECK(c.Wait() == kExitOk);
    CHECK(*ReadFile(b.dir() / "manifest.json") == manifest);
    CHECK_FALSE(fs::exists(root / "state.sqlite3"));
  }
}

}  // namespace
}  // namespace qlir::status_tool
