#include "persister/persister_server.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <thread>

#include "common/atomic_file.h"
#include "common/body_digest.h"
#include "common/exit_codes.h"
#include "common/manifest.h"
#include "persister/json_manifest_store.h"
#include "persister/test_util.h"
#include "tests/test_util.h"

using namespace qlir;
using namespace qlir::persister;
using namespace qlir::persister::testing;
namespace fs = std::filesystem;

namespace {

constexpr int kWaitMs = 15000;  // generous deadline; tests never wait for it on success

std::optional<wire::Message> Receive(zmq::socket_t& s, int timeout_ms) {
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms)) <= 0) return std::nullopt;
  zmq::message_t m;
  if (!s.recv(m, zmq::recv_flags::none)) return std::nullopt;
  auto decoded = wire::Decode(std::string_view(static_cast<const char*>(m.data()), m.size()));
  if (!decoded) return std::nullopt;
  return *decoded;
}

void Send(zmq::socket_t& s, const wire::Message& m) {
  const std::string bytes = wire::Encode(m);
  s.send(zmq::buffer(bytes), zmq::send_flags::none);
}

void SendRaw(zmq::socket_t& s, const std::string& bytes) {
  s.send(zmq::buffer(bytes), zmq::send_flags::none);
}

// A planner-like client: DEALER on control (subscribed), PUSH on results.
class Client {
 public:
  Client(zmq::context_t& ctx, const std::string& results, const std::string& control)
      : push_(ctx, zmq::socket_type::push), dealer_(ctx, zmq::socket_type::dealer) {
    push_.set(zmq::sockopt::linger, 0);
    dealer_.set(zmq::sockopt::linger, 0);
    dealer_.set(zmq::sockopt::routing_id, "test-planner");
    push_.connect(results);
    dealer_.connect(control);
  }

  // HELLO, then a status round trip: once the reply is back the subscription is in place.
  std::optional<wire::StatusReply> HelloAndStatus(const std::string& symbol = "BTCUSDT") {
    Send(dealer_, wire::Hello{"test-planner"});
    return Status(symbol);
  }

  std::optional<wire::StatusReply> Status(const std::string& symbol,
                                          const std::string& interval = "1m") {
    const uint64_t id = ++request_id_;
    Send(dealer_, wire::StatusRequest{id, "klines", symbol, interval});
    for (;;) {
      auto m = Receive(dealer_, kWaitMs);
      if (!m) return std::nullopt;
      if (auto* d = std::get_if<wire::Durable>(&*m)) {
        Absorb(*d);
        continue;
      }
      if (auto* r = std::get_if<wire::StatusReply>(&*m); r && r->request_id == id) return *r;
    }
  }

  std::optional<wire::Ack> MarkPending(const std::vector<std::string>& keys) {
    const uint64_t id = ++request_id_;
    Send(dealer_, wire::MarkPending{id, "klines", keys});
    for (;;) {
      auto m = Receive(dealer_, kWaitMs);
      if (!m) return std::nullopt;
      if (auto* d = std::get_if<wire::Durable>(&*m)) {
        Absorb(*d);
        continue;
      }
      if (auto* a = std::get_if<wire::Ack>(&*m); a && a->request_id == id) return *a;
    }
  }

  // Waits until a DURABLE notice for `key` arrives; returns its status.
  std::optional<std::string> WaitDurable(const std::string& key) {
    for (;;) {
      if (auto it = durable_.find(key); it != durable_.end()) {
        std::string s = it->second;
        durable_.erase(it);
        return s;
      }
      auto m = Receive(dealer_, kWaitMs);
      if (!m) return std::nullopt;
      if (auto* d = std::get_if<wire::Durable>(&*m)) Absorb(*d);
    }
  }

  bool SawDurable(const std::string& key) const { return durable_.contains(key); }

  zmq::socket_t& push() { return push_; }
  zmq::socket_t& dealer() { return dealer_; }

 private:
  void Absorb(const wire::Durable& d) {
    for (const auto& s : d.slices) durable_[s.key] = s.status;
  }
  zmq::socket_t push_;
  zmq::socket_t dealer_;
  uint64_t request_id_ = 0;
  std::map<std::string, std::string> durable_;
};

