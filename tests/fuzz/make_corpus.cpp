// Writes the seed corpora in tests/fuzz/corpus/<target>/: a handful of valid
// and edge-case inputs per target, made with the real encoders so that they
// track the formats. Deterministic (the snapshot's creation time is pinned),
// so re-running it after a format change shows the change in `git diff`.
//
//   build/fuzz/tests/fuzz/fuzz_make_corpus tests/fuzz/corpus
//
// Each input's layout is described at the top of its harness.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/snapshot.h"
#include "engine/wal_format.h"
#include "fuzz_util.h"
#include "index/rmi.h"

namespace {

namespace fs = std::filesystem;
using kyrodb::WriteOp;

fs::path g_root;
int g_files = 0;

void Write(const std::string& target, const std::string& name, std::string_view bytes) {
  const fs::path dir = g_root / target;
  fs::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "make_corpus: cannot write %s\n", (dir / name).c_str());
    std::exit(1);
  }
  ++g_files;
}

std::string Flags(uint8_t flags, std::string_view rest) {
  std::string s(1, static_cast<char>(flags));
  s.append(rest);
  return s;
}

// --- WAL ------------------------------------------------------------------

std::string Record(uint64_t offset, const std::vector<WriteOp>& ops, std::string_view idem = {}) {
  std::string r;
  kyrodb::wal::EncodeRecord(offset, ops, idem, &r);
  return r;
}
std::string Payload(const std::string& record) { return record.substr(kyrodb::wal::kRecordHeaderSize); }
std::string Carry(uint64_t offset, const std::vector<std::pair<std::string, uint64_t>>& keys) {
  std::string r;
  kyrodb::wal::EncodeIdempotencyCarry(offset, keys, &r);
  return r;
}

void WalSeeds() {
  const std::string put = Record(1, {{WriteOp::Type::kPut, 42, "hello"}});
  const std::string put_empty = Record(2, {{WriteOp::Type::kPut, 0, ""}});
  const std::string put_idem = Record(3, {{WriteOp::Type::kPut, ~uint64_t{0}, "v"}}, "req-0001");
  const std::string del = Record(4, {{WriteOp::Type::kDelete, 42, ""}});
  const std::string batch = Record(5, {{WriteOp::Type::kPut, 1, "a"}, {WriteOp::Type::kDelete, 2, ""},
                                       {WriteOp::Type::kPut, 3, std::string("\0\xff\n", 3)}});
  const std::string batch_idem =
      Record(8, {{WriteOp::Type::kPut, 10, "x"}, {WriteOp::Type::kPut, 11, "y"}}, std::string(64, 'k'));
  const std::string carry = Carry(9, {{"req-0001", 3}, {std::string(64, 'k'), 8}});
  const std::string carry_empty = Carry(9, {});

  const std::string t = "fuzz_wal_record";
  Write(t, "put", Payload(put));
  Write(t, "put_empty_value", Payload(put_empty));
  Write(t, "put_idempotency_key", Payload(put_idem));
  Write(t, "delete", Payload(del));
  Write(t, "batch", Payload(batch));
  Write(t, "batch_idempotency_key", Payload(batch_idem));
  Write(t, "carry", Payload(carry));
  Write(t, "carry_empty", Payload(carry_empty));
  {  // A one-item batch: legal, though EncodeRecord never writes one.
    std::string p(1, static_cast<char>(kyrodb::wal::RecordType::kBatch));
    kyrodb::PutFixed64(&p, 7);
    kyrodb::PutFixed32(&p, 1);
    p.push_back(static_cast<char>(WriteOp::Type::kPut));
    kyrodb::PutFixed64(&p, 5);
    kyrodb::PutFixed32(&p, 2);
    p += "zz";
    Write(t, "batch_one_item", p);
  }
  Write(t, "unknown_type", std::string("\x09\x01\0\0\0\0\0\0\0", 9));
  Write(t, "truncated", Payload(put).substr(0, 6));

  const std::string s = "fuzz_wal_segment";
  std::string header;
  kyrodb::wal::EncodeSegmentHeader(1, &header);
  const std::string good = header + put + put_idem + del + batch + carry + batch_idem;
  Write(s, "header_only", Flags(0, header));
  Write(s, "records", Flags(0, good));
  Write(s, "torn_tail", Flags(0, good + put.substr(0, put.size() / 2)));
  Write(s, "garbage_tail", Flags(0, good + std::string(13, '\xee')));
  Write(s, "torn_header", Flags(0, header.substr(0, 10)));
  {  // A damaged record followed by a valid one: corruption, not a torn tail.
    std::string bad = header + put + del + batch;
    bad[header.size() + put.size() + kyrodb::wal::kRecordHeaderSize + 3] ^= 0x40;
    Write(s, "mid_log_corruption", Flags(0, bad));
  }
  {  // A torn last record whose value (client bytes) holds a well-formed
     // record with a higher offset. ReadSegment currently reports this as
     // corruption in the middle of the log rather than a torn tail, so a
     // crash while writing such a value stops recovery.
    std::string fake;
    kyrodb::wal::EncodePut(1000, 666, "fake", &fake);
    const std::string r2 = Record(2, {{WriteOp::Type::kPut, 8, "AAAA" + fake + std::string(64, 'B')}});
    Write(s, "torn_record_embedding_a_record", Flags(0, header + put + r2.substr(0, r2.size() - 32)));
  }
  {  // Checksums zeroed: flags bit 0 recomputes them.
    std::string zeroed = good;
    for (size_t i = 16; i < 20; ++i) zeroed[i] = 0;
    Write(s, "records_fixup", Flags(1, zeroed));
  }
}

