#include "tests/virtual_lan.h"

#include <fcntl.h>
#include <httplib.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <thread>

namespace qlir::testing {
namespace {

constexpr const char* kNetnsDir = "/var/run/netns";

// Runs argv with stdout and stderr captured; returns the exit status (128+signal if killed).
int Run(const std::vector<std::string>& argv, std::string* output) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) {
    *output = "pipe failed";
    return -1;
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    *output = "fork failed";
    return -1;
  }
  if (pid == 0) {
    ::dup2(pipefd[1], STDOUT_FILENO);
    ::dup2(pipefd[1], STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    ::dup2(devnull, STDIN_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(pipefd[1]);
  char buf[4096];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) output->append(buf, static_cast<size_t>(n));
  }
  ::close(pipefd[0]);
  int st = 0;
  while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

std::string FindIp() {
  for (const char* p : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  return {};
}

// Runs `fn` in a thread that has joined the network namespace `netns`.
template <typename Fn>
Status InNamespace(const std::string& netns, Fn fn) {
  Status result;
  std::thread t([&] {
    const std::string path = std::string(kNetnsDir) + "/" + netns;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      result = Status::Error("cannot open " + path + ": " + std::strerror(errno));
      return;
    }
    // Only this thread moves: setns(CLONE_NEWNET) acts on the calling thread.
    if (::setns(fd, CLONE_NEWNET) != 0) {
      result = Status::Error("setns " + netns + ": " + std::strerror(errno));
      ::close(fd);
      return;
    }
    ::close(fd);
    result = fn();
  });
  t.join();
  return result;
}

}  // namespace

VirtualLan::VirtualLan(std::string prefix, std::string ip)
    : prefix_(std::move(prefix)), ip_(std::move(ip)) {}

Status VirtualLan::Ip(std::vector<std::string> args) {
  args.insert(args.begin(), ip_);
  std::string out;
  int rc = Run(args, &out);
  if (rc == 0) return Status::Ok();
  std::string cmd;
  for (const auto& a : args) cmd += (cmd.empty() ? "" : " ") + a;
  return Status::Error("'" + cmd + "' exited " + std::to_string(rc) + ": " + out);
}

Result<std::unique_ptr<VirtualLan>> VirtualLan::Create() {
  if (::geteuid() != 0) return Status::Error("not root: ip netns needs CAP_SYS_ADMIN");
  std::string ip = FindIp();
  if (ip.empty()) return Status::Error("no ip binary (iproute2)");
  // Namespaces of an earlier run that was killed before its destructor: their pid is gone.
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(kNetnsDir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("qlir", 0) != 0) continue;
    size_t dash = name.find('-');
    if (dash == std::string::npos || dash == 4) continue;
    const std::string digits = name.substr(4, dash - 4);
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(digits));
    if (::kill(pid, 0) != 0 && errno == ESRCH) {
      std::string out;
      Run({ip, "netns", "delete", name}, &out);
    }
  }
  std::unique_ptr<VirtualLan> lan(new VirtualLan("qlir" + std::to_string(::getpid()) + "-", ip));
  lan->switch_ = lan->prefix_ + "switch";
  if (Status s = lan->Ip({"netns", "add", lan->switch_}); !s.ok()) return s;
  lan->namespaces_.push_back(lan->switch_);
  if (Status s = lan->Ip({"-n", lan->switch_, "link", "add", "br0", "type", "bridge"}); !s.ok()) {
    return s;
  }
  if (Status s = lan->Ip({"-n", lan->switch_, "link", "set", "br0", "up"}); !s.ok()) return s;
  // `ip netns exec` also needs a mount namespace and a remount of /sys, which some containers
  // refuse even to root: find out now rather than when the first process fails to start.
  if (Status s = lan->Ip({"netns", "exec", lan->switch_, "/bin/true"}); !s.ok()) return s;
  return lan;
}

VirtualLan::~VirtualLan() {
  // Deleting a namespace removes its end of a veth pair, and with it the other end.
  for (auto it = namespaces_.rbegin(); it != namespaces_.rend(); ++it) {
    std::string out;
    Run({ip_, "netns", "delete", *it}, &out);
  }
}

Result<std::string> VirtualLan::AddHost(const std::string& name, int octet) {
  const std::string ns = prefix_ + name;
  const std::string port = "p-" + name;  // the switch's end; names are at most 15 characters
  if (port.size() > 15) return Status::Error("host name too long: " + name);
  if (Status s = Ip({"netns", "add", ns}); !s.ok()) return s;
  namespaces_.push_back(ns);
  // Both ends are made directly inside the namespaces: nothing appears in ours.
  const std::vector<std::vector<std::string>> steps = {
      {"-n", switch_, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns},
      {"-n", switch_, "link", "set", port, "master", "br0"},
      {"-n", switch_, "link", "set", port, "up"},
      {"-n", ns, "addr", "add", Address(octet) + "/24", "dev", "eth0"},
      {"-n", ns, "link", "set", "eth0", "up"},
      {"-n", ns, "link", "set", "lo", "up"},
  };
  for (const auto& step : steps) {
    if (Status s = Ip(step); !s.ok()) return s;
  }
  return ns;
}

std::vector<std::string> VirtualLan::Exec(const std::string& netns,
                                          std::vector<std::string> argv) const {
  argv.insert(argv.begin(), {ip_, "netns", "exec", netns});
  return argv;
}

Result<std::string> VirtualLan::HttpGet(const std::string& netns, const std::string& host, int port,
                                        const std::string& path) {
  std::string body;
  Status s = InNamespace(netns, [&]() -> Status {
    httplib::Client c(host, port);
    c.set_connection_timeout(10);
    auto r = c.Get(path.c_str());
    if (!r || r->status != 200) return Status::Error("GET " + path + " from " + host + " failed");
    body = r->body;
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return body;
}

Status VirtualLan::HttpPost(const std::string& netns, const std::string& host, int port,
                            const std::string& path, const std::string& body) {
  return InNamespace(netns, [&]() -> Status {
    httplib::Client c(host, port);
    c.set_connection_timeout(10);
    auto r = c.Post(path.c_str(), body, "application/json");
    if (!r || r->status != 200) return Status::Error("POST " + path + " to " + host + " failed");
    return Status::Ok();
  });
}

}  // namespace qlir::testing