// The server loop in a thread over ipc:// in a scratch directory.
struct Harness {
  explicit Harness(Disk* disk_in = RealDisk(), int write_threads = 1,
                   const std::function<void(const fs::path&)>& before_start = nullptr)
      : disk(disk_in) {
    if (before_start) before_start(root.path() / "data");
    ServerOptions o;
    o.write_threads = write_threads;
    o.data_root = root.path() / "data";
    o.results_bind = "ipc://" + (root.path() / "results.ipc").string();
    o.control_bind = "ipc://" + (root.path() / "control.ipc").string();
    JsonStoreOptions so;
    so.flush_every = 1;
    store = std::make_unique<JsonManifestStore>(o.data_root, so, disk);
    server = std::make_unique<PersisterServer>(o, &ctx, store.get(), disk);
    REQUIRE(server->Bind().ok());
    thread = std::thread([this] { run_status = server->Run(); });
  }
  ~Harness() { Stop(); }
  void Stop() {
    if (thread.joinable()) {
      server->Stop();
      thread.join();
    }
  }
  fs::path data() const { return root.path() / "data"; }

  qlir::testing::ScratchDir root;
  zmq::context_t ctx;
  Disk* disk;
  std::unique_ptr<JsonManifestStore> store;
  std::unique_ptr<PersisterServer> server;
  std::thread thread;
  Status run_status;
};

std::map<std::string, std::string> AsMap(const wire::StatusReply& r) {
  std::map<std::string, std::string> m;
  for (const auto& s : r.slices) m[s.key] = s.status;
  return m;
}

}  // namespace

TEST_CASE("results are stored, acknowledged DURABLE and reported by STATUS", "[server]") {
  Harness h;
  Client c(h.ctx, h.server->results_endpoint(), h.server->control_endpoint());
  auto first = c.HelloAndStatus();
  REQUIRE(first);
  CHECK(first->error.empty());
  CHECK(first->slices.empty());

  auto ok = Slice(1), partial = Slice(2), failed = Slice(3);
  Send(c.push(), MakeResult(ok, "ok", 4));
  Send(c.push(), MakeResult(partial, "partial"));
  Send(c.push(), MakeResult(failed, "failed"));
  CHECK(c.WaitDurable(ok.composite_key()) == "ok");
  CHECK(c.WaitDurable(partial.composite_key()) == "partial");
  CHECK(c.WaitDurable(failed.composite_key()) == "failed");

  auto text = ReadFile(ResponsePath(h.data(), ok));
  REQUIRE(text.ok());
  auto file = DecodeResponseFile(*text, "f");
  REQUIRE(file.ok());
  CHECK(file->meta.slice == ok.composite_key());
  CHECK(file->meta.fetched_at == FormatIsoUtc(ok.end_ms + 6000));
  CHECK(file->data == Body(ok, 4));
  CHECK(fs::exists(ResponsePath(h.data(), partial)));
  CHECK_FALSE(fs::exists(ResponsePath(h.data(), failed)));

  auto status = c.Status("BTCUSDT");
  REQUIRE(status);
  auto m = AsMap(*status);
  CHECK(m.size() == 3);
  CHECK(m[ok.composite_key()] == "ok");
  CHECK(m[failed.composite_key()] == "failed");
}

