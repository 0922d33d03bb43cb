// Shared pieces of the libFuzzer harnesses: an invariant check that survives
// NDEBUG, an in-memory FileSystem, deterministic key sets, and the checksum
// "fix-ups" that let the fuzzer get past a CRC and reach the rules behind it.
//
// Why fix-ups: a random mutation of a checksummed file is rejected at the
// checksum almost every time, so the fuzzer would never exercise the size,
// order and bounds checks the loaders rely on against a buggy writer. The
// harnesses take a flags byte first; one bit asks them to recompute every
// checksum of the (mutated) bytes before loading them, the way a buggy writer
// would have produced them.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kyrodb/fs.h"
#include "util/coding.h"
#include "util/crc32c.h"

// Aborts (so libFuzzer records the input) when an invariant does not hold.
// Not assert(): the fuzz build is RelWithDebInfo, where NDEBUG is defined.
#define FUZZ_CHECK(cond, ...)                                                       \
  do {                                                                              \
    if (!(cond)) {                                                                  \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, "  " __VA_ARGS__);                                      \
      std::fprintf(stderr, "\n");                                                   \
      std::abort();                                                                 \
    }                                                                               \
  } while (0)

namespace kyrodb::fuzz {

// A whole file in its own exactly-sized heap block, so ASan reports a read of
// even one byte past the end (a real mmap would hide it up to the page end).
class HeapMappedFile final : public MappedFile {
 public:
  explicit HeapMappedFile(std::string_view bytes) : size_(bytes.size()), data_(new char[bytes.size()]) {
    if (size_ > 0) std::memcpy(data_.get(), bytes.data(), size_);
  }
  const char* data() const override { return data_.get(); }
  size_t size() const override { return size_; }

 private:
  size_t size_;
  std::unique_ptr<char[]> data_;  // operator new[]: 16-byte aligned, like a page
};

// A FileSystem over a map of path -> bytes. Single-threaded (the harnesses are).
class MemFileSystem final : public FileSystem {
 public:
  void Put(const std::string& path, std::string_view bytes) { files_[path] = std::string(bytes); }
  const std::string* Get(const std::string& path) const {
    auto it = files_.find(path);
    return it == files_.end() ? nullptr : &it->second;
  }

  Status NewWritableFile(const std::string& path, std::unique_ptr<WritableFile>* out) override {
    files_[path].clear();
    *out = std::make_unique<File>(&files_[path]);
    return Status::OK();
  }
  Status NewAppendableFile(const std::string& path, std::unique_ptr<WritableFile>* out) override {
    *out = std::make_unique<File>(&files_[path]);
    return Status::OK();
  }
  Status ReadFile(const std::string& path, std::string* out) override {
    const std::string* f = Get(path);
    if (f == nullptr) return Status::NotFound(path);
    *out = *f;
    return Status::OK();
  }
  Status MapFile(const std::string& path, std::unique_ptr<MappedFile>* out) override {
    const std::string* f = Get(path);
    if (f == nullptr) return Status::NotFound(path);
    *out = std::make_unique<HeapMappedFile>(*f);
    return Status::OK();
  }
  Status FileExists(const std::string& path, bool* exists) override {
    *exists = Get(path) != nullptr;
    return Status::OK();
  }
  Status FileSize(const std::string& path, uint64_t* size) override {
    const std::string* f = Get(path);
    if (f == nullptr) return Status::NotFound(path);
    *size = f->size();
    return Status::OK();
  }
  Status ListDir(const std::string& dir, std::vector<std::string>* names) override {
    names->clear();
    const std::string prefix = dir + "/";
    for (const auto& [path, bytes] : files_) {
      if (path.compare(0, prefix.size(), prefix) == 0 && path.find('/', prefix.size()) == std::string::npos) {
        names->push_back(path.substr(prefix.size()));
      }
    }
    return Status::OK();
  }
  Status CreateDirIfMissing(const std::string& /*dir*/) override { return Status::OK(); }
  Status Rename(const std::string& from, const std::string& to) override {
    auto it = files_.find(from);
    if (it == files_.end()) return Status::NotFound(from);
    std::string bytes = std::move(it->second);
    files_.erase(it);
    files_[to] = std::move(bytes);
    return Status::OK();
  }
  Status RemoveFile(const std::string& path) override {
    return files_.erase(path) == 1 ? Status::OK() : Status::NotFound(path);
  }
  Status Truncate(const std::string& path, uint64_t size) override {
    auto it = files_.find(path);
    if (it == files_.end()) return Status::NotFound(path);
    if (size < it->second.size()) it->second.resize(size);
    return Status::OK();
  }
  Status SyncDir(const std::string& /*dir*/) override { return Status::OK(); }

 private:
  class File final : public WritableFile {
   public:
    explicit File(std::string* bytes) : bytes_(bytes) {}
    Status Append(std::span<const char> data) override {
      bytes_->append(data.data(), data.size());
      return Status::OK();
    }
    Status Sync() override { return Status::OK(); }
    Status FullSync() override { return Status::OK(); }
    Status Close() override { return Status::OK(); }
    uint64_t Size() const override { return bytes_->size(); }

   private:
    std::string* bytes_;  // std::map nodes do not move
  };

