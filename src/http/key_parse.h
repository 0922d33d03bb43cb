// Keys as text (SPEC §1): a path segment, a query value or a JSON string.
//
// A key is an unsigned 64-bit integer written in decimal: 0 ...
// 18446744073709551615. Anything else is rejected with a message naming the
// problem, never wrapped or rounded: empty, whitespace, a sign, a fraction,
// an exponent, other characters, or a value of 2^64 and above. Leading zeros
// are accepted ("007" is 7): they are still a decimal integer.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kyrodb::http {

// `what` names the field in the message ("key", "start", "limit"). On
// failure returns false and sets *error to e.g.
//   invalid key "1.5": must be a whole number (no fraction)
bool ParseKey(std::string_view text, std::string_view what, uint64_t* key, std::string* error);

// `text` shortened and quoted for an error message.
std::string QuoteForMessage(std::string_view text);

}  // namespace kyrodb::http
