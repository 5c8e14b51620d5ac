#include "tools/exchange-sim/config.h"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <sstream>

#include "common/flags.h"
#include "common/json.h"
#include "common/symbol.h"
#include "common/time_util.h"

namespace qlir::sim {
namespace {

// Ranges of the rate-limit settings, for flags and POST /sim/limits.
constexpr int64_t kMaxWeight = INT64_MAX / 4;
constexpr int64_t kMaxWindowMs = 86'400'000;
constexpr int64_t kMaxBanMs = 30LL * 86'400'000;

constexpr int64_t kMaxPriceUnits = 1'000'000'000LL * 100'000'000LL;  // 1e9 whole units
// Aggregate trades per minute: klines of long intervals read every trade of their span.
constexpr int kMaxTradesPerMinute = 1000;

void GuessAssets(SymbolSpec* s) {
  static const char* const kQuotes[] = {"FDUSD", "USDT", "USDC", "BUSD", "TUSD", "BTC",
                                        "ETH",   "BNB",  "EUR",  "TRY",  "BRL"};
  if (!s->base_asset.empty() && !s->quote_asset.empty()) return;
  for (const char* q : kQuotes) {
    const std::string_view quote(q);
    if (s->symbol.size() > quote.size() && s->symbol.ends_with(quote)) {
      if (s->quote_asset.empty()) s->quote_asset = quote;
      if (s->base_asset.empty())
        s->base_asset = s->symbol.substr(0, s->symbol.size() - quote.size());
      return;
    }
  }
  if (s->base_asset.empty()) s->base_asset = s->symbol;
  if (s->quote_asset.empty()) s->quote_asset = "USDT";
}

Status ValidateSpec(const SymbolSpec& s) {
  QLIR_RETURN_IF_ERROR(ValidateSymbol(s.symbol));
  if (s.delisting_ms && *s.delisting_ms <= s.listing_ms) {
    return Status::Error("symbol " + s.symbol + ": delisting must be after listing");
  }
  for (const GapWindow& g : s.gaps) {
    if (g.end_ms <= g.start_ms) {
      return Status::Error("symbol " + s.symbol + ": gap " + FormatIsoUtcMs(g.start_ms) + "/" +
                           FormatIsoUtcMs(g.end_ms) + " must end after it starts");
    }
  }
  if (s.base_price <= 0 || s.base_price > kMaxPriceUnits) {
    return Status::Error("symbol " + s.symbol + ": price must be > 0 and <= 1000000000");
  }
  if (s.base_volume < 0 || s.base_volume > kMaxPriceUnits) {
    return Status::Error("symbol " + s.symbol + ": volume must be >= 0 and <= 1000000000");
  }
  if (s.trades_per_minute < 1 || s.trades_per_minute > kMaxTradesPerMinute) {
    return Status::Error("symbol " + s.symbol + ": trades_per_minute must be 1.." +
                         std::to_string(kMaxTradesPerMinute));
  }
  return Status::Ok();
}

Result<double> ParseProbability(std::string_view flag, std::string_view v) {
  double out = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  if (v.empty() || ec != std::errc() || p != v.data() + v.size() || !(out >= 0 && out <= 1)) {
    return Status::Error("flag " + std::string(flag) + ": '" + std::string(v) +
                         "' is not a probability in [0, 1]");
  }
  return out;
}

// A time from JSON: ISO text or integer ms.
Result<int64_t> JsonTime(const nlohmann::json& v, const std::string& what) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_string()) {
    Result<int64_t> t = ParseTimeUtc(v.get<std::string>());
    if (!t.ok()) return Status::Error(what + ": " + t.error());
    return t;
  }
  return Status::Error(what + ": expected a time (ISO-8601 text or integer ms)");
}

