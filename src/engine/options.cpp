#include "kyrodb/options.h"

#include <sched.h>

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

unsigned UsableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return 1;
  int n = CPU_COUNT(&set);
  return n > 0 ? static_cast<unsigned>(n) : 1;
}

}  // namespace kyrodb
