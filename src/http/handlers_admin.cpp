// Admin routes (SPEC §2). Checkpoint and Warmup block for seconds on large
// stores, so they run on the server's small blocking pool and answer through
// `reply`; the cheap ones answer at once.
#include <nlohmann/json.hpp>

#include <exception>
#include <functional>
#include <utility>

#include "http/errors.h"
#include "http/handlers.h"

namespace kyrodb::http {
namespace {

using json = nlohmann::json;

// Runs a checkpoint off the I/O threads and answers with `shape(info)`.
std::optional<Response> RunCheckpoint(HandlerArgs& args, json (*shape)(const CheckpointInfo&)) {
  kyrodb::Store* store = args.store;
  args.state.run_blocking([store, reply = args.reply(), shape] {
    try {
      CheckpointInfo info;
      Status s = store->Checkpoint(&info);
      reply(s.ok() ? MakeJson(bhttp::status::ok, shape(info)) : MakeStoreError(s));
    } catch (const std::exception& e) {
      reply(MakeError(bhttp::status::internal_server_error, "internal", e.what()));
    }
  });
  return std::nullopt;
}

}  // namespace

std::optional<Response> HandleOffset(HandlerArgs& args) {
  return MakeJson(bhttp::status::ok, {{"offset", args.store->LastOffset()}});
}

std::optional<Response> HandleSnapshot(HandlerArgs& args) {
  return RunCheckpoint(args, [](const CheckpointInfo& info) -> json {
    return {{"status", "ok"},
            {"offset", info.offset},
            {"bytes", info.snapshot_bytes},
            {"count", info.count},
            {"snapshot_ms", info.snapshot_ms}};
  });
}

std::optional<Response> HandleRmiBuild(HandlerArgs& args) {
  // The index is built over the snapshot's sorted keys, so a rebuild that
  // covers every write is a checkpoint.
  return RunCheckpoint(args, [](const CheckpointInfo& info) -> json {
    return {{"ok", true},
            {"count", info.count},
            {"leaves", info.leaves},
            {"max_error", info.max_error},
            {"build_ms", info.build_ms}};
  });
}

std::optional<Response> HandleCompact(HandlerArgs& args) {
  return RunCheckpoint(args, [](const CheckpointInfo& info) -> json {
    return {{"status", "ok"},
            {"offset", info.offset},
            {"bytes", info.snapshot_bytes},
            {"count", info.count},
            {"wal_segments_removed", info.wal_segments_removed},
            {"snapshot_ms", info.snapshot_ms},
            {"build_ms", info.build_ms}};
  });
}

std::optional<Response> HandleWarmup(HandlerArgs& args) {
  kyrodb::Store* store = args.store;
  args.state.run_blocking([store, reply = args.reply()] {
    try {
      store->Warmup();
      reply(MakeJson(bhttp::status::ok, {{"status", "ok"}}));
    } catch (const std::exception& e) {
      reply(MakeError(bhttp::status::internal_server_error, "internal", e.what()));
    }
  });
  return std::nullopt;
}

std::optional<Response> HandleStats(HandlerArgs& args) {
  StoreStats st = args.store->Stats();
  json body = {
      {"last_offset", st.last_offset},
      {"base_keys", st.base_keys},
      {"delta_entries", st.delta_entries},
      {"index_generation", st.index_generation},
      {"index_leaves", st.index_leaves},
      {"index_max_error", st.index_max_error},
      {"index_mean_error", st.index_mean_error},
      {"index_verified", st.index_verified},
      {"wal_bytes", st.wal_bytes},
      {"wal_segments", st.wal_segments},
      {"snapshot_offset", st.snapshot_offset},
      {"snapshot_bytes", st.snapshot_bytes},
      {"snapshot_age_seconds", st.snapshot_age_seconds < 0 ? json(nullptr) : json(st.snapshot_age_seconds)},
      {"read_only", st.read_only},
      {"read_only_reason", st.read_only ? json(st.read_only_reason) : json(nullptr)},
  };
  return MakeJson(bhttp::status::ok, body);
}

}  // namespace kyrodb::http
