#include "engine/wal_format.h"

#include <charconv>
#include <cstdio>
#include <cstring>

#include "util/coding.h"
#include "util/crc32c.h"

namespace kyrodb::wal {
namespace {

constexpr std::string_view kPrefix = "wal.";
constexpr size_t kSeqDigits = 16;

// Frames `payload_start..end` of `dst` as a record: fills the 8 header bytes
// reserved at `header_pos`.
void FinishRecord(std::string* dst, size_t header_pos) {
  const size_t payload_len = dst->size() - header_pos - kRecordHeaderSize;
  char* header = dst->data() + header_pos;
  EncodeFixed32(header, static_cast<uint32_t>(payload_len));
  uint32_t crc = crc32c::Value(header, 4);
  crc = crc32c::Extend(crc, header + kRecordHeaderSize, payload_len);
  EncodeFixed32(header + 4, crc);
}

size_t BeginRecord(std::string* dst, RecordType type, uint64_t offset, std::string_view idempotency_key = {}) {
  size_t header_pos = dst->size();
  dst->append(kRecordHeaderSize, '\0');
  const auto t = static_cast<uint8_t>(static_cast<uint8_t>(type) | (idempotency_key.empty() ? 0 : kHasIdempotencyKey));
  dst->push_back(static_cast<char>(t));
  PutFixed64(dst, offset);
  if (!idempotency_key.empty()) {
    dst->push_back(static_cast<char>(idempotency_key.size()));
    dst->append(idempotency_key);
  }
  return header_pos;
}

}  // namespace

Status DecodeBody(RecordType type, uint64_t offset, std::string_view body, std::vector<Entry>* out);

std::string SegmentName(uint64_t seq) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "wal.%016llu", static_cast<unsigned long long>(seq));
  return buf;
}

bool ParseSegmentName(std::string_view name, uint64_t* seq) {
  if (name.size() != kPrefix.size() + kSeqDigits || name.substr(0, kPrefix.size()) != kPrefix) return false;
  std::string_view digits = name.substr(kPrefix.size());
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
  }
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), *seq);
  return ec == std::errc() && ptr == digits.data() + digits.size();
}

void EncodeSegmentHeader(uint64_t seq, std::string* dst) {
  size_t start = dst->size();
  dst->append(kSegmentMagic, sizeof kSegmentMagic);
  PutFixed64(dst, seq);
  PutFixed32(dst, crc32c::Value(dst->data() + start, 16));
  PutFixed32(dst, 0);
}

Status DecodeSegmentHeader(std::string_view bytes, uint64_t* seq) {
  if (bytes.size() < kSegmentHeaderSize) return Status::Corruption("segment header is truncated");
  if (std::memcmp(bytes.data(), kSegmentMagic, sizeof kSegmentMagic) != 0) {
    return Status::Corruption("segment header has a bad magic number");
  }
  if (DecodeFixed32(bytes.data() + 16) != crc32c::Value(bytes.data(), 16)) {
    return Status::Corruption("segment header checksum mismatch");
  }
  *seq = DecodeFixed64(bytes.data() + 8);
  return Status::OK();
}

void EncodePut(uint64_t offset, uint64_t key, std::string_view value, std::string* dst) {
  EncodeRecord(offset, {{WriteOp::Type::kPut, key, std::string(value)}}, {}, dst);
}

void EncodeDelete(uint64_t offset, uint64_t key, std::string* dst) {
  EncodeRecord(offset, {{WriteOp::Type::kDelete, key, {}}}, {}, dst);
}

void EncodeIdempotencyCarry(uint64_t offset, const std::vector<std::pair<std::string, uint64_t>>& keys,
                            std::string* dst) {
  size_t header_pos = BeginRecord(dst, RecordType::kIdempotencyCarry, offset);
  PutFixed32(dst, static_cast<uint32_t>(keys.size()));
  for (const auto& [key, answered] : keys) {
    dst->push_back(static_cast<char>(key.size()));
    dst->append(key);
    PutFixed64(dst, answered);
  }
  FinishRecord(dst, header_pos);
}

void EncodeRecord(uint64_t offset, const std::vector<WriteOp>& ops, std::string_view idempotency_key,
                  std::string* dst) {
  if (ops.size() == 1) {
    const WriteOp& op = ops.front();
    const RecordType type = op.type == WriteOp::Type::kPut ? RecordType::kPut : RecordType::kDelete;
    size_t header_pos = BeginRecord(dst, type, offset, idempotency_key);
    PutFixed64(dst, op.key);
    if (type == RecordType::kPut) dst->append(op.value);
    FinishRecord(dst, header_pos);
    return;
  }
  size_t header_pos = BeginRecord(dst, RecordType::kBatch, offset, idempotency_key);
  PutFixed32(dst, static_cast<uint32_t>(ops.size()));
  for (const WriteOp& op : ops) {
    dst->push_back(static_cast<char>(op.type));
    PutFixed64(dst, op.key);
    PutFixed32(dst, static_cast<uint32_t>(op.value.size()));
    dst->append(op.value);
  }
  FinishRecord(dst, header_pos);
}

