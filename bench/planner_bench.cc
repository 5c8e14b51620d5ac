// planner_bench: what the planner's start costs for a large universe (issue #8, item 5): the
// expected universe of --symbols x --interval from --start to now, and the diff against a
// stored state, through the planner's own code (Universe::AddSeries, then Coordinator fed one
// STATUS_REPLY per series as it arrives from the persister: wire::Decode, ApplyStatuses, Plan).
// The stored state: the first --stored-fraction of each series `ok`, the rest missing, every
// --failed-every'th stored slice `failed`. Replies are encoded just before they are fed (not
// timed; the persister's work), one at a time as the planner receives them, so peak RSS is the
// planner's. Prints one JSON line per figure; asserts nothing.
//   planner_bench [--symbols 10] [--interval 1s] [--start 2022-01-01] [--stored-fraction 0.9]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "common/klines/slice_key.h"
#include "common/time_util.h"
#include "common/wire.h"
#include "planner/coordinator.h"
#include "planner/universe.h"

using namespace qlir;
using namespace qlir::planner;

namespace {

long StatusKb(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(status, line)) {
    if (line.rfind(prefix, 0) == 0) return std::stol(line.substr(prefix.size()));
  }
  return -1;
}

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void Figure(const char* name, double value, const char* unit, long slices) {
  std::printf("{\"figure\":\"%s\",\"value\":%.10g,\"unit\":\"%s\",\"slices\":%ld}\n", name, value,
              unit, slices);
}

}  // namespace

int main(int argc, char** argv) {
  int symbols = 10;
  std::string interval = "1s";
  std::string start_text = "2022-01-01";
  double stored_fraction = 0.9;
  long failed_every = 1000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    const std::string v = argv[i + 1];
    if (a == "--symbols") {
      symbols = std::atoi(v.c_str());
    } else if (a == "--interval") {
      interval = v;
    } else if (a == "--start") {
      start_text = v;
    } else if (a == "--stored-fraction") {
      stored_fraction = std::atof(v.c_str());
    } else if (a == "--failed-every") {
      failed_every = std::atol(v.c_str());
    } else {
      std::fprintf(stderr, "planner_bench: unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  auto start = ParseTimeUtc(start_text);
  if (!start) {
    std::fprintf(stderr, "planner_bench: %s\n", start.error().c_str());
    return 2;
  }
  const int64_t now_ms = WallClockMs();
  const long rss_before = StatusKb("VmRSS");

  // 1. The expected universe.
  double t0 = Now();
  Universe u;
  for (int i = 0; i < symbols; ++i) {
    auto s = u.AddSeries("SYM" + std::to_string(i) + "USDT", interval, *start, now_ms);
    if (!s) {
      std::fprintf(stderr, "planner_bench: %s\n", s.error().c_str());
      return 1;
    }
  }
  const double universe_s = Now() - t0;
  const long total = static_cast<long>(u.total_size());
  const long rss_universe = StatusKb("VmRSS");

  // 2. The diff: one STATUS_REPLY per series through the coordinator.
  CoordinatorConfig config;
  config.once = true;
  config.end_ms = now_ms;
  ExchangeClock exchange;
  exchange.SetOffset(0);
  std::vector<std::pair<uint32_t, int64_t>> ranges;  // (series, first index), sizes
  std::vector<int64_t> sizes;
  for (uint32_t s = 0; s < u.series_count(); ++s) {
    ranges.push_back({s, u.first_index(s)});
    sizes.push_back(u.size(s));
  }
  std::vector<std::string> names;
  for (uint32_t s = 0; s < u.series_count(); ++s) names.push_back(u.symbol(s));
  const int64_t span_ms = u.span_ms(0);
  const std::string endpoint = u.endpoint_name();
  Coordinator c(config, std::move(u), exchange);
  Outbox out;
  c.Start(now_ms, &out);
  double decode_s = 0, apply_s = 0;
  long reply_bytes = 0, stored = 0;
  for (uint32_t s = 0; s < ranges.size(); ++s) {
    wire::StatusReply reply;
    reply.request_id = s + 1;
    reply.endpoint = endpoint;
    reply.symbol = names[s];
    reply.interval = interval;
    const int64_t n = static_cast<int64_t>(static_cast<double>(sizes[s]) * stored_fraction);
    reply.slices.reserve(static_cast<size_t>(n));
    for (int64_t k = 0; k < n; ++k) {
      const int64_t index = ranges[s].second + k;
      klines::KlineSliceKey key{names[s], interval, index * span_ms, (index + 1) * span_ms - 1,
                                klines::kDefaultLimit};
      reply.slices.push_back({key.composite_key(), k % failed_every == 0 ? "failed" : "ok"});
    }
    stored += n;
    std::string bytes = wire::Encode(reply);
    reply = {};
    reply_bytes += static_cast<long>(bytes.size());
    double t1 = Now();
    auto m = wire::Decode(bytes);
    double t2 = Now();
    if (!m) {
      std::fprintf(stderr, "planner_bench: decode: %s\n", m.error().c_str());
      return 1;
    }
    c.OnPersisterMessage(*m, now_ms, &out);
    double t3 = Now();
    decode_s += t2 - t1;
    apply_s += t3 - t2;
  }
  Figure("planner_universe_build_s", universe_s, "s", total);
  Figure("planner_status_decode_s", decode_s, "s", total);
  Figure("planner_diff_s", apply_s, "s", total);
  Figure("planner_total_s", universe_s + decode_s + apply_s, "s", total);
  Figure("planner_slices", static_cast<double>(total), "slices", total);
  Figure("planner_stored_slices", static_cast<double>(stored), "slices", total);
  Figure("planner_queued_slices", static_cast<double>(c.queued()), "slices", total);
  Figure("planner_status_reply_mb", static_cast<double>(reply_bytes) / 1e6, "MB", total);
  Figure("planner_universe_rss_mb", static_cast<double>(rss_universe - rss_before) / 1024.0, "MB",
         total);
  Figure("planner_peak_rss_mb", static_cast<double>(StatusKb("VmHWM")) / 1024.0, "MB", total);
  return 0;
}