// --- Snapshot --------------------------------------------------------------

struct Kv {
  uint64_t key;
  uint64_t offset;
  std::string value;
};

std::string SnapshotFile(const std::vector<Kv>& entries, uint64_t last_offset,
                         kyrodb::SnapshotFormat format = kyrodb::SnapshotFormat::kV2) {
  kyrodb::fuzz::MemFileSystem mem;
  kyrodb::SnapshotWriter w(&mem, "/db", format);
  kyrodb::Status st = w.Begin();
  for (const Kv& e : entries) {
    if (st.ok()) st = w.Add(e.key, e.offset, e.value);
  }
  uint64_t bytes = 0;
  if (st.ok()) st = w.Finish(last_offset, &bytes);
  if (!st.ok()) {
    std::fprintf(stderr, "make_corpus: snapshot: %s\n", st.ToString().c_str());
    std::exit(1);
  }
  std::string file = *mem.Get(kyrodb::SnapshotWriter::FinalPath("/db"));
  // Pin created_unix_ms so the corpus is reproducible, then re-seal the footer.
  kyrodb::EncodeFixed64(file.data() + file.size() - kyrodb::kSnapshotFooterSize + 40, 1700000000000);
  kyrodb::fuzz::FixSnapshotCrcs(&file, kyrodb::kSnapshotFooterSize);
  return file;
}

