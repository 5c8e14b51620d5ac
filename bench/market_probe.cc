// market_probe: the client side of the whole-market benchmark (bench/run --only market), speaking
// the wire protocol (common/wire.h, docs/protocol.md) to a real planner or persister. Prints one
// JSON line per event on stdout (wall-clock times in ms since the epoch, so that bench/run can
// measure from the moment it started the server); progress on stderr. Asserts nothing.
//
//   market_probe first-job --planner EP [--id NAME] [--credits N] [--timeout-s S]
//     A fetcher that says READY and heartbeats, and exits at the first JOB it is handed:
//     {"event":"first_job","wall_ms":...,"key":"..."}.
//   market_probe status --persister EP --series FILE [--timeout-s S] [--page N]
//     Asks the statuses of every series of FILE (`endpoint symbol interval` a line), one after
//     the other, every page when the persister pages (STATUS_REQUEST after/max, when common/wire.h
//     has them): {"event":"first_status","wall_ms":...} at the first reply, then
//     {"event":"status_done",...} with the series, slices and statuses counted.
//   market_probe feed --results EP --persister EP --series FILE [--targets K] [--results-n N]
//                     [--pid PID] [--window W] [--rows R] [--rate PER_S]
//     The persist cost: asks the statuses of the first K series of FILE (loading them: not
//     measured), then sends N `partial` results (R rows each, W in flight at most) for their
//     slices that are not `ok`, cycling over them, as fetchers would, at --rate results a second
//     (default 50: one IP's klines at the exchange's 6,000 weight a minute; 0: as fast as the
//     persister takes them), and waits for every DURABLE notice. Paced, the time includes the
//     store's group commits as they fall due (a JSON manifest is rewritten every few seconds). CPU
//     of the persister (PID, all its threads, from /proc) and wall time are taken over the N
//     results only: {"event":"feed",...}.
// Exit 0 done, 64 bad usage, 75 a deadline passed (the event line says where), 1 other errors.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/exit_codes.h"
#include "common/klines/slice_key.h"
#include "common/wire.h"

using namespace qlir;

namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double Mono() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string Quote(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) o += c;
  }
  return o + "\"";
}

// CPU seconds of every thread of `pid` (utime + stime of /proc/PID/stat), -1 when unreadable.
double ProcessCpuS(long pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::atoll(field.c_str());
    if (i == 15) stime = std::atoll(field.c_str());
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct SeriesName {
  std::string endpoint, symbol, interval;
};

std::vector<SeriesName> ReadSeries(const std::string& path) {
  std::vector<SeriesName> out;
  std::ifstream f(path);
  SeriesName s;
  while (f >> s.endpoint >> s.symbol >> s.interval) out.push_back(s);
  return out;
}

bool Send(zmq::socket_t& s, const wire::Message& m) {
  const std::string frame = wire::Encode(m);
  return s.send(zmq::buffer(frame), zmq::send_flags::none).has_value();
}

// The next message on `s` within `timeout_ms`, decoded; nullopt on timeout or a bad frame.
std::optional<wire::Message> Receive(zmq::socket_t& s, long timeout_ms) {
  zmq::pollitem_t item{static_cast<void*>(s), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, std::chrono::milliseconds(timeout_ms)) <= 0) return std::nullopt;
  zmq::message_t msg;
  if (!s.recv(msg, zmq::recv_flags::dontwait)) return std::nullopt;
  auto m = wire::Decode(std::string_view(static_cast<const char*>(msg.data()), msg.size()));
  if (!m.ok()) {
    std::fprintf(stderr, "market_probe: bad frame: %s\n", m.error().c_str());
    return std::nullopt;
  }
  return *m;
}

