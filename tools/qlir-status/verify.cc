#include "tools/qlir-status/verify.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <system_error>
#include <tuple>
#include <utility>

#include "common/atomic_file.h"
#include "common/body_digest.h"
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
    case ProblemKind::kDigestMismatch:
      return "digest-mismatch";
    case ProblemKind::kNoDigest:
      return "no-digest";
    case ProblemKind::kIrregularRows:
      return "irregular-rows";
    case ProblemKind::kIgnoredManifest:
      return "ignored-manifest";
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

// The framing EncodeResponseFile writes, seen from its two ends: starts with {"meta": and ends
// with } and its newline (which may go without harm: a truncated, emptied or zero-filled file
// fails it). Sets *size.
Status QuickCheckFile(const fs::path& path, int64_t* size) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IOError("cannot open " + path.string() + ": " + std::strerror(errno));
  struct stat st;
  Status result = Status::Ok();
  static constexpr std::string_view kHead = "{\"meta\":";
  if (::fstat(fd, &st) != 0) {
    result = Status::IOError("cannot stat " + path.string() + ": " + std::strerror(errno));
  } else {
    *size = st.st_size;
    char head[8];
    char tail[2];
    if (!S_ISREG(st.st_mode)) {
      result = Status::Corruption(path.string() + ": not a regular file");
    } else if (st.st_size <= static_cast<off_t>(kHead.size() + 2)) {
      result = Status::Corruption(path.string() + ": " + std::to_string(st.st_size) +
                                  " bytes, too short to be a response file");
    } else if (::pread(fd, head, sizeof head, 0) != static_cast<ssize_t>(sizeof head) ||
               ::pread(fd, tail, sizeof tail, st.st_size - 2) !=
                   static_cast<ssize_t>(sizeof tail)) {
      result = Status::IOError("cannot read " + path.string() + ": " + std::strerror(errno));
    } else if (std::string_view(head, sizeof head) != kHead ||
               !(tail[1] == '}' || (tail[0] == '}' && tail[1] == '\n'))) {
      result = Status::Corruption(path.string() + ": not framed as a response file (" +
                                  std::to_string(st.st_size) + " bytes; truncated?)");
    }
  }
  ::close(fd);
  return result;
}

class SeriesVerifier {
 public:
  SeriesVerifier(ManifestReader& reader, const SeriesLocation& loc, const VerifyOptions& options)
      : reader_(reader), loc_(loc), options_(options) {}

