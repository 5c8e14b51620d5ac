// The persister's decisions without sockets, on a manual clock: results become files and
// manifest entries, DURABLE notices wait for the directory fsync and go only to live
// subscribers, control messages are answered.
#include "persister/intake.h"

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "common/atomic_file.h"
#include "common/body_digest.h"
#include "common/clock.h"
#include "common/manifest.h"
#include "common/response_file.h"
#include "common/time_util.h"
#include "persister/json_manifest_store.h"
#include "persister/test_util.h"
#include "tests/test_util.h"

namespace qlir::persister {
namespace {

using testing::FaultyDisk;
using testing::MakeResult;
using testing::ResponsePath;
using testing::Slice;
namespace fs = std::filesystem;

constexpr int64_t kSubscriptionMs = 10000;

struct Rig {
  qlir::testing::ScratchDir dir;
  ManualClock clock{1735689683000};
  FaultyDisk disk;
  JsonManifestStore store;
  Intake intake;

  explicit Rig(int write_threads = 1)
      : Rig(IntakeOptions{
            .data_root = {}, .write_threads = write_threads, .subscription_ms = kSubscriptionMs}) {}
  // options.data_root is the scratch directory whatever it holds.
  explicit Rig(IntakeOptions options)
      : store(dir.path(), StoreOptions(&clock), &disk),
        intake(WithRoot(std::move(options), dir.path()), &store, &disk, &clock) {}
  static IntakeOptions WithRoot(IntakeOptions o, const fs::path& root) {
    o.data_root = root;
    return o;
  }

