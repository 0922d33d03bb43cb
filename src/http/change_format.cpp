#include "http/change_format.h"

#include <nlohmann/json.hpp>

#include "http/errors.h"

namespace kyrodb::http {

bool IsValidUtf8(std::string_view bytes) {
  size_t i = 0;
  const size_t n = bytes.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > n) return false;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(bytes[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are
    // not UTF-8: a JSON parser on the other side would reject or mangle them.
    static constexpr uint32_t kMinForLength[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMinForLength[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

std::string Base64Encode(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{static_cast<unsigned char>(bytes[i])} << 16) |
                       (uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8) |
                       uint32_t{static_cast<unsigned char>(bytes[i + 2])};
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t v = uint32_t{static_cast<unsigned char>(bytes[i])} << 16;
    if (rest == 2) v |= uint32_t{static_cast<unsigned char>(bytes[i + 1])} << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(rest == 2 ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

nlohmann::json ChangeJson(const LogEntry& entry) {
  nlohmann::json j = {{"offset", entry.offset},
                      {"op", entry.type == WriteOp::Type::kDelete ? "delete" : "put"},
                      {"key", entry.key}};
  if (entry.type != WriteOp::Type::kDelete) {
    if (IsValidUtf8(entry.value)) {
      j["value"] = entry.value;
    } else {
      j["value_b64"] = Base64Encode(entry.value);
    }
  }
  return j;
}

void AppendChangeLine(const LogEntry& entry, std::string* out) {
  *out += DumpJson(ChangeJson(entry));
  out->push_back('\n');
}

void AppendChangeEvent(const LogEntry& entry, std::string* out) {
  // DumpJson escapes control characters, so the data never spans lines.
  *out += "id: " + std::to_string(entry.offset) + "\nevent: ";
  *out += entry.type == WriteOp::Type::kDelete ? "delete" : "put";
  *out += "\ndata: ";
  *out += DumpJson(ChangeJson(entry));
  *out += "\n\n";
}

void AppendErrorEvent(std::string_view code, std::string_view message, const nlohmann::json& extra,
                      std::string* out) {
  nlohmann::json error = {{"code", code}, {"message", message}};
  if (extra.is_object()) {
    for (const auto& [k, v] : extra.items()) error[k] = v;
  }
  *out += "event: error\ndata: ";
  *out += DumpJson({{"error", std::move(error)}});
  *out += "\n\n";
}

}  // namespace kyrodb::http
