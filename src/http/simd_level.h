// The one declaration of the index layer's SIMD probe name, reported by
// /build_info. The index layer (src/index/, linked into kyrodb_engine)
// defines it; kyrodb_http itself never calls it directly: main passes its
// address to the Server, so the HTTP library and its tests link without the
// index.
#pragma once

namespace kyrodb::index {
// "avx512", "avx2", "sse4.2", "sse2", ... : the probe kernel chosen at start.
const char* SimdLevelName();
}  // namespace kyrodb::index
