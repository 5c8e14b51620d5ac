#include "common/symbol.h"

#include <string>

namespace qlir {

Status ValidateSymbol(std::string_view symbol) {
  auto bad = [&](const std::string& why) {
    std::string shown;
    for (unsigned char c : symbol) {
      if (c < 0x20 || c == 0x7f) {
        shown += "\\x";
        const char* hex = "0123456789abcdef";
        shown += hex[c >> 4];
        shown += hex[c & 15];
      } else {
        shown += static_cast<char>(c);
      }
    }
    return Status::Error("invalid symbol '" + shown + "': " + why);
  };
  if (symbol.empty()) return bad("it is empty");
  if (symbol.size() > kMaxSymbolBytes) {
    return bad("longer than " + std::to_string(kMaxSymbolBytes) + " bytes");
  }
  if (symbol == "." || symbol == "..") return bad("it names a directory");
  if (symbol.find("..") != std::string_view::npos) return bad("it contains '..'");
  for (unsigned char c : symbol) {
    if (c == '/' || c == '\\') return bad("it contains a path separator");
    if (c < 0x20 || c == 0x7f) return bad("it contains a control character");
    if (c == ':') return bad("it contains ':' (the composite-key separator)");
    if (c == ' ' || c == '&' || c == '?' || c == '#' || c == '%' || c == '=' || c == '"') {
      return bad("it contains a character that cannot be part of a symbol");
    }
  }
  // Must be valid UTF-8: a symbol is stored in JSON and as a folder name.
  size_t i = 0;
  while (i < symbol.size()) {
    unsigned char c = symbol[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > symbol.size()) return bad("it is not valid UTF-8");
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(symbol[i + k]) >> 6) != 2)
        return bad("it is not valid UTF-8");
    }
    i += n;
  }
  return Status::Ok();
}

}  // namespace qlir
