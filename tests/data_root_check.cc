#include "tests/data_root_check.h"

#include <sstream>
#include <system_error>

#include "common/atomic_file.h"
#include "common/body_digest.h"
#include "common/data_root.h"
#include "common/json.h"
#include "common/response_file.h"
#include "common/slice_id.h"
#include "common/state_db.h"
#include "common/time_util.h"

namespace qlir::testing {

namespace fs = std::filesystem;

std::string CheckReport::Text() const {
  std::ostringstream o;
  o << "expected=" << expected << " ok=" << ok << " partial=" << partial << " not_ok=" << not_ok
    << " files=" << response_files << " temporaries=" << temporaries
    << " problems=" << problems.size();
  for (size_t i = 0; i < problems.size() && i < 20; ++i) o << "\n  " << problems[i];
  return o.str();
}

DataRootChecker::DataRootChecker(fs::path root, std::vector<WantedSeries> wanted,
                                 CheckOptions options)
    : root_(std::move(root)), wanted_(std::move(wanted)), options_(std::move(options)) {
  for (const WantedSeries& s : wanted_) {
    auto keys = klines::GenerateKlineSlices(s.spec.symbol, s.interval, s.start_ms, s.end_ms);
    if (!keys.ok()) {
      setup_problems_.push_back("no wanted slices for " + s.spec.symbol + " " + s.interval + ": " +
                                keys.error());
      continue;
    }
    for (const auto& k : *keys) keys_.emplace(k.composite_key(), k);
  }
}

const WantedSeries* DataRootChecker::SeriesOf(const klines::KlineSliceKey& k) const {
  for (const WantedSeries& s : wanted_) {
    if (s.spec.symbol == k.symbol && s.interval == k.interval) return &s;
  }
  return nullptr;
}

CheckReport DataRootChecker::Run(bool final) {
  CheckReport r;
  r.expected = keys_.size();
  r.problems = setup_problems_;
  std::set<std::string> ok_keys, partial_keys;
  for (const WantedSeries& s : wanted_) CheckSeries(s, final, &r, &ok_keys, &partial_keys);
  r.ok = ok_keys.size();
  r.partial = partial_keys.size();
  r.not_ok = r.expected - r.ok - r.partial;
  if (final) {
    for (const auto& [key, k] : keys_) {
      if (r.problems.size() > 50) break;
      const bool want_partial = options_.partial.count(key) > 0;
      if (want_partial && !partial_keys.count(key)) {
        r.problems.push_back("not partial at the end: " + key);
      } else if (!want_partial && !ok_keys.count(key)) {
        r.problems.push_back("lost: not ok at the end: " + key);
      }
    }
    if (r.temporaries != 0) r.problems.push_back("temporaries left");
  }
  return r;
}

void DataRootChecker::CheckSeries(const WantedSeries& s, bool final, CheckReport* r,
                                  std::set<std::string>* ok_keys,
                                  std::set<std::string>* partial_keys) {
  const std::string series = s.spec.symbol + " " + s.interval;
  manifests_.erase(series);
  auto dir = SeriesDir(root_, "klines", s.spec.symbol, s.interval);
  if (!dir.ok()) {
    r->problems.push_back(dir.error());
    return;
  }
  std::error_code ec;
  std::set<std::string> files;
  if (fs::exists(*dir, ec)) {
    for (const auto& e : fs::directory_iterator(*dir, ec)) {
      if (e.path().extension() == ".tmp") ++r->temporaries;
    }
    if (fs::exists(*dir / "responses", ec)) {
      for (const auto& e : fs::directory_iterator(*dir / "responses", ec)) {
        files.insert(e.path().filename().string());
        if (e.path().extension() == ".tmp") {
          ++r->temporaries;
        } else {
          ++r->response_files;
        }
      }
    }
  }
  // The root's state, whichever backend keeps it (common/data_root.h, DetectStateBackend).
  const bool sqlite = DetectStateBackend(root_) == StateBackend::kSqlite;
  const fs::path mpath = sqlite ? root_ / kStateDbName : *dir / "manifest.json";
  Result<Manifest> m = Status::Error("unread");
  if (sqlite) {
    auto db = StateDb::Open(root_, StateDb::Mode::kReadOnly);
    if (!db.ok()) {
      r->problems.push_back("state database does not open: " + db.error());
      return;
    }
    auto read = (*db)->ReadManifest("klines", s.spec.symbol, s.interval);
    if (!read.ok()) {
      r->problems.push_back("state database does not read: " + read.error());
      return;
    }
    if (!*read) {
      if (final) r->problems.push_back("no series " + series + " in " + mpath.string());
      return;
    }
    m = std::move(**read);
  } else {
    if (!fs::exists(mpath, ec)) {
      if (final) r->problems.push_back("no manifest " + mpath.string());
      return;
    }
    auto text = ReadFile(mpath);
    if (!text.ok()) {
      r->problems.push_back(text.error());
      return;
    }
    m = ParseManifest(*text, mpath.string());
    if (!m.ok()) {
      r->problems.push_back("manifest does not parse: " + m.error());
      return;
    }
  }
  if (m->symbol != s.spec.symbol || m->interval != s.interval || m->endpoint != "klines") {
    r->problems.push_back(mpath.string() + " names another series");
  }
  if (m->limit != 1000)
    r->problems.push_back(mpath.string() + " has limit " + std::to_string(m->limit));
  for (const auto& [key, e] : m->slices) {
    auto want = keys_.find(key);
    if (want == keys_.end() || SeriesOf(want->second) != &s) {
      r->problems.push_back("unexpected slice in manifest: " + key);
      continue;
    }
    const klines::KlineSliceKey& k = want->second;
    if (e.slice_id != k.slice_id() || e.relative_path != "responses/" + k.slice_id() + ".json") {
      r->problems.push_back("wrong slice id or path: " + key);
    }
    if (e.status != SliceStatus::kOk && e.status != SliceStatus::kPartial) continue;
    if (options_.live_entries && (e.http_status != 200 || e.error.has_value())) {
      r->problems.push_back("stored, but without HTTP 200 or with an error: " + key);
    }
    if (e.status == SliceStatus::kOk) {
      if (std::string why = CheckFile(key, &e); !why.empty()) {
        r->problems.push_back("ok in the manifest but " + why + ": " + key);
      } else {
        ok_keys->insert(key);
      }
      continue;
    }
    // Partial: a stored response of a window that was still open when it was fetched.
    auto body = ReadFile(*dir / e.relative_path);
    if (!body.ok()) {
      r->problems.push_back("partial in the manifest but its file cannot be read (" + body.error() +
                            "): " + key);
      continue;
    }
    auto file = DecodeResponseFile(*body, key);
    if (!file.ok()) {
      r->problems.push_back("partial in the manifest but its file does not decode (" +
                            file.error() + "): " + key);
      continue;
    }
    auto fetched = ParseTimeUtc(file->meta.fetched_at);
    if (file->meta.slice != key ||
        file->meta.url.find(klines::BuildKlineUrl("", k)) == std::string::npos) {
      r->problems.push_back("partial in the manifest but its file names another slice: " + key);
    } else if (!fetched.ok() || *fetched > k.end_ms) {
      r->problems.push_back("partial in the manifest but fetched after its window closed: " + key);
    } else {
      partial_keys->insert(key);
    }
  }
  if (final) {
    std::set<std::string> want_files;
    int64_t wanted = 0;
    for (const auto& [key, k] : keys_) {
      if (SeriesOf(k) != &s) continue;
      want_files.insert(k.slice_id() + ".json");
      ++wanted;
    }
    if (files != want_files) {
      r->problems.push_back("responses/ of " + series + " holds " + std::to_string(files.size()) +
                            " names, want " + std::to_string(want_files.size()));
    }
    const ManifestSummary summary = m->Summary();
    if (summary.total_slices != wanted || summary.failed_slices != 0) {
      r->problems.push_back("summary of " + series + ": total " +
                            std::to_string(summary.total_slices) + ", failed " +
                            std::to_string(summary.failed_slices) + "; want total " +
                            std::to_string(wanted) + ", failed 0");
    }
  }
  manifests_.emplace(series, std::move(*m));
}

std::string DataRootChecker::CheckFile(const std::string& key, const ManifestEntry* entry) {
  auto k = keys_.find(key);
  if (k == keys_.end()) return "not a wanted slice";
  auto dir = SeriesDir(root_, "klines", k->second.symbol, k->second.interval);
  if (!dir.ok()) return dir.error();
  auto body = ReadFile(*dir / ("responses/" + k->second.slice_id() + ".json"));
  if (!body.ok()) return "its response file cannot be read (" + body.error() + ")";
  auto file = DecodeResponseFile(*body, key);
  if (!file.ok()) return "its response file does not decode (" + file.error() + ")";
  if (file->meta.slice != key) return "its response file names " + file->meta.slice;
  if (file->meta.url.find(klines::BuildKlineUrl("", k->second)) == std::string::npos) {
    return "its response file was fetched from " + file->meta.url;
  }
  const Want& w = Expected(k->second);
  if (!w.ok) return "the simulator cannot compute its window";
  if (file->data.size() != w.size || SliceId(file->data) != w.digest) {
    return "its data differs from the exchange's";
  }
  if (entry && (entry->n_items != w.n_items || entry->first_ts != w.first_ts ||
                entry->last_ts != w.last_ts)) {
    return "its n_items/first_ts/last_ts are wrong";
  }
  if (entry && entry->digest != BodyDigest(file->data)) {
    return "its manifest digest is " + entry->digest.value_or("absent") +
           ", not BLAKE2b-256 of its data";
  }
  return "";
}

size_t DataRootChecker::CountResponseFiles() const {
  size_t n = 0;
  for (const WantedSeries& s : wanted_) {
    auto dir = SeriesDir(root_, "klines", s.spec.symbol, s.interval);
    if (!dir.ok()) continue;
    std::error_code ec;
    if (!fs::exists(*dir / "responses", ec)) continue;
    for (const auto& e : fs::directory_iterator(*dir / "responses", ec)) {
      if (e.path().extension() == ".json") ++n;
    }
  }
  return n;
}

const Manifest* DataRootChecker::manifest(const std::string& symbol,
                                          const std::string& interval) const {
  auto it = manifests_.find(symbol + " " + interval);
  return it == manifests_.end() ? nullptr : &it->second;
}

const DataRootChecker::Want& DataRootChecker::Expected(const klines::KlineSliceKey& k) {
  const std::string key = k.composite_key();
  if (auto it = want_.find(key); it != want_.end()) return it->second;
  Want w;
  if (const WantedSeries* s = SeriesOf(k)) {
    const int64_t now = options_.now_ms >= 0 ? options_.now_ms : WallClockMs();
    auto body = sim::KlinesJson(s->spec, k.interval, k.start_ms, k.end_ms, k.limit, now);
    if (body.ok()) {
      w.ok = true;
      w.digest = SliceId(*body);
      w.size = body->size();
      auto parsed = nlohmann::json::parse(*body);
      w.n_items = static_cast<int64_t>(parsed.size());
      if (!parsed.empty()) {
        w.first_ts = parsed.front()[0].get<int64_t>();
        w.last_ts = parsed.back()[0].get<int64_t>();
      }
    }
  }
  return want_.emplace(key, std::move(w)).first->second;
}

}  // namespace qlir::testing
