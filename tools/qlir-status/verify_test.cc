#include "tools/qlir-status/verify.h"

#include <catch2/catch.hpp>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/wire.h"
#include "tools/qlir-status/render.h"
#include "tools/qlir-status/repair.h"
#include "tools/qlir-status/series_report.h"
#include "tools/qlir-status/test_util.h"

namespace qlir::status_tool {
namespace {

using testing::kBase;
using testing::ScratchDir;
using testing::SeriesBuilder;
namespace fs = std::filesystem;

// problem kind -> keys with it, for compact checks.
std::multimap<ProblemKind, std::string> ByKind(const VerifyReport& r) {
  std::multimap<ProblemKind, std::string> out;
  for (const Problem& p : r.problems) out.emplace(p.kind, p.key);
  return out;
}

TEST_CASE("verify of a clean data root finds nothing", "[verify]") {
  ScratchDir dir;
  SeriesBuilder b(dir.path());
  b.Stored(kBase);
  b.Stored(kBase + 1, SliceStatus::kOk, 1000);
  b.Stored(kBase + 2, SliceStatus::kPartial, 0);  // an empty answer is valid
  b.Failed(kBase + 3, 500, "HTTP 500 from Binance");
  b.Pending(kBase + 4);
  b.Write();
  auto r = Verify(dir.path(), {});
  REQUIRE(r.ok());
  INFO(RenderVerifyText(*r));
  CHECK(r->problems.empty());
  CHECK(r->series_checked == 1);
  CHECK(r->files_checked == 3);
  CHECK(r->RepairKeys().empty());
  CHECK_THAT(RenderVerifyText(*r), Catch::Contains("1 series, 3 response files read, 0 problems"));
}

// One series with every kind of damage the brief lists, plus a clean neighbour.
struct DamagedRoot {
  ScratchDir dir;
  SeriesBuilder b{dir.path()};
  std::string truncated, outside, mismatched, missing, count, bad_id, orphan;

