#include "common/slice_key.h"

#include <catch2/catch.hpp>
#include <string>

using qlir::ParseCanonicalInt;
using qlir::ParseSliceKey;
using qlir::SliceKey;
using qlir::SliceKeyRules;
using qlir::Status;

namespace {

std::string Why(std::string_view key, const SliceKeyRules& rules = {}) {
  auto k = ParseSliceKey(key, rules);
  REQUIRE_FALSE(k.ok());
  return k.status().message();
}

}  // namespace

TEST_CASE("ParseSliceKey splits a composite key into its fields", "[slice_key]") {
  auto k = ParseSliceKey("BTCUSDT:1m:1609459200000-1609465199999:1000");
  REQUIRE(k.ok());
  CHECK(k->symbol == "BTCUSDT");
  CHECK(k->interval == "1m");
  CHECK(k->start_ms == 1609459200000);
  CHECK(k->end_ms == 1609465199999);
  CHECK(k->limit == 1000);
  CHECK(k->composite_key() == "BTCUSDT:1m:1609459200000-1609465199999:1000");

  auto zero = ParseSliceKey("X:1h:0-0:1");
  REQUIRE(zero.ok());
  CHECK(zero->start_ms == 0);
  CHECK(zero->end_ms == 0);
  CHECK(zero->limit == 1);
  // The largest int64 is a canonical integer.
  auto big = ParseSliceKey("X:1h:0-9223372036854775807:5");
  REQUIRE(big.ok());
  CHECK(big->end_ms == INT64_MAX);
  // A round trip through composite_key() gives the same key.
  SliceKey s{"ETHUSDT", "1s", 1700000000000, 1700000999999, 1000};
  auto back = ParseSliceKey(s.composite_key());
  REQUIRE(back.ok());
  CHECK(*back == s);
  // Symbol and interval validity are the endpoint's: any non-empty fields pass here.
  CHECK(ParseSliceKey("anything goes:7q:1-2:3").ok());
}

TEST_CASE("ParseSliceKey names the key and the fault of every malformed kind", "[slice_key]") {
  const std::string shape = "expected SYMBOL:interval:start-end:limit";
  // Missing fields.
  CHECK(Why("") == "malformed composite key '': " + shape);
  CHECK(Why("BTCUSDT") == "malformed composite key 'BTCUSDT': " + shape);
  CHECK(Why("BTCUSDT:1m:1-2") == "malformed composite key 'BTCUSDT:1m:1-2': " + shape);
  CHECK(Why("1m:1-2:1000") == "malformed composite key '1m:1-2:1000': " + shape);
  CHECK(Why(":1-2:1000") == "malformed composite key ':1-2:1000': " + shape);
  CHECK(Why("::1000") == "malformed composite key '::1000': " + shape);
  CHECK(Why("BTCUSDT:1m:1-2:") == "malformed composite key 'BTCUSDT:1m:1-2:': bad limit");
  CHECK(Why("BTCUSDT:1m::1000") ==
        "malformed composite key 'BTCUSDT:1m::1000': expected start-end");
  CHECK(Why("BTCUSDT:1m:12:1000") ==
        "malformed composite key 'BTCUSDT:1m:12:1000': expected start-end");
  CHECK(Why("BTCUSDT:1m:-2:1000") == "malformed composite key 'BTCUSDT:1m:-2:1000': bad start");
  CHECK(Why("BTCUSDT:1m:1-:1000") == "malformed composite key 'BTCUSDT:1m:1-:1000': bad end");
  // Empty symbol, empty interval, extra colons in the symbol position.
  CHECK(Why(":1m:1-2:1000") == "malformed composite key ':1m:1-2:1000': empty symbol");
  CHECK(Why("BTCUSDT::1-2:1000") == "malformed composite key 'BTCUSDT::1-2:1000': empty interval");
  CHECK(Why("BTC:USDT:1m:1-2:1000") ==
        "malformed composite key 'BTC:USDT:1m:1-2:1000': the symbol contains ':'");
  CHECK(Why("A::1m:1-2:1000") ==
        "malformed composite key 'A::1m:1-2:1000': the symbol contains ':'");
  // Signs.
  CHECK(Why("X:1m:+1-2:1000") == "malformed composite key 'X:1m:+1-2:1000': bad start");
  CHECK(Why("X:1m:1-+2:1000") == "malformed composite key 'X:1m:1-+2:1000': bad end");
  CHECK(Why("X:1m:1--2:1000") == "malformed composite key 'X:1m:1--2:1000': bad end");
  CHECK(Why("X:1m:1-2:+1000") == "malformed composite key 'X:1m:1-2:+1000': bad limit");
  CHECK(Why("X:1m:1-2:-1") == "malformed composite key 'X:1m:1-2:-1': bad limit");
  // Leading zeros, spaces, other characters.
  CHECK(Why("X:1m:01-2:1000") == "malformed composite key 'X:1m:01-2:1000': bad start");
  CHECK(Why("X:1m:1-02:1000") == "malformed composite key 'X:1m:1-02:1000': bad end");
  CHECK(Why("X:1m:1-2:01000") == "malformed composite key 'X:1m:1-2:01000': bad limit");
  CHECK(Why("X:1m:00-2:1000") == "malformed composite key 'X:1m:00-2:1000': bad start");
  CHECK(Why("X:1m: 1-2:1000") == "malformed composite key 'X:1m: 1-2:1000': bad start");
  CHECK(Why("X:1m:1-2:1e3") == "malformed composite key 'X:1m:1-2:1e3': bad limit");
  // Overflow of int64.
  CHECK(Why("X:1m:9223372036854775808-9223372036854775809:1") ==
        "malformed composite key 'X:1m:9223372036854775808-9223372036854775809:1': bad start");
  CHECK(Why("X:1m:0-99999999999999999999:1") ==
        "malformed composite key 'X:1m:0-99999999999999999999:1': bad end");
  // Limit outside 1..max_limit, start after end.
  CHECK(Why("X:1m:1-2:0") == "malformed composite key 'X:1m:1-2:0': limit must be 1..1000");
  CHECK(Why("X:1m:1-2:1001") == "malformed composite key 'X:1m:1-2:1001': limit must be 1..1000");
  CHECK(Why("X:1m:1-2:9223372036854775807") ==
        "malformed composite key 'X:1m:1-2:9223372036854775807': limit must be 1..1000");
  CHECK(Why("X:1m:3-2:1000") == "malformed composite key 'X:1m:3-2:1000': start after end");
}