  static JsonStoreOptions StoreOptions(Clock* clock) {
    JsonStoreOptions o;
    o.clock = clock;
    return o;
  }
  int64_t now() const { return clock.MonotonicNowMs(); }
  void Hello(const std::string& peer) {
    CHECK_FALSE(intake.OnControl(peer, wire::Hello{"planner-" + peer}, now()));
  }
  // Every page, as a planner asks them.
  std::map<std::string, std::string> Statuses() {
    std::map<std::string, std::string> out;
    std::string after;
    for (uint64_t id = 7;; ++id) {
      auto reply = intake.OnControl(
          "asker", wire::StatusRequest{id, "klines", "BTCUSDT", "1m", after, 0}, now());
      REQUIRE(reply);
      const auto& r = std::get<wire::StatusReply>(*reply);
      CHECK(r.request_id == id);
      CHECK(r.error.empty());
      for (const auto& s : r.slices) out[s.key] = s.status;
      if (!r.more) return out;
      REQUIRE_FALSE(r.slices.empty());
      after = r.slices.back().key;
    }
  }
};

// Which peers got which (key, status) in the DURABLE notices of one Commit.
std::map<std::string, std::map<std::string, std::string>> ByPeer(
    const std::vector<Intake::Outgoing>& out) {
  std::map<std::string, std::map<std::string, std::string>> by;
  for (const Intake::Outgoing& o : out) {
    const auto& d = std::get<wire::Durable>(o.message);
    CHECK(d.endpoint == "klines");
    for (const auto& s : d.slices) by[o.peer][s.key] = s.status;
  }
  return by;
}

}  // namespace

TEST_CASE("intake: results are written, recorded, and announced only after the fsync", "[intake]") {
  Rig r;
  r.Hello("p1");
  const auto ok = Slice(1), partial = Slice(2), failed = Slice(3);
  r.intake.OnResult(MakeResult(ok, "ok"));
  r.intake.OnResult(MakeResult(partial, "partial"));
  r.intake.OnResult(MakeResult(failed, "failed"));
  // The failure is recorded at once; the two files wait for the batch.
  CHECK_FALSE(fs::exists(ResponsePath(r.dir.path(), ok)));
  r.intake.WriteBatch();
  CHECK(fs::exists(ResponsePath(r.dir.path(), ok)));
  CHECK(fs::exists(ResponsePath(r.dir.path(), partial)));
  CHECK_FALSE(fs::exists(ResponsePath(r.dir.path(), failed)));
  CHECK(r.intake.commit_pending());
  CHECK_FALSE(r.intake.files_durable());

  // A directory that cannot be fsynced holds every acknowledgement back.
  r.disk.fail_syncs = true;
  CHECK(r.intake.Commit(r.now()).empty());
  CHECK(r.intake.commit_pending());
  r.disk.fail_syncs = false;
  auto out = r.intake.Commit(r.now());
  CHECK(r.intake.files_durable());
  CHECK_FALSE(r.intake.commit_pending());
  auto by = ByPeer(out);
  REQUIRE(by.size() == 1);
  CHECK(by["p1"] == std::map<std::string, std::string>{{ok.composite_key(), "ok"},
                                                       {partial.composite_key(), "partial"},
                                                       {failed.composite_key(), "failed"}});
  CHECK(r.Statuses() == by["p1"]);
  const Counters c = r.intake.Snapshot();
  CHECK(c.at("results_received") == 3);
  CHECK(c.at("files_written") == 2);
  CHECK(c.at("recorded_failed") == 1);
  CHECK(c.at("fsync_errors") == 1);
}

TEST_CASE("intake: statuses come a page at a time - in key order - within the page's bytes",
          "[intake]") {
  IntakeOptions options;
  options.subscription_ms = kSubscriptionMs;
  options.status_page_slices = 3;
  Rig r(options);
  for (int i = 1; i <= 7; ++i)
    r.intake.OnResult(MakeResult(Slice(20 + i), i == 5 ? "failed" : "ok"));
  REQUIRE(r.intake.Drain(r.now()).ok());
  auto page = [&](const std::string& after, uint64_t max) {
    auto reply = r.intake.OnControl(
        "planner", wire::StatusRequest{1, "klines", "BTCUSDT", "1m", after, max}, r.now());
    REQUIRE(reply);
    auto p = std::get<wire::StatusReply>(*reply);
    CHECK(p.error.empty());
    return p;
  };
  auto keys = [](const wire::StatusReply& p) {
    std::vector<std::string> k;
    for (const auto& s : p.slices) k.push_back(s.key);
    return k;
  };
  // Keys of one length, so that key order is grid order.
  const auto K = [](int i) { return Slice(20 + i).composite_key(); };
  // max 0: the persister's page size; a larger max is held to it.
  auto p1 = page("", 0);
  CHECK(keys(p1) == std::vector<std::string>{K(1), K(2), K(3)});
  CHECK(p1.more);
  CHECK(keys(page("", 100)) == keys(p1));
  auto p2 = page(K(3), 0);
  CHECK(keys(p2) == std::vector<std::string>{K(4), K(5), K(6)});
  CHECK(p2.slices[1].status == "failed");
  CHECK(p2.more);
  auto p3 = page(K(6), 0);
  CHECK(keys(p3) == std::vector<std::string>{K(7)});
  CHECK_FALSE(p3.more);
  // Strictly after `after`, which need not be a stored key; a smaller max; past the end: empty.
  CHECK(keys(page(K(2) + "x", 2)) == std::vector<std::string>{K(3), K(4)});
  auto end = page(K(7), 0);
  CHECK(end.slices.empty());
  CHECK_FALSE(end.more);
  // A request of an older planner (no `after`, no `max`): the first page.
  auto old =
      r.intake.OnControl("planner", wire::StatusRequest{9, "klines", "BTCUSDT", "1m"}, r.now());
  REQUIRE(old);
  CHECK(keys(std::get<wire::StatusReply>(*old)) == keys(p1));
  CHECK(r.Statuses().size() == 7);
  CHECK(r.intake.Snapshot().at("status_pages") >= 8);

  // Bytes: a page ends before its slices pass status_page_bytes (here about two slices' worth),
  // and always holds one slice.
  IntakeOptions small = options;
  small.status_page_slices = 100;
  small.status_page_bytes = 2 * (K(1).size() + 2 + 11);
  Rig b(small);
  for (int i = 1; i <= 5; ++i) b.intake.OnResult(MakeResult(Slice(20 + i), "ok"));
  REQUIRE(b.intake.Drain(b.now()).ok());
  auto first =
      b.intake.OnControl("planner", wire::StatusRequest{1, "klines", "BTCUSDT", "1m"}, b.now());
  REQUIRE(first);
  const auto& f = std::get<wire::StatusReply>(*first);
  CHECK(keys(f) == std::vector<std::string>{K(1), K(2)});
  CHECK(f.more);
  CHECK(b.Statuses().size() == 5);
  IntakeOptions tiny = small;
  tiny.status_page_bytes = 1;
  Rig t(tiny);
  for (int i = 1; i <= 2; ++i) t.intake.OnResult(MakeResult(Slice(20 + i), "ok"));
  REQUIRE(t.intake.Drain(t.now()).ok());
  CHECK(t.Statuses().size() == 2);  // one slice a page
}

TEST_CASE("intake: a subscription lasts subscription_ms and is renewed by HELLO or STATUS_REQUEST",
          "[intake]") {
  Rig r;
  r.Hello("early");
  r.clock.Advance(kSubscriptionMs - 1);
  r.Hello("late");
  r.intake.OnResult(MakeResult(Slice(1), "failed"));
  auto by = ByPeer(r.intake.Commit(r.now()));
  CHECK(by.size() == 2);  // both still subscribed

  r.clock.Advance(2);  // "early" expired, "late" not
  r.intake.OnResult(MakeResult(Slice(2), "failed"));
  by = ByPeer(r.intake.Commit(r.now()));
  CHECK(by.size() == 1);
  CHECK(by.contains("late"));
  CHECK(r.intake.subscribers() == 1);

  // Asking for statuses subscribes too; a peer the socket lost is forgotten at once.
  (void)r.Statuses();
  r.intake.OnPeerGone("late");
  r.intake.OnResult(MakeResult(Slice(3), "failed"));
  by = ByPeer(r.intake.Commit(r.now()));
  CHECK(by.size() == 1);
  CHECK(by.contains("asker"));

  r.clock.Advance(kSubscriptionMs + 1);  // nobody left: notices are dropped, not queued
  r.intake.OnResult(MakeResult(Slice(4), "failed"));
  CHECK(r.intake.Commit(r.now()).empty());
  CHECK_FALSE(r.intake.commit_pending());
}

TEST_CASE("intake: notices are batched per endpoint, kSlicesPerNotice at most per message",
          "[intake]") {
  Rig r;
  r.Hello("p");
  const int n = static_cast<int>(Intake::kSlicesPerNotice) + 3;
  for (int i = 0; i < n; ++i) r.intake.OnResult(MakeResult(Slice(100 + i), "failed"));
  auto out = r.intake.Commit(r.now());
  REQUIRE(out.size() == 2);
  CHECK(std::get<wire::Durable>(out[0].message).slices.size() == Intake::kSlicesPerNotice);
  CHECK(std::get<wire::Durable>(out[1].message).slices.size() == 3);
}

TEST_CASE("intake: the stored result decides, in arrival order, even within one batch",
          "[intake]") {
  Rig r(/*write_threads=*/4);
  r.Hello("p");
  const auto k = Slice(5);
  r.intake.OnResult(MakeResult(k, "partial", 2));
  r.intake.OnResult(MakeResult(k, "ok", 4));       // same key: the batch is written first
  r.intake.OnResult(MakeResult(k, "failed"));      // never replaces a stored response
  r.intake.OnResult(MakeResult(k, "partial", 1));  // nor does partial replace ok
  r.intake.WriteBatch();
  auto by = ByPeer(r.intake.Commit(r.now()));
  CHECK(by["p"].at(k.composite_key()) == "ok");
  CHECK(r.Statuses().at(k.composite_key()) == "ok");
  CHECK(r.intake.Snapshot().at("results_superseded") == 2);
}

TEST_CASE("intake: a claimed ok fetched before its window closed is stored as partial",
          "[intake]") {
  Rig r;
  const auto k = Slice(6);
  wire::FetchResult early = MakeResult(k, "ok");
  early.server_time_ms = k.end_ms;  // the window's last millisecond: still open
  r.intake.OnResult(early);
  r.intake.WriteBatch();
  (void)r.intake.Commit(r.now());
  CHECK(r.Statuses().at(k.composite_key()) == "partial");
}

TEST_CASE("intake: bad results are dropped or recorded failed, never stored", "[intake]") {
  Rig r;
  // Slice i's ok result with one claim spoiled.
  auto spoiled = [&](int i, std::string wire::FetchResult::*field, std::string value) {
    wire::FetchResult result = MakeResult(Slice(i), "ok");
    result.*field = std::move(value);
    r.intake.OnResult(result);
  };
  spoiled(1, &wire::FetchResult::endpoint, "trades");
  spoiled(2, &wire::FetchResult::key, "BTCUSDT:1m:oops");
  spoiled(3, &wire::FetchResult::outcome, "pending");
  spoiled(4, &wire::FetchResult::body, "{\"code\":-1003}");
  r.intake.WriteBatch();
  (void)r.intake.Commit(r.now());
  auto statuses = r.Statuses();
  CHECK(statuses.size() == 1);
  CHECK(statuses.at(Slice(4).composite_key()) == "failed");
  CHECK_FALSE(fs::exists(ResponsePath(r.dir.path(), Slice(4))));
  CHECK(r.intake.Snapshot().at("results_dropped") == 1);  // the unknown endpoint
}

TEST_CASE("intake: a file that cannot be written is neither recorded nor acknowledged",
          "[intake]") {
  Rig r;
  r.Hello("p");
  r.disk.fail_writes = true;
  r.intake.OnResult(MakeResult(Slice(1), "ok"));
  r.intake.WriteBatch();
  CHECK(r.intake.Commit(r.now()).empty());
  CHECK(r.Statuses().empty());
  CHECK(r.intake.Snapshot().at("write_errors") == 1);
  r.disk.fail_writes = false;  // the planner's lease expires and the job comes again
  r.intake.OnResult(MakeResult(Slice(1), "ok"));
  auto drained = r.intake.Drain(r.now());
  REQUIRE(drained.ok());
  CHECK(ByPeer(*drained)["p"].at(Slice(1).composite_key()) == "ok");
}

TEST_CASE("intake: MARK_PENDING sets known slices pending and names what it cannot parse",
          "[intake]") {
  Rig r;
  r.intake.OnResult(MakeResult(Slice(1), "ok"));
  r.intake.WriteBatch();
  (void)r.intake.Commit(r.now());
  auto reply = r.intake.OnControl(
      "tool", wire::MarkPending{9, "klines", {Slice(1).composite_key(), Slice(2).composite_key()}},
      r.now());
  REQUIRE(reply);
  const auto& ack = std::get<wire::Ack>(*reply);
  CHECK(ack.request_id == 9);
  CHECK(ack.count == 1);  // the unknown slice is ignored
  CHECK(ack.error.empty());
  CHECK(r.Statuses().at(Slice(1).composite_key()) == "pending");

  reply = r.intake.OnControl("tool", wire::MarkPending{10, "klines", {"garbage"}}, r.now());
  REQUIRE(reply);
  CHECK_FALSE(std::get<wire::Ack>(*reply).error.empty());
  reply = r.intake.OnControl("tool", wire::StatusRequest{11, "trades", "BTCUSDT", "1m"}, r.now());
  REQUIRE(reply);
  CHECK(std::get<wire::StatusReply>(*reply).error.find("trades") != std::string::npos);
  CHECK_FALSE(r.intake.OnControl("tool", wire::Heartbeat{"x"}, r.now()));  // not ours: dropped
}

TEST_CASE("intake: a stored slice records the digest of the body bytes it wrote", "[intake]") {
  Rig r(2);
  const auto ok = Slice(1), partial = Slice(2), failed = Slice(3);
  const wire::FetchResult ok_result = MakeResult(ok, "ok", 7);
  r.intake.OnResult(ok_result);
  r.intake.OnResult(MakeResult(partial, "partial", 2));
  r.intake.OnResult(MakeResult(failed, "failed"));
  r.intake.WriteBatch();
  const Manifest* m = r.store.Peek(SeriesId{"klines", "BTCUSDT", "1m"});
  REQUIRE(m);
  for (const auto& k : {ok, partial}) {
    INFO(k.composite_key());
    auto text = ReadFile(ResponsePath(r.dir.path(), k));
    REQUIRE(text.ok());
    auto file = DecodeResponseFile(*text, "f");
    REQUIRE(file.ok());
    const ManifestEntry& e = m->slices.at(k.composite_key());
    REQUIRE(e.digest);
    CHECK(*e.digest == BodyDigest(file->data));  // the bytes as stored
  }
  CHECK(*m->slices.at(ok.composite_key()).digest == BodyDigest(ok_result.body));
  CHECK(m->slices.at(ok.composite_key()).digest != m->slices.at(partial.composite_key()).digest);
  CHECK_FALSE(m->slices.at(failed.composite_key()).digest);  // a failure has no file
  // The manifest written by the store carries it.
  REQUIRE(r.store.Flush().ok());
  auto written = ParseManifestFile((testing::SeriesPath(r.dir.path()) / "manifest.json").string());
  REQUIRE(written.ok());
  CHECK(written->slices.at(ok.composite_key()).digest == BodyDigest(ok_result.body));
  // MARK_PENDING: no stored response is vouched for any more.
  auto ack =
      r.intake.OnControl("repairer", wire::MarkPending{9, "klines", {ok.composite_key()}}, r.now());
  REQUIRE(ack);
  CHECK_FALSE(
      r.store.Peek(SeriesId{"klines", "BTCUSDT", "1m"})->slices.at(ok.composite_key()).digest);
}

// The PENDING notices of one Commit: peer -> key -> reason (other messages are skipped).
std::map<std::string, std::map<std::string, std::string>> PendingByPeer(
    const std::vector<Intake::Outgoing>& out) {
  std::map<std::string, std::map<std::string, std::string>> by;
  for (const Intake::Outgoing& o : out) {
    const auto* p = std::get_if<wire::Pending>(&o.message);
    if (!p) continue;
    CHECK(p->endpoint == "klines");
    for (const auto& k : p->keys) by[o.peer][k] = p->reason;
  }
  return by;
}

TEST_CASE("intake: slices marked pending are announced to subscribers - after the DURABLEs",
          "[intake]") {
  Rig r;
  r.Hello("planner");
  for (int i : {1, 2, 3}) r.intake.OnResult(MakeResult(Slice(i), "ok"));
  r.intake.WriteBatch();
  CHECK(ByPeer(r.intake.Commit(r.now()))["planner"].size() == 3);

  // A result written but not yet announced (its directory cannot be fsynced), then a mark.
  r.intake.OnResult(MakeResult(Slice(4), "ok"));
  r.intake.WriteBatch();
  r.disk.fail_syncs = true;
  CHECK(r.intake.Commit(r.now()).empty());
  auto reply = r.intake.OnControl(
      "tool",
      wire::MarkPending{
          9,
          "klines",
          {Slice(1).composite_key(), Slice(4).composite_key(), Slice(7).composite_key()}},
      r.now());
  REQUIRE(reply);
  CHECK(std::get<wire::Ack>(*reply).count == 2);
  CHECK(r.intake.Commit(r.now()).empty());  // still held with the DURABLE of slice 4
  r.disk.fail_syncs = false;
  auto out = r.intake.Commit(r.now());
  REQUIRE(out.size() == 2);
  // In order: the DURABLE of slice 4 (recorded before the mark), then the PENDING.
  CHECK(std::get<wire::Durable>(out[0].message).slices.at(0).key == Slice(4).composite_key());
  const auto pending = PendingByPeer(out);
  // Only the keys the persister knows, now pending; the unknown slice 7 is not announced.
  CHECK(pending.at("planner") == std::map<std::string, std::string>{
                                     {Slice(1).composite_key(), "marked pending by MARK_PENDING"},
                                     {Slice(4).composite_key(), "marked pending by MARK_PENDING"}});
  CHECK(r.intake.Snapshot().at("pending_notices") == 2);
  CHECK(r.intake.Commit(r.now()).empty());  // announced once
}

TEST_CASE("intake: with nobody subscribed PENDING is held - unless the slice is stored again",
          "[intake]") {
  Rig r;
  for (int i : {1, 2}) r.intake.OnResult(MakeResult(Slice(i), "ok"));
  r.intake.WriteBatch();
  CHECK(r.intake.Commit(r.now()).empty());  // nobody subscribed
  auto reply = r.intake.OnControl(
      "tool", wire::MarkPending{9, "klines", {Slice(1).composite_key(), Slice(2).composite_key()}},
      r.now());
  REQUIRE(reply);
  CHECK(r.intake.Commit(r.now()).empty());
  CHECK(r.intake.Snapshot().at("pending_notices_waiting") == 2);
  // Slice 2 is fetched again before anyone subscribes: its DURABLE will say ok, no PENDING.
  r.intake.OnResult(MakeResult(Slice(2), "ok", 4));
  r.intake.WriteBatch();
  CHECK(r.intake.Commit(r.now()).empty());
  r.Hello("late-planner");
  auto by = PendingByPeer(r.intake.Commit(r.now()));
  CHECK(by.at("late-planner") == std::map<std::string, std::string>{
                                     {Slice(1).composite_key(), "marked pending by MARK_PENDING"}});
}

TEST_CASE("intake: slices recovery sets pending when a series loads are announced", "[intake]") {
  qlir::testing::ScratchDir dir;
  ManualClock clock{1735689683000};
  FaultyDisk disk;
  {
    JsonManifestStore store(dir.path(), Rig::StoreOptions(&clock), &disk);
    Intake intake(IntakeOptions{dir.path(), 1, kSubscriptionMs}, &store, &disk, &clock);
    for (int i : {1, 2}) intake.OnResult(MakeResult(Slice(i), "ok"));
    REQUIRE(intake.Drain(clock.MonotonicNowMs()).ok());
    REQUIRE(store.Flush().ok());
  }
  fs::remove(ResponsePath(dir.path(), Slice(2)));  // lost while the persister was down
  JsonManifestStore store(dir.path(), Rig::StoreOptions(&clock), &disk);
  Intake intake(IntakeOptions{dir.path(), 1, kSubscriptionMs}, &store, &disk, &clock);
  CHECK_FALSE(intake.OnControl("planner", wire::Hello{"planner"}, clock.MonotonicNowMs()));
  // The series loads (and recovers) on its first question.
  auto reply = intake.OnControl("planner", wire::StatusRequest{1, "klines", "BTCUSDT", "1m"},
                                clock.MonotonicNowMs());
  REQUIRE(reply);
  auto by = PendingByPeer(intake.Commit(clock.MonotonicNowMs()));
  CHECK(by.at("planner") == std::map<std::string, std::string>{
                                {Slice(2).composite_key(), "response file missing or damaged"}});
}

// Holes confirmed by a second fetch (issue 18, point 4): RECHECK notices, and what the answer does.
namespace {

constexpr int64_t kConfirmAfterMs = 600000;

// An ok result of `k` whose rows open at the given candle indexes of its window, completed (by
// our clock) at `completed_ms`.
wire::FetchResult WithRows(const klines::KlineSliceKey& k, const std::vector<int>& rows,
                           int64_t completed_ms) {
  wire::FetchResult r = MakeResult(k, "ok");
  std::string b = "[";
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i) b += ",";
    b += "[" + std::to_string(k.start_ms + rows[i] * 60000LL) +
         ",\"1.0\",\"2.0\",\"0.5\",\"1.5\",\"10\"]";
  }
  r.body = b + "]";
  r.n_items = static_cast<int64_t>(rows.size());
  r.first_ts = k.start_ms + rows.front() * 60000LL;
  r.last_ts = k.start_ms + rows.back() * 60000LL;
  r.requested_at_ms = completed_ms - 1000;
  r.completed_at_ms = completed_ms;
  return r;
}

