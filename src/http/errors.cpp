#include "http/errors.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace kyrodb::http {

std::string DumpJson(const nlohmann::json& body) {
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Response MakeJson(bhttp::status status, const nlohmann::json& body) {
  Response res{status, 11};
  res.set(bhttp::field::content_type, kJsonType);
  res.body() = DumpJson(body);
  return res;  // Content-Length: the session writes it (response_head.h)
}

Response MakeError(bhttp::status status, std::string_view code, std::string_view message) {
  nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
  return MakeJson(status, body);
}

Response MakeRetryError(bhttp::status status, std::string_view code, std::string_view message,
                        unsigned retry_after_seconds) {
  Response res = MakeError(status, code, message);
  res.set(bhttp::field::retry_after, std::to_string(std::max(1u, retry_after_seconds)));
  return res;
}

Response MakeStoreError(const kyrodb::Status& status) {
  using Code = kyrodb::Status::Code;
  switch (status.code()) {
    case Code::kNotFound:
      return MakeError(bhttp::status::not_found, "not_found", status.message());
    case Code::kInvalidArgument:
      return MakeError(bhttp::status::bad_request, "invalid_argument", status.message());
    case Code::kUnavailable:
      // Read-only after an I/O error, or closing: clients should retry later
      // (or elsewhere); reads keep working.
      return MakeRetryError(bhttp::status::service_unavailable, "unavailable", status.message(), 5);
    case Code::kIOError:
      return MakeRetryError(bhttp::status::service_unavailable, "io_error", status.message(), 5);
    case Code::kCorruption:
      return MakeError(bhttp::status::internal_server_error, "corruption", status.message());
    case Code::kOk:
      break;
  }
  return MakeError(bhttp::status::internal_server_error, "internal", "unexpected store status " + status.ToString());
}

}  // namespace kyrodb::http
