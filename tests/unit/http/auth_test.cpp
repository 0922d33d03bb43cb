// Bearer tokens: parsing, constant-time comparison, and who may call what.
#include "http/auth.h"

#include <gtest/gtest.h>

namespace kyrodb::http {
namespace {

TEST(Auth, ConstantTimeEquals) {
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_FALSE(ConstantTimeEquals("secreT", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret1", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secre", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", ""));
  EXPECT_FALSE(ConstantTimeEquals(std::string_view("secret\0", 7), "secret"));
  // A prefix followed by NULs must not match by padding.
  EXPECT_FALSE(ConstantTimeEquals("sec", std::string_view("sec\0\0\0", 6)));
}

TEST(Auth, BearerToken) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer abc"), "abc");
  EXPECT_EQ(BearerToken("BEARER   abc  "), "abc");
  EXPECT_EQ(BearerToken("  Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("Basic abc"), "");
  EXPECT_EQ(BearerToken("Bearer"), "");
  EXPECT_EQ(BearerToken("Bearer "), "");
  EXPECT_EQ(BearerToken("Bearerabc"), "");
  EXPECT_EQ(BearerToken(""), "");
}

TEST(Auth, NoTokensConfiguredMeansOpen) {
  for (auto c : {RouteClass::kData, RouteClass::kAdmin, RouteClass::kOpen}) {
    EXPECT_EQ(Authorize(c, "", "", ""), AuthResult::kAllowed);
  }
}

TEST(Auth, DataToken) {
  EXPECT_EQ(Authorize(RouteClass::kData, "", "tok", ""), AuthResult::kMissing);
  EXPECT_EQ(Authorize(RouteClass::kData, "Bearer nope", "tok", ""), AuthResult::kInvalid);
  EXPECT_EQ(Authorize(RouteClass::kData, "Bearer tok", "tok", ""), AuthResult::kAllowed);
  EXPECT_EQ(Authorize(RouteClass::kAdmin, "Bearer tok", "tok", ""), AuthResult::kAllowed)
      << "without an admin token the data token covers admin routes";
  EXPECT_EQ(Authorize(RouteClass::kAdmin, "", "tok", ""), AuthResult::kMissing);
  EXPECT_EQ(Authorize(RouteClass::kOpen, "", "tok", ""), AuthResult::kAllowed);
}

TEST(Auth, AdminToken) {
  EXPECT_EQ(Authorize(RouteClass::kAdmin, "Bearer adm", "tok", "adm"), AuthResult::kAllowed);
  EXPECT_EQ(Authorize(RouteClass::kAdmin, "Bearer tok", "tok", "adm"), AuthResult::kForbidden);
  EXPECT_EQ(Authorize(RouteClass::kAdmin, "Bearer x", "tok", "adm"), AuthResult::kInvalid);
  EXPECT_EQ(Authorize(RouteClass::kAdmin, "", "tok", "adm"), AuthResult::kMissing);
  EXPECT_EQ(Authorize(RouteClass::kData, "Bearer adm", "tok", "adm"), AuthResult::kAllowed) << "admin can do all";
  // Admin token alone: data routes stay open, admin routes need it.
  EXPECT_EQ(Authorize(RouteClass::kData, "", "", "adm"), AuthResult::kAllowed);
  EXPECT_EQ(Authorize(RouteClass::kAdmin, "", "", "adm"), AuthResult::kMissing);
  EXPECT_EQ(Authorize(RouteClass::kAdmin, "Bearer adm", "", "adm"), AuthResult::kAllowed);
}

}  // namespace
}  // namespace kyrodb::http