TEST_CASE("files written by several threads are all durable and repeats keep arrival order",
          "[server]") {
  Harness h(RealDisk(), 4);
  Client c(h.ctx, h.server->results_endpoint(), h.server->control_endpoint());
  REQUIRE(c.HelloAndStatus());
  constexpr int kSlices = 120;
  for (int i = 0; i < kSlices; ++i) {
    const auto k = Slice(100 + i);
    if (i % 10 == 0) {
      // Same key twice in a row, likely in one batch: ok first, then a failure and a partial,
      // neither of which may replace it.
      Send(c.push(), MakeResult(k, "ok", 5));
      Send(c.push(), MakeResult(k, "failed"));
      Send(c.push(), MakeResult(k, "partial", 2));
    } else if (i % 10 == 1) {
      // A failure, then the ok that replaces it.
      Send(c.push(), MakeResult(k, "failed"));
      Send(c.push(), MakeResult(k, "ok", 4));
    } else {
      Send(c.push(), MakeResult(k, "ok", 3));
    }
  }
  // Every key ends ok (the store keeps ok over a failure or a partial, in either order).
  std::map<std::string, std::string> m;
  for (int round = 0; round < 300; ++round) {
    auto status = c.Status("BTCUSDT");
    REQUIRE(status);
    m = AsMap(*status);
    if (m.size() == kSlices &&
        std::all_of(m.begin(), m.end(), [](const auto& kv) { return kv.second == "ok"; })) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // poll with a deadline
  }
  CHECK(m.size() == kSlices);
  for (const auto& [k, st] : m) CHECK(st == "ok");
  for (int i = 0; i < kSlices; ++i) {
    const auto k = Slice(100 + i);
    INFO(k.composite_key());
    auto file = DecodeResponseFile(*ReadFile(ResponsePath(h.data(), k)), "f");
    REQUIRE(file.ok());
    CHECK(file->data == Body(k, i % 10 == 0 ? 5 : (i % 10 == 1 ? 4 : 3)));
  }
  h.Stop();
  REQUIRE(h.run_status.ok());
  // No temporaries left behind.
  for (const auto& e : fs::directory_iterator(ResponsePath(h.data(), Slice(100)).parent_path())) {
    CHECK(e.path().extension() == ".json");
  }
}

TEST_CASE("a series whose responses changed after its manifest is recovered at start", "[server]") {
  // A persister killed after writing response files and before its manifest: the next one
  // indexes them at start, though nobody asks for the series, and writes them at stop.
  auto a = Slice(1), b = Slice(2);
  Harness h(RealDisk(), 1, [&](const fs::path& data) {
    WriteResponse(data, a, a.end_ms + 5000);
    WriteResponse(data, b, b.end_ms + 5000);
  });
  h.Stop();
  REQUIRE(h.run_status.ok());
  auto text = ReadFile(SeriesPath(h.data()) / "manifest.json");
  REQUIRE(text.ok());
  auto m = ParseManifest(*text, "manifest");
  REQUIRE(m.ok());
  CHECK(m->slices.size() == 2);
  CHECK(m->slices.at(a.composite_key()).status == SliceStatus::kOk);
  CHECK(m->slices.at(b.composite_key()).status == SliceStatus::kOk);
}

TEST_CASE("a manifest written before digests is upgraded in place after start", "[server]") {
  // Nobody asks for the series: the persister upgrades it at start anyway, from its files.
  auto a = Slice(1), b = Slice(2);
  Harness h(RealDisk(), 1, [&](const fs::path& data) {
    WriteResponse(data, a, a.end_ms + 5000, 4);
    WriteResponse(data, b, b.end_ms + 5000, 2);
    Manifest m;
    m.endpoint = "klines";
    m.symbol = "BTCUSDT";
    m.interval = "1m";
    for (const auto& [k, n] : {std::pair{a, 4}, std::pair{b, 2}}) {
      ManifestEntry e;
      e.slice_id = k.slice_id();
      e.relative_path = "responses/" + e.slice_id + ".json";
      e.status = SliceStatus::kOk;
      e.n_items = n;
      e.first_ts = k.start_ms;
      e.last_ts = k.start_ms + (n - 1) * 60000LL;
      m.slices[k.composite_key()] = e;
    }
    const fs::path manifest = SeriesPath(data) / "manifest.json";
    REQUIRE(RealDisk()->WriteFileAtomic(manifest, SerializeManifest(m), true).ok());
    // Not a lagging series (its manifest is newer than responses/): only the upgrade loads it.
    fs::last_write_time(SeriesPath(data) / "responses",
                        fs::last_write_time(manifest) - std::chrono::seconds(10));
  });
  // The upgrade follows once the server serves (reading every manifest of a big root would
  // otherwise delay the first answer by minutes): nothing asks, yet the manifest gets digests.
  const fs::path manifest = SeriesPath(h.data()) / "manifest.json";
  CHECK(qlir::testing::PollUntil(
      [&] {
        auto now = ParseManifestFile(manifest.string());
        return now.ok() && now->slices.at(a.composite_key()).digest.has_value();
      },
      10000));
  h.Stop();
  REQUIRE(h.run_status.ok());
  auto m = ParseManifestFile(manifest.string());
  REQUIRE(m.ok());
  CHECK(m->slices.at(a.composite_key()).digest == BodyDigest(Body(a, 4)));
  CHECK(m->slices.at(b.composite_key()).digest == BodyDigest(Body(b, 2)));
  CHECK(m->slices.at(a.composite_key()).status == SliceStatus::kOk);
}

