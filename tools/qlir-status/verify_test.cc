#include "tools/qlir-status/verify.h"

#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <thread>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "common/json.h"
#include "common/wire.h"
#include "tools/qlir-status/holes.h"
#include "tools/qlir-status/migrate.h"
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

namespace qlir::status_tool {
namespace {

// Rewrites the data of a stored response file, keeping its meta and framing (valid JSON).
void EditData(const fs::path& file, const std::function<std::string(std::string)>& edit) {
  auto text = ReadFile(file);
  REQUIRE(text.ok());
  auto f = DecodeResponseFile(*text, file.string());
  REQUIRE(f.ok());
  const std::string data = edit(f->data);
  REQUIRE(data != f->data);
  testing::WriteRaw(file, EncodeResponseFile(f->meta, data));
}

// The rows of a klines body as strings, and back.
std::vector<std::string> Rows(const std::string& data) {
  auto j = nlohmann::json::parse(data);
  std::vector<std::string> rows;
  // Rows are split on the text so that decimals stay as written.
  size_t pos = 1;
  for (size_t i = 0; i < j.size(); ++i) {
    const size_t end = data.find(']', pos);
    rows.push_back(data.substr(pos, end + 1 - pos));
    pos = end + 2;
  }
  return rows;
}
std::string Join(const std::vector<std::string>& rows) {
  std::string s = "[";
  for (size_t i = 0; i < rows.size(); ++i) s += (i ? "," : "") + rows[i];
  return s + "]";
}
std::string ReplaceFirst(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  REQUIRE(at != std::string::npos);
  return s.replace(at, from.size(), to);
}

// One series, one slice per kind of tampering the issue lists, plus untouched neighbours.
struct TamperedRoot {
  ScratchDir dir;
  SeriesBuilder b{dir.path()};
  std::map<std::string, std::string> key_of;  // tampering -> key