  DamagedRoot() {
    b.Stored(kBase + 0);  // fine
    b.Stored(kBase + 1);
    truncated = b.KeyText(kBase + 1);
    {
      auto text = ReadFile(b.ResponsePath(kBase + 1));
      REQUIRE(text.ok());
      testing::WriteRaw(b.ResponsePath(kBase + 1), text->substr(0, text->size() / 2));
    }
    // A row whose open time lies in the next slice's window.
    const klines::KlineSliceKey k2 = b.Key(kBase + 2);
    b.Stored(kBase + 2, SliceStatus::kOk, 2,
             testing::KlinesBody(k2.end_ms - testing::kMinuteMs + 1, 2));
    outside = k2.composite_key();
    b.manifest().slices[outside].first_ts = k2.end_ms - testing::kMinuteMs + 1;
    b.manifest().slices[outside].last_ts = k2.end_ms + 1;
    b.Stored(kBase + 3, SliceStatus::kOk, 3, "", b.KeyText(kBase + 4));
    mismatched = b.KeyText(kBase + 3);
    b.Stored(kBase + 5, SliceStatus::kPartial);
    missing = b.KeyText(kBase + 5);
    fs::remove(b.ResponsePath(kBase + 5));
    b.Stored(kBase + 6).n_items = 999;
    count = b.KeyText(kBase + 6);
    b.Stored(kBase + 7).slice_id = std::string(32, 'a');
    bad_id = b.KeyText(kBase + 7);
    b.Write();
    // A response the manifest does not name, and a leftover temporary.
    SeriesBuilder other(dir.path());  // same series folder, its own (unwritten) manifest
    other.Stored(kBase + 9);
    orphan = b.KeyText(kBase + 9);
    testing::WriteRaw(b.dir() / "responses" / "0123abcd.json.77.0.tmp", "{\"meta\":");

    SeriesBuilder clean(dir.path(), "ETHUSDT");
    clean.Stored(kBase);
    clean.Write();
  }
};

TEST_CASE("verify reports each damaged slice once, with its series, key and problem", "[verify]") {
  DamagedRoot d;
  auto r = Verify(d.dir.path(), {});
  REQUIRE(r.ok());
  const std::string text = RenderVerifyText(*r);
  INFO(text);
  CHECK(r->series_checked == 2);
  const auto kinds = ByKind(*r);
  CHECK(kinds == std::multimap<ProblemKind, std::string>{
                     {ProblemKind::kFileCorrupt, d.truncated},
                     {ProblemKind::kBadData, d.outside},
                     {ProblemKind::kSliceMismatch, d.mismatched},
                     {ProblemKind::kFileMissing, d.missing},
                     {ProblemKind::kCountMismatch, d.count},
                     {ProblemKind::kSliceId, d.bad_id},
                     {ProblemKind::kOrphanFile, d.orphan},
                     {ProblemKind::kTempFile, "-"},
                 });
  for (const Problem& p : r->problems) CHECK(p.series == "klines/BTCUSDT/1m");
  CHECK(r->RepairKeys()["klines"] ==
        std::vector<std::string>{d.truncated, d.outside, d.mismatched, d.missing, d.count,
                                 d.bad_id});  // sorted: consecutive grid keys sort in time order
  // One line per problem: series, key, problem.
  CHECK_THAT(text, Catch::Contains("klines/BTCUSDT/1m  " + d.truncated + "  file-corrupt: "));
  CHECK_THAT(text, Catch::Contains("klines/BTCUSDT/1m  " + d.outside + "  bad-data: "));
  CHECK_THAT(text, Catch::Contains("klines/BTCUSDT/1m  " + d.mismatched + "  slice-mismatch: "));
  CHECK_THAT(text, Catch::Contains("klines/BTCUSDT/1m  -  temp-file: "));
  CHECK_THAT(text, Catch::Contains("8 problems"));

  auto j = nlohmann::json::parse(RenderVerifyJson(*r));
  CHECK(j["clean"] == false);
  CHECK(j["problems"].size() == 8);
  CHECK(j["problems"][0]["series"] == "klines/BTCUSDT/1m");
  CHECK(j["repair"].is_null());
}

TEST_CASE("verify of a corrupt manifest reports it and still checks the folder", "[verify]") {
  ScratchDir dir;
  SeriesBuilder b(dir.path());
  b.Stored(kBase);
  testing::WriteRaw(b.dir() / "manifest.json", "not json");
  testing::WriteRaw(b.dir() / "manifest.json.123.4.tmp", "{");
  testing::WriteRaw(b.dir() / "manifest.json.corrupt-20250101T000000Z", "x");
  auto r = Verify(dir.path(), {});
  REQUIRE(r.ok());
  INFO(RenderVerifyText(*r));
  CHECK(ByKind(*r) == std::multimap<ProblemKind, std::string>{
                          {ProblemKind::kManifest, "-"},
                          {ProblemKind::kTempFile, "-"},
                          {ProblemKind::kCorruptManifestKept, "-"},
                      });
  CHECK(r->RepairKeys().empty());
}

TEST_CASE("an entry marked failed whose response file exists is reported", "[verify]") {
  ScratchDir dir;
  SeriesBuilder b(dir.path());
  b.Stored(kBase);
  b.Failed(kBase, 503, "HTTP 503");  // the manifest lags behind the file
  b.Write();
  auto r = Verify(dir.path(), {});
  REQUIRE(r.ok());
  CHECK(ByKind(*r) ==
        std::multimap<ProblemKind, std::string>{{ProblemKind::kUnindexedFile, b.KeyText(kBase)}});
  CHECK(r->RepairKeys()["klines"] == std::vector<std::string>{b.KeyText(kBase)});
}

// A fake persister control socket: a ROUTER on loopback, served from the test thread.
class FakePersister {
 public:
  FakePersister() : router_(ctx_, zmq::socket_type::router) {
    router_.set(zmq::sockopt::linger, 0);
    router_.bind("tcp://127.0.0.1:*");
    endpoint_ = router_.get(zmq::sockopt::last_endpoint);
  }
  const std::string& endpoint() const { return endpoint_; }

  // Serves MARK_PENDING messages until `keys_wanted` keys arrived; false if none came within
  // a generous bound (a hang guard, not a timing assertion).
  bool Serve(size_t keys_wanted, const std::string& error = "") {
    while (keys.size() < keys_wanted) {
      zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0}};
      if (zmq::poll(items, 1, std::chrono::seconds(60)) == 0) return false;
      std::vector<zmq::message_t> frames;
      if (!zmq::recv_multipart(router_, std::back_inserter(frames))) return false;
      REQUIRE(frames.size() == 2);
      auto m = wire::Decode(frames[1].to_string_view());
      REQUIRE(m.ok());
      auto* mp = std::get_if<wire::MarkPending>(&*m);
      REQUIRE(mp != nullptr);
      CHECK(mp->endpoint == "klines");
      keys.insert(keys.end(), mp->keys.begin(), mp->keys.end());
      ++messages;
      const std::string ack = wire::Encode(wire::Ack{mp->request_id, error, mp->keys.size()});
      router_.send(frames[0], zmq::send_flags::sndmore);
      router_.send(zmq::buffer(ack), zmq::send_flags::none);
    }
    return true;
  }

  std::vector<std::string> keys;
  int messages = 0;

 private:
  zmq::context_t ctx_;
  zmq::socket_t router_;
  std::string endpoint_;
};

