#include "http/response_head.h"

#include <charconv>

#include "http/errors.h"

namespace kyrodb::http {

namespace {

bool HasNoBody(unsigned status) { return status < 200 || status == 204 || status == 304; }

bool OwnedField(bhttp::field name) {
  switch (name) {
    case bhttp::field::content_length:
    case bhttp::field::transfer_encoding:
    case bhttp::field::connection:
    case bhttp::field::server:
      return true;
    default:
      return false;
  }
}

void AppendNumber(uint64_t n, std::string* out) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof(digits), n);
  out->append(digits, end);
}

}  // namespace

void AppendResponseHead(const Response& res, unsigned version, bool keep_alive, size_t content_length,
                        std::string* out) {
  const unsigned status = res.result_int();
  out->append(version >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ");
  AppendNumber(status, out);
  out->push_back(' ');
  out->append(Sv(res.reason()));
  out->append("\r\nServer: kyrodb\r\n");
  bool has_type = false;
  for (const auto& f : res) {
    if (OwnedField(f.name())) continue;
    has_type = has_type || f.name() == bhttp::field::content_type;
    out->append(Sv(f.name_string()));
    out->append(": ");
    out->append(Sv(f.value()));
    out->append("\r\n");
  }
  if (!has_type) {
    out->append("Content-Type: ");
    out->append(kJsonType);
    out->append("\r\n");
  }
  if (!HasNoBody(status)) {
    out->append("Content-Length: ");
    AppendNumber(content_length, out);
    out->append("\r\n");
  }
  if (version >= 11 && !keep_alive) out->append("Connection: close\r\n");
  if (version < 11 && keep_alive) out->append("Connection: keep-alive\r\n");
  out->append("\r\n");
}

}  // namespace kyrodb::http
