#include "common/data_root.h"

#include <catch2/catch.hpp>
#include <cstdlib>

using namespace qlir;

TEST_CASE("data root: explicit, then QLIR_DATA_ROOT, then ~/qlir_data", "[data_root]") {
  ::setenv("QLIR_DATA_ROOT", "/tmp/from-env", 1);
  CHECK(ResolveDataRoot(std::string("/explicit"))->string() == "/explicit");
  CHECK(ResolveDataRoot(std::nullopt)->string() == "/tmp/from-env");
  ::unsetenv("QLIR_DATA_ROOT");
  ::setenv("HOME", "/users/someone", 1);
  CHECK(ResolveDataRoot(std::nullopt)->string() == "/users/someone/qlir_data");
}

TEST_CASE("layout of a series folder", "[data_root]") {
  auto d = SeriesDir("/data", "klines", "BTCUSDT", "1m");
  REQUIRE(d.ok());
  CHECK(d->string() == "/data/binance/klines/raw/BTCUSDT/1m");
  CHECK(ResponseRelativePath("08014f774df4dcb1257ea1efbc3b3eae") ==
        "responses/08014f774df4dcb1257ea1efbc3b3eae.json");
  CHECK_FALSE(SeriesDir("/data", "klines", "../x", "1m").ok());
  CHECK_FALSE(SeriesDir("/data", "klines", "BTCUSDT", "../1m").ok());
}

TEST_CASE("names in responses/ are classified", "[data_root]") {
  std::string id;
  CHECK(ClassifyResponseName("08014f774df4dcb1257ea1efbc3b3eae.json", &id) == ResponseName::kResponse);
  CHECK(id == "08014f774df4dcb1257ea1efbc3b3eae");
  CHECK(ClassifyResponseName("08014f774df4dcb1257ea1efbc3b3eae.json.123.0.tmp", nullptr) ==
        ResponseName::kTemporary);
  CHECK(ClassifyResponseName("notes.txt", nullptr) == ResponseName::kOther);
  CHECK(ClassifyResponseName("08014F774df4dcb1257ea1efbc3b3eae.json", nullptr) == ResponseName::kOther);
}