TEST_CASE("ParseSliceKey applies the endpoint's rules first", "[slice_key]") {
  SliceKeyRules rules;
  rules.shape = "SYMBOL:1h:start-end:limit";
  rules.max_limit = 500;
  int calls = 0;
  rules.check_series = [&](std::string_view symbol, std::string_view interval) {
    ++calls;
    if (symbol != "OK") return Status::Error("symbol '" + std::string(symbol) + "' refused");
    if (interval != "1h") return Status::Error("interval refused");
    return Status::Ok();
  };
  CHECK(ParseSliceKey("OK:1h:1-2:500", rules).ok());
  CHECK(calls == 1);
  CHECK(Why("OK:1h:1-2", rules) ==
        "malformed composite key 'OK:1h:1-2': expected SYMBOL:1h:start-end:limit");
  CHECK(calls == 1);  // not asked when the key does not split
  CHECK(Why("OK:1h:1-2:501", rules) ==
        "malformed composite key 'OK:1h:1-2:501': limit must be 1..500");
  // The endpoint's reason comes before a bad number.
  CHECK(Why("NO:1h:01-2:1000", rules) ==
        "malformed composite key 'NO:1h:01-2:1000': symbol 'NO' refused");
  CHECK(Why("OK:8h:01-2:1000", rules) ==
        "malformed composite key 'OK:8h:01-2:1000': interval refused");
  CHECK(Why(":1h:1-2:1", rules) == "malformed composite key ':1h:1-2:1': symbol '' refused");
}

TEST_CASE("ParseCanonicalInt accepts only canonical non-negative int64", "[slice_key]") {
  int64_t v = -1;
  CHECK(ParseCanonicalInt("0", &v));
  CHECK(v == 0);
  CHECK(ParseCanonicalInt("1609459200000", &v));
  CHECK(v == 1609459200000);
  CHECK(ParseCanonicalInt("9223372036854775807", &v));
  CHECK(v == INT64_MAX);
  for (std::string_view bad :
       {"", "-0", "-1", "+1", "00", "01", " 1", "1 ", "1a", "0x10", "9223372036854775808",
        "18446744073709551616", "00000000000000000001"}) {
    INFO(bad);
    CHECK_FALSE(ParseCanonicalInt(bad, &v));
  }
}
