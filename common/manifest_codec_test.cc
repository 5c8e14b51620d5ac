#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <random>

#include "common/body_digest.h"
#include "common/manifest.h"
#include "common/manifest_oracle.h"

using namespace qlir;

namespace {

Manifest Sample(int n) {
  Manifest m;
  m.endpoint = "klines";
  m.symbol = "BTCUSDT";
  m.interval = "1m";
  m.last_evaluated_at = "2025-11-27T19:30:00Z";
  for (int i = 0; i < n; ++i) {
    ManifestEntry e;
    e.slice_id = "0123456789abcdef0123456789abcd" + std::to_string(10 + i % 90);
    e.relative_path = "responses/" + e.slice_id + ".json";
    e.status = static_cast<SliceStatus>(i % 4);
    if (i % 3) e.http_status = 200 + i % 400;
    e.n_items = i * 7;
    if (i % 2) e.first_ts = 1609459200000LL + i;
    if (i % 5) e.last_ts = -5 + i;
    if (i % 7) e.requested_at = "2025-01-01T00:01:23Z";
    if (i % 11) e.completed_at = "2025-01-01T00:01:24Z";
    if (i % 4 == 2) e.error = "HTTP 500 from Binance";
    if (i % 3 == 1) e.digest = BodyDigest(std::to_string(i));
    if (i % 6 == 1) e.holes_confirmed_at = "2025-01-01T00:11:24Z";
    m.slices["BTCUSDT:1m:" + std::to_string(1000000 + i) + "-2000000:1000"] = e;
  }
  return m;
}

}  // namespace

TEST_CASE("the manifest writer writes exactly what the DOM oracle writes", "[manifest_codec]") {
  for (int n : {0, 1, 2, 37}) {
    Manifest m = Sample(n);
    CHECK(SerializeManifest(m) == OracleSerializeManifest(m));
  }
  SECTION("strings needing escapes, non-ASCII and invalid UTF-8") {
    Manifest m = Sample(3);
    auto& e = m.slices.begin()->second;
    e.error = std::string("quote \" backslash \\ newline \n tab \t ctl \x01 del \x7f é ") +
              "\xff\xfe bad \xc3";
    std::next(m.slices.begin())->second.error = "";
    m.symbol = "币安USDT";
    m.slices["weird \"key\"\n"] = e;
    CHECK(SerializeManifest(m) == OracleSerializeManifest(m));
  }
}

TEST_CASE("the manifest reader reads what the DOM oracle reads", "[manifest_codec]") {
  Manifest m = Sample(25);
  m.slices.begin()->second.error = "with \"escapes\" \u00e9 \n";
  const std::string text = OracleSerializeManifest(m);
  auto fast = ParseManifest(text, "m.json");
  REQUIRE(fast.ok());
  auto slow = OracleParseManifest(text, "m.json");
  REQUIRE(slow.ok());
  CHECK(fast->slices == slow->slices);
  CHECK(fast->slices == m.slices);
  CHECK(fast->last_evaluated_at == m.last_evaluated_at);
  CHECK(fast->symbol == m.symbol);
  CHECK(fast->limit == m.limit);
}

TEST_CASE("the manifest reader agrees with the DOM oracle on every truncation and on damage",
          "[manifest_codec]") {
  const std::string text = OracleSerializeManifest(Sample(3));
  for (size_t len = 0; len < text.size(); ++len) {
    const std::string_view t(text.data(), len);
    auto fast = ParseManifest(t, "m.json");
    auto slow = OracleParseManifest(t, "m.json");
    INFO("length " << len);
    REQUIRE(fast.ok() == slow.ok());
    if (fast.ok()) CHECK(fast->slices == slow->slices);
  }
  std::mt19937 rng(42);
  for (int round = 0; round < 300; ++round) {
    std::string damaged = text;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) damaged[rng() % damaged.size()] = static_cast<char>(rng());
    auto fast = ParseManifest(damaged, "m.json");
    auto slow = OracleParseManifest(damaged, "m.json");
    INFO("round " << round);
    REQUIRE(fast.ok() == slow.ok());
    if (fast.ok()) {
      CHECK(fast->slices == slow->slices);
      CHECK(fast->endpoint == slow->endpoint);
      CHECK(fast->symbol == slow->symbol);
      CHECK(fast->interval == slow->interval);
      CHECK(fast->limit == slow->limit);
    }
  }
  for (int round = 0; round < 100; ++round) {
    std::string junk(rng() % 200, '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    CHECK_FALSE(ParseManifest(junk, "junk").ok());
  }
}