std::vector<int> Candles(std::initializer_list<std::pair<int, int>> ranges) {
  std::vector<int> out;
  for (auto [from, to] : ranges) {
    for (int i = from; i <= to; ++i) out.push_back(i);
  }
  return out;
}

// Slice 2 lacks candles 10-989 (the exchange's gap); slice 3 is the newest data (3 candles,
// nothing missing before its last one).
const std::vector<int> kGapRows = Candles({{0, 9}, {990, 999}});

struct RecheckRig : Rig {
  RecheckRig()
      : Rig(IntakeOptions{.data_root = {},
                          .write_threads = 1,
                          .subscription_ms = kSubscriptionMs,
                          .confirm_holes_after_ms = kConfirmAfterMs,
                          .recheck_scan_every_ms = 1000}) {}
  // Stores slice 2 (with holes) and slice 3 (without), completed now.
  void StoreGapAndTail() {
    intake.OnResult(WithRows(Slice(2), kGapRows, clock.WallNowMs()));
    intake.OnResult(WithRows(Slice(3), {0, 1, 2}, clock.WallNowMs()));
    intake.WriteBatch();
  }
  // Advances the clock and commits with "p1" subscribed; returns the keys RECHECK named to p1.
  std::vector<std::string> AdvanceAndCommit(int64_t ms,
                                            std::vector<Intake::Outgoing>* all = nullptr) {
    clock.Advance(ms);
    Hello("p1");
    auto out = intake.Commit(now());
    std::vector<std::string> keys;
    for (const Intake::Outgoing& o : out) {
      if (const auto* rc = std::get_if<wire::Recheck>(&o.message)) {
        CHECK(o.peer == "p1");
        CHECK(rc->endpoint == "klines");
        keys.insert(keys.end(), rc->keys.begin(), rc->keys.end());
      }
    }
    if (all) *all = std::move(out);
    return keys;
  }
  ManifestEntry Entry(const klines::KlineSliceKey& k) {
    const Manifest* m = store.Peek(SeriesId{"klines", "BTCUSDT", "1m"});
    REQUIRE(m);
    return m->slices.at(k.composite_key());
  }
  std::string StoredData(const klines::KlineSliceKey& k) {
    auto text = ReadFile(ResponsePath(dir.path(), k));
    REQUIRE(text.ok());
    auto decoded = DecodeResponseFile(*text, "test");
    REQUIRE(decoded.ok());
    return std::string(decoded->data);
  }
};

