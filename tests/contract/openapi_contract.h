// OpenApiContract: docs/openapi.yaml as a checker of live responses.
//
// The YAML is turned into JSON by Debian's python3-yaml (the one thing C++ has
// no parser for here) and then read with nlohmann::json. Check() finds the
// documented operation of a request, demands that the status is one it lists,
// that its required headers are present and well-formed, that the
// Content-Type is one it lists, and that the body matches the schema (each
// line for application/x-ndjson; each event's data for text/event-stream,
// by the `x-kyrodb-events` map). Schemas are OpenAPI 3.0 Schema Objects;
// a keyword the validator does not know makes the check fail rather than be
// ignored, so the file cannot promise what nobody checks.
//
// Every checked (operation, status) pair is recorded, so a test can demand
// that each documented answer was seen at least once.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "support/http_client.h"

namespace kyrodb::test {

class OpenApiContract {
 public:
  // Loads `yaml_path` with `python` (an interpreter that has the yaml module).
  bool Load(const std::string& yaml_path, const std::string& python, std::string* error);

  // The problems with `response` as the answer to `method target` (empty:
  // it conforms). `stream_events` is the text of an event stream read after
  // the header (OpenStream/ReadStream), checked event by event.
  std::vector<std::string> Check(std::string_view method, std::string_view target, const HttpResponse& response,
                                 const std::string* stream_events = nullptr);

  // A request body the test is about to send, against the operation's
  // requestBody schema (so the test's own examples follow the file).
  std::vector<std::string> CheckRequestBody(std::string_view method, std::string_view target,
                                            const nlohmann::json& body) const;

  // Every (method path-template) of the file, e.g. "GET /v1/kv/{key}".
  std::vector<std::string> Operations() const;
  // The documented statuses of each operation, and those seen by Check().
  std::map<std::string, std::set<std::string>> Documented() const;
  const std::map<std::string, std::set<std::string>>& Seen() const { return seen_; }

  // Validates `value` against `schema` (resolving $ref); problems are
  // prefixed with `where`. Public for the validator's own tests.
  void Validate(const nlohmann::json& schema, const nlohmann::json& value, const std::string& where,
                std::vector<std::string>* problems) const;

  const nlohmann::json& spec() const { return spec_; }

 private:
  const nlohmann::json& Resolve(const nlohmann::json& node) const;
  // The path template `path` matches, or "".
  std::string MatchPath(std::string_view path) const;
  void CheckHeaders(const nlohmann::json& response_object, const HttpResponse& r, const std::string& where,
                    std::vector<std::string>* problems) const;
  void CheckBody(const nlohmann::json& response_object, const HttpResponse& r, bool head,
                 const std::string* stream_events, const std::string& where,
                 std::vector<std::string>* problems) const;

  nlohmann::json spec_;
  std::map<std::string, std::set<std::string>> seen_;
};

}  // namespace kyrodb::test
