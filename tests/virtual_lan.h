// Hosts for end-to-end tests made of Linux network namespaces (ip-netns(8)): a "switch"
// namespace holding a bridge, and one namespace per host joined to it by a veth pair, each with
// its own address in 10.231.0.0/24. Nothing is created in the caller's own namespace, and
// nothing can reach beyond the bridge. Everything is removed in the destructor, also when a
// test fails; namespaces left by a test that was killed are removed by the next one.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/json.h"
#include "common/status.h"

namespace qlir::testing {

class VirtualLan {
 public:
  // Creates the switch and checks that a program can run in it. An error (not root, no `ip`,
  // namespaces, bridges or `ip netns exec` not allowed here) says why, for the test to print
  // when it skips.
  static Result<std::unique_ptr<VirtualLan>> Create();
  ~VirtualLan();  // deletes every namespace it made
  VirtualLan(const VirtualLan&) = delete;
  VirtualLan& operator=(const VirtualLan&) = delete;

  // A host `name` (letters and digits, short) with address 10.231.0.<octet>/24 and loopback up.
  // Returns the namespace's name for Exec.
  Result<std::string> AddHost(const std::string& name, int octet);
  static std::string Address(int octet) { return "10.231.0." + std::to_string(octet); }

  // argv to run `argv` inside the namespace `netns` (ip netns exec: the same process, so
  // signals sent to its pid reach the program).
  std::vector<std::string> Exec(const std::string& netns, std::vector<std::string> argv) const;

  // HTTP from inside `netns` (a thread that joins the namespace; the process stays where it is).
  Result<std::string> HttpGet(const std::string& netns, const std::string& host, int port,
                              const std::string& path);
  Status HttpPost(const std::string& netns, const std::string& host, int port,
                  const std::string& path, const std::string& body);

 private:
  explicit VirtualLan(std::string prefix, std::string ip);
  Status Ip(std::vector<std::string> args);  // runs `ip args...`; errors carry its stderr

  std::string prefix_;  // "qlir<pid>-"
  std::string ip_;      // path of the ip binary
  std::string switch_;
  std::vector<std::string> namespaces_;  // made by us, deleted in the destructor
};

}  // namespace qlir::testing
