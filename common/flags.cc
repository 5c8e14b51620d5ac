#include "common/flags.h"

#include <charconv>
#include <limits>

namespace qlir {

Result<int64_t> ParseIntFlag(std::string_view name, std::string_view text, int64_t min,
                             int64_t max) {
  int64_t out = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || out < min ||
      out > max) {
    const std::string range = max == std::numeric_limits<int64_t>::max()
                                  ? ">= " + std::to_string(min)
                                  : "in " + std::to_string(min) + ".." + std::to_string(max);
    return Status::InvalidArgument("flag --" + std::string(name) + ": '" + std::string(text) +
                                   "' is not an integer " + range);
  }
  return out;
}

void FlagSet::Switch(const std::string& name, bool* out, const std::string& alias) {
  Flag f;
  f.is_switch = true;
  f.target = out;
  flags_["--" + name] = std::move(f);
  if (!alias.empty()) aliases_[alias] = "--" + name;
}

void FlagSet::Value(const std::string& name, Setter set) {
  Flag f;
  f.set = std::move(set);
  flags_["--" + name] = std::move(f);
}

void FlagSet::String(const std::string& name, std::string* out) {
  Value(name, [name, out](const std::string& v) -> Status {
    if (v.empty()) return Status::InvalidArgument("flag --" + name + ": empty value");
    *out = v;
    return Status::Ok();
  });
}

Status FlagSet::Parse(const std::vector<std::string>& args) const {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string flag = args[i];
    if (auto a = aliases_.find(flag); a != aliases_.end()) flag = a->second;
    if (!flag.starts_with("--"))
      return Status::InvalidArgument("unexpected argument '" + flag + "'");
    std::string value;
    bool has_value = false;
    if (const size_t eq = flag.find('='); eq != std::string::npos) {
      value = flag.substr(eq + 1);
      flag.resize(eq);
      has_value = true;
    }
    auto it = flags_.find(flag);
    if (it == flags_.end()) return Status::InvalidArgument("unknown flag " + flag);
    const Flag& f = it->second;
    if (f.is_switch) {
      if (has_value) return Status::InvalidArgument("flag " + flag + " takes no value");
      *f.target = true;
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) return Status::InvalidArgument("flag " + flag + " needs a value");
      value = args[++i];
    }
    QLIR_RETURN_IF_ERROR(f.set(value));
  }
  return Status::Ok();
}

}  // namespace qlir