TEST_CASE("SendMarkPending sends the keys and counts the ACKs", "[verify][repair]") {
  FakePersister fake;
  std::vector<std::string> keys;
  for (int i = 0; i < 25001; ++i) keys.push_back("k" + std::to_string(i));
  Result<MarkPendingOutcome> got = Status::Error("not run");
  std::thread client([&] { got = SendMarkPending(fake.endpoint(), "klines", keys, 60000); });
  const bool served = fake.Serve(keys.size());
  client.join();
  REQUIRE(served);
  REQUIRE(got.ok());
  CHECK(got->sent == keys.size());
  CHECK(got->found == keys.size());
  CHECK(fake.messages == 3);  // kKeysPerMessage per message
  CHECK(fake.keys == keys);
}

TEST_CASE("SendMarkPending reports an ACK error", "[verify][repair]") {
  FakePersister fake;
  Result<MarkPendingOutcome> got = Status::Error("not run");
  std::thread client([&] { got = SendMarkPending(fake.endpoint(), "klines", {"x"}, 60000); });
  const bool served = fake.Serve(1, "cannot write manifest");
  client.join();
  REQUIRE(served);
  REQUIRE_FALSE(got.ok());
  CHECK_THAT(got.error(), Catch::Contains("refused MARK_PENDING: cannot write manifest"));
}

TEST_CASE("SendMarkPending to nobody fails clearly", "[verify][repair]") {
  std::string endpoint;
  {
    // A loopback port that was free a moment ago and is closed now.
    zmq::context_t ctx;
    zmq::socket_t s(ctx, zmq::socket_type::router);
    s.set(zmq::sockopt::linger, 0);
    s.bind("tcp://127.0.0.1:*");
    endpoint = s.get(zmq::sockopt::last_endpoint);
  }
  auto got = SendMarkPending(endpoint, "klines", {"x"}, 200);
  REQUIRE_FALSE(got.ok());
  CHECK_THAT(got.error(), Catch::Contains("persister not reachable at " + endpoint));
  auto bad = SendMarkPending("nonsense://", "klines", {"x"}, 200);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error(), Catch::Contains("bad persister address"));
  CHECK(SendMarkPending(endpoint, "klines", {}, 200).ok());  // nothing to send, nothing sent
}

}  // namespace
}  // namespace qlir::status_tool

namespace qlir::status_tool {
namespace {

TEST_CASE("every truncation of a response file is one repairable problem, never a crash",
          "[verify][truncate]") {
  ScratchDir dir;
  SeriesBuilder b(dir.path());
  b.Stored(kBase, SliceStatus::kOk, 2);
  b.Write();
  auto full = ReadFile(b.ResponsePath(kBase));
  REQUIRE(full.ok());
  for (size_t len = 0; len < full->size(); ++len) {
    testing::WriteRaw(b.ResponsePath(kBase), full->substr(0, len));
    auto r = Verify(dir.path(), {});
    REQUIRE(r.ok());
    INFO("length " << len << ": " << RenderVerifyText(*r));
    // Only the trailing newline may go without harm.
    if (len + 1 == full->size()) {
      CHECK(r->problems.empty());
      continue;
    }
    REQUIRE(r->problems.size() == 1);
    CHECK(r->problems[0].key == b.KeyText(kBase));
    CHECK(r->problems[0].repairable);
  }
}

TEST_CASE("every truncation of a manifest is a manifest error in status, never a crash",
          "[status][truncate]") {
  ScratchDir dir;
  SeriesBuilder b(dir.path());
  b.Stored(kBase);
  b.Failed(kBase + 1, 500, "HTTP 500");
  b.Write();
  auto full = ReadFile(b.dir() / "manifest.json");
  REQUIRE(full.ok());
  for (size_t len = 0; len + 1 < full->size(); ++len) {
    testing::WriteRaw(b.dir() / "manifest.json", full->substr(0, len));
    auto r = BuildStatusReport(dir.path(), {});
    REQUIRE(r.ok());
    INFO("length " << len);
    REQUIRE(r->series.size() == 1);
    CHECK_FALSE(r->series[0].manifest_error.empty());
    auto v = Verify(dir.path(), {});
    REQUIRE(v.ok());
    REQUIRE(v->problems.size() == 1);
    CHECK(v->problems[0].kind == ProblemKind::kManifest);
  }
}

}  // namespace
}  // namespace qlir::status_tool

namespace qlir::status_tool {
namespace {

TEST_CASE("a pending entry that keeps its old file (after MARK_PENDING) is not a problem",
          "[verify]") {
  ScratchDir dir;
  SeriesBuilder b(dir.path());
  b.Stored(kBase);
  b.Pending(kBase);
  b.Write();
  auto r = Verify(dir.path(), {});
  REQUIRE(r.ok());
  CHECK(r->problems.empty());
}

}  // namespace
}  // namespace qlir::status_tool
