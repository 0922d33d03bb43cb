// Status: the result of every engine operation that can fail.
//
// Errors are values: no exception crosses from the engine into the HTTP layer.
// A Status is cheap to copy when ok (no allocation) and carries a message
// otherwise. Thread-compatible (immutable once built).
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace kyrodb {

class Status {
 public:
  enum class Code : unsigned char {
    kOk = 0,
    kNotFound,         // the key (or file) does not exist
    kCorruption,       // stored bytes fail a checksum or a format rule
    kIOError,          // the operating system refused a file operation
    kInvalidArgument,  // the caller passed something out of range
    kUnavailable,      // the store cannot take writes now (read-only, closing)
  };

  Status() = default;
  static Status OK() { return {}; }
  static Status NotFound(std::string msg) { return {Code::kNotFound, std::move(msg)}; }
  static Status Corruption(std::string msg) { return {Code::kCorruption, std::move(msg)}; }
  static Status IOError(std::string msg) { return {Code::kIOError, std::move(msg)}; }
  static Status InvalidArgument(std::string msg) { return {Code::kInvalidArgument, std::move(msg)}; }
  static Status Unavailable(std::string msg) { return {Code::kUnavailable, std::move(msg)}; }

  bool ok() const { return code_ == Code::kOk; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsIOError() const { return code_ == Code::kIOError; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsUnavailable() const { return code_ == Code::kUnavailable; }

  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "OK" or "<code name>: <message>", for logs and errors.
  std::string ToString() const;
  static std::string_view CodeName(Code code);

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace kyrodb

// Propagates a non-ok Status to the caller.
#define KYRODB_RETURN_IF_ERROR(expr)          \
  do {                                        \
    ::kyrodb::Status _kyro_st = (expr);       \
    if (!_kyro_st.ok()) return _kyro_st;      \
  } while (0)
