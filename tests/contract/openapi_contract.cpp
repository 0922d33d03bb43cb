#include "contract/openapi_contract.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <regex>
#include <sstream>

namespace kyrodb::test {
namespace {

using nlohmann::json;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::vector<std::string_view> Segments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t next = path.find('/', pos);
    if (next == std::string_view::npos) next = path.size();
    out.push_back(path.substr(pos, next - pos));
    pos = next + 1;
  }
  return out;
}

std::string Keys(const json& object) {
  std::string out;
  for (const auto& [k, v] : object.items()) out += (out.empty() ? "" : ", ") + k;
  return out;
}

// The media type without parameters, lower case.
std::string MediaType(std::string_view content_type) {
  std::string out;
  for (char c : content_type.substr(0, content_type.find(';'))) {
    if (c != ' ' && c != '\t') out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

// a <= b for JSON numbers, exact for unsigned 64-bit values.
bool NumberLessEqual(const json& a, const json& b) {
  if (a.is_number_unsigned() && b.is_number_unsigned()) return a.get<uint64_t>() <= b.get<uint64_t>();
  if (a.is_number_integer() && b.is_number_integer()) {
    if (a.is_number_unsigned()) return false;  // a > INT64_MAX >= ... only if b is signed
    if (b.is_number_unsigned()) return true;
    return a.get<int64_t>() <= b.get<int64_t>();
  }
  return a.get<double>() <= b.get<double>();
}

const std::set<std::string>& KnownKeywords() {
  static const std::set<std::string> kKnown = {
      "type",     "nullable", "properties", "required",  "additionalProperties", "items",     "enum",
      "oneOf",    "anyOf",    "allOf",      "minimum",   "maximum",              "minItems",  "maxItems",
      "minLength", "maxLength", "pattern",  "format",    "description",          "title",     "example",
  };
  return kKnown;
}

const char* const kMethods[] = {"get", "put", "post", "delete", "patch", "head", "options"};

}  // namespace

bool OpenApiContract::Load(const std::string& yaml_path, const std::string& python, std::string* error) {
  const std::string cmd = "'" + python +
                          "' -c 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)' '" +
                          yaml_path + "' 2>&1";
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) {
    *error = "cannot run " + python;
    return false;
  }
  std::string out;
  char buf[65536];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  const int status = ::pclose(pipe);
  if (status != 0) {
    *error = "converting " + yaml_path + " with " + python + " (needs python3-yaml) failed: " + out;
    return false;
  }
  spec_ = json::parse(out, nullptr, false);
  if (!spec_.is_object() || !spec_.contains("paths")) {
    *error = yaml_path + " did not load as an OpenAPI document";
    return false;
  }
  return true;
}

const json& OpenApiContract::Resolve(const json& node) const {
  const json* cur = &node;
  for (int depth = 0; depth < 16 && cur->is_object() && cur->contains("$ref"); ++depth) {
    const std::string ref = (*cur)["$ref"].get<std::string>();
    if (ref.rfind("#/", 0) != 0) break;
    cur = &spec_.at(json::json_pointer(ref.substr(1)));
  }
  return *cur;
}