Status DecodePayload(std::string_view payload, std::vector<Entry>* out) {
  out->clear();
  if (payload.size() < kMinPayloadSize) return Status::Corruption("record payload too short");
  const auto type_byte = static_cast<uint8_t>(payload[0]);
  const auto type = static_cast<RecordType>(type_byte & ~kHasIdempotencyKey);
  const uint64_t offset = DecodeFixed64(payload.data() + 1);
  std::string_view body = payload.substr(kMinPayloadSize);
  std::string_view idem;
  if ((type_byte & kHasIdempotencyKey) != 0) {
    if (type == RecordType::kIdempotencyCarry || body.empty()) return Status::Corruption("bad idempotency key flag");
    const auto klen = static_cast<uint8_t>(body[0]);
    if (klen == 0 || klen > kMaxIdempotencyKeyBytes || body.size() < 1u + klen) {
      return Status::Corruption("idempotency key has a bad length");
    }
    idem = body.substr(1, klen);
    body.remove_prefix(1u + klen);
  }
  Status s = DecodeBody(type, offset, body, out);
  if (s.ok() && !idem.empty()) out->front().idempotency_key = idem;
  return s;
}

Status DecodeBody(RecordType type, uint64_t offset, std::string_view body, std::vector<Entry>* out) {
  switch (type) {
    case RecordType::kPut: {
      if (body.size() < 8) return Status::Corruption("put record too short");
      out->push_back({Entry::Kind::kWrite, WriteOp::Type::kPut, offset, DecodeFixed64(body.data()), body.substr(8), {}});
      return Status::OK();
    }
    case RecordType::kDelete: {
      if (body.size() != 8) return Status::Corruption("delete record has the wrong size");
      out->push_back({Entry::Kind::kWrite, WriteOp::Type::kDelete, offset, DecodeFixed64(body.data()), {}, {}});
      return Status::OK();
    }
    case RecordType::kIdempotencyCarry: {
      if (body.size() < 4) return Status::Corruption("idempotency carry record too short");
      const uint32_t count = DecodeFixed32(body.data());
      body.remove_prefix(4);
      if (count > body.size() / 10) return Status::Corruption("idempotency carry has an impossible count");
      for (uint32_t i = 0; i < count; ++i) {
        if (body.empty()) return Status::Corruption("idempotency carry truncated");
        const auto klen = static_cast<uint8_t>(body[0]);
        if (klen == 0 || klen > kMaxIdempotencyKeyBytes || body.size() < 1u + klen + 8) {
          return Status::Corruption("idempotency carry item is malformed");
        }
        const uint64_t answered = DecodeFixed64(body.data() + 1 + klen);
        out->push_back({Entry::Kind::kIdempotencyCarry, WriteOp::Type::kPut, answered, 0, {}, body.substr(1, klen)});
        body.remove_prefix(1u + klen + 8);
      }
      if (!body.empty()) return Status::Corruption("idempotency carry has trailing bytes");
      return Status::OK();
    }
    case RecordType::kBatch: {
      if (body.size() < 4) return Status::Corruption("batch record too short");
      const uint32_t count = DecodeFixed32(body.data());
      body.remove_prefix(4);
      // Each item needs at least 13 bytes: this bounds `count` by the payload.
      if (count == 0 || count > kMaxBatchItems || count > body.size() / 13) {
        return Status::Corruption("batch record has an impossible item count");
      }
      out->reserve(count);
      for (uint32_t i = 0; i < count; ++i) {
        if (body.size() < 13) return Status::Corruption("batch item truncated");
        const auto op = static_cast<uint8_t>(body[0]);
        const uint64_t key = DecodeFixed64(body.data() + 1);
        const uint32_t vlen = DecodeFixed32(body.data() + 9);
        body.remove_prefix(13);
        if (vlen > body.size()) return Status::Corruption("batch item value truncated");
        if (op == static_cast<uint8_t>(WriteOp::Type::kPut)) {
          out->push_back({Entry::Kind::kWrite, WriteOp::Type::kPut, offset + i, key, body.substr(0, vlen), {}});
        } else if (op == static_cast<uint8_t>(WriteOp::Type::kDelete) && vlen == 0) {
          out->push_back({Entry::Kind::kWrite, WriteOp::Type::kDelete, offset + i, key, {}, {}});
        } else {
          return Status::Corruption("batch item has an unknown operation");
        }
        body.remove_prefix(vlen);
      }
      if (!body.empty()) return Status::Corruption("batch record has trailing bytes");
      return Status::OK();
    }
  }
  return Status::Corruption("unknown record type " + std::to_string(static_cast<int>(type)));
}

}  // namespace kyrodb::wal
