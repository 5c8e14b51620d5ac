#include "common/atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/skip.h"
#include "tests/test_util.h"

namespace fs = std::filesystem;

TEST_CASE("WriteFileAtomic replaces the target and leaves no temporary", "[atomic_file]") {
  qlir::testing::ScratchDir dir;
  fs::path target = dir.path() / "a.json";
  REQUIRE(qlir::WriteFileAtomic(target, "first").ok());
  REQUIRE(qlir::WriteFileAtomic(target, "second").ok());
  CHECK(*qlir::ReadFile(target) == "second");
  int n = 0;
  for (auto& e : fs::directory_iterator(dir.path())) {
    (void)e;
    ++n;
  }
  CHECK(n == 1);
}

TEST_CASE("WriteFileAtomic reports a missing directory and an unwritable one", "[atomic_file]") {
  qlir::testing::ScratchDir dir;
  auto s = qlir::WriteFileAtomic(dir.path() / "nope" / "a.json", "x");
  REQUIRE_FALSE(s.ok());
  CHECK_THAT(s.message(), Catch::Contains("cannot create"));
  auto r = qlir::ReadFile(dir.path() / "missing");
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error(), Catch::Contains("missing"));
}

TEST_CASE("WriteFileAtomic reports a directory it may not write", "[atomic_file]") {
  if (::geteuid() == 0) QLIR_SKIP("running as root, which ignores permission bits");
  qlir::testing::ScratchDir dir;
  fs::create_directory(dir.path() / "ro");
  ::chmod((dir.path() / "ro").c_str(), 0555);
  CHECK_FALSE(qlir::WriteFileAtomic(dir.path() / "ro" / "a.json", "x").ok());
}