TEST_CASE("repeats are idempotent and ok is never replaced", "[server]") {
  Harness h;
  Client c(h.ctx, h.server->results_endpoint(), h.server->control_endpoint());
  REQUIRE(c.HelloAndStatus());
  auto k = Slice(7);
  Send(c.push(), MakeResult(k, "ok"));
  CHECK(c.WaitDurable(k.composite_key()) == "ok");
  const auto before = fs::last_write_time(ResponsePath(h.data(), k));
  Send(c.push(), MakeResult(k, "ok"));
  CHECK(c.WaitDurable(k.composite_key()) == "ok");
  Send(c.push(), MakeResult(k, "failed"));
  CHECK(c.WaitDurable(k.composite_key()) == "ok");
  Send(c.push(), MakeResult(k, "partial", 1));
  CHECK(c.WaitDurable(k.composite_key()) == "ok");
  CHECK(fs::last_write_time(ResponsePath(h.data(), k)) == before);
  size_t files = 0;
  for ([[maybe_unused]] const auto& f :
       fs::directory_iterator(SeriesPath(h.data()) / "responses")) {
    ++files;
  }
  CHECK(files == 1);
  h.Stop();
  auto m = ParseManifest(*ReadFile(SeriesPath(h.data()) / "manifest.json"), "m");
  REQUIRE(m.ok());
  CHECK(m->slices.size() == 1);
  CHECK(m->slices.at(k.composite_key()).n_items == 3);
}

TEST_CASE("garbage, wrong types, bad claims and oversized frames are dropped", "[server]") {
  Harness h;
  Client c(h.ctx, h.server->results_endpoint(), h.server->control_endpoint());
  REQUIRE(c.HelloAndStatus());
  std::mt19937 rng(7);
  for (int i = 0; i < 50; ++i) {
    std::string junk(1 + rng() % 300, '\0');
    for (char& ch : junk) ch = static_cast<char>(rng());
    SendRaw(c.push(), junk);
    SendRaw(c.dealer(), junk);
  }
  SendRaw(c.push(), "");
  Send(c.push(), wire::Hello{"confused"});
  Send(c.dealer(), wire::Ready{"confused", 3});
  auto bad_key = MakeResult(Slice(1), "ok");
  bad_key.key = "BTCUSDT:1m:5-1:1000";
  Send(c.push(), bad_key);
  auto bad_endpoint = MakeResult(Slice(2), "ok");
  bad_endpoint.endpoint = "trades";
  Send(c.push(), bad_endpoint);
  auto bad_outcome = MakeResult(Slice(3), "maybe");
  Send(c.push(), bad_outcome);
  auto bad_body = MakeResult(Slice(4), "ok");
  bad_body.body = "[[1,2],";
  Send(c.push(), bad_body);
  {
    zmq::socket_t big(h.ctx, zmq::socket_type::push);
    big.set(zmq::sockopt::linger, 0);
    big.connect(h.server->results_endpoint());
    SendRaw(big, std::string(static_cast<size_t>(wire::kMaxMessageBytes) + 1024, 'x'));
  }
  // Still serving: a good result after all that is stored.
  auto good = Slice(5);
  Send(c.push(), MakeResult(good, "ok"));
  // An invalid body is never stored as ok.
  CHECK(c.WaitDurable(Slice(4).composite_key()) == "failed");
  CHECK_FALSE(fs::exists(ResponsePath(h.data(), Slice(4))));
  CHECK(c.WaitDurable(good.composite_key()) == "ok");
  auto status = c.Status("BTCUSDT");
  REQUIRE(status);
  auto m = AsMap(*status);
  CHECK(m.size() == 2);
  auto bad_status = c.Status("BTC/USDT");
  REQUIRE(bad_status);
  CHECK_FALSE(bad_status->error.empty());
  auto bad_interval = c.Status("BTCUSDT", "7x");
  REQUIRE(bad_interval);
  CHECK_FALSE(bad_interval->error.empty());
}

