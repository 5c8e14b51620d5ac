#include "common/flags.h"

#include <catch2/catch.hpp>
#include <limits>

namespace qlir {
namespace {

struct Parsed {
  bool once = false;
  bool help = false;
  int64_t n = 7;
  int small = 0;
  std::string name;
  std::string mode;
};

Result<Parsed> Parse(std::vector<std::string> args) {
  Parsed p;
  FlagSet f;
  f.Switch("once", &p.once);
  f.Switch("help", &p.help, "-h");
  f.Int("n", &p.n, 1, 100);
  f.Int("small", &p.small, -5, 5);
  f.String("name", &p.name);
  f.Value("mode", [&](const std::string& v) -> Status {
    if (v != "a" && v != "b") return Status::Error("flag --mode: '" + v + "' is not a or b");
    p.mode = v;
    return Status::Ok();
  });
  QLIR_RETURN_IF_ERROR(f.Parse(args));
  return p;
}

std::string Err(std::vector<std::string> args) {
  auto r = Parse(std::move(args));
  REQUIRE_FALSE(r.ok());
  return r.error();
}

}  // namespace

TEST_CASE("flags: --flag value and --flag=value are the same") {
  auto a = Parse({"--n", "12", "--name", "x", "--mode", "b", "--once", "--small", "-3"});
  REQUIRE(a.ok());
  auto b = Parse({"--n=12", "--name=x", "--mode=b", "--once", "--small=-3"});
  REQUIRE(b.ok());
  for (const Parsed& p : {*a, *b}) {
    CHECK(p.n == 12);
    CHECK(p.small == -3);
    CHECK(p.name == "x");
    CHECK(p.mode == "b");
    CHECK(p.once);
    CHECK_FALSE(p.help);
  }
  CHECK(Parse({"-h"})->help);
  CHECK(Parse({"--name=a=b"})->name == "a=b");  // only the first '=' splits
  CHECK(Parse({})->n == 7);                     // untouched without the flag
}

TEST_CASE("flags: every problem names the flag") {
  CHECK(Err({"--bogus", "1"}) == "unknown flag --bogus");
  CHECK(Err({"--bogus=1"}) == "unknown flag --bogus");
  CHECK(Err({"stray"}) == "unexpected argument 'stray'");
  CHECK(Err({"--n"}) == "flag --n needs a value");
  CHECK(Err({"--once=1"}) == "flag --once takes no value");
  CHECK(Err({"--n", "0"}) == "flag --n: '0' is not an integer in 1..100");
  CHECK(Err({"--n", "1x"}) == "flag --n: '1x' is not an integer in 1..100");
  CHECK(Err({"--n", ""}) == "flag --n: '' is not an integer in 1..100");
  CHECK(Err({"--n", "99999999999999999999"}).find("--n") != std::string::npos);
  CHECK(Err({"--name", ""}) == "flag --name: empty value");
  CHECK(Err({"--mode", "c"}) == "flag --mode: 'c' is not a or b");
}

TEST_CASE("flags: ParseIntFlag takes whole decimal numbers in range") {
  CHECK(*ParseIntFlag("x", "0", 0, 1) == 0);
  CHECK(*ParseIntFlag("x", "-9", -10, 0) == -9);
  CHECK_FALSE(ParseIntFlag("x", "+1", 0, 10).ok());
  CHECK_FALSE(ParseIntFlag("x", " 1", 0, 10).ok());
  CHECK_FALSE(ParseIntFlag("x", "11", 0, 10).ok());
  CHECK(ParseIntFlag("x", "0", 1, std::numeric_limits<int64_t>::max()).error() ==
        "flag --x: '0' is not an integer >= 1");
}

}  // namespace qlir