void SnapshotSeeds() {
  const std::string t = "fuzz_snapshot";
  Write(t, "empty", Flags(0, SnapshotFile({}, 0)));
  const std::string small = SnapshotFile({{1, 1, "a"}, {2, 3, "bc"}, {10, 2, "def"}}, 3);
  Write(t, "three_entries", Flags(0, small));
  Write(t, "empty_values", Flags(0, SnapshotFile({{5, 1, ""}, {6, 2, ""}}, 2)));
  Write(t, "extreme_keys",
        Flags(0, SnapshotFile({{0, 1, std::string("\0\1\2", 3)}, {~uint64_t{0}, ~uint64_t{0}, "max"}}, ~uint64_t{0})));
  Write(t, "aligned_values", Flags(0, SnapshotFile({{7, 1, "12345678"}, {8, 1, "abcdefgh"}}, 1)));
  {  // Three blocks of 16 positions; flags bit 1 rewrites it as version 1.
    std::vector<Kv> many;
    for (uint64_t i = 0; i < 40; ++i) many.push_back({i * i * 1000 + 3, i + 1, std::string(i % 11, 'v')});
    Write(t, "forty_entries", Flags(0, SnapshotFile(many, 40)));
    Write(t, "forty_entries_rewrite_v1", Flags(2, SnapshotFile(many, 40)));
    {  // One v2 block rule broken each, checksums left for flags bit 0 to recompute.
      const std::string good = SnapshotFile(many, 40);
      const uint64_t values = kyrodb::DecodeFixed64(good.data() + good.size() - kyrodb::kSnapshotFooterSize + 32);
      const size_t bases = values + 16 * 40;  // 3 bases, then 41 deltas
      const size_t deltas = bases + 8 * 3;
      std::string bad = good;
      kyrodb::EncodeFixed32(bad.data() + deltas + 4 * 16, 1);
      Write(t, "forty_entries_block_delta_fixup", Flags(1, bad));
      bad = good;
      kyrodb::EncodeFixed64(bad.data() + bases + 8 * 2, values + 8);
      Write(t, "forty_entries_base_past_fixup", Flags(1, bad));
      bad = good;
      kyrodb::EncodeFixed32(bad.data() + deltas + 4 * 20, kyrodb::DecodeFixed32(bad.data() + deltas + 4 * 19) - 1);
      Write(t, "forty_entries_decreasing_fixup", Flags(1, bad));
    }
    // Version 1, still read: u64 positions.
    Write(t, "forty_entries_v1", Flags(0, SnapshotFile(many, 40, kyrodb::SnapshotFormat::kV1)));
    many.resize(16);  // position 16 starts the second block
    Write(t, "sixteen_entries", Flags(0, SnapshotFile(many, 16)));
  }
  Write(t, "three_entries_v1", Flags(0, SnapshotFile({{1, 1, "a"}, {2, 3, "bc"}, {10, 2, "def"}}, 3,
                                                     kyrodb::SnapshotFormat::kV1)));
  {  // Checksums zeroed: flags bit 0 recomputes them.
    std::string zeroed = small;
    for (size_t i = 48; i < 64; ++i) zeroed[zeroed.size() - kyrodb::kSnapshotFooterSize + i] = 0;
    Write(t, "three_entries_fixup", Flags(1, zeroed));
  }
  Write(t, "footer_only_garbage", Flags(0, small.substr(small.size() - kyrodb::kSnapshotFooterSize)));
  Write(t, "short", Flags(0, "KYROSNP1"));
}

// --- Index file ------------------------------------------------------------

std::string IndexSpec(uint8_t mode, uint8_t dist, uint16_t n, uint64_t seed) {
  std::string s;
  s.push_back(static_cast<char>(mode));
  s.push_back(static_cast<char>(dist));
  s.push_back(static_cast<char>(n & 0xff));
  s.push_back(static_cast<char>(n >> 8));
  kyrodb::PutFixed64(&s, seed);
  return s;
}

void IndexSeeds() {
  const std::string t = "fuzz_index_file";
  const char* dist_names[] = {"uniform", "sequential", "huge_gaps", "clusters", "heavy_tail", "extremes"};
  for (uint8_t dist = 0; dist < 6; ++dist) {
    const uint16_t n = dist == 5 ? 12 : 200;
    const uint64_t seed = 1000 + dist;
    const std::vector<uint64_t> keys = kyrodb::fuzz::MakeKeys(dist, n, seed);
    kyrodb::index::RmiOptions opts;
    opts.keys_per_leaf = 32;
    std::unique_ptr<kyrodb::index::Rmi> rmi = kyrodb::index::Rmi::Build(keys, opts);
    if (!rmi) {
      std::fprintf(stderr, "make_corpus: Build failed\n");
      std::exit(1);
    }
    // Raw mode: the serialized file as the loader reads it; mode 2 also
    // recomputes the crc after the fuzzer's mutations.
    Write(t, std::string("raw_") + dist_names[dist], IndexSpec(dist % 2 == 0 ? 0 : 2, dist, n, seed) + rmi->Serialize(seed));
    // Built-then-mutated mode: options, then (pos, xor) mutations.
    std::string built = IndexSpec(1, dist, n, seed);
    built += std::string("\x10\x20\x00\x00", 4);  // router_bits 16, 33 keys/leaf, leaves derived
    Write(t, std::string("built_") + dist_names[dist], built);
    built += std::string("\x60\x00\x01", 3);  // flip one bit at byte 96 (router)
    Write(t, std::string("built_mutated_") + dist_names[dist], built);
  }
  {
    const std::vector<uint64_t> none;
    std::unique_ptr<kyrodb::index::Rmi> rmi = kyrodb::index::Rmi::Build(none);
    Write(t, "raw_empty", IndexSpec(0, 0, 0, 7) + rmi->Serialize(7));
  }
  Write(t, "built_one_leaf_many_keys", IndexSpec(1, 0, 1000, 9) + std::string("\x18\xff\x03\x01", 4));
  Write(t, "raw_short", IndexSpec(2, 1, 3, 1) + "KYRORMI");
}

