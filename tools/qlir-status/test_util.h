// Test helpers for qlir-status: a fresh scratch data root per test, and a builder that writes
// series with the common codecs (WriteFileAtomic, SerializeManifest, EncodeResponseFile), the
// same bytes the persister writes.
#pragma once

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <system_error>

#include "common/atomic_file.h"
#include "common/body_digest.h"
#include "common/data_root.h"
#include "common/endpoint.h"
#include "common/klines/slice_key.h"
#include "common/manifest.h"
#include "common/response_file.h"
#include "common/slice_id.h"
#include "tests/test_util.h"

namespace qlir::status_tool::testing {

// A fresh scratch directory per test, shared with the end-to-end tests.
using qlir::testing::ScratchDir;

inline constexpr int64_t kMinuteMs = 60000;
inline constexpr int64_t kSpan1m = kMinuteMs * 1000;  // one 1m slice
// Grid index of 2020-12-15T02:40:00Z for 1m slices: a round, readable start.
inline constexpr int64_t kBase = 26800;

// A klines body of `n` rows at open times start, start + step, ...
inline std::string KlinesBody(int64_t start_ms, int64_t n, int64_t step_ms = kMinuteMs) {
  std::string s = "[";
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = start_ms + i * step_ms;
    if (i > 0) s += ",";
    s += "[" + std::to_string(t) + ",\"1.0\",\"2.0\",\"0.5\",\"1.5\",\"10.0\"," +
         std::to_string(t + kMinuteMs - 1) + ",\"15.0\",7,\"5.0\",\"7.5\",\"0\"]";
  }
  return s + "]";
}

// One series folder, built slice by slice; Write() writes its manifest.
class SeriesBuilder {
 public:
  SeriesBuilder(const std::filesystem::path& root, std::string symbol = "BTCUSDT",
                std::string interval = "1m", int64_t interval_ms = kMinuteMs)
      : interval_ms_(interval_ms) {
    dir_ = *SeriesDir(root, "klines", symbol, interval);
    std::filesystem::create_directories(dir_ / kResponsesDir);
    m_.endpoint = "klines";
    m_.symbol = symbol;
    m_.interval = interval;
    m_.last_evaluated_at = "2025-01-01T00:00:00Z";
  }

  klines::KlineSliceKey Key(int64_t index) const {
    return klines::GridSlice(m_.symbol, m_.interval, interval_ms_, index);
  }
  std::string KeyText(int64_t index) const { return Key(index).composite_key(); }
  std::filesystem::path ResponsePath(int64_t index) const {
    return dir_ / ResponseRelativePath(SliceId(KeyText(index)));
  }
  const std::filesystem::path& dir() const { return dir_; }
  Manifest& manifest() { return m_; }

  // A stored slice (ok or partial) with `rows` rows and its response file, its digest recorded.
  // `body` overrides the data; `meta_slice` overrides meta.slice.
  ManifestEntry& Stored(int64_t index, SliceStatus status = SliceStatus::kOk, int64_t rows = 3,
                        std::string body = "", std::string meta_slice = "") {
    const klines::KlineSliceKey k = Key(index);
    const std::string key = k.composite_key();
    if (body.empty()) body = KlinesBody(k.start_ms, rows, interval_ms_);
    ResponseMeta meta{"https://api.binance.com/api/v3/klines?x",
                      meta_slice.empty() ? key : meta_slice, "2025-01-01T00:00:00Z"};
    REQUIRE(WriteFileAtomic(ResponsePath(index), EncodeResponseFile(meta, body)).ok());
    ManifestEntry e;
    e.slice_id = SliceId(key);
    e.relative_path = ResponseRelativePath(e.slice_id);
    e.status = status;
    e.http_status = 200;
    e.n_items = rows;
    if (rows > 0) {
      e.first_ts = k.start_ms;
      e.last_ts = k.start_ms + (rows - 1) * interval_ms_;
    }
    e.requested_at = "2025-01-01T00:00:00Z";
    e.completed_at = "2025-01-01T00:00:01Z";
    e.digest = BodyDigest(body);  // as the persister records it
    return m_.slices[key] = e;
  }

  ManifestEntry& Failed(int64_t index, int http_status, std::string error) {
    const std::string key = KeyText(index);
    ManifestEntry e;
    e.slice_id = SliceId(key);
    e.relative_path = ResponseRelativePath(e.slice_id);
    e.status = SliceStatus::kFailed;
    e.http_status = http_status;
    e.error = std::move(error);
    e.requested_at = "2025-01-01T00:03:10Z";
    e.completed_at = "2025-01-01T00:03:11Z";
    return m_.slices[key] = e;
  }

  ManifestEntry& Pending(int64_t index) {
    const std::string key = KeyText(index);
    ManifestEntry e;
    e.slice_id = SliceId(key);
    e.relative_path = ResponseRelativePath(e.slice_id);
    e.status = SliceStatus::kPending;
    return m_.slices[key] = e;
  }

  void Write() { REQUIRE(WriteFileAtomic(dir_ / kManifestName, SerializeManifest(m_)).ok()); }

 private:
  int64_t interval_ms_;
  std::filesystem::path dir_;
  Manifest m_;
};

// Writes one BTCUSDT series of any endpoint through the project's own codecs (response files,
// manifest), as the persister does; each slice's summary comes from the endpoint's own validation.
inline void WriteSeries(const std::filesystem::path& root, const std::string& endpoint,
                        const std::string& interval,
                        const std::vector<std::pair<SliceKey, SliceStatus>>& keys,
                        const std::function<std::string(const SliceKey&)>& body_of) {
  const Endpoint& e = *FindEndpoint(endpoint);
  const std::filesystem::path dir = *SeriesDir(root, endpoint, "BTCUSDT", interval);
  std::filesystem::create_directories(dir / kResponsesDir);
  Manifest m;
  m.endpoint = endpoint;
  m.symbol = "BTCUSDT";
  m.interval = interval;
  m.last_evaluated_at = "2025-01-01T00:00:00Z";
  if (!keys.empty()) m.limit = keys.front().first.limit;
  for (const auto& [key, status] : keys) {
    const std::string body = body_of(key);
    auto summary = e.ValidatePayload(body, key);
    REQUIRE(summary.ok());
    const std::string k = key.composite_key();
    ResponseMeta meta{"http://127.0.0.1:1/x", k, "2025-01-01T00:00:00Z"};
    ManifestEntry me;
    me.slice_id = SliceId(k);
    me.relative_path = ResponseRelativePath(me.slice_id);
    REQUIRE(WriteFileAtomic(dir / me.relative_path, EncodeResponseFile(meta, body)).ok());
    me.status = status;
    me.http_status = 200;
    me.n_items = summary->n_items;
    if (summary->n_items > 0) {
      me.first_ts = summary->first_ts;
      me.last_ts = summary->last_ts;
    }
    me.requested_at = "2025-01-01T00:00:00Z";
    me.completed_at = "2025-01-01T00:00:01Z";
    me.digest = BodyDigest(body);
    m.slices[k] = me;
  }
  REQUIRE(WriteFileAtomic(dir / kManifestName, SerializeManifest(m)).ok());
}

// Replaces `path` with `bytes`, without fsync (tests need no durability, and loops over
// truncations stay fast); used for damage the persister would never write.
inline void WriteRaw(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << bytes;
  f.close();
  REQUIRE(f.good());
}

}  // namespace qlir::status_tool::testing