void OpenApiContract::Validate(const json& schema_node, const json& value, const std::string& where,
                               std::vector<std::string>* problems) const {
  const json& s = Resolve(schema_node);
  if (!s.is_object()) {
    problems->push_back(where + ": the schema is not an object");
    return;
  }
  for (const auto& [k, v] : s.items()) {
    if (KnownKeywords().count(k) == 0 && k.rfind("x-", 0) != 0) {
      problems->push_back(where + ": schema keyword '" + k + "' is not supported by the contract checker");
    }
  }
  if (value.is_null() && s.value("nullable", false)) return;
  if (s.contains("allOf")) {
    for (const json& sub : s["allOf"]) Validate(sub, value, where, problems);
  }
  if (s.contains("oneOf") || s.contains("anyOf")) {
    const bool one = s.contains("oneOf");
    size_t matches = 0;
    std::vector<std::string> why;
    for (const json& sub : s[one ? "oneOf" : "anyOf"]) {
      std::vector<std::string> p;
      Validate(sub, value, where, &p);
      if (p.empty()) {
        ++matches;
      } else {
        why.push_back(p.front());
      }
    }
    if (matches == 0 || (one && matches > 1)) {
      problems->push_back(where + ": " + value.dump() + " matches " + std::to_string(matches) + " of the " +
                          (one ? "oneOf" : "anyOf") + " schemas" + (why.empty() ? "" : " (" + why.front() + ")"));
    }
  }
  if (s.contains("enum") && std::find(s["enum"].begin(), s["enum"].end(), value) == s["enum"].end()) {
    problems->push_back(where + ": " + value.dump() + " is not one of " + s["enum"].dump());
  }
  if (!s.contains("type")) return;
  const std::string type = s["type"].get<std::string>();
  if (type == "object") {
    if (!value.is_object()) return problems->push_back(where + ": expected an object, got " + value.dump());
    const json props = s.value("properties", json::object());
    for (const auto& [k, v] : value.items()) {
      if (props.contains(k)) {
        Validate(props[k], v, where + "." + k, problems);
      } else if (s.contains("additionalProperties")) {
        const json& extra = s["additionalProperties"];
        if (extra.is_boolean() && !extra.get<bool>()) {
          problems->push_back(where + ": member '" + k + "' is not in the schema (allowed: " + Keys(props) + ")");
        } else if (extra.is_object()) {
          Validate(extra, v, where + "." + k, problems);
        }
      }
    }
    for (const json& r : s.value("required", json::array())) {
      if (!value.contains(r.get<std::string>())) {
        problems->push_back(where + ": required member '" + r.get<std::string>() + "' is missing");
      }
    }
  } else if (type == "array") {
    if (!value.is_array()) return problems->push_back(where + ": expected an array, got " + value.dump());
    if (s.contains("minItems") && value.size() < s["minItems"].get<size_t>()) {
      problems->push_back(where + ": fewer than " + s["minItems"].dump() + " items");
    }
    if (s.contains("maxItems") && value.size() > s["maxItems"].get<size_t>()) {
      problems->push_back(where + ": more than " + s["maxItems"].dump() + " items");
    }
    if (s.contains("items")) {
      for (size_t i = 0; i < value.size(); ++i) Validate(s["items"], value[i], where + "[" + std::to_string(i) + "]", problems);
    }
  } else if (type == "string") {
    if (!value.is_string()) return problems->push_back(where + ": expected a string, got " + value.dump());
    const std::string& str = value.get_ref<const std::string&>();
    if (s.contains("minLength") && str.size() < s["minLength"].get<size_t>()) {
      problems->push_back(where + ": shorter than " + s["minLength"].dump());
    }
    if (s.contains("maxLength") && str.size() > s["maxLength"].get<size_t>()) {
      problems->push_back(where + ": longer than " + s["maxLength"].dump());
    }
    if (s.contains("pattern") && !std::regex_search(str, std::regex(s["pattern"].get<std::string>()))) {
      problems->push_back(where + ": " + value.dump() + " does not match " + s["pattern"].dump());
    }
  } else if (type == "integer" || type == "number") {
    if (type == "integer" ? !value.is_number_integer() : !value.is_number()) {
      return problems->push_back(where + ": expected " + type + ", got " + value.dump());
    }
    if (s.contains("minimum") && !NumberLessEqual(s["minimum"], value)) {
      problems->push_back(where + ": " + value.dump() + " is below " + s["minimum"].dump());
    }
    if (s.contains("maximum") && !NumberLessEqual(value, s["maximum"])) {
      problems->push_back(where + ": " + value.dump() + " is above " + s["maximum"].dump());
    }
  } else if (type == "boolean") {
    if (!value.is_boolean()) problems->push_back(where + ": expected a boolean, got " + value.dump());
  } else {
    problems->push_back(where + ": unknown type '" + type + "'");
  }
}

