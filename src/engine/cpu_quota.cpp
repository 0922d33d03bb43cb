#include "engine/cpu_quota.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace kyrodb {
namespace {

namespace fs = std::filesystem;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

std::optional<long long> ParseInt(std::string_view s) {
  s = Trim(s);
  long long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::optional<double> Limit(long long quota, long long period) {
  if (quota <= 0 || period <= 0) return std::nullopt;
  return static_cast<double>(quota) / static_cast<double>(period);
}

// A cgroup knob or /proc/self/cgroup: at most `max_bytes` (procfs files
// report size 0, so this reads to the end). nullopt if missing or unreadable.
std::optional<std::string> ReadSmallFile(const fs::path& path, size_t max_bytes = 256) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::string text(max_bytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

void KeepTighter(std::optional<double>* best, std::optional<double> limit) {
  if (limit && (!*best || *limit < **best)) *best = limit;
}

// Calls `read` on `mount`/`cgroup_path` and then on each ancestor up to
// `mount` itself; on `mount` alone when the path is not there.
template <typename Read>
void WalkUp(const fs::path& mount, std::string_view cgroup_path, Read read) {
  fs::path rel = fs::path(std::string(cgroup_path)).relative_path().lexically_normal();
  std::error_code ec;
  bool escapes = false;
  for (const fs::path& part : rel) escapes = escapes || part == "..";
  if (escapes || rel == ".") rel.clear();
  if (!rel.empty() && !fs::is_directory(mount / rel, ec)) rel.clear();
  for (;;) {
    read(rel.empty() ? mount : mount / rel);
    if (rel.empty()) break;
    rel = rel.parent_path();
  }
}

}  // namespace

std::optional<double> ParseCpuMax(std::string_view text) {
  text = Trim(text);
  const size_t space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  if (text.substr(0, space) == "max") return std::nullopt;
  auto quota = ParseInt(text.substr(0, space));
  auto period = ParseInt(text.substr(space + 1));
  if (!quota || !period) return std::nullopt;
  return Limit(*quota, *period);
}

std::optional<double> ParseCfsQuota(std::string_view quota, std::string_view period) {
  auto q = ParseInt(quota);
  auto p = ParseInt(period);
  if (!q || !p) return std::nullopt;
  return Limit(*q, *p);
}

std::optional<double> CgroupCpuLimit(std::string_view proc_self_cgroup, const std::string& cgroup_root) {
  std::optional<double> best;
  std::istringstream lines{std::string(proc_self_cgroup)};
  std::string line;
  while (std::getline(lines, line)) {
    // hierarchy-id:controllers:path
    const size_t a = line.find(':');
    const size_t b = a == std::string::npos ? a : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string_view id = std::string_view(line).substr(0, a);
    const std::string_view controllers = std::string_view(line).substr(a + 1, b - a - 1);
    const std::string_view path = std::string_view(line).substr(b + 1);
    if (id == "0" && controllers.empty()) {  // cgroup v2
      for (const fs::path& mount : {fs::path(cgroup_root), fs::path(cgroup_root) / "unified"}) {
        std::error_code ec;
        if (!fs::exists(mount / "cgroup.controllers", ec)) continue;
        WalkUp(mount, path, [&](const fs::path& dir) {
          if (auto text = ReadSmallFile(dir / "cpu.max")) KeepTighter(&best, ParseCpuMax(*text));
        });
        break;
      }
      continue;
    }
    bool has_cpu = false;
    for (size_t start = 0; start <= controllers.size();) {
      size_t comma = controllers.find(',', start);
      if (comma == std::string_view::npos) comma = controllers.size();
      if (controllers.substr(start, comma - start) == "cpu") has_cpu = true;
      start = comma + 1;
    }
    if (!has_cpu) continue;
    for (const char* name : {"cpu", "cpu,cpuacct", "cpuacct,cpu"}) {
      const fs::path mount = fs::path(cgroup_root) / name;
      std::error_code ec;
      if (!fs::exists(mount / "cpu.cfs_quota_us", ec)) continue;
      WalkUp(mount, path, [&](const fs::path& dir) {
        auto quota = ReadSmallFile(dir / "cpu.cfs_quota_us");
        auto period = ReadSmallFile(dir / "cpu.cfs_period_us");
        if (quota && period) KeepTighter(&best, ParseCfsQuota(*quota, *period));
      });
      break;
    }
  }
  return best;
}

std::optional<double> ProcessCpuLimit() {
  auto text = ReadSmallFile("/proc/self/cgroup", 64 * 1024);
  if (!text) return std::nullopt;
  return CgroupCpuLimit(*text, "/sys/fs/cgroup");
}

}  // namespace kyrodb
