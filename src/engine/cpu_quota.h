// The CPU time a cgroup lets this process use. `docker run --cpus 2` and a
// systemd unit's CPUQuota=200% limit it without touching the affinity mask,
// which still lists every CPU of the host: sizing thread pools by the mask
// would start 64 I/O threads to share 2 CPUs' worth of time, and the kernel
// would throttle them all at the end of each period.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kyrodb {

// cgroup v2 `cpu.max`: "max <period>" (no limit) or "<quota> <period>" in
// microseconds. The limit in CPUs (quota / period), or nullopt for none or
// for text that is not that.
std::optional<double> ParseCpuMax(std::string_view text);

// cgroup v1 `cpu.cfs_quota_us` ("-1": no limit) and `cpu.cfs_period_us`.
std::optional<double> ParseCfsQuota(std::string_view quota, std::string_view period);

// The tightest CPU limit on this process's cgroup and each of its ancestors.
// `proc_self_cgroup` is the text of /proc/self/cgroup; `cgroup_root` is where
// the cgroup file systems are mounted (/sys/fs/cgroup): cgroup v2 at the root
// itself or at `unified/` (hybrid hosts), v1's cpu controller at `cpu/`,
// `cpu,cpuacct/` or `cpuacct,cpu/`. A cgroup path that does not exist under
// the mount (a container without a cgroup namespace sees the host's path)
// falls back to the mount's own directory. nullopt: no limit found.
std::optional<double> CgroupCpuLimit(std::string_view proc_self_cgroup, const std::string& cgroup_root);

// CgroupCpuLimit for this process (/proc/self/cgroup, /sys/fs/cgroup).
std::optional<double> ProcessCpuLimit();

}  // namespace kyrodb
