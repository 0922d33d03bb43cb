// The cgroup CPU limit: the knobs' formats, cgroup v2 and v1 trees (fake ones
// in a temp dir), ancestors, containers that see the host's path, and how the
// limit caps the affinity mask.
#include "engine/cpu_quota.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "kyrodb/options.h"
#include "test_util.h"

namespace kyrodb {
namespace {

namespace fs = std::filesystem;

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST(CpuQuota, ParsesTheKnobs) {
  EXPECT_EQ(ParseCpuMax("max 100000\n"), std::nullopt);
  EXPECT_EQ(ParseCpuMax("200000 100000\n"), 2.0);
  EXPECT_EQ(ParseCpuMax("150000 100000"), 1.5);
  EXPECT_EQ(ParseCpuMax("0 100000"), std::nullopt);
  EXPECT_EQ(ParseCpuMax("200000"), std::nullopt);
  EXPECT_EQ(ParseCpuMax("2e5 100000"), std::nullopt);
  EXPECT_EQ(ParseCpuMax(""), std::nullopt);
  EXPECT_EQ(ParseCfsQuota("-1\n", "100000\n"), std::nullopt);
  EXPECT_EQ(ParseCfsQuota("50000\n", "100000\n"), 0.5);
  EXPECT_EQ(ParseCfsQuota("50000", "0"), std::nullopt);
  EXPECT_EQ(ParseCfsQuota("x", "100000"), std::nullopt);
}

TEST(CpuQuota, CgroupV2TakesTheTightestAncestor) {
  test::ScratchDir dir;
  const fs::path root = dir.path();
  Write(root / "cgroup.controllers", "cpu memory\n");
  Write(root / "cpu.max", "max 100000\n");
  Write(root / "a/cpu.max", "300000 100000\n");
  Write(root / "a/b/cpu.max", "max 100000\n");
  EXPECT_EQ(CgroupCpuLimit("0::/a/b\n", root), 3.0);
  EXPECT_EQ(CgroupCpuLimit("0::/\n", root), std::nullopt) << "the root is unlimited";
  Write(root / "a/b/cpu.max", "150000 100000\n");
  EXPECT_EQ(CgroupCpuLimit("0::/a/b\n", root), 1.5);
}

TEST(CpuQuota, AContainerThatSeesTheHostsPathReadsItsMountsRoot) {
  test::ScratchDir dir;
  const fs::path root = dir.path();
  Write(root / "cgroup.controllers", "cpu\n");
  Write(root / "cpu.max", "200000 100000\n");  // the container's own cgroup, mounted as the root
  EXPECT_EQ(CgroupCpuLimit("0::/system.slice/docker-abc.scope\n", root), 2.0);
}

TEST(CpuQuota, HybridHostsReadV2FromUnifiedAndV1FromTheCpuController) {
  test::ScratchDir dir;
  const fs::path root = dir.path();
  Write(root / "unified/cgroup.controllers", "");
  Write(root / "cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
  Write(root / "cpu,cpuacct/cpu.cfs_period_us", "100000\n");
  Write(root / "cpu,cpuacct/docker/cpu.cfs_quota_us", "400000\n");
  Write(root / "cpu,cpuacct/docker/cpu.cfs_period_us", "100000\n");
  Write(root / "cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "250000\n");
  Write(root / "cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n");
  const std::string proc = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n";
  EXPECT_EQ(CgroupCpuLimit(proc, root), 2.5);
  Write(root / "cpu,cpuacct/docker/cpu.cfs_quota_us", "100000\n");
  EXPECT_EQ(CgroupCpuLimit(proc, root), 1.0) << "a parent's quota binds its children";
  EXPECT_EQ(CgroupCpuLimit("12:memory:/docker/abc\n", root), std::nullopt) << "no cpu controller line";
}

TEST(CpuQuota, NoLimitAnywhere) {
  test::ScratchDir dir;
  EXPECT_EQ(CgroupCpuLimit("0::/\n", dir.path()), std::nullopt) << "no cgroup file system";
  EXPECT_EQ(CgroupCpuLimit("garbage", dir.path()), std::nullopt);
  EXPECT_EQ(CgroupCpuLimit("", dir.path()), std::nullopt);
  Write(fs::path(dir.path()) / "cgroup.controllers", "");
  Write(fs::path(dir.path()) / "cpu.max", "max 100000\n");
  EXPECT_EQ(CgroupCpuLimit("0::/../../etc\n", dir.path()), std::nullopt);
}

TEST(CpuQuota, TheLimitCapsTheAffinityMaskRoundedUp) {
  EXPECT_EQ(UsableCpus(64, 2.0), 2u);
  EXPECT_EQ(UsableCpus(64, 1.5), 2u);
  EXPECT_EQ(UsableCpus(64, 0.5), 1u);
  EXPECT_EQ(UsableCpus(2, 8.0), 2u) << "the mask still binds";
  EXPECT_EQ(UsableCpus(4, std::nullopt), 4u);
  EXPECT_EQ(UsableCpus(0, std::nullopt), 1u);
  EXPECT_GE(UsableCpus(), 1u);
}

}  // namespace
}  // namespace kyrodb