Result<int64_t> JsonDecimal(const nlohmann::json& v, const std::string& what) {
  std::string text;
  if (v.is_string()) {
    text = v.get<std::string>();
  } else if (v.is_number_integer()) {
    text = std::to_string(v.get<int64_t>());
  } else if (v.is_number()) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v.get<double>(), std::chars_format::fixed, 8);
    text.assign(buf, r.ptr);
  } else {
    return Status::Error(what + ": expected a decimal number");
  }
  Result<int64_t> d = ParseDecimal8(text);
  if (!d.ok()) return Status::Error(what + ": " + d.error());
  return d;
}

Result<SymbolSpec> SpecFromJson(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("symbol") || !j["symbol"].is_string()) {
    return Status::Error("each entry of 'symbols' needs a string field 'symbol'");
  }
  SymbolSpec s;
  s.symbol = j["symbol"].get<std::string>();
  const std::string where = "symbol " + s.symbol;
  for (const auto& [key, v] : j.items()) {
    if (key == "symbol") continue;
    if (key == "base" || key == "quote") {
      if (!v.is_string()) return Status::Error(where + ": '" + key + "' must be text");
      (key == "base" ? s.base_asset : s.quote_asset) = v.get<std::string>();
    } else if (key == "listing") {
      Result<int64_t> t = JsonTime(v, where + " listing");
      if (!t.ok()) return t.status();
      s.listing_ms = *t;
    } else if (key == "delisting") {
      if (v.is_null()) continue;
      Result<int64_t> t = JsonTime(v, where + " delisting");
      if (!t.ok()) return t.status();
      s.delisting_ms = *t;
    } else if (key == "price" || key == "volume") {
      Result<int64_t> d = JsonDecimal(v, where + " " + key);
      if (!d.ok()) return d.status();
      (key == "price" ? s.base_price : s.base_volume) = *d;
    } else if (key == "trades_per_minute") {
      if (!v.is_number_integer() || v.get<int64_t>() < 1 ||
          v.get<int64_t>() > kMaxTradesPerMinute) {
        return Status::Error(where + ": 'trades_per_minute' must be an integer in 1.." +
                             std::to_string(kMaxTradesPerMinute));
      }
      s.trades_per_minute = static_cast<int>(v.get<int64_t>());
    } else if (key == "gaps") {
      if (!v.is_array()) return Status::Error(where + ": 'gaps' must be an array");
      for (const auto& g : v) {
        if (!g.is_object() || !g.contains("start") || !g.contains("end")) {
          return Status::Error(where + ": each gap needs 'start' and 'end'");
        }
        Result<int64_t> a = JsonTime(g["start"], where + " gap start");
        if (!a.ok()) return a.status();
        Result<int64_t> b = JsonTime(g["end"], where + " gap end");
        if (!b.ok()) return b.status();
        s.gaps.push_back({*a, *b});
      }
    } else {
      return Status::Error(where + ": unknown field '" + key + "'");
    }
  }
  GuessAssets(&s);
  QLIR_RETURN_IF_ERROR(ValidateSpec(s));
  return s;
}

// Adds or replaces by name.
void Upsert(std::vector<SymbolSpec>* list, SymbolSpec spec) {
  for (SymbolSpec& s : *list) {
    if (s.symbol == spec.symbol) {
      s = std::move(spec);
      return;
    }
  }
  list->push_back(std::move(spec));
}

}  // namespace

Result<int64_t> ParseDecimal8(std::string_view text) {
  auto bad = [&] {
    return Status::Error("'" + std::string(text) +
                         "' is not a non-negative decimal with at most 8 fraction digits");
  };
  const size_t dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? "" : text.substr(dot + 1);
  if (whole.empty() || whole.size() > 10 || frac.size() > 8) return bad();
  if (whole.find_first_not_of("0123456789") != std::string_view::npos ||
      frac.find_first_not_of("0123456789") != std::string_view::npos) {
    return bad();
  }
  if (dot != std::string_view::npos && frac.empty()) return bad();
  int64_t w = 0;
  std::from_chars(whole.data(), whole.data() + whole.size(), w);
  int64_t f = 0;
  for (size_t i = 0; i < 8; ++i) f = f * 10 + (i < frac.size() ? frac[i] - '0' : 0);
  return w * 100'000'000 + f;
}

