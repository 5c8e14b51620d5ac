#include "common/url.h"

#include <catch2/catch.hpp>
#include <string>

using qlir::PercentEncode;

TEST_CASE("PercentEncode keeps RFC 3986 unreserved characters", "[url]") {
  CHECK(PercentEncode("") == "");
  CHECK(PercentEncode("BTCUSDT") == "BTCUSDT");
  const std::string unreserved =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~";
  CHECK(PercentEncode(unreserved) == unreserved);
}

TEST_CASE("PercentEncode encodes reserved, control and non-ASCII bytes", "[url]") {
  // Every reserved character of RFC 3986 (gen-delims and sub-delims), upper-case hex.
  CHECK(PercentEncode(":/?#[]@") == "%3A%2F%3F%23%5B%5D%40");
  CHECK(PercentEncode("!$&'()*+,;=") == "%21%24%26%27%28%29%2A%2B%2C%3B%3D");
  CHECK(PercentEncode("% \"<>\\^`{|}") == "%25%20%22%3C%3E%5C%5E%60%7B%7C%7D");
  CHECK(PercentEncode(std::string("\0\x1f\x7f", 3)) == "%00%1F%7F");
  // Each byte of a UTF-8 character, and bytes that are not UTF-8.
  CHECK(PercentEncode("\xe5\xb8\x81\xe5\xae\x89") == "%E5%B8%81%E5%AE%89");  // U+5E01 U+5B89
  CHECK(PercentEncode("\xff\x80") == "%FF%80");
  CHECK(PercentEncode("A&symbol=B") == "A%26symbol%3DB");
}
