// kill -9 loop against the real binary (default fsync policy).
//
// Each cycle: start the server on the data directory of the previous cycles,
// check that every key holds its last acknowledged value (or the outcome of
// the one write that was in flight on it when the server died; a batch in
// flight must have landed whole or not at all), then let several writers
// hammer it with puts (JSON and raw), batch puts and deletes, reading some
// writes back at once, while admin calls (snapshot, index build, compaction)
// run alongside, and SIGKILL it. Each writer owns its keys and one keep-alive
// connection, so every key's history is sequential and at most one request
// per writer is ever unresolved.
//
// Where the kill lands, by cycle (cycle % 4):
//   0  random: 50..700 ms into the cycle (default settings, or the busy ones
//      below every other time);
//   1  snapshot: the moment snapshot.bin.tmp is created, closed after its
//      fsync, or renamed to snapshot.bin (before the directory fsync);
//   2  index: the moment index-rmi.bin.tmp is created or closed;
//   3  compaction: the moment the checkpoint unlinks its first or second
//      covered WAL segment.
// Aimed cycles run the server with tiny checkpoint thresholds (a checkpoint
// every few dozen writes, 4 KiB WAL segments) so that every phase comes
// round within milliseconds; an inotify watch on the data directory sends the
// SIGKILL (phase_kill.h). After every kill, `kyrodb-engine verify` must pass
// on the files as the kill left them; a leftover temp file, or a WAL segment
// the snapshot already covers, proves the kill cut that phase in the middle.
//
// Knobs: KYRO_CRASH_CYCLES (default 100), KYRO_CRASH_SEED (default: time),
// KYRO_CRASH_WRITERS (default 4).
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "phase_kill.h"
#include "support/api_assertions.h"
#include "support/server_process.h"
#include "support/temp_dir.h"

namespace kyrodb::test {
namespace {

using Clock = std::chrono::steady_clock;
using Value = std::optional<std::string>;  // nullopt: absent (never written or deleted)

constexpr int kKeysPerWriter = 48;
constexpr uint64_t kMaxKey = 18446744073709551615ull;

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  return std::strtoull(v, nullptr, 10);
}

std::string Show(const Value& v) {
  if (!v) return "<absent>";
  std::string head = v->substr(0, 40);
  for (char& c : head) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '.';
  }
  return "'" + head + (v->size() > 40 ? "...'" : "'") + " (" + std::to_string(v->size()) + " bytes)";
}

// The one unacknowledged request of a writer: one key, or several for a batch
// (all of which land together or not at all).
struct InFlight {
  std::map<uint64_t, Value> writes;  // what each key holds if the request landed
};

struct Writer {
  int id = 0;
  std::vector<uint64_t> keys;
  std::map<uint64_t, Value> state;  // acknowledged state of each key
  std::optional<InFlight> in_flight;
  uint64_t seq = 0;  // makes every value unique across cycles
  std::mt19937_64 rng;
  // Per-cycle results, read by the main thread after join.
  uint64_t acked_puts = 0;
  uint64_t acked_deletes = 0;
  uint64_t acked_batches = 0;
  uint64_t read_backs = 0;
  uint64_t max_offset = 0;
  std::vector<std::string> errors;
};

struct Totals {
  uint64_t cycles = 0;
  uint64_t acked_puts = 0;
  uint64_t acked_deletes = 0;
  uint64_t acked_batches = 0;
  uint64_t read_backs = 0;
  uint64_t in_flight_landed = 0;
  uint64_t in_flight_lost = 0;  // unacknowledged, did not land: allowed
  uint64_t admin_calls = 0;
  uint64_t keys_checked = 0;
  uint64_t losses = 0;
  std::array<uint64_t, 4> kills{};  // by Phase: where the kill was aimed and fired
  uint64_t missed = 0;              // aimed, but no event in time: killed at random
  uint64_t snapshot_tmp_left = 0;   // proof the kill cut the snapshot write
  uint64_t index_tmp_left = 0;      // ... the index-file write
  uint64_t covered_wal_left = 0;    // ... the WAL segment removal
  uint64_t verify_runs = 0;
};

