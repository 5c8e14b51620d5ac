#include "tools/exchange-sim/rate_limiter.h"

#include <catch2/catch.hpp>

namespace qlir::sim {
namespace {

RateLimitConfig Small() {
  RateLimitConfig c;
  c.weight_limit = 10;
  c.window_ms = 60'000;
  c.ban_after = 2;
  c.ban_ms = 120'000;
  return c;
}

TEST_CASE("weight accumulates per fixed clock-aligned window") {
  RateLimiter rl(Small());
  const int64_t t = 1'700'000'020'000;  // 40 s into a minute
  for (int i = 1; i <= 5; ++i) {
    AdmitResult r = rl.Admit("a", 2, t + i);
    CHECK(r.admission == Admission::kOk);
    CHECK(r.used_weight == 2 * i);
  }
  AdmitResult over = rl.Admit("a", 2, t + 10);
  CHECK(over.admission == Admission::kLimited);
  CHECK(over.used_weight == 12);
  CHECK(over.retry_after_s == 20);  // until the minute ends
  // Another IP has its own budget.
  CHECK(rl.Admit("b", 2, t + 11).admission == Admission::kOk);
  // The next window starts from zero.
  AdmitResult next = rl.Admit("a", 2, 1'700'000'100'000);
  CHECK(next.admission == Admission::kOk);
  CHECK(next.used_weight == 2);
  CHECK(rl.UsedWeight("a", 1'700'000'100'000) == 2);
  CHECK(rl.UsedWeight("a", 1'700'000'200'000) == 0);
}

TEST_CASE("Retry-After is at least one second") {
  RateLimiter rl(Small());
  const int64_t end = 1'700'000'100'000;  // a window boundary
  rl.Admit("a", 10, end - 10);
  AdmitResult r = rl.Admit("a", 1, end - 10);
  CHECK(r.admission == Admission::kLimited);
  CHECK(r.retry_after_s == 1);
}

TEST_CASE("sending on while limited gets the IP banned then the ban ends") {
  RateLimiter rl(Small());
  const int64_t t = 1'700'000'040'000;
  rl.Admit("a", 10, t);
  CHECK(rl.Admit("a", 1, t + 1).admission == Admission::kLimited);
  CHECK(rl.Admit("a", 1, t + 2).admission == Admission::kLimited);
  AdmitResult ban = rl.Admit("a", 1, t + 3);
  CHECK(ban.admission == Admission::kBanned);
  CHECK(ban.ban_started);
  CHECK(ban.banned_until_ms == t + 3 + 120'000);
  CHECK(ban.retry_after_s == 120);
  // Banned across window boundaries, not charged, not restarted.
  AdmitResult during = rl.Admit("a", 1, t + 60'000);
  CHECK(during.admission == Admission::kBanned);
  CHECK_FALSE(during.ban_started);
  CHECK(during.used_weight == 0);
  CHECK(during.retry_after_s == 61);
  CHECK(rl.Admit("b", 1, t + 4).admission == Admission::kOk);
  // After the ban, a fresh window.
  AdmitResult after = rl.Admit("a", 1, t + 3 + 120'000);
  CHECK(after.admission == Admission::kOk);
  CHECK(after.used_weight == 1);
}

TEST_CASE("limits can change while windows are open") {
  RateLimiter rl(Small());
  rl.Admit("a", 8, 0);
  RateLimitConfig tighter = Small();
  tighter.weight_limit = 5;
  rl.SetConfig(tighter);
  CHECK(rl.Admit("a", 1, 1).admission == Admission::kLimited);
  tighter.window_ms = 1000;
  rl.SetConfig(tighter);
  CHECK(rl.Admit("a", 1, 2).used_weight == 1);  // a new window length starts new windows
}

TEST_CASE("Reset forgets weights and bans") {
  RateLimiter rl(Small());
  rl.Admit("a", 100, 0);
  rl.Admit("a", 1, 1);
  rl.Admit("a", 1, 2);
  CHECK(rl.Admit("a", 1, 3).admission == Admission::kBanned);
  rl.Reset();
  CHECK(rl.Admit("a", 1, 4).admission == Admission::kOk);
}

}  // namespace
}  // namespace qlir::sim