// Paged STATUS (issue 20) when common/wire.h has it; one reply per series otherwise.
template <typename Req>
void SetPage(Req& r, const std::string& after, uint64_t max) {
  if constexpr (requires {
                  r.after;
                  r.max;
                }) {
    r.after = after;
    r.max = max;
  } else {
    (void)r;
    (void)after;
    (void)max;
  }
}
template <typename Rep>
bool MorePages(const Rep& r) {
  if constexpr (requires { r.more; }) {
    return r.more;
  } else {
    (void)r;
    return false;
  }
}
template <typename T>
constexpr bool kHasPages = requires(T r) {
  r.after;
};
constexpr bool kPaged = kHasPages<wire::StatusRequest>;

struct SeriesStatus {
  std::string error;
  int64_t pages = 0;
  std::map<std::string, int64_t> by_status;
  std::vector<std::string> not_ok;  // keys, when asked for
  bool timed_out = false;
};

class StatusClient {
 public:
  StatusClient(zmq::context_t& ctx, const std::string& endpoint)
      : s_(ctx, zmq::socket_type::dealer) {
    s_.set(zmq::sockopt::linger, 0);
    s_.set(zmq::sockopt::maxmsgsize, wire::kMaxMessageBytes);
    s_.set(zmq::sockopt::rcvhwm, 0);
    s_.connect(endpoint);
  }
  zmq::socket_t& socket() { return s_; }

  // Every page of one series. `on_reply` runs at each reply (the first one is timed).
  SeriesStatus Ask(const SeriesName& n, uint64_t page, long timeout_ms, bool keep_not_ok,
                   const std::function<void()>& on_reply) {
    SeriesStatus out;
    std::string after;
    for (;;) {
      wire::StatusRequest r;
      r.request_id = ++id_;
      r.endpoint = n.endpoint;
      r.symbol = n.symbol;
      r.interval = n.interval;
      SetPage(r, after, page);
      Send(s_, r);
      const double deadline = Mono() + timeout_ms / 1000.0;
      std::optional<wire::StatusReply> reply;
      while (!reply) {
        const long left = static_cast<long>((deadline - Mono()) * 1000);
        if (left <= 0) {
          out.timed_out = true;
          return out;
        }
        auto m = Receive(s_, left);
        if (!m) continue;
        if (auto* rep = std::get_if<wire::StatusReply>(&*m); rep && rep->request_id == id_) {
          reply = std::move(*rep);
        } else if (auto* d = std::get_if<wire::Durable>(&*m)) {
          durable_ += static_cast<int64_t>(d->slices.size());
        }
      }
      on_reply();
      ++out.pages;
      if (!reply->error.empty()) {
        out.error = reply->error;
        return out;
      }
      for (const wire::SliceState& st : reply->slices) {
        ++out.by_status[st.status];
        if (keep_not_ok && st.status != "ok") out.not_ok.push_back(st.key);
      }
      if (!MorePages(*reply) || reply->slices.empty()) return out;
      after = reply->slices.back().key;
    }
  }
  int64_t durable_ = 0;  // DURABLE slices seen while waiting for replies

 private:
  zmq::socket_t s_;
  uint64_t id_ = 0;
};

std::map<std::string, std::string> Flags(int argc, char** argv, int from) {
  std::map<std::string, std::string> f;
  for (int i = from; i + 1 < argc; i += 2) f[argv[i]] = argv[i + 1];
  return f;
}