std::vector<SymbolSpec> DefaultSymbols() {
  auto t = [](const char* iso) { return *ParseTimeUtc(iso); };
  std::vector<SymbolSpec> v;
  auto add = [&](const char* sym, const char* base, const char* listing, int64_t price,
                 int64_t volume) -> SymbolSpec& {
    SymbolSpec s;
    s.symbol = sym;
    s.base_asset = base;
    s.quote_asset = "USDT";
    s.listing_ms = t(listing);
    s.base_price = price;
    s.base_volume = volume;
    v.push_back(std::move(s));
    return v.back();
  };
  constexpr int64_t kU = 100'000'000;
  SymbolSpec& btc = add("BTCUSDT", "BTC", "2017-08-17T04:00:00Z", 30'000 * kU, 50 * kU);
  btc.gaps = {{t("2018-02-08T00:29:00Z"), t("2018-02-09T10:00:00Z")},
              {t("2019-03-12T02:00:00Z"), t("2019-03-12T08:00:00Z")},
              {t("2020-02-19T11:36:00Z"), t("2020-02-19T17:30:00Z")},
              {t("2020-11-30T06:00:00Z"), t("2020-11-30T07:00:00Z")}};
  SymbolSpec& eth = add("ETHUSDT", "ETH", "2017-08-17T04:00:00Z", 2'000 * kU, 500 * kU);
  eth.gaps = {{t("2019-03-12T02:00:00Z"), t("2019-03-12T08:00:00Z")},
              {t("2020-11-30T06:00:00Z"), t("2020-11-30T07:00:00Z")}};
  add("BNBUSDT", "BNB", "2017-11-06T03:30:00Z", 300 * kU, 800 * kU);
  add("LTCUSDT", "LTC", "2017-12-13T03:30:00Z", 80 * kU, 900 * kU);
  add("DOGEUSDT", "DOGE", "2019-07-05T12:00:00Z", 8'000'000, 5'000'000 * kU);
  add("SOLUSDT", "SOL", "2020-08-11T06:00:00Z", 50 * kU, 3'000 * kU);
  SymbolSpec& luna = add("LUNAUSDT", "LUNA", "2020-08-21T10:00:00Z", 40 * kU, 2'000 * kU);
  luna.delisting_ms = t("2022-05-13T04:00:00Z");
  return v;
}

Result<std::vector<SymbolSpec>> ParseSymbolsJson(std::string_view json) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json);
  } catch (const std::exception& e) {
    return Status::Error(std::string("symbols file is not JSON: ") + e.what());
  }
  const nlohmann::json* list = &j;
  if (j.is_object()) {
    if (!j.contains("symbols")) return Status::Error("symbols file: no 'symbols' array");
    list = &j["symbols"];
  }
  if (!list->is_array()) return Status::Error("symbols file: 'symbols' must be an array");
  std::vector<SymbolSpec> out;
  for (const auto& entry : *list) {
    Result<SymbolSpec> s = SpecFromJson(entry);
    if (!s.ok()) return Status::Error("symbols file: " + s.error());
    for (const SymbolSpec& prev : out) {
      if (prev.symbol == s->symbol) {
        return Status::Error("symbols file: symbol " + s->symbol + " appears twice");
      }
    }
    out.push_back(std::move(s).value());
  }
  if (out.empty()) return Status::Error("symbols file: no symbols");
  return out;
}

Result<std::vector<SymbolSpec>> LoadSymbolsFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error("cannot read symbols file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  Result<std::vector<SymbolSpec>> r = ParseSymbolsJson(ss.str());
  if (!r.ok()) return Status::Error(path + ": " + r.error());
  return r;
}

Result<SymbolSpec> ParseSymbolFlag(std::string_view text) {
  SymbolSpec s;
  size_t pos = 0;
  bool first = true;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view part = text.substr(pos, comma - pos);
    pos = comma + 1;
    if (first) {
      s.symbol = part;
      first = false;
      continue;
    }
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return Status::Error("--symbol " + std::string(text) + ": expected key=value, got '" +
                           std::string(part) + "'");
    }
    const std::string key(part.substr(0, eq));
    const std::string_view val = part.substr(eq + 1);
    auto time = [&](std::string_view v) -> Result<int64_t> {
      Result<int64_t> t = ParseTimeUtc(v);
      if (!t.ok()) return Status::Error("--symbol " + std::string(text) + ": " + t.error());
      return t;
    };
    if (key == "listing" || key == "delisting") {
      Result<int64_t> t = time(val);
      if (!t.ok()) return t.status();
      if (key == "listing")
        s.listing_ms = *t;
      else
        s.delisting_ms = *t;
    } else if (key == "gap") {
      const size_t slash = val.find('/');
      if (slash == std::string_view::npos) {
        return Status::Error("--symbol " + std::string(text) + ": gap must be START/END");
      }
      Result<int64_t> a = time(val.substr(0, slash));
      if (!a.ok()) return a.status();
      Result<int64_t> b = time(val.substr(slash + 1));
      if (!b.ok()) return b.status();
      s.gaps.push_back({*a, *b});
    } else if (key == "price" || key == "volume") {
      Result<int64_t> d = ParseDecimal8(val);
      if (!d.ok()) return Status::Error("--symbol " + std::string(text) + ": " + d.error());
      (key == "price" ? s.base_price : s.base_volume) = *d;
    } else if (key == "trades_per_minute") {
      int n = 0;
      auto [p, ec] = std::from_chars(val.data(), val.data() + val.size(), n);
      if (val.empty() || ec != std::errc() || p != val.data() + val.size() || n < 1 ||
          n > kMaxTradesPerMinute) {
        return Status::Error("--symbol " + std::string(text) +
                             ": trades_per_minute must be an integer in 1.." +
                             std::to_string(kMaxTradesPerMinute));
      }
      s.trades_per_minute = n;
    } else if (key == "base") {
      s.base_asset = val;
    } else if (key == "quote") {
      s.quote_asset = val;
    } else {
      return Status::Error("--symbol " + std::string(text) + ": unknown key '" + key + "'");
    }
  }
  GuessAssets(&s);
  if (Status st = ValidateSpec(s); !st.ok()) return Status::Error("--symbol: " + st.message());
  return s;
}

