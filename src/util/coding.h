// Little-endian fixed-width encoding for the on-disk formats (docs/FORMATS.md).
// Every format is little-endian regardless of the host; memcpy keeps the loads
// free of alignment and aliasing problems (compilers turn it into one mov).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

namespace kyrodb {

static_assert(std::endian::native == std::endian::little,
              "on-disk formats assume a little-endian host; add byte swaps to port");

inline void EncodeFixed32(char* dst, uint32_t v) { std::memcpy(dst, &v, sizeof v); }
inline void EncodeFixed64(char* dst, uint64_t v) { std::memcpy(dst, &v, sizeof v); }

inline uint32_t DecodeFixed32(const char* src) {
  uint32_t v;
  std::memcpy(&v, src, sizeof v);
  return v;
}
inline uint64_t DecodeFixed64(const char* src) {
  uint64_t v;
  std::memcpy(&v, src, sizeof v);
  return v;
}

inline void PutFixed32(std::string* dst, uint32_t v) {
  char buf[sizeof v];
  EncodeFixed32(buf, v);
  dst->append(buf, sizeof buf);
}
inline void PutFixed64(std::string* dst, uint64_t v) {
  char buf[sizeof v];
  EncodeFixed64(buf, v);
  dst->append(buf, sizeof buf);
}

}  // namespace kyrodb
