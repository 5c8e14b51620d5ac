#include "common/response_file.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "tests/testdata.h"

using namespace qlir;

TEST_CASE("response file keeps the exchange's bytes verbatim", "[response_file]") {
  std::string raw = qlir::testing::ReadTestData(qlir::testing::kRestKlines30m500Rows);
  while (!raw.empty() && raw.back() == '\n') raw.pop_back();
  REQUIRE(raw.size() > 1000);
  ResponseMeta meta{"https://api.binance.com/api/v3/klines?symbol=BTCUSDT&interval=30m",
                    "BTCUSDT:30m:1554991200000-1556791199999:1000", "2025-01-01T00:01:23Z"};
  std::string file = EncodeResponseFile(meta, raw);
  CHECK(file.starts_with("{\"meta\":{\"url\":"));
  auto back = DecodeResponseFile(file, "f.json");
  REQUIRE(back.ok());
  CHECK(back->data == raw);  // "5000.36000000" stays as it was, never re-formatted
  CHECK(back->meta.slice == meta.slice);
  CHECK(back->meta.fetched_at == meta.fetched_at);
  CHECK(back->meta.url == meta.url);
}

TEST_CASE("truncated or wrong response files are errors", "[response_file]") {
  std::string file = EncodeResponseFile({"u", "BTCUSDT:1m:0-59999999:1000", "t"}, "[[1,\"2\"]]");
  for (size_t n = 0; n + 1 < file.size(); ++n) {
    auto r = DecodeResponseFile(file.substr(0, n), "f.json");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error(), Catch::StartsWith("f.json"));
  }
  CHECK_FALSE(DecodeResponseFile("{\"data\":[]}", "f").ok());
  CHECK_FALSE(DecodeResponseFile(
                  "{\"meta\":{\"url\":1,\"slice\":\"s\",\"fetched_at\":\"t\"},\"data\":[]}", "f")
                  .ok());
  CHECK_FALSE(
      DecodeResponseFile("{\"meta\":{\"url\":\"u\",\"slice\":\"s\",\"fetched_at\":\"t\"}}", "f")
          .ok());
}

TEST_CASE("the bytes of data are found in a file framed otherwise", "[response_file]") {
  const std::string body = "[ [1, \"2.50\" , true,null,-3.5e2,{\"x\":\"]}\\\"\"}] ]";
  const std::vector<std::string> texts = {
      // meta after data, spaces and newlines between tokens
      "{ \"data\" : " + body +
          " ,\n \"meta\":{\"url\":\"u\",\"slice\":\"s\",\"fetched_at\":\"t\"} }\n",
      // an extra member, meta fields in another order
      "{\"x\":[1,{\"data\":0}],\"meta\":{\"slice\":\"s\",\"fetched_at\":\"t\",\"url\":\"u\"},"
      "\"data\":" +
          body + "}",
  };
  for (const std::string& t : texts) {
    INFO(t);
    auto f = DecodeResponseFile(t, "f");
    REQUIRE(f.ok());
    CHECK(f->verbatim);
    CHECK(f->data == body);
  }
  // A scalar data, and a key written with an escape (not located: the parsed value, flagged).
  auto scalar = DecodeResponseFile(
      "{\"meta\":{\"url\":\"u\",\"slice\":\"s\",\"fetched_at\":\"t\"} ,"
      "\"data\":  12 }",
      "f");
  REQUIRE(scalar.ok());
  CHECK(scalar->verbatim);
  CHECK(scalar->data == "12");
  auto escaped = DecodeResponseFile(
      "{\"meta\":{\"url\":\"u\",\"slice\":\"s\",\"fetched_at\":\"t\"},\"d\\u0061ta\":[1 ]}", "f");
  REQUIRE(escaped.ok());
  CHECK_FALSE(escaped->verbatim);
  CHECK(escaped->data == "[1]");
}
