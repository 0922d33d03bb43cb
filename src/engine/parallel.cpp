#include "engine/parallel.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "kyrodb/options.h"
#include "util/crc32c.h"

namespace kyrodb {

void ParallelFor(size_t tasks, size_t max_threads, const std::function<void(size_t)>& task) {
  if (max_threads == 0) max_threads = UsableCpus();
  const size_t threads = std::min(tasks, max_threads);
  if (threads <= 1) {
    for (size_t i = 0; i < tasks; ++i) task(i);
    return;
  }
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next.fetch_add(1, std::memory_order_relaxed); i < tasks;
         i = next.fetch_add(1, std::memory_order_relaxed)) {
      task(i);
    }
  };
  std::vector<std::thread> helpers;
  helpers.reserve(threads - 1);
  for (size_t t = 1; t < threads; ++t) helpers.emplace_back(worker);
  worker();
  for (std::thread& h : helpers) h.join();
}

namespace {

// Reflected Castagnoli polynomial.
constexpr uint32_t kPoly = 0x82F63B78u;

uint32_t MatrixTimes(const uint32_t* mat, uint32_t vec) {
  uint32_t sum = 0;
  for (; vec != 0; vec >>= 1, ++mat) {
    if (vec & 1) sum ^= *mat;
  }
  return sum;
}

void MatrixSquare(uint32_t* square, const uint32_t* mat) {
  for (int n = 0; n < 32; ++n) square[n] = MatrixTimes(mat, mat[n]);
}

}  // namespace

uint32_t Crc32cCombine(uint32_t crc_a, uint32_t crc_b, uint64_t len_b) {
  if (len_b == 0) return crc_a;
  // odd: the operator that feeds one zero bit through the CRC register.
  uint32_t even[32];
  uint32_t odd[32];
  odd[0] = kPoly;
  uint32_t row = 1;
  for (int n = 1; n < 32; ++n, row <<= 1) odd[n] = row;
  MatrixSquare(even, odd);  // two zero bits
  MatrixSquare(odd, even);  // four zero bits
  // Apply len_b zero bytes to crc_a, squaring the operator per bit of len_b.
  do {
    MatrixSquare(even, odd);
    if (len_b & 1) crc_a = MatrixTimes(even, crc_a);
    len_b >>= 1;
    if (len_b == 0) break;
    MatrixSquare(odd, even);
    if (len_b & 1) crc_a = MatrixTimes(odd, crc_a);
    len_b >>= 1;
  } while (len_b != 0);
  return crc_a ^ crc_b;
}

uint32_t ParallelCrc32c(const char* data, uint64_t n, size_t max_threads) {
  constexpr uint64_t kChunk = 8u << 20;
  const size_t chunks = static_cast<size_t>((n + kChunk - 1) / kChunk);
  if (chunks <= 1) return crc32c::Value(data, n);
  std::vector<uint32_t> crcs(chunks);
  ParallelFor(chunks, max_threads, [&](size_t i) {
    const uint64_t begin = i * kChunk;
    crcs[i] = crc32c::Value(data + begin, std::min(kChunk, n - begin));
  });
  uint32_t crc = crcs[0];
  for (size_t i = 1; i < chunks; ++i) crc = Crc32cCombine(crc, crcs[i], std::min(kChunk, n - i * kChunk));
  return crc;
}

}  // namespace kyrodb
