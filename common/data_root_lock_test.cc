#include "common/data_root_lock.h"

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "tests/test_util.h"

using namespace qlir;

TEST_CASE("a second lock on the same data root is refused at once", "[lock]") {
  qlir::testing::ScratchDir root;
  auto first = DataRootLock::Acquire(root.path());
  REQUIRE(first.ok());
  auto second = DataRootLock::Acquire(root.path());
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().IsUnavailable());
  CHECK_THAT(second.error(), Catch::Contains("another persister"));
  CHECK_THAT(second.error(), Catch::Contains(std::to_string(::getpid())));
  first->reset();
  CHECK(DataRootLock::Acquire(root.path()).ok());
}

TEST_CASE("a forked child cannot take a lock the parent holds", "[lock]") {
  qlir::testing::ScratchDir root;
  auto lock = DataRootLock::Acquire(root.path());
  REQUIRE(lock.ok());
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto child = DataRootLock::Acquire(root.path());
    ::_exit(child.ok() ? 0 : 7);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 7);
}

TEST_CASE("the lock dies with its holder", "[lock]") {
  qlir::testing::ScratchDir root;
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto child = DataRootLock::Acquire(root.path());
    (void)child.ok();  // keep the lock until the process dies
    ::_exit(child.ok() ? 0 : 7);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(DataRootLock::Acquire(root.path()).ok());
}