bool FileExists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// The event that fires an aimed kill, picked at random among a phase's steps.
FileTrigger PickTrigger(Phase phase, std::mt19937_64& rng) {
  FileTrigger t;
  switch (phase) {
    case Phase::kSnapshot:
      switch (rng() % 3) {
        case 0: t = {IN_CREATE, "snapshot.bin.tmp"}; break;
        case 1: t = {IN_CLOSE_WRITE, "snapshot.bin.tmp"}; break;
        default: t = {IN_MOVED_TO, "snapshot.bin"}; break;
      }
      break;
    case Phase::kIndex:
      t = rng() % 2 ? FileTrigger{IN_CREATE, "index-rmi.bin.tmp"} : FileTrigger{IN_CLOSE_WRITE, "index-rmi.bin.tmp"};
      break;
    case Phase::kCompaction:
      t = {IN_DELETE, "wal.", /*prefix=*/true, /*skip=*/static_cast<int>(rng() % 2)};
      break;
    case Phase::kRandom:
      break;
  }
  return t;
}

std::string MakeValue(Writer& w, uint64_t key, bool binary) {
  std::string v = "w" + std::to_string(w.id) + "k" + std::to_string(key) + "s" + std::to_string(++w.seq) + "|";
  const size_t pad = std::uniform_int_distribution<size_t>(0, 1500)(w.rng);
  for (size_t i = 0; i < pad; ++i) {
    v.push_back(binary ? static_cast<char>(w.rng() & 0xff) : static_cast<char>('a' + w.rng() % 26));
  }
  return v;
}

// One writer's work until `stop` or until the server stops answering.
void RunWriter(Writer& w, const std::string& host, uint16_t port, const std::atomic<bool>& stop) {
  HttpClient client(host, port, std::chrono::seconds(5));
  std::uniform_int_distribution<size_t> pick_key(0, w.keys.size() - 1);
  std::uniform_int_distribution<int> pick_op(0, 99);
  for (int n = 0; n < 1000000 && !stop.load(std::memory_order_relaxed); ++n) {
    const uint64_t key = w.keys[pick_key(w.rng)];
    const int op = pick_op(w.rng);
    InFlight pending;
    HttpResponse r;
    if (op < 35) {
      const std::string value = MakeValue(w, key, /*binary=*/false);
      pending.writes[key] = value;
      w.in_flight = pending;
      r = client.PostJson("/v1/put", {{"key", key}, {"value", value}});
    } else if (op < 70) {
      const std::string value = MakeValue(w, key, /*binary=*/true);
      pending.writes[key] = value;
      w.in_flight = pending;
      r = client.Put("/v1/kv/" + std::to_string(key), value, {{"Content-Type", "application/octet-stream"}});
    } else if (op < 85) {
      // A batch of 2..5 distinct keys of this writer.
      nlohmann::json items = nlohmann::json::array();
      const size_t count = 2 + w.rng() % 4;
      for (size_t i = 0; i < count * 4 && pending.writes.size() < count; ++i) {
        const uint64_t k = w.keys[pick_key(w.rng)];
        if (pending.writes.count(k) != 0) continue;
        const std::string value = MakeValue(w, k, /*binary=*/false);
        pending.writes[k] = value;
        items.push_back({{"key", k}, {"value", value}});
      }
      w.in_flight = pending;
      r = client.PostJson("/v1/batch/put", {{"items", items}});
    } else {
      pending.writes[key] = std::nullopt;
      w.in_flight = pending;
      r = client.Delete("/v1/kv/" + std::to_string(key));
    }
    if (r.status == 0) return;  // server gone: the request stays in flight
    const bool is_delete = pending.writes.size() == 1 && !pending.writes.begin()->second;
    if (r.status == 404 && is_delete) {
      // Delete of an absent key: nothing written, and it must have been absent.
      if (w.state[key]) {
        w.errors.push_back("key " + std::to_string(key) + ": delete said absent, but it holds acknowledged " +
                           Show(w.state[key]));
      }
      w.in_flight.reset();
      continue;
    }
    uint64_t last_offset = 0;
    const bool batch = op >= 70 && op < 85;
    if (batch && IsJsonOk(r) && r.Json().contains("first_offset")) {
      const auto j = r.Json();
      last_offset = j.value("first_offset", uint64_t{0}) + j.value("count", uint64_t{1}) - 1;
    } else if (!IsWriteAck(r, &last_offset)) {
      // Not acknowledged, yet it might have landed: keep it in flight and stop.
      w.errors.push_back("unexpected answer to a write of key " + std::to_string(key) + ": " + r.Describe());
      return;
    }
    for (const auto& [k, v] : pending.writes) w.state[k] = v;
    w.in_flight.reset();
    if (batch) {
      ++w.acked_batches;
    } else {
      (is_delete ? w.acked_deletes : w.acked_puts)++;
    }
    w.max_offset = std::max(w.max_offset, last_offset);

    // Read-your-writes, now: an acknowledged write is visible at once.
    if (w.rng() % 8 == 0) {
      const uint64_t k = pending.writes.begin()->first;
      const auto g = client.Get("/v1/kv/" + std::to_string(k));
      if (g.status == 0) return;  // killed meanwhile: nothing in flight
      ++w.read_backs;
      const Value got = g.status == 200 ? Value(g.body) : std::nullopt;
      if ((g.status != 200 && g.status != 404) || got != w.state[k]) {
        w.errors.push_back("read-your-writes: key " + std::to_string(k) + " reads " + g.Describe() +
                           " right after acknowledging " + Show(w.state[k]));
      }
    }
  }
}