std::string SymbolsToJson(const std::vector<SymbolSpec>& symbols) {
  auto dec = [](int64_t units) {
    std::string s;
    AppendDecimal8(units, &s);
    return s;
  };
  nlohmann::json list = nlohmann::json::array();
  for (const SymbolSpec& s : symbols) {
    nlohmann::json gaps = nlohmann::json::array();
    for (const GapWindow& g : s.gaps) gaps.push_back({{"start", g.start_ms}, {"end", g.end_ms}});
    list.push_back({{"symbol", s.symbol},
                    {"base", s.base_asset},
                    {"quote", s.quote_asset},
                    {"listing", s.listing_ms},
                    {"delisting", s.delisting_ms ? nlohmann::json(*s.delisting_ms) : nullptr},
                    {"price", dec(s.base_price)},
                    {"volume", dec(s.base_volume)},
                    {"trades_per_minute", s.trades_per_minute},
                    {"gaps", gaps}});
  }
  return nlohmann::json{{"symbols", list}}.dump(-1, ' ', false,
                                                nlohmann::json::error_handler_t::replace);
}

Status ApplyLimitsJson(std::string_view json, RateLimitConfig* limits) {
  RateLimitConfig next = *limits;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json);
  } catch (const std::exception& e) {
    return Status::Error(std::string("limits: not JSON: ") + e.what());
  }
  if (!j.is_object()) return Status::Error("limits: expected a JSON object");
  struct Field {
    const char* name;
    int64_t* value;
    int64_t lo;
    int64_t hi;
  };
  const Field fields[] = {{"weight_limit", &next.weight_limit, 1, kMaxWeight},
                          {"window_ms", &next.window_ms, 1, kMaxWindowMs},
                          {"ban_after", &next.ban_after, 0, kMaxWeight},
                          {"ban_ms", &next.ban_ms, 0, kMaxBanMs}};
  for (const auto& [key, v] : j.items()) {
    const Field* f = nullptr;
    for (const Field& candidate : fields) {
      if (key == candidate.name) f = &candidate;
    }
    if (f == nullptr) return Status::Error("limits: unknown field '" + key + "'");
    if (!v.is_number_integer() || v.get<int64_t>() < f->lo || v.get<int64_t>() > f->hi) {
      return Status::Error("limits: '" + key + "' must be an integer in " + std::to_string(f->lo) +
                           ".." + std::to_string(f->hi));
    }
    *f->value = v.get<int64_t>();
  }
  *limits = next;
  return Status::Ok();
}