std::map<std::string, std::string> DurableOf(const std::vector<Intake::Outgoing>& out) {
  std::map<std::string, std::string> by;
  for (const Intake::Outgoing& o : out) {
    if (const auto* d = std::get_if<wire::Durable>(&o.message)) {
      for (const auto& s : d->slices) by[s.key] = s.status;
    }
  }
  return by;
}

}  // namespace

TEST_CASE(
    "intake: issue18 - a slice with holes is rechecked once, confirm_after after it was stored",
    "[intake][recheck]") {
  RecheckRig r;
  r.Hello("p1");
  r.StoreGapAndTail();
  const std::string gap = Slice(2).composite_key();
  CHECK(r.AdvanceAndCommit(0).empty());
  CHECK(r.AdvanceAndCommit(kConfirmAfterMs - kSubscriptionMs - 1000).empty());  // not due yet
  // Due, but nobody is subscribed (the subscription lapsed): held.
  r.clock.Advance(kSubscriptionMs + 1000);
  CHECK(r.intake.Commit(r.now()).empty());
  CHECK(r.AdvanceAndCommit(0) == std::vector<std::string>{gap});  // the slice without holes: never
  // Once per run: not again, however long nobody answers.
  CHECK(r.AdvanceAndCommit(1000).empty());
  CHECK(r.AdvanceAndCommit(10 * kConfirmAfterMs).empty());

  // The second fetch returns the same rows: the file is kept, the holes are confirmed.
  const ManifestEntry before = r.Entry(Slice(2));
  const std::string data_before = r.StoredData(Slice(2));
  const int writes = r.disk.writes;
  const int64_t second_ms = r.clock.WallNowMs() + 3000;
  r.intake.OnResult(WithRows(Slice(2), kGapRows, second_ms));
  r.intake.WriteBatch();
  std::vector<Intake::Outgoing> out;
  CHECK(r.AdvanceAndCommit(0, &out).empty());
  CHECK(DurableOf(out) == std::map<std::string, std::string>{{gap, "ok"}});
  CHECK(r.disk.writes == writes);
  CHECK(r.StoredData(Slice(2)) == data_before);
  ManifestEntry after = r.Entry(Slice(2));
  CHECK(after.holes_confirmed_at == FormatIsoUtc(second_ms));
  after.holes_confirmed_at.reset();
  CHECK(after == before);  // nothing else changed (completed_at is still the first fetch's)
  CHECK_FALSE(r.Entry(Slice(3)).holes_confirmed_at);
  const Counters c = r.intake.Snapshot();
  CHECK(c.at("holes_confirmed") == 1);
  CHECK(c.at("recheck_changed") == 0);
  CHECK(c.at("rechecks_announced") == 1);
  CHECK(c.at("recheck_notices") == 1);
  // Written with the manifest: durable once flushed, and read back as stored.
  REQUIRE(r.store.Flush().ok());
  auto m = ParseManifestFile((testing::SeriesPath(r.dir.path()) / "manifest.json").string());
  REQUIRE(m.ok());
  CHECK(m->slices.at(gap).holes_confirmed_at == FormatIsoUtc(second_ms));
  // A confirmed slice is not asked about again.
  CHECK(r.AdvanceAndCommit(10 * kConfirmAfterMs).empty());
}

