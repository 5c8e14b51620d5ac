#include "tools/exchange-sim/faults.h"

#include <algorithm>

#include "common/json.h"
#include "tools/exchange-sim/mix.h"

namespace qlir::sim {
namespace {

// A uniform double in [0, 1) from 53 bits.
double Unit(uint64_t h) { return static_cast<double>(h >> 11) * 0x1.0p-53; }

}  // namespace

std::string_view FaultName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kNone:
      return "none";
    case FaultKind::kServerError:
      return "server_error";
    case FaultKind::kTimeout:
      return "timeout";
    case FaultKind::kTruncated:
      return "truncated";
    case FaultKind::kMalformed:
      return "malformed";
    case FaultKind::kHtml:
      return "html";
    case FaultKind::kReset:
      return "reset";
    case FaultKind::kHang:
      return "hang";
  }
  return "none";
}

Status FaultConfig::Validate() const {
  const std::pair<const char*, double> probs[] = {{"server_error", server_error},
                                                  {"timeout", timeout},
                                                  {"truncated", truncated},
                                                  {"malformed", malformed},
                                                  {"html", html},
                                                  {"reset", reset},
                                                  {"hang", hang}};
  double sum = 0;
  for (const auto& [name, p] : probs) {
    if (!(p >= 0 && p <= 1)) {
      return Status::Error(std::string("fault probability '") + name + "' must be in [0, 1]");
    }
    sum += p;
  }
  if (sum > 1 + 1e-9) return Status::Error("fault probabilities add up to more than 1");
  if (latency_ms < 0 || latency_ms > 600'000) return Status::Error("latency_ms must be 0..600000");
  if (jitter_ms < 0 || jitter_ms > 600'000) return Status::Error("jitter_ms must be 0..600000");
  if (hang_ms < 0 || hang_ms > 3'600'000) return Status::Error("hang_ms must be 0..3600000");
  for (const std::string& e : endpoints) {
    if (std::find(std::begin(kEndpointNames), std::end(kEndpointNames), e) ==
        std::end(kEndpointNames)) {
      return Status::Error(
          "unknown endpoint '" + e +
          "' for faults (known: ping time exchangeInfo klines aggTrades fundingRate)");
    }
  }
  return Status::Ok();
}

FaultDecision DecideFault(const FaultConfig& c, std::string_view request_key, uint64_t attempt) {
  const uint64_t base = SplitMix64(SplitMix64(c.seed ^ Fnv1a(request_key)) ^ attempt);
  FaultDecision d;
  const double u = Unit(SplitMix64(base ^ 1));
  const std::pair<FaultKind, double> kinds[] = {{FaultKind::kServerError, c.server_error},
                                                {FaultKind::kTimeout, c.timeout},
                                                {FaultKind::kTruncated, c.truncated},
                                                {FaultKind::kMalformed, c.malformed},
                                                {FaultKind::kHtml, c.html},
                                                {FaultKind::kReset, c.reset},
                                                {FaultKind::kHang, c.hang}};
  double acc = 0;
  for (const auto& [kind, p] : kinds) {
    acc += p;
    if (p > 0 && u < acc) {
      d.kind = kind;
      break;
    }
  }
  d.latency_ms = c.latency_ms;
  if (c.jitter_ms > 0) {
    d.latency_ms +=
        static_cast<int64_t>(SplitMix64(base ^ 2) % static_cast<uint64_t>(c.jitter_ms + 1));
  }
  d.server_error_status = c.server_error_status != 0   ? c.server_error_status
                          : (SplitMix64(base ^ 3) & 1) ? 503
                                                       : 502;
  return d;
}

Status ApplyFaultsJson(std::string_view json, FaultConfig* config) {
  FaultConfig next = *config;
  try {
    const nlohmann::json j = nlohmann::json::parse(json);
    if (!j.is_object()) return Status::Error("faults: expected a JSON object");
    for (const auto& [key, v] : j.items()) {
      auto prob = [&](double* p) {
        if (!v.is_number()) throw std::invalid_argument("'" + key + "' must be a number");
        *p = v.get<double>();
      };
      auto ms = [&](int64_t* p) {
        if (!v.is_number_integer()) throw std::invalid_argument("'" + key + "' must be an integer");
        *p = v.get<int64_t>();
      };
      if (key == "server_error")
        prob(&next.server_error);
      else if (key == "timeout")
        prob(&next.timeout);
      else if (key == "truncated")
        prob(&next.truncated);
      else if (key == "malformed")
        prob(&next.malformed);
      else if (key == "html")
        prob(&next.html);
      else if (key == "reset")
        prob(&next.reset);
      else if (key == "hang")
        prob(&next.hang);
      else if (key == "latency_ms")
        ms(&next.latency_ms);
      else if (key == "jitter_ms")
        ms(&next.jitter_ms);
      else if (key == "hang_ms")
        ms(&next.hang_ms);
      else if (key == "server_error_status") {
        int64_t st = 0;
        ms(&st);
        if (st != 0 && (st < 500 || st > 599))
          throw std::invalid_argument("'server_error_status' must be 0 or 500..599");
        next.server_error_status = static_cast<int>(st);
      } else if (key == "seed") {
        if (!v.is_number_unsigned())
          throw std::invalid_argument("'seed' must be an unsigned integer");
        next.seed = v.get<uint64_t>();
      } else if (key == "endpoints") {
        if (!v.is_array()) throw std::invalid_argument("'endpoints' must be an array of names");
        next.endpoints.clear();
        for (const auto& e : v) {
          if (!e.is_string()) throw std::invalid_argument("'endpoints' must be an array of names");
          next.endpoints.insert(e.get<std::string>());
        }
      } else {
        throw std::invalid_argument("unknown field '" + key + "'");
      }
    }
  } catch (const std::exception& e) {
    return Status::Error(std::string("faults: ") + e.what());
  }
  if (Status s = next.Validate(); !s.ok()) return Status::Error("faults: " + s.message());
  *config = std::move(next);
  return Status::Ok();
}

std::string FaultsToJson(const FaultConfig& c) {
  nlohmann::json j = {{"server_error", c.server_error},
                      {"timeout", c.timeout},
                      {"truncated", c.truncated},
                      {"malformed", c.malformed},
                      {"html", c.html},
                      {"reset", c.reset},
                      {"hang", c.hang},
                      {"latency_ms", c.latency_ms},
                      {"jitter_ms", c.jitter_ms},
                      {"server_error_status", c.server_error_status},
                      {"hang_ms", c.hang_ms},
                      {"endpoints", c.endpoints},
                      {"seed", c.seed}};
  return j.dump();
}

std::string MalformBody(std::string_view body) {
  // Half the real body, then a brace that closes nothing and an unterminated string: no prefix
  // of any JSON text followed by this is valid JSON.
  std::string out(body.substr(0, body.size() / 2));
  out += "}{\"";
  return out;
}

std::string ErrorPageHtml(int status) {
  const char* title = status == 503 ? "503 Service Temporarily Unavailable" : "502 Bad Gateway";
  return std::string("<html>\r\n<head><title>") + title +
         "</title></head>\r\n<body>\r\n<center><h1>" + title +
         "</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
}

std::string MaintenancePageHtml() {
  return "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Binance</title></head><body>"
         "<h1>System maintenance</h1><p>Binance is performing scheduled maintenance. Please try "
         "again later.</p></body></html>";
}

}  // namespace qlir::sim
