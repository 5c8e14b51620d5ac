#include "fetcher/shared_rate_state.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace qlir::fetcher {
namespace {

constexpr size_t kMaxFileBytes = 256;

std::string Errno(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

RateState ParseState(const char* buf) {
  RateState s;
  long long a = 0, b = 0, n = 0, c = 0, l = 0, w = 0;
  char tail = 0;
  // Anything but the exact form reads as a fresh state.
  if (std::sscanf(buf, "qlir-rate v2 %lld %lld %lld %lld %lld %lld%c", &a, &b, &n, &c, &l, &w,
                  &tail) == 7 &&
      tail == '\n' && a >= 0 && b >= 0 && n >= 0 && c >= 0 && l >= 0 && w >= 0 &&
      (w == 0 || w >= 1000)) {
    s.limit = l;
    s.window_ms = w;
  } else if (!(std::sscanf(buf, "qlir-rate v1 %lld %lld %lld %lld%c", &a, &b, &n, &c, &tail) == 5 &&
               tail == '\n' && a >= 0 && b >= 0 && n >= 0 && c >= 0)) {
    return s;
  }
  s.window_start_ms = a;
  s.used = b;
  s.next_used = n;
  s.pause_until_ms = c;
  return s;
}

// Holds flock(LOCK_EX) for its lifetime.
class FileLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {
    int rc;
    do {
      rc = ::flock(fd_, LOCK_EX);
    } while (rc != 0 && errno == EINTR);
    ok_ = rc == 0;
  }
  ~FileLock() {
    if (ok_) ::flock(fd_, LOCK_UN);
  }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool ok() const { return ok_; }

 private:
  int fd_;
  bool ok_ = false;
};

}  // namespace

Result<std::unique_ptr<SharedRateState>> SharedRateState::Open(const std::string& path,
                                                               const RateLimiterOptions& options) {
  if (path.empty()) return Status::Error("rate state: empty path");
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::Error(Errno("cannot open rate state", path));
  return std::unique_ptr<SharedRateState>(new SharedRateState(path, fd, options));
}

SharedRateState::~SharedRateState() { ::close(fd_); }

Status SharedRateState::Update(const std::function<void(RateState&)>& fn) {
  std::lock_guard<std::mutex> guard(mu_);
  FileLock lock(fd_);
  if (!lock.ok()) return Status::Error(Errno("cannot lock rate state", path_));
  char buf[kMaxFileBytes + 1] = {0};
  const ssize_t n = ::pread(fd_, buf, kMaxFileBytes, 0);
  if (n < 0) return Status::Error(Errno("cannot read rate state", path_));
  RateState state = ParseState(buf);
  const RateState before = state;
  fn(state);
  if (state == before && n > 0) return Status::Ok();
  char out[kMaxFileBytes];
  const int len = std::snprintf(
      out, sizeof out, "qlir-rate v2 %lld %lld %lld %lld %lld %lld\n",
      static_cast<long long>(state.window_start_ms), static_cast<long long>(state.used),
      static_cast<long long>(state.next_used), static_cast<long long>(state.pause_until_ms),
      static_cast<long long>(state.limit), static_cast<long long>(state.window_ms));
  // Same-size or longer writes overwrite in place; the truncate drops a longer old tail. Readers
  // hold the lock, so they never see the half-written file.
  if (::pwrite(fd_, out, static_cast<size_t>(len), 0) != len) {
    return Status::Error(Errno("cannot write rate state", path_));
  }
  if (::ftruncate(fd_, len) != 0) return Status::Error(Errno("cannot truncate rate state", path_));
  return Status::Ok();
}

Result<int64_t> SharedRateState::Reserve(int64_t now_ms, int64_t weight) {
  int64_t wait = 0;
  Status s = Update([&](RateState& st) { wait = limiter_.Reserve(st, now_ms, weight); });
  if (!s.ok()) return s;
  return wait;
}

Status SharedRateState::Observe(int64_t now_ms, int64_t sent_ms, const RateObservation& obs) {
  return Update([&](RateState& st) { limiter_.Observe(st, now_ms, sent_ms, obs); });
}

Status SharedRateState::ObserveResponse(int64_t now_ms, int64_t sent_ms, int status,
                                        const std::map<std::string, std::string>& headers) {
  return Update([&](RateState& st) {
    limiter_.Observe(st, now_ms, sent_ms,
                     limiter_.ObservationFrom(status, headers, limiter_.Window(st)));
  });
}

Status SharedRateState::Learn(int64_t now_ms, int64_t limit, int64_t window_ms) {
  return Update([&](RateState& st) { limiter_.Learn(st, now_ms, limit, window_ms); });
}

Result<RateState> SharedRateState::Read() {
  RateState copy;
  Status s = Update([&](RateState& st) { copy = st; });
  if (!s.ok()) return s;
  return copy;
}

std::string HostOf(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme != std::string_view::npos) url.remove_prefix(scheme + 3);
  return std::string(url.substr(0, url.find_first_of("/?#")));
}

std::string RateStatePath(const std::string& base, std::string_view exchange_host,
                          std::string_view limit) {
  if (exchange_host == "api.binance.com" && limit == kWeightLimitName) return base;
  std::string path = base + ".";
  for (char c : exchange_host) path += (c == '/' || c == ':') ? '_' : c;
  path += ".";
  path += limit;
  return path;
}

RateLimiterOptions RateStateSet::OwnOptions(const Endpoint::OwnLimit& own) const {
  RateLimiterOptions o = weight_options_;
  o.weight_limit = own.limit;
  o.window_ms = own.window_ms;
  o.max_weight = 0;
  o.read_used_weight = false;
  return o;
}

Result<SharedRateState*> RateStateSet::Get(const std::string& path,
                                           const RateLimiterOptions& options) {
  if (adopted_ && adopted_->path() == path) return adopted_;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = states_.find(path);
  if (it != states_.end()) return it->second.get();
  auto opened = SharedRateState::Open(path, options);
  if (!opened.ok()) return opened.status();
  SharedRateState* s = opened->get();
  states_.emplace(path, std::move(*opened));
  return s;
}

Result<SharedRateState*> RateStateSet::Weight(const Endpoint& endpoint) {
  return Get(RateStatePath(base_, HostOf(endpoint.default_base_url()), kWeightLimitName),
             weight_options_);
}

Result<SharedRateState*> RateStateSet::Requests(const Endpoint& endpoint) {
  auto own = endpoint.own_limit();
  if (!own) return Weight(endpoint);
  return Get(RateStatePath(base_, HostOf(endpoint.default_base_url()), own->name),
             OwnOptions(*own));
}

}  // namespace qlir::fetcher