TEST_CASE("the manifest reader follows the schema like the DOM oracle", "[manifest_codec]") {
  const std::vector<std::string> cases = {
      R"({})",
      R"([])",
      R"(5)",
      R"({"version":2,"endpoint":"klines","symbol":"B","interval":"1m","limit":1000,"summary":{"total_slices":0,"ok_slices":0,"failed_slices":0,"last_evaluated_at":""},"slices":{}})",
      R"({"version":1,"endpoint":"klines","symbol":"B","interval":"1m","limit":1000,"summary":{"total_slices":0,"ok_slices":0,"failed_slices":0,"last_evaluated_at":""},"slices":{}})",
      R"({"version":1,"endpoint":"klines","symbol":"B","interval":"1m","limit":1000,"extra":{"a":[1,{"b":2}]},"summary":{"total_slices":0,"ok_slices":0,"failed_slices":0,"last_evaluated_at":"","more":[1]},"slices":{}})",
      R"({"version":1,"endpoint":"klines","symbol":"B","interval":"1m","limit":1000,"summary":{"total_slices":0,"ok_slices":0,"failed_slices":0},"slices":{}})",
      R"({"version":1,"endpoint":"klines","symbol":"B","interval":"1m","limit":1000,"summary":[],"slices":{}})",
      R"({"version":1,"endpoint":"klines","symbol":"B","interval":"1m","limit":1000,"summary":{"total_slices":0,"ok_slices":0,"failed_slices":0,"last_evaluated_at":""},"slices":[]})",
      R"({"version":1,"endpoint":"klines","symbol":"B","interval":"1m","limit":1000,"summary":{"total_slices":0,"ok_slices":0,"failed_slices":0,"last_evaluated_at":""},"slices":{"k":1}})",
      R"({"version":1,"endpoint":"klines","symbol":"B","interval":"1m","limit":1000,"summary":{"total_slices":0,"ok_slices":0,"failed_slices":0,"last_evaluated_at":""},"slices":{"k":{"slice_id":"a","relative_path":"r","status":"ok","http_status":null,"n_items":1,"first_ts":null,"last_ts":null,"requested_at":null,"completed_at":null,"error":null,"x":{"y":[]}}}})",
      R"({"version":1,"endpoint":"klines","symbol":"B","interval":"1m","limit":1000,"summary":{"total_slices":0,"ok_slices":0,"failed_slices":0,"last_evaluated_at":""},"slices":{"k":{"slice_id":"a","relative_path":"r","status":"bogus","http_status":null,"n_items":1,"first_ts":null,"last_ts":null,"requested_at":null,"completed_at":null,"error":null}}})",
      R"({"version":1,"endpoint":"klines","symbol":"B","interval":"1m","limit":1000,"summary":{"total_slices":0,"ok_slices":0,"failed_slices":0,"last_evaluated_at":""},"slices":{"k":{"slice_id":"a","relative_path":"r","status":"ok","http_status":null,"n_items":1.5,"first_ts":null,"last_ts":null,"requested_at":null,"completed_at":null,"error":null}}})",
      R"({"version":1,"endpoint":"klines","symbol":"B","interval":"1m","limit":1000,"summary":{"total_slices":0,"ok_slices":0,"failed_slices":0,"last_evaluated_at":""},"slices":{"k":{"slice_id":"a","relative_path":"r","status":"ok","http_status":null,"n_items":1,"first_ts":null,"last_ts":null,"requested_at":null,"completed_at":null}}})",
      R"({"version":1,"endpoint":"klines","symbol":"B","interval":"1m","limit":1000,"summary":{"total_slices":0,"ok_slices":0,"failed_slices":0,"last_evaluated_at":""},"slices":{"k":{"slice_id":"a","relative_path":"r","status":"ok","http_status":"200","n_items":1,"first_ts":null,"last_ts":null,"requested_at":null,"completed_at":null,"error":null}}})",
      R"({"version":1,"endpoint":"klines","symbol":"B","interval":"1m","limit":1000,"summary":{"total_slices":0,"ok_slices":0,"failed_slices":0,"last_evaluated_at":""},"slices":{"k":{"slice_id":"a","relative_path":"r","status":"ok","http_status":200,"n_items":1,"first_ts":{},"last_ts":null,"requested_at":null,"completed_at":null,"error":null}}})",
  };
  for (const std::string& c : cases) {
    INFO(c);
    auto fast = ParseManifest(c, "m");
    auto slow = OracleParseManifest(c, "m");
    REQUIRE(fast.ok() == slow.ok());
    if (fast.ok()) CHECK(fast->slices == slow->slices);
  }
}

TEST_CASE("streaming the manifest from a file gives the same result", "[manifest_codec]") {
  const std::string path = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") +
                           "/qlir-fast-codec-" + std::to_string(::getpid()) + ".json";
  const std::string text = OracleSerializeManifest(Sample(40));
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f);
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
  }
  auto streamed = ParseManifestFile(path);
  REQUIRE(streamed.ok());
  CHECK(streamed->slices == ParseManifest(text, "m")->slices);
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    std::fwrite(text.data(), 1, text.size() / 2, f);
    std::fclose(f);
  }
  auto truncated = ParseManifestFile(path);
  CHECK_FALSE(truncated.ok());
  CHECK(truncated.status().IsCorruption());  // damage: may be moved aside
  std::remove(path.c_str());
  auto missing = ParseManifestFile(path);
  CHECK_FALSE(missing.ok());
  CHECK(missing.status().IsIOError());  // not damage: must not be moved aside
}

