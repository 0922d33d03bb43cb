// Shared by the HTTP harnesses (fuzz_http_request, fuzz_http_session).
#pragma once

#include "http/http_options.h"

namespace kyrodb::http::fuzz {

// Production defaults without the access log; with `auth`, bearer tokens
// "data-token" and "admin-token"; with `tight`, limits small enough for
// short inputs to reach the refusals (header 512 B, body 256 B, value 32 B,
// 4 batch items, scan limit 8, response 256 B).
inline HttpOptions Options(bool auth, bool tight) {
  HttpOptions o;
  o.access_log = false;
  if (auth) {
    o.auth_token = "data-token";
    o.admin_token = "admin-token";
  }
  if (tight) {
    o.max_header_bytes = 512;
    o.max_body_bytes = 256;
    o.max_value_bytes = 32;
    o.max_batch_items = 4;
    o.max_scan_limit = 8;
    o.default_scan_limit = 4;
    o.max_response_bytes = 256;
  }
  return o;
}

}  // namespace kyrodb::http::fuzz
