// The write-ahead log's byte format (docs/FORMATS.md, "WAL segments").
//
// A segment file `wal.<seq>` is a 24-byte header followed by records:
//
//   header:  magic "KYROWAL1" (8) | seq u64 | crc32c(magic..seq) u32 | zero u32
//   record:  length u32 | crc u32 | payload[length]
//            crc = crc32c(length bytes || payload), so a damaged length is caught too
//   payload: type u8 | offset u64 | [idempotency key] | body
//            type bit 0x80: an idempotency key follows the offset:
//                     klen u8 (1..64) | key[klen]
//            kPut:    key u64 | value bytes (the rest of the payload)
//            kDelete: key u64
//            kBatch:  count u32 | count x (op u8 | key u64 | vlen u32 | value[vlen])
//            kIdempotencyCarry (offset = newest offset when written; no writes):
//                     count u32 | count x (klen u8 | key[klen] | offset u64)
//
// Integers are little-endian. A batch is one record so it is durable (or torn)
// as a whole: that is what makes POST /v1/batch/put all or nothing. Item i of a
// batch has offset `offset + i`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kyrodb/status.h"
#include "kyrodb/store.h"

namespace kyrodb::wal {

inline constexpr char kSegmentMagic[8] = {'K', 'Y', 'R', 'O', 'W', 'A', 'L', '1'};
inline constexpr size_t kSegmentHeaderSize = 24;
inline constexpr size_t kRecordHeaderSize = 8;       // length + crc
inline constexpr size_t kMinPayloadSize = 1 + 8;     // type + offset
// Upper bound on one record's payload: a reader never allocates or trusts more.
inline constexpr uint32_t kMaxPayloadSize = 256u << 20;
inline constexpr uint32_t kMaxBatchItems = 1u << 20;
inline constexpr size_t kMaxIdempotencyKeyBytes = 64;
inline constexpr uint8_t kHasIdempotencyKey = 0x80;

enum class RecordType : uint8_t { kPut = 1, kDelete = 2, kBatch = 3, kIdempotencyCarry = 4 };

// One logical write decoded from a record, or one carried idempotency key.
struct Entry {
  enum class Kind : uint8_t { kWrite, kIdempotencyCarry };
  Kind kind = Kind::kWrite;
  WriteOp::Type type = WriteOp::Type::kPut;
  uint64_t offset = 0;  // the write's offset; for a carry, the offset the key answered
  uint64_t key = 0;
  std::string_view value;            // points into the record buffer
  std::string_view idempotency_key;  // set on the first entry of a keyed record, and on carries
};

// Segment file name for sequence number `seq`: "wal.0000000000000042".
std::string SegmentName(uint64_t seq);
// Parses a segment file name; false if `name` is not one.
bool ParseSegmentName(std::string_view name, uint64_t* seq);

void EncodeSegmentHeader(uint64_t seq, std::string* dst);
// Checks magic and checksum of a header; returns its sequence number.
Status DecodeSegmentHeader(std::string_view bytes, uint64_t* seq);

// Appends one framed record holding `ops` (one op: kPut/kDelete; more: kBatch)
// with first offset `offset` and an optional idempotency key to `dst`.
void EncodeRecord(uint64_t offset, const std::vector<WriteOp>& ops, std::string_view idempotency_key,
                  std::string* dst);
void EncodePut(uint64_t offset, uint64_t key, std::string_view value, std::string* dst);
void EncodeDelete(uint64_t offset, uint64_t key, std::string* dst);
// A record that re-states idempotency keys (key -> offset) so that they
// outlive the segments of the writes they answered.
void EncodeIdempotencyCarry(uint64_t offset, const std::vector<std::pair<std::string, uint64_t>>& keys,
                            std::string* dst);

// Decodes a payload (after length and crc were checked) into entries.
// Fails with Corruption on any structural problem.
Status DecodePayload(std::string_view payload, std::vector<Entry>* out);

}  // namespace kyrodb::wal
