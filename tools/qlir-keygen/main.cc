// qlir-keygen: makes CURVE key pairs in czmq's certificate format (common/curve.h), one pair per
// NAME: DIR/NAME.key (public: hand it out) and DIR/NAME.key_secret (mode 0600: keep it on the
// host that runs as NAME). Never overwrites a key. Needs no network. Exit codes: 0 made,
// 1 a key could not be written (the message names it), 2 bad usage.
#include <cstdio>
#include <string>
#include <vector>

#include "common/curve.h"

namespace {

constexpr const char* kUsage =
    "usage: qlir-keygen [--dir DIR] NAME...\n"
    "  makes DIR/NAME.key (public) and DIR/NAME.key_secret (secret, mode 0600) for each NAME\n"
    "  --dir DIR   where to write them (default: the current directory; created if missing)\n"
    "  NAME        letters, digits, '.', '_' and '-', e.g. server or fetch-host-a\n";

}  // namespace

int main(int argc, char** argv) {
  std::string dir = ".";
  std::vector<std::string> names;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--dir") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "qlir-keygen: --dir needs a value\n%s", kUsage);
        return 2;
      }
      dir = argv[++i];
    } else if (a.starts_with("--dir=")) {
      dir = a.substr(6);
    } else if (a.starts_with("-")) {
      std::fprintf(stderr, "qlir-keygen: unknown flag %s\n%s", a.c_str(), kUsage);
      return 2;
    } else {
      names.push_back(a);
    }
  }
  if (names.empty()) {
    std::fprintf(stderr, "qlir-keygen: no NAME given\n%s", kUsage);
    return 2;
  }
  for (const std::string& name : names) {
    auto keys = qlir::curve::GenerateKeyPair();
    if (!keys.ok()) {
      std::fprintf(stderr, "qlir-keygen: %s\n", keys.error().c_str());
      return 1;
    }
    if (qlir::Status s = qlir::curve::SaveKeyPair(*keys, dir, name); !s.ok()) {
      std::fprintf(stderr, "qlir-keygen: %s\n", s.message().c_str());
      return 1;
    }
    std::printf("%s/%s.key %s\n", dir.c_str(), name.c_str(), keys->public_key.c_str());
  }
  return 0;
}