std::string LimitsToJson(const RateLimitConfig& limits) {
  return nlohmann::json{{"weight_limit", limits.weight_limit},
                        {"window_ms", limits.window_ms},
                        {"ban_after", limits.ban_after},
                        {"ban_ms", limits.ban_ms}}
      .dump();
}

std::string UsageText() {
  return R"(Usage: exchange-sim [flags]
A local stand-in for Binance's public spot REST API (ping, time, exchangeInfo, klines,
aggTrades) and USD-M futures funding rates (/fapi/v1 ping, time, exchangeInfo, fundingRate).
Prints "listening on HOST:PORT" once ready; exits 0 on SIGTERM/SIGINT. See README.md.

  --listen HOST:PORT        address to listen on; port 0 picks a free one (127.0.0.1:0)
  --symbols-file PATH       symbols as JSON (replaces the default set)
  --symbol SPEC             NAME[,listing=T][,delisting=T][,gap=T1/T2]...[,price=P][,volume=V]
                            [,trades_per_minute=N][,base=B][,quote=Q]; repeatable; adds to or
                            replaces by name
  --weight-limit N          request weight per IP and window (6000)
  --window-ms N             rate-limit window length, aligned to the clock (60000)
  --ban-after N             429s tolerated per window before an IP ban (10)
  --futures-weight-limit N  futures (/fapi) request weight per IP and window (2400)
  --funding-limit N         /fapi/v1/fundingRate requests per IP and funding window (500)
  --funding-window-ms N     the funding limit's window, aligned to the clock (300000)
  --ban-ms N                ban length (120000)
  --seed N                  fault seed (1)
  --fault-server-error P    probability of 502/503 with an HTML body (0)
  --fault-timeout P         probability of 504 with {"code":-1007,...} (0)
  --fault-truncated P       probability of a body cut off mid-JSON (0)
  --fault-malformed P       probability of status 200 with invalid JSON (0)
  --fault-html P            probability of status 200 with an HTML page (0)
  --fault-reset P           probability of a TCP reset without response (0)
  --fault-hang P            probability of no response for --hang-ms, then close (0)
  --hang-ms N               how long a hanging request hangs (30000)
  --latency-ms N            fixed latency added to faulty endpoints (0)
  --jitter-ms N             plus uniform 0..N ms (0)
  --fault-endpoints LIST    comma list of ping,time,exchangeInfo,klines,aggTrades,fundingRate
                            (klines)
  --threads N               worker threads; each open connection holds one (128)
  --keep-alive-s N          idle keep-alive timeout in seconds (5)
  --help                    this text
)";
}