// --- HTTP ------------------------------------------------------------------

void HttpSeeds() {
  const std::string k = "fuzz_http_key";
  const std::pair<const char*, std::string> keys[] = {
      {"zero", "0"},           {"max", "18446744073709551615"}, {"max_plus_one", "18446744073709551616"},
      {"leading_zeros", "007"}, {"negative", "-1"},              {"plus", "+1"},
      {"fraction", "1.5"},      {"exponent", "1e3"},            {"empty", ""},
      {"space", " 1"},          {"letters", "abc"},             {"huge", "99999999999999999999999"},
      {"hex", "0x10"},          {"nul", std::string("1\0", 2)},
  };
  for (const auto& [name, text] : keys) Write(k, name, text);

  const std::string j = "fuzz_http_json";
  auto body = [](uint8_t selector, uint8_t limits, std::string_view b) {
    std::string s;
    s.push_back(static_cast<char>(selector));
    s.push_back(static_cast<char>(limits));
    s.append(b);
    return s;
  };
  Write(j, "put", body(0, 0xC0, R"({"key": 1, "value": "hello"})"));
  Write(j, "put_string_key", body(0, 0xC0, R"({"value": "", "key": "18446744073709551615"})"));
  Write(j, "put_fraction_key", body(0, 0xC0, R"({"key": 1.5, "value": "x"})"));
  Write(j, "put_negative_key", body(0, 0xC0, R"({"key": -1, "value": "x"})"));
  Write(j, "put_duplicate_member", body(0, 0xC0, R"({"key": 1, "key": 2, "value": "x"})"));
  Write(j, "put_value_too_large", body(0, 0x02, R"({"key": 3, "value": "abcdef"})"));
  Write(j, "put_unicode", body(0, 0xC0, R"({"key": 4, "value": "\u00e9\ud83d\ude00\n"})"));
  Write(j, "batch_put", body(1, 0xC0, R"({"items": [{"key": 1, "value": "a"}, {"key": "2", "value": "b"}]})"));
  Write(j, "batch_put_empty", body(1, 0xC0, R"({"items": []})"));
  Write(j, "batch_put_too_many", body(1, 0x01, R"({"items": [{"key": 1, "value": "a"}, {"key": 2, "value": "b"}]})"));
  Write(j, "batch_get", body(2, 0xC0, R"({"keys": [1, "2", 18446744073709551615]})"));
  Write(j, "batch_get_bad", body(2, 0xC0, R"({"keys": [1, null, 2e5]})"));
  Write(j, "raw_nested", body(3, 0x05, R"({"a": {"b": [1, 2, {"c": null}]}, "d": [true, false]})"));
  Write(j, "raw_deep", body(3, 0x03, std::string(40, '[') + std::string(40, ']')));
  Write(j, "raw_truncated", body(3, 0x20, R"({"key": [1, 2)"));
  Write(j, "raw_trailing", body(3, 0x20, R"({} {})"));

  const std::string u = "fuzz_http_url";
  // Method index into fuzz_http_url.cpp's kVerbs: 0 GET 1 HEAD 2 POST 3 PUT 4 DELETE 5 OPTIONS.
  struct Target {
    const char* name;
    char method;
    const char* target;
  };
  const Target targets[] = {
      {"get_kv", 0, "/v1/kv/42"},
      {"put_kv_escaped", 3, "/v1/kv/%34%32"},
      {"delete_kv", 4, "/v1/kv/18446744073709551615"},
      {"head_get_fast", 1, "/v1/get_fast/7"},
      {"scan", 0, "/v1/scan?start=1&end=100&limit=10"},
      {"lookup", 0, "/v1/lookup?key=5"},
      {"post_put", 2, "/v1/put"},
      {"post_batch_get", 2, "/v1/batch/get"},
      {"absolute_form", 0, "http://localhost:8080/v1/kv/1?x=y"},
      {"absolute_no_path", 0, "https://host"},
      {"repeated_param", 0, "/v1/scan?start=1&start=2"},
      {"bad_escape", 0, "/v1/scan?start=%zz"},
      {"empty_parts", 0, "/v1/scan?&&a=&=b&"},
      {"kv_extra_segment", 0, "/v1/kv/1/2"},
      {"wrong_method", 2, "/health"},
      {"options", 5, "/metrics"},
  };
  for (const Target& t : targets) Write(u, t.name, std::string(1, t.method) + t.target);

  // fuzz_http_request: flags byte (see the harness) + the raw request.
  const std::string r = "fuzz_http_request";
  auto request = [](std::string_view line, std::string_view headers, std::string_view body) {
    std::string s(line);
    s += "\r\nHost: localhost\r\n";
    s += headers;
    if (!body.empty()) s += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    s += "\r\n";
    s += body;
    return s;
  };
  const char* json_type = "Content-Type: application/json\r\n";
  Write(r, "get_fast", Flags(0x00, request("GET /v1/get_fast/7 HTTP/1.1", "", "")));
  Write(r, "head_kv_http10", Flags(0x20, request("HEAD /v1/kv/7 HTTP/1.0", "", "")));
  Write(r, "put", Flags(0x00, request("POST /v1/put HTTP/1.1", json_type, R"({"key":7,"value":"seven"})")));
  Write(r, "put_idempotent",
        Flags(0x00, request("POST /v1/put HTTP/1.1", std::string(json_type) + "Idempotency-Key: abc-1\r\n",
                            R"({"key":1,"value":"x"})")));
  Write(r, "put_failing", Flags(0x08, request("POST /v1/put HTTP/1.1", json_type, R"({"key":2,"value":"y"})")));
  Write(r, "put_kv_raw", Flags(0x00, request("PUT /v1/kv/9 HTTP/1.1", "Content-Type: application/octet-stream\r\n",
                                             "raw bytes")));
  Write(r, "put_kv_read_only", Flags(0x04, request("PUT /v1/kv/9 HTTP/1.1", "", "v")));
  Write(r, "delete_kv", Flags(0x00, request("DELETE /v1/kv/18446744073709551615 HTTP/1.1", "", "")));
  Write(r, "get_kv_etag", Flags(0x00, request("GET /v1/kv/3 HTTP/1.1", "If-None-Match: \"12\"\r\n", "")));
  Write(r, "batch_put", Flags(0x10, request("POST /v1/batch/put HTTP/1.1", json_type,
                                            R"({"items":[{"key":1,"value":"a"},{"key":2,"value":"b"}]})")));
  Write(r, "batch_get", Flags(0x00, request("POST /v1/batch/get HTTP/1.1", json_type, R"({"keys":[1,2,3]})")));
  Write(r, "scan", Flags(0x10, request("GET /v1/scan?start=0&end=100&limit=3 HTTP/1.1", "", "")));
  Write(r, "lookup", Flags(0x00, request("GET /v1/lookup?key=5 HTTP/1.1", "", "")));
  Write(r, "replay", Flags(0x00, request("GET /v1/replay?from=1&limit=10 HTTP/1.1", "", "")));
  Write(r, "subscribe", Flags(0x00, request("GET /v1/subscribe?from=1 HTTP/1.1", "", "")));
  Write(r, "offset_admin_auth",
        Flags(0x01, request("GET /v1/offset HTTP/1.1", "Authorization: Bearer admin-token\r\n", "")));
  Write(r, "stats_wrong_token",
        Flags(0x01, request("GET /v1/stats HTTP/1.1", "Authorization: Bearer data-token\r\n", "")));
  Write(r, "snapshot", Flags(0x00, request("POST /v1/snapshot HTTP/1.1", "", "")));
  Write(r, "rmi_build_starting", Flags(0x02, request("POST /v1/rmi/build HTTP/1.1", "", "")));
  Write(r, "health", Flags(0x00, request("GET /health HTTP/1.1", "", "")));
  Write(r, "ready_starting", Flags(0x02, request("GET /ready HTTP/1.1", "", "")));
  Write(r, "metrics", Flags(0x00, request("GET /metrics HTTP/1.1", "", "")));
  Write(r, "build_info", Flags(0x00, request("GET /build_info HTTP/1.1", "", "")));
  Write(r, "method_not_allowed", Flags(0x00, request("PATCH /v1/put HTTP/1.1", "", "")));
  Write(r, "chunked_put", Flags(0x00, "POST /v1/put HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                      "Transfer-Encoding: chunked\r\n\r\n"
                                      "a\r\n{\"key\":4,\"\r\nc\r\nvalue\":\"ok\"}\r\n0\r\n\r\n"));
  Write(r, "value_too_large", Flags(0x10, request("POST /v1/put HTTP/1.1", json_type,
                                                  R"({"key":1,"value":")" + std::string(40, 'v') + R"("})")));

  // fuzz_http_session: flags byte (see the harness) + a connection's bytes,
  // here mostly several pipelined requests.
  const std::string c = "fuzz_http_session";
  const std::string get = request("GET /v1/get_fast/3 HTTP/1.1", "", "");
  const std::string put = request("POST /v1/put HTTP/1.1", json_type, R"({"key":9,"value":"nine"})");
  const std::string put_kv = request("PUT /v1/kv/9 HTTP/1.1", "", "raw");
  Write(c, "one_get", Flags(0x00, get));
  Write(c, "pipelined_reads", Flags(0x10, get + request("HEAD /v1/kv/2 HTTP/1.1", "", "") + get));
  Write(c, "write_then_read", Flags(0x20, put + request("GET /v1/kv/9 HTTP/1.1", "", "")));
  Write(c, "writes_share_a_group", Flags(0x30, put + put_kv + put + get));
  Write(c, "failing_write_then_read", Flags(0x04, put + get));
  const std::string close_health = request("GET /health HTTP/1.1", "Connection: close\r\n", "");
  Write(c, "close_in_the_middle", Flags(0x00, get + close_health + get));
  Write(c, "http10", Flags(0x40, "GET /v1/kv/1 HTTP/1.0\r\n\r\n"));
  Write(c, "http10_keep_alive", Flags(0x00, "GET /v1/kv/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + get));
  Write(c, "expect_continue",
        Flags(0x10, request("PUT /v1/kv/4 HTTP/1.1", "Expect: 100-continue\r\n", "body after the continue")));
  Write(c, "malformed_after_good", Flags(0x00, get + "BROKEN\r\n\r\n" + get));
  const std::string padded = request("GET /v1/kv/1 HTTP/1.1", "X-Pad: " + std::string(600, 'p') + "\r\n", "");
  Write(c, "header_too_large", Flags(0x08, get + padded));
  Write(c, "body_cut_short", Flags(0x40, "POST /v1/put HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{\"key\""));
  Write(c, "subscribe_last", Flags(0x00, get + request("GET /v1/subscribe HTTP/1.1", "", "") + get));
  const char* data_token = "Authorization: Bearer data-token\r\n";
  Write(c, "auth_mixed", Flags(0x01, request("GET /v1/kv/1 HTTP/1.1", data_token, "") +
                                         request("GET /v1/stats HTTP/1.1", data_token, "")));
  Write(c, "deep_pipeline", Flags(0x08, get + get + get + get + put + get + get));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR   (e.g. tests/fuzz/corpus)\n", argv[0]);
    return 2;
  }
  g_root = argv[1];
  WalSeeds();
  SnapshotSeeds();
  IndexSeeds();
  HttpSeeds();
  std::printf("make_corpus: wrote %d files under %s\n", g_files, g_root.c_str());
  return 0;
}