  SeriesVerification Run() {
    std::optional<Manifest> manifest;
    auto m = reader_.Read(loc_);
    if (!m) {
      Add("-", ProblemKind::kManifest,
          m.status().IsCorruption() ? "corrupt manifest: " + m.error() : m.error(), false);
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
    if (counts_.no_digest > 0) {
      Notice("-", ProblemKind::kNoDigest,
             std::to_string(counts_.no_digest) +
                 " stored slices have no digest (a manifest written before digests; the "
                 "persister adds them at its next start): their rows were checked, not their "
                 "bytes");
    }
    return SeriesVerification{std::move(problems_), std::move(notices_), counts_};
  }

 private:
  void Add(std::string key, ProblemKind kind, std::string detail, bool repairable) {
    problems_.push_back({loc_.Name(), std::move(key), kind, std::move(detail), repairable});
  }
  void Notice(std::string key, ProblemKind kind, std::string detail) {
    notices_.push_back({loc_.Name(), std::move(key), kind, std::move(detail), false});
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
    if (e.status != SliceStatus::kFailed) ++counts_.slices_checked;
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
    if (options_.quick) {
      int64_t size = 0;
      Status q = QuickCheckFile(file, &size);
      ++counts_.files_checked;
      counts_.bytes_checked += size;
      if (!q.ok()) {
        Add(key, q.IsCorruption() ? ProblemKind::kFileCorrupt : ProblemKind::kFileUnreadable,
            q.message(), true);
      }
      return;
    }
    auto text = ReadFile(file);
    ++counts_.files_checked;
    if (!text) {
      Add(key, ProblemKind::kFileUnreadable, text.error(), true);
      return;
    }
    counts_.bytes_checked += static_cast<int64_t>(text->size());
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
    // The bytes: the file's data against the digest recorded when it was stored.
    std::string digest_problem;
    if (!e.digest) {
      ++counts_.no_digest;
    } else if (!f->verbatim) {
      digest_problem = "the bytes of 'data' cannot be located in the file";
    } else {
      ++counts_.digest_checked;
      if (const std::string d = BodyDigest(f->data); d != *e.digest) {
        digest_problem = "data hashes to " + d + ", the manifest's digest is " + *e.digest;
      }
    }
    const std::string digest_too =
        digest_problem.empty() ? "" : " (and the digest does not match: " + digest_problem + ")";
    // The rows: each for sense, then their count and ends against the entry.
    const PayloadAudit audit = FindEndpoint(m.endpoint)->AuditPayload(f->data, *k);
    if (!audit.bad.empty()) {
      Add(key, ProblemKind::kBadData, file.string() + ": " + audit.bad + digest_too, true);
      return;
    }
    const PayloadSummary& summary = audit.summary;
    const std::optional<int64_t> first =
        summary.n_items > 0 ? std::optional<int64_t>(summary.first_ts) : std::nullopt;
    const std::optional<int64_t> last =
        summary.n_items > 0 ? std::optional<int64_t>(summary.last_ts) : std::nullopt;
    if (summary.n_items != e.n_items || first != e.first_ts || last != e.last_ts) {
      Add(key, ProblemKind::kCountMismatch,
          file.string() + ": file has n_items " + std::to_string(summary.n_items) + ", first_ts " +
              OptTs(first) + ", last_ts " + OptTs(last) + "; manifest says n_items " +
              std::to_string(e.n_items) + ", first_ts " + OptTs(e.first_ts) + ", last_ts " +
              OptTs(e.last_ts) + digest_too,
          true);
      return;
    }
    if (!digest_problem.empty()) {
      Add(key, ProblemKind::kDigestMismatch,
          file.string() + ": " + digest_problem +
              " (its rows make sense: the bytes changed after they were stored)",
          true);
      return;
    }
    if (audit.irregular_rows > 0) {
      Notice(key, ProblemKind::kIrregularRows,
             std::to_string(audit.irregular_rows) + " irregular rows, first " + audit.irregular +
                 (e.digest ? " (the bytes are as stored: the exchange's own)" : ""));
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
    ++counts_.files_checked;
    if (text) {
      counts_.bytes_checked += static_cast<int64_t>(text->size());
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
          if (reader_.backend() == StateBackend::kSqlite) {
            Notice("-", ProblemKind::kIgnoredManifest,
                   path.string() + ": not read, " + reader_.Where(loc_).string() +
                       " holds this series (an interrupted 'qlir-status migrate --to sqlite' "
                       "leaves these: run it again)");
          }
          break;
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

  ManifestReader& reader_;
  const SeriesLocation& loc_;
  const VerifyOptions& options_;
  std::set<std::string> named_ids_;
  std::vector<Problem> problems_;
  std::vector<Problem> notices_;
  VerifyCounts counts_;
};

}  // namespace

namespace {

// A SQLite root's own leftovers: a database being built (migrate, interrupted or running) and a
// damaged one the persister set aside.
std::vector<Problem> CheckStateDbLeftovers(const fs::path& root) {
  std::vector<Problem> out;
  auto names = ListDir(root);
  if (!names) {
    out.push_back({"-", "-", ProblemKind::kFileUnreadable, names.error(), false});
    return out;
  }
  for (const DirEntry& n : *names) {
    const fs::path path = root / n.name;
    switch (ClassifyRootName(n.name)) {
      case RootName::kStateDbTemporary:
        out.push_back({"-", "-", ProblemKind::kTempFile,
                       path.string() +
                           ": leftover temporary state database (an interrupted 'qlir-status "
                           "migrate', or one in progress)",
                       false});
        break;
      case RootName::kCorruptStateDb:
        out.push_back({"-", "-", ProblemKind::kCorruptManifestKept,
                       path.string() +
                           ": a damaged state database the persister set aside (inspect, then "
                           "delete)",
                       false});
        break;
      default:
        break;
    }
  }
  return out;
}

}  // namespace

SeriesVerification VerifySeries(ManifestReader& reader, const SeriesLocation& loc,
                                const VerifyOptions& options) {
  return SeriesVerifier(reader, loc, options).Run();
}

Result<VerifyReport> Verify(const fs::path& root, const SeriesFilter& filter,
                            const VerifyOptions& options) {
  auto reader = ManifestReader::Open(root);
  if (!reader) return reader.status();
  auto series = (*reader)->FindSeries(filter);
  if (!series) return series.status();
  VerifyReport report;
  report.data_root = root;
  report.quick = options.quick;
  report.series_checked = static_cast<int64_t>(series->size());
  std::vector<std::vector<Problem>> first_pass;
  first_pass.reserve(series->size());
  std::vector<Problem> first_root;  // names in the root itself
  VerifyCounts counts;
  for (const SeriesLocation& loc : *series) {
    SeriesVerification v = VerifySeries(**reader, loc, options);
    counts.Add(v.counts);
    first_pass.push_back(std::move(v.problems));
    // Notices are not confirmed by a second pass: they describe data, not a write in flight.
    for (Problem& n : v.notices) report.notices.push_back(std::move(n));
  }
  // Either backend: an interrupted migrate to SQLite leaves its temporary in a JSON root.
  first_root = CheckStateDbLeftovers(root);
  report.files_checked = counts.files_checked;
  report.bytes_checked = counts.bytes_checked;
  report.slices_checked = counts.slices_checked;
  report.no_digest = counts.no_digest;
  report.digest_checked = counts.digest_checked;
  // Second pass, after the whole root: a problem that was a write in flight is gone by now.
  if (!first_root.empty()) {
    for (Problem& p : CheckStateDbLeftovers(root)) {
      if (std::any_of(first_root.begin(), first_root.end(),
                      [&](const Problem& q) { return q.detail == p.detail; })) {
        report.problems.push_back(std::move(p));
      }
    }
  }
  for (size_t i = 0; i < series->size(); ++i) {
    if (first_pass[i].empty()) continue;
    // Keyless problems (temporaries, strangers) are told apart by their detail, which names
    // the file; keyed ones by key and kind (their detail may quote changing numbers).
    auto identity = [](const Problem& p) {
      return std::tuple(p.key, p.kind, p.key == "-" ? p.detail : std::string());
    };
    std::set<std::tuple<std::string, ProblemKind, std::string>> seen;
    for (const Problem& p : first_pass[i]) seen.insert(identity(p));
    for (Problem& p : VerifySeries(**reader, (*series)[i], options).problems) {
      if (seen.contains(identity(p))) report.problems.push_back(std::move(p));
    }
  }
  return report;
}

}  // namespace qlir::status_tool
