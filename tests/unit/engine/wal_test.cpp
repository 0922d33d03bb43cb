#include <gtest/gtest.h>

#include "engine/wal_format.h"
#include "engine/wal_reader.h"
#include "engine/wal_writer.h"
#include "test_util.h"
#include "util/coding.h"

namespace kyrodb::wal {
namespace {

using test::ReadAll;
using test::ScratchDir;
using test::WriteAll;

struct Collected {
  std::vector<uint64_t> offsets;
  std::vector<uint64_t> keys;
  std::vector<std::string> values;
  std::vector<bool> deletes;
};

Status ReadInto(const std::string& path, Collected* c, SegmentReport* report) {
  return ReadSegment(
      PosixFileSystem(), path,
      [c](const Entry& e) {
        c->offsets.push_back(e.offset);
        c->keys.push_back(e.key);
        c->values.emplace_back(e.value);
        c->deletes.push_back(e.type == WriteOp::Type::kDelete);
        return Status::OK();
      },
      report);
}

// Writes segment 1 with `n` puts (offsets 1..n) and returns its path.
std::string WriteSegment(const ScratchDir& dir, int n, std::vector<size_t>* record_starts = nullptr) {
  std::unique_ptr<WalWriter> w;
  EXPECT_TRUE(WalWriter::Create(PosixFileSystem(), dir.path(), 1, &w).ok());
  for (int i = 1; i <= n; ++i) {
    if (record_starts != nullptr) record_starts->push_back(w->size());
    std::string rec;
    EncodePut(i, 1000 + i, "value-" + std::to_string(i), &rec);
    EXPECT_TRUE(w->Append(rec).ok());
  }
  EXPECT_TRUE(w->Close().ok());
  return w->path();
}

TEST(WalFormat, SegmentNamesRoundTrip) {
  uint64_t seq = 0;
  EXPECT_EQ(SegmentName(42), "wal.0000000000000042");
  EXPECT_TRUE(ParseSegmentName("wal.0000000000000042", &seq));
  EXPECT_EQ(seq, 42u);
  EXPECT_FALSE(ParseSegmentName("wal.42", &seq));
  EXPECT_FALSE(ParseSegmentName("wal.00000000000000x2", &seq));
  EXPECT_FALSE(ParseSegmentName("snapshot.bin", &seq));
  EXPECT_FALSE(ParseSegmentName("wal.0000000000000042.tmp", &seq));
}

TEST(WalFormat, PutDeleteAndBatchRoundTrip) {
  ScratchDir dir;
  std::unique_ptr<WalWriter> w;
  ASSERT_TRUE(WalWriter::Create(PosixFileSystem(), dir.path(), 7, &w).ok());
  std::string buf;
  EncodePut(1, 0, "", &buf);
  EncodePut(2, ~uint64_t{0}, std::string("\0\xff binary", 9), &buf);
  EncodeDelete(3, 5, &buf);
  std::vector<WriteOp> batch = {{WriteOp::Type::kPut, 10, "a"}, {WriteOp::Type::kDelete, 11, ""},
                                {WriteOp::Type::kPut, 12, "ccc"}};
  EncodeRecord(4, batch, {}, &buf);
  ASSERT_TRUE(w->Append(buf).ok());
  ASSERT_TRUE(w->Close().ok());

  Collected c;
  SegmentReport report;
  ASSERT_TRUE(ReadInto(w->path(), &c, &report).ok());
  EXPECT_EQ(report.seq, 7u);
  EXPECT_EQ(report.records, 4u);
  EXPECT_FALSE(report.tail_torn);
  EXPECT_EQ(report.valid_bytes, report.file_bytes);
  EXPECT_EQ(c.offsets, (std::vector<uint64_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(c.keys, (std::vector<uint64_t>{0, ~uint64_t{0}, 5, 10, 11, 12}));
  EXPECT_EQ(c.values[1], std::string("\0\xff binary", 9));
  EXPECT_EQ(c.deletes, (std::vector<bool>{false, false, true, false, true, false}));
  EXPECT_EQ(c.values[5], "ccc");
}

TEST(WalReader, TornTailAtEveryLengthIsReportedNotFatal) {
  ScratchDir dir;
  std::vector<size_t> starts;
  const std::string path = WriteSegment(dir, 5, &starts);
  const std::string full = ReadAll(path);
  // Cut the file at every byte inside the last record.
  for (size_t cut = starts.back(); cut < full.size(); ++cut) {
    WriteAll(path, full.substr(0, cut));
    Collected c;
    SegmentReport report;
    ASSERT_TRUE(ReadInto(path, &c, &report).ok()) << "cut at " << cut;
    EXPECT_EQ(c.offsets.size(), 4u) << "cut at " << cut;
    EXPECT_EQ(report.valid_bytes, starts.back());
    EXPECT_EQ(report.tail_torn, cut != starts.back());
  }
}

TEST(WalReader, GarbageAtTheTailIsTornZerosAreTheCleanEnd) {
  ScratchDir dir;
  const std::string path = WriteSegment(dir, 3);
  const std::string full = ReadAll(path);
  for (const std::string& tail : {std::string(4096, '\0'), std::string(100, '\xab'), std::string(3, '\0')}) {
    WriteAll(path, full + tail);
    Collected c;
    SegmentReport report;
    ASSERT_TRUE(ReadInto(path, &c, &report).ok());
    EXPECT_EQ(c.offsets.size(), 3u);
    // Zeros are what the writer keeps ahead of its last record; anything
    // else after the last record is a torn write.
    EXPECT_EQ(report.tail_torn, tail[0] != '\0');
    EXPECT_EQ(report.zero_tail, tail[0] == '\0');
    EXPECT_EQ(report.valid_bytes, full.size());
  }
}

TEST(WalWriter, KeepsZerosAheadWhileOpenAndCloseCutsThem) {
  ScratchDir dir;
  std::unique_ptr<WalWriter> w;
  ASSERT_TRUE(WalWriter::Create(PosixFileSystem(), dir.path(), 1, &w).ok());
  std::string recs;
  for (uint64_t i = 1; i <= 3; ++i) EncodePut(i, i, "v" + std::to_string(i), &recs);
  ASSERT_TRUE(w->Append(recs).ok());
  ASSERT_TRUE(w->Sync(false).ok());
  // What a crash now leaves: the records, then zeros up to the file's end.
  const std::string open_file = ReadAll(w->path());
  ASSERT_GE(open_file.size(), w->size() + WalWriter::kZeroAheadRefill);
  EXPECT_EQ(open_file.find_first_not_of('\0', w->size()), std::string::npos);
  Collected c;
  SegmentReport report;
  ASSERT_TRUE(ReadInto(w->path(), &c, &report).ok());
  EXPECT_TRUE(report.zero_tail);
  EXPECT_FALSE(report.tail_torn);
  EXPECT_EQ(report.valid_bytes, w->size());
  EXPECT_EQ(c.offsets, (std::vector<uint64_t>{1, 2, 3}));
  // The next records overwrite the zeros in place.
  std::string more;
  EncodePut(4, 4, "v4", &more);
  ASSERT_TRUE(w->Append(more).ok());
  ASSERT_TRUE(w->Sync(false).ok());
  c = Collected{};
  ASSERT_TRUE(ReadInto(w->path(), &c, &report).ok());
  EXPECT_EQ(c.offsets, (std::vector<uint64_t>{1, 2, 3, 4}));
  EXPECT_TRUE(report.zero_tail);
  ASSERT_TRUE(w->Close().ok());
  EXPECT_EQ(ReadAll(w->path()).size(), w->size());
  c = Collected{};
  ASSERT_TRUE(ReadInto(w->path(), &c, &report).ok());
  EXPECT_FALSE(report.zero_tail);
  EXPECT_EQ(report.valid_bytes, report.file_bytes);
}

TEST(WalReader, RecordCutByTheZerosAheadIsTorn) {
  ScratchDir dir;
  std::vector<size_t> starts;
  const std::string path = WriteSegment(dir, 5, &starts);
  const std::string full = ReadAll(path);
  // A crash inside the last record's write: its first bytes, then zeros.
  for (size_t cut = starts.back() + 1; cut < full.size(); ++cut) {
    WriteAll(path, full.substr(0, cut) + std::string(4096, '\0'));
    Collected c;
    SegmentReport report;
    ASSERT_TRUE(ReadInto(path, &c, &report).ok()) << "cut at " << cut;
    EXPECT_EQ(c.offsets.size(), 4u) << "cut at " << cut;
    EXPECT_EQ(report.valid_bytes, starts.back()) << "cut at " << cut;
    EXPECT_TRUE(report.tail_torn || report.zero_tail) << "cut at " << cut;
  }
}

TEST(WalReader, DamageBeforeValidRecordsIsCorruptionWhateverTheZerosAfterThem) {
  ScratchDir dir;
  std::vector<size_t> starts;
  const std::string path = WriteSegment(dir, 5, &starts);
  std::string full = ReadAll(path);
  full[starts[1] + 10] = static_cast<char>(full[starts[1] + 10] ^ 0x10);
  // Records 3..5 are valid; after them zeros, or a last record cut by zeros:
  // either way the damage to record 2 is in the middle of the log, and
  // taking it for a torn tail would drop records 3..5.
  std::string cut_last = full.substr(0, starts.back() + 9) + std::string(4096, '\0');
  for (const std::string& bytes : {full + std::string(4096, '\0'), cut_last}) {
    WriteAll(path, bytes);
    Collected c;
    SegmentReport report;
    Status s = ReadInto(path, &c, &report);
    ASSERT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_NE(s.message().find("byte " + std::to_string(starts[1])), std::string::npos) << s.message();
  }
}

TEST(WalReader, CorruptionBeforeValidRecordsNamesFileAndOffset) {
  ScratchDir dir;
  std::vector<size_t> starts;
  const std::string path = WriteSegment(dir, 5, &starts);
  const std::string full = ReadAll(path);
  // Flip one bit inside every byte of record 2; record 3.. stay valid.
  for (size_t pos = starts[1]; pos < starts[2]; ++pos) {
    std::string bad = full;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x10);
    WriteAll(path, bad);
    Collected c;
    SegmentReport report;
    Status s = ReadInto(path, &c, &report);
    ASSERT_TRUE(s.IsCorruption()) << "flip at " << pos << ": " << s.ToString();
    EXPECT_NE(s.message().find(path), std::string::npos);
    EXPECT_NE(s.message().find("byte " + std::to_string(starts[1])), std::string::npos) << s.message();
  }
}

TEST(WalReader, TornRecordWhoseValueHoldsAWellFormedRecordIsStillTorn) {
  // A client may store bytes that form a valid record; a crash cutting that
  // write must not look like mid-log corruption (found by fuzz_wal_segment).
  ScratchDir dir;
  std::unique_ptr<WalWriter> w;
  ASSERT_TRUE(WalWriter::Create(PosixFileSystem(), dir.path(), 1, &w).ok());
  std::string fake;
  EncodePut(1000, 666, "fake", &fake);
  std::string recs;
  EncodePut(1, 7, "first", &recs);
  const size_t second = wal::kSegmentHeaderSize + recs.size();
  EncodePut(2, 8, "AAAA" + fake + std::string(64, 'B'), &recs);
  ASSERT_TRUE(w->Append(recs.substr(0, recs.size() - 32)).ok());
  ASSERT_TRUE(w->Close().ok());
  Collected c;
  SegmentReport report;
  Status s = ReadInto(w->path(), &c, &report);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(report.tail_torn);
  EXPECT_EQ(report.valid_bytes, second);
  EXPECT_EQ(c.offsets, (std::vector<uint64_t>{1}));
}

TEST(WalReader, DamagedHeader) {
  ScratchDir dir;
  const std::string path = WriteSegment(dir, 2);
  const std::string full = ReadAll(path);
  // A short header is a crash during creation: torn, not fatal.
  WriteAll(path, full.substr(0, 10));
  Collected c;
  SegmentReport report;
  ASSERT_TRUE(ReadInto(path, &c, &report).ok());
  EXPECT_TRUE(report.header_torn);
  // A damaged header in front of records is corruption.
  std::string bad = full;
  bad[3] = 'x';
  WriteAll(path, bad);
  EXPECT_TRUE(ReadInto(path, &c, &report).IsCorruption());
}

TEST(WalFormat, IdempotencyKeysAndCarryRecordsRoundTrip) {
  std::string buf;
  EncodeRecord(7, {{WriteOp::Type::kPut, 1, "v"}}, "retry-key-1", &buf);
  EncodeIdempotencyCarry(7, {{"a", 3}, {std::string(64, 'k'), 7}}, &buf);
  std::vector<Entry> out;
  std::string_view rest(buf);
  auto next = [&]() {
    const uint32_t len = DecodeFixed32(rest.data());
    std::string_view payload = rest.substr(kRecordHeaderSize, len);
    rest.remove_prefix(kRecordHeaderSize + len);
    return payload;
  };
  ASSERT_TRUE(DecodePayload(next(), &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].idempotency_key, "retry-key-1");
  EXPECT_EQ(out[0].value, "v");
  EXPECT_EQ(out[0].offset, 7u);
  ASSERT_TRUE(DecodePayload(next(), &out).ok());
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].kind, Entry::Kind::kIdempotencyCarry);
  EXPECT_EQ(out[0].idempotency_key, "a");
  EXPECT_EQ(out[0].offset, 3u);
  EXPECT_EQ(out[1].idempotency_key, std::string(64, 'k'));
  EXPECT_TRUE(rest.empty());
}

TEST(WalFormat, DecodeRejectsHostileBatches) {
  std::vector<Entry> out;
  std::string p;
  p.push_back(static_cast<char>(RecordType::kBatch));
  PutFixed64(&p, 1);
  PutFixed32(&p, 0xFFFFFFFFu);  // absurd count
  EXPECT_TRUE(DecodePayload(p, &out).IsCorruption());
  std::string q;
  q.push_back(static_cast<char>(RecordType::kBatch));
  PutFixed64(&q, 1);
  PutFixed32(&q, 1);
  q.push_back(1);
  PutFixed64(&q, 9);
  PutFixed32(&q, 1000);  // value length past the end
  EXPECT_TRUE(DecodePayload(q, &out).IsCorruption());
  std::string r(9, '\0');
  r[0] = 9;  // unknown type
  EXPECT_TRUE(DecodePayload(r, &out).IsCorruption());
}

}  // namespace
}  // namespace kyrodb::wal