  std::map<std::string, std::string> files_;
};

// Touches every byte of `s` so ASan checks the whole range is readable, and
// returns something the optimiser cannot drop.
inline uint32_t Touch(std::string_view s) { return crc32c::Value(s.data(), s.size()); }

// SplitMix64: tiny, deterministic on every platform (unlike <random>'s
// distributions), good enough to spread keys.
inline uint64_t SplitMix(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// About `n` sorted, strictly increasing keys of shape `dist` (mod 6): the
// shapes that push the index's router into its corners.
//   0 uniform over 2^64     1 sequential          2 sequential with huge gaps
//   3 dense clusters        4 heavy tail (log router)   5 extremes: 0, 2^64-1, few between
inline std::vector<uint64_t> MakeKeys(uint8_t dist, size_t n, uint64_t seed) {
  uint64_t s = seed;
  std::vector<uint64_t> keys;
  keys.reserve(n + 2);
  switch (dist % 6) {
    case 0:
      for (size_t i = 0; i < n; ++i) keys.push_back(SplitMix(&s));
      break;
    case 1: {
      const uint64_t start = SplitMix(&s) >> 1;
      for (size_t i = 0; i < n; ++i) keys.push_back(start + i);
      break;
    }
    case 2: {
      uint64_t k = SplitMix(&s) >> 8;
      for (size_t i = 0; i < n; ++i) {
        k += (i % 64 == 63) ? (SplitMix(&s) >> 4) % (uint64_t{1} << 40) + 1 : 1;
        keys.push_back(k);
      }
      break;
    }
    case 3: {
      uint64_t centre = 0;
      for (size_t i = 0; i < n; ++i) {
        if (i % 100 == 0) centre = SplitMix(&s);
        keys.push_back(centre + SplitMix(&s) % 1000);
      }
      break;
    }
    case 4:
      // Keys spread over many powers of two: 2^(r % 64) plus low noise.
      for (size_t i = 0; i < n; ++i) {
        const uint64_t r = SplitMix(&s);
        const unsigned e = static_cast<unsigned>(r % 64);
        keys.push_back((uint64_t{1} << e) + ((r >> 6) & ((uint64_t{1} << (e / 2)) - 1)));
      }
      break;
    default:
      keys.push_back(0);
      keys.push_back(~uint64_t{0});
      for (size_t i = 2; i < n; ++i) keys.push_back(SplitMix(&s) % 16);
      break;
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

// --- Checksum fix-ups (see the top of this file). Each leaves bytes it cannot
// make sense of alone.

// WAL segment: the header CRC, then every record CRC along the chain of
// length fields, stopping at the first length that does not fit.
inline void FixWalSegmentCrcs(std::string* seg, size_t header_size, size_t record_header, uint32_t max_payload,
                              size_t min_payload) {
  if (seg->size() < header_size) return;
  char* p = seg->data();
  EncodeFixed32(p + 16, crc32c::Value(p, 16));
  size_t pos = header_size;
  while (seg->size() - pos >= record_header) {
    const uint32_t len = DecodeFixed32(p + pos);
    if (len < min_payload || len > max_payload || seg->size() - pos - record_header < len) return;
    uint32_t crc = crc32c::Value(p + pos, 4);
    crc = crc32c::Extend(crc, p + pos + record_header, len);
    EncodeFixed32(p + pos + 4, crc);
    pos += record_header + len;
  }
}

// Snapshot: every section CRC when the footer's version, count and
// values_bytes fit the file size, then the footer CRC (bytes 48..63 and 72 of
// the 80-byte footer). Version 1 ends with u64 positions[n + 1]; version 2
// (and any other version, so a mutated one still gets a sealed footer) with
// u64 bases[n/16 + 1], u32 deltas[n + 1] and zero padding to a multiple of 8.
// The sizes are recomputed here, not taken from the engine, so a wrong size
// rule there shows up as a disagreement.
inline void FixSnapshotCrcs(std::string* file, size_t footer_size) {
  if (file->size() < footer_size) return;
  char* base = file->data();
  char* f = base + file->size() - footer_size;
  const uint64_t body = file->size() - footer_size;
  const uint32_t version = DecodeFixed32(f + 8);
  const uint64_t count = DecodeFixed64(f + 16);
  const uint64_t values = DecodeFixed64(f + 32);
  if (values <= body && count <= (body - values) / 20) {
    const uint64_t arrays = body - values;
    const uint64_t positions =
        version == 1 ? 8 * (count + 1) : 8 * (count / 16 + 1) + (4 * (count + 1) + 7) / 8 * 8;
    if (arrays == 16 * count + positions) {
      const char* keys = base + values;
      EncodeFixed32(f + 48, crc32c::Value(base, values));
      EncodeFixed32(f + 52, crc32c::Value(keys, count * 8));
      EncodeFixed32(f + 56, crc32c::Value(keys + count * 8, count * 8));
      EncodeFixed32(f + 60, crc32c::Value(keys + count * 16, positions));
    }
  }
  EncodeFixed32(f + 72, crc32c::Value(f, 72));
}

// index-rmi.bin: the trailing CRC over everything before it.
inline void FixTrailerCrc(std::string* file) {
  if (file->size() < 4) return;
  const size_t body = file->size() - 4;
  EncodeFixed32(file->data() + body, crc32c::Value(file->data(), body));
}

}  // namespace kyrodb::fuzz
