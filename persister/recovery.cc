#include "persister/recovery.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "common/atomic_file.h"
#include "common/body_digest.h"
#include "common/data_root.h"
#include "common/endpoint.h"
#include "common/json.h"
#include "common/log.h"
#include "common/response_file.h"
#include "common/slice_id.h"
#include "common/time_util.h"

namespace qlir::persister {

namespace fs = std::filesystem;

namespace {

// The framing EncodeResponseFile writes: starts with {"meta": and ends with }\n. A truncated or
// zero-filled file fails this without reading it whole.
bool QuickCheckResponse(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct stat st;
  bool ok = false;
  static constexpr std::string_view kHead = "{\"meta\":";
  if (::fstat(fd, &st) == 0 && st.st_size > static_cast<off_t>(kHead.size() + 2)) {
    char head[8];
    char tail[2];
    ok = ::pread(fd, head, sizeof head, 0) == static_cast<ssize_t>(sizeof head) &&
         ::pread(fd, tail, sizeof tail, st.st_size - 2) == static_cast<ssize_t>(sizeof tail) &&
         std::string_view(head, sizeof head) == kHead && tail[0] == '}' && tail[1] == '\n';
  }
  ::close(fd);
  return ok;
}

// Decodes a response file and checks that it is the slice `expected_id` of `series`.
Result<std::pair<SliceKey, SliceRecord>> IndexResponse(const Endpoint& endpoint,
                                                       const fs::path& path,
                                                       const std::string& expected_id,
                                                       const SeriesId& series) {
  auto text = ReadFile(path);
  if (!text) return text.status();
  auto file = DecodeResponseFile(*text, path.string());
  if (!file) return file.status();
  auto key = endpoint.ParseKey(file->meta.slice);
  if (!key) return Status::Error(path.string() + ": meta.slice: " + key.error());
  if (key->slice_id() != expected_id) {
    return Status::Error(path.string() + ": meta.slice '" + file->meta.slice +
                         "' does not hash to the file's name");
  }
  if (key->symbol != series.symbol || key->interval != series.interval) {
    return Status::Error(path.string() + ": slice '" + file->meta.slice +
                         "' belongs to another series");
  }
  if (!file->verbatim) {
    return Status::Error(path.string() + ": the bytes of 'data' cannot be located in the file");
  }
  auto fetched = ParseTimeUtc(file->meta.fetched_at);
  if (!fetched) return Status::Error(path.string() + ": meta.fetched_at: " + fetched.error());
  auto data = endpoint.SummarizeData(file->data);
  if (!data) return Status::Error(path.string() + ": " + data.error());
  SliceRecord r;
  r.key = file->meta.slice;
  r.entry.slice_id = expected_id;
  r.entry.relative_path = ResponseRelativePath(expected_id);
  r.entry.status = endpoint.Final(*key, *data, *fetched) ? SliceStatus::kOk : SliceStatus::kPartial;
  r.entry.n_items = data->n_items;
  if (data->first_ts >= 0) r.entry.first_ts = data->first_ts;
  if (data->last_ts >= 0) r.entry.last_ts = data->last_ts;
  r.entry.completed_at = file->meta.fetched_at;
  r.entry.digest = BodyDigest(file->data);
  return std::make_pair(*key, std::move(r));
}

// The digest of a listed ok/partial entry written before manifests had one: read from its file
// after checking that the file is the entry's (its slice, and the rows the entry counts), so
// that a digest never vouches for a file that is not what was recorded. An error says why the
// file cannot be vouched for (the entry is then fetched again).
Result<std::string> DigestListedResponse(const Endpoint& endpoint, const fs::path& path,
                                         const std::string& key, const ManifestEntry& e) {
  auto text = ReadFile(path);
  if (!text) return text.status();
  auto file = DecodeResponseFile(*text, path.string());
  if (!file) return file.status();
  if (file->meta.slice != key) {
    return Status::Error("its meta.slice is '" + file->meta.slice + "'");
  }
  if (!file->verbatim) return Status::Error("the bytes of 'data' cannot be located in the file");
  // The endpoint's scanner first (a whole old root may be read here once, at one start): only a
  // body it refuses is summarised the slow way, as recovery indexes any stored array.
  auto slice = endpoint.ParseKey(key);
  Result<PayloadSummary> data =
      slice ? endpoint.ValidatePayload(file->data, *slice) : Result<PayloadSummary>(slice.status());
  if (!data) data = endpoint.SummarizeData(file->data);
  if (!data) return data.status();
  const std::optional<int64_t> first =
      data->first_ts >= 0 ? std::optional<int64_t>(data->first_ts) : std::nullopt;
  const std::optional<int64_t> last =
      data->last_ts >= 0 ? std::optional<int64_t>(data->last_ts) : std::nullopt;
  if (data->n_items != e.n_items || first != e.first_ts || last != e.last_ts) {
    return Status::Error("its rows (" + std::to_string(data->n_items) +
                         ") do not match the entry (" + std::to_string(e.n_items) + ")");
  }
  return BodyDigest(file->data);
}

// A damaged listed file: full check decodes it, compares its slice, and its data with the
// entry's digest when it has one.
bool FullCheckResponse(const fs::path& path, const std::string& key, const ManifestEntry& e) {
  auto text = ReadFile(path);
  if (!text) return false;
  auto file = DecodeResponseFile(*text, path.string());
  if (!file.ok() || file->meta.slice != key) return false;
  return !e.digest || (file->verbatim && BodyDigest(file->data) == *e.digest);
}

void RemoveTemporary(const fs::path& p, RecoveryReport* report) {
  std::error_code ec;
  if (fs::remove(p, ec)) {
    ++report->temporaries_removed;
    Log(LogLevel::kInfo, {}, "recovery: removed leftover temporary " + p.string());
  } else if (ec) {
    Log(LogLevel::kWarn, {},
        "recovery: cannot remove temporary " + p.string() + ": " + ec.message());
  }
}

void MoveAsideUnreadable(const fs::path& p, int64_t wall_now_ms, RecoveryReport* report) {
  const fs::path aside =
      p.parent_path() / UnreadableResponseName(p.filename().string(), wall_now_ms);
  if (::rename(p.c_str(), aside.c_str()) != 0) {
    Log(LogLevel::kError, {},
        "recovery: " + p.string() + " is not a regular file and cannot be moved aside (" +
            std::strerror(errno) + "); its slice cannot be stored until it is removed");
    return;
  }
  ++report->unreadable_moved;
  report->changed = true;
  Log(LogLevel::kError, {},
      "recovery: " + p.string() + " is not a regular file (a directory?); moved aside to " +
          aside.string() + ", its slice will be fetched again");
}

}  // namespace

namespace {

// The count of CountEntriesWithoutDigest without parsing, for a manifest as SerializeManifest
// writes it (every persister start asks, and parsing every manifest would cost seconds per
// 100,000 slices): a stored entry has `"status": "ok"` or `"status": "partial"`, a digest
// `"digest": "`, every entry one `"slice_id": "` and one `"status": "`. None of these can occur
// inside a string (quotes are escaped there). True with *lacking set when the text is in that
// form and the counts are consistent; false when only a parse can tell.
bool ScanForMissingDigests(const fs::path& manifest_path, size_t* lacking) {
  std::ifstream in(manifest_path, std::ios::binary);
  if (!in) return false;
  static constexpr std::string_view kHead = "{\n  \"version\": ";
  static constexpr std::string_view kPatterns[] = {"\"status\": \"ok\"", "\"status\": \"partial\"",
                                                   "\"digest\": \"", "\"slice_id\": \"",
                                                   "\"status\": \""};
  size_t counts[5] = {};
  std::string buf;
  std::vector<char> chunk(1 << 20);
  constexpr size_t kKeep = 32;  // longer than every pattern: a match across two chunks counts once
  bool first = true;
  while (in) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const size_t got = static_cast<size_t>(in.gcount());
    if (got == 0) break;
    const size_t kept = buf.size();
    buf.append(chunk.data(), got);
    if (first && !std::string_view(buf).starts_with(kHead)) return false;
    first = false;
    for (int p = 0; p < 5; ++p) {
      const std::string_view pat = kPatterns[p];
      // Matches that end inside the new bytes only (those ending in the kept tail were counted).
      size_t from = kept >= pat.size() ? kept - pat.size() + 1 : 0;
      for (size_t at = buf.find(pat, from); at != std::string::npos; at = buf.find(pat, at + 1)) {
        ++counts[p];
      }
    }
    buf.erase(0, buf.size() > kKeep ? buf.size() - kKeep : 0);
  }
  if (in.bad() || first) return false;
  const size_t stored = counts[0] + counts[1];
  if (counts[3] != counts[4] || counts[2] > stored) return false;
  *lacking = stored - counts[2];
  return true;
}

}  // namespace