TEST_CASE("intake: issue18 - a recheck that returns other rows stores them, unconfirmed",
          "[intake][recheck]") {
  RecheckRig r;
  r.Hello("p1");
  r.StoreGapAndTail();
  const std::string gap = Slice(2).composite_key();
  REQUIRE(r.AdvanceAndCommit(kConfirmAfterMs) == std::vector<std::string>{gap});
  // The exchange has filled part of its gap meanwhile.
  const auto rows = Candles({{0, 499}, {990, 999}});
  const wire::FetchResult changed = WithRows(Slice(2), rows, r.clock.WallNowMs());
  r.intake.OnResult(changed);
  r.intake.WriteBatch();
  std::vector<Intake::Outgoing> out;
  CHECK(r.AdvanceAndCommit(0, &out).empty());
  CHECK(DurableOf(out) == std::map<std::string, std::string>{{gap, "ok"}});
  const ManifestEntry e = r.Entry(Slice(2));
  CHECK(e.status == SliceStatus::kOk);
  CHECK(e.n_items == 510);
  CHECK(e.digest == BodyDigest(changed.body));
  CHECK(e.completed_at == FormatIsoUtc(changed.completed_at_ms));
  CHECK_FALSE(e.holes_confirmed_at);
  CHECK(r.StoredData(Slice(2)) == changed.body);
  CHECK(r.intake.Snapshot().at("recheck_changed") == 1);
  CHECK(r.intake.Snapshot().at("holes_confirmed") == 0);
  // A new body: rechecked in its turn, confirm_after after it was stored.
  CHECK(r.AdvanceAndCommit(kConfirmAfterMs - 1000).empty());
  CHECK(r.AdvanceAndCommit(1000) == std::vector<std::string>{gap});
  // An ok result of a slice nobody asked about still never replaces a stored ok one.
  r.intake.OnResult(WithRows(Slice(3), {0, 1}, r.clock.WallNowMs()));
  r.intake.WriteBatch();
  r.AdvanceAndCommit(0);
  CHECK(r.Entry(Slice(3)).n_items == 3);
}