TEST_CASE("MARK_PENDING sets slices pending and ACKs the count", "[server]") {
  Harness h;
  Client c(h.ctx, h.server->results_endpoint(), h.server->control_endpoint());
  REQUIRE(c.HelloAndStatus());
  auto k = Slice(1);
  Send(c.push(), MakeResult(k, "ok"));
  REQUIRE(c.WaitDurable(k.composite_key()) == "ok");
  auto ack = c.MarkPending({k.composite_key(), Slice(2).composite_key()});
  REQUIRE(ack);
  CHECK(ack->error.empty());
  CHECK(ack->count == 1);
  auto status = c.Status("BTCUSDT");
  REQUIRE(status);
  CHECK(AsMap(*status)[k.composite_key()] == "pending");
  auto bad = c.MarkPending({"nonsense"});
  REQUIRE(bad);
  CHECK_FALSE(bad->error.empty());
  // A pending slice takes a new result.
  Send(c.push(), MakeResult(k, "ok"));
  CHECK(c.WaitDurable(k.composite_key()) == "ok");
}

TEST_CASE("a disk error is reported, nothing is acknowledged, later writes are retried",
          "[server]") {
  // Writes of ETHUSDT files fail like a full disk; BTCUSDT ones work.
  class EthFull : public FaultyDisk {
   public:
    Status WriteFileAtomic(const fs::path& target, std::string_view bytes, bool sync_dir) override {
      if (fail_writes && target.string().find("ETHUSDT") != std::string::npos) {
        return Status::Error("cannot write " + target.string() + ": No space left on device");
      }
      return RealDisk()->WriteFileAtomic(target, bytes, sync_dir);
    }
  };
  EthFull disk;
  disk.fail_writes = true;
  Harness h(&disk);
  Client c(h.ctx, h.server->results_endpoint(), h.server->control_endpoint());
  REQUIRE(c.HelloAndStatus());
  auto eth = Slice(1, "ETHUSDT");
  auto btc = Slice(1);
  Send(c.push(), MakeResult(eth, "ok"));
  Send(c.push(), MakeResult(btc, "ok"));
  // Results are handled in order, so the ETH one is done when the BTC notice arrives.
  CHECK(c.WaitDurable(btc.composite_key()) == "ok");
  CHECK_FALSE(c.SawDurable(eth.composite_key()));
  CHECK_FALSE(fs::exists(ResponsePath(h.data(), eth)));
  auto status = c.Status("ETHUSDT");
  REQUIRE(status);
  CHECK(status->slices.empty());
  disk.fail_writes = false;
  Send(c.push(), MakeResult(eth, "ok"));
  CHECK(c.WaitDurable(eth.composite_key()) == "ok");
}

namespace {

std::string PersisterBinary() { return std::string(QLIR_BINARY_DIR) + "/persister/persister"; }

pid_t Spawn(const std::vector<std::string>& args) {
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// Waits for the child to exit within `timeout_ms`; returns its wait status or -1.
int WaitExit(pid_t pid, int timeout_ms) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd >= 0) {
    pollfd p{fd, POLLIN, 0};
    ::poll(&p, 1, timeout_ms);
    ::close(fd);
  }
  int status = 0;
  pid_t r = ::waitpid(pid, &status, fd >= 0 ? WNOHANG : 0);
  return r == pid ? status : -1;
}

}  // namespace

