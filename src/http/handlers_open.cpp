// Open routes: probes, metrics and build information. No auth, no rate
// limit: load balancers and Prometheus call them.
#include <nlohmann/json.hpp>
#include <prometheus/text_serializer.h>

#include <string>

#include "http/errors.h"
#include "http/handlers.h"
#include "kyrodb/build_info.h"
#include "metrics/sharded.h"

namespace kyrodb::http {
namespace {

using json = nlohmann::json;

Response Unavailable(const char* status) {
  Response res = MakeJson(bhttp::status::service_unavailable, {{"status", status}});
  res.set(bhttp::field::retry_after, "1");
  return res;
}

}  // namespace

std::optional<Response> HandleHealth(HandlerArgs& args) {
  if (args.state.draining.load()) return Unavailable("stopping");
  kyrodb::Store* store = args.state.store.load();
  if (store == nullptr) return Unavailable("starting");
  if (store->Writable()) return MakeJson(bhttp::status::ok, {{"status", "ok"}});
  // Still serving reads: a restart would not fix a full disk, so this stays
  // 200 and says why writes fail.
  StoreStats st = store->Stats();
  return MakeJson(bhttp::status::ok, {{"status", "degraded"}, {"read_only", true}, {"reason", st.read_only_reason}});
}

std::optional<Response> HandleReady(HandlerArgs& args) {
  if (args.state.draining.load()) return Unavailable("stopping");
  if (!args.state.ready.load()) return Unavailable("starting");
  return MakeJson(bhttp::status::ok, {{"status", "ready"}});
}

std::optional<Response> HandleMetrics(HandlerArgs& args) {
  Response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
  res.body() = prometheus::TextSerializer().Serialize(metrics::Collect(args.state.registry));
  return res;
}

std::optional<Response> HandleBuildInfo(HandlerArgs& args) {
  json features = {"learned-index", "wal-crc32c", "group-commit", "snapshots", "auth", "rate-limit",
                   "prometheus-metrics"};
  std::string sanitizer = build::kSanitizer;
  if (!sanitizer.empty()) features.push_back("sanitizer-" + sanitizer);
  const char* simd = args.state.simd_level_name != nullptr ? args.state.simd_level_name() : "unknown";
  return MakeJson(bhttp::status::ok, {{"version", build::kVersion},
                                      {"commit", build::kCommit},
                                      {"build_type", build::kBuildType},
                                      {"compiler", build::kCompiler},
                                      {"features", features},
                                      {"simd", simd}});
}

}  // namespace kyrodb::http