TEST_CASE("intake: issue18 - a failed recheck leaves the stored ok slice untouched",
          "[intake][recheck]") {
  RecheckRig r;
  r.Hello("p1");
  r.StoreGapAndTail();
  const std::string gap = Slice(2).composite_key();
  REQUIRE(r.AdvanceAndCommit(kConfirmAfterMs) == std::vector<std::string>{gap});
  const ManifestEntry before = r.Entry(Slice(2));
  const std::string data_before = r.StoredData(Slice(2));
  r.intake.OnResult(MakeResult(Slice(2), "failed"));
  // A body that is not JSON is a failure too.
  wire::FetchResult garbage = WithRows(Slice(2), kGapRows, r.clock.WallNowMs());
  garbage.body = "<html>maintenance</html>";
  r.intake.OnResult(garbage);
  r.intake.WriteBatch();
  std::vector<Intake::Outgoing> out;
  CHECK(r.AdvanceAndCommit(0, &out).empty());
  CHECK(DurableOf(out) == std::map<std::string, std::string>{{gap, "ok"}});
  CHECK(r.Entry(Slice(2)) == before);
  CHECK(r.StoredData(Slice(2)) == data_before);
  // Not asked again in this run.
  CHECK(r.AdvanceAndCommit(10 * kConfirmAfterMs).empty());
}

