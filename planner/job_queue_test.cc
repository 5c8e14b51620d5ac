#include "planner/job_queue.h"

#include <catch2/catch.hpp>

namespace qlir::planner {
namespace {

TEST_CASE("JobQueue hands out oldest first within a series") {
  JobQueue q;
  for (int64_t i : {5, 3, 9, 4}) q.Push({0, i});
  std::vector<int64_t> got;
  while (auto r = q.Pop()) got.push_back(r->index);
  CHECK(got == std::vector<int64_t>{3, 4, 5, 9});
  CHECK(q.empty());
}

TEST_CASE("JobQueue interleaves series fairly (round robin)") {
  JobQueue q;
  for (int64_t i = 0; i < 4; ++i) q.Push({0, 100 + i});
  for (int64_t i = 0; i < 2; ++i) q.Push({1, 200 + i});
  for (int64_t i = 0; i < 3; ++i) q.Push({2, 300 + i});
  std::vector<SliceRef> got;
  while (auto r = q.Pop()) got.push_back(*r);
  std::vector<SliceRef> want = {{0, 100}, {1, 200}, {2, 300}, {0, 101}, {1, 201},
                                {2, 301}, {0, 102}, {2, 302}, {0, 103}};
  CHECK(got == want);
}

TEST_CASE("JobQueue head comes before every series") {
  JobQueue q;
  q.Push({0, 1});
  q.Push({1, 1});
  q.PushFront({1, 50});
  q.PushFront({0, 60});
  CHECK(q.size() == 4);
  CHECK(*q.Pop() == SliceRef{0, 60});
  CHECK(*q.Pop() == SliceRef{1, 50});
  CHECK(*q.Pop() == SliceRef{0, 1});
  CHECK(*q.Pop() == SliceRef{1, 1});
  CHECK(!q.Pop());
}

TEST_CASE("DelayQueue releases entries when due - earliest first") {
  DelayQueue d;
  d.Add(300, {0, 3});
  d.Add(100, {0, 1});
  d.Add(200, {1, 2});
  CHECK(d.NextDue() == 100);
  CHECK(d.PopDue(99).empty());
  CHECK(d.PopDue(200) == std::vector<SliceRef>{{0, 1}, {1, 2}});
  CHECK(d.NextDue() == 300);
  CHECK(d.PopDue(1000) == std::vector<SliceRef>{{0, 3}});
  CHECK(!d.NextDue());
}

}  // namespace
}  // namespace qlir::planner
