#include "http/auth.h"

namespace kyrodb::http {

bool ConstantTimeEquals(std::string_view given, std::string_view expected) {
  // volatile keeps the compiler from turning the loop into an early exit.
  volatile unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    // The branch depends on the length the client chose, not on the secret.
    unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    diff = static_cast<unsigned char>(diff | (g ^ static_cast<unsigned char>(expected[i])));
  }
  return diff == 0;
}

std::string_view BearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  auto is_space = [](char c) { return c == ' ' || c == '\t'; };
  while (!authorization.empty() && is_space(authorization.front())) authorization.remove_prefix(1);
  if (authorization.size() <= kScheme.size() || !is_space(authorization[kScheme.size()])) return {};
  for (size_t i = 0; i < kScheme.size(); ++i) {
    char c = authorization[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != kScheme[i]) return {};
  }
  std::string_view token = authorization.substr(kScheme.size());
  while (!token.empty() && is_space(token.front())) token.remove_prefix(1);
  while (!token.empty() && is_space(token.back())) token.remove_suffix(1);
  return token;
}

AuthResult Authorize(RouteClass route_class, std::string_view authorization, std::string_view auth_token,
                     std::string_view admin_token) {
  if (route_class == RouteClass::kOpen) return AuthResult::kAllowed;
  std::string_view required = auth_token;
  if (route_class == RouteClass::kAdmin && !admin_token.empty()) required = admin_token;
  if (required.empty() && (route_class == RouteClass::kAdmin || auth_token.empty())) return AuthResult::kAllowed;

  std::string_view token = BearerToken(authorization);
  if (token.empty()) return AuthResult::kMissing;
  // Both comparisons always run, so timing does not tell which token matched.
  bool is_data = !auth_token.empty() && ConstantTimeEquals(token, auth_token);
  bool is_admin = !admin_token.empty() && ConstantTimeEquals(token, admin_token);
  if (route_class == RouteClass::kData) return (is_data || is_admin) ? AuthResult::kAllowed : AuthResult::kInvalid;
  if (!admin_token.empty()) {
    if (is_admin) return AuthResult::kAllowed;
    return is_data ? AuthResult::kForbidden : AuthResult::kInvalid;
  }
  return is_data ? AuthResult::kAllowed : AuthResult::kInvalid;
}

}  // namespace kyrodb::http
