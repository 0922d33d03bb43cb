#include "kyrodb/options.h"

#include <sched.h>

#include <algorithm>
#include <cmath>

#include "engine/cpu_quota.h"

namespace kyrodb {

std::string_view FsyncPolicyName(FsyncPolicy policy) {
  switch (policy) {
    case FsyncPolicy::kData: return "data";
    case FsyncPolicy::kAlways: return "always";
    case FsyncPolicy::kInterval: return "interval";
    case FsyncPolicy::kNone: return "none";
  }
  return "unknown";
}

bool ParseFsyncPolicy(std::string_view text, FsyncPolicy* out) {
  if (text == "data") *out = FsyncPolicy::kData;
  else if (text == "always") *out = FsyncPolicy::kAlways;
  else if (text == "interval") *out = FsyncPolicy::kInterval;
  else if (text == "none") *out = FsyncPolicy::kNone;
  else return false;
  return true;
}

std::string_view WalPipelineName(WalPipeline mode) {
  switch (mode) {
    case WalPipeline::kAuto: return "auto";
    case WalPipeline::kOn: return "on";
    case WalPipeline::kOff: return "off";
  }
  return "unknown";
}

bool ParseWalPipeline(std::string_view text, WalPipeline* out) {
  if (text == "auto") *out = WalPipeline::kAuto;
  else if (text == "on") *out = WalPipeline::kOn;
  else if (text == "off") *out = WalPipeline::kOff;
  else return false;
  return true;
}

bool UseWalPipeline(FsyncPolicy policy, WalPipeline mode, unsigned cpus) {
  // Only a sync is worth overlapping: with interval or none the write returns
  // at once and a hand-off per group would cost more than it saves.
  if (policy != FsyncPolicy::kData && policy != FsyncPolicy::kAlways) return false;
  switch (mode) {
    case WalPipeline::kOn: return true;
    case WalPipeline::kOff: return false;
    case WalPipeline::kAuto: break;
  }
  return cpus > 2;
}

unsigned UsableCpus(unsigned affinity_cpus, std::optional<double> cpu_limit) {
  unsigned n = std::max(1u, affinity_cpus);
  if (cpu_limit && *cpu_limit > 0) {
    // 1.5 CPUs of time still runs threads on 2 CPUs at once.
    n = std::min(n, static_cast<unsigned>(std::max(1.0, std::ceil(*cpu_limit - 1e-9))));
  }
  return n;
}

unsigned UsableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  unsigned affinity = 1;
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) {
    affinity = static_cast<unsigned>(CPU_COUNT(&set));
  }
  return UsableCpus(affinity, ProcessCpuLimit());
}

}  // namespace kyrodb