  TamperedRoot() {
    for (int i = 0; i < 10; ++i) b.Stored(kBase + i, SliceStatus::kOk, 5);
    b.Write();
    auto tamper = [&](int i, const std::string& what) { key_of[what] = b.KeyText(kBase + i); };
    // Rows are [t,"1.0","2.0","0.5","1.5","10.0",t+59999,"15.0",7,"5.0","7.5","0"].
    EditData(b.ResponsePath(kBase + 1), [](std::string d) {
      return ReplaceFirst(d, R"("1.5","10.0")", R"("2.5","10.0")");  // close above the high
    });
    tamper(1, "close above high");
    EditData(b.ResponsePath(kBase + 2), [](std::string d) {
      return ReplaceFirst(d, R"("10.0")", R"("10.5")");  // a volume: rows still make sense
    });
    tamper(2, "volume changed");
    EditData(b.ResponsePath(kBase + 3), [](std::string d) {
      auto rows = Rows(d);
      rows.erase(rows.begin() + 2);
      return Join(rows);
    });
    tamper(3, "row removed");
    EditData(b.ResponsePath(kBase + 4), [](std::string d) {
      auto rows = Rows(d);
      rows.insert(rows.begin() + 2, rows[2]);
      return Join(rows);
    });
    tamper(4, "row duplicated");
    EditData(b.ResponsePath(kBase + 5), [](std::string d) {
      auto rows = Rows(d);
      std::swap(rows[1], rows[3]);
      return Join(rows);
    });
    tamper(5, "rows reordered");
    {
      auto text = ReadFile(b.ResponsePath(kBase + 6));
      REQUIRE(text.ok());
      testing::WriteRaw(b.ResponsePath(kBase + 6), text->substr(0, text->size() * 2 / 3));
    }
    tamper(6, "truncated");
    fs::remove(b.ResponsePath(kBase + 7));
    tamper(7, "deleted");
    fs::copy_file(b.ResponsePath(kBase + 9), b.ResponsePath(kBase + 8),
                  fs::copy_options::overwrite_existing);
    tamper(8, "another slice's file");
  }
};

TEST_CASE("verify finds every kind of tampering, one repairable line per slice", "[verify]") {
  TamperedRoot t;
  auto r = Verify(t.dir.path(), {});
  REQUIRE(r.ok());
  const std::string text = RenderVerifyText(*r);
  INFO(text);
  std::map<std::string, ProblemKind> kind_of;
  for (const Problem& p : r->problems) {
    CHECK(p.repairable);
    CHECK(kind_of.emplace(p.key, p.kind).second);  // one problem per slice
  }
  auto kind = [&](const std::string& what) {
    INFO(what);
    REQUIRE(kind_of.contains(t.key_of.at(what)));
    return kind_of.at(t.key_of.at(what));
  };
  CHECK(kind("close above high") == ProblemKind::kBadData);
  CHECK(kind("volume changed") == ProblemKind::kDigestMismatch);
  CHECK(kind("row removed") == ProblemKind::kCountMismatch);
  CHECK(kind("row duplicated") == ProblemKind::kBadData);
  CHECK(kind("rows reordered") == ProblemKind::kBadData);
  CHECK(kind("truncated") == ProblemKind::kFileCorrupt);
  CHECK(kind("deleted") == ProblemKind::kFileMissing);
  CHECK(kind("another slice's file") == ProblemKind::kSliceMismatch);
  CHECK(r->problems.size() == 8);  // the two untouched slices are fine
  CHECK(r->notices.empty());
  CHECK(r->no_digest == 0);
  CHECK(r->slices_checked == 10);
  CHECK(r->RepairKeys()["klines"].size() == 8);
  // The reasons say what is wrong.
  CHECK_THAT(text, Catch::Contains(t.key_of["close above high"] + "  bad-data: ") &&
                       Catch::Contains("close outside [low, high]: close 2.5, low 0.5, high 2.0"));
  CHECK_THAT(text, Catch::Contains(t.key_of["volume changed"] + "  digest-mismatch: ") &&
                       Catch::Contains("its rows make sense: the bytes changed"));
  CHECK_THAT(text, Catch::Contains("file has n_items 4") &&
                       Catch::Contains("(and the digest does not match"));
  CHECK_THAT(text,
             Catch::Contains("full check of 10 stored slices") && Catch::Contains("8 problems"));
  auto j = nlohmann::json::parse(RenderVerifyJson(*r));
  CHECK(j["mode"] == "full");
  CHECK(j["clean"] == false);
  CHECK(j["problems"].size() == 8);
  CHECK(j["slices_checked"] == 10);
  CHECK(j["no_digest"] == 0);
  bool saw_digest = false;
  for (const auto& p : j["problems"]) {
    if (p["problem"] == "digest-mismatch") {
      saw_digest = true;
      CHECK(p["key"] == t.key_of["volume changed"]);
      CHECK(p["repairable"] == true);
    }
  }
  CHECK(saw_digest);
}

TEST_CASE("quick verify sees presence, sizes and framing only", "[verify]") {
  TamperedRoot t;
  auto r = Verify(t.dir.path(), {}, VerifyOptions{.quick = true});
  REQUIRE(r.ok());
  INFO(RenderVerifyText(*r));
  std::map<std::string, ProblemKind> kind_of;
  for (const Problem& p : r->problems) kind_of.emplace(p.key, p.kind);
  CHECK(kind_of == std::map<std::string, ProblemKind>{
                       {t.key_of["truncated"], ProblemKind::kFileCorrupt},
                       {t.key_of["deleted"], ProblemKind::kFileMissing},
                   });
  CHECK(r->quick);
  CHECK(r->files_checked == 9);
  CHECK(r->bytes_checked > 0);
  CHECK_THAT(RenderVerifyText(*r), Catch::Contains("quick check of 10 stored slices"));
  CHECK(nlohmann::json::parse(RenderVerifyJson(*r))["mode"] == "quick");
}

TEST_CASE("entries without a digest are checked by rows only and counted", "[verify]") {
  ScratchDir dir;
  SeriesBuilder b(dir.path());
  for (int i = 0; i < 4; ++i) b.Stored(kBase + i, SliceStatus::kOk, 5).digest.reset();
  b.Stored(kBase + 4, SliceStatus::kOk, 5);  // upgraded already
  b.Write();
  auto clean = Verify(dir.path(), {});
  REQUIRE(clean.ok());
  INFO(RenderVerifyText(*clean));
  CHECK(clean->problems.empty());
  CHECK(clean->no_digest == 4);
  REQUIRE(clean->notices.size() == 1);
  CHECK(clean->notices[0].kind == ProblemKind::kNoDigest);
  CHECK_THAT(clean->notices[0].detail, Catch::StartsWith("4 stored slices have no digest"));
  CHECK_THAT(RenderVerifyText(*clean),
             Catch::Contains("1 files hashed against their digest, 4 without a digest"));
  CHECK(nlohmann::json::parse(RenderVerifyJson(*clean))["no_digest"] == 4);

  // Without a digest, a value changed so that rows still make sense cannot be seen; one that
  // makes no sense is.
  EditData(b.ResponsePath(kBase),
           [](std::string d) { return ReplaceFirst(d, R"("10.0")", R"("10.5")"); });
  EditData(b.ResponsePath(kBase + 1),
           [](std::string d) { return ReplaceFirst(d, R"("0.5")", R"("2.5")"); });  // low > high
  auto r = Verify(dir.path(), {});
  REQUIRE(r.ok());
  REQUIRE(r->problems.size() == 1);
  CHECK(r->problems[0].key == b.KeyText(kBase + 1));
  CHECK(r->problems[0].kind == ProblemKind::kBadData);
  CHECK_THAT(r->problems[0].detail, Catch::Contains("low above high"));
}

TEST_CASE("irregular rows the exchange serves are a notice, not a problem", "[verify]") {
  ScratchDir dir;
  SeriesBuilder b(dir.path());
  const klines::KlineSliceKey k = b.Key(kBase);
  // An open time off the grid (as in February 2018), its close time the last trade's.
  const std::string body =
      "[[" + std::to_string(k.start_ms) + R"(,"1.0","2.0","0.5","1.5","10.0",)" +
      std::to_string(k.start_ms + 59999) + R"(,"15.0",7,"5.0","7.5","0"],[)" +
      std::to_string(k.start_ms + 94789) + R"(,"1.0","2.0","0.5","1.5","10.0",)" +
      std::to_string(k.start_ms + 100000) + R"(,"15.0",7,"5.0","7.5","0"]])";
  ManifestEntry& e = b.Stored(kBase, SliceStatus::kOk, 2, body);
  e.last_ts = k.start_ms + 94789;
  b.Write();
  auto r = Verify(dir.path(), {});
  REQUIRE(r.ok());
  INFO(RenderVerifyText(*r));
  CHECK(r->problems.empty());
  REQUIRE(r->notices.size() == 1);
  CHECK(r->notices[0].kind == ProblemKind::kIrregularRows);
  CHECK(r->notices[0].key == k.composite_key());
  CHECK_THAT(r->notices[0].detail, Catch::Contains("1 irregular rows, first row 1") &&
                                       Catch::Contains("off the 1m grid") &&
                                       Catch::Contains("the exchange's own"));
  CHECK_THAT(RenderVerifyText(*r),
             Catch::Contains(k.composite_key() + "  irregular-rows (notice): "));
  CHECK(r->RepairKeys().empty());
}

// n aggregate trades from id `from`, one underlying trade each (f = l = 100 + id), 1 ms apart;
// `break_at` (>= 0) skips one underlying trade id before that row.
std::string TradesBody(int64_t from, int n, int break_at = -1) {
  std::string s = "[";
  int64_t f = 100 + from;
  for (int i = 0; i < n; ++i) {
    if (i == break_at) ++f;
    if (i) s += ",";
    s += "{\"a\":" + std::to_string(from + i) +
         ",\"p\":\"10.5\",\"q\":\"0.25\",\"f\":" + std::to_string(f) +
         ",\"l\":" + std::to_string(f) + ",\"T\":" + std::to_string(1600000000000 + from + i) +
         ",\"m\":false,\"M\":true}";
    ++f;
  }
  return s + "]";
}

TEST_CASE("verify, status and holes read an aggTrades series (ids, not times)", "[verify]") {
  ScratchDir dir;
  const Endpoint& e = *FindEndpoint("aggTrades");
  auto key = [&](int64_t k) { return e.GridSlice("BTCUSDT", "id", k, 1000); };
  testing::WriteSeries(dir.path(), "aggTrades", "id",
                       {{key(0), SliceStatus::kOk},
                        {key(1), SliceStatus::kOk},
                        {key(2), SliceStatus::kOk},
                        {key(3), SliceStatus::kPartial}},
                       [&](const SliceKey& k) {
                         return TradesBody(k.start_ms, k.start_ms == 3000 ? 10 : 1000,
                                           k.start_ms == 2000 ? 5 : -1);
                       });
  // Slice 1's bytes changed after they were stored: one price made 0.
  const fs::path series = *SeriesDir(dir.path(), "aggTrades", "BTCUSDT", "id");
  std::string tampered = TradesBody(1000, 1000);
  tampered.replace(tampered.find("\"p\":\"10.5\"", 500), 10, "\"p\":\"0.0\"");
  testing::WriteRaw(
      series / ResponseRelativePath(SliceId(key(1).composite_key())),
      EncodeResponseFile({"http://x", key(1).composite_key(), "2025-01-01T00:00:00Z"}, tampered));
  auto r = Verify(dir.path(), {});
  REQUIRE(r.ok());
  INFO(RenderVerifyText(*r));
  CHECK(r->files_checked == 4);
  REQUIRE(r->problems.size() == 1);
  CHECK(r->problems[0].kind == ProblemKind::kBadData);
  CHECK(r->problems[0].key == "BTCUSDT:id:1000-1999:1000");
  CHECK_THAT(r->problems[0].detail, Catch::Contains("price p 0.0 not above 0") &&
                                        Catch::Contains("the digest does not match"));
  REQUIRE(r->notices.size() == 1);
  CHECK(r->notices[0].key == "BTCUSDT:id:2000-2999:1000");
  CHECK_THAT(r->notices[0].detail,
             Catch::Contains("1 irregular rows, first row 5 (id 2005): f 2106, not the previous "
                             "row's l + 1 = 2105"));
  CHECK(r->RepairKeys().size() == 1);

  // Status: ids, no gap, the partial tail is no problem.
  auto status = BuildStatusReport(dir.path(), {});
  REQUIRE(status.ok());
  CHECK_FALSE(status->HasProblem());
  CHECK_THAT(RenderStatusText(*status), Catch::Contains("aggTrades/BTCUSDT/id  id 0 "));
  // Holes: ids are contiguous, there is no ledger to keep.
  auto holes = BuildHolesLedger(dir.path(), {});
  REQUIRE(holes.ok());
  REQUIRE(holes->series.size() == 1);
  CHECK(holes->series[0].error.empty());
  CHECK(holes->series[0].holes.empty());
  CHECK_FALSE(holes->series[0].ledger);
  CHECK(holes->series[0].ok_slices == 3);
  CHECK_FALSE(holes->HasProblem());
  CHECK_THAT(RenderHolesText(*holes),
             Catch::Contains("aggTrades/BTCUSDT/id  no ledger: its items are not one per grid "
                             "step, so a stored slice lacks none (3 ok slices)\n"));
}

// status, verify and holes of `root`, as JSON, with what only the backend changes taken out
// (where the manifest lives and its size).
struct Reports {
  std::string status, verify, holes;
  std::map<std::string, std::vector<std::string>> repair_keys;
};
Reports ReportsOf(const fs::path& root) {
  Reports r;
  auto status = BuildStatusReport(root, {});
  REQUIRE(status.ok());
  auto j = nlohmann::ordered_json::parse(RenderStatusJson(*status));
  j.erase("state");
  j.erase("state_db_bytes");
  for (auto& s : j["series"]) {
    s["bytes"].erase("manifest");
    s["bytes"].erase("total");
  }
  r.status = j.dump(1);
  auto verify = Verify(root, {});
  REQUIRE(verify.ok());
  r.verify = RenderVerifyJson(*verify);
  r.repair_keys = verify->RepairKeys();
  auto holes = BuildHolesLedger(root, {});
  REQUIRE(holes.ok());
  r.holes = RenderHolesJson(*holes);
  return r;
}

// The same root read through manifest.json files, then through state.sqlite3: the same reports.
void CheckSameOnBothBackends(const fs::path& root) {
  REQUIRE(DetectStateBackend(root) == StateBackend::kJson);
  const Reports json = ReportsOf(root);
  auto m = Migrate(root, StateBackend::kSqlite);
  INFO(m.error());
  REQUIRE(m.ok());
  REQUIRE(DetectStateBackend(root) == StateBackend::kSqlite);
  const Reports sqlite = ReportsOf(root);
  CHECK(sqlite.status == json.status);
  CHECK(sqlite.verify == json.verify);
  CHECK(sqlite.holes == json.holes);
  CHECK(sqlite.repair_keys == json.repair_keys);
  auto status = BuildStatusReport(root, {});
  REQUIRE(status.ok());
  CHECK(status->backend == StateBackend::kSqlite);
  CHECK(status->state_db_bytes > 0);
  CHECK_THAT(RenderStatusText(*status),
             Catch::Contains("state: " + (root / "state.sqlite3").string()));
}

TEST_CASE("status, verify and holes read a SQLite root exactly as its manifest.json files",
          "[verify][sqlite]") {
  SECTION("every kind of damage") {
    DamagedRoot d;
    CheckSameOnBothBackends(d.dir.path());
    auto r = Verify(d.dir.path(), {});
    REQUIRE(r.ok());
    CHECK(r->problems.size() == 8);  // the listed file missing, the orphan... as on JSON
    CHECK(ByKind(*r).count(ProblemKind::kFileMissing) == 1);
  }
  SECTION("every kind of tampering, digests included") {
    TamperedRoot t;
    CheckSameOnBothBackends(t.dir.path());
    auto r = Verify(t.dir.path(), {});
    REQUIRE(r.ok());
    CHECK(ByKind(*r).count(ProblemKind::kDigestMismatch) == 1);
    CHECK(r->problems.size() == 8);
  }
  SECTION("failed, pending and missing slices") {
    ScratchDir dir;
    SeriesBuilder b(dir.path());
    b.Stored(kBase);
    b.Stored(kBase + 1, SliceStatus::kOk, 1000);
    b.Failed(kBase + 3, 500, "HTTP 500 from Binance");
    b.Pending(kBase + 4);
    b.Stored(kBase + 6, SliceStatus::kPartial, 0);
    b.manifest().slices[b.KeyText(kBase + 1)].holes_confirmed_at = "2025-01-02T00:00:00Z";
    b.Write();
    CheckSameOnBothBackends(dir.path());
    auto status = BuildStatusReport(dir.path(), {});
    REQUIRE(status.ok());
    REQUIRE(status->series.size() == 1);
    CHECK(status->series[0].failed == 1);
    CHECK(status->series[0].missing == 3);  // kBase+2, the pending kBase+4, kBase+5
  }
}

TEST_CASE(
    "verify of a SQLite root: a series only the database knows, ignored manifests and "
    "leftovers",
    "[verify][sqlite]") {
  ScratchDir dir;
  SeriesBuilder b(dir.path());
  b.Stored(kBase);
  b.Write();
  const std::string manifest_bytes = *ReadFile(b.dir() / "manifest.json");
  REQUIRE(Migrate(dir.path(), StateBackend::kSqlite).ok());
  {
    // A series with no folder yet (only pending slices): the database alone knows it.
    auto db = StateDb::Open(dir.path(), StateDb::Mode::kReadWrite);
    REQUIRE(db.ok());
    SeriesBuilder eth(dir.path(), "ETHUSDT");
    eth.Pending(kBase);
    REQUIRE((*db)->ReplaceManifest(eth.manifest()).ok());
  }
  fs::remove_all(dir.path() / "binance/klines/raw/ETHUSDT");
  // What an interrupted migrate or a persister leaves.
  testing::WriteRaw(b.dir() / "manifest.json", manifest_bytes);
  testing::WriteRaw(dir.path() / "state.sqlite3.999.tmp", "x");
  testing::WriteRaw(dir.path() / "state.sqlite3.corrupt-20250101T000000Z", "x");
  auto r = Verify(dir.path(), {});
  REQUIRE(r.ok());
  const std::string text = RenderVerifyText(*r);
  INFO(text);
  CHECK(r->series_checked == 2);
  CHECK(ByKind(*r) == std::multimap<ProblemKind, std::string>{
                          {ProblemKind::kTempFile, "-"},
                          {ProblemKind::kCorruptManifestKept, "-"},
                      });
  REQUIRE(r->notices.size() == 1);
  CHECK(r->notices[0].kind == ProblemKind::kIgnoredManifest);
  CHECK_THAT(text, Catch::Contains("ignored-manifest (notice): " +
                                   (b.dir() / "manifest.json").string() + ": not read"));
  auto status = BuildStatusReport(dir.path(), {});
  REQUIRE(status.ok());
  REQUIRE(status->series.size() == 2);
  CHECK(status->series[1].series.Name() == "klines/ETHUSDT/1m");
  CHECK(status->series[1].manifest_error.empty());
  CHECK(status->series[1].pending == 1);
  // The stale manifest.json is not what status reads: the database's series has one slice.
  b.Stored(kBase + 1);
  b.Write();
  status = BuildStatusReport(dir.path(), {});
  REQUIRE(status.ok());
  CHECK(status->series[0].ok == 1);
}

TEST_CASE("a SQLite root whose database does not open is an error naming it", "[verify][sqlite]") {
  ScratchDir dir;
  SeriesBuilder b(dir.path());
  b.Stored(kBase);
  b.Write();
  testing::WriteRaw(dir.path() / "state.sqlite3", std::string(4096, 'z'));
  auto status = BuildStatusReport(dir.path(), {});
  REQUIRE_FALSE(status.ok());
  CHECK(status.status().IsCorruption());
  CHECK_THAT(status.error(), Catch::Contains((dir.path() / "state.sqlite3").string()));
  auto verify = Verify(dir.path(), {});
  REQUIRE_FALSE(verify.ok());
  CHECK_THAT(verify.error(), Catch::Contains((dir.path() / "state.sqlite3").string()));
  auto holes = BuildHolesLedger(dir.path(), {});
  CHECK_FALSE(holes.ok());
}

}  // namespace
}  // namespace qlir::status_tool
