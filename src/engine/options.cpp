#include "kyrodb/options.h"

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

}  // namespace kyrodb