int FirstJob(const std::map<std::string, std::string>& f) {
  if (!f.count("--planner")) return kExitUsage;
  const std::string id = f.count("--id") ? f.at("--id") : "market-probe";
  const uint32_t credits = f.count("--credits") ? std::atoi(f.at("--credits").c_str()) : 8;
  const double timeout_s = f.count("--timeout-s") ? std::atof(f.at("--timeout-s").c_str()) : 600;
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::maxmsgsize, wire::kMaxMessageBytes);
  s.connect(f.at("--planner"));
  const double deadline = Mono() + timeout_s;
  double next_ready = 0;
  while (Mono() < deadline) {
    if (Mono() >= next_ready) {
      // READY sets the credit (absolute): repeating it is harmless, and it counts only once the
      // planner is planning. HEARTBEAT keeps us alive for it meanwhile.
      Send(s, wire::Ready{id, credits});
      Send(s, wire::Heartbeat{id, {}});
      next_ready = Mono() + 0.5;
    }
    auto m = Receive(s, 100);
    if (!m) continue;
    if (auto* job = std::get_if<wire::Job>(&*m)) {
      std::printf("{\"event\":\"first_job\",\"wall_ms\":%lld,\"key\":%s}\n",
                  static_cast<long long>(WallMs()), Quote(job->key).c_str());
      std::fflush(stdout);
      return kExitDone;
    }
  }
  std::printf("{\"event\":\"timeout\",\"wall_ms\":%lld,\"waited_s\":%.0f}\n",
              static_cast<long long>(WallMs()), timeout_s);
  return kExitTemporary;
}

int StatusAll(const std::map<std::string, std::string>& f) {
  if (!f.count("--persister") || !f.count("--series")) return kExitUsage;
  const auto series = ReadSeries(f.at("--series"));
  const long timeout_ms = static_cast<long>(
      1000 * (f.count("--timeout-s") ? std::atof(f.at("--timeout-s").c_str()) : 3600));
  const uint64_t page = f.count("--page") ? std::atoll(f.at("--page").c_str()) : 0;
  zmq::context_t ctx(1);
  StatusClient c(ctx, f.at("--persister"));
  bool first = true;
  const double t0 = Mono();
  std::map<std::string, int64_t> totals;
  int64_t slices = 0, errors = 0, pages = 0, done = 0;
  double slowest_s = 0;
  std::string slowest;
  for (const SeriesName& n : series) {
    const double ts = Mono();
    SeriesStatus st = c.Ask(n, page, timeout_ms, false, [&] {
      if (!first) return;
      first = false;
      std::printf("{\"event\":\"first_status\",\"wall_ms\":%lld,\"series\":%s}\n",
                  static_cast<long long>(WallMs()),
                  Quote(n.endpoint + "/" + n.symbol + "/" + n.interval).c_str());
      std::fflush(stdout);
    });
    const double took = Mono() - ts;
    if (took > slowest_s) {
      slowest_s = took;
      slowest = n.symbol + "/" + n.interval;
    }
    if (st.timed_out) {
      std::printf("{\"event\":\"timeout\",\"wall_ms\":%lld,\"series_done\":%lld,\"at\":%s}\n",
                  static_cast<long long>(WallMs()), static_cast<long long>(done),
                  Quote(n.symbol + "/" + n.interval).c_str());
      return kExitTemporary;
    }
    if (!st.error.empty()) {
      ++errors;
      std::fprintf(stderr, "market_probe: %s/%s: %s\n", n.symbol.c_str(), n.interval.c_str(),
                   st.error.c_str());
    }
    pages += st.pages;
    for (const auto& [k, v] : st.by_status) {
      totals[k] += v;
      slices += v;
    }
    if (++done % 100 == 0) {
      std::fprintf(stderr, "market_probe: statuses of %lld/%zu series, %lld slices, %.1f s\n",
                   static_cast<long long>(done), series.size(), static_cast<long long>(slices),
                   Mono() - t0);
    }
  }
  std::string by = "{";
  for (const auto& [k, v] : totals) {
    if (by.size() > 1) by += ",";
    by += Quote(k) + ":" + std::to_string(v);
  }
  by += "}";
  std::printf(
      "{\"event\":\"status_done\",\"wall_ms\":%lld,\"series\":%lld,\"errors\":%lld,"
      "\"slices\":%lld,\"pages\":%lld,\"paged\":%s,\"by_status\":%s,\"seconds\":%.3f,"
      "\"slowest_series\":%s,\"slowest_s\":%.3f}\n",
      static_cast<long long>(WallMs()), static_cast<long long>(done),
      static_cast<long long>(errors), static_cast<long long>(slices), static_cast<long long>(pages),
      kPaged ? "true" : "false", by.c_str(), Mono() - t0, Quote(slowest).c_str(), slowest_s);
  return kExitDone;
}