TEST_CASE("intake: issue18 - with confirm_holes_after_ms 0 nothing is rechecked",
          "[intake][recheck]") {
  Rig r;  // the default: off
  r.Hello("p1");
  r.intake.OnResult(WithRows(Slice(2), kGapRows, r.clock.WallNowMs()));
  r.intake.WriteBatch();
  r.intake.Commit(r.now());
  r.clock.Advance(10 * kConfirmAfterMs);
  r.Hello("p1");
  for (const Intake::Outgoing& o : r.intake.Commit(r.now())) {
    CHECK_FALSE(std::holds_alternative<wire::Recheck>(o.message));
  }
  CHECK_FALSE(r.intake.Snapshot().contains("rechecks_announced"));
}

TEST_CASE("hole rechecks: rounds are rate-bounded and files are read once per body",
          "[intake][recheck]") {
  Rig r;  // stores the slices; the rechecks are driven directly
  for (int i : {1, 2, 3}) r.intake.OnResult(WithRows(Slice(i), kGapRows, r.clock.WallNowMs()));
  r.intake.OnResult(WithRows(Slice(5), Candles({{0, 999}}), r.clock.WallNowMs()));  // full
  r.intake.WriteBatch();
  HoleRechecks h(RecheckOptions{.data_root = r.dir.path(),
                                .confirm_after_ms = kConfirmAfterMs,
                                .scan_every_ms = 1000,
                                .max_per_round = 2},
                 &r.store);
  auto keys_of = [](const std::map<std::string, std::vector<std::string>>& due) {
    std::set<std::string> keys;
    for (const auto& [endpoint, list] : due) {
      CHECK(endpoint == "klines");
      keys.insert(list.begin(), list.end());
    }
    return keys;
  };
  CHECK(h.TakeDue(r.now(), r.clock.WallNowMs()).empty());  // the series loaded: scanned, not due
  CHECK(h.Snapshot().at("recheck_candidates") == 3);
  CHECK(h.Snapshot().at("recheck_files_read") == 3);  // only the short slices 1-3 are opened
  r.clock.Advance(kConfirmAfterMs);
  auto first = keys_of(h.TakeDue(r.now(), r.clock.WallNowMs()));
  CHECK(first.size() == 2);
  CHECK(h.Snapshot().at("recheck_due") == 1);
  CHECK(h.TakeDue(r.now(), r.clock.WallNowMs()).empty());  // one round per scan_every_ms
  r.clock.Advance(1000);
  h.OnRecorded(SeriesId{"klines", "BTCUSDT", "1m"});  // rescanned, from the cache
  auto second = keys_of(h.TakeDue(r.now(), r.clock.WallNowMs()));
  CHECK(second.size() == 1);
  first.insert(second.begin(), second.end());
  CHECK(first == std::set<std::string>{Slice(1).composite_key(), Slice(2).composite_key(),
                                       Slice(3).composite_key()});
  for (const std::string& k : first) CHECK(h.AwaitsAnswer(k));
  r.clock.Advance(1000);
  CHECK(h.TakeDue(r.now(), r.clock.WallNowMs()).empty());
  CHECK(h.Snapshot().at("rechecks_announced") == 3);
  CHECK(h.Snapshot().at("recheck_files_read") == 3);
}

}  // namespace qlir::persister
