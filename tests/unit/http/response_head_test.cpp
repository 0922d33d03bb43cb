#include "http/response_head.h"

#include <gtest/gtest.h>

#include <string>

namespace kyrodb::http {
namespace {

std::string Head(const Response& res, unsigned version, bool keep_alive, size_t length) {
  std::string out;
  AppendResponseHead(res, version, keep_alive, length, &out);
  return out;
}

TEST(ResponseHead, StatusLineFixedFieldsAndLength) {
  Response res{bhttp::status::ok, 11};
  res.body() = "{}";
  EXPECT_EQ(Head(res, 11, true, 2),
            "HTTP/1.1 200 OK\r\nServer: kyrodb\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n");
}

TEST(ResponseHead, HandlerFieldsKeptFramingFieldsOwned) {
  Response res{bhttp::status::method_not_allowed, 11};
  res.set(bhttp::field::content_type, "application/octet-stream");
  res.set(bhttp::field::allow, "GET, HEAD");
  res.set(bhttp::field::content_length, "999");  // stale: ours wins
  res.set(bhttp::field::server, "other");
  res.set(bhttp::field::connection, "keep-alive");
  EXPECT_EQ(Head(res, 11, false, 5),
            "HTTP/1.1 405 Method Not Allowed\r\nServer: kyrodb\r\nContent-Type: application/octet-stream\r\n"
            "Allow: GET, HEAD\r\nContent-Length: 5\r\nConnection: close\r\n\r\n");
}

TEST(ResponseHead, Http10KeepAliveIsExplicit) {
  Response res{bhttp::status::not_found, 10};
  EXPECT_EQ(Head(res, 10, true, 0),
            "HTTP/1.0 404 Not Found\r\nServer: kyrodb\r\nContent-Type: application/json\r\nContent-Length: "
            "0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_EQ(Head(res, 10, false, 0).find("Connection"), std::string::npos);
}

TEST(ResponseHead, NoContentLengthWhereThereIsNoBody) {
  for (auto status : {bhttp::status::no_content, bhttp::status::not_modified, bhttp::status::continue_}) {
    Response res{status, 11};
    EXPECT_EQ(Head(res, 11, true, 0).find("Content-Length"), std::string::npos) << res.result_int();
  }
}

TEST(ResponseHead, CustomStatusKeepsItsReason) {
  Response res;
  res.result(599);
  res.reason("Odd");
  EXPECT_EQ(Head(res, 11, true, 0).substr(0, 18), "HTTP/1.1 599 Odd\r\n");
}

}  // namespace
}  // namespace kyrodb::http