std::string OpenApiContract::MatchPath(std::string_view path) const {
  const auto want = Segments(path);
  std::string best;
  for (const auto& [tmpl, item] : spec_["paths"].items()) {
    const auto have = Segments(tmpl);
    if (have.size() != want.size()) continue;
    bool ok = true;
    bool templated = false;
    for (size_t i = 0; i < have.size() && ok; ++i) {
      if (have[i].size() > 2 && have[i].front() == '{' && have[i].back() == '}') {
        ok = !want[i].empty();
        templated = true;
      } else {
        ok = have[i] == want[i];
      }
    }
    if (!ok) continue;
    if (!templated) return tmpl;  // an exact path wins over a template
    best = tmpl;
  }
  return best;
}

void OpenApiContract::CheckHeaders(const json& response_object, const HttpResponse& r, const std::string& where,
                                   std::vector<std::string>* problems) const {
  if (!r.HasHeader("Content-Type")) problems->push_back(where + ": no Content-Type");
  if (!response_object.contains("headers")) return;
  for (const auto& [name, node] : response_object["headers"].items()) {
    const json& h = Resolve(node);
    if (!r.HasHeader(name)) {
      if (h.value("required", false)) problems->push_back(where + ": required header " + name + " is missing");
      continue;
    }
    if (!h.contains("schema")) continue;
    const std::string text = r.Header(name);
    const json& schema = Resolve(h["schema"]);
    json value = text;
    if (schema.value("type", "") == "integer") {
      const bool digits = !text.empty() && text.size() <= 20 &&
                          std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (!digits) {
        problems->push_back(where + ": header " + name + " '" + text + "' is not an integer");
        continue;
      }
      value = json::parse(text);
    }
    Validate(schema, value, where + " header " + name, problems);
  }
}

void OpenApiContract::CheckBody(const json& response_object, const HttpResponse& r, bool head,
                                const std::string* stream_events, const std::string& where,
                                std::vector<std::string>* problems) const {
  if (!response_object.contains("content")) {
    if (!r.body.empty()) problems->push_back(where + ": a body where the file documents none");
    return;
  }
  const json& content = response_object["content"];
  const std::string type = MediaType(r.Header("Content-Type"));
  if (!content.contains(type)) {
    problems->push_back(where + ": Content-Type '" + type + "' is not documented (documented: " + Keys(content) +
                        ")");
    return;
  }
  if (head) {
    if (!r.body.empty()) problems->push_back(where + ": a HEAD answer with a body");
    return;
  }
  const json& media = content[type];
  const json schema = media.value("schema", json::object());
  if (type == "application/json") {
    const json body = json::parse(r.body, nullptr, false);
    if (body.is_discarded()) return problems->push_back(where + ": the body is not JSON: " + r.body.substr(0, 200));
    Validate(schema, body, where + " body", problems);
  } else if (type == "application/x-ndjson") {
    std::istringstream in(r.body);
    std::string line;
    for (int i = 0; std::getline(in, line); ++i) {
      const json j = json::parse(line, nullptr, false);
      if (j.is_discarded()) {
        problems->push_back(where + ": line " + std::to_string(i) + " is not JSON: " + line.substr(0, 200));
        continue;
      }
      Validate(schema, j, where + " line " + std::to_string(i), problems);
    }
    if (!r.body.empty() && r.body.back() != '\n') problems->push_back(where + ": the last line has no newline");
  } else if (type == "text/event-stream" && stream_events != nullptr) {
    const json events = media.value("x-kyrodb-events", json::object());
    size_t pos = 0;
    for (int i = 0;; ++i) {
      const size_t end = stream_events->find("\n\n", pos);
      if (end == std::string::npos) break;
      std::istringstream event(stream_events->substr(pos, end - pos));
      pos = end + 2;
      std::string line;
      std::string name;
      std::string data;
      bool has_data = false;
      while (std::getline(event, line)) {
        if (line.empty() || line[0] == ':') continue;  // a comment (heartbeat)
        const size_t colon = line.find(':');
        const std::string field = line.substr(0, colon);
        std::string val = colon == std::string::npos ? "" : line.substr(colon + 1);
        if (!val.empty() && val[0] == ' ') val.erase(0, 1);
        if (field == "event") name = val;
        if (field == "data") {
          data += val;
          has_data = true;
        }
        if (field != "event" && field != "data" && field != "id" && field != "retry") {
          problems->push_back(where + ": event " + std::to_string(i) + " has an unknown field '" + field + "'");
        }
      }
      if (!has_data) continue;  // retry: or comments only
      if (name.empty()) name = "message";
      if (!events.contains(name)) {
        problems->push_back(where + ": event type '" + name + "' is not documented (documented: " + Keys(events) +
                            ")");
        continue;
      }
      const json j = json::parse(data, nullptr, false);
      if (j.is_discarded()) {
        problems->push_back(where + ": the data of event " + std::to_string(i) + " is not JSON: " + data);
        continue;
      }
      Validate(events[name], j, where + " event " + std::to_string(i) + " (" + name + ")", problems);
    }
  }
}

