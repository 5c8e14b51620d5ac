#include "common/json_syntax.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace qlir {
namespace {

class Checker {
 public:
  explicit Checker(std::string_view t)
      : p_(reinterpret_cast<const unsigned char*>(t.data())), end_(p_ + t.size()) {}

  bool Run() {
    // nlohmann's lexer skips a UTF-8 byte-order mark at the very start; so do we.
    if (end_ - p_ >= 3 && p_[0] == 0xEF && p_[1] == 0xBB && p_[2] == 0xBF) p_ += 3;
    SkipSpace();
    if (!Value()) return false;
    SkipSpace();
    return p_ == end_;
  }

 private:
  void SkipSpace() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool Eat(char c) {
    if (p_ < end_ && *p_ == static_cast<unsigned char>(c)) {
      ++p_;
      return true;
    }
    return false;
  }
  bool Literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size()) return false;
    for (char c : word) {
      if (*p_++ != static_cast<unsigned char>(c)) return false;
    }
    return true;
  }
  bool Digits() {  // one or more
    const unsigned char* start = p_;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    return p_ > start;
  }
  bool Number() {
    const unsigned char* start = p_;
    Eat('-');
    if (Eat('0')) {
      // no leading zeros
    } else if (p_ < end_ && *p_ >= '1' && *p_ <= '9') {
      Digits();
    } else {
      return false;
    }
    if (Eat('.') && !Digits()) return false;
    bool exponent = false;
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (!Eat('+')) Eat('-');
      if (!Digits()) return false;
      exponent = true;
    }
    // nlohmann rejects a number that overflows a double ("number overflow"): only possible
    // with an exponent or with more than 308 digits, so klines bodies never get here.
    if (exponent || p_ - start > 300) {
      const std::string token(reinterpret_cast<const char*>(start), p_ - start);
      if (!std::isfinite(std::strtod(token.c_str(), nullptr))) return false;
    }
    return true;
  }
  bool Hex4(uint32_t* out) {
    if (end_ - p_ < 4) return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const unsigned char c = *p_++;
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= c - '0';
      } else if (c >= 'a' && c <= 'f') {
        v |= c - 'a' + 10;
      } else if (c >= 'A' && c <= 'F') {
        v |= c - 'A' + 10;
      } else {
        return false;
      }
    }
    *out = v;
    return true;
  }
  // One UTF-8 sequence starting with a byte >= 0x80 (RFC 3629: no overlongs, no surrogates,
  // nothing above U+10FFFF).
  bool Utf8() {
    const unsigned char c = *p_++;
    int more = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      more = 1;
    } else if (c == 0xE0) {
      more = 2, lo = 0xA0;
    } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
      more = 2;
    } else if (c == 0xED) {
      more = 2, hi = 0x9F;
    } else if (c == 0xF0) {
      more = 3, lo = 0x90;
    } else if (c >= 0xF1 && c <= 0xF3) {
      more = 3;
    } else if (c == 0xF4) {
      more = 3, hi = 0x8F;
    } else {
      return false;
    }
    for (int i = 0; i < more; ++i) {
      if (p_ == end_) return false;
      const unsigned char b = *p_++;
      if (b < lo || b > hi) return false;
      lo = 0x80, hi = 0xBF;  // only the first continuation byte has a narrower range
    }
    return true;
  }
  bool String() {  // after the opening quote
    for (;;) {
      // The common case: plain ASCII, scanned without branches per kind.
      while (p_ < end_ && *p_ >= 0x20 && *p_ < 0x80 && *p_ != '"' && *p_ != '\\') ++p_;
      if (p_ == end_) return false;
      const unsigned char c = *p_;
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c < 0x20) return false;
      if (c >= 0x80) {
        if (!Utf8()) return false;
        continue;
      }
      ++p_;  // backslash
      if (p_ == end_) return false;
      const unsigned char e = *p_++;
      if (e == 'u') {
        uint32_t u = 0;
        if (!Hex4(&u)) return false;
        if (u >= 0xDC00 && u <= 0xDFFF) return false;  // a low surrogate alone
        if (u >= 0xD800 && u <= 0xDBFF) {              // must be followed by a low one
          uint32_t low = 0;
          if (!Eat('\\') || !Eat('u') || !Hex4(&low) || low < 0xDC00 || low > 0xDFFF) return false;
        }
      } else if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' &&
                 e != 'r' && e != 't') {
        return false;
      }
    }
  }
  // Iterative over containers (a deep body cannot overflow the stack).
  bool Value() {
    std::vector<char> open;  // ']' or '}' per open container
    for (;;) {
      // A value.
      if (p_ == end_) return false;
      const unsigned char c = *p_;
      if (c == '[') {
        ++p_;
        SkipSpace();
        if (Eat(']')) {
          // empty array: a complete value
        } else {
          open.push_back(']');
          continue;
        }
      } else if (c == '{') {
        ++p_;
        SkipSpace();
        if (Eat('}')) {
          // empty object
        } else {
          if (!Eat('"') || !String()) return false;
          SkipSpace();
          if (!Eat(':')) return false;
          SkipSpace();
          open.push_back('}');
          continue;
        }
      } else if (c == '"') {
        ++p_;
        if (!String()) return false;
      } else if (c == 't') {
        if (!Literal("true")) return false;
      } else if (c == 'f') {
        if (!Literal("false")) return false;
      } else if (c == 'n') {
        if (!Literal("null")) return false;
      } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (!Number()) return false;
      } else {
        return false;
      }
      // After a value: close containers or go on to the next member.
      for (;;) {
        if (open.empty()) return true;
        SkipSpace();
        if (Eat(',')) {
          SkipSpace();
          if (open.back() == '}') {
            if (!Eat('"') || !String()) return false;
            SkipSpace();
            if (!Eat(':')) return false;
            SkipSpace();
          }
          break;  // the next value
        }
        if (!Eat(open.back())) return false;
        open.pop_back();
      }
    }
  }

  const unsigned char* p_;
  const unsigned char* end_;
};

}  // namespace

bool IsValidJson(std::string_view text) { return Checker(text).Run(); }

bool IsPlainDecimal(std::string_view s) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  const size_t digits = i;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == digits) return false;
  if (i < s.size() && s[i] == '.') {
    const size_t frac = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == frac) return false;
  }
  return i == s.size();
}

}  // namespace qlir