namespace {

const char* kEntryWithout =
    R"({"slice_id":"a","relative_path":"r","status":"ok","http_status":200,"n_items":1,"first_ts":5,"last_ts":5,"requested_at":null,"completed_at":null,"error":null)";

std::string ManifestWithEntry(const std::string& entry_fields) {
  return std::string(
             R"({"version":1,"endpoint":"klines","symbol":"B","interval":"1m","limit":1000,"summary":{"total_slices":1,"ok_slices":1,"failed_slices":0,"last_evaluated_at":""},"slices":{"k":)") +
         entry_fields + "}}";
}

}  // namespace

TEST_CASE("holes_confirmed_at: after the digest when known, read with or without it",
          "[manifest_codec]") {
  Manifest m = Sample(3);
  for (auto& [k, e] : m.slices) e.holes_confirmed_at.reset();
  CHECK(SerializeManifest(m).find("holes_confirmed_at") == std::string::npos);
  ManifestEntry& e = m.slices.begin()->second;
  e.digest = BodyDigest("[]");
  e.holes_confirmed_at = "2026-01-02T03:04:05Z";
  const std::string with = SerializeManifest(m);
  CHECK(with == OracleSerializeManifest(m));
  CHECK(with.find("\",\n      \"holes_confirmed_at\": \"2026-01-02T03:04:05Z\"\n    }") !=
        std::string::npos);
  auto back = ParseManifest(with, "m");
  REQUIRE(back.ok());
  CHECK(back->slices == m.slices);
  auto oracle = OracleParseManifest(with, "m");
  REQUIRE(oracle.ok());
  CHECK(oracle->slices == m.slices);
  CHECK_FALSE(
      ParseManifest(std::string(with).replace(with.find("\"2026-01-02T03:04:05Z\""), 22, "5"), "m")
          .ok());
}

TEST_CASE("the digest field: written only when known, read with or without it",
          "[manifest_codec]") {
  Manifest m = Sample(4);
  for (auto& [k, e] : m.slices) e.digest.reset();
  const std::string without = SerializeManifest(m);
  CHECK(without.find("digest") == std::string::npos);  // the original layout, unchanged
  auto back = ParseManifest(without, "m");
  REQUIRE(back.ok());
  CHECK(back->slices == m.slices);

  const std::string d = BodyDigest("[[1]]");
  m.slices.begin()->second.digest = d;
  const std::string with = SerializeManifest(m);
  CHECK(with == OracleSerializeManifest(m));
  CHECK(with.find(",\n      \"digest\": \"" + d + "\"\n    }") != std::string::npos);
  back = ParseManifest(with, "m");
  REQUIRE(back.ok());
  CHECK(back->slices == m.slices);
  CHECK(back->slices.begin()->second.digest == d);
  CHECK_FALSE(std::next(back->slices.begin())->second.digest.has_value());
  // Written again, the same bytes: a round trip is stable.
  CHECK(SerializeManifest(*back) == with);
}

TEST_CASE("the digest field is checked like the others, and unknown fields are ignored",
          "[manifest_codec]") {
  const std::string d = BodyDigest("[]");
  struct Case {
    std::string entry;
    bool ok;
  };
  const std::vector<Case> cases = {
      {std::string(kEntryWithout) + "}", true},
      {std::string(kEntryWithout) + R"(,"digest":")" + d + "\"}", true},
      {std::string(kEntryWithout) + R"(,"digest":null})", true},
      {std::string(kEntryWithout) + R"(,"digest":")" + d.substr(1) + "\"}", false},
      {std::string(kEntryWithout) + R"(,"digest":"XY"})", false},
      {std::string(kEntryWithout) + R"(,"digest":5})", false},
      {std::string(kEntryWithout) + R"(,"digest":{"a":1}})", false},
      // A field neither reader knows, at every level: skipped, like `digest` by older readers.
      {std::string(kEntryWithout) + R"(,"digest2":"x","later":{"n":[1,{"m":null}]}})", true},
  };
  for (const Case& c : cases) {
    const std::string text = ManifestWithEntry(c.entry);
    INFO(text);
    auto fast = ParseManifest(text, "m");
    auto slow = OracleParseManifest(text, "m");
    CHECK(fast.ok() == c.ok);
    REQUIRE(fast.ok() == slow.ok());
    if (fast.ok()) CHECK(fast->slices == slow->slices);
  }
}

TEST_CASE("a reader that does not know `digest` reads a new manifest as the old format",
          "[manifest_codec]") {
  // The reader's rule for unknown fields, as an older reader applies it to `digest`: a manifest
  // with a field it does not know (here one no reader knows, in the place `digest` takes) gives
  // exactly the entry it gives without that field.
  const std::string plain = ManifestWithEntry(std::string(kEntryWithout) + "}");
  const std::string extra =
      ManifestWithEntry(std::string(kEntryWithout) + R"(,"sha3":")" + BodyDigest("x") + "\"}");
  auto a = ParseManifest(plain, "m");
  auto b = ParseManifest(extra, "m");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->slices == b->slices);
}
