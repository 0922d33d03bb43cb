// fuzz_wal_record: wal::DecodePayload on arbitrary bytes.
//
// Input: one record payload (type | offset | [idempotency key] | body), the
// bytes after a record's length and crc (engine/wal_format.h).
//
// Invariants:
//  - DecodePayload either fails with Corruption or succeeds;
//  - every decoded value and idempotency key lies inside the payload;
//  - a decoded record re-encodes to exactly the same bytes (the encoder and
//    decoder agree on one format: no payload has two readings);
//  - batch item i has offset `offset + i`; the frame EncodeRecord puts around
//    it has the payload's length and a crc over length || payload.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/wal_format.h"
#include "fuzz_util.h"

namespace {

using kyrodb::WriteOp;
using kyrodb::wal::Entry;
using kyrodb::wal::RecordType;

bool Inside(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// A one-item batch cannot come out of EncodeRecord (it writes a put or a
// delete for one op), so its expected bytes are built here by the format.
std::string OneItemBatchPayload(uint8_t type_byte, uint64_t offset, std::string_view idem, const Entry& e) {
  std::string p;
  p.push_back(static_cast<char>(type_byte));
  kyrodb::PutFixed64(&p, offset);
  if (!idem.empty()) {
    p.push_back(static_cast<char>(idem.size()));
    p.append(idem);
  }
  kyrodb::PutFixed32(&p, 1);
  p.push_back(static_cast<char>(e.type));
  kyrodb::PutFixed64(&p, e.key);
  kyrodb::PutFixed32(&p, static_cast<uint32_t>(e.value.size()));
  p.append(e.value);
  return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  std::vector<Entry> entries;
  kyrodb::Status s = kyrodb::wal::DecodePayload(payload, &entries);
  if (!s.ok()) {
    FUZZ_CHECK(s.IsCorruption(), "status %s", s.ToString().c_str());
    return 0;
  }
  FUZZ_CHECK(payload.size() >= kyrodb::wal::kMinPayloadSize, "accepted a %zu-byte payload", payload.size());

  const auto type_byte = static_cast<uint8_t>(payload[0]);
  const auto type = static_cast<RecordType>(type_byte & ~kyrodb::wal::kHasIdempotencyKey);
  const uint64_t offset = kyrodb::DecodeFixed64(payload.data() + 1);
  std::string_view idem;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    FUZZ_CHECK(Inside(e.value, payload), "entry %zu value outside the payload", i);
    FUZZ_CHECK(Inside(e.idempotency_key, payload), "entry %zu key outside the payload", i);
    (void)kyrodb::fuzz::Touch(e.value);
    if (e.kind == Entry::Kind::kWrite) {
      FUZZ_CHECK(e.type == WriteOp::Type::kPut || e.type == WriteOp::Type::kDelete, "entry %zu bad type", i);
      FUZZ_CHECK(e.type == WriteOp::Type::kPut || e.value.empty(), "delete %zu carries a value", i);
      FUZZ_CHECK(e.offset == offset + i, "entry %zu offset %llu, record offset %llu", i,
                 static_cast<unsigned long long>(e.offset), static_cast<unsigned long long>(offset));
      if (i == 0) {
        idem = e.idempotency_key;
      } else {
        FUZZ_CHECK(e.idempotency_key.empty(), "idempotency key on entry %zu, not the first", i);
      }
    }
  }

  std::string framed;
  if (type == RecordType::kIdempotencyCarry) {
    FUZZ_CHECK((type_byte & kyrodb::wal::kHasIdempotencyKey) == 0, "carry record with a key flag");
    std::vector<std::pair<std::string, uint64_t>> keys;
    for (const Entry& e : entries) {
      FUZZ_CHECK(e.kind == Entry::Kind::kIdempotencyCarry, "write entry inside a carry record");
      FUZZ_CHECK(!e.idempotency_key.empty() && e.idempotency_key.size() <= kyrodb::wal::kMaxIdempotencyKeyBytes,
                 "carried key of %zu bytes", e.idempotency_key.size());
      keys.emplace_back(std::string(e.idempotency_key), e.offset);
    }
    kyrodb::wal::EncodeIdempotencyCarry(offset, keys, &framed);
  } else {
    FUZZ_CHECK(!entries.empty(), "write record with no entries");
    FUZZ_CHECK(((type_byte & kyrodb::wal::kHasIdempotencyKey) != 0) == !idem.empty(), "key flag and key disagree");
    if (type == RecordType::kBatch && entries.size() == 1) {
      std::string expected = OneItemBatchPayload(type_byte, offset, idem, entries[0]);
      FUZZ_CHECK(expected == payload, "one-item batch does not re-encode to its bytes");
      return 0;
    }
    FUZZ_CHECK((type == RecordType::kBatch) == (entries.size() > 1), "record type %u with %zu entries",
               static_cast<unsigned>(type), entries.size());
    std::vector<WriteOp> ops;
    for (const Entry& e : entries) ops.push_back({e.type, e.key, std::string(e.value)});
    kyrodb::wal::EncodeRecord(offset, ops, idem, &framed);
  }

  FUZZ_CHECK(framed.size() == kyrodb::wal::kRecordHeaderSize + payload.size(),
             "re-encoded record is %zu bytes, payload %zu", framed.size(), payload.size());
  FUZZ_CHECK(std::string_view(framed).substr(kyrodb::wal::kRecordHeaderSize) == payload,
             "re-encoded payload differs from the input");
  FUZZ_CHECK(kyrodb::DecodeFixed32(framed.data()) == payload.size(), "frame length field is wrong");
  uint32_t crc = kyrodb::crc32c::Value(framed.data(), 4);
  crc = kyrodb::crc32c::Extend(crc, payload.data(), payload.size());
  FUZZ_CHECK(kyrodb::DecodeFixed32(framed.data() + 4) == crc, "frame crc is wrong");
  return 0;
}