Result<SimConfig> ParseFlags(const std::vector<std::string>& args) {
  SimConfig c;
  std::vector<SymbolSpec> file_symbols;
  std::vector<SymbolSpec> flag_symbols;
  bool have_file = false;
  FlagSet f;
  f.Switch("help", &c.help, "-h");
  f.Value("listen", [&](const std::string& value) -> Status {
    const size_t colon = value.rfind(':');
    if (colon == std::string::npos || colon == 0) {
      return Status::Error("flag --listen: '" + value + "' is not HOST:PORT");
    }
    Result<int64_t> port = ParseIntFlag("listen", value.substr(colon + 1), 0, 65535);
    if (!port.ok()) return port.status();
    c.host = value.substr(0, colon);
    c.port = static_cast<int>(*port);
    return Status::Ok();
  });
  f.Value("symbols-file", [&](const std::string& value) -> Status {
    Result<std::vector<SymbolSpec>> r = LoadSymbolsFile(value);
    if (!r.ok()) return r.status();
    file_symbols = std::move(r).value();
    have_file = true;
    return Status::Ok();
  });
  f.Value("symbol", [&](const std::string& value) -> Status {
    Result<SymbolSpec> r = ParseSymbolFlag(value);
    if (!r.ok()) return r.status();
    Upsert(&flag_symbols, std::move(r).value());
    return Status::Ok();
  });
  f.Int("weight-limit", &c.limits.weight_limit, 1, kMaxWeight);
  f.Int("window-ms", &c.limits.window_ms, 1, kMaxWindowMs);
  f.Int("ban-after", &c.limits.ban_after, 0, kMaxWeight);
  f.Int("futures-weight-limit", &c.futures_limits.weight_limit, 1, kMaxWeight);
  f.Int("funding-limit", &c.funding_limits.weight_limit, 1, kMaxWeight);
  f.Int("funding-window-ms", &c.funding_limits.window_ms, 1, kMaxWindowMs);
  f.Int("ban-ms", &c.limits.ban_ms, 0, kMaxBanMs);
  f.Int("seed", &c.faults.seed, 0, INT64_MAX);
  auto prob = [](const std::string& name, double* out) {
    return [name, out](const std::string& value) -> Status {
      Result<double> v = ParseProbability("--" + name, value);
      if (!v.ok()) return v.status();
      *out = *v;
      return Status::Ok();
    };
  };
  f.Value("fault-server-error", prob("fault-server-error", &c.faults.server_error));
  f.Value("fault-timeout", prob("fault-timeout", &c.faults.timeout));
  f.Value("fault-truncated", prob("fault-truncated", &c.faults.truncated));
  f.Value("fault-malformed", prob("fault-malformed", &c.faults.malformed));
  f.Value("fault-html", prob("fault-html", &c.faults.html));
  f.Value("fault-reset", prob("fault-reset", &c.faults.reset));
  f.Value("fault-hang", prob("fault-hang", &c.faults.hang));
  f.Int("hang-ms", &c.faults.hang_ms, 0, 3'600'000);
  f.Int("latency-ms", &c.faults.latency_ms, 0, 600'000);
  f.Int("jitter-ms", &c.faults.jitter_ms, 0, 600'000);
  f.Value("fault-endpoints", [&](const std::string& value) {
    c.faults.endpoints.clear();
    std::stringstream ss(value);
    for (std::string e; std::getline(ss, e, ',');) {
      if (!e.empty()) c.faults.endpoints.insert(e);
    }
    return Status::Ok();
  });
  f.Int("threads", &c.threads, 2, 4096);
  f.Int("keep-alive-s", &c.keep_alive_s, 1, 3600);
  QLIR_RETURN_IF_ERROR(f.Parse(args));
  QLIR_RETURN_IF_ERROR(c.faults.Validate());
  c.futures_limits.window_ms = c.limits.window_ms;
  for (RateLimitConfig* l : {&c.futures_limits, &c.funding_limits}) {
    l->ban_after = c.limits.ban_after;
    l->ban_ms = c.limits.ban_ms;
  }
  c.symbols = have_file              ? std::move(file_symbols)
              : flag_symbols.empty() ? DefaultSymbols()
                                     : std::vector<SymbolSpec>{};
  for (SymbolSpec& s : flag_symbols) Upsert(&c.symbols, std::move(s));
  return c;
}

}  // namespace qlir::sim
