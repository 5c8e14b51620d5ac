#include "tools/qlir-status/verify.h"

#include <algorithm>
#include <set>
#include <system_error>
#include <tuple>
#include <utility>

#include "common/atomic_file.h"
#include "common/data_root.h"
#include "common/endpoint.h"
#include "common/manifest.h"
#include "common/response_file.h"
#include "common/slice_id.h"
#include "tools/qlir-status/series_report.h"

namespace qlir::status_tool {

namespace fs = std::filesystem;

std::string_view ProblemKindName(ProblemKind kind) {
  switch (kind) {
    case ProblemKind::kManifest:
      return "manifest";
    case ProblemKind::kBadKey:
      return "bad-key";
    case ProblemKind::kSliceId:
      return "slice-id";
    case ProblemKind::kRelativePath:
      return "relative-path";
    case ProblemKind::kFileMissing:
      return "file-missing";
    case ProblemKind::kFileUnreadable:
      return "file-unreadable";
    case ProblemKind::kFileCorrupt:
      return "file-corrupt";
    case ProblemKind::kSliceMismatch:
      return "slice-mismatch";
    case ProblemKind::kBadData:
      return "bad-data";
    case ProblemKind::kCountMismatch:
      return "count-mismatch";
    case ProblemKind::kUnindexedFile:
      return "unindexed-file";
    case ProblemKind::kOrphanFile:
      return "orphan-file";
    case ProblemKind::kTempFile:
      return "temp-file";
    case ProblemKind::kUnknownFile:
      return "unknown-file";
    case ProblemKind::kCorruptManifestKept:
      return "corrupt-manifest-kept";
  }
  return "unknown";
}

std::map<std::string, std::vector<std::string>> VerifyReport::RepairKeys() const {
  std::map<std::string, std::set<std::string>> keys;
  for (const Problem& p : problems) {
    if (p.repairable) keys[p.series.substr(0, p.series.find('/'))].insert(p.key);
  }
  std::map<std::string, std::vector<std::string>> out;
  for (auto& [endpoint, set] : keys) out[endpoint].assign(set.begin(), set.end());
  return out;
}

namespace {

std::string OptTs(std::optional<int64_t> v) { return v ? std::to_string(*v) : "null"; }

class SeriesVerifier {
 public:
  SeriesVerifier(const SeriesLocation& loc, int64_t* files_checked)
      : loc_(loc), files_checked_(files_checked) {}

  std::vector<Problem> Run() {
    const fs::path manifest_path = loc_.dir / kManifestName;
    std::optional<Manifest> manifest;
    auto text = ReadFile(manifest_path);
    std::error_code ec;
    if (!text) {
      if (!fs::exists(manifest_path, ec) && !ec) {
        Add("-", ProblemKind::kManifest, manifest_path.string() + ": no manifest", false);
      } else {
        Add("-", ProblemKind::kManifest, text.error(), false);
      }
    } else if (auto m = ParseManifest(*text, manifest_path.string()); !m) {
      Add("-", ProblemKind::kManifest, "corrupt manifest: " + m.error(), false);
    } else if (Status s = CheckManifestIdentity(*m, loc_); !s.ok()) {
      Add("-", ProblemKind::kManifest, s.message(), false);
    } else {
      manifest = std::move(*m);
    }
    if (manifest) {
      for (const auto& [key, entry] : manifest->slices) CheckEntry(*manifest, key, entry);
    }
    CheckResponsesDir(manifest.has_value());
    CheckSeriesDir();
    return std::move(problems_);
  }

 private:
  void Add(std::string key, ProblemKind kind, std::string detail, bool repairable) {
    problems_.push_back({loc_.Name(), std::move(key), kind, std::move(detail), repairable});
  }

  void CheckEntry(const Manifest& m, const std::string& key, const ManifestEntry& e) {
    auto k = CheckEntryKey(key, m);
    if (!k) {
      Add(key, ProblemKind::kBadKey, k.error(), false);
      return;
    }
    const std::string id = SliceId(key);
    named_ids_.insert(id);
    if (e.slice_id != id) {
      Add(key, ProblemKind::kSliceId,
          "slice_id is '" + e.slice_id + "', BLAKE2b-128 of the key is '" + id + "'", true);
    }
    if (e.relative_path != ResponseRelativePath(id)) {
      Add(key, ProblemKind::kRelativePath,
          "relative_path is '" + e.relative_path + "', expected '" + ResponseRelativePath(id) + "'",
          true);
    }
    const fs::path file = loc_.dir / ResponseRelativePath(id);
    std::error_code ec;
    const bool exists = fs::exists(file, ec);
    // A pending entry may keep its old file: MARK_PENDING and the persister's recovery leave
    // it until a new result replaces it, and status already counts the slice as missing.
    if (e.status == SliceStatus::kPending) return;
    if (e.status == SliceStatus::kFailed) {
      // A failed result never replaces a stored one, so the manifest lags behind the file.
      if (exists) {
        Add(key, ProblemKind::kUnindexedFile,
            file.string() + " exists but the manifest says failed", true);
      }
      return;
    }
    if (!exists && !ec) {
      Add(key, ProblemKind::kFileMissing,
          file.string() + " is missing (manifest says " + std::string(SliceStatusName(e.status)) +
              ")",
          true);
      return;
    }
    auto text = ReadFile(file);
    if (files_checked_) ++*files_checked_;
    if (!text) {
      Add(key, ProblemKind::kFileUnreadable, text.error(), true);
      return;
    }
    auto f = DecodeResponseFile(*text, file.string());
    if (!f) {
      Add(key, ProblemKind::kFileCorrupt,
          f.error() + " (" + std::to_string(text->size()) + " bytes)", true);
      return;
    }
    if (f->meta.slice != key) {
      Add(key, ProblemKind::kSliceMismatch,
          file.string() + ": meta.slice is '" + f->meta.slice + "'", true);
      return;
    }
    auto summary = FindEndpoint(m.endpoint)->ValidatePayload(f->data, *k);
    if (!summary) {
      Add(key, ProblemKind::kBadData, file.string() + ": " + summary.error(), true);
      return;
    }
    const std::optional<int64_t> first =
        summary->n_items > 0 ? std::optional<int64_t>(summary->first_ts) : std::nullopt;
    const std::optional<int64_t> last =
        summary->n_items > 0 ? std::optional<int64_t>(summary->last_ts) : std::nullopt;
    if (summary->n_items != e.n_items || first != e.first_ts || last != e.last_ts) {
      Add(key, ProblemKind::kCountMismatch,
          file.string() + ": file has n_items " + std::to_string(summary->n_items) + ", first_ts " +
              OptTs(first) + ", last_ts " + OptTs(last) + "; manifest says n_items " +
              std::to_string(e.n_items) + ", first_ts " + OptTs(e.first_ts) + ", last_ts " +
              OptTs(e.last_ts),
          true);
    }
  }

