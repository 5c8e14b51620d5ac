#include "common/json_syntax.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "common/json.h"

using qlir::IsPlainDecimal;
using qlir::IsValidJson;

namespace {

bool Reference(const std::string& s) { return nlohmann::json::accept(s.begin(), s.end()); }

std::string KlinesBody(int n) {
  std::string b = "[";
  for (int i = 0; i < n; ++i) {
    if (i) b += ",";
    b += "[" + std::to_string(1609459200000 + i * 60000LL) +
         ",\"28923.63000000\",\"28961.66000000\",\"28913.12000000\",\"28961.66000000\","
         "\"27.45703200\"," +
         std::to_string(1609459259999 + i * 60000LL) +
         ",\"794487.35739207\",1292,\"16.77719500\",\"485390.82580286\",\"0\"]";
  }
  return b + "]";
}

}  // namespace

TEST_CASE("json syntax: the cases of RFC 8259", "[json_syntax]") {
  for (const char* ok :
       {"[]", "{}", " [1, -2.5e+3, 0, -0, 0.0E-1] ", "\"\"", "true", "null",
        "{\"a\":{\"b\":[false,{}]}}", "\"\\u00e9\\ud83d\\ude00\\n\\/\"",
        "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "\xEF\xBB\xBF[1]", "1e5", "[\"\x7f\"]"}) {
    INFO(ok);
    CHECK(IsValidJson(ok));
    CHECK(Reference(ok));
  }
  for (const char* bad : {"",
                          " ",
                          "[",
                          "]",
                          "[1,]",
                          "[,1]",
                          "{\"a\"}",
                          "{\"a\":}",
                          "{a:1}",
                          "01",
                          "1.",
                          ".5",
                          "-",
                          "1e",
                          "+1",
                          "[1 2]",
                          "tru",
                          "nul",
                          "\"\\x\"",
                          "\"\\ud800\"",
                          "\"\\udc00\"",
                          "\"\\ud800\\u0041\"",
                          "\"\x01\"",
                          "\"\xc0\xaf\"",
                          "\"\xed\xa0\x80\"",
                          "\"\xf4\x90\x80\x80\"",
                          "\"\xe2\x82\"",
                          "[1]x",
                          "[1][2]",
                          "{\"a\":1,}",
                          "\"abc"}) {
    INFO(bad);
    CHECK_FALSE(IsValidJson(bad));
    CHECK_FALSE(Reference(bad));
  }
}

TEST_CASE("json syntax: a number that overflows a double is refused, as nlohmann does",
          "[json_syntax]") {
  for (const char* s : {"1e999", "[-1E+400]", "[1e308]", "1e-999"}) {
    INFO(s);
    CHECK(IsValidJson(s) == Reference(s));
  }
  CHECK_FALSE(IsValidJson("1e999"));
  CHECK(IsValidJson("1e-999"));
}

TEST_CASE("json syntax: every truncation of a klines body, as nlohmann says", "[json_syntax]") {
  const std::string body = KlinesBody(3);
  for (size_t n = 0; n <= body.size(); ++n) {
    const std::string t = body.substr(0, n);
    INFO(t);
    CHECK(IsValidJson(t) == Reference(t));
  }
  CHECK(IsValidJson(body));
}

TEST_CASE("json syntax: mutations and random bytes agree with nlohmann", "[json_syntax]") {
  std::mt19937 rng(8);
  const std::string body = KlinesBody(2);
  const std::string alphabet = "[]{}\",:.-+eE0123456789 \\u/tfn\xc3\xa9\xed\xf0\x80\x01";
  int disagreements = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string m = body;
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % m.size();
      switch (rng() % 3) {
        case 0:
          m[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          m.erase(at, 1);
          break;
        default:
          m.insert(at, 1, alphabet[rng() % alphabet.size()]);
      }
      if (m.empty()) m = "x";
    }
    if (IsValidJson(m) != Reference(m)) {
      ++disagreements;
      UNSCOPED_INFO(m);
    }
  }
  for (int i = 0; i < 20000; ++i) {
    std::string r(1 + rng() % 12, ' ');
    for (char& c : r) c = alphabet[rng() % alphabet.size()];
    if (IsValidJson(r) != Reference(r)) {
      ++disagreements;
      UNSCOPED_INFO(r);
    }
  }
  CHECK(disagreements == 0);
}

TEST_CASE("json syntax: deep nesting does not overflow the stack", "[json_syntax]") {
  const std::string deep = std::string(200000, '[') + std::string(200000, ']');
  CHECK(IsValidJson(deep));
  CHECK_FALSE(IsValidJson(std::string(200000, '[')));
}

TEST_CASE("plain decimals as the exchange writes them", "[json_syntax]") {
  for (const char* ok : {"0", "12", "-3", "0.00010000", "34287.54619963", "-0.5"}) {
    INFO(ok);
    CHECK(IsPlainDecimal(ok));
  }
  for (const char* bad : {"", "-", ".5", "5.", "1e5", "+1", "1.2.3", " 1", "1 ", "0x1", "--1"}) {
    INFO(bad);
    CHECK_FALSE(IsPlainDecimal(bad));
  }
}