std::string Body(const klines::KlineSliceKey& k, int64_t interval_ms, int rows) {
  std::string b = "[";
  for (int i = 0; i < rows; ++i) {
    if (i) b.push_back(',');
    const int64_t t = k.start_ms + i * interval_ms;
    b.push_back('[');
    b.append(std::to_string(t));
    b.append(",\"29384.10000000\",\"29390.40000000\",\"29380.10000000\",\"29385.20000000\",");
    b.append("\"12.12300000\",");
    b.append(std::to_string(t + interval_ms - 1));
    b.append(",\"356789.12000000\",120,\"6.01000000\",\"176543.21000000\",\"0\"]");
  }
  b.push_back(']');
  return b;
}

int Feed(const std::map<std::string, std::string>& f) {
  if (!f.count("--results") || !f.count("--persister") || !f.count("--series")) return kExitUsage;
  auto series = ReadSeries(f.at("--series"));
  const size_t targets = f.count("--targets") ? std::atoll(f.at("--targets").c_str()) : 8;
  const int64_t n = f.count("--results-n") ? std::atoll(f.at("--results-n").c_str()) : 2000;
  const long pid = f.count("--pid") ? std::atol(f.at("--pid").c_str()) : 0;
  const int64_t window = f.count("--window") ? std::atoll(f.at("--window").c_str()) : 64;
  const int rows = f.count("--rows") ? std::atoi(f.at("--rows").c_str()) : 100;
  const double rate = f.count("--rate") ? std::atof(f.at("--rate").c_str()) : 50;
  if (series.size() > targets) series.resize(targets);
  zmq::context_t ctx(1);
  StatusClient c(ctx, f.at("--persister"));
  Send(c.socket(), wire::Hello{"market-probe"});
  const double tl = Mono();
  std::vector<std::string> keys;
  int64_t loaded_slices = 0;
  for (const SeriesName& s : series) {
    SeriesStatus st = c.Ask(s, 0, 3600 * 1000, true, [] {});
    if (st.timed_out || !st.error.empty()) {
      std::printf("{\"event\":\"feed_error\",\"series\":%s,\"error\":%s}\n",
                  Quote(s.symbol + "/" + s.interval).c_str(),
                  Quote(st.timed_out ? "no status reply" : st.error).c_str());
      return kExitTemporary;
    }
    for (const auto& [k, v] : st.by_status) loaded_slices += v;
    keys.insert(keys.end(), st.not_ok.begin(), st.not_ok.end());
  }
  const double load_s = Mono() - tl;
  if (keys.empty()) {
    std::printf("{\"event\":\"feed_error\",\"error\":\"no slice that is not ok\"}\n");
    return 1;
  }
  // Bodies made before the clock starts: the fetcher's work is not the persister's.
  std::vector<std::string> frames;
  for (size_t i = 0; i < keys.size() && i < static_cast<size_t>(n); ++i) {
    auto k = klines::ParseCompositeKey(keys[i]);
    if (!k.ok()) continue;
    const int64_t interval_ms = (k->end_ms - k->start_ms + 1) / k->limit;
    wire::FetchResult r;
    r.endpoint = "klines";
    r.key = keys[i];
    r.url = "https://api.binance.com/api/v3/klines?symbol=" + k->symbol;
    r.http_status = 200;
    r.outcome = "partial";
    r.body = Body(*k, interval_ms, rows);
    r.n_items = rows;
    r.first_ts = k->start_ms;
    r.last_ts = k->start_ms + (rows - 1) * interval_ms;
    r.attempts = 1;
    frames.push_back(wire::Encode(r));
  }
  zmq::socket_t push(ctx, zmq::socket_type::push);
  push.set(zmq::sockopt::linger, 5000);
  push.set(zmq::sockopt::maxmsgsize, wire::kMaxMessageBytes);
  push.connect(f.at("--results"));
  const double cpu0 = pid ? ProcessCpuS(pid) : -1;
  const double t0 = Mono();
  int64_t sent = 0;
  c.durable_ = 0;
  double next_hello = 0;
  double last_quiet = 0;  // since when no message came (a minute of it ends the run)
  while (c.durable_ < n) {
    // HELLO subscribes us to DURABLE notices for 10 s: repeated every second, as the planner does.
    if (Mono() >= next_hello) {
      Send(c.socket(), wire::Hello{"market-probe"});
      next_hello = Mono() + 1;
    }
    while (sent < n && sent - c.durable_ < window && (rate <= 0 || Mono() >= t0 + sent / rate)) {
      // A later result of the same slice carries a later time: a newer partial replaces it.
      const std::string& frame = frames[static_cast<size_t>(sent) % frames.size()];
      auto r = wire::Decode(frame);
      auto& fr = std::get<wire::FetchResult>(*r);
      fr.requested_at_ms = WallMs() - 50;
      fr.completed_at_ms = WallMs();
      auto k = klines::ParseCompositeKey(fr.key);
      fr.server_time_ms = k->start_ms + 1000 + sent;  // inside the window: partial
      const std::string out = wire::Encode(fr);
      push.send(zmq::buffer(out), zmq::send_flags::none);
      ++sent;
    }
    // Paced: wake for the next send as well as for DURABLE notices.
    const double next_send = rate > 0 && sent < n ? t0 + sent / rate : 0;
    const long wait_ms =
        next_send > 0 ? std::max<long>(1, static_cast<long>((next_send - Mono()) * 1000)) : 1000;
    auto m = Receive(c.socket(), wait_ms);
    if (!m) last_quiet = last_quiet > 0 ? last_quiet : Mono();
    if (m) last_quiet = 0;
    if (!m && Mono() - last_quiet < 60) continue;
    if (!m) {
      std::printf("{\"event\":\"timeout\",\"wall_ms\":%lld,\"sent\":%lld,\"durable\":%lld}\n",
                  static_cast<long long>(WallMs()), static_cast<long long>(sent),
                  static_cast<long long>(c.durable_));
      return kExitTemporary;
    }
    if (auto* d = std::get_if<wire::Durable>(&*m))
      c.durable_ += static_cast<int64_t>(d->slices.size());
  }
  const double wall = Mono() - t0;
  const double cpu = pid ? ProcessCpuS(pid) - cpu0 : -1;
  std::printf(
      "{\"event\":\"feed\",\"results\":%lld,\"distinct_slices\":%zu,\"target_series\":%zu,"
      "\"target_slices\":%lld,\"load_s\":%.3f,\"rows\":%d,\"window\":%lld,\"seconds\":%.3f,"
      "\"rate\":%.1f,\"persister_cpu_s\":%.3f,\"cpu_ms_per_slice\":%.4f,\"wall_ms_per_slice\":%.4f}"
      "\n",
      static_cast<long long>(n), frames.size(), series.size(),
      static_cast<long long>(loaded_slices), load_s, rows, static_cast<long long>(window), wall,
      rate, cpu, cpu * 1000 / static_cast<double>(n), wall * 1000 / static_cast<double>(n));
  return kExitDone;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: market_probe first-job|status|feed FLAGS (see the file)\n");
    return kExitUsage;
  }
  const std::string mode = argv[1];
  const auto f = Flags(argc, argv, 2);
  int rc = kExitUsage;
  if (mode == "first-job") {
    rc = FirstJob(f);
  } else if (mode == "status") {
    rc = StatusAll(f);
  } else if (mode == "feed") {
    rc = Feed(f);
  }
  if (rc == kExitUsage)
    std::fprintf(stderr, "market_probe: bad usage (see bench/market_probe.cc)\n");
  return rc;
}
