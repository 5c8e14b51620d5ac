// Status and Result<T>: expected failures as values, in the manner of LevelDB's
// include/leveldb/status.h (docs/conventions.md, "Errors"). A Status is ok, or carries a code and a
// message naming the file, peer or symbol at fault. The code is what a caller decides on (move a
// corrupt manifest aside, but touch nothing after an I/O error; retry what is unavailable; refuse
// an invalid argument); the message is for people. Both are [[nodiscard]]: a failure cannot be
// dropped by accident (write `(void)` where dropping it is the decision, and say why).
//
// Propagation: QLIR_RETURN_IF_ERROR(expr) returns the Status of `expr` (a Status or a Result)
// from the enclosing function when it is not ok.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace qlir {

class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kError,            // unclassified
    kNotFound,         // what was asked for does not exist
    kCorruption,       // data that exists but does not parse or contradicts itself
    kIOError,          // the system refused a read or write (permissions, EIO, ENOSPC...)
    kInvalidArgument,  // the caller's input can never succeed (bad flag, unknown symbol)
    kUnavailable,      // a peer or service is not answering now; later may succeed
  };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(Code::kError, std::move(message)); }
  static Status NotFound(std::string message) {
    return Status(Code::kNotFound, std::move(message));
  }
  static Status Corruption(std::string message) {
    return Status(Code::kCorruption, std::move(message));
  }
  static Status IOError(std::string message) { return Status(Code::kIOError, std::move(message)); }
  static Status InvalidArgument(std::string message) {
    return Status(Code::kInvalidArgument, std::move(message));
  }
  static Status Unavailable(std::string message) {
    return Status(Code::kUnavailable, std::move(message));
  }

  bool ok() const { return code_ == Code::kOk; }
  explicit operator bool() const { return ok(); }
  Code code() const { return code_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsIOError() const { return code_ == Code::kIOError; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsUnavailable() const { return code_ == Code::kUnavailable; }
  // Empty when ok.
  const std::string& message() const {
    static const std::string kEmpty;
    return message_ ? *message_ : kEmpty;
  }
  // The same code with `context + ": "` before the message (ok stays ok).
  Status Annotate(const std::string& context) const {
    return ok() ? *this : Status(code_, context + ": " + message());
  }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  Code code_ = Code::kOk;
  std::optional<std::string> message_;
};

// Either a value or an error Status. Access to value() on an error is a programming bug.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}       // NOLINT: implicit by design
  Result(Status error) : v_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }
  const std::string& error() const {
    static const std::string kEmpty;
    return ok() ? kEmpty : std::get<Status>(v_).message();
  }

 private:
  std::variant<T, Status> v_;
};

namespace internal {
inline Status ToStatus(Status s) { return s; }
template <typename T>
Status ToStatus(const Result<T>& r) {
  return r.status();
}
}  // namespace internal

}  // namespace qlir

#define QLIR_RETURN_IF_ERROR(expr)                                    \
  do {                                                                \
    ::qlir::Status qlir_status_ = ::qlir::internal::ToStatus((expr)); \
    if (!qlir_status_.ok()) return qlir_status_;                      \
  } while (0)
