// Bearer-token checks (SPEC §2). Tokens are compared in constant time and are
// never logged or echoed.
//
// Who may call what:
//  - open routes (/health, /ready, /metrics, /build_info): anyone;
//  - data routes: anyone when KYRODB_AUTH_TOKEN is unset, else that token or
//    the admin token (an admin can do everything);
//  - admin routes: KYRODB_ADMIN_TOKEN when set (the data token alone is a
//    403: authenticated but not allowed), else KYRODB_AUTH_TOKEN, else anyone.
#pragma once

#include <string_view>

#include "http/router.h"

namespace kyrodb::http {

// Time depends only on expected.size() (the server's own token), never on
// where `given` first differs.
bool ConstantTimeEquals(std::string_view given, std::string_view expected);

// The token of an "Authorization: Bearer <token>" value (scheme is
// case-insensitive); empty when the header is absent or another scheme.
std::string_view BearerToken(std::string_view authorization);

enum class AuthResult : uint8_t {
  kAllowed,
  kMissing,    // 401: no Bearer token
  kInvalid,    // 401: a token that matches nothing
  kForbidden,  // 403: the data token on an admin route
};

AuthResult Authorize(RouteClass route_class, std::string_view authorization, std::string_view auth_token,
                     std::string_view admin_token);

}  // namespace kyrodb::http
