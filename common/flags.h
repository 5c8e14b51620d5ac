// FlagSet: the one command-line parser of every program. A flag is `--name value` or
// `--name=value`; a switch is `--name` alone (a value is an error). Each flag names a setter
// that checks and stores its value; an error names the flag:
//   FlagSet f;
//   f.Switch("once", &o.once);
//   f.Int("heartbeat-ms", &o.heartbeat_ms, 1, kMaxMs);
//   f.Value("base-url", [&](const std::string& v) { ...; return Status::Ok(); });
//   Status s = f.Parse(args);
// ParseIntFlag is the one integer parser behind Int, for the few values that are not flags.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/status.h"

namespace qlir {

// A whole decimal integer in [min, max], else "flag --name: 'text' is not an integer in
// min..max" (or ">= min" when max is the largest int64_t).
Result<int64_t> ParseIntFlag(std::string_view name, std::string_view text, int64_t min,
                             int64_t max);

class FlagSet {
 public:
  // Receives the value; an error message is returned as it is (it should name the flag).
  using Setter = std::function<Status(const std::string& value)>;

  // `--name` sets *out to true. Also answers to `alias` when given (e.g. "-h" for "help").
  void Switch(const std::string& name, bool* out, const std::string& alias = "");
  void Value(const std::string& name, Setter set);
  // Stores the value; an empty one is an error ("flag --name: empty value").
  void String(const std::string& name, std::string* out);
  template <typename T>
  void Int(const std::string& name, T* out, int64_t min, int64_t max) {
    static_assert(std::is_integral_v<T>);
    Value(name, [name, out, min, max](const std::string& v) -> Status {
      Result<int64_t> n = ParseIntFlag(name, v, min, max);
      if (!n.ok()) return n.status();
      *out = static_cast<T>(*n);
      return Status::Ok();
    });
  }

  // Applies every argument in order; the first problem is returned: "unknown flag --x",
  // "flag --x needs a value", "flag --x takes no value", "unexpected argument 'x'".
  Status Parse(const std::vector<std::string>& args) const;

 private:
  struct Flag {
    bool is_switch = false;
    bool* target = nullptr;  // switches
    Setter set;              // valued flags
  };
  std::map<std::string, Flag> flags_;           // by "--name"
  std::map<std::string, std::string> aliases_;  // "-h" -> "--help"
};

}  // namespace qlir
