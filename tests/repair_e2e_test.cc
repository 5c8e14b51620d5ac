// End to end (issue 18, point 3): repair reaches the running pipeline. The real simulator,
// persister, fetchers and a planner running for ever (no --once); stored response files are
// damaged in every way the issue lists, the real `qlir-status verify --repair` asks the running
// persister to mark them pending, and the running planner fetches them again, with nothing
// restarted, until every slice is ok again and holds the exchange's bytes. Also the ledger of
// holes: a gap of the simulator appears with its exact range, unconfirmed, and is confirmed by
// the persister's second fetch (--confirm-holes-after-ms) with the pipeline running for ever.
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/atomic_file.h"
#include "common/data_root.h"
#include "common/json.h"
#include "common/klines/slice_key.h"
#include "common/manifest.h"
#include "common/response_file.h"
#include "common/time_util.h"
#include "tests/data_root_check.h"
#include "tests/pipeline_harness.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;
using namespace qlir;
using qlir::testing::Pipeline;
using qlir::testing::RunStatusTool;
using qlir::testing::ScratchDir;
using qlir::testing::Simulator;

namespace {

constexpr int64_t kStart = 1704067200000;  // 2024-01-01T00:00:00Z
constexpr int64_t kListing = 1502942400000;

// Polls `done` every 250 ms until it holds or `deadline_ms` passed; returns the time it took,
// or -1 when it never held. A deadline, not a timed assertion: the figure is only printed.
int64_t WaitFor(const std::function<bool()>& done, int64_t deadline_ms) {
  const auto start = std::chrono::steady_clock::now();
  for (;;) {
    const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
    if (done()) return ms;
    if (ms > deadline_ms) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

// The rows of a stored response, changed by `edit`, written back in place (same meta).
void EditRows(const fs::path& file, const std::function<void(nlohmann::json&)>& edit) {
  auto text = ReadFile(file);
  REQUIRE(text.ok());
  auto decoded = DecodeResponseFile(*text, file.string());
  REQUIRE(decoded.ok());
  auto rows = nlohmann::json::parse(decoded->data);
  REQUIRE(rows.size() > 10);
  edit(rows);
  REQUIRE(WriteFileAtomic(file, EncodeResponseFile(decoded->meta, rows.dump())).ok());
}

struct Tampering {
  std::string name;
  std::string problem;  // what verify must call it
  std::function<void(const fs::path& file, const fs::path& other)> apply;
};

std::vector<Tampering> Tamperings() {
  return {
      {"value changed inside valid JSON (a close raised above the high)", "bad-data",
       [](const fs::path& f, const fs::path&) {
         EditRows(f, [](nlohmann::json& rows) {
           auto& row = rows[200];
           const double high = std::stod(row[2].get<std::string>());
           row[4] = std::to_string(high + 1.0);
         });
       }},
      {"value changed inside valid JSON (a plausible volume)", "digest-mismatch",
       [](const fs::path& f, const fs::path&) {
         EditRows(f, [](nlohmann::json& rows) {
           auto& row = rows[700];
           row[5] = std::to_string(std::stod(row[5].get<std::string>()) + 1.0);
         });
       }},
      {"row removed", "count-mismatch",
       [](const fs::path& f, const fs::path&) {
         EditRows(f, [](nlohmann::json& rows) { rows.erase(rows.begin() + 500); });
       }},
      {"row duplicated", "bad-data",
       [](const fs::path& f, const fs::path&) {
         EditRows(f, [](nlohmann::json& rows) { rows.insert(rows.begin() + 300, rows[300]); });
       }},
      {"rows reordered", "bad-data",
       [](const fs::path& f, const fs::path&) {
         EditRows(f, [](nlohmann::json& rows) { std::swap(rows[400], rows[401]); });
       }},
      {"file truncated", "file-corrupt",
       [](const fs::path& f, const fs::path&) {
         auto text = ReadFile(f);
         REQUIRE(text.ok());
         REQUIRE(WriteFileAtomic(f, text->substr(0, text->size() / 2)).ok());
       }},
      {"file deleted", "file-missing", [](const fs::path& f, const fs::path&) { fs::remove(f); }},
      {"file of another slice copied over", "slice-mismatch",
       [](const fs::path& f, const fs::path& other) {
         fs::copy_file(other, f, fs::copy_options::overwrite_existing);
       }},
  };
}

}  // namespace

TEST_CASE("verify --repair heals a running pipeline - every kind of tampering - no restart",
          "[e2e][repair]") {
  // Both state backends: verify reads the manifests or state.sqlite3, the persister marks
  // pending in either.
  const std::string state = GENERATE(as<std::string>{}, "json", "sqlite");
  INFO("--state " << state);
  ScratchDir scratch;
  sim::SymbolSpec btc;
  btc.symbol = "BTCUSDT";
  btc.listing_ms = kListing;
  Simulator sim(scratch.path(), {"--symbol", "BTCUSDT,listing=" + std::to_string(kListing)});
  Pipeline p(scratch.path(), sim.base_url());
  p.StartPersister({"--state", state});
  p.StartFetchers(2);
  const auto tamperings = Tamperings();
  // One 1m slice per kind of tampering, and one more whose file is copied over another.
  const int64_t n_slices = static_cast<int64_t>(tamperings.size()) + 2;
  const int64_t end = kStart + n_slices * 60000000 - 1;
  auto keys = klines::GenerateKlineSlices("BTCUSDT", "1m", kStart, end);
  REQUIRE(keys.ok());
  REQUIRE(keys->size() >= tamperings.size() + 1);
  // Running for ever (no --once) over a fixed range; the resync is off so that only the PENDING
  // notice can bring the repaired slices back.
  auto planner =
      p.StartPlanner({"--symbols", "BTCUSDT", "--intervals", "1m", "--start",
                      std::to_string(kStart), "--end", std::to_string(end), "--resync-ms", "0"},
                     /*once=*/false);
  testing::DataRootChecker checker(p.data_root(), {{btc, "1m", kStart, end}},
                                   {.live_entries = true});
  testing::CheckReport report;
  auto clean = [&] {
    report = checker.Run(/*final=*/true);
    return report.problems.empty();
  };
  const int64_t first_ms = WaitFor(clean, 180000);
  INFO(report.Text());
  INFO(p.Logs());
  REQUIRE(first_ms >= 0);
  std::cout << "repair_e2e (" << state << "): " << keys->size() << " slices complete in "
            << first_ms << " ms\n";
  const auto windows_before = sim.Counters()["windows"];

  // Damage one slice per kind; the last slice's file is the one copied over another.
  const fs::path responses = *SeriesDir(p.data_root(), "klines", "BTCUSDT", "1m") / "responses";
  const fs::path other = responses / (keys->back().slice_id() + ".json");
  std::map<std::string, std::string> victims;  // key -> problem verify must report
  for (size_t i = 0; i < tamperings.size(); ++i) {
    const klines::KlineSliceKey& k = (*keys)[i];
    INFO(tamperings[i].name);
    tamperings[i].apply(responses / (k.slice_id() + ".json"), other);
    victims[k.composite_key()] = tamperings[i].problem;
  }

  std::string text;
  const int rc = RunStatusTool(scratch.path(),
                               {"verify", "--data-root", p.data_root().string(), "--repair",
                                "--persister", p.control_addr(), "--json"},
                               &text);
  INFO(text);
  CHECK(rc == 1);  // problems found (and sent for repair)
  const auto j = nlohmann::json::parse(text);
  // Each damaged slice is reported (with the expected problem among its lines), and no other.
  std::map<std::string, std::set<std::string>> found;
  for (const auto& pr : j["problems"]) found[pr["key"]].insert(pr["problem"]);
  CHECK(found.size() == victims.size());
  for (const auto& [key, problem] : victims) {
    INFO(key << " " << problem);
    CHECK(found[key].contains(problem));
  }
  CHECK(j["repair"]["error"].is_null());
  CHECK(j["repair"]["marked"] == victims.size());

  // The running planner fetches them again: every slice ok and byte-identical to what the
  // simulator serves, and verify clean, with the same processes.
  const auto repaired_at = std::chrono::steady_clock::now();
  const int64_t repair_ms = WaitFor(
      [&] {
        if (!clean()) return false;
        std::string out;
        return RunStatusTool(scratch.path(), {"verify", "--data-root", p.data_root().string()},
                             &out) == 0;
      },
      180000);
  INFO(report.Text());
  INFO(p.Logs());
  REQUIRE(repair_ms >= 0);
  std::cout << "repair_e2e: " << victims.size() << " damaged slices repaired in " << repair_ms
            << " ms after verify --repair ("
            << std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - repaired_at)
                   .count()
            << " ms with the last check)\n";
  CHECK(planner->running());
  CHECK(p.persister().running());
  for (auto& f : p.fetchers()) CHECK(f->running());
  CHECK(fs::exists(p.data_root() / "state.sqlite3") == (state == "sqlite"));

  // Each damaged window was asked for once more, and no other window.
  const auto windows = sim.Counters()["windows"];
  for (const klines::KlineSliceKey& k : *keys) {
    const std::string key = k.composite_key();
    INFO(key);
    REQUIRE(windows.contains(key));
    const int before = windows_before[key]["requests"];
    CHECK(windows[key]["requests"] == before + (victims.contains(key) ? 1 : 0));
  }
  planner->Signal(SIGTERM);
  CHECK(planner->Wait(30000) == 0);
  CHECK(p.StopAll());
}

TEST_CASE("the ledger of holes shows a gap of the simulator's data with its exact range",
          "[e2e][holes]") {
  ScratchDir scratch;
  const int64_t end = kStart + 4LL * 60000000 - 1;
  auto keys = klines::GenerateKlineSlices("BTCUSDT", "1m", kStart, end);
  REQUIRE(keys.ok());
  REQUIRE(keys->size() >= 4);
  // A maintenance of the exchange across a slice boundary: 500 candles at the end of slice 1
  // and 300 at the start of slice 2 ([start, end) of the simulator's gap).
  const int64_t gap_start = (*keys)[1].start_ms + 500 * 60000;
  const int64_t gap_end = (*keys)[2].start_ms + 300 * 60000;
  Simulator sim(scratch.path(), {"--symbol", "BTCUSDT,listing=" + std::to_string(kListing) +
                                                 ",gap=" + std::to_string(gap_start) + "/" +
                                                 std::to_string(gap_end)});
  Pipeline p(scratch.path(), sim.base_url());
  p.StartPersister();
  p.StartFetchers(1);
  INFO(p.Logs());
  REQUIRE(p.RunPlannerOnce({"--symbols", "BTCUSDT", "--intervals", "1m", "--start",
                            std::to_string(kStart), "--end", std::to_string(end)}) == 0);
  REQUIRE(p.StopAll());

  std::string text;
  CHECK(RunStatusTool(scratch.path(), {"holes", "--data-root", p.data_root().string(), "--json"},
                      &text) == 0);
  INFO(text);
  const auto j = nlohmann::json::parse(text);
  REQUIRE(j["series"].size() == 1);
  const auto& s = j["series"][0];
  CHECK(s["symbol"] == "BTCUSDT");
  CHECK(s["ok_slices"] == keys->size());
  CHECK(s["missing_candles"] == 800);
  REQUIRE(s["holes"].size() == 1);
  const auto& h = s["holes"][0];
  CHECK(h["start_ms"] == gap_start);
  CHECK(h["end_ms"] == gap_end - 1);
  CHECK(h["candles"] == 800);
  CHECK(h["confirmed"] == false);
  CHECK(h["slices"] ==
        nlohmann::json::array({(*keys)[1].composite_key(), (*keys)[2].composite_key()}));
  CHECK(RunStatusTool(scratch.path(), {"holes", "--data-root", p.data_root().string()}, &text) ==
        0);
  CHECK_THAT(text, Catch::Contains(FormatIsoUtc(gap_start) + " .. " + FormatIsoUtc(gap_end - 1) +
                                   "  800 candles unconfirmed"));
}

TEST_CASE("a hole of the simulator is confirmed by a second fetch - running for ever",
          "[e2e][holes][recheck]") {
  // Phase 1 (--once, the persister's default delay of 10 minutes): the ledger shows a gap of the
  // simulator unconfirmed. Phase 1b (--confirm-holes-after-ms 1000, --once again): its slices,
  // stored long enough ago, are due as soon as the persister loads them, and the run waits for
  // their second fetch: confirmed. Phase 2 (the same delay, the planner running for ever over a
  // range two slices longer, the last holding a second gap): that slice is stored in this run
  // and rechecked at least the delay later. Both end confirmed with their exact ranges, each at
  // the cost of one more request per slice with holes.
  ScratchDir scratch;
  const int64_t end1 = kStart + 4LL * 60000000 - 1;
  const int64_t end2 = kStart + 6LL * 60000000 - 1;
  auto keys = klines::GenerateKlineSlices("BTCUSDT", "1m", kStart, end2);
  REQUIRE(keys.ok());
  // Grid slices: 5 meet the first range (0-4), 7 the second (0-6).
  REQUIRE(keys->size() == 7);
  const std::set<size_t> with_holes = {1, 2, 6};
  const size_t first_new = 5;
  const int64_t gap1_start = (*keys)[1].start_ms + 500 * 60000;  // across slices 1 and 2
  const int64_t gap1_end = (*keys)[2].start_ms + 300 * 60000;
  const int64_t gap2_start = (*keys)[6].start_ms + 100 * 60000;  // inside slice 6
  const int64_t gap2_end = (*keys)[6].start_ms + 200 * 60000;
  Simulator sim(
      scratch.path(),
      {"--symbol", "BTCUSDT,listing=" + std::to_string(kListing) +
                       ",gap=" + std::to_string(gap1_start) + "/" + std::to_string(gap1_end) +
                       ",gap=" + std::to_string(gap2_start) + "/" + std::to_string(gap2_end)});
  Pipeline p(scratch.path(), sim.base_url());
  auto ledger = [&] {
    std::string text;
    const int rc = RunStatusTool(scratch.path(),
                                 {"holes", "--data-root", p.data_root().string(), "--json"}, &text);
    INFO(text);
    REQUIRE(rc == 0);
    const auto j = nlohmann::json::parse(text);
    REQUIRE(j["series"].size() == 1);
    return j["series"][0];
  };

  p.StartPersister();
  p.StartFetchers(1);
  INFO(p.Logs());
  REQUIRE(p.RunPlannerOnce({"--symbols", "BTCUSDT", "--intervals", "1m", "--start",
                            std::to_string(kStart), "--end", std::to_string(end1)}) == 0);
  REQUIRE(p.StopAll());
  {
    const auto s = ledger();
    REQUIRE(s["holes"].size() == 1);
    CHECK(s["holes"][0]["start_ms"] == gap1_start);
    CHECK(s["holes"][0]["end_ms"] == gap1_end - 1);
    CHECK(s["holes"][0]["confirmed"] == false);
    CHECK(s["holes"][0]["confirmed_at"].is_null());
  }
  constexpr int64_t kDelayMs = 1000;
  const fs::path manifest_path =
      *SeriesDir(p.data_root(), "klines", "BTCUSDT", "1m") / "manifest.json";
  // Phase 1b: a run with --once, once the stored slices are older than the delay: the persister
  // names them right behind its STATUS_REPLY, and the planner waits for their second fetch.
  {
    auto m = ParseManifestFile(manifest_path.string());
    REQUIRE(m.ok());
    int64_t newest = 0;
    for (const auto& [key, e] : m->slices)
      newest = std::max(newest, *ParseTimeUtc(*e.completed_at));
    REQUIRE(WaitFor([&] { return WallClockMs() >= newest + kDelayMs + 1000; }, 10000) >= 0);
  }
  const auto windows_once = sim.Counters()["windows"];
  p.StartPersister({"--confirm-holes-after-ms", std::to_string(kDelayMs)});
  p.StartFetchers(1);
  REQUIRE(p.RunPlannerOnce({"--symbols", "BTCUSDT", "--intervals", "1m", "--start",
                            std::to_string(kStart), "--end", std::to_string(end1)}) == 0);
  REQUIRE(p.StopAll());
  {
    const auto s = ledger();
    REQUIRE(s["holes"].size() == 1);
    CHECK(s["holes"][0]["start_ms"] == gap1_start);
    CHECK(s["holes"][0]["end_ms"] == gap1_end - 1);
    CHECK(s["holes"][0]["confirmed"] == true);
    const auto windows = sim.Counters()["windows"];
    for (size_t i = 0; i < first_new; ++i) {
      const std::string key = (*keys)[i].composite_key();
      INFO(key);
      CHECK(windows[key]["requests"].get<int>() - windows_once[key]["requests"].get<int>() ==
            (with_holes.contains(i) ? 1 : 0));
    }
  }
  const auto windows_before = sim.Counters()["windows"];

  // Phase 2: running for ever over two more slices; the new gap is rechecked after the delay.
  p.StartPersister({"--confirm-holes-after-ms", std::to_string(kDelayMs)});
  p.StartFetchers(1);
  auto planner =
      p.StartPlanner({"--symbols", "BTCUSDT", "--intervals", "1m", "--start",
                      std::to_string(kStart), "--end", std::to_string(end2), "--resync-ms", "0"},
                     /*once=*/false);
  nlohmann::json s;
  const int64_t waited_ms = WaitFor(
      [&] {
        s = ledger();
        if (s["ok_slices"] != keys->size() || s["holes"].size() != 2) return false;
        for (const auto& h : s["holes"]) {
          if (h["confirmed"] != true) return false;
        }
        return true;
      },
      180000);
  INFO(s.dump(2));
  INFO(p.Logs());
  REQUIRE(waited_ms >= 0);
  const auto& h1 = s["holes"][0];
  const auto& h2 = s["holes"][1];
  CHECK(h1["start_ms"] == gap1_start);
  CHECK(h1["end_ms"] == gap1_end - 1);
  CHECK(h1["candles"] == 800);
  CHECK(h1["slices"] ==
        nlohmann::json::array({(*keys)[1].composite_key(), (*keys)[2].composite_key()}));
  CHECK(h2["start_ms"] == gap2_start);
  CHECK(h2["end_ms"] == gap2_end - 1);
  CHECK(h2["candles"] == 100);
  CHECK(h2["slices"] == nlohmann::json::array({(*keys)[6].composite_key()}));
  CHECK(s["missing_candles"] == 900);

  // The second gap's slice was stored in this run and rechecked no sooner than the delay after.
  auto manifest = ParseManifestFile(manifest_path.string());
  REQUIRE(manifest.ok());
  const ManifestEntry& e6 = manifest->slices.at((*keys)[6].composite_key());
  REQUIRE(e6.completed_at);
  REQUIRE(e6.holes_confirmed_at);
  const int64_t stored_ms = *ParseTimeUtc(*e6.completed_at);
  const int64_t confirmed_ms = *ParseTimeUtc(*e6.holes_confirmed_at);
  CHECK(confirmed_ms >= stored_ms + kDelayMs);
  // Only the slices with holes carry a confirmation.
  for (size_t i = 0; i < keys->size(); ++i) {
    INFO(i);
    CHECK(manifest->slices.at((*keys)[i].composite_key()).holes_confirmed_at.has_value() ==
          with_holes.contains(i));
  }

  // One more request for each slice with holes, and for no other window.
  const auto windows = sim.Counters()["windows"];
  int64_t rechecks = 0;
  for (size_t i = 0; i < keys->size(); ++i) {
    const std::string key = (*keys)[i].composite_key();
    INFO(key);
    REQUIRE(windows.contains(key));
    const int before =
        windows_before.contains(key) ? windows_before[key]["requests"].get<int>() : 0;
    const int fetched = windows[key]["requests"].get<int>() - before;
    const int recheck = with_holes.contains(i) && i >= first_new ? 1 : 0;
    CHECK(fetched == (i >= first_new ? 1 : 0) + recheck);
    rechecks += fetched - (i >= first_new ? 1 : 0);
  }
  CHECK_THAT(qlir::testing::ReadLog(p.dir() / "persister.log"), Catch::Contains("holes confirmed"));
  std::cout << "recheck_e2e: the --once run confirmed slices 1 and 2; slice 6 (100 candles "
               "missing) confirmed "
            << waited_ms << " ms after the for-ever planner started; stored at " << *e6.completed_at
            << ", confirmed at " << *e6.holes_confirmed_at << " (delay flag " << kDelayMs << " ms, "
            << (confirmed_ms - stored_ms - kDelayMs) << " ms after it, second precision); "
            << rechecks << " refetch requests\n";
  CHECK(planner->running());
  planner->Signal(SIGTERM);
  CHECK(planner->Wait(30000) == 0);
  CHECK(p.StopAll());
}