  // responses/: every response file must be named by the manifest; no temporaries, no strangers.
  void CheckResponsesDir(bool manifest_ok) {
    const fs::path dir = loc_.dir / kResponsesDir;
    auto names = ListDir(dir);
    if (!names) {
      Add("-", ProblemKind::kFileUnreadable, names.error(), false);
      return;
    }
    for (const DirEntry& n : *names) {
      const fs::path path = dir / n.name;
      std::string id;
      const ResponseName kind =
          n.is_regular ? ClassifyResponseName(n.name, &id) : ResponseName::kOther;
      switch (kind) {
        case ResponseName::kResponse:
          if (manifest_ok && !named_ids_.contains(id)) ReportOrphan(path);
          break;
        case ResponseName::kTemporary:
          Add("-", ProblemKind::kTempFile,
              path.string() + ": leftover temporary (an interrupted write, or one in progress)",
              false);
          break;
        case ResponseName::kOther:
          Add("-", ProblemKind::kUnknownFile, path.string() + ": not a name the layout uses",
              false);
          break;
      }
    }
  }

  void ReportOrphan(const fs::path& path) {
    std::string key = "-";
    std::string what = path.string() + ": response file not named by the manifest";
    auto text = ReadFile(path);
    if (files_checked_) ++*files_checked_;
    if (text) {
      if (auto f = DecodeResponseFile(*text, path.string()); f) {
        key = f->meta.slice;
        if (SliceId(key) + ".json" != path.filename().string()) {
          what += " (and its meta.slice does not hash to its name)";
        }
      } else {
        what += " (" + f.error() + ")";
      }
    }
    Add(key, ProblemKind::kOrphanFile, what, false);
  }

  // The series folder holds manifest.json and responses/; the persister may leave a
  // manifest.json.<pid>.<n>.tmp (interrupted replace) or a manifest.json.corrupt-<UTC>.
  void CheckSeriesDir() {
    auto names = ListDir(loc_.dir);
    if (!names) {
      Add("-", ProblemKind::kFileUnreadable, names.error(), false);
      return;
    }
    for (const DirEntry& n : *names) {
      const fs::path path = loc_.dir / n.name;
      switch (ClassifySeriesName(n.name)) {
        case SeriesName::kManifest:
        case SeriesName::kResponsesDir:
          break;
        case SeriesName::kManifestTemporary:
          Add("-", ProblemKind::kTempFile,
              path.string() +
                  ": leftover temporary manifest (an interrupted replace, or one in "
                  "progress)",
              false);
          break;
        case SeriesName::kCorruptManifest:
          Add("-", ProblemKind::kCorruptManifestKept,
              path.string() + ": a damaged manifest the persister set aside (inspect, then delete)",
              false);
          break;
        case SeriesName::kOther:
          Add("-", ProblemKind::kUnknownFile, path.string() + ": not a name the layout uses",
              false);
          break;
      }
    }
  }

  const SeriesLocation& loc_;
  int64_t* files_checked_;
  std::set<std::string> named_ids_;
  std::vector<Problem> problems_;
};

}  // namespace

std::vector<Problem> VerifySeries(const SeriesLocation& loc, int64_t* files_checked) {
  return SeriesVerifier(loc, files_checked).Run();
}

Result<VerifyReport> Verify(const fs::path& root, const SeriesFilter& filter) {
  auto series = FindSeries(root, filter);
  if (!series) return series.status();
  VerifyReport report;
  report.data_root = root;
  report.series_checked = static_cast<int64_t>(series->size());
  std::vector<std::vector<Problem>> first_pass;
  first_pass.reserve(series->size());
  for (const SeriesLocation& loc : *series) {
    first_pass.push_back(VerifySeries(loc, &report.files_checked));
  }
  // Second pass, after the whole root: a problem that was a write in flight is gone by now.
  for (size_t i = 0; i < series->size(); ++i) {
    if (first_pass[i].empty()) continue;
    // Keyless problems (temporaries, strangers) are told apart by their detail, which names
    // the file; keyed ones by key and kind (their detail may quote changing numbers).
    auto identity = [](const Problem& p) {
      return std::tuple(p.key, p.kind, p.key == "-" ? p.detail : std::string());
    };
    std::set<std::tuple<std::string, ProblemKind, std::string>> seen;
    for (const Problem& p : first_pass[i]) seen.insert(identity(p));
    for (Problem& p : VerifySeries((*series)[i], nullptr)) {
      if (seen.contains(identity(p))) report.problems.push_back(std::move(p));
    }
  }
  return report;
}

}  // namespace qlir::status_tool