// Admin calls during the run, so that kills land in the middle of them.
void RunAdmin(const std::string& host, uint16_t port, const std::atomic<bool>& stop, uint64_t seed,
              std::atomic<uint64_t>& calls) {
  std::mt19937_64 rng(seed);
  HttpClient client(host, port, std::chrono::seconds(5));
  const char* routes[] = {"/v1/snapshot", "/v1/snapshot", "/v1/rmi/build", "/v1/compact"};
  for (int n = 0; n < 1000 && !stop.load(); ++n) {
    const auto pause = std::chrono::milliseconds(20 + rng() % 130);
    const auto until = Clock::now() + pause;
    while (Clock::now() < until && !stop.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (stop.load()) return;
    const auto r = client.Post(routes[rng() % 4], "");
    if (r.status == 0) return;
    ++calls;
  }
}

class CrashTest : public ::testing::Test {};

TEST_F(CrashTest, AcknowledgedWritesSurviveKill9) {
  const uint64_t cycles = EnvOr("KYRO_CRASH_CYCLES", 100);
  const uint64_t seed = EnvOr("KYRO_CRASH_SEED", static_cast<uint64_t>(Clock::now().time_since_epoch().count()));
  const int writer_count = static_cast<int>(std::max<uint64_t>(1, EnvOr("KYRO_CRASH_WRITERS", 4)));
  std::printf("crash_test: cycles=%llu writers=%d seed=%llu (KYRO_CRASH_SEED to repeat)\n",
              static_cast<unsigned long long>(cycles), writer_count, static_cast<unsigned long long>(seed));
  std::fflush(stdout);
  std::mt19937_64 rng(seed);

  // Two servers on one data directory, never running at once: default
  // settings, and "busy" ones under which a checkpoint (snapshot, index,
  // WAL segment removal) runs every few dozen writes.
  TempDir dir("kyrodb-crash-");
  ServerOptions options;
  options.data_dir = dir.Sub("data");
  options.env = {{"KYRODB_DISABLE_HTTP_LOG", "1"}};
  ServerOptions busy_options = options;
  // Both ways of completing a synced group, whatever this machine's CPU count
  // would pick: on its own thread (default server), on the WAL thread (busy).
  options.env.push_back({"KYRODB_WAL_PIPELINE", "on"});
  busy_options.env.push_back({"KYRODB_WAL_PIPELINE", "off"});
  busy_options.env.push_back({"KYRODB_REBUILD_DELTA_ENTRIES", "48"});
  busy_options.env.push_back({"KYRODB_COMPACT_WAL_BYTES", "32768"});
  busy_options.env.push_back({"KYRODB_WAL_SEGMENT_BYTES", "4096"});
  ServerProcess default_server(options);
  ServerProcess busy_server(busy_options);
  ServerProcess* server = &default_server;
  const std::string binary = EngineBinary();

  std::vector<Writer> writers(writer_count);
  for (int i = 0; i < writer_count; ++i) {
    Writer& w = writers[i];
    w.id = i;
    w.rng.seed(seed ^ (0x9e3779b97f4a7c15ull * (i + 1)));
    for (int k = 0; k < kKeysPerWriter; ++k) w.keys.push_back(1'000'000ull * (i + 1) + 17ull * k);
    if (i == 0) {
      w.keys.push_back(0);
      w.keys.push_back(kMaxKey);
    }
    for (uint64_t k : w.keys) w.state[k] = std::nullopt;
  }

  Totals totals;
  uint64_t max_acked_offset = 0;
  std::vector<std::string> losses;
  const auto started = Clock::now();

  // Reads every key back and compares it with what the writers know.
  auto verify = [&](uint64_t cycle) {
    auto client = server->NewClient(std::chrono::seconds(10));
    const std::string where = "cycle " + std::to_string(cycle) + " ";
    for (auto& w : writers) {
      std::map<uint64_t, Value> got;
      for (uint64_t key : w.keys) {
        const auto r = client->Get("/v1/kv/" + std::to_string(key));
        if (r.status == 200) {
          got[key] = r.body;
        } else if (IsJsonError(r, 404)) {
          got[key] = std::nullopt;
        } else {
          losses.push_back(where + "key " + std::to_string(key) + ": read failed: " + r.Describe());
          return;
        }
        ++totals.keys_checked;
      }
      // Keys untouched by the unresolved request hold their acknowledged value.
      for (uint64_t key : w.keys) {
        if (w.in_flight && w.in_flight->writes.count(key) != 0) continue;
        if (got[key] != w.state[key]) {
          losses.push_back(where + "key " + std::to_string(key) + ": got " + Show(got[key]) + ", acknowledged " +
                           Show(w.state[key]));
        }
      }
      // The unresolved request landed whole or not at all.
      if (w.in_flight) {
        bool all_old = true;
        bool all_new = true;
        std::string detail;
        for (const auto& [key, value] : w.in_flight->writes) {
          all_old = all_old && got[key] == w.state[key];
          all_new = all_new && got[key] == value;
          detail += " key " + std::to_string(key) + ": got " + Show(got[key]) + ", acknowledged " +
                    Show(w.state[key]) + ", in flight " + Show(value) + ";";
        }
        if (all_new && !all_old) {
          ++totals.in_flight_landed;
          for (const auto& [key, value] : w.in_flight->writes) w.state[key] = value;  // durable now
        } else if (all_old) {
          ++totals.in_flight_lost;
        } else {
          losses.push_back(where + "request in flight neither landed whole nor vanished:" + detail);
        }
        w.in_flight.reset();
      }
    }
    const auto r = client->Get("/v1/offset");
    if (!IsJsonOk(r) || r.Json().value("offset", uint64_t{0}) < max_acked_offset) {
      losses.push_back(where + "/v1/offset " + r.Describe() + " is below the largest acknowledged offset " +
                       std::to_string(max_acked_offset));
    }
  };

  for (uint64_t cycle = 0; cycle < cycles; ++cycle) {
    const auto phase = static_cast<Phase>(cycle % 4);
    server = (phase != Phase::kRandom || rng() % 2 == 0) ? &busy_server : &default_server;
    std::string error;
    ASSERT_TRUE(server->StartAndWaitReady(&error)) << "cycle " << cycle << ": " << error;
    verify(cycle);
    ASSERT_TRUE(losses.empty()) << "after cycle " << cycle << ", first loss: " << losses.front()
                                << " (" << losses.size() << " in all; seed " << seed << ")";

    std::atomic<bool> stop{false};
    std::atomic<uint64_t> admin_calls{0};
    std::vector<std::thread> threads;
    for (auto& w : writers) {
      w.acked_puts = w.acked_deletes = w.acked_batches = w.read_backs = w.max_offset = 0;
      threads.emplace_back(RunWriter, std::ref(w), server->host(), server->port(), std::cref(stop));
    }
    const bool with_admin = rng() % 3 != 0;
    if (with_admin) {
      threads.emplace_back(RunAdmin, server->host(), server->port(), std::cref(stop), rng(), std::ref(admin_calls));
    }
    Phase landed = Phase::kRandom;
    FileTrigger trigger;
    if (phase == Phase::kRandom) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 651));
    } else {
      // Let the writers run a little, then kill on the phase's next event.
      trigger = PickTrigger(phase, rng);
      std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 200));
      FileEventKiller killer(server->data_dir(), server->pid(), trigger);
      ASSERT_TRUE(killer.error().empty()) << killer.error();
      if (killer.Wait(std::chrono::milliseconds(2000))) {
        landed = phase;
      } else {
        ++totals.missed;
      }
    }
    server->Kill9();  // the aimed kill was sent already: this only reaps
    stop = true;
    for (auto& t : threads) t.join();
    ++totals.kills[static_cast<size_t>(landed)];

    // The files as the kill left them: consistent, and did it cut the phase?
    const std::string data = server->data_dir();
    const bool snapshot_tmp = FileExists(data + "/snapshot.bin.tmp");
    const bool index_tmp = FileExists(data + "/index-rmi.bin.tmp");
    const VerifyReport report = RunVerify(binary, data);
    ++totals.verify_runs;
    EXPECT_EQ(report.exit_status, 0) << "cycle " << cycle << ": kyrodb-engine verify after a kill ("
                                     << PhaseName(landed) << ", " << trigger.Describe() << ") failed:\n"
                                     << report.output;
    if (landed == Phase::kSnapshot && snapshot_tmp) ++totals.snapshot_tmp_left;
    if (landed == Phase::kIndex && index_tmp) ++totals.index_tmp_left;
    if (landed == Phase::kCompaction && report.covered_segments > 0) ++totals.covered_wal_left;

    for (auto& w : writers) {
      totals.acked_puts += w.acked_puts;
      totals.acked_deletes += w.acked_deletes;
      totals.acked_batches += w.acked_batches;
      totals.read_backs += w.read_backs;
      max_acked_offset = std::max(max_acked_offset, w.max_offset);
      for (const auto& e : w.errors) ADD_FAILURE() << "cycle " << cycle << " writer " << w.id << ": " << e;
      w.errors.clear();
    }
    totals.admin_calls += admin_calls.load();
    ++totals.cycles;
  }

  // A last start checks the final cycle, then a clean shutdown.
  std::string error;
  server = &default_server;
  ASSERT_TRUE(server->StartAndWaitReady(&error)) << "final start: " << error;
  verify(cycles);
  EXPECT_EQ(server->Terminate(), 0) << "SIGTERM after the crash loop must exit 0";
  const VerifyReport final_report = RunVerify(binary, server->data_dir());
  EXPECT_EQ(final_report.exit_status, 0) << "verify after the clean shutdown:\n" << final_report.output;

  const double secs = std::chrono::duration<double>(Clock::now() - started).count();
  auto u = [](uint64_t v) { return static_cast<unsigned long long>(v); };
  std::printf(
      "crash_test: cycles=%llu acknowledged=%llu (puts=%llu deletes=%llu batches=%llu) read_backs=%llu "
      "in_flight_landed=%llu in_flight_not_landed=%llu admin_calls=%llu keys_checked=%llu max_offset=%llu "
      "losses=%zu seed=%llu time=%.1fs\n",
      u(totals.cycles), u(totals.acked_puts + totals.acked_deletes + totals.acked_batches), u(totals.acked_puts),
      u(totals.acked_deletes), u(totals.acked_batches), u(totals.read_backs), u(totals.in_flight_landed),
      u(totals.in_flight_lost), u(totals.admin_calls), u(totals.keys_checked), u(max_acked_offset), losses.size(),
      u(seed), secs);
  std::printf(
      "crash_test: kills: random=%llu snapshot=%llu index=%llu compaction=%llu (aimed, no event in 2 s: %llu); "
      "cut mid-phase for sure: snapshot.bin.tmp left=%llu index-rmi.bin.tmp left=%llu covered WAL segment left=%llu; "
      "verify runs=%llu\n",
      u(totals.kills[0]), u(totals.kills[1]), u(totals.kills[2]), u(totals.kills[3]), u(totals.missed),
      u(totals.snapshot_tmp_left), u(totals.index_tmp_left), u(totals.covered_wal_left), u(totals.verify_runs + 1));
  std::fflush(stdout);
  for (const auto& loss : losses) ADD_FAILURE() << "LOSS: " << loss;
  EXPECT_GT(totals.acked_puts, 0u) << "the loop acknowledged nothing: it tested nothing";
  // Every aimed phase must have been hit at least once, or the loop did not
  // test what it says (only checked on runs long enough to expect it).
  if (cycles >= 20) {
    for (Phase p : {Phase::kSnapshot, Phase::kIndex, Phase::kCompaction}) {
      EXPECT_GT(totals.kills[static_cast<size_t>(p)], 0u) << "no kill landed in the " << PhaseName(p) << " phase";
    }
  }
}

}  // namespace
}  // namespace kyrodb::test