std::vector<std::string> OpenApiContract::Check(std::string_view method, std::string_view target,
                                                const HttpResponse& r, const std::string* stream_events) {
  std::vector<std::string> problems;
  const std::string where = std::string(method) + " " + std::string(target.substr(0, 120)) + " -> " +
                            std::to_string(r.status);
  if (r.status == 0) {
    problems.push_back(where + ": no response (" + r.error + ")");
    return problems;
  }
  const std::string status = std::to_string(r.status);
  const std::string path(target.substr(0, target.find('?')));
  const std::string tmpl = MatchPath(path);
  const std::string verb = Lower(method);
  const bool head = verb == "head";
  const json* response_object = nullptr;
  if (tmpl.empty()) {
    seen_["(no route)"].insert(status);
    if (status != "404") problems.push_back(where + ": a path the file does not have must be a 404");
    response_object = &Resolve(spec_["x-kyrodb-no-route"]);
  } else {
    const json& item = spec_["paths"][tmpl];
    const std::string op_verb = head ? "get" : verb;
    if (!item.contains(op_verb)) {
      seen_["(other methods)"].insert(status);
      if (status != "405") problems.push_back(where + ": a method " + tmpl + " does not take must be a 405");
      response_object = &Resolve(spec_["x-kyrodb-method-not-allowed"]);
    } else {
      const json& responses = item[op_verb]["responses"];
      const std::string key = Upper(op_verb) + " " + tmpl;
      if (!responses.contains(status)) {
        problems.push_back(where + ": status " + status + " is not documented for " + key +
                           " (documented: " + Keys(responses) + "); body: " + r.body.substr(0, 200));
        return problems;
      }
      seen_[key].insert(status);
      response_object = &Resolve(responses[status]);
    }
  }
  CheckHeaders(*response_object, r, where, &problems);
  CheckBody(*response_object, r, head, stream_events, where, &problems);
  return problems;
}

std::vector<std::string> OpenApiContract::CheckRequestBody(std::string_view method, std::string_view target,
                                                           const json& body) const {
  std::vector<std::string> problems;
  const std::string tmpl = MatchPath(target.substr(0, target.find('?')));
  const std::string where = "request " + std::string(method) + " " + std::string(target);
  if (tmpl.empty() || !spec_["paths"][tmpl].contains(Lower(method))) {
    problems.push_back(where + ": no such operation in the file");
    return problems;
  }
  const json& op = spec_["paths"][tmpl][Lower(method)];
  if (!op.contains("requestBody")) {
    problems.push_back(where + ": the file documents no request body");
    return problems;
  }
  const json& rb = Resolve(op["requestBody"]);
  const json schema = rb["content"].value("application/json", json::object()).value("schema", json::object());
  Validate(schema, body, where, &problems);
  return problems;
}

std::vector<std::string> OpenApiContract::Operations() const {
  std::vector<std::string> out;
  for (const auto& [tmpl, item] : spec_["paths"].items()) {
    for (const char* m : kMethods) {
      if (item.contains(m)) out.push_back(Upper(m) + " " + tmpl);
    }
  }
  return out;
}

std::map<std::string, std::set<std::string>> OpenApiContract::Documented() const {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& [tmpl, item] : spec_["paths"].items()) {
    for (const char* m : kMethods) {
      if (!item.contains(m)) continue;
      for (const auto& [status, resp] : item[m]["responses"].items()) out[Upper(m) + " " + tmpl].insert(status);
    }
  }
  return out;
}

}  // namespace kyrodb::test
