// I/O faults at every step of writes and checkpoints: the store may refuse
// work, but it never loses an acknowledged write and never serves garbage.
#include <gtest/gtest.h>

#include <map>

#include "fault_fs.h"
#include "test_util.h"

namespace kyrodb {
namespace {

using test::FaultFs;
using test::GetOr;
using test::PutSync;
using test::ScratchDir;
using test::TestOptions;

// Fails the n-th disk operation of a workload (writes, a checkpoint, more
// writes), then reopens on the healthy disk and checks every acknowledged write.
TEST(Faults, EveryFailedOperationKeepsAcknowledgedWrites) {
  for (int64_t n = 1; n <= 110; ++n) {
    for (bool sticky : {false, true}) {
      ScratchDir dir;
      FaultFs fs(PosixFileSystem());
      Options o = TestOptions(dir.path());
      o.fs = &fs;
      o.wal_segment_bytes = 4096;
      std::map<uint64_t, std::string> acked;
      {
        std::unique_ptr<Store> store;
        ASSERT_TRUE(Store::Open(o, &store).ok());
        fs.FailAt(n, sticky);
        bool refused = false;
        for (uint64_t k = 0; k < 40; ++k) {
          std::string v = "value-" + std::to_string(k) + std::string(k % 7 * 20, 'z');
          auto r = PutSync(*store, k, v);
          if (r.status.ok()) {
            acked[k] = v;
            EXPECT_FALSE(refused) << "a write was acknowledged after the store turned read-only";
          } else {
            EXPECT_TRUE(r.status.IsUnavailable()) << r.status.ToString();
            refused = true;
            EXPECT_FALSE(store->Writable());
            EXPECT_TRUE(store->Stats().read_only);
            EXPECT_FALSE(store->Stats().read_only_reason.empty());
          }
          if (k == 20) {
            CheckpointInfo info;
            (void)store->Checkpoint(&info);  // may fail: reads must still work
          }
        }
        // Reads keep working whatever happened.
        for (const auto& [k, v] : acked) ASSERT_EQ(GetOr(*store, k), v) << "n=" << n << " key " << k;
        fs.Heal();
      }
      std::unique_ptr<Store> store;
      Status s = Store::Open(o, &store);
      ASSERT_TRUE(s.ok()) << "n=" << n << " sticky=" << sticky << ": " << s.ToString();
      for (const auto& [k, v] : acked) {
        ASSERT_EQ(GetOr(*store, k), v) << "n=" << n << " sticky=" << sticky << " key " << k;
      }
    }
  }
}

}  // namespace
}  // namespace kyrodb