Result<size_t> CountEntriesWithoutDigest(const fs::path& manifest_path) {
  size_t lacking = 0;
  // Only "none lacking" is taken from the scan; any other answer is the parse's.
  if (ScanForMissingDigests(manifest_path, &lacking) && lacking == 0) return size_t{0};
  auto m = ParseManifestFile(manifest_path.string());
  if (!m) return m.status();
  size_t n = 0;
  for (const auto& [key, e] : m->slices) {
    if ((e.status == SliceStatus::kOk || e.status == SliceStatus::kPartial) && !e.digest) ++n;
  }
  return n;
}

VerifyResponses ResolveVerify(VerifyResponses chosen, bool state_may_lag) {
  if (chosen != VerifyResponses::kAuto) return chosen;
  return state_may_lag ? VerifyResponses::kQuick : VerifyResponses::kExists;
}

Result<RecoveredSeries> RecoverSeries(const fs::path& dir, const SeriesId& series,
                                      const RecoveryOptions& options) {
  RecoveredSeries out;
  RecoveryReport& report = out.report;
  Manifest& m = out.manifest;
  const bool quick =
      options.verify == VerifyResponses::kQuick || options.verify == VerifyResponses::kAuto;
  const Endpoint* endpoint = FindEndpoint(series.endpoint);
  if (!endpoint)
    return Status::Error(series.ToString() + ": " + UnknownEndpointMessage(series.endpoint));
  m.endpoint = series.endpoint;
  m.symbol = series.symbol;
  m.interval = series.interval;
  m.limit = endpoint->default_limit();

  if (options.given) m = std::move(*options.given);

  std::error_code ec;
  const bool dir_exists = fs::exists(dir, ec);
  if (ec) return Status::Error("cannot inspect " + dir.string() + ": " + ec.message());
  // A series never written has nothing to recover; one whose folder is gone while the state
  // lists it (a SQLite root) has every stored slice missing (step 3).
  if (!dir_exists && m.slices.empty()) return out;

  // 1. The series folder: leftover manifest temporaries, and the manifest itself.
  bool have_manifest = false;
  fs::directory_iterator first_name;  // the end, when there is no folder
  if (dir_exists) first_name = fs::directory_iterator(dir, ec);
  for (fs::directory_iterator it = first_name, end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    switch (ClassifySeriesName(name)) {
      case SeriesName::kManifestTemporary:
        RemoveTemporary(it->path(), &report);
        break;
      case SeriesName::kManifest:
        have_manifest = true;
        break;
      case SeriesName::kResponsesDir:
      case SeriesName::kCorruptManifest:
        break;
      case SeriesName::kOther:
        ++report.ignored_names;
        Log(LogLevel::kWarn, {}, "recovery: leaving unknown name alone: " + it->path().string());
        break;
    }
  }
  if (ec) return Status::Error("cannot list " + dir.string() + ": " + ec.message());

  const fs::path manifest_path = dir / kManifestName;
  if (options.given) {
    // Taken above.
  } else if (have_manifest) {
    // Streamed: the text of a big manifest is never held whole. As LevelDB's VersionSet::Recover
    // tells Corruption from an I/O error: only damage is moved aside; a manifest that cannot be
    // read is not damage we understand, so then touch nothing and answer nothing.
    auto parsed = ParseManifestFile(manifest_path.string());
    if (!parsed && !parsed.status().IsCorruption()) return parsed.status();
    std::string why;
    if (!parsed) {
      why = parsed.error();
    } else if (parsed->endpoint != series.endpoint || parsed->symbol != series.symbol ||
               parsed->interval != series.interval) {
      why = manifest_path.string() + ": describes " + parsed->endpoint + "/" + parsed->symbol +
            "/" + parsed->interval + ", not " + series.ToString();
    }
    if (why.empty()) {
      m = std::move(*parsed);
    } else {
      // Never overwrite what we cannot read: keep it aside under a name that says why.
      const fs::path aside = dir / CorruptManifestName(options.wall_now_ms);
      if (::rename(manifest_path.c_str(), aside.c_str()) != 0) {
        return Status::Error("manifest " + manifest_path.string() + " is corrupt (" + why +
                             ") and cannot be moved aside: " + std::strerror(errno));
      }
      QLIR_RETURN_IF_ERROR(options.disk->SyncDir(dir));
      report.manifest_corrupt = true;
      report.corrupt_moved_to = aside;
      report.changed = true;
      Log(LogLevel::kError, {},
          "recovery: corrupt manifest moved aside to " + aside.string() + " (" + why +
              "); rebuilding " + series.ToString() + " from its response files");
    }
  }

  // 2. responses/: temporaries go, response files are collected, other names stay.
  const fs::path responses = dir / kResponsesDir;
  std::unordered_set<std::string> files;
  const bool have_responses = dir_exists && fs::is_directory(responses, ec);
  if (have_responses) {
    for (fs::directory_iterator it(responses, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      std::string id;
      switch (ClassifyResponseName(name, &id)) {
        case ResponseName::kResponse: {
          std::error_code sec;
          const fs::file_type type = it->symlink_status(sec).type();
          if (!sec && type != fs::file_type::regular && type != fs::file_type::symlink) {
            // A directory (or fifo, socket...) under a response file's name: it can be neither
            // read nor replaced by the rename that stores the slice, so that slice could never
            // be stored again. Keep it aside, as a corrupt manifest is; the slice is fetched
            // again. (A dangling symlink needs nothing: it reads as damaged and a rename
            // replaces it.)
            MoveAsideUnreadable(it->path(), options.wall_now_ms, &report);
            break;
          }
          files.insert(std::move(id));
          break;
        }
        case ResponseName::kTemporary:
          RemoveTemporary(it->path(), &report);
          break;
        case ResponseName::kOther:
          if (IsUnreadableResponseName(name)) break;  // kept aside by an earlier recovery
          ++report.ignored_names;
          Log(LogLevel::kWarn, {}, "recovery: leaving unknown name alone: " + it->path().string());
          break;
      }
    }
    if (ec) return Status::Error("cannot list " + responses.string() + ": " + ec.message());
    // A rename done just before a crash may not be durable yet; make it so before the manifest
    // names the file (docs/conventions.md, "Crash-safe file update", step 6).
    QLIR_RETURN_IF_ERROR(options.disk->SyncDir(responses));
  }

  // 3. Listed entries against the files.
  // slice id -> its entry's key (pointing into the map, whose nodes do not move)
  std::unordered_map<std::string, const std::string*> key_of_id;
  key_of_id.reserve(m.slices.size());
  for (auto& [key, e] : m.slices) {
    const std::string id = SliceId(key);
    key_of_id.emplace(id, &key);
    if (e.status != SliceStatus::kOk && e.status != SliceStatus::kPartial) continue;
    const fs::path path = dir / ResponseRelativePath(id);
    std::string problem;
    if (!files.contains(id)) {
      problem = "response file missing";
    } else if ((quick && !QuickCheckResponse(path)) ||
               (options.verify == VerifyResponses::kFull && !FullCheckResponse(path, key, e))) {
      problem = "response file damaged";
    }
    if (problem.empty() && !e.digest) {
      // A manifest written before entries had a digest: upgraded in place from the file.
      auto digest = DigestListedResponse(*endpoint, path, key, e);
      if (digest) {
        e.digest = std::move(*digest);
        ++report.digested;
        report.changed = true;
        report.changed_keys.push_back(key);
        continue;
      }
      problem = "response file cannot be vouched for (" + digest.error() + ")";
    }
    if (problem.empty()) continue;
    Log(LogLevel::kWarn, key,
        "recovery: " + problem + " (" + path.string() + "), was " +
            std::string(SliceStatusName(e.status)) + ", now pending");
    e.status = SliceStatus::kPending;
    e.n_items = 0;
    e.first_ts.reset();
    e.last_ts.reset();
    e.digest.reset();
    e.error = problem + " at recovery";
    ++report.demoted;
    report.demoted_keys.push_back(key);
    report.changed_keys.push_back(key);
    report.changed = true;
  }

  // 4. Files the manifest lacks, or lists as failed (the file is newer than that failure).
  for (const std::string& id : files) {
    auto known = key_of_id.find(id);
    if (known != key_of_id.end() && m.slices.at(*known->second).status != SliceStatus::kFailed) {
      continue;
    }
    const fs::path path = responses / (id + ".json");
    auto indexed = IndexResponse(*endpoint, path, id, series);
    if (!indexed) {
      ++report.undecodable;
      Log(LogLevel::kWarn, {}, "recovery: cannot index, leaving alone: " + indexed.error());
      continue;
    }
    const SliceRecord& r = indexed->second;
    m.slices.insert_or_assign(r.key, r.entry);
    ++report.indexed;
    report.changed_keys.push_back(r.key);
    report.changed = true;
    Log(LogLevel::kInfo, r.key,
        "recovery: indexed response file missing from the manifest as " +
            std::string(SliceStatusName(r.entry.status)));
  }
  return out;
}

}  // namespace qlir::persister
