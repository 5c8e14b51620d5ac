#include "tools/exchange-sim/counters.h"

#include "common/json.h"

namespace qlir::sim {

void Counters::Record(const RequestRecord& r) {
  std::lock_guard<std::mutex> lock(mu_);
  ++total_;
  IpCounts& ip = ips_[r.ip];
  ++ip.requests;
  ip.weight += static_cast<uint64_t>(r.weight);
  if (r.limited) ++ip.limited;
  if (r.banned) ++ip.banned;
  if (r.ban_started) ++ip.bans;
  if (r.status != 0) ++ip.statuses[std::to_string(r.status)];
  if (r.fault != FaultKind::kNone) ++ip.faults[std::string(FaultName(r.fault))];
  if (r.klines) {
    WindowCounts& w = windows_[r.window_key];
    ++w.requests;
    if (r.klines_ok) ++w.ok;
    if (r.limited || r.banned) ++w.limited;
    if (r.fault != FaultKind::kNone) ++w.faulted;
    if (r.api_error) ++w.errors;
  }
}

uint64_t Counters::NextAttempt(const std::string& fault_key) {
  std::lock_guard<std::mutex> lock(mu_);
  return attempts_[fault_key]++;
}

std::string Counters::ToJson() const {
  std::lock_guard<std::mutex> lock(mu_);
  nlohmann::json ips = nlohmann::json::object();
  for (const auto& [addr, c] : ips_) {
    ips[addr] = {{"requests", c.requests}, {"weight", c.weight}, {"429", c.limited},
                 {"418", c.banned},        {"bans", c.bans},     {"statuses", c.statuses},
                 {"faults", c.faults}};
  }
  nlohmann::json windows = nlohmann::json::object();
  uint64_t duplicates = 0;
  for (const auto& [key, w] : windows_) {
    windows[key] = {{"requests", w.requests},
                    {"ok", w.ok},
                    {"limited", w.limited},
                    {"faulted", w.faulted},
                    {"errors", w.errors}};
    if (w.ok > 1) duplicates += w.ok - 1;
  }
  nlohmann::json j = {{"requests", total_},
                      {"in_flight", in_flight_.load()},
                      {"ips", ips},
                      {"windows", windows},
                      {"duplicate_ok_windows", duplicates}};
  // Window keys hold raw client bytes, which need not be UTF-8: replace bad bytes, never throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Counters::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  total_ = 0;
  ips_.clear();
  windows_.clear();
  attempts_.clear();
}

}  // namespace qlir::sim