TEST_CASE("the persister binary: one per data root, SIGTERM flushes and exits 0", "[server]") {
  qlir::testing::ScratchDir dir;
  const fs::path data = dir.path() / "data";
  const std::string results = "ipc://" + (dir.path() / "r.ipc").string();
  const std::string control = "ipc://" + (dir.path() / "c.ipc").string();
  pid_t pid = Spawn({PersisterBinary(), "--data-root", data.string(), "--results-bind", results,
                     "--control-bind", control, "--flush-every", "1000000", "--flush-ms", "3600000",
                     "--no-adaptive-flush"});
  REQUIRE(pid > 0);
  zmq::context_t ctx;
  Client c(ctx, results, control);
  REQUIRE(c.HelloAndStatus());  // the child is up and serving

  // A second persister on the same root refuses to start.
  pid_t second = Spawn({PersisterBinary(), "--data-root", data.string(), "--results-bind",
                        "ipc://" + (dir.path() / "r2.ipc").string(), "--control-bind",
                        "ipc://" + (dir.path() / "c2.ipc").string()});
  REQUIRE(second > 0);
  int second_status = WaitExit(second, kWaitMs);
  REQUIRE(second_status != -1);
  CHECK(WIFEXITED(second_status));
  CHECK(WEXITSTATUS(second_status) == kExitCannotStart);

  std::vector<klines::KlineSliceKey> keys;
  for (int i = 0; i < 20; ++i) keys.push_back(Slice(100 + i));
  for (size_t i = 0; i < keys.size(); ++i) {
    Send(c.push(), MakeResult(keys[i], i % 3 == 0 ? "failed" : "ok"));
  }
  for (const auto& k : keys) CHECK(c.WaitDurable(k.composite_key()));
  // Nothing forced a manifest write yet (flush thresholds are huge): SIGTERM must.
  CHECK_FALSE(fs::exists(SeriesPath(data) / "manifest.json"));
  REQUIRE(::kill(pid, SIGTERM) == 0);
  int status = WaitExit(pid, kWaitMs);
  REQUIRE(status != -1);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  auto m = ParseManifest(*ReadFile(SeriesPath(data) / "manifest.json"), "manifest");
  REQUIRE(m.ok());
  CHECK(m->slices.size() == keys.size());
}

TEST_CASE("after SIGKILL a restarted persister still knows every acknowledged stored slice",
          "[server]") {
  qlir::testing::ScratchDir dir;
  const fs::path data = dir.path() / "data";
  const std::string results = "ipc://" + (dir.path() / "r.ipc").string();
  const std::string control = "ipc://" + (dir.path() / "c.ipc").string();
  const std::vector<std::string> args = {PersisterBinary(), "--data-root",   data.string(),
                                         "--results-bind",  results,         "--control-bind",
                                         control,           "--flush-every", "7",
                                         "--flush-ms",      "3600000"};
  std::map<std::string, std::string> acknowledged;
  {
    pid_t pid = Spawn(args);
    REQUIRE(pid > 0);
    zmq::context_t ctx;
    Client c(ctx, results, control);
    REQUIRE(c.HelloAndStatus());
    for (int i = 0; i < 40; ++i) {
      auto k = Slice(200 + i);
      Send(c.push(), MakeResult(k, i % 5 == 0 ? "partial" : "ok"));
    }
    for (int i = 0; i < 40; ++i) {
      auto key = Slice(200 + i).composite_key();
      auto st = c.WaitDurable(key);
      REQUIRE(st);
      acknowledged[key] = *st;
    }
    // Leave a stray temporary behind as a crash mid-write would.
    std::ofstream(SeriesPath(data) / "responses" / "0123456789abcdef0123456789abcdef.json.1.0.tmp")
        << "{\"meta\":";
    REQUIRE(::kill(pid, SIGKILL) == 0);
    REQUIRE(WaitExit(pid, kWaitMs) != -1);
  }
  pid_t pid = Spawn(args);
  REQUIRE(pid > 0);
  zmq::context_t ctx;
  Client c(ctx, results, control);
  auto status = c.HelloAndStatus();
  REQUIRE(status);
  auto known = AsMap(*status);
  for (const auto& [key, st] : acknowledged) {
    INFO(key);
    CHECK(known[key] == st);
  }
  CHECK_FALSE(
      fs::exists(SeriesPath(data) / "responses" / "0123456789abcdef0123456789abcdef.json.1.0.tmp"));
  REQUIRE(::kill(pid, SIGTERM) == 0);
  int exit_status = WaitExit(pid, kWaitMs);
  CHECK(WIFEXITED(exit_status));
  CHECK(WEXITSTATUS(exit_status) == 0);
}
