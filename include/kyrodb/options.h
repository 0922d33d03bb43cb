// Options: how a Store is opened. Every field has a production default; the
// server fills them from flags and KYRODB_* variables (src/config/).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace prometheus {
class Registry;
}

namespace kyrodb {

class FileSystem;

// When a write is made durable before it is acknowledged (SPEC §4).
enum class FsyncPolicy {
  kData,      // fdatasync once per group-commit batch, before acknowledging (default)
  kAlways,    // fsync (data + metadata) once per batch, before acknowledging
  kInterval,  // acknowledge at once, fdatasync every fsync_interval_ms (may lose that window)
  kNone,      // never sync; the OS decides (may lose anything not yet written back)
};

std::string_view FsyncPolicyName(FsyncPolicy policy);
// Parses "data" | "always" | "interval" | "none". Returns false on anything else.
bool ParseFsyncPolicy(std::string_view text, FsyncPolicy* out);

// Where the work after a group's sync runs (applying it to the delta,
// publishing it, answering its requests): on a thread of its own, so the WAL
// thread goes straight on to write and sync the next group, or on the WAL
// thread itself, which saves a thread hand-off per group. Only the data and
// always policies sync per group; interval and none never pipeline.
enum class WalPipeline {
  kAuto,  // on when the process may run on more than 2 CPUs (see UseWalPipeline)
  kOn,
  kOff,
};

std::string_view WalPipelineName(WalPipeline mode);
// Parses "auto" | "on" | "off". Returns false on anything else.
bool ParseWalPipeline(std::string_view text, WalPipeline* out);
// Whether a store with `policy` and `mode` runs the completion thread, given
// `cpus` CPUs to run on. On 2 CPUs shared with the clients the hand-off costs
// more than the overlap gains (docs/BENCHMARKS.md, under "Targets of issue 6").
bool UseWalPipeline(FsyncPolicy policy, WalPipeline mode, unsigned cpus);
// The CPUs this process may use at once: its affinity mask, capped by the CPU
// time its cgroup allows (a container's --cpus, a unit's CPUQuota=), rounded
// up; at least 1. Sizes the I/O threads' default and KYRODB_WAL_PIPELINE=auto.
unsigned UsableCpus();
// The same from its inputs: `affinity_cpus` CPUs in the mask, `cpu_limit`
// CPUs of time (nullopt: unlimited).
unsigned UsableCpus(unsigned affinity_cpus, std::optional<double> cpu_limit);

struct Options {
  // Directory holding snapshot.bin, wal.* and index-rmi.bin. Created if missing.
  std::string data_dir = "./data";

  FsyncPolicy fsync_policy = FsyncPolicy::kData;
  uint32_t fsync_interval_ms = 10;
  WalPipeline wal_pipeline = WalPipeline::kAuto;

  // A WAL segment is closed and a new one started once it passes this size.
  uint64_t wal_segment_bytes = 64ull << 20;

  // Largest value accepted by Put (bytes).
  size_t max_value_bytes = 1u << 20;

  // Largest number of bytes one group-commit batch writes before syncing.
  size_t max_batch_bytes = 4u << 20;

  // A background checkpoint (snapshot + index rebuild) starts when the delta
  // holds this many entries. 0 disables the automatic trigger.
  size_t rebuild_delta_entries = 1u << 20;

  // Automatic compaction when the live WAL passes this many bytes (0 = off).
  uint64_t compact_wal_bytes = 512ull << 20;

  // How many of the newest Idempotency-Keys the store remembers (0 = none).
  size_t idempotency_window_keys = 65536;

  // Router bits for the learned index's first stage (see src/index/).
  uint32_t rmi_router_bits = 16;

  // Touch the index and mapped snapshot pages at start.
  bool warm_on_start = false;

  // Where I/O goes; nullptr means PosixFileSystem(). Not owned.
  FileSystem* fs = nullptr;

  // Where the engine registers its metric families; nullptr means none. Not owned.
  prometheus::Registry* registry = nullptr;
};

}  // namespace kyrodb
