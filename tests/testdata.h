// The repository's test data (testdata/, described in testdata/README.md), read through one
// function so that every test finds it the same way and a missing file fails loudly.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace qlir::testing {

// The bytes of testdata/<name>, exactly as stored. Throws (failing the test) when the file is
// missing or unreadable, instead of handing back an empty string.
inline std::string ReadTestData(const std::string& name) {
  const std::string path = std::string(QLIR_SOURCE_DIR) + "/testdata/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("test data missing: " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw std::runtime_error("test data unreadable: " + path);
  return ss.str();
}

// 500 consecutive real 30m klines as the REST endpoint returns them, 2019-04-11 14:00 to
// 2019-04-21 23:30 UTC (testdata/README.md).
inline constexpr const char* kRestKlines30m500Rows = "rest-klines-30m-500rows.json";

}  // namespace qlir::testing
