// The probe for xsimd::sse4_2; this file alone is compiled with its -m flags
// (src/index/CMakeLists.txt) and is only called after a CPU check.
#include "index/probe_kernel.h"

namespace kyrodb::index {

size_t LowerBound_sse42(const uint64_t* keys, size_t n, size_t lo, size_t hi, uint64_t key) {
  return probe_detail::LowerBoundImpl<xsimd::sse4_2>(keys, n, lo, hi, key);
}

}  // namespace kyrodb::index
